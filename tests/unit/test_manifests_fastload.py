"""The fast manifest reader behind `parse_text` (`issuer issue -f`) against the stock one it replaces.

`manifests._load_all(text)` must give exactly what `yaml.load_all(text, Loader=yaml.CSafeLoader)` gives: the same
values of the same types, the same sharing of objects (aliases, cycles), NaN where NaN was, and the same exception
for broken input; and `parse_text` the same documents and error lines as before. Random texts: data dumped by PyYAML
in random styles (then maybe damaged); YAML-special fragments (anchors, aliases, merge keys, tags, YAML 1.1
scalars) in nested blocks and in random lines; and short strings of YAML's punctuation.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from issuer import manifests

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_load(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=yaml.CSafeLoader))


def fast_load(text: str) -> list[Any]:
    return list(manifests._load_all(text))


def reference_parse_text(text: str, source: str) -> tuple[list[manifests.Document], list[manifests.ManifestError]]:
    """`parse_text` as it was before the fast reader (but for non-YAML errors of tagged values, now reported)."""
    docs: list[manifests.Document] = []
    errors: list[manifests.ManifestError] = []
    index = 0
    try:
        for raw in yaml.load_all(text, Loader=yaml.CSafeLoader):
            index += 1
            if raw is None:
                continue
            for obj in manifests._flatten(raw):
                if not isinstance(obj, dict):
                    message = "document is not a Kubernetes object (a mapping)"
                    errors.append(manifests.ManifestError(source, index, message))
                    continue
                docs.append(manifests.Document(source, index, obj))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        errors.append(manifests.ManifestError(source, index + 1, f"invalid YAML{line}: {problem}"))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError) as exc:
        # the one deliberate change: PyYAML lets these through for bad tagged values; parse_text reports them
        message = f"invalid YAML: a tagged value cannot be read ({type(exc).__name__})"
        errors.append(manifests.ManifestError(source, index + 1, message))
    return docs, errors


def outcome(function: Callable[[str], Any], text: str) -> tuple[str, Any]:
    try:
        return "ok", function(text)
    except Exception as exc:
        mark = getattr(exc, "problem_mark", None)
        return "error", (type(exc), str(exc), None if mark is None else mark.line)


def same(a: Any, b: Any) -> bool:
    """Deep comparison of two object graphs: same types, equal values (NaN equal to NaN), and the same shape of
    sharing: wherever the first graph holds one object twice, the second holds one object twice, and only there.
    Iterative, for deeply nested and recursive data."""
    forward: dict[int, int] = {}
    backward: dict[int, int] = {}
    pending = [(a, b)]
    while pending:
        x, y = pending.pop()
        if id(x) in forward or id(y) in backward:
            if forward.get(id(x)) != id(y) or backward.get(id(y)) != id(x):
                return False
            continue
        forward[id(x)] = id(y)
        backward[id(y)] = id(x)
        if type(x) is not type(y):
            return False
        if isinstance(x, dict):
            if len(x) != len(y):
                return False
            for (key_x, value_x), (key_y, value_y) in zip(x.items(), y.items(), strict=True):
                pending += [(key_x, key_y), (value_x, value_y)]
        elif isinstance(x, list | tuple | set):
            if len(x) != len(y):
                return False
            pending += zip(x, y, strict=True)
        elif isinstance(x, float) and math.isnan(x):
            if not math.isnan(y):
                return False
        elif x != y:
            return False
    return True


def assert_same_outcome(text: str) -> None:
    expected, got = outcome(reference_load, text), outcome(fast_load, text)
    assert got[0] == expected[0], (text, expected, got)
    if expected[0] == "error":
        assert got[1] == expected[1], text
    else:
        assert same(expected[1], got[1]), (text, expected[1], got[1])


def assert_same_parse_text(text: str) -> None:
    expected, got = outcome(lambda t: reference_parse_text(t, "f.yaml"), text), outcome(
        lambda t: manifests.parse_text(t, "f.yaml"), text
    )
    assert got[0] == expected[0], text
    if expected[0] == "error":
        assert got[1] == expected[1], text
        return
    (expected_docs, expected_errors), (got_docs, got_errors) = expected[1], got[1]
    assert got_errors == expected_errors
    assert [(d.source, d.index) for d in got_docs] == [(d.source, d.index) for d in expected_docs]
    assert same([d.obj for d in expected_docs], [d.obj for d in got_docs])


@pytest.fixture
def stock_constructor_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the documents that went to the stock SafeConstructor."""
    calls: list[int] = []
    stock = manifests._Loader.construct_document

    def counting(self: manifests._Loader, node: yaml.Node) -> Any:
        calls.append(1)
        return stock(self, node)

    monkeypatch.setattr(manifests._Loader, "construct_document", counting)
    return calls


# Random data dumped by PyYAML in random styles.

WORDS = [
    "yes", "No", "ON", "off", "y", "n", "~", "null", "Null", "NULL", "true", "False", ".inf", "-.Inf", "+.INF", ".NaN",
    "0x1F", "-0x_1f", "0o17", "017", "-017", "09", "0b101", "1_000", "1:30", "-1:30:00", "190:20:30.15", "1e3",
    "1.0e+3", "6.8523015e+5", "685_230.15", "0.", ".5", "-.5", "+12", "-0", "0", "00", "12", "١٢", "½",
    "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10", "<<", "=", "&a", "*a", "!!int", "!x",
    "- x", "a: b", "#c", "'q'", '"q"', "{", "}", "[", "]", ",", "?", "|", ">", "%", "@", "`", "\t", "\n", " ", "",
]
texts = st.text(alphabet=st.sampled_from("ab0129.:-_ #'\"{}[],&*!|>?\t\n\\é\u2028\x85\ufeff"), max_size=10)
scalars = (
    st.none() | st.booleans() | st.integers() | st.integers(-300, 300) | st.floats() | st.sampled_from(WORDS) | texts
)
keys = scalars.filter(lambda k: not (isinstance(k, float) and math.isnan(k)))
rare = st.binary(max_size=4) | st.dates() | st.datetimes() | st.frozensets(st.integers(0, 9), max_size=3).map(set)
values = st.recursive(
    scalars | rare,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def documents(draw: st.DrawFn) -> list[Any]:
    docs = draw(st.lists(values, min_size=1, max_size=3))
    if draw(st.booleans()):  # the same object twice: PyYAML writes an anchor and an alias
        shared = draw(st.lists(values, min_size=1, max_size=3) | st.dictionaries(keys, values, min_size=1, max_size=3))
        docs.append({"a": shared, "b": [shared, draw(values)], "c": shared})
    return docs


@st.composite
def dumped(draw: st.DrawFn) -> str:
    docs = draw(documents())
    options: dict[str, Any] = {
        "default_flow_style": draw(st.sampled_from([None, True, False])),
        "default_style": draw(st.sampled_from([None, None, '"', "'", "|", ">"])),
        "canonical": draw(st.booleans()),  # explicit tags: !!int "1", !!map {...}
        "explicit_start": draw(st.booleans()),
        "allow_unicode": draw(st.booleans()),
        "width": draw(st.sampled_from([None, 10])),
        "sort_keys": False,
    }
    text = yaml.dump_all(docs, Dumper=yaml.CSafeDumper, **options)
    for _ in range(draw(st.integers(0, 2))):  # damage: a fragment in, or a piece out
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(WORDS)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 8)) :]
    return text


# YAML-special fragments: in well-formed blocks, and in random lines.

KEYS = [
    "a: ", "b: ", "c: ", "a: ", "<<: ", "<< : ", "=: ", "&k a: ", "*k : ", "1: ", "01: ", "true: ", "1.0: ", "~: ",
    ".nan: ", "[a]: ", "{b: c}: ", "!!str x: ", "!!int 1: ", "2001-01-01: ", "yes: ", "0x10: ", "? ", "'q': ",
]
PROPERTIES = [
    "", "", "", "", "", "&a ", "&b ", "&c ", "&a !!map ", "!!int ", "!!str ", "!!float ", "!!bool ", "!!null ",
    "!!timestamp ", "!!binary ", "!!set ", "!!omap ", "!!pairs ", "!!map ", "!!seq ", "!custom ", "! ",
    "!<tag:yaml.org,2002:int> ", "!!python/tuple ",
]
SCALAR_VALUES = [
    *(w for w in WORDS if w.strip() and w not in {"&a", "!!int", "!x", "- x", "a: b", "|", ">", "%", "@", "`"}),
    "x", "'1'", '"2"', "'yes'", '"0x1f"', "*a", "*b", "*c", "{a: *a}", "[*a, 1]", "[*a, *b]", "{<<: *a, x: 1}",
    "{<<: [*a, *b]}", "{x: 1, x: 2}", "{1: a, true: b, 1.0: c}", "[1, 2, [3, {4: 5}]]", "{? [1] : 2}", "{a: 1}",
    "[a, b]", "{}", "[]", "aGVsbG8=", "2002-12-14", "0x_ff", "0b1_0", "+0", "-0.0", "1__0", "a #c", "[.nan, .inf]",
]
VALUES = [*SCALAR_VALUES, ":", "- a", "a: b", "|\n  text", ">-\n  folded", "&a", "!!int"]
SEPARATORS = ["---", "--- ", "...\n---", "%YAML 1.1\n---", "# comment\n---", "--- !!map", "--- &r"]


def mostly(common: list[str], special: list[str]) -> st.SearchStrategy[str]:
    """Ordinary fragments most of the time, so that many blocks are valid YAML."""
    return st.one_of(*[st.sampled_from(common)] * 7, st.sampled_from(special))


# Tags in blocks mostly on content they fit, so that documents get past construction to be compared.
TAGGED = [
    "!!int 12", "!!int '0x1f'", '!!str 12', "!!float 1", "!!float '1_0.5'", "!!bool yes", "!!null ~", "!!str ~",
    "!!timestamp 2001-01-01", "!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a: 1, b: 2]", "!!pairs [a: 1, a: 2]",
    "!!map {a: 1}", "!!seq [a]", "! 12", "!<tag:yaml.org,2002:int> 7", "!!int x", "!custom x", "&a {k: v}",
    "&b [1, 2]", "&c x", "&a 12", "*a", "*b", "*c", "{<<: *a, x: 1}", "&a [*a]", "&b {k: *b}",
]
block_keys = mostly(["a: ", "b: ", "c: ", "d: ", "name: "], KEYS)
block_values = mostly(
    ["x", "12", "1.5", "true", "null", "'q'", "[1, b]", "{k: v}"], [*SCALAR_VALUES, *TAGGED]
) | st.text(alphabet=st.sampled_from("ab019._-é"), min_size=1, max_size=6)
mapping_properties = mostly([""], ["&a ", "&b ", "&c ", "!!map ", "!!set ", "&a !!map ", "!!str "])
sequence_properties = mostly([""], ["&a ", "&b ", "&c ", "!!seq ", "!!omap ", "!!pairs ", "!!map "])


@st.composite
def block(draw: st.DrawFn, indent: int = 0, depth: int = 0) -> list[str]:
    """A block mapping or sequence of fragments, nested and indented as YAML wants."""
    mapping = draw(st.booleans())
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        head = " " * indent + (draw(block_keys) if mapping else "- ")
        if depth < 3 and draw(st.integers(0, 2)) == 0:
            inner = draw(block(indent + 2, depth + 1))
            properties = draw(mapping_properties if inner[0].lstrip()[:2] != "- " else sequence_properties)
            lines.append((head + properties).rstrip())
            lines += inner
        else:
            lines.append(head + draw(block_values))
    return lines


def tie_anchors(lines: list[str]) -> list[str]:
    """A fresh name for each anchor, each alias to an anchor before it: documents that compose, with sharing."""
    defined: list[str] = []

    def rename(match: re.Match[str]) -> str:
        sign, name = match.groups()
        if sign == "&":
            defined.append(f"{name}{len(defined)}")
            return f"&{defined[-1]}"
        candidates = [anchor for anchor in defined if anchor.startswith(name)] or defined
        return f"*{candidates[-1]}" if candidates else match.group()

    return [re.sub(r"([&*])([a-z])\w*", rename, line) for line in lines]


@st.composite
def blocks(draw: st.DrawFn) -> str:
    documents = [tie_anchors(draw(block())) for _ in range(draw(st.integers(1, 3)))]
    lines = documents[0]
    for document in documents[1:]:
        lines += [draw(mostly(["---"], SEPARATORS)), *document]
    return "\n".join(lines) + "\n"


@st.composite
def lines(draw: st.DrawFn) -> str:
    indents = ["", "", "", "  ", "    ", "- ", "  - ", "- - ", "\t", "? "]
    out = []
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.integers(0, 5)) == 0:
            out.append(draw(st.sampled_from(SEPARATORS)))
        line = draw(st.sampled_from(indents)) + draw(st.sampled_from(["", *KEYS]))
        out.append(line + draw(st.sampled_from(PROPERTIES)) + draw(st.sampled_from(VALUES) | texts))
    return "\n".join(out) + draw(st.sampled_from(["", "\n"]))


@SETTINGS
@given(dumped())
def test_dumped_data_reads_as_the_stock_loader_reads_it(text: str) -> None:
    assert_same_outcome(text)
    assert_same_parse_text(text)


@SETTINGS
@given(blocks())
def test_blocks_of_yaml_special_fragments_read_as_the_stock_loader_reads_them(text: str) -> None:
    assert_same_outcome(text)
    assert_same_parse_text(text)


@settings(max_examples=200, deadline=None)
@given(lines())
def test_lines_of_yaml_special_fragments_read_as_the_stock_loader_reads_them(text: str) -> None:
    assert_same_outcome(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab1: -\n{}[],&*!<=~.'\"|>?#%@\t"), max_size=30))
def test_any_text_reads_as_the_stock_loader_reads_it(text: str) -> None:
    assert_same_outcome(text)


# The fast path, and each way out of it.

MANIFEST = """\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web, namespace: default, labels: {"1": one, tier: "2"}}
spec:
  isCA: false
  duration: null
  renewBefore: ~
  revisionHistoryLimit: 3
  ratio: 1.5
  zero: 0
  big: 123456789012345678901234567890
  quoted: '017'
  dnsNames: [a.example.com, b.example.com]
  privateKey: {algorithm: ECDSA, size: 256, rotationPolicy: Always}
---
kind: List
items:
- {kind: Secret, metadata: {name: s}, data: {tls.crt: "", ca.crt: "x"}}
"""


def test_manifests_are_built_without_the_stock_constructor(stock_constructor_calls: list[int]) -> None:
    assert same(fast_load(MANIFEST), reference_load(MANIFEST))
    assert stock_constructor_calls == []
    assert_same_parse_text(MANIFEST)


@pytest.mark.parametrize(
    "text",
    [
        "a: 0x1f\nb: 017\nc: 1_000\nd: 1:30\ne: -1:30:00\nf: 0b101\ng: +12\nh: -0\ni: 0o17\nj: 09\n",
        "a: yes\nb: No\nc: ON\nd: off\ne: y\nf: n\ng: TRUE\n",
        "a: ~\nb: null\nc: Null\nd:\ne: ''\n",
        "a: .inf\nb: -.Inf\nc: .NaN\nd: 1e3\ne: 1.0e+3\nf: 685_230.15\ng: 190:20:30.15\nh: .5\n",
        'a: !!int "12"\nb: !!int ١٢\nc: !!float "1"\nd: !!bool "yes"\ne: !!null "x"\nf: !!str 12\n',
        "&n .nan : [*n, *n]\n",
        "a: &i 1000\nb: &f 1.5\nc: [*i, *f, *i, *f]\n",  # an aliased scalar is one object, as with SafeConstructor
        "{1: a, true: b, 1.0: c}\n",
        "a: 1\nb: 2\na: 3\n",
        "a: &x {k: [1, 2]}\nb: *x\nc: [*x, *x]\n",
        "&x [1, *x]\n",
        "&x {self: *x, list: [*x]}\n",
        "--- 1\n--- foo\n---\n--- [a]\n",
    ],
)
def test_plain_types_aliases_and_cycles_take_the_fast_path(text: str, stock_constructor_calls: list[int]) -> None:
    assert_same_outcome(text)
    assert stock_constructor_calls == []


@pytest.mark.parametrize(
    "text",
    [
        "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n",  # merge key
        "a: &a {x: 1}\nb: &b {y: 2}\nc: {<<: [*a, *b], z: 3}\n",
        "=: value key\n",
        "when: 2001-12-14t21:59:43.10-05:00\nday: 2002-12-14\n",  # timestamps
        "data: !!binary aGVsbG8=\n",
        "s: !!set {a, b}\n",
        "o: !!omap [a: 1, b: 2]\np: !!pairs [a: 1, a: 2]\n",
        "deep: " + "[" * 300 + "]" * 300 + "\n",  # deeper than the fast path goes
    ],
)
def test_other_documents_go_to_the_stock_constructor(text: str, stock_constructor_calls: list[int]) -> None:
    assert_same_outcome(text)
    assert stock_constructor_calls == [1]


@pytest.mark.parametrize(
    "text",
    [
        "? [a, b]\n: 1\n",  # unhashable key
        "? {a: b}\n: 1\n",
        "a: !custom 1\n",  # unknown tag
        "a: =\n",
        "a: !!str {b: 1}\n",  # a scalar tag on a mapping
        "a: !!map x\n",
        "a: !!int x\n",  # not YAMLError: raised as before
        "a: [!!int x]\nb: !!bool y\n",  # two bad scalars: the one SafeConstructor meets first
        "a: !!float ''\n",
        "a: !!timestamp x\n",
        "a: !!binary é\n",
    ],
)
def test_construction_errors_are_the_stock_ones(text: str) -> None:
    assert_same_error(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: [\n",
        "a: b: c\n",
        "kind: A\n---\nkind: B\n  bad: indent\n",
        "a: *nope\n",
        "a: &x 1\nb: &x 2\n",
        "a: 1\n\tb: 2\n",
        "--- {a: 1}\n--- 'open\n",
    ],
)
def test_broken_yaml_gives_the_same_error_and_line(text: str) -> None:
    assert_same_error(text)


def assert_same_error(text: str) -> None:
    """The stock loader fails on `text`; the fast one fails the same way, and so does parse_text."""
    expected = outcome(reference_load, text)
    assert expected[0] == "error"
    assert outcome(fast_load, text) == expected
    assert_same_parse_text(text)


def test_errors_keep_the_documents_before_them() -> None:
    text = "kind: A\nmetadata: {name: a}\n---\nkind: B\nmetadata: {name: [\n"
    docs, errors = manifests.parse_text(text, "f.yaml")
    assert [d.name for d in docs] == ["a"]
    assert [str(e) for e in errors] == [str(e) for e in reference_parse_text(text, "f.yaml")[1]]
    assert str(errors[0]).startswith("f.yaml#2: invalid YAML at line 6:")


def test_a_replaced_constructor_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    constructors = dict(manifests._Loader.yaml_constructors)
    constructors["tag:yaml.org,2002:int"] = lambda loader, node: f"int {node.value}"
    monkeypatch.setattr(manifests._Loader, "yaml_constructors", constructors)
    assert fast_load("a: 1\nb: [2]\n") == [{"a": "int 1", "b": ["int 2"]}]


def test_the_resolver_cache_does_not_outlive_the_load() -> None:
    loader = manifests._Loader("a: 1\n")
    assert "resolve" in vars(loader)
    loader.close()
    assert "resolve" not in vars(loader)


def test_same_sees_types_nan_and_sharing() -> None:  # the comparison the tests above rely on
    def cycle() -> list[Any]:
        items: list[Any] = []
        items.append(items)
        return items

    shared: list[Any] = []
    other: list[Any] = []
    nan, other_nan = float("nan"), float("nan")
    assert same([shared, shared], [other, other])
    assert not same([shared, shared], [[], []])
    assert not same([[], []], [shared, shared])
    assert not same({1: "a"}, {True: "a"})
    assert not same([1], [1.0])
    assert same([float("nan")], [float("nan")])
    assert same([nan, nan], [other_nan, other_nan])
    assert not same([nan, nan], [float("nan"), float("nan")])
    assert same(cycle(), cycle())
    assert not same(cycle(), [cycle()])
    assert same([dt.date(2001, 1, 1), {1, 2}, b"x"], [dt.date(2001, 1, 1), {1, 2}, b"x"])
