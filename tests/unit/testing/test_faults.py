"""Fault rules of the embedded API server: `probability` fires on a seeded share of the matching requests."""

from __future__ import annotations

from issuer.testing.faults import Fault, Faults


def draws(seed: int, n: int = 1000) -> list[bool]:
    faults = Faults(seed=seed)
    faults.add(Fault(verb="create", status=409, probability=0.2))
    return [faults.match("create", "secrets", "ns", None) is not None for _ in range(n)]


def test_a_probabilistic_rule_fires_on_about_that_share_of_matching_requests() -> None:
    fired = sum(draws(1))
    assert 150 < fired < 250


def test_the_same_seed_gives_the_same_sequence() -> None:
    assert draws(7) == draws(7)
    assert draws(7) != draws(8)


def test_a_request_the_rule_passes_over_may_match_the_next_rule_and_is_not_counted() -> None:
    faults = Faults(seed=3)
    first = faults.add(Fault(verb="patch", status=409, probability=0.5))
    second = faults.add(Fault(verb="patch", status=500))
    answers = [faults.match("patch", "certificates/status", "ns", "a") for _ in range(200)]
    assert {id(a) for a in answers} == {id(first), id(second)}
    assert first.hits + second.hits == 200
    assert 60 < first.hits < 140


def test_probability_one_is_the_old_behaviour_and_times_counts_only_fired_requests() -> None:
    faults = Faults()
    rule = faults.add(Fault(verb="delete", status=500, times=2, probability=0.5))
    fired = [faults.match("delete", "secrets", None, None) for _ in range(100)]
    assert sum(f is not None for f in fired) == 2
    assert rule not in list(faults)
    always = faults.add(Fault(verb="get"))
    assert all(faults.match("get", "secrets", None, None) is always for _ in range(20))
