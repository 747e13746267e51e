"""`--enable-certificate-owner-ref`: the Secret is owned by its Certificate (and goes with it); an owner
reference removed by someone is put back, without a new certificate. Own API server and operator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.controller import expect
from tests.controller.conftest import Cluster, Operator, assert_no_traceback, make_namespace, running_cluster


@pytest.fixture(scope="module")
def owner_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("owner")) as c:
        c.operator.stop()
        c.operator = Operator(c.kubeconfig, c.tmp / "operator-owner-ref.log", "--enable-certificate-owner-ref")
        c.operator.start()
        c.operator.wait_started()
        yield c


def test_with_certificate_owner_ref_the_secret_is_owned_repaired_and_deleted_with_its_certificate(
    owner_cluster: Cluster,
) -> None:
    c = owner_cluster
    offset = c.operator.log_size()
    ns = make_namespace(c)
    c.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                  "metadata": {"name": "selfsigned", "namespace": ns}, "spec": {"selfSigned": {}}})
    created = c.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                            "metadata": {"name": "owned", "namespace": ns},
                            "spec": {"secretName": "owned-tls", "dnsNames": ["owned.example.com"],
                                     "issuerRef": {"name": "selfsigned"}}})
    cert = c.wait_ready("owned", ns)
    secret = c.must_get("Secret", "owned-tls", ns)
    expect.validate(cert, secret, issuer_type="selfsigned")

    def owners(obj: dict[str, Any]) -> list[tuple[str, str, str, bool, bool]]:
        return [(o["kind"], o["name"], o["uid"], o.get("controller", False), o.get("blockOwnerDeletion", False))
                for o in obj["metadata"].get("ownerReferences") or []]

    assert owners(secret) == [("Certificate", "owned", created["metadata"]["uid"], True, True)]

    c.api.patch("secrets", "owned-tls", ns, {"metadata": {"ownerReferences": None}})
    repaired = c.wait_for("the owner reference put back", lambda: (
        s if owners(s := c.must_get("Secret", "owned-tls", ns)) else None), timeout=15)
    assert owners(repaired) == [("Certificate", "owned", created["metadata"]["uid"], True, True)]
    assert repaired["data"] == secret["data"]
    assert c.wait_ready("owned", ns)["status"]["revision"] == 1

    c.api.delete("certificates", "owned", ns)
    c.wait_for("the Secret deleted with its Certificate", lambda: c.get("Secret", "owned-tls", ns) is None,
               timeout=15)
    assert_no_traceback(c, offset)
