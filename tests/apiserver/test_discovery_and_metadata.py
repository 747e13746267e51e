"""Spec §3 tests 1-12: version, discovery, OpenAPI, CRD establishment, server-owned metadata, the
global resourceVersion, no-op writes, generation, the status subresource split and concurrency."""

from __future__ import annotations

import asyncio

from tests.apiserver.conftest import CRDS, GIZMOS, MERGE, SECRETS, WIDGETS, Api, widget, widget_crd


async def test_version_and_health(api: Api) -> None:
    resp = await api.get("/version")
    assert resp.status == 200
    assert resp.body["major"] == "1" and resp.body["minor"] == "32"
    assert resp.body["gitVersion"].startswith("v1.32.")
    for path in ("/healthz", "/readyz", "/livez"):
        assert (await api.get(path)).status == 200
    root = await api.get("/")
    assert "/api/v1" in root.body["paths"]


async def test_legacy_discovery_shapes(widgets: Api) -> None:
    api = widgets
    versions = (await api.get("/api")).body
    assert versions["kind"] == "APIVersions" and versions["versions"] == ["v1"]
    groups = (await api.get("/apis")).body
    assert groups["kind"] == "APIGroupList"
    by_name = {g["name"]: g for g in groups["groups"]}
    for name in ("apiextensions.k8s.io", "coordination.k8s.io", "events.k8s.io", "example.com",
                 "networking.k8s.io", "rbac.authorization.k8s.io", "apps"):
        assert by_name[name]["preferredVersion"]["groupVersion"] == f"{name}/v1"
    group = (await api.get("/apis/example.com")).body
    assert group["kind"] == "APIGroup" and group["versions"][0]["version"] == "v1"
    core = (await api.get("/api/v1")).body
    assert core["kind"] == "APIResourceList" and core["groupVersion"] == "v1"
    entries = {r["name"]: r for r in core["resources"]}
    assert entries["secrets"] | {"verbs": None} == {
        "name": "secrets", "singularName": "secret", "namespaced": True, "kind": "Secret", "verbs": None}
    assert "watch" in entries["secrets"]["verbs"] and "patch" in entries["secrets"]["verbs"]
    assert entries["namespaces"]["namespaced"] is False and entries["namespaces"]["shortNames"] == ["ns"]
    assert "namespaces/status" in entries
    gv = (await api.get("/apis/example.com/v1")).body
    res = {r["name"]: r for r in gv["resources"]}
    assert res["widgets"]["kind"] == "Widget" and res["widgets"]["singularName"] == "widget"
    assert res["widgets"]["shortNames"] == ["wi"] and res["widgets"]["categories"] == ["all"]
    assert res["widgets/status"]["verbs"] == ["get", "patch", "update"]
    assert (await api.get("/apis/nope.example.com/v1")).status == 404


async def test_crd_create_updates_discovery_and_openapi_hash(api: Api) -> None:
    before = (await api.get("/openapi/v3")).body["paths"]
    assert "api/v1" in before and "apis/apiextensions.k8s.io/v1" in before
    assert "apis/example.com/v1" not in before
    assert (await api.get("/apis/example.com/v1")).status == 404
    await api.create_crd()
    after = (await api.get("/openapi/v3")).body["paths"]
    url = after["apis/example.com/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/example.com/v1?hash=")
    doc = (await api.get(url)).body
    item = doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]
    assert item["patch"]["x-kubernetes-group-version-kind"] == {"group": "example.com", "version": "v1",
                                                                "kind": "Widget"}
    assert "fieldValidation" in [p["name"] for p in item["patch"]["parameters"]]
    assert "fieldValidation" in [p["name"] for p in item["put"]["parameters"]]
    assert any(k.endswith(".v1.Widget") for k in doc["components"]["schemas"])
    assert (await api.get("/apis/example.com/v1")).status == 200
    # a schema change changes the hash of that document
    crd = (await api.get(f"{CRDS}/widgets.example.com")).body
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["weight"] = {
        "type": "number"}
    assert (await api.put(f"{CRDS}/widgets.example.com", crd)).status == 200
    again = (await api.get("/openapi/v3")).body["paths"]
    assert again["apis/example.com/v1"]["serverRelativeURL"] != url
    assert again["api/v1"] == after["api/v1"]


async def test_crd_conditions_established_and_watch_event(api: Api) -> None:
    lst = await api.get(CRDS)
    watch = asyncio.ensure_future(api.watch(CRDS, {"resourceVersion": lst.rv}, count=2))
    await asyncio.sleep(0.05)
    created = await api.post(CRDS, widget_crd())
    assert created.status == 201
    events = await watch
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED"]
    status = events[1]["object"]["status"]
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["NamesAccepted"]["status"] == "True"
    assert conditions["NamesAccepted"]["reason"] == "NoConflicts"
    assert conditions["Established"]["status"] == "True"
    assert conditions["Established"]["reason"] == "InitialNamesAccepted"
    assert status["acceptedNames"]["kind"] == "Widget" and status["acceptedNames"]["plural"] == "widgets"
    assert status["storedVersions"] == ["v1"]


async def test_crd_name_must_match_plural_group(api: Api) -> None:
    resp = await api.post(CRDS, widget_crd(name="things.example.com"))
    assert resp.status == 422
    assert resp.body["reason"] == "Invalid"
    assert resp.body["details"]["kind"] == "CustomResourceDefinition"
    fields = [c["field"] for c in resp.body["details"]["causes"]]
    assert "metadata.name" in fields
    assert 'must be spec.names.plural+"."+spec.group' in resp.body["message"]
    bad = widget_crd()
    bad["spec"]["scope"] = "Galaxy"
    bad["spec"]["versions"][0]["storage"] = False
    resp = await api.post(CRDS, bad)
    assert resp.status == 422
    fields = [c["field"] for c in resp.body["details"]["causes"]]
    assert "spec.scope" in fields and "spec.versions" in fields


async def test_create_sets_uid_rv_timestamp_generation(widgets: Api) -> None:
    api = widgets
    body = widget("w1")
    body["metadata"].update({"uid": "client-uid", "creationTimestamp": "2001-01-01T00:00:00Z",
                             "generation": 7, "deletionTimestamp": "2001-01-01T00:00:00Z"})
    resp = await api.post(WIDGETS, body)
    assert resp.status == 201
    md = resp.body["metadata"]
    assert md["uid"] != "client-uid" and len(md["uid"]) == 36
    assert md["creationTimestamp"] != "2001-01-01T00:00:00Z" and md["creationTimestamp"].endswith("Z")
    assert len(md["creationTimestamp"]) == 20
    assert md["generation"] == 1 and "deletionTimestamp" not in md and "selfLink" not in md
    assert isinstance(md["resourceVersion"], str) and int(md["resourceVersion"]) > 0
    assert resp.body["spec"]["shape"] == "round"  # schema default applied
    with_rv = widget("w2")
    with_rv["metadata"]["resourceVersion"] = "5"
    resp = await api.post(WIDGETS, with_rv)
    assert resp.status == 500
    assert resp.body["message"] == "resourceVersion should not be set on objects to be created"
    # kopf posts events without apiVersion/kind
    event = {"metadata": {"generateName": "kopf-event-"}, "type": "Normal", "reason": "Logging", "message": "m",
             "involvedObject": {"kind": "Widget", "name": "w1", "namespace": "default"}}
    resp = await api.post("/api/v1/namespaces/default/events", event)
    assert resp.status == 201 and resp.body["kind"] == "Event" and resp.body["apiVersion"] == "v1"


async def test_resource_version_global_monotonic_string(widgets: Api) -> None:
    api = widgets
    rvs = []
    for i in range(3):
        rvs.append(int((await api.post(WIDGETS, widget(f"w{i}"))).rv))
        rvs.append(int((await api.post(SECRETS, {"metadata": {"name": f"s{i}"}})).rv))
    assert rvs == sorted(rvs) and len(set(rvs)) == len(rvs)
    listed = await api.get(SECRETS)
    assert listed.rv == str(rvs[-1])
    assert (await api.get(WIDGETS)).rv == str(rvs[-1])
    deleted = await api.delete(f"{SECRETS}/s0")
    assert deleted.status == 200
    assert int((await api.get(SECRETS)).rv) == rvs[-1] + 1


async def test_noop_patch_keeps_rv_and_emits_no_event(widgets: Api) -> None:
    api = widgets
    rv0 = (await api.post(WIDGETS, widget("w1"))).rv
    watch = asyncio.ensure_future(api.watch(WIDGETS, {"resourceVersion": rv0}, timeout=0.6))
    await asyncio.sleep(0.05)
    status = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    first = await api.patch(f"{WIDGETS}/w1/status", status)
    second = await api.patch(f"{WIDGETS}/w1/status", status)
    third = await api.patch(f"{WIDGETS}/w1", {"metadata": {"labels": None}})
    assert first.status == second.status == third.status == 200
    assert first.rv != rv0 and second.rv == first.rv == third.rv
    events = await watch
    assert [e["type"] for e in events] == ["MODIFIED"]


async def test_generation_bumps_on_spec_not_meta_or_status(widgets: Api) -> None:
    api = widgets
    await api.post(WIDGETS, widget("w1", finalizers=None))
    gen = lambda r: r.body["metadata"]["generation"]  # noqa: E731
    assert gen(await api.patch(f"{WIDGETS}/w1", {"metadata": {"labels": {"a": "b"}}})) == 1
    assert gen(await api.patch(f"{WIDGETS}/w1/status", {"status": {"phase": "x"}})) == 1
    assert gen(await api.patch(f"{WIDGETS}/w1", {"spec": {"size": 2}})) == 2
    await api.patch(f"{WIDGETS}/w1", {"metadata": {"finalizers": ["example.com/keep"]}})
    deleting = await api.delete(f"{WIDGETS}/w1")
    assert deleting.status == 200
    md = deleting.body["metadata"]
    assert md["generation"] == 3 and md["deletionGracePeriodSeconds"] == 0 and md["deletionTimestamp"]
    # a secret has no generation
    assert "generation" not in (await api.post(SECRETS, {"metadata": {"name": "s"}})).body["metadata"]
    # without a status subresource, status changes bump the generation
    await api.create_crd(widget_crd(name="gizmos.example.com", plural="gizmos", kind="Gizmo",
                                    scope="Cluster", status=False))
    g = await api.post(GIZMOS, {"apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": "g"},
                                "spec": {"size": 1}, "status": {"phase": "kept"}})
    assert g.body["status"] == {"phase": "kept"} and gen(g) == 1
    assert gen(await api.patch(f"{GIZMOS}/g", {"status": {"phase": "new"}})) == 2
    no_status = await api.get(f"{GIZMOS}/g/status")  # kube's CRD handler: the object "is not found"
    assert no_status.status == 404 and no_status.body["message"] == 'gizmos.example.com "g" not found'


async def test_status_subresource_split(widgets: Api) -> None:
    api = widgets
    body = widget("w1")
    body["status"] = {"phase": "client-sent"}
    created = await api.post(WIDGETS, body)
    assert "status" not in created.body
    await api.patch(f"{WIDGETS}/w1/status", {"status": {"phase": "Ready"}})
    current = (await api.get(f"{WIDGETS}/w1")).body
    current["spec"]["size"] = 5
    current["status"] = {"phase": "ignored"}
    put = await api.put(f"{WIDGETS}/w1", current)
    assert put.status == 200 and put.body["status"] == {"phase": "Ready"} and put.body["spec"]["size"] == 5
    patched = await api.patch(f"{WIDGETS}/w1", {"status": {"phase": "ignored"}, "spec": {"size": 6}})
    assert patched.body["status"] == {"phase": "Ready"} and patched.body["spec"]["size"] == 6
    via_status = await api.patch(f"{WIDGETS}/w1/status", {
        "metadata": {"labels": {"x": "y"}, "annotations": {"a": "b"}}, "spec": {"size": 99},
        "status": {"phase": "Done"}})
    assert via_status.status == 200
    assert via_status.body["spec"]["size"] == 6 and via_status.body["status"] == {"phase": "Done"}
    assert "labels" not in via_status.body["metadata"] and "annotations" not in via_status.body["metadata"]
    current = via_status.body
    current["status"] = {"phase": "Put"}
    current["spec"]["size"] = 100
    put = await api.put(f"{WIDGETS}/w1/status", current)
    assert put.body["status"] == {"phase": "Put"} and put.body["spec"]["size"] == 6
    stale = dict(current, metadata=dict(current["metadata"], resourceVersion="1"))
    assert (await api.put(f"{WIDGETS}/w1/status", stale)).status == 409
    status_get = await api.get(f"{WIDGETS}/w1/status")
    assert status_get.status == 200 and status_get.body["status"] == {"phase": "Put"}


async def test_put_stale_rv_409_conflict_status_body(widgets: Api) -> None:
    api = widgets
    created = (await api.post(WIDGETS, widget("x"))).body
    await api.patch(f"{WIDGETS}/x", {"spec": {"size": 2}})
    created["spec"]["size"] = 3
    resp = await api.put(f"{WIDGETS}/x", created)
    assert resp.status == 409
    assert resp.body == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Conflict", "code": 409,
        "message": 'Operation cannot be fulfilled on widgets.example.com "x": the object has been modified; '
                   "please apply your changes to the latest version and try again",
        "details": {"name": "x", "group": "example.com", "kind": "widgets"}}
    secret = (await api.post(SECRETS, {"metadata": {"name": "s"}})).body
    await api.patch(f"{SECRETS}/s", {"metadata": {"labels": {"a": "b"}}})
    resp = await api.put(f"{SECRETS}/s", secret)
    assert resp.status == 409 and resp.body["message"].startswith('Operation cannot be fulfilled on secrets "s"')
    assert resp.body["details"] == {"name": "s", "kind": "secrets"}


async def test_put_cr_without_rv_422_but_secret_unconditional_ok(widgets: Api) -> None:
    api = widgets
    await api.post(WIDGETS, widget("x"))
    body = widget("x", 4)
    resp = await api.put(f"{WIDGETS}/x", body)
    assert resp.status == 422
    assert resp.body["message"] == ('widgets.example.com "x" is invalid: metadata.resourceVersion: Invalid value: '
                                    "0: must be specified for an update")
    await api.post(SECRETS, {"metadata": {"name": "s"}})
    resp = await api.put(f"{SECRETS}/s", {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
    assert resp.status == 200 and resp.body["data"] == {"k": "dg=="}
    mismatch = await api.put(f"{SECRETS}/s", {"metadata": {"name": "other"}})
    assert mismatch.status == 400
    assert mismatch.body["message"] == "the name of the object (other) does not match the name on the URL (s)"
    wrong_ns = await api.put(f"{SECRETS}/s", {"metadata": {"name": "s", "namespace": "kube-system"}})
    assert wrong_ns.status == 400
    assert wrong_ns.body["message"] == ("the namespace of the provided object does not match the namespace "
                                        "sent on the request")
    assert MERGE  # imported for symmetry with other modules


async def test_crd_schema_problems_are_422_with_field_paths(api: Api) -> None:
    crd = widget_crd()
    props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    props["spec"]["properties"]["size"]["type"] = "strin"
    props["spec"]["x-kubernetes-validations"].append({"rule": "self.size ===", "message": "broken"})
    resp = await api.post(CRDS, crd)
    assert resp.status == 422
    causes = {c["field"]: c for c in resp.body["details"]["causes"]}
    typ = causes["spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[size].type"]
    assert typ["reason"] == "FieldValueNotSupported"
    rule = causes["spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[3].rule"]
    assert "compilation failed" in rule["message"]


async def test_aggregated_discovery_v2_when_asked(widgets: Api) -> None:
    api = widgets
    accept = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")
    core = await api.get("/api", headers={"Accept": accept})
    assert core.headers["Content-Type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    assert core.body["kind"] == "APIGroupDiscoveryList" and core.body["apiVersion"] == "apidiscovery.k8s.io/v2"
    secrets = next(r for r in core.body["items"][0]["versions"][0]["resources"] if r["resource"] == "secrets")
    assert secrets["scope"] == "Namespaced" and secrets["responseKind"]["kind"] == "Secret"
    groups = {g["metadata"]["name"]: g for g in (await api.get("/apis", headers={"Accept": accept})).body["items"]}
    widgets_doc = groups["example.com"]["versions"][0]["resources"][0]
    assert widgets_doc["resource"] == "widgets" and widgets_doc["subresources"][0]["subresource"] == "status"
    legacy = await api.get("/apis", headers={"Accept": "*/*"})
    assert legacy.body["kind"] == "APIGroupList"
