"""`ACMEClient`: RFC 8555 as single-shot verbs over certbot's `acme` JWS signing, for the Order and
Challenge controllers and the offline `issuer issue` engine.

Every verb is one request (plus a nonce fetch when the pool is empty): nothing here sleeps or polls, so
waiting stays the caller's job (a requeue in the operator, a short growing poll offline). Results are
frozen dataclasses of our own (`Directory`, `Account`, `Order`, `Authorization`, `Challenge`), so callers
never touch `acme` or `josepy` types. Failures are classified (`issuer.acme.errors`): `Retryable(delay)`
for connection errors, timeouts, 5xx and 429/503 with their Retry-After, `Terminal(problem_type, detail)`
for the server's 4xx problems. badNonce is retried here, up to `bad_nonce_retries` times with a short
growing backoff (10, 20, 40 ... ms, at most 250 ms), before it surfaces as `Retryable`: 12 by default,
so that a server rejecting half the nonces fails one request in 8,000, not one in 64.

Transport: urllib3's thread-safe pool (one per client) with an `ssl.SSLContext`: the system roots, or
only the Issuer's `caBundle` PEM when one is given (as cert-manager builds its pool), or verification off
for `skipTLSVerify` (without the urllib3 warning the user already chose to accept). The sync API is primary
and thread-safe per client (the nonce pool is locked); `AsyncACMEClient` runs the same verbs in
`asyncio.to_thread` for the kopf operator. Each HTTP request reports a `RequestEvent` to the optional
`on_request` hook (for `certmanager_http_acme_client_request_*`).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import ipaddress
import json
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any, cast

import urllib3
from acme import jws as acme_jws
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from josepy import b64 as jose_b64
from josepy import errors as jose_errors
from josepy import jwa, jwk
from urllib3 import connectionpool

import issuer
from issuer.acme import errors

DEFAULT_USER_AGENT = f"issuer/{issuer.__version__}"
DEFAULT_TIMEOUT = 30.0
JOSE_CONTENT_TYPE = "application/jose+json"
PEM_CHAIN_CONTENT_TYPE = "application/pem-certificate-chain"
_STATUS_CONNECTION_ERROR = 0


# ---------------------------------------------------------------------------------------------------------
# Results


@dataclasses.dataclass(frozen=True)
class RequestEvent:
    """One HTTP request to the ACME server, for metrics (`status` 0: no response, a connection error)."""

    scheme: str
    host: str
    path: str
    action: str
    method: str
    status: int
    seconds: float


RequestHook = Callable[[RequestEvent], None]


@dataclasses.dataclass(frozen=True)
class Problem:
    """An RFC 7807 problem document as the server sent it (in an order, authorization or challenge)."""

    type: str = ""
    detail: str = ""
    status: int = 0

    @property
    def code(self) -> str:
        return errors.short_code(self.type)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.code else self.detail

    @classmethod
    def from_json(cls, obj: Any) -> Problem | None:
        if not isinstance(obj, dict):
            return None
        status = obj.get("status")
        return cls(str(obj.get("type") or ""), str(obj.get("detail") or ""), status if isinstance(status, int) else 0)


@dataclasses.dataclass(frozen=True)
class Directory:
    url: str
    new_nonce: str
    new_account: str
    new_order: str
    revoke_cert: str = ""
    key_change: str = ""
    renewal_info: str = ""
    terms_of_service: str = ""
    external_account_required: bool = False
    profiles: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_json(cls, url: str, obj: Any) -> Directory:
        required = ("newNonce", "newAccount", "newOrder")
        if not isinstance(obj, dict) or not all(isinstance(obj.get(k), str) for k in required):
            raise errors.Terminal("", f"{url} is not an ACME directory", message=f"{url} is not an ACME directory")
        meta: dict[str, Any] = obj["meta"] if isinstance(obj.get("meta"), dict) else {}
        profiles: dict[str, Any] = meta["profiles"] if isinstance(meta.get("profiles"), dict) else {}
        return cls(
            url=url,
            new_nonce=obj["newNonce"],
            new_account=obj["newAccount"],
            new_order=obj["newOrder"],
            revoke_cert=str(obj.get("revokeCert") or ""),
            key_change=str(obj.get("keyChange") or ""),
            renewal_info=str(obj.get("renewalInfo") or ""),
            terms_of_service=str(meta.get("termsOfService") or ""),
            external_account_required=bool(meta.get("externalAccountRequired")),
            profiles={str(k): str(v) for k, v in profiles.items()},
        )


@dataclasses.dataclass(frozen=True)
class Account:
    uri: str
    status: str = ""
    contact: tuple[str, ...] = ()
    created: bool = False  # True when this call made the account (201), False when it already existed

    @property
    def emails(self) -> tuple[str, ...]:
        return tuple(c.removeprefix("mailto:") for c in self.contact if c.startswith("mailto:"))


@dataclasses.dataclass(frozen=True)
class Identifier:
    type: str  # "dns" or "ip"
    value: str

    @classmethod
    def of(cls, name: str) -> Identifier:
        """`dns` for names, `ip` for anything that parses as an IP address (normalised)."""
        try:
            return cls("ip", str(ipaddress.ip_address(name)))
        except ValueError:
            return cls("dns", name)

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "value": self.value}

    @classmethod
    def from_json(cls, obj: Any) -> Identifier:
        if not isinstance(obj, dict):
            return cls("", "")
        return cls(str(obj.get("type") or ""), str(obj.get("value") or ""))


@dataclasses.dataclass(frozen=True)
class Challenge:
    type: str  # "http-01", "dns-01", "tls-alpn-01", ...
    url: str
    token: str = ""
    status: str = ""
    error: Problem | None = None
    validated: str = ""

    @classmethod
    def from_json(cls, obj: Any) -> Challenge:
        obj = obj if isinstance(obj, dict) else {}
        return cls(
            type=str(obj.get("type") or ""),
            url=str(obj.get("url") or ""),
            token=str(obj.get("token") or ""),
            status=str(obj.get("status") or ""),
            error=Problem.from_json(obj.get("error")),
            validated=str(obj.get("validated") or ""),
        )


@dataclasses.dataclass(frozen=True)
class Authorization:
    url: str
    status: str
    identifier: Identifier
    wildcard: bool = False
    challenges: tuple[Challenge, ...] = ()
    expires: str = ""
    retry_after: float | None = None

    @property
    def problem(self) -> Problem | None:
        """The first challenge error, which says why an invalid authorization failed."""
        return next((c.error for c in self.challenges if c.error is not None), None)

    def challenge(self, type_: str) -> Challenge | None:
        return next((c for c in self.challenges if c.type == type_), None)

    @classmethod
    def from_json(cls, url: str, obj: Any, retry_after: float | None = None) -> Authorization:
        obj = obj if isinstance(obj, dict) else {}
        challenges = obj.get("challenges") if isinstance(obj.get("challenges"), list) else []
        return cls(
            url=url,
            status=str(obj.get("status") or ""),
            identifier=Identifier.from_json(obj.get("identifier")),
            wildcard=bool(obj.get("wildcard")),
            challenges=tuple(Challenge.from_json(c) for c in challenges),
            expires=str(obj.get("expires") or ""),
            retry_after=retry_after,
        )


@dataclasses.dataclass(frozen=True)
class Order:
    url: str
    status: str
    identifiers: tuple[Identifier, ...] = ()
    authorizations: tuple[str, ...] = ()
    finalize: str = ""
    certificate: str = ""
    error: Problem | None = None
    expires: str = ""
    not_before: str = ""
    not_after: str = ""
    profile: str = ""
    retry_after: float | None = None

    @classmethod
    def from_json(cls, url: str, obj: Any, retry_after: float | None = None) -> Order:
        obj = obj if isinstance(obj, dict) else {}
        idents = obj.get("identifiers") if isinstance(obj.get("identifiers"), list) else []
        authzs = obj.get("authorizations") if isinstance(obj.get("authorizations"), list) else []
        return cls(
            url=url,
            status=str(obj.get("status") or ""),
            identifiers=tuple(Identifier.from_json(i) for i in idents),
            authorizations=tuple(str(a) for a in authzs),
            finalize=str(obj.get("finalize") or ""),
            certificate=str(obj.get("certificate") or ""),
            error=Problem.from_json(obj.get("error")),
            expires=str(obj.get("expires") or ""),
            not_before=str(obj.get("notBefore") or ""),
            not_after=str(obj.get("notAfter") or ""),
            profile=str(obj.get("profile") or ""),
            retry_after=retry_after,
        )


@dataclasses.dataclass(frozen=True)
class _Response:
    status: int
    headers: urllib3.HTTPHeaderDict
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None

    def links(self, rel: str) -> list[str]:
        out: list[str] = []
        for value in self.headers.getlist("Link"):
            out.extend(url for url, rels in _parse_links(value) if rel in rels)
        return out

    def retry_after(self) -> float | None:
        value = self.headers.get("Retry-After")
        return errors.parse_retry_after(value, 0.0) if value else None


def _parse_links(header: str) -> list[tuple[str, set[str]]]:
    """`<url>;rel="a", <url2>;rel=b` -> [(url, {"a"}), (url2, {"b"})]."""
    out: list[tuple[str, set[str]]] = []
    for raw in header.split(","):
        part = raw.strip()
        if not part.startswith("<") or ">" not in part:
            continue
        url, _, params = part[1:].partition(">")
        rels: set[str] = set()
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "rel":
                rels.update(value.strip().strip('"').split())
        out.append((url, rels))
    return out


# ---------------------------------------------------------------------------------------------------------
# Helpers usable without a client


def b64url(data: bytes) -> str:
    """Unpadded base64url, as ACME writes binary values."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def identifiers_from_csr(csr_pem: bytes) -> tuple[Identifier, ...]:
    """dnsNames + IPs + CN (deduplicated), as cert-manager's order controller builds them (CN as an IP if it parses)."""
    csr = x509.load_pem_x509_csr(csr_pem) if b"-----BEGIN" in csr_pem else x509.load_der_x509_csr(csr_pem)
    names: list[Identifier] = []
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names += [Identifier("dns", n) for n in san.get_values_for_type(x509.DNSName)]
        names += [Identifier("ip", str(ip)) for ip in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    for attr in csr.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME):
        value = attr.value if isinstance(attr.value, str) else attr.value.decode()
        names.append(Identifier.of(value))
    out: list[Identifier] = []
    for ident in names:
        if ident not in out:
            out.append(ident)
    return tuple(out)


def _rfc3339(when: Any) -> str:
    if isinstance(when, str):
        return when
    import datetime as _dt

    if isinstance(when, _dt.datetime):
        return when.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise TypeError(f"not a datetime: {when!r}")


def _ssl_context(ca_bundle: bytes, skip_tls_verify: bool) -> ssl.SSLContext:
    if skip_tls_verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if not ca_bundle:
        return ssl.create_default_context()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # a caBundle is the whole trust, as in cert-manager
    try:
        ctx.load_verify_locations(cadata=ca_bundle.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError) as err:
        raise errors.InvalidConfig(f"the ACME caBundle holds no usable PEM certificate: {err}") from None
    return ctx


class _UnverifiedHTTPSPool(connectionpool.HTTPSConnectionPool):
    """HTTPS without urllib3's InsecureRequestWarning: used only when the Issuer sets skipTLSVerify."""

    def _validate_conn(self, conn: Any) -> None:
        if conn.is_closed:
            conn.connect()


# ---------------------------------------------------------------------------------------------------------
# The client


class ACMEClient:
    """One ACME account on one server. Thread-safe; create one per (server, account key) and reuse it."""

    def __init__(
        self,
        directory_url: str,
        account_key: jwk.JWKRSA | rsa.RSAPrivateKey,
        *,
        ca_bundle: bytes = b"",
        skip_tls_verify: bool = False,
        user_agent: str = DEFAULT_USER_AGENT,
        account_uri: str = "",
        timeout: float = DEFAULT_TIMEOUT,
        on_request: RequestHook | None = None,
        bad_nonce_retries: int = 12,
    ) -> None:
        self.directory_url = directory_url
        self.key = account_key if isinstance(account_key, jwk.JWKRSA) else jwk.JWKRSA(key=account_key)
        self.account_uri = account_uri
        self.user_agent = user_agent
        self.on_request = on_request
        self.bad_nonce_retries = bad_nonce_retries
        self._timeout = urllib3.Timeout(connect=min(timeout, 10.0), read=timeout)
        self._pool = urllib3.PoolManager(
            num_pools=4, maxsize=16, retries=False, ssl_context=_ssl_context(ca_bundle, skip_tls_verify)
        )
        if skip_tls_verify:
            self._pool.pool_classes_by_scheme = {**self._pool.pool_classes_by_scheme, "https": _UnverifiedHTTPSPool}
        self._lock = threading.Lock()
        self._nonces: list[str] = []
        self._directory: Directory | None = None
        self.thumbprint = b64url(self.key.thumbprint())

    # --- challenge values -------------------------------------------------------------------------------

    def key_authorization(self, token: str) -> str:
        """`token.thumbprint`: the HTTP-01 response body and the Challenge `key` for HTTP-01."""
        return f"{token}.{self.thumbprint}"

    def dns01_value(self, token: str) -> str:
        """The DNS-01 TXT value: unpadded base64url of SHA-256 of the key authorization."""
        return b64url(hashlib.sha256(self.key_authorization(token).encode()).digest())

    def close(self) -> None:
        self._pool.clear()

    def __enter__(self) -> ACMEClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport --------------------------------------------------------------------------------------

    def _request(
        self, method: str, url: str, action: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> _Response:
        try:
            parsed = urllib.parse.urlsplit(url)
        except ValueError as err:
            raise errors.Terminal("", f"{action}: invalid URL {url!r}: {err}") from None
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise errors.Terminal("", f"{action}: invalid URL {url!r}: must be an http(s) URL with a host")
        all_headers = {"User-Agent": self.user_agent, **(headers or {})}
        started = time.perf_counter()
        status = _STATUS_CONNECTION_ERROR
        try:
            raw = self._pool.request(
                method, url, body=body, headers=all_headers, timeout=self._timeout, redirect=False, preload_content=True
            )
            status = raw.status
            return _Response(raw.status, raw.headers, raw.data or b"")
        except (urllib3.exceptions.LocationValueError, urllib3.exceptions.URLSchemeUnknown) as err:
            raise errors.Terminal("", f"{action}: invalid URL {url!r}: {err}") from None
        except (urllib3.exceptions.HTTPError, OSError, ssl.SSLError) as err:
            reason = getattr(err, "reason", None) or err
            raise errors.Retryable(f"{action}: cannot reach the ACME server {parsed.netloc}: {reason}") from None
        finally:
            if self.on_request is not None:
                event = RequestEvent(
                    parsed.scheme, parsed.netloc, parsed.path, action, method, status, time.perf_counter() - started
                )
                with contextlib.suppress(Exception):  # a broken metrics hook must not break issuance
                    self.on_request(event)

    def directory(self) -> Directory:
        """The server's directory (fetched once per client)."""
        if self._directory is None:
            resp = self._request("GET", self.directory_url, "get_directory")
            if resp.status >= 400:
                raise errors.classify(resp.status, resp.json(), resp.headers.get("Retry-After"), "get directory")
            directory = Directory.from_json(self.directory_url, resp.json())
            with self._lock:
                self._directory = directory
        return self._directory

    def _store_nonce(self, resp: _Response) -> None:
        nonce = resp.headers.get("Replay-Nonce")
        if nonce:
            with self._lock:
                self._nonces.append(nonce)
                del self._nonces[:-32]

    def _nonce(self) -> str:
        with self._lock:
            if self._nonces:
                return self._nonces.pop()
        resp = self._request("HEAD", self.directory().new_nonce, "new_nonce")
        nonce = resp.headers.get("Replay-Nonce")
        if resp.status >= 400 or not nonce:
            raise errors.Retryable(f"new nonce: the ACME server returned HTTP {resp.status} without a nonce")
        return nonce

    def _post(
        self, url: str, payload: Any, action: str, *, use_kid: bool = True, accept: str = ""
    ) -> _Response:
        """POST a JWS (payload None = POST-as-GET); badNonce retried with 10, 20, 40 ... 250 ms pauses."""
        data = b"" if payload is None else json.dumps(payload).encode()
        kid = self.account_uri if use_kid else None
        if use_kid and not kid:
            raise errors.Terminal("", f"{action}: no ACME account registered yet (call register first)")
        headers = {"Content-Type": JOSE_CONTENT_TYPE}
        if accept:
            headers["Accept"] = accept
        attempt = 0
        while True:
            nonce = self._nonce()
            signed = acme_jws.JWS.sign(
                data, key=self.key, alg=jwa.RS256, nonce=jose_b64.b64decode(nonce), url=url, kid=kid or None
            )
            resp = self._request("POST", url, action, signed.json_dumps().encode(), headers)
            self._store_nonce(resp)
            if resp.status < 400:
                return resp
            problem = resp.json() if isinstance(resp.json(), dict) else None
            is_bad_nonce = problem is not None and str(problem.get("type", "")).endswith(":badNonce")
            if is_bad_nonce and attempt < self.bad_nonce_retries:
                time.sleep(min(0.01 * (2**attempt), 0.25))
                attempt += 1
                continue
            raise errors.classify(resp.status, problem, resp.headers.get("Retry-After"), action.replace("_", " "))

    # --- accounts -----------------------------------------------------------------------------------------

    def register(self, email: str = "", eab: tuple[str, str] | None = None, *, tos: bool = True) -> Account:
        """Create the account, or find the existing one for this key (servers answer 200 with its URL).

        `eab` is (key ID, HMAC key as unpadded base64url). Sets `account_uri`.
        """
        directory = self.directory()
        payload: dict[str, Any] = {"termsOfServiceAgreed": tos}
        if email:
            payload["contact"] = [f"mailto:{email.lower()}"]
        if eab is not None:
            from acme import messages as acme_messages  # only for EAB; it pulls in requests

            kid, hmac_key = eab
            try:
                payload["externalAccountBinding"] = acme_messages.ExternalAccountBinding.from_data(
                    account_public_key=self.key.public_key(),
                    kid=kid,
                    hmac_key=hmac_key,
                    directory=cast(Any, {"newAccount": directory.new_account}),
                )
            except (ValueError, jose_errors.DeserializationError) as err:
                raise errors.InvalidConfig(f"the external account binding HMAC key cannot be decoded: {err}") from None
        resp = self._post(directory.new_account, payload, "new_account", use_kid=False)
        return self._account_from(resp, created=resp.status == 201)

    def lookup(self) -> Account | None:
        """The existing account of this key (onlyReturnExisting), or None when the server knows none."""
        directory = self.directory()
        try:
            resp = self._post(directory.new_account, {"onlyReturnExisting": True}, "lookup_account", use_kid=False)
        except errors.Terminal as err:
            if err.code == "accountDoesNotExist":
                return None
            raise
        return self._account_from(resp, created=False)

    def update_email(self, email: str) -> Account:
        """Replace the account's contact with `mailto:<email>` (none when empty)."""
        contact = [f"mailto:{email.lower()}"] if email else []
        resp = self._post(self.account_uri, {"contact": contact}, "update_account")
        return self._account_from(resp, created=False, uri=self.account_uri)

    def _account_from(self, resp: _Response, *, created: bool, uri: str = "") -> Account:
        uri = resp.headers.get("Location") or uri
        if not uri:
            raise errors.Retryable("new account: the ACME server returned no account URL")
        self.account_uri = uri
        body: dict[str, Any] = resp.json() if isinstance(resp.json(), dict) else {}
        contact: list[Any] = body["contact"] if isinstance(body.get("contact"), list) else []
        return Account(uri=uri, status=str(body.get("status") or ""), contact=tuple(map(str, contact)), created=created)

    # --- orders ---------------------------------------------------------------------------------------------

    def new_order(
        self,
        csr_pem: bytes = b"",
        identifiers: Sequence[str | Identifier] = (),
        *,
        not_before: Any = None,
        not_after: Any = None,
        profile: str = "",
        replaces: str = "",
    ) -> Order:
        """POST newOrder for `identifiers` (names or IPs; from the CSR when empty).

        `not_before`/`not_after` are aware datetimes or RFC 3339 strings (cert-manager's
        enableDurationFeature sends notAfter); `profile` and `replaces` (ARI) are sent when set.
        """
        idents = [i if isinstance(i, Identifier) else Identifier.of(i) for i in identifiers]
        if not idents and csr_pem:
            idents = list(identifiers_from_csr(csr_pem))
        if not idents:
            raise errors.Terminal("", "new order: no identifiers", message="new order: no identifiers to order")
        payload: dict[str, Any] = {"identifiers": [i.to_json() for i in idents]}
        if not_before is not None:
            payload["notBefore"] = _rfc3339(not_before)
        if not_after is not None:
            payload["notAfter"] = _rfc3339(not_after)
        if profile:
            payload["profile"] = profile
        if replaces:
            payload["replaces"] = replaces
        resp = self._post(self.directory().new_order, payload, "new_order")
        url = resp.headers.get("Location") or ""
        return Order.from_json(url, resp.json(), resp.retry_after())

    def get_order(self, url: str) -> Order:
        resp = self._post(url, None, "get_order")
        return Order.from_json(url, resp.json(), resp.retry_after())

    def get_authorization(self, url: str) -> Authorization:
        resp = self._post(url, None, "get_authorization")
        return Authorization.from_json(url, resp.json(), resp.retry_after())

    def get_challenge(self, url: str) -> Challenge:
        resp = self._post(url, None, "get_challenge")
        return Challenge.from_json(resp.json())

    def answer_challenge(self, challenge_url: str) -> Challenge:
        """Tell the server the challenge is ready to be validated (POST `{}`)."""
        resp = self._post(challenge_url, {}, "accept_challenge")
        return Challenge.from_json(resp.json())

    def deactivate_authorization(self, url: str) -> Authorization:
        resp = self._post(url, {"status": "deactivated"}, "deactivate_authorization")
        return Authorization.from_json(url, resp.json())

    def finalize(self, finalize_url: str, csr: bytes) -> Order:
        """POST the CSR (DER, or PEM which is converted) to the order's finalize URL."""
        der = csr
        if b"-----BEGIN" in csr:
            try:
                der = x509.load_pem_x509_csr(csr).public_bytes(Encoding.DER)
            except ValueError as err:
                raise errors.Terminal("", f"finalize: the CSR is not valid PEM: {err}") from None
        resp = self._post(finalize_url, {"csr": b64url(der)}, "finalize")
        url = resp.headers.get("Location") or finalize_url.rsplit("/finalize", 1)[0]
        return Order.from_json(url, resp.json(), resp.retry_after())

    def fetch_certificate(self, url: str, preferred_chain: str = "") -> bytes:
        """The PEM chain at `url` (leaf first); with `preferred_chain`, the first chain, default then
        alternates (Link rel="alternate"), whose root-most certificate's issuer CN equals it, else the
        default - as cert-manager chooses."""
        resp = self._post(url, None, "get_certificate", accept=PEM_CHAIN_CONTENT_TYPE)
        default = resp.body
        if not preferred_chain or _root_issuer_cn(default) == preferred_chain:
            return default
        for alternate in resp.links("alternate"):
            alt = self._post(alternate, None, "get_certificate", accept=PEM_CHAIN_CONTENT_TYPE).body
            if _root_issuer_cn(alt) == preferred_chain:
                return alt
        return default

    def alternate_chain_urls(self, url: str) -> list[str]:
        resp = self._post(url, None, "get_certificate", accept=PEM_CHAIN_CONTENT_TYPE)
        return resp.links("alternate")

    def revoke(self, cert_pem: bytes, reason: int = 0) -> None:
        cert = x509.load_pem_x509_certificate(cert_pem)
        payload = {"certificate": b64url(cert.public_bytes(Encoding.DER)), "reason": reason}
        self._post(self.directory().revoke_cert, payload, "revoke")


def _root_issuer_cn(chain_pem: bytes) -> str:
    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
    except ValueError:
        return ""
    if not certs:
        return ""
    names = certs[-1].issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    value = names[0].value if names else ""
    return value if isinstance(value, str) else value.decode()




# ---------------------------------------------------------------------------------------------------------
# Async face for the operator


class AsyncACMEClient:
    """The same verbs, each run in a worker thread (`asyncio.to_thread`) so the event loop never blocks."""

    def __init__(self, client: ACMEClient) -> None:
        import asyncio

        self.sync = client
        self._to_thread = asyncio.to_thread

    @property
    def account_uri(self) -> str:
        return self.sync.account_uri

    @property
    def thumbprint(self) -> str:
        return self.sync.thumbprint

    def key_authorization(self, token: str) -> str:
        return self.sync.key_authorization(token)

    def dns01_value(self, token: str) -> str:
        return self.sync.dns01_value(token)

    async def directory(self) -> Directory:
        return await self._to_thread(self.sync.directory)

    async def register(self, email: str = "", eab: tuple[str, str] | None = None, *, tos: bool = True) -> Account:
        return await self._to_thread(self.sync.register, email, eab, tos=tos)

    async def lookup(self) -> Account | None:
        return await self._to_thread(self.sync.lookup)

    async def update_email(self, email: str) -> Account:
        return await self._to_thread(self.sync.update_email, email)

    async def new_order(
        self,
        csr_pem: bytes = b"",
        identifiers: Sequence[str | Identifier] = (),
        *,
        not_before: Any = None,
        not_after: Any = None,
        profile: str = "",
        replaces: str = "",
    ) -> Order:
        return await self._to_thread(
            self.sync.new_order,
            csr_pem,
            identifiers,
            not_before=not_before,
            not_after=not_after,
            profile=profile,
            replaces=replaces,
        )

    async def get_order(self, url: str) -> Order:
        return await self._to_thread(self.sync.get_order, url)

    async def get_authorization(self, url: str) -> Authorization:
        return await self._to_thread(self.sync.get_authorization, url)

    async def get_challenge(self, url: str) -> Challenge:
        return await self._to_thread(self.sync.get_challenge, url)

    async def answer_challenge(self, challenge_url: str) -> Challenge:
        return await self._to_thread(self.sync.answer_challenge, challenge_url)

    async def finalize(self, finalize_url: str, csr: bytes) -> Order:
        return await self._to_thread(self.sync.finalize, finalize_url, csr)

    async def fetch_certificate(self, url: str, preferred_chain: str = "") -> bytes:
        return await self._to_thread(self.sync.fetch_certificate, url, preferred_chain)
