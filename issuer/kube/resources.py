"""How `issuer.kube.client.Client` addresses a kind on the API server: a frozen `Resource` (group, version,
plural, kind, namespaced) that builds its REST paths, plus constants for every resource the operator
touches (cert-manager's six kinds, Secrets, Events, Leases, Pods, Services, Ingresses, Namespaces, CRDs).
Callers pass these constants to the client's verbs: `client.get(resources.SECRETS, "tls", "default")`.
"""

from __future__ import annotations

import dataclasses
import urllib.parse


@dataclasses.dataclass(frozen=True)
class Resource:
    """One served group/version/plural. `group` is "" for the core API (`/api/v1`)."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        """The `apiVersion` of objects of this resource: "v1" or "<group>/<version>"."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """The resource name as the API server spells it in messages and RBAC: "secrets",
        "certificates.cert-manager.io"."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def prefix(self) -> str:
        """The group/version path prefix: "/api/v1" or "/apis/<group>/<version>"."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        """The REST path of the collection (no `name`) or of one object, optionally of its subresource.

        For a namespaced resource, `namespace=None` addresses the cluster-wide collection (list/watch
        across all namespaces). Cluster-scoped resources ignore `namespace`.
        """
        parts = [self.prefix]
        if self.namespaced and namespace:
            parts += ["namespaces", _segment(namespace)]
        parts.append(self.plural)
        if name is not None:
            parts.append(_segment(name))
            if subresource:
                parts.append(_segment(subresource))
        elif subresource:
            raise ValueError("a subresource needs an object name")
        return "/".join(parts)


def _segment(value: str) -> str:
    if not value or value in (".", "..") or "/" in value:
        raise ValueError(f"invalid path segment {value!r}")
    return urllib.parse.quote(value, safe="")


CERT_MANAGER = "cert-manager.io"
ACME = "acme.cert-manager.io"

CERTIFICATES = Resource(CERT_MANAGER, "v1", "certificates", "Certificate")
CERTIFICATE_REQUESTS = Resource(CERT_MANAGER, "v1", "certificaterequests", "CertificateRequest")
ISSUERS = Resource(CERT_MANAGER, "v1", "issuers", "Issuer")
CLUSTER_ISSUERS = Resource(CERT_MANAGER, "v1", "clusterissuers", "ClusterIssuer", namespaced=False)
ORDERS = Resource(ACME, "v1", "orders", "Order")
CHALLENGES = Resource(ACME, "v1", "challenges", "Challenge")

SECRETS = Resource("", "v1", "secrets", "Secret")
EVENTS = Resource("", "v1", "events", "Event")
PODS = Resource("", "v1", "pods", "Pod")
SERVICES = Resource("", "v1", "services", "Service")
CONFIG_MAPS = Resource("", "v1", "configmaps", "ConfigMap")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
INGRESSES = Resource("networking.k8s.io", "v1", "ingresses", "Ingress")
CUSTOM_RESOURCE_DEFINITIONS = Resource(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", namespaced=False)

ALL: tuple[Resource, ...] = (
    CERTIFICATES, CERTIFICATE_REQUESTS, ISSUERS, CLUSTER_ISSUERS, ORDERS, CHALLENGES,
    SECRETS, EVENTS, PODS, SERVICES, CONFIG_MAPS, NAMESPACES, LEASES, INGRESSES, CUSTOM_RESOURCE_DEFINITIONS,
)


def for_kind(api_version: str, kind: str) -> Resource | None:
    """The known resource of an object's `apiVersion` and `kind`, or None."""
    for res in ALL:
        if res.api_version == api_version and res.kind == kind:
            return res
    return None
