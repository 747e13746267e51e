"""Spec §3 tests 26-35: selectors, pagination, watch semantics (synthetic ADDED, replay, 410 Expired,
bookmarks, initial events, timeouts), Secret and Event rules, and Table printing."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from issuer.testing.server import EmbeddedAPIServer
from tests.apiserver.conftest import EVENTS, SECRETS, TABLE, WIDGETS, Api, widget


async def _secrets(api: Api, n: int, **labels: str) -> None:
    for i in range(n):
        body: dict[str, Any] = {"metadata": {"name": f"s{i:02d}", "labels": {"i": str(i % 3), **labels}}}
        if i % 2:
            body["type"] = "example.com/odd"
        assert (await api.post(SECRETS, body)).status == 201


async def test_label_and_field_selectors_and_unsupported_field_400(api: Api) -> None:
    await _secrets(api, 6, app="x")
    names = lambda r: [i["metadata"]["name"] for i in r.body["items"]]  # noqa: E731
    assert names(await api.get(SECRETS, params={"labelSelector": "i=1"})) == ["s01", "s04"]
    assert names(await api.get(SECRETS, params={"labelSelector": "i==1,app=x"})) == ["s01", "s04"]
    assert names(await api.get(SECRETS, params={"labelSelector": "i!=1"})) == ["s00", "s02", "s03", "s05"]
    assert names(await api.get(SECRETS, params={"labelSelector": "i in (0, 2)"})) == ["s00", "s02", "s03", "s05"]
    assert names(await api.get(SECRETS, params={"labelSelector": "i notin (0,2)"})) == ["s01", "s04"]
    assert len(names(await api.get(SECRETS, params={"labelSelector": "app"}))) == 6
    assert names(await api.get(SECRETS, params={"labelSelector": "!app"})) == []
    bad = await api.get(SECRETS, params={"labelSelector": "i in (0"})
    assert bad.status == 400 and bad.body["reason"] == "BadRequest"
    assert names(await api.get(SECRETS, params={"fieldSelector": "metadata.name=s03"})) == ["s03"]
    assert names(await api.get(SECRETS, params={"fieldSelector": "type=example.com/odd,metadata.name!=s01"})) \
        == ["s03", "s05"]
    assert names(await api.get("/api/v1/secrets", params={"fieldSelector": "metadata.namespace==default",
                                                          "labelSelector": "i=0"})) == ["s00", "s03"]
    unsupported = await api.get(SECRETS, params={"fieldSelector": "spec.x=1"})
    assert unsupported.status == 400 and unsupported.body["message"] == "field label not supported: spec.x"
    namespaces = await api.get("/api/v1/namespaces", params={"fieldSelector": "status.phase=Active"})
    assert len(namespaces.body["items"]) == 4
    await api.post(EVENTS, {"metadata": {"name": "e1"}, "reason": "Issued", "type": "Normal",
                            "involvedObject": {"kind": "Widget", "name": "w", "namespace": "default", "uid": "u"},
                            "source": {"component": "issuer"}})
    found = await api.get(EVENTS, params={"fieldSelector": "involvedObject.name=w,involvedObject.kind=Widget,"
                                                           "involvedObject.uid=u,source=issuer,reason=Issued"})
    assert names(found) == ["e1"]


async def test_list_pagination_limit_continue_remaining_count(api: Api) -> None:
    await _secrets(api, 7)
    first = await api.get(SECRETS, params={"limit": "3"})
    assert [i["metadata"]["name"] for i in first.body["items"]] == ["s00", "s01", "s02"]
    meta = first.body["metadata"]
    assert meta["remainingItemCount"] == 4 and meta["continue"]
    assert first.body["kind"] == "SecretList" and first.body["apiVersion"] == "v1"
    assert "kind" not in first.body["items"][0] and "apiVersion" not in first.body["items"][0]  # typed list
    await api.post(SECRETS, {"metadata": {"name": "s99"}})  # later writes are not seen: the pages are one snapshot
    second = await api.get(SECRETS, params={"limit": "3", "continue": meta["continue"]})
    assert [i["metadata"]["name"] for i in second.body["items"]] == ["s03", "s04", "s05"]
    assert second.body["metadata"]["resourceVersion"] == meta["resourceVersion"]
    third = await api.get(SECRETS, params={"limit": "3", "continue": second.body["metadata"]["continue"]})
    assert [i["metadata"]["name"] for i in third.body["items"]] == ["s06"]
    assert "continue" not in third.body["metadata"] and "remainingItemCount" not in third.body["metadata"]
    selected = await api.get(SECRETS, params={"limit": "1", "labelSelector": "i=1"})
    assert selected.body["metadata"]["continue"] and "remainingItemCount" not in selected.body["metadata"]
    garbage = await api.get(SECRETS, params={"limit": "1", "continue": "!!!"})
    assert garbage.status == 400
    assert garbage.body["message"] == ("invalid continue token: continue key is not valid: illegal base64 data at "
                                       "input byte 0")
    both = await api.get("/api/v1/secrets", params={"resourceVersion": "0", "resourceVersionMatch": "NotOlderThan"})
    assert both.status == 200 and len(both.body["items"]) == 8
    unpinned = await api.get(SECRETS, params={"resourceVersionMatch": "NotOlderThan"})
    assert unpinned.status == 422 and unpinned.body["details"]["causes"][0]["message"] == (
        "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided")
    future = await api.get(SECRETS, params={"resourceVersion": str(int(both.rv) + 1000)})
    assert future.status == 504 and future.body["reason"] == "Timeout" and future.headers["Retry-After"] == "1"
    assert future.body["details"]["causes"] == [{"reason": "ResourceVersionTooLarge",
                                                 "message": "Too large resource version"}]


async def test_list_continue_expired_410(apiserver_factory: Any) -> None:
    srv: EmbeddedAPIServer = await apiserver_factory(history_window=3)
    import aiohttp

    async with aiohttp.ClientSession(srv.url) as session:
        api = Api(srv, session)
        await _secrets(api, 3)
        page = await api.get(SECRETS, params={"limit": "1"})
        await _secrets(api, 0)
        for i in range(5):
            await api.post(SECRETS, {"metadata": {"name": f"x{i}"}})
        expired = await api.get(SECRETS, params={"limit": "1", "continue": page.body["metadata"]["continue"]})
        assert expired.status == 410 and expired.body["reason"] == "Expired"


async def test_watch_without_rv_synthetic_added_then_live(widgets: Api) -> None:
    api = widgets
    await api.post(WIDGETS, widget("a"))
    await api.post(WIDGETS, widget("b"))
    await api.post("/apis/example.com/v1/namespaces/kube-system/widgets", widget("other"))
    watch = asyncio.ensure_future(api.watch(WIDGETS, {}, count=5))
    await api.watchers(("example.com", "widgets"))
    await api.post(WIDGETS, widget("c"))
    await api.patch(f"{WIDGETS}/a", {"spec": {"size": 2}})
    await api.delete(f"{WIDGETS}/b")
    events = await watch
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c"), ("MODIFIED", "a"), ("DELETED", "b")]
    assert events[0]["object"]["kind"] == "Widget"
    # resourceVersion=0 behaves the same, and watch=1 works too
    again = await api.watch(WIDGETS, {"resourceVersion": "0", "watch": "1"}, count=2)
    assert {e["object"]["metadata"]["name"] for e in again} == {"a", "c"}
    # a single object's watch by field selector
    single = await api.watch("/apis/example.com/v1/widgets", {"fieldSelector": "metadata.name=c"}, timeout=0.3)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in single] == [("ADDED", "c")]


async def test_watch_from_rv_replays_only_newer_events(widgets: Api) -> None:
    api = widgets
    await api.post(WIDGETS, widget("a"))
    mark = (await api.post(WIDGETS, widget("b"))).rv
    await api.post(SECRETS, {"metadata": {"name": "unrelated"}})
    await api.patch(f"{WIDGETS}/a", {"spec": {"size": 3}})
    await api.post(WIDGETS, widget("c", color="red"))
    events = await api.watch(WIDGETS, {"resourceVersion": mark}, count=2)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("MODIFIED", "a"), ("ADDED", "c")]
    assert all(int(e["object"]["metadata"]["resourceVersion"]) > int(mark) for e in events)
    # selector transitions: stops matching -> DELETED, starts matching -> ADDED
    mark = (await api.get(WIDGETS)).rv
    await api.patch(f"{WIDGETS}/a", {"metadata": {"labels": {"team": "x"}}})
    await api.patch(f"{WIDGETS}/a", {"metadata": {"labels": {"team": "y"}}})
    moved = await api.watch(WIDGETS, {"resourceVersion": mark, "labelSelector": "team=x"}, count=2)
    assert [e["type"] for e in moved] == ["ADDED", "DELETED"]
    # as kube's watch cache: the DELETED carries the last state that matched, at the change's resourceVersion
    gone = moved[1]["object"]["metadata"]
    assert gone["labels"] == {"team": "x"}
    assert int(gone["resourceVersion"]) > int(moved[0]["object"]["metadata"]["resourceVersion"])


async def test_watch_too_old_rv_error_410_expired(apiserver_factory: Any) -> None:
    srv: EmbeddedAPIServer = await apiserver_factory(history_window=5)
    import aiohttp

    async with aiohttp.ClientSession(srv.url) as session:
        api = Api(srv, session)
        first = (await api.post(SECRETS, {"metadata": {"name": "s"}})).rv
        for i in range(8):
            await api.patch(f"{SECRETS}/s", {"metadata": {"labels": {"i": str(i)}}})
        events = await api.watch(SECRETS, {"resourceVersion": first}, timeout=2)
        assert len(events) == 1 and events[0]["type"] == "ERROR"
        status = events[0]["object"]
        assert status["kind"] == "Status" and status["code"] == 410 and status["reason"] == "Expired"
        assert status["message"].startswith(f"too old resource version: {first} (")
        current = (await api.get(SECRETS)).rv
        ok = await api.watch(SECRETS, {"resourceVersion": current}, timeout=0.2)
        assert ok == []
        future = await api.watch(SECRETS, {"resourceVersion": str(int(current) + 100)}, timeout=2)
        assert future[0]["type"] == "ERROR" and future[0]["object"]["code"] == 410  # e.g. after a server restart


async def test_watch_bookmarks_and_send_initial_events_end_marker(apiserver_factory: Any) -> None:
    srv: EmbeddedAPIServer = await apiserver_factory(bookmark_period=0.1)
    import aiohttp

    async with aiohttp.ClientSession(srv.url) as session:
        api = Api(srv, session)
        await api.post(SECRETS, {"metadata": {"name": "s1"}})
        rv = (await api.get(SECRETS)).rv
        marks = await api.watch(SECRETS, {"resourceVersion": rv, "allowWatchBookmarks": "true"}, count=2)
        assert [e["type"] for e in marks] == ["BOOKMARK", "BOOKMARK"]
        assert marks[0]["object"] == {"kind": "Secret", "apiVersion": "v1", "metadata": {"resourceVersion": rv}}
        initial = await api.watch(SECRETS, {"sendInitialEvents": "true", "allowWatchBookmarks": "true",
                                            "resourceVersionMatch": "NotOlderThan"}, count=2)
        assert initial[0]["type"] == "ADDED" and initial[0]["object"]["metadata"]["name"] == "s1"
        assert initial[1]["type"] == "BOOKMARK"
        assert initial[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
        # kube v1.37 no longer requires allowWatchBookmarks (and then sends no end marker)
        plain = await api.watch(SECRETS, {"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
                                          "timeoutSeconds": "1"})
        assert [e["type"] for e in plain] == ["ADDED"]
        async with session.get(SECRETS, params={"watch": "true", "sendInitialEvents": "true"}) as r:
            assert r.status == 422
            body = await r.json()
            assert body["message"] == ('ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
                                       "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")


async def test_watch_timeout_seconds_closes_stream(api: Api) -> None:
    started = time.monotonic()
    events = await api.watch(SECRETS, {"timeoutSeconds": "1"}, timeout=5)
    elapsed = time.monotonic() - started
    assert events == [] and 0.9 <= elapsed < 3
    # a client disconnect frees the watcher
    async with api.session.get(SECRETS, params={"watch": "true"}) as r:
        assert r.status == 200
        assert len(api.srv.store.watchers[("", "secrets")]) == 1
    for _ in range(100):
        await asyncio.sleep(0.02)
        if not api.srv.store.watchers[("", "secrets")]:
            break
    assert not api.srv.store.watchers[("", "secrets")]


async def test_secret_stringdata_base64_type_tls_immutable_rules(api: Api) -> None:
    created = await api.post(SECRETS, {"metadata": {"name": "s"}, "data": {"a": "YQ=="}, "stringData": {"a": "b",
                                                                                                          "c": "d"}})
    assert created.status == 201
    assert created.body["data"] == {"a": "Yg==", "c": "ZA=="} and "stringData" not in created.body
    assert created.body["type"] == "Opaque"
    bad = await api.post(SECRETS, {"metadata": {"name": "b"}, "data": {"a": "not*base64"}})
    assert bad.status == 400
    assert bad.body["message"] == ('Secret in version "v1" cannot be handled as a Secret: illegal base64 data at '
                                   "input byte 3")
    changed = await api.patch(f"{SECRETS}/s", {"type": "kubernetes.io/tls"})
    assert changed.status == 422 and "field is immutable" in changed.body["message"]
    tls = await api.post(SECRETS, {"metadata": {"name": "t"}, "type": "kubernetes.io/tls", "data": {"tls.crt": ""}})
    assert tls.status == 422
    assert tls.body["details"]["causes"] == [{"reason": "FieldValueRequired", "message": "Required value",
                                              "field": "data[tls.key]"}]
    key = await api.post(SECRETS, {"metadata": {"name": "k"}, "stringData": {"bad key": "x"}})
    assert key.status == 422 and key.body["details"]["causes"][0]["field"] == "data[bad key]"
    frozen = await api.post(SECRETS, {"metadata": {"name": "f"}, "immutable": True, "stringData": {"a": "b"}})
    assert frozen.status == 201
    thaw = await api.patch(f"{SECRETS}/f", {"stringData": {"a": "c"}}, "application/strategic-merge-patch+json")
    assert thaw.status == 422 and "immutable" in thaw.body["message"]
    labels = await api.patch(f"{SECRETS}/f", {"metadata": {"labels": {"ok": "yes"}}})
    assert labels.status == 200
    huge = await api.post(SECRETS, {"metadata": {"name": "h"}, "stringData": {"a": "x" * (1024 * 1024 + 1)}})
    assert huge.status == 422 and huge.body["details"]["causes"][0]["field"] == "data"
    not_obj = await api.post(SECRETS, [1, 2])
    assert not_obj.status == 400


async def test_events_core_and_events_v1_same_store_and_validation(api: Api) -> None:
    kopf_event = {
        "metadata": {"generateName": "kopf-event-"}, "type": "Normal", "reason": "Logging", "message": "hello",
        "action": "Action?", "reportingComponent": "kopf", "reportingInstance": "dev",
        "source": {"component": "kopf"},
        "involvedObject": {"apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "uid": "u1",
                           "namespace": "default"},
        "firstTimestamp": "2026-01-02T09:16:20.820596+00:00", "lastTimestamp": "2026-01-02T09:16:20.820596+00:00",
        "eventTime": "2026-01-02T09:16:20.820596+00:00",
    }
    created = await api.post(EVENTS, kopf_event)
    assert created.status == 201, created.body
    assert created.body["firstTimestamp"] == "2026-01-02T09:16:20Z"
    assert created.body["eventTime"] == "2026-01-02T09:16:20.820596Z"
    name = created.body["metadata"]["name"]
    v1 = await api.get(f"/apis/events.k8s.io/v1/namespaces/default/events/{name}")
    assert v1.status == 200 and v1.body["apiVersion"] == "events.k8s.io/v1"
    assert v1.body["regarding"]["name"] == "w" and v1.body["note"] == "hello"
    assert v1.body["reportingController"] == "kopf" and v1.body["deprecatedSource"] == {"component": "kopf"}
    posted = await api.post("/apis/events.k8s.io/v1/namespaces/default/events", {
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "n1"},
        "eventTime": "2026-01-02T09:16:20.000001Z", "type": "Warning", "reason": "Failed", "note": "boom",
        "action": "Issue", "reportingController": "example.com/issuer", "reportingInstance": "i-1",
        "regarding": {"kind": "Widget", "name": "w", "namespace": "default", "uid": "u1"}})
    assert posted.status == 201, posted.body
    core = await api.get(EVENTS, params={"fieldSelector": "involvedObject.name=w,involvedObject.uid=u1"})
    assert sorted(e["message"] for e in core.body["items"]) == ["boom", "hello"]
    bad_v1 = await api.post("/apis/events.k8s.io/v1/namespaces/default/events", {
        "metadata": {"name": "n2"}, "type": "Odd", "reason": "r", "regarding": {"kind": "Widget"}})
    assert bad_v1.status == 422
    fields = {c["field"] for c in bad_v1.body["details"]["causes"]}
    assert {"eventTime", "type"} <= fields
    mismatch = await api.post(EVENTS, {"metadata": {"name": "m"}, "reason": "r",
                                       "involvedObject": {"kind": "Widget", "name": "w", "namespace": "other"}})
    assert mismatch.status == 422 and mismatch.body["details"]["causes"][0]["field"] == "involvedObject.namespace"
    seconds = await api.post(EVENTS, {"metadata": {"name": "i"}, "eventTime": "2026-01-02T09:16:20Z",
                                      "involvedObject": {"kind": "Widget"}})
    assert seconds.status == 400 and seconds.body["message"].endswith(  # a MicroTime has six fractional digits
        'parsing time "2026-01-02T09:16:20Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"')
    incomplete = await api.post(EVENTS, {"metadata": {"name": "i"}, "eventTime": "2026-01-02T09:16:20.000000Z",
                                         "message": "x" * 2000, "involvedObject": {"kind": "Widget"}})
    assert incomplete.status == 422
    fields = {c["field"] for c in incomplete.body["details"]["causes"]}
    assert {"reportingComponent", "reportingInstance", "action", "reason", "message"} <= fields
    assert incomplete.body["message"].startswith(  # "default" may hold events of objects without namespace
        'Event "i" is invalid: [reportingComponent: Required value, reportingComponent: Invalid value: "": name '
        "part must be non-empty")
    plain = (await api.get(f"{EVENTS}/{name}")).body  # kube's Go type prints these even when unset
    assert (plain["reportingComponent"], plain["reportingInstance"]) == ("kopf", "dev")
    bare = await api.post(EVENTS, {"metadata": {"name": "b"}, "reason": "r", "involvedObject": {"kind": "Widget"}})
    assert bare.status == 201
    assert {k: bare.body[k] for k in ("eventTime", "firstTimestamp", "lastTimestamp", "reportingComponent",
                                      "reportingInstance", "source")} == {
        "eventTime": None, "firstTimestamp": None, "lastTimestamp": None, "reportingComponent": "",
        "reportingInstance": "", "source": {}}


async def test_table_printer_columns_priority_and_age(widgets: Api) -> None:
    api = widgets
    await api.post(WIDGETS, widget("w1", color="red"))
    await api.patch(f"{WIDGETS}/w1/status", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    await api.post(WIDGETS, widget("w2", 3))
    table = await api.get(WIDGETS, headers={"Accept": TABLE})
    assert table.body["kind"] == "Table" and table.body["apiVersion"] == "meta.k8s.io/v1"
    cols = [(c["name"], c["type"], c["priority"]) for c in table.body["columnDefinitions"]]
    assert cols == [("Name", "string", 0), ("Ready", "string", 0), ("Color", "string", 0),
                    ("Size", "integer", 1), ("Age", "date", 0)]
    assert table.body["columnDefinitions"][0]["format"] == "name"
    rows = table.body["rows"]
    assert rows[0]["cells"][:4] == ["w1", "True", "red", 1]
    assert rows[1]["cells"][:4] == ["w2", None, None, 3]
    assert rows[0]["cells"][4].endswith("s")
    assert rows[0]["object"]["kind"] == "PartialObjectMetadata" and rows[0]["object"]["metadata"]["name"] == "w1"
    full = await api.get(WIDGETS, headers={"Accept": TABLE}, params={"includeObject": "Object"})
    assert full.body["rows"][0]["object"]["spec"]["color"] == "red"
    one = await api.get(f"{WIDGETS}/w2", headers={"Accept": TABLE})
    assert len(one.body["rows"]) == 1
    secrets = await api.post(SECRETS, {"metadata": {"name": "s"}, "stringData": {"a": "b"}})
    assert secrets.status == 201
    st = await api.get(SECRETS, headers={"Accept": TABLE})
    assert [c["name"] for c in st.body["columnDefinitions"]] == ["Name", "Type", "Data", "Age"]
    assert st.body["rows"][0]["cells"][:3] == ["s", "Opaque", 1]
    ns = await api.get("/api/v1/namespaces", headers={"Accept": TABLE})
    assert [c["name"] for c in ns.body["columnDefinitions"]] == ["Name", "Status", "Age"]
    crds = await api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", headers={"Accept": TABLE})
    assert [c["name"] for c in crds.body["columnDefinitions"]] == ["Name", "Scope", "Versions", "Created At", "Group",
                                                                   "Kind", "ShortNames", "Established"]
    assert crds.body["rows"][0]["cells"][1:3] == ["Namespaced", "v1(storage)"]
    leases = await api.get("/apis/coordination.k8s.io/v1/namespaces/default/leases", headers={"Accept": TABLE})
    assert [c["name"] for c in leases.body["columnDefinitions"]] == ["Name", "Holder", "Age"]
    events = await api.get(EVENTS, headers={"Accept": TABLE})
    assert [c["name"] for c in events.body["columnDefinitions"]] == [
        "Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message", "First Seen", "Count", "Name"]
    assert [c["priority"] for c in events.body["columnDefinitions"]] == [0, 0, 0, 0, 1, 1, 0, 1, 1, 1]
    plain = await api.get(WIDGETS, headers={"Accept": "application/json"})
    assert plain.body["kind"] == "WidgetList"
    assert plain.body["items"][0]["kind"] == "Widget"  # CR lists keep apiVersion/kind on items


async def test_watch_as_table_for_kubectl_get_watch(widgets: Api) -> None:
    api = widgets
    await api.post(WIDGETS, widget("a", color="red"))
    watch = asyncio.ensure_future(api.watch(WIDGETS, {"resourceVersion": "0"}, count=2))
    await asyncio.sleep(0)
    events: list[Any] = []
    async with api.session.get(WIDGETS, params={"watch": "true", "timeoutSeconds": "1"},
                               headers={"Accept": TABLE}) as r:
        async for line in r.content:
            events.append(json.loads(line))
            if len(events) == 1:
                await api.post(WIDGETS, widget("b"))
    assert [e["type"] for e in events] == ["ADDED", "ADDED"]
    assert events[0]["object"]["kind"] == "Table" and events[0]["object"]["columnDefinitions"]
    assert "columnDefinitions" not in events[1]["object"]
    assert events[1]["object"]["rows"][0]["cells"][0] == "b"
    assert len(await watch) == 2
