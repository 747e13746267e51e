"""Fault injection and the request log of the embedded API server, for tests and benchmarks. A
`Fault` matches requests by verb (get, list, watch, create, update, patch, delete, deletecollection),
resource plural (``certificates`` or ``certificates/status``), namespace and name, and then answers a
status code (409, 500, 429 with Retry-After, ...), delays the request, or drops a watch stream after N
events; it fires `times` times (None: until removed), on each matching request with `probability` (drawn
from the `Faults`' own seeded `random.Random`, so a run is reproducible). `Faults` holds the rules
(thread-safe enough to be edited from a test thread); `RequestRecord`s in `RequestLog` tell how many API
calls a client made."""

from __future__ import annotations

import collections
import dataclasses
import random
import threading
import time
from collections.abc import Iterator
from typing import Any


@dataclasses.dataclass
class Fault:
    """One fault rule. Only the given match fields are compared."""

    verb: str | None = None
    resource: str | None = None
    namespace: str | None = None
    name: str | None = None
    status: int | None = None
    reason: str | None = None
    message: str | None = None
    retry_after: float | None = None
    delay: float = 0.0
    drop_after: int | None = None  # watch streams: close abruptly after this many events
    times: int | None = None
    probability: float = 1.0  # the share of matching requests it fires on (seeded: see Faults(seed=...))
    hits: int = 0

    def matches(self, verb: str, resource: str | None, namespace: str | None, name: str | None) -> bool:
        return ((self.verb is None or self.verb == verb)
                and (self.resource is None or self.resource == resource)
                and (self.namespace is None or self.namespace == namespace)
                and (self.name is None or self.name == name))

    def status_body(self) -> dict[str, Any]:
        code = self.status or 500
        reason = self.reason or _REASONS.get(code, "InternalError")
        message = self.message or _MESSAGES.get(code, "injected fault")
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": message, "reason": reason, "code": code, "details": {}}
        if self.retry_after is not None:
            body["details"]["retryAfterSeconds"] = int(self.retry_after)
        return body


_REASONS = {409: "Conflict", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
            504: "Timeout", 404: "NotFound", 403: "Forbidden", 410: "Expired", 422: "Invalid"}
_MESSAGES = {409: "Operation cannot be fulfilled: injected conflict", 429: "Too many requests, please try again "
             "later.", 500: "Internal error occurred: injected fault", 503: "the server is currently unable to "
             "handle the request", 504: "the server was unable to return a response in the time allotted"}


class Faults:
    """The active fault rules; `match` returns the first matching rule and counts it."""

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def seed(self, seed: int) -> None:
        """Restart the draws of probabilistic rules (same seed, same sequence of fired/passed requests)."""
        with self._lock:
            self._random.seed(seed)

    def add(self, fault: Fault | None = None, **kwargs: Any) -> Fault:
        rule = fault or Fault(**kwargs)
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._rules:
                self._rules.remove(fault)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._rules))

    def __len__(self) -> int:
        return len(self._rules)

    def match(self, verb: str, resource: str | None, namespace: str | None, name: str | None) -> Fault | None:
        if not self._rules:
            return None
        with self._lock:
            for rule in self._rules:
                if rule.matches(verb, resource, namespace, name):
                    if rule.probability < 1.0 and self._random.random() >= rule.probability:
                        continue  # this request passes the rule; later rules may still match it
                    rule.hits += 1
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self._rules.remove(rule)
                    return rule
        return None


@dataclasses.dataclass(frozen=True)
class RequestRecord:
    """One answered request."""

    method: str
    path: str
    query: str
    status: int
    duration: float
    user_agent: str
    started: float
    verb: str = ""
    resource: str = ""


class RequestLog(collections.deque[RequestRecord]):
    """The most recent requests (bounded), with small counting helpers."""

    def __init__(self, maxlen: int = 200_000) -> None:
        super().__init__(maxlen=maxlen)

    def tally(self, method: str | None = None, path_prefix: str | None = None, verb: str | None = None,
              resource: str | None = None, user_agent: str | None = None) -> int:
        return sum(1 for r in list(self)
                   if (method is None or r.method == method)
                   and (path_prefix is None or r.path.startswith(path_prefix))
                   and (verb is None or r.verb == verb)
                   and (resource is None or r.resource == resource)
                   and (user_agent is None or r.user_agent.startswith(user_agent)))

    def since(self, started: float) -> list[RequestRecord]:
        return [r for r in list(self) if r.started >= started]

    @staticmethod
    def now() -> float:
        return time.time()
