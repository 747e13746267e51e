"""A Certificate's life after its first issuance, in real time: renewal at renewalTime, and the re-issuance
triggers of cert-manager's policy chain (inventory §4.3) against what merely needs the Secret re-applied."""

from __future__ import annotations

import base64
import datetime as dt
import time
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.controller import expect
from tests.controller.conftest import Cluster, condition


def make_issuer_and_certificate(c: Cluster, ns: str, name: str, **spec: Any) -> dict[str, Any]:
    c.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                  "metadata": {"name": "selfsigned", "namespace": ns}, "spec": {"selfSigned": {}}})
    body = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": name, "namespace": ns},
            "spec": {"secretName": name + "-tls", "dnsNames": [f"{name}.example.com"],
                     "issuerRef": {"name": "selfsigned"}, **spec}}
    c.api.create(body)
    return c.wait_ready(name, ns)


def leaf_of(c: Cluster, secret: str, ns: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(c.secret_data(secret, ns)["tls.crt"])


def validate(c: Cluster, name: str, ns: str, min_revision: int) -> dict[str, Any]:
    cert = c.wait_ready(name, ns, min_revision=min_revision)
    expect.validate(cert, c.must_get("Secret", name + "-tls", ns), issuer_type="selfsigned")
    return cert


def test_a_certificate_with_renew_before_59m55s_of_1h_renews_within_seconds_and_keeps_one_request(
    cluster: Cluster, ns: str
) -> None:
    first = make_issuer_and_certificate(cluster, ns, "renewing", duration="1h", renewBefore="59m55s")
    serial = leaf_of(cluster, "renewing-tls", ns).serial_number
    not_before = dt.datetime.fromisoformat(first["status"]["notBefore"])
    assert dt.datetime.fromisoformat(first["status"]["renewalTime"]) == not_before + dt.timedelta(seconds=5)

    second = cluster.wait_ready("renewing", ns, timeout=20, min_revision=2)
    # Ready stayed True through the renewal: its lastTransitionTime did not move
    assert (condition(second, "Ready") or {})["lastTransitionTime"] == \
        (condition(first, "Ready") or {})["lastTransitionTime"]
    renewed_at = dt.datetime.now(dt.UTC)
    assert renewed_at - not_before < dt.timedelta(seconds=15), "renewal came late"
    leaf = leaf_of(cluster, "renewing-tls", ns)
    assert leaf.serial_number != serial
    assert second["status"]["notAfter"] == expect.rfc3339(leaf.not_valid_after_utc)
    # the revision manager keeps revisionHistoryLimit (default 1) requests: the old one is deleted
    def only_new_requests() -> list[dict[str, Any]] | None:
        requests = cluster.requests_of("renewing", ns)
        revisions = [int(r["metadata"]["annotations"]["cert-manager.io/certificate-revision"]) for r in requests]
        return requests if revisions and min(revisions) >= 2 else None

    kept = cluster.wait_for("the old CertificateRequest deleted", only_new_requests, timeout=10)
    assert len(kept) == 1, [r["metadata"]["name"] for r in kept]
    events = [e for e in cluster.list("Event", ns) if e["involvedObject"]["name"] == "renewing"]
    assert any(e["reason"] == "Issuing" and e["message"].startswith("Renewing certificate as renewal was scheduled at")
               for e in events), [e["message"] for e in events]
    cluster.api.delete("certificates", "renewing", ns)  # no more renewals


def test_changing_dns_names_issues_a_new_revision(cluster: Cluster, ns: str) -> None:
    make_issuer_and_certificate(cluster, ns, "changed")
    serial = leaf_of(cluster, "changed-tls", ns).serial_number
    cluster.api.patch("certificates", "changed", ns, {"spec": {"dnsNames": ["changed.example.com",
                                                                           "other.example.com"]}})
    cert = validate(cluster, "changed", ns, 2)
    assert cert["status"]["revision"] == 2
    assert leaf_of(cluster, "changed-tls", ns).serial_number != serial
    cluster.wait_requests("changed", ns, ["changed-2"])


def test_a_deleted_secret_is_issued_again(cluster: Cluster, ns: str) -> None:
    make_issuer_and_certificate(cluster, ns, "deleted")
    serial = leaf_of(cluster, "deleted-tls", ns).serial_number
    assert cluster.api.delete("secrets", "deleted-tls", ns)
    cert = validate(cluster, "deleted", ns, 2)
    assert cert["status"]["revision"] == 2
    assert leaf_of(cluster, "deleted-tls", ns).serial_number != serial


def test_a_tampered_private_key_is_noticed_and_the_certificate_issued_again(cluster: Cluster, ns: str) -> None:
    make_issuer_and_certificate(cluster, ns, "tampered", privateKey={"algorithm": "ECDSA"})
    secret = cluster.must_get("Secret", "tampered-tls", ns)
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    secret["data"]["tls.key"] = base64.b64encode(other).decode()
    cluster.api.replace(secret)
    cert = validate(cluster, "tampered", ns, 2)
    assert cert["status"]["revision"] == 2
    data = cluster.secret_data("tampered-tls", ns)
    assert data["tls.key"] != other
    cluster.wait_requests("tampered", ns, ["tampered-2"])


def test_changing_only_secret_template_labels_relabels_the_secret_without_a_new_revision(
    cluster: Cluster, ns: str
) -> None:
    make_issuer_and_certificate(cluster, ns, "relabelled", secretTemplate={"labels": {"team": "a"}})
    before = cluster.must_get("Secret", "relabelled-tls", ns)
    assert before["metadata"]["labels"]["team"] == "a"
    # a label someone else put on the Secret stays (server-side apply, cert-manager's field manager)
    cluster.api.patch("secrets", "relabelled-tls", ns, {"metadata": {"labels": {"foreign": "yes"}}})
    cluster.api.patch("certificates", "relabelled", ns,
                      {"spec": {"secretTemplate": {"labels": {"team": "b", "tier": "web"}}}})

    def relabelled() -> dict[str, Any] | None:
        secret = cluster.must_get("Secret", "relabelled-tls", ns)
        labels = secret["metadata"].get("labels") or {}
        return secret if labels.get("team") == "b" and labels.get("tier") == "web" else None

    after = cluster.wait_for("the Secret relabelled", relabelled, timeout=15)
    cert = cluster.wait_ready("relabelled", ns)
    assert cert["status"]["revision"] == 1
    assert after["data"] == before["data"], "the certificate or key changed"
    assert after["metadata"]["labels"]["foreign"] == "yes"
    assert after["metadata"]["labels"]["controller.cert-manager.io/fao"] == "true"
    assert [r["metadata"]["name"] for r in cluster.requests_of("relabelled", ns)] == ["relabelled-1"]
    expect.validate(cert, after, issuer_type="selfsigned")

    # a template label removed from the spec goes from the Secret (it was cert-manager's); the foreign one stays
    cluster.api.patch("certificates", "relabelled", ns, {"spec": {"secretTemplate": {"labels": {"tier": None}}}})

    def tier_gone() -> dict[str, Any] | None:
        secret = cluster.must_get("Secret", "relabelled-tls", ns)
        return secret if "tier" not in (secret["metadata"].get("labels") or {}) else None

    final = cluster.wait_for("the tier label removed", tier_gone, timeout=15)
    assert final["metadata"]["labels"]["team"] == "b" and final["metadata"]["labels"]["foreign"] == "yes"
    assert cluster.wait_ready("relabelled", ns)["status"]["revision"] == 1


def test_renewal_with_rotation_policy_never_keeps_the_private_key(cluster: Cluster, ns: str) -> None:
    make_issuer_and_certificate(cluster, ns, "kept", duration="1h", renewBefore="59m57s",
                                privateKey={"rotationPolicy": "Never", "algorithm": "ECDSA"})
    before = cluster.secret_data("kept-tls", ns)
    validate(cluster, "kept", ns, 2)
    after = cluster.secret_data("kept-tls", ns)
    assert after["tls.crt"] != before["tls.crt"]
    assert expect.public_key_der(after["tls.key"]) == expect.public_key_der(before["tls.key"])
    events = [e for e in cluster.list("Event", ns) if e["involvedObject"]["name"] == "kept"]
    assert any(e["reason"] == "Reused" for e in events), [e["reason"] for e in events]
    cluster.api.delete("certificates", "kept", ns)


def test_changing_the_key_algorithm_issues_a_new_key_of_that_algorithm(cluster: Cluster, ns: str) -> None:
    make_issuer_and_certificate(cluster, ns, "rekeyed")
    cluster.api.patch("certificates", "rekeyed", ns, {"spec": {"privateKey": {"algorithm": "ECDSA", "size": 384}}})
    validate(cluster, "rekeyed", ns, 2)  # the validator checks the key against the new spec


def test_changing_the_key_algorithm_with_rotation_policy_never_asks_for_intervention(cluster: Cluster,
                                                                                      ns: str) -> None:
    make_issuer_and_certificate(cluster, ns, "stuck", privateKey={"rotationPolicy": "Never"})
    cluster.api.patch("certificates", "stuck", ns, {"spec": {"privateKey": {"algorithm": "ECDSA"}}})
    events = cluster.wait_for("the CannotRegenerateKey warning", lambda: [
        e for e in cluster.list("Event", ns)
        if e["involvedObject"]["name"] == "stuck" and e["reason"] == "CannotRegenerateKey"], timeout=15)
    assert events[0]["type"] == "Warning"
    assert "spec.privateKey.algorithm" in events[0]["message"], events[0]["message"]
    cert = cluster.wait_condition("Certificate", "stuck", ns, "Ready", "False", "SecretMismatch")
    assert cert["status"]["revision"] == 1
    assert [r["metadata"]["name"] for r in cluster.requests_of("stuck", ns)] == ["stuck-1"]


def test_setting_issuing_true_by_hand_renews_as_cmctl_renew_does(cluster: Cluster, ns: str) -> None:
    cert = make_issuer_and_certificate(cluster, ns, "manual")
    serial = leaf_of(cluster, "manual-tls", ns).serial_number
    conditions = cert["status"]["conditions"] + [{
        "type": "Issuing", "status": "True", "reason": "ManuallyTriggered",
        "message": "Certificate re-issuance manually triggered", "lastTransitionTime": expect.rfc3339(
            dt.datetime.now(dt.UTC)), "observedGeneration": cert["metadata"]["generation"]}]
    cluster.api.patch("certificates", "manual", ns, {"status": {"conditions": conditions}}, sub="status")
    validate(cluster, "manual", ns, 2)
    assert leaf_of(cluster, "manual-tls", ns).serial_number != serial


def test_revision_history_limit_3_keeps_the_three_newest_requests(cluster: Cluster, ns: str) -> None:
    make_issuer_and_certificate(cluster, ns, "history", revisionHistoryLimit=3)
    for revision in range(2, 6):
        cluster.api.patch("certificates", "history", ns,
                          {"spec": {"dnsNames": ["history.example.com", f"r{revision}.example.com"]}})
        validate(cluster, "history", ns, revision)

    def three_newest() -> list[str] | None:
        names = [r["metadata"]["name"] for r in cluster.requests_of("history", ns)]
        return names if names == ["history-3", "history-4", "history-5"] else None

    cluster.wait_for("the three newest requests", three_newest, timeout=10)


def test_two_certificates_sharing_a_secret_name_do_not_fight_over_it(cluster: Cluster, ns: str) -> None:
    """cert-manager's rule: only the Secret's owner (annotated, else the oldest) issues; the other one is
    not Ready and never writes the Secret, so there is no ping-pong."""
    make_issuer_and_certificate(cluster, ns, "first")
    cluster.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                        "metadata": {"name": "second", "namespace": ns},
                        "spec": {"secretName": "first-tls", "dnsNames": ["second.example.com"],
                                 "issuerRef": {"name": "selfsigned"}}})
    second = cluster.wait_condition("Certificate", "second", ns, "Ready", "False", "IncorrectCertificate",
                                    timeout=15)
    assert 'Secret was issued for "first"' in (condition(second, "Ready") or {}).get("message", "")
    secret = cluster.must_get("Secret", "first-tls", ns)
    time.sleep(3.0)
    again = cluster.must_get("Secret", "first-tls", ns)
    assert again["metadata"]["resourceVersion"] == secret["metadata"]["resourceVersion"], "the Secret was rewritten"
    assert again["metadata"]["annotations"]["cert-manager.io/certificate-name"] == "first"
    first = cluster.wait_ready("first", ns)
    assert first["status"]["revision"] == 1
    assert not cluster.requests_of("second", ns)


def test_a_spec_change_that_needs_no_new_certificate_updates_observed_generation_and_renewal_time(
    cluster: Cluster, ns: str
) -> None:
    """GitOps health checks (Argo CD, Flux) wait for Ready's observedGeneration to reach the generation."""
    first = make_issuer_and_certificate(cluster, ns, "tuned")
    patched = cluster.api.patch("certificates", "tuned", ns, {"spec": {"renewBefore": "720h"}})
    assert patched["metadata"]["generation"] == first["metadata"]["generation"] + 1
    cert = cluster.wait_ready("tuned", ns)  # waits for observedGeneration >= generation
    assert (condition(cert, "Ready") or {})["observedGeneration"] == patched["metadata"]["generation"]
    not_after = dt.datetime.fromisoformat(cert["status"]["notAfter"])
    assert dt.datetime.fromisoformat(cert["status"]["renewalTime"]) == not_after - dt.timedelta(hours=720)
    assert cert["status"]["revision"] == 1
    assert [r["metadata"]["name"] for r in cluster.requests_of("tuned", ns)] == ["tuned-1"]


def test_managed_secret_metadata_tampered_with_is_restored_without_a_new_revision(cluster: Cluster, ns: str) -> None:
    make_issuer_and_certificate(cluster, ns, "restored")
    before = cluster.must_get("Secret", "restored-tls", ns)
    cluster.api.patch("secrets", "restored-tls", ns, {"metadata": {
        "annotations": {"cert-manager.io/alt-names": "evil.example.com"},
        "labels": {"controller.cert-manager.io/fao": None}}})

    def restored() -> dict[str, Any] | None:
        secret = cluster.must_get("Secret", "restored-tls", ns)
        meta = secret["metadata"]
        ok = (meta.get("annotations") or {}).get("cert-manager.io/alt-names") == "restored.example.com" \
            and (meta.get("labels") or {}).get("controller.cert-manager.io/fao") == "true"
        return secret if ok else None

    after = cluster.wait_for("the Secret's metadata restored", restored, timeout=15)
    assert after["data"] == before["data"]
    cert = cluster.wait_ready("restored", ns)
    assert cert["status"]["revision"] == 1
    expect.validate(cert, after, issuer_type="selfsigned")


def test_additional_output_formats_added_later_are_written_without_a_new_revision(cluster: Cluster, ns: str) -> None:
    make_issuer_and_certificate(cluster, ns, "formats")
    before = cluster.secret_data("formats-tls", ns)
    cluster.api.patch("certificates", "formats", ns,
                      {"spec": {"additionalOutputFormats": [{"type": "DER"}, {"type": "CombinedPEM"}]}})
    cluster.wait_for("key.der and tls-combined.pem", lambda: {"key.der", "tls-combined.pem"} <= set(
        cluster.secret_data("formats-tls", ns)), timeout=15)
    cert = cluster.wait_ready("formats", ns)
    after = cluster.must_get("Secret", "formats-tls", ns)
    assert cert["status"]["revision"] == 1
    assert cluster.secret_data("formats-tls", ns)["tls.crt"] == before["tls.crt"]
    expect.validate(cert, after, issuer_type="selfsigned")
    # and removed again: the keys cert-manager applied go
    cluster.api.patch("certificates", "formats", ns, {"spec": {"additionalOutputFormats": None}})
    cluster.wait_for("key.der and tls-combined.pem removed", lambda: not {"key.der", "tls-combined.pem"} & set(
        cluster.secret_data("formats-tls", ns)), timeout=15)


def test_a_temporary_certificate_is_written_while_the_request_is_pending(cluster: Cluster, ns: str) -> None:
    cluster.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                        "metadata": {"name": "temp", "namespace": ns,
                                     "annotations": {"cert-manager.io/issue-temporary-certificate": "true"}},
                        "spec": {"secretName": "temp-tls", "dnsNames": ["temp.example.com"],
                                 "issuerRef": {"name": "not-there-yet"}}})
    cluster.wait_for("the temporary certificate", lambda: cluster.get("Secret", "temp-tls", ns), timeout=4)
    leaf = leaf_of(cluster, "temp-tls", ns)
    assert leaf.issuer.rfc4514_string() == "CN=cert-manager.local"
    secret = cluster.must_get("Secret", "temp-tls", ns)
    assert secret["type"] == "kubernetes.io/tls"
    assert secret["metadata"]["annotations"] == {"cert-manager.io/certificate-name": "temp"}
    data = cluster.secret_data("temp-tls", ns)
    temp_key = serialization.load_pem_private_key(data["tls.key"], None)
    assert temp_key.public_key().public_numbers() == leaf.public_key().public_numbers()  # type: ignore[union-attr]
    cert = cluster.must_get("Certificate", "temp", ns)
    assert condition(cert, "Issuing")["status"] == "True"  # type: ignore[index]
    # The issuer turns up: the real certificate replaces the temporary one, for the same (next) key.
    cluster.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                        "metadata": {"name": "not-there-yet", "namespace": ns}, "spec": {"selfSigned": {}}})
    cluster.wait_ready("temp", ns)
    final = leaf_of(cluster, "temp-tls", ns)
    assert final.issuer.rfc4514_string() != "CN=cert-manager.local"
    assert final.public_key().public_numbers() == leaf.public_key().public_numbers()  # type: ignore[union-attr]
