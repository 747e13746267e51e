"""ingress-shim through the operator: an annotated Ingress gets a Certificate per TLS secretName, owned by the
Ingress, whose hosts become dnsNames; host edits flow through; deleting the Ingress garbage-collects it."""

from __future__ import annotations

from typing import Any

from tests.controller import expect
from tests.controller.conftest import Cluster


def ingress(ns: str, hosts: list[str], annotations: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web", "namespace": ns, "annotations": annotations},
            "spec": {"tls": [{"hosts": hosts, "secretName": "web-tls"}],
                     "rules": [{"host": h, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                         "service": {"name": "web", "port": {"number": 80}}}}]}} for h in hosts]}}


def test_an_annotated_ingress_gets_a_ready_certificate_that_follows_its_hosts(cluster: Cluster, ns: str) -> None:
    cluster.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                        "metadata": {"name": "selfsigned", "namespace": ns}, "spec": {"selfSigned": {}}})
    created = cluster.api.create(ingress(ns, ["a.example.com"], {"cert-manager.io/issuer": "selfsigned"}))

    cert = cluster.wait_ready("web-tls", ns)
    assert cert["spec"]["dnsNames"] == ["a.example.com"]
    assert cert["spec"]["secretName"] == "web-tls"
    assert cert["spec"]["issuerRef"]["name"] == "selfsigned"
    owners = cert["metadata"].get("ownerReferences") or []
    assert [(o["kind"], o["name"], o["uid"], o.get("controller")) for o in owners] == [
        ("Ingress", "web", created["metadata"]["uid"], True)]
    expect.validate(cert, cluster.must_get("Secret", "web-tls", ns), issuer_type="selfsigned")

    hosts = ["a.example.com", "b.example.com"]
    cluster.api.patch("ingresses", "web", ns, {"spec": {"tls": [{"hosts": hosts, "secretName": "web-tls"}]}})
    cert = cluster.wait_ready("web-tls", ns, min_revision=2)
    assert sorted(cert["spec"]["dnsNames"]) == hosts
    expect.validate(cert, cluster.must_get("Secret", "web-tls", ns), issuer_type="selfsigned")

    cluster.api.delete("ingresses", "web", ns)
    cluster.wait_for("the Certificate garbage-collected with its Ingress",
                     lambda: cluster.get("Certificate", "web-tls", ns) is None, timeout=15)


def test_a_tls_entry_removed_from_the_ingress_deletes_its_certificate(cluster: Cluster, ns: str) -> None:
    """cert-manager's ingress-shim deletes the Certificates it made for secretNames no longer in any TLS entry
    (with a 'Successfully deleted unrequired Certificate' Event); the other entry's Certificate stays."""
    cluster.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                        "metadata": {"name": "selfsigned", "namespace": ns}, "spec": {"selfSigned": {}}})
    body = ingress(ns, ["a.example.com"], {"cert-manager.io/issuer": "selfsigned"})
    body["spec"]["tls"].append({"hosts": ["b.example.com"], "secretName": "other-tls"})
    cluster.api.create(body)
    cluster.wait_ready("web-tls", ns)
    kept = cluster.wait_ready("other-tls", ns)

    remaining = [{"hosts": ["b.example.com"], "secretName": "other-tls"}]
    cluster.api.patch("ingresses", "web", ns, {"spec": {"tls": remaining}})
    cluster.wait_for("the Certificate of the removed TLS entry deleted",
                     lambda: cluster.get("Certificate", "web-tls", ns) is None, timeout=15)
    still = cluster.must_get("Certificate", "other-tls", ns)
    assert still["metadata"]["uid"] == kept["metadata"]["uid"]
    cluster.wait_for("the deletion recorded as an Event on the Ingress", lambda: any(
        ev.get("reason") == "DeleteCertificate" and '"web-tls"' in (ev.get("message") or "")
        and (ev.get("involvedObject") or {}).get("kind") == "Ingress"
        for ev in cluster.api.list("events", ns)), timeout=10)
