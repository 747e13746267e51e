"""Shared helpers for the PKI unit tests: a fixed `now`, cached keys, and one-call issuance."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

from issuer.api import types as t
from issuer.pki import ca, csr, keys, sign

NOW = dt.datetime(2026, 11, 27, 10, 0, 0, tzinfo=dt.UTC)


@functools.cache
def cached_key(algorithm: str = "ECDSA", size: int | None = None, tag: int = 0) -> keys.PrivateKey:
    """Keys are costly (RSA); tests that only need *a* key share one per (algorithm, size, tag)."""
    del tag
    return keys.generate(t.CertificatePrivateKey(algorithm=algorithm, size=size))


def request_spec_for(spec: t.CertificateSpec) -> t.CertificateRequestSpec:
    """The CertificateRequest spec the request manager derives from a Certificate spec."""
    return t.CertificateRequestSpec(
        duration=spec.duration, issuer_ref=spec.issuer_ref, is_ca=spec.is_ca, usages=spec.usages
    )


def self_signed(spec: t.CertificateSpec, key: keys.PrivateKey, now: dt.datetime = NOW) -> sign.SignResult:
    return sign.sign_self_signed(csr.build(spec, key), key, request_spec_for(spec), now)


@dataclasses.dataclass(frozen=True)
class Issued:
    key: keys.PrivateKey
    result: sign.SignResult


def make_root(name: str = "Test Root", algorithm: str = "ECDSA", size: int | None = None) -> tuple[ca.CAKeyPair, bytes]:
    key = keys.generate(t.CertificatePrivateKey(algorithm=algorithm, size=size))
    spec = t.CertificateSpec(common_name=name, is_ca=True, subject=t.X509Subject(organizations=("issuer tests",)))
    res = self_signed(spec, key)
    pair = ca.load_ca_keypair(res.cert_pem_chain, keys.encode(key), None, NOW)
    return pair, res.ca_pem


def issue_from(
    pair: ca.CAKeyPair, spec: t.CertificateSpec, key: keys.PrivateKey | None = None, now: dt.datetime = NOW
) -> Issued:
    key = key or keys.generate(defaults_private_key(spec))
    return Issued(key, sign.sign_with_ca(csr.build(spec, key), request_spec_for(spec), pair, now))


def defaults_private_key(spec: t.CertificateSpec) -> t.CertificatePrivateKey:
    return spec.private_key or t.CertificatePrivateKey(algorithm="ECDSA")
