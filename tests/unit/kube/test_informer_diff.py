"""The relist comparison of `issuer.kube.informer.diff`: what a consumer is told after a 410 Gone."""

from __future__ import annotations

from typing import Any

from issuer.kube import informer


def obj(name: str, rv: str, uid: str = "", namespace: str = "ns") -> dict[str, Any]:
    meta = {"name": name, "namespace": namespace, "resourceVersion": rv}
    if uid:
        meta["uid"] = uid
    return {"metadata": meta}


def cache(*objs: dict[str, Any]) -> dict[informer.Key, dict[str, Any]]:
    return {informer.key_of(o): o for o in objs}


def test_nothing_changed_is_silent() -> None:
    assert informer.diff(cache(obj("a", "1")), [obj("a", "1")]) == []


def test_added_modified_and_deleted() -> None:
    changes = informer.diff(cache(obj("a", "1"), obj("b", "2")), [obj("b", "5"), obj("c", "6")])
    assert [(e.type, e.object["metadata"]["name"], e.object["metadata"]["resourceVersion"]) for e in changes] == [
        ("DELETED", "a", "1"), ("MODIFIED", "b", "5"), ("ADDED", "c", "6")]


def test_a_recreated_object_is_deleted_then_added() -> None:
    changes = informer.diff(cache(obj("a", "1", uid="u1")), [obj("a", "9", uid="u2")])
    assert [(e.type, e.object["metadata"]["uid"]) for e in changes] == [("DELETED", "u1"), ("ADDED", "u2")]


def test_same_name_in_two_namespaces_are_different_keys() -> None:
    changes = informer.diff(cache(obj("a", "1", namespace="x")), [obj("a", "1", namespace="y")])
    assert [(e.type, e.object["metadata"]["namespace"]) for e in changes] == [("DELETED", "x"), ("ADDED", "y")]


def test_first_list_is_all_added() -> None:
    assert [e.type for e in informer.diff({}, [obj("a", "1"), obj("b", "2")])] == ["ADDED", "ADDED"]
