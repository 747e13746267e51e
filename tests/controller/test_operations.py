"""Operations: Prometheus metrics and health endpoints of a running operator, and two replicas with Lease
leader election where the leader is SIGKILLed."""

from __future__ import annotations

import datetime as dt
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests import rbac
from tests.controller.conftest import (
    BACKENDS,
    CLUSTER_RESOURCE_NAMESPACE,
    REPO,
    ApiError,
    Cluster,
    Operator,
    fresh_name,
    running_cluster,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def selfsigned_setup(c: Cluster, ns: str, names: list[str]) -> None:
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "ss", "namespace": ns},
         "spec": {"selfSigned": {}}},
    ]
    docs += [
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": n, "namespace": ns},
         "spec": {"secretName": f"{n}-tls", "dnsNames": [f"{n}.example.com"], "privateKey": {"algorithm": "ECDSA"},
                  "issuerRef": {"name": "ss"}}}
        for n in names
    ]
    c.apply_yaml(yaml.safe_dump_all(docs))


@pytest.fixture(scope="module")
def ops_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, int, int]]:
    metrics_port, health_port = free_port(), free_port()
    with running_cluster(tmp_path_factory.mktemp("ops")) as c:
        c.operator.stop()
        c.operator = Operator(c.kubeconfig, c.tmp / "operator-metrics.log",
                              "--metrics-listen-address", f"127.0.0.1:{metrics_port}",
                              "--health-listen-address", f"127.0.0.1:{health_port}")
        c.operator.start()
        c.operator.wait_started()
        yield c, metrics_port, health_port


def scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    status, text = http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_metrics_have_cert_managers_names_and_match_the_certificate_status(ops_cluster: Any) -> None:
    c, port, _ = ops_cluster
    ns = fresh_name("metrics")
    selfsigned_setup(c, ns, ["m1", "m2"])
    certs = {n: c.wait_ready(n, ns) for n in ("m1", "m2")}
    metrics = scrape(port)

    def value(metric: str, **labels: str) -> float:
        matches = [v for lbl, v in metrics.get(metric, []) if all(lbl.get(k) == x for k, x in labels.items())]
        assert len(matches) == 1, (metric, labels, matches)
        return matches[0]

    for name, cert in certs.items():
        status = cert["status"]
        common = {"name": name, "namespace": ns, "issuer_name": "ss", "issuer_kind": "Issuer",
                  "issuer_group": "cert-manager.io"}
        assert value("certmanager_certificate_expiration_timestamp_seconds", **common) == epoch(status["notAfter"])
        assert value("certmanager_certificate_not_before_timestamp_seconds", **common) == epoch(status["notBefore"])
        assert value("certmanager_certificate_renewal_timestamp_seconds", **common) == epoch(status["renewalTime"])
        assert value("certmanager_certificate_ready_status", condition="True", **common) == 1.0
        assert value("certmanager_certificate_ready_status", condition="False", **common) == 0.0
        assert value("certmanager_certificate_ready_status", condition="Unknown", **common) == 0.0
    assert value("certmanager_issuer_ready_status", name="ss", namespace=ns, condition="True") == 1.0
    assert value("certmanager_controller_sync_call_count_total", controller="certificates") >= 2
    assert abs(value("certmanager_clock_time_seconds_gauge") - time.time()) < 60

    c.kubectl("delete", "certificate", "-n", ns, "m2")
    c.wait_for("m2 gone from the metrics", lambda: not [
        1 for lbl, _ in scrape(port).get("certmanager_certificate_expiration_timestamp_seconds", [])
        if lbl.get("name") == "m2" and lbl.get("namespace") == ns
    ])


def test_health_endpoints_answer(ops_cluster: Any) -> None:
    _, _, port = ops_cluster
    assert http_get(f"http://127.0.0.1:{port}/livez") == (200, "ok\n")
    assert http_get(f"http://127.0.0.1:{port}/readyz") == (200, "ok\n")


# the Lease in the install's namespace, where manifests/base/leader-election.yaml grants the operator leases
LEASE = ["--leader-elect", "--leader-election-namespace", CLUSTER_RESOURCE_NAMESPACE,
         "--leader-election-lease-duration", "3s",
         "--leader-election-renew-deadline", "2s", "--leader-election-retry-period", "0.3s",
         "--metrics-listen-address", "", "--health-listen-address", ""]


def lease_holder(c: Cluster) -> str:
    url = (f"{c.api.url}/apis/coordination.k8s.io/v1/namespaces/{CLUSTER_RESOURCE_NAMESPACE}/leases/"
           "cert-manager-controller")
    try:
        lease = c.api._do("GET", url)
    except ApiError as err:
        if err.status == 404:
            return ""
        raise
    return str(((lease or {}).get("spec") or {}).get("holderIdentity") or "")


@pytest.mark.faults  # (k) of issue 7: run five times in CI
@pytest.mark.parametrize("backend", BACKENDS)
def test_two_replicas_one_writer_and_failover_within_the_lease(tmp_path: pathlib.Path, backend: str) -> None:
    """On the real server both replicas run as the install's ServiceAccount, through the fault proxy (whose
    request log tells their writes apart by user agent)."""
    with running_cluster(tmp_path, backend) as c:
        c.operator.stop()
        a = Operator(c.operator_kubeconfig, tmp_path / "a.log", *LEASE, "--leader-election-identity", "replica-a")
        b = Operator(c.operator_kubeconfig, tmp_path / "b.log", *LEASE, "--leader-election-identity", "replica-b")
        try:
            a.start()
            c.wait_for("replica-a leads", lambda: lease_holder(c) == "replica-a", timeout=20)
            b.start()
            time.sleep(1.0)  # b is up and standing by
            assert lease_holder(c) == "replica-a"
            ns = fresh_name("leader")
            selfsigned_setup(c, ns, ["one"])
            c.wait_ready("one", ns)

            killed_at = time.time()
            a.kill()
            c.wait_for("replica-b leads", lambda: lease_holder(c) == "replica-b", timeout=10)
            failover = time.time() - killed_at
            assert failover <= 3.0 + 0.3 + 1.5, f"failover took {failover:.1f}s (lease 3s)"

            selfsigned_setup(c, ns, ["two"])
            c.wait_ready("two", ns)
            writes = [r for r in c.server.request_log
                      if r.method in ("POST", "PUT", "PATCH", "DELETE") and "leases" not in r.path
                      and "/events" not in r.path]
            by_a = [r for r in writes if "(replica-a)" in r.user_agent]
            by_b = [r for r in writes if "(replica-b)" in r.user_agent]
            assert by_a, "replica-a did the first issuance"
            assert by_b, "replica-b did the second issuance"
            # One writer at a time, judged on the server's clock alone (`started` is when the server took a
            # request, which under load can be a little after its writer sent it, or died): everything
            # replica-a wrote came before replica-b's first write, and replica-b wrote nothing while replica-a
            # was alive (it cannot lead before replica-a's last renewal + 3 s).
            assert max(r.started for r in by_a) < min(r.started for r in by_b), "replica-a wrote after replica-b"
            assert min(r.started for r in by_b) >= killed_at, "replica-b wrote while standing by"
        finally:
            a.kill()
            b.kill()


def test_with_auto_approval_off_requests_wait_for_issuer_approve_and_deny_is_final(tmp_path: pathlib.Path) -> None:
    with running_cluster(tmp_path) as c:
        c.operator.stop()
        c.operator = Operator(c.kubeconfig, tmp_path / "manual.log", "--disable-auto-approval",
                              "--metrics-listen-address", "", "--health-listen-address", "")
        c.operator.start()
        c.operator.wait_started()
        ns = fresh_name("approval")
        selfsigned_setup(c, ns, ["held", "refused"])
        for name in ("held", "refused"):
            c.wait_for(f"{name}-1 waiting for approval", lambda n=name: next(
                (e for e in c.list("Event", ns) if e["reason"] == "WaitingForApproval"
                 and e["involvedObject"]["name"] == f"{n}-1"), None))
        time.sleep(1.0)
        assert (c.must_get("Certificate", "held", ns)["status"].get("revision") or 0) == 0, "nothing issued yet"

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "issuer", *args, "--kubeconfig", str(c.kubeconfig),
                                   "-n", ns], capture_output=True, text=True, check=False, timeout=60)

        approved = cli("approve", "held-1")
        assert approved.returncode == 0, approved.stderr
        assert approved.stdout.strip() == f"Approved CertificateRequest '{ns}/held-1'"
        c.wait_ready("held", ns)
        cr = c.must_get("CertificateRequest", "held-1", ns)
        cond = {x["type"]: x for x in cr["status"]["conditions"]}
        assert cond["Approved"]["reason"] == "KubectlCertManager"

        denied = cli("deny", "refused-1", "--reason", "NotOurs", "--message", "no thanks")
        assert denied.returncode == 0, denied.stderr
        c.wait_condition("CertificateRequest", "refused-1", ns, "Ready", "False", reason="Denied")
        # cert-manager copies the Denied condition's own reason onto Issuing=False
        c.wait_condition("Certificate", "refused", ns, "Issuing", "False", reason="NotOurs")
        again = cli("approve", "refused-1")
        assert again.returncode == 1 and "denied" in again.stderr


def test_namespaced_mode_serves_one_namespace_only(tmp_path: pathlib.Path) -> None:
    with running_cluster(tmp_path) as c:
        mine, other = fresh_name("mine"), fresh_name("other")
        c.operator.stop()
        c.operator = Operator(c.kubeconfig, tmp_path / "namespaced.log", "--namespace", mine,
                              "--metrics-listen-address", "", "--health-listen-address", "")
        c.ensure_namespace(mine)
        since = time.time()  # the cluster-wide operator of running_cluster() ran before this one
        c.operator.start()
        c.operator.wait_started()
        selfsigned_setup(c, other, ["theirs"])
        selfsigned_setup(c, mine, ["ours"])
        c.wait_ready("ours", mine)
        time.sleep(2.0)
        theirs = c.must_get("Certificate", "theirs", other)
        assert not (theirs.get("status") or {}).get("conditions"), "a Certificate outside the namespace is untouched"
        assert c.get("Secret", "theirs-tls", other) is None
        assert not c.list("CertificateRequest", other)
        watched = {(r.path, r.query, r.user_agent) for r in c.server.request_log.since(since)
                   if r.user_agent.startswith(("issuer/", "kopf/"))
                   and r.method == "GET" and "/namespaces/" not in r.path and "/certificates" in r.path}
        assert not watched, f"cluster-wide reads of Certificates in namespaced mode: {watched}"
        # Everything it sent is granted by the namespaced install's Role, in its own namespace: no
        # cluster-scoped reads (kopf lists and watches namespaces and CRDs unless told not to scan).
        role = rbac.role_rules(c.kubectl("kustomize", str(REPO / "manifests" / "namespaced")).stdout,
                               "Role", "issuer-controller")
        sent = {(r.method, r.path, r.verb, rbac.group_of(r.path), r.resource)
                for r in c.server.request_log.since(since) if r.user_agent.startswith(rbac.OPERATOR_AGENTS)}
        assert any(resource == "certificates" for *_, resource in sent)
        outside = sorted((method, path, verb) for method, path, verb, group, resource in sent
                         if resource and (group is None or not rbac.allows(role, group, resource, verb)
                                          or f"/namespaces/{mine}/" not in path))
        assert not outside, f"requests the namespaced Role does not grant: {outside}"
