"""cert-manager's admission webhook rules as pure functions: typed objects in, field-path violations out.

Called by the embedded API server (as the validating webhook), by the offline CLI before it issues
anything, and by the operator when a stored object is read. Each `validate_*` mirrors one validator of
cert-manager's webhook (`internal/apis/certmanager/validation`, `internal/apis/acme/validation`), in the
same order and with the same field paths and messages, so `str(violation)` reads like cert-manager's
``spec.duration: Invalid value: "30m": certificate duration must be greater than 1h0m0s``. A few rules
that cert-manager enforces through its CRD schema (enums, maxLength, required) or only at issuance
(unparsable URIs, CIDRs) are checked here too, with the API server's wording; each is marked below.
Known cert-manager quirks are kept on purpose (the renewBeforePercentage formula, the
``spec.issuerRef.kind.group`` hint, the ``ocspServer`` path, the ``gateway`` path).
`validate` takes raw dicts and never raises. `parse_literal_subject` is shared with `issuer.pki`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from issuer.api import constants as c
from issuer.api import duration as _duration
from issuer.api import types as t
from issuer.api.model import (
    InvalidObject,
    Violation,
    duplicate,
    forbidden,
    invalid,
    required,
    too_long,
    unsupported,
)

CSRChecker = Callable[[bytes, t.CertificateRequestSpec], list[Violation]]
"""Deeper CSR checks (basicConstraints and key usages vs spec) supplied by `issuer.pki`."""

# ---------------------------------------------------------------------------------------------------------
# Kubernetes name and metadata rules (k8s.io/apimachinery/pkg/util/validation)

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QUALIFIED_NAME_FMT + ")?"
_DNS1123_LABEL_RE = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)
_QUALIFIED_NAME_RE = re.compile(_QUALIFIED_NAME_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_QUALIFIED_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
)
_TOTAL_ANNOTATION_SIZE = 256 * 1024


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    """k8s validation.RegexError, spacing quirks included."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    text = msg + " (e.g. "
    for i, example in enumerate(examples):
        if i > 0:
            text += " or "
        text += f"'{example}', "
    return text + f"regex used for validation is '{fmt}')"


def _max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def dns1123_label_errors(value: str) -> list[str]:
    """The messages of Kubernetes' IsDNS1123Label (empty when valid)."""
    errs = []
    if len(value) > 63:
        errs.append(_max_len_error(63))
    if not _DNS1123_LABEL_RE.fullmatch(value):
        errs.append(
            _regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                "and must start and end with an alphanumeric character",
                _DNS1123_LABEL_FMT,
                "my-name",
                "123-abc",
            )
        )
    return errs


def dns1123_subdomain_errors(value: str) -> list[str]:
    """The messages of Kubernetes' IsDNS1123Subdomain (empty when valid)."""
    errs = []
    if len(value) > 253:
        errs.append(_max_len_error(253))
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errs.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                "and must start and end with an alphanumeric character",
                _DNS1123_SUBDOMAIN_FMT,
                "example.com",
            )
        )
    return errs


def is_dns1123_label(name: str) -> bool:
    return isinstance(name, str) and not dns1123_label_errors(name)


def is_dns1123_subdomain(name: str) -> bool:
    return isinstance(name, str) and not dns1123_subdomain_errors(name)


def qualified_name_errors(value: str) -> list[str]:
    """Kubernetes' IsQualifiedName: label and annotation keys (``prefix/name``)."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + msg for msg in dns1123_subdomain_errors(prefix)]
    else:
        return [
            "a qualified name "
            + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + _max_len_error(63))
    if not _QUALIFIED_NAME_RE.fullmatch(name):
        errs.append(
            "name part " + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def label_value_errors(value: str) -> list[str]:
    """Kubernetes' IsValidLabelValue."""
    errs = []
    if len(value) > 63:
        errs.append(_max_len_error(63))
    if not _LABEL_VALUE_RE.fullmatch(value):
        errs.append(
            _regex_error(
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                "and must start and end with an alphanumeric character",
                _LABEL_VALUE_FMT,
                "MyValue",
                "my_value",
                "12345",
            )
        )
    return errs


def validate_labels(labels: Mapping[str, str], path: str) -> list[Violation]:
    """metav1validation.ValidateLabels: every violation is reported at `path` itself, as in Go."""
    out: list[Violation] = []
    for key, value in labels.items():
        out += [invalid(path, key, msg) for msg in qualified_name_errors(key)]
        out += [invalid(path, value, msg) for msg in label_value_errors(value)]
    return out


def validate_annotations(annotations: Mapping[str, str], path: str) -> list[Violation]:
    """apivalidation.ValidateAnnotations: keys are qualified names (case-insensitive), 256 KiB in total."""
    out: list[Violation] = []
    total = 0
    for key, value in annotations.items():
        out += [invalid(path, key, msg) for msg in qualified_name_errors(key.lower())]
        total += len(key.encode("utf-8", "surrogatepass")) + len(value.encode("utf-8", "surrogatepass"))
    if total > _TOTAL_ANNOTATION_SIZE:
        out.append(too_long(path, "", _TOTAL_ANNOTATION_SIZE))
    return out


def validate_object_meta_name(meta: t.ObjectMeta, path: str = "metadata") -> list[Violation]:
    """The API server's name rules for these kinds: name (or generateName) set, a DNS-1123 subdomain."""
    out: list[Violation] = []
    if not meta.name and not meta.generate_name:
        out.append(required(f"{path}.name", "name or generateName is required"))
    if meta.generate_name:
        masked = meta.generate_name[:-1] + "a" if meta.generate_name.endswith("-") else meta.generate_name
        out += [invalid(f"{path}.generateName", meta.generate_name, m) for m in dns1123_subdomain_errors(masked)]
    if meta.name:
        out += [invalid(f"{path}.name", meta.name, m) for m in dns1123_subdomain_errors(meta.name)]
    return out


# ---------------------------------------------------------------------------------------------------------
# RFC 4514 literal subjects (cert-manager's pki.UnmarshalSubjectStringToRDNSequence over go-ldap's ParseDN)

OID_COMMON_NAME = "2.5.4.3"
ATTRIBUTE_TYPES: dict[str, str] = {
    "C": "2.5.4.6",
    "O": "2.5.4.10",
    "OU": "2.5.4.11",
    "CN": OID_COMMON_NAME,
    "SERIALNUMBER": "2.5.4.5",
    "L": "2.5.4.7",
    "ST": "2.5.4.8",
    "STREET": "2.5.4.9",
    "POSTALCODE": "2.5.4.17",  # not in cert-manager's table (it rejects POSTALCODE=); accepted here
    "DC": "0.9.2342.19200300.100.1.25",
    "UID": "0.9.2342.19200300.100.1.1",
}
"""Attribute names understood in a literalSubject, case-sensitive as in cert-manager."""

_SPECIALS = ' "#+,;<=>\\'
_OID_RE = re.compile(r"[0-9]+(\.[0-9]+)+", re.ASCII)


def is_dotted_oid(text: str) -> bool:
    """A dotted-decimal OID that X.509 can encode: two or more arcs, first 0-2, second < 40 under 0 and 1."""
    if not isinstance(text, str) or not _OID_RE.fullmatch(text):
        return False
    first, second = (int(p) for p in text.split(".")[:2])
    return first <= 2 and (first == 2 or second < 40)


def _strip_spaces(text: str) -> str:
    stripped = text.strip(" ")
    if stripped.endswith("\\") and text.endswith(" "):
        stripped += " "
    return stripped


def _decode_dn_string(text: str) -> str:
    """go-ldap decodeString: trim unescaped spaces, resolve ``\\,`` and ``\\C3\\A9`` escapes."""
    chars = _strip_spaces(text)
    out = bytearray()
    i = 0
    while i < len(chars):
        ch = chars[i]
        if ch != "\\":
            out += ch.encode("utf-8", "surrogatepass")
            i += 1
            continue
        if i + 1 >= len(chars):
            raise ValueError(f"got corrupted escaped character: '{chars}'")
        if chars[i + 1] in _SPECIALS:
            out += chars[i + 1].encode("ascii")
            i += 2
            continue
        if i + 2 >= len(chars):
            raise ValueError("failed to decode escaped character: encoding/hex: invalid byte: " + chars[i + 1])
        pair = chars[i + 1 : i + 3]
        for h in pair:
            if h not in "0123456789abcdefABCDEF":
                raise ValueError(
                    f"failed to decode escaped character: encoding/hex: invalid byte: U+{ord(h):04X} {h!r}"
                )
        out.append(int(pair, 16))
        i += 3
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("attribute value is not valid UTF-8") from exc


def _decode_ber_string(hex_text: str) -> str:
    """go-ldap decodeEncodedString: ``#`` + hex of one BER TLV; the content octets are the value."""
    try:
        raw = binascii.unhexlify(hex_text)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"failed to decode BER encoding: {exc}") from exc
    try:
        _tag, start, end = _der_header(raw, 0)
    except ValueError as exc:
        raise ValueError(f"failed to decode BER encoding: {exc}") from exc
    try:
        return raw[start:end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("failed to decode BER encoding: value is not valid UTF-8") from exc


def _parse_dn(text: str) -> list[list[tuple[str, str]]]:
    """go-ldap ParseDN: RDNs in written order, each a list of (type as written, value)."""
    if not text.strip():
        return []
    rdns: list[list[tuple[str, str]]] = []
    rdn: list[tuple[str, str]] = []
    attr_type = ""
    escaping = False
    start = 0

    def value_of(raw: str) -> str:
        return _decode_ber_string(raw[1:]) if raw.startswith("#") else _decode_dn_string(raw)

    for i, ch in enumerate(text):
        if escaping:
            escaping = False
        elif ch == "\\":
            escaping = True
        elif ch == "=" and not attr_type:
            attr_type = _decode_dn_string(text[start:i])
            start = i + 1
        elif ch in ",+;":
            if not attr_type:
                raise ValueError("incomplete type, value pair")
            rdn.append((attr_type, value_of(text[start:i])))
            attr_type = ""
            start = i + 1
            if ch != "+":
                rdns.append(rdn)
                rdn = []
    if not attr_type:
        raise ValueError("DN ended with incomplete type, value pair")
    rdn.append((attr_type, value_of(text[start:])))
    rdns.append(rdn)
    return rdns


def _attribute_oid(name: str) -> str | None:
    oid = ATTRIBUTE_TYPES.get(name)
    if oid is None and is_dotted_oid(name):
        oid = name
    return oid


def parse_literal_subject_rdns(text: str) -> list[list[tuple[str, str]]]:
    """Parse an RFC 4514 subject into RDNs of (dotted OID, value), in RDNSequence (DER) order.

    As in cert-manager, the string is written most-specific first ("CN=a,O=b") and the sequence is the
    reverse ([O=b], [CN=a]); attributes inside a multi-valued RDN ("CN=a+UID=b") keep their order.
    Raises ValueError for syntax errors and for attribute types that are neither known names nor OIDs.
    """
    sequence: list[list[tuple[str, str]]] = []
    for rdn in reversed(_parse_dn(text)):
        atvs = []
        for name, value in rdn:
            oid = _attribute_oid(name)
            if oid is None:
                raise ValueError(f"Literal subject contains unrecognized key with value [{value}]")
            atvs.append((oid, value))
        sequence.append(atvs)
    return sequence


def parse_literal_subject(text: str) -> list[tuple[str, str]]:
    """The attributes of `parse_literal_subject_rdns`, flattened, in the same (DER) order."""
    return [atv for rdn in parse_literal_subject_rdns(text) for atv in rdn]


# ---------------------------------------------------------------------------------------------------------
# DER and PEM framing (stdlib only; full parsing belongs to issuer.pki)


def _der_header(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at `pos`; ValueError when it does not fit."""
    if pos >= len(data):
        raise ValueError("unexpected end of data")
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:
        while True:
            if pos >= len(data):
                raise ValueError("unexpected end of data")
            pos += 1
            if not data[pos - 1] & 0x80:
                break
    if pos >= len(data):
        raise ValueError("unexpected end of data")
    length = data[pos]
    pos += 1
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 8:
            raise ValueError("unsupported length encoding")
        if pos + count > len(data):
            raise ValueError("unexpected end of data")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise ValueError("unexpected end of data")
    return tag, pos, end


def _der_children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out = []
    pos = start
    while pos < end:
        tag, cstart, cend = _der_header(data[:end], pos)
        out.append((tag, cstart, cend))
        pos = cend
    return out


def _signed_structure(der: bytes, first_inner: int) -> bool:
    """SEQUENCE { SEQUENCE {first_inner ...}, SEQUENCE, BIT STRING } spanning all of `der`."""
    try:
        tag, start, end = _der_header(der, 0)
        if tag != 0x30 or end != len(der):
            return False
        parts = _der_children(der, start, end)
        if [p[0] for p in parts] != [0x30, 0x30, 0x03]:
            return False
        inner = _der_children(der, parts[0][1], parts[0][2])
    except ValueError:
        return False
    return bool(inner) and inner[0][0] == first_inner


def is_csr_der(der: bytes) -> bool:
    """Looks like a PKCS#10 CertificationRequest (version INTEGER first inside the signed info)."""
    return _signed_structure(der, 0x02)


def is_certificate_der(der: bytes) -> bool:
    """Looks like an X.509 Certificate (tbsCertificate starts with [0] version or the serial INTEGER)."""
    return _signed_structure(der, 0xA0) or _signed_structure(der, 0x02)


_PEM_RE = re.compile(rb"-----BEGIN ([^\r\n-]*)-----[ \t]*\r?\n(.*?)-----END \1-----", re.S)


def pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """The decodable PEM blocks in `data` as (type, DER), skipping malformed ones as Go's pem.Decode does."""
    out = []
    for match in _PEM_RE.finditer(data):
        lines = match.group(2).splitlines()
        if lines and b":" in lines[0]:  # RFC 1421 headers, up to the first blank line
            while lines and lines[0].strip():
                lines.pop(0)
        body = b"".join(line.strip() for line in lines)
        try:
            der = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            continue
        out.append((match.group(1).decode("latin-1"), der))
    return out


def _bundle_has_certificate(bundle: bytes) -> bool:
    return any(kind == "CERTIFICATE" and is_certificate_der(der) for kind, der in pem_blocks(bundle))


# ---------------------------------------------------------------------------------------------------------
# Small shared pieces


def _parse_duration(text: str) -> tuple[int | None, str]:
    """(nanoseconds, "") or (None, Go's error text)."""
    try:
        value = _duration.parse(text)
    except _duration.DurationError:
        return None, f'time: invalid duration "{text}"'
    return _ns(value), ""


def _ns(value: Any) -> int:
    return int((value.days * 86_400 + value.seconds) * 1_000_000_000 + value.microseconds * 1000)


def _fmt_ns(ns: int) -> str:
    return _duration.format(_dt.timedelta(microseconds=ns // 1000 if ns >= 0 else -((-ns) // 1000)))


def _wrap_int64(value: int) -> int:
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def _go_div(a: int, b: int) -> int:
    """Go's integer division truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


_MIN_DURATION_NS = _ns(c.MINIMUM_DURATION)
_MIN_RENEW_BEFORE_NS = _ns(c.MINIMUM_RENEW_BEFORE)
_DEFAULT_DURATION_NS = _ns(c.DEFAULT_DURATION)


def _validate_issuer_ref(ref: t.IssuerRef, path: str) -> list[Violation]:
    """validateIssuerRef: name required; kind checked only for the cert-manager.io group."""
    out: list[Violation] = []
    ref_path = f"{path}.issuerRef"
    if not ref.name:
        out.append(required(f"{ref_path}.name", "must be specified"))
    if ref.group in ("", c.GROUP) and ref.kind not in ("", c.ISSUER, c.CLUSTER_ISSUER):
        kind_path = f"{ref_path}.kind"
        message = "must be one of Issuer or ClusterIssuer"
        if not ref.group:
            # cert-manager builds the hint from the kind's path, hence "kind.group"
            message += f" (did you forget to set {kind_path}.group?)"
        out.append(invalid(kind_path, ref.kind, message))
    return out


def _secret_key_selector(ref: t.SecretKeySelector | None, path: str) -> list[Violation]:
    ref = ref or t.SecretKeySelector()
    out = []
    if not ref.name:
        out.append(required(f"{path}.name", "secret name is required"))
    if not ref.key:
        out.append(required(f"{path}.key", "secret key is required"))
    return out


def _raw_secret_key_selector(raw: Any, path: str) -> list[Violation]:
    return _secret_key_selector(_as_selector(raw), path)


def _as_selector(raw: Any) -> t.SecretKeySelector:
    if not isinstance(raw, Mapping):
        return t.SecretKeySelector()
    name, key = raw.get("name"), raw.get("key")
    return t.SecretKeySelector(name=name if isinstance(name, str) else "", key=key if isinstance(key, str) else "")


def _object(raw: Any, path: str, out: list[Violation]) -> dict[str, Any]:
    """A free-form JSON field that must be an object; records a violation and returns {} otherwise."""
    if isinstance(raw, Mapping):
        return dict(raw)
    out.append(invalid(path, raw, "must be an object"))
    return {}


def _string(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return value if isinstance(value, str) else ""


# ---------------------------------------------------------------------------------------------------------
# Certificate


_SIGNATURE_ALGORITHMS_BY_KEY = {
    c.RSA: ("SHA256WithRSA", "SHA384WithRSA", "SHA512WithRSA"),
    c.ECDSA: ("ECDSAWithSHA256", "ECDSAWithSHA384", "ECDSAWithSHA512"),
    c.ED25519: ("PureEd25519",),
}
_WINDOW_DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(s|m|h))+$"
_WINDOW_DURATION_RE = re.compile(_WINDOW_DURATION_PATTERN)


def validate_certificate(cert: t.Certificate) -> list[Violation]:
    """ValidateCertificate (create and update are the same: the spec is mutable)."""
    return validate_object_meta_name(cert.metadata) + validate_certificate_spec(cert.spec)


def validate_certificate_spec(spec: t.CertificateSpec, path: str = "spec") -> list[Violation]:
    """ValidateCertificateSpec, in cert-manager's order."""
    out: list[Violation] = []
    if not spec.secret_name:
        out.append(required(f"{path}.secretName", "must be specified"))
    else:
        out += [invalid(f"{path}.secretName", spec.secret_name, m) for m in dns1123_subdomain_errors(spec.secret_name)]

    out += _validate_issuer_ref(spec.issuer_ref, path)

    common_name = spec.common_name
    if spec.literal_subject:
        out += _validate_literal_subject(spec, path)
        try:
            rdns = _parse_dn(spec.literal_subject)
        except ValueError:
            rdns = []
        for rdn in reversed(rdns):  # cert-manager walks the RDNSequence: the first CN written wins
            for name, value in rdn:
                if _attribute_oid(name) == OID_COMMON_NAME:
                    common_name = value

    if not (
        common_name or spec.dns_names or spec.uris or spec.email_addresses or spec.ip_addresses or spec.other_names
    ):
        out.append(
            invalid(
                path,
                "",
                "at least one of commonName (from the commonName field or from a literalSubject), dnsNames, "
                "emailSANs, ipAddresses, otherNames, or uriSANs must be set",
            )
        )
    if len(common_name.encode("utf-8", "surrogatepass")) > c.MAX_COMMON_NAME_LENGTH:
        out.append(too_long(f"{path}.commonName", common_name, c.MAX_COMMON_NAME_LENGTH))

    for i, ip in enumerate(spec.ip_addresses):
        if not is_ip_address(ip):
            out.append(invalid(f"{path}.ipAddresses[{i}]", ip, "invalid IP address"))
    for i, address in enumerate(spec.email_addresses):
        problem = email_address_error(address)
        if problem:
            out.append(invalid(f"{path}.emailAddresses[{i}]", address, problem))
    # not a webhook rule: cert-manager only fails later, when it builds the CSR
    for i, uri in enumerate(spec.uris):
        problem = uri_error(uri)
        if problem:
            out.append(invalid(f"{path}.uris[{i}]", uri, problem))
    for i, other in enumerate(spec.other_names):
        other_path = f"{path}.otherNames[{i}]"
        if not other.oid:
            out.append(required(f"{other_path}.oid", "must be specified"))
        if not is_dotted_oid(other.oid):
            out.append(invalid(f"{other_path}.oid", other.oid, "invalid oid syntax"))
        if not other.utf8_value or not _valid_utf8(other.utf8_value):
            out.append(required(f"{other_path}.utf8Value", "must be set to a valid non-empty UTF8 string"))

    out += _validate_private_key(spec, path)

    if spec.duration or spec.renew_before:
        out += _validate_durations(spec, path)
    for i, usage in enumerate(spec.usages):
        if usage not in c.USAGES:
            out.append(invalid(f"{path}.usages[{i}]", usage, "unknown keyusage"))
    if spec.revision_history_limit is not None and spec.revision_history_limit < 1:
        out.append(invalid(f"{path}.revisionHistoryLimit", spec.revision_history_limit, "must not be less than 1"))

    if spec.secret_template is not None:
        template_path = f"{path}.secretTemplate"
        if spec.secret_template.labels:
            out += validate_labels(spec.secret_template.labels, f"{template_path}.labels")
        if spec.secret_template.annotations:
            annotations_path = f"{template_path}.annotations"
            for key in spec.secret_template.annotations:
                if key.startswith("cert-manager.io/") and key != c.ANN_ALLOW_DIRECT_INJECTION:
                    out.append(invalid(annotations_path, key, "cert-manager.io/* annotations are not allowed"))
            out += validate_annotations(spec.secret_template.annotations, annotations_path)

    if spec.name_constraints is not None:
        out += _validate_name_constraints(spec, path)

    seen: set[str] = set()
    for i, output in enumerate(spec.additional_output_formats):
        if output.type in seen:
            out.append(duplicate(f"{path}.additionalOutputFormats[type]", output.type))
            continue
        seen.add(output.type)
        if output.type not in c.OUTPUT_FORMATS:  # CRD enum
            out.append(unsupported(f"{path}.additionalOutputFormats[{i}].type", output.type, c.OUTPUT_FORMATS))

    if spec.keystores is not None:
        out += _validate_keystores(spec.keystores, path)
    if spec.renewal is not None:
        out += _validate_renewal(spec.renewal, path)
    return out


def _valid_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _validate_literal_subject(spec: t.CertificateSpec, path: str) -> list[Violation]:
    out: list[Violation] = []
    if spec.common_name:
        out.append(
            invalid(
                f"{path}.commonName",
                spec.common_name,
                "When providing a `LiteralSubject` no `commonName` may be provided.",
            )
        )
    subject = spec.subject
    if subject is not None and (
        subject.organizations
        or subject.countries
        or subject.organizational_units
        or subject.localities
        or subject.provinces
        or subject.street_addresses
        or subject.postal_codes
        or subject.serial_number
    ):
        out.append(
            invalid(
                f"{path}.subject",
                subject.to_wire(),
                "When providing a `LiteralSubject` no `Subject` properties may be provided.",
            )
        )
    try:
        rdns = _parse_dn(spec.literal_subject)
    except ValueError as exc:
        out.append(invalid(f"{path}.literalSubject", spec.literal_subject, str(exc)))
        return out
    for rdn in rdns:
        for name, value in rdn:
            if _attribute_oid(name) is None:
                out.append(
                    invalid(
                        f"{path}.literalSubject",
                        spec.literal_subject,
                        f"Literal subject contains unrecognized key with value [{value}]",
                    )
                )
    return out


def _validate_private_key(spec: t.CertificateSpec, path: str) -> list[Violation]:
    out: list[Violation] = []
    pk = spec.private_key
    key_path = f"{path}.privateKey"
    if pk is not None:
        size = pk.size or 0
        if pk.algorithm in ("", c.RSA):
            if size > 0 and not c.RSA_MIN_SIZE <= size <= c.RSA_MAX_SIZE:
                out.append(
                    invalid(
                        f"{key_path}.size",
                        pk.size,
                        f"must be between {c.RSA_MIN_SIZE} and {c.RSA_MAX_SIZE} for rsa keyAlgorithm",
                    )
                )
        elif pk.algorithm == c.ECDSA:
            if size > 0 and size not in c.ECDSA_SIZES:
                out.append(unsupported(f"{key_path}.size", pk.size, [str(s) for s in c.ECDSA_SIZES]))
        elif pk.algorithm != c.ED25519:
            out.append(
                invalid(f"{key_path}.algorithm", pk.algorithm, "must be either empty or one of rsa, ecdsa or ed25519")
            )
        # CRD enums
        if pk.encoding and pk.encoding not in c.KEY_ENCODINGS:
            out.append(unsupported(f"{key_path}.encoding", pk.encoding, c.KEY_ENCODINGS))
        if pk.rotation_policy and pk.rotation_policy not in c.ROTATION_POLICIES:
            out.append(unsupported(f"{key_path}.rotationPolicy", pk.rotation_policy, c.ROTATION_POLICIES))

    if spec.signature_algorithm:
        key_algorithm = pk.algorithm if pk is not None and pk.algorithm else c.RSA
        allowed = _SIGNATURE_ALGORITHMS_BY_KEY.get(key_algorithm)
        if allowed is not None and spec.signature_algorithm not in allowed:
            out.append(
                invalid(
                    f"{path}.signatureAlgorithm",
                    spec.signature_algorithm,
                    f"for key algorithm {key_algorithm} the allowed signature algorithms are [{' '.join(allowed)}]",
                )
            )
    return out


def _validate_durations(spec: t.CertificateSpec, path: str) -> list[Violation]:
    """ValidateDuration, including the webhook's renewBeforePercentage formula (see module docstring)."""
    out: list[Violation] = []
    duration_ns: int | None = _DEFAULT_DURATION_NS
    if spec.duration:
        duration_ns, problem = _parse_duration(spec.duration)
        if duration_ns is None:
            out.append(invalid(f"{path}.duration", spec.duration, problem))
        elif duration_ns < _MIN_DURATION_NS:
            out.append(
                invalid(
                    f"{path}.duration",
                    spec.duration,
                    f"certificate duration must be greater than {_fmt_ns(_MIN_DURATION_NS)}",
                )
            )
    renew_ns: int | None = None
    if spec.renew_before:
        renew_ns, problem = _parse_duration(spec.renew_before)
        if renew_ns is None:
            out.append(invalid(f"{path}.renewBefore", spec.renew_before, problem))
    pct = spec.renew_before_percentage
    if spec.renew_before and pct is not None:
        message = "renewBefore and renewBeforePercentage are mutually exclusive and cannot both be set"
        out.append(invalid(f"{path}.renewBefore", spec.renew_before, message))
        out.append(invalid(f"{path}.renewBeforePercentage", pct, message))
    if renew_ns is not None:
        if renew_ns < _MIN_RENEW_BEFORE_NS:
            out.append(
                invalid(
                    f"{path}.renewBefore",
                    spec.renew_before,
                    f"certificate renewBefore must be greater than {_fmt_ns(_MIN_RENEW_BEFORE_NS)}",
                )
            )
        if duration_ns is not None and renew_ns >= duration_ns:
            out.append(
                invalid(
                    f"{path}.renewBefore",
                    spec.renew_before,
                    f"certificate duration {_fmt_ns(duration_ns)} must be greater than renewBefore {_fmt_ns(renew_ns)}",
                )
            )
    if pct is not None and duration_ns is not None:
        # verbatim from the webhook: duration * (100 - pct) / 100 in int64 nanoseconds
        renew_before = _go_div(_wrap_int64(duration_ns * _wrap_int64(100 - pct)), 100)
        if renew_before < _MIN_RENEW_BEFORE_NS:
            out.append(
                invalid(
                    f"{path}.renewBeforePercentage",
                    pct,
                    "certificate renewBeforePercentage must result in a renewBefore greater than "
                    + _fmt_ns(_MIN_RENEW_BEFORE_NS),
                )
            )
        if renew_before >= duration_ns:
            out.append(
                invalid(
                    f"{path}.renewBeforePercentage",
                    pct,
                    "certificate renewBeforePercentage must result in a renewBefore less than duration",
                )
            )
    return out


def _validate_name_constraints(spec: t.CertificateSpec, path: str) -> list[Violation]:
    out: list[Violation] = []
    nc = spec.name_constraints
    assert nc is not None
    nc_path = f"{path}.nameConstraints"
    if not spec.is_ca:
        out.append(invalid(nc_path, nc.to_wire(), "isCa should be true when nameConstraints is set"))
    if nc.permitted is None and nc.excluded is None:
        out.append(invalid(nc_path, nc.to_wire(), "either permitted or excluded must be set"))
    # not a webhook rule: cert-manager fails to build the CSR later (net.ParseCIDR)
    for name, item in (("permitted", nc.permitted), ("excluded", nc.excluded)):
        if item is None:
            continue
        for i, cidr in enumerate(item.ip_ranges):
            if not is_cidr(cidr):
                out.append(invalid(f"{nc_path}.{name}.ipRanges[{i}]", cidr, f"invalid CIDR address: {cidr}"))
    return out


_KEYSTORE_BOTH = "exactly one of passwordSecretRef and password must be provided for {} keystores; cannot set both"
_KEYSTORE_NEITHER = "must set exactly one of passwordSecretRef and password must for {} keystores"
_KEYSTORE_EMPTY = "literal password cannot be empty if set on {} keystores"


def _validate_keystores(keystores: t.CertificateKeystores, path: str) -> list[Violation]:
    out: list[Violation] = []
    stores: list[tuple[str, str, t.JKSKeystore | t.PKCS12Keystore | None]] = [
        ("jks", "JKS", keystores.jks),
        ("pkcs12", "PKCS#12", keystores.pkcs12),
    ]
    for wire_name, label, store in stores:
        if store is None:
            continue
        store_path = f"{path}.keystores.{wire_name}"
        has_ref = store.password_secret_ref is not None and bool(store.password_secret_ref.name)
        if store.password is not None and has_ref:
            out.append(forbidden(store_path, _KEYSTORE_BOTH.format(label)))
        if store.password is None and not has_ref:
            out.append(forbidden(store_path, _KEYSTORE_NEITHER.format(label)))
        if store.password is not None and not store.password:
            out.append(forbidden(f"{store_path}.password", _KEYSTORE_EMPTY.format(label)))
        if isinstance(store, t.PKCS12Keystore) and store.profile and store.profile not in c.PKCS12_PROFILES:
            out.append(unsupported(f"{store_path}.profile", store.profile, c.PKCS12_PROFILES))  # CRD enum
    return out


def _validate_renewal(renewal: t.Renewal, path: str) -> list[Violation]:
    out: list[Violation] = []
    renewal_path = f"{path}.renewal"
    if renewal.policy == "Disabled":
        if renewal.windows:
            out.append(
                forbidden(f"{renewal_path}.windows", "windows cannot be set when `renewal.policy` is set to Disabled")
            )
        return out
    if not renewal.policy:  # CRD: required
        out.append(required(f"{renewal_path}.policy"))
    elif renewal.policy != "RenewBefore":
        out.append(
            unsupported(f"{renewal_path}.policy", f"unsupported field {renewal.policy}", ("Disabled", "RenewBefore"))
        )
    for i, window in enumerate(renewal.windows):
        window_path = f"{renewal_path}.windows[{i}]"
        if not window.window_duration:
            out.append(
                required(
                    f"{window_path}.windowDuration", "windowDuration must be specified and should be greater than 0"
                )
            )
        elif not _WINDOW_DURATION_RE.fullmatch(window.window_duration):  # CRD pattern
            out.append(
                invalid(
                    f"{window_path}.windowDuration",
                    window.window_duration,
                    f"{window_path}.windowDuration in body should match '{_WINDOW_DURATION_PATTERN}'",
                )
            )
        if window.timezone and not is_timezone(window.timezone):
            out.append(
                invalid(
                    f"{window_path}.timezone",
                    window.timezone,
                    "invalid value for timezone. timezone must be IANA compliant",
                )
            )
        problem = cron_error(window.cron)
        if problem:
            out.append(
                invalid(
                    f"{window_path}.cron",
                    window.cron,
                    f"invalid cron syntax: {problem}. cron needs to follow: "
                    "cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow",
                )
            )
    return out


def is_ip_address(text: str) -> bool:
    """Go's net.ParseIP: dotted IPv4 without leading zeros, or IPv6 without a zone."""
    if not isinstance(text, str) or "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def is_cidr(text: str) -> bool:
    """Go's net.ParseCIDR: an address and a prefix length; host bits may be set."""
    if not isinstance(text, str) or "/" not in text or "%" in text:
        return False
    address, _, prefix = text.partition("/")
    if not prefix.isascii() or not prefix.isdigit():
        return False
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return is_ip_address(address)


def is_timezone(name: str) -> bool:
    """Go's time.LoadLocation: "", "UTC", "Local" or an IANA name."""
    if name in ("", "UTC", "Local"):
        return True
    import zoneinfo  # only for a timezone to check: 2 ms to import

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):
        return False
    return True


def email_address_error(address: str) -> str:
    """Empty when `address` is a bare e-mail address, else cert-manager's "invalid email address: ..." text.

    cert-manager runs Go's mail.ParseAddress and then insists the parsed address equals the input, so
    "Name <a@b>", " a@b" and a quoted local part are refused even though they parse.
    """
    parsed, problem = _MailParser(address).parse_single()
    if problem:
        return f"invalid email address: {problem}"
    if parsed != address:
        return "invalid email address: make sure the supplied value only contains the email address itself"
    return ""


class _MailParser:
    """The part of Go's net/mail addrParser that ParseAddress uses (groups and RFC 2047 words aside)."""

    _SPECIALS = '()<>[]:;@\\,"'

    def __init__(self, text: str) -> None:
        self.s = text

    def parse_single(self) -> tuple[str, str]:
        try:
            address = self._parse_address()
            if not self._skip_cfws():
                raise ValueError("mail: misformatted parenthetical comment")
            if self.s:
                raise ValueError(f"mail: expected single address, got {_go_quote(self.s)}")
        except ValueError as exc:
            return "", str(exc)
        return address, ""

    def _parse_address(self) -> str:
        self._skip_space()
        if not self.s:
            raise ValueError("mail: no address")
        saved = self.s
        try:
            spec = self._addr_spec()
        except ValueError:
            self.s = saved
        else:
            self._skip_space()
            if self.s.startswith("("):
                self._comment()
            return spec
        display = ""
        if not self.s.startswith("<"):
            display = self._phrase()
        self._skip_space()
        if not self.s.startswith("<"):
            if all(self._is_atext(ch, True) for ch in display):
                raise ValueError("mail: missing '@' or angle-addr")
            raise ValueError("mail: no angle-addr")
        self.s = self.s[1:]
        spec = self._addr_spec()
        if not self.s.startswith(">"):
            raise ValueError("mail: unclosed angle-addr")
        self.s = self.s[1:]
        return spec

    def _addr_spec(self) -> str:
        if self.s.startswith('"'):
            local = self._quoted_string()
            if not local:
                raise ValueError("mail: empty quoted-string in addr-spec")
        else:
            local = self._atom(dot=True, permissive=False)
        if not self.s.startswith("@"):
            raise ValueError("mail: missing @ in addr-spec")
        self.s = self.s[1:]
        self._skip_space()
        if not self.s:
            raise ValueError("mail: no domain in addr-spec")
        if self.s.startswith("["):
            end = self.s.find("]")
            if end < 0:
                raise ValueError("mail: unclosed domain-literal")
            domain, self.s = self.s[: end + 1], self.s[end + 1 :]
        else:
            domain = self._atom(dot=True, permissive=False)
        return f"{local}@{domain}"

    @classmethod
    def _is_atext(cls, ch: str, dot: bool) -> bool:
        if ch == ".":
            return dot
        if ch in cls._SPECIALS:
            return False
        return "!" <= ch <= "~" or ord(ch) >= 0x80

    def _atom(self, dot: bool, permissive: bool) -> str:
        i = 0
        while i < len(self.s) and self._is_atext(self.s[i], dot):
            i += 1
        if i == 0:
            raise ValueError("mail: invalid string")
        atom, self.s = self.s[:i], self.s[i:]
        if not permissive:
            if atom.startswith("."):
                raise ValueError("mail: leading dot in atom")
            if ".." in atom:
                raise ValueError("mail: double dot in atom")
            if atom.endswith("."):
                raise ValueError("mail: trailing dot in atom")
        return atom

    def _quoted_string(self) -> str:
        out = []
        i = 1
        escaped = False
        while True:
            if i >= len(self.s):
                raise ValueError("mail: unclosed quoted-string")
            ch = self.s[i]
            if escaped:
                out.append(ch)
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                break
            elif ch not in " \t" and not ("!" <= ch <= "~" or ord(ch) >= 0x80):
                raise ValueError(f"mail: bad character in quoted-string: {_go_quote(ch)}")
            else:
                out.append(ch)
            i += 1
        self.s = self.s[i + 1 :]
        return "".join(out)

    def _phrase(self) -> str:
        words: list[str] = []
        problem = ""
        while True:
            if words and not self._skip_cfws():
                raise ValueError("mail: misformatted parenthetical comment")
            self._skip_space()
            if not self.s:
                break
            try:
                word = self._quoted_string() if self.s.startswith('"') else self._atom(dot=True, permissive=True)
            except ValueError as exc:
                problem = str(exc)
                break
            words.append(word)
        if not words:
            raise ValueError(f"mail: missing word in phrase: {problem}")
        return " ".join(words)

    def _skip_space(self) -> None:
        self.s = self.s.lstrip(" \t")

    def _comment(self) -> None:
        depth = 0
        for i, ch in enumerate(self.s):
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    self.s = self.s[i + 1 :]
                    return
        raise ValueError("mail: misformatted parenthetical comment")

    def _skip_cfws(self) -> bool:
        self._skip_space()
        while self.s.startswith("("):
            try:
                self._comment()
            except ValueError:
                return False
            self._skip_space()
        return True


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uri_error(uri: str) -> str:
    """The errors Go's url.Parse reports (cert-manager's CSR building), in its words; "" when fine."""
    prefix = f'parse "{uri}": '
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in uri):
        return prefix + "net/url: invalid control character in URL"
    for match in re.finditer(r"%(.{0,2})", uri, re.S):
        if not re.fullmatch(r"[0-9A-Fa-f]{2}", match.group(1)):
            return prefix + f'invalid URL escape "{match.group(0)}"'
    if uri.startswith(":"):
        return prefix + "missing protocol scheme"
    scheme_match = re.match(r"([^:/?#]*):", uri)
    if scheme_match and not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", scheme_match.group(1)):
        first_segment = uri.split("/", 1)[0]
        if ":" in first_segment:
            return prefix + "first path segment in URL cannot contain colon"
    return ""


# robfig/cron (standard parser), as cert-manager's CronParse uses it
_MONTHS = {
    m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))
}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_CRON_BOUNDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (1, 12, _MONTHS),
    (0, 6, _DAYS),
)
_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def cron_error(spec: str) -> str:
    """Empty for a valid 5-field cron spec (or @descriptor), else robfig/cron's error text."""
    text = spec.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        zone, _, text = text.partition(" ")
        name = zone.split("=", 1)[1]
        if not is_timezone(name):
            return f"provided bad location {name}: unknown time zone {name}"
        text = text.strip()
    if not text:
        return "empty spec string"
    if text.startswith("@"):
        if text in _DESCRIPTORS:
            return ""
        if text.startswith("@every "):
            every, problem = _parse_duration(text[len("@every ") :].strip())
            return f"failed to parse duration {text}: {problem}" if every is None else ""
        return f"unrecognized descriptor: {text}"
    fields = text.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    for field_text, (low, high, names) in zip(fields, _CRON_BOUNDS, strict=True):
        for part in field_text.split(","):
            problem = _cron_range_error(part, low, high, names)
            if problem:
                return problem
    return ""


def _cron_number(text: str, names: dict[str, int]) -> tuple[int | None, str]:
    if text.lower() in names:
        return names[text.lower()], ""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None, f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax'
    number = int(text)
    if number < 0:
        return None, f"negative number ({number}) not allowed: {text}"
    return number, ""


def _cron_range_error(expr: str, low: int, high: int, names: dict[str, int]) -> str:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single_digit = len(low_and_high) == 1
    if low_and_high[0] in ("*", "?"):
        start, end = low, high
    else:
        start_value, problem = _cron_number(low_and_high[0], names)
        if start_value is None:
            return problem
        start = end = start_value
        if len(low_and_high) == 2:
            end_value, problem = _cron_number(low_and_high[1], names)
            if end_value is None:
                return problem
            end = end_value
        elif len(low_and_high) > 2:
            return f"too many hyphens: {expr}"
    if len(range_and_step) == 2:
        step, problem = _cron_number(range_and_step[1], {})
        if step is None:
            return problem
        if single_digit:
            end = high
        if step == 0:
            return f"step of range should be a positive number: {expr}"
    elif len(range_and_step) > 2:
        return f"too many slashes: {expr}"
    if start < low:
        return f"beginning of range ({start}) below minimum ({low}): {expr}"
    if end > high:
        return f"end of range ({end}) above maximum ({high}): {expr}"
    if start > end:
        return f"beginning of range ({start}) beyond end of range ({end}): {expr}"
    return ""


# ---------------------------------------------------------------------------------------------------------
# CertificateRequest


def validate_certificate_request(
    cr: t.CertificateRequest,
    old: t.CertificateRequest | None = None,
    csr_checker: CSRChecker | None = None,
) -> list[Violation]:
    """ValidateCertificateRequest on create; ValidateUpdateCertificateRequest when `old` is given.

    On create: issuerRef, duration, request (PEM framing, a PKCS#10 structure), usages, then
    `csr_checker(spec.request, spec)` for the checks that need a real X.509 parser (isCA vs
    basicConstraints, usages vs the CSR's extensions), and the approval conditions. On update, as in
    cert-manager, only immutability: the spec, cert-manager annotations, Approved/Denied conditions.
    """
    if old is not None:
        return _validate_certificate_request_update(cr, old)
    out = validate_object_meta_name(cr.metadata)
    spec = cr.spec
    out += _validate_issuer_ref(spec.issuer_ref, "spec")
    if spec.duration:  # a Go decoding error in cert-manager
        ns, problem = _parse_duration(spec.duration)
        if ns is None:
            out.append(invalid("spec.duration", spec.duration, problem))
    out += _validate_request(spec, csr_checker)
    out += _validate_approval_conditions(cr.status.conditions, "status.conditions")
    return out


def _validate_request(spec: t.CertificateRequestSpec, csr_checker: CSRChecker | None) -> list[Violation]:
    if not spec.request:
        return [required("spec.request", "must be specified")]
    unknown = [u for u in spec.usages if u not in c.USAGES]
    if unknown:
        return [invalid("spec.usages", list(spec.usages), f"unknown key usages: [{' '.join(unknown)}]")]
    blocks = pem_blocks(spec.request)
    if not blocks:
        return [invalid("spec.request", "<snip>", "error decoding certificate request PEM block")]
    if not is_csr_der(blocks[0][1]):
        return [invalid("spec.request", "<snip>", "x509: malformed certificate request")]
    return list(csr_checker(spec.request, spec)) if csr_checker is not None else []


def _validate_certificate_request_update(cr: t.CertificateRequest, old: t.CertificateRequest) -> list[Violation]:
    out: list[Violation] = []
    for a, b in ((old, cr), (cr, old)):
        for key, value in a.metadata.annotations.items():
            if key.startswith((c.GROUP, c.ACME_GROUP)) and b.metadata.annotations.get(key) != value:
                violation = forbidden(
                    f"metadata.annotations.{key}", "cannot change cert-manager annotation after creation"
                )
                if violation not in out:
                    out.append(violation)
    conditions_path = "status.conditions"
    for kind in (c.COND_APPROVED, c.COND_DENIED):
        before = _condition(old.status.conditions, kind)
        if before is not None and before != _condition(cr.status.conditions, kind):
            out.append(forbidden(conditions_path, f"'{kind}' condition may not be modified once set"))
    out += _validate_approval_conditions(cr.status.conditions, conditions_path)
    if old.spec != cr.spec:
        out.append(forbidden("spec", "cannot change spec after creation"))
    return out


def _condition(conditions: Iterable[t.Condition], kind: str) -> t.Condition | None:
    return next((cond for cond in conditions if cond.type == kind), None)


def _validate_approval_conditions(conditions: tuple[t.Condition, ...], path: str) -> list[Violation]:
    out: list[Violation] = []
    approved = [cond for cond in conditions if cond.type == c.COND_APPROVED]
    denied = [cond for cond in conditions if cond.type == c.COND_DENIED]
    for kind, found in ((c.COND_APPROVED, approved), (c.COND_DENIED, denied)):
        if len(found) > 1:
            out.append(forbidden(path, f'multiple "{kind}" conditions present'))
        elif found and found[0].status != c.TRUE:
            out.append(invalid(f"{path}.{kind}", found[0].status, f'"{kind}" condition may only be set to True'))
    if approved and denied:
        out.append(forbidden(path, "both 'Denied' and 'Approved' conditions cannot coexist"))
    return out


# ---------------------------------------------------------------------------------------------------------
# Issuer and ClusterIssuer

_EAB_KEY_ALGORITHM_WARNING = (
    "ACME issuer spec field 'externalAccount.keyAlgorithm' is deprecated. The value of this field will be ignored."
)
_TSIG_ALGORITHMS = ("HMACMD5", "HMACSHA1", "HMACSHA256", "HMACSHA512")
_SERVICE_TYPE_MESSAGE = 'must be empty, "ClusterIP" or "NodePort"'
_AZURE_ENVIRONMENTS = ("AzurePublicCloud", "AzureChinaCloud", "AzureGermanCloud", "AzureUSGovernmentCloud")
_MAX_PREFERRED_CHAIN = 64


def validate_issuer(issuer: t.Issuer) -> list[Violation]:
    """ValidateIssuer / ValidateClusterIssuer (create and update are the same)."""
    return validate_object_meta_name(issuer.metadata) + validate_issuer_spec(issuer.spec)


def issuer_warnings(issuer: t.Issuer) -> list[str]:
    """The webhook's admission warnings for an Issuer: only the deprecated EAB keyAlgorithm."""
    acme = issuer.spec.acme
    if acme is not None and acme.external_account_binding is not None and acme.external_account_binding.key_algorithm:
        return [_EAB_KEY_ALGORITHM_WARNING]
    return []


def validate_issuer_spec(spec: t.IssuerSpec, path: str = "spec") -> list[Violation]:
    out: list[Violation] = []
    configured = 0
    for name, value in (
        ("acme", spec.acme),
        ("ca", spec.ca),
        ("selfSigned", spec.self_signed),
        ("vault", spec.vault),
        ("venafi", spec.venafi),
    ):
        if value is None:
            continue
        if configured:
            out.append(forbidden(f"{path}.{name}", "may not specify more than one issuer type"))
            continue
        configured += 1
        if isinstance(value, t.ACMEIssuer):
            out += validate_acme_issuer(value, f"{path}.acme")
        elif isinstance(value, t.CAIssuer):
            out += _validate_ca_issuer(value, f"{path}.ca")
        elif name in ("vault", "venafi"):
            _object(value, f"{path}.{name}", out)  # named only: no Vault or Venafi support
    if not configured:
        out.append(required(path, "at least one issuer must be configured"))
    return out


def _validate_ca_issuer(ca: t.CAIssuer, path: str) -> list[Violation]:
    out: list[Violation] = []
    if not ca.secret_name:
        out.append(required(f"{path}.secretName"))
    for i, url in enumerate(ca.ocsp_servers):
        if not url:  # cert-manager's path says ocspServer
            out.append(
                invalid(f"{path}.ocspServer[{i}]", url, "must be a valid URL, e.g., http://ocsp.int-x3.letsencrypt.org")
            )
    for i, url in enumerate(ca.issuing_certificate_urls):
        if not url:
            out.append(invalid(f"{path}.issuingCertificateURLs[{i}]", url, "must be a valid URL"))
    return out


def validate_acme_issuer(acme: t.ACMEIssuer, path: str) -> list[Violation]:
    """ValidateACMEIssuerConfig, plus the CRD's preferredChain maxLength."""
    out: list[Violation] = []
    if acme.ca_bundle and acme.skip_tls_verify:
        message = "caBundle and skipTLSVerify are mutually exclusive and cannot both be set"
        out.append(invalid(f"{path}.caBundle", "", message))
        out.append(invalid(f"{path}.skipTLSVerify", acme.skip_tls_verify, message))
    if acme.ca_bundle:
        problem = _ca_bundle_error(acme.ca_bundle)
        if problem:
            out.append(invalid(f"{path}.caBundle", "", problem))
    if acme.private_key_secret_ref is None or not acme.private_key_secret_ref.name:
        out.append(required(f"{path}.privateKeySecretRef.name", "private key secret name is a required field"))
    if not acme.server:
        out.append(required(f"{path}.server", "acme server URL is a required field"))
    eab = acme.external_account_binding
    if eab is not None:
        eab_path = f"{path}.externalAccountBinding"
        if not eab.key_id:
            out.append(required(f"{eab_path}.keyID", "the keyID field is required when using externalAccountBinding"))
        out += _secret_key_selector(eab.key_secret_ref, f"{eab_path}.keySecretRef")
    for i, solver in enumerate(acme.solvers):
        out += validate_acme_solver(solver, f"{path}.solvers[{i}]")
    if len(acme.preferred_chain.encode("utf-8", "surrogatepass")) > _MAX_PREFERRED_CHAIN:  # CRD maxLength
        out.append(too_long(f"{path}.preferredChain", acme.preferred_chain, _MAX_PREFERRED_CHAIN))
    return out


def _ca_bundle_error(bundle: str) -> str:
    """caBundle is []byte in Go: base64 on the wire, PEM inside, at least one certificate."""
    try:
        raw = base64.b64decode(bundle, validate=True)
    except (binascii.Error, ValueError):
        return "caBundle must be base64-encoded PEM"
    return "" if _bundle_has_certificate(raw) else "cert bundle didn't contain any valid certificates"


def validate_acme_solver(solver: t.ACMESolver, path: str) -> list[Violation]:
    """ValidateACMEIssuerChallengeSolverConfig."""
    out: list[Violation] = []
    providers = 0
    if solver.http01 is not None:
        providers += 1
        out += _validate_http01(solver.http01, f"{path}.http01")
    if solver.dns01 is not None:
        if providers:
            out.append(forbidden(path, "may not specify more than one solver type in a single solver"))
        else:
            providers += 1
            out += validate_dns01(solver.dns01, f"{path}.dns01")
    if not providers:
        out.append(required(path, "no solver type configured"))
    if solver.wait_instead_of_self_check:
        ns, problem = _parse_duration(solver.wait_instead_of_self_check)
        if ns is None:
            out.append(invalid(f"{path}.waitInsteadOfSelfCheck", solver.wait_instead_of_self_check, problem))
        elif ns < 0:
            out.append(
                invalid(
                    f"{path}.waitInsteadOfSelfCheck",
                    solver.wait_instead_of_self_check,
                    "waitInsteadOfSelfCheck must not be negative",
                )
            )
    return out


def _validate_http01(http01: t.HTTP01, path: str) -> list[Violation]:
    out: list[Violation] = []
    defined = 0
    if http01.ingress is not None:
        defined += 1
        out += _validate_http01_ingress(http01.ingress, f"{path}.ingress")
    if http01.gateway_http_route is not None:
        defined += 1
        out += _validate_http01_gateway(http01.gateway_http_route, f"{path}.gateway")  # cert-manager's path
    if not defined:
        out.append(required(path, "no HTTP01 solver type configured"))
    if defined > 1:
        out.append(required(path, "only 1 HTTP01 solver type may be configured"))
    return out


def _validate_http01_ingress(ingress: t.HTTP01Ingress, path: str) -> list[Violation]:
    out: list[Violation] = []
    specified = sum((ingress.class_ is not None, ingress.ingress_class_name is not None, bool(ingress.name)))
    if specified > 1:
        out.append(forbidden(path, "only one of 'ingressClassName', 'name' or 'class' should be specified"))
    if ingress.ingress_class_name is not None:
        errs = dns1123_subdomain_errors(ingress.ingress_class_name)
        if errs:
            out.append(
                invalid(
                    f"{path}.ingressClassName",
                    ingress.ingress_class_name,
                    "must be a valid IngressClass name: " + ", ".join(errs),
                )
            )
    if ingress.service_type not in ("", "ClusterIP", "NodePort"):
        out.append(invalid(f"{path}.serviceType", ingress.service_type, _SERVICE_TYPE_MESSAGE))
    return out


def _validate_http01_gateway(raw: Any, path: str) -> list[Violation]:
    out: list[Violation] = []
    gateway = _object(raw, path, out)
    service_type = gateway.get("serviceType", "")
    if service_type not in ("", "ClusterIP", "NodePort"):
        out.append(invalid(f"{path}.serviceType", service_type, _SERVICE_TYPE_MESSAGE))
    refs = gateway.get("parentRefs")
    for i, ref in enumerate(refs if isinstance(refs, list) else []):
        ref_obj = ref if isinstance(ref, Mapping) else {}
        has_kind = ref_obj.get("kind") is not None
        name = _string(ref_obj, "name")
        if has_kind and not name:
            out.append(required(f"{path}.parentRefs[{i}].name", "name is required when kind is specified"))
            return out
        if name and not has_kind:
            out.append(required(f"{path}.parentRefs[{i}].kind", "kind is required when name is specified"))
            return out
    return out


def validate_dns01(dns01: t.DNS01, path: str) -> list[Violation]:
    """ValidateACMEChallengeSolverDNS01, provider by provider in cert-manager's order (quirks included:
    akamai and acmeDNS do not take part in the one-provider check)."""
    out: list[Violation] = []
    if dns01.cname_strategy and dns01.cname_strategy not in ("None", "Follow"):
        out.append(invalid(f"{path}.cnameStrategy", dns01.cname_strategy, 'must be one of "None" or "Follow"'))
    providers = 0
    more = "may not specify more than one provider type"

    if dns01.akamai is not None:
        providers += 1
        akamai = _object(dns01.akamai, f"{path}.akamai", out)
        out += _raw_secret_key_selector(akamai.get("accessTokenSecretRef"), f"{path}.akamai.accessToken")
        out += _raw_secret_key_selector(akamai.get("clientSecretSecretRef"), f"{path}.akamai.clientSecret")
        out += _raw_secret_key_selector(akamai.get("clientTokenSecretRef"), f"{path}.akamai.clientToken")
        if not _string(akamai, "serviceConsumerDomain"):
            out.append(required(f"{path}.akamai.serviceConsumerDomain"))
    if dns01.azure_dns is not None:
        if providers:
            out.append(forbidden(f"{path}.azureDNS", more))
        else:
            providers += 1
            out += _validate_azure_dns(_object(dns01.azure_dns, f"{path}.azureDNS", out), f"{path}.azureDNS")
    if dns01.cloud_dns is not None:
        if providers:
            out.append(forbidden(f"{path}.cloudDNS", more))
        else:
            providers += 1
            cloud_dns = _object(dns01.cloud_dns, f"{path}.cloudDNS", out)
            if cloud_dns.get("serviceAccountSecretRef") is not None:
                out += _raw_secret_key_selector(
                    cloud_dns["serviceAccountSecretRef"], f"{path}.cloudDNS.serviceAccountSecretRef"
                )
            if not _string(cloud_dns, "project"):
                out.append(required(f"{path}.cloudDNS.project"))
    if dns01.cloudflare is not None:
        if providers:
            out.append(forbidden(f"{path}.cloudflare", more))
        else:
            providers += 1
            out += _validate_cloudflare(_object(dns01.cloudflare, f"{path}.cloudflare", out), f"{path}.cloudflare")
    if dns01.route53 is not None:
        if providers:
            out.append(forbidden(f"{path}.route53", more))
        else:
            providers += 1
            route53 = _object(dns01.route53, f"{path}.route53", out)
            if _string(route53, "accessKeyID") and route53.get("accessKeyIDSecretRef") is not None:
                out.append(required(f"{path}.route53", "accessKeyID and accessKeyIDSecretRef cannot both be specified"))
            if route53.get("accessKeyIDSecretRef") is not None:
                out += _raw_secret_key_selector(route53["accessKeyIDSecretRef"], f"{path}.route53.accessKeyIDSecretRef")
    if dns01.acme_dns is not None:
        providers += 1
        acme_dns = _object(dns01.acme_dns, f"{path}.acmeDNS", out)
        out += _raw_secret_key_selector(acme_dns.get("accountSecretRef"), f"{path}.acmeDNS.accountSecretRef")
        if not _string(acme_dns, "host"):
            out.append(required(f"{path}.acmeDNS.host"))
        bundle = _string(acme_dns, "caBundle")
        if bundle:
            problem = _ca_bundle_error(bundle)
            if problem:
                out.append(invalid(f"{path}.acmeDNS.caBundle", "", problem))
    if dns01.digitalocean is not None:
        if providers:
            out.append(forbidden(f"{path}.digitalocean", more))
        else:
            providers += 1
            digitalocean = _object(dns01.digitalocean, f"{path}.digitalocean", out)
            out += _raw_secret_key_selector(digitalocean.get("tokenSecretRef"), f"{path}.digitalocean.tokenSecretRef")
    if dns01.rfc2136 is not None:
        if providers:
            out.append(forbidden(f"{path}.rfc2136", more))
        else:
            providers += 1
            out += _validate_rfc2136(dns01.rfc2136, f"{path}.rfc2136")
    if dns01.webhook is not None:
        if providers:
            out.append(forbidden(f"{path}.webhook", more))
        else:
            providers += 1
            webhook = _object(dns01.webhook, f"{path}.webhook", out)
            if not _string(webhook, "solverName"):
                out.append(required(f"{path}.webhook.solverName", "solver name must be specified"))
    if not providers:
        out.append(required(path, "no DNS01 provider configured"))
    return out


def _validate_azure_dns(azure: dict[str, Any], path: str) -> list[Violation]:
    out: list[Violation] = []
    client_id, tenant_id = _string(azure, "clientID"), _string(azure, "tenantID")
    secret = azure.get("clientSecretSecretRef")
    identity = azure.get("managedIdentity")
    if client_id or tenant_id or secret is not None:
        if not client_id:
            out.append(required(f"{path}.clientID"))
        if secret is None:
            out.append(required(f"{path}.clientSecretSecretRef"))
        else:
            out += _raw_secret_key_selector(secret, f"{path}.clientSecretSecretRef")
        if not tenant_id:
            out.append(required(f"{path}.tenantID"))
        if identity is not None:
            out.append(
                forbidden(
                    f"{path}.managedIdentity",
                    "managed identity cannot be used at the same time as clientID, clientSecretSecretRef or tenantID",
                )
            )
    elif identity is not None:
        mi = identity if isinstance(identity, Mapping) else {}
        mi_client, mi_resource, mi_tenant = _string(mi, "clientID"), _string(mi, "resourceID"), _string(mi, "tenantID")
        if mi_client and mi_resource:
            out.append(
                forbidden(
                    f"{path}.managedIdentity",
                    "managedIdentityClientID and managedIdentityResourceID cannot both be specified",
                )
            )
        if mi_tenant and mi_resource:
            out.append(
                forbidden(
                    f"{path}.managedIdentity",
                    "managedIdentityTenantID and managedIdentityResourceID cannot both be specified",
                )
            )
        if mi_tenant and not mi_client:
            out.append(
                required(
                    f"{path}.managedIdentity", "managedIdentityClientID is required when using managedIdentityTenantID"
                )
            )
    if not _string(azure, "subscriptionID"):
        out.append(required(f"{path}.subscriptionID"))
    if not _string(azure, "resourceGroupName"):
        out.append(required(f"{path}.resourceGroupName"))
    environment = azure.get("environment", "")
    if environment not in ("", *_AZURE_ENVIRONMENTS):
        out.append(
            invalid(
                f"{path}.environment",
                environment,
                "must be either empty or one of AzurePublicCloud, AzureChinaCloud, AzureGermanCloud, "
                "or AzureUSGovernmentCloud",
            )
        )
    return out


def _validate_cloudflare(cloudflare: dict[str, Any], path: str) -> list[Violation]:
    out: list[Violation] = []
    api_key, api_token = cloudflare.get("apiKeySecretRef"), cloudflare.get("apiTokenSecretRef")
    if api_key is not None:
        out += _raw_secret_key_selector(api_key, f"{path}.apiKeySecretRef")
    if api_token is not None:
        out += _raw_secret_key_selector(api_token, f"{path}.apiTokenSecretRef")
    if api_key is not None and api_token is not None:
        out.append(forbidden(path, "apiKeySecretRef and apiTokenSecretRef cannot both be specified"))
    if api_key is None and api_token is None:
        out.append(required(path, "apiKeySecretRef or apiTokenSecretRef is required"))
    if not _string(cloudflare, "email") and api_key is not None:
        out.append(required(f"{path}.email"))
    return out


def _validate_rfc2136(rfc2136: t.RFC2136, path: str) -> list[Violation]:
    out: list[Violation] = []
    if not rfc2136.nameserver:
        out.append(required(f"{path}.nameserver"))
    elif nameserver_error(rfc2136.nameserver):
        out.append(
            invalid(
                f"{path}.nameserver",
                rfc2136.nameserver,
                "nameserver must be set in the form host:port where host is an IPv4 address, an enclosed IPv6 "
                "address or a hostname and port is an optional port number.",
            )
        )
    if rfc2136.tsig_algorithm and rfc2136.tsig_algorithm.upper() not in _TSIG_ALGORITHMS:
        out.append(unsupported(f"{path}.tsigAlgorithm", "", _TSIG_ALGORITHMS))  # Go passes "" as the value
    secret_path = f"{path}.tsigSecretSecretRef"
    if rfc2136.tsig_key_name:
        out += _secret_key_selector(rfc2136.tsig_secret_secret_ref, secret_path)
    if not _secret_key_selector(rfc2136.tsig_secret_secret_ref, secret_path) and not rfc2136.tsig_key_name:
        out.append(required(f"{path}.tsigKeyName"))
    if rfc2136.protocol and rfc2136.protocol not in ("TCP", "UDP"):  # CRD enum
        out.append(unsupported(f"{path}.protocol", rfc2136.protocol, ("TCP", "UDP")))
    return out


def nameserver_error(nameserver: str) -> str:
    """cert-manager's util.ValidNameserver: "" when `host[:port]` (IPv6 in brackets) is usable."""
    text = nameserver.strip()
    if not text:
        return "RFC2136 nameserver missing"
    host, port, problem = _split_host_port(text)
    if problem:
        if "missing port" not in problem:
            return f"RFC2136 nameserver is invalid: {problem}"
        host, port = text.strip("[]"), ""
    if not host:
        return f"RFC2136 nameserver has no host defined, {text}"
    if port:
        if not port.isascii() or not port.isdigit() or int(port) > 65535:
            return f'RFC2136 nameserver port is invalid: strconv.ParseUint: parsing "{port}": invalid syntax'
        if int(port) == 0:
            return "RFC2136 nameserver port is invalid: must be greater than 0"
    return ""


def _split_host_port(text: str) -> tuple[str, str, str]:
    """Go's net.SplitHostPort: (host, port, error text)."""
    colon = text.rfind(":")
    if colon < 0:
        return "", "", f"address {text}: missing port in address"
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return "", "", f"address {text}: missing ']' in address"
        if end + 1 == len(text):
            return "", "", f"address {text}: missing port in address"
        if end + 1 != colon:
            if ":" in text[end + 1 :]:
                return "", "", f"address {text}: too many colons in address"
            return "", "", f"address {text}: missing port in address"
        host = text[1:end]
        if "[" in text[1:] or "]" in text[end + 1 :]:
            return "", "", f"address {text}: unexpected '[' in address"
    else:
        host = text[:colon]
        if ":" in host:
            return "", "", f"address {text}: too many colons in address"
        if "[" in host or "]" in host:
            return "", "", f"address {text}: unexpected '[' in address"
    return host, text[colon + 1 :], ""


# ---------------------------------------------------------------------------------------------------------
# Order and Challenge

_IMMUTABLE = "field is immutable once set"


def validate_order(order: t.Order, old: t.Order | None = None) -> list[Violation]:
    """CRD required fields on create; ValidateOrderUpdate's immutability rules when `old` is given."""
    if old is None:
        out = validate_object_meta_name(order.metadata)
        if not order.spec.request:
            out.append(required("spec.request"))
        if not order.spec.issuer_ref.name:
            out.append(required("spec.issuerRef.name"))
        return out
    out = []
    if old.spec.request and old.spec.request != order.spec.request:
        out.append(forbidden("spec.request", _IMMUTABLE))
    before, after = old.status, order.status
    if before.url and before.url != after.url:
        out.append(forbidden("status.url", _IMMUTABLE))
    if before.finalize_url and before.finalize_url != after.finalize_url:
        out.append(forbidden("status.finalizeURL", _IMMUTABLE))
    if before.certificate and before.certificate != after.certificate:
        out.append(forbidden("status.certificate", _IMMUTABLE))
    if before.authorizations:
        authz_path = "status.authorizations"
        if len(before.authorizations) != len(after.authorizations):
            out.append(forbidden(authz_path, _IMMUTABLE))
        for i, (a, b) in enumerate(zip(before.authorizations, after.authorizations, strict=False)):
            p = f"{authz_path}[{i}]"
            if a.url and a.url != b.url:
                out.append(forbidden(f"{p}.url", _IMMUTABLE))
            if a.identifier and a.identifier != b.identifier:
                out.append(forbidden(f"{p}.identifier", _IMMUTABLE))
            if a.wildcard is not None and a.wildcard != b.wildcard:
                out.append(forbidden(f"{p}.wildcard", _IMMUTABLE))
            if a.initial_state and a.initial_state != b.initial_state:
                out.append(forbidden(f"{p}.initialState", _IMMUTABLE))
            if a.challenges:
                if len(a.challenges) != len(b.challenges):
                    out.append(forbidden(f"{p}.challenges", _IMMUTABLE))
                for j, (ca, cb) in enumerate(zip(a.challenges, b.challenges, strict=False)):
                    q = f"{p}.challenges[{j}]"
                    if ca.url and ca.url != cb.url:
                        out.append(forbidden(f"{q}.url", _IMMUTABLE))
                    if ca.type and ca.type != cb.type:
                        out.append(forbidden(f"{q}.type", _IMMUTABLE))
                    if ca.token and ca.token != cb.token:
                        out.append(forbidden(f"{q}.token", _IMMUTABLE))
    return out


def validate_challenge(ch: t.Challenge, old: t.Challenge | None = None) -> list[Violation]:
    """CRD required fields and type enum on create; an immutable spec when `old` is given."""
    if old is not None:
        return [forbidden("spec", "challenge spec is immutable after creation")] if old.spec != ch.spec else []
    out = validate_object_meta_name(ch.metadata)
    spec = ch.spec
    for wire_name, value in (
        ("url", spec.url),
        ("authorizationURL", spec.authorization_url),
        ("dnsName", spec.dns_name),
        ("type", spec.type),
        ("token", spec.token),
        ("key", spec.key),
        ("issuerRef.name", spec.issuer_ref.name),
    ):
        if not value:
            out.append(required(f"spec.{wire_name}"))
    if spec.type and spec.type not in ("HTTP-01", "DNS-01"):
        out.append(unsupported("spec.type", spec.type, ("HTTP-01", "DNS-01")))
    return out


# ---------------------------------------------------------------------------------------------------------
# Raw dicts


_MAX_DEPTH = 100  # far beyond any real manifest; keeps comparisons and rendering clear of Python's recursion limit


def _deeper_than(obj: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(obj, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def validate(obj: Any, old: Any = None, csr_checker: CSRChecker | None = None) -> list[Violation]:
    """Parse `obj` (and `old`, for an update) and run its kind's validator. Never raises.

    Type problems found while parsing are returned as they are (nothing else is checked then); an
    `old` that does not parse, or is of another kind, is treated as absent.
    """
    if _deeper_than(obj, _MAX_DEPTH):
        return [invalid("<root>", "<value omitted>", f"nesting deeper than {_MAX_DEPTH} levels")]
    try:
        parsed = t.parse(obj)
    except InvalidObject as exc:
        return list(exc.violations)
    previous: Any = None
    if old is not None and not _deeper_than(old, _MAX_DEPTH):
        try:
            previous = t.parse(old)
        except InvalidObject:
            previous = None
        if previous is not None and (
            type(previous) is not type(parsed) or getattr(previous, "kind", None) != getattr(parsed, "kind", None)
        ):
            previous = None
    if isinstance(parsed, t.Certificate):
        return validate_certificate(parsed)
    if isinstance(parsed, t.CertificateRequest):
        return validate_certificate_request(parsed, previous, csr_checker)
    if isinstance(parsed, t.Issuer):
        return validate_issuer(parsed)
    if isinstance(parsed, t.Order):
        return validate_order(parsed, previous)
    if isinstance(parsed, t.Challenge):
        return validate_challenge(parsed, previous)
    return [invalid("kind", getattr(parsed, "kind", None), "not a cert-manager kind")]  # unreachable: t.KINDS


def warnings(obj: Any) -> list[str]:
    """The webhook's admission warnings for a raw object (only Issuers have any). Never raises."""
    try:
        parsed = t.parse(obj)
    except InvalidObject:
        return []
    return issuer_warnings(parsed) if isinstance(parsed, t.Issuer) else []
