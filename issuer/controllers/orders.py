"""ACME Orders, as pure decisions: the CertificateRequest -> Order step of cert-manager's ACME request
controller (`pkg/controller/certificaterequests/acme`) and the Order controller's one step per reconcile
(`pkg/controller/acmeorders/sync.go`), inventory §5.4.

Called by `issuer.operator.acme`, which does the I/O: it computes the Order and Challenge names
(`issuer.acme.names`), picks solvers (`issuer.acme.solver`) and keys, talks to the ACME server and writes
what these functions return. Nothing here reads a clock, the network or the environment.

- `order_spec(cr, issuer)`: the Order spec from the CSR (or a Failed outcome: `InvalidOrder` when the
  CN is not among the SANs, `RequestParsingError` for a CSR that does not decode).
- `sign(cr, order, ...)`: what the request controller does next: create the Order (Pending
  `OrderCreated`), wait (Pending `OrderPending`), fail (`OrderFailed`), delete a valid Order whose
  certificate does not match the CSR, or Issued with the certificate only (ACME never sets `ca`).
- `next_step(order, challenges)`: new-order, fetch the authorizations (when new-order's were not fetched),
  refresh, create Challenges, finalize, fetch the certificate,
  delete the Challenges of a valid Order, or nothing (waiting is left to Challenge updates and requeues).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import ipaddress
from collections.abc import Sequence
from typing import Any

from cryptography import x509

from issuer.api import constants as c
from issuer.api import types as t
from issuer.controllers import conditions
from issuer.pki import csr as csr_mod
from issuer.pki import match
from issuer.pki.errors import PKIError
from issuer.signers import base

REASON_ORDER_CREATED = "OrderCreated"
REASON_ORDER_PENDING = "OrderPending"
REASON_ORDER_FAILED = "OrderFailed"
REASON_INVALID_ORDER = "InvalidOrder"
REASON_REQUEST_PARSING_ERROR = "RequestParsingError"
EVENT_CREATED = "Created"
EVENT_SOLVER = "Solver"
EVENT_COMPLETE = "Complete"
COMPLETE_MESSAGE = "Order completed successfully"
CHALLENGE_TYPES = {"http-01": "HTTP-01", "dns-01": "DNS-01"}
ALL_FINAL_REFRESH = 5.0  # every Challenge final but the server still says pending: look again this often

# Order controller actions
NOTHING = "nothing"
NEW_ORDER = "new-order"
FETCH_AUTHORIZATIONS = "fetch-authorizations"
REFRESH = "refresh"
CREATE_CHALLENGES = "create-challenges"
FINALIZE = "finalize"
FETCH_CERTIFICATE = "fetch-certificate"
DELETE_CHALLENGES = "delete-challenges"


# ---------------------------------------------------------------------------------------------------------
# CertificateRequest -> Order


def _csr_names(csr: x509.CertificateSigningRequest) -> tuple[str, list[str], list[str]]:
    cn = ""
    attrs = csr.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if attrs:
        value = attrs[-1].value
        cn = value if isinstance(value, str) else value.decode()
    dns: list[str] = []
    ips: list[str] = []
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = list(san.get_values_for_type(x509.DNSName))
        ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    return cn, dns, ips


def _in_ips(cn: str, ips: Sequence[str]) -> bool:
    try:
        wanted = ipaddress.ip_address(cn)
    except ValueError:
        return False
    return any(ipaddress.ip_address(ip) == wanted for ip in ips)


def order_spec(cr: t.CertificateRequest, issuer: t.Issuer) -> t.OrderSpec | base.Failed:
    """The Order spec for a request, or why no Order can be made for it."""
    try:
        csr = csr_mod.load(cr.spec.request)
    except PKIError as err:
        return base.Failed(REASON_REQUEST_PARSING_ERROR, f"Failed to decode CSR in spec.request: {err}")
    cn, dns, ips = _csr_names(csr)
    if cn and cn not in dns and not _in_ips(cn, ips):
        return base.Failed(
            REASON_INVALID_ORDER,
            "The CSR PEM requests a commonName that is not present in the list of dnsNames or ipAddresses. "
            "If a commonName is set, ACME requires that the value is also present in the list of dnsNames "
            f"or ipAddresses: {cn!r} does not exist in {dns} or {ips}",
        )
    acme = issuer.spec.acme or t.ACMEIssuer()
    return t.OrderSpec(
        request=cr.spec.request,
        issuer_ref=cr.spec.issuer_ref,
        common_name=cn,
        dns_names=tuple(dns),
        ip_addresses=tuple(ips),
        duration=cr.spec.duration if acme.enable_duration_feature else "",
        profile=acme.profile,
    )


def order_body(cr: t.CertificateRequest, spec: t.OrderSpec, name: str) -> dict[str, Any]:
    """The Order to create: labels and annotations copied from the request, owned by it."""
    meta = cr.metadata
    return {
        "apiVersion": c.ACME_API_VERSION,
        "kind": c.ORDER,
        "metadata": {
            "name": name,
            "namespace": meta.namespace,
            "labels": dict(meta.labels),
            "annotations": dict(meta.annotations),
            "ownerReferences": [{
                "apiVersion": cr.api_version, "kind": cr.kind, "name": meta.name, "uid": meta.uid,
                "controller": True, "blockOwnerDeletion": True,
            }],
        },
        "spec": spec.to_wire(),
    }


@dataclasses.dataclass(frozen=True)
class SignStep:
    """The request controller's next move for an ACME request."""

    outcome: base.Outcome
    create: dict[str, Any] | None = None  # an Order to create
    delete: t.Order | None = None  # an Order to delete (its certificate does not match the CSR)


def certificate_matches(order_certificate: bytes, csr_pem: bytes) -> str:
    """'' when the Order's certificate decodes and its public key is the CSR's, else why not."""
    leaf = match.parse_leaf(order_certificate)
    if leaf.value is None:
        return f"the Order's certificate cannot be decoded: {leaf.error}"
    try:
        csr = csr_mod.load(csr_pem)
    except PKIError as err:
        return f"the request's CSR cannot be decoded: {err}"
    if not match.public_keys_equal(leaf.value.public_key(), csr.public_key()):
        return "the Order's certificate does not match the public key of the request's CSR"
    return ""


def sign(cr: t.CertificateRequest, issuer: t.Issuer, order: t.Order | None, order_name: str,
         spec: t.OrderSpec) -> SignStep:
    """The next move once the request is approved and its issuer Ready (`order` is the one named `order_name`)."""
    ns = cr.metadata.namespace
    if order is None:
        return SignStep(base.Pending(REASON_ORDER_CREATED, f"Created Order resource {ns}/{order_name}"),
                        create=order_body(cr, spec, order_name))
    owners = [r.uid for r in order.metadata.owner_references if r.controller]
    if owners and owners != [cr.metadata.uid]:  # left by an earlier request of the same name, on its way out
        return SignStep(base.Pending(REASON_ORDER_PENDING,
                                     f"Deleting Order {ns}/{order_name}, which belongs to an earlier request"),
                        delete=order)
    state = order.status.state
    if state in c.FAILURE_STATES:
        return SignStep(base.Failed(
            REASON_ORDER_FAILED,
            f"Failed to wait for order resource {order_name!r} to become ready: "
            f"order is in {state!r} state: {order.status.reason}",
        ))
    if state == c.STATE_VALID and order.status.certificate:
        why = certificate_matches(order.status.certificate, cr.spec.request)
        if why:
            return SignStep(base.Pending(REASON_ORDER_PENDING, f"Deleting Order {ns}/{order_name}: {why}"),
                            delete=order)
        return SignStep(base.Issued(certificate=order.status.certificate, ca=b""))
    return SignStep(base.Pending(
        REASON_ORDER_PENDING, f'Waiting on certificate issuance from order {ns}/{order_name}: "{state}"'))


# ---------------------------------------------------------------------------------------------------------
# The Order controller


@dataclasses.dataclass(frozen=True)
class Step:
    action: str
    requeue_after: float | None = None
    missing: tuple[t.ACMEAuthorization, ...] = ()  # CREATE_CHALLENGES: authorizations without a Challenge


def is_final(state: str) -> bool:
    return state in c.FINAL_STATES


def needs_challenge(authz: t.ACMEAuthorization) -> bool:
    return authz.initial_state != c.STATE_VALID


def next_step(order: t.Order, challenges: Sequence[t.Challenge]) -> Step:
    """Exactly one thing to do for this Order now (the Challenges are the ones it owns)."""
    status = order.status
    if order.metadata.deletion_timestamp:
        return Step(NOTHING)
    if status.state == c.STATE_VALID:
        if not status.certificate:
            return Step(FETCH_CERTIFICATE)
        return Step(DELETE_CHALLENGES) if challenges else Step(NOTHING)
    if status.state in c.FAILURE_STATES:
        return Step(NOTHING)
    if not status.url:
        return Step(NEW_ORDER)
    if not status.authorizations:  # made on the server, but their details were not fetched yet
        return Step(FETCH_AUTHORIZATIONS)
    if status.state == c.STATE_READY:
        return Step(FINALIZE)
    if status.state == c.STATE_PROCESSING:
        return Step(REFRESH)
    have = {ch.spec.authorization_url for ch in challenges}
    missing = tuple(a for a in status.authorizations if needs_challenge(a) and a.url not in have)
    if missing:
        return Step(CREATE_CHALLENGES, missing=missing)
    states = [ch.status.state for ch in challenges]
    if any(s in c.FAILURE_STATES for s in states) or all(is_final(s) for s in states):
        return Step(REFRESH, requeue_after=ALL_FINAL_REFRESH)
    return Step(NOTHING)


def with_state(status: t.OrderStatus, state: str, reason: str, now: _dt.datetime) -> t.OrderStatus:
    """The status in `state`; failure states get a failure time (kept once set) and the reason."""
    if state in c.FAILURE_STATES:
        return dataclasses.replace(status, state=state, reason=reason,
                                   failure_time=status.failure_time or conditions.rfc3339(now))
    return dataclasses.replace(status, state=state, reason=reason if reason else status.reason)


def failure_detail(status: t.OrderStatus, challenges: Sequence[t.Challenge]) -> str:
    """The reason to record for a failed Order: the server's order problem, else the failed Challenges'."""
    if status.reason or status.state not in c.FAILURE_STATES:
        return status.reason
    failed = [f"{ch.spec.dns_name}: {ch.status.reason}" for ch in challenges
              if ch.status.state in c.FAILURE_STATES and ch.status.reason]
    return "; ".join(failed)


def errored(status: t.OrderStatus, reason: str, now: _dt.datetime) -> t.OrderStatus:
    return with_state(status, c.STATE_ERRORED, reason, now)


def challenge_type(acme_type: str) -> str:
    """`http-01` -> `HTTP-01` (the Challenge's spec.type)."""
    return CHALLENGE_TYPES.get(acme_type, acme_type.upper())


def challenge_spec(authz: t.ACMEAuthorization, challenge: t.ACMEChallenge, solver: t.ACMESolver,
                   issuer_ref: t.IssuerRef, key: str = "") -> t.ChallengeSpec:
    """A Challenge's spec (without the key, for naming, when `key` is empty)."""
    return t.ChallengeSpec(
        url=challenge.url,
        authorization_url=authz.url,
        dns_name=authz.identifier.removeprefix("*."),
        wildcard=bool(authz.wildcard),
        type=challenge_type(challenge.type),
        token=challenge.token,
        key=key,
        solver=solver,
        issuer_ref=issuer_ref,
    )


def challenge_body(order: t.Order, spec: t.ChallengeSpec, name: str) -> dict[str, Any]:
    """The Challenge to create: the Order's labels, owned by the Order, finalizer added by its controller."""
    meta = order.metadata
    return {
        "apiVersion": c.ACME_API_VERSION,
        "kind": c.CHALLENGE,
        "metadata": {
            "name": name,
            "namespace": meta.namespace,
            "labels": dict(meta.labels),
            "ownerReferences": [{
                "apiVersion": order.api_version, "kind": order.kind, "name": meta.name, "uid": meta.uid,
                "controller": True, "blockOwnerDeletion": True,
            }],
        },
        "spec": spec.to_wire(),
    }


def created_message(name: str, domain: str) -> str:
    return f'Created Challenge resource "{name}" for domain "{domain}"'


def no_solver_message(domain: str, offered: Sequence[str]) -> str:
    return (f"Failed to determine a valid solver configuration for the set of domains on the Order: "
            f"no configured challenge solvers can be used for this challenge (domain {domain!r}, "
            f"offered {', '.join(offered) or 'none'})")
