"""The ACME issuer's operator half: an `Extension` of the Runtime (see `issuer.operator.runtime`) that sets
up ACME Issuers (the account), turns approved CertificateRequests into Orders, and runs the Order and
Challenge controllers, one step per reconcile (cert-manager `pkg/issuer/acme`,
`pkg/controller/{certificaterequests/acme,acmeorders,acmechallenges}`; inventory §5.4-5.7).

Decisions are the pure functions of `issuer.controllers.{acmeissuers,orders,challenges}`; this module does
the I/O around them: Secrets, the ACME server through `issuer.acme.client.AsyncACMEClient` (one client per
server, account key and CA bundle), solver Pods/Services/Ingresses built by `issuer.acme.http01`, TXT
records through `issuer.acme.rfc2136`, the self-checks, status writes and Events. Nothing here sleeps or
polls: waiting is a requeue (`Retryable(delay)` from the ACME server becomes a requeue after its delay).

Credentials of a DNS-01 solver always come from the Issuer, never from `challenge.spec.solver`: a Challenge
whose solver is not one of its Issuer's solvers is refused (GHSA-8rvj-mm4h-c258).

Created by `issuer.operator.app.run` with the `issuer run` flags (`Settings`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import datetime as _dt
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import rsa

import issuer
from issuer.acme import accounts, dns01, errors, http01, names, rfc2136
from issuer.acme import client as acme_client
from issuer.acme import solver as solver_mod
from issuer.api import constants as c
from issuer.api import duration as duration_mod
from issuer.api import types as t
from issuer.api.model import InvalidObject
from issuer.controllers import acmeissuers, challenges, orders
from issuer.kube import errors as kerr
from issuer.kube import resources as res
from issuer.operator import cache as cache_mod
from issuer.operator import runtime as runtime_mod
from issuer.operator.queue import Controller, RetryLater
from issuer.signers import base, dispatch

if TYPE_CHECKING:  # pragma: no cover
    from issuer.operator.runtime import Runtime

log = logging.getLogger("issuer.operator.acme")

SOLVER_SELECTOR = f"{c.LABEL_HTTP01_SOLVER}=true"
ISSUER_NOT_READY_RECHECK = 2.0
TERMINAL_ISSUER_RECHECK = 60.0
SCHEDULER_PERIOD = 1.0  # cert-manager's challenge scheduler runs every second
MANAGED_BY = "cert-manager"
ACCOUNT_DOES_NOT_EXIST = "accountDoesNotExist"


@dataclasses.dataclass(frozen=True)
class Settings:
    """The `issuer run` flags of the ACME controllers (defaults: cert-manager's)."""

    solver_image: str = ""
    max_concurrent_challenges: int = challenges.DEFAULT_MAX_CONCURRENT
    dns01_check_period: float = 10.0  # --dns01-check-retry-period (cert-manager uses it for HTTP-01 too)
    dns01_recursive_nameservers: tuple[str, ...] = ()  # "host:port"; default: /etc/resolv.conf
    dns01_recursive_nameservers_only: bool = False
    dns01_propagation_wait: float = 60.0  # cert-manager sleeps 60 s after the propagation check passed
    http01_self_check: bool = True
    http01_self_check_passes: int = 5  # consecutive passes, as cert-manager's reachability test
    http01_self_check_interval: float = 2.0
    http01_self_check_address: tuple[str, int] | None = None  # send self-checks there (Host: the domain)
    poll_interval: float = 0.5  # processing Orders and accepted challenges, unless Retry-After says otherwise
    workers: int = 5


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _owner_key(obj: Mapping[str, Any], kind: str) -> tuple[str, str] | None:
    meta = obj.get("metadata") or {}
    for ref in meta.get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("kind") == kind and ref.get("controller"):
            return meta.get("namespace") or "", str(ref.get("name") or "")
    return None


class ACMEExtension:
    """Issuer set-up, CertificateRequest signing and the Order/Challenge controllers for ACME issuers."""

    def __init__(self, runtime: Runtime, settings: Settings | None = None, **overrides: Any) -> None:
        self.runtime = runtime
        self.settings = dataclasses.replace(settings or Settings(), **overrides)
        self.watched: tuple[tuple[str, res.Resource, str | None], ...] = (
            (cache_mod.ORDER, res.ORDERS, None),
            (cache_mod.CHALLENGE, res.CHALLENGES, None),
            (cache_mod.POD, res.PODS, SOLVER_SELECTOR),
            (cache_mod.SERVICE, res.SERVICES, SOLVER_SELECTOR),
        )
        workers = max(1, self.settings.workers)
        self.orders = Controller("orders", self._reconcile_order, workers=workers)
        self.challenges = Controller("challenges", self._reconcile_challenge, workers=workers)
        self.controllers = [self.orders, self.challenges]
        self._clients: dict[tuple[str, str, bytes, bool], acme_client.AsyncACMEClient] = {}
        self._keys: dict[bytes, tuple[rsa.RSAPrivateKey, str]] = {}
        self._schedule_lock = asyncio.Lock()
        self._passes: dict[str, int] = {}  # Challenge uid -> consecutive HTTP-01 self-check passes
        self._propagated: dict[str, float] = {}  # Challenge uid -> monotonic time the DNS check first passed
        self._last_present_error: dict[str, str] = {}
        self._order_seen: dict[tuple[str, str], tuple[str, bool, bool]] = {}  # what the owning request last saw
        self._lost_accounts: set[str] = set()  # account URLs the server said do not exist (accountDoesNotExist)

    @property
    def image(self) -> str:
        return self.settings.solver_image or f"issuer:{issuer.__version__}"

    # -- watch events ---------------------------------------------------------------------------------
    def notify(self, kind: str, obj: Mapping[str, Any]) -> None:
        key = cache_mod.key_of(obj)
        if kind == cache_mod.ORDER:
            self.orders.queue.add(key)
            status = obj.get("status") or {}
            seen = (status.get("state") or "", bool(status.get("certificate")),
                    bool((obj.get("metadata") or {}).get("deletionTimestamp")))
            owner = _owner_key(obj, c.CERTIFICATE_REQUEST)
            if self.runtime.cache.get(cache_mod.ORDER, *key) is None:  # deleted
                self._order_seen.pop(key, None)
                if owner is not None:
                    self.runtime.requests.queue.add(owner)
            elif owner is not None and self._order_seen.get(key) != seen:  # the request cares about these only
                self._order_seen[key] = seen
                self.runtime.requests.queue.add(owner)
        elif kind == cache_mod.CHALLENGE:
            self.challenges.queue.add(key)
            owner = _owner_key(obj, c.ORDER)
            if owner is not None:
                self.orders.queue.add(owner)
            state = (obj.get("status") or {}).get("state") or ""
            if state in c.FINAL_STATES or (obj.get("metadata") or {}).get("deletionTimestamp"):
                self._wake_waiting()
        elif kind in (cache_mod.POD, cache_mod.SERVICE, cache_mod.INGRESS):
            owner = _owner_key(obj, c.CHALLENGE)
            if owner is not None:
                self.challenges.queue.add(owner)

    def forget(self, kind: str, obj: Mapping[str, Any]) -> None:
        key = cache_mod.key_of(obj)
        if kind == cache_mod.ORDER:
            self.orders.queue.cancel(key)
        elif kind == cache_mod.CHALLENGE:
            self.challenges.queue.cancel(key)
            uid = (obj.get("metadata") or {}).get("uid") or ""
            self._passes.pop(uid, None)
            self._propagated.pop(uid, None)
            self._last_present_error.pop(uid, None)

    def _wake_waiting(self) -> None:
        """A processing slot may have freed up: look at the Challenges waiting for one."""
        for obj in self.runtime.cache.all(cache_mod.CHALLENGE):
            status = obj.get("status") or {}
            if not status.get("processing") and (status.get("state") or "") not in c.FINAL_STATES:
                self.challenges.queue.add(cache_mod.key_of(obj))

    # -- helpers --------------------------------------------------------------------------------------
    def _lookup_issuer(self, ref: t.IssuerRef, namespace: str) -> t.Issuer | None:
        kind = ref.kind or c.ISSUER
        if kind == c.CLUSTER_ISSUER:
            obj = self.runtime.cache.get(cache_mod.CLUSTER_ISSUER, "", ref.name)
        elif kind == c.ISSUER:
            obj = self.runtime.cache.get(cache_mod.ISSUER, namespace, ref.name)
        else:
            return None
        if obj is None:
            return None
        try:
            parsed = t.parse_issuer(obj)
        except InvalidObject:
            return None
        return parsed if parsed.spec.acme is not None else None

    def _resource_namespace(self, iss: t.Issuer) -> str:
        return base.resource_namespace(iss, self.runtime.options.cluster_resource_namespace)

    def _load_key(self, pem: bytes, secret_name: str) -> tuple[rsa.RSAPrivateKey, str]:
        cached = self._keys.get(pem)
        if cached is None:
            key = accounts.load_key(pem, secret_name)
            cached = (key, accounts.private_key_hash(key))
            if len(self._keys) > 256:
                self._keys.clear()
            self._keys[pem] = cached
        return cached

    def _on_request(self, event: acme_client.RequestEvent) -> None:
        metrics = self.runtime.acme_metrics
        if metrics is not None:
            metrics.observe(event.scheme, event.host, event.action, event.method, event.status, event.seconds)

    def _client(self, acme: t.ACMEIssuer, key: rsa.RSAPrivateKey, key_hash: str) -> acme_client.AsyncACMEClient:
        """The cached client for (server, key, CA bundle); InvalidConfig for an unusable caBundle or v1 URL."""
        bundle = b""
        if acme.ca_bundle:
            try:
                bundle = base64.b64decode(acme.ca_bundle, validate=True)
            except ValueError:
                raise errors.InvalidConfig("spec.acme.caBundle is not valid base64") from None
        cache_key = (acme.server, key_hash, bundle, acme.skip_tls_verify)
        found = self._clients.get(cache_key)
        if found is None:
            sync = accounts.client_for(acme.server, key, ca_bundle=bundle, skip_tls_verify=acme.skip_tls_verify,
                                       on_request=self._on_request)
            found = self._clients[cache_key] = acme_client.AsyncACMEClient(sync)
        return found

    async def _account_key(self, iss: t.Issuer) -> tuple[rsa.RSAPrivateKey, str] | None:
        acme = iss.spec.acme or t.ACMEIssuer()
        ref = acme.private_key_secret_ref or t.SecretKeySelector()
        data = await self.runtime.secret_data(self._resource_namespace(iss), ref.name) if ref.name else None
        pem = (data or {}).get(ref.key or c.TLS_PRIVATE_KEY_KEY, b"")
        if not pem:
            return None
        return self._load_key(pem, ref.name)

    async def _client_for(self, iss: t.Issuer) -> acme_client.AsyncACMEClient | None:
        """A registered account's client for a Ready issuer, else None (look again shortly)."""
        status = iss.status.acme
        ready = any(x.type == c.COND_READY and x.status == c.TRUE for x in iss.status.conditions)
        if not ready or status is None or not status.uri or status.uri in self._lost_accounts:
            return None
        try:
            found = await self._account_key(iss)
            if found is None:
                return None
            client = self._client(iss.spec.acme or t.ACMEIssuer(), *found)
        except errors.ACMEError:
            return None
        if not client.sync.account_uri:
            client.sync.account_uri = status.uri
        return client

    def _account_gone(self, iss: t.Issuer, client: acme_client.AsyncACMEClient, err: errors.ACMEError) -> RetryLater:
        """The server forgot the account (a CA reset, a deactivated account): register again through the Issuer
        and retry the Order/Challenge step once that is done, instead of failing it with a stale account."""
        lost = {client.sync.account_uri, iss.status.acme.uri if iss.status.acme is not None else ""} - {""}
        self._lost_accounts |= lost
        client.sync.account_uri = ""
        log.warning("ACME account %s is gone (%s): registering %s %s/%s again", ", ".join(sorted(lost)), err,
                    iss.kind or c.ISSUER, iss.metadata.namespace, iss.metadata.name)
        self.runtime.issuers.queue.add((iss.kind or c.ISSUER, iss.metadata.namespace or "", iss.metadata.name))
        return RetryLater(ISSUER_NOT_READY_RECHECK, str(err))

    async def _write_status(self, resource: res.Resource, kind: str, obj: Mapping[str, Any],
                            new: Mapping[str, Any], controller: str, queue_key: Any = None) -> dict[str, Any]:
        """Replace the status (guarded by the resourceVersion); `queue_key`: the writer's own queue key, which
        the write does not wake again (the object's (namespace, name) unless given)."""
        meta = obj["metadata"]
        patch = runtime_mod.status_patch(obj.get("status") or {}, new, meta["resourceVersion"])
        updated: dict[str, Any] = await self.runtime.client.patch_status(
            resource, meta["name"], patch, meta.get("namespace") or None)
        self.runtime.store(kind, updated, writer=(controller, queue_key or cache_mod.key_of(obj)))
        return updated

    # -- Issuers --------------------------------------------------------------------------------------
    async def reconcile_issuer(self, obj: dict[str, Any], issuer_: t.Issuer) -> float | None:
        if issuer_.spec.acme is None:
            return None
        now = self.runtime.clock()
        setup, account, requeue = await self._setup(issuer_)
        status, events = acmeissuers.decide(issuer_, setup, account, now)
        kind = issuer_.kind or c.ISSUER
        if status is not None:
            resource = res.CLUSTER_ISSUERS if kind == c.CLUSTER_ISSUER else res.ISSUERS
            ns, name = cache_mod.key_of(obj)
            await self._write_status(resource, kind, obj, status.to_wire(), "issuers", (kind, ns, name))
            for cr_key in self.runtime.cache.referencing_issuer(cache_mod.CERTIFICATE_REQUEST, kind, ns, name):
                self.runtime.requests.queue.add(cr_key)
        await self.runtime.record(obj, f"cert-manager-{kind.lower()}s", events)
        return requeue

    async def _setup(self, iss: t.Issuer) -> tuple[base.Setup, t.ACMEIssuerStatus | None, float | None]:
        """The Ready verdict, the new `status.acme` (None: keep) and when to look again."""
        acme = iss.spec.acme or t.ACMEIssuer()
        ns = self._resource_namespace(iss)
        try:
            accounts.check_server_url(acme.server)
        except errors.InvalidConfig as err:
            return base.Setup(False, c.REASON_INVALID_CONFIG, str(err)), None, None
        bad_url = acmeissuers.server_url_problem(acme.server)
        if bad_url:
            return base.Setup(False, c.REASON_INVALID_URL, bad_url), None, None
        ref = acme.private_key_secret_ref or t.SecretKeySelector()
        if not ref.name:
            why = "spec.acme.privateKeySecretRef.name is required"
            return base.Setup(False, c.REASON_INVALID_CONFIG, why), None, None
        key_field = ref.key or c.TLS_PRIVATE_KEY_KEY
        data = await self.runtime.secret_data(ns, ref.name)
        pem = (data or {}).get(key_field, b"")
        if not pem:
            if acme.disable_account_key_generation:
                why = f'secret "{ns}/{ref.name}" does not exist or has no "{key_field}" key'
                return (base.Setup(False, c.REASON_ERR_VERIFY_ACME_ACCOUNT, acmeissuers.VERIFY_FAILED + why),
                        None, TERMINAL_ISSUER_RECHECK)
            pem = await self._generate_account_key(ns, ref.name, key_field, data)
        try:
            key, key_hash = self._load_key(pem, ref.name)
        except errors.InvalidConfig as err:
            return base.Setup(False, c.REASON_ERR_VERIFY_ACME_ACCOUNT, acmeissuers.VERIFY_FAILED + str(err)), None, None
        missing: set[str] = set()
        for _path, name in acmeissuers.solver_secret_refs(iss):
            if await self.runtime.secret_data(ns, name) is None:
                missing.add(name)
        bad = acmeissuers.invalid_solver(iss, lambda name: name not in missing)
        if bad:
            return base.Setup(False, c.REASON_INVALID_SOLVER, bad), None, TERMINAL_ISSUER_RECHECK
        registered = base.Setup(True, c.REASON_ACME_ACCOUNT_REGISTERED, acmeissuers.REGISTERED_MESSAGE)
        try:
            client = self._client(acme, key, key_hash)
        except errors.InvalidConfig as err:
            return base.Setup(False, c.REASON_INVALID_CONFIG, str(err)), None, None
        lost = iss.status.acme is not None and iss.status.acme.uri in self._lost_accounts
        if lost:
            client.sync.account_uri = ""
        elif acmeissuers.can_skip(iss, key_hash):
            if not client.sync.account_uri and iss.status.acme is not None:
                client.sync.account_uri = iss.status.acme.uri
            return registered, None, None
        email = acmeissuers.email_of(iss)
        try:
            eab = await self._eab(iss, ns)
            account = await client.lookup() if client.account_uri else None
            if account is None:
                account = await client.register(email, eab)
        except errors.Retryable as err:
            return base.Setup(False, c.REASON_ERR_REGISTER_ACME_ACCOUNT, acmeissuers.REGISTER_FAILED + str(err)), \
                None, err.delay
        except errors.ACMEError as err:
            return (base.Setup(False, c.REASON_ERR_REGISTER_ACME_ACCOUNT, acmeissuers.REGISTER_FAILED + str(err)),
                    None, TERMINAL_ISSUER_RECHECK)
        if email and tuple(e.lower() for e in account.emails) != (email,):
            try:
                account = await client.update_email(email)
            except errors.ACMEError as err:
                delay = err.delay if isinstance(err, errors.Retryable) else TERMINAL_ISSUER_RECHECK
                return base.Setup(False, c.REASON_ERR_UPDATE_ACME_ACCOUNT,
                                  f"{acmeissuers.UPDATE_FAILED} {err}"), None, delay
        status = t.ACMEIssuerStatus(uri=account.uri, last_registered_email=email, last_private_key_hash=key_hash)
        return registered, status, None

    async def _eab(self, iss: t.Issuer, ns: str) -> tuple[str, str] | None:
        binding = (iss.spec.acme or t.ACMEIssuer()).external_account_binding
        if binding is None:
            return None
        ref = binding.key_secret_ref or t.SecretKeySelector()
        data = await self.runtime.secret_data(ns, ref.name) if ref.name else None
        value = (data or {}).get(ref.key, b"") if data is not None else None
        if value is None:
            raise errors.InvalidConfig(
                f'failed to get External Account Binding key from secret: secret "{ns}/{ref.name}" not found')
        return accounts.eab_for_client(binding.key_id, value)

    async def _generate_account_key(self, ns: str, name: str, key_field: str,
                                    existing: Mapping[str, bytes] | None) -> bytes:
        key = await asyncio.to_thread(accounts.generate_key)
        pem = accounts.encode_key(key)
        encoded = base64.b64encode(pem).decode("ascii")
        if existing is None:
            body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": {"name": name, "namespace": ns, "labels": {c.LABEL_MANAGED_BY: MANAGED_BY}},
                    "data": {key_field: encoded}}
            try:
                await self.runtime.client.create(res.SECRETS, body, ns)
            except kerr.AlreadyExists:
                raise RetryLater(0.2, "account key Secret made meanwhile") from None
        else:
            await self.runtime.client.patch_merge(res.SECRETS, name, {"data": {key_field: encoded}}, ns)
        log.info("generated a new ACME account key in Secret %s/%s", ns, name)
        return pem

    # -- CertificateRequests --------------------------------------------------------------------------
    async def sign(self, obj: dict[str, Any], cr: t.CertificateRequest, issuer_: t.Issuer,
                   now: _dt.datetime) -> base.Outcome | None:
        if dispatch.issuer_type(issuer_) != "acme":
            return None
        spec = orders.order_spec(cr, issuer_)
        if isinstance(spec, base.Failed):
            return spec
        ns = cr.metadata.namespace
        name = names.order_name(cr.metadata.name, spec.to_wire())
        order_obj: dict[str, Any] | None = self.runtime.cache.get(cache_mod.ORDER, ns, name)
        order: t.Order | None = None
        if order_obj is not None:
            try:
                order = t.parse_order(order_obj)
            except InvalidObject:
                order = None
        step = orders.sign(cr, issuer_, order, name, spec)
        if step.create is not None:
            created: dict[str, Any] | None
            try:
                created = await self.runtime.client.create(res.ORDERS, step.create, ns)
            except kerr.AlreadyExists:
                # made by an earlier attempt whose answer was lost: the watch brings it into the cache
                raise RetryLater(1.0, f"Order {ns}/{name} exists already; waiting for it to be observed") from None
            if created is not None:
                # the request being reconciled records OrderCreated itself: no second reconcile racing it
                self._order_seen[(ns, name)] = ((created.get("status") or {}).get("state") or "", False, False)
                self.runtime.store(cache_mod.ORDER, created)
        if step.delete is not None:
            with contextlib.suppress(kerr.NotFound, kerr.Conflict):
                await self.runtime.client.delete(res.ORDERS, name, ns, uid=step.delete.metadata.uid or None)
            self.runtime.cache.delete(cache_mod.ORDER, {"metadata": {"namespace": ns, "name": name}})
            self.runtime.requests.queue.add((ns, cr.metadata.name))
        return step.outcome

    # -- Orders ---------------------------------------------------------------------------------------
    def _owned_challenges(self, uid: str) -> list[t.Challenge]:
        out = []
        for obj in self.runtime.cache.owned_by(uid, cache_mod.CHALLENGE):
            with contextlib.suppress(InvalidObject):
                out.append(t.parse_challenge(obj))
        return out

    async def _reconcile_order(self, key: Any) -> float | None:
        ns, name = key
        obj = self.runtime.cache.get(cache_mod.ORDER, ns, name)
        if obj is None:
            return None
        try:
            order = t.parse_order(obj)
        except InvalidObject as exc:
            log.warning("Order %s/%s does not parse: %s", ns, name, exc.summary())
            return None
        owned = self._owned_challenges(order.metadata.uid)
        step = orders.next_step(order, owned)
        if step.action == orders.NOTHING:
            return None
        if step.action == orders.DELETE_CHALLENGES:
            for ch in owned:
                with contextlib.suppress(kerr.NotFound, kerr.Conflict):
                    await self.runtime.client.delete(res.CHALLENGES, ch.metadata.name, ns, uid=ch.metadata.uid or None)
            return None
        iss = self._lookup_issuer(order.spec.issuer_ref, ns)
        if iss is None:
            return TERMINAL_ISSUER_RECHECK
        client = await self._client_for(iss)
        if client is None:
            return ISSUER_NOT_READY_RECHECK
        now = self.runtime.clock()
        status = order.status
        events: list[tuple[str, str, str]] = []
        requeue = step.requeue_after
        try:
            if step.action == orders.NEW_ORDER:
                status = await self._new_order(client, order, now)
            elif step.action == orders.REFRESH:
                fresh = await client.get_order(status.url)
                status = self._from_acme(status, fresh, now)
                status = dataclasses.replace(status, reason=orders.failure_detail(status, owned))
                if status.state == c.STATE_PROCESSING:
                    requeue = fresh.retry_after or self.settings.poll_interval
                elif status.state != c.STATE_PENDING:
                    requeue = None
            elif step.action == orders.FETCH_AUTHORIZATIONS:
                fresh = await client.get_order(status.url)
                status = await self._with_authorizations(client, self._from_acme(status, fresh, now), fresh)
            elif step.action == orders.CREATE_CHALLENGES:
                await self._create_challenges(client, iss, order, step.missing, events)
            elif step.action == orders.FINALIZE:
                fresh = await client.finalize(status.finalize_url, order.spec.request)
                status = self._from_acme(status, fresh, now)
                if status.state == c.STATE_PROCESSING:
                    requeue = fresh.retry_after or self.settings.poll_interval
            elif step.action == orders.FETCH_CERTIFICATE:
                fresh = await client.get_order(status.url)
                if not fresh.certificate:
                    return fresh.retry_after or self.settings.poll_interval
                chain = await client.fetch_certificate(fresh.certificate, (iss.spec.acme or t.ACMEIssuer())
                                                       .preferred_chain)
                status = dataclasses.replace(status, certificate=chain)
                events.append(("Normal", orders.EVENT_COMPLETE, orders.COMPLETE_MESSAGE))
        except errors.Retryable as err:
            log.info("Order %s/%s: %s (retrying in %.1fs)", ns, name, err, err.delay)
            raise RetryLater(err.delay, str(err)) from None
        except errors.ACMEError as err:
            if isinstance(err, errors.Terminal) and err.code == ACCOUNT_DOES_NOT_EXIST:
                raise self._account_gone(iss, client, err) from None
            what = {orders.NEW_ORDER: "create", orders.FINALIZE: "finalize"}.get(step.action, "update")
            status = orders.errored(status, f"Failed to {what} Order: {err}", now)
        if status != order.status:
            await self._write_status(res.ORDERS, cache_mod.ORDER, obj, status.to_wire(), "orders")
        await self.runtime.record(obj, "cert-manager-orders", events)
        return requeue

    def _from_acme(self, status: t.OrderStatus, fresh: acme_client.Order, now: _dt.datetime) -> t.OrderStatus:
        reason = str(fresh.error) if fresh.error is not None else ""
        return orders.with_state(status, fresh.status, reason, now)

    async def _new_order(self, client: acme_client.AsyncACMEClient, order: t.Order,
                         now: _dt.datetime) -> t.OrderStatus:
        spec = order.spec
        idents: list[acme_client.Identifier] = []
        for value in (*spec.dns_names, *spec.ip_addresses, spec.common_name):
            ident = acme_client.Identifier.of(value) if value else None
            if ident is not None and ident not in idents:
                idents.append(ident)
        not_after = None
        if spec.duration:
            with contextlib.suppress(duration_mod.DurationError):
                not_after = now + duration_mod.parse(spec.duration)
        fresh = await client.new_order(identifiers=idents, not_after=not_after, profile=spec.profile)
        status = self._from_acme(dataclasses.replace(order.status, url=fresh.url, finalize_url=fresh.finalize),
                                 fresh, now)
        try:
            return await self._with_authorizations(client, status, fresh)
        except errors.ACMEError:
            # the order exists on the server now: keep its URL so the next attempt reuses it
            if status != order.status:
                obj = self.runtime.cache.get(cache_mod.ORDER, order.metadata.namespace, order.metadata.name)
                if obj is not None:
                    await self._write_status(res.ORDERS, cache_mod.ORDER, obj, status.to_wire(), "orders")
            raise

    async def _with_authorizations(self, client: acme_client.AsyncACMEClient, status: t.OrderStatus,
                                   fresh: acme_client.Order) -> t.OrderStatus:
        """The status with the order's authorizations as the server describes them now."""
        authzs = []
        for url in fresh.authorizations:
            authz = await client.get_authorization(url)
            authzs.append(t.ACMEAuthorization(
                url=url, identifier=authz.identifier.value, wildcard=authz.wildcard or None,
                initial_state=authz.status,
                challenges=tuple(t.ACMEChallenge(url=ch.url, token=ch.token, type=ch.type)
                                 for ch in authz.challenges),
            ))
        return dataclasses.replace(status, authorizations=tuple(authzs))

    async def _create_challenges(self, client: acme_client.AsyncACMEClient, iss: t.Issuer, order: t.Order,
                                 missing: tuple[t.ACMEAuthorization, ...], events: list[tuple[str, str, str]]) -> None:
        solvers = (iss.spec.acme or t.ACMEIssuer()).solvers
        ns = order.metadata.namespace
        for authz in missing:
            offered = [ch.type for ch in authz.challenges]
            domain = authz.identifier.removeprefix("*.")
            choice = solver_mod.select(solvers, domain, bool(authz.wildcard), order.metadata.labels, offered)
            acme_ch = next((ch for ch in authz.challenges if choice is not None and ch.type == choice.challenge_type),
                           None)
            if choice is None or acme_ch is None:
                events.append(("Warning", orders.EVENT_SOLVER, orders.no_solver_message(domain, offered)))
                continue
            chosen = solver_mod.apply_overrides(choice.solver, order.metadata.annotations)
            spec = orders.challenge_spec(authz, acme_ch, chosen, order.spec.issuer_ref)
            name = names.challenge_name(order.metadata.name, spec.to_wire())
            key = (client.key_authorization(acme_ch.token) if acme_ch.type == solver_mod.HTTP01
                   else client.dns01_value(acme_ch.token))
            body = orders.challenge_body(order, dataclasses.replace(spec, key=key), name)
            try:
                created = await self.runtime.client.create(res.CHALLENGES, body, ns)
            except kerr.AlreadyExists:
                continue
            self.runtime.store(cache_mod.CHALLENGE, created)
            events.append(("Normal", orders.EVENT_CREATED, orders.created_message(name, domain)))

    # -- Challenges -----------------------------------------------------------------------------------
    def _all_challenges(self) -> list[t.Challenge]:
        out = []
        for obj in self.runtime.cache.all(cache_mod.CHALLENGE):
            with contextlib.suppress(InvalidObject):
                out.append(t.parse_challenge(obj))
        return out

    async def _reconcile_challenge(self, key: Any) -> float | None:
        ns, name = key
        obj = self.runtime.cache.get(cache_mod.CHALLENGE, ns, name)
        if obj is None:
            return None
        try:
            ch = t.parse_challenge(obj)
        except InvalidObject as exc:
            log.warning("Challenge %s/%s does not parse: %s", ns, name, exc.summary())
            return None
        step = challenges.next_step(ch)
        if step == challenges.NOTHING:
            return None
        if step == challenges.SCHEDULE:
            return await self._schedule(obj, ch)
        if step == challenges.ADD_FINALIZER:
            patch = {"metadata": {"resourceVersion": ch.metadata.resource_version,
                                  "finalizers": challenges.finalizers_with(ch)}}
            updated = await self.runtime.client.patch_merge(res.CHALLENGES, name, patch, ns)
            self.runtime.store(cache_mod.CHALLENGE, updated, writer=("challenges", key))
            return 0.0
        if step == challenges.CLEANUP:
            return await self._cleanup(obj, ch)
        iss = self._lookup_issuer(ch.spec.issuer_ref, ns)
        if iss is None:
            return TERMINAL_ISSUER_RECHECK
        if challenges.issuer_solver(ch, iss) is None:  # never present with credentials the Issuer did not name
            why = challenges.not_an_issuer_solver(iss)
            await self._write_status(res.CHALLENGES, cache_mod.CHALLENGE, obj,
                                     challenges.failed(ch.status, c.STATE_ERRORED, why).to_wire(), "challenges")
            await self.runtime.record(obj, "cert-manager-challenges", [challenges.failed_event(why)])
            return None
        client = await self._client_for(iss)
        if client is None:
            return ISSUER_NOT_READY_RECHECK
        status = ch.status
        events: list[tuple[str, str, str]] = []
        requeue: float | None = None
        try:
            if step == challenges.FETCH_STATE:
                authz = await client.get_authorization(ch.spec.authorization_url)
                if authz.status == c.STATE_VALID:
                    status = challenges.authorized(status)
                else:
                    status = challenges.with_state(status, authz.status or c.STATE_PENDING)
            elif step == challenges.POLL_AUTHORIZATION:
                status, requeue = await self._poll(client, ch, events)
            else:
                status, requeue = await self._present_and_check(client, iss, ch, events)
        except errors.Retryable as err:
            raise RetryLater(err.delay, str(err)) from None
        except errors.ACMEError as err:
            if isinstance(err, errors.Terminal) and err.code == ACCOUNT_DOES_NOT_EXIST:
                raise self._account_gone(iss, client, err) from None
            state = c.STATE_EXPIRED if isinstance(err, errors.Terminal) and err.code == "malformed" else c.STATE_ERRORED
            status = challenges.failed(status, state, str(err))
            events.append(challenges.failed_event(str(err)))
        if status != ch.status:
            await self._write_status(res.CHALLENGES, cache_mod.CHALLENGE, obj, status.to_wire(), "challenges")
        await self.runtime.record(obj, "cert-manager-challenges", events)
        return requeue

    async def _schedule(self, obj: dict[str, Any], ch: t.Challenge) -> float | None:
        async with self._schedule_lock:
            if not challenges.may_start(ch, self._all_challenges(), self.settings.max_concurrent_challenges):
                return SCHEDULER_PERIOD
            await self._write_status(res.CHALLENGES, cache_mod.CHALLENGE, obj,
                                     challenges.started(ch.status).to_wire(), "challenges")
        await self.runtime.record(obj, "cert-manager-challenges",
                                  [("Normal", challenges.EVENT_STARTED, challenges.STARTED_MESSAGE)])
        return 0.0

    async def _poll(self, client: acme_client.AsyncACMEClient, ch: t.Challenge,
                    events: list[tuple[str, str, str]]) -> tuple[t.ChallengeStatus, float | None]:
        authz = await client.get_authorization(ch.spec.authorization_url)
        if authz.status in (c.STATE_PENDING, c.STATE_PROCESSING, ""):
            return ch.status, authz.retry_after or self.settings.poll_interval
        if authz.status == c.STATE_VALID:
            events.append(challenges.verified_event(ch))
            return challenges.authorized(ch.status), None
        problem = authz.problem
        detail = str(problem) if problem is not None else f"authorization is {authz.status}"
        events.append(challenges.failed_event(detail))
        state = authz.status if authz.status in c.FAILURE_STATES else c.STATE_INVALID
        return challenges.failed(ch.status, state, detail), None

    async def _present_and_check(self, client: acme_client.AsyncACMEClient, iss: t.Issuer, ch: t.Challenge,
                                 events: list[tuple[str, str, str]]) -> tuple[t.ChallengeStatus, float | None]:
        status = ch.status
        uid = ch.metadata.uid
        now = self.runtime.clock()
        try:
            if ch.spec.type == "HTTP-01":
                await self._present_http01(ch)
            elif not status.presented:
                await self._present_dns01(iss, ch)
        except errors.ACMEError as err:
            why = str(err)
            if self._last_present_error.get(uid) != why:
                events.append(challenges.present_error_event(why))
                self._last_present_error[uid] = why
            retry = err.delay if isinstance(err, errors.Retryable) else self.settings.dns01_check_period
            return dataclasses.replace(status, reason=why), retry
        except (kerr.Terminal, ValueError) as err:
            why = str(err)
            if self._last_present_error.get(uid) != why:
                events.append(challenges.present_error_event(why))
                self._last_present_error[uid] = why
            return dataclasses.replace(status, reason=why), self.settings.dns01_check_period
        self._last_present_error.pop(uid, None)
        if not status.presented:
            status = challenges.presented(status, now)
            events.append(challenges.presented_event(ch.spec.type))
        ok, why, wait = await self._check(iss, ch, status, now)
        if not ok:
            return challenges.waiting(status, ch.spec.type, why), wait
        try:
            await client.answer_challenge(ch.spec.url)
        except errors.Terminal:
            # accepted already (a restart between the accept and our status write)? then poll as usual
            authz = await client.get_authorization(ch.spec.authorization_url)
            mine = next((x for x in authz.challenges if x.url == ch.spec.url), None)
            if authz.status == c.STATE_PENDING and (mine is None or mine.status == c.STATE_PENDING):
                raise
        self._passes.pop(uid, None)
        self._propagated.pop(uid, None)
        return challenges.with_state(status, c.STATE_PROCESSING, ""), self.settings.poll_interval

    async def _check(self, iss: t.Issuer, ch: t.Challenge, status: t.ChallengeStatus,
                     now: _dt.datetime) -> tuple[bool, str, float]:
        """(ready, why not, when to look again)."""
        s = self.settings
        uid = ch.metadata.uid
        wait_instead = ch.spec.solver.wait_instead_of_self_check
        if wait_instead:
            try:
                delay = duration_mod.parse(wait_instead).total_seconds()
            except duration_mod.DurationError:
                delay = 0.0
            presented_at = _dt.datetime.fromisoformat(status.presented_at.replace("Z", "+00:00")) \
                if status.presented_at else now
            left = (presented_at - now).total_seconds() + delay
            if left > 0:
                return False, f"waiting {wait_instead} instead of a self-check", left
            return True, "", 0.0
        if ch.spec.type == "HTTP-01":
            if not s.http01_self_check:
                return True, "", 0.0
            ok, why = await http01.self_check(ch.spec.dns_name, ch.spec.token, ch.spec.key,
                                              connect_to=s.http01_self_check_address)
            if not ok:
                self._passes.pop(uid, None)
                return False, why, s.dns01_check_period
            passes = self._passes[uid] = self._passes.get(uid, 0) + 1
            if passes < s.http01_self_check_passes:
                return False, f"self check passed {passes} of {s.http01_self_check_passes} times", \
                    s.http01_self_check_interval
            return True, "", 0.0
        solver = self._issuer_dns01_solver(iss, ch)
        dns = solver.dns01 or t.DNS01()
        servers = self._check_nameservers(dns)
        fqdn = await dns01.aresolve_fqdn(ch.spec.dns_name, dns.cname_strategy, servers)
        ok, why = await dns01.acheck_propagation(
            fqdn, ch.spec.key, servers, nameservers_only=bool(dns.nameservers) or s.dns01_recursive_nameservers_only)
        if not ok:
            self._propagated.pop(uid, None)
            return False, why, s.dns01_check_period
        first = self._propagated.setdefault(uid, time.monotonic())
        left = first + s.dns01_propagation_wait - time.monotonic()
        if left > 0:
            return False, f"DNS record propagated; waiting {s.dns01_propagation_wait:.0f}s before accepting", left
        return True, "", 0.0

    def _check_nameservers(self, dns: t.DNS01) -> list[dns01.Nameserver]:
        configured = dns.nameservers or self.settings.dns01_recursive_nameservers
        if configured:
            return [dns01.parse_nameserver(x) for x in configured]
        return dns01.system_nameservers()

    def _issuer_dns01_solver(self, iss: t.Issuer, ch: t.Challenge) -> t.ACMESolver:
        """The Issuer's own DNS-01 solver equal to the Challenge's; refused when there is none."""
        found = challenges.issuer_solver(ch, iss)
        if found is None:
            raise errors.InvalidConfig(challenges.not_an_issuer_solver(iss))
        return found

    async def _dns01_provider(self, iss: t.Issuer, ch: t.Challenge) -> tuple[rfc2136.Provider, str]:
        solver = self._issuer_dns01_solver(iss, ch)
        dns = solver.dns01 or t.DNS01()
        if dns.rfc2136 is None:
            names_ = ", ".join(dns.provider_names()) or "none"
            raise errors.InvalidConfig(f"DNS-01 provider {names_} is not supported by this controller (rfc2136 is)")
        secret: bytes = b""
        ref = dns.rfc2136.tsig_secret_secret_ref
        if ref is not None and ref.name:
            ns = self._resource_namespace(iss)
            data = await self.runtime.secret_data(ns, ref.name)
            if data is None:
                raise errors.InvalidConfig(f'TSIG Secret "{ns}/{ref.name}" not found')
            secret = data.get(ref.key, b"")
        config = rfc2136.Config.from_spec(dns.rfc2136, secret)
        servers = self._check_nameservers(dns) if dns.cname_strategy == dns01.CNAME_FOLLOW else [config.nameserver]
        fqdn = await dns01.aresolve_fqdn(ch.spec.dns_name, dns.cname_strategy, servers)
        return rfc2136.Provider(config), fqdn

    async def _present_dns01(self, iss: t.Issuer, ch: t.Challenge) -> None:
        provider, fqdn = await self._dns01_provider(iss, ch)
        await provider.apresent(fqdn, ch.spec.key)

    def _owned(self, kind: str, uid: str) -> list[dict[str, Any]]:
        return [o for o in self.runtime.cache.owned_by(uid, kind)
                if not (o.get("metadata") or {}).get("deletionTimestamp")]

    async def _create(self, resource: res.Resource, kind: str, body: dict[str, Any], ns: str) -> dict[str, Any]:
        created: dict[str, Any] = await self.runtime.client.create(resource, body, ns)
        self.runtime.store(kind, created)
        return created

    async def _present_http01(self, ch: t.Challenge) -> None:
        """Make sure the solver Pod, Service and Ingress (or the path in the named Ingress) exist."""
        http = ch.spec.solver.http01
        if http is None or http.ingress is None:
            raise errors.InvalidConfig("only HTTP-01 ingress solvers are supported (gatewayHTTPRoute is not)")
        ns, uid = ch.metadata.namespace, ch.metadata.uid
        if not self._owned(cache_mod.POD, uid):
            await self._create(res.PODS, cache_mod.POD, http01.pod(ch, self.image), ns)
        services = self._owned(cache_mod.SERVICE, uid)
        service = services[0] if services else await self._create(res.SERVICES, cache_mod.SERVICE,
                                                                  http01.service(ch), ns)
        service_name = service["metadata"]["name"]
        if http.ingress.name:
            existing = self.runtime.cache.get(cache_mod.INGRESS, ns, http.ingress.name)
            if existing is None:
                existing = await self.runtime.client.get(res.INGRESSES, http.ingress.name, ns)
            if existing is None:
                raise errors.InvalidConfig(f'Ingress "{ns}/{http.ingress.name}" named by the solver does not exist')
            if not http01.has_path(existing, ch):
                updated = await self.runtime.client.replace(res.INGRESSES, http01.add_path(existing, ch, service_name),
                                                            ns)
                self.runtime.store(cache_mod.INGRESS, updated)
            return
        if not self._owned(cache_mod.INGRESS, uid):
            await self._create(res.INGRESSES, cache_mod.INGRESS, http01.ingress(ch, service_name), ns)

    async def _cleanup_http01(self, ch: t.Challenge) -> None:
        ns, uid = ch.metadata.namespace, ch.metadata.uid
        http = ch.spec.solver.http01
        if http is not None and http.ingress is not None and http.ingress.name:
            existing = await self.runtime.client.get(res.INGRESSES, http.ingress.name, ns)
            if existing is not None and http01.has_path(existing, ch):
                updated = await self.runtime.client.replace(res.INGRESSES, http01.remove_path(existing, ch), ns)
                self.runtime.store(cache_mod.INGRESS, updated)
        for kind, resource in ((cache_mod.INGRESS, res.INGRESSES), (cache_mod.SERVICE, res.SERVICES),
                               (cache_mod.POD, res.PODS)):
            for obj in self.runtime.cache.owned_by(uid, kind):
                meta = obj.get("metadata") or {}
                with contextlib.suppress(kerr.NotFound, kerr.Conflict):
                    await self.runtime.client.delete(resource, meta.get("name", ""), ns, uid=meta.get("uid") or None)

    async def _cleanup(self, obj: dict[str, Any], ch: t.Challenge) -> float | None:
        ns, name = ch.metadata.namespace, ch.metadata.name
        uid = ch.metadata.uid
        try:
            if ch.spec.type == "HTTP-01":
                await self._cleanup_http01(ch)
            elif ch.status.presented:
                iss = self._lookup_issuer(ch.spec.issuer_ref, ns)
                if iss is None:
                    raise errors.InvalidConfig("its issuer no longer exists; the TXT record is left in place")
                provider, fqdn = await self._dns01_provider(iss, ch)
                await provider.acleanup(fqdn, ch.spec.key)
        except (errors.ACMEError, kerr.Terminal) as err:
            await self.runtime.record(obj, "cert-manager-challenges", [challenges.cleanup_error_event(str(err))])
            if not (isinstance(err, errors.InvalidConfig) and ch.metadata.deletion_timestamp):
                raise RetryLater(self.settings.dns01_check_period, str(err)) from None
        self._passes.pop(uid, None)
        self._propagated.pop(uid, None)
        self._last_present_error.pop(uid, None)
        current = obj
        if not ch.metadata.deletion_timestamp and (ch.status.processing or ch.status.presented):
            current = await self._write_status(res.CHALLENGES, cache_mod.CHALLENGE, obj,
                                               challenges.cleaned(ch.status).to_wire(), "challenges")
        if challenges.has_finalizer(ch):
            patch = {"metadata": {"resourceVersion": current["metadata"]["resourceVersion"],
                                  "finalizers": challenges.finalizers_without(ch) or None}}
            try:
                updated = await self.runtime.client.patch_merge(res.CHALLENGES, name, patch, ns)
            except kerr.NotFound:
                return None
            self.runtime.store(cache_mod.CHALLENGE, updated, writer=("challenges", (ns, name)))
        return None
