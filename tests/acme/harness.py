"""The kubelet and ingress controller of the acme tier's operator tests, played by the test process.

No kubelet or ingress controller runs next to the embedded API server, so `Harness`:

- watches solver Pods (label `acme.cert-manager.io/http01-solver=true`) by polling the API server, and
  runs each Pod's command locally (`python -m issuer acmesolver --listen-port=<free port> ...`, the Pod's
  own arguments otherwise); a deleted Pod's process is stopped;
- serves Pebble's HTTP-01 port on 127.0.0.1 as a small reverse proxy: a request's Host and path are
  routed as the Ingresses say (rule host + Exact path -> Service -> the Pods its selector picks -> that
  Pod's local solver process); nothing routed gives 404, as an ingress controller's default backend.

BIND resolves every *.example.test name to 127.0.0.1, so Pebble's validation requests arrive here; the
operator's own self-checks are sent here too (`--acme-http01-self-check-address`).

Fault knobs: `hold(host)` answers 404 for a host (the solver looks unreachable to everyone), and
`tamper(host)` serves a wrong key authorization to the CA only (requests without the self-check's
aiohttp User-Agent), so the self-check passes and the CA's validation fails.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import requests

SOLVER_SELECTOR = "acme.cert-manager.io/http01-solver=true"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Solver:
    def __init__(self, pod: dict[str, Any], log_path: str) -> None:
        self.uid = pod["metadata"]["uid"]
        self.namespace = pod["metadata"]["namespace"]
        self.name = pod["metadata"]["name"]
        self.labels: dict[str, str] = dict(pod["metadata"].get("labels") or {})
        self.port = _free_port()
        container = pod["spec"]["containers"][0]
        args = [a for a in container.get("args") or [] if not a.startswith("--listen-port")]
        command = list(container.get("command") or [])
        assert command[-1:] == ["acmesolver"], f"unexpected solver command {command}"
        self.argv = [sys.executable, "-m", "issuer", "acmesolver", f"--listen-port={self.port}",
                     "--listen-address=127.0.0.1", *args]
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Harness:
    """Runs solver Pods and routes HTTP-01 requests on `http_port` as the Ingresses say."""

    def __init__(self, api_url: str, http_port: int, log_path: str, *, cert: tuple[str, str] | None = None,
                 verify: str | bool = True) -> None:
        self.api_url = api_url
        self.http_port = http_port
        self.log_path = log_path
        self.session = requests.Session()
        if cert:  # a real API server: the admin's client certificate, and its CA rather than the environment's
            self.session.cert, self.session.verify, self.session.trust_env = cert, verify, False
        self.solvers: dict[str, _Solver] = {}
        self.started_pods: list[str] = []  # uids, in the order their processes started
        self.held: set[str] = set()
        self.tampered: set[str] = set()
        self.requests: list[tuple[str, str, str, int]] = []  # (host, path, user agent, status)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", http_port), self._handler())
        self._server.daemon_threads = True
        self._threads = [
            threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True),
            threading.Thread(target=self._kubelet, daemon=True),
        ]

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> Harness:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(10)
        with self._lock:
            for solver in self.solvers.values():
                solver.stop()
            self.solvers.clear()
        self.session.close()

    def hold(self, host: str) -> None:
        self.held.add(host)

    def release(self, host: str) -> None:
        self.held.discard(host)

    def tamper(self, host: str) -> None:
        self.tampered.add(host)

    def untamper(self, host: str) -> None:
        self.tampered.discard(host)

    # -- API reads ------------------------------------------------------------------------------------
    def _list(self, path: str, selector: str | None = None) -> list[dict[str, Any]]:
        params = {"labelSelector": selector} if selector else {}
        resp = self.session.get(self.api_url + path, params=params, timeout=10)
        resp.raise_for_status()
        items: list[dict[str, Any]] = resp.json().get("items") or []
        return items

    # -- the kubelet ----------------------------------------------------------------------------------
    def _kubelet(self) -> None:
        while not self._stop.is_set():
            try:
                pods = self._list("/api/v1/pods", SOLVER_SELECTOR)
            except (requests.RequestException, ValueError):
                time.sleep(0.1)
                continue
            alive = {p["metadata"]["uid"]: p for p in pods if not p["metadata"].get("deletionTimestamp")}
            with self._lock:
                for uid, pod in alive.items():
                    if uid not in self.solvers:
                        self.solvers[uid] = _Solver(pod, self.log_path)
                        self.started_pods.append(uid)
                for uid in [u for u in self.solvers if u not in alive]:
                    self.solvers.pop(uid).stop()
            self._stop.wait(0.05)

    # -- the ingress controller -----------------------------------------------------------------------
    def route(self, host: str, path: str) -> _Solver | None:
        """The solver process an ingress controller would send this request to, if any."""
        for ingress in self._list("/apis/networking.k8s.io/v1/ingresses"):
            ns = ingress["metadata"]["namespace"]
            for rule in (ingress.get("spec") or {}).get("rules") or []:
                if rule.get("host", "") not in ("", host):
                    continue
                for item in (rule.get("http") or {}).get("paths") or []:
                    if item.get("path") != path:
                        continue
                    service_name = item["backend"]["service"]["name"]
                    resp = self.session.get(f"{self.api_url}/api/v1/namespaces/{ns}/services/{service_name}",
                                            timeout=10)
                    if resp.status_code != 200:
                        continue
                    selector: dict[str, str] = (resp.json().get("spec") or {}).get("selector") or {}
                    with self._lock:
                        for solver in self.solvers.values():
                            if solver.namespace == ns and all(solver.labels.get(k) == v for k, v in selector.items()):
                                return solver
        return None

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        harness = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: object) -> None:  # stdlib signature
                return

            def _reply(self, host: str, status: int, body: bytes) -> None:
                harness.requests.append((host, self.path, self.headers.get("User-Agent", ""), status))
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                raw_host = self.headers.get("Host") or ""
                host = raw_host.rsplit(":", 1)[0] if raw_host.count(":") == 1 else raw_host
                if host in harness.held:
                    self._reply(host, 404, b"held by the test")
                    return
                if host in harness.tampered and "aiohttp" not in self.headers.get("User-Agent", ""):
                    self._reply(host, 200, b"not-the-key-authorization")
                    return
                solver = harness.route(host, self.path)
                if solver is None:
                    self._reply(host, 404, b"default backend - 404")
                    return
                for _ in range(100):  # the solver process may still be starting
                    try:
                        conn = http.client.HTTPConnection("127.0.0.1", solver.port, timeout=5)
                        conn.request("GET", self.path, headers={"Host": raw_host})
                        resp = conn.getresponse()
                        body = resp.read()
                        conn.close()
                    except OSError:
                        time.sleep(0.02)
                        continue
                    self._reply(host, resp.status, body)
                    return
                self._reply(host, 502, b"solver not reachable")

        return Handler


@contextlib.contextmanager
def running(api_url: str, http_port: int, log_path: str, **credentials: Any) -> Any:
    harness = Harness(api_url, http_port, log_path, **credentials).start()
    try:
        yield harness
    finally:
        harness.stop()
