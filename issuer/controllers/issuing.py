"""The issuing controller's pure parts: the Secret written for an issued certificate.

cert-manager (certificates-issuing) writes the Secret with server-side apply under the field manager
`cert-manager-certificates-issuing`, so keys, labels and annotations owned by others survive. The body
built here is that applied configuration: `tls.crt`, `tls.key`, `ca.crt` (when the request has a CA),
keystores and extra output formats, the `controller.cert-manager.io/fao` label, the `cert-manager.io/*`
annotations read from the leaf, the secretTemplate's labels and annotations, and optionally an owner
reference to the Certificate.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from issuer.api import constants as c
from issuer.api import defaults
from issuer.api import types as t
from issuer.controllers import requestmanager
from issuer.pki import chain, keys, secret
from issuer.pki.errors import MAX_CHAIN_PEM_SIZE
from issuer.signers import base

FIELD_MANAGER = "cert-manager-certificates-issuing"
REASON_KEYSTORE_PASSWORD_SECRET_NOT_FOUND = "KeystorePasswordSecretNotFound"


class KeystorePasswordError(ValueError):
    """A keystore's passwordSecretRef names a Secret or key that is not there."""


def resolve_keystore_passwords(
    spec: t.CertificateSpec, namespace: str, get_secret: base.SecretGetter
) -> dict[str, bytes]:
    """Passwords for the keystores the spec creates, read from their passwordSecretRefs."""
    out: dict[str, bytes] = {}
    stores = spec.keystores
    if stores is None:
        return out
    refs: list[tuple[str, t.SecretKeySelector | None, bool]] = []
    if stores.jks is not None:
        refs.append(("jks", stores.jks.password_secret_ref, stores.jks.create))
    if stores.pkcs12 is not None:
        refs.append(("pkcs12", stores.pkcs12.password_secret_ref, stores.pkcs12.create))
    for kind, ref, create in refs:
        if not create or ref is None:
            continue
        data = get_secret(namespace, ref.name)
        if data is None:
            raise KeystorePasswordError(
                f"error fetching {kind} keystore password from Secret {namespace}/{ref.name}: not found"
            )
        value = data.get(ref.key)
        if value is None:
            raise KeystorePasswordError(
                f"error fetching {kind} keystore password from Secret {namespace}/{ref.name}: "
                f"no key {ref.key!r} in the Secret"
            )
        out[kind] = value
    return out


def secret_body(
    cert: t.Certificate,
    request_issuer_ref: t.IssuerRef,
    chain_pem: bytes,
    ca_pem: bytes,
    key: keys.PrivateKey,
    keystore_passwords: Mapping[str, bytes],
    *,
    existing_type: str | None = None,
    owner_reference: bool = False,
) -> dict[str, Any]:
    """The applied configuration of the target Secret (wire form, data base64-encoded)."""
    data = secret.build_secret_data(cert.spec, chain_pem, ca_pem, key, dict(keystore_passwords))
    leaf = chain.load_certificates(chain_pem, MAX_CHAIN_PEM_SIZE, "certificate chain")[0]
    metadata: dict[str, Any] = {
        "name": cert.spec.secret_name,
        "namespace": cert.metadata.namespace,
        "labels": secret.secret_labels(cert.spec),
        "annotations": secret.secret_annotations(cert, request_issuer_ref, leaf),
    }
    if owner_reference and cert.metadata.uid:
        metadata["ownerReferences"] = [requestmanager.owner_reference(cert)]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": existing_type or c.SECRET_TYPE_TLS,
        "data": {k: base64.b64encode(v).decode("ascii") for k, v in data.items()},
    }


def temporary_secret_body(
    cert: t.Certificate, chain_pem: bytes, key: keys.PrivateKey, *, owner_reference: bool = False
) -> dict[str, Any]:
    """The Secret holding cert-manager's temporary certificate: tls.crt and tls.key only, the fao label,
    and of the annotations only `cert-manager.io/certificate-name` (inventory §3)."""
    encoding = defaults.private_key(cert.spec).encoding
    metadata: dict[str, Any] = {
        "name": cert.spec.secret_name,
        "namespace": cert.metadata.namespace,
        "labels": secret.secret_labels(cert.spec),
        "annotations": {c.ANN_CERTIFICATE_NAME: cert.metadata.name},
    }
    if owner_reference and cert.metadata.uid:
        metadata["ownerReferences"] = [requestmanager.owner_reference(cert)]
    data = {c.TLS_CERT_KEY: chain_pem, c.TLS_PRIVATE_KEY_KEY: keys.encode(key, encoding)}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": c.SECRET_TYPE_TLS,
        "data": {k: base64.b64encode(v).decode("ascii") for k, v in data.items()},
    }
