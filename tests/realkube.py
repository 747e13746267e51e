"""A real Kubernetes control plane on loopback, the way controller-runtime's envtest gives Go controllers
one: etcd, kube-apiserver and kube-controller-manager (the garbage collector, namespace, ClusterRole
aggregation and ServiceAccount controllers only: no kubelet, no scheduler, so Pods are stored but never
run), built from the Go module proxy by scripts/controlplane/build at the versions pinned there, started on
free ports in a temporary folder.

- `ControlPlane(folder).start()` issues its PKI with issuer's own offline engine (a CA, the serving
  certificate, an admin client certificate in `system:masters`), starts the three processes with RBAC
  authorization and an audit log (every request, metadata level, JSON lines), and waits for /readyz.
- `admin_kubeconfig`, `user_kubeconfig(name, groups)` (a client certificate) and
  `service_account_kubeconfig(namespace, name)` (a TokenRequest token) give kubeconfigs per identity.
- `audit_events()` reads the audit log back, for counting what an identity sent.

Used by the cluster fixtures of tests/controller/conftest.py (the `real` backend), by the benches and by
`./dev cluster` (`python -m tests.realkube`) for a person who wants a real API server to try issuer on.
Nothing is skipped when a binary is missing: `binaries()` builds them (minutes the first time, cached).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as _dt
import json
import os
import pathlib
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import yaml

REPO = pathlib.Path(__file__).resolve().parents[1]
BUILD = REPO / "scripts" / "controlplane" / "build"
SERVICE_CIDR = "10.0.0.0/24"
START_TIMEOUT = 90.0


def binaries() -> pathlib.Path:
    """The folder holding kube-apiserver, kube-controller-manager and etcd, built first if missing."""
    override = os.environ.get("ISSUER_CONTROLPLANE_DIR")
    if override:
        return pathlib.Path(override)
    proc = subprocess.run([str(BUILD)], stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"scripts/controlplane/build failed with exit code {proc.returncode}")
    return pathlib.Path(proc.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- PKI, issued by issuer's own offline engine ----------------------------------------------------------

def _certificate(name: str, spec: dict[str, Any], issuer: str = "controlplane-ca") -> dict[str, Any]:
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": name, "namespace": "controlplane"},
            "spec": {"secretName": name, "issuerRef": {"name": issuer, "kind": "ClusterIssuer"},
                     "privateKey": {"algorithm": "ECDSA", "size": 256}, "duration": "8760h", **spec}}


_CA_DOCS: list[dict[str, Any]] = [
    {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "selfsigned"},
     "spec": {"selfSigned": {}}},
    _certificate("ca", {"isCA": True, "commonName": "issuer test control plane CA"}, issuer="selfsigned"),
    {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "controlplane-ca"},
     "spec": {"ca": {"secretName": "ca"}}},
]


def _issue(docs: list[dict[str, Any]]) -> dict[str, dict[str, bytes]]:
    """Issue `docs` offline; the Secrets' data by name (namespace controlplane)."""
    from issuer import manifests, offline

    parsed = [manifests.Document("<controlplane pki>", i, d) for i, d in enumerate(docs)]
    result = offline.issue_documents(parsed, _dt.datetime.now(_dt.UTC), default_namespace="controlplane",
                                     cluster_resource_namespace="controlplane")
    if result.errors:
        raise RuntimeError("control plane PKI: " + "; ".join(result.errors))
    return {s["metadata"]["name"]: {k: base64.b64decode(v) for k, v in s["data"].items()} for s in result.secrets}


def _secret_doc(name: str, data: dict[str, bytes]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": name, "namespace": "controlplane"},
            "data": {k: base64.b64encode(v).decode() for k, v in data.items()}}


class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager in `folder`; `start()`, then `stop()`."""

    def __init__(self, folder: pathlib.Path, *, extra_apiserver_args: tuple[str, ...] = ()) -> None:
        self.folder = folder
        self.extra_apiserver_args = extra_apiserver_args
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.port = 0
        self.ca: dict[str, bytes] = {}
        self.admin_kubeconfig = folder / "admin.kubeconfig"
        self.audit_log = folder / "audit.log"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> pathlib.Path:
        return self.folder / "pki" / "ca.crt"

    # -- life cycle -----------------------------------------------------------------------------------
    def start(self) -> ControlPlane:
        bins = binaries()
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_pki()
        for attempt in range(3):  # a free port can be taken between choosing and binding it
            try:
                self._start_etcd(bins)
                self._start_apiserver(bins)
                break
            except _PortTaken:
                self.stop()
                if attempt == 2:
                    raise
        self._write_kubeconfig(self.admin_kubeconfig, *self._client_files("admin"))
        self._start_controller_manager(bins)
        return self

    def stop(self) -> None:
        for name in ("kube-controller-manager", "kube-apiserver", "etcd"):
            proc = self.procs.pop(name, None)
            if proc is None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def restart_controller_manager(self) -> None:
        """Start kube-controller-manager again, so that its garbage collector watches the custom resources
        installed since it started at once (it looks for new kinds every 30 s on its own)."""
        proc = self.procs.pop("kube-controller-manager", None)
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self._start_controller_manager(binaries())

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- identities -----------------------------------------------------------------------------------
    def user_kubeconfig(self, user: str, groups: tuple[str, ...] = ()) -> pathlib.Path:
        """A kubeconfig authenticating as `user` (client certificate CN) in `groups` (O)."""
        crt, key = self._client_files(user, groups)
        path = self.folder / f"user-{user.replace(':', '_')}.kubeconfig"
        self._write_kubeconfig(path, crt, key)
        return path

    def service_account_kubeconfig(self, namespace: str, name: str, *, create: bool = True) -> pathlib.Path:
        """A kubeconfig with a bound token of ServiceAccount `namespace/name` (TokenRequest, one day)."""
        if create:
            self.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                       "metadata": {"name": namespace}}, ok=(201, 409))
            self.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts",
                         {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}, ok=(201, 409))
        body = self.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
                            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                             "spec": {"expirationSeconds": 86400}}, ok=(201,))
        path = self.folder / f"sa-{namespace}-{name}.kubeconfig"
        self._write_kubeconfig(path, token=body["status"]["token"], namespace=namespace)
        return path

    def request(self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = (200,)) -> Any:
        """One request as admin; the decoded JSON answer. Other statuses than `ok` raise RuntimeError."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self._admin_context(), timeout=30) as resp:
                status, text = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, text = err.code, err.read()
        if status not in ok:
            raise RuntimeError(f"{method} {path}: HTTP {status}: {text[:500]!r}")
        return json.loads(text) if text else None

    def audit_events(self) -> list[dict[str, Any]]:
        """Every audit event logged so far (stage ResponseComplete only), oldest first."""
        if not self.audit_log.exists():
            return []
        events = []
        for line in self.audit_log.read_text().splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if event.get("stage") == "ResponseComplete":
                    events.append(event)
        return events

    # -- internals ------------------------------------------------------------------------------------
    def _write_pki(self) -> None:
        pki = self.folder / "pki"
        pki.mkdir(parents=True, exist_ok=True)
        serving = _certificate("serving", {
            "commonName": "kube-apiserver", "usages": ["server auth", "digital signature", "key encipherment"],
            "dnsNames": ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
            "ipAddresses": ["127.0.0.1", "10.0.0.1"]})
        admin = self._client_certificate("admin", ("system:masters",))
        issued = _issue([*_CA_DOCS, serving, admin])
        self.ca = issued["ca"]
        self._save(pki / "ca", self.ca)
        self._save(pki / "serving", issued["serving"])
        self._save(pki / "admin", issued["admin"])
        from issuer.pki import keys

        sa_key = keys.encode(keys.generate(None))  # RSA 2048, the service-account token signing key
        (pki / "sa.key").write_bytes(sa_key)
        (pki / "sa.key").chmod(0o600)
        (self.folder / "audit-policy.yaml").write_text(yaml.safe_dump({
            "apiVersion": "audit.k8s.io/v1", "kind": "Policy",
            "omitStages": ["RequestReceived", "ResponseStarted"], "rules": [{"level": "Metadata"}]}))

    @staticmethod
    def _client_certificate(user: str, groups: tuple[str, ...]) -> dict[str, Any]:
        spec: dict[str, Any] = {"commonName": user, "usages": ["client auth", "digital signature"]}
        if groups:
            spec["subject"] = {"organizations": list(groups)}
        return _certificate(_file_name(user), spec)

    def _client_files(self, user: str, groups: tuple[str, ...] = ()) -> tuple[pathlib.Path, pathlib.Path]:
        base = self.folder / "pki" / _file_name(user)
        if not (base.with_suffix(".crt")).exists():
            ca_secret = _secret_doc("ca", self.ca)
            issued = _issue([*_CA_DOCS[2:], ca_secret, self._client_certificate(user, groups)])
            self._save(base, issued[_file_name(user)])
        return base.with_suffix(".crt"), base.with_suffix(".key")

    @staticmethod
    def _save(base: pathlib.Path, data: dict[str, bytes]) -> None:
        base.with_suffix(".crt").write_bytes(data["tls.crt"])
        key = base.with_suffix(".key")
        key.write_bytes(data["tls.key"])
        key.chmod(0o600)

    def _admin_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        pki = self.folder / "pki"
        ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return ctx

    def _write_kubeconfig(self, path: pathlib.Path, crt: pathlib.Path | None = None, key: pathlib.Path | None = None,
                          *, token: str | None = None, namespace: str = "default") -> None:
        user: dict[str, Any] = {"token": token} if token else {
            "client-certificate": str(crt), "client-key": str(key)}
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "real",
            "clusters": [{"name": "real", "cluster": {"server": self.url,
                                                      "certificate-authority": str(self.ca_file)}}],
            "users": [{"name": "user", "user": user}],
            "contexts": [{"name": "real", "context": {"cluster": "real", "user": "user", "namespace": namespace}}],
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(config, f)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("ab")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        log.close()
        self.procs[name] = proc
        return proc

    def _start_etcd(self, bins: pathlib.Path) -> None:
        client, peer = free_port(), free_port()
        data = self.folder / "etcd"
        shutil.rmtree(data, ignore_errors=True)
        self.etcd_url = f"http://127.0.0.1:{client}"
        proc = self._spawn("etcd", [
            str(bins / "etcd"), "--data-dir", str(data), "--name", "test",
            "--listen-client-urls", self.etcd_url, "--advertise-client-urls", self.etcd_url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"test=http://127.0.0.1:{peer}",
            # a test cluster: losing data on a power cut does not matter, waiting for fsync does
            "--unsafe-no-fsync", "--log-level", "warn",
        ])
        self._wait("etcd", proc, lambda: _http_ok(f"{self.etcd_url}/health"))

    def _start_apiserver(self, bins: pathlib.Path) -> None:
        self.port = free_port()
        pki = self.folder / "pki"
        proc = self._spawn("kube-apiserver", [
            str(bins / "kube-apiserver"),
            "--etcd-servers", self.etcd_url,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", str(self.port),
            "--cert-dir", str(self.folder / "apiserver-certs"),
            "--tls-cert-file", str(pki / "serving.crt"), "--tls-private-key-file", str(pki / "serving.key"),
            "--client-ca-file", str(pki / "ca.crt"),
            "--service-cluster-ip-range", SERVICE_CIDR,
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file", str(pki / "sa.key"),
            "--service-account-signing-key-file", str(pki / "sa.key"),
            "--authorization-mode", "RBAC",
            "--audit-policy-file", str(self.folder / "audit-policy.yaml"),
            "--audit-log-path", str(self.audit_log), "--audit-log-format", "json",
            "--endpoint-reconciler-type", "none",  # no kubernetes Service endpoints: nothing runs Pods
            "--allow-privileged", "--profiling=false",
            *self.extra_apiserver_args,
        ])
        self._wait("kube-apiserver", proc, self._ready)

    def _start_controller_manager(self, bins: pathlib.Path) -> None:
        kubeconfig = self.folder / "controller-manager.kubeconfig"
        self._write_kubeconfig(kubeconfig, *self._client_files("admin"))
        self._spawn("kube-controller-manager", [
            str(bins / "kube-controller-manager"), "--kubeconfig", str(kubeconfig),
            "--controllers", "garbagecollector,namespace,clusterrole-aggregation,serviceaccount",
            "--leader-elect=false",
            "--bind-address", "127.0.0.1", "--secure-port", "0",
        ])

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", context=self._admin_context(), timeout=5) as resp:
                return bool(resp.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def _wait(self, name: str, proc: subprocess.Popen[bytes], probe: Any) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                text = (self.folder / f"{name}.log").read_text(errors="replace")
                if "address already in use" in text:
                    raise _PortTaken(name)
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{text[-3000:]}")
            if probe():
                return
            time.sleep(0.1)
        text = (self.folder / f"{name}.log").read_text(errors="replace")
        raise RuntimeError(f"{name} was not ready after {START_TIMEOUT:.0f}s:\n{text[-3000:]}")


class _PortTaken(RuntimeError):
    pass


def _file_name(user: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in user).strip("-.").lower() or "user"


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError):
        return False


@contextlib.contextmanager
def running(folder: pathlib.Path) -> Iterator[ControlPlane]:
    plane = ControlPlane(folder)
    try:
        yield plane.start()
    finally:
        plane.stop()


def main(argv: list[str] | None = None) -> int:
    """`./dev cluster`: a real control plane for a person, until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="./dev cluster", description=main.__doc__)
    parser.add_argument("--dir", type=pathlib.Path, default=None,
                        help="folder for its data, certificates and logs (default: a new temporary folder)")
    args = parser.parse_args(argv)
    import tempfile

    folder = args.dir or pathlib.Path(tempfile.mkdtemp(prefix="issuer-cluster-"))
    started = time.monotonic()
    with running(folder) as plane:
        print(f"kube-apiserver ready at {plane.url} in {time.monotonic() - started:.1f}s; logs in {folder}",
              file=sys.stderr)
        print(f"export KUBECONFIG={plane.admin_kubeconfig}")
        sys.stdout.flush()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
