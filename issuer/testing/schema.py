"""Structural OpenAPI v3 schema handling for CRD ``openAPIV3Schema``, as kube-apiserver applies it to
custom resources: pruning of unknown fields (`prune`), structural defaulting (`apply_defaults`),
validation with Kubernetes-style field causes (`validate`, including CEL ``x-kubernetes-validations``)
and a small sanity check for schemas in new CRDs (`check_structural`). The embedded API server
(issuer.testing) calls these in kube's order on every write: prune, default, validate. CEL rules are
parsed with cel-python's parser and compiled once per rule text into Python closures over plain JSON
values (cel-go semantics as Kubernetes configures it, plus the Kubernetes string/list/regex/optional
libraries); a rule using something that compiler does not know runs on cel-python's interpreter
instead. Everything here is pure: plain dicts in, plain values out, no I/O. CEL cost limits at CRD
creation are estimated by issuer.testing.celcost. Not modelled: validation ratcheting, CEL type checking
at CRD creation, and the full structural-schema rules of apiextensions (only a sanity subset).

The same CEL engine serves other callers through `evaluate` (plain values in and out, `LazyMap` for
lazily computed bindings, `register_functions` for another Kubernetes CEL library): the embedded API
server's ValidatingAdmissionPolicies (issuer.testing.admission).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import celpy
from celpy import celtypes

from issuer.testing import celcost

__all__ = [
    "Cause",
    "CelError",
    "LazyMap",
    "apply_defaults",
    "check_structural",
    "compile_error",
    "evaluate",
    "parse_go_duration",
    "prune",
    "register_functions",
    "validate",
]


@dataclass(frozen=True)
class Cause:
    """One Kubernetes ``StatusCause``: ``reason`` (e.g. FieldValueRequired), ``message`` (the error
    body, e.g. ``Required value``) and ``field`` (dotted path with ``[i]`` indexes, e.g.
    ``spec.dnsNames[0]``)."""

    reason: str
    message: str
    field: str

    def to_dict(self) -> dict[str, str]:
        """The cause as it appears in ``Status.details.causes``."""
        return {"reason": self.reason, "message": self.message, "field": self.field}

    def __str__(self) -> str:
        """``field: message``, the form kube joins into an Invalid error's message."""
        return f"{self.field}: {self.message}" if self.field else self.message


REQUIRED: Final = "FieldValueRequired"
INVALID: Final = "FieldValueInvalid"
TYPE_INVALID: Final = "FieldValueTypeInvalid"
NOT_SUPPORTED: Final = "FieldValueNotSupported"
FORBIDDEN: Final = "FieldValueForbidden"
TOO_LONG: Final = "FieldValueTooLong"
TOO_MANY: Final = "FieldValueTooMany"
DUPLICATE: Final = "FieldValueDuplicate"

_ROOT_KEPT: Final = frozenset({"apiVersion", "kind", "metadata"})

JSON = Any


# ---------------------------------------------------------------------------------------------------
# paths and Go-style value rendering


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def _go_quote(s: str) -> str:
    """Go's %q for the common cases (JSON string escaping is close enough)."""
    return json.dumps(s, ensure_ascii=False)


def _go_value(value: JSON) -> str:
    """Render a bad value as field.Error.ErrorBody does (%q for strings, %v for scalars, %#v else)."""
    if value is None:
        return '"null"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _go_quote(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, dict):
        inner = ", ".join(f"{_go_quote(str(k))}:{_go_inner(v)}" for k, v in value.items())
        return "map[string]interface {}{" + inner + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_go_inner(v) for v in value) + "}"
    return _go_quote(str(value))


def _go_inner(value: JSON) -> str:
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, str):
        return _go_quote(value)
    if isinstance(value, (dict, list)):
        return _go_value(value)
    return _go_value(value)


def _go_float(value: float) -> str:
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def _json_type(value: JSON) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _json_equal(a: JSON, b: JSON) -> bool:
    """Equality of JSON values that keeps booleans apart from numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and bool(a == b)


def _freeze(value: JSON) -> Any:
    """A hashable, type-distinguishing key for a JSON value (set/map list uniqueness)."""
    if isinstance(value, dict):
        return ("o", tuple(sorted((k, _freeze(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("a", tuple(_freeze(v) for v in value))
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)
    return ("s", value)


# ---------------------------------------------------------------------------------------------------
# pruning


def prune(obj: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Remove the fields the schema does not know, in place, as kube-apiserver does on every write.

    apiVersion, kind and metadata at the root (and at ``x-kubernetes-embedded-resource`` nodes) are
    never pruned. Returns the dotted paths of the removed fields, e.g. ``spec.foo`` or
    ``spec.items[0].bar``, for the ``unknown field`` warning or strict-validation error.
    """
    removed: list[str] = []
    _prune_object(obj, schema, "", removed, keep=_ROOT_KEPT)
    return removed


def _prune(value: JSON, schema: dict[str, Any], path: str, removed: list[str]) -> None:
    if isinstance(value, dict):
        keep = _ROOT_KEPT if schema.get("x-kubernetes-embedded-resource") else frozenset()
        _prune_object(value, schema, path, removed, keep=keep)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _prune(item, items, _index(path, i), removed)


def _prune_object(
    value: dict[str, Any], schema: dict[str, Any], path: str, removed: list[str], *, keep: frozenset[str]
) -> None:
    props: dict[str, Any] | None = schema.get("properties")
    additional = schema.get("additionalProperties")
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    for key in list(value):
        if key in keep:
            continue  # ObjectMeta and type fields are the server's business, never the schema's
        sub: dict[str, Any] | None = props.get(key) if props else None
        if sub is None and isinstance(additional, dict):
            sub = additional
        if sub is not None:
            _prune(value[key], sub, _child(path, key), removed)
        elif preserve or additional is True:
            continue
        else:
            del value[key]
            removed.append(_child(path, key))


# ---------------------------------------------------------------------------------------------------
# defaulting


def apply_defaults(obj: dict[str, Any], schema: dict[str, Any]) -> None:
    """Apply ``default`` values in place, the way structural defaulting works in kube-apiserver.

    A property with a default is set (to a deep copy) when it is missing, or when it is ``null`` and
    the property is not ``nullable``; defaulting then continues inside the new value. Afterwards a
    ``null`` in a non-nullable property without a default is dropped, as kube does before validation.
    """
    _default(obj, schema)


def _default(value: JSON, schema: dict[str, Any]) -> None:
    if isinstance(value, dict):
        props: dict[str, Any] | None = schema.get("properties")
        if props:
            for key, sub in props.items():
                if "default" in sub:
                    if key not in value or (value[key] is None and not sub.get("nullable")):
                        value[key] = _deepcopy(sub["default"])
                elif key in value and value[key] is None and not sub.get("nullable"):
                    del value[key]
                    continue
                if key in value:
                    _default(value[key], sub)
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for key in list(value):
                if props and key in props:
                    continue
                if value[key] is None and not additional.get("nullable"):
                    if "default" in additional:
                        value[key] = _deepcopy(additional["default"])
                    else:
                        continue
                _default(value[key], additional)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i in range(len(value)):
                if value[i] is None and "default" in items and not items.get("nullable"):
                    value[i] = _deepcopy(items["default"])
                _default(value[i], items)


def _deepcopy(value: JSON) -> JSON:
    if isinstance(value, dict):
        return {k: _deepcopy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deepcopy(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------------
# validation

_DATE_TIME_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_DATE_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UUID_RE: Final = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


def _valid_date_time(s: str) -> bool:
    m = _DATE_TIME_RE.fullmatch(s)
    if not m:
        return False
    month, day = int(s[5:7]), int(s[8:10])
    hour, minute, second = int(s[11:13]), int(s[14:16]), int(s[17:19])
    return 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61


def _valid_b64(s: str) -> bool:
    try:
        base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _valid_ip(s: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(s).version == version
    except ValueError:
        return False


def _valid_cidr(s: str) -> bool:
    try:
        ipaddress.ip_network(s, strict=False)
    except ValueError:
        return False
    return "/" in s


_FORMATS: Final[dict[str, Callable[[str], bool]]] = {
    "date-time": _valid_date_time,
    "datetime": _valid_date_time,
    "date": lambda s: bool(_DATE_RE.fullmatch(s)),
    "byte": _valid_b64,
    "uuid": lambda s: bool(_UUID_RE.fullmatch(s)),
    "ipv4": lambda s: _valid_ip(s, 4),
    "ipv6": lambda s: _valid_ip(s, 6),
    "cidr": _valid_cidr,
}


_POSIX_CLASSES: Final = {
    "[:alnum:]": "0-9A-Za-z",
    "[:alpha:]": "A-Za-z",
    "[:ascii:]": "\\x00-\\x7F",
    "[:blank:]": "\\t ",
    "[:cntrl:]": "\\x00-\\x1F\\x7F",
    "[:digit:]": "0-9",
    "[:graph:]": "!-~",
    "[:lower:]": "a-z",
    "[:print:]": " -~",
    "[:punct:]": "!-/:-@\\[-`{-~",
    "[:space:]": "\\t\\n\\v\\f\\r ",
    "[:upper:]": "A-Z",
    "[:word:]": "0-9A-Za-z_",
    "[:xdigit:]": "0-9A-Fa-f",
}


def _re2_to_python(pattern: str) -> str:
    """Translate RE2 spellings that Python's ``re`` reads differently: ``\\z``, ``(?<name>``, POSIX
    classes such as ``[[:alpha:]]``, and ``$``, which in RE2 (without the m flag) is the end of the
    text, never the spot before a final newline."""
    multiline = bool(re.match(r"\(\?[a-zA-Z]*m", pattern))
    out: list[str] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            out.append("\\Z" if pattern[i + 1] == "z" and not in_class else pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "[" and pattern[i + 1 : i + 2] == ":":
                end = pattern.find(":]", i + 2)
                if end != -1 and pattern[i : end + 2] in _POSIX_CLASSES:
                    out.append(_POSIX_CLASSES[pattern[i : end + 2]])
                    i = end + 2
                    continue
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if pattern[i : i + 1] == "^":
                out.append("^")
                i += 1
            if pattern[i : i + 1] == "]":
                out.append("]")
                i += 1
            continue
        if c == "(" and pattern[i : i + 3] == "(?<" and pattern[i + 3 : i + 4] not in ("=", "!"):
            out.append("(?P<")
            i += 3
            continue
        if c == "$" and not multiline:
            out.append("\\Z")
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str] | None:
    """A compiled RE2-style pattern (OpenAPI ``pattern`` and CEL ``matches`` are Go regexps), or None."""
    try:
        return re.compile(_re2_to_python(pattern))
    except re.error:
        return None


def _type_ok(value: JSON, typ: str) -> bool:
    if typ == "object":
        return isinstance(value, dict)
    if typ == "string":
        return isinstance(value, str)
    if typ == "array":
        return isinstance(value, list)
    if typ == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if typ == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if typ == "boolean":
        return isinstance(value, bool)
    return True


def validate(obj: dict[str, Any], schema: dict[str, Any], old: dict[str, Any] | None = None, *,
             skip_rules_when_invalid: bool = False) -> list[Cause]:
    """Validate ``obj`` against a structural schema and return the causes of a 422 (empty if valid).

    Checks type (integer vs number, ``x-kubernetes-int-or-string``, ``nullable``), required, enum,
    properties, items, additionalProperties, pattern, minimum/maximum (and exclusive), min/maxLength,
    min/maxItems, min/maxProperties, formats (date-time, date, byte, uuid, ipv4, ipv6, cidr),
    ``x-kubernetes-list-type`` set/map uniqueness, oneOf/anyOf/allOf/not, and CEL
    ``x-kubernetes-validations``. ``old`` is the stored object on updates: it binds ``oldSelf`` for
    transition rules (rules that use ``oldSelf`` are skipped on create unless ``optionalOldSelf``).
    Messages follow kube-apiserver's wording, and as there all schema errors come before the CEL
    errors. apiVersion/kind/metadata at the root are not checked here (the server validates
    ObjectMeta itself). Schema dicts are treated as immutable: per-node facts are cached by identity.
    ``skip_rules_when_invalid`` answers as kube-apiserver does: after a blocking schema error (required,
    enum, type, too long, too many) no CEL rule runs and a ``<nil>`` cause says so.
    """
    causes = _Causes()
    _validate_node(obj, schema, "", causes, _MISSING if old is None else old, root=True)
    if skip_rules_when_invalid and any(c.reason in _BLOCKING for c in causes) and has_rules(schema):
        # kube evaluates no CEL rule on an object whose schema errors could break them, and says so
        return [*causes, NOT_CHECKED]
    return [*causes, *causes.cel]


# the schema errors after which kube skips the CEL rules (apiextensions' hasBlockingErr)
_BLOCKING: Final = frozenset({"FieldValueNotSupported", "FieldValueRequired", "FieldValueTooLong", "FieldValueTooMany",
                              "FieldValueTypeInvalid"})
NOT_CHECKED: Final = Cause("FieldValueInvalid", "Invalid value: null: some validation rules were not checked because "
                           "the object was invalid; correct the existing errors to complete validation", "<nil>")
_HAS_RULES: dict[int, tuple[dict[str, Any], bool]] = {}


def has_rules(schema: Any) -> bool:
    """Whether a schema holds any x-kubernetes-validations rule (cached per schema dict)."""
    if not isinstance(schema, dict):
        return False
    cached = _HAS_RULES.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    found = bool(schema.get("x-kubernetes-validations")) or any(
        has_rules(sub) for key, sub in schema.items()
        if key in ("properties", "additionalProperties", "items", "allOf", "anyOf", "oneOf", "not")
        for sub in (sub.values() if key == "properties" and isinstance(sub, dict)
                    else sub if isinstance(sub, list) else [sub]))
    if len(_HAS_RULES) > 4096:
        _HAS_RULES.clear()
    _HAS_RULES[id(schema)] = (schema, found)
    return found


class _Causes(list[Cause]):
    """The causes of one validation: schema errors in the list itself, CEL errors in ``cel``."""

    def __init__(self) -> None:
        super().__init__()
        self.cel: list[Cause] = []


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Final = _Missing()


def _validate_node(
    value: JSON,
    schema: dict[str, Any],
    path: str,
    causes: list[Cause],
    old: JSON,
    *,
    root: bool = False,
    cel: bool = True,
) -> None:
    """Validate one value against one schema node, appending causes. ``old`` is the correlated old
    value or _MISSING; ``cel`` is False inside oneOf/anyOf/allOf/not branches."""
    typ: str | None = schema.get("type")
    if value is None:
        if schema.get("nullable"):
            return
        if typ or schema.get("x-kubernetes-int-or-string"):
            _type_error(value, typ or "integer,string", path, causes)
        return
    if schema.get("x-kubernetes-int-or-string"):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            causes.append(
                Cause(
                    TYPE_INVALID,
                    f"Invalid value: {_go_quote(_json_type(value))}: {path or '<root>'} in body must be of "
                    f"type integer,string: {_go_quote(_json_type(value))}",
                    path,
                )
            )
            return
    elif typ and not _type_ok(value, typ):
        _type_error(value, typ, path, causes)
        return

    enum = schema.get("enum")
    if enum is not None and not (value in enum if isinstance(value, str) else any(_json_equal(value, e) for e in enum)):
        supported = ", ".join(_go_quote(e) if isinstance(e, str) else json.dumps(e) for e in enum)
        causes.append(
            Cause(NOT_SUPPORTED, f"Unsupported value: {_go_value(value)}: supported values: {supported}", path)
        )

    if cel and schema.get("x-kubernetes-validations"):
        # kube reports every schema error first, then the CEL errors in pre-order
        _cel_hook(value, schema, path, causes.cel if isinstance(causes, _Causes) else causes, old)

    if isinstance(value, dict):
        _validate_object(value, schema, path, causes, old, root=root, cel=cel)
    elif isinstance(value, list):
        _validate_array(value, schema, path, causes, old, cel=cel)
    elif isinstance(value, str):
        _validate_string(value, schema, path, causes)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _validate_number(value, schema, path, causes)

    if "allOf" in schema or "anyOf" in schema or "oneOf" in schema or "not" in schema:
        _validate_combinators(value, schema, path, causes)


def _in_body(path: str) -> str:
    return f"{path or 'body'} in body"


def _type_error(value: JSON, typ: str, path: str, causes: list[Cause]) -> None:
    actual = _json_type(value)
    causes.append(
        Cause(
            TYPE_INVALID,
            f"Invalid value: {_go_quote(actual)}: {_in_body(path)} must be of type {typ}: {_go_quote(actual)}",
            path,
        )
    )


def _validate_object(
    value: dict[str, Any],
    schema: dict[str, Any],
    path: str,
    causes: list[Cause],
    old: JSON,
    *,
    root: bool,
    cel: bool,
) -> None:
    n = len(value)
    max_props = schema.get("maxProperties")
    if max_props is not None and n > max_props:
        causes.append(Cause(TOO_MANY, f"Too many: {n}: must have at most {max_props} items", path))
    min_props = schema.get("minProperties")
    if min_props is not None and n < min_props:
        causes.append(
            Cause(
                INVALID,
                f"Invalid value: {n}: {_in_body(path)} should have at least {min_props} properties",
                path,
            )
        )
    props: dict[str, Any] | None = schema.get("properties")
    additional = schema.get("additionalProperties")
    old_map = old if isinstance(old, dict) else None
    for key, item in value.items():
        if root and key in _ROOT_KEPT:
            continue
        sub: dict[str, Any] | None = props.get(key) if props else None
        if sub is None:
            if isinstance(additional, dict):
                sub = additional
            elif additional is False and props is not None:
                causes.append(Cause(FORBIDDEN, "Forbidden: additional properties are not allowed", _child(path, key)))
                continue
            else:
                continue
        child_old = old_map.get(key, _MISSING) if old_map is not None else _MISSING
        _validate_node(item, sub, _child(path, key), causes, child_old, cel=cel)
    required = schema.get("required")  # kube reports missing properties after the properties' own errors
    if required:
        for key in required:
            if key not in value:
                causes.append(Cause(REQUIRED, "Required value", _child(path, key)))


def _validate_array(
    value: list[Any],
    schema: dict[str, Any],
    path: str,
    causes: list[Cause],
    old: JSON,
    *,
    cel: bool,
) -> None:
    n = len(value)
    max_items = schema.get("maxItems")
    if max_items is not None and n > max_items:
        causes.append(Cause(TOO_MANY, f"Too many: {n}: must have at most {max_items} items", path))
    min_items = schema.get("minItems")
    if min_items is not None and n < min_items:
        causes.append(
            Cause(INVALID, f"Invalid value: {n}: {_in_body(path)} should have at least {min_items} items", path)
        )
    list_type = schema.get("x-kubernetes-list-type")
    map_keys: list[str] = schema.get("x-kubernetes-list-map-keys") or []
    if list_type == "set" or schema.get("uniqueItems"):
        seen: set[Any] = set()
        for i, item in enumerate(value):
            key = _freeze(item)
            if key in seen:
                causes.append(Cause(DUPLICATE, f"Duplicate value: {_go_value(item)}", _index(path, i)))
            seen.add(key)
    elif list_type == "map" and map_keys:
        seen_keys: set[Any] = set()
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            key = tuple(_freeze(item.get(k)) for k in map_keys)
            if key in seen_keys:
                dup = {k: item[k] for k in map_keys if k in item}
                causes.append(Cause(DUPLICATE, f"Duplicate value: {_go_value(dup)}", _index(path, i)))
            seen_keys.add(key)
    items = schema.get("items")
    if isinstance(items, dict):
        olds = _correlate_list(value, old, list_type, map_keys)
        for i, item in enumerate(value):
            _validate_node(item, items, _index(path, i), causes, next(olds), cel=cel)


def _correlate_list(value: list[Any], old: JSON, list_type: str | None, map_keys: list[str]) -> Iterator[JSON]:
    """Old values for each new list item: by key for map lists, by value for sets, else none (as kube's
    CEL transition rules correlate only those)."""
    if not isinstance(old, list) or list_type not in ("map", "set"):
        while True:
            yield _MISSING
    if list_type == "set":
        old_set = {_freeze(v) for v in old}
        for item in value:
            yield item if _freeze(item) in old_set else _MISSING
        while True:
            yield _MISSING
    index: dict[Any, Any] = {}
    for item in old:
        if isinstance(item, dict):
            index.setdefault(tuple(_freeze(item.get(k)) for k in map_keys), item)
    for item in value:
        if isinstance(item, dict):
            yield index.get(tuple(_freeze(item.get(k)) for k in map_keys), _MISSING)
        else:
            yield _MISSING
    while True:
        yield _MISSING


def _validate_string(value: str, schema: dict[str, Any], path: str, causes: list[Cause]) -> None:
    max_len = schema.get("maxLength")
    if max_len is not None and len(value) > max_len:
        causes.append(Cause(TOO_LONG, f"Too long: may not be more than {max_len} bytes", path))
    min_len = schema.get("minLength")
    if min_len is not None and len(value) < min_len:
        causes.append(
            Cause(
                INVALID,
                f"Invalid value: {_go_quote(value)}: {_in_body(path)} should be at least {min_len} chars long",
                path,
            )
        )
    pattern = schema.get("pattern")
    if pattern is not None:
        rx = _regex(pattern)
        if rx is not None and not rx.search(value):
            causes.append(
                Cause(INVALID, f"Invalid value: {_go_quote(value)}: {_in_body(path)} should match '{pattern}'", path)
            )
    fmt = schema.get("format")
    if fmt is not None:
        check = _FORMATS.get(fmt)
        if check is not None and not check(value):
            causes.append(
                Cause(
                    INVALID,
                    f"Invalid value: {_go_quote(value)}: {_in_body(path)} must be of type {fmt}: {_go_quote(value)}",
                    path,
                )
            )


def _validate_number(value: float, schema: dict[str, Any], path: str, causes: list[Cause]) -> None:
    minimum = schema.get("minimum")
    if minimum is not None:
        excl = bool(schema.get("exclusiveMinimum"))
        if value < minimum or (excl and value == minimum):
            op = "greater than" if excl else "greater than or equal to"
            causes.append(
                Cause(
                    INVALID,
                    f"Invalid value: {_go_value(value)}: {_in_body(path)} should be {op} {_go_value(minimum)}",
                    path,
                )
            )
    maximum = schema.get("maximum")
    if maximum is not None:
        excl = bool(schema.get("exclusiveMaximum"))
        if value > maximum or (excl and value == maximum):
            op = "less than" if excl else "less than or equal to"
            causes.append(
                Cause(
                    INVALID,
                    f"Invalid value: {_go_value(value)}: {_in_body(path)} should be {op} {_go_value(maximum)}",
                    path,
                )
            )
    multiple = schema.get("multipleOf")
    if multiple:
        q = value / multiple
        if not math.isclose(q, round(q), rel_tol=0, abs_tol=1e-9):
            causes.append(
                Cause(
                    INVALID,
                    f"Invalid value: {_go_value(value)}: {_in_body(path)} should be a multiple of "
                    f"{_go_value(multiple)}",
                    path,
                )
            )


def _passes(value: JSON, schema: dict[str, Any], path: str) -> bool:
    scratch: list[Cause] = []
    _validate_node(value, schema, path, scratch, _MISSING, cel=False)
    return not scratch


def _validate_combinators(value: JSON, schema: dict[str, Any], path: str, causes: list[Cause]) -> None:
    quoted = _go_quote(path or "body")
    for sub in schema.get("allOf") or ():
        _validate_node(value, sub, path, causes, _MISSING, cel=False)
    any_of = schema.get("anyOf")
    if any_of and not any(_passes(value, sub, path) for sub in any_of):
        causes.append(Cause(INVALID, f'Invalid value: "": {quoted} must validate at least one schema (anyOf)', path))
    one_of = schema.get("oneOf")
    if one_of:
        valid = sum(1 for sub in one_of if _passes(value, sub, path))
        if valid != 1:
            found = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
            causes.append(
                Cause(
                    INVALID,
                    f'Invalid value: "": {quoted} must validate one and only one schema (oneOf). {found}',
                    path,
                )
            )
    not_ = schema.get("not")
    if isinstance(not_, dict) and _passes(value, not_, path):
        causes.append(Cause(INVALID, f'Invalid value: "": {quoted} must not validate the schema (not)', path))


# ---------------------------------------------------------------------------------------------------
# CEL (x-kubernetes-validations)

_OLD_SELF_RE: Final = re.compile(r"\boldSelf\b")
_RULE_REASONS: Final = frozenset({INVALID, FORBIDDEN, REQUIRED, DUPLICATE})
_TRANSITION: dict[str, bool] = {}  # rule text -> mentions oldSelf


def _cel_hook(value: JSON, schema: dict[str, Any], path: str, causes: list[Cause], old: JSON) -> None:
    """Evaluate the node's x-kubernetes-validations rules (after its structural checks passed)."""
    type_name = schema.get("type") or ""
    bindings = _Bindings(value, old, schema)
    for rule in schema.get("x-kubernetes-validations") or ():
        text = rule.get("rule")
        if not isinstance(text, str):
            continue
        transition = _TRANSITION.get(text)
        if transition is None:
            if len(_TRANSITION) > 4096:
                _TRANSITION.clear()
            transition = _TRANSITION[text] = bool(_OLD_SELF_RE.search(text))
        if transition and old is _MISSING and not rule.get("optionalOldSelf"):
            continue
        ok, error = _run_rule(text, bindings)
        if ok:
            continue
        message = _rule_error_string(rule)
        if error is not None:  # kube reports evaluation errors at the node, ignoring fieldPath
            if error.startswith("no such overload"):
                detail = (
                    f"'{error}': call arguments did not match a supported operator, function or macro "
                    f"signature for rule: {message}"
                )
            else:
                detail = f"{error} evaluating rule: {message}"
            causes.append(Cause(INVALID, f"Invalid value: {_go_quote(type_name)}: {detail}", path))
            continue
        field = path
        field_path = rule.get("fieldPath")
        if isinstance(field_path, str) and field_path:
            field = _join_field_path(path, field_path)
        expression = rule.get("messageExpression")
        if isinstance(expression, str) and expression:
            computed = _run_message(expression, bindings)
            if computed:
                message = computed
        reason = rule.get("reason") if rule.get("reason") in _RULE_REASONS else INVALID
        if reason == FORBIDDEN:
            body = f"Forbidden: {message}"
        elif reason == REQUIRED:
            body = f"Required value: {message}"
        else:  # kube v1.37 quotes a scalar self and leaves an object or list out
            shown = "" if isinstance(value, (dict, list)) else f"{_go_value(value)}: "
            body = f"Duplicate value: {shown.removesuffix(': ')}" if reason == DUPLICATE else \
                f"Invalid value: {shown}{message}"
        causes.append(Cause(reason, body, field))


# --- a fast CEL evaluator: celpy's parser, closures over plain Python values ----------------------
#
# cel-python's own interpreter walks the lark tree on every evaluation (several hundred microseconds
# per rule). Validation runs on every write, so rules are compiled here once into Python closures
# that work directly on JSON values (dict, list, str, int, float, bool, None, plus datetime and
# timedelta for timestamps and durations). Anything this compiler does not know (message
# construction, type(), timestamp accessors...) raises _Unsupported at compile time and the rule
# runs on cel-python's interpreter instead. Semantics follow cel-go as Kubernetes configures it:
# heterogeneous equality, cross-type numeric comparison, commutative error absorption in && and ||.


class _Unsupported(Exception):
    """The fast compiler does not handle this construct; use cel-python's interpreter."""


class _CelError(Exception):
    """A CEL evaluation error (no such key, no such overload, division by zero...)."""


_Fn = Callable[[dict[str, Any]], Any]
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_NO_OVERLOAD: Final = "no such overload"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _checked(v: int) -> int:
    if v < _INT64_MIN or v > _INT64_MAX:
        raise _CelError("integer overflow")
    return v


def _cel_eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if _is_num(a) and _is_num(b):
        return bool(a == b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_cel_eq(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_cel_eq(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _ordered(a: Any, b: Any) -> bool:
    if _is_num(a) and _is_num(b):
        return True
    if isinstance(a, bool) and isinstance(b, bool):
        return True
    return type(a) is type(b) and isinstance(a, (str, bytes, datetime.timedelta, datetime.datetime))


def _lt(a: Any, b: Any) -> bool:
    if not _ordered(a, b):
        raise _CelError(_NO_OVERLOAD)
    return bool(a < b)


def _add(a: Any, b: Any) -> Any:
    if _is_int(a) and _is_int(b):
        return _checked(a + b)
    if _is_num(a) and _is_num(b):
        return float(a) + float(b)
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    if isinstance(a, list) and isinstance(b, list):
        return a + b
    if isinstance(a, bytes) and isinstance(b, bytes):
        return a + b
    if isinstance(a, datetime.timedelta) and isinstance(b, (datetime.timedelta, datetime.datetime)):
        return a + b
    if isinstance(a, datetime.datetime) and isinstance(b, datetime.timedelta):
        return a + b
    raise _CelError(_NO_OVERLOAD)


def _sub(a: Any, b: Any) -> Any:
    if _is_int(a) and _is_int(b):
        return _checked(a - b)
    if _is_num(a) and _is_num(b):
        return float(a) - float(b)
    if isinstance(a, datetime.datetime) and isinstance(b, (datetime.datetime, datetime.timedelta)):
        return a - b
    if isinstance(a, datetime.timedelta) and isinstance(b, datetime.timedelta):
        return a - b
    raise _CelError(_NO_OVERLOAD)


def _mul(a: Any, b: Any) -> Any:
    if _is_int(a) and _is_int(b):
        return _checked(a * b)
    if _is_num(a) and _is_num(b):
        return float(a) * float(b)
    raise _CelError(_NO_OVERLOAD)


def _div(a: Any, b: Any) -> Any:
    if _is_int(a) and _is_int(b):
        if b == 0:
            raise _CelError("division by zero")
        q = abs(a) // abs(b)
        return _checked(q if (a >= 0) == (b >= 0) else -q)
    if _is_num(a) and _is_num(b):
        if b == 0:
            return math.copysign(math.inf, a) if a else math.nan
        return float(a) / float(b)
    raise _CelError(_NO_OVERLOAD)


def _mod(a: Any, b: Any) -> Any:
    if _is_int(a) and _is_int(b):
        if b == 0:
            raise _CelError("modulus by zero")
        r = abs(a) % abs(b)
        return r if a >= 0 else -r
    raise _CelError(_NO_OVERLOAD)


def _neg(a: Any) -> Any:
    if _is_int(a):
        return _checked(-a)
    if _is_num(a) or isinstance(a, datetime.timedelta):
        return -a
    raise _CelError(_NO_OVERLOAD)


def _not(a: Any) -> bool:
    if not isinstance(a, bool):
        raise _CelError(_NO_OVERLOAD)
    return not a


def _in(a: Any, b: Any) -> bool:
    if isinstance(b, list):
        return any(_cel_eq(a, x) for x in b)
    if isinstance(b, dict):
        return a in b if isinstance(a, str) else any(_cel_eq(a, k) for k in b)
    raise _CelError(_NO_OVERLOAD)


def _select(a: Any, name: str) -> Any:
    if isinstance(a, dict):
        try:
            return a[name]
        except KeyError:
            raise _CelError(f"no such key: {name}") from None
    if isinstance(a, list):
        raise _CelError(_NO_OVERLOAD)
    raise _CelError(f"no such key: {name}")  # cel-go on null or a scalar: `oldObject.spec` on create


def _cel_index(a: Any, i: Any) -> Any:
    if isinstance(a, list):
        if isinstance(i, float) and i.is_integer():
            i = int(i)
        if not _is_int(i):
            raise _CelError(_NO_OVERLOAD)
        if i < 0 or i >= len(a):
            raise _CelError(f"index '{i}' out of range in list size '{len(a)}'")
        return a[i]
    if isinstance(a, dict):
        for key in a:
            if _cel_eq(key, i):
                return a[key]
        raise _CelError(f"no such key: {i}")
    raise _CelError(_NO_OVERLOAD)


_GO_DURATION_RE: Final = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS: Final = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_go_duration(text: str) -> datetime.timedelta:
    """A Go ``time.ParseDuration`` string (``2160h``, ``1h30m``, ``59m55s``, ``500ms``, ``-1.5h``) as a
    timedelta; raises ValueError for anything else."""
    s = text.strip()
    sign = 1.0
    if s[:1] in "+-" and s:
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return datetime.timedelta(0)
    if not s:
        raise ValueError(f"invalid duration {text!r}")
    pos, total = 0, 0.0
    while pos < len(s):
        m = _GO_DURATION_RE.match(s, pos)
        if not m:
            raise ValueError(f"invalid duration {text!r}")
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    return datetime.timedelta(seconds=sign * total)


def _duration(v: Any) -> datetime.timedelta:
    if isinstance(v, datetime.timedelta):
        return v
    if not isinstance(v, str):
        raise _CelError(_NO_OVERLOAD)
    try:
        return parse_go_duration(v)
    except (ValueError, OverflowError):
        raise _CelError("type conversion error from 'string' to 'google.protobuf.Duration'") from None


def _timestamp(v: Any) -> datetime.datetime:
    if isinstance(v, datetime.datetime):
        return v
    if not isinstance(v, str):
        raise _CelError(_NO_OVERLOAD)
    parsed = _parse_rfc3339(v)
    if parsed is None:
        raise _CelError("type conversion error from 'string' to 'google.protobuf.Timestamp'")
    return parsed


def _parse_rfc3339(v: str) -> datetime.datetime | None:
    if not _DATE_TIME_RE.fullmatch(v):
        return None
    text = v.replace("z", "Z").replace("t", "T")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = re.sub(r"\.(\d{6})\d+", r".\1", text)
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return None


def _go_format_duration(d: datetime.timedelta) -> str:
    seconds = d.total_seconds()
    return f"{seconds:g}s" if not float(seconds).is_integer() else f"{int(seconds)}s"


def _to_string(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if _is_int(v):
        return str(v)
    if isinstance(v, float):
        return repr(v) if not v.is_integer() else f"{v:g}" if abs(v) >= 1e21 else str(int(v))
    if isinstance(v, bytes):
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            raise _CelError("invalid UTF-8 in bytes, cannot convert to string") from None
    if isinstance(v, datetime.timedelta):
        return _go_format_duration(v)
    if isinstance(v, datetime.datetime):
        return v.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
    raise _CelError(_NO_OVERLOAD)


def _to_int(v: Any) -> int:
    if _is_int(v):
        return int(v)
    if isinstance(v, float):
        if not math.isfinite(v) or not _INT64_MIN <= v <= _INT64_MAX:
            raise _CelError("double out of range for int")
        return int(v)
    if isinstance(v, str):
        try:
            return _checked(int(v, 10))
        except ValueError:
            raise _CelError("type conversion error from 'string' to 'int'") from None
    if isinstance(v, datetime.datetime):
        return int(v.timestamp())
    raise _CelError(_NO_OVERLOAD)


def _to_double(v: Any) -> float:
    if _is_num(v):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            raise _CelError("type conversion error from 'string' to 'double'") from None
    raise _CelError(_NO_OVERLOAD)


def _to_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        if v in ("true", "True", "TRUE", "t", "1"):
            return True
        if v in ("false", "False", "FALSE", "f", "0"):
            return False
        raise _CelError("type conversion error from 'string' to 'bool'")
    raise _CelError(_NO_OVERLOAD)


def _size(v: Any) -> int:
    if isinstance(v, (str, bytes, list, dict)):
        return len(v)
    raise _CelError(_NO_OVERLOAD)


def _re_search(s: Any, pattern: Any) -> bool:
    if not isinstance(s, str) or not isinstance(pattern, str):
        raise _CelError(_NO_OVERLOAD)
    rx = _regex(pattern)
    if rx is None:
        raise _CelError(f"invalid regular expression: {pattern}")
    return rx.search(s) is not None


def _strs(*values: Any) -> None:
    for v in values:
        if not isinstance(v, str):
            raise _CelError(_NO_OVERLOAD)


def _f_contains(s: Any, sub: Any) -> bool:
    _strs(s, sub)
    return bool(sub in s)


def _f_starts(s: Any, prefix: Any) -> bool:
    _strs(s, prefix)
    return bool(s.startswith(prefix))


def _f_ends(s: Any, suffix: Any) -> bool:
    _strs(s, suffix)
    return bool(s.endswith(suffix))


def _f_lower(s: Any) -> str:
    _strs(s)
    return "".join(c.lower() if c.isascii() else c for c in s)


def _f_upper(s: Any) -> str:
    _strs(s)
    return "".join(c.upper() if c.isascii() else c for c in s)


def _f_trim(s: Any) -> str:
    _strs(s)
    return str(s).strip()


def _f_split(s: Any, sep: Any, limit: Any = -1) -> list[str]:
    _strs(s, sep)
    n = int(limit)
    if n == 0:
        return []
    if sep == "":
        parts = list(s)
        return parts if n < 0 or n >= len(parts) else [*parts[: n - 1], "".join(parts[n - 1 :])]
    return list(s.split(sep)) if n < 0 else list(s.split(sep, n - 1))


def _f_join(items: Any, sep: Any = "") -> str:
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise _CelError(_NO_OVERLOAD)
    _strs(sep)
    return str(sep).join(items)


def _f_replace(s: Any, old: Any, new: Any, limit: Any = -1) -> str:
    _strs(s, old, new)
    return str(s).replace(old, new, int(limit))


def _f_index_of(target: Any, needle: Any, start: Any = 0) -> int:
    if isinstance(target, str):
        _strs(needle)
        begin = int(start)
        if begin < 0 or begin > len(target):
            raise _CelError(f"index out of range: {begin}")
        return target.find(needle, begin)
    if isinstance(target, list):
        return next((i for i, x in enumerate(target) if _cel_eq(x, needle)), -1)
    raise _CelError(_NO_OVERLOAD)


def _f_last_index_of(target: Any, needle: Any) -> int:
    if isinstance(target, str):
        _strs(needle)
        return target.rfind(needle)
    if isinstance(target, list):
        return next((i for i in range(len(target) - 1, -1, -1) if _cel_eq(target[i], needle)), -1)
    raise _CelError(_NO_OVERLOAD)


def _f_substring(s: Any, start: Any, end: Any = None) -> str:
    _strs(s)
    begin, stop = int(start), len(s) if end is None else int(end)
    if begin < 0 or begin > len(s):
        raise _CelError(f"index out of range: {begin}")
    if stop < begin or stop > len(s):
        raise _CelError(f"index out of range: {stop}")
    return str(s[begin:stop])


def _f_char_at(s: Any, index: Any) -> str:
    _strs(s)
    i = int(index)
    if i < 0 or i > len(s):
        raise _CelError(f"index out of range: {i}")
    return str(s[i : i + 1])


def _f_find(s: Any, pattern: Any) -> str:
    _strs(s, pattern)
    rx = _regex(pattern)
    if rx is None:
        raise _CelError(f"invalid regular expression: {pattern}")
    m = rx.search(s)
    return m.group(0) if m else ""


def _f_find_all(s: Any, pattern: Any, limit: Any = -1) -> list[str]:
    _strs(s, pattern)
    rx = _regex(pattern)
    if rx is None:
        raise _CelError(f"invalid regular expression: {pattern}")
    found = [m.group(0) for m in rx.finditer(s)]
    n = int(limit)
    return found if n < 0 else found[:n]


def _list_arg(items: Any) -> list[Any]:
    if not isinstance(items, list):
        raise _CelError(_NO_OVERLOAD)
    return items


def _f_is_sorted(items: Any) -> bool:
    values = _list_arg(items)
    return all(not _lt(values[i + 1], values[i]) for i in range(len(values) - 1))


def _f_sum(items: Any) -> Any:
    total: Any = 0
    for item in _list_arg(items):
        total = _add(total, item)
    return total


def _f_min(items: Any) -> Any:
    values = _list_arg(items)
    if not values:
        raise _CelError("min(list) argument must not be empty")
    best = values[0]
    for v in values[1:]:
        if _lt(v, best):
            best = v
    return best


def _f_max(items: Any) -> Any:
    values = _list_arg(items)
    if not values:
        raise _CelError("max(list) argument must not be empty")
    best = values[0]
    for v in values[1:]:
        if _lt(best, v):
            best = v
    return best


def _f_has_value(v: Any) -> bool:
    return v is not None


def _f_or_value(v: Any, default: Any) -> Any:
    return default if v is None else v


def _f_value(v: Any) -> Any:
    if v is None:
        raise _CelError("optional.none() dereference")
    return v


def _f_matches(s: Any, pattern: Any) -> bool:
    return _re_search(s, pattern)


def _total_micros(d: datetime.timedelta) -> int:
    return (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // b
    return q if a >= 0 else -q


def _in_zone(t: datetime.datetime, tz: Any) -> datetime.datetime:
    if tz is None:
        return t.astimezone(datetime.UTC)
    if not isinstance(tz, str):
        raise _CelError(_NO_OVERLOAD)
    m = re.fullmatch(r"([+-])(\d{2}):(\d{2})", tz)
    if m:
        offset = datetime.timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        return t.astimezone(datetime.timezone(-offset if m.group(1) == "-" else offset))
    try:
        import zoneinfo

        return t.astimezone(zoneinfo.ZoneInfo(tz))
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise _CelError(f"invalid timezone: {tz}") from None


def _time_part(unit: str) -> Callable[..., int]:
    """``getHours()`` and friends: totals for durations (as cel-go), fields for timestamps."""
    per = {"getHours": 3_600_000_000, "getMinutes": 60_000_000, "getSeconds": 1_000_000, "getMilliseconds": 1000}

    def part(v: Any, tz: Any = None) -> int:
        if isinstance(v, datetime.timedelta):
            if tz is not None or unit not in per:
                raise _CelError(_NO_OVERLOAD)
            return _trunc_div(_total_micros(v), per[unit])
        if not isinstance(v, datetime.datetime):
            raise _CelError(_NO_OVERLOAD)
        t = _in_zone(v, tz)
        if unit == "getFullYear":
            return t.year
        if unit == "getMonth":
            return t.month - 1
        if unit == "getDate":
            return t.day
        if unit == "getDayOfMonth":
            return t.day - 1
        if unit == "getDayOfWeek":
            return (t.weekday() + 1) % 7
        if unit == "getDayOfYear":
            return t.timetuple().tm_yday - 1
        if unit == "getHours":
            return t.hour
        if unit == "getMinutes":
            return t.minute
        if unit == "getSeconds":
            return t.second
        return t.microsecond // 1000

    return part


_TIME_PARTS: Final = (
    "getFullYear",
    "getMonth",
    "getDate",
    "getDayOfMonth",
    "getDayOfWeek",
    "getDayOfYear",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
)


# name -> (function, allowed argument counts including the receiver)
_FAST_FUNCTIONS: Final[dict[str, tuple[Callable[..., Any], tuple[int, ...]]]] = {
    "size": (_size, (1,)),
    "contains": (_f_contains, (2,)),
    "startsWith": (_f_starts, (2,)),
    "endsWith": (_f_ends, (2,)),
    "matches": (_f_matches, (2,)),
    "lowerAscii": (_f_lower, (1,)),
    "upperAscii": (_f_upper, (1,)),
    "trim": (_f_trim, (1,)),
    "split": (_f_split, (2, 3)),
    "join": (_f_join, (1, 2)),
    "replace": (_f_replace, (3, 4)),
    "indexOf": (_f_index_of, (2, 3)),
    "lastIndexOf": (_f_last_index_of, (2,)),
    "substring": (_f_substring, (2, 3)),
    "charAt": (_f_char_at, (2,)),
    "find": (_f_find, (2,)),
    "findAll": (_f_find_all, (2, 3)),
    "isSorted": (_f_is_sorted, (1,)),
    "sum": (_f_sum, (1,)),
    "min": (_f_min, (1,)),
    "max": (_f_max, (1,)),
    "hasValue": (_f_has_value, (1,)),
    "orValue": (_f_or_value, (2,)),
    "value": (_f_value, (1,)),
    "string": (_to_string, (1,)),
    "int": (_to_int, (1,)),
    "double": (_to_double, (1,)),
    "bool": (_to_bool, (1,)),
    "duration": (_duration, (1,)),
    "timestamp": (_timestamp, (1,)),
    "dyn": (lambda v: v, (1,)),
    **{name: (_time_part(name), (1, 2)) for name in _TIME_PARTS},
}
_MACROS: Final = frozenset({"all", "exists", "exists_one", "map", "filter"})
_GLOBAL_ONLY: Final = frozenset({"string", "int", "double", "bool", "duration", "timestamp", "dyn"})


def _kids(node: Any) -> list[Any]:
    return [c for c in node.children if c is not None]


def _fast_compile(text: str) -> _Fn:
    """Compile CEL text to a closure over an activation dict; raises _Unsupported or a parse error."""
    from celpy.celparser import CELParser

    if not _PARSER:
        _PARSER.append(CELParser())
    return _c(_PARSER[0].parse(text))


_PARSER: list[Any] = []


def _const(value: Any) -> _Fn:
    return lambda env: value


def _c(node: Any) -> _Fn:
    kind = node.data
    kids = _kids(node)
    if kind == "expr":
        if len(kids) == 1:
            return _c(kids[0])
        cond, yes, no = (_c(k) for k in kids)

        def ternary(env: dict[str, Any]) -> Any:
            c = cond(env)
            if not isinstance(c, bool):
                raise _CelError(_NO_OVERLOAD)
            return yes(env) if c else no(env)

        return ternary
    if kind == "conditionalor":
        if len(kids) == 1:
            return _c(kids[0])
        return _logic(_c(kids[0]), _c(kids[1]), absorbing=True)
    if kind == "conditionaland":
        if len(kids) == 1:
            return _c(kids[0])
        return _logic(_c(kids[0]), _c(kids[1]), absorbing=False)
    if kind in ("relation", "addition", "multiplication"):
        if len(kids) == 1:
            return _c(kids[0])
        op_node, right_node = kids
        return _binary(op_node.data, _c(_kids(op_node)[0]), _c(right_node))
    if kind == "unary":
        if len(kids) == 1:
            return _c(kids[0])
        operand = _c(kids[1])
        if kids[0].data == "unary_not":
            return lambda env: _not(operand(env))
        return lambda env: _neg(operand(env))
    if kind in ("member", "primary"):
        return _c(kids[0])
    if kind == "paren_expr":
        return _c(kids[0])
    if kind == "member_dot":
        target, name = _c(kids[0]), str(kids[1])
        return lambda env: _select(target(env), name)
    if kind == "member_index":
        target, index = _c(kids[0]), _c(kids[1])
        return lambda env: _cel_index(target(env), index(env))
    if kind == "member_dot_arg":
        return _member_call(kids)
    if kind == "ident_arg":
        return _global_call(kids)
    if kind == "ident":
        name = str(kids[0])
        if name in ("self", "oldSelf"):

            def variable(env: dict[str, Any]) -> Any:
                return env[name]

            return variable

        def bound(env: dict[str, Any]) -> Any:
            try:
                return env[name]
            except KeyError:
                raise _CelError(f"undeclared reference to '{name}'") from None

        return bound
    if kind == "literal":
        return _const(_literal(kids[0]))
    if kind == "list_lit":
        items = [_c(k) for k in _kids(kids[0])] if kids else []
        return lambda env: [item(env) for item in items]
    if kind == "map_lit":
        pairs = _kids(kids[0]) if kids else []
        keys = [_c(k) for k in pairs[0::2]]
        values = [_c(v) for v in pairs[1::2]]
        return lambda env: {k(env): v(env) for k, v in zip(keys, values, strict=True)}
    raise _Unsupported(kind)


def _literal(token: Any) -> Any:
    from celpy.evaluation import celbytes, celstr

    kind = token.type
    text = str(token)
    if kind == "INT_LIT":
        return _checked(int(text, 10) if "x" not in text.lower() else int(text, 16))
    if kind == "UINT_LIT":
        return int(text[:-1], 10) if "x" not in text.lower() else int(text[:-1], 16)
    if kind == "FLOAT_LIT":
        return float(text)
    if kind in ("STRING_LIT", "MLSTRING_LIT"):
        return str(celstr(token))
    if kind == "BYTES_LIT":
        return bytes(celbytes(token))
    if kind == "BOOL_LIT":
        return text == "true"
    if kind == "NULL_LIT":
        return None
    raise _Unsupported(kind)


def _logic(left: _Fn, right: _Fn, *, absorbing: bool) -> _Fn:
    """``||`` (absorbing=True: true wins) or ``&&`` (false wins), with CEL's commutative errors."""

    def run(env: dict[str, Any]) -> bool:
        error: _CelError | None = None
        try:
            a = left(env)
        except _CelError as exc:
            error, a = exc, None
        if a is absorbing:
            return bool(absorbing)
        try:
            b = right(env)
        except _CelError as exc:
            if error is None:
                error = exc
            b = None
        if b is absorbing:
            return bool(absorbing)
        if error is not None:
            raise error
        if not isinstance(a, bool) or not isinstance(b, bool):
            raise _CelError(_NO_OVERLOAD)
        return not absorbing

    return run


def _binary(op: str, left: _Fn, right: _Fn) -> _Fn:
    if op == "relation_eq":
        return lambda env: _cel_eq(left(env), right(env))
    if op == "relation_ne":
        return lambda env: not _cel_eq(left(env), right(env))
    if op == "relation_lt":
        return lambda env: _lt(left(env), right(env))
    if op == "relation_gt":
        return lambda env: _lt(right(env), left(env))
    if op == "relation_le":
        return lambda env: not _lt(right(env), left(env))
    if op == "relation_ge":
        return lambda env: not _lt(left(env), right(env))
    if op == "relation_in":
        return lambda env: _in(left(env), right(env))
    functions: dict[str, Callable[[Any, Any], Any]] = {
        "addition_add": _add,
        "addition_sub": _sub,
        "multiplication_mul": _mul,
        "multiplication_div": _div,
        "multiplication_mod": _mod,
    }
    fn = functions.get(op)
    if fn is None:
        raise _Unsupported(op)
    return lambda env: fn(left(env), right(env))


def _args(kids: list[Any], at: int) -> list[Any]:
    return _kids(kids[at]) if len(kids) > at else []


def _call(name: str, receiver: _Fn | None, args: list[_Fn]) -> _Fn:
    entry = _FAST_FUNCTIONS.get(name)
    count = len(args) + (receiver is not None)
    if entry is None or count not in entry[1]:
        raise _Unsupported(name)
    fn = entry[0]
    parts = [receiver, *args] if receiver is not None else args

    if len(parts) == 1:
        only = parts[0]
        return lambda env: _guard(fn, only(env))
    if len(parts) == 2:
        first, second = parts
        return lambda env: _guard(fn, first(env), second(env))
    return lambda env: _guard(fn, *(p(env) for p in parts))


def _guard(fn: Callable[..., Any], *values: Any) -> Any:
    try:
        return fn(*values)
    except _CelError:
        raise
    except (TypeError, ValueError, OverflowError, AttributeError):
        raise _CelError(_NO_OVERLOAD) from None


def _global_call(kids: list[Any]) -> _Fn:
    name = str(kids[0])
    args = _args(kids, 1)
    if name == "has":
        if len(args) != 1:
            raise _Unsupported("has")
        return _has(args[0])
    if name in _MACROS:
        raise _Unsupported(name)
    return _call(name, None, [_c(a) for a in args])


def _has(arg: Any) -> _Fn:
    """``has(x.f)``: whether map x has key f (errors in x propagate)."""
    node = arg
    while (
        node.data
        in ("expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication", "unary", "member")
        and len(_kids(node)) == 1
    ):
        node = _kids(node)[0]
    if node.data != "member_dot":
        raise _Unsupported("has() without a field selection")
    target, name = _c(_kids(node)[0]), str(_kids(node)[1])

    def has(env: dict[str, Any]) -> bool:
        value = target(env)
        if isinstance(value, dict):
            return name in value
        if isinstance(value, list):
            raise _CelError(_NO_OVERLOAD)
        return False  # cel-go: null and scalars have no fields (`has(oldObject.spec)` on create)

    return has


def _ident_name(node: Any) -> str | None:
    while (
        node.data
        in (
            "expr",
            "conditionalor",
            "conditionaland",
            "relation",
            "addition",
            "multiplication",
            "unary",
            "member",
            "primary",
        )
        and len(_kids(node)) == 1
    ):
        node = _kids(node)[0]
    if node.data == "ident":
        return str(_kids(node)[0])
    return None


def _member_call(kids: list[Any]) -> _Fn:
    target = _c(kids[0])
    name = str(kids[1])
    args = _args(kids, 2)
    if name in _MACROS:
        var = _ident_name(args[0]) if args else None
        if var is None or len(args) not in ((3,) if name == "map" and len(args) == 3 else (2, 3)):
            raise _Unsupported(name)
        return _macro(name, target, var, [_c(a) for a in args[1:]])
    if name in _GLOBAL_ONLY:
        raise _Unsupported(name)
    return _call(name, target, [_c(a) for a in args])


def _macro(name: str, target: _Fn, var: str, bodies: list[_Fn]) -> _Fn:
    if name != "map" and len(bodies) != 1:
        raise _Unsupported(name)

    def items(env: dict[str, Any]) -> list[Any]:
        value = target(env)
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            return list(value)
        raise _CelError(_NO_OVERLOAD)

    body = bodies[0]

    def predicate(env: dict[str, Any], item: Any) -> Any:
        scope = dict(env)
        scope[var] = item
        return body(scope)

    if name in ("all", "exists"):
        decisive = name == "exists"

        def quantifier(env: dict[str, Any]) -> bool:
            error: _CelError | None = None
            for item in items(env):
                try:
                    result = predicate(env, item)
                except _CelError as exc:
                    error = error or exc
                    continue
                if not isinstance(result, bool):
                    error = error or _CelError(_NO_OVERLOAD)
                elif result is decisive:
                    return decisive
            if error is not None:
                raise error
            return not decisive

        return quantifier
    if name == "exists_one":

        def exists_one(env: dict[str, Any]) -> bool:
            count = 0
            for item in items(env):
                result = predicate(env, item)
                if not isinstance(result, bool):
                    raise _CelError(_NO_OVERLOAD)
                count += result
            return count == 1

        return exists_one
    if name == "filter":

        def filter_(env: dict[str, Any]) -> list[Any]:
            out = []
            for item in items(env):
                result = predicate(env, item)
                if not isinstance(result, bool):
                    raise _CelError(_NO_OVERLOAD)
                if result:
                    out.append(item)
            return out

        return filter_
    if len(bodies) == 1:
        return lambda env: [predicate(env, item) for item in items(env)]
    keep, transform = bodies

    def map_filter(env: dict[str, Any]) -> list[Any]:
        out = []
        for item in items(env):
            scope = dict(env)
            scope[var] = item
            ok = keep(scope)
            if not isinstance(ok, bool):
                raise _CelError(_NO_OVERLOAD)
            if ok:
                out.append(transform(scope))
        return out

    return map_filter


# --- the CEL engine: cel-python programs, compiled once per rule text -------------------------------


def _cel_error(message: str) -> Exception:
    from celpy.evaluation import CELEvalError

    return CELEvalError(message)


def _s(value: Any) -> Any:
    return celtypes.StringType(value)


def _lower_ascii(s: Any) -> Any:
    return _s("".join(c.lower() if c.isascii() else c for c in s))


def _upper_ascii(s: Any) -> Any:
    return _s("".join(c.upper() if c.isascii() else c for c in s))


def _split(s: Any, sep: Any, limit: Any = None) -> Any:
    if limit is None or int(limit) < 0:
        parts = str(s).split(str(sep)) if sep != "" else list(str(s))
    elif int(limit) == 0:
        parts = []
    else:
        parts = str(s).split(str(sep), int(limit) - 1)
    return celtypes.ListType([_s(p) for p in parts])


def _join(items: Any, sep: Any = "") -> Any:
    return _s(str(sep).join(str(i) for i in items))


def _replace(s: Any, old: Any, new: Any, limit: Any = None) -> Any:
    count = -1 if limit is None else int(limit)
    return _s(str(s).replace(str(old), str(new), count))


def _index_of(target: Any, needle: Any, start: Any = None) -> Any:
    if isinstance(target, str):
        return celtypes.IntType(target.find(needle, int(start or 0)))
    for i, item in enumerate(target):
        if item == needle:
            return celtypes.IntType(i)
    return celtypes.IntType(-1)


def _last_index_of(target: Any, needle: Any) -> Any:
    if isinstance(target, str):
        return celtypes.IntType(target.rfind(needle))
    for i in range(len(target) - 1, -1, -1):
        if target[i] == needle:
            return celtypes.IntType(i)
    return celtypes.IntType(-1)


def _substring(s: Any, start: Any, end: Any = None) -> Any:
    text = str(s)
    begin, stop = int(start), len(text) if end is None else int(end)
    if begin < 0 or stop > len(text) or begin > stop:
        return _cel_error(f"index out of range: {begin if begin < 0 or begin > stop else stop}")
    return _s(text[begin:stop])


def _char_at(s: Any, index: Any) -> Any:
    text, i = str(s), int(index)
    if i < 0 or i > len(text):
        return _cel_error(f"index out of range: {i}")
    return _s(text[i : i + 1])


def _trim(s: Any) -> Any:
    return _s(str(s).strip())


def _find(s: Any, pattern: Any) -> Any:
    m = re.search(str(pattern), str(s))
    return _s(m.group(0) if m else "")


def _find_all(s: Any, pattern: Any, limit: Any = None) -> Any:
    found = [m.group(0) for m in re.finditer(str(pattern), str(s))]
    if limit is not None and int(limit) >= 0:
        found = found[: int(limit)]
    return celtypes.ListType([_s(f) for f in found])


def _is_sorted(items: Any) -> Any:
    return celtypes.BoolType(all(items[i] <= items[i + 1] for i in range(len(items) - 1)))


def _sum(items: Any) -> Any:
    if not items:
        return celtypes.IntType(0)
    total = items[0]
    for item in items[1:]:
        total = total + item
    return total


def _min(items: Any) -> Any:
    if not items:
        return _cel_error("min called on empty list")
    return min(items)


def _max(items: Any) -> Any:
    if not items:
        return _cel_error("max called on empty list")
    return max(items)


def _has_value(value: Any) -> Any:
    return celtypes.BoolType(value is not None)


def _or_value(value: Any, default: Any) -> Any:
    return default if value is None else value


def _value(value: Any) -> Any:
    if value is None:
        return _cel_error("optional.none() dereference")
    return value


_CEL_FUNCTIONS: Final[dict[str, Callable[..., Any]]] = {
    "lowerAscii": _lower_ascii,
    "upperAscii": _upper_ascii,
    "split": _split,
    "join": _join,
    "replace": _replace,
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "substring": _substring,
    "charAt": _char_at,
    "trim": _trim,
    "find": _find,
    "findAll": _find_all,
    "isSorted": _is_sorted,
    "sum": _sum,
    "min": _min,
    "max": _max,
    "hasValue": _has_value,
    "orValue": _or_value,
    "value": _value,
}

_ENVIRONMENT: list[Any] = []
_PROGRAMS: dict[str, Any] = {}


@dataclass(frozen=True)
class _Compiled:
    """A rule compiled by the fast evaluator, or else (``fast`` is None) by cel-python."""

    fast: _Fn | None
    slow: Any


def _compile(text: str, *, allow_fast: bool = True) -> _Compiled | str:
    """Compile CEL text: fast closures when possible, cel-python's interpreter otherwise; a string
    is the compile error."""
    fast: _Fn | None = None
    if allow_fast:
        try:
            fast = _fast_compile(text)
        except (_Unsupported, _CelError, RecursionError):
            fast = None
        except Exception as exc:  # a syntax error from the parser
            return f"compilation failed: {' '.join(str(exc).split())}"
        else:
            return _Compiled(fast, None)
    if not _ENVIRONMENT:
        _ENVIRONMENT.append(celpy.Environment())
    env = _ENVIRONMENT[0]
    try:
        return _Compiled(None, env.program(env.compile(text), functions=_CEL_FUNCTIONS))
    except Exception as exc:  # CELParseError and lark errors
        return f"compilation failed: {' '.join(str(exc).split())}"


def _program(text: str) -> _Compiled | str:
    """The compiled program for a rule or message expression (cached by text: every write
    re-validates, and compiling is the slow part), or its compile error."""
    cached = _PROGRAMS.get(text)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    compiled = _compile(text)
    if len(_PROGRAMS) > 4096:
        _PROGRAMS.clear()
    _PROGRAMS[text] = compiled
    return compiled


class _Bindings:
    """``self`` and ``oldSelf`` for one schema node, converted on first use for either engine."""

    __slots__ = ("_celpy", "_plain", "old", "schema", "value")

    def __init__(self, value: JSON, old: JSON, schema: dict[str, Any]) -> None:
        self.value = value
        self.old = old
        self.schema = schema
        self._plain: dict[str, Any] | None = None
        self._celpy: dict[str, Any] | None = None

    def plain(self) -> dict[str, Any]:
        if self._plain is None:
            old = None if self.old is _MISSING else _to_plain(self.old, self.schema)
            self._plain = {"self": _to_plain(self.value, self.schema), "oldSelf": old}
        return self._plain

    def celpy(self) -> dict[str, Any]:
        if self._celpy is None:
            old = None if self.old is _MISSING else _to_cel(self.old, self.schema)
            self._celpy = {"self": _to_cel(self.value, self.schema), "oldSelf": old}
        return self._celpy


_NO_SUCH_MEMBER_RE: Final = re.compile(r"no such member in mapping: '?(.*?)'?$")


def _error_text(exc: BaseException) -> str:
    raw = str(exc.args[0]) if exc.args else type(exc).__name__
    m = _NO_SUCH_MEMBER_RE.match(raw)
    if m:
        return f"no such key: {m.group(1)}"
    if raw.startswith(("found no matching overload", "no such overload")):
        return _NO_OVERLOAD
    return raw


def _run(text: str, bindings: _Bindings) -> tuple[Any, str | None]:
    """(result, None) or (None, error message) for one expression."""
    program = _program(text)
    if isinstance(program, str):
        return None, program
    if program.fast is not None:
        try:
            return program.fast(bindings.plain()), None
        except _CelError as exc:
            return None, str(exc)
        except RecursionError:
            return None, "expression too deeply nested"
    try:
        result = program.slow.evaluate(bindings.celpy())
    except Exception as exc:  # CELEvalError, or a Python error from a library function
        return None, _error_text(exc)
    if isinstance(result, Exception):
        return None, _error_text(result)
    return result, None


def _run_rule(text: str, bindings: _Bindings) -> tuple[bool, str | None]:
    """(passed, evaluation error) for one rule; a non-boolean result counts as a failure."""
    result, error = _run(text, bindings)
    if error is not None:
        return False, error
    return (isinstance(result, (bool, celtypes.BoolType)) and bool(result)), None


def _run_message(text: str, bindings: _Bindings) -> str | None:
    result, error = _run(text, bindings)
    if error is not None or not isinstance(result, str):
        return None
    return str(result).strip() or None


# --- CEL for callers other than schemas (the embedded server's admission policies) -----------------

CelError = _CelError
"""A CEL evaluation error raised by a library function or a `LazyMap` entry; its text is what kube
reports (``no such key: x``, ``no such overload``...)."""


class LazyMap(dict[str, Any]):
    """A CEL map whose entries are computed on first use by ``compute(name)`` (which returns the value
    or raises `CelError`, remembered either way): a ValidatingAdmissionPolicy's ``variables``. ``has()``
    and ``in`` see every name, computed or not."""

    def __init__(self, names: Iterable[str], compute: Callable[[str], Any]) -> None:
        super().__init__()
        self.names: Final = tuple(names)
        self._compute = compute
        self._errors: dict[str, _CelError] = {}

    def __missing__(self, key: str) -> Any:
        if key not in self.names:
            raise KeyError(key)
        if key in self._errors:
            raise self._errors[key]
        try:
            value = self._compute(key)
        except _CelError as exc:
            self._errors[key] = exc
            raise
        self[key] = value
        return value

    def __contains__(self, key: object) -> bool:
        return key in self.names


def register_functions(functions: Mapping[str, Callable[..., Any]]) -> None:
    """Add the functions of another Kubernetes CEL library (the admission authorizer's ``group``,
    ``resource``, ``check``, ``allowed``...) to both evaluators: ``x.f(a)`` calls ``functions["f"](x, a)``
    with plain values, which returns a plain value or an opaque library object, or raises `CelError`."""
    for name, fn in functions.items():
        _FAST_FUNCTIONS[name] = (fn, (1, 2, 3, 4))
        _CEL_FUNCTIONS[name] = _celpy_function(fn)
    _PROGRAMS.clear()


def _celpy_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        try:
            return _to_celpy(fn(*(_from_celpy(a) for a in args)))
        except _CelError as exc:
            return _cel_error(str(exc))

    return call


def compile_error(text: str) -> str | None:
    """Why CEL ``text`` does not compile (``compilation failed: ...``), or None. Syntax only: nothing is
    type-checked."""
    program = _program(text)
    return program if isinstance(program, str) else None


def evaluate(text: str, activation: Mapping[str, Any]) -> tuple[Any, str | None]:
    """``(result, None)`` or ``(None, error)`` for CEL ``text`` over ``activation`` (plain JSON values,
    `LazyMap`s and library objects), with the engine and library functions CRD rules use. The result is
    a plain value (bool, str, int, float, None, list, dict, datetime, timedelta, bytes)."""
    program = _program(text)
    if isinstance(program, str):
        return None, program
    if program.fast is not None:
        try:
            return program.fast(dict(activation)), None
        except _CelError as exc:
            return None, str(exc)
        except RecursionError:
            return None, "expression too deeply nested"
    try:
        result = program.slow.evaluate({name: _to_celpy(value) for name, value in activation.items()})
    except Exception as exc:  # CELEvalError, or a Python error from a library function
        return None, _error_text(exc)
    if isinstance(result, Exception):
        return None, _error_text(result)
    return _from_celpy(result), None


class _LazyCelMap(celtypes.MapType):
    """A `LazyMap` as cel-python sees it: entries converted on first use, errors as error values."""

    def __init__(self, source: LazyMap) -> None:
        super().__init__()
        self._source = source

    def __missing__(self, key: Any) -> Any:
        if str(key) not in self._source.names:
            raise KeyError(key)
        try:
            value = _to_celpy(self._source[str(key)])
        except _CelError as exc:
            value = _cel_error(str(exc))
        self[key] = value
        return value

    def __contains__(self, key: object) -> bool:
        return str(key) in self._source.names


def _to_celpy(value: Any) -> Any:
    """A plain value as a cel-python value; library objects (and their dict subclasses) pass as they are."""
    if isinstance(value, LazyMap):
        return _LazyCelMap(value)
    if type(value) is dict:
        return celtypes.MapType({_to_celpy(k): _to_celpy(v) for k, v in value.items()})
    if type(value) is list:
        return celtypes.ListType([_to_celpy(v) for v in value])
    if value is None or isinstance(value, (bool, str, int, float)):
        return _to_cel(value, {})
    if isinstance(value, datetime.datetime):
        return celtypes.TimestampType(value)
    if isinstance(value, datetime.timedelta):
        return celtypes.DurationType(value)
    if isinstance(value, bytes):
        return celtypes.BytesType(value)
    return value


def _from_celpy(value: Any) -> Any:
    """A cel-python value as a plain value (the inverse of `_to_celpy`)."""
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, (celtypes.IntType, celtypes.UintType)):
        return int(value)
    if isinstance(value, celtypes.DoubleType):
        return float(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, celtypes.BytesType):
        return bytes(value)
    if isinstance(value, celtypes.TimestampType):
        return datetime.datetime.fromtimestamp(value.timestamp(), datetime.UTC)
    if isinstance(value, celtypes.DurationType):
        return datetime.timedelta(seconds=value.total_seconds())
    if isinstance(value, _LazyCelMap):
        return value._source
    if isinstance(value, celtypes.MapType):
        return {_from_celpy(k): _from_celpy(v) for k, v in value.items()}
    if isinstance(value, celtypes.ListType):
        return [_from_celpy(v) for v in value]
    return value


_PLAIN_NEEDED: dict[int, tuple[dict[str, Any], bool]] = {}


def _needs_plain_conversion(schema: dict[str, Any]) -> bool:
    """Whether values under this schema node need converting for the fast evaluator (numbers to
    float, date-time to datetime, duration to timedelta, byte to bytes). Cached per schema object
    (the cache holds the schema, so its id cannot be reused)."""
    cached = _PLAIN_NEEDED.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    needed = schema.get("type") == "number" or schema.get("format") in ("date-time", "date", "duration", "byte")
    if not needed:
        subs: list[Any] = list((schema.get("properties") or {}).values())
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                subs.append(schema[key])
        needed = any(isinstance(sub, dict) and _needs_plain_conversion(sub) for sub in subs)
    if len(_PLAIN_NEEDED) > 65536:
        _PLAIN_NEEDED.clear()
    _PLAIN_NEEDED[id(schema)] = (schema, needed)
    return needed


def _to_plain(value: JSON, schema: dict[str, Any]) -> Any:
    """A JSON value typed for the fast evaluator as kube types it for CEL (see `_to_cel`)."""
    if not _needs_plain_conversion(schema):
        return value
    if isinstance(value, str):
        fmt = schema.get("format")
        if fmt == "date-time":
            return _parse_rfc3339(value) or value
        if fmt == "date" and _DATE_RE.fullmatch(value):
            return _parse_rfc3339(f"{value}T00:00:00Z") or value
        if fmt == "duration":
            try:
                return parse_go_duration(value)
            except ValueError:
                return value
        if fmt == "byte":
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return value
        return value
    if _is_int(value) and schema.get("type") == "number":
        return float(value)
    if isinstance(value, list):
        items = schema.get("items")
        sub = items if isinstance(items, dict) else {}
        return [_to_plain(v, sub) for v in value]
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        fallback = additional if isinstance(additional, dict) else {}
        return {k: _to_plain(v, props.get(k, fallback)) for k, v in value.items()}
    return value


def _check_rule(rule: Any) -> list[str]:
    """Compile problems of one x-kubernetes-validations entry (the rule and its messageExpression)."""
    if not isinstance(rule, dict) or not isinstance(rule.get("rule"), str) or not rule["rule"].strip():
        return ["Required value: rule is not specified"]
    problems = []
    program = _program(rule["rule"])
    if isinstance(program, str):
        problems.append(f"Invalid value: {_go_quote(rule['rule'])}: {program}")
    expression = rule.get("messageExpression")
    if isinstance(expression, str) and expression:
        compiled = _program(expression)
        if isinstance(compiled, str):
            problems.append(f"Invalid value: {_go_quote(expression)}: messageExpression {compiled}")
    reason = rule.get("reason")
    if reason is not None and reason not in _RULE_REASONS:
        supported = ", ".join(_go_quote(r) for r in sorted(_RULE_REASONS))
        problems.append(f"Unsupported value: {_go_value(reason)}: supported values: {supported}")
    return problems


def _to_cel(value: JSON, schema: dict[str, Any]) -> Any:
    """A JSON value as a CEL value, typed by its schema as kube does: ``number`` is double,
    ``format: date-time``/``date`` strings are timestamps, ``format: duration`` strings durations."""
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, str):
        fmt = schema.get("format")
        if fmt is not None:
            try:
                if fmt in ("date-time", "date"):
                    return celtypes.TimestampType(value if fmt == "date-time" else f"{value}T00:00:00Z")
                if fmt == "duration":
                    return celtypes.DurationType(value)
            except Exception:  # not parseable: leave it a string, as a type error was reported already
                return celtypes.StringType(value)
        return celtypes.StringType(value)
    if isinstance(value, int):
        if schema.get("type") == "number" or not -(2**63) <= value < 2**63:
            return celtypes.DoubleType(value)
        return celtypes.IntType(value)
    if isinstance(value, float):
        if schema.get("type") == "integer" and value.is_integer():
            return celtypes.IntType(int(value))
        return celtypes.DoubleType(value)
    if isinstance(value, list):
        items = schema.get("items")
        sub = items if isinstance(items, dict) else {}
        return celtypes.ListType([_to_cel(v, sub) for v in value])
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        fallback = additional if isinstance(additional, dict) else {}
        return celtypes.MapType({celtypes.StringType(k): _to_cel(v, props.get(k, fallback)) for k, v in value.items()})
    return value


def _rule_error_string(rule: dict[str, Any]) -> str:
    message = rule.get("message")
    if isinstance(message, str) and message.strip():
        return message.strip()
    return f"failed rule: {str(rule.get('rule', '')).strip()}"


_FIELD_PATH_RE: Final = re.compile(r"\.([A-Za-z0-9_$-]+)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*(\d+)\s*\]")


def _join_field_path(path: str, field_path: str) -> str:
    """Append a rule's fieldPath (``.a.b``, ``['x.y']``, ``[0]``) to the node path, kube-style."""
    out = path
    pos = 0
    for m in _FIELD_PATH_RE.finditer(field_path):
        if m.start() != pos:
            return f"{path}{field_path}" if field_path.startswith((".", "[")) else _child(path, field_path)
        pos = m.end()
        if m.group(1) is not None:
            out = _child(out, m.group(1))
        elif m.group(2) is not None:
            out = f"{out}[{m.group(2)}]"
        else:
            out = _index(out, int(m.group(3)))
    if pos != len(field_path):
        return _child(path, field_path.lstrip("."))
    return out


# ---------------------------------------------------------------------------------------------------
# structural sanity check


def check_structural(schema: dict[str, Any]) -> list[str]:
    """A minimal sanity check of a CRD ``openAPIV3Schema``, run when a CRD is created or updated.

    Reports nodes with properties/items but no type, unknown types, non-dict subschemas, bad
    regular expressions, defaults that are not valid against their own node, CEL rules that do not
    compile and, in an otherwise sound schema, CEL rules over kube's cost budget (celcost). Returns
    messages in kube's ``<path>: <problem>`` style (empty when acceptable).
    """
    errors: list[str] = []
    _check_node(schema, "openAPIV3Schema", errors, root=True)
    if all(".x-kubernetes-validations[" in error for error in errors):  # kube costs rules of sound schemas only
        errors.extend(celcost.budget_problems(schema))
    return errors


_TYPES: Final = frozenset({"object", "array", "string", "integer", "number", "boolean"})


_COUNTS: Final = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties")
_BOUNDS: Final = ("minimum", "maximum", "multipleOf")
_FLAGS: Final = (
    "nullable",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "uniqueItems",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "x-kubernetes-embedded-resource",
)


def _check_keywords(schema: dict[str, Any], path: str, errors: list[str]) -> None:
    """Keyword value types, so that validation never trips over a malformed schema."""
    for key in _COUNTS:
        value = schema.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            errors.append(f"{path}.{key}: Invalid value: {_go_value(value)}: must be a non-negative integer")
    for key in _BOUNDS:
        value = schema.get(key)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            errors.append(f"{path}.{key}: Invalid value: {_go_value(value)}: must be a number")
    for key in _FLAGS:
        value = schema.get(key)
        if value is not None and not isinstance(value, bool):
            errors.append(f"{path}.{key}: Invalid value: {_go_value(value)}: must be a boolean")
    for key in ("type", "format", "pattern", "x-kubernetes-list-type"):
        value = schema.get(key)
        if value is not None and not isinstance(value, str):
            errors.append(f"{path}.{key}: Invalid value: {_go_value(value)}: must be a string")
    for key in ("required", "x-kubernetes-list-map-keys"):
        value = schema.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            errors.append(f"{path}.{key}: Invalid value: {_go_value(value)}: must be a list of strings")
    enum = schema.get("enum")
    if enum is not None and not isinstance(enum, list):
        errors.append(f"{path}.enum: Invalid value: {_go_value(enum)}: must be a list")
    list_type = schema.get("x-kubernetes-list-type")
    if list_type is not None and list_type not in ("atomic", "set", "map"):
        errors.append(
            f'{path}.x-kubernetes-list-type: Unsupported value: {_go_value(list_type)}: supported values: "atomic", '
            '"map", "set"'
        )
    if list_type == "map" and not schema.get("x-kubernetes-list-map-keys"):
        errors.append(
            f"{path}.x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map"
        )
    for key in ("not", "additionalProperties"):
        value = schema.get(key)
        if value is not None and not isinstance(value, (dict, bool)):
            errors.append(f"{path}.{key}: Invalid value: {_go_value(value)}: must be an object")


def _check_node(schema: Any, path: str, errors: list[str], *, root: bool = False) -> None:
    if not isinstance(schema, dict):
        errors.append(f"{path}: Invalid value: {_go_value(schema)}: must be an object")
        return
    typ = schema.get("type")
    special = schema.get("x-kubernetes-int-or-string") or schema.get("x-kubernetes-preserve-unknown-fields")
    if typ is not None and typ not in _TYPES:
        errors.append(
            f'{path}.type: Unsupported value: {_go_value(typ)}: supported values: "array", "boolean", '
            '"integer", "number", "object", "string"'
        )
    if root and typ != "object":
        errors.append(f"{path}.type: Invalid value: {_go_value(typ or '')}: must be object at the root")
    if not typ and not special and ("properties" in schema or "additionalProperties" in schema):
        errors.append(f"{path}.type: Required value: must not be empty for specified object fields")
    if not typ and not special and "items" in schema:
        errors.append(f"{path}.type: Required value: must not be empty for specified array items")
    if typ == "array" and not isinstance(schema.get("items"), dict):
        errors.append(f"{path}.items: Required value: must be specified")
    if "properties" in schema and isinstance(schema.get("additionalProperties"), dict):
        errors.append(
            f"{path}.additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive"
        )
    pattern = schema.get("pattern")
    if pattern is not None and (not isinstance(pattern, str) or _regex(pattern) is None):
        errors.append(f"{path}.pattern: Invalid value: {_go_value(pattern)}: must be a valid regular expression")
    _check_keywords(schema, path, errors)
    props = schema.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            errors.append(f"{path}.properties: Invalid value: {_go_value(props)}: must be an object")
        else:
            for key, sub in props.items():
                _check_node(sub, f"{path}.properties[{key}]", errors)
    items = schema.get("items")
    if items is not None:
        _check_node(items, f"{path}.items", errors)
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        _check_node(additional, f"{path}.additionalProperties", errors)
    for comb in ("allOf", "anyOf", "oneOf"):
        subs = schema.get(comb)
        if subs is not None:
            if not isinstance(subs, list):
                errors.append(f"{path}.{comb}: Invalid value: {_go_value(subs)}: must be a list")
                continue
            for i, sub in enumerate(subs):
                if not isinstance(sub, dict):
                    errors.append(f"{path}.{comb}[{i}]: Invalid value: {_go_value(sub)}: must be an object")
    if "default" in schema and isinstance(schema, dict):
        default = _deepcopy(schema["default"])
        if isinstance(default, dict):
            _prune_object(default, schema, "", [], keep=frozenset())
        bad: list[Cause] = []
        try:
            _validate_node(default, schema, "default", bad, _MISSING, cel=False)
        except (TypeError, ValueError, AttributeError):
            bad = []  # a malformed keyword, reported above; the default cannot be judged
        for cause in bad:
            errors.append(f"{path}.{cause.field}: {cause.message}")
    rules = schema.get("x-kubernetes-validations")
    if rules is not None:
        if not isinstance(rules, list):
            errors.append(f"{path}.x-kubernetes-validations: Invalid value: {_go_value(rules)}: must be a list")
        else:
            for i, rule in enumerate(rules):
                for problem in _check_rule(rule):
                    errors.append(f"{path}.x-kubernetes-validations[{i}].rule: {problem}")
