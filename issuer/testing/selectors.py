"""Kubernetes label and field selectors for the embedded API server's list, watch and
deletecollection handlers: `parse_label_selector` understands the ``labelSelector`` query syntax
(``=``, ``==``, ``!=``, ``in (...)``, ``notin (...)``, ``key``, ``!key``, ``>``/``<`` on integers,
comma meaning AND) with kube's key and value validation, `from_match_labels` and `from_dict` build
selectors from ``matchLabels``/``matchExpressions``, and `parse_field_selector` understands the
``fieldSelector`` syntax (``=``, ``==``, ``!=``, backslash escapes), exposing the field names it uses so
the server can reject unsupported ones. Malformed input raises `SelectorError` with a message in
kube-apiserver's words, which the server returns as a 400 BadRequest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "FieldRequirement",
    "FieldSelector",
    "LabelSelector",
    "Requirement",
    "SelectorError",
    "from_dict",
    "from_match_labels",
    "parse_field_selector",
    "parse_label_selector",
]


class SelectorError(ValueError):
    """A label or field selector that cannot be parsed; ``str()`` is kube's message."""


# ---------------------------------------------------------------------------------------------------
# label selectors

EXISTS: Final = "exists"
DOES_NOT_EXIST: Final = "!"
EQUALS: Final = "="
DOUBLE_EQUALS: Final = "=="
NOT_EQUALS: Final = "!="
IN: Final = "in"
NOT_IN: Final = "notin"
GREATER_THAN: Final = "gt"
LESS_THAN: Final = "lt"

_NAME_RE: Final = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_SUBDOMAIN_RE: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_VALUE_RE: Final = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

_NAME_MSG: Final = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_VALUE_MSG: Final = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
_PREFIX_MSG: Final = (
    "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _key_problems(key: str) -> list[str]:
    """kube's label key validation (IsQualifiedName, lengths in bytes as kube counts them): every problem
    of the prefix and of the name part, in kube's order."""
    parts = key.split("/")
    problems: list[str] = []
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            problems.append("prefix part must be non-empty")
        else:
            if len(prefix.encode()) > 253:
                problems.append("prefix part must be no more than 253 bytes")
            if not _DNS1123_SUBDOMAIN_RE.fullmatch(prefix):
                problems.append(_PREFIX_MSG)
    else:
        return [
            "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
            "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
            "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix "
            "and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        problems.append("name part must be non-empty")
    elif len(name.encode()) > 63:
        problems.append("name part must be no more than 63 bytes")
    if not _NAME_RE.fullmatch(name):
        problems.append(_NAME_MSG)
    return problems


label_key_problems = _key_problems  # the engine validates metadata.labels keys with it

_REQUIREMENT: Final = "unable to parse requirement: "


def _check_key(key: str) -> None:
    problems = _key_problems(key)
    if problems:
        raise SelectorError(f"{_REQUIREMENT}<nil>: Invalid value: {_quote(key)}: {'; '.join(problems)}")


def _check_value(key: str, index: int, value: str) -> None:
    if len(value.encode()) > 63:
        raise SelectorError(
            f"{_REQUIREMENT}values[{index}][{key}]: Invalid value: {_quote(value)}: must be no more than 63 bytes"
        )
    if not _VALUE_RE.fullmatch(value):
        raise SelectorError(f"{_REQUIREMENT}values[{index}][{key}]: Invalid value: {_quote(value)}: {_VALUE_MSG}")


@dataclass(frozen=True)
class Requirement:
    """One label requirement: ``key``, ``operator`` (exists, !, =, ==, !=, in, notin, gt, lt), ``values``."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label set satisfies this requirement."""
        op = self.operator
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (EQUALS, DOUBLE_EQUALS, IN):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_EQUALS, NOT_IN):
            return self.key not in labels or labels[self.key] not in self.values
        if op in (GREATER_THAN, LESS_THAN):
            if self.key not in labels:
                return False
            try:
                have = int(labels[self.key])
            except ValueError:
                return False
            want = int(self.values[0])
            return have > want if op == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        if self.operator == EXISTS:
            return self.key
        if self.operator == DOES_NOT_EXIST:
            return f"!{self.key}"
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({','.join(self.values)})"
        if self.operator == GREATER_THAN:
            return f"{self.key}>{self.values[0]}"
        if self.operator == LESS_THAN:
            return f"{self.key}<{self.values[0]}"
        return f"{self.key}{self.operator}{self.values[0]}"


@dataclass(frozen=True)
class LabelSelector:
    """A parsed label selector: all requirements must hold (an empty selector matches everything)."""

    requirements: tuple[Requirement, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the selector selects everything."""
        return not self.requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with these ``metadata.labels`` (``None`` = no labels) is selected."""
        have: Mapping[str, str] = labels or {}
        return all(r.matches(have) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


# lexer ---------------------------------------------------------------------------------------------

_SPECIAL: Final = "=!(),<>"
_T_ID: Final = "identifier"
_T_END: Final = "end of string"


def _lex(text: str) -> list[tuple[str, str]]:
    """Tokens as (kind, literal); kinds are the operator literals, '(', ')', ',', identifier, in,
    notin, and the end marker."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in _SPECIAL:
            two = text[i : i + 2]
            if two in ("==", "!="):
                tokens.append((two, two))
                i += 2
            else:
                tokens.append((c, c))
                i += 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] not in _SPECIAL:
            j += 1
        word = text[i:j]
        tokens.append((word if word in (IN, NOT_IN) else _T_ID, word))
        i = j
    tokens.append((_T_END, ""))
    return tokens


class _LabelParser:
    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos]

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        if token[0] != _T_END:
            self.pos += 1
        return token

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            kind, literal = self.peek()
            if kind == _T_END:
                return requirements
            if kind not in (_T_ID, "!", IN, NOT_IN):
                raise SelectorError(f"found '{literal}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self.requirement())
            except SelectorError as exc:  # kube prefixes every problem inside one requirement
                text = str(exc)
                raise SelectorError(text if text.startswith(_REQUIREMENT) else _REQUIREMENT + text) from None
            kind, literal = self.take()
            if kind == _T_END:
                return requirements
            if kind != ",":
                raise SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
            after, after_literal = self.peek()
            if after not in (_T_ID, "!", IN, NOT_IN):
                raise SelectorError(f"found '{after_literal}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        kind, literal = self.take()
        negated = kind == "!"
        if negated:
            kind, literal = self.take()
            if kind not in (_T_ID, IN, NOT_IN):
                raise SelectorError(f"found '{literal}', expected: identifier")
        key = literal
        _check_key(key)
        if negated:
            return Requirement(key, DOES_NOT_EXIST)
        kind, literal = self.peek()
        if kind in (",", _T_END):
            return Requirement(key, EXISTS)
        self.take()
        if kind in ("=", "==", "!="):
            value = self.single_value()
            _check_value(key, 0, value)
            return Requirement(key, kind, (value,))
        if kind in ("<", ">"):
            value = self.single_value()
            try:
                int(value)
            except ValueError:
                raise SelectorError(
                    f"unable to parse requirement: values[0]: Invalid value: {_quote(value)}: for 'Gt', 'Lt' "
                    "operators, the value must be an integer"
                ) from None
            return Requirement(key, GREATER_THAN if kind == ">" else LESS_THAN, (value,))
        if kind in (IN, NOT_IN):
            values = self.value_set()
            for i, value in enumerate(values):
                _check_value(key, i, value)
            return Requirement(key, kind, tuple(dict.fromkeys(values)))
        raise SelectorError(f"found '{literal}', expected: in, notin, =, ==, !=, gt, lt")

    def single_value(self) -> str:
        kind, literal = self.peek()
        if kind in (_T_ID, IN, NOT_IN):
            self.take()
            return literal
        if kind in (",", _T_END):
            return ""
        raise SelectorError(f"found '{literal}', expected: identifier")

    def value_set(self) -> list[str]:
        """kube's parseValues: ``(`` then identifiers separated by commas (empty ones allowed) and ``)``;
        ``()`` is the set holding the empty value."""
        kind, literal = self.take()
        if kind != "(":
            raise SelectorError(f"found '{literal}' expected: '('")
        kind, literal = self.peek()
        if kind == ")":
            self.take()
            return [""]
        if kind not in (_T_ID, IN, NOT_IN, ","):
            raise SelectorError(f"found '{literal}', expected: ',', ')' or identifier")
        values: list[str] = []
        while True:
            kind, literal = self.take()
            if kind in (_T_ID, IN, NOT_IN):
                values.append(literal)
                after, after_literal = self.peek()
                if after == ",":
                    continue
                if after == ")":
                    self.take()
                    return values
                raise SelectorError(f"found '{after_literal}', expected: ',' or ')'")
            if kind == ",":
                if not values:
                    values.append("")  # "(,"
                after = self.peek()[0]
                if after == ")":
                    self.take()
                    values.append("")  # ",)"
                    return values
                if after == ",":
                    self.take()
                    values.append("")  # ",,"
                continue
            raise SelectorError(f"found '{literal}', expected: ',', or identifier")


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse a ``labelSelector`` query value; an empty or missing one selects everything."""
    if not text or not text.strip():
        return LabelSelector()
    return LabelSelector(tuple(_LabelParser(text).parse()))


def from_match_labels(match_labels: Mapping[str, str] | None) -> LabelSelector:
    """A selector requiring each given label to equal its value (``matchLabels``)."""
    items = sorted((match_labels or {}).items())
    for key, value in items:
        _check_key(key)
        _check_value(key, 0, value)
    return LabelSelector(tuple(Requirement(k, EQUALS, (v,)) for k, v in items))


_EXPRESSION_OPS: Final = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def from_dict(selector: Mapping[str, Any] | None) -> LabelSelector:
    """A selector from a ``metav1.LabelSelector`` dict (``matchLabels`` and ``matchExpressions``)."""
    if not selector:
        return LabelSelector()
    requirements = list(from_match_labels(selector.get("matchLabels")).requirements)
    for expression in selector.get("matchExpressions") or ():
        key = str(expression.get("key", ""))
        operator = str(expression.get("operator", ""))
        op = _EXPRESSION_OPS.get(operator)
        if op is None:
            raise SelectorError(f'"{operator}" is not a valid label selector operator')
        values = tuple(str(v) for v in expression.get("values") or ())
        _check_key(key)
        if op in (IN, NOT_IN) and not values:
            raise SelectorError("for 'in', 'notin' operators, values set can't be empty")
        if op in (EXISTS, DOES_NOT_EXIST) and values:
            raise SelectorError("values set must be empty for exists and does not exist")
        requirements.append(Requirement(key, op, values))
    return LabelSelector(tuple(requirements))


# ---------------------------------------------------------------------------------------------------
# field selectors


@dataclass(frozen=True)
class FieldRequirement:
    """One field selector term: ``field``, ``operator`` (``=``, ``==`` or ``!=``), ``value`` (unescaped)."""

    field: str
    operator: str
    value: str

    def matches(self, actual: str | None) -> bool:
        """Whether a field value (``None`` when absent, compared as ``""`` like kube) satisfies the term."""
        have = actual if actual is not None else ""
        return have != self.value if self.operator == "!=" else have == self.value


@dataclass(frozen=True)
class FieldSelector:
    """A parsed field selector: all terms must hold (an empty selector matches everything)."""

    requirements: tuple[FieldRequirement, ...] = ()

    @property
    def fields(self) -> frozenset[str]:
        """The field names used, for the server's 'field label not supported' check."""
        return frozenset(r.field for r in self.requirements)

    @property
    def empty(self) -> bool:
        """True when the selector selects everything."""
        return not self.requirements

    def exact(self, field: str) -> str | None:
        """The value an equality term pins ``field`` to (e.g. ``metadata.name``), else None."""
        for r in self.requirements:
            if r.field == field and r.operator != "!=":
                return r.value
        return None

    def matches(self, getter: Callable[[str], str | None]) -> bool:
        """Whether an object is selected; ``getter(field)`` returns its value for a field name."""
        return all(r.matches(getter(r.field)) for r in self.requirements)


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if c == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    parts.append("".join(current))
    return parts


def _unescape(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\":
            if i + 1 >= len(value) or value[i + 1] not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence in {value!r}")
            out.append(value[i + 1])
            i += 2
            continue
        if c in ",=":
            raise SelectorError(f"invalid field selector: unescaped {c!r} in value {value!r}")
        out.append(c)
        i += 1
    return "".join(out)


def _find_operator(term: str) -> tuple[int, str] | None:
    i = 0
    while i < len(term):
        c = term[i]
        if c == "\\":
            i += 2
            continue
        if term.startswith("!=", i):
            return i, "!="
        if term.startswith("==", i):
            return i, "=="
        if c == "=":
            return i, "="
        i += 1
    return None


def parse_field_selector(text: str | None) -> FieldSelector:
    """Parse a ``fieldSelector`` query value (``a=b``, ``a==b``, ``a!=b``, comma meaning AND)."""
    if not text or not text.strip():
        return FieldSelector()
    requirements: list[FieldRequirement] = []
    for term in _split_unescaped(text, ","):
        found = _find_operator(term)
        if found is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        index, op = found
        field = term[:index].strip()
        if not field:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        value = _unescape(term[index + len(op) :])
        requirements.append(FieldRequirement(field, op, value))
    return FieldSelector(tuple(requirements))
