"""The CEL cost budget of a CRD schema: what every ``x-kubernetes-validations`` rule (and its
``messageExpression``) may cost in the worst case, and the refusals kube-apiserver makes when a CRD is
created or updated and a rule costs more than 10,000,000 units or all of them together more than
100,000,000. Without it the embedded API server would install CRDs that a real cluster refuses.

Callers: ``issuer.testing.schema.check_structural``, which the embedded API server runs on every CRD
create and update, appends `budget_problems` (kube's ``<field>: Forbidden: ...`` causes, HTTP 422);
tests read `estimate` for the figures.

How the figures come about, following what Kubernetes' estimator (cel-go's checker with the apiextensions
size estimator and the Kubernetes libraries' cost functions) does; the code here is our own. Each rule is
parsed by a small CEL parser in this module (macros expand to the comprehensions cel-go builds), typed
from the schema as far as costs need it, and walked bottom-up. An identifier or field selection costs 1
(plus 1 selecting from an object or map), ``has()`` its operand, a literal 0, list and map literals 10 and
30, ``&&``/``||`` the sum of both sides, ``?:`` the condition plus the dearer branch, any other call 1 plus
its arguments, except calls whose work grows with their input: ``matches``/``find`` cost
ceil((size+1)/10) x ceil(len(regex)/4), string concatenation, ``==``/``!=`` and string ordering a tenth
of the sizes involved, ``in`` on a list its length, ``startsWith``/``lowerAscii``/``split``/... a tenth
of the string or two, and the other Kubernetes, strings, sets and lists functions what their cost
functions say. A comprehension (``all``, ``exists``, ``exists_one``, ``map``, ``filter``, the two-variable
forms and ``transformList``/``transformMap``) costs its range, accumulator and result once plus condition
and step for as many elements as the range may hold. Sizes: a string is 4 bytes per ``maxLength``
character (``format: byte`` 1 per character), an enum its longest value, ``duration``/``date-time``
strings 32, ``date`` 12, a resource root's ``metadata.name`` 253 characters; lists and maps hold
``maxItems``/``maxProperties`` elements, or else as many of their smallest serialized elements as fit in
a 3 MiB request; map keys, numbers, booleans and objects reached by a field path count 0, literals their
length, call results what their cost function says, and anything else (``string(int)``, ``format()``) is
unbounded (2**64-1). Field paths are kept as cel-go keeps them, Go slices extended by append(), so that
``o.tags`` inside ``self.l.all(o, o.tags.all(t, t == o.name))`` is later sized as ``o.name``, as kube
does. A rule's cost is multiplied by every enclosing ``maxItems``/``maxProperties`` (if one is missing: by
how many values of the rule's node fit into a request); a messageExpression's is not. On our six CRDs and
the cases in tests/unit/testing/test_celcost.py every figure and message equals kube-apiserver 1.37's.

Left out, towards higher estimates where it matters: a rule that would not type-check is costed anyway
(kube refuses it for that); ``dyn`` operands are costed as the dearest overload they could stand for;
only maxima are kept (``replace()`` with a non-literal pattern assumes the shortest). Not modelled: the
``sortBy`` macro, message construction ``T{...}`` (not parsed: such a rule is skipped, as are rules that
do not parse), kube's runtime cost limit (a per-evaluation budget), its exemption of unchanged schemas
from the per-rule limit on CRD updates, and rules inside ``allOf``/``anyOf``/``oneOf``/``not`` (kube
compiles none there either).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["PER_CRD_LIMIT", "PER_EXPRESSION_LIMIT", "Estimate", "budget_problems", "estimate", "parse"]

PER_EXPRESSION_LIMIT: Final = 10_000_000
PER_CRD_LIMIT: Final = 100_000_000
_REQUEST: Final = 3 * 1024 * 1024  # kube's largest request body, which bounds everything unbounded
_U64: Final = 2**64 - 1
_U64F: Final = float(_U64)
_ADVICE: Final = (
    "(try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, "
    "and strings are declared)"
)


@dataclass(frozen=True)
class Estimate:
    """The cost kube compares with the per-expression limit for one rule or messageExpression: ``field``
    (e.g. ``openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule``), ``per_call`` (one
    evaluation), ``cardinality`` (how often the rule's node may occur; 1 for a messageExpression) and
    ``cost``, their product (saturating at 2**64-1 as kube's does)."""

    field: str
    per_call: int
    cardinality: int
    cost: int


# ---------------------------------------------------------------------------------------------------
# saturating arithmetic as cel-go's (uint64 estimates; floats where cel-go uses them)


def _add(a: int, b: int) -> int:
    s = a + b
    return _U64 if s > _U64 else s


def _mul(a: int, b: int) -> int:
    p = a * b
    return _U64 if p > _U64 else p


def _factor(x: int, f: float) -> int:
    """ceil(x * f) in float64 as cel-go rounds it."""
    xf = float(x)
    if xf > 0 and f > 0 and xf > _U64F / f:
        return _U64
    c = math.ceil(xf * f)
    return _U64 if c >= 2**64 else int(c)


# ---------------------------------------------------------------------------------------------------
# parsing: CEL text to a small AST (tuples), macros expanded the way cel-go expands them
#
#   ("lit", type, size, int value | None)  ("id", name)  ("sel", operand, field)  ("test", operand, field)  (has())
#   ("call", function, target | None, [args])  ("list", [items])  ("map", [(key, value)])
#   ("comp", range, var1, var2 | None, init, condition, step, result)

_Ast = tuple[Any, ...]


class _Syntax(Exception):
    pass


_TOKEN: Final = re.compile(
    r"""
    (?P<skip>[ \t\n\r\f]+|//[^\n]*)
  | (?P<str>(?:[rR][bB]?|[bB][rR])(?:'''.*?'''|\"\"\".*?\"\"\"|'[^'\n]*'|"[^"\n]*")
          | [bB]?(?:'''(?:\\.|[^\\])*?'''|\"\"\"(?:\\.|[^\\])*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))
  | (?P<num>0[xX][0-9a-fA-F]+[uU]?|[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+|[0-9]+[uU]?)
  | (?P<id>[_a-zA-Z][_a-zA-Z0-9]*)
  | (?P<op>\|\||&&|==|!=|<=|>=|\[\?|[-+*/%!<>?:.,()\[\]{}])
    """,
    re.X | re.S,
)
_ESCAPE: Final = re.compile(r"\\(?:[0-7]{3}|[xX][0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.S)
_RELATIONS: Final = {"<": "_<_", "<=": "_<=_", ">": "_>_", ">=": "_>=_", "==": "_==_", "!=": "_!=_", "in": "@in"}
_ACCU: Final = "@result"
_TRUE: Final = ("lit", "bool", 1, None)
_FALSE: Final = ("lit", "bool", 1, None)
_ONE: Final = ("lit", "int", 1, 1)
_ZERO: Final = ("lit", "int", 1, 0)


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    pos, end = 0, len(text)
    match = _TOKEN.match
    while pos < end:
        m = match(text, pos)
        if m is None:
            raise _Syntax(f"unexpected character at {pos}")
        kind = m.lastgroup
        assert kind is not None
        if kind != "skip":
            out.append((kind, m.group()))
        pos = m.end()
    out.append(("end", ""))
    return out


def _string_literal(token: str) -> _Ast:
    quote = min(i for i in (token.find("'"), token.find('"')) if i >= 0)
    prefix = token[:quote].lower()
    width = 3 if token[quote : quote + 3] in ("'''", '"""') else 1
    body = token[quote + width : len(token) - width]
    is_bytes = "b" in prefix
    if "r" in prefix:
        return ("lit", "bytes", len(body.encode()), None) if is_bytes else ("lit", "string", len(body), None)
    escapes = _ESCAPE.findall(body)
    if is_bytes:
        plain = _ESCAPE.sub("", body)
        return ("lit", "bytes", len(plain.encode()) + len(escapes), None)
    return ("lit", "string", len(body) - sum(len(e) - 1 for e in escapes), None)


class _Parser:
    """Recursive descent over cel-go's grammar: ternary, ||, &&, relations, + -, * / %, unary, member."""

    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> str:
        return self.toks[self.i][1]

    def take(self, text: str | None = None) -> tuple[str, str]:
        tok = self.toks[self.i]
        if text is not None and tok[1] != text:
            raise _Syntax(f"expected {text!r}, found {tok[1]!r}")
        if tok[0] == "end":
            raise _Syntax("unexpected end")
        self.i += 1
        return tok

    def parse(self) -> _Ast:
        node = self.expr()
        if self.toks[self.i][0] != "end":
            raise _Syntax(f"unexpected {self.peek()!r}")
        return node

    def expr(self) -> _Ast:
        cond = self.binary(0)
        if self.peek() != "?":
            return cond
        self.take()
        yes = self.binary(0)
        self.take(":")
        return ("call", "_?_:_", None, [cond, yes, self.expr()])

    _LEVELS: Final = (
        {"||": "_||_"},
        {"&&": "_&&_"},
        _RELATIONS,
        {"+": "_+_", "-": "_-_"},
        {"*": "_*_", "/": "_/_", "%": "_%_"},
    )

    def binary(self, level: int) -> _Ast:
        if level == len(self._LEVELS):
            return self.unary()
        ops = self._LEVELS[level]
        left = self.binary(level + 1)
        while True:
            tok = self.toks[self.i]
            function = ops.get(tok[1]) if tok[0] in ("op", "id") else None
            if function is None:
                return left
            self.i += 1
            left = ("call", function, None, [left, self.binary(level + 1)])

    def unary(self) -> _Ast:
        tok = self.peek()
        if tok == "-" and self.toks[self.i + 1][0] == "num" and self.toks[self.i + 1][1][-1] not in "uU":
            return self.member()  # a negative number literal, as cel-go's grammar reads it
        if tok in ("!", "-"):
            count = 0
            while self.peek() == tok:
                self.take()
                count += 1
            operand = self.member()
            return ("call", "!_" if tok == "!" else "-_", None, [operand]) if count % 2 else operand
        return self.member()

    def member(self) -> _Ast:
        node = self.primary()
        while True:
            tok = self.peek()
            if tok == ".":
                self.take()
                optional = self.peek() == "?"
                if optional:
                    self.take()
                kind, name = self.take()
                if kind != "id":
                    raise _Syntax("field name expected")
                if optional:
                    node = ("call", "_?._", None, [node, ("lit", "string", len(name), None)])
                elif self.peek() == "(":
                    node = _member_call(node, name, self.args(")"))
                else:
                    node = ("sel", node, name)
            elif tok in ("[", "[?"):
                self.take()
                index = self.expr()
                self.take("]")
                node = ("call", "_[_]" if tok == "[" else "_[?_]", None, [node, index])
            elif tok == "{":
                raise _Syntax("message construction is not modelled")
            else:
                return node

    def args(self, close: str) -> list[_Ast]:
        self.take()
        out: list[_Ast] = []
        while self.peek() != close:
            if self.peek() == "?":  # optional list/map entries
                self.take()
            out.append(self.expr())
            if self.peek() != ",":
                break
            self.take()
        self.take(close)
        return out

    def primary(self) -> _Ast:
        kind, text = self.take()
        if kind == "num" or (text == "-" and self.toks[self.i][0] == "num"):
            sign = 1
            if text == "-":
                sign, text = -1, self.take()[1]
            low = text.lower()
            if low[-1] == "u":
                return ("lit", "uint", 1, int(low[:-1], 16 if low.startswith("0x") else 10))
            if low.startswith("0x"):
                return ("lit", "int", 1, sign * int(low, 16))
            if "." in low or "e" in low:
                return ("lit", "double", 1, None)
            return ("lit", "int", 1, sign * int(low, 10))
        if kind == "str":
            return _string_literal(text)
        if kind == "id":
            if text in ("true", "false"):
                return ("lit", "bool", 1, None)
            if text == "null":
                return ("lit", "null", 1, None)
            if self.peek() == "(":
                return _global_call(text, self.args(")"))
            return ("id", text)
        if text == ".":
            kind, name = self.take()
            if kind != "id":
                raise _Syntax("identifier expected")
            return _global_call(name, self.args(")")) if self.peek() == "(" else ("id", name)
        if text == "(":
            node = self.expr()
            self.take(")")
            return node
        if text == "[":
            self.i -= 1
            return ("list", self.args("]"))
        if text == "{":
            entries: list[tuple[_Ast, _Ast]] = []
            while self.peek() != "}":
                if self.peek() == "?":
                    self.take()
                key = self.expr()
                self.take(":")
                entries.append((key, self.expr()))
                if self.peek() != ",":
                    break
                self.take()
            self.take("}")
            return ("map", entries)
        raise _Syntax(f"unexpected {text!r}")


def _global_call(name: str, args: list[_Ast]) -> _Ast:
    if name == "has":
        if len(args) != 1 or args[0][0] != "sel":
            raise _Syntax("has() needs a field selection")
        return ("test", args[0][1], args[0][2])
    return ("call", name, None, args)


def _var(node: _Ast) -> str:
    if node[0] != "id":
        raise _Syntax("iteration variable expected")
    name: str = node[1]
    return name


def _member_call(target: _Ast, name: str, args: list[_Ast]) -> _Ast:
    """A receiver call, or the comprehension a receiver macro expands to (cel-go's parser and its
    two-variable comprehension extension)."""
    accu: _Ast = ("id", _ACCU)
    n = len(args)
    if name in ("all", "exists", "exists_one", "existsOne") and n in (2, 3) and (n == 2 or name != "exists_one"):
        var1, var2 = _var(args[0]), (_var(args[1]) if n == 3 else None)
        pred = args[-1]
        if name == "all":
            return ("comp", target, var1, var2, _TRUE, ("call", "@not_strictly_false", None, [accu]),
                    ("call", "_&&_", None, [accu, pred]), accu)
        if name == "exists":
            return ("comp", target, var1, var2, _FALSE,
                    ("call", "@not_strictly_false", None, [("call", "!_", None, [accu])]),
                    ("call", "_||_", None, [accu, pred]), accu)
        return ("comp", target, var1, var2, _ZERO, _TRUE,
                ("call", "_?_:_", None, [pred, ("call", "_+_", None, [accu, _ONE]), accu]),
                ("call", "_==_", None, [accu, _ONE]))
    if name == "map" and n in (2, 3):
        step: _Ast = ("call", "_+_", None, [accu, ("list", [args[-1]])])
        if n == 3:
            step = ("call", "_?_:_", None, [args[1], step, accu])
        return ("comp", target, _var(args[0]), None, ("list", []), _TRUE, step, accu)
    if name == "filter" and n == 2:
        var = _var(args[0])
        step = ("call", "_+_", None, [accu, ("list", [("id", var)])])
        return ("comp", target, var, None, ("list", []), _TRUE, ("call", "_?_:_", None, [args[1], step, accu]), accu)
    if name in ("transformList", "transformMap", "transformMapEntry") and n in (3, 4):
        var1, var2 = _var(args[0]), _var(args[1])
        if name == "transformList":
            init: _Ast = ("list", [])
            step = ("call", "_+_", None, [accu, ("list", [args[-1]])])
        elif name == "transformMap":
            init, step = ("map", []), ("call", "cel.@mapInsert", None, [accu, ("id", var1), args[-1]])
        else:
            init, step = ("map", []), ("call", "cel.@mapInsert", None, [accu, args[-1]])
        if n == 4:
            step = ("call", "_?_:_", None, [args[2], step, accu])
        return ("comp", target, var1, var2, init, _TRUE, step, accu)
    return ("call", name, target, args)


_PARSED: dict[str, _Ast | None] = {}


def parse(text: str) -> _Ast | None:
    """The AST of a CEL expression (cached by text), or None if it does not parse here."""
    if text in _PARSED:
        return _PARSED[text]
    try:
        node: _Ast | None = _Parser(text).parse()
    except (_Syntax, RecursionError, IndexError):
        node = None
    if len(_PARSED) > 4096:
        _PARSED.clear()
    _PARSED[text] = node
    return node


# ---------------------------------------------------------------------------------------------------
# declarations: what kube's SchemaDeclType makes of a schema node (kind, size bound, smallest JSON size)


class _Decl:
    __slots__ = ("elem", "fields", "key", "kind", "max", "min")

    def __init__(self, kind: str, max_: int, min_: int, fields: dict[str, _Decl] | None = None,
                 elem: _Decl | None = None, key: _Decl | None = None) -> None:
        self.kind = kind  # string bytes duration timestamp int double bool dyn list map object
        self.max = max_  # kube's MaxElements: string bytes, list items, map entries; 0 for the rest
        self.min = min_  # kube's MinSerializedSize
        self.fields = fields
        self.elem = elem
        self.key = key


_KEY: Final = _Decl("string", 0, 2)
_UNBOUNDED_STRING: Final = {"type": "string"}
_RESERVED: Final = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if",
    "import", "let", "loop", "package", "namespace", "return", "var", "void", "while",
})
_PLAIN_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPABLE: Final = re.compile(r"[A-Za-z_./-][A-Za-z0-9_./-]*")
_NAME_PART: Final = re.compile(r"__|[./-]")
_NAME_ESCAPES: Final = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}


def _escape(name: str) -> str | None:
    """A property name as CEL sees it (kube's escaping), or None if CEL cannot see it."""
    if name in _RESERVED:
        return f"__{name}__"
    if _PLAIN_NAME.fullmatch(name) and "__" not in name:
        return name
    if not _ESCAPABLE.fullmatch(name):
        return None
    return _NAME_PART.sub(lambda m: _NAME_ESCAPES[m.group()], name)


def _with_object_meta(schema: dict[str, Any]) -> dict[str, Any]:
    """A resource root sees apiVersion, kind and metadata.name/generateName whatever its schema says (unless
    it declares all four, the names at most 253 and 252 characters long, or shorter if declared so)."""
    props = schema.get("properties")
    props = props if isinstance(props, dict) else {}
    meta = props.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    meta_props = meta.get("properties")
    meta_props = meta_props if isinstance(meta_props, dict) else {}

    def is_type(node: Any, typ: str) -> bool:
        return isinstance(node, dict) and node.get("type") == typ

    if (is_type(props.get("kind"), "string") and is_type(props.get("apiVersion"), "string")
            and is_type(meta, "object") and is_type(meta_props.get("name"), "string")
            and is_type(meta_props.get("generateName"), "string")):
        return schema

    def capped(node: Any, limit: int) -> dict[str, Any]:
        declared = _count(node, "maxLength") if isinstance(node, dict) else None
        return {"type": "string", "maxLength": limit if declared is None else min(declared, limit)}

    meta = {"type": "object", "properties": {"name": capped(meta_props.get("name"), 253),
                                             "generateName": capped(meta_props.get("generateName"), 252)}}
    new_props = {**props, "kind": _UNBOUNDED_STRING, "apiVersion": _UNBOUNDED_STRING, "metadata": meta}
    return {**schema, "properties": new_props}


def _count(schema: dict[str, Any], key: str) -> int | None:
    value = schema.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 0)
    return None


class _Decls:
    """SchemaDeclType over one schema, memoized per node (nodes are kept alive, so ids stay unique)."""

    def __init__(self) -> None:
        self.memo: dict[tuple[int, bool], tuple[dict[str, Any], _Decl | None]] = {}

    def of(self, schema: Any, resource_root: bool) -> _Decl | None:
        if not isinstance(schema, dict):
            return None
        key = (id(schema), resource_root)
        hit = self.memo.get(key)
        if hit is not None:
            return hit[1]
        decl = self._build(schema, resource_root)
        self.memo[key] = (schema, decl)
        return decl

    def _build(self, schema: dict[str, Any], resource_root: bool) -> _Decl | None:
        max_length = _count(schema, "maxLength")
        if schema.get("x-kubernetes-int-or-string"):
            return _Decl("dyn", max_length * 4 if max_length is not None else _REQUEST - 2, 1)
        if resource_root:
            schema = _with_object_meta(schema)
        typ = schema.get("type")
        if typ == "array":
            items = schema.get("items")
            item = self.of(items, isinstance(items, dict) and bool(items.get("x-kubernetes-embedded-resource")))
            if item is None:
                return None
            max_items = _count(schema, "maxItems")
            return _Decl("list", max_items if max_items is not None else (_REQUEST - 2) // (item.min + 1), 2,
                         elem=item)
        if typ == "object":
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                value = self.of(extra, bool(extra.get("x-kubernetes-embedded-resource")))
                if value is None:
                    return None
                max_props = _count(schema, "maxProperties")
                return _Decl("map", max_props if max_props is not None else (_REQUEST - 2) // (value.min + 6), 2,
                             elem=value, key=_KEY)
            fields: dict[str, _Decl] = {}
            smallest = 2
            required = schema.get("required")
            required = required if isinstance(required, list) else []
            props = schema.get("properties")
            for name, prop in (props.items() if isinstance(props, dict) else ()):
                field = self.of(prop, isinstance(prop, dict) and bool(prop.get("x-kubernetes-embedded-resource")))
                if field is None:
                    continue
                escaped = _escape(name)
                if escaped is not None:
                    fields[escaped] = field
                if name in required and "default" not in prop:
                    smallest += len(name.encode()) + field.min + 4
            return _Decl("object", 0, smallest, fields=fields)
        if typ == "string":
            fmt = schema.get("format")
            if fmt == "byte":
                return _Decl("bytes", max_length if max_length is not None else _REQUEST - 2, 2)
            if fmt == "duration":
                return _Decl("duration", 32, 3)
            if fmt == "date":
                return _Decl("timestamp", 12, 12)
            if fmt == "date-time":
                return _Decl("timestamp", 32, 21)
            if max_length is not None:
                return _Decl("string", max_length * 4, 2)
            enum = schema.get("enum")
            if isinstance(enum, list) and enum:
                return _Decl("string", max((len(v.encode()) for v in enum if isinstance(v, str)), default=0), 2)
            return _Decl("string", _REQUEST - 2, 2)
        if typ == "boolean":
            return _Decl("bool", 0, 4)
        if typ == "number":
            return _Decl("double", 0, 1)
        if typ == "integer":
            return _Decl("int", 0, 1)
        return None


# ---------------------------------------------------------------------------------------------------
# the cost walk over one expression
#
# Types: a _Decl (schema values), a primitive name (int uint double string bytes bool null duration
# timestamp dyn type), or ("list", T), ("map", K, V), ("opt", T) for values built by the expression.

_SCALARS: Final = frozenset({"bool", "double", "duration", "int", "timestamp", "uint"})
_Entry = tuple[str, int, int]  # container kind, largest key (list: 1), largest value


def _kind(t: Any) -> str:
    if isinstance(t, str):
        return t
    if isinstance(t, _Decl):
        return t.kind
    kind: str = t[0]
    return kind


def _elem(t: Any) -> Any:
    if isinstance(t, _Decl):
        return t.elem or "dyn"
    if isinstance(t, tuple):
        return t[-1]
    return "dyn"


def _key(t: Any) -> Any:
    if isinstance(t, _Decl):
        return t.key or "dyn"
    if isinstance(t, tuple) and t[0] == "map":
        return t[1]
    return "dyn"


def _scalar(t: Any) -> bool:
    kind = _kind(t)
    return kind in _SCALARS or (kind == "opt" and _scalar(t[1]))


_SIZE_CLASSES: Final = (16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352,
                         384, 416, 448, 480, 512)


class _Path:
    """A field path as cel-go holds it: a Go slice (a view of ``n`` names of a shared array). cel-go
    extends paths with append(), so a path with spare capacity is extended in place, and two extensions
    of it share one slot: the later one renames what the earlier one points to (``o.tags`` becomes
    ``o.name`` once ``o.name`` is walked). Sizes read late, a comprehension's range count after its body,
    see the renamed path; kube's estimates include that, so do these."""

    __slots__ = ("array", "n")

    def __init__(self, array: list[str], n: int) -> None:
        self.array = array  # len(array) is the Go capacity
        self.n = n

    def names(self) -> list[str]:
        return self.array[: self.n]

    @staticmethod
    def extend(path: _Path | None, name: str) -> _Path:
        if path is None:
            return _Path([name], 1)
        array, n = path.array, path.n
        if n < len(array):
            array[n] = name
            return _Path(array, n + 1)
        cap = 2 * len(array) if n + 1 <= 2 * len(array) else n + 1  # Go's growslice below 256 elements
        cap = next((size // 16 for size in _SIZE_CLASSES if size >= cap * 16), cap)  # strings: 16 bytes each
        return _Path([*array[:n], name, *[""] * (cap - n - 1)], n + 1)


class _R:
    """What the walk knows about one evaluated expression: its cost, type, field path (kube sizes values
    by their path from ``self``), a size fixed by the expression itself, the sizes of its entries (list
    and map values built in the expression) and, for a local variable, the size it was bound with."""

    __slots__ = ("cost", "entry", "fixed", "literal", "local", "path", "type")

    def __init__(self, cost: int, typ: Any, path: _Path | None = None, fixed: int | None = None,
                 entry: _Entry | None = None, local: int | None = None, literal: _Ast | None = None) -> None:
        self.cost = cost
        self.type = typ
        self.path = path
        self.fixed = fixed
        self.entry = entry
        self.local = local
        self.literal = literal


@dataclass
class _Local:
    type: Any
    path: _Path | None
    size: int | None
    entry: _Entry | None


_BOOL_RESULTS: Final = frozenset({
    "matches", "startsWith", "endsWith", "contains", "@in", "_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_",
    "!_", "_&&_", "_||_", "@not_strictly_false", "isSorted", "isURL", "isIP", "isCIDR", "isQuantity",
    "isSemver", "hasValue", "isInteger", "isGreaterThan", "isLessThan", "isUnspecified", "isLoopback",
    "isLinkLocalMulticast", "isLinkLocalUnicast", "isGlobalUnicast", "containsIP", "containsCIDR",
    "ip.isCanonical", "sets.contains", "sets.equivalent", "sets.intersects", "allowed", "errored", "bool",
    "includes",
})
_INT_RESULTS: Final = frozenset({
    "size", "int", "getSeconds", "getMilliseconds", "getMinutes", "getHours", "getFullYear", "getMonth",
    "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "indexOf", "lastIndexOf", "prefixLength",
    "family", "sign", "asInteger", "compareTo", "major", "minor", "patch",
})
_STRING_RESULTS: Final = frozenset({
    "string", "lowerAscii", "upperAscii", "replace", "substring", "trim", "format", "join", "charAt", "find",
    "strings.quote", "getScheme", "getHostname", "getHost", "getPort", "getEscapedPath", "reason",
    "jsonpatch.escapeKey",
})
_SIMPLE_RESULTS: Final = {"duration": "duration", "timestamp": "timestamp", "double": "double", "uint": "uint",
                          "bytes": "bytes", "type": "type", "dyn": "dyn", "split": ("list", "string"),
                          "findAll": ("list", "string"), "lists.range": ("list", "int"), "quantity": "quantity",
                          "ip": "ip", "cidr": "cidr", "masked": "cidr", "url": "url", "semver": "semver",
                          "format.named": ("opt", "format")}
_LIBRARY_TYPES: Final = frozenset({"ip", "cidr", "quantity", "semver"})  # kube compares them in constant time
_UNIT_COST: Final = frozenset({
    "serviceAccount", "path", "group", "resource", "subresource", "namespace", "name", "allowed", "reason",
    "error", "errored", "masked", "prefixLength", "family", "isUnspecified", "isLoopback", "isLinkLocalMulticast",
    "isLinkLocalUnicast", "isGlobalUnicast", "format.named", "sign", "asInteger", "isInteger",
    "asApproximateFloat", "isGreaterThan", "isLessThan", "compareTo", "add", "sub", "major", "minor", "patch",
    "getScheme", "getHostname", "getHost", "getPort", "getEscapedPath", "getQuery",
})
_QUALIFIED: Final = frozenset({"lists", "sets", "strings", "format", "ip", "optional", "cel", "math", "base64"})


class _Coster:
    """cel-go's cost estimate of one expression against the declaration of its ``self``."""

    def __init__(self, root: _Decl, optional_old_self: bool) -> None:
        self.root = root
        self.old_self: Any = ("opt", root) if optional_old_self else root
        self.locals: dict[str, list[_Local]] = {}

    # --- sizes

    def by_path(self, path: _Path | None, extra: str | None = None) -> int | None:
        """kube's size estimator: walk the declarations from ``self`` (whatever the variable is called)."""
        if path is None or path.n == 0:
            return None
        names = path.names()
        if extra is not None:
            names.append(extra)
        node: _Decl | None = self.root
        for name in names[1:]:
            assert node is not None
            if name in ("@items", "@values"):
                node = node.elem
            elif name == "@keys":
                node = node.key
            else:
                node = node.fields.get(name) if node.fields is not None else None
            if node is None:
                return None
        assert node is not None
        return node.max

    def size(self, r: _R) -> int | None:
        if r.fixed is not None:
            return r.fixed
        found = self.by_path(r.path)
        if found is not None:
            return found
        if _scalar(r.type):
            return 1
        return r.local

    def freeze(self, r: _R) -> _R:
        """Fix the size of ``r`` now, as cel-go does for call arguments (its path may be renamed later)."""
        if r.fixed is None:
            r.fixed = self.size(r)
        return r

    def size_or_unknown(self, r: _R) -> int:
        found = self.size(r)
        return _U64 if found is None else found

    def element_size(self, r: _R) -> int:
        """The size of an element of list ``r`` as kube's library cost functions see it: by path only."""
        found = self.by_path(r.path, "@items")
        return _U64 if found is None else found

    # --- the walk

    def cost(self, node: _Ast) -> _R:
        tag = node[0]
        if tag == "lit":
            return _R(0, node[1], fixed=node[2], literal=node)
        if tag == "id":
            return self.ident(node[1])
        if tag == "sel":
            operand = self.cost(node[1])
            kind = _kind(operand.type)
            extra = 1 if kind in ("object", "map") else 0
            if kind == "object":
                fields = operand.type.fields if isinstance(operand.type, _Decl) else None
                typ = (fields or {}).get(node[2], "dyn")
            elif kind == "map":
                typ = _elem(operand.type)
            else:
                typ = "dyn"
            return _R(_add(operand.cost, extra), typ, path=_Path.extend(operand.path, node[2]))
        if tag == "test":
            return _R(self.cost(node[1]).cost, "bool")
        if tag == "call":
            return self.call(node[1], node[2], node[3])
        if tag == "list":
            total, largest, typ = 10, 0, "dyn"
            for item in node[1]:
                r = self.freeze(self.cost(item))
                total = _add(total, r.cost)
                largest = max(largest, self.size_or_unknown(r))
                if typ == "dyn":
                    typ = r.type
            return _R(total, ("list", typ), fixed=len(node[1]), entry=("list", 1, largest))
        if tag == "map":
            total, kmax, vmax, ktyp, vtyp = 30, 0, 0, "dyn", "dyn"
            for k, v in node[1]:
                rk, rv = self.cost(k), self.cost(v)
                total = _add(_add(total, rk.cost), rv.cost)
                kmax, vmax = max(kmax, self.size_or_unknown(rk)), max(vmax, self.size_or_unknown(rv))
                ktyp, vtyp = (rk.type if ktyp == "dyn" else ktyp), (rv.type if vtyp == "dyn" else vtyp)
            return _R(total, ("map", ktyp, vtyp), fixed=len(node[1]), entry=("map", kmax, vmax))
        return self.comprehension(node)

    def ident(self, name: str) -> _R:
        stack = self.locals.get(name)
        if stack:
            v = stack[-1]
            return _R(1, v.type, path=v.path, entry=v.entry, local=v.size)
        typ = self.root if name == "self" else self.old_self if name == "oldSelf" else "dyn"
        return _R(1, typ, path=_Path([name], 1))

    def push(self, name: str, local: _Local) -> None:
        self.locals.setdefault(name, []).append(local)

    def pop(self, name: str) -> None:
        self.locals[name].pop()

    def comprehension(self, node: _Ast) -> _R:
        _, range_, var1, var2, init, cond, step, result = node
        rng = self.cost(range_)
        acc = self.cost(init)
        total = _add(rng.cost, acc.cost)
        self.push(_ACCU, _Local(acc.type, acc.path, self.size(acc), acc.entry))
        entry, kind = rng.entry, (rng.entry[0] if rng.entry else _kind(rng.type))
        if var2 is None:
            if kind == "list":
                self.push(var1, _Local(_elem(rng.type), _Path.extend(rng.path, "@items"), entry[2] if entry else None,
                                       None))
            else:
                self.push(var1, _Local(_key(rng.type), _Path.extend(rng.path, "@keys"), entry[1] if entry else None,
                                       None))
        else:
            listy = kind == "list"
            key_path = _Path.extend(rng.path, "@indices" if listy else "@keys")
            self.push(var1, _Local("int" if listy else _key(rng.type), key_path, entry[1] if entry else None, None))
            self.push(var2, _Local(_elem(rng.type), _Path.extend(rng.path, "@items" if listy else "@values"),
                                   entry[2] if entry else None, None))
        loop = self.cost(cond)
        stepped = self.cost(step)
        self.pop(var1)
        if var2 is not None:
            self.pop(var2)
        if init[0] in ("list", "map"):
            self.locals[_ACCU][-1].type = stepped.type
        done = self.cost(result)
        self.pop(_ACCU)
        count = self.size_or_unknown(rng)
        total = _add(_add(total, done.cost), _mul(count, _add(stepped.cost, loop.cost)))
        if init[0] == "lit":
            return _R(total, done.type, fixed=self.size(acc))
        return _R(total, done.type, fixed=count, entry=stepped.entry)

    # --- calls

    def call(self, function: str, target_node: _Ast | None, arg_nodes: list[_Ast]) -> _R:
        if (target_node is not None and target_node[0] == "id" and target_node[1] in _QUALIFIED
                and not self.locals.get(target_node[1])):
            function, target_node = f"{target_node[1]}.{function}", None  # lists.range(), sets.contains(), ...
        args = [self.freeze(self.cost(a)) for a in arg_nodes]
        argsum = 0
        for a in args:
            argsum = _add(argsum, a.cost)
        target = self.freeze(self.cost(target_node)) if target_node is not None else None
        base = target.cost if target is not None else 0
        if function == "dyn" and len(args) == 1:
            return _R(_add(1, argsum), "dyn", fixed=self.size(args[0]), entry=args[0].entry)
        if function == "_[_]" and len(args) == 2:
            container, kind = args[0], _kind(args[0].type)
            indexed = _R(_add(1, argsum), _elem(container.type),
                         path=_Path.extend(container.path, "@values" if kind == "map" else "@items"))
            if container.entry is not None:
                indexed.fixed = container.entry[2]
            else:
                indexed.fixed = self.by_path(indexed.path)
                if indexed.fixed is None and _scalar(indexed.type):
                    indexed.fixed = 1
            return indexed
        typ = self.result_type(function, target, args)
        found = self.library(function, target, args)
        if found is not None:
            return _R(_add(base, _add(found[0], argsum)), typ, fixed=found[1])
        r = self.core(function, target, args, argsum)
        if r is None:  # constant-time in cel-go: 1 plus the arguments
            return _R(_add(base, _add(1, argsum)), typ)
        r.cost = _add(base, r.cost)
        if r.type is None:
            r.type = typ
        return r

    def result_type(self, function: str, target: _R | None, args: list[_R]) -> Any:
        if function in _BOOL_RESULTS:
            return "bool"
        if function in _INT_RESULTS:
            return "int"
        if function in _STRING_RESULTS:
            return "string"
        simple = _SIMPLE_RESULTS.get(function)
        if simple is not None:
            return simple
        if function.startswith("format."):
            return "format"
        first = target if target is not None else (args[0] if args else None)
        if first is None:
            return "dyn"
        t = first.type
        if function in ("_+_", "_-_", "_*_", "_/_", "_%_", "-_") and args:
            kinds = [_kind(a.type) for a in args]
            if function == "_-_" and kinds == ["timestamp", "timestamp"]:
                return "duration"
            if function == "_+_" and "timestamp" in kinds:
                return "timestamp"
            if function == "_+_" and kinds[0] == "list" and len(args) == 2 and _kind(_elem(t)) == "dyn":
                return args[1].type
            return t if kinds[0] != "dyn" or len(args) < 2 else args[1].type
        if function == "_?_:_" and len(args) == 3:
            return args[1].type if _kind(args[1].type) not in ("dyn", "null") else args[2].type
        if function in ("sum", "min", "max"):
            return _elem(t)
        if function in ("reverse", "distinct", "sort", "slice"):
            return t
        if function in ("add", "sub"):
            return t
        if function in ("value", "orValue"):
            return t[1] if _kind(t) == "opt" else "dyn"
        if function in ("first", "last"):
            return ("opt", _elem(t))
        if function in ("optional.of", "optional.ofNonZeroValue", "optional.none", "or", "_?._", "_[?_]"):
            return ("opt", "dyn")
        if function == "getQuery":
            return ("map", "string", ("list", "string"))
        return "dyn"

    def library(self, function: str, target: _R | None, args: list[_R]) -> tuple[int, int | None] | None:
        """Cost functions of the sets and lists extensions and of Kubernetes' libraries, by name as kube
        looks them up before cel-go's own: (call cost without arguments, result size or None)."""
        n = len(args)
        if function == "_==_" and n == 2 and _kind(args[0].type) == _kind(args[1].type):
            kind = _kind(args[0].type)
            if kind in _LIBRARY_TYPES:
                return 1, None
            if kind == "format":
                return _factor(64, 0.1), None
            if kind == "url":  # kube sizes both sides by the right one
                return _factor(args[1].fixed if args[1].fixed is not None else 1, 0.1), None
        if function in ("sets.contains", "sets.intersects", "sets.equivalent") and n == 2:
            product = _mul(self.size_or_unknown(args[0]), self.size_or_unknown(args[1]))
            return _add(_factor(product, 2.0 if function == "sets.equivalent" else 1.0), 1), None
        if target is not None and n == 0 and function in ("reverse", "distinct", "sort", "flatten"):
            size = self.size_or_unknown(target)
            if function in ("reverse", "flatten"):
                return _add(_add(_factor(size, 1.0), 1), 10), size
            grown = _mul(size, size)
            factor = 2.1 if function == "sort" and _kind(_elem(target.type)) in ("string", "bytes") else 2.0
            return _add(_add(_factor(grown, factor), 1), 10), grown
        if function == "slice" and target is not None and n == 2:
            size = self.size_or_unknown(target)
            start, end = self.literal_uint(args[0], 0), self.literal_uint(args[1], size)
            span = (end - start) % 2**64
            return _add(_add(_factor(span, 1.0), 1), 10), span
        if function == "lists.range" and n == 1:
            span = self.literal_uint(args[0], _U64)
            return _add(_add(_factor(span, 1.0), 1), 10), span
        if function == "check":
            return 350000, None
        if function in _UNIT_COST:
            return 1, None
        if function in ("fieldSelector", "labelSelector") and n == 1:
            size = self.size_or_unknown(args[0])
            requirements = _factor(_factor(size, 0.5), 50.0)
            return _add(_add(10, _factor(size, 0.1)), requirements), None
        if function in ("isSorted", "sum", "max", "min", "indexOf", "lastIndexOf", "includes") and target is not None:
            kind = _kind(target.type)
            if kind in ("list", "map"):
                elem_cost = 1
                elem_type = _elem(target.type) if kind == "list" else _key(target.type)
                if _kind(elem_type) in ("string", "bytes"):
                    elem_cost = _add(1, _factor(self.element_size(target), 0.1))
                return _mul(self.size_or_unknown(target), elem_cost), None
            if function == "includes":
                return self.size_or_unknown(target), None
            return _factor(self.size_or_unknown(target), 0.1), None
        if function in ("url", "jsonpatch.escapeKey") and n == 1:
            size = self.size_or_unknown(args[0])
            return _factor(size, 0.1), size
        if function in ("lowerAscii", "upperAscii", "substring", "trim") and target is not None:
            size = self.size_or_unknown(target)
            return _factor(size, 0.1), size
        if function == "replace" and target is not None and n >= 2:
            return self.replace(target, args)
        if function == "split" and target is not None:
            size = self.size_or_unknown(target)
            limit = size
            if n > 1 and args[1].literal is not None and args[1].literal[1] == "int":
                limit = args[1].literal[3] % 2**64  # kube reads it as uint64: -1 wraps around
            return _factor(size, 0.2), limit
        if function == "join" and target is not None:
            count = self.size_or_unknown(target)
            size = _mul(count, self.element_size(target)) if _kind(target.type) == "list" else 0
            if n > 0:
                size = _add(size, _mul(self.size_or_unknown(args[0]), count - 1 if count > 0 else 0))
            return _factor(size, 0.1), size
        if function in ("find", "findAll") and target is not None and n >= 1:
            size = self.size_or_unknown(target)
            return _mul(_factor(_add(size, 1), 0.1), _factor(self.size_or_unknown(args[0]), 0.25)), size
        if function in ("cidr", "isIP", "isCIDR", "quantity", "isQuantity", "semver", "isSemver") and n >= 1:
            return _factor(self.size_or_unknown(args[0]), 0.1), None
        if function == "ip":
            if target is not None:
                return 1, None
            if n >= 1:
                return _factor(self.size_or_unknown(args[0]), 0.1), None
        if function == "ip.isCanonical" and n >= 1:
            return _factor(self.size_or_unknown(args[0]), 0.2), None
        if function in ("containsIP", "containsCIDR") and n >= 1:
            cost = 4 if function == "containsIP" else 7
            if _kind(args[0].type) == "string":
                cost = _add(cost, _factor(self.size_or_unknown(args[0]), 0.1))
            return cost, None
        if function == "validate" and n >= 1:
            return _factor(_factor(self.size_or_unknown(args[0]), 0.1), 128 * 0.25), None
        return None

    @staticmethod
    def literal_uint(r: _R, default: int) -> int:
        """cel-go's reading of a literal int argument (a bound for slice() and lists.range())."""
        if r.literal is None or r.literal[1] != "int":
            return default
        value: int = r.literal[3]
        return max(value, 0)

    def replace(self, target: _R, args: list[_R]) -> tuple[int, int]:
        size = self.size_or_unknown(target)
        old_min = args[0].literal[2] if args[0].literal is not None else 0  # unknown minimum: 0, the larger result
        new_max = self.size_or_unknown(args[1])
        if old_min == 0:
            count, kept = (size + 1 if size < _U64 else size), size
        elif new_max <= old_min:
            count, kept = 0, size
        else:
            count, kept = math.ceil(size / old_min), 0
        return _factor(size, 0.2), _add(_mul(count, new_max), kept)

    def core(self, function: str, target: _R | None, args: list[_R], argsum: int) -> _R | None:
        """cel-go's own cost functions for the overloads whose cost depends on sizes (the cost returned
        includes the arguments', not the target's)."""
        n = len(args)
        if function == "format" and target is not None:
            return _R(_add(_factor(self.size_or_unknown(target), 0.1), argsum), "string")
        if function in ("bytes", "string", "strings.quote") and n == 1 and target is None:
            kind = _kind(args[0].type)
            if (function == "bytes" and kind == "string") or (function == "string" and kind == "bytes") \
                    or function == "strings.quote":
                size = self.size_or_unknown(args[0])
                result = {"bytes": size * 4, "string": size, "strings.quote": size * 2 + 2}[function] % 2**64
                return _R(_add(_factor(size, 0.1), argsum), None, fixed=result)
            return None
        if function in ("startsWith", "endsWith") and n == 1 and target is not None:
            return _R(_add(_factor(self.size_or_unknown(args[0]), 0.1), argsum), None)
        if function == "@in" and n == 2 and _kind(args[1].type) != "map":
            return _R(_add(_factor(self.size_or_unknown(args[1]), 1.0), argsum), None)
        if function == "matches" and ((n == 1 and target is not None) or (n == 2 and target is None)):
            text, regex = (target, args[0]) if target is not None else (args[0], args[1])
            assert text is not None
            text_cost = _factor(_add(self.size_or_unknown(text), 1), 0.1)
            return _R(_add(_mul(text_cost, _factor(self.size_or_unknown(regex), 0.25)), argsum), None)
        if function == "contains" and n == 1 and target is not None:
            cost = _mul(_factor(self.size_or_unknown(target), 0.1), _factor(self.size_or_unknown(args[0]), 0.1))
            return _R(_add(cost, argsum), None)
        if function in ("_&&_", "_||_") and n == 2:
            return _R(argsum, None)
        if function == "_?_:_" and n == 3:
            yes, no = args[1], args[2]
            size = max(self.size_or_unknown(yes), self.size_or_unknown(no))
            entry = None
            if yes.entry is not None and no.entry is not None:
                entry = (yes.entry[0], max(yes.entry[1], no.entry[1]), max(yes.entry[2], no.entry[2]))
            return _R(_add(args[0].cost, max(yes.cost, no.cost)), None, fixed=size, entry=entry)
        if function == "_+_" and n == 2:
            kinds = {_kind(args[0].type), _kind(args[1].type)}
            concat = kinds & {"string", "bytes", "list"} or kinds == {"dyn"}
            if concat:
                size = _add(self.size_or_unknown(args[0]), self.size_or_unknown(args[1]))
                entry = None
                left, right = args[0].entry, args[1].entry
                if left is not None and right is not None:
                    entry = (left[0], max(left[1], right[1]), max(left[2], right[2]))
                cost = 1 if "list" in kinds and not kinds & {"string", "bytes"} else _factor(size, 0.1)
                return _R(_add(cost, argsum), None, fixed=size, entry=entry)
            return None
        ordering = function in ("_<_", "_>_", "_<=_", "_>=_")
        if function in ("_==_", "_!=_") or (ordering and n == 2 and (
                {_kind(args[0].type), _kind(args[1].type)} & {"string", "bytes"}
                or {_kind(args[0].type), _kind(args[1].type)} == {"dyn"})):
            smallest = min(self.size_or_unknown(args[0]), self.size_or_unknown(args[1]))
            return _R(_add(_factor(smallest, 0.1), argsum), None)
        return None


# ---------------------------------------------------------------------------------------------------
# the schema walk


def _fanout(schema: dict[str, Any]) -> int | None:
    """How many times a child of this node may occur per occurrence of the node (None: no bound)."""
    typ = schema.get("type")
    if typ == "object":
        if schema.get("additionalProperties") is not None:
            return _count(schema, "maxProperties")
        return 1
    if typ == "array":
        return _count(schema, "maxItems")
    return 1


def estimate(schema: dict[str, Any]) -> list[Estimate]:
    """The cost of every rule and messageExpression of a CRD ``openAPIV3Schema`` as kube's CRD validation
    compares it with the per-expression limit, children before parents (kube's order)."""
    out: list[Estimate] = []
    _walk(schema, "openAPIV3Schema", 1, True, _Decls(), out)
    return out


def _walk(node: Any, path: str, card: int | None, resource_root: bool, decls: _Decls, out: list[Estimate]) -> None:
    if not isinstance(node, dict):
        return
    fan = _fanout(node)
    child = None if card is None or fan is None else _mul(card, fan)
    props = node.get("properties")
    if isinstance(props, dict):
        for name, sub in props.items():
            if isinstance(sub, dict):
                _walk(sub, f"{path}.properties[{name}]", child, bool(sub.get("x-kubernetes-embedded-resource")),
                      decls, out)
    for key in ("items", "additionalProperties"):
        sub = node.get(key)
        if isinstance(sub, dict):
            _walk(sub, f"{path}.{key}", child, bool(sub.get("x-kubernetes-embedded-resource")), decls, out)
    rules = node.get("x-kubernetes-validations")
    if not isinstance(rules, list) or not rules:
        return
    decl = decls.of(node, resource_root)
    if decl is None:
        return
    cardinality = card if card is not None else _REQUEST // (decl.min + 1)
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or not isinstance(rule.get("rule"), str) or not rule["rule"].strip():
            continue
        ast = parse(rule["rule"])
        if ast is None:
            continue
        optional = rule.get("optionalOldSelf") is True
        per_call = _Coster(decl, optional).cost(ast).cost
        total = 0 if per_call == 0 else _mul(per_call, cardinality)
        out.append(Estimate(f"{path}.x-kubernetes-validations[{i}].rule", per_call, cardinality, total))
        message = rule.get("messageExpression")
        if isinstance(message, str) and message.strip():
            message_ast = parse(message)
            if message_ast is not None:
                cost = _Coster(decl, optional).cost(message_ast).cost
                out.append(Estimate(f"{path}.x-kubernetes-validations[{i}].messageExpression", cost, 1, cost))


def _over_budget(what: str, cost: int, limit: int) -> str:
    factor = float(cost) / float(limit)
    if factor > 100.0:
        text = "more than 100x"
    elif factor < 1.5:
        text = f"{factor:f}x"
    else:
        text = f"{factor:.1f}x"
    return f"{what} exceeds budget by factor of {text} {_ADVICE}"


def budget_problems(schema: dict[str, Any]) -> list[str]:
    """kube's refusals of a CRD schema for CEL cost, as ``<path>: Forbidden: <message>`` lines (empty when
    within budget): each rule or messageExpression over 10M, then, if all together exceed 100M, the four
    dearest of those costing at least 1M and the schema root."""
    problems: list[str] = []
    total = 0
    dearest: list[Estimate] = []
    for e in estimate(schema):
        if e.cost > PER_EXPRESSION_LIMIT:
            what = f"estimated {'messageExpression' if e.field.endswith('messageExpression') else 'rule'} cost"
            problems.append(f"{e.field}: Forbidden: {_over_budget(what, e.cost, PER_EXPRESSION_LIMIT)}")
        total = _add(total, e.cost)
        if e.cost >= PER_CRD_LIMIT // 100:
            dearest = sorted([*dearest, e], key=lambda x: -x.cost)[:4]
    if total > PER_CRD_LIMIT:
        problems.extend(f"{e.field}: Forbidden: contributed to estimated rule cost total exceeding cost limit for "
                        "entire OpenAPIv3 schema" for e in dearest)
        what = "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema"
        problems.append(f"openAPIV3Schema: Forbidden: {_over_budget(what, total, PER_CRD_LIMIT)}")
    return problems
