"""Runs last on the shared cluster: after every other test, no user object carries a kopf annotation or
finalizer (kopf's persistence is configured away from user objects; our handlers only observe)."""

from __future__ import annotations

from tests.controller.conftest import Cluster, assert_no_kopf_traces


def test_no_kopf_annotation_or_finalizer_on_any_user_object_of_the_shared_cluster(cluster: Cluster) -> None:
    assert assert_no_kopf_traces(cluster) > 0
