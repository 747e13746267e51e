"""The operator's work queue: dedup, no concurrent work on one key, delayed adds, back-off."""

from __future__ import annotations

import asyncio

from issuer.operator import queue as q


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_key_added_many_times_is_queued_once() -> None:
    wq = q.WorkQueue("t")
    for _ in range(5):
        wq.add("a")
    wq.add("b")
    assert len(wq) == 2
    assert await wq.get() == "a"
    assert await wq.get() == "b"


async def test_a_key_added_while_processing_is_requeued_only_after_done() -> None:
    wq = q.WorkQueue("t")
    wq.add("a")
    key = await wq.get()
    wq.add("a")
    assert len(wq) == 0, "the key must not be handed to a second worker while the first holds it"
    wq.done(key)
    assert len(wq) == 1
    assert await wq.get() == "a"


async def test_delayed_adds_keep_the_earliest_due_time() -> None:
    clock = FakeClock()
    wq = q.WorkQueue("t", clock=clock)
    wq.add_after("a", 60)
    wq.add_after("a", 10)
    wq.add_after("a", 30)
    assert wq.scheduled == 1
    assert wq.due_time("a") == clock.now + 10
    clock.now += 9
    assert wq._pop_due() == 1
    assert len(wq) == 0
    clock.now += 1
    assert wq._pop_due() is None
    assert len(wq) == 1


async def test_rate_limited_retries_double_up_to_the_cap_and_forget_resets() -> None:
    wq = q.WorkQueue("t", base_delay=1, max_delay=5)
    delays = [wq.add_rate_limited("a") for _ in range(5)]
    assert delays == [1, 2, 4, 5, 5]
    wq.forget("a")
    assert wq.add_rate_limited("a") == 1


async def test_controller_workers_never_overlap_on_one_key_and_honour_requeue() -> None:
    active: set[str] = set()
    overlaps = 0
    calls: list[str] = []

    async def reconcile(key: object) -> float | None:
        nonlocal overlaps
        name = str(key)
        if name in active:
            overlaps += 1
        active.add(name)
        await asyncio.sleep(0.01)
        active.discard(name)
        calls.append(name)
        return 0.01 if calls.count(name) == 1 and name == "x" else None

    ctl = q.Controller("t", reconcile, workers=4)
    ctl.start()
    for _ in range(10):
        ctl.queue.add("x")
        ctl.queue.add("y")
        await asyncio.sleep(0.002)
    for _ in range(100):
        await asyncio.sleep(0.01)
        if calls.count("x") >= 2 and not len(ctl.queue) and not ctl.queue.scheduled and not active:
            break
    await ctl.stop()
    assert overlaps == 0
    assert calls.count("x") >= 2, "the requeue_after of the first sync must bring x back"


async def test_a_failing_reconcile_is_retried_with_backoff_and_counted() -> None:
    attempts = 0

    async def reconcile(key: object) -> float | None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise RuntimeError("boom")
        return None

    seen: list[str] = []
    ctl = q.Controller("t", reconcile, workers=1)
    ctl.on_error = lambda name, key, exc: seen.append(str(exc))
    ctl.start()
    ctl.queue.add("k")
    for _ in range(100):
        await asyncio.sleep(0.01)
        if attempts >= 3:
            break
    await ctl.stop()
    assert attempts == 3
    assert seen == ["boom", "boom"]
    assert ctl.errors == 2
    assert ctl.queue.failures("k") == 0, "success forgets the failures"


async def test_cancel_drops_a_deleted_objects_schedule_and_failures() -> None:
    clock = FakeClock()
    wq = q.WorkQueue("t", clock=clock)
    wq.add_after("gone", 86400.0 * 60)  # a renewal two months away
    wq.add_rate_limited("gone")
    wq.add_after("kept", 10.0)
    wq.cancel("gone")
    assert wq.due_time("gone") is None and wq.failures("gone") == 0
    assert wq.scheduled == 1
    clock.now += 86400.0 * 61
    wq._pop_due()
    assert len(wq) == 1 and await wq.get() == "kept", "a cancelled key must never come back from the timer"


def test_the_timer_heap_stays_proportional_to_live_keys() -> None:
    """Create/delete churn (the soak) and due times moved earlier leave superseded heap entries; they are
    compacted away instead of waiting months to reach the top."""
    clock = FakeClock()
    wq = q.WorkQueue("t", clock=clock)
    for i in range(10_000):
        wq.add_after(("ns", f"crt-{i}"), 86400.0 * 60)
        wq.add_after(("ns", f"crt-{i}"), 86400.0 * 30)  # moved earlier: the first entry is superseded
        if i % 10:
            wq.cancel(("ns", f"crt-{i}"))
    assert wq.scheduled == 1_000
    assert len(wq._heap) <= 2 * wq.scheduled + 64
    clock.now += 86400.0 * 31
    wq._pop_due()
    assert len(wq) == 1_000 and wq.scheduled == 0 and not wq._heap


async def test_a_claimed_key_leaves_the_queue_and_an_add_meanwhile_waits_for_done() -> None:
    wq = q.WorkQueue("t")
    wq.add("a")
    wq.add("b")
    assert wq.claim("a"), "a queued key is claimed by inline work"
    assert len(wq) == 1, "and taken out of the queue: the inline work does what its reconcile would"
    wq.add("a")  # a watch event during the inline work
    assert len(wq) == 1, "no second reconcile beside the inline work"
    wq.done("a")
    assert [await wq.get(), await wq.get()] == ["b", "a"]


async def test_a_key_a_worker_holds_cannot_be_claimed_until_released() -> None:
    wq = q.WorkQueue("t")
    wq.add("a")
    held = await wq.get()
    assert not wq.claim("a")
    waiter = asyncio.ensure_future(wq.released("a"))
    await asyncio.sleep(0)
    assert not waiter.done(), "released waits while the worker holds the key"
    wq.done(held)
    await asyncio.wait_for(waiter, 1)
    assert wq.claim("a")
    await asyncio.wait_for(wq.released("b"), 1)  # a key nobody holds: at once
