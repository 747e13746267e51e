"""Fixtures of the fault tier (marked `controller` by tests/conftest.py): clusters from tests/faults/harness.py,
whose operators run with `--backoff-min 2s --backoff-max 8s`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.harness import FaultCluster, fault_cluster


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultCluster]:
    """One API server + operator for the tests of a module that only need their own namespace."""
    with fault_cluster(tmp_path_factory.mktemp("faults")) as c:
        yield c
