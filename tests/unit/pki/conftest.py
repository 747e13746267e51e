"""Fixtures for the PKI unit tests (helpers live in helpers.py)."""

from __future__ import annotations

import pytest

from issuer.pki import ca
from tests.unit.pki import helpers


@pytest.fixture(scope="session")
def root() -> tuple[ca.CAKeyPair, bytes]:
    """A self-signed ECDSA root CA key pair and its PEM."""
    return helpers.make_root()
