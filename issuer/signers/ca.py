"""The CA issuer: Ready when its Secret holds a usable CA key pair; signs requests with it.

Setup reads `tls.crt` (chain) and `tls.key` from `spec.ca.secretName` in the issuer's resource
namespace and refuses a missing Secret, unparsable data, a first certificate that is not a CA, a key that
does not belong to the certificate (cert-manager finds that only at signing time; we check it up front)
and an expired CA. Signing copies the CRL distribution points, OCSP servers and issuing-certificate URLs.
"""

from __future__ import annotations

import datetime as _dt
import functools

from issuer.api import constants as c
from issuer.api import types as t
from issuer.pki import ca as ca_mod
from issuer.pki import csr as csr_mod
from issuer.pki import sign
from issuer.pki.errors import PKIError
from issuer.signers import base

REASON_SECRET_MISSING = "SecretMissing"
REASON_SECRET_INVALID_DATA = "SecretInvalidData"
REASON_SIGNING_ERROR = "SigningError"
VERIFIED_MESSAGE = "Signing CA verified"


def _load(
    issuer: t.Issuer, get_secret: base.SecretGetter, cluster_resource_namespace: str, now: _dt.datetime
) -> ca_mod.CAKeyPair | base.Setup:
    spec = issuer.spec.ca
    assert spec is not None
    namespace = base.resource_namespace(issuer, cluster_resource_namespace)
    data = get_secret(namespace, spec.secret_name)
    if data is None:
        return base.Setup(
            False,
            c.REASON_ERR_GET_KEY_PAIR,
            f'Error getting keypair for CA issuer: secret "{spec.secret_name}" not found in namespace "{namespace}"',
        )
    try:
        ca_crt = data.get(c.CA_CERT_KEY)
        pair = _parse_keypair(
            bytes(data.get(c.TLS_CERT_KEY, b"")),
            bytes(data.get(c.TLS_PRIVATE_KEY_KEY, b"")),
            bytes(ca_crt) if ca_crt is not None else None,
        )
        if isinstance(pair, PKIError):
            raise PKIError(pair.message, pair.reason)
        ca_mod.check_not_expired(pair, now)
        return pair
    except PKIError as err:
        message = err.message
        prefix = "Error getting keypair for CA issuer: "
        where = f'Secret "{namespace}/{spec.secret_name}": '
        if message.startswith(prefix):  # name the Secret, as every other message here does
            message = prefix + where + message[len(prefix):]
        else:
            message = where + message
        return base.Setup(False, err.reason or c.REASON_ERR_INVALID_KEY_PAIR, message)


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


@functools.lru_cache(maxsize=256)
def _parse_keypair(tls_crt: bytes, tls_key: bytes, ca_crt: bytes | None) -> ca_mod.CAKeyPair | PKIError:
    """Parsing and vetting a CA costs more than signing with it; the same Secret bytes give the same pair.

    Expiry depends on the time, so it is checked by the caller on every use, not cached.
    """
    try:
        return ca_mod.load_ca_keypair(tls_crt, tls_key, ca_crt, _EPOCH)
    except PKIError as err:
        return err


def setup(
    issuer: t.Issuer, get_secret: base.SecretGetter, cluster_resource_namespace: str, now: _dt.datetime
) -> base.Setup:
    loaded = _load(issuer, get_secret, cluster_resource_namespace, now)
    if isinstance(loaded, base.Setup):
        return loaded
    return base.Setup(True, c.REASON_KEY_PAIR_VERIFIED, VERIFIED_MESSAGE)


def sign_request(
    cr: t.CertificateRequest,
    issuer: t.Issuer,
    get_secret: base.SecretGetter,
    cluster_resource_namespace: str,
    now: _dt.datetime,
) -> base.Outcome:
    spec = issuer.spec.ca
    assert spec is not None
    namespace = base.resource_namespace(issuer, cluster_resource_namespace)
    if get_secret(namespace, spec.secret_name) is None:
        return base.Pending(REASON_SECRET_MISSING, f"Referenced secret {namespace}/{spec.secret_name} not found")
    loaded = _load(issuer, get_secret, cluster_resource_namespace, now)
    if isinstance(loaded, base.Setup):
        if loaded.reason == c.REASON_ERR_GET_KEY_PAIR:
            return base.Pending(
                REASON_SECRET_INVALID_DATA,
                f"Failed to parse signing CA keypair from secret {namespace}/{spec.secret_name}: {loaded.message}",
            )
        return base.Failed(REASON_SIGNING_ERROR, f"Error signing certificate: {loaded.message}")
    try:
        request = csr_mod.load(cr.spec.request)
    except PKIError as err:
        return base.Failed(
            REASON_SIGNING_ERROR,
            f"Error generating certificate template: failed to decode CSR in spec.request: {err} "
            "(do not reuse a CA Secret as a Certificate's secretName)",
        )
    try:
        result = sign.sign_with_ca(
            request,
            cr.spec,
            loaded,
            now,
            crl=spec.crl_distribution_points,
            ocsp=spec.ocsp_servers,
            issuing_urls=spec.issuing_certificate_urls,
        )
    except PKIError as err:
        return base.Failed(REASON_SIGNING_ERROR, f"Error signing certificate: {err}")
    return base.Issued(result.cert_pem_chain, result.ca_pem)
