"""The request manager's pure parts: the CertificateRequest a Certificate asks for at a revision.

cert-manager (certificates-request-manager) names it `<certificate>-<revision>`, copies duration,
issuerRef, isCA and usages from the Certificate, puts the PEM CSR in `spec.request`, copies the
Certificate's labels and (filtered) annotations, adds the revision, private-key-secret-name and
certificate-name annotations, and makes the Certificate its controller owner.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from issuer.api import constants as c
from issuer.api import defaults
from issuer.api import types as t

ANN_ISSUING_REASON = "issuer.cert-manager.io/issuing-reason"
"""Why the request was made (the Certificate's Issuing reason then); the loop breaker reads it back."""
DEFAULT_COPIED_ANNOTATION_PREFIXES = ("*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/")
_MAX_NAME = 253


def request_name(certificate_name: str, revision: int) -> str:
    """`<name>-<revision>`; too long names are shortened with a hash so they stay unique and valid."""
    name = f"{certificate_name}-{revision}"
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(certificate_name.encode()).hexdigest()[:8]
    suffix = f"-{digest}-{revision}"
    return certificate_name[: _MAX_NAME - len(suffix)].rstrip("-.") + suffix


def copied_annotations(annotations: dict[str, str], prefixes: Sequence[str]) -> dict[str, str]:
    """Annotations selected by cert-manager's `--copied-annotation-prefixes` rules (`*`, `prefix`, `-prefix`)."""
    include = [p for p in prefixes if not p.startswith("-")]
    exclude = [p[1:] for p in prefixes if p.startswith("-")]
    out: dict[str, str] = {}
    for key, value in annotations.items():
        if any(key.startswith(p) for p in exclude):
            continue
        if "*" in include or any(key.startswith(p) for p in include):
            out[key] = value
    return out


def next_revision(cert: t.Certificate) -> int:
    return (cert.status.revision or 0) + 1


def build_request(
    cert: t.Certificate,
    csr_pem: bytes,
    revision: int,
    private_key_secret_name: str,
    *,
    copied_annotation_prefixes: Sequence[str] = DEFAULT_COPIED_ANNOTATION_PREFIXES,
    issuing_reason: str = "",
) -> dict[str, Any]:
    """The CertificateRequest object (wire form) for `cert` at `revision`."""
    meta = cert.metadata
    annotations = copied_annotations(meta.annotations, copied_annotation_prefixes)
    annotations.pop(ANN_ISSUING_REASON, None)
    annotations.update(
        {
            c.ANN_CERTIFICATE_REVISION: str(revision),
            c.ANN_PRIVATE_KEY_SECRET_NAME: private_key_secret_name,
            c.ANN_CERTIFICATE_NAME: meta.name,
        }
    )
    if issuing_reason:
        annotations[ANN_ISSUING_REASON] = issuing_reason
    spec = t.CertificateRequestSpec(
        duration=cert.spec.duration or "",
        issuer_ref=cert.spec.issuer_ref,
        request=csr_pem,
        is_ca=cert.spec.is_ca,
        usages=cert.spec.usages,
    )
    obj: dict[str, Any] = {
        "apiVersion": c.API_VERSION,
        "kind": c.CERTIFICATE_REQUEST,
        "metadata": {
            "name": request_name(meta.name, revision),
            "namespace": meta.namespace,
            "labels": dict(meta.labels),
            "annotations": annotations,
        },
        "spec": spec.to_wire(),
    }
    if meta.uid:
        obj["metadata"]["ownerReferences"] = [owner_reference(cert)]
    return obj


def typed_request(cert: t.Certificate, csr_pem: bytes, revision: int, private_key_secret_name: str,
                  ) -> t.CertificateRequest:
    """The same request as `build_request`, as a typed view (no dict round trip; the offline path)."""
    meta = cert.metadata
    annotations = copied_annotations(meta.annotations, DEFAULT_COPIED_ANNOTATION_PREFIXES)
    annotations.update({
        c.ANN_CERTIFICATE_REVISION: str(revision),
        c.ANN_PRIVATE_KEY_SECRET_NAME: private_key_secret_name,
        c.ANN_CERTIFICATE_NAME: meta.name,
    })
    return t.CertificateRequest(
        metadata=t.ObjectMeta(name=request_name(meta.name, revision), namespace=meta.namespace,
                              labels=dict(meta.labels), annotations=annotations),
        spec=t.CertificateRequestSpec(duration=cert.spec.duration or "", issuer_ref=cert.spec.issuer_ref,
                                      request=csr_pem, is_ca=cert.spec.is_ca, usages=cert.spec.usages),
    )


def owner_reference(cert: t.Certificate) -> dict[str, Any]:
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.CERTIFICATE,
        "name": cert.metadata.name,
        "uid": cert.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def revision_of(cr: t.CertificateRequest) -> int | None:
    """The request's `cert-manager.io/certificate-revision`, or None when missing or not a number."""
    raw = cr.metadata.annotations.get(c.ANN_CERTIFICATE_REVISION, "")
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value > 0 else None


def request_spec_for(cert: t.Certificate) -> t.CertificateRequestSpec:
    """The spec fields a Certificate fixes on its requests (for comparisons)."""
    return t.CertificateRequestSpec(
        duration=cert.spec.duration,
        issuer_ref=defaults.issuer_ref(cert.spec.issuer_ref),
        is_ca=cert.spec.is_ca,
        usages=cert.spec.usages,
    )
