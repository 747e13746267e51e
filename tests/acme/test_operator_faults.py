"""The ACME issuer through the operator when the CA misbehaves: a Pebble that rejects half of all nonces, a
Pebble restarted mid-order (new roots, no memory of accounts or orders), and rate limiting / unavailability
(429 and 503 with Retry-After) from a small fault-injecting HTTPS proxy in front of Pebble.

Each test runs its own Pebble (`pebble_factory`), API server, operator and harness (`operator_env`), a
small variant of test_operator.py's module-wide `env`, whose helpers it reuses; each runs on both API servers
of tests/controller/conftest.py (`embedded`, `real`).
"""

from __future__ import annotations

import dataclasses
import http.client
import http.server
import itertools
import json
import pathlib
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests import tools
from tests.acme import infra
from tests.acme.test_operator import (
    Env,
    acme_list,
    certificate,
    fresh,
    make_issuer,
    operator_env,
    start_held,
    validate,
    wait_ready,
)
from tests.controller.conftest import BACKENDS, make_namespace

pytestmark = [pytest.mark.controller, pytest.mark.faults]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The API server the test's operator runs against (each test runs once per backend)."""
    return str(request.param)


def chain_of(e: Env, secret_name: str, ns: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(e.cluster.secret_data(secret_name, ns)["tls.crt"])


# ---------------------------------------------------------------------------------------------------------
# badNonce


def test_half_of_all_nonces_rejected_still_issues(tmp_path: pathlib.Path, bind: infra.Bind,
                                                   pebble_factory: Callable[..., infra.Pebble], backend: str) -> None:
    pebble = pebble_factory(env={"PEBBLE_WFE_NONCEREJECT": "50"})
    with operator_env(tmp_path, pebble, bind, backend) as e:
        ns = make_namespace(e.cluster)
        http01 = make_issuer(e, ns)
        dns01 = make_issuer(e, ns, challenge="dns-01")
        names = {f"h{i}": (http01, fresh(f"nonce-h{i}")) for i in range(3)}
        names |= {f"d{i}": (dns01, fresh(f"nonce-d{i}")) for i in range(2)}
        for name, (ref, domain) in names.items():
            e.cluster.api.create(certificate(name, ns, {"dnsNames": [domain]}, ref))
        for name in names:
            validate(e, wait_ready(e, name, ns, timeout=60))
        # Pebble does not log its rejections; the operator's request metrics count the 400s it answered
        found = re.findall(r"metrics listening on ([\d.]+):(\d+)", e.cluster.operator.log_path.read_text())
        host, port = found[-1]
        text = requests.get(f"http://{host}:{port}/metrics", timeout=10).text
        counts = re.findall(r"^certmanager_http_acme_client_request_count_total\{(.*)\} (\S+)$", text, re.M)
        rejected = sum(float(value) for labels, value in counts if 'status="400"' in labels)
        assert rejected >= 3, f"Pebble rejected only {rejected} nonces: the test did not test badNonce"


# ---------------------------------------------------------------------------------------------------------
# Pebble restarted mid-order


def test_pebble_restarted_mid_order_recovers_through_a_new_order(
        tmp_path: pathlib.Path, bind: infra.Bind, pebble_factory: Callable[..., infra.Pebble], backend: str) -> None:
    pebble = pebble_factory()
    restarted: list[infra.Pebble] = []
    try:
        with operator_env(tmp_path, pebble, bind, backend) as e:
            _restart_mid_order(e, restarted)
    finally:
        for server in restarted:
            server.stop()


def _restart_mid_order(e: Env, restarted: list[infra.Pebble]) -> None:
    c = e.cluster
    ns = make_namespace(c)
    ref = make_issuer(e, ns)
    account_before = c.must_get("Issuer", ref["name"], ns)["status"]["acme"]["uri"]
    domain = fresh("restart")
    e.harness.hold(domain)
    try:
        start_held(c, ns, ref, "restart", domain)
        [old_order] = acme_list(c, "orders", ns)
        assert old_order["status"]["state"] == "pending", old_order["status"]
        old_root = e.pebble.root
        e.pebble = infra.restart_pebble(e.pebble)
        restarted.append(e.pebble)
        assert e.pebble.root != old_root, "a restarted Pebble makes a new root"
    finally:
        e.harness.release(domain)
    ready = wait_ready(e, "restart", ns, timeout=60)
    validate(e, ready)  # verified against the NEW Pebble's root

    [order] = acme_list(c, "orders", ns)
    assert order["status"]["state"] == "valid"
    assert order["status"]["url"] != old_order["status"]["url"], "the certificate came without a new ACME order"
    account_after = c.must_get("Issuer", ref["name"], ns)["status"]["acme"]["uri"]
    assert account_after != account_before, "the Issuer kept the account the new Pebble does not know"
    chain = chain_of(e, "restart-tls", ns)
    assert chain[-1].issuer == x509.load_pem_x509_certificate(e.pebble.root).subject
    assert chain[-1].issuer != x509.load_pem_x509_certificate(old_root).subject
    rest = b"".join(x.public_bytes(serialization.Encoding.PEM) for x in chain[1:])
    with pytest.raises(AssertionError):
        tools.openssl_verify(chain[0].public_bytes(serialization.Encoding.PEM), old_root, rest, purpose="sslserver")


# ---------------------------------------------------------------------------------------------------------
# 429 / 503 with Retry-After, from a proxy in front of Pebble


@dataclasses.dataclass
class Fault:
    status: int
    retry_after: str
    problem_type: str
    detail: str


class FaultProxy:
    """An HTTPS reverse proxy in front of Pebble's ACME port with Pebble's own WFE certificate (so the
    Issuer's caBundle trusts it). Requests go on with the proxy's host:port as Host, so Pebble's directory
    and every URL it returns point at the proxy. `inject(path, faults)` answers the next POSTs to `path`
    with those faults, one each, before passing through again; `seen` records (monotonic time, method,
    path, status) of every request."""

    def __init__(self, pebble: infra.Pebble) -> None:
        self.pebble = pebble
        self.upstream_port = int(pebble.directory_url.split(":")[2].split("/")[0])
        self.upstream_ctx = ssl.create_default_context(cadata=pebble.ca_bundle.decode())
        self.faults: dict[str, list[Fault]] = {}
        self.seen: list[tuple[float, str, str, int]] = []
        self.lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pebble.folder / "wfe.pem", pebble.folder / "wfe.key")
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def directory_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/dir"

    def path_of(self, resource: str) -> str:
        """The path of a directory entry (`newOrder` ...), as Pebble names it."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.upstream_port, context=self.upstream_ctx, timeout=5)
        conn.request("GET", "/dir")
        url: str = json.loads(conn.getresponse().read())[resource]
        conn.close()
        return "/" + url.split("/", 3)[3]

    def inject(self, path: str, faults: list[Fault]) -> None:
        with self.lock:
            self.faults[path] = list(faults)

    def times(self, method: str, path: str) -> list[tuple[float, int]]:
        with self.lock:
            return [(when, status) for when, m, p, status in self.seen if m == method and p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: object) -> None:  # stdlib signature
                return

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                with proxy.lock:
                    proxy.seen.append((time.monotonic(), self.command, self.path, status))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = None
                if self.command == "POST":
                    with proxy.lock:
                        queue = proxy.faults.get(self.path)
                        fault = queue.pop(0) if queue else None
                if fault is not None:
                    problem = json.dumps({"type": fault.problem_type, "detail": fault.detail, "status": fault.status})
                    self._answer(fault.status, [("Content-Type", "application/problem+json"),
                                                ("Retry-After", fault.retry_after)], problem.encode())
                    return
                conn = http.client.HTTPSConnection("127.0.0.1", proxy.upstream_port, context=proxy.upstream_ctx,
                                                   timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                headers["Host"] = f"127.0.0.1:{proxy.port}"
                conn.request(self.command, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                skip = ("content-length", "connection", "transfer-encoding")
                self._answer(resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in skip], data)

            do_GET = do_POST = do_HEAD = _forward

        return Handler


@pytest.fixture
def proxied(tmp_path: pathlib.Path, bind: infra.Bind, pebble_factory: Callable[..., infra.Pebble],
            backend: str) -> Iterator[tuple[Env, FaultProxy]]:
    pebble = pebble_factory()
    proxy = FaultProxy(pebble)
    try:
        with operator_env(tmp_path, pebble, bind, backend) as e:
            # Issuers made by make_issuer talk to the proxy; validate() still checks against Pebble's root
            e.pebble = dataclasses.replace(pebble, directory_url=proxy.directory_url)
            yield e, proxy
    finally:
        proxy.close()


RETRY_AFTER = 3.0
FAULTS = {
    429: Fault(429, "3", "urn:ietf:params:acme:error:rateLimited", "too many new orders recently"),
    503: Fault(503, "3", "urn:ietf:params:acme:error:serverInternal", "the CA is down for maintenance"),
}


@pytest.mark.parametrize("status", sorted(FAULTS))
def test_new_order_refused_with_retry_after_is_retried_no_sooner(proxied: tuple[Env, FaultProxy],
                                                                  status: int) -> None:
    e, proxy = proxied
    c = e.cluster
    ns = make_namespace(c)
    ref = make_issuer(e, ns, challenge="dns-01")
    new_order = proxy.path_of("newOrder")
    assert not proxy.times("POST", new_order), "no order before the Certificate"
    proxy.inject(new_order, [FAULTS[status]] * 2)
    c.api.create(certificate("limited", ns, {"dnsNames": [fresh(f"limited{status}")]}, ref))
    validate(e, wait_ready(e, "limited", ns, timeout=45))

    attempts = proxy.times("POST", new_order)
    assert [s for _, s in attempts] == [status, status, 201], attempts
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(attempts)]
    assert all(gap >= RETRY_AFTER - 0.05 for gap in gaps), f"a new order came before Retry-After: {gaps}"
    [order] = acme_list(c, "orders", ns)
    assert order["status"]["state"] == "valid"
    assert order["status"]["url"].startswith(f"https://127.0.0.1:{proxy.port}/"), "URLs must point at the proxy"
    assert len(c.requests_of("limited", ns)) == 1, "the refusals must not fail the CertificateRequest"
