"""The resource registry of the embedded API server: one `Resource` per served group/version/plural
(kind, scope, short names, verbs, status subresource, printer columns, extra field selectors), the
built-in kinds it knows at start (core v1, events.k8s.io, coordination, networking, rbac, apps,
apiextensions, admissionregistration's ValidatingAdmissionPolicy and its binding) and the conversion of a
CustomResourceDefinition into served `Resource`s. The engine, the discovery documents and the table
printer all read from the same `Registry`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

ALL_VERBS: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

Obj = dict[str, Any]
StoreKey = tuple[str, str]  # (group, plural) of the storage bucket


@dataclasses.dataclass(frozen=True)
class Column:
    """A Table column: `cell` computes the value from the (served) object."""

    name: str
    type: str
    cell: Callable[[Obj], Any]
    format: str = ""
    description: str = ""
    priority: int = 0

    def definition(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "format": self.format,
                "description": self.description, "priority": self.priority}


@dataclasses.dataclass
class Resource:
    """One served group/version/plural."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    status: bool = False
    generation: bool = False
    builtin: bool = True
    return_deleted_object: bool = False
    columns: tuple[Column, ...] | None = None  # None: Name + Age
    printer_columns: tuple[dict[str, Any], ...] = ()  # CRD additionalPrinterColumns
    field_selectors: frozenset[str] = frozenset()
    store_group: str | None = None  # storage bucket group, when it differs (events.k8s.io)
    storage_version: str = ""  # the version objects are stored in (CRDs)
    schema: dict[str, Any] | None = None  # openAPIV3Schema for CRs
    crd_name: str = ""
    served: bool = True
    list_kind_name: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def store_api_version(self) -> str:
        group = self.group if self.store_group is None else self.store_group
        version = self.storage_version or self.version
        return f"{group}/{version}" if group else version

    @property
    def store_key(self) -> StoreKey:
        return (self.group if self.store_group is None else self.store_group, self.plural)

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def list_kind(self) -> str:
        return self.list_kind_name or self.kind + "List"

    def discovery_entries(self) -> list[dict[str, Any]]:
        entry: dict[str, Any] = {
            "name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
            "kind": self.kind, "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        entries = [entry]
        if self.status:
            entries.append({"name": f"{self.plural}/status", "singularName": "", "namespaced": self.namespaced,
                            "kind": self.kind, "verbs": ["get", "patch", "update"]})
        return entries


def _get(obj: Obj, *path: str) -> Any:
    cur: Any = obj
    for part in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _age(obj: Obj) -> Any:
    return {"$date": _get(obj, "metadata", "creationTimestamp")}


def _name(obj: Obj) -> Any:
    return _get(obj, "metadata", "name")


# descriptions and types as kube-apiserver v1.37 answers them (built-in tables render ages as strings)
NAME = Column("Name", "string", _name, "name", (
    "Name must be unique within a namespace. Is required when creating resources, although some resources may "
    "allow a client to request the generation of an appropriate name automatically. Name is primarily intended "
    "for creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"))
_CREATED = ("CreationTimestamp is a timestamp representing the server time when this object was created. It is "
            "not guaranteed to be set in happens-before order across separate operations. Clients may not set this "
            "value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for "
            "lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
            "#metadata")
AGE = Column("Age", "string", _age, "", _CREATED)
CR_AGE = Column("Age", "date", _age, "", _CREATED)  # a CRD without printer columns: kubectl renders the date


def _event_first_seen(obj: Obj) -> Any:
    return {"$date": obj.get("firstTimestamp") or obj.get("eventTime")}


def _event_last_seen(obj: Obj) -> Any:
    series = obj.get("series")
    if isinstance(series, dict) and series.get("lastObservedTime"):
        return {"$date": series["lastObservedTime"]}
    return {"$date": obj.get("lastTimestamp") or obj.get("firstTimestamp") or obj.get("eventTime")}


def _event_count(obj: Obj) -> Any:
    series = obj.get("series")
    if isinstance(series, dict) and series.get("count"):
        return series["count"]
    return obj.get("count") or 1


def _event_source(obj: Obj) -> Any:
    source: dict[str, Any] = obj["source"] if isinstance(obj.get("source"), dict) else {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    instance = source.get("host") or obj.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else component


def _event_object(obj: Obj) -> Any:
    io = obj.get("involvedObject") or {}
    kind = str(io.get("kind") or "").lower()
    return f"{kind}/{io.get('name', '')}"


def _data_count(obj: Obj) -> Any:
    return len(obj.get("data") or {})


def _crd_created(obj: Obj) -> Any:
    return _get(obj, "metadata", "creationTimestamp")


def _crd_versions(obj: Obj) -> Any:
    versions = _get(obj, "spec", "versions") or []
    return ",".join(f"{v.get('name')}(storage)" if v.get("storage") else str(v.get("name"))
                    for v in versions if isinstance(v, dict) and v.get("served", True))


def _crd_established(obj: Obj) -> Any:
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in _get(obj, "status", "conditions") or [] if isinstance(c, dict))


SECRET_COLUMNS = (NAME, Column("Type", "string", lambda o: o.get("type"), "", (
    "Used to facilitate programmatic handling of secret data. More info: "
    "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types")),
    Column("Data", "string", _data_count, "", (
        "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The "
        "serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly "
        "non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4")), AGE)
NAMESPACE_COLUMNS = (NAME, Column("Status", "string", lambda o: _get(o, "status", "phase"), "",
                                  "The status of the namespace"), AGE)
EVENT_COLUMNS = (
    Column("Last Seen", "string", _event_last_seen, "",
           "The time at which the most recent occurrence of this event was recorded."),
    Column("Type", "string", lambda o: o.get("type"), "",
           "Type of this event (Normal, Warning), new types could be added in the future"),
    Column("Reason", "string", lambda o: o.get("reason"), "",
           "This should be a short, machine understandable string that gives the reason for the transition into "
           "the object's current status."),
    Column("Object", "string", _event_object, "", "The object that this event is about."),
    Column("Subobject", "string", lambda o: _get(o, "involvedObject", "fieldPath") or "", "", (
        "If referring to a piece of an object instead of an entire object, this string should contain a valid "
        "JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object "
        "reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" "
        "(where \"name\" refers to the name of the container that triggered the event) or if no container name is "
        "specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have "
        "some well-defined way of referencing a part of an object."), 1),
    Column("Source", "string", _event_source, "",
           "The component reporting this event. Should be a short machine understandable string.", 1),
    Column("Message", "string", lambda o: o.get("message"), "",
           "A human-readable description of the status of this operation."),
    Column("First Seen", "string", _event_first_seen, "",
           "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)", 1),
    Column("Count", "string", _event_count, "", "The number of times this event has occurred.", 1),
    dataclasses.replace(NAME, priority=1),
)
LEASE_COLUMNS = (NAME, Column("Holder", "string", lambda o: _get(o, "spec", "holderIdentity"), "", (
    "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is "
    "used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.")), AGE)
CRD_COLUMNS = (
    NAME,
    Column("Scope", "string", lambda o: _get(o, "spec", "scope"), "", "Cluster/Namespaced"),
    Column("Versions", "string", _crd_versions, "", "Served versions"),
    Column("Created At", "date", _crd_created, "", _CREATED),  # the timestamp itself: kubectl renders it
    Column("Group", "string", lambda o: _get(o, "spec", "group"), "", "API group", 1),
    Column("Kind", "string", lambda o: _get(o, "spec", "names", "kind"), "", "CustomResource kind", 1),
    Column("ShortNames", "string", lambda o: ",".join(_get(o, "spec", "names", "shortNames") or []), "",
           "Short names", 1),
    Column("Established", "boolean", _crd_established, "", "Established status", 1),
)


def _param_kind(obj: Obj) -> Any:
    kind = _get(obj, "spec", "paramKind")
    return f"{kind.get('apiVersion', '')}/{kind.get('kind', '')}" if isinstance(kind, dict) else "<unset>"


def _param_ref(obj: Obj) -> Any:
    ref = _get(obj, "spec", "paramRef")
    if not isinstance(ref, dict):
        return "<unset>"
    if ref.get("name"):
        return f"{ref.get('namespace') or '*'}/{ref['name']}"
    return "<unset>" if ref.get("selector") is None else str(ref["selector"])


POLICY_COLUMNS = (
    NAME,
    Column("Validations", "integer", lambda o: len(_get(o, "spec", "validations") or ()),
           description="Validations indicates the number of validation rules defined in this configuration"),
    Column("ParamKind", "string", _param_kind,
           description="ParamKind specifies the kind of resources used to parameterize this policy"),
    AGE,
)
POLICY_BINDING_COLUMNS = (
    NAME,
    Column("PolicyName", "string", lambda o: _get(o, "spec", "policyName"),
           description="PolicyName indicates the policy definition which the policy binding binded to"),
    Column("ParamRef", "string", _param_ref,
           description="ParamRef indicates the param resource which sets the configuration param"),
    AGE,
)
CONFIGMAP_COLUMNS = (NAME, Column("Data", "string", _data_count, "", (
    "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. "
    "Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not "
    "overlap with the keys in the BinaryData field, this is enforced during validation process.")), AGE)

EVENT_FIELDS = frozenset({
    "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
    "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
    "reportingComponent", "source", "type",
})
EVENT_V1_FIELDS = frozenset({
    "regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "regarding.apiVersion",
    "regarding.resourceVersion", "regarding.fieldPath", "reason", "reportingController", "type",
})


def builtin_resources() -> list[Resource]:
    """The built-in kinds served from the start."""
    r = Resource
    return [
        r("", "v1", "namespaces", "namespace", "Namespace", False, ("ns",), status=True,
          return_deleted_object=True, columns=NAMESPACE_COLUMNS, field_selectors=frozenset({"status.phase"}),
          verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
        r("", "v1", "secrets", "secret", "Secret", True, columns=SECRET_COLUMNS,
          field_selectors=frozenset({"type"})),
        r("", "v1", "configmaps", "configmap", "ConfigMap", True, ("cm",), columns=CONFIGMAP_COLUMNS),
        r("", "v1", "events", "event", "Event", True, ("ev",), columns=EVENT_COLUMNS,
          field_selectors=EVENT_FIELDS),
        r("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, ("sa",)),
        r("", "v1", "pods", "pod", "Pod", True, ("po",), ("all",), status=True,
          field_selectors=frozenset({"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                                     "spec.serviceAccountName", "status.phase", "status.podIP",
                                     "status.nominatedNodeName"})),
        r("", "v1", "services", "service", "Service", True, ("svc",), ("all",), status=True,
          return_deleted_object=True),
        r("events.k8s.io", "v1", "events", "event", "Event", True, ("ev",), columns=EVENT_COLUMNS,
          store_group="", field_selectors=EVENT_V1_FIELDS),
        r("coordination.k8s.io", "v1", "leases", "lease", "Lease", True, columns=LEASE_COLUMNS),
        r("networking.k8s.io", "v1", "ingresses", "ingress", "Ingress", True, ("ing",), status=True,
          generation=True),
        r("networking.k8s.io", "v1", "ingressclasses", "ingressclass", "IngressClass", False,
          generation=True),
        r("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", True),
        r("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", False),
        r("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", True),
        r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding",
          "ClusterRoleBinding", False),
        r("apps", "v1", "deployments", "deployment", "Deployment", True, ("deploy",), ("all",), status=True,
          generation=True),
        r("apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
          "CustomResourceDefinition", False, ("crd", "crds"), ("api-extensions",), status=True,
          generation=True, return_deleted_object=True, columns=CRD_COLUMNS),
        r("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "validatingadmissionpolicy",
          "ValidatingAdmissionPolicy", False, categories=("api-extensions",), status=True, generation=True,
          columns=POLICY_COLUMNS),
        r("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
          "validatingadmissionpolicybinding", "ValidatingAdmissionPolicyBinding", False,
          categories=("api-extensions",), generation=True, columns=POLICY_BINDING_COLUMNS),
    ]


def crd_resources(crd: Obj) -> list[Resource]:
    """The served `Resource`s of a (valid) CRD, one per served version."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = str(spec.get("group", ""))
    plural = str(names.get("plural", ""))
    kind = str(names.get("kind", ""))
    singular = str(names.get("singular") or kind.lower())
    namespaced = spec.get("scope", "Namespaced") == "Namespaced"
    versions = spec.get("versions") or []
    storage = next((str(v.get("name")) for v in versions if v.get("storage")), "")
    out = []
    for ver in versions:
        if not ver.get("served", True):
            continue
        subresources = ver.get("subresources") or {}
        schema = (ver.get("schema") or {}).get("openAPIV3Schema")
        out.append(Resource(
            group, str(ver.get("name")), plural, singular, kind, namespaced,
            tuple(names.get("shortNames") or ()), tuple(names.get("categories") or ()),
            status="status" in subresources, generation=True, builtin=False,
            printer_columns=tuple(ver.get("additionalPrinterColumns") or ()),
            field_selectors=frozenset(str(f.get("jsonPath", "")).lstrip(".")
                                      for f in ver.get("selectableFields") or ()),
            storage_version=storage, schema=schema if isinstance(schema, dict) else None,
            crd_name=str((crd.get("metadata") or {}).get("name", "")),
            list_kind_name=str(names.get("listKind") or ""),
        ))
    return out


class Registry:
    """All served resources, indexed by group/version and by storage bucket; `revision` changes on
    every change so discovery and OpenAPI caches know when to rebuild."""

    def __init__(self) -> None:
        self.by_gv: dict[tuple[str, str], dict[str, Resource]] = {}
        self.group_order: list[str] = []
        self.revision = 0
        for res in builtin_resources():
            self.add(res)

    def add(self, res: Resource) -> None:
        if res.group not in self.group_order:
            self.group_order.append(res.group)
        self.by_gv.setdefault((res.group, res.version), {})[res.plural] = res
        self.revision += 1

    def remove_crd(self, crd_name: str) -> None:
        for gv, resources in list(self.by_gv.items()):
            for plural, res in list(resources.items()):
                if res.crd_name == crd_name:
                    del resources[plural]
            if not resources:
                del self.by_gv[gv]
        groups = {g for g, _ in self.by_gv}
        self.group_order = [g for g in self.group_order if g in groups]
        self.revision += 1

    def set_crd(self, crd: Obj) -> None:
        name = str((crd.get("metadata") or {}).get("name", ""))
        self.remove_crd(name)
        for res in crd_resources(crd):
            self.add(res)

    def lookup(self, group: str, version: str, plural: str) -> Resource | None:
        return self.by_gv.get((group, version), {}).get(plural)

    def versions(self, group: str) -> list[str]:
        found = [v for g, v in self.by_gv if g == group]
        return sorted(found, key=_version_priority)

    def groups(self) -> list[str]:
        return [g for g in self.group_order if g]

    def resources(self) -> Iterator[Resource]:
        for resources in self.by_gv.values():
            yield from resources.values()

    def storage_resource(self, key: StoreKey) -> Resource | None:
        """The resource whose version objects in bucket `key` are stored in."""
        fallback = None
        for res in self.resources():
            if res.store_key == key:
                if res.store_api_version == res.api_version:
                    return res
                fallback = fallback or res
        return fallback


def _version_priority(version: str) -> tuple[int, int, int, str]:
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first."""
    import re

    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0, version)
    major = int(m.group(1))
    stage = {"": 0, "beta": 1, "alpha": 2}[m.group(2) or ""]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor, version)
