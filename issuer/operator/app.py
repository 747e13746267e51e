"""kopf wiring: the only place kopf is imported. Thin handlers feed watch events into the Runtime.

kopf brings the watch streams (listing, reconnects, 410 Gone re-lists, bookmarks) and discovery of the
CRDs; our handlers are `on.event` only, so kopf writes nothing to the watched objects: no finalizers,
no progress or diff-base annotations (`kopf.zalando.org/*` never appears on user objects). Secrets are
watched through the `controller.cert-manager.io/fao=true` label selector, so a cluster's unrelated
Secrets cost nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from issuer.api import constants as c
from issuer.kube import config as kube_config
from issuer.kube.client import Client
from issuer.operator import cache as cache_mod
from issuer.operator.runtime import FAO_SELECTOR, Options, Runtime

log = logging.getLogger("issuer.operator")

WATCHED = (
    (c.GROUP, "v1", "certificates", cache_mod.CERTIFICATE),
    (c.GROUP, "v1", "certificaterequests", cache_mod.CERTIFICATE_REQUEST),
    (c.GROUP, "v1", "issuers", cache_mod.ISSUER),
    (c.GROUP, "v1", "clusterissuers", cache_mod.CLUSTER_ISSUER),
    ("", "v1", "secrets", cache_mod.SECRET),
)


def build_registry(runtime: Runtime) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.watching.label_selectors["v1", "secrets"] = FAO_SELECTOR
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.watching.connect_timeout = 10
        settings.watching.reconnect_backoff = 1.0
        settings.batching.idle_timeout = 1.0
        settings.posting.enabled = False  # our controllers write Events themselves, with cert-manager's reasons
        settings.persistence.finalizer = "issuer.cert-manager.io/unused-finalizer"
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="issuer.cert-manager.io")
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix="issuer.cert-manager.io", key="last-handled-configuration"
        )
        await runtime.start()

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        await runtime.stop()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        settings = runtime.client.config.connection_settings()
        return kopf.ConnectionInfo(**settings, scheme="Bearer" if settings.get("token") else None)

    for group, version, plural, kind in WATCHED:
        _register_event_handler(registry, runtime, group, version, plural, kind)
    return registry


def _register_event_handler(
    registry: kopf.OperatorRegistry, runtime: Runtime, group: str, version: str, plural: str, kind: str
) -> None:
    def handler(*, event: Any, **_: Any) -> None:
        obj = event.get("object")
        if isinstance(obj, dict):
            runtime.observe(kind, event.get("type"), obj)

    kopf.on.event(group, version, plural, registry=registry, id=f"observe-{plural}")(handler)


async def run(options: Options, *, kubeconfig: str | None = None, stop: asyncio.Event | None = None) -> None:
    """Run the operator until `stop` is set (or kopf stops on a signal)."""
    cluster = kube_config.load(kubeconfig)
    async with Client(cluster, pool_limit=max(16, options.workers * 4)) as client:
        runtime = Runtime(client, options)
        registry = build_registry(runtime)
        namespaces = [options.namespace] if options.namespace else []
        await kopf.operator(
            registry=registry,
            standalone=True,
            clusterwide=options.namespace is None,
            namespaces=namespaces,
            stop_flag=stop,
        )
