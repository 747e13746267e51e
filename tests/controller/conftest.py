"""Fixtures of the controller tier: the operator as users run it, in a subprocess
(`python -m issuer run --kubeconfig PATH --cluster-resource-namespace cert-manager`), against one of two
API servers, with crds/ installed by the real `kubectl apply`:

- `embedded`: our own API server in a background thread of the test process (so tests can inject faults
  and read the request log through `Cluster.server`); the operator talks to it with any token.
- `real`: etcd, kube-apiserver and kube-controller-manager built from the Go module proxy
  (tests/realkube.py); `kubectl apply -k manifests/` installs the CRDs and the RBAC, and the operator runs
  as the ServiceAccount `cert-manager/issuer` with a TokenRequest token, so the real authorizer judges every
  request it sends. The operator talks to it through tests/faultproxy.py, which takes the embedded server's
  fault knobs and keeps the same request log: `Cluster.server` is that proxy here. Tests and kubectl act as
  an admin (a client certificate in `system:masters`), straight to the real server.

The `cluster` fixture is parametrised over both backends, so every test that takes it (or `ns`) runs on
each; tests that need more of the embedded server than its fault knobs and request log (its store, its
persistence) take `embedded_cluster` (or build an embedded `Cluster`) instead.

- `cluster` (session): one API server + one operator shared by most tests; each test works in its own fresh
  namespace (`ns`), so tests never collide, and two runs on one machine never collide either (port 0, tmp
  dirs only).
- `dedicated_cluster` (module, via `make_cluster`): a private API server + operator for tests that kill or
  restart the operator or inject faults.
- `Cluster.api`: raw JSON over HTTP (requests) for reads and writes; `Cluster.kubectl(*args)`: the real
  kubectl with its own --cache-dir and HOME; `wait_ready`, `get`, `secret_data` (decoded) and friends.
- `Operator`: the subprocess, its log in a file; `kill()` is SIGKILL, `restart()` starts it again; every
  test fails if the operator logged a traceback while it ran.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import yaml

from issuer.testing.server import ServerThread
from tests import rbac, realkube
from tests.faultproxy import FaultProxy
from tests.tools import require

REPO = pathlib.Path(__file__).resolve().parents[2]
CRD_DIR = REPO / "crds"
GROUP = "cert-manager.io"
CLUSTER_RESOURCE_NAMESPACE = "cert-manager"
MANIFESTS_DIR = REPO / "manifests"
BACKENDS = ("embedded", "real")
OPERATOR_SERVICE_ACCOUNT = ("cert-manager", "issuer")
CORE = {"secrets", "namespaces", "events"}
CLUSTER_SCOPED = {"clusterissuers", "namespaces"}
PLURALS = {
    "Certificate": "certificates", "CertificateRequest": "certificaterequests", "Issuer": "issuers",
    "ClusterIssuer": "clusterissuers", "Secret": "secrets", "Namespace": "namespaces", "Event": "events",
    "Ingress": "ingresses",
}


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class Api:
    """A tiny synchronous JSON client for the API server: no credentials for the embedded server (it takes
    any token), an admin client certificate and the cluster's CA for the real one."""

    def __init__(self, url: str, *, cert: tuple[str, str] | None = None, verify: str | bool = True) -> None:
        self.url = url
        self.session = requests.Session()
        if cert:
            self.session.cert = cert
        self.session.verify = verify
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's own CA; this one is ours
        self.session.trust_env = False

    def close(self) -> None:
        self.session.close()

    def path(self, plural: str, namespace: str | None = None, name: str | None = None, sub: str = "") -> str:
        base = "/api/v1" if plural in CORE else "/apis/networking.k8s.io/v1" if plural == "ingresses" \
            else f"/apis/{GROUP}/v1"
        ns = f"/namespaces/{namespace}" if namespace and plural not in CLUSTER_SCOPED else ""
        tail = f"/{name}" if name else ""
        return f"{self.url}{base}{ns}/{plural}{tail}{'/' + sub if sub else ''}"

    def _do(self, method: str, url: str, **kwargs: Any) -> Any:
        resp = self.session.request(method, url, timeout=30, **kwargs)
        try:
            body = resp.json()
        except ValueError:
            body = resp.text
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, body)
        return body

    def get(self, plural: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        try:
            obj: dict[str, Any] = self._do("GET", self.path(plural, namespace, name))
        except ApiError as err:
            if err.status == 404:
                return None
            raise
        return obj

    def list(self, plural: str, namespace: str | None = None, selector: str | None = None) -> list[dict[str, Any]]:
        params = {"labelSelector": selector} if selector else {}
        body = self._do("GET", self.path(plural, namespace), params=params)
        items: list[dict[str, Any]] = body.get("items") or []
        return items

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        plural = PLURALS[obj["kind"]]
        ns = (obj.get("metadata") or {}).get("namespace")
        created: dict[str, Any] = self._do("POST", self.path(plural, ns), json=obj)
        return created

    def patch(self, plural: str, name: str, namespace: str | None, patch: dict[str, Any],
              sub: str = "") -> dict[str, Any]:
        patched: dict[str, Any] = self._do(
            "PATCH", self.path(plural, namespace, name, sub), json=patch,
            headers={"Content-Type": "application/merge-patch+json"},
        )
        return patched

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        replaced: dict[str, Any] = self._do(
            "PUT", self.path(PLURALS[obj["kind"]], meta.get("namespace"), meta["name"]), json=obj
        )
        return replaced

    def delete(self, plural: str, name: str, namespace: str | None = None) -> bool:
        try:
            self._do("DELETE", self.path(plural, namespace, name))
        except ApiError as err:
            if err.status == 404:
                return False
            raise
        return True


class Operator:
    """`python -m issuer run` in a subprocess; stdout+stderr appended to `log_path`."""

    def __init__(self, kubeconfig: pathlib.Path, log_path: pathlib.Path, *extra: str) -> None:
        self.kubeconfig = kubeconfig
        self.log_path = log_path
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        assert self.proc is None
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== operator start #{self.starts} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "issuer", "run", "--kubeconfig", str(self.kubeconfig),
                 "--cluster-resource-namespace", CLUSTER_RESOURCE_NAMESPACE,
                 # free ports only: two operators (or two test runs) on one machine never collide
                 "--metrics-listen-address", "127.0.0.1:0", "--health-listen-address", "127.0.0.1:0",
                 *self.extra],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO,
            )

    def wait_started(self, timeout: float = 30.0) -> None:
        """Until this run logged `started:` (the cache is primed and the workers run)."""
        marker = f"===== operator start #{self.starts} ====="
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_path.read_text(errors="replace")
            if "started:" in text[text.rfind(marker):]:
                return
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"operator exited with {self.proc.returncode}:\n{self.log_tail()}")
            time.sleep(0.05)
        pytest.fail(f"operator did not start in {timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, as an OOM killer or a node failure would."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.kill()
        self.start()
        self.wait_started()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


class Cluster:
    """An API server (`backend` "embedded": a thread; "real": tests/realkube.py's control plane) plus the
    operator subprocess, with helpers for tests. `kubeconfig` is the admin's (tests, kubectl, the CLI);
    the operator runs with `operator_kubeconfig`."""

    backend = "embedded"
    plane: realkube.ControlPlane | None = None
    proxy: FaultProxy | None = None
    _server: ServerThread | None = None

    def __init__(self, tmp: pathlib.Path, backend: str = "embedded", *operator_args: str) -> None:
        self.tmp = tmp
        self.backend = backend
        self._kubectl = require("kubectl")
        self._server: ServerThread | None = None
        self.plane: realkube.ControlPlane | None = None
        if backend == "embedded":
            self._server = ServerThread(port=0, kubeconfig=tmp / "kubeconfig")
            self._server.start()
            rbac.USE.track(self._server)
            self.kubeconfig = self._server.kubeconfig_path
            self.api = Api(self._server.url)
            self.operator_kubeconfig = self.kubeconfig
        else:
            assert backend == "real", backend
            self.plane = realkube.ControlPlane(tmp / "controlplane")
            try:
                self.plane.start()
                pki = self.plane.folder / "pki"
                self.proxy = FaultProxy(self.plane.url, self.plane.ca_file, pki / "serving.crt",
                                        pki / "serving.key").start()
            except BaseException:
                self.plane.stop()
                raise
            rbac.USE.track_plane(self.plane)
            self.kubeconfig = self.plane.admin_kubeconfig
            pki = self.plane.folder / "pki"
            self.api = Api(self.plane.url, cert=(str(pki / "admin.crt"), str(pki / "admin.key")),
                           verify=str(self.plane.ca_file))
            self.operator_kubeconfig = self.kubeconfig  # until install() has made the ServiceAccount
        self.operator = Operator(self.operator_kubeconfig, tmp / "operator.log", *operator_args)

    @property
    def url(self) -> str:
        return self.api.url

    def new_api(self) -> Api:
        """Another admin client with the same credentials (for a thread of its own: sessions are not
        shared between threads)."""
        session = self.api.session
        return Api(self.api.url, cert=session.cert, verify=session.verify)  # type: ignore[arg-type]

    @property
    def server(self) -> Any:
        """Where faults are injected and the operator's requests are logged: the embedded API server, or
        the fault proxy in front of the real one (`add_fault`, `faults`, `request_log`,
        `refuse_connections`)."""
        if self._server is not None:
            return self._server
        assert self.proxy is not None
        return self.proxy

    @server.setter
    def server(self, value: ServerThread) -> None:
        self._server = value

    @property
    def embedded(self) -> ServerThread:
        """The embedded API server itself (its store, persistence), for tests that need more than knobs."""
        if self._server is None:
            pytest.fail("this test needs the embedded API server itself; it cannot run on the real one")
        return self._server

    def close(self) -> None:
        self.operator.stop()
        self.api.close()
        if self._server is not None:
            self._server.stop()
            rbac.USE.fold(self._server)
        if self.proxy is not None:
            self.proxy.stop()
        if self.plane is not None:
            rbac.USE.fold_audit(self.plane)
            self.plane.stop()

    # -- tools ----------------------------------------------------------------------------------------
    def kubectl(self, *args: str, check: bool = True, input: str | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.tmp), "KUBECONFIG": str(self.kubeconfig)}
        proc = subprocess.run(
            [self._kubectl, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.tmp / "kube-cache"),
             *args],
            capture_output=True, text=True, input=input, timeout=timeout, env=env, check=False,
        )
        if check and proc.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def apply_yaml(self, text: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.kubectl("apply", "-f", "-", *extra, input=text)

    def install(self) -> None:
        """The CRDs (embedded) or the whole kustomize install (real: CRDs, namespace, RBAC, Deployment), then
        on the real server the operator's kubeconfig: a token of the install's ServiceAccount."""
        if self.plane is None:
            self.kubectl("apply", "-k", str(CRD_DIR))
        else:
            self.kubectl("apply", "-k", str(MANIFESTS_DIR))
        self.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=30s")
        self.ensure_namespace(CLUSTER_RESOURCE_NAMESPACE)
        if self.plane is not None:
            assert self.proxy is not None
            self.plane.restart_controller_manager()  # its garbage collector then knows the new kinds
            token = self.plane.service_account_kubeconfig(*OPERATOR_SERVICE_ACCOUNT, create=False)
            self.operator_kubeconfig = self.proxy.kubeconfig_via(token, self.tmp / "operator.kubeconfig")
            self.operator.kubeconfig = self.operator_kubeconfig

    def ensure_namespace(self, name: str) -> None:
        if self.api.get("namespaces", name) is None:
            self.api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    # -- reads ----------------------------------------------------------------------------------------
    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return self.api.get(PLURALS.get(kind, kind), name, namespace)

    def must_get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        obj = self.get(kind, name, namespace)
        assert obj is not None, f"{kind} {namespace}/{name} does not exist"
        return obj

    def list(self, kind: str, namespace: str | None = None, selector: str | None = None) -> list[dict[str, Any]]:
        return self.api.list(PLURALS.get(kind, kind), namespace, selector)

    def secret_data(self, name: str, namespace: str) -> dict[str, bytes]:
        secret = self.must_get("Secret", name, namespace)
        return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}

    def requests_of(self, cert_name: str, namespace: str) -> list[dict[str, Any]]:
        """The CertificateRequests owned by (named after) a Certificate, oldest revision first."""
        out = []
        for cr in self.list("CertificateRequest", namespace):
            ann = cr["metadata"].get("annotations") or {}
            if ann.get("cert-manager.io/certificate-name") == cert_name:
                out.append(cr)
        return sorted(out, key=lambda cr: int(cr["metadata"]["annotations"].get(
            "cert-manager.io/certificate-revision", "0")))

    def next_key_secrets(self, namespace: str) -> list[dict[str, Any]]:
        return self.list("Secret", namespace, "cert-manager.io/next-private-key=true")

    # -- waiting --------------------------------------------------------------------------------------
    def wait_for(self, what: str, probe: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
        """Poll `probe` until it returns something truthy; fail with the operator's log otherwise."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = probe()
            if last:
                return last
            if not self.operator.alive() and self.operator.proc is not None:
                pytest.fail(f"operator died while waiting for {what}:\n{self.operator.log_tail()}")
            time.sleep(interval)
        pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})\n"
                    f"operator log tail:\n{self.operator.log_tail()}")

    def wait_ready(self, name: str, namespace: str, timeout: float = 30.0, *,
                   kind: str = "Certificate", min_revision: int = 1) -> dict[str, Any]:
        """Until the object is Ready=True for its current generation (Certificates: and at `min_revision`)."""
        def probe() -> dict[str, Any] | None:
            obj = self.get(kind, name, namespace)
            if obj is None:
                return None
            status = obj.get("status") or {}
            if kind == "Certificate" and (status.get("revision") or 0) < min_revision:
                return None
            ready = condition(obj, "Ready")
            if ready is None or ready.get("status") != "True":
                return None
            if "observedGeneration" in ready and ready["observedGeneration"] < obj["metadata"]["generation"]:
                return None
            return obj

        try:
            result: dict[str, Any] = self.wait_for(f"{kind} {namespace}/{name} Ready", probe, timeout)
        except pytest.fail.Exception as exc:
            raise pytest.fail.Exception(f"{exc}\n{self.describe(kind, name, namespace)}") from None
        return result

    def wait_requests(self, name: str, namespace: str, expected: list[str], timeout: float = 10.0) -> None:
        """Wait until the Certificate's CertificateRequests are exactly `expected`: the revision manager
        deletes the previous revision's request right after the new status is written, not before."""
        def names() -> list[str]:
            return [r["metadata"]["name"] for r in self.requests_of(name, namespace)]

        self.wait_for(f"the requests of {name} to be {expected}", lambda: names() == expected, timeout=timeout)

    def describe(self, kind: str, name: str, namespace: str) -> str:
        """The object's status and, for a Certificate, its requests and Secrets: for failure messages."""
        obj = self.get(kind, name, namespace)
        lines = [f"{kind} {namespace}/{name}: {json.dumps((obj or {}).get('status'), sort_keys=True)}"]
        if kind == "Certificate":
            for cr in self.requests_of(name, namespace):
                lines.append(f"  CertificateRequest {cr['metadata']['name']} annotations="
                             f"{cr['metadata'].get('annotations')} status={json.dumps(cr.get('status'))[:800]}")
            for secret in self.list("Secret", namespace):
                meta = secret["metadata"]
                if meta["name"].startswith(name + "-"):
                    lines.append(f"  Secret {meta['name']} labels={meta.get('labels')} "
                                 f"owners={[o.get('name') for o in meta.get('ownerReferences') or []]} "
                                 f"keys={sorted(secret.get('data') or {})}")
            for event in self.list("Event", namespace):
                if event["involvedObject"]["name"] == name:
                    lines.append(f"  Event {event['reason']}: {event['message']}")
        return "\n".join(lines)

    def wait_condition(self, kind: str, name: str, namespace: str | None, ctype: str, status: str,
                       reason: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            obj = self.get(kind, name, namespace)
            cond = condition(obj, ctype) if obj else None
            if cond and cond.get("status") == status and (reason is None or cond.get("reason") == reason):
                return obj
            return None

        result: dict[str, Any] = self.wait_for(f"{kind} {namespace}/{name} {ctype}={status} {reason or ''}",
                                               probe, timeout)
        return result


def condition(obj: dict[str, Any] | None, ctype: str) -> dict[str, Any] | None:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return dict(cond)
    return None


def docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def fresh_name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def running_cluster(tmp: pathlib.Path, backend: str = "embedded", *operator_args: str) -> Iterator[Cluster]:
    cluster = Cluster(tmp, backend, *operator_args)
    try:
        cluster.install()
        cluster.operator.start()
        cluster.operator.wait_started()
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session", params=BACKENDS)
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The shared API server + operator, once on each backend."""
    with running_cluster(tmp_path_factory.mktemp(f"cluster-{request.param}"), request.param) as c:
        yield c


@pytest.fixture(scope="session")
def embedded_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A shared embedded API server + operator, for tests that use its knobs."""
    with running_cluster(tmp_path_factory.mktemp("cluster-knobs")) as c:
        yield c


@pytest.fixture(scope="module", params=BACKENDS)
def dedicated_cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A private API server + operator for one module (restarts), on each backend."""
    with running_cluster(tmp_path_factory.mktemp(f"dedicated-{request.param}"), request.param) as c:
        yield c


def make_namespace(c: Cluster) -> str:
    name = fresh_name("ns")
    c.ensure_namespace(name)
    return name


@contextlib.contextmanager
def test_namespace(c: Cluster) -> Iterator[str]:
    """A fresh namespace on a shared cluster; its Certificates are deleted afterwards (no renewals left
    running for the next tests), and the test fails if the operator logged a traceback meanwhile."""
    name = make_namespace(c)
    offset = c.operator.log_size()
    yield name
    assert_no_kopf_traces(c, name)
    for crt in c.list("Certificate", name):
        c.api.delete("certificates", crt["metadata"]["name"], name)
    assert_no_traceback(c, offset)


@pytest.fixture
def ns(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace on the shared cluster (each backend); see `test_namespace`."""
    with test_namespace(cluster) as name:
        yield name


@pytest.fixture
def embedded_ns(embedded_cluster: Cluster) -> Iterator[str]:
    """A fresh namespace on the shared embedded cluster, for tests that use its knobs."""
    with test_namespace(embedded_cluster) as name:
        yield name


USER_KINDS = ("Certificate", "CertificateRequest", "Issuer", "Secret")


def assert_no_kopf_traces(c: Cluster, namespace: str | None = None) -> int:
    """No `kopf.zalando.org/*` (or other kopf) annotation or finalizer on any user object; returns how many
    objects were looked at."""
    objects: list[dict[str, Any]] = []
    for kind in USER_KINDS:
        objects += c.list(kind, namespace)
    objects += c.list("ClusterIssuer")
    found = []
    for obj in objects:
        meta = obj["metadata"]
        marks = [k for k in (meta.get("annotations") or {}) if "kopf" in k]
        marks += [f for f in meta.get("finalizers") or [] if "kopf" in f or "issuer.cert-manager.io" in f]
        if marks:
            found.append((obj.get("kind"), meta.get("namespace"), meta["name"], marks))
    assert not found, f"kopf left traces on user objects: {found[:10]}"
    return len(objects)


def assert_no_traceback(c: Cluster, offset: int) -> None:
    text = c.operator.log_since(offset)
    assert "Traceback" not in text, f"the operator logged a traceback:\n{text[-6000:]}"
    # a reconcile that never settles (writing every round) is a loop, even when it ends Ready
    assert "still changing after" not in text, f"a reconcile did not settle:\n{text[-6000:]}"
