"""Reading credentials (`issuer.kube.config`): kubeconfig files written to a temp dir (tokens, token
files, client certificates, CA data, insecure-skip-tls-verify, contexts and namespaces, KUBECONFIG) and
the in-cluster service account layout; every broken input is one clear `ConfigError` line."""

from __future__ import annotations

import base64
import datetime
import pathlib
import ssl
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from issuer.kube import config


@pytest.fixture(scope="module")
def pem_pair() -> tuple[bytes, bytes]:
    """A self-signed certificate and its key, PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def kubeconfig(server: str = "https://k8s.example:6443", *, user: dict[str, Any] | None = None,
               cluster: dict[str, Any] | None = None, namespace: str | None = "team-a",
               extra_contexts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    ctx: dict[str, Any] = {"cluster": "c1", "user": "u1"}
    if namespace:
        ctx["namespace"] = namespace
    return {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c1", "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": "u1", "user": user if user is not None else {"token": "abc"}}],
        "contexts": [{"name": "main", "context": ctx}, *(extra_contexts or [])],
        "current-context": "main",
    }


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write(path: pathlib.Path, doc: Any) -> pathlib.Path:
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    return path


def test_token_and_namespace_from_the_current_context(tmp_path: pathlib.Path) -> None:
    cfg = config.load_kubeconfig(write(tmp_path / "kc", kubeconfig("http://127.0.0.1:8080/")))
    assert cfg.server == "http://127.0.0.1:8080"
    assert cfg.namespace == "team-a"
    assert cfg.ssl is None
    assert cfg.auth_headers() == {"Authorization": "Bearer abc"}
    assert "abc" not in repr(cfg)


def test_without_a_context_namespace_the_namespace_is_default(tmp_path: pathlib.Path) -> None:
    cfg = config.load_kubeconfig(write(tmp_path / "kc", kubeconfig(namespace=None, cluster={
        "insecure-skip-tls-verify": True})))
    assert cfg.namespace == "default"


def test_an_explicit_context_wins(tmp_path: pathlib.Path) -> None:
    other = {"name": "other", "context": {"cluster": "c1", "user": "u1", "namespace": "team-b"}}
    path = write(tmp_path / "kc", kubeconfig(cluster={"insecure-skip-tls-verify": True}, extra_contexts=[other]))
    assert config.load_kubeconfig(path, context="other").namespace == "team-b"
    assert "context other" in config.load_kubeconfig(path, context="other").source


def test_https_with_ca_data_and_client_certificate(tmp_path: pathlib.Path, pem_pair: tuple[bytes, bytes]) -> None:
    cert, key = pem_pair
    doc = kubeconfig(user={"client-certificate-data": b64(cert), "client-key-data": b64(key)},
                     cluster={"certificate-authority-data": b64(cert), "tls-server-name": "api.internal"})
    cfg = config.load_kubeconfig(write(tmp_path / "kc", doc))
    assert isinstance(cfg.ssl, ssl.SSLContext)
    assert cfg.ssl.verify_mode == ssl.CERT_REQUIRED
    assert cfg.ssl.check_hostname
    assert len(cfg.ssl.get_ca_certs()) == 1
    assert cfg.tls_server_name == "api.internal"
    assert "Authorization" not in cfg.auth_headers()


def test_connection_settings_for_kopf(tmp_path: pathlib.Path, pem_pair: tuple[bytes, bytes]) -> None:
    cert, key = pem_pair
    doc = kubeconfig(user={"client-certificate-data": b64(cert), "client-key-data": b64(key), "token": "abc"},
                     cluster={"certificate-authority-data": b64(cert)})
    settings = config.load_kubeconfig(write(tmp_path / "kc", doc)).connection_settings()
    assert settings["server"] == "https://k8s.example:6443"
    assert settings["token"] == "abc"
    assert settings["default_namespace"] == "team-a"
    assert not settings["insecure"]
    assert pathlib.Path(settings["ca_path"]).read_bytes() == cert
    assert pathlib.Path(settings["certificate_path"]).read_bytes() == cert
    assert pathlib.Path(settings["private_key_path"]).read_bytes() == key
    basic = config.load_kubeconfig(write(tmp_path / "kc2", kubeconfig(
        "http://127.0.0.1:1", user={"username": "admin", "password": "s3:cret"}))).connection_settings()
    assert (basic["username"], basic["password"], basic["token"], basic["ca_path"]) == ("admin", "s3:cret", None, None)


def test_ca_and_client_files_are_relative_to_the_kubeconfig(tmp_path: pathlib.Path,
                                                            pem_pair: tuple[bytes, bytes]) -> None:
    cert, key = pem_pair
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_bytes(cert)
    (tmp_path / "pki" / "client.crt").write_bytes(cert)
    (tmp_path / "pki" / "client.key").write_bytes(key)
    doc = kubeconfig(user={"client-certificate": "pki/client.crt", "client-key": "pki/client.key"},
                     cluster={"certificate-authority": "pki/ca.crt"})
    cfg = config.load_kubeconfig(write(tmp_path / "kc", doc))
    assert cfg.ssl is not None
    assert len(cfg.ssl.get_ca_certs()) == 1


def test_insecure_skip_tls_verify_turns_verification_off(tmp_path: pathlib.Path) -> None:
    cfg = config.load_kubeconfig(write(tmp_path / "kc", kubeconfig(cluster={"insecure-skip-tls-verify": True})))
    assert cfg.ssl is not None
    assert cfg.ssl.verify_mode == ssl.CERT_NONE
    assert not cfg.ssl.check_hostname
    assert cfg.connection_settings()["insecure"] is True


def test_a_token_file_is_read_again_when_it_rotates(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "TOKEN_CACHE_SECONDS", 0.0)
    (tmp_path / "token").write_text("first\n")
    cfg = config.load_kubeconfig(write(tmp_path / "kc", kubeconfig(
        "http://127.0.0.1:1", user={"tokenFile": "token"})))
    assert cfg.auth_headers()["Authorization"] == "Bearer first"
    (tmp_path / "token").write_text("second")
    assert cfg.auth_headers()["Authorization"] == "Bearer second"


def test_basic_auth(tmp_path: pathlib.Path) -> None:
    cfg = config.load_kubeconfig(write(tmp_path / "kc", kubeconfig(
        "http://127.0.0.1:1", user={"username": "admin", "password": "s3cret"})))
    assert cfg.auth_headers()["Authorization"] == "Basic " + base64.b64encode(b"admin:s3cret").decode()


def test_kubeconfig_env_lists_are_merged(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = write(tmp_path / "a", {"apiVersion": "v1", "kind": "Config", "current-context": "main",
                                   "clusters": [], "users": [], "contexts": []})
    second = write(tmp_path / "b", kubeconfig("http://127.0.0.1:9"))
    monkeypatch.setenv("KUBECONFIG", f"{first}:{tmp_path / 'missing'}:{second}")
    cfg = config.load()
    assert cfg.server == "http://127.0.0.1:9"


def test_load_prefers_an_explicit_path(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nope"))
    cfg = config.load(write(tmp_path / "kc", kubeconfig("http://127.0.0.1:7")))
    assert cfg.server == "http://127.0.0.1:7"


def test_load_without_anything_is_one_clear_error(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(config.ConfigError, match="no Kubernetes configuration found"):
        config.load()


def _message(exc_info: pytest.ExceptionInfo[config.ConfigError]) -> str:
    text = str(exc_info.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(("content", "fragment"), [
    pytest.param("clusters: [", "not valid YAML", id="broken YAML"),
    pytest.param("", "is empty", id="empty file"),
    pytest.param(yaml.safe_dump({"apiVersion": "v1", "clusters": [], "users": [], "contexts": []}),
                 "current-context", id="no current context"),
    pytest.param(yaml.safe_dump(kubeconfig() | {"current-context": "ghost"}), "ghost", id="unknown context"),
    pytest.param(yaml.safe_dump(kubeconfig("ftp://x")), "must start with http", id="bad server scheme"),
    pytest.param(yaml.safe_dump(kubeconfig(cluster={"certificate-authority": "missing-ca.crt"})),
                 "missing-ca.crt", id="CA file missing"),
])
def test_invalid_kubeconfigs(tmp_path: pathlib.Path, content: str, fragment: str) -> None:
    path = write(tmp_path / "kc", content)
    with pytest.raises(config.ConfigError) as exc_info:
        config.load_kubeconfig(path)
    assert fragment in _message(exc_info)


def test_missing_kubeconfig(tmp_path: pathlib.Path) -> None:
    with pytest.raises(config.ConfigError) as exc_info:
        config.load_kubeconfig(tmp_path / "absent")
    assert _message(exc_info) == f"kubeconfig {tmp_path / 'absent'} does not exist"


def test_kubeconfig_that_is_a_directory(tmp_path: pathlib.Path) -> None:
    with pytest.raises(config.ConfigError, match="is not a file"):
        config.load_kubeconfig(tmp_path)


def service_account(tmp_path: pathlib.Path, pem: bytes, token: str = "sa-token",
                    namespace: str = "issuer") -> pathlib.Path:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text(token)
    (sa / "ca.crt").write_bytes(pem)
    (sa / "namespace").write_text(namespace + "\n")
    return sa


ENV = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}


def test_in_cluster(tmp_path: pathlib.Path, pem_pair: tuple[bytes, bytes]) -> None:
    sa = service_account(tmp_path, pem_pair[0])
    cfg = config.load_incluster(environ=ENV, directory=sa)
    assert cfg.server == "https://10.96.0.1:443"
    assert cfg.namespace == "issuer"
    assert cfg.auth_headers() == {"Authorization": "Bearer sa-token"}
    assert cfg.ssl is not None
    assert len(cfg.ssl.get_ca_certs()) == 1
    assert cfg.source == "in-cluster"


def test_in_cluster_ipv6_host(tmp_path: pathlib.Path, pem_pair: tuple[bytes, bytes]) -> None:
    sa = service_account(tmp_path, pem_pair[0])
    cfg = config.load_incluster(environ={"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"},
                                directory=sa)
    assert cfg.server == "https://[fd00::1]:443"


def test_in_cluster_without_env_or_files(tmp_path: pathlib.Path, pem_pair: tuple[bytes, bytes]) -> None:
    with pytest.raises(config.ConfigError, match="in-cluster configuration: Service host/port is not set"):
        config.load_incluster(environ={}, directory=tmp_path)
    with pytest.raises(config.ConfigError, match="token file does not exist"):
        config.load_incluster(environ=ENV, directory=tmp_path)


def test_in_cluster_without_namespace_file_is_default(tmp_path: pathlib.Path, pem_pair: tuple[bytes, bytes]) -> None:
    sa = service_account(tmp_path, pem_pair[0])
    (sa / "namespace").unlink()
    assert config.load_incluster(environ=ENV, directory=sa).namespace == "default"


def test_for_url_is_plain_http() -> None:
    cfg = config.ClusterConfig.for_url("http://127.0.0.1:1234/", token="t")
    assert cfg.server == "http://127.0.0.1:1234"
    assert cfg.ssl is None
    assert cfg.auth_headers() == {"Authorization": "Bearer t"}
