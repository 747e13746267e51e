"""Structural OpenAPI v3 schema handling for CRD ``openAPIV3Schema``, as kube-apiserver applies it to
custom resources: pruning of unknown fields (`prune`), structural defaulting (`apply_defaults`),
validation with Kubernetes-style field causes (`validate`, including CEL ``x-kubernetes-validations``
evaluated with cel-python) and a small sanity check for schemas in new CRDs (`check_structural`).
The embedded API server (issuer.testing) calls these in kube's order on every write: prune, default,
validate. Everything here is pure: plain dicts in, plain values out, no I/O. Not modelled: validation
ratcheting, CEL cost limits, and the full structural-schema rules of apiextensions (only a sanity subset).
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import celpy
from celpy import celtypes

__all__ = ["Cause", "apply_defaults", "check_structural", "prune", "validate"]


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

_DATE_TIME_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_DATE_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UUID_RE: Final = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


def _valid_date_time(s: str) -> bool:
    m = _DATE_TIME_RE.match(s)
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
    "date": lambda s: bool(_DATE_RE.match(s)),
    "byte": _valid_b64,
    "uuid": lambda s: bool(_UUID_RE.match(s)),
    "ipv4": lambda s: _valid_ip(s, 4),
    "ipv6": lambda s: _valid_ip(s, 6),
    "cidr": _valid_cidr,
}


@functools.lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
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


def validate(obj: dict[str, Any], schema: dict[str, Any], old: dict[str, Any] | None = None) -> list[Cause]:
    """Validate ``obj`` against a structural schema and return the causes of a 422 (empty if valid).

    Checks type (integer vs number, ``x-kubernetes-int-or-string``, ``nullable``), required, enum,
    properties, items, additionalProperties, pattern, minimum/maximum (and exclusive), min/maxLength,
    min/maxItems, min/maxProperties, formats (date-time, date, byte, uuid, ipv4, ipv6, cidr),
    ``x-kubernetes-list-type`` set/map uniqueness, oneOf/anyOf/allOf/not, and CEL
    ``x-kubernetes-validations``. ``old`` is the stored object on updates: it binds ``oldSelf`` for
    transition rules (rules that use ``oldSelf`` are skipped on create unless ``optionalOldSelf``).
    Messages follow kube-apiserver's wording. apiVersion/kind/metadata at the root are not checked
    here (the server validates ObjectMeta itself).
    """
    causes: list[Cause] = []
    _validate_node(obj, schema, "", causes, _MISSING if old is None else old, root=True)
    return causes


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
            _type_error(value, typ or "integer-or-string", path, causes)
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
    if enum is not None and not any(_json_equal(value, e) for e in enum):
        supported = ", ".join(_go_quote(e) if isinstance(e, str) else json.dumps(e) for e in enum)
        causes.append(
            Cause(NOT_SUPPORTED, f"Unsupported value: {_go_value(value)}: supported values: {supported}", path)
        )

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

    if cel and schema.get("x-kubernetes-validations"):
        _cel_hook(value, schema, path, causes, old)


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
    required = schema.get("required")
    if required:
        for key in required:
            if key not in value:
                causes.append(Cause(REQUIRED, "Required value", _child(path, key)))
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


def _cel_hook(value: JSON, schema: dict[str, Any], path: str, causes: list[Cause], old: JSON) -> None:
    """Evaluate the node's x-kubernetes-validations rules (after its structural checks passed)."""
    type_name = schema.get("type") or ""
    self_value: Any = _MISSING
    old_value: Any = _MISSING
    for rule in schema.get("x-kubernetes-validations") or ():
        text = rule.get("rule")
        if not isinstance(text, str):
            continue
        transition = bool(_OLD_SELF_RE.search(text))
        optional_old = bool(rule.get("optionalOldSelf"))
        if transition and old is _MISSING and not optional_old:
            continue
        if self_value is _MISSING:
            self_value = _to_cel(value, schema)
        activation: dict[str, Any] = {"self": self_value}
        if transition:
            if old is _MISSING:
                activation["oldSelf"] = None
            else:
                if old_value is _MISSING:
                    old_value = _to_cel(old, schema)
                activation["oldSelf"] = old_value
        ok, error = _run_rule(text, activation)
        if ok:
            continue
        field = path
        field_path = rule.get("fieldPath")
        if isinstance(field_path, str) and field_path:
            field = _join_field_path(path, field_path)
        message = _rule_error_string(rule)
        if error is not None:
            if error.startswith("no such overload"):
                detail = (
                    f"'{error}': call arguments did not match a supported operator, function or macro "
                    f"signature for rule: {message}"
                )
            else:
                detail = f"{error} evaluating rule: {message}"
            causes.append(Cause(INVALID, f"Invalid value: {_go_quote(type_name)}: {detail}", field))
            continue
        expression = rule.get("messageExpression")
        if isinstance(expression, str) and expression:
            computed = _run_message(expression, activation)
            if computed:
                message = computed
        reason = rule.get("reason") if rule.get("reason") in _RULE_REASONS else INVALID
        if reason == FORBIDDEN:
            body = f"Forbidden: {message}"
        elif reason == REQUIRED:
            body = f"Required value: {message}"
        elif reason == DUPLICATE:
            body = f"Duplicate value: {_go_quote(type_name)}"
        else:
            body = f"Invalid value: {_go_quote(type_name)}: {message}"
        causes.append(Cause(reason, body, field))


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


def _program(text: str) -> Any:
    """The compiled program for a rule or message expression, or the compile error as a string.
    Cached by text: every write re-validates, compiling is the slow part."""
    cached = _PROGRAMS.get(text)
    if cached is not None:
        return cached
    if not _ENVIRONMENT:
        _ENVIRONMENT.append(celpy.Environment())
    env = _ENVIRONMENT[0]
    try:
        compiled: Any = env.program(env.compile(text), functions=_CEL_FUNCTIONS)
    except Exception as exc:  # CELParseError and lark errors
        compiled = f"compilation failed: {' '.join(str(exc).split())}"
    if len(_PROGRAMS) > 4096:
        _PROGRAMS.clear()
    _PROGRAMS[text] = compiled
    return compiled


_NO_SUCH_MEMBER_RE: Final = re.compile(r"no such member in mapping: '?(.*?)'?$")


def _error_text(exc: BaseException) -> str:
    raw = str(exc.args[0]) if exc.args else type(exc).__name__
    m = _NO_SUCH_MEMBER_RE.match(raw)
    if m:
        return f"no such key: {m.group(1)}"
    if raw.startswith(("found no matching overload", "no such overload")):
        return "no such overload"
    return raw


def _evaluate(program: Any, activation: dict[str, Any]) -> tuple[Any, str | None]:
    try:
        result = program.evaluate(activation)
    except Exception as exc:  # CELEvalError, or a Python error from a library function
        return None, _error_text(exc)
    if isinstance(result, Exception):
        return None, _error_text(result)
    return result, None


def _run_rule(text: str, activation: dict[str, Any]) -> tuple[bool, str | None]:
    """(passed, evaluation error) for one rule; a non-boolean result counts as a failure."""
    program = _program(text)
    if isinstance(program, str):
        return False, program
    result, error = _evaluate(program, activation)
    if error is not None:
        return False, error
    return (isinstance(result, (bool, celtypes.BoolType)) and bool(result)), None


def _run_message(text: str, activation: dict[str, Any]) -> str | None:
    program = _program(text)
    if isinstance(program, str):
        return None
    result, error = _evaluate(program, activation)
    if error is not None or not isinstance(result, str):
        return None
    text_result = str(result).strip()
    return text_result or None


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
    regular expressions, defaults that are not valid against their own node, and CEL rules that do
    not compile. Returns messages in kube's ``<path>: <problem>`` style (empty when acceptable).
    """
    errors: list[str] = []
    _check_node(schema, "openAPIV3Schema", errors, root=True)
    return errors


_TYPES: Final = frozenset({"object", "array", "string", "integer", "number", "boolean"})


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
        _validate_node(default, schema, "default", bad, _MISSING, cel=False)
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
