"""Glue between the ACME server's objects (`issuer.acme.client`) and the Order/Challenge resources
(`issuer.api.types`), as cert-manager's order and challenge controllers fill them. Pure; for the
operator's Order and Challenge controllers.

- `identifiers(order_spec)`: dnsNames, then IPs, then the CN when it is neither (as an IP if it parses).
- `authorization_status(authz)`: the `status.authorizations[]` entry (initialState = the state when fetched).
- `challenge_spec(...)`: the Challenge spec for one authorization and its chosen solver, with the `key`
  (HTTP-01: the key authorization; DNS-01: its SHA-256, unpadded base64url).
- `failure_state(err)`: the state a Challenge/Order takes for a server refusal (malformed -> expired,
  other 4xx -> errored; retryable errors keep the state).
"""

from __future__ import annotations

import ipaddress

from issuer.acme import client as acme_client
from issuer.acme import errors
from issuer.api import constants as c
from issuer.api import types as t

CHALLENGE_TYPES = {"http-01": "HTTP-01", "dns-01": "DNS-01"}  # ACME wire type -> Challenge spec.type


def identifiers(spec: t.OrderSpec) -> list[str]:
    names = [*spec.dns_names, *spec.ip_addresses]
    if spec.common_name and spec.common_name not in names:
        try:
            names.append(str(ipaddress.ip_address(spec.common_name)))
        except ValueError:
            names.append(spec.common_name)
    return names


def authorization_status(authz: acme_client.Authorization) -> t.ACMEAuthorization:
    return t.ACMEAuthorization(
        url=authz.url,
        identifier=authz.identifier.value,
        wildcard=authz.wildcard if authz.wildcard else None,
        initial_state=authz.status,
        challenges=tuple(
            t.ACMEChallenge(url=ch.url, token=ch.token, type=ch.type) for ch in authz.challenges
        ),
    )


def challenge_key(acme: acme_client.ACMEClient, challenge_type: str, token: str) -> str:
    """The Challenge `key` for an ACME challenge type ("http-01"/"dns-01" or "HTTP-01"/"DNS-01")."""
    if challenge_type.lower() == "dns-01":
        return acme.dns01_value(token)
    return acme.key_authorization(token)


def challenge_spec(
    order: t.Order,
    authz: t.ACMEAuthorization,
    challenge: t.ACMEChallenge,
    solver: t.ACMESolver,
    key: str = "",
) -> t.ChallengeSpec:
    """The Challenge for `authz` solved through `challenge` (the offered one matching the solver's type)."""
    return t.ChallengeSpec(
        url=challenge.url,
        authorization_url=authz.url,
        dns_name=authz.identifier,
        wildcard=bool(authz.wildcard),
        type=CHALLENGE_TYPES.get(challenge.type, challenge.type),
        token=challenge.token,
        key=key,
        solver=solver,
        issuer_ref=order.spec.issuer_ref,
    )


def failure_state(err: errors.ACMEError) -> str:
    """"" for Retryable (try again, state unchanged); `expired` for malformed; `errored` otherwise."""
    if isinstance(err, errors.Retryable):
        return ""
    if isinstance(err, errors.Terminal) and err.code == "malformed":
        return c.STATE_EXPIRED
    return c.STATE_ERRORED
