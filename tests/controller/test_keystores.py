"""Keystores through the operator: PKCS#12 and JKS written next to tls.crt with the password from a Secret
(read live: password Secrets carry no fao label), checked by loading them with cryptography and pyjks; a
missing password Secret is a Warning event, and creating it gets the keystores written."""

from __future__ import annotations

import base64
from typing import Any

import jks
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from tests.controller import expect
from tests.controller.conftest import Cluster, condition


def setup(c: Cluster, ns: str, name: str, *, with_password: bool) -> None:
    if with_password:
        c.api.create(password_secret(ns))
    c.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                  "metadata": {"name": "selfsigned", "namespace": ns}, "spec": {"selfSigned": {}}})
    ref = {"name": "keystore-password", "key": "password"}
    c.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                  "metadata": {"name": name, "namespace": ns},
                  "spec": {"secretName": name + "-tls", "commonName": f"{name}.example.com",
                           "dnsNames": [f"{name}.example.com"], "issuerRef": {"name": "selfsigned"},
                           "keystores": {"pkcs12": {"create": True, "passwordSecretRef": ref},
                                         "jks": {"create": True, "passwordSecretRef": ref, "alias": "web"}}}})


def password_secret(ns: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "keystore-password", "namespace": ns},
            "data": {"password": base64.b64encode(b"s3cret-pw").decode()}}


def check_keystores(c: Cluster, ns: str, name: str) -> None:
    cert = c.wait_ready(name, ns, timeout=20)
    secret = c.must_get("Secret", name + "-tls", ns)
    expect.validate(cert, secret, issuer_type="selfsigned")
    data = c.secret_data(name + "-tls", ns)
    assert {"keystore.p12", "truststore.p12", "keystore.jks", "truststore.jks"} <= set(data), sorted(data)
    leaf = x509.load_pem_x509_certificate(data["tls.crt"])
    key = serialization.load_pem_private_key(data["tls.key"], None)
    p12 = pkcs12.load_pkcs12(data["keystore.p12"], b"s3cret-pw")
    assert p12.cert is not None and p12.cert.certificate == leaf
    assert p12.key is not None and p12.key.private_numbers() == key.private_numbers()  # type: ignore[union-attr]
    store = jks.KeyStore.loads(data["keystore.jks"], "s3cret-pw")
    assert list(store.private_keys) == ["web"]
    entry = store.private_keys["web"]
    assert x509.load_der_x509_certificate(entry.cert_chain[0][1]) == leaf
    trust = jks.KeyStore.loads(data["truststore.jks"], "s3cret-pw")
    assert [x509.load_der_x509_certificate(e.cert) for e in trust.certs.values()] == [leaf]


def test_pkcs12_and_jks_keystores_are_written_with_the_password_from_a_secret(cluster: Cluster, ns: str) -> None:
    setup(cluster, ns, "stores", with_password=True)
    check_keystores(cluster, ns, "stores")


def test_a_missing_keystore_password_secret_is_a_warning_and_its_creation_gets_the_keystores_written(
    cluster: Cluster, ns: str
) -> None:
    setup(cluster, ns, "later", with_password=False)
    events = cluster.wait_for("the KeystorePasswordSecretNotFound event", lambda: [
        e for e in cluster.list("Event", ns)
        if e["involvedObject"]["name"] == "later" and e["reason"] == "KeystorePasswordSecretNotFound"], timeout=15)
    assert events[0]["type"] == "Warning"
    assert "keystore-password" in events[0]["message"]
    assert cluster.get("Secret", "later-tls", ns) is None
    # what was decided before the failing step is in the status: issuing, not Ready
    cert = cluster.wait_condition("Certificate", "later", ns, "Issuing", "True", "DoesNotExist", timeout=10)
    assert (condition(cert, "Ready") or {}).get("status") == "False"
    cluster.api.create(password_secret(ns))
    check_keystores(cluster, ns, "later")
