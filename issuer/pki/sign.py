"""Signing: turn a CSR + CertificateRequest spec into a certificate, self-signed or by a CA key pair.

The certificate is the template (see template.py) plus what the signer adds: issuer name, SubjectKeyIdentifier
from the public key, AuthorityKeyIdentifier from the issuer's SKI (self-signed: its own SKI),
BasicConstraints(CA=spec.isCA) critical with no path length, KeyUsage critical, CRL distribution points,
and for CA issuers OCSP servers and issuing-certificate URLs (AIA). The signature algorithm follows the
*signer* key (RSA >= 4096 SHA-512, >= 3072 SHA-384, else SHA-256; P-521/384/256 ECDSA-SHA512/384/256;
Ed25519 pure). KeyUsage bits RFC 5480/8410 forbid for the subject key (keyEncipherment on EC/Ed25519,
which cert-manager's default usages ask for) are dropped: a deliberate deviation keeping RFC 5280 lints
clean. The results are what the SelfSigned and CA signers put in status.certificate / status.ca.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509.oid import AuthorityInformationAccessOID

from issuer.api import types as t
from issuer.pki import ca as ca_mod
from issuer.pki import chain, keys, names, template
from issuer.pki import csr as csr_mod
from issuer.pki.errors import PKIError

ERROR_KEY_MATCH = "ErrorKeyMatch"


@dataclasses.dataclass(frozen=True)
class SignResult:
    """status.certificate (leaf first, PEM) and status.ca (PEM), plus the parsed leaf."""

    cert_pem_chain: bytes
    ca_pem: bytes
    leaf: x509.Certificate = dataclasses.field(repr=False, compare=False)


def sign_self_signed(
    csr: x509.CertificateSigningRequest | bytes,
    key: keys.PrivateKey,
    request_spec: t.CertificateRequestSpec,
    now: _dt.datetime,
    crl_distribution_points: Sequence[str] = (),
) -> SignResult:
    """A certificate for the CSR signed by its own key; ca.crt is the certificate itself.

    PKIError with reason ErrorKeyMatch when the CSR's public key is not `key`'s.
    """
    tmpl = template.from_request(csr, request_spec, now)
    if not keys.public_keys_equal(tmpl.public_key, key):
        raise PKIError("the private key does not match the certificate request's public key", ERROR_KEY_MATCH)
    ski = x509.SubjectKeyIdentifier.from_public_key(tmpl.public_key)
    aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    leaf = build_certificate(tmpl, tmpl.subject, key, aki, crl=crl_distribution_points)
    pem_leaf = chain.encode([leaf])
    return SignResult(cert_pem_chain=pem_leaf, ca_pem=pem_leaf, leaf=leaf)


def sign_with_ca(
    csr: x509.CertificateSigningRequest | bytes,
    request_spec: t.CertificateRequestSpec,
    ca: ca_mod.CAKeyPair,
    now: _dt.datetime,
    *,
    crl: Sequence[str] = (),
    ocsp: Sequence[str] = (),
    issuing_urls: Sequence[str] = (),
) -> SignResult:
    """A certificate for the CSR signed by the CA; status.certificate = leaf + CA chain minus a self-signed
    root, status.ca = the root-most certificate (from tls.crt, extended with matching ca.crt certificates)."""
    tmpl = template.from_request(csr, request_spec, now)
    aki, above_leaf, above_pem, root_pem = _ca_parts(ca)
    leaf = build_certificate(tmpl, ca.certificate.subject, ca.key, aki, crl=crl, ocsp=ocsp, issuing_urls=issuing_urls)
    return SignResult(cert_pem_chain=chain.encode([leaf], above_leaf, above_pem), ca_pem=root_pem, leaf=leaf)


@functools.lru_cache(maxsize=128)
def _ca_parts(
    ca: ca_mod.CAKeyPair,
) -> tuple[x509.AuthorityKeyIdentifier, tuple[x509.Certificate, ...], bytes, bytes]:
    """What every certificate signed by `ca` shares, worked out once per CA: the AKI, the chain above the
    leaf (the CA chain minus a self-signed root) and its PEM, and the PEM of status.ca (the root-most)."""
    try:
        issuer_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.certificate.public_key())  # type: ignore[arg-type]
    ordered = chain.extend(chain.order([ca.certificate, *ca.chain]), list(ca.extra_ca))
    root = ordered[-1]
    above = ordered[:-1] if chain.is_self_signed(root) else ordered
    return aki, tuple(above), chain.encode(above), chain.encode([root])


TEMPORARY_CA_COMMON_NAME = "cert-manager.local"
TEMPORARY_SERIAL_NUMBER = "1234567890"


def temporary_certificate(cert_spec: t.CertificateSpec, key: keys.PrivateKey, now: _dt.datetime) -> bytes:
    """The placeholder certificate for `cert-manager.io/issue-temporary-certificate: "true"` (PEM, leaf only).

    As cert-manager's GenerateLocallySignedTemporaryCertificate: signed by a throwaway ECDSA P-521 CA named
    `cert-manager.local`, for the spec's names and the next private key, subject serialNumber 1234567890.
    """
    ca_key = keys.generate(t.CertificatePrivateKey(algorithm="ECDSA", size=521))
    ca_spec = t.CertificateSpec(common_name=TEMPORARY_CA_COMMON_NAME, is_ca=True)
    ca_result = sign_self_signed(csr_mod.build(ca_spec, ca_key), ca_key, t.CertificateRequestSpec(is_ca=True), now)
    spec = cert_spec
    if not spec.literal_subject:
        subject = dataclasses.replace(spec.subject or t.X509Subject(), serial_number=TEMPORARY_SERIAL_NUMBER)
        spec = dataclasses.replace(spec, subject=subject)
    request_spec = t.CertificateRequestSpec(duration=spec.duration, is_ca=spec.is_ca, usages=spec.usages)
    tmpl = template.from_request(csr_mod.build(spec, key), request_spec, now)
    ski = ca_result.leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    return chain.encode([build_certificate(tmpl, ca_result.leaf.subject, ca_key, aki)])


def build_certificate(
    tmpl: template.Template,
    issuer: x509.Name,
    signer: keys.PrivateKey,
    aki: x509.AuthorityKeyIdentifier,
    *,
    crl: Sequence[str] = (),
    ocsp: Sequence[str] = (),
    issuing_urls: Sequence[str] = (),
) -> x509.Certificate:
    """Sign the template with `signer` as `issuer`."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(tmpl.subject)
        .issuer_name(issuer)
        .public_key(tmpl.public_key)
        .serial_number(tmpl.serial_number)
        .not_valid_before(tmpl.not_before)
        .not_valid_after(tmpl.not_after)
        .add_extension(x509.BasicConstraints(ca=tmpl.is_ca, path_length=None), critical=True)
    )
    try:
        final_usages = tmpl.usages.for_key(tmpl.public_key)
        ku = final_usages.key_usage_extension()
        if ku is not None:
            builder = builder.add_extension(ku, critical=True)
        eku = final_usages.extended_key_usage_extension()
        if eku is not None:
            builder = builder.add_extension(eku, critical=False)
        if tmpl.alt_names is not None:
            builder = builder.add_extension(tmpl.alt_names, critical=tmpl.alt_names_critical)
        if tmpl.name_constraints is not None:
            builder = builder.add_extension(tmpl.name_constraints.value, critical=tmpl.name_constraints.critical)
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(tmpl.public_key), critical=False)
        builder = builder.add_extension(aki, critical=False)
        if crl:
            points = [x509.DistributionPoint([x509.UniformResourceIdentifier(u)], None, None, None) for u in crl]
            builder = builder.add_extension(x509.CRLDistributionPoints(points), critical=False)
        access = [
            x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(u)) for u in ocsp
        ]
        access += [
            x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(u))
            for u in issuing_urls
        ]
        if access:
            builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
        leaf = builder.sign(signer, keys.signature_hash(signer))
    except PKIError:
        raise
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise PKIError(f"cannot sign the certificate: {text}") from None
    names.remember_certificate(leaf, tmpl.subject, tmpl.alt_names, tmpl.alt_names_critical)
    return leaf
