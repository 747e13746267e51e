"""Work queues and the one scheduler of the operator: level-based reconciles without a task per object.

Modelled on client-go's workqueue. A key (for example ``("default", "web")``) is queued at most once
however many events arrive for it; while a worker holds a key, new adds only mark it dirty and it is
queued again when the worker is done, so one object is never reconciled by two workers at once.
Delayed adds (renewal times, back-off, "check again in 5 s") go into a single heap per queue served by
one timer task: 10,000 Certificates mean 10,000 heap entries, not 10,000 sleeping tasks. Failed
reconciles are retried with a per-key exponential delay (5 ms doubling up to a cap) until forgotten.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Hashable

log = logging.getLogger(__name__)

Key = Hashable
Reconcile = Callable[[Key], Awaitable[float | None]]


class WorkQueue:
    """A deduplicating FIFO of keys with delayed adds and per-key failure back-off."""

    def __init__(
        self,
        name: str,
        *,
        base_delay: float = 0.005,
        max_delay: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._queue: collections.deque[Key] = collections.deque()
        self._dirty: set[Key] = set()
        self._processing: set[Key] = set()
        self._released: dict[Key, asyncio.Event] = {}  # held keys someone waits for (`released`)
        self._waiting: dict[Key, float] = {}  # key -> earliest due time
        self._heap: list[tuple[float, int, Key]] = []
        self._seq = itertools.count()
        self._failures: dict[Key, int] = {}
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._clock = clock
        self._ready = asyncio.Event()
        self._timer_wake = asyncio.Event()
        self._shutdown = False

    # -- adding ---------------------------------------------------------------------------------------
    def add(self, key: Key) -> None:
        if self._shutdown or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._ready.set()

    def add_after(self, key: Key, delay: float) -> None:
        """Queue `key` once `delay` seconds have passed; an earlier pending due time wins."""
        if delay <= 0:
            self.add(key)
            return
        due = self._clock() + delay
        current = self._waiting.get(key)
        if current is not None and current <= due:
            return
        self._waiting[key] = due
        heapq.heappush(self._heap, (due, next(self._seq), key))
        if current is not None:
            self._compact()  # the later entry is superseded
        self._timer_wake.set()

    def add_rate_limited(self, key: Key) -> float:
        """Retry after a failure: 5 ms, 10 ms, 20 ms ... capped; returns the delay used."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        delay: float = min(self._base_delay * float(2**failures), self._max_delay)
        self.add_after(key, delay)
        return delay

    def forget(self, key: Key) -> None:
        self._failures.pop(key, None)

    def cancel(self, key: Key) -> None:
        """Drop `key`'s pending delayed add and failure count (its object was deleted: a renewal time
        months away must not keep the key alive). Queued or running work for it is left alone."""
        self._failures.pop(key, None)
        if self._waiting.pop(key, None) is not None:
            self._compact()

    def _compact(self) -> None:
        """Rebuild the heap once superseded entries outnumber the live ones (they are otherwise dropped
        only when they reach the top, which for a renewal can be months away)."""
        if len(self._heap) > 64 and len(self._heap) > 2 * len(self._waiting):
            self._heap = [entry for entry in self._heap if self._waiting.get(entry[2]) == entry[0]]
            heapq.heapify(self._heap)

    def failures(self, key: Key) -> int:
        return self._failures.get(key, 0)

    # -- taking ---------------------------------------------------------------------------------------
    async def get(self) -> Key | None:
        """The next key, or None once the queue is shut down and drained."""
        while not self._queue:
            if self._shutdown:
                return None
            self._ready.clear()
            await self._ready.wait()
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def claim(self, key: Key) -> bool:
        """Take `key` as a worker would, for work done outside the workers (an inline reconcile): also
        out of the queue when it waits there (this work does what that reconcile would). False when a worker
        holds it (`released` waits for that). True means the caller holds it and must call `done`;
        meanwhile adds only mark it dirty, so a watch event arriving during the work cannot start a second
        reconcile beside it."""
        if self._shutdown or key in self._processing:
            return False
        if key in self._dirty:
            self._dirty.discard(key)
            self._queue.remove(key)
        self._processing.add(key)
        return True

    async def released(self, key: Key) -> None:
        """Until no worker holds `key` (at once when none does)."""
        if key in self._processing and not self._shutdown:
            await self._released.setdefault(key, asyncio.Event()).wait()

    def done(self, key: Key) -> None:
        self._processing.discard(key)
        event = self._released.pop(key, None)
        if event is not None:
            event.set()
        if key in self._dirty:
            self._queue.append(key)
            self._ready.set()

    # -- the timer ------------------------------------------------------------------------------------
    def _pop_due(self) -> float | None:
        """Move due keys to the queue; return seconds until the next one (None: nothing waits)."""
        now = self._clock()
        while self._heap:
            due, _, key = self._heap[0]
            if self._waiting.get(key) != due:
                heapq.heappop(self._heap)  # superseded by an earlier add_after
                continue
            if due > now:
                return due - now
            heapq.heappop(self._heap)
            del self._waiting[key]
            self.add(key)
        return None

    async def run_timer(self) -> None:
        while not self._shutdown:
            wait = self._pop_due()
            self._timer_wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._timer_wake.wait(), timeout=wait)

    def shut_down(self) -> None:
        self._shutdown = True
        for event in self._released.values():
            event.set()
        self._released.clear()
        self._ready.set()
        self._timer_wake.set()

    # -- introspection --------------------------------------------------------------------------------
    @property
    def is_shut_down(self) -> bool:
        return self._shutdown

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def scheduled(self) -> int:
        return len(self._waiting)

    def due_time(self, key: Key) -> float | None:
        return self._waiting.get(key)


class Controller:
    """A named reconcile function served by a fixed number of workers from its own WorkQueue."""

    def __init__(self, name: str, reconcile: Reconcile, *, workers: int = 5) -> None:
        self.name = name
        self.queue = WorkQueue(name)
        self._reconcile = reconcile
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []
        self.on_error: Callable[[str, Key, BaseException], None] | None = None
        self.syncs = 0
        self.errors = 0

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self.queue.run_timer(), name=f"{self.name}-timer"))
        for i in range(self._workers):
            self._tasks.append(asyncio.create_task(self._work(), name=f"{self.name}-worker-{i}"))

    async def stop(self) -> None:
        self.queue.shut_down()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _work(self) -> None:
        while True:
            key = await self.queue.get()
            if key is None:
                return
            try:
                self.syncs += 1
                requeue = await self._reconcile(key)
            except asyncio.CancelledError:
                raise
            except RetryLater as exc:
                self.queue.add_after(key, exc.delay)
            except Exception as exc:
                self.errors += 1
                delay = self.queue.add_rate_limited(key)
                if self.on_error is not None:
                    self.on_error(self.name, key, exc)
                else:
                    log.warning("%s: sync of %s failed (retry in %.3fs): %s", self.name, key, delay, exc)
            else:
                self.queue.forget(key)
                if requeue is not None:
                    self.queue.add_after(key, requeue)
            finally:
                self.queue.done(key)


class RetryLater(Exception):
    """Raised by a reconcile to be called again after `delay` seconds without counting a failure."""

    def __init__(self, delay: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay:.1f}s")
        self.delay = delay
