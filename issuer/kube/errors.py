"""Classified errors of the Kubernetes adapter: everything `issuer.kube` raises is a `KubeError`, sorted
into what a caller does next, as DESIGN.md §4 asks. `operator/apply` is the one place that turns them
into conditions and requeues; `from_response` (used by `issuer.kube.client`) is the one place that
turns an HTTP answer into them.

The hierarchy (after httpx's `_exceptions.py`)::

    KubeError                   any failure talking to the API server
    ├── ConfigError             no usable kubeconfig / in-cluster credentials (raised at start-up)
    ├── Retryable(delay)        try the same thing again after `delay` seconds
    │   ├── TransportError      connection refused or reset, TLS failure, timeout
    │   ├── ServerError         5xx (InternalError, ServiceUnavailable, Timeout, ...)
    │   ├── TooManyRequests     429, `delay` from Retry-After
    │   ├── Conflict            409 Conflict: stale resourceVersion or failed precondition; re-read
    │   └── Gone                410 Expired/Gone: a watch or continue token is too old; re-list
    └── Terminal(status, reason, message)   retrying the same request cannot help
        ├── BadRequest          400
        ├── Unauthorized        401
        ├── Forbidden           403 (RBAC, or a namespace being terminated)
        ├── NotFound            404 (the getters answer None / False instead)
        ├── AlreadyExists       409 AlreadyExists
        ├── UnsupportedMediaType 415 (e.g. a strategic merge patch on a custom resource)
        └── Invalid             422 with `causes` (field, reason, message)

Messages are the API server's own one-line `Status.message`; they never carry request bodies, so no
Secret data can leak through an exception.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import math
from collections.abc import Mapping
from typing import Any

DEFAULT_RETRY_DELAY = 1.0
"""Seconds to wait before retrying when the server gave no Retry-After."""

MAX_RETRY_AFTER = 300.0
"""Retry-After values are capped at five minutes: a broken proxy must not park a controller for a day."""


class KubeError(Exception):
    """Base of every error raised by `issuer.kube`.

    `status` is the HTTP status (None when no response arrived), `reason` the machine-readable
    `Status.reason` (`NotFound`, `Conflict`, ...) and `message` one human sentence.
    """

    def __init__(self, message: str, *, status: int | None = None, reason: str = "",
                 details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.details: Mapping[str, Any] = details or {}

    def __str__(self) -> str:
        return self.message


class ConfigError(KubeError):
    """The client configuration is missing or unusable (kubeconfig, in-cluster files)."""


class Retryable(KubeError):
    """A transient failure: the same operation may succeed after `delay` seconds."""

    def __init__(self, message: str, *, delay: float = DEFAULT_RETRY_DELAY, status: int | None = None,
                 reason: str = "", details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, status=status, reason=reason, details=details)
        self.delay = delay


class TransportError(Retryable):
    """No (complete) response: connection refused or reset, TLS handshake failure, timeout."""


class ServerError(Retryable):
    """A 5xx answer."""


class TooManyRequests(Retryable):
    """429: the server (API priority and fairness) asked us to slow down; `delay` is its Retry-After."""


class Conflict(Retryable):
    """409 Conflict: the object changed since it was read (or a delete precondition failed). Re-read, retry."""


class Gone(Retryable):
    """410 Gone/Expired: the resourceVersion of a watch or a continue token is too old. Re-list, then
    watch again from the list's resourceVersion."""

    def __init__(self, message: str, *, delay: float = 0.0, status: int | None = 410, reason: str = "Expired",
                 details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, delay=delay, status=status, reason=reason, details=details)


class Terminal(KubeError):
    """A permanent failure for this request (4xx other than 409 Conflict, 410 and 429)."""

    def __init__(self, status: int, reason: str, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, status=status, reason=reason, details=details)


class BadRequest(Terminal):
    """400: malformed request (bad selector, undecodable body, strict field validation)."""


class Unauthorized(Terminal):
    """401: the credentials were rejected."""


class Forbidden(Terminal):
    """403: RBAC denied the request, or the namespace is being terminated."""


class NotFound(Terminal):
    """404: the object (or its namespace, or the resource type) does not exist."""


class AlreadyExists(Terminal):
    """409 AlreadyExists: a create found an object with the same name."""


class UnsupportedMediaType(Terminal):
    """415: the patch content type is not accepted for this resource."""


class Invalid(Terminal):
    """422: the object failed validation; `causes` lists (field, reason, message) triples."""

    @property
    def causes(self) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
        for cause in self.details.get("causes") or ():
            if isinstance(cause, Mapping):
                out.append((str(cause.get("field", "")), str(cause.get("reason", "")), str(cause.get("message", ""))))
        return out


_TERMINAL_BY_STATUS: dict[int, type[Terminal]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    415: UnsupportedMediaType,
    422: Invalid,
}


def parse_retry_after(value: str | None, now: datetime.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).

    Answers None when the header is absent or unreadable; negative values become 0 and large ones are
    capped at `MAX_RETRY_AFTER`.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        now = now or datetime.datetime.now(datetime.UTC)
        seconds = (when - now).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def parse_status(body: bytes) -> dict[str, Any] | None:
    """The `Status` object of an error body, or None when the body is not one (an HTML proxy page...)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        return doc
    return None


def from_status(status: int, doc: Mapping[str, Any] | None, *, retry_after: str | None = None,
                fallback: str = "") -> KubeError:
    """Classify an HTTP error status (with its decoded `Status` body, if any) into a `KubeError`.

    `fallback` is used as the message when the body carried none (e.g. "GET /api/v1/... answered 502").
    """
    doc = doc or {}
    reason = str(doc.get("reason") or "")
    message = str(doc.get("message") or fallback or f"the server answered HTTP {status}")
    details = doc.get("details")
    details = details if isinstance(details, Mapping) else {}
    delay = parse_retry_after(retry_after)
    if delay is None and isinstance(details.get("retryAfterSeconds"), int | float):
        delay = parse_retry_after(str(details["retryAfterSeconds"]))
    if status == 429:
        return TooManyRequests(message, delay=DEFAULT_RETRY_DELAY if delay is None else delay, status=status,
                               reason=reason or "TooManyRequests", details=details)
    if status == 409:
        if reason == "AlreadyExists":
            return AlreadyExists(status, reason, message, details)
        return Conflict(message, delay=0.0 if delay is None else delay, status=status,
                        reason=reason or "Conflict", details=details)
    if status == 410:
        return Gone(message, status=status, reason=reason or "Gone", details=details)
    if status >= 500:
        return ServerError(message, delay=DEFAULT_RETRY_DELAY if delay is None else delay, status=status,
                           reason=reason or "InternalError", details=details)
    if status == 408:  # request timeout: the server gave up reading, try again
        return ServerError(message, delay=DEFAULT_RETRY_DELAY if delay is None else delay, status=status,
                           reason=reason or "Timeout", details=details)
    cls = _TERMINAL_BY_STATUS.get(status, Terminal)
    return cls(status, reason or _DEFAULT_REASON.get(status, "Unknown"), message, details)


_DEFAULT_REASON = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
}


def from_response(status: int, body: bytes, *, retry_after: str | None = None, fallback: str = "") -> KubeError:
    """Classify an HTTP error answer given its raw body (a `Status` JSON, or anything else)."""
    return from_status(status, parse_status(body), retry_after=retry_after, fallback=fallback)
