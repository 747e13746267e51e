"""The certificate template: what will be issued for a CSR under a CertificateRequest spec.

As cert-manager's `CertificateTemplateFromCertificateRequest` (inventory §5.2): the CSR's subject (raw) and
SANs (critical iff the subject is empty) and NameConstraints; KeyUsage/ExtendedKeyUsage from spec.usages
(defaults when empty, "cert sign" for a CA), refused when the CSR carries usages that differ;
BasicConstraints forced to spec.isCA (a CSR saying otherwise is refused); notBefore = now (no backdating),
notAfter = now + spec.duration (90 days by default); a random 128-bit serial. Used by sign.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt

from cryptography import x509

from issuer.api import defaults
from issuer.api import types as t
from issuer.pki import csr as csr_mod
from issuer.pki import keys, usages
from issuer.pki.errors import PKIError


@dataclasses.dataclass(frozen=True)
class Template:
    subject: x509.Name
    public_key: keys.PublicKey
    serial_number: int
    not_before: _dt.datetime
    not_after: _dt.datetime
    is_ca: bool
    usages: usages.Usages
    alt_names: x509.SubjectAlternativeName | None = None
    name_constraints: x509.Extension[x509.NameConstraints] | None = None

    @property
    def alt_names_critical(self) -> bool:
        return len(self.subject) == 0


def from_request(
    request: x509.CertificateSigningRequest | bytes, request_spec: t.CertificateRequestSpec, now: _dt.datetime
) -> Template:
    """The template for a CSR and its CertificateRequest spec; PKIError if they disagree.

    PEM is loaded with `csr.load`, which checks the signature (once per content). An object must come from
    `csr.load` or `csr.build`, so its signature is not checked again (a check costs more than the signing)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    csr = csr_mod.load(request) if isinstance(request, bytes | bytearray) else request
    found = csr_mod.facts(csr)
    ca = found.is_ca
    if ca is not None and ca != request_spec.is_ca:
        raise PKIError(
            f"encoded CSR error: IsCA {str(ca).lower()} does not match expected value {str(request_spec.is_ca).lower()}"
        )
    wanted = usages.from_spec(defaults.usages(request_spec), request_spec.is_ca)
    have = found.usages
    if have is not None and not have.same_as(wanted):
        raise PKIError(usages.mismatch_message(have, wanted))
    public_key = found.public_key
    if not keys.algorithm_of(public_key):
        raise PKIError(f"unsupported public key type {type(public_key).__name__} in certificate request")
    not_before = now.astimezone(_dt.UTC).replace(microsecond=0)
    return Template(
        subject=found.subject,
        public_key=public_key,  # type: ignore[arg-type]  # checked by algorithm_of above
        serial_number=x509.random_serial_number(),
        not_before=not_before,
        not_after=not_before + defaults.duration(request_spec),
        is_ca=request_spec.is_ca,
        usages=wanted,
        alt_names=found.alt_names,
        name_constraints=found.name_constraints,
    )
