"""`issuer check api [--wait 0s] [--interval 5s]`: is the cert-manager API usable? Like `cmctl check api`,
but for a cert-manager without a webhook (our CRDs carry the webhook's rules as CEL), so the checks are:
the six CRDs exist and are Established (skipped when RBAC forbids reading CRDs); cert-manager.io/v1 serves
certificates, certificaterequests, issuers and clusterissuers; a dry-run create of a valid
CertificateRequest is accepted; a dry-run create of an invalid Certificate (no common name and no SANs) is
rejected by the validation rules. Nothing is created. Failures are translated into one sentence; with
--wait the checks repeat every --interval until they pass or the time is up.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import time
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from issuer.api import constants as c
from issuer.api import duration
from issuer.commands import common
from issuer.kube import client as kube_client
from issuer.kube import errors
from issuer.kube import resources as r

READY = "The cert-manager API is ready"
PREFIX = "issuer-check-api-"
CRD_NAMES = tuple(f"{res.plural}.{res.group}" for res in (
    r.CERTIFICATES, r.CERTIFICATE_REQUESTS, r.ISSUERS, r.CLUSTER_ISSUERS, r.ORDERS, r.CHALLENGES))
SERVED = (r.CERTIFICATES, r.CERTIFICATE_REQUESTS, r.ISSUERS, r.CLUSTER_ISSUERS)


class NotReady(Exception):
    """One check failed; the message says which and why."""


def _csr_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer-check-api")]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName("issuer-check-api.example.com")]), critical=False)
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM)


def valid_request() -> dict[str, Any]:
    return {"apiVersion": c.API_VERSION, "kind": c.CERTIFICATE_REQUEST, "metadata": {"generateName": PREFIX},
            "spec": {"request": base64.b64encode(_csr_pem()).decode(),
                     "issuerRef": {"name": "issuer-check-api", "kind": c.ISSUER, "group": c.GROUP},
                     "usages": list(c.DEFAULT_USAGES)}}


def invalid_certificate() -> dict[str, Any]:
    return {"apiVersion": c.API_VERSION, "kind": c.CERTIFICATE, "metadata": {"generateName": PREFIX},
            "spec": {"secretName": "issuer-check-api", "issuerRef": {"name": "issuer-check-api"}}}


async def _crds(kube: kube_client.Client) -> None:
    missing, pending = [], []
    for name in CRD_NAMES:
        try:
            crd = await kube.get(r.CUSTOM_RESOURCE_DEFINITIONS, name)
        except errors.Forbidden:
            return  # not allowed to read CRDs: the API checks below still tell
        if crd is None:
            missing.append(name)
        elif not common.has_condition(crd, "Established"):
            pending.append(name)
    if missing:
        raise NotReady(f"the cert-manager CRDs are not installed (missing: {', '.join(missing)}); "
                       "install them with `kubectl apply -f crds/`")
    if pending:
        raise NotReady(f"the cert-manager CRDs are not Established yet: {', '.join(pending)}")


async def once(kube: kube_client.Client, namespace: str) -> None:
    """Run every check once; NotReady with the first failure."""
    try:
        await _crds(kube)
        for res in SERVED:
            try:
                await kube.list(res, namespace if res.namespaced else None,
                                field_selector=f"metadata.name={PREFIX}probe")  # served? (no object matches)
            except errors.NotFound:
                raise NotReady(f"the {res.api_version} API does not serve {res.plural}: the cert-manager CRDs "
                               "are not installed") from None
            except errors.Forbidden:
                continue
        try:
            await kube.create(r.CERTIFICATE_REQUESTS, valid_request(), namespace, dry_run=True)
        except errors.NotFound as err:
            raise NotReady(f"cannot create CertificateRequests in namespace {namespace!r}: {err}") from None
        except errors.Invalid as err:
            raise NotReady(f"a valid CertificateRequest was rejected: {err}") from None
        try:
            await kube.create(r.CERTIFICATES, invalid_certificate(), namespace, dry_run=True)
        except errors.Invalid:
            pass
        else:
            raise NotReady("an invalid Certificate (no common name, no SANs) was accepted: the CRDs lack "
                           "cert-manager's validation rules; reinstall them from crds/")
    except errors.TransportError as err:
        raise NotReady(f"cannot reach the Kubernetes API server at {kube.config.server}: "
                       f"{common.cause(str(err))}") from None
    except errors.Forbidden as err:
        raise NotReady(f"permission denied: {err}") from None
    except errors.Retryable as err:
        raise NotReady(f"the Kubernetes API server answered with an error: {err}") from None


def main(args: argparse.Namespace) -> int:
    try:
        wait = duration.parse(args.wait).total_seconds()
        interval = duration.parse(args.interval).total_seconds()
    except duration.DurationError as err:
        common.error(str(err))
        return common.EXIT_USAGE
    if wait < 0 or interval <= 0:
        common.error("--wait must not be negative and --interval must be positive")
        return common.EXIT_USAGE

    async def command(kube: kube_client.Client, namespace: str) -> int:
        deadline = time.monotonic() + wait
        while True:
            try:
                await once(kube, namespace)
            except NotReady as err:
                problem = str(err)
                if time.monotonic() + interval <= deadline:
                    await asyncio.sleep(interval)
                    continue
                if args.output == "json":
                    common.print_json({"ready": False, "error": problem})
                common.error(problem)
                return common.EXIT_FAILED
            if args.output == "json":
                common.print_json({"ready": True, "message": READY})
            else:
                print(READY)
            return common.EXIT_OK

    return common.run(args, command)
