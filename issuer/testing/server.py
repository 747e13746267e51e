"""The HTTP face of the embedded Kubernetes API server: an aiohttp application on a real loopback
socket that unmodified kopf, the `kubernetes` client and kubectl talk to. It routes /version, health,
discovery, /openapi/v3 and every resource path (core and group, namespaced and cluster-wide
collections, objects, `/status`), negotiates JSON and `as=Table`, streams watches (history replay,
410 Expired, bookmarks, sendInitialEvents, timeoutSeconds), applies injected faults and records every
request. `EmbeddedAPIServer` is the async context manager tests and `issuer apiserver` use;
`ServerThread` runs one in a background thread for synchronous callers. Known simplifications: no
authentication or authorization (any token works), JSON only on the way out (protobuf request bodies
are decoded for the kinds kubectl's `create` commands send), `managedFields` only from server-side
apply (no Update entries for create/update/other patches, so apply conflicts only with other
appliers), no admission webhooks (ValidatingAdmissionPolicies are evaluated, see
issuer.testing.admission, every request being made by one fixed user, `system:admin` in
`system:masters`, whom the authorizer allows everything), no conversion webhooks (CRD versions
convert with strategy None), built-in kinds beyond Secret/ConfigMap/Event/Lease/Namespace/CRD are
stored without validation, and a watch or continue token newer than the server (a restarted
playground) is answered 410 so clients re-list.

tests/apiserver/test_parity.py replays its scenarios against a real kube-apiserver (v1.37) too; the
differences it knows and keeps are these: /version claims v1.32 (the machine's kubectl) without the
compatibility-version fields; no `namespaces/finalize` subresource (namespaces finalize internally);
the watch history is a window of `history_window` events answered 410 beyond it, where kube's watch
cache replays for at least 75 s (a test never sees kube's 410); CRD validation reports each version's
schema at `spec.versions[i].schema` and compiles the rules of an invalid schema, where kube validates
its internal form (a schema shared by all versions at `spec.validation`, Go value dumps in messages,
a consequent `status.storedVersions` cause) and stops at the schema error; and the Update entries
above. Everything else the table checks (Status bodies and messages, headers, watch sequences,
managedFields of appliers, Tables, discovery, lists) answers as kube does."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pathlib
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import unquote

from aiohttp import web
from multidict import CIMultiDict

from issuer.testing import discovery, errors, protobuf, selectors, tables
from issuer.testing.engine import Engine
from issuer.testing.errors import APIError
from issuer.testing.faults import Fault, Faults, RequestLog, RequestRecord
from issuer.testing.patch import go_json_type
from issuer.testing.resources import Obj, Resource
from issuer.testing.store import Entry, Store, Watcher, WatchEvent, dumps

log = logging.getLogger(__name__)

T = TypeVar("T")

JSON_CT = "application/json"
DEFAULT_WATCH_TIMEOUT = 1800.0
MAX_BODY = 3 * 1024 * 1024  # kube-apiserver's MaxRequestBodyBytes


async def _read(request: web.Request) -> bytes:
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise APIError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY}", {}) from None


def _json(obj: Any, status: int = 200, headers: CIMultiDict[str] | None = None) -> web.Response:
    return _raw(dumps(obj), status, headers)


def _raw(body: bytes, status: int = 200, headers: CIMultiDict[str] | None = None) -> web.Response:
    hdrs: CIMultiDict[str] = CIMultiDict(headers or {})
    hdrs["Content-Type"] = JSON_CT
    return web.Response(body=body, status=status, headers=hdrs)


def _error(exc: APIError) -> web.Response:
    if isinstance(exc, errors.PageNotFound):  # kube's mux answers paths it serves nothing under in plain text
        return web.Response(text="404 page not found\n", status=404, content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})
    headers: CIMultiDict[str] = CIMultiDict(exc.headers)
    return _json(exc.status(), exc.code, headers)


def _bool(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1", "")


def _field_value(obj: Obj, field: str) -> str | None:
    if field == "source" and "source" in obj and isinstance(obj["source"], dict):
        return str(obj["source"].get("component") or "")
    cur: Any = obj
    for part in field.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    if cur is None:
        return None
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def build_matcher(res: Resource, label_text: str | None, field_text: str | None,
                  name: str | None = None) -> Callable[[Obj], bool] | None:
    """A predicate for label/field selectors (None when everything matches); raises 400 on bad syntax."""
    try:
        labels = selectors.parse_label_selector(label_text) if label_text else None
        fields = selectors.parse_field_selector(field_text) if field_text else None
    except selectors.SelectorError as exc:
        raise errors.bad_request(str(exc)) from None
    if fields is not None:
        for field in sorted(fields.fields):
            if field not in ("metadata.name", "metadata.namespace") and field not in res.field_selectors:
                raise errors.bad_request(f'field label not supported: {field}')
        if fields.empty:
            fields = None
    if labels is not None and labels.empty:
        labels = None
    if labels is None and fields is None and name is None:
        return None

    def matcher(obj: Obj) -> bool:
        md = obj.get("metadata") or {}
        if name is not None and md.get("name") != name:
            return False
        if labels is not None and not labels.matches(md.get("labels") or {}):
            return False
        return fields is None or fields.matches(lambda f: _field_value(obj, f))

    return matcher


class _Route:
    __slots__ = ("name", "namespace", "res", "subresource")

    def __init__(self, res: Resource, namespace: str | None, name: str | None, subresource: str | None):
        self.res = res
        self.namespace = namespace
        self.name = name
        self.subresource = subresource


class EmbeddedAPIServer:
    """An in-memory kube-apiserver on a real HTTP port.

    >>> async with EmbeddedAPIServer(port=0) as srv:
    ...     srv.url, srv.kubeconfig_path, srv.request_log, srv.faults
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, history_window: int = 20000,
                 bookmark_period: float = 60.0, state_file: str | os.PathLike[str] | None = None,
                 kubeconfig: str | os.PathLike[str] | None = None, watch_timeout: float = DEFAULT_WATCH_TIMEOUT,
                 save_interval: float = 1.0, request_log_size: int = 100_000) -> None:
        self.host = host
        self.port = port
        self.bookmark_period = bookmark_period
        self.watch_timeout = watch_timeout
        self.state_file = pathlib.Path(state_file) if state_file else None
        self.save_interval = save_interval
        store = Store(history_window=history_window)
        if self.state_file is not None and self.state_file.exists():
            from issuer.testing import persistence

            persistence.load(self.state_file, store)
        self.engine = Engine(store)
        self.store = self.engine.store
        self.registry = self.engine.registry
        self.openapi = discovery.OpenAPICache(self.registry)
        self.faults = Faults()
        self.request_log = RequestLog(request_log_size)
        self._kubeconfig = pathlib.Path(kubeconfig) if kubeconfig else None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self._watch_tasks: set[asyncio.Task[Any]] = set()
        self._saver: Any = None
        self._refuse_task: asyncio.Task[None] | None = None
        self._stopping = False

    # ---- lifecycle

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def __aenter__(self) -> EmbeddedAPIServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True)
        await self._runner.setup()
        await self._listen()
        if self.state_file is not None:
            from issuer.testing import persistence

            self._saver = persistence.Saver(self.state_file, self.store, self.save_interval)
            self._saver.start()
        if self._kubeconfig is not None:
            self.write_kubeconfig(self._kubeconfig)

    async def _listen(self) -> None:
        assert self._runner is not None and self._runner.server is not None
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(1024)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._runner.server, sock=sock)

    async def stop(self) -> None:
        self._stopping = True
        if self._refuse_task is not None:
            self._refuse_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refuse_task
        self.store.close_watchers()
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._saver is not None:
            await self._saver.stop()
            self._saver = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    async def refuse_connections(self, seconds: float, *, drop_existing: bool = True) -> None:
        """Close the listening socket (and by default the open connections) and reopen it after
        `seconds`; returns at once."""
        if self._server is not None:
            self._server.close()
            self._server = None
        if drop_existing and self._runner is not None and self._runner.server is not None:
            for handler in list(self._runner.server.connections):
                transport = handler.transport
                if transport is not None:
                    transport.abort()

        async def reopen() -> None:
            await asyncio.sleep(seconds)
            if not self._stopping:
                await self._listen()

        self._refuse_task = asyncio.get_running_loop().create_task(reopen())

    # ---- direct reads for tests (call on the server's loop; ServerThread.run does that)

    def object(self, group: str, plural: str, namespace: str | None, name: str) -> Obj | None:
        """A stored object (storage version, shared: do not mutate) or None."""
        return self.store.get((group, plural), (namespace or "", name))

    def objects(self, group: str, plural: str, namespace: str | None = None) -> list[Obj]:
        """Stored objects of one kind, sorted by namespace and name."""
        return [entry.obj for _, entry in self.store.items((group, plural), namespace)]

    # ---- kubeconfig

    def kubeconfig(self, namespace: str = "default") -> dict[str, Any]:
        return {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "issuer-embedded", "cluster": {"server": self.url}}],
            "users": [{"name": "issuer-embedded", "user": {"token": "issuer-embedded-dummy-token"}}],
            "contexts": [{"name": "issuer-embedded",
                          "context": {"cluster": "issuer-embedded", "user": "issuer-embedded",
                                      "namespace": namespace}}],
            "current-context": "issuer-embedded",
        }

    def write_kubeconfig(self, path: str | os.PathLike[str]) -> pathlib.Path:
        target = pathlib.Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(self.kubeconfig(), indent=2) + "\n")
        os.replace(tmp, target)
        self._kubeconfig = target
        return target

    @property
    def kubeconfig_path(self) -> pathlib.Path:
        if self._kubeconfig is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="issuer-apiserver-")
            self.write_kubeconfig(pathlib.Path(self._tmpdir.name) / "kubeconfig")
        assert self._kubeconfig is not None
        return self._kubeconfig

    # ---- request handling

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.time()
        t0 = time.perf_counter()
        meta: dict[str, str] = {}
        status = 500
        try:
            response = await self._dispatch(request, meta)
            status = response.status
            return response
        except APIError as exc:
            status = exc.code
            return _error(exc)
        except web.HTTPException:
            raise
        except (ConnectionResetError, asyncio.CancelledError):
            status = 499
            raise
        except Exception as exc:  # never a traceback to the client
            log.exception("internal error on %s %s", request.method, request.path)
            status = 500
            return _error(errors.internal(f"{type(exc).__name__}: {exc}"))
        finally:
            if "logged" not in meta:
                self.request_log.append(RequestRecord(
                    request.method, request.path, request.query_string, status, time.perf_counter() - t0,
                    request.headers.get("User-Agent", ""), started, meta.get("verb", ""), meta.get("resource", "")))

    async def _dispatch(self, request: web.Request, meta: dict[str, str]) -> web.StreamResponse:
        path = request.path
        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        method = request.method
        if not parts:
            return self._non_resource(method, meta, lambda: {"paths": self._root_paths()})
        head = parts[0]
        if len(parts) == 1 and head in ("version", "healthz", "readyz", "livez"):
            if head == "version":
                return self._non_resource(method, meta, lambda: discovery.VERSION_INFO)
            return await self._maybe_fault(method, meta, "get", None, None, None) or \
                web.Response(text="ok", content_type="text/plain")
        if head in ("healthz", "readyz", "livez"):
            return web.Response(text="ok", content_type="text/plain")
        if head == "openapi":
            return await self._openapi(request, parts, meta)
        if head in ("api", "apis") and len(parts) == 1 and \
                discovery.wants_aggregated(request.headers.get("Accept", "")):
            response = self._non_resource(method, meta, lambda: discovery.aggregated(self.registry, head == "api"))
            response.headers["Content-Type"] = discovery.AGGREGATED_CT
            response.headers["Vary"] = "Accept"
            return response
        if head == "api":
            if len(parts) == 1:
                return self._non_resource(method, meta, lambda: discovery.api_versions(f"{self.host}:{self.port}"))
            return await self._group_path(request, "", parts[1], parts[2:], meta)
        if head == "apis":
            if len(parts) == 1:
                return self._non_resource(method, meta, lambda: discovery.api_group_list(self.registry))
            if len(parts) == 2:
                doc = discovery.api_group_doc(self.registry, parts[1])
                if doc is None:
                    raise errors.PageNotFound()
                return _json(doc)
            return await self._group_path(request, parts[1], parts[2], parts[3:], meta)
        raise errors.PageNotFound()

    def _non_resource(self, method: str, meta: dict[str, str], make: Callable[[], Any]) -> web.Response:
        meta["verb"] = method.lower()
        if method not in ("GET", "HEAD"):
            raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                                                    "resource", {})
        return _json(make())

    def _root_paths(self) -> list[str]:
        paths = ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v3", "/readyz", "/version"]
        for group in self.registry.groups():
            paths.append(f"/apis/{group}")
            paths.extend(f"/apis/{group}/{v}" for v in self.registry.versions(group))
        return sorted(paths)

    async def _openapi(self, request: web.Request, parts: list[str], meta: dict[str, str]) -> web.Response:
        meta["verb"] = "get"
        if len(parts) >= 2 and parts[1] == "v3":
            if len(parts) == 2:
                return _json(self.openapi.index())
            found = self.openapi.document("/".join(parts[2:]))
            if found is not None:
                raw, digest = found
                headers: CIMultiDict[str] = CIMultiDict()
                if request.query.get("hash") == digest:
                    headers["Cache-Control"] = "public, immutable"
                else:
                    headers["Cache-Control"] = "no-cache, private"
                headers["Etag"] = f'"{digest}"'
                return _raw(raw, 200, headers)
        raise errors.no_route()

    async def _maybe_fault(self, method: str, meta: dict[str, str], verb: str,
                           resource: str | None,
                           namespace: str | None, name: str | None) -> web.Response | None:
        meta["verb"] = verb
        meta["resource"] = resource or ""
        fault = self.faults.match(verb, resource, namespace, name)
        if fault is None:
            return None
        meta["fault"] = "1"
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.status:
            headers: CIMultiDict[str] = CIMultiDict()
            if fault.retry_after is not None:
                headers["Retry-After"] = str(int(fault.retry_after))
            return _json(fault.status_body(), fault.status, headers)
        if fault.drop_after is not None:
            meta["drop_after"] = str(fault.drop_after)
        return None

    def _parse_route(self, group: str, version: str, rest: list[str]) -> _Route:
        if (group, version) not in self.registry.by_gv:
            raise errors.PageNotFound()
        if not rest:
            raise errors.no_route()
        if len(rest) >= 3 and rest[0] == "namespaces":
            res = self.registry.lookup(group, version, rest[2])
            if res is not None and res.namespaced:
                if len(rest) > 5:
                    raise errors.no_route()
                name = rest[3] if len(rest) > 3 else None
                sub = rest[4] if len(rest) > 4 else None
                return _Route(res, rest[1], name, sub)
        res = self.registry.lookup(group, version, rest[0])
        if res is None or len(rest) > 3:
            # a built-in group answers a JSON 404; a group of CRDs leaves unknown paths to the plain mux
            builtin = any(r.builtin for r in self.registry.by_gv[(group, version)].values())
            raise errors.no_route() if builtin else errors.PageNotFound()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if res.namespaced and name is not None:
            raise errors.no_route()
        return _Route(res, None, name, sub)

    async def _group_path(self, request: web.Request, group: str, version: str, rest: list[str],
                          meta: dict[str, str]) -> web.StreamResponse:
        if not rest:
            doc = discovery.resource_list(self.registry, group, version)
            if doc is None:
                raise errors.PageNotFound()
            return self._non_resource(request.method, meta, lambda: doc)
        q = request.query
        watch_path = False
        if rest[0] == "watch":
            watch_path = True
            rest = rest[1:]
        route = self._parse_route(group, version, rest)
        res = route.res
        if route.subresource is not None and (route.subresource != "status" or not res.status):
            # kube's CRD handler answers a subresource a CRD does not declare as a missing object
            raise errors.no_route() if res.builtin else errors.not_found(res, route.name or "")
        method = request.method
        is_watch = watch_path or _bool(q.get("watch")) if "watch" in q or watch_path else False
        if method in ("GET", "HEAD"):
            verb = "watch" if is_watch else ("get" if route.name else "list")
        elif method == "POST":
            verb = "create"
        elif method == "PUT":
            verb = "update"
        elif method == "PATCH":
            verb = "patch"
        elif method == "DELETE":
            verb = "delete" if route.name else "deletecollection"
        else:
            raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                                                    "resource", {})
        resource_name = res.plural + (f"/{route.subresource}" if route.subresource else "")
        faulted = await self._maybe_fault(method, meta, verb, resource_name, route.namespace, route.name)
        if faulted is not None:
            return faulted
        if route.name is None and verb in ("create",) and route.subresource:
            raise errors.no_route()
        if verb in ("create", "deletecollection", "list") and route.name is not None:
            raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                                                    "resource", {})
        if verb in ("update", "patch") and route.name is None:
            raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                                                    "resource", {})
        if verb not in res.verbs and verb != "get":
            raise errors.method_not_allowed(verb, res)
        namespace = route.namespace
        if verb == "watch":
            return await self._watch(request, route, meta)
        if verb == "get":
            return self._get(request, route)
        if verb == "list":
            return self._list(request, route)
        dry_run = self._dry_run(q, verb)
        field_validation = q.get("fieldValidation") or "Warn"
        if field_validation not in ("Ignore", "Warn", "Strict"):
            raise errors.bad_request(f"fieldValidation parameter unsupported: {field_validation}")
        if verb == "create":
            body = await self._body(request, res)
            obj, warnings = self.engine.create(res, namespace, body, dry_run=dry_run,
                                               field_validation=field_validation)
            return self._object_response(obj, 201, warnings)
        if verb == "update":
            assert route.name is not None
            body = await self._body(request, res)
            obj, warnings = self.engine.update(res, namespace, route.name, body, subresource=route.subresource,
                                               dry_run=dry_run, field_validation=field_validation)
            return self._object_response(obj, 200, warnings)
        if verb == "patch":
            assert route.name is not None
            ctype = request.headers.get("Content-Type", "")
            if not ctype:
                raise errors.unsupported_media()
            raw = await _read(request)
            obj, warnings, created = self.engine.patch(
                res, namespace, route.name, ctype, raw, subresource=route.subresource, dry_run=dry_run,
                field_validation=field_validation, manager=q.get("fieldManager", ""),
                force=_bool(q.get("force")) if "force" in q else False)
            return self._object_response(obj, 201 if created else 200, warnings)
        options = await self._delete_options(request, res)
        if verb == "delete":
            assert route.name is not None
            obj, removed = self.engine.delete(res, namespace, route.name, options, dry_run=dry_run)
            if removed and not res.return_deleted_object:
                details: dict[str, Any] = {"name": route.name}
                if res.group:
                    details["group"] = res.group
                details["kind"] = res.plural
                details["uid"] = (obj.get("metadata") or {}).get("uid", "")
                return _json(errors.status_success(details))
            return self._object_response(obj, 200, [])
        matcher = build_matcher(res, q.get("labelSelector"), q.get("fieldSelector"))
        deleted = self.engine.delete_collection(res, namespace, matcher, options, dry_run=dry_run)
        return _json({"kind": res.list_kind, "apiVersion": res.api_version,
                      "metadata": {"resourceVersion": str(self.store.rv)}, "items": deleted})

    @staticmethod
    def _dry_run(q: Any, verb: str) -> bool:
        values = q.getall("dryRun", [])
        if any(value != "All" for value in values):
            kind = {"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions"}.get(
                verb, "DeleteOptions")
            raise errors.invalid_options(kind, [errors.FieldCause(
                "FieldValueNotSupported", f'Unsupported value: {json.dumps(values, separators=(",", ":"))}: '
                'supported values: "All"', "dryRun")])
        return bool(values)

    async def _body(self, request: web.Request, res: Resource) -> Any:
        raw = await _read(request)
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype in ("", "application/json", "*/*"):
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise _unrecognized(res, f"json parse error: {_json_error(exc)}", raw) from None
            if not isinstance(body, dict):
                raise _unrecognized(res, f"json parse error: json: cannot unmarshal {go_json_type(body)} into Go "
                                         f"value of type {_GO_TYPE_META}", raw)
            return body
        if ctype in ("application/yaml", "application/x-yaml"):
            import yaml

            try:
                return yaml.safe_load(raw)
            except yaml.YAMLError as exc:
                raise errors.cannot_handle(res, f"yaml: {str(exc).splitlines()[0]}") from None
        if ctype == "application/vnd.kubernetes.protobuf":
            try:
                return protobuf.decode(raw)
            except protobuf.ProtobufError as exc:
                raise errors.unsupported_media(f"application/json, application/yaml ({exc})") from None
        raise errors.unsupported_media("application/json, application/yaml, application/vnd.kubernetes.protobuf")

    async def _delete_options(self, request: web.Request, res: Resource) -> dict[str, Any]:
        raw = await _read(request)
        options: dict[str, Any] = {}
        if raw.strip():
            try:
                parsed = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise errors.bad_request(f"json parse error: {_json_error(exc)}") from None
            if not isinstance(parsed, dict):
                raise errors.bad_request("json: cannot unmarshal into Go value of type v1.DeleteOptions")
            options = parsed
        q = request.query
        if "propagationPolicy" in q:
            options["propagationPolicy"] = q["propagationPolicy"]
        if "orphanDependents" in q:
            options["orphanDependents"] = _bool(q["orphanDependents"])
        if "gracePeriodSeconds" in q:
            try:
                options["gracePeriodSeconds"] = int(q["gracePeriodSeconds"])
            except ValueError:
                raise errors.bad_request(f'invalid gracePeriodSeconds "{q["gracePeriodSeconds"]}"') from None
        for field in ("uid", "resourceVersion"):
            key = f"preconditions.{field}"
            if key in q:
                options.setdefault("preconditions", {})[field] = q[key]
        del res
        return options

    def _object_response(self, obj: Obj, status: int, warnings: list[str]) -> web.Response:
        headers: CIMultiDict[str] = CIMultiDict()
        for warning in warnings:
            headers.add("Warning", '299 - "' + warning.replace("\\", "\\\\").replace('"', '\\"') + '"')
        return _json(obj, status, headers)

    @staticmethod
    def _wants_table(request: web.Request) -> bool:
        accept = request.headers.get("Accept", "")
        return "as=Table" in accept

    def _get(self, request: web.Request, route: _Route) -> web.Response:
        assert route.name is not None
        res = route.res
        entry = self.engine.get_entry(res, route.namespace, route.name)
        if self._wants_table(request):
            obj = self.engine.to_served(res, entry.obj)
            return _json(tables.table(res, [obj], str(self.store.rv), None,
                                      request.query.get("includeObject", "Metadata")))
        return _raw(self.engine.encode(res, entry))

    def _check_not_newer(self, rv_text: str) -> None:
        """A list at a resourceVersion the server has not reached: kube waits 3 s for its cache to catch up,
        then answers 504 with Retry-After; nothing will catch up here, so the answer comes at once."""
        if rv_text.isascii() and rv_text.isdigit() and int(rv_text) > self.store.rv:
            raise APIError(504, "Timeout", f"Timeout: Too large resource version: {rv_text}, current: "
                                           f"{self.store.rv}",
                           {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                            "retryAfterSeconds": 1}, headers={"Retry-After": "1"})

    def _list(self, request: web.Request, route: _Route) -> web.Response:
        res = route.res
        q = request.query
        _check_list_options(q, watch=False)
        self._check_not_newer(q.get("resourceVersion", ""))
        matcher = build_matcher(res, q.get("labelSelector"), q.get("fieldSelector"))
        limit_text = q.get("limit")
        limit = None
        if limit_text:
            try:
                limit = int(limit_text)
            except ValueError:
                raise errors.bad_request(f'invalid limit "{limit_text}"') from None
            if limit < 0:
                limit = None
        entries, rv, cont, remaining = self.engine.list_entries(res, route.namespace, matcher, limit,
                                                                q.get("continue") or None)
        if self._wants_table(request):
            objects = [self.engine.to_served(res, e.obj) for e in entries]
            return _json(tables.table(res, objects, rv, cont, q.get("includeObject", "Metadata")))
        meta: dict[str, Any] = {"resourceVersion": rv}
        if cont:
            meta["continue"] = cont
            if remaining is not None:
                meta["remainingItemCount"] = remaining
        head = dumps({"kind": res.list_kind, "apiVersion": res.api_version, "metadata": meta})
        if res.builtin:  # typed lists carry apiVersion/kind on the list only, as kube-apiserver does
            items = b",".join(self._typed_item(res, e) for e in entries)
        else:
            items = b",".join(self.engine.encode(res, e) for e in entries)
        return _raw(head[:-1] + b',"items":[' + items + b"]}")

    def _typed_item(self, res: Resource, entry: Entry) -> bytes:
        if res.store_api_version == res.api_version:
            raw = entry.encoded()
            prefix = b'{"apiVersion":' + dumps(res.api_version) + b',"kind":' + dumps(res.kind) + b","
            if raw.startswith(prefix):
                return b"{" + raw[len(prefix):]
        obj = self.engine.to_served(res, entry.obj)
        return dumps({k: v for k, v in obj.items() if k not in ("apiVersion", "kind")})

    # ---- watch

    def _line(self, res: Resource, kind: str, event: WatchEvent) -> bytes:
        cache_key = (kind, res.api_version)
        line = event.lines.get(cache_key)
        if line is None:
            line = b'{"type":"' + kind.encode() + b'","object":' + self.engine.encode(res, event.entry) + b"}\n"
            event.lines[cache_key] = line
        return line

    def _bookmark(self, res: Resource, rv: int, initial_end: bool = False) -> bytes:
        md: dict[str, Any] = {"resourceVersion": str(rv)}
        if initial_end:
            md["annotations"] = {"k8s.io/initial-events-end": "true"}
        return dumps({"type": "BOOKMARK", "object": {"kind": res.kind, "apiVersion": res.api_version,
                                                      "metadata": md}}) + b"\n"

    async def _watch(self, request: web.Request, route: _Route, meta: dict[str, str]) -> web.StreamResponse:
        res = route.res
        q = request.query
        matcher = build_matcher(res, q.get("labelSelector"), q.get("fieldSelector"), route.name)
        bookmarks = _bool(q.get("allowWatchBookmarks")) if "allowWatchBookmarks" in q else False
        send_initial = _bool(q.get("sendInitialEvents")) if "sendInitialEvents" in q else False
        _check_list_options(q, watch=True)
        timeout = self.watch_timeout
        if q.get("timeoutSeconds"):
            try:
                timeout = float(q["timeoutSeconds"])
            except ValueError:
                raise errors.bad_request(f'invalid timeoutSeconds "{q["timeoutSeconds"]}"') from None
        rv_text = q.get("resourceVersion", "")
        since: int | None = None
        if rv_text not in ("", "0") and not send_initial:
            try:
                since = int(rv_text)
            except ValueError:
                raise errors.invalid(res, "", [errors.invalid_value("resourceVersion", rv_text,
                                                                    "must be a valid resource version")]) from None
        drop_after = int(meta["drop_after"]) if "drop_after" in meta else None
        namespace = route.namespace if res.namespaced else None
        watcher = Watcher(res.store_key, namespace, matcher)
        as_table = self._wants_table(request)
        include = q.get("includeObject", "Metadata")
        headers_sent = False

        def render(kind: str, event: WatchEvent | None, entry: Entry | None = None) -> bytes:
            nonlocal headers_sent
            if kind == "DELETED" and event is not None and event.type == "MODIFIED":
                event = event.gone()  # it stopped matching the selector: kube sends the previous state
            if not as_table:
                if event is not None:
                    return self._line(res, kind, event)
                assert entry is not None
                return b'{"type":"' + kind.encode() + b'","object":' + self.engine.encode(res, entry) + b"}\n"
            obj = self.engine.to_served(res, (event.entry if event is not None else entry).obj)  # type: ignore[union-attr]
            table = tables.table(res, [obj], str((obj.get("metadata") or {}).get("resourceVersion", "")), None,
                                 include)
            if headers_sent:
                del table["columnDefinitions"]
            headers_sent = True
            return dumps({"type": kind, "object": table}) + b"\n"

        initial: list[bytes] = []
        expired: bytes | None = None
        if since is None:
            for _key, entry in self.store.items(res.store_key, namespace):
                if matcher is None or matcher(self.engine.to_served(res, entry.obj)):
                    initial.append(render("ADDED", None, entry))
            if send_initial and bookmarks:  # kube v1.37 no longer requires bookmarks; it marks the end with one
                initial.append(self._bookmark(res, self.store.rv, initial_end=True))
        elif since < self.store.floor:
            oldest = self.store.history[0].rv if self.store.history else self.store.rv
            expired = dumps({"type": "ERROR", "object": errors.expired(
                f"too old resource version: {since} ({oldest - 1 if oldest else oldest})").status()}) + b"\n"
        elif since > self.store.rv:
            # a client that saw another (restarted) server: make it re-list instead of missing objects
            expired = dumps({"type": "ERROR", "object": errors.expired(
                f"too large resource version: {since}, current: {self.store.rv}").status()}) + b"\n"
        else:
            for event in self.store.history_since(res.store_key, since):
                kind = watcher.translate(event)
                if kind is not None:
                    initial.append(render(kind, event))
        if expired is None:
            self.store.register(watcher)
        response = web.StreamResponse(status=200, headers={"Content-Type": JSON_CT,
                                                           "Cache-Control": "no-cache, private"})
        response.enable_chunked_encoding()
        sent = 0
        task = asyncio.current_task()
        if task is not None:
            self._watch_tasks.add(task)
        try:
            await response.prepare(request)
            meta["logged"] = "1"
            self.request_log.append(RequestRecord(
                request.method, request.path, request.query_string, 200, 0.0, request.headers.get("User-Agent", ""),
                time.time(), "watch", res.plural))
            if expired is not None:
                await response.write(expired)
                return response
            if drop_after is not None:
                initial = initial[:drop_after]
            if initial:
                await response.write(b"".join(initial))
                sent += len(initial)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            next_bookmark = loop.time() + self.bookmark_period if bookmarks else float("inf")
            queue = watcher.queue
            while True:
                if drop_after is not None and sent >= drop_after:
                    if request.transport is not None:
                        request.transport.abort()
                    return response
                batch: list[bytes] = []
                closing = False
                while not queue.empty():
                    item = queue.get_nowait()
                    if item is None:
                        closing = True
                        break
                    kind, event = item
                    batch.append(render(kind, event))
                    if drop_after is not None and sent + len(batch) >= drop_after:
                        break
                if batch:
                    await response.write(b"".join(batch))
                    sent += len(batch)
                    continue
                if closing:
                    break
                now = loop.time()
                if now >= deadline:
                    break
                if now >= next_bookmark:
                    await response.write(self._bookmark(res, self.store.rv))
                    next_bookmark = now + self.bookmark_period
                    continue
                wait = min(deadline, next_bookmark) - now
                try:
                    item = await asyncio.wait_for(queue.get(), min(wait, 5.0))
                except TimeoutError:
                    if request.transport is None or request.transport.is_closing():
                        break
                    continue
                if item is None:
                    break
                kind, event = item
                await response.write(render(kind, event))
                sent += 1
            with contextlib.suppress(ConnectionError):
                await response.write_eof()
            return response
        except (ConnectionError, asyncio.CancelledError):
            return response
        finally:
            self.store.unregister(watcher)
            if task is not None:
                self._watch_tasks.discard(task)


_GO_TYPE_META = ('struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
                 'Kind string "json:\\"kind,omitempty\\"" }')


def _unrecognized(res: Resource, why: str, raw: bytes) -> APIError:
    """kube's answer to a body it cannot even read apiVersion/kind from, quoting its start as kube does
    (text when it starts with '{', hex otherwise, 30 bytes at most)."""
    summary = "<empty>"
    if raw:
        cut = raw[:30]
        summary = cut.decode("utf-8", "replace") if raw[:1] == b"{" else cut.hex()
        if len(raw) > 30:
            summary += " ..."
    return errors.bad_request(f"the object provided is unrecognized (must be of type {res.kind}): couldn't get "
                              f"version/kind; {why} ({summary})")


def _check_list_options(q: Any, *, watch: bool) -> None:
    """kube's ListOptions validation of resourceVersionMatch and sendInitialEvents (422)."""
    causes: list[errors.FieldCause] = []
    match = q.get("resourceVersionMatch", "")
    send_initial = "sendInitialEvents" in q
    watch_list = watch and send_initial
    if match:
        if watch and not watch_list:
            causes.append(errors.forbidden_field("resourceVersionMatch", "resourceVersionMatch is forbidden for watch"))
        if not q.get("resourceVersion") and not watch_list:
            causes.append(errors.forbidden_field("resourceVersionMatch", "resourceVersionMatch is forbidden unless "
                                                 "resourceVersion is provided"))
        if match == "Exact" and q.get("resourceVersion") == "0":
            causes.append(errors.forbidden_field("resourceVersionMatch", 'resourceVersionMatch "exact" is forbidden '
                                                 'for resourceVersion "0"'))
        elif match not in ("Exact", "NotOlderThan"):
            causes.append(errors.FieldCause("FieldValueNotSupported", f'Unsupported value: "{match}": supported '
                                            'values: "Exact", "NotOlderThan", ""', "resourceVersionMatch"))
    if send_initial:
        if not watch:
            causes.append(errors.forbidden_field("sendInitialEvents", "sendInitialEvents is forbidden for list"))
        elif match != "NotOlderThan":
            causes.append(errors.forbidden_field("resourceVersionMatch", "sendInitialEvents requires setting "
                                                 "resourceVersionMatch to NotOlderThan"))
    if causes:
        raise errors.invalid_options("ListOptions", causes)


def _json_error(exc: Exception) -> str:
    """Go's encoding/json words for a syntax error (kube's decoder is a fork of it)."""
    if not isinstance(exc, json.JSONDecodeError):
        return str(exc)
    doc, pos = exc.doc, exc.pos
    if pos >= len(doc.rstrip()):
        return "unexpected end of JSON input"
    char = doc[pos + 1] if exc.msg.startswith("Invalid \\") and pos + 1 < len(doc) else doc[pos]
    quoted = "'\\''" if char == "'" else "'" + json.dumps(char)[1:-1].replace('\\"', '"') + "'"
    if exc.msg.startswith("Expecting property name"):
        context = "looking for beginning of object key string"
    elif exc.msg.startswith("Expecting ':'"):
        context = "after object key"
    elif exc.msg.startswith("Expecting ','"):
        context = "after array element" if _innermost(doc, pos) == "[" else "after object key:value pair"
    elif exc.msg.startswith("Extra data"):
        context = "after top-level value"
    elif exc.msg.startswith("Invalid control character"):
        context = "in string literal"
    elif exc.msg.startswith("Invalid \\"):
        context = "in string escape code"
    else:
        context = "looking for beginning of value"
    return f"invalid character {quoted} {context}"


def _innermost(doc: str, pos: int) -> str:
    """The innermost open bracket ('{' or '[') at `pos` of a JSON text, strings skipped."""
    stack: list[str] = []
    in_string = escaped = False
    for ch in doc[:pos]:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append(ch)
        elif ch in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else ""


class ServerThread:
    """Runs an `EmbeddedAPIServer` on its own event loop in a daemon thread, for synchronous callers.

    >>> thread = ServerThread(port=0); thread.start(); thread.url; thread.stop()
    """

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.server: EmbeddedAPIServer | None = None

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread = threading.Thread(target=self._run, name="issuer-apiserver", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the embedded API server did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        try:
            self.server = EmbeddedAPIServer(**self._kwargs)
            await self.server.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.server.stop()

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the server's loop and wait for its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def run(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        """Run a plain function on the server's loop (e.g. to touch the engine safely)."""
        async def wrapper() -> T:
            return fn()

        return self.call(wrapper(), timeout)

    def refuse_connections(self, seconds: float) -> None:
        assert self.server is not None
        self.call(self.server.refuse_connections(seconds))

    @property
    def srv(self) -> EmbeddedAPIServer:
        assert self.server is not None
        return self.server

    @property
    def url(self) -> str:
        return self.srv.url

    @property
    def kubeconfig_path(self) -> pathlib.Path:
        return self.srv.kubeconfig_path

    @property
    def faults(self) -> Faults:
        return self.srv.faults

    @property
    def request_log(self) -> RequestLog:
        return self.srv.request_log

    def add_fault(self, **kwargs: Any) -> Fault:
        return self.srv.faults.add(**kwargs)
