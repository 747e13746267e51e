"""Error classification (`issuer.kube.errors`): HTTP status + Status body -> the right exception, and
Retry-After parsing."""

from __future__ import annotations

import datetime
import json

import pytest

from issuer.kube import errors


def status_body(code: int, reason: str, message: str, **details: object) -> bytes:
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason, "details": details, "code": code}).encode()


@pytest.mark.parametrize(("code", "reason", "expected", "retryable"), [
    pytest.param(400, "BadRequest", errors.BadRequest, False, id="400 is a terminal bad request"),
    pytest.param(401, "Unauthorized", errors.Unauthorized, False, id="401 is terminal"),
    pytest.param(403, "Forbidden", errors.Forbidden, False, id="403 is terminal"),
    pytest.param(404, "NotFound", errors.NotFound, False, id="404 is not found"),
    pytest.param(409, "AlreadyExists", errors.AlreadyExists, False, id="409 AlreadyExists is terminal"),
    pytest.param(409, "Conflict", errors.Conflict, True, id="409 Conflict is retryable"),
    pytest.param(410, "Expired", errors.Gone, True, id="410 Expired means re-list"),
    pytest.param(415, "UnsupportedMediaType", errors.UnsupportedMediaType, False, id="415 is terminal"),
    pytest.param(422, "Invalid", errors.Invalid, False, id="422 is invalid"),
    pytest.param(429, "TooManyRequests", errors.TooManyRequests, True, id="429 is retryable"),
    pytest.param(500, "InternalError", errors.ServerError, True, id="500 is retryable"),
    pytest.param(503, "ServiceUnavailable", errors.ServerError, True, id="503 is retryable"),
    pytest.param(504, "Timeout", errors.ServerError, True, id="504 is retryable"),
    pytest.param(405, "MethodNotAllowed", errors.Terminal, False, id="other 4xx are plain terminal"),
])
def test_classification(code: int, reason: str, expected: type[errors.KubeError], retryable: bool) -> None:
    exc = errors.from_response(code, status_body(code, reason, f'secrets "x" {reason}'))
    assert type(exc) is expected
    assert isinstance(exc, errors.Retryable) is retryable
    assert isinstance(exc, errors.Terminal) is not retryable
    assert exc.status == code
    assert exc.reason == reason
    assert str(exc) == f'secrets "x" {reason}'


def test_terminal_carries_status_reason_and_message() -> None:
    exc = errors.from_response(404, status_body(404, "NotFound", 'secrets "s1" not found', name="s1", kind="secrets"))
    assert isinstance(exc, errors.Terminal)
    assert (exc.status, exc.reason, exc.message) == (404, "NotFound", 'secrets "s1" not found')
    assert exc.details["name"] == "s1"


def test_invalid_lists_its_causes() -> None:
    cause = {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.secretName"}
    body = status_body(422, "Invalid", 'Certificate.cert-manager.io "c" is invalid: spec.secretName: Required value',
                       causes=[cause])
    exc = errors.from_response(422, body)
    assert isinstance(exc, errors.Invalid)
    assert exc.causes == [("spec.secretName", "FieldValueRequired", "Required value")]


def test_a_non_status_body_falls_back_to_a_message_naming_the_request() -> None:
    exc = errors.from_response(502, b"<html>bad gateway</html>", fallback="GET /api/v1/secrets answered HTTP 502")
    assert isinstance(exc, errors.ServerError)
    assert str(exc) == "GET /api/v1/secrets answered HTTP 502"
    assert exc.reason == "InternalError"


def test_conflict_retries_at_once_and_server_errors_after_a_second() -> None:
    conflict = errors.from_response(409, status_body(409, "Conflict", "the object has been modified"))
    assert isinstance(conflict, errors.Retryable)
    assert conflict.delay == 0.0
    boom = errors.from_response(500, status_body(500, "InternalError", "boom"))
    assert isinstance(boom, errors.Retryable)
    assert boom.delay == errors.DEFAULT_RETRY_DELAY


def test_429_takes_its_delay_from_retry_after() -> None:
    exc = errors.from_response(429, status_body(429, "TooManyRequests", "slow down"), retry_after="7")
    assert isinstance(exc, errors.TooManyRequests)
    assert exc.delay == 7.0


def test_429_without_header_reads_retry_after_seconds_from_details() -> None:
    exc = errors.from_response(429, status_body(429, "TooManyRequests", "slow down", retryAfterSeconds=3))
    assert isinstance(exc, errors.TooManyRequests)
    assert exc.delay == 3.0


def test_every_error_is_a_kube_error() -> None:
    for code in (400, 404, 409, 410, 422, 429, 500):
        assert isinstance(errors.from_response(code, b""), errors.KubeError)
    assert issubclass(errors.ConfigError, errors.KubeError)
    assert issubclass(errors.TransportError, errors.Retryable)


NOW = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(("header", "seconds"), [
    pytest.param("5", 5.0, id="delta seconds"),
    pytest.param(" 2 ", 2.0, id="surrounding spaces"),
    pytest.param("0.5", 0.5, id="fractional seconds"),
    pytest.param("-3", 0.0, id="negative becomes zero"),
    pytest.param("100000", errors.MAX_RETRY_AFTER, id="huge values are capped"),
    pytest.param("Thu, 01 Jan 2026 12:00:30 GMT", 30.0, id="HTTP date in the future"),
    pytest.param("Thu, 01 Jan 2026 11:00:00 GMT", 0.0, id="HTTP date in the past is now"),
    pytest.param("", None, id="empty"),
    pytest.param(None, None, id="absent"),
    pytest.param("soon", None, id="garbage"),
    pytest.param("nan", None, id="not a number"),
])
def test_retry_after(header: str | None, seconds: float | None) -> None:
    assert errors.parse_retry_after(header, NOW) == seconds


def test_parse_status_ignores_non_status_json() -> None:
    assert errors.parse_status(b'{"kind":"Secret"}') is None
    assert errors.parse_status(b"[1,2]") is None
    assert errors.parse_status(b"\xff") is None
    assert errors.parse_status(status_body(404, "NotFound", "x")) is not None
