"""The small machinery behind the typed API views: wire names, parsing dicts into frozen dataclasses, and back.

Every type in `issuer.api.types` is an immutable dataclass declared with `@model` (deriving from `Model`,
which gives the construction, equality, hashing and immutability of a frozen dataclass without generating
code for each class: importing the ~50 views takes 2 ms instead of 25). A field's wire name is its
camelCase form (``dns_names`` -> ``dnsNames``) unless the field's metadata names it (``wire("isCA")``).
Parsing never raises on odd input of a field: it records a `Violation` in the Kubernetes style
(``spec.dnsNames[0]: Invalid value: 5: must be a string``) and leaves the field at its default, so a
manifest with many problems reports all of them at once. `parse` raises `InvalidObject` when any were found.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import json
import operator
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

JSON = Any  # an arbitrary JSON value kept as it was written (e.g. podTemplate, webhook config)


@dataclasses.dataclass(frozen=True)
class Violation:
    """One field-path violation, formatted like the Kubernetes API server's field errors."""

    field: str
    kind: str  # "Required value", "Invalid value", "Unsupported value", "Forbidden", "Duplicate value", "Too long"
    detail: str = ""
    value: Any = dataclasses.field(default=None, compare=False)
    has_value: bool = dataclasses.field(default=False, compare=False)

    def __str__(self) -> str:
        text = f"{self.field}: {self.kind}"
        if self.has_value:
            text += f": {render_value(self.value)}"
        if self.detail:
            text += f": {self.detail}"
        return text


def render_value(value: Any) -> str:
    """Render a value as Go's field errors do: strings quoted, others as compact JSON (json.Marshal)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError, RecursionError):
        return "<value omitted>"


def required(field: str, detail: str = "") -> Violation:
    return Violation(field, "Required value", detail)


def invalid(field: str, value: Any, detail: str) -> Violation:
    return Violation(field, "Invalid value", detail, value, True)


def unsupported(field: str, value: Any, supported: typing.Iterable[str]) -> Violation:
    listed = ", ".join(json.dumps(s) for s in supported)
    return Violation(field, "Unsupported value", f"supported values: {listed}", value, True)


def forbidden(field: str, detail: str) -> Violation:
    return Violation(field, "Forbidden", detail)


def duplicate(field: str, value: Any) -> Violation:
    return Violation(field, "Duplicate value", "", value, True)


def too_long(field: str, value: Any, limit: int) -> Violation:
    """Go's field.TooLong: the value is kept for callers but, as in Go, not printed."""
    unit = "byte" if limit == 1 else "bytes"
    return Violation(field, "Too long", f"may not be more than {limit} {unit}", value, False)


class InvalidObject(ValueError):
    """An object that could not be parsed or failed validation; carries every violation found."""

    def __init__(self, kind: str, name: str, violations: typing.Sequence[Violation]) -> None:
        self.kind = kind
        self.name = name
        self.violations = tuple(violations)
        super().__init__(self.summary())

    def summary(self) -> str:
        causes = [str(v) for v in self.violations]
        joined = causes[0] if len(causes) == 1 else "[" + ", ".join(causes) + "]"
        return f'{self.kind} "{self.name}" is invalid: {joined}'


def wire(name: str, **kwargs: Any) -> Any:
    """A dataclass field whose wire (JSON) name is not the plain camelCase of the attribute."""
    metadata = {"wire": name}
    return dataclasses.field(metadata=metadata, **kwargs)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


M = TypeVar("M", bound="Model")


@typing.dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def model(cls: type[M]) -> type[M]:
    """Declare a typed view: a dataclass (fields, `dataclasses.fields`/`replace`) whose __init__, equality,
    hashing, repr and immutability are Model's generic ones. Generating those for each of the ~50 views
    took most of the import time of `issuer.api.types`, which every `issuer` command pays."""
    return dataclasses.dataclass(init=False, repr=False, eq=False)(cls)


class Model:
    """Base of every typed view (declared with `@model`): `from_wire` / `to_wire` with camelCase names.

    Construction, equality (same class, fields in order), hashing, repr and immutability (assigning or
    deleting an attribute raises `dataclasses.FrozenInstanceError`) behave as a frozen dataclass's.
    """

    _fields_cache: ClassVar[dict[type, tuple[tuple[str, str, Any, Any], ...]]] = {}
    _getter_cache: ClassVar[dict[type, typing.Callable[[Any], tuple[Any, ...]]]] = {}
    _plan_cache: ClassVar[dict[type, _Plan]] = {}
    _index_cache: ClassVar[dict[type, dict[str, tuple[int, str, str, Parser]]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__doc__ is None:  # else the dataclass decorator computes a signature for one (slow)
            cls.__doc__ = cls.__name__

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        plan = self._plan()
        if args:
            if len(args) > len(plan.names):
                raise TypeError(f"{type(self).__name__}() takes {len(plan.names)} positional arguments")
            for name, value in zip(plan.names, args, strict=False):
                if name in kwargs:
                    raise TypeError(f"{type(self).__name__}() got multiple values for argument {name!r}")
                kwargs[name] = value
        if not plan.known.issuperset(kwargs):
            unknown = sorted(set(kwargs) - plan.known)[0]
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {unknown!r}")
        missing = [name for name in plan.required if name not in kwargs]
        if missing:
            raise TypeError(f"{type(self).__name__}() missing required argument {missing[0]!r}")
        self._fill(plan, kwargs)

    def _fill(self, plan: _Plan, kwargs: dict[str, Any]) -> None:
        state = self.__dict__
        state.update(plan.defaults)
        for name, factory in plan.factories:
            if name not in kwargs:
                state[name] = factory()
        state.update(kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    @classmethod
    def _plan(cls) -> _Plan:
        plan = Model._plan_cache.get(cls)
        if plan is None:
            fields = dataclasses.fields(cls)  # type: ignore[arg-type]
            plan = Model._plan_cache[cls] = _Plan(
                names=tuple(f.name for f in fields),
                known=frozenset(f.name for f in fields),
                defaults={f.name: f.default for f in fields if f.default is not dataclasses.MISSING},
                factories=tuple((f.name, f.default_factory) for f in fields
                                if f.default_factory is not dataclasses.MISSING),
                required=tuple(f.name for f in fields
                               if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING),
            )
        return plan

    def _values(self) -> tuple[Any, ...]:
        cls = self.__class__
        getter = Model._getter_cache.get(cls)
        if getter is None:  # attrgetter builds the tuple in C, as fast as the generated methods
            names = cls._plan().names
            if len(names) > 1:
                getter = operator.attrgetter(*names)
            else:  # one name: attrgetter would give the value itself
                getter = lambda obj: tuple(getattr(obj, n) for n in names)  # noqa: E731
            Model._getter_cache[cls] = getter
        values: tuple[Any, ...] = getter(self)
        return values

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._plan().names)
        return f"{self.__class__.__qualname__}({inner})"

    @classmethod
    def _wire_fields(cls) -> tuple[tuple[str, str, Any, Any], ...]:
        """(attribute, wire name, type hint, zero value) for each field, computed once per class."""
        cached = Model._fields_cache.get(cls)
        if cached is None:
            hints = typing.get_type_hints(cls)
            cached = tuple(
                (f.name, f.metadata.get("wire", camel(f.name)), hints[f.name], _zero(f))
                for f in dataclasses.fields(cls)  # type: ignore[arg-type]
                if not f.name.startswith("_")
            )
            Model._fields_cache[cls] = cached
        return cached

    @classmethod
    def _wire_index(cls) -> dict[str, tuple[int, str, str, Parser]]:
        """wire name -> (position, attribute, wire name, parse function), computed once per class."""
        index = Model._index_cache.get(cls)
        if index is None:
            index = Model._index_cache[cls] = {
                name: (i, attr, name, _parser(hint)) for i, (attr, name, hint, _zero) in enumerate(cls._wire_fields())
            }
        return index

    @classmethod
    def _construct(cls: type[M], kwargs: dict[str, Any]) -> M:
        """`cls(**kwargs)` for keyword arguments known to be fields (parsing), without checking them."""
        plan = cls._plan()
        if plan.required:
            return cls(**kwargs)
        obj = object.__new__(cls)
        obj._fill(plan, kwargs)
        return obj

    @classmethod
    def from_wire(cls: type[M], data: Any, path: str = "", errors: list[Violation] | None = None) -> M:
        """Build from a JSON-like dict, recording type problems in `errors` (or raising when None)."""
        own: list[Violation] = [] if errors is None else errors
        if data is None:
            data = {}
        if type(data) is not dict and not isinstance(data, Mapping):  # (the ABC check is slow)
            own.append(invalid(path or "<root>", _type_name(data), "must be an object"))
            data = {}
        kwargs: dict[str, Any] = {}
        index = cls._wire_index()
        # The fields the data has (usually a few of many), in declaration order: violations keep that order.
        present = [index[key] for key in data if key in index]
        if len(present) > 1:
            present.sort()
        for _position, attr, name, parse in present:
            value = parse(data[name], f"{path}.{name}" if path else name, own)
            if value is not _SKIP:
                kwargs[attr] = value
        obj = cls._construct(kwargs)
        if errors is None and own:
            raise InvalidObject(cls.__name__, "", own)
        return obj

    def to_wire(self) -> dict[str, Any]:
        """Back to a JSON-like dict; fields at their zero value are left out (Go's omitempty).

        An optional field (zero value None) that is set is kept even when empty, as Go keeps a non-nil
        pointer: ``selfSigned: {}`` is what makes an Issuer self-signed.
        """
        out: dict[str, Any] = {}
        for attr, name, _hint, zero in self._wire_fields():
            raw = getattr(self, attr)
            if raw is None or (raw == zero and name not in _ALWAYS):
                continue
            value = _dump(raw)
            if value in ({}, []) and zero is not None:
                continue
            out[name] = value
        return out


class _Plan(typing.NamedTuple):
    """How to build one view class: its fields in order, defaults, default factories, required fields."""

    names: tuple[str, ...]
    known: frozenset[str]
    defaults: dict[str, Any]
    factories: tuple[tuple[str, Any], ...]
    required: tuple[str, ...]


_SKIP = object()
_ALWAYS = frozenset({"apiVersion", "kind"})


def _zero(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}.get(
        type(value), type(value).__name__
    )


def _parse(value: Any, hint: Any, path: str, errors: list[Violation]) -> Any:
    return _parser(hint)(value, path, errors)


Parser = typing.Callable[[Any, str, list[Violation]], Any]


@functools.cache
def _parser(hint: Any) -> Parser:
    """A parse function for one type hint, built once: parsing runs for every object the operator reads."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) != 1:
            return lambda value, path, errors: value
        inner = _parser(non_none[0])
        return lambda value, path, errors: None if value is None else inner(value, path, errors)
    if hint is Any:
        return lambda value, path, errors: value
    if origin is tuple:
        item = _parser(args[0])

        def parse_list(value: Any, path: str, errors: list[Violation]) -> Any:
            if value is None:
                return _SKIP
            if not isinstance(value, list | tuple):
                errors.append(invalid(path, value, "must be a list"))
                return _SKIP
            parsed = [item(v, f"{path}[{i}]", errors) for i, v in enumerate(value)]
            return tuple(p for p in parsed if p is not _SKIP)

        return parse_list
    if origin in (dict, Mapping) or hint is dict:
        strings = bool(args) and args[1] is str

        def parse_map(value: Any, path: str, errors: list[Violation]) -> Any:
            if value is None:
                return _SKIP
            if type(value) is not dict and not isinstance(value, Mapping):
                errors.append(invalid(path, value, "must be an object"))
                return _SKIP
            if not strings:
                return dict(value)
            out: dict[str, Any] = {}
            for k, v in value.items():
                if not isinstance(v, str):
                    errors.append(invalid(f"{path}.{k}", v, "must be a string"))
                    continue
                out[str(k)] = v
            return out

        return parse_map
    if isinstance(hint, type) and issubclass(hint, Model):
        view = hint

        def parse_model(value: Any, path: str, errors: list[Violation]) -> Any:
            if value is None:
                return _SKIP
            if type(value) is not dict and not isinstance(value, Mapping):
                errors.append(invalid(path, value, "must be an object"))
                return _SKIP
            return view.from_wire(value, path, errors)

        return parse_model
    if hint is bool:
        return _scalar(lambda v: isinstance(v, bool), "must be a boolean")
    if hint is int:

        def parse_int(value: Any, path: str, errors: list[Violation]) -> Any:
            if value is None:
                return _SKIP
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            errors.append(invalid(path, value, "must be an integer"))
            return _SKIP

        return parse_int
    if hint is str:
        return _scalar(lambda v: isinstance(v, str), "must be a string")
    if hint is bytes:
        return _parse_bytes
    return lambda value, path, errors: _SKIP if value is None else value


def _parse_bytes(value: Any, path: str, errors: list[Violation]) -> Any:
    """Go's []byte (a CSR, a certificate chain): base64 on the wire."""
    if value is None or value == "":
        return _SKIP
    if not isinstance(value, str):
        errors.append(invalid(path, value, "must be a base64-encoded string"))
        return _SKIP
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        errors.append(invalid(path, "<bytes>", "must be base64-encoded PEM"))
        return _SKIP


def _scalar(check: typing.Callable[[Any], bool], detail: str) -> Parser:
    def parse(value: Any, path: str, errors: list[Violation]) -> Any:
        if value is None:
            return _SKIP
        if not check(value):
            errors.append(invalid(path, value, detail))
            return _SKIP
        return value

    return parse


def _dump(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Model):
        return value.to_wire()
    if isinstance(value, tuple):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value
