"""Outside judges for what the PKI core issues: `openssl verify`, pkilint's RFC 5280 linter (in-process, as
`lint_pkix_cert lint -s WARNING`), a real TLS handshake with Python's ssl, and `openssl pkcs12` on keystores.

Known pkilint false positives, asserted to be the ONLY findings where they occur: every wildcard dNSName
(`pkix.invalid_domain_name_syntax`) and URIs with a non-http scheme such as spiffe://.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
import socket
import ssl
import subprocess
import threading
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from issuer.api import types as t
from issuer.pki import ca, chain, csr, keys, secret, sign
from issuer.pki.errors import PKIError
from tests import tools
from tests.unit.pki.helpers import NOW, cached_key, issue_from, make_root, request_spec_for, self_signed

pytestmark = pytest.mark.tools

OPENSSL = "/usr/bin/openssl"
UPN = "1.3.6.1.4.1.311.20.2.3"
# findings that are pkilint's problem, not ours (see module docstring)
WILDCARD = {"pkix.invalid_domain_name_syntax"}
NON_HTTP_URI = {"pkix.invalid_uri_syntax"}


def pkilint_findings(cert: x509.Certificate) -> set[str]:
    """Finding codes at WARNING or worse, like `lint_pkix_cert lint -s WARNING`."""
    return set(tools.pkix_findings(cert.public_bytes(serialization.Encoding.PEM)))


@dataclasses.dataclass
class Case:
    """An issued certificate as its Secret would hold it."""

    tls_crt: bytes
    tls_key: bytes
    ca_crt: bytes
    hostname: str
    allowed_findings: frozenset[str] = frozenset()

    @property
    def certs(self) -> list[x509.Certificate]:
        return x509.load_pem_x509_certificates(self.tls_crt)


def _leaf_case(pair: ca.CAKeyPair, spec: t.CertificateSpec, hostname: str, allowed: set[str] | None = None) -> Case:
    key = keys.generate(spec.private_key or t.CertificatePrivateKey(algorithm="ECDSA"))
    res = issue_from(pair, spec, key).result
    data = secret.build_secret_data(spec, res.cert_pem_chain, res.ca_pem, key, {})
    return Case(data["tls.crt"], data["tls.key"], data["ca.crt"], hostname, frozenset(allowed or ()))


@functools.cache
def _roots() -> dict[str, tuple[ca.CAKeyPair, bytes]]:
    out = {"ecdsa": make_root("Tools Root EC")}
    rsa_key = cached_key("RSA")
    res = self_signed(t.CertificateSpec(common_name="Tools Root RSA", is_ca=True), rsa_key)
    out["rsa"] = (ca.load_ca_keypair(res.cert_pem_chain, keys.encode(rsa_key), None, NOW), res.ca_pem)
    return out


@functools.cache
def _intermediate() -> tuple[ca.CAKeyPair, bytes]:
    root_pair, root_pem = _roots()["ecdsa"]
    key = cached_key("ECDSA", 384, 50)
    nc = t.NameConstraints(
        critical=True,
        permitted=t.NameConstraintItem(dns_domains=("example.test",), ip_ranges=("127.0.0.0/8",)),
        excluded=t.NameConstraintItem(dns_domains=("bad.example.test",)),
    )
    spec = t.CertificateSpec(
        common_name="Tools Intermediate", is_ca=True, name_constraints=nc, usages=("cert sign", "crl sign")
    )
    inter = issue_from(root_pair, spec, key).result
    pair = ca.load_ca_keypair(inter.cert_pem_chain, keys.encode(key), root_pem, NOW)
    return pair, root_pem


def dns(name: str, **kw: Any) -> t.CertificateSpec:
    return t.CertificateSpec(
        secret_name="s",
        common_name=name,
        dns_names=(name,),
        usages=("server auth", *kw.pop("extra_usages", ("digital signature", "key encipherment"))),
        **kw,
    )


def _cases() -> dict[str, Case]:
    ec_root, _ = _roots()["ecdsa"]
    rsa_root, _ = _roots()["rsa"]
    inter, _ = _intermediate()
    cases = {
        "rsa-2048 leaf": _leaf_case(
            ec_root, dns("rsa.example.test", private_key=t.CertificatePrivateKey()), "rsa.example.test"
        ),
        "ecdsa p-256 leaf": _leaf_case(ec_root, dns("p256.example.test"), "p256.example.test"),
        "ecdsa p-384 leaf from an RSA root": _leaf_case(
            rsa_root,
            dns("p384.example.test", private_key=t.CertificatePrivateKey(algorithm="ECDSA", size=384)),
            "p384.example.test",
        ),
        "ed25519 leaf": _leaf_case(
            ec_root, dns("ed.example.test", private_key=t.CertificatePrivateKey(algorithm="Ed25519")), "ed.example.test"
        ),
        "ip sans": _leaf_case(
            ec_root,
            t.CertificateSpec(ip_addresses=("127.0.0.1", "::1"), usages=("server auth", "digital signature")),
            "127.0.0.1",
        ),
        "uri san spiffe": _leaf_case(
            ec_root,
            t.CertificateSpec(
                common_name="svc.example.test",
                dns_names=("svc.example.test",),
                uris=("spiffe://cluster.local/ns/default/sa/app",),
            ),
            "svc.example.test",
            NON_HTTP_URI,
        ),
        "email san": _leaf_case(
            ec_root,
            t.CertificateSpec(
                common_name="mail.example.test",
                dns_names=("mail.example.test",),
                email_addresses=("me@example.test",),
                usages=("digital signature", "email protection", "server auth"),
            ),
            "mail.example.test",
        ),
        "othername upn san": _leaf_case(
            ec_root,
            t.CertificateSpec(
                common_name="upn.example.test",
                dns_names=("upn.example.test",),
                other_names=(t.OtherName(oid=UPN, utf8_value="user@corp.example.test"),),
                usages=("digital signature", "client auth", "server auth"),
            ),
            "upn.example.test",
        ),
        "wildcard": _leaf_case(
            ec_root,
            t.CertificateSpec(
                dns_names=("*.wild.example.test", "wild.example.test"), usages=("server auth", "signing")
            ),
            "x.wild.example.test",
            WILDCARD,
        ),
        "literal subject": _leaf_case(
            ec_root,
            t.CertificateSpec(
                literal_subject="CN=lit.example.test,OU=a,OU=b,O=Org,C=GB", dns_names=("lit.example.test",)
            ),
            "lit.example.test",
        ),
        "leaf under a name-constrained intermediate": _leaf_case(inter, dns("ok.example.test"), "ok.example.test"),
        "leaf with ip under the name-constrained intermediate": _leaf_case(
            inter,
            t.CertificateSpec(
                common_name="ip.example.test", dns_names=("ip.example.test",), ip_addresses=("127.0.0.1",)
            ),
            "127.0.0.1",
        ),
    }
    key = cached_key("ECDSA", 256, 60)
    spec = t.CertificateSpec(
        secret_name="s", common_name="self.example.test", dns_names=("self.example.test",), is_ca=True
    )
    res = self_signed(spec, key)
    data = secret.build_secret_data(spec, res.cert_pem_chain, res.ca_pem, key, {})
    cases["self-signed CA as server"] = Case(data["tls.crt"], data["tls.key"], data["ca.crt"], "self.example.test")
    return cases


CASES = _cases()


def _write(tmp: pathlib.Path, case: Case) -> tuple[pathlib.Path, pathlib.Path, pathlib.Path, pathlib.Path | None]:
    crt, key, ca_file = tmp / "tls.crt", tmp / "tls.key", tmp / "ca.crt"
    crt.write_bytes(case.tls_crt)
    key.write_bytes(case.tls_key)
    ca_file.write_bytes(case.ca_crt)
    leaf = tmp / "leaf.pem"
    leaf.write_bytes(chain.encode(case.certs[:1]))
    untrusted = None
    if len(case.certs) > 1:
        untrusted = tmp / "intermediates.pem"
        untrusted.write_bytes(chain.encode(case.certs[1:]))
    return crt, key, ca_file, untrusted


@pytest.mark.parametrize("name", list(CASES))
def test_openssl_verify(name: str, tmp_path: pathlib.Path) -> None:
    case = CASES[name]
    _, _, ca_file, untrusted = _write(tmp_path, case)
    cmd = [OPENSSL, "verify", "-CAfile", str(ca_file)]
    if untrusted:
        cmd += ["-untrusted", str(untrusted)]
    out = subprocess.run([*cmd, str(tmp_path / "leaf.pem")], capture_output=True, text=True, check=False, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().endswith(": OK")


@pytest.mark.parametrize("name", list(CASES))
def test_pkilint_clean(name: str) -> None:
    case = CASES[name]
    leaf_findings = pkilint_findings(case.certs[0])
    assert leaf_findings <= case.allowed_findings, leaf_findings
    for cert in [*case.certs[1:], *x509.load_pem_x509_certificates(case.ca_crt)]:
        assert pkilint_findings(cert) == set(), cert.subject.rfc4514_string()


def test_known_pkilint_false_positives_do_show_up() -> None:
    """Keeps the allowances honest: if pkilint stops flagging these, the allowances should go."""
    assert pkilint_findings(CASES["wildcard"].certs[0]) == WILDCARD
    assert pkilint_findings(CASES["uri san spiffe"].certs[0]) == NON_HTTP_URI


def _serve(ctx: ssl.SSLContext, sock: socket.socket, errors: list[BaseException]) -> None:
    try:
        conn, _ = sock.accept()
        with ctx.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(tls.recv(5))
    except (OSError, ssl.SSLError) as err:
        errors.append(err)


@pytest.mark.parametrize("name", list(CASES))
def test_tls_handshake(name: str, tmp_path: pathlib.Path) -> None:
    case = CASES[name]
    crt, key, ca_file, _ = _write(tmp_path, case)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(str(crt), str(key))
    client_ctx = ssl.create_default_context(cafile=str(ca_file))
    assert client_ctx.check_hostname
    errors: list[BaseException] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        thread = threading.Thread(target=_serve, args=(server_ctx, listener, errors), daemon=True)
        thread.start()
        with (
            socket.create_connection(listener.getsockname(), timeout=10) as raw,
            client_ctx.wrap_socket(raw, server_hostname=case.hostname) as tls,
        ):
            tls.sendall(b"hello")
            assert tls.recv(5) == b"hello"
            assert tls.getpeercert() is not None
        thread.join(10)
    assert errors == []


def test_tls_handshake_refuses_a_name_the_certificate_does_not_cover(tmp_path: pathlib.Path) -> None:
    case = CASES["ecdsa p-256 leaf"]
    crt, key, ca_file, _ = _write(tmp_path, case)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(str(crt), str(key))
    client_ctx = ssl.create_default_context(cafile=str(ca_file))
    errors: list[BaseException] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        thread = threading.Thread(target=_serve, args=(server_ctx, listener, errors), daemon=True)
        thread.start()
        with (
            socket.create_connection(listener.getsockname(), timeout=10) as raw,
            pytest.raises(ssl.SSLCertVerificationError),
        ):
            client_ctx.wrap_socket(raw, server_hostname="other.example.test")
        thread.join(10)


def test_openssl_refuses_a_leaf_outside_the_name_constraints(tmp_path: pathlib.Path) -> None:
    inter, _ = _intermediate()
    case = _leaf_case(inter, dns("x.bad.example.test"), "x.bad.example.test")
    _, _, ca_file, untrusted = _write(tmp_path, case)
    assert untrusted is not None
    out = subprocess.run(
        [OPENSSL, "verify", "-CAfile", str(ca_file), "-untrusted", str(untrusted), str(tmp_path / "leaf.pem")],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert out.returncode != 0 and "excluded subtree violation" in out.stderr


@pytest.mark.parametrize("profile", ["LegacyRC2", "LegacyDES", "Modern2023", "Modern2026"])
def test_openssl_opens_pkcs12_keystores(profile: str, tmp_path: pathlib.Path) -> None:
    inter, _ = _intermediate()
    spec = dns(
        "p12.example.test",
        keystores=t.CertificateKeystores(
            pkcs12=t.PKCS12Keystore(create=True, profile=profile), jks=t.JKSKeystore(create=True)
        ),
    )
    key = cached_key("ECDSA", 256, 70)
    res = issue_from(inter, spec, key).result
    data = secret.build_secret_data(spec, res.cert_pem_chain, res.ca_pem, key, {"pkcs12": "s3cret", "jks": "s3cret"})
    for item in ("keystore.p12", "truststore.p12"):
        path = tmp_path / item
        path.write_bytes(data[item])
        out = subprocess.run(
            [OPENSSL, "pkcs12", "-info", "-noout", "-passin", "pass:s3cret", "-in", str(path)],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        assert out.returncode == 0, out.stderr
        wrong = subprocess.run(
            [OPENSSL, "pkcs12", "-info", "-noout", "-passin", "pass:nope", "-in", str(path)],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        assert wrong.returncode != 0
    # the keystore's key and chain come back out through openssl too
    dump = subprocess.run(
        [OPENSSL, "pkcs12", "-nodes", "-passin", "pass:s3cret", "-in", str(tmp_path / "keystore.p12")],
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert dump.returncode == 0
    assert keys.public_keys_equal(keys.load(dump.stdout[dump.stdout.index(b"-----BEGIN PRIVATE KEY-----") :]), key)
    assert dump.stdout.count(b"-----BEGIN CERTIFICATE-----") == 3


def test_self_signed_key_mismatch_is_a_pki_error_not_a_certificate() -> None:
    spec = t.CertificateSpec(common_name="x")
    with pytest.raises(PKIError):
        sign.sign_self_signed(
            csr.build(spec, cached_key("ECDSA", 256, 80)), cached_key("ECDSA", 256, 81), request_spec_for(spec), NOW
        )
