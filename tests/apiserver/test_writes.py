"""Spec §3 tests 13-25: patch types and their errors, content types, error shapes, names and schema
validation (including CEL), unknown-field handling, generateName, namespaces, finalizers and
ownerReferences garbage collection."""

from __future__ import annotations

import asyncio
import json
import re

from tests.apiserver.conftest import APPLY, JSONPATCH, MERGE, SECRETS, SMP, WIDGETS, Api, widget


async def test_merge_patch_null_deletes_and_rv_precondition_409(widgets: Api) -> None:
    api = widgets
    created = await api.post(WIDGETS, widget("w", color="red", tags=["a", "b"]))
    resp = await api.patch(f"{WIDGETS}/w", {"spec": {"tags": ["c"], "ttl": None},
                                            "metadata": {"labels": {"k": "v"}}})
    assert resp.status == 200 and resp.body["spec"]["tags"] == ["c"]
    resp = await api.patch(f"{WIDGETS}/w", {"metadata": {"labels": {"k": None}}, "spec": {"tags": None}})
    assert resp.status == 200 and "tags" not in resp.body["spec"] and "labels" not in resp.body["metadata"]
    stale = await api.patch(f"{WIDGETS}/w", {"metadata": {"resourceVersion": created.rv}, "spec": {"size": 9}})
    assert stale.status == 409 and stale.body["reason"] == "Conflict"
    fresh = await api.patch(f"{WIDGETS}/w", {"metadata": {"resourceVersion": resp.rv}, "spec": {"size": 9}})
    assert fresh.status == 200 and fresh.body["spec"]["size"] == 9
    missing = await api.patch(f"{WIDGETS}/nope", {"spec": {}})
    assert missing.status == 404 and missing.body["message"] == 'widgets.example.com "nope" not found'


async def test_json_patch_all_ops_and_failed_test_op_422(widgets: Api) -> None:
    api = widgets
    created = await api.post(WIDGETS, widget("w", tags=["a"]))
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": created.rv},
        {"op": "add", "path": "/metadata/finalizers", "value": ["kopf.zalando.org/KopfFinalizerMarker"]},
        {"op": "add", "path": "/spec/tags/-", "value": "b"},
        {"op": "replace", "path": "/spec/size", "value": 3},
        {"op": "copy", "from": "/spec/size", "path": "/metadata/annotations"},
        {"op": "remove", "path": "/metadata/annotations"},
        {"op": "move", "from": "/spec/tags/0", "path": "/spec/shape"},
    ]
    resp = await api.patch(f"{WIDGETS}/w", ops, JSONPATCH)
    assert resp.status == 200, resp.body
    assert resp.body["metadata"]["finalizers"] == ["kopf.zalando.org/KopfFinalizerMarker"]
    assert resp.body["spec"]["tags"] == ["b"] and resp.body["spec"]["size"] == 3 and resp.body["spec"]["shape"] == "a"
    # kopf's finalizer patch against a stale resourceVersion: 422 and nothing changed
    stale = [{"op": "test", "path": "/metadata/resourceVersion", "value": created.rv},
             {"op": "remove", "path": "/metadata/finalizers"}]
    failed = await api.patch(f"{WIDGETS}/w", stale, JSONPATCH)
    assert failed.status == 422 and failed.body["reason"] == "Invalid"
    assert (await api.get(f"{WIDGETS}/w")).body["metadata"]["finalizers"]
    bad = await api.patch(f"{WIDGETS}/w", [{"op": "jump", "path": "/x"}], JSONPATCH)
    assert bad.status == 422 and bad.body["details"] == {}  # kube's json-patch library finds it when applying
    undecodable = await api.req("PATCH", f"{WIDGETS}/w", raw=b"[{", ctype=JSONPATCH)
    assert undecodable.status == 400 and undecodable.body["message"] == "invalid JSON patch"
    assert "details" not in undecodable.body


async def test_strategic_merge_patch_415_on_cr_ok_on_secret(widgets: Api) -> None:
    api = widgets
    await api.post(WIDGETS, widget("w"))
    resp = await api.patch(f"{WIDGETS}/w", {"spec": {"size": 2}}, SMP)
    assert resp.status == 415
    assert resp.body["reason"] == "UnsupportedMediaType"
    assert resp.body["message"] == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
    u1 = (await api.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}})).body["metadata"]["uid"]
    u2 = (await api.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "d"}})).body["metadata"]["uid"]
    await api.post(SECRETS, {"metadata": {"name": "s", "finalizers": ["a/b"],
                                          "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap",
                                                               "name": "c", "uid": u1}]}})
    resp = await api.patch(f"{SECRETS}/s", {
        "metadata": {"finalizers": ["c/d"], "labels": {"x": "y"},
                     "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "d", "uid": u2}]},
        "stringData": {"k": "v"}}, SMP)
    assert resp.status == 200, resp.body
    md = resp.body["metadata"]
    assert sorted(md["finalizers"]) == ["a/b", "c/d"]
    assert [r["uid"] for r in md["ownerReferences"]] == [u2, u1]  # kube's order: the patch's elements first
    assert resp.body["data"] == {"k": "dg=="}


async def test_merge_patch_with_array_body_400(widgets: Api) -> None:
    api = widgets
    await api.post(WIDGETS, widget("w"))
    ops = [{"op": "replace", "path": "/spec/size", "value": 2}]
    resp = await api.patch(f"{WIDGETS}/w", ops, MERGE)
    assert resp.status == 400 and resp.body["reason"] == "BadRequest"  # kube v1.37 (a 422 Invalid before)
    assert resp.body["message"] == ("error decoding patch: json: cannot unmarshal array into Go value of type "
                                    "map[string]interface {}")
    assert (await api.get(f"{WIDGETS}/w")).body["spec"]["size"] == 1


async def test_missing_content_type_on_post_put_is_json_but_415_on_patch(widgets: Api) -> None:
    api = widgets
    created = await api.req("POST", WIDGETS, raw=json.dumps(widget("w")).encode(), ctype=None)
    assert created.status == 201
    body = created.body
    body["spec"]["size"] = 2
    put = await api.req("PUT", f"{WIDGETS}/w", raw=json.dumps(body).encode(), ctype=None)
    assert put.status == 200 and put.body["spec"]["size"] == 2
    patch = await api.req("PATCH", f"{WIDGETS}/w", raw=b'{"spec":{"size":3}}', ctype=None)
    assert patch.status == 415 and patch.body["reason"] == "UnsupportedMediaType"
    other = await api.req("PATCH", f"{WIDGETS}/w", raw=b'{"spec":{"size":3}}', ctype="text/plain")
    assert other.status == 415
    deleted = await api.req("DELETE", f"{WIDGETS}/w", raw=b'{"propagationPolicy":"Background"}', ctype=None)
    assert deleted.status == 200


async def test_already_exists_and_not_found_status_shapes(widgets: Api) -> None:
    api = widgets
    await api.post(WIDGETS, widget("x"))
    again = await api.post(WIDGETS, widget("x"))
    assert again.status == 409
    assert again.body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                          "message": 'widgets.example.com "x" already exists', "reason": "AlreadyExists",
                          "details": {"name": "x", "group": "example.com", "kind": "widgets"}, "code": 409}
    missing = await api.get(f"{SECRETS}/s1")
    assert missing.status == 404
    assert missing.body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": 'secrets "s1" not found', "reason": "NotFound",
                            "details": {"name": "s1", "kind": "secrets"}, "code": 404}
    unknown = await api.get("/api/v1/namespaces/default/nothings")
    assert unknown.status == 404 and unknown.body["details"] == {}
    assert unknown.body["message"] == "the server could not find the requested resource"
    # kube leaves paths of a CRD group it serves nothing under to its plain mux
    plain = await api.get("/apis/example.com/v1/namespaces/default/nothings")
    assert (plain.status, plain.body, plain.headers["Content-Type"]) == (
        404, "404 page not found\n", "text/plain; charset=utf-8")
    assert (await api.get("/nowhere")).status == 404
    deleted = await api.delete(f"{WIDGETS}/nope")
    assert deleted.status == 404 and deleted.body["reason"] == "NotFound"


async def test_invalid_name_and_schema_422_causes(widgets: Api) -> None:
    api = widgets
    resp = await api.post(WIDGETS, widget("Bad_Name"))
    assert resp.status == 422
    assert resp.body["message"].startswith('Widget.example.com "Bad_Name" is invalid: metadata.name: Invalid '
                                           'value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of')
    ns = await api.post("/api/v1/namespaces", {"metadata": {"name": "a.b"}})
    assert ns.status == 422 and ns.body["message"].endswith('Invalid value: "a.b": must not contain dots')
    body = widget("w")
    del body["spec"]["size"]
    body["spec"]["color"] = "purple"
    resp = await api.post(WIDGETS, body)
    assert resp.status == 422
    causes = {c["field"]: c for c in resp.body["details"]["causes"]}
    assert causes["spec.size"]["reason"] == "FieldValueRequired"
    assert causes["spec.color"]["reason"] == "FieldValueNotSupported"
    assert resp.body["message"].startswith('Widget.example.com "w" is invalid: [')
    assert resp.body["details"]["kind"] == "Widget" and resp.body["details"]["group"] == "example.com"
    typed = await api.post(WIDGETS, widget("w", size="big"))  # type: ignore[arg-type]
    assert typed.status == 422
    assert typed.body["details"]["causes"][0]["reason"] == "FieldValueTypeInvalid"
    # CEL: duration() rule and a transition rule on oldSelf
    cel = await api.post(WIDGETS, widget("w", ttl="48h"))
    assert cel.status == 422 and "ttl must be at most 24h" in cel.body["message"]
    old_date = await api.post(WIDGETS, widget("w", notAfter="1999-01-01T00:00:00Z"))
    assert old_date.status == 422 and "notAfter must be in this millennium" in old_date.body["message"]
    ok = await api.post(WIDGETS, widget("w", ttl="1h", color="red", notAfter="2030-01-01T00:00:00Z"))
    assert ok.status == 201
    change = await api.patch(f"{WIDGETS}/w", {"spec": {"color": "blue"}})
    assert change.status == 422 and "color is immutable" in change.body["message"]
    labels = widget("l")
    labels["metadata"]["labels"] = {"bad key": "v", "ok": "bad value!"}
    bad_labels = await api.post(WIDGETS, labels)
    assert bad_labels.status == 422
    assert [c["field"] for c in bad_labels.body["details"]["causes"]] == ["metadata.labels", "metadata.labels"]
    no_name = await api.post(WIDGETS, {"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"size": 1}})
    assert no_name.status == 422
    assert no_name.body["details"]["causes"][0] == {
        "reason": "FieldValueRequired", "message": "Required value: name or generateName is required",
        "field": "metadata.name"}


async def test_unknown_fields_pruned_warn_header_strict_400_ignore_silent(widgets: Api) -> None:
    api = widgets
    warn = await api.post(WIDGETS, widget("a", foo=1))
    assert warn.status == 201 and "foo" not in warn.body["spec"]
    assert warn.headers.getall("Warning") == ['299 - "unknown field \\"spec.foo\\""']
    strict = await api.post(WIDGETS, widget("b", foo=1), params={"fieldValidation": "Strict"})
    assert strict.status == 400 and strict.body["reason"] == "BadRequest"
    assert strict.body["message"] == ('Widget in version "v1" cannot be handled as a Widget: strict decoding '
                                      'error: unknown field "spec.foo"')
    ignore = await api.post(WIDGETS, widget("c", foo=1), params={"fieldValidation": "Ignore"})
    assert ignore.status == 201 and "Warning" not in ignore.headers and "foo" not in ignore.body["spec"]
    patched = await api.patch(f"{WIDGETS}/a", {"spec": {"bar": 2}}, params={"fieldValidation": "Strict"})
    assert patched.status == 422 and patched.body["reason"] == "Invalid"  # kube checks the patched object
    assert patched.body["message"].startswith(' "" is invalid: patch: Invalid value: "{\\"apiVersion\\":')
    assert patched.body["message"].endswith('": strict decoding error: unknown field "spec.bar"')
    assert patched.body["details"]["causes"][0]["field"] == "patch"
    bad_json = await api.req("POST", WIDGETS, raw=b"{not json", ctype="application/json")
    assert bad_json.status == 400 and bad_json.body["message"] == (
        "the object provided is unrecognized (must be of type Widget): couldn't get version/kind; json parse "
        "error: invalid character 'n' looking for beginning of object key string ({not json)")
    listed = await api.req("POST", SECRETS, raw=b"[1, 2]", ctype="application/json")
    assert listed.status == 400 and listed.body["message"].endswith("Kind string \"json:\\\"kind,omitempty\\\"\" } "
                                                                   "(5b312c20325d)")
    plain = await api.req("POST", WIDGETS, raw=b"{}", ctype="text/plain")
    assert plain.status == 415 and plain.body["message"].endswith(
        "application/json, application/yaml, application/vnd.kubernetes.protobuf")


async def test_generate_name_suffix(widgets: Api) -> None:
    api = widgets
    names = set()
    for _ in range(5):
        resp = await api.post(WIDGETS, {"apiVersion": "example.com/v1", "kind": "Widget",
                                        "metadata": {"generateName": "w-"}, "spec": {"size": 1}})
        assert resp.status == 201
        name = resp.body["metadata"]["name"]
        assert re.fullmatch(r"w-[bcdfghjklmnpqrstvwxz2456789]{5}", name)
        names.add(name)
    assert len(names) == 5


async def test_namespace_missing_404_terminating_403_and_cascade(widgets: Api) -> None:
    api = widgets
    missing = await api.post("/api/v1/namespaces/nope/secrets", {"metadata": {"name": "s"}})
    assert missing.status == 404 and missing.body["message"] == 'namespaces "nope" not found'
    assert (await api.post("/api/v1/namespaces", {"metadata": {"name": "team"}})).status == 201
    ns = (await api.get("/api/v1/namespaces/team")).body
    assert ns["spec"]["finalizers"] == ["kubernetes"] and ns["status"]["phase"] == "Active"
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
    for name in ("kube-system", "kube-public", "kube-node-lease", "default"):
        assert (await api.get(f"/api/v1/namespaces/{name}")).status == 200
    await api.post("/api/v1/namespaces/team/secrets", {"metadata": {"name": "s"}})
    held = widget("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    await api.post("/apis/example.com/v1/namespaces/team/widgets", held)
    deleting = await api.delete("/api/v1/namespaces/team")
    assert deleting.status == 200 and deleting.body["status"]["phase"] == "Terminating"
    await asyncio.sleep(0.05)
    refused = await api.post("/api/v1/namespaces/team/secrets", {"metadata": {"name": "t"}})
    assert refused.status == 403 and refused.body["reason"] == "Forbidden"
    assert "unable to create new content in namespace team because it is being terminated" in refused.body["message"]
    assert refused.body["details"]["causes"] == [{"reason": "NamespaceTerminating", "field": "metadata.namespace",
                                                  "message": "namespace team is being terminated"}]
    assert (await api.get("/api/v1/namespaces/team/secrets/s")).status == 404
    assert (await api.get("/api/v1/namespaces/team")).status == 200  # the finalizer holds it
    await api.patch("/apis/example.com/v1/namespaces/team/widgets/held", {"metadata": {"finalizers": None}})
    await asyncio.sleep(0.05)
    assert (await api.get("/api/v1/namespaces/team")).status == 404
    protected = await api.delete("/api/v1/namespaces/default")
    assert protected.status == 403


async def test_finalizers_block_delete_then_release(widgets: Api) -> None:
    api = widgets
    body = widget("w")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    created = await api.post(WIDGETS, body)
    watch = asyncio.ensure_future(api.watch(WIDGETS, {"resourceVersion": created.rv}, count=2))
    await asyncio.sleep(0.05)
    deleting = await api.delete(f"{WIDGETS}/w", {"propagationPolicy": "Background"})
    assert deleting.status == 200 and deleting.body["metadata"]["deletionTimestamp"]
    again = await api.delete(f"{WIDGETS}/w")
    assert again.status == 200 and again.rv == deleting.rv
    # spec and status changes are still allowed while deleting
    assert (await api.patch(f"{WIDGETS}/w", {"spec": {"size": 4}})).status == 200
    released = await api.patch(f"{WIDGETS}/w", {"metadata": {"finalizers": None}})
    assert released.status == 200
    events = await watch
    assert [e["type"] for e in events] == ["MODIFIED", "MODIFIED"]
    assert (await api.get(f"{WIDGETS}/w")).status == 404
    tail = await api.watch(WIDGETS, {"resourceVersion": deleting.rv}, count=2)
    assert [e["type"] for e in tail] == ["MODIFIED", "DELETED"]
    assert int(tail[1]["object"]["metadata"]["resourceVersion"]) > int(tail[0]["object"]["metadata"]
                                                                       ["resourceVersion"])


async def test_no_new_finalizers_while_deleting_422(widgets: Api) -> None:
    api = widgets
    body = widget("w")
    body["metadata"]["finalizers"] = ["example.com/a"]
    await api.post(WIDGETS, body)
    await api.delete(f"{WIDGETS}/w")
    resp = await api.patch(f"{WIDGETS}/w", {"metadata": {"finalizers": ["example.com/a", "example.com/b"]}})
    assert resp.status == 422
    cause = {"reason": "FieldValueForbidden", "field": "metadata.finalizers",
             "message": 'Forbidden: no new finalizers can be added if the object is being deleted, found new '
                        'finalizers []string{"example.com/b"}'}
    assert resp.body["details"]["causes"] == [cause, cause]  # kube v1.37 reports it twice...
    assert resp.body["message"].endswith(']string{"example.com/b"}')  # ...and its message once


async def test_owner_references_background_gc(widgets: Api) -> None:
    api = widgets
    owner = (await api.post(WIDGETS, widget("owner"))).body
    ref = {"apiVersion": "example.com/v1", "kind": "Widget", "name": "owner", "uid": owner["metadata"]["uid"],
           "controller": True, "blockOwnerDeletion": True}
    await api.post(SECRETS, {"metadata": {"name": "owned", "ownerReferences": [ref]}})
    await api.post(SECRETS, {"metadata": {"name": "held", "ownerReferences": [ref], "finalizers": ["x.io/y"]}})
    keeper = await api.post(SECRETS, {"metadata": {"name": "keeper"}})
    await api.post(SECRETS, {"metadata": {"name": "other", "ownerReferences": [
        ref, {"apiVersion": "v1", "kind": "Secret", "name": "keeper", "uid": keeper.body["metadata"]["uid"]}]}})
    assert (await api.delete(f"{WIDGETS}/owner")).status == 200
    late = await api.post(SECRETS, {"metadata": {"name": "late", "ownerReferences": [ref]}})
    assert late.status == 201  # created after its only owner is gone: collected too
    await asyncio.sleep(0.05)
    assert (await api.get(f"{SECRETS}/late")).status == 404
    assert (await api.get(f"{SECRETS}/owned")).status == 404
    held = await api.get(f"{SECRETS}/held")
    assert held.status == 200 and held.body["metadata"]["deletionTimestamp"]  # finalizers respected
    other = await api.get(f"{SECRETS}/other")
    assert other.status == 200  # another owner is alive; the dangling reference is patched away, as kube's GC does
    assert [r["name"] for r in other.body["metadata"]["ownerReferences"]] == ["keeper"]
    # Orphan: the dependent stays, without the ownerReference
    owner2 = (await api.post(WIDGETS, widget("owner2"))).body
    ref2 = dict(ref, name="owner2", uid=owner2["metadata"]["uid"])
    await api.post(SECRETS, {"metadata": {"name": "orphan", "ownerReferences": [ref2]}})
    resp = await api.delete(f"{WIDGETS}/owner2", {"propagationPolicy": "Orphan"})
    assert resp.status == 200
    await asyncio.sleep(0.05)
    assert (await api.get(f"{WIDGETS}/owner2")).status == 404
    orphan = await api.get(f"{SECRETS}/orphan")
    assert orphan.status == 200 and "ownerReferences" not in orphan.body["metadata"]
    # Foreground: the owner waits for blocking dependents
    owner3 = (await api.post(WIDGETS, widget("owner3"))).body
    ref3 = dict(ref, name="owner3", uid=owner3["metadata"]["uid"])
    await api.post(SECRETS, {"metadata": {"name": "fg", "ownerReferences": [ref3], "finalizers": ["x.io/y"]}})
    resp = await api.delete(f"{WIDGETS}/owner3", params={"propagationPolicy": "Foreground"})
    assert "foregroundDeletion" in resp.body["metadata"]["finalizers"]
    await asyncio.sleep(0.05)
    assert (await api.get(f"{WIDGETS}/owner3")).status == 200
    await api.patch(f"{SECRETS}/fg", {"metadata": {"finalizers": None}}, SMP)
    await asyncio.sleep(0.05)
    assert (await api.get(f"{SECRETS}/fg")).status == 404
    assert (await api.get(f"{WIDGETS}/owner3")).status == 404
    assert APPLY


async def test_delete_options_preconditions_dry_run_and_uid_precondition(widgets: Api) -> None:
    api = widgets
    created = await api.post(WIDGETS, widget("w"))
    uid = created.body["metadata"]["uid"]
    wrong_uid = await api.delete(f"{WIDGETS}/w", {"preconditions": {"uid": "other"}})
    assert wrong_uid.status == 409
    assert wrong_uid.body["message"] == (f'Operation cannot be fulfilled on Widget.example.com "w": the UID in the '
                                         f"precondition (other) does not match the UID in record ({uid}). The "
                                         "object might have been deleted and then recreated")
    wrong_rv = await api.delete(f"{WIDGETS}/w", {"preconditions": {"resourceVersion": "1"}})
    assert wrong_rv.status == 409 and "the ResourceVersion in the precondition (1)" in wrong_rv.body["message"]
    dry = await api.delete(f"{WIDGETS}/w", params={"dryRun": "All"})
    assert dry.status == 200 and (await api.get(f"{WIDGETS}/w")).status == 200
    bad_dry = await api.delete(f"{WIDGETS}/w", params={"dryRun": "Sometimes"})
    assert bad_dry.status == 422 and bad_dry.body["message"] == (
        'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["Sometimes"]: supported values: "All"')
    body = created.body
    body["metadata"]["uid"] = "recreated"
    replaced = await api.put(f"{WIDGETS}/w", body)
    assert replaced.status == 409 and "Precondition failed: UID in precondition: recreated" in replaced.body["message"]
    ssa = await api.patch(f"{WIDGETS}/w", {"spec": {"size": 2}}, APPLY)
    assert ssa.status == 422  # fieldManager is required for apply
    assert ssa.body["message"] == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is '
                                   "required for apply patch")
    created_by_apply = await api.patch(f"{WIDGETS}/new", dict(widget("new"), metadata={"name": "new"}), APPLY,
                                       params={"fieldManager": "me"})
    assert created_by_apply.status == 201
    status = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "new"}, "status": {"phase": "x"}}
    applied_status = await api.patch(f"{WIDGETS}/new/status", status, APPLY, params={"fieldManager": "me"})
    assert [(e["manager"], e.get("subresource")) for e in applied_status.body["metadata"]["managedFields"]] == [
        ("me", None), ("me", "status")]
    ok = await api.delete(f"{WIDGETS}/w", {"preconditions": {"uid": uid}, "gracePeriodSeconds": 0})
    assert ok.status == 200 and ok.body["kind"] == "Status"  # as kube answers for custom resources
    service = await api.post("/api/v1/namespaces/default/services",
                             {"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}})
    assert service.status == 201
    removed = await api.delete("/api/v1/namespaces/default/services/svc")
    assert removed.status == 200 and removed.body["kind"] == "Service"  # kube answers a deleted Service itself
    secret = await api.post(SECRETS, {"metadata": {"name": "s"}})
    gone = await api.delete(f"{SECRETS}/s")
    assert gone.body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                         "details": {"name": "s", "kind": "secrets", "uid": secret.body["metadata"]["uid"]}}
