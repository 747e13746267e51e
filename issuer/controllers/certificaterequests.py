"""CertificateRequests: the approver and the SelfSigned/CA request controllers' decisions, as pure functions.

cert-manager's order (pkg/controller/certificaterequests/sync.go): requests of other groups are left to
their external issuers; Denied -> Ready=False `Denied` with a failure time; InvalidRequest -> stop; not
approved -> wait (or approve, when auto-approval is on); already Failed or Issued -> stop; issuer missing
-> Pending `IssuerNotFound`; issuer not Ready -> Pending `IssuerNotReady`; then sign. `gate` decides all
but the signing; `record` turns a signer's outcome into the new status and events.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt

from issuer.api import constants as c
from issuer.api import types as t
from issuer.controllers import conditions
from issuer.signers import base

NORMAL, WARNING = "Normal", "Warning"
ISSUED_MESSAGE = "Certificate fetched from issuer successfully"
DENIED_MESSAGE = "The CertificateRequest was denied by an approval controller"
WAITING_FOR_APPROVAL = "WaitingForApproval"
WAITING_MESSAGE = "Not signing CertificateRequest until it is Approved"
ISSUER_NOT_FOUND = "IssuerNotFound"
ISSUER_NOT_READY = "IssuerNotReady"
ISSUER_NOT_READY_MESSAGE = "Referenced issuer does not have a Ready status condition"
CERTIFICATE_ISSUED = "CertificateIssued"
APPROVER = "cert-manager-certificaterequests-approver"


def event_component(reason: str, issuer_type: str) -> str:
    """cert-manager's event source: the approver, or the request controller of the issuer's type
    (`cert-manager-certificaterequests-issuer-selfsigned`, `-ca`, `-acme`, ...)."""
    if reason == c.APPROVER_REASON:
        return APPROVER
    if issuer_type:
        return f"cert-manager-certificaterequests-issuer-{issuer_type.lower()}"
    return "cert-manager-certificaterequests"


@dataclasses.dataclass
class Gate:
    """What to do before (or instead of) signing."""

    status: t.CertificateRequestStatus  # possibly with Approved / Pending / Denied added
    events: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    sign: bool = False
    requeue_after: _dt.timedelta | None = None


def is_ours(cr: t.CertificateRequest) -> bool:
    return cr.spec.issuer_ref.group in ("", c.GROUP)


def is_final(cr: t.CertificateRequest) -> bool:
    ready = conditions.find(cr.status.conditions, c.COND_READY)
    if ready is None:
        return False
    return ready.reason in (c.CR_REASON_ISSUED, c.CR_REASON_FAILED, c.CR_REASON_DENIED)


def _pending(status: t.CertificateRequestStatus, reason: str, message: str, now: _dt.datetime,
             events: list[tuple[str, str, str]]) -> t.CertificateRequestStatus:
    """Ready=False reason `Pending` with the message; the specific reason goes into the event, sent once."""
    ready = conditions.find(status.conditions, c.COND_READY)
    if ready is None or ready.reason != c.CR_REASON_PENDING or ready.message != message:
        events.append((NORMAL, reason, message))
    conds = conditions.set_condition(status.conditions, c.COND_READY, c.FALSE, c.CR_REASON_PENDING, message, now)
    return dataclasses.replace(status, conditions=conds)


def gate(
    cr: t.CertificateRequest,
    issuer: t.Issuer | None,
    now: _dt.datetime,
    *,
    auto_approve: bool,
    issuer_supported: bool = True,
) -> Gate:
    status = cr.status
    out = Gate(status)
    if not is_ours(cr) or cr.metadata.deletion_timestamp:
        return out
    conds = status.conditions
    if conditions.is_true(conds, c.COND_DENIED):
        ready = conditions.find(conds, c.COND_READY)
        if ready is None or ready.reason != c.CR_REASON_DENIED:
            out.status = dataclasses.replace(
                status,
                conditions=conditions.set_condition(
                    conds, c.COND_READY, c.FALSE, c.CR_REASON_DENIED, DENIED_MESSAGE, now
                ),
                failure_time=status.failure_time or conditions.rfc3339(now),
            )
            out.events.append((WARNING, c.CR_REASON_DENIED, DENIED_MESSAGE))
        return out
    if conditions.is_true(conds, c.COND_INVALID_REQUEST) or is_final(cr):
        return out
    if not conditions.is_true(conds, c.COND_APPROVED):
        if not auto_approve:
            ready = conditions.find(conds, c.COND_READY)
            if ready is None:
                out.events.append((NORMAL, WAITING_FOR_APPROVAL, WAITING_MESSAGE))
                out.status = dataclasses.replace(
                    status,
                    conditions=conditions.set_condition(
                        conds, c.COND_READY, c.FALSE, c.CR_REASON_PENDING, WAITING_MESSAGE, now
                    ),
                )
            return out
        conds = conditions.set_condition(conds, c.COND_APPROVED, c.TRUE, c.APPROVER_REASON, c.APPROVED_MESSAGE, now)
        out.status = status = dataclasses.replace(status, conditions=conds)
        out.events.append((NORMAL, c.APPROVER_REASON, c.APPROVED_MESSAGE))
    if issuer is None:
        kind = cr.spec.issuer_ref.kind or c.ISSUER
        where = "" if kind == c.CLUSTER_ISSUER else f' in namespace "{cr.metadata.namespace}"'
        message = f'Referenced "{kind}" not found: {kind.lower()}s.cert-manager.io "{cr.spec.issuer_ref.name}"' \
                  f"{where} not found"
        out.status = _pending(status, ISSUER_NOT_FOUND, message, now, out.events)
        return out
    if not issuer_supported:
        return out  # another controller (ACME) signs for this issuer type
    if not conditions.is_true(issuer.status.conditions, c.COND_READY):
        out.status = _pending(status, ISSUER_NOT_READY, ISSUER_NOT_READY_MESSAGE, now, out.events)
        return out
    out.sign = True
    return out


def record(
    status: t.CertificateRequestStatus, outcome: base.Outcome, now: _dt.datetime
) -> tuple[t.CertificateRequestStatus, list[tuple[str, str, str]]]:
    """The request's status and events after a signer answered."""
    events: list[tuple[str, str, str]] = []
    if isinstance(outcome, base.Issued):
        events.extend((WARNING, reason, message) for reason, message in outcome.warnings)
        events.append((NORMAL, CERTIFICATE_ISSUED, ISSUED_MESSAGE))
        return dataclasses.replace(
            status,
            certificate=outcome.certificate,
            ca=outcome.ca,
            conditions=conditions.set_condition(
                status.conditions, c.COND_READY, c.TRUE, c.CR_REASON_ISSUED, ISSUED_MESSAGE, now
            ),
        ), events
    if isinstance(outcome, base.Pending):
        return _pending(status, outcome.reason, outcome.message, now, events), events
    events.append((WARNING, outcome.reason, outcome.message))
    return dataclasses.replace(
        status,
        conditions=conditions.set_condition(
            status.conditions, c.COND_READY, c.FALSE, c.CR_REASON_FAILED, outcome.message, now
        ),
        failure_time=status.failure_time or conditions.rfc3339(now),
    ), events
