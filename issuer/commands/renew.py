"""`issuer renew NAME... | --all [-A] | -l SELECTOR [-A]`: trigger re-issuance as `cmctl renew` does, by
setting the Certificate's `Issuing=True` condition (reason `ManuallyTriggered`, message "Certificate
re-issuance manually triggered") through the /status subresource. The write is an update (PUT) of the
object that was read, with the whole conditions list (the others kept as they are) and its resourceVersion,
so it is refused with 409 when the Certificate changed meanwhile; then it is read again and retried. PUT,
as cmctl sends, is what cert-manager's `cert-manager-edit` role grants on `certificates/status` (verb
`update`, no `patch`). A Certificate that is
already Issuing is left alone: refused (exit 1) when named, skipped under --all or -l.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from typing import Any

from issuer.api import constants as c
from issuer.commands import common
from issuer.kube import client as kube_client
from issuer.kube import errors
from issuer.kube import resources as r

MESSAGE = "Certificate re-issuance manually triggered"
ATTEMPTS = 5

Obj = dict[str, Any]


def issuing_conditions(cert: Mapping[str, Any], now: str) -> list[Obj]:
    """The conditions list with Issuing=True (ManuallyTriggered) set, as cert-manager's
    SetCertificateCondition does: lastTransitionTime moves only if the status flips."""
    generation = common.meta(cert).get("generation")
    new: Obj = {"type": c.COND_ISSUING, "status": c.TRUE, "reason": c.REASON_MANUALLY_TRIGGERED,
                "message": MESSAGE, "lastTransitionTime": now}
    if isinstance(generation, int):
        new["observedGeneration"] = generation
    out: list[Obj] = []
    for cond in common.conditions(cert):
        if cond.get("type") == c.COND_ISSUING:
            if cond.get("status") == c.TRUE and cond.get("lastTransitionTime"):
                new["lastTransitionTime"] = cond["lastTransitionTime"]
            out.append(new)
        else:
            out.append(dict(cond))
    if not any(cond.get("type") == c.COND_ISSUING for cond in out):
        out.append(new)
    return out


async def trigger(kube: kube_client.Client, name: str, namespace: str) -> str:
    """"triggered", "issuing" (already, left alone) or "missing"."""
    for attempt in range(ATTEMPTS):
        cert = await kube.get(r.CERTIFICATES, name, namespace)
        if cert is None:
            return "missing"
        if common.has_condition(cert, c.COND_ISSUING):
            return "issuing"
        stamp = common.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {**cert, "status": {**(cert.get("status") or {}), "conditions": issuing_conditions(cert, stamp)}}
        try:
            await kube.replace_status(r.CERTIFICATES, body, namespace)
        except errors.Conflict:
            if attempt == ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))
            continue
        except errors.NotFound:
            return "missing"
        return "triggered"
    raise AssertionError("unreachable")


def _usage(args: argparse.Namespace) -> str | None:
    if not args.names and not args.all and not args.selector:
        return "give one or more Certificate names, --all or -l SELECTOR"
    if args.names and (args.all or args.selector):
        return "Certificate names cannot be combined with --all or -l"
    if args.names and args.all_namespaces:
        return "Certificate names cannot be combined with -A/--all-namespaces"
    return None


def main(args: argparse.Namespace) -> int:
    problem = _usage(args)
    if problem:
        common.error(problem)
        return common.EXIT_USAGE

    async def command(kube: kube_client.Client, namespace: str) -> int:
        targets: list[tuple[str, str]]
        if args.names:
            targets = [(namespace, name) for name in dict.fromkeys(args.names)]
        else:
            found = await kube.list(r.CERTIFICATES, None if args.all_namespaces else namespace,
                                    label_selector=args.selector or None)
            targets = sorted((str(common.meta(x).get("namespace")), str(common.meta(x).get("name")))
                             for x in found.items)
        results = []
        failed = False
        for ns, name in targets:
            outcome = await trigger(kube, name, ns)
            results.append({"namespace": ns, "name": name, "result": outcome})
            if args.output == "json":
                continue
            if outcome == "missing":
                common.error(str(await common.not_found(kube, r.CERTIFICATES, name, ns)))
            elif outcome == "triggered":
                print(f"Manually triggered issuance of Certificate {ns}/{name}")
            elif outcome == "issuing" and not args.names:
                print(f"Skipping Certificate {ns}/{name}: it is already issuing")
            elif outcome == "issuing":
                common.error(f"Certificate {ns}/{name} is already issuing; not triggering it again")
        if args.names:
            failed = any(x["result"] != "triggered" for x in results)
        else:
            failed = any(x["result"] == "missing" for x in results)  # deleted between list and patch
        if args.output == "json":
            common.print_json({"certificates": results})
        elif not targets:
            print("No Certificates found" + ("" if args.all_namespaces else f" in namespace {namespace}"))
        return common.EXIT_FAILED if failed else common.EXIT_OK

    return common.run(args, command)
