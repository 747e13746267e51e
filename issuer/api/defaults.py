"""cert-manager's defaults, applied where they are used rather than written back.

cert-manager defaults most fields in the controller at runtime (the stored object may keep an empty
kind, group or privateKey), so these are small functions over the typed views: the pure core calls
them instead of repeating "RSA unless said otherwise" in many places.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt

from issuer.api import constants as c
from issuer.api import duration as _duration
from issuer.api import types as t


def issuer_ref(ref: t.IssuerRef) -> t.IssuerRef:
    """kind defaults to Issuer and group to cert-manager.io (pkg/api/util/issuers.go)."""
    return t.IssuerRef(name=ref.name, kind=ref.kind or c.ISSUER, group=ref.group or c.GROUP)


def issuer_refs_equal(a: t.IssuerRef, b: t.IssuerRef) -> bool:
    return issuer_ref(a) == issuer_ref(b)


def private_key(spec: t.CertificateSpec) -> t.CertificatePrivateKey:
    """Algorithm RSA, size 2048 (RSA) / 256 (ECDSA) / none (Ed25519), PKCS1 (Ed25519: PKCS8), rotation Always."""
    return private_key_of(spec.private_key)


def private_key_of(pk: t.CertificatePrivateKey | None) -> t.CertificatePrivateKey:
    """`private_key` of a spec.privateKey value."""
    pk = pk or t.CertificatePrivateKey()
    algorithm = pk.algorithm or c.RSA
    size = pk.size
    if algorithm == c.RSA and not size:
        size = c.RSA_DEFAULT_SIZE
    elif algorithm == c.ECDSA and not size:
        size = c.ECDSA_DEFAULT_SIZE
    elif algorithm == c.ED25519:
        size = None
    encoding = pk.encoding or c.PKCS1
    if algorithm == c.ED25519:
        encoding = c.PKCS8
    return t.CertificatePrivateKey(
        algorithm=algorithm,
        size=size,
        encoding=encoding,
        rotation_policy=pk.rotation_policy or c.ROTATION_ALWAYS,
    )


def usages(spec: t.CertificateSpec | t.CertificateRequestSpec) -> tuple[str, ...]:
    """The requested key usages, `digital signature` + `key encipherment` when none are given."""
    return spec.usages or c.DEFAULT_USAGES


def duration(spec: t.CertificateSpec | t.CertificateRequestSpec) -> _dt.timedelta:
    """The requested lifetime: spec.duration, else 90 days. Callers validate first; a bad value means 90d."""
    if not spec.duration:
        return c.DEFAULT_DURATION
    try:
        return _duration.parse(spec.duration)
    except _duration.DurationError:
        return c.DEFAULT_DURATION


def revision_history_limit(spec: t.CertificateSpec) -> int:
    """nil means 1 in the revision manager."""
    return spec.revision_history_limit or c.DEFAULT_REVISION_HISTORY_LIMIT


def encode_usages_in_request(spec: t.CertificateSpec) -> bool:
    return True if spec.encode_usages_in_request is None else spec.encode_usages_in_request


def jks_alias(jks: t.JKSKeystore) -> str:
    return jks.alias or c.DEFAULT_JKS_ALIAS


def pkcs12_profile(p12: t.PKCS12Keystore) -> str:
    return p12.profile or "LegacyRC2"


def certificate(cert: t.Certificate) -> t.Certificate:
    """The scheme defaulting cert-manager applies on read (issuerRef kind and group only)."""
    spec = dataclasses.replace(cert.spec, issuer_ref=issuer_ref(cert.spec.issuer_ref))
    return dataclasses.replace(cert, spec=spec)
