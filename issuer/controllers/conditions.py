"""Status conditions as cert-manager keeps them: one per type, `lastTransitionTime` moving only when the
status flips, `observedGeneration` stamped where the kind has it."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

from issuer.api import types as t


def rfc3339(when: _dt.datetime) -> str:
    """Kubernetes' metav1.Time: UTC, whole seconds, `Z`."""
    return when.astimezone(_dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def find(conditions: Sequence[t.Condition], type_: str) -> t.Condition | None:
    return next((cond for cond in conditions if cond.type == type_), None)


def is_true(conditions: Sequence[t.Condition], type_: str) -> bool:
    cond = find(conditions, type_)
    return cond is not None and cond.status == "True"


def set_condition(
    conditions: Sequence[t.Condition],
    type_: str,
    status: str,
    reason: str,
    message: str,
    now: _dt.datetime,
    observed_generation: int | None = None,
) -> tuple[t.Condition, ...]:
    """The conditions with `type_` set; its lastTransitionTime kept unless the status changed."""
    old = find(conditions, type_)
    transition = old.last_transition_time if old is not None and old.status == status else rfc3339(now)
    new = t.Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=transition,
        observed_generation=observed_generation,
    )
    if old is None:
        return (*conditions, new)
    return tuple(new if cond.type == type_ else cond for cond in conditions)


def remove_condition(conditions: Sequence[t.Condition], type_: str) -> tuple[t.Condition, ...]:
    return tuple(cond for cond in conditions if cond.type != type_)
