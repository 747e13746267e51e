"""ingress-shim as one pure decision: an annotated Ingress in, the Certificates to create, update and delete out.

The operator calls `decide(ingress, existing, options)` with an Ingress (wire dict) and the Certificates of
its namespace whenever either changes, applies the `Outcome` (creates, full-object updates that keep the
stored resourceVersion and uid, deletes preconditioned on uid) and records its events on the Ingress. The
rules are cert-manager's `pkg/controller/certificate-shim` (`sync.go`, `helper.go`), in its order:

1. no trigger annotation (``cert-manager.io/issuer``, ``cert-manager.io/cluster-issuer``, or an
   auto-certificate annotation such as ``kubernetes.io/tls-acme`` parsing as a Go bool true): nothing;
2. the Ingress is being deleted (deletionTimestamp, or the ``foregroundDeletion`` finalizer): nothing;
3. the issuer cannot be determined, or two TLS entries share a secretName: one Warning ``BadConfig``;
4. each TLS entry without hosts or secretName is skipped with a Warning ``BadConfig``;
5. the field annotations are translated once; any bad value is one Warning ``BadConfig`` and no changes;
6. one Certificate per TLS secretName, named after it and controlled by the Ingress; an existing one is
   updated only when controlled by this Ingress and one of cert-manager's compared fields differs;
7. Certificates controlled by the Ingress whose secretName is no longer in any TLS entry are deleted.

Where cert-manager returns an error (and retries with back-off, visible only in its log) for bad field
annotations, this module reports a Warning ``BadConfig`` event instead and changes nothing. Every Certificate
it would write is also run through the webhook rules (`issuer.api.validation`), so an Ingress author can
never produce a Certificate the API server would refuse; such an Ingress gets a ``BadConfig`` event too.
A same-named Certificate this Ingress does not control is left alone without an event, as cert-manager does:
creating the Certificate by hand and annotating the Ingress as well is a common, harmless pattern.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from issuer.api import constants as c
from issuer.api import duration as _duration
from issuer.api import model, validation
from issuer.api import types as t

REASON_BAD_CONFIG = "BadConfig"
REASON_CREATE_CERTIFICATE = "CreateCertificate"
REASON_UPDATE_CERTIFICATE = "UpdateCertificate"
REASON_DELETE_CERTIFICATE = "DeleteCertificate"
NORMAL, WARNING = "Normal", "Warning"

INGRESS_API_VERSION = "networking.k8s.io/v1"
INGRESS_KIND = "Ingress"
APPLYSET_LABEL = "applyset.kubernetes.io/part-of"
FOREGROUND_DELETION_FINALIZER = "foregroundDeletion"

SUBJECT_ANNOTATIONS: tuple[tuple[str, str], ...] = (
    (c.ANN_SUBJECT_ORGANIZATIONS, "organizations"),
    (c.ANN_SUBJECT_ORGANIZATIONAL_UNITS, "organizational_units"),
    (c.ANN_SUBJECT_COUNTRIES, "countries"),
    (c.ANN_SUBJECT_PROVINCES, "provinces"),
    (c.ANN_SUBJECT_LOCALITIES, "localities"),
    (c.ANN_SUBJECT_POSTAL_CODES, "postal_codes"),
    (c.ANN_SUBJECT_STREET_ADDRESSES, "street_addresses"),
)
"""The CSV subject annotations and the `X509Subject` field each one fills."""

_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})  # strconv.ParseBool
_GO_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)  # strconv.ParseInt(s, 10, n) syntax
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_MIN_DURATION_TEXT = _duration.format(c.MINIMUM_DURATION)
_MIN_RENEW_BEFORE_TEXT = _duration.format(c.MINIMUM_RENEW_BEFORE)


@dataclasses.dataclass(frozen=True)
class Options:
    """The controller flags of ingress-shim (``--default-issuer-*``, ``--auto-certificate-annotations``,
    ``--extra-certificate-annotations``)."""

    default_issuer_name: str = ""
    default_issuer_kind: str = c.ISSUER
    default_issuer_group: str = c.GROUP
    auto_certificate_annotations: tuple[str, ...] = (c.ANN_TLS_ACME,)
    extra_certificate_annotations: tuple[str, ...] = ()


@dataclasses.dataclass
class Outcome:
    """What to write for one Ingress; `events` are (type, reason, message) to record on the Ingress."""

    create: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    update: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    delete: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (name, uid)
    events: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)

    @property
    def writes(self) -> bool:
        return bool(self.create or self.update or self.delete)


class BadAnnotations(ValueError):
    """The field annotations cannot be turned into a Certificate spec; carries one message per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(aggregate(problems))


# ---------------------------------------------------------------------------------------------------------
# The decision


def decide(ingress: Mapping[str, Any], existing: Sequence[Mapping[str, Any]], options: Options = Options()) -> Outcome:
    """The Certificates to create, update and delete for `ingress`, given the Certificates in its namespace.

    Never raises on odd input: problems an Ingress author can cause come back as Warning ``BadConfig``
    events, and an Outcome with a BadConfig event other than "Skipped a TLS block" carries no writes.
    """
    meta = _mapping(ingress.get("metadata"))
    annotations = _string_map(meta.get("annotations"))
    if not has_shim_annotation(annotations, options.auto_certificate_annotations):
        return Outcome()
    if _being_deleted(meta):
        return Outcome()

    try:
        issuer_ref = issuer_for(annotations, options)
    except ValueError as exc:
        return _bad_config(f"Could not determine issuer for ingress due to bad annotations: {exc}")

    tls = _tls_entries(_mapping(ingress.get("spec")).get("tls"))
    duplicates = duplicate_secret_names(tls)
    if duplicates:
        return _bad_config(aggregate(str(v) for v in duplicates))

    outcome = Outcome()
    blocks: list[tuple[str, list[str]]] = []
    for i, (hosts, secret_name) in enumerate(tls):
        problems = tls_block_violations(i, hosts, secret_name)
        if problems:
            outcome.events.append(
                (WARNING, REASON_BAD_CONFIG, "Skipped a TLS block: " + aggregate(str(v) for v in problems))
            )
            continue
        blocks.append((secret_name, hosts))

    name = _string(meta.get("name"))
    namespace = _string(meta.get("namespace"))
    uid = _string(meta.get("uid"))
    desired: list[dict[str, Any]] = []
    if blocks:
        try:
            fields = translate_annotations(annotations)
        except BadAnnotations as exc:
            outcome.events.append(
                (WARNING, REASON_BAD_CONFIG, f"Could not build Certificates due to bad annotations: {exc}")
            )
            return outcome
        labels = {k: v for k, v in _string_map(meta.get("labels")).items() if k != APPLYSET_LABEL}
        cert_annotations = certificate_annotations(name, annotations, options.extra_certificate_annotations)
        for secret_name, hosts in blocks:
            cert = build_certificate(
                ingress_name=name,
                namespace=namespace,
                ingress_uid=uid,
                secret_name=secret_name,
                hosts=hosts,
                issuer_ref=issuer_ref,
                labels=labels,
                annotations=cert_annotations,
                fields=fields,
            )
            violations = validation.validate(cert)
            if violations:
                summary = model.InvalidObject(c.CERTIFICATE, secret_name, violations).summary()
                outcome.events.append(
                    (WARNING, REASON_BAD_CONFIG, f"Refusing to apply a Certificate the API would reject: {summary}")
                )
                return outcome
            desired.append(cert)

    by_name: dict[str, Mapping[str, Any]] = {}
    for obj in existing:
        by_name.setdefault(_string(_mapping(obj.get("metadata")).get("name")), obj)
    updated: set[str] = set()
    for cert in desired:
        cert_name = cert["metadata"]["name"]
        current = by_name.get(cert_name)
        if current is None:
            outcome.create.append(cert)
            continue
        if controller_uid(current) != uid or not needs_update(current, cert):
            continue  # not ours (cert-manager only logs this), or already up to date
        outcome.update.append(merge_update(current, cert))
        updated.add(cert_name)

    used = {secret_name for _hosts, secret_name in tls}
    for obj in existing:
        obj_meta = _mapping(obj.get("metadata"))
        obj_name = _string(obj_meta.get("name"))
        if controller_uid(obj) != uid or obj_name in updated:
            continue  # an updated Certificate gets a secretName that is in use
        if _string(_mapping(obj.get("spec")).get("secretName")) not in used:
            outcome.delete.append((obj_name, _string(obj_meta.get("uid"))))

    for cert in outcome.create:
        message = f"Successfully created Certificate {_quote(cert['metadata']['name'])}"
        outcome.events.append((NORMAL, REASON_CREATE_CERTIFICATE, message))
    for cert in outcome.update:
        message = f"Successfully updated Certificate {_quote(cert['metadata']['name'])}"
        outcome.events.append((NORMAL, REASON_UPDATE_CERTIFICATE, message))
    for obj_name, _uid in outcome.delete:
        message = f"Successfully deleted unrequired Certificate {_quote(obj_name)}"
        outcome.events.append((NORMAL, REASON_DELETE_CERTIFICATE, message))
    return outcome


def _bad_config(message: str) -> Outcome:
    return Outcome(events=[(WARNING, REASON_BAD_CONFIG, message)])


def _being_deleted(meta: Mapping[str, Any]) -> bool:
    """isDeletedInForeground: a deletionTimestamp, or the foregroundDeletion finalizer."""
    finalizers = meta.get("finalizers")
    foreground = isinstance(finalizers, list) and FOREGROUND_DELETION_FINALIZER in finalizers
    return bool(meta.get("deletionTimestamp")) or foreground


# ---------------------------------------------------------------------------------------------------------
# Trigger and issuer


def parse_go_bool(text: str) -> bool:
    """True for the values Go's strconv.ParseBool reads as true; anything else (false or invalid) is False."""
    return text in _GO_TRUE


def has_shim_annotation(annotations: Mapping[str, str], auto_annotations: Iterable[str]) -> bool:
    """hasShimAnnotation: issuer or cluster-issuer present (any value), or an auto annotation that is true."""
    if c.ANN_INGRESS_ISSUER in annotations or c.ANN_INGRESS_CLUSTER_ISSUER in annotations:
        return True
    return any(key in annotations and parse_go_bool(annotations[key]) for key in auto_annotations)


def issuer_for(annotations: Mapping[str, str], options: Options) -> t.IssuerRef:
    """issuerForIngressLike: defaults, then issuer / cluster-issuer, then issuer-kind / issuer-group.

    Raises ValueError with cert-manager's comma-joined problems when no name results, or the annotations
    contradict each other.
    """
    name, kind, group = options.default_issuer_name, options.default_issuer_kind, options.default_issuer_group
    has_issuer = c.ANN_INGRESS_ISSUER in annotations
    has_cluster_issuer = c.ANN_INGRESS_CLUSTER_ISSUER in annotations
    has_kind = c.ANN_INGRESS_ISSUER_KIND in annotations
    has_group = c.ANN_INGRESS_ISSUER_GROUP in annotations
    if has_issuer:
        name, kind = annotations[c.ANN_INGRESS_ISSUER], c.ISSUER
    if has_cluster_issuer:
        name, kind = annotations[c.ANN_INGRESS_CLUSTER_ISSUER], c.CLUSTER_ISSUER
    if has_kind:
        kind = annotations[c.ANN_INGRESS_ISSUER_KIND]
    if has_group:
        group = annotations[c.ANN_INGRESS_ISSUER_GROUP]
    problems = []
    if not name:
        problems.append("failed to determine issuer name to be used for ingress resource")
    if has_issuer and has_cluster_issuer:
        problems.append(
            f"both {_quote(c.ANN_INGRESS_ISSUER)} and {_quote(c.ANN_INGRESS_CLUSTER_ISSUER)} may not be set"
        )
    if has_cluster_issuer and has_group:
        problems.append(
            f"both {_quote(c.ANN_INGRESS_CLUSTER_ISSUER)} and {_quote(c.ANN_INGRESS_ISSUER_GROUP)} may not be set"
        )
    if has_cluster_issuer and has_kind:
        problems.append(
            f"both {_quote(c.ANN_INGRESS_CLUSTER_ISSUER)} and {_quote(c.ANN_INGRESS_ISSUER_KIND)} may not be set"
        )
    if problems:
        raise ValueError(", ".join(problems))
    return t.IssuerRef(name=name, kind=kind, group=group)


# ---------------------------------------------------------------------------------------------------------
# TLS entries


def _tls_entries(raw: Any) -> list[tuple[list[str], str]]:
    """(hosts, secretName) of each spec.tls entry, as written; odd entries read as empty ones."""
    if not isinstance(raw, list):
        return []
    out = []
    for entry in raw:
        entry_map = _mapping(entry)
        hosts = entry_map.get("hosts")
        host_list = [h for h in hosts if isinstance(h, str)] if isinstance(hosts, list) else []
        out.append((host_list, _string(entry_map.get("secretName"))))
    return out


def duplicate_secret_names(tls: Sequence[tuple[Sequence[str], str]]) -> list[model.Violation]:
    """checkForDuplicateSecretNames, over every entry (an empty secretName counts too, as in cert-manager)."""
    paths: dict[str, list[str]] = {}
    for i, (_hosts, secret_name) in enumerate(tls):
        paths.setdefault(secret_name, []).append(f"spec.tls[{i}].secretName")
    return [
        model.invalid(
            found[0],
            secret_name,
            f"this secret name must only appear in a single TLS entry but is also used in {found[1]}",
        )
        for secret_name, found in paths.items()
        if len(found) > 1
    ]


def tls_block_violations(index: int, hosts: Sequence[str], secret_name: str) -> list[model.Violation]:
    """validateIngressTLSBlock: hosts and secretName are required."""
    out = []
    if not hosts:
        out.append(model.required(f"spec.tls[{index}].hosts"))
    if not secret_name:
        out.append(model.required(f"spec.tls[{index}].secretName"))
    return out


# ---------------------------------------------------------------------------------------------------------
# Field annotations


@dataclasses.dataclass(frozen=True)
class Fields:
    """The Certificate fields taken from the Ingress's annotations (`translate_annotations`)."""

    common_name: str = ""
    alt_names: tuple[str, ...] = ()
    ip_sans: tuple[str, ...] = ()
    email_addresses: tuple[str, ...] = ()
    subject: t.X509Subject | None = None
    duration: str = ""
    renew_before: str = ""
    renew_before_percentage: int | None = None
    usages: tuple[str, ...] = c.DEFAULT_USAGES
    revision_history_limit: int | None = None
    private_key: t.CertificatePrivateKey | None = None
    secret_template: t.SecretTemplate | None = None


def translate_annotations(annotations: Mapping[str, str]) -> Fields:
    """translateAnnotations: every ``cert-manager.io/*`` field annotation, each value checked on its own.

    Raises `BadAnnotations` listing every bad value; cross-field rules (renewBefore < duration, the
    renewBeforePercentage formula) are left to the webhook rules run on the finished Certificate.
    """
    problems: list[str] = []

    def bad(key: str, detail: str) -> None:
        problems.append(f"invalid ingress annotation {_quote(key)}: {detail}")

    values: dict[str, Any] = {}
    if c.ANN_COMMON_NAME in annotations:
        common_name = annotations[c.ANN_COMMON_NAME]
        size = len(common_name.encode("utf-8", "surrogatepass"))
        if size > c.MAX_COMMON_NAME_LENGTH:
            bad(c.ANN_COMMON_NAME, f"must be no more than {c.MAX_COMMON_NAME_LENGTH} bytes, got {size}")
        values["common_name"] = common_name
    if c.ANN_ALT_NAMES in annotations:
        values["alt_names"] = tuple(split_list(annotations[c.ANN_ALT_NAMES]))
    if c.ANN_IP_SANS in annotations:
        ips = split_list(annotations[c.ANN_IP_SANS])
        for ip in ips:
            if not validation.is_ip_address(ip):
                bad(c.ANN_IP_SANS, f"invalid IP address {_quote(ip)}")
        values["ip_sans"] = tuple(ips)
    if c.ANN_EMAIL_SANS in annotations:
        emails = split_list(annotations[c.ANN_EMAIL_SANS])
        for email in emails:
            problem = validation.email_address_error(email)
            if problem:
                bad(c.ANN_EMAIL_SANS, f"{_quote(email)}: {problem}")
        values["email_addresses"] = tuple(emails)

    subject: dict[str, Any] = {}
    for key, attr in SUBJECT_ANNOTATIONS:
        if key in annotations:
            try:
                subject[attr] = tuple(split_with_escape_csv(annotations[key]))
            except ValueError as exc:
                bad(key, str(exc))
    if annotations.get(c.ANN_SUBJECT_SERIAL_NUMBER):
        subject["serial_number"] = annotations[c.ANN_SUBJECT_SERIAL_NUMBER]
    if any(subject.values()):
        values["subject"] = t.X509Subject(**subject)

    for key, attr, minimum, minimum_text, what in (
        (c.ANN_DURATION, "duration", c.MINIMUM_DURATION, _MIN_DURATION_TEXT, "duration"),
        (c.ANN_RENEW_BEFORE, "renew_before", c.MINIMUM_RENEW_BEFORE, _MIN_RENEW_BEFORE_TEXT, "renewBefore"),
    ):
        if key in annotations:
            parsed = _parse_duration(annotations[key])
            if parsed is None:
                bad(key, f"time: invalid duration {_quote(annotations[key])}")
            elif parsed < minimum:
                bad(key, f"certificate {what} must be greater than {minimum_text}, got {_quote(annotations[key])}")
            else:
                values[attr] = _duration.format(parsed)  # metav1.Duration marshals as Duration.String()

    if c.ANN_RENEW_BEFORE_PERCENTAGE in annotations:
        text = annotations[c.ANN_RENEW_BEFORE_PERCENTAGE]
        pct, problem = parse_go_int(text, "ParseInt", _INT32)
        if pct is None:
            bad(c.ANN_RENEW_BEFORE_PERCENTAGE, problem)
        else:
            values["renew_before_percentage"] = pct

    if c.ANN_USAGES in annotations:
        usages = []
        for usage_name in annotations[c.ANN_USAGES].split(","):
            usage = usage_name.strip(" ")
            if usage not in c.USAGES:
                bad(c.ANN_USAGES, f"invalid key usage name {_quote(usage_name)}")
            usages.append(usage)
        values["usages"] = tuple(usages)

    if c.ANN_REVISION_HISTORY_LIMIT in annotations:
        text = annotations[c.ANN_REVISION_HISTORY_LIMIT]
        limit, problem = parse_go_int(text, "ParseInt", _INT32)
        if limit is None:
            bad(c.ANN_REVISION_HISTORY_LIMIT, problem)
        elif limit < 1:
            bad(c.ANN_REVISION_HISTORY_LIMIT, f"revision history limit must be a positive number {_quote(text)}")
        else:
            values["revision_history_limit"] = limit

    values["private_key"] = _private_key(annotations, bad)

    if c.ANN_SECRET_TEMPLATE in annotations:
        try:
            template = parse_secret_template(annotations[c.ANN_SECRET_TEMPLATE])
        except ValueError as exc:
            bad(c.ANN_SECRET_TEMPLATE, str(exc))
        else:
            if template.annotations or template.labels:
                values["secret_template"] = template

    if problems:
        raise BadAnnotations(problems)
    return Fields(**values)


def _private_key(annotations: Mapping[str, str], bad: Callable[[str, str], None]) -> t.CertificatePrivateKey | None:
    """The four private-key annotations; size is checked against the algorithm annotation (default RSA)."""
    key: dict[str, Any] = {}
    algorithm = annotations.get(c.ANN_PRIVATE_KEY_ALGORITHM)
    if algorithm is not None:
        if algorithm in c.KEY_ALGORITHMS:
            key["algorithm"] = algorithm
        else:
            bad(c.ANN_PRIVATE_KEY_ALGORITHM, f"invalid private key algorithm {_quote(algorithm)}")
    encoding = annotations.get(c.ANN_PRIVATE_KEY_ENCODING)
    if encoding is not None:
        if encoding in c.KEY_ENCODINGS:
            key["encoding"] = encoding
        else:
            bad(c.ANN_PRIVATE_KEY_ENCODING, f"invalid private key encoding {_quote(encoding)}")
    size_text = annotations.get(c.ANN_PRIVATE_KEY_SIZE)
    if size_text is not None:
        size, problem = parse_go_int(size_text, "Atoi", _INT64)
        for_algorithm = algorithm or c.RSA
        if size is None:
            bad(c.ANN_PRIVATE_KEY_SIZE, problem)
        elif for_algorithm == c.RSA and not c.RSA_MIN_SIZE <= size <= c.RSA_MAX_SIZE:
            bad(c.ANN_PRIVATE_KEY_SIZE, f"invalid private key size for RSA algorithm {_quote(size_text)}")
        elif for_algorithm == c.ECDSA and size not in c.ECDSA_SIZES:
            bad(c.ANN_PRIVATE_KEY_SIZE, f"invalid private key size for ECDSA algorithm {_quote(size_text)}")
        else:
            key["size"] = size  # Ed25519 ignores the size, as cert-manager does
    policy = annotations.get(c.ANN_PRIVATE_KEY_ROTATION_POLICY)
    if policy is not None:
        if policy in c.ROTATION_POLICIES:
            key["rotation_policy"] = policy
        else:
            bad(c.ANN_PRIVATE_KEY_ROTATION_POLICY, f"invalid private key rotation policy {_quote(policy)}")
    return t.CertificatePrivateKey(**key) if key else None


def split_list(text: str) -> list[str]:
    """A comma list (alt-names, ip-sans, email-sans): items trimmed of spaces, empty items dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_go_int(text: str, func: str, bounds: tuple[int, int]) -> tuple[int | None, str]:
    """strconv.ParseInt / Atoi in base 10: (value, "") or (None, Go's error text)."""
    if not _GO_INT.fullmatch(text):
        return None, f"strconv.{func}: parsing {_quote(text)}: invalid syntax"
    value = int(text)
    if not bounds[0] <= value <= bounds[1]:
        return None, f"strconv.{func}: parsing {_quote(text)}: value out of range"
    return value, ""


def _parse_duration(text: str) -> _dt.timedelta | None:
    try:
        return _duration.parse(text)
    except _duration.DurationError:
        return None


def parse_secret_template(text: str) -> t.SecretTemplate:
    """The secret-template annotation: a JSON object with only `annotations` and `labels` (maps of strings).

    Like Go's decoder with DisallowUnknownFields, keys match field names case-insensitively and unknown
    keys are refused; unlike it, anything after the object is refused too. ``cert-manager.io/`` annotation
    keys are refused, as ingress-shim does (the webhook's allow-direct-injection exception does not apply).
    """
    try:
        raw = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"error parsing secret template JSON: {exc}") from None
    if raw is None:
        return t.SecretTemplate()
    if not isinstance(raw, dict):
        raise ValueError(
            f"error parsing secret template JSON: json: cannot unmarshal {_json_type(raw)} into Go value of type "
            "v1.CertificateSecretTemplate"
        )
    maps: dict[str, dict[str, str]] = {}
    for key, value in raw.items():
        field = key.lower()
        if field not in ("annotations", "labels"):
            raise ValueError(f"error parsing secret template JSON: json: unknown field {_quote(key)}")
        if value is None:
            maps[field] = {}
            continue
        if not isinstance(value, dict):
            raise ValueError(
                f"error parsing secret template JSON: json: cannot unmarshal {_json_type(value)} into Go struct "
                f"field CertificateSecretTemplate.{field} of type map[string]string"
            )
        entries: dict[str, str] = {}
        for k, v in value.items():
            if not isinstance(v, str):
                raise ValueError(
                    f"error parsing secret template JSON: json: cannot unmarshal {_json_type(v)} into Go struct "
                    f"field CertificateSecretTemplate.{field} of type string"
                )
            entries[k] = v
        maps[field] = entries
    template = t.SecretTemplate(annotations=maps.get("annotations", {}), labels=maps.get("labels", {}))
    for key in template.annotations:
        if key.startswith("cert-manager.io/"):
            raise ValueError(f"secretTemplate must not have cert-manager.io/ annotations: {_quote(key)}")
    return template


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character {_quote(name[0])} looking for beginning of value")


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def certificate_annotations(ingress_name: str, annotations: Mapping[str, str], extra: Iterable[str]) -> dict[str, str]:
    """The annotations put on each Certificate: the `extra` keys present on the Ingress, then the ACME
    HTTP-01 ones (setIssuerSpecificConfig), which win over an extra key of the same name."""
    out = {key: annotations[key] for key in extra if key in annotations}
    if annotations.get(c.ANN_HTTP01_EDIT_IN_PLACE) == "true":
        out[c.ANN_HTTP01_OVERRIDE_INGRESS_NAME] = ingress_name
        out[c.ANN_ISSUE_TEMPORARY_CERTIFICATE] = "true"
    if annotations.get(c.ANN_HTTP01_INGRESS_CLASS):
        out[c.ANN_HTTP01_OVERRIDE_INGRESS_CLASS] = annotations[c.ANN_HTTP01_INGRESS_CLASS]
    if annotations.get(c.ANN_HTTP01_INGRESS_INGRESSCLASSNAME):
        out[c.ANN_HTTP01_OVERRIDE_INGRESS_INGRESSCLASSNAME] = annotations[c.ANN_HTTP01_INGRESS_INGRESSCLASSNAME]
    return out


# ---------------------------------------------------------------------------------------------------------
# Go's encoding/csv (default Reader) behind cert-manager's SplitWithEscapeCSV

_ERR_BARE_QUOTE = 'bare " in non-quoted-field'
_ERR_QUOTE = 'extraneous or missing " in quoted-field'


class _CSVError(ValueError):
    def __init__(self, start_line: int, line: int, column: int, err: str) -> None:
        if start_line != line:
            text = f"record on line {start_line}; parse error on line {line}, column {column}: {err}"
        else:
            text = f"parse error on line {line}, column {column}: {err}"
        super().__init__(text)


def split_with_escape_csv(text: str) -> list[str]:
    """cert-manager's util.SplitWithEscapeCSV: exactly one CSV record, fields may be quoted to hold commas."""
    try:
        records = read_csv(text)
    except ValueError as exc:
        raise ValueError(f"failed to parse {_quote(text)} as CSV: {exc}") from None
    if not records:
        raise ValueError(f"no values found after parsing {_quote(text)}")
    if len(records) > 1:
        raise ValueError(f"refusing to use {_quote(text)} as input as it parses as multiple lines of CSV")
    return records[0]


def _csv_lines(text: str) -> list[str]:
    """Go's csv readLine over all of `text`: lines keep their "\\n", "\\r\\n" reads as "\\n", and a "\\r"
    just before the end of input is dropped."""
    out = []
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        if end < 0:
            line = text[start:]
            start = len(text)
            if line.endswith("\r"):
                line = line[:-1]
        else:
            line = text[start : end + 1]
            start = end + 1
            if line.endswith("\r\n"):
                line = line[:-2] + "\n"
        out.append(line)
    return out


def _blen(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def read_csv(text: str) -> list[list[str]]:
    """Go's csv.NewReader(...).ReadAll() with the default options; errors carry Go's line/column text."""
    lines = _csv_lines(text)
    next_line = 0
    records: list[list[str]] = []
    fields_per_record = 0
    while True:
        line: str | None = None
        while next_line < len(lines):
            candidate = lines[next_line]
            next_line += 1
            if candidate not in ("", "\n"):  # empty lines are skipped
                line = candidate
                break
        if line is None:
            return records
        record_line = num_line = next_line
        pos_line, col = num_line, 1
        fields: list[str] = []
        while True:
            if not line.startswith('"'):
                i = line.find(",")
                field = line[:i] if i >= 0 else line.removesuffix("\n")
                j = field.find('"')
                if j >= 0:
                    raise _CSVError(record_line, num_line, col + _blen(field[:j]), _ERR_BARE_QUOTE)
                fields.append(field)
                if i < 0:
                    break
                col += _blen(line[:i]) + 1
                line = line[i + 1 :]
                continue
            # quoted field
            parts: list[str] = []
            line = line[1:]
            col += 1
            end_of_record = False
            while True:
                i = line.find('"')
                if i >= 0:
                    parts.append(line[:i])
                    col += _blen(line[:i]) + 1
                    line = line[i + 1 :]
                    if line.startswith('"'):
                        parts.append('"')
                        line = line[1:]
                        col += 1
                    elif line.startswith(","):
                        line = line[1:]
                        col += 1
                        break
                    elif line in ("", "\n"):
                        end_of_record = True
                        break
                    else:
                        raise _CSVError(record_line, num_line, col - 1, _ERR_QUOTE)
                elif line:
                    parts.append(line)
                    col += _blen(line)
                    num_line += 1
                    line = lines[next_line] if next_line < len(lines) else ""
                    next_line += 1
                    if line:
                        pos_line += 1
                        col = 1
                else:
                    raise _CSVError(record_line, pos_line, col, _ERR_QUOTE)
            fields.append("".join(parts))
            if end_of_record:
                break
        if fields_per_record == 0:
            fields_per_record = len(fields)
        elif len(fields) != fields_per_record:
            raise ValueError(f"record on line {record_line}: wrong number of fields")
        records.append(fields)


# ---------------------------------------------------------------------------------------------------------
# Building and comparing Certificates


def _ip_key(text: str) -> str:
    """The address as Go's net.IP.String() would print it, so two spellings of one address are one SAN."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _unique(items: Iterable[str], key: Any = None) -> tuple[str, ...]:
    seen: set[str] = set()
    out = []
    for item in items:
        k = key(item) if key else item
        if k not in seen:
            seen.add(k)
            out.append(item)
    return tuple(out)


def build_certificate(
    *,
    ingress_name: str,
    namespace: str,
    ingress_uid: str,
    secret_name: str,
    hosts: Sequence[str],
    issuer_ref: t.IssuerRef,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    fields: Fields,
) -> dict[str, Any]:
    """The Certificate (wire dict) for one TLS entry: hosts split into DNS names and IPs, the annotation SANs
    appended, both deduplicated in first-seen order, and a controller reference to the Ingress."""
    dns_names = [h for h in hosts if not validation.is_ip_address(h)] + list(fields.alt_names)
    ip_addresses = [h for h in hosts if validation.is_ip_address(h)] + list(fields.ip_sans)
    owner = t.OwnerReference(
        api_version=INGRESS_API_VERSION,
        kind=INGRESS_KIND,
        name=ingress_name,
        uid=ingress_uid,
        controller=True,
        block_owner_deletion=True,
    )
    cert = t.Certificate(
        metadata=t.ObjectMeta(
            name=secret_name,
            namespace=namespace,
            labels=dict(labels),
            annotations=dict(annotations),
            owner_references=(owner,),
        ),
        spec=t.CertificateSpec(
            secret_name=secret_name,
            secret_template=fields.secret_template,
            common_name=fields.common_name,
            subject=fields.subject,
            dns_names=_unique(dns_names),
            ip_addresses=_unique(ip_addresses, _ip_key),
            email_addresses=fields.email_addresses,
            duration=fields.duration,
            renew_before=fields.renew_before,
            renew_before_percentage=fields.renew_before_percentage,
            issuer_ref=issuer_ref,
            usages=fields.usages,
            private_key=fields.private_key,
            revision_history_limit=fields.revision_history_limit,
        ),
    )
    return cert.to_wire()


def controller_uid(obj: Mapping[str, Any]) -> str | None:
    """The uid in the object's controller ownerReference (metav1.GetControllerOf), None without one."""
    refs = _mapping(obj.get("metadata")).get("ownerReferences")
    if not isinstance(refs, list):
        return None
    for ref in refs:
        ref_map = _mapping(ref)
        if ref_map.get("controller") is True:
            return _string(ref_map.get("uid"))
    return None


def needs_update(current: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """certNeedsUpdate: only labels, commonName, dnsNames (in order), secretName, issuerRef name and kind,
    revisionHistoryLimit, privateKey algorithm/encoding/rotationPolicy/size (size not for Ed25519),
    duration and renewBefore are compared; changes elsewhere (ipAddresses, usages, subject, ...) alone
    leave the Certificate as it is."""
    a_meta, b_meta = _mapping(current.get("metadata")), _mapping(desired.get("metadata"))
    a, b = _mapping(current.get("spec")), _mapping(desired.get("spec"))
    if _string(a_meta.get("name")) != _string(b_meta.get("name")):
        return True
    if _mapping(a_meta.get("labels")) != _mapping(b_meta.get("labels")):
        return True
    for key in ("commonName", "secretName"):
        if (a.get(key) or "") != (b.get(key) or ""):
            return True
    if _list(a.get("dnsNames")) != _list(b.get("dnsNames")):
        return True
    a_ref, b_ref = _mapping(a.get("issuerRef")), _mapping(b.get("issuerRef"))
    for key in ("name", "kind"):
        if (a_ref.get(key) or "") != (b_ref.get(key) or ""):
            return True
    if a.get("revisionHistoryLimit") != b.get("revisionHistoryLimit"):
        return True
    a_key, b_key = _mapping(a.get("privateKey")), _mapping(b.get("privateKey"))
    for key in ("algorithm", "encoding", "rotationPolicy"):
        if (a_key.get(key) or "") != (b_key.get(key) or ""):
            return True
    if (a_key.get("algorithm") or "") != c.ED25519 and (a_key.get("size") or 0) != (b_key.get("size") or 0):
        return True
    return any(not _same_duration(a.get(key), b.get(key)) for key in ("duration", "renewBefore"))


def _same_duration(a: Any, b: Any) -> bool:
    """ptr.Equal over *metav1.Duration: both unset, or the same length ("2160h" == "2160h0m0s")."""
    if not a or not b:
        return not a and not b
    if not isinstance(a, str) or not isinstance(b, str):
        return bool(a == b)
    a_value, b_value = _parse_duration(a), _parse_duration(b)
    if a_value is None or b_value is None:
        return a == b
    return a_value == b_value


def merge_update(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """The object to PUT: the stored Certificate (resourceVersion, uid, ownerReferences kept) with the
    desired spec and labels, and the desired annotations merged over the stored ones. Status and
    managedFields are left out; the main resource ignores the former and the server keeps the latter."""
    out = copy.deepcopy(dict(current))
    out.pop("status", None)
    out["apiVersion"] = c.API_VERSION
    out["kind"] = c.CERTIFICATE
    meta = dict(_mapping(out.get("metadata")))
    meta.pop("managedFields", None)
    desired_meta = _mapping(desired.get("metadata"))
    labels = _mapping(desired_meta.get("labels"))
    if labels:
        meta["labels"] = dict(labels)
    else:
        meta.pop("labels", None)
    annotations = _mapping(desired_meta.get("annotations"))
    if annotations:
        meta["annotations"] = {**_mapping(meta.get("annotations")), **annotations}
    out["metadata"] = meta
    out["spec"] = copy.deepcopy(dict(_mapping(desired.get("spec"))))
    return out


# ---------------------------------------------------------------------------------------------------------
# Small helpers


def aggregate(messages: Iterable[str]) -> str:
    """Go's utilerrors.NewAggregate(...).Error(): one message as is, several as "[a, b]", duplicates once."""
    unique = list(dict.fromkeys(messages))
    if len(unique) == 1:
        return unique[0]
    return "[" + ", ".join(unique) + "]"


def _quote(text: str) -> str:
    """Go's %q for the strings in messages (close enough: JSON escaping keeps printable Unicode)."""
    return json.dumps(text, ensure_ascii=False)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _string_map(value: Any) -> dict[str, str]:
    """A labels/annotations map; entries that are not string to string are ignored."""
    return {k: v for k, v in _mapping(value).items() if isinstance(k, str) and isinstance(v, str)}
