"""Pick the signer for an Issuer's type. SelfSigned and CA sign in process; ACME is asynchronous and
lives in the ACME controllers; Vault and Venafi are recognised but not supported."""

from __future__ import annotations

import datetime as _dt

from issuer.api import constants as c
from issuer.api import types as t
from issuer.signers import base, ca, selfsigned

ASYNC_TYPES = ("acme",)


def issuer_type(issuer: t.Issuer) -> str:
    types = issuer.spec.issuer_types()
    return types[0] if len(types) == 1 else ""


def setup(
    issuer: t.Issuer, get_secret: base.SecretGetter, cluster_resource_namespace: str, now: _dt.datetime
) -> base.Setup | None:
    """Readiness for SelfSigned and CA issuers; None for ACME (its own controller registers accounts)."""
    kind = issuer_type(issuer)
    if kind == "selfSigned":
        return selfsigned.setup(issuer)
    if kind == "ca":
        return ca.setup(issuer, get_secret, cluster_resource_namespace, now)
    if kind in ASYNC_TYPES:
        return None
    if not kind:
        return base.Setup(False, c.REASON_ERR_INIT_ISSUER, "exactly one issuer type must be configured")
    return base.Setup(False, c.REASON_ERR_INIT_ISSUER, f"{kind} issuers are not supported by this controller")


def sign(
    cr: t.CertificateRequest,
    issuer: t.Issuer,
    get_secret: base.SecretGetter,
    cluster_resource_namespace: str,
    now: _dt.datetime,
) -> base.Outcome | None:
    """Sign with a SelfSigned or CA issuer; None when the issuer type signs elsewhere (ACME)."""
    kind = issuer_type(issuer)
    if kind == "selfSigned":
        return selfsigned.sign_request(cr, issuer, get_secret, now)
    if kind == "ca":
        return ca.sign_request(cr, issuer, get_secret, cluster_resource_namespace, now)
    return None
