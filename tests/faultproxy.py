"""A fault-injecting reverse proxy in front of a real kube-apiserver, so that tests written for the embedded
API server's knobs (issuer/testing/faults.py: `add_fault`, `faults`, `request_log`, `refuse_connections`)
run unchanged against tests/realkube.py's control plane.

`FaultProxy(upstream_url, ca_file, serving_cert, serving_key).start()` serves HTTPS on a free 127.0.0.1 port
(`.url`) with the control plane's own serving certificate, so a client that trusts the cluster CA trusts the
proxy too; it forwards every request (method, path, query, headers but the hop-by-hop ones, the body streamed)
over HTTP/1.1 keep-alive connections to the upstream (TLS verified with `ca_file`) and streams the answer back
as it comes, watches chunk by chunk. Before forwarding, a request is matched against `faults` with the verb,
resource (``certificates/status``), namespace and name the embedded server would derive (`request_info`): a
matched rule with a status answers it with a Kubernetes Status body (and Retry-After) without forwarding, a
delay sleeps first, and `drop_after=N` on a watch cuts the stream after N complete events. Every request
lands in `request_log` as a `RequestRecord` (watches when their headers are sent, like the embedded server).

Identity: the `Authorization` header passes through untouched, so bearer tokens (ServiceAccount tokens, the
operator's) are authenticated and authorised by the real server. A client certificate ends at the proxy's TLS;
with `front_proxy=(crt, key)` the proxy forwards such a request as an authenticating front proxy (the
requestheader mechanism of kube-aggregator: its own certificate plus X-Remote-User/X-Remote-Group taken from
the verified certificate's CN and O), which the API server accepts when started with `front_proxy_args`;
without it the request reaches the server anonymous.

Callers: tests/apiserver/test_faultproxy.py; meant for the `real` backend of tests/controller/conftest.py's
`Cluster`, whose operator would talk to the proxy through a kubeconfig written by `kubeconfig_via` and whose
`server` would return it. A forwarded request is logged before its client can have the whole answer.

Not modelled: protocol upgrades (exec, attach, port-forward: SPDY/WebSocket), HTTP/2 (clients fall back to
HTTP/1.1 through ALPN), X-Remote-Extra and UID headers for certificate identities, faults on discovery and
/openapi paths (as on the embedded server, only resource requests and /healthz, /readyz, /livez match rules),
and `drop_after` counts every line (or protobuf frame) of a watch, BOOKMARKs included.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import pathlib
import socket
import ssl
import threading
import time
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar
from urllib.parse import unquote

import aiohttp
import yaml
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from issuer.testing.faults import Fault, Faults, RequestLog, RequestRecord

T = TypeVar("T")

FRONT_PROXY_NAME = "front-proxy"
USER_HEADER, GROUP_HEADER, EXTRA_PREFIX = "X-Remote-User", "X-Remote-Group", "X-Remote-Extra-"
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailer", "trailers", "transfer-encoding", "upgrade", "proxy-connection"})
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})  # /namespaces/{name}/{this} is not a namespaced kind
HEALTH = frozenset({"healthz", "readyz", "livez"})


def front_proxy_args(client_ca_file: str | os.PathLike[str], name: str = FRONT_PROXY_NAME) -> tuple[str, ...]:
    """kube-apiserver flags trusting a proxy whose client certificate (CN `name`, signed by `client_ca_file`)
    asserts the user and groups of the clients it forwards."""
    return ("--requestheader-client-ca-file", str(client_ca_file), "--requestheader-allowed-names", name,
            "--requestheader-username-headers", USER_HEADER, "--requestheader-group-headers", GROUP_HEADER,
            "--requestheader-extra-headers-prefix", EXTRA_PREFIX)


# -- what a request is, as the embedded server sees it ---------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RequestInfo:
    """The verb and resource of a request; `faultable` when fault rules apply to it."""

    verb: str
    resource: str = ""
    namespace: str | None = None
    name: str | None = None
    faultable: bool = False


def _true(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1", "")


def request_info(method: str, path: str, query: Mapping[str, str]) -> RequestInfo:
    """The verb (get, list, watch, create, update, patch, delete, deletecollection), resource plural with its
    subresource, namespace and name of a request, derived from the path alone the way issuer/testing/server.py
    routes it (which needs its registry and has no reusable function for this). Non-resource paths get the
    method as verb and no resource; of those only /healthz, /readyz and /livez (verb get) are faultable."""
    parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
    if len(parts) == 1 and parts[0] in HEALTH:
        return RequestInfo("get", faultable=True)
    if parts and parts[0] == "openapi":
        return RequestInfo("get")
    if parts and parts[0] == "api" and len(parts) >= 3:
        rest = parts[2:]
    elif parts and parts[0] == "apis" and len(parts) >= 4:
        rest = parts[3:]
    else:
        return RequestInfo(method.lower())  # root, /version, discovery documents, unknown paths
    watch_path = rest[0] == "watch"
    if watch_path:
        rest = rest[1:]
    if not rest:
        return RequestInfo(method.lower())
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if method in ("GET", "HEAD"):
        watch = watch_path or ("watch" in query and _true(query.get("watch")))
        verb = "watch" if watch else ("get" if name else "list")
    elif method == "POST":
        verb = "create"
    elif method == "PUT":
        verb = "update"
    elif method == "PATCH":
        verb = "patch"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = method.lower()
    return RequestInfo(verb, plural + (f"/{sub}" if sub else ""), namespace, name, faultable=True)


class _EventCounter:
    """Counts complete watch events in a byte stream: JSON lines, or length-prefixed protobuf frames."""

    def __init__(self, content_type: str) -> None:
        self.protobuf = "protobuf" in content_type
        self.pending = 0  # protobuf: bytes left of the current frame (or of its 4-byte length)
        self.header = b""

    def cut(self, chunk: bytes, remaining: int) -> tuple[int, int]:
        """How many bytes of `chunk` to forward to end at most `remaining` events, and how many events end."""
        if not self.protobuf:
            ends, at = 0, 0
            while ends < remaining:
                found = chunk.find(b"\n", at)
                if found < 0:
                    return len(chunk), ends
                ends, at = ends + 1, found + 1
            return at, ends
        ends, at = 0, 0
        while at < len(chunk) and ends < remaining:
            if self.pending:
                take = min(self.pending, len(chunk) - at)
                self.pending -= take
                at += take
                if not self.pending:
                    ends += 1
                continue
            need = 4 - len(self.header)
            self.header += chunk[at:at + need]
            at += min(need, len(chunk) - at)
            if len(self.header) == 4:
                self.pending = int.from_bytes(self.header, "big")
                self.header = b""
                if not self.pending:
                    ends += 1
        return at, ends


# -- the proxy -------------------------------------------------------------------------------------------

class FaultProxy:
    """The proxy in a daemon thread with its own event loop: `start()`, `url`, `stop()`.

    >>> proxy = FaultProxy(plane.url, plane.ca_file, pki / "serving.crt", pki / "serving.key").start()
    >>> proxy.add_fault(verb="create", resource="configmaps", status=500, times=1)
    """

    def __init__(self, upstream_url: str, ca_file: str | os.PathLike[str], serving_cert: str | os.PathLike[str],
                 serving_key: str | os.PathLike[str], *, client_ca_file: str | os.PathLike[str] | None = None,
                 front_proxy: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None = None,
                 host: str = "127.0.0.1", port: int = 0, request_log_size: int = 100_000, seed: int = 0) -> None:
        self.upstream_url = upstream_url.rstrip("/")
        self.ca_file = str(ca_file)
        self.client_ca_file = str(client_ca_file or ca_file)
        self.serving_cert, self.serving_key = str(serving_cert), str(serving_key)
        self.front_proxy = (str(front_proxy[0]), str(front_proxy[1])) if front_proxy else None
        self.host = host
        self.port = port
        self.faults = Faults(seed)
        self.request_log = RequestLog(request_log_size)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._done: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self._server_ssl: ssl.SSLContext | None = None
        self._plain: aiohttp.ClientSession | None = None  # no client certificate: tokens, anonymous
        self._as_proxy: aiohttp.ClientSession | None = None  # the front-proxy certificate
        self._refuse_task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    # -- life cycle (any thread) -----------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> FaultProxy:
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the fault proxy did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        loop, done = self._loop, self._done
        if loop is not None and done is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(done.set)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_fault(self, **kwargs: Any) -> Fault:
        return self.faults.add(**kwargs)

    def refuse_connections(self, seconds: float) -> None:
        """Close the listener and every open connection (watches included), and listen again on the same
        port after `seconds`; returns at once."""
        self._call(self._refuse(seconds))

    def kubeconfig_via(self, source: str | os.PathLike[str], target: str | os.PathLike[str]) -> pathlib.Path:
        """A copy of kubeconfig `source` whose clusters point at the proxy (same CA, same credentials)."""
        config = yaml.safe_load(pathlib.Path(source).read_text())
        for cluster in config.get("clusters") or []:
            cluster["cluster"]["server"] = self.url
        path = pathlib.Path(target)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(config, f)
        return path

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        assert self._loop is not None, "the proxy is not running"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    # -- on the proxy's loop ---------------------------------------------------------------------------
    async def _main(self) -> None:
        self._done = asyncio.Event()
        try:
            await self._open()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            await self._close()
            return
        self._ready.set()
        try:
            await self._done.wait()
        finally:
            await self._close()

    async def _open(self) -> None:
        served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        served.load_cert_chain(self.serving_cert, self.serving_key)
        served.load_verify_locations(self.client_ca_file)
        served.verify_mode = ssl.CERT_OPTIONAL  # a client certificate is checked when one is offered
        served.set_alpn_protocols(["http/1.1"])
        self._server_ssl = served
        self._plain = self._session(None)
        if self.front_proxy is not None:
            self._as_proxy = self._session(self.front_proxy)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True)
        await self._runner.setup()
        await self._listen()

    def _session(self, cert: tuple[str, str] | None) -> aiohttp.ClientSession:
        context = ssl.create_default_context(cafile=self.ca_file)
        context.set_alpn_protocols(["http/1.1"])
        if cert is not None:
            context.load_cert_chain(*cert)
        connector = aiohttp.TCPConnector(ssl=context, limit=0)  # no cap: every watch holds a connection
        return aiohttp.ClientSession(connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
                                     timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))

    async def _listen(self) -> None:
        assert self._runner is not None and self._runner.server is not None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(1024)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self._server = await asyncio.get_running_loop().create_server(self._runner.server, sock=sock,
                                                                      ssl=self._server_ssl)

    def _drop_connections(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._runner is not None and self._runner.server is not None:
            for handler in list(self._runner.server.connections):
                if handler.transport is not None:
                    handler.transport.abort()

    async def _refuse(self, seconds: float) -> None:
        if self._refuse_task is not None:
            self._refuse_task.cancel()
        self._drop_connections()

        async def reopen() -> None:
            await asyncio.sleep(seconds)
            if not self._stopping:
                await self._listen()

        self._refuse_task = asyncio.get_running_loop().create_task(reopen())

    async def _close(self) -> None:
        self._stopping = True
        if self._refuse_task is not None:
            self._refuse_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refuse_task
        self._drop_connections()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for session in (self._plain, self._as_proxy):
            if session is not None:
                await session.close()
        self._plain = self._as_proxy = None

    # -- a request -------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started, t0 = time.time(), time.perf_counter()
        info = request_info(request.method, request.path, request.query)
        status = 502
        logged = False

        def log(code: int) -> None:
            self.request_log.append(RequestRecord(
                request.method, request.path, request.query_string, code, time.perf_counter() - t0,
                request.headers.get("User-Agent", ""), started, info.verb, info.resource))

        try:
            fault = self.faults.match(info.verb, info.resource or None, info.namespace, info.name) \
                if info.faultable else None
            drop_after: int | None = None
            if fault is not None:
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status:
                    status = fault.status
                    answer = {"Content-Type": "application/json"}
                    if fault.retry_after is not None:
                        answer["Retry-After"] = str(int(fault.retry_after))
                    return web.Response(body=json.dumps(fault.status_body()).encode(), status=status,
                                        headers=answer)
                if info.verb == "watch":
                    drop_after = fault.drop_after
            session, headers = self._upstream_headers(request)
            body = request.content if request.body_exists else None
            try:
                upstream = await session.request(
                    request.method, self.upstream_url + request.path_qs, headers=headers, data=body,
                    allow_redirects=False, skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent",
                                                              "Content-Type"))
            except aiohttp.ClientConnectionError as exc:
                status = 503
                return web.Response(status=status, content_type="application/json", text=json.dumps({
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "code": status,
                    "reason": "ServiceUnavailable", "message": f"fault proxy: upstream unreachable: {exc}"}))
            async with upstream:
                status = upstream.status
                response = web.StreamResponse(status=upstream.status, reason=upstream.reason,
                                              headers=_end_to_end(upstream.headers))
                if info.verb == "watch" or upstream.content.is_eof():
                    log(status)  # a watch when it starts (as the embedded server does), anything else before
                    logged = True  # the client can have all of its answer
                await response.prepare(request)
                counter = _EventCounter(upstream.headers.get("Content-Type", ""))
                async for chunk in upstream.content.iter_any():
                    if drop_after is None:
                        if not logged and upstream.content.is_eof():
                            log(status)
                            logged = True
                        await response.write(chunk)
                        continue
                    size, ended = counter.cut(chunk, drop_after)
                    if size:
                        await response.write(chunk[:size])
                    drop_after -= ended
                    if drop_after <= 0:  # abruptly: the written events are flushed, the chunked body never ends
                        if request.transport is not None:
                            request.transport.close()
                        return response
                if not logged:
                    log(status)
                    logged = True
                await response.write_eof()
                return response
        except (ConnectionError, asyncio.CancelledError):
            status = 499
            raise
        finally:
            if not logged:
                log(status)

    def _upstream_headers(self, request: web.Request) -> tuple[aiohttp.ClientSession, CIMultiDict[str]]:
        """The session to forward with (as front proxy for a verified client certificate) and the headers."""
        headers = _end_to_end(request.headers)
        headers.popall("Host", None)
        for key in {k for k in headers if k.lower().startswith("x-remote-")}:
            headers.popall(key, None)  # only the proxy asserts identities (Impersonate-* pass: the server judges)
        assert self._plain is not None
        peer = request.transport.get_extra_info("peercert") if request.transport is not None else None
        if not peer or self._as_proxy is None:
            return self._plain, headers
        user, groups = _identity(peer)
        if user is None:
            return self._plain, headers
        headers[USER_HEADER] = user
        for group in groups:
            headers.add(GROUP_HEADER, group)
        return self._as_proxy, headers


def _end_to_end(headers: CIMultiDictProxy[str] | CIMultiDict[str]) -> CIMultiDict[str]:
    """`headers` without the hop-by-hop ones (RFC 9110 7.6.1), those named by Connection included."""
    named = {token.strip().lower() for value in headers.getall("Connection", []) for token in value.split(",")}
    out: CIMultiDict[str] = CIMultiDict()
    for key, value in headers.items():
        if key.lower() not in HOP_BY_HOP and key.lower() not in named:
            out.add(key, value)
    return out


def _identity(peer: dict[str, Any]) -> tuple[str | None, list[str]]:
    """The Kubernetes user (CN) and groups (O) of a verified client certificate, as ssl decodes it."""
    user: str | None = None
    groups: list[str] = []
    for rdn in peer.get("subject", ()):
        for key, value in rdn:
            if key == "commonName" and user is None:
                user = value
            elif key == "organizationName":
                groups.append(value)
    return user, groups
