"""When a certificate should be renewed: cert-manager's `pkg/util/pki/renewaltime.go` in Python.

The trigger and readiness policies and the readiness controller call `renewal_time_for` with the Certificate
spec and the validity of the *issued* leaf; `renewal_time` is the bare renewBefore / percentage / one-third
arithmetic. Renewal windows (`spec.renewal.windows`: 5-field cron + IANA timezone + windowDuration) move
the desired time into a window, using the small cron matcher below (stdlib only). Pure: no clock is read.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import zoneinfo
from collections.abc import Iterator, Sequence

from issuer.api import constants as c
from issuer.api import duration as _duration
from issuer.api import types

_UTC = _dt.UTC
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_UTC)
_NS = 1_000_000_000

POLICY_RENEW_BEFORE = c.RENEWAL_POLICY_RENEW_BEFORE
POLICY_DISABLED = c.RENEWAL_POLICY_DISABLED


@dataclasses.dataclass(frozen=True)
class RenewalTime:
    """The renewal time, or None when renewal is Disabled; `error` is set (with the fallback time) when the
    renewal windows could not be applied, as cert-manager returns the desired time together with an error."""

    time: _dt.datetime | None
    error: str = ""


# ---------------------------------------------------------------------------------------------------------
# renewBefore / renewBeforePercentage / one third


def _to_ns(value: _dt.timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * _NS + value.microseconds * 1000


def _from_ns(ns: int) -> _dt.datetime:
    return _EPOCH + _dt.timedelta(microseconds=ns // 1000)


def _trunc_div(a: int, b: int) -> int:
    """Go's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def renew_before(
    actual: _dt.timedelta, renew_before: _dt.timedelta | None, renew_before_percentage: int | None
) -> _dt.timedelta:
    """How long before expiry to renew: renewBefore if 0 < it < actual, else actual * pct / 100 for a pct in
    (0, 100), else actual / 3 (cert-manager's `desiredRenewalTime`, Go nanosecond arithmetic)."""
    return _dt.timedelta(
        microseconds=_trunc_div(_renew_before_ns(_to_ns(actual), renew_before, renew_before_percentage), 1000)
    )


def _renew_before_ns(actual_ns: int, renew_before: _dt.timedelta | None, pct: int | None) -> int:
    if renew_before is not None and 0 < _to_ns(renew_before) < actual_ns:
        return _to_ns(renew_before)
    if pct is not None and 0 < pct < 100:
        # float64 like Go (avoids int64 overflow there); int() truncates toward zero like time.Duration(f).
        return int(float(actual_ns) * float(pct) / 100)
    return _trunc_div(actual_ns, 3)


def renewal_time(
    not_before: _dt.datetime,
    not_after: _dt.datetime,
    renew_before: _dt.timedelta | None,
    renew_before_percentage: int | None,
) -> _dt.datetime:
    """notAfter - renew-before (see `renew_before`), truncated to the second, as an aware UTC datetime."""
    actual_ns = _to_ns(not_after - not_before)
    rb_ns = _renew_before_ns(actual_ns, renew_before, renew_before_percentage)
    at_ns = _to_ns(not_after - _EPOCH) - rb_ns
    return _from_ns(at_ns - at_ns % _NS)


def renewal_time_for(spec: types.CertificateSpec, not_before: _dt.datetime, not_after: _dt.datetime) -> RenewalTime:
    """The renewal time for an issued certificate under `spec`: renewBefore/percentage, then the renewal
    policy (Disabled -> no time) and windows. An unparsable renewBefore counts as unset."""
    rb: _dt.timedelta | None = None
    if spec.renew_before:
        try:
            rb = _duration.parse(spec.renew_before)
        except _duration.DurationError:
            rb = None
    desired = renewal_time(not_before, not_after, rb, spec.renew_before_percentage)
    renewal = spec.renewal
    if renewal is None:
        return RenewalTime(desired)
    policy = renewal.policy or POLICY_RENEW_BEFORE
    if policy == POLICY_DISABLED:
        return RenewalTime(None)
    if policy != POLICY_RENEW_BEFORE:
        return RenewalTime(desired, f"unsupported renewal policy: {policy}")
    return apply_windows(not_before, not_after, desired, renewal.windows)


# ---------------------------------------------------------------------------------------------------------
# Renewal windows


def apply_windows(
    not_before: _dt.datetime,
    not_after: _dt.datetime,
    desired: _dt.datetime,
    windows: Sequence[types.RenewalWindow],
) -> RenewalTime:
    """Move `desired` into a renewal window, as cert-manager's `applyRenewBeforeWithWindows`.

    Per window the search range is [notBefore - windowDuration, notAfter + windowDuration]. If `desired`
    falls inside a window (the latest window start at or before it, plus windowDuration), `desired` is kept;
    otherwise the earliest window start after it is used. Across windows the "inside" answers win over the
    "after" ones. With no answer at all, `desired` comes back together with an error.
    """
    desired = desired.astimezone(_UTC)
    if not windows:
        return RenewalTime(desired)
    best_before: _dt.datetime | None = None
    best_after: _dt.datetime | None = None
    for window in windows:
        tz_name = window.timezone or "UTC"
        try:
            tz = zoneinfo.ZoneInfo(tz_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            return RenewalTime(desired, f"error parsing timezone in window unknown time zone {tz_name}")
        try:
            schedule = CronSchedule.parse(window.cron)
        except CronError as exc:
            return RenewalTime(desired, f"error parsing cron in window {exc}")
        length = _window_duration(window.window_duration)
        if length is None or length <= _dt.timedelta(0):
            shown = f"{{{window.timezone} {window.window_duration} {window.cron}}}"
            return RenewalTime(desired, f"windowDuration must be a positive duration in window {shown}")
        search_min = not_before - length
        search_max = not_after + length

        # Before: the latest start S in [search_min, min(desired, search_max)]; keep `desired` if inside S's window.
        if desired >= search_min:
            upper = min(desired, search_max)
            start = schedule.previous(upper, search_min, tz) if search_min < upper else None
            if start is not None:
                candidate = desired if start <= desired < start + length else start + length
                if candidate >= desired and (best_before is None or candidate > best_before):
                    best_before = candidate

        # After: the first start S >= max(desired, search_min) and <= search_max.
        lower = max(desired, search_min)
        start = schedule.next(lower, search_max, tz)
        if start is not None:
            after: _dt.datetime | None = None
            if start <= desired < start + length:
                after = desired
            elif desired < start:
                after = start
            if after is not None and after >= desired and (best_after is None or after < best_after):
                best_after = after

    if best_before is not None:
        return RenewalTime(best_before.astimezone(_UTC))
    if best_after is not None:
        return RenewalTime(best_after.astimezone(_UTC))
    return RenewalTime(
        desired,
        "cannot find a time with the given windows between "
        f"{go_time_string(not_before)} and {go_time_string(not_after)} for: {go_time_string(desired)}",
    )


def _window_duration(text: str) -> _dt.timedelta | None:
    try:
        return _duration.parse(text)
    except _duration.DurationError:
        return None


def go_time_string(value: _dt.datetime) -> str:
    """Go's time.Time.String() for a UTC time: "2006-01-02 15:04:05 +0000 UTC" (fraction only when non-zero)."""
    value = value.astimezone(_UTC)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + " +0000 UTC"


# ---------------------------------------------------------------------------------------------------------
# A small 5-field cron matcher (robfig/cron's standard parser semantics)


class CronError(ValueError):
    """A cron expression this matcher does not accept."""


_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {
    n: i + 1 for i, n in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))
}
_DAYS = {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
# (low, high, names) per field: minute, hour, day of month, month, day of week (0 = Sunday)
_BOUNDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (1, 12, _MONTHS),
    (0, 6, _DAYS),
)


def _parse_int(text: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not (text.isascii() and text.isdigit()):  # str.isdigit() also accepts "²", which int() refuses
        raise CronError(f"failed to parse int from {text}")
    return int(text)


def _parse_field(field: str, low: int, high: int, names: dict[str, int]) -> tuple[frozenset[int], bool]:
    """Values of one field and whether it is a bare `*`/`?` (robfig's star bit)."""
    values: set[int] = set()
    star = False
    for part in field.split(","):
        range_and_step = part.split("/")
        if len(range_and_step) > 2:
            raise CronError(f"too many slashes: {part}")
        low_high = range_and_step[0].split("-")
        if len(low_high) > 2:
            raise CronError(f"too many hyphens: {part}")
        part_star = False
        if low_high[0] in ("*", "?"):
            if len(low_high) > 1:
                raise CronError(f"too many hyphens: {part}")
            start, end, part_star = low, high, True
        else:
            start = _parse_int(low_high[0], names)
            end = _parse_int(low_high[1], names) if len(low_high) == 2 else start
        step = 1
        if len(range_and_step) == 2:
            if not (range_and_step[1].isascii() and range_and_step[1].isdigit()):
                raise CronError(f"failed to parse int from {range_and_step[1]}")
            step = int(range_and_step[1])
            if len(low_high) == 1 and not part_star:
                end = high  # "N/step" means "N-max/step"
            if step > 1:
                part_star = False
        if start < low:
            raise CronError(f"beginning of range ({start}) below minimum ({low}): {part}")
        if end > high:
            raise CronError(f"end of range ({end}) above maximum ({high}): {part}")
        if start > end:
            raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {part}")
        if step <= 0:
            raise CronError(f"step of range should be a positive number: {part}")
        values.update(range(start, end + 1, step))
        star = star or part_star
    return frozenset(values), star


@dataclasses.dataclass(frozen=True)
class CronSchedule:
    """A parsed 5-field cron expression: minute hour day-of-month month day-of-week."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    dom_star: bool
    dow_star: bool

    @classmethod
    def parse(cls, spec: str) -> CronSchedule:
        text = spec.strip()
        if text.startswith("@"):
            if text not in _DESCRIPTORS:
                raise CronError(f"unrecognized descriptor: {text}")
            text = _DESCRIPTORS[text]
        fields = text.split()
        if len(fields) != 5:
            raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
        parsed = [_parse_field(f, lo, hi, names) for f, (lo, hi, names) in zip(fields, _BOUNDS, strict=True)]
        return cls(
            minutes=tuple(sorted(parsed[0][0])),
            hours=tuple(sorted(parsed[1][0])),
            days_of_month=parsed[2][0],
            months=parsed[3][0],
            days_of_week=parsed[4][0],
            dom_star=parsed[2][1],
            dow_star=parsed[4][1],
        )

    def matches_day(self, day: _dt.date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days_of_month
        dow = (day.weekday() + 1) % 7 in self.days_of_week
        if self.dom_star or self.dow_star:
            return dom and dow
        return dom or dow

    def _starts(self, day: _dt.date, tz: _dt.tzinfo, reverse: bool) -> Iterator[_dt.datetime]:
        """The UTC instants on local `day` that match; a wall time skipped by DST maps forward like Go's time.Date."""
        if not self.matches_day(day):
            return
        hours = reversed(self.hours) if reverse else iter(self.hours)
        for hour in hours:
            minutes = reversed(self.minutes) if reverse else iter(self.minutes)
            for minute in minutes:
                local = _dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                yield local.astimezone(_UTC)

    def next(self, at_or_after: _dt.datetime, limit: _dt.datetime, tz: _dt.tzinfo) -> _dt.datetime | None:
        """The first matching minute >= `at_or_after` (to the second) and <= `limit`, or None."""
        floor = at_or_after.replace(microsecond=0)
        day = floor.astimezone(tz).date() - _dt.timedelta(days=1)
        last = limit.astimezone(tz).date() + _dt.timedelta(days=1)
        while day <= last:
            for start in self._starts(day, tz, reverse=False):
                if start > limit:
                    return None
                if start >= floor:
                    return start
            day += _dt.timedelta(days=1)
        return None

    def previous(self, at_or_before: _dt.datetime, lower: _dt.datetime, tz: _dt.tzinfo) -> _dt.datetime | None:
        """The latest matching minute <= `at_or_before` and >= `lower`, or None."""
        day = at_or_before.astimezone(tz).date() + _dt.timedelta(days=1)
        first = lower.astimezone(tz).date() - _dt.timedelta(days=1)
        while day >= first:
            for start in self._starts(day, tz, reverse=True):
                if start < lower:
                    return None
                if start <= at_or_before:
                    return start
            day -= _dt.timedelta(days=1)
        return None
