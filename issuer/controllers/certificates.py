"""The Certificate pipeline as one pure decision: trigger, key manager, request manager, issuing, readiness
and revision manager (cert-manager's certificates-* controllers), over an immutable snapshot.

`decide(snapshot, now, options)` looks at the current state only (level-based), applies guard clauses
first (deleting, invalid spec, not the owner of a shared Secret, backing off) and then returns exactly one
step as an `Outcome`: a status to write, a key Secret or CertificateRequest to create, objects to delete,
the Secret to write, events, and when to look again. The operator applies it and calls `decide` again on
the new state, so a crash between any two steps resumes where it stopped: the temporary key Secret and
the `<certificate>-<revision>` CertificateRequest are found again, never made twice.

Loop breaker (beyond cert-manager, which loops here: cert-manager issues 6714, 7741, 8380): a re-issuance
that the Secret's state asks for right after a successful issuance of the same spec is bounded by the
failed-issuance back-off. Two cases:
- the certificate an issuer returned lacks requested names (cert-manager stores it, then its policies see
  the mismatch as soon as the request is gone and re-issue at once, forever): the Secret is written (it is
  still the best certificate we have) but the issuance counts as failed (`Issuing=False` reason
  `InvalidCertificate`, `lastFailureTime`, `failedIssuanceAttempts`+1, a Warning event), `Ready=False`
  `SecretMismatch`, and the next attempt waits for the back-off (growing, as attempts are kept);
- the Secret is broken (overwritten by another writer, deleted, ...) again within `backoff_min` of a
  repair that was itself made for such a reason: the first repair is immediate, a repeated one is a failed
  issuance waiting for the back-off. Each request remembers why it was made in the
  `issuer.cert-manager.io/issuing-reason` annotation.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import ipaddress
from collections.abc import Sequence

from cryptography import x509
from cryptography.x509.oid import NameOID

from issuer import policies
from issuer.api import constants as c
from issuer.api import defaults, validation
from issuer.api import types as t
from issuer.controllers import conditions, requestmanager
from issuer.pki import keys, match
from issuer.pki import secret as secret_mod

REASON_INVALID_SPEC = "BadConfig"
ANN_ISSUING_REASON = requestmanager.ANN_ISSUING_REASON
# Trigger reasons that come from the Secret's state (not from the spec, the clock or a user): a re-issuance
# for one of them is a repair, and repeated repairs are what the loop breaker bounds.
REPAIR_REASONS = frozenset({
    c.REASON_DOES_NOT_EXIST, c.REASON_MISSING_DATA, c.REASON_INVALID_KEY_PAIR, c.REASON_INVALID_CERTIFICATE,
    c.REASON_INCORRECT_ISSUER, c.REASON_SECRET_MISMATCH, c.REASON_INVALID_CERTIFICATE_REQUEST,
})
REPAIR_LOOP_PREFIX = "The Secret needs re-issuing again right after it was repaired; backing off: "
MISSING_NAMES_PREFIX = "Issuer returned a certificate that lacks requested names: "
SHARED_SECRET_RECHECK = _dt.timedelta(minutes=3)
ISSUED_MESSAGE = "The certificate has been successfully issued"
TEMPORARY_MESSAGE = "Issued temporary certificate"
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
    ca_friendly_backoff: bool = False  # `--backoff-schedule ca-friendly`; see policies.backoff_delay


@dataclasses.dataclass(frozen=True)
class CreateKey:
    """Create the temporary key Secret: a new key, or (rotationPolicy Never) the target Secret's key."""

    private_key: t.CertificatePrivateKey
    reuse_from_secret: bool = False


@dataclasses.dataclass(frozen=True)
class CreateRequest:
    revision: int
    key_secret_name: str
    reason: str = ""  # the Issuing condition's reason: why this request is made (see the loop breaker)


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


@dataclasses.dataclass(frozen=True)
class WriteTemporary:
    """Write cert-manager's temporary certificate (a throwaway CA `cert-manager.local`) for the next key."""

    key_secret_name: str


@dataclasses.dataclass
class Outcome:
    status: t.CertificateStatus | None = None  # the whole new status, when it changed
    create_key: CreateKey | None = None
    create_request: CreateRequest | None = None
    delete: list[Delete] = dataclasses.field(default_factory=list)
    write_secret: WriteSecret | None = None
    write_temporary: WriteTemporary | None = None
    events: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)  # (type, reason, message)
    requeue_after: _dt.timedelta | None = None

    @property
    def writes(self) -> bool:
        return bool(
            self.status is not None or self.create_key or self.create_request or self.delete or self.write_secret
            or self.write_temporary
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
    out = _decide(s, now, options)
    # Look again when the stored certificate expires, whatever else is going on (a back-off, a request
    # pending with an external signer): Ready turns False/Expired at notAfter, not at the next event.
    status = out.status or s.certificate.status
    not_after = policies.parse_time(status.not_after)
    if not_after is not None and not_after >= now and not s.certificate.metadata.deletion_timestamp:
        until = not_after - now + _dt.timedelta(seconds=1)
        if out.requeue_after is None or until < out.requeue_after:
            out.requeue_after = until
    return out


def _decide(s: Snapshot, now: _dt.datetime, options: Options) -> Outcome:
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
    # Once the Secret holds the next request's certificate (written, status not yet finished), judge
    # readiness against that request: against the current one the new key would "differ", and Ready would
    # flip False and back within one issuance, moving its lastTransitionTime on every renewal.
    readiness_inp = inp
    if (next_cr is not None and s.secret is not None and _cr_issued(next_cr)
            and bytes(s.secret.data.get(c.TLS_CERT_KEY) or b"") == next_cr.status.certificate):
        readiness_inp = dataclasses.replace(inp, current_request=next_cr, next_request=None)
    status = _with_readiness(old, readiness_inp, gen, now)
    status = _with_missing_names(status, inp, gen, now)

    if len(s.sharing) > 1 and policies.secret_owner(s.sharing, s.secret) != cert.metadata.name:
        # Another Certificate owns this secretName: report, never write the Secret (no ping-pong).
        out.requeue_after = SHARED_SECRET_RECHECK
        return _finish(out, old, status)

    if not policies.is_issuing(cert) and next_cr is not None and _stored_by(s.secret, next_cr):
        # The Secret was written from the next revision's request, but the operator stopped (a crash)
        # before it recorded the revision (it writes the status once, at the end of a reconcile): finish
        # that issuance now rather than mistake the Secret for current and the request for a stray.
        return _issued(s, inp, out, old, status, next_cr, s.next_keys, now, next_rev, options)
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
    violation = policies.trigger(inp) or _missing_names_violation(inp)
    if violation is not None and old.last_failure_time and s.next_keys:
        # Key manager: the key of a failed attempt goes (cert-manager's key manager deletes it as soon as
        # Issuing is not True), so that the next attempt makes a new key and a new request; without a
        # failure a key left by an interrupted issuance is kept and used again.
        out.delete.extend(Delete("Secret", k.name, k.uid) for k in s.next_keys)
        if status.next_private_key_secret_name:
            status = dataclasses.replace(status, next_private_key_secret_name="")
    if violation is not None:
        allowed = policies.next_issuance_allowed_at(
            old,
            policies.next_request_matches_spec(cert, inp.next_request),
            options.backoff_min,
            options.backoff_max,
            ca_friendly=options.ca_friendly_backoff,
        )
        if allowed is not None and now < allowed:
            out.requeue_after = allowed - now
            return _finish(out, old, status)
        if _repair_loop(inp, violation, now, options):
            return _fail(out, old, status, cert, violation.reason, REPAIR_LOOP_PREFIX + violation.message, now,
                         options)
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
        leaf = match.parse_leaf(bytes(inp.secret.data.get(c.TLS_CERT_KEY) or b""))
        # the certificate-detail annotations (common-name, alt-names, ...) as the Secret's leaf says they are
        desired_annotations = (
            secret_mod.secret_annotations(cert, current.spec.issuer_ref, leaf.value) if leaf.value is not None
            else None
        )
        drift = policies.post_issuance(inp, desired_labels, desired_annotations, None, options.owner_reference)
        if drift is None and inp.secret.labels.get(c.LABEL_FAO) != "true":
            # cert-manager sees a removed base label through managedFields (the API server drops the removed
            # field from its manager's set); check the label itself, whatever the server records
            drift = policies.Violation(c.REASON_SECRET_MANAGED_METADATA_MISMATCH,
                                       f"Secret is missing these labels: [{c.LABEL_FAO}]")
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
            reason = issuing_cond.reason if issuing_cond is not None else ""
            out.create_request = CreateRequest(next_rev, key.name, reason)
            out.events.append((NORMAL, "Requested", f'Created new CertificateRequest resource "{name}"'))
        return _finish(out, old, status)
    request = candidates[0]

    # -- issuing ----------------------------------------------------------------------------------------
    failure = _cr_failed(request)
    if failure is None and _cr_issued(request):
        failure = _check_issued(request, key, now)
        if failure is None:
            return _complete(s, inp, out, old, status, request, key, now, next_rev, options)
    if failure is not None:
        reason, message = failure
        return _fail(out, old, status, cert, reason, FAILED_PREFIX + message, now, options)
    if (
        cert.metadata.annotations.get(c.ANN_ISSUE_TEMPORARY_CERTIFICATE) == "true"
        and policies.temporary_certificate_needed(inp) is not None
    ):
        # cert-manager's temporary certificate: while the request is pending and the Secret is unusable,
        # a throwaway cert for the next key keeps an Ingress controller serving something.
        out.write_temporary = WriteTemporary(key.name)
        out.events.append((NORMAL, c.COND_ISSUING, TEMPORARY_MESSAGE))
    return _finish(out, old, status)  # pending: the request's own events bring us back


def _fail(
    out: Outcome,
    old: t.CertificateStatus,
    status: t.CertificateStatus,
    cert: t.Certificate,
    reason: str,
    text: str,
    now: _dt.datetime,
    options: Options,
) -> Outcome:
    """A failed issuance: Issuing=False with the reason, lastFailureTime, one more failed attempt, a Warning
    event, and a look again once the back-off is over."""
    attempts = (old.failed_issuance_attempts or 0) + 1
    status = dataclasses.replace(
        status,
        conditions=conditions.set_condition(
            status.conditions, c.COND_ISSUING, c.FALSE, reason, text, now, cert.metadata.generation
        ),
        last_failure_time=conditions.rfc3339(now),
        failed_issuance_attempts=attempts,
    )
    out.events.append((WARNING, reason, text))
    out.requeue_after = policies.backoff_delay(
        attempts, options.backoff_min, options.backoff_max, ca_friendly=options.ca_friendly_backoff
    )
    return _finish(out, old, status)


# ---------------------------------------------------------------------------------------------------------
# Loop breaker


def missing_names(leaf: x509.Certificate, spec: t.CertificateSpec) -> list[str]:
    """The spec fields whose requested names the certificate lacks (names it adds are no concern: issuers
    may add some; a commonName may appear as a DNS name and the other way round)."""
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    except ValueError:
        return ["spec.dnsNames"]
    try:
        cns = {str(a.value) for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)}
    except ValueError:
        cns = set()
    dns = set(san.get_values_for_type(x509.DNSName)) if san is not None else set()
    ips = {ip.compressed for ip in san.get_values_for_type(x509.IPAddress)} if san is not None else set()
    uris = set(san.get_values_for_type(x509.UniformResourceIdentifier)) if san is not None else set()
    emails = set(san.get_values_for_type(x509.RFC822Name)) if san is not None else set()
    missing: list[str] = []
    if spec.common_name and spec.common_name not in cns | dns:
        missing.append("spec.commonName")
    if not set(spec.dns_names) <= dns | cns:
        missing.append("spec.dnsNames")
    wanted_ips: set[str] = set()
    for text in spec.ip_addresses:
        try:
            wanted_ips.add(ipaddress.ip_address(text).compressed)
        except ValueError:
            wanted_ips.add(text)
    if not wanted_ips <= ips:
        missing.append("spec.ipAddresses")
    if not set(spec.uris) <= uris:
        missing.append("spec.uris")
    if not set(spec.email_addresses) <= emails:
        missing.append("spec.emailAddresses")
    return missing


def _stored_missing_names(inp: policies.Input) -> list[str]:
    """Requested names the Secret's certificate lacks, for a Secret issued for the current request (the
    policy chains compare only the request with the spec then, and would call such a Secret up to date)."""
    if inp.secret is None or inp.current_request is None:
        return []
    leaf = match.parse_leaf(bytes(inp.secret.data.get(c.TLS_CERT_KEY, b"")))
    if leaf.value is None:
        return []
    return missing_names(leaf.value, inp.certificate.spec)


def _missing_names_violation(inp: policies.Input) -> policies.Violation | None:
    missing = _stored_missing_names(inp)
    if not missing:
        return None
    return policies.Violation(
        c.REASON_SECRET_MISMATCH,
        "Issuing certificate as Existing issued Secret is not up to date for spec: " + match.format_violations(missing),
    )


def _with_missing_names(
    status: t.CertificateStatus, inp: policies.Input, generation: int, now: _dt.datetime
) -> t.CertificateStatus:
    """Ready=False/SecretMismatch where the readiness chain said True but the certificate lacks names."""
    if not conditions.is_true(status.conditions, c.COND_READY):
        return status
    found = _missing_names_violation(inp)
    if found is None:
        return status
    conds = conditions.set_condition(status.conditions, c.COND_READY, c.FALSE, found.reason, found.message, now,
                                     generation)
    return dataclasses.replace(status, conditions=conds)


def _issued_at(cr: t.CertificateRequest) -> _dt.datetime | None:
    ready = conditions.find(cr.status.conditions, c.COND_READY)
    if ready is None or ready.status != c.TRUE:
        return None
    return policies.parse_time(ready.last_transition_time)


def _repair_loop(inp: policies.Input, violation: policies.Violation, now: _dt.datetime, options: Options) -> bool:
    """Whether this re-issuance repeats a repair that has just been made: the Secret is broken again (a
    Secret-state reason) within `backoff_min` of issuing the current request, which was itself a repair of
    the same spec (revision 2 or later: the first issuance is no repair). The first repair is always immediate;
    only a repeated one waits for the back-off."""
    current = inp.current_request
    if violation.reason not in REPAIR_REASONS or current is None:
        return False
    if (requestmanager.revision_of(current) or 0) <= 1:
        return False  # the first issuance (reason DoesNotExist) is no repair
    if current.metadata.annotations.get(ANN_ISSUING_REASON, "") not in REPAIR_REASONS:
        return False
    issued = _issued_at(current)
    if issued is None or not now - issued < options.backoff_min:
        return False
    same_spec = match.request_matches_spec(current, inp.certificate.spec)
    return same_spec.value is not None and not same_spec.value


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
    options: Options,
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
    return _issued(s, inp, out, old, status, request, [key], now, next_rev, options)


def _stored_by(secret: policies.SecretView | None, request: t.CertificateRequest) -> bool:
    """The Secret holds `request`'s certificate with the key of its CSR: that issuance was written."""
    if secret is None or not _cr_issued(request):
        return False
    if bytes(secret.data.get(c.TLS_CERT_KEY, b"")) != request.status.certificate:
        return False
    stored = match.parse_private_key(bytes(secret.data.get(c.TLS_PRIVATE_KEY_KEY, b"")))
    csr = match.parse_csr(request.spec.request)
    return (stored.value is not None and csr.value is not None
            and keys.public_keys_equal(csr.value.public_key(), stored.value))


def _issued(
    s: Snapshot,
    inp: policies.Input,
    out: Outcome,
    old: t.CertificateStatus,
    status: t.CertificateStatus,
    request: t.CertificateRequest,
    used_keys: Sequence[NextKey],
    now: _dt.datetime,
    next_rev: int,
    options: Options,
) -> Outcome:
    """The Secret holds the next revision's certificate: finish the status (revision, conditions, times)."""
    secret = inp.secret
    cert = s.certificate
    leaf = match.parse_leaf(request.status.certificate)
    missing = missing_names(leaf.value, cert.spec) if leaf.value is not None else []
    if missing:
        # Stored (the best certificate there is) but a failed issuance: the next try waits for the back-off.
        return _complete_mismatched(s, out, old, status, request, used_keys, now, next_rev, options, missing)
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
    out.delete.extend(Delete("Secret", k.name, k.uid) for k in used_keys)
    out.events.append((NORMAL, c.COND_ISSUING, ISSUED_MESSAGE))
    times = policies.status_times(final_inp)
    if times.renewal_time is not None:
        out.requeue_after = max(times.renewal_time - now, _dt.timedelta(0))
    return _finish(out, old, final)


def _complete_mismatched(
    s: Snapshot,
    out: Outcome,
    old: t.CertificateStatus,
    status: t.CertificateStatus,
    request: t.CertificateRequest,
    used_keys: Sequence[NextKey],
    now: _dt.datetime,
    next_rev: int,
    options: Options,
    missing: list[str],
) -> Outcome:
    cert = s.certificate
    status = dataclasses.replace(status, revision=next_rev, next_private_key_secret_name="")
    done = dataclasses.replace(cert, status=status)
    final_inp = policies.Input(done, s.secret, request, None, now, options.renewal_jitter)
    status = _with_missing_names(_with_readiness(status, final_inp, cert.metadata.generation, now), final_inp,
                                 cert.metadata.generation, now)
    out.delete.extend(Delete("Secret", k.name, k.uid) for k in used_keys)
    message = FAILED_PREFIX + MISSING_NAMES_PREFIX + match.format_violations(missing)
    return _fail(out, old, status, cert, c.REASON_INVALID_CERTIFICATE, message, now, options)
