"""hypothesis: arbitrary bytes (raw, or PEM-framed so they reach the DER parsers) make every loader raise
PKIError and nothing else."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from issuer.api import types as t
from issuer.pki import ca, chain, csr, keys, names, secret
from issuer.pki.errors import PKIError
from tests.unit.pki.helpers import NOW, cached_key, self_signed

PEM_TYPES = [
    "CERTIFICATE",
    "CERTIFICATE REQUEST",
    "PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "X",
]


def framed(kind: str, body: bytes) -> bytes:
    return f"-----BEGIN {kind}-----\n".encode() + base64.encodebytes(body) + f"-----END {kind}-----\n".encode()


_CA_KEY = cached_key("ECDSA", 256, 40)
_CA = self_signed(t.CertificateSpec(common_name="CA", is_ca=True), _CA_KEY)
_CA_PEM, _CA_KEY_PEM = _CA.cert_pem_chain, keys.encode(_CA_KEY)

_RICH_SPEC = t.CertificateSpec(
    common_name="fuzz",
    dns_names=("a.example",),
    ip_addresses=("10.0.0.1",),
    uris=("spiffe://td/x",),
    email_addresses=("a@example",),
    other_names=(t.OtherName(oid="1.3.6.1.4.1.311.20.2.3", utf8_value="u@x"),),
    usages=("server auth", "digital signature"),
    is_ca=True,
    name_constraints=t.NameConstraints(permitted=t.NameConstraintItem(dns_domains=("example",))),
)
_SEEDS = {
    "CERTIFICATE": _CA.leaf.public_bytes(serialization.Encoding.DER),
    "CERTIFICATE REQUEST": csr.build(_RICH_SPEC, _CA_KEY).public_bytes(serialization.Encoding.DER),
    "PRIVATE KEY": keys.der(_CA_KEY),
    "EC PRIVATE KEY": keys.der(_CA_KEY, "PKCS1"),
}


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid DER document of some type with a few bytes changed, or truncated: deep parser paths."""
    kind = draw(st.sampled_from(sorted(_SEEDS)))
    der = bytearray(_SEEDS[kind])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(der) - 1))
        der[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        der = der[: draw(st.integers(0, len(der)))]
    return framed(kind, bytes(der))


inputs = st.one_of(
    st.binary(max_size=2048),
    st.builds(framed, st.sampled_from(PEM_TYPES), st.binary(max_size=2048)),
    # a valid DER prefix with random tail: reaches deeper into the ASN.1 parsers
    st.builds(lambda kind, body: framed(kind, b"\x30\x82" + body), st.sampled_from(PEM_TYPES), st.binary(max_size=512)),
    mutated(),
)


LOADERS: dict[str, Callable[[bytes], object]] = {
    "keys.load": keys.load,
    "csr.load": csr.load,
    "chain.load_certificates": chain.load_certificates,
    "chain.load_certificate": chain.load_certificate,
    "describe_certificate": secret.describe_certificate,
    "ca tls.crt": lambda b: ca.load_ca_keypair(b, _CA_KEY_PEM, None, NOW),
    "ca tls.key": lambda b: ca.load_ca_keypair(_CA_PEM, b, None, NOW),
    "ca ca.crt": lambda b: ca.load_ca_keypair(_CA_PEM, _CA_KEY_PEM, b, NOW),
    "matches_certificate_spec": lambda b: csr.matches_certificate_spec(b, t.CertificateSpec()),
}


@pytest.mark.parametrize("name", list(LOADERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=inputs)
def test_loaders_raise_only_pki_error(name: str, data: bytes) -> None:
    try:
        LOADERS[name](data)
    except PKIError as err:
        assert str(err) and "\n" not in str(err)


@settings(max_examples=150, deadline=None)
@given(data=inputs)
def test_check_against_request_spec_never_raises(data: bytes) -> None:
    problems = csr.check_against_request_spec(data, t.CertificateRequestSpec(usages=("server auth",)))
    assert all(p.startswith("spec.request: ") and "\n" not in p for p in problems)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_literal_subject_parser_raises_only_pki_error(text: str) -> None:
    with contextlib.suppress(PKIError):
        names.parse_literal_subject(text)


@settings(max_examples=100, deadline=None)
@given(
    cn=st.text(max_size=64),
    dns=st.lists(st.text(max_size=30), max_size=3),
    ips=st.lists(st.text(max_size=20), max_size=2),
    orgs=st.lists(st.text(max_size=20), max_size=2),
    countries=st.lists(st.text(max_size=4), max_size=2),
)
def test_csr_build_from_arbitrary_spec_values_raises_only_pki_error(
    cn: str, dns: list[str], ips: list[str], orgs: list[str], countries: list[str]
) -> None:
    spec = t.CertificateSpec(
        common_name=cn,
        dns_names=tuple(dns),
        ip_addresses=tuple(ips),
        subject=t.X509Subject(organizations=tuple(orgs), countries=tuple(countries)),
    )
    try:
        request = csr.build(spec, _CA_KEY)
    except PKIError:
        return
    assert csr.matches_certificate_spec(request, spec) == []
