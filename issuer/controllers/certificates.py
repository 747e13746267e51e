"""The Certificate pipeline as one pure decision: trigger, key manager, request manager, issuing, readiness
and revision manager (cert-manager's certificates-* controllers), over an immutable snapshot.

`decide(snapshot, now, options)` looks at the current state only (level-based), applies guard clauses
first (deleting, invalid spec, not the owner of a shared Secret, backing off) and then returns exactly one
step as an `Outcome`: a status to write, a key Secret or CertificateRequest to create, objects to delete,
the Secret to write, events, and when to look again. The operator applies it and calls `decide` again on
the new state, so a crash between any two steps resumes where it stopped: the temporary key Secret and
the `<certificate>-<revision>` CertificateRequest are found again, never made twice.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Sequence

from issuer import policies
from issuer.api import constants as c
from issuer.api import defaults, validation
from issuer.api import types as t
from issuer.controllers import conditions, requestmanager
from issuer.pki import keys, match

REASON_INVALID_SPEC = "BadConfig"
SHARED_SECRET_RECHECK = _dt.timedelta(minutes=3)
ISSUED_MESSAGE = "The certificate has been successfully issued"
FAILED_PREFIX = "The certificate request has failed to complete and will be retried: "
NORMAL, WARNING = "Normal", "Warning"

# cert-manager's event sources: "cert-manager-" + the name of the controller that emits the event.
TRIGGER = "cert-manager-certificates-trigger"
KEY_MANAGER = "cert-manager-certificates-key-manager"
REQUEST_MANAGER = "cert-manager-certificates-request-manager"
ISSUING = "cert-manager-certificates-issuing"
READINESS = "cert-manager-certificates-readiness"
_KEY_MANAGER_REASONS = frozenset({"Generated", "Reused", "Deleted", "DecodeFailed", "CannotRegenerateKey"})
_REQUEST_MANAGER_REASONS = frozenset({"Requested", "RequestFailed"})
_TRIGGER_REASONS = frozenset({REASON_INVALID_SPEC, "WindowError", "ARIError"})


def event_component(reason: str, message: str) -> str:
    """Which of cert-manager's certificates-* controllers emits an event with this reason (and message)."""
    if reason == c.COND_ISSUING:
        return TRIGGER if message != ISSUED_MESSAGE and not message.startswith("Issued temporary") else ISSUING
    if reason in _KEY_MANAGER_REASONS:
        return KEY_MANAGER
    if reason in _REQUEST_MANAGER_REASONS:
        return REQUEST_MANAGER
    if reason in _TRIGGER_REASONS:
        return TRIGGER
    return ISSUING  # a failed request's reason, InvalidCertificate, KeystorePasswordSecretNotFound


@dataclasses.dataclass(frozen=True)
class NextKey:
    """An owned temporary private-key Secret (label cert-manager.io/next-private-key)."""

    name: str
    uid: str
    key: match.PrivateKey | None  # None when its tls.key does not decode


@dataclasses.dataclass(frozen=True)
class Snapshot:
    certificate: t.Certificate
    secret: policies.SecretView | None
    requests: tuple[t.CertificateRequest, ...] = ()  # owned by the Certificate
    next_keys: tuple[NextKey, ...] = ()
    sharing: tuple[t.Certificate, ...] = ()  # Certificates in the namespace with the same secretName


@dataclasses.dataclass(frozen=True)
class Options:
    owner_reference: bool = False
    backoff_min: _dt.timedelta = c.DEFAULT_BACKOFF_MIN
    backoff_max: _dt.timedelta = c.DEFAULT_BACKOFF_MAX
    renewal_jitter: float = 0.0  # fraction of the lifetime; see policies.renewal_time


@dataclasses.dataclass(frozen=True)
class CreateKey:
    """Create the temporary key Secret: a new key, or (rotationPolicy Never) the target Secret's key."""

    private_key: t.CertificatePrivateKey
    reuse_from_secret: bool = False


@dataclasses.dataclass(frozen=True)
class CreateRequest:
    revision: int
    key_secret_name: str


@dataclasses.dataclass(frozen=True)
class Delete:
    kind: str  # "Secret" or "CertificateRequest"
    name: str
    uid: str


@dataclasses.dataclass(frozen=True)
class WriteSecret:
    """Write the target Secret from `request`'s certificate and the key in `key_secret_name` (None: keep
    the key already in the Secret and only re-apply metadata and outputs)."""

    request: t.CertificateRequest
    key_secret_name: str | None


@dataclasses.dataclass
class Outcome:
    status: t.CertificateStatus | None = None  # the whole new status, when it changed
    create_key: CreateKey | None = None
    create_request: CreateRequest | None = None
    delete: list[Delete] = dataclasses.field(default_factory=list)
    write_secret: WriteSecret | None = None
    events: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)  # (type, reason, message)
    requeue_after: _dt.timedelta | None = None

    @property
    def writes(self) -> bool:
        return bool(
            self.status is not None or self.create_key or self.create_request or self.delete or self.write_secret
        )


def _requests_by_revision(requests: Sequence[t.CertificateRequest]) -> tuple[dict[int, list[t.CertificateRequest]],
                                                                            list[t.CertificateRequest]]:
    by_rev: dict[int, list[t.CertificateRequest]] = {}
    invalid: list[t.CertificateRequest] = []
    for cr in requests:
        rev = requestmanager.revision_of(cr)
        if rev is None:
            invalid.append(cr)
        else:
            by_rev.setdefault(rev, []).append(cr)
    return by_rev, invalid


def _cr_failed(cr: t.CertificateRequest) -> tuple[str, str] | None:
    """(reason, message) when the request ended without a certificate: Denied, InvalidRequest or Failed."""
    conds = cr.status.conditions
    denied = conditions.find(conds, c.COND_DENIED)
    if denied is not None and denied.status == c.TRUE:
        return denied.reason or c.CR_REASON_DENIED, denied.message
    invalid = conditions.find(conds, c.COND_INVALID_REQUEST)
    if invalid is not None and invalid.status == c.TRUE:
        return invalid.reason or c.COND_INVALID_REQUEST, invalid.message
    ready = conditions.find(conds, c.COND_READY)
    if ready is not None and ready.status == c.FALSE and ready.reason == c.CR_REASON_FAILED:
        return c.CR_REASON_FAILED, ready.message
    return None


def _cr_issued(cr: t.CertificateRequest) -> bool:
    ready = conditions.find(cr.status.conditions, c.COND_READY)
    return ready is not None and ready.status == c.TRUE and bool(cr.status.certificate)


def _with_readiness(
    status: t.CertificateStatus, inp: policies.Input, generation: int, now: _dt.datetime
) -> t.CertificateStatus:
    ready = policies.readiness(inp)
    times = policies.status_times(inp)
    conds = conditions.set_condition(
        status.conditions, c.COND_READY, ready.status, ready.reason, ready.message, now, generation
    )
    return dataclasses.replace(
        status,
        conditions=conds,
        not_before=conditions.rfc3339(times.not_before) if times.not_before else "",
        not_after=conditions.rfc3339(times.not_after) if times.not_after else "",
        renewal_time=conditions.rfc3339(times.renewal_time) if times.renewal_time else "",
    )


def _finish(out: Outcome, old: t.CertificateStatus, new: t.CertificateStatus) -> Outcome:
    if new != old:
        out.status = new
    return out


def decide(s: Snapshot, now: _dt.datetime, options: Options) -> Outcome:
    cert = s.certificate
    out = Outcome()
    if cert.metadata.deletion_timestamp:
        return out
    gen = cert.metadata.generation
    old = cert.status

    problems = validation.validate_certificate(cert)
    if problems:
        message = "Certificate spec is invalid: " + "; ".join(str(p) for p in problems[:5])
        status = dataclasses.replace(
            old,
            conditions=conditions.set_condition(
                conditions.remove_condition(old.conditions, c.COND_ISSUING),
                c.COND_READY, c.FALSE, REASON_INVALID_SPEC, message, now, gen,
            ),
            next_private_key_secret_name="",
        )
        out.delete = [Delete("Secret", k.name, k.uid) for k in s.next_keys]
        if status != old:
            out.events.append((WARNING, REASON_INVALID_SPEC, message))
        return _finish(out, old, status)

    revision = old.revision or 0
    by_rev, invalid_requests = _requests_by_revision(s.requests)
    current = by_rev.get(revision, [None])[0] if revision else None
    next_rev = revision + 1
    next_requests = by_rev.get(next_rev, [])
    next_cr = next_requests[0] if len(next_requests) == 1 else None
    inp = policies.Input(cert, s.secret, current, next_cr, now, options.renewal_jitter)
    status = _with_readiness(old, inp, gen, now)

    if len(s.sharing) > 1 and policies.secret_owner(s.sharing, s.secret) != cert.metadata.name:
        # Another Certificate owns this secretName: report, never write the Secret (no ping-pong).
        out.requeue_after = SHARED_SECRET_RECHECK
        return _finish(out, old, status)

    if not policies.is_issuing(cert):
        return _not_issuing(s, inp, out, old, status, now, options, by_rev, invalid_requests)
    return _issuing(s, inp, out, old, status, now, options, by_rev, invalid_requests, next_rev)


def _not_issuing(
    s: Snapshot,
    inp: policies.Input,
    out: Outcome,
    old: t.CertificateStatus,
    status: t.CertificateStatus,
    now: _dt.datetime,
    options: Options,
    by_rev: dict[int, list[t.CertificateRequest]],
    invalid_requests: list[t.CertificateRequest],
) -> Outcome:
    cert = s.certificate
    violation = policies.trigger(inp)
    if violation is not None:
        allowed = policies.next_issuance_allowed_at(
            old,
            policies.next_request_matches_spec(cert, inp.next_request),
            options.backoff_min,
            options.backoff_max,
        )
        if allowed is not None and now < allowed:
            out.requeue_after = allowed - now
            return _finish(out, old, status)
        status = dataclasses.replace(
            status,
            conditions=conditions.set_condition(
                status.conditions, c.COND_ISSUING, c.TRUE, violation.reason, violation.message, now,
                cert.metadata.generation,
            ),
        )
        out.events.append((NORMAL, c.COND_ISSUING, violation.message))
        return _finish(out, old, status)

    # Key manager: no temporary key outlives its issuance.
    out.delete.extend(Delete("Secret", k.name, k.uid) for k in s.next_keys)
    if status.next_private_key_secret_name:
        status = dataclasses.replace(status, next_private_key_secret_name="")

    # Post-issuance: re-apply the Secret's metadata and outputs when they drifted (never a re-issue).
    current = inp.current_request
    if current is not None and _cr_issued(current) and inp.secret is not None:
        template = cert.spec.secret_template.labels if cert.spec.secret_template else {}
        desired_labels = {c.LABEL_FAO: "true", **template}
        drift = policies.post_issuance(inp, desired_labels, None, None, options.owner_reference)
        if drift is not None:
            out.write_secret = WriteSecret(current, None)

    # Revision manager: keep revisionHistoryLimit requests once Ready.
    ready = conditions.find(status.conditions, c.COND_READY)
    if ready is not None and ready.status == c.TRUE:
        limit = defaults.revision_history_limit(cert.spec)
        revisions = sorted(by_rev)
        for rev in revisions[: max(0, len(revisions) - limit)]:
            out.delete.extend(Delete(c.CERTIFICATE_REQUEST, cr.metadata.name, cr.metadata.uid) for cr in by_rev[rev])
        out.delete.extend(
            Delete(c.CERTIFICATE_REQUEST, cr.metadata.name, cr.metadata.uid) for cr in invalid_requests
        )

    times = policies.status_times(inp)
    if times.renewal_time is not None:
        out.requeue_after = max(times.renewal_time - now, _dt.timedelta(0))
    return _finish(out, old, status)


def _issuing(
    s: Snapshot,
    inp: policies.Input,
    out: Outcome,
    old: t.CertificateStatus,
    status: t.CertificateStatus,
    now: _dt.datetime,
    options: Options,
    by_rev: dict[int, list[t.CertificateRequest]],
    invalid_requests: list[t.CertificateRequest],
    next_rev: int,
) -> Outcome:
    cert = s.certificate
    spec_key = defaults.private_key(cert.spec)

    # -- key manager ------------------------------------------------------------------------------------
    usable: list[NextKey] = []
    for candidate in s.next_keys:
        if candidate.key is None:
            out.delete.append(Delete("Secret", candidate.name, candidate.uid))
            continue
        differs = match.private_key_matches_spec(candidate.key, cert.spec)
        if differs:
            out.delete.append(Delete("Secret", candidate.name, candidate.uid))
            out.events.append((
                NORMAL, "Deleted",
                f"Regenerating private key due to change in fields: {match.format_violations(differs)}",
            ))
            continue
        usable.append(candidate)
    usable.sort(key=lambda k: (k.name != status.next_private_key_secret_name, k.name))
    for extra in usable[1:]:
        out.delete.append(Delete("Secret", extra.name, extra.uid))
    if not usable:
        reuse = False
        if spec_key.rotation_policy == c.ROTATION_NEVER and inp.secret is not None:
            existing = match.parse_private_key(bytes(inp.secret.data.get(c.TLS_PRIVATE_KEY_KEY, b"")))
            if existing.value is not None:
                differs = match.private_key_matches_spec(existing.value, cert.spec)
                if differs:
                    out.events.append((
                        WARNING, "CannotRegenerateKey",
                        "User intervention required: existing private key in Secret does not match requirements on "
                        f"Certificate resource, mismatching fields: {match.format_violations(differs)}, but "
                        "cert-manager cannot create new private key as the Certificate's .spec.privateKey."
                        'rotationPolicy field is set to "Never"',
                    ))
                    return _finish(out, old, status)
                reuse = True
            elif inp.secret.data.get(c.TLS_PRIVATE_KEY_KEY):
                out.events.append((WARNING, "DecodeFailed", "Failed to decode private key stored in Secret - "
                                                            "generating new key"))
        out.create_key = CreateKey(spec_key, reuse_from_secret=reuse)
        return _finish(out, old, status)
    key = usable[0]
    if status.next_private_key_secret_name != key.name:
        status = dataclasses.replace(status, next_private_key_secret_name=key.name)

    # -- request manager --------------------------------------------------------------------------------
    issuing_cond = conditions.find(status.conditions, c.COND_ISSUING)
    issuing_since = policies.parse_time(issuing_cond.last_transition_time) if issuing_cond else None
    out.delete.extend(Delete(c.CERTIFICATE_REQUEST, cr.metadata.name, cr.metadata.uid) for cr in invalid_requests)
    candidates: list[t.CertificateRequest] = []
    for cr in by_rev.get(next_rev, []):
        mismatch = match.request_matches_spec(cr, cert.spec)
        csr = match.parse_csr(cr.spec.request)
        stale_key = csr.value is None or not keys.public_keys_equal(csr.value.public_key(), key.key)
        failed_at = policies.parse_time(cr.status.failure_time)
        old_failure = (
            _cr_failed(cr) is not None
            and failed_at is not None
            and issuing_since is not None
            and failed_at < issuing_since
        )
        if mismatch.value is None or mismatch.value or stale_key or old_failure:
            out.delete.append(Delete(c.CERTIFICATE_REQUEST, cr.metadata.name, cr.metadata.uid))
        else:
            candidates.append(cr)
    if len(candidates) > 1:  # never more than one request per revision
        out.delete.extend(Delete(c.CERTIFICATE_REQUEST, cr.metadata.name, cr.metadata.uid) for cr in candidates)
    if out.delete or len(candidates) != 1:
        if not candidates and not any(d.kind == c.CERTIFICATE_REQUEST for d in out.delete):
            name = requestmanager.request_name(cert.metadata.name, next_rev)
            out.create_request = CreateRequest(next_rev, key.name)
            out.events.append((NORMAL, "Requested", f'Created new CertificateRequest resource "{name}"'))
        return _finish(out, old, status)
    request = candidates[0]

    # -- issuing ----------------------------------------------------------------------------------------
    failure = _cr_failed(request)
    if failure is None and _cr_issued(request):
        failure = _check_issued(request, key, now)
        if failure is None:
            return _complete(s, inp, out, old, status, request, key, now, next_rev)
    if failure is not None:
        reason, message = failure
        attempts = (old.failed_issuance_attempts or 0) + 1
        text = FAILED_PREFIX + message
        status = dataclasses.replace(
            status,
            conditions=conditions.set_condition(
                status.conditions, c.COND_ISSUING, c.FALSE, reason, text, now, cert.metadata.generation
            ),
            last_failure_time=conditions.rfc3339(now),
            failed_issuance_attempts=attempts,
        )
        out.events.append((WARNING, reason, text))
        out.requeue_after = policies.backoff_delay(attempts, options.backoff_min, options.backoff_max)
        return _finish(out, old, status)
    return _finish(out, old, status)  # pending: the request's own events bring us back


def _check_issued(request: t.CertificateRequest, key: NextKey, now: _dt.datetime) -> tuple[str, str] | None:
    """cert-manager's issuing checks: the certificate decodes, carries the CSR's key and has not expired."""
    leaf = match.parse_leaf(request.status.certificate)
    if leaf.value is None:
        return c.REASON_INVALID_CERTIFICATE, f"Failed to decode returned certificate: {leaf.error}"
    if not keys.public_keys_equal(leaf.value.public_key(), key.key):
        return c.REASON_INVALID_CERTIFICATE, "Issuer returned a certificate whose public key does not match the " \
                                             "private key of the request"
    if leaf.value.not_valid_after_utc <= now:
        expired = conditions.rfc3339(leaf.value.not_valid_after_utc)
        return c.REASON_INVALID_CERTIFICATE, f"Issuer returned a certificate that already expired at {expired}"
    return None


def _complete(
    s: Snapshot,
    inp: policies.Input,
    out: Outcome,
    old: t.CertificateStatus,
    status: t.CertificateStatus,
    request: t.CertificateRequest,
    key: NextKey,
    now: _dt.datetime,
    next_rev: int,
) -> Outcome:
    """The request is issued: write the Secret, then (once it holds the new certificate) finish the status."""
    secret = inp.secret
    holds_new = False
    if secret is not None and bytes(secret.data.get(c.TLS_CERT_KEY, b"")) == request.status.certificate:
        stored = match.parse_private_key(bytes(secret.data.get(c.TLS_PRIVATE_KEY_KEY, b"")))
        holds_new = stored.value is not None and keys.public_keys_equal(stored.value, key.key)
    if not holds_new:
        out.write_secret = WriteSecret(request, key.name)
        return _finish(out, old, status)
    cert = s.certificate
    done = dataclasses.replace(
        cert,
        status=dataclasses.replace(
            status,
            conditions=conditions.remove_condition(status.conditions, c.COND_ISSUING),
            revision=next_rev,
            last_failure_time="",
            failed_issuance_attempts=None,
            next_private_key_secret_name="",
        ),
    )
    final_inp = policies.Input(done, secret, request, None, now, inp.renewal_jitter)
    final = _with_readiness(done.status, final_inp, cert.metadata.generation, now)
    out.delete.append(Delete("Secret", key.name, key.uid))
    out.events.append((NORMAL, c.COND_ISSUING, ISSUED_MESSAGE))
    times = policies.status_times(final_inp)
    if times.renewal_time is not None:
        out.requeue_after = max(times.renewal_time - now, _dt.timedelta(0))
    return _finish(out, old, final)
