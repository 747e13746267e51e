"""The trigger, readiness and post-issuance policy chains with cert-manager's exact reasons and messages,
the failed-issuance back-off and the shared-secretName owner rule."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from issuer import policies
from issuer.api import constants as c
from issuer.api import types
from issuer.pki import match

UTC = dt.UTC
H = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
NOW = dt.datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)
UPN = "1.3.6.1.4.1.311.20.2.3"

# ---------------------------------------------------------------------------------------------------------
# Builders


def _pem_key(key: ec.EllipticCurvePrivateKey, fmt: serialization.PrivateFormat) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def _sans(
    dns: Sequence[str] = (),
    ips: Sequence[str] = (),
    uris: Sequence[str] = (),
    emails: Sequence[str] = (),
    other_names: Sequence[tuple[str, str]] = (),
) -> list[x509.GeneralName]:
    import ipaddress

    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    names += [x509.UniformResourceIdentifier(u) for u in uris]
    names += [x509.RFC822Name(e) for e in emails]
    for oid, value in other_names:
        raw = value.encode()
        names.append(x509.OtherName(x509.ObjectIdentifier(oid), bytes([0x0C, len(raw)]) + raw))
    return names


def make_cert(
    key: ec.EllipticCurvePrivateKey,
    *,
    cn: str = "",
    dns: Sequence[str] = ("example.com",),
    ips: Sequence[str] = (),
    not_before: dt.datetime = NOW - H,
    not_after: dt.datetime = NOW + 90 * DAY - H,
) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    names = _sans(dns, ips)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=not cn)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def make_csr(
    key: ec.EllipticCurvePrivateKey,
    *,
    subject: x509.Name | None = None,
    dns: Sequence[str] = ("example.com",),
    ips: Sequence[str] = (),
    uris: Sequence[str] = (),
    emails: Sequence[str] = (),
    other_names: Sequence[tuple[str, str]] = (),
) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject or x509.Name([]))
    names = _sans(dns, ips, uris, emails, other_names)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@dataclasses.dataclass(frozen=True)
class Keys:
    main: ec.EllipticCurvePrivateKey
    other: ec.EllipticCurvePrivateKey
    p384: ec.EllipticCurvePrivateKey
    main_pem: bytes
    other_pem: bytes
    p384_pem: bytes
    leaf: bytes
    csr: bytes


@pytest.fixture(scope="module")
def keys() -> Keys:
    main = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    p384 = ec.generate_private_key(ec.SECP384R1())
    return Keys(
        main=main,
        other=other,
        p384=p384,
        main_pem=_pem_key(main, serialization.PrivateFormat.PKCS8),
        other_pem=_pem_key(other, serialization.PrivateFormat.TraditionalOpenSSL),
        p384_pem=_pem_key(p384, serialization.PrivateFormat.PKCS8),
        leaf=make_cert(main),
        csr=make_csr(main),
    )


ISSUER_REF = types.IssuerRef(name="ca")
SPEC = types.CertificateSpec(
    secret_name="web-tls",
    dns_names=("example.com",),
    issuer_ref=ISSUER_REF,
    private_key=types.CertificatePrivateKey(algorithm="ECDSA"),
)
CERT = types.Certificate(
    metadata=types.ObjectMeta(
        name="web", namespace="default", uid="uid-web", creation_timestamp="2026-01-01T00:00:00Z"
    ),
    spec=SPEC,
)
ANNOTATIONS = {
    c.ANN_CERTIFICATE_NAME: "web",
    c.ANN_ISSUER_NAME: "ca",
    c.ANN_ISSUER_KIND: "Issuer",
    c.ANN_ISSUER_GROUP: "cert-manager.io",
}


def secret(keys: Keys, **changes: Any) -> policies.SecretView:
    base = policies.SecretView(
        name="web-tls",
        namespace="default",
        type=c.SECRET_TYPE_TLS,
        data={c.TLS_PRIVATE_KEY_KEY: keys.main_pem, c.TLS_CERT_KEY: keys.leaf},
        annotations=dict(ANNOTATIONS),
    )
    return dataclasses.replace(base, **changes)


def request(csr: bytes, **spec_changes: Any) -> types.CertificateRequest:
    return types.CertificateRequest(
        metadata=types.ObjectMeta(name="web-1", namespace="default"),
        spec=dataclasses.replace(types.CertificateRequestSpec(issuer_ref=ISSUER_REF, request=csr), **spec_changes),
    )


def make_input(
    keys: Keys,
    *,
    cert: types.Certificate = CERT,
    sec: policies.SecretView | str | None = "default",
    current: types.CertificateRequest | str | None = "default",
    now: dt.datetime = NOW,
    **spec_changes: Any,
) -> policies.Input:
    if spec_changes:
        cert = dataclasses.replace(cert, spec=dataclasses.replace(cert.spec, **spec_changes))
    return policies.Input(
        certificate=cert,
        secret=secret(keys) if sec == "default" else sec,  # type: ignore[arg-type]
        current_request=request(keys.csr) if current == "default" else current,  # type: ignore[arg-type]
        next_request=None,
        now=now,
    )


# ---------------------------------------------------------------------------------------------------------
# Trigger and readiness checks, one case each (first violation wins)

Case = Callable[[Keys], policies.Input]

TRIGGER: dict[str, tuple[Case, tuple[str, str] | None]] = {
    "an up to date Secret triggers nothing": (make_input, None),
    "a missing Secret": (
        lambda k: make_input(k, sec=None),
        ("DoesNotExist", "Issuing certificate as Secret does not exist"),
    ),
    "a Secret without data": (
        lambda k: make_input(k, sec=secret(k, data={})),
        ("MissingData", "Issuing certificate as Secret does not contain any data"),
    ),
    "a Secret without tls.key": (
        lambda k: make_input(k, sec=secret(k, data={c.TLS_CERT_KEY: k.leaf})),
        ("MissingData", "Issuing certificate as Secret does not contain a private key"),
    ),
    "a Secret with an empty tls.crt": (
        lambda k: make_input(k, sec=secret(k, data={c.TLS_PRIVATE_KEY_KEY: k.main_pem, c.TLS_CERT_KEY: b""})),
        ("MissingData", "Issuing certificate as Secret does not contain a certificate"),
    ),
    "a Secret whose key is not PEM": (
        lambda k: make_input(k, sec=secret(k, data={c.TLS_PRIVATE_KEY_KEY: b"garbage", c.TLS_CERT_KEY: k.leaf})),
        (
            "InvalidKeyPair",
            "Issuing certificate as Secret contains invalid private key data: error decoding private key PEM block",
        ),
    ),
    "a Secret whose key is an unknown PEM type": (
        lambda k: make_input(k, sec=secret(k, data={c.TLS_PRIVATE_KEY_KEY: k.leaf, c.TLS_CERT_KEY: k.leaf})),
        (
            "InvalidKeyPair",
            "Issuing certificate as Secret contains invalid private key data: unknown private key type: CERTIFICATE",
        ),
    ),
    "a Secret whose certificate is not PEM": (
        lambda k: make_input(k, sec=secret(k, data={c.TLS_PRIVATE_KEY_KEY: k.main_pem, c.TLS_CERT_KEY: b"nope"})),
        (
            "InvalidCertificate",
            "Issuing certificate as Secret contains an invalid certificate: error decoding certificate PEM block",
        ),
    ),
    "a Secret whose key does not match its certificate": (
        lambda k: make_input(k, sec=secret(k, data={c.TLS_PRIVATE_KEY_KEY: k.other_pem, c.TLS_CERT_KEY: k.leaf})),
        (
            "InvalidKeyPair",
            "Issuing certificate as Secret contains a private key that does not match the certificate",
        ),
    ),
    "a Secret issued by another issuer": (
        lambda k: make_input(k, sec=secret(k, annotations={**ANNOTATIONS, c.ANN_ISSUER_NAME: "x"})),
        ("IncorrectIssuer", 'Issuing certificate as Secret was previously issued by "Issuer.cert-manager.io/x"'),
    ),
    "a Secret issued by another issuer kind": (
        lambda k: make_input(k, sec=secret(k, annotations={**ANNOTATIONS, c.ANN_ISSUER_KIND: "ClusterIssuer"})),
        (
            "IncorrectIssuer",
            'Issuing certificate as Secret was previously issued by "ClusterIssuer.cert-manager.io/ca"',
        ),
    ),
    "empty issuer kind and group annotations equal the defaults": (
        lambda k: make_input(
            k, sec=secret(k, annotations={**ANNOTATIONS, c.ANN_ISSUER_KIND: "", c.ANN_ISSUER_GROUP: ""})
        ),
        None,
    ),
    "a Secret without issuer annotations still mismatches a ClusterIssuer reference (Go precedence)": (
        lambda k: make_input(
            k,
            sec=secret(k, annotations={c.ANN_CERTIFICATE_NAME: "web"}),
            current=request(k.csr, issuer_ref=types.IssuerRef(name="ca", kind="ClusterIssuer")),
            issuer_ref=types.IssuerRef(name="ca", kind="ClusterIssuer"),
        ),
        ("IncorrectIssuer", 'Issuing certificate as Secret was previously issued by "Issuer.cert-manager.io/"'),
    ),
    "a Secret issued for another Certificate": (
        lambda k: make_input(k, sec=secret(k, annotations={**ANNOTATIONS, c.ANN_CERTIFICATE_NAME: "other"})),
        (
            "IncorrectCertificate",
            'Secret was issued for "other". If this message is not transient, you might have two conflicting '
            "Certificates pointing to the same secret.",
        ),
    ),
    "a private key of another algorithm than the spec": (
        lambda k: make_input(k, private_key=None),
        ("SecretMismatch", "Existing private key is not up to date for spec: [spec.privateKey.algorithm]"),
    ),
    "a private key of another size than the spec": (
        lambda k: make_input(k, private_key=types.CertificatePrivateKey(algorithm="ECDSA", size=384)),
        ("SecretMismatch", "Existing private key is not up to date for spec: [spec.privateKey.size]"),
    ),
    "a Secret key that differs from the current CertificateRequest's": (
        lambda k: make_input(k, current=request(make_csr(k.other))),
        ("SecretMismatch", "Secret contains a private key that does not match the current CertificateRequest"),
    ),
    "a current CertificateRequest that does not decode": (
        lambda k: make_input(k, current=request(b"not a csr")),
        (
            "InvalidCertificateRequest",
            "Failed to decode current CertificateRequest: error decoding certificate request PEM block",
        ),
    ),
    "dnsNames changed since the current CertificateRequest": (
        lambda k: make_input(k, dns_names=("example.com", "www.example.com")),
        ("RequestChanged", "Fields on existing CertificateRequest resource not up to date: [spec.dnsNames]"),
    ),
    "several fields changed are listed in cert-manager's order": (
        lambda k: make_input(k, dns_names=("www.example.com",), common_name="www.example.com", is_ca=True),
        (
            "RequestChanged",
            "Fields on existing CertificateRequest resource not up to date: [spec.dnsNames spec.commonName spec.isCA]",
        ),
    ),
    "without a CertificateRequest the leaf's names are compared": (
        lambda k: make_input(k, current=None, dns_names=("www.example.com",)),
        (
            "SecretMismatch",
            "Issuing certificate as Existing issued Secret is not up to date for spec: [spec.dnsNames]",
        ),
    ),
    "without a CertificateRequest a name may move between commonName and dnsNames": (
        lambda k: make_input(k, current=None, dns_names=(), common_name="example.com"),
        None,
    ),
    "a certificate past its renewal time": (
        lambda k: make_input(
            k,
            sec=secret(k, data={c.TLS_PRIVATE_KEY_KEY: k.main_pem, c.TLS_CERT_KEY: _aged(k)}),
            cert=dataclasses.replace(CERT, status=types.CertificateStatus(renewal_time="2026-11-27T09:00:00Z")),
        ),
        ("Renewing", "Renewing certificate as renewal was scheduled at 2026-11-27 09:00:00 +0000 UTC"),
    ),
    "a certificate past its renewal time with Disabled renewal is left alone": (
        lambda k: make_input(
            k,
            sec=secret(k, data={c.TLS_PRIVATE_KEY_KEY: k.main_pem, c.TLS_CERT_KEY: _aged(k)}),
            renewal=types.Renewal(policy="Disabled"),
        ),
        None,
    ),
    "a renewal window error is reported once renewal is due": (
        lambda k: make_input(
            k,
            sec=secret(k, data={c.TLS_PRIVATE_KEY_KEY: k.main_pem, c.TLS_CERT_KEY: _aged(k)}),
            renewal=types.Renewal(windows=(types.RenewalWindow(cron="bad", window_duration="1h"),)),
        ),
        ("WindowError", "error parsing cron in window expected exactly 5 fields, found 1: [bad]"),
    ),
    "a renewal window error is not reported before renewal is due": (
        lambda k: make_input(
            k, renewal=types.Renewal(windows=(types.RenewalWindow(cron="bad", window_duration="1h"),))
        ),
        None,
    ),
}


def _aged(keys: Keys) -> bytes:
    """A leaf whose default renewal time (2/3 of 90 days) is exactly NOW."""
    return make_cert(keys.main, not_before=NOW - 60 * DAY, not_after=NOW + 30 * DAY)


@pytest.mark.parametrize(("case", "expected"), TRIGGER.values(), ids=TRIGGER.keys())
def test_trigger(keys: Keys, case: Case, expected: tuple[str, str] | None) -> None:
    got = policies.trigger(case(keys))
    assert (tuple(got) if got else None) == expected


def test_renewing_message_falls_back_to_the_computed_time_without_status(keys: Keys) -> None:
    got = policies.trigger(
        make_input(keys, sec=secret(keys, data={c.TLS_PRIVATE_KEY_KEY: keys.main_pem, c.TLS_CERT_KEY: _aged(keys)}))
    )
    assert got == ("Renewing", "Renewing certificate as renewal was scheduled at 2026-11-27 09:00:00 +0000 UTC")


def test_renewal_is_due_exactly_at_the_renewal_time_not_before(keys: Keys) -> None:
    aged = secret(keys, data={c.TLS_PRIVATE_KEY_KEY: keys.main_pem, c.TLS_CERT_KEY: _aged(keys)})
    assert policies.trigger(make_input(keys, sec=aged, now=NOW - dt.timedelta(seconds=1))) is None
    assert policies.trigger(make_input(keys, sec=aged, now=NOW)) is not None


READINESS: dict[str, tuple[Case, tuple[str, str, str]]] = {
    "an up to date certificate is Ready": (
        make_input,
        ("True", "Ready", "Certificate is up to date and has not expired"),
    ),
    "a certificate nearing expiry is still Ready": (
        lambda k: make_input(k, sec=secret(k, data={c.TLS_PRIVATE_KEY_KEY: k.main_pem, c.TLS_CERT_KEY: _aged(k)})),
        ("True", "Ready", "Certificate is up to date and has not expired"),
    ),
    "an expired certificate": (
        lambda k: make_input(k, now=dt.datetime(2027, 3, 1, tzinfo=UTC)),
        ("False", "Expired", "Certificate expired on Thu, 25 Feb 2027 08:00:00 UTC"),
    ),
    "a missing Secret is not Ready": (
        lambda k: make_input(k, sec=None),
        ("False", "DoesNotExist", "Issuing certificate as Secret does not exist"),
    ),
    "a changed spec is not Ready": (
        lambda k: make_input(k, dns_names=("www.example.com",)),
        ("False", "RequestChanged", "Fields on existing CertificateRequest resource not up to date: [spec.dnsNames]"),
    ),
    "an issuer mismatch is not Ready": (
        lambda k: make_input(k, sec=secret(k, annotations={**ANNOTATIONS, c.ANN_ISSUER_NAME: "x"})),
        (
            "False",
            "IncorrectIssuer",
            'Issuing certificate as Secret was previously issued by "Issuer.cert-manager.io/x"',
        ),
    ),
}


@pytest.mark.parametrize(("case", "expected"), READINESS.values(), ids=READINESS.keys())
def test_readiness(keys: Keys, case: Case, expected: tuple[str, str, str]) -> None:
    assert tuple(policies.readiness(case(keys))) == expected


CHAIN_ORDER: dict[str, tuple[Case, str]] = {
    "missing data wins over a wrong issuer annotation": (
        lambda k: make_input(k, sec=secret(k, data={c.TLS_CERT_KEY: k.leaf}, annotations={c.ANN_ISSUER_NAME: "x"})),
        "MissingData",
    ),
    "a bad key-pair wins over a wrong certificate-name annotation": (
        lambda k: make_input(
            k,
            sec=secret(
                k,
                data={c.TLS_PRIVATE_KEY_KEY: k.other_pem, c.TLS_CERT_KEY: k.leaf},
                annotations={**ANNOTATIONS, c.ANN_CERTIFICATE_NAME: "other"},
            ),
        ),
        "InvalidKeyPair",
    ),
    "a wrong issuer wins over a wrong certificate name": (
        lambda k: make_input(
            k, sec=secret(k, annotations={**ANNOTATIONS, c.ANN_ISSUER_NAME: "x", c.ANN_CERTIFICATE_NAME: "y"})
        ),
        "IncorrectIssuer",
    ),
    "a wrong certificate name wins over a private key mismatching the spec": (
        lambda k: make_input(
            k, sec=secret(k, annotations={**ANNOTATIONS, c.ANN_CERTIFICATE_NAME: "y"}), private_key=None
        ),
        "IncorrectCertificate",
    ),
    "a private key mismatching the spec wins over a changed request": (
        lambda k: make_input(k, private_key=None, dns_names=("www.example.com",)),
        "SecretMismatch",
    ),
    "a key differing from the current request wins over a changed request": (
        lambda k: make_input(k, current=request(make_csr(k.other)), dns_names=("www.example.com",)),
        "SecretMismatch",
    ),
    "a changed request wins over renewal": (
        lambda k: make_input(
            k,
            sec=secret(k, data={c.TLS_PRIVATE_KEY_KEY: k.main_pem, c.TLS_CERT_KEY: _aged(k)}),
            dns_names=("www.example.com",),
        ),
        "RequestChanged",
    ),
}


@pytest.mark.parametrize(("case", "reason"), CHAIN_ORDER.values(), ids=CHAIN_ORDER.keys())
def test_first_violation_wins(keys: Keys, case: Case, reason: str) -> None:
    got = policies.trigger(case(keys))
    assert got is not None
    assert got.reason == reason


def test_temporary_certificate_chain(keys: Keys) -> None:
    assert policies.temporary_certificate_needed(make_input(keys)) is None
    got = policies.temporary_certificate_needed(make_input(keys, sec=None))
    assert got == ("DoesNotExist", "Issuing certificate as Secret does not exist")


# ---------------------------------------------------------------------------------------------------------
# CSR vs spec (match.request_matches_spec) field by field

SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "GB"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme"),
        x509.NameAttribute(NameOID.COMMON_NAME, "example.com"),
    ]
)

REQUEST_MATCH: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any], list[str]]] = {
    # name: (csr kwargs, CR spec changes, Certificate spec changes, violations)
    "identical": ({}, {}, {}, []),
    "dnsNames compare unordered": (
        {"dns": ("b.example.com", "a.example.com")},
        {},
        {"dns_names": ("a.example.com", "b.example.com")},
        [],
    ),
    "an added IP address": ({}, {}, {"ip_addresses": ("10.0.0.1",)}, ["spec.ipAddresses"]),
    "IPv6 addresses compare by value": ({"ips": ("2001:db8::1",)}, {}, {"ip_addresses": ("2001:DB8:0::1",)}, []),
    "an added URI": ({}, {}, {"uris": ("spiffe://x/y",)}, ["spec.uris"]),
    "an added email address": ({}, {}, {"email_addresses": ("a@example.com",)}, ["spec.emailAddresses"]),
    "otherNames that match": (
        {"other_names": ((UPN, "u@x"),)},
        {},
        {"other_names": (types.OtherName(UPN, "u@x"),)},
        [],
    ),
    "otherNames that differ": (
        {"other_names": ((UPN, "u@x"),)},
        {},
        {"other_names": (types.OtherName(UPN, "v@x"),)},
        ["spec.otherNames"],
    ),
    "subject fields": (
        {"subject": SUBJECT},
        {},
        {"common_name": "example.com", "subject": types.X509Subject(countries=("GB",), organizations=("Acme",))},
        [],
    ),
    "a changed organization": (
        {"subject": SUBJECT},
        {},
        {"common_name": "example.com", "subject": types.X509Subject(countries=("GB",), organizations=("Other",))},
        ["spec.subject.organizations"],
    ),
    "provinces are printed as postCodes, like cert-manager": (
        {},
        {},
        {"subject": types.X509Subject(provinces=("Kent",))},
        ["spec.subject.postCodes"],
    ),
    "a literal subject that matches": ({"subject": SUBJECT}, {}, {"literal_subject": "CN=example.com,O=Acme,C=GB"}, []),
    "a literal subject in another order": (
        {"subject": SUBJECT},
        {},
        {"literal_subject": "C=GB,O=Acme,CN=example.com"},
        ["spec.literalSubject"],
    ),
    "usages compare unordered": (
        {},
        {"usages": ("server auth", "digital signature")},
        {"usages": ("digital signature", "server auth")},
        [],
    ),
    "changed usages": ({}, {"usages": ("server auth",)}, {"usages": ("client auth",)}, ["spec.usages"]),
    "durations compare by value": ({}, {"duration": "1h"}, {"duration": "60m"}, []),
    "a changed duration when both are set": ({}, {"duration": "1h"}, {"duration": "2h"}, ["spec.duration"]),
    "a duration only on the Certificate is ignored": ({}, {}, {"duration": "2h"}, []),
    "issuerRef defaults kind and group": (
        {},
        {"issuer_ref": types.IssuerRef(name="ca")},
        {"issuer_ref": types.IssuerRef(name="ca", kind="Issuer", group="cert-manager.io")},
        [],
    ),
    "a changed issuerRef kind": (
        {},
        {},
        {"issuer_ref": types.IssuerRef(name="ca", kind="ClusterIssuer")},
        ["spec.issuerRef"],
    ),
}


@pytest.mark.parametrize(
    ("csr_kw", "cr_changes", "spec_changes", "expected"), REQUEST_MATCH.values(), ids=REQUEST_MATCH.keys()
)
def test_request_matches_spec(
    keys: Keys, csr_kw: dict[str, Any], cr_changes: dict[str, Any], spec_changes: dict[str, Any], expected: list[str]
) -> None:
    csr = make_csr(keys.main, **{"dns": ("example.com",), **csr_kw})
    got = match.request_matches_spec(request(csr, **cr_changes), dataclasses.replace(SPEC, **spec_changes))
    assert got.value == expected


def test_request_with_non_utf8_other_name_is_not_a_reason_to_reissue(keys: Keys) -> None:
    name = x509.OtherName(x509.ObjectIdentifier(UPN), b"\x16\x03abc")  # IA5String, not UTF8String
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(x509.SubjectAlternativeName([name]), critical=False)
        .sign(keys.main, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    spec = dataclasses.replace(SPEC, dns_names=(), other_names=(types.OtherName(UPN, "abc"),))
    got = match.request_matches_spec(request(csr), spec)
    assert got.value is None
    assert got.error


def test_private_key_matches_spec_defaults(keys: Keys) -> None:
    assert match.private_key_matches_spec(keys.main, dataclasses.replace(SPEC, private_key=None)) == [
        "spec.privateKey.algorithm"
    ]
    assert match.private_key_matches_spec(keys.main, SPEC) == []
    assert match.private_key_matches_spec(keys.p384, SPEC) == ["spec.privateKey.size"]


# ---------------------------------------------------------------------------------------------------------
# Post-issuance


def _managed_secret(keys: Keys, **changes: Any) -> policies.SecretView:
    base = secret(
        keys,
        labels={c.LABEL_FAO: "true"},
        annotations={**ANNOTATIONS, c.ANN_COMMON_NAME: "", c.ANN_ALT_NAMES: "example.com"},
        managed_labels=frozenset({c.LABEL_FAO}),
        managed_annotations=frozenset({*ANNOTATIONS, c.ANN_COMMON_NAME, c.ANN_ALT_NAMES}),
        managed_data_keys=frozenset({c.TLS_CERT_KEY, c.TLS_PRIVATE_KEY_KEY}),
    )
    return dataclasses.replace(base, **changes)


DETAILS = {c.ANN_COMMON_NAME: "", c.ANN_ALT_NAMES: "example.com", c.ANN_CERTIFICATE_NAME: "ignored"}
TEMPLATE = types.SecretTemplate(labels={"team": "a"}, annotations={"note": "x"})


def _with(cert: types.Certificate = CERT, **spec_changes: Any) -> types.Certificate:
    return dataclasses.replace(cert, spec=dataclasses.replace(cert.spec, **spec_changes))


POST: dict[str, tuple[Callable[[Keys], policies.Input], bool, tuple[str, str] | None]] = {
    "a Secret as cert-manager writes it": (lambda k: make_input(k, sec=_managed_secret(k)), False, None),
    "a wrong base label value": (
        lambda k: make_input(k, sec=_managed_secret(k, labels={c.LABEL_FAO: "false"})),
        False,
        (
            "SecretManagedMetadataMismatch",
            'wrong base label controller.cert-manager.io/fao value "false", expected "true"',
        ),
    ),
    "a certificate-detail annotation with a stale value": (
        lambda k: make_input(
            k, sec=_managed_secret(k, annotations={**ANNOTATIONS, c.ANN_ALT_NAMES: "old.example.com"})
        ),
        False,
        ("SecretTemplateMismatch", "Secret metadata old.example.com does not match certificate metadata example.com"),
    ),
    "a managed label missing": (
        lambda k: make_input(k, sec=_managed_secret(k, managed_labels=frozenset())),
        False,
        ("SecretManagedMetadataMismatch", "Secret is missing these Managed Labels: [controller.cert-manager.io/fao]"),
    ),
    "an extra managed annotation": (
        lambda k: make_input(
            k,
            sec=_managed_secret(
                k, managed_annotations=frozenset({c.ANN_COMMON_NAME, c.ANN_ALT_NAMES, c.ANN_EMAIL_SANS})
            ),
        ),
        False,
        ("SecretManagedMetadataMismatch", "Secret has these extra Annotations: [cert-manager.io/email-sans]"),
    ),
    "unparsable managed fields": (
        lambda k: make_input(k, sec=_managed_secret(k, managed_fields_error="bad json")),
        False,
        ("ManagedFieldsParseError", "failed to decode managed fields on Secret: bad json"),
    ),
    "a template annotation missing on the Secret": (
        lambda k: make_input(k, sec=_managed_secret(k), secret_template=TEMPLATE),
        False,
        ("SecretTemplateMismatch", "Secret is missing these Template Labels: [team]"),
    ),
    "a template label with another value": (
        lambda k: make_input(
            k,
            sec=_managed_secret(k, labels={c.LABEL_FAO: "true", "team": "b"}),
            secret_template=types.SecretTemplate(labels={"team": "a"}),
        ),
        False,
        ("SecretTemplateMismatch", "Certificate's SecretTemplate Labels missing or incorrect value on Secret"),
    ),
    "a template annotation that was removed from the spec": (
        lambda k: make_input(
            k, sec=_managed_secret(k, managed_annotations=frozenset({c.ANN_COMMON_NAME, c.ANN_ALT_NAMES, "note"}))
        ),
        False,
        ("SecretTemplateMismatch", "Secret has these extra Annotations: [note]"),
    ),
    "a template applied": (
        lambda k: make_input(
            k,
            sec=_managed_secret(
                k,
                labels={c.LABEL_FAO: "true", "team": "a"},
                annotations={**ANNOTATIONS, **DETAILS, c.ANN_CERTIFICATE_NAME: "web", "note": "x"},
                managed_labels=frozenset({c.LABEL_FAO, "team"}),
                managed_annotations=frozenset({c.ANN_COMMON_NAME, c.ANN_ALT_NAMES, "note"}),
            ),
            secret_template=TEMPLATE,
        ),
        False,
        None,
    ),
    "an additional output format missing": (
        lambda k: make_input(
            k, sec=_managed_secret(k), additional_output_formats=(types.AdditionalOutputFormat("CombinedPEM"),)
        ),
        False,
        ("AdditionalOutputFormatsMismatch", "Certificate's AdditionalOutputFormats doesn't match Secret Data"),
    ),
    "an additional output format present but not owned": (
        lambda k: make_input(
            k,
            sec=_managed_secret(
                k,
                data={
                    c.TLS_PRIVATE_KEY_KEY: k.main_pem,
                    c.TLS_CERT_KEY: k.leaf,
                    "tls-combined.pem": k.main_pem + b"\n" + k.leaf,
                },
            ),
            additional_output_formats=(types.AdditionalOutputFormat("CombinedPEM"),),
        ),
        False,
        ("AdditionalOutputFormatsMismatch", "Certificate's AdditionalOutputFormats doesn't match Secret ManagedFields"),
    ),
    "a DER output format as cert-manager writes it": (
        lambda k: make_input(
            k,
            sec=_managed_secret(
                k,
                data={c.TLS_PRIVATE_KEY_KEY: k.main_pem, c.TLS_CERT_KEY: k.leaf, "key.der": _der(k)},
                managed_data_keys=frozenset({c.TLS_CERT_KEY, c.TLS_PRIVATE_KEY_KEY, "key.der"}),
            ),
            additional_output_formats=(types.AdditionalOutputFormat("DER"),),
        ),
        False,
        None,
    ),
    "an owner reference expected but absent": (
        lambda k: make_input(k, sec=_managed_secret(k)),
        True,
        (
            "SecretOwnerRefMismatch",
            "unexpected Secret Owner Reference value on Secret --enable-certificate-owner-ref=true",
        ),
    ),
    "an owner reference present but not owned": (
        lambda k: make_input(k, sec=_managed_secret(k, owner_references=(policies.certificate_owner_reference(CERT),))),
        True,
        (
            "SecretOwnerRefMismatch",
            "unexpected managed Secret Owner Reference field on Secret --enable-certificate-owner-ref=true",
        ),
    ),
    "an owned owner reference with the flag off": (
        lambda k: make_input(
            k,
            sec=_managed_secret(
                k,
                owner_references=(policies.certificate_owner_reference(CERT),),
                managed_owner_uids=frozenset({"uid-web"}),
            ),
        ),
        False,
        (
            "SecretOwnerRefMismatch",
            "unexpected managed Secret Owner Reference field on Secret --enable-certificate-owner-ref=false",
        ),
    ),
    "an owned owner reference with the flag on": (
        lambda k: make_input(
            k,
            sec=_managed_secret(
                k,
                owner_references=(policies.certificate_owner_reference(CERT),),
                managed_owner_uids=frozenset({"uid-web"}),
            ),
        ),
        True,
        None,
    ),
    "a keystore left over after keystores were removed": (
        lambda k: make_input(
            k,
            sec=_managed_secret(
                k, data={c.TLS_PRIVATE_KEY_KEY: k.main_pem, c.TLS_CERT_KEY: k.leaf, "keystore.p12": b"x"}
            ),
        ),
        False,
        ("SecretMismatch", "Keystore is not defined"),
    ),
    "a JKS keystore asked for but absent": (
        lambda k: make_input(
            k,
            sec=_managed_secret(k),
            keystores=types.CertificateKeystores(jks=types.JKSKeystore(create=True, password="x")),
        ),
        False,
        ("SecretMismatch", "JKS Keystore key does not contain data"),
    ),
    "a PKCS12 truststore missing while ca.crt is present": (
        lambda k: make_input(
            k,
            sec=_managed_secret(
                k,
                data={
                    c.TLS_PRIVATE_KEY_KEY: k.main_pem,
                    c.TLS_CERT_KEY: k.leaf,
                    "ca.crt": k.leaf,
                    "keystore.p12": b"x",
                },
            ),
            keystores=types.CertificateKeystores(pkcs12=types.PKCS12Keystore(create=True, password="x")),
        ),
        False,
        ("SecretMismatch", "PKCS12 Keystore key does not contain data"),
    ),
}


def _der(keys: Keys) -> bytes:
    return keys.main.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.mark.parametrize(("case", "owner_ref", "expected"), POST.values(), ids=POST.keys())
def test_post_issuance(
    keys: Keys, case: Callable[[Keys], policies.Input], owner_ref: bool, expected: tuple[str, str] | None
) -> None:
    got = policies.post_issuance(
        case(keys),
        desired_labels={c.LABEL_FAO: "true"},
        desired_annotations=DETAILS,
        owner_ref_enabled=owner_ref,
    )
    assert (tuple(got) if got else None) == expected


def test_post_issuance_without_a_secret_is_silent(keys: Keys) -> None:
    assert policies.post_issuance(make_input(keys, sec=None), {c.LABEL_FAO: "true"}, None) is None


def test_secret_view_from_wire_reads_managed_fields() -> None:
    fields = {
        "f:data": {"f:tls.crt": {}, "f:key.der": {}},
        "f:metadata": {
            "f:labels": {"f:controller.cert-manager.io/fao": {}},
            "f:annotations": {"f:cert-manager.io/common-name": {}},
            "f:ownerReferences": {'k:{"uid":"uid-web"}': {}},
        },
    }
    obj = {
        "metadata": {
            "name": "web-tls",
            "namespace": "default",
            "labels": {"a": "b"},
            "managedFields": [
                {"manager": "kubectl", "fieldsV1": {"f:data": {"f:other": {}}}},
                {"manager": policies.ISSUING_FIELD_MANAGER, "fieldsV1": fields},
            ],
        },
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": base64.b64encode(b"pem").decode(), "bad": "!!"},
    }
    view = policies.SecretView.from_wire(obj)
    assert view.data == {"tls.crt": b"pem", "bad": b""}
    assert view.managed_data_keys == {"tls.crt", "key.der"}
    assert view.managed_labels == {c.LABEL_FAO}
    assert view.managed_annotations == {c.ANN_COMMON_NAME}
    assert view.managed_owner_uids == {"uid-web"}
    bad = policies.SecretView.from_wire(
        {"metadata": {"managedFields": [{"manager": policies.ISSUING_FIELD_MANAGER, "fieldsV1": "{nope"}]}}
    )
    assert bad.managed_fields_error
    assert json.dumps(view.labels) == '{"a": "b"}'


# ---------------------------------------------------------------------------------------------------------
# Back-off, Issuing, owner of a shared secretName

BACKOFF = {
    "first failure waits 1h": (1, 1 * H),
    "second failure waits 2h": (2, 2 * H),
    "third failure waits 4h": (3, 4 * H),
    "fourth failure waits 8h": (4, 8 * H),
    "fifth failure waits 16h": (5, 16 * H),
    "sixth failure waits 32h": (6, 32 * H),
    "seventh failure is capped at 32h": (7, 32 * H),
    "a huge count is capped at 32h": (10_000, 32 * H),
    "no count waits the minimum": (None, 1 * H),
    "zero attempts waits the minimum": (0, 1 * H),
    "a negative count waits the minimum": (-3, 1 * H),
}


@pytest.mark.parametrize(("attempts", "expected"), BACKOFF.values(), ids=BACKOFF.keys())
def test_backoff_delay(attempts: int | None, expected: dt.timedelta) -> None:
    assert policies.backoff_delay(attempts) == expected


def test_backoff_delay_custom_bounds() -> None:
    assert policies.backoff_delay(3, dt.timedelta(minutes=5), dt.timedelta(minutes=15)) == dt.timedelta(minutes=15)
    assert policies.backoff_delay(2, dt.timedelta(minutes=5), dt.timedelta(minutes=15)) == dt.timedelta(minutes=10)


def test_next_issuance_allowed_at() -> None:
    failed = types.CertificateStatus(last_failure_time="2026-11-27T08:00:00Z", failed_issuance_attempts=3)
    assert policies.next_issuance_allowed_at(failed, True) == dt.datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert policies.next_issuance_allowed_at(types.CertificateStatus(), True) is None


def test_a_spec_change_lifts_the_backoff(keys: Keys) -> None:
    failed = types.CertificateStatus(last_failure_time="2026-11-27T08:00:00Z", failed_issuance_attempts=3)
    next_cr = request(keys.csr)
    assert policies.next_request_matches_spec(CERT, next_cr) is True
    assert policies.next_request_matches_spec(CERT, None) is True
    changed = _with(dns_names=("www.example.com",))
    assert policies.next_request_matches_spec(changed, next_cr) is False
    assert policies.next_request_matches_spec(CERT, request(b"garbage")) is False
    assert policies.next_issuance_allowed_at(failed, policies.next_request_matches_spec(changed, next_cr)) is None


def test_is_issuing() -> None:
    issuing = types.CertificateStatus(conditions=(types.Condition(type="Issuing", status="True"),))
    assert policies.is_issuing(dataclasses.replace(CERT, status=issuing)) is True
    not_issuing = types.CertificateStatus(conditions=(types.Condition(type="Issuing", status="False"),))
    assert policies.is_issuing(dataclasses.replace(CERT, status=not_issuing)) is False
    assert policies.is_issuing(CERT) is False


def _named(name: str, created: str) -> types.Certificate:
    return dataclasses.replace(CERT, metadata=types.ObjectMeta(name=name, creation_timestamp=created))


OWNER = {
    "the Secret's certificate-name annotation wins": (["a", "b"], "b", "b"),
    "an annotation naming an absent Certificate falls back to the oldest": (["a", "b"], "gone", "b"),
    "without a Secret the oldest wins": (["a", "b"], None, "b"),
    "equal ages fall back to the name": (["c", "d"], None, "c"),
}
CREATED = {
    "a": "2026-02-01T00:00:00Z",
    "b": "2026-01-01T00:00:00Z",
    "c": "2026-01-01T00:00:00Z",
    "d": "2026-01-01T00:00:00Z",
}


@pytest.mark.parametrize(("names", "annotated", "expected"), OWNER.values(), ids=OWNER.keys())
def test_secret_owner(keys: Keys, names: list[str], annotated: str | None, expected: str) -> None:
    certs = [_named(n, CREATED[n]) for n in names]
    view = None if annotated is None else secret(keys, annotations={c.ANN_CERTIFICATE_NAME: annotated})
    assert policies.secret_owner(certs, view) == expected
    assert policies.secret_owner([], view) == ""


# ---------------------------------------------------------------------------------------------------------
# Garbage never raises

_pem_garbage = st.builds(
    lambda label, body: (
        b"-----BEGIN " + label + b"-----\n" + base64.encodebytes(body) + b"-----END " + label + b"-----\n"
    ),
    st.sampled_from([b"CERTIFICATE", b"PRIVATE KEY", b"EC PRIVATE KEY", b"RSA PRIVATE KEY", b"CERTIFICATE REQUEST"]),
    st.binary(max_size=300),
)
_blob = st.one_of(st.binary(max_size=200), _pem_garbage)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.dictionaries(st.sampled_from([c.TLS_CERT_KEY, c.TLS_PRIVATE_KEY_KEY, c.CA_CERT_KEY, "x"]), _blob),
    annotations=st.dictionaries(
        st.sampled_from([c.ANN_ISSUER_NAME, c.ANN_ISSUER_KIND, c.ANN_CERTIFICATE_NAME, "x"]), st.text(max_size=10)
    ),
    csr=st.one_of(st.none(), _blob),
    keep_key=st.booleans(),
)
def test_garbage_secret_data_never_raises(
    keys: Keys, data: dict[str, bytes], annotations: dict[str, str], csr: bytes | None, keep_key: bool
) -> None:
    if keep_key:
        data = {**data, c.TLS_PRIVATE_KEY_KEY: keys.main_pem}
    view = secret(keys, data=data, annotations=annotations)
    current = None if csr is None else request(csr)
    snapshot = make_input(keys, sec=view, current=current)
    post = policies.post_issuance(snapshot, {c.LABEL_FAO: "true"}, DETAILS, owner_ref_enabled=keep_key)
    for result in (policies.trigger(snapshot), policies.readiness(snapshot), post):
        assert result is None or all(isinstance(part, str) for part in result)


BUILT_SPECS = {
    "dns names only": SPEC,
    "common name and subject": dataclasses.replace(
        SPEC,
        common_name="example.com",
        subject=types.X509Subject(
            organizations=("Acme", ""),
            countries=("GB",),
            provinces=("Kent",),
            postal_codes=("CT1",),
            street_addresses=("1 High St",),
            localities=("Canterbury",),
            organizational_units=("Ops",),
            serial_number="42",
        ),
    ),
    "a literal subject": dataclasses.replace(SPEC, literal_subject="CN=example.com,OU=a+OU=b,O=Acme,C=GB"),
    "every SAN type": dataclasses.replace(
        SPEC,
        ip_addresses=("10.0.0.1", "2001:db8::1"),
        uris=("spiffe://cluster.local/ns/default/sa/web",),
        email_addresses=("ops@example.com",),
        other_names=(types.OtherName(UPN, "user@example.com"),),
    ),
    "a CA with usages": dataclasses.replace(SPEC, is_ca=True, usages=("cert sign", "server auth")),
}


@pytest.mark.parametrize("spec", BUILT_SPECS.values(), ids=BUILT_SPECS.keys())
def test_a_csr_built_from_the_spec_matches_it(keys: Keys, spec: types.CertificateSpec) -> None:
    from issuer.pki import csr as pki_csr

    built = pki_csr.pem_bytes(pki_csr.build(spec, keys.main))
    cr = request(built, is_ca=spec.is_ca, usages=spec.usages)
    assert match.request_matches_spec(cr, spec).value == []


def test_post_issuance_without_desired_annotations_skips_the_detail_checks(keys: Keys) -> None:
    stale = _managed_secret(keys, annotations={**ANNOTATIONS, c.ANN_ALT_NAMES: "old.example.com"})
    assert policies.post_issuance(make_input(keys, sec=stale), {c.LABEL_FAO: "true"}, None) is None


def test_post_issuance_only_counts_cert_manager_keys_of_the_desired_metadata(keys: Keys) -> None:
    labels = {c.LABEL_FAO: "true", "team": "a"}  # a template label passed along is not a managed label
    annotations = {**DETAILS, **ANNOTATIONS, "note": "x"}
    assert policies.post_issuance(make_input(keys, sec=_managed_secret(keys)), labels, annotations) is None


def test_status_times_come_from_the_leaf(keys: Keys) -> None:
    times = policies.status_times(make_input(keys))
    assert times == policies.StatusTimes(NOW - H, NOW + 90 * DAY - H, NOW + 60 * DAY - H, "")
    assert policies.status_times(make_input(keys, sec=None)) == policies.StatusTimes()
    garbage = secret(keys, data={c.TLS_CERT_KEY: b"x"})
    assert policies.status_times(make_input(keys, sec=garbage)) == policies.StatusTimes()
    disabled = policies.status_times(make_input(keys, renewal=types.Renewal(policy="Disabled")))
    assert disabled.renewal_time is None
    assert disabled.not_after == NOW + 90 * DAY - H


def test_a_renewal_window_error_makes_the_certificate_not_ready(keys: Keys) -> None:
    windows = types.Renewal(
        windows=(types.RenewalWindow(timezone="Not/AZone", cron="0 1 * * *", window_duration="1h"),)
    )
    got = policies.readiness(make_input(keys, renewal=windows))
    assert got == (
        "False",
        "WindowError",
        "Could not calculate renewal time: error parsing timezone in window unknown time zone Not/AZone",
    )
    times = policies.status_times(make_input(keys, renewal=windows))
    assert times.renewal_time == NOW + 60 * DAY - H


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [
        pytest.param(None, dt.timedelta(minutes=5), id="ca-friendly: no attempts yet waits 5 minutes"),
        pytest.param(1, dt.timedelta(minutes=5), id="ca-friendly: the first failure waits 5 minutes"),
        pytest.param(2, dt.timedelta(minutes=15), id="ca-friendly: the second waits 15 minutes"),
        pytest.param(3, dt.timedelta(minutes=30), id="ca-friendly: the third waits 30 minutes"),
        pytest.param(4, dt.timedelta(hours=1), id="ca-friendly: from the fourth on never under an hour"),
        pytest.param(5, dt.timedelta(hours=2), id="ca-friendly: then doubling"),
        pytest.param(50, dt.timedelta(hours=32), id="ca-friendly: capped at the maximum"),
    ],
)
def test_ca_friendly_backoff_schedule(attempts: int | None, expected: dt.timedelta) -> None:
    assert policies.backoff_delay(attempts, ca_friendly=True) == expected
    assert all(policies.backoff_delay(n, ca_friendly=True) >= dt.timedelta(hours=1) for n in range(4, 80))
