"""Pure parts of `issuer.kube.client`: parsing watch lines (ERROR events become classified errors) and
filling apiVersion/kind/namespace into request bodies without touching the caller's dict."""

from __future__ import annotations

import json
from typing import Any

import pytest

from issuer.kube import client, errors, resources


def line(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def test_a_watch_line_is_a_type_and_an_object() -> None:
    event = client._watch_event(line({"type": "ADDED", "object": {"metadata": {"name": "a"}}}))
    assert event == ("ADDED", {"metadata": {"name": "a"}})
    type_, obj = event
    assert (type_, obj["metadata"]["name"]) == ("ADDED", "a")


def test_a_410_error_event_is_gone() -> None:
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired", "code": 410,
              "message": "too old resource version: 5 (9)"}
    with pytest.raises(errors.Gone, match="too old resource version"):
        client._watch_event(line({"type": "ERROR", "object": status}))


def test_other_error_events_are_classified() -> None:
    status = {"kind": "Status", "reason": "InternalError", "code": 500, "message": "etcd went away"}
    with pytest.raises(errors.ServerError, match="etcd went away"):
        client._watch_event(line({"type": "ERROR", "object": status}))
    with pytest.raises(errors.ServerError):
        client._watch_event(line({"type": "ERROR", "object": {"kind": "Status"}}))


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"type": "ADDED"}', b'{"object": {}}',
                                 b'{"type": "ADDED", "object": []}'])
def test_garbage_lines_are_transport_errors(raw: bytes) -> None:
    with pytest.raises(errors.TransportError):
        client._watch_event(raw)


def test_bodies_get_type_and_namespace_without_mutating_the_caller() -> None:
    body: dict[str, Any] = {"metadata": {"name": "x"}, "data": {}}
    out = client._with_type(resources.SECRETS, body, "ns")
    assert out == {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x", "namespace": "ns"}, "data": {}}
    assert body == {"metadata": {"name": "x"}, "data": {}}
    cluster = client._with_type(resources.CLUSTER_ISSUERS, {"metadata": {"name": "ca"}}, None)
    assert cluster == {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "ca"}}


def test_write_params() -> None:
    assert client._write_params(True, "mgr") == [("dryRun", "All"), ("fieldManager", "mgr")]
    assert client._write_params(False, None) == []
