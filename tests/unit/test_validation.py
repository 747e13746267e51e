"""cert-manager webhook parity for issuer.api.validation: accept/reject tables per kind, the helpers
others reuse (literal subjects, names, nameservers, cron), and hypothesis over garbled manifests."""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from issuer.api import types as t
from issuer.api import validation as v
from issuer.api.model import InvalidObject, Violation, invalid

DELETE = object()  # a fragment value that removes the key from the base manifest


def merge(base: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in fragment.items():
        if value is DELETE:
            out.pop(key, None)
        elif isinstance(value, dict) and value.get("__replace__"):
            out[key] = merge({}, {k: x for k, x in value.items() if k != "__replace__"})
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _key_and_name() -> tuple[ec.EllipticCurvePrivateKey, x509.Name]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])


def _csr_pem() -> bytes:
    key, name = _key_and_name()
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def _cert_pem() -> bytes:
    key, name = _key_and_name()
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


CSR_PEM = _csr_pem()
CERT_PEM = _cert_pem()


def b64s(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ---------------------------------------------------------------------------------------------------------
# Base manifests

CERTIFICATE: dict[str, Any] = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "Certificate",
    "metadata": {"name": "web", "namespace": "demo"},
    "spec": {
        "secretName": "web-tls",
        "dnsNames": ["web.example.com"],
        "issuerRef": {"name": "ca", "kind": "ClusterIssuer"},
    },
}

ISSUER: dict[str, Any] = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "Issuer",
    "metadata": {"name": "letsencrypt", "namespace": "demo"},
    "spec": {
        "acme": {
            "server": "https://acme.example.com/directory",
            "email": "ops@example.com",
            "privateKeySecretRef": {"name": "acme-account"},
        }
    },
}

CERTIFICATE_REQUEST: dict[str, Any] = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "CertificateRequest",
    "metadata": {
        "name": "web-1",
        "namespace": "demo",
        "annotations": {"cert-manager.io/certificate-revision": "1", "example.com/note": "a"},
    },
    "spec": {
        "request": b64s(CSR_PEM),
        "issuerRef": {"name": "ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
        "usages": ["digital signature", "key encipherment"],
    },
}

ORDER: dict[str, Any] = {
    "apiVersion": "acme.cert-manager.io/v1",
    "kind": "Order",
    "metadata": {"name": "web-1-123", "namespace": "demo"},
    "spec": {
        "request": b64s(CSR_PEM),
        "issuerRef": {"name": "letsencrypt", "kind": "Issuer", "group": "cert-manager.io"},
        "dnsNames": ["web.example.com"],
    },
    "status": {
        "url": "https://acme.example.com/order/1",
        "finalizeURL": "https://acme.example.com/order/1/finalize",
        "state": "pending",
        "authorizations": [
            {
                "url": "https://acme.example.com/authz/1",
                "identifier": "web.example.com",
                "wildcard": False,
                "initialState": "pending",
                "challenges": [{"url": "https://acme.example.com/chall/1", "token": "tok", "type": "http-01"}],
            }
        ],
    },
}

CHALLENGE: dict[str, Any] = {
    "apiVersion": "acme.cert-manager.io/v1",
    "kind": "Challenge",
    "metadata": {"name": "web-1-123-456", "namespace": "demo"},
    "spec": {
        "url": "https://acme.example.com/chall/1",
        "authorizationURL": "https://acme.example.com/authz/1",
        "dnsName": "web.example.com",
        "type": "HTTP-01",
        "token": "tok",
        "key": "tok.thumb",
        "solver": {"http01": {"ingress": {"ingressClassName": "nginx"}}},
        "issuerRef": {"name": "letsencrypt", "kind": "Issuer", "group": "cert-manager.io"},
    },
}


def certificate(spec: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    return merge(CERTIFICATE, {"spec": spec or {}, **top})


def strings(violations: list[Violation]) -> list[str]:
    return [str(x) for x in violations]


# ---------------------------------------------------------------------------------------------------------
# Certificate

AT_LEAST_ONE = (
    'spec: Invalid value: "": at least one of commonName (from the commonName field or from a literalSubject), '
    "dnsNames, emailSANs, ipAddresses, otherNames, or uriSANs must be set"
)
SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_VALUE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation "
    "is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
CRON_HELP = "cron needs to follow: cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow"
ONLY_ADDRESS = "invalid email address: make sure the supplied value only contains the email address itself"

CERTIFICATE_CASES = [
    pytest.param({}, [], id="accepts a minimal certificate with one dnsName"),
    pytest.param({"duration": "1h"}, [], id="accepts a duration of exactly 1h"),
    pytest.param({"duration": "1.5h", "renewBefore": "5m"}, [], id="accepts a renewBefore of exactly 5m"),
    pytest.param({"duration": "2h", "renewBefore": "119m"}, [], id="accepts a renewBefore just under the duration"),
    pytest.param({"duration": "1h", "renewBeforePercentage": 50}, [], id="accepts renewBeforePercentage 50 of 1h"),
    pytest.param(
        {"renewBeforePercentage": 100},
        [],
        id="accepts renewBeforePercentage 100 when neither duration nor renewBefore is set (webhook quirk)",
    ),
    pytest.param(
        {"dnsNames": DELETE, "literalSubject": "CN=app.example.com,O=Example,C=GB"},
        [],
        id="accepts a literalSubject whose CN is the only name",
    ),
    pytest.param(
        {"literalSubject": "CN=app,1.2.840.113549.1.9.1=#160d6f7073406578616d706c652e636f6d"},
        [],
        id="accepts a dotted OID with a #hex BER value in a literalSubject",
    ),
    pytest.param(
        {"issuerRef": {"name": "pca", "kind": "AWSPCAClusterIssuer", "group": "awspca.cert-manager.io"}},
        [],
        id="accepts an external issuer kind with its own group",
    ),
    pytest.param(
        {"ipAddresses": ["10.0.0.1", "2001:db8::1", "::ffff:10.0.0.1"]}, [], id="accepts IPv4 and IPv6 addresses"
    ),
    pytest.param({"emailAddresses": ["ops@example.com"]}, [], id="accepts a bare email address"),
    pytest.param(
        {"otherNames": [{"oid": "1.3.6.1.4.1.311.20.2.3", "utf8Value": "upn@example.com"}]},
        [],
        id="accepts a UPN otherName",
    ),
    pytest.param(
        {"secretTemplate": {"annotations": {"cert-manager.io/allow-direct-injection": "true"}, "labels": {"a": "b"}}},
        [],
        id="accepts the allow-direct-injection annotation in secretTemplate",
    ),
    pytest.param(
        {"privateKey": {"algorithm": "RSA", "size": 8192, "encoding": "PKCS8", "rotationPolicy": "Never"}},
        [],
        id="accepts an RSA 8192 key in PKCS8 never rotated",
    ),
    pytest.param(
        {"privateKey": {"algorithm": "Ed25519", "size": 1}, "signatureAlgorithm": "PureEd25519"},
        [],
        id="accepts Ed25519 with PureEd25519 and ignores its size",
    ),
    pytest.param(
        {"keystores": {"jks": {"create": True, "passwordSecretRef": {"name": "jks", "key": "password"}}}},
        [],
        id="accepts a JKS keystore with a password Secret",
    ),
    pytest.param(
        {"isCA": True, "nameConstraints": {"permitted": {"dnsDomains": ["example.com"], "ipRanges": ["10.0.0.0/8"]}}},
        [],
        id="accepts name constraints on a CA",
    ),
    pytest.param(
        {
            "renewal": {
                "policy": "RenewBefore",
                "windows": [{"cron": "0 2 * * MON-FRI", "windowDuration": "2h30m", "timezone": "Europe/London"}],
            }
        },
        [],
        id="accepts a weekday renewal window in a named time zone",
    ),
    pytest.param(
        {"duration": "30m"},
        ['spec.duration: Invalid value: "30m": certificate duration must be greater than 1h0m0s'],
        id="rejects a duration of 30m",
    ),
    pytest.param(
        {"duration": "90 days"},
        ['spec.duration: Invalid value: "90 days": time: invalid duration "90 days"'],
        id="rejects a duration that is not a Go duration",
    ),
    pytest.param(
        {"renewBefore": "4m"},
        ['spec.renewBefore: Invalid value: "4m": certificate renewBefore must be greater than 5m0s'],
        id="rejects a renewBefore of 4m",
    ),
    pytest.param(
        {"renewBefore": "2160h"},
        [
            'spec.renewBefore: Invalid value: "2160h": '
            "certificate duration 2160h0m0s must be greater than renewBefore 2160h0m0s"
        ],
        id="rejects a renewBefore equal to the default 90 day duration",
    ),
    pytest.param(
        {"duration": "1h", "renewBefore": "90m"},
        [
            'spec.renewBefore: Invalid value: "90m": '
            "certificate duration 1h0m0s must be greater than renewBefore 1h30m0s"
        ],
        id="rejects a renewBefore longer than the duration",
    ),
    pytest.param(
        {"duration": "24h", "renewBefore": "1h", "renewBeforePercentage": 50},
        [
            'spec.renewBefore: Invalid value: "1h": '
            "renewBefore and renewBeforePercentage are mutually exclusive and cannot both be set",
            "spec.renewBeforePercentage: Invalid value: 50: "
            "renewBefore and renewBeforePercentage are mutually exclusive and cannot both be set",
        ],
        id="rejects renewBefore together with renewBeforePercentage",
    ),
    pytest.param(
        {"duration": "1h", "renewBeforePercentage": 95},
        [
            "spec.renewBeforePercentage: Invalid value: 95: "
            "certificate renewBeforePercentage must result in a renewBefore greater than 5m0s"
        ],
        id="rejects renewBeforePercentage 95 of 1h because the webhook computes 1h*(100-95)/100",
    ),
    pytest.param(
        {"duration": "24h", "renewBeforePercentage": 0},
        [
            "spec.renewBeforePercentage: Invalid value: 0: "
            "certificate renewBeforePercentage must result in a renewBefore less than duration"
        ],
        id="rejects renewBeforePercentage 0 since the webhook formula gives the whole duration",
    ),
    pytest.param({"dnsNames": DELETE}, [AT_LEAST_ONE], id="rejects a certificate without any name"),
    pytest.param(
        {"commonName": "a" * 65},
        ["spec.commonName: Too long: may not be more than 64 bytes"],
        id="rejects a 65 byte CN",
    ),
    pytest.param(
        {"literalSubject": "CN=" + "a" * 65},
        ["spec.commonName: Too long: may not be more than 64 bytes"],
        id="rejects a literalSubject CN longer than 64 bytes under spec.commonName",
    ),
    pytest.param(
        {"literalSubject": "CN=" + "a" * 65 + ",CN=short"},
        ["spec.commonName: Too long: may not be more than 64 bytes"],
        id="takes the first CN written in a literalSubject, as cert-manager walks the RDN sequence",
    ),
    pytest.param(
        {"literalSubject": "CN=short,CN=" + "a" * 65},
        [],
        id="ignores a later long CN in a literalSubject",
    ),
    pytest.param(
        {"literalSubject": "CN=app", "commonName": "app"},
        ['spec.commonName: Invalid value: "app": When providing a `LiteralSubject` no `commonName` may be provided.'],
        id="rejects a commonName next to a literalSubject",
    ),
    pytest.param(
        {"literalSubject": "CN=app", "subject": {"organizations": ["Example"]}},
        [
            'spec.subject: Invalid value: {"organizations":["Example"]}: '
            "When providing a `LiteralSubject` no `Subject` properties may be provided."
        ],
        id="rejects subject properties next to a literalSubject",
    ),
    pytest.param(
        {"literalSubject": "CN=app,EMAIL=ops@example.com"},
        [
            'spec.literalSubject: Invalid value: "CN=app,EMAIL=ops@example.com": '
            "Literal subject contains unrecognized key with value [ops@example.com]"
        ],
        id="rejects an unknown attribute type in a literalSubject",
    ),
    pytest.param(
        {"literalSubject": "cn=app"},
        ['spec.literalSubject: Invalid value: "cn=app": Literal subject contains unrecognized key with value [app]'],
        id="rejects lower-case attribute names as cert-manager does",
    ),
    pytest.param(
        {"literalSubject": "CN=app,O"},
        ['spec.literalSubject: Invalid value: "CN=app,O": DN ended with incomplete type, value pair'],
        id="rejects a literalSubject that does not parse",
    ),
    pytest.param(
        {"ipAddresses": ["10.0.0.256", "fe80::1%eth0"]},
        [
            'spec.ipAddresses[0]: Invalid value: "10.0.0.256": invalid IP address',
            'spec.ipAddresses[1]: Invalid value: "fe80::1%eth0": invalid IP address',
        ],
        id="rejects an out of range IPv4 and a zoned IPv6 address",
    ),
    pytest.param(
        {"emailAddresses": ["Ops <ops@example.com>", "ops.example.com"]},
        [
            f'spec.emailAddresses[0]: Invalid value: "Ops <ops@example.com>": {ONLY_ADDRESS}',
            'spec.emailAddresses[1]: Invalid value: "ops.example.com": '
            "invalid email address: mail: missing '@' or angle-addr",
        ],
        id="rejects an email with a display name and one without an at sign",
    ),
    pytest.param(
        {"uris": ["spiffe://cluster.local/%zz"]},
        [
            'spec.uris[0]: Invalid value: "spiffe://cluster.local/%zz": '
            'parse "spiffe://cluster.local/%zz": invalid URL escape "%zz"'
        ],
        id="rejects a URI that Go's url.Parse refuses",
    ),
    pytest.param(
        {"otherNames": [{"utf8Value": "x"}, {"oid": "1.2.3", "utf8Value": ""}, {"oid": "UPN", "utf8Value": "x"}]},
        [
            "spec.otherNames[0].oid: Required value: must be specified",
            'spec.otherNames[0].oid: Invalid value: "": invalid oid syntax',
            "spec.otherNames[1].utf8Value: Required value: must be set to a valid non-empty UTF8 string",
            'spec.otherNames[2].oid: Invalid value: "UPN": invalid oid syntax',
        ],
        id="rejects otherNames without a dotted oid or value",
    ),
    pytest.param(
        {"issuerRef": {"__replace__": True, "kind": "Issuer"}},
        ["spec.issuerRef.name: Required value: must be specified"],
        id="rejects an issuerRef without a name",
    ),
    pytest.param(
        {"issuerRef": {"kind": "AWSPCAClusterIssuer"}},
        [
            'spec.issuerRef.kind: Invalid value: "AWSPCAClusterIssuer": must be one of Issuer or ClusterIssuer '
            "(did you forget to set spec.issuerRef.kind.group?)"
        ],
        id="rejects an external kind without a group with cert-manager's hint",
    ),
    pytest.param(
        {"issuerRef": {"kind": "Foo", "group": "cert-manager.io"}},
        ['spec.issuerRef.kind: Invalid value: "Foo": must be one of Issuer or ClusterIssuer'],
        id="rejects an unknown kind in the cert-manager.io group without the hint",
    ),
    pytest.param(
        {"usages": ["server auth", "serverAuth"]},
        ['spec.usages[1]: Invalid value: "serverAuth": unknown keyusage'],
        id="rejects an unknown key usage",
    ),
    pytest.param(
        {"privateKey": {"size": 1024}},
        ["spec.privateKey.size: Invalid value: 1024: must be between 2048 and 8192 for rsa keyAlgorithm"],
        id="rejects an RSA key of 1024 bits",
    ),
    pytest.param(
        {"privateKey": {"algorithm": "ECDSA", "size": 512}},
        ['spec.privateKey.size: Unsupported value: 512: supported values: "256", "384", "521"'],
        id="rejects an ECDSA key of 512 bits",
    ),
    pytest.param(
        {"privateKey": {"algorithm": "DSA"}},
        ['spec.privateKey.algorithm: Invalid value: "DSA": must be either empty or one of rsa, ecdsa or ed25519'],
        id="rejects an unknown key algorithm",
    ),
    pytest.param(
        {"privateKey": {"encoding": "PKCS7", "rotationPolicy": "Sometimes"}},
        [
            'spec.privateKey.encoding: Unsupported value: "PKCS7": supported values: "PKCS1", "PKCS8"',
            'spec.privateKey.rotationPolicy: Unsupported value: "Sometimes": supported values: "Never", "Always"',
        ],
        id="rejects an unknown key encoding and rotation policy",
    ),
    pytest.param(
        {"privateKey": {"algorithm": "ECDSA"}, "signatureAlgorithm": "SHA256WithRSA"},
        [
            'spec.signatureAlgorithm: Invalid value: "SHA256WithRSA": for key algorithm ECDSA the allowed '
            "signature algorithms are [ECDSAWithSHA256 ECDSAWithSHA384 ECDSAWithSHA512]"
        ],
        id="rejects an RSA signature algorithm for an ECDSA key",
    ),
    pytest.param(
        {"signatureAlgorithm": "PureEd25519"},
        [
            'spec.signatureAlgorithm: Invalid value: "PureEd25519": for key algorithm RSA the allowed '
            "signature algorithms are [SHA256WithRSA SHA384WithRSA SHA512WithRSA]"
        ],
        id="rejects PureEd25519 when the key algorithm defaults to RSA",
    ),
    pytest.param(
        {"keystores": {"jks": {"create": True, "password": "x", "passwordSecretRef": {"name": "s", "key": "k"}}}},
        [
            "spec.keystores.jks: Forbidden: exactly one of passwordSecretRef and password must be provided for "
            "JKS keystores; cannot set both"
        ],
        id="rejects a JKS keystore with both a password and a password Secret",
    ),
    pytest.param(
        {"keystores": {"pkcs12": {"create": True}}},
        [
            "spec.keystores.pkcs12: Forbidden: must set exactly one of passwordSecretRef and password must for "
            "PKCS#12 keystores"
        ],
        id="rejects a PKCS12 keystore without any password",
    ),
    pytest.param(
        {"keystores": {"jks": {"create": True, "password": ""}}},
        ["spec.keystores.jks.password: Forbidden: literal password cannot be empty if set on JKS keystores"],
        id="rejects an empty literal keystore password",
    ),
    pytest.param(
        {"keystores": {"pkcs12": {"create": True, "password": "p", "profile": "Modern2030"}}},
        [
            'spec.keystores.pkcs12.profile: Unsupported value: "Modern2030": supported values: '
            '"LegacyRC2", "LegacyDES", "Modern2023", "Modern2026"'
        ],
        id="rejects an unknown PKCS12 profile",
    ),
    pytest.param(
        {"revisionHistoryLimit": 0},
        ["spec.revisionHistoryLimit: Invalid value: 0: must not be less than 1"],
        id="rejects a revisionHistoryLimit of 0",
    ),
    pytest.param(
        {"additionalOutputFormats": [{"type": "DER"}, {"type": "DER"}, {"type": "PFX"}]},
        [
            'spec.additionalOutputFormats[type]: Duplicate value: "DER"',
            'spec.additionalOutputFormats[2].type: Unsupported value: "PFX": supported values: "DER", "CombinedPEM"',
        ],
        id="rejects duplicate and unknown additional output formats",
    ),
    pytest.param(
        {"nameConstraints": {"permitted": {"dnsDomains": ["example.com"]}}},
        [
            'spec.nameConstraints: Invalid value: {"permitted":{"dnsDomains":["example.com"]}}: '
            "isCa should be true when nameConstraints is set"
        ],
        id="rejects name constraints on a leaf",
    ),
    pytest.param(
        {"isCA": True, "nameConstraints": {"critical": True}},
        ['spec.nameConstraints: Invalid value: {"critical":true}: either permitted or excluded must be set'],
        id="rejects name constraints with neither permitted nor excluded",
    ),
    pytest.param(
        {"isCA": True, "nameConstraints": {"excluded": {"ipRanges": ["10.0.0.1"]}}},
        ['spec.nameConstraints.excluded.ipRanges[0]: Invalid value: "10.0.0.1": invalid CIDR address: 10.0.0.1'],
        id="rejects an ipRange that is not a CIDR",
    ),
    pytest.param(
        {"secretTemplate": {"annotations": {"cert-manager.io/issuer-name": "x"}}},
        [
            'spec.secretTemplate.annotations: Invalid value: "cert-manager.io/issuer-name": '
            "cert-manager.io/* annotations are not allowed"
        ],
        id="rejects cert-manager annotations in the secretTemplate",
    ),
    pytest.param(
        {"secretTemplate": {"labels": {"team": "a b"}}},
        [f'spec.secretTemplate.labels: Invalid value: "a b": {LABEL_VALUE}'],
        id="rejects a secretTemplate label value with a space",
    ),
    pytest.param(
        {"secretName": "Web_TLS"},
        [f'spec.secretName: Invalid value: "Web_TLS": {SUBDOMAIN}'],
        id="rejects a secretName that is not a DNS-1123 subdomain",
    ),
    pytest.param(
        {"secretName": DELETE},
        ["spec.secretName: Required value: must be specified"],
        id="rejects a certificate without a secretName",
    ),
    pytest.param(
        {"renewal": {"policy": "Disabled", "windows": [{"cron": "0 0 * * *", "windowDuration": "1h"}]}},
        ["spec.renewal.windows: Forbidden: windows cannot be set when `renewal.policy` is set to Disabled"],
        id="rejects renewal windows when renewal is disabled",
    ),
    pytest.param(
        {"renewal": {"policy": "Sometimes"}},
        [
            'spec.renewal.policy: Unsupported value: "unsupported field Sometimes": supported values: '
            '"Disabled", "RenewBefore"'
        ],
        id="rejects an unknown renewal policy",
    ),
    pytest.param(
        {"renewal": {"windows": [{"cron": "0 0 * * *"}, {"cron": "* * *", "windowDuration": "1d"}]}},
        [
            "spec.renewal.policy: Required value",
            "spec.renewal.windows[0].windowDuration: Required value: "
            "windowDuration must be specified and should be greater than 0",
            'spec.renewal.windows[1].windowDuration: Invalid value: "1d": spec.renewal.windows[1].windowDuration '
            "in body should match '^([0-9]+(\\.[0-9]+)?(s|m|h))+$'",
            'spec.renewal.windows[1].cron: Invalid value: "* * *": invalid cron syntax: '
            f"expected exactly 5 fields, found 3: [* * *]. {CRON_HELP}",
        ],
        id="rejects renewal without a policy and windows without a duration, with days, or with a short cron",
    ),
    pytest.param(
        {
            "renewal": {
                "policy": "RenewBefore",
                "windows": [{"cron": "0 0 * * *", "windowDuration": "1h", "timezone": "Mars/Olympus"}],
            }
        },
        [
            'spec.renewal.windows[0].timezone: Invalid value: "Mars/Olympus": '
            "invalid value for timezone. timezone must be IANA compliant"
        ],
        id="rejects a time zone that is not in the IANA database",
    ),
]


@pytest.mark.parametrize(("spec", "expected"), CERTIFICATE_CASES)
def test_certificate(spec: dict[str, Any], expected: list[str]) -> None:
    assert strings(v.validate(certificate(spec))) == expected


def test_certificate_metadata_name_must_be_a_subdomain() -> None:
    manifest = certificate(metadata={"name": "Web"})
    assert strings(v.validate(manifest)) == [f'metadata.name: Invalid value: "Web": {SUBDOMAIN}']


def test_certificate_without_name_or_generate_name() -> None:
    manifest = certificate(metadata={"__replace__": True, "namespace": "demo"})
    assert strings(v.validate(manifest)) == ["metadata.name: Required value: name or generateName is required"]


def test_duration_violation_reads_like_cert_manager() -> None:
    cert = t.parse_certificate(certificate({"duration": "30m"}))
    (violation,) = v.validate_certificate(cert)
    assert violation.field == "spec.duration"
    assert str(violation) == 'spec.duration: Invalid value: "30m": certificate duration must be greater than 1h0m0s'


# ---------------------------------------------------------------------------------------------------------
# Issuer and ClusterIssuer

SOLVER_PATH = "spec.acme.solvers[0]"


def issuer(spec: dict[str, Any], kind: str = "Issuer") -> dict[str, Any]:
    return merge(ISSUER, {"kind": kind, "spec": {"__replace__": True, **spec}})


def acme(fields: dict[str, Any]) -> dict[str, Any]:
    return {"acme": merge(ISSUER["spec"]["acme"], fields)}


def solver(config: dict[str, Any]) -> dict[str, Any]:
    return acme({"solvers": [config]})


def rfc2136(fields: dict[str, Any]) -> dict[str, Any]:
    return solver({"dns01": {"rfc2136": {"nameserver": "10.0.0.53", **fields}}})


NAMESERVER = (
    "nameserver must be set in the form host:port where host is an IPv4 address, an enclosed IPv6 address or a "
    "hostname and port is an optional port number."
)

ISSUER_CASES = [
    pytest.param({"selfSigned": {}}, [], id="accepts a selfSigned issuer"),
    pytest.param(
        {"ca": {"secretName": "ca-key-pair", "ocspServers": ["http://ocsp.example.com"]}}, [], id="accepts a CA issuer"
    ),
    pytest.param(
        acme(
            {
                "caBundle": b64s(CERT_PEM),
                "externalAccountBinding": {"keyID": "kid", "keySecretRef": {"name": "eab", "key": "secret"}},
                "solvers": [
                    {
                        "selector": {"dnsZones": ["example.com"]},
                        "dns01": {
                            "rfc2136": {
                                "nameserver": "[2001:db8::53]:53",
                                "tsigKeyName": "k",
                                "tsigAlgorithm": "hmacsha256",
                                "tsigSecretSecretRef": {"name": "tsig", "key": "secret"},
                            }
                        },
                    },
                    {
                        "http01": {"ingress": {"ingressClassName": "nginx", "serviceType": "ClusterIP"}},
                        "waitInsteadOfSelfCheck": "30s",
                    },
                    {"http01": {"gatewayHTTPRoute": {"parentRefs": [{"name": "gw", "kind": "Gateway"}]}}},
                    {"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "token"}}}},
                ],
            }
        ),
        [],
        id="accepts an ACME issuer with a CA bundle, EAB and four kinds of solver",
    ),
    pytest.param({}, ["spec: Required value: at least one issuer must be configured"], id="rejects no issuer type"),
    pytest.param(
        {"selfSigned": {}, "ca": {"secretName": "x"}},
        ["spec.selfSigned: Forbidden: may not specify more than one issuer type"],
        id="rejects two issuer types on the later one",
    ),
    pytest.param(
        {"ca": {"ocspServers": [""], "issuingCertificateURLs": ["http://a", ""]}},
        [
            "spec.ca.secretName: Required value",
            'spec.ca.ocspServer[0]: Invalid value: "": must be a valid URL, e.g., http://ocsp.int-x3.letsencrypt.org',
            'spec.ca.issuingCertificateURLs[1]: Invalid value: "": must be a valid URL',
        ],
        id="rejects a CA issuer without secretName or with empty URLs (cert-manager's ocspServer path)",
    ),
    pytest.param(
        {"acme": {"email": "ops@example.com"}},
        [
            "spec.acme.privateKeySecretRef.name: Required value: private key secret name is a required field",
            "spec.acme.server: Required value: acme server URL is a required field",
        ],
        id="rejects an ACME issuer without server or account key Secret",
    ),
    pytest.param(
        acme({"skipTLSVerify": True, "caBundle": b64s(CERT_PEM)}),
        [
            'spec.acme.caBundle: Invalid value: "": caBundle and skipTLSVerify are mutually exclusive and cannot '
            "both be set",
            "spec.acme.skipTLSVerify: Invalid value: true: caBundle and skipTLSVerify are mutually exclusive and "
            "cannot both be set",
        ],
        id="rejects skipTLSVerify together with a caBundle",
    ),
    pytest.param(
        acme({"caBundle": b64s(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")}),
        ['spec.acme.caBundle: Invalid value: "": cert bundle didn\'t contain any valid certificates'],
        id="rejects a caBundle without a parsable certificate",
    ),
    pytest.param(
        acme({"externalAccountBinding": {"keyAlgorithm": "HS256"}}),
        [
            "spec.acme.externalAccountBinding.keyID: Required value: the keyID field is required when using "
            "externalAccountBinding",
            "spec.acme.externalAccountBinding.keySecretRef.name: Required value: secret name is required",
            "spec.acme.externalAccountBinding.keySecretRef.key: Required value: secret key is required",
        ],
        id="rejects external account binding without keyID or key Secret",
    ),
    pytest.param(
        acme({"preferredChain": "x" * 65}),
        ["spec.acme.preferredChain: Too long: may not be more than 64 bytes"],
        id="rejects a preferredChain longer than 64 bytes",
    ),
    pytest.param(
        solver({"selector": {"dnsNames": ["a.example.com"]}}),
        [f"{SOLVER_PATH}: Required value: no solver type configured"],
        id="rejects a solver without http01 or dns01",
    ),
    pytest.param(
        solver({"http01": {"ingress": {}}, "dns01": {"webhook": {"solverName": "x"}}}),
        [f"{SOLVER_PATH}: Forbidden: may not specify more than one solver type in a single solver"],
        id="rejects a solver with both http01 and dns01",
    ),
    pytest.param(
        solver({"http01": {}}),
        [f"{SOLVER_PATH}.http01: Required value: no HTTP01 solver type configured"],
        id="rejects http01 without ingress or gatewayHTTPRoute",
    ),
    pytest.param(
        solver({"http01": {"ingress": {}, "gatewayHTTPRoute": {}}}),
        [f"{SOLVER_PATH}.http01: Required value: only 1 HTTP01 solver type may be configured"],
        id="rejects http01 with both ingress and gatewayHTTPRoute",
    ),
    pytest.param(
        solver({"http01": {"ingress": {"class": "nginx", "name": "web"}}}),
        [
            f"{SOLVER_PATH}.http01.ingress: Forbidden: "
            "only one of 'ingressClassName', 'name' or 'class' should be specified"
        ],
        id="rejects an ingress solver with both class and name",
    ),
    pytest.param(
        solver({"http01": {"ingress": {"ingressClassName": "azure/application-gateway"}}}),
        [
            f'{SOLVER_PATH}.http01.ingress.ingressClassName: Invalid value: "azure/application-gateway": '
            f"must be a valid IngressClass name: {SUBDOMAIN}"
        ],
        id="rejects an ingressClassName that is not a resource name",
    ),
    pytest.param(
        solver({"http01": {"ingress": {"serviceType": "LoadBalancer"}}}),
        [
            f'{SOLVER_PATH}.http01.ingress.serviceType: Invalid value: "LoadBalancer": '
            'must be empty, "ClusterIP" or "NodePort"'
        ],
        id="rejects a LoadBalancer solver service",
    ),
    pytest.param(
        solver({"http01": {"gatewayHTTPRoute": {"parentRefs": [{"name": "gw"}]}}}),
        [f"{SOLVER_PATH}.http01.gateway.parentRefs[0].kind: Required value: kind is required when name is specified"],
        id="rejects a gateway parentRef with a name but no kind (cert-manager's gateway path)",
    ),
    pytest.param(
        solver({"dns01": {"cnameStrategy": "Sometimes"}}),
        [
            f'{SOLVER_PATH}.dns01.cnameStrategy: Invalid value: "Sometimes": must be one of "None" or "Follow"',
            f"{SOLVER_PATH}.dns01: Required value: no DNS01 provider configured",
        ],
        id="rejects dns01 with a bad cnameStrategy and no provider",
    ),
    pytest.param(
        solver({"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": "a", "key": "b"}}, "rfc2136": {}}}),
        [f"{SOLVER_PATH}.dns01.rfc2136: Forbidden: may not specify more than one provider type"],
        id="rejects two dns01 providers",
    ),
    pytest.param(
        rfc2136({"nameserver": ""}),
        [f"{SOLVER_PATH}.dns01.rfc2136.nameserver: Required value"],
        id="rejects rfc2136 without a nameserver",
    ),
    pytest.param(
        rfc2136({"nameserver": "10.0.0.53:99999"}),
        [f'{SOLVER_PATH}.dns01.rfc2136.nameserver: Invalid value: "10.0.0.53:99999": {NAMESERVER}'],
        id="rejects an rfc2136 nameserver port above 65535",
    ),
    pytest.param(
        rfc2136({"nameserver": "2001:db8::53"}),
        [f'{SOLVER_PATH}.dns01.rfc2136.nameserver: Invalid value: "2001:db8::53": {NAMESERVER}'],
        id="rejects an IPv6 nameserver without brackets",
    ),
    pytest.param(
        rfc2136({"tsigKeyName": "key"}),
        [
            f"{SOLVER_PATH}.dns01.rfc2136.tsigSecretSecretRef.name: Required value: secret name is required",
            f"{SOLVER_PATH}.dns01.rfc2136.tsigSecretSecretRef.key: Required value: secret key is required",
        ],
        id="rejects a TSIG key name without its Secret",
    ),
    pytest.param(
        rfc2136({"tsigSecretSecretRef": {"name": "tsig", "key": "secret"}}),
        [f"{SOLVER_PATH}.dns01.rfc2136.tsigKeyName: Required value"],
        id="rejects a TSIG Secret without a key name",
    ),
    pytest.param(
        rfc2136({"tsigAlgorithm": "HMACSHA384", "protocol": "SCTP"}),
        [
            f'{SOLVER_PATH}.dns01.rfc2136.tsigAlgorithm: Unsupported value: "": supported values: '
            '"HMACMD5", "HMACSHA1", "HMACSHA256", "HMACSHA512"',
            f'{SOLVER_PATH}.dns01.rfc2136.protocol: Unsupported value: "SCTP": supported values: "TCP", "UDP"',
        ],
        id="rejects an unknown TSIG algorithm and protocol",
    ),
    pytest.param(
        solver(
            {
                "dns01": {
                    "cloudflare": {
                        "apiKeySecretRef": {"name": "a", "key": "b"},
                        "apiTokenSecretRef": {"name": "c", "key": "d"},
                    }
                }
            }
        ),
        [
            f"{SOLVER_PATH}.dns01.cloudflare: Forbidden: "
            "apiKeySecretRef and apiTokenSecretRef cannot both be specified",
            f"{SOLVER_PATH}.dns01.cloudflare.email: Required value",
        ],
        id="rejects cloudflare with both an API key and token, and no email for the key",
    ),
    pytest.param(
        solver({"dns01": {"cloudflare": {"email": "ops@example.com"}}}),
        [f"{SOLVER_PATH}.dns01.cloudflare: Required value: apiKeySecretRef or apiTokenSecretRef is required"],
        id="rejects cloudflare without credentials",
    ),
    pytest.param(
        solver(
            {
                "dns01": {
                    "akamai": {"serviceConsumerDomain": "x"},
                    "acmeDNS": {"host": "https://auth", "accountSecretRef": {"name": "a", "key": "b"}},
                }
            }
        ),
        [
            f"{SOLVER_PATH}.dns01.akamai.accessToken.name: Required value: secret name is required",
            f"{SOLVER_PATH}.dns01.akamai.accessToken.key: Required value: secret key is required",
            f"{SOLVER_PATH}.dns01.akamai.clientSecret.name: Required value: secret name is required",
            f"{SOLVER_PATH}.dns01.akamai.clientSecret.key: Required value: secret key is required",
            f"{SOLVER_PATH}.dns01.akamai.clientToken.name: Required value: secret name is required",
            f"{SOLVER_PATH}.dns01.akamai.clientToken.key: Required value: secret key is required",
        ],
        id="skips the one-provider check for acmeDNS next to akamai as the webhook does",
    ),
    pytest.param(
        solver({"dns01": {"azureDNS": {"clientID": "app", "environment": "AzureMoonCloud"}}}),
        [
            f"{SOLVER_PATH}.dns01.azureDNS.clientSecretSecretRef: Required value",
            f"{SOLVER_PATH}.dns01.azureDNS.tenantID: Required value",
            f"{SOLVER_PATH}.dns01.azureDNS.subscriptionID: Required value",
            f"{SOLVER_PATH}.dns01.azureDNS.resourceGroupName: Required value",
            f'{SOLVER_PATH}.dns01.azureDNS.environment: Invalid value: "AzureMoonCloud": must be either empty or '
            "one of AzurePublicCloud, AzureChinaCloud, AzureGermanCloud, or AzureUSGovernmentCloud",
        ],
        id="rejects an azureDNS service principal without secret, tenant, subscription or resource group",
    ),
    pytest.param(
        solver(
            {
                "dns01": {
                    "azureDNS": {
                        "subscriptionID": "s",
                        "resourceGroupName": "g",
                        "managedIdentity": {"clientID": "c", "resourceID": "r"},
                    }
                }
            }
        ),
        [
            f"{SOLVER_PATH}.dns01.azureDNS.managedIdentity: Forbidden: "
            "managedIdentityClientID and managedIdentityResourceID cannot both be specified"
        ],
        id="rejects an azureDNS managed identity with both client and resource IDs",
    ),
    pytest.param(
        solver({"dns01": {"route53": {"accessKeyID": "AKIA", "accessKeyIDSecretRef": {"name": "aws"}}}}),
        [
            f"{SOLVER_PATH}.dns01.route53: Required value: accessKeyID and accessKeyIDSecretRef cannot both be "
            "specified",
            f"{SOLVER_PATH}.dns01.route53.accessKeyIDSecretRef.key: Required value: secret key is required",
        ],
        id="rejects route53 with both a literal and a Secret access key ID",
    ),
    pytest.param(
        solver({"dns01": {"cloudDNS": {"serviceAccountSecretRef": {"key": "sa.json"}}}}),
        [
            f"{SOLVER_PATH}.dns01.cloudDNS.serviceAccountSecretRef.name: Required value: secret name is required",
            f"{SOLVER_PATH}.dns01.cloudDNS.project: Required value",
        ],
        id="rejects cloudDNS without a project",
    ),
    pytest.param(
        solver({"dns01": {"digitalocean": {}}}),
        [
            f"{SOLVER_PATH}.dns01.digitalocean.tokenSecretRef.name: Required value: secret name is required",
            f"{SOLVER_PATH}.dns01.digitalocean.tokenSecretRef.key: Required value: secret key is required",
        ],
        id="rejects digitalocean without a token Secret",
    ),
    pytest.param(
        solver({"dns01": {"webhook": {"groupName": "acme.example.com"}}}),
        [f"{SOLVER_PATH}.dns01.webhook.solverName: Required value: solver name must be specified"],
        id="rejects a webhook solver without a solverName",
    ),
    pytest.param(
        solver({"dns01": {"cloudflare": "token"}}),
        [
            f'{SOLVER_PATH}.dns01.cloudflare: Invalid value: "token": must be an object',
            f"{SOLVER_PATH}.dns01.cloudflare: Required value: apiKeySecretRef or apiTokenSecretRef is required",
        ],
        id="rejects a provider configuration that is not an object",
    ),
    pytest.param(
        solver({"http01": {"ingress": {}}, "waitInsteadOfSelfCheck": "-1s"}),
        [f'{SOLVER_PATH}.waitInsteadOfSelfCheck: Invalid value: "-1s": waitInsteadOfSelfCheck must not be negative'],
        id="rejects a negative waitInsteadOfSelfCheck",
    ),
]


@pytest.mark.parametrize(("spec", "expected"), ISSUER_CASES)
def test_issuer(spec: dict[str, Any], expected: list[str]) -> None:
    assert strings(v.validate(issuer(spec))) == expected


@pytest.mark.parametrize(("spec", "expected"), ISSUER_CASES[:6])
def test_cluster_issuer_follows_the_same_rules(spec: dict[str, Any], expected: list[str]) -> None:
    manifest = issuer(spec, kind="ClusterIssuer")
    manifest["metadata"].pop("namespace")
    assert strings(v.validate(manifest)) == expected


def test_deprecated_eab_key_algorithm_is_a_warning_only() -> None:
    manifest = issuer(
        acme(
            {
                "externalAccountBinding": {
                    "keyID": "k",
                    "keySecretRef": {"name": "s", "key": "k"},
                    "keyAlgorithm": "HS256",
                }
            }
        )
    )
    parsed = t.parse_issuer(manifest)
    assert v.validate_issuer(parsed) == []
    assert v.issuer_warnings(parsed) == [
        "ACME issuer spec field 'externalAccount.keyAlgorithm' is deprecated. The value of this field will be ignored."
    ]
    assert v.issuer_warnings(t.parse_issuer(issuer({"selfSigned": {}}))) == []
    assert v.warnings(manifest) == v.issuer_warnings(parsed)
    assert v.warnings(CERTIFICATE) == [] and v.warnings("garbage") == []


# ---------------------------------------------------------------------------------------------------------
# CertificateRequest

CR_CREATE_CASES = [
    pytest.param({}, [], id="accepts a request with a PEM CSR"),
    pytest.param(
        {"spec": {"request": DELETE}}, ["spec.request: Required value: must be specified"], id="rejects no request"
    ),
    pytest.param(
        {"spec": {"request": b64s(b"not a csr")}},
        ['spec.request: Invalid value: "<snip>": error decoding certificate request PEM block'],
        id="rejects a request that is not PEM",
    ),
    pytest.param(
        {"spec": {"request": b64s(b"-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n")}},
        ['spec.request: Invalid value: "<snip>": x509: malformed certificate request'],
        id="rejects PEM that does not hold a PKCS10 structure",
    ),
    pytest.param(
        {"spec": {"usages": ["server auth", "tls", "web"]}},
        ['spec.usages: Invalid value: ["server auth","tls","web"]: unknown key usages: [tls web]'],
        id="rejects unknown usages",
    ),
    pytest.param(
        {"spec": {"duration": "1 week"}},
        ['spec.duration: Invalid value: "1 week": time: invalid duration "1 week"'],
        id="rejects a duration that is not a Go duration",
    ),
    pytest.param(
        {"spec": {"issuerRef": {"__replace__": True, "kind": "VenafiIssuer"}}},
        [
            "spec.issuerRef.name: Required value: must be specified",
            'spec.issuerRef.kind: Invalid value: "VenafiIssuer": must be one of Issuer or ClusterIssuer '
            "(did you forget to set spec.issuerRef.kind.group?)",
        ],
        id="rejects an issuerRef without name and with a foreign kind",
    ),
    pytest.param(
        {"status": {"conditions": [{"type": "Approved", "status": "False"}]}},
        ['status.conditions.Approved: Invalid value: "False": "Approved" condition may only be set to True'],
        id="rejects an Approved condition that is not True",
    ),
    pytest.param(
        {"status": {"conditions": [{"type": "Approved", "status": "True"}, {"type": "Denied", "status": "True"}]}},
        ["status.conditions: Forbidden: both 'Denied' and 'Approved' conditions cannot coexist"],
        id="rejects Approved and Denied together",
    ),
]


@pytest.mark.parametrize(("fragment", "expected"), CR_CREATE_CASES)
def test_certificate_request_create(fragment: dict[str, Any], expected: list[str]) -> None:
    assert strings(v.validate(merge(CERTIFICATE_REQUEST, fragment))) == expected


APPROVED = {"type": "Approved", "status": "True", "reason": "cert-manager.io", "message": "ok"}

CR_UPDATE_CASES = [
    pytest.param({}, {"status": {"conditions": [APPROVED]}}, [], id="accepts approving a request"),
    pytest.param(
        {},
        {"metadata": {"annotations": {"example.com/note": "b"}}},
        [],
        id="accepts changing an annotation that is not cert-manager's",
    ),
    pytest.param(
        {},
        {"spec": {"isCA": True}},
        ["spec: Forbidden: cannot change spec after creation"],
        id="rejects changing the spec",
    ),
    pytest.param(
        {},
        {"metadata": {"annotations": {"__replace__": True, "example.com/note": "a"}}},
        [
            "metadata.annotations.cert-manager.io/certificate-revision: Forbidden: "
            "cannot change cert-manager annotation after creation"
        ],
        id="rejects removing a cert-manager annotation",
    ),
    pytest.param(
        {},
        {"metadata": {"annotations": {"acme.cert-manager.io/http01-override-ingress-name": "web"}}},
        [
            "metadata.annotations.acme.cert-manager.io/http01-override-ingress-name: Forbidden: "
            "cannot change cert-manager annotation after creation"
        ],
        id="rejects adding an acme cert-manager annotation after creation, as the webhook does",
    ),
    pytest.param(
        {"status": {"conditions": [APPROVED]}},
        {"status": {"conditions": [{**APPROVED, "message": "changed"}]}},
        ["status.conditions: Forbidden: 'Approved' condition may not be modified once set"],
        id="rejects modifying an Approved condition",
    ),
]


@pytest.mark.parametrize(("old_fragment", "new_fragment", "expected"), CR_UPDATE_CASES)
def test_certificate_request_update(
    old_fragment: dict[str, Any], new_fragment: dict[str, Any], expected: list[str]
) -> None:
    old = merge(CERTIFICATE_REQUEST, old_fragment)
    new = merge(old, new_fragment)
    assert strings(v.validate(new, old)) == expected


def test_csr_checker_receives_the_pem_and_spec() -> None:
    seen: list[tuple[bytes, t.CertificateRequestSpec]] = []

    def checker(request: bytes, spec: t.CertificateRequestSpec) -> list[Violation]:
        seen.append((request, spec))
        return [invalid("spec.request", "<snip>", "csr isCA does not match spec")]

    result = v.validate(CERTIFICATE_REQUEST, csr_checker=checker)
    assert strings(result) == ['spec.request: Invalid value: "<snip>": csr isCA does not match spec']
    assert seen[0][0] == CSR_PEM and seen[0][1].usages == ("digital signature", "key encipherment")


# ---------------------------------------------------------------------------------------------------------
# Order and Challenge

ORDER_UPDATE_CASES = [
    pytest.param({"status": {"state": "valid"}}, [], id="accepts a state change"),
    pytest.param(
        {"spec": {"request": b64s(CSR_PEM + b"\n")}},
        ["spec.request: Forbidden: field is immutable once set"],
        id="rejects a new request",
    ),
    pytest.param(
        {"status": {"url": "https://acme.example.com/order/2", "finalizeURL": ""}},
        [
            "status.url: Forbidden: field is immutable once set",
            "status.finalizeURL: Forbidden: field is immutable once set",
        ],
        id="rejects changing or clearing the order URLs",
    ),
    pytest.param(
        {"status": {"authorizations": []}},
        ["status.authorizations: Forbidden: field is immutable once set"],
        id="rejects dropping authorizations",
    ),
    pytest.param(
        {
            "status": {
                "authorizations": [
                    {
                        **ORDER["status"]["authorizations"][0],
                        "wildcard": True,
                        "challenges": [
                            {"url": "https://acme.example.com/chall/1", "token": "other", "type": "http-01"}
                        ],
                    }
                ]
            }
        },
        [
            "status.authorizations[0].wildcard: Forbidden: field is immutable once set",
            "status.authorizations[0].challenges[0].token: Forbidden: field is immutable once set",
        ],
        id="rejects changing an authorization's wildcard and a challenge token",
    ),
]


@pytest.mark.parametrize(("fragment", "expected"), ORDER_UPDATE_CASES)
def test_order_update(fragment: dict[str, Any], expected: list[str]) -> None:
    assert strings(v.validate(merge(ORDER, fragment), ORDER)) == expected


def test_order_status_may_be_filled_in_once() -> None:
    fresh = merge(ORDER, {"status": DELETE})
    assert v.validate(fresh) == []
    assert v.validate(ORDER, fresh) == []


def test_order_requires_request_and_issuer_name() -> None:
    bare = merge(ORDER, {"spec": {"__replace__": True, "dnsNames": ["a.example.com"]}})
    assert strings(v.validate(bare)) == ["spec.request: Required value", "spec.issuerRef.name: Required value"]


def test_challenge_requires_its_fields_and_a_known_type() -> None:
    bare = merge(CHALLENGE, {"spec": {"__replace__": True, "type": "TLS-ALPN-01", "solver": {}}})
    assert strings(v.validate(bare)) == [
        "spec.url: Required value",
        "spec.authorizationURL: Required value",
        "spec.dnsName: Required value",
        "spec.token: Required value",
        "spec.key: Required value",
        "spec.issuerRef.name: Required value",
        'spec.type: Unsupported value: "TLS-ALPN-01": supported values: "HTTP-01", "DNS-01"',
    ]
    assert v.validate(CHALLENGE) == []


def test_challenge_spec_is_immutable_but_status_is_not() -> None:
    assert strings(v.validate(merge(CHALLENGE, {"spec": {"key": "other"}}), CHALLENGE)) == [
        "spec: Forbidden: challenge spec is immutable after creation"
    ]
    assert v.validate(merge(CHALLENGE, {"status": {"presented": True, "state": "pending"}}), CHALLENGE) == []


# ---------------------------------------------------------------------------------------------------------
# validate() on raw input


def test_type_problems_come_back_as_violations_with_paths() -> None:
    garbled = certificate({"dnsNames": "web.example.com", "duration": 3600, "privateKey": {"size": "big"}})
    assert strings(v.validate(garbled)) == [
        'spec.dnsNames: Invalid value: "web.example.com": must be a list',
        "spec.duration: Invalid value: 3600: must be a string",
        'spec.privateKey.size: Invalid value: "big": must be an integer',
    ]


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param([], ["<root>: Invalid value: []: must be an object"], id="rejects a list"),
        pytest.param(
            {"kind": "Secret"}, ['kind: Invalid value: "Secret": not a cert-manager kind'], id="rejects Secret"
        ),
        pytest.param({}, ["kind: Invalid value: null: not a cert-manager kind"], id="rejects an object without kind"),
    ],
)
def test_validate_rejects_what_is_not_a_cert_manager_object(obj: Any, expected: list[str]) -> None:
    assert strings(v.validate(obj)) == expected


def test_an_unparsable_old_object_is_ignored() -> None:
    assert v.validate(CERTIFICATE_REQUEST, {"kind": "CertificateRequest", "spec": 5}) == []


# ---------------------------------------------------------------------------------------------------------
# Helpers shared with other packages


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("CN=web", [[("2.5.4.3", "web")]], id="a single CN"),
        pytest.param(
            "CN=web,OU=Ops+O=Example,C=GB",
            [[("2.5.4.6", "GB")], [("2.5.4.11", "Ops"), ("2.5.4.10", "Example")], [("2.5.4.3", "web")]],
            id="RDNs reversed into DER order, a multi-valued RDN kept in written order",
        ),
        pytest.param("CN=a\\,b\\+c , O = x ", [[("2.5.4.10", "x")], [("2.5.4.3", "a,b+c")]], id="escapes and spaces"),
        pytest.param("CN=caf\\C3\\A9", [[("2.5.4.3", "café")]], id="hex escapes forming UTF-8"),
        pytest.param("CN=\\ lead\\ ", [[("2.5.4.3", " lead ")]], id="escaped leading and trailing spaces kept"),
        pytest.param(
            "UID=jdoe;DC=example;SERIALNUMBER=42;STREET=Main St;L=Leeds;ST=Yorks;POSTALCODE=LS1",
            [
                [("2.5.4.17", "LS1")],
                [("2.5.4.8", "Yorks")],
                [("2.5.4.7", "Leeds")],
                [("2.5.4.9", "Main St")],
                [("2.5.4.5", "42")],
                [("0.9.2342.19200300.100.1.25", "example")],
                [("0.9.2342.19200300.100.1.1", "jdoe")],
            ],
            id="every known attribute name and semicolons as separators",
        ),
        pytest.param("1.2.3.4=#0c03616263", [[("1.2.3.4", "abc")]], id="a dotted OID with a BER hex value"),
        pytest.param("", [], id="an empty subject"),
    ],
)
def test_parse_literal_subject_rdns(text: str, expected: list[list[tuple[str, str]]]) -> None:
    assert v.parse_literal_subject_rdns(text) == expected
    assert v.parse_literal_subject(text) == [atv for rdn in expected for atv in rdn]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("CN", "DN ended with incomplete type, value pair", id="no equals sign"),
        pytest.param(",CN=a", "incomplete type, value pair", id="leading comma"),
        pytest.param("CN=a\\", "got corrupted escaped character: 'a\\'", id="dangling backslash"),
        pytest.param("CN=\\zz", "failed to decode escaped character", id="bad hex escape"),
        pytest.param("1.2.3=#zz", "failed to decode BER encoding", id="bad BER hex"),
        pytest.param("E=a@b", "Literal subject contains unrecognized key with value [a@b]", id="unknown attribute"),
        pytest.param("3.1=x", "Literal subject contains unrecognized key with value [x]", id="first OID arc above 2"),
    ],
)
def test_parse_literal_subject_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("\\", "\\\\").replace("[", "\\[")):
        v.parse_literal_subject(text)


@pytest.mark.parametrize(
    ("address", "error"),
    [
        pytest.param("ops@example.com", "", id="a bare address"),
        pytest.param("ops@[192.0.2.1]", "", id="a domain literal"),
        pytest.param("Ops <ops@example.com>", ONLY_ADDRESS, id="a display name"),
        pytest.param(" ops@example.com", ONLY_ADDRESS, id="a leading space"),
        pytest.param('"ops team"@example.com', ONLY_ADDRESS, id="a quoted local part, which Go unquotes"),
        pytest.param("ops@example.com (team)", ONLY_ADDRESS, id="a trailing comment"),
        pytest.param("", "invalid email address: mail: no address", id="nothing"),
        pytest.param("ops", "invalid email address: mail: missing '@' or angle-addr", id="no at sign"),
        pytest.param("Ops Team", "invalid email address: mail: no angle-addr", id="only a display name"),
        pytest.param("<ops@example.com", "invalid email address: mail: unclosed angle-addr", id="an open bracket"),
        pytest.param("a@b@c", 'invalid email address: mail: expected single address, got "@c"', id="two at signs"),
    ],
)
def test_email_addresses_follow_go_net_mail(address: str, error: str) -> None:
    assert v.email_address_error(address) == error


@pytest.mark.parametrize(
    ("name", "label", "subdomain"),
    [
        ("web", True, True),
        ("web.example.com", False, True),
        ("Web", False, False),
        ("-web", False, False),
        ("a" * 63, True, True),
        ("a" * 64, False, True),
        ("a." * 126 + "a", False, True),
        ("a." * 127 + "a", False, False),
        ("", False, False),
    ],
)
def test_dns1123_names(name: str, label: bool, subdomain: bool) -> None:
    assert v.is_dns1123_label(name) is label
    assert v.is_dns1123_subdomain(name) is subdomain


@pytest.mark.parametrize(
    ("nameserver", "ok"),
    [
        ("10.0.0.53", True),
        ("10.0.0.53:5353", True),
        ("10.0.0.53:", True),
        ("ns.example.com", True),
        ("[2001:db8::1]", True),
        ("[2001:db8::1]:53", True),
        (" ns.example.com:53 ", True),
        (":53", False),
        ("ns.example.com:0", False),
        ("ns.example.com:http", False),
        ("2001:db8::1", False),
        ("", False),
    ],
)
def test_rfc2136_nameserver_forms(nameserver: str, ok: bool) -> None:
    assert (v.nameserver_error(nameserver) == "") is ok


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("0 2 * * *", ""),
        ("*/15 0-6 1,15 JAN-mar sun", ""),
        ("@daily", ""),
        ("@every 1h30m", ""),
        ("CRON_TZ=Europe/Paris 0 2 * * *", ""),
        ("60 * * * *", "end of range (60) above maximum (59): 60"),
        ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
        ("@fortnightly", "unrecognized descriptor: @fortnightly"),
        ("", "empty spec string"),
    ],
)
def test_cron_specs(spec: str, error: str) -> None:
    assert v.cron_error(spec) == error


# ---------------------------------------------------------------------------------------------------------
# Hypothesis: garbled manifests never crash validation

JSON_LEAVES = (
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=12)
)
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
REALISTIC = [
    CERTIFICATE,
    certificate({"literalSubject": "CN=a,O=b", "privateKey": {"algorithm": "ECDSA"}, "renewal": {"windows": [{}]}}),
    certificate(
        {"keystores": {"jks": {"create": True}}, "nameConstraints": {"permitted": {}}, "otherNames": [{"oid": "1.2"}]}
    ),
    CERTIFICATE_REQUEST,
    ORDER,
    CHALLENGE,
    ISSUER,
    issuer(
        acme(
            {
                "solvers": [
                    {"http01": {"ingress": {"class": "x"}, "gatewayHTTPRoute": {"parentRefs": [{"name": "g"}]}}},
                    {"dns01": {"rfc2136": {"nameserver": "x"}, "cloudflare": {}, "azureDNS": {}, "route53": {}}},
                ]
            }
        )
    ),
]


@st.composite
def garbled(draw: st.DrawFn) -> Any:
    """A realistic manifest with a few of its nodes replaced by random JSON (keeping kind most of the time)."""
    manifest = copy.deepcopy(draw(st.sampled_from(REALISTIC)))
    for _ in range(draw(st.integers(1, 4))):
        node: Any = manifest
        path: list[Any] = []
        while isinstance(node, dict | list) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
            path.append(key)
            node = node[key]
        if not path:
            continue
        parent: Any = manifest
        for key in path[:-1]:
            parent = parent[key]
        if path == ["kind"] and draw(st.booleans()):
            continue
        parent[path[-1]] = draw(JSON)
    return manifest


SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(garbled(), st.none() | garbled())
def test_validate_never_raises_on_garbled_manifests(obj: Any, old: Any) -> None:
    result = v.validate(obj, old)
    assert all(isinstance(x, Violation) for x in result)
    for x in result:
        str(x)


@SETTINGS
@given(JSON)
def test_validate_never_raises_on_arbitrary_json(obj: Any) -> None:
    assert isinstance(v.validate(obj), list)


@SETTINGS
@given(garbled())
def test_parse_raises_only_invalid_object(obj: Any) -> None:
    try:
        t.parse(obj)
    except InvalidObject as exc:
        assert exc.violations
        assert all(x.field for x in exc.violations)


@SETTINGS
@given(st.text(max_size=40))
def test_parse_literal_subject_only_raises_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        v.parse_literal_subject(text)


@SETTINGS
@given(st.text(max_size=30))
def test_string_checkers_never_raise(text: str) -> None:
    v.email_address_error(text)
    v.uri_error(text)
    v.cron_error(text)
    v.nameserver_error(text)
    v.is_ip_address(text)
    v.is_cidr(text)
    v.is_timezone(text)
    v.dns1123_subdomain_errors(text)
    v.qualified_name_errors(text)


def test_absurdly_deep_input_is_refused_instead_of_recursing() -> None:
    deep: list[Any] = []
    node = deep
    for _ in range(5000):
        node.append([])
        node = node[0]
    challenge = merge(CHALLENGE, {})
    challenge["spec"]["solver"] = {"dns01": {"webhook": {"solverName": "x", "config": deep}}}
    assert strings(v.validate(challenge, challenge)) == [
        '<root>: Invalid value: "<value omitted>": nesting deeper than 100 levels'
    ]
    assert v.validate(CHALLENGE, challenge) == []
