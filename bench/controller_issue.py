"""Benchmark: the operator issuing N Certificates created at once from one CA Issuer, on two API servers
side by side in one run.

- `embedded`: our own API server in a thread of this process; the operator talks to it with any token.
- `real`: etcd, kube-apiserver and kube-controller-manager from tests/realkube.py (the control plane the
  test tiers use), set up as a user would: `kubectl apply -k manifests/` installs the CRDs, the namespace
  cert-manager and the RBAC, and the operator runs as the install's ServiceAccount `cert-manager/issuer`
  (a TokenRequest token), so the real authorizer, admission and CEL validation judge every request. It
  shares this machine's cores with etcd and kube-apiserver.

On each, the operator runs as `issuer run` in a subprocess, as users run it (with leader election, as the
Deployment runs it). For each round the bench prints: the time until all are Ready (seen through a watch,
so the bench costs the server little) and certs/s; the operator's API calls per issuance by verb and
resource (embedded: the server's request log; real: the audit log, user
`system:serviceaccount:cert-manager:issuer`), with the mutating ones (create/update/patch/delete/
deletecollection; Events excluded, Leases counted apart) and the refused ones; request latencies as the
server saw them and how many of the operator's requests it had in flight; the CPU seconds each process
spent (operator, API server, etcd, the bench), what the rest of the machine used meanwhile (from /proc:
on a shared machine other work takes cores, so read certs/s together with that share), and the rate this
CPU cost would allow on otherwise idle cores (the cost itself grows when other work shares the cores); the
operator's peak RSS. Then the ratios real/embedded and
the goals' verdicts. With RSA-2048 also the ratio to a one-core raw keygen loop measured in the same run.

Run (from the repository root; scripts/controlplane/build builds the control plane once, then caches it):
    .venv/bin/python bench/controller_issue.py [--count 1000] [--backend embedded|real|both]
        [--algorithm ECDSA|RSA|both] [--workers 5] [--restart] [--keep]
        [--scale 10000 --unrelated-secrets 30000]   (RSS at scale; slow)
`--keep` keeps the operator logs, the control plane's logs and its audit log for a closer look.

Goals: on the real server >= 40 certs/s with ECDSA P-256 (cert-manager's only published figure is 1.2
certs/s: printed as the peer reference); <= 6 mutating calls per issuance. Earlier goals (issue 4, embedded):
>= 25 certs/s ECDSA; RSA-2048 >= 75% of the raw keygen loop; RSS <= 300 MiB at 10k Certificates and
<= +20 MiB with 30k unrelated Secrets; after a SIGKILL, workers running within 60 s and no writes after.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import datetime as _dt
import math
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from issuer import playground  # noqa: E402
from issuer.kube import config as kube_config  # noqa: E402
from issuer.kube import errors as kerr  # noqa: E402
from issuer.kube import resources as res  # noqa: E402
from issuer.kube.client import Client  # noqa: E402
from issuer.testing.server import ServerThread  # noqa: E402
from tests import realkube  # noqa: E402

NS = "bench"
MUTATING = frozenset({"create", "update", "patch", "delete", "deletecollection"})
OPERATOR_NAMESPACE, OPERATOR_ACCOUNT = "cert-manager", "issuer"
OPERATOR_USER = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_ACCOUNT}"
GOAL_REAL_RATE = 40.0
GOAL_MUTATING = 6.0
PEER_RATE = 1.2  # cert-manager's only published issuance figure (certs/s)
MACHINE = "the whole machine"
OPERATOR_SYSTEM = "operator in the kernel"
SETTLE = 2.0  # seconds after the last Ready before the calls are counted: the clean-up after a Ready write


# -- measuring ------------------------------------------------------------------------------------------

def rss_mib(pid: int, field: str = "VmHWM") -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int, tid: int | None = None, *, system_only: bool = False) -> float:
    """user + system (or system only) CPU seconds of a process (all its threads) or of one of its threads."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    try:
        text = pathlib.Path(path).read_text()
    except OSError:
        return float("nan")
    fields = text[text.rfind(")") + 2:].split()
    return ((0 if system_only else int(fields[11])) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine spent so far (/proc/stat: everything but idle and iowait)."""
    fields = [int(x) for x in pathlib.Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass(frozen=True)
class Call:
    """One request of the operator as the server saw it."""

    verb: str
    resource: str  # plural[/subresource], or the path of a non-resource request
    started: float  # wall clock
    latency: float  # seconds, received to answered
    code: int  # HTTP status


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def in_flight(calls: list[Call], start: float, end: float) -> tuple[float, int]:
    """Mean and peak number of the operator's requests the server was working on in [start, end]
    (watches left out: they stay open)."""
    edges: list[tuple[float, int]] = []
    busy = 0.0
    for call in calls:
        if call.verb == "watch":
            continue
        lo, hi = max(call.started, start), min(call.started + call.latency, end)
        if hi > lo:
            busy += hi - lo
        edges += [(call.started, 1), (call.started + call.latency, -1)]
    peak = level = 0
    for _, step in sorted(edges):
        level += step
        peak = max(peak, level)
    return busy / max(end - start, 1e-9), peak


# -- the two API servers ---------------------------------------------------------------------------------

class Backend:
    name = ""
    admin: kube_config.ClusterConfig
    operator_kubeconfig: pathlib.Path

    def start(self, folder: pathlib.Path) -> None:
        raise NotImplementedError

    async def install(self, client: Client) -> None:
        raise NotImplementedError

    def calls_since(self, wall: float) -> list[Call]:
        """The operator's requests received since `wall` (kopf's included)."""
        raise NotImplementedError

    def servers(self) -> dict[str, tuple[int, int | None]]:
        """The server-side processes (or threads) whose CPU the round accounts: name -> (pid, tid)."""
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class Embedded(Backend):
    name = "embedded"
    server: ServerThread | None = None

    def start(self, folder: pathlib.Path) -> None:
        self.server = ServerThread(port=0, kubeconfig=folder / "kubeconfig")
        self.server.start()
        self.admin = kube_config.ClusterConfig.for_url(self.server.url)
        self.operator_kubeconfig = self.server.kubeconfig_path

    async def install(self, client: Client) -> None:
        await playground.install_crds(client)
        await client.create(res.NAMESPACES, {"metadata": {"name": OPERATOR_NAMESPACE}})

    def calls_since(self, wall: float) -> list[Call]:
        assert self.server is not None
        return [Call(r.verb or r.method.lower(), r.resource or r.path, r.started, r.duration, r.status)
                for r in self.server.request_log.since(wall) if not r.user_agent.startswith("bench/")]

    def servers(self) -> dict[str, tuple[int, int | None]]:
        thread = next(t for t in threading.enumerate() if t.name == "issuer-apiserver")
        return {"embedded server (thread)": (os.getpid(), thread.native_id)}

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


class Real(Backend):
    name = "real"
    plane: realkube.ControlPlane | None = None

    def start(self, folder: pathlib.Path) -> None:
        self.plane = realkube.ControlPlane(folder / "controlplane")
        self.plane.start()
        self.admin = kube_config.load(self.plane.admin_kubeconfig)

    async def install(self, client: Client) -> None:
        assert self.plane is not None
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            raise SystemExit("kubectl is required for the real backend (`kubectl apply -k manifests/`)")
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.plane.folder)}
        base = [kubectl, "--kubeconfig", str(self.plane.admin_kubeconfig),
                "--cache-dir", str(self.plane.folder / "kube-cache")]
        for args in (["apply", "-k", str(ROOT / "manifests")],
                     ["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"]):
            proc = await asyncio.to_thread(subprocess.run, [*base, *args], capture_output=True, text=True,
                                           env=env, check=False)
            if proc.returncode != 0:
                raise SystemExit(f"kubectl {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        self.operator_kubeconfig = self.plane.service_account_kubeconfig(OPERATOR_NAMESPACE, OPERATOR_ACCOUNT,
                                                                         create=False)

    def calls_since(self, wall: float) -> list[Call]:
        assert self.plane is not None
        calls = []
        for event in self.plane.audit_events():
            if (event.get("user") or {}).get("username") != OPERATOR_USER:
                continue
            received = _timestamp(event["requestReceivedTimestamp"])
            if received < wall:
                continue
            ref = event.get("objectRef") or {}
            resource = ref.get("resource") or event.get("requestURI", "").split("?")[0]
            if ref.get("subresource"):
                resource += "/" + ref["subresource"]
            calls.append(Call(event.get("verb", ""), resource, received,
                              _timestamp(event["stageTimestamp"]) - received,
                              int((event.get("responseStatus") or {}).get("code") or 0)))
        return calls

    def servers(self) -> dict[str, tuple[int, int | None]]:
        assert self.plane is not None
        return {name: (proc.pid, None) for name, proc in self.plane.procs.items()}

    def stop(self) -> None:
        if self.plane is not None:
            self.plane.stop()


def _timestamp(text: str) -> float:
    return _dt.datetime.fromisoformat(text).timestamp()


# -- the workload ----------------------------------------------------------------------------------------

def certificate(name: str, algorithm: str) -> dict[str, Any]:
    key = {"algorithm": "ECDSA", "size": 256} if algorithm == "ECDSA" else {"algorithm": "RSA", "size": 2048}
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "secretName": f"{name}-tls",
            "dnsNames": [f"{name}.bench.example.com"],
            "privateKey": key,
            "usages": ["digital signature", "server auth"],
            "issuerRef": {"name": "ca"},
        },
    }


async def setup(client: Client) -> None:
    await client.create(res.NAMESPACES, {"metadata": {"name": NS}})
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
            "metadata": {"name": "ca", "namespace": NS},
            "spec": {"ca": {"secretName": "root"}},
        },
    )


def is_ready(obj: dict[str, Any]) -> bool:
    conds = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


async def wait_issuer_ready(client: Client, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_ready(await client.get(res.ISSUERS, "ca", NS) or {}):
            return
        await asyncio.sleep(0.2)
    raise SystemExit("the CA Issuer did not become Ready")


async def create_all(client: Client, names: list[str], algorithm: str, parallel: int = 32) -> None:
    sem = asyncio.Semaphore(parallel)

    async def one(name: str) -> None:
        async with sem:
            await client.create(res.CERTIFICATES, certificate(name, algorithm))

    await asyncio.gather(*(one(n) for n in names))


async def all_ready(client: Client, prefix: str, count: int, listed: asyncio.Event) -> None:
    """Until `count` Certificates named `prefix*` are Ready: one list, then a watch (no polling, which
    would cost the server a 1,000-object list every round). Sets `listed` once the watch is anchored."""
    ready: set[str] = set()
    version = ""
    while True:
        if not version:
            found = await client.list(res.CERTIFICATES, NS)
            ready = {o["metadata"]["name"] for o in found.items if o["metadata"]["name"].startswith(prefix)
                     and is_ready(o)}
            version = found.resource_version
            listed.set()
        if len(ready) >= count:
            return
        try:
            async with contextlib.aclosing(client.watch(res.CERTIFICATES, NS, resource_version=version,
                                                        timeout_seconds=60)) as events:
                async for type_, obj in events:
                    meta = obj.get("metadata") or {}
                    version = meta.get("resourceVersion") or version
                    name = meta.get("name") or ""
                    if type_ == "BOOKMARK" or not name.startswith(prefix):
                        continue
                    if type_ != "DELETED" and is_ready(obj):
                        ready.add(name)
                    else:
                        ready.discard(name)
                    if len(ready) >= count:
                        return
        except kerr.Gone:
            version = ""
        except kerr.TransportError:
            await asyncio.sleep(0.5)


async def guarded(work: Awaitable[None], operator: subprocess.Popen[bytes], timeout: float) -> None:
    """`work`, failing loudly when the operator dies or `timeout` passes."""
    task = asyncio.ensure_future(work)
    deadline = time.monotonic() + timeout
    try:
        while not task.done():
            await asyncio.wait([task], timeout=0.5)
            if operator.poll() is not None:
                raise SystemExit(f"the operator exited with {operator.returncode}")
            if time.monotonic() > deadline:
                raise SystemExit(f"not all Ready after {timeout:.0f} s")
        task.result()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, SystemExit):
            await task


@dataclasses.dataclass
class Result:
    backend: str
    algorithm: str
    count: int
    started: float  # wall clock
    elapsed: float
    calls: list[Call]
    rss: float
    cpu: dict[str, float]

    @property
    def rate(self) -> float:
        return self.count / self.elapsed

    def mutating(self) -> float:
        return sum(1 for c in self.calls if c.verb in MUTATING and c.resource not in ("events", "leases")
                   ) / self.count


def cpu_snapshot(backend: Backend, operator: subprocess.Popen[bytes]) -> dict[str, float]:
    out = {"operator": cpu_seconds(operator.pid)}
    inside = 0.0
    for name, (pid, tid) in backend.servers().items():
        out[name] = cpu_seconds(pid, tid)
        if pid == os.getpid():
            inside += out[name]
    out["bench (client)"] = cpu_seconds(os.getpid()) - inside
    out[MACHINE] = machine_busy_seconds()
    out[OPERATOR_SYSTEM] = cpu_seconds(operator.pid, system_only=True)
    return out


async def round_(backend: Backend, client: Client, count: int, algorithm: str,
                 operator: subprocess.Popen[bytes]) -> Result:
    prefix = f"{algorithm.lower()}-"
    names = [f"{prefix}{i}" for i in range(count)]
    listed = asyncio.Event()
    watcher = asyncio.ensure_future(all_ready(client, prefix, count, listed))
    anchored = asyncio.ensure_future(listed.wait())
    await asyncio.wait([watcher, anchored], return_when=asyncio.FIRST_COMPLETED)
    anchored.cancel()
    if watcher.done():
        watcher.result()  # raises what went wrong
    cpu_before = cpu_snapshot(backend, operator)
    started_wall = time.time()
    started = time.perf_counter()
    await create_all(client, names, algorithm)
    await guarded(watcher, operator, timeout=max(300.0, count * 0.5))
    elapsed = time.perf_counter() - started
    cpu_after = cpu_snapshot(backend, operator)
    await asyncio.sleep(SETTLE)
    return Result(backend.name, algorithm, count, started_wall, elapsed, backend.calls_since(started_wall),
                  rss_mib(operator.pid), {k: cpu_after[k] - cpu_before[k] for k in cpu_after})


def report(result: Result, workers: int) -> None:
    n = result.count
    print(f"== {result.backend}: {n} {result.algorithm} Certificates created at once, {workers} workers")
    print(f"   all Ready after {result.elapsed:.1f} s: {result.rate:.1f} certs/s")
    leases = sum(1 for c in result.calls if c.resource == "leases")
    print(f"   mutating API calls per issuance (Events excluded, Leases apart): {result.mutating():.2f}; "
          f"Lease calls in the round: {leases}")
    by: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    for call in result.calls:
        by[call.verb, call.resource].append(call.latency)
    print("     per issuance  verb resource                              server latency p50 / p95 ms")
    for (verb, resource), latencies in sorted(by.items(), key=lambda kv: (kv[0][0] not in MUTATING, kv[0])):
        lat = "" if verb == "watch" else \
            f"{percentile(latencies, 0.5) * 1e3:8.1f} / {percentile(latencies, 0.95) * 1e3:.1f}"
        print(f"     {len(latencies) / n:8.3f}      {verb:6} {resource:38} {lat}")
    failed = collections.Counter(f"{c.code} {c.verb} {c.resource}" for c in result.calls
                                 if c.code >= 400 and c.verb != "watch")
    if failed:
        print("   refused or failed (counted above): " + ", ".join(f"{n} x {k}" for k, n in sorted(failed.items())))
    mean, peak = in_flight(result.calls, result.started, result.started + result.elapsed)
    total = [c.latency for c in result.calls if c.verb != "watch"]
    print(f"   the operator's requests at the server: {len(total)}, mean {statistics.fmean(total or [0]) * 1e3:.1f} "
          f"ms; in flight until all Ready: mean {mean:.1f}, peak {peak}")
    ours = {k: v for k, v in result.cpu.items() if k not in (MACHINE, OPERATOR_SYSTEM) and not math.isnan(v)}
    spent = sum(ours.values())
    machine = result.cpu[MACHINE]
    cores = os.cpu_count() or 1
    capacity = cores * result.elapsed
    kernel = f" ({result.cpu[OPERATOR_SYSTEM]:.1f} in the kernel)"
    parts = ", ".join(f"{k} {v:.1f}" + (kernel if k == "operator" else "")
                      for k, v in sorted(ours.items(), key=lambda kv: -kv[1]))
    print(f"   CPU seconds in the round: {parts}; together {spent:.1f} = {spent / capacity:.0%} of {cores} cores x "
          f"{result.elapsed:.1f} s; other processes on the machine {max(0.0, machine - spent):.1f} "
          f"({max(0.0, machine - spent) / capacity:.0%}); idle {max(0.0, capacity - machine) / capacity:.0%}")
    print(f"   CPU-bound ceiling at this cost ({spent * 1e3 / result.count:.0f} CPU ms per issuance, all of it on "
          f"{cores} otherwise idle cores): {capacity / spent * result.rate:.0f} certs/s")
    print(f"   operator peak RSS: {result.rss:.0f} MiB")


def side_by_side(results: dict[str, Result], count: int) -> None:
    print(f"== side by side: {count} ECDSA P-256 Certificates")
    emb, real = results.get("embedded"), results.get("real")
    rows = [
        ("seconds to all Ready", lambda r: r.elapsed, "{:.1f}"),
        ("certs/s", lambda r: r.rate, "{:.1f}"),
        ("mutating calls per issuance", lambda r: r.mutating(), "{:.2f}"),
        ("all operator calls per issuance", lambda r: len(r.calls) / r.count, "{:.2f}"),
        ("operator CPU s per 1,000 certs", lambda r: r.cpu["operator"] * 1000 / r.count, "{:.1f}"),
        ("operator peak RSS MiB", lambda r: r.rss, "{:.0f}"),
    ]
    print(f"   {'':34}{'embedded':>10}{'real':>10}{'real/embedded':>15}")
    for label, get, fmt in rows:
        a = fmt.format(get(emb)) if emb else "-"
        b = fmt.format(get(real)) if real else "-"
        ratio = f"{get(real) / get(emb):.2f}" if emb and real and get(emb) else "-"
        print(f"   {label:34}{a:>10}{b:>10}{ratio:>15}")
    if real is not None:
        verdict = "MET" if real.rate >= GOAL_REAL_RATE else "MISSED"
        print(f"   goal >= {GOAL_REAL_RATE:.0f} certs/s on the real server: {verdict} ({real.rate:.1f})")
        print(f"   peer reference: cert-manager's only published figure is {PEER_RATE} certs/s; "
              f"ours on the real server is {real.rate / PEER_RATE:.0f}x that")
    for r in (emb, real):
        if r is not None:
            verdict = "MET" if r.mutating() <= GOAL_MUTATING else "MISSED"
            print(f"   goal <= {GOAL_MUTATING:.0f} mutating calls per issuance ({r.backend}): {verdict} "
                  f"({r.mutating():.2f})")


def raw_rsa_rate(seconds: float = 5.0) -> float:
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        rsa.generate_private_key(65537, 2048)
        done += 1
    return done / (time.perf_counter() - started)


# -- one backend -----------------------------------------------------------------------------------------

def operator_command(kubeconfig: pathlib.Path, workers: int) -> list[str]:
    return [sys.executable, "-m", "issuer", "run", "--kubeconfig", str(kubeconfig),
            "--concurrent-workers", str(workers), "--metrics-listen-address", "", "--health-listen-address", "",
            "--cluster-resource-namespace", OPERATOR_NAMESPACE,
            # as the Deployment runs it; a fixed identity, so a restarted operator retakes its Lease at once
            # (as a container restarted in its Pod does) instead of waiting for it to expire
            "--leader-elect", "--leader-election-namespace", OPERATOR_NAMESPACE,
            "--leader-election-identity", "bench-operator"]


async def run_backend(backend: Backend, args: argparse.Namespace, tmp: pathlib.Path) -> list[Result]:
    folder = tmp / backend.name
    folder.mkdir()
    started = time.perf_counter()
    backend.start(folder)
    log_path = folder / "operator.log"
    log = log_path.open("w")
    operator: subprocess.Popen[bytes] | None = None
    results: list[Result] = []
    try:
        async with Client(backend.admin, pool_limit=64, user_agent="bench/1") as client:
            await backend.install(client)
            await setup(client)
            print(f"== {backend.name}: API server up and installed in {time.perf_counter() - started:.1f} s "
                  f"(operator log {log_path})")
            command = operator_command(backend.operator_kubeconfig, args.workers)
            operator = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
            await wait_issuer_ready(client)
            algorithms = ["ECDSA", "RSA"] if args.algorithm == "both" else [args.algorithm]
            for algorithm in algorithms:
                result = await round_(backend, client, args.count, algorithm, operator)
                results.append(result)
                report(result, args.workers)
                if algorithm == "RSA":
                    raw = raw_rsa_rate()
                    print(f"   raw one-core RSA-2048 keygen loop: {raw:.1f} keys/s; "
                          f"ratio {result.rate / raw:.0%} (goal >= 75%)")
            if args.scale:
                await scale(backend.name, client, args, operator.pid)
            if args.restart:
                operator.kill()
                operator.wait()
                operator = await restart(backend, command, log, log_path)
    finally:
        if operator is not None:
            operator.terminate()
            operator.wait(timeout=15)
        log.close()
        backend.stop()
    return results


async def restart(backend: Backend, command: list[str], log: Any, log_path: pathlib.Path
                  ) -> subprocess.Popen[bytes]:
    """SIGKILLed, started again over every Certificate issued so far: how long until the cache is primed
    and the workers run, and how many writes (re-issuances) follow in the next 30 s (goal: none)."""
    before = log_path.stat().st_size
    killed = time.time()
    started = time.perf_counter()
    operator = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    while "started:" not in log_path.read_text()[before:]:
        if operator.poll() is not None:
            raise SystemExit("the operator died on restart")
        await asyncio.sleep(0.1)
    ready = time.perf_counter() - started
    await asyncio.sleep(30)
    writes = [c for c in backend.calls_since(killed) if c.verb in MUTATING and c.resource not in ("events", "leases")]
    print(f"== {backend.name}: restart over all Certificates: workers running after {ready:.1f} s (goal <= 60 s); "
          f"{len(writes)} writes in the 30 s after (goal 0)")
    return operator


async def scale(backend: str, client: Client, args: argparse.Namespace, pid: int) -> None:
    prefix = "s-"
    names = [f"{prefix}{i}" for i in range(args.scale)]
    started = time.perf_counter()
    listed = asyncio.Event()
    watcher = asyncio.ensure_future(all_ready(client, prefix, args.scale, listed))
    await listed.wait()
    await create_all(client, names, "ECDSA")
    await watcher
    print(
        f"== {backend}: {args.scale} more Certificates Ready after {time.perf_counter() - started:.0f} s; "
        f"operator RSS now {rss_mib(pid, 'VmRSS'):.0f} MiB (peak {rss_mib(pid):.0f} MiB)"
    )
    before = rss_mib(pid, "VmRSS")
    sem = asyncio.Semaphore(32)

    async def secret(i: int) -> None:
        async with sem:
            await client.create(
                res.SECRETS,
                {"metadata": {"name": f"unrelated-{i}", "namespace": NS}, "stringData": {"a": "x" * 512}},
            )

    await asyncio.gather(*(secret(i) for i in range(args.unrelated_secrets)))
    await asyncio.sleep(5)
    print(
        f"== {backend}: {args.unrelated_secrets} unrelated Secrets added: operator RSS {rss_mib(pid, 'VmRSS'):.0f} MiB "
        f"({rss_mib(pid, 'VmRSS') - before:+.0f} MiB; goal <= +20 MiB)"
    )


async def main_async(args: argparse.Namespace) -> None:
    backends: list[Backend] = [Embedded(), Real()]
    if args.backend != "both":
        backends = [b for b in backends if b.name == args.backend]
    ecdsa: dict[str, Result] = {}
    with contextlib.ExitStack() as stack:
        if args.keep:
            tmp = tempfile.mkdtemp(prefix="issuer-bench-")
            print(f"== logs (operator, control plane, audit) kept in {tmp}")
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="issuer-bench-"))
        for backend in backends:
            for result in await run_backend(backend, args, pathlib.Path(tmp)):
                if result.algorithm == "ECDSA":
                    ecdsa[result.backend] = result
    if ecdsa:
        side_by_side(ecdsa, args.count)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--backend", choices=["embedded", "real", "both"], default="both")
    parser.add_argument("--algorithm", choices=["ECDSA", "RSA", "both"], default="both")
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--scale", type=int, default=0, help="also issue this many more and report RSS")
    parser.add_argument("--unrelated-secrets", type=int, default=30000)
    parser.add_argument("--restart", action="store_true", help="finally SIGKILL and restart the operator")
    parser.add_argument("--keep", action="store_true", help="keep the logs (operator, audit) for a closer look")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
