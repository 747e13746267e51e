"""Reading user manifests: multi-document YAML files (or folders of them) into located documents.

Used by the offline `issuer issue` command and by the embedded playground. Every document keeps where
it came from (file and 1-based document number) so that an error can name the exact place. A file that
is not YAML, or a document that is not a Kubernetes object, becomes a `ManifestError` line, never a
traceback.

Reading is `yaml.load_all(text, Loader=yaml.CSafeLoader)`, made about twice as fast while giving the same
objects and the same errors (see `_load_all`): `issuer issue -f` on a thousand Certificates spent more time in
PyYAML's Python callbacks than in libyaml.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import itertools
import json
import operator
import pathlib
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from issuer import forking

try:  # libyaml when present: 10x faster on big inputs
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_SUFFIXES = (".yaml", ".yml", ".json")


@dataclasses.dataclass(frozen=True)
class Document:
    """One Kubernetes object and its origin."""

    source: str
    index: int  # 1-based position within its file
    obj: dict[str, Any]

    @property
    def kind(self) -> str:
        kind = self.obj.get("kind")
        return kind if isinstance(kind, str) else ""

    @property
    def api_version(self) -> str:
        value = self.obj.get("apiVersion")
        return value if isinstance(value, str) else ""

    @property
    def name(self) -> str:
        meta = self.obj.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        return name if isinstance(name, str) else ""

    @property
    def namespace(self) -> str:
        meta = self.obj.get("metadata")
        ns = meta.get("namespace") if isinstance(meta, dict) else None
        return ns if isinstance(ns, str) else ""

    def where(self) -> str:
        """`file.yaml#3 Certificate/name`, the prefix of every error about this document."""
        what = f"{self.kind or '<no kind>'}/{self.name or '<no name>'}"
        return f"{self.source}#{self.index} {what}"


@dataclasses.dataclass(frozen=True)
class ManifestError:
    """A problem with the input itself (unreadable file, bad YAML, not an object)."""

    source: str
    index: int
    message: str

    def __str__(self) -> str:
        where = f"{self.source}#{self.index}" if self.index else self.source
        return f"{where}: {self.message}"


def expand(paths: Iterable[str]) -> list[pathlib.Path]:
    """Files named directly, and the YAML/JSON files of named folders (sorted, not recursive), as kubectl -f."""
    out: list[pathlib.Path] = []
    for raw in paths:
        path = pathlib.Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES and p.is_file()))
        else:
            out.append(path)
    return out


def load(
    paths: Iterable[str], stdin_text: str | None = None, *, workers: int = 1
) -> tuple[list[Document], list[ManifestError]]:
    """Load every document; `-` reads `stdin_text`. Lists (`kind: List`) are flattened. With `workers` > 1
    a big file is read by that many processes (see `parse_text`)."""
    docs: list[Document] = []
    errors: list[ManifestError] = []
    for path in expand(paths):
        source = str(path)
        if source == "-":
            text = stdin_text or ""
        else:
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                errors.append(ManifestError(source, 0, "no such file"))
                continue
            except (OSError, UnicodeDecodeError) as exc:
                errors.append(ManifestError(source, 0, f"cannot read: {exc.__class__.__name__}"))
                continue
        found, problems = parse_text(text, source, workers=workers)
        docs.extend(found)
        errors.extend(problems)
    return docs, errors


def parse_text(text: str, source: str, *, workers: int = 1) -> tuple[list[Document], list[ManifestError]]:
    """The documents of one file, or the problems that keep them from being read.

    With `workers` > 1, a file of many documents is cut at its `---` separator lines into that many parts,
    read by forked processes: the same documents, as a document separator ends any scalar but a block scalar
    at the root of a document, and files that could hold one (or a directive) are read in one piece. When any
    part has a problem the whole file is read again in one piece, so that problems are reported exactly as
    without workers.
    """
    if workers > 1:
        parts = _split_documents(text, workers)
        if parts is not None:
            read = forking.map_in_processes(functools.partial(_parse, source=source), parts, workers)
            if not any(problems for _, problems, _ in read):
                docs: list[Document] = []
                offset = 0
                for found, _, count in read:
                    docs.extend(Document(source, doc.index + offset, doc.obj) for doc in found)
                    offset += count
                return docs, []
    found, problems, _ = _parse(text, source)
    return found, problems


# A file is read in parts from this many documents on: parsing one costs ~30 us, a fork ~1 ms.
PARALLEL_MIN_DOCUMENTS = 200
_SEPARATOR = re.compile(r"^---[ \t]*(?:#[^\n]*)?\r?$", re.MULTILINE)
# A directive, a separator line with content, or a line starting with a block scalar indicator, a tag or an
# anchor could start a block scalar at a document's root, where a separator line may be its content.
_NOT_SPLIT = re.compile(r"^(?:[%|>!&]|---[ \t]+[^#\s])", re.MULTILINE)


def _split_documents(text: str, parts: int) -> list[str] | None:
    """`text` cut at separator lines into `parts` pieces of about equal size, or None when it should not be."""
    starts = [m.start() for m in _SEPARATOR.finditer(text)]
    if len(starts) < PARALLEL_MIN_DOCUMENTS or _NOT_SPLIT.search(text):
        return None
    cuts: list[int] = []
    for k in range(1, parts):
        at = starts[min(bisect.bisect_left(starts, len(text) * k // parts), len(starts) - 1)]
        if at > (cuts[-1] if cuts else 0):
            cuts.append(at)
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _parse(text: str, source: str) -> tuple[list[Document], list[ManifestError], int]:
    """(documents, problems, how many YAML documents were read)."""
    docs: list[Document] = []
    errors: list[ManifestError] = []
    index = 0
    try:
        for raw in _load_all(text):
            index += 1
            if raw is None:
                continue
            for obj in _flatten(raw):
                if not isinstance(obj, dict):
                    errors.append(ManifestError(source, index, "document is not a Kubernetes object (a mapping)"))
                    continue
                docs.append(Document(source, index, obj))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        errors.append(ManifestError(source, index + 1, f"invalid YAML{line}: {problem}"))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError) as exc:
        # PyYAML's constructors let these through for explicitly tagged values (`!!int x`, `!!bool maybe`,
        # `!!float ''`, `!!timestamp x`) and for ints too long to convert
        errors.append(ManifestError(source, index + 1, f"invalid YAML: a tagged value cannot be read "
                                                       f"({type(exc).__name__})"))
    return docs, errors, index


def _load_all(text: str) -> Iterator[Any]:
    """The documents of `text`, exactly as `yaml.load_all(text, Loader=yaml.CSafeLoader)` yields them
    (`yaml.SafeLoader` where PyYAML has no libyaml).

    Same objects (also the same object for an alias of a mapping or sequence, cycles included) and the same
    exceptions at the same document. Two costs of the stock loader are avoided:

    - libyaml's composer calls back into Python for every node: `resolve` (which tries the implicit-tag
      regexes on every plain scalar) and the path-resolver hooks. `_Loader` answers them with C-level
      callables: a cache of `resolve` and no-ops for the hooks, which do nothing without path resolvers.
    - `SafeConstructor` builds every node through generators and bookkeeping dicts. `_build` walks the node
      tree directly for what manifests are made of: mappings, sequences, strings, ints, booleans, nulls and
      floats (the last four through SafeConstructor's own functions, but for plain decimal ints). A document
      with anything else (merge keys, timestamps, sets, binary, custom tags, non-scalar keys, very deep
      nesting), or whose construction fails, is built again from its untouched nodes by the stock
      `construct_document`, which then gives today's result or error.
    """
    loader = _Loader(text)
    fast = all(loader.yaml_constructors.get(tag) is function for tag, function in _FAST_CONSTRUCTORS.items())
    try:
        while loader.check_node():
            node = loader.get_node()
            assert node is not None  # check_node() said there is one
            try:
                if not fast:
                    raise _Fallback
                data = _build(node, loader, {}, 0)
            except Exception:  # anything unusual, including errors: SafeConstructor decides
                data = loader.construct_document(node)
            yield data
    finally:
        loader.close()


class _Loader(_BaseLoader):
    """The safe loader, with cheap answers to the composer's per-node callbacks (see `_load_all`)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        if not self.yaml_path_resolvers:
            # Without path resolvers a node's tag depends only on (kind, value, implicit), and the descend and
            # ascend hooks return at once: C callables in the instance take the place of the Python methods.
            hooks: dict[str, Callable[..., Any]] = {
                "resolve": functools.lru_cache(maxsize=_RESOLVE_CACHE)(super().resolve),
                "descend_resolver": operator.is_,  # (parent, index) -> ignored
                "ascend_resolver": tuple,  # () -> ignored
            }
            vars(self).update(hooks)

    def close(self) -> None:
        vars(self).pop("resolve", None)  # the cache refers back to the loader
        self.dispose()


class _Fallback(Exception):
    """The document needs the stock SafeConstructor."""


_RESOLVE_CACHE = 4096  # distinct plain scalars remembered per load (keys and common values repeat)
_MAX_DEPTH = 200  # deeper documents go to SafeConstructor, which does not recurse
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_INT = "tag:yaml.org,2002:int"
_SCALARS = frozenset({"tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", _INT, "tag:yaml.org,2002:float"})
# What `_build` stands in for; if a constructor was replaced (yaml.add_constructor), the stock path is used.
_FAST_CONSTRUCTORS: dict[str, Any] = {
    _STR: SafeConstructor.construct_yaml_str,
    _MAP: SafeConstructor.construct_yaml_map,
    _SEQ: SafeConstructor.construct_yaml_seq,
    _INT: SafeConstructor.construct_yaml_int,
    "tag:yaml.org,2002:null": SafeConstructor.construct_yaml_null,
    "tag:yaml.org,2002:bool": SafeConstructor.construct_yaml_bool,
    "tag:yaml.org,2002:float": SafeConstructor.construct_yaml_float,
}


def _build(node: Node, loader: _Loader, shared: dict[Node, Any], depth: int) -> Any:
    """What SafeConstructor makes of `node`; raises `_Fallback` where it does more than this."""
    cls = node.__class__
    if cls is ScalarNode:
        return _build_scalar(node, loader, shared)
    if node in shared:  # an alias: the same object, as SafeConstructor (also inside itself, a cycle)
        return shared[node]
    if depth > _MAX_DEPTH:
        raise _Fallback
    tag = node.tag
    if cls is MappingNode and tag == _MAP:
        mapping: dict[Any, Any] = {}
        shared[node] = mapping
        for key_node, value_node in node.value:
            if key_node.__class__ is not ScalarNode:  # unhashable: SafeConstructor raises its error
                raise _Fallback
            # A merge key `<<` or a value key `=` has its own tag, which `_build_scalar` sends to SafeConstructor.
            key = key_node.value if key_node.tag == _STR else _build_scalar(key_node, loader, shared)
            if value_node.__class__ is ScalarNode and value_node.tag == _STR:
                mapping[key] = value_node.value  # duplicate keys: the last value wins, as in SafeConstructor
            else:
                mapping[key] = _build(value_node, loader, shared, depth + 1)
        return mapping
    if cls is SequenceNode and tag == _SEQ:
        sequence: list[Any] = []
        shared[node] = sequence
        for item in node.value:
            if item.__class__ is ScalarNode and item.tag == _STR:
                sequence.append(item.value)
            else:
                sequence.append(_build(item, loader, shared, depth + 1))
        return sequence
    raise _Fallback


def _build_scalar(node: Node, loader: _Loader, shared: dict[Node, Any]) -> Any:
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag not in _SCALARS:
        raise _Fallback
    if node in shared:
        return shared[node]
    text = node.value
    if tag == _INT and text.isdigit() and text.isascii() and (text[0] != "0" or len(text) == 1):
        value = int(text)  # what construct_yaml_int does with plain decimal digits
    else:  # YAML 1.1 forms (-1, 0x1f, 017, 1_000, 1:30, yes, off, ~, .inf): SafeConstructor's own function
        value = loader.yaml_constructors[tag](loader, node)
    shared[node] = value
    return value


def _flatten(obj: Any) -> Iterator[Any]:
    if isinstance(obj, dict) and obj.get("kind") == "List" and isinstance(obj.get("items"), list):
        yield from obj["items"]
    else:
        yield obj


def dump_all(objects: Iterable[dict[str, Any]]) -> str:
    """Objects as one multi-document YAML stream that `kubectl apply -f -` accepts.

    A small block-style emitter for JSON-like data: every string is double-quoted (a JSON string is a valid
    YAML double-quoted scalar), so nothing can be misread as a number or boolean; keys stay bare when they
    are plain names. Ten times faster than PyYAML's representer on thousands of Secrets.
    """
    out: list[str] = []
    for obj in objects:
        out.append("---\n")
        _emit(obj, 0, out)
    return "".join(out)


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})


_ENCODE_STRING = json.encoder.encode_basestring_ascii  # what json.dumps does with a str, without its set-up
_KEYS: dict[str, str] = {}  # rendered keys: Secrets repeat the same few


def _key(key: str) -> str:
    found = _KEYS.get(key)
    if found is None:
        found = key if _PLAIN_KEY.fullmatch(key) and key.lower() not in _RESERVED else _scalar(key)
        if len(_KEYS) < 4096:
            _KEYS[key] = found
    return found


_NOTHING_TO_ESCAPE = re.compile(r'[ !#-\[\]-~]*')  # printable ASCII but " and \ (base64 data, names, ...)


def _string(text: str) -> str:
    if _NOTHING_TO_ESCAPE.fullmatch(text):
        return f'"{text}"'
    if text.isascii() and text.isprintable():  # [\x20-\x7e]*: a JSON string is a YAML double-quoted one
        return _ENCODE_STRING(text)
    # Anything else (control characters, astral code points): let libyaml choose the escapes.
    dumped: str = yaml.dump(text, Dumper=_DUMPER, default_style='"', width=1 << 30, allow_unicode=False)
    return dumped.removesuffix("\n...\n").strip()


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # YAML 1.1 wants a dot in floats ("1e-5" would read as a string)
        return str(yaml.dump(value, Dumper=_DUMPER)).removesuffix("\n...\n").strip()
    return _string(str(value))


def _emit(node: Any, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(node, dict):
        if not node:
            out.append(pad + "{}\n")
        for key, value in node.items():
            name = _key(key if type(key) is str else str(key))
            if type(value) is str:  # most values: a fast path
                out.append(f"{pad}{name}: {_string(value)}\n")
            elif isinstance(value, dict) and value:
                out.append(f"{pad}{name}:\n")
                _emit(value, indent + 2, out)
            elif isinstance(value, list) and value:
                out.append(f"{pad}{name}:\n")
                _emit(value, indent, out)
            else:
                empty = "{}" if isinstance(value, dict) else "[]" if isinstance(value, list) else _scalar(value)
                out.append(f"{pad}{name}: {empty}\n")
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list) and item:
                inner: list[str] = []
                _emit(item, indent + 2, inner)
                first = inner[0]
                out.append(f"{pad}- {first[indent + 2:]}")
                out.extend(inner[1:])
            else:
                empty = "{}" if isinstance(item, dict) else "[]" if isinstance(item, list) else _scalar(item)
                out.append(f"{pad}- {empty}\n")
    else:
        out.append(pad + _scalar(node) + "\n")
