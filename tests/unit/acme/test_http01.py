"""HTTP-01 solver resources exactly as cert-manager builds them (inventory §5.6), Ingress edit in place,
the acmesolver program's answers, and the self-check against it."""

from __future__ import annotations

import asyncio
import http.client
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from issuer.acme import http01
from issuer.acmesolver import server
from issuer.api import constants as c
from issuer.api import types as t


def challenge(ingress: t.HTTP01Ingress | None = None, dns_name: str = "www.example.com") -> t.Challenge:
    return t.Challenge(
        metadata=t.ObjectMeta(name="web-1-abc-123", namespace="apps", uid="uid-1"),
        spec=t.ChallengeSpec(
            url="https://acme/chal/1", dns_name=dns_name, type="HTTP-01", token="tok-1", key="tok-1.thumb",
            solver=t.ACMESolver(http01=t.HTTP01(ingress=ingress or t.HTTP01Ingress())),
        ),
    )


LABELS = {
    c.LABEL_HTTP_DOMAIN: str(zlib.adler32(b"www.example.com")),
    c.LABEL_HTTP_TOKEN: str(zlib.adler32(b"tok-1")),
    c.LABEL_HTTP01_SOLVER: "true",
}
OWNER = {"apiVersion": "acme.cert-manager.io/v1", "kind": "Challenge", "name": "web-1-abc-123", "uid": "uid-1",
         "controller": True, "blockOwnerDeletion": True}


def test_pod_is_cert_managers_solver_pod() -> None:
    pod = http01.pod(challenge(), "ghcr.io/example/issuer:1.0")
    assert pod["metadata"] == {
        "generateName": "cm-acme-http-solver-", "namespace": "apps", "labels": LABELS,
        "annotations": {"sidecar.istio.io/inject": "false", "cluster-autoscaler.kubernetes.io/safe-to-evict": "true"},
        "ownerReferences": [OWNER],
    }
    spec = pod["spec"]
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert spec["restartPolicy"] == "OnFailure"
    assert spec["automountServiceAccountToken"] is False and spec["enableServiceLinks"] is False
    assert spec["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    (container,) = spec["containers"]
    assert container["name"] == "acmesolver" and container["image"] == "ghcr.io/example/issuer:1.0"
    assert container["command"] == ["issuer", "acmesolver"]
    assert container["args"] == ["--listen-port=8089", "--domain=www.example.com", "--token=tok-1",
                                 "--key=tok-1.thumb"]
    assert container["resources"] == {"requests": {"cpu": "10m", "memory": "64Mi"},
                                      "limits": {"cpu": "100m", "memory": "64Mi"}}
    assert container["ports"] == [{"name": "http", "containerPort": 8089}]
    assert container["securityContext"] == {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                            "capabilities": {"drop": ["ALL"]}}


def test_pod_template_is_merged_on_top_but_cannot_move_the_selector_labels() -> None:
    template = t.PodTemplate(
        metadata=t.ObjectMetaTemplate(labels={"team": "web", c.LABEL_HTTP01_SOLVER: "no"}, annotations={"a": "b"}),
        spec={"nodeSelector": {"pool": "edge"}, "tolerations": [{"key": "edge"}], "priorityClassName": "high",
              "serviceAccountName": "solver", "securityContext": {"runAsUser": 1000},
              "resources": {"limits": {"memory": "128Mi"}}},
    )
    pod = http01.pod(challenge(t.HTTP01Ingress(pod_template=template)), "img", extra_labels={"x": "y"})
    meta, spec = pod["metadata"], pod["spec"]
    assert meta["labels"] == {"x": "y", "team": "web", **LABELS}
    assert meta["annotations"]["a"] == "b" and meta["annotations"]["sidecar.istio.io/inject"] == "false"
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux", "pool": "edge"}
    assert spec["tolerations"] == [{"key": "edge"}] and spec["priorityClassName"] == "high"
    assert spec["serviceAccountName"] == "solver"
    assert spec["securityContext"]["runAsUser"] == 1000 and spec["securityContext"]["runAsNonRoot"] is True
    assert spec["containers"][0]["resources"]["limits"] == {"cpu": "100m", "memory": "128Mi"}


def test_service() -> None:
    svc = http01.service(challenge())
    assert svc["metadata"]["generateName"] == "cm-acme-http-solver-"
    assert svc["metadata"]["labels"] == LABELS and svc["metadata"]["ownerReferences"] == [OWNER]
    assert svc["spec"] == {"type": "NodePort", "ports": [{"name": "http", "port": 8089, "targetPort": 8089}],
                           "selector": LABELS}
    assert http01.service(challenge(t.HTTP01Ingress(service_type="ClusterIP")))["spec"]["type"] == "ClusterIP"


def test_ingress_with_class_annotation() -> None:
    ing = http01.ingress(challenge(t.HTTP01Ingress(class_="nginx")), "cm-acme-http-solver-xyz")
    assert ing["apiVersion"] == "networking.k8s.io/v1" and ing["kind"] == "Ingress"
    assert ing["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/whitelist-source-range": "0.0.0.0/0,::/0",
        "kubernetes.io/ingress.class": "nginx",
    }
    assert ing["spec"] == {"rules": [{"host": "www.example.com", "http": {"paths": [{
        "path": "/.well-known/acme-challenge/tok-1", "pathType": "Exact",
        "backend": {"service": {"name": "cm-acme-http-solver-xyz", "port": {"number": 8089}}}}]}}]}


def test_ingress_class_name_and_template() -> None:
    template = t.IngressTemplate(metadata=t.ObjectMetaTemplate(
        labels={"l": "v"}, annotations={"ingress.kubernetes.io/whitelist-source-range": "10.0.0.0/8"}))
    ing = http01.ingress(challenge(t.HTTP01Ingress(ingress_class_name="traefik", ingress_template=template)), "svc")
    assert ing["spec"]["ingressClassName"] == "traefik"
    assert ing["metadata"]["annotations"] == {"ingress.kubernetes.io/whitelist-source-range": "10.0.0.0/8"}
    assert ing["metadata"]["labels"] == {"l": "v", **LABELS}


def test_ip_identifiers_have_no_host() -> None:
    ing = http01.ingress(challenge(dns_name="10.0.0.5"), "svc")
    assert "host" not in ing["spec"]["rules"][0]


def existing() -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
            "spec": {"rules": [{"host": "www.example.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
            ]}}]}}


def test_edit_in_place_adds_and_removes_only_our_path() -> None:
    ch = challenge()
    original = existing()
    added = http01.add_path(original, ch, "solver-svc")
    assert original == existing()  # not mutated
    paths = added["spec"]["rules"][0]["http"]["paths"]
    assert [p["path"] for p in paths] == ["/", "/.well-known/acme-challenge/tok-1"]
    assert http01.has_path(added, ch)
    assert http01.add_path(added, ch, "solver-svc") == added  # idempotent
    assert http01.remove_path(added, ch) == existing()
    assert not http01.has_path(existing(), ch)


def test_edit_in_place_appends_a_rule_for_a_new_host() -> None:
    ch = challenge(dns_name="api.example.com")
    added = http01.add_path(existing(), ch, "svc")
    assert [r["host"] for r in added["spec"]["rules"]] == ["www.example.com", "api.example.com"]
    assert http01.remove_path(added, ch) == existing()


# ---------------------------------------------------------------------------------------------------------
# The solver program and the self-check


@pytest.fixture
def solver_server() -> Iterator[int]:
    running = server.serve_in_thread(server.single("www.example.com", "tok-1", "tok-1.thumb"), 0, "127.0.0.1")
    yield running.port
    running.stop()


def get(port: int, path: str, host: str) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, resp.read(), dict(resp.getheaders())
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("path", "host", "status", "body"),
    [
        ("/.well-known/acme-challenge/tok-1", "www.example.com", 200, b"tok-1.thumb"),
        ("/.well-known/acme-challenge/tok-1", "WWW.example.com:80", 200, b"tok-1.thumb"),
        ("/.well-known/acme-challenge/tok-1", "other.example.com", 404, None),
        ("/.well-known/acme-challenge/tok-2", "www.example.com", 404, None),
        ("/.well-known/acme-challenge/", "www.example.com", 404, None),
        ("/", "anything", 200, b""),
        ("/healthz", "anything", 200, b""),
        ("/elsewhere", "www.example.com", 404, None),
    ],
)
def test_solver_answers(solver_server: int, path: str, host: str, status: int, body: bytes | None) -> None:
    got_status, got_body, headers = get(solver_server, path, host)
    assert got_status == status
    assert headers["Cache-Control"] == "no-cache"
    if body is not None:
        assert got_body == body


@pytest.mark.parametrize(("host", "expected"), [("a.b:80", "a.b"), ("[::1]:8089", "::1"), ("[::1]", "::1"),
                                                ("A.B.", "a.b"), ("::1", "::1")])
def test_host_without_port(host: str, expected: str) -> None:
    assert server.host_without_port(host) == expected


def test_solver_program_refuses_a_busy_port(solver_server: int, capsys: pytest.CaptureFixture[str]) -> None:
    code = server.main([f"--listen-port={solver_server}", "--listen-address=127.0.0.1", "--domain=d", "--token=t",
                        "--key=k"])
    assert code == 1
    assert "cannot listen" in capsys.readouterr().err


def test_self_check(solver_server: int) -> None:
    target = ("127.0.0.1", solver_server)
    ok = asyncio.run(http01.self_check("www.example.com", "tok-1", "tok-1.thumb", connect_to=target))
    assert ok == (True, "")
    wrong = asyncio.run(http01.self_check("www.example.com", "tok-1", "other", connect_to=target))
    assert not wrong[0] and "did not get expected response" in wrong[1]
    missing = asyncio.run(http01.self_check("www.example.com", "tok-9", "x", connect_to=target))
    assert missing == (False, "wrong status code '404', expected '200'")


def test_self_check_connection_refused() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ok, why = asyncio.run(http01.self_check("www.example.com", "t", "k", 2, connect_to=("127.0.0.1", port)))
    assert not ok and "failed to perform self check GET request" in why


def test_solver_listens_on_ipv4_and_ipv6_by_default() -> None:
    import socket

    running = server.serve_in_thread(server.single("d.example", "t", "k"), 0)
    try:
        hosts = ["127.0.0.1", "::1"] if socket.has_ipv6 else ["127.0.0.1"]
        for host in hosts:
            conn = http.client.HTTPConnection(host, running.port, timeout=5)
            conn.request("GET", "/.well-known/acme-challenge/t", headers={"Host": "d.example"})
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (200, b"k"), host
            conn.close()
    finally:
        running.stop()


def test_gateway_solver_route_service_and_pod_template() -> None:
    route = {"parentRefs": [{"name": "gw", "namespace": "infra", "kind": "Gateway"}], "labels": {"r": "1"},
             "serviceType": "ClusterIP", "podTemplate": {"metadata": {"labels": {"p": "2"}},
                                                         "spec": {"priorityClassName": "edge"}}}
    ch = t.Challenge(
        metadata=t.ObjectMeta(name="web-1-abc-123", namespace="apps", uid="uid-1"),
        spec=t.ChallengeSpec(dns_name="www.example.com", type="HTTP-01", token="tok-1", key="tok-1.thumb",
                             solver=t.ACMESolver(http01=t.HTTP01(gateway_http_route=route))),
    )
    body = http01.http_route(ch, "svc")
    assert body["apiVersion"] == "gateway.networking.k8s.io/v1" and body["kind"] == "HTTPRoute"
    assert body["metadata"]["labels"] == {"r": "1", **LABELS}
    assert body["metadata"]["ownerReferences"] == [OWNER]
    assert body["spec"] == {
        "parentRefs": [{"name": "gw", "namespace": "infra", "kind": "Gateway"}],
        "hostnames": ["www.example.com"],
        "rules": [{"matches": [{"path": {"type": "Exact", "value": "/.well-known/acme-challenge/tok-1"}}],
                   "backendRefs": [{"group": "", "kind": "Service", "name": "svc", "port": 8089, "weight": 1}]}],
    }
    assert http01.service(ch)["spec"]["type"] == "ClusterIP"
    pod = http01.pod(ch, "img")
    assert pod["metadata"]["labels"]["p"] == "2" and pod["spec"]["priorityClassName"] == "edge"
