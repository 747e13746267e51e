"""A CA Issuer that is not Ready says which Secret is at fault, for every kind of breakage (found by
tests/controller/test_bad_input.py: garbage data gave "Error getting keypair for CA issuer: tls.crt: no PEM
data was found", naming no Secret)."""

from __future__ import annotations

import datetime as dt

import pytest

from issuer.api import types as t
from issuer.signers import ca

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ISSUER = t.parse_issuer({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                         "metadata": {"name": "ca", "namespace": "team"}, "spec": {"ca": {"secretName": "ca-kp"}}})


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (None, "ErrGetKeyPair"),
        ({"tls.crt": b"garbage", "tls.key": b"garbage"}, "ErrGetKeyPair"),
        ({"tls.crt": b"", "tls.key": b""}, "ErrGetKeyPair"),
    ],
    ids=["a missing Secret", "garbage in both keys", "empty keys"],
)
def test_a_broken_ca_secret_is_named_in_the_not_ready_message(data: dict[str, bytes] | None, reason: str) -> None:
    setup = ca.setup(ISSUER, lambda ns, name: data, "cert-manager", NOW)
    assert not setup.ready
    assert setup.reason == reason
    assert setup.message.startswith("Error getting keypair for CA issuer: ")
    assert "ca-kp" in setup.message, setup.message
