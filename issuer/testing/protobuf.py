"""A small decoder for Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`), so
that `kubectl create secret|configmap|namespace|serviceaccount|role|rolebinding|clusterrole|
clusterrolebinding ...` works against the embedded API server: kubectl's typed clients send those
bodies as protobuf, not JSON. It reads the `k8s\\x00` envelope (runtime.Unknown) and the wire format of
the few kinds listed in `SCHEMAS`, returning the same dict the JSON body would have been. Other kinds
raise `ProtobufError`, which the server answers as 415 UnsupportedMediaType."""

from __future__ import annotations

import base64
import datetime
from typing import Any

MAGIC = b"k8s\x00"

# A schema maps a field number to (json name, type, repeated). Types: "string", "bytes", "int",
# "bool", "time", a nested schema dict, or ("map", value type).
Schema = dict[int, tuple[str, Any, bool]]


class ProtobufError(ValueError):
    """The body is not a protobuf object this decoder knows."""


TIME: Schema = {}  # marker; handled specially
OWNER_REF: Schema = {1: ("kind", "string", False), 3: ("name", "string", False), 4: ("uid", "string", False),
                     5: ("apiVersion", "string", False), 6: ("controller", "bool", False),
                     7: ("blockOwnerDeletion", "bool", False)}
OBJECT_META: Schema = {
    1: ("name", "string", False), 2: ("generateName", "string", False), 3: ("namespace", "string", False),
    5: ("uid", "string", False), 6: ("resourceVersion", "string", False), 7: ("generation", "int", False),
    8: ("creationTimestamp", "time", False), 9: ("deletionTimestamp", "time", False),
    10: ("deletionGracePeriodSeconds", "int", False), 11: ("labels", ("map", "string"), False),
    12: ("annotations", ("map", "string"), False), 13: ("ownerReferences", OWNER_REF, True),
    14: ("finalizers", "string", True),
}
OBJECT_REF: Schema = {1: ("kind", "string", False), 2: ("namespace", "string", False), 3: ("name", "string", False),
                      4: ("uid", "string", False), 5: ("apiVersion", "string", False),
                      6: ("resourceVersion", "string", False), 7: ("fieldPath", "string", False)}
LOCAL_REF: Schema = {1: ("name", "string", False)}
POLICY_RULE: Schema = {1: ("verbs", "string", True), 3: ("apiGroups", "string", True),
                       4: ("resources", "string", True), 5: ("resourceNames", "string", True),
                       6: ("nonResourceURLs", "string", True)}
SUBJECT: Schema = {1: ("kind", "string", False), 2: ("apiGroup", "string", False), 3: ("name", "string", False),
                   4: ("namespace", "string", False)}
ROLE_REF: Schema = {1: ("apiGroup", "string", False), 2: ("kind", "string", False), 3: ("name", "string", False)}
LABEL_SELECTOR_REQ: Schema = {1: ("key", "string", False), 2: ("operator", "string", False),
                              3: ("values", "string", True)}
LABEL_SELECTOR: Schema = {1: ("matchLabels", ("map", "string"), False),
                          2: ("matchExpressions", LABEL_SELECTOR_REQ, True)}
AGGREGATION: Schema = {1: ("clusterRoleSelectors", LABEL_SELECTOR, True)}

SCHEMAS: dict[tuple[str, str], Schema] = {
    ("v1", "Secret"): {1: ("metadata", OBJECT_META, False), 2: ("data", ("map", "bytes"), False),
                       3: ("type", "string", False), 4: ("stringData", ("map", "string"), False),
                       5: ("immutable", "bool", False)},
    ("v1", "ConfigMap"): {1: ("metadata", OBJECT_META, False), 2: ("data", ("map", "string"), False),
                          3: ("binaryData", ("map", "bytes"), False), 4: ("immutable", "bool", False)},
    ("v1", "Namespace"): {1: ("metadata", OBJECT_META, False),
                          2: ("spec", {1: ("finalizers", "string", True)}, False),
                          3: ("status", {1: ("phase", "string", False)}, False)},
    ("v1", "ServiceAccount"): {1: ("metadata", OBJECT_META, False), 2: ("secrets", OBJECT_REF, True),
                               3: ("imagePullSecrets", LOCAL_REF, True),
                               4: ("automountServiceAccountToken", "bool", False)},
    ("rbac.authorization.k8s.io/v1", "Role"): {1: ("metadata", OBJECT_META, False),
                                               2: ("rules", POLICY_RULE, True)},
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): {1: ("metadata", OBJECT_META, False),
                                                      2: ("rules", POLICY_RULE, True),
                                                      3: ("aggregationRule", AGGREGATION, False)},
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): {1: ("metadata", OBJECT_META, False),
                                                      2: ("subjects", SUBJECT, True), 3: ("roleRef", ROLE_REF, False)},
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): {1: ("metadata", OBJECT_META, False),
                                                             2: ("subjects", SUBJECT, True),
                                                             3: ("roleRef", ROLE_REF, False)},
}
UNKNOWN: Schema = {1: ("typeMeta", {1: ("apiVersion", "string", False), 2: ("kind", "string", False)}, False),
                   2: ("raw", "raw", False), 3: ("contentEncoding", "string", False),
                   4: ("contentType", "string", False)}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ProtobufError("varint too long")


def _fields(buf: bytes) -> list[tuple[int, int, Any]]:
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise ProtobufError("truncated field")
            value = buf[pos:pos + length]
            pos += length
        elif wire == 1:
            value = buf[pos:pos + 8]
            pos += 8
        elif wire == 5:
            value = buf[pos:pos + 4]
            pos += 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _time(buf: bytes) -> str:
    seconds = 0
    for number, _, value in _fields(buf):
        if number == 1:
            seconds = int(value)
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scalar(kind: Any, wire: int, value: Any) -> Any:
    if kind == "string":
        if wire != 2:
            raise ProtobufError("expected a string")
        return bytes(value).decode()
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode()
    if kind == "raw":
        return bytes(value)
    if kind == "int":
        number = int(value)
        return number - (1 << 64) if number >= 1 << 63 else number
    if kind == "bool":
        return bool(value)
    if kind == "time":
        return _time(bytes(value))
    if isinstance(kind, dict):
        return decode_message(bytes(value), kind)
    raise ProtobufError(f"unknown kind {kind!r}")


def decode_message(buf: bytes, schema: Schema) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, wire, value in _fields(buf):
        spec = schema.get(number)
        if spec is None:
            continue
        name, kind, repeated = spec
        if isinstance(kind, tuple) and kind[0] == "map":
            entry = {1: ("key", "string", False), 2: ("value", kind[1], False)}
            pair = decode_message(bytes(value), entry)
            default: Any = "" if kind[1] in ("string", "bytes") else None
            out.setdefault(name, {})[pair.get("key", "")] = pair.get("value", default)
        elif repeated:
            out.setdefault(name, []).append(_scalar(kind, wire, value))
        else:
            scalar = _scalar(kind, wire, value)
            if scalar in ("", 0, False) and not isinstance(scalar, dict):
                continue  # Go's omitempty: proto always carries these, JSON would not
            out[name] = scalar
    return out


def decode(body: bytes) -> dict[str, Any]:
    """The JSON-equivalent dict of a protobuf-encoded Kubernetes object."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf envelope")
    envelope = decode_message(body[len(MAGIC):], UNKNOWN)
    type_meta = envelope.get("typeMeta") or {}
    api_version = str(type_meta.get("apiVersion", ""))
    kind = str(type_meta.get("kind", ""))
    schema = SCHEMAS.get((api_version, kind))
    if schema is None:
        raise ProtobufError(f"protobuf bodies of {kind} ({api_version}) are not supported by the embedded server")
    obj = decode_message(bytes(envelope.get("raw", b"")), schema)
    return {"apiVersion": api_version, "kind": kind, **obj}
