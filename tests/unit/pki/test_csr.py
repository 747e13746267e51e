"""csr: what goes into a CSR for a Certificate spec, loading, and the two spec comparisons."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID, ObjectIdentifier

from issuer.api import constants as c
from issuer.api import types as t
from issuer.pki import csr, names, pem, usages
from issuer.pki.errors import PKIError
from tests.unit.pki.helpers import cached_key, self_signed

UPN = "1.3.6.1.4.1.311.20.2.3"


def build(**fields: object) -> x509.CertificateSigningRequest:
    return csr.build(t.CertificateSpec(**fields), cached_key("ECDSA"))  # type: ignore[arg-type]


def ext(request: x509.CertificateSigningRequest, oid: ObjectIdentifier) -> x509.Extension[x509.ExtensionType]:
    return request.extensions.get_extension_for_oid(oid)


def test_subject_follows_go_order_with_one_rdn_per_value() -> None:
    request = build(
        common_name="app",
        subject=t.X509Subject(
            organizations=("Org A", "Org B"),
            countries=("GB",),
            organizational_units=("Unit",),
            localities=("London",),
            provinces=("England",),
            street_addresses=("1 Road",),
            postal_codes=("N1",),
            serial_number="42",
        ),
    )
    rdns = [[(a.oid, a.value) for a in rdn] for rdn in request.subject.rdns]
    assert all(len(r) == 1 for r in rdns)  # no multi-valued RDNs (pkilint: duplicate attribute types)
    assert [r[0][0] for r in rdns] == [
        NameOID.COUNTRY_NAME,
        NameOID.STATE_OR_PROVINCE_NAME,
        NameOID.LOCALITY_NAME,
        NameOID.STREET_ADDRESS,
        NameOID.POSTAL_CODE,
        NameOID.ORGANIZATION_NAME,
        NameOID.ORGANIZATION_NAME,
        NameOID.ORGANIZATIONAL_UNIT_NAME,
        NameOID.COMMON_NAME,
        NameOID.SERIAL_NUMBER,
    ]
    assert [r[0][1] for r in rdns[5:7]] == ["Org A", "Org B"]


def test_literal_subject_keeps_order_and_reverses_like_rfc_4514() -> None:
    request = build(literal_subject="CN=app,OU=a+OU=b,O=Org,POSTALCODE=N1,SERIALNUMBER=7,DC=example")
    assert request.subject.rfc4514_string() == "CN=app,OU=a+OU=b,O=Org,2.5.4.17=N1,2.5.4.5=7,DC=example"
    assert request.subject.rdns[0].get_attributes_for_oid(NameOID.DOMAIN_COMPONENT)


@pytest.mark.parametrize("literal", ["CN", "=x", "NOPE=x", "CN=a,,", "   "])
def test_bad_literal_subject_is_a_pki_error(literal: str) -> None:
    with pytest.raises(PKIError, match="literalSubject"):
        build(literal_subject=literal)


def test_all_san_types_in_cert_manager_order() -> None:
    request = build(
        common_name="x",
        dns_names=("a.example.com", "*.example.com"),
        ip_addresses=("10.0.0.1", "2001:db8::1"),
        uris=("spiffe://cluster.local/ns/a/sa/b",),
        email_addresses=("me@example.com",),
        other_names=(t.OtherName(oid=UPN, utf8_value="user@corp.example"),),
    )
    san = ext(request, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    assert not san.critical
    assert isinstance(san.value, x509.SubjectAlternativeName)
    assert [type(n).__name__ for n in san.value] == [
        "DNSName",
        "DNSName",
        "IPAddress",
        "IPAddress",
        "UniformResourceIdentifier",
        "RFC822Name",
        "OtherName",
    ]
    assert san.value.get_values_for_type(x509.IPAddress)[1] == ipaddress.ip_address("2001:db8::1")
    other = san.value.get_values_for_type(x509.OtherName)[0]
    assert other.type_id.dotted_string == UPN
    assert other.value == b"\x0c\x11user@corp.example"
    read = names.read_alt_names(request.extensions)
    assert read.other_names == ((UPN, "user@corp.example"),)


def test_san_is_critical_when_the_subject_is_empty() -> None:
    request = build(dns_names=("a.example.com",))
    assert len(request.subject) == 0
    assert ext(request, ExtensionOID.SUBJECT_ALTERNATIVE_NAME).critical


def test_long_other_name_values_use_long_form_der_lengths() -> None:
    value = "u" * 300
    assert names.decode_utf8_string_der(names.utf8_string_der(value)) == value


def test_default_usages_go_into_the_request_key_usage_critical() -> None:
    request = build(common_name="x")
    ku = ext(request, ExtensionOID.KEY_USAGE)
    assert ku.critical
    assert isinstance(ku.value, x509.KeyUsage)
    assert ku.value.digital_signature and ku.value.key_encipherment and not ku.value.key_cert_sign
    with pytest.raises(x509.ExtensionNotFound):
        ext(request, ExtensionOID.EXTENDED_KEY_USAGE)
    with pytest.raises(x509.ExtensionNotFound):
        ext(request, ExtensionOID.BASIC_CONSTRAINTS)


KU_CASES = [(name, bit) for name, bit in usages.KEY_USAGE_BITS.items() if bit not in ("encipher_only", "decipher_only")]


@pytest.mark.parametrize(("usage", "bit"), KU_CASES, ids=[u for u, _ in KU_CASES])
def test_each_key_usage_maps_to_its_bit(usage: str, bit: str) -> None:
    ku = ext(build(common_name="x", usages=(usage,)), ExtensionOID.KEY_USAGE).value
    assert isinstance(ku, x509.KeyUsage)
    set_bits = {b for b in usages.BIT_NAMES if b not in ("encipher_only", "decipher_only") and getattr(ku, b)}
    assert set_bits == {bit}


def test_encipher_and_decipher_only_with_key_agreement() -> None:
    ku = ext(
        build(common_name="x", usages=("key agreement", "encipher only", "decipher only")), ExtensionOID.KEY_USAGE
    ).value
    assert isinstance(ku, x509.KeyUsage)
    assert ku.key_agreement and ku.encipher_only and ku.decipher_only


def test_encipher_only_without_key_agreement_is_a_pki_error() -> None:
    with pytest.raises(PKIError, match="key agreement"):
        build(common_name="x", usages=("encipher only",))


EKU_CASES = [
    ("any", ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE),
    ("server auth", ExtendedKeyUsageOID.SERVER_AUTH),
    ("client auth", ExtendedKeyUsageOID.CLIENT_AUTH),
    ("code signing", ExtendedKeyUsageOID.CODE_SIGNING),
    ("email protection", ExtendedKeyUsageOID.EMAIL_PROTECTION),
    ("s/mime", ExtendedKeyUsageOID.EMAIL_PROTECTION),
    ("ipsec end system", ObjectIdentifier("1.3.6.1.5.5.7.3.5")),
    ("ipsec tunnel", ObjectIdentifier("1.3.6.1.5.5.7.3.6")),
    ("ipsec user", ObjectIdentifier("1.3.6.1.5.5.7.3.7")),
    ("timestamping", ExtendedKeyUsageOID.TIME_STAMPING),
    ("ocsp signing", ExtendedKeyUsageOID.OCSP_SIGNING),
    ("microsoft sgc", ObjectIdentifier("1.3.6.1.4.1.311.10.3.3")),
    ("netscape sgc", ObjectIdentifier("2.16.840.1.113730.4.1")),
]


@pytest.mark.parametrize(("usage", "oid"), EKU_CASES, ids=[u for u, _ in EKU_CASES])
def test_each_extended_key_usage_maps_to_its_oid(usage: str, oid: ObjectIdentifier) -> None:
    request = build(common_name="x", usages=("digital signature", usage))
    eku = ext(request, ExtensionOID.EXTENDED_KEY_USAGE)
    assert not eku.critical
    assert list(eku.value) == [oid]  # type: ignore[call-overload]


def test_every_cert_manager_usage_is_mapped() -> None:
    assert set(c.USAGES) == set(usages.KEY_USAGE_BITS) | set(usages.EXTENDED_KEY_USAGES)


def test_unknown_usage_is_a_pki_error() -> None:
    with pytest.raises(PKIError, match="unknown key usage"):
        build(common_name="x", usages=("teleport",))


def test_is_ca_adds_cert_sign_and_basic_constraints() -> None:
    request = build(common_name="ca", is_ca=True, usages=("digital signature",))
    ku = ext(request, ExtensionOID.KEY_USAGE).value
    assert isinstance(ku, x509.KeyUsage) and ku.key_cert_sign and ku.digital_signature
    bc = ext(request, ExtensionOID.BASIC_CONSTRAINTS)
    assert bc.critical and bc.value == x509.BasicConstraints(ca=True, path_length=None)


def test_encode_usages_in_request_false_leaves_usages_out() -> None:
    request = build(common_name="x", usages=("server auth",), encode_usages_in_request=False)
    present = {e.oid for e in request.extensions}
    assert ExtensionOID.KEY_USAGE not in present and ExtensionOID.EXTENDED_KEY_USAGE not in present


def test_name_constraints() -> None:
    nc_spec = t.NameConstraints(
        critical=True,
        permitted=t.NameConstraintItem(
            dns_domains=("example.com",),
            ip_ranges=("10.0.0.0/8", "2001:db8::1/32"),
            email_addresses=("example.com",),
            uri_domains=(".example.com",),
        ),
        excluded=t.NameConstraintItem(dns_domains=("bad.example.com",)),
    )
    request = build(common_name="ca", is_ca=True, name_constraints=nc_spec)
    nc = ext(request, ExtensionOID.NAME_CONSTRAINTS)
    assert nc.critical
    assert isinstance(nc.value, x509.NameConstraints)
    assert nc.value.permitted_subtrees is not None and nc.value.excluded_subtrees is not None
    ips = [n.value for n in nc.value.permitted_subtrees if isinstance(n, x509.IPAddress)]
    assert ips == [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")]
    assert [n.value for n in nc.value.excluded_subtrees] == ["bad.example.com"]


def test_bad_name_constraint_range_is_a_pki_error() -> None:
    nc_spec = t.NameConstraints(permitted=t.NameConstraintItem(ip_ranges=("10.0.0.0/33",)))
    with pytest.raises(PKIError, match="ipRanges"):
        build(common_name="ca", is_ca=True, name_constraints=nc_spec)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ip_addresses": ("999.1.1.1",)}, "not a valid IP"),
        ({"other_names": (t.OtherName(oid="not-an-oid", utf8_value="x"),)}, "not a valid OID"),
        ({"subject": t.X509Subject(countries=("GBR",))}, "invalid subject"),
        ({"signature_algorithm": "SHA256WithRSA"}, "does not fit"),
    ],
)
def test_bad_spec_values_are_pki_errors(fields: dict[str, object], message: str) -> None:
    with pytest.raises(PKIError, match=message):
        build(common_name="x", **fields)


@pytest.mark.parametrize(
    ("key_args", "requested", "algorithm"),
    [
        (("ECDSA", 256), "", hashes.SHA256),
        (("ECDSA", 256), "ECDSAWithSHA512", hashes.SHA512),
        (("ECDSA", 384), "", hashes.SHA384),
        (("RSA", None), "SHA384WithRSA", hashes.SHA384),
    ],
)
def test_signature_algorithm_from_spec_or_key(
    key_args: tuple[str, int | None], requested: str, algorithm: type
) -> None:
    request = csr.build(t.CertificateSpec(common_name="x", signature_algorithm=requested), cached_key(*key_args))
    assert isinstance(request.signature_hash_algorithm, algorithm)


def test_ed25519_csr_has_no_hash() -> None:
    request = csr.build(t.CertificateSpec(common_name="x"), cached_key("Ed25519"))
    assert request.signature_hash_algorithm is None
    assert csr.load(csr.pem_bytes(request)).is_signature_valid


def test_load_round_trip_and_errors() -> None:
    request = build(common_name="x")
    assert csr.load(csr.pem_bytes(request)) == request
    with pytest.raises(PKIError, match="expected a CERTIFICATE REQUEST"):
        csr.load(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(PKIError, match="not a valid PKCS#10"):
        csr.load(b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
    with pytest.raises(PKIError, match="larger than the maximum 36500 B"):
        csr.load(csr.pem_bytes(request) + b" " * 36_500)


def test_load_refuses_a_tampered_request() -> None:
    request = build(common_name="x")
    der = bytearray(request.public_bytes(serialization.Encoding.DER))
    at = der.index(b"\x0c\x01x")  # the CN value inside the signed part
    der[at + 2] = ord("y")
    with pytest.raises(PKIError, match="signature is invalid"):
        csr.load(pem.encode("CERTIFICATE REQUEST", bytes(der)))


# check_against_request_spec -------------------------------------------------------------------------


WEBHOOK_CASES = [
    pytest.param(t.CertificateSpec(common_name="x"), t.CertificateRequestSpec(), None, id="defaults on both sides"),
    pytest.param(
        t.CertificateSpec(common_name="x", usages=("server auth",)),
        t.CertificateRequestSpec(usages=("server auth",)),
        None,
        id="same explicit usages",
    ),
    pytest.param(
        t.CertificateSpec(common_name="x", usages=("signing", "s/mime")),
        t.CertificateRequestSpec(usages=("digital signature", "email protection")),
        None,
        id="synonyms are equal",
    ),
    pytest.param(
        t.CertificateSpec(common_name="x", is_ca=True, usages=("digital signature",)),
        t.CertificateRequestSpec(is_ca=True, usages=("digital signature",)),
        None,
        id="cert sign is implied by isCA",
    ),
    pytest.param(
        t.CertificateSpec(common_name="x", usages=("client auth",)),
        t.CertificateRequestSpec(usages=("server auth",)),
        "spec.request: csr key usages do not match specified usages, these should match if both are set: "
        "csr has [client auth], spec has [server auth]",
        id="usages differ",
    ),
    pytest.param(
        t.CertificateSpec(common_name="x"),
        t.CertificateRequestSpec(usages=("server auth",)),
        None,
        id="a CSR with the default usages always passes",
    ),
    pytest.param(
        t.CertificateSpec(common_name="x", usages=("client auth",)),
        t.CertificateRequestSpec(),
        None,
        id="empty spec usages are not compared",
    ),
    pytest.param(
        t.CertificateSpec(common_name="x", usages=("client auth",)),
        t.CertificateRequestSpec(usages=("digital signature", "key encipherment")),
        None,
        id="spec usages equal to the defaults are not compared",
    ),
    pytest.param(
        t.CertificateSpec(common_name="x", is_ca=True),
        t.CertificateRequestSpec(),
        None,
        id="the webhook does not look at basicConstraints",
    ),
    pytest.param(
        t.CertificateSpec(common_name="x", encode_usages_in_request=False),
        t.CertificateRequestSpec(usages=("server auth",)),
        None,
        id="a CSR without usages is not compared",
    ),
]


@pytest.mark.parametrize(("cert_spec", "cr_spec", "problem"), WEBHOOK_CASES)
def test_check_against_request_spec_like_the_webhook(
    cert_spec: t.CertificateSpec, cr_spec: t.CertificateRequestSpec, problem: str | None
) -> None:
    pem_bytes = csr.pem_bytes(csr.build(cert_spec, cached_key("ECDSA")))
    assert csr.check_against_request_spec(pem_bytes, cr_spec) == ([problem] if problem else [])
    violations = csr.request_violations(pem_bytes, cr_spec)
    assert [str(v) for v in violations] == (
        [f'spec.request: Invalid value: "<snip>": {problem.removeprefix("spec.request: ")}'] if problem else []
    )


STRICT_CASES = [
    pytest.param(t.CertificateSpec(common_name="x"), t.CertificateRequestSpec(), [], id="defaults on both sides"),
    pytest.param(
        t.CertificateSpec(common_name="x", is_ca=True),
        t.CertificateRequestSpec(),
        [
            "spec.request: encoded CSR error: IsCA true does not match expected value false",
            "spec.request: encoded CSR error: the KeyUsages [ 'digital signature', 'key encipherment', 'cert sign' ] "
            "do not match the expected KeyUsages [ 'digital signature', 'key encipherment' ]",
        ],
        id="CSR says CA, spec does not",
    ),
    pytest.param(
        t.CertificateSpec(common_name="x", usages=("client auth",)),
        t.CertificateRequestSpec(),
        [
            "spec.request: encoded CSR error: the KeyUsages [] do not match the expected KeyUsages "
            "[ 'digital signature', 'key encipherment' ]"
        ],
        id="empty spec usages mean the defaults",
    ),
    pytest.param(
        t.CertificateSpec(common_name="x", usages=("digital signature", "client auth")),
        t.CertificateRequestSpec(usages=("digital signature", "server auth")),
        [
            "spec.request: encoded CSR error: the ExtKeyUsages [ 'client auth' ] do not match the expected "
            "ExtKeyUsages [ 'server auth' ]"
        ],
        id="extended usages differ",
    ),
]


@pytest.mark.parametrize(("cert_spec", "cr_spec", "problems"), STRICT_CASES)
def test_check_against_request_spec_strict(
    cert_spec: t.CertificateSpec, cr_spec: t.CertificateRequestSpec, problems: list[str]
) -> None:
    pem_bytes = csr.pem_bytes(csr.build(cert_spec, cached_key("ECDSA")))
    assert csr.check_against_request_spec(pem_bytes, cr_spec, strict=True) == problems


def test_check_against_request_spec_reports_an_unparsable_request() -> None:
    assert csr.check_against_request_spec(b"junk", t.CertificateRequestSpec()) == [
        "spec.request: failed to decode csr: certificate request: no PEM data was found"
    ]


# matches_certificate_spec ---------------------------------------------------------------------------

BASE = t.CertificateSpec(
    common_name="app",
    dns_names=("a.example.com", "b.example.com"),
    ip_addresses=("10.0.0.1",),
    uris=("spiffe://x/y",),
    email_addresses=("a@example.com",),
    other_names=(t.OtherName(oid=UPN, utf8_value="u@x"),),
    subject=t.X509Subject(organizations=("O1", "O2"), serial_number="1"),
    usages=("server auth", "digital signature"),
)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"dns_names": ("b.example.com", "a.example.com")}, []),
        ({"usages": ("digital signature", "server auth")}, []),
        ({"ip_addresses": ("10.0.0.01",)}, ["spec.ipAddresses"]),
        ({"common_name": "other"}, ["spec.commonName"]),
        ({"dns_names": ("a.example.com",)}, ["spec.dnsNames"]),
        ({"uris": ()}, ["spec.uris"]),
        ({"email_addresses": ("b@example.com",)}, ["spec.emailAddresses"]),
        ({"other_names": (t.OtherName(oid=UPN, utf8_value="v@x"),)}, ["spec.otherNames"]),
        ({"subject": t.X509Subject(organizations=("O2", "O1"), serial_number="1")}, []),
        ({"subject": t.X509Subject(organizations=("O1",), serial_number="1")}, ["spec.subject.organizations"]),
        (
            {"subject": t.X509Subject(organizations=("O1", "O2"), serial_number="2", countries=("GB",))},
            ["spec.subject.countries", "spec.subject.serialNumber"],
        ),
        ({"usages": ("server auth",)}, ["spec.usages"]),
        ({"is_ca": True}, ["spec.isCA", "spec.usages"]),
    ],
    ids=[
        "unchanged",
        "dns order does not matter",
        "usage order does not matter",
        "ip written differently is still compared as an address",
        "common name changed",
        "dns name removed",
        "uri removed",
        "email changed",
        "other name changed",
        "organization order does not matter",
        "organization removed",
        "country added and serial changed",
        "usage removed",
        "became a CA",
    ],
)
def test_matches_certificate_spec(changes: dict[str, object], expected: list[str]) -> None:
    import dataclasses

    request = csr.build(BASE, cached_key("ECDSA"))
    new_spec = dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]
    got = csr.matches_certificate_spec(csr.pem_bytes(request), new_spec)
    if changes.get("ip_addresses") == ("10.0.0.01",):
        assert got == ["spec.ipAddresses"]  # "10.0.0.01" is not an IP address, so it never matches
    else:
        assert got == expected


def test_matches_certificate_spec_with_literal_subject() -> None:
    spec = t.CertificateSpec(literal_subject="CN=a,O=b", dns_names=("a.example",))
    request = csr.build(spec, cached_key("ECDSA"))
    assert csr.matches_certificate_spec(request, spec) == []
    import dataclasses

    assert csr.matches_certificate_spec(request, dataclasses.replace(spec, literal_subject="O=b,CN=a")) == [
        "spec.literalSubject"
    ]


FACT_SPECS = [
    {"common_name": "x"},
    {"dns_names": ("a.example.com", "*.example.com")},
    {"common_name": "x", "usages": ("server auth", "client auth", "digital signature")},
    {"common_name": "x", "usages": ("server auth",), "encode_usages_in_request": False},
    {"common_name": "x", "usages": ("key agreement", "encipher only", "decipher only")},
    {"common_name": "x", "usages": ("code signing", "s/mime", "timestamping")},
    {"common_name": "ca", "is_ca": True},
    {"common_name": "ca", "is_ca": True, "usages": ("crl sign",),
     "name_constraints": t.NameConstraints(
         critical=True, permitted=t.NameConstraintItem(dns_domains=("example.com",)))},
    {"common_name": "ca", "is_ca": True,
     "name_constraints": t.NameConstraints(excluded=t.NameConstraintItem(ip_ranges=("10.0.0.0/8",)))},
    {"ip_addresses": ("10.0.0.1", "::1"), "uris": ("spiffe://x/y",), "email_addresses": ("a@example.com",),
     "other_names": (t.OtherName(oid=UPN, utf8_value="u@example.com"),)},
    {"literal_subject": "CN=lit,O=org", "dns_names": ("lit.example.com",)},
]


@pytest.mark.parametrize("fields", FACT_SPECS)
@pytest.mark.parametrize("algorithm", ["ECDSA", "RSA", "Ed25519"])
def test_facts_remembered_by_build_are_what_the_csr_says(fields: dict[str, object], algorithm: str) -> None:
    """What `build` remembers about its CSR (so that signing does not read it back) equals what reading
    the same CSR, parsed again from its PEM, finds."""
    built = csr.build(t.CertificateSpec(**fields), cached_key(algorithm))  # type: ignore[arg-type]
    remembered = csr.facts(built)
    reread = csr.read_facts(x509.load_pem_x509_csr(built.public_bytes(serialization.Encoding.PEM)))
    assert remembered == dataclasses.replace(reread, public_key=remembered.public_key)
    assert remembered.public_key == reread.public_key
    assert remembered.subject.public_bytes() == reread.subject.public_bytes()
    if remembered.alt_names is not None:
        assert list(remembered.alt_names) == list(reread.alt_names or ())


def test_facts_of_a_csr_from_elsewhere_are_read() -> None:
    key = cached_key("ECDSA")
    foreign = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "f")]))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    found = csr.facts(foreign)
    assert found.is_ca is False and found.alt_names is None and found.name_constraints is None
    assert found.usages == usages.Usages(frozenset(), (ExtendedKeyUsageOID.CLIENT_AUTH,))


@pytest.mark.parametrize("fields", FACT_SPECS)
def test_subject_and_sans_remembered_for_a_signed_leaf_are_what_the_leaf_says(fields: dict[str, object]) -> None:
    """The Secret's annotations read a leaf's subject and SANs from what signing gave the builder: the same
    as reading the leaf parsed again from its PEM."""
    spec = t.CertificateSpec(**fields)  # type: ignore[arg-type]
    leaf = self_signed(spec, cached_key("ECDSA")).leaf
    fresh = x509.load_pem_x509_certificate(leaf.public_bytes(serialization.Encoding.PEM))
    assert names.certificate_subject(leaf) == names.read_subject(fresh.subject)
    assert names.certificate_alt_names(leaf) == names.read_alt_names(fresh.extensions)
