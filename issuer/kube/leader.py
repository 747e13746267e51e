"""Leader election through a `coordination.k8s.io/v1` Lease, with the semantics of client-go's
`leaderelection` package (not kopf peering), so several operator replicas can run and exactly one
reconciles. Used by `issuer.operator` at start-up; the pure lease arithmetic (`lease_expired`,
`acquire_spec`, MicroTime formatting) is separate so it can be tested without a server.

The rules:
- A candidate takes the Lease when it does not exist, when `holderIdentity` is empty (released), or when
  it has expired: `renewTime + leaseDurationSeconds < now`, or (clock-skew guard, as client-go) the
  record has not changed for `leaseDurationSeconds` of the candidate's own monotonic clock.
- Every write is a PUT carrying the resourceVersion that was read (optimistic concurrency): when two
  candidates race, one gets 409 Conflict and stays a follower.
- The leader renews every `retry_period`; if no renewal succeeds within `renew_deadline` of the last
  good one (or another holder shows up), it stops leading and `run` returns. `renew_deadline <
  lease_duration` guarantees it has stepped down before anyone else may take the Lease.
- `leaseTransitions` is incremented whenever the holder changes; `acquireTime` is kept across renewals.
- On a clean shutdown (cancelling `run`) the leader releases the Lease (empty holder, 1 s duration) so
  a standby takes over at its next poll instead of waiting for expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import inspect
import logging
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from issuer.kube import client as kube_client
from issuer.kube import errors, resources

log = logging.getLogger(__name__)

JITTER = 0.2
"""Follower polls wait between (1 - JITTER) and 1 times `retry_period`, so they never wait longer."""


def default_identity() -> str:
    """client-go's convention: `<hostname>_<random uuid>`, unique per process."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


def format_micro_time(when: datetime.datetime) -> str:
    """A `metav1.MicroTime`: UTC, six fractional digits, "Z" ("2026-01-01T00:00:00.000000Z")."""
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: Any) -> datetime.datetime | None:
    """A MicroTime or Time string (with "Z" or an offset, any fraction) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.astimezone(datetime.UTC)


@dataclasses.dataclass(frozen=True)
class Record:
    """The election fields of a Lease spec."""

    holder: str = ""
    lease_duration: int = 0
    acquire_time: str = ""
    renew_time: str = ""
    transitions: int = 0

    @classmethod
    def from_lease(cls, lease: Mapping[str, Any] | None) -> Record:
        spec = (lease or {}).get("spec") or {}
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            lease_duration=_int(spec.get("leaseDurationSeconds")),
            acquire_time=str(spec.get("acquireTime") or ""),
            renew_time=str(spec.get("renewTime") or ""),
            transitions=_int(spec.get("leaseTransitions")),
        )

    def spec(self) -> dict[str, Any]:
        return {
            "holderIdentity": self.holder,
            "leaseDurationSeconds": self.lease_duration,
            "acquireTime": self.acquire_time,
            "renewTime": self.renew_time,
            "leaseTransitions": self.transitions,
        }


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return 0


def lease_expired(record: Record, now: datetime.datetime, *, unchanged_for: float | None = None) -> bool:
    """Whether a candidate may take a Lease held by someone else: no holder, or `renewTime +
    leaseDurationSeconds < now`, or the record has stayed the same for at least `leaseDurationSeconds`
    of the candidate's own clock (`unchanged_for`, seconds). A missing or unreadable renewTime counts as
    expired."""
    if not record.holder:
        return True
    if unchanged_for is not None and unchanged_for >= record.lease_duration:
        return True
    renewed = parse_time(record.renew_time)
    if renewed is None:
        return True
    return renewed + datetime.timedelta(seconds=record.lease_duration) < now


def acquire_spec(old: Record | None, identity: str, lease_duration: int, now: datetime.datetime) -> Record:
    """The record `identity` writes to take or renew the Lease: acquireTime and leaseTransitions are kept
    when it already held it, otherwise acquireTime is now and leaseTransitions goes up by one."""
    stamp = format_micro_time(now)
    if old is not None and old.holder == identity:
        return Record(identity, lease_duration, old.acquire_time or stamp, stamp, old.transitions)
    transitions = 0 if old is None else old.transitions + 1
    return Record(identity, lease_duration, stamp, stamp, transitions)


def release_spec(old: Record, now: datetime.datetime) -> Record:
    """What a leader writes when it lets go (client-go: empty holder, 1 s duration, times set to now)."""
    stamp = format_micro_time(now)
    return Record("", 1, stamp, stamp, old.transitions)


StartedCallback = Callable[[], Coroutine[Any, Any, None]]
StoppedCallback = Callable[[], Awaitable[None] | None]
NewLeaderCallback = Callable[[str], None]


class LeaderElector:
    """Campaign for the Lease `namespace/name` as `identity`.

    `await run(on_started_leading, on_stopped_leading)` blocks until this candidate leads, starts
    `on_started_leading()` as a task, renews, and when leadership is lost cancels that task, awaits
    `on_stopped_leading()` and returns (the process should then exit or campaign again). Cancelling
    `run` releases the Lease (unless `release_on_cancel=False`, which simulates a crash). `is_leader` and
    the `leading` event tell the current state at any time.
    """

    def __init__(self, client: kube_client.Client, namespace: str, name: str, identity: str | None = None, *,
                 lease_duration: float = 15.0, renew_deadline: float = 10.0, retry_period: float = 2.0,
                 release_on_cancel: bool = True,
                 clock: Callable[[], datetime.datetime] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if lease_duration <= renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if renew_deadline <= retry_period:
            raise ValueError("renew_deadline must be greater than retry_period")
        if retry_period <= 0:
            raise ValueError("retry_period must be positive")
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity or default_identity()
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.release_on_cancel = release_on_cancel
        self.leading = asyncio.Event()
        self.observed_holder = ""
        self._clock = clock or (lambda: datetime.datetime.now(datetime.UTC))
        self._monotonic = monotonic
        self._lease: dict[str, Any] | None = None  # the last Lease object read or written
        self._observed: Record | None = None
        self._observed_at = 0.0
        self._on_new_leader: NewLeaderCallback | None = None

    @property
    def is_leader(self) -> bool:
        return self.leading.is_set()

    @property
    def lease_duration_seconds(self) -> int:
        return max(1, round(self.lease_duration))

    # -- the campaign ---------------------------------------------------------------------------------

    async def run(self, on_started_leading: StartedCallback | None = None,
                  on_stopped_leading: StoppedCallback | None = None,
                  on_new_leader: NewLeaderCallback | None = None) -> None:
        """Acquire, lead, renew; return once leadership is lost. See the class docstring."""
        self._on_new_leader = on_new_leader
        task: asyncio.Task[None] | None = None
        failure: BaseException | None = None
        try:
            await self._acquire()
            self.leading.set()
            log.info("lease %s/%s: %s started leading", self.namespace, self.name, self.identity)
            if on_started_leading is not None:
                task = asyncio.get_running_loop().create_task(on_started_leading(),
                                                              name=f"leader:{self.name}")
            failure = await self._renew_loop(task)
        except asyncio.CancelledError:
            if self.is_leader and self.release_on_cancel:
                await self._release()
            raise
        finally:
            was_leading = self.is_leader
            self.leading.clear()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if was_leading:
                log.info("lease %s/%s: %s stopped leading", self.namespace, self.name, self.identity)
                if on_stopped_leading is not None:
                    result = on_stopped_leading()
                    if inspect.isawaitable(result):
                        await result
        if failure is not None:
            raise failure

    async def _acquire(self) -> None:
        while True:
            try:
                if await self._try_acquire_or_renew():
                    return
            except errors.KubeError as exc:
                log.warning("lease %s/%s: cannot read or take the lease: %s", self.namespace, self.name, exc)
            await asyncio.sleep(self.retry_period * random.uniform(1.0 - JITTER, 1.0))

    async def _renew_loop(self, task: asyncio.Task[None] | None) -> BaseException | None:
        """Renew until it fails for `renew_deadline` or the leader task ends; answers the task's exception."""
        last_ok = self._monotonic()
        while True:
            if await self._sleep_or_task_done(task, self.retry_period):
                assert task is not None
                exc = None if task.cancelled() else task.exception()
                if exc is not None:
                    log.error("lease %s/%s: the leader task failed, stepping down", self.namespace, self.name)
                    if self.release_on_cancel:
                        await self._release()
                    return exc
                task = None  # finished normally: keep the lease until cancelled
            while True:
                started = self._monotonic()
                remaining = last_ok + self.renew_deadline - started
                if remaining <= 0:
                    log.warning("lease %s/%s: could not renew within %.1fs, stepping down", self.namespace,
                                self.name, self.renew_deadline)
                    return None
                try:
                    async with asyncio.timeout(remaining):
                        renewed = await self._try_acquire_or_renew()
                except TimeoutError:
                    renewed = False
                except errors.KubeError as exc:
                    log.warning("lease %s/%s: renewal failed: %s", self.namespace, self.name, exc)
                    renewed = False
                if renewed:
                    last_ok = started
                    break
                if self.observed_holder and self.observed_holder != self.identity:
                    log.warning("lease %s/%s: %s holds the lease now, stepping down", self.namespace, self.name,
                                self.observed_holder)
                    return None
                await asyncio.sleep(min(self.retry_period, max(0.0, last_ok + self.renew_deadline
                                                                 - self._monotonic())))

    async def _sleep_or_task_done(self, task: asyncio.Task[None] | None, seconds: float) -> bool:
        """Sleep; answers True early when `task` finished meanwhile."""
        if task is None or not task.done():
            if task is None:
                await asyncio.sleep(seconds)
                return False
            done, _ = await asyncio.wait({task}, timeout=seconds)
            return bool(done)
        return True

    async def _try_acquire_or_renew(self) -> bool:
        """One attempt (client-go's tryAcquireOrRenew). True when we hold the Lease after it."""
        now = self._clock()
        if self.is_leader and self._lease is not None:
            # Fast path: renew from the object we wrote last; a conflict means it changed under us.
            old = Record.from_lease(self._lease)
            if old.holder == self.identity:
                try:
                    return self._wrote(await self._put(self._lease, acquire_spec(old, self.identity,
                                                                                 self.lease_duration_seconds, now)))
                except errors.Conflict:
                    pass
        lease = await self.client.get(resources.LEASES, self.name, self.namespace)
        if lease is None:
            record = acquire_spec(None, self.identity, self.lease_duration_seconds, now)
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace}, "spec": record.spec()}
            try:
                created = await self.client.create(resources.LEASES, body, self.namespace)
            except errors.AlreadyExists:
                return False
            return self._wrote(created)
        old = self._observe(lease)
        if old.holder and old.holder != self.identity:
            unchanged_for = self._monotonic() - self._observed_at
            if not lease_expired(old, now, unchanged_for=unchanged_for):
                return False
        try:
            return self._wrote(await self._put(lease, acquire_spec(old, self.identity,
                                                                   self.lease_duration_seconds, now)))
        except errors.Conflict:
            return False

    async def _put(self, lease: Mapping[str, Any], record: Record) -> dict[str, Any]:
        body = dict(lease)
        meta = dict(body.get("metadata") or {})
        meta.pop("managedFields", None)
        body["metadata"] = meta
        body["spec"] = {**(body.get("spec") or {}), **record.spec()}
        return await self.client.replace(resources.LEASES, body, self.namespace)

    def _wrote(self, lease: dict[str, Any]) -> bool:
        self._lease = lease
        self._observe(lease)
        return True

    def _observe(self, lease: Mapping[str, Any]) -> Record:
        record = Record.from_lease(lease)
        if record != self._observed:
            self._observed = record
            self._observed_at = self._monotonic()
        if record.holder != self.observed_holder:
            self.observed_holder = record.holder
            if record.holder and self._on_new_leader is not None:
                try:
                    self._on_new_leader(record.holder)
                except Exception:
                    log.exception("lease %s/%s: on_new_leader failed", self.namespace, self.name)
        return record

    async def _release(self) -> None:
        """Give the Lease up at once (only if we still hold it per our last write)."""
        if self._lease is None:
            return
        old = Record.from_lease(self._lease)
        if old.holder != self.identity:
            return
        try:
            async with asyncio.timeout(self.retry_period):
                self._lease = await self._put(self._lease, release_spec(old, self._clock()))
            log.info("lease %s/%s: released by %s", self.namespace, self.name, self.identity)
        except (errors.KubeError, TimeoutError) as exc:
            log.warning("lease %s/%s: release failed (others wait for expiry): %s", self.namespace, self.name, exc)
