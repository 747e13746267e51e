"""Private keys: generate from a Certificate's `spec.privateKey`, encode (PKCS#1/SEC1 or PKCS#8), load, compare.

Called by the key manager (new private key Secrets), the SelfSigned signer (the key named by the CR
annotation), the CA issuer (its Secret) and the CLI. Generation: RSA 2048-8192 (public exponent 65537),
ECDSA P-256/P-384/P-521 and Ed25519 - cert-manager's set. Loading accepts PKCS#1 (`RSA PRIVATE KEY`),
SEC1 (`EC PRIVATE KEY`) and PKCS#8 (`PRIVATE KEY`), unencrypted, first block only, and any key Go's x509
can sign with (RSA from 1024 bits, P-224 to P-521, Ed25519), as cert-manager does.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import TypeAlias

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from issuer.api import constants as c
from issuer.api import defaults
from issuer.api import types as t
from issuer.pki import memo, pem
from issuer.pki.errors import MAX_PRIVATE_KEY_PEM_SIZE, PKIError

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey: TypeAlias = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

_CURVES: dict[int, ec.EllipticCurve] = {256: ec.SECP256R1(), 384: ec.SECP384R1(), 521: ec.SECP521R1()}
_CURVE_SIZES: dict[str, int] = {"secp224r1": 224, "secp256r1": 256, "secp384r1": 384, "secp521r1": 521}
_LOADABLE_CURVES = frozenset(_CURVE_SIZES)
# Loading an RSA key checks it (about 25 ms for 2048 bits), and the operator reads the same Secret's key on
# every reconcile: remember loaded keys by their PEM bytes.
_LOADED: memo.BytesMemo[PrivateKey] = memo.BytesMemo(4096)
# What `encode` wrote (any reader may take these as parsed: they came from a key object we hold).
ENCODED: memo.BytesMemo[PrivateKey] = memo.BytesMemo(4096)


def generate(private_key_spec: t.CertificatePrivateKey | None) -> PrivateKey:
    """A new key as the spec asks (defaults: RSA 2048, ECDSA P-256); PKIError for unsupported values."""
    spec = defaults.private_key_of(private_key_spec)
    if spec.algorithm == c.RSA:
        size = spec.size or c.RSA_DEFAULT_SIZE
        if not c.RSA_MIN_SIZE <= size <= c.RSA_MAX_SIZE:
            raise PKIError(f"unsupported RSA key size {size}: must be between {c.RSA_MIN_SIZE} and {c.RSA_MAX_SIZE}")
        return rsa.generate_private_key(public_exponent=65537, key_size=size)
    if spec.algorithm == c.ECDSA:
        curve = _CURVES.get(spec.size or c.ECDSA_DEFAULT_SIZE)
        if curve is None:
            raise PKIError(f"unsupported ECDSA key size {spec.size}: must be one of 256, 384, 521")
        return ec.generate_private_key(curve)
    if spec.algorithm == c.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    raise PKIError(f"unsupported private key algorithm {spec.algorithm!r}: must be one of RSA, ECDSA, Ed25519")


def encode(key: PrivateKey, encoding: str = c.PKCS1) -> bytes:
    """PEM: PKCS1 gives `RSA PRIVATE KEY` (RSA) or SEC1 `EC PRIVATE KEY` (EC); PKCS8 `PRIVATE KEY`.

    Ed25519 keys are always PKCS#8 (no PKCS#1 form exists), as in cert-manager.
    """
    data = key.private_bytes(serialization.Encoding.PEM, _format(key, encoding), serialization.NoEncryption())
    with contextlib.suppress(PKIError):  # a key `load` must refuse is not remembered
        ENCODED.put(data, check_supported(key))
    return data


def der(key: PrivateKey, encoding: str = c.PKCS8) -> bytes:
    """DER bytes of the key in the given encoding (PKCS8 by default; `key.der` uses the spec's encoding)."""
    return key.private_bytes(serialization.Encoding.DER, _format(key, encoding), serialization.NoEncryption())


def _format(key: PrivateKey, encoding: str) -> serialization.PrivateFormat:
    if encoding not in c.KEY_ENCODINGS and encoding:
        raise PKIError(f"unsupported private key encoding {encoding!r}: must be PKCS1 or PKCS8")
    if isinstance(key, ed25519.Ed25519PrivateKey) or encoding == c.PKCS8:
        return serialization.PrivateFormat.PKCS8
    return serialization.PrivateFormat.TraditionalOpenSSL


_LOADERS = {"PRIVATE KEY": "PKCS#8", "RSA PRIVATE KEY": "PKCS#1", "EC PRIVATE KEY": "SEC1"}


def load(data: bytes) -> PrivateKey:
    """The first PEM private key in `data`; PKIError for anything else (encrypted, malformed, unsupported)."""
    data = bytes(data)
    known = _LOADED.get(data) or ENCODED.get(data)
    if known is not None:
        return known
    kind, body = pem.blocks(data, MAX_PRIVATE_KEY_PEM_SIZE, "private key")[0]
    if kind == "ENCRYPTED PRIVATE KEY":
        raise PKIError("private key is encrypted; only unencrypted keys are supported")
    if kind not in _LOADERS:
        raise PKIError(f"unknown private key type {kind!r} in PEM block")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            key = serialization.load_der_private_key(body, password=None)
    except pem.PARSE_ERRORS:
        raise PKIError(f"private key is not a valid {_LOADERS[kind]} key") from None
    if kind == "RSA PRIVATE KEY" and not isinstance(key, rsa.RSAPrivateKey):
        raise PKIError("PEM block says RSA PRIVATE KEY but holds another key type")
    if kind == "EC PRIVATE KEY" and not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PKIError("PEM block says EC PRIVATE KEY but holds another key type")
    loaded = check_supported(key)
    _LOADED.put(data, loaded)
    return loaded


def check_supported(key: object) -> PrivateKey:
    """The key itself if Go's x509 (and so cert-manager) can sign with it, else PKIError.

    Loading is as permissive as cert-manager: any RSA size from 1024 bits, the NIST curves P-224 to P-521,
    Ed25519. Whether a key fits a Certificate's spec is `key_matches_spec`'s job, not the loader's.
    """
    algorithm, private = _kind_of(key)
    if private and algorithm == c.RSA:
        if key.key_size < 1024:  # type: ignore[attr-defined]
            raise PKIError(f"unsupported RSA key size {key.key_size}: must be at least 1024 bits")  # type: ignore[attr-defined]
        return key  # type: ignore[return-value]
    if private and algorithm == c.ECDSA:
        curve = key.curve.name  # type: ignore[attr-defined]
        if curve not in _LOADABLE_CURVES:
            raise PKIError(f"unsupported elliptic curve {curve}: must be P-224, P-256, P-384 or P-521")
        return key  # type: ignore[return-value]
    if private and algorithm == c.ED25519:
        return key  # type: ignore[return-value]
    raise PKIError(f"unsupported private key type {type(key).__name__}: must be RSA, ECDSA or Ed25519")


def public_der(key: PrivateKey | PublicKey | object) -> bytes:
    """SubjectPublicKeyInfo DER of a private or public key."""
    public = key.public_key() if hasattr(key, "public_key") else key
    if not hasattr(public, "public_bytes"):
        raise PKIError(f"not a key: {type(key).__name__}")
    spki: bytes = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return spki


def public_keys_equal(a: PrivateKey | PublicKey | object, b: PrivateKey | PublicKey | object) -> bool:
    """True when both (private or public) keys have the same public key."""
    return public_der(a) == public_der(b)


def algorithm_of(key: PrivateKey | PublicKey | object) -> str:
    """cert-manager's algorithm name (RSA, ECDSA, Ed25519) of a private or public key, "" if other."""
    return _kind_of(key)[0]


def _kind_of(key: object) -> tuple[str, bool]:
    """(algorithm_of, is a private key); isinstance against cryptography's ABCs costs a microsecond each, so
    the answer is kept per type."""
    kind = type(key)
    found = _KINDS.get(kind)
    if found is None:
        if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
            found = (c.RSA, isinstance(key, rsa.RSAPrivateKey))
        elif isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
            found = (c.ECDSA, isinstance(key, ec.EllipticCurvePrivateKey))
        elif isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
            found = (c.ED25519, isinstance(key, ed25519.Ed25519PrivateKey))
        else:
            found = ("", False)
        if len(_KINDS) < 64:
            _KINDS[kind] = found
    return found


_KINDS: dict[type, tuple[str, bool]] = {}


def size_of(key: PrivateKey | PublicKey | object) -> int | None:
    """RSA modulus bits, EC curve size (256/384/521), None for Ed25519 and others."""
    algorithm = _kind_of(key)[0]
    if algorithm == c.RSA:
        return key.key_size  # type: ignore[union-attr]
    if algorithm == c.ECDSA:
        curve = key.curve  # type: ignore[union-attr]
        return _CURVE_SIZES.get(curve.name, curve.key_size)
    return None


def key_matches_spec(key: PrivateKey | PublicKey, spec: t.CertificateSpec) -> list[str]:
    """Field paths where the key differs from spec.privateKey (cert-manager's PrivateKeyMatchesSpec)."""
    want = defaults.private_key(spec)
    have = algorithm_of(key)
    if have != want.algorithm:
        return ["spec.privateKey.algorithm"]
    if have in (c.RSA, c.ECDSA) and size_of(key) != want.size:
        return ["spec.privateKey.size"]
    return []


SignatureHash: TypeAlias = hashes.SHA256 | hashes.SHA384 | hashes.SHA512

# Hash objects hold no state: one of each serves every signature.
_SHA256, _SHA384, _SHA512 = hashes.SHA256(), hashes.SHA384(), hashes.SHA512()

_REQUESTED_HASHES: dict[str, tuple[str, type[SignatureHash] | None]] = {
    "SHA256WithRSA": (c.RSA, hashes.SHA256),
    "SHA384WithRSA": (c.RSA, hashes.SHA384),
    "SHA512WithRSA": (c.RSA, hashes.SHA512),
    "ECDSAWithSHA256": (c.ECDSA, hashes.SHA256),
    "ECDSAWithSHA384": (c.ECDSA, hashes.SHA384),
    "ECDSAWithSHA512": (c.ECDSA, hashes.SHA512),
    "PureEd25519": (c.ED25519, None),
}


def signature_hash(key: PrivateKey, requested: str = "") -> SignatureHash | None:
    """The hash to sign with: `requested` (spec.signatureAlgorithm) if given, else from the key.

    Key defaults as cert-manager's: RSA >= 4096 bits SHA-512, >= 3072 SHA-384, else SHA-256 (PKCS#1 v1.5);
    P-521 ECDSA-SHA512, P-384 SHA384, P-256 SHA256; Ed25519 None (PureEd25519).
    """
    algorithm, private = _kind_of(key)
    if requested:
        if requested not in _REQUESTED_HASHES:
            raise PKIError(f"unsupported signature algorithm {requested!r}")
        want, hash_cls = _REQUESTED_HASHES[requested]
        if want != algorithm:
            raise PKIError(f"signature algorithm {requested} does not fit a {algorithm or 'non-supported'} key")
        return hash_cls() if hash_cls else None
    if private and algorithm == c.RSA:
        bits = key.key_size  # type: ignore[union-attr]
        return _SHA512 if bits >= 4096 else _SHA384 if bits >= 3072 else _SHA256
    if private and algorithm == c.ECDSA:
        size = size_of(key)
        return _SHA512 if size == 521 else _SHA384 if size == 384 else _SHA256
    if private and algorithm == c.ED25519:
        return None
    raise PKIError(f"unsupported signing key type {type(key).__name__}")
