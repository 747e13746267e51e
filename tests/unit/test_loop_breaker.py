"""The Certificate pipeline's loop breaker (issuer.controllers.certificates): re-issuances that the Secret's
state asks for right after a successful issuance of the same spec are bounded by the failed-issuance
back-off, where cert-manager loops (issues 6714, 7741, 8380). Tables over `decide`, with real keys, CSRs
and certificates made by `cryptography`."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import ipaddress
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from issuer import policies
from issuer.api import types as t
from issuer.controllers import certificates
from issuer.pki import csr as csr_mod

NOW = dt.datetime(2026, 11, 27, 12, 0, 0, tzinfo=dt.UTC)
MIN, MAX = dt.timedelta(seconds=2), dt.timedelta(seconds=8)
OPTIONS = certificates.Options(backoff_min=MIN, backoff_max=MAX)
NS, NAME, SECRET = "ns", "web", "web-tls"
REF = {"name": "bad", "kind": "BadIssuer", "group": "example.com"}
SPEC = {"secretName": SECRET, "dnsNames": ["a.example.com", "b.example.com"], "issuerRef": REF,
        "privateKey": {"algorithm": "ECDSA", "size": 256}}


def ts(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.cache
def key(n: int) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(k: Any) -> bytes:
    out: bytes = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    return out


def leaf(k: Any, dns: list[str], *, cn: str = "", ips: tuple[str, ...] = (),
         not_after: dt.datetime = NOW + dt.timedelta(days=90)) -> bytes:
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "test signer")])).public_key(k.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(NOW - dt.timedelta(hours=1))
        .not_valid_after(not_after))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(key(99), hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def certificate(status: dict[str, Any] | None = None, spec: dict[str, Any] | None = None) -> t.Certificate:
    return t.parse_certificate({
        "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": NAME, "namespace": NS, "uid": "uid-web", "generation": 1,
                     "creationTimestamp": ts(NOW - dt.timedelta(days=1))},
        "spec": spec or SPEC, "status": status or {},
    })


def request(revision: int, k: Any, cert_pem: bytes, *, reason: str, issued_at: dt.datetime,
            spec: dict[str, Any] | None = None) -> t.CertificateRequest:
    crt_spec = certificate(spec=spec).spec
    csr_pem = csr_mod.pem_bytes(csr_mod.build(crt_spec, k))
    return t.parse_certificate_request({
        "apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
        "metadata": {"name": f"{NAME}-{revision}", "namespace": NS, "uid": f"uid-cr-{revision}",
                     "annotations": {"cert-manager.io/certificate-revision": str(revision),
                                     "cert-manager.io/certificate-name": NAME,
                                     "cert-manager.io/private-key-secret-name": "web-next",
                                     certificates.ANN_ISSUING_REASON: reason},
                     "ownerReferences": [{"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "name": NAME,
                                          "uid": "uid-web", "controller": True}]},
        "spec": {"request": base64.b64encode(csr_pem).decode(), "issuerRef": REF},
        "status": {"certificate": base64.b64encode(cert_pem).decode(), "conditions": [
            {"type": "Approved", "status": "True", "reason": "test", "lastTransitionTime": ts(issued_at)},
            {"type": "Ready", "status": "True", "reason": "Issued", "message": "issued",
             "lastTransitionTime": ts(issued_at)}]},
    })


def secret(k: Any, cert_pem: bytes, **extra: bytes) -> policies.SecretView:
    data = {"tls.crt": cert_pem, "tls.key": key_pem(k), **extra}
    return policies.SecretView.from_wire({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": SECRET, "namespace": NS,
                     "annotations": {"cert-manager.io/certificate-name": NAME, "cert-manager.io/issuer-name": "bad",
                                     "cert-manager.io/issuer-kind": "BadIssuer",
                                     "cert-manager.io/issuer-group": "example.com"}},
        "data": {name: base64.b64encode(value).decode() for name, value in data.items()},
    })


def cond(status: t.CertificateStatus, ctype: str) -> t.Condition | None:
    return next((x for x in status.conditions if x.type == ctype), None)


def issued_status(revision: int, at: dt.datetime, **more: Any) -> dict[str, Any]:
    return {"revision": revision, "conditions": [
        {"type": "Ready", "status": "True", "reason": "Ready", "message": policies.READY_MESSAGE,
         "lastTransitionTime": ts(at), "observedGeneration": 1}], **more}


# -- missing_names -------------------------------------------------------------------------------------------
def spec_of(**fields: Any) -> t.CertificateSpec:
    return certificate(spec={"secretName": SECRET, "issuerRef": REF, **fields}).spec


@pytest.mark.parametrize(("cert_names", "spec", "missing"), [
    pytest.param({"dns": ["a.example.com", "b.example.com"]}, {"dnsNames": ["a.example.com", "b.example.com"]}, [],
                 id="every requested name present"),
    pytest.param({"dns": ["a.example.com", "b.example.com", "c.example.com"]}, {"dnsNames": ["a.example.com"]}, [],
                 id="names the issuer added are no concern"),
    pytest.param({"dns": ["a.example.com"]}, {"dnsNames": ["a.example.com", "b.example.com"]}, ["spec.dnsNames"],
                 id="a requested DNS name missing"),
    pytest.param({"dns": ["a.example.com"]}, {"commonName": "a.example.com", "dnsNames": ["a.example.com"]}, [],
                 id="the common name carried as a DNS name"),
    pytest.param({"dns": [], "cn": "a.example.com"}, {"dnsNames": ["a.example.com"]}, [],
                 id="a DNS name carried as the common name"),
    pytest.param({"dns": ["x.example.com"]}, {"commonName": "a.example.com"}, ["spec.commonName"],
                 id="the common name missing"),
    pytest.param({"dns": [], "ips": ("2001:db8::1",)}, {"ipAddresses": ["2001:0db8:0:0::1"]}, [],
                 id="IP addresses compared by value"),
    pytest.param({"dns": ["a.example.com"]}, {"dnsNames": ["a.example.com"], "ipAddresses": ["10.0.0.1"]},
                 ["spec.ipAddresses"], id="an IP address missing"),
])
def test_missing_names(cert_names: dict[str, Any], spec: dict[str, Any], missing: list[str]) -> None:
    pem = leaf(key(1), cert_names["dns"], cn=cert_names.get("cn", ""), ips=cert_names.get("ips", ()))
    assert certificates.missing_names(x509.load_pem_x509_certificate(pem), spec_of(**spec)) == missing


# -- wrong names returned by the issuer --------------------------------------------------------------------
def issuing_snapshot(cert_pem: bytes, k: Any, *, secret_holds_it: bool, attempts: int | None = None,
                     revision: int = 0) -> certificates.Snapshot:
    status: dict[str, Any] = {
        "conditions": [{"type": "Issuing", "status": "True", "reason": "DoesNotExist", "message": "m",
                        "lastTransitionTime": ts(NOW - dt.timedelta(seconds=5)), "observedGeneration": 1}],
        "nextPrivateKeySecretName": "web-next"}
    if revision:
        status["revision"] = revision
    if attempts:
        status["failedIssuanceAttempts"] = attempts
        status["lastFailureTime"] = ts(NOW - dt.timedelta(minutes=5))
    cr = request(revision + 1, k, cert_pem, reason="DoesNotExist", issued_at=NOW - dt.timedelta(seconds=1))
    return certificates.Snapshot(
        certificate(status), secret(k, cert_pem) if secret_holds_it else None, (cr,),
        (certificates.NextKey("web-next", "uid-next", k),),
    )


def test_a_certificate_lacking_a_requested_name_is_stored_first() -> None:
    pem = leaf(key(1), ["a.example.com"])
    out = certificates.decide(issuing_snapshot(pem, key(1), secret_holds_it=False), NOW, OPTIONS)
    assert out.write_secret is not None and out.write_secret.key_secret_name == "web-next"
    assert out.status is None or out.status.last_failure_time == ""


@pytest.mark.parametrize("attempts", [None, 2])
def test_a_stored_certificate_lacking_a_requested_name_is_a_failed_issuance_with_back_off(
        attempts: int | None) -> None:
    pem = leaf(key(1), ["a.example.com"])
    out = certificates.decide(issuing_snapshot(pem, key(1), secret_holds_it=True, attempts=attempts), NOW, OPTIONS)
    assert out.status is not None
    issuing, ready = cond(out.status, "Issuing"), cond(out.status, "Ready")
    assert issuing is not None and (issuing.status, issuing.reason) == ("False", "InvalidCertificate")
    assert "lacks requested names: [spec.dnsNames]" in issuing.message
    assert ready is not None and (ready.status, ready.reason) == ("False", "SecretMismatch")
    assert out.status.revision == 1  # the request is finished with: never a second one for this revision
    assert out.status.last_failure_time == ts(NOW)
    assert out.status.failed_issuance_attempts == (attempts or 0) + 1
    assert out.status.next_private_key_secret_name == ""
    assert [d.kind for d in out.delete] == ["Secret"]  # the temporary key goes
    assert ("Warning", "InvalidCertificate", issuing.message) in out.events
    assert out.requeue_after == policies.backoff_delay((attempts or 0) + 1, MIN, MAX)


def mismatched_after_failure(now: dt.datetime) -> certificates.Outcome:
    """The state the failure above leaves: revision 1 holds a certificate lacking b.example.com."""
    failed_at = NOW
    pem = leaf(key(1), ["a.example.com"])
    status = issued_status(1, failed_at, lastFailureTime=ts(failed_at), failedIssuanceAttempts=1)
    status["conditions"].append({"type": "Issuing", "status": "False", "reason": "InvalidCertificate",
                                 "message": "m", "lastTransitionTime": ts(failed_at)})
    cr = request(1, key(1), pem, reason="DoesNotExist", issued_at=failed_at - dt.timedelta(seconds=1))
    snap = certificates.Snapshot(certificate(status), secret(key(1), pem), (cr,))
    return certificates.decide(snap, now, OPTIONS)


def test_the_next_try_waits_for_the_back_off() -> None:
    out = mismatched_after_failure(NOW + dt.timedelta(seconds=1))
    issuing = cond(out.status, "Issuing") if out.status is not None else None
    assert issuing is None or issuing.status != "True"
    assert out.create_request is None and out.create_key is None
    assert out.requeue_after == dt.timedelta(seconds=1)


def test_the_next_try_starts_once_the_back_off_is_over() -> None:
    out = mismatched_after_failure(NOW + MIN)
    assert out.status is not None
    issuing = cond(out.status, "Issuing")
    assert issuing is not None and (issuing.status, issuing.reason) == ("True", "SecretMismatch")
    assert "[spec.dnsNames]" in issuing.message


# -- repeated repairs --------------------------------------------------------------------------------------
def overwritten(revision: int, reason: str, issued_ago: dt.timedelta, **status_extra: Any) -> certificates.Outcome:
    """Revision `revision` was issued `issued_ago`, made for `reason`; then another writer replaced the
    Secret's key pair (its extra key stays)."""
    issued = NOW - issued_ago
    ours = leaf(key(1), SPEC["dnsNames"])
    cr = request(revision, key(1), ours, reason=reason, issued_at=issued)
    theirs = leaf(key(2), ["other.example.com"])
    snap = certificates.Snapshot(certificate(issued_status(revision, issued, **status_extra)),
                                 secret(key(2), theirs, extra=b"kept"), (cr,))
    return certificates.decide(snap, NOW, OPTIONS)


@pytest.mark.parametrize(("revision", "reason", "issued_ago"), [
    pytest.param(1, "DoesNotExist", dt.timedelta(seconds=1), id="right after the first issuance"),
    pytest.param(2, "Renewing", dt.timedelta(seconds=1), id="right after a renewal"),
    pytest.param(2, "RequestChanged", dt.timedelta(seconds=1), id="right after a spec change"),
    pytest.param(2, "SecretMismatch", MIN, id="a back-off period after a repair"),
    pytest.param(2, "", dt.timedelta(seconds=1), id="right after a request made before the annotation existed"),
])
def test_a_single_overwrite_is_repaired_at_once(revision: int, reason: str, issued_ago: dt.timedelta) -> None:
    out = overwritten(revision, reason, issued_ago)
    assert out.status is not None
    issuing = cond(out.status, "Issuing")
    assert issuing is not None and (issuing.status, issuing.reason) == ("True", "SecretMismatch")
    assert out.status.last_failure_time == ""
    assert ("Normal", "Issuing", issuing.message) in out.events


@pytest.mark.parametrize("reason", ["SecretMismatch", "DoesNotExist", "InvalidKeyPair", "MissingData"])
def test_an_overwrite_right_after_a_repair_is_a_failed_issuance(reason: str) -> None:
    out = overwritten(2, reason, dt.timedelta(seconds=1))
    assert out.status is not None
    issuing = cond(out.status, "Issuing")
    assert issuing is not None and (issuing.status, issuing.reason) == ("False", "SecretMismatch")
    assert issuing.message.startswith(certificates.REPAIR_LOOP_PREFIX)
    assert out.status.last_failure_time == ts(NOW) and out.status.failed_issuance_attempts == 1
    assert out.status.revision == 2
    assert ("Warning", "SecretMismatch", issuing.message) in out.events
    assert out.requeue_after == MIN
    assert out.create_key is None and out.create_request is None and out.write_secret is None


def test_repeated_loop_failures_grow_the_back_off() -> None:
    out = overwritten(2, "SecretMismatch", dt.timedelta(seconds=1), failedIssuanceAttempts=2,
                      lastFailureTime=ts(NOW - dt.timedelta(minutes=1)))
    assert out.status is not None and out.status.failed_issuance_attempts == 3
    assert out.requeue_after == MAX  # 2s * 2^2 = 8s, the cap


def test_the_request_remembers_why_it_was_made() -> None:
    status = {"conditions": [{"type": "Issuing", "status": "True", "reason": "SecretMismatch", "message": "m",
                              "lastTransitionTime": ts(NOW), "observedGeneration": 1}], "revision": 1}
    snap = certificates.Snapshot(certificate(status), None, (), (certificates.NextKey("web-next", "u", key(1)),))
    out = certificates.decide(snap, NOW, OPTIONS)
    assert out.create_request == certificates.CreateRequest(2, "web-next", "SecretMismatch")


def test_the_annotation_is_ours_to_set() -> None:
    from issuer.controllers import requestmanager

    crt = certificate(spec=SPEC)
    crt = t.parse_certificate({**crt.to_wire(), "metadata": {**crt.to_wire()["metadata"], "annotations": {
        certificates.ANN_ISSUING_REASON: "user value", "team": "a"}}})
    body = requestmanager.build_request(crt, b"csr", 2, "k", issuing_reason="Renewing")
    assert body["metadata"]["annotations"][certificates.ANN_ISSUING_REASON] == "Renewing"
    assert body["metadata"]["annotations"]["team"] == "a"
    assert certificates.ANN_ISSUING_REASON not in requestmanager.build_request(crt, b"csr", 2, "k")["metadata"][
        "annotations"]


# -- expiry while failing ----------------------------------------------------------------------------------
def test_a_back_off_longer_than_the_certificate_looks_again_at_not_after() -> None:
    not_after = NOW + dt.timedelta(seconds=20)
    pem = leaf(key(1), SPEC["dnsNames"], not_after=not_after)
    status = issued_status(1, NOW - dt.timedelta(hours=1), lastFailureTime=ts(NOW), failedIssuanceAttempts=3,
                           notAfter=ts(not_after))
    cr = request(1, key(1), pem, reason="DoesNotExist", issued_at=NOW - dt.timedelta(hours=1))
    snap = certificates.Snapshot(certificate(status), secret(key(1), pem), (cr,))
    out = certificates.decide(snap, NOW, certificates.Options(backoff_min=dt.timedelta(minutes=5),
                                                              backoff_max=dt.timedelta(hours=1)))
    assert out.requeue_after == dt.timedelta(seconds=21)
    later = dt.timedelta(seconds=21)
    snap2 = certificates.Snapshot(certificate({**status, **(out.status.to_wire() if out.status else {})}),
                                  secret(key(1), pem), (cr,))
    out2 = certificates.decide(snap2, NOW + later, certificates.Options(backoff_min=dt.timedelta(minutes=5),
                                                                        backoff_max=dt.timedelta(hours=1)))
    assert out2.status is not None
    ready = cond(out2.status, "Ready")
    assert ready is not None and (ready.status, ready.reason) == ("False", "Expired")


# -- a crash between writing the Secret and writing the status -------------------------------------------------
def test_a_secret_written_from_the_next_request_finishes_that_issuance_after_a_crash() -> None:
    """The status (Issuing=True, the new revision) is written once at the end of a reconcile; a SIGKILL after
    the Secret write leaves no Issuing condition, revision 0, and a Secret holding request 1's certificate."""
    pem = leaf(key(1), SPEC["dnsNames"])
    cr = request(1, key(1), pem, reason="DoesNotExist", issued_at=NOW - dt.timedelta(seconds=1))
    temp = certificates.NextKey("web-next", "uid-next", key(1))
    snap = certificates.Snapshot(certificate({}), secret(key(1), pem), (cr,), (temp,))
    out = certificates.decide(snap, NOW, OPTIONS)
    assert out.status is not None and out.status.revision == 1
    ready = cond(out.status, "Ready")
    assert ready is not None and ready.status == "True"
    assert cond(out.status, "Issuing") is None
    assert [(d.kind, d.name) for d in out.delete] == [("Secret", "web-next")]
    assert out.create_key is None and out.create_request is None and out.write_secret is None
    assert ("Normal", "Issuing", certificates.ISSUED_MESSAGE) in out.events


def test_a_secret_that_does_not_hold_the_next_request_is_not_adopted() -> None:
    pem = leaf(key(1), SPEC["dnsNames"])
    cr = request(1, key(1), pem, reason="DoesNotExist", issued_at=NOW - dt.timedelta(seconds=1))
    other = leaf(key(2), SPEC["dnsNames"])
    snap = certificates.Snapshot(certificate({}), secret(key(2), other), (cr,))
    out = certificates.decide(snap, NOW, OPTIONS)
    assert out.status is not None and not out.status.revision


# -- an issuer's answer over cert-manager's chain cap ----------------------------------------------------------
def test_a_returned_chain_over_95000_bytes_is_refused_before_parsing() -> None:
    pem = leaf(key(1), SPEC["dnsNames"])
    huge = pem * (95_000 // len(pem) + 1)  # every block a valid certificate: only the size is wrong
    snap = issuing_snapshot(huge, key(1), secret_holds_it=False)
    out = certificates.decide(snap, NOW, OPTIONS)
    assert out.status is not None and out.write_secret is None
    issuing = cond(out.status, "Issuing")
    assert issuing is not None and (issuing.status, issuing.reason) == ("False", "InvalidCertificate")
    assert f"certificate chain is {len(huge)} bytes, larger than the maximum 95000 B" in issuing.message
