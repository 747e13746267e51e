"""chain ordering (cert-manager's ParseSingleCertificateChain) and the CA issuer's key pair checks."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from cryptography import x509

from issuer.api import types as t
from issuer.pki import ca, chain, keys
from issuer.pki.errors import PKIError
from tests.unit.pki.helpers import NOW, cached_key, issue_from, make_root, self_signed


@pytest.fixture(scope="module")
def three() -> list[x509.Certificate]:
    """leaf, intermediate, root."""
    root_pair, _ = make_root("Root")
    inter_key = cached_key("ECDSA", 256, 11)
    inter = issue_from(root_pair, t.CertificateSpec(common_name="Intermediate", is_ca=True), inter_key).result
    inter_pair = ca.load_ca_keypair(inter.cert_pem_chain, keys.encode(inter_key), None, NOW)
    leaf = issue_from(inter_pair, t.CertificateSpec(common_name="leaf")).result.leaf
    return [leaf, inter.leaf, root_pair.certificate]


def test_any_order_is_rebuilt_leaf_to_root(three: list[x509.Certificate]) -> None:
    for perm in itertools.permutations(three):
        assert chain.order(list(perm)) == three


def test_duplicates_are_dropped(three: list[x509.Certificate]) -> None:
    assert chain.order([three[2], *three, three[0]]) == three


def test_gaps_and_strangers_break_the_chain(three: list[x509.Certificate]) -> None:
    with pytest.raises(PKIError, match="malformed or broken"):
        chain.order([three[0], three[2]])
    stranger = self_signed(t.CertificateSpec(common_name="Other", is_ca=True), cached_key("ECDSA", 256, 12)).leaf
    with pytest.raises(PKIError, match="malformed or broken"):
        chain.order([*three, stranger])


def test_split_ca(three: list[x509.Certificate]) -> None:
    assert chain.split_ca(three) == (three[:2], three[2])
    assert chain.split_ca(three[:2]) == (three[:2], three[1])
    assert chain.split_ca(three[:1]) == (three[:1], three[0])
    assert chain.root_most([three[1], three[0]]) == three[1]


def test_pem_round_trip_and_other_blocks_ignored(three: list[x509.Certificate]) -> None:
    pem_bytes = chain.encode(three)
    assert chain.load_certificates(b"junk\n" + keys.encode(cached_key("ECDSA")) + pem_bytes) == three


def test_chain_size_caps() -> None:
    with pytest.raises(PKIError, match="larger than the maximum 95000 B"):
        chain.load_certificates(b" " * 95_001)
    with pytest.raises(PKIError, match="larger than the maximum 36500 B"):
        chain.load_certificate(b" " * 36_501)


# CA key pair ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca_pem() -> tuple[bytes, bytes]:
    key = cached_key("ECDSA", 256, 20)
    res = self_signed(t.CertificateSpec(common_name="CA", is_ca=True, duration="24h"), key)
    return res.cert_pem_chain, keys.encode(key)


def test_a_good_ca_loads(ca_pem: tuple[bytes, bytes]) -> None:
    pair = ca.load_ca_keypair(*ca_pem, None, NOW)
    assert pair.certificate.subject.rfc4514_string() == "CN=CA"
    assert pair.chain == () and pair.extra_ca == ()
    assert "PrivateKey" not in repr(pair)


def test_key_that_does_not_match_the_certificate(ca_pem: tuple[bytes, bytes]) -> None:
    with pytest.raises(PKIError, match=r"the private key does not match the certificate in tls\.crt") as err:
        ca.load_ca_keypair(ca_pem[0], keys.encode(cached_key("ECDSA", 256, 21)), None, NOW)
    assert err.value.reason == "ErrInvalidKeyPair"


def test_a_non_ca_certificate(ca_pem: tuple[bytes, bytes]) -> None:
    key = cached_key("ECDSA", 256, 22)
    leaf = self_signed(t.CertificateSpec(common_name="not a CA"), key)
    with pytest.raises(PKIError, match="is not a CA") as err:
        ca.load_ca_keypair(leaf.cert_pem_chain, keys.encode(key), None, NOW)
    assert err.value.reason == "ErrInvalidKeyPair"


def test_an_expired_ca(ca_pem: tuple[bytes, bytes]) -> None:
    with pytest.raises(PKIError, match="expired at") as err:
        ca.load_ca_keypair(*ca_pem, None, NOW + dt.timedelta(hours=25))
    assert err.value.reason == "ErrInvalidKeyPair"


@pytest.mark.parametrize(
    ("which", "data", "message"),
    [
        ("crt", b"", "tls.crt: no PEM data"),
        ("crt", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a valid X.509"),
        ("crt", b" " * 95_001, "larger than the maximum"),
        ("key", b"", "tls.key: private key: no PEM data"),
        ("key", b" " * 13_001, "larger than the maximum 13000 B"),
        ("ca", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "ca.crt contains"),
    ],
)
def test_malformed_data_is_err_get_key_pair(ca_pem: tuple[bytes, bytes], which: str, data: bytes, message: str) -> None:
    crt, key = ca_pem
    args = {"crt": (data, key, None), "key": (crt, data, None), "ca": (crt, key, data)}[which]
    with pytest.raises(PKIError, match=message) as err:
        ca.load_ca_keypair(*args, NOW)
    assert err.value.reason == "ErrGetKeyPair"
    assert str(err.value).startswith("Error getting keypair for CA issuer: ")
    assert "\n" not in str(err.value)


def test_a_certificate_with_a_key_go_cannot_use_still_loads_but_is_refused_as_a_ca() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ed448
    from cryptography.x509.oid import NameOID

    from issuer.pki import secret

    signer = cached_key("ECDSA", 256, 23)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ed448 CA")])
    odd = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ed448.Ed448PrivateKey.generate().public_key())
        .serial_number(5)
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(signer, hashes.SHA256())
    )
    pem_bytes = chain.encode([odd])
    assert chain.load_certificates(pem_bytes) == [odd]
    assert secret.describe_certificate(pem_bytes)["keyAlgorithm"] == "1.3.101.113"
    with pytest.raises(PKIError, match="unsupported public key algorithm") as err:
        ca.load_ca_keypair(pem_bytes, keys.encode(signer), None, NOW)
    assert err.value.reason == "ErrInvalidKeyPair"
