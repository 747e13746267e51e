"""tests/faultproxy.py in front of a real kube-apiserver (one control plane for the module, tests/realkube.py):
requests go through it untouched and are authenticated by the real server, and the embedded server's fault
knobs (status, times, Retry-After, delay, drop_after, refuse_connections, the request log) behave the same.
Core resources only (ConfigMaps, ServiceAccounts, Namespaces): no CRDs needed."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import yaml

from issuer.testing.server import ServerThread
from tests.faultproxy import FaultProxy, RequestInfo, _EventCounter, front_proxy_args, request_info
from tests.realkube import ControlPlane

Cert = tuple[str, str]


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    folder = tmp_path_factory.mktemp("faultproxy") / "plane"
    control = ControlPlane(folder, extra_apiserver_args=front_proxy_args(folder / "pki" / "ca.crt"))
    try:
        control.start()
        yield control
    finally:
        control.stop()


@pytest.fixture(scope="module")
def proxy(plane: ControlPlane) -> Iterator[FaultProxy]:
    pki = plane.folder / "pki"
    user = yaml.safe_load(plane.user_kubeconfig("front-proxy").read_text())["users"][0]["user"]
    with FaultProxy(plane.url, plane.ca_file, pki / "serving.crt", pki / "serving.key",
                    front_proxy=(user["client-certificate"], user["client-key"])) as running:
        yield running


@pytest.fixture(scope="module")
def ns(plane: ControlPlane) -> str:
    name = f"fp-{uuid.uuid4().hex[:6]}"
    plane.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": name}}, ok=(201,))
    return name


@pytest.fixture(autouse=True)
def no_faults_left(proxy: FaultProxy) -> Iterator[None]:
    yield
    proxy.faults.clear()


@contextlib.contextmanager
def session(plane: ControlPlane, *, admin: bool = True, token: str | None = None) -> Iterator[requests.Session]:
    """A requests session trusting the cluster CA (not REQUESTS_CA_BUNDLE), as admin (client certificate),
    with a bearer token, or with no credentials."""
    with requests.Session() as s:
        s.trust_env = False
        s.verify = str(plane.ca_file)
        if admin:
            pki = plane.folder / "pki"
            s.cert = (str(pki / "admin.crt"), str(pki / "admin.key"))
        if token:
            s.headers["Authorization"] = f"Bearer {token}"
        yield s


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"fp": "yes"}},
            "data": {"k": "v"}}


def fresh(prefix: str = "cm") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def lines(resp: requests.Response) -> Iterator[dict[str, Any]]:
    """The events of a watch response, each as soon as its chunk arrives."""
    for line in resp.iter_lines(chunk_size=None):
        if line:
            yield json.loads(line)


# -- the path -> verb/resource table, checked against the embedded server's own routing ---------------------

@dataclasses.dataclass(frozen=True)
class Route:
    method: str
    path: str
    expected: RequestInfo
    embedded: bool = True  # the embedded server routes it (core kinds it serves), so its log must agree


ROUTES = [
    pytest.param(Route("GET", "/api/v1/namespaces/a/configmaps",
                       RequestInfo("list", "configmaps", "a", None, True)), id="a namespaced collection is a list"),
    pytest.param(Route("GET", "/api/v1/namespaces/a/configmaps?watch=true",
                       RequestInfo("watch", "configmaps", "a", None, True)), id="?watch=true makes it a watch"),
    pytest.param(Route("GET", "/api/v1/watch/namespaces/a/secrets/s",
                       RequestInfo("watch", "secrets", "a", "s", True)), id="so does the old /watch/ prefix"),
    pytest.param(Route("GET", "/api/v1/secrets?watch=false",
                       RequestInfo("list", "secrets", None, None, True)), id="watch=false lists, cluster-wide"),
    pytest.param(Route("POST", "/api/v1/namespaces/a/configmaps",
                       RequestInfo("create", "configmaps", "a", None, True)), id="POST creates"),
    pytest.param(Route("PUT", "/api/v1/namespaces/a/configmaps/c",
                       RequestInfo("update", "configmaps", "a", "c", True)), id="PUT updates one object"),
    pytest.param(Route("DELETE", "/api/v1/namespaces/a/configmaps",
                       RequestInfo("deletecollection", "configmaps", "a", None, True)),
                 id="DELETE on a collection is deletecollection"),
    pytest.param(Route("GET", "/api/v1/namespaces/a", RequestInfo("get", "namespaces", None, "a", True)),
                 id="a Namespace is a cluster-scoped object named by the path"),
    pytest.param(Route("PUT", "/api/v1/namespaces/a/status", RequestInfo("update", "namespaces/status", None, "a",
                                                                         True)),
                 id="its status is a subresource, not a kind called status"),
    pytest.param(Route("PUT", "/api/v1/namespaces/a/finalize", RequestInfo("update", "namespaces/finalize", None,
                                                                           "a", True), embedded=False),
                 id="so is finalize, which only the real server serves"),
    pytest.param(Route("PATCH", "/apis/cert-manager.io/v1/namespaces/a/certificates/web/status",
                       RequestInfo("patch", "certificates/status", "a", "web", True), embedded=False),
                 id="a group resource's status subresource is certificates/status"),
    pytest.param(Route("DELETE", "/apis/cert-manager.io/v1/clusterissuers/ca",
                       RequestInfo("delete", "clusterissuers", None, "ca", True), embedded=False),
                 id="a cluster-scoped group object is deleted by name"),
    pytest.param(Route("GET", "/healthz", RequestInfo("get", "", None, None, True)),
                 id="health checks take get faults"),
    pytest.param(Route("GET", "/apis/coordination.k8s.io/v1", RequestInfo("get")),
                 id="discovery documents are never faulted"),
]


@pytest.fixture(scope="module")
def embedded() -> Iterator[ServerThread]:
    with ServerThread(port=0) as server:
        yield server


@pytest.mark.parametrize("route", ROUTES)
def test_request_info(route: Route, embedded: ServerThread) -> None:
    path, _, query = route.path.partition("?")
    parsed = dict(q.split("=", 1) for q in query.split("&")) if query else {}
    assert request_info(route.method, path, parsed) == route.expected
    if route.embedded:
        mark = time.time()
        with requests.Session() as s:
            s.trust_env = False
            s.request(route.method, embedded.url + route.path, json={}, timeout=(5, 0.5) if "watch" in
                      route.path else 10, stream=True).close()
        deadline = time.monotonic() + 5  # it logs a watch right after sending its headers
        while not (records := [r for r in embedded.request_log.since(mark) if r.path == path]):
            assert time.monotonic() < deadline, f"the embedded server logged no {route.method} {path}"
            time.sleep(0.01)
        (record,) = records
        assert (record.verb, record.resource) == (route.expected.verb, route.expected.resource)


def frame(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


@pytest.mark.parametrize(("content_type", "stream", "two"), [
    pytest.param("application/json", b'{"a":1}\n{"b":2}\n{"c":3}\n', b'{"a":1}\n{"b":2}\n',
                 id="JSON watch events end with a newline"),
    pytest.param("application/vnd.kubernetes.protobuf;stream=watch", frame(b"one") + frame(b"") + frame(b"three"),
                 frame(b"one") + frame(b""), id="protobuf watch events are length-prefixed frames"),
])
def test_drop_after_counts_whole_events_across_chunk_borders(content_type: str, stream: bytes, two: bytes) -> None:
    for size in (1, 2, 5, len(stream)):
        counter, remaining, forwarded = _EventCounter(content_type), 2, b""
        for at in range(0, len(stream), size):
            cut, ended = counter.cut(stream[at:at + size], remaining)
            forwarded += stream[at:at + cut]
            remaining -= ended
            if remaining <= 0:
                break
        assert (remaining, forwarded) == (0, two)


# -- forwarding and identity ------------------------------------------------------------------------------

def test_an_admin_get_through_the_proxy_is_the_real_answer(plane: ControlPlane, proxy: FaultProxy) -> None:
    agent = f"faultproxy-test/{uuid.uuid4().hex[:8]}"
    with session(plane) as s:
        direct = s.get(plane.url + "/api/v1/namespaces/default", timeout=10)
        proxied = s.get(proxy.url + "/api/v1/namespaces/default", headers={"User-Agent": agent}, timeout=10)
    assert (proxied.status_code, proxied.content) == (200, direct.content)
    assert proxied.headers["Content-Type"] == "application/json"
    assert "Audit-Id" in proxied.headers  # the real server's own header, passed back
    (event,) = [e for e in plane.audit_events() if e.get("userAgent") == agent]
    assert event["user"]["username"] == "admin"  # the client certificate's identity, asserted by the proxy
    assert "system:masters" in event["user"]["groups"]


@dataclasses.dataclass(frozen=True)
class Caller:
    credentials: str  # "none", "bad token", "service account"
    status: int
    says: str


CALLERS = [
    pytest.param(Caller("none", 403, 'User \\"system:anonymous\\" cannot list'),
                 id="without credentials the real server answers 403 for system:anonymous"),
    pytest.param(Caller("bad token", 401, "Unauthorized"), id="a bad bearer token gets the real server's 401"),
    pytest.param(Caller("service account", 403, "system:serviceaccount:{ns}:robot"),
                 id="a ServiceAccount token passes through untouched and is judged as that ServiceAccount"),
]


@pytest.mark.parametrize("caller", CALLERS)
def test_the_real_server_authenticates_the_caller(caller: Caller, plane: ControlPlane, proxy: FaultProxy,
                                                  ns: str) -> None:
    token = None
    if caller.credentials == "bad token":
        token = "not-a-token"
    elif caller.credentials == "service account":
        kubeconfig = plane.service_account_kubeconfig(ns, "robot")
        token = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"]
    with session(plane, admin=False, token=token) as s:
        resp = s.get(f"{proxy.url}/api/v1/namespaces/{ns}/configmaps", timeout=10)
    assert resp.status_code == caller.status, resp.text
    assert caller.says.format(ns=ns) in resp.text
    assert resp.json()["kind"] == "Status"


# -- faults -----------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class FaultCase:
    fault: dict[str, Any]
    action: str  # "create" (POST a new ConfigMap) or "get" (GET one created directly beforehand)
    statuses: tuple[int, ...]  # the answers to the action repeated
    exists: bool = True  # the ConfigMap exists afterwards
    retry_after: str | None = None
    min_seconds: float = 0.0


FAULTS = [
    pytest.param(FaultCase({"verb": "create", "resource": "configmaps", "status": 500}, "create", (500, 500),
                           exists=False),
                 id="a 500 on create configmaps answers 500 each time and never creates the object"),
    pytest.param(FaultCase({"verb": "create", "resource": "configmaps", "status": 409, "times": 1}, "create",
                           (409, 201)),
                 id="a 409 with times=1 fires once, then the create reaches the real server"),
    pytest.param(FaultCase({"verb": "get", "resource": "configmaps", "status": 429, "retry_after": 3}, "get",
                           (429,), retry_after="3"),
                 id="a 429 carries Retry-After and retryAfterSeconds"),
    pytest.param(FaultCase({"verb": "get", "resource": "configmaps", "delay": 0.5}, "get", (200,), min_seconds=0.5),
                 id="a delay holds the request, which then reaches the real server"),
]


@pytest.mark.parametrize("case", FAULTS)
def test_fault(case: FaultCase, plane: ControlPlane, proxy: FaultProxy, ns: str) -> None:
    name = fresh()
    if case.action == "get":
        plane.request("POST", f"/api/v1/namespaces/{ns}/configmaps", configmap(name), ok=(201,))
    rule = proxy.add_fault(namespace=ns, **case.fault)
    collection = f"{proxy.url}/api/v1/namespaces/{ns}/configmaps"
    answers = []
    with session(plane) as s:
        for _ in case.statuses:
            started = time.monotonic()
            resp = s.post(collection, json=configmap(name), timeout=10) if case.action == "create" \
                else s.get(f"{collection}/{name}", timeout=10)
            answers.append((resp, time.monotonic() - started))
    assert tuple(resp.status_code for resp, _ in answers) == case.statuses
    for resp, seconds in answers:
        assert seconds >= case.min_seconds
        body = resp.json()
        if resp.status_code >= 400:
            assert (body["kind"], body["code"]) == ("Status", resp.status_code)
            assert resp.headers.get("Retry-After") == case.retry_after
            if case.retry_after:
                assert body["details"]["retryAfterSeconds"] == int(case.retry_after)
        else:
            assert body["metadata"]["name"] == name
    assert rule.hits == sum(1 for resp, _ in answers if resp.status_code == case.statuses[0])
    if case.fault.get("times"):
        assert rule not in list(proxy.faults)
    direct = plane.request("GET", f"/api/v1/namespaces/{ns}/configmaps/{name}", ok=(200, 404))
    assert (direct.get("kind") == "ConfigMap") == case.exists


# -- watches ----------------------------------------------------------------------------------------------

def test_a_watch_streams_events_as_they_happen(plane: ControlPlane, proxy: FaultProxy, ns: str) -> None:
    rv = plane.request("GET", f"/api/v1/namespaces/{ns}/configmaps")["metadata"]["resourceVersion"]
    with session(plane) as s, s.get(f"{proxy.url}/api/v1/namespaces/{ns}/configmaps",
                                    params={"watch": "true", "resourceVersion": rv}, stream=True,
                                    timeout=(5, 10)) as resp:
        assert resp.status_code == 200
        events = lines(resp)
        for _ in range(2):  # each event arrives before the next object even exists: nothing is buffered
            name = fresh()
            created = time.monotonic()
            plane.request("POST", f"/api/v1/namespaces/{ns}/configmaps", configmap(name), ok=(201,))
            event = next(events)
            assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", name)
            assert time.monotonic() - created < 2.0


def test_drop_after_cuts_a_watch_after_two_events(plane: ControlPlane, proxy: FaultProxy, ns: str) -> None:
    rv = plane.request("GET", f"/api/v1/namespaces/{ns}/configmaps")["metadata"]["resourceVersion"]
    names = [fresh() for _ in range(3)]
    for name in names:
        plane.request("POST", f"/api/v1/namespaces/{ns}/configmaps", configmap(name), ok=(201,))
    rule = proxy.add_fault(verb="watch", resource="configmaps", namespace=ns, drop_after=2)
    url = f"{proxy.url}/api/v1/namespaces/{ns}/configmaps"
    params = {"watch": "true", "resourceVersion": rv}
    seen: list[str] = []
    started = time.monotonic()
    with (session(plane) as s, s.get(url, params=params, stream=True, timeout=(5, 10)) as resp,
          pytest.raises(requests.exceptions.ChunkedEncodingError)):  # cut mid-body, not a clean end
        seen.extend(e["object"]["metadata"]["name"] for e in lines(resp))
    assert seen == names[:2]
    assert time.monotonic() - started < 5.0  # cut at once, not at the read timeout
    assert rule.hits == 1
    proxy.faults.remove(rule)
    with session(plane) as s, s.get(url, params={**params, "timeoutSeconds": "1"}, stream=True,
                                    timeout=(5, 10)) as resp:
        assert [e["object"]["metadata"]["name"] for e in lines(resp)] == names  # all three were there


# -- connections ------------------------------------------------------------------------------------------

def test_refuse_connections_then_serve_again_on_the_same_port(plane: ControlPlane, proxy: FaultProxy,
                                                              ns: str) -> None:
    url = proxy.url
    namespace = f"{url}/api/v1/namespaces/{ns}"
    plane.request("POST", f"/api/v1/namespaces/{ns}/configmaps", configmap(fresh()), ok=(201,))
    with session(plane) as s, session(plane) as w:
        assert s.get(namespace, timeout=10).status_code == 200  # a kept-alive connection
        with w.get(f"{namespace}/configmaps", params={"watch": "true"}, stream=True, timeout=(5, 10)) as watch:
            events = lines(watch)
            next(events)  # the watch is open: its first ADDED event arrived
            proxy.refuse_connections(1.0)
            refused = time.monotonic()
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", proxy.port), timeout=2).close()
            with pytest.raises(requests.exceptions.RequestException):
                list(events)  # the open watch was cut
        with pytest.raises(requests.exceptions.ConnectionError):
            s.get(namespace, timeout=10)  # the kept-alive connection is gone and a new one is refused
        while True:
            try:
                resp = s.get(namespace, timeout=10)
                break
            except requests.exceptions.ConnectionError:
                assert time.monotonic() - refused < 5.0, "the proxy did not listen again"
                time.sleep(0.05)
    assert resp.status_code == 200
    assert proxy.url == url
    assert time.monotonic() - refused >= 0.9


# -- the request log ----------------------------------------------------------------------------------------

def test_the_request_log_records_verb_resource_and_status(plane: ControlPlane, proxy: FaultProxy, ns: str) -> None:
    name = fresh()
    base = f"/api/v1/namespaces/{ns}"
    steps: list[tuple[str, str, Any, dict[str, str], tuple[str, str, int]]] = [
        ("GET", f"{base}/configmaps", None, {}, ("list", "configmaps", 200)),
        ("POST", f"{base}/configmaps", configmap(name), {}, ("create", "configmaps", 201)),
        ("GET", f"{base}/configmaps/{name}", None, {}, ("get", "configmaps", 200)),
        ("PATCH", f"{base}/configmaps/{name}", {"data": {"k": "w"}},
         {"Content-Type": "application/merge-patch+json"}, ("patch", "configmaps", 200)),
        ("GET", f"{base}/configmaps?watch=true&timeoutSeconds=1", None, {}, ("watch", "configmaps", 200)),
        ("GET", f"/api/v1/namespaces/{ns}/status", None, {}, ("get", "namespaces/status", 200)),
        ("POST", f"{base}/serviceaccounts", {"metadata": {"name": "logged"}}, {}, ("create", "serviceaccounts", 201)),
        ("POST", f"{base}/serviceaccounts/logged/token", {"spec": {}}, {}, ("create", "serviceaccounts/token", 201)),
        ("DELETE", f"{base}/configmaps/{name}", None, {}, ("delete", "configmaps", 200)),
        ("GET", f"{base}/configmaps/{name}", None, {}, ("get", "configmaps", 404)),
        ("DELETE", f"{base}/configmaps?labelSelector=none%3Dhere", None, {}, ("deletecollection", "configmaps", 200)),
        ("GET", "/version", None, {}, ("get", "", 200)),
    ]
    mark = time.time()
    with session(plane) as s:
        for method, path, body, headers, (_, _, status) in steps:
            data = json.dumps(body) if body is not None else None
            with s.request(method, proxy.url + path, data=data, headers={"Content-Type": "application/json",
                                                                          **headers},
                           stream=True, timeout=10) as resp:
                assert resp.status_code == status, f"{method} {path}: {resp.text}"
                resp.content  # noqa: B018  read to the end (the watch: until its timeoutSeconds)
    logged = [(r.method, r.path, r.query) for r in proxy.request_log.since(mark)]
    assert logged == [(m, *p.partition("?")[::2]) for m, p, *_ in steps]
    assert [(r.verb, r.resource, r.status) for r in proxy.request_log.since(mark)] == [s[-1] for s in steps]
    assert all(r.user_agent.startswith("python-requests/") for r in proxy.request_log.since(mark))


def test_a_request_body_is_streamed_upstream(plane: ControlPlane, proxy: FaultProxy, ns: str) -> None:
    """A body without Content-Length (chunked, as a generator) reaches the server whole."""
    name = fresh()
    payload = json.dumps({**configmap(name), "data": {"big": "x" * 300_000}}).encode()

    def pieces() -> Iterator[bytes]:
        for at in range(0, len(payload), 65536):
            yield payload[at:at + 65536]

    with session(plane) as s:
        resp = s.post(f"{proxy.url}/api/v1/namespaces/{ns}/configmaps", data=pieces(),
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert resp.status_code == 201, resp.text
    stored = plane.request("GET", f"/api/v1/namespaces/{ns}/configmaps/{name}")
    assert len(stored["data"]["big"]) == 300_000
