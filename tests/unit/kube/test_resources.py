"""REST paths of `issuer.kube.resources.Resource` and the client's token bucket."""

from __future__ import annotations

import pytest

from issuer.kube import client, resources


@pytest.mark.parametrize(("res", "namespace", "name", "sub", "path"), [
    pytest.param(resources.SECRETS, "ns", None, None, "/api/v1/namespaces/ns/secrets", id="core collection"),
    pytest.param(resources.SECRETS, None, None, None, "/api/v1/secrets", id="core across namespaces"),
    pytest.param(resources.SECRETS, "ns", "tls", None, "/api/v1/namespaces/ns/secrets/tls", id="core object"),
    pytest.param(resources.CERTIFICATES, "ns", "web", "status",
                 "/apis/cert-manager.io/v1/namespaces/ns/certificates/web/status", id="group object status"),
    pytest.param(resources.CLUSTER_ISSUERS, "ignored", "ca", None, "/apis/cert-manager.io/v1/clusterissuers/ca",
                 id="cluster-scoped ignores the namespace"),
    pytest.param(resources.NAMESPACES, None, "default", None, "/api/v1/namespaces/default", id="namespace object"),
    pytest.param(resources.LEASES, "kube-system", "issuer", None,
                 "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/issuer", id="lease"),
    pytest.param(resources.CHALLENGES, "ns", None, None, "/apis/acme.cert-manager.io/v1/namespaces/ns/challenges",
                 id="acme group"),
])
def test_paths(res: resources.Resource, namespace: str | None, name: str | None, sub: str | None, path: str) -> None:
    assert res.path(namespace, name, sub) == path


def test_names_are_one_path_segment() -> None:
    with pytest.raises(ValueError, match="invalid path segment"):
        resources.SECRETS.path("ns", "../x")
    with pytest.raises(ValueError, match="invalid path segment"):
        resources.SECRETS.path("ns", "")
    with pytest.raises(ValueError, match="needs an object name"):
        resources.SECRETS.path("ns", None, "status")


def test_api_version_and_qualified_names() -> None:
    assert resources.SECRETS.api_version == "v1"
    assert resources.SECRETS.qualified == "secrets"
    assert resources.INGRESSES.api_version == "networking.k8s.io/v1"
    assert resources.CERTIFICATE_REQUESTS.qualified == "certificaterequests.cert-manager.io"
    assert resources.for_kind("cert-manager.io/v1", "Issuer") is resources.ISSUERS
    assert resources.for_kind("v1", "Nope") is None


def test_token_bucket_allows_a_burst_then_spaces_requests() -> None:
    now = [0.0]
    bucket = client.TokenBucket(rate=10.0, burst=3, clock=lambda: now[0])
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.1)
    assert bucket.reserve() == pytest.approx(0.2), "reservations queue up behind each other"
    now[0] = 10.0
    assert bucket.reserve() == 0.0, "tokens refill, up to the burst"
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(0.1)


def test_token_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="rate"):
        client.TokenBucket(rate=0, burst=1)
