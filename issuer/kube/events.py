"""Building core v1 Events and folding repeats, a small cousin of client-go's event correlator:
`event_key` says which posts are "the same event" (same involved object, type, reason, message and
component), `Correlator` remembers for a while which Event object each key was written to and how often,
so `issuer.kube.client.Client.post_event` PATCHes `count`/`lastTimestamp` of the existing Event instead
of creating a new one. Pure: the clock is passed in, no I/O here.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

DEFAULT_WINDOW = 600.0
"""Seconds after the last occurrence during which a repeat is folded into the same Event (client-go
aggregates similar events over ten minutes)."""

DEFAULT_MAX_ENTRIES = 4096
"""Keys remembered at most (least recently seen dropped first), as client-go's LRU cache."""

MAX_MESSAGE = 1024
"""Event messages are cut to this many characters (the events.k8s.io limit is 1 KiB)."""

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)

EventKey = tuple[str, str, str, str, str, str, str, str]


def involved_reference(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An `ObjectReference` (apiVersion, kind, namespace, name, uid, resourceVersion) to `obj`."""
    meta = obj.get("metadata") or {}
    ref: dict[str, Any] = {
        "apiVersion": obj.get("apiVersion", ""),
        "kind": obj.get("kind", ""),
        "name": meta.get("name", ""),
    }
    for src, dst in (("namespace", "namespace"), ("uid", "uid"), ("resourceVersion", "resourceVersion")):
        if meta.get(src):
            ref[dst] = meta[src]
    return ref


def event_key(involved: Mapping[str, Any], type_: str, reason: str, message: str, component: str) -> EventKey:
    """Which posts fold together: the involved object (by uid when known, plus kind/namespace/name), the
    event type, reason, message and reporting component. The object's resourceVersion is left out: an
    object that keeps changing still gets one Event per (reason, message)."""
    return (
        str(involved.get("apiVersion", "")), str(involved.get("kind", "")), str(involved.get("namespace", "")),
        str(involved.get("name", "")), str(involved.get("uid", "")), type_, reason + "\x00" + message, component,
    )


def event_namespace(involved: Mapping[str, Any]) -> str:
    """Events about cluster-scoped objects live in "default", as client-go writes them."""
    return str(involved.get("namespace") or "default")


def event_name(involved: Mapping[str, Any], now: datetime.datetime, seq: int = 0) -> str:
    """client-go's `<object name>.<unix nanoseconds in hex>`; `seq` (added to the nanoseconds) makes names
    of events posted in the same microsecond differ."""
    micros = (now - _EPOCH) // datetime.timedelta(microseconds=1)
    stamp = micros * 1000 + seq
    return f"{involved.get('name') or 'event'}.{stamp:x}"


def timestamp(now: datetime.datetime) -> str:
    """A `metav1.Time`: RFC 3339 in UTC, whole seconds, "Z"."""
    return now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build(involved: Mapping[str, Any], type_: str, reason: str, message: str, component: str,
          *, now: datetime.datetime, host: str = "", seq: int = 0) -> dict[str, Any]:
    """A new core v1 Event with count 1 (no eventTime, so the legacy validation rules apply)."""
    ts = timestamp(now)
    source: dict[str, Any] = {"component": component}
    if host:
        source["host"] = host
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": event_name(involved, now, seq), "namespace": event_namespace(involved)},
        "involvedObject": dict(involved),
        "type": type_,
        "reason": reason,
        "message": message[:MAX_MESSAGE],
        "count": 1,
        "firstTimestamp": ts,
        "lastTimestamp": ts,
        "source": source,
        "reportingComponent": component,
        "reportingInstance": host,
    }


def repeat_patch(count: int, now: datetime.datetime) -> dict[str, Any]:
    """The merge patch that records one more occurrence on an existing Event."""
    return {"count": count, "lastTimestamp": timestamp(now)}


@dataclasses.dataclass
class Seen:
    """Where a key's Event lives, how many times it happened, and when (monotonic seconds) it last did."""

    namespace: str
    name: str
    count: int
    last_seen: float


class Correlator:
    """Remembers recent Events by `event_key`, bounded in time (`window`) and size (`max_entries`)."""

    def __init__(self, window: float = DEFAULT_WINDOW, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.window = window
        self.max_entries = max_entries
        self._seen: collections.OrderedDict[EventKey, Seen] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def lookup(self, key: EventKey, now: float) -> Seen | None:
        """The remembered Event for `key` if its last occurrence is within the window, else None."""
        seen = self._seen.get(key)
        if seen is None:
            return None
        if now - seen.last_seen > self.window:
            del self._seen[key]
            return None
        return seen

    def remember(self, key: EventKey, namespace: str, name: str, count: int, now: float) -> None:
        self._seen[key] = Seen(namespace, name, count, now)
        self._seen.move_to_end(key)
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)

    def forget(self, key: EventKey) -> None:
        self._seen.pop(key, None)
