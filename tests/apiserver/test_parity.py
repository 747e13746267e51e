"""The embedded API server checked against the real kube-apiserver (tests/realkube.py, v1.37.2): each row
of the table below is a request scenario drawn from the embedded server's own tests, replayed against
BOTH servers in one test (module-scoped: one real control plane and one embedded server, each with the
`widgets.example.com` CRD of tests/apiserver/conftest.py installed), and the two normalized transcripts
must be equal: status codes, Status bodies, Content-Type and Warning headers, watch event sequences,
managedFields, Table output, discovery documents and list metadata.

Normalized away (legitimately different): uids, resourceVersion values, server-set timestamps,
managedFields times, continue tokens and generated names' suffixes (checked against kube's alphabet
first). Each scenario runs in a namespace of its own (the same name on both servers).

Where the embedded server differs on purpose or for now, the row carries the exact difference
(`differs`: JSON path -> [real, embedded]) and the reason; the same difference is listed in the
docstring of issuer/testing/server.py. The test fails when a difference appears, changes or goes away,
so the table stays the truth. A second, cluster-scoped `gadgets.example.com` CRD without a status
subresource is installed too, and one row runs on a second embedded server with a 30-event watch
history (`embedded="small-window"`) to pin the emulator's 410 Expired.

About 40 s in all (the control plane starts in ~4 s; watches end by count or `timeoutSeconds=1`).
`PARITY_DUMP=/some/file` appends every row's two transcripts and differences to that file as JSON
lines, to read a new difference in full.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from issuer.testing.server import ServerThread
from tests.apiserver.conftest import APPLY, JSONPATCH, MERGE, SMP, TABLE, Resp, widget, widget_crd
from tests.realkube import ControlPlane

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
AGGREGATED = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")
ABSENT = "<absent>"
SUFFIX = re.compile(r"[bcdfghjklmnpqrstvwxz2456789]{5}")
TIME_KEYS = frozenset({"creationTimestamp", "deletionTimestamp", "lastTransitionTime", "time"})


# -- the two servers, side by side ---------------------------------------------------------------------


@dataclasses.dataclass
class Target:
    """One running server: its name, URL and an HTTP session (admin on the real one)."""

    name: str
    url: str
    session: requests.Session

    def request(self, method: str, path: str, body: Any = None, **kw: Any) -> requests.Response:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        return self.session.request(method, self.url + path, data=data, headers=headers, timeout=30, **kw)


class Stream:
    """An open watch: events are read as they come."""

    def __init__(self, resp: requests.Response) -> None:
        self.resp = resp
        self.lines = resp.iter_lines()

    def take(self, count: int) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        try:
            while len(events) < count:
                line = next(self.lines)
                if line.strip():
                    events.append(json.loads(line))
        except (StopIteration, requests.ConnectionError):
            pass
        return events

    def rest(self) -> list[dict[str, Any]]:
        """Every event until the stream ends (timeoutSeconds) or goes quiet for the read timeout."""
        return self.take(10_000)

    def close(self) -> None:
        self.resp.close()


class Side:
    """A scenario's view of one server: requests in its own namespace, normalized records."""

    def __init__(self, target: Target, ns: str) -> None:
        self.target = target
        self.name = target.name
        self.ns = ns
        self.masks: dict[str, str] = {}

    # paths in the scenario's namespace
    @property
    def widgets(self) -> str:
        return f"/apis/example.com/v1/namespaces/{self.ns}/widgets"

    @property
    def secrets(self) -> str:
        return f"/api/v1/namespaces/{self.ns}/secrets"

    @property
    def configmaps(self) -> str:
        return f"/api/v1/namespaces/{self.ns}/configmaps"

    @property
    def events(self) -> str:
        return f"/api/v1/namespaces/{self.ns}/events"

    @property
    def events_v1(self) -> str:
        return f"/apis/events.k8s.io/v1/namespaces/{self.ns}/events"

    def req(self, method: str, path: str, body: Any = None, *, ctype: str | None = "application/json",
            params: dict[str, str] | None = None, headers: dict[str, str] | None = None,
            raw: bytes | None = None, accept: str = "application/json") -> Resp:
        hdrs = {"Accept": accept, **(headers or {})}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and ctype:
            hdrs["Content-Type"] = ctype
        r = self.target.session.request(method, self.target.url + path, data=data, headers=hdrs, params=params,
                                        timeout=30)
        try:
            parsed = r.json() if r.content else None
        except ValueError:
            parsed = r.text
        resp = Resp(r.status_code, parsed, r.headers)
        self._learn(parsed)
        return resp

    def get(self, path: str, **kw: Any) -> Resp:
        return self.req("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Resp:
        return self.req("POST", path, body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Resp:
        return self.req("PUT", path, body, **kw)

    def patch(self, path: str, body: Any, ctype: str = MERGE, **kw: Any) -> Resp:
        return self.req("PATCH", path, body, ctype=ctype, **kw)

    def delete(self, path: str, body: Any = None, **kw: Any) -> Resp:
        return self.req("DELETE", path, body, **kw)

    def open_watch(self, path: str, params: dict[str, str] | None = None, *, read_timeout: float = 3.0,
                   accept: str = "application/json") -> Stream:
        query = {"watch": "true", **(params or {})}
        r = self.target.session.get(self.target.url + path, params=query, headers={"Accept": accept},
                                    stream=True, timeout=(10, read_timeout))
        assert r.status_code == 200, r.text
        return Stream(r)

    def watch(self, path: str, params: dict[str, str] | None = None, *, count: int | None = None,
              read_timeout: float = 3.0) -> list[dict[str, Any]]:
        stream = self.open_watch(path, params, read_timeout=read_timeout)
        try:
            return stream.take(count) if count is not None else stream.rest()
        finally:
            stream.close()

    # normalization
    def _learn(self, value: Any) -> None:
        """Remember server-made uids so that messages quoting them normalize too."""
        if isinstance(value, dict):
            for key, sub in value.items():
                if key == "uid" and isinstance(sub, str) and len(sub) == 36:
                    self.masks.setdefault(sub, "<uid>")
                else:
                    self._learn(sub)
        elif isinstance(value, list):
            for sub in value:
                self._learn(sub)

    def mask(self, text: str, label: str) -> None:
        self.masks[text] = label

    def generated(self, name: str, prefix: str) -> str:
        """Check a generateName result (`prefix` + five characters of kube's alphabet) and mask it."""
        assert name.startswith(prefix) and SUFFIX.fullmatch(name[len(prefix):]), name
        self.mask(name, f"{prefix}<suffix>")
        return name

    def norm(self, value: Any, *, managed: bool = False) -> Any:
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, sub in value.items():
                if key == "managedFields":
                    if managed and isinstance(sub, list):
                        out[key] = [{k: self.norm(v) for k, v in e.items() if k != "time"} for e in sub]
                elif key == "uid" and isinstance(sub, str) and sub:
                    out[key] = "<uid>"
                elif key == "resourceVersion" and isinstance(sub, str) and sub:
                    out[key] = "<rv>"
                elif key in TIME_KEYS and isinstance(sub, str) and sub:
                    out[key] = "<time>"
                elif key == "continue" and isinstance(sub, str) and sub:
                    out[key] = "<continue>"
                else:
                    out[key] = self.norm(sub, managed=managed)
            return out
        if isinstance(value, list):
            return [self.norm(v, managed=managed) for v in value]
        if isinstance(value, str):
            for text, label in sorted(self.masks.items(), key=lambda m: -len(m[0])):  # a uid before an rv in it
                if text not in value:
                    continue
                if text.isdigit():
                    value = re.sub(rf"(?<![\w-]){text}(?![\w-])", label, value)
                else:
                    value = value.replace(text, label)
            return value
        return value

    def rec(self, resp: Resp, *, body: bool = True, managed: bool = False, pick: Callable[[Any], Any] | None = None,
            headers: tuple[str, ...] = ()) -> dict[str, Any]:
        """A normalized record of a response: code, Content-Type, Warning headers, body (or `pick(body)`)."""
        out: dict[str, Any] = {"code": resp.status, "type": resp.headers.get("Content-Type")}
        warnings = [w.strip() for w in resp.headers.get("Warning", "").split(",") if w.strip()] \
            if resp.headers.get("Warning") else []
        if warnings:
            out["warnings"] = self.norm(warnings)
        for name in headers:
            out[name] = resp.headers.get(name, ABSENT)
        if pick is not None:
            out["body"] = self.norm(pick(resp.body), managed=managed)
        elif body:
            out["body"] = self.norm(resp.body, managed=managed)
        return out

    def events_of(self, events: list[dict[str, Any]], pick: Callable[[dict[str, Any]], Any] | None = None) -> Any:
        """(type, name) per watch event, or `pick(object)` instead of the name."""
        out = []
        for e in events:
            obj = e.get("object") or {}
            if pick is not None:
                out.append([e.get("type"), self.norm(pick(obj))])
            else:
                out.append([e.get("type"), (obj.get("metadata") or {}).get("name")])
        return out


# -- the comparison --------------------------------------------------------------------------------------

def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def diff(real: Any, emb: Any, path: str = "$") -> dict[str, Any]:
    """Differences between two JSON values: JSON path -> [real, embedded] (ABSENT for a missing key)."""
    if isinstance(real, dict) and isinstance(emb, dict):
        out: dict[str, Any] = {}
        for key in sorted(set(real) | set(emb), key=str):
            out.update(diff(real.get(key, ABSENT), emb.get(key, ABSENT), f"{path}.{key}"))
        return out
    if isinstance(real, list) and isinstance(emb, list) and len(real) == len(emb):
        out = {}
        for i, (a, b) in enumerate(zip(real, emb, strict=True)):
            out.update(diff(a, b, f"{path}[{i}]"))
        return out
    return {} if _same(real, emb) else {path: [real, emb]}


Scenario = Callable[[Side], Any]


@dataclasses.dataclass(frozen=True)
class Row:
    id: str
    run: Scenario
    differs: dict[str, Any]
    why: str
    embedded: str


ROWS: list[Row] = []


def scenario(sentence: str, *, differs: dict[str, Any] | None = None, why: str = "",
             embedded: str = "default") -> Callable[[Scenario], Scenario]:
    """Add a row: `sentence` is its id; `differs` the expected difference (JSON path -> [real, embedded])
    with `why`; `embedded` names the embedded server it runs on ("default", or "small-window":
    history_window=30, for 410 Expired)."""
    assert not differs or why, sentence

    def add(fn: Scenario) -> Scenario:
        ROWS.append(Row(sentence, fn, dict(differs or {}), why, embedded))
        return fn

    return add


# ======================================================================================================
# The table. Each function is one row: it runs its requests on one server (a Side) and returns the
# normalized transcript that is compared between the two.
# ======================================================================================================

# -- writes, errors and their Status bodies (test_writes.py) ----------------------------------------------

@scenario("creating a widget answers 201 with the object, schema defaults and generation 1")
def _(c: Side) -> Any:
    return c.rec(c.post(c.widgets, widget("w", color="red")))


@scenario("creating the same widget twice is 409 AlreadyExists")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("w"))
    return c.rec(c.post(c.widgets, widget("w")))


@scenario("getting a missing secret is 404 NotFound with details")
def _(c: Side) -> Any:
    return c.rec(c.get(f"{c.secrets}/nope"))


@scenario("an unknown resource of a built-in group is a 404 Status with empty details")
def _(c: Side) -> Any:
    return c.rec(c.get(f"/apis/example.com/v1/namespaces/{c.ns}/nothings"))


@scenario("a path outside the API and an unknown group are 404 page not found")
def _(c: Side) -> Any:
    return [c.rec(c.get("/nowhere")), c.rec(c.get("/apis/nope.example.com/v1"))]


@scenario("deleting a missing widget is 404 NotFound")
def _(c: Side) -> Any:
    return c.rec(c.delete(f"{c.widgets}/nope"))


@scenario("a merge patch with null deletes fields and labels")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("w", color="red", tags=["a", "b"]))
    one = c.patch(f"{c.widgets}/w", {"spec": {"tags": ["c"], "ttl": None}, "metadata": {"labels": {"k": "v"}}})
    two = c.patch(f"{c.widgets}/w", {"metadata": {"labels": {"k": None}}, "spec": {"tags": None}})
    return [c.rec(one), c.rec(two)]


@scenario("a merge patch with a stale resourceVersion is 409 Conflict, a fresh one applies")
def _(c: Side) -> Any:
    created = c.post(c.widgets, widget("w"))
    now = c.patch(f"{c.widgets}/w", {"spec": {"size": 2}})
    stale = c.patch(f"{c.widgets}/w", {"metadata": {"resourceVersion": created.rv}, "spec": {"size": 9}})
    fresh = c.patch(f"{c.widgets}/w", {"metadata": {"resourceVersion": now.rv}, "spec": {"size": 9}})
    return [c.rec(stale), c.rec(fresh, pick=lambda b: b["spec"])]


@scenario("patching a missing widget is 404")
def _(c: Side) -> Any:
    return c.rec(c.patch(f"{c.widgets}/nope", {"spec": {}}))


@scenario("a JSON patch runs test, add, replace, copy, remove and move")
def _(c: Side) -> Any:
    created = c.post(c.widgets, widget("w", tags=["a"]))
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": created.rv},
        {"op": "add", "path": "/metadata/finalizers", "value": ["kopf.zalando.org/KopfFinalizerMarker"]},
        {"op": "add", "path": "/spec/tags/-", "value": "b"},
        {"op": "replace", "path": "/spec/size", "value": 3},
        {"op": "copy", "from": "/spec/tags/1", "path": "/metadata/annotations"},
        {"op": "remove", "path": "/metadata/annotations"},
        {"op": "move", "from": "/spec/tags/0", "path": "/spec/shape"},
    ]
    done = c.patch(f"{c.widgets}/w", ops, JSONPATCH)
    # leave nothing behind that holds the namespace
    c.patch(f"{c.widgets}/w", [{"op": "remove", "path": "/metadata/finalizers"}], JSONPATCH)
    return c.rec(done)


@scenario("a JSON patch whose test op fails is 422 and changes nothing")
def _(c: Side) -> Any:
    created = c.post(c.widgets, widget("w"))
    c.patch(f"{c.widgets}/w", {"spec": {"size": 2}})
    c.mask(created.rv, "<old-rv>")
    failed = c.patch(f"{c.widgets}/w", [{"op": "test", "path": "/metadata/resourceVersion", "value": created.rv},
                                        {"op": "replace", "path": "/spec/size", "value": 5}], JSONPATCH)
    after = c.get(f"{c.widgets}/w")
    return [c.rec(failed), after.body["spec"]["size"]]


@scenario("a JSON patch with an unknown op or an incomplete one is 422, a non-object op 400")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("w"))
    return [c.rec(c.patch(f"{c.widgets}/w", ops, JSONPATCH))
            for ops in ([{"op": "jump", "path": "/x"}], [{"op": "add", "value": 1}], [{"op": "add", "path": "/a"}],
                        ["add"], {"op": "add"})]


@scenario("an undecodable JSON patch body is 400")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("w"))
    return c.rec(c.req("PATCH", f"{c.widgets}/w", raw=b"[{", ctype=JSONPATCH))


@scenario("a JSON patch removing a missing path is 422")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("w"))
    return c.rec(c.patch(f"{c.widgets}/w", [{"op": "remove", "path": "/spec/nothing"}], JSONPATCH))


@scenario("a strategic merge patch on a custom resource is 415")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("w"))
    return c.rec(c.patch(f"{c.widgets}/w", {"spec": {"size": 2}}, SMP))


@scenario("a strategic merge patch on a Secret merges finalizers and ownerReferences by uid")
def _(c: Side) -> Any:
    u1 = c.post(c.configmaps, {"metadata": {"name": "c"}}).body["metadata"]["uid"]
    u2 = c.post(c.configmaps, {"metadata": {"name": "d"}}).body["metadata"]["uid"]
    c.mask(u1, "<uid-c>")
    c.mask(u2, "<uid-d>")
    c.post(c.secrets, {"metadata": {"name": "s", "finalizers": ["a/b"], "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "c", "uid": u1}]}})
    resp = c.patch(f"{c.secrets}/s", {
        "metadata": {"finalizers": ["c/d"], "labels": {"x": "y"},
                     "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "d", "uid": u2}]},
        "stringData": {"k": "v"}}, SMP)
    out = c.rec(resp, pick=lambda b: {"finalizers": sorted(b["metadata"]["finalizers"]),
                                      "owners": [r["name"] for r in b["metadata"]["ownerReferences"]],
                                      "labels": b["metadata"]["labels"], "data": b["data"]})
    c.patch(f"{c.secrets}/s", {"metadata": {"finalizers": None}})
    return out


@scenario("a merge patch whose body is a JSON array is 400")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("w"))
    return c.rec(c.patch(f"{c.widgets}/w", [{"op": "replace", "path": "/spec/size", "value": 2}], MERGE))


@scenario("POST and PUT without a Content-Type are JSON, PATCH without one is 415")
def _(c: Side) -> Any:
    created = c.req("POST", c.widgets, raw=json.dumps(widget("w")).encode(), ctype=None)
    body = created.body
    body["spec"]["size"] = 2
    put = c.req("PUT", f"{c.widgets}/w", raw=json.dumps(body).encode(), ctype=None)
    patch = c.req("PATCH", f"{c.widgets}/w", raw=b'{"spec":{"size":3}}', ctype=None)
    return [created.status, put.status, c.rec(patch)]


@scenario("a PATCH with text/plain on a built-in kind is 415 listing strategic merge too")
def _(c: Side) -> Any:
    c.post(c.secrets, {"metadata": {"name": "s"}})
    return c.rec(c.req("PATCH", f"{c.secrets}/s", raw=b"{}", ctype="text/plain"))


@scenario("an invalid object name is 422 with the RFC 1123 subdomain message")
def _(c: Side) -> Any:
    return c.rec(c.post(c.widgets, widget("Bad_Name")))


@scenario("a namespace name with a dot is 422: must not contain dots")
def _(c: Side) -> Any:
    return c.rec(c.post("/api/v1/namespaces", {"metadata": {"name": "a.b"}}))


@scenario("a missing required field and a value outside the enum are 422 with one cause each")
def _(c: Side) -> Any:
    body = widget("w")
    del body["spec"]["size"]
    body["spec"]["color"] = "purple"
    return c.rec(c.post(c.widgets, body))


@scenario("a value of the wrong type is 422 FieldValueTypeInvalid")
def _(c: Side) -> Any:
    return c.rec(c.post(c.widgets, widget("w", size="big")))  # type: ignore[arg-type]


@scenario("a value under the schema's minimum is 422")
def _(c: Side) -> Any:
    return c.rec(c.post(c.widgets, widget("w", size=-1)))


@scenario("a CEL rule with duration() refuses a 48h ttl with the rule's message")
def _(c: Side) -> Any:
    return c.rec(c.post(c.widgets, widget("w", ttl="48h")))


@scenario("a CEL rule with timestamp() refuses a date of the last millennium")
def _(c: Side) -> Any:
    return c.rec(c.post(c.widgets, widget("w", notAfter="1999-01-01T00:00:00Z")))


@scenario("a CEL transition rule on oldSelf makes color immutable on update")
def _(c: Side) -> Any:
    ok = c.post(c.widgets, widget("w", ttl="1h", color="red", notAfter="2030-01-01T00:00:00Z"))
    change = c.patch(f"{c.widgets}/w", {"spec": {"color": "blue"}})
    return [ok.status, c.rec(change)]


@scenario("a rule reading a removed field fails with no such key")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("w", color="red"))
    return c.rec(c.patch(f"{c.widgets}/w", {"spec": {"color": None}}))


@scenario("a bad label key and a bad label value are 422 with two metadata.labels causes")
def _(c: Side) -> Any:
    body = widget("l")
    body["metadata"]["labels"] = {"bad key": "v", "ok": "bad value!"}
    # kube validates labels in Go map order: the causes come in any order
    return c.rec(c.post(c.widgets, body), pick=lambda b: [b["reason"], b["details"]["kind"], sorted(
        (x["field"], x["message"]) for x in b["details"]["causes"])])


@scenario("label keys and values over 63 bytes and a key with two slashes are 422")
def _(c: Side) -> Any:
    out = []
    for labels in ({"x" * 64: "v"}, {"k": "y" * 64}, {"a/b/c": "v"}, {"Bad/a": "v"}):
        body = widget("l")
        body["metadata"]["labels"] = labels
        out.append(c.rec(c.post(c.widgets, body)))
    return out


@scenario("a name over 253 characters and a namespace name over 63 are 422")
def _(c: Side) -> Any:
    return [c.rec(c.post(c.widgets, widget("n" * 254))),
            c.rec(c.post("/api/v1/namespaces", {"metadata": {"name": "n" * 64}}))]


@scenario("an object without name or generateName is 422")
def _(c: Side) -> Any:
    return c.rec(c.post(c.widgets, {"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"size": 1}}))


@scenario("an unknown field is pruned with a Warning header by default")
def _(c: Side) -> Any:
    return c.rec(c.post(c.widgets, widget("a", foo=1)))


@scenario("fieldValidation=Strict refuses an unknown field with 400")
def _(c: Side) -> Any:
    return c.rec(c.post(c.widgets, widget("b", foo=1), params={"fieldValidation": "Strict"}))


@scenario("fieldValidation=Ignore drops an unknown field silently")
def _(c: Side) -> Any:
    return c.rec(c.post(c.widgets, widget("c", foo=1), params={"fieldValidation": "Ignore"}))


QUOTED_OBJECT = re.compile(r'Invalid value: "\{(?:\\.|[^"\\])*\}"')


@scenario("fieldValidation=Strict on a merge patch refuses an unknown field of the patched object with 422")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("a"))
    resp = c.patch(f"{c.widgets}/a", {"spec": {"bar": 2}}, params={"fieldValidation": "Strict"})
    # both quote the whole patched object; its serialization (managedFields, key order) differs
    body = resp.body
    assert '\\"bar\\":2' in body["message"], body
    body["message"] = QUOTED_OBJECT.sub('Invalid value: "<object>"', body["message"])
    for cause in body.get("details", {}).get("causes", []):
        cause["message"] = QUOTED_OBJECT.sub('Invalid value: "<object>"', cause["message"])
    return c.rec(resp)


@scenario("a body that is not JSON is 400")
def _(c: Side) -> Any:
    return c.rec(c.req("POST", c.widgets, raw=b"{not json"))


@scenario("generateName gives the prefix plus five characters of kube's alphabet")
def _(c: Side) -> Any:
    resp = c.post(c.widgets, {"apiVersion": "example.com/v1", "kind": "Widget",
                              "metadata": {"generateName": "w-"}, "spec": {"size": 1}})
    c.generated(resp.body["metadata"]["name"], "w-")
    return c.rec(resp)


@scenario("creating in a missing namespace is 404 for the namespace")
def _(c: Side) -> Any:
    return c.rec(c.post("/api/v1/namespaces/nope-nope/secrets", {"metadata": {"name": "s"}}))


@scenario("deleting the default namespace is 403")
def _(c: Side) -> Any:
    return c.rec(c.delete("/api/v1/namespaces/default", params={"dryRun": "All"}))


@scenario("a finalizer holds a deleted widget; deleting again answers the same; releasing it deletes")
def _(c: Side) -> Any:
    body = widget("w")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    created = c.post(c.widgets, body)
    deleting = c.delete(f"{c.widgets}/w", {"propagationPolicy": "Background"})
    again = c.delete(f"{c.widgets}/w")
    spec = c.patch(f"{c.widgets}/w", {"spec": {"size": 4}})
    released = c.patch(f"{c.widgets}/w", {"metadata": {"finalizers": None}})
    gone = c.get(f"{c.widgets}/w")
    events = c.watch(c.widgets, {"resourceVersion": created.rv}, count=4)
    return [c.rec(deleting), again.rv == deleting.rv, spec.status, released.status, gone.status,
            c.events_of(events, lambda o: [o["spec"]["size"], bool(o["metadata"].get("deletionTimestamp"))])]


@scenario("no new finalizers can be added while deleting (422)")
def _(c: Side) -> Any:
    body = widget("w")
    body["metadata"]["finalizers"] = ["example.com/a"]
    c.post(c.widgets, body)
    c.delete(f"{c.widgets}/w")
    resp = c.patch(f"{c.widgets}/w", {"metadata": {"finalizers": ["example.com/a", "example.com/b"]}})
    c.patch(f"{c.widgets}/w", {"metadata": {"finalizers": None}})
    return c.rec(resp)


@scenario("a delete with a wrong uid or resourceVersion precondition is 409")
def _(c: Side) -> Any:
    out = []
    for path, body in ((c.widgets, widget("w")), (c.secrets, {"metadata": {"name": "w"}})):
        rv = c.post(path, body).rv
        c.mask(rv, "<rv>")
        out.append(c.rec(c.delete(f"{path}/w", {"preconditions": {"uid": "other"}})))
        out.append(c.rec(c.delete(f"{path}/w", {"preconditions": {"resourceVersion": "1"}})))
    return out


@scenario("a dry-run delete keeps the object, a bad dryRun value is 422 on DeleteOptions")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("w"))
    dry = c.delete(f"{c.widgets}/w", params={"dryRun": "All"})
    kept = c.get(f"{c.widgets}/w")
    bad = c.delete(f"{c.widgets}/w", params={"dryRun": "Sometimes"})
    return [c.rec(dry, pick=lambda b: b["kind"]), kept.status, c.rec(bad)]


@scenario("a PUT carrying another uid is 409 Precondition failed")
def _(c: Side) -> Any:
    out = []
    for path, body in ((c.widgets, widget("w")), (c.secrets, {"metadata": {"name": "w"}})):
        created = c.post(path, body).body
        created["metadata"]["uid"] = "recreated"
        out.append(c.rec(c.put(f"{path}/w", created)))
    return out


@scenario("deleting a Service answers the object, deleting a ConfigMap a Status")
def _(c: Side) -> Any:
    c.post(f"/api/v1/namespaces/{c.ns}/services", {"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}})
    c.post(c.configmaps, {"metadata": {"name": "cm"}})
    return [c.rec(c.delete(f"/api/v1/namespaces/{c.ns}/services/svc"), pick=lambda b: b["kind"]),
            c.rec(c.delete(f"{c.configmaps}/cm"), pick=lambda b: b["kind"])]


@scenario("a POST to an object path and a PUT to a collection are 405")
def _(c: Side) -> Any:
    c.post(c.secrets, {"metadata": {"name": "s"}})
    return [c.rec(c.post(f"{c.secrets}/s", {"metadata": {"name": "s"}})),
            c.rec(c.put(c.secrets, {"metadata": {"name": "s"}}))]


@scenario("a POST with Content-Type text/plain is 415")
def _(c: Side) -> Any:
    return [c.rec(c.req("POST", c.secrets, raw=b'{"metadata":{"name":"s"}}', ctype="text/plain")),
            c.rec(c.req("POST", c.widgets, raw=json.dumps(widget("w")).encode(), ctype="text/plain"))]


@scenario("a strategic merge patch whose body is a JSON array is 400")
def _(c: Side) -> Any:
    c.post(c.secrets, {"metadata": {"name": "s"}})
    return c.rec(c.patch(f"{c.secrets}/s", [{"op": "add"}], SMP))


@scenario("dryRun=All on create and patch answers the result and stores nothing")
def _(c: Side) -> Any:
    created = c.post(c.widgets, widget("w", color="red"), params={"dryRun": "All"})
    missing = c.get(f"{c.widgets}/w")
    c.post(c.widgets, widget("w"))
    patched = c.patch(f"{c.widgets}/w", {"spec": {"size": 7}}, params={"dryRun": "All"})
    kept = c.get(f"{c.widgets}/w")

    def pick(b: Any) -> Any:  # managedFields: see the row on the creator's Update entry
        return {"spec": b["spec"], "metadata": sorted(k for k in b["metadata"] if k != "managedFields")}

    return [c.rec(created, pick=pick), missing.status, c.rec(patched, pick=pick), kept.body["spec"]["size"]]


@scenario("a new namespace has the metadata.name label, the kubernetes finalizer and phase Active")
def _(c: Side) -> Any:
    return c.rec(c.get(f"/api/v1/namespaces/{c.ns}"), pick=lambda b: {
        "labels": b["metadata"].get("labels"), "spec": b.get("spec"), "status": b.get("status")})


@scenario("a namespace being deleted is Terminating and refuses new content with 403")
def _(c: Side) -> Any:
    held = widget("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    c.post(c.widgets, held)
    deleting = c.delete(f"/api/v1/namespaces/{c.ns}")
    refused = c.post(c.secrets, {"metadata": {"name": "t"}})
    c.patch(f"{c.widgets}/held", {"metadata": {"finalizers": None}})
    return [c.rec(deleting, pick=lambda b: [b["kind"], b["status"], bool(b["metadata"].get("deletionTimestamp"))]),
            c.rec(refused)]


def _eventually(check: Callable[[], Any], want: Any, timeout: float = 20.0) -> Any:
    """Poll `check` until it returns `want` (the real garbage collector works in the background)."""
    deadline = time.monotonic() + timeout
    value = check()
    while value != want and time.monotonic() < deadline:
        time.sleep(0.1)
        value = check()
    return value


@scenario("background deletion of an owner collects its dependents; Orphan strips the ownerReference")
def _(c: Side) -> Any:
    owner = c.post(c.configmaps, {"metadata": {"name": "owner"}}).body["metadata"]["uid"]
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner, "controller": True,
           "blockOwnerDeletion": True}
    c.post(c.secrets, {"metadata": {"name": "owned", "ownerReferences": [ref]}})
    keeper = c.post(c.secrets, {"metadata": {"name": "keeper"}}).body["metadata"]["uid"]
    c.post(c.secrets, {"metadata": {"name": "other", "ownerReferences": [
        ref, {"apiVersion": "v1", "kind": "Secret", "name": "keeper", "uid": keeper}]}})
    c.delete(f"{c.configmaps}/owner")
    gone = _eventually(lambda: c.get(f"{c.secrets}/owned").status, 404)
    other = c.get(f"{c.secrets}/other").body["metadata"]["ownerReferences"]
    owner2 = c.post(c.configmaps, {"metadata": {"name": "owner2"}}).body["metadata"]["uid"]
    c.post(c.secrets, {"metadata": {"name": "orphan", "ownerReferences": [dict(ref, name="owner2", uid=owner2)]}})
    orphaning = c.delete(f"{c.configmaps}/owner2", {"propagationPolicy": "Orphan"})
    stripped = _eventually(lambda: "ownerReferences" in c.get(f"{c.secrets}/orphan").body["metadata"], False)
    owner_gone = _eventually(lambda: c.get(f"{c.configmaps}/owner2").status, 404)
    return [gone, [r["name"] for r in other], c.rec(orphaning, pick=lambda b: [
        b["kind"], b["metadata"].get("finalizers")]), stripped, owner_gone]


@scenario("foreground deletion marks the owner with the foregroundDeletion finalizer")
def _(c: Side) -> Any:
    owner = c.post(c.configmaps, {"metadata": {"name": "owner"}}).body["metadata"]["uid"]
    c.post(c.secrets, {"metadata": {"name": "fg", "finalizers": ["x.io/y"], "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner, "blockOwnerDeletion": True}]}})
    resp = c.delete(f"{c.configmaps}/owner", params={"propagationPolicy": "Foreground"})
    out = c.rec(resp, pick=lambda b: [b["kind"], b["metadata"].get("finalizers"),
                                      bool(b["metadata"].get("deletionTimestamp"))])
    c.patch(f"{c.secrets}/fg", {"metadata": {"finalizers": None}})
    return [out, _eventually(lambda: c.get(f"{c.configmaps}/owner").status, 404)]


@scenario("a Service gets kube's defaults and a cluster IP")
def _(c: Side) -> Any:
    resp = c.post(f"/api/v1/namespaces/{c.ns}/services", {"metadata": {"name": "svc"}, "spec": {
        "ports": [{"port": 80, "name": "http"}], "selector": {"app": "x"}}})
    ip = resp.body["spec"]["clusterIP"]
    c.mask(ip, "<ip>")
    return c.rec(resp, pick=lambda b: {"spec": b["spec"], "status": b.get("status")})


@scenario("an Ingress path without pathType or backend is 422")
def _(c: Side) -> Any:
    path = f"/apis/networking.k8s.io/v1/namespaces/{c.ns}/ingresses"
    bad = c.post(path, {"metadata": {"name": "i"}, "spec": {"rules": [{"host": "a.example", "http": {
        "paths": [{"path": "/x"}]}}]}})
    ok = c.post(path, {"metadata": {"name": "j"}, "spec": {"rules": [{"host": "a.example", "http": {"paths": [
        {"path": "/x", "pathType": "Prefix", "backend": {"service": {"name": "s", "port": {"number": 80}}}}]}}]}})
    return [c.rec(bad), c.rec(ok, pick=lambda b: [b["spec"], b.get("status")])]


@scenario("a ConfigMap key with a space is 422")
def _(c: Side) -> Any:
    return c.rec(c.post(c.configmaps, {"metadata": {"name": "c"}, "data": {"bad key": "x"}}))


@scenario("deleting a Secret or a widget answers a Success Status")
def _(c: Side) -> Any:
    c.post(c.secrets, {"metadata": {"name": "s"}})
    c.post(c.widgets, widget("w"))
    return [c.rec(c.delete(f"{c.secrets}/s")), c.rec(c.delete(f"{c.widgets}/w"))]


# -- server-side apply -----------------------------------------------------------------------------------

def _applied(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


@scenario("apply without a fieldManager is 422 on PatchOptions")
def _(c: Side) -> Any:
    return c.rec(c.patch(f"{c.widgets}/w", _applied("w", size=1), APPLY))


@scenario("apply creates a missing object (201) with one Apply managedFields entry")
def _(c: Side) -> Any:
    resp = c.patch(f"{c.widgets}/w", _applied("w", size=1, color="red"), APPLY, params={"fieldManager": "me"})
    return c.rec(resp, managed=True)


@scenario("a second manager's apply adds its own entry; both managers keep their fields")
def _(c: Side) -> Any:
    c.patch(f"{c.widgets}/w", _applied("w", size=1), APPLY, params={"fieldManager": "a"})
    resp = c.patch(f"{c.widgets}/w", _applied("w", color="red"), APPLY, params={"fieldManager": "b"})
    return c.rec(resp, managed=True, pick=lambda b: {"spec": b["spec"], "mf": b["metadata"]["managedFields"]})


@scenario("applying again without a field removes it when no one else owns it (a default comes back)")
def _(c: Side) -> Any:
    c.patch(f"{c.widgets}/w", _applied("w", size=1, shape="square", tags=["x"]), APPLY, params={"fieldManager": "a"})
    resp = c.patch(f"{c.widgets}/w", _applied("w", size=1), APPLY, params={"fieldManager": "a"})
    return c.rec(resp, managed=True, pick=lambda b: {"spec": b["spec"], "mf": b["metadata"]["managedFields"]})


@scenario("applying a value another manager owns is 409 with one FieldManagerConflict cause per field")
def _(c: Side) -> Any:
    c.patch(f"{c.widgets}/w", _applied("w", size=1, color="red"), APPLY, params={"fieldManager": "a"})
    resp = c.patch(f"{c.widgets}/w", _applied("w", size=2, color="blue"), APPLY, params={"fieldManager": "b"})
    return c.rec(resp)


@scenario("applying the same value another manager owns shares the field without conflict")
def _(c: Side) -> Any:
    c.patch(f"{c.widgets}/w", _applied("w", size=1, color="red"), APPLY, params={"fieldManager": "a"})
    resp = c.patch(f"{c.widgets}/w", _applied("w", size=1), APPLY, params={"fieldManager": "b"})
    return c.rec(resp, managed=True, pick=lambda b: b["metadata"]["managedFields"])


@scenario("a forced apply takes the conflicting fields over from the other manager")
def _(c: Side) -> Any:
    c.patch(f"{c.widgets}/w", _applied("w", size=1, color="red"), APPLY, params={"fieldManager": "a"})
    resp = c.patch(f"{c.widgets}/w", _applied("w", size=2), APPLY, params={"fieldManager": "b", "force": "true"})
    return c.rec(resp, managed=True, pick=lambda b: {"spec": b["spec"], "mf": b["metadata"]["managedFields"]})


@scenario("apply on an object created by POST keeps the creator's Update entry", differs={"$.body": [
    [{"apiVersion": "example.com/v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:color": {}}}, "manager": "a",
      "operation": "Apply", "time": "<time>"},
     {"apiVersion": "example.com/v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {".": {}, "f:shape": {},
                                                                                       "f:size": {}}},
      "manager": "creator", "operation": "Update", "time": "<time>"}],
    [{"apiVersion": "example.com/v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:color": {}}}, "manager": "a",
      "operation": "Apply", "time": "<time>"}]]},
    why="the emulator records managedFields for server-side apply only: no Update entries for create, update "
        "and the other patches (so no conflict with what they wrote either)")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("w"), params={"fieldManager": "creator"})
    resp = c.patch(f"{c.widgets}/w", _applied("w", color="red"), APPLY, params={"fieldManager": "a"})
    return c.rec(resp, managed=True, pick=lambda b: b["metadata"]["managedFields"])


@scenario("apply to the status subresource records the subresource in managedFields")
def _(c: Side) -> Any:
    c.patch(f"{c.widgets}/w", _applied("w", size=1), APPLY, params={"fieldManager": "a"})
    resp = c.patch(f"{c.widgets}/w/status", {"apiVersion": "example.com/v1", "kind": "Widget",
                                             "metadata": {"name": "w"}, "status": {"phase": "Ready"}},
                   APPLY, params={"fieldManager": "s"})
    return c.rec(resp, managed=True, pick=lambda b: {"status": b.get("status"), "mf": b["metadata"]["managedFields"]})


@scenario("an apply conflict on a label names the label's path")
def _(c: Side) -> Any:
    body = _applied("w", size=1)
    body["metadata"]["labels"] = {"app.kubernetes.io/name": "x"}
    c.patch(f"{c.widgets}/w", body, APPLY, params={"fieldManager": "a"})
    body["metadata"]["labels"] = {"app.kubernetes.io/name": "y"}
    return c.rec(c.patch(f"{c.widgets}/w", body, APPLY, params={"fieldManager": "b"}))


@scenario("apply of a Secret with labels and stringData-free data tracks metadata and data keys")
def _(c: Side) -> Any:
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "labels": {"a": "b"}},
            "data": {"k": base64.b64encode(b"v").decode()}, "type": "Opaque"}
    resp = c.patch(f"{c.secrets}/s", body, APPLY, params={"fieldManager": "me"})
    return c.rec(resp, managed=True, pick=lambda b: {"mf": b["metadata"]["managedFields"], "data": b["data"]})


# -- server-owned metadata, PUT and status (test_discovery_and_metadata.py) -------------------------------

@scenario("create ignores client-sent uid, timestamps and generation")
def _(c: Side) -> Any:
    body = widget("w1")
    body["metadata"].update({"uid": "client-uid", "creationTimestamp": "2001-01-01T00:00:00Z", "generation": 7,
                             "deletionTimestamp": "2001-01-01T00:00:00Z"})
    resp = c.post(c.widgets, body)
    md = resp.body["metadata"]
    return [resp.status, md["uid"] != "client-uid", md["creationTimestamp"] != "2001-01-01T00:00:00Z",
            md.get("generation"), "deletionTimestamp" in md]


@scenario("a resourceVersion on create is 500 (kube's own answer)")
def _(c: Side) -> Any:
    body = widget("w2")
    body["metadata"]["resourceVersion"] = "5"
    return c.rec(c.post(c.widgets, body))


@scenario("a core Event posted without apiVersion and kind (as kopf does) gets both")
def _(c: Side) -> Any:
    event = {"metadata": {"generateName": "kopf-event-"}, "type": "Normal", "reason": "Logging", "message": "m",
             "involvedObject": {"kind": "Widget", "name": "w1", "namespace": c.ns}}
    resp = c.post(c.events, event)
    c.generated(resp.body["metadata"]["name"], "kopf-event-")
    return c.rec(resp)


@scenario("a no-op patch keeps the resourceVersion and sends no watch event")
def _(c: Side) -> Any:
    rv0 = c.post(c.widgets, widget("w1")).rv
    status = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    first = c.patch(f"{c.widgets}/w1/status", status)
    second = c.patch(f"{c.widgets}/w1/status", status)
    third = c.patch(f"{c.widgets}/w1", {"metadata": {"labels": None}})
    events = c.watch(c.widgets, {"resourceVersion": rv0, "timeoutSeconds": "1"})
    return [first.rv != rv0, second.rv == first.rv == third.rv, c.events_of(events)]


@scenario("generation moves on spec changes, not on metadata or status")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("w1"))

    def gen(r: Resp) -> Any:
        return r.body["metadata"]["generation"]

    out = [gen(c.patch(f"{c.widgets}/w1", {"metadata": {"labels": {"a": "b"}}})),
           gen(c.patch(f"{c.widgets}/w1/status", {"status": {"phase": "x"}})),
           gen(c.patch(f"{c.widgets}/w1", {"spec": {"size": 2}}))]
    c.patch(f"{c.widgets}/w1", {"metadata": {"finalizers": ["example.com/keep"]}})
    deleting = c.delete(f"{c.widgets}/w1")
    md = deleting.body["metadata"]
    out += [md["generation"], md.get("deletionGracePeriodSeconds"), "generation" in c.post(
        c.secrets, {"metadata": {"name": "s"}}).body["metadata"]]
    c.patch(f"{c.widgets}/w1", {"metadata": {"finalizers": None}})
    return out


@scenario("the status subresource splits spec and status on PUT and PATCH")
def _(c: Side) -> Any:
    body = widget("w1")
    body["status"] = {"phase": "client-sent"}
    created = c.post(c.widgets, body)
    c.patch(f"{c.widgets}/w1/status", {"status": {"phase": "Ready"}})
    current = c.get(f"{c.widgets}/w1").body
    current["spec"]["size"] = 5
    current["status"] = {"phase": "ignored"}
    put = c.put(f"{c.widgets}/w1", current)
    via_status = c.patch(f"{c.widgets}/w1/status", {
        "metadata": {"labels": {"x": "y"}}, "spec": {"size": 99}, "status": {"phase": "Done"}})
    stale = dict(via_status.body, metadata=dict(via_status.body["metadata"], resourceVersion=created.rv))
    status_get = c.get(f"{c.widgets}/w1/status")

    def pick(b: Any) -> Any:
        return {"spec": b.get("spec"), "status": b.get("status"), "labels": b["metadata"].get("labels")}

    return ["status" in created.body, c.rec(put, pick=pick), c.rec(via_status, pick=pick),
            c.put(f"{c.widgets}/w1/status", stale).status, c.rec(status_get, pick=pick)]


@scenario("a PUT with a stale resourceVersion is 409 Conflict with kube's message")
def _(c: Side) -> Any:
    created = c.post(c.widgets, widget("x")).body
    c.patch(f"{c.widgets}/x", {"spec": {"size": 2}})
    created["spec"]["size"] = 3
    secret = c.post(c.secrets, {"metadata": {"name": "s"}}).body
    c.patch(f"{c.secrets}/s", {"metadata": {"labels": {"a": "b"}}})
    return [c.rec(c.put(f"{c.widgets}/x", created)), c.rec(c.put(f"{c.secrets}/s", secret))]


@scenario("a PUT of a custom resource without resourceVersion is 422, of a Secret it is unconditional")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("x"))
    cr = c.put(f"{c.widgets}/x", widget("x", 4))
    c.post(c.secrets, {"metadata": {"name": "s"}})
    secret = c.put(f"{c.secrets}/s", {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
    return [c.rec(cr), c.rec(secret, pick=lambda b: b["data"])]


@scenario("a PUT whose name or namespace differs from the URL is 400")
def _(c: Side) -> Any:
    c.post(c.secrets, {"metadata": {"name": "s"}})
    return [c.rec(c.put(f"{c.secrets}/s", {"metadata": {"name": "other"}})),
            c.rec(c.put(f"{c.secrets}/s", {"metadata": {"name": "s", "namespace": "kube-system"}}))]


@scenario("a custom resource without a status subresource: /status is NotFound, status changes bump generation")
def _(c: Side) -> Any:
    path = f"/apis/example.com/v1/namespaces/{c.ns}/gadgets"
    g = c.post(path, {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"},
                      "spec": {"size": 1}, "status": {"phase": "kept"}})
    bumped = c.patch(f"{path}/g", {"status": {"phase": "new"}})
    return [c.rec(g, pick=lambda b: [b.get("status"), b["metadata"]["generation"]]),
            bumped.body["metadata"]["generation"], c.rec(c.get(f"{path}/g/status"))]


# -- CRDs ----------------------------------------------------------------------------------------------

@scenario("a CRD whose name is not plural.group is 422")
def _(c: Side) -> Any:
    return c.rec(c.post(CRDS, widget_crd(name="things.example.com")))


@scenario("a CRD with an unknown scope and no storage version is 422 with both causes", differs={
    "$.body[1]": [[["spec.scope", "FieldValueNotSupported"], ["spec.versions", "FieldValueInvalid"],
                   ["status.storedVersions", "FieldValueInvalid"]],
                  [["spec.scope", "FieldValueNotSupported"], ["spec.versions", "FieldValueInvalid"]]]},
    why="kube validates the internal CRD (its Go value dumps in the messages, a status.storedVersions cause "
        "that follows from the spec); the emulator reports the spec's problems")
def _(c: Side) -> Any:
    bad = widget_crd(name="bads.example.com", plural="bads", kind="Bad")
    bad["spec"]["scope"] = "Galaxy"
    bad["spec"]["versions"][0]["storage"] = False
    return c.rec(c.post(CRDS, bad), pick=lambda b: [b["reason"], [[x["field"], x["reason"]]
                                                                   for x in b["details"]["causes"]]])


@scenario("a CRD with an unknown type and an uncompilable CEL rule is 422 with field paths", differs={
    "$.body[1]": [["spec.validation.openAPIV3Schema.properties[spec].properties[size].type"],
                  ["spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[size].type",
                   "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[3].rule"]]},
    why="kube validates the internal CRD, where a schema all versions share lives at spec.validation, and "
        "compiles no rule of an invalid schema; the emulator reports per version and compiles the rules too")
def _(c: Side) -> Any:
    crd = widget_crd(name="brokens.example.com", plural="brokens", kind="Broken")
    props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    props["spec"]["properties"]["size"]["type"] = "strin"
    props["spec"]["x-kubernetes-validations"].append({"rule": "self.size ===", "message": "broken"})
    resp = c.post(CRDS, crd)
    return c.rec(resp, pick=lambda b: [b["reason"], sorted(x["field"] for x in b["details"]["causes"])])


@scenario("an installed CRD has NamesAccepted and Established conditions and storedVersions")
def _(c: Side) -> Any:
    crd = c.get(f"{CRDS}/widgets.example.com").body
    return c.norm({"conditions": sorted(crd["status"]["conditions"], key=lambda x: x["type"]),
                   "acceptedNames": crd["status"]["acceptedNames"], "storedVersions": crd["status"]["storedVersions"]})


# -- discovery -----------------------------------------------------------------------------------------

OUR_GROUPS = ("apiextensions.k8s.io", "coordination.k8s.io", "events.k8s.io", "example.com", "networking.k8s.io",
              "rbac.authorization.k8s.io", "apps")


@scenario("/version has kube's fields", differs={
    "$.gitVersion": ["v1.37", "v1.32"], "$.minor": ["37", "32"],
    "$.keys": [["buildDate", "compiler", "emulationMajor", "emulationMinor", "gitCommit", "gitTreeState", "gitVersion",
                "goVersion", "major", "minCompatibilityMajor", "minCompatibilityMinor", "minor", "platform"],
               ["buildDate", "compiler", "gitCommit", "gitTreeState", "gitVersion", "goVersion", "major", "minor",
                "platform"]]},
    why="the embedded server claims v1.32 (the version of the machine's kubectl), without the compatibility "
        "version fields of later releases, on purpose")
def _(c: Side) -> Any:
    body = c.get("/version").body
    return {"keys": sorted(body), "major": body["major"], "minor": body["minor"],
            "gitVersion": body["gitVersion"].rsplit(".", 1)[0]}


@scenario("/api lists v1")
def _(c: Side) -> Any:
    r = c.get("/api")
    return c.rec(r, pick=lambda b: {"kind": b["kind"], "versions": b["versions"],
                                    "cidrs": [x["clientCIDR"] for x in b["serverAddressByClientCIDRs"]]})


@scenario("/apis lists our groups with their preferred versions")
def _(c: Side) -> Any:
    body = c.get("/apis").body
    groups = {g["name"]: g for g in body["groups"] if g["name"] in OUR_GROUPS}
    return {"kind": body["kind"], "apiVersion": body.get("apiVersion"), "groups": {
        name: g["preferredVersion"] for name, g in sorted(groups.items())}}


@scenario("/apis/example.com is an APIGroup")
def _(c: Side) -> Any:
    return c.rec(c.get("/apis/example.com"))


@scenario("/api/v1 lists secrets, events, configmaps and namespaces with verbs and shortNames", differs={
    "$.resources.namespaces/finalize": [{"kind": "Namespace", "name": "namespaces/finalize", "namespaced": False,
                                         "singularName": "", "verbs": ["update"]}, "<absent>"]},
    why="the emulator serves no namespaces/finalize subresource: its namespace cleanup finalizes internally")
def _(c: Side) -> Any:
    body = c.get("/api/v1").body
    wanted = ("secrets", "events", "configmaps", "namespaces", "namespaces/status", "namespaces/finalize")
    entries = {r["name"]: dict(r, verbs=sorted(r["verbs"])) for r in body["resources"] if r["name"] in wanted}
    for entry in entries.values():
        entry.pop("storageVersionHash", None)
    return {"kind": body["kind"], "groupVersion": body["groupVersion"], "resources": entries}


@scenario("/apis/example.com/v1 lists widgets with verbs, shortNames, categories and the status subresource")
def _(c: Side) -> Any:
    body = c.get("/apis/example.com/v1").body
    entries = {r["name"]: dict(r, verbs=sorted(r["verbs"])) for r in body["resources"]
               if r["name"].startswith("widgets")}
    for entry in entries.values():
        entry.pop("storageVersionHash", None)
    return {"kind": body["kind"], "groupVersion": body["groupVersion"], "resources": entries}


@scenario("aggregated discovery v2 describes the example.com group")
def _(c: Side) -> Any:
    r = c.get("/apis", headers={"Accept": AGGREGATED}, accept=AGGREGATED)
    group = next(g for g in r.body["items"] if g["metadata"]["name"] == "example.com")
    for version in group["versions"]:
        version["resources"] = [dict(x, verbs=sorted(x["verbs"])) for x in version["resources"]
                                if x["resource"] == "widgets"]
    return c.rec(r, pick=lambda b: {"kind": b["kind"], "apiVersion": b["apiVersion"], "group": group})


@scenario("aggregated discovery v2 of /api describes secrets")
def _(c: Side) -> Any:
    r = c.get("/api", accept=AGGREGATED)
    secrets = next(x for x in r.body["items"][0]["versions"][0]["resources"] if x["resource"] == "secrets")
    secrets["verbs"] = sorted(secrets["verbs"])
    return c.rec(r, pick=lambda b: {"kind": b["kind"], "versions": [v["version"] for v in b["items"][0]["versions"]],
                                    "secrets": secrets})


# -- lists, selectors, pagination (test_lists_and_watch.py) -------------------------------------------------

def _secrets(c: Side, n: int, **labels: str) -> None:
    for i in range(n):
        body: dict[str, Any] = {"metadata": {"name": f"s{i:02d}", "labels": {"i": str(i % 3), **labels}}}
        if i % 2:
            body["type"] = "example.com/odd"
        assert c.post(c.secrets, body).status == 201


def _names(r: Resp) -> Any:
    return [i["metadata"]["name"] for i in r.body["items"]] if r.status == 200 else r.body


@scenario("label selectors: equality, inequality, set-based and existence")
def _(c: Side) -> Any:
    _secrets(c, 6, app="x")
    out = {}
    for sel in ("i=1", "i==1,app=x", "i!=1", "i in (0, 2)", "i notin (0,2)", "app", "!app", "i>0"):
        out[sel] = c.rec(c.get(c.secrets, params={"labelSelector": sel}),
                         pick=lambda b: [i["metadata"]["name"] for i in b["items"]] if "items" in b else b)
    return out


@scenario("malformed label selectors are 400 with kube's parser messages")
def _(c: Side) -> Any:
    out = {}
    for sel in ("i in (0", "app in web", "app web", "=web", "app=web tier", "app=web,", "!", "app=-bad-", "a/b/c",
                "x" * 64, "a/", "a=" + "y" * 64, "replicas>two", "app in (a b)", "app=(", "!app=b", "a,,b"):
        out[sel] = c.rec(c.get(c.secrets, params={"labelSelector": sel}))
    return out


@scenario("label selector sets may hold the empty value")
def _(c: Side) -> Any:
    c.post(c.secrets, {"metadata": {"name": "e", "labels": {"app": ""}}})
    c.post(c.secrets, {"metadata": {"name": "a", "labels": {"app": "a"}}})
    return {sel: _names(c.get(c.secrets, params={"labelSelector": sel}))
            for sel in ("app in ()", "app in (,a)", "app in (a,)", "app notin (a,,b)", "app<1", "in")}


@scenario("field selectors on metadata.name and Secret type")
def _(c: Side) -> Any:
    _secrets(c, 6)
    return [_names(c.get(c.secrets, params={"fieldSelector": "metadata.name=s03"})),
            _names(c.get(c.secrets, params={"fieldSelector": "type=example.com/odd,metadata.name!=s01"})),
            _names(c.get("/api/v1/secrets", params={"fieldSelector": f"metadata.namespace=={c.ns}",
                                                    "labelSelector": "i=0"}))]


@scenario("an unsupported field selector is 400")
def _(c: Side) -> Any:
    return c.rec(c.get(c.secrets, params={"fieldSelector": "spec.x=1"}))


@scenario("a field selector on a custom resource supports only metadata fields")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("a"))
    return [_names(c.get(c.widgets, params={"fieldSelector": "metadata.name=a"})),
            c.rec(c.get(c.widgets, params={"fieldSelector": "spec.size=1"}))]


@scenario("namespaces select on status.phase")
def _(c: Side) -> Any:
    return _names(c.get("/api/v1/namespaces", params={"fieldSelector": f"status.phase=Active,metadata.name={c.ns}"}))


@scenario("Events select on involvedObject fields, source and reason")
def _(c: Side) -> Any:
    c.post(c.events, {"metadata": {"name": "e1"}, "reason": "Issued", "type": "Normal", "message": "m",
                      "involvedObject": {"kind": "Widget", "name": "w", "namespace": c.ns, "uid": "u"},
                      "source": {"component": "issuer"}})
    return _names(c.get(c.events, params={"fieldSelector": "involvedObject.name=w,involvedObject.kind=Widget,"
                                                           "involvedObject.uid=u,source=issuer,reason=Issued"}))


@scenario("limit and continue page a list at one resourceVersion with remainingItemCount")
def _(c: Side) -> Any:
    _secrets(c, 7)
    first = c.get(c.secrets, params={"limit": "3"})
    c.post(c.secrets, {"metadata": {"name": "s99"}})
    second = c.get(c.secrets, params={"limit": "3", "continue": first.body["metadata"]["continue"]})
    third = c.get(c.secrets, params={"limit": "3", "continue": second.body["metadata"]["continue"]})
    selected = c.get(c.secrets, params={"limit": "1", "labelSelector": "i=1"})

    def page(b: Any) -> Any:
        return {"kind": b["kind"], "apiVersion": b["apiVersion"], "metadata": b["metadata"],
                "names": [i["metadata"]["name"] for i in b["items"]], "itemKeys": sorted(b["items"][0])}

    return [c.rec(first, pick=page), c.rec(second, pick=page), c.rec(third, pick=page),
            second.rv == first.rv, c.rec(selected, pick=page)]


@scenario("a garbage continue token is 400")
def _(c: Side) -> Any:
    return c.rec(c.get(c.secrets, params={"limit": "1", "continue": "!!!"}))


@scenario("custom resource lists keep apiVersion and kind on their items")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("a"))
    return c.rec(c.get(c.widgets), pick=lambda b: {"kind": b["kind"], "apiVersion": b["apiVersion"],
                                                   "items": [[i.get("apiVersion"), i.get("kind")] for i in b["items"]]})


@scenario("resourceVersion=0 with resourceVersionMatch=NotOlderThan lists everything")
def _(c: Side) -> Any:
    _secrets(c, 2)
    return _names(c.get(c.secrets, params={"resourceVersion": "0", "resourceVersionMatch": "NotOlderThan"}))


@scenario("resourceVersionMatch without a resourceVersion is 422")
def _(c: Side) -> Any:
    return c.rec(c.get(c.secrets, params={"resourceVersionMatch": "NotOlderThan"}))


@scenario("deletecollection with a label selector deletes the matching objects")
def _(c: Side) -> Any:
    _secrets(c, 4)
    resp = c.delete(c.secrets, params={"labelSelector": "i=1"})
    return [c.rec(resp, pick=lambda b: [b["kind"], [i["metadata"]["name"] for i in b.get("items", [])]]),
            _names(c.get(c.secrets))]


# -- watches ---------------------------------------------------------------------------------------------

@scenario("a watch without resourceVersion sends synthetic ADDED events, then live ones")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("a"))
    c.post(c.widgets, widget("b"))
    stream = c.open_watch(c.widgets)
    try:
        first = stream.take(2)
        c.post(c.widgets, widget("c"))
        c.patch(f"{c.widgets}/a", {"spec": {"size": 2}})
        c.delete(f"{c.widgets}/b")
        later = stream.take(3)
    finally:
        stream.close()
    return [sorted(c.events_of(first)), c.events_of(later, lambda o: [o["kind"], o["metadata"]["name"],
                                                                      o["spec"]["size"]])]


@scenario("a watch from resourceVersion=0 starts with the current objects")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("a"))
    c.post(c.widgets, widget("c"))
    return sorted(c.events_of(c.watch(c.widgets, {"resourceVersion": "0"}, count=2)))


@scenario("a watch from a resourceVersion replays only newer events of its kind and namespace")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("a"))
    mark = c.post(c.widgets, widget("b")).rv
    c.post(c.secrets, {"metadata": {"name": "unrelated"}})
    c.patch(f"{c.widgets}/a", {"spec": {"size": 3}})
    c.post(c.widgets, widget("c", color="red"))
    c.delete(f"{c.widgets}/b")
    return c.events_of(c.watch(c.widgets, {"resourceVersion": mark}, count=3))


@scenario("a label-selected watch turns selector transitions into ADDED and DELETED")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("a"))
    mark = c.get(c.widgets).rv
    c.patch(f"{c.widgets}/a", {"metadata": {"labels": {"team": "x"}}})
    c.patch(f"{c.widgets}/a", {"metadata": {"labels": {"team": "y"}}})
    return c.events_of(c.watch(c.widgets, {"resourceVersion": mark, "labelSelector": "team=x"}, count=2),
                       lambda o: o["metadata"].get("labels"))


@scenario("a watch of one object by field selector sees only that object")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("a"))
    c.post(c.widgets, widget("c"))
    return c.events_of(c.watch(c.widgets, {"fieldSelector": "metadata.name=c", "timeoutSeconds": "1"}))


@scenario("a watch from a resourceVersion older than the emulator's history window is 410 Expired there",
          embedded="small-window", differs={
              "$[0][0]": ["ADDED", "ERROR"],
              "$[0][1]": [None, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                 "message": "too old resource version: N (N)", "reason": "Expired", "code": 410}]},
          why="kube's watch cache still replays from there (it evicts nothing younger than 75 s, so a test never "
              "sees kube's 410, whose shape this row pins on the emulator's side); the emulator here keeps a "
              "30-event window")
def _(c: Side) -> Any:
    c.post(c.secrets, {"metadata": {"name": "s"}})
    for i in range(40):
        c.patch(f"{c.secrets}/s", {"metadata": {"labels": {"i": str(i)}}})
    events = c.watch(c.secrets, {"resourceVersion": "1"}, count=1)
    out = []
    for e in events:
        obj = e["object"]
        if e["type"] == "ERROR":
            out.append([e["type"], dict(obj, message=re.sub(r"\d+", "N", obj["message"]))])
        else:
            out.append([e["type"], obj["metadata"].get("labels")])
    return out


@scenario("a watch from resourceVersion 1 (before the server's start) replays the history")
def _(c: Side) -> Any:
    c.post(c.secrets, {"metadata": {"name": "s"}})
    for i in range(3):
        c.patch(f"{c.secrets}/s", {"metadata": {"labels": {"i": str(i)}}})
    return c.events_of(c.watch(c.secrets, {"resourceVersion": "1", "timeoutSeconds": "1"}),
                       lambda o: o["metadata"].get("labels"))


@scenario("a list at a resourceVersion newer than the server is 504 with Retry-After")
def _(c: Side) -> Any:
    resp = c.get(c.secrets, params={"resourceVersion": "99999999"})
    body = dict(resp.body, message=re.sub(r"current: \d+", "current: N", resp.body.get("message", "")))
    return [c.rec(Resp(resp.status, body, resp.headers), headers=("Retry-After",))]


@scenario("the DELETED event of a deletion carries the object's last state")
def _(c: Side) -> Any:
    mark = c.post(c.widgets, widget("a", color="red")).rv
    c.delete(f"{c.widgets}/a")
    return c.events_of(c.watch(c.widgets, {"resourceVersion": mark}, count=1),
                       lambda o: [o["spec"], bool(o["metadata"].get("resourceVersion"))])


@scenario("sendInitialEvents sends the objects, then a BOOKMARK marking the end of initial events")
def _(c: Side) -> Any:
    c.post(c.secrets, {"metadata": {"name": "s1"}})
    events = c.watch(c.secrets, {"sendInitialEvents": "true", "allowWatchBookmarks": "true",
                                 "resourceVersionMatch": "NotOlderThan"}, count=2)
    return c.events_of(events, lambda o: [o.get("kind"), o.get("apiVersion"), o["metadata"].get("name"),
                                          o["metadata"].get("annotations")])


@scenario("sendInitialEvents needs resourceVersionMatch=NotOlderThan, no longer allowWatchBookmarks")
def _(c: Side) -> Any:
    c.post(c.secrets, {"metadata": {"name": "s1"}})
    plain = c.watch(c.secrets, {"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
                                "timeoutSeconds": "1"})
    return [c.events_of(plain), c.rec(c.get(c.secrets, params={"watch": "true", "sendInitialEvents": "true"})),
            c.rec(c.get(c.secrets, params={"sendInitialEvents": "true"}))]


@scenario("timeoutSeconds ends a quiet watch with no events")
def _(c: Side) -> Any:
    started = time.monotonic()
    events = c.watch(c.secrets, {"timeoutSeconds": "1"}, read_timeout=5)
    return [events, 0.8 <= time.monotonic() - started < 3]


@scenario("a watch answers Content-Type application/json and streams one event per line")
def _(c: Side) -> Any:
    c.post(c.secrets, {"metadata": {"name": "s1"}})
    stream = c.open_watch(c.secrets, {"resourceVersion": "0"})
    try:
        ctype = stream.resp.headers.get("Content-Type")
        events = stream.take(1)
    finally:
        stream.close()
    return [ctype, c.events_of(events)]


# -- Secrets and Events ------------------------------------------------------------------------------------

@scenario("stringData is merged into data as base64 and the default type is Opaque")
def _(c: Side) -> Any:
    return c.rec(c.post(c.secrets, {"metadata": {"name": "s"}, "data": {"a": "YQ=="},
                                    "stringData": {"a": "b", "c": "d"}}))


@scenario("illegal base64 in Secret data is 400")
def _(c: Side) -> Any:
    return c.rec(c.post(c.secrets, {"metadata": {"name": "b"}, "data": {"a": "not*base64"}}))


@scenario("a Secret's type is immutable")
def _(c: Side) -> Any:
    c.post(c.secrets, {"metadata": {"name": "s"}})
    return c.rec(c.patch(f"{c.secrets}/s", {"type": "kubernetes.io/tls"}))


@scenario("a kubernetes.io/tls Secret needs tls.key")
def _(c: Side) -> Any:
    return c.rec(c.post(c.secrets, {"metadata": {"name": "t"}, "type": "kubernetes.io/tls",
                                    "data": {"tls.crt": ""}}))


@scenario("a Secret key with a space is 422")
def _(c: Side) -> Any:
    return c.rec(c.post(c.secrets, {"metadata": {"name": "k"}, "stringData": {"bad key": "x"}}))


@scenario("an immutable Secret refuses data changes but takes label changes")
def _(c: Side) -> Any:
    c.post(c.secrets, {"metadata": {"name": "f"}, "immutable": True, "stringData": {"a": "b"}})
    thaw = c.patch(f"{c.secrets}/f", {"stringData": {"a": "c"}}, SMP)
    labels = c.patch(f"{c.secrets}/f", {"metadata": {"labels": {"ok": "yes"}}})
    return [c.rec(thaw), labels.status]


@scenario("a Secret over 1 MiB is 422")
def _(c: Side) -> Any:
    return c.rec(c.post(c.secrets, {"metadata": {"name": "h"}, "stringData": {"a": "x" * (1024 * 1024 + 1)}}))


@scenario("a Secret body that is a JSON array is 400")
def _(c: Side) -> Any:
    return c.rec(c.post(c.secrets, [1, 2]))


KOPF_EVENT = {
    "metadata": {"name": "kopf"}, "type": "Normal", "reason": "Logging", "message": "hello",
    "action": "Action?", "reportingComponent": "kopf", "reportingInstance": "dev",
    "source": {"component": "kopf"},
    "firstTimestamp": "2026-01-02T09:16:20.820596+00:00", "lastTimestamp": "2026-01-02T09:16:20.820596+00:00",
    "eventTime": "2026-01-02T09:16:20.820596+00:00",
}


@scenario("a core Event as kopf posts it is stored with kube's timestamp precision")
def _(c: Side) -> Any:
    event = dict(KOPF_EVENT, involvedObject={"apiVersion": "example.com/v1", "kind": "Widget", "name": "w",
                                             "uid": "u1", "namespace": c.ns})
    return c.rec(c.post(c.events, event))


@scenario("a core Event reads back through events.k8s.io/v1")
def _(c: Side) -> Any:
    event = dict(KOPF_EVENT, involvedObject={"apiVersion": "example.com/v1", "kind": "Widget", "name": "w",
                                             "uid": "u1", "namespace": c.ns})
    c.post(c.events, event)
    return c.rec(c.get(f"{c.events_v1}/kopf"))


@scenario("an events.k8s.io/v1 Event reads back as a core Event")
def _(c: Side) -> Any:
    c.post(c.events_v1, {
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "n1"},
        "eventTime": "2026-01-02T09:16:20.000001Z", "type": "Warning", "reason": "Failed", "note": "boom",
        "action": "Issue", "reportingController": "example.com/issuer", "reportingInstance": "i-1",
        "regarding": {"kind": "Widget", "name": "w", "namespace": c.ns, "uid": "u1"}})
    return c.rec(c.get(f"{c.events}/n1"))


@scenario("an events.k8s.io/v1 Event without eventTime and with an odd type is 422")
def _(c: Side) -> Any:
    resp = c.post(c.events_v1, {"metadata": {"name": "n2"}, "type": "Odd", "reason": "r",
                                "regarding": {"kind": "Widget"}})
    return c.rec(resp)


@scenario("a core Event whose involvedObject namespace differs is 422")
def _(c: Side) -> Any:
    return c.rec(c.post(c.events, {"metadata": {"name": "m"}, "reason": "r",
                                   "involvedObject": {"kind": "Widget", "name": "w", "namespace": "other"}}))


@scenario("a core Event with eventTime needs the reporting fields, action and a short message")
def _(c: Side) -> Any:
    return c.rec(c.post(c.events, {"metadata": {"name": "i"}, "eventTime": "2026-01-02T09:16:20.000000Z",
                                   "message": "x" * 2000, "involvedObject": {"kind": "Widget"}}))


@scenario("an eventTime without six fractional digits is 400 (a MicroTime)")
def _(c: Side) -> Any:
    out = []
    for stamp in ("2026-01-02T09:16:20Z", "2026-01-02T09:16:20.5Z", "2026-01-02T09:16:20.123456+02:00"):
        resp = c.post(c.events, {"metadata": {"generateName": "t-"}, "eventTime": stamp, "reason": "r",
                                 "action": "a", "reportingComponent": "c", "reportingInstance": "i",
                                 "involvedObject": {"kind": "Widget", "name": "w", "namespace": c.ns}})
        out.append(c.rec(resp, pick=lambda b: b.get("eventTime") if b.get("kind") == "Event" else b))
    return out


# -- Tables ------------------------------------------------------------------------------------------------

AGE_CELL = re.compile(r"(\d+[smhdy])+|<unknown>|<invalid>")
TIMESTAMP_CELL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _table(c: Side, r: Resp) -> dict[str, Any]:
    """A Table answer with its ticking cells normalized: a rendered age becomes <age>, a timestamp
    <timestamp> (kube sends the one or the other depending on the column)."""
    def cell(value: Any) -> Any:
        if isinstance(value, str) and AGE_CELL.fullmatch(value):
            return "<age>"
        if isinstance(value, str) and TIMESTAMP_CELL.fullmatch(value):
            return "<timestamp>"
        return value

    def body(b: Any) -> Any:
        if not isinstance(b, dict) or b.get("kind") != "Table":
            return b
        return dict(b, rows=[dict(row, cells=[cell(v) for v in row["cells"]]) for row in b.get("rows") or []])

    return c.rec(r, pick=body)


@scenario("as=Table for widgets has Name plus the CRD's printer columns, priority and object metadata")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("w1", color="red"))
    c.patch(f"{c.widgets}/w1/status", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    c.post(c.widgets, widget("w2", 3))
    return _table(c, c.get(c.widgets, accept=TABLE))


@scenario("as=Table with includeObject=Object embeds the whole objects")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("w1", color="red"))
    r = c.get(c.widgets, accept=TABLE, params={"includeObject": "Object"})
    return c.rec(r, pick=lambda b: [row["object"] for row in b["rows"]])


@scenario("as=Table for one widget has one row")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("w2", 3))
    return _table(c, c.get(f"{c.widgets}/w2", accept=TABLE))


@scenario("as=Table for Secrets has Name, Type, Data and Age")
def _(c: Side) -> Any:
    c.post(c.secrets, {"metadata": {"name": "s"}, "stringData": {"a": "b"}})
    return _table(c, c.get(c.secrets, accept=TABLE))


@scenario("as=Table for Events has kube's ten columns, five of priority 1")
def _(c: Side) -> Any:
    c.post(c.events, {"metadata": {"name": "e1"}, "reason": "Issued", "type": "Normal", "message": "done",
                      "involvedObject": {"kind": "Widget", "name": "w", "namespace": c.ns},
                      "source": {"component": "issuer"}, "count": 2,
                      "firstTimestamp": "2026-01-02T09:16:20Z", "lastTimestamp": "2026-01-02T09:16:20Z"})
    return _table(c, c.get(c.events, accept=TABLE))


@scenario("as=Table for Leases has Name, Holder and Age")
def _(c: Side) -> Any:
    c.post(f"/apis/coordination.k8s.io/v1/namespaces/{c.ns}/leases",
           {"metadata": {"name": "l"}, "spec": {"holderIdentity": "me"}})
    return _table(c, c.get(f"/apis/coordination.k8s.io/v1/namespaces/{c.ns}/leases", accept=TABLE))


@scenario("as=Table for Namespaces and CustomResourceDefinitions")
def _(c: Side) -> Any:
    ns = c.get("/api/v1/namespaces", accept=TABLE, params={"fieldSelector": f"metadata.name={c.ns}"})
    crds = c.get(CRDS, accept=TABLE, params={"fieldSelector": "metadata.name=widgets.example.com"})
    return [_table(c, ns), _table(c, crds)]


@scenario("a watch asking for as=Table sends column definitions with the first event only")
def _(c: Side) -> Any:
    c.post(c.widgets, widget("a", color="red"))
    stream = c.open_watch(c.widgets, {"resourceVersion": "0"}, accept=TABLE)
    try:
        first = stream.take(1)
        c.post(c.widgets, widget("b"))
        second = stream.take(1)
    finally:
        stream.close()
    return [[e["type"], e["object"]["kind"], "columnDefinitions" in e["object"] and
             bool(e["object"]["columnDefinitions"]), e["object"]["rows"][0]["cells"][:3]] for e in first + second]


# ======================================================================================================
# fixtures and the test
# ======================================================================================================

def _install_crds(target: Target) -> None:
    gadget = widget_crd(name="gadgets.example.com", plural="gadgets", kind="Gadget", status=False)
    gadget["spec"]["names"]["shortNames"] = ["ga"]
    for crd in (widget_crd(), gadget):
        r = target.request("POST", CRDS, crd)
        assert r.status_code == 201, r.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = target.request("GET", "/apis/example.com/v1")
        names = {x["name"] for x in r.json().get("resources", [])} if r.status_code == 200 else set()
        if {"widgets", "gadgets"} <= names:
            probe = target.request("GET", "/apis/example.com/v1/widgets")
            if probe.status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"CRDs not served by {target.name}")


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # this machine sets REQUESTS_CA_BUNDLE
    return session


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    plane = ControlPlane(tmp_path_factory.mktemp("parity") / "plane")
    try:
        plane.start()
        session = _session()
        session.verify = str(plane.ca_file)
        pki = plane.folder / "pki"
        session.cert = (str(pki / "admin.crt"), str(pki / "admin.key"))
        target = Target("real", plane.url, session)
        _install_crds(target)
        yield target
        session.close()
    finally:
        plane.stop()


@pytest.fixture(scope="module")
def embedded_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Target]]:
    folder = tmp_path_factory.mktemp("parity-embedded")
    threads = {"default": ServerThread(port=0, kubeconfig=folder / "default.kubeconfig"),
               "small-window": ServerThread(port=0, kubeconfig=folder / "small.kubeconfig", history_window=30)}
    try:
        targets = {}
        for name, thread in threads.items():
            thread.start()
            targets[name] = Target(f"embedded-{name}", thread.url, _session())
            _install_crds(targets[name])
        yield targets
    finally:
        for thread in threads.values():
            thread.stop()


def _namespace(target: Target, name: str) -> None:
    r = target.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                     "metadata": {"name": name}})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_parity(row: Row, real: Target, embedded_servers: dict[str, Target]) -> None:
    ns = f"p{ROWS.index(row):03d}-{uuid.uuid4().hex[:4]}"
    sides = []
    for target in (real, embedded_servers[row.embedded]):
        _namespace(target, ns)
        side = Side(target, ns)
        side.mask(ns, "<ns>")
        sides.append(side)
    outcomes = [json.loads(json.dumps(row.run(side))) for side in sides]
    found = diff(*outcomes)
    if os.environ.get("PARITY_DUMP"):  # a file to append every row's transcripts to, for a person
        with open(os.environ["PARITY_DUMP"], "a") as f:
            f.write(json.dumps({"id": row.id, "found": found, "real": outcomes[0], "embedded": outcomes[1]}) + "\n")
    assert found == row.differs, (
        f"{row.id}: differences changed\nfound: {json.dumps(found, indent=1)}\n"
        f"expected ({row.why or 'none'}): {json.dumps(row.differs, indent=1)}\n"
        f"real: {json.dumps(outcomes[0])[:3000]}\nembedded: {json.dumps(outcomes[1])[:3000]}")


def test_table_has_breadth_and_sentence_ids() -> None:
    ids = [r.id for r in ROWS]
    assert len(ids) == len(set(ids)) and len(ids) >= 60
    assert all(not r.differs or r.why for r in ROWS)
