"""cert-manager's default e2e validators (test/e2e/framework/helper/validation), written against the issued
Secret as read back from the API server and judged with `cryptography`, `openssl verify` and pkilint only
(never with the operator's own pki code). Also a small test PKI (root and intermediate CAs) for CA issuers.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import functools
import io
import ipaddress
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.tools import openssl_verify, pkix_findings

DEFAULT_DURATION = dt.timedelta(hours=2160)
ANN = "cert-manager.io/"
# pkilint's lint_pkix_cert flags every wildcard dNSName and every non-http URI (spiffe://) although both are
# valid (see tests/unit/test_examples.py); these findings are accepted only where they apply.
WILDCARD_FINDING = "pkix.invalid_domain_name_syntax"
URI_FINDING = "pkix.invalid_uri_syntax"
EMPTY_ISSUER_FINDING = "pkix.name_empty"  # RFC 5280 wants an issuer DN; a self-signed cert without subject has none


# -- a test PKI --------------------------------------------------------------------------------------------
def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "issuer tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: Any) -> bytes:
    out: bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())
    return out


def make_ca(cn: str, *, parent: tuple[x509.Certificate, Any] | None = None, is_ca: bool = True,
            key: Any = None) -> tuple[x509.Certificate, Any]:
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    issuer_cert, issuer_key = parent if parent else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_cert.subject if issuer_cert else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=is_ca,
                                     crl_sign=is_ca, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


@functools.cache
def ca_material() -> dict[str, bytes]:
    """root (self-signed), intermediate (signed by root): PEMs and PKCS#8 keys."""
    root, root_key = make_ca("issuer tests root CA")
    inter, inter_key = make_ca("issuer tests intermediate CA", parent=(root, root_key))
    return {"root.crt": _pem(root), "root.key": _key_pem(root_key),
            "intermediate.crt": _pem(inter), "intermediate.key": _key_pem(inter_key)}


def ca_secret(name: str, namespace: str, tls_crt: bytes, tls_key: bytes, *,
              labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(tls_crt).decode(), "tls.key": base64.b64encode(tls_key).decode()}}


# -- reading ----------------------------------------------------------------------------------------------
def load_chain(pem: bytes) -> list[x509.Certificate]:
    certs = x509.load_pem_x509_certificates(pem)
    assert certs, "tls.crt holds no certificate"
    return certs


def rfc3339(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def go_csv(values: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue().rstrip("\n") if values else ""


def condition(obj: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return dict(cond)
    return None


def _san(leaf: x509.Certificate) -> x509.SubjectAlternativeName | None:
    try:
        return leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None


def _other_names(san: x509.SubjectAlternativeName | None) -> list[tuple[str, str]]:
    out = []
    for other in san.get_values_for_type(x509.OtherName) if san else []:
        value = other.value  # DER: a UTF8String (tag 0x0c) with a short length
        assert value[0] == 0x0C, f"otherName {other.type_id.dotted_string} is not a UTF8String: {value.hex()}"
        length = value[1]
        assert length < 0x80 and len(value) == 2 + length, value.hex()
        out.append((other.type_id.dotted_string, value[2:].decode()))
    return sorted(out)


def _parse_duration(text: str) -> dt.timedelta:
    total = dt.timedelta(0)
    number = ""
    units = {"h": 3600, "m": 60, "s": 1}
    for ch in text:
        if ch.isdigit() or ch == ".":
            number += ch
        else:
            total += dt.timedelta(seconds=float(number) * units[ch])
            number = ""
    return total


KU_NAMES = {
    "digital signature": "digital_signature", "signing": "digital_signature",
    "content commitment": "content_commitment", "key encipherment": "key_encipherment",
    "key agreement": "key_agreement", "data encipherment": "data_encipherment", "cert sign": "key_cert_sign",
    "crl sign": "crl_sign",
}
EKU_OIDS = {"server auth": ExtendedKeyUsageOID.SERVER_AUTH, "client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
            "code signing": ExtendedKeyUsageOID.CODE_SIGNING, "email protection": ExtendedKeyUsageOID.EMAIL_PROTECTION}


# -- the validators ---------------------------------------------------------------------------------------
def validate(cert: dict[str, Any], secret: dict[str, Any], *, issuer_type: str,
             root_pem: bytes | None = None) -> x509.Certificate:
    """Every default validator of cert-manager's conformance suite; returns the leaf."""
    spec = cert["spec"]
    status = cert.get("status") or {}
    meta = cert["metadata"]

    # Certificate status
    ready = condition(cert, "Ready")
    assert ready is not None and ready["status"] == "True", f"not Ready: {status}"
    assert ready.get("observedGeneration", -1) >= meta["generation"], ready
    issuing = condition(cert, "Issuing")
    assert issuing is None or issuing["status"] != "True", issuing
    assert not status.get("nextPrivateKeySecretName"), status

    # Secret shape
    assert secret["type"] == "kubernetes.io/tls", secret["type"]
    data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    assert data.get("tls.crt") and data.get("tls.key"), sorted(data)
    labels = secret["metadata"].get("labels") or {}
    assert labels.get("controller.cert-manager.io/fao") == "true", labels
    chain = load_chain(data["tls.crt"])
    leaf = chain[0]

    # status.notAfter/notBefore equal the leaf's exactly
    assert status.get("notAfter") == rfc3339(leaf.not_valid_after_utc), (status.get("notAfter"), leaf)
    assert status.get("notBefore") == rfc3339(leaf.not_valid_before_utc)

    # private key: per spec, and matching the leaf
    key_pem = data["tls.key"]
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) \
        == leaf.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo), "tls.key does not match"
    pk = spec.get("privateKey") or {}
    algorithm = pk.get("algorithm") or "RSA"
    encoding = pk.get("encoding") or "PKCS1"
    header = key_pem.split(b"\n", 1)[0].decode()
    if algorithm == "RSA":
        assert isinstance(key, rsa.RSAPrivateKey), type(key)
        assert key.key_size == (pk.get("size") or 2048)
        assert header == ("-----BEGIN RSA PRIVATE KEY-----" if encoding == "PKCS1" else "-----BEGIN PRIVATE KEY-----")
    elif algorithm == "ECDSA":
        assert isinstance(key, ec.EllipticCurvePrivateKey), type(key)
        assert key.curve.key_size == (pk.get("size") or 256)
        assert header == ("-----BEGIN EC PRIVATE KEY-----" if encoding == "PKCS1" else "-----BEGIN PRIVATE KEY-----")
    else:
        assert isinstance(key, ed25519.Ed25519PrivateKey), type(key)
        assert header == "-----BEGIN PRIVATE KEY-----"

    # names
    san = _san(leaf)
    dns = san.get_values_for_type(x509.DNSName) if san else []
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] if san else []
    uris = san.get_values_for_type(x509.UniformResourceIdentifier) if san else []
    emails = san.get_values_for_type(x509.RFC822Name) if san else []
    assert sorted(dns) == sorted(spec.get("dnsNames") or []), dns
    assert sorted(ips) == sorted(str(ipaddress.ip_address(i)) for i in spec.get("ipAddresses") or []), ips
    assert sorted(uris) == sorted(spec.get("uris") or []), uris
    assert sorted(emails) == sorted(spec.get("emailAddresses") or []), emails
    assert _other_names(san) == sorted((o["oid"], o["utf8Value"]) for o in spec.get("otherNames") or [])
    cns = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if spec.get("literalSubject"):
        assert leaf.subject == x509.Name.from_rfc4514_string(spec["literalSubject"]), leaf.subject.rfc4514_string()
    else:
        assert cns == ([spec["commonName"]] if spec.get("commonName") else []), cns
        orgs = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        assert orgs == ((spec.get("subject") or {}).get("organizations") or []), orgs

    # basic constraints and usages
    try:
        bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
        is_ca = bc.value.ca
        assert bc.critical
    except x509.ExtensionNotFound:
        is_ca = False
    assert is_ca == bool(spec.get("isCA")), f"isCA {is_ca} != spec {spec.get('isCA')}"
    ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    usages = spec.get("usages") or ["digital signature", "key encipherment"]
    # issuer drops the bits RFC 5480/8410 forbid for EC and Ed25519 keys (a documented deviation, pki/usages.py)
    forbidden = {"rsa": set(), "ec": {"key_encipherment", "data_encipherment"},
                 "ed25519": {"key_encipherment", "data_encipherment", "key_agreement"}}[
        "rsa" if isinstance(key, rsa.RSAPrivateKey) else "ec" if isinstance(key, ec.EllipticCurvePrivateKey)
        else "ed25519"]
    for usage in usages:
        if usage in KU_NAMES and KU_NAMES[usage] not in forbidden:
            assert getattr(ku, KU_NAMES[usage]), f"key usage {usage} missing: {ku}"
    for bit in forbidden:
        assert not getattr(ku, bit), f"{bit} set on a {type(key).__name__}"
    if spec.get("isCA"):
        assert ku.key_cert_sign, ku
    wanted_eku = sorted(EKU_OIDS[u].dotted_string for u in usages if u in EKU_OIDS)
    try:
        eku = sorted(o.dotted_string for o in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        eku = []
    assert eku == wanted_eku, eku

    # duration: exact for the CA issuer, +-30s for the others
    wanted = _parse_duration(spec["duration"]) if spec.get("duration") else DEFAULT_DURATION
    actual = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    tolerance = dt.timedelta(0) if issuer_type == "ca" else dt.timedelta(seconds=30)
    assert abs(actual - wanted) <= tolerance, f"duration {actual} != {wanted}"

    # trust chain and ca.crt
    ca_pem = data.get("ca.crt", b"")
    assert ca_pem, "ca.crt missing"
    if issuer_type == "selfsigned":
        assert load_chain(ca_pem) == [leaf], "SelfSigned: ca.crt must be the leaf itself"
        assert len(chain) == 1
        assert leaf.issuer == leaf.subject
    else:
        assert root_pem is not None
        assert load_chain(ca_pem) == load_chain(root_pem), "CA issuer: ca.crt must be the root"
        assert chain[-1] != load_chain(root_pem)[0], "tls.crt must not carry the self-signed root"
    untrusted = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain[1:])
    if issuer_type == "ca" or is_ca:
        openssl_verify(chain[0].public_bytes(serialization.Encoding.PEM), ca_pem, untrusted)
    else:
        # A self-signed end-entity certificate: OpenSSL refuses it as its own anchor without keyCertSign, as
        # Go does not; check the signature with cryptography instead.
        leaf.verify_directly_issued_by(leaf)

    # Secret annotations (§3)
    ann = secret["metadata"].get("annotations") or {}
    ref = spec["issuerRef"]
    assert ann.get(ANN + "certificate-name") == meta["name"], ann
    assert ann.get(ANN + "issuer-name") == ref["name"], ann
    assert ann.get(ANN + "issuer-kind") == ref.get("kind", ""), ann
    assert ann.get(ANN + "issuer-group") == ref.get("group", ""), ann
    assert ann.get(ANN + "common-name") == (cns[-1] if cns else ""), ann
    assert ann.get(ANN + "alt-names") == go_csv(list(dns)), ann
    assert ann.get(ANN + "ip-sans") == go_csv(ips), ann
    assert ann.get(ANN + "uri-sans") == go_csv(list(uris)), ann
    assert ann.get(ANN + "email-sans") == (go_csv(list(emails)) or None), ann
    orgs = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert ann.get(ANN + "subject-organizations") == (go_csv(orgs) or None), ann
    for k, v in ((spec.get("secretTemplate") or {}).get("annotations") or {}).items():
        assert ann.get(k) == v, (k, ann)
    for k, v in ((spec.get("secretTemplate") or {}).get("labels") or {}).items():
        assert labels.get(k) == v, (k, labels)

    # additional output formats
    formats = {f["type"] for f in spec.get("additionalOutputFormats") or []}
    key_der = base64.b64decode(b"".join(line for line in key_pem.splitlines() if not line.startswith(b"-----")))
    if "DER" in formats:
        assert data.get("key.der") == key_der, "key.der is not the DER of tls.key"
    else:
        assert "key.der" not in data
    if "CombinedPEM" in formats:
        assert data.get("tls-combined.pem") == key_pem + b"\n" + data["tls.crt"], "tls-combined.pem"
    else:
        assert "tls-combined.pem" not in data

    # an outside linter
    findings = pkix_findings(data["tls.crt"])
    allowed = set()
    if any(d.startswith("*.") for d in dns):
        allowed.add(WILDCARD_FINDING)
    if any(not u.startswith(("http://", "https://")) for u in uris):
        allowed.add(URI_FINDING)
    if issuer_type == "selfsigned" and len(leaf.subject) == 0:
        allowed.add(EMPTY_ISSUER_FINDING)  # as cert-manager: issuer DN = the empty subject (event BadConfig)
    assert set(findings) <= allowed, findings
    return leaf


def public_key_der(pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(pem, password=None)
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
