"""Benchmark: the embedded API server holding 10,000 Certificates and 10,000 Secrets.

`issuer apiserver` runs as its own process; this process drives it with the official `kubernetes` Python
client (threads, as a controller or a script would). Prints creates/s, list latency of the 10k
Certificates (one request and paginated by 500), the time for 3 concurrent watchers to all see a burst
of changes, and the server's RSS. Goals (issue 3): >= 500 writes/s, a 10k list under 1 s, RSS < 500 MiB.

Run: .venv/bin/python bench/apiserver_load.py [--count 10000] [--threads 8]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import pathlib
import re
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import yaml
from kubernetes import client, config, watch

REPO = pathlib.Path(__file__).resolve().parents[1]


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(tmp: pathlib.Path) -> tuple[subprocess.Popen[str], pathlib.Path]:
    kubeconfig = tmp / "kubeconfig"
    proc = subprocess.Popen(
        [sys.executable, "-m", "issuer", "apiserver", "--port", "0", "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if re.match(r"kubeconfig: ", line):
            return proc, kubeconfig
    raise SystemExit("the API server did not start")


def certificate(i: int) -> dict[str, Any]:
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": f"c{i}", "namespace": "load", "labels": {"batch": str(i % 10)}},
            "spec": {"secretName": f"c{i}-tls", "dnsNames": [f"c{i}.load.example.com"],
                     "issuerRef": {"name": "ca"}, "privateKey": {"algorithm": "ECDSA"}}}


def secret(i: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"s{i}", "namespace": "load"},
            "type": "Opaque", "data": {"tls.crt": "QUJD" * 200}}


def timed_creates(count: int, threads: int, make: Any) -> float:
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for future in concurrent.futures.as_completed([pool.submit(make, i) for i in range(count)]):
            future.result()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server, kubeconfig = start_server(pathlib.Path(tmp))
        try:
            api_client = config.new_client_from_config(str(kubeconfig))
            api_client.configuration.connection_pool_maxsize = args.threads * 2
            core = client.CoreV1Api(api_client)
            custom = client.CustomObjectsApi(api_client)
            ext = client.ApiextensionsV1Api(api_client)
            crd = yaml.safe_load((REPO / "crds" / "certificates.cert-manager.io.yaml").read_text())
            ext.create_custom_resource_definition(crd)
            core.create_namespace({"metadata": {"name": "load"}})
            time.sleep(0.2)

            def make_cert(i: int) -> None:
                custom.create_namespaced_custom_object("cert-manager.io", "v1", "load", "certificates", certificate(i))

            def make_secret(i: int) -> None:
                core.create_namespaced_secret("load", secret(i))

            t_certs = timed_creates(args.count, args.threads, make_cert)
            t_secrets = timed_creates(args.count, args.threads, make_secret)
            total = 2 * args.count
            print(f"== {args.count} Certificates + {args.count} Secrets created with the kubernetes client, "
                  f"{args.threads} threads")
            print(f"   Certificates: {args.count / t_certs:7.0f} creates/s (schema + CEL validation)")
            print(f"   Secrets:      {args.count / t_secrets:7.0f} creates/s")
            print(f"   overall:      {total / (t_certs + t_secrets):7.0f} writes/s (goal >= 500)")

            started = time.perf_counter()
            listed = custom.list_namespaced_custom_object("cert-manager.io", "v1", "load", "certificates")
            t_list = time.perf_counter() - started
            assert len(listed["items"]) == args.count
            started = time.perf_counter()
            seen, token = 0, None
            while True:
                page = custom.list_namespaced_custom_object("cert-manager.io", "v1", "load", "certificates",
                                                            limit=500, _continue=token)
                seen += len(page["items"])
                token = page["metadata"].get("continue")
                if not token:
                    break
            t_paged = time.perf_counter() - started
            assert seen == args.count
            print(f"   list of {args.count} Certificates: {t_list:.2f} s in one request, "
                  f"{t_paged:.2f} s in pages of 500 (goal < 1 s)")

            burst = 1000
            rv = listed["metadata"]["resourceVersion"]
            counts = [0, 0, 0]
            ready = threading.Barrier(4)

            def watcher(slot: int) -> None:
                w = watch.Watch()
                ready.wait()
                for _event in w.stream(custom.list_namespaced_custom_object, "cert-manager.io", "v1", "load",
                                       "certificates", resource_version=rv, timeout_seconds=60):
                    counts[slot] += 1
                    if counts[slot] >= burst:
                        w.stop()

            threads = [threading.Thread(target=watcher, args=(i,)) for i in range(3)]
            for thread in threads:
                thread.start()
            ready.wait()
            started = time.perf_counter()

            def touch(i: int) -> None:
                custom.patch_namespaced_custom_object(
                    "cert-manager.io", "v1", "load", "certificates", f"c{i}", {"metadata": {"labels": {"t": "1"}}})

            timed_creates(burst, args.threads, touch)
            for thread in threads:
                thread.join(timeout=120)
            t_fan = time.perf_counter() - started
            print(f"   watch fan-out: {burst} changes seen by all 3 watchers after {t_fan:.2f} s ({counts})")
            print(f"   server RSS: {rss_mib(server.pid):.0f} MiB (peak {rss_mib(server.pid, 'VmHWM'):.0f} MiB; "
                  "goal < 500 MiB)")
            api_client.close()
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
