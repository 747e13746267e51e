"""The CA issuer's key pair: load and vet `tls.crt`, `tls.key` (and optional `ca.crt`) of its Secret.

cert-manager's CA setup reports `ErrGetKeyPair` when the Secret's data cannot be read and
`ErrInvalidKeyPair` when the first certificate is not a CA. We also refuse, with `ErrInvalidKeyPair`, a
key that does not match the first certificate (cert-manager only finds out at signing time) and an
expired CA. The error's `reason` carries the reason string. Called by the CA signer and the Issuer
readiness controller; `now` comes from the caller.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt

from cryptography import x509

from issuer.api import constants as c
from issuer.pki import chain, keys
from issuer.pki.errors import MAX_BUNDLE_PEM_SIZE, MAX_CHAIN_PEM_SIZE, PKIError

ERR_GET_KEY_PAIR = c.REASON_ERR_GET_KEY_PAIR
ERR_INVALID_KEY_PAIR = c.REASON_ERR_INVALID_KEY_PAIR


@dataclasses.dataclass(frozen=True)
class CAKeyPair:
    """A vetted CA: its certificate (first of tls.crt), key, the rest of tls.crt and the certs of ca.crt."""

    certificate: x509.Certificate
    key: keys.PrivateKey = dataclasses.field(repr=False)
    chain: tuple[x509.Certificate, ...] = ()
    extra_ca: tuple[x509.Certificate, ...] = ()


def load_ca_keypair(tls_crt: bytes, tls_key: bytes, ca_crt: bytes | None, now: _dt.datetime) -> CAKeyPair:
    """The CA key pair from a Secret's data; PKIError (with `.reason`) explaining what is wrong."""
    try:
        certs = chain.load_certificates(tls_crt, MAX_CHAIN_PEM_SIZE, "tls.crt")
    except PKIError as err:
        raise PKIError(f"Error getting keypair for CA issuer: {err}", ERR_GET_KEY_PAIR) from None
    try:
        key = keys.load(tls_key)
    except PKIError as err:
        raise PKIError(f"Error getting keypair for CA issuer: tls.key: {err}", ERR_GET_KEY_PAIR) from None
    extra: list[x509.Certificate] = []
    if ca_crt:
        try:
            extra = chain.load_certificates(ca_crt, MAX_BUNDLE_PEM_SIZE, "ca.crt")
        except PKIError as err:
            raise PKIError(f"Error getting keypair for CA issuer: {err}", ERR_GET_KEY_PAIR) from None
    cert = certs[0]
    subject = cert.subject.rfc4514_string() or "<empty subject>"
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = bc.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise PKIError(
            f"certificate {subject!r} in tls.crt is not a CA (no basicConstraints CA:TRUE)", ERR_INVALID_KEY_PAIR
        )
    try:
        cert_key = chain.public_key(cert)
    except PKIError as err:
        raise PKIError(f"tls.crt: {err}", ERR_INVALID_KEY_PAIR) from None
    if not keys.public_keys_equal(key, cert_key):
        raise PKIError(f"the private key does not match the certificate in tls.crt ({subject!r})", ERR_INVALID_KEY_PAIR)
    pair = CAKeyPair(certificate=cert, key=key, chain=tuple(certs[1:]), extra_ca=tuple(extra))
    check_not_expired(pair, now)
    return pair


def check_not_expired(pair: CAKeyPair, now: _dt.datetime) -> None:
    """PKIError (ErrInvalidKeyPair) when the CA certificate has expired at `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    cert = pair.certificate
    if now > cert.not_valid_after_utc:
        subject = cert.subject.rfc4514_string() or "<empty subject>"
        raise PKIError(
            f"CA certificate {subject!r} expired at {cert.not_valid_after_utc.isoformat()}", ERR_INVALID_KEY_PAIR
        )
