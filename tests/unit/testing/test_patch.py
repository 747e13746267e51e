"""issuer.testing.patch: merge, JSON, strategic merge and server-side apply patches as pure functions."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from issuer.testing import patch
from issuer.testing.patch import PatchError

TARGET: dict[str, Any] = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "Certificate",
    "metadata": {
        "name": "web",
        "namespace": "default",
        "resourceVersion": "26",
        "labels": {"app": "web", "tier": "front"},
        "finalizers": ["a"],
        "ownerReferences": [{"uid": "u1", "name": "owner", "kind": "Issuer", "apiVersion": "cert-manager.io/v1"}],
    },
    "spec": {"secretName": "web-tls", "dnsNames": ["a.example", "b.example"], "a/b": 1, "m~n": 2},
    "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Issuing", "status": "True"}]},
}


def target() -> dict[str, Any]:
    return copy.deepcopy(TARGET)


# ---------------------------------------------------------------------------------------------------
# merge patch

MERGE_CASES = [
    pytest.param({"spec": {"secretName": "new"}}, {"secretName": "new"}, id="a scalar is replaced"),
    pytest.param({"spec": {"secretName": None}}, {"secretName": None}, id="null deletes a field"),
    pytest.param({"spec": {"dnsNames": ["c.example"]}}, {"dnsNames": ["c.example"]}, id="a list is replaced whole"),
    pytest.param({"spec": {"new": {"x": None, "y": 1}}}, {"new": {"y": 1}}, id="nulls inside a new object vanish"),
    pytest.param({"spec": {"nope": None}}, {}, id="deleting a missing field is a no-op"),
]


@pytest.mark.parametrize(("body", "expected_change"), MERGE_CASES)
def test_merge_patch(body: dict[str, Any], expected_change: dict[str, Any]) -> None:
    result = patch.merge_patch(target(), body)
    expected = target()
    for key, value in expected_change.items():
        if value is None:
            expected["spec"].pop(key)
        else:
            expected["spec"][key] = value
    assert result == expected


def test_merge_patch_keeps_other_metadata() -> None:
    result = patch.merge_patch(target(), {"metadata": {"labels": {"tier": None, "new": "x"}}})
    assert result["metadata"]["labels"] == {"app": "web", "new": "x"}
    assert result["metadata"]["finalizers"] == ["a"]


@pytest.mark.parametrize(
    ("body", "go_type"),
    [
        pytest.param(
            [{"op": "add", "path": "/spec/x", "value": 1}], "array", id="a JSON-patch list sent as merge patch"
        ),
        pytest.param("text", "string", id="a string body"),
        pytest.param(3, "number", id="a number body"),
    ],
)
def test_merge_patch_with_a_non_object_body_is_400(body: Any, go_type: str) -> None:
    with pytest.raises(PatchError) as info:
        patch.merge_patch(target(), body)
    err = info.value
    assert (err.code, err.reason) == (400, "BadRequest")
    assert err.message == (f"error decoding patch: json: cannot unmarshal {go_type} into Go value of type "
                           "map[string]interface {}")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=15,
)
OBJECTS = st.dictionaries(st.text(max_size=4), JSON, max_size=4)


@settings(max_examples=200, deadline=None)
@given(doc=OBJECTS, body=OBJECTS)
def test_merge_patch_never_mutates_its_inputs(doc: dict[str, Any], body: dict[str, Any]) -> None:
    doc_before, body_before = copy.deepcopy(doc), copy.deepcopy(body)
    result = patch.merge_patch(doc, body)
    assert doc == doc_before
    assert body == body_before
    # the result shares nothing mutable with the inputs
    for key, value in result.items():
        if isinstance(value, (dict, list)):
            assert value is not doc.get(key)
            assert value is not body.get(key)


@settings(max_examples=200, deadline=None)
@given(doc=OBJECTS, body=OBJECTS)
def test_merge_patch_is_idempotent(doc: dict[str, Any], body: dict[str, Any]) -> None:
    once = patch.merge_patch(doc, body)
    assert patch.merge_patch(once, body) == once


# ---------------------------------------------------------------------------------------------------
# JSON patch

JSON_PATCH_CASES = [
    pytest.param(
        [{"op": "add", "path": "/metadata/finalizers/-", "value": "b"}],
        lambda d: d["metadata"]["finalizers"].append("b"),
        id="add with - appends to a list",
    ),
    pytest.param(
        [{"op": "add", "path": "/spec/dnsNames/0", "value": "z.example"}],
        lambda d: d["spec"]["dnsNames"].insert(0, "z.example"),
        id="add at an index inserts",
    ),
    pytest.param(
        [{"op": "add", "path": "/spec/secretName", "value": "x"}],
        lambda d: d["spec"].__setitem__("secretName", "x"),
        id="add on an existing member replaces it",
    ),
    pytest.param(
        [{"op": "remove", "path": "/metadata/finalizers"}],
        lambda d: d["metadata"].pop("finalizers"),
        id="remove a member",
    ),
    pytest.param(
        [{"op": "remove", "path": "/spec/dnsNames/1"}],
        lambda d: d["spec"]["dnsNames"].pop(1),
        id="remove a list element",
    ),
    pytest.param(
        [{"op": "replace", "path": "/spec/secretName", "value": "other"}],
        lambda d: d["spec"].__setitem__("secretName", "other"),
        id="replace a member",
    ),
    pytest.param(
        [{"op": "move", "from": "/spec/secretName", "path": "/spec/moved"}],
        lambda d: d["spec"].__setitem__("moved", d["spec"].pop("secretName")),
        id="move a member",
    ),
    pytest.param(
        [{"op": "copy", "from": "/spec/dnsNames", "path": "/spec/copied"}],
        lambda d: d["spec"].__setitem__("copied", list(d["spec"]["dnsNames"])),
        id="copy a member",
    ),
    pytest.param(
        [
            {"op": "test", "path": "/metadata/resourceVersion", "value": "26"},
            {"op": "add", "path": "/metadata/finalizers", "value": ["kopf.zalando.org/KopfFinalizerMarker"]},
        ],
        lambda d: d["metadata"].__setitem__("finalizers", ["kopf.zalando.org/KopfFinalizerMarker"]),
        id="kopf's finalizer patch with a passing resourceVersion test",
    ),
    pytest.param(
        [{"op": "replace", "path": "/spec/a~1b", "value": 10}, {"op": "replace", "path": "/spec/m~0n", "value": 20}],
        lambda d: d["spec"].update({"a/b": 10, "m~n": 20}),
        id="pointer escapes ~1 and ~0",
    ),
    pytest.param(
        [{"op": "test", "path": "/metadata/missing", "value": None}],
        lambda d: None,
        id="testing a missing member against null passes",
    ),
    pytest.param(
        [{"op": "test", "path": "/spec/dnsNames", "value": ["a.example", "b.example"]}],
        lambda d: None,
        id="test compares structured values",
    ),
]


@pytest.mark.parametrize(("ops", "mutate"), JSON_PATCH_CASES)
def test_json_patch(ops: list[dict[str, Any]], mutate: Any) -> None:
    expected = target()
    mutate(expected)
    assert patch.json_patch(target(), ops) == expected


JSON_PATCH_422 = [
    pytest.param(
        [{"op": "test", "path": "/metadata/resourceVersion", "value": "25"}],
        "testing value /metadata/resourceVersion failed: test failed",
        id="a failed test op (kopf's conflict signal)",
    ),
    pytest.param(
        [{"op": "remove", "path": "/spec/nope"}],
        "unable to remove nonexistent key: nope: missing value",
        id="removing a missing member",
    ),
    pytest.param(
        [{"op": "replace", "path": "/spec/nope", "value": 1}],
        "replace operation does not apply: doc is missing key: /spec/nope: missing value",
        id="replacing a missing member",
    ),
    pytest.param(
        [{"op": "add", "path": "/nope/deeper", "value": 1}],
        "add operation does not apply: doc is missing path: '/nope/deeper': missing value",
        id="adding under a missing parent",
    ),
    pytest.param(
        [{"op": "add", "path": "/spec/dnsNames/5", "value": "x"}],
        "unable to access invalid index: 5: invalid index referenced: /spec/dnsNames/5",
        id="adding past the end of a list",
    ),
    pytest.param(
        [{"op": "test", "path": "/spec/secretName", "value": 1}],
        "testing value /spec/secretName failed: test failed",
        id="test is type-strict",
    ),
]


@pytest.mark.parametrize(("ops", "cause"), JSON_PATCH_422)
def test_json_patch_problems_are_422(ops: list[dict[str, Any]], cause: str) -> None:
    with pytest.raises(PatchError) as info:
        patch.json_patch(target(), ops)
    assert (info.value.code, info.value.reason) == (422, "Invalid")
    assert info.value.message == "the server rejected our request due to an error in our request"
    assert info.value.cause == cause


JSON_PATCH_400 = [
    pytest.param({"op": "add"}, id="a body that is an object, not a list"),
    pytest.param(["add"], id="an op that is not an object"),
]


@pytest.mark.parametrize("ops", [
    pytest.param([{"op": "frobnicate", "path": "/a"}], id="an unknown op"),
    pytest.param([{"op": "add", "value": 1}], id="an op without path"),
    pytest.param([{"op": "move", "path": "/a"}], id="move without from"),
])
def test_unknown_or_incomplete_json_patch_ops_are_422_as_kube_finds_them_when_applying(ops: Any) -> None:
    with pytest.raises(PatchError) as info:
        patch.json_patch(target(), ops)
    assert (info.value.code, info.value.reason, info.value.message) == (
        422, "Invalid", "the server rejected our request due to an error in our request")


@pytest.mark.parametrize("ops", JSON_PATCH_400)
def test_malformed_json_patch_is_400(ops: Any) -> None:
    with pytest.raises(PatchError) as info:
        patch.json_patch(target(), ops)
    assert (info.value.code, info.value.reason) == (400, "BadRequest")
    assert info.value.message.startswith("error decoding patch: json: cannot unmarshal ")
    assert "Go value of type handlers.jsonPatchOp" in info.value.message or "[]handlers.jsonPatchOp" in \
        info.value.message


def test_an_apply_to_a_subresource_is_its_own_manager_entry() -> None:
    main = patch.apply_patch(None, applied(duration="1h"), manager="m", now="T")
    status = patch.apply_patch(main, {"apiVersion": "v1", "kind": "X", "status": {"phase": "Ready"}}, manager="m",
                               now="T", subresource="status")
    assert [(e["manager"], e.get("subresource")) for e in status["metadata"]["managedFields"]] == [
        ("m", None), ("m", "status")]
    assert status["metadata"]["managedFields"][1]["fieldsV1"] == {"f:status": {"f:phase": {}}}
    assert status["spec"]["duration"] == "1h"  # the main entry's fields stay


def test_a_missing_value_is_null_as_kubes_json_patch_library_reads_it() -> None:
    added = patch.json_patch(target(), [{"op": "add", "path": "/spec/extra"}])
    assert "extra" in added["spec"] and added["spec"]["extra"] is None
    assert patch.json_patch(target(), [{"op": "test", "path": "/spec/missing"}]) == target()


def test_json_patch_is_atomic_when_a_later_op_fails() -> None:
    doc = target()
    with pytest.raises(PatchError):
        patch.json_patch(
            doc,
            [
                {"op": "add", "path": "/metadata/finalizers/-", "value": "b"},
                {"op": "test", "path": "/metadata/resourceVersion", "value": "99"},
            ],
        )
    assert doc == TARGET


POINTERS = st.lists(st.sampled_from(["spec", "metadata", "x", "0", "-", "dnsNames", "labels"]), max_size=3).map(
    lambda parts: "/" + "/".join(parts) if parts else ""
)
OPS = st.lists(
    st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test"]), "path": POINTERS},
        optional={"value": JSON, "from": POINTERS},
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(ops=OPS)
def test_json_patch_is_atomic_and_pure_for_any_ops(ops: list[dict[str, Any]]) -> None:
    doc = target()
    ops_before = copy.deepcopy(ops)
    try:
        result = patch.json_patch(doc, ops)
    except PatchError as err:
        assert err.code in (400, 422)
    else:
        assert isinstance(result, dict)
    assert doc == TARGET
    assert ops == ops_before


# ---------------------------------------------------------------------------------------------------
# strategic merge patch

SMP_CASES = [
    pytest.param(
        {"metadata": {"finalizers": ["b", "a"]}},
        lambda d: d["metadata"].__setitem__("finalizers", ["b", "a"]),  # kube: the patch's order first
        id="finalizers merge as a set",
    ),
    pytest.param(
        {"metadata": {"ownerReferences": [{"uid": "u2", "name": "other", "kind": "Issuer", "apiVersion": "v1"}]}},
        lambda d: d["metadata"]["ownerReferences"].insert(
            0, {"uid": "u2", "name": "other", "kind": "Issuer", "apiVersion": "v1"}
        ),
        id="ownerReferences merge by uid and a new uid goes first as kube orders it",
    ),
    pytest.param(
        {"metadata": {"ownerReferences": [{"uid": "u1", "$patch": "delete"}]}},
        lambda d: d["metadata"].__setitem__("ownerReferences", []),
        id="an element deleted by merge key with $patch delete",
    ),
    pytest.param(
        {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        lambda d: d["status"]["conditions"][0].__setitem__("status", "True"),
        id="conditions merge by type",
    ),
    pytest.param(
        {"spec": {"dnsNames": ["c.example"]}},
        lambda d: d["spec"].__setitem__("dnsNames", ["c.example"]),
        id="lists without a merge key are replaced",
    ),
    pytest.param(
        {"metadata": {"labels": {"tier": None}}},
        lambda d: d["metadata"]["labels"].pop("tier"),
        id="null deletes a map key",
    ),
    pytest.param(
        {"metadata": {"labels": {"$patch": "replace", "only": "this"}}},
        lambda d: d["metadata"].__setitem__("labels", {"only": "this"}),
        id="$patch replace on a map",
    ),
    pytest.param(
        {"spec": {"$patch": "delete"}},
        lambda d: d.pop("spec"),
        id="$patch delete on a map",
    ),
    pytest.param(
        {"spec": {"$retainKeys": ["secretName"], "secretName": "kept"}},
        lambda d: d.__setitem__("spec", {"secretName": "kept"}),
        id="$retainKeys keeps only the listed keys",
    ),
    pytest.param(
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}},
        lambda d: d["metadata"].__setitem__("finalizers", []),
        id="$deleteFromPrimitiveList removes values",
    ),
    pytest.param(
        {
            "status": {
                "$setElementOrder/conditions": [{"type": "Issuing"}, {"type": "Ready"}],
                "conditions": [{"type": "Ready", "status": "True"}],
            }
        },
        lambda d: d["status"].__setitem__(
            "conditions", [{"type": "Issuing", "status": "True"}, {"type": "Ready", "status": "True"}]
        ),
        id="$setElementOrder reorders the merged list and is stripped",
    ),
    pytest.param(
        {"spec": {"dnsNames": [{"$patch": "replace"}, "x.example"]}},
        lambda d: d["spec"].__setitem__("dnsNames", ["x.example"]),
        id="$patch replace inside a list",
    ),
]


@pytest.mark.parametrize(("body", "mutate"), SMP_CASES)
def test_strategic_merge_patch(body: dict[str, Any], mutate: Any) -> None:
    expected = target()
    mutate(expected)
    assert patch.strategic_merge_patch(target(), body) == expected


def test_strategic_merge_patch_merges_containers_env_and_ports() -> None:
    pod = {
        "spec": {
            "containers": [
                {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 80}]},
                {"name": "side", "image": "s:1"},
            ],
            "tolerations": [{"key": "a"}],
        }
    }
    body = {
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "a:2",
                    "env": [{"name": "B", "value": "2"}],
                    "ports": [{"containerPort": 80, "name": "http"}],
                }
            ],
            "tolerations": [{"key": "b"}],
        }
    }
    result = patch.strategic_merge_patch(pod, body)
    assert result["spec"]["containers"] == [
        {
            "name": "app",
            "image": "a:2",
            "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
            "ports": [{"containerPort": 80, "name": "http"}],
        },
        {"name": "side", "image": "s:1"},
    ]
    assert result["spec"]["tolerations"] == [{"key": "b"}]


@pytest.mark.parametrize(("current", "body", "expected"), [
    (["a", "b", "c"], ["d"], ["d", "a", "b", "c"]),
    (["a", "b", "c"], ["b", "d"], ["a", "b", "d", "c"]),
    (["a", "b", "c"], ["d", "a"], ["d", "a", "b", "c"]),
    (["a", "c"], ["b"], ["b", "a", "c"]),
    (["b"], ["a", "c"], ["a", "c", "b"]),
])
def test_merged_lists_take_kubes_order(current: list[str], body: list[str], expected: list[str]) -> None:
    """Observed on kube-apiserver v1.37 (normalizeElementOrder) for finalizers and ownerReferences alike."""
    refs = [{"apiVersion": "v1", "kind": "ConfigMap", "name": n, "uid": f"u-{n}"} for n in current]
    doc = {"metadata": {"finalizers": current, "ownerReferences": refs}}
    result = patch.strategic_merge_patch(doc, {"metadata": {"finalizers": body, "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": n, "uid": f"u-{n}"} for n in body]}})
    assert result["metadata"]["finalizers"] == expected
    assert [r["name"] for r in result["metadata"]["ownerReferences"]] == expected


def test_directives_never_reach_a_new_field() -> None:
    result = patch.strategic_merge_patch({}, {"data": {"$patch": "merge", "a": "1", "b": None}})
    assert result == {"data": {"a": "1"}}


def test_strategic_merge_patch_with_a_list_body_is_400() -> None:
    with pytest.raises(PatchError) as info:
        patch.strategic_merge_patch(target(), [])
    assert (info.value.code, info.value.message) == (
        400, "json: cannot unmarshal array into Go value of type map[string]interface {}")


@settings(max_examples=200, deadline=None)
@given(body=OBJECTS)
def test_strategic_merge_patch_never_mutates_its_inputs(body: dict[str, Any]) -> None:
    doc = target()
    before = copy.deepcopy(body)
    patch.strategic_merge_patch(doc, body)
    assert doc == TARGET
    assert body == before


# ---------------------------------------------------------------------------------------------------
# server-side apply


def applied(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": spec,
    }


def test_apply_creates_and_records_the_managers_fields() -> None:
    result = patch.apply_patch(None, applied(secretName="s", issuerRef={"name": "ca"}), manager="kubectl", now="T")
    assert result["spec"] == {"secretName": "s", "issuerRef": {"name": "ca"}}
    [entry] = result["metadata"]["managedFields"]
    assert entry == {
        "manager": "kubectl",
        "operation": "Apply",
        "apiVersion": "cert-manager.io/v1",
        "time": "T",
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:issuerRef": {"f:name": {}}, "f:secretName": {}},
        },
    }


def test_apply_merges_maps_and_replaces_lists() -> None:
    base = target()
    result = patch.apply_patch(base, applied(dnsNames=["c.example"]), manager="kubectl")
    assert result["spec"]["dnsNames"] == ["c.example"]
    assert result["spec"]["secretName"] == "web-tls"
    assert result["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert base == TARGET


def test_a_field_dropped_by_the_same_manager_is_removed() -> None:
    first = patch.apply_patch(target(), applied(duration="1h", renewBefore="10m"), manager="kubectl")
    second = patch.apply_patch(first, applied(duration="2h"), manager="kubectl")
    assert second["spec"]["duration"] == "2h"
    assert "renewBefore" not in second["spec"]
    assert second["spec"]["secretName"] == "web-tls"  # never applied by kubectl: untouched


def test_a_field_also_applied_by_another_manager_is_kept() -> None:
    first = patch.apply_patch(target(), applied(duration="1h"), manager="alice")
    second = patch.apply_patch(first, applied(duration="1h"), manager="bob")
    third = patch.apply_patch(second, applied(), manager="alice")
    assert third["spec"]["duration"] == "1h"
    managers = [e["manager"] for e in third["metadata"]["managedFields"]]
    assert managers == ["alice", "bob"]  # kube's order: operation, time, then manager


def test_applying_another_managers_field_with_a_new_value_is_a_409_conflict() -> None:
    first = patch.apply_patch(target(), applied(duration="1h", renewBefore="5m"), manager="alice", now="T")
    with pytest.raises(PatchError) as info:
        patch.apply_patch(first, applied(duration="2h", renewBefore="6m"), manager="bob", now="T")
    err = info.value
    assert (err.code, err.reason) == (409, "Conflict")
    assert err.message == ('Apply failed with 2 conflicts: conflicts with "alice":\n- .spec.duration\n'
                           "- .spec.renewBefore")
    assert err.causes == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "alice"', "field": ".spec.duration"},
        {"reason": "FieldManagerConflict", "message": 'conflict with "alice"', "field": ".spec.renewBefore"}]
    with pytest.raises(PatchError) as one:
        patch.apply_patch(first, applied(duration="2h"), manager="bob", now="T")
    assert one.value.message == 'Apply failed with 1 conflict: conflict with "alice": .spec.duration'


def test_an_update_manager_is_named_with_its_api_version_and_time() -> None:
    doc = target()
    doc["metadata"]["managedFields"] = [{"manager": "kubectl-edit", "operation": "Update", "apiVersion": "v1",
                                         "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                                         "fieldsV1": {"f:spec": {"f:secretName": {}}}}]
    with pytest.raises(PatchError) as info:
        patch.apply_patch(doc, applied(secretName="other"), manager="bob")
    assert info.value.message == ('Apply failed with 1 conflict: conflict with "kubectl-edit" using v1 at '
                                  "2026-01-01T00:00:00Z: .spec.secretName")


def test_force_takes_conflicting_fields_over_and_drops_an_emptied_entry() -> None:
    first = patch.apply_patch(target(), applied(duration="1h", renewBefore="5m"), manager="alice", now="T1")
    second = patch.apply_patch(first, applied(duration="2h"), manager="bob", force=True, now="T2")
    assert second["spec"]["duration"] == "2h"
    owners = {e["manager"]: e["fieldsV1"] for e in second["metadata"]["managedFields"]}
    assert owners["alice"] == {"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:renewBefore": {}}}
    assert owners["bob"]["f:spec"] == {"f:duration": {}}
    third = patch.apply_patch(second, {"apiVersion": "v1", "kind": "X", "metadata": {"labels": {"app": "new"}},
                                       "spec": {"renewBefore": "1m"}}, manager="bob", force=True, now="T3")
    assert [e["manager"] for e in third["metadata"]["managedFields"]] == ["bob"]


def test_the_same_value_is_shared_and_an_unchanged_object_records_no_time() -> None:
    first = patch.apply_patch(target(), applied(duration="1h"), manager="alice", now="2026-01-01T00:00:09Z")
    second = patch.apply_patch(first, applied(duration="1h"), manager="bob", now="2026-01-01T00:00:10Z")
    entries = second["metadata"]["managedFields"]
    assert [(e["manager"], e.get("time")) for e in entries] == [("bob", None), ("alice", "2026-01-01T00:00:09Z")]
    again = patch.apply_patch(second, applied(duration="1h"), manager="alice", now="2026-01-01T00:00:11Z")
    assert [e.get("time") for e in again["metadata"]["managedFields"]] == [None, "2026-01-01T00:00:09Z"]


def test_a_dropped_nested_field_removes_the_emptied_parent() -> None:
    first = patch.apply_patch(None, applied(privateKey={"algorithm": "RSA"}), manager="m")
    second = patch.apply_patch(first, applied(secretName="s"), manager="m")
    assert second["spec"] == {"secretName": "s"}


def test_apply_without_field_manager_is_400() -> None:
    with pytest.raises(PatchError) as info:
        patch.apply_patch(None, applied(), manager="")
    assert info.value.code == 400


def test_apply_with_a_non_object_body_is_400() -> None:
    with pytest.raises(PatchError) as info:
        patch.apply_patch(None, ["x"], manager="m")
    assert info.value.code == 400


def test_apply_records_owner_references_keyed_by_uid_as_kube_does() -> None:
    applied = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "ownerReferences": [
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "name": "c", "uid": "u-1", "controller": True}]}}
    out = patch.apply_patch(None, applied, manager="m")
    fields = out["metadata"]["managedFields"][0]["fieldsV1"]["f:metadata"]["f:ownerReferences"]
    assert list(fields) == ['k:{"uid":"u-1"}']
    assert {".", "f:uid", "f:controller", "f:kind"} <= set(fields['k:{"uid":"u-1"}'])
    # applying again without the reference removes it (the list is still one field for apply's removals)
    again = patch.apply_patch(out, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}, manager="m")
    assert "ownerReferences" not in again["metadata"]
