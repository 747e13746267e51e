"""`[fn(item) for item in items]` split over forked processes, for the offline command's CPU-bound batches.

A forked child shares what the parent has loaded (parsed issuers, the CA key, memos, imported modules) at no
cost, computes a contiguous slice and sends back its pickled results over a pipe; the parent computes the
first slice itself. The result never depends on the processes: a child that dies, fails or sends something
unreadable leaves its slice to the parent. Forking is skipped where it is unsafe or cannot pay: no
`os.fork`, other threads running (a fork copies locks held by them), one worker, or fewer items than
`min_items`. Used by `issuer.offline` (leaf issuance) and `issuer.manifests` (YAML of big files).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def can_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1


def map_in_processes(fn: Callable[[T], R], items: Sequence[T], workers: int, *, min_items: int = 2) -> list[R]:
    """[fn(item) for item in items], over at most `workers` processes when there are at least `min_items`
    items, one process per `min_items // 2` items at most (a fork and its pickled results cost about a
    millisecond: a batch must be worth it)."""
    workers = min(workers, len(items) // max(1, min_items // 2) or 1)
    if workers < 2 or len(items) < min_items or not can_fork():
        return [fn(item) for item in items]
    size = -(-len(items) // workers)
    slices = [items[i:i + size] for i in range(0, len(items), size)]
    children: list[tuple[int, int, Sequence[T]]] = []
    for part in slices[1:]:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: compute, send, and leave without running the parent's exit handlers
            code = 1
            try:
                os.close(read_fd)
                payload = pickle.dumps([fn(item) for item in part], protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write_fd, "wb") as pipe:
                    pipe.write(payload)
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        children.append((pid, read_fd, part))
    out = [fn(item) for item in slices[0]]
    for pid, read_fd, part in children:
        with os.fdopen(read_fd, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(pid, 0)
        got: list[R] | None = None
        if status == 0:
            with contextlib.suppress(Exception):
                got = pickle.loads(payload)  # our own child, over our own pipe
        if not isinstance(got, list) or len(got) != len(part):
            got = [fn(item) for item in part]
        out.extend(got)
    return out
