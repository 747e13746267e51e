"""Prometheus metrics with cert-manager's names and labels (inventory §7), computed from the operator's
cache at scrape time, plus the HTTP servers for `/metrics` (:9402) and `/livez` + `/readyz` (:9403).

Dashboards and alerts written for cert-manager (`certmanager_certificate_expiration_timestamp_seconds`,
`certmanager_certificate_ready_status`, ...) work unchanged. Nothing is kept per Certificate between
scrapes: the collector walks the cache, so deleted Certificates vanish from the output by themselves.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Summary, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from issuer.api import constants as c
from issuer.operator import cache as cache_mod

if TYPE_CHECKING:
    from issuer.operator.runtime import Runtime

log = logging.getLogger("issuer.operator")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CONDITIONS = ("True", "False", "Unknown")


def _timestamp(text: Any) -> float:
    if not isinstance(text, str) or not text:
        return 0.0
    try:
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _ready(obj: dict[str, Any]) -> str:
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if isinstance(cond, dict) and cond.get("type") == c.COND_READY:
            status = cond.get("status")
            return status if status in CONDITIONS else "Unknown"
    return "Unknown"


class CacheCollector(Collector):
    """Certificate, Issuer and ClusterIssuer gauges and the controllers' sync counters."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        cache = self.runtime.cache
        labels = ["name", "namespace", "issuer_name", "issuer_kind", "issuer_group"]
        expiration = GaugeMetricFamily(
            "certmanager_certificate_expiration_timestamp_seconds",
            "The date after which the certificate expires. Expressed as a Unix Epoch Time.", labels=labels)
        not_after = GaugeMetricFamily(
            "certmanager_certificate_not_after_timestamp_seconds",
            "The timestamp after which the certificate is invalid. Expressed as a Unix Epoch Time.", labels=labels)
        not_before = GaugeMetricFamily(
            "certmanager_certificate_not_before_timestamp_seconds",
            "The timestamp before which the certificate is invalid. Expressed as a Unix Epoch Time.", labels=labels)
        renewal = GaugeMetricFamily(
            "certmanager_certificate_renewal_timestamp_seconds",
            "The number of seconds before expiration time the certificate should renew.", labels=labels)
        ready = GaugeMetricFamily(
            "certmanager_certificate_ready_status", "The ready status of the certificate.",
            labels=["name", "namespace", "condition", "issuer_name", "issuer_kind", "issuer_group"])
        for obj in cache.all(cache_mod.CERTIFICATE):
            meta = obj.get("metadata") or {}
            spec = obj.get("spec") or {}
            status = obj.get("status") or {}
            ref = spec.get("issuerRef") or {}
            values = [meta.get("name", ""), meta.get("namespace", ""), ref.get("name", ""),
                      ref.get("kind") or c.ISSUER, ref.get("group") or c.GROUP]
            expiration.add_metric(values, _timestamp(status.get("notAfter")))
            not_after.add_metric(values, _timestamp(status.get("notAfter")))
            not_before.add_metric(values, _timestamp(status.get("notBefore")))
            renewal.add_metric(values, _timestamp(status.get("renewalTime")))
            current = _ready(obj)
            for condition in CONDITIONS:
                ready.add_metric([*values[:2], condition, *values[2:]], 1.0 if condition == current else 0.0)
        yield from (expiration, not_after, not_before, renewal, ready)

        issuer_ready = GaugeMetricFamily("certmanager_issuer_ready_status", "The ready status of the issuer.",
                                         labels=["name", "namespace", "condition"])
        for obj in cache.all(cache_mod.ISSUER):
            meta = obj.get("metadata") or {}
            current = _ready(obj)
            for condition in CONDITIONS:
                issuer_ready.add_metric([meta.get("name", ""), meta.get("namespace", ""), condition],
                                        1.0 if condition == current else 0.0)
        yield issuer_ready
        cluster_ready = GaugeMetricFamily("certmanager_clusterissuer_ready_status",
                                          "The ready status of the cluster issuer.", labels=["name", "condition"])
        for obj in cache.all(cache_mod.CLUSTER_ISSUER):
            current = _ready(obj)
            for condition in CONDITIONS:
                cluster_ready.add_metric([(obj.get("metadata") or {}).get("name", ""), condition],
                                         1.0 if condition == current else 0.0)
        yield cluster_ready

        calls = CounterMetricFamily("certmanager_controller_sync_call_count",
                                    "The number of sync() calls made by a controller.", labels=["controller"])
        errors = CounterMetricFamily("certmanager_controller_sync_error_count",
                                     "The number of errors encountered during controller sync().",
                                     labels=["controller"])
        for ctl in self.runtime.controllers:
            calls.add_metric([ctl.name], float(ctl.syncs))
            errors.add_metric([ctl.name], float(ctl.errors))
        yield calls
        yield errors
        clock = GaugeMetricFamily("certmanager_clock_time_seconds_gauge",
                                  "The clock time given in seconds (from 1970/01/01 UTC).")
        clock.add_metric([], time.time())
        yield clock


class ACMEMetrics:
    """`certmanager_http_acme_client_request_count` / `_duration_seconds`, fed by the ACME client's hook."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["scheme", "host", "action", "method", "status"]
        self.count = Counter("certmanager_http_acme_client_request_count",
                             "The number of requests made by the ACME client.", labels, registry=registry)
        self.duration = Summary("certmanager_http_acme_client_request_duration_seconds",
                                "The HTTP request latencies in seconds for the ACME client.", labels,
                                registry=registry)

    def observe(self, scheme: str, host: str, action: str, method: str, status: int, seconds: float) -> None:
        values = (scheme, host, action, method, str(status))
        self.count.labels(*values).inc()
        self.duration.labels(*values).observe(seconds)


def build_registry(runtime: Runtime) -> tuple[CollectorRegistry, ACMEMetrics]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CacheCollector(runtime))
    return registry, ACMEMetrics(registry)


def parse_address(address: str, default_port: int) -> tuple[str, int]:
    """`:9402`, `0.0.0.0:9402`, `127.0.0.1:0` or `[::1]:9402` -> (host, port); empty host means all."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"  # all interfaces by default, as cert-manager
    return host, int(port) if port else default_port


class Servers:
    """The metrics and health HTTP listeners; `ports` holds the bound ports (useful with port 0)."""

    def __init__(self) -> None:
        self._runners: list[web.AppRunner] = []
        self.ports: dict[str, int] = {}

    async def start_metrics(self, address: str, registry: CollectorRegistry) -> None:
        async def metrics(_: web.Request) -> web.Response:
            return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE})

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        await self._start("metrics", app, address, 9402)

    async def start_health(self, address: str, live: Callable[[], bool], ready: Callable[[], bool]) -> None:
        def check(probe: Callable[[], bool]) -> Callable[[web.Request], Any]:
            async def handler(_: web.Request) -> web.Response:
                ok = probe()
                return web.Response(status=200 if ok else 503, text="ok\n" if ok else "not ready\n")

            return handler

        app = web.Application()
        app.router.add_get("/livez", check(live))
        app.router.add_get("/readyz", check(ready))
        app.router.add_get("/healthz", check(live))
        await self._start("health", app, address, 9403)

    async def _start(self, name: str, app: web.Application, address: str, default_port: int) -> None:
        host, port = parse_address(address, default_port)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runners.append(runner)
        server = site._server  # aiohttp keeps the bound sockets here
        sockets = getattr(server, "sockets", None) or []
        self.ports[name] = sockets[0].getsockname()[1] if sockets else port
        log.info("%s listening on %s:%d", name, host, self.ports[name])

    async def stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
