"""The ACME extension's I/O decisions that Pebble cannot provoke, with a fake runtime and a fake ACME client:
Retry-After from the server becomes a requeue after exactly that delay with nothing written (and no second
order), a refused new-order errors the Order once with the server's problem, a refused accept errors the
Challenge, and a processing Order is looked at again after the server's Retry-After."""

from __future__ import annotations

import datetime as _dt
from typing import Any, cast

import pytest

from issuer.acme import client as acme_client
from issuer.acme import errors
from issuer.api import constants as c
from issuer.api import types as t
from issuer.operator import acme as acme_ext
from issuer.operator import cache as cache_mod
from issuer.operator.queue import RetryLater
from issuer.operator.runtime import Options, Runtime

NOW = _dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=_dt.UTC)
NS = "ns"


class FakeKube:
    def __init__(self) -> None:
        self.status_patches: list[tuple[str, dict[str, Any]]] = []

    async def patch_status(self, resource: Any, name: str, patch: dict[str, Any], namespace: str | None) -> Any:
        self.status_patches.append((name, patch))
        return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": "99"},
                "status": {k: v for k, v in patch["status"].items() if v is not None}}


class FakeRuntime:
    def __init__(self) -> None:
        self.cache = cache_mod.Cache()
        self.client = FakeKube()
        self.options = Options()
        self.acme_metrics = None
        self.events: list[tuple[str, str, str]] = []
        self.requests = type("Q", (), {"queue": type("W", (), {"add": lambda self, key: None})()})()
        self.issuers = type("Q", (), {"queue": type("W", (), {"add": lambda self, key: self.added.append(key),
                                                             "added": []})()})()

    def clock(self) -> _dt.datetime:
        return NOW

    def store(self, kind: str, obj: dict[str, Any], *, writer: Any = None) -> None:
        self.cache.upsert(kind, obj)

    async def record(self, obj: Any, component: Any, events: list[tuple[str, str, str]]) -> None:
        self.events.extend(events)

    async def secret_data(self, namespace: str, name: str) -> None:
        return None


class FakeACME:
    """An AsyncACMEClient stand-in: each verb pops its next answer (a value, or an error to raise)."""

    def __init__(self, **answers: list[Any]) -> None:
        self.answers = answers
        self.calls: list[str] = []
        self.sync = type("Sync", (), {"account_uri": "https://acme.test/acct/1"})()

    def _next(self, verb: str) -> Any:
        self.calls.append(verb)
        answer = self.answers[verb].pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def new_order(self, *args: Any, **kwargs: Any) -> acme_client.Order:
        return cast(acme_client.Order, self._next("new_order"))

    async def get_order(self, url: str) -> acme_client.Order:
        return cast(acme_client.Order, self._next("get_order"))

    async def get_authorization(self, url: str) -> acme_client.Authorization:
        return cast(acme_client.Authorization, self._next("get_authorization"))

    async def answer_challenge(self, url: str) -> acme_client.Challenge:
        return cast(acme_client.Challenge, self._next("answer_challenge"))


def _issuer() -> dict[str, Any]:
    return {"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
            "metadata": {"name": "le", "namespace": NS, "resourceVersion": "1", "generation": 1},
            "spec": {"acme": {"server": "https://acme.test/dir", "privateKeySecretRef": {"name": "k"},
                              "solvers": [{"http01": {"ingress": {}}}]}},
            "status": {"acme": {"uri": "https://acme.test/acct/1"},
                       "conditions": [{"type": "Ready", "status": "True", "reason": "ACMEAccountRegistered",
                                       "observedGeneration": 1}]}}


def _order(**status: Any) -> dict[str, Any]:
    return {"apiVersion": "acme.cert-manager.io/v1", "kind": "Order",
            "metadata": {"name": "o", "namespace": NS, "uid": "order-uid", "resourceVersion": "5"},
            "spec": {"request": "", "issuerRef": {"name": "le"}, "dnsNames": ["a.example.test"]},
            "status": status}


def _setup(fake: FakeACME, *objects: tuple[str, dict[str, Any]]) -> tuple[acme_ext.ACMEExtension, FakeRuntime]:
    runtime = FakeRuntime()
    runtime.cache.upsert(cache_mod.ISSUER, _issuer())
    for kind, obj in objects:
        runtime.cache.upsert(kind, obj)
    ext = acme_ext.ACMEExtension(cast(Runtime, runtime))

    async def client_for(_issuer: Any) -> Any:
        return fake

    ext._client_for = client_for  # type: ignore[method-assign,assignment]
    return ext, runtime


async def test_retry_after_on_new_order_is_a_requeue_after_that_delay_and_nothing_is_written() -> None:
    limited = errors.Retryable("new order: rateLimited: slow down", 37.0,
                               problem_type="urn:ietf:params:acme:error:rateLimited")
    fake = FakeACME(new_order=[limited])
    ext, runtime = _setup(fake, (cache_mod.ORDER, _order()))
    with pytest.raises(RetryLater) as raised:
        await ext._reconcile_order((NS, "o"))
    assert raised.value.delay == 37.0
    assert runtime.client.status_patches == [] and fake.calls == ["new_order"]


async def test_a_refused_new_order_errors_the_order_with_the_servers_problem() -> None:
    refused = errors.Terminal("urn:ietf:params:acme:error:rejectedIdentifier", "blocked.example.test is blocked",
                              status=400, message="new order: rejectedIdentifier: blocked.example.test is blocked")
    ext, runtime = _setup(FakeACME(new_order=[refused]), (cache_mod.ORDER, _order()))
    assert await ext._reconcile_order((NS, "o")) is None
    [(_, patch)] = runtime.client.status_patches
    assert patch["status"]["state"] == c.STATE_ERRORED
    assert patch["status"]["reason"] == "Failed to create Order: new order: rejectedIdentifier: blocked.example.test " \
                                        "is blocked"
    assert patch["status"]["failureTime"] == "2026-01-02T03:04:05Z"


async def test_a_processing_order_is_looked_at_again_after_the_servers_retry_after() -> None:
    processing = acme_client.Order(url="https://acme.test/o/1", status="processing", retry_after=3.0)
    authz = {"url": "https://acme.test/a/1", "identifier": "a.example.test", "initialState": "valid"}
    ext, runtime = _setup(FakeACME(get_order=[processing]),
                          (cache_mod.ORDER, _order(url="https://acme.test/o/1", state="processing",
                                                   authorizations=[authz])))
    assert await ext._reconcile_order((NS, "o")) == 3.0
    assert runtime.client.status_patches == []  # still processing: nothing changed


async def test_an_order_made_but_not_described_keeps_its_url_when_the_authorizations_cannot_be_read() -> None:
    made = acme_client.Order(url="https://acme.test/o/1", status="pending", finalize="https://acme.test/o/1/fin",
                             authorizations=("https://acme.test/a/1",))
    fake = FakeACME(new_order=[made], get_authorization=[errors.Retryable("authz: 503", 2.0)])
    ext, runtime = _setup(fake, (cache_mod.ORDER, _order()))
    with pytest.raises(RetryLater):
        await ext._reconcile_order((NS, "o"))
    [(_, patch)] = runtime.client.status_patches
    assert patch["status"]["url"] == "https://acme.test/o/1" and "authorizations" not in patch["status"]
    stored = runtime.cache.get(cache_mod.ORDER, NS, "o")
    assert stored is not None and stored["status"]["url"] == "https://acme.test/o/1"


def _challenge() -> dict[str, Any]:
    return {"apiVersion": "acme.cert-manager.io/v1", "kind": "Challenge",
                 "metadata": {"name": "ch", "namespace": NS, "uid": "ch-uid", "resourceVersion": "7",
                              "finalizers": [c.ACME_FINALIZER]},
                 "spec": {"url": "https://acme.test/c/1", "authorizationURL": "https://acme.test/a/1",
                          "dnsName": "a.example.test", "type": "HTTP-01", "token": "t", "key": "t.k",
                          "issuerRef": {"name": "le"},
                          "solver": {"http01": {"ingress": {}}, "waitInsteadOfSelfCheck": "0s"}},
                 "status": {"processing": True, "presented": True, "state": "pending"}}


def _challenge_setup(fake: FakeACME) -> tuple[acme_ext.ACMEExtension, FakeRuntime]:
    ext, runtime = _setup(fake, (cache_mod.CHALLENGE, _challenge()))

    async def present(_ch: Any) -> None:
        return None

    ext._present_http01 = present  # type: ignore[method-assign,assignment]
    return ext, runtime


def _authz(status: str, challenge_status: str) -> acme_client.Authorization:
    return acme_client.Authorization(
        url="https://acme.test/a/1", status=status, identifier=acme_client.Identifier("dns", "a.example.test"),
        challenges=(acme_client.Challenge("http-01", "https://acme.test/c/1", "t", challenge_status),))


async def test_a_refused_accept_errors_the_challenge_with_the_servers_problem() -> None:
    refused = errors.Terminal("urn:ietf:params:acme:error:unauthorized", "no", status=403,
                              message="accept challenge: unauthorized: no")
    ext, runtime = _challenge_setup(FakeACME(answer_challenge=[refused],
                                             get_authorization=[_authz("pending", "pending")]))
    assert await ext._reconcile_challenge((NS, "ch")) is None
    [(_, patch)] = runtime.client.status_patches
    assert patch["status"]["state"] == c.STATE_ERRORED
    assert patch["status"]["reason"] == "accept challenge: unauthorized: no"
    assert ("Warning", "Failed", "Accepting challenge authorization failed: accept challenge: unauthorized: no") \
        in runtime.events


async def test_an_accept_refused_because_it_was_accepted_before_a_restart_goes_on_polling() -> None:
    refused = errors.Terminal("urn:ietf:params:acme:error:malformed", "Cannot update challenge with status valid",
                              status=400, message="accept challenge: malformed: Cannot update challenge")
    ext, runtime = _challenge_setup(FakeACME(answer_challenge=[refused], get_authorization=[_authz("valid", "valid")]))
    assert await ext._reconcile_challenge((NS, "ch")) == ext.settings.poll_interval
    [(_, patch)] = runtime.client.status_patches
    assert patch["status"]["state"] == c.STATE_PROCESSING


async def test_an_account_the_server_forgot_is_registered_again_and_the_order_waits_for_it() -> None:
    """A CA reset (a restarted Pebble) loses the account: the Order is not failed with the stale account, the
    Issuer is queued to register again, and no client is handed out for the lost account meanwhile."""
    gone = errors.Terminal("urn:ietf:params:acme:error:accountDoesNotExist", "Account not found", status=400,
                           message="new order: accountDoesNotExist: Account not found")
    fake = FakeACME(new_order=[gone])
    ext, runtime = _setup(fake, (cache_mod.ORDER, _order()))

    async def account_key(_issuer: Any) -> tuple[Any, str]:
        return object(), "hash"

    ext._account_key = account_key  # type: ignore[method-assign,assignment]
    ext._client = lambda *_args: fake  # type: ignore[method-assign,assignment]
    issuer = t.parse_issuer(_issuer())
    assert await acme_ext.ACMEExtension._client_for(ext, issuer) is not None  # the account in use
    with pytest.raises(RetryLater) as raised:
        await ext._reconcile_order((NS, "o"))
    assert raised.value.delay == acme_ext.ISSUER_NOT_READY_RECHECK
    assert runtime.client.status_patches == []
    assert runtime.issuers.queue.added == [("Issuer", NS, "le")]
    assert fake.sync.account_uri == ""
    assert await acme_ext.ACMEExtension._client_for(ext, issuer) is None
