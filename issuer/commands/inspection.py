"""`issuer inspect secret`: explain the certificate in a kubernetes.io/tls Secret the way `cmctl inspect
secret` does (names, usages, validity, issuer and subject, algorithms, serial, fingerprints, CA bit, CRL
and OCSP URLs), plus the chain in tls.crt, whether ca.crt verifies it (signatures and validity periods,
checked here without openssl), whether tls.key matches, and which keystores the Secret carries. It reads
the Secret from the cluster, or offline from a PEM file or a Secret manifest (`--file`). `summarize` and
`verify` are also used by `issuer status certificate`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import hashlib
import pathlib
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID, SignatureAlgorithmOID

from issuer.api import constants as c
from issuer.commands import common
from issuer.kube import client as kube_client
from issuer.kube import resources as r
from issuer.pki import chain, keys, names, usages
from issuer.pki.errors import MAX_BUNDLE_PEM_SIZE, PKIError

KEYSTORE_KEYS = (c.PKCS12_KEYSTORE_KEY, c.PKCS12_TRUSTSTORE_KEY, c.JKS_KEYSTORE_KEY, c.JKS_TRUSTSTORE_KEY,
                 c.DER_KEY_KEY, c.COMBINED_PEM_KEY)
MAX_FILE_SIZE = 4 * 1024 * 1024
MAX_CHAIN_DEPTH = 16

_SIGNATURE_NAMES = {  # Go's x509.SignatureAlgorithm.String(), as cmctl prints them
    SignatureAlgorithmOID.RSA_WITH_SHA1: "SHA1-RSA", SignatureAlgorithmOID.RSA_WITH_SHA256: "SHA256-RSA",
    SignatureAlgorithmOID.RSA_WITH_SHA384: "SHA384-RSA", SignatureAlgorithmOID.RSA_WITH_SHA512: "SHA512-RSA",
    SignatureAlgorithmOID.RSASSA_PSS: "RSASSA-PSS", SignatureAlgorithmOID.ECDSA_WITH_SHA256: "ECDSA-SHA256",
    SignatureAlgorithmOID.ECDSA_WITH_SHA384: "ECDSA-SHA384", SignatureAlgorithmOID.ECDSA_WITH_SHA512: "ECDSA-SHA512",
    SignatureAlgorithmOID.ED25519: "Ed25519",
}


def _rfc3339(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _colon_hex(data: bytes) -> str:
    return ":".join(f"{b:02X}" for b in data)


def _name_fields(name: x509.Name) -> dict[str, Any]:
    fields = names.read_subject(name)
    return {"commonName": fields.common_name, "organizations": list(fields.organizations),
            "organizationalUnits": list(fields.organizational_units), "countries": list(fields.countries),
            "dn": name.rfc4514_string()}


def _extension(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> Any:
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None


def _crl_urls(cert: x509.Certificate) -> list[str]:
    points = _extension(cert, ExtensionOID.CRL_DISTRIBUTION_POINTS)
    out: list[str] = []
    for point in points or ():
        for general in point.full_name or ():
            if isinstance(general, x509.UniformResourceIdentifier):
                out.append(general.value)
    return out


def _aia_urls(cert: x509.Certificate, method: x509.ObjectIdentifier) -> list[str]:
    aia = _extension(cert, ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    return [d.access_location.value for d in aia or ()
            if d.access_method == method and isinstance(d.access_location, x509.UniformResourceIdentifier)]


def _key_description(cert: x509.Certificate) -> tuple[str, int | None]:
    try:
        key: object = chain.public_key(cert)
    except PKIError:
        return cert.public_key_algorithm_oid.dotted_string, None
    return keys.algorithm_of(key), keys.size_of(key)


def summarize(cert: x509.Certificate) -> dict[str, Any]:
    """A JSON-ready description of one certificate."""
    der = cert.public_bytes(serialization.Encoding.DER)
    sans = names.read_alt_names(cert.extensions)
    found = usages.from_extensions(cert.extensions)
    key_usages = sorted(usages.BIT_NAMES[b] for b in found.key_usage) if found else []
    extended = [usages.EKU_NAMES.get(oid, oid.dotted_string) for oid in found.extended] if found else []
    basic = _extension(cert, ExtensionOID.BASIC_CONSTRAINTS)
    ski = _extension(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    aki = _extension(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    algorithm, size = _key_description(cert)
    sig_oid = cert.signature_algorithm_oid
    return {
        "subject": _name_fields(cert.subject),
        "issuer": _name_fields(cert.issuer),
        "dnsNames": list(sans.dns_names),
        "uris": list(sans.uris),
        "ipAddresses": list(sans.ip_addresses),
        "emailAddresses": list(sans.email_addresses),
        "otherNames": [{"oid": oid, "utf8Value": value} for oid, value in sans.other_names],
        "keyUsages": key_usages,
        "extendedKeyUsages": extended,
        "usages": key_usages + extended,
        "notBefore": _rfc3339(cert.not_valid_before_utc),
        "notAfter": _rfc3339(cert.not_valid_after_utc),
        "signatureAlgorithm": _SIGNATURE_NAMES.get(sig_oid, sig_oid.dotted_string),
        "publicKeyAlgorithm": algorithm,
        "publicKeySize": size,
        "serialNumber": format(cert.serial_number, "x"),
        "fingerprints": {"sha256": _colon_hex(hashlib.sha256(der).digest()),
                         "sha1": _colon_hex(hashlib.sha1(der).digest())},
        "isCA": bool(basic is not None and basic.ca),
        "subjectKeyId": _colon_hex(ski.digest) if ski is not None else "",
        "authorityKeyId": _colon_hex(aki.key_identifier) if aki is not None and aki.key_identifier else "",
        "crlDistributionPoints": _crl_urls(cert),
        "ocspServers": _aia_urls(cert, AuthorityInformationAccessOID.OCSP),
        "issuingCertificateURLs": _aia_urls(cert, AuthorityInformationAccessOID.CA_ISSUERS),
        "selfSigned": chain.is_self_signed(cert),
    }


def _short(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or "<empty subject>"


def verify(certs: Sequence[x509.Certificate], roots: Sequence[x509.Certificate], at: dt.datetime) -> str | None:
    """None when the leaf (`certs[0]`) chains up through `certs[1:]` to a certificate in `roots`, every
    signature verifying and every certificate on the path valid at `at`; else the reason it does not."""
    if not roots:
        return "no CA certificate (ca.crt) to verify against"
    root_ders = {root.public_bytes(serialization.Encoding.DER) for root in roots}
    pool = [*certs[1:], *roots]
    current = certs[0]
    for _ in range(MAX_CHAIN_DEPTH):
        if at < current.not_valid_before_utc:
            return f"certificate {_short(current)!r} is not valid before {_rfc3339(current.not_valid_before_utc)}"
        if at > current.not_valid_after_utc:
            return f"certificate {_short(current)!r} expired at {_rfc3339(current.not_valid_after_utc)}"
        if current.public_bytes(serialization.Encoding.DER) in root_ders:
            return None
        if chain.is_self_signed(current):
            return f"certificate signed by unknown authority: the self-signed {_short(current)!r} is not in ca.crt"
        parent = next((p for p in pool if chain.issued_by(current, p)), None)
        if parent is None:
            return (f"certificate signed by unknown authority: nothing in tls.crt or ca.crt issued "
                    f"{_short(current)!r} (issuer {current.issuer.rfc4514_string()!r})")
        current = parent
    return "the chain is too long or loops"


def decode_data(secret: Mapping[str, Any]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    data = secret.get("data")
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(value, str):
                try:
                    out[str(key)] = base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    raise common.CommandError(f"data[{key}] of the Secret is not valid base64") from None
    string_data = secret.get("stringData")
    if isinstance(string_data, Mapping):
        for key, value in string_data.items():
            if isinstance(value, str):
                out[str(key)] = value.encode()
    return out


def report(data: Mapping[str, bytes], at: dt.datetime) -> dict[str, Any]:
    """The JSON-ready inspection of a Secret's data (tls.crt required)."""
    tls_crt = data.get(c.TLS_CERT_KEY)
    if not tls_crt:
        raise common.CommandError("the Secret has no tls.crt")
    try:
        certs = chain.load_certificates(tls_crt, MAX_BUNDLE_PEM_SIZE, "tls.crt")
    except PKIError as err:
        raise common.CommandError(str(err)) from None
    roots: list[x509.Certificate] = []
    ca_problem = ""
    if data.get(c.CA_CERT_KEY):
        try:
            roots = chain.load_certificates(data[c.CA_CERT_KEY], MAX_BUNDLE_PEM_SIZE, "ca.crt")
        except PKIError as err:
            ca_problem = str(err)
    problem = ca_problem or verify(certs, roots, at)
    key_match: bool | None = None
    key_problem = ""
    if data.get(c.TLS_PRIVATE_KEY_KEY):
        try:
            key_match = keys.public_keys_equal(keys.load(data[c.TLS_PRIVATE_KEY_KEY]), chain.public_key(certs[0]))
        except (PKIError, ValueError, IndexError) as err:
            key_match, key_problem = False, str(err).splitlines()[0] if str(err) else type(err).__name__
    leaf = certs[0]
    return {
        "certificate": summarize(leaf),
        "chain": [{"subject": x.subject.rfc4514_string(), "issuer": x.issuer.rfc4514_string(),
                   "notAfter": _rfc3339(x.not_valid_after_utc), "isCA": summarize(x)["isCA"]} for x in certs],
        "ca": [{"subject": x.subject.rfc4514_string(), "issuer": x.issuer.rfc4514_string(),
                "notAfter": _rfc3339(x.not_valid_after_utc)} for x in roots],
        "debugging": {
            "trustedByCA": problem is None,
            "trustProblem": problem or "",
            "privateKeyMatches": key_match,
            "privateKeyProblem": key_problem,
            "expired": at > leaf.not_valid_after_utc,
            "keystores": [k for k in KEYSTORE_KEYS if k in data],
        },
    }


def _none(values: Sequence[str]) -> str:
    return ", ".join(values) if values else "<none>"


def _list_block(title: str, values: Sequence[str]) -> list[str]:
    if not values:
        return [f"\t{title}: <none>"]
    return [f"\t{title}:", *(f"\t\t- {v}" for v in values)]


def _name_block(title: str, fields: Mapping[str, Any]) -> list[str]:
    return [
        f"{title}:",
        f"\tCommon Name\t{fields['commonName'] or '<none>'}",
        f"\tOrganization\t{_none(fields['organizations'])}",
        f"\tOrganizationalUnit\t{_none(fields['organizationalUnits'])}",
        f"\tCountry\t{_none(fields['countries'])}",
    ]


def _http_date(text: str) -> str:
    when = common.parse_time(text)
    return when.strftime("%a, %d %b %Y %H:%M:%S UTC") if when else text


def render(doc: Mapping[str, Any]) -> str:
    """The cmctl-like text of `report`'s document."""
    crt = doc["certificate"]
    debug = doc["debugging"]
    lines: list[str] = []
    if doc.get("secret"):
        lines += [f"Secret: {doc['secret']}", ""]
    lines += ["Valid for:",
              *_list_block("DNS Names", crt["dnsNames"]),
              *_list_block("URIs", crt["uris"]),
              *_list_block("IP Addresses", crt["ipAddresses"]),
              *_list_block("Email Addresses", crt["emailAddresses"]),
              *_list_block("Usages", crt["usages"]),
              "",
              "Validity period:",
              f"\tNot Before: {_http_date(crt['notBefore'])}",
              f"\tNot After: {_http_date(crt['notAfter'])}",
              "",
              *_name_block("Issued By", crt["issuer"]),
              "",
              *_name_block("Issued For", crt["subject"]),
              "",
              "Certificate:",
              f"\tSigning Algorithm:\t{crt['signatureAlgorithm']}",
              f"\tPublic Key Algorithm:\t{crt['publicKeyAlgorithm']}"
              + (f" {crt['publicKeySize']}" if crt["publicKeySize"] else ""),
              f"\tSerial Number:\t{crt['serialNumber']}",
              f"\tFingerprints:\tSHA-256 {crt['fingerprints']['sha256']}",
              f"\t\tSHA-1 {crt['fingerprints']['sha1']}",
              f"\tIs a CA certificate: {str(crt['isCA']).lower()}",
              f"\tCRL:\t{_none(crt['crlDistributionPoints'])}",
              f"\tOCSP:\t{_none(crt['ocspServers'])}",
              "",
              f"Chain (tls.crt, {len(doc['chain'])} certificate{'s' if len(doc['chain']) != 1 else ''}):"]
    for i, item in enumerate(doc["chain"]):
        lines.append(f"\t[{i}] Subject: {item['subject'] or '<empty>'}")
        lines.append(f"\t    Issuer:  {item['issuer'] or '<empty>'}")
    if doc["ca"]:
        lines.append("CA (ca.crt):")
        for i, item in enumerate(doc["ca"]):
            lines.append(f"\t[{i}] Subject: {item['subject'] or '<empty>'}")
            lines.append(f"\t    Issuer:  {item['issuer'] or '<empty>'}")
    trusted = "yes" if debug["trustedByCA"] else f"no: {debug['trustProblem']}"
    if debug["privateKeyMatches"] is None:
        key_line = "no tls.key"
    elif debug["privateKeyMatches"]:
        key_line = "yes"
    else:
        key_line = f"no{': ' + debug['privateKeyProblem'] if debug['privateKeyProblem'] else ''}"
    crl = "CRL endpoints set (not checked)" if crt["crlDistributionPoints"] else "No CRL endpoints set"
    ocsp = "OCSP servers set (not checked)" if crt["ocspServers"] else "No OCSP servers set"
    lines += ["",
              "Debugging:",
              f"\tTrusted by ca.crt:\t{trusted}",
              f"\tPrivate key matches:\t{key_line}",
              f"\tExpired:\t{'yes' if debug['expired'] else 'no'}",
              f"\tCRL Status:\t{crl}",
              f"\tOCSP Status:\t{ocsp}",
              f"\tKeystores:\t{_none(debug['keystores'])}"]
    return "\n".join(lines)


def read_file(path: str) -> dict[str, bytes]:
    """The Secret data in a PEM or DER certificate file (as tls.crt) or a Secret manifest (YAML or JSON, first
    Secret); `-` reads standard input."""
    try:
        raw = sys.stdin.buffer.read(MAX_FILE_SIZE + 1) if path == "-" else pathlib.Path(path).read_bytes()
    except OSError as err:
        raise common.CommandError(f"cannot read {path}: {err.strerror or err}") from None
    if len(raw) > MAX_FILE_SIZE:
        raise common.CommandError(f"{path} is larger than {MAX_FILE_SIZE} bytes")
    if b"-----BEGIN" in raw and b"kind:" not in raw and b'"kind"' not in raw:
        return {c.TLS_CERT_KEY: raw}
    if raw[:1] == b"\x30":  # an ASN.1 SEQUENCE: perhaps a DER certificate (openssl x509 -outform der)
        try:
            der = x509.load_der_x509_certificate(raw)
        except ValueError:
            pass
        else:
            return {c.TLS_CERT_KEY: der.public_bytes(serialization.Encoding.PEM)}
    try:
        docs = list(yaml.safe_load_all(raw))
    except (yaml.YAMLError, UnicodeDecodeError):
        raise common.CommandError(f"{path} is neither PEM nor a YAML/JSON Secret manifest") from None
    for doc in docs:
        items = doc.get("items") if isinstance(doc, dict) and doc.get("kind") == "List" else [doc]
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict) and item.get("kind") == "Secret":
                return decode_data(item)
    raise common.CommandError(f"{path} holds no Secret and no PEM certificate")


def _emit(args: argparse.Namespace, doc: dict[str, Any]) -> int:
    if args.output == "json":
        common.print_json(doc)
    else:
        print(render(doc))
    return common.EXIT_OK


def main(args: argparse.Namespace) -> int:
    if bool(args.name) == bool(args.file):
        common.error("give either a Secret NAME or --file PATH")
        return common.EXIT_USAGE
    if args.file:
        try:
            doc = report(read_file(args.file), common.now())
        except common.CommandError as err:
            common.error(str(err))
            return err.code
        return _emit(args, {"file": args.file, **doc})

    async def command(kube: kube_client.Client, namespace: str) -> int:
        secret = await kube.get(r.SECRETS, args.name, namespace)
        if secret is None:
            raise common.CommandError(f'Secret "{args.name}" not found in namespace "{namespace}"')
        try:
            doc = report(decode_data(secret), common.now())
        except common.CommandError as err:
            raise common.CommandError(f"Secret {namespace}/{args.name}: {err}") from None
        return _emit(args, {"secret": f"{namespace}/{args.name}", **doc})

    return common.run(args, command)


__all__ = ["decode_data", "main", "read_file", "render", "report", "summarize", "verify"]
