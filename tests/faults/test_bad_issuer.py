"""(h) An external issuer (group example.com, played by the test) returns bad certificates: expired, for
another key, lacking a requested name, or a chain over cert-manager's 95,000 B cap. Each ends as a failed
issuance with the back-off (2s, 4s, 8s, 8s here), never two CertificateRequests for one revision, at most
one request per back-off period, and recovers once the issuer behaves. (m) A certificate expires while its
renewals keep failing: Ready=False Expired at notAfter, not at the next back-off."""

from __future__ import annotations

import base64
import concurrent.futures
import datetime as dt
import itertools
import time
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from tests.controller.conftest import condition
from tests.faults import harness as h
from tests.faults.harness import FaultCluster

OBSERVE = 16.0  # seconds of bad answers: requests at ~0, 2, 6, 14 with a 2s..8s back-off


def bad_answer(mode: dict[str, str], ca: Any) -> Any:
    """The signer's answers, by `mode["kind"]` at the time a request comes (a test switches it)."""
    def answer(cr: dict[str, Any]) -> h.Answer:
        csr = h.csr_of(cr)
        kind = mode["kind"]
        if kind == "expired":
            start = h.now_utc() - dt.timedelta(days=2)
            return "issue", h.sign_csr(csr, ca, not_before=start, not_after=start + dt.timedelta(days=1))
        if kind == "key-mismatch":
            return "issue", h.sign_csr(csr, ca, public_key=h.other_key().public_key())
        if kind == "wrong-names":
            return "issue", h.sign_csr(csr, ca, dns=["somewhere-else.example.com"])
        if kind == "oversized":  # valid, but over cert-manager's 95,000 B chain cap: refused before parsing
            pem = h.sign_csr(csr, ca)
            return "issue", pem * (95_000 // len(pem) + 1)
        return "issue", h.sign_csr(csr, ca)
    return answer


def assert_spacing(seen: list[h.Seen]) -> None:
    """Consecutive requests at least the back-off apart (2s, 4s, 8s, 8s ...), less the up to 1s that
    lastFailureTime loses to its whole-second format (as in cert-manager) and the signer's polling."""
    gaps = [b.at - a.at for a, b in itertools.pairwise(seen)]
    for i, gap in enumerate(gaps):
        wanted = min(h.BACKOFF_MIN * 2 ** i, h.BACKOFF_MAX)
        assert gap >= wanted - 1.2, f"request {i + 2} came {gap:.2f}s after the previous one; back-off {wanted}s"


KINDS = ["expired", "key-mismatch", "wrong-names", "oversized"]


@pytest.fixture(scope="module")
def bad_runs(shared: FaultCluster) -> dict[str, BaseException | None]:
    """The three kinds run at once, each in its own namespace (the tier stays short); each test then
    reports its own kind's outcome."""
    with concurrent.futures.ThreadPoolExecutor(len(KINDS)) as pool:
        futures = {kind: pool.submit(bad_issuer_run, shared, kind) for kind in KINDS}
        return {kind: future.exception() for kind, future in futures.items()}


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_certificate_is_a_failed_issuance_retried_with_back_off(bad_runs: dict[str, BaseException | None],
                                                                      kind: str) -> None:
    error = bad_runs[kind]
    if error is not None:
        raise error


def bad_issuer_run(c: FaultCluster, kind: str) -> None:
    ns = c.namespace()
    ca = h.signer_ca()
    mode = {"kind": kind}
    name = "bad"
    offset = c.operator.log_size()
    with h.ExternalSigner(c, ns, bad_answer(mode, ca)) as signer:
        c.api.create(h.certificate(name, ns, h.BAD_REF))
        c.wait_condition("Certificate", name, ns, "Issuing", "False", "InvalidCertificate", timeout=15)
        time.sleep(OBSERVE)
        crt = c.must_get("Certificate", name, ns)
        status = crt["status"]
        issuing = condition(crt, "Issuing")
        assert issuing is not None and issuing["reason"] == "InvalidCertificate", issuing
        assert issuing["message"].startswith("The certificate request has failed to complete and will be retried")
        assert status.get("lastFailureTime")
        seen = signer.of(name)
        # 0, 2, 6, 14 s: four requests in 16 s (a fifth is not due before 22 s)
        assert 3 <= len(seen) <= 4, [(s.name, round(s.at - seen[0].at, 2)) for s in seen]
        assert status["failedIssuanceAttempts"] >= len(seen) - 1
        assert_spacing(seen)
        made = h.assert_requests_per_revision(c, ns, exactly_once=(kind == "wrong-names"))
        ready = condition(crt, "Ready")
        assert ready is not None and ready["status"] == "False"
        if kind == "wrong-names":
            # stored (the best there is), but not Ready; each try finishes its own revision
            assert ready["reason"] == "SecretMismatch" and "spec.dnsNames" in ready["message"]
            assert status["revision"] == len(seen)
            assert "lacks requested names: [spec.dnsNames]" in issuing["message"]
        else:
            if kind == "oversized":
                assert "larger than the maximum 95000 B" in issuing["message"], issuing
            assert ready["reason"] == "DoesNotExist"
            assert not status.get("revision")
            assert made == {(name, 1): len(seen)}  # one revision, retried: one request per back-off period
        warnings = [e for e in c.list("Event", ns) if e.get("reason") == "InvalidCertificate"]
        assert warnings and all(e["type"] == "Warning" for e in warnings)

        # the issuer is repaired: issued at the next back-off, Ready, nothing left behind
        mode["kind"] = "good"
        c.wait_for("Ready=True", lambda: (condition(c.get("Certificate", name, ns), "Ready") or {}).get("status")
                   == "True", timeout=h.BACKOFF_MAX + 6)
    crt = c.must_get("Certificate", name, ns)
    assert "lastFailureTime" not in crt["status"] and "failedIssuanceAttempts" not in crt["status"]
    assert condition(crt, "Issuing") is None
    data = h.decoded(c.must_get("Secret", f"{name}-tls", ns))
    leaf = x509.load_pem_x509_certificate(data["tls.crt"])
    key = serialization.load_pem_private_key(data["tls.key"], password=None)
    assert h.public_der(leaf.public_key()) == h.public_der(key.public_key())
    h.assert_no_temporary_keys(c, ns)
    h.assert_requests_per_revision(c, ns, exactly_once=(kind == "wrong-names"))
    h.assert_no_traceback(c, offset)


def premade_secret(ns: str, name: str, dns: str, lifetime: dt.timedelta) -> dict[str, Any]:
    """A Secret (no fao label: not made by the operator) holding a certificate that expires `lifetime` from
    now."""
    ca = h.signer_ca()
    key = h.other_key()
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).add_extension(
        x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
    csr = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    end = dt.datetime.now(dt.UTC) + lifetime
    pem = h.sign_csr(csr, ca, not_before=end - dt.timedelta(hours=1), not_after=end)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    # issued earlier by the same external issuer (an unannotated Secret would mismatch a non-default group:
    # cert-manager's precedence, kept in policies.secret_issuer_annotations_mismatch)
    annotations = {"cert-manager.io/issuer-name": h.BAD_REF["name"], "cert-manager.io/issuer-kind": h.BAD_REF["kind"],
                   "cert-manager.io/issuer-group": h.BAD_REF["group"]}
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": ns, "annotations": annotations},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(pem).decode(), "tls.key": base64.b64encode(key_pem).decode()}}


def test_a_certificate_expiring_while_renewals_fail_turns_expired_at_not_after(shared: FaultCluster) -> None:
    c = shared
    ns = c.namespace()
    name = "expiring"
    dns = f"{name}.{ns}.example.com"
    secret = premade_secret(ns, f"{name}-tls", dns, dt.timedelta(seconds=14))
    c.api.create(secret)
    not_after = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"])).not_valid_after_utc
    offset = c.operator.log_size()
    with h.ExternalSigner(c, ns, lambda cr: ("fail", "the signer is down")) as signer:
        c.api.create(h.certificate(name, ns, h.BAD_REF, dnsNames=[dns]))
        # 1h lifetime, 14s left: past its renewal time, so renewals start and fail
        c.wait_condition("Certificate", name, ns, "Issuing", "False", "Failed", timeout=15)
        crt = c.must_get("Certificate", name, ns)
        ready = condition(crt, "Ready")
        assert ready is not None and ready["status"] == "True", ready  # still valid
        assert crt["status"]["notAfter"] == h.rfc3339(not_after)
        expired = c.wait_condition("Certificate", name, ns, "Ready", "False", "Expired",
                                   timeout=(not_after - dt.datetime.now(dt.UTC)).total_seconds() + 10)
        ready = condition(expired, "Ready")
        assert ready is not None
        flipped = dt.datetime.fromisoformat(ready["lastTransitionTime"].replace("Z", "+00:00"))
        assert not_after <= flipped <= not_after + dt.timedelta(seconds=4), (not_after, flipped)
        assert ready["message"].startswith("Certificate expired on ")
        status = expired["status"]
        assert status.get("lastFailureTime") and status.get("failedIssuanceAttempts", 0) >= 1
        assert_spacing(signer.of(name))
    h.assert_requests_per_revision(c, ns, exactly_once=False)
    # the pre-made Secret is kept as it was: a failing renewal never destroys the current certificate
    assert h.decoded(c.must_get("Secret", f"{name}-tls", ns))["tls.crt"] == base64.b64decode(secret["data"]["tls.crt"])
    h.assert_no_traceback(c, offset)
