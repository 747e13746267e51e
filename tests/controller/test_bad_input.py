"""Bad input that passes the CRD: a Certificate naming a missing Issuer, a CA Issuer whose Secret is broken.
The operator reports it in conditions and events, issues nothing, never crashes (the `ns` fixture fails a
test whose operator logged a traceback), and recovers on its own once the input is fixed."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest

from tests.controller import expect
from tests.controller.conftest import Cluster, condition

FAO = {"controller.cert-manager.io/fao": "true"}


def certificate(name: str, ns: str, issuer: str) -> dict[str, Any]:
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": name, "namespace": ns},
            "spec": {"secretName": name + "-tls", "dnsNames": [f"{name}.example.com"], "issuerRef": {"name": issuer}}}


def events_of(c: Cluster, ns: str, name: str) -> list[dict[str, Any]]:
    return [e for e in c.list("Event", ns) if e["involvedObject"]["name"] == name]


def test_a_certificate_naming_a_missing_issuer_waits_with_issuer_not_found_then_issues_once_it_exists(
    cluster: Cluster, ns: str
) -> None:
    cluster.api.create(certificate("orphan", ns, "nowhere"))
    cr = cluster.wait_condition("CertificateRequest", "orphan-1", ns, "Ready", "False", "Pending")
    ready = condition(cr, "Ready")
    assert ready is not None and 'Referenced "Issuer" not found' in ready["message"], ready
    assert condition(cr, "Approved") is not None
    reasons = cluster.wait_for("the IssuerNotFound event", lambda: [
        e for e in events_of(cluster, ns, "orphan-1") if e["reason"] == "IssuerNotFound"], timeout=10)
    assert reasons
    cert = cluster.wait_condition("Certificate", "orphan", ns, "Ready", "False")
    assert (condition(cert, "Issuing") or {}).get("status") == "True"
    assert cluster.get("Secret", "orphan-tls", ns) is None

    cluster.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                        "metadata": {"name": "nowhere", "namespace": ns}, "spec": {"selfSigned": {}}})
    cert = cluster.wait_ready("orphan", ns)
    expect.validate(cert, cluster.must_get("Secret", "orphan-tls", ns), issuer_type="selfsigned")
    assert [r["metadata"]["name"] for r in cluster.requests_of("orphan", ns)] == ["orphan-1"]


def _broken(kind: str) -> tuple[bytes, bytes]:
    pki = expect.ca_material()
    if kind == "garbage":
        return b"not a certificate", b"not a key"
    if kind == "mismatch":
        return pki["root.crt"], pki["intermediate.key"]
    if kind == "not a CA":
        leaf, key = expect.make_ca("just a leaf", is_ca=False)
        return expect._pem(leaf), expect._key_pem(key)
    if kind == "missing":
        return b"", b""
    raise AssertionError(kind)


BROKEN = [
    ("garbage in tls.crt and tls.key", "garbage", "ErrGetKeyPair"),
    ("a key that does not belong to the certificate", "mismatch", "ErrInvalidKeyPair"),
    ("a certificate that is not a CA", "not a CA", "ErrInvalidKeyPair"),
]


@pytest.mark.parametrize(("broken", "reason"), [b[1:] for b in BROKEN],
                         ids=[f"a CA Issuer whose Secret holds {b[0]} is not Ready and issues nothing until fixed"
                              for b in BROKEN])
def test_a_ca_issuer_with_a_broken_secret(cluster: Cluster, ns: str, broken: str, reason: str) -> None:
    tls_crt, tls_key = _broken(broken)
    cluster.api.create(expect.ca_secret("ca", ns, tls_crt, tls_key, labels=FAO))
    cluster.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                        "metadata": {"name": "ca", "namespace": ns}, "spec": {"ca": {"secretName": "ca"}}})
    issuer = cluster.wait_condition("Issuer", "ca", ns, "Ready", "False", reason)
    message = (condition(issuer, "Ready") or {}).get("message", "")
    assert message and "ca" in message, message
    assert "PRIVATE KEY" not in message and "Traceback" not in message

    cluster.api.create(certificate("waiting", ns, "ca"))
    cr = cluster.wait_condition("CertificateRequest", "waiting-1", ns, "Ready", "False", "Pending")
    assert (condition(cr, "Ready") or {}).get("message") == "Referenced issuer does not have a Ready status condition"
    assert cluster.get("Secret", "waiting-tls", ns) is None
    # the Certificate's status is written when its reconcile settles, which may be after the request's
    cluster.wait_condition("Certificate", "waiting", ns, "Ready", "False", timeout=10)

    # fix the Secret (it carries the fao label, so the operator watches it): everything becomes Ready
    pki = expect.ca_material()
    secret = cluster.must_get("Secret", "ca", ns)
    secret["data"] = {"tls.crt": base64.b64encode(pki["root.crt"]).decode(),
                      "tls.key": base64.b64encode(pki["root.key"]).decode()}
    cluster.api.replace(secret)
    issuer = cluster.wait_condition("Issuer", "ca", ns, "Ready", "True", "KeyPairVerified", timeout=15)
    assert (condition(issuer, "Ready") or {}).get("message") == "Signing CA verified"
    cert = cluster.wait_ready("waiting", ns, timeout=15)
    expect.validate(cert, cluster.must_get("Secret", "waiting-tls", ns), issuer_type="ca", root_pem=pki["root.crt"])
    assert [r["metadata"]["name"] for r in cluster.requests_of("waiting", ns)] == ["waiting-1"]


def test_a_ca_issuer_whose_secret_is_missing_becomes_ready_when_it_is_created(cluster: Cluster, ns: str) -> None:
    """A Secret created later: the operator sees it only if it carries the fao label (created with it here)."""
    cluster.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                        "metadata": {"name": "ca", "namespace": ns}, "spec": {"ca": {"secretName": "later"}}})
    issuer = cluster.wait_condition("Issuer", "ca", ns, "Ready", "False", "ErrGetKeyPair")
    assert 'secret "later" not found' in (condition(issuer, "Ready") or {}).get("message", "")
    pki = expect.ca_material()
    cluster.api.create(expect.ca_secret("later", ns, pki["root.crt"], pki["root.key"], labels=FAO))
    cluster.wait_condition("Issuer", "ca", ns, "Ready", "True", "KeyPairVerified", timeout=15)


def test_fixing_an_unlabelled_ca_secret_makes_the_issuer_ready_within_15_seconds(cluster: Cluster, ns: str) -> None:
    tls_crt, tls_key = _broken("garbage")
    cluster.api.create(expect.ca_secret("ca", ns, tls_crt, tls_key))
    cluster.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                        "metadata": {"name": "ca", "namespace": ns}, "spec": {"ca": {"secretName": "ca"}}})
    cluster.wait_condition("Issuer", "ca", ns, "Ready", "False", "ErrGetKeyPair")
    pki = expect.ca_material()
    secret = cluster.must_get("Secret", "ca", ns)
    secret["data"] = {"tls.crt": base64.b64encode(pki["root.crt"]).decode(),
                      "tls.key": base64.b64encode(pki["root.key"]).decode()}
    cluster.api.replace(secret)
    cluster.wait_condition("Issuer", "ca", ns, "Ready", "True", "KeyPairVerified", timeout=15)


SPEC_ERRORS = [
    ("an email SAN in display-name form", {"emailAddresses": ["Alice <alice@example.com>"]},
     "spec.emailAddresses[0]", {"emailAddresses": ["alice@example.com"]}),
    ("a literal subject with an unknown attribute", {"literalSubject": "FOO=bar,CN=x"},
     "spec.literalSubject", {"literalSubject": "CN=x,O=Example"}),
]


@pytest.mark.parametrize(("spec", "field", "fixed"), [s[1:] for s in SPEC_ERRORS],
                         ids=[f"a Certificate with {s[0]} passes the CRD, is not Ready (BadConfig), then fixed issues"
                              for s in SPEC_ERRORS])
def test_a_certificate_the_webhook_would_refuse(cluster: Cluster, ns: str, spec: dict[str, Any], field: str,
                                                fixed: dict[str, Any]) -> None:
    cluster.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                        "metadata": {"name": "selfsigned", "namespace": ns}, "spec": {"selfSigned": {}}})
    cluster.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                        "metadata": {"name": "odd", "namespace": ns},
                        "spec": {"secretName": "odd-tls", "issuerRef": {"name": "selfsigned"}, **spec}})
    cert = cluster.wait_condition("Certificate", "odd", ns, "Ready", "False", "BadConfig")
    assert field in (condition(cert, "Ready") or {}).get("message", "")
    warnings = cluster.wait_for("the BadConfig warning", lambda: [
        e for e in events_of(cluster, ns, "odd") if e["reason"] == "BadConfig" and e["type"] == "Warning"])
    assert field in warnings[0]["message"]
    assert not cluster.requests_of("odd", ns) and cluster.get("Secret", "odd-tls", ns) is None

    patch = {"spec": dict.fromkeys(spec) | fixed}
    cluster.api.patch("certificates", "odd", ns, patch)
    cert = cluster.wait_ready("odd", ns)
    expect.validate(cert, cluster.must_get("Secret", "odd-tls", ns), issuer_type="selfsigned")


def test_deleting_a_certificate_in_the_middle_of_its_issuance_leaves_nothing_behind(cluster: Cluster,
                                                                                   ns: str) -> None:
    cluster.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                        "metadata": {"name": "selfsigned", "namespace": ns}, "spec": {"selfSigned": {}}})
    hold = cluster.server.add_fault(verb="patch", resource="certificaterequests/status", namespace=ns, status=500)
    try:
        cluster.api.create(certificate("gone", ns, "selfsigned"))
        cluster.wait_for("the request", lambda: cluster.get("CertificateRequest", "gone-1", ns))
        assert cluster.next_key_secrets(ns)
        cluster.api.delete("certificates", "gone", ns)
        cluster.wait_for("the request and the temporary key garbage-collected", lambda: not (
            cluster.requests_of("gone", ns) or cluster.next_key_secrets(ns)), timeout=15)
    finally:
        cluster.server.faults.remove(hold)
    time.sleep(2.0)  # nothing comes back
    assert cluster.get("Certificate", "gone", ns) is None
    assert not cluster.requests_of("gone", ns) and not cluster.next_key_secrets(ns)
    assert cluster.get("Secret", "gone-tls", ns) is None


def test_a_ca_cluster_issuer_reads_its_secret_from_the_cluster_resource_namespace_only(cluster: Cluster,
                                                                                      ns: str) -> None:
    """The Secret exists, but in the Certificate's namespace: a ClusterIssuer looks in cert-manager's."""
    pki = expect.ca_material()
    secret_name = f"misplaced-{ns}"
    cluster.api.create(expect.ca_secret(secret_name, ns, pki["root.crt"], pki["root.key"]))
    issuer = f"misplaced-{ns}"
    cluster.api.create({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": issuer},
                        "spec": {"ca": {"secretName": secret_name}}})
    try:
        obj = cluster.wait_condition("ClusterIssuer", issuer, None, "Ready", "False", "ErrGetKeyPair")
        message = (condition(obj, "Ready") or {}).get("message", "")
        assert f'secret "{secret_name}" not found in namespace "cert-manager"' in message, message
        # moved where it belongs (with the fao label, so the operator sees it arrive): Ready
        cluster.api.create(expect.ca_secret(secret_name, "cert-manager", pki["root.crt"], pki["root.key"],
                                            labels=FAO))
        cluster.wait_condition("ClusterIssuer", issuer, None, "Ready", "True", "KeyPairVerified", timeout=15)
    finally:
        cluster.api.delete("clusterissuers", issuer)
        cluster.api.delete("secrets", secret_name, "cert-manager")


def test_a_rotated_unlabelled_ca_secret_signs_the_next_certificate_at_once(cluster: Cluster, ns: str) -> None:
    """The CA Secret carries no fao label (as cert-manager's docs create it): the operator does not watch it,
    but reads it when signing, so a rotated CA signs the very next request."""
    pki = expect.ca_material()
    cluster.api.create(expect.ca_secret("ca", ns, pki["root.crt"], pki["root.key"]))
    cluster.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                        "metadata": {"name": "ca", "namespace": ns}, "spec": {"ca": {"secretName": "ca"}}})
    cluster.api.create(certificate("before", ns, "ca"))
    cert = cluster.wait_ready("before", ns)
    expect.validate(cert, cluster.must_get("Secret", "before-tls", ns), issuer_type="ca", root_pem=pki["root.crt"])

    other, other_key = expect.make_ca("issuer tests rotated root CA")
    secret = cluster.must_get("Secret", "ca", ns)
    secret["data"] = {"tls.crt": base64.b64encode(expect._pem(other)).decode(),
                      "tls.key": base64.b64encode(expect._key_pem(other_key)).decode()}
    cluster.api.replace(secret)
    cluster.api.create(certificate("after", ns, "ca"))
    cert = cluster.wait_ready("after", ns)
    expect.validate(cert, cluster.must_get("Secret", "after-tls", ns), issuer_type="ca",
                    root_pem=expect._pem(other))
