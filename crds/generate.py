"""Source of the CRD YAML files in this folder: the six cert-manager kinds (Certificate,
CertificateRequest, Issuer, ClusterIssuer, Order, Challenge) written from
/work/shared/cert-manager-inventory.md, with cert-manager's validating-webhook rules expressed as CEL
``x-kubernetes-validations`` (messages spelled as the webhook spells them) so that no webhook is needed.
The solver and issuer schemas are shared by three CRDs, hence a generator rather than hand-kept YAML.

Run ``python crds/generate.py`` after an edit; tests/unit/test_crds.py fails when the committed YAML and
this file disagree. Nothing imports this module at run time.

Webhook checks that CEL in a CRD cannot make, so the operator (issuer.api validation) must make them:
literalSubject must parse as RFC 4514 with known attribute types and a CN of at most 64 characters (CEL
only notices whether it has a CN, for the "at least one name" rule); emailAddresses must be bare RFC 5322
addresses; secretTemplate labels and annotations must be valid Kubernetes metadata; renewal window
timezones must be IANA names and cron expressions must parse (CEL checks the five-field shape); a
CertificateRequest's CSR must decode and agree with isCA/usages, its username/uid/groups/extra must be the
requester's, its cert-manager.io/ and acme.cert-manager.io/ annotations may not change, and setting
Approved/Denied needs the `approve` verb on signers (CRD rules see neither metadata.annotations nor the
user); caBundles must hold at least one certificate; the deprecated EAB keyAlgorithm warning; the Vault
and Venafi checks (both kept as pass-through objects here). Approximations: field paths of Order
authorizations name the list, not the index; additionalOutputFormats duplicates name the list.
"""

from __future__ import annotations

import pathlib
import sys
from typing import Any

import yaml

Schema = dict[str, Any]

HERE = pathlib.Path(__file__).resolve().parent
LABELS = {"app.kubernetes.io/name": "issuer", "app.kubernetes.io/part-of": "issuer"}

# Go duration syntax (time.ParseDuration): "2160h", "1h30m", "59m55s", "1.5h", "300ms", "0".
DURATION_RE = r"^(0|[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$"
# A Go duration string that cel-python's duration() also understands (no bare "0", no µs): guards CEL.
CEL_DURATION_RE = r"^[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|ms|s|m|h))+$"
DNS1123_SUBDOMAIN_RE = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
OID_RE = r"^[0-9]+(\.[0-9]+)+$"
# An RDN attribute "CN=" (or commonName / 2.5.4.3) anywhere in an RFC 4514 string.
LITERAL_CN_RE = r"(?i)(^|[,+])\s*(cn|commonname|2\.5\.4\.3)\s*="
# Inputs cert-manager's rfc2136 ValidNameserver accepts: net.SplitHostPort succeeds, or fails only with
# "missing port" (then the host is the input without surrounding brackets); the host must not be empty.
# The port is not checked. One alternative per way through Go's SplitHostPort.
NAMESERVER_RE = (
    r"^\s*("
    r"[^:]*[^:\[\]\s][^:]*"  # no colon: missing port
    r"|\[[^\]]*[^\[\]\s][^\]]*\]"  # [host] without a port: missing port
    r"|\[[^\[\]]*[^\[\]\s][^\[\]]*\]:[^:\[\]]*"  # [host]:port
    r"|\[[^\]]*:[^\]]*\][^:].*|\[[^\]]*\][^:].*:.*"  # [x]y with a colon: missing port, brackets trimmed
    r"|[^:\[\]]*[^:\[\]\s][^:\[\]]*:[^:\[\]]*"  # host:port
    r")\s*$"
)  # (a host of only whitespace is rejected here; Go would take it)
CRON_RE = r"^\s*(@[a-zA-Z]+|\S+\s+\S+\s+\S+\s+\S+\s+\S+)\s*$"

_V4_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_RE = rf"{_V4_OCTET}(\.{_V4_OCTET}){{3}}"


def _ipv6_re() -> str:
    """Every textual IPv6 form Go's net.ParseIP accepts (no zones), as one RE2 alternation."""
    h = "[0-9a-fA-F]{1,4}"
    forms = [rf"({h}:){{7}}{h}", rf"({h}:){{6}}{IPV4_RE}"]
    # "::" elides one or more groups; k groups on the left, at most 7-k (6-k with an IPv4 tail) right.
    for k in range(8):
        left = "" if k == 0 else (rf"({h}:){{{k - 1}}}{h}" if k > 1 else h)
        right_max = 7 - k - 1
        right = "" if right_max < 0 else (rf"({h}(:{h}){{0,{right_max}}})?" if right_max > 0 else f"({h})?")
        forms.append(f"{left}::{right}")
    for k in range(6):
        left = "" if k == 0 else (rf"({h}:){{{k - 1}}}{h}" if k > 1 else h)
        right_max = 5 - k
        mid = rf"({h}:){{0,{right_max}}}" if right_max > 0 else ""
        forms.append(f"{left}::{mid}{IPV4_RE}")
    return "(" + "|".join(forms) + ")"


IP_RE = f"^({IPV4_RE}|{_ipv6_re()})$"

USAGES = [
    "signing", "digital signature", "content commitment", "key encipherment", "key agreement",
    "data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any", "server auth",
    "client auth", "code signing", "email protection", "s/mime", "ipsec end system", "ipsec tunnel",
    "ipsec user", "timestamping", "ocsp signing", "microsoft sgc", "netscape sgc",
]  # fmt: skip
ACME_STATES = ["valid", "ready", "pending", "processing", "invalid", "expired", "errored"]


# ---------------------------------------------------------------------------------------------------
# schema helpers


def rule(expr: str, message: str, field_path: str | None = None, reason: str | None = None) -> dict[str, str]:
    """One x-kubernetes-validations entry."""
    out = {"rule": expr, "message": message}
    if field_path:
        out["fieldPath"] = field_path
    if reason:
        out["reason"] = reason
    return out


def _with(node: Schema, desc: str | None, rules: list[dict[str, str]] | None, **extra: Any) -> Schema:
    if desc:
        node = {"description": desc, **node}
    node.update(extra)
    if rules:
        node["x-kubernetes-validations"] = rules
    return node


def string(desc: str | None = None, *, rules: list[dict[str, str]] | None = None, **extra: Any) -> Schema:
    return _with({"type": "string"}, desc, rules, **extra)


def integer(desc: str | None = None, *, fmt: str = "int32", rules: list[dict[str, str]] | None = None,
            **extra: Any) -> Schema:
    return _with({"type": "integer", "format": fmt}, desc, rules, **extra)


def boolean(desc: str | None = None, **extra: Any) -> Schema:
    return _with({"type": "boolean"}, desc, None, **extra)


def date_time(desc: str | None = None) -> Schema:
    return string(desc, format="date-time")


def byte_string(desc: str | None = None) -> Schema:
    return string(desc, format="byte")


def duration_string(desc: str, *, rules: list[dict[str, str]] | None = None) -> Schema:
    return string(desc, rules=rules, pattern=DURATION_RE, maxLength=64)


def array(items: Schema, desc: str | None = None, *, rules: list[dict[str, str]] | None = None,
          **extra: Any) -> Schema:
    return _with({"type": "array", "items": items}, desc, rules, **extra)


def strings(desc: str | None = None, **extra: Any) -> Schema:
    return array({"type": "string"}, desc, **extra)


def string_map(desc: str | None = None, *, rules: list[dict[str, str]] | None = None) -> Schema:
    return _with({"type": "object", "additionalProperties": {"type": "string"}}, desc, rules)


def obj(props: dict[str, Schema], desc: str | None = None, *, required: list[str] | None = None,
        rules: list[dict[str, str]] | None = None, **extra: Any) -> Schema:
    node: Schema = {"type": "object"}
    if required:
        node["required"] = required
    node["properties"] = props
    return _with(node, desc, rules, **extra)


def has_text(path: str) -> str:
    """CEL: the optional string field at `self.a.b` is present and non-empty (guards every step)."""
    parts = path.split(".")
    guards = [f"has(self.{'.'.join(parts[: i + 1])})" for i in range(len(parts))]
    return "(" + " && ".join([*guards, f"size(self.{path}) > 0"]) + ")"


def cel_duration(expr: str) -> str:
    """CEL: parse a Go duration string known to match DURATION_RE ("0" handled separately)."""
    return f"({expr} == '0' ? duration('0s') : duration({expr}))"


DIGITS = "['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']"
MAX_DURATION_HOURS = 2562047  # Go's time.Duration ends at 2562047h47m16.854775807s


def decimal(n: str, digits: int) -> str:
    """CEL: the decimal text of the non-negative int `n` (an identifier or a parenthesized expression) of at
    most `digits` digits, taken digit by digit from a literal table. kube's cost estimator cannot bound the
    length of string(int) (one concatenation of it makes a messageExpression's cost unbounded); the length
    of an element of a literal list it knows."""
    parts = [f"({n} >= {10**k} ? {DIGITS}[{n} / {10**k} % 10] : '')" for k in range(digits - 1, 0, -1)]
    return " + ".join([*parts, f"{DIGITS}[{n} % 10]"])


def go_duration_string(sec: str) -> str:
    """CEL: Go's time.Duration.String() of a whole, non-negative number of seconds `sec` (an identifier or a
    parenthesized expression): "2160h0m0s", "5m0s", "30s"; callers check wholeness and sign first."""
    return (f"({sec} >= 3600 ? {decimal(f'({sec} / 3600)', len(str(MAX_DURATION_HOURS)))} + 'h' : '') + "
            f"({sec} >= 60 ? {decimal(f'({sec} % 3600 / 60)', 2)} + 'm' : '') + {decimal(f'({sec} % 60)', 2)} + 's'")


def bind(var: str, value: str, body: str) -> str:
    """CEL: `body` with `var` bound to `value`, computed once. kube's CEL has no cel.bind; mapping a
    one-element list names its element (and the estimated cost counts `value` once)."""
    return f"[{value}].map({var}, {body})[0]"


def milliseconds(duration_expr: str) -> str:
    """CEL: a duration in whole milliseconds. cel-go's getMilliseconds() is the total, but the CEL spec is
    read as "the millisecond part" by some engines (cel-es), so build it from total seconds plus the part."""
    return f"({duration_expr}.getSeconds() * 1000 + {duration_expr}.getMilliseconds() % 1000)"


def valid_duration(expr: str) -> str:
    return f"({expr} == '0' || {expr}.matches(r'{CEL_DURATION_RE}'))"


def secret_key_selector(desc: str, *, key_required: bool = False) -> Schema:
    """cert-manager's SecretKeySelector: name (required by the schema) and an optional key."""
    return obj(
        {
            "name": string("Name of the Secret (in the issuer's resource namespace)."),
            "key": string("Key of the entry in the Secret's data; some uses have a default."),
        },
        desc,
        required=["name", "key"] if key_required else ["name"],
    )


def checked_secret_ref(desc: str) -> Schema:
    """A SecretKeySelector checked as the webhook's ValidateSecretKeySelector does (name and key)."""
    return obj(
        {
            "name": string("Name of the Secret (in the issuer's resource namespace)."),
            "key": string("Key of the entry in the Secret's data."),
        },
        desc,
        rules=[
            rule("has(self.name) && size(self.name) > 0", "secret name is required", ".name", "FieldValueRequired"),
            rule("has(self.key) && size(self.key) > 0", "secret key is required", ".key", "FieldValueRequired"),
        ],
    )


def local_object_reference(desc: str) -> Schema:
    return obj({"name": string("Name of the referent.")}, desc, required=["name"])


def issuer_ref(*, validated: bool) -> Schema:
    rules = None
    if validated:
        # internal/apis/certmanager/validation/certificate.go validateIssuerRef
        builtin_kind = "!has(self.kind) || self.kind in ['', 'Issuer', 'ClusterIssuer']"
        rules = [
            rule("!has(self.name) || size(self.name) > 0", "must be specified", ".name", "FieldValueRequired"),
            rule(
                f"{builtin_kind} || (has(self.group) && size(self.group) > 0)",
                "must be one of Issuer or ClusterIssuer (did you forget to set spec.issuerRef.kind.group?)",
                ".kind",
            ),
            rule(
                f"{builtin_kind} || !has(self.group) || self.group != 'cert-manager.io'",
                "must be one of Issuer or ClusterIssuer",
                ".kind",
            ),
        ]
    return obj(
        {
            "name": string("Name of the issuer being referred to."),
            "kind": string("Kind of the issuer: Issuer (default) or ClusterIssuer for cert-manager.io."),
            "group": string("Group of the issuer; empty means cert-manager.io."),
        },
        "Reference to the issuer responsible for issuing the certificate.",
        required=["name"],
        rules=rules,
    )


def conditions(desc: str, *, observed_generation: bool, rules: list[dict[str, str]] | None = None,
               **extra: Any) -> Schema:
    # Rules that compare whole conditions need bounded strings (metav1.Condition's limits) to stay
    # within kube's CEL cost budget; lists without such rules keep cert-manager's unbounded strings.
    bounded = bool(rules)
    props: dict[str, Schema] = {
        "type": string("Type of the condition, e.g. Ready.", maxLength=316),
        "status": string("Status of the condition.", enum=["True", "False", "Unknown"],
                         **({"maxLength": 8} if bounded else {})),
        "lastTransitionTime": date_time("When the status last changed."),
        "reason": string("Machine-readable CamelCase reason for the last transition.",
                         **({"maxLength": 1024} if bounded else {})),
        "message": string("Human-readable details of the last transition.",
                          **({"maxLength": 32768} if bounded else {})),
    }
    if observed_generation:
        props["observedGeneration"] = integer("The .metadata.generation the condition was set for.", fmt="int64")
    return array(
        obj(props, required=["type", "status"]),
        desc,
        rules=rules,
        **{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
        **extra,
    )


def at_most_one(fields: list[str]) -> str:
    return "[" + ", ".join(f"has(self.{f})" for f in fields) + "].filter(x, x).size() <= 1"


def later_forbidden(order: list[str], message: str) -> list[dict[str, str]]:
    """Webhook style one-of: each field set after an earlier one in `order` is Forbidden at its own path."""
    out = []
    for i, field in enumerate(order[1:], start=1):
        earlier = " || ".join(f"has(self.{f})" for f in order[:i])
        out.append(rule(f"!has(self.{field}) || !({earlier})", message, f".{field}", "FieldValueForbidden"))
    return out


# ---------------------------------------------------------------------------------------------------
# shared pieces: pod template and ACME solvers


def object_meta_template(desc: str) -> Schema:
    return obj(
        {"labels": string_map("Labels added to the created object."),
         "annotations": string_map("Annotations added to the created object.")},
        desc,
    )


def pod_template() -> Schema:
    quantity = {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True}
    quantities = {"type": "object", "additionalProperties": quantity}
    security_context = obj(
        {
            "seLinuxOptions": obj({k: string() for k in ("level", "role", "type", "user")},
                                  "SELinux context applied to all containers."),
            "runAsUser": integer("UID to run the entrypoint of the container process.", fmt="int64"),
            "runAsGroup": integer("GID to run the entrypoint of the container process.", fmt="int64"),
            "runAsNonRoot": boolean("Require the container to run as a non-root user."),
            "supplementalGroups": array({"type": "integer", "format": "int64"}, "Extra groups."),
            "fsGroup": integer("Special supplemental group for volumes.", fmt="int64"),
            "sysctls": array(obj({"name": string(), "value": string()}, required=["name", "value"]),
                             "Namespaced sysctls for the pod."),
            "fsGroupChangePolicy": string("OnRootMismatch or Always."),
            "seccompProfile": obj({"type": string("RuntimeDefault, Unconfined or Localhost."),
                                   "localhostProfile": string()}, "Seccomp profile.", required=["type"]),
        },
        "Pod-level security attributes.",
    )
    spec = obj(
        {
            "nodeSelector": string_map("Node labels the solver pod must match."),
            "affinity": {"type": "object", "description": "A core/v1 Affinity, passed through as is.",
                         "x-kubernetes-preserve-unknown-fields": True},
            "tolerations": array(
                obj({"key": string(), "operator": string(), "value": string(), "effect": string(),
                     "tolerationSeconds": integer(fmt="int64")}),
                "Tolerations of the solver pod.",
            ),
            "priorityClassName": string("Priority class of the solver pod."),
            "serviceAccountName": string("Service account of the solver pod."),
            "imagePullSecrets": array(local_object_reference("A Secret for pulling the solver image."),
                                      "Secrets for pulling the solver image."),
            "securityContext": security_context,
            "resources": obj({"limits": quantities, "requests": quantities},
                             "Compute resources of the solver container."),
        },
        "Subset of a PodSpec merged into the solver pod; other fields are ignored.",
    )
    return obj({"metadata": object_meta_template("Labels and annotations for the solver pod."), "spec": spec},
               "Overrides for the HTTP-01 solver pod.")


SERVICE_TYPE_RULE = [rule("self in ['', 'ClusterIP', 'NodePort']", 'must be empty, "ClusterIP" or "NodePort"')]


def http01_solver() -> Schema:
    ingress = obj(
        {
            "serviceType": string("Service type for the solver: ClusterIP or NodePort (default).",
                                  rules=SERVICE_TYPE_RULE),
            "ingressClassName": string(
                "IngressClass of the created Ingress (spec.ingressClassName).",
                maxLength=253,
                rules=[rule(f"self.matches(r'{DNS1123_SUBDOMAIN_RE}')",
                            f"must be a valid IngressClass name: {DNS1123_SUBDOMAIN_MSG}")],
            ),
            "class": string("Ingress class annotation kubernetes.io/ingress.class of the created Ingress."),
            "name": string("Existing Ingress to edit in place instead of creating one."),
            "podTemplate": pod_template(),
            "ingressTemplate": obj({"metadata": object_meta_template("Labels and annotations for the Ingress.")},
                                   "Overrides for the created Ingress."),
        },
        "Solve HTTP-01 challenges with an Ingress.",
        rules=[rule(
            "[has(self.class), has(self.ingressClassName), has(self.name) && size(self.name) > 0]"
            ".filter(x, x).size() <= 1",
            "only one of 'ingressClassName', 'name' or 'class' should be specified",
            reason="FieldValueForbidden",
        )],
    )
    parent_ref = obj(
        {
            "group": string("Group of the parent (gateway.networking.k8s.io)."),
            "kind": string("Kind of the parent, e.g. Gateway."),
            "namespace": string("Namespace of the parent; the challenge's namespace if unset."),
            "name": string("Name of the parent."),
            "sectionName": string("Listener name within the parent."),
            "port": integer("Listener port within the parent."),
        },
        "A Gateway API ParentReference.",
        rules=[
            rule("!has(self.kind) || has_text_name", "name is required when kind is specified", ".name",
                 "FieldValueRequired"),
            rule("!(has_text_name) || has(self.kind)", "kind is required when name is specified", ".kind",
                 "FieldValueRequired"),
        ],
    )
    for r in parent_ref["x-kubernetes-validations"]:
        r["rule"] = r["rule"].replace("has_text_name", "(has(self.name) && size(self.name) > 0)")
    gateway = obj(
        {
            "serviceType": string("Service type for the solver: ClusterIP or NodePort (default).",
                                  rules=SERVICE_TYPE_RULE),
            "labels": string_map("Labels added to the created HTTPRoute."),
            "parentRefs": array(parent_ref, "Gateways the HTTPRoute attaches to.", maxItems=32),
            "podTemplate": pod_template(),
        },
        "Solve HTTP-01 challenges with a Gateway API HTTPRoute.",
    )
    return obj(
        {"ingress": ingress, "gatewayHTTPRoute": gateway},
        "HTTP-01 solver configuration: exactly one of ingress or gatewayHTTPRoute.",
        rules=[
            rule("has(self.ingress) || has(self.gatewayHTTPRoute)", "no HTTP01 solver type configured",
                 reason="FieldValueRequired"),
            rule("!(has(self.ingress) && has(self.gatewayHTTPRoute))", "only 1 HTTP01 solver type may be configured",
                 reason="FieldValueRequired"),
        ],
    )


DNS01_PROVIDERS = ["akamai", "azureDNS", "cloudDNS", "cloudflare", "route53", "acmeDNS", "digitalocean",
                   "rfc2136", "webhook"]
TSIG_ALGORITHMS = ["HMACMD5", "HMACSHA1", "HMACSHA256", "HMACSHA512"]


def dns01_solver() -> Schema:
    akamai = obj(
        {
            "serviceConsumerDomain": string("Akamai service consumer domain."),
            "clientTokenSecretRef": checked_secret_ref("Secret holding the EdgeGrid client token."),
            "clientSecretSecretRef": checked_secret_ref("Secret holding the EdgeGrid client secret."),
            "accessTokenSecretRef": checked_secret_ref("Secret holding the EdgeGrid access token."),
        },
        "Akamai Edge DNS.",
        required=["accessTokenSecretRef", "clientSecretSecretRef", "clientTokenSecretRef", "serviceConsumerDomain"],
    )
    cloud_dns = obj(
        {
            "project": string("Google Cloud project."),
            "serviceAccountSecretRef": checked_secret_ref("Secret holding a service account JSON key; "
                                                          "ambient credentials if unset."),
            "hostedZoneName": string("Managed zone name; looked up if unset."),
        },
        "Google Cloud DNS.",
        required=["project"],
    )
    cloudflare = obj(
        {
            "email": string("Account email, required with apiKeySecretRef."),
            "apiKeySecretRef": checked_secret_ref("Secret holding a global API key."),
            "apiTokenSecretRef": checked_secret_ref("Secret holding an API token."),
        },
        "Cloudflare.",
        rules=[
            rule("!(has(self.apiKeySecretRef) && has(self.apiTokenSecretRef))",
                 "apiKeySecretRef and apiTokenSecretRef cannot both be specified", reason="FieldValueForbidden"),
            rule("has(self.apiKeySecretRef) || has(self.apiTokenSecretRef)",
                 "apiKeySecretRef or apiTokenSecretRef is required", reason="FieldValueRequired"),
            rule(f"!has(self.apiKeySecretRef) || {has_text('email')}", "email is required with apiKeySecretRef",
                 ".email", "FieldValueRequired"),
        ],
    )
    route53 = obj(
        {
            "region": string("AWS region; taken from the environment if unset."),
            "accessKeyID": string("Access key ID (literal); ambient credentials if neither form is set."),
            "accessKeyIDSecretRef": checked_secret_ref("Secret holding the access key ID."),
            "secretAccessKeySecretRef": secret_key_selector("Secret holding the secret access key."),
            "role": string("Role ARN to assume."),
            "hostedZoneID": string("Hosted zone ID; looked up if unset."),
            "auth": obj(
                {"kubernetes": obj(
                    {"serviceAccountRef": obj(
                        {"name": string("Service account name."),
                         "audiences": strings("Token audiences; sts.amazonaws.com if unset.")},
                        "Service account whose token is exchanged for AWS credentials.",
                        required=["name"],
                    )},
                    "Kubernetes service account token authentication.",
                    required=["serviceAccountRef"],
                )},
                "How to authenticate with AWS.",
                required=["kubernetes"],
            ),
        },
        "AWS Route53.",
        rules=[rule(f"!({has_text('accessKeyID')} && has(self.accessKeyIDSecretRef))",
                    "accessKeyID and accessKeyIDSecretRef cannot both be specified", reason="FieldValueRequired")],
    )
    client_creds = f"{has_text('clientID')} || {has_text('tenantID')} || has(self.clientSecretSecretRef)"
    mi = "self.managedIdentity"
    azure = obj(
        {
            "clientID": string("Service principal client ID."),
            "clientSecretSecretRef": checked_secret_ref("Secret holding the service principal secret."),
            "subscriptionID": string("Azure subscription ID."),
            "tenantID": string("Service principal tenant ID."),
            "resourceGroupName": string("Resource group of the DNS zone."),
            "hostedZoneName": string("DNS zone name; looked up if unset."),
            "environment": string("Azure cloud.", enum=["AzurePublicCloud", "AzureChinaCloud", "AzureGermanCloud",
                                                        "AzureUSGovernmentCloud"]),
            "managedIdentity": obj(
                {"clientID": string("Client ID of the managed identity."),
                 "resourceID": string("Resource ID of the managed identity."),
                 "tenantID": string("Tenant ID of the managed identity (workload identity).")},
                "Managed identity to use instead of a service principal.",
            ),
            "zoneType": string("Public or private DNS zone.", enum=["AzurePublicZone", "AzurePrivateZone"]),
        },
        "Azure DNS.",
        required=["resourceGroupName", "subscriptionID"],
        rules=[
            rule(f"!({client_creds}) || {has_text('clientID')}",
                 "clientID is required when clientSecretSecretRef or tenantID is set", ".clientID",
                 "FieldValueRequired"),
            rule(f"!({client_creds}) || has(self.clientSecretSecretRef)",
                 "clientSecretSecretRef is required when clientID or tenantID is set", ".clientSecretSecretRef",
                 "FieldValueRequired"),
            rule(f"!({client_creds}) || {has_text('tenantID')}",
                 "tenantID is required when clientID or clientSecretSecretRef is set", ".tenantID",
                 "FieldValueRequired"),
            rule(f"!({client_creds}) || !has(self.managedIdentity)",
                 "managed identity cannot be used at the same time as clientID, clientSecretSecretRef or tenantID",
                 ".managedIdentity", "FieldValueForbidden"),
            rule(f"({client_creds}) || !has({mi}) || !({has_text('managedIdentity.clientID')} && "
                 f"{has_text('managedIdentity.resourceID')})",
                 "managedIdentityClientID and managedIdentityResourceID cannot both be specified",
                 ".managedIdentity", "FieldValueForbidden"),
            rule(f"({client_creds}) || !has({mi}) || !({has_text('managedIdentity.tenantID')} && "
                 f"{has_text('managedIdentity.resourceID')})",
                 "managedIdentityTenantID and managedIdentityResourceID cannot both be specified",
                 ".managedIdentity", "FieldValueForbidden"),
            rule(f"({client_creds}) || !has({mi}) || !{has_text('managedIdentity.tenantID')} || "
                 f"{has_text('managedIdentity.clientID')}",
                 "managedIdentityClientID is required when using managedIdentityTenantID",
                 ".managedIdentity", "FieldValueRequired"),
        ],
    )
    digitalocean = obj({"tokenSecretRef": checked_secret_ref("Secret holding the API token.")},
                       "DigitalOcean.", required=["tokenSecretRef"])
    acme_dns = obj(
        {"host": string("acme-dns server URL."),
         "accountSecretRef": checked_secret_ref("Secret holding the acme-dns account JSON.")},
        "acme-dns.",
        required=["accountSecretRef", "host"],
    )
    tsig_ref_set = "(has(self.tsigSecretSecretRef) && " \
        f"{has_text('tsigSecretSecretRef.name')} && {has_text('tsigSecretSecretRef.key')})"
    rfc2136 = obj(
        {
            "nameserver": string(
                # 300: a DNS name (253) with ":65535", or a bracketed IPv6 address with a port, and room for
                # the surrounding spaces the check allows; 1024 put the regex over 1000 solvers above kube's
                # CEL cost budget
                "Authoritative server: host[:port], IPv6 in brackets, port 53 by default.", maxLength=300,
                rules=[rule(f"self.matches(r'{NAMESERVER_RE}')",
                            "nameserver must be set in the form host:port where host is an IPv4 address, an enclosed "
                            "IPv6 address or a hostname and port is an optional port number.")],
            ),
            "tsigKeyName": string("TSIG key name; required with tsigSecretSecretRef."),
            "tsigAlgorithm": string(
                "TSIG algorithm (case-insensitive): HMACMD5 (default), HMACSHA1, HMACSHA256 or HMACSHA512.",
                maxLength=64,
                rules=[rule(f"size(self) == 0 || self.matches(r'(?i)^({'|'.join(TSIG_ALGORITHMS)})$')",
                            "supported values: " + ", ".join(f'"{a}"' for a in TSIG_ALGORITHMS))],
            ),
            "tsigSecretSecretRef": secret_key_selector("Secret holding the base64 TSIG secret; needs tsigKeyName."),
            "protocol": string("Transport for updates: UDP (default) or TCP.", enum=["TCP", "UDP"]),
        },
        "RFC 2136 dynamic DNS updates.",
        required=["nameserver"],
        rules=[
            rule(f"!{has_text('tsigKeyName')} || (has(self.tsigSecretSecretRef) && "
                 f"{has_text('tsigSecretSecretRef.name')})",
                 "secret name is required", ".tsigSecretSecretRef.name", "FieldValueRequired"),
            rule(f"!{has_text('tsigKeyName')} || (has(self.tsigSecretSecretRef) && "
                 f"{has_text('tsigSecretSecretRef.key')})",
                 "secret key is required", ".tsigSecretSecretRef.key", "FieldValueRequired"),
            rule(f"!{tsig_ref_set} || {has_text('tsigKeyName')}",
                 "tsigKeyName is required when tsigSecretSecretRef is set", ".tsigKeyName", "FieldValueRequired"),
        ],
    )
    webhook = obj(
        {
            "groupName": string("API group of the webhook solver's ChallengePayload."),
            "solverName": string("Name of the solver inside the webhook."),
            "config": {"description": "Arbitrary JSON passed to the webhook solver.",
                       "x-kubernetes-preserve-unknown-fields": True},
        },
        "An out-of-tree DNS01 webhook solver.",
        required=["groupName", "solverName"],
        rules=[rule("!has(self.solverName) || size(self.solverName) > 0", "solver name must be specified",
                    ".solverName", "FieldValueRequired")],
    )
    providers: dict[str, Schema] = {
        "akamai": akamai, "azureDNS": azure, "cloudDNS": cloud_dns, "cloudflare": cloudflare,
        "route53": route53, "acmeDNS": acme_dns, "digitalocean": digitalocean, "rfc2136": rfc2136,
        "webhook": webhook,
    }
    props: dict[str, Schema] = {
        "cnameStrategy": string("Follow CNAMEs from _acme-challenge records (Follow) or not (None).",
                                enum=["None", "Follow"]),
        "nameservers": strings("Recursive nameservers (host:port or https:// DoH) for the propagation check."),
        **providers,
    }
    any_provider = " || ".join(f"has(self.{p})" for p in DNS01_PROVIDERS)
    return obj(
        props,
        "DNS-01 solver configuration: exactly one provider.",
        rules=[
            rule(any_provider, "no DNS01 provider configured", reason="FieldValueRequired"),
            *later_forbidden(DNS01_PROVIDERS, "may not specify more than one provider type"),
        ],
    )


def acme_solver(desc: str) -> Schema:
    return obj(
        {
            "selector": obj(
                {
                    "matchLabels": string_map("Labels the Certificate must carry for this solver to be used."),
                    "dnsNames": strings("Exact DNS names this solver is used for."),
                    "dnsZones": strings("DNS zones (and their subdomains) this solver is used for."),
                },
                "Which Certificates and domains this solver applies to; none means all.",
            ),
            "http01": http01_solver(),
            "dns01": dns01_solver(),
            "waitInsteadOfSelfCheck": duration_string(
                "Wait this long after presenting instead of running the self check.",
                rules=[rule(f"!{valid_duration('self')} || {cel_duration('self')} >= duration('0s')",
                            "waitInsteadOfSelfCheck must not be negative")],
            ),
        },
        desc,
        rules=[
            rule("!(has(self.http01) && has(self.dns01))",
                 "may not specify more than one solver type in a single solver", reason="FieldValueForbidden"),
            rule("has(self.http01) || has(self.dns01)", "no solver type configured", reason="FieldValueRequired"),
        ],
    )


def acme_issuer() -> Schema:
    return obj(
        {
            "server": string("ACME directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory."),
            "email": string("Email registered with the ACME account."),
            "privateKeySecretRef": secret_key_selector("Secret holding the ACME account key (key tls.key "
                                                       "by default); generated if missing."),
            "skipTLSVerify": boolean("Do not verify the ACME server's TLS certificate (testing only)."),
            "caBundle": byte_string("Base64 PEM CA bundle to verify the ACME server with."),
            "externalAccountBinding": obj(
                {
                    "keyID": string("Key ID the CA gave for external account binding."),
                    "keySecretRef": checked_secret_ref("Secret holding the unpadded base64url MAC key."),
                    "keyAlgorithm": string("Deprecated and ignored.", enum=["HS256", "HS384", "HS512"]),
                },
                "External account binding for the ACME account.",
                rules=[
                    rule(has_text("keyID"), "the keyID field is required when using externalAccountBinding",
                         ".keyID", "FieldValueRequired"),
                    rule("has(self.keySecretRef)", "secret name is required", ".keySecretRef.name",
                         "FieldValueRequired"),
                    rule("has(self.keySecretRef)", "secret key is required", ".keySecretRef.key",
                         "FieldValueRequired"),
                ],
            ),
            "preferredChain": string("Issuer CN of the root-most certificate of the preferred chain.",
                                     maxLength=64),
            "disableAccountKeyGeneration": boolean("Fail instead of generating a missing account key."),
            "enableDurationFeature": boolean("Send the requested duration (notAfter) in new orders."),
            "profile": string("ACME certificate profile to request."),
            "renewalInformationSource": string("Where renewal times come from: ARI or None.",
                                               enum=["ARI", "None"], default="ARI"),
            "solvers": array(acme_solver("A challenge solver and the domains it applies to."),
                             "Challenge solvers; none matching an identifier leaves the Order pending.",
                             maxItems=1000),
        },
        "ACME issuer (RFC 8555).",
        rules=[
            rule(has_text("server"), "acme server URL is a required field", ".server", "FieldValueRequired"),
            rule("has(self.privateKeySecretRef) && "
                 "(!has(self.privateKeySecretRef.name) || size(self.privateKeySecretRef.name) > 0)",
                 "private key secret name is a required field",
                 ".privateKeySecretRef.name", "FieldValueRequired"),
            rule("!(has(self.caBundle) && size(self.caBundle) > 0 && has(self.skipTLSVerify) && self.skipTLSVerify)",
                 "caBundle and skipTLSVerify are mutually exclusive and cannot both be set", ".caBundle"),
            rule("!(has(self.caBundle) && size(self.caBundle) > 0 && has(self.skipTLSVerify) && self.skipTLSVerify)",
                 "caBundle and skipTLSVerify are mutually exclusive and cannot both be set", ".skipTLSVerify"),
        ],
    )


def vault_issuer() -> Schema:
    return obj(
        {
            "server": string("Vault server URL."),
            "path": string("Vault PKI sign path, e.g. pki/sign/role."),
            "namespace": string("Vault Enterprise namespace."),
            "serverName": string("TLS server name override."),
            "caBundle": byte_string("Base64 PEM CA bundle for the Vault server."),
            "caBundleSecretRef": secret_key_selector("Secret holding the CA bundle."),
            "clientCertSecretRef": secret_key_selector("Secret holding the mTLS client certificate."),
            "clientKeySecretRef": secret_key_selector("Secret holding the mTLS client key."),
            "auth": {"type": "object", "description": "How to authenticate with Vault (tokenSecretRef, appRole, "
                     "clientCertificate, kubernetes or aws); not implemented here, kept as is.",
                     "x-kubernetes-preserve-unknown-fields": True},
        },
        "HashiCorp Vault issuer (not implemented by this controller; accepted and stored).",
        required=["auth", "path", "server"],
        rules=[rule("!(has(self.caBundle) && size(self.caBundle) > 0 && has(self.caBundleSecretRef))",
                    "specified caBundle and caBundleSecretRef cannot be used together", ".caBundle")],
        **{"x-kubernetes-preserve-unknown-fields": True},
    )


def venafi_issuer() -> Schema:
    passthrough = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return obj(
        {
            "zone": string("Venafi policy zone."),
            "tpp": {**passthrough, "description": "Venafi TPP connection settings."},
            "cloud": {**passthrough, "description": "Venafi Cloud connection settings."},
            "ngts": {**passthrough, "description": "Venafi NGTS connection settings."},
        },
        "Venafi issuer (not implemented by this controller; accepted and stored).",
        required=["zone"],
        rules=[
            rule("has(self.tpp) || has(self.cloud) || has(self.ngts)", "please supply one of: tpp, cloud, ngts",
                 reason="FieldValueRequired"),
            rule(at_most_one(["tpp", "cloud", "ngts"]), "please supply one of: tpp, cloud, ngts",
                 reason="FieldValueForbidden"),
        ],
        **{"x-kubernetes-preserve-unknown-fields": True},
    )


def crl_distribution_points() -> Schema:
    return strings("CRL distribution point URLs put into issued certificates.")


def issuer_spec() -> Schema:
    order = ["acme", "ca", "selfSigned", "vault", "venafi"]
    return obj(
        {
            "acme": acme_issuer(),
            "ca": obj(
                {
                    "secretName": string("Secret with the signing CA's tls.crt and tls.key."),
                    "crlDistributionPoints": crl_distribution_points(),
                    "ocspServers": array(
                        string(rules=[rule("size(self) > 0",
                                           "must be a valid URL, e.g., http://ocsp.int-x3.letsencrypt.org")]),
                        "OCSP server URLs put into issued certificates.", maxItems=100),
                    "issuingCertificateURLs": array(
                        string(rules=[rule("size(self) > 0", "must be a valid URL")]),
                        "Issuing certificate (AIA caIssuers) URLs put into issued certificates.",
                        maxItems=100),
                },
                "CA issuer: signs with a key pair stored in a Secret.",
                required=["secretName"],
                rules=[rule("!has(self.secretName) || size(self.secretName) > 0", "must be specified", ".secretName",
                             "FieldValueRequired")],
            ),
            "selfSigned": obj({"crlDistributionPoints": crl_distribution_points()},
                              "SelfSigned issuer: each certificate is signed by its own key."),
            "vault": vault_issuer(),
            "venafi": venafi_issuer(),
        },
        "Issuer configuration: exactly one of acme, ca, selfSigned, vault or venafi.",
        rules=[
            rule(" || ".join(f"has(self.{t})" for t in order), "at least one issuer must be configured",
                 reason="FieldValueRequired"),
            *later_forbidden(order, "may not specify more than one issuer type"),
        ],
    )


def issuer_status() -> Schema:
    return obj(
        {
            "conditions": conditions("Current state of the issuer (type Ready).", observed_generation=True),
            "acme": obj(
                {
                    "uri": string("URI of the registered ACME account."),
                    "lastRegisteredEmail": string("Email last registered with the ACME server."),
                    "lastPrivateKeyHash": string("Hash of the account key last registered."),
                },
                "ACME account state.",
            ),
        },
        "Observed state of the issuer.",
    )


# ---------------------------------------------------------------------------------------------------
# Certificate


def certificate_spec() -> Schema:
    dur = "self.duration"
    duration_ok = f"has(self.duration) && {valid_duration(dur)}"
    eff_duration = f"({duration_ok} ? {cel_duration(dur)} : duration('2160h'))"
    rb_ok = f"has(self.renewBefore) && {valid_duration('self.renewBefore')}"
    rb = cel_duration("self.renewBefore")
    # webhook: renewBefore := duration * (100 - pct) / 100 (the quirk is kept), in milliseconds here; like
    # the webhook's ValidateDuration it only runs when duration or renewBefore is set
    duration_checked = "(has(self.duration) || has(self.renewBefore))"
    pct_rb = f"({milliseconds(eff_duration)} * (100 - self.renewBeforePercentage) / 100)"
    literal_cn = f"(has(self.literalSubject) && self.literalSubject.matches(r'{LITERAL_CN_RE}'))"
    sans = " || ".join(
        [f"{has_text('commonName')}", literal_cn]
        + [f"(has(self.{f}) && size(self.{f}) > 0)"
           for f in ("dnsNames", "uris", "emailAddresses", "ipAddresses", "otherNames")]
    )
    subject_fields = ["organizations", "countries", "organizationalUnits", "localities", "provinces",
                      "streetAddresses", "postalCodes"]
    subject_set = " || ".join([*(f"(has(self.subject.{f}) && size(self.subject.{f}) > 0)" for f in subject_fields),
                               "(has(self.subject.serialNumber) && size(self.subject.serialNumber) > 0)"])
    key_alg = "(has(self.privateKey) && has(self.privateKey.algorithm) ? self.privateKey.algorithm : 'RSA')"
    sig_rules = []
    for alg, allowed in (("RSA", ["SHA256WithRSA", "SHA384WithRSA", "SHA512WithRSA"]),
                         ("ECDSA", ["ECDSAWithSHA256", "ECDSAWithSHA384", "ECDSAWithSHA512"]),
                         ("Ed25519", ["PureEd25519"])):
        sig_rules.append(rule(
            f"!has(self.signatureAlgorithm) || {key_alg} != '{alg}' || self.signatureAlgorithm in "
            + "[" + ", ".join(f"'{a}'" for a in allowed) + "]",
            f"for key algorithm {alg} the allowed signature algorithms are [{' '.join(allowed)}]",
            ".signatureAlgorithm",
        ))
    name_constraint_items = obj(
        {
            "dnsDomains": strings("DNS domains."),
            "ipRanges": array({"type": "string", "format": "cidr"}, "IP ranges in CIDR notation."),
            "emailAddresses": strings("Email addresses or domains."),
            "uriDomains": strings("URI domains."),
        }
    )

    def keystore(kind: str, label: str, extra: dict[str, Schema]) -> Schema:
        ref_set = f"(has(self.passwordSecretRef) && {has_text('passwordSecretRef.name')})"
        return obj(
            {
                "create": boolean(f"Write a {label} keystore into the Secret."),
                **extra,
                "passwordSecretRef": secret_key_selector(f"Secret entry holding the {label} password."),
                "password": string(f"Literal {label} password (prefer passwordSecretRef).",
                                   rules=[rule("size(self) > 0",
                                               f"literal password cannot be empty if set on {label} keystores",
                                               reason="FieldValueForbidden")]),
            },
            f"{label} keystore output; exactly one of password or passwordSecretRef.",
            required=["create"],
            rules=[
                rule(f"!(has(self.password) && {ref_set})",
                     f"exactly one of passwordSecretRef and password must be provided for {label} keystores; "
                     "cannot set both", reason="FieldValueForbidden"),
                rule(f"has(self.password) || {ref_set}",
                     f"must set exactly one of passwordSecretRef and password must for {label} keystores",
                     reason="FieldValueForbidden"),
            ],
        )

    props: dict[str, Schema] = {
        "secretName": string(
            "Name of the Secret (same namespace) that receives the key pair.", maxLength=253,
            rules=[rule(f"self.matches(r'{DNS1123_SUBDOMAIN_RE}')", DNS1123_SUBDOMAIN_MSG)],
        ),
        "secretTemplate": obj(
            {
                "annotations": string_map(
                    "Annotations copied onto the Secret.",
                    rules=[rule("self.all(k, !k.startsWith('cert-manager.io/') || "
                                "k == 'cert-manager.io/allow-direct-injection')",
                                "cert-manager.io/* annotations are not allowed")],
                ),
                "labels": string_map("Labels copied onto the Secret."),
            },
            "Labels and annotations copied onto the Secret.",
        ),
        "commonName": string("Subject common name; at most 64 characters.", maxLength=64),
        "literalSubject": string("Full subject as an RFC 4514 string, order preserved; excludes commonName "
                                 "and subject.", maxLength=4096),
        "subject": obj(
            {
                **{f: strings(f"Subject {f}.") for f in subject_fields},
                "serialNumber": string("Subject serial number."),
            },
            "X.509 subject attributes.",
        ),
        "dnsNames": strings("DNS subject alternative names."),
        "ipAddresses": array(
            # 45: the longest text IP_RE matches ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"); 64 put
            # the regex over 1000 items above kube's CEL cost budget
            string(maxLength=45, rules=[rule(f"self.matches(r'{IP_RE}')", "invalid IP address")]),
            "IP address subject alternative names.", maxItems=1000,
        ),
        "uris": strings("URI subject alternative names."),
        "emailAddresses": strings("Email subject alternative names (bare addresses)."),
        "otherNames": array(
            obj(
                {"oid": string("Dotted OID of the otherName type, e.g. 1.3.6.1.4.1.311.20.2.3.", maxLength=256),
                 "utf8Value": string("UTF8String value.")},
                rules=[
                    rule(has_text("oid"), "must be specified", ".oid", "FieldValueRequired"),
                    rule(f"!{has_text('oid')} || self.oid.matches(r'{OID_RE}')", "invalid oid syntax", ".oid"),
                    rule(has_text("utf8Value"), "must be set to a valid non-empty UTF8 string", ".utf8Value",
                         "FieldValueRequired"),
                ],
            ),
            "otherName subject alternative names with UTF8String values.", maxItems=1000,
        ),
        "duration": duration_string("Requested lifetime (Go duration); 2160h by default, at least 1h."),
        "renewBefore": duration_string("Renew this long before expiry; at least 5m and less than duration."),
        "renewBeforePercentage": integer("Renew when this percentage of the lifetime remains; excludes "
                                         "renewBefore."),
        "renewal": obj(
            {
                "policy": string("RenewBefore (default behaviour) or Disabled (never renew automatically).",
                                 enum=["RenewBefore", "Disabled"]),
                "windows": array(
                    obj(
                        {
                            "timezone": string("IANA time zone of the cron expression; UTC by default."),
                            "windowDuration": string("Length of each window.", maxLength=64,
                                                     pattern=r"^([0-9]+(\.[0-9]+)?(s|m|h))+$"),
                            "cron": string(
                                "Five-field cron expression for window starts.", maxLength=256,
                                rules=[rule(f"self.matches(r'{CRON_RE}')",
                                            "invalid cron syntax: expected exactly 5 fields. cron needs to follow: "
                                            "cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow")],
                            ),
                        },
                        required=["cron", "windowDuration"],
                    ),
                    "Cron windows renewals are aligned to.",
                    maxItems=100,
                ),
            },
            "Renewal policy and windows.",
            required=["policy"],
            rules=[rule("!(has(self.policy) && self.policy == 'Disabled' && "
                        "has(self.windows) && size(self.windows) > 0)",
                        "windows cannot be set when `renewal.policy` is set to Disabled", ".windows",
                        "FieldValueForbidden")],
        ),
        "issuerRef": issuer_ref(validated=True),
        "isCA": boolean("Issue a CA certificate (adds the cert sign usage)."),
        "usages": array({"type": "string", "enum": USAGES}, "Key usages; digital signature and key "
                        "encipherment when empty."),
        "privateKey": obj(
            {
                "rotationPolicy": string("Always (default) regenerates the key on each issuance; Never reuses it.",
                                         enum=["Never", "Always"]),
                "encoding": string("PKCS1 (default) or PKCS8.", enum=["PKCS1", "PKCS8"]),
                "algorithm": string("RSA (default), ECDSA or Ed25519.", enum=["RSA", "ECDSA", "Ed25519"]),
                "size": integer("Key size: RSA 2048-8192 (2048), ECDSA 256, 384 or 521 (256); ignored for "
                                "Ed25519."),
            },
            "Private key options.",
            rules=[
                rule("!has(self.size) || self.size <= 0 || (has(self.algorithm) && self.algorithm != 'RSA') || "
                     "(self.size >= 2048 && self.size <= 8192)",
                     "must be between 2048 and 8192 for rsa keyAlgorithm", ".size"),
                rule("!has(self.size) || self.size <= 0 || !has(self.algorithm) || self.algorithm != 'ECDSA' || "
                     "self.size in [256, 384, 521]",
                     'supported values: "256", "384", "521"', ".size"),
            ],
        ),
        "signatureAlgorithm": string("Signature algorithm the issuer should use; must fit the key algorithm.",
                                     enum=["SHA256WithRSA", "SHA384WithRSA", "SHA512WithRSA", "ECDSAWithSHA256",
                                           "ECDSAWithSHA384", "ECDSAWithSHA512", "PureEd25519"]),
        "encodeUsagesInRequest": boolean("Put KeyUsage/ExtKeyUsage in the CSR (default true)."),
        "keystores": obj(
            {
                "jks": keystore("jks", "JKS", {"alias": string("Alias of the key entry; certificate by default.")}),
                "pkcs12": keystore("pkcs12", "PKCS#12", {"profile": string(
                    "PKCS#12 encryption profile; LegacyRC2 by default.",
                    enum=["LegacyRC2", "LegacyDES", "Modern2023", "Modern2026"])}),
            },
            "Extra keystore formats written into the Secret.",
        ),
        "revisionHistoryLimit": integer("How many CertificateRequest revisions to keep (1 if unset).",
                                        rules=[rule("self >= 1", "must not be less than 1")]),
        "additionalOutputFormats": array(
            obj({"type": string("Output format.", enum=["DER", "CombinedPEM"])}, required=["type"]),
            "Extra output formats written into the Secret, unique by type.",
            maxItems=8,
            rules=[rule("self.filter(f, has(f.type) && f.type == 'DER').size() <= 1 && "
                        "self.filter(f, has(f.type) && f.type == 'CombinedPEM').size() <= 1",
                        "additionalOutputFormats must be unique by type", reason="FieldValueDuplicate")],
        ),
        "nameConstraints": obj(
            {
                "critical": boolean("Mark the extension critical."),
                "permitted": {**name_constraint_items, "description": "Permitted subtrees."},
                "excluded": {**name_constraint_items, "description": "Excluded subtrees."},
            },
            "X.509 name constraints for a CA certificate.",
            rules=[rule("has(self.permitted) || has(self.excluded)", "either permitted or excluded must be set")],
        ),
    }
    # the webhook prints both durations Go-style; the messageExpression does too for whole seconds
    d_ms, rb_ms = milliseconds(eff_duration), milliseconds(rb)
    renew_before_below_duration = rule(
        f"!({rb_ok}) || {rb} < {eff_duration}", "certificate duration must be greater than renewBefore",
        ".renewBefore")
    # (every piece has a known length, so kube can bound the message's cost; see decimal())
    renew_before_below_duration["messageExpression"] = bind("d", d_ms, bind("r", rb_ms, (
        "(d >= 0 && r >= 0 && d % 1000 == 0 && r % 1000 == 0) ? "
        f"'certificate duration ' + {go_duration_string('(d / 1000)')} + ' must be greater than renewBefore ' + "
        f"{go_duration_string('(r / 1000)')} : 'certificate duration must be greater than renewBefore'"
    )))
    spec_rules = [
        rule(sans, "at least one of commonName (from the commonName field or from a literalSubject), dnsNames, "
             "emailSANs, ipAddresses, otherNames, or uriSANs must be set"),
        rule(f"!has(self.literalSubject) || size(self.literalSubject) == 0 || !{has_text('commonName')}",
             "When providing a `LiteralSubject` no `commonName` may be provided.", ".commonName"),
        rule(f"!has(self.literalSubject) || size(self.literalSubject) == 0 || !has(self.subject) || !({subject_set})",
             "When providing a `LiteralSubject` no `Subject` properties may be provided.", ".subject"),
        rule(f"!({duration_ok}) || {cel_duration(dur)} >= duration('1h')",
             "certificate duration must be greater than 1h0m0s", ".duration"),
        rule("!(has(self.renewBefore) && has(self.renewBeforePercentage))",
             "renewBefore and renewBeforePercentage are mutually exclusive and cannot both be set", ".renewBefore"),
        rule("!(has(self.renewBefore) && has(self.renewBeforePercentage))",
             "renewBefore and renewBeforePercentage are mutually exclusive and cannot both be set",
             ".renewBeforePercentage"),
        rule(f"!({rb_ok}) || {rb} >= duration('5m')", "certificate renewBefore must be greater than 5m0s",
             ".renewBefore"),
        renew_before_below_duration,
        rule(f"!has(self.renewBeforePercentage) || !{duration_checked} || {pct_rb} >= 300000",
             "certificate renewBeforePercentage must result in a renewBefore greater than 5m0s",
             ".renewBeforePercentage"),
        rule(f"!has(self.renewBeforePercentage) || !{duration_checked} || {pct_rb} < {milliseconds(eff_duration)}",
             "certificate renewBeforePercentage must result in a renewBefore less than duration",
             ".renewBeforePercentage"),
        *sig_rules,
        rule("!has(self.nameConstraints) || (has(self.isCA) && self.isCA)",
             "isCa should be true when nameConstraints is set", ".nameConstraints"),
    ]
    return obj(props, "Desired state of the Certificate.", required=["issuerRef", "secretName"], rules=spec_rules)


def certificate_status() -> Schema:
    return obj(
        {
            "conditions": conditions("Current state (types Ready and Issuing).", observed_generation=True),
            "lastFailureTime": date_time("When the last issuance failed; cleared on success."),
            "failedIssuanceAttempts": integer("Consecutive failed issuances; cleared on success."),
            "notBefore": date_time("notBefore of the certificate in the Secret."),
            "notAfter": date_time("notAfter of the certificate in the Secret."),
            "renewalTime": date_time("When the certificate will next be renewed."),
            "revision": integer("Revision of the CertificateRequest that produced the current Secret."),
            "nextPrivateKeySecretName": string("Secret holding the next private key while Issuing."),
            "acme": obj(
                {"ari": obj(
                    {
                        "suggestedWindow": obj({"start": date_time("Window start."), "end": date_time("Window end.")},
                                               "Renewal window suggested by the ACME server."),
                        "explanationURL": string("Server's explanation of the window."),
                        "lastChecked": date_time("When renewal information was last fetched."),
                        "nextCheck": date_time("When renewal information will next be fetched."),
                        "lastError": string("Last error fetching renewal information."),
                    },
                    "ACME Renewal Information (RFC 9773).",
                )},
                "ACME-specific status.",
            ),
        },
        "Observed state of the Certificate.",
    )


# ---------------------------------------------------------------------------------------------------
# CertificateRequest, Order, Challenge


def certificate_request_spec() -> Schema:
    return obj(
        {
            "request": byte_string("PEM-encoded PKCS#10 certificate signing request (base64 in JSON)."),
            "duration": duration_string("Requested lifetime (Go duration)."),
            "issuerRef": issuer_ref(validated=True),
            "isCA": boolean("Request a CA certificate."),
            "usages": array({"type": "string", "enum": USAGES}, "Requested key usages."),
            "username": string("Requesting user, set on creation."),
            "uid": string("UID of the requesting user, set on creation."),
            "groups": strings("Groups of the requesting user, set on creation.",
                              **{"x-kubernetes-list-type": "atomic"}),
            "extra": {"type": "object", "description": "Extra attributes of the requesting user, set on creation.",
                      "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        },
        "Desired state of the CertificateRequest; immutable after creation.",
        required=["issuerRef", "request"],
        rules=[
            rule("!has(self.request) || size(self.request) > 0", "must be specified", ".request", "FieldValueRequired"),
            rule("self == oldSelf", "cannot change spec after creation", reason="FieldValueForbidden"),
        ],
    )


def certificate_request_status() -> Schema:
    def only_true(t: str) -> dict[str, str]:
        return rule(f"!self.exists(c, has(c.type) && c.type == '{t}' && has(c.status) && c.status != 'True')",
                    f'"{t}" condition may only be set to True')

    def frozen(t: str) -> dict[str, str]:
        return rule(
            f"!has(oldSelf.conditions) || !oldSelf.conditions.exists(c, has(c.type) && c.type == '{t}') || "
            f"(has(self.conditions) && self.conditions.filter(c, has(c.type) && c.type == '{t}') == "
            f"oldSelf.conditions.filter(c, has(c.type) && c.type == '{t}'))",
            f"'{t}' condition may not be modified once set", ".conditions", "FieldValueForbidden",
        )

    return obj(
        {
            "conditions": conditions(
                "Current state (types Approved, Denied, Ready, InvalidRequest).",
                observed_generation=False,
                maxItems=64,
                rules=[
                    only_true("Approved"),
                    only_true("Denied"),
                    rule("!(self.exists(c, has(c.type) && c.type == 'Approved') && "
                         "self.exists(c, has(c.type) && c.type == 'Denied'))",
                         "both 'Denied' and 'Approved' conditions cannot coexist", reason="FieldValueForbidden"),
                ],
            ),
            "certificate": byte_string("PEM certificate chain, leaf first."),
            "ca": byte_string("PEM CA certificate, best effort."),
            "failureTime": date_time("When the request failed."),
        },
        "Observed state of the CertificateRequest.",
        rules=[frozen("Approved"), frozen("Denied")],
    )


def immutable_once_set(field: str, *, text: bool = True) -> dict[str, str]:
    """Transition rule: once oldSelf.field is non-empty it may not change."""
    return rule(
        f"!has(oldSelf.{field}) || size(oldSelf.{field}) == 0 || "
        f"(has(self.{field}) && self.{field} == oldSelf.{field})",
        "field is immutable once set", f".{field}", "FieldValueForbidden",
    )


def order_spec() -> Schema:
    return obj(
        {
            "request": byte_string("PEM (or DER) CSR to finalize the order with."),
            "issuerRef": issuer_ref(validated=False),
            "commonName": string("Common name from the CSR."),
            "dnsNames": strings("DNS identifiers to order."),
            "ipAddresses": strings("IP identifiers to order."),
            "duration": duration_string("Requested lifetime, sent only with enableDurationFeature."),
            "profile": string("ACME profile to request."),
            "replaces": string("ARI CertID (base64url(AKI).base64url(serial)) of the certificate this replaces."),
        },
        "Desired state of the Order.",
        required=["issuerRef", "request"],
        rules=[immutable_once_set("request")],
    )


MAX_AUTHORIZATIONS = 100  # Let's Encrypt allows 100 identifiers per order
MAX_CHALLENGES = 16


def index_list(n: int) -> str:
    return "[" + ", ".join(str(i) for i in range(n)) + "]"


def order_status() -> Schema:
    challenge = obj(
        {
            "url": string("URL of the challenge.", maxLength=2048),
            "token": string("Challenge token.", maxLength=512),
            "type": string("Challenge type, e.g. http-01 or dns-01.", maxLength=64),
        },
        required=["token", "type", "url"],
    )
    authorization = obj(
        {
            "url": string("URL of the authorization.", maxLength=2048),
            "identifier": string("Identifier the authorization is for.", maxLength=512),
            "wildcard": boolean("Whether the identifier is a wildcard (without the *. prefix)."),
            "initialState": string("State when first fetched.", enum=ACME_STATES, maxLength=16),
            "challenges": array(challenge, "Challenges the server offered.", maxItems=MAX_CHALLENGES),
        },
        required=["url"],
    )
    # cert-manager compares old and new authorizations (and their challenges) index by index; CEL has no
    # zip, so the indexes are spelled out as a literal list (maxItems keeps it finite and the cost bounded).
    def once_set(old: str, new: str, field: str, *, text: bool = True) -> str:
        empty = f" || size({old}.{field}) == 0" if text else ""
        return f"(!has({old}.{field}){empty} || (has({new}.{field}) && {new}.{field} == {old}.{field}))"

    o, n = "oldSelf.authorizations[i]", "self.authorizations[i]"
    oc, nc = f"{o}.challenges[j]", f"{n}.challenges[j]"
    challenges_ok = (
        f"(!has({o}.challenges) || size({o}.challenges) == 0 || (has({n}.challenges) && "
        f"size({n}.challenges) == size({o}.challenges) && {index_list(MAX_CHALLENGES)}.all(j, "
        f"j >= size({o}.challenges) || ({once_set(oc, nc, 'url')} && {once_set(oc, nc, 'type')} && "
        f"{once_set(oc, nc, 'token')}))))"
    )
    authz_ok = " && ".join([
        once_set(o, n, "url"), once_set(o, n, "identifier"), once_set(o, n, "wildcard", text=False),
        once_set(o, n, "initialState"), challenges_ok,
    ])
    return obj(
        {
            "url": string("URL of the order on the ACME server."),
            "finalizeURL": string("URL to finalize the order."),
            "authorizations": array(authorization, "Authorizations of the order.", maxItems=MAX_AUTHORIZATIONS),
            "certificate": byte_string("PEM certificate chain issued for the order."),
            "state": string("Order state.", enum=ACME_STATES),
            "reason": string("Why the order is in its state."),
            "failureTime": date_time("When the order failed."),
        },
        "Observed state of the Order.",
        rules=[
            immutable_once_set("url"),
            immutable_once_set("finalizeURL"),
            immutable_once_set("certificate"),
            rule("!has(oldSelf.authorizations) || size(oldSelf.authorizations) == 0 || "
                 "(has(self.authorizations) && size(self.authorizations) == size(oldSelf.authorizations))",
                 "field is immutable once set", ".authorizations", "FieldValueForbidden"),
            rule(f"!has(oldSelf.authorizations) || !has(self.authorizations) || "
                 f"size(self.authorizations) != size(oldSelf.authorizations) || "
                 f"{index_list(MAX_AUTHORIZATIONS)}.all(i, i >= size(oldSelf.authorizations) || ({authz_ok}))",
                 "field is immutable once set", ".authorizations", "FieldValueForbidden"),
        ],
    )


def challenge_spec() -> Schema:
    return obj(
        {
            "url": string("URL of the challenge on the ACME server."),
            "authorizationURL": string("URL of the authorization the challenge belongs to."),
            "dnsName": string("Identifier being validated, without any *. prefix."),
            "wildcard": boolean("Whether the authorization is for a wildcard."),
            "type": string("Challenge type.", enum=["HTTP-01", "DNS-01"]),
            "token": string("Challenge token."),
            "key": string("Key authorization (HTTP-01) or its base64url SHA-256 digest (DNS-01)."),
            "solver": acme_solver("The solver chosen for this challenge (after override annotations)."),
            "issuerRef": issuer_ref(validated=False),
        },
        "Desired state of the Challenge; immutable after creation.",
        required=["authorizationURL", "dnsName", "issuerRef", "key", "solver", "token", "type", "url"],
        rules=[rule("self == oldSelf", "challenge spec is immutable after creation", reason="FieldValueForbidden")],
    )


def challenge_status() -> Schema:
    return obj(
        {
            "processing": boolean("Whether the controller is working on the challenge."),
            "presented": boolean("Whether the record or HTTP resource is presented."),
            "presentedAt": date_time("When the challenge was presented."),
            "reason": string("Why the challenge is in its state."),
            "state": string("Challenge state.", enum=ACME_STATES),
        },
        "Observed state of the Challenge.",
    )


# ---------------------------------------------------------------------------------------------------
# CRDs


def column(name: str, path: str, *, typ: str = "string", priority: int = 0, desc: str | None = None) -> Schema:
    col: Schema = {"name": name, "type": typ, "jsonPath": path}
    if priority:
        col["priority"] = priority
    if desc:
        col["description"] = desc
    return col


def cond(t: str, field: str = "status") -> str:
    return f'.status.conditions[?(@.type=="{t}")].{field}'


AGE = column("Age", ".metadata.creationTimestamp", typ="date",
             desc="CreationTimestamp is a timestamp representing the server time when this object was created.")
ISSUER_SELECTABLE = [{"jsonPath": f".spec.issuerRef.{f}"} for f in ("group", "kind", "name")]


def crd(*, group: str, kind: str, plural: str, singular: str, short: list[str], categories: list[str],
        scope: str, desc: str, spec: Schema, status: Schema, columns: list[Schema],
        selectable: bool) -> Schema:
    root = obj(
        {
            "apiVersion": string("Versioned schema of this representation of an object."),
            "kind": string("REST resource this object represents."),
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status,
        },
        desc,
        required=["spec"],
    )
    version: Schema = {
        "name": "v1",
        "served": True,
        "storage": True,
        "subresources": {"status": {}},
        "additionalPrinterColumns": columns,
        "schema": {"openAPIV3Schema": root},
    }
    if selectable:
        version["selectableFields"] = ISSUER_SELECTABLE
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}", "labels": dict(LABELS)},
        "spec": {
            "group": group,
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": singular,
                      "shortNames": short, "categories": categories},
            "scope": scope,
            "versions": [version],
        },
    }


def all_crds() -> dict[str, Schema]:
    """File name -> CRD object, for every CRD in this folder."""
    cm, acme = "cert-manager.io", "acme.cert-manager.io"
    issuer_columns = [
        column("Ready", cond("Ready")),
        column("Status", cond("Ready", "message"), priority=1),
        AGE,
    ]
    crds = [
        crd(group=cm, kind="Certificate", plural="certificates", singular="certificate", short=["cert", "certs"],
            categories=["cert-manager"], scope="Namespaced",
            desc="A Certificate asks for a signed X.509 certificate and key, kept up to date in a Secret.",
            spec=certificate_spec(), status=certificate_status(), selectable=True,
            columns=[
                column("Ready", cond("Ready")),
                column("Secret", ".spec.secretName"),
                column("Issuer", ".spec.issuerRef.name", priority=1),
                column("Status", cond("Ready", "message"), priority=1),
                column("Expiration", ".status.notAfter", priority=1),
                AGE,
            ]),
        crd(group=cm, kind="CertificateRequest", plural="certificaterequests", singular="certificaterequest",
            short=["cr", "crs"], categories=["cert-manager"], scope="Namespaced",
            desc="A CertificateRequest asks an issuer to sign one CSR.",
            spec=certificate_request_spec(), status=certificate_request_status(), selectable=True,
            columns=[
                column("Approved", cond("Approved")),
                column("Denied", cond("Denied")),
                column("Ready", cond("Ready")),
                column("Issuer", ".spec.issuerRef.name"),
                column("Requester", ".spec.username"),
                column("Status", cond("Ready", "message"), priority=1),
                AGE,
            ]),
        crd(group=cm, kind="Issuer", plural="issuers", singular="issuer", short=["iss"],
            categories=["cert-manager"], scope="Namespaced",
            desc="An Issuer signs CertificateRequests in its own namespace.",
            spec=issuer_spec(), status=issuer_status(), columns=issuer_columns, selectable=False),
        crd(group=cm, kind="ClusterIssuer", plural="clusterissuers", singular="clusterissuer", short=["ciss"],
            categories=["cert-manager"], scope="Cluster",
            desc="A ClusterIssuer signs CertificateRequests in any namespace.",
            spec=issuer_spec(), status=issuer_status(), columns=issuer_columns, selectable=False),
        crd(group=acme, kind="Order", plural="orders", singular="order", short=[],
            categories=["cert-manager", "cert-manager-acme"], scope="Namespaced",
            desc="An Order is one ACME order for the identifiers of a CertificateRequest.",
            spec=order_spec(), status=order_status(), selectable=True,
            columns=[
                column("State", ".status.state"),
                column("Issuer", ".spec.issuerRef.name", priority=1),
                column("Reason", ".status.reason", priority=1),
                AGE,
            ]),
        crd(group=acme, kind="Challenge", plural="challenges", singular="challenge", short=[],
            categories=["cert-manager", "cert-manager-acme"], scope="Namespaced",
            desc="A Challenge is one ACME challenge being solved for an Order.",
            spec=challenge_spec(), status=challenge_status(), selectable=True,
            columns=[
                column("State", ".status.state"),
                column("Domain", ".spec.dnsName"),
                column("Reason", ".status.reason", priority=1),
                AGE,
            ]),
    ]
    out = {}
    for c in crds:
        if not c["spec"]["names"]["shortNames"]:
            del c["spec"]["names"]["shortNames"]
        out[f"{c['metadata']['name']}.yaml"] = c
    return out


HEADER = "# Generated by crds/generate.py from the cert-manager inventory; edit the generator, not this file.\n"


def render(obj_: Schema) -> str:
    return HEADER + yaml.safe_dump(obj_, sort_keys=False, width=1_000_000, allow_unicode=True)


def kustomization(files: list[str]) -> str:
    return render({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": files,
    })


def rendered() -> dict[str, str]:
    """File name -> text of every generated file (CRDs and kustomization.yaml)."""
    files = {name: render(c) for name, c in all_crds().items()}
    files["kustomization.yaml"] = kustomization(list(all_crds()))
    return files


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, text in rendered().items():
        path = HERE / name
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
