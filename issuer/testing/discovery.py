"""Discovery and OpenAPI documents of the embedded API server, built from the `Registry`: the legacy
discovery answers (`APIVersions` at /api, `APIGroupList` at /apis, `APIGroup`, `APIResourceList`), the
/version answer, and the /openapi/v3 index plus one OpenAPI 3 document per group/version. Each document
has PUT and PATCH operations per resource carrying `x-kubernetes-group-version-kind` and a
`fieldValidation` query parameter (kubectl needs both to validate on the server), and publishes CR
schemas under `components.schemas`. Documents are cached per registry revision and their `hash` changes
whenever their content does, since kubectl caches them by URL."""

from __future__ import annotations

import hashlib
from typing import Any

from issuer.testing.resources import Registry, Resource
from issuer.testing.store import dumps

VERSION_INFO: dict[str, str] = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.4", "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335",
    "gitTreeState": "clean", "buildDate": "2025-04-22T16:02:27Z", "goVersion": "go1.23.6", "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def api_group(registry: Registry, group: str) -> dict[str, Any] | None:
    versions = registry.versions(group)
    if not versions:
        return None
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(registry: Registry) -> dict[str, Any]:
    groups = []
    for group in registry.groups():
        doc = api_group(registry, group)
        if doc is not None:
            groups.append(doc)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group_doc(registry: Registry, group: str) -> dict[str, Any] | None:
    doc = api_group(registry, group)
    if doc is None:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **doc}


def resource_list(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    resources = registry.by_gv.get((group, version))
    if resources is None:
        return None
    entries: list[dict[str, Any]] = []
    for res in sorted(resources.values(), key=lambda r: r.plural):
        entries.extend(res.discovery_entries())
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": entries}


AGGREGATED_CT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def wants_aggregated(accept: str) -> bool:
    """Whether an Accept header asks for aggregated discovery (apidiscovery.k8s.io/v2)."""
    return any("as=APIGroupDiscoveryList" in part and "g=apidiscovery.k8s.io" in part and "v=v2" in part
               and "v=v2beta1" not in part for part in accept.split(","))


def _resource_discovery(res: Resource) -> dict[str, Any]:
    # kube-apiserver leaves group and version empty in a built-in kind's responseKind (CRDs spell them out)
    kind = {"group": "" if res.builtin else res.group, "version": "" if res.builtin else res.version,
            "kind": res.kind}
    out: dict[str, Any] = {"resource": res.plural, "responseKind": kind,
                           "scope": "Namespaced" if res.namespaced else "Cluster",
                           "singularResource": res.singular, "verbs": list(res.verbs)}
    if res.short_names:
        out["shortNames"] = list(res.short_names)
    if res.categories:
        out["categories"] = list(res.categories)
    if res.status:
        out["subresources"] = [{"subresource": "status", "responseKind": kind, "verbs": ["get", "patch", "update"]}]
    return out


def aggregated(registry: Registry, core: bool) -> dict[str, Any]:
    """The aggregated discovery document of /api (core) or /apis (all named groups)."""
    items = []
    for group in [""] if core else registry.groups():
        versions = []
        for version in registry.versions(group):
            resources = registry.by_gv.get((group, version), {})
            versions.append({"version": version, "freshness": "Current",
                             "resources": [_resource_discovery(r)
                                           for r in sorted(resources.values(), key=lambda r: r.plural)]})
        if versions:
            items.append({"metadata": {"name": group} if group else {}, "versions": versions})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
            "items": items}


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _schema_name(res: Resource) -> str:
    group = ".".join(reversed(res.group.split("."))) if res.group else "io.k8s.api.core"
    return f"{group}.{res.version}.{res.kind}"


_STRING_PARAM: dict[str, Any] = {"type": "string", "uniqueItems": True}


def _param(name: str, description: str, where: str = "query", required: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "in": where, "description": description, "schema": _STRING_PARAM}
    if required:
        out["required"] = True
    return out


def _operation(res: Resource, action: str, op_id: str, *, patch: bool = False) -> dict[str, Any]:
    gvk = {"group": res.group, "version": res.version, "kind": res.kind}
    params = [
        _param("dryRun", "When present, indicates that modifications should not be persisted."),
        _param("fieldManager", "fieldManager is a name associated with the actor or entity that is making "
                               "these changes."),
        _param("fieldValidation", "fieldValidation instructs the server on how to handle objects in the "
                                  "request (POST/PUT/PATCH) containing unknown or duplicate fields."),
    ]
    if patch:
        params.append({"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": True}})
    ref = {"$ref": f"#/components/schemas/{_schema_name(res)}"}
    body_types = (["application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json"]
                  + (["application/strategic-merge-patch+json"] if res.builtin else [])) if patch \
        else ["*/*"]
    return {
        "tags": [res.group or "core"], "operationId": op_id, "parameters": params,
        "requestBody": {"content": {t: {"schema": {"type": "object"} if patch else ref} for t in body_types},
                        "required": True},
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}},
                      "201": {"description": "Created", "content": {"application/json": {"schema": ref}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    }


def _object_schema(res: Resource) -> dict[str, Any]:
    gvk = [{"group": res.group, "version": res.version, "kind": res.kind}]
    if res.schema is not None:
        out = dict(res.schema)
        props = dict(out.get("properties") or {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
        out["properties"] = props
        out["type"] = "object"
    else:
        out = {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
               "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                              "metadata": {"type": "object"}}}
    out["x-kubernetes-group-version-kind"] = gvk
    return out


def openapi_gv(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    resources = registry.by_gv.get((group, version))
    if resources is None:
        return None
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    for res in sorted(resources.values(), key=lambda r: r.plural):
        ns_part = "/namespaces/{namespace}" if res.namespaced else ""
        item = f"{prefix}{ns_part}/{res.plural}/{{name}}"
        op = res.kind
        paths[f"{prefix}{ns_part}/{res.plural}"] = {
            "post": _operation(res, "post", f"create{op}"),
        }
        paths[item] = {
            "put": _operation(res, "put", f"replace{op}"),
            "patch": _operation(res, "patch", f"patch{op}", patch=True),
            "parameters": [_param("name", f"name of the {res.kind}", "path", True)]
            + ([_param("namespace", "object name and auth scope", "path", True)] if res.namespaced else []),
        }
        if res.status:
            paths[item + "/status"] = {
                "put": _operation(res, "put", f"replace{op}Status"),
                "patch": _operation(res, "patch", f"patch{op}Status", patch=True),
            }
        schemas[_schema_name(res)] = _object_schema(res)
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": VERSION_INFO["gitVersion"]},
            "paths": paths, "components": {"schemas": schemas}}


class OpenAPICache:
    """Caches the encoded per-GV documents and their hashes for one registry revision."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._revision = -1
        self._docs: dict[str, bytes] = {}
        self._hashes: dict[str, str] = {}

    def _refresh(self) -> None:
        if self._revision == self.registry.revision:
            return
        docs: dict[str, bytes] = {}
        hashes: dict[str, str] = {}
        for group, version in sorted(self.registry.by_gv):
            doc = openapi_gv(self.registry, group, version)
            if doc is None:
                continue
            raw = dumps(doc)
            path = _gv_path(group, version)
            docs[path] = raw
            hashes[path] = hashlib.sha512(raw).hexdigest().upper()
        self._docs, self._hashes, self._revision = docs, hashes, self.registry.revision

    def index(self) -> dict[str, Any]:
        self._refresh()
        return {"paths": {p: {"serverRelativeURL": f"/openapi/v3/{p}?hash={h}"} for p, h in self._hashes.items()}}

    def document(self, path: str) -> tuple[bytes, str] | None:
        self._refresh()
        raw = self._docs.get(path)
        return None if raw is None else (raw, self._hashes[path])
