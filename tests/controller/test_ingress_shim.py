"""ingress-shim end to end: annotated Ingresses get Certificates (cert-manager conformance cases 24 and
25), bad annotations become a BadConfig Event, and deleting the Ingress removes its Certificates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml
from cryptography import x509

from tests.controller.conftest import Cluster


def issuer_docs(ns: str) -> list[dict[str, Any]]:
    return [{"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "ss", "namespace": ns},
             "spec": {"selfSigned": {}}}]


def ingress(ns: str, name: str, annotations: dict[str, str], tls: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name, "namespace": ns, "annotations": annotations, "labels": {"team": "shop"}},
        "spec": {"rules": [{"host": tls[0]["hosts"][0] if tls and tls[0].get("hosts") else "x.example.com",
                            "http": {"paths": [{"path": "/", "pathType": "Prefix",
                                                "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}],
                 "tls": tls},
    }


def events_for(c: Cluster, ns: str, name: str) -> list[dict[str, Any]]:
    return [e for e in c.list("Event", ns) if (e.get("involvedObject") or {}).get("name") == name]


def test_conformance_24_an_annotated_ingress_gets_a_ready_certificate_for_its_tls_hosts(cluster: Cluster,
                                                                                        ns: str) -> None:
    docs = [*issuer_docs(ns), ingress(ns, "web", {"cert-manager.io/issuer": "ss"},
                                       [{"hosts": ["web.example.com"], "secretName": "web-tls"}])]
    cluster.apply_yaml(yaml.safe_dump_all(docs))
    cert = cluster.wait_ready("web-tls", ns)
    assert cert["spec"]["dnsNames"] == ["web.example.com"]
    assert cert["spec"]["secretName"] == "web-tls"
    assert cert["spec"]["issuerRef"] == {"name": "ss", "kind": "Issuer", "group": "cert-manager.io"}
    assert cert["metadata"]["labels"] == {"team": "shop"}
    owner = cert["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("Ingress", "web", True)
    leaf = x509.load_pem_x509_certificate(cluster.secret_data("web-tls", ns)["tls.crt"])
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == ["web.example.com"]
    reasons = [e["reason"] for e in events_for(cluster, ns, "web")]
    assert "CreateCertificate" in reasons


def test_conformance_25_certificate_field_annotations_shape_the_certificate(cluster: Cluster, ns: str) -> None:
    annotations = {
        "cert-manager.io/issuer": "ss",
        "cert-manager.io/issuer-kind": "Issuer",
        "cert-manager.io/issuer-group": "cert-manager.io",
        "cert-manager.io/common-name": "api.example.com",
        "cert-manager.io/duration": "2h",
        "cert-manager.io/renew-before": "1h",
        "cert-manager.io/revision-history-limit": "7",
        "cert-manager.io/private-key-algorithm": "ECDSA",
        "cert-manager.io/private-key-encoding": "PKCS8",
        "cert-manager.io/private-key-size": "384",
        "cert-manager.io/private-key-rotation-policy": "Always",
    }
    docs = [*issuer_docs(ns), ingress(ns, "api", annotations,
                                       [{"hosts": ["api.example.com"], "secretName": "api-tls"}])]
    cluster.apply_yaml(yaml.safe_dump_all(docs))
    cert = cluster.wait_ready("api-tls", ns)
    spec = cert["spec"]
    assert spec["commonName"] == "api.example.com"
    assert spec["duration"] == "2h0m0s" and spec["renewBefore"] == "1h0m0s"
    assert spec["revisionHistoryLimit"] == 7
    assert spec["privateKey"] == {"algorithm": "ECDSA", "encoding": "PKCS8", "size": 384, "rotationPolicy": "Always"}
    data = cluster.secret_data("api-tls", ns)
    assert data["tls.key"].startswith(b"-----BEGIN PRIVATE KEY-----")
    leaf = x509.load_pem_x509_certificate(data["tls.crt"])
    assert leaf.public_key().curve.name == "secp384r1"  # type: ignore[union-attr]
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == dt.timedelta(hours=2)


def test_an_invalid_annotation_is_a_bad_config_event_and_no_certificate(cluster: Cluster, ns: str) -> None:
    docs = [*issuer_docs(ns), ingress(ns, "bad", {"cert-manager.io/issuer": "ss", "cert-manager.io/duration": "5m"},
                                       [{"hosts": ["bad.example.com"], "secretName": "bad-tls"}])]
    cluster.apply_yaml(yaml.safe_dump_all(docs))
    event = cluster.wait_for("a BadConfig event", lambda: next(
        (e for e in events_for(cluster, ns, "bad") if e["reason"] == "BadConfig"), None))
    assert event["type"] == "Warning"
    assert "duration" in event["message"]
    assert cluster.get("Certificate", "bad-tls", ns) is None


def test_deleting_the_ingress_removes_its_certificates(cluster: Cluster, ns: str) -> None:
    docs = [*issuer_docs(ns), ingress(ns, "gone", {"cert-manager.io/issuer": "ss"},
                                       [{"hosts": ["gone.example.com"], "secretName": "gone-tls"}])]
    cluster.apply_yaml(yaml.safe_dump_all(docs))
    cluster.wait_ready("gone-tls", ns)
    cluster.kubectl("delete", "ingress", "-n", ns, "gone")
    cluster.wait_for("the Certificate collected with its Ingress",
                     lambda: cluster.get("Certificate", "gone-tls", ns) is None)
