"""Reading user manifests: multi-document YAML files (or folders of them) into located documents.

Used by the offline `issuer issue` command and by the embedded playground. Every document keeps where
it came from (file and 1-based document number) so that an error can name the exact place. A file that
is not YAML, or a document that is not a Kubernetes object, becomes a `ManifestError` line, never a
traceback.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Iterable, Iterator
from typing import Any

import yaml

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


def load(paths: Iterable[str], stdin_text: str | None = None) -> tuple[list[Document], list[ManifestError]]:
    """Load every document; `-` reads `stdin_text`. Lists (`kind: List`) are flattened."""
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
        found, problems = parse_text(text, source)
        docs.extend(found)
        errors.extend(problems)
    return docs, errors


def parse_text(text: str, source: str) -> tuple[list[Document], list[ManifestError]]:
    docs: list[Document] = []
    errors: list[ManifestError] = []
    index = 0
    try:
        for raw in yaml.safe_load_all(text):
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
    return docs, errors


def _flatten(obj: Any) -> Iterator[Any]:
    if isinstance(obj, dict) and obj.get("kind") == "List" and isinstance(obj.get("items"), list):
        yield from obj["items"]
    else:
        yield obj


def dump_all(objects: Iterable[dict[str, Any]]) -> str:
    """Objects as one multi-document YAML stream that `kubectl apply -f -` accepts."""
    return yaml.safe_dump_all(list(objects), sort_keys=False, explicit_start=True, default_flow_style=False)
