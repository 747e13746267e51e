"""What every signer returns: an Issuer readiness verdict from `setup`, and an Issued, Pending or Failed
outcome from `sign`, with cert-manager's reason strings.

Signers read Secrets through a `SecretGetter` so the same code serves the operator (its cache or the API)
and the offline CLI (the Secrets of the input files).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from issuer.api import constants as c
from issuer.api import types as t

SecretGetter = Callable[[str, str], Mapping[str, bytes] | None]
"""(namespace, name) -> the Secret's decoded data, or None when there is no such Secret."""


@dataclasses.dataclass(frozen=True)
class Setup:
    """The Issuer's Ready condition as setup found it."""

    ready: bool
    reason: str
    message: str = ""

    @property
    def status(self) -> str:
        return c.TRUE if self.ready else c.FALSE


@dataclasses.dataclass(frozen=True)
class Issued:
    certificate: bytes  # PEM chain, leaf first
    ca: bytes = b""
    warnings: tuple[tuple[str, str], ...] = ()  # (reason, message) Warning events for the request


@dataclasses.dataclass(frozen=True)
class Pending:
    reason: str
    message: str


@dataclasses.dataclass(frozen=True)
class Failed:
    reason: str
    message: str


Outcome = Issued | Pending | Failed


def resource_namespace(issuer: t.Issuer, cluster_resource_namespace: str) -> str:
    """Where an issuer's Secrets live: its own namespace, or the cluster resource namespace for a ClusterIssuer."""
    return cluster_resource_namespace if issuer.is_cluster_scoped else issuer.metadata.namespace


def issuer_label(issuer: t.Issuer) -> str:
    return f"{issuer.kind} {issuer.metadata.name!r}"
