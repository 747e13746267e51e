"""Fixtures of the fault tier (marked `controller` by tests/conftest.py): clusters from tests/faults/harness.py,
whose operators run with `--backoff-min 2s --backoff-max 8s`, on each API server of
tests/controller/conftest.py (`embedded`, `real`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.controller.conftest import BACKENDS
from tests.faults.harness import FaultCluster, fault_cluster


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The API server a test builds its own cluster on (each test runs once per backend)."""
    return str(request.param)


@pytest.fixture(scope="module", params=BACKENDS)
def shared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultCluster]:
    """One API server + operator for the tests of a module that only need their own namespace, per backend."""
    with fault_cluster(tmp_path_factory.mktemp(f"faults-{request.param}"), request.param) as c:
        yield c
