"""Post-issuance drift of the Secret's managed metadata (found by tests/controller/test_lifecycle.py): a
tampered certificate-detail annotation (cert-manager's SecretCertificateDetailsAnnotationsMismatch) or a
removed `controller.cert-manager.io/fao` label gets the Secret re-applied, never a new certificate."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest

from issuer import policies
from issuer.controllers import certificates, issuing
from issuer.pki import secret as secret_mod
from tests.unit.test_loop_breaker import (
    NOW,
    NS,
    OPTIONS,
    SECRET,
    certificate,
    issued_status,
    key,
    key_pem,
    leaf,
    request,
)

DNS = ["a.example.com", "b.example.com"]


def snapshot(annotations: dict[str, str | None], labels: dict[str, str | None]) -> certificates.Snapshot:
    k = key(7)
    pem = leaf(k, DNS)
    cert = certificate(issued_status(1, NOW - dt.timedelta(hours=1)))
    cr = request(1, k, pem, reason="DoesNotExist", issued_at=NOW - dt.timedelta(hours=1))
    wanted: dict[str, Any] = secret_mod.secret_annotations(cert, cr.spec.issuer_ref, pem)
    wanted_labels: dict[str, Any] = {"controller.cert-manager.io/fao": "true"}
    fields = {"f:metadata": {"f:annotations": {f"f:{a}": {} for a in wanted},
                             "f:labels": {f"f:{lab}": {} for lab in wanted_labels}},
              "f:data": {"f:tls.crt": {}, "f:tls.key": {}}}
    wanted.update(annotations)
    wanted_labels.update(labels)
    view = policies.SecretView.from_wire({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": SECRET, "namespace": NS,
                     "annotations": {a: v for a, v in wanted.items() if v is not None},
                     "labels": {lab: v for lab, v in wanted_labels.items() if v is not None},
                     "managedFields": [{"manager": issuing.FIELD_MANAGER, "operation": "Apply",
                                        "fieldsType": "FieldsV1", "fieldsV1": fields}]},
        "data": {"tls.crt": base64.b64encode(pem).decode(), "tls.key": base64.b64encode(key_pem(k)).decode()},
    })
    return certificates.Snapshot(cert, view, (cr,))


@pytest.mark.parametrize(
    ("annotations", "labels", "reapplied"),
    [
        ({}, {}, False),
        ({"cert-manager.io/alt-names": "evil.example.com"}, {}, True),
        ({"cert-manager.io/common-name": "someone"}, {}, True),
        ({}, {"controller.cert-manager.io/fao": None}, True),
        ({}, {"controller.cert-manager.io/fao": "false"}, True),
        ({"example.com/foreign": "kept"}, {"team": "foreign"}, False),
    ],
    ids=["metadata as applied: nothing to do", "alt-names tampered with", "common-name tampered with",
         "the fao label removed", "the fao label set to false", "foreign keys are left alone"],
)
def test_managed_secret_metadata_drift_reapplies_the_secret_without_reissuing(
    annotations: dict[str, str | None], labels: dict[str, str | None], reapplied: bool
) -> None:
    out = certificates.decide(snapshot(annotations, labels), NOW, OPTIONS)
    assert (out.write_secret is not None) == reapplied
    if reapplied:
        assert out.write_secret is not None and out.write_secret.key_secret_name is None  # keep the key
    assert out.create_key is None and out.create_request is None
    issuing_cond = None if out.status is None else next(
        (x for x in out.status.conditions if x.type == "Issuing"), None)
    assert issuing_cond is None

