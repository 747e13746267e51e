"""`issuer status certificate NAME` (alias `cert`): everything `cmctl status certificate` shows about one
Certificate, gathered with read-only calls: its conditions, DNS names and events; its Issuer or
ClusterIssuer (conditions, events); its Secret (the issued certificate described by
`issuer.commands.inspection.summarize`); notBefore/notAfter/renewalTime; the next CertificateRequest (the
revision being issued) or else the current one, with conditions and events; and, for ACME, the Order owned
by that request and the Challenges owned by the Order (a cluster without the ACME CRDs simply has none).
Exit 0 when the Certificate exists, Ready or not; `ready` in `-o json` says which.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping
from typing import Any

from issuer.api import constants as c
from issuer.commands import common, inspection
from issuer.kube import client as kube_client
from issuer.kube import errors
from issuer.kube import resources as r
from issuer.pki import chain
from issuer.pki.errors import MAX_BUNDLE_PEM_SIZE, PKIError

Obj = dict[str, Any]


async def _list_owned(kube: kube_client.Client, res: r.Resource, namespace: str, owner: Mapping[str, Any]) -> list[Obj]:
    """Objects of `res` in `namespace` owned by `owner`; [] when the kind is not served (no ACME CRDs)."""
    try:
        found = await kube.list(res, namespace)
    except (errors.NotFound, errors.Forbidden):
        return []
    return [o for o in found.items if common.owned_by(o, owner)]


def _revision(obj: Mapping[str, Any]) -> int | None:
    annotations = common.meta(obj).get("annotations")
    value = annotations.get(c.ANN_CERTIFICATE_REVISION) if isinstance(annotations, Mapping) else None
    try:
        return int(str(value))
    except ValueError:
        return None


async def _issuer(kube: kube_client.Client, cert: Mapping[str, Any], namespace: str) -> Obj:
    ref = common.section(common.section(cert, "spec"), "issuerRef")
    name = str(ref.get("name") or "")
    kind = str(ref.get("kind") or c.ISSUER)
    group = str(ref.get("group") or c.GROUP)
    out: Obj = {"name": name, "kind": kind, "group": group}
    if group != c.GROUP:
        out["error"] = f"external issuer (group {group}): not inspected"
        return out
    res = r.CLUSTER_ISSUERS if kind == c.CLUSTER_ISSUER else r.ISSUERS
    found = await kube.get(res, name, None if kind == c.CLUSTER_ISSUER else namespace) if name else None
    if found is None:
        out["error"] = f'{kind} "{name}" not found'
        return out
    spec = common.section(found, "spec")
    out["type"] = next((t for t in c.ISSUER_TYPES if t in spec), "")
    out["conditions"] = [common.condition_json(x) for x in common.conditions(found)]
    out["events"] = await common.events_for(kube, found)
    return out


async def _secret(kube: kube_client.Client, cert: Mapping[str, Any], namespace: str) -> Obj:
    name = str(common.section(cert, "spec").get("secretName") or "")
    out: Obj = {"name": name}
    try:
        found = await kube.get(r.SECRETS, name, namespace) if name else None
    except errors.Forbidden:
        # `view` (and cert-manager-view) users may read Certificates but not Secrets: say so, go on
        out["error"] = f'not allowed to read Secret "{name}" (reading Secrets needs the verb get on secrets)'
        return out
    if found is None:
        out["error"] = f'Secret "{name}" not found'
        return out
    try:
        data = inspection.decode_data(found)
    except common.CommandError as err:
        data = {}
        out["error"] = str(err)
    if "error" in out:
        pass
    elif not data.get(c.TLS_CERT_KEY):
        out["error"] = "the Secret has no tls.crt"
    else:
        try:
            certs = chain.load_certificates(data[c.TLS_CERT_KEY], MAX_BUNDLE_PEM_SIZE, "tls.crt")
        except PKIError as err:
            out["error"] = str(err)
        else:
            out["certificate"] = inspection.summarize(certs[0])
            out["chainLength"] = len(certs)
    if data.get(c.CA_CERT_KEY):
        try:
            ca = chain.load_certificates(data[c.CA_CERT_KEY], MAX_BUNDLE_PEM_SIZE, "ca.crt")
            out["ca"] = [x.subject.rfc4514_string() for x in ca]
        except PKIError as err:
            out["ca"] = [f"<{err}>"]
    out["events"] = await common.events_for(kube, found)
    return out


async def _request(kube: kube_client.Client, cert: Mapping[str, Any], namespace: str) -> tuple[Obj | None, Obj | None]:
    """(summary, object) of the next CertificateRequest (revision status.revision+1) if one exists, else of
    the current one (revision status.revision)."""
    requests = await _list_owned(kube, r.CERTIFICATE_REQUESTS, namespace, cert)
    revision = common.section(cert, "status").get("revision")
    current = revision if isinstance(revision, int) else None
    candidates = [("next", (current or 0) + 1)] + ([("current", current)] if current else [])
    for role, wanted in candidates:
        matches = [req for req in requests if _revision(req) == wanted]
        if not matches:
            continue
        req = matches[0]
        status = common.section(req, "status")
        summary: Obj = {
            "name": common.meta(req).get("name"),
            "namespace": common.meta(req).get("namespace"),
            "revision": wanted,
            "role": role,
            "conditions": [common.condition_json(x) for x in common.conditions(req)],
            "failureTime": status.get("failureTime"),
            "events": await common.events_for(kube, req),
        }
        if len(matches) > 1:
            summary["warning"] = f"{len(matches)} CertificateRequests have revision {wanted}"
        return summary, req
    return None, None


async def _acme(kube: kube_client.Client, request: Mapping[str, Any], namespace: str) -> tuple[Obj | None, list[Obj]]:
    orders = await _list_owned(kube, r.ORDERS, namespace, request)
    if not orders:
        return None, []
    order = orders[0]
    status = common.section(order, "status")
    authorizations = []
    for authz in status.get("authorizations") or ():
        if isinstance(authz, Mapping):
            authorizations.append({
                "url": authz.get("url", ""), "identifier": authz.get("identifier", ""),
                "initialState": authz.get("initialState", ""), "wildcard": bool(authz.get("wildcard")),
                "challenges": [{"type": ch.get("type", ""), "url": ch.get("url", ""), "token": ch.get("token", "")}
                               for ch in authz.get("challenges") or () if isinstance(ch, Mapping)],
            })
    summary: Obj = {
        "name": common.meta(order).get("name"), "state": status.get("state", ""), "reason": status.get("reason", ""),
        "url": status.get("url", ""), "authorizations": authorizations, "events": await common.events_for(kube, order),
    }
    challenges = []
    for ch in await _list_owned(kube, r.CHALLENGES, namespace, order):
        spec, st = common.section(ch, "spec"), common.section(ch, "status")
        challenges.append({
            "name": common.meta(ch).get("name"), "type": spec.get("type", ""), "dnsName": spec.get("dnsName", ""),
            "token": spec.get("token", ""), "key": spec.get("key", ""), "state": st.get("state", ""),
            "reason": st.get("reason", ""), "processing": bool(st.get("processing")),
            "presented": bool(st.get("presented")), "events": await common.events_for(kube, ch),
        })
    return summary, challenges


async def gather(kube: kube_client.Client, name: str, namespace: str) -> Obj:
    cert = await kube.get(r.CERTIFICATES, name, namespace)
    if cert is None:
        raise await common.not_found(kube, r.CERTIFICATES, name, namespace)
    meta, spec, status = common.meta(cert), common.section(cert, "spec"), common.section(cert, "status")
    doc: Obj = {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "createdAt": meta.get("creationTimestamp"),
        "ready": common.has_condition(cert, c.COND_READY),
        "conditions": [common.condition_json(x) for x in common.conditions(cert)],
        "dnsNames": list(spec.get("dnsNames") or ()),
        "events": await common.events_for(kube, cert),
        "issuer": await _issuer(kube, cert, namespace),
        "secret": await _secret(kube, cert, namespace),
        "notBefore": status.get("notBefore"),
        "notAfter": status.get("notAfter"),
        "renewalTime": status.get("renewalTime"),
        "revision": status.get("revision"),
    }
    for key in ("lastFailureTime", "failedIssuanceAttempts", "nextPrivateKeySecretName"):
        if key in status:
            doc[key] = status[key]
    request, req_obj = await _request(kube, cert, namespace)
    doc["certificateRequest"] = request
    doc["order"], doc["challenges"] = await _acme(kube, req_obj, namespace) if req_obj is not None else (None, [])
    return doc


def render(doc: Mapping[str, Any], at: dt.datetime) -> str:
    lines = [f"Name: {doc['name']}", f"Namespace: {doc['namespace']}", f"Created at: {doc['createdAt']}"]
    lines += common.condition_lines(doc["conditions"], "")
    lines += common.list_lines("DNS Names", doc["dnsNames"])
    lines += common.event_lines(doc["events"], "", at)
    issuer = doc["issuer"]
    lines += ["Issuer:", f"  Name: {issuer['name']}", f"  Kind: {issuer['kind']}"]
    if issuer.get("error"):
        lines.append(f"  Error: {issuer['error']}")
    else:
        lines.append(f"  Type: {issuer.get('type') or '<unknown>'}")
        lines += common.condition_lines(issuer["conditions"], "  ")
        lines += common.event_lines(issuer["events"], "  ", at)
    secret = doc["secret"]
    lines += ["Secret:", f"  Name: {secret['name']}"]
    if secret.get("error"):
        lines.append(f"  Error: {secret['error']}")
    crt = secret.get("certificate")
    if crt:
        issued_by = crt["issuer"]
        lines += [
            f"  Issuer Country: {', '.join(issued_by['countries'])}",
            f"  Issuer Organisation: {', '.join(issued_by['organizations'])}",
            f"  Issuer Common Name: {issued_by['commonName']}",
            f"  Key Usage: {', '.join(crt['keyUsages'])}",
            f"  Extended Key Usages: {', '.join(crt['extendedKeyUsages'])}",
            f"  Public Key Algorithm: {crt['publicKeyAlgorithm']}",
            f"  Signature Algorithm: {crt['signatureAlgorithm']}",
            f"  Subject Key ID: {crt['subjectKeyId']}",
            f"  Authority Key ID: {crt['authorityKeyId']}",
            f"  Serial Number: {crt['serialNumber']}",
            f"  Is a CA certificate: {str(crt['isCA']).lower()}",
            f"  DNS Names: {', '.join(crt['dnsNames']) or '<none>'}",
            f"  Validity: {crt['notBefore']} to {crt['notAfter']}",
        ]
    if "ca" in secret:
        lines.append(f"  CA (ca.crt): {'; '.join(secret['ca'])}")
    if "events" in secret:
        lines += common.event_lines(secret["events"], "  ", at)
    lines += [f"Not Before: {doc['notBefore'] or '<none>'}", f"Not After: {doc['notAfter'] or '<none>'}",
              f"Renewal Time: {doc['renewalTime'] or '<none>'}"]
    request = doc["certificateRequest"]
    if request is None:
        lines.append("No CertificateRequest found for this Certificate")
    else:
        lines += ["CertificateRequest:", f"  Name: {request['name']}", f"  Namespace: {request['namespace']}",
                  f"  Revision: {request['revision']} ({request['role']})"]
        if request.get("warning"):
            lines.append(f"  Warning: {request['warning']}")
        lines += common.condition_lines(request["conditions"], "  ")
        lines += common.event_lines(request["events"], "  ", at)
    order = doc["order"]
    if order is not None:
        lines += ["Order:", f"  Name: {order['name']}", f"  State: {order['state']}, Reason: {order['reason']}",
                  f"  URL: {order['url']}"]
        if order["authorizations"]:
            lines.append("  Authorizations:")
            for authz in order["authorizations"]:
                types = ", ".join(ch["type"] for ch in authz["challenges"])
                lines.append(f"    URL: {authz['url']}, Identifier: {authz['identifier']}, "
                             f"Initial State: {authz['initialState']}, Wildcard: {str(authz['wildcard']).lower()}"
                             + (f", Challenge types: {types}" if types else ""))
        else:
            lines.append("  Authorizations: <none>")
    if doc["challenges"]:
        lines.append("Challenges:")
        for ch in doc["challenges"]:
            lines.append(f"- Name: {ch['name']}, Type: {ch['type']}, Token: {ch['token']}, Key: {ch['key']}, "
                         f"State: {ch['state']}, Reason: {ch['reason']}, "
                         f"Processing: {str(ch['processing']).lower()}, Presented: {str(ch['presented']).lower()}")
    return "\n".join(line.rstrip() for line in lines)


def main(args: argparse.Namespace) -> int:
    async def command(kube: kube_client.Client, namespace: str) -> int:
        doc = await gather(kube, args.name, namespace)
        if args.output == "json":
            common.print_json(doc)
        else:
            print(render(doc, common.now()))
        return common.EXIT_OK

    return common.run(args, command)
