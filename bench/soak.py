"""Soak: mixed create / update / delete of Certificates at a steady rate for a long time.

The embedded API server runs in this process (a thread), the operator as `issuer run` in a subprocess.
`--rate` operations per second are spread over creates (new ECDSA Certificates), updates (a changed
dnsName, which re-issues) and deletes, keeping about `--live` Certificates.
Each minute it prints the operator's RSS, its sync error counter (from /metrics) and how many
Certificates are Ready. Goals (issue 7): RSS flat within 10% after warm-up, no growth in errors.

Run: .venv/bin/python bench/soak.py [--minutes 30] [--rate 10] [--live 300]
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from issuer.kube import config as kube_config
from issuer.kube import errors as kerr
from issuer.kube import resources as res
from issuer.kube.client import Client
from issuer.testing.server import ServerThread

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import controller_issue as ci  # shared set-up of the CA Issuer and the Certificates


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sync_errors(port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return float("nan")
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("certmanager_controller_sync_error_count_total{"))


async def soak(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = pathlib.Path(tmp) / "kubeconfig"
        server = ServerThread(port=0, kubeconfig=kubeconfig)
        server.start()
        metrics_port = free_port()
        log = open(pathlib.Path(tmp) / "operator.log", "w")  # noqa: SIM115 - closed below
        operator = None
        try:
            async with Client(kube_config.ClusterConfig.for_url(server.url), user_agent="bench/1") as client:
                await ci.setup(client)
                operator = subprocess.Popen(
                    [sys.executable, "-m", "issuer", "run", "--kubeconfig", str(kubeconfig),
                     "--metrics-listen-address", f"127.0.0.1:{metrics_port}", "--health-listen-address", "",
                     # Secrets go with their Certificates, so the live set stays the same size and any
                     # growth of the operator's memory is its own (cert-manager keeps them by default)
                     "--enable-certificate-owner-ref"],
                    stdout=log, stderr=subprocess.STDOUT,
                )
                await ci.wait_issuer_ready(client)
                rng = random.Random(7)
                live: list[str] = []
                serial = 0
                started = time.monotonic()
                next_report = started + 60
                ops = 0
                samples: list[tuple[int, float, float]] = []  # (minute, RSS MiB, sync errors)
                print("minute  RSS MiB  sync errors  live  ready")
                while time.monotonic() - started < args.minutes * 60:
                    tick = time.monotonic()
                    choice = rng.random()
                    try:
                        if len(live) < args.live or choice < 1 / 3:  # at the target: creates = deletes
                            name = f"soak-{serial}"
                            serial += 1
                            await client.create(res.CERTIFICATES, ci.certificate(name, "ECDSA"))
                            live.append(name)
                        elif choice < 2 / 3:
                            name = rng.choice(live)
                            patch = {"spec": {"dnsNames": [f"{name}-{serial}.bench.example.com"]}}
                            serial += 1
                            await client.patch_merge(res.CERTIFICATES, name, patch, "bench")
                        else:
                            name = live.pop(rng.randrange(len(live)))
                            await client.delete(res.CERTIFICATES, name, "bench")
                    except kerr.KubeError as err:
                        print(f"   API error: {err}")
                    ops += 1
                    await asyncio.sleep(max(0.0, 1.0 / args.rate - (time.monotonic() - tick)))
                    if time.monotonic() >= next_report:
                        next_report += 60
                        minute = round((time.monotonic() - started) / 60)
                        ready = await ci.ready_count(client, "soak-")
                        rss = ci.rss_mib(operator.pid, "VmRSS")
                        errors = sync_errors(metrics_port)
                        samples.append((minute, rss, errors))
                        print(f"{minute:6d}  {rss:7.0f}  {errors:11.0f}  {len(live):4d}  {ready:5d}", flush=True)
                print(f"{ops} operations in {args.minutes} minutes; operator peak RSS "
                      f"{ci.rss_mib(operator.pid):.0f} MiB")
                verdict(samples, args.warmup)
        finally:
            if operator is not None:
                operator.terminate()
                operator.wait(timeout=15)
            log.close()
            server.stop()


def verdict(samples: list[tuple[int, float, float]], warmup: int) -> None:
    """The goal of issue 7 in numbers: RSS after the warm-up against its highest point since, and the
    sync errors of the first and the last half after the warm-up."""
    after = [s for s in samples if s[0] >= warmup]
    if len(after) < 2:
        print(f"verdict: too short for a {warmup}-minute warm-up")
        return
    base, top = after[0][1], max(s[1] for s in after)
    half = len(after) // 2
    first = after[half][2] - after[0][2]
    second = after[-1][2] - after[half][2]
    print(f"verdict: RSS {base:.0f} MiB at minute {after[0][0]}, at most {top:.0f} MiB after it "
          f"({(top / base - 1) * 100:+.1f}%, goal within 10%); sync errors {first:.0f} in the first half "
          f"after warm-up, {second:.0f} in the second")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=10, help="operations per second")
    parser.add_argument("--live", type=int, default=300, help="Certificates kept alive (about)")
    parser.add_argument("--warmup", type=int, default=5, help="minutes before RSS is judged")
    asyncio.run(soak(parser.parse_args()))


if __name__ == "__main__":
    main()
