"""Comparisons the certificate policies need, as cert-manager's `pkg/util/pki/{parse,match}.go` make them.

Safe parsing of a Secret's `tls.key` / `tls.crt` and a CertificateRequest's CSR (garbage gives a `Parsed`
carrying cert-manager's error text, never an exception), public-key equality, private key vs
`spec.privateKey`, CSR vs Certificate spec (`request_matches_spec`) and the looser leaf-vs-spec check used
when no CertificateRequest is left (`certificate_matches_spec`). Violations are the field paths cert-manager
prints, in its order; `format_violations` renders them like Go's `%v` (``[spec.dnsNames spec.commonName]``).
Called by `issuer.policies` and the certificates controllers.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import warnings
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from issuer.api import constants as c
from issuer.api import defaults, types
from issuer.api import duration as _duration
from issuer.pki import keys, memo
from issuer.pki import names as pki_names
from issuer.pki.errors import MAX_CHAIN_PEM_SIZE

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

_T = TypeVar("_T")

# Parsing is wrapped broadly: cryptography raises ValueError, TypeError, UnsupportedAlgorithm and, for lazily
# parsed extensions, more; none of it may escape into a policy check.
_PARSE_ERRORS = (Exception,)
# The policies look at a Secret's tls.key on every reconcile; an RSA key check costs about 25 ms.
_KEYS: memo.BytesMemo[PrivateKey] = memo.BytesMemo(4096)


@dataclasses.dataclass(frozen=True)
class Parsed(Generic[_T]):
    """A parse result: `value` when it worked, else None and cert-manager's `error` text."""

    value: _T | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.value is not None


def _first_pem_type(data: bytes) -> str | None:
    start = data.find(b"-----BEGIN ")
    if start < 0:
        return None
    end = data.find(b"-----", start + 11)
    if end < 0 or data.find(b"-----END ", end) < 0:
        return None
    return data[start + 11 : end].decode("ascii", "replace")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def parse_private_key(data: bytes) -> Parsed[PrivateKey]:
    """Decode a PEM private key (PKCS#1, SEC1 or PKCS#8; RSA, ECDSA or Ed25519) like `DecodePrivateKeyBytes`."""
    block = _first_pem_type(data) if isinstance(data, bytes | bytearray) else None
    if block is None:
        return Parsed(None, "error decoding private key PEM block")
    label = {
        "PRIVATE KEY": "error parsing pkcs#8 private key",
        "EC PRIVATE KEY": "error parsing ecdsa private key",
        "RSA PRIVATE KEY": "error parsing rsa private key",
    }.get(block)
    if label is None:
        return Parsed(None, f"unknown private key type: {block}")
    known = _KEYS.get(bytes(data)) or keys.ENCODED.get(bytes(data))
    if known is not None:
        return Parsed(known)
    try:
        key = serialization.load_pem_private_key(bytes(data), password=None)
    except _PARSE_ERRORS as exc:
        return Parsed(None, f"{label}: {_reason(exc)}")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        return Parsed(None, f"{label}: invalid key type")
    _KEYS.put(bytes(data), key)
    return Parsed(key)


def parse_certificates(data: bytes) -> Parsed[tuple[x509.Certificate, ...]]:
    """Decode a PEM chain (leaf first) like `DecodeX509CertificateBytes`; extensions are parsed eagerly so a
    malformed certificate is reported here rather than later."""
    if not isinstance(data, bytes | bytearray) or b"-----BEGIN CERTIFICATE-----" not in data:
        return Parsed(None, "error decoding certificate PEM block")
    if len(data) > MAX_CHAIN_PEM_SIZE:  # refused before parsing, as cert-manager does (an issuer's answer)
        return Parsed(None, f"certificate chain is {len(data)} bytes, larger than the maximum {MAX_CHAIN_PEM_SIZE} B")
    try:
        with warnings.catch_warnings():
            # cryptography warns about a CN longer than 64 characters (ACME CAs copy long names into it);
            # such a certificate is still valid for us, and a warning must not reach the operator's log
            warnings.simplefilter("ignore")
            certs = tuple(x509.load_pem_x509_certificates(bytes(data)))
            for cert in certs:
                _ = (cert.subject, cert.issuer, cert.extensions, cert.not_valid_before_utc, cert.not_valid_after_utc)
                cert.public_key()
    except _PARSE_ERRORS as exc:
        return Parsed(None, f"error parsing TLS certificate: {_reason(exc)}")
    if not certs:
        return Parsed(None, "error decoding certificate PEM block")
    return Parsed(certs)


def parse_leaf(data: bytes) -> Parsed[x509.Certificate]:
    """The first certificate of a PEM chain."""
    chain = parse_certificates(data)
    if chain.value is None:
        return Parsed(None, chain.error)
    return Parsed(chain.value[0])


def parse_csr(data: bytes) -> Parsed[x509.CertificateSigningRequest]:
    """Decode a PEM CSR like `DecodeX509CertificateRequestBytes`."""
    if not isinstance(data, bytes | bytearray) or _first_pem_type(bytes(data)) is None:
        return Parsed(None, "error decoding certificate request PEM block")
    try:
        csr = x509.load_pem_x509_csr(bytes(data))
        _ = (csr.subject, csr.extensions)
        csr.public_key()
    except _PARSE_ERRORS as exc:
        return Parsed(None, _reason(exc))
    return Parsed(csr)


def unsupported_public_key(key: object) -> str:
    """'' for the key types cert-manager compares, else its `unrecognised public key type` error."""
    if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        return ""
    return f"unrecognised public key type: {type(key).__name__}"


def public_keys_equal(a: object, b: object) -> bool:
    """Same algorithm and same key material (compared as SubjectPublicKeyInfo DER)."""
    if unsupported_public_key(a) or unsupported_public_key(b) or type(a) is not type(b):
        return False
    try:
        der = serialization.Encoding.DER
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        return bool(a.public_bytes(der, spki) == b.public_bytes(der, spki))  # type: ignore[attr-defined]
    except _PARSE_ERRORS:
        return False


def private_key_matches_spec(key: PrivateKey, spec: types.CertificateSpec) -> list[str]:
    """`PrivateKeyMatchesSpec`: ["spec.privateKey.algorithm"] or ["spec.privateKey.size"] or []."""
    wanted = defaults.private_key(spec)
    if wanted.algorithm == c.RSA:
        if not isinstance(key, rsa.RSAPrivateKey):
            return ["spec.privateKey.algorithm"]
        return [] if key.key_size == (wanted.size or c.RSA_DEFAULT_SIZE) else ["spec.privateKey.size"]
    if wanted.algorithm == c.ECDSA:
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            return ["spec.privateKey.algorithm"]
        return [] if key.curve.key_size == (wanted.size or c.ECDSA_DEFAULT_SIZE) else ["spec.privateKey.size"]
    if wanted.algorithm == c.ED25519:
        return [] if isinstance(key, ed25519.Ed25519PrivateKey) else ["spec.privateKey.algorithm"]
    return ["spec.privateKey.algorithm"]  # unknown algorithm: validation rejects it before we get here


def format_violations(violations: Sequence[str]) -> str:
    """Go's `%v` of a []string: ``[a b c]``."""
    return "[" + " ".join(violations) + "]"


# ---------------------------------------------------------------------------------------------------------
# Names


def _ip_key(value: object) -> str:
    if isinstance(value, ipaddress.IPv6Address) and value.ipv4_mapped is not None:
        return str(value.ipv4_mapped)
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    return "<nil>"


def _spec_ip_key(text: str) -> str:
    try:
        return _ip_key(ipaddress.ip_address(text))
    except ValueError:
        return "<nil>"


def _same(a: Iterable[str], b: Iterable[str]) -> bool:
    """util.EqualUnsorted: same multiset."""
    return sorted(a) == sorted(b)


@dataclasses.dataclass(frozen=True)
class _Names:
    dns: list[str]
    ips: list[str]
    uris: list[str]
    emails: list[str]


def _san_names(extensions: x509.Extensions) -> tuple[_Names, x509.SubjectAlternativeName | None]:
    try:
        san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return _Names([], [], [], []), None
    return (
        _Names(
            dns=list(san.get_values_for_type(x509.DNSName)),
            ips=[_ip_key(ip) for ip in san.get_values_for_type(x509.IPAddress)],
            uris=list(san.get_values_for_type(x509.UniformResourceIdentifier)),
            emails=list(san.get_values_for_type(x509.RFC822Name)),
        ),
        san,
    )


def _attrs(name: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in name.get_attributes_for_oid(oid)]


def _last(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    """Go's pkix.Name keeps the last CommonName / SerialNumber it sees."""
    values = _attrs(name, oid)
    return values[-1] if values else ""


class _MatchError(Exception):
    """RequestMatchesSpec could not compare (cert-manager then reports no violation)."""


def _other_names_match(san: x509.SubjectAlternativeName | None, wanted: Sequence[types.OtherName]) -> bool:
    if san is None:
        return False
    found: list[tuple[str, str]] = []
    for other in san.get_values_for_type(x509.OtherName):
        text = pki_names.decode_utf8_string_der(other.value)
        if text is None:
            raise _MatchError("otherName is not an utf8 value")
        found.append((other.type_id.dotted_string, text))
    return sorted(found) == sorted((o.oid, o.utf8_value) for o in wanted)


def literal_subject_rdns(text: str) -> list[frozenset[tuple[str, str]]]:
    """An RFC 4514 subject as its RDN sequence (first RDN = the right-most in the string), each RDN a set of
    (dotted OID, value), parsed as the CSR builder parses it (`pki_names.parse_literal_subject`).
    Raises PKIError when the string does not parse."""
    return _rdns(pki_names.parse_literal_subject(text))


def _rdns(name: x509.Name) -> list[frozenset[tuple[str, str]]]:
    return [frozenset((a.oid.dotted_string, str(a.value)) for a in rdn) for rdn in name.rdns]


def _durations_differ(a: str, b: str) -> bool:
    try:
        return _duration.parse(a) != _duration.parse(b)
    except _duration.DurationError:
        return a != b


def request_matches_spec(request: types.CertificateRequest, spec: types.CertificateSpec) -> Parsed[list[str]]:
    """`RequestMatchesSpec`: the Certificate fields the CR's CSR and spec no longer match, in cert-manager's
    order. `error` is set (value None) when the CSR or a name in it cannot be decoded; cert-manager then
    does not re-issue on that ground."""
    csr = parse_csr(request.spec.request)
    if csr.value is None:
        return Parsed(None, csr.error)
    try:
        return Parsed(_request_violations(csr.value, request.spec, spec))
    except _MatchError as exc:
        return Parsed(None, str(exc))
    except _PARSE_ERRORS as exc:
        return Parsed(None, _reason(exc))


def _request_violations(
    csr: x509.CertificateSigningRequest, req: types.CertificateRequestSpec, spec: types.CertificateSpec
) -> list[str]:
    names, san = _san_names(csr.extensions)
    subject = spec.subject or types.X509Subject()
    violations: list[str] = []
    if not _same(names.ips, [_spec_ip_key(ip) for ip in spec.ip_addresses]):
        violations.append("spec.ipAddresses")
    if not _same(names.uris, spec.uris):
        violations.append("spec.uris")
    if not _same(names.emails, spec.email_addresses):
        violations.append("spec.emailAddresses")
    if not _same(names.dns, spec.dns_names):
        violations.append("spec.dnsNames")
    if spec.other_names and not _other_names_match(san, spec.other_names):
        violations.append("spec.otherNames")
    if not spec.literal_subject:
        name = csr.subject
        if _last(name, NameOID.COMMON_NAME) != spec.common_name:
            violations.append("spec.commonName")
        if _last(name, NameOID.SERIAL_NUMBER) != subject.serial_number:
            violations.append("spec.subject.serialNumber")
        checks = (
            (NameOID.ORGANIZATION_NAME, subject.organizations, "spec.subject.organizations"),
            (NameOID.COUNTRY_NAME, subject.countries, "spec.subject.countries"),
            (NameOID.LOCALITY_NAME, subject.localities, "spec.subject.localities"),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, subject.organizational_units, "spec.subject.organizationalUnits"),
            # cert-manager prints "spec.subject.postCodes" for both postal codes and provinces; kept verbatim.
            (NameOID.POSTAL_CODE, subject.postal_codes, "spec.subject.postCodes"),
            (NameOID.STATE_OR_PROVINCE_NAME, subject.provinces, "spec.subject.postCodes"),
            (NameOID.STREET_ADDRESS, subject.street_addresses, "spec.subject.streetAddresses"),
        )
        for oid, wanted, path in checks:
            # The CSR builder leaves empty values out, so they are left out here too.
            if not _same(_attrs(name, oid), [v for v in wanted if v]):
                violations.append(path)
    else:
        try:
            literal = literal_subject_rdns(spec.literal_subject)
        except _PARSE_ERRORS as exc:
            raise _MatchError(f"invalid literalSubject: {_reason(exc)}") from exc
        if literal != _rdns(csr.subject):
            violations.append("spec.literalSubject")
    if req.is_ca != spec.is_ca:
        violations.append("spec.isCA")
    # Compared with defaulting on both sides (cert-manager compares the raw lists; the requestmanager copies
    # spec.usages verbatim, so this only differs when a user spells out the default usages).
    if not _same(defaults.usages(req), defaults.usages(spec)):
        violations.append("spec.usages")
    if req.duration and spec.duration and _durations_differ(req.duration, spec.duration):
        violations.append("spec.duration")
    if not defaults.issuer_refs_equal(req.issuer_ref, spec.issuer_ref):
        violations.append("spec.issuerRef")
    return violations


def certificate_matches_spec(cert: x509.Certificate, spec: types.CertificateSpec) -> list[str]:
    """`FuzzyX509AltNamesMatchSpec`: the loose leaf-vs-spec check used when no current CertificateRequest
    exists. Names may move between the CN and the DNS SANs; IPs, URIs and emails must match exactly."""
    try:
        names, _san = _san_names(cert.extensions)
        cert_cn = _last(cert.subject, NameOID.COMMON_NAME)
    except _PARSE_ERRORS:
        return ["spec.commonName", "spec.dnsNames"]
    violations: list[str] = []
    expected = set(spec.dns_names)
    if spec.common_name:
        expected.add(spec.common_name)
    present = set(names.dns)
    if cert_cn:
        present.add(cert_cn)
    if present != expected:
        if (spec.common_name and spec.common_name not in present) or (cert_cn and cert_cn not in expected):
            violations.append("spec.commonName")
        if not present.issuperset(spec.dns_names) or not expected.issuperset(names.dns):
            violations.append("spec.dnsNames")
    if not _same(names.ips, [_spec_ip_key(ip) for ip in spec.ip_addresses]):
        violations.append("spec.ipAddresses")
    if not _same(names.uris, spec.uris):
        violations.append("spec.uris")
    if not _same(names.emails, spec.email_addresses):
        violations.append("spec.emailAddresses")
    return violations
