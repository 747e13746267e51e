"""`issuer.kube.client.Client` against the embedded API server: configuration from the server's own
kubeconfig, every verb and its error classes, pagination (including an expired continue token), watch
(live events, 410 Gone, bookmarks, timeouts, huge lines, broken streams), server-side apply, the
/status subresource, events with aggregation, retries on 429 and refused connections, call counters and
the QPS limit."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import pathlib
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
import yaml
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from issuer.kube import client as kube_client
from issuer.kube import config, errors, informer
from issuer.kube import resources as r
from issuer.testing.faults import Fault
from issuer.testing.server import EmbeddedAPIServer

ServerFactory = Callable[..., Awaitable[EmbeddedAPIServer]]
CRDS = pathlib.Path(__file__).resolve().parents[2] / "crds"


@pytest_asyncio.fixture
async def kube(apiserver: EmbeddedAPIServer) -> AsyncIterator[kube_client.Client]:
    async with kube_client.Client(config.load_kubeconfig(apiserver.kubeconfig_path)) as client:
        yield client


async def install_crd(kube: kube_client.Client, name: str) -> None:
    body = yaml.safe_load((CRDS / f"{name}.yaml").read_text())
    await kube.create(r.CUSTOM_RESOURCE_DEFINITIONS, body)
    for _ in range(100):
        crd = await kube.get(r.CUSTOM_RESOURCE_DEFINITIONS, name)
        assert crd is not None
        conditions = {c["type"]: c["status"] for c in (crd.get("status") or {}).get("conditions") or ()}
        if conditions.get("Established") == "True":
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{name} never became Established")


def secret(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}, "data": {"k": base64.b64encode(b"v").decode()}}


def certificate(name: str) -> dict[str, Any]:
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": name},
            "spec": {"secretName": f"{name}-tls", "commonName": "example.com", "dnsNames": ["example.com"],
                     "issuerRef": {"name": "ca", "kind": "Issuer"}}}


# -- configuration, reads and writes -------------------------------------------------------------------


async def test_kubeconfig_of_the_server_and_user_agent(apiserver: EmbeddedAPIServer,
                                                       kube: kube_client.Client) -> None:
    assert kube.config.server == apiserver.url
    assert kube.config.namespace == "default"
    assert await kube.get(r.NAMESPACES, "default") is not None
    assert apiserver.request_log[-1].user_agent == kube_client.USER_AGENT
    assert kube_client.USER_AGENT.startswith("issuer/")


async def test_get_missing_is_none_and_create_then_get(kube: kube_client.Client) -> None:
    assert await kube.get(r.SECRETS, "nope", "default") is None
    assert await kube.get(r.SECRETS, "nope", "no-such-namespace") is None
    created = await kube.create(r.SECRETS, secret("s1"), "default")
    assert created["metadata"]["uid"] and created["kind"] == "Secret"
    got = await kube.get(r.SECRETS, "s1", "default")
    assert got is not None and got["data"] == created["data"]


async def test_namespace_from_the_body_or_an_error(kube: kube_client.Client) -> None:
    body = secret("s1")
    body["metadata"]["namespace"] = "kube-system"
    assert (await kube.create(r.SECRETS, body))["metadata"]["namespace"] == "kube-system"
    with pytest.raises(ValueError, match="namespaced"):
        await kube.create(r.SECRETS, secret("s2"))
    with pytest.raises(ValueError, match="namespaced"):
        await kube.get(r.SECRETS, "s1")


async def test_create_twice_is_already_exists(kube: kube_client.Client) -> None:
    await kube.create(r.SECRETS, secret("s1"), "default")
    with pytest.raises(errors.AlreadyExists) as exc_info:
        await kube.create(r.SECRETS, secret("s1"), "default")
    assert exc_info.value.status == 409
    assert str(exc_info.value) == 'secrets "s1" already exists'
    assert not isinstance(exc_info.value, errors.Retryable)


async def test_create_with_generate_name_and_dry_run(kube: kube_client.Client) -> None:
    made = await kube.create(r.SECRETS, {"metadata": {"generateName": "web-"}}, "default")
    assert made["metadata"]["name"].startswith("web-") and len(made["metadata"]["name"]) == len("web-") + 5
    dry = await kube.create(r.SECRETS, secret("dry"), "default", dry_run=True)
    assert dry["metadata"]["name"] == "dry"
    assert await kube.get(r.SECRETS, "dry", "default") is None


async def test_create_in_a_missing_namespace_is_not_found(kube: kube_client.Client) -> None:
    with pytest.raises(errors.NotFound, match='namespaces "ghost" not found'):
        await kube.create(r.SECRETS, secret("s1"), "ghost")


async def test_replace_with_a_stale_resource_version_is_conflict(kube: kube_client.Client) -> None:
    created = await kube.create(r.SECRETS, secret("s1"), "default")
    created["metadata"]["labels"] = {"a": "1"}
    updated = await kube.replace(r.SECRETS, created)
    assert updated["metadata"]["labels"] == {"a": "1"}
    created["metadata"]["labels"] = {"a": "2"}
    with pytest.raises(errors.Conflict) as exc_info:
        await kube.replace(r.SECRETS, created)
    assert isinstance(exc_info.value, errors.Retryable)
    assert "the object has been modified" in str(exc_info.value)


async def test_invalid_object_lists_causes(kube: kube_client.Client) -> None:
    with pytest.raises(errors.Invalid) as exc_info:
        await kube.create(r.SECRETS, {"metadata": {"name": "Bad_Name"}}, "default")
    assert exc_info.value.status == 422
    assert exc_info.value.causes and exc_info.value.causes[0][0] == "metadata.name"


async def test_modify_retries_conflicts(kube: kube_client.Client) -> None:
    await kube.create(r.SECRETS, secret("counter"), "default")

    def bump(obj: dict[str, Any]) -> dict[str, Any]:
        labels = obj["metadata"].setdefault("labels", {})
        labels["n"] = str(int(labels.get("n", "0")) + 1)
        return obj

    await asyncio.gather(*(kube.modify(r.SECRETS, "counter", "default", bump, attempts=50) for _ in range(10)))
    final = await kube.get(r.SECRETS, "counter", "default")
    assert final is not None and final["metadata"]["labels"]["n"] == "10"
    assert await kube.modify(r.SECRETS, "absent", "default", bump) is None
    assert await kube.modify(r.SECRETS, "counter", "default", lambda obj: None) == final


# -- patches, apply, status ----------------------------------------------------------------------------


async def test_merge_json_and_strategic_patches(kube: kube_client.Client) -> None:
    await kube.create(r.SECRETS, secret("s1", a="1", b="2"), "default")
    merged = await kube.patch_merge(r.SECRETS, "s1", {"metadata": {"labels": {"a": None, "c": "3"}}}, "default")
    assert merged["metadata"]["labels"] == {"b": "2", "c": "3"}
    patched = await kube.patch_json(r.SECRETS, "s1", [
        {"op": "test", "path": "/metadata/resourceVersion", "value": merged["metadata"]["resourceVersion"]},
        {"op": "add", "path": "/metadata/annotations", "value": {"x": "y"}},
    ], "default")
    assert patched["metadata"]["annotations"] == {"x": "y"}
    with pytest.raises(errors.Invalid):
        await kube.patch_json(r.SECRETS, "s1", [{"op": "test", "path": "/metadata/resourceVersion",
                                                  "value": "1"}], "default")
    strategic = await kube.patch_strategic(r.SECRETS, "s1", {"metadata": {"labels": {"d": "4"}}}, "default")
    assert strategic["metadata"]["labels"] == {"b": "2", "c": "3", "d": "4"}
    with pytest.raises(errors.NotFound):
        await kube.patch_merge(r.SECRETS, "ghost", {"metadata": {"labels": {"a": "1"}}}, "default")


async def test_merge_patch_with_a_stale_resource_version_is_conflict(kube: kube_client.Client) -> None:
    created = await kube.create(r.SECRETS, secret("s1"), "default")
    await kube.patch_merge(r.SECRETS, "s1", {"metadata": {"labels": {"a": "1"}}}, "default")
    with pytest.raises(errors.Conflict):
        await kube.patch_merge(r.SECRETS, "s1", {"metadata": {"resourceVersion": created["metadata"]["resourceVersion"],
                                                              "labels": {"a": "2"}}}, "default")


async def test_server_side_apply_creates_then_updates_with_a_field_manager(kube: kube_client.Client) -> None:
    manager = "cert-manager-certificates-issuing"
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": "tls", "namespace": "default",
                         "labels": {"controller.cert-manager.io/fao": "true"}},
            "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"}}
    created = await kube.apply(r.SECRETS, body, field_manager=manager, force=True)
    assert created["type"] == "kubernetes.io/tls"
    managers = {m["manager"] for m in created["metadata"].get("managedFields") or ()}
    assert manager in managers
    body["data"]["ca.crt"] = "Y2E="
    updated = await kube.apply(r.SECRETS, body, field_manager=manager, force=True)
    assert set(updated["data"]) == {"tls.crt", "tls.key", "ca.crt"}
    assert kube.calls[("apply", "secrets")] == 2


async def test_apply_without_a_name_is_a_value_error(kube: kube_client.Client) -> None:
    with pytest.raises(ValueError, match=r"metadata\.name"):
        await kube.apply(r.SECRETS, {"metadata": {}}, "default", field_manager="x")


async def test_strategic_patch_on_a_custom_resource_is_unsupported(kube: kube_client.Client) -> None:
    await install_crd(kube, "certificates.cert-manager.io")
    await kube.create(r.CERTIFICATES, certificate("web"), "default")
    with pytest.raises(errors.UnsupportedMediaType):
        await kube.patch_strategic(r.CERTIFICATES, "web", {"spec": {"commonName": "x"}}, "default")


async def test_status_subresource(kube: kube_client.Client) -> None:
    await install_crd(kube, "certificates.cert-manager.io")
    created = await kube.create(r.CERTIFICATES, certificate("web"), "default")
    assert "status" not in created or not created["status"]
    ready = {"conditions": [{"type": "Ready", "status": "False", "reason": "DoesNotExist",
                             "message": "Issuing certificate as Secret does not exist"}]}
    patched = await kube.patch_status(r.CERTIFICATES, "web", {"status": ready}, "default")
    assert patched["status"]["conditions"][0]["reason"] == "DoesNotExist"
    assert kube.calls[("patch", "certificates.cert-manager.io/status")] == 1
    patched["status"]["conditions"][0]["status"] = "True"
    patched["spec"]["commonName"] = "ignored.example.com"
    replaced = await kube.replace_status(r.CERTIFICATES, patched)
    assert replaced["status"]["conditions"][0]["status"] == "True"
    assert replaced["spec"]["commonName"] == "example.com", "/status ignores spec"
    with pytest.raises(errors.Conflict):
        await kube.replace_status(r.CERTIFICATES, patched)
    # the main endpoint ignores status
    replaced["status"] = {"conditions": []}
    again = await kube.replace(r.CERTIFICATES, replaced)
    assert again["status"]["conditions"][0]["status"] == "True"
    listed = await kube.list(r.CERTIFICATES)
    assert [(i["kind"], i["metadata"]["name"]) for i in listed.items] == [("Certificate", "web")]


async def test_cluster_scoped_resources(kube: kube_client.Client) -> None:
    await install_crd(kube, "clusterissuers.cert-manager.io")
    made = await kube.create(r.CLUSTER_ISSUERS, {"metadata": {"name": "selfsigned"}, "spec": {"selfSigned": {}}})
    assert "namespace" not in made["metadata"]
    assert (await kube.get(r.CLUSTER_ISSUERS, "selfsigned")) is not None
    assert await kube.delete(r.CLUSTER_ISSUERS, "selfsigned")


# -- delete --------------------------------------------------------------------------------------------


async def test_delete_and_its_preconditions(kube: kube_client.Client) -> None:
    created = await kube.create(r.SECRETS, secret("s1"), "default")
    assert not await kube.delete(r.SECRETS, "ghost", "default")
    with pytest.raises(errors.Conflict, match="the UID in the precondition"):
        await kube.delete(r.SECRETS, "s1", "default", uid="not-the-uid")
    assert await kube.delete(r.SECRETS, "s1", "default", dry_run=True)
    assert await kube.get(r.SECRETS, "s1", "default") is not None
    assert await kube.delete(r.SECRETS, "s1", "default", uid=created["metadata"]["uid"],
                             resource_version=created["metadata"]["resourceVersion"],
                             propagation_policy="Background")
    assert await kube.get(r.SECRETS, "s1", "default") is None
    assert not await kube.delete(r.SECRETS, "s1", "default")


async def test_delete_with_finalizers_keeps_the_object_until_they_are_removed(kube: kube_client.Client) -> None:
    await install_crd(kube, "certificates.cert-manager.io")
    body = certificate("web")
    body["metadata"]["finalizers"] = ["issuer.example.com/cleanup"]
    await kube.create(r.CERTIFICATES, body, "default")
    assert await kube.delete(r.CERTIFICATES, "web", "default", propagation_policy="Foreground")
    lingering = await kube.get(r.CERTIFICATES, "web", "default")
    assert lingering is not None and lingering["metadata"]["deletionTimestamp"]
    await kube.patch_merge(r.CERTIFICATES, "web", {"metadata": {"finalizers": None}}, "default")
    assert await kube.get(r.CERTIFICATES, "web", "default") is None


# -- list ----------------------------------------------------------------------------------------------


async def test_list_pages_selectors_and_types(kube: kube_client.Client) -> None:
    for i in range(7):
        await kube.create(r.SECRETS, secret(f"s{i}", parity=str(i % 2)), "default")
    await kube.create(r.SECRETS, secret("other"), "kube-system")
    kube.reset_calls()
    page = await kube.list(r.SECRETS, "default", page_size=3)
    assert [i["metadata"]["name"] for i in page.items] == [f"s{i}" for i in range(7)]
    assert kube.calls == {("list", "secrets"): 3}
    assert all(i["apiVersion"] == "v1" and i["kind"] == "Secret" for i in page.items)
    assert int(page.resource_version) > 0
    odd = await kube.list(r.SECRETS, "default", label_selector="parity=1")
    assert [i["metadata"]["name"] for i in odd.items] == ["s1", "s3", "s5"]
    named = await kube.list(r.SECRETS, field_selector="metadata.name=other")
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in named.items] == [("kube-system", "other")]
    everywhere = await kube.list(r.SECRETS)
    assert len(everywhere.items) == 8
    with pytest.raises(errors.BadRequest):
        await kube.list(r.SECRETS, field_selector="spec.nope=1")


async def test_list_restarts_when_the_continue_token_expires(apiserver_factory: ServerFactory) -> None:
    srv = await apiserver_factory(history_window=3)
    async with kube_client.Client(config.ClusterConfig.for_url(srv.url)) as kube:
        for i in range(5):
            await kube.create(r.SECRETS, secret(f"s{i}"), "default")
        real = kube._json
        churned = False

        async def churn_before_second_page(*args: Any, **kwargs: Any) -> dict[str, Any]:
            nonlocal churned
            if not churned and any(k == "continue" for k, _ in kwargs.get("params", ())):
                churned = True
                for i in range(5):  # push the snapshot out of the history window
                    await kube.patch_merge(r.SECRETS, f"s{i}", {"metadata": {"labels": {"x": "1"}}}, "default")
            return await real(*args, **kwargs)

        kube._json = churn_before_second_page  # type: ignore[method-assign]
        listed = await kube.list(r.SECRETS, "default", page_size=2)
        assert churned
        assert [i["metadata"]["name"] for i in listed.items] == [f"s{i}" for i in range(5)]
        assert all(i["metadata"]["labels"] == {"x": "1"} for i in listed.items)
        assert kube.calls[("list", "secrets")] == 3, "page 1, the expired page 2, then one unpaginated list"


# -- watch ---------------------------------------------------------------------------------------------


async def test_watch_from_a_list_sees_later_changes(kube: kube_client.Client) -> None:
    await kube.create(r.SECRETS, secret("before"), "default")
    listed = await kube.list(r.SECRETS, "default")
    seen: list[tuple[str, str]] = []

    async def consume() -> None:
        async with contextlib.aclosing(kube.watch(r.SECRETS, "default", resource_version=listed.resource_version,
                                                  allow_bookmarks=False)) as stream:
            async for type_, obj in stream:
                seen.append((type_, obj["metadata"]["name"]))
                if type_ == "DELETED":
                    return

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    await kube.create(r.SECRETS, secret("s1"), "default")
    await kube.patch_merge(r.SECRETS, "s1", {"metadata": {"labels": {"a": "b"}}}, "default")
    await kube.delete(r.SECRETS, "s1", "default")
    await asyncio.wait_for(task, 5)
    assert seen == [("ADDED", "s1"), ("MODIFIED", "s1"), ("DELETED", "s1")]


async def test_watch_without_resource_version_starts_with_current_objects(kube: kube_client.Client) -> None:
    for i in range(3):
        await kube.create(r.SECRETS, secret(f"s{i}", app="x" if i else "y"), "default")
    names = [obj["metadata"]["name"]
             async for _, obj in kube.watch(r.SECRETS, "default", label_selector="app=x", timeout_seconds=1)]
    assert names == ["s1", "s2"]


async def test_watch_too_old_resource_version_raises_gone(apiserver_factory: ServerFactory) -> None:
    srv = await apiserver_factory(history_window=2)
    async with kube_client.Client(config.ClusterConfig.for_url(srv.url)) as kube:
        first = await kube.create(r.SECRETS, secret("s0"), "default")
        for i in range(1, 6):
            await kube.create(r.SECRETS, secret(f"s{i}"), "default")
        with pytest.raises(errors.Gone) as exc_info:
            async for _ in kube.watch(r.SECRETS, "default", resource_version=first["metadata"]["resourceVersion"]):
                pass
        assert exc_info.value.status == 410
        assert isinstance(exc_info.value, errors.Retryable)
        assert "too old resource version" in str(exc_info.value)


async def test_watch_bookmarks_and_timeout(apiserver_factory: ServerFactory) -> None:
    srv = await apiserver_factory(bookmark_period=0.1)
    async with kube_client.Client(config.ClusterConfig.for_url(srv.url)) as kube:
        listed = await kube.list(r.SECRETS, "default")
        started = time.monotonic()
        events = [e async for e in kube.watch(r.SECRETS, "default", resource_version=listed.resource_version,
                                              timeout_seconds=1)]
        assert 0.9 < time.monotonic() - started < 3
        assert events and {e.type for e in events} == {"BOOKMARK"}
        assert events[0].object["metadata"]["resourceVersion"]


async def test_watch_with_initial_events_ends_them_with_a_bookmark(kube: kube_client.Client) -> None:
    for i in range(2):
        await kube.create(r.SECRETS, secret(f"s{i}"), "default")
    got = [e async for e in kube.watch(r.SECRETS, "default", send_initial_events=True, timeout_seconds=1)]
    assert [(e.type, e.object["metadata"].get("name")) for e in got[:2]] == [("ADDED", "s0"), ("ADDED", "s1")]
    assert got[2].type == "BOOKMARK"
    assert got[2].object["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_watch_lines_larger_than_the_stream_buffer(kube: kube_client.Client) -> None:
    big = base64.b64encode(b"x" * 400_000).decode()
    await kube.create(r.SECRETS, {"metadata": {"name": "big"}, "data": {"blob": big}}, "default")
    got = [obj async for _, obj in kube.watch(r.SECRETS, "default", timeout_seconds=1)]
    assert got[0]["data"]["blob"] == big


async def test_watch_stream_dropped_is_a_transport_error(apiserver: EmbeddedAPIServer,
                                                         kube: kube_client.Client) -> None:
    for i in range(3):
        await kube.create(r.SECRETS, secret(f"s{i}"), "default")
    apiserver.faults.add(Fault(verb="watch", resource="secrets", drop_after=1, times=1))
    with pytest.raises(errors.TransportError):
        async for _ in kube.watch(r.SECRETS, "default", timeout_seconds=5):
            pass


async def test_watch_closed_early_returns_its_connection(kube: kube_client.Client) -> None:
    await kube.create(r.SECRETS, secret("s1"), "default")
    for _ in range(kube.pool_limit + 5):
        async with contextlib.aclosing(kube.watch(r.SECRETS, "default")) as stream:
            async for _ in stream:
                break
    assert await kube.get(r.SECRETS, "s1", "default") is not None


# -- events --------------------------------------------------------------------------------------------


async def test_post_event_creates_then_aggregates_repeats(kube: kube_client.Client) -> None:
    await install_crd(kube, "certificates.cert-manager.io")
    cert = await kube.create(r.CERTIFICATES, certificate("web"), "default")
    component = "cert-manager-certificates-trigger"
    first = await kube.post_event(cert, "Normal", "Issuing", "Issuing certificate as Secret does not exist",
                                  component)
    assert first["count"] == 1
    assert first["source"]["component"] == component and first["reportingComponent"] == component
    assert first["involvedObject"]["uid"] == cert["metadata"]["uid"]
    assert first["involvedObject"]["kind"] == "Certificate"
    assert first["firstTimestamp"] == first["lastTimestamp"]
    second = await kube.post_event(cert, "Normal", "Issuing", "Issuing certificate as Secret does not exist",
                                   component)
    assert second["metadata"]["name"] == first["metadata"]["name"]
    assert second["count"] == 2
    other = await kube.post_event(cert, "Warning", "Failed", "boom", component)
    assert other["metadata"]["name"] != first["metadata"]["name"]
    listed = await kube.list(r.EVENTS, "default", field_selector=f"involvedObject.uid={cert['metadata']['uid']}")
    assert sorted((e["reason"], e["count"]) for e in listed.items) == [("Failed", 1), ("Issuing", 2)]
    assert kube.calls[("create", "events")] == 2 and kube.calls[("patch", "events")] == 1


async def test_concurrent_repeats_fold_into_one_event(kube: kube_client.Client) -> None:
    ref = {"apiVersion": "v1", "kind": "Secret", "name": "s1", "namespace": "default", "uid": "u1"}
    await asyncio.gather(*(kube.post_event(ref, "Normal", "Same", "same message", "c") for _ in range(10)))
    listed = await kube.list(r.EVENTS, "default")
    assert [e["count"] for e in listed.items] == [10]


async def test_a_deleted_event_is_created_again(kube: kube_client.Client) -> None:
    ref = {"apiVersion": "v1", "kind": "Secret", "name": "s1", "namespace": "default", "uid": "u1"}
    first = await kube.post_event(ref, "Normal", "R", "m", "c")
    await kube.delete(r.EVENTS, first["metadata"]["name"], "default")
    again = await kube.post_event(ref, "Normal", "R", "m", "c")
    assert again["count"] == 1 and again["metadata"]["name"] != first["metadata"]["name"]


async def test_events_about_cluster_scoped_objects_go_to_default(kube: kube_client.Client) -> None:
    ref = {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "name": "ca", "uid": "u2"}
    made = await kube.post_event(ref, "Normal", "KeyPairVerified", "Signing CA verified", "cert-manager-issuers")
    assert made["metadata"]["namespace"] == "default"


# -- failures, retries, limits -------------------------------------------------------------------------


async def test_server_errors_are_retryable(apiserver: EmbeddedAPIServer, kube: kube_client.Client) -> None:
    apiserver.faults.add(Fault(verb="get", resource="secrets", status=503, times=1))
    with pytest.raises(errors.ServerError) as exc_info:
        await kube.get(r.SECRETS, "s1", "default")
    assert exc_info.value.status == 503 and exc_info.value.delay > 0


async def test_429_with_retry_after_is_retried_transparently(apiserver: EmbeddedAPIServer,
                                                             kube: kube_client.Client) -> None:
    await kube.create(r.SECRETS, secret("s1"), "default")
    apiserver.faults.add(Fault(verb="patch", resource="secrets", status=429, retry_after=0, times=2))
    patched = await kube.patch_merge(r.SECRETS, "s1", {"metadata": {"labels": {"a": "1"}}}, "default")
    assert patched["metadata"]["labels"] == {"a": "1"}
    assert kube.calls[("patch", "secrets")] == 3


async def test_429_that_persists_is_too_many_requests(apiserver: EmbeddedAPIServer,
                                                      kube: kube_client.Client) -> None:
    apiserver.faults.add(Fault(verb="get", resource="secrets", status=429, retry_after=0))
    with pytest.raises(errors.TooManyRequests) as exc_info:
        await kube.get(r.SECRETS, "s1", "default")
    assert exc_info.value.delay == 0
    assert kube.calls[("get", "secrets")] == kube.max_retries + 1


async def test_a_long_retry_after_is_left_to_the_caller(apiserver: EmbeddedAPIServer,
                                                         kube: kube_client.Client) -> None:
    apiserver.faults.add(Fault(verb="get", resource="secrets", status=429, retry_after=60, times=1))
    started = time.monotonic()
    with pytest.raises(errors.TooManyRequests) as exc_info:
        await kube.get(r.SECRETS, "s1", "default")
    assert time.monotonic() - started < 1
    assert exc_info.value.delay == 60
    assert kube.calls[("get", "secrets")] == 1


async def test_refused_connections_are_retried_then_transport_errors(apiserver: EmbeddedAPIServer) -> None:
    cluster = config.ClusterConfig.for_url(apiserver.url)
    async with kube_client.Client(cluster, max_retries=8) as kube:
        await kube.create(r.SECRETS, secret("s1"), "default")
        await apiserver.refuse_connections(0.3)
        assert await kube.get(r.SECRETS, "s1", "default") is not None
        assert kube.calls[("get", "secrets")] > 1
    async with kube_client.Client(cluster, max_retries=1) as kube:
        await apiserver.refuse_connections(2.0)
        with pytest.raises(errors.TransportError):
            await kube.get(r.SECRETS, "s1", "default")


async def test_nothing_listening_is_a_transport_error() -> None:
    async with kube_client.Client(config.ClusterConfig.for_url("http://127.0.0.1:9"), max_retries=0) as kube:
        with pytest.raises(errors.TransportError) as exc_info:
            await kube.get(r.SECRETS, "s1", "default")
    assert exc_info.value.status is None and isinstance(exc_info.value, errors.Retryable)


async def test_slow_answers_time_out(apiserver: EmbeddedAPIServer) -> None:
    apiserver.faults.add(Fault(verb="get", resource="secrets", delay=2.0, times=1))
    async with kube_client.Client(config.ClusterConfig.for_url(apiserver.url), timeout=0.2) as kube:
        with pytest.raises(errors.TransportError):
            await kube.get(r.SECRETS, "s1", "default")


async def test_mutating_call_counter(kube: kube_client.Client) -> None:
    await kube.create(r.SECRETS, secret("s1"), "default")
    await kube.get(r.SECRETS, "s1", "default")
    await kube.patch_merge(r.SECRETS, "s1", {"metadata": {"labels": {"a": "1"}}}, "default")
    await kube.list(r.SECRETS, "default")
    await kube.delete(r.SECRETS, "s1", "default")
    assert kube.mutating_calls() == 3
    assert kube.mutating_calls("secrets") == 3
    assert kube.mutating_calls("events") == 0
    kube.reset_calls()
    assert kube.calls == {}


async def test_qps_limit_spaces_requests(apiserver: EmbeddedAPIServer) -> None:
    async with kube_client.Client(config.ClusterConfig.for_url(apiserver.url), qps=20, burst=2) as kube:
        started = time.monotonic()
        await asyncio.gather(*(kube.get(r.SECRETS, "s", "default") for _ in range(12)))
        assert time.monotonic() - started >= 0.45  # 2 at once, then 10 at 20/s


async def test_closed_client_refuses_work(apiserver: EmbeddedAPIServer) -> None:
    kube = kube_client.Client(config.ClusterConfig.for_url(apiserver.url))
    await kube.get(r.SECRETS, "s", "default")
    await kube.close()
    await kube.close()
    with pytest.raises(RuntimeError, match="closed"):
        await kube.get(r.SECRETS, "s", "default")


async def test_throughput_with_a_shared_pool(kube: kube_client.Client) -> None:
    await kube.create(r.SECRETS, secret("s1"), "default")
    started = time.monotonic()
    await asyncio.gather(*(kube.get(r.SECRETS, "s1", "default") for _ in range(500)))
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"500 GETs took {elapsed:.1f}s"


# -- informer ------------------------------------------------------------------------------------------


async def test_informer_follows_changes_through_broken_streams_and_gone(
        apiserver_factory: ServerFactory) -> None:
    srv = await apiserver_factory(history_window=3)
    async with kube_client.Client(config.ClusterConfig.for_url(srv.url)) as kube:
        for i in range(3):
            await kube.create(r.SECRETS, secret(f"s{i}"), "default")
        inf = informer.Informer(kube, r.SECRETS, "default", watch_timeout=1)
        seen: list[tuple[str, str]] = []

        async def consume() -> None:
            async for type_, obj in inf.events():
                seen.append((type_, obj["metadata"]["name"]))

        # the first watch breaks after one event: the informer must re-watch from there, not re-list
        srv.faults.add(Fault(verb="watch", resource="secrets", drop_after=1, times=1))
        task = asyncio.create_task(consume())
        try:
            await asyncio.wait_for(inf.synced.wait(), 5)
            assert sorted(seen) == [("ADDED", "s0"), ("ADDED", "s1"), ("ADDED", "s2")]
            await kube.create(r.SECRETS, secret("s3"), "default")
            await kube.delete(r.SECRETS, "s0", "default")
            await wait_until(lambda: ("DELETED", "s0") in seen, 5)
            assert seen[3:] == [("ADDED", "s3"), ("DELETED", "s0")]
            assert inf.relists == 1

            # the 1 s watch ends; re-watching fails a few times; meanwhile the history moves on -> 410 -> relist
            srv.faults.add(Fault(verb="watch", resource="secrets", status=503, times=3))
            await wait_until(lambda: srv.request_log.tally(verb="watch", resource="secrets") >= 3
                             and srv.request_log[-1].status == 503, 5)
            mark = len(seen)
            await kube.patch_merge(r.SECRETS, "s1", {"metadata": {"labels": {"x": "1"}}}, "default")
            await kube.delete(r.SECRETS, "s2", "default")
            await kube.create(r.SECRETS, secret("s4"), "default")
            await kube.create(r.SECRETS, secret("s5"), "default")
            await wait_until(lambda: inf.relists == 2 and len(seen) >= mark + 4, 10)
            assert sorted(seen[mark:]) == [("ADDED", "s4"), ("ADDED", "s5"), ("DELETED", "s2"), ("MODIFIED", "s1")]
            cached = {name: obj["metadata"]["resourceVersion"] for (_, name), obj in inf.cache.items()}
            assert cached == await _names(kube)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _names(kube: kube_client.Client) -> dict[str, str]:
    listed = await kube.list(r.SECRETS, "default")
    return {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in listed.items}


async def wait_until(predicate: Callable[[], bool], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


# -- TLS, as against a real cluster --------------------------------------------------------------------


def _tls_material(tmp_path: pathlib.Path) -> dict[str, bytes]:
    """A CA, a server certificate for kubernetes.default.svc only, and a client certificate, as PEM."""
    now = datetime.datetime.now(datetime.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("test-ca")).issuer_name(name("test-ca"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))

    def leaf(cn: str, usage: x509.ObjectIdentifier, san: str | None) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                  critical=False))
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), pem_key(key)

    server_crt, server_key = leaf("apiserver", ExtendedKeyUsageOID.SERVER_AUTH, "kubernetes.default.svc")
    client_crt, client_key = leaf("system:issuer", ExtendedKeyUsageOID.CLIENT_AUTH, None)
    return {"ca": ca.public_bytes(serialization.Encoding.PEM), "server_crt": server_crt, "server_key": server_key,
            "client_crt": client_crt, "client_key": client_key}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@contextlib.asynccontextmanager
async def _tls_server(tmp_path: pathlib.Path, pem: dict[str, bytes]) -> AsyncIterator[str]:
    """A tiny HTTPS server requiring a client certificate; GET answers what it saw as a JSON object."""
    for key, data in pem.items():
        (tmp_path / key).write_bytes(data)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tmp_path / "ca"))
    context.load_cert_chain(str(tmp_path / "server_crt"), str(tmp_path / "server_key"))
    context.verify_mode = ssl.CERT_REQUIRED

    async def echo(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        subject = dict(x[0] for x in (peer or {}).get("subject", ()))
        return web.json_response({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "x"},
                                  "authorization": request.headers.get("Authorization", ""),
                                  "client": subject.get("commonName", "")})

    app = web.Application()
    app.router.add_get("/{tail:.*}", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_https_with_client_certificate_token_and_tls_server_name(tmp_path: pathlib.Path) -> None:
    pem = _tls_material(tmp_path)
    async with _tls_server(tmp_path, pem) as url:
        doc: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
               "clusters": [{"name": "c", "cluster": {"server": url, "certificate-authority-data": _b64(pem["ca"]),
                                                      "tls-server-name": "kubernetes.default.svc"}}],
               "users": [{"name": "u", "user": {"client-certificate-data": _b64(pem["client_crt"]),
                                                "client-key-data": _b64(pem["client_key"]), "token": "t0k"}}],
               "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}
        (tmp_path / "kubeconfig").write_text(yaml.safe_dump(doc))
        async with kube_client.Client(config.load_kubeconfig(tmp_path / "kubeconfig"), max_retries=0) as kube:
            got = await kube.get(r.SECRETS, "x", "default")
        assert got is not None
        assert got["authorization"] == "Bearer t0k"
        assert got["client"] == "system:issuer"

        # without tls-server-name the certificate (for kubernetes.default.svc) does not match 127.0.0.1
        del doc["clusters"][0]["cluster"]["tls-server-name"]
        (tmp_path / "kubeconfig").write_text(yaml.safe_dump(doc))
        async with kube_client.Client(config.load_kubeconfig(tmp_path / "kubeconfig"), max_retries=0) as kube:
            with pytest.raises(errors.TransportError):
                await kube.get(r.SECRETS, "x", "default")

        # insecure-skip-tls-verify accepts it (and an unknown CA)
        cluster = doc["clusters"][0]["cluster"]
        del cluster["certificate-authority-data"]
        cluster["insecure-skip-tls-verify"] = True
        (tmp_path / "kubeconfig").write_text(yaml.safe_dump(doc))
        async with kube_client.Client(config.load_kubeconfig(tmp_path / "kubeconfig"), max_retries=0) as kube:
            assert await kube.get(r.SECRETS, "x", "default") is not None
