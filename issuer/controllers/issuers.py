"""Issuers and ClusterIssuers: the Ready condition from the signer's setup verdict (pure)."""

from __future__ import annotations

import dataclasses
import datetime as _dt

from issuer.api import constants as c
from issuer.api import types as t
from issuer.controllers import conditions
from issuer.signers import base


def decide(
    issuer: t.Issuer, setup: base.Setup, now: _dt.datetime
) -> tuple[t.IssuerStatus | None, list[tuple[str, str, str]]]:
    """The new status when it changed, and the events to send (one per change of reason or message)."""
    old = issuer.status
    ready = conditions.find(old.conditions, c.COND_READY)
    conds = conditions.set_condition(
        old.conditions, c.COND_READY, setup.status, setup.reason, setup.message, now, issuer.metadata.generation
    )
    new = dataclasses.replace(old, conditions=conds)
    if new == old:
        return None, []
    events: list[tuple[str, str, str]] = []
    # cert-manager's SelfSigned setup sets Ready (IsReady, no message) without an Event; the CA issuer's
    # KeyPairVerified / ErrGetKeyPair / ErrInvalidKeyPair come with a message and an Event
    changed = ready is None or ready.reason != setup.reason or ready.message != setup.message
    if changed and setup.message:
        events.append(("Normal" if setup.ready else "Warning", setup.reason, setup.message))
    return new, events
