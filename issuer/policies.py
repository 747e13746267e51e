"""The certificate policy chains: cert-manager's `internal/controller/certificates/policies` in Python.

Small pure checks over an immutable snapshot (`Input`), evaluated in order; the first violation wins and
comes back as a `Violation(reason, message)` with cert-manager's exact reason strings and messages:

- `trigger(input)`: should the Certificate be (re-)issued? Used by the trigger controller, which sets
  `Issuing=True` with the violation's reason and message.
- `readiness(input)`: the `Ready` condition (`Readiness(status, reason, message)`).
- `post_issuance(input, ...)`: does the Secret's metadata / additional output formats / owner reference /
  keystores need re-applying (never a re-issue)? Used by the issuing controller when not issuing.

Also the trigger's helpers: the failed-issuance back-off (`backoff_delay`, `next_issuance_allowed_at`),
`is_issuing` and `secret_owner` (which of several Certificates sharing a secretName may proceed).
Parsed key material stays inside this module; messages never carry it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as _dt
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from cryptography import x509

from issuer.api import constants as c
from issuer.api import types
from issuer.pki import match, renewal

ISSUING_FIELD_MANAGER = "cert-manager-certificates-issuing"
READY_MESSAGE = "Certificate is up to date and has not expired"
_MANAGED_PREFIXES = ("cert-manager.io/", "controller.cert-manager.io/")
_UNMANAGED_CERT_ANNOTATIONS = frozenset(
    {c.ANN_CERTIFICATE_NAME, c.ANN_ISSUER_NAME, c.ANN_ISSUER_KIND, c.ANN_ISSUER_GROUP}
)


class Violation(NamedTuple):
    """A failed check: cert-manager's reason string and its one-sentence message."""

    reason: str
    message: str


class Readiness(NamedTuple):
    """The Ready condition to set: status "True"/"False", reason, message."""

    status: str
    reason: str
    message: str


@dataclasses.dataclass(frozen=True)
class SecretView:
    """What the policies need of a Secret. `managed_*` hold what the issuing field manager owns according to
    `metadata.managedFields` (data keys, label keys, annotation keys, ownerReference uids)."""

    name: str
    namespace: str = ""
    type: str = ""
    data: Mapping[str, bytes] = dataclasses.field(default_factory=dict)
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)
    owner_references: tuple[types.OwnerReference, ...] = ()
    managed_data_keys: frozenset[str] = frozenset()
    managed_labels: frozenset[str] = frozenset()
    managed_annotations: frozenset[str] = frozenset()
    managed_owner_uids: frozenset[str] = frozenset()
    managed_fields_error: str = ""

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any], field_manager: str = ISSUING_FIELD_MANAGER) -> SecretView:
        """Build from a Secret as the API returns it (base64 `data`, `metadata.managedFields` FieldsV1)."""
        meta = obj.get("metadata") or {}
        data: dict[str, bytes] = {}
        for key, value in (obj.get("data") or {}).items():
            try:
                data[str(key)] = base64.b64decode(value or "", validate=True)
            except (binascii.Error, ValueError, TypeError):
                data[str(key)] = b""
        owners = tuple(types.OwnerReference.from_wire(o, "", []) for o in meta.get("ownerReferences") or ())
        owned = _owned_fields(meta.get("managedFields") or (), field_manager)
        return cls(
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace", "")),
            type=str(obj.get("type", "")),
            data=data,
            labels=dict(meta.get("labels") or {}),
            annotations=dict(meta.get("annotations") or {}),
            owner_references=owners,
            managed_data_keys=owned[0],
            managed_labels=owned[1],
            managed_annotations=owned[2],
            managed_owner_uids=owned[3],
            managed_fields_error=owned[4],
        )


def _owned_fields(
    entries: Iterable[Any], manager: str
) -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str], str]:
    data: set[str] = set()
    labels: set[str] = set()
    annotations: set[str] = set()
    uids: set[str] = set()

    def keys(node: Any, prefix: str = "f:") -> list[str]:
        return (
            [k[len(prefix) :] for k in node if isinstance(k, str) and k.startswith(prefix)]
            if isinstance(node, dict)
            else []
        )

    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("manager") != manager or entry.get("fieldsV1") is None:
            continue
        fields = entry.get("fieldsV1")
        if isinstance(fields, str):
            try:
                fields = json.loads(fields)
            except ValueError as exc:
                return frozenset(), frozenset(), frozenset(), frozenset(), str(exc)
        if not isinstance(fields, dict):
            return frozenset(), frozenset(), frozenset(), frozenset(), "fieldsV1 is not an object"
        meta = fields.get("f:metadata", {})
        data.update(keys(fields.get("f:data", {})))
        labels.update(keys(meta.get("f:labels", {}) if isinstance(meta, dict) else {}))
        annotations.update(keys(meta.get("f:annotations", {}) if isinstance(meta, dict) else {}))
        for key in keys(meta.get("f:ownerReferences", {}) if isinstance(meta, dict) else {}, "k:"):
            try:
                uid = json.loads(key).get("uid")
            except (ValueError, AttributeError):
                continue
            if isinstance(uid, str):
                uids.add(uid)
    return frozenset(data), frozenset(labels), frozenset(annotations), frozenset(uids), ""


@dataclasses.dataclass(frozen=True)
class Input:
    """The snapshot every check looks at. `current_request` produced the Secret's certificate (revision ==
    status.revision); `next_request` is the one being issued (revision + 1). `now` is an aware UTC time."""

    certificate: types.Certificate
    secret: SecretView | None
    current_request: types.CertificateRequest | None
    next_request: types.CertificateRequest | None
    now: _dt.datetime
    renewal_jitter: float = 0.0  # `--renewal-jitter` as a fraction of the lifetime (0 = cert-manager's times)


class _Facts:
    """An Input plus its Secret's parsed key and leaf, each decoded at most once per evaluation."""

    def __init__(self, input: Input) -> None:
        self.input = input
        self.certificate = input.certificate
        self.spec = input.certificate.spec

    @property
    def secret(self) -> SecretView:
        assert self.input.secret is not None  # the first check returns when it is missing
        return self.input.secret

    def data(self, key: str) -> bytes:
        return bytes(self.secret.data.get(key) or b"")

    @functools.cached_property
    def key(self) -> match.Parsed[match.PrivateKey]:
        return match.parse_private_key(self.data(c.TLS_PRIVATE_KEY_KEY))

    @functools.cached_property
    def leaf(self) -> match.Parsed[x509.Certificate]:
        return match.parse_leaf(self.data(c.TLS_CERT_KEY))


Check = Callable[[_Facts], Violation | None]


# ---------------------------------------------------------------------------------------------------------
# Trigger and readiness checks


def secret_does_not_exist(f: _Facts) -> Violation | None:
    if f.input.secret is None:
        return Violation(c.REASON_DOES_NOT_EXIST, "Issuing certificate as Secret does not exist")
    return None


def secret_is_missing_data(f: _Facts) -> Violation | None:
    if not f.secret.data:
        return Violation(c.REASON_MISSING_DATA, "Issuing certificate as Secret does not contain any data")
    if not f.data(c.TLS_PRIVATE_KEY_KEY):
        return Violation(c.REASON_MISSING_DATA, "Issuing certificate as Secret does not contain a private key")
    if not f.data(c.TLS_CERT_KEY):
        return Violation(c.REASON_MISSING_DATA, "Issuing certificate as Secret does not contain a certificate")
    return None


def _invalid_key(f: _Facts) -> Violation:
    return Violation(
        c.REASON_INVALID_KEY_PAIR, f"Issuing certificate as Secret contains invalid private key data: {f.key.error}"
    )


def _invalid_cert(f: _Facts) -> Violation:
    return Violation(
        c.REASON_INVALID_CERTIFICATE, f"Issuing certificate as Secret contains an invalid certificate: {f.leaf.error}"
    )


def secret_public_keys_differ(f: _Facts) -> Violation | None:
    if f.key.value is None:
        return _invalid_key(f)
    if f.leaf.value is None:
        return _invalid_cert(f)
    cert_key = f.leaf.value.public_key()
    problem = match.unsupported_public_key(cert_key)
    if problem:
        return Violation(c.REASON_INVALID_KEY_PAIR, f"Secret contains an invalid key-pair: {problem}")
    if not match.public_keys_equal(cert_key, f.key.value.public_key()):
        return Violation(
            c.REASON_INVALID_KEY_PAIR,
            "Issuing certificate as Secret contains a private key that does not match the certificate",
        )
    return None


def _issuer_ref_text(name: str, kind: str, group: str) -> str:
    return f"{kind or c.ISSUER}.{group or c.GROUP}/{name}"


def secret_issuer_annotations_mismatch(f: _Facts) -> Violation | None:
    annotations = f.secret.annotations
    present = any(k in annotations for k in (c.ANN_ISSUER_NAME, c.ANN_ISSUER_KIND, c.ANN_ISSUER_GROUP))
    name = annotations.get(c.ANN_ISSUER_NAME, "")
    kind = annotations.get(c.ANN_ISSUER_KIND, "")
    group = annotations.get(c.ANN_ISSUER_GROUP, "")
    ref = f.spec.issuer_ref
    # Go's precedence, kept on purpose: `present && name != ref.name || kind differs || group differs`, so a
    # Secret without any issuer annotation still mismatches a ClusterIssuer (or non-default group) reference.
    if (
        (present and name != ref.name)
        or (kind or c.ISSUER) != (ref.kind or c.ISSUER)
        or (group or c.GROUP) != (ref.group or c.GROUP)
    ):
        return Violation(
            c.REASON_INCORRECT_ISSUER,
            f"Issuing certificate as Secret was previously issued by {go_quote(_issuer_ref_text(name, kind, group))}",
        )
    return None


def secret_certificate_name_annotation_mismatch(f: _Facts) -> Violation | None:
    annotations = f.secret.annotations
    if c.ANN_CERTIFICATE_NAME in annotations and annotations[c.ANN_CERTIFICATE_NAME] != f.certificate.metadata.name:
        return Violation(
            c.REASON_INCORRECT_CERTIFICATE,
            f"Secret was issued for {go_quote(annotations[c.ANN_CERTIFICATE_NAME])}. If this message is not "
            "transient, you might have two conflicting Certificates pointing to the same secret.",
        )
    return None


def secret_private_key_mismatches_spec(f: _Facts) -> Violation | None:
    if f.key.value is None:
        return _invalid_key(f)
    violations = match.private_key_matches_spec(f.key.value, f.spec)
    if violations:
        return Violation(
            c.REASON_SECRET_MISMATCH,
            f"Existing private key is not up to date for spec: {match.format_violations(violations)}",
        )
    return None


def secret_public_key_differs_from_current_request(f: _Facts) -> Violation | None:
    request = f.input.current_request
    if request is None:
        return None
    if f.key.value is None:
        return _invalid_key(f)
    csr = match.parse_csr(request.spec.request)
    if csr.value is None:
        return Violation(
            c.REASON_INVALID_CERTIFICATE_REQUEST, f"Failed to decode current CertificateRequest: {csr.error}"
        )
    csr_key = csr.value.public_key()
    problem = match.unsupported_public_key(csr_key)
    if problem:
        return Violation(c.REASON_INVALID_CERTIFICATE_REQUEST, f"CertificateRequest's public key is invalid: {problem}")
    if not match.public_keys_equal(csr_key, f.key.value.public_key()):
        return Violation(
            c.REASON_SECRET_MISMATCH, "Secret contains a private key that does not match the current CertificateRequest"
        )
    return None


def current_request_mismatches_spec(f: _Facts) -> Violation | None:
    request = f.input.current_request
    if request is None:
        # No CertificateRequest left (deleted): fall back to the looser leaf-vs-spec comparison.
        if f.leaf.value is None:
            return _invalid_cert(f)
        violations = match.certificate_matches_spec(f.leaf.value, f.spec)
        if violations:
            return Violation(
                c.REASON_SECRET_MISMATCH,
                "Issuing certificate as Existing issued Secret is not up to date for spec: "
                + match.format_violations(violations),
            )
        return None
    result = match.request_matches_spec(request, f.spec)
    if result.value:  # a CSR that cannot be decoded is no reason to re-issue (cert-manager does the same)
        return Violation(
            c.REASON_REQUEST_CHANGED,
            f"Fields on existing CertificateRequest resource not up to date: {match.format_violations(result.value)}",
        )
    return None


def current_certificate_nearing_expiry(f: _Facts) -> Violation | None:
    if f.leaf.value is None:
        return _invalid_cert(f)
    renewal_spec = f.spec.renewal
    if renewal_spec is not None and renewal_spec.policy == renewal.POLICY_DISABLED:
        return None
    leaf = f.leaf.value
    result = renewal_time(f.input, leaf.not_valid_before_utc, leaf.not_valid_after_utc)
    if result.time is None or result.time > f.input.now:
        return None
    if result.error:
        return Violation(c.REASON_WINDOW_ERROR, result.error)
    scheduled = parse_time(f.certificate.status.renewal_time) or result.time
    return Violation(
        c.REASON_RENEWING, f"Renewing certificate as renewal was scheduled at {renewal.go_time_string(scheduled)}"
    )


def current_certificate_has_expired(f: _Facts) -> Violation | None:
    if f.leaf.value is None:
        return _invalid_cert(f)
    not_after = f.leaf.value.not_valid_after_utc
    if f.input.now > not_after:
        return Violation(c.REASON_EXPIRED, f"Certificate expired on {rfc1123(not_after)}")
    return None


_SECRET_CHECKS: tuple[Check, ...] = (
    secret_does_not_exist,
    secret_is_missing_data,
    secret_public_keys_differ,
    secret_issuer_annotations_mismatch,
    secret_certificate_name_annotation_mismatch,
    secret_private_key_mismatches_spec,
    secret_public_key_differs_from_current_request,
    current_request_mismatches_spec,
)
TRIGGER_CHAIN: tuple[Check, ...] = (*_SECRET_CHECKS, current_certificate_nearing_expiry)
READINESS_CHAIN: tuple[Check, ...] = (*_SECRET_CHECKS, current_certificate_has_expired)
TEMPORARY_CERTIFICATE_CHAIN: tuple[Check, ...] = (
    secret_does_not_exist,
    secret_is_missing_data,
    secret_public_keys_differ,
)


def evaluate(chain: Sequence[Check], input: Input) -> Violation | None:
    """The first violation of `chain`, or None when every check passes."""
    facts = _Facts(input)
    for check in chain:
        found = check(facts)
        if found is not None:
            return found
    return None


def trigger(input: Input) -> Violation | None:
    """Why the Certificate must be issued now, or None (cert-manager's trigger policy chain)."""
    return evaluate(TRIGGER_CHAIN, input)


def readiness(input: Input) -> Readiness:
    """The Ready condition as cert-manager's readiness controller sets it: False with the first readiness
    violation, else True/Ready; then, whenever the Secret's leaf decodes but its renewal time cannot be
    computed (a renewal-window error), False/WindowError "Could not calculate renewal time: ..." (the
    controller also emits that as a Warning event)."""
    found = evaluate(READINESS_CHAIN, input)
    times = status_times(input)
    if times.error:
        return Readiness(c.FALSE, c.REASON_WINDOW_ERROR, f"Could not calculate renewal time: {times.error}")
    if found is not None:
        return Readiness(c.FALSE, found.reason, found.message)
    return Readiness(c.TRUE, c.REASON_READY, READY_MESSAGE)


@dataclasses.dataclass(frozen=True)
class StatusTimes:
    """status.notBefore / notAfter / renewalTime from the Secret's leaf (all None when the Secret is missing,
    empty or its tls.crt does not decode; renewal_time None also for the Disabled policy). `error` is a
    renewal-window error; renewal_time then holds the fallback time, as in cert-manager."""

    not_before: _dt.datetime | None = None
    not_after: _dt.datetime | None = None
    renewal_time: _dt.datetime | None = None
    error: str = ""


def status_times(input: Input) -> StatusTimes:
    """The validity and renewal time the readiness controller writes into the Certificate status."""
    if input.secret is None or not input.secret.data:
        return StatusTimes()
    leaf = match.parse_leaf(bytes(input.secret.data.get(c.TLS_CERT_KEY) or b""))
    if leaf.value is None:
        return StatusTimes()
    not_before, not_after = leaf.value.not_valid_before_utc, leaf.value.not_valid_after_utc
    result = renewal_time(input, not_before, not_after)
    return StatusTimes(not_before, not_after, result.time, result.error)


def jitter_fraction(certificate: types.Certificate) -> float:
    """A stable number in [0, 1) per Certificate (from its namespace and name): restarts never reshuffle."""
    key = f"{certificate.metadata.namespace}/{certificate.metadata.name}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2**64


def renewal_time(input: Input, not_before: _dt.datetime, not_after: _dt.datetime) -> renewal.RenewalTime:
    """cert-manager's renewal time, moved earlier by this Certificate's share of `--renewal-jitter` (so that
    Certificates issued together do not all renew in the same minute), never before notBefore."""
    result = renewal.renewal_time_for(input.certificate.spec, not_before, not_after)
    if result.time is None or input.renewal_jitter <= 0:
        return result
    shift = (not_after - not_before) * (input.renewal_jitter * jitter_fraction(input.certificate))
    moved = max(not_before, result.time - shift).replace(microsecond=0)
    return renewal.RenewalTime(moved, result.error)


def temporary_certificate_needed(input: Input) -> Violation | None:
    """cert-manager's temporary-certificate chain: Secret missing, without data, or with a bad key-pair."""
    return evaluate(TEMPORARY_CERTIFICATE_CHAIN, input)


# ---------------------------------------------------------------------------------------------------------
# Post-issuance checks (re-apply the Secret, never re-issue)


def _managed(key: str) -> bool:
    return key.startswith(_MANAGED_PREFIXES)


def _go_list(items: Iterable[str]) -> str:
    return match.format_violations(sorted(items))


def _set_mismatch(
    reason: str, owned: frozenset[str], expected: frozenset[str], what: str, kind: str
) -> Violation | None:
    if owned == expected:
        return None
    missing = expected - owned
    if missing:
        return Violation(reason, f"Secret is missing these {what} {kind}: {_go_list(missing)}")
    return Violation(reason, f"Secret has these extra {kind}: {_go_list(owned - expected)}")


def _first_differing_key(a: Mapping[str, str], b: Mapping[str, str]) -> str | None:
    for key in sorted(k for k in a if k in b):
        if a[key] != b[key]:
            return key
    return None


def _keystore_mismatch(spec: types.CertificateSpec, data: Mapping[str, bytes]) -> str:
    def has(key: str) -> bool:
        return bool(data.get(key))

    provides_ca = c.CA_CERT_KEY in data
    stores = spec.keystores
    if stores is None:
        if any(
            has(k) for k in (c.PKCS12_KEYSTORE_KEY, c.PKCS12_TRUSTSTORE_KEY, c.JKS_KEYSTORE_KEY, c.JKS_TRUSTSTORE_KEY)
        ):
            return "Keystore is not defined"
        return ""
    for label, store, keystore, truststore in (
        ("JKS", stores.jks, c.JKS_KEYSTORE_KEY, c.JKS_TRUSTSTORE_KEY),
        ("PKCS12", stores.pkcs12, c.PKCS12_KEYSTORE_KEY, c.PKCS12_TRUSTSTORE_KEY),
    ):
        if store is not None and store.create:
            if not has(keystore) or (not has(truststore) and provides_ca):
                return f"{label} Keystore key does not contain data"
        elif has(keystore) or has(truststore):
            return f"{label} Keystore create disabled" if store is not None else f"{label} Keystore not defined"
    return ""


def expected_output_formats(spec: types.CertificateSpec, data: Mapping[str, bytes]) -> dict[str, bytes]:
    """The additional-output-format data keys the spec asks for, derived from tls.key / tls.crt as cert-manager
    does: `tls-combined.pem` = key PEM + "\\n" + chain PEM, `key.der` = the key PEM block's DER bytes."""
    key = bytes(data.get(c.TLS_PRIVATE_KEY_KEY) or b"")
    out: dict[str, bytes] = {}
    for fmt in spec.additional_output_formats:
        if fmt.type == c.OUTPUT_FORMAT_COMBINED_PEM:
            out[c.COMBINED_PEM_KEY] = key + b"\n" + bytes(data.get(c.TLS_CERT_KEY) or b"")
        elif fmt.type == c.OUTPUT_FORMAT_DER:
            out[c.DER_KEY_KEY] = _pem_block_bytes(key)
    return out


def _pem_block_bytes(pem: bytes) -> bytes:
    begin = pem.find(b"-----BEGIN ")
    if begin < 0:
        return b""
    body_start = pem.find(b"-----\n", begin + 11)
    end = pem.find(b"-----END ", body_start)
    if body_start < 0 or end < 0:
        return b""
    lines = pem[body_start + 6 : end].split(b"\n")
    body = b"".join(line.strip() for line in lines if b":" not in line)
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return b""


def post_issuance(
    input: Input,
    desired_labels: Mapping[str, str],
    desired_annotations: Mapping[str, str] | None,
    output_formats: Mapping[str, bytes] | None = None,
    owner_ref_enabled: bool = False,
) -> Violation | None:
    """The first reason to re-apply the Secret (cert-manager's post-issuance chain), or None.

    `desired_labels` are the labels cert-manager applies (at least ``controller.cert-manager.io/fao: "true"``)
    and `desired_annotations` the annotations it applies, including the certificate-detail ones computed
    from the Secret's leaf (common-name, alt-names, ip-sans, uri-sans, ...). Only `cert-manager.io/` and
    `controller.cert-manager.io/` keys count as managed (template keys come from `spec.secretTemplate`), and
    certificate-name / issuer-* are ignored (the trigger checks those). `desired_annotations=None` skips the
    certificate-detail annotation checks. `output_formats` are the expected additional-output data (data
    key -> bytes); None derives them from tls.key/tls.crt (`expected_output_formats`). `owner_ref_enabled`
    mirrors `--enable-certificate-owner-ref`.
    """
    secret = input.secret
    if secret is None:
        return None
    cert = input.certificate
    spec = cert.spec
    labels = dict(desired_labels)
    detail_annotations = {
        k: v for k, v in (desired_annotations or {}).items() if _managed(k) and k not in _UNMANAGED_CERT_ANNOTATIONS
    }

    # SecretBaseLabelsMismatch
    fao = secret.labels.get(c.LABEL_FAO)
    if fao is not None and fao != "true":
        return Violation(
            c.REASON_SECRET_MANAGED_METADATA_MISMATCH,
            f'wrong base label {c.LABEL_FAO} value {go_quote(fao)}, expected "true"',
        )
    # SecretCertificateDetailsAnnotationsMismatch
    cert_data = bytes(secret.data.get(c.TLS_CERT_KEY) or b"")
    if cert_data:
        leaf = match.parse_leaf(cert_data)
        if leaf.value is None:
            return Violation(c.REASON_INVALID_CERTIFICATE, f"Failed getting secret annotations: {leaf.error}")
    key = _first_differing_key(detail_annotations, secret.annotations)
    if key is not None:
        return Violation(
            c.REASON_SECRET_TEMPLATE_MISMATCH,
            f"Secret metadata {secret.annotations[key]} does not match certificate metadata {detail_annotations[key]}",
        )
    # SecretManagedLabelsAndAnnotationsManagedFieldsMismatch
    if secret.managed_fields_error:
        return Violation(
            c.REASON_MANAGED_FIELDS_PARSE_ERROR,
            f"failed to decode managed fields on Secret: {secret.managed_fields_error}",
        )
    found = _set_mismatch(
        c.REASON_SECRET_MANAGED_METADATA_MISMATCH,
        frozenset(k for k in secret.managed_labels if _managed(k)),
        frozenset(k for k in labels if _managed(k)),
        "Managed",
        "Labels",
    )
    if found is None and desired_annotations is not None:
        found = _set_mismatch(
            c.REASON_SECRET_MANAGED_METADATA_MISMATCH,
            frozenset(k for k in secret.managed_annotations if _managed(k)) - _UNMANAGED_CERT_ANNOTATIONS,
            frozenset(detail_annotations),
            "Managed",
            "Annotations",
        )
    if found:
        return found
    # SecretSecretTemplateMismatch
    template = spec.secret_template
    if template is not None:
        if _first_differing_key(template.annotations, secret.annotations) is not None:
            return Violation(
                c.REASON_SECRET_TEMPLATE_MISMATCH,
                "Certificate's SecretTemplate Annotations missing or incorrect value on Secret",
            )
        if _first_differing_key(template.labels, secret.labels) is not None:
            return Violation(
                c.REASON_SECRET_TEMPLATE_MISMATCH,
                "Certificate's SecretTemplate Labels missing or incorrect value on Secret",
            )
    # SecretSecretTemplateManagedFieldsMismatch
    found = _set_mismatch(
        c.REASON_SECRET_TEMPLATE_MISMATCH,
        frozenset(k for k in secret.managed_labels if not _managed(k)),
        frozenset(template.labels if template else ()),
        "Template",
        "Labels",
    ) or _set_mismatch(
        c.REASON_SECRET_TEMPLATE_MISMATCH,
        frozenset(k for k in secret.managed_annotations if not _managed(k)),
        frozenset(template.annotations if template else ()),
        "Template",
        "Annotations",
    )
    if found:
        return found
    # SecretAdditionalOutputFormatsMismatch
    expected = dict(output_formats) if output_formats is not None else expected_output_formats(spec, secret.data)
    for fmt in spec.additional_output_formats:
        data_key = {c.OUTPUT_FORMAT_COMBINED_PEM: c.COMBINED_PEM_KEY, c.OUTPUT_FORMAT_DER: c.DER_KEY_KEY}.get(fmt.type)
        if data_key is None:
            continue
        if data_key not in secret.data or bytes(secret.data[data_key]) != expected.get(data_key):
            return Violation(
                c.REASON_ADDITIONAL_OUTPUT_FORMATS_MISMATCH,
                "Certificate's AdditionalOutputFormats doesn't match Secret Data",
            )
    # SecretAdditionalOutputFormatsManagedFieldsMismatch
    wanted_types = {f.type for f in spec.additional_output_formats}
    if (c.OUTPUT_FORMAT_COMBINED_PEM in wanted_types) != (c.COMBINED_PEM_KEY in secret.managed_data_keys) or (
        c.OUTPUT_FORMAT_DER in wanted_types
    ) != (c.DER_KEY_KEY in secret.managed_data_keys):
        return Violation(
            c.REASON_ADDITIONAL_OUTPUT_FORMATS_MISMATCH,
            "Certificate's AdditionalOutputFormats doesn't match Secret ManagedFields",
        )
    flag = "true" if owner_ref_enabled else "false"
    # SecretOwnerReferenceMismatch
    if owner_ref_enabled and certificate_owner_reference(cert) not in secret.owner_references:
        return Violation(
            c.REASON_SECRET_OWNER_REF_MISMATCH,
            f"unexpected Secret Owner Reference value on Secret --enable-certificate-owner-ref={flag}",
        )
    # SecretOwnerReferenceManagedFieldMismatch
    if owner_ref_enabled != (cert.metadata.uid in secret.managed_owner_uids):
        return Violation(
            c.REASON_SECRET_OWNER_REF_MISMATCH,
            f"unexpected managed Secret Owner Reference field on Secret --enable-certificate-owner-ref={flag}",
        )
    # SecretKeystoreFormatMismatch
    problem = _keystore_mismatch(spec, secret.data)
    if problem:
        return Violation(c.REASON_SECRET_MISMATCH, problem)
    return None


def certificate_owner_reference(cert: types.Certificate) -> types.OwnerReference:
    """The controller ownerReference cert-manager puts on the Secret with --enable-certificate-owner-ref."""
    return types.OwnerReference(
        api_version=c.API_VERSION,
        kind=c.CERTIFICATE,
        name=cert.metadata.name,
        uid=cert.metadata.uid,
        controller=True,
        block_owner_deletion=True,
    )


# ---------------------------------------------------------------------------------------------------------
# Trigger helpers: back-off, Issuing, owner of a shared secretName


# `--backoff-schedule ca-friendly`: retry sooner than cert-manager at first (a transient problem need not
# cost an hour), yet from the fourth failure on never more than one new request (ACME order) an hour.
CA_FRIENDLY_FIRST = (_dt.timedelta(minutes=5), _dt.timedelta(minutes=15), _dt.timedelta(minutes=30))
_HOUR = _dt.timedelta(hours=1)


def backoff_delay(
    failed_attempts: int | None,
    minimum: _dt.timedelta = c.DEFAULT_BACKOFF_MIN,
    maximum: _dt.timedelta = c.DEFAULT_BACKOFF_MAX,
    *,
    ca_friendly: bool = False,
) -> _dt.timedelta:
    """minimum * 2^(attempts-1), capped at maximum; None or <= 0 attempts -> minimum (1h, 2h, 4h ... 32h).

    With `ca_friendly`: 5 min, 15 min, 30 min for the first three failures, then 1h doubling (never under
    an hour), capped at max(maximum, 1h)."""
    if ca_friendly:
        n = failed_attempts if failed_attempts is not None and failed_attempts > 0 else 1
        if n <= len(CA_FRIENDLY_FIRST):
            return min(CA_FRIENDLY_FIRST[n - 1], max(maximum, _HOUR))
        hours: _dt.timedelta = _HOUR * 2 ** min(n - len(CA_FRIENDLY_FIRST) - 1, 32)
        return min(hours, max(maximum, _HOUR))
    if failed_attempts is None or failed_attempts <= 0:
        return min(minimum, maximum)
    delay_us = (minimum // _dt.timedelta(microseconds=1)) << min(failed_attempts - 1, 256)
    if delay_us >= maximum // _dt.timedelta(microseconds=1):
        return maximum
    return _dt.timedelta(microseconds=delay_us)


def next_request_matches_spec(certificate: types.Certificate, next_request: types.CertificateRequest | None) -> bool:
    """Whether the back-off still applies: no next CR, or one whose CSR still matches the spec. A CR that
    does not decode, or that differs (the spec changed), lifts the back-off (cert-manager does the same)."""
    if next_request is None:
        return True
    result = match.request_matches_spec(next_request, certificate.spec)
    return result.value is not None and not result.value


def next_issuance_allowed_at(
    status: types.CertificateStatus,
    next_request_matches_spec: bool,
    minimum: _dt.timedelta = c.DEFAULT_BACKOFF_MIN,
    maximum: _dt.timedelta = c.DEFAULT_BACKOFF_MAX,
    *,
    ca_friendly: bool = False,
) -> _dt.datetime | None:
    """When a failed issuance may be retried: lastFailureTime + `backoff_delay`, or None when no back-off
    applies (no lastFailureTime, or the spec changed since the failing request). The trigger re-queues the
    Certificate until then and proceeds once `now >=` the returned time."""
    failed_at = parse_time(status.last_failure_time)
    if failed_at is None or not next_request_matches_spec:
        return None
    return failed_at + backoff_delay(status.failed_issuance_attempts, minimum, maximum, ca_friendly=ca_friendly)


def is_issuing(cert: types.Certificate) -> bool:
    """The Certificate has `Issuing=True` (set by the trigger or by hand, e.g. `cmctl renew`)."""
    return any(cond.type == c.COND_ISSUING and cond.status == c.TRUE for cond in cert.status.conditions)


def secret_owner(certificates: Sequence[types.Certificate], secret: SecretView | None) -> str:
    """Which of the Certificates sharing one secretName may proceed: the one the Secret's certificate-name
    annotation names (if it is among them), else the oldest by creationTimestamp, then by name. '' if none."""
    if not certificates:
        return ""
    if secret is not None:
        named = secret.annotations.get(c.ANN_CERTIFICATE_NAME)
        if named and any(crt.metadata.name == named for crt in certificates):
            return named
    floor = _dt.datetime.min.replace(tzinfo=_dt.UTC)
    oldest = min(
        certificates, key=lambda crt: (parse_time(crt.metadata.creation_timestamp) or floor, crt.metadata.name)
    )
    return oldest.metadata.name


# ---------------------------------------------------------------------------------------------------------
# Formatting


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc1123(value: _dt.datetime) -> str:
    """Go's time.RFC1123 for a UTC time: "Mon, 02 Jan 2006 15:04:05 UTC" (locale independent)."""
    value = value.astimezone(_dt.UTC)
    return (
        f"{_WEEKDAYS[value.weekday()]}, {value.day:02d} {_MONTH_NAMES[value.month - 1]} {value.year:04d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d} UTC"
    )


def parse_time(text: str) -> _dt.datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime, None when empty or unparsable."""
    if not text:
        return None
    try:
        value = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.UTC)
    return value.astimezone(_dt.UTC)


def go_quote(text: str) -> str:
    """Go's %q for the common cases (double quotes, backslash escapes, printable Unicode kept)."""
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif not ch.isprintable():
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x80 else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
