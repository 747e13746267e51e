"""The object store of the embedded API server: one dict per storage bucket keyed by (namespace, name),
the cluster-wide resourceVersion counter, a bounded history deque of watch events (to replay watches
from an RV or answer 410 Gone) and the registered watchers. Stored objects are never mutated (copy on
write): readers get shared references, and each object's JSON encoding is cached once and reused by
lists, GETs and every watcher. Indexes by uid, by owner uid and per-namespace counts keep writes O(1)
apart from the watcher fan-out. It knows nothing of HTTP or of Kubernetes semantics (see engine.py)."""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import Callable, Iterable
from typing import Any

from issuer.testing.resources import Obj, StoreKey

Key = tuple[str, str]  # (namespace, name); namespace "" when cluster-scoped


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class Entry:
    """A stored object and its cached JSON encoding (storage version)."""

    __slots__ = ("obj", "raw")

    def __init__(self, obj: Obj) -> None:
        self.obj = obj
        self.raw: bytes | None = None

    def encoded(self) -> bytes:
        if self.raw is None:
            self.raw = dumps(self.obj)
        return self.raw


class WatchEvent:
    """A committed change. `old` is the previous state (MODIFIED/DELETED), used for selector
    transitions. Encoded lines are cached per (type, apiVersion) and shared between watchers."""

    __slots__ = ("_gone", "entry", "key", "lines", "old", "rv", "store_key", "type")

    def __init__(self, type_: str, rv: int, store_key: StoreKey, key: Key, entry: Entry,
                 old: Obj | None) -> None:
        self.type = type_
        self.rv = rv
        self.store_key = store_key
        self.key = key
        self.entry = entry
        self.old = old
        self.lines: dict[tuple[str, str], bytes] = {}
        self._gone: WatchEvent | None = None

    @property
    def obj(self) -> Obj:
        return self.entry.obj

    def gone(self) -> WatchEvent:
        """The DELETED a watcher sees when this change makes the object stop matching its selector: as kube's
        watch cache sends it, the previous state of the object with this event's resourceVersion."""
        if self._gone is None:
            before = self.old if self.old is not None else self.obj
            md = dict(before.get("metadata") or {}, resourceVersion=str(self.rv))
            self._gone = WatchEvent("DELETED", self.rv, self.store_key, self.key, Entry({**before, "metadata": md}),
                                    before)
        return self._gone


Matcher = Callable[[Obj], bool]


class Watcher:
    """One open watch: a namespace scope, a matcher (selectors) and a queue of (type, event) items.
    A `None` item asks the stream to close."""

    def __init__(self, store_key: StoreKey, namespace: str | None, matcher: Matcher | None) -> None:
        self.store_key = store_key
        self.namespace = namespace
        self.matcher = matcher
        self.queue: asyncio.Queue[tuple[str, WatchEvent] | None] = asyncio.Queue()

    def _matches(self, key: Key, obj: Obj | None) -> bool:
        if obj is None:
            return False
        if self.namespace is not None and key[0] != self.namespace:
            return False
        return self.matcher is None or self.matcher(obj)

    def translate(self, event: WatchEvent) -> str | None:
        """The event type this watcher sees for `event`, or None (selector transitions included)."""
        now = self._matches(event.key, event.obj)
        if event.type == "ADDED":
            return "ADDED" if now else None
        if event.type == "DELETED":
            return "DELETED" if now or (self.matcher is not None and self._matches(event.key, event.old)) \
                else None
        if self.matcher is None:
            return "MODIFIED" if now else None
        before = self._matches(event.key, event.old)
        if now and before:
            return "MODIFIED"
        if now:
            return "ADDED"
        if before:
            return "DELETED"
        return None

    def offer(self, event: WatchEvent) -> None:
        kind = self.translate(event)
        if kind is not None:
            self.queue.put_nowait((kind, event))

    def close(self) -> None:
        self.queue.put_nowait(None)


class Store:
    """Buckets of objects, the RV counter, history and watchers."""

    def __init__(self, history_window: int = 20000) -> None:
        self.rv = 0
        self.buckets: dict[StoreKey, dict[Key, Entry]] = collections.defaultdict(dict)
        self.history: collections.deque[WatchEvent] = collections.deque(maxlen=max(1, history_window))
        self.floor = 0  # the oldest RV a watch may start from
        self.watchers: dict[StoreKey, set[Watcher]] = collections.defaultdict(set)
        self.uid_index: dict[str, tuple[StoreKey, Key]] = {}
        self.owner_index: dict[str, set[tuple[StoreKey, Key]]] = collections.defaultdict(set)
        self.ns_counts: collections.Counter[str] = collections.Counter()
        self.listeners: list[Callable[[WatchEvent], None]] = []

    # ---- reads

    def get(self, store_key: StoreKey, key: Key) -> Obj | None:
        entry = self.buckets[store_key].get(key)
        return entry.obj if entry is not None else None

    def entry(self, store_key: StoreKey, key: Key) -> Entry | None:
        return self.buckets[store_key].get(key)

    def by_uid(self, uid: str) -> Obj | None:
        loc = self.uid_index.get(uid)
        return self.get(*loc) if loc else None

    def items(self, store_key: StoreKey, namespace: str | None) -> list[tuple[Key, Entry]]:
        """Entries sorted by (namespace, name), optionally within one namespace."""
        bucket = self.buckets[store_key]
        if namespace is None:
            pairs = list(bucket.items())
        else:
            pairs = [(k, e) for k, e in bucket.items() if k[0] == namespace]
        pairs.sort(key=lambda p: p[0])
        return pairs

    def items_at(self, store_key: StoreKey, namespace: str | None, rv: int) -> list[tuple[Key, Entry]]:
        """`items` as they were at resourceVersion `rv`, the newer history undone (a paginated list reads
        one snapshot, as kube's does); the caller checks that the history reaches back to `rv`."""
        if rv >= self.rv:
            return self.items(store_key, namespace)
        state = dict(self.items(store_key, namespace))
        for event in reversed(self.history):
            if event.rv <= rv:
                break
            if event.store_key != store_key or (namespace is not None and event.key[0] != namespace):
                continue
            if event.type == "ADDED" or event.old is None:
                state.pop(event.key, None)
            else:
                state[event.key] = Entry(event.old)
        return sorted(state.items(), key=lambda p: p[0])

    # ---- writes (the caller sets metadata.resourceVersion = next_rv())

    def next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def put(self, store_key: StoreKey, key: Key, obj: Obj, old: Obj | None, rv: int) -> WatchEvent:
        entry = Entry(obj)
        self.buckets[store_key][key] = entry
        if old is None:
            self.ns_counts[key[0]] += 1
        self._index(store_key, key, old, obj)
        return self._emit(WatchEvent("ADDED" if old is None else "MODIFIED", rv, store_key, key, entry, old))

    def remove(self, store_key: StoreKey, key: Key, obj: Obj, rv: int) -> WatchEvent:
        old_entry = self.buckets[store_key].pop(key)
        self.ns_counts[key[0]] -= 1
        if self.ns_counts[key[0]] <= 0:
            del self.ns_counts[key[0]]
        self._index(store_key, key, old_entry.obj, None)
        return self._emit(WatchEvent("DELETED", rv, store_key, key, Entry(obj), old_entry.obj))

    def load(self, store_key: StoreKey, key: Key, obj: Obj) -> None:
        """Insert without events (state file reload)."""
        self.buckets[store_key][key] = Entry(obj)
        self.ns_counts[key[0]] += 1
        self._index(store_key, key, None, obj)

    def _index(self, store_key: StoreKey, key: Key, old: Obj | None, new: Obj | None) -> None:
        old_uid = _uid(old)
        new_uid = _uid(new)
        if old_uid and old_uid != new_uid:
            self.uid_index.pop(old_uid, None)
        if new_uid:
            self.uid_index[new_uid] = (store_key, key)
        old_owners = _owner_uids(old)
        new_owners = _owner_uids(new)
        if old_owners == new_owners:
            return
        loc = (store_key, key)
        for uid in old_owners - new_owners:
            deps = self.owner_index.get(uid)
            if deps is not None:
                deps.discard(loc)
                if not deps:
                    del self.owner_index[uid]
        for uid in new_owners - old_owners:
            self.owner_index[uid].add(loc)

    def _emit(self, event: WatchEvent) -> WatchEvent:
        if len(self.history) == self.history.maxlen:
            self.floor = self.history[0].rv
        self.history.append(event)
        for watcher in self.watchers.get(event.store_key, ()):
            watcher.offer(event)
        for listener in self.listeners:
            listener(event)
        return event

    # ---- watchers

    def history_since(self, store_key: StoreKey, rv: int) -> Iterable[WatchEvent]:
        return [e for e in self.history if e.rv > rv and e.store_key == store_key]

    def register(self, watcher: Watcher) -> None:
        self.watchers[watcher.store_key].add(watcher)

    def unregister(self, watcher: Watcher) -> None:
        self.watchers[watcher.store_key].discard(watcher)

    def close_watchers(self) -> None:
        for watchers in self.watchers.values():
            for watcher in watchers:
                watcher.close()


def _uid(obj: Obj | None) -> str:
    if obj is None:
        return ""
    return str((obj.get("metadata") or {}).get("uid") or "")


def _owner_uids(obj: Obj | None) -> frozenset[str]:
    if obj is None:
        return frozenset()
    refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
    return frozenset(str(r.get("uid")) for r in refs if isinstance(r, dict) and r.get("uid"))
