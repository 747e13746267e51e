"""What users see through the real kubectl: `kubectl wait --for=condition=Ready`, `kubectl get -o wide` printer
columns, `kubectl describe` events from cert-manager's components, and the CRD's CEL rules refusing invalid
objects at `kubectl apply` with a message that names the field."""

from __future__ import annotations

import re

import pytest

from tests.controller import expect
from tests.controller.conftest import Cluster

SELFSIGNED_ISSUER = """
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {{name: selfsigned, namespace: {ns}}}
spec: {{selfSigned: {{}}}}
"""

CERTIFICATE = """
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {{name: {name}, namespace: {ns}}}
spec:
  secretName: {name}-tls
  dnsNames: [{name}.example.com]
  issuerRef: {{name: selfsigned}}
"""


def test_kubectl_wait_for_condition_ready_and_get_wide_shows_ready_secret_issuer_status_expiration(
    cluster: Cluster, ns: str
) -> None:
    cluster.apply_yaml(SELFSIGNED_ISSUER.format(ns=ns) + "---" + CERTIFICATE.format(ns=ns, name="web"))
    waited = cluster.kubectl("wait", "--for=condition=Ready", "certificate/web", "-n", ns, "--timeout=30s")
    assert "certificate.cert-manager.io/web condition met" in waited.stdout

    cert = cluster.must_get("Certificate", "web", ns)
    out = cluster.kubectl("get", "certificates", "-n", ns, "-o", "wide").stdout.splitlines()
    header = out[0].split()
    assert header == ["NAME", "READY", "SECRET", "ISSUER", "STATUS", "EXPIRATION", "AGE"] or \
        header[:4] == ["NAME", "READY", "SECRET", "ISSUER"], out[0]
    for column in ("READY", "SECRET", "ISSUER", "STATUS", "EXPIRATION"):
        assert column in header, (column, out[0])
    row = out[1]
    assert row.startswith("web ")
    assert " True " in row and " web-tls " in row and " selfsigned " in row, row
    assert "Certificate is up to date and has not expired" in row, row
    assert cert["status"]["notAfter"] in row, row

    # the default (narrow) view: READY, SECRET, AGE
    narrow = cluster.kubectl("get", "certificates", "-n", ns).stdout.splitlines()
    assert narrow[0].split() == ["NAME", "READY", "SECRET", "AGE"], narrow[0]
    # the cert-manager category lists all its kinds
    everything = cluster.kubectl("get", "cert-manager", "-n", ns).stdout
    for line in ("certificate.cert-manager.io/web", "certificaterequest.cert-manager.io/web-1",
                 "issuer.cert-manager.io/selfsigned"):
        assert line in everything, everything
    # and the issuer's columns
    issuers = cluster.kubectl("get", "issuers", "-n", ns, "-o", "wide").stdout.splitlines()
    assert issuers[0].split()[:3] == ["NAME", "READY", "STATUS"], issuers[0]
    assert re.match(r"selfsigned\s+True\s", issuers[1]), issuers[1]


def test_kubectl_describe_certificate_shows_issuing_generated_requested_issued_events(
    cluster: Cluster, ns: str
) -> None:
    cluster.apply_yaml(SELFSIGNED_ISSUER.format(ns=ns) + "---" + CERTIFICATE.format(ns=ns, name="described"))
    cluster.wait_ready("described", ns)

    def events_listed() -> list[list[str]] | None:
        text = cluster.kubectl("describe", "certificate", "described", "-n", ns).stdout
        block = text.split("Events:", 1)[1]
        rows = [re.split(r"\s{2,}", line.strip()) for line in block.splitlines()[3:] if line.strip()]
        return rows if len(rows) >= 4 else None

    rows = cluster.wait_for("4 events on the Certificate", events_listed, timeout=10)
    # Type, Reason, Age, From, Message (kubectl sorts by time; two events can share a second)
    seen = [(r[0], r[1], r[3], r[4]) for r in rows]
    expected = [
        ("Normal", "Issuing", "cert-manager-certificates-trigger", "Issuing certificate as Secret does not exist"),
        ("Normal", "Generated", "cert-manager-certificates-key-manager", "Stored new private key in temporary Secret"),
        ("Normal", "Requested", "cert-manager-certificates-request-manager",
         'Created new CertificateRequest resource "described-1"'),
        ("Normal", "Issuing", "cert-manager-certificates-issuing", "The certificate has been successfully issued"),
    ]
    for want in expected:
        assert any(s[:3] == want[:3] and s[3].startswith(want[3]) for s in seen), (want, seen)
    assert not [s for s in seen if s[0] != "Normal"], seen
    # each exactly once
    api_events = [e for e in cluster.list("Event", ns) if e["involvedObject"]["name"] == "described"]
    assert len(api_events) == 4 and all(e.get("count", 1) == 1 for e in api_events), \
        [(e["reason"], e.get("count"), e["message"]) for e in api_events]

    # the CertificateRequest's own events: approved by cert-manager.io, then issued by the SelfSigned issuer
    cr_text = cluster.kubectl("describe", "certificaterequest", "described-1", "-n", ns).stdout
    assert re.search(r"Normal\s+cert-manager.io\s+.*cert-manager-certificaterequests-approver\s+"
                     r"Certificate request has been approved by cert-manager.io", cr_text), cr_text
    assert re.search(r"Normal\s+CertificateIssued\s+.*cert-manager-certificaterequests-issuer-selfsigned\s+"
                     r"Certificate fetched from issuer successfully", cr_text), cr_text


INVALID = [
    ("a Certificate without any SAN or common name is refused naming spec",
     "Certificate", "spec: {secretName: x, issuerRef: {name: i}}",
     r'spec: Invalid value: .*at least one of commonName .* dnsNames'),
    ("a Certificate with duration 30m is refused naming spec.duration",
     "Certificate", "spec: {secretName: x, dnsNames: [a.example.com], duration: 30m, issuerRef: {name: i}}",
     r"spec\.duration: Invalid value: .*must be greater than 1h0m0s"),
    ("a Certificate with renewBefore equal to its duration is refused naming spec.renewBefore",
     "Certificate",
     "spec: {secretName: x, dnsNames: [a.example.com], duration: 2h, renewBefore: 2h, issuerRef: {name: i}}",
     r"spec\.renewBefore: Invalid value: .*certificate duration 2h0m0s must be greater than renewBefore 2h0m0s"),
    ("a Certificate with renewBefore longer than the default duration is refused naming spec.renewBefore",
     "Certificate",
     "spec: {secretName: x, dnsNames: [a.example.com], renewBefore: 2200h, issuerRef: {name: i}}",
     r"spec\.renewBefore: Invalid value: .*must be greater than renewBefore"),
    ("an Issuer with two issuer types is refused naming spec.selfSigned",
     "Issuer", "spec: {selfSigned: {}, ca: {secretName: x}}",
     r"spec\.selfSigned: Forbidden: may not specify more than one issuer type"),
    ("an Issuer with no issuer type is refused naming spec",
     "Issuer", "spec: {}",
     r"spec: .*(at least one issuer type|must be set|Required)"),
]


@pytest.mark.parametrize(("kind", "body", "message"), [i[1:] for i in INVALID], ids=[i[0] for i in INVALID])
def test_kubectl_apply_of_an_invalid_object_is_refused_by_the_crd_rules(
    cluster: Cluster, ns: str, kind: str, body: str, message: str
) -> None:
    doc = f"apiVersion: cert-manager.io/v1\nkind: {kind}\nmetadata: {{name: bad, namespace: {ns}}}\n{body}\n"
    proc = cluster.kubectl("apply", "-f", "-", input=doc, check=False)
    assert proc.returncode != 0, proc.stdout
    assert re.search(message, proc.stderr), proc.stderr
    assert f'The {kind} "bad" is invalid' in proc.stderr
    assert cluster.get(kind, "bad", ns) is None


def test_an_issued_certificate_serves_tls_to_a_client_that_trusts_its_ca(cluster: Cluster, ns: str) -> None:
    """A real handshake with Python's ssl, hostname checked, over the Secret read back from the API."""
    pki = expect.ca_material()
    cluster.api.create(expect.ca_secret("ca", ns, pki["root.crt"], pki["root.key"]))
    cluster.apply_yaml(f"""
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {{name: ca, namespace: {ns}}}
spec: {{ca: {{secretName: ca}}}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {{name: served, namespace: {ns}}}
spec:
  secretName: served-tls
  dnsNames: [served.example.com]
  usages: [digital signature, key encipherment, server auth]
  issuerRef: {{name: ca}}
""")
    cluster.wait_ready("served", ns)
    data = cluster.secret_data("served-tls", ns)
    from tests.tools import tls_handshake

    assert tls_handshake(data["tls.crt"], data["tls.key"], data["ca.crt"], "served.example.com").startswith("TLS")


def test_kubectl_apply_of_the_examples_gets_all_their_certificates_ready_and_valid(cluster: Cluster) -> None:
    """examples/ as the README tells users to run them: a SelfSigned root, a CA ClusterIssuer, leaves, an
    intermediate CA Issuer; every Certificate passes the default validators."""
    import pathlib
    import time

    examples = pathlib.Path(__file__).resolve().parents[2] / "examples"
    started = time.monotonic()
    cluster.kubectl("apply", "-f", str(examples))
    cluster.kubectl("wait", "--for=condition=Ready", "certificate", "--all", "-A", "--timeout=60s")
    print(f"examples Ready in {time.monotonic() - started:.1f}s")
    root = cluster.secret_data("example-root-ca", "cert-manager")["tls.crt"]
    certs = cluster.list("Certificate", "cert-manager") + cluster.list("Certificate", "demo")
    assert len(certs) == 9, [c["metadata"]["name"] for c in certs]
    for cert in certs:
        meta = cert["metadata"]
        secret = cluster.must_get("Secret", cert["spec"]["secretName"], meta["namespace"])
        selfsigned = cert["spec"]["issuerRef"]["name"] == "selfsigned"
        expect.validate(cert, secret, issuer_type="selfsigned" if selfsigned else "ca",
                        root_pem=None if selfsigned else root)
