"""Which of an ACME Issuer's solvers answers an authorization (cert-manager `pkg/controller/acmeorders`
solver picking and `selectors`, inventory §5.5), and the Order annotations that override the chosen
HTTP-01 solver. Pure; called by the Order controller when it creates Challenges.

Only solvers whose type (http-01 / dns-01) the authorization offers are considered. A solver with a
selector must match on all three parts (an empty part matches with score 0): `matchLabels` against the
Order's labels (all required; score = their number), `dnsNames` (exact, with `*.` for wildcard
authorizations; score 1), `dnsZones` (the domain is the zone or under it; score = the most labels of a
matching zone). Among matches: a dnsNames match beats none, then more specific zones, then more labels;
ties go to the earlier solver. A selector-less solver matches everything with the lowest priority: the
first one is used only when no selector matched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence

from issuer.api import constants as c
from issuer.api import types as t

HTTP01 = "http-01"
DNS01 = "dns-01"
ANN_PARENT_REF_NAME = "acme.cert-manager.io/http01-parentrefname"
ANN_PARENT_REF_KIND = "acme.cert-manager.io/http01-parentrefkind"
ANN_PARENT_REF_NAMESPACE = "acme.cert-manager.io/http01-parentrefnamespace"


@dataclasses.dataclass(frozen=True)
class Choice:
    index: int  # position in spec.acme.solvers
    solver: t.ACMESolver
    challenge_type: str  # "http-01" or "dns-01"


def solver_type(solver: t.ACMESolver) -> str:
    if solver.http01 is not None:
        return HTTP01
    if solver.dns01 is not None:
        return DNS01
    return ""


def _score(
    selector: t.CertificateDNSNameSelector, domain: str, labels: Mapping[str, str]
) -> tuple[int, int, int] | None:
    """(dnsNames match, zone labels, matched labels), or None when the selector does not match."""
    if any(labels.get(k) != v for k, v in selector.match_labels.items()):
        return None
    label_score = len(selector.match_labels)
    names_score = 0
    if selector.dns_names:
        if domain not in selector.dns_names:
            return None
        names_score = 1
    zone_score = 0
    if selector.dns_zones:
        matching = [z for z in selector.dns_zones if domain == z or domain.endswith("." + z)]
        if not matching:
            return None
        zone_score = max(len(z.split(".")) for z in matching)
    return names_score, zone_score, label_score


def select(
    solvers: Sequence[t.ACMESolver],
    domain: str,
    wildcard: bool,
    order_labels: Mapping[str, str],
    offered: Collection[str],
) -> Choice | None:
    """The solver for an authorization of `domain` (the non-wildcard identifier) offering `offered` types."""
    target = f"*.{domain}" if wildcard and not domain.startswith("*.") else domain
    best: Choice | None = None
    best_score: tuple[int, int, int] | None = None
    fallback: Choice | None = None
    for index, solver in enumerate(solvers):
        kind = solver_type(solver)
        if not kind or kind not in offered:
            continue
        if solver.selector is None:
            if fallback is None:
                fallback = Choice(index, solver, kind)
            continue
        score = _score(solver.selector, target, order_labels)
        if score is None:
            continue
        if best_score is None or score > best_score:
            best, best_score = Choice(index, solver, kind), score
    return best if best is not None else fallback


def apply_overrides(solver: t.ACMESolver, order_annotations: Mapping[str, str]) -> t.ACMESolver:
    """The solver after the Order's HTTP-01 override annotations (ingress name/class/ingressClassName,
    gateway parentRef); at most one ingress override applies and it clears the other two fields."""
    http = solver.http01
    if http is None:
        return solver
    if http.ingress is not None:
        name = order_annotations.get(c.ANN_HTTP01_OVERRIDE_INGRESS_NAME)
        klass = order_annotations.get(c.ANN_HTTP01_OVERRIDE_INGRESS_CLASS)
        class_name = order_annotations.get(c.ANN_HTTP01_OVERRIDE_INGRESS_INGRESSCLASSNAME)
        ingress = http.ingress
        if name is not None:
            ingress = dataclasses.replace(ingress, name=name, class_=None, ingress_class_name=None)
        elif klass is not None:
            ingress = dataclasses.replace(ingress, name="", class_=klass, ingress_class_name=None)
        elif class_name is not None:
            ingress = dataclasses.replace(ingress, name="", class_=None, ingress_class_name=class_name)
        if ingress is not http.ingress:
            return dataclasses.replace(solver, http01=dataclasses.replace(http, ingress=ingress))
        return solver
    route = http.gateway_http_route
    ref_name = order_annotations.get(ANN_PARENT_REF_NAME)
    ref_kind = order_annotations.get(ANN_PARENT_REF_KIND)
    if isinstance(route, dict) and ref_name and ref_kind:
        ref: dict[str, str] = {"name": ref_name, "kind": ref_kind}
        namespace = order_annotations.get(ANN_PARENT_REF_NAMESPACE)
        if namespace:
            ref["namespace"] = namespace
        new_route = {**route, "parentRefs": [ref]}
        return dataclasses.replace(solver, http01=dataclasses.replace(http, gateway_http_route=new_route))
    return solver
