"""`issuer approve NAME` and `issuer deny NAME` (`--reason`, `--message`): set a CertificateRequest's
`Approved` or `Denied` condition as `cmctl approve`/`deny` do. cert-manager's rules (inventory §1.2):
both conditions are permanent and mutually exclusive, so a request already approved or denied is refused
with a message and exit 1. The condition (status True, reason default `KubectlCertManager`) is written by an
update (PUT) of the /status subresource carrying the read resourceVersion, as cmctl sends (approvers are
granted `update` on `certificaterequests/status` and `approve` on signers), re-read and retried on 409.
The CRD's own CEL rules and the admission policy (manifests/admission.yaml: `approve` on the issuer's
signer) enforce the rules server-side; their refusal is reported as is, on one line.
"""

from __future__ import annotations

import argparse
import asyncio

from issuer.api import constants as c
from issuer.commands import common
from issuer.kube import client as kube_client
from issuer.kube import errors
from issuer.kube import resources as r

ATTEMPTS = 5


async def decide(kube: kube_client.Client, name: str, namespace: str, type_: str, reason: str,
                 message: str) -> common.Obj:
    """Set condition `type_` (Approved or Denied) to True; CommandError when refused. Returns the condition."""
    for attempt in range(ATTEMPTS):
        req = await kube.get(r.CERTIFICATE_REQUESTS, name, namespace)
        if req is None:
            raise await common.not_found(kube, r.CERTIFICATE_REQUESTS, name, namespace)
        for existing, word in ((c.COND_APPROVED, "approved"), (c.COND_DENIED, "denied")):
            if common.condition(req, existing) is not None:
                raise common.CommandError(f"CertificateRequest {namespace}/{name} is already {word}")
        new: common.Obj = {"type": type_, "status": c.TRUE, "reason": reason, "message": message,
                           "lastTransitionTime": common.now().strftime("%Y-%m-%dT%H:%M:%SZ")}
        conds = [*(dict(x) for x in common.conditions(req)), new]
        body = {**req, "status": {**(req.get("status") or {}), "conditions": conds}}
        try:
            await kube.replace_status(r.CERTIFICATE_REQUESTS, body, namespace)
        except errors.Conflict:
            if attempt == ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))
            continue
        except errors.NotFound:
            raise common.CommandError(f'CertificateRequest "{name}" not found in namespace "{namespace}"') from None
        except errors.Invalid as err:
            raise common.CommandError(f"CertificateRequest {namespace}/{name} was not changed: {err}") from None
        return new
    raise AssertionError("unreachable")


def _main(args: argparse.Namespace, type_: str, past: str) -> int:
    if not args.reason.strip():
        common.error("a reason must be given (--reason)")
        return common.EXIT_USAGE
    if not args.message.strip():
        common.error("a message must be given (--message)")
        return common.EXIT_USAGE

    async def command(kube: kube_client.Client, namespace: str) -> int:
        cond = await decide(kube, args.name, namespace, type_, args.reason, args.message)
        if args.output == "json":
            common.print_json({"namespace": namespace, "name": args.name, "condition": cond})
        else:
            print(f"{past} CertificateRequest '{namespace}/{args.name}'")
        return common.EXIT_OK

    return common.run(args, command)


def approve(args: argparse.Namespace) -> int:
    return _main(args, c.COND_APPROVED, "Approved")


def deny(args: argparse.Namespace) -> int:
    return _main(args, c.COND_DENIED, "Denied")
