"""PEM framing with cert-manager's size caps: split a byte string into typed DER blocks.

Mirrors Go's `encoding/pem` behaviour closely enough for Secrets and CSRs (text before, between and after
blocks is ignored; headers are refused because they only appear in legacy encrypted keys). Used by the
loaders in keys, csr and chain; nothing here knows about X.509.
"""

from __future__ import annotations

import base64
import binascii
import re

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from issuer.pki.errors import PKIError

# What cryptography raises for malformed DER (InvalidVersion and friends are not ValueErrors).
PARSE_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)

_BLOCK = re.compile(
    rb"-----BEGIN ([^\r\n-]*)-----[ \t]*\r?\n(.*?)-----END ([^\r\n-]*)-----",
    re.DOTALL,
)


def check_size(data: bytes, limit: int, what: str) -> None:
    """Refuse input larger than cert-manager accepts, before parsing it."""
    if not isinstance(data, bytes | bytearray):
        raise PKIError(f"{what} must be bytes, not {type(data).__name__}")
    if len(data) > limit:
        raise PKIError(f"{what} is {len(data)} bytes, larger than the maximum {limit} B")


def blocks(data: bytes, limit: int, what: str) -> list[tuple[str, bytes]]:
    """All PEM blocks in `data` as (type, DER); PKIError if there is none or one is malformed."""
    check_size(data, limit, what)
    found: list[tuple[str, bytes]] = []
    for match in _BLOCK.finditer(bytes(data)):
        begin, body, end = match.group(1), match.group(2), match.group(3)
        if begin != end:
            raise PKIError(f"{what} has a PEM block whose BEGIN and END lines differ")
        if b":" in body:
            raise PKIError(f"{what} has a PEM block with headers (encrypted PEM is not supported)")
        try:
            der = base64.b64decode(b"".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            raise PKIError(f"{what} has a PEM block that is not valid base64") from None
        found.append((begin.decode("ascii", "replace"), der))
    if not found:
        raise PKIError(f"{what}: no PEM data was found")
    return found


def encode(kind: str, der: bytes) -> bytes:
    """One PEM block, 64-column base64, trailing newline (like Go's pem.Encode)."""
    b64 = base64.b64encode(der)
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return b"".join(
        [f"-----BEGIN {kind}-----\n".encode(), *(line + b"\n" for line in lines), f"-----END {kind}-----\n".encode()]
    )
