"""The operator SIGKILLed in the middle of an issuance, and restarted: it finishes with exactly one
CertificateRequest per revision and no orphaned temporary key Secret. And a restart over 200 valid
Certificates re-issues nothing and writes nothing.

These tests own their API server and operator (`dedicated_cluster`). The kill points are made exact with
the embedded server's fault injection: a failing write holds the operator at the step after the one we
want to observe, we see the step's result through the API, then SIGKILL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.controller import expect
from tests.controller.conftest import Cluster, assert_no_kopf_traces, assert_no_traceback, condition, make_namespace

NEXT_KEY = "cert-manager.io/next-private-key=true"


@pytest.fixture(scope="module")
def restart_ns(dedicated_cluster: Cluster) -> Iterator[tuple[Cluster, str]]:
    c = dedicated_cluster
    ns = make_namespace(c)
    c.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                  "metadata": {"name": "selfsigned", "namespace": ns}, "spec": {"selfSigned": {}}})
    c.wait_condition("Issuer", "selfsigned", ns, "Ready", "True")
    yield c, ns


@pytest.fixture
def watched(dedicated_cluster: Cluster) -> Iterator[Cluster]:
    """Fails the test if the operator logged a traceback; clears faults afterwards; leaves it running."""
    c = dedicated_cluster
    offset = c.operator.log_size()
    yield c
    c.server.faults.clear()
    if not c.operator.alive():
        c.operator.proc = None
        c.operator.start()
        c.operator.wait_started()
    assert_no_traceback(c, offset)


def certificate(name: str, ns: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": name, "namespace": ns},
            "spec": {"secretName": name + "-tls", "dnsNames": [f"{name}.example.com"],
                     "issuerRef": {"name": "selfsigned"}, **spec}}


def assert_completed_once(c: Cluster, ns: str, name: str, revision: int = 1) -> None:
    cert = c.wait_ready(name, ns, timeout=30, min_revision=revision)
    assert cert["status"]["revision"] == revision
    made = {r["metadata"]["name"] for r in c.requests_of(name, ns)}
    assert made <= {f"{name}-{r}" for r in range(1, revision + 1)}, made  # one request per revision at most
    c.wait_requests(name, ns, [f"{name}-{revision}"])
    # the temporary key goes right after the status is written (status first, so that a crash in between
    # leaves a complete status and a key the key manager removes): wait for it, briefly
    c.wait_for(f"{name}'s temporary key Secret gone", lambda: not _temporary_key_exists(c, ns, name), timeout=10)
    expect.validate(cert, c.must_get("Secret", name + "-tls", ns), issuer_type="selfsigned")


def _temporary_key_exists(c: Cluster, ns: str, name: str) -> Any:
    return [s for s in c.next_key_secrets(ns) if s["metadata"]["name"].startswith(name + "-")]


def test_killed_right_after_the_temporary_key_secret_appears(restart_ns: tuple[Cluster, str],
                                                            watched: Cluster) -> None:
    c, ns = restart_ns
    name = "after-key"
    c.server.add_fault(verb="create", resource="certificaterequests", namespace=ns, status=500)
    c.api.create(certificate(name, ns))
    c.wait_for("the temporary key Secret", lambda: _temporary_key_exists(c, ns, name))
    c.operator.kill()
    assert not c.requests_of(name, ns)
    c.server.faults.clear()
    c.operator.restart()
    assert_completed_once(c, ns, name)


def test_killed_right_after_the_certificate_request_appears(restart_ns: tuple[Cluster, str],
                                                           watched: Cluster) -> None:
    c, ns = restart_ns
    name = "after-request"
    c.server.add_fault(verb="patch", resource="certificaterequests/status", namespace=ns, status=500)
    c.api.create(certificate(name, ns))
    c.wait_for("the CertificateRequest", lambda: c.get("CertificateRequest", f"{name}-1", ns))
    c.operator.kill()
    assert c.get("Secret", name + "-tls", ns) is None
    c.server.faults.clear()
    c.operator.restart()
    assert_completed_once(c, ns, name)


def test_killed_after_the_secret_is_written_but_before_the_status_says_ready(restart_ns: tuple[Cluster, str],
                                                                             watched: Cluster) -> None:
    c, ns = restart_ns
    name = "after-secret"
    hold_signing = c.server.add_fault(verb="patch", resource="certificaterequests/status", namespace=ns,
                                      status=500)
    c.api.create(certificate(name, ns))
    c.wait_for("the request created and recorded in the status", lambda: (
        c.get("CertificateRequest", f"{name}-1", ns)
        and (c.must_get("Certificate", name, ns).get("status") or {}).get("nextPrivateKeySecretName")))
    c.server.add_fault(verb="patch", resource="certificates/status", namespace=ns, name=name, status=500)
    c.server.faults.remove(hold_signing)

    def written() -> Any:
        secret = c.get("Secret", name + "-tls", ns)
        return secret if secret and (secret.get("data") or {}).get("tls.crt") else None

    c.wait_for("the Secret written", written, timeout=30)
    c.operator.kill()
    cert = c.must_get("Certificate", name, ns)
    assert (condition(cert, "Ready") or {}).get("status") != "True"
    assert not (cert.get("status") or {}).get("revision")
    c.server.faults.clear()
    c.operator.restart()
    assert_completed_once(c, ns, name)


def test_killed_right_after_the_temporary_key_secret_is_deleted(restart_ns: tuple[Cluster, str],
                                                                watched: Cluster) -> None:
    """Status writes are slowed down (1.5 s each), so the kill lands between the deletion of the finished
    issuance's temporary key and whatever the operator writes after it."""
    c, ns = restart_ns
    name = "after-key-deleted"
    c.server.add_fault(verb="patch", resource="certificates/status", namespace=ns, name=name, delay=1.5)
    c.api.create(certificate(name, ns))
    c.wait_for("the temporary key Secret", lambda: _temporary_key_exists(c, ns, name), timeout=20)
    c.wait_for("the temporary key Secret deleted", lambda: not _temporary_key_exists(c, ns, name), timeout=20,
               interval=0.02)
    c.operator.kill()
    c.server.faults.clear()
    c.operator.restart()
    assert_completed_once(c, ns, name)


def test_killed_twice_at_random_moments_of_ten_issuances(restart_ns: tuple[Cluster, str], watched: Cluster) -> None:
    c, ns = restart_ns
    names = [f"random-{i}" for i in range(10)]
    for name in names:
        c.api.create(certificate(name, ns, privateKey={"algorithm": "RSA", "size": 3072}))
    for delay in (0.4, 0.7):
        time.sleep(delay)
        c.operator.kill()
        c.operator.restart()
    for name in names:
        assert_completed_once(c, ns, name)


def test_a_renewal_that_fell_due_while_the_operator_was_down_happens_right_after_it_starts(
    restart_ns: tuple[Cluster, str], watched: Cluster
) -> None:
    c, ns = restart_ns
    name = "due-while-down"
    c.api.create(certificate(name, ns, duration="1h", renewBefore="59m54s"))
    first = c.wait_ready(name, ns)
    renewal = expect.dt.datetime.fromisoformat(first["status"]["renewalTime"])
    c.operator.kill()
    while expect.dt.datetime.now(expect.dt.UTC) < renewal + expect.dt.timedelta(seconds=1):
        time.sleep(0.2)
    assert c.must_get("Certificate", name, ns)["status"]["revision"] == 1  # nobody renewed it meanwhile
    c.operator.restart()
    started = time.monotonic()
    try:
        cert = c.wait_ready(name, ns, timeout=30, min_revision=2)
        assert time.monotonic() - started < 5, "the renewal that fell due while down waited"
        assert cert["status"]["revision"] == 2
        assert_completed_once(c, ns, name, revision=2)
    finally:  # it renews every 6 s: never leave it to the next test of this cluster
        c.api.delete("certificates", name, ns)


def test_a_restart_over_200_valid_certificates_reissues_and_writes_nothing(dedicated_cluster: Cluster,
                                                                          watched: Cluster) -> None:
    c = dedicated_cluster
    ns = make_namespace(c)
    pki = expect.ca_material()
    c.api.create(expect.ca_secret("ca", ns, pki["root.crt"], pki["root.key"]))
    c.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "ca", "namespace": ns},
                  "spec": {"ca": {"secretName": "ca"}}})
    names = [f"many-{i:03d}-{uuid.uuid4().hex[:4]}" for i in range(200)]
    started = time.monotonic()
    for name in names:
        body = certificate(name, ns, privateKey={"algorithm": "ECDSA"})
        body["spec"]["issuerRef"] = {"name": "ca"}
        c.api.create(body)

    def all_ready() -> list[dict[str, Any]] | None:
        certs = c.list("Certificate", ns)
        ready = [x for x in certs if (condition(x, "Ready") or {}).get("status") == "True"
                 and (x.get("status") or {}).get("revision") == 1]
        return certs if len(ready) == len(names) else None

    certs = c.wait_for("200 Certificates Ready", all_ready, timeout=90, interval=0.5)
    took = time.monotonic() - started
    print(f"200 ECDSA Certificates from one CA Issuer Ready in {took:.1f}s")
    # let the revision manager and the key manager finish their last deletions
    c.wait_for("no temporary keys", lambda: not c.next_key_secrets(ns), timeout=15)
    time.sleep(1.0)
    before_secrets = {s["metadata"]["name"]: s["metadata"]["resourceVersion"] for s in c.list("Secret", ns)}
    before_certs = {x["metadata"]["name"]: x["metadata"]["resourceVersion"] for x in c.list("Certificate", ns)}
    before_requests = sorted(r["metadata"]["name"] for r in c.list("CertificateRequest", ns))
    assert before_requests == sorted(f"{n}-1" for n in names)
    assert len(certs) == 200

    c.operator.kill()
    restarted = time.monotonic()
    c.operator.restart()
    mark = time.time()
    print(f"SIGKILL to started (cache primed, workers running): {time.monotonic() - restarted:.1f}s")
    time.sleep(3.0)  # every Certificate is reconciled at start; give it time to do anything it would do

    writes = [r for r in c.server.request_log.since(mark)
              if r.verb in ("create", "update", "patch", "delete", "deletecollection")
              and r.user_agent.startswith("issuer") and r.resource != "events"]
    assert not writes, [(r.method, r.path) for r in writes[:10]]
    after_secrets = {s["metadata"]["name"]: s["metadata"]["resourceVersion"] for s in c.list("Secret", ns)}
    after_certs = {x["metadata"]["name"]: x["metadata"]["resourceVersion"] for x in c.list("Certificate", ns)}
    assert after_secrets == before_secrets
    assert after_certs == before_certs
    assert sorted(r["metadata"]["name"] for r in c.list("CertificateRequest", ns)) == before_requests
    assert all((x.get("status") or {}).get("revision") == 1 for x in c.list("Certificate", ns))


def test_no_kopf_annotation_or_finalizer_on_any_user_object_after_all_the_restarts(dedicated_cluster: Cluster) -> None:
    assert assert_no_kopf_traces(dedicated_cluster) > 600
