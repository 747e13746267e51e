"""Renewal time tables, modelled on cert-manager's pkg/util/pki/renewaltime_test.go."""

from __future__ import annotations

import contextlib
import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from issuer.api import types
from issuer.pki import renewal

UTC = dt.UTC
H = dt.timedelta(hours=1)
NOW = dt.datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)
FUTURE = dt.datetime(2026, 12, 2, tzinfo=UTC)  # a Wednesday, midnight UTC
NOT_BEFORE = dt.datetime(2026, 11, 17, tzinfo=UTC)


def _window(cron: str, length: str = "2h", tz: str = "UTC") -> types.RenewalWindow:
    return types.RenewalWindow(timezone=tz, window_duration=length, cron=cron)


# (not_before, not_after, renew_before, renew_before_percentage, expected)
RENEWAL_TIME = {
    "short lived cert, spec.renewBefore is not set": (NOW, NOW + 3 * H, None, None, NOW + 2 * H),
    "long lived cert, spec.renewBefore is not set": (NOW, NOW + 4380 * H, None, None, NOW + 2920 * H),
    "spec.renewBefore is set": (NOW, NOW + 24 * H, 20 * H, None, NOW + 4 * H),
    "long lived cert, spec.renewBefore is set to renew every day": (NOW, NOW + 730 * H, 706 * H, None, NOW + 24 * H),
    "spec.renewBefore is set, but would result in renewal time after expiry": (
        NOW,
        NOW + 24 * H,
        25 * H,
        None,
        NOW + 16 * H,
    ),
    "spec.renewBefore equal to the lifetime is ignored": (NOW, NOW + 24 * H, 24 * H, None, NOW + 16 * H),
    "spec.renewBefore of zero is ignored": (NOW, NOW + 3 * H, dt.timedelta(0), None, NOW + 2 * H),
    "long lived cert, spec.renewBeforePercentage is set to renew 30% before expiry": (
        NOW,
        NOW + 730 * H,
        None,
        30,
        NOW + 511 * H,
    ),
    "spec.renewBeforePercentage of 100 is out of range so the default third is used": (
        NOW,
        NOW + 3 * H,
        None,
        100,
        NOW + 2 * H,
    ),
    "spec.renewBeforePercentage of 0 is out of range so the default third is used": (
        NOW,
        NOW + 3 * H,
        None,
        0,
        NOW + 2 * H,
    ),
    "spec.renewBefore wins over spec.renewBeforePercentage when valid": (NOW, NOW + 24 * H, 20 * H, 50, NOW + 4 * H),
    "an invalid spec.renewBefore falls through to spec.renewBeforePercentage": (
        NOW,
        NOW + 24 * H,
        48 * H,
        25,
        NOW + 18 * H,
    ),
    "spec.renewBefore is set to a value slightly less than cert's duration": (
        NOW,
        NOW + 24 * H + dt.timedelta(minutes=3),
        24 * H,
        None,
        NOW + dt.timedelta(minutes=3),
    ),
    "certificate's duration is skewed by a second": (
        NOW,
        NOW + 24 * H - dt.timedelta(seconds=1),
        None,
        None,
        NOW + 16 * H - dt.timedelta(seconds=1),
    ),
    "a sub-second notAfter is truncated to the second": (
        NOW,
        NOW + 3 * H + dt.timedelta(microseconds=900_000),
        None,
        None,
        NOW + 2 * H,
    ),
    "spec.renewBeforePercentage=99 with a 10-year duration does not overflow": (
        NOW,
        NOW + 87_600 * H,
        None,
        99,
        NOW + 876 * H,
    ),
}


@pytest.mark.parametrize(
    ("not_before", "not_after", "renew_before", "pct", "expected"), RENEWAL_TIME.values(), ids=RENEWAL_TIME.keys()
)
def test_renewal_time(
    not_before: dt.datetime,
    not_after: dt.datetime,
    renew_before: dt.timedelta | None,
    pct: int | None,
    expected: dt.datetime,
) -> None:
    got = renewal.renewal_time(not_before, not_after, renew_before, pct)
    assert got == expected
    assert got.tzinfo is not None
    assert got.microsecond == 0


RENEW_BEFORE = {
    "spec.renewBefore and spec.renewBeforePercentage are not set": (None, None, H),
    "spec.renewBeforePercentage is valid": (None, 25, 45 * dt.timedelta(minutes=1)),
    "spec.renewBeforePercentage is too large so default is used": (None, 100, H),
    "spec.renewBeforePercentage is too small so default is used": (None, 0, H),
    "spec.renewBefore is valid": (H, None, H),
    "spec.renewBefore is invalid so default is used": (4 * H, None, H),
}


@pytest.mark.parametrize(("rb", "pct", "expected"), RENEW_BEFORE.values(), ids=RENEW_BEFORE.keys())
def test_renew_before(rb: dt.timedelta | None, pct: int | None, expected: dt.timedelta) -> None:
    assert renewal.renew_before(3 * H, rb, pct) == expected


def _sat(after: dt.datetime) -> dt.datetime:
    day = after
    while day.weekday() != 5:
        day += dt.timedelta(days=1)
    return day


PHOENIX = zoneinfo.ZoneInfo("America/Phoenix")
DENVER = zoneinfo.ZoneInfo("America/Denver")
DST_END = dt.datetime(2026, 11, 1, tzinfo=UTC)

# (not_before, not_after, target renewal time, windows, expected time, expected error prefix)
WINDOWS = {
    "single window, renewal time within window": (
        NOT_BEFORE,
        FUTURE + 48 * H,
        FUTURE + 10.5 * H,
        [_window("0 10 * * *")],
        FUTURE + 10.5 * H,
        "",
    ),
    "single window, time outside window moves to the next window start": (
        NOT_BEFORE,
        FUTURE + 48 * H,
        FUTURE + 13 * H,
        [_window("0 10 * * *")],
        FUTURE + 34 * H,
        "",
    ),
    "single window, renewal time before the window waits for its start": (
        NOT_BEFORE,
        FUTURE + 24 * H,
        FUTURE + 9 * H,
        [_window("0 15 * * *")],
        FUTURE + 15 * H,
        "",
    ),
    "multiple windows, weekday and weekend": (
        NOT_BEFORE,
        _sat(FUTURE) + 24 * H,
        _sat(FUTURE) + 6 * H,
        [_window("0 23 * * 1-5"), _window("0 10 * * 6,0", "4h")],
        _sat(FUTURE) + 10 * H,
        "",
    ),
    "single window, renewal time within window, different timezone": (
        NOT_BEFORE,
        FUTURE + 48 * H,
        dt.datetime(2026, 12, 2, 10, 30, tzinfo=PHOENIX),
        [_window("0 10 * * *", tz="America/Phoenix")],
        dt.datetime(2026, 12, 2, 17, 30, tzinfo=UTC),
        "",
    ),
    "single window, renewal time in daylight savings (on to off) time zone": (
        dt.datetime(2026, 2, 26, tzinfo=UTC),
        DST_END + 48 * H,
        dt.datetime(2026, 10, 31, 15, 30, tzinfo=DENVER),
        [_window("0 10 * * *", tz="America/Denver")],
        dt.datetime(2026, 11, 1, 17, 0, tzinfo=UTC),  # 10:00 MST, after the clocks went back
        "",
    ),
    "single window, renewal time outside of windows returns the desired time and an error": (
        NOT_BEFORE,
        FUTURE + 24 * H,
        FUTURE + 13.5 * H,
        [_window("0 10 * * *")],
        FUTURE + 13.5 * H,
        "cannot find a time with the given windows between 2026-11-17 00:00:00 +0000 UTC and "
        "2026-12-03 00:00:00 +0000 UTC for: 2026-12-02 13:30:00 +0000 UTC",
    ),
    "a window that can never match returns the desired time and an error": (
        NOT_BEFORE,
        FUTURE + 24 * H,
        FUTURE + 13.5 * H,
        [_window("0 10 30 2 *")],
        FUTURE + 13.5 * H,
        "cannot find a time with the given windows",
    ),
    "the latest window inside wins over a later window start": (
        NOT_BEFORE,
        FUTURE + 48 * H,
        FUTURE + 10.5 * H,
        [_window("0 11 * * *"), _window("0 10 * * *")],
        FUTURE + 10.5 * H,
        "",
    ),
    "the earliest of several later window starts is used": (
        NOT_BEFORE,
        FUTURE + 48 * H,
        FUTURE + 13 * H,
        [_window("30 20 * * *"), _window("0 18 * * *")],
        FUTURE + 18 * H,
        "",
    ),
    "cron steps, ranges and lists are understood": (
        NOT_BEFORE,
        FUTURE + 48 * H,
        FUTURE + 13 * H + dt.timedelta(minutes=1),
        [_window("*/15 8-12,14 * * wed", "10m")],
        FUTURE + 14 * H,
        "",
    ),
    "an invalid timezone returns the desired time and an error": (
        NOT_BEFORE,
        FUTURE + 48 * H,
        FUTURE + 13 * H,
        [_window("0 10 * * *", tz="Not/AZone")],
        FUTURE + 13 * H,
        "error parsing timezone in window unknown time zone Not/AZone",
    ),
    "an invalid cron returns the desired time and an error": (
        NOT_BEFORE,
        FUTURE + 48 * H,
        FUTURE + 13 * H,
        [_window("not a valid cron")],
        FUTURE + 13 * H,
        "error parsing cron in window expected exactly 5 fields, found 4",
    ),
    "a non-positive windowDuration returns the desired time and an error": (
        NOT_BEFORE,
        FUTURE + 48 * H,
        FUTURE + 13 * H,
        [_window("0 10 * * *", "0s")],
        FUTURE + 13 * H,
        "windowDuration must be a positive duration in window {UTC 0s 0 10 * * *}",
    ),
}


@pytest.mark.parametrize("case", WINDOWS.values(), ids=WINDOWS.keys())
def test_renewal_with_windows_for_renew_before(
    case: tuple[dt.datetime, dt.datetime, dt.datetime, list[types.RenewalWindow], dt.datetime, str],
) -> None:
    not_before, not_after, target, windows, expected, error = case
    spec = types.CertificateSpec(
        renew_before=f"{int((not_after - target).total_seconds())}s",
        renewal=types.Renewal(policy="RenewBefore", windows=tuple(windows)),
    )
    got = renewal.renewal_time_for(spec, not_before, not_after)
    assert got.time == expected
    assert got.time is not None
    assert got.time.tzinfo == UTC
    if error:
        assert got.error.startswith(error)
    else:
        assert got.error == ""


def test_renewal_policy_disabled_gives_no_renewal_time() -> None:
    spec = types.CertificateSpec(renew_before="20h", renewal=types.Renewal(policy="Disabled"))
    assert renewal.renewal_time_for(spec, NOW, NOW + 24 * H) == renewal.RenewalTime(None)


def test_unsupported_renewal_policy_returns_the_fallback_time_and_an_error() -> None:
    spec = types.CertificateSpec(renew_before="120h", renewal=types.Renewal(policy="Bogus"))
    got = renewal.renewal_time_for(spec, NOW - 240 * H, NOW + 240 * H)
    assert got == renewal.RenewalTime(NOW + 120 * H, "unsupported renewal policy: Bogus")


def test_renewal_without_windows_is_the_desired_time() -> None:
    spec = types.CertificateSpec(renewal=types.Renewal(policy="RenewBefore"))
    assert renewal.renewal_time_for(spec, NOW, NOW + 3 * H) == renewal.RenewalTime(NOW + 2 * H)


def test_renewal_time_for_reads_spec_fields() -> None:
    spec = types.CertificateSpec(renew_before="1h", renew_before_percentage=50)
    assert renewal.renewal_time_for(spec, NOW, NOW + 3 * H).time == NOW + 2 * H
    spec = types.CertificateSpec(renew_before_percentage=50)
    assert renewal.renewal_time_for(spec, NOW, NOW + 3 * H).time == NOW + 1.5 * H


CRON_ERRORS = {
    "minute above maximum": "60 * * * *",
    "hour range reversed": "0 5-3 * * *",
    "day of month below minimum": "0 0 0 * *",
    "too many slashes": "*/2/3 * * * *",
    "too many hyphens": "1-2-3 * * * *",
    "not a number": "x * * * *",
    "zero step": "*/0 * * * *",
    "six fields": "0 0 * * * *",
    "unknown descriptor": "@fortnightly",
}


@pytest.mark.parametrize("spec", CRON_ERRORS.values(), ids=CRON_ERRORS.keys())
def test_cron_rejects(spec: str) -> None:
    with pytest.raises(renewal.CronError):
        renewal.CronSchedule.parse(spec)


CRON_DAYS = {
    "day of month and weekday both restricted match either (robfig/cron)": ("0 0 1 * mon", "2026-12-07", True),
    "a star weekday makes the day of month decide": ("0 0 1 * *", "2026-12-07", False),
    "a stepped weekday is a restriction": ("0 0 1 * */2", "2026-12-01", True),
    "month names are understood": ("0 0 * dec *", "2026-12-07", True),
    "descriptors are understood": ("@monthly", "2026-12-01", True),
}


@pytest.mark.parametrize(("spec", "day", "expected"), CRON_DAYS.values(), ids=CRON_DAYS.keys())
def test_cron_day_matching(spec: str, day: str, expected: bool) -> None:
    assert renewal.CronSchedule.parse(spec).matches_day(dt.date.fromisoformat(day)) is expected


def test_go_time_string() -> None:
    assert renewal.go_time_string(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02 03:04:05 +0000 UTC"
    assert renewal.go_time_string(dt.datetime(2026, 1, 2, 3, 4, 5, 500_000, tzinfo=UTC)) == (
        "2026-01-02 03:04:05.5 +0000 UTC"
    )


_CRON_TEXT = st.lists(
    st.one_of(
        st.sampled_from(["*", "?", "*/5", "1-5", "mon", "jan", "0", "59", "60", "7", "-", "/", ","]),
        st.text(max_size=4),
    ),
    min_size=0,
    max_size=7,
).map(" ".join)


@settings(max_examples=100, deadline=None)
@given(
    cron=_CRON_TEXT,
    tz=st.one_of(st.sampled_from(["", "UTC", "Europe/London", "../etc", "Not/AZone"]), st.text(max_size=8)),
    length=st.text(max_size=6),
)
def test_windows_never_raise(cron: str, tz: str, length: str) -> None:
    with contextlib.suppress(renewal.CronError):
        renewal.CronSchedule.parse(cron)
    got = renewal.apply_windows(NOT_BEFORE, FUTURE + 24 * H, FUTURE + 13 * H, [_window(cron, length or "1h", tz)])
    assert got.time is not None
    assert got.time.tzinfo == UTC
