"""Bad input never crashes the embedded server: hypothesis throws arbitrary JSON at the engine's create,
update and patch paths (Secrets, Events, Namespaces, ConfigMaps, a CRD-backed kind) and every outcome
must be a stored object or a Status error with a 4xx code — never an unexpected exception or a 500
(except the one 500 kube itself answers: a resourceVersion on create)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from issuer.testing.engine import Engine
from issuer.testing.errors import APIError
from tests.apiserver.conftest import widget_crd

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=6),
                     st.sampled_from(["", "a", "YQ==", "not*b64", "2026-01-01T00:00:00Z", "x" * 70]))
_json = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(
        ["name", "namespace", "labels", "finalizers", "ownerReferences", "data", "stringData", "type", "spec",
         "status", "size", "color", "eventTime", "involvedObject", "reason", "a", "uid", "generateName",
         "annotations", "immutable", "regarding", "metadata", "apiVersion", "kind", "tls.crt", "containers", "image",
         "ports", "port", "rules", "http", "paths", "pathType", "backend", "clusterIP", "group", "names", "plural",
         "versions", "schema", "openAPIV3Schema", "served", "storage", "scope", "additionalPrinterColumns",
         "shortNames", "subresources", "jsonPath", "type"]), inner, max_size=4)),
    max_leaves=12)
_meta = st.fixed_dictionaries({"name": st.sampled_from(["x", "y"])}, optional={
    "labels": _json, "finalizers": _json, "ownerReferences": _json, "annotations": _json, "generateName": _json,
    "uid": _json})
_bodies = st.one_of(_json, st.fixed_dictionaries({"metadata": _meta}, optional={
    "spec": _json, "data": _json, "stringData": _json, "type": _json, "status": _json, "involvedObject": _json,
    "eventTime": _json, "regarding": _json, "immutable": _json}))

_ENGINE = Engine()
_ENGINE.create(_ENGINE.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions"), None, widget_crd())
_TARGETS = [("", "v1", "secrets"), ("", "v1", "events"), ("", "v1", "namespaces"), ("", "v1", "configmaps"),
            ("example.com", "v1", "widgets"), ("events.k8s.io", "v1", "events"),
            ("coordination.k8s.io", "v1", "leases"), ("", "v1", "pods"), ("", "v1", "services"),
            ("networking.k8s.io", "v1", "ingresses"), ("apiextensions.k8s.io", "v1", "customresourcedefinitions")]
_PATCH_TYPES = ["application/merge-patch+json", "application/json-patch+json",
                "application/strategic-merge-patch+json", "application/apply-patch+yaml"]


def _has_rv(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("metadata"), dict) and \
        bool(body["metadata"].get("resourceVersion"))


def _expect_clean(call: Any, body: Any) -> None:
    try:
        call()
    except APIError as exc:
        assert exc.code in (400, 403, 404, 405, 409, 410, 415, 422) or (exc.code == 500 and _has_rv(body)), \
            exc.status()
        json.dumps(exc.status())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(_TARGETS), body=_bodies, update=_bodies, patch=_json,
       patch_type=st.sampled_from(_PATCH_TYPES), status=st.booleans())
def test_arbitrary_bodies_get_status_errors_never_crashes(target: tuple[str, str, str], body: Any, update: Any,
                                                          patch: Any, patch_type: str, status: bool) -> None:
    engine = _ENGINE
    res = engine.resource(*target)
    namespace = "default" if res.namespaced else None
    _expect_clean(lambda: engine.create(res, namespace, json.loads(json.dumps(body))), body)
    sub = "status" if status and res.status else None
    _expect_clean(lambda: engine.update(res, namespace, "x", json.loads(json.dumps(update)), subresource=sub),
                  update)
    raw = json.dumps(patch).encode()
    _expect_clean(lambda: engine.patch(res, namespace, "x", patch_type, raw, subresource=sub, manager="m"), patch)
    _expect_clean(lambda: engine.delete(res, namespace, "x", {"propagationPolicy": "Orphan"}), None)


_CRD_PATHS = [("spec", "names"), ("spec", "names", "shortNames"), ("spec", "versions"), ("spec", "versions", 0),
              ("spec", "versions", 0, "schema"), ("spec", "versions", 0, "schema", "openAPIV3Schema"),
              ("spec", "versions", 0, "schema", "openAPIV3Schema", "properties"),
              ("spec", "versions", 0, "schema", "openAPIV3Schema", "properties", "spec", "properties", "size"),
              ("spec", "versions", 0, "additionalPrinterColumns"),
              ("spec", "versions", 0, "additionalPrinterColumns", 0),
              ("spec", "versions", 0, "subresources"), ("spec", "versions", 0, "served"), ("spec", "scope")]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(_CRD_PATHS), value=_json, create_cr=st.booleans())
def test_mutated_crds_get_status_errors_never_crash(path: tuple[Any, ...], value: Any, create_cr: bool) -> None:
    engine = Engine()
    crd = widget_crd()
    node: Any = crd
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    crds = engine.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    _expect_clean(lambda: engine.create(crds, None, json.loads(json.dumps(crd))), crd)
    res = engine.registry.lookup("example.com", "v1", "widgets")
    if res is not None and create_cr:
        body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}}
        _expect_clean(lambda: engine.create(res, "default", body), body)
        from issuer.testing import tables

        entries = [e.obj for _, e in engine.store.items(res.store_key, None)]
        tables.table(res, entries, "1", None)


_PARAM_VALUES = st.one_of(st.text(max_size=12), st.sampled_from(
    ["0", "-1", "1", "abc", "a=b", "a in (", "metadata.name=x", "spec.x=1", "true", "All", "Strict", "x,y",
     "!!!", "eyJydiI6MX0", "eyJydiI6IjEiLCJzdGFydCI6WzFdfQ"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(st.sampled_from(["limit", "continue", "labelSelector", "fieldSelector",
                                               "resourceVersion", "timeoutSeconds", "dryRun", "fieldValidation",
                                               "propagationPolicy", "gracePeriodSeconds", "includeObject"]),
                              _PARAM_VALUES, max_size=4),
       method=st.sampled_from(["GET", "DELETE", "POST", "PATCH"]),
       path=st.sampled_from(["/api/v1/namespaces/default/secrets", "/api/v1/secrets", "/api/v1/namespaces",
                             "/api/v1/namespaces/default/secrets/x", "/apis/coordination.k8s.io/v1/leases"]),
       body=st.sampled_from([b"", b"{}", b"[]", b"null", b'{"metadata":{"name":"x"}}', b"\xff", b"{"]))
def test_arbitrary_requests_never_500(apiserver_thread: Any, params: dict[str, str], method: str, path: str,
                                      body: bytes) -> None:
    from urllib.parse import urlencode

    import urllib3

    http = urllib3.PoolManager()
    try:
        headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {}
        resp = http.request(method, f"{apiserver_thread.url}{path}?{urlencode(params)}", body=body or None,
                            headers=headers, timeout=5.0)
        assert resp.status < 500 or (resp.status == 500 and b"resourceVersion should not be set" in resp.data), \
            resp.data
        if resp.status >= 400:
            assert json.loads(resp.data)["kind"] == "Status"
    finally:
        http.clear()
