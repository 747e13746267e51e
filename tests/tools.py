"""Outside judges of our certificates, shared by the test tiers: openssl, pkilint, a real TLS handshake.

None of these were written by us: `openssl verify`, pkilint's RFC 5280 linter (run in process, since its
CLI spends a second importing), and Python's `ssl` doing a full handshake over loopback.
"""

from __future__ import annotations

import functools
import pathlib
import socket
import ssl
import subprocess
import tempfile
import threading
from typing import Any

import pytest


def require(tool: str) -> str:
    """The tool's path; a missing tool fails the test loudly (CI must install it), it never skips."""
    import shutil

    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is required for this test and is not installed (./dev setup --system installs it)")
    return path


def openssl_verify(leaf_pem: bytes, ca_pem: bytes, untrusted_pem: bytes = b"", *, purpose: str = "") -> str:
    """`openssl verify -CAfile ca -untrusted chain leaf`; returns its output, fails the test unless OK."""
    openssl = require("openssl")
    with tempfile.TemporaryDirectory() as tmp:
        d = pathlib.Path(tmp)
        (d / "leaf.pem").write_bytes(leaf_pem)
        (d / "ca.pem").write_bytes(ca_pem)
        args = [openssl, "verify", "-CAfile", str(d / "ca.pem")]
        if untrusted_pem:
            (d / "untrusted.pem").write_bytes(untrusted_pem)
            args += ["-untrusted", str(d / "untrusted.pem")]
        if purpose:
            args += ["-purpose", purpose]
        args.append(str(d / "leaf.pem"))
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
    out = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0 and out.endswith("OK"), out
    return out


@functools.cache
def _pkix_validator() -> Any:
    from pkilint.pkix import certificate, extension, name

    return certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(name.ATTRIBUTE_TYPE_MAPPINGS, extension.EXTENSION_MAPPINGS),
        [
            certificate.create_issuer_validator_container([]),
            certificate.create_validity_validator_container(),
            certificate.create_subject_validator_container([]),
            certificate.create_extensions_validator_container([]),
            certificate.create_spki_validator_container([]),
        ],
    )


def pkix_findings(cert_pem: bytes, *, threshold: str = "WARNING") -> list[str]:
    """Codes of pkilint `lint_pkix_cert` findings at `threshold` or worse (WARNING, ERROR, FATAL)."""
    from pkilint import loader
    from pkilint.validation import ValidationFindingSeverity

    limit = ValidationFindingSeverity[threshold]
    text = cert_pem.decode()
    first = text[: text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    doc = loader.RFC5280CertificateDocumentLoader().load_pem_document(first, "cert")
    results = _pkix_validator().validate(doc.root)
    return sorted(
        f"{fd.finding.code}"
        for result in results
        for fd in result.finding_descriptions
        if fd.finding.severity <= limit
    )


def tls_handshake(chain_pem: bytes, key_pem: bytes, ca_pem: bytes, hostname: str) -> str:
    """Serve `chain_pem`/`key_pem` on loopback, connect trusting only `ca_pem` with hostname checking.

    Returns the negotiated TLS version; raises ssl.SSLError when the client refuses the server.
    """
    with tempfile.TemporaryDirectory() as tmp:
        d = pathlib.Path(tmp)
        (d / "chain.pem").write_bytes(chain_pem)
        (d / "key.pem").write_bytes(key_pem)
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(d / "chain.pem", d / "key.pem")
    client_ctx = ssl.create_default_context(cadata=ca_pem.decode())
    client_ctx.check_hostname = True

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(tls.recv(16))
        except (OSError, ssl.SSLError) as exc:  # the client's refusal shows up here too
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            client_ctx.wrap_socket(raw, server_hostname=hostname) as tls,
        ):
            tls.sendall(b"ping")
            assert tls.recv(16) == b"ping"
            version = tls.version() or ""
    finally:
        thread.join(timeout=5)
        listener.close()
    return version
