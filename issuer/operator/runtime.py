"""The operator's engine: the cache, one work queue per controller, and the `apply` step that turns the
controllers' pure Outcomes into API writes, Events and requeues.

kopf (see `issuer.operator.app`) only feeds `observe()` with watch events; everything else happens here,
without a task per object: a fixed pool of workers per controller and one timer heap for "look again at
renewalTime". At start the cache is primed with one list per kind before any worker runs, so a restart
never mistakes "not seen yet" for "missing" (200 valid Certificates mean 0 re-issuances after a restart).
Errors become conditions and Events in the controllers; here, API errors are retried with back-off.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import datetime as _dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from issuer import policies
from issuer.api import constants as c
from issuer.api import types as t
from issuer.api.model import InvalidObject
from issuer.controllers import certificaterequests, certificates, ingress_shim, issuers, issuing, requestmanager
from issuer.controllers import conditions as cond
from issuer.kube import errors as kerr
from issuer.kube import resources as res
from issuer.kube.client import Client
from issuer.operator import cache as cache_mod
from issuer.operator.queue import Controller, RetryLater
from issuer.pki import csr as csr_mod
from issuer.pki import keys, sign
from issuer.pki.errors import PKIError
from issuer.signers import base, dispatch

log = logging.getLogger("issuer.operator")

KIND_RESOURCES = {
    cache_mod.CERTIFICATE: res.CERTIFICATES,
    cache_mod.CERTIFICATE_REQUEST: res.CERTIFICATE_REQUESTS,
    cache_mod.ISSUER: res.ISSUERS,
    cache_mod.CLUSTER_ISSUER: res.CLUSTER_ISSUERS,
    cache_mod.SECRET: res.SECRETS,
    cache_mod.INGRESS: res.INGRESSES,
}
FAO_SELECTOR = f"{c.LABEL_FAO}=true"
# Issuers whose Secret we do not watch (no fao label) read it again: soon while it is broken (someone is
# probably fixing it right now), rarely once it works (to notice a rotation or a removal).
UNWATCHED_SECRET_RECHECK = 300.0
UNWATCHED_BROKEN_SECRET_RECHECK = 5.0
REACHABILITY_PROBE = 1.0  # seconds between probes while reconciles wait for an unreachable API server
MAX_STEPS = 12  # decide/apply rounds in one reconcile before yielding


class Extension(Protocol):
    """A group of controllers plugged into the Runtime (the ACME Orders and Challenges): the kinds it
    watches, its own controllers, and the two places where the core hands over to it."""

    watched: tuple[tuple[str, res.Resource, str | None], ...]  # (cache kind, resource, label selector)
    controllers: list[Controller]

    def notify(self, kind: str, obj: Mapping[str, Any]) -> None:
        """An object of a watched kind (or a CertificateRequest/Issuer) changed."""

    def forget(self, kind: str, obj: Mapping[str, Any]) -> None:
        """An object was deleted: drop what its own controller scheduled for it."""

    async def reconcile_issuer(self, obj: dict[str, Any], issuer: t.Issuer) -> float | None:
        """Set up an issuer type the core does not know (ACME: the account); returns requeue seconds."""

    async def sign(self, obj: dict[str, Any], cr: t.CertificateRequest, issuer: t.Issuer,
                   now: _dt.datetime) -> base.Outcome | None:
        """Make progress on an approved request for such an issuer; None when not this extension's."""


@dataclasses.dataclass(frozen=True)
class Options:
    namespace: str | None = None  # namespaced mode: watch and act in this namespace only
    cluster_resource_namespace: str = "cert-manager"
    owner_reference: bool = False  # --enable-certificate-owner-ref
    auto_approve: bool = True
    workers: int = 5
    backoff_min: _dt.timedelta = c.DEFAULT_BACKOFF_MIN
    backoff_max: _dt.timedelta = c.DEFAULT_BACKOFF_MAX
    ingress_shim: ingress_shim.Options = dataclasses.field(default_factory=ingress_shim.Options)
    renewal_jitter: float = 0.0  # fraction of a certificate's lifetime
    ca_friendly_backoff: bool = False


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _ref(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    ref = {"apiVersion": obj.get("apiVersion", ""), "kind": obj.get("kind", ""), "name": meta.get("name", ""),
           "uid": meta.get("uid", "")}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    return ref


def _decode(data: Mapping[str, Any] | None) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for key, value in (data or {}).items():
        try:
            out[str(key)] = base64.b64decode(value or "", validate=True)
        except (ValueError, TypeError):
            out[str(key)] = b""
    return out


def status_patch(old: Mapping[str, Any], new: Mapping[str, Any], resource_version: str) -> dict[str, Any]:
    """A merge patch replacing the status with `new` (keys gone from it are nulled), guarded by the RV."""
    status: dict[str, Any] = dict(new)
    for key in old:
        if key not in status:
            status[key] = None
    return {"metadata": {"resourceVersion": resource_version}, "status": status}


class Runtime:
    def __init__(self, client: Client, options: Options, *, clock: Callable[[], _dt.datetime] = utcnow) -> None:
        self.client = client
        self.options = options
        self.clock = clock
        self.cache = cache_mod.Cache()
        workers = options.workers
        self.certificates = Controller("certificates", self._reconcile_certificate, workers=workers)
        self.requests = Controller("certificaterequests", self._reconcile_request, workers=workers)
        self.issuers = Controller("issuers", self._reconcile_issuer, workers=max(1, workers // 2))
        self.ingresses = Controller("ingress-shim", self._reconcile_ingress, workers=max(1, workers // 2))
        self.controllers = [self.certificates, self.requests, self.issuers, self.ingresses]
        self.extensions: list[Extension] = []
        self.started = asyncio.Event()
        self._cert_options = certificates.Options(
            owner_reference=options.owner_reference, backoff_min=options.backoff_min, backoff_max=options.backoff_max,
            renewal_jitter=options.renewal_jitter, ca_friendly_backoff=options.ca_friendly_backoff,
        )
        self._background: set[asyncio.Task[Any]] = set()
        self._unreachable: set[tuple[str, Any]] = set()  # (controller, key) that failed on a transport error
        self._probe: asyncio.Task[None] | None = None
        self.acme_metrics: Any = None  # set by the app when metrics are served

    def add_extension(self, extension: Extension) -> None:
        """Before start(): its kinds are listed and watched, its controllers run with ours."""
        self.extensions.append(extension)
        self.controllers.extend(extension.controllers)

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Prime the cache with one list per kind, then start the workers on every object."""
        ns = self.options.namespace
        for kind, resource in KIND_RESOURCES.items():
            if kind == cache_mod.CLUSTER_ISSUER and ns is not None:
                continue
            selector = FAO_SELECTOR if kind == cache_mod.SECRET else None
            listed = await self.client.list(resource, None if kind == cache_mod.CLUSTER_ISSUER else ns,
                                            label_selector=selector)
            for obj in listed.items:
                self.cache.upsert(kind, obj)
        for extension in self.extensions:
            for kind, resource, selector in extension.watched:
                listed = await self.client.list(resource, ns if resource.namespaced else None, label_selector=selector)
                for obj in listed.items:
                    self.cache.upsert(kind, obj)
        for ctl in self.controllers:
            ctl.on_error = self._sync_failed
            ctl.start()
        for obj in list(self.cache.all(cache_mod.ISSUER)) + list(self.cache.all(cache_mod.CLUSTER_ISSUER)):
            self._enqueue_issuer(obj)
        for obj in self.cache.all(cache_mod.CERTIFICATE_REQUEST):
            self.requests.queue.add(cache_mod.key_of(obj))
        for obj in self.cache.all(cache_mod.CERTIFICATE):
            self.certificates.queue.add(cache_mod.key_of(obj))
        for obj in self.cache.all(cache_mod.INGRESS):
            self.ingresses.queue.add(cache_mod.key_of(obj))
        for extension in self.extensions:
            for kind, _, _ in extension.watched:
                for obj in self.cache.all(kind):
                    extension.notify(kind, obj)
        self.started.set()
        log.info("started: %d certificates, %d requests, %d issuers, %d secrets in cache",
                 self.cache.count(cache_mod.CERTIFICATE), self.cache.count(cache_mod.CERTIFICATE_REQUEST),
                 self.cache.count(cache_mod.ISSUER) + self.cache.count(cache_mod.CLUSTER_ISSUER),
                 self.cache.count(cache_mod.SECRET))

    async def stop(self) -> None:
        self.started.clear()
        for ctl in self.controllers:
            await ctl.stop()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    # -- an unreachable API server -------------------------------------------------------------------
    def _sync_failed(self, controller: str, key: Any, exc: BaseException) -> None:
        """A reconcile failed; its queue retries it with a growing delay (5 ms ... 5 min). When the API
        server was unreachable, the retry must not wait for that delay once the server is back (after a
        30 s outage a key can be minutes away): such keys are also resumed as soon as a probe answers."""
        ctl = next((x for x in self.controllers if x.name == controller), None)
        due = ctl.queue.due_time(key) if ctl is not None else None
        wait = f"{max(0.0, due - time.monotonic()):.3f}s" if due is not None else "a while"  # the queue's clock
        log.warning("%s: sync of %s failed (retry in %s): %s", controller, key, wait, exc)
        if not isinstance(exc, kerr.TransportError):
            return
        self._unreachable.add((controller, key))
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(self._resume_when_reachable())
            self._background.add(self._probe)
            self._probe.add_done_callback(self._background.discard)

    async def _resume_when_reachable(self) -> None:
        while self._unreachable:
            await asyncio.sleep(REACHABILITY_PROBE)
            try:  # any answer will do (a list that matches nothing, a verb the informers use anyway)
                await self.client.list(res.CERTIFICATES, self.options.namespace,
                                       field_selector="metadata.name=issuer-reachability-probe")
            except kerr.KubeError:
                continue
            waiting, self._unreachable = self._unreachable, set()
            controllers = {ctl.name: ctl for ctl in self.controllers}
            for controller, key in waiting:
                ctl = controllers.get(controller)
                if ctl is not None:
                    ctl.queue.forget(key)
                    ctl.queue.add(key)
            log.info("the API server answers again: %d reconciles resumed", len(waiting))

    # -- watch events ---------------------------------------------------------------------------------
    def observe(self, kind: str, event_type: str | None, obj: dict[str, Any]) -> None:
        """A watch event from kopf (type None for objects of the initial listing)."""
        if event_type == "DELETED":
            self.cache.delete(kind, obj)
            self._forget(kind, obj)
        elif not self.cache.upsert(kind, obj):
            return  # already known (our own write coming back, or a re-list)
        self._notify(kind, obj)

    def store(self, kind: str, obj: dict[str, Any], *, writer: tuple[str, Any] | None = None) -> None:
        """Write-through of an object our own write returned; wakes the other controllers that care."""
        if self.cache.upsert(kind, obj):
            self._notify(kind, obj, writer=writer)

    def _notify(self, kind: str, obj: Mapping[str, Any], *, writer: tuple[str, Any] | None = None) -> None:
        """Queue every reconcile that depends on this object (except the writer's own)."""
        if not self.started.is_set():
            return  # start() enqueues everything once primed
        ns, name = cache_mod.key_of(obj)
        meta = obj.get("metadata") or {}
        wake: list[tuple[Controller, Any]] = []
        if kind == cache_mod.CERTIFICATE:
            wake.append((self.certificates, (ns, name)))
            wake.extend((self.ingresses, (ns, ref.get("name") or "")) for ref in meta.get("ownerReferences") or ()
                        if ref.get("kind") == "Ingress" and ref.get("controller"))
        elif kind == cache_mod.INGRESS:
            wake.append((self.ingresses, (ns, name)))
        elif kind == cache_mod.CERTIFICATE_REQUEST:
            wake.append((self.requests, (ns, name)))
            wake.extend((self.certificates, k) for k in self._owners(meta))
        elif kind == cache_mod.SECRET:
            wake.extend((self.certificates, k) for k in self._owners(meta))
            sharing = self.cache.certificates_for_secret(ns, name)
            wake.extend((self.certificates, cache_mod.key_of(crt)) for crt in sharing)
            wake.extend((self.issuers, k) for k in self._issuers_of_secret(ns, name))
        elif kind in (cache_mod.ISSUER, cache_mod.CLUSTER_ISSUER):
            wake.append((self.issuers, (obj.get("kind") or c.ISSUER, ns, name)))
        for ctl, key in wake:
            if writer is None or (ctl.name, key) != writer:
                ctl.queue.add(key)
        for extension in self.extensions:
            extension.notify(kind, obj)

    def _forget(self, kind: str, obj: Mapping[str, Any]) -> None:
        """A deleted object's scheduled reconcile (a renewal months away, a back-off) and failure count
        go with it; the reconcile `_notify` queues next still runs to clean up."""
        key = cache_mod.key_of(obj)
        if kind == cache_mod.CERTIFICATE:
            self.certificates.queue.cancel(key)
        elif kind == cache_mod.CERTIFICATE_REQUEST:
            self.requests.queue.cancel(key)
        elif kind == cache_mod.INGRESS:
            self.ingresses.queue.cancel(key)
        elif kind in (cache_mod.ISSUER, cache_mod.CLUSTER_ISSUER):
            self.issuers.queue.cancel((obj.get("kind") or c.ISSUER, *key))
        for extension in self.extensions:
            extension.forget(kind, obj)

    @staticmethod
    def _owners(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [
            (meta.get("namespace") or "", ref.get("name") or "")
            for ref in meta.get("ownerReferences") or ()
            if ref.get("kind") == c.CERTIFICATE and ref.get("controller")
        ]

    def _enqueue_issuer(self, obj: Mapping[str, Any]) -> None:
        ns, name = cache_mod.key_of(obj)
        self.issuers.queue.add((obj.get("kind") or c.ISSUER, ns, name))

    def _issuers_of_secret(self, namespace: str, name: str) -> list[tuple[str, str, str]]:
        out = []
        for kind in (cache_mod.ISSUER, cache_mod.CLUSTER_ISSUER):
            if kind == cache_mod.CLUSTER_ISSUER and namespace != self.options.cluster_resource_namespace:
                continue
            for obj in self.cache.all(kind, namespace if kind == cache_mod.ISSUER else ""):
                if ((obj.get("spec") or {}).get("ca") or {}).get("secretName") == name:
                    out.append((kind, *cache_mod.key_of(obj)))
        return out

    # -- shared helpers -------------------------------------------------------------------------------
    async def secret_data(self, namespace: str, name: str) -> dict[str, bytes] | None:
        """A Secret's data: from the cache when we watch it (fao label), else read from the API."""
        cached = self.cache.get(cache_mod.SECRET, namespace, name)
        if cached is not None:
            return _decode(cached.get("data"))
        obj = await self.client.get(res.SECRETS, name, namespace)
        return None if obj is None else _decode(obj.get("data"))

    async def _getter(self, wanted: list[tuple[str, str]]) -> base.SecretGetter:
        found: dict[tuple[str, str], dict[str, bytes] | None] = {}
        for ns, name in wanted:
            if name and (ns, name) not in found:
                found[(ns, name)] = await self.secret_data(ns, name)

        def get(namespace: str, name: str) -> Mapping[str, bytes] | None:
            return found.get((namespace, name))

        return get

    async def record(self, obj: Mapping[str, Any], component: str | Callable[[str, str], str],
                     events: list[tuple[str, str, str]]) -> None:
        """Post Events; `component` is the source, or a function of (reason, message) giving it."""
        for type_, reason, message in events:
            source = component if isinstance(component, str) else component(reason, message)
            try:
                await self.client.post_event(_ref(obj), type_, reason, message, source)
            except kerr.KubeError as err:  # events are best effort; never fail a reconcile for one
                log.debug("event %s on %s not recorded: %s", reason, _ref(obj).get("name"), err)

    def _lookup_issuer(self, ref: t.IssuerRef, namespace: str) -> dict[str, Any] | None:
        kind = ref.kind or c.ISSUER
        if kind == c.CLUSTER_ISSUER:
            return self.cache.get(cache_mod.CLUSTER_ISSUER, "", ref.name)
        if kind == c.ISSUER:
            return self.cache.get(cache_mod.ISSUER, namespace, ref.name)
        return None

    # -- Issuers --------------------------------------------------------------------------------------
    async def _reconcile_issuer(self, key: Any) -> float | None:
        kind, ns, name = key
        obj = self.cache.get(kind, ns, name)
        if obj is None:
            return None
        try:
            issuer = t.parse_issuer(obj)
        except InvalidObject as exc:
            await self.record(obj, "cert-manager-issuers", [("Warning", c.REASON_ERR_INIT_ISSUER, exc.summary())])
            return None
        wanted: list[tuple[str, str]] = []
        if issuer.spec.ca is not None:
            wanted.append((base.resource_namespace(issuer, self.options.cluster_resource_namespace),
                           issuer.spec.ca.secret_name))
        getter = await self._getter(wanted)
        now = self.clock()
        setup = dispatch.setup(issuer, getter, self.options.cluster_resource_namespace, now)
        if setup is None:  # a type the core does not set up itself (ACME)
            for extension in self.extensions:
                requeue = await extension.reconcile_issuer(obj, issuer)
                if requeue is not None:
                    return requeue
            return None
        status, events = issuers.decide(issuer, setup, now)
        if status is not None:
            was_ready = cond.is_true(issuer.status.conditions, c.COND_READY)
            patch = status_patch(obj.get("status") or {}, status.to_wire(), obj["metadata"]["resourceVersion"])
            updated = await self.client.patch_status(KIND_RESOURCES[kind], name, patch, ns or None)
            self.store(kind, updated, writer=("issuers", key))
            if setup.ready != was_ready or setup.ready:
                for cr_key in self.cache.referencing_issuer(cache_mod.CERTIFICATE_REQUEST, kind, ns, name):
                    self.requests.queue.add(cr_key)
        await self.record(obj, f"cert-manager-{kind.lower()}s", events)
        if issuer.spec.ca is not None:
            secret_ns, secret_name = wanted[0]
            if self.cache.get(cache_mod.SECRET, secret_ns, secret_name) is None:
                return UNWATCHED_SECRET_RECHECK if setup.ready else UNWATCHED_BROKEN_SECRET_RECHECK
        return None

    # -- CertificateRequests --------------------------------------------------------------------------
    async def _reconcile_request(self, key: Any) -> float | None:
        ns, name = key
        obj = self.cache.get(cache_mod.CERTIFICATE_REQUEST, ns, name)
        if obj is None:
            return None
        try:
            cr = t.parse_certificate_request(obj)
        except InvalidObject as exc:
            log.warning("CertificateRequest %s/%s does not parse: %s", ns, name, exc.summary())
            return None
        if not certificaterequests.is_ours(cr):
            return None
        issuer_obj = self._lookup_issuer(cr.spec.issuer_ref, ns)
        issuer: t.Issuer | None = None
        if issuer_obj is not None:
            try:
                issuer = t.parse_issuer(issuer_obj)
            except InvalidObject:
                issuer = None
        supported = issuer is None or dispatch.issuer_type(issuer) in ("selfSigned", "ca") or (
            bool(self.extensions) and dispatch.issuer_type(issuer) in dispatch.ASYNC_TYPES
        )
        now = self.clock()
        gate = certificaterequests.gate(cr, issuer, now, auto_approve=self.options.auto_approve,
                                        issuer_supported=supported)
        status, events = gate.status, list(gate.events)
        if gate.sign and issuer is not None:
            wanted = [(ns, cr.metadata.annotations.get(c.ANN_PRIVATE_KEY_SECRET_NAME, ""))]
            if issuer.spec.ca is not None:
                wanted.append((base.resource_namespace(issuer, self.options.cluster_resource_namespace),
                               issuer.spec.ca.secret_name))
            getter = await self._getter(wanted)
            current = dataclasses.replace(cr, status=status)
            outcome = dispatch.sign(current, issuer, getter, self.options.cluster_resource_namespace, now)
            for extension in self.extensions:
                if outcome is not None:
                    break
                outcome = await extension.sign(obj, current, issuer, now)
            if outcome is not None:
                status, more = certificaterequests.record(status, outcome, now)
                events.extend(more)
        if status != cr.status:
            patch = status_patch(obj.get("status") or {}, status.to_wire(), obj["metadata"]["resourceVersion"])
            updated = await self.client.patch_status(res.CERTIFICATE_REQUESTS, name, patch, ns)
            self.store(cache_mod.CERTIFICATE_REQUEST, updated, writer=("certificaterequests", key))
        kind_of_issuer = dispatch.issuer_type(issuer) if issuer is not None else ""
        await self.record(obj, lambda reason, _: certificaterequests.event_component(reason, kind_of_issuer), events)
        return gate.requeue_after.total_seconds() if gate.requeue_after else None

    # -- ingress-shim ---------------------------------------------------------------------------------
    async def _reconcile_ingress(self, key: Any) -> float | None:
        ns, name = key
        ingress = self.cache.get(cache_mod.INGRESS, ns, name)
        if ingress is None:
            return None  # its Certificates go with it through their ownerReferences
        existing = list(self.cache.all(cache_mod.CERTIFICATE, ns))
        out = ingress_shim.decide(ingress, existing, self.options.ingress_shim)
        for body in out.create:
            try:
                created = await self.client.create(res.CERTIFICATES, body, ns)
            except kerr.AlreadyExists:
                continue  # made meanwhile; the next event brings us back to compare
            self.store(cache_mod.CERTIFICATE, created)
        for body in out.update:
            updated = await self.client.replace(res.CERTIFICATES, body, ns)
            self.store(cache_mod.CERTIFICATE, updated)
        for cert_name, uid in out.delete:
            with contextlib.suppress(kerr.NotFound, kerr.Conflict):
                await self.client.delete(res.CERTIFICATES, cert_name, ns, uid=uid or None)
        await self.record(ingress, "cert-manager-ingress-shim", out.events)
        return None

    # -- Certificates ---------------------------------------------------------------------------------
    async def _unwatched_secret(self, cert: t.Certificate) -> dict[str, Any] | None:
        """The Certificate's Secret when our label-filtered cache does not hold it: a Secret made by someone
        else (a migration, a pre-made one) has no fao label yet, yet it exists; read it live (as
        cert-manager does behind its filtered Secrets cache), so that it is judged, not taken for missing."""
        ns = cert.metadata.namespace
        if self.cache.get(cache_mod.SECRET, ns, cert.spec.secret_name) is not None:
            return None
        found: dict[str, Any] | None = await self.client.get(res.SECRETS, cert.spec.secret_name, ns)
        return found

    def _certificate_snapshot(self, cert: t.Certificate, unwatched: dict[str, Any] | None = None
                              ) -> certificates.Snapshot:
        ns = cert.metadata.namespace
        secret_obj = self.cache.get(cache_mod.SECRET, ns, cert.spec.secret_name) or unwatched
        secret = policies.SecretView.from_wire(secret_obj) if secret_obj is not None else None
        requests: list[t.CertificateRequest] = []
        for obj in self.cache.owned_by(cert.metadata.uid, cache_mod.CERTIFICATE_REQUEST):
            try:
                requests.append(t.parse_certificate_request(obj))
            except InvalidObject:
                continue
        next_keys: list[certificates.NextKey] = []
        for obj in self.cache.owned_by(cert.metadata.uid, cache_mod.SECRET):
            meta = obj.get("metadata") or {}
            if (meta.get("labels") or {}).get(c.LABEL_NEXT_PRIVATE_KEY) != "true" or meta.get("deletionTimestamp"):
                continue
            data = _decode(obj.get("data"))
            try:
                key: Any = keys.load(data.get(c.TLS_PRIVATE_KEY_KEY, b""))
            except PKIError:
                key = None
            next_keys.append(certificates.NextKey(meta.get("name", ""), meta.get("uid", ""), key))
        sharing: list[t.Certificate] = []
        for obj in self.cache.certificates_for_secret(ns, cert.spec.secret_name):
            try:
                sharing.append(t.parse_certificate(obj))
            except InvalidObject:
                continue
        return certificates.Snapshot(cert, secret, tuple(requests), tuple(next_keys), tuple(sharing))

    async def _reconcile_certificate(self, key: Any) -> float | None:
        """decide/apply rounds until nothing is left to do here. Status changes are carried in memory from
        round to round and written once, when a round finds nothing more to do: a fast issuance writes the
        Certificate's status once, not three times. A crash before that write is harmless: the trigger
        fires again and finds the temporary key and the request where they were left."""
        ns, name = key
        decided: list[t.CertificateStatus] = []  # the latest status decided but not yet written
        try:
            return await self._certificate_rounds(ns, name, decided)
        except Exception:
            # A step failed (an API error, a missing keystore password): still write what was decided
            # before it, so the Certificate says Issuing/Ready=False instead of showing no status at all.
            if decided:
                with contextlib.suppress(kerr.KubeError):
                    await self._write_certificate_status(ns, name, decided[-1])
            raise

    async def _certificate_rounds(self, ns: str, name: str, decided: list[t.CertificateStatus]) -> float | None:
        outcome: certificates.Outcome | None = None
        pending: t.CertificateStatus | None = None  # decided but not yet written
        unwatched: dict[str, Any] | None = None
        looked = False  # the live read of an unwatched Secret happens once per reconcile, not per round
        steps, rounds, generation = 0, 0, None
        while steps < MAX_STEPS and rounds < 4 * MAX_STEPS:
            rounds += 1
            obj = self.cache.get(cache_mod.CERTIFICATE, ns, name)
            if obj is None:
                return None
            try:
                cert = t.parse_certificate(obj)
            except InvalidObject as exc:
                await self._invalid_certificate(obj, exc)
                return None
            # The budget guards against rounds that never settle; a user's spec change during the reconcile
            # (a new generation: a new issuance to run) is progress, so the count starts again.
            steps = 1 if cert.metadata.generation != generation else steps + 1
            generation = cert.metadata.generation
            if pending is not None:
                cert = dataclasses.replace(cert, status=pending)
            if not looked:
                unwatched, looked = await self._unwatched_secret(cert), True
            outcome = certificates.decide(self._certificate_snapshot(cert, unwatched), self.clock(),
                                          self._cert_options)
            if outcome.status is not None:
                pending = outcome.status
                decided[:] = [pending]
            if outcome.delete and pending is not None:
                # Write the status before deleting what it no longer needs: a crash after deleting the
                # finished issuance's temporary key but before the status said revision N would leave a
                # Ready Certificate without a revision (and no current request to compare the spec with).
                await self._write_certificate_status(ns, name, pending)
                pending = None
                decided.clear()
            await self._apply_certificate(obj, cert, outcome, unwatched)
            if not outcome.writes:
                break  # a fixed point: nothing more to do in this reconcile
        else:
            log.warning("Certificate %s/%s still changing after %d steps; looking again shortly", ns, name, MAX_STEPS)
            if pending is not None:
                await self._write_certificate_status(ns, name, pending)
            return 1.0
        if pending is not None:
            await self._write_certificate_status(ns, name, pending)
        if outcome is not None and outcome.requeue_after is not None:
            return outcome.requeue_after.total_seconds()
        return None

    async def _invalid_certificate(self, obj: dict[str, Any], exc: InvalidObject) -> None:
        message = "Certificate spec is invalid: " + "; ".join(str(v) for v in exc.violations[:5])
        status = dict(obj.get("status") or {})
        old_conditions = [x for x in status.get("conditions") or [] if isinstance(x, dict)]
        ready = next((x for x in old_conditions if x.get("type") == c.COND_READY), None)
        if ready is not None and ready.get("message") == message:
            return
        now = cond.rfc3339(self.clock())
        new_ready = {"type": c.COND_READY, "status": c.FALSE, "reason": certificates.REASON_INVALID_SPEC,
                     "message": message, "lastTransitionTime": now,
                     "observedGeneration": (obj.get("metadata") or {}).get("generation")}
        patch = {"metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
                 "status": {"conditions": [x for x in old_conditions if x.get("type") != c.COND_READY] + [new_ready]}}
        updated = await self.client.patch_status(res.CERTIFICATES, obj["metadata"]["name"], patch,
                                                 obj["metadata"]["namespace"])
        self.store(cache_mod.CERTIFICATE, updated, writer=("certificates", cache_mod.key_of(obj)))
        await self.record(obj, certificates.event_component, [("Warning", certificates.REASON_INVALID_SPEC, message)])

    async def _apply_certificate(self, obj: dict[str, Any], cert: t.Certificate, out: certificates.Outcome,
                                 unwatched: dict[str, Any] | None = None) -> None:
        """`unwatched`: the reconcile's one live read of the Certificate's Secret when the cache lacked it."""
        ns = cert.metadata.namespace
        for item in out.delete:
            resource = res.SECRETS if item.kind == "Secret" else res.CERTIFICATE_REQUESTS
            kind = cache_mod.SECRET if item.kind == "Secret" else cache_mod.CERTIFICATE_REQUEST
            try:
                await self.client.delete(resource, item.name, ns, uid=item.uid or None)
            except kerr.NotFound:
                pass
            except kerr.Conflict:
                # The uid precondition failed (another object took the name), or the server had a conflict
                # of its own: then ours is still there, and dropping it from the cache would orphan it.
                current = await self.client.get(resource, item.name, ns)
                if current is not None and (current.get("metadata") or {}).get("uid") == item.uid:
                    raise RetryLater(0.5, f"deleting {item.kind} {ns}/{item.name} conflicted") from None
            self.cache.delete(kind, {"metadata": {"namespace": ns, "name": item.name}})
        if out.create_key is not None:
            await self._create_next_key(cert, out.create_key)
        if out.create_request is not None:
            await self._create_request(cert, out.create_request)
        if out.write_secret is not None:
            await self._write_secret(cert, out.write_secret, unwatched)
        if out.write_temporary is not None:
            await self._write_temporary(cert, out.write_temporary)
        await self.record(obj, certificates.event_component, out.events)

    async def _write_certificate_status(self, ns: str, name: str, status: t.CertificateStatus) -> None:
        fresh = self.cache.get(cache_mod.CERTIFICATE, ns, name)
        if fresh is None:
            return
        wire = status.to_wire()
        if wire == (fresh.get("status") or {}):
            return
        patch = status_patch(fresh.get("status") or {}, wire, fresh["metadata"]["resourceVersion"])
        updated = await self.client.patch_status(res.CERTIFICATES, name, patch, ns)
        self.store(cache_mod.CERTIFICATE, updated, writer=("certificates", (ns, name)))

    async def _create_next_key(self, cert: t.Certificate, step: certificates.CreateKey) -> None:
        if step.reuse_from_secret:
            data = await self.secret_data(cert.metadata.namespace, cert.spec.secret_name) or {}
            key = keys.load(data.get(c.TLS_PRIVATE_KEY_KEY, b""))
        else:
            key = await asyncio.to_thread(keys.generate, step.private_key)
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "generateName": f"{cert.metadata.name}-",
                "namespace": cert.metadata.namespace,
                "labels": {c.LABEL_NEXT_PRIVATE_KEY: "true", c.LABEL_FAO: "true"},
                "ownerReferences": [requestmanager.owner_reference(cert)],
            },
            "type": "Opaque",
            "data": {c.TLS_PRIVATE_KEY_KEY: base64.b64encode(keys.encode(key, c.PKCS8)).decode("ascii")},
        }
        created = await self.client.create(res.SECRETS, body, cert.metadata.namespace)
        self.store(cache_mod.SECRET, created, writer=("certificates", (cert.metadata.namespace, cert.metadata.name)))
        name = created["metadata"]["name"]
        if step.reuse_from_secret:
            message = f'Reusing private key stored in existing Secret resource "{cert.spec.secret_name}"'
            await self.record(_cert_ref(cert), certificates.event_component, [("Normal", "Reused", message)])
        else:
            message = f'Stored new private key in temporary Secret resource "{name}"'
            await self.record(_cert_ref(cert), certificates.event_component, [("Normal", "Generated", message)])

    async def _create_request(self, cert: t.Certificate, step: certificates.CreateRequest) -> None:
        data = await self.secret_data(cert.metadata.namespace, step.key_secret_name) or {}
        key = keys.load(data.get(c.TLS_PRIVATE_KEY_KEY, b""))
        csr_pem = csr_mod.pem_bytes(csr_mod.build(cert.spec, key))
        body = requestmanager.build_request(cert, csr_pem, step.revision, step.key_secret_name,
                                            issuing_reason=step.reason)
        try:
            created: dict[str, Any] | None = await self.client.create(
                res.CERTIFICATE_REQUESTS, body, cert.metadata.namespace
            )
        except kerr.AlreadyExists:
            # Made by an earlier run that had not seen it yet; read it so the next step sees it.
            created = await self.client.get(res.CERTIFICATE_REQUESTS, body["metadata"]["name"],
                                            cert.metadata.namespace)
        if created is None:
            raise RetryLater(0.5, "CertificateRequest name taken and gone")
        cr_key = (cert.metadata.namespace, created["metadata"]["name"])
        self.store(cache_mod.CERTIFICATE_REQUEST, created, writer=("certificaterequests", cr_key))
        # Approve and sign right here when we can (SelfSigned/CA in process): one reconcile instead of a
        # round trip through the watch. The key is claimed in the request queue meanwhile (taken out of it
        # when the watch event came first), so no worker reconciles the request beside this (its status
        # patch would only be refused as a conflict). When a worker already holds it (the event came
        # before our create's answer), wait for that worker, so that the next round sees what it did:
        # going on without it, the Certificate would wait for its next turn behind every queued one.
        while not self.requests.queue.claim(cr_key):
            if self.requests.queue.is_shut_down:
                return
            await self.requests.queue.released(cr_key)
        try:
            await self._reconcile_request(cr_key)
        except Exception as err:  # the request's own queue retries it
            log.debug("inline signing of %s/%s deferred: %s", *cr_key, err)
            self.requests.queue.add(cr_key)
        finally:
            self.requests.queue.done(cr_key)

    async def _write_secret(self, cert: t.Certificate, step: certificates.WriteSecret,
                            unwatched: dict[str, Any] | None) -> None:
        ns = cert.metadata.namespace
        # Not in our label-filtered cache: this reconcile read it live when it began (None: it did not
        # exist), so a first issuance does not ask again for a Secret it has just seen missing.
        existing = self.cache.get(cache_mod.SECRET, ns, cert.spec.secret_name) or unwatched
        source = step.key_secret_name or cert.spec.secret_name
        key_data = await self.secret_data(ns, source) or {}
        key = keys.load(key_data.get(c.TLS_PRIVATE_KEY_KEY, b""))
        wanted = []
        stores = cert.spec.keystores
        for store in (stores.jks if stores else None, stores.pkcs12 if stores else None):
            if store is not None and store.create and store.password_secret_ref is not None:
                wanted.append((ns, store.password_secret_ref.name))
        getter = await self._getter(wanted)
        try:
            passwords = issuing.resolve_keystore_passwords(cert.spec, ns, getter)
        except issuing.KeystorePasswordError as err:
            await self.record(_cert_ref(cert), certificates.event_component,
                              [("Warning", issuing.REASON_KEYSTORE_PASSWORD_SECRET_NOT_FOUND, str(err))])
            raise RetryLater(UNWATCHED_BROKEN_SECRET_RECHECK, str(err)) from None  # password Secrets are not watched
        request = step.request
        body = issuing.secret_body(
            cert, request.spec.issuer_ref, request.status.certificate, request.status.ca, key, passwords,
            existing_type=(existing or {}).get("type"), owner_reference=self.options.owner_reference,
        )
        written = await self.client.apply(res.SECRETS, body, ns, field_manager=issuing.FIELD_MANAGER, force=True)
        self.store(cache_mod.SECRET, written, writer=("certificates", (ns, cert.metadata.name)))


    async def _write_temporary(self, cert: t.Certificate, step: certificates.WriteTemporary) -> None:
        ns = cert.metadata.namespace
        key_data = await self.secret_data(ns, step.key_secret_name) or {}
        key = keys.load(key_data.get(c.TLS_PRIVATE_KEY_KEY, b""))
        chain_pem = await asyncio.to_thread(sign.temporary_certificate, cert.spec, key, self.clock())
        body = issuing.temporary_secret_body(cert, chain_pem, key, owner_reference=self.options.owner_reference)
        written = await self.client.apply(res.SECRETS, body, ns, field_manager=issuing.FIELD_MANAGER, force=True)
        self.store(cache_mod.SECRET, written, writer=("certificates", (ns, cert.metadata.name)))


def _cert_ref(cert: t.Certificate) -> dict[str, Any]:
    return {"apiVersion": c.API_VERSION, "kind": c.CERTIFICATE,
            "metadata": {"name": cert.metadata.name, "namespace": cert.metadata.namespace, "uid": cert.metadata.uid}}
