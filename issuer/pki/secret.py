"""The issued Secret's payload: data keys, annotations and labels (inventory §3), and `describe_certificate`.

`build_secret_data` gives tls.crt, tls.key (per spec.privateKey.encoding), ca.crt (when a CA is given),
keystore.p12/truststore.p12 and keystore.jks/truststore.jks when requested, key.der and tls-combined.pem
for additionalOutputFormats. `secret_annotations` and `secret_labels` are what cert-manager's issuing
controller stamps on the Secret. Called by the issuing controller and the offline CLI; pure apart from
the random salts inside keystores (JKS entry dates come from the leaf's notBefore, not the clock).

PKCS#12 profiles, mapped onto what `cryptography` can write:
- LegacyRC2 (default): go-pkcs12 encrypts certificates with 40-bit RC2 and the key with 3DES, SHA-1 MAC,
  2048 rounds. cryptography cannot write RC2, so certificates are 3DES-encrypted too (the same algorithms as
  LegacyDES); readers of LegacyRC2 files (Java 8+, OpenSSL 3 even without -legacy) open these.
- LegacyDES: PBE-SHA1-3DES for certificates and key, HMAC-SHA1 MAC, 2048 rounds (as go-pkcs12).
- Modern2023: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), HMAC-SHA256 MAC, 2048 rounds (as go-pkcs12).
- Modern2026: the Modern2023 algorithms with 100,000 rounds. go-pkcs12's newer profile may differ
  (e.g. an RFC 9579 PBMAC1 MAC, which cryptography cannot write); not byte-compatible, same strength class.
Truststore entries carry the CA's subject (Go's pkix.Name.String()) as friendlyName, as go-pkcs12 writes them.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Mapping

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID, ObjectIdentifier, SignatureAlgorithmOID

from issuer.api import constants as c
from issuer.api import defaults
from issuer.api import types as t
from issuer.pki import chain, csr, keys, names, usages
from issuer.pki.errors import MAX_BUNDLE_PEM_SIZE, MAX_CHAIN_PEM_SIZE, PKIError

_PKCS12_ROUNDS = {"LegacyRC2": 2048, "LegacyDES": 2048, "Modern2023": 2048, "Modern2026": 100_000}


_GO_NAMES = {NameOID.SERIAL_NUMBER: "SERIALNUMBER", NameOID.POSTAL_CODE: "POSTALCODE"}


def _go_name(name: x509.Name) -> str:
    """Go's pkix.Name.String() for the usual attributes (go-pkcs12 uses it as the truststore friendlyName)."""
    return name.rfc4514_string(_GO_NAMES)


def _pkcs12_encryption(profile: str, password: str | bytes) -> serialization.KeySerializationEncryption:
    if profile not in _PKCS12_ROUNDS:
        raise PKIError(f"unsupported PKCS#12 profile {profile!r}: must be one of {', '.join(c.PKCS12_PROFILES)}")
    secret = password.encode() if isinstance(password, str) else password
    builder = serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(_PKCS12_ROUNDS[profile])
    if profile.startswith("Legacy"):
        builder = builder.key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC).hmac_hash(hashes.SHA1())
    else:
        builder = builder.key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC).hmac_hash(hashes.SHA256())
    try:
        return builder.build(secret)
    except ValueError:
        raise PKIError("the PKCS#12 keystore password must not be empty") from None


def _password(name: str, given: Mapping[str, str | bytes], literal: str | None) -> str | bytes:
    password = given.get(name)
    if password is None:
        password = literal
    if password is None:
        raise PKIError(f"no password was given for the {name} keystore")
    return password


def build_secret_data(
    cert_spec: t.CertificateSpec,
    chain_pem: bytes,
    ca_pem: bytes,
    key: keys.PrivateKey,
    keystore_passwords: Mapping[str, str | bytes],
) -> dict[str, bytes]:
    """The Secret's data for an issued chain (status.certificate), CA (status.ca, may be b"") and key.

    `keystore_passwords` maps "jks" / "pkcs12" to passwords the caller resolved from passwordSecretRef; a
    keystore's literal `password` from the spec is used when the map has none.
    """
    encoding = defaults.private_key(cert_spec).encoding
    key_pem = keys.encode(key, encoding)
    data: dict[str, bytes] = {c.TLS_CERT_KEY: chain_pem, c.TLS_PRIVATE_KEY_KEY: key_pem}
    if ca_pem:
        data[c.CA_CERT_KEY] = ca_pem
    stores = cert_spec.keystores
    need_certs = stores is not None and (
        (stores.jks is not None and stores.jks.create) or (stores.pkcs12 is not None and stores.pkcs12.create)
    )
    if need_certs and stores is not None:
        certs = chain.load_certificates(chain_pem, MAX_CHAIN_PEM_SIZE, "certificate chain")
        cas = chain.load_certificates(ca_pem, MAX_BUNDLE_PEM_SIZE, "CA certificate") if ca_pem else []
        if stores.pkcs12 is not None and stores.pkcs12.create:
            p12 = stores.pkcs12
            enc = _pkcs12_encryption(
                defaults.pkcs12_profile(p12), _password("pkcs12", keystore_passwords, p12.password)
            )
            data[c.PKCS12_KEYSTORE_KEY] = pkcs12.serialize_key_and_certificates(
                None, key, certs[0], [*certs[1:], *cas] or None, enc
            )
            if cas:
                data[c.PKCS12_TRUSTSTORE_KEY] = pkcs12.serialize_java_truststore(
                    [pkcs12.PKCS12Certificate(ca, _go_name(ca.subject).encode()) for ca in cas], enc
                )
        if stores.jks is not None and stores.jks.create:
            password = _password("jks", keystore_passwords, stores.jks.password)
            text = password.decode() if isinstance(password, bytes) else password
            stamp = int(certs[0].not_valid_before_utc.timestamp()) * 1000
            data[c.JKS_KEYSTORE_KEY] = _jks(defaults.jks_alias(stores.jks), key, certs, cas, password=text, stamp=stamp)
            if cas:
                data[c.JKS_TRUSTSTORE_KEY] = _jks(None, None, [], cas, password=text, stamp=stamp)
    for fmt in cert_spec.additional_output_formats:
        if fmt.type == "DER":
            data[c.DER_KEY_KEY] = keys.der(key, encoding)
        elif fmt.type == "CombinedPEM":
            data[c.COMBINED_PEM_KEY] = key_pem + b"\n" + chain_pem
    return data


def _jks(
    alias: str | None,
    key: keys.PrivateKey | None,
    certs: list[x509.Certificate],
    cas: list[x509.Certificate],
    *,
    password: str,
    stamp: int,
) -> bytes:
    import jks  # pyjks (and pyasn1) cost 50 ms to import: only when a JKS keystore is asked for

    entries: list[jks.PrivateKeyEntry | jks.TrustedCertEntry] = []
    if alias is not None and key is not None:
        entry = jks.PrivateKeyEntry.new(
            alias, [crt.public_bytes(serialization.Encoding.DER) for crt in certs], keys.der(key, c.PKCS8)
        )
        entry.timestamp = stamp
        entries.append(entry)
    for i, ca in enumerate(cas):
        trusted = jks.TrustedCertEntry.new("ca" if i == 0 else f"ca-{i}", ca.public_bytes(serialization.Encoding.DER))
        trusted.timestamp = stamp
        entries.append(trusted)
    try:
        out: bytes = jks.KeyStore.new("jks", entries).saves(password)
    except Exception as err:  # pyjks raises its own exception types and plain errors
        raise PKIError(f"cannot write the JKS keystore: {type(err).__name__}") from None
    return out


def _csv(values: tuple[str, ...] | list[str]) -> str:
    """One record as Go's encoding/csv writes it, without the trailing newline."""
    fields = []
    for value in values:
        needs = value == "\\." or any(ch in value for ch in ',"\r\n') or (value[:1].isspace() if value else False)
        fields.append('"' + value.replace('"', '""') + '"' if needs else value)
    return ",".join(fields)


def _as_certificate(leaf: x509.Certificate | bytes) -> x509.Certificate:
    return chain.load_certificates(leaf, MAX_CHAIN_PEM_SIZE, "certificate")[0] if isinstance(leaf, bytes) else leaf


def secret_annotations(
    cert: t.Certificate, issuer_ref_as_in_cr: t.IssuerRef, leaf: x509.Certificate | bytes
) -> dict[str, str]:
    """cert-manager's Secret annotations: secretTemplate's, then the base ones (which win)."""
    crt = _as_certificate(leaf)
    subject = names.certificate_subject(crt)
    sans = names.certificate_alt_names(crt)
    out: dict[str, str] = {}
    if cert.spec.secret_template is not None:
        out.update(cert.spec.secret_template.annotations)
    out[c.ANN_CERTIFICATE_NAME] = cert.metadata.name
    out[c.ANN_ISSUER_NAME] = issuer_ref_as_in_cr.name
    out[c.ANN_ISSUER_KIND] = issuer_ref_as_in_cr.kind
    out[c.ANN_ISSUER_GROUP] = issuer_ref_as_in_cr.group
    out[c.ANN_COMMON_NAME] = subject.common_name
    out[c.ANN_ALT_NAMES] = _csv(sans.dns_names)
    out[c.ANN_IP_SANS] = _csv(sans.ip_addresses)
    out[c.ANN_URI_SANS] = _csv(sans.uris)
    optional = (
        (c.ANN_EMAIL_SANS, sans.email_addresses),
        (c.ANN_SUBJECT_ORGANIZATIONS, subject.organizations),
        (c.ANN_SUBJECT_ORGANIZATIONAL_UNITS, subject.organizational_units),
        (c.ANN_SUBJECT_COUNTRIES, subject.countries),
        (c.ANN_SUBJECT_PROVINCES, subject.provinces),
        (c.ANN_SUBJECT_LOCALITIES, subject.localities),
        (c.ANN_SUBJECT_POSTAL_CODES, subject.postal_codes),
        (c.ANN_SUBJECT_STREET_ADDRESSES, subject.street_addresses),
    )
    for key, values in optional:
        if values:
            out[key] = _csv(values)
    if subject.serial_number:
        out[c.ANN_SUBJECT_SERIAL_NUMBER] = subject.serial_number
    return out


def secret_labels(spec: t.CertificateSpec) -> dict[str, str]:
    """secretTemplate's labels plus `controller.cert-manager.io/fao: "true"` (which wins)."""
    out = dict(spec.secret_template.labels) if spec.secret_template is not None else {}
    out[c.LABEL_FAO] = "true"
    return out


_SIGNATURE_NAMES = {oid: name for name, oid in vars(SignatureAlgorithmOID).items() if isinstance(oid, ObjectIdentifier)}


def _rfc3339(when: _dt.datetime) -> str:
    return when.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_certificate(pem: bytes) -> dict[str, object]:
    """A JSON-ready summary of the first certificate in `pem` (for `issuer inspect`)."""
    certs = chain.load_certificates(pem, MAX_BUNDLE_PEM_SIZE, "certificate")
    crt = certs[0]
    der = crt.public_bytes(serialization.Encoding.DER)
    sans = names.read_alt_names(crt.extensions)
    subject = names.read_subject(crt.subject)
    try:
        public_key: object = chain.public_key(crt)
    except PKIError:
        public_key = None
    found = usages.from_extensions(crt.extensions)
    ca = bool(csr.basic_constraints_ca(crt))
    return {
        "subject": crt.subject.rfc4514_string(),
        "commonName": subject.common_name,
        "issuer": crt.issuer.rfc4514_string(),
        "serialNumber": format(crt.serial_number, "x"),
        "notBefore": _rfc3339(crt.not_valid_before_utc),
        "notAfter": _rfc3339(crt.not_valid_after_utc),
        "dnsNames": list(sans.dns_names),
        "ipAddresses": list(sans.ip_addresses),
        "uris": list(sans.uris),
        "emailAddresses": list(sans.email_addresses),
        "otherNames": [{"oid": oid, "utf8Value": value} for oid, value in sans.other_names],
        "isCA": ca,
        "usages": sorted(found.names()) if found is not None else [],
        "keyAlgorithm": keys.algorithm_of(public_key) or crt.public_key_algorithm_oid.dotted_string,
        "keySize": keys.size_of(public_key),
        "signatureAlgorithm": _SIGNATURE_NAMES.get(
            crt.signature_algorithm_oid, crt.signature_algorithm_oid.dotted_string
        ),
        "fingerprints": {"sha256": hashlib.sha256(der).hexdigest(), "sha1": hashlib.sha1(der).hexdigest()},
        "selfSigned": chain.is_self_signed(crt),
        "chainLength": len(certs),
    }
