"""The four Kubernetes patch types as pure functions on JSON dicts, used by the embedded API server's
PATCH handler: `merge_patch` (RFC 7386, ``application/merge-patch+json``), `json_patch` (RFC 6902,
``application/json-patch+json``, atomic), `strategic_merge_patch` (a usable subset of
``application/strategic-merge-patch+json`` for built-in kinds) and `apply_patch` (a simplified
server-side apply, ``application/apply-patch+yaml``). None of them mutates its inputs; each returns a
new dict or raises `PatchError` carrying the HTTP code, Status reason and message kube-apiserver would
answer. Server-side apply here merges maps, replaces lists (``metadata.labels``/``annotations`` are
maps, so they merge) and records each applier's fields in ``metadata.managedFields`` as kube does
(``operation: Apply``, ``fieldsType: FieldsV1``, ``fieldsV1`` in kube's ``f:<name>`` format, every
list being one atomic leaf), so that a later apply from the same manager that omits a field it set
before removes it unless another applier also set it. Applying a value another manager owns with a
different value is a 409 Conflict with kube's message and one ``FieldManagerConflict`` cause per field;
``force`` takes such fields over (they leave the other manager's entry, an emptied entry goes); applying
the same value shares the field. Entries are sorted as kube sorts them (operation, time, manager), and
an apply that changes nothing but ownership records no ``time``. Update-operation entries are kept
but never created (see server.py's known simplifications).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

__all__ = ["PatchError", "apply_patch", "json_patch", "merge_patch", "strategic_merge_patch"]

JSON = Any


class PatchError(Exception):
    """A patch that cannot be applied. ``code`` is the HTTP status (400, 409, 415 or 422), ``reason``
    the Status reason (``BadRequest``, ``Conflict``, ``UnsupportedMediaType``, ``Invalid``), ``message``
    the Status message. ``field`` is set for 422 Invalid errors that kube reports as a field cause
    (``patch``): the server then wraps the message as ``<Kind>.<group> "<name>" is invalid: <message>``.
    ``cause`` is the underlying patch library message; for JSON-patch 422s kube's body is
    ``message: "the server rejected our request due to an error in our request"`` with
    ``details.causes: [{"reason": "UnexpectedServerResponse", "message": <cause>}]``. ``causes`` are the
    ``details.causes`` of a server-side apply conflict (409, one ``FieldManagerConflict`` per field)."""

    def __init__(self, code: int, reason: str, message: str, *, field: str = "", cause: str = "",
                 causes: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.field = field
        self.cause = cause
        self.causes = causes or []

    def __repr__(self) -> str:
        return f"PatchError({self.code}, {self.reason!r}, {self.message!r})"


_REJECTED: Final = "the server rejected our request due to an error in our request"


def _deepcopy(value: JSON) -> JSON:
    if isinstance(value, dict):
        return {k: _deepcopy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deepcopy(v) for v in value]
    return value


def go_json_type(value: JSON) -> str:
    """The JSON type name Go's encoding/json puts in "cannot unmarshal X into ..." errors."""
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "object"


def _json_equal(a: JSON, b: JSON) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and bool(a == b)


# ---------------------------------------------------------------------------------------------------
# RFC 7386 JSON merge patch


def merge_patch(target: dict[str, Any], patch: JSON) -> dict[str, Any]:
    """Apply an RFC 7386 merge patch: objects merge recursively, ``null`` deletes, anything else
    (lists included) replaces. A patch body that is not an object is a 400, as kube v1.37 answers."""
    if not isinstance(patch, dict):
        raise _bad_request(
            f"error decoding patch: json: cannot unmarshal {go_json_type(patch)} into Go value of type "
            "map[string]interface {}"
        )
    result = _merge(target if isinstance(target, dict) else {}, patch)
    assert isinstance(result, dict)
    return result


def _merge(target: JSON, patch: JSON) -> JSON:
    if not isinstance(patch, dict):
        return _deepcopy(patch)
    base: dict[str, Any] = dict(target.items()) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = _merge(base.get(key), value)
    # untouched values are shared with target above; copy them so the result owns everything
    return {k: (v if k in patch else _deepcopy(v)) for k, v in base.items()}


# ---------------------------------------------------------------------------------------------------
# RFC 6902 JSON patch

_OPS: Final = frozenset({"add", "remove", "replace", "move", "copy", "test"})


def _bad_request(message: str) -> PatchError:
    return PatchError(400, "BadRequest", message)


def _unprocessable(detail: str) -> PatchError:
    return PatchError(422, "Invalid", _REJECTED, cause=detail)


def _parse_pointer(pointer: Any) -> list[str]:
    if not isinstance(pointer, str):
        raise _bad_request(f"json: cannot unmarshal {go_json_type(pointer)} into Go value of type string")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise _unprocessable(f'JSON pointer must be empty or start with a "/": {pointer!r}')
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _list_index(token: str, length: int, pointer: str, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return length
    if not (token.isascii() and token.isdigit()) or (len(token) > 1 and token[0] == "0"):
        raise _unprocessable(f"unable to access invalid index: {token}: invalid index referenced: {pointer}")
    index = int(token)
    limit = length if allow_end else length - 1
    if index > limit:
        raise _unprocessable(f"unable to access invalid index: {index}: invalid index referenced: {pointer}")
    return index


def _resolve_parent(doc: JSON, parts: list[str], pointer: str, op: str) -> JSON:
    node = doc
    for token in parts[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise _unprocessable(f"{op} operation does not apply: doc is missing path: {pointer!r}: missing value")
            node = node[token]
        elif isinstance(node, list):
            node = node[_list_index(token, len(node), pointer, allow_end=False)]
        else:
            raise _unprocessable(f"{op} operation does not apply: doc is missing path: {pointer!r}: missing value")
    if not isinstance(node, (dict, list)):
        raise _unprocessable(f"{op} operation does not apply: doc is missing path: {pointer!r}: missing value")
    return node


_ABSENT: Final = object()


def _get(doc: JSON, parts: list[str], pointer: str, op: str) -> JSON:
    if not parts:
        return doc
    parent = _resolve_parent(doc, parts, pointer, op)
    token = parts[-1]
    if isinstance(parent, dict):
        return parent.get(token, _ABSENT)
    if token == "-" or not (token.isascii() and token.isdigit()) or int(token) >= len(parent):
        return _ABSENT
    return parent[int(token)]


def _add(doc: JSON, parts: list[str], value: JSON, pointer: str) -> JSON:
    if not parts:
        return value
    parent = _resolve_parent(doc, parts, pointer, "add")
    token = parts[-1]
    if isinstance(parent, dict):
        parent[token] = value
    else:
        parent.insert(_list_index(token, len(parent), pointer, allow_end=True), value)
    return doc


def _remove(doc: JSON, parts: list[str], pointer: str, op: str = "remove") -> JSON:
    if not parts:
        raise _unprocessable(f"{op} operation does not apply: cannot remove the whole document")
    parent = _resolve_parent(doc, parts, pointer, op)
    token = parts[-1]
    if isinstance(parent, dict):
        if token not in parent:
            raise _unprocessable(f"unable to remove nonexistent key: {token}: missing value")
        return parent.pop(token)
    return parent.pop(_list_index(token, len(parent), pointer, allow_end=False))


def json_patch(target: dict[str, Any], ops: JSON) -> dict[str, Any]:
    """Apply an RFC 6902 JSON patch atomically (all operations or none). A body that is not a list
    of objects is a 400; an unknown or incomplete operation, a path that does not resolve, or a failed
    ``test``, is a 422
    (kopf reads a 422 on its resourceVersion ``test`` as a conflict). As in kube's json-patch
    library, ``test`` against a missing member with value ``null`` succeeds."""
    if not isinstance(ops, list):
        raise _bad_request(
            f"error decoding patch: json: cannot unmarshal {go_json_type(ops)} into Go value of type "
            "[]handlers.jsonPatchOp"
        )
    checked: list[dict[str, Any]] = []
    for op in ops:
        if not isinstance(op, dict):
            raise _bad_request(
                f"error decoding patch: json: cannot unmarshal {go_json_type(op)} into Go value of type "
                "handlers.jsonPatchOp"
            )
        kind = op.get("op")  # kube's json-patch library finds these only when applying: 422s
        if kind not in _OPS:
            raise _unprocessable(f"Unexpected kind: {kind}")
        if "path" not in op:
            raise _unprocessable(f"{kind} operation missing path")
        if kind in ("move", "copy") and "from" not in op:
            raise _unprocessable(f"{kind} operation missing from")
        checked.append(op)

    doc: JSON = _deepcopy(target)
    for op in checked:
        kind = op["op"]
        pointer = op["path"]
        parts = _parse_pointer(pointer)
        if kind == "add":
            doc = _add(doc, parts, _deepcopy(op.get("value")), pointer)
        elif kind == "remove":
            _remove(doc, parts, pointer)
        elif kind == "replace":
            if _get(doc, parts, pointer, "replace") is _ABSENT:
                raise _unprocessable(f"replace operation does not apply: doc is missing key: {pointer}: missing value")
            if parts:
                _remove(doc, parts, pointer, "replace")
            doc = _add(doc, parts, _deepcopy(op.get("value")), pointer)
        elif kind == "test":
            current = _get(doc, parts, pointer, "test")
            expected = op.get("value")
            if current is _ABSENT:
                if expected is not None:
                    raise _unprocessable(f"testing value {pointer} failed: test failed")
            elif not _json_equal(current, expected):
                raise _unprocessable(f"testing value {pointer} failed: test failed")
        else:  # move, copy
            source = op["from"]
            from_parts = _parse_pointer(source)
            value = _get(doc, from_parts, source, kind)
            if value is _ABSENT:
                raise _unprocessable(
                    f"{kind} operation does not apply: doc is missing from path: {source}: missing value"
                )
            if kind == "move":
                if parts[: len(from_parts)] == from_parts and len(parts) > len(from_parts):
                    raise _unprocessable(
                        f"move operation does not apply: cannot move {source} into its child {pointer}"
                    )
                if from_parts:
                    _remove(doc, from_parts, source, "move")
                doc = _add(doc, parts, value, pointer)
            else:
                doc = _add(doc, parts, _deepcopy(value), pointer)
    if not isinstance(doc, dict):
        raise _unprocessable("the patched document is not an object")
    return doc


# ---------------------------------------------------------------------------------------------------
# strategic merge patch (subset)

# list field name -> candidate merge keys, first one present in the elements wins
_MERGE_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "ownerReferences": ("uid",),
    "conditions": ("type",),
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "env": ("name",),
    "ports": ("containerPort", "port", "name"),
    "imagePullSecrets": ("name",),
    "hostAliases": ("ip",),
    "topologySpreadConstraints": ("topologyKey",),
    "resourceClaims": ("name",),
    "secrets": ("name",),
    "addresses": ("type",),
}
# (parent key, list key) pairs whose primitive lists merge as a set
_SET_LISTS: Final = frozenset({("metadata", "finalizers")})

_DIRECTIVE: Final = "$patch"
_RETAIN: Final = "$retainKeys"
_ORDER: Final = "$setElementOrder/"
_DELETE_PRIMITIVE: Final = "$deleteFromPrimitiveList/"


def strategic_merge_patch(target: dict[str, Any], patch: JSON) -> dict[str, Any]:
    """Apply a strategic merge patch (the subset built-in kinds need): maps merge, ``null`` deletes,
    lists with a known merge key merge by key (``ownerReferences`` by uid, ``conditions`` by type,
    containers/volumes/env by name, ports by containerPort or port), ``metadata.finalizers`` merges as
    a set, other lists (tolerations included) are replaced. Directives ``$patch: replace|delete|merge``,
    ``$retainKeys``, ``$setElementOrder/<field>`` and ``$deleteFromPrimitiveList/<field>`` are honoured;
    they never reach the result."""
    if not isinstance(patch, dict):  # kube v1.37: a 400 without the "error decoding patch" prefix
        raise _bad_request(
            f"json: cannot unmarshal {go_json_type(patch)} into Go value of type map[string]interface {{}}"
        )
    result = _smp_map(target if isinstance(target, dict) else {}, patch, "")
    return result if isinstance(result, dict) else {}


def _strip(value: JSON) -> JSON:
    """A patch value placed where nothing existed: merge it into nothing (drops directives/nulls)."""
    if isinstance(value, dict):
        return _smp_map({}, value, "")
    if isinstance(value, list):
        return [_strip(v) for v in value if not (isinstance(v, dict) and v.get(_DIRECTIVE) == "delete")]
    return value


def _smp_map(target: dict[str, Any], patch: dict[str, Any], parent_key: str) -> dict[str, Any] | None:
    directive = patch.get(_DIRECTIVE)
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: _strip(v) for k, v in patch.items() if not _is_directive_key(k) and v is not None}
    if directive not in (None, "merge"):
        raise _bad_request(f"Unknown patch type: {directive}")
    result: dict[str, Any] = {k: _deepcopy(v) for k, v in target.items()}
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in (_DIRECTIVE, _RETAIN):
            continue
        if key.startswith(_ORDER):
            if isinstance(value, list):
                orders[key[len(_ORDER) :]] = value
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE) :]
            if isinstance(result.get(field), list) and isinstance(value, list):
                drop = list(value)
                result[field] = [v for v in result[field] if not any(_json_equal(v, d) for d in drop)]
            continue
        if value is None:
            result.pop(key, None)
            continue
        current = result.get(key)
        if isinstance(value, dict):
            merged = _smp_map(current if isinstance(current, dict) else {}, value, key)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _smp_list(current if isinstance(current, list) else [], value, parent_key, key)
        else:
            result[key] = value
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _reorder(result[field], order, field)
    retain = patch.get(_RETAIN)
    if isinstance(retain, list):
        keep = set(retain)
        result = {k: v for k, v in result.items() if k in keep}
    return result


def _is_directive_key(key: str) -> bool:
    return key in (_DIRECTIVE, _RETAIN) or key.startswith((_ORDER, _DELETE_PRIMITIVE))


def _merge_key(key: str, elements: Iterable[Any]) -> str | None:
    candidates = _MERGE_KEYS.get(key)
    if not candidates:
        return None
    dicts = [e for e in elements if isinstance(e, dict)]
    for candidate in candidates:
        if any(candidate in e for e in dicts):
            return candidate
    return candidates[0]


def _smp_list(current: list[Any], patch: list[Any], parent_key: str, key: str) -> list[Any]:
    if any(isinstance(e, dict) and e.get(_DIRECTIVE) == "replace" for e in patch):
        return [_strip(e) for e in patch if not (isinstance(e, dict) and _DIRECTIVE in e)]
    if (parent_key, key) in _SET_LISTS:
        merged = [_deepcopy(v) for v in current]
        for value in patch:
            if not any(_json_equal(value, v) for v in merged):
                merged.append(_deepcopy(value))
        return _merge_order(merged, patch, current, _canonical)
    merge_key = _merge_key(key, [*current, *patch])
    if merge_key is None or not all(isinstance(e, dict) for e in patch):
        return [_strip(e) for e in patch]

    def ident(value: Any) -> str:
        return _canonical(value.get(merge_key) if isinstance(value, dict) else value)

    return _merge_order(_smp_keyed(current, patch, key, merge_key), patch, current, ident)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _merge_order(merged: list[Any], patch: list[Any], current: list[Any], ident: Any) -> list[Any]:
    """kube's order of a merged list (normalizeElementOrder): the patch's elements in patch order and the
    server-only ones in server order, interleaved by their server positions, an element new to the server
    going before the server element it is compared with."""
    patch_pos: dict[str, int] = {}
    for element in patch:
        patch_pos.setdefault(ident(element), len(patch_pos))
    server_pos: dict[str, int] = {}
    for element in current:
        server_pos.setdefault(ident(element), len(server_pos))
    left = sorted((v for v in merged if ident(v) in patch_pos), key=lambda v: patch_pos[ident(v)])
    right = [v for v in merged if ident(v) not in patch_pos]
    out: list[Any] = []
    i = j = 0
    while i < len(left) and j < len(right):
        here, there = server_pos.get(ident(left[i])), server_pos.get(ident(right[j]))
        if here is None or (there is not None and here < there):
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    return out + left[i:] + right[j:]


def _smp_keyed(current: list[Any], patch: list[Any], key: str, merge_key: str) -> list[Any]:
    result = [_deepcopy(v) for v in current]
    for element in patch:
        ident = element.get(merge_key)
        position = next(
            (i for i, v in enumerate(result) if isinstance(v, dict) and _json_equal(v.get(merge_key), ident)),
            None,
        )
        if element.get(_DIRECTIVE) == "delete":
            if position is not None:
                del result[position]
            continue
        if position is None:
            stripped = _strip(element)
            if stripped is not None:
                result.append(stripped)
        else:
            merged_element = _smp_map(result[position], element, key)
            if merged_element is None:
                del result[position]
            else:
                result[position] = merged_element
    return result


def _reorder(values: list[Any], order: list[Any], field: str) -> list[Any]:
    merge_key = _merge_key(field, values)

    def ident(v: Any) -> Any:
        if merge_key is not None and isinstance(v, dict):
            return json.dumps(v.get(merge_key), sort_keys=True)
        return json.dumps(v, sort_keys=True)

    wanted: dict[str, int] = {}
    for i, entry in enumerate(order):
        key = json.dumps(entry.get(merge_key) if merge_key and isinstance(entry, dict) else entry, sort_keys=True)
        wanted.setdefault(key, i)
    listed = sorted((v for v in values if ident(v) in wanted), key=lambda v: wanted[ident(v)])
    rest = [v for v in values if ident(v) not in wanted]
    return listed + rest


# ---------------------------------------------------------------------------------------------------
# server-side apply (simplified)

# fields an applier cannot give up (never tracked or removed)
_UNTRACKED_ROOT: Final = frozenset({"apiVersion", "kind", "status"})
_UNTRACKED_META: Final = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    }
)

_Path = tuple[str, ...]


def _leaves(value: JSON, prefix: _Path = ()) -> set[_Path]:
    """Field paths set by an applied configuration: every non-map value (lists are atomic) and every
    empty map is a leaf; ``null`` values are not owned."""
    out: set[_Path] = set()
    if isinstance(value, dict):
        for key, sub in value.items():
            if sub is None:
                continue
            path = (*prefix, key)
            if not prefix and key in _UNTRACKED_ROOT:
                continue
            if prefix == ("metadata",) and key in _UNTRACKED_META:
                continue
            if isinstance(sub, dict) and sub:
                out |= _leaves(sub, path)
            else:
                out.add(path)
    return out


def _encode_fields(paths: set[_Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    return tree


def _key_owner_references(tree: dict[str, Any], applied: dict[str, Any]) -> dict[str, Any]:
    """Record `metadata.ownerReferences` as kube does, one `k:{"uid":...}` entry per reference (it is a map
    list keyed by uid), so that a client can tell which owner references it manages (cert-manager's
    SecretOwnerRefMismatch check reads exactly that). The list stays one field for apply's removals."""
    meta = tree.get("f:metadata")
    refs = (applied.get("metadata") or {}).get("ownerReferences") if isinstance(applied.get("metadata"), dict) else None
    if not isinstance(meta, dict) or "f:ownerReferences" not in meta or not isinstance(refs, list):
        return tree
    keyed: dict[str, Any] = {}
    for ref in refs:
        if isinstance(ref, dict) and isinstance(ref.get("uid"), str):
            fields: dict[str, Any] = {f"f:{k}": {} for k in ref if isinstance(k, str)}
            keyed[f'k:{{"uid":"{ref["uid"]}"}}'] = {".": {}, **fields}
    meta["f:ownerReferences"] = keyed
    return tree


def _decode_fields(tree: Any, prefix: _Path = ()) -> set[_Path]:
    out: set[_Path] = set()
    if not isinstance(tree, dict):
        return out
    children = [k for k in tree if isinstance(k, str) and k.startswith("f:")]
    if not children and prefix:
        out.add(prefix)
    for key in children:
        out |= _decode_fields(tree[key], (*prefix, key[2:]))
    return out


def _delete_path(obj: dict[str, Any], path: _Path, protected: set[_Path]) -> None:
    """Delete a leaf, then any map left empty on the way up unless another applier's field lies there."""
    chain: list[dict[str, Any]] = [obj]
    node: Any = obj
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return
        chain.append(node)
    chain[-1].pop(path[-1], None)
    for depth in range(len(path) - 1, 0, -1):
        parent_path = path[:depth]
        if chain[depth] or any(p[:depth] == parent_path for p in protected):
            break
        chain[depth - 1].pop(path[depth - 1], None)


def apply_patch(
    target: dict[str, Any] | None,
    applied: JSON,
    *,
    manager: str,
    force: bool = False,
    now: str | None = None,
    subresource: str | None = None,
) -> dict[str, Any]:
    """Server-side apply, simplified: merge ``applied`` into ``target`` (``None`` creates) with maps
    merged and lists replaced, and record the applied field set for ``manager`` in
    ``metadata.managedFields`` (an ``Apply`` entry with FieldsV1 ``f:`` keys; ``time`` is set when
    ``now`` is given and the object changes). Fields this manager applied before but omits now are
    removed unless another Apply entry owns them. A field another manager owns with a different value
    is a conflict (409) unless ``force``, which moves it to ``manager``. A manager is its name, operation
    and ``subresource`` (recorded in its entry, as kube does for an apply to ``/status``)."""
    if not isinstance(applied, dict):
        raise _bad_request(
            f"error decoding YAML: json: cannot unmarshal {go_json_type(applied)} into Go value of type "
            "map[string]interface {}"
        )
    if not manager:
        raise _bad_request("PATCH requests of type 'application/apply-patch+yaml' must have a fieldManager")
    base: dict[str, Any] = _deepcopy(target) if isinstance(target, dict) else {}
    meta = base.get("metadata") if isinstance(base.get("metadata"), dict) else {}
    entries: list[Any] = list(meta.get("managedFields") or []) if isinstance(meta, dict) else []

    clean = dict(applied.items())
    if isinstance(clean.get("metadata"), dict):
        clean["metadata"] = {k: v for k, v in clean["metadata"].items() if k != "managedFields"}
    current: set[_Path]
    if subresource == "status":  # an apply to /status owns status fields only
        status = clean.get("status")
        current = _leaves(status, ("status",)) if isinstance(status, dict) and status else \
            ({("status",)} if isinstance(status, dict) else set())
    else:
        current = _leaves(clean)

    previous: set[_Path] = set()
    previous_time: Any = None
    others: set[_Path] = set()
    kept: list[Any] = []
    conflicts: list[tuple[str, _Path]] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        fields = _decode_fields(entry.get("fieldsV1"))
        if entry.get("manager") == manager and entry.get("operation") == "Apply" and \
                (entry.get("subresource") or None) == subresource:
            previous |= fields
            previous_time = entry.get("time")
            continue
        contested = sorted(p for p in fields & current
                           if _at(base, p) is not _MISSING and not _json_equal(_at(base, p), _at(clean, p)))
        if contested and force:
            fields -= set(contested)
            if not fields:
                continue  # every field taken over: the manager's entry goes
            entry = dict(entry, fieldsV1=_encode_fields(fields))  # noqa: PLW2901
        elif contested:
            conflicts.extend((_print_manager(entry), p) for p in contested)
        if entry.get("operation") == "Apply":
            others |= fields
        kept.append(entry)
    if conflicts:
        raise _conflict(sorted(conflicts))

    result = _apply_merge(base, clean)
    assert isinstance(result, dict)
    for path in sorted(previous - current - others, key=len, reverse=True):
        _delete_path(result, path, current | others)

    entry_out: dict[str, Any] = {"manager": manager, "operation": "Apply"}
    if isinstance(applied.get("apiVersion"), str):
        entry_out["apiVersion"] = applied["apiVersion"]
    if subresource:
        entry_out["subresource"] = subresource
    if now is not None and _without_managed(result) != _without_managed(base):
        entry_out["time"] = now
    elif previous_time is not None:
        entry_out["time"] = previous_time
    entry_out["fieldsType"] = "FieldsV1"
    entry_out["fieldsV1"] = _key_owner_references(_encode_fields(current), clean)
    result_meta = result.setdefault("metadata", {})
    result_meta["managedFields"] = sorted([*kept, entry_out], key=_entry_order)
    return result


_MISSING: Final = object()


def _at(obj: JSON, path: _Path) -> JSON:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return _MISSING
        obj = obj[key]
    return obj


def _without_managed(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return obj
    return dict(obj, metadata={k: v for k, v in meta.items() if k != "managedFields"})


def _entry_order(entry: Any) -> tuple[str, str, str, str, str]:
    """kube's order of managedFields entries: operation, time (to the second; none first), manager,
    apiVersion, subresource."""
    if not isinstance(entry, dict):
        return ("", "", "", "", "")
    stamp = entry.get("time")
    return (str(entry.get("operation") or ""), str(stamp)[:19] if isinstance(stamp, str) else "",
            str(entry.get("manager") or ""), str(entry.get("apiVersion") or ""), str(entry.get("subresource") or ""))


def _print_manager(entry: dict[str, Any]) -> str:
    """How kube names a conflicting manager: quoted, with its subresource, and for an Update entry the
    apiVersion and time it wrote with."""
    text = json.dumps(str(entry.get("manager") or ""))
    if entry.get("subresource"):
        text += f" with subresource {json.dumps(str(entry['subresource']))}"
    if entry.get("operation") == "Update":
        text += f" using {entry.get('apiVersion') or ''}"
        if entry.get("time"):
            text += f" at {entry['time']}"
    return text


def _conflict(conflicts: list[tuple[str, _Path]]) -> PatchError:
    """kube's apply conflict: "Apply failed with N conflict(s): ..." and one cause per field."""
    def dotted(path: _Path) -> str:
        return "".join(f".{key}" for key in path)

    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {who}", "field": dotted(path)}
              for who, path in conflicts]
    if len(conflicts) == 1:
        who, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {who}: {dotted(path)}"
    else:
        lines: list[str] = []
        for who in sorted({w for w, _ in conflicts}):
            lines.append(f"conflicts with {who}:")
            lines.extend(f"- {dotted(p)}" for w, p in conflicts if w == who)
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return PatchError(409, "Conflict", message, causes=causes)


def _apply_merge(base: JSON, applied: JSON) -> JSON:
    if not isinstance(applied, dict) or not isinstance(base, dict):
        return _deepcopy(applied)
    result = dict(base)
    for key, value in applied.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _apply_merge(result.get(key), value)
    return result
