"""The pure Lease arithmetic of `issuer.kube.leader`: MicroTime, when a Lease counts as expired, and the
record a candidate writes to take, renew or release it (client-go's leaderelection rules)."""

from __future__ import annotations

import datetime

import pytest

from issuer.kube import leader

T0 = datetime.datetime(2026, 1, 1, 0, 0, 0, tzinfo=datetime.UTC)


def held(by: str = "a", renewed: datetime.datetime = T0, duration: int = 15, transitions: int = 2) -> leader.Record:
    stamp = leader.format_micro_time(renewed)
    return leader.Record(by, duration, stamp, stamp, transitions)


def test_micro_time_format() -> None:
    assert leader.format_micro_time(T0) == "2026-01-01T00:00:00.000000Z"
    east = datetime.timezone(datetime.timedelta(hours=2))
    assert leader.format_micro_time(datetime.datetime(2026, 1, 1, 2, 0, 0, 5, tzinfo=east)) == \
        "2026-01-01T00:00:00.000005Z"


@pytest.mark.parametrize("text", [
    "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000000+00:00",
    "2026-01-01T01:00:00+01:00", "2026-01-01T00:00:00.0Z",
])
def test_parse_time_accepts_what_servers_and_clients_send(text: str) -> None:
    assert leader.parse_time(text) == T0


@pytest.mark.parametrize("value", [None, "", "yesterday", 5])
def test_parse_time_rejects_junk(value: object) -> None:
    assert leader.parse_time(value) is None


@pytest.mark.parametrize(("record", "now", "unchanged_for", "expired"), [
    pytest.param(held(), T0 + datetime.timedelta(seconds=10), None, False, id="renewed 10s ago: held"),
    pytest.param(held(), T0 + datetime.timedelta(seconds=15), None, False, id="exactly at the duration: held"),
    pytest.param(held(), T0 + datetime.timedelta(seconds=15.001), None, True, id="past the duration: expired"),
    pytest.param(held(by=""), T0, None, True, id="released (no holder): free"),
    pytest.param(leader.Record("a", 15, "", "", 0), T0, None, True, id="no renewTime: expired"),
    pytest.param(held(renewed=T0 + datetime.timedelta(hours=1)), T0, 15.0, True,
                 id="unchanged for a whole duration locally: expired even if renewTime is in the future"),
    pytest.param(held(renewed=T0 + datetime.timedelta(hours=1)), T0, 14.0, False,
                 id="future renewTime, recently changed: held"),
])
def test_lease_expired(record: leader.Record, now: datetime.datetime, unchanged_for: float | None,
                       expired: bool) -> None:
    assert leader.lease_expired(record, now, unchanged_for=unchanged_for) is expired


def test_first_acquire_starts_at_zero_transitions() -> None:
    rec = leader.acquire_spec(None, "me", 15, T0)
    assert rec == leader.Record("me", 15, "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z", 0)


def test_taking_over_counts_a_transition() -> None:
    later = T0 + datetime.timedelta(seconds=30)
    rec = leader.acquire_spec(held(by="a"), "b", 15, later)
    assert (rec.holder, rec.transitions) == ("b", 3)
    assert rec.acquire_time == rec.renew_time == leader.format_micro_time(later)


def test_taking_a_released_lease_counts_a_transition_too() -> None:
    rec = leader.acquire_spec(held(by=""), "b", 15, T0)
    assert rec.transitions == 3


def test_renewing_keeps_acquire_time_and_transitions() -> None:
    later = T0 + datetime.timedelta(seconds=2)
    rec = leader.acquire_spec(held(by="me"), "me", 15, later)
    assert rec.acquire_time == leader.format_micro_time(T0)
    assert rec.renew_time == leader.format_micro_time(later)
    assert rec.transitions == 2


def test_release_empties_the_holder() -> None:
    rec = leader.release_spec(held(by="me"), T0)
    assert rec == leader.Record("", 1, leader.format_micro_time(T0), leader.format_micro_time(T0), 2)


def test_record_round_trips_through_a_lease() -> None:
    rec = held()
    assert leader.Record.from_lease({"spec": rec.spec()}) == rec
    assert leader.Record.from_lease(None) == leader.Record()
    assert leader.Record.from_lease({"spec": {"leaseDurationSeconds": "x", "leaseTransitions": True}}) == \
        leader.Record()


@pytest.mark.parametrize(("duration", "deadline", "period"), [(10, 10, 2), (15, 2, 2), (15, 10, 0)])
def test_elector_rejects_inconsistent_timings(duration: float, deadline: float, period: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        leader.LeaderElector(None, "ns", "lease", "me", lease_duration=duration,  # type: ignore[arg-type]
                             renew_deadline=deadline, retry_period=period)


def test_default_identity_is_unique() -> None:
    assert leader.default_identity() != leader.default_identity()
