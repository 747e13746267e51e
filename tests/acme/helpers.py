"""Small helpers of the acme tier: CSRs, a chain splitter, a solver that serves whatever it is told."""

from __future__ import annotations

import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from issuer.acme import client as acme_client
from issuer.acme import flow


def csr(names: list[str], *, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None) -> tuple[bytes, bytes]:
    """(CSR PEM, key PEM) for `names` (IPs become IP SANs); a new P-256 key unless given."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(x509.SubjectAlternativeName(sans), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return request.public_bytes(serialization.Encoding.PEM), key_pem


def split_chain(chain_pem: bytes) -> tuple[bytes, bytes]:
    """(leaf PEM, the rest) of a PEM chain."""
    certs = x509.load_pem_x509_certificates(chain_pem)
    leaf = certs[0].public_bytes(serialization.Encoding.PEM)
    rest = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs[1:])
    return leaf, rest


def sans(chain_pem: bytes) -> list[str]:
    leaf = x509.load_pem_x509_certificates(chain_pem)[0]
    ext = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return sorted([*ext.get_values_for_type(x509.DNSName), *(str(i) for i in ext.get_values_for_type(x509.IPAddress))])


def http01_chooser(solver: flow.StandaloneHTTP01) -> flow.Chooser:
    def choose(authz: acme_client.Authorization) -> flow.Solver | None:
        return solver

    return choose
