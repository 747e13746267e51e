"""Manifest loading and the YAML emitter used for printed Secrets."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from issuer import manifests
from tests.unit.forks import run_counting_forks

keys = st.text(min_size=1, max_size=10)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=15,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(keys, values, max_size=4), min_size=1, max_size=3))
def test_dump_all_reads_back_as_the_same_objects_with_pyyaml(objects: list[dict[str, Any]]) -> None:
    assert list(yaml.safe_load_all(manifests.dump_all(objects))) == objects


def test_strings_that_look_like_numbers_or_booleans_stay_strings() -> None:
    obj = {"a": "true", "b": "0123", "c": "1.5", "d": "null", "on": "yes", "e": "", "A\n": "key with a newline"}
    assert yaml.safe_load(manifests.dump_all([obj])) == obj


def test_lists_flatten_and_documents_keep_their_origin() -> None:
    text = "kind: List\nitems:\n- {kind: Secret, metadata: {name: a}}\n- {kind: Secret, metadata: {name: b}}\n"
    text += "---\n---\n"
    text += "kind: Issuer\nmetadata: {name: c}\n"
    docs, errors = manifests.parse_text(text, "f.yaml")
    assert errors == []
    assert [(d.index, d.kind, d.name) for d in docs] == [(1, "Secret", "a"), (1, "Secret", "b"), (3, "Issuer", "c")]
    assert docs[2].where() == "f.yaml#3 Issuer/c"


def test_a_document_that_is_not_a_mapping_is_an_error_line() -> None:
    docs, errors = manifests.parse_text("- a\n- b\n", "f.yaml")
    assert docs == []
    assert [str(e) for e in errors] == ["f.yaml#1: document is not a Kubernetes object (a mapping)"]


@pytest.mark.parametrize("value", ["!!int x", "!!bool maybe", "!!float ''", "!!timestamp x", "!!int " + "9" * 5000])
def test_a_tagged_value_that_cannot_be_read_is_one_error_line_not_a_traceback(value: str) -> None:
    text = "kind: Secret\nmetadata: {name: ok}\n---\nkind: Secret\nmetadata: {name: bad}\n"
    text += f"stringData: {{a: {value}}}\n"
    docs, errors = manifests.parse_text(text, "f.yaml")
    assert [d.name for d in docs] == ["ok"]
    assert [str(e) for e in errors] == [f"f.yaml#2: {errors[0].message}"]
    assert errors[0].message.startswith("invalid YAML")


# Reading a big file in parts (parse_text with workers): the split and the joining are checked here in this
# process (the parts are read one after the other); a fresh interpreter below forks for real.

def serial_map(fn: Any, items: Any, workers: int, **_: Any) -> list[Any]:
    return [fn(item) for item in items]


def read(text: str, workers: int) -> list[tuple[int, Any]] | list[str]:
    docs, errors = manifests.parse_text(text, "f.yaml", workers=workers)
    return [str(e) for e in errors] if errors else [(d.index, d.obj) for d in docs]


PIECES = [
    "kind: Secret\nmetadata: {name: a}\n",
    "# a comment\nkind: Secret\nmetadata:\n  name: b\ndata:\n  x: |\n    line\n    ---\n",
    "",  # an empty document
    "kind: List\nitems:\n- {kind: Secret, metadata: {name: c}}\n- {kind: Secret, metadata: {name: d}}\n",
    "kind: Secret\nstringData:\n  s: |\n    text\n",
    "just a string\n",  # not an object: a problem, so the whole file is read again in one piece
    "kind: Secret\nmetadata: {name: e}\n...\n",
]
SEPARATORS = ["---\n", "--- \n", "---  # next\n", "---\r\n"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(SEPARATORS)), min_size=1, max_size=40),
       st.integers(min_value=2, max_value=4), st.booleans())
def test_a_file_read_in_parts_gives_what_reading_it_whole_gives(
    pieces: list[tuple[str, str]], workers: int, leading: bool
) -> None:
    text = ("---\n" if leading else "") + "".join(piece + separator for piece, separator in pieces)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifests, "PARALLEL_MIN_DOCUMENTS", 1)
        patch.setattr(manifests.forking, "map_in_processes", serial_map)
        assert read(text, workers) == read(text, 1)


@pytest.mark.parametrize("risky", ["--- |\nroot text\n---\nmore\n", "%YAML 1.1\n---\na: 1\n", "|\n---\n",
                                   "--- !!str\n---\n", "&a\n---\n"])
def test_files_that_could_hold_a_block_scalar_at_a_document_root_are_not_cut(risky: str) -> None:
    text = risky + "---\nkind: Secret\n" * 300
    assert manifests._split_documents(text, 2) is None
    assert manifests._split_documents("---\nkind: Secret\n" * 300, 2) is not None


FORKED_READ = """
import json, sys
from issuer import manifests
text = sys.stdin.read()
whole = manifests.parse_text(text, "f.yaml")
parts = manifests.parse_text(text, "f.yaml", workers=3)
print(json.dumps({"forks": len(forks), "same": whole == parts, "docs": len(parts[0]),
                  "last": parts[0][-1].index, "errors": [str(e) for e in parts[1]]}))
"""


def test_a_big_file_is_read_by_forked_processes_with_the_same_documents() -> None:
    text = "".join(f"---\nkind: Secret\nmetadata: {{name: s{i}}}\n" + ("---\n" if i % 50 == 0 else "")
                   for i in range(manifests.PARALLEL_MIN_DOCUMENTS + 100))
    out = run_counting_forks(FORKED_READ, stdin=text)
    count = manifests.PARALLEL_MIN_DOCUMENTS + 100
    assert out == {"forks": 2, "same": True, "docs": count, "last": count + 6, "errors": []}
