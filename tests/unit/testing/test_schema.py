"""issuer.testing.schema: pruning, defaulting, structural validation and CEL rules, as kube-apiserver
applies a CRD's openAPIV3Schema to custom resources."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from issuer.testing import schema
from issuer.testing.schema import Cause

# A trimmed but faithful cert-manager Certificate schema, plus the CEL rules the brief asks for.
CERTIFICATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["issuerRef", "secretName"],
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.renewBefore) || duration(self.renewBefore) >= duration('5m')",
                    "message": "renewBefore must be at least 5m",
                },
                {
                    "rule": "!has(self.duration) || !has(self.renewBefore) || "
                    "duration(self.renewBefore) < duration(self.duration)",
                    "message": "renewBefore must be shorter than duration",
                },
            ],
            "properties": {
                "additionalOutputFormats": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["type"],
                        "properties": {"type": {"type": "string", "enum": ["DER", "CombinedPEM"]}},
                    },
                },
                "commonName": {"type": "string", "maxLength": 64},
                "dnsNames": {"type": "array", "items": {"type": "string"}},
                "duration": {"type": "string"},
                "emailAddresses": {"type": "array", "items": {"type": "string"}},
                "encodeUsagesInRequest": {"type": "boolean"},
                "ipAddresses": {"type": "array", "items": {"type": "string"}},
                "isCA": {"type": "boolean"},
                "issuerRef": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "group": {"type": "string"},
                        "kind": {"type": "string"},
                        "name": {"type": "string"},
                    },
                },
                "keystores": {
                    "type": "object",
                    "properties": {
                        "jks": {
                            "type": "object",
                            "required": ["create"],
                            "properties": {
                                "create": {"type": "boolean"},
                                "passwordSecretRef": {
                                    "type": "object",
                                    "required": ["name"],
                                    "properties": {"key": {"type": "string"}, "name": {"type": "string"}},
                                },
                            },
                        },
                        "pkcs12": {
                            "type": "object",
                            "required": ["create"],
                            "properties": {
                                "create": {"type": "boolean"},
                                "profile": {
                                    "type": "string",
                                    "enum": ["LegacyRC2", "LegacyDES", "Modern2023"],
                                },
                            },
                        },
                    },
                },
                "literalSubject": {"type": "string"},
                "nameConstraints": {
                    "type": "object",
                    "properties": {
                        "critical": {"type": "boolean"},
                        "permitted": {
                            "type": "object",
                            "properties": {"dnsDomains": {"type": "array", "items": {"type": "string"}}},
                        },
                    },
                },
                "otherNames": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"oid": {"type": "string"}, "utf8Value": {"type": "string"}},
                    },
                },
                "privateKey": {
                    "type": "object",
                    "properties": {
                        "algorithm": {"type": "string", "enum": ["RSA", "ECDSA", "Ed25519"]},
                        "encoding": {"type": "string", "enum": ["PKCS1", "PKCS8"]},
                        "rotationPolicy": {"type": "string", "enum": ["Never", "Always"]},
                        "size": {"type": "integer"},
                    },
                },
                "renewBefore": {"type": "string"},
                "renewBeforePercentage": {"type": "integer", "format": "int32"},
                "revisionHistoryLimit": {"type": "integer", "format": "int32"},
                "secretName": {"type": "string"},
                "secretTemplate": {
                    "type": "object",
                    "properties": {
                        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                },
                "subject": {
                    "type": "object",
                    "properties": {
                        "countries": {"type": "array", "items": {"type": "string"}},
                        "organizations": {"type": "array", "items": {"type": "string"}},
                        "serialNumber": {"type": "string"},
                    },
                },
                "uris": {"type": "array", "items": {"type": "string"}},
                "usages": {
                    "type": "array",
                    "items": {
                        "type": "string",
                        "enum": [
                            "signing",
                            "digital signature",
                            "content commitment",
                            "key encipherment",
                            "key agreement",
                            "data encipherment",
                            "cert sign",
                            "crl sign",
                            "encipher only",
                            "decipher only",
                            "any",
                            "server auth",
                            "client auth",
                            "code signing",
                            "email protection",
                            "s/mime",
                            "ipsec end system",
                            "ipsec tunnel",
                            "ipsec user",
                            "timestamping",
                            "ocsp signing",
                            "microsoft sgc",
                            "netscape sgc",
                        ],
                    },
                },
            },
        },
        "status": {
            "type": "object",
            "properties": {
                "conditions": {
                    "type": "array",
                    "x-kubernetes-list-map-keys": ["type"],
                    "x-kubernetes-list-type": "map",
                    "items": {
                        "type": "object",
                        "required": ["status", "type"],
                        "properties": {
                            "lastTransitionTime": {"type": "string", "format": "date-time"},
                            "message": {"type": "string"},
                            "observedGeneration": {"type": "integer", "format": "int64"},
                            "reason": {"type": "string"},
                            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
                            "type": {"type": "string"},
                        },
                    },
                },
                "failedIssuanceAttempts": {"type": "integer"},
                "lastFailureTime": {"type": "string", "format": "date-time"},
                "nextPrivateKeySecretName": {"type": "string"},
                "notAfter": {"type": "string", "format": "date-time"},
                "notBefore": {"type": "string", "format": "date-time"},
                "renewalTime": {"type": "string", "format": "date-time"},
                "revision": {"type": "integer"},
            },
        },
    },
}


def certificate(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "secretName": "web-tls",
            "commonName": "example.com",
            "dnsNames": ["example.com", "www.example.com"],
            "duration": "2160h",
            "renewBefore": "360h",
            "issuerRef": {"name": "ca", "kind": "Issuer", "group": "cert-manager.io"},
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            "usages": ["digital signature", "key encipherment", "server auth"],
            "secretTemplate": {"labels": {"app": "web"}},
        },
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Ready",
                    "message": "Certificate is up to date and has not expired",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                    "observedGeneration": 1,
                }
            ],
            "notAfter": "2026-04-01T00:00:00Z",
            "notBefore": "2026-01-01T00:00:00Z",
            "renewalTime": "2026-03-17T00:00:00Z",
            "revision": 1,
        },
    }
    base["spec"].update(spec)
    return base


def obj(spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}, "spec": spec}


def root(spec_schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"spec": spec_schema}}


# ---------------------------------------------------------------------------------------------------
# prune

PRUNE_CASES = [
    pytest.param(
        {"type": "object", "properties": {"a": {"type": "string"}}},
        {"a": "x", "foo": 1},
        {"a": "x"},
        ["spec.foo"],
        id="an unknown field in spec is removed and reported",
    ),
    pytest.param(
        {
            "type": "object",
            "properties": {
                "items": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                }
            },
        },
        {"items": [{"name": "a"}, {"name": "b", "extra": True}]},
        {"items": [{"name": "a"}, {"name": "b"}]},
        ["spec.items[1].extra"],
        id="unknown fields inside list items are reported with their index",
    ),
    pytest.param(
        {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}},
        },
        {"anything": {"goes": 1}, "known": {"a": "x", "b": "y"}},
        {"anything": {"goes": 1}, "known": {"a": "x"}},
        ["spec.known.b"],
        id="preserve-unknown-fields keeps unknown fields but still prunes inside known ones",
    ),
    pytest.param(
        {"type": "object", "additionalProperties": {"type": "object", "properties": {"v": {"type": "string"}}}},
        {"k1": {"v": "a", "w": "b"}},
        {"k1": {"v": "a"}},
        ["spec.k1.w"],
        id="values of a map are pruned by additionalProperties",
    ),
    pytest.param(
        {"type": "object"},
        {"a": 1, "b": 2},
        {},
        ["spec.a", "spec.b"],
        id="an object schema without properties prunes everything",
    ),
    pytest.param(
        {
            "type": "object",
            "properties": {
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            },
        },
        {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 1}, "z": 0}},
        {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 1}}},
        ["spec.template.z"],
        id="an embedded resource keeps apiVersion kind and metadata",
    ),
]


@pytest.mark.parametrize(("spec_schema", "spec", "expected", "removed"), PRUNE_CASES)
def test_prune(spec_schema: dict[str, Any], spec: Any, expected: Any, removed: list[str]) -> None:
    body = obj(spec)
    assert schema.prune(body, root(spec_schema)) == removed
    assert body["spec"] == expected


def test_prune_never_touches_apiversion_kind_metadata_at_the_root() -> None:
    body = {"apiVersion": "a/v1", "kind": "K", "metadata": {"name": "x", "labels": {"a": "b"}}, "junk": 1}
    assert schema.prune(body, {"type": "object", "properties": {}}) == ["junk"]
    assert body == {"apiVersion": "a/v1", "kind": "K", "metadata": {"name": "x", "labels": {"a": "b"}}}


def test_prune_of_a_full_certificate_removes_only_the_unknown_fields() -> None:
    body = certificate(foo="bar")
    body["status"]["bogus"] = 1
    assert schema.prune(body, CERTIFICATE_SCHEMA) == ["spec.foo", "status.bogus"]
    assert body == certificate()


# ---------------------------------------------------------------------------------------------------
# defaults


def test_a_missing_field_gets_its_default_as_a_copy() -> None:
    sch = root(
        {"type": "object", "properties": {"list": {"type": "array", "items": {"type": "string"}, "default": ["a"]}}}
    )
    first, second = obj({}), obj({})
    schema.apply_defaults(first, sch)
    first["spec"]["list"].append("mutated")
    schema.apply_defaults(second, sch)
    assert second["spec"] == {"list": ["a"]}


def test_defaults_apply_inside_a_defaulted_object() -> None:
    sch = root(
        {
            "type": "object",
            "properties": {
                "privateKey": {
                    "type": "object",
                    "default": {},
                    "properties": {
                        "algorithm": {"type": "string", "default": "RSA"},
                        "size": {"type": "integer", "default": 2048},
                    },
                }
            },
        }
    )
    body = obj({})
    schema.apply_defaults(body, sch)
    assert body["spec"] == {"privateKey": {"algorithm": "RSA", "size": 2048}}


DEFAULT_NULL_CASES = [
    pytest.param(
        {"type": "string", "default": "d"}, {"f": None}, {"f": "d"}, id="null in a non-nullable field takes the default"
    ),
    pytest.param(
        {"type": "string", "nullable": True, "default": "d"},
        {"f": None},
        {"f": None},
        id="null in a nullable field stays",
    ),
    pytest.param({"type": "string"}, {"f": None}, {}, id="null in a non-nullable field without default is dropped"),
    pytest.param({"type": "string", "default": "d"}, {"f": "set"}, {"f": "set"}, id="a set value is never overwritten"),
]


@pytest.mark.parametrize(("field_schema", "spec", "expected"), DEFAULT_NULL_CASES)
def test_defaults_and_nulls(field_schema: dict[str, Any], spec: Any, expected: Any) -> None:
    body = obj(spec)
    schema.apply_defaults(body, root({"type": "object", "properties": {"f": field_schema}}))
    assert body["spec"] == expected


def test_defaults_apply_to_list_items_and_map_values() -> None:
    item = {"type": "object", "properties": {"port": {"type": "integer", "default": 443}}}
    sch = root(
        {
            "type": "object",
            "properties": {
                "list": {"type": "array", "items": item},
                "map": {"type": "object", "additionalProperties": item},
            },
        }
    )
    body = obj({"list": [{}, {"port": 80}], "map": {"a": {}}})
    schema.apply_defaults(body, sch)
    assert body["spec"] == {"list": [{"port": 443}, {"port": 80}], "map": {"a": {"port": 443}}}


# ---------------------------------------------------------------------------------------------------
# structural validation

VALIDATE_CASES = [
    pytest.param(
        {"type": "object", "required": ["secretName"], "properties": {"secretName": {"type": "string"}}},
        {},
        [Cause("FieldValueRequired", "Required value", "spec.secretName")],
        id="a missing required field is FieldValueRequired",
    ),
    pytest.param(
        {"type": "object", "properties": {"duration": {"type": "integer"}}},
        {"duration": "string"},
        [
            Cause(
                "FieldValueTypeInvalid",
                'Invalid value: "string": spec.duration in body must be of type integer: "string"',
                "spec.duration",
            )
        ],
        id="a string where an integer belongs is FieldValueTypeInvalid",
    ),
    pytest.param(
        {"type": "object", "properties": {"n": {"type": "integer"}}},
        {"n": 1.5},
        [
            Cause(
                "FieldValueTypeInvalid",
                'Invalid value: "number": spec.n in body must be of type integer: "number"',
                "spec.n",
            )
        ],
        id="a fractional number is not an integer",
    ),
    pytest.param(
        {"type": "object", "properties": {"b": {"type": "boolean"}}},
        {"b": 1},
        [
            Cause(
                "FieldValueTypeInvalid",
                'Invalid value: "integer": spec.b in body must be of type boolean: "integer"',
                "spec.b",
            )
        ],
        id="an integer is not a boolean",
    ),
    pytest.param(
        {"type": "object", "properties": {"n": {"type": "number"}}},
        {"n": 3},
        [],
        id="an integer is a number",
    ),
    pytest.param(
        {"type": "object", "properties": {"p": {"x-kubernetes-int-or-string": True}}},
        {"p": "50%"},
        [],
        id="int-or-string accepts a string",
    ),
    pytest.param(
        {"type": "object", "properties": {"p": {"x-kubernetes-int-or-string": True}}},
        {"p": 8443},
        [],
        id="int-or-string accepts an integer",
    ),
    pytest.param(
        {"type": "object", "properties": {"p": {"x-kubernetes-int-or-string": True}}},
        {"p": True},
        [
            Cause(
                "FieldValueTypeInvalid",
                'Invalid value: "boolean": spec.p in body must be of type integer,string: "boolean"',
                "spec.p",
            )
        ],
        id="int-or-string rejects a boolean",
    ),
    pytest.param(
        {"type": "object", "properties": {"s": {"type": "string"}}},
        {"s": None},
        [
            Cause(
                "FieldValueTypeInvalid",
                'Invalid value: "null": spec.s in body must be of type string: "null"',
                "spec.s",
            )
        ],
        id="null in a non-nullable field is a type error",
    ),
    pytest.param(
        {"type": "object", "properties": {"s": {"type": "string", "nullable": True}}},
        {"s": None},
        [],
        id="null in a nullable field is fine",
    ),
    pytest.param(
        {"type": "object", "properties": {"algorithm": {"type": "string", "enum": ["RSA", "ECDSA", "Ed25519"]}}},
        {"algorithm": "Foo"},
        [
            Cause(
                "FieldValueNotSupported",
                'Unsupported value: "Foo": supported values: "RSA", "ECDSA", "Ed25519"',
                "spec.algorithm",
            )
        ],
        id="a value outside the enum is FieldValueNotSupported",
    ),
    pytest.param(
        {"type": "object", "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}}},
        {"name": "Abc"},
        [Cause("FieldValueInvalid", "Invalid value: \"Abc\": spec.name in body should match '^[a-z]+$'", "spec.name")],
        id="a string not matching the pattern is FieldValueInvalid",
    ),
    pytest.param(
        {"type": "object", "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}}},
        {"name": "abc\n"},
        [
            Cause(
                "FieldValueInvalid", "Invalid value: \"abc\\n\": spec.name in body should match '^[a-z]+$'", "spec.name"
            )
        ],
        id="a pattern's $ is the end of the text as in Go, not before a final newline",
    ),
    pytest.param(
        {"type": "object", "properties": {"name": {"type": "string", "pattern": "^[[:alpha:]][[:alnum:]-]*\\z"}}},
        {"name": "Web-01"},
        [],
        id="RE2 POSIX classes and \\z work in patterns",
    ),
    pytest.param(
        {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 10}}},
        {"n": 0},
        [Cause("FieldValueInvalid", "Invalid value: 0: spec.n in body should be greater than or equal to 1", "spec.n")],
        id="below the minimum",
    ),
    pytest.param(
        {"type": "object", "properties": {"n": {"type": "integer", "maximum": 10, "exclusiveMaximum": True}}},
        {"n": 10},
        [Cause("FieldValueInvalid", "Invalid value: 10: spec.n in body should be less than 10", "spec.n")],
        id="at an exclusive maximum",
    ),
    pytest.param(
        {"type": "object", "properties": {"cn": {"type": "string", "maxLength": 3}}},
        {"cn": "abcd"},
        [Cause("FieldValueTooLong", "Too long: may not be more than 3 bytes", "spec.cn")],
        id="a string over maxLength is FieldValueTooLong",
    ),
    pytest.param(
        {"type": "object", "properties": {"cn": {"type": "string", "minLength": 1}}},
        {"cn": ""},
        [Cause("FieldValueInvalid", 'Invalid value: "": spec.cn in body should be at least 1 chars long', "spec.cn")],
        id="a string under minLength",
    ),
    pytest.param(
        {"type": "object", "properties": {"l": {"type": "array", "items": {"type": "string"}, "maxItems": 1}}},
        {"l": ["a", "b"]},
        [Cause("FieldValueTooMany", "Too many: 2: must have at most 1 items", "spec.l")],
        id="a list over maxItems is FieldValueTooMany",
    ),
    pytest.param(
        {"type": "object", "properties": {"l": {"type": "array", "items": {"type": "string"}, "minItems": 1}}},
        {"l": []},
        [Cause("FieldValueInvalid", "Invalid value: 0: spec.l in body should have at least 1 items", "spec.l")],
        id="a list under minItems",
    ),
    pytest.param(
        {
            "type": "object",
            "properties": {"m": {"type": "object", "maxProperties": 1, "additionalProperties": {"type": "string"}}},
        },
        {"m": {"a": "1", "b": "2"}},
        [Cause("FieldValueTooMany", "Too many: 2: must have at most 1 items", "spec.m")],
        id="a map over maxProperties",
    ),
    pytest.param(
        {"type": "object", "properties": {"t": {"type": "string", "format": "date-time"}}},
        {"t": "yesterday"},
        [
            Cause(
                "FieldValueInvalid",
                'Invalid value: "yesterday": spec.t in body must be of type date-time: "yesterday"',
                "spec.t",
            )
        ],
        id="a bad date-time",
    ),
    pytest.param(
        {"type": "object", "properties": {"t": {"type": "string", "format": "date-time"}}},
        {"t": "2026-11-27T09:16:20.820596+00:00"},
        [],
        id="an RFC 3339 time with fraction and offset is a date-time",
    ),
    pytest.param(
        {
            "type": "object",
            "properties": {"l": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"}},
        },
        {"l": ["a", "b", "a"]},
        [Cause("FieldValueDuplicate", 'Duplicate value: "a"', "spec.l[2]")],
        id="a duplicate in a set list",
    ),
    pytest.param(
        {
            "type": "object",
            "properties": {
                "conditions": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["type"],
                    "items": {
                        "type": "object",
                        "properties": {"type": {"type": "string"}, "status": {"type": "string"}},
                    },
                }
            },
        },
        {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Ready", "status": "False"}]},
        [
            Cause(
                "FieldValueDuplicate", 'Duplicate value: map[string]interface {}{"type":"Ready"}', "spec.conditions[1]"
            )
        ],
        id="a duplicate key in a map list",
    ),
    pytest.param(
        {
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
        },
        {"a": "x", "b": "y"},
        [
            Cause(
                "FieldValueInvalid",
                'Invalid value: "": "spec" must validate one and only one schema (oneOf). Found 2 valid alternatives',
                "spec",
            )
        ],
        id="oneOf with two matching alternatives",
    ),
    pytest.param(
        {
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "anyOf": [{"required": ["a"]}, {"required": ["b"]}],
        },
        {},
        [Cause("FieldValueInvalid", 'Invalid value: "": "spec" must validate at least one schema (anyOf)', "spec")],
        id="anyOf with no matching alternative",
    ),
    pytest.param(
        {"type": "object", "properties": {"a": {"type": "string"}}, "not": {"required": ["a"]}},
        {"a": "x"},
        [Cause("FieldValueInvalid", 'Invalid value: "": "spec" must not validate the schema (not)', "spec")],
        id="not with a matching schema",
    ),
    pytest.param(
        {"type": "object", "properties": {"n": {"type": "integer"}}, "allOf": [{"properties": {"n": {"minimum": 5}}}]},
        {"n": 1},
        [Cause("FieldValueInvalid", "Invalid value: 1: spec.n in body should be greater than or equal to 5", "spec.n")],
        id="allOf reports the failing subschema",
    ),
]


@pytest.mark.parametrize(("spec_schema", "spec", "expected"), VALIDATE_CASES)
def test_validate(spec_schema: dict[str, Any], spec: Any, expected: list[Cause]) -> None:
    assert schema.validate(obj(spec), root(spec_schema)) == expected


def test_a_valid_certificate_has_no_causes() -> None:
    assert schema.validate(certificate(), CERTIFICATE_SCHEMA) == []


def test_several_certificate_problems_are_all_reported() -> None:
    body = certificate(privateKey={"algorithm": "DSA"}, usages=["server auth", "bogus"])
    del body["spec"]["secretName"]
    fields = [c.field for c in schema.validate(body, CERTIFICATE_SCHEMA)]
    # kube reports a missing required property after the errors of the properties present
    assert fields == ["spec.privateKey.algorithm", "spec.usages[1]", "spec.secretName"]


def test_cause_renders_like_a_kube_status_cause() -> None:
    cause = Cause("FieldValueRequired", "Required value", "spec.secretName")
    assert cause.to_dict() == {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.secretName"}
    assert str(cause) == "spec.secretName: Required value"


# ---------------------------------------------------------------------------------------------------
# CEL rules


def cel_spec(*rules: dict[str, Any], **props: Any) -> dict[str, Any]:
    properties = {
        "renewBefore": {"type": "string"},
        "duration": {"type": "string"},
        "name": {"type": "string"},
        "acme": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "ca": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "selfSigned": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "replicas": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "ratio": {"type": "number"},
        "at": {"type": "string", "format": "date-time"},
    }
    properties.update(props)
    return root({"type": "object", "properties": properties, "x-kubernetes-validations": list(rules)})


RENEW = {
    "rule": "!has(self.renewBefore) || duration(self.renewBefore) >= duration('5m')",
    "message": "renewBefore too short",
}
ONE_ISSUER = {"rule": "[has(self.acme), has(self.ca), has(self.selfSigned)].filter(x, x).size() == 1"}

CEL_CASES = [
    pytest.param(RENEW, {}, [], id="renewBefore absent passes the has() guard"),
    pytest.param(RENEW, {"renewBefore": "2160h"}, [], id="renewBefore of 2160h is long enough"),
    pytest.param(RENEW, {"renewBefore": "1h30m"}, [], id="a multi-unit Go duration parses"),
    pytest.param(
        RENEW,
        {"renewBefore": "59s"},
        [Cause("FieldValueInvalid", 'Invalid value: renewBefore too short', "spec")],
        id="renewBefore of 59s fails with the rule message",
    ),
    pytest.param(
        {"rule": "duration(self.duration) > duration(self.renewBefore)"},
        {"duration": "1h", "renewBefore": "59m55s"},
        [],
        id="durations compare across units",
    ),
    pytest.param(
        {"rule": "duration(self.renewBefore) < duration('1s')"},
        {"renewBefore": "500ms"},
        [],
        id="milliseconds parse",
    ),
    pytest.param(ONE_ISSUER, {"ca": {}}, [], id="exactly one issuer type passes"),
    pytest.param(
        ONE_ISSUER,
        {"ca": {}, "acme": {}},
        [
            Cause(
                "FieldValueInvalid",
                'Invalid value: failed rule: '
                "[has(self.acme), has(self.ca), has(self.selfSigned)].filter(x, x).size() == 1",
                "spec",
            )
        ],
        id="two issuer types fail with failed rule and the rule text",
    ),
    pytest.param(
        {"rule": "self.name.size() <= 4", "fieldPath": ".name"},
        {"name": "toolong"},
        [Cause("FieldValueInvalid", 'Invalid value: failed rule: self.name.size() <= 4', "spec.name")],
        id="fieldPath moves the cause to the named field",
    ),
    pytest.param(
        {"rule": "self.replicas <= 3", "messageExpression": "'replicas ' + string(self.replicas) + ' is more than 3'"},
        {"replicas": 5},
        [Cause("FieldValueInvalid", 'Invalid value: replicas 5 is more than 3', "spec")],
        id="messageExpression computes the message",
    ),
    pytest.param(
        {"rule": "has(self.name)", "message": "name is required", "reason": "FieldValueRequired", "fieldPath": ".name"},
        {},
        [Cause("FieldValueRequired", "Required value: name is required", "spec.name")],
        id="reason FieldValueRequired",
    ),
    pytest.param(
        {"rule": "!has(self.acme)", "message": "acme is not allowed here", "reason": "FieldValueForbidden"},
        {"acme": {}},
        [Cause("FieldValueForbidden", "Forbidden: acme is not allowed here", "spec")],
        id="reason FieldValueForbidden",
    ),
    pytest.param(
        {"rule": "self.name == 'x'"},
        {},
        [
            Cause(
                "FieldValueInvalid",
                "Invalid value: \"object\": no such key: name evaluating rule: failed rule: self.name == 'x'",
                "spec",
            )
        ],
        id="a missing field is an evaluation error reported as no such key",
    ),
    pytest.param(
        {"rule": "self.name == 'x'", "fieldPath": ".name"},
        {},
        [
            Cause(
                "FieldValueInvalid",
                "Invalid value: \"object\": no such key: name evaluating rule: failed rule: self.name == 'x'",
                "spec",
            )
        ],
        id="an evaluation error is reported at the node, not at fieldPath",
    ),
    pytest.param(
        {"rule": "size(self.labels) < 2", "fieldPath": ".labels['app.kubernetes.io/name']"},
        {"labels": {"a": "1", "b": "2"}},
        [
            Cause(
                "FieldValueInvalid",
                'Invalid value: failed rule: size(self.labels) < 2',
                "spec.labels[app.kubernetes.io/name]",
            )
        ],
        id="a quoted fieldPath key becomes a bracketed path element",
    ),
    pytest.param(
        {"rule": "self.tags.all(t, t.startsWith('a') && t.endsWith('z')) && self.tags.exists(t, t.contains('b'))"},
        {"tags": ["abz", "az"]},
        [],
        id="all exists startsWith endsWith contains",
    ),
    pytest.param(
        {"rule": "self.tags.exists_one(t, t == 'a') && self.tags.map(t, t + '!').size() == 2 && 'b' in self.tags"},
        {"tags": ["a", "b"]},
        [],
        id="exists_one map and in",
    ),
    pytest.param(
        {"rule": "self.labels.all(k, k.matches('^[a-z]+$') && self.labels[k].lowerAscii() == self.labels[k])"},
        {"labels": {"app": "web"}},
        [],
        id="map keys with matches and lowerAscii",
    ),
    pytest.param(
        {"rule": "self.name.upperAscii() == 'WEB' && self.name.split('-').size() == 1"},
        {"name": "web"},
        [],
        id="upperAscii and split",
    ),
    pytest.param(
        {"rule": "self.ratio > 0.5"},
        {"ratio": 1},
        [],
        id="an integer in a number field is a double in CEL",
    ),
    pytest.param(
        {"rule": "self.at < timestamp('2030-01-01T00:00:00Z') && self.at + duration('1h') > self.at"},
        {"at": "2026-11-27T09:16:20Z"},
        [],
        id="a date-time field is a timestamp in CEL",
    ),
    pytest.param(
        {"rule": "timestamp('2026-01-01T00:00:00Z') > timestamp('2025-01-01T00:00:00Z')"},
        {},
        [],
        id="timestamp() parses RFC 3339",
    ),
]


@pytest.mark.parametrize(("rule", "spec", "expected"), CEL_CASES)
def test_cel_rules(rule: dict[str, Any], spec: Any, expected: list[Cause]) -> None:
    assert schema.validate(obj(spec), cel_spec(rule)) == expected


IMMUTABLE = {"rule": "self == oldSelf", "message": "spec is immutable"}

TRANSITION_CASES = [
    pytest.param(IMMUTABLE, None, {"name": "a"}, [], id="a transition rule is skipped on create"),
    pytest.param(IMMUTABLE, {"name": "a"}, {"name": "a"}, [], id="an unchanged spec passes"),
    pytest.param(
        IMMUTABLE,
        {"name": "a"},
        {"name": "b"},
        [Cause("FieldValueInvalid", 'Invalid value: spec is immutable', "spec")],
        id="a changed spec fails with spec is immutable",
    ),
    pytest.param(
        {"rule": "!oldSelf.hasValue() || self.name == oldSelf.value().name", "optionalOldSelf": True, "message": "m"},
        None,
        {"name": "a"},
        [],
        id="optionalOldSelf evaluates on create with no old value",
    ),
    pytest.param(
        {"rule": "oldSelf.orValue(self).name == self.name", "optionalOldSelf": True, "message": "name changed"},
        {"name": "a"},
        {"name": "b"},
        [Cause("FieldValueInvalid", 'Invalid value: name changed', "spec")],
        id="optionalOldSelf sees the old value on update",
    ),
]


@pytest.mark.parametrize(("rule", "old_spec", "spec", "expected"), TRANSITION_CASES)
def test_cel_transition_rules(rule: dict[str, Any], old_spec: Any, spec: Any, expected: list[Cause]) -> None:
    old = None if old_spec is None else obj(old_spec)
    assert schema.validate(obj(spec), cel_spec(rule), old=old) == expected


def test_transition_rules_on_list_items_correlate_map_lists_by_key() -> None:
    item = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
        "x-kubernetes-validations": [{"rule": "self.port == oldSelf.port", "message": "port is immutable"}],
    }
    sch = root(
        {
            "type": "object",
            "properties": {
                "ports": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": item,
                }
            },
        }
    )
    old = obj({"ports": [{"name": "a", "port": 1}, {"name": "b", "port": 2}]})
    new = obj({"ports": [{"name": "b", "port": 3}, {"name": "a", "port": 1}, {"name": "c", "port": 9}]})
    assert schema.validate(new, sch, old=old) == [
        Cause("FieldValueInvalid", 'Invalid value: port is immutable', "spec.ports[0]")
    ]


def test_rules_on_a_scalar_field_see_the_scalar_as_self() -> None:
    sch = cel_spec(name={"type": "string", "x-kubernetes-validations": [{"rule": "self.size() <= 64"}]})
    assert schema.validate(obj({"name": "x" * 64}), sch) == []
    assert schema.validate(obj({"name": "x" * 65}), sch) == [
        Cause("FieldValueInvalid", f'Invalid value: "{"x" * 65}": failed rule: self.size() <= 64', "spec.name")
    ]


def test_the_compiled_rule_is_cached_by_text() -> None:
    rule = {"rule": "self.replicas >= 0 && self.replicas < 1000"}
    schema.validate(obj({"replicas": 1}), cel_spec(rule))
    program = schema._PROGRAMS[rule["rule"]]
    schema.validate(obj({"replicas": 2}), cel_spec(rule))
    assert schema._PROGRAMS[rule["rule"]] is program


# ---------------------------------------------------------------------------------------------------
# check_structural

STRUCTURAL_CASES = [
    pytest.param(CERTIFICATE_SCHEMA, [], id="the Certificate schema is fine"),
    pytest.param(
        {"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}},
        ["openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields"],
        id="properties without a type",
    ),
    pytest.param(
        {"type": "object", "properties": {"spec": {"type": "strnig"}}},
        [
            'openAPIV3Schema.properties[spec].type: Unsupported value: "strnig": supported values: "array", '
            '"boolean", "integer", "number", "object", "string"'
        ],
        id="an unknown type",
    ),
    pytest.param(
        {"type": "object", "properties": {"l": {"type": "array"}}},
        ["openAPIV3Schema.properties[l].items: Required value: must be specified"],
        id="an array without items",
    ),
    pytest.param(
        {"type": "object", "properties": {"n": {"type": "integer", "default": "x"}}},
        [
            'openAPIV3Schema.properties[n].default: Invalid value: "string": '
            'default in body must be of type integer: "string"'
        ],
        id="a default that violates its own schema",
    ),
]


STRUCTURAL_CASES += [
    pytest.param(
        {"type": "object", "properties": {"a": {"type": "string", "maxLength": "3", "default": "abcd"}}},
        ['openAPIV3Schema.properties[a].maxLength: Invalid value: "3": must be a non-negative integer'],
        id="a malformed keyword is reported and never crashes the default check",
    ),
    pytest.param(
        {"type": "object", "properties": {"a": {"type": "string", "enum": "x", "nullable": "yes"}}},
        [
            'openAPIV3Schema.properties[a].nullable: Invalid value: "yes": must be a boolean',
            'openAPIV3Schema.properties[a].enum: Invalid value: "x": must be a list',
        ],
        id="enum must be a list and nullable a boolean",
    ),
    pytest.param(
        {
            "type": "object",
            "properties": {
                "l": {"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object"}},
                "s": {"type": "array", "x-kubernetes-list-type": "bag", "items": {"type": "string"}},
            },
        },
        [
            "openAPIV3Schema.properties[l].x-kubernetes-list-map-keys: Required value: must not be empty if "
            "x-kubernetes-list-type is map",
            'openAPIV3Schema.properties[s].x-kubernetes-list-type: Unsupported value: "bag": supported values: '
            '"atomic", "map", "set"',
        ],
        id="list types are checked",
    ),
]


@pytest.mark.parametrize(("sch", "expected"), STRUCTURAL_CASES)
def test_check_structural(sch: dict[str, Any], expected: list[str]) -> None:
    assert schema.check_structural(sch) == expected


def test_check_structural_reports_a_cel_rule_that_does_not_compile() -> None:
    sch = {"type": "object", "x-kubernetes-validations": [{"rule": "self.a ==", "message": "m"}]}
    [error] = schema.check_structural(sch)
    assert error.startswith(
        'openAPIV3Schema.x-kubernetes-validations[0].rule: Invalid value: "self.a ==": compilation failed'
    )


# ---------------------------------------------------------------------------------------------------
# speed and robustness


def test_validating_a_certificate_takes_well_under_a_millisecond() -> None:
    body = certificate()
    schema.validate(body, CERTIFICATE_SCHEMA)  # compile the CEL rules once
    rounds = 300
    start = time.perf_counter()
    for _ in range(rounds):
        schema.validate(body, CERTIFICATE_SCHEMA)
    per_call = (time.perf_counter() - start) / rounds
    assert per_call < 0.001, f"{per_call * 1e6:.0f} µs per validation"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
SPEC_KEYS = st.sampled_from(
    ["secretName", "dnsNames", "duration", "renewBefore", "privateKey", "usages", "issuerRef", "x"]
)


@settings(max_examples=200, deadline=None)
@given(spec=st.dictionaries(SPEC_KEYS, JSON_VALUES, max_size=6))
def test_arbitrary_specs_never_crash_and_pruning_is_idempotent(spec: dict[str, Any]) -> None:
    body = certificate()
    body["spec"] = copy.deepcopy(spec)
    schema.prune(body, CERTIFICATE_SCHEMA)
    assert schema.prune(body, CERTIFICATE_SCHEMA) == []
    schema.apply_defaults(body, CERTIFICATE_SCHEMA)
    causes = schema.validate(body, CERTIFICATE_SCHEMA, old=certificate())
    assert all(isinstance(c, Cause) and c.field.startswith("spec") for c in causes)


# ---------------------------------------------------------------------------------------------------
# the two CEL engines: fast closures, with cel-python's interpreter as the fallback

ENGINE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "n": {"type": "integer"},
        "f": {"type": "number"},
        "s": {"type": "string"},
        "l": {"type": "array", "items": {"type": "integer"}},
        "m": {"type": "object", "additionalProperties": {"type": "string"}},
        "b": {"type": "boolean"},
        "d": {"type": "string"},
        "t": {"type": "string", "format": "date-time"},
    },
}
ENGINE_DATA: dict[str, Any] = {
    "n": 7,
    "f": 2.5,
    "s": "Hello-World",
    "l": [3, 1, 2],
    "m": {"a": "x", "b": "y"},
    "b": True,
    "d": "1h30m",
    "t": "2026-11-27T09:16:20Z",
}

# (expression, expected result, or "error")
AGREED = [
    ("self.n / 2 == 3", True),
    ("-self.n / 2 == -3", True),
    ("-7 % 3 == -1", True),
    ("self.f * 2.0 == 5.0", True),
    ("self.s.size() == 11 && size(self.s) == 11", True),
    ("self.s.startsWith('Hello') && self.s.endsWith('World') && self.s.contains('-')", True),
    ("self.s.matches('^H.*d$')", True),
    ("self.s.lowerAscii() == 'hello-world' && self.s.upperAscii() == 'HELLO-WORLD'", True),
    ("self.l.exists(x, x > 2) && self.l.all(x, x > 0) && self.l.exists_one(x, x == 1)", True),
    ("self.l.map(x, x * 2) == [6, 2, 4] && self.l.filter(x, x > 1) == [3, 2]", True),
    ("self.m.all(k, k in ['a', 'b']) && self.m.exists(k, self.m[k] == 'y')", True),
    ("'a' in self.m && 3 in self.l && !(9 in self.l)", True),
    ("self.missing == 1", "error"),
    ("self.missing == 1 || true", True),
    ("false && self.missing == 1", False),
    ("self.missing == 1 && false", False),
    ("has(self.m.a) && !has(self.m.zz)", True),
    ("duration(self.d) == duration('90m') && duration(self.d) > duration('1h')", True),
    ("duration('1h') + duration('30m') == duration(self.d)", True),
    ("duration('1.5h') == duration('90m') && duration('-5m') < duration('0s')", True),
    ("duration('300us') < duration('1ms') && duration('1h0m0s') == duration('3600s')", True),
    ("duration('bogus') > duration('1s')", "error"),
    ("self.t > timestamp('2026-01-01T00:00:00Z') && self.t - duration('24h') < self.t", True),
    ("timestamp('2026-01-02T00:00:00Z') - timestamp('2026-01-01T00:00:00Z') == duration('24h')", True),
    ("string(self.n) == '7' && int('42') == 42 && double(self.n) == 7.0", True),
    ("self.n + 1 == 8 && self.s + '!' == 'Hello-World!' && [1, 2] + [3] == [1, 2, 3]", True),
    ("{'a': 1}['a'] == 1 && self.l[0] == 3", True),
    ("self.l[5] == 3", "error"),
    ("1 / 0 == 1", "error"),
    ("self.b ? self.n == 7 : false", True),
    ("!self.b", False),
    ("self.n != 8 && self.n <= 7 && self.n >= 7 && 'abc' < 'abd'", True),
    ("self.s.split('-') == ['Hello', 'World'] && ['a', 'b'].join('-') == 'a-b'", True),
    ("self.s.replace('-', '+') == 'Hello+World' && self.s.indexOf('W') == 6", True),
    ("self.l.sum() == 6 && self.l.min() == 1 && self.l.max() == 3", True),
    ("null == null && dyn(self.n) == 7 && 0x10 == 16 && -0x10 == -16", True),
    ("010 == 10 && 007u == 7u", True),
    ("'\\x41' == 'A' && r'\\d' == '\\\\d' && b'abc' == b'abc'", True),
    ("self.n > 'a'", "error"),
    ("duration('1h30m').getMinutes() == 90 && duration('1500ms').getMilliseconds() == 1500", True),
    ("duration('2160h').getHours() == 2160 && duration('90s').getSeconds() == 90", True),
    ("self.t.getFullYear() == 2026 && self.t.getMonth() == 10 && self.t.getDate() == 27", True),
    ("self.t.getDayOfMonth() == 26 && self.t.getDayOfWeek() == 5 && self.t.getDayOfYear() == 330", True),
    ("self.t.getHours() == 9 && self.t.getMinutes() == 16 && self.t.getSeconds() == 20", True),
    ("self.t.getHours('+02:00') == 11", True),
]


def run_engine(expr: str, *, fast: bool) -> Any:
    compiled = schema._compile(expr, allow_fast=fast)
    assert not isinstance(compiled, str), compiled
    assert (compiled.fast is not None) is fast
    saved = schema._PROGRAMS.get(expr)
    schema._PROGRAMS[expr] = compiled
    try:
        result, error = schema._run(expr, schema._Bindings(ENGINE_DATA, schema._MISSING, ENGINE_SCHEMA))
    finally:
        if saved is None:
            del schema._PROGRAMS[expr]
        else:
            schema._PROGRAMS[expr] = saved
    return "error" if error is not None else bool(result)


@pytest.mark.parametrize(("expr", "expected"), AGREED, ids=[e for e, _ in AGREED])
def test_both_cel_engines_agree(expr: str, expected: Any) -> None:
    assert run_engine(expr, fast=True) == expected
    assert run_engine(expr, fast=False) == expected


# where cel-python departs from cel-go as Kubernetes configures it, the fast engine follows cel-go
KUBE_SEMANTICS = [
    ("self.n > self.f", True),  # cross-type numeric comparison
    ("self.n == 7.0", True),  # heterogeneous numeric equality
    ("1u == 1", True),
    ("self.b == 1", False),  # a bool is never a number
    ("self.n == null", False),  # heterogeneous equality: different types are unequal, not an error
    ("string(true) == 'true'", True),
    ("self.l.map(x, x > 1, x * 10) == [30, 20]", True),  # the three-argument map macro
]


@pytest.mark.parametrize(("expr", "expected"), KUBE_SEMANTICS, ids=[e for e, _ in KUBE_SEMANTICS])
def test_fast_engine_follows_cel_go(expr: str, expected: Any) -> None:
    assert run_engine(expr, fast=True) == expected


def test_rules_the_fast_engine_does_not_know_run_on_cel_python() -> None:
    rule = "type(self.n) == int && self.n > 1"
    compiled = schema._compile(rule)
    assert not isinstance(compiled, str) and compiled.fast is None and compiled.slow is not None
    sch = {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "x-kubernetes-validations": [{"rule": rule, "message": "too small"}],
    }
    assert schema.validate({"n": 2}, sch) == []
    assert schema.validate({"n": 1}, sch) == [Cause("FieldValueInvalid", 'Invalid value: too small', "")]


def test_the_real_certificate_duration_rule_shape_runs_fast() -> None:
    # cert-manager's CRD prints durations with getMilliseconds() arithmetic in a messageExpression
    rule = {
        "rule": "duration(self.duration) > duration(self.renewBefore)",
        "messageExpression": "'duration ' + string(duration(self.duration).getMilliseconds() / 1000 / 3600) + 'h'"
        " + ' must be greater than renewBefore ' + string(duration(self.renewBefore).getMinutes()) + 'm'",
    }
    assert not isinstance(compiled := schema._compile(rule["messageExpression"]), str) and compiled.fast
    assert schema.validate(obj({"duration": "1h", "renewBefore": "90m"}), cel_spec(rule)) == [
        Cause("FieldValueInvalid", 'Invalid value: duration 1h must be greater than renewBefore 90m', "spec")
    ]


GO_DURATIONS = [
    ("2160h", 2160 * 3600.0),
    ("1h30m", 5400.0),
    ("59m55s", 3595.0),
    ("500ms", 0.5),
    ("1.5h", 5400.0),
    ("-5m", -300.0),
    ("+10s", 10.0),
    ("0", 0.0),
    ("1h0m0s", 3600.0),
    ("300us", 0.0003),
    ("2µs", 0.000002),
    (".5s", 0.5),
]


@pytest.mark.parametrize(("text", "seconds"), GO_DURATIONS, ids=[f"{t} is {s}s" for t, s in GO_DURATIONS])
def test_go_durations_parse(text: str, seconds: float) -> None:
    assert schema.parse_go_duration(text).total_seconds() == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "1", "h", "1d", "1h 30m", "--1s", "1.2.3s", "5 m"])
def test_bad_go_durations_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        schema.parse_go_duration(text)


@settings(max_examples=200, deadline=None)
@given(spec=st.dictionaries(st.sampled_from(["renewBefore", "duration", "ca", "acme", "name", "tags"]), JSON_VALUES))
def test_cel_rules_never_crash_on_arbitrary_values(spec: dict[str, Any]) -> None:
    sch = cel_spec(RENEW, ONE_ISSUER, IMMUTABLE, {"rule": "self.tags.all(t, t.size() < 5)"})
    sch["properties"]["spec"]["x-kubernetes-preserve-unknown-fields"] = True
    for cause in schema.validate(obj(spec), sch, old=obj({"name": "a"})):
        assert cause.field.startswith("spec")


SCALAR_SCHEMAS = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["string", "integer", "number", "boolean"])},
        optional={
            "nullable": st.booleans(),
            "enum": st.lists(st.one_of(st.text(max_size=3), st.integers(-3, 3)), min_size=1, max_size=3),
            "pattern": st.sampled_from(["^a", "b$", "^[a-z]*$", "(?i)x"]),
            "minimum": st.integers(-5, 5),
            "maximum": st.integers(-5, 5),
            "exclusiveMinimum": st.booleans(),
            "maxLength": st.integers(0, 4),
            "minLength": st.integers(0, 4),
            "format": st.sampled_from(["date-time", "byte", "duration", "int32"]),
            "default": st.one_of(st.none(), st.integers(), st.text(max_size=3)),
        },
    ),
    st.just({"x-kubernetes-int-or-string": True}),
)


def _object_schema(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"type": st.just("object")},
        optional={
            "properties": st.dictionaries(st.sampled_from(["a", "b", "c"]), children, max_size=3),
            "required": st.lists(st.sampled_from(["a", "b", "c"]), max_size=2, unique=True),
            "x-kubernetes-preserve-unknown-fields": st.booleans(),
            "maxProperties": st.integers(0, 3),
            "x-kubernetes-validations": st.lists(
                st.fixed_dictionaries(
                    {"rule": st.sampled_from(["has(self.a)", "self == oldSelf", "size(self) < 3", "self.a == 1"])},
                    optional={"messageExpression": st.just("'got ' + string(size(self))")},
                ),
                max_size=2,
            ),
        },
    )


SCHEMAS = st.recursive(
    SCALAR_SCHEMAS,
    lambda children: st.one_of(
        _object_schema(children),
        st.fixed_dictionaries(
            {"type": st.just("array"), "items": children},
            optional={"maxItems": st.integers(0, 3), "x-kubernetes-list-type": st.sampled_from(["atomic", "set"])},
        ),
        st.fixed_dictionaries({"type": st.just("object"), "additionalProperties": children}),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(node=SCHEMAS, value=JSON_VALUES, old=JSON_VALUES)
def test_any_schema_and_value_are_handled_without_crashing(node: dict[str, Any], value: Any, old: Any) -> None:
    sch = root(node)
    schema.check_structural(sch)
    body, previous = obj(copy.deepcopy(value)), obj(copy.deepcopy(old))
    schema.prune(body, sch)
    schema.apply_defaults(body, sch)
    for cause in schema.validate(body, sch, old=previous):
        assert cause.reason.startswith("FieldValue")
        assert cause.field.startswith("spec")


def test_schema_errors_come_before_cel_errors_which_come_parent_first() -> None:
    sch = cel_spec(
        {"rule": "false", "message": "spec rule"},
        name={
            "type": "string",
            "maxLength": 2,
            "x-kubernetes-validations": [{"rule": "false", "message": "name rule"}],
        },
        replicas={"type": "integer", "minimum": 1},
    )
    assert schema.validate(obj({"name": "abc", "replicas": 0}), sch) == [
        Cause("FieldValueTooLong", "Too long: may not be more than 2 bytes", "spec.name"),
        Cause(
            "FieldValueInvalid",
            "Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
            "spec.replicas",
        ),
        Cause("FieldValueInvalid", "Invalid value: spec rule", "spec"),  # an object self is left out,
        Cause("FieldValueInvalid", 'Invalid value: "abc": name rule', "spec.name"),  # a scalar quoted
    ]
    # as the server answers (kube-apiserver's hasBlockingErr): no rule runs after a blocking schema error
    blocked = schema.validate(obj({"name": "abc", "replicas": 0}), sch, skip_rules_when_invalid=True)
    assert [c.field for c in blocked] == ["spec.name", "spec.replicas", "<nil>"]
    assert blocked[-1] == schema.NOT_CHECKED
    assert blocked[-1].message == ("Invalid value: null: some validation rules were not checked because the object "
                                   "was invalid; correct the existing errors to complete validation")
    unblocked = schema.validate(obj({"name": "ab", "replicas": 0}), sch, skip_rules_when_invalid=True)
    assert [c.field for c in unblocked] == ["spec.replicas", "spec", "spec.name"]  # minimum does not block
