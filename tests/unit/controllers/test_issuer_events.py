"""Issuer Events as cert-manager sends them: none for a SelfSigned issuer becoming Ready (its setup has no
message; we sent "IsReady"), one per change for the CA issuer's verdicts."""

from __future__ import annotations

import datetime as dt

import pytest

from issuer.api import types as t
from issuer.controllers import issuers
from issuer.signers import base

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def issuer(spec: dict[str, object]) -> t.Issuer:
    return t.parse_issuer({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                           "metadata": {"name": "i", "namespace": "n", "generation": 1}, "spec": spec})


@pytest.mark.parametrize(
    ("spec", "setup", "events"),
    [
        ({"selfSigned": {}}, base.Setup(True, "IsReady", ""), []),
        ({"ca": {"secretName": "s"}}, base.Setup(True, "KeyPairVerified", "Signing CA verified"),
         [("Normal", "KeyPairVerified", "Signing CA verified")]),
        ({"ca": {"secretName": "s"}}, base.Setup(False, "ErrGetKeyPair", "Error getting keypair for CA issuer: x"),
         [("Warning", "ErrGetKeyPair", "Error getting keypair for CA issuer: x")]),
    ],
    ids=["SelfSigned Ready: no event", "CA verified: Normal KeyPairVerified", "CA broken: Warning ErrGetKeyPair"],
)
def test_issuer_events(spec: dict[str, object], setup: base.Setup, events: list[tuple[str, str, str]]) -> None:
    status, sent = issuers.decide(issuer(spec), setup, NOW)
    assert status is not None
    assert sent == events
