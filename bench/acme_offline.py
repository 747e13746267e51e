"""Benchmark: one ACME HTTP-01 certificate from a local Pebble, `issuer issue` against Debian's `lego` and
PyPI's `certbot`, on the same Pebble + BIND in the same run (tests/acme/infra.py starts them on loopback).

Run: .venv/bin/python bench/acme_offline.py [--runs 7] [--certbot PATH] [--lego PATH]
Every run is a whole process as users run it (imports, a new RSA 2048 account registered, an ECDSA P-256
certificate key, a fresh name so no authorization is reused) and is checked to have produced a
certificate. Prints each tool's median, min and max (goal: issuer's median at most 1 s). `lego` comes from
`apt-get install lego`; `certbot` from `pip install certbot` into a separate venv (default
/tmp/certbot-venv/bin/certbot); a tool that is missing is reported and skipped.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.acme import infra  # noqa: E402


def issuer_command(work: pathlib.Path, pebble: infra.Pebble, ca: pathlib.Path, name: str) -> list[str]:
    docs = [
        {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "pebble"},
         "spec": {"acme": {"server": pebble.directory_url, "email": "bench@example.test",
                           "privateKeySecretRef": {"name": "bench-account"},
                           "solvers": [{"http01": {"ingress": {}}}]}}},
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "bench", "namespace": "b"},
         "spec": {"secretName": "bench-tls", "dnsNames": [name], "privateKey": {"algorithm": "ECDSA"},
                  "issuerRef": {"name": "pebble", "kind": "ClusterIssuer"}}},
    ]
    (work / "in.yaml").write_text(yaml.safe_dump_all(docs))
    help_text = subprocess.run([sys.executable, "-m", "issuer", "issue", "--help"], capture_output=True,
                               text=True, check=False).stdout
    entry = ["-m", "issuer", "issue"] if "--http01-port" in help_text else ["-m", "issuer.offline"]
    return [sys.executable, *entry, "-f", str(work / "in.yaml"), f"--http01-port={pebble.http_port}",
            "--http01-address=127.0.0.1", "--acme-ca-bundle", str(ca), "--out-dir", str(work / "out"), "-q"]


def lego_command(lego: str, work: pathlib.Path, pebble: infra.Pebble, name: str) -> list[str]:
    return [lego, "--server", pebble.directory_url, "--accept-tos", "--email", "bench@example.test",
            "--path", str(work / "lego"), "--key-type", "ec256", "--http", "--http.port",
            f"127.0.0.1:{pebble.http_port}", "--domains", name, "run"]


def certbot_command(certbot: str, work: pathlib.Path, pebble: infra.Pebble, name: str) -> list[str]:
    return [certbot, "certonly", "--standalone", "--non-interactive", "--agree-tos", "--email",
            "bench@example.test", "--server", pebble.directory_url, "--http-01-port", str(pebble.http_port),
            "--http-01-address", "127.0.0.1", "--key-type", "ecdsa", "--config-dir", str(work / "c"),
            "--work-dir", str(work / "w"), "--logs-dir", str(work / "l"), "-d", name]


def produced(work: pathlib.Path) -> bool:
    return any(p.name in ("tls.crt", "fullchain.pem") or p.suffix == ".crt" for p in work.rglob("*") if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--lego", default=shutil.which("lego") or "")
    parser.add_argument("--certbot", default=shutil.which("certbot") or "/tmp/certbot-venv/bin/certbot")
    args = parser.parse_args()

    base = pathlib.Path(tempfile.mkdtemp(prefix="acme-bench-"))
    bind = infra.start_bind(base / "bind")
    pebble = infra.start_pebble(base / "pebble", bind.address)
    ca = base / "pebble-ca.pem"
    ca.write_bytes(pebble.ca_bundle)
    env = {**os.environ, "LEGO_CA_CERTIFICATES": str(ca), "REQUESTS_CA_BUNDLE": str(ca)}
    tools: dict[str, Callable[[pathlib.Path, str], list[str]]] = {
        "issuer issue": lambda work, name: issuer_command(work, pebble, ca, name),
    }
    if args.lego and os.path.exists(args.lego):
        tools["lego"] = lambda work, name: lego_command(args.lego, work, pebble, name)
    else:
        print("lego: not installed (apt-get install lego), skipped")
    if args.certbot and os.path.exists(args.certbot):
        tools["certbot"] = lambda work, name: certbot_command(args.certbot, work, pebble, name)
    else:
        print("certbot: not installed (pip install certbot into /tmp/certbot-venv), skipped")
    times: dict[str, list[float]] = {tool: [] for tool in tools}
    try:
        for i in range(args.runs):
            for tool, command in tools.items():  # interleaved, so drift hits every tool alike
                work = base / f"{tool.split()[0]}-{i}"
                work.mkdir()
                name = f"{tool.split()[0]}-{uuid.uuid4().hex[:8]}.{infra.ZONE}"
                cmd = command(work, name)
                started = time.perf_counter()
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work, check=False)
                elapsed = time.perf_counter() - started
                if proc.returncode != 0 or not produced(work):
                    print(f"{tool} run {i} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
                    return 1
                times[tool].append(elapsed)
    finally:
        pebble.stop()
        bind.stop()
        shutil.rmtree(base, ignore_errors=True)
    print(f"one HTTP-01 certificate against Pebble, whole process, new account, {args.runs} runs each:")
    for tool, values in times.items():
        print(f"  {tool:13s} median {statistics.median(values):.3f}s  min {min(values):.3f}s  max {max(values):.3f}s")
    ours = statistics.median(times["issuer issue"])
    print(f"goal: issuer issue median <= 1.000s: {'met' if ours <= 1.0 else 'NOT met'} ({ours:.3f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
