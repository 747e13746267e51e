"""Foreground entry point of the embedded API server, wired by the CLI as
`issuer apiserver [--host 127.0.0.1] [--port 6443|0] [--kubeconfig PATH] [--state FILE]`: starts the
server, writes a kubeconfig that kubectl and the kubernetes client use as is (plain http URL, dummy
token), prints the URL, and stops cleanly (saving the state file) on SIGINT or SIGTERM. `run` is the
coroutine, `main(argv)` the synchronous wrapper returning an exit code."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from issuer.testing.persistence import StateFileError
from issuer.testing.server import EmbeddedAPIServer


async def run(host: str = "127.0.0.1", port: int = 6443, kubeconfig: str | None = None,
              state: str | None = None, *, history_window: int = 20000, bookmark_period: float = 60.0,
              stop: asyncio.Event | None = None) -> None:
    """Serve until SIGINT/SIGTERM (or until `stop` is set)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        async with EmbeddedAPIServer(host, port, history_window=history_window, bookmark_period=bookmark_period,
                                     state_file=state, kubeconfig=kubeconfig) as srv:
            print(f"issuer apiserver listening on {srv.url}", flush=True)
            print(f"kubeconfig: {srv.kubeconfig_path}", flush=True)
            if state:
                print(f"state file: {state}", flush=True)
            await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="issuer apiserver",
                                description="Run the embedded in-memory Kubernetes API server.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=6443, help="port, 0 for a free one (default 6443)")
    p.add_argument("--kubeconfig", default=None, help="where to write the kubeconfig (default: a temp file)")
    p.add_argument("--state", default=None, help="persist objects to this JSON file and reload them on start")
    p.add_argument("--history-window", type=int, default=20000, help="watch events kept for replay")
    p.add_argument("--bookmark-period", type=float, default=60.0, help="seconds between watch BOOKMARKs")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(list(argv) if argv is not None else None)
    try:
        asyncio.run(run(args.host, args.port, args.kubeconfig, args.state, history_window=args.history_window,
                        bookmark_period=args.bookmark_period))
    except StateFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
