"""The operator hands freed heap memory back to the system (glibc's malloc_trim), and does nothing elsewhere."""

from __future__ import annotations

import asyncio
import ctypes.util

import pytest

from issuer.operator import memory


def test_glibc_malloc_trim_is_found_and_callable() -> None:
    trim = memory.malloc_trim()
    assert trim is not None, "this Debian machine runs glibc: malloc_trim must be found"
    assert trim() in (0, 1)  # 1: memory was released, 0: there was none to release


async def test_without_malloc_trim_the_periodic_task_returns_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    assert memory.malloc_trim() is None
    await asyncio.wait_for(memory.trim_periodically(0.01), timeout=1)


async def test_the_periodic_task_trims_until_cancelled(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(memory, "malloc_trim", lambda: (lambda: calls.append(1) or 0))
    task = asyncio.create_task(memory.trim_periodically(0.01))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(calls) >= 3
