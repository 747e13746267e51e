"""The errors the ACME adapter raises, classified so callers know whether to wait or to give up.

Every network call in `issuer.acme` ends in a value or one of these; nothing from `acme`, `josepy`,
`urllib3` or `dnspython` leaks out. The Order/Challenge controllers (and the offline engine) turn them
into conditions: a `Retryable` becomes a requeue after `delay` seconds, a `Terminal` a final state with
the server's problem type and detail in the message.

    ACMEError                  base: `message` is one readable sentence, never key material
    ├── Retryable(delay)       connection errors, timeouts, 5xx, 429/503 (Retry-After honoured), badNonce
    │                          that survived the client's own retries
    └── Terminal               the server refused for good: rejectedIdentifier, unauthorized, malformed,
                               badCSR, invalidContact, externalAccountRequired, orderNotReady, other 4xx,
                               and local configuration problems (`InvalidConfig`)
        └── InvalidConfig      the Issuer's ACME settings cannot work (wrong key type, v1 URL, bad EAB key)
"""

from __future__ import annotations

ERROR_PREFIX = "urn:ietf:params:acme:error:"

# Problem codes that say "try again later" even on a 4xx status.
_RETRYABLE_CODES = frozenset({"rateLimited", "badNonce", "serverInternal"})

DEFAULT_RETRY_DELAY = 5.0
DEFAULT_RATE_LIMIT_DELAY = 60.0
BAD_NONCE_DELAY = 0.2


class ACMEError(Exception):
    """Any failure of an ACME or DNS operation; `str()` is one sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self)


class Retryable(ACMEError):
    """Try again after `delay` seconds (the server's Retry-After when it sent one)."""

    def __init__(
        self, message: str, delay: float = DEFAULT_RETRY_DELAY, *, problem_type: str = "", status: int = 0
    ) -> None:
        super().__init__(message)
        self.delay = delay
        self.problem_type = problem_type
        self.status = status

    @property
    def code(self) -> str:
        return short_code(self.problem_type)


class Terminal(ACMEError):
    """The server (or the configuration) refused; retrying the same request cannot help.

    `problem_type` is the RFC 8555 problem type URN (``urn:ietf:params:acme:error:badCSR``) or "" for a
    problem found locally; `detail` is the server's detail text; `status` the HTTP status (0 when local).
    """

    def __init__(self, problem_type: str, detail: str, *, status: int = 0, message: str = "") -> None:
        self.problem_type = problem_type
        self.detail = detail
        self.status = status
        code = short_code(problem_type)
        super().__init__(message or (f"{code}: {detail}" if code else detail))

    @property
    def code(self) -> str:
        """The short problem code (``badCSR``), or the whole type when it is not an ACME URN."""
        return short_code(self.problem_type)


class InvalidConfig(Terminal):
    """The Issuer's ACME configuration is unusable (cert-manager's `InvalidConfig` reason)."""

    def __init__(self, message: str) -> None:
        super().__init__("", message, message=message)


def short_code(problem_type: str) -> str:
    return problem_type[len(ERROR_PREFIX) :] if problem_type.startswith(ERROR_PREFIX) else problem_type


def parse_retry_after(value: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); `default` when absent/odd."""
    if not value:
        return default
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    import email.utils
    import time

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return default
    if when is None:
        return default
    return max(0.0, when.timestamp() - time.time())


def classify(status: int, problem: dict[str, object] | None, retry_after: str | None, what: str) -> ACMEError:
    """The error for an unsuccessful HTTP response: `what` names the request (e.g. "new-order")."""
    problem = problem or {}
    ptype = str(problem.get("type") or "")
    detail = str(problem.get("detail") or "")
    code = short_code(ptype)
    subs = problem.get("subproblems")
    if isinstance(subs, list) and subs:
        parts = []
        for sub in subs:
            if isinstance(sub, dict):
                ident = sub.get("identifier")
                name = ident.get("value", "") if isinstance(ident, dict) else ""
                parts.append(f"{name}: {short_code(str(sub.get('type') or ''))}: {sub.get('detail') or ''}".strip())
        if parts:
            detail = f"{detail} ({'; '.join(parts)})" if detail else "; ".join(parts)
    text = f"{what}: {code}: {detail}" if code else f"{what}: HTTP {status}{': ' + detail if detail else ''}"
    if status == 429 or code == "rateLimited":
        delay = parse_retry_after(retry_after, DEFAULT_RATE_LIMIT_DELAY)
        return Retryable(text, delay, problem_type=ptype, status=status)
    if code == "badNonce":  # the client already retried; another fresh nonce soon is all it takes
        return Retryable(text, parse_retry_after(retry_after, BAD_NONCE_DELAY), problem_type=ptype, status=status)
    if status >= 500 or code in _RETRYABLE_CODES:
        return Retryable(text, parse_retry_after(retry_after, DEFAULT_RETRY_DELAY), problem_type=ptype, status=status)
    return Terminal(ptype, detail or f"HTTP {status}", status=status, message=text)
