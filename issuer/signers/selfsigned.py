"""The SelfSigned issuer: always Ready; signs a request with the private key the request names.

cert-manager's rules (pkg/issuer/selfsigned): the CertificateRequest must carry the annotation
`cert-manager.io/private-key-secret-name` naming a Secret in its namespace whose `tls.key` is the key of
the CSR; the certificate is signed by that key and `ca` is the certificate itself.
"""

from __future__ import annotations

import datetime as _dt

from issuer.api import constants as c
from issuer.api import types as t
from issuer.pki import csr as csr_mod
from issuer.pki import keys, sign
from issuer.pki.errors import PKIError
from issuer.signers import base

REASON_MISSING_ANNOTATION = "MissingAnnotation"
REASON_MISSING_SECRET = "MissingSecret"
REASON_ERROR_PARSING_KEY = "ErrorParsingKey"
REASON_ERROR_KEY_MATCH = "ErrorKeyMatch"
REASON_SIGNING_ERROR = "SigningError"
REASON_BAD_CONFIG = "BadConfig"


def setup(issuer: t.Issuer) -> base.Setup:
    return base.Setup(True, c.REASON_IS_READY, "")


def sign_request(
    cr: t.CertificateRequest, issuer: t.Issuer, get_secret: base.SecretGetter, now: _dt.datetime
) -> base.Outcome:
    secret_name = cr.metadata.annotations.get(c.ANN_PRIVATE_KEY_SECRET_NAME, "")
    if not secret_name:
        return base.Failed(
            REASON_MISSING_ANNOTATION,
            f"Annotation {c.ANN_PRIVATE_KEY_SECRET_NAME!r} missing or reference empty: "
            "self signed issuer requires the private key secret name annotation",
        )
    data = get_secret(cr.metadata.namespace, secret_name)
    if data is None:
        return base.Pending(REASON_MISSING_SECRET, f"Referenced secret {cr.metadata.namespace}/{secret_name} not found")
    try:
        key = keys.load(data.get(c.TLS_PRIVATE_KEY_KEY, b""))
    except PKIError as err:
        return base.Pending(
            REASON_ERROR_PARSING_KEY,
            f"Failed to parse signing key from secret {cr.metadata.namespace}/{secret_name}: {err}",
        )
    try:
        request = csr_mod.load(cr.spec.request)
    except PKIError as err:
        return base.Failed(REASON_SIGNING_ERROR, f"Failed to decode CSR in spec.request: {err}")
    if not keys.public_keys_equal(request.public_key(), key):
        return base.Failed(
            REASON_ERROR_KEY_MATCH, "Error generating certificate template: CSR not signed by referenced private key"
        )
    crl = issuer.spec.self_signed.crl_distribution_points if issuer.spec.self_signed else ()
    try:
        result = sign.sign_self_signed(request, key, cr.spec, now, crl_distribution_points=crl)
    except PKIError as err:
        return base.Failed(REASON_SIGNING_ERROR, f"Error signing certificate: {err}")
    warnings: tuple[tuple[str, str], ...] = ()
    if len(result.leaf.subject) == 0:
        warnings = (
            (
                REASON_BAD_CONFIG,
                "Certificate will be issued with an empty Issuer DN, which contravenes RFC 5280 and could break "
                "some strict clients",
            ),
        )
    return base.Issued(result.cert_pem_chain, result.ca_pem, warnings)
