"""Fixtures of the apiserver tier: the embedded API server fixtures from issuer.testing.pytest_plugin,
an `api` helper (aiohttp client speaking raw HTTP to the server, returning status/body/headers), a small
`widgets.example.com` CRD with printer columns, a status subresource and CEL rules, and the paths of the
real tools (kubectl, kopf) that must be present: missing tools fail loudly, nothing skips."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import os
import pathlib
import shutil
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from issuer.testing.pytest_plugin import apiserver, apiserver_factory, apiserver_thread  # noqa: F401
from issuer.testing.server import EmbeddedAPIServer

WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
GIZMOS = "/apis/example.com/v1/gizmos"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
SECRETS = "/api/v1/namespaces/default/secrets"
EVENTS = "/api/v1/namespaces/default/events"
MERGE = "application/merge-patch+json"
JSONPATCH = "application/json-patch+json"
SMP = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
TABLE = ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
         "application/json")


def widget_crd(*, name: str = "widgets.example.com", plural: str = "widgets", kind: str = "Widget",
               scope: str = "Namespaced", status: bool = True) -> dict[str, Any]:
    version: dict[str, Any] = {
        "name": "v1", "served": True, "storage": True,
        "additionalPrinterColumns": [
            {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
            {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
            {"name": "Size", "type": "integer", "jsonPath": ".spec.size", "priority": 1},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        ],
        "schema": {"openAPIV3Schema": {
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object", "required": ["size"],
                    "properties": {
                        "size": {"type": "integer", "minimum": 0},
                        "color": {"type": "string", "enum": ["red", "blue", "green"]},
                        "shape": {"type": "string", "default": "round"},
                        "ttl": {"type": "string"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "notAfter": {"type": "string", "format": "date-time"},
                    },
                    "x-kubernetes-validations": [
                        {"rule": "!has(self.ttl) || duration(self.ttl) <= duration('24h')",
                         "message": "ttl must be at most 24h"},
                        {"rule": "!has(oldSelf.color) || self.color == oldSelf.color",
                         "message": "color is immutable"},
                        {"rule": "!has(self.notAfter) || timestamp(self.notAfter) > timestamp('2000-01-01T00:00:00Z')",
                         "message": "notAfter must be in this millennium"},
                    ],
                },
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        }},
    }
    if status:
        version["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {"group": "example.com", "scope": scope,
                 "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "shortNames": [plural[:2]],
                           "categories": ["all"]},
                 "versions": [version]},
    }


def widget(name: str, size: int = 1, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name},
            "spec": {"size": size, **spec}}


@dataclasses.dataclass
class Resp:
    status: int
    body: Any
    headers: Any

    @property
    def rv(self) -> str:
        return str(self.body["metadata"]["resourceVersion"])


class Api:
    """Raw HTTP against the embedded server."""

    def __init__(self, srv: EmbeddedAPIServer, session: aiohttp.ClientSession) -> None:
        self.srv = srv
        self.session = session

    async def req(self, method: str, path: str, body: Any = None, *, ctype: str | None = "application/json",
                  headers: dict[str, str] | None = None, params: dict[str, str] | None = None,
                  raw: bytes | None = None) -> Resp:
        hdrs = dict(headers or {})
        data: bytes | None = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and ctype:
            hdrs["Content-Type"] = ctype
        skip = ["Content-Type"] if not ctype else []
        payload: Any = io.BytesIO(data) if data is not None and len(data) > 512 * 1024 else data
        async with self.session.request(method, path, data=payload, headers=hdrs, params=params,
                                        skip_auto_headers=skip) as r:
            text = await r.read()
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = text.decode()
            return Resp(r.status, parsed, r.headers)

    async def get(self, path: str, **kw: Any) -> Resp:
        return await self.req("GET", path, **kw)

    async def post(self, path: str, body: Any, **kw: Any) -> Resp:
        return await self.req("POST", path, body, **kw)

    async def put(self, path: str, body: Any, **kw: Any) -> Resp:
        return await self.req("PUT", path, body, **kw)

    async def patch(self, path: str, body: Any, ctype: str = MERGE, **kw: Any) -> Resp:
        return await self.req("PATCH", path, body, ctype=ctype, **kw)

    async def delete(self, path: str, body: Any = None, **kw: Any) -> Resp:
        return await self.req("DELETE", path, body, **kw)

    async def create_crd(self, crd: dict[str, Any] | None = None) -> Resp:
        resp = await self.post(CRDS, crd or widget_crd())
        assert resp.status == 201, resp.body
        await asyncio.sleep(0.01)  # the Established condition follows a moment later, as in kube
        return resp

    async def watchers(self, store_key: tuple[str, str], count: int = 1, timeout: float = 5.0) -> None:
        """Wait until `count` watches are registered on a storage bucket."""
        async with asyncio.timeout(timeout):
            while len(self.srv.store.watchers[store_key]) < count:
                await asyncio.sleep(0.01)

    async def watch(self, path: str, params: dict[str, str], *, count: int | None = None,
                    timeout: float = 5.0) -> list[dict[str, Any]]:
        """Open a watch and read events until `count` arrived or the stream ended."""
        events: list[dict[str, Any]] = []
        query = {"watch": "true", **params}
        async with self.session.get(path, params=query) as r:
            assert r.status == 200, await r.text()
            try:
                async with asyncio.timeout(timeout):
                    async for line in r.content:
                        if line.strip():
                            events.append(json.loads(line))
                        if count is not None and len(events) >= count:
                            break
            except TimeoutError:
                pass
        return events


@pytest_asyncio.fixture
async def api(apiserver: EmbeddedAPIServer) -> AsyncIterator[Api]:  # noqa: F811  # noqa: F811
    async with aiohttp.ClientSession(apiserver.url) as session:
        yield Api(apiserver, session)


@pytest_asyncio.fixture
async def widgets(api: Api) -> Api:
    """`api` with the widgets CRD installed."""
    await api.create_crd()
    return api


def require_tool(name: str) -> str:
    """The path of an external tool; a missing tool fails the test loudly (CI must have it)."""
    if name == "kopf":
        candidate = pathlib.Path(sys.executable).with_name("kopf")
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is required for this test but was not found on PATH; install it "
                    f"(kubectl v1.32 from the machine image, kopf from the project's dependencies)")
    return found


@pytest.fixture
def kubectl_env(tmp_path: pathlib.Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ)
    env["HOME"] = str(home)
    return env
