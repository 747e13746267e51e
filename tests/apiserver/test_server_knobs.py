"""The embedded server's own features beyond the spec list: fault injection (status codes, Retry-After,
delays, dropped watches, refused connections), the request log, the state file (atomic save, reload,
corrupt file), `main()` in the foreground with SIGTERM, CRD deletion and versions, deletecollection."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from typing import Any

import aiohttp
import pytest

from issuer.testing.persistence import StateFileError
from issuer.testing.server import EmbeddedAPIServer
from tests.apiserver.conftest import CRDS, SECRETS, WIDGETS, Api, widget, widget_crd


async def test_faults_status_retry_after_delay_and_times(api: Api) -> None:
    srv = api.srv
    srv.faults.add(verb="create", resource="secrets", status=429, retry_after=2, times=1)
    throttled = await api.post(SECRETS, {"metadata": {"name": "s"}})
    assert throttled.status == 429 and throttled.headers["Retry-After"] == "2"
    assert throttled.body["reason"] == "TooManyRequests" and throttled.body["details"]["retryAfterSeconds"] == 2
    assert (await api.post(SECRETS, {"metadata": {"name": "s"}})).status == 201  # times=1 used up
    conflict = srv.faults.add(verb="patch", resource="secrets", status=409)
    assert (await api.patch(f"{SECRETS}/s", {"metadata": {"labels": {"a": "b"}}})).status == 409
    assert (await api.patch(f"{SECRETS}/s", {"metadata": {"labels": {"a": "b"}}})).status == 409
    srv.faults.remove(conflict)
    assert conflict.hits == 2
    srv.faults.add(verb="get", name="s", status=500, times=1)
    broken = await api.get(f"{SECRETS}/s")
    assert broken.status == 500 and broken.body["kind"] == "Status"
    srv.faults.add(verb="list", resource="secrets", delay=0.3, times=1)
    started = time.monotonic()
    assert (await api.get(SECRETS)).status == 200
    assert time.monotonic() - started >= 0.3
    log = srv.request_log
    assert log.tally(method="POST", path_prefix=SECRETS) == 2
    assert log.tally(verb="patch", resource="secrets") == 2
    record = log[-1]
    assert record.method == "GET" and record.status == 200 and record.verb == "list"
    assert record.user_agent.startswith("Python") and record.duration >= 0.3


async def test_fault_drops_watch_stream(api: Api) -> None:
    for i in range(3):
        await api.post(SECRETS, {"metadata": {"name": f"s{i}"}})
    api.srv.faults.add(verb="watch", resource="secrets", drop_after=2, times=1)
    events: list[Any] = []
    with pytest.raises(aiohttp.ClientPayloadError):
        async with api.session.get(SECRETS, params={"watch": "true"}) as r:
            async for line in r.content:
                events.append(json.loads(line))
    assert len(events) == 2
    assert len(await api.watch(SECRETS, {}, count=3)) == 3


async def test_refuse_connections_then_recover(api: Api) -> None:
    srv = api.srv
    port = srv.port
    await srv.refuse_connections(0.5)
    async with aiohttp.ClientSession() as fresh:
        with pytest.raises(aiohttp.ClientConnectionError):
            await fresh.get(f"{srv.url}/version")
        await asyncio.sleep(0.8)
        async with fresh.get(f"{srv.url}/version") as r:
            assert r.status == 200
    assert srv.port == port


async def test_state_file_persists_reloads_and_rejects_corruption(apiserver_factory: Any,
                                                                  tmp_path: pathlib.Path) -> None:
    state = tmp_path / "state.json"
    srv: EmbeddedAPIServer = await apiserver_factory(state_file=state, save_interval=0.05)
    async with aiohttp.ClientSession(srv.url) as session:
        api = Api(srv, session)
        await api.create_crd()
        await api.post(WIDGETS, widget("kept"))
        last = (await api.post(SECRETS, {"metadata": {"name": "s"}, "stringData": {"a": "b"}})).rv
    await srv.stop()
    assert json.loads(state.read_text())["resourceVersion"] == int(last)
    again: EmbeddedAPIServer = await apiserver_factory(state_file=state)
    async with aiohttp.ClientSession(again.url) as session:
        api = Api(again, session)
        assert (await api.get(f"{WIDGETS}/kept")).body["spec"]["size"] == 1
        assert (await api.get(f"{SECRETS}/s")).body["data"] == {"a": "Yg=="}
        assert int((await api.post(SECRETS, {"metadata": {"name": "t"}})).rv) > int(last)
        gone = await api.watch(SECRETS, {"resourceVersion": "1"}, timeout=1)
        assert gone[0]["type"] == "ERROR" and gone[0]["object"]["code"] == 410
    state.write_text('{"format": "issuer.testing/state-v1", "resourceVersion": ')
    with pytest.raises(StateFileError, match="is corrupt"):
        EmbeddedAPIServer(state_file=state)
    assert state.read_text().startswith('{"format"')  # never silently emptied


def test_main_runs_in_foreground_and_stops_on_sigterm(tmp_path: pathlib.Path) -> None:
    kubeconfig = tmp_path / "kc"
    state = tmp_path / "state.json"
    proc = subprocess.Popen([sys.executable, "-m", "issuer.testing.main", "--port", "0", "--kubeconfig",
                             str(kubeconfig), "--state", str(state)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "error"})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("issuer apiserver listening on http://127.0.0.1:")
        config = json.loads(kubeconfig.read_text())
        assert config["clusters"][0]["cluster"]["server"] == line.split()[-1]
        assert config["users"][0]["user"]["token"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert json.loads(state.read_text())["buckets"]
    bad = tmp_path / "bad.json"
    bad.write_text("garbage")
    failed = subprocess.run([sys.executable, "-m", "issuer.testing.main", "--port", "0", "--state", str(bad)],
                            capture_output=True, text=True, timeout=20, check=False)
    assert failed.returncode == 2 and failed.stderr.startswith("error: state file") and \
        len(failed.stderr.strip().splitlines()) == 1


async def test_crd_delete_removes_crs_and_discovery(widgets: Api) -> None:
    api = widgets
    await api.post(WIDGETS, widget("a"))
    held = widget("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    await api.post(WIDGETS, held)
    assert "finalizers" not in (await api.get(f"{CRDS}/widgets.example.com")).body["metadata"]
    resp = await api.delete(f"{CRDS}/widgets.example.com")
    assert resp.status == 200 and resp.body["metadata"]["deletionTimestamp"]
    # kube's CRD registry adds its cleanup finalizer when deleting, not when creating
    assert resp.body["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]
    await asyncio.sleep(0.05)
    assert (await api.get(f"{WIDGETS}/a")).status == 404
    refused = await api.post(WIDGETS, widget("new"))
    assert refused.status == 405
    await api.patch(f"{WIDGETS}/held", {"metadata": {"finalizers": None}})
    await asyncio.sleep(0.05)
    assert (await api.get(f"{CRDS}/widgets.example.com")).status == 404
    assert (await api.get("/apis/example.com/v1")).status == 404
    assert "apis/example.com/v1" not in (await api.get("/openapi/v3")).body["paths"]


async def test_crd_versions_served_and_converted(api: Api) -> None:
    crd = widget_crd()
    v2 = json.loads(json.dumps(crd["spec"]["versions"][0]))
    v2["name"] = "v2"
    v2["storage"] = False
    crd["spec"]["versions"].append(v2)
    await api.create_crd(crd)
    created = await api.post("/apis/example.com/v2/namespaces/default/widgets",
                             dict(widget("w"), apiVersion="example.com/v2"))
    assert created.status == 201 and created.body["apiVersion"] == "example.com/v2"
    assert (await api.get(f"{WIDGETS}/w")).body["apiVersion"] == "example.com/v1"
    assert api.srv.store.get(("example.com", "widgets"), ("default", "w"))["apiVersion"] == "example.com/v1"  # type: ignore[index]
    group = (await api.get("/apis/example.com")).body
    assert group["preferredVersion"]["version"] == "v2"


async def test_deletecollection_with_selector(api: Api) -> None:
    for i in range(4):
        await api.post(SECRETS, {"metadata": {"name": f"s{i}", "labels": {"even": str(i % 2 == 0).lower()}}})
    resp = await api.delete(SECRETS, params={"labelSelector": "even=true"})
    assert resp.status == 200 and resp.body["kind"] == "SecretList"
    names = [i["metadata"]["name"] for i in (await api.get(SECRETS)).body["items"]]
    assert names == ["s1", "s3"]


async def test_oversized_body_is_413_status(api: Api) -> None:
    body = {"metadata": {"name": "big"}, "stringData": {"a": "x" * (4 * 1024 * 1024)}}
    resp = await api.post(SECRETS, body)
    assert resp.status == 413 and resp.body["reason"] == "RequestEntityTooLarge"


async def test_pod_and_service_defaults(api: Api) -> None:
    empty = await api.post("/api/v1/namespaces/default/pods", {"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c"}]}})
    assert empty.status == 422 and empty.body["details"]["causes"][0]["field"] == "spec.containers[0].image"
    no_ports = await api.post("/api/v1/namespaces/default/services", {"metadata": {"name": "s"}, "spec": {}})
    assert no_ports.status == 422
    pod = await api.post("/api/v1/namespaces/default/pods", {
        "metadata": {"name": "solver"},
        "spec": {"containers": [{"name": "c", "image": "solver:v1", "ports": [{"containerPort": 8089}]}]}})
    assert pod.status == 201
    spec = pod.body["spec"]
    assert spec["restartPolicy"] == "Always" and spec["serviceAccountName"] == "default"
    assert spec["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert spec["containers"][0]["ports"][0]["protocol"] == "TCP"
    assert pod.body["status"]["phase"] == "Pending"
    svc = await api.post("/api/v1/namespaces/default/services", {
        "metadata": {"name": "solver"}, "spec": {"selector": {"a": "b"}, "ports": [{"port": 8089}]}})
    assert svc.status == 201
    assert svc.body["spec"]["type"] == "ClusterIP" and svc.body["spec"]["clusterIP"].startswith("10.")
    assert svc.body["spec"]["ports"][0] == {"port": 8089, "protocol": "TCP", "targetPort": 8089}
    again = await api.patch("/api/v1/namespaces/default/services/solver", {"metadata": {"labels": {"x": "y"}}})
    assert again.body["spec"]["clusterIP"] == svc.body["spec"]["clusterIP"]


async def test_ingress_paths_need_a_path_type_and_backend(api: Api) -> None:
    path = "/apis/networking.k8s.io/v1/namespaces/default/ingresses"
    rule = {"host": "a.example.com", "http": {"paths": [{"path": "/.well-known/acme-challenge/x"}]}}
    bad = await api.post(path, {"metadata": {"name": "i"}, "spec": {"rules": [rule]}})
    assert bad.status == 422
    # kube checks nothing else of a path without pathType
    assert [c["field"] for c in bad.body["details"]["causes"]] == ["spec.rules[0].http.paths[0].pathType"]
    rule["http"]["paths"][0]["pathType"] = "Prefix"
    no_backend = await api.post(path, {"metadata": {"name": "i"}, "spec": {"rules": [rule]}})
    assert [c["field"] for c in no_backend.body["details"]["causes"]] == ["spec.rules[0].http.paths[0].backend"]
    rule["http"]["paths"][0].update(pathType="ImplementationSpecific", backend={
        "service": {"name": "solver", "port": {"number": 8089}}})
    good = await api.post(path, {"metadata": {"name": "i"}, "spec": {"rules": [rule]}})
    assert good.status == 201 and good.body["metadata"]["generation"] == 1
    assert good.body["status"] == {"loadBalancer": {}}
