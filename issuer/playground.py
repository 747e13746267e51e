"""`issuer run --embedded`: the controller and an embedded API server in one process, for people without
a cluster. Starts the server on loopback, installs our CRDs, writes a kubeconfig and runs the operator
against it; `kubectl --kubeconfig PATH` then works as with any cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import signal
from typing import Any

import yaml

from issuer.kube import config as kube_config
from issuer.kube import resources as res
from issuer.kube.client import Client
from issuer.operator import acme as acme_ext
from issuer.operator import app
from issuer.operator.runtime import Options
from issuer.testing.server import ServerThread

CRD_DIR = pathlib.Path(__file__).resolve().parent / "crds"
FIELD_MANAGER = "issuer-playground"


def crd_documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(CRD_DIR.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict))
    return docs


async def install_crds(client: Client) -> int:
    """Server-side apply every CRD (idempotent: a restarted playground with --state keeps its objects)."""
    docs = crd_documents()
    for doc in docs:
        await client.apply(res.CUSTOM_RESOURCE_DEFINITIONS, doc, field_manager=FIELD_MANAGER, force=True)
    return len(docs)


async def run(
    options: Options, settings: app.RunSettings, *, host: str = "127.0.0.1", port: int = 6443,
    kubeconfig: str | None = None, state: str | None = None, acme: acme_ext.Settings | None = None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    # The API server gets its own thread and event loop: its request handlers never wait behind the
    # operator's work, and the operator's shutdown does not wait for the server's open connections.
    server = ServerThread(host=host, port=port, state_file=state, kubeconfig=kubeconfig)
    await asyncio.to_thread(server.start)
    try:
        path = str(server.kubeconfig_path)
        async with Client(kube_config.load(path)) as client:
            count = await install_crds(client)
        print(f"embedded API server: {server.url} ({count} CRDs installed)", flush=True)
        print(f"kubeconfig:          {path}", flush=True)
        print(f"try:                 kubectl --kubeconfig {path} apply -f examples/", flush=True)
        print(f"                     kubectl --kubeconfig {path} get certificates -A -o wide", flush=True)
        await app.run(options, settings, kubeconfig=path, stop=stop, acme=acme)
    finally:
        await asyncio.to_thread(server.stop)
