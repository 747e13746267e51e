"""RBAC rules of rendered manifests as sets, so tests can compare what the controller is granted with what
it uses. `granted_rules(rendered)` flattens the (Cluster)Roles bound to the controller's ServiceAccount
into (apiGroup, resource, verb) triples, subresources spelled `certificates/status`; `role_rules` does the
same for one named role; `allows` honours the `*` wildcards RBAC permits. Input is the multi-document
YAML of `kubectl kustomize manifests/`. Used by tests/apiserver/test_manifests.py and later by tests
that record the verbs the operator actually sends."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

Rule = tuple[str, str, str]
"""(apiGroup, resource[/subresource], verb); the core group is ""."""

ROLE_KINDS = ("Role", "ClusterRole")
BINDING_KINDS = ("RoleBinding", "ClusterRoleBinding")


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the CRDs make the stream ~6000 lines


def documents(rendered_yaml: str) -> list[dict[str, Any]]:
    """The non-empty YAML documents of a rendered manifest stream."""
    return [doc for doc in yaml.load_all(rendered_yaml, Loader=_Loader) if doc]


def flatten(rules: Iterable[Mapping[str, Any]]) -> set[Rule]:
    """The (group, resource, verb) triples of a list of PolicyRules (resourceNames are not kept; rules
    with only nonResourceURLs give nothing)."""
    out: set[Rule] = set()
    for rule in rules:
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                for verb in rule.get("verbs") or []:
                    out.add((str(group), str(resource), str(verb)))
    return out


def role_rules(rendered_yaml: str, kind: str, name: str, namespace: str | None = None) -> set[Rule]:
    """The triples of one Role or ClusterRole; KeyError if it is not in the manifests."""
    for doc in documents(rendered_yaml):
        meta = doc.get("metadata") or {}
        if (
            doc.get("kind") == kind
            and meta.get("name") == name
            and (namespace is None or meta.get("namespace") == namespace)
        ):
            return flatten(doc.get("rules") or [])
    raise KeyError(f"{kind} {name} is not in the rendered manifests")


def granted_rules(rendered_yaml: str, service_account: str = "issuer", namespace: str | None = None) -> set[Rule]:
    """Everything granted to ServiceAccount `service_account` (in `namespace`, or any namespace) through
    the RoleBindings and ClusterRoleBindings in the manifests. Namespace scoping of RoleBindings is
    flattened away: a rule granted only in one namespace still shows up."""
    docs = documents(rendered_yaml)
    roles: dict[tuple[str, str | None, str], list[Mapping[str, Any]]] = {}
    for doc in docs:
        if doc.get("kind") in ROLE_KINDS:
            meta = doc.get("metadata") or {}
            scope = meta.get("namespace") if doc["kind"] == "Role" else None
            roles[(doc["kind"], scope, meta.get("name", ""))] = doc.get("rules") or []
    out: set[Rule] = set()
    for doc in docs:
        if doc.get("kind") not in BINDING_KINDS:
            continue
        if not any(
            subject.get("kind") == "ServiceAccount"
            and subject.get("name") == service_account
            and (namespace is None or subject.get("namespace") == namespace)
            for subject in doc.get("subjects") or []
        ):
            continue
        ref = doc.get("roleRef") or {}
        scope = (doc.get("metadata") or {}).get("namespace") if ref.get("kind") == "Role" else None
        key = (str(ref.get("kind", "")), scope, str(ref.get("name", "")))
        if key not in roles:
            raise KeyError(
                f"{doc['kind']} {doc['metadata']['name']} refers to {key[0]} {key[2]}, which the "
                f"manifests do not define"
            )
        out |= flatten(roles[key])
    return out


def allows(rules: Iterable[Rule], group: str, resource: str, verb: str) -> bool:
    """Whether the triples permit `verb` on `group`/`resource`, with RBAC's `*` wildcards."""
    return any(g in ("*", group) and r in ("*", resource) and v in ("*", verb) for g, r, v in rules)


# -- what the operator used, over the whole test session ----------------------------------------------------
OPERATOR_AGENTS = ("issuer/", "kopf/")
OPERATOR_USER = "system:serviceaccount:cert-manager:issuer"  # the operator's identity on a real server


class UseRecord:
    """The (group, resource, verb) triples the operator sent to every API server of the session: embedded
    ones from their request logs, real ones from their audit logs (where the real RBAC authorizer's
    refusals are kept in `denied`). Clusters register when they start (`track`, `track_plane`) and are
    folded in when they close or when asked (`used`), so a session-scoped cluster still open at the end
    counts too; `tiers` says which test tiers ran one."""

    def __init__(self) -> None:
        self._used: set[Rule] = set()
        self._live: list[Any] = []
        self.tiers: set[str] = set()
        self.denied: set[Rule] = set()  # what the real authorizer refused the operator
        self.real_planes: set[int] = set()  # the real control planes whose audit logs were read

    def track(self, server: Any) -> None:
        current = os.environ.get("PYTEST_CURRENT_TEST", "")
        parts = current.split("::", 1)[0].split("/")
        if len(parts) > 2 and parts[0] == "tests":
            self.tiers.add(parts[1])
        self._live.append(server)

    def fold(self, server: Any) -> None:
        """Take in a cluster's request log and stop tracking it (its server may be dropped afterwards)."""
        for rec in list(server.request_log):
            if not rec.user_agent.startswith(OPERATOR_AGENTS) or not rec.verb or not rec.resource:
                continue
            group = group_of(rec.path)
            if group is not None:
                self._used.add((group, rec.resource, rec.verb))
        if server in self._live:
            self._live.remove(server)

    def track_plane(self, plane: Any) -> None:
        """A real control plane (tests/realkube.py) whose audit log `used` reads."""
        self.track(plane)

    def fold_audit(self, plane: Any, user: str = OPERATOR_USER) -> None:
        """Take in what `user` sent to a real control plane, from its audit log, and stop tracking it; a
        request the real authorizer refused (403) is kept in `denied`."""
        if plane in self._live:
            self._live.remove(plane)
        self.real_planes.add(id(plane))
        for event in plane.audit_events():
            if (event.get("user") or {}).get("username") != user:
                continue
            ref = event.get("objectRef") or {}
            if not ref.get("resource"):
                continue
            resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
            rule = (ref.get("apiGroup") or "", resource, event.get("verb") or "")
            self._used.add(rule)
            if (event.get("responseStatus") or {}).get("code") == 403:
                self.denied.add(rule)

    def used(self) -> set[Rule]:
        for source in list(self._live):
            if hasattr(source, "audit_events"):
                self.fold_audit(source)
            else:
                self.fold(source)
        return set(self._used)


def group_of(path: str) -> str | None:
    parts = path.strip("/").split("/")
    if parts[:1] == ["api"]:
        return ""
    if parts[:1] == ["apis"] and len(parts) >= 3:
        return parts[1]
    return None


USE = UseRecord()
