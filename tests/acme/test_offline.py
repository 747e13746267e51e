"""`issuer issue` with ACME Issuers against Pebble and BIND: HTTP-01 through the standalone listener,
DNS-01 (apex + wildcard) through the Issuer's rfc2136 solver with its TSIG Secret from the cluster resource
namespace, the generated account key printed as a Secret, an existing key reused, and failures as one
readable line with exit code 1."""

from __future__ import annotations

import base64
import datetime as dt
import pathlib
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from issuer import manifests, offline, offline_acme
from issuer.acme import accounts
from issuer.api import constants as c
from tests import tools
from tests.acme import helpers, infra

NOW = dt.datetime.now(dt.UTC)


def issuer(pebble: infra.Pebble, bind: infra.Bind, name: str = "pebble", *, kind: str = "ClusterIssuer",
           key_secret: str = "pebble-account", **acme: Any) -> dict[str, Any]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": kind,
        "metadata": {"name": name, **({"namespace": "default"} if kind == "Issuer" else {})},
        "spec": {"acme": {
            "server": pebble.directory_url,
            "email": "offline@example.test",
            "privateKeySecretRef": {"name": key_secret},
            "solvers": [
                {"selector": {"dnsZones": ["sub.example.test"]}, "dns01": {"rfc2136": {
                    "nameserver": bind.address, "tsigKeyName": bind.tsig_name, "tsigAlgorithm": "HMACSHA256",
                    "tsigSecretSecretRef": {"name": "tsig", "key": "secret"}}}},
                {"http01": {"ingress": {}}},
            ],
            **acme,
        }},
    }


def certificate(name: str, dns_names: list[str], issuer_name: str = "pebble", kind: str = "ClusterIssuer",
                **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {"secretName": f"{name}-tls", "dnsNames": dns_names,
                 "issuerRef": {"name": issuer_name, "kind": kind}, **spec},
    }


def secret(name: str, data: dict[str, bytes], namespace: str = "cert-manager") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "data": {k: base64.b64encode(v).decode() for k, v in data.items()}}


def tsig(bind: infra.Bind) -> dict[str, Any]:
    return secret("tsig", {"secret": bind.tsig_secret.encode()})


def docs(*objs: dict[str, Any]) -> list[manifests.Document]:
    parsed, errors = manifests.parse_text(yaml.safe_dump_all(objs), "in.yaml")
    assert not errors
    return parsed


def options(pebble: infra.Pebble) -> offline_acme.Options:
    return offline_acme.Options(http01_port=pebble.http_port, http01_address="127.0.0.1", ca_bundle=pebble.ca_bundle)


def tls_of(result: offline.Result, name: str) -> dict[str, bytes]:
    (body,) = [s for s in result.secrets if s["metadata"]["name"] == name]
    assert body["type"] == c.SECRET_TYPE_TLS
    return {k: base64.b64decode(v) for k, v in body["data"].items()}


def verify(data: dict[str, bytes], pebble: infra.Pebble) -> None:
    leaf, rest = helpers.split_chain(data["tls.crt"])
    tools.openssl_verify(leaf, pebble.root, rest, purpose="sslserver")


def test_http01_and_dns01_wildcard_in_one_run(
    pebble: infra.Pebble, bind: infra.Bind, fresh: Callable[..., str]
) -> None:
    web = fresh("web")
    base = "w" + fresh("z").split(".")[0] + ".sub.example.test"
    result = offline.issue_documents(
        docs(issuer(pebble, bind), tsig(bind), certificate("web", [web, fresh("www")]),
             certificate("wild", [base, f"*.{base}"], privateKey={"algorithm": "ECDSA"})),
        NOW, acme=options(pebble),
    )
    assert result.errors == [], result.errors
    assert result.generated == ["cert-manager/pebble-account"]
    assert result.issued == 2
    account = result.secrets[0]
    assert account["metadata"] == {"name": "pebble-account", "namespace": "cert-manager"}
    key_pem = base64.b64decode(account["data"]["tls.key"])
    assert key_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    web_tls = tls_of(result, "web-tls")
    assert "ca.crt" not in web_tls
    verify(web_tls, pebble)
    wild_tls = tls_of(result, "wild-tls")
    verify(wild_tls, pebble)
    assert helpers.sans(wild_tls["tls.crt"]) == sorted([base, f"*.{base}"])
    assert isinstance(x509.load_pem_x509_certificates(wild_tls["tls.crt"])[0].public_key(), ec.EllipticCurvePublicKey)
    assert dns_values(bind, base) == []


def dns_values(bind: infra.Bind, name: str) -> list[str]:
    from issuer.acme import dns01

    return dns01.txt_values(dns01.record_name(name), ("127.0.0.1", bind.port), recursion=False)


def test_the_account_key_in_the_input_is_used(
    pebble: infra.Pebble, bind: infra.Bind, fresh: Callable[..., str]
) -> None:
    key = accounts.generate_key()
    account_secret = secret("mine", {"tls.key": accounts.encode_key(key)}, namespace="default")
    result = offline.issue_documents(
        docs(issuer(pebble, bind, kind="Issuer", key_secret="mine"), account_secret,
             secret("tsig", {"secret": b""}, "default"), certificate("a", [fresh()], kind="Issuer")),
        NOW, acme=options(pebble),
    )
    assert result.errors == [] and result.generated == [] and result.issued == 1
    from issuer.acme import client as acme_client

    check = acme_client.ACMEClient(pebble.directory_url, key, ca_bundle=pebble.ca_bundle)
    assert check.lookup() is not None  # the run registered this very key


def test_a_non_rsa_account_key_is_refused(pebble: infra.Pebble, bind: infra.Bind, fresh: Callable[..., str]) -> None:
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    result = offline.issue_documents(
        docs(issuer(pebble, bind), tsig(bind), secret("pebble-account", {"tls.key": ec_pem}),
             certificate("a", [fresh()])),
        NOW, acme=options(pebble),
    )
    assert result.failed and result.secrets == []
    assert result.errors == ['in.yaml#1 ClusterIssuer/pebble: ErrVerifyACMEAccount: '
                             'ACME private key in "pebble-account" is not of type RSA']


def test_a_missing_tsig_secret_is_an_input_error(
    pebble: infra.Pebble, bind: infra.Bind, fresh: Callable[..., str]
) -> None:
    result = offline.issue_documents(docs(issuer(pebble, bind), certificate("a", [fresh()])), NOW, acme=options(pebble))
    assert not result.failed
    assert result.errors == ['in.yaml#1 ClusterIssuer/pebble: spec.acme.solvers[0].dns01.rfc2136.tsigSecretSecretRef: '
                             'Not found: Secret "tsig" in namespace "cert-manager" is neither in the input nor the '
                             'secretName of a Certificate in it']


def test_a_rejected_identifier_fails_the_run_with_the_servers_detail(
    pebble: infra.Pebble, bind: infra.Bind, fresh: Callable[..., str]
) -> None:
    result = offline.issue_documents(
        docs(issuer(pebble, bind), tsig(bind), certificate("ok", [fresh()]), certificate("bad", [infra.BLOCKED])),
        NOW, acme=options(pebble),
    )
    assert result.failed and result.secrets == [] and result.generated == []
    (line,) = result.errors
    assert line.startswith("in.yaml#4 Certificate/bad: OrderFailed: new order: rejectedIdentifier: ")
    assert infra.BLOCKED in line


def test_without_acme_options_acme_certificates_are_left_alone(pebble: infra.Pebble, bind: infra.Bind) -> None:
    result = offline.issue_documents(docs(issuer(pebble, bind), certificate("a", ["a.example.test"])), NOW)
    assert result.errors == [] and result.secrets == []
    assert result.not_issued == [("in.yaml#2 Certificate/a", "ACME issuers are not issued offline yet")]


def test_the_command_end_to_end(
    pebble: infra.Pebble, bind: infra.Bind, fresh: Callable[..., str], tmp_path: pathlib.Path
) -> None:
    (tmp_path / "in.yaml").write_text(yaml.safe_dump_all([issuer(pebble, bind), tsig(bind),
                                                          certificate("cli", [fresh()])]))
    (tmp_path / "pebble-ca.pem").write_bytes(pebble.ca_bundle)
    proc = subprocess.run(
        [sys.executable, "-m", "issuer.offline", "-f", str(tmp_path / "in.yaml"),
         f"--http01-port={pebble.http_port}", "--http01-address=127.0.0.1",
         "--acme-ca-bundle", str(tmp_path / "pebble-ca.pem"), "--out-dir", str(tmp_path / "out")],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "issued 1 certificate(s)" in proc.stderr
    assert "generated ACME account key Secret cert-manager/pebble-account" in proc.stderr
    names = [d["metadata"]["name"] for d in yaml.safe_load_all(proc.stdout)]
    assert names == ["pebble-account", "cli-tls"]
    verify({"tls.crt": (tmp_path / "out" / "default" / "cli-tls" / "tls.crt").read_bytes()}, pebble)
    assert (tmp_path / "out" / "cert-manager" / "pebble-account" / "tls.key").stat().st_mode & 0o777 == 0o600


def test_the_command_fails_with_one_line(
    pebble: infra.Pebble, bind: infra.Bind, tmp_path: pathlib.Path
) -> None:
    (tmp_path / "in.yaml").write_text(yaml.safe_dump_all([issuer(pebble, bind), tsig(bind),
                                                          certificate("bad", [infra.BLOCKED])]))
    proc = subprocess.run(
        [sys.executable, "-m", "issuer.offline", "-f", str(tmp_path / "in.yaml"), f"--http01-port={pebble.http_port}",
         "--acme-ca-bundle", "/nonexistent/ca.pem"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error: cannot read --acme-ca-bundle")
    (tmp_path / "ca.pem").write_bytes(pebble.ca_bundle)
    proc = subprocess.run(
        [sys.executable, "-m", "issuer.offline", "-f", str(tmp_path / "in.yaml"), f"--http01-port={pebble.http_port}",
         "--acme-ca-bundle", str(tmp_path / "ca.pem")],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "rejectedIdentifier" in proc.stderr


def test_many_acme_certificates_issue_at_once_and_keep_input_order(
    pebble: infra.Pebble, bind: infra.Bind, fresh: Callable[..., str]
) -> None:
    import time

    certs = [certificate(f"c{i}", [fresh(f"c{i}")], privateKey={"algorithm": "ECDSA"}) for i in range(8)]
    started = time.perf_counter()
    result = offline.issue_documents(docs(issuer(pebble, bind), tsig(bind), *certs), NOW, acme=options(pebble))
    elapsed = time.perf_counter() - started
    assert result.errors == []
    assert [s["metadata"]["name"] for s in result.secrets] == ["pebble-account", *(f"c{i}-tls" for i in range(8))]
    for i in range(8):
        verify(tls_of(result, f"c{i}-tls"), pebble)
    assert elapsed < 2.0, elapsed  # ~0.2 s here; a listener backlog overflow once cost a second per burst
