"""Events carry cert-manager's source component: "cert-manager-" + the emitting controller's name, which is
what `kubectl describe` shows under From (found by tests/controller/test_kubectl.py)."""

from __future__ import annotations

import pytest

from issuer.controllers import certificaterequests, certificates


@pytest.mark.parametrize(
    ("reason", "message", "component"),
    [
        ("Issuing", "Issuing certificate as Secret does not exist", "cert-manager-certificates-trigger"),
        ("Issuing", "Renewing certificate as renewal was scheduled at 2026-01-01T00:00:00Z",
         "cert-manager-certificates-trigger"),
        ("Issuing", "The certificate has been successfully issued", "cert-manager-certificates-issuing"),
        ("Issuing", "Issued temporary certificate", "cert-manager-certificates-issuing"),
        ("Generated", 'Stored new private key in temporary Secret "a-x"', "cert-manager-certificates-key-manager"),
        ("Reused", "Reusing private key", "cert-manager-certificates-key-manager"),
        ("Deleted", "Regenerating private key", "cert-manager-certificates-key-manager"),
        ("CannotRegenerateKey", "User intervention required", "cert-manager-certificates-key-manager"),
        ("Requested", 'Created new CertificateRequest resource "a-1"', "cert-manager-certificates-request-manager"),
        ("Failed", "The certificate request has failed to complete", "cert-manager-certificates-issuing"),
        ("InvalidCertificate", "Issuer returned", "cert-manager-certificates-issuing"),
        ("BadConfig", "Certificate spec is invalid", "cert-manager-certificates-trigger"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_certificate_events_come_from_the_controller_that_emits_them(reason: str, message: str,
                                                                      component: str) -> None:
    assert certificates.event_component(reason, message) == component


@pytest.mark.parametrize(
    ("reason", "issuer_type", "component"),
    [
        ("cert-manager.io", "selfSigned", "cert-manager-certificaterequests-approver"),
        ("CertificateIssued", "selfSigned", "cert-manager-certificaterequests-issuer-selfsigned"),
        ("CertificateIssued", "ca", "cert-manager-certificaterequests-issuer-ca"),
        ("IssuerNotReady", "acme", "cert-manager-certificaterequests-issuer-acme"),
        ("IssuerNotFound", "", "cert-manager-certificaterequests"),
    ],
)
def test_certificaterequest_events_come_from_the_approver_or_the_issuer_types_controller(
    reason: str, issuer_type: str, component: str
) -> None:
    assert certificaterequests.event_component(reason, issuer_type) == component
