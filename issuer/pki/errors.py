"""The one exception the PKI core raises, and cert-manager's PEM size caps.

Every failure to parse user-supplied PEM or to build/sign a certificate surfaces as `PKIError`, a
`ValueError` with a readable one-line message that never contains key material. Callers (signers,
controllers, the CLI) turn it into a condition reason and message; `reason` carries the cert-manager
reason string where one applies (e.g. `ErrGetKeyPair`, `ErrInvalidKeyPair`, `ErrorKeyMatch`).

Size caps follow cert-manager's `internal/pem` (checked before any parsing): a single certificate or a CSR
36,500 bytes, a certificate chain 95,000 bytes (one large leaf plus nine 6,500-byte certificates), a
trust bundle (`ca.crt`) 330,000 bytes, a private key 13,000 bytes.
"""

from __future__ import annotations

MAX_CERTIFICATE_PEM_SIZE = 36_500
MAX_CHAIN_PEM_SIZE = 95_000
MAX_BUNDLE_PEM_SIZE = 330_000
MAX_PRIVATE_KEY_PEM_SIZE = 13_000


class PKIError(ValueError):
    """A PKI operation failed; `str(err)` is one human sentence, `reason` a cert-manager reason or ""."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(" ".join(message.split()))
        self.reason = reason

    @property
    def message(self) -> str:
        return str(self)
