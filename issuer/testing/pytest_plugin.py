"""pytest fixtures for the embedded API server, for any test tier: `apiserver` (an `EmbeddedAPIServer`
started on a free port in the test's event loop, kubeconfig written under `tmp_path`),
`apiserver_factory` (start more, or with custom knobs: history_window, bookmark_period, state_file) and
`apiserver_thread` (a `ServerThread` for synchronous callers: the kubernetes client, subprocesses).
Load it with ``pytest_plugins = ["issuer.testing.pytest_plugin"]`` in a root conftest, or import the
fixtures by name into a tier's conftest."""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio

from issuer.testing.server import EmbeddedAPIServer, ServerThread

ServerFactory = Callable[..., Awaitable[EmbeddedAPIServer]]


@pytest_asyncio.fixture
async def apiserver_factory(tmp_path: pathlib.Path) -> AsyncIterator[ServerFactory]:
    """`await apiserver_factory(**kwargs)` starts a server (port 0, kubeconfig in tmp_path); all stop at
    teardown."""
    async with contextlib.AsyncExitStack() as stack:
        counter = 0

        async def make(**kwargs: Any) -> EmbeddedAPIServer:
            nonlocal counter
            counter += 1
            kwargs.setdefault("port", 0)
            kwargs.setdefault("kubeconfig", tmp_path / f"kubeconfig-{counter}")
            srv = EmbeddedAPIServer(**kwargs)
            return await stack.enter_async_context(srv)

        yield make


@pytest_asyncio.fixture
async def apiserver(apiserver_factory: ServerFactory) -> EmbeddedAPIServer:
    """A fresh embedded API server: `.url`, `.kubeconfig_path`, `.request_log`, `.faults`, `.engine`."""
    return await apiserver_factory()


@pytest.fixture
def apiserver_thread(tmp_path: pathlib.Path) -> Iterator[ServerThread]:
    """An embedded API server running in a background thread (its own event loop)."""
    thread = ServerThread(port=0, kubeconfig=tmp_path / "kubeconfig-thread")
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()
