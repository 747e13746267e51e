"""`issuer issue`: the offline command's contract — order, output, errors and exit codes."""

from __future__ import annotations

import base64
import datetime as dt
import pathlib
import subprocess
import sys
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from issuer import manifests, offline
from tests.unit.forks import run_counting_forks

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


def run_cli(*args: str, stdin: str = "", cwd: pathlib.Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "issuer", "issue", *args], input=stdin, capture_output=True, text=True, check=False,
        cwd=cwd,
    )


def docs_of(text: str, source: str = "in.yaml") -> list[manifests.Document]:
    docs, errors = manifests.parse_text(text, source)
    assert not errors
    return docs


SELFSIGNED = """
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: selfsigned}
spec: {selfSigned: {}}
"""


def cert(name: str, issuer: str, kind: str = "ClusterIssuer", ns: str = "default", **spec: Any) -> str:
    body = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "secretName": f"{name}-tls",
            "dnsNames": [f"{name}.example.com"],
            "privateKey": {"algorithm": "ECDSA"},
            "issuerRef": {"name": issuer, "kind": kind},
            **spec,
        },
    }
    return yaml.safe_dump(body)


def ca_issuer(name: str, secret: str, kind: str = "Issuer", ns: str = "default") -> str:
    meta: dict[str, str] = {"name": name}
    if kind == "Issuer":
        meta["namespace"] = ns
    return yaml.safe_dump({"apiVersion": "cert-manager.io/v1", "kind": kind, "metadata": meta,
                           "spec": {"ca": {"secretName": secret}}})


def ca_secret(name: str, *, is_ca: bool = True, expired: bool = False, mismatch: bool = False,
              crt: bytes | None = None, ns: str = "default") -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    start = NOW - dt.timedelta(days=10)
    end = NOW - dt.timedelta(days=1) if expired else NOW + dt.timedelta(days=365)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = crt if crt is not None else certificate.public_bytes(serialization.Encoding.PEM)
    signing = other if mismatch else key
    key_pem = signing.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": name, "namespace": ns},
        "data": {"tls.crt": base64.b64encode(pem).decode(), "tls.key": base64.b64encode(key_pem).decode()},
    })


def stream(*parts: str) -> str:
    return "\n---\n".join(parts)


def test_the_bootstrap_chain_is_issued_in_dependency_order_whatever_the_input_order() -> None:
    text = stream(
        cert("leaf", "ca", kind="Issuer"),
        ca_issuer("ca", "root-tls"),
        cert("root", "selfsigned", isCA=True, commonName="root"),
        SELFSIGNED,
    )
    result = offline.issue_documents(docs_of(text), NOW)
    assert result.errors == []
    assert [s["metadata"]["name"] for s in result.secrets] == ["root-tls", "leaf-tls"]
    leaf = x509.load_pem_x509_certificates(base64.b64decode(result.secrets[1]["data"]["tls.crt"]))[0]
    assert leaf.issuer.rfc4514_string() == "CN=root"
    assert leaf.not_valid_before_utc == NOW
    assert leaf.not_valid_after_utc == NOW + dt.timedelta(days=90)


def test_documents_without_a_namespace_use_the_default_one() -> None:
    body = yaml.safe_load(cert("a", "selfsigned"))
    del body["metadata"]["namespace"]
    text = stream(SELFSIGNED, yaml.safe_dump(body))
    result = offline.issue_documents(docs_of(text), NOW, default_namespace="team-a")
    assert [s["metadata"]["namespace"] for s in result.secrets] == ["team-a"]


def test_a_cluster_issuer_reads_its_ca_secret_from_the_cluster_resource_namespace() -> None:
    text = stream(ca_issuer("corp", "corp-ca", kind="ClusterIssuer"), ca_secret("corp-ca", ns="infra"),
                  cert("svc", "corp"))
    result = offline.issue_documents(docs_of(text), NOW, cluster_resource_namespace="infra")
    assert result.errors == []
    wrong = offline.issue_documents(docs_of(text), NOW, cluster_resource_namespace="cert-manager")
    assert wrong.errors == [
        'in.yaml#1 ClusterIssuer/corp: spec.ca.secretName: Not found: Secret "corp-ca" in namespace "cert-manager" '
        "is neither in the input nor the secretName of a Certificate in it"
    ]


@pytest.mark.parametrize(
    ("secret_kwargs", "expected"),
    [
        pytest.param({"mismatch": True}, "does not match", id="a CA key that does not match its certificate"),
        pytest.param({"is_ca": False}, "not a CA", id="a certificate that is not a CA"),
        pytest.param({"expired": True}, "expired", id="an expired CA"),
        pytest.param({"crt": b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"},
                     "Error getting keypair", id="a malformed PEM"),
    ],
)
def test_a_broken_ca_secret_is_one_clear_error_and_nothing_is_issued(secret_kwargs: dict[str, Any],
                                                                      expected: str) -> None:
    text = stream(ca_issuer("ca", "ca-key-pair"), ca_secret("ca-key-pair", **secret_kwargs), cert("a", "ca", "Issuer"))
    result = offline.issue_documents(docs_of(text), NOW)
    assert result.secrets == []
    assert len(result.errors) == 1
    assert result.errors[0].startswith("in.yaml#1 Issuer/ca: ")
    assert expected in result.errors[0]
    assert "Traceback" not in result.errors[0]


def test_invalid_manifests_report_every_violation_with_file_document_and_field_path(tmp_path: pathlib.Path) -> None:
    bad = stream(
        SELFSIGNED,
        cert("nosan", "selfsigned", dnsNames=[]),
        cert("short", "selfsigned", duration="30m"),
    )
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    out = tmp_path / "out"
    proc = run_cli("-f", str(path), "--out-dir", str(out))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert not out.exists(), "nothing partial is written"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"error: {path}#2 Certificate/nosan: spec: ")
    assert lines[1] == (
        f'error: {path}#3 Certificate/short: spec.duration: Invalid value: "30m": '
        "certificate duration must be greater than 1h0m0s"
    )


def test_a_missing_issuer_names_the_reference() -> None:
    result = offline.issue_documents(docs_of(cert("a", "nope", kind="Issuer")), NOW)
    assert result.errors == [
        'in.yaml#1 Certificate/a: spec.issuerRef: Not found: Issuer "nope" in namespace "default" is not in the input'
    ]


def test_a_secret_in_the_input_is_never_overwritten_by_a_certificate() -> None:
    text = stream(SELFSIGNED, ca_secret("a-tls"), cert("a", "selfsigned"))
    result = offline.issue_documents(docs_of(text), NOW)
    assert result.secrets == []
    assert "will not be overwritten" in result.errors[0]


def test_a_ca_issuer_backed_by_its_own_certificate_is_a_cycle() -> None:
    text = stream(ca_issuer("loop", "a-tls"), cert("a", "loop", kind="Issuer", isCA=True, commonName="a"))
    result = offline.issue_documents(docs_of(text), NOW)
    assert result.errors == ["dependency cycle between Certificates and CA Issuers: in.yaml#2 Certificate/a"]


def test_acme_certificates_are_listed_as_not_issued_offline_and_the_rest_issues() -> None:
    acme = yaml.safe_dump({
        "apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "le"},
        "spec": {"acme": {"server": "https://acme.example/dir", "privateKeySecretRef": {"name": "le-key"},
                          "solvers": [{"http01": {"ingress": {}}}]}},
    })
    text = stream(SELFSIGNED, acme, cert("web", "le"), cert("int", "selfsigned"))
    result = offline.issue_documents(docs_of(text), NOW)
    assert result.errors == []
    assert [s["metadata"]["name"] for s in result.secrets] == ["int-tls"]
    assert result.not_issued == [("in.yaml#3 Certificate/web", "ACME issuers are not issued offline yet")]


def test_standard_input_and_exit_code_zero() -> None:
    proc = run_cli("-f", "-", stdin=stream(SELFSIGNED, cert("a", "selfsigned")))
    assert proc.returncode == 0, proc.stderr
    (doc,) = yaml.safe_load_all(proc.stdout)
    assert doc["metadata"]["name"] == "a-tls"


@pytest.mark.parametrize("workers", ["0", "-1", "two"])
def test_a_worker_count_below_one_is_a_usage_error(workers: str) -> None:
    proc = run_cli("--workers", workers, "-f", "-", stdin=stream(SELFSIGNED, cert("a", "selfsigned")))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines()[-1] == (
        f"issuer issue: error: argument --workers: must be a whole number of processes, at least 1: {workers!r}")


def test_yaml_that_does_not_parse_is_one_line_with_exit_code_two() -> None:
    proc = run_cli("-f", "-", stdin="kind: [unclosed\n")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: -#1: invalid YAML")
    assert "Traceback" not in proc.stderr


def test_a_missing_file_is_one_line_with_exit_code_two(tmp_path: pathlib.Path) -> None:
    proc = run_cli("-f", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {tmp_path / 'nope.yaml'}: no such file"


def test_keystore_password_secret_must_be_in_the_input() -> None:
    text = stream(SELFSIGNED, cert("j", "selfsigned", keystores={
        "pkcs12": {"create": True, "passwordSecretRef": {"name": "pw", "key": "password"}}}))
    result = offline.issue_documents(docs_of(text), NOW)
    assert "spec.keystores.pkcs12.passwordSecretRef: Not found" in result.errors[0]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["Certificate", "Issuer", "ClusterIssuer", "Secret", "CertificateRequest"]),
    spec=json_values,
    meta=json_values,
)
def test_garbled_manifests_never_crash_the_offline_engine(kind: str, spec: Any, meta: Any) -> None:
    api = "v1" if kind == "Secret" else "cert-manager.io/v1"
    obj = {"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec, "data": spec}
    text = stream(SELFSIGNED, yaml.safe_dump(obj), cert("ok", "selfsigned"))
    result = offline.issue_documents(docs_of(text), NOW)
    assert all(isinstance(e, str) and e for e in result.errors)


# -- several processes ------------------------------------------------------------------------------------------
# Forking needs a process without other threads (issue_documents falls back to one process otherwise), and a
# pytest session that ran the API-server tiers has some: these runs happen in a fresh interpreter.
FORK_RUN = """
import base64, datetime as dt, json, sys
from issuer import offline
from tests.unit import test_offline as t
docs = t.docs_of(sys.stdin.read())
out = {}
for workers in (1, int(sys.argv[1])):
    forks.clear()
    result = offline.issue_documents(docs, t.NOW, workers=workers)
    secrets = [[s["metadata"]["name"], s["data"], s["metadata"]["annotations"]] for s in result.secrets]
    assert result.yaml() == offline.dump_secrets(result.secrets)
    out[workers] = {"forks": len(forks), "errors": result.errors, "failed": result.failed, "secrets": secrets}
print(json.dumps(out))
"""


def issue_with_workers(text: str, workers: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(one process, `workers` processes): forks made, errors, failed and [name, data, annotations] per Secret."""
    out = run_counting_forks(FORK_RUN, str(workers), stdin=text)
    return out["1"], out[str(workers)]


def leaves_of_one_ca(count: int) -> str:
    return stream(SELFSIGNED, cert("root", "selfsigned", isCA=True, commonName="root"), ca_issuer("ca", "root-tls"),
                  *(cert(f"leaf-{i}", "ca", kind="Issuer") for i in range(count)))


def test_leaves_issued_by_several_processes_are_the_same_as_by_one() -> None:
    count = 3 * offline.PARALLEL_MIN_BATCH
    one, three = issue_with_workers(leaves_of_one_ca(count), 3)
    assert one["forks"] == 0
    assert three["forks"] == 2, "the leaves were not split over three processes"
    assert one["errors"] == three["errors"] == []
    names = [name for name, _, _ in one["secrets"]]
    assert [name for name, _, _ in three["secrets"]] == names
    assert names[0] == "root-tls" and len(names) == 1 + count
    root = x509.load_pem_x509_certificate(base64.b64decode(three["secrets"][0][1]["tls.crt"]))
    keys, serials = set(), set()
    for name, data, notes in three["secrets"][1:]:
        leaf = x509.load_pem_x509_certificates(base64.b64decode(data["tls.crt"]))[0]
        leaf.verify_directly_issued_by(root)
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == [f"{name[:-4]}.example.com"]
        assert notes["cert-manager.io/alt-names"] == f"{name[:-4]}.example.com"
        key = serialization.load_pem_private_key(base64.b64decode(data["tls.key"]), None)
        assert key.public_key() == leaf.public_key()
        keys.add(data["tls.key"])
        serials.add(leaf.serial_number)
    assert len(keys) == len(serials) == count, "forked workers repeated a key or a serial"


def test_a_failure_among_parallel_leaves_reports_what_one_process_would() -> None:
    """The first failing leaf (in dependency order) ends the run with its error only, as without workers."""
    leaves = [cert(f"leaf-{i}", "ca", kind="Issuer") for i in range(2 * offline.PARALLEL_MIN_BATCH)]
    bad = offline.PARALLEL_MIN_BATCH + 3  # in the second process's slice
    keystore = {"pkcs12": {"create": True, "passwordSecretRef": {"name": "pw", "key": "no-such-key"}}}
    leaves[bad] = cert(f"leaf-{bad}", "ca", kind="Issuer", keystores=keystore)
    leaves[bad + 5] = cert(f"leaf-{bad + 5}", "ca", kind="Issuer", keystores=keystore)
    password = yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pw", "namespace": "default"},
                               "stringData": {"password": "secret"}})
    one, two = issue_with_workers(stream(SELFSIGNED, cert("root", "selfsigned", isCA=True, commonName="root"),
                                         ca_issuer("ca", "root-tls"), password, *leaves), 2)
    assert two["forks"] == 1
    assert one["errors"] == two["errors"] and len(two["errors"]) == 1 and f"leaf-{bad}" in two["errors"][0]
    assert one["failed"] and two["failed"]
