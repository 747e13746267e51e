"""Certificates and chains: load PEM bundles, order them leaf -> root, split chain from CA, encode back.

`order` has cert-manager's `ParseSingleCertificateChain` semantics: duplicates are dropped, the input may be
in any order, and the certificates must form exactly one chain (each linked to the next by issuer name and
a verifying signature) or PKIError "certificate chain is malformed or broken". `split_ca` then gives
what a CertificateRequest's status carries: the chain without a self-signed root, and the root-most cert.
Used by the CA issuer, the signers, the Secret writer and the CLI.
"""

from __future__ import annotations

import functools
import itertools
import warnings

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from issuer.pki import keys, memo, pem
from issuer.pki.errors import MAX_CERTIFICATE_PEM_SIZE, MAX_CHAIN_PEM_SIZE, PKIError


def _load_der(der: bytes, what: str) -> x509.Certificate:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cert = x509.load_der_x509_certificate(der)
            # cryptography parses lazily: touch every part now so later reads cannot fail.
            _ = cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), list(cert.extensions)
            _ = cert.serial_number, cert.not_valid_before_utc, cert.not_valid_after_utc
            # public_key() is not touched: like Go, a certificate with an unknown key algorithm still loads
            # (a foreign root in a bundle must not spoil it); public_key() below refuses it where it matters.
    except pem.PARSE_ERRORS:
        raise PKIError(f"{what} contains a PEM CERTIFICATE block that is not a valid X.509 certificate") from None
    return cert


def load_certificates(
    data: bytes, limit: int = MAX_CHAIN_PEM_SIZE, what: str = "certificate chain"
) -> list[x509.Certificate]:
    """Every CERTIFICATE block in `data`, in file order; other PEM block types are ignored (as Go does)."""
    pem.check_size(data, limit, what)
    key = bytes(data)
    cached = _PARSED.get(key)
    if cached is not None:
        return list(cached)
    certs = [_load_der(der, what) for kind, der in pem.blocks(data, limit, what) if kind == "CERTIFICATE"]
    if not certs:
        raise PKIError(f"{what}: no CERTIFICATE PEM block was found")
    _PARSED.put(key, tuple(certs))
    return certs


_PARSED: memo.BytesMemo[tuple[x509.Certificate, ...]] = memo.BytesMemo(512)


def load_certificate(data: bytes, what: str = "certificate") -> x509.Certificate:
    """The first certificate of a PEM (single-certificate size cap)."""
    return load_certificates(data, MAX_CERTIFICATE_PEM_SIZE, what)[0]


def public_key(cert: x509.Certificate) -> keys.PublicKey:
    """The certificate's public key; PKIError when Go's x509 could not sign with or for it."""
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        key = None
    if not keys.algorithm_of(key):
        subject = cert.subject.rfc4514_string() or "<empty subject>"
        raise PKIError(f"certificate {subject!r} has an unsupported public key algorithm")
    return key  # type: ignore[return-value]  # algorithm_of vouched for the type


def encode(
    certs: list[x509.Certificate] | tuple[x509.Certificate, ...],
    tail: tuple[x509.Certificate, ...] = (),
    tail_pem: bytes = b"",
) -> bytes:
    """Concatenated PEM blocks of `certs` then `tail` (whose PEM the caller has: `tail_pem`, encoded by this
    function earlier); remembered as parsed: `load_certificates` of these bytes is free."""
    data = b"".join([*(cert.public_bytes(serialization.Encoding.PEM) for cert in certs), tail_pem])
    if certs or tail:
        _PARSED.put(data, (*certs, *tail))
    return data


def issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """True when `parent`'s subject is `child`'s issuer and `parent`'s key verifies `child`'s signature."""
    if child.issuer != parent.subject:
        return False
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def is_self_signed(cert: x509.Certificate) -> bool:
    """Subject == issuer and the certificate's own key verifies it."""
    return cert.issuer == cert.subject and _verifies_itself(cert)


@functools.lru_cache(maxsize=256)
def _verifies_itself(cert: x509.Certificate) -> bool:
    """Memoised: the same root certificates come back on every signing."""
    return issued_by(cert, cert)


def _dedupe(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    seen: set[bytes] = set()
    out = []
    for cert in certs:
        der = cert.public_bytes(serialization.Encoding.DER)
        if der not in seen:
            seen.add(der)
            out.append(cert)
    return out


def order(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    """The certificates as one chain, leaf first; PKIError if they do not form exactly one chain."""
    unique = _dedupe(list(certs))
    if not unique:
        raise PKIError("certificate chain is empty")
    # fast path: already in order (the usual case), each certificate issued by the next
    if all(not is_self_signed(a) and issued_by(a, b) for a, b in itertools.pairwise(unique)):
        return unique
    chains = [[cert] for cert in unique]
    while len(chains) > 1:
        merged = False
        for i, head in enumerate(chains):
            for j, tail in enumerate(chains):
                if i != j and not is_self_signed(head[-1]) and issued_by(head[-1], tail[0]):
                    chains[i] = head + tail
                    del chains[j]
                    merged = True
                    break
            if merged:
                break
        if not merged:
            raise PKIError("certificate chain is malformed or broken")
    return chains[0]


def extend(ordered: list[x509.Certificate], pool: list[x509.Certificate]) -> list[x509.Certificate]:
    """`ordered` extended upwards with certificates from `pool` that issued its top, until a root or none fits.

    For the CA issuer Secret's `ca.crt`: certificates that do not extend the chain are ignored.
    """
    out = list(ordered)
    candidates = _dedupe([c for c in pool if c not in out])
    while out and not is_self_signed(out[-1]):
        parent = next((c for c in candidates if issued_by(out[-1], c)), None)
        if parent is None:
            break
        out.append(parent)
        candidates.remove(parent)
    return out


def split_ca(ordered: list[x509.Certificate]) -> tuple[list[x509.Certificate], x509.Certificate]:
    """(chain for status.certificate, cert for status.ca) from a leaf-first chain.

    One certificate: itself for both. Otherwise the self-signed root is removed from the chain and becomes
    the CA; without a root the chain stays whole and its highest certificate is the CA.
    """
    if not ordered:
        raise PKIError("certificate chain is empty")
    if len(ordered) > 1 and is_self_signed(ordered[-1]):
        return ordered[:-1], ordered[-1]
    return list(ordered), ordered[-1]


def root_most(certs: list[x509.Certificate]) -> x509.Certificate:
    """The highest certificate of the chain the certificates form."""
    return order(certs)[-1]
