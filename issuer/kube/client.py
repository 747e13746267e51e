"""The operator's asynchronous Kubernetes API client: one shared aiohttp session with a bounded
connection pool, JSON in and out, every verb the controllers need (get, list with pagination, create,
replace, merge/JSON/strategic patches, server-side apply, the /status subresource, delete with
preconditions, watch, events), errors classified as `issuer.kube.errors` says, per-verb call counters for
the benchmarks and an optional QPS limit. Used by `issuer.operator`, the leader elector
(`issuer.kube.leader`), the command line and the tests; it never logs request or response bodies, so
Secret data stays out of logs and exception messages.

Usage::

    async with Client(config.load()) as kube:
        secret = await kube.get(resources.SECRETS, "tls", "default")       # dict, or None on 404
        await kube.apply(resources.SECRETS, body, field_manager="cert-manager-certificates-issuing",
                         force=True)
        async with contextlib.aclosing(kube.watch(resources.CERTIFICATES, resource_version=rv)) as events:
            async for type_, obj in events: ...
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime
import json
import logging
import random
import socket
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any, NamedTuple

import aiohttp

import issuer
from issuer.kube import config as kube_config
from issuer.kube import errors, events
from issuer.kube import resources as kube_resources

Resource = kube_resources.Resource
Obj = dict[str, Any]

log = logging.getLogger(__name__)

USER_AGENT = f"issuer/{issuer.__version__}"
DEFAULT_POOL_LIMIT = 32
DEFAULT_TIMEOUT = 30.0
DEFAULT_PAGE_SIZE = 500
DEFAULT_MAX_RETRIES = 3
MAX_BACKOFF = 10.0
WATCH_READ_SLACK = 30.0
"""A watch with `timeoutSeconds=N` fails as a transport error when nothing arrives for N + this."""

MAX_INLINE_RETRY_AFTER = 5.0
"""A 429 whose Retry-After is at most this many seconds is waited out and resent inside the call; longer
waits surface as `errors.TooManyRequests` so the caller can requeue instead of blocking."""

MUTATING_VERBS = frozenset({"create", "update", "patch", "apply", "delete"})

CONTENT_JSON = "application/json"
CONTENT_MERGE = "application/merge-patch+json"
CONTENT_JSON_PATCH = "application/json-patch+json"
CONTENT_STRATEGIC = "application/strategic-merge-patch+json"
CONTENT_APPLY = "application/apply-patch+yaml"


class WatchEvent(NamedTuple):
    """One line of a watch stream: `type` is ADDED, MODIFIED, DELETED or BOOKMARK."""

    type: str
    object: Obj


@dataclasses.dataclass(frozen=True)
class ObjectList:
    """A complete list (all pages): the items and the resourceVersion to start a watch from."""

    items: list[Obj]
    resource_version: str


class TokenBucket:
    """Client-side rate limit: `rate` requests per second with bursts of `burst`. `reserve` takes one
    token and answers how long the caller must wait for it (0 when one was available)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def reserve(self) -> float:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class Client:
    """An async client for one API server. Create it inside the event loop (or use `async with`); the
    aiohttp session is opened on first use and closed by `close()`.

    Namespaced verbs take `namespace`; when it is None they use the body's `metadata.namespace`
    (create/replace/apply) and otherwise fail with ValueError. `list`/`watch` with `namespace=None` span
    all namespaces.
    """

    def __init__(self, cluster: kube_config.ClusterConfig, *, pool_limit: int = DEFAULT_POOL_LIMIT,
                 timeout: float = DEFAULT_TIMEOUT, qps: float | None = None, burst: int = 10,
                 max_retries: int = DEFAULT_MAX_RETRIES, user_agent: str = USER_AGENT,
                 event_window: float = events.DEFAULT_WINDOW, instance: str | None = None) -> None:
        self.config = cluster
        self.pool_limit = pool_limit
        self.timeout = timeout
        self.max_retries = max_retries
        self.user_agent = user_agent
        self.instance = socket.gethostname() if instance is None else instance
        self._bucket = TokenBucket(qps, burst) if qps else None
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._calls: collections.Counter[tuple[str, str]] = collections.Counter()
        self._correlator = events.Correlator(window=event_window)
        self._event_locks: dict[events.EventKey, tuple[asyncio.Lock, list[int]]] = {}  # lock, [users]
        self._event_seq = 0

    # -- lifecycle ------------------------------------------------------------------------------------

    async def __aenter__(self) -> Client:
        self._ensure_session()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session and its pooled connections. The client cannot be used afterwards."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the client is closed")
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.pool_limit, limit_per_host=self.pool_limit,
                                             ssl=self.config.ssl if self.config.ssl is not None else True)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.user_agent, "Accept": CONTENT_JSON},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                json_serialize=_dumps_str,
            )
        return self._session

    # -- counters -------------------------------------------------------------------------------------

    @property
    def calls(self) -> dict[tuple[str, str], int]:
        """Requests sent so far by (verb, resource), e.g. ("apply", "secrets"), ("patch",
        "certificates.cert-manager.io/status"). Verbs: get list watch create update patch apply delete."""
        return dict(self._calls)

    def mutating_calls(self, resource: str | None = None) -> int:
        """How many create/update/patch/apply/delete requests were sent (for one resource, if given)."""
        return sum(n for (verb, res), n in self._calls.items()
                   if verb in MUTATING_VERBS and (resource is None or res == resource))

    def reset_calls(self) -> None:
        self._calls.clear()

    # -- reads ----------------------------------------------------------------------------------------

    async def get(self, res: Resource, name: str, namespace: str | None = None, *,
                  subresource: str | None = None) -> Obj | None:
        """The object, or None when it (or its namespace) does not exist."""
        path = res.path(self._namespace(res, namespace, None), name, subresource)
        try:
            return await self._json("get", res, "GET", path, subresource=subresource)
        except errors.NotFound:
            return None

    async def list(self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None,
                   field_selector: str | None = None, page_size: int = DEFAULT_PAGE_SIZE) -> ObjectList:
        """All matching objects, fetched `page_size` at a time with `continue` tokens. When a token
        expires mid-way (410), the list restarts in one unpaginated request, as client-go's pager does.
        Items get `apiVersion`/`kind` filled in (the API server leaves them out for built-ins)."""
        path = res.path(namespace if res.namespaced else None)
        base: list[tuple[str, str]] = []
        if label_selector:
            base.append(("labelSelector", label_selector))
        if field_selector:
            base.append(("fieldSelector", field_selector))
        items: list[Obj] = []
        token = ""
        while True:
            params = list(base)
            if page_size > 0:
                params.append(("limit", str(page_size)))
            if token:
                params.append(("continue", token))
            try:
                doc = await self._json("list", res, "GET", path, params=params)
            except errors.Gone:
                if not token:
                    raise
                log.debug("list %s: continue token expired, listing again without pages", res.qualified)
                items, token, page_size = [], "", 0
                continue
            for item in doc.get("items") or ():
                item.setdefault("apiVersion", res.api_version)
                item.setdefault("kind", res.kind)
                items.append(item)
            meta = doc.get("metadata") or {}
            token = str(meta.get("continue") or "")
            if not token:
                return ObjectList(items, str(meta.get("resourceVersion") or ""))

    # -- writes ---------------------------------------------------------------------------------------

    async def create(self, res: Resource, body: Mapping[str, Any], namespace: str | None = None, *,
                     dry_run: bool = False, field_manager: str | None = None) -> Obj:
        """POST a new object (`metadata.generateName` works); AlreadyExists when the name is taken."""
        ns = self._namespace(res, namespace, body)
        payload = _with_type(res, body, ns)
        return await self._json("create", res, "POST", res.path(ns), body=payload,
                                params=_write_params(dry_run, field_manager))

    async def replace(self, res: Resource, body: Mapping[str, Any], namespace: str | None = None, *,
                      dry_run: bool = False, field_manager: str | None = None, subresource: str | None = None) -> Obj:
        """PUT the whole object; its `metadata.resourceVersion` makes it conditional (409 Conflict if stale)."""
        ns = self._namespace(res, namespace, body)
        name = _name_of(body)
        return await self._json("update", res, "PUT", res.path(ns, name, subresource), body=_with_type(res, body, ns),
                                params=_write_params(dry_run, field_manager), subresource=subresource)

    async def replace_status(self, res: Resource, body: Mapping[str, Any], namespace: str | None = None, *,
                             dry_run: bool = False, field_manager: str | None = None) -> Obj:
        """PUT through the /status subresource: only `status` changes (and the resourceVersion check applies)."""
        return await self.replace(res, body, namespace, dry_run=dry_run, field_manager=field_manager,
                                  subresource="status")

    async def patch_merge(self, res: Resource, name: str, patch: Mapping[str, Any], namespace: str | None = None,
                          *, dry_run: bool = False, field_manager: str | None = None,
                          subresource: str | None = None) -> Obj:
        """JSON merge patch (RFC 7386): maps merge, `None` deletes, lists are replaced. A
        `metadata.resourceVersion` in the patch is a precondition."""
        return await self._patch(res, name, namespace, CONTENT_MERGE, patch, dry_run=dry_run,
                                 field_manager=field_manager, subresource=subresource)

    async def patch_json(self, res: Resource, name: str, operations: Sequence[Mapping[str, Any]],
                         namespace: str | None = None, *, dry_run: bool = False, field_manager: str | None = None,
                         subresource: str | None = None) -> Obj:
        """JSON patch (RFC 6902): a list of add/remove/replace/move/copy/test operations, applied atomically.
        A failed `test` is Invalid (422)."""
        return await self._patch(res, name, namespace, CONTENT_JSON_PATCH, list(operations), dry_run=dry_run,
                                 field_manager=field_manager, subresource=subresource)

    async def patch_strategic(self, res: Resource, name: str, patch: Mapping[str, Any],
                              namespace: str | None = None, *, dry_run: bool = False,
                              field_manager: str | None = None, subresource: str | None = None) -> Obj:
        """Strategic merge patch; built-in kinds only (custom resources answer UnsupportedMediaType)."""
        return await self._patch(res, name, namespace, CONTENT_STRATEGIC, patch, dry_run=dry_run,
                                 field_manager=field_manager, subresource=subresource)

    async def patch_status(self, res: Resource, name: str, patch: Mapping[str, Any], namespace: str | None = None,
                           *, dry_run: bool = False, field_manager: str | None = None) -> Obj:
        """Merge-patch the /status subresource."""
        return await self._patch(res, name, namespace, CONTENT_MERGE, patch, dry_run=dry_run,
                                 field_manager=field_manager, subresource="status")

    async def apply(self, res: Resource, body: Mapping[str, Any], namespace: str | None = None, *,
                    field_manager: str, force: bool = False, dry_run: bool = False,
                    subresource: str | None = None) -> Obj:
        """Server-side apply: the fields in `body` become owned by `field_manager`; the object is created
        if missing. `force=True` takes over fields owned by other managers instead of a 409 Conflict
        (cert-manager writes Secrets with `force=True`)."""
        ns = self._namespace(res, namespace, body)
        name = _name_of(body)
        params = _write_params(dry_run, field_manager)
        if force:
            params.append(("force", "true"))
        return await self._json("apply", res, "PATCH", res.path(ns, name, subresource), body=_with_type(res, body, ns),
                                params=params, content_type=CONTENT_APPLY, subresource=subresource)

    async def _patch(self, res: Resource, name: str, namespace: str | None, content_type: str, patch: Any, *,
                     dry_run: bool, field_manager: str | None, subresource: str | None) -> Obj:
        path = res.path(self._namespace(res, namespace, None), name, subresource)
        return await self._json("patch", res, "PATCH", path, body=patch, params=_write_params(dry_run, field_manager),
                                content_type=content_type, subresource=subresource)

    async def delete(self, res: Resource, name: str, namespace: str | None = None, *,
                     propagation_policy: str | None = None, uid: str | None = None,
                     resource_version: str | None = None, grace_period_seconds: int | None = None,
                     dry_run: bool = False) -> bool:
        """DELETE the object: True when the server accepted it (it may linger until its finalizers are
        gone), False when it did not exist. `uid`/`resource_version` are preconditions (409 Conflict on
        mismatch); `propagation_policy` is Background, Foreground or Orphan."""
        options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        preconditions = {k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v}
        if preconditions:
            options["preconditions"] = preconditions
        if dry_run:
            options["dryRun"] = ["All"]
        path = res.path(self._namespace(res, namespace, None), name)
        try:
            await self._json("delete", res, "DELETE", path, body=options, params=_write_params(dry_run, None))
        except errors.NotFound:
            return False
        return True

    async def modify(self, res: Resource, name: str, namespace: str | None,
                     mutate: Callable[[Obj], Obj | None], *, attempts: int = 5, status: bool = False) -> Obj | None:
        """Read-modify-write with optimistic concurrency (client-go's RetryOnConflict): GET the object,
        let `mutate` change it (returning the new object, or None to leave it alone), PUT it with the
        read resourceVersion, and start over on 409 Conflict. None when the object does not exist."""
        for attempt in range(attempts):
            current = await self.get(res, name, namespace)
            if current is None:
                return None
            updated = mutate(current)
            if updated is None:
                return current
            try:
                if status:
                    return await self.replace_status(res, updated, namespace)
                return await self.replace(res, updated, namespace)
            except errors.Conflict:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(random.uniform(0, min(0.01 * 2 ** attempt, 0.5)))
        raise AssertionError("unreachable")

    # -- watch ----------------------------------------------------------------------------------------

    async def watch(self, res: Resource, namespace: str | None = None, *, resource_version: str | None = None,
                    label_selector: str | None = None, field_selector: str | None = None,
                    allow_bookmarks: bool = True, timeout_seconds: int | None = None,
                    send_initial_events: bool = False) -> AsyncGenerator[WatchEvent, None]:
        """Stream changes as `WatchEvent(type, object)`: ADDED, MODIFIED, DELETED and (with
        `allow_bookmarks`) BOOKMARK, whose object carries only the latest resourceVersion. Without
        `resource_version` the server first sends ADDED for every current object. Ends when the server
        closes the stream (`timeout_seconds`); raises `errors.Gone` when `resource_version` is too old
        (list again), other `KubeError`s for other ERROR events. Close it early with
        `contextlib.aclosing(...)` so the connection goes back to the pool at once."""
        params: list[tuple[str, str]] = [("watch", "true")]
        if resource_version:
            params.append(("resourceVersion", resource_version))
        if label_selector:
            params.append(("labelSelector", label_selector))
        if field_selector:
            params.append(("fieldSelector", field_selector))
        if allow_bookmarks:
            params.append(("allowWatchBookmarks", "true"))
        if timeout_seconds is not None:
            params.append(("timeoutSeconds", str(timeout_seconds)))
        if send_initial_events:
            params += [("sendInitialEvents", "true"), ("resourceVersionMatch", "NotOlderThan")]
        path = res.path(namespace if res.namespaced else None)
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.timeout,
            sock_read=None if timeout_seconds is None else timeout_seconds + WATCH_READ_SLACK)
        response = await self._send("watch", res, "GET", path, params=params, timeout=timeout)
        try:
            if response.status >= 400:
                raise await self._error(response, "GET", path)
            buffer = b""
            try:
                async for chunk in response.content.iter_any():
                    buffer += chunk
                    while True:
                        line, sep, rest = buffer.partition(b"\n")
                        if not sep:
                            break
                        buffer = rest
                        if line.strip():
                            yield _watch_event(line)
            except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, TimeoutError) as exc:
                raise errors.TransportError(f"watch {res.qualified}: stream broken: {_describe(exc)}") from None
            if buffer.strip():
                yield _watch_event(buffer)
        finally:
            response.release()

    # -- events ---------------------------------------------------------------------------------------

    async def post_event(self, involved_object: Mapping[str, Any], type: str, reason: str, message: str,
                         component: str) -> Obj:
        """Record a core v1 Event about `involved_object` (a full object, or an ObjectReference with
        apiVersion/kind/name/namespace/uid). A repeat of the same (object, type, reason, message,
        component) within the aggregation window PATCHes `count` and `lastTimestamp` of the Event written
        before instead of creating another. Raises `KubeError` like every verb; callers that treat events
        as best effort catch it."""
        ref = events.involved_reference(involved_object) if "metadata" in involved_object else dict(involved_object)
        key = events.event_key(ref, type, reason, message, component)
        lock, users = self._event_locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:  # one post per key at a time, so repeats see the Event the first one wrote
                return await self._post_event_locked(key, ref, type_=type, reason=reason, message=message,
                                                     component=component)
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._event_locks[key]

    async def _post_event_locked(self, key: events.EventKey, ref: Obj, *, type_: str, reason: str, message: str,
                                 component: str) -> Obj:
        now = datetime.datetime.now(datetime.UTC)
        seen = self._correlator.lookup(key, time.monotonic())
        if seen is not None:
            try:
                updated = await self.patch_merge(kube_resources.EVENTS, seen.name,
                                                 events.repeat_patch(seen.count + 1, now), seen.namespace)
            except errors.NotFound:
                self._correlator.forget(key)
            else:
                self._correlator.remember(key, seen.namespace, seen.name, seen.count + 1, time.monotonic())
                return updated
        for _ in range(3):
            self._event_seq = (self._event_seq + 1) % 1000
            body = events.build(ref, type_, reason, message, component, now=now, host=self.instance,
                                seq=self._event_seq)
            try:
                created = await self.create(kube_resources.EVENTS, body)
            except errors.AlreadyExists:
                continue
            meta = created.get("metadata") or {}
            self._correlator.remember(key, str(meta.get("namespace") or body["metadata"]["namespace"]),
                                      str(meta.get("name") or body["metadata"]["name"]), 1, time.monotonic())
            return created
        raise errors.Conflict(f"could not find a free name for an event about {ref.get('name')}")

    # -- transport ------------------------------------------------------------------------------------

    def _namespace(self, res: Resource, namespace: str | None, body: Mapping[str, Any] | None) -> str | None:
        if not res.namespaced:
            return None
        if namespace:
            return namespace
        if body is not None:
            ns = (body.get("metadata") or {}).get("namespace")
            if ns:
                return str(ns)
        raise ValueError(f"{res.qualified} is namespaced: pass a namespace")

    async def _json(self, verb: str, res: Resource, method: str, path: str, *,
                    params: Sequence[tuple[str, str]] = (), body: Any = None, content_type: str = CONTENT_JSON,
                    subresource: str | None = None) -> Obj:
        response = await self._send(verb, res, method, path, params=params, body=body, content_type=content_type,
                                    subresource=subresource)
        try:
            if response.status >= 400:
                raise await self._error(response, method, path)
            data = await response.read()
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise errors.TransportError(f"{method} {path}: {_describe(exc)}") from None
        finally:
            response.release()
        try:
            doc = json.loads(data)
        except ValueError:
            raise errors.ServerError(f"{method} {path}: the answer is not JSON", status=response.status) from None
        if not isinstance(doc, dict):
            raise errors.ServerError(f"{method} {path}: the answer is not a JSON object", status=response.status)
        return doc

    async def _send(self, verb: str, res: Resource, method: str, path: str, *,
                    params: Sequence[tuple[str, str]] = (), body: Any = None, content_type: str = CONTENT_JSON,
                    subresource: str | None = None, timeout: aiohttp.ClientTimeout | None = None,
                    ) -> aiohttp.ClientResponse:
        """Send one request (retrying connection failures and 429s with Retry-After) and answer the
        response with its body unread. The caller releases it."""
        session = self._ensure_session()
        data = None if body is None else _dumps(body)
        counter_key = (verb, res.qualified + (f"/{subresource}" if subresource else ""))
        url = self.config.server + path
        for attempt in range(self.max_retries + 1):
            if self._bucket is not None:
                wait = self._bucket.reserve()
                if wait > 0:
                    await asyncio.sleep(wait)
            headers = self.config.auth_headers()
            if data is not None:
                headers["Content-Type"] = content_type
            self._calls[counter_key] += 1
            started = time.monotonic()
            extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
            if self.config.tls_server_name:
                extra["server_hostname"] = self.config.tls_server_name
            try:
                response = await session.request(method, url, params=list(params), data=data, headers=headers,
                                                 **extra)
            except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError) as exc:
                # Not connected, or a pooled keep-alive connection the server had closed: safe to resend
                # when nothing was processed (connect) or the request is idempotent.
                safe = (isinstance(exc, aiohttp.ClientConnectorError) or method == "GET") \
                    and not isinstance(exc, aiohttp.ClientSSLError)  # a TLS failure will not heal in a second
                if safe and attempt < self.max_retries:
                    await asyncio.sleep(_backoff(attempt))
                    continue
                raise errors.TransportError(f"{method} {path}: {_describe(exc)}") from None
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise errors.TransportError(f"{method} {path}: {_describe(exc)}") from None
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s -> %d (%.1f ms)", method, path, response.status, (time.monotonic() - started) * 1e3)
            if response.status == 429 and attempt < self.max_retries:
                delay = errors.parse_retry_after(response.headers.get("Retry-After"))
                if delay is not None and delay <= MAX_INLINE_RETRY_AFTER:
                    response.release()
                    await asyncio.sleep(delay)
                    continue
            return response
        raise AssertionError("unreachable")

    async def _error(self, response: aiohttp.ClientResponse, method: str, path: str) -> errors.KubeError:
        try:
            body = await response.read()
        except (aiohttp.ClientError, TimeoutError):
            body = b""
        return errors.from_response(response.status, body, retry_after=response.headers.get("Retry-After"),
                                    fallback=f"{method} {path} answered HTTP {response.status}")


def _watch_event(line: bytes) -> WatchEvent:
    try:
        doc = json.loads(line)
    except ValueError:
        raise errors.TransportError("watch: a line of the stream is not JSON") from None
    type_ = str(doc.get("type") or "") if isinstance(doc, dict) else ""
    obj = doc.get("object") if isinstance(doc, dict) else None
    if not type_ or not isinstance(obj, dict):
        raise errors.TransportError("watch: a line of the stream is not a watch event")
    if type_ == "ERROR":
        code = obj.get("code")
        raise errors.from_status(code if isinstance(code, int) else 500, obj, fallback="watch error")
    return WatchEvent(type_, obj)


def _with_type(res: Resource, body: Mapping[str, Any], namespace: str | None) -> Obj:
    """A shallow copy of `body` with apiVersion/kind (and the namespace) filled in when absent."""
    out = dict(body)
    out.setdefault("apiVersion", res.api_version)
    out.setdefault("kind", res.kind)
    if namespace:
        meta = dict(out.get("metadata") or {})
        meta.setdefault("namespace", namespace)
        out["metadata"] = meta
    return out


def _name_of(body: Mapping[str, Any]) -> str:
    name = (body.get("metadata") or {}).get("name")
    if not name:
        raise ValueError("the object has no metadata.name")
    return str(name)


def _write_params(dry_run: bool, field_manager: str | None) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    if dry_run:
        params.append(("dryRun", "All"))
    if field_manager:
        params.append(("fieldManager", field_manager))
    return params


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _dumps_str(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _backoff(attempt: int) -> float:
    return float(min(0.05 * 2 ** attempt, MAX_BACKOFF))


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = [
    "CONTENT_APPLY", "CONTENT_JSON_PATCH", "CONTENT_MERGE", "CONTENT_STRATEGIC", "USER_AGENT",
    "Client", "ObjectList", "Resource", "TokenBucket", "WatchEvent",
]
