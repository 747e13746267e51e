"""kopf wiring: the only place kopf is imported. Thin handlers feed watch events into the Runtime.

kopf brings the watch streams (listing, reconnects, 410 Gone re-lists, bookmarks) and discovery of the
CRDs; our handlers are `on.event` only, so kopf writes nothing to the watched objects: no finalizers,
no progress or diff-base annotations (`kopf.zalando.org/*` never appears on user objects). Secrets are
watched through the `controller.cert-manager.io/fao=true` label selector, so a cluster's unrelated
Secrets cost nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import socket
import uuid
from typing import Any

import kopf

from issuer.api import constants as c
from issuer.kube import config as kube_config
from issuer.kube import leader
from issuer.kube.client import USER_AGENT, Client
from issuer.operator import acme as acme_ext
from issuer.operator import cache as cache_mod
from issuer.operator import memory, metrics
from issuer.operator.runtime import FAO_SELECTOR, Options, Runtime

log = logging.getLogger("issuer.operator")

WATCHED = (
    (c.GROUP, "v1", "certificates", cache_mod.CERTIFICATE),
    (c.GROUP, "v1", "certificaterequests", cache_mod.CERTIFICATE_REQUEST),
    (c.GROUP, "v1", "issuers", cache_mod.ISSUER),
    (c.GROUP, "v1", "clusterissuers", cache_mod.CLUSTER_ISSUER),
    ("", "v1", "secrets", cache_mod.SECRET),
    ("networking.k8s.io", "v1", "ingresses", cache_mod.INGRESS),
)


def build_registry(runtime: Runtime, stop_flag: asyncio.Event | None = None) -> kopf.OperatorRegistry:
    """kopf's handlers; `stop_flag` (kopf's own) is set at cleanup, since kopf waits 5 s at exit for its
    task that waits on the flag when a signal, not the flag, stopped it."""
    registry = kopf.OperatorRegistry()

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.watching.label_selectors["v1", "secrets"] = FAO_SELECTOR
        for extension in runtime.extensions:
            for _kind, resource, selector in extension.watched:
                if selector:
                    settings.watching.label_selectors[resource.group, resource.plural] = selector
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.watching.connect_timeout = 10
        settings.watching.reconnect_backoff = 1.0
        settings.batching.idle_timeout = 1.0
        settings.posting.enabled = False  # our controllers write Events themselves, with cert-manager's reasons
        if runtime.options.namespace:
            # One exact namespace: kopf need not list and watch Namespaces and CRDs (cluster-scoped reads a
            # namespaced Role does not grant); it discovers the CRDs once at start-up instead.
            settings.scanning.disabled = True
        settings.persistence.finalizer = "issuer.cert-manager.io/unused-finalizer"
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="issuer.cert-manager.io")
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix="issuer.cert-manager.io", key="last-handled-configuration"
        )
        await runtime.start()

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        await runtime.stop()
        if stop_flag is not None:
            stop_flag.set()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        settings = runtime.client.config.connection_settings()
        return kopf.ConnectionInfo(**settings, scheme="Bearer" if settings.get("token") else None)

    for group, version, plural, kind in WATCHED:
        if runtime.options.namespace and kind == cache_mod.CLUSTER_ISSUER:
            continue  # cluster-scoped: as cert-manager with --namespace, one namespace serves Issuers only
        _register_event_handler(registry, runtime, group, version, plural, kind)
    for extension in runtime.extensions:
        for kind, resource, _selector in extension.watched:
            _register_event_handler(registry, runtime, resource.group, resource.version, resource.plural, kind)
    return registry


def _register_event_handler(
    registry: kopf.OperatorRegistry, runtime: Runtime, group: str, version: str, plural: str, kind: str
) -> None:
    # async, so kopf calls it on the event loop: a plain function would run in kopf's thread pool (a
    # thread hop per watch event, and the cache and work queues touched from outside their loop)
    async def handler(*, event: Any, **_: Any) -> None:
        obj = event.get("object")
        if isinstance(obj, dict):
            runtime.observe(kind, event.get("type"), obj)

    kopf.on.event(group, version, plural, registry=registry, id=f"observe-{plural}")(handler)


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """How the process runs, beside what the controllers do (Options)."""

    metrics_address: str = ":9402"  # "" turns the listener off
    health_address: str = ":9403"
    leader_elect: bool = False
    leader_election_namespace: str = "kube-system"
    leader_election_id: str = "cert-manager-controller"
    identity: str = ""
    lease_duration: float = 60.0  # cert-manager's defaults
    renew_deadline: float = 40.0
    retry_period: float = 15.0


async def _operate(runtime: Runtime, options: Options, stop: asyncio.Event | None) -> None:
    """kopf plus our workers until stopped (or cancelled: losing the lease cancels this at once)."""
    namespaces = [options.namespace] if options.namespace else []
    flag = asyncio.Event()  # kopf's stop flag: set by `stop`, and at cleanup (SIGTERM then exits at once)
    relay = asyncio.create_task(_relay(stop, flag)) if stop is not None else None
    try:
        await kopf.operator(
            registry=build_registry(runtime, flag),
            standalone=True,
            clusterwide=options.namespace is None,
            namespaces=namespaces,
            stop_flag=flag,
        )
    finally:
        if relay is not None:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
        await runtime.stop()


async def _relay(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()


async def run(
    options: Options, settings: RunSettings | None = None, *, kubeconfig: str | None = None,
    stop: asyncio.Event | None = None, acme: acme_ext.Settings | None = None,
) -> int:
    """Run the operator; returns the exit code (1 when the leader lost its lease: restart and stand by).
    `acme` configures the ACME controllers (Orders, Challenges, solvers), which always run."""
    settings = settings or RunSettings()
    stop = stop or asyncio.Event()
    cluster = kube_config.load(kubeconfig)
    identity = settings.identity or f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"
    settings = dataclasses.replace(settings, identity=identity)
    agent = f"{USER_AGENT} ({identity})" if settings.leader_elect else USER_AGENT  # who wrote what, in audit logs
    async with Client(cluster, pool_limit=max(16, options.workers * 4), user_agent=agent) as client:
        runtime = Runtime(client, options)
        runtime.add_extension(acme_ext.ACMEExtension(runtime, acme or acme_ext.Settings(), workers=options.workers))
        servers = metrics.Servers()
        registry, runtime.acme_metrics = metrics.build_registry(runtime)
        standby = asyncio.Event()
        trimmer = asyncio.create_task(memory.trim_periodically(), name="malloc-trim")
        try:
            if settings.metrics_address:
                await _listen(servers.start_metrics(settings.metrics_address, registry), "metrics")
            if settings.health_address:
                await _listen(servers.start_health(
                    settings.health_address, live=lambda: True,
                    ready=lambda: runtime.started.is_set() or standby.is_set()), "health")
            if not settings.leader_elect:
                await _operate(runtime, options, stop)
                return 0
            return await _lead(runtime, options, settings, client, stop, standby)
        finally:
            trimmer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await trimmer
            await servers.stop()


async def _listen(start: Any, what: str) -> None:
    try:
        await start
    except OSError as err:
        log.error("cannot serve %s: %s", what, err.strerror or err)


async def _lead(
    runtime: Runtime, options: Options, settings: RunSettings, client: Client, stop: asyncio.Event,
    standby: asyncio.Event,
) -> int:
    elector = leader.LeaderElector(
        client, settings.leader_election_namespace, settings.leader_election_id, settings.identity,
        lease_duration=settings.lease_duration, renew_deadline=settings.renew_deadline,
        retry_period=settings.retry_period,
    )
    finished = asyncio.Event()

    async def lead() -> None:
        try:
            await _operate(runtime, options, stop)
        finally:
            finished.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # while standing by; kopf installs its own once leading
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    standby.set()
    election = asyncio.create_task(elector.run(on_started_leading=lead), name="leader-election")
    waiters = {election, asyncio.create_task(finished.wait()), asyncio.create_task(stop.wait())}
    done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if election in done:
        exc = election.exception()
        log.error("leader election lost%s; exiting so that a fresh process stands by", f": {exc}" if exc else "")
        return 1
    return 0
