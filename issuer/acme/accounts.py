"""ACME account keys and settings, as cert-manager's ACME issuer setup (`pkg/issuer/acme/setup.go`) handles
them: load the key from the `privateKeySecretRef` Secret (it must be RSA), generate a new RSA 2048 key
(PKCS#1 PEM, the Secret cert-manager writes), hash it for `status.acme.lastPrivateKeyHash`, decode the
External Account Binding MAC key, and refuse Let's Encrypt's retired ACME v1 URLs.

Called by the Issuer controller (operator) and the offline engine; builds `ACMEClient`s via `client_for`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from josepy import jwk as jose_jwk

from issuer.acme import client as acme_client
from issuer.acme import errors
from issuer.pki import keys
from issuer.pki.errors import PKIError

ACCOUNT_KEY_SIZE = 2048

V1_TO_V2_URLS = {
    "https://acme-v01.api.letsencrypt.org/directory": "https://acme-v02.api.letsencrypt.org/directory",
    "https://acme-staging.api.letsencrypt.org/directory": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "https://acme-v01.api.letsencrypt.org/directory/": "https://acme-v02.api.letsencrypt.org/directory",
    "https://acme-staging.api.letsencrypt.org/directory/": "https://acme-staging-v02.api.letsencrypt.org/directory",
}


def check_server_url(server: str) -> None:
    """InvalidConfig for a known ACME v1 URL, with cert-manager's message naming the v2 replacement."""
    replacement = V1_TO_V2_URLS.get(server)
    if replacement is not None:
        raise errors.InvalidConfig(
            f"Your ACME server URL is set to a v1 endpoint ({server}). "
            f'You should update the spec.acme.server field to "{replacement}"'
        )


def generate_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=ACCOUNT_KEY_SIZE)


def encode_key(key: rsa.RSAPrivateKey) -> bytes:
    """PKCS#1 PEM (`RSA PRIVATE KEY`), as cert-manager stores a generated account key."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def load_key(pem: bytes, secret_name: str) -> rsa.RSAPrivateKey:
    """The RSA account key in `pem`; InvalidConfig when it cannot be parsed or is not RSA.

    `secret_name` names the Secret in cert-manager's message (`ACME private key in "<name>" is not of type RSA`).
    """
    try:
        key = keys.load(pem)
    except PKIError as err:
        raise errors.InvalidConfig(f"Account private key is invalid: {err}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise errors.InvalidConfig(f'ACME private key in "{secret_name}" is not of type RSA')
    return key


def jwk(key: rsa.RSAPrivateKey) -> jose_jwk.JWKRSA:
    return jose_jwk.JWKRSA(key=key)


def private_key_hash(key: rsa.RSAPrivateKey) -> str:
    """base64 (standard, padded) of SHA-256 over the PKCS#1 DER: cert-manager's `lastPrivateKeyHash`."""
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


def decode_eab_key(value: bytes | str) -> bytes:
    """The EAB MAC key from its Secret value: unpadded base64url (padding tolerated); InvalidConfig otherwise."""
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        raise errors.InvalidConfig("failed to get External Account Binding key from secret: the key is empty")
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as err:
        raise errors.InvalidConfig(
            f"failed to get External Account Binding key from secret: illegal base64url data: {err}"
        ) from None


def eab_for_client(key_id: str, secret_value: bytes | str) -> tuple[str, str]:
    """(kid, unpadded base64url MAC key) for `ACMEClient.register`, validated."""
    return key_id, acme_client.b64url(decode_eab_key(secret_value))


def client_for(
    server: str,
    key: rsa.RSAPrivateKey,
    *,
    ca_bundle: bytes = b"",
    skip_tls_verify: bool = False,
    account_uri: str = "",
    user_agent: str = acme_client.DEFAULT_USER_AGENT,
    on_request: acme_client.RequestHook | None = None,
) -> acme_client.ACMEClient:
    """An `ACMEClient` for an Issuer's settings (`caBundle` is the decoded PEM)."""
    check_server_url(server)
    return acme_client.ACMEClient(
        server,
        jwk(key),
        ca_bundle=ca_bundle,
        skip_tls_verify=skip_tls_verify,
        account_uri=account_uri,
        user_agent=user_agent,
        on_request=on_request,
    )
