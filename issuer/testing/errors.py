"""Kubernetes `Status` errors for the embedded API server: one exception type, `APIError`, carrying the
HTTP code, the real apiserver reason string, the message and the `details`, plus constructors that spell
the messages exactly as kube-apiserver does (NotFound, AlreadyExists, Conflict, Invalid, ...). The
engine raises them, the HTTP layer turns them into JSON `Status` bodies."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from issuer.testing.resources import Resource


@dataclasses.dataclass(frozen=True)
class FieldCause:
    """One entry of `details.causes`: reason (FieldValueRequired, ...), message and dotted field path."""

    reason: str
    message: str
    field: str

    def text(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class APIError(Exception):
    """An error answered as a `Status` body with `code`, `reason`, `message` and `details`."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:  # kube omits an empty reason (an error it did not classify)
            body["reason"] = self.reason
        body["code"] = self.code
        if self.details is not None:
            body["details"] = self.details
        return body


def status_success(details: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def _details(res: Resource, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name}
    if res.group:
        details["group"] = res.group
    details["kind"] = res.plural
    return details


def not_found(res: Resource, name: str) -> APIError:
    return APIError(404, "NotFound", f'{res.qualified} "{name}" not found', _details(res, name))


def namespace_not_found(name: str) -> APIError:
    return APIError(404, "NotFound", f'namespaces "{name}" not found', {"name": name, "kind": "namespaces"})


class PageNotFound(APIError):
    """A path kube-apiserver's mux serves nothing under: a plain-text "404 page not found", no Status."""

    def __init__(self) -> None:
        super().__init__(404, "NotFound", "404 page not found")


def no_route() -> APIError:
    return APIError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(res: Resource, name: str) -> APIError:
    return APIError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists', _details(res, name))


def conflict(res: Resource, name: str, why: str | None = None) -> APIError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return APIError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{name}": {why}',
                    _details(res, name))


def invalid(res: Resource, name: str, causes: list[FieldCause], *, qualified: str | None = None) -> APIError:
    texts = list(dict.fromkeys(c.text() for c in causes))  # kube's message aggregates equal errors once
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    what = qualified or res.qualified_kind
    details: dict[str, Any] = {"name": name} if name else {}  # omitempty
    if res.group:
        details["group"] = res.group
    details["kind"] = res.kind
    details["causes"] = [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes]
    return APIError(422, "Invalid", f'{what} "{name}" is invalid: {joined}', details)


def bad_request(message: str) -> APIError:
    return APIError(400, "BadRequest", message)


def cannot_handle(res: Resource, why: str) -> APIError:
    return bad_request(f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: {why}')


def unsupported_media(accepted: str | None = None) -> APIError:
    accepted = accepted or ("application/json-patch+json, application/merge-patch+json, "
                            "application/apply-patch+yaml")
    return APIError(415, "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted media types include: "
                    f"{accepted}")


def unsupported_patch_type() -> APIError:
    """kube's answer to a PATCH of a built-in kind with a Content-Type no patch type has."""
    return APIError(415, "UnsupportedMediaType", "415: Unsupported Media Type", {})


def expired(message: str) -> APIError:
    return APIError(410, "Expired", message)


def forbidden(message: str, details: dict[str, Any] | None = None) -> APIError:
    return APIError(403, "Forbidden", message, details or {})


def method_not_allowed(verb: str, res: Resource) -> APIError:
    return APIError(405, "MethodNotAllowed", f"{verb} is not supported on resources of kind "
                    f'"{res.qualified}"', {})


def internal(message: str) -> APIError:
    return APIError(500, "InternalError", message, {"causes": [{"message": message}]})


def unclassified(code: int, message: str) -> APIError:
    """A plain Go error kube answers as-is: no reason, no details (e.g. a resourceVersion on create)."""
    return APIError(code, "", message)


def invalid_options(kind: str, causes: list[FieldCause]) -> APIError:
    """A 422 on request options (``DeleteOptions``, ``PatchOptions``, ``ListOptions``, ...)."""
    texts = [c.text() for c in causes]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return APIError(422, "Invalid", f'{kind}.meta.k8s.io "" is invalid: {joined}', {
        "group": "meta.k8s.io", "kind": kind,
        "causes": [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes]})


def required(field: str) -> FieldCause:
    return FieldCause("FieldValueRequired", "Required value", field)


def invalid_value(field: str, value: Any, why: str) -> FieldCause:
    return FieldCause("FieldValueInvalid", f"Invalid value: {_go_repr(value)}: {why}", field)


def forbidden_field(field: str, why: str) -> FieldCause:
    return FieldCause("FieldValueForbidden", f"Forbidden: {why}", field)


def too_long(field: str, limit: int) -> FieldCause:
    return FieldCause("FieldValueTooLong", f"Too long: may not be more than {limit} bytes", field)


def _go_repr(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
