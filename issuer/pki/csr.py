"""Certificate signing requests: build one from a Certificate spec, load one, and compare it with specs.

`build` is what cert-manager's request manager does (`pkg/util/pki/csr.go` GenerateCSR): subject, SANs
(critical iff the subject is empty), KeyUsage (critical) and ExtendedKeyUsage when encodeUsagesInRequest
(default true), BasicConstraints(CA) when isCA, NameConstraints, signed with spec.signatureAlgorithm or the
key's default. `check_against_request_spec` is the webhook's CSR-vs-CertificateRequest consistency check;
`matches_certificate_spec` feeds the RequestChanged policy. Callers: the request manager, the CLI, signers.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import ipaddress
import warnings

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID

from issuer.api import defaults
from issuer.api import types as t
from issuer.api.model import Violation, invalid
from issuer.pki import keys, memo, names, pem, usages
from issuer.pki.errors import MAX_CERTIFICATE_PEM_SIZE, PKIError

_CA = x509.BasicConstraints(ca=True, path_length=None)


def build(cert_spec: t.CertificateSpec, key: keys.PrivateKey) -> x509.CertificateSigningRequest:
    """The CSR cert-manager would send for this Certificate spec, signed by `key`."""
    subject = names.subject_from_spec(cert_spec)
    alt_names = names.alt_names_from_spec(cert_spec)
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    try:
        san = x509.SubjectAlternativeName(alt_names) if alt_names else None
        if san is not None:
            builder = builder.add_extension(san, critical=len(subject) == 0)
        encoded_usages: usages.Usages | None = None
        if defaults.encode_usages_in_request(cert_spec):
            wanted = usages.from_spec(defaults.usages(cert_spec), cert_spec.is_ca)
            ku = wanted.key_usage_extension()
            if ku is not None:
                builder = builder.add_extension(ku, critical=True)
            eku = wanted.extended_key_usage_extension()
            if eku is not None:
                builder = builder.add_extension(eku, critical=False)
            if ku is not None or eku is not None:
                encoded_usages = wanted
        if cert_spec.is_ca:
            builder = builder.add_extension(_CA, critical=True)
        encoded_nc: x509.Extension[x509.NameConstraints] | None = None
        if cert_spec.name_constraints is not None:
            nc = names.name_constraints_from_spec(cert_spec.name_constraints)
            if nc is not None:
                critical = cert_spec.name_constraints.critical
                builder = builder.add_extension(nc, critical=critical)
                encoded_nc = x509.Extension(ExtensionOID.NAME_CONSTRAINTS, critical, nc)
        csr = builder.sign(keys.check_supported(key), keys.signature_hash(key, cert_spec.signature_algorithm))
    except PKIError:
        raise
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise PKIError(
            f"cannot build the certificate request: {str(err).splitlines()[0] if str(err) else err!r}"
        ) from None
    # What a reader would find in it is known: remembered, so that signing does not read it back.
    _FACTS.put(csr, Facts(
        subject=subject,
        public_key=key.public_key(),
        is_ca=True if cert_spec.is_ca else None,
        usages=encoded_usages,
        alt_names=san,
        name_constraints=encoded_nc,
    ))
    return csr


@dataclasses.dataclass(frozen=True)
class Facts:
    """What the certificate template takes from a CSR (see template.from_request)."""

    subject: x509.Name
    public_key: object  # the subject's public key (vetted by the template)
    is_ca: bool | None  # BasicConstraints' CA flag, None without the extension
    usages: usages.Usages | None  # KeyUsage and ExtendedKeyUsage, None without both
    alt_names: x509.SubjectAlternativeName | None
    name_constraints: x509.Extension[x509.NameConstraints] | None


def facts(csr: x509.CertificateSigningRequest) -> Facts:
    """The CSR's `Facts`: remembered for CSRs `build` made (and any equal one), read from the CSR otherwise."""
    found = _FACTS.get(csr)
    if found is None:
        found = read_facts(csr)
        _FACTS.put(csr, found)
    return found


def read_facts(csr: x509.CertificateSigningRequest) -> Facts:
    """The CSR's `Facts`, read from its extensions."""
    extensions = csr.extensions
    san: x509.SubjectAlternativeName | None = None
    try:
        value = extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
        assert isinstance(value, x509.SubjectAlternativeName)
        san = value
    except x509.ExtensionNotFound:
        pass
    nc: x509.Extension[x509.NameConstraints] | None = None
    with contextlib.suppress(x509.ExtensionNotFound):
        nc = extensions.get_extension_for_class(x509.NameConstraints)
    return Facts(
        subject=csr.subject,
        public_key=csr.public_key(),
        is_ca=basic_constraints_ca(csr),
        usages=usages.from_extensions(extensions),
        alt_names=san,
        name_constraints=nc,
    )


# Keyed by the CSR object (hashed and compared by its DER, cheaply).
_FACTS: memo.Memo[x509.CertificateSigningRequest, Facts] = memo.Memo(512)


def pem_bytes(csr: x509.CertificateSigningRequest) -> bytes:
    """PEM (`CERTIFICATE REQUEST`) of a CSR (remembered as parsed: `load` of these bytes is free)."""
    data = csr.public_bytes(serialization.Encoding.PEM)
    _PARSED.put(data, csr)
    return data


_PARSED: memo.BytesMemo[x509.CertificateSigningRequest] = memo.BytesMemo(512)


def load(data: bytes) -> x509.CertificateSigningRequest:
    """The first PEM CSR in `data`, fully parsed and signature-checked; PKIError otherwise.

    Parsed CSRs are kept in a small cache keyed by their bytes: a request's CSR is read by the request
    manager, the signer and the policies, and parsing plus signature checking costs more than signing."""
    data = bytes(data)
    cached = _PARSED.get(data)
    if cached is None:
        cached = _load(data)
        _PARSED.put(data, cached)
    return cached


def _load(data: bytes) -> x509.CertificateSigningRequest:
    kind, der = pem.blocks(data, MAX_CERTIFICATE_PEM_SIZE, "certificate request")[0]
    if kind not in ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"):
        raise PKIError(f"certificate request: expected a CERTIFICATE REQUEST PEM block, found {kind!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            csr = x509.load_der_x509_csr(der)
            # cryptography parses lazily: touch everything now so later reads cannot fail.
            _ = csr.subject.rfc4514_string(), list(csr.extensions), csr.attributes
            public_key = csr.public_key()
            valid = csr.is_signature_valid
    except pem.PARSE_ERRORS:
        raise PKIError("certificate request is not a valid PKCS#10 CSR") from None
    if not keys.algorithm_of(public_key):
        raise PKIError(f"certificate request has an unsupported public key type ({type(public_key).__name__})")
    if not valid:
        raise PKIError("certificate request signature is invalid")
    return csr


def _as_csr(csr: x509.CertificateSigningRequest | bytes) -> x509.CertificateSigningRequest:
    return load(csr) if isinstance(csr, bytes | bytearray) else csr


def basic_constraints_ca(csr: x509.CertificateSigningRequest | x509.Certificate) -> bool | None:
    """The CA flag of BasicConstraints, None when the extension is absent."""
    try:
        bc = csr.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value
    except x509.ExtensionNotFound:
        return None
    assert isinstance(bc, x509.BasicConstraints)
    return bc.ca


_DEFAULT_USAGES = ("digital signature", "key encipherment")


def check_against_request_spec(csr_pem: bytes, cr_spec: t.CertificateRequestSpec, *, strict: bool = False) -> list[str]:
    """Problems between spec.request and the rest of a CertificateRequest spec, as "spec.request: ..." lines.

    Default: exactly the admission webhook's rule (ValidateCertificateRequestSpec), so we reject no request
    cert-manager admits: usages are compared only when spec.usages is set and is not the default pair
    ["digital signature", "key encipherment"], and the CSR carries KeyUsage/ExtKeyUsage; "cert sign" is
    implied by isCA; a CSR asking for exactly the default pair always passes. The webhook does not look at
    basicConstraints: a CSR whose CA flag contradicts spec.isCA fails later, at signing (template.py).

    `strict=True` applies the signing-time rule up front instead: basicConstraints (when present) must say
    spec.isCA, and KeyUsage/ExtKeyUsage (when present) must equal spec.usages (defaults when empty) plus
    "cert sign" for a CA.
    """
    try:
        csr = load(csr_pem)
    except PKIError as err:
        return [f"spec.request: failed to decode csr: {err}"]
    if strict:
        return _strict_problems(csr, cr_spec)
    spec_usages = list(cr_spec.usages)
    if not spec_usages or tuple(spec_usages) == _DEFAULT_USAGES or len(csr.extensions) == 0:
        return []
    if cr_spec.is_ca and "cert sign" not in spec_usages:
        spec_usages.append("cert sign")
    have = usages.from_extensions(csr.extensions)
    if have is None:
        return []
    csr_names = frozenset(n for n in have.names() if n in usages.BIT_NAMES.values() or n in usages.EXTENDED_KEY_USAGES)
    if not csr_names:
        return []
    if csr_names in (usages.canonical(spec_usages), frozenset(_DEFAULT_USAGES)):
        return []
    return [
        "spec.request: csr key usages do not match specified usages, these should match if both are set: "
        f"csr has [{', '.join(sorted(csr_names))}], spec has [{', '.join(sorted(usages.canonical(spec_usages)))}]"
    ]


def request_violations(csr_pem: bytes, cr_spec: t.CertificateRequestSpec) -> list[Violation]:
    """`check_against_request_spec` as field violations: the `csr_checker` for api.validation."""
    return [
        invalid("spec.request", "<snip>", problem.removeprefix("spec.request: "))
        for problem in check_against_request_spec(csr_pem, cr_spec)
    ]


def _strict_problems(csr: x509.CertificateSigningRequest, cr_spec: t.CertificateRequestSpec) -> list[str]:
    problems: list[str] = []
    ca = basic_constraints_ca(csr)
    if ca is not None and ca != cr_spec.is_ca:
        problems.append(
            f"spec.request: encoded CSR error: IsCA {str(ca).lower()} does not match expected value "
            f"{str(cr_spec.is_ca).lower()}"
        )
    try:
        want = usages.from_spec(defaults.usages(cr_spec), cr_spec.is_ca)
    except PKIError as err:
        return [*problems, f"spec.usages: {err}"]
    have = usages.from_extensions(csr.extensions)
    if have is not None and not have.same_as(want):
        problems.append(f"spec.request: {usages.mismatch_message(have, want)}")
    return problems


def _multiset(values: tuple[str, ...] | list[str]) -> collections.Counter[str]:
    return collections.Counter(values)


def _ips(values: tuple[str, ...]) -> collections.Counter[str]:
    out: list[str] = []
    for v in values:
        try:
            out.append(names.format_ip(ipaddress.ip_address(v)))
        except ValueError:
            out.append(v)
    return collections.Counter(out)


def matches_certificate_spec(csr: x509.CertificateSigningRequest | bytes, cert_spec: t.CertificateSpec) -> list[str]:
    """Field paths of `cert_spec` the CSR no longer reflects (cert-manager's RequestMatchesSpec, CSR side).

    Lists compare unordered. Usages are compared only when the CSR carries KeyUsage/ExtendedKeyUsage
    (with encodeUsagesInRequest=false they live only in the CertificateRequest spec). isCA compares the
    CSR's BasicConstraints (absent means false).
    """
    request = _as_csr(csr)
    diffs: list[str] = []
    if cert_spec.literal_subject:
        try:
            want_subject = names.parse_literal_subject(cert_spec.literal_subject)
        except PKIError:
            diffs.append("spec.literalSubject")
        else:
            if want_subject.public_bytes() != request.subject.public_bytes():
                diffs.append("spec.literalSubject")
    else:
        have = names.read_subject(request.subject)
        subj = cert_spec.subject or t.X509Subject()
        if have.common_name != cert_spec.common_name:
            diffs.append("spec.commonName")
        for field, wire_name in (
            ("organizations", "organizations"),
            ("countries", "countries"),
            ("organizational_units", "organizationalUnits"),
            ("localities", "localities"),
            ("provinces", "provinces"),
            ("street_addresses", "streetAddresses"),
            ("postal_codes", "postalCodes"),
        ):
            if _multiset(getattr(have, field)) != _multiset([v for v in getattr(subj, field) if v]):
                diffs.append(f"spec.subject.{wire_name}")
        if have.serial_number != subj.serial_number:
            diffs.append("spec.subject.serialNumber")
    sans = names.read_alt_names(request.extensions)
    if _multiset(sans.dns_names) != _multiset(cert_spec.dns_names):
        diffs.append("spec.dnsNames")
    if _ips(sans.ip_addresses) != _ips(cert_spec.ip_addresses):
        diffs.append("spec.ipAddresses")
    if _multiset(sans.uris) != _multiset(cert_spec.uris):
        diffs.append("spec.uris")
    if _multiset(sans.email_addresses) != _multiset(cert_spec.email_addresses):
        diffs.append("spec.emailAddresses")
    want_others = collections.Counter((o.oid, o.utf8_value) for o in cert_spec.other_names)
    if collections.Counter(sans.other_names) != want_others:
        diffs.append("spec.otherNames")
    if bool(basic_constraints_ca(request)) != cert_spec.is_ca:
        diffs.append("spec.isCA")
    have_usages = usages.from_extensions(request.extensions)
    if have_usages is not None:
        try:
            want_usages = usages.from_spec(defaults.usages(cert_spec), cert_spec.is_ca)
        except PKIError:
            diffs.append("spec.usages")
        else:
            if not have_usages.same_as(want_usages):
                diffs.append("spec.usages")
    return diffs
