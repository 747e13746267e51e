"""ingress-shim decision tables, modelled on cert-manager's certificate-shim sync_test.go and helper_test.go.

Each case names the Ingress it starts from in a sentence; the checks look at the Outcome only (Certificates
to create, update and delete, and the events for the Ingress). Every Certificate the shim creates or
updates must pass the webhook rules, and random annotations must never make it raise.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from issuer.api import constants as c
from issuer.api import validation
from issuer.controllers import ingress_shim as shim

NS = "default"
UID = "uid-of-web"
ISSUER = {c.ANN_INGRESS_ISSUER: "ca-issuer"}
CLUSTER_ISSUER = {c.ANN_INGRESS_CLUSTER_ISSUER: "letsencrypt"}
TLS = [{"hosts": ["example.com"], "secretName": "example-tls"}]
DEFAULT_REF = {"name": "ca-issuer", "kind": "Issuer", "group": "cert-manager.io"}
OWNER = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "Ingress",
    "name": "web",
    "uid": UID,
    "controller": True,
    "blockOwnerDeletion": True,
}


def ingress(
    annotations: dict[str, str] | None = None,
    tls: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    **meta: Any,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "web", "namespace": NS, "uid": UID, **meta}
    metadata["annotations"] = ISSUER if annotations is None else annotations
    if labels is not None:
        metadata["labels"] = labels
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": {"tls": TLS if tls is None else tls},
    }


def stored(cert: dict[str, Any], uid: str = "uid-cert", resource_version: str = "7") -> dict[str, Any]:
    """A created Certificate as the API server returns it."""
    out = copy.deepcopy(cert)
    out["metadata"].update(uid=uid, resourceVersion=resource_version, generation=1)
    out["status"] = {"conditions": [{"type": "Ready", "status": "True", "reason": "Ready", "message": "ok"}]}
    return out


def created(ing: dict[str, Any], options: shim.Options | None = None) -> dict[str, Any]:
    """The single Certificate the shim creates for `ing`."""
    outcome = shim.decide(ing, [], options or shim.Options())
    assert len(outcome.create) == 1, outcome.events
    return outcome.create[0]


def assert_bad_config(outcome: shim.Outcome, *fragments: str) -> None:
    assert not outcome.writes, outcome
    assert [e[:2] for e in outcome.events] == [("Warning", "BadConfig")], outcome.events
    for fragment in fragments:
        assert fragment in outcome.events[0][2]


# ---------------------------------------------------------------------------------------------------------
# The Certificate built for one TLS entry


def test_the_certificate_for_a_basic_annotated_ingress() -> None:
    ing = ingress(labels={"app": "web", "applyset.kubernetes.io/part-of": "applyset-abc"})
    outcome = shim.decide(ing, [])
    assert outcome.create == [
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {
                "name": "example-tls",
                "namespace": NS,
                "labels": {"app": "web"},
                "ownerReferences": [OWNER],
            },
            "spec": {
                "secretName": "example-tls",
                "dnsNames": ["example.com"],
                "issuerRef": DEFAULT_REF,
                "usages": ["digital signature", "key encipherment"],
            },
        }
    ]
    assert outcome.events == [("Normal", "CreateCertificate", 'Successfully created Certificate "example-tls"')]
    assert not outcome.update
    assert not outcome.delete


def test_the_ingress_labels_are_copied_but_not_aliased() -> None:
    labels = {"app": "web"}
    cert = created(ingress(labels=labels))
    cert["metadata"]["labels"]["extra"] = "x"
    assert labels == {"app": "web"}


def test_conformance_24_a_single_dns_name_defined_by_an_annotated_ingress() -> None:
    """should issue a certificate for a single distinct DNS Name defined by an ingress with annotations"""
    tls = [{"hosts": ["app.http01.example.com"], "secretName": "testcert-ingress"}]
    for trigger, kind in ((ISSUER, "Issuer"), (CLUSTER_ISSUER, "ClusterIssuer")):
        cert = created(ingress(trigger, tls))
        assert cert["metadata"]["name"] == "testcert-ingress"
        assert cert["spec"]["secretName"] == "testcert-ingress"
        assert cert["spec"]["dnsNames"] == ["app.http01.example.com"]
        assert cert["spec"]["issuerRef"]["kind"] == kind
        assert validation.validate(cert) == []


def test_conformance_25_certificate_field_annotations_on_an_ingress() -> None:
    """should issue a certificate defined by an ingress with certificate field annotations"""
    annotations = {
        c.ANN_INGRESS_ISSUER: "ca-issuer",
        c.ANN_INGRESS_ISSUER_KIND: "Issuer",
        c.ANN_INGRESS_ISSUER_GROUP: "cert-manager.io",
        c.ANN_COMMON_NAME: "app.example.com",
        c.ANN_DURATION: "2h",
        c.ANN_RENEW_BEFORE: "30m",
        c.ANN_REVISION_HISTORY_LIMIT: "7",
        c.ANN_PRIVATE_KEY_ALGORITHM: "ECDSA",
        c.ANN_PRIVATE_KEY_ENCODING: "PKCS8",
        c.ANN_PRIVATE_KEY_SIZE: "384",
        c.ANN_PRIVATE_KEY_ROTATION_POLICY: "Never",
    }
    tls = [{"hosts": ["app.example.com"], "secretName": "testcert-ingress"}]
    cert = created(ingress(annotations, tls))
    assert cert["spec"] == {
        "secretName": "testcert-ingress",
        "commonName": "app.example.com",
        "dnsNames": ["app.example.com"],
        "duration": "2h0m0s",
        "renewBefore": "30m0s",
        "issuerRef": {"name": "ca-issuer", "kind": "Issuer", "group": "cert-manager.io"},
        "usages": ["digital signature", "key encipherment"],
        "privateKey": {"algorithm": "ECDSA", "size": 384, "encoding": "PKCS8", "rotationPolicy": "Never"},
        "revisionHistoryLimit": 7,
    }
    assert validation.validate(cert) == []


def test_one_certificate_per_tls_entry_in_ingress_order() -> None:
    tls = [
        {"hosts": ["b.example.com"], "secretName": "b-tls"},
        {"hosts": ["a.example.com", "www.a.example.com"], "secretName": "a-tls"},
    ]
    outcome = shim.decide(ingress(tls=tls), [])
    assert [(x["metadata"]["name"], x["spec"]["dnsNames"]) for x in outcome.create] == [
        ("b-tls", ["b.example.com"]),
        ("a-tls", ["a.example.com", "www.a.example.com"]),
    ]
    assert [e[2] for e in outcome.events] == [
        'Successfully created Certificate "b-tls"',
        'Successfully created Certificate "a-tls"',
    ]


def test_hosts_are_deduplicated_and_ip_addresses_split_out() -> None:
    hosts = ["example.com", "10.0.0.1", "example.com", "2001:db8::1", "2001:0db8::1", "www.example.com", "10.0.0.1"]
    cert = created(ingress(tls=[{"hosts": hosts, "secretName": "example-tls"}]))
    assert cert["spec"]["dnsNames"] == ["example.com", "www.example.com"]
    assert cert["spec"]["ipAddresses"] == ["10.0.0.1", "2001:db8::1"]


def test_a_host_that_is_not_a_go_ip_stays_a_dns_name() -> None:
    cert = created(ingress(tls=[{"hosts": ["010.0.0.1"], "secretName": "example-tls"}]))
    assert cert["spec"]["dnsNames"] == ["010.0.0.1"]
    assert "ipAddresses" not in cert["spec"]


# ---------------------------------------------------------------------------------------------------------
# Trigger annotations and the issuer

TLS_ACME_TRUE = {c.ANN_TLS_ACME: "true"}
DEFAULT_ISSUER = shim.Options(default_issuer_name="le-prod", default_issuer_kind="ClusterIssuer")

ISSUER_REFS = {
    "cert-manager.io/issuer refers to an Issuer": (ISSUER, shim.Options(), DEFAULT_REF),
    "cert-manager.io/cluster-issuer refers to a ClusterIssuer": (
        CLUSTER_ISSUER,
        shim.Options(),
        {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"},
    ),
    "issuer-kind and issuer-group point an issuer annotation at an external issuer": (
        {
            c.ANN_INGRESS_ISSUER: "pca",
            c.ANN_INGRESS_ISSUER_KIND: "AWSPCAClusterIssuer",
            c.ANN_INGRESS_ISSUER_GROUP: "awspca.cert-manager.io",
        },
        shim.Options(),
        {"name": "pca", "kind": "AWSPCAClusterIssuer", "group": "awspca.cert-manager.io"},
    ),
    "issuer-kind alone can make an issuer annotation refer to a ClusterIssuer": (
        {c.ANN_INGRESS_ISSUER: "ca", c.ANN_INGRESS_ISSUER_KIND: "ClusterIssuer"},
        shim.Options(),
        {"name": "ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
    ),
    "kubernetes.io/tls-acme true uses the default issuer": (
        TLS_ACME_TRUE,
        DEFAULT_ISSUER,
        {"name": "le-prod", "kind": "ClusterIssuer", "group": "cert-manager.io"},
    ),
    "kubernetes.io/tls-acme accepts every spelling Go's ParseBool reads as true": (
        {c.ANN_TLS_ACME: "T"},
        DEFAULT_ISSUER,
        {"name": "le-prod", "kind": "ClusterIssuer", "group": "cert-manager.io"},
    ),
    "an issuer annotation wins over the default issuer of tls-acme": (
        {**TLS_ACME_TRUE, **ISSUER},
        DEFAULT_ISSUER,
        DEFAULT_REF,
    ),
    "issuer-kind and issuer-group also override the default issuer": (
        {**TLS_ACME_TRUE, c.ANN_INGRESS_ISSUER_KIND: "VaultIssuer", c.ANN_INGRESS_ISSUER_GROUP: "vault.example"},
        DEFAULT_ISSUER,
        {"name": "le-prod", "kind": "VaultIssuer", "group": "vault.example"},
    ),
    "a custom auto-certificate annotation triggers with the default issuer": (
        {"example.com/want-cert": "1"},
        shim.Options(default_issuer_name="dflt", auto_certificate_annotations=("example.com/want-cert",)),
        {"name": "dflt", "kind": "Issuer", "group": "cert-manager.io"},
    ),
}


@pytest.mark.parametrize(("annotations", "options", "ref"), ISSUER_REFS.values(), ids=ISSUER_REFS.keys())
def test_issuer_reference(annotations: dict[str, str], options: shim.Options, ref: dict[str, str]) -> None:
    cert = created(ingress(annotations), options)
    assert cert["spec"]["issuerRef"] == ref
    assert validation.validate(cert) == []


NOT_TRIGGERED = {
    "an Ingress without annotations": ({}, DEFAULT_ISSUER),
    "an Ingress with only field annotations": ({c.ANN_COMMON_NAME: "example.com"}, DEFAULT_ISSUER),
    "kubernetes.io/tls-acme false": ({c.ANN_TLS_ACME: "false"}, DEFAULT_ISSUER),
    "kubernetes.io/tls-acme with a value Go cannot parse as a bool": ({c.ANN_TLS_ACME: "yes"}, DEFAULT_ISSUER),
    "kubernetes.io/tls-acme empty": ({c.ANN_TLS_ACME: ""}, DEFAULT_ISSUER),
    "kubernetes.io/tls-acme when the auto annotations are switched off": (
        TLS_ACME_TRUE,
        shim.Options(default_issuer_name="x", auto_certificate_annotations=()),
    ),
    "only issuer-kind and issuer-group": (
        {c.ANN_INGRESS_ISSUER_KIND: "Issuer", c.ANN_INGRESS_ISSUER_GROUP: "cert-manager.io"},
        DEFAULT_ISSUER,
    ),
}


@pytest.mark.parametrize(("annotations", "options"), NOT_TRIGGERED.values(), ids=NOT_TRIGGERED.keys())
def test_no_trigger_annotation_means_nothing_at_all(annotations: dict[str, str], options: shim.Options) -> None:
    owned_stale = stored(created(ingress(tls=[{"hosts": ["old.example.com"], "secretName": "old-tls"}])))
    outcome = shim.decide(ingress(annotations), [owned_stale], options)
    assert outcome == shim.Outcome()  # not even the stale owned Certificate is deleted, as in cert-manager


ISSUER_ERRORS = {
    "tls-acme without a default issuer has no issuer name": (
        TLS_ACME_TRUE,
        "Could not determine issuer for ingress due to bad annotations: "
        "failed to determine issuer name to be used for ingress resource",
    ),
    "an empty issuer annotation has no issuer name": (
        {c.ANN_INGRESS_ISSUER: ""},
        "Could not determine issuer for ingress due to bad annotations: "
        "failed to determine issuer name to be used for ingress resource",
    ),
    "issuer and cluster-issuer together": (
        {**ISSUER, **CLUSTER_ISSUER},
        'Could not determine issuer for ingress due to bad annotations: both "cert-manager.io/issuer" and '
        '"cert-manager.io/cluster-issuer" may not be set',
    ),
    "cluster-issuer with issuer-group": (
        {**CLUSTER_ISSUER, c.ANN_INGRESS_ISSUER_GROUP: "cert-manager.io"},
        'Could not determine issuer for ingress due to bad annotations: both "cert-manager.io/cluster-issuer" and '
        '"cert-manager.io/issuer-group" may not be set',
    ),
    "cluster-issuer with issuer-kind": (
        {**CLUSTER_ISSUER, c.ANN_INGRESS_ISSUER_KIND: "ClusterIssuer"},
        'Could not determine issuer for ingress due to bad annotations: both "cert-manager.io/cluster-issuer" and '
        '"cert-manager.io/issuer-kind" may not be set',
    ),
    "every issuer problem at once, joined as cert-manager joins them": (
        {
            c.ANN_INGRESS_ISSUER: "",
            c.ANN_INGRESS_CLUSTER_ISSUER: "",
            c.ANN_INGRESS_ISSUER_KIND: "x",
            c.ANN_INGRESS_ISSUER_GROUP: "y",
        },
        "Could not determine issuer for ingress due to bad annotations: "
        "failed to determine issuer name to be used for ingress resource, "
        'both "cert-manager.io/issuer" and "cert-manager.io/cluster-issuer" may not be set, '
        'both "cert-manager.io/cluster-issuer" and "cert-manager.io/issuer-group" may not be set, '
        'both "cert-manager.io/cluster-issuer" and "cert-manager.io/issuer-kind" may not be set',
    ),
}


@pytest.mark.parametrize(("annotations", "message"), ISSUER_ERRORS.values(), ids=ISSUER_ERRORS.keys())
def test_issuer_errors_are_bad_config(annotations: dict[str, str], message: str) -> None:
    owned_stale = stored(created(ingress(tls=[{"hosts": ["old.example.com"], "secretName": "old-tls"}])))
    outcome = shim.decide(ingress(annotations), [owned_stale])
    assert outcome == shim.Outcome(events=[("Warning", "BadConfig", message)])


# ---------------------------------------------------------------------------------------------------------
# Field annotations: valid values


def ann(**values: str) -> dict[str, str]:
    return {**ISSUER, **{f"cert-manager.io/{k.replace('_', '-')}": v for k, v in values.items()}}


VALID = {
    "common-name sets spec.commonName": (ann(common_name="example.com"), {"commonName": "example.com"}),
    "a 64 byte common-name is accepted": (ann(common_name="a" * 64), {"commonName": "a" * 64}),
    "alt-names are appended to the hosts and deduplicated": (
        ann(alt_names="www.example.com, example.com,,api.example.com"),
        {"dnsNames": ["example.com", "www.example.com", "api.example.com"]},
    ),
    "ip-sans fill spec.ipAddresses": (ann(ip_sans="10.0.0.1,::1, 10.0.0.1"), {"ipAddresses": ["10.0.0.1", "::1"]}),
    "email-sans fill spec.emailAddresses": (
        ann(email_sans="a@example.com,b@example.com"),
        {"emailAddresses": ["a@example.com", "b@example.com"]},
    ),
    "subject-organizations is CSV with quoting": (
        ann(subject_organizations='"Acme, Inc.",Example Org'),
        {"subject": {"organizations": ["Acme, Inc.", "Example Org"]}},
    ),
    "subject-organizationalunits": (
        ann(subject_organizationalunits="IT Services,Cloud"),
        {"subject": {"organizationalUnits": ["IT Services", "Cloud"]}},
    ),
    "subject-countries": (ann(subject_countries="GB,DE"), {"subject": {"countries": ["GB", "DE"]}}),
    "subject-provinces": (ann(subject_provinces="Ontario"), {"subject": {"provinces": ["Ontario"]}}),
    "subject-localities": (ann(subject_localities="City 1,City 2"), {"subject": {"localities": ["City 1", "City 2"]}}),
    "subject-postalcodes": (ann(subject_postalcodes="123ABC"), {"subject": {"postalCodes": ["123ABC"]}}),
    "subject-streetaddresses keeps commas inside quotes and doubled quotes": (
        ann(subject_streetaddresses='"1725 Slough Avenue, Suite 200","The ""Annex"""'),
        {"subject": {"streetAddresses": ["1725 Slough Avenue, Suite 200", 'The "Annex"']}},
    ),
    "subject-serialnumber": (ann(subject_serialnumber="123456"), {"subject": {"serialNumber": "123456"}}),
    "an empty subject-serialnumber sets no subject": (ann(subject_serialnumber=""), {"subject": None}),
    "duration is written in Go's canonical form": (ann(duration="2160h"), {"duration": "2160h0m0s"}),
    "a duration of exactly 1h is accepted": (ann(duration="1h"), {"duration": "1h0m0s"}),
    "renew-before": (ann(renew_before="720h"), {"renewBefore": "720h0m0s"}),
    "a renew-before of exactly 5m is accepted": (ann(renew_before="5m"), {"renewBefore": "5m0s"}),
    "renew-before-percentage": (
        ann(duration="168h", renew_before_percentage="50"),
        {"duration": "168h0m0s", "renewBeforePercentage": 50},
    ),
    "a renew-before-percentage without duration or renew-before escapes the webhook's range check": (
        ann(renew_before_percentage="150"),
        {"renewBeforePercentage": 150},
    ),
    "usages replace the default usages, spaces trimmed": (
        ann(usages="server auth, client auth,digital signature"),
        {"usages": ["server auth", "client auth", "digital signature"]},
    ),
    "revision-history-limit of 1": (ann(revision_history_limit="1"), {"revisionHistoryLimit": 1}),
    "private-key-algorithm RSA with size 4096": (
        ann(private_key_algorithm="RSA", private_key_size="4096"),
        {"privateKey": {"algorithm": "RSA", "size": 4096}},
    ),
    "private-key-size alone is checked as RSA": (ann(private_key_size="3072"), {"privateKey": {"size": 3072}}),
    "private-key-algorithm ECDSA with size 521": (
        ann(private_key_algorithm="ECDSA", private_key_size="521"),
        {"privateKey": {"algorithm": "ECDSA", "size": 521}},
    ),
    "private-key-algorithm Ed25519": (ann(private_key_algorithm="Ed25519"), {"privateKey": {"algorithm": "Ed25519"}}),
    "an Ed25519 key takes any size, which cert-manager ignores": (
        ann(private_key_algorithm="Ed25519", private_key_size="1"),
        {"privateKey": {"algorithm": "Ed25519", "size": 1}},
    ),
    "private-key-encoding PKCS8": (ann(private_key_encoding="PKCS8"), {"privateKey": {"encoding": "PKCS8"}}),
    "private-key-rotation-policy Never": (
        ann(private_key_rotation_policy="Never"),
        {"privateKey": {"rotationPolicy": "Never"}},
    ),
    "private-key-rotation-policy Always": (
        ann(private_key_rotation_policy="Always"),
        {"privateKey": {"rotationPolicy": "Always"}},
    ),
    "secret-template sets spec.secretTemplate": (
        ann(secret_template='{"labels": {"team": "web"}, "annotations": {"example.com/owner": "me"}}'),
        {"secretTemplate": {"annotations": {"example.com/owner": "me"}, "labels": {"team": "web"}}},
    ),
    "secret-template field names match case-insensitively, as Go's JSON decoder does": (
        ann(secret_template='{"Labels": {"team": "web"}}'),
        {"secretTemplate": {"labels": {"team": "web"}}},
    ),
    "an empty secret-template sets nothing": (ann(secret_template='{"labels": {}}'), {"secretTemplate": None}),
    "a null secret-template sets nothing": (ann(secret_template="null"), {"secretTemplate": None}),
    "conformance 25: every field annotation together": (
        {
            c.ANN_INGRESS_ISSUER: "ca-issuer",
            c.ANN_INGRESS_ISSUER_KIND: "Issuer",
            c.ANN_INGRESS_ISSUER_GROUP: "cert-manager.io",
            c.ANN_COMMON_NAME: "example.com",
            c.ANN_DURATION: "24h",
            c.ANN_RENEW_BEFORE: "1h",
            c.ANN_REVISION_HISTORY_LIMIT: "3",
            c.ANN_PRIVATE_KEY_ALGORITHM: "RSA",
            c.ANN_PRIVATE_KEY_ENCODING: "PKCS1",
            c.ANN_PRIVATE_KEY_SIZE: "2048",
            c.ANN_PRIVATE_KEY_ROTATION_POLICY: "Always",
        },
        {
            "commonName": "example.com",
            "duration": "24h0m0s",
            "renewBefore": "1h0m0s",
            "revisionHistoryLimit": 3,
            "privateKey": {"algorithm": "RSA", "size": 2048, "encoding": "PKCS1", "rotationPolicy": "Always"},
        },
    ),
}


@pytest.mark.parametrize(("annotations", "expected"), VALID.values(), ids=VALID.keys())
def test_field_annotation(annotations: dict[str, str], expected: dict[str, Any]) -> None:
    spec = created(ingress(annotations))["spec"]
    for key, value in expected.items():
        assert spec.get(key) == value, key


@pytest.mark.parametrize("annotations", [a for a, _ in VALID.values()], ids=VALID.keys())
def test_every_valid_case_passes_the_webhook_rules(annotations: dict[str, str]) -> None:
    assert validation.validate(created(ingress(annotations))) == []


# ---------------------------------------------------------------------------------------------------------
# Field annotations: invalid values are one BadConfig event and no changes

INVALID = {
    "a common-name over 64 bytes": (
        ann(common_name="a" * 65),
        'invalid ingress annotation "cert-manager.io/common-name": must be no more than 64 bytes, got 65',
    ),
    "ip-sans with something that is not an IP": (
        ann(ip_sans="10.0.0.1,not-an-ip"),
        'invalid ingress annotation "cert-manager.io/ip-sans": invalid IP address "not-an-ip"',
    ),
    "email-sans with a display name": (
        ann(email_sans="Me <me@example.com>"),
        'invalid ingress annotation "cert-manager.io/email-sans": "Me <me@example.com>": invalid email address',
    ),
    "subject-organizations with a bare quote": (
        ann(subject_organizations='Acme "Inc"'),
        'invalid ingress annotation "cert-manager.io/subject-organizations": failed to parse "Acme \\"Inc\\"" '
        'as CSV: parse error on line 1, column 6: bare " in non-quoted-field',
    ),
    "subject-streetaddresses with a stray quote after a quoted field": (
        ann(subject_streetaddresses='"a"b'),
        'failed to parse "\\"a\\"b" as CSV: parse error on line 1, column 3: extraneous or missing " in quoted-field',
    ),
    "subject-localities with an unterminated quote": (
        ann(subject_localities='"City'),
        "column 6: extraneous or missing",
    ),
    "subject-countries on two lines": (
        ann(subject_countries="GB\nDE"),
        'refusing to use "GB\\nDE" as input as it parses as multiple lines of CSV',
    ),
    "an empty subject-provinces": (
        ann(subject_provinces=""),
        'invalid ingress annotation "cert-manager.io/subject-provinces": no values found after parsing ""',
    ),
    "subject-organizationalunits names its own annotation": (
        ann(subject_organizationalunits='"'),
        'invalid ingress annotation "cert-manager.io/subject-organizationalunits"',
    ),
    "subject-postalcodes with a bad quote": (ann(subject_postalcodes='1"2'), "subject-postalcodes"),
    "an unparsable duration": (
        ann(duration="an un-parsable duration string"),
        'invalid ingress annotation "cert-manager.io/duration": '
        'time: invalid duration "an un-parsable duration string"',
    ),
    "a duration under 1h": (
        ann(duration="59m"),
        'invalid ingress annotation "cert-manager.io/duration": certificate duration must be greater than 1h0m0s',
    ),
    "a negative duration": (ann(duration="-5s"), "certificate duration must be greater than 1h0m0s"),
    "an unparsable renew-before": (ann(renew_before="soon"), 'time: invalid duration "soon"'),
    "a renew-before under 5m": (
        ann(renew_before="4m59s"),
        'invalid ingress annotation "cert-manager.io/renew-before": certificate renewBefore must be greater than 5m0s',
    ),
    "a renew-before not shorter than the duration": (
        ann(duration="2h", renew_before="2h"),
        'spec.renewBefore: Invalid value: "2h0m0s": certificate duration 2h0m0s must be greater than renewBefore',
    ),
    "a renew-before not shorter than the default duration": (
        ann(renew_before="2161h"),
        "certificate duration 2160h0m0s must be greater than renewBefore 2161h0m0s",
    ),
    "an unparsable renew-before-percentage": (
        ann(renew_before_percentage="an un-parsable integer"),
        'invalid ingress annotation "cert-manager.io/renew-before-percentage": '
        'strconv.ParseInt: parsing "an un-parsable integer": invalid syntax',
    ),
    "a renew-before-percentage out of int32 range": (
        ann(renew_before_percentage="4294967296"),
        "value out of range",
    ),
    "a renew-before-percentage of 150 with a duration": (
        ann(duration="24h", renew_before_percentage="150"),
        "certificate renewBeforePercentage must result in a renewBefore greater than 5m0s",
    ),
    "a renew-before-percentage of 0 with a duration": (
        ann(duration="24h", renew_before_percentage="0"),
        "certificate renewBeforePercentage must result in a renewBefore less than duration",
    ),
    "renew-before and renew-before-percentage together": (
        ann(renew_before="1h", renew_before_percentage="50"),
        "renewBefore and renewBeforePercentage are mutually exclusive",
    ),
    "an unknown usage": (
        ann(usages="playing ping pong"),
        'invalid ingress annotation "cert-manager.io/usages": invalid key usage name "playing ping pong"',
    ),
    "an empty item in usages": (ann(usages="server auth,,signing"), 'invalid key usage name ""'),
    "a usage in the wrong case": (ann(usages="Server Auth"), 'invalid key usage name "Server Auth"'),
    "an unparsable revision-history-limit": (
        ann(revision_history_limit="seven"),
        'strconv.ParseInt: parsing "seven": invalid syntax',
    ),
    "a revision-history-limit of 0": (
        ann(revision_history_limit="0"),
        'invalid ingress annotation "cert-manager.io/revision-history-limit": '
        'revision history limit must be a positive number "0"',
    ),
    "a revision-history-limit with spaces": (ann(revision_history_limit=" 3"), "invalid syntax"),
    "a lower-case private-key-algorithm": (
        ann(private_key_algorithm="rsa"),
        'invalid ingress annotation "cert-manager.io/private-key-algorithm": invalid private key algorithm "rsa"',
    ),
    "an unknown private-key-encoding": (
        ann(private_key_encoding="PKCS12"),
        'invalid ingress annotation "cert-manager.io/private-key-encoding": invalid private key encoding "PKCS12"',
    ),
    "an unparsable private-key-size": (
        ann(private_key_size="big"),
        'invalid ingress annotation "cert-manager.io/private-key-size": strconv.Atoi: parsing "big": invalid syntax',
    ),
    "a private-key-size of 0 is too small for the default RSA": (
        ann(private_key_size="0"),
        'invalid private key size for RSA algorithm "0"',
    ),
    "an RSA private-key-size of 1024": (
        ann(private_key_algorithm="RSA", private_key_size="1024"),
        'invalid private key size for RSA algorithm "1024"',
    ),
    "an RSA private-key-size over 8192": (ann(private_key_size="8193"), "invalid private key size for RSA"),
    "an ECDSA private-key-size of 128": (
        ann(private_key_algorithm="ECDSA", private_key_size="128"),
        'invalid private key size for ECDSA algorithm "128"',
    ),
    "an unknown private-key-rotation-policy": (
        ann(private_key_rotation_policy="Sometimes"),
        'invalid private key rotation policy "Sometimes"',
    ),
    "a secret-template that is not JSON": (
        ann(secret_template="{labels: x}"),
        'invalid ingress annotation "cert-manager.io/secret-template": error parsing secret template JSON',
    ),
    "a secret-template with an unknown field": (
        ann(secret_template='{"labels": {}, "data": {}}'),
        'error parsing secret template JSON: json: unknown field "data"',
    ),
    "a secret-template with trailing data": (ann(secret_template='{"labels": {}} {}'), "secret template JSON"),
    "a secret-template that is an array": (ann(secret_template="[]"), "cannot unmarshal array"),
    "a secret-template with a number for a label": (
        ann(secret_template='{"labels": {"a": 1}}'),
        "cannot unmarshal number into Go struct field CertificateSecretTemplate.labels of type string",
    ),
    "a secret-template with NaN": (ann(secret_template='{"labels": NaN}'), "secret template JSON"),
    "a secret-template with a cert-manager.io annotation": (
        ann(secret_template='{"annotations": {"cert-manager.io/allow-direct-injection": "true"}}'),
        'secretTemplate must not have cert-manager.io/ annotations: "cert-manager.io/allow-direct-injection"',
    ),
    "a secret-template with a label the API server would refuse": (
        ann(secret_template='{"labels": {"bad key!": "x"}}'),
        'spec.secretTemplate.labels: Invalid value: "bad key!"',
    ),
    "an external issuer-kind without issuer-group": (
        {**ISSUER, c.ANN_INGRESS_ISSUER_KIND: "AWSPCAIssuer"},
        'Certificate "example-tls" is invalid: spec.issuerRef.kind: Invalid value: "AWSPCAIssuer": '
        "must be one of Issuer or ClusterIssuer",
    ),
    "several bad annotations are reported together": (
        ann(duration="x", usages="y"),
        '[invalid ingress annotation "cert-manager.io/duration": time: invalid duration "x", '
        'invalid ingress annotation "cert-manager.io/usages": invalid key usage name "y"]',
    ),
}


@pytest.mark.parametrize(("annotations", "fragment"), INVALID.values(), ids=INVALID.keys())
def test_an_invalid_field_annotation_is_bad_config_and_changes_nothing(
    annotations: dict[str, str], fragment: str
) -> None:
    current = stored(created(ingress()))
    current["spec"]["dnsNames"] = ["outdated.example.com"]  # would be updated
    stale = stored(created(ingress(tls=[{"hosts": ["old.example.com"], "secretName": "old-tls"}])), uid="u2")
    outcome = shim.decide(ingress(annotations), [current, stale])
    assert_bad_config(outcome, fragment)


def test_bad_annotations_are_not_read_without_a_usable_tls_entry() -> None:
    """cert-manager translates the annotations per Certificate; with none to build, nothing is reported."""
    stale = stored(created(ingress(tls=[{"hosts": ["old.example.com"], "secretName": "old-tls"}])))
    outcome = shim.decide(ingress(ann(duration="x"), tls=[{"hosts": ["a.example.com"]}]), [stale])
    assert outcome.delete == [("old-tls", "uid-cert")]
    assert [e[1] for e in outcome.events] == ["BadConfig", "DeleteCertificate"]
    assert outcome.events[0][2].startswith("Skipped a TLS block")


def test_an_invalid_secret_name_is_refused_before_the_api_server_sees_it() -> None:
    outcome = shim.decide(ingress(tls=[{"hosts": ["a.example.com"], "secretName": "Bad_Name"}]), [])
    assert_bad_config(outcome, 'Certificate "Bad_Name" is invalid: ', "metadata.name", "spec.secretName")


# ---------------------------------------------------------------------------------------------------------
# Annotations copied onto the Certificate

CERT_ANNOTATIONS = {
    "http01-edit-in-place true overrides the ingress name and asks for a temporary certificate": (
        {c.ANN_HTTP01_EDIT_IN_PLACE: "true"},
        shim.Options(),
        {c.ANN_HTTP01_OVERRIDE_INGRESS_NAME: "web", c.ANN_ISSUE_TEMPORARY_CERTIFICATE: "true"},
    ),
    "http01-edit-in-place other than the exact string true is off": (
        {c.ANN_HTTP01_EDIT_IN_PLACE: "True"},
        shim.Options(),
        None,
    ),
    "http01-ingress-class becomes http01-override-ingress-class": (
        {c.ANN_HTTP01_INGRESS_CLASS: "traefik"},
        shim.Options(),
        {c.ANN_HTTP01_OVERRIDE_INGRESS_CLASS: "traefik"},
    ),
    "an empty http01-ingress-class is ignored": ({c.ANN_HTTP01_INGRESS_CLASS: ""}, shim.Options(), None),
    "http01-ingress-ingressclassname becomes http01-override-ingress-ingressclassname": (
        {c.ANN_HTTP01_INGRESS_INGRESSCLASSNAME: "nginx"},
        shim.Options(),
        {c.ANN_HTTP01_OVERRIDE_INGRESS_INGRESSCLASSNAME: "nginx"},
    ),
    "extra certificate annotations are copied when present": (
        {"example.com/team": "web", "example.com/other": "x"},
        shim.Options(extra_certificate_annotations=("example.com/team", "example.com/missing")),
        {"example.com/team": "web"},
    ),
    "the edit-in-place annotations win over an extra annotation of the same key": (
        {c.ANN_HTTP01_EDIT_IN_PLACE: "true", c.ANN_HTTP01_OVERRIDE_INGRESS_NAME: "other"},
        shim.Options(extra_certificate_annotations=(c.ANN_HTTP01_OVERRIDE_INGRESS_NAME,)),
        {c.ANN_HTTP01_OVERRIDE_INGRESS_NAME: "web", c.ANN_ISSUE_TEMPORARY_CERTIFICATE: "true"},
    ),
    "other Ingress annotations are not copied": (
        {"nginx.ingress.kubernetes.io/ssl-redirect": "true", c.ANN_COMMON_NAME: "example.com"},
        shim.Options(),
        None,
    ),
}


@pytest.mark.parametrize(("annotations", "options", "expected"), CERT_ANNOTATIONS.values(), ids=CERT_ANNOTATIONS.keys())
def test_certificate_annotations(
    annotations: dict[str, str], options: shim.Options, expected: dict[str, str] | None
) -> None:
    cert = created(ingress({**ISSUER, **annotations}), options)
    assert cert["metadata"].get("annotations") == expected
    assert validation.validate(cert) == []


# ---------------------------------------------------------------------------------------------------------
# TLS entries


SKIPPED = {
    "a TLS entry without hosts": ({"secretName": "a-tls"}, "Skipped a TLS block: spec.tls[1].hosts: Required value"),
    "a TLS entry with an empty hosts list": (
        {"hosts": [], "secretName": "a-tls"},
        "Skipped a TLS block: spec.tls[1].hosts: Required value",
    ),
    "a TLS entry without secretName": (
        {"hosts": ["a.example.com"]},
        "Skipped a TLS block: spec.tls[1].secretName: Required value",
    ),
    "a TLS entry with neither": (
        {},
        "Skipped a TLS block: [spec.tls[1].hosts: Required value, spec.tls[1].secretName: Required value]",
    ),
}


@pytest.mark.parametrize(("entry", "message"), SKIPPED.values(), ids=SKIPPED.keys())
def test_an_incomplete_tls_entry_is_skipped_with_a_warning(entry: dict[str, Any], message: str) -> None:
    outcome = shim.decide(ingress(tls=[*TLS, entry]), [])
    assert [x["metadata"]["name"] for x in outcome.create] == ["example-tls"]
    assert outcome.events == [
        ("Warning", "BadConfig", message),
        ("Normal", "CreateCertificate", 'Successfully created Certificate "example-tls"'),
    ]


def test_the_same_secret_name_twice_rejects_the_whole_ingress() -> None:
    tls = [
        {"hosts": ["example.com"], "secretName": "example-tls"},
        {"hosts": ["other.example.com"], "secretName": "other-tls"},
        {"hosts": ["www.example.com"], "secretName": "example-tls"},
    ]
    stale = stored(created(ingress(tls=[{"hosts": ["old.example.com"], "secretName": "old-tls"}])))
    outcome = shim.decide(ingress(tls=tls), [stale])
    assert outcome == shim.Outcome(
        events=[
            (
                "Warning",
                "BadConfig",
                'spec.tls[0].secretName: Invalid value: "example-tls": this secret name must only appear in a '
                "single TLS entry but is also used in spec.tls[2].secretName",
            )
        ]
    )


def test_two_tls_entries_without_secret_name_count_as_duplicates_as_in_cert_manager() -> None:
    outcome = shim.decide(ingress(tls=[{"hosts": ["a.example.com"]}, {"hosts": ["b.example.com"]}]), [])
    assert_bad_config(outcome, 'spec.tls[0].secretName: Invalid value: "": this secret name must only appear')


def test_every_duplicate_secret_name_is_listed() -> None:
    tls = [{"hosts": ["a"], "secretName": n} for n in ("x", "y", "x", "y")]
    assert_bad_config(
        shim.decide(ingress(tls=tls), []),
        '[spec.tls[0].secretName: Invalid value: "x"',
        'spec.tls[1].secretName: Invalid value: "y": this secret name must only appear in a single TLS entry but '
        "is also used in spec.tls[3].secretName]",
    )


# ---------------------------------------------------------------------------------------------------------
# Ingresses being deleted


@pytest.mark.parametrize(
    "meta",
    [{"deletionTimestamp": "2026-11-27T10:00:00Z"}, {"finalizers": ["foregroundDeletion"]}],
    ids=["an Ingress with a deletionTimestamp", "an Ingress being deleted in the foreground"],
)
def test_an_ingress_being_deleted_is_ignored(meta: dict[str, Any]) -> None:
    stale = stored(created(ingress(tls=[{"hosts": ["old.example.com"], "secretName": "old-tls"}])))
    assert shim.decide(ingress(**meta), [stale]) == shim.Outcome()


# ---------------------------------------------------------------------------------------------------------
# Updating an existing Certificate


def _set(path: str, value: Any) -> Any:
    def mutate(cert: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = cert
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value

    return mutate


UPDATE_ANNOTATIONS = ann(
    common_name="example.com",
    duration="24h",
    renew_before="1h",
    revision_history_limit="2",
    private_key_algorithm="RSA",
    private_key_encoding="PKCS1",
    private_key_size="2048",
    private_key_rotation_policy="Always",
)

UPDATES = {
    "labels changed": (_set("metadata.labels", {"app": "old"}), True),
    "labels removed": (_set("metadata.labels", None), True),
    "commonName changed": (_set("spec.commonName", "old.example.com"), True),
    "dnsNames in another order": (_set("spec.dnsNames", ["www.example.com", "example.com"]), True),
    "a dnsName missing": (_set("spec.dnsNames", ["example.com"]), True),
    "secretName changed": (_set("spec.secretName", "other-secret"), True),
    "issuerRef name changed": (_set("spec.issuerRef.name", "old-issuer"), True),
    "issuerRef kind changed": (_set("spec.issuerRef.kind", "ClusterIssuer"), True),
    "revisionHistoryLimit changed": (_set("spec.revisionHistoryLimit", 5), True),
    "revisionHistoryLimit unset": (_set("spec.revisionHistoryLimit", None), True),
    "privateKey algorithm changed": (_set("spec.privateKey.algorithm", "ECDSA"), True),
    "privateKey encoding changed": (_set("spec.privateKey.encoding", "PKCS8"), True),
    "privateKey rotationPolicy changed": (_set("spec.privateKey.rotationPolicy", "Never"), True),
    "privateKey size changed": (_set("spec.privateKey.size", 4096), True),
    "duration changed": (_set("spec.duration", "48h"), True),
    "duration unset": (_set("spec.duration", None), True),
    "renewBefore changed": (_set("spec.renewBefore", "2h"), True),
    "nothing changed": (lambda cert: None, False),
    "duration spelled differently but equal": (_set("spec.duration", "24h"), False),
    "renewBefore spelled differently but equal": (_set("spec.renewBefore", "60m"), False),
    "only ipAddresses changed": (_set("spec.ipAddresses", ["10.9.9.9"]), False),
    "only usages changed": (_set("spec.usages", ["server auth"]), False),
    "only the subject changed": (_set("spec.subject", {"organizations": ["Old"]}), False),
    "only emailAddresses changed": (_set("spec.emailAddresses", ["old@example.com"]), False),
    "only the issuerRef group changed": (_set("spec.issuerRef.group", "example.com"), False),
    "only annotations changed": (_set("metadata.annotations", {"example.com/x": "y"}), False),
    "only the secretTemplate changed": (_set("spec.secretTemplate", {"labels": {"a": "b"}}), False),
}


@pytest.mark.parametrize(("mutate", "update"), UPDATES.values(), ids=UPDATES.keys())
def test_when_an_owned_certificate_is_updated(mutate: Any, update: bool) -> None:
    ing = ingress(
        UPDATE_ANNOTATIONS,
        tls=[{"hosts": ["example.com", "www.example.com", "10.0.0.1"], "secretName": "example-tls"}],
        labels={"app": "web"},
    )
    desired = created(ing)
    current = stored(desired)
    mutate(current)
    outcome = shim.decide(ing, [current])
    assert not outcome.create
    assert not outcome.delete
    if update:
        assert len(outcome.update) == 1
        assert outcome.update[0]["spec"] == desired["spec"]
        assert outcome.events == [("Normal", "UpdateCertificate", 'Successfully updated Certificate "example-tls"')]
        assert validation.validate(outcome.update[0]) == []
    else:
        assert outcome == shim.Outcome()


def test_an_ed25519_key_size_difference_alone_does_not_update() -> None:
    ing = ingress(ann(private_key_algorithm="Ed25519"))
    current = stored(created(ing))
    current["spec"]["privateKey"]["size"] = 256
    assert shim.decide(ing, [current]) == shim.Outcome()


def test_the_update_keeps_the_stored_identity_and_merges_annotations() -> None:
    ing = ingress({**ISSUER, c.ANN_HTTP01_INGRESS_CLASS: "nginx"}, labels={"app": "web"})
    current = stored(created(ing), uid="uid-7", resource_version="42")
    current["metadata"]["annotations"] = {"example.com/keep": "me", c.ANN_HTTP01_OVERRIDE_INGRESS_CLASS: "old"}
    current["metadata"]["labels"] = {"app": "old"}
    current["metadata"]["managedFields"] = [{"manager": "cert-manager-ingress-shim"}]
    current["spec"]["usages"] = ["server auth"]
    outcome = shim.decide(ing, [current])
    [update] = outcome.update
    assert update["metadata"]["uid"] == "uid-7"
    assert update["metadata"]["resourceVersion"] == "42"
    assert update["metadata"]["ownerReferences"] == [OWNER]
    assert update["metadata"]["labels"] == {"app": "web"}
    assert update["metadata"]["annotations"] == {
        "example.com/keep": "me",
        c.ANN_HTTP01_OVERRIDE_INGRESS_CLASS: "nginx",
    }
    assert "managedFields" not in update["metadata"]
    assert "status" not in update
    assert update["spec"]["usages"] == ["digital signature", "key encipherment"]  # carried along with the update
    assert current["spec"]["usages"] == ["server auth"]  # the input is not modified


NOT_OWNED = {
    "a Certificate without owner references": [],
    "a Certificate controlled by another Ingress": [{**OWNER, "name": "other", "uid": "uid-other"}],
    "a Certificate only owned, not controlled, by this Ingress": [{**OWNER, "controller": False}],
}


@pytest.mark.parametrize("owners", NOT_OWNED.values(), ids=NOT_OWNED.keys())
def test_a_certificate_this_ingress_does_not_control_is_left_alone(owners: list[dict[str, Any]]) -> None:
    current = stored(created(ingress()))
    current["metadata"]["ownerReferences"] = owners
    current["spec"]["dnsNames"] = ["something-else.example.com"]
    current["spec"]["secretName"] = "not-in-the-ingress"
    outcome = shim.decide(ingress(), [current])
    assert outcome == shim.Outcome()  # no create (the name is taken), no update, no delete, no event


# ---------------------------------------------------------------------------------------------------------
# Deleting Certificates no longer required


def test_an_owned_certificate_whose_secret_name_is_gone_is_deleted() -> None:
    old = stored(created(ingress(tls=[{"hosts": ["old.example.com"], "secretName": "old-tls"}])), uid="uid-old")
    keep = stored(created(ingress()), uid="uid-keep")
    outcome = shim.decide(ingress(), [old, keep])
    assert outcome == shim.Outcome(
        delete=[("old-tls", "uid-old")],
        events=[("Normal", "DeleteCertificate", 'Successfully deleted unrequired Certificate "old-tls"')],
    )


def test_creates_updates_and_deletes_are_reported_in_that_order() -> None:
    ing = ingress(tls=[*TLS, {"hosts": ["new.example.com"], "secretName": "new-tls"}])
    current = stored(created(ingress()), uid="uid-1")
    current["spec"]["dnsNames"] = ["outdated.example.com"]
    old = stored(created(ingress(tls=[{"hosts": ["old.example.com"], "secretName": "old-tls"}])), uid="uid-2")
    outcome = shim.decide(ing, [old, current])
    assert [e[1] for e in outcome.events] == ["CreateCertificate", "UpdateCertificate", "DeleteCertificate"]
    assert [x["metadata"]["name"] for x in outcome.create] == ["new-tls"]
    assert [x["metadata"]["name"] for x in outcome.update] == ["example-tls"]
    assert outcome.delete == [("old-tls", "uid-2")]


def test_an_ingress_without_tls_deletes_all_its_certificates() -> None:
    owned = [
        stored(created(ingress(tls=[{"hosts": [f"{n}.example.com"], "secretName": f"{n}-tls"}])), uid=f"uid-{n}")
        for n in ("a", "b")
    ]
    outcome = shim.decide(ingress(tls=[]), owned)
    assert outcome.delete == [("a-tls", "uid-a"), ("b-tls", "uid-b")]


def test_a_certificate_of_another_owner_is_never_deleted() -> None:
    other = stored(created(ingress(tls=[{"hosts": ["old.example.com"], "secretName": "old-tls"}])))
    other["metadata"]["ownerReferences"] = [{**OWNER, "uid": "uid-other"}]
    assert shim.decide(ingress(), [other]).delete == []


def test_a_secret_name_still_in_a_skipped_tls_entry_keeps_its_certificate() -> None:
    kept = stored(created(ingress()))
    outcome = shim.decide(ingress(tls=[{"secretName": "example-tls"}]), [kept])
    assert outcome.delete == []
    assert outcome.events == [("Warning", "BadConfig", "Skipped a TLS block: spec.tls[0].hosts: Required value")]


def test_deletion_follows_the_certificate_secret_name_not_its_name() -> None:
    """A controlled Certificate edited to another secretName is brought back by an update, not deleted."""
    current = stored(created(ingress()))
    current["spec"]["secretName"] = "renamed-tls"
    outcome = shim.decide(ingress(), [current])
    assert [x["spec"]["secretName"] for x in outcome.update] == ["example-tls"]
    assert outcome.delete == []


# ---------------------------------------------------------------------------------------------------------
# Go's encoding/csv behind the subject annotations

CSV = {
    "plain values": ("a,b,c", ["a", "b", "c"]),
    "spaces are kept": (" a , b ", [" a ", " b "]),
    "a quoted comma": ('"a,b",c', ["a,b", "c"]),
    "a doubled quote": ('"say ""hi"""', ['say "hi"']),
    "an empty quoted field": ('"",x', ["", "x"]),
    "a quoted newline": ('"a\nb",c', ["a\nb", "c"]),
    "a trailing newline": ("a,b\n", ["a", "b"]),
    "leading empty lines": ("\n\r\na", ["a"]),
    "a trailing carriage return": ("a,b\r", ["a", "b"]),
    "an empty trailing field": ("a,", ["a", ""]),
}


@pytest.mark.parametrize(("text", "fields"), CSV.values(), ids=CSV.keys())
def test_split_with_escape_csv(text: str, fields: list[str]) -> None:
    assert shim.split_with_escape_csv(text) == fields


CSV_ERRORS = {
    "a bare quote": ('ab"c', 'parse error on line 1, column 3: bare " in non-quoted-field'),
    "a bare quote counts columns in bytes": ('é,x"', 'parse error on line 1, column 5: bare " in non-quoted-field'),
    "text after a closing quote": ('"a" b', 'parse error on line 1, column 3: extraneous or missing " in quoted-field'),
    "an unterminated quote": ('"abc', 'parse error on line 1, column 5: extraneous or missing " in quoted-field'),
    "an unterminated quote over two lines": (
        '"a\nbc',
        'record on line 1; parse error on line 2, column 3: extraneous or missing " in quoted-field',
    ),
    "nothing": ("", 'no values found after parsing ""'),
    "only newlines": ("\n\n", 'no values found after parsing "\\n\\n"'),
    "two records": ("a\nb", 'refusing to use "a\\nb" as input as it parses as multiple lines of CSV'),
    "two records of different lengths": ("a,b\nc", "record on line 2: wrong number of fields"),
}


@pytest.mark.parametrize(("text", "message"), CSV_ERRORS.values(), ids=CSV_ERRORS.keys())
def test_split_with_escape_csv_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        shim.split_with_escape_csv(text)
    assert message in str(err.value)


# ---------------------------------------------------------------------------------------------------------
# Bad input never crashes

ALL_KEYS = [
    c.ANN_INGRESS_ISSUER,
    c.ANN_INGRESS_CLUSTER_ISSUER,
    c.ANN_INGRESS_ISSUER_KIND,
    c.ANN_INGRESS_ISSUER_GROUP,
    c.ANN_TLS_ACME,
    c.ANN_COMMON_NAME,
    c.ANN_ALT_NAMES,
    c.ANN_IP_SANS,
    c.ANN_EMAIL_SANS,
    *(key for key, _ in shim.SUBJECT_ANNOTATIONS),
    c.ANN_SUBJECT_SERIAL_NUMBER,
    c.ANN_DURATION,
    c.ANN_RENEW_BEFORE,
    c.ANN_RENEW_BEFORE_PERCENTAGE,
    c.ANN_USAGES,
    c.ANN_REVISION_HISTORY_LIMIT,
    c.ANN_PRIVATE_KEY_ALGORITHM,
    c.ANN_PRIVATE_KEY_ENCODING,
    c.ANN_PRIVATE_KEY_SIZE,
    c.ANN_PRIVATE_KEY_ROTATION_POLICY,
    c.ANN_SECRET_TEMPLATE,
    c.ANN_HTTP01_EDIT_IN_PLACE,
    c.ANN_HTTP01_INGRESS_CLASS,
    c.ANN_HTTP01_INGRESS_INGRESSCLASSNAME,
]
PLAUSIBLE = [
    "2160h", "-5s", "0", "1", "50", "150", "8", "true", "example.com,foo.example.com", "1.2.3.4", "::1",
    "not-an-ip", "a@example.com", 'a\\,b', ",", '"a,b",c', "digital signature,key encipherment", "bogus usage",
    "RSA", "ECDSA", "Ed25519", "PKCS1", "PKCS8", "Always", "Never", "384", "4096", "", "ca-issuer",
    "ClusterIssuer", '{"labels": {"a": "b"}}', '{"annotations": {"x/y": "z"}}', "a" * 70,
]  # fmt: skip
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(ALL_KEYS) | st.text(max_size=12),
        st.sampled_from(PLAUSIBLE) | st.text(max_size=24),
        max_size=8,
    ),
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "hosts": st.lists(st.sampled_from(["example.com", "10.0.0.1", "a.example.com", "::1"]), max_size=3),
                "secretName": st.sampled_from(["example-tls", "other-tls", "Bad_Name", ""]),
            },
        ),
        max_size=3,
    ),
)
def test_random_annotations_never_raise(annotations: dict[str, str], tls: list[dict[str, Any]]) -> None:
    stale = stored(created(ingress(tls=[{"hosts": ["old.example.com"], "secretName": "old-tls"}])))
    outcome = shim.decide(ingress({**ISSUER, **annotations}, tls), [stale], DEFAULT_ISSUER)
    for cert in outcome.create + outcome.update:
        assert validation.validate(cert) == []
    for kind, reason, _message in outcome.events:
        assert (kind, reason) in {
            ("Warning", "BadConfig"),
            ("Normal", "CreateCertificate"),
            ("Normal", "UpdateCertificate"),
            ("Normal", "DeleteCertificate"),
        }
    rejected = [e for e in outcome.events if e[1] == "BadConfig" and not e[2].startswith("Skipped a TLS block")]
    if rejected:
        assert not outcome.writes


@SETTINGS
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda x: st.lists(x) | st.dictionaries(st.text(max_size=8), x),
        max_leaves=20,
    )
)
def test_a_garbled_ingress_never_raises(garbage: Any) -> None:
    for ing in (
        {"metadata": garbage},
        {"metadata": {"annotations": ISSUER}, "spec": garbage},
        {"spec": {"tls": garbage}, "metadata": {"annotations": ISSUER}},
    ):
        shim.decide(ing, [garbage] if isinstance(garbage, dict) else [])


@SETTINGS
@given(st.text(alphabet='ab ,"\n\ré', max_size=16))
def test_the_csv_reader_only_raises_value_errors(text: str) -> None:
    try:
        fields = shim.split_with_escape_csv(text)
    except ValueError:
        return
    assert fields
