"""A small list-then-watch loop with a local cache, client-go's Reflector in miniature: list, then watch
from the list's resourceVersion; re-watch from the last seen resourceVersion when a stream ends or
breaks; re-list when the server answers 410 Gone, reporting what changed meanwhile as synthetic ADDED,
MODIFIED and DELETED events so consumers never miss a deletion. For callers that do not watch through
kopf (the leader's scheduler, benchmarks, tools); `diff` is the pure relist comparison.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from issuer.kube import client as kube_client
from issuer.kube import errors

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects

MAX_BACKOFF = 30.0


def key_of(obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def resource_version_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def diff(cached: Mapping[Key, Obj], listed: list[Obj]) -> list[kube_client.WatchEvent]:
    """The events that turn `cached` into `listed`: ADDED for new keys, MODIFIED when the
    resourceVersion differs (or the uid: the object was recreated), DELETED (with the last known
    object) for keys that are gone. Ordered: deletions first, then additions and changes by key."""
    fresh = {key_of(obj): obj for obj in listed}
    out = [kube_client.WatchEvent("DELETED", cached[k]) for k in sorted(cached) if k not in fresh]
    for k in sorted(fresh):
        obj = fresh[k]
        old = cached.get(k)
        if old is None:
            out.append(kube_client.WatchEvent("ADDED", obj))
        elif resource_version_of(old) != resource_version_of(obj):
            old_uid = (old.get("metadata") or {}).get("uid")
            new_uid = (obj.get("metadata") or {}).get("uid")
            if old_uid and new_uid and old_uid != new_uid:
                out += [kube_client.WatchEvent("DELETED", old), kube_client.WatchEvent("ADDED", obj)]
            else:
                out.append(kube_client.WatchEvent("MODIFIED", obj))
    return out


class Informer:
    """Keeps `cache` in step with the server for one resource (and selectors) and yields each change.

    ``async for type_, obj in informer.events(): ...`` runs until cancelled. `synced` is set after the
    first list has been delivered. Transient errors (including Terminal ones such as 403, which RBAC
    fixes may cure) are logged and retried with capped exponential backoff.
    """

    def __init__(self, client: kube_client.Client, res: kube_client.Resource, namespace: str | None = None, *,
                 label_selector: str | None = None, field_selector: str | None = None,
                 watch_timeout: int = 300, page_size: int = kube_client.DEFAULT_PAGE_SIZE) -> None:
        self.client = client
        self.res = res
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.watch_timeout = watch_timeout
        self.page_size = page_size
        self.cache: dict[Key, Obj] = {}
        self.resource_version = ""
        self.synced = asyncio.Event()
        self.relists = 0

    async def events(self) -> AsyncGenerator[kube_client.WatchEvent, None]:
        failures = 0
        need_list = True
        loop = asyncio.get_running_loop()
        while True:
            try:
                if need_list:
                    listed = await self.client.list(self.res, self.namespace, label_selector=self.label_selector,
                                                    field_selector=self.field_selector, page_size=self.page_size)
                    self.relists += 1
                    changes = diff(self.cache, listed.items)
                    self.cache = {key_of(obj): obj for obj in listed.items}
                    self.resource_version = listed.resource_version
                    need_list = False
                    for event in changes:
                        yield event
                    self.synced.set()
                stream = self.client.watch(
                    self.res, self.namespace, resource_version=self.resource_version,
                    label_selector=self.label_selector, field_selector=self.field_selector,
                    allow_bookmarks=True, timeout_seconds=self.watch_timeout)
                started, delivered = loop.time(), 0
                async with contextlib.aclosing(stream):
                    async for event in stream:
                        failures, delivered = 0, delivered + 1
                        rv = resource_version_of(event.object)
                        if rv:
                            self.resource_version = rv
                        if event.type == "BOOKMARK":
                            continue
                        k = key_of(event.object)
                        if event.type == "DELETED":
                            self.cache.pop(k, None)
                        else:
                            self.cache[k] = event.object
                        yield event
                if not delivered and loop.time() - started < 1.0:
                    await asyncio.sleep(1.0)  # a stream that ends at once must not make a busy loop
            except errors.Gone:
                log.info("%s: resourceVersion %s is too old, listing again", self.res.qualified,
                         self.resource_version)
                need_list = True
            except errors.KubeError as exc:
                failures += 1
                delay = min(MAX_BACKOFF, 0.1 * 2 ** min(failures, 10)) * random.uniform(0.5, 1.0)
                if isinstance(exc, errors.Retryable):
                    delay = max(delay, exc.delay)
                log.warning("%s: %s; retrying in %.1fs", self.res.qualified, exc, delay)
                await asyncio.sleep(delay)
