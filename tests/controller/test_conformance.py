"""cert-manager's conformance certificate suite (test/e2e/suite/conformance/certificates/tests.go, cases 1-22,
30 and 31 of cert-manager-inventory.md §10) for SelfSigned and CA, each as Issuer and ClusterIssuer, with the
default validators (tests/controller/expect.py).

To keep the tier fast, every suite's Issuer and all its Certificates for cases 1-22 are created at once by a
module fixture (the operator issues them concurrently, as a cluster would); each test then waits for its own
Certificate and judges the Secret read back from the API server.
"""

from __future__ import annotations

import base64
import dataclasses
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.controller import expect
from tests.controller.conftest import CLUSTER_RESOURCE_NAMESPACE, Cluster, assert_no_kopf_traces, make_namespace

SUFFIX = "example.com"


def sub() -> str:
    return f"{uuid.uuid4().hex[:10]}.{SUFFIX}"


Spec = Callable[[], dict[str, Any]]


def cn_copied(a: str, b: str) -> dict[str, Any]:
    return {"commonName": a, "dnsNames": [a, b]}


def long_domain() -> str:
    """Two labels of the maximum length (63), as cert-manager's RandomSubdomainLength(suffix, 63)."""
    label = (uuid.uuid4().hex * 2)[:63]
    return f"{label}.{label[::-1]}.{SUFFIX}"


def wildcard_and_apex(domain: str) -> dict[str, Any]:
    return {"dnsNames": ["*." + domain, domain]}


# (id, spec without secretName/issuerRef)
CASES: list[tuple[str, Spec]] = [
    ("01 should issue a basic, defaulted certificate for a single distinct DNS Name",
     lambda: {"dnsNames": [sub()]}),
    ("02 should issue a CA certificate with the CA basicConstraint set",
     lambda: {"isCA": True, "dnsNames": [sub()]}),
    ("03 should issue an ECDSA, defaulted certificate for a single distinct DNS Name",
     lambda: {"dnsNames": [sub()], "privateKey": {"algorithm": "ECDSA"}}),
    ("04 should issue an Ed25519, defaulted certificate for a single distinct DNS Name",
     lambda: {"dnsNames": [sub()], "privateKey": {"algorithm": "Ed25519"}}),
    ("05 should issue a basic, defaulted certificate for a single Common Name",
     lambda: {"commonName": f"test-common-name-{uuid.uuid4().hex[:10]}"}),
    ("06 should issue a certificate with a couple valid otherName SAN values set as well as an emailAddress",
     lambda: {"emailAddresses": ["email@domain.test"],
              "otherNames": [{"oid": "1.3.6.1.4.1.311.20.2.3", "utf8Value": "userprincipal@domain.com"},
                             {"oid": "1.2.840.113556.1.4.221", "utf8Value": "user@example.org"}]}),
    ("07 should issue a basic, defaulted certificate for a single distinct DNS Name with a literal subject",
     lambda: {"dnsNames": [sub()],
              "literalSubject": "CN=literal-cn,OU=FooLong,OU=Bar,O=Example Org,L=Berlin,C=DE"}),
    ("08 should issue an ECDSA, defaulted certificate for a single Common Name",
     lambda: {"commonName": f"test-common-name-{uuid.uuid4().hex[:10]}", "privateKey": {"algorithm": "ECDSA"}}),
    ("09 should issue an Ed25519, defaulted certificate for a single Common Name",
     lambda: {"commonName": f"test-common-name-{uuid.uuid4().hex[:10]}",
              "privateKey": {"algorithm": "Ed25519"}}),
    ("10 should issue a certificate that defines an IP Address",
     lambda: {"ipAddresses": ["127.0.0.1"]}),
    ("11 should issue a certificate that defines a DNS Name and IP Address",
     lambda: {"dnsNames": [sub()], "ipAddresses": ["127.0.0.1", "::1"]}),
    ("12 should issue a certificate that defines a Common Name and IP Address",
     lambda: {"commonName": "test-common-name", "ipAddresses": ["127.0.0.1"]}),
    ("13 should issue a certificate that defines an Email Address",
     lambda: {"emailAddresses": ["alice@example.com"]}),
    ("14 should issue a certificate that defines a Common Name and URI SAN",
     lambda: {"commonName": "test-common-name", "uris": ["spiffe://cluster.local/ns/sandbox/sa/foo"]}),
    ("15 should issue a certificate that defines a 2 distinct DNS Names with one copied to the Common Name",
     lambda: cn_copied(sub(), sub())),
    ("16 should issue a certificate that defines a distinct DNS Name and another distinct Common Name",
     lambda: {"commonName": sub(), "dnsNames": [sub()]}),
    ("17 should issue a certificate that defines a DNS Name and sets a duration",
     lambda: {"dnsNames": [sub()], "duration": "896h"}),
    ("18 should issue a certificate that defines a wildcard DNS Name",
     lambda: {"dnsNames": ["*." + sub()]}),
    ("19 should issue a certificate that includes only a URISANs name",
     lambda: {"uris": ["spiffe://cluster.local/ns/sandbox/sa/foo"]}),
    ("20 should issue a certificate that includes arbitrary key usages",
     lambda: {"dnsNames": [sub()], "usages": ["signing", "data encipherment", "server auth", "client auth"]}),
    ("21 should issue a certificate that defines a long domain",
     lambda: {"dnsNames": [long_domain()]}),
    ("22 should issue a certificate that defines a wildcard DNS Name and its apex DNS Name",
     lambda: wildcard_and_apex(sub())),
    # not a numbered case: the additionalOutputFormats validator needs a Certificate that asks for them
    ("xx should write the additional output formats DER and CombinedPEM",
     lambda: {"dnsNames": [sub()], "additionalOutputFormats": [{"type": "DER"}, {"type": "CombinedPEM"}],
              "privateKey": {"algorithm": "ECDSA", "encoding": "PKCS8"}}),
]


@dataclasses.dataclass
class Suite:
    id: str
    issuer_type: str  # selfsigned | ca
    kind: str  # Issuer | ClusterIssuer
    namespace: str = ""
    issuer_name: str = ""
    root_pem: bytes | None = None
    names: dict[str, str] = dataclasses.field(default_factory=dict)  # case id -> Certificate name

    def issuer_ref(self) -> dict[str, str]:
        return {"name": self.issuer_name, "kind": self.kind, "group": "cert-manager.io"}


SUITES = [
    Suite("SelfSigned Issuer", "selfsigned", "Issuer"),
    Suite("SelfSigned ClusterIssuer", "selfsigned", "ClusterIssuer"),
    Suite("CA Issuer", "ca", "Issuer"),
    Suite("CA ClusterIssuer", "ca", "ClusterIssuer"),
]


def certificate(name: str, namespace: str, spec: dict[str, Any], ref: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"secretName": name + "-tls", "issuerRef": ref, **spec}}


def setup_issuer(c: Cluster, suite: Suite) -> list[tuple[str, str, str | None]]:
    """Create the suite's issuer (and CA Secret); returns what to delete afterwards."""
    made: list[tuple[str, str, str | None]] = []
    suite.issuer_name = f"{suite.issuer_type}-{uuid.uuid4().hex[:8]}"
    issuer_ns = suite.namespace if suite.kind == "Issuer" else None
    meta: dict[str, Any] = {"name": suite.issuer_name}
    if issuer_ns:
        meta["namespace"] = issuer_ns
    if suite.issuer_type == "selfsigned":
        spec: dict[str, Any] = {"selfSigned": {}}
    else:
        pki = expect.ca_material()
        secret_ns = suite.namespace if suite.kind == "Issuer" else CLUSTER_RESOURCE_NAMESPACE
        secret_name = suite.issuer_name + "-ca"
        if suite.kind == "Issuer":  # the root itself signs
            tls_crt, tls_key = pki["root.crt"], pki["root.key"]
        else:  # an intermediate signs: tls.crt carries it and the root
            tls_crt, tls_key = pki["intermediate.crt"] + pki["root.crt"], pki["intermediate.key"]
        c.api.create(expect.ca_secret(secret_name, secret_ns, tls_crt, tls_key))
        made.append(("secrets", secret_name, secret_ns))
        suite.root_pem = pki["root.crt"]
        spec = {"ca": {"secretName": secret_name}}
    c.api.create({"apiVersion": "cert-manager.io/v1", "kind": suite.kind, "metadata": meta, "spec": spec})
    made.append((suite.kind.lower() + "s", suite.issuer_name, issuer_ns))
    return made


@pytest.fixture(scope="module")
def suites(cluster: Cluster) -> Iterator[dict[str, Suite]]:
    cleanup: list[tuple[str, str, str | None]] = []
    out = {}
    for template in SUITES:
        suite = dataclasses.replace(template, names={})
        suite.namespace = make_namespace(cluster)
        cleanup += setup_issuer(cluster, suite)
        for i, (case_id, spec) in enumerate(CASES):
            name = f"case-{i + 1:02d}"
            suite.names[case_id] = name
            cluster.api.create(certificate(name, suite.namespace, spec(), suite.issuer_ref()))
        out[suite.id] = suite
    yield out
    for suite in out.values():
        assert_no_kopf_traces(cluster, suite.namespace)
        for crt in cluster.list("Certificate", suite.namespace):
            cluster.api.delete("certificates", crt["metadata"]["name"], suite.namespace)
    for plural, name, namespace in cleanup:
        cluster.api.delete(plural, name, namespace)


def check(c: Cluster, suite: Suite, name: str, *, min_revision: int = 1) -> tuple[dict[str, Any], Any]:
    cert = c.wait_ready(name, suite.namespace, timeout=90, min_revision=min_revision)
    secret = c.must_get("Secret", cert["spec"]["secretName"], suite.namespace)
    leaf = expect.validate(cert, secret, issuer_type=suite.issuer_type, root_pem=suite.root_pem)
    return cert, leaf


@pytest.mark.parametrize("suite_id", [s.id for s in SUITES])
@pytest.mark.parametrize("case_id", [case_id for case_id, _ in CASES])
def test_conformance_case(cluster: Cluster, suites: dict[str, Suite], suite_id: str, case_id: str) -> None:
    suite = suites[suite_id]
    name = suite.names[case_id]
    cert, _ = check(cluster, suite, name)
    assert cert["status"]["revision"] == 1
    requests = cluster.requests_of(name, suite.namespace)
    assert [r["metadata"]["name"] for r in requests] == [f"{name}-1"]
    cluster.wait_for("the temporary key Secret deleted", lambda: not [
        s for s in cluster.next_key_secrets(suite.namespace) if s["metadata"]["name"].startswith(name + "-")],
        timeout=10)


@pytest.mark.parametrize("suite_id", [s.id for s in SUITES])
def test_30_should_issue_another_certificate_with_the_same_private_key_if_the_existing_certificate_and_request_are_deleted(  # noqa: E501
    cluster: Cluster, suites: dict[str, Suite], suite_id: str
) -> None:
    suite = suites[suite_id]
    ns = suite.namespace
    name = "case-30"
    body = certificate(name, ns, {"dnsNames": [sub()], "privateKey": {"rotationPolicy": "Never"}},
                       suite.issuer_ref())
    cluster.api.create(body)
    _, first = check(cluster, suite, name)
    key_before = cluster.secret_data(name + "-tls", ns)["tls.key"]

    # delete the Certificate and its CertificateRequest; the Secret (and its key) stays
    cluster.api.delete("certificates", name, ns)
    for cr in cluster.requests_of(name, ns):
        cluster.api.delete("certificaterequests", cr["metadata"]["name"], ns)
    # empty the certificate data so that the recreated Certificate must issue another certificate
    secret = cluster.must_get("Secret", name + "-tls", ns)
    secret["data"]["tls.crt"] = ""
    cluster.api.replace(secret)
    cluster.api.create(body)

    _, second = check(cluster, suite, name)
    data = cluster.secret_data(name + "-tls", ns)
    assert expect.public_key_der(data["tls.key"]) == expect.public_key_der(key_before), "private key not reused"
    assert second.serial_number != first.serial_number
    assert [r["metadata"]["name"] for r in cluster.requests_of(name, ns)] == [f"{name}-1"]


@pytest.mark.parametrize("suite_id", [s.id for s in SUITES])
def test_31_should_allow_updating_an_existing_certificate_with_a_new_dns_name(
    cluster: Cluster, suites: dict[str, Suite], suite_id: str
) -> None:
    suite = suites[suite_id]
    ns = suite.namespace
    name = "case-31"
    first_name, new_name = sub(), sub()
    cluster.api.create(certificate(name, ns, {"dnsNames": [first_name]}, suite.issuer_ref()))
    _, first = check(cluster, suite, name)

    cluster.api.patch("certificates", name, ns, {"spec": {"dnsNames": [first_name, new_name]}})
    cert, second = check(cluster, suite, name, min_revision=2)
    assert cert["status"]["revision"] == 2
    dns = second.extensions.get_extension_for_class(expect.x509.SubjectAlternativeName).value
    assert sorted(dns.get_values_for_type(expect.x509.DNSName)) == sorted([first_name, new_name])
    assert second.serial_number != first.serial_number
    # revisionHistoryLimit defaults to 1: only the newest request is kept
    cluster.wait_requests(name, ns, [f"{name}-2"])
    data = cluster.secret_data(name + "-tls", ns)
    assert base64.b64encode(data["tls.crt"])  # read back and decoded


def test_a_ca_issuer_whose_secret_keeps_the_root_in_ca_crt_writes_that_root_as_ca_crt(cluster: Cluster,
                                                                                        ns: str) -> None:
    """tls.crt holds only the intermediate, ca.crt the root: the issued Secret's tls.crt is leaf + intermediate
    and its ca.crt the root (cert-manager includes the issuer Secret's own ca.crt in the chain it orders)."""
    pki = expect.ca_material()
    body = expect.ca_secret("intermediate", ns, pki["intermediate.crt"], pki["intermediate.key"])
    body["data"]["ca.crt"] = base64.b64encode(pki["root.crt"]).decode()
    cluster.api.create(body)
    cluster.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                        "metadata": {"name": "intermediate", "namespace": ns},
                        "spec": {"ca": {"secretName": "intermediate"}}})
    cluster.api.create(certificate("chained", ns, {"dnsNames": [sub()]}, {"name": "intermediate"}))
    cert = cluster.wait_ready("chained", ns)
    secret = cluster.must_get("Secret", "chained-tls", ns)
    expect.validate(cert, secret, issuer_type="ca", root_pem=pki["root.crt"])
    chain = expect.load_chain(cluster.secret_data("chained-tls", ns)["tls.crt"])
    assert chain[1:] == expect.load_chain(pki["intermediate.crt"])
