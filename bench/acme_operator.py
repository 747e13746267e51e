"""Benchmark: time to Ready of ACME Certificates through the operator (`issuer run` in a subprocess), against
Pebble + BIND started here (tests/acme/infra.py) and the embedded API server, with the test harness playing
kubelet and ingress controller for HTTP-01 (tests/acme/harness.py), as tests/acme/test_operator.py does.

Run: .venv/bin/python bench/acme_operator.py [--sequential 50] [--at-once 100] [--kinds http-01,dns-01]
                                             [--skip-defaults]

1. Test-speed flags (`--acme-http01-self-check-passes 1 --dns01-check-retry-period 1s
   --dns01-propagation-wait 0s`): `--sequential` Certificates created one after another (each waited for
   until Ready: p50, p95, min, max), then `--at-once` Certificates created together (time until all Ready),
   for each challenge type.
2. cert-manager's default flags (5 HTTP-01 self-check passes 2 s apart, a 10 s DNS check period, the 60 s
   propagation wait): one Certificate per challenge type, to show what the defaults cost.

Goals of the issue (test-speed flags): p50 <= 2 s, p95 <= 5 s, 100 at once all Ready within 60 s. Figures are
printed, never asserted. Every Certificate has a fresh name, so Pebble reuses no authorization.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import pathlib
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.acme import harness as harness_mod  # noqa: E402
from tests.acme import infra  # noqa: E402
from tests.controller.conftest import Cluster, Operator  # noqa: E402

NS = "bench"
FAST_FLAGS = ("--acme-http01-self-check-passes", "1", "--dns01-check-retry-period", "1s",
              "--dns01-propagation-wait", "0s")


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


@contextlib.contextmanager
def operator(tmp: pathlib.Path, pebble: infra.Pebble, bind: infra.Bind, flags: tuple[str, ...]) -> Iterator[Cluster]:
    tmp.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(tmp)
    cluster.operator = Operator(
        cluster.kubeconfig, tmp / "operator.log", "--acme-http01-solver-image", "issuer:bench",
        "--dns01-recursive-nameservers", bind.address, "--dns01-recursive-nameservers-only",
        "--acme-http01-self-check-address", f"127.0.0.1:{pebble.http_port}", *flags)
    try:
        cluster.install()
        with harness_mod.running(cluster.server.url, pebble.http_port, str(tmp / "solvers.log")):
            cluster.operator.start()
            cluster.operator.wait_started()
            cluster.ensure_namespace(NS)
            make_issuers(cluster, pebble, bind)
            yield cluster
    finally:
        cluster.close()


def make_issuers(c: Cluster, pebble: infra.Pebble, bind: infra.Bind) -> None:
    c.api.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tsig", "namespace": NS},
                  "type": "Opaque", "data": {"secret": b64(bind.tsig_secret)}})
    solvers = {
        "http-01": {"http01": {"ingress": {}}},
        "dns-01": {"dns01": {"rfc2136": {"nameserver": bind.address, "tsigKeyName": bind.tsig_name,
                                         "tsigAlgorithm": "HMACSHA256",
                                         "tsigSecretSecretRef": {"name": "tsig", "key": "secret"}}}},
    }
    for kind, solver in solvers.items():
        c.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": kind, "namespace": NS},
                      "spec": {"acme": {"server": pebble.directory_url, "caBundle": b64(pebble.ca_bundle),
                                        "privateKeySecretRef": {"name": f"{kind}-account"}, "solvers": [solver]}}})
        c.wait_condition("Issuer", kind, NS, "Ready", "True", "ACMEAccountRegistered", timeout=30)


def create(c: Cluster, name: str, kind: str) -> None:
    c.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                  "metadata": {"name": name, "namespace": NS},
                  "spec": {"secretName": f"{name}-tls", "dnsNames": [f"{name}-{uuid.uuid4().hex[:8]}.{infra.ZONE}"],
                           "privateKey": {"algorithm": "ECDSA"},
                           "issuerRef": {"name": kind, "kind": "Issuer", "group": "cert-manager.io"}}})


def is_ready(obj: dict[str, Any] | None) -> bool:
    conds = ((obj or {}).get("status") or {}).get("conditions") or []
    return any(x.get("type") == "Ready" and x.get("status") == "True" for x in conds)


def time_one(c: Cluster, name: str, kind: str, timeout: float) -> float:
    started = time.monotonic()
    create(c, name, kind)
    while time.monotonic() - started < timeout:
        if is_ready(c.get("Certificate", name, NS)):
            elapsed = time.monotonic() - started
            assert c.secret_data(f"{name}-tls", NS).get("tls.crt"), f"{name}: Ready without a certificate"
            return elapsed
        time.sleep(0.02)
    raise SystemExit(f"{name} ({kind}) not Ready after {timeout}s:\n{c.describe('Certificate', name, NS)}\n"
                     f"{c.operator.log_tail()}")


def time_all(c: Cluster, prefix: str, kind: str, count: int, timeout: float) -> tuple[float, float]:
    """(seconds to create them all, seconds from the first create until all are Ready)."""
    started = time.monotonic()
    for i in range(count):
        create(c, f"{prefix}-{i}", kind)
    created = time.monotonic() - started
    pending = {f"{prefix}-{i}" for i in range(count)}
    while pending and time.monotonic() - started < timeout:
        for obj in c.list("Certificate", NS):
            if obj["metadata"]["name"] in pending and is_ready(obj):
                pending.discard(obj["metadata"]["name"])
        if pending:
            time.sleep(0.1)
    if pending:
        raise SystemExit(f"{len(pending)} of {count} {kind} Certificates not Ready after {timeout}s, e.g. "
                         f"{sorted(pending)[:3]}\n{c.operator.log_tail()}")
    return created, time.monotonic() - started


def label(kind: str) -> str:
    return kind.replace("-", "")  # http01, dns01: valid in object names


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def fast_figures(c: Cluster, kinds: list[str], sequential: int, at_once: int) -> list[str]:
    lines = []
    for kind in kinds if sequential > 0 else ():
        times = [time_one(c, f"seq-{label(kind)}-{i}", kind, 120) for i in range(sequential)]
        lines.append(f"[test-speed flags] {kind} sequential n={len(times)}: p50 {statistics.median(times):.2f} s, "
                     f"p95 {percentile(times, 95):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s "
                     f"(goal p50 <= 2 s, p95 <= 5 s)")
        print(lines[-1], flush=True)
    for kind in kinds if at_once > 0 else ():
        created, total = time_all(c, f"all-{label(kind)}", kind, at_once, 300)
        lines.append(f"[test-speed flags] {kind} {at_once} at once: all Ready {total:.1f} s after the first create "
                     f"(creating them took {created:.1f} s) (goal <= 60 s)")
        print(lines[-1], flush=True)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sequential", type=int, default=50, help="Certificates one after another, per kind")
    parser.add_argument("--at-once", type=int, default=100, help="Certificates created together, per kind")
    parser.add_argument("--kinds", default="http-01,dns-01")
    parser.add_argument("--skip-defaults", action="store_true", help="leave out the default-flags figures")
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    work = pathlib.Path(tempfile.mkdtemp(prefix="acme-operator-bench-"))
    bind = infra.start_bind(work / "bind")
    pebble = infra.start_pebble(work / "pebble", bind.address)
    lines: list[str] = []
    try:
        print(f"Pebble {pebble.directory_url}, BIND {bind.address}, work dir {work}", flush=True)
        if args.sequential > 0 or args.at_once > 0:
            with operator(work / "fast", pebble, bind, FAST_FLAGS) as c:
                lines += fast_figures(c, kinds, args.sequential, args.at_once)
        if not args.skip_defaults:
            with operator(work / "defaults", pebble, bind, ()) as c:
                for kind in kinds:
                    took = time_one(c, f"default-{label(kind)}", kind, 300)
                    line = f"[cert-manager default flags] {kind}, one Certificate: {took:.2f} s"
                    print(line, flush=True)
                    lines.append(line)
    finally:
        pebble.stop()
        bind.stop()
    print("\nSummary\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
