"""`issuer.kube.leader.LeaderElector` against the embedded API server: acquiring and renewing a Lease,
a clean release handing over at once, a crashed leader (stops renewing, never releases) replaced within
lease_duration + retry_period, stepping down when renewals fail, and never two leaders at once, checked
both from the electors' callbacks and from the Lease's own history (watched by a third client)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from issuer.kube import client as kube_client
from issuer.kube import config, leader
from issuer.kube import resources as r
from issuer.testing.faults import Fault
from issuer.testing.server import EmbeddedAPIServer

LEASE = "issuer-controller"
NS = "kube-system"
TIMINGS: dict[str, Any] = {"lease_duration": 2.0, "renew_deadline": 1.5, "retry_period": 0.2}


@pytest_asyncio.fixture
async def kube(apiserver: EmbeddedAPIServer) -> AsyncIterator[kube_client.Client]:
    async with kube_client.Client(config.ClusterConfig.for_url(apiserver.url)) as client:
        yield client


@dataclasses.dataclass
class Candidate:
    """An elector plus a record of when (monotonic) its callbacks said it led."""

    elector: leader.LeaderElector
    intervals: list[list[float]] = dataclasses.field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def on_started(self) -> None:
        self.intervals.append([time.monotonic(), float("inf")])
        await asyncio.Event().wait()  # lead until cancelled

    def on_stopped(self) -> None:
        self.intervals[-1][1] = time.monotonic()

    def start(self) -> Candidate:
        self.task = asyncio.create_task(self.elector.run(self.on_started, self.on_stopped))
        return self

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def candidate(kube: kube_client.Client, identity: str, **kwargs: Any) -> Candidate:
    return Candidate(leader.LeaderElector(kube, NS, LEASE, identity, **{**TIMINGS, **kwargs}))


async def wait_for(predicate: Any, timeout: float) -> float:
    """Poll until `predicate()` is true; answers the seconds it took."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


def assert_never_two_leaders(*candidates: Candidate) -> None:
    spans = sorted((start, end, i) for i, c in enumerate(candidates) for start, end in c.intervals)
    for (_, end, who), (start, _, other) in itertools.pairwise(spans):
        assert end <= start, f"candidates {who} and {other} led at the same time"


@contextlib.asynccontextmanager
async def lease_history(kube: kube_client.Client) -> AsyncIterator[list[dict[str, Any]]]:
    """Every version of the Lease (spec only), as a watch delivers them."""
    history: list[dict[str, Any]] = []

    async def follow() -> None:
        async for type_, obj in kube.watch(r.LEASES, NS, field_selector=f"metadata.name={LEASE}",
                                           allow_bookmarks=False):
            if type_ in ("ADDED", "MODIFIED"):
                history.append(dict(obj["spec"]))

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    try:
        yield history
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def assert_history_is_safe(history: list[dict[str, Any]]) -> None:
    """Whenever the holder changes to someone else, the previous holder had released the Lease or its
    last renewal had expired by the new holder's acquireTime; leaseTransitions counts the changes."""
    for before, after in itertools.pairwise(history):
        old, new = before.get("holderIdentity") or "", after.get("holderIdentity") or ""
        if new and new != old:
            assert after["leaseTransitions"] == before["leaseTransitions"] + 1
            if old:
                renewed = leader.parse_time(before["renewTime"])
                acquired = leader.parse_time(after["acquireTime"])
                assert renewed is not None and acquired is not None
                assert (acquired - renewed).total_seconds() > before["leaseDurationSeconds"], \
                    f"{new} took the lease from {old} before it expired"
        elif new == old and new:
            assert after["leaseTransitions"] == before["leaseTransitions"]
            assert after["acquireTime"] == before["acquireTime"]


def holder_changes(history: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for spec in history:
        holder = spec.get("holderIdentity") or ""
        if not out or out[-1] != holder:
            out.append(holder)
    return out


async def test_acquire_renew_and_release(kube: kube_client.Client) -> None:
    one = candidate(kube, "one").start()
    await wait_for(lambda: one.elector.is_leader, 2)
    lease = await kube.get(r.LEASES, LEASE, NS)
    assert lease is not None
    spec = lease["spec"]
    assert spec["holderIdentity"] == "one"
    assert spec["leaseDurationSeconds"] == 2
    assert spec["leaseTransitions"] == 0
    assert leader.format_micro_time(leader.parse_time(spec["renewTime"])) == spec["renewTime"]  # type: ignore[arg-type]
    assert spec["renewTime"].endswith("Z") and len(spec["renewTime"]) == len("2026-01-01T00:00:00.000000Z")
    await asyncio.sleep(0.5)
    renewed = await kube.get(r.LEASES, LEASE, NS)
    assert renewed is not None
    assert renewed["spec"]["renewTime"] > spec["renewTime"]
    assert renewed["spec"]["acquireTime"] == spec["acquireTime"]
    await one.stop()
    assert not one.elector.is_leader
    assert one.intervals and one.intervals[0][1] != float("inf"), "on_stopped_leading ran"
    released = await kube.get(r.LEASES, LEASE, NS)
    assert released is not None
    assert released["spec"]["holderIdentity"] == ""
    assert released["spec"]["leaseDurationSeconds"] == 1


async def test_renewals_are_one_put_each(apiserver: EmbeddedAPIServer, kube: kube_client.Client) -> None:
    one = candidate(kube, "one").start()
    await wait_for(lambda: one.elector.is_leader, 2)
    kube.reset_calls()
    await asyncio.sleep(1.0)
    await one.stop()
    calls = kube.calls
    assert calls.get(("get", "leases.coordination.k8s.io"), 0) == 0, calls
    assert 3 <= calls[("update", "leases.coordination.k8s.io")] <= 7, calls


async def test_only_one_of_two_leads_and_a_crashed_leader_is_replaced(kube: kube_client.Client) -> None:
    async with lease_history(kube) as history:
        a = candidate(kube, "a", release_on_cancel=False).start()
        b = candidate(kube, "b", release_on_cancel=False).start()
        await wait_for(lambda: a.elector.is_leader or b.elector.is_leader, 3)
        await asyncio.sleep(0.6)
        assert a.elector.is_leader != b.elector.is_leader
        first, second = (a, b) if a.elector.is_leader else (b, a)
        assert second.elector.observed_holder == first.elector.identity
        # SIGKILL: the leader stops renewing and never releases.
        killed_at = time.monotonic()
        await first.stop()
        took = await wait_for(lambda: second.elector.is_leader, 5)
        limit = TIMINGS["lease_duration"] + TIMINGS["retry_period"]
        assert took <= limit + 0.5, f"takeover took {took:.2f}s"
        assert second.intervals[0][0] - killed_at > 1.0, "the lease was respected until it expired"
        await asyncio.sleep(0.3)
        await second.stop()
    assert_never_two_leaders(a, b)
    assert_history_is_safe(history)
    assert holder_changes(history) == [first.elector.identity, second.elector.identity]
    final = await kube.get(r.LEASES, LEASE, NS)
    assert final is not None
    assert final["spec"]["holderIdentity"] == second.elector.identity
    assert final["spec"]["leaseTransitions"] == 1


async def test_a_clean_release_hands_over_at_once(kube: kube_client.Client) -> None:
    async with lease_history(kube) as history:
        a = candidate(kube, "a").start()
        await wait_for(lambda: a.elector.is_leader, 2)
        b = candidate(kube, "b").start()
        await asyncio.sleep(0.5)
        assert not b.elector.is_leader
        await a.stop()
        took = await wait_for(lambda: b.elector.is_leader, 3)
        assert took <= TIMINGS["retry_period"] + 0.5, f"handover after release took {took:.2f}s"
        await b.stop()
        await wait_for(lambda: history[-1]["holderIdentity"] == "", 2)
    assert_never_two_leaders(a, b)
    assert_history_is_safe(history)
    assert holder_changes(history) == ["a", "", "b", ""]


async def test_many_candidates_racing_for_a_new_lease(kube: kube_client.Client) -> None:
    candidates = [candidate(kube, f"c{i}").start() for i in range(5)]
    await wait_for(lambda: any(c.elector.is_leader for c in candidates), 3)
    await asyncio.sleep(0.5)
    assert sum(c.elector.is_leader for c in candidates) == 1
    for c in candidates:
        await c.stop()
    assert_never_two_leaders(*candidates)


async def test_leader_steps_down_when_it_cannot_renew(apiserver: EmbeddedAPIServer,
                                                      kube: kube_client.Client) -> None:
    stopped = asyncio.Event()
    elector = leader.LeaderElector(kube, NS, LEASE, "one", **TIMINGS)
    run = asyncio.create_task(elector.run(None, stopped.set))
    await wait_for(lambda: elector.is_leader, 2)
    broken_at = time.monotonic()
    apiserver.faults.add(Fault(resource="leases", status=500))
    await asyncio.wait_for(run, 5)  # run returns once leadership is lost
    took = time.monotonic() - broken_at
    assert stopped.is_set() and not elector.is_leader
    assert took <= TIMINGS["renew_deadline"] + 0.5, f"stepping down took {took:.2f}s"


async def test_leader_steps_down_when_the_server_is_unreachable(apiserver: EmbeddedAPIServer) -> None:
    async with kube_client.Client(config.ClusterConfig.for_url(apiserver.url), max_retries=50) as kube:
        elector = leader.LeaderElector(kube, NS, LEASE, "one", **TIMINGS)
        run = asyncio.create_task(elector.run())
        await wait_for(lambda: elector.is_leader, 2)
        broken_at = time.monotonic()
        await apiserver.refuse_connections(5.0)
        await asyncio.wait_for(run, 5)
        assert time.monotonic() - broken_at <= TIMINGS["renew_deadline"] + 0.5


async def test_a_stolen_lease_makes_the_leader_step_down(kube: kube_client.Client) -> None:
    elector = leader.LeaderElector(kube, NS, LEASE, "one", **TIMINGS)
    run = asyncio.create_task(elector.run())
    await wait_for(lambda: elector.is_leader, 2)

    def steal(lease: dict[str, Any]) -> dict[str, Any]:
        lease["spec"]["holderIdentity"] = "thief"
        lease["spec"]["renewTime"] = leader.format_micro_time(leader.parse_time(  # type: ignore[arg-type]
            lease["spec"]["renewTime"]))
        return lease

    await kube.modify(r.LEASES, LEASE, NS, steal)
    await asyncio.wait_for(run, 3)
    assert not elector.is_leader
    lease = await kube.get(r.LEASES, LEASE, NS)
    assert lease is not None and lease["spec"]["holderIdentity"] == "thief"


async def test_a_failing_leader_task_releases_and_raises(kube: kube_client.Client) -> None:
    async def crash() -> None:
        await asyncio.sleep(0.1)
        raise RuntimeError("controller crashed")

    elector = leader.LeaderElector(kube, NS, LEASE, "one", **TIMINGS)
    with pytest.raises(RuntimeError, match="controller crashed"):
        await asyncio.wait_for(elector.run(crash), 3)
    lease = await kube.get(r.LEASES, LEASE, NS)
    assert lease is not None and lease["spec"]["holderIdentity"] == ""


async def test_same_identity_restarting_keeps_its_lease(kube: kube_client.Client) -> None:
    first = candidate(kube, "pod-1", release_on_cancel=False).start()
    await wait_for(lambda: first.elector.is_leader, 2)
    await first.stop()
    again = candidate(kube, "pod-1").start()
    took = await wait_for(lambda: again.elector.is_leader, 2)
    assert took < 0.5
    lease = await kube.get(r.LEASES, LEASE, NS)
    assert lease is not None and lease["spec"]["leaseTransitions"] == 0
    await again.stop()


async def test_on_new_leader_reports_the_holder(kube: kube_client.Client) -> None:
    a = candidate(kube, "a").start()
    await wait_for(lambda: a.elector.is_leader, 2)
    seen: list[str] = []
    b = leader.LeaderElector(kube, NS, LEASE, "b", **TIMINGS)
    task = asyncio.create_task(b.run(on_new_leader=seen.append))
    await wait_for(lambda: seen == ["a"], 2)
    await a.stop()
    await wait_for(lambda: b.is_leader, 2)
    assert seen == ["a", "b"]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
