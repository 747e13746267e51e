"""The operator's cache under kopf's per-object event streams: events of two objects with the same name (an
old one deleted, a new one created, as a Certificate replacing its failed CertificateRequest does) arrive in
any order, so a late DELETED of the old one must not drop the new one."""

from __future__ import annotations

from typing import Any, cast

from issuer.kube.client import Client
from issuer.operator import cache as cache_mod
from issuer.operator.runtime import Options, Runtime


def _cr(uid: str, rv: str) -> dict[str, Any]:
    return {"apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
            "metadata": {"name": "web-1", "namespace": "ns", "uid": uid, "resourceVersion": rv}}


async def test_a_late_deleted_of_an_earlier_object_keeps_the_newer_one_of_the_same_name() -> None:
    runtime = Runtime(cast(Client, object()), Options())
    runtime.observe(cache_mod.CERTIFICATE_REQUEST, None, _cr("old", "1"))
    runtime.observe(cache_mod.CERTIFICATE_REQUEST, "ADDED", _cr("new", "3"))
    runtime.observe(cache_mod.CERTIFICATE_REQUEST, "DELETED", _cr("old", "2"))
    kept = runtime.cache.get(cache_mod.CERTIFICATE_REQUEST, "ns", "web-1")
    assert kept is not None and kept["metadata"]["uid"] == "new"
    runtime.observe(cache_mod.CERTIFICATE_REQUEST, "DELETED", _cr("new", "4"))
    assert runtime.cache.get(cache_mod.CERTIFICATE_REQUEST, "ns", "web-1") is None
