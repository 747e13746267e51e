"""Typed views of the six cert-manager kinds (Certificate, CertificateRequest, Issuer, ClusterIssuer,
Order, Challenge) and the few core pieces they refer to.

Frozen dataclasses built from the wire dicts with `parse_*` (or `Kind.from_wire`) and turned back with
`to_wire()`. Field names are snake_case; their camelCase wire names follow from `issuer.api.model`.
Values are kept as written (durations stay Go duration strings, empty kind/group stay empty): defaults
live in `issuer.api.defaults` and rules in `issuer.api.validation`, so these types stay a faithful view.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from issuer.api import constants as c
from issuer.api.model import JSON, InvalidObject, Model, Violation, invalid, model, wire

# ---------------------------------------------------------------------------------------------------------
# Common pieces


@model
class OwnerReference(Model):
    api_version: str = ""
    kind: str = ""
    name: str = ""
    uid: str = ""
    controller: bool | None = None
    block_owner_deletion: bool | None = None


@model
class ObjectMeta(Model):
    name: str = ""
    generate_name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    generation: int = 0
    creation_timestamp: str = ""
    deletion_timestamp: str = ""
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)
    owner_references: tuple[OwnerReference, ...] = ()
    finalizers: tuple[str, ...] = ()


@model
class IssuerRef(Model):
    name: str = ""
    kind: str = ""
    group: str = ""


@model
class LocalObjectReference(Model):
    name: str = ""


@model
class SecretKeySelector(Model):
    name: str = ""
    key: str = ""


@model
class Condition(Model):
    type: str = ""
    status: str = ""
    reason: str = ""
    message: str = ""
    last_transition_time: str = ""
    observed_generation: int | None = None


# ---------------------------------------------------------------------------------------------------------
# Certificate


@model
class SecretTemplate(Model):
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)
    labels: dict[str, str] = dataclasses.field(default_factory=dict)


@model
class X509Subject(Model):
    organizations: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    organizational_units: tuple[str, ...] = ()
    localities: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    street_addresses: tuple[str, ...] = ()
    postal_codes: tuple[str, ...] = ()
    serial_number: str = ""


@model
class OtherName(Model):
    oid: str = ""
    utf8_value: str = wire("utf8Value", default="")


@model
class CertificatePrivateKey(Model):
    algorithm: str = ""
    size: int | None = None
    encoding: str = ""
    rotation_policy: str = ""


@model
class JKSKeystore(Model):
    create: bool = False
    alias: str | None = None
    password_secret_ref: SecretKeySelector | None = None
    password: str | None = None


@model
class PKCS12Keystore(Model):
    create: bool = False
    profile: str = ""
    password_secret_ref: SecretKeySelector | None = None
    password: str | None = None


@model
class CertificateKeystores(Model):
    jks: JKSKeystore | None = None
    pkcs12: PKCS12Keystore | None = None


@model
class AdditionalOutputFormat(Model):
    type: str = ""


@model
class NameConstraintItem(Model):
    dns_domains: tuple[str, ...] = wire("dnsDomains", default=())
    ip_ranges: tuple[str, ...] = wire("ipRanges", default=())
    email_addresses: tuple[str, ...] = ()
    uri_domains: tuple[str, ...] = wire("uriDomains", default=())


@model
class NameConstraints(Model):
    critical: bool = False
    permitted: NameConstraintItem | None = None
    excluded: NameConstraintItem | None = None


@model
class RenewalWindow(Model):
    timezone: str = ""
    window_duration: str = ""
    cron: str = ""


@model
class Renewal(Model):
    policy: str = ""
    windows: tuple[RenewalWindow, ...] = ()


@model
class CertificateSpec(Model):
    secret_name: str = ""
    secret_template: SecretTemplate | None = None
    common_name: str = ""
    literal_subject: str = ""
    subject: X509Subject | None = None
    dns_names: tuple[str, ...] = wire("dnsNames", default=())
    ip_addresses: tuple[str, ...] = wire("ipAddresses", default=())
    uris: tuple[str, ...] = ()
    email_addresses: tuple[str, ...] = ()
    other_names: tuple[OtherName, ...] = ()
    duration: str = ""
    renew_before: str = ""
    renew_before_percentage: int | None = None
    renewal: Renewal | None = None
    issuer_ref: IssuerRef = dataclasses.field(default_factory=IssuerRef)
    is_ca: bool = wire("isCA", default=False)
    usages: tuple[str, ...] = ()
    private_key: CertificatePrivateKey | None = None
    signature_algorithm: str = ""
    encode_usages_in_request: bool | None = None
    keystores: CertificateKeystores | None = None
    revision_history_limit: int | None = None
    additional_output_formats: tuple[AdditionalOutputFormat, ...] = ()
    name_constraints: NameConstraints | None = None


@model
class CertificateStatus(Model):
    conditions: tuple[Condition, ...] = ()
    last_failure_time: str = ""
    failed_issuance_attempts: int | None = None
    not_before: str = ""
    not_after: str = ""
    renewal_time: str = ""
    revision: int | None = None
    next_private_key_secret_name: str = ""


@model
class Certificate(Model):
    api_version: str = c.API_VERSION
    kind: str = c.CERTIFICATE
    metadata: ObjectMeta = dataclasses.field(default_factory=ObjectMeta)
    spec: CertificateSpec = dataclasses.field(default_factory=CertificateSpec)
    status: CertificateStatus = dataclasses.field(default_factory=CertificateStatus)


# ---------------------------------------------------------------------------------------------------------
# CertificateRequest


@model
class CertificateRequestSpec(Model):
    duration: str = ""
    issuer_ref: IssuerRef = dataclasses.field(default_factory=IssuerRef)
    request: bytes = b""
    is_ca: bool = wire("isCA", default=False)
    usages: tuple[str, ...] = ()
    username: str = ""
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


@model
class CertificateRequestStatus(Model):
    conditions: tuple[Condition, ...] = ()
    certificate: bytes = b""
    ca: bytes = b""
    failure_time: str = ""


@model
class CertificateRequest(Model):
    api_version: str = c.API_VERSION
    kind: str = c.CERTIFICATE_REQUEST
    metadata: ObjectMeta = dataclasses.field(default_factory=ObjectMeta)
    spec: CertificateRequestSpec = dataclasses.field(default_factory=CertificateRequestSpec)
    status: CertificateRequestStatus = dataclasses.field(default_factory=CertificateRequestStatus)


# ---------------------------------------------------------------------------------------------------------
# Issuer and ClusterIssuer


@model
class SelfSignedIssuer(Model):
    crl_distribution_points: tuple[str, ...] = ()


@model
class CAIssuer(Model):
    secret_name: str = ""
    crl_distribution_points: tuple[str, ...] = ()
    ocsp_servers: tuple[str, ...] = ()
    issuing_certificate_urls: tuple[str, ...] = wire("issuingCertificateURLs", default=())


@model
class ExternalAccountBinding(Model):
    key_id: str = wire("keyID", default="")
    key_secret_ref: SecretKeySelector | None = None
    key_algorithm: str = ""


@model
class CertificateDNSNameSelector(Model):
    match_labels: dict[str, str] = dataclasses.field(default_factory=dict)
    dns_names: tuple[str, ...] = wire("dnsNames", default=())
    dns_zones: tuple[str, ...] = wire("dnsZones", default=())


@model
class ObjectMetaTemplate(Model):
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)


@model
class PodTemplate(Model):
    metadata: ObjectMetaTemplate | None = None
    spec: JSON = None


@model
class IngressTemplate(Model):
    metadata: ObjectMetaTemplate | None = None


@model
class HTTP01Ingress(Model):
    service_type: str = ""
    ingress_class_name: str | None = None
    class_: str | None = wire("class", default=None)
    name: str = ""
    pod_template: PodTemplate | None = None
    ingress_template: IngressTemplate | None = None


@model
class HTTP01(Model):
    ingress: HTTP01Ingress | None = None
    gateway_http_route: JSON = wire("gatewayHTTPRoute", default=None)


@model
class RFC2136(Model):
    nameserver: str = ""
    tsig_key_name: str = wire("tsigKeyName", default="")
    tsig_algorithm: str = wire("tsigAlgorithm", default="")
    tsig_secret_secret_ref: SecretKeySelector | None = wire("tsigSecretSecretRef", default=None)
    protocol: str = ""


@model
class DNS01(Model):
    cname_strategy: str = ""
    nameservers: tuple[str, ...] = ()
    rfc2136: RFC2136 | None = None
    akamai: JSON = None
    cloud_dns: JSON = wire("cloudDNS", default=None)
    cloudflare: JSON = None
    route53: JSON = None
    azure_dns: JSON = wire("azureDNS", default=None)
    digitalocean: JSON = None
    acme_dns: JSON = wire("acmeDNS", default=None)
    webhook: JSON = None

    def provider_names(self) -> tuple[str, ...]:
        names = ("rfc2136", "akamai", "cloudDNS", "cloudflare", "route53", "azureDNS", "digitalocean")
        attrs = ("rfc2136", "akamai", "cloud_dns", "cloudflare", "route53", "azure_dns", "digitalocean")
        found = [n for n, a in zip(names, attrs, strict=True) if getattr(self, a) is not None]
        found += [n for n, a in (("acmeDNS", "acme_dns"), ("webhook", "webhook")) if getattr(self, a) is not None]
        return tuple(found)


@model
class ACMESolver(Model):
    selector: CertificateDNSNameSelector | None = None
    http01: HTTP01 | None = None
    dns01: DNS01 | None = None
    wait_instead_of_self_check: str = ""


@model
class ACMEIssuer(Model):
    server: str = ""
    email: str = ""
    private_key_secret_ref: SecretKeySelector | None = None
    skip_tls_verify: bool = wire("skipTLSVerify", default=False)
    ca_bundle: str = ""
    external_account_binding: ExternalAccountBinding | None = None
    preferred_chain: str = ""
    disable_account_key_generation: bool = False
    enable_duration_feature: bool = False
    profile: str = ""
    solvers: tuple[ACMESolver, ...] = ()


@model
class IssuerSpec(Model):
    acme: ACMEIssuer | None = None
    ca: CAIssuer | None = None
    vault: JSON = None
    self_signed: SelfSignedIssuer | None = None
    venafi: JSON = None

    def issuer_types(self) -> tuple[str, ...]:
        """The configured issuer types, by wire name (exactly one is valid)."""
        pairs = (
            ("acme", self.acme),
            ("ca", self.ca),
            ("vault", self.vault),
            ("selfSigned", self.self_signed),
            ("venafi", self.venafi),
        )
        return tuple(name for name, value in pairs if value is not None)


@model
class ACMEIssuerStatus(Model):
    uri: str = ""
    last_registered_email: str = ""
    last_private_key_hash: str = ""


@model
class IssuerStatus(Model):
    conditions: tuple[Condition, ...] = ()
    acme: ACMEIssuerStatus | None = None


@model
class Issuer(Model):
    """An Issuer or a ClusterIssuer (same spec; `kind` tells which)."""

    api_version: str = c.API_VERSION
    kind: str = c.ISSUER
    metadata: ObjectMeta = dataclasses.field(default_factory=ObjectMeta)
    spec: IssuerSpec = dataclasses.field(default_factory=IssuerSpec)
    status: IssuerStatus = dataclasses.field(default_factory=IssuerStatus)

    @property
    def is_cluster_scoped(self) -> bool:
        return self.kind == c.CLUSTER_ISSUER


# ---------------------------------------------------------------------------------------------------------
# ACME Order and Challenge


@model
class ACMEChallenge(Model):
    url: str = ""
    token: str = ""
    type: str = ""


@model
class ACMEAuthorization(Model):
    url: str = ""
    identifier: str = ""
    wildcard: bool | None = None
    initial_state: str = ""
    challenges: tuple[ACMEChallenge, ...] = ()


@model
class OrderSpec(Model):
    request: bytes = b""
    issuer_ref: IssuerRef = dataclasses.field(default_factory=IssuerRef)
    common_name: str = ""
    dns_names: tuple[str, ...] = wire("dnsNames", default=())
    ip_addresses: tuple[str, ...] = wire("ipAddresses", default=())
    duration: str = ""
    profile: str = ""


@model
class OrderStatus(Model):
    url: str = ""
    finalize_url: str = wire("finalizeURL", default="")
    authorizations: tuple[ACMEAuthorization, ...] = ()
    certificate: bytes = b""
    state: str = ""
    reason: str = ""
    failure_time: str = ""


@model
class Order(Model):
    api_version: str = c.ACME_API_VERSION
    kind: str = c.ORDER
    metadata: ObjectMeta = dataclasses.field(default_factory=ObjectMeta)
    spec: OrderSpec = dataclasses.field(default_factory=OrderSpec)
    status: OrderStatus = dataclasses.field(default_factory=OrderStatus)


@model
class ChallengeSpec(Model):
    url: str = ""
    authorization_url: str = wire("authorizationURL", default="")
    dns_name: str = wire("dnsName", default="")
    wildcard: bool = False
    type: str = ""
    token: str = ""
    key: str = ""
    solver: ACMESolver = dataclasses.field(default_factory=ACMESolver)
    issuer_ref: IssuerRef = dataclasses.field(default_factory=IssuerRef)


@model
class ChallengeStatus(Model):
    processing: bool = False
    presented: bool = False
    presented_at: str = ""
    reason: str = ""
    state: str = ""


@model
class Challenge(Model):
    api_version: str = c.ACME_API_VERSION
    kind: str = c.CHALLENGE
    metadata: ObjectMeta = dataclasses.field(default_factory=ObjectMeta)
    spec: ChallengeSpec = dataclasses.field(default_factory=ChallengeSpec)
    status: ChallengeStatus = dataclasses.field(default_factory=ChallengeStatus)


# ---------------------------------------------------------------------------------------------------------
# Parsing entry points

_T = TypeVar("_T", bound=Model)

KINDS: dict[str, type[Model]] = {
    c.CERTIFICATE: Certificate,
    c.CERTIFICATE_REQUEST: CertificateRequest,
    c.ISSUER: Issuer,
    c.CLUSTER_ISSUER: Issuer,
    c.ORDER: Order,
    c.CHALLENGE: Challenge,
}


def parse(obj: Any) -> Model:
    """Parse any of the six kinds from a wire dict; raises `InvalidObject` listing every type problem."""
    if not isinstance(obj, dict):
        raise InvalidObject("object", "", [invalid("<root>", obj, "must be an object")])
    kind = obj.get("kind")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    name = _name_of(obj)
    if cls is None:
        raise InvalidObject(str(kind), name, [invalid("kind", kind, "not a cert-manager kind")])
    errors: list[Violation] = []
    parsed = cls.from_wire(obj, "", errors)
    if errors:
        raise InvalidObject(str(kind), name, errors)
    return parsed


def parse_certificate(obj: Any) -> Certificate:
    return _parse_as(obj, Certificate)


def parse_certificate_request(obj: Any) -> CertificateRequest:
    return _parse_as(obj, CertificateRequest)


def parse_issuer(obj: Any) -> Issuer:
    return _parse_as(obj, Issuer)


def parse_order(obj: Any) -> Order:
    return _parse_as(obj, Order)


def parse_challenge(obj: Any) -> Challenge:
    return _parse_as(obj, Challenge)


def _name_of(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else ""


def _parse_as(obj: Any, cls: type[_T]) -> _T:
    errors: list[Violation] = []
    parsed = cls.from_wire(obj, "", errors)
    if errors:
        kind = obj.get("kind", cls.__name__) if isinstance(obj, dict) else cls.__name__
        raise InvalidObject(str(kind), _name_of(obj) if isinstance(obj, dict) else "", errors)
    return parsed
