"""HTTP-01 solver resources (cert-manager `pkg/issuer/acme/http`, inventory §5.6): pure builders of the
solver Pod, Service and Ingress (or Gateway API HTTPRoute) for a Challenge, editing an existing Ingress in
place, and the self-check.

The Challenge controller creates what `pod`, `service` and `ingress` return (all `generateName:
cm-acme-http-solver-`, owned by the Challenge, labelled with the adler32 of domain and token), finds
them again by `selector_labels`, and deletes them on cleanup (or `remove_path` for an edited Ingress).
The Pod runs our own image's `issuer acmesolver` (the image is a parameter). `self_check` is the only
function here with I/O: one HTTP GET with aiohttp.
"""

from __future__ import annotations

import copy
import ipaddress
import zlib
from collections.abc import Mapping
from typing import Any

from issuer.api import constants as c
from issuer.api import types as t

GENERATE_NAME = "cm-acme-http-solver-"
SOLVER_PORT = 8089
CONTAINER_NAME = "acmesolver"
COMMAND = ("issuer", "acmesolver")
CHALLENGE_PATH = "/.well-known/acme-challenge/"
ANN_INGRESS_CLASS = "kubernetes.io/ingress.class"
ANN_WHITELIST = "nginx.ingress.kubernetes.io/whitelist-source-range"
WHITELIST_ALL = "0.0.0.0/0,::/0"
DEFAULT_SERVICE_TYPE = "NodePort"
_POD_SPEC_REPLACED = ("affinity", "tolerations", "priorityClassName", "serviceAccountName", "imagePullSecrets")
_POD_SECURITY_FIELDS = (
    "seLinuxOptions",
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "supplementalGroups",
    "fsGroup",
    "sysctls",
    "fsGroupChangePolicy",
    "seccompProfile",
)


def adler32(value: str) -> str:
    """Decimal adler32, as cert-manager labels solver resources (label values cannot hold a domain)."""
    return str(zlib.adler32(value.encode("utf-8")))


def selector_labels(challenge: t.Challenge) -> dict[str, str]:
    """The three labels that identify a Challenge's solver Pod/Service/Ingress (also the Service selector)."""
    return {
        c.LABEL_HTTP_DOMAIN: adler32(challenge.spec.dns_name),
        c.LABEL_HTTP_TOKEN: adler32(challenge.spec.token),
        c.LABEL_HTTP01_SOLVER: "true",
    }


def owner_reference(challenge: t.Challenge) -> dict[str, Any]:
    return {
        "apiVersion": c.ACME_API_VERSION,
        "kind": c.CHALLENGE,
        "name": challenge.metadata.name,
        "uid": challenge.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _ingress_solver(challenge: t.Challenge) -> t.HTTP01Ingress:
    http = challenge.spec.solver.http01
    return http.ingress if http is not None and http.ingress is not None else t.HTTP01Ingress()


def _gateway_solver(challenge: t.Challenge) -> dict[str, Any] | None:
    http = challenge.spec.solver.http01
    route = http.gateway_http_route if http is not None else None
    return route if isinstance(route, dict) else None


def _pod_template(challenge: t.Challenge) -> t.PodTemplate | None:
    """The podTemplate of the solver: from `ingress`, or from `gatewayHTTPRoute`."""
    route = _gateway_solver(challenge)
    if route is not None:
        raw = route.get("podTemplate")
        if not isinstance(raw, dict):
            return None
        try:
            return t.PodTemplate.from_wire(raw)
        except ValueError:
            return None
    return _ingress_solver(challenge).pod_template


def _service_type(challenge: t.Challenge) -> str:
    route = _gateway_solver(challenge)
    if route is not None:
        value = route.get("serviceType")
        return value if isinstance(value, str) and value else DEFAULT_SERVICE_TYPE
    return _ingress_solver(challenge).service_type or DEFAULT_SERVICE_TYPE


def _labels(challenge: t.Challenge, extra_labels: Mapping[str, str]) -> dict[str, str]:
    """Extra labels first; they cannot override the three selector labels."""
    return {**extra_labels, **selector_labels(challenge)}


def _meta(challenge: t.Challenge, labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "generateName": GENERATE_NAME,
        "namespace": challenge.metadata.namespace,
        "labels": labels,
        "annotations": annotations,
        "ownerReferences": [owner_reference(challenge)],
    }


def pod(
    challenge: t.Challenge,
    image: str,
    *,
    run_as_non_root: bool = True,
    extra_labels: Mapping[str, str] | None = None,
    command: tuple[str, ...] = COMMAND,
) -> dict[str, Any]:
    """The solver Pod: `issuer acmesolver --listen-port=8089 --domain=<d> --token=<t> --key=<k>`,
    hardened, with the solver's podTemplate merged on top."""
    spec = challenge.spec
    labels = _labels(challenge, extra_labels or {})
    annotations = {"sidecar.istio.io/inject": "false", "cluster-autoscaler.kubernetes.io/safe-to-evict": "true"}
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta(challenge, labels, annotations),
        "spec": {
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "restartPolicy": "OnFailure",
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": {"runAsNonRoot": run_as_non_root, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": CONTAINER_NAME,
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": list(command),
                    "args": [
                        f"--listen-port={SOLVER_PORT}",
                        f"--domain={spec.dns_name}",
                        f"--token={spec.token}",
                        f"--key={spec.key}",
                    ],
                    "resources": {
                        "requests": {"cpu": "10m", "memory": "64Mi"},
                        "limits": {"cpu": "100m", "memory": "64Mi"},
                    },
                    "ports": [{"name": "http", "containerPort": SOLVER_PORT}],
                    "securityContext": {
                        "readOnlyRootFilesystem": True,
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }
    template = _pod_template(challenge)
    if template is not None:
        _merge_pod_template(body, template, selector_labels(challenge))
    return body


def _merge_pod_template(body: dict[str, Any], template: t.PodTemplate, fixed: Mapping[str, str]) -> None:
    meta = body["metadata"]
    if template.metadata is not None:
        meta["labels"] = {**meta["labels"], **template.metadata.labels, **fixed}
        meta["annotations"] = {**meta["annotations"], **template.metadata.annotations}
    tspec = template.spec if isinstance(template.spec, dict) else {}
    spec = body["spec"]
    if isinstance(tspec.get("nodeSelector"), dict):
        spec["nodeSelector"] = {**spec["nodeSelector"], **tspec["nodeSelector"]}
    for key in _POD_SPEC_REPLACED:
        if tspec.get(key):
            spec[key] = copy.deepcopy(tspec[key])
    if isinstance(tspec.get("securityContext"), dict):
        for key in _POD_SECURITY_FIELDS:
            if key in tspec["securityContext"]:
                spec["securityContext"][key] = copy.deepcopy(tspec["securityContext"][key])
    if isinstance(tspec.get("resources"), dict):
        resources = spec["containers"][0]["resources"]
        for kind in ("requests", "limits"):
            if isinstance(tspec["resources"].get(kind), dict):
                resources[kind] = {**resources[kind], **tspec["resources"][kind]}


def service(challenge: t.Challenge, *, extra_labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The solver Service: port 8089 -> 8089, selecting the solver Pod; type NodePort unless serviceType."""
    labels = _labels(challenge, extra_labels or {})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(challenge, labels, {"auth.istio.io/8089": "NONE"}),
        "spec": {
            "type": _service_type(challenge),
            "ports": [{"name": "http", "port": SOLVER_PORT, "targetPort": SOLVER_PORT}],
            "selector": selector_labels(challenge),
        },
    }


def http_host(challenge: t.Challenge) -> str:
    """The Ingress rule host: the domain, or "" for IP identifiers (hosts cannot be IPs)."""
    try:
        ipaddress.ip_address(challenge.spec.dns_name)
    except ValueError:
        return challenge.spec.dns_name
    return ""


def challenge_path(token: str) -> str:
    return CHALLENGE_PATH + token


def ingress_path(challenge: t.Challenge, service_name: str, *, path_type: str = "Exact") -> dict[str, Any]:
    return {
        "path": challenge_path(challenge.spec.token),
        "pathType": path_type,
        "backend": {"service": {"name": service_name, "port": {"number": SOLVER_PORT}}},
    }


def ingress(
    challenge: t.Challenge,
    service_name: str,
    *,
    extra_labels: Mapping[str, str] | None = None,
    path_type: str = "Exact",
) -> dict[str, Any]:
    """A new solver Ingress routing the challenge path on the domain to `service_name`."""
    solver = _ingress_solver(challenge)
    labels = _labels(challenge, extra_labels or {})
    annotations = {ANN_WHITELIST: WHITELIST_ALL}
    if solver.class_:
        annotations[ANN_INGRESS_CLASS] = solver.class_
    spec: dict[str, Any] = {}
    if solver.ingress_class_name:
        spec["ingressClassName"] = solver.ingress_class_name
    rule: dict[str, Any] = {"http": {"paths": [ingress_path(challenge, service_name, path_type=path_type)]}}
    host = http_host(challenge)
    if host:
        rule = {"host": host, **rule}
    spec["rules"] = [rule]
    body: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(challenge, labels, annotations),
        "spec": spec,
    }
    template = solver.ingress_template
    if template is not None and template.metadata is not None:
        meta = body["metadata"]
        meta["labels"] = {**meta["labels"], **template.metadata.labels, **selector_labels(challenge)}
        extra = template.metadata.annotations
        if any(k.endswith("/whitelist-source-range") for k in extra):
            meta["annotations"].pop(ANN_WHITELIST, None)
        meta["annotations"] = {**meta["annotations"], **extra}
    return body


def http_route(
    challenge: t.Challenge, service_name: str, *, extra_labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The solver HTTPRoute of a `gatewayHTTPRoute` solver: the route's labels, its parentRefs, the domain
    as hostname, an Exact match on the challenge path to the solver Service on 8089."""
    route = _gateway_solver(challenge) or {}
    route_labels: dict[str, Any] = route["labels"] if isinstance(route.get("labels"), dict) else {}
    labels = {**{str(k): str(v) for k, v in route_labels.items()}, **_labels(challenge, extra_labels or {})}
    meta = _meta(challenge, labels, {})
    del meta["annotations"]
    spec: dict[str, Any] = {
        "parentRefs": copy.deepcopy(route.get("parentRefs") or []),
        "rules": [{
            "matches": [{"path": {"type": "Exact", "value": challenge_path(challenge.spec.token)}}],
            "backendRefs": [{"group": "", "kind": "Service", "name": service_name, "port": SOLVER_PORT,
                             "weight": 1}],
        }],
    }
    host = http_host(challenge)
    if host:
        spec["hostnames"] = [host]
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": meta, "spec": spec}


def add_path(
    existing: Mapping[str, Any], challenge: t.Challenge, service_name: str, *, path_type: str = "Exact"
) -> dict[str, Any]:
    """A copy of an existing Ingress with the challenge path added under the domain's rule (edit in place):
    an existing path of the same value is replaced, a missing rule for the host is appended."""
    body = copy.deepcopy(dict(existing))
    spec = body.setdefault("spec", {})
    rules: list[dict[str, Any]] = spec.setdefault("rules", [])
    host = http_host(challenge)
    new_path = ingress_path(challenge, service_name, path_type=path_type)
    for rule in rules:
        if rule.get("host", "") != host:
            continue
        paths: list[dict[str, Any]] = rule.setdefault("http", {}).setdefault("paths", [])
        for i, path in enumerate(paths):
            if path.get("path") == new_path["path"]:
                paths[i] = new_path
                return body
        paths.append(new_path)
        return body
    rule = {"http": {"paths": [new_path]}}
    rules.append({"host": host, **rule} if host else rule)
    return body


def remove_path(existing: Mapping[str, Any], challenge: t.Challenge) -> dict[str, Any]:
    """A copy of an edited-in-place Ingress without the challenge path (a rule left empty is dropped)."""
    body = copy.deepcopy(dict(existing))
    spec = body.get("spec") or {}
    host = http_host(challenge)
    wanted = challenge_path(challenge.spec.token)
    kept: list[dict[str, Any]] = []
    for rule in spec.get("rules") or []:
        if rule.get("host", "") == host and isinstance(rule.get("http"), dict):
            paths = [p for p in rule["http"].get("paths") or [] if p.get("path") != wanted]
            if not paths:
                continue
            rule["http"]["paths"] = paths
        kept.append(rule)
    if "rules" in spec:
        spec["rules"] = kept
    return body


def has_path(existing: Mapping[str, Any], challenge: t.Challenge) -> bool:
    host = http_host(challenge)
    wanted = challenge_path(challenge.spec.token)
    for rule in (existing.get("spec") or {}).get("rules") or []:
        if rule.get("host", "") == host:
            for path in (rule.get("http") or {}).get("paths") or []:
                if path.get("path") == wanted:
                    return True
    return False


async def self_check(
    url_host: str,
    token: str,
    key: str,
    timeout: float = 10.0,
    *,
    connect_to: tuple[str, int] | None = None,
) -> tuple[bool, str]:
    """GET http://<url_host>/.well-known/acme-challenge/<token> (redirects followed, TLS not verified):
    (True, "") when it answers 200 with exactly `key`, else (False, why).

    `connect_to` (address, port) sends the request there with `Host: url_host` (tests, custom resolvers).
    """
    import aiohttp

    path = challenge_path(token)
    headers: dict[str, str] = {}
    url = f"http://{url_host}{path}"
    if connect_to is not None:
        address, port = connect_to
        shown = f"[{address}]" if ":" in address else address
        url = f"http://{shown}:{port}{path}"
        headers["Host"] = url_host
    try:
        client_timeout = aiohttp.ClientTimeout(total=timeout)
        async with (
            aiohttp.ClientSession(timeout=client_timeout) as session,
            session.get(url, headers=headers, allow_redirects=True, ssl=False) as resp,
        ):
            body = await resp.text(errors="replace")
            status = resp.status
    except (aiohttp.ClientError, TimeoutError, OSError) as err:
        return False, f"failed to perform self check GET request '{url}': {type(err).__name__}: {err}"
    if status != 200:
        return False, f"wrong status code '{status}', expected '200'"
    if body.strip() != key:
        return False, f"did not get expected response when querying endpoint, expected {key!r} but got: {body[:100]!r}"
    return True, ""
