"""ACME Issuers and ClusterIssuers, as pure decisions: cert-manager's ACME issuer setup
(`pkg/issuer/acme/setup.go`, inventory §5.4) without the I/O.

Called by `issuer.operator.acme`, which loads or generates the account key, talks to the ACME server and
writes the status computed here: when re-verification can be skipped (Ready, same server host, e-mail and
key hash), which DNS-01 solver Secrets must exist (`InvalidSolver` otherwise), and the new status with its
Ready condition, `status.acme` and the Events (one per change of reason or message).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from issuer.api import constants as c
from issuer.api import types as t
from issuer.controllers import conditions, issuers
from issuer.signers import base

REGISTERED_MESSAGE = "The ACME account was registered with the ACME server"
REGISTER_FAILED = "Failed to register ACME account: "
VERIFY_FAILED = "Failed to verify ACME account: "
UPDATE_FAILED = "Failed to update ACME account:"


def email_of(issuer: t.Issuer) -> str:
    return ((issuer.spec.acme or t.ACMEIssuer()).email or "").lower()


def _host(url: str) -> str:
    try:
        return urllib.parse.urlsplit(url).netloc.lower()
    except ValueError:
        return ""


def server_url_problem(server: str) -> str:
    """'' for a usable ACME directory URL, else cert-manager's `InvalidURL` message."""
    try:
        parts = urllib.parse.urlsplit(server)
    except ValueError as err:
        return f"Failed to parse ACME server URL {server!r}: {err}"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"Failed to parse ACME server URL {server!r}: an absolute http(s) URL is required"
    return ""


def can_skip(issuer: t.Issuer, key_hash: str) -> bool:
    """Ready with a registered account on the same server host, for the same e-mail and key."""
    acme = issuer.spec.acme
    status = issuer.status.acme
    if acme is None or status is None or not status.uri:
        return False
    ready = conditions.find(issuer.status.conditions, c.COND_READY)
    if ready is None or ready.status != c.TRUE or ready.observed_generation not in (None, issuer.metadata.generation):
        return False
    return (_host(status.uri) == _host(acme.server) and status.last_registered_email == email_of(issuer)
            and status.last_private_key_hash == key_hash)


def _secret_refs(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(field path, Secret name) of every `*SecretRef` with a name inside a provider's JSON."""
    if isinstance(value, dict):
        for key, inner in value.items():
            where = f"{path}.{key}"
            if key.endswith("SecretRef") and isinstance(inner, dict) and isinstance(inner.get("name"), str):
                yield where, inner["name"]
            else:
                yield from _secret_refs(inner, where)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _secret_refs(inner, f"{path}[{i}]")


def solver_secret_refs(issuer: t.Issuer) -> list[tuple[str, str]]:
    """(field path, Secret name) of the Secrets the DNS-01 solvers refer to (in the resource namespace)."""
    out: list[tuple[str, str]] = []
    for i, solver in enumerate((issuer.spec.acme or t.ACMEIssuer()).solvers):
        dns01 = solver.dns01
        if dns01 is None:
            continue
        path = f"spec.acme.solvers[{i}].dns01"
        out.extend(_secret_refs(dns01.to_wire(), path))
    return [(p, n) for p, n in out if n]


def invalid_solver(issuer: t.Issuer, exists: Callable[[str], bool]) -> str:
    """'' when every referenced solver Secret exists, else cert-manager's `InvalidSolver` message."""
    for path, name in solver_secret_refs(issuer):
        if not exists(name):
            return f'Secret "{name}" referenced by {path} not found'
    return ""


def decide(
    issuer: t.Issuer, setup: base.Setup, account: t.ACMEIssuerStatus | None, now: _dt.datetime
) -> tuple[t.IssuerStatus | None, list[tuple[str, str, str]]]:
    """The new status (None when unchanged) and Events; `account` replaces `status.acme` when given."""
    status, events = issuers.decide(issuer, setup, now)
    base_status = status or issuer.status
    if account is not None and account != base_status.acme:
        status = dataclasses.replace(base_status, acme=account)
    return status, events
