"""`--renewal-jitter`: deterministic per Certificate, spreads renewals, never before notBefore."""

from __future__ import annotations

import collections
import datetime as dt

import pytest

from issuer import policies
from issuer.api import types as t

NOT_BEFORE = dt.datetime(2026, 11, 27, 10, 0, 0, tzinfo=dt.UTC)
NOT_AFTER = NOT_BEFORE + dt.timedelta(days=90)


def cert(name: str, namespace: str = "default", **spec: object) -> t.Certificate:
    return t.Certificate(
        metadata=t.ObjectMeta(name=name, namespace=namespace),
        spec=t.CertificateSpec(secret_name=f"{name}-tls", dns_names=(f"{name}.example.com",), **spec),  # type: ignore[arg-type]
    )


def renewal_of(c: t.Certificate, jitter: float) -> dt.datetime:
    inp = policies.Input(c, None, None, None, NOT_BEFORE, jitter)
    result = policies.renewal_time(inp, NOT_BEFORE, NOT_AFTER)
    assert result.time is not None
    return result.time


def test_no_jitter_is_cert_managers_two_thirds() -> None:
    assert renewal_of(cert("a"), 0.0) == NOT_BEFORE + dt.timedelta(days=60)


def test_the_same_certificate_always_gets_the_same_time() -> None:
    assert renewal_of(cert("a"), 0.1) == renewal_of(cert("a"), 0.1)
    assert renewal_of(cert("a"), 0.1) != renewal_of(cert("b"), 0.1)


@pytest.mark.parametrize("percent", [5, 10, 30])
def test_a_thousand_certificates_issued_together_spread_over_many_minutes(percent: int) -> None:
    times = [renewal_of(cert(f"c{i}", f"ns{i % 7}"), percent / 100) for i in range(1000)]
    latest = NOT_BEFORE + dt.timedelta(days=60)
    assert all(latest - dt.timedelta(days=90) * percent / 100 <= x <= latest for x in times)
    buckets = collections.Counter(x.replace(second=0) for x in times)
    assert max(buckets.values()) <= 20, "no 1-minute bucket may hold more than 2% of them"


def test_jitter_never_moves_renewal_before_not_before() -> None:
    short = cert("s", renew_before="89h")  # renew 1 hour after issuance of a 90 h certificate
    not_after = NOT_BEFORE + dt.timedelta(hours=90)
    inp = policies.Input(short, None, None, None, NOT_BEFORE, 0.99)
    result = policies.renewal_time(inp, NOT_BEFORE, not_after)
    assert result.time is not None and result.time >= NOT_BEFORE
