"""State-file persistence for the embedded API server (`issuer apiserver --state FILE`, the playground):
`load` fills a `Store` from a JSON snapshot (all buckets and the resourceVersion counter) before the
engine starts, and `Saver` writes snapshots atomically (temp file + fsync + rename) a moment after
changes (debounced) and once more at shutdown. A state file that cannot be read raises
`StateFileError` with a one-line message: it is never silently replaced by an empty store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pathlib
from typing import Any

from issuer.testing.store import Store, WatchEvent, dumps

FORMAT = "issuer.testing/state-v1"


class StateFileError(Exception):
    """The state file exists but is not a valid snapshot."""


def load(path: pathlib.Path, store: Store) -> None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StateFileError(f"cannot read state file {path}: {exc.strerror}") from None
    if not raw.strip():
        raise StateFileError(f"state file {path} is empty (delete it to start afresh)")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise StateFileError(f"state file {path} is corrupt: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise StateFileError(f"state file {path} is not an issuer API server state file (format {FORMAT!r})")
    try:
        rv = int(doc["resourceVersion"])
        buckets = doc["buckets"]
        for bucket in buckets:
            key = (str(bucket["group"]), str(bucket["plural"]))
            for obj in bucket["items"]:
                md = obj["metadata"]
                store.load(key, (str(md.get("namespace") or ""), str(md["name"])), obj)
    except (KeyError, TypeError, ValueError) as exc:
        raise StateFileError(f"state file {path} is corrupt: missing or bad field {exc}") from None
    store.rv = max(rv, store.rv)
    store.floor = store.rv


def snapshot(store: Store) -> bytes:
    """The encoded snapshot (uses each entry's cached encoding)."""
    parts = [b'{"format":', dumps(FORMAT), b',"resourceVersion":', str(store.rv).encode(), b',"buckets":[']
    first = True
    for (group, plural), bucket in store.buckets.items():
        if not bucket:
            continue
        if not first:
            parts.append(b",")
        first = False
        parts.append(b'{"group":' + dumps(group) + b',"plural":' + dumps(plural) + b',"items":[')
        parts.append(b",".join(entry.encoded() for entry in bucket.values()))
        parts.append(b"]}")
    parts.append(b"]}\n")
    return b"".join(parts)


def write_atomic(path: pathlib.Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Saver:
    """Debounced background saving: a change marks the store dirty; a task writes at most every
    `interval` seconds, off the event loop; `stop` writes the final state."""

    def __init__(self, path: pathlib.Path, store: Store, interval: float = 1.0) -> None:
        self.path = path
        self.store = store
        self.interval = interval
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._written_rv = -1

    def _on_event(self, event: WatchEvent) -> None:
        del event
        self._dirty.set()

    def start(self) -> None:
        self.store.listeners.append(self._on_event)
        self._task = asyncio.get_running_loop().create_task(self._loop())
        self._dirty.set()

    async def _loop(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self.interval)
            self._dirty.clear()
            await self.save()

    async def save(self) -> None:
        if self._written_rv == self.store.rv and self.path.exists():
            return
        rv = self.store.rv
        data = snapshot(self.store)
        await asyncio.to_thread(write_atomic, self.path, data)
        self._written_rv = rv

    async def stop(self) -> None:
        if self._on_event in self.store.listeners:
            self.store.listeners.remove(self._on_event)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.save()


def describe(path: pathlib.Path) -> dict[str, Any]:
    """A small summary of a state file (object counts per bucket), for diagnostics."""
    doc = json.loads(path.read_bytes())
    return {f"{b['plural']}.{b['group']}" if b["group"] else b["plural"]: len(b["items"])
            for b in doc.get("buckets", [])}
