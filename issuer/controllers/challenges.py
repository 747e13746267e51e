"""ACME Challenges, as pure decisions: cert-manager's challenge scheduler and the Challenge controller's
one step per reconcile (`pkg/controller/acmechallenges/{scheduler,sync}.go`), inventory §5.4.

Called by `issuer.operator.acme`, which presents and cleans up the solver (Pods, Services, Ingresses or
TXT records), runs the self-check, accepts the challenge and polls the authorization, writing the status
these functions compute. Nothing here reads a clock, the network or the environment.

- `may_start(challenge, others, max_concurrent)`: the scheduler's rule: at most `max_concurrent`
  processing at once, never two processing for the same (dnsName, type), oldest first.
- `next_step(challenge, has_finalizer)`: clean up (final or deleted), schedule, add the finalizer, fetch
  the state, present-and-check, or poll the authorization after the challenge was accepted.
- status helpers with cert-manager's reasons and messages, and the Events.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Iterable

from issuer.api import constants as c
from issuer.api import types as t
from issuer.controllers import conditions

NOTHING = "nothing"
CLEANUP = "cleanup"
SCHEDULE = "schedule"
ADD_FINALIZER = "add-finalizer"
FETCH_STATE = "fetch-state"
PRESENT = "present"
POLL_AUTHORIZATION = "poll-authorization"

EVENT_STARTED = "Started"
EVENT_PRESENTED = "Presented"
EVENT_PRESENT_ERROR = "PresentError"
EVENT_DOMAIN_VERIFIED = "DomainVerified"
EVENT_FAILED = "Failed"
EVENT_CLEANUP_ERROR = "CleanUpError"
STARTED_MESSAGE = "Challenge scheduled for processing"
AUTHORIZED_REASON = "Successfully authorized domain"
DEFAULT_MAX_CONCURRENT = 60
FINALIZERS = (c.ACME_FINALIZER, c.ACME_LEGACY_FINALIZER)


def is_final(state: str) -> bool:
    return state in c.FINAL_STATES


def has_finalizer(challenge: t.Challenge) -> bool:
    return any(f in FINALIZERS for f in challenge.metadata.finalizers)


def _slot(ch: t.Challenge) -> tuple[str, str]:
    return ch.spec.dns_name, ch.spec.type


def _age(ch: t.Challenge) -> tuple[str, str, str]:
    return ch.metadata.creation_timestamp, ch.metadata.namespace, ch.metadata.name


def may_start(challenge: t.Challenge, others: Iterable[t.Challenge], max_concurrent: int) -> bool:
    """Whether the scheduler would set `processing` on this Challenge now (`others`: every Challenge known)."""
    if challenge.status.processing or is_final(challenge.status.state) or challenge.metadata.deletion_timestamp:
        return False
    me = (challenge.metadata.namespace, challenge.metadata.name)
    processing = 0
    for other in others:
        if (other.metadata.namespace, other.metadata.name) == me:
            continue
        if other.status.processing:
            processing += 1
            if _slot(other) == _slot(challenge):
                return False
        elif (_slot(other) == _slot(challenge) and not is_final(other.status.state)
              and not other.metadata.deletion_timestamp and _age(other) < _age(challenge)):
            return False  # an older Challenge for the same name and type goes first
    return processing < max_concurrent


def next_step(challenge: t.Challenge) -> str:
    """The one thing to do for this Challenge now."""
    status = challenge.status
    if challenge.metadata.deletion_timestamp or is_final(status.state):
        if has_finalizer(challenge) or status.processing or status.presented:
            return CLEANUP
        return NOTHING
    if not status.processing:
        return SCHEDULE
    if not has_finalizer(challenge):
        return ADD_FINALIZER
    if not status.state:
        return FETCH_STATE
    if status.state == c.STATE_PROCESSING:
        return POLL_AUTHORIZATION
    return PRESENT


def issuer_solver(challenge: t.Challenge, issuer: t.Issuer) -> t.ACMESolver | None:
    """The Issuer's own solver the Challenge names (its DNS-01 settings equal), or None.

    A DNS-01 solver carries credentials (Secret references in the issuer's resource namespace), so the
    Challenge's copy is never trusted: whoever can create a Challenge must not be able to make the
    controller use another Secret (GHSA-8rvj-mm4h-c258). HTTP-01 solvers carry none and may differ by the
    Order's override annotations, so they are taken as written."""
    if challenge.spec.type != "DNS-01":
        return challenge.spec.solver
    wanted = challenge.spec.solver.dns01
    for candidate in (issuer.spec.acme or t.ACMEIssuer()).solvers:
        if candidate.dns01 is not None and candidate.dns01 == wanted:
            return candidate
    return None


def not_an_issuer_solver(issuer: t.Issuer) -> str:
    return f"the Challenge's DNS-01 solver is not one of {issuer.kind} {issuer.metadata.name!r}'s solvers"


# ---------------------------------------------------------------------------------------------------------
# Status


def started(status: t.ChallengeStatus) -> t.ChallengeStatus:
    return dataclasses.replace(status, processing=True)


def presented(status: t.ChallengeStatus, now: _dt.datetime) -> t.ChallengeStatus:
    if status.presented:
        return status
    return dataclasses.replace(status, presented=True, presented_at=conditions.rfc3339(now))


def waiting(status: t.ChallengeStatus, challenge_type: str, why: str) -> t.ChallengeStatus:
    return dataclasses.replace(status, reason=f"Waiting for {challenge_type} challenge propagation: {why}")


def with_state(status: t.ChallengeStatus, state: str, reason: str | None = None) -> t.ChallengeStatus:
    return dataclasses.replace(status, state=state, reason=status.reason if reason is None else reason)


def authorized(status: t.ChallengeStatus) -> t.ChallengeStatus:
    return dataclasses.replace(status, state=c.STATE_VALID, reason=AUTHORIZED_REASON)


def failed(status: t.ChallengeStatus, state: str, detail: str) -> t.ChallengeStatus:
    return dataclasses.replace(status, state=state, reason=detail)


def cleaned(status: t.ChallengeStatus) -> t.ChallengeStatus:
    return dataclasses.replace(status, processing=False, presented=False)


def finalizers_without(challenge: t.Challenge) -> list[str]:
    return [f for f in challenge.metadata.finalizers if f not in FINALIZERS]


def finalizers_with(challenge: t.Challenge) -> list[str]:
    kept = finalizers_without(challenge)
    return [*kept, c.ACME_FINALIZER]


# ---------------------------------------------------------------------------------------------------------
# Events


def presented_event(challenge_type: str) -> tuple[str, str, str]:
    return ("Normal", EVENT_PRESENTED, f"Presented challenge using {challenge_type} challenge mechanism")


def present_error_event(why: str) -> tuple[str, str, str]:
    return ("Warning", EVENT_PRESENT_ERROR, f"Error presenting challenge: {why}")


def verified_event(challenge: t.Challenge) -> tuple[str, str, str]:
    return ("Normal", EVENT_DOMAIN_VERIFIED,
            f'Domain "{challenge.spec.dns_name}" verified with "{challenge.spec.type}" validation')


def failed_event(detail: str) -> tuple[str, str, str]:
    return ("Warning", EVENT_FAILED, f"Accepting challenge authorization failed: {detail}")


def cleanup_error_event(why: str) -> tuple[str, str, str]:
    return ("Warning", EVENT_CLEANUP_ERROR, f"Error cleaning up challenge: {why}")
