"""One whole ACME issuance in one call, as certbot and lego do it: order, present every pending
authorization's challenge, answer, poll, clean up, finalize, poll, download. For the offline
`issuer issue` engine and the tests; the operator does the same steps one reconcile at a time instead.

Waiting is polling with short growing intervals (20 ms doubling to 1 s) that honour the server's
Retry-After (capped); never a fixed sleep. `Retryable` errors of single calls are retried a few times
after their delay; `Terminal` ones and invalid authorizations/orders end the flow with the server's
problem (type and detail). Challenges are solved by `Solver`s: `StandaloneHTTP01` (one listener serving
every token of the run) and `RFC2136DNS01`.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from issuer.acme import client as acme_client
from issuer.acme import errors

if TYPE_CHECKING:  # pragma: no cover - dnspython is loaded only when DNS-01 is used
    from issuer.acme import dns01, rfc2136

_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True)
class Polling:
    first: float = 0.02
    factor: float = 2.0
    longest: float = 1.0
    timeout: float = 120.0
    retry_after_cap: float = 10.0
    retries: int = 3  # retries of a single call failing with Retryable


class Solver(Protocol):
    challenge_type: str

    def present(self, authz: acme_client.Authorization, challenge: acme_client.Challenge, key_auth: str) -> None: ...

    def ready(self, authz: acme_client.Authorization, challenge: acme_client.Challenge, key_auth: str) -> bool: ...

    def cleanup(self, authz: acme_client.Authorization, challenge: acme_client.Challenge, key_auth: str) -> None: ...


Chooser = Callable[[acme_client.Authorization], Solver | None]


def dns01_value(key_auth: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(key_auth.encode()).digest()).rstrip(b"=").decode()


class StandaloneHTTP01:
    """HTTP-01 through our own listener on `port` (all pending tokens of a run), started on first use."""

    challenge_type = "http-01"

    def __init__(self, port: int, host: str = "") -> None:
        self.port = port
        self.host = host
        self._entries: dict[tuple[str, str], str] = {}
        self._server: Any = None
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        from issuer.acmesolver import server

        with self._lock:
            if self._server is None:
                try:
                    self._server = server.serve_in_thread(server.table(self._entries), self.port, self.host)
                except OSError as err:
                    raise errors.Terminal(
                        "", f"cannot listen on port {self.port} for HTTP-01: {err.strerror or err}"
                    ) from None

    def present(self, authz: acme_client.Authorization, challenge: acme_client.Challenge, key_auth: str) -> None:
        self._ensure()
        self._entries[(authz.identifier.value.lower(), challenge.token)] = key_auth

    def ready(self, authz: acme_client.Authorization, challenge: acme_client.Challenge, key_auth: str) -> bool:
        return True

    def cleanup(self, authz: acme_client.Authorization, challenge: acme_client.Challenge, key_auth: str) -> None:
        self._entries.pop((authz.identifier.value.lower(), challenge.token), None)

    def close(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.stop()
                self._server = None


class RFC2136DNS01:
    """DNS-01 through an RFC 2136 server; ready once the check nameservers answer the value."""

    challenge_type = "dns-01"

    def __init__(
        self,
        provider: rfc2136.Provider,
        *,
        cname_strategy: str = "",
        check_nameservers: Sequence[dns01.Nameserver] = (),
    ) -> None:
        self.provider = provider
        self.cname_strategy = cname_strategy
        self.check_nameservers = list(check_nameservers) or [provider.config.nameserver]
        self._fqdns: dict[tuple[str, str], str] = {}

    def _fqdn(self, authz: acme_client.Authorization, challenge: acme_client.Challenge) -> str:
        from issuer.acme import dns01

        key = (authz.identifier.value, challenge.token)
        if key not in self._fqdns:
            self._fqdns[key] = dns01.resolve_fqdn(authz.identifier.value, self.cname_strategy, self.check_nameservers)
        return self._fqdns[key]

    def present(self, authz: acme_client.Authorization, challenge: acme_client.Challenge, key_auth: str) -> None:
        self.provider.present(self._fqdn(authz, challenge), dns01_value(key_auth))

    def ready(self, authz: acme_client.Authorization, challenge: acme_client.Challenge, key_auth: str) -> bool:
        from issuer.acme import dns01

        ok, _why = dns01.check_propagation(
            self._fqdn(authz, challenge), dns01_value(key_auth), self.check_nameservers, nameservers_only=True
        )
        return ok

    def cleanup(self, authz: acme_client.Authorization, challenge: acme_client.Challenge, key_auth: str) -> None:
        self.provider.cleanup(self._fqdn(authz, challenge), dns01_value(key_auth))


def call(fn: Callable[..., _T], *args: Any, polling: Polling = Polling(), **kwargs: Any) -> _T:
    """`fn(*args)`, retried after Retryable errors (their delay, capped) up to `polling.retries` times."""
    attempt = 0
    while True:
        try:
            return fn(*args, **kwargs)
        except errors.Retryable as err:
            if attempt >= polling.retries:
                raise
            attempt += 1
            time.sleep(min(err.delay, polling.retry_after_cap))


def _wait(
    fetch: Callable[[], _T], done: Callable[[_T], bool], retry_after: Callable[[_T], float | None], polling: Polling,
    what: str,
) -> _T:
    deadline = time.monotonic() + polling.timeout
    delay = polling.first
    while True:
        value = call(fetch, polling=polling)
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise errors.Retryable(f"timed out after {polling.timeout:.0f}s waiting for {what}")
        asked = retry_after(value)
        time.sleep(min(asked, polling.retry_after_cap) if asked else delay)
        delay = min(delay * polling.factor, polling.longest)


def _problem(prefix: str, problem: acme_client.Problem | None) -> errors.Terminal:
    if problem is None:
        return errors.Terminal("", f"{prefix}: no reason given", message=f"{prefix}: no reason given")
    return errors.Terminal(problem.type, problem.detail, status=problem.status, message=f"{prefix}: {problem}")


def obtain(
    acme: acme_client.ACMEClient,
    csr_pem: bytes,
    choose: Chooser,
    *,
    identifiers: Sequence[str] = (),
    preferred_chain: str = "",
    not_after: Any = None,
    profile: str = "",
    polling: Polling = Polling(),
) -> bytes:
    """The PEM chain for `csr_pem` (leaf first), or a classified error."""
    order = call(acme.new_order, csr_pem, identifiers, not_after=not_after, profile=profile, polling=polling)
    authzs = [call(acme.get_authorization, url, polling=polling) for url in order.authorizations]
    work: list[tuple[acme_client.Authorization, acme_client.Challenge, Solver, str]] = []
    try:
        for authz in authzs:
            if authz.status == "valid":
                continue
            if authz.status != "pending":
                raise _problem(f"authorization for {authz.identifier.value} is {authz.status}", authz.problem)
            solver = choose(authz)
            challenge = authz.challenge(solver.challenge_type) if solver is not None else None
            if solver is None or challenge is None:
                offered = ", ".join(c.type for c in authz.challenges)
                why = f"no configured solver for {authz.identifier.value} can solve the offered challenges ({offered})"
                raise errors.Terminal("", why, message=why)
            key_auth = acme.key_authorization(challenge.token)
            work.append((authz, challenge, solver, key_auth))
            solver.present(authz, challenge, key_auth)
        for authz, challenge, solver, key_auth in work:
            _wait(
                lambda a=authz, c=challenge, s=solver, k=key_auth: s.ready(a, c, k),  # type: ignore[misc]
                bool,
                lambda _v: None,
                polling,
                f"the {challenge.type} record of {authz.identifier.value} to propagate",
            )
            call(acme.answer_challenge, challenge.url, polling=polling)
        for authz, _challenge, _solver, _key in work:
            final = _wait(
                lambda a=authz: acme.get_authorization(a.url),  # type: ignore[misc]
                lambda a: a.status != "pending",
                lambda a: a.retry_after,
                polling,
                f"the authorization of {authz.identifier.value}",
            )
            if final.status != "valid":
                raise _problem(f"authorization for {final.identifier.value} failed", final.problem)
    finally:
        for authz, challenge, solver, key_auth in work:
            with contextlib.suppress(errors.ACMEError):
                solver.cleanup(authz, challenge, key_auth)
    order_url = order.url
    order = _wait(
        lambda: acme.get_order(order_url),
        lambda o: o.status != "pending",
        lambda o: o.retry_after,
        polling,
        "the order to become ready",
    )
    if order.status == "ready":
        order = call(acme.finalize, order.finalize, csr_pem, polling=polling)
    if order.status in ("processing", "ready"):
        url = order.url
        order = _wait(
            lambda: acme.get_order(url),
            lambda o: o.status not in ("processing", "ready"),
            lambda o: o.retry_after,
            polling,
            "the certificate",
        )
    if order.status != "valid" or not order.certificate:
        raise _problem(f"order is {order.status}", order.error)
    return call(acme.fetch_certificate, order.certificate, preferred_chain, polling=polling)
