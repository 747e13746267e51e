"""keys: generation per spec, encodings, loading, comparison and spec matching."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa, x25519

from issuer.api import types as t
from issuer.pki import keys
from issuer.pki.errors import PKIError
from tests.unit.pki.helpers import cached_key


@pytest.mark.parametrize(
    ("algorithm", "size", "kind", "bits"),
    [
        ("ECDSA", None, ec.EllipticCurvePrivateKey, 256),
        ("ECDSA", 256, ec.EllipticCurvePrivateKey, 256),
        ("ECDSA", 384, ec.EllipticCurvePrivateKey, 384),
        ("ECDSA", 521, ec.EllipticCurvePrivateKey, 521),
        ("Ed25519", None, ed25519.Ed25519PrivateKey, None),
        ("Ed25519", 4096, ed25519.Ed25519PrivateKey, None),
        ("RSA", None, rsa.RSAPrivateKey, 2048),
    ],
    ids=str,
)
def test_generate_follows_the_spec(algorithm: str, size: int | None, kind: type, bits: int | None) -> None:
    key = cached_key(algorithm, size)
    assert isinstance(key, kind)
    assert keys.size_of(key) == bits


def test_no_spec_means_rsa_2048_with_exponent_65537() -> None:
    key = cached_key("RSA", None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.private_numbers().public_numbers.e == 65537


@pytest.mark.parametrize(
    ("algorithm", "size", "message"),
    [
        ("RSA", 1024, "between 2048 and 8192"),
        ("RSA", 16384, "between 2048 and 8192"),
        ("ECDSA", 224, "256, 384, 521"),
        ("DSA", None, "must be one of RSA, ECDSA, Ed25519"),
    ],
)
def test_generate_refuses_unsupported_parameters(algorithm: str, size: int | None, message: str) -> None:
    with pytest.raises(PKIError, match=message):
        keys.generate(t.CertificatePrivateKey(algorithm=algorithm, size=size))


@pytest.mark.parametrize(
    ("algorithm", "encoding", "header"),
    [
        ("RSA", "PKCS1", b"-----BEGIN RSA PRIVATE KEY-----"),
        ("RSA", "PKCS8", b"-----BEGIN PRIVATE KEY-----"),
        ("ECDSA", "PKCS1", b"-----BEGIN EC PRIVATE KEY-----"),
        ("ECDSA", "PKCS8", b"-----BEGIN PRIVATE KEY-----"),
        ("Ed25519", "PKCS1", b"-----BEGIN PRIVATE KEY-----"),
        ("Ed25519", "PKCS8", b"-----BEGIN PRIVATE KEY-----"),
    ],
)
def test_encode_and_load_round_trip(algorithm: str, encoding: str, header: bytes) -> None:
    key = cached_key(algorithm)
    pem = keys.encode(key, encoding)
    assert pem.startswith(header)
    loaded = keys.load(pem)
    assert keys.public_keys_equal(loaded, key)
    assert keys.der(key) == key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_load_takes_the_first_block_and_ignores_surrounding_text() -> None:
    a, b = cached_key("ECDSA", 256, 1), cached_key("ECDSA", 256, 2)
    loaded = keys.load(b"garbage before\n" + keys.encode(a) + keys.encode(b) + b"trailing")
    assert keys.public_keys_equal(loaded, a)
    assert not keys.public_keys_equal(loaded, b)


def test_public_keys_equal_accepts_public_and_private_keys() -> None:
    key = cached_key("ECDSA")
    assert keys.public_keys_equal(key, key.public_key())
    assert not keys.public_keys_equal(key, cached_key("Ed25519"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no PEM data"),
        (b"not pem at all", "no PEM data"),
        (b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n", "not valid base64"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "not a valid PKCS#8 key"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "unknown private key type"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", "BEGIN and END"),
        (b"x" * 13_001, "larger than the maximum 13000 B"),
        (
            b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n",
            "headers",
        ),
    ],
    ids=["empty", "text", "bad-base64", "bad-der", "certificate", "mismatched-end", "oversize", "encrypted-legacy"],
)
def test_load_refuses_bad_input_with_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(PKIError, match=message) as err:
        keys.load(data)
    assert "\n" not in str(err.value)


def test_load_refuses_encrypted_pkcs8() -> None:
    pem = cached_key("ECDSA").private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
    )
    with pytest.raises(PKIError, match="encrypted"):
        keys.load(pem)


@pytest.mark.parametrize("maker", [ed448.Ed448PrivateKey.generate, x25519.X25519PrivateKey.generate])
def test_load_refuses_key_types_cert_manager_does_not_support(maker: object) -> None:
    key = maker()  # type: ignore[operator]
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(PKIError, match="unsupported private key type"):
        keys.load(pem)


def test_load_accepts_keys_outside_the_generation_range_like_cert_manager() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    loaded = keys.load(keys.encode(small))
    assert keys.key_matches_spec(loaded, t.CertificateSpec()) == ["spec.privateKey.size"]
    p224 = ec.generate_private_key(ec.SECP224R1())
    assert keys.size_of(keys.load(keys.encode(p224))) == 224
    assert isinstance(keys.signature_hash(p224), hashes.SHA256)


def test_load_refuses_ec_curves_cert_manager_does_not_support() -> None:
    key = ec.generate_private_key(ec.SECP256K1())
    with pytest.raises(PKIError, match="unsupported elliptic curve"):
        keys.load(keys.encode(key))


@pytest.mark.parametrize(
    ("key_args", "spec_key", "expected"),
    [
        (("ECDSA", 256), None, ["spec.privateKey.algorithm"]),
        (("ECDSA", 256), t.CertificatePrivateKey(algorithm="ECDSA"), []),
        (("ECDSA", 384), t.CertificatePrivateKey(algorithm="ECDSA"), ["spec.privateKey.size"]),
        (("ECDSA", 384), t.CertificatePrivateKey(algorithm="ECDSA", size=384), []),
        (("RSA", None), None, []),
        (("RSA", None), t.CertificatePrivateKey(algorithm="RSA", size=4096), ["spec.privateKey.size"]),
        (("Ed25519", None), t.CertificatePrivateKey(algorithm="Ed25519", size=1), []),
        (("Ed25519", None), t.CertificatePrivateKey(algorithm="ECDSA"), ["spec.privateKey.algorithm"]),
    ],
    ids=[
        "ecdsa key but spec defaults to RSA",
        "ecdsa p256 matches defaulted size",
        "p384 key but spec defaults to 256",
        "p384 matches 384",
        "rsa 2048 matches all defaults",
        "rsa 2048 but 4096 asked",
        "ed25519 ignores size",
        "ed25519 key but ECDSA asked",
    ],
)
def test_key_matches_spec(
    key_args: tuple[str, int | None], spec_key: t.CertificatePrivateKey | None, expected: list[str]
) -> None:
    key = cached_key(*key_args)
    assert keys.key_matches_spec(key, t.CertificateSpec(private_key=spec_key)) == expected


@pytest.mark.parametrize(
    ("key_args", "requested", "expected"),
    [
        (("ECDSA", 256), "", hashes.SHA256),
        (("ECDSA", 384), "", hashes.SHA384),
        (("ECDSA", 521), "", hashes.SHA512),
        (("RSA", None), "", hashes.SHA256),
        (("RSA", None), "SHA512WithRSA", hashes.SHA512),
        (("ECDSA", 256), "ECDSAWithSHA384", hashes.SHA384),
        (("Ed25519", None), "", type(None)),
        (("Ed25519", None), "PureEd25519", type(None)),
    ],
)
def test_signature_hash(key_args: tuple[str, int | None], requested: str, expected: type) -> None:
    assert isinstance(keys.signature_hash(cached_key(*key_args), requested), expected)


def test_signature_hash_refuses_an_algorithm_for_another_key_type() -> None:
    with pytest.raises(PKIError, match="does not fit a ECDSA key"):
        keys.signature_hash(cached_key("ECDSA"), "SHA256WithRSA")


def test_keys_are_parsed_once_per_content_since_an_rsa_key_check_costs_25_ms() -> None:
    """The operator reads the same Secret's tls.key on every reconcile (found by tests/controller)."""
    from issuer.pki import match

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ours = keys.encode(key, "PKCS8")
    assert keys.load(ours) is key
    assert match.parse_private_key(ours).value is key
    foreign = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    # not written by keys.encode: each loader checks it once, then remembers it
    first = keys.load(foreign)
    assert first is not key and keys.load(foreign) is first
    parsed = match.parse_private_key(foreign).value
    assert parsed is not None and match.parse_private_key(foreign).value is parsed
