"""Security checks of the operator, run last in the fault tier so that they judge everything the tier did:

- RBAC: every (group, resource, verb) the operator (user agents `issuer/`, `kopf/`) sent to any cluster of
  the session is granted by the ClusterRoles of `kubectl kustomize manifests/`, and, when the controller,
  ACME and fault tiers all ran (the whole suite), everything granted was used, bar what the API server
  checks on the operator's behalf (blockOwnerDeletion, approve);
- no private key (PEM, DER in base64, as a Secret holds it) in the operator logs or in Event messages;
- CA Secrets over cert-manager's PEM size caps, or holding garbage: a clear Issuer condition, no crash;
- hypothesis-made Certificates and Issuers (what the CRD schemas accept) applied to the running operator:
  it stays up, logs no traceback, and each object gets a condition or an Event within seconds; likewise
  Ingresses with made-up cert-manager annotations end as ingress-shim's decision says.

Each runs on both API servers (the `sec` cluster per backend, embedded first): the RBAC check also reads
the real servers' audit logs (their own authorizer judged the operator), and the private keys searched
for are every version of every Secret the clusters' recorders saw, on either backend.
"""

from __future__ import annotations

import base64
import binascii
import pathlib
import string
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from issuer.controllers import ingress_shim as shim
from tests import rbac
from tests.controller import expect
from tests.controller.conftest import BACKENDS, ApiError, condition
from tests.faults import harness as h
from tests.faults.harness import FaultCluster
from tests.tools import require
from tests.unit import test_ingress_shim as shim_cases

REPO = pathlib.Path(__file__).resolve().parents[2]

# Granted and never sent as a request: the API server checks these on the operator's behalf. Setting an
# ownerReference with blockOwnerDeletion needs `update` on the owner's finalizers subresource (the
# OwnerReferencesPermissionEnforcement admission plugin); the approver's `approve` on signers is what
# cert-manager's webhook checks with a SubjectAccessReview before it accepts an Approved condition.
AUTHORIZATION_ONLY = {
    ("cert-manager.io", "certificates/finalizers", "update"),
    ("cert-manager.io", "certificaterequests/finalizers", "update"),
    ("acme.cert-manager.io", "orders/finalizers", "update"),
    ("acme.cert-manager.io", "challenges/finalizers", "update"),
    ("networking.k8s.io", "ingresses/finalizers", "update"),
    ("cert-manager.io", "signers", "approve"),
}
# Used only on a path no test can force deterministically: an Order left by an earlier request of the same
# name (a failed request replaced before the garbage collector removed its Order) is deleted by the ACME
# signer (issuer/controllers/orders.py `sign`); the ACME retry tests take that path when the collector is
# slower than the new request, which varies from run to run.
RACE_ONLY = {
    ("acme.cert-manager.io", "orders", "delete"),
}
# The tiers whose clusters drive every controller between them: with all three in the session, what is
# granted must be used (or be AUTHORIZATION_ONLY).
ALL_TIERS = {"controller", "acme", "faults"}
# With the fault tier alone: also granted and needed by controllers it does not drive (ACME orders,
# challenges and solver objects, ingress-shim's Certificate writes, leader election, Events aggregation).
NEEDED_ELSEWHERE = {
    ("acme.cert-manager.io", "*", "*"),
    ("", "pods", "*"), ("", "services", "*"),
    ("networking.k8s.io", "ingresses", "*"),
    ("coordination.k8s.io", "leases", "*"),
    ("cert-manager.io", "certificates", "*"),
    ("", "events", "patch"),
    ("", "secrets", "*"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "*"),
}


def allowlisted(rule: tuple[str, str, str], used: set[tuple[str, str, str]], whole_suite: bool) -> bool:
    """Granted and unused, yet needed: never a request (AUTHORIZATION_ONLY), or only on a race (RACE_ONLY);
    with only part of the suite run,
    needed by a controller the run did not drive, or `get` beside a used `list` (an informer's reads)."""
    group, resource, verb = rule
    if rbac.allows(AUTHORIZATION_ONLY, *rule) or rule in RACE_ONLY:
        return True
    if whole_suite:
        return False
    return rbac.allows(NEEDED_ELSEWHERE, *rule) or (verb == "get" and (group, resource, "list") in used)


@pytest.fixture(scope="module", params=BACKENDS)
def sec(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultCluster]:
    with h.fault_cluster(tmp_path_factory.mktemp(f"security-{request.param}"), request.param) as c:
        yield c


# -- CA Secrets: size caps and garbage ------------------------------------------------------------------------
def ca_secret(ns: str, name: str, crt: bytes, key: bytes) -> dict[str, Any]:
    data = {"tls.crt": base64.b64encode(crt).decode(), "tls.key": base64.b64encode(key).decode()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "type": "Opaque",
            "data": data}


def padded(pem: bytes, size: int) -> bytes:
    """`pem` grown past `size` bytes with PEM-looking filler (another block), so only the size is wrong."""
    filler = b"-----BEGIN CERTIFICATE-----\n" + (b"A" * 64 + b"\n") * (size // 65 + 1) + b"-----END CERTIFICATE-----\n"
    return pem + filler


Make = Callable[[dict[str, bytes]], tuple[bytes, bytes]]
CASES: dict[str, tuple[Make, list[str]]] = {
    # (tls.crt, tls.key) -> words the Ready=False message must carry
    "chain over 95,000 bytes": (lambda p: (padded(p["intermediate.crt"], 95_000), p["intermediate.key"]),
                                ["95000"]),
    "key over 13,000 bytes": (lambda p: (p["intermediate.crt"], p["intermediate.key"] + b"\n" * 13_001), ["13000"]),
    "garbage certificate": (lambda p: (b"\x00\xffnot a certificate" * 10, p["intermediate.key"]), ["tls.crt"]),
    "garbage key": (lambda p: (p["intermediate.crt"], b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE "
                                                       b"KEY-----\n"), ["key"]),
    "empty Secret data": (lambda p: (b"", b""), []),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_ca_secret_over_the_size_caps_or_holding_garbage_gives_a_clear_condition(sec: FaultCluster,
                                                                                   case: str) -> None:
    c = sec
    ns = c.namespace()
    offset = c.operator.log_size()
    make, words = CASES[case]
    crt, key = make(expect.ca_material())
    c.api.create(ca_secret(ns, "ca-key", crt, key))
    c.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "ca", "namespace": ns},
                  "spec": {"ca": {"secretName": "ca-key"}}})
    c.wait_condition("Issuer", "ca", ns, "Ready", "False", timeout=10)
    ready = condition(c.get("Issuer", "ca", ns), "Ready")
    assert ready is not None
    message = ready["message"]
    assert '"ca-key"' in message or "ca-key" in message, message
    for word in words:
        assert word in message.replace(",", ""), message
    assert "Traceback" not in message and len(message) < 600, message
    # a Certificate on that issuer waits (Pending on its request), nothing crashes
    c.api.create(h.certificate("web", ns))
    c.wait_for("the request waits", lambda: c.requests_of("web", ns), timeout=10)
    time.sleep(0.5)
    assert c.get("Secret", "web-tls", ns) is None
    assert c.operator.alive()
    h.assert_no_traceback(c, offset)


# -- hypothesis: what the CRDs accept, the operator survives --------------------------------------------------
LABEL = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12)
DNS = st.one_of(
    st.builds(lambda a, b: f"{a}.{b}.example", LABEL, LABEL),
    st.builds(lambda a: f"*.{a}.example", LABEL),
    st.text(string.ascii_letters + string.digits + ".-*_ ", min_size=0, max_size=70),
)
DURATION = st.one_of(st.none(), st.none(), st.sampled_from(["2h", "2160h", "1h30m", "8760h", "30m", "1d"]))
KEY = st.one_of(st.none(), st.fixed_dictionaries({}, optional={
    "algorithm": st.sampled_from(["RSA", "ECDSA", "Ed25519"]),
    "size": st.sampled_from([0, 256, 384, 521, 1024, 2048, 3072, 4096, 8192, 9000]),
    "rotationPolicy": st.sampled_from(["Always", "Never"]),
    "encoding": st.sampled_from(["PKCS1", "PKCS8"]),
}))
REF = st.sampled_from([
    {"name": "ca", "kind": "Issuer"}, {"name": "self", "kind": "Issuer"}, {"name": "missing", "kind": "Issuer"},
    {"name": "nowhere", "kind": "ClusterIssuer"}, {"name": "x", "kind": "Issuer", "group": "example.com"},
    {"name": "ca"},
])
USAGES = st.lists(st.sampled_from(["digital signature", "key encipherment", "server auth", "client auth",
                                   "cert sign", "code signing"]), max_size=3, unique=True)
CERT_SPEC = st.fixed_dictionaries({"issuerRef": REF, "dnsNames": st.lists(DNS, min_size=1, max_size=4)}, optional={
    "commonName": st.text(string.printable, max_size=80),
    "duration": DURATION, "renewBefore": DURATION, "isCA": st.booleans(), "usages": USAGES, "privateKey": KEY,
    "ipAddresses": st.lists(st.sampled_from(["10.0.0.1", "::1", "300.1.1.1", "fe80::1%eth0", "x"]), max_size=2),
    "emailAddresses": st.lists(st.sampled_from(["a@example.com", "not-an-email"]), max_size=2),
    "uris": st.lists(st.sampled_from(["spiffe://cluster.local/ns/a", "::bad"]), max_size=2),
    "revisionHistoryLimit": st.integers(min_value=1, max_value=5),
    "secretTemplate": st.fixed_dictionaries({}, optional={"labels": st.dictionaries(LABEL, LABEL, max_size=2)}),
})
ISSUER_SPEC = st.one_of(
    st.just({"selfSigned": {}}),
    st.builds(lambda n: {"ca": {"secretName": n}}, st.sampled_from(["ca-key", "missing", "garbage"])),
    st.builds(lambda n, u: {"ca": {"secretName": n, "crlDistributionPoints": u}}, LABEL,
              st.lists(st.text(string.printable, max_size=30), max_size=2)),
    st.just({"selfSigned": {"crlDistributionPoints": ["http://crl.example"]}}),
)


def noticed(c: FaultCluster, kind: str, ns: str, name: str) -> bool:
    obj = c.get(kind, name, ns)
    if obj is None:
        return True  # deleted meanwhile (nothing to judge)
    if (obj.get("status") or {}).get("conditions"):
        return True
    refs = [e.get("involvedObject") or {} for e in c.api.list("events", ns)]
    return any(ref.get("name") == name and ref.get("kind") == kind for ref in refs)


def test_generated_certificates_and_issuers_never_crash_the_operator(sec: FaultCluster) -> None:
    c = sec
    ns = c.namespace()
    h.ca_issuer(c, ns)
    c.api.create(ca_secret(ns, "garbage", b"garbage", b"garbage"))
    c.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "self", "namespace": ns},
                  "spec": {"selfSigned": {}}})
    c.wait_ready("ca", ns, kind="Issuer")
    c.wait_ready("self", ns, kind="Issuer")
    time.sleep(0.5)  # the server idle: its generateName draws from `random` would upset hypothesis
    offset = c.operator.log_size()
    generated: list[tuple[str, dict[str, Any]]] = []

    # Generation only (no shrinking, no replays): the objects are applied afterwards, each exactly once.
    @settings(max_examples=40, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(kind=st.sampled_from(["Certificate", "Certificate", "Certificate", "Issuer"]), cert=CERT_SPEC,
           issuer=ISSUER_SPEC)
    def generate(kind: str, cert: dict[str, Any], issuer: dict[str, Any]) -> None:
        generated.append((kind, cert if kind == "Certificate" else issuer))

    generate()
    applied: list[tuple[str, str]] = []
    refused = 0
    for i, (kind, body) in enumerate(generated):
        name = f"gen-{i}"
        spec = {"secretName": f"{name}-tls", **{k: v for k, v in body.items() if v is not None}} \
            if kind == "Certificate" else body
        try:
            c.api.create({"apiVersion": "cert-manager.io/v1", "kind": kind,
                          "metadata": {"name": name, "namespace": ns}, "spec": spec})
        except ApiError as err:
            assert err.status == 422, err  # refused by the CRD schema: fine, never a 500
            refused += 1
            continue
        applied.append((kind, name))
    assert len(applied) >= 10, f"only {len(applied)} of the generated objects passed the CRD schemas"
    deadline = time.monotonic() + 15
    left = list(applied)
    while left and time.monotonic() < deadline:
        left = [(k, n) for k, n in left if not noticed(c, k, ns, n)]
        time.sleep(0.3)
    assert not left, f"no condition and no Event after 15 s: {left[:10]}"
    assert c.operator.alive() and c.operator.starts == 1
    h.assert_no_traceback(c, offset)
    print(f"hypothesis: {len(applied)} objects applied (each got a condition or an Event), {refused} refused "
          "by the CRD schemas")


def test_generated_ingress_annotations_never_crash_the_operator(sec: FaultCluster) -> None:
    """Ingresses with hypothesis-made cert-manager annotations and TLS blocks, applied to the running operator:
    each ends as ingress-shim's pure decision says (Certificates owned by the Ingress, or a BadConfig Event on
    it, or nothing when it is not annotated for us), and the operator logs no traceback."""
    c = sec
    ns = c.namespace()
    c.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "self", "namespace": ns},
                  "spec": {"selfSigned": {}}})
    c.wait_ready("self", ns, kind="Issuer")
    time.sleep(0.5)
    offset = c.operator.log_size()
    generated: list[tuple[dict[str, str], list[dict[str, Any]]]] = []

    @settings(max_examples=40, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(base=st.sampled_from([{"cert-manager.io/issuer": "self"}] * 3 + [{}]),
           extra=st.one_of(
               st.just({}),
               st.dictionaries(st.sampled_from(shim_cases.ALL_KEYS), st.sampled_from(shim_cases.PLAUSIBLE), max_size=2),
               st.dictionaries(st.sampled_from(shim_cases.ALL_KEYS) | st.text(max_size=12),
                               st.sampled_from(shim_cases.PLAUSIBLE) | st.text(max_size=24), max_size=6)),
           tls=st.lists(st.one_of(
               st.fixed_dictionaries({
                   "hosts": st.lists(st.sampled_from(["a.example.com", "b.example.com", "*.example.com", "10.0.0.1"]),
                                     min_size=1, max_size=3),
                   "secretName": st.sampled_from(["one-tls", "two-tls"])}),
               st.fixed_dictionaries({}, optional={
                   "hosts": st.lists(st.sampled_from(["a.example.com", "Not A Host", ""]), max_size=2),
                   "secretName": st.sampled_from(["one-tls", "Bad_Name", ""])})), max_size=3))
    def generate(base: dict[str, str], extra: dict[str, str], tls: list[dict[str, Any]]) -> None:
        generated.append(({**base, **extra}, tls))

    generate()
    applied: list[tuple[str, shim.Outcome]] = []
    refused = 0
    for i, (notes, tls) in enumerate(generated):
        name = f"gen-ing-{i}"
        body = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": name, "namespace": ns, "annotations": notes},
                # a backend: the real API server refuses an Ingress with neither rules nor defaultBackend
                "spec": {"defaultBackend": {"service": {"name": "app", "port": {"number": 80}}},
                         "tls": [{**entry, **({"secretName": f"{name}-{entry['secretName']}"}
                                              if entry.get("secretName", "").endswith("-tls") else {})}
                                 for entry in tls]}}
        try:
            stored = c.api.create(body)
        except ApiError as err:
            assert err.status == 422, err  # an annotation key the API server refuses: fine, never a 500
            refused += 1
            continue
        applied.append((name, shim.decide(stored, [], shim.Options())))
    made = sum(len(o.create) for _, o in applied)
    bad = sum(any(e[1] == "BadConfig" for e in o.events) for _, o in applied)
    assert made >= 5 and bad >= 3, f"too few interesting Ingresses: {made} Certificates, {bad} BadConfig"

    def settled(name: str, outcome: shim.Outcome) -> bool:
        for cert in outcome.create:
            got = c.get("Certificate", cert["metadata"]["name"], ns)
            owners = ((got or {}).get("metadata") or {}).get("ownerReferences") or []
            if not any(o.get("kind") == "Ingress" and o.get("name") == name for o in owners):
                return False
        wanted = {(reason, message) for _, reason, message in outcome.events if reason == "BadConfig"}
        if wanted:
            seen = {(e.get("reason"), e.get("message")) for e in c.api.list("events", ns)
                    if (e.get("involvedObject") or {}).get("name") == name}
            return wanted <= seen
        return True

    deadline = time.monotonic() + 20
    left = list(applied)
    while left and time.monotonic() < deadline:
        left = [(n, o) for n, o in left if not settled(n, o)]
        time.sleep(0.3)
    assert not left, f"not as ingress-shim decided after 20 s: {[n for n, _ in left][:10]}"
    expected = {cert["metadata"]["name"] for _, o in applied for cert in o.create}
    owned = {crt["metadata"]["name"] for crt in c.api.list("certificates", ns)
             if any(o.get("kind") == "Ingress" for o in crt["metadata"].get("ownerReferences") or [])}
    assert owned == expected, f"Certificates ingress-shim did not decide on: {sorted(owned - expected)}"
    assert c.operator.alive() and c.operator.starts == 1
    h.assert_no_traceback(c, offset)
    print(f"hypothesis: {len(applied)} Ingresses applied ({made} Certificates, {bad} BadConfig), {refused} refused "
          "by the API server")


# -- judged over the whole tier --------------------------------------------------------------------------------
def rendered_manifests() -> str:
    kubectl = require("kubectl")
    return subprocess.run([kubectl, "kustomize", str(REPO / "manifests")], capture_output=True, text=True,
                          check=True).stdout


def test_a_cluster_issuer_and_a_second_revision(sec: FaultCluster) -> None:
    """Drives what the rest of the tier may not: a ClusterIssuer's status, and the revision manager
    deleting the request of revision 1 (so that this module alone exercises every controller's writes)."""
    c = sec
    ns = c.namespace()
    c.api.create({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": f"self-{ns}"},
                  "spec": {"selfSigned": {}}})
    c.wait_ready(f"self-{ns}", "", kind="ClusterIssuer")
    c.api.create(h.certificate("web", ns, {"name": f"self-{ns}", "kind": "ClusterIssuer"}))
    c.wait_ready("web", ns)
    c.api.patch("certificates", "web", ns, {"spec": {"dnsNames": ["web.example.com", "www.example.com"]}})
    c.wait_ready("web", ns, min_revision=2)
    c.wait_for("revision 1's request deleted", lambda: [r["metadata"]["name"] for r in c.requests_of("web", ns)]
               == ["web-2"], timeout=10)
    c.api.delete("clusterissuers", f"self-{ns}")


def test_the_operator_uses_only_what_rbac_grants(sec: FaultCluster) -> None:
    h.harvest(sec)
    granted = rbac.granted_rules(rendered_manifests())
    used = rbac.USE.used()
    assert used, "no operator requests recorded"
    whole_suite = rbac.USE.tiers >= ALL_TIERS
    missing = sorted(r for r in used if not rbac.allows(granted, *r))
    unused = sorted(r for r in granted if not any(rbac.allows({r}, *u) for u in used))
    print(f"RBAC over the clusters of tiers {sorted(rbac.USE.tiers)}: {len(used)} (group, resource, verb) used"
          f"{'' if whole_suite else ' (part of the suite: controllers of other tiers allowlisted)'}:")
    for rule in sorted(used):
        print("  used      ", rule)
    for rule in unused:
        print("  unused    ", rule, "(needed)" if allowlisted(rule, used, whole_suite) else "(NOT NEEDED?)")
    assert not missing, f"used but not granted: {missing}"
    # on the real control planes the operator ran as the install's ServiceAccount: their RBAC authorizer
    # answered every request, and refused none
    print(f"real control planes judged by their own authorizer: {len(rbac.USE.real_planes)}")
    assert not rbac.USE.denied, f"refused by the real server's authorizer: {sorted(rbac.USE.denied)}"
    unneeded = [r for r in unused if not allowlisted(r, used, whole_suite)]
    assert not unneeded, f"granted, unused, and needed by no controller: {unneeded}"


def needles(der: bytes) -> list[bytes]:
    """How a key could show up in text: its DER in base64 (whole, and as 64-column PEM lines past the
    first, which is a header common to keys of one type), base64 of its PEM (a Secret's data), and hex."""
    b64 = base64.b64encode(der)
    out = [b64]
    out += [b64[i:i + 64] for i in range(64, len(b64) - 63, 64)]
    pem = b"-----BEGIN PRIVATE KEY-----\n" + b"\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    out.append(base64.b64encode(pem)[64:128])
    out.append(binascii.hexlify(der)[-64:])
    return [n for n in out if len(n) >= 40]


def test_no_private_key_in_logs_or_events(sec: FaultCluster) -> None:
    h.harvest(sec)
    keys = h.RECORD.private_keys
    assert len(keys) >= 20, f"only {len(keys)} private keys collected"
    texts = {str(p): p.read_bytes() for p in dict.fromkeys(h.RECORD.logs) if p.exists()}
    texts["Event messages"] = "\n".join(h.RECORD.events).encode()
    leaks = []
    for der, where in keys.items():
        for needle in needles(der):
            for source, text in texts.items():
                if needle in text:
                    leaks.append(f"the key of {where} appears in {source}")
    pem_markers = [source for source, text in texts.items() if b"PRIVATE KEY-----" in text]
    assert not pem_markers, f"PEM private key markers in {pem_markers}"
    print(f"{len(keys)} private keys searched in {len(texts) - 1} operator logs and {len(h.RECORD.events)} Events")
    assert not leaks, leaks[:10]
