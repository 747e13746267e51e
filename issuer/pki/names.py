"""Subjects and subject alternative names: build them from a Certificate spec, read them back like Go does.

Building follows cert-manager's CSR generation: the subject from `commonName` + `subject.*` in Go's
`pkix.Name.ToRDNSequence` order (C, ST, L, STREET, POSTALCODE, O, OU, CN, SERIALNUMBER), or from
`literalSubject` (RFC 4514, order preserved). One deliberate deviation: Go puts several values of one type
(two organizations) in one multi-valued RDN, which pkilint reports as
`pkix.rdn_contains_duplicate_attribute_types`; we give each value its own RDN, in spec order. Every reader
that uses Go's pkix.Name (cert-manager's matchers, annotations) sees the same fields either way. SANs from
dnsNames, ipAddresses, uris, emailAddresses and otherNames (UTF8String values). Reading gives Go's view
(last CN wins, IPs printed like Go's `net.IP.String`) for annotations, matching and `describe`.
Used by csr, template, secret and describe; nothing here signs anything.
"""

from __future__ import annotations

import dataclasses
import ipaddress

from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID, ObjectIdentifier

from issuer.api import types as t
from issuer.api import validation
from issuer.pki import memo
from issuer.pki.errors import PKIError


def parse_literal_subject(literal: str) -> x509.Name:
    """An RFC 4514 DN string as a Name whose RDN sequence is the string read right to left (as cert-manager).

    Parsed by `issuer.api.validation.parse_literal_subject_rdns` (go-ldap's grammar, cert-manager's attribute
    names), so the CSR builder accepts exactly what the webhook validation accepts.
    """
    try:
        rdns = validation.parse_literal_subject_rdns(literal)
        name = x509.Name(
            [
                x509.RelativeDistinguishedName([x509.NameAttribute(ObjectIdentifier(oid), value) for oid, value in rdn])
                for rdn in rdns
            ]
        )
    except (ValueError, TypeError) as err:
        raise PKIError(f"spec.literalSubject is not a valid RFC 4514 distinguished name: {_first_line(err)}") from None
    if len(name) == 0:
        raise PKIError("spec.literalSubject is empty")
    return name


_EMPTY_NAME = x509.Name([])


def subject_from_spec(spec: t.CertificateSpec) -> x509.Name:
    """The subject cert-manager puts in the CSR for this spec."""
    if spec.literal_subject:
        return parse_literal_subject(spec.literal_subject)
    if spec.subject is None and not spec.common_name:
        return _EMPTY_NAME
    subj = spec.subject or t.X509Subject()
    groups: list[tuple[ObjectIdentifier, tuple[str, ...]]] = [
        (NameOID.COUNTRY_NAME, subj.countries),
        (NameOID.STATE_OR_PROVINCE_NAME, subj.provinces),
        (NameOID.LOCALITY_NAME, subj.localities),
        (NameOID.STREET_ADDRESS, subj.street_addresses),
        (NameOID.POSTAL_CODE, subj.postal_codes),
        (NameOID.ORGANIZATION_NAME, subj.organizations),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, subj.organizational_units),
        (NameOID.COMMON_NAME, (spec.common_name,) if spec.common_name else ()),
        (NameOID.SERIAL_NUMBER, (subj.serial_number,) if subj.serial_number else ()),
    ]
    rdns: list[x509.RelativeDistinguishedName] = []
    try:
        for oid, values in groups:
            rdns += [x509.RelativeDistinguishedName([x509.NameAttribute(oid, v)]) for v in values if v]
    except ValueError as err:
        raise PKIError(f"invalid subject: {_first_line(err)}") from None
    return x509.Name(rdns)


def utf8_string_der(value: str) -> bytes:
    """DER of an ASN.1 UTF8String (the value inside an otherName)."""
    body = value.encode("utf-8")
    return b"\x0c" + _der_length(len(body)) + body


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def decode_utf8_string_der(der: bytes) -> str | None:
    """The text of a DER UTF8String, None if `der` is anything else."""
    if len(der) < 2 or der[0] != 0x0C:
        return None
    length, offset = der[1], 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or len(der) < 2 + count:
            return None
        length, offset = int.from_bytes(der[2 : 2 + count], "big"), 2 + count
    if len(der) != offset + length:
        return None
    try:
        return der[offset:].decode("utf-8")
    except UnicodeDecodeError:
        return None


def alt_names_from_spec(spec: t.CertificateSpec) -> list[x509.GeneralName]:
    """SANs in cert-manager's order: DNS, IP, URI, email, otherName."""
    names: list[x509.GeneralName] = []
    try:
        names += [x509.DNSName(d) for d in spec.dns_names]
        for ip in spec.ip_addresses:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(ip)))
            except ValueError:
                raise PKIError(f"spec.ipAddresses: {ip!r} is not a valid IP address") from None
        names += [x509.UniformResourceIdentifier(u) for u in spec.uris]
        names += [x509.RFC822Name(e) for e in spec.email_addresses]
        for other in spec.other_names:
            try:
                oid = ObjectIdentifier(other.oid)
            except ValueError:
                raise PKIError(f"spec.otherNames: {other.oid!r} is not a valid OID") from None
            names.append(x509.OtherName(oid, utf8_string_der(other.utf8_value)))
    except PKIError:
        raise
    except (ValueError, TypeError) as err:
        raise PKIError(f"invalid subject alternative name: {_first_line(err)}") from None
    return names


def format_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    """Go's net.IP.String (IPv4-mapped IPv6 prints as IPv4); networks as CIDR."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


@dataclasses.dataclass(frozen=True)
class AltNames:
    """The SANs of a certificate or CSR, as strings (other names as (oid, UTF-8 value or hex))."""

    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    uris: tuple[str, ...] = ()
    email_addresses: tuple[str, ...] = ()
    other_names: tuple[tuple[str, str], ...] = ()
    critical: bool = False


def read_alt_names(extensions: x509.Extensions) -> AltNames:
    try:
        ext = extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except x509.ExtensionNotFound:
        return AltNames()
    san = ext.value
    assert isinstance(san, x509.SubjectAlternativeName)
    return _alt_names(san, ext.critical)


def remember_certificate(
    cert: x509.Certificate, subject: x509.Name, san: x509.SubjectAlternativeName | None, san_critical: bool
) -> None:
    """What a certificate just built holds (its subject and SANs as given to the builder), so that reading
    them for its Secret's annotations does not parse it back."""
    _BUILT.put(cert, (subject, san, san_critical))


def certificate_subject(cert: x509.Certificate) -> SubjectFields:
    """`read_subject(cert.subject)`, from what `remember_certificate` kept when it can."""
    built = _BUILT.get(cert)
    return read_subject(built[0] if built is not None else cert.subject)


def certificate_alt_names(cert: x509.Certificate) -> AltNames:
    """`read_alt_names(cert.extensions)`, from what `remember_certificate` kept when it can."""
    built = _BUILT.get(cert)
    if built is None:
        return read_alt_names(cert.extensions)
    san, critical = built[1], built[2]
    return _alt_names(san, critical) if san is not None else AltNames()


# Keyed by the certificate (hashed and compared by its DER, cheaply).
_BUILT: memo.Memo[x509.Certificate, tuple[x509.Name, x509.SubjectAlternativeName | None, bool]] = memo.Memo(512)


def _alt_names(san: x509.SubjectAlternativeName, critical: bool) -> AltNames:
    found: dict[type, list[x509.GeneralName]] = {}
    for name in san:  # one pass, by type (get_values_for_type walks all of them for each type)
        found.setdefault(type(name), []).append(name)
    others: list[tuple[str, str]] = []
    for other in found.get(x509.OtherName, ()):
        assert isinstance(other, x509.OtherName)
        text = decode_utf8_string_der(other.value)
        others.append((other.type_id.dotted_string, text if text is not None else other.value.hex()))
    return AltNames(
        dns_names=tuple(n.value for n in found.get(x509.DNSName, ())),
        ip_addresses=tuple(format_ip(n.value) for n in found.get(x509.IPAddress, ())),
        uris=tuple(n.value for n in found.get(x509.UniformResourceIdentifier, ())),
        email_addresses=tuple(n.value for n in found.get(x509.RFC822Name, ())),
        other_names=tuple(others),
        critical=critical,
    )


@dataclasses.dataclass(frozen=True)
class SubjectFields:
    """Go's pkix.Name view of a subject: last CN wins, lists in order of appearance."""

    common_name: str = ""
    organizations: tuple[str, ...] = ()
    organizational_units: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    localities: tuple[str, ...] = ()
    postal_codes: tuple[str, ...] = ()
    street_addresses: tuple[str, ...] = ()
    serial_number: str = ""


_FIELD_OF: dict[ObjectIdentifier, str] = {
    NameOID.ORGANIZATION_NAME: "organizations",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "organizational_units",
    NameOID.COUNTRY_NAME: "countries",
    NameOID.STATE_OR_PROVINCE_NAME: "provinces",
    NameOID.LOCALITY_NAME: "localities",
    NameOID.POSTAL_CODE: "postal_codes",
    NameOID.STREET_ADDRESS: "street_addresses",
}


def read_subject(name: x509.Name) -> SubjectFields:
    lists: dict[str, list[str]] = {f: [] for f in _FIELD_OF.values()}
    cn = serial = ""
    for attr in name:
        value = attr.value if isinstance(attr.value, str) else attr.value.hex()
        if attr.oid == NameOID.COMMON_NAME:
            cn = value
        elif attr.oid == NameOID.SERIAL_NUMBER:
            serial = value
        elif attr.oid in _FIELD_OF:
            lists[_FIELD_OF[attr.oid]].append(value)
    return SubjectFields(common_name=cn, serial_number=serial, **{k: tuple(v) for k, v in lists.items()})


def name_constraints_from_spec(nc: t.NameConstraints) -> x509.NameConstraints | None:
    """The NameConstraints value for spec.nameConstraints (None if it names nothing)."""

    def subtrees(item: t.NameConstraintItem | None, path: str) -> list[x509.GeneralName] | None:
        if item is None:
            return None
        out: list[x509.GeneralName] = [x509.DNSName(d) for d in item.dns_domains]
        for cidr in item.ip_ranges:
            try:
                out.append(x509.IPAddress(ipaddress.ip_network(cidr, strict=False)))
            except ValueError:
                raise PKIError(f"{path}.ipRanges: {cidr!r} is not a valid CIDR") from None
        out += [x509.RFC822Name(e) for e in item.email_addresses]
        out += [x509.UniformResourceIdentifier(u) for u in item.uri_domains]
        return out or None

    try:
        permitted = subtrees(nc.permitted, "spec.nameConstraints.permitted")
        excluded = subtrees(nc.excluded, "spec.nameConstraints.excluded")
        if permitted is None and excluded is None:
            return None
        return x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=excluded)
    except PKIError:
        raise
    except (ValueError, TypeError) as err:
        raise PKIError(f"invalid spec.nameConstraints: {_first_line(err)}") from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
