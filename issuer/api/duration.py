"""Go duration strings ("2160h", "1h30m", "59m55s", "500ms") to `timedelta` and back.

cert-manager's durations are Go `metav1.Duration` values; users write them in Go syntax and messages
print them in Go's canonical form ("1h0m0s"), so both directions follow Go's `time` package.
"""

from __future__ import annotations

import datetime as _dt
import re

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


class DurationError(ValueError):
    """A string that is not a Go duration."""


def parse(text: str) -> _dt.timedelta:
    """Parse a Go duration string; raises DurationError on anything Go's time.ParseDuration refuses."""
    if not isinstance(text, str) or not text:
        raise DurationError(f"time: invalid duration {text!r}")
    rest = text
    sign = 1
    if rest[0] in "+-":
        sign = -1 if rest[0] == "-" else 1
        rest = rest[1:]
    if rest == "0":
        return _dt.timedelta(0)
    if not rest:
        raise DurationError(f'time: invalid duration "{text}"')
    total_ns = 0
    pos = 0
    while pos < len(rest):
        match = _PART.match(rest, pos)
        if match is None:
            raise DurationError(f'time: invalid duration "{text}"')
        number, unit = match.groups()
        if "." in number:
            whole, _, frac = number.partition(".")
            value = int(whole or "0") * _UNITS_NS[unit]
            if frac:
                value += int(frac) * _UNITS_NS[unit] // 10 ** len(frac)
        else:
            value = int(number) * _UNITS_NS[unit]
        total_ns += value
        pos = match.end()
    if total_ns > 2**63 - 1:
        raise DurationError(f'time: invalid duration "{text}"')
    return sign * _dt.timedelta(microseconds=total_ns // 1000)


def format(value: _dt.timedelta) -> str:
    """Format like Go's Duration.String(): "1h0m0s", "5m0s", "1.5s", "0s"."""
    total_us = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    if total_us == 0:
        return "0s"
    sign = "-" if total_us < 0 else ""
    total_us = abs(total_us)
    if total_us < 1_000_000:
        if total_us < 1000:
            return f"{sign}{total_us}µs"
        ms = total_us / 1000
        return f"{sign}{_trim(ms)}ms"
    hours, rem = divmod(total_us, 3_600_000_000)
    minutes, rem = divmod(rem, 60_000_000)
    seconds = rem / 1_000_000
    out = sign
    if hours:
        out += f"{hours}h{minutes}m"
    elif minutes:
        out += f"{minutes}m"
    return out + f"{_trim(seconds)}s"


def _trim(number: float) -> str:
    text = f"{number:.6f}".rstrip("0").rstrip(".")
    return text or "0"
