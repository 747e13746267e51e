"""Pebble and BIND on loopback for the acme tier and bench/acme_offline.py (recipe: acme-test-infra.md).

`start_bind` writes a named.conf and a zone (random serial, random TSIG secret) into a folder, starts
`named -g` on a free port and waits until a SOA query returns *our* serial (two BINDs can share a UDP
port silently). `start_pebble` makes its own WFE certificate with cryptography, writes a config with free
ACME/management/HTTP-01 ports, starts `pebble -dnsserver <bind>` and fetches the run's root and
intermediate from the management port. Both return handles whose `stop()` kills by PID.
Missing binaries raise `MissingTool` (the pytest fixtures turn it into a failure, never a skip).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import json
import os
import pathlib
import random
import secrets
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ZONE = "example.test"
TSIG_KEY_NAME = "acme-update"
BLOCKED = f"blocked.{ZONE}"
EAB_KID = "kid-1"
EAB_HMAC = base64.urlsafe_b64encode(b"issuer-test-eab-hmac-key-0123456789abcdef").rstrip(b"=").decode()


class MissingTool(RuntimeError):
    pass


def require(tool: str) -> str:
    path = shutil.which(tool) or (f"/usr/sbin/{tool}" if os.path.exists(f"/usr/sbin/{tool}") else None)
    if path is None:
        raise MissingTool(
            f"{tool} is required for the acme tier and is not installed "
            "(apt-get install pebble bind9 bind9-utils bind9-dnsutils; ./dev installs them in CI)"
        )
    return path


def free_port(udp_too: bool = False) -> int:
    """A port free on 127.0.0.1 for TCP (and UDP when asked)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if not udp_too:
            return port
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port found")


def _wait(check: Any, what: str, proc: subprocess.Popen[bytes], log: pathlib.Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.01
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if check():
                return
        except Exception:  # not up yet
            pass
        time.sleep(delay)
        delay = min(delay * 1.5, 0.1)
    proc.kill()
    raise RuntimeError(f"{what} did not become ready in {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# ---------------------------------------------------------------------------------------------------------
# BIND


@dataclasses.dataclass
class Bind:
    port: int
    zone: str
    serial: int
    tsig_name: str
    tsig_secret: str  # base64
    tsig_algorithm: str  # hmac-sha256
    proc: subprocess.Popen[bytes]
    folder: pathlib.Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        _stop(self.proc)


def start_bind(folder: pathlib.Path) -> Bind:
    named = require("named")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port(udp_too=True)
    serial = random.randint(1000, 2**31 - 1)
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    (folder / "named.conf").write_text(
        f"""options {{ directory "{folder}"; pid-file "named.pid"; session-keyfile "session.key";
  listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};
  recursion no; dnssec-validation no; allow-query {{ 127.0.0.1; }}; }};
controls {{ }};
key "{TSIG_KEY_NAME}" {{ algorithm hmac-sha256; secret "{secret}"; }};
zone "{ZONE}" {{ type primary; file "db.zone"; update-policy {{ grant {TSIG_KEY_NAME} zonesub TXT; }}; }};
zone "sub.{ZONE}" {{ type primary; file "db.sub"; update-policy {{ grant {TSIG_KEY_NAME} zonesub TXT; }}; }};
"""
    )
    (folder / "db.zone").write_text(
        f"""$TTL 60
@   IN SOA ns1.{ZONE}. hostmaster.{ZONE}. {serial} 60 60 600 60
@   IN NS  ns1.{ZONE}.
ns1 IN A   127.0.0.1
@   IN A   127.0.0.1
*   IN A   127.0.0.1
sub IN NS  ns1.{ZONE}.
_acme-challenge.alias IN CNAME _acme-challenge.target.{ZONE}.
"""
    )
    (folder / "db.sub").write_text(
        f"""$TTL 60
@   IN SOA ns1.{ZONE}. hostmaster.{ZONE}. {serial} 60 60 600 60
@   IN NS  ns1.{ZONE}.
@   IN A   127.0.0.1
*   IN A   127.0.0.1
"""
    )
    log = folder / "named.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [named, "-g", "-c", str(folder / "named.conf")], stdout=out, stderr=subprocess.STDOUT, cwd=folder
        )
    bind = Bind(port, ZONE, serial, TSIG_KEY_NAME, secret, "hmac-sha256", proc, folder)

    def ours() -> bool:
        import dns.message
        import dns.query
        import dns.rdatatype

        reply = dns.query.udp(dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=port, timeout=0.5)
        return any(rr.serial == serial for rrset in reply.answer for rr in rrset if rrset.rdtype == dns.rdatatype.SOA)

    _wait(ours, "named", proc, log)
    return bind


# ---------------------------------------------------------------------------------------------------------
# Pebble


@dataclasses.dataclass
class Pebble:
    directory_url: str
    management_url: str
    http_port: int
    ca_bundle: bytes  # trusts Pebble's own HTTPS (ACME and management)
    roots: list[bytes]  # PEM roots of the issued chains, /roots/0 first (alternates follow)
    intermediates: list[bytes]
    proc: subprocess.Popen[bytes]
    folder: pathlib.Path
    env: dict[str, str]
    dns_server: str = ""

    @property
    def root(self) -> bytes:
        return self.roots[0]

    @property
    def intermediate(self) -> bytes:
        return self.intermediates[0]

    def stop(self) -> None:
        _stop(self.proc)

    def log(self) -> str:
        return (self.folder / "pebble.log").read_text(errors="replace")


def make_wfe_cert(folder: pathlib.Path) -> bytes:
    """A CA and a localhost/127.0.0.1 server cert for Pebble's HTTPS; returns the CA PEM."""
    now = _dt.datetime.now(_dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pebble-wfe-test-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    (folder / "wfe-ca.pem").write_bytes(ca_pem)
    (folder / "wfe.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "wfe.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_pem


def start_pebble(
    folder: pathlib.Path,
    dns_server: str,
    *,
    env: dict[str, str] | None = None,
    eab_required: bool = False,
    validity_seconds: int | None = None,
    http_port: int | None = None,
) -> Pebble:
    require("pebble")
    folder.mkdir(parents=True, exist_ok=True)
    ca_pem = make_wfe_cert(folder)
    acme_port, mgmt_port = free_port(), free_port()
    http_port = http_port or free_port()
    config: dict[str, Any] = {
        "listenAddress": f"127.0.0.1:{acme_port}",
        "managementListenAddress": f"127.0.0.1:{mgmt_port}",
        "certificate": "wfe.pem",
        "privateKey": "wfe.key",
        "httpPort": http_port,
        "tlsPort": free_port(),
        "ocspResponderURL": "",
        "externalAccountBindingRequired": eab_required,
        "externalAccountMACKeys": {EAB_KID: EAB_HMAC},
        "domainBlocklist": [BLOCKED],
    }
    if validity_seconds is not None:
        config["certificateValidityPeriod"] = validity_seconds
    (folder / "pebble-config.json").write_text(json.dumps({"pebble": config}))
    full_env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", **(env or {})}
    return _launch(folder, dns_server, full_env, ca_pem, acme_port, mgmt_port, http_port)


def restart_pebble(old: Pebble) -> Pebble:
    """Stop `old` and start a new Pebble in its folder: the same ports, WFE certificate and environment (a
    client's caBundle keeps working), but new roots and intermediates and no memory of accounts or orders."""
    old.stop()
    acme_port = int(old.directory_url.split(":")[2].split("/")[0])
    mgmt_port = int(old.management_url.rsplit(":", 1)[1])
    return _launch(old.folder, old.dns_server, old.env, old.ca_bundle, acme_port, mgmt_port, old.http_port)


def _launch(folder: pathlib.Path, dns_server: str, full_env: dict[str, str], ca_pem: bytes, acme_port: int,
            mgmt_port: int, http_port: int) -> Pebble:
    pebble = require("pebble")
    log = folder / "pebble.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [pebble, "-config", "pebble-config.json", "-dnsserver", dns_server],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env={**os.environ, **full_env},
        )
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    directory_url = f"https://127.0.0.1:{acme_port}/dir"
    management_url = f"https://127.0.0.1:{mgmt_port}"

    def up() -> bool:
        with urllib.request.urlopen(directory_url, context=ctx, timeout=1) as resp:
            return bool(resp.status == 200)

    _wait(up, "pebble", proc, log)

    def fetch(path: str) -> bytes:
        with urllib.request.urlopen(management_url + path, context=ctx, timeout=5) as resp:
            data: bytes = resp.read()
            return data

    extra = int(full_env.get("PEBBLE_ALTERNATE_ROOTS", "0") or 0)
    try:
        roots = [fetch(f"/roots/{i}") for i in range(extra + 1)]
        intermediates = [fetch(f"/intermediates/{i}") for i in range(extra + 1)]
    except OSError:
        _stop(proc)
        raise
    return Pebble(directory_url, management_url, http_port, ca_pem, roots, intermediates, proc, folder, full_env,
                  dns_server)
