"""The pure parts of issuer.acme: names, error classification, account keys, EAB keys, nameservers,
challenge values, Link headers and identifiers from CSRs."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from issuer.acme import accounts, dns01, errors, names
from issuer.acme import client as acme_client

# ---------------------------------------------------------------------------------------------------------
# names


def test_fnv32_is_go_fnv_new32() -> None:
    # Go: fnv.New32() of "" is the offset basis; of "a" is 0x050c5d7e (FNV-1, not FNV-1a's 0xe40c292c).
    assert names.fnv32(b"") == 0x811C9DC5
    assert names.fnv32(b"a") == 0x050C5D7E


def test_dns_safe_shorten() -> None:
    assert names.dns_safe_shorten("short", 54) == "short"
    assert names.dns_safe_shorten("a" * 53 + "-." + "b", 54) == "a" * 53
    assert names.dns_safe_shorten("-" * 60, 54) == ""


def test_order_name_shape_and_stability() -> None:
    spec = {"issuerRef": {"name": "le"}, "dnsNames": ["a.example.com"]}
    name = names.order_name("web-1", spec)
    assert re.fullmatch(r"web-1-[0-9a-f]{8}", name)
    assert names.order_name("web-1", {**spec, "request": "ignored"}) == name  # the CSR is not hashed
    assert names.order_name("web-1", {**spec, "dnsNames": ["b.example.com"]}) != name


def test_long_request_names_still_differ() -> None:
    spec = {"issuerRef": {"name": "le"}}
    a = names.order_name("x" * 60 + "-1", spec)
    b = names.order_name("x" * 60 + "-2", spec)
    assert a != b and len(a) <= 63 and len(b) <= 63


@given(st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?", fullmatch=True))
def test_names_are_at_most_63_characters(prefix: str) -> None:
    name = names.challenge_name(prefix, {"token": "t", "key": "k"})
    assert len(name) <= 63
    assert re.fullmatch(r"([a-z0-9.\-]*[a-z0-9]-)?[0-9a-f]{8}", name)


def test_challenge_name_ignores_the_key() -> None:
    spec = {"url": "u", "dnsName": "a.example.com", "type": "HTTP-01", "token": "tok"}
    assert names.challenge_name("o-1", {**spec, "key": "one"}) == names.challenge_name("o-1", {**spec, "key": "two"})


# ---------------------------------------------------------------------------------------------------------
# errors


P = errors.ERROR_PREFIX


@pytest.mark.parametrize(
    ("status", "problem", "retry_after", "kind", "delay"),
    [
        (500, None, None, errors.Retryable, errors.DEFAULT_RETRY_DELAY),
        (503, {"type": P + "serverInternal"}, "7", errors.Retryable, 7.0),
        (429, {"type": P + "rateLimited", "detail": "too many"}, "120", errors.Retryable, 120.0),
        (429, {"type": P + "rateLimited"}, None, errors.Retryable, errors.DEFAULT_RATE_LIMIT_DELAY),
        (400, {"type": P + "badNonce"}, None, errors.Retryable, errors.BAD_NONCE_DELAY),
        (400, {"type": P + "rejectedIdentifier", "detail": "no"}, None, errors.Terminal, None),
        (403, {"type": P + "unauthorized"}, None, errors.Terminal, None),
        (400, {"type": P + "badCSR"}, None, errors.Terminal, None),
        (403, {"type": P + "orderNotReady"}, None, errors.Terminal, None),
        (404, None, None, errors.Terminal, None),
    ],
    ids=["5xx", "503 with Retry-After", "rate limited with Retry-After", "rate limited default",
         "badNonce after retries", "rejectedIdentifier", "unauthorized", "badCSR", "orderNotReady", "404"],
)
def test_classify(status: int, problem: dict[str, object] | None, retry_after: str | None,
                  kind: type[errors.ACMEError], delay: float | None) -> None:
    err = errors.classify(status, problem, retry_after, "new order")
    assert type(err) is kind
    if isinstance(err, errors.Retryable):
        assert err.delay == delay
    assert str(err).startswith("new order: ")


def test_terminal_carries_type_detail_and_subproblems() -> None:
    err = errors.classify(400, {
        "type": P + "rejectedIdentifier", "detail": "Error creating new order",
        "subproblems": [{"type": P + "rejectedIdentifier", "detail": "blocked", "identifier": {"value": "x.test"}}],
    }, None, "new order")
    assert isinstance(err, errors.Terminal)
    assert (err.code, err.status) == ("rejectedIdentifier", 400)
    assert "x.test: rejectedIdentifier: blocked" in err.detail


def test_retry_after_http_date_in_the_past_is_zero() -> None:
    assert errors.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 5.0) == 0.0
    assert errors.parse_retry_after("soon", 5.0) == 5.0


# ---------------------------------------------------------------------------------------------------------
# accounts


def test_generated_key_is_rsa_2048_pkcs1_and_loads_back() -> None:
    key = accounts.generate_key()
    pem = accounts.encode_key(key)
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert key.key_size == 2048
    assert accounts.private_key_hash(accounts.load_key(pem, "acct")) == accounts.private_key_hash(key)


def test_private_key_hash_is_base64_sha256_of_pkcs1_der() -> None:
    key = accounts.generate_key()
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    assert accounts.private_key_hash(key) == base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_non_rsa_account_key_is_refused_with_cert_managers_message() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(errors.InvalidConfig, match='ACME private key in "le-account" is not of type RSA'):
        accounts.load_key(pem, "le-account")
    with pytest.raises(errors.InvalidConfig, match="Account private key is invalid"):
        accounts.load_key(b"garbage", "le-account")


def test_v1_urls_are_invalid_config() -> None:
    with pytest.raises(errors.InvalidConfig, match=re.escape("acme-v02.api.letsencrypt.org/directory")):
        accounts.check_server_url("https://acme-v01.api.letsencrypt.org/directory")
    accounts.check_server_url("https://acme-v02.api.letsencrypt.org/directory")


@pytest.mark.parametrize("text", ["c2VjcmV0LWtleQ", "c2VjcmV0LWtleQ==", " c2VjcmV0LWtleQ\n"])
def test_eab_key_is_unpadded_base64url(text: str) -> None:
    assert accounts.decode_eab_key(text) == b"secret-key"
    assert accounts.eab_for_client("kid", text) == ("kid", "c2VjcmV0LWtleQ")


@pytest.mark.parametrize("text", ["", "!!!not base64!!!"])
def test_bad_eab_key_is_invalid_config(text: str) -> None:
    with pytest.raises(errors.InvalidConfig):
        accounts.decode_eab_key(text)


def test_client_for_refuses_v1_and_bad_ca_bundle() -> None:
    key = accounts.generate_key()
    with pytest.raises(errors.InvalidConfig):
        accounts.client_for("https://acme-staging.api.letsencrypt.org/directory", key)
    with pytest.raises(errors.InvalidConfig, match="caBundle"):
        accounts.client_for("https://acme.test/dir", key, ca_bundle=b"not a pem")


# ---------------------------------------------------------------------------------------------------------
# client helpers


def test_key_authorization_and_dns01_value() -> None:
    acme = acme_client.ACMEClient("https://acme.test/dir", accounts.generate_key())
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", acme.thumbprint)
    assert acme.key_authorization("tok") == f"tok.{acme.thumbprint}"
    digest = hashlib.sha256(f"tok.{acme.thumbprint}".encode()).digest()
    assert acme.dns01_value("tok") == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_link_header_parsing() -> None:
    header = '<https://a/1>;rel="alternate", <https://a/dir>;rel="index", <https://a/2>; rel=alternate'
    assert [url for url, rels in acme_client._parse_links(header) if "alternate" in rels] == ["https://a/1",
                                                                                             "https://a/2"]


def test_identifiers_from_csr_include_the_common_name() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "cn.example.com")]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName("a.example.com"),
                                                       x509.IPAddress(__import__("ipaddress").ip_address("10.0.0.1"))]),
                          critical=False)
           .sign(key, hashes.SHA256()))
    pem = csr.public_bytes(serialization.Encoding.PEM)
    assert acme_client.identifiers_from_csr(pem) == (
        acme_client.Identifier("dns", "a.example.com"), acme_client.Identifier("ip", "10.0.0.1"),
        acme_client.Identifier("dns", "cn.example.com"))
    assert acme_client.Identifier.of("::1") == acme_client.Identifier("ip", "::1")


def test_order_and_authorization_parse_odd_json() -> None:
    assert acme_client.Order.from_json("u", None).status == ""
    authz = acme_client.Authorization.from_json("u", {"status": "invalid", "challenges": [
        {"type": "http-01", "url": "c", "token": "t", "error": {"type": P + "connection", "detail": "refused"}}]})
    assert authz.problem is not None and str(authz.problem) == "connection: refused"


# ---------------------------------------------------------------------------------------------------------
# nameservers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.1", ("10.0.0.1", 53)),
        ("10.0.0.1:5353", ("10.0.0.1", 5353)),
        ("[2001:db8::1]:53", ("2001:db8::1", 53)),
        ("[2001:db8::1]", ("2001:db8::1", 53)),
        ("2001:db8::1", ("2001:db8::1", 53)),
        ("localhost:1053", ("127.0.0.1", 1053)),
    ],
)
def test_parse_nameserver(text: str, expected: tuple[str, int]) -> None:
    assert dns01.parse_nameserver(text) == expected


@pytest.mark.parametrize("text", ["", "10.0.0.1:notaport", "[2001:db8::1", "10.0.0.1:0", "https://dns.example/q"])
def test_bad_nameserver_is_invalid_config(text: str) -> None:
    with pytest.raises(errors.InvalidConfig):
        dns01.parse_nameserver(text)


@pytest.mark.parametrize(("name", "fqdn"), [("example.com", "_acme-challenge.example.com."),
                                            ("*.example.com", "_acme-challenge.example.com."),
                                            ("a.example.com.", "_acme-challenge.a.example.com.")])
def test_record_name(name: str, fqdn: str) -> None:
    assert dns01.record_name(name) == fqdn


# ---------------------------------------------------------------------------------------------------------
# orders glue


def test_order_identifiers_add_the_common_name_last() -> None:
    from issuer.acme import orders
    from issuer.api import types as t

    spec = t.OrderSpec(common_name="10.0.0.9", dns_names=("a.example.com",), ip_addresses=("10.0.0.1",))
    assert orders.identifiers(spec) == ["a.example.com", "10.0.0.1", "10.0.0.9"]
    assert orders.identifiers(t.OrderSpec(common_name="a.example.com", dns_names=("a.example.com",))) == [
        "a.example.com"]


def test_authorization_status_and_challenge_spec() -> None:
    from issuer.acme import orders
    from issuer.api import types as t

    authz = acme_client.Authorization(
        url="https://acme/authz/1", status="pending", identifier=acme_client.Identifier("dns", "example.com"),
        wildcard=True, challenges=(acme_client.Challenge("dns-01", "https://acme/chal/1", "tok"),))
    status = orders.authorization_status(authz)
    assert status.to_wire() == {"url": "https://acme/authz/1", "identifier": "example.com", "wildcard": True,
                                "initialState": "pending",
                                "challenges": [{"url": "https://acme/chal/1", "token": "tok", "type": "dns-01"}]}
    order = t.Order(spec=t.OrderSpec(issuer_ref=t.IssuerRef(name="le", kind="ClusterIssuer")))
    solver = t.ACMESolver(dns01=t.DNS01(rfc2136=t.RFC2136(nameserver="10.0.0.1")))
    spec = orders.challenge_spec(order, status, status.challenges[0], solver, key="k")
    assert (spec.type, spec.dns_name, spec.wildcard, spec.authorization_url, spec.token, spec.key) == (
        "DNS-01", "example.com", True, "https://acme/authz/1", "tok", "k")
    assert spec.issuer_ref.name == "le"
    acme = acme_client.ACMEClient("https://acme.test/dir", accounts.generate_key())
    assert orders.challenge_key(acme, "DNS-01", "tok") == acme.dns01_value("tok")
    assert orders.challenge_key(acme, "http-01", "tok") == acme.key_authorization("tok")


def test_failure_state() -> None:
    from issuer.acme import orders

    assert orders.failure_state(errors.Retryable("x")) == ""
    assert orders.failure_state(errors.Terminal(P + "malformed", "bad")) == "expired"
    assert orders.failure_state(errors.Terminal(P + "unauthorized", "no")) == "errored"


@pytest.mark.parametrize("url", ["not a url", "ftp://x/dir", "https://[bad/dir", "https://", "https://bad host/dir"])
def test_invalid_server_urls_are_terminal(url: str) -> None:
    with pytest.raises(errors.Terminal, match="invalid URL"):
        acme_client.ACMEClient(url, accounts.generate_key()).directory()


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20,
)


@given(_JSON)
def test_server_json_of_any_shape_never_crashes_the_parsers(obj: object) -> None:
    acme_client.Order.from_json("u", obj)
    acme_client.Authorization.from_json("u", obj)
    acme_client.Challenge.from_json(obj)
    acme_client.Problem.from_json(obj)
    err = errors.classify(400, obj if isinstance(obj, dict) else None, None, "x")
    assert str(err).startswith("x: ")
    with contextlib.suppress(errors.Terminal):
        acme_client.Directory.from_json("u", obj)


@given(st.text(max_size=200))
def test_link_headers_and_retry_after_of_any_text_never_crash(text: str) -> None:
    acme_client._parse_links(text)
    assert errors.parse_retry_after(text, 3.0) >= 0


def test_retry_after_with_unicode_digits_is_the_default() -> None:
    assert errors.parse_retry_after("²", 3.0) == 3.0


@given(st.text(max_size=40))
def test_nameservers_of_any_text_parse_or_are_refused(text: str) -> None:
    from unittest import mock

    def no_dns(host: str, *args: object, **kwargs: object) -> object:
        host.encode("idna")  # what the real resolver does first
        raise OSError("no resolver in this test")

    with mock.patch("socket.getaddrinfo", no_dns):
        try:
            host, port = dns01.parse_nameserver(text)
        except (errors.InvalidConfig, errors.Retryable):
            return
    assert 0 < port < 65536 and host
