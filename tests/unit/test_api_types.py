"""Typed views of the six kinds (issuer.api.types): realistic manifests round-trip through parse and
to_wire, garbled ones give field-path violations; Go durations (issuer.api.duration) both ways."""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from issuer.api import defaults
from issuer.api import duration as d
from issuer.api import types as t
from issuer.api.model import InvalidObject, Model, model
from tests.unit.test_validation import garbled

PEM = b"-----BEGIN CERTIFICATE REQUEST-----\nMIIBAA==\n-----END CERTIFICATE REQUEST-----\n"
PEM_B64 = base64.b64encode(PEM).decode()

CONDITION = {
    "type": "Ready",
    "status": "True",
    "reason": "Ready",
    "message": "Certificate is up to date and has not expired",
    "lastTransitionTime": "2026-11-27T09:00:00Z",
    "observedGeneration": 2,
}

CERTIFICATE: dict[str, Any] = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "Certificate",
    "metadata": {
        "name": "api",
        "namespace": "demo",
        "uid": "7f1c",
        "resourceVersion": "42",
        "generation": 2,
        "creationTimestamp": "2026-11-27T08:00:00Z",
        "labels": {"app": "api"},
        "annotations": {"example.com/owner": "team-a"},
        "ownerReferences": [
            {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "api", "uid": "1", "controller": True}
        ],
    },
    "spec": {
        "secretName": "api-tls",
        "secretTemplate": {"annotations": {"reflector/allowed": "true"}, "labels": {"tier": "edge"}},
        "commonName": "api.demo.example.com",
        "subject": {"organizations": ["Example"], "countries": ["GB"], "serialNumber": "7"},
        "dnsNames": ["api.demo.example.com", "*.api.demo.example.com"],
        "ipAddresses": ["10.0.0.1"],
        "uris": ["spiffe://cluster.local/ns/demo/sa/api"],
        "emailAddresses": ["ops@example.com"],
        "otherNames": [{"oid": "1.3.6.1.4.1.311.20.2.3", "utf8Value": "api@example.com"}],
        "duration": "720h",
        "renewBefore": "240h",
        "renewal": {"policy": "RenewBefore", "windows": [{"cron": "0 2 * * *", "windowDuration": "2h"}]},
        "issuerRef": {"name": "example-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
        "isCA": True,
        "usages": ["digital signature", "cert sign", "server auth"],
        "privateKey": {"algorithm": "ECDSA", "size": 384, "encoding": "PKCS8", "rotationPolicy": "Always"},
        "signatureAlgorithm": "ECDSAWithSHA384",
        "encodeUsagesInRequest": False,
        "keystores": {
            "jks": {"create": True, "alias": "api", "passwordSecretRef": {"name": "jks", "key": "password"}},
            "pkcs12": {"create": True, "profile": "Modern2023", "password": "changeit"},
        },
        "revisionHistoryLimit": 3,
        "additionalOutputFormats": [{"type": "DER"}, {"type": "CombinedPEM"}],
        "nameConstraints": {
            "critical": True,
            "permitted": {"dnsDomains": ["example.com"], "ipRanges": ["10.0.0.0/8"]},
            "excluded": {"emailAddresses": ["x@example.com"], "uriDomains": ["evil.example.com"]},
        },
    },
    "status": {
        "conditions": [CONDITION],
        "notBefore": "2026-11-27T09:00:00Z",
        "notAfter": "2026-12-27T09:00:00Z",
        "renewalTime": "2026-12-17T09:00:00Z",
        "revision": 1,
        "lastFailureTime": "2026-11-27T08:00:00Z",
        "failedIssuanceAttempts": 1,
        "nextPrivateKeySecretName": "api-x7k2p",
    },
}

CERTIFICATE_REQUEST: dict[str, Any] = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "CertificateRequest",
    "metadata": {
        "name": "api-1",
        "namespace": "demo",
        "annotations": {
            "cert-manager.io/certificate-name": "api",
            "cert-manager.io/certificate-revision": "1",
            "cert-manager.io/private-key-secret-name": "api-x7k2p",
        },
    },
    "spec": {
        "request": PEM_B64,
        "duration": "720h",
        "issuerRef": {"name": "example-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
        "isCA": True,
        "usages": ["digital signature", "cert sign"],
        "username": "system:serviceaccount:cert-manager:cert-manager",
        "uid": "abc",
        "groups": ["system:serviceaccounts", "system:authenticated"],
        "extra": {"authentication.kubernetes.io/pod-name": ["cert-manager-0"]},
    },
    "status": {
        "conditions": [
            {"type": "Approved", "status": "True", "reason": "cert-manager.io", "message": "approved"},
            {"type": "Ready", "status": "True", "reason": "Issued", "message": "ok"},
        ],
        "certificate": PEM_B64,
        "ca": PEM_B64,
    },
}

ACME_ISSUER: dict[str, Any] = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "ClusterIssuer",
    "metadata": {"name": "letsencrypt"},
    "spec": {
        "acme": {
            "server": "https://acme-v02.api.letsencrypt.org/directory",
            "email": "ops@example.com",
            "privateKeySecretRef": {"name": "letsencrypt-account", "key": "tls.key"},
            "externalAccountBinding": {"keyID": "kid-1", "keySecretRef": {"name": "eab", "key": "secret"}},
            "preferredChain": "ISRG Root X1",
            "disableAccountKeyGeneration": True,
            "enableDurationFeature": True,
            "profile": "shortlived",
            "solvers": [
                {
                    "selector": {"dnsZones": ["example.com"], "matchLabels": {"use": "dns"}},
                    "dns01": {
                        "cnameStrategy": "Follow",
                        "rfc2136": {
                            "nameserver": "[2001:db8::53]:53",
                            "tsigKeyName": "acme-key",
                            "tsigAlgorithm": "HMACSHA256",
                            "tsigSecretSecretRef": {"name": "tsig", "key": "secret"},
                            "protocol": "TCP",
                        },
                    },
                },
                {
                    "selector": {"dnsNames": ["www.example.com"]},
                    "http01": {
                        "ingress": {
                            "ingressClassName": "nginx",
                            "serviceType": "ClusterIP",
                            "podTemplate": {
                                "metadata": {"labels": {"team": "edge"}},
                                "spec": {"nodeSelector": {"kubernetes.io/os": "linux"}, "priorityClassName": "high"},
                            },
                            "ingressTemplate": {"metadata": {"annotations": {"nginx.ingress.kubernetes.io/x": "y"}}},
                        }
                    },
                    "waitInsteadOfSelfCheck": "30s",
                },
                {"http01": {"gatewayHTTPRoute": {"parentRefs": [{"name": "gw", "kind": "Gateway"}]}}},
                {"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "token"}}}},
                {"dns01": {"webhook": {"groupName": "acme.example.com", "solverName": "x", "config": {"a": [1]}}}},
            ],
        }
    },
    "status": {
        "conditions": [{"type": "Ready", "status": "True", "reason": "ACMEAccountRegistered", "message": "ok"}],
        "acme": {"uri": "https://acme/acct/1", "lastRegisteredEmail": "ops@example.com", "lastPrivateKeyHash": "h"},
    },
}

CA_ISSUER: dict[str, Any] = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "Issuer",
    "metadata": {"name": "ca", "namespace": "demo"},
    "spec": {
        "ca": {
            "secretName": "ca-key-pair",
            "crlDistributionPoints": ["http://crl.example.com/ca.crl"],
            "ocspServers": ["http://ocsp.example.com"],
            "issuingCertificateURLs": ["http://ca.example.com/ca.crt"],
        }
    },
}

SELF_SIGNED: dict[str, Any] = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "ClusterIssuer",
    "metadata": {"name": "selfsigned"},
    "spec": {"selfSigned": {}},
}

ORDER: dict[str, Any] = {
    "apiVersion": "acme.cert-manager.io/v1",
    "kind": "Order",
    "metadata": {"name": "api-1-3120", "namespace": "demo"},
    "spec": {
        "request": PEM_B64,
        "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"},
        "commonName": "api.example.com",
        "dnsNames": ["api.example.com"],
        "ipAddresses": ["192.0.2.1"],
        "duration": "24h",
        "profile": "shortlived",
    },
    "status": {
        "url": "https://acme/order/1",
        "finalizeURL": "https://acme/order/1/finalize",
        "authorizations": [
            {
                "url": "https://acme/authz/1",
                "identifier": "api.example.com",
                "wildcard": False,
                "initialState": "pending",
                "challenges": [
                    {"url": "https://acme/chall/1", "token": "t1", "type": "http-01"},
                    {"url": "https://acme/chall/2", "token": "t1", "type": "dns-01"},
                ],
            }
        ],
        "certificate": PEM_B64,
        "state": "valid",
        "failureTime": "2026-11-27T09:00:00Z",
    },
}

CHALLENGE: dict[str, Any] = {
    "apiVersion": "acme.cert-manager.io/v1",
    "kind": "Challenge",
    "metadata": {"name": "api-1-3120-88", "namespace": "demo", "finalizers": ["acme.cert-manager.io/finalizer"]},
    "spec": {
        "url": "https://acme/chall/2",
        "authorizationURL": "https://acme/authz/1",
        "dnsName": "example.com",
        "wildcard": True,
        "type": "DNS-01",
        "token": "t1",
        "key": "0zGUsYD3bGz3n4tYtb4zDPhYf4wqCKQT1K5kDTPaTYM",
        "solver": {"dns01": {"rfc2136": {"nameserver": "10.0.0.53"}}},
        "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"},
    },
    "status": {"processing": True, "presented": True, "presentedAt": "2026-11-27T09:00:00Z", "state": "pending"},
}


@pytest.mark.parametrize(
    ("manifest", "cls"),
    [
        pytest.param(CERTIFICATE, t.Certificate, id="a Certificate using every spec field"),
        pytest.param(CERTIFICATE_REQUEST, t.CertificateRequest, id="an approved and issued CertificateRequest"),
        pytest.param(ACME_ISSUER, t.Issuer, id="an ACME ClusterIssuer with EAB and five solvers"),
        pytest.param(CA_ISSUER, t.Issuer, id="a CA Issuer"),
        pytest.param(SELF_SIGNED, t.Issuer, id="a SelfSigned ClusterIssuer keeps its empty selfSigned"),
        pytest.param(ORDER, t.Order, id="a valid Order with its authorizations"),
        pytest.param(CHALLENGE, t.Challenge, id="a presented DNS-01 Challenge"),
    ],
)
def test_realistic_manifests_round_trip(manifest: dict[str, Any], cls: type[Model]) -> None:
    parsed = t.parse(copy.deepcopy(manifest))
    assert isinstance(parsed, cls)
    assert parsed.to_wire() == manifest
    assert t.parse(parsed.to_wire()) == parsed


def test_self_signed_keeps_its_empty_config() -> None:
    parsed = t.parse_issuer(SELF_SIGNED)
    assert parsed.spec.issuer_types() == ("selfSigned",)
    assert parsed.is_cluster_scoped


def test_typed_fields_hold_what_the_manifest_says() -> None:
    cert = t.parse_certificate(CERTIFICATE)
    assert cert.spec.dns_names == ("api.demo.example.com", "*.api.demo.example.com")
    assert cert.spec.is_ca is True
    assert cert.spec.private_key == t.CertificatePrivateKey("ECDSA", 384, "PKCS8", "Always")
    assert cert.spec.keystores is not None and cert.spec.keystores.pkcs12 is not None
    assert cert.spec.keystores.pkcs12.password == "changeit"
    assert cert.status.conditions[0].observed_generation == 2
    cr = t.parse_certificate_request(CERTIFICATE_REQUEST)
    assert cr.spec.request == PEM and cr.status.ca == PEM
    issuer = t.parse_issuer(ACME_ISSUER)
    assert issuer.spec.acme is not None
    solvers = issuer.spec.acme.solvers
    assert solvers[0].dns01 is not None and solvers[0].dns01.provider_names() == ("rfc2136",)
    assert solvers[1].http01 is not None and solvers[1].http01.ingress is not None
    assert solvers[1].http01.ingress.ingress_class_name == "nginx"
    assert solvers[3].dns01 is not None and solvers[3].dns01.provider_names() == ("cloudflare",)
    assert t.parse_order(ORDER).status.authorizations[0].wildcard is False
    assert t.parse_challenge(CHALLENGE).spec.solver.dns01 is not None


def test_defaults_apply_on_read_not_on_parse() -> None:
    cert = t.parse_certificate({"kind": "Certificate", "spec": {"issuerRef": {"name": "ca"}}})
    assert cert.spec.issuer_ref == t.IssuerRef(name="ca")
    assert defaults.issuer_ref(cert.spec.issuer_ref) == t.IssuerRef("ca", "Issuer", "cert-manager.io")
    assert defaults.duration(cert.spec) == dt.timedelta(days=90)
    assert defaults.private_key(cert.spec) == t.CertificatePrivateKey("RSA", 2048, "PKCS1", "Always")


GARBLED_CASES = [
    pytest.param(
        {"kind": "Certificate", "spec": {"dnsNames": [1, "a"], "isCA": "yes", "revisionHistoryLimit": 1.5}},
        [
            "spec.dnsNames[0]: Invalid value: 1: must be a string",
            'spec.isCA: Invalid value: "yes": must be a boolean',
            "spec.revisionHistoryLimit: Invalid value: 1.5: must be an integer",
        ],
        id="wrong scalar types in a Certificate",
    ),
    pytest.param(
        {"kind": "Certificate", "metadata": {"labels": {"a": 1}}, "spec": {"privateKey": "RSA"}},
        [
            "metadata.labels.a: Invalid value: 1: must be a string",
            'spec.privateKey: Invalid value: "RSA": must be an object',
        ],
        id="a label that is not a string and a privateKey that is not an object",
    ),
    pytest.param(
        {"kind": "CertificateRequest", "spec": {"request": "not base64!", "usages": "server auth"}},
        [
            'spec.request: Invalid value: "<bytes>": must be base64-encoded PEM',
            'spec.usages: Invalid value: "server auth": must be a list',
        ],
        id="a request that is not base64",
    ),
    pytest.param(
        {"kind": "ClusterIssuer", "spec": {"acme": {"solvers": [{"http01": {"ingress": {"class": 5}}}]}}},
        ["spec.acme.solvers[0].http01.ingress.class: Invalid value: 5: must be a string"],
        id="a solver field of the wrong type deep in an ACME issuer",
    ),
    pytest.param(
        {"kind": "Order", "status": {"authorizations": {"url": "x"}}},
        ['status.authorizations: Invalid value: {"url":"x"}: must be a list'],
        id="authorizations that are not a list",
    ),
    pytest.param(
        {"kind": "Challenge", "spec": "x"},
        ['spec: Invalid value: "x": must be an object'],
        id="a Challenge spec that is not an object",
    ),
    pytest.param(
        {"kind": "Gateway"},
        ['kind: Invalid value: "Gateway": not a cert-manager kind'],
        id="a kind that is not cert-manager's",
    ),
]


@pytest.mark.parametrize(("manifest", "expected"), GARBLED_CASES)
def test_garbled_manifests_give_field_path_violations(manifest: dict[str, Any], expected: list[str]) -> None:
    with pytest.raises(InvalidObject) as caught:
        t.parse(manifest)
    assert [str(x) for x in caught.value.violations] == expected


def test_invalid_object_summary_names_the_object() -> None:
    with pytest.raises(InvalidObject) as caught:
        t.parse({"kind": "Certificate", "metadata": {"name": "web"}, "spec": {"isCA": 1}})
    assert str(caught.value) == 'Certificate "web" is invalid: spec.isCA: Invalid value: 1: must be a boolean'


# ---------------------------------------------------------------------------------------------------------
# Go durations

PARSE_CASES = [
    ("1h0m0s", dt.timedelta(hours=1)),
    ("2160h0m0s", dt.timedelta(days=90)),
    ("2160h", dt.timedelta(days=90)),
    ("1.5h", dt.timedelta(hours=1, minutes=30)),
    (".5h", dt.timedelta(minutes=30)),
    ("1.h", dt.timedelta(hours=1)),
    ("500ms", dt.timedelta(milliseconds=500)),
    ("1h30m", dt.timedelta(hours=1, minutes=30)),
    ("59m55s", dt.timedelta(minutes=59, seconds=55)),
    ("1m1.5s", dt.timedelta(minutes=1, seconds=1.5)),
    ("250us", dt.timedelta(microseconds=250)),
    ("250µs", dt.timedelta(microseconds=250)),
    ("1500ns", dt.timedelta(microseconds=1)),
    ("0", dt.timedelta(0)),
    ("+5m", dt.timedelta(minutes=5)),
    ("-1.5h", -dt.timedelta(hours=1, minutes=30)),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES, ids=[c[0] for c in PARSE_CASES])
def test_parse_go_durations(text: str, expected: dt.timedelta) -> None:
    assert d.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["", "1", "h", "1hh", "1d", "1e3s", " 1h", "1h ", "1h-5m", ".", "-", "1.5.h", "99999999999999999999h"]
)
def test_parse_rejects_what_go_rejects(text: str) -> None:
    with pytest.raises(d.DurationError, match="time: invalid duration"):
        d.parse(text)


FORMAT_CASES = [
    (dt.timedelta(hours=1), "1h0m0s"),
    (dt.timedelta(days=90), "2160h0m0s"),
    (dt.timedelta(minutes=5), "5m0s"),
    (dt.timedelta(hours=1, minutes=30), "1h30m0s"),
    (dt.timedelta(seconds=1.5), "1.5s"),
    (dt.timedelta(milliseconds=500), "500ms"),
    (dt.timedelta(microseconds=1500), "1.5ms"),
    (dt.timedelta(microseconds=7), "7µs"),
    (dt.timedelta(0), "0s"),
    (-dt.timedelta(minutes=90), "-1h30m0s"),
    (dt.timedelta(minutes=1, seconds=0.25), "1m0.25s"),
]


@pytest.mark.parametrize(("value", "expected"), FORMAT_CASES, ids=[c[1] for c in FORMAT_CASES])
def test_format_like_go(value: dt.timedelta, expected: str) -> None:
    assert d.format(value) == expected
    assert d.parse(expected) == value


# ---------------------------------------------------------------------------------------------------------
# Hypothesis: whatever parses, round-trips


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbled())
def test_whatever_parses_survives_to_wire_and_back(obj: Any) -> None:
    try:
        parsed = t.parse(obj)
    except InvalidObject:
        return
    assert t.parse(parsed.to_wire()) == parsed


def test_views_compare_hash_and_print_as_dataclasses_do() -> None:
    """Model's generic __eq__/__hash__/__repr__ stand in for the generated ones: same class and fields."""
    a = t.SecretKeySelector(name="s", key="k")
    assert a == t.SecretKeySelector(name="s", key="k") and hash(a) == hash(t.SecretKeySelector(name="s", key="k"))
    assert a != t.SecretKeySelector(name="s", key="other")
    assert a != t.LocalObjectReference(name="s") and t.LocalObjectReference(name="s") != a
    assert a.__eq__(object()) is NotImplemented
    assert repr(a) == "SecretKeySelector(name='s', key='k')"
    assert {t.CertificatePrivateKey(algorithm="RSA"), t.CertificatePrivateKey(algorithm="RSA")} == {
        t.CertificatePrivateKey(algorithm="RSA")}
    assert t.CertificateSpec.__doc__
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.name = "x"  # type: ignore[misc]


VIEWS = sorted((c for c in vars(t).values() if isinstance(c, type) and issubclass(c, Model) and c is not Model),
               key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", VIEWS, ids=[c.__name__ for c in VIEWS])
def test_views_built_by_parsing_equal_those_built_by_their_constructor(cls: type[Model]) -> None:
    """from_wire fills the instance dict directly (not through __init__): the same object."""
    built = cls._construct({})
    assert built == cls() and vars(built) == vars(cls())
    for name, value in vars(built).items():
        if isinstance(value, dict | list):  # default factories give each object its own
            assert value is not getattr(cls._construct({}), name)


def test_a_view_checks_its_constructor_arguments_as_a_dataclass_does() -> None:
    @model
    class Pair(Model):
        first: str
        second: tuple[str, ...] = ()
        extra: dict[str, str] = dataclasses.field(default_factory=dict)

    assert Pair("a") == Pair(first="a") and Pair("a", ("b",)).second == ("b",)
    assert Pair("a").extra == {} and Pair("a").extra is not Pair("a").extra
    with pytest.raises(TypeError, match="unexpected keyword argument 'third'"):
        Pair(first="a", third=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="missing required argument 'first'"):
        Pair()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values for argument 'first'"):
        Pair("a", first="b")  # type: ignore[misc]
    with pytest.raises(TypeError, match="takes 3 positional arguments"):
        Pair("a", (), {}, 4)  # type: ignore[call-arg]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del Pair("a").first
    assert dataclasses.replace(Pair("a"), second=("x",)) == Pair("a", ("x",))
    assert [f.name for f in dataclasses.fields(Pair)] == ["first", "second", "extra"]
