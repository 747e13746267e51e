"""Ready stays True through a renewal, its lastTransitionTime untouched (found by
tests/controller/test_lifecycle.py: once the Secret held the new certificate, readiness was judged against
the previous request, whose key "differed", so Ready flipped False and back inside one issuance)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from issuer.controllers import certificates
from tests.unit.test_loop_breaker import NOW, OPTIONS, certificate, issued_status, key, leaf, request, secret, ts

T0 = NOW - dt.timedelta(hours=1)


def renewing_snapshot(secret_holds_new: bool) -> certificates.Snapshot:
    old_key, new_key = key(11), key(12)
    old_pem, new_pem = leaf(old_key, ["a.example.com", "b.example.com"]), leaf(new_key, ["a.example.com",
                                                                                       "b.example.com"])
    status: dict[str, Any] = issued_status(1, T0, nextPrivateKeySecretName="web-next")
    status["conditions"].append({"type": "Issuing", "status": "True", "reason": "Renewing", "message": "m",
                                 "lastTransitionTime": ts(NOW - dt.timedelta(seconds=2)), "observedGeneration": 1})
    current = request(1, old_key, old_pem, reason="DoesNotExist", issued_at=T0)
    nxt = request(2, new_key, new_pem, reason="Renewing", issued_at=NOW - dt.timedelta(seconds=1))
    stored = secret(new_key, new_pem) if secret_holds_new else secret(old_key, old_pem)
    return certificates.Snapshot(certificate(status), stored, (current, nxt),
                                 (certificates.NextKey("web-next", "uid-next", new_key),))


@pytest.mark.parametrize("secret_holds_new", [False, True],
                         ids=["before the Secret is written", "after the Secret is written"])
def test_ready_keeps_its_last_transition_time_through_a_renewal(secret_holds_new: bool) -> None:
    out = certificates.decide(renewing_snapshot(secret_holds_new), NOW, OPTIONS)
    status = out.status or renewing_snapshot(secret_holds_new).certificate.status
    ready = next(x for x in status.conditions if x.type == "Ready")
    assert (ready.status, ready.last_transition_time) == ("True", ts(T0)), ready
    if secret_holds_new:
        assert status.revision == 2
    else:
        assert out.write_secret is not None
