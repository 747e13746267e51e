"""The cmctl-style commands (`issuer status certificate`, `renew`, `approve`, `deny`, `inspect secret`,
`check api`) against the embedded API server with the project's CRDs installed (server-side apply through
`issuer.kube.client`). Objects are created directly, statuses through the /status subresource, Secrets hold
real certificates made here with `cryptography`. Most cases call `issuer.cli.main([...])` in process and
read capsys; a few run `python -m issuer ...` as users do. Every command's output is checked in text and
`-o json`, and its error cases: missing object, unreachable server, missing kubeconfig, approve twice, deny
after approve, renew of an Issuing Certificate, usage errors (exit 2)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import hypothesis
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import strategies as st

from issuer import cli
from issuer.kube import client as kube_client
from issuer.kube import config
from issuer.kube import resources as r
from issuer.testing.server import ServerThread

REPO = pathlib.Path(__file__).resolve().parents[2]
CRDS = REPO / "crds"
CM_CRDS = ("certificates", "certificaterequests", "issuers", "clusterissuers")
ACME_CRDS = ("orders", "challenges")
T = TypeVar("T")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def stamp(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the cluster -------------------------------------------------------------------------------------------


class Cluster:
    """A ServerThread with CRDs, and `do(fn)` to run `await fn(client)` with a fresh project Client."""

    def __init__(self, thread: ServerThread, kubeconfig: pathlib.Path) -> None:
        self.thread = thread
        self.kubeconfig = kubeconfig

    def do(self, fn: Callable[[kube_client.Client], Awaitable[T]]) -> T:
        async def main() -> T:
            async with kube_client.Client(config.load_kubeconfig(self.kubeconfig)) as kube:
                return await fn(kube)

        return asyncio.run(main())

    def install_crds(self, plurals: tuple[str, ...]) -> None:
        async def install(kube: kube_client.Client) -> None:
            for plural in plurals:
                group = "acme.cert-manager.io" if plural in ACME_CRDS else "cert-manager.io"
                body = yaml.safe_load((CRDS / f"{plural}.{group}.yaml").read_text())
                await kube.apply(r.CUSTOM_RESOURCE_DEFINITIONS, body, field_manager="issuer-tests", force=True)
            for plural in plurals:
                group = "acme.cert-manager.io" if plural in ACME_CRDS else "cert-manager.io"
                for _ in range(200):
                    crd = await kube.get(r.CUSTOM_RESOURCE_DEFINITIONS, f"{plural}.{group}")
                    conds = {c["type"]: c["status"] for c in (crd or {}).get("status", {}).get("conditions", ())}
                    if conds.get("Established") == "True":
                        break
                    await asyncio.sleep(0.01)
                else:
                    raise AssertionError(f"{plural} never became Established")

        self.do(install)

    def namespace(self) -> str:
        name = f"t-{uuid.uuid4().hex[:8]}"
        self.do(lambda kube: kube.create(r.NAMESPACES, {"metadata": {"name": name}}))
        return name

    def create(self, res: r.Resource, body: dict[str, Any], namespace: str | None,
               status: dict[str, Any] | None = None) -> dict[str, Any]:
        async def go(kube: kube_client.Client) -> dict[str, Any]:
            made = await kube.create(res, body, namespace)
            if status is not None:
                made = await kube.patch_status(res, made["metadata"]["name"], {"status": status}, namespace)
            return made

        return self.do(go)

    def get(self, res: r.Resource, name: str, namespace: str | None) -> dict[str, Any]:
        found = self.do(lambda kube: kube.get(res, name, namespace))
        assert found is not None
        return found


def _start(tmp: pathlib.Path, plurals: tuple[str, ...]) -> tuple[ServerThread, Cluster]:
    thread = ServerThread(port=0, kubeconfig=tmp / "kubeconfig")
    thread.start()
    cluster = Cluster(thread, thread.kubeconfig_path)
    if plurals:
        cluster.install_crds(plurals)
    return thread, cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One embedded API server with all six CRDs for the module; each test takes its own namespace."""
    thread, made = _start(tmp_path_factory.mktemp("commands"), CM_CRDS + ACME_CRDS)
    try:
        yield made
    finally:
        thread.stop()


@pytest.fixture
def bare(tmp_path: pathlib.Path) -> Iterator[Cluster]:
    """A server without any CRD."""
    thread, made = _start(tmp_path, ())
    try:
        yield made
    finally:
        thread.stop()


@pytest.fixture
def ns(cluster: Cluster) -> str:
    return cluster.namespace()


@pytest.fixture
def closed_port_kubeconfig(tmp_path: pathlib.Path) -> pathlib.Path:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "closed-kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cmd(cluster: Cluster, *argv: str) -> list[str]:
    return [*argv, "--kubeconfig", str(cluster.kubeconfig)]


# -- certificates made here --------------------------------------------------------------------------------


def _name(cn: str, org: str = "") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def make_ca(cn: str = "Test Root CA") -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(_name(cn, "Example Org")).issuer_name(_name(cn, "Example Org"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_leaf(ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, dns: list[str], *,
              days: int = 90, start: dt.datetime | None = None,
              ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    begin = start or NOW - dt.timedelta(hours=1)
    cert = (x509.CertificateBuilder().subject_name(_name(dns[0])).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(0x1234ABCD)
            .not_valid_before(begin).not_valid_after(begin + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                [x509.UniformResourceIdentifier("http://crl.example.com/ca.crl")], None, None, None)]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def tls_secret(name: str, key: ec.EllipticCurvePrivateKey, leaf: x509.Certificate, ca: x509.Certificate | None,
               **extra: bytes) -> dict[str, Any]:
    data = {"tls.crt": b64(pem(leaf)), "tls.key": b64(key_pem(key))}
    if ca is not None:
        data["ca.crt"] = b64(pem(ca))
    data.update({k.replace("_", "."): b64(v) for k, v in extra.items()})
    return {"metadata": {"name": name}, "type": "kubernetes.io/tls", "data": data}


def csr_b64() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder().subject_name(_name("web.example.com"))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName("web.example.com")]), critical=False)
           .sign(key, hashes.SHA256()))
    return b64(csr.public_bytes(serialization.Encoding.PEM))


def certificate(name: str, *, labels: dict[str, str] | None = None, issuer: str = "ca") -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"secretName": f"{name}-tls", "dnsNames": ["web.example.com", "www.example.com"],
                     "issuerRef": {"name": issuer, "kind": "Issuer"}}}


def ready(status: str = "True", reason: str = "Ready",
          message: str = "Certificate is up to date and has not expired") -> dict[str, Any]:
    return {"type": "Ready", "status": status, "reason": reason, "message": message,
            "lastTransitionTime": stamp(NOW), "observedGeneration": 1}


def cert_status(*conds: dict[str, Any], revision: int | None = 1) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": list(conds), "notBefore": stamp(NOW - dt.timedelta(hours=1)),
                              "notAfter": stamp(NOW + dt.timedelta(days=90)),
                              "renewalTime": stamp(NOW + dt.timedelta(days=60))}
    if revision is not None:
        status["revision"] = revision
    return status


def owner(obj: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def request(name: str, *, owned_by: dict[str, Any] | None = None, revision: int | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if owned_by is not None:
        meta["ownerReferences"] = [owner(owned_by)]
    if revision is not None:
        meta["annotations"] = {"cert-manager.io/certificate-revision": str(revision)}
    return {"metadata": meta, "spec": {"request": csr_b64(), "issuerRef": {"name": "ca", "kind": "Issuer"}}}


def event(cluster: Cluster, obj: dict[str, Any], reason: str, message: str, type_: str = "Normal") -> None:
    cluster.do(lambda kube: kube.post_event(obj, type_, reason, message, "cert-manager-certificates-trigger"))


def issued_certificate(cluster: Cluster, ns: str, name: str = "web") -> dict[str, Any]:
    """An Issuer (Ready), a Certificate (Ready, revision 1), its Secret (leaf + ca.crt) and CertificateRequest."""
    ca_key, ca = make_ca()
    cluster.create(r.ISSUERS, {"metadata": {"name": "ca"}, "spec": {"ca": {"secretName": "ca-key-pair"}}}, ns,
                   {"conditions": [{"type": "Ready", "status": "True", "reason": "KeyPairVerified",
                                    "message": "Signing CA verified", "lastTransitionTime": stamp(NOW)}]})
    cert = cluster.create(r.CERTIFICATES, certificate(name), ns, cert_status(ready()))
    key, leaf = make_leaf(ca_key, ca, ["web.example.com", "www.example.com"])
    cluster.create(r.SECRETS, tls_secret(f"{name}-tls", key, leaf, ca), ns)
    cluster.create(r.CERTIFICATE_REQUESTS, request(f"{name}-1", owned_by=cert, revision=1), ns,
                   {"conditions": [
                       {"type": "Approved", "status": "True", "reason": "cert-manager.io",
                        "message": "Certificate request has been approved by cert-manager.io",
                        "lastTransitionTime": stamp(NOW)},
                       {"type": "Ready", "status": "True", "reason": "Issued",
                        "message": "Certificate fetched from issuer successfully", "lastTransitionTime": stamp(NOW)}]})
    event(cluster, cert, "Issuing", "The certificate has been successfully issued")
    return cert


def _samples() -> list[bytes]:
    ca_key, ca = make_ca("Sample CA")
    key, leaf = make_leaf(ca_key, ca, ["s.example.com"])
    return [pem(leaf), pem(ca), pem(leaf) + pem(ca), key_pem(key), pem(leaf)[:200], b"-----BEGIN CERTIFICATE-----\n",
            pem(leaf).replace(b"M", b"N", 3)]


_SAMPLES = _samples()


# -- status certificate ------------------------------------------------------------------------------------


def test_status_of_an_issued_certificate(cluster: Cluster, ns: str, capsys: pytest.CaptureFixture[str]) -> None:
    issued_certificate(cluster, ns)
    code, out, err = run(capsys, *cmd(cluster, "status", "certificate", "web", "-n", ns))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:3] == ["Name: web", f"Namespace: {ns}", lines[2]] and lines[2].startswith("Created at: 20")
    assert "  Ready: True, Reason: Ready, Message: Certificate is up to date and has not expired" in lines
    assert lines[lines.index("DNS Names:") + 1:lines.index("DNS Names:") + 3] == ["- web.example.com",
                                                                                 "- www.example.com"]
    events = lines[lines.index("Events:") + 3]
    assert events.split()[:2] == ["Normal", "Issuing"] and "The certificate has been successfully issued" in events
    assert "cert-manager-certificates-trigger" in events
    assert lines[lines.index("Issuer:") + 1:lines.index("Issuer:") + 4] == ["  Name: ca", "  Kind: Issuer",
                                                                           "  Type: ca"]
    assert "    Ready: True, Reason: KeyPairVerified, Message: Signing CA verified" in lines
    assert "  Name: web-tls" in lines
    assert "  Issuer Common Name: Test Root CA" in lines and "  Issuer Organisation: Example Org" in lines
    assert "  Key Usage: digital signature" in lines and "  Extended Key Usages: server auth" in lines
    assert "  Public Key Algorithm: ECDSA" in lines and "  Signature Algorithm: ECDSA-SHA256" in lines
    assert "  Serial Number: 1234abcd" in lines and "  Is a CA certificate: false" in lines
    assert "  DNS Names: web.example.com, www.example.com" in lines
    assert "  CA (ca.crt): CN=Test Root CA,O=Example Org" in lines
    assert f"Renewal Time: {stamp(NOW + dt.timedelta(days=60))}" in lines
    req = lines.index("CertificateRequest:")
    assert lines[req + 1:req + 4] == ["  Name: web-1", f"  Namespace: {ns}", "  Revision: 1 (current)"]
    assert "    Approved: True, Reason: cert-manager.io, Message: Certificate request has been approved by " \
           "cert-manager.io" in lines
    assert "Order:" not in lines and "Challenges:" not in lines


def test_status_json_has_everything(cluster: Cluster, ns: str, capsys: pytest.CaptureFixture[str]) -> None:
    issued_certificate(cluster, ns)
    code, out, _ = run(capsys, *cmd(cluster, "status", "cert", "web", "-n", ns, "-o", "json"))
    assert code == 0
    doc = json.loads(out)
    assert doc["name"] == "web" and doc["namespace"] == ns and doc["ready"] is True
    assert [c["type"] for c in doc["conditions"]] == ["Ready"]
    assert doc["dnsNames"] == ["web.example.com", "www.example.com"]
    assert [(e["type"], e["reason"], e["count"]) for e in doc["events"]] == [("Normal", "Issuing", 1)]
    assert doc["issuer"]["conditions"][0]["reason"] == "KeyPairVerified" and doc["issuer"]["type"] == "ca"
    crt = doc["secret"]["certificate"]
    assert crt["dnsNames"] == ["web.example.com", "www.example.com"] and crt["issuer"]["commonName"] == "Test Root CA"
    assert crt["serialNumber"] == "1234abcd" and crt["publicKeyAlgorithm"] == "ECDSA" and crt["isCA"] is False
    assert crt["usages"] == ["digital signature", "server auth"]
    assert doc["secret"]["ca"] == ["CN=Test Root CA,O=Example Org"]
    assert doc["renewalTime"] == stamp(NOW + dt.timedelta(days=60)) and doc["revision"] == 1
    assert doc["certificateRequest"]["name"] == "web-1" and doc["certificateRequest"]["role"] == "current"
    assert [c["type"] for c in doc["certificateRequest"]["conditions"]] == ["Approved", "Ready"]
    assert doc["order"] is None and doc["challenges"] == []
    assert "tls.key" not in out and "PRIVATE KEY" not in out


def test_status_not_ready_with_next_request_order_and_challenges(cluster: Cluster, ns: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    cert = cluster.create(r.CERTIFICATES, certificate("acme", issuer="le"), ns, cert_status(
        ready("False", "DoesNotExist", "Issuing certificate as Secret does not exist"),
        {"type": "Issuing", "status": "True", "reason": "DoesNotExist",
         "message": "Issuing certificate as Secret does not exist", "lastTransitionTime": stamp(NOW)},
        revision=None))
    cluster.create(r.ISSUERS, {"metadata": {"name": "le"}, "spec": {"acme": {
        "server": "https://acme.example.com/dir", "privateKeySecretRef": {"name": "le-key"},
        "solvers": [{"http01": {"ingress": {}}}]}}}, ns)
    req = cluster.create(r.CERTIFICATE_REQUESTS, request("acme-1", owned_by=cert, revision=1), ns, {"conditions": [
        {"type": "Ready", "status": "False", "reason": "Pending",
         "message": "Waiting on certificate issuance from order acme-1-123: \"pending\"",
         "lastTransitionTime": stamp(NOW)}]})
    cluster.create(r.CERTIFICATE_REQUESTS, request("stranger-1", revision=1), ns)  # not owned: ignored
    order = cluster.create(r.ORDERS, {
        "metadata": {"name": "acme-1-123", "ownerReferences": [owner(req)]},
        "spec": {"request": csr_b64(), "issuerRef": {"name": "le"}, "dnsNames": ["web.example.com"]},
    }, ns, {"state": "pending", "url": "https://acme.example.com/order/1", "authorizations": [
        {"url": "https://acme.example.com/authz/1", "identifier": "web.example.com", "initialState": "pending",
         "wildcard": False, "challenges": [{"type": "http-01", "url": "https://acme.example.com/chall/1",
                                            "token": "tok"}]}]})
    cluster.create(r.CHALLENGES, {
        "metadata": {"name": "acme-1-123-456", "ownerReferences": [owner(order)]},
        "spec": {"url": "https://acme.example.com/chall/1", "authorizationURL": "https://acme.example.com/authz/1",
                 "dnsName": "web.example.com", "type": "HTTP-01", "token": "tok", "key": "tok.thumb",
                 "solver": {"http01": {"ingress": {}}}, "issuerRef": {"name": "le"}},
    }, ns, {"processing": True, "presented": True, "state": "pending", "reason": "Waiting for HTTP-01 propagation"})
    event(cluster, req, "OrderCreated", "Created Order resource acme-1-123")

    code, out, err = run(capsys, *cmd(cluster, "status", "certificate", "acme", "-n", ns))
    assert (code, err) == (0, "")  # found: 0 even when not Ready
    lines = out.splitlines()
    assert "  Ready: False, Reason: DoesNotExist, Message: Issuing certificate as Secret does not exist" in lines
    assert "  Issuing: True, Reason: DoesNotExist, Message: Issuing certificate as Secret does not exist" in lines
    assert "Events:  <none>" in lines and "  Type: acme" in lines and "  No Conditions set" in lines
    assert "  Error: Secret \"acme-tls\" not found" in lines
    assert "Not Before:" in out and "Renewal Time:" in out
    assert lines[lines.index("CertificateRequest:") + 1] == "  Name: acme-1"
    assert "  Revision: 1 (next)" in lines and "OrderCreated" in out
    assert "  State: pending, Reason:" in lines and "  URL: https://acme.example.com/order/1" in lines
    assert ("    URL: https://acme.example.com/authz/1, Identifier: web.example.com, Initial State: pending, "
            "Wildcard: false, Challenge types: http-01") in lines
    assert lines[-2:] == ["Challenges:", "- Name: acme-1-123-456, Type: HTTP-01, Token: tok, Key: tok.thumb, "
                          "State: pending, Reason: Waiting for HTTP-01 propagation, Processing: true, Presented: true"]

    code, out, _ = run(capsys, *cmd(cluster, "status", "certificate", "acme", "-n", ns, "-o", "json"))
    doc = json.loads(out)
    assert code == 0 and doc["ready"] is False
    assert doc["secret"] == {"name": "acme-tls", "error": 'Secret "acme-tls" not found'}
    assert doc["certificateRequest"]["role"] == "next" and doc["certificateRequest"]["events"][0]["reason"] == \
        "OrderCreated"
    assert doc["order"]["state"] == "pending" and doc["order"]["authorizations"][0]["identifier"] == "web.example.com"
    assert doc["challenges"] == [{"name": "acme-1-123-456", "type": "HTTP-01", "dnsName": "web.example.com",
                                  "token": "tok", "key": "tok.thumb", "state": "pending",
                                  "reason": "Waiting for HTTP-01 propagation", "processing": True,
                                  "presented": True, "events": []}]


def test_status_of_a_missing_certificate_and_issuer(cluster: Cluster, ns: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *cmd(cluster, "status", "certificate", "ghost", "-n", ns))
    assert (code, out) == (1, "")
    assert err == f'error: Certificate "ghost" not found in namespace "{ns}"\n'
    cluster.create(r.CERTIFICATES, certificate("lonely", issuer="nobody"), ns)
    code, out, _ = run(capsys, *cmd(cluster, "status", "certificate", "lonely", "-n", ns))
    assert code == 0
    assert '  Error: Issuer "nobody" not found' in out and "No Conditions set" in out
    assert "No CertificateRequest found for this Certificate" in out


def test_status_tolerates_a_cluster_without_the_acme_crds(tmp_path: pathlib.Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    thread, partial = _start(tmp_path, CM_CRDS)
    try:
        ns = partial.namespace()
        issued_certificate(partial, ns)
        code, out, err = run(capsys, *cmd(partial, "status", "certificate", "web", "-n", ns, "-o", "json"))
        assert (code, err) == (0, "")
        assert json.loads(out)["order"] is None
    finally:
        thread.stop()


def test_namespace_defaults_to_the_kubeconfig_context(cluster: Cluster, ns: str, tmp_path: pathlib.Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    issued_certificate(cluster, ns)
    path = tmp_path / "ns-kubeconfig"
    path.write_text(json.dumps(cluster.thread.srv.kubeconfig(namespace=ns)))
    code, out, _ = run(capsys, "status", "certificate", "web", "--kubeconfig", str(path), "-o", "json")
    assert code == 0 and json.loads(out)["namespace"] == ns


# -- renew -------------------------------------------------------------------------------------------------


def test_renew_sets_issuing_and_keeps_the_other_conditions(cluster: Cluster, ns: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    before = cluster.create(r.CERTIFICATES, certificate("web"), ns, cert_status(ready()))
    code, out, err = run(capsys, *cmd(cluster, "renew", "web", "-n", ns))
    assert (code, out, err) == (0, f"Manually triggered issuance of Certificate {ns}/web\n", "")
    after = cluster.get(r.CERTIFICATES, "web", ns)
    conds = {c["type"]: c for c in after["status"]["conditions"]}
    assert conds["Ready"] == before["status"]["conditions"][0]
    assert conds["Issuing"]["status"] == "True" and conds["Issuing"]["reason"] == "ManuallyTriggered"
    assert conds["Issuing"]["message"] == "Certificate re-issuance manually triggered"
    assert conds["Issuing"]["observedGeneration"] == after["metadata"]["generation"]
    assert after["status"]["renewalTime"] == before["status"]["renewalTime"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"]  # status only


def test_renew_refuses_a_certificate_that_is_already_issuing(cluster: Cluster, ns: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    cluster.create(r.CERTIFICATES, certificate("web"), ns, cert_status(ready()))
    assert run(capsys, *cmd(cluster, "renew", "web", "-n", ns))[0] == 0
    rv = cluster.get(r.CERTIFICATES, "web", ns)["metadata"]["resourceVersion"]
    code, out, err = run(capsys, *cmd(cluster, "renew", "web", "-n", ns))
    assert (code, out) == (1, "")
    assert err == f"error: Certificate {ns}/web is already issuing; not triggering it again\n"
    assert cluster.get(r.CERTIFICATES, "web", ns)["metadata"]["resourceVersion"] == rv
    code, out, err = run(capsys, *cmd(cluster, "renew", "ghost", "-n", ns))
    assert (code, err) == (1, f'error: Certificate "ghost" not found in namespace "{ns}"\n')


def test_renew_all_label_selector_and_all_namespaces(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    ns1, ns2 = cluster.namespace(), cluster.namespace()
    for ns in (ns1, ns2):
        cluster.create(r.CERTIFICATES, certificate("a", labels={"team": "x"}), ns, cert_status(ready()))
        cluster.create(r.CERTIFICATES, certificate("b"), ns, cert_status(ready()))
    code, out, _ = run(capsys, *cmd(cluster, "renew", "-l", "team=x", "-A", "-o", "json"))
    assert code == 0
    mine = [x for x in json.loads(out)["certificates"] if x["namespace"] in (ns1, ns2)]
    assert mine == [{"namespace": n, "name": "a", "result": "triggered"} for n in sorted((ns1, ns2))]
    code, out, err = run(capsys, *cmd(cluster, "renew", "--all", "-n", ns1))
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"Skipping Certificate {ns1}/a: it is already issuing",
                                f"Manually triggered issuance of Certificate {ns1}/b"]
    empty = cluster.namespace()
    assert run(capsys, *cmd(cluster, "renew", "--all", "-n", empty)) == (0, f"No Certificates found in namespace "
                                                                        f"{empty}\n", "")


def test_renew_retries_a_conflict(cluster: Cluster, ns: str, capsys: pytest.CaptureFixture[str]) -> None:
    cluster.create(r.CERTIFICATES, certificate("web"), ns, cert_status(ready()))
    fault = cluster.thread.add_fault(verb="update", resource="certificates/status", namespace=ns, status=409, times=2)
    try:
        code, out, _ = run(capsys, *cmd(cluster, "renew", "web", "-n", ns, "-o", "json"))
    finally:
        cluster.thread.faults.remove(fault)
    assert fault.hits == 2
    assert (code, json.loads(out)) == (0, {"certificates": [{"namespace": ns, "name": "web", "result": "triggered"}]})


def test_renew_sends_the_resource_version_as_a_precondition(cluster: Cluster, ns: str) -> None:
    from issuer.commands import renew

    cert = cluster.create(r.CERTIFICATES, certificate("web"), ns, cert_status(ready()))

    async def stale_write(kube: kube_client.Client) -> None:
        await kube.patch_merge(r.CERTIFICATES, "web", {"metadata": {"labels": {"x": "y"}}}, ns)
        body = {**cert, "status": {"conditions": renew.issuing_conditions(cert, stamp(NOW))}}
        await kube.replace_status(r.CERTIFICATES, body, ns)

    from issuer.kube import errors

    with pytest.raises(errors.Conflict):
        cluster.do(stale_write)


@pytest.mark.parametrize(("argv", "message"), [
    ((), "give one or more Certificate names, --all or -l SELECTOR"),
    (("a", "--all"), "Certificate names cannot be combined with --all or -l"),
    (("a", "-A"), "Certificate names cannot be combined with -A/--all-namespaces"),
], ids=["nothing to renew", "names with --all", "names with -A"])
def test_renew_usage_errors(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str) -> None:
    assert run(capsys, "renew", *argv) == (2, "", f"error: {message}\n")


# -- approve and deny --------------------------------------------------------------------------------------


def test_approve_then_approve_again_or_deny_is_refused(cluster: Cluster, ns: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    cluster.create(r.CERTIFICATE_REQUESTS, request("req"), ns)
    code, out, err = run(capsys, *cmd(cluster, "approve", "req", "-n", ns))
    assert (code, out, err) == (0, f"Approved CertificateRequest '{ns}/req'\n", "")
    conds = cluster.get(r.CERTIFICATE_REQUESTS, "req", ns)["status"]["conditions"]
    assert [(c["type"], c["status"], c["reason"], c["message"]) for c in conds] == [
        ("Approved", "True", "KubectlCertManager", 'manually approved by "issuer"')]
    for verb in ("approve", "deny"):
        code, out, err = run(capsys, *cmd(cluster, verb, "req", "-n", ns))
        assert (code, out, err) == (1, "", f"error: CertificateRequest {ns}/req is already approved\n")
    assert cluster.get(r.CERTIFICATE_REQUESTS, "req", ns)["status"]["conditions"] == conds


def test_deny_with_reason_and_message_then_approve_is_refused(cluster: Cluster, ns: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    cluster.create(r.CERTIFICATE_REQUESTS, request("req"), ns, {"conditions": [
        {"type": "Ready", "status": "False", "reason": "Pending", "message": "Waiting for approval",
         "lastTransitionTime": stamp(NOW)}]})
    code, out, _ = run(capsys, *cmd(cluster, "deny", "req", "-n", ns, "--reason", "Policy",
                                    "--message", "not this one", "-o", "json"))
    doc = json.loads(out)
    assert code == 0 and doc["namespace"] == ns and doc["name"] == "req"
    assert {k: doc["condition"][k] for k in ("type", "status", "reason", "message")} == {
        "type": "Denied", "status": "True", "reason": "Policy", "message": "not this one"}
    conds = cluster.get(r.CERTIFICATE_REQUESTS, "req", ns)["status"]["conditions"]
    assert [c["type"] for c in conds] == ["Ready", "Denied"]
    code, out, err = run(capsys, *cmd(cluster, "approve", "req", "-n", ns))
    assert (code, err) == (1, f"error: CertificateRequest {ns}/req is already denied\n")
    code, out, err = run(capsys, *cmd(cluster, "deny", "other", "-n", ns))
    assert (code, out) == (1, "")
    assert err == f'error: CertificateRequest "other" not found in namespace "{ns}"\n'


def test_deny_default_message_and_empty_reason(cluster: Cluster, ns: str, capsys: pytest.CaptureFixture[str]) -> None:
    cluster.create(r.CERTIFICATE_REQUESTS, request("req"), ns)
    assert run(capsys, *cmd(cluster, "deny", "req", "-n", ns, "--reason", " ")) == (
        2, "", "error: a reason must be given (--reason)\n")
    assert run(capsys, *cmd(cluster, "deny", "req", "-n", ns))[:2] == (0, f"Denied CertificateRequest '{ns}/req'\n")
    cond = cluster.get(r.CERTIFICATE_REQUESTS, "req", ns)["status"]["conditions"][0]
    assert (cond["reason"], cond["message"]) == ("KubectlCertManager", 'manually denied by "issuer"')


def test_approve_retries_a_conflict(cluster: Cluster, ns: str, capsys: pytest.CaptureFixture[str]) -> None:
    cluster.create(r.CERTIFICATE_REQUESTS, request("req"), ns)
    fault = cluster.thread.add_fault(verb="update", resource="certificaterequests/status", namespace=ns,
                                     status=409, times=1)
    try:
        assert run(capsys, *cmd(cluster, "approve", "req", "-n", ns))[0] == 0
    finally:
        cluster.thread.faults.remove(fault)
    assert fault.hits == 1
    assert cluster.get(r.CERTIFICATE_REQUESTS, "req", ns)["status"]["conditions"][0]["type"] == "Approved"


# -- inspect secret ----------------------------------------------------------------------------------------


def test_inspect_secret_from_the_cluster(cluster: Cluster, ns: str, capsys: pytest.CaptureFixture[str]) -> None:
    ca_key, ca = make_ca()
    key, leaf = make_leaf(ca_key, ca, ["web.example.com"])
    cluster.create(r.SECRETS, tls_secret("web-tls", key, leaf, ca, keystore_p12=b"x", truststore_p12=b"y"), ns)
    code, out, err = run(capsys, *cmd(cluster, "inspect", "secret", "web-tls", "-n", ns))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"Secret: {ns}/web-tls"
    dns = lines.index("\tDNS Names:")
    assert lines[dns + 1] == "\t\t- web.example.com" and "\tURIs: <none>" in lines
    assert lines[lines.index("\tUsages:") + 1:lines.index("\tUsages:") + 3] == ["\t\t- digital signature",
                                                                             "\t\t- server auth"]
    assert f"\tNot Before: {(NOW - dt.timedelta(hours=1)).strftime('%a, %d %b %Y %H:%M:%S UTC')}" in lines
    issued_by = lines.index("Issued By:")
    assert lines[issued_by + 1:issued_by + 5] == ["\tCommon Name\tTest Root CA", "\tOrganization\tExample Org",
                                                  "\tOrganizationalUnit\t<none>", "\tCountry\t<none>"]
    assert lines[lines.index("Issued For:") + 1] == "\tCommon Name\tweb.example.com"
    assert "\tSigning Algorithm:\tECDSA-SHA256" in lines and "\tPublic Key Algorithm:\tECDSA 256" in lines
    assert "\tSerial Number:\t1234abcd" in lines and "\tIs a CA certificate: false" in lines
    fp = leaf.fingerprint(hashes.SHA256()).hex(":").upper()
    assert f"\tFingerprints:\tSHA-256 {fp}" in lines
    assert "\tCRL:\thttp://crl.example.com/ca.crl" in lines and "\tOCSP:\t<none>" in lines
    assert "\t[0] Subject: CN=web.example.com" in lines and "\t    Issuer:  CN=Test Root CA,O=Example Org" in lines
    assert "\tTrusted by ca.crt:\tyes" in lines and "\tPrivate key matches:\tyes" in lines
    assert "\tKeystores:\tkeystore.p12, truststore.p12" in lines

    code, out, _ = run(capsys, *cmd(cluster, "inspect", "secret", "web-tls", "-n", ns, "-o", "json"))
    doc = json.loads(out)
    assert code == 0 and doc["secret"] == f"{ns}/web-tls"
    assert doc["certificate"]["fingerprints"]["sha256"] == fp
    assert doc["certificate"]["fingerprints"]["sha1"] == leaf.fingerprint(hashes.SHA1()).hex(":").upper()
    assert doc["certificate"]["subject"]["commonName"] == "web.example.com"
    assert doc["chain"][0]["issuer"] == "CN=Test Root CA,O=Example Org" and len(doc["ca"]) == 1
    assert doc["debugging"] == {"trustedByCA": True, "trustProblem": "", "privateKeyMatches": True,
                                "privateKeyProblem": "", "expired": False,
                                "keystores": ["keystore.p12", "truststore.p12"]}


def test_inspect_secret_untrusted_expired_and_mismatched_key(cluster: Cluster, ns: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    ca_key, ca = make_ca()
    _, other_ca = make_ca("Other CA")
    key, leaf = make_leaf(ca_key, ca, ["web.example.com"])
    other_key, _ = make_leaf(ca_key, ca, ["x.example.com"])
    cluster.create(r.SECRETS, tls_secret("wrong-ca", other_key, leaf, other_ca), ns)
    code, out, _ = run(capsys, *cmd(cluster, "inspect", "secret", "wrong-ca", "-n", ns))
    assert code == 0
    assert "\tTrusted by ca.crt:\tno: certificate signed by unknown authority: nothing in tls.crt or ca.crt " \
           "issued 'CN=web.example.com' (issuer 'CN=Test Root CA,O=Example Org')" in out.splitlines()
    assert "\tPrivate key matches:\tno" in out.splitlines()

    _, old = make_leaf(ca_key, ca, ["old.example.com"], days=1, start=NOW - dt.timedelta(days=10))
    cluster.create(r.SECRETS, tls_secret("expired", key, old, ca), ns)
    doc = json.loads(run(capsys, *cmd(cluster, "inspect", "secret", "expired", "-n", ns, "-o", "json"))[1])
    assert doc["debugging"]["expired"] is True and doc["debugging"]["trustedByCA"] is False
    assert "'CN=old.example.com' expired at" in doc["debugging"]["trustProblem"]

    garbage = tls_secret("no-ca", key, leaf, None)
    garbage["data"]["tls.key"] = b64(b"not a key")
    cluster.create(r.SECRETS, garbage, ns)
    out = run(capsys, *cmd(cluster, "inspect", "secret", "no-ca", "-n", ns))[1]
    assert "\tTrusted by ca.crt:\tno: no CA certificate (ca.crt) to verify against" in out.splitlines()
    assert [line for line in out.splitlines() if "Private key matches" in line] == [
        "\tPrivate key matches:\tno: private key: no PEM data was found"], out


def test_inspect_a_chain_with_an_intermediate(cluster: Cluster, ns: str, capsys: pytest.CaptureFixture[str]) -> None:
    root_key, root = make_ca("Root")
    mid_key, mid_leafish = make_leaf(root_key, root, ["unused.example.com"])
    mid = (x509.CertificateBuilder().subject_name(_name("Intermediate")).issuer_name(root.subject)
           .public_key(mid_key.public_key()).serial_number(7).not_valid_before(NOW - dt.timedelta(days=1))
           .not_valid_after(NOW + dt.timedelta(days=30))
           .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
           .sign(root_key, hashes.SHA256()))
    del mid_leafish
    key, leaf = make_leaf(mid_key, mid, ["deep.example.com"])
    secret = tls_secret("deep", key, leaf, root)
    secret["data"]["tls.crt"] = b64(pem(leaf) + pem(mid))
    cluster.create(r.SECRETS, secret, ns)
    doc = json.loads(run(capsys, *cmd(cluster, "inspect", "secret", "deep", "-n", ns, "-o", "json"))[1])
    assert [c["subject"] for c in doc["chain"]] == ["CN=deep.example.com", "CN=Intermediate"]
    assert doc["chain"][1]["isCA"] is True and doc["debugging"]["trustedByCA"] is True


def test_inspect_offline_from_a_pem_file_or_a_secret_manifest(tmp_path: pathlib.Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    ca_key, ca = make_ca()
    key, leaf = make_leaf(ca_key, ca, ["file.example.com"])
    (tmp_path / "tls.crt").write_bytes(pem(leaf))
    code, out, err = run(capsys, "inspect", "secret", "--file", str(tmp_path / "tls.crt"))
    assert (code, err) == (0, "")
    assert "\t\t- file.example.com" in out.splitlines() and "Secret:" not in out
    assert "\tTrusted by ca.crt:\tno: no CA certificate (ca.crt) to verify against" in out.splitlines()
    assert "\tPrivate key matches:\tno tls.key" in out.splitlines()

    manifest = {"apiVersion": "v1", "kind": "Secret", **tls_secret("web-tls", key, leaf, ca)}
    (tmp_path / "secret.yaml").write_text("# exported\n---\n" + yaml.safe_dump(manifest))
    code, out, _ = run(capsys, "inspect", "secret", "-f", str(tmp_path / "secret.yaml"), "-o", "json")
    doc = json.loads(out)
    assert code == 0 and doc["file"] == str(tmp_path / "secret.yaml")
    assert doc["debugging"]["trustedByCA"] is True and doc["debugging"]["privateKeyMatches"] is True

    (tmp_path / "junk.txt").write_text("hello: [")
    assert run(capsys, "inspect", "secret", "--file", str(tmp_path / "junk.txt")) == (
        1, "", f"error: {tmp_path / 'junk.txt'} is neither PEM nor a YAML/JSON Secret manifest\n")
    assert run(capsys, "inspect", "secret", "--file", str(tmp_path / "nope.pem"))[2] == (
        f"error: cannot read {tmp_path / 'nope.pem'}: No such file or directory\n")


def test_inspect_errors(cluster: Cluster, ns: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, *cmd(cluster, "inspect", "secret", "ghost", "-n", ns)) == (
        1, "", f'error: Secret "ghost" not found in namespace "{ns}"\n')
    cluster.create(r.SECRETS, {"metadata": {"name": "opaque"}, "data": {"password": b64(b"x")}}, ns)
    assert run(capsys, *cmd(cluster, "inspect", "secret", "opaque", "-n", ns)) == (
        1, "", f"error: Secret {ns}/opaque: the Secret has no tls.crt\n")
    assert run(capsys, "inspect", "secret") == (2, "", "error: give either a Secret NAME or --file PATH\n")


# -- check api ---------------------------------------------------------------------------------------------


def test_check_api_ready(cluster: Cluster, ns: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, *cmd(cluster, "check", "api", "-n", ns)) == (0, "The cert-manager API is ready\n", "")
    code, out, _ = run(capsys, *cmd(cluster, "check", "api", "-n", ns, "-o", "json"))
    assert (code, json.loads(out)) == (0, {"ready": True, "message": "The cert-manager API is ready"})
    assert cluster.do(lambda kube: kube.list(r.CERTIFICATE_REQUESTS, ns)).items == []  # dry run only


def test_check_api_without_crds_then_waiting_for_them(bare: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *cmd(bare, "check", "api"))
    assert (code, out) == (1, "")
    assert err.startswith("error: the cert-manager CRDs are not installed (missing: certificates.cert-manager.io, "
                          "certificaterequests.cert-manager.io, issuers.cert-manager.io")
    installer = threading.Timer(0.3, bare.install_crds, args=(CM_CRDS + ACME_CRDS,))
    installer.start()
    started = time.monotonic()
    try:
        code, out, err = run(capsys, *cmd(bare, "check", "api", "--wait", "20s", "--interval", "100ms"))
    finally:
        installer.join()
    assert (code, out, err) == (0, "The cert-manager API is ready\n", "")
    assert time.monotonic() - started < 15


def test_check_api_flags_crds_without_validation_rules(bare: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    def lax(kube: kube_client.Client) -> Awaitable[Any]:
        body = yaml.safe_load((CRDS / "certificates.cert-manager.io.yaml").read_text())
        schema = body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        schema["properties"]["spec"] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        return kube.apply(r.CUSTOM_RESOURCE_DEFINITIONS, body, field_manager="issuer-tests", force=True)

    bare.install_crds(CM_CRDS + ACME_CRDS)
    bare.do(lax)
    code, _, err = run(capsys, *cmd(bare, "check", "api", "-o", "json"))
    assert code == 1 and "an invalid Certificate (no common name, no SANs) was accepted" in err


def test_check_api_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "check", "api", "--wait", "soon") == (2, "", "error: time: invalid duration \"soon\"\n")


# -- cluster and configuration errors ----------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ("status", "certificate", "web"), ("renew", "web"), ("approve", "req"), ("deny", "req"),
    ("inspect", "secret", "web-tls"), ("check", "api"),
], ids=" ".join)
def test_unreachable_server_is_one_line(closed_port_kubeconfig: pathlib.Path, capsys: pytest.CaptureFixture[str],
                                        argv: tuple[str, ...]) -> None:
    code, out, err = run(capsys, *argv, "--kubeconfig", str(closed_port_kubeconfig))
    assert (code, out) == (1, "")
    assert err.startswith("error: cannot reach the Kubernetes API server at http://127.0.0.1:")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_kubeconfig_is_one_line(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    assert run(capsys, "status", "certificate", "web", "--kubeconfig", str(missing)) == (
        1, "", f"error: kubeconfig {missing} does not exist\n")


def _python(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "issuer", *argv], capture_output=True, text=True, timeout=60,
                          cwd=REPO, env=env, check=False)


def test_end_to_end_as_a_subprocess(cluster: Cluster, ns: str) -> None:
    issued_certificate(cluster, ns)
    cluster.create(r.CERTIFICATE_REQUESTS, request("req"), ns)
    proc = _python(*cmd(cluster, "status", "cert", "web", "-n", ns))
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout.startswith("Name: web\n")
    proc = _python(*cmd(cluster, "approve", "req", "-n", ns))
    assert (proc.returncode, proc.stdout) == (0, f"Approved CertificateRequest '{ns}/req'\n")
    proc = _python(*cmd(cluster, "deny", "req", "-n", ns))
    assert (proc.returncode, proc.stderr) == (1, f"error: CertificateRequest {ns}/req is already approved\n")
    proc = _python(*cmd(cluster, "renew", "web", "-n", ns, "-o", "json"))
    assert proc.returncode == 0 and json.loads(proc.stdout)["certificates"][0]["result"] == "triggered"
    proc = _python(*cmd(cluster, "inspect", "secret", "web-tls", "-n", ns))
    assert proc.returncode == 0 and "\tTrusted by ca.crt:\tyes" in proc.stdout
    proc = _python(*cmd(cluster, "check", "api", "-n", ns))
    assert (proc.returncode, proc.stdout) == (0, "The cert-manager API is ready\n")


def test_no_configuration_at_all_as_a_subprocess(tmp_path: pathlib.Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    env["HOME"] = str(tmp_path)
    proc = _python("status", "certificate", "web", env=env)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == ("error: no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, create "
                           "~/.kube/config or run inside a cluster\n")
    proc = _python("status", "certificate", env=env)
    assert proc.returncode == 2 and "the following arguments are required: NAME" in proc.stderr


def test_without_crds_the_missing_api_is_named(bare: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (("status", "certificate", "web"), ("renew", "web"), ("approve", "req")):
        code, out, err = run(capsys, *cmd(bare, *argv))
        assert (code, out) == (1, "")
        assert err.startswith("error: the server does not serve certificate"), err
        assert err.endswith(".cert-manager.io: are the cert-manager CRDs installed?\n")


@pytest.mark.parametrize("argv", [
    ("status", "certificate", "a/b"), ("renew", "ok", ".."), ("approve", "x", "-n", "a/b"),
    ("inspect", "secret", "a/b"),
], ids=" ".join)
def test_names_that_cannot_name_an_object_are_usage_errors(capsys: pytest.CaptureFixture[str],
                                                           argv: tuple[str, ...]) -> None:
    code, out, err = run(capsys, *argv, "--kubeconfig", "/nonexistent")
    assert (code, out) == (2, "") and err.startswith("error: invalid ")


def test_status_with_a_cluster_issuer(cluster: Cluster, ns: str, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"ciss-{ns}"
    cluster.create(r.CLUSTER_ISSUERS, {"metadata": {"name": name}, "spec": {"selfSigned": {}}}, None,
                   {"conditions": [{"type": "Ready", "status": "True", "reason": "IsReady", "message": "",
                                    "lastTransitionTime": stamp(NOW)}]})
    body = certificate("web", issuer=name)
    body["spec"]["issuerRef"]["kind"] = "ClusterIssuer"
    cluster.create(r.CERTIFICATES, body, ns)
    doc = json.loads(run(capsys, *cmd(cluster, "status", "certificate", "web", "-n", ns, "-o", "json"))[1])
    assert doc["issuer"]["kind"] == "ClusterIssuer" and doc["issuer"]["type"] == "selfSigned"
    assert doc["issuer"]["conditions"][0]["reason"] == "IsReady"
    assert doc["ready"] is False and doc["conditions"] == [] and doc["certificateRequest"] is None


def test_renew_several_names_one_missing(cluster: Cluster, ns: str, capsys: pytest.CaptureFixture[str]) -> None:
    cluster.create(r.CERTIFICATES, certificate("web"), ns, cert_status(ready()))
    code, out, err = run(capsys, *cmd(cluster, "renew", "web", "ghost", "-n", ns))
    assert (code, out) == (1, f"Manually triggered issuance of Certificate {ns}/web\n")
    assert err == f'error: Certificate "ghost" not found in namespace "{ns}"\n'


def test_inspect_offline_der_and_standard_input(tmp_path: pathlib.Path) -> None:
    ca_key, ca = make_ca()
    _, leaf = make_leaf(ca_key, ca, ["der.example.com"])
    (tmp_path / "leaf.der").write_bytes(leaf.public_bytes(serialization.Encoding.DER))
    proc = _python("inspect", "secret", "--file", str(tmp_path / "leaf.der"), "-o", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["certificate"]["dnsNames"] == ["der.example.com"]
    piped = subprocess.run([sys.executable, "-m", "issuer", "inspect", "secret", "-f", "-"], input=pem(leaf),
                           capture_output=True, timeout=60, cwd=REPO, check=False)
    assert piped.returncode == 0 and b"\t\t- der.example.com\n" in piped.stdout


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(data=st.dictionaries(st.sampled_from(["tls.crt", "tls.key", "ca.crt", "keystore.jks"]),
                                       st.one_of(st.binary(max_size=200), st.sampled_from(_SAMPLES))))
def test_inspect_never_crashes_on_odd_secret_data(data: dict[str, bytes]) -> None:
    from issuer.commands import common, inspection

    try:
        doc = inspection.report(data, NOW)
    except common.CommandError:
        return
    inspection.render(doc)
    json.dumps(doc)


def test_context_flag_picks_the_cluster_and_its_namespace(cluster: Cluster, ns: str, tmp_path: pathlib.Path,
                                                          closed_port_kubeconfig: pathlib.Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    issued_certificate(cluster, ns)
    good = cluster.thread.srv.kubeconfig(namespace=ns)
    merged = json.loads(closed_port_kubeconfig.read_text())  # current context: a closed port
    merged["clusters"] += [{"name": "good", "cluster": good["clusters"][0]["cluster"]}]
    merged["contexts"] += [{"name": "good", "context": {"cluster": "good", "user": "u", "namespace": ns}}]
    path = tmp_path / "two-contexts"
    path.write_text(json.dumps(merged))
    code, out, _ = run(capsys, "status", "certificate", "web", "--kubeconfig", str(path), "--context", "good",
                       "-o", "json")
    assert code == 0 and json.loads(out)["namespace"] == ns
    code, _, err = run(capsys, "status", "certificate", "web", "--kubeconfig", str(path), "--context", "nope")
    assert code == 1 and err.startswith(f"error: kubeconfig {path}: ") and err.count("\n") == 1
