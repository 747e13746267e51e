"""Event building and folding (`issuer.kube.events`): which posts count as the same event, the Event
body client-go would write, and the correlator's time window and size bound."""

from __future__ import annotations

import datetime

import pytest

from issuer.kube import events

NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC)
CERT = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": "web", "namespace": "team-a", "uid": "u-1", "resourceVersion": "41"}}
REF = events.involved_reference(CERT)
KEY = events.event_key(REF, "Normal", "Issuing", "Issuing certificate as Secret does not exist", "cert-manager-x")


def test_reference_names_the_object() -> None:
    assert REF == {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "name": "web",
                   "namespace": "team-a", "uid": "u-1", "resourceVersion": "41"}


def test_reference_to_a_cluster_scoped_object_has_no_namespace() -> None:
    ref = events.involved_reference({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer",
                                     "metadata": {"name": "ca", "uid": "u-2"}})
    assert "namespace" not in ref
    assert events.event_namespace(ref) == "default"


@pytest.mark.parametrize(("change", "same"), [
    pytest.param({}, True, id="an identical post is the same event"),
    pytest.param({"resourceVersion": "42"}, True, id="a newer resourceVersion of the object is the same event"),
    pytest.param({"uid": "u-9"}, False, id="a recreated object (new uid) is another event"),
    pytest.param({"name": "api"}, False, id="another object is another event"),
    pytest.param({"namespace": "team-b"}, False, id="another namespace is another event"),
    pytest.param({"kind": "CertificateRequest"}, False, id="another kind is another event"),
])
def test_keys_by_object(change: dict[str, str], same: bool) -> None:
    key = events.event_key({**REF, **change}, "Normal", "Issuing", "Issuing certificate as Secret does not exist",
                           "cert-manager-x")
    assert (key == KEY) is same


@pytest.mark.parametrize(("type_", "reason", "message", "component"), [
    pytest.param("Warning", "Issuing", "Issuing certificate as Secret does not exist", "cert-manager-x", id="type"),
    pytest.param("Normal", "Reused", "Issuing certificate as Secret does not exist", "cert-manager-x", id="reason"),
    pytest.param("Normal", "Issuing", "The certificate has been successfully issued", "cert-manager-x",
                 id="message"),
    pytest.param("Normal", "Issuing", "Issuing certificate as Secret does not exist", "cert-manager-y",
                 id="component"),
    pytest.param("Normal", "Issuing\x00Issuing", " certificate as Secret does not exist", "cert-manager-x",
                 id="reason and message boundaries cannot collide"),
])
def test_keys_differ_by_each_event_field(type_: str, reason: str, message: str, component: str) -> None:
    assert events.event_key(REF, type_, reason, message, component) != KEY


def test_event_body_matches_client_go() -> None:
    body = events.build(REF, "Normal", "Issuing", "hello", "cert-manager-certificates-trigger", now=NOW,
                        host="pod-1")
    assert body == {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"web.{1767323045678901000:x}", "namespace": "team-a"},
        "involvedObject": REF, "type": "Normal", "reason": "Issuing", "message": "hello", "count": 1,
        "firstTimestamp": "2026-01-02T03:04:05Z", "lastTimestamp": "2026-01-02T03:04:05Z",
        "source": {"component": "cert-manager-certificates-trigger", "host": "pod-1"},
        "reportingComponent": "cert-manager-certificates-trigger", "reportingInstance": "pod-1",
    }


def test_event_names_in_the_same_microsecond_differ_by_sequence() -> None:
    assert events.event_name(REF, NOW, 1) != events.event_name(REF, NOW, 2)


def test_long_messages_are_cut() -> None:
    body = events.build(REF, "Warning", "Failed", "x" * 5000, "c", now=NOW)
    assert len(body["message"]) == events.MAX_MESSAGE


def test_repeat_patch() -> None:
    assert events.repeat_patch(3, NOW) == {"count": 3, "lastTimestamp": "2026-01-02T03:04:05Z"}


def test_correlator_folds_repeats_inside_the_window() -> None:
    corr = events.Correlator(window=10.0)
    assert corr.lookup(KEY, 100.0) is None
    corr.remember(KEY, "team-a", "web.1", 1, 100.0)
    seen = corr.lookup(KEY, 109.0)
    assert seen is not None
    assert (seen.namespace, seen.name, seen.count) == ("team-a", "web.1", 1)
    corr.remember(KEY, "team-a", "web.1", 2, 109.0)
    assert corr.lookup(KEY, 118.0) is not None, "the window slides with the last occurrence"


def test_correlator_forgets_after_the_window() -> None:
    corr = events.Correlator(window=10.0)
    corr.remember(KEY, "team-a", "web.1", 1, 100.0)
    assert corr.lookup(KEY, 110.5) is None
    assert len(corr) == 0


def test_correlator_is_bounded() -> None:
    corr = events.Correlator(window=10.0, max_entries=2)
    keys = [events.event_key(REF, "Normal", "R", str(i), "c") for i in range(3)]
    for i, key in enumerate(keys):
        corr.remember(key, "ns", f"e{i}", 1, 100.0)
    assert len(corr) == 2
    assert corr.lookup(keys[0], 100.0) is None
    assert corr.lookup(keys[2], 100.0) is not None


def test_forget() -> None:
    corr = events.Correlator()
    corr.remember(KEY, "team-a", "web.1", 1, 0.0)
    corr.forget(KEY)
    corr.forget(KEY)
    assert corr.lookup(KEY, 0.0) is None
