"""Benchmark: the operator issuing N Certificates created at once from one CA Issuer.

The embedded API server runs in this process (a thread), the operator as `issuer run` in a subprocess,
as users run it. Prints the time until all are Ready, certs/s, the operator's API calls per issuance by
verb (from the server's request log; Events excluded from the mutating count), and the operator's peak
RSS; with RSA-2048 also the ratio to a one-core raw keygen loop measured in the same run.

Run: .venv/bin/python bench/controller_issue.py [--count 1000] [--algorithm ECDSA|RSA|both] [--workers 5]
     [--scale 10000 --unrelated-secrets 30000]   (RSS at scale; slow)
Goals (issue 4): >= 25 certs/s ECDSA; RSA-2048 >= 75% of the raw keygen loop; <= 6 mutating calls per
issuance; RSS <= 300 MiB at 10k Certificates and <= +20 MiB with 30k unrelated Secrets.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from issuer import playground
from issuer.kube import config as kube_config
from issuer.kube import resources as res
from issuer.kube.client import Client
from issuer.testing.server import ServerThread

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def rss_mib(pid: int, field: str = "VmHWM") -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def certificate(name: str, algorithm: str) -> dict[str, Any]:
    key = {"algorithm": "ECDSA", "size": 256} if algorithm == "ECDSA" else {"algorithm": "RSA", "size": 2048}
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": name, "namespace": "bench"},
        "spec": {
            "secretName": f"{name}-tls",
            "dnsNames": [f"{name}.bench.example.com"],
            "privateKey": key,
            "usages": ["digital signature", "server auth"],
            "issuerRef": {"name": "ca"},
        },
    }


async def setup(client: Client) -> None:
    await playground.install_crds(client)
    await client.create(res.NAMESPACES, {"metadata": {"name": "bench"}})
    await client.create(
        res.CLUSTER_ISSUERS,
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "ClusterIssuer",
            "metadata": {"name": "selfsigned"},
            "spec": {"selfSigned": {}},
        },
    )
    root = certificate("root", "ECDSA")
    root["spec"].update(
        {
            "isCA": True,
            "commonName": "bench root",
            "secretName": "root",
            "issuerRef": {"name": "selfsigned", "kind": "ClusterIssuer"},
        }
    )
    await client.create(res.CERTIFICATES, root)
    await client.create(
        res.ISSUERS,
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Issuer",
            "metadata": {"name": "ca", "namespace": "bench"},
            "spec": {"ca": {"secretName": "root"}},
        },
    )


async def ready_count(client: Client, prefix: str) -> int:
    listed = await client.list(res.CERTIFICATES, "bench")
    n = 0
    for obj in listed.items:
        if not obj["metadata"]["name"].startswith(prefix):
            continue
        conds = (obj.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds):
            n += 1
    return n


async def wait_issuer_ready(client: Client, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = await client.get(res.ISSUERS, "ca", "bench")
        conds = ((obj or {}).get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds):
            return
        await asyncio.sleep(0.2)
    raise SystemExit("the CA Issuer did not become Ready")


async def create_all(client: Client, names: list[str], algorithm: str, parallel: int = 32) -> None:
    sem = asyncio.Semaphore(parallel)

    async def one(name: str) -> None:
        async with sem:
            await client.create(res.CERTIFICATES, certificate(name, algorithm))

    await asyncio.gather(*(one(n) for n in names))


async def round_(server: ServerThread, client: Client, count: int, algorithm: str, pid: int) -> dict[str, Any]:
    prefix = f"{algorithm.lower()}-"
    names = [f"{prefix}{i}" for i in range(count)]
    started_wall = time.time()
    started = time.perf_counter()
    await create_all(client, names, algorithm)
    poll = max(0.25, count / 2000)  # listing 10k objects costs the server; do not steal the operator's CPU
    while await ready_count(client, prefix) < count:
        await asyncio.sleep(poll)
    elapsed = time.perf_counter() - started
    records = [r for r in server.request_log.since(started_wall) if r.user_agent.startswith("issuer/")]
    by_verb: collections.Counter[str] = collections.Counter()
    mutating = 0
    for r in records:
        by_verb[f"{r.method} {r.resource or r.path}"] += 1
        if r.method in MUTATING and "events" not in (r.resource or r.path):
            mutating += 1
    return {
        "elapsed": elapsed,
        "rate": count / elapsed,
        "by_verb": by_verb,
        "mutating": mutating / count,
        "rss": rss_mib(pid),
    }


def raw_rsa_rate(seconds: float = 5.0) -> float:
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        rsa.generate_private_key(65537, 2048)
        done += 1
    return done / (time.perf_counter() - started)


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = pathlib.Path(tmp) / "kubeconfig"
        server = ServerThread(port=0, kubeconfig=kubeconfig)
        server.start()
        log = open(pathlib.Path(tmp) / "operator.log", "w")  # noqa: SIM115 - closed below
        operator = None
        try:
            async with Client(
                kube_config.ClusterConfig.for_url(server.url), pool_limit=64, user_agent="bench/1"
            ) as client:
                await setup(client)
                command = [sys.executable, "-m", "issuer", "run", "--kubeconfig", str(kubeconfig),
                           "--concurrent-workers", str(args.workers), "--metrics-listen-address", "",
                           "--health-listen-address", ""]
                operator = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
                await wait_issuer_ready(client)
                algorithms = ["ECDSA", "RSA"] if args.algorithm == "both" else [args.algorithm]
                for algorithm in algorithms:
                    result = await round_(server, client, args.count, algorithm, operator.pid)
                    print(f"== {args.count} {algorithm} Certificates created at once, {args.workers} workers")
                    print(f"   all Ready after {result['elapsed']:.1f} s: {result['rate']:.1f} certs/s")
                    print(f"   mutating API calls per issuance (Events excluded): {result['mutating']:.2f}")
                    for verb, n in sorted(result["by_verb"].items()):
                        print(f"     {n / args.count:6.2f}  {verb}")
                    print(f"   operator peak RSS: {result['rss']:.0f} MiB")
                    if algorithm == "RSA":
                        raw = raw_rsa_rate()
                        print(
                            f"   raw one-core RSA-2048 keygen loop: {raw:.1f} keys/s; "
                            f"ratio {result['rate'] / raw:.0%} (goal >= 75%)"
                        )
                if args.scale:
                    await scale(server, client, args, operator.pid)
                if args.restart:
                    operator.kill()
                    operator.wait()
                    operator = await restart(server, command, log, pathlib.Path(tmp) / "operator.log")
        finally:
            if operator is not None:
                operator.terminate()
                operator.wait(timeout=10)
            log.close()
            server.stop()


async def restart(server: ServerThread, command: list[str], log: Any, log_path: pathlib.Path
                  ) -> subprocess.Popen[bytes]:
    """SIGKILLed, started again over every Certificate issued so far: how long until the cache is primed
    and the workers run, and how many writes (re-issuances) follow in the next 30 s (goal: none)."""
    before = log_path.stat().st_size
    killed = time.time()
    started = time.perf_counter()
    operator = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    while "started:" not in log_path.read_text()[before:]:
        if operator.poll() is not None:
            raise SystemExit("the operator died on restart")
        await asyncio.sleep(0.1)
    ready = time.perf_counter() - started
    await asyncio.sleep(30)
    writes = [r for r in server.request_log.since(killed) if r.user_agent.startswith("issuer/")
              and r.method in MUTATING and "/events" not in r.path]
    print(f"== restart over all Certificates: workers running after {ready:.1f} s (goal <= 60 s); "
          f"{len(writes)} writes in the 30 s after (goal 0)")
    return operator


async def scale(server: ServerThread, client: Client, args: argparse.Namespace, pid: int) -> None:
    prefix = "s-"
    names = [f"{prefix}{i}" for i in range(args.scale)]
    started = time.perf_counter()
    await create_all(client, names, "ECDSA")
    while await ready_count(client, prefix) < args.scale:
        await asyncio.sleep(1.0)
    print(
        f"== {args.scale} more Certificates Ready after {time.perf_counter() - started:.0f} s; "
        f"operator RSS now {rss_mib(pid, 'VmRSS'):.0f} MiB (peak {rss_mib(pid):.0f} MiB)"
    )
    before = rss_mib(pid, "VmRSS")
    sem = asyncio.Semaphore(32)

    async def secret(i: int) -> None:
        async with sem:
            await client.create(
                res.SECRETS,
                {"metadata": {"name": f"unrelated-{i}", "namespace": "bench"}, "stringData": {"a": "x" * 512}},
            )

    await asyncio.gather(*(secret(i) for i in range(args.unrelated_secrets)))
    await asyncio.sleep(5)
    print(
        f"== {args.unrelated_secrets} unrelated Secrets added: operator RSS {rss_mib(pid, 'VmRSS'):.0f} MiB "
        f"({rss_mib(pid, 'VmRSS') - before:+.0f} MiB; goal <= +20 MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--algorithm", choices=["ECDSA", "RSA", "both"], default="both")
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--scale", type=int, default=0, help="also issue this many more and report RSS")
    parser.add_argument("--unrelated-secrets", type=int, default=30000)
    parser.add_argument("--restart", action="store_true", help="finally SIGKILL and restart the operator")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
