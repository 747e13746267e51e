"""cert-manager key usages (`spec.usages`) <-> X.509 KeyUsage bits and ExtendedKeyUsage OIDs.

The mapping is cert-manager's (`pkg/util/pki/keyusage.go`): "signing" and "digital signature" are the same
bit, "s/mime" is emailProtection, `isCA` adds "cert sign", empty usages mean the defaults
("digital signature", "key encipherment"). Used by csr (what to request), template (what to issue) and the
matchers (what a certificate or CSR carries, in canonical names).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, ObjectIdentifier

from issuer.api import constants as c
from issuer.pki import keys
from issuer.pki.errors import PKIError

# usage name -> cryptography KeyUsage attribute
KEY_USAGE_BITS: dict[str, str] = {
    "signing": "digital_signature",
    "digital signature": "digital_signature",
    "content commitment": "content_commitment",
    "key encipherment": "key_encipherment",
    "key agreement": "key_agreement",
    "data encipherment": "data_encipherment",
    "cert sign": "key_cert_sign",
    "crl sign": "crl_sign",
    "encipher only": "encipher_only",
    "decipher only": "decipher_only",
}
# cryptography KeyUsage attribute -> cert-manager's canonical usage name, in X.509 bit order
BIT_NAMES: dict[str, str] = {
    "digital_signature": "digital signature",
    "content_commitment": "content commitment",
    "key_encipherment": "key encipherment",
    "data_encipherment": "data encipherment",
    "key_agreement": "key agreement",
    "key_cert_sign": "cert sign",
    "crl_sign": "crl sign",
    "encipher_only": "encipher only",
    "decipher_only": "decipher only",
}
EXTENDED_KEY_USAGES: dict[str, ObjectIdentifier] = {
    "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "server auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "s/mime": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "ipsec end system": ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
    "ipsec tunnel": ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
    "ipsec user": ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    "microsoft sgc": ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"),
    "netscape sgc": ObjectIdentifier("2.16.840.1.113730.4.1"),
}
EKU_NAMES: dict[ObjectIdentifier, str] = {}
for _name, _oid in EXTENDED_KEY_USAGES.items():
    EKU_NAMES.setdefault(_oid, _name)

# KeyUsage bits RFC 5480 (EC) and RFC 8410 (Ed25519) forbid; pkilint reports them as ERRORs.
_EC_PROHIBITED = frozenset({"key_encipherment", "data_encipherment"})
_ED25519_ALLOWED = frozenset({"digital_signature", "content_commitment", "key_cert_sign", "crl_sign"})


@dataclasses.dataclass(frozen=True)
class Usages:
    """KeyUsage bits (cryptography attribute names) and ExtendedKeyUsage OIDs (in request order)."""

    key_usage: frozenset[str] = frozenset()
    extended: tuple[ObjectIdentifier, ...] = ()

    def names(self) -> frozenset[str]:
        """Canonical cert-manager names ("digital signature", "server auth", ... or a dotted OID)."""
        out = {BIT_NAMES[b] for b in self.key_usage}
        out.update(EKU_NAMES.get(oid, oid.dotted_string) for oid in self.extended)
        return frozenset(out)

    def same_as(self, other: Usages) -> bool:
        return self.key_usage == other.key_usage and set(self.extended) == set(other.extended)

    def key_usage_extension(self) -> x509.KeyUsage | None:
        """The KeyUsage value, or None when no bit is set (the extension is then left out, as Go does)."""
        return _key_usage_extension(self)

    def extended_key_usage_extension(self) -> x509.ExtendedKeyUsage | None:
        return _extended_key_usage_extension(self)

    def for_key(self, public_key: object) -> Usages:
        """Drop KeyUsage bits the subject key's algorithm forbids (keyEncipherment on EC, ...).

        A deliberate deviation from cert-manager, which issues whatever was asked: its default usages put
        keyEncipherment on ECDSA and Ed25519 certificates, an RFC 5480/8410 violation pkilint reports as
        ERROR `pkix.key_usage_value_prohibited_for_ec`. TLS with EC keys never uses that bit.
        """
        return _for_algorithm(self, keys.algorithm_of(public_key))


# The same few usage sets recur on every issuance; their extension values are immutable and shared.
@functools.lru_cache(maxsize=256)
def _key_usage_extension(self: Usages) -> x509.KeyUsage | None:
    if not self.key_usage:
        return None
    bits = {attr: attr in self.key_usage for attr in BIT_NAMES}
    if (bits["encipher_only"] or bits["decipher_only"]) and not bits["key_agreement"]:
        raise PKIError('usages "encipher only" and "decipher only" need "key agreement" as well')
    return x509.KeyUsage(**bits)


@functools.lru_cache(maxsize=256)
def _extended_key_usage_extension(self: Usages) -> x509.ExtendedKeyUsage | None:
    return x509.ExtendedKeyUsage(list(self.extended)) if self.extended else None


@functools.lru_cache(maxsize=256)
def _for_algorithm(self: Usages, algorithm: str) -> Usages:
    if algorithm == c.ECDSA:
        return dataclasses.replace(self, key_usage=self.key_usage - _EC_PROHIBITED)
    if algorithm == c.ED25519:
        return dataclasses.replace(self, key_usage=self.key_usage & _ED25519_ALLOWED)
    return self


def from_spec(usages: Iterable[str], is_ca: bool) -> Usages:
    """KeyUsage/EKU for the given usages (callers pass defaults.usages(spec)); isCA adds cert sign."""
    return _from_spec(tuple(usages), is_ca)


@functools.lru_cache(maxsize=256)
def _from_spec(usages: tuple[str, ...], is_ca: bool) -> Usages:
    bits: set[str] = set()
    ekus: list[ObjectIdentifier] = []
    for usage in usages:
        if usage in KEY_USAGE_BITS:
            bits.add(KEY_USAGE_BITS[usage])
        elif usage in EXTENDED_KEY_USAGES:
            oid = EXTENDED_KEY_USAGES[usage]
            if oid not in ekus:
                ekus.append(oid)
        else:
            raise PKIError(f"unknown key usage {usage!r}")
    if is_ca:
        bits.add("key_cert_sign")
    return Usages(frozenset(bits), tuple(ekus))


def from_extensions(extensions: x509.Extensions) -> Usages | None:
    """What a certificate or CSR carries; None when it has neither KeyUsage nor ExtendedKeyUsage."""
    bits: set[str] = set()
    ekus: tuple[ObjectIdentifier, ...] = ()
    found = False
    try:
        ku = extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    except x509.ExtensionNotFound:
        pass
    else:
        assert isinstance(ku, x509.KeyUsage)
        found = True
        for attr in BIT_NAMES:
            if attr in ("encipher_only", "decipher_only") and not ku.key_agreement:
                continue
            if getattr(ku, attr):
                bits.add(attr)
    try:
        eku = extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE).value
    except x509.ExtensionNotFound:
        pass
    else:
        assert isinstance(eku, x509.ExtendedKeyUsage)
        found = True
        ekus = tuple(eku)
    return Usages(frozenset(bits), ekus) if found else None


def _listing(names: Iterable[str]) -> str:
    """Go's printKeyUsage: [ 'a', 'b' ]."""
    items = [f"'{n}'" for n in names]
    return "[" + (" " + ", ".join(items) + " " if items else "") + "]"


def mismatch_message(have: Usages, want: Usages) -> str:
    """cert-manager's "encoded CSR error" text for a CSR whose usages differ from the request's."""
    if have.key_usage != want.key_usage:
        order = list(BIT_NAMES)
        return (
            f"encoded CSR error: the KeyUsages {_listing(BIT_NAMES[b] for b in order if b in have.key_usage)} "
            f"do not match the expected KeyUsages {_listing(BIT_NAMES[b] for b in order if b in want.key_usage)}"
        )
    return (
        f"encoded CSR error: the ExtKeyUsages {_listing(EKU_NAMES.get(o, o.dotted_string) for o in have.extended)} "
        f"do not match the expected ExtKeyUsages {_listing(EKU_NAMES.get(o, o.dotted_string) for o in want.extended)}"
    )


def canonical(usages: Iterable[str]) -> frozenset[str]:
    """Names with synonyms folded ("signing" -> "digital signature", "s/mime" -> "email protection")."""
    out = set()
    for usage in usages:
        if usage == "signing":
            out.add("digital signature")
        elif usage == "s/mime":
            out.add("email protection")
        else:
            out.add(usage)
    return frozenset(out)
