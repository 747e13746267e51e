"""Manifest loading and the YAML emitter used for printed Secrets."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from issuer import manifests

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
    obj = {"a": "true", "b": "0123", "c": "1.5", "d": "null", "on": "yes", "e": ""}
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
