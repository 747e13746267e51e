"""The Kubernetes JSONPath subset used by CRD ``additionalPrinterColumns``, for the embedded API server's
Table responses: `evaluate` returns every value a path selects (``.a.b``, ``['a.b']``, ``[0]``, ``[-1]``,
``[1:3]``, ``[*]``, ``.*``, ``..name``, unions ``[0,2]`` and filters such as
``[?(@.type=="Ready")]`` with ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` or bare existence, with an
optional ``{...}`` wrapper and ``$`` root), and `format_cell` turns those values into a Table cell the
way kube-apiserver's CRD table convertor does (first value only; ``null`` when missing; ``date`` as a
human age like ``5m`` via `human_duration`). Malformed paths raise `JSONPathError`. Pure functions.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["JSONPathError", "evaluate", "format_cell", "human_duration", "parse"]


class JSONPathError(ValueError):
    """A JSONPath expression that cannot be parsed."""


# ---------------------------------------------------------------------------------------------------
# AST


@dataclass(frozen=True)
class _Field:
    name: str  # "*" = every value


@dataclass(frozen=True)
class _Recursive:
    name: str  # "*" = every descendant


@dataclass(frozen=True)
class _Index:
    indexes: tuple[int, ...]


@dataclass(frozen=True)
class _Slice:
    start: int | None
    stop: int | None
    step: int | None


@dataclass(frozen=True)
class _Wildcard:
    pass


@dataclass(frozen=True)
class _Names:
    names: tuple[str, ...]


@dataclass(frozen=True)
class _Filter:
    left: tuple[Any, ...] | None  # a relative path (from @), or None for a literal
    left_literal: Any
    op: str  # "exists" when there is no comparison
    right: tuple[Any, ...] | None
    right_literal: Any


_Step = _Field | _Recursive | _Index | _Slice | _Wildcard | _Names | _Filter

_NAME_CHARS: Final = re.compile(r"[A-Za-z0-9_\-/$~]+")
_NUMBER_RE: Final = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str) -> JSONPathError:
        return JSONPathError(f"{message} at {self.pos} in {self.text!r}")

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def path(self, *, relative: bool = False) -> tuple[_Step, ...]:
        steps: list[_Step] = []
        if not relative and self.peek() == "$":
            self.pos += 1
        while self.pos < len(self.text):
            c = self.peek()
            if self.peek(2) == "..":
                self.pos += 2
                steps.append(_Recursive(self.name_or_star()))
            elif c == ".":
                self.pos += 1
                if self.pos >= len(self.text) or self.peek() in ".[ )" or self.peek().isspace():
                    if not steps and self.pos >= len(self.text):
                        break  # "." alone: the root itself
                    if self.peek() == "[":
                        continue
                    raise self.error("expected a field name")
                steps.append(_Field(self.name_or_star()))
            elif c == "[":
                steps.append(self.bracket())
            elif relative:
                break
            elif not steps and _NAME_CHARS.match(c):
                steps.append(_Field(self.name_or_star()))  # a leading "a.b" is read as ".a.b"
            else:
                raise self.error(f"unexpected {c!r}")
        return tuple(steps)

    def name_or_star(self) -> str:
        if self.peek() == "*":
            self.pos += 1
            return "*"
        m = _NAME_CHARS.match(self.text, self.pos)
        if not m:
            raise self.error("expected a field name")
        self.pos = m.end()
        return m.group(0)

    def bracket(self) -> _Step:
        self.pos += 1  # [
        self.skip_ws()
        if self.peek() == "?":
            step: _Step = self.filter()
        elif self.peek() == "*":
            self.pos += 1
            step = _Wildcard()
        elif self.peek() in ("'", '"'):
            names = [self.string()]
            self.skip_ws()
            while self.peek() == ",":
                self.pos += 1
                self.skip_ws()
                names.append(self.string())
                self.skip_ws()
            step = _Names(tuple(names))
        else:
            step = self.index_or_slice()
        self.skip_ws()
        if self.peek() != "]":
            raise self.error("expected ']'")
        self.pos += 1
        return step

    def string(self) -> str:
        quote = self.peek()
        if quote not in ("'", '"'):
            raise self.error("expected a quoted string")
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text) and self.text[self.pos] != quote:
            if self.text[self.pos] == "\\" and self.pos + 1 < len(self.text):
                self.pos += 1
            out.append(self.text[self.pos])
            self.pos += 1
        if self.pos >= len(self.text):
            raise self.error("unterminated string")
        self.pos += 1
        return "".join(out)

    def integer(self) -> int | None:
        self.skip_ws()
        m = re.compile(r"-?\d+").match(self.text, self.pos)
        if not m:
            return None
        self.pos = m.end()
        self.skip_ws()
        return int(m.group(0))

    def index_or_slice(self) -> _Step:
        first = self.integer()
        if self.peek() == ":":
            self.pos += 1
            stop = self.integer()
            step = None
            if self.peek() == ":":
                self.pos += 1
                step = self.integer()
            if step == 0:
                raise self.error("step must not be 0")
            return _Slice(first, stop, step)
        if first is None:
            raise self.error("expected an index")
        indexes = [first]
        while self.peek() == ",":
            self.pos += 1
            nxt = self.integer()
            if nxt is None:
                raise self.error("expected an index")
            indexes.append(nxt)
        return _Index(tuple(indexes))

    def filter(self) -> _Filter:
        self.pos += 1  # ?
        self.skip_ws()
        if self.peek() != "(":
            raise self.error("expected '(' after '?'")
        self.pos += 1
        left, left_literal = self.operand()
        self.skip_ws()
        op = "exists"
        right: tuple[Any, ...] | None = None
        right_literal: Any = None
        for candidate in ("==", "!=", "<=", ">=", "<", ">"):
            if self.text.startswith(candidate, self.pos):
                op = candidate
                self.pos += len(candidate)
                right, right_literal = self.operand()
                self.skip_ws()
                break
        if self.peek() != ")":
            raise self.error("expected ')' to close the filter")
        self.pos += 1
        if op == "exists" and left is None:
            raise self.error("a filter needs a comparison or an @ path")
        return _Filter(left, left_literal, op, right, right_literal)

    def operand(self) -> tuple[tuple[Any, ...] | None, Any]:
        self.skip_ws()
        c = self.peek()
        if c == "@":
            self.pos += 1
            return self.path(relative=True), None
        if c in ("'", '"'):
            return None, self.string()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return None, value
        m = _NUMBER_RE.match(self.text, self.pos)
        if m:
            self.pos = m.end()
            literal = m.group(0)
            return None, float(literal) if any(ch in literal for ch in ".eE") else int(literal)
        raise self.error("expected @, a string, a number or a boolean")


def parse(expr: str) -> tuple[Any, ...]:
    """Parse a JSONPath expression into steps (cached by the caller if it wishes)."""
    text = expr.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if not text:
        raise JSONPathError(f"empty JSONPath expression {expr!r}")
    return _Parser(text).path()


_CACHE: dict[str, tuple[Any, ...]] = {}


def _compiled(expr: str) -> tuple[Any, ...]:
    steps = _CACHE.get(expr)
    if steps is None:
        steps = parse(expr)
        if len(_CACHE) > 1024:
            _CACHE.clear()
        _CACHE[expr] = steps
    return steps


# ---------------------------------------------------------------------------------------------------
# evaluation


def evaluate(obj: Any, expr: str) -> list[Any]:
    """Every value ``expr`` selects in ``obj``, in document order; an empty list when nothing matches."""
    return _run(obj, _compiled(expr))


def _run(obj: Any, steps: tuple[Any, ...]) -> list[Any]:
    current = [obj]
    for step in steps:
        nxt: list[Any] = []
        for node in current:
            nxt.extend(_apply(node, step))
        current = nxt
        if not current:
            break
    return current


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [node[k] for k in sorted(node)]
    if isinstance(node, list):
        return list(node)
    return []


def _apply(node: Any, step: Any) -> list[Any]:
    if isinstance(step, _Field):
        if step.name == "*":
            return _children(node)
        if isinstance(node, dict) and step.name in node:
            return [node[step.name]]
        return []
    if isinstance(step, _Names):
        if isinstance(node, dict):
            return [node[n] for n in step.names if n in node]
        return []
    if isinstance(step, _Wildcard):
        return _children(node)
    if isinstance(step, _Index):
        if not isinstance(node, list):
            return []
        out = []
        for i in step.indexes:
            j = i + len(node) if i < 0 else i
            if 0 <= j < len(node):
                out.append(node[j])
        return out
    if isinstance(step, _Slice):
        if not isinstance(node, list):
            return []
        return node[step.start : step.stop : step.step]
    if isinstance(step, _Recursive):
        out = []
        stack = [node]
        while stack:
            here = stack.pop(0)
            if isinstance(here, dict):
                if step.name == "*":
                    out.extend(here[k] for k in sorted(here))
                elif step.name in here:
                    out.append(here[step.name])
            elif isinstance(here, list) and step.name == "*":
                out.extend(here)
            stack.extend(_children(here))
        return out
    if isinstance(step, _Filter):
        items = node if isinstance(node, list) else [node] if isinstance(node, dict) else []
        return [item for item in items if _filter_ok(item, step)]
    return []  # pragma: no cover


def _operand(item: Any, path: tuple[Any, ...] | None, literal: Any) -> tuple[bool, Any]:
    if path is None:
        return True, literal
    found = _run(item, path)
    if not found:
        return False, None
    return True, found[0]


def _filter_ok(item: Any, flt: _Filter) -> bool:
    ok, left = _operand(item, flt.left, flt.left_literal)
    if flt.op == "exists":
        return ok
    ok_right, right = _operand(item, flt.right, flt.right_literal)
    if not ok or not ok_right:
        return flt.op == "!=" and ok != ok_right
    if flt.op == "==":
        return _same(left, right)
    if flt.op == "!=":
        return not _same(left, right)
    if _is_number(left) and _is_number(right):
        a, b = float(left), float(right)
    elif isinstance(left, str) and isinstance(right, str):
        return _compare(flt.op, left, right)
    else:
        return False
    return _compare(flt.op, a, b)


def _compare(op: str, a: Any, b: Any) -> bool:
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _same(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return float(a) == float(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return type(a) is type(b) and bool(a == b)


# ---------------------------------------------------------------------------------------------------
# table cells


def human_duration(seconds: float) -> str:
    """kube's ``duration.HumanDuration``: ``12s``, ``5m30s``, ``3h``, ``2d4h``, ``1y``..."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def _parse_time(value: str) -> datetime.datetime | None:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed


def _go_print(value: Any) -> str:
    """How kube's JSONPath printer renders a value (Go's fmt for maps and slices)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_print(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_print(v) for v in value) + "]"
    return json.dumps(value)


def format_cell(values: list[Any], type: str, format: str = "", *, now: datetime.datetime | None = None) -> Any:
    """The Table cell for a printer column of ``type`` (string, integer, number, boolean, date) from
    the values `evaluate` returned: only the first value counts; missing or ill-typed gives ``None``
    (kubectl prints ``<none>``); a ``date`` becomes its age relative to ``now`` (default: the current
    time), ``<invalid>`` when unparseable. ``format`` (e.g. ``name``) does not change the value."""
    del format  # informational for clients; kube does not transform cells by format
    if not values or values[0] is None:
        return None
    value = values[0]
    if type == "string":
        return _go_print(value)
    if type == "integer":
        if _is_number(value):
            return int(value)
        return None
    if type == "number":
        if _is_number(value):
            return float(value)
        return None
    if type == "boolean":
        return value if isinstance(value, bool) else None
    if type == "date":
        if not isinstance(value, str):
            return None
        parsed = _parse_time(value)
        if parsed is None:
            return "<invalid>"
        moment = now if now is not None else datetime.datetime.now(datetime.UTC)
        return human_duration((moment - parsed).total_seconds())
    return None
