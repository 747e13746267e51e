"""API constants spelled exactly as cert-manager spells them: groups, kinds, annotations, labels,
condition types, reasons and defaults.

Everything that talks to users or to other cert-manager tooling (Argo CD health checks, cmctl, dashboards)
reads these strings, so they are kept in one place and never retyped elsewhere.
"""

from __future__ import annotations

import datetime as _dt

# Groups, versions, kinds
GROUP = "cert-manager.io"
ACME_GROUP = "acme.cert-manager.io"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"
ACME_API_VERSION = f"{ACME_GROUP}/{VERSION}"

CERTIFICATE = "Certificate"
CERTIFICATE_REQUEST = "CertificateRequest"
ISSUER = "Issuer"
CLUSTER_ISSUER = "ClusterIssuer"
ORDER = "Order"
CHALLENGE = "Challenge"

PLURALS = {
    CERTIFICATE: "certificates",
    CERTIFICATE_REQUEST: "certificaterequests",
    ISSUER: "issuers",
    CLUSTER_ISSUER: "clusterissuers",
    ORDER: "orders",
    CHALLENGE: "challenges",
}

# Annotations on Secrets, CertificateRequests and Certificates (pkg/apis/certmanager/v1/types.go)
ANN_CERTIFICATE_NAME = "cert-manager.io/certificate-name"
ANN_ISSUER_NAME = "cert-manager.io/issuer-name"
ANN_ISSUER_KIND = "cert-manager.io/issuer-kind"
ANN_ISSUER_GROUP = "cert-manager.io/issuer-group"
ANN_COMMON_NAME = "cert-manager.io/common-name"
ANN_ALT_NAMES = "cert-manager.io/alt-names"
ANN_IP_SANS = "cert-manager.io/ip-sans"
ANN_URI_SANS = "cert-manager.io/uri-sans"
ANN_EMAIL_SANS = "cert-manager.io/email-sans"
ANN_SUBJECT_ORGANIZATIONS = "cert-manager.io/subject-organizations"
ANN_SUBJECT_ORGANIZATIONAL_UNITS = "cert-manager.io/subject-organizationalunits"
ANN_SUBJECT_COUNTRIES = "cert-manager.io/subject-countries"
ANN_SUBJECT_PROVINCES = "cert-manager.io/subject-provinces"
ANN_SUBJECT_LOCALITIES = "cert-manager.io/subject-localities"
ANN_SUBJECT_POSTAL_CODES = "cert-manager.io/subject-postalcodes"
ANN_SUBJECT_STREET_ADDRESSES = "cert-manager.io/subject-streetaddresses"
ANN_SUBJECT_SERIAL_NUMBER = "cert-manager.io/subject-serialnumber"
ANN_CERTIFICATE_REVISION = "cert-manager.io/certificate-revision"
ANN_PRIVATE_KEY_SECRET_NAME = "cert-manager.io/private-key-secret-name"
ANN_ISSUE_TEMPORARY_CERTIFICATE = "cert-manager.io/issue-temporary-certificate"
ANN_ALLOW_DIRECT_INJECTION = "cert-manager.io/allow-direct-injection"

# ingress-shim annotations
ANN_INGRESS_ISSUER = "cert-manager.io/issuer"
ANN_INGRESS_CLUSTER_ISSUER = "cert-manager.io/cluster-issuer"
ANN_INGRESS_ISSUER_KIND = "cert-manager.io/issuer-kind"
ANN_INGRESS_ISSUER_GROUP = "cert-manager.io/issuer-group"
ANN_TLS_ACME = "kubernetes.io/tls-acme"
ANN_DURATION = "cert-manager.io/duration"
ANN_RENEW_BEFORE = "cert-manager.io/renew-before"
ANN_RENEW_BEFORE_PERCENTAGE = "cert-manager.io/renew-before-percentage"
ANN_USAGES = "cert-manager.io/usages"
ANN_REVISION_HISTORY_LIMIT = "cert-manager.io/revision-history-limit"
ANN_PRIVATE_KEY_ALGORITHM = "cert-manager.io/private-key-algorithm"
ANN_PRIVATE_KEY_ENCODING = "cert-manager.io/private-key-encoding"
ANN_PRIVATE_KEY_SIZE = "cert-manager.io/private-key-size"
ANN_PRIVATE_KEY_ROTATION_POLICY = "cert-manager.io/private-key-rotation-policy"
ANN_SECRET_TEMPLATE = "cert-manager.io/secret-template"

# ACME annotations
ANN_HTTP01_EDIT_IN_PLACE = "acme.cert-manager.io/http01-edit-in-place"
ANN_HTTP01_INGRESS_CLASS = "acme.cert-manager.io/http01-ingress-class"
ANN_HTTP01_INGRESS_INGRESSCLASSNAME = "acme.cert-manager.io/http01-ingress-ingressclassname"
ANN_HTTP01_OVERRIDE_INGRESS_NAME = "acme.cert-manager.io/http01-override-ingress-name"
ANN_HTTP01_OVERRIDE_INGRESS_CLASS = "acme.cert-manager.io/http01-override-ingress-class"
ANN_HTTP01_OVERRIDE_INGRESS_INGRESSCLASSNAME = "acme.cert-manager.io/http01-override-ingress-ingressclassname"

# Labels
LABEL_FAO = "controller.cert-manager.io/fao"
LABEL_NEXT_PRIVATE_KEY = "cert-manager.io/next-private-key"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_HTTP01_SOLVER = "acme.cert-manager.io/http01-solver"
LABEL_HTTP_DOMAIN = "acme.cert-manager.io/http-domain"
LABEL_HTTP_TOKEN = "acme.cert-manager.io/http-token"

# Finalizers
ACME_FINALIZER = "acme.cert-manager.io/finalizer"
ACME_LEGACY_FINALIZER = "finalizer.acme.cert-manager.io"

# Secret data keys
TLS_CERT_KEY = "tls.crt"
TLS_PRIVATE_KEY_KEY = "tls.key"
CA_CERT_KEY = "ca.crt"
PKCS12_KEYSTORE_KEY = "keystore.p12"
PKCS12_TRUSTSTORE_KEY = "truststore.p12"
JKS_KEYSTORE_KEY = "keystore.jks"
JKS_TRUSTSTORE_KEY = "truststore.jks"
DER_KEY_KEY = "key.der"
COMBINED_PEM_KEY = "tls-combined.pem"
SECRET_TYPE_TLS = "kubernetes.io/tls"

# Condition types and statuses
COND_READY = "Ready"
COND_ISSUING = "Issuing"
COND_APPROVED = "Approved"
COND_DENIED = "Denied"
COND_INVALID_REQUEST = "InvalidRequest"
TRUE = "True"
FALSE = "False"
UNKNOWN = "Unknown"

# CertificateRequest Ready reasons
CR_REASON_PENDING = "Pending"
CR_REASON_FAILED = "Failed"
CR_REASON_ISSUED = "Issued"
CR_REASON_DENIED = "Denied"

# Policy (trigger/readiness) reasons, internal/controller/certificates/policies/constants.go
REASON_DOES_NOT_EXIST = "DoesNotExist"
REASON_MISSING_DATA = "MissingData"
REASON_INVALID_KEY_PAIR = "InvalidKeyPair"
REASON_INVALID_CERTIFICATE = "InvalidCertificate"
REASON_INVALID_CERTIFICATE_REQUEST = "InvalidCertificateRequest"
REASON_INCORRECT_ISSUER = "IncorrectIssuer"
REASON_INCORRECT_CERTIFICATE = "IncorrectCertificate"
REASON_SECRET_MISMATCH = "SecretMismatch"
REASON_REQUEST_CHANGED = "RequestChanged"
REASON_RENEWING = "Renewing"
REASON_EXPIRED = "Expired"
REASON_READY = "Ready"
REASON_DISABLED = "Disabled"
REASON_WINDOW_ERROR = "WindowError"
REASON_MANUALLY_TRIGGERED = "ManuallyTriggered"
REASON_SECRET_MANAGED_METADATA_MISMATCH = "SecretManagedMetadataMismatch"
REASON_SECRET_TEMPLATE_MISMATCH = "SecretTemplateMismatch"
REASON_ADDITIONAL_OUTPUT_FORMATS_MISMATCH = "AdditionalOutputFormatsMismatch"
REASON_MANAGED_FIELDS_PARSE_ERROR = "ManagedFieldsParseError"
REASON_SECRET_OWNER_REF_MISMATCH = "SecretOwnerRefMismatch"

# Issuer reasons
REASON_IS_READY = "IsReady"
REASON_KEY_PAIR_VERIFIED = "KeyPairVerified"
REASON_ERR_GET_KEY_PAIR = "ErrGetKeyPair"
REASON_ERR_INVALID_KEY_PAIR = "ErrInvalidKeyPair"
REASON_ERR_INIT_ISSUER = "ErrInitIssuer"
REASON_ACME_ACCOUNT_REGISTERED = "ACMEAccountRegistered"
REASON_ERR_REGISTER_ACME_ACCOUNT = "ErrRegisterACMEAccount"
REASON_ERR_VERIFY_ACME_ACCOUNT = "ErrVerifyACMEAccount"
REASON_ERR_UPDATE_ACME_ACCOUNT = "ErrUpdateACMEAccount"
REASON_INVALID_CONFIG = "InvalidConfig"
REASON_INVALID_URL = "InvalidURL"
REASON_INVALID_SOLVER = "InvalidSolver"

# Approval
APPROVER_REASON = "cert-manager.io"
APPROVED_MESSAGE = "Certificate request has been approved by cert-manager.io"
CMCTL_REASON = "KubectlCertManager"

# Defaults
DEFAULT_DURATION = _dt.timedelta(days=90)
MINIMUM_DURATION = _dt.timedelta(hours=1)
MINIMUM_RENEW_BEFORE = _dt.timedelta(minutes=5)
DEFAULT_BACKOFF_MIN = _dt.timedelta(hours=1)
DEFAULT_BACKOFF_MAX = _dt.timedelta(hours=32)
DEFAULT_REVISION_HISTORY_LIMIT = 1
DEFAULT_JKS_ALIAS = "certificate"
DEFAULT_CLUSTER_RESOURCE_NAMESPACE = "kube-system"
MAX_COMMON_NAME_LENGTH = 64

# Key parameters
RSA = "RSA"
ECDSA = "ECDSA"
ED25519 = "Ed25519"
KEY_ALGORITHMS = (RSA, ECDSA, ED25519)
PKCS1 = "PKCS1"
PKCS8 = "PKCS8"
KEY_ENCODINGS = (PKCS1, PKCS8)
ROTATION_NEVER = "Never"
ROTATION_ALWAYS = "Always"
ROTATION_POLICIES = (ROTATION_NEVER, ROTATION_ALWAYS)
RSA_MIN_SIZE = 2048
RSA_MAX_SIZE = 8192
RSA_DEFAULT_SIZE = 2048
ECDSA_SIZES = (256, 384, 521)
ECDSA_DEFAULT_SIZE = 256

SIGNATURE_ALGORITHMS = (
    "SHA256WithRSA",
    "SHA384WithRSA",
    "SHA512WithRSA",
    "ECDSAWithSHA256",
    "ECDSAWithSHA384",
    "ECDSAWithSHA512",
    "PureEd25519",
)

PKCS12_PROFILES = ("LegacyRC2", "LegacyDES", "Modern2023", "Modern2026")
OUTPUT_FORMAT_DER = "DER"
OUTPUT_FORMAT_COMBINED_PEM = "CombinedPEM"
OUTPUT_FORMATS = (OUTPUT_FORMAT_DER, OUTPUT_FORMAT_COMBINED_PEM)

# Certificate renewal policies (spec.renewal.policy)
RENEWAL_POLICY_RENEW_BEFORE = "RenewBefore"
RENEWAL_POLICY_DISABLED = "Disabled"

# Key usages (pkg/apis/certmanager/v1/types.go), in cert-manager's order
USAGES = (
    "signing",
    "digital signature",
    "content commitment",
    "key encipherment",
    "key agreement",
    "data encipherment",
    "cert sign",
    "crl sign",
    "encipher only",
    "decipher only",
    "any",
    "server auth",
    "client auth",
    "code signing",
    "email protection",
    "s/mime",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "timestamping",
    "ocsp signing",
    "microsoft sgc",
    "netscape sgc",
)
DEFAULT_USAGES = ("digital signature", "key encipherment")

ISSUER_TYPES = ("acme", "ca", "vault", "selfSigned", "venafi")

# ACME order/challenge states
STATE_VALID = "valid"
STATE_READY = "ready"
STATE_PENDING = "pending"
STATE_PROCESSING = "processing"
STATE_INVALID = "invalid"
STATE_EXPIRED = "expired"
STATE_ERRORED = "errored"
FINAL_STATES = (STATE_VALID, STATE_INVALID, STATE_EXPIRED, STATE_ERRORED)
FAILURE_STATES = (STATE_INVALID, STATE_EXPIRED, STATE_ERRORED)
