"""Session fixtures of the acme tier: one BIND and one Pebble per session (fresh names per test, since
Pebble reuses valid authorizations), a factory for extra Pebbles with other settings (fault tests), one
registered account for the session (`acme`) and fresh clients on demand (`make_client`). A missing
`pebble` or `named` fails the tier loudly; servers are stopped by PID at teardown."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from issuer.acme import client as acme_client
from tests.acme import infra


@pytest.fixture(scope="session")
def bind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[infra.Bind]:
    try:
        server = infra.start_bind(tmp_path_factory.mktemp("bind"))
    except infra.MissingTool as err:
        pytest.fail(str(err))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pebble_factory(
    tmp_path_factory: pytest.TempPathFactory, bind: infra.Bind
) -> Iterator[Callable[..., infra.Pebble]]:
    started: list[infra.Pebble] = []

    def start(**kwargs: Any) -> infra.Pebble:
        try:
            server = infra.start_pebble(tmp_path_factory.mktemp("pebble"), bind.address, **kwargs)
        except infra.MissingTool as err:
            pytest.fail(str(err))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def pebble(pebble_factory: Callable[..., infra.Pebble]) -> infra.Pebble:
    """The shared Pebble: one alternate root (for preferredChain), EAB keys known but not required."""
    return pebble_factory(env={"PEBBLE_ALTERNATE_ROOTS": "1"})


_counter = itertools.count()


@pytest.fixture
def fresh() -> Callable[..., str]:
    """fresh("www") -> "www-<unique>.example.test": a name no earlier order used."""
    run = uuid.uuid4().hex[:6]

    def make(label: str = "t") -> str:
        return f"{label}-{run}{next(_counter)}.{infra.ZONE}"

    return make


def account_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def make_client(pebble: infra.Pebble) -> Iterator[Callable[..., acme_client.ACMEClient]]:
    made: list[acme_client.ACMEClient] = []

    def make(server: infra.Pebble | None = None, **kwargs: Any) -> acme_client.ACMEClient:
        target = server or pebble
        kwargs.setdefault("ca_bundle", target.ca_bundle)
        made.append(acme_client.ACMEClient(target.directory_url, account_key(), **kwargs))
        return made[-1]

    yield make
    for c in made:
        c.close()


@pytest.fixture(scope="session")
def acme(pebble: infra.Pebble) -> Iterator[acme_client.ACMEClient]:
    """One registered account on the shared Pebble for the session (the client is thread-safe)."""
    c = acme_client.ACMEClient(pebble.directory_url, account_key(), ca_bundle=pebble.ca_bundle)
    c.register("tests@example.test")
    yield c
    c.close()
