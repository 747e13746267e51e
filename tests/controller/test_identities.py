"""Users' roles and CertificateRequest identities, judged by the real API server's authenticator, RBAC
authorizer and admission (manifests/rbac.yaml's aggregated roles, manifests/admission.yaml's policy):

- a namespace user bound to the built-in `edit` / `view` roles (which our cert-manager-edit / -view
  ClusterRoles aggregate into) can run `issuer renew` / `issuer status`, as with cert-manager;
- an approver with `approve` on the issuer's signer (cluster-wide as cert-manager asks, or in the request's
  namespace, which the single-namespace install needs) can `issuer approve` / `deny`; one without cannot;
- nobody can create a CertificateRequest claiming another user's name, uid, groups or extra.

Identities are client certificates of the control plane's CA (tests/realkube.py), so each user is exactly
the name and groups written here (plus `system:authenticated`).
"""

from __future__ import annotations

import base64
import pathlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.controller.conftest import ApiError, Cluster, condition, fresh_name, running_cluster

REAL = pytest.mark.parametrize("cluster", ["real"], indirect=True)  # the shared cluster, real backend only

AUTHENTICATED = "system:authenticated"


def cli(kubeconfig: pathlib.Path, ns: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "issuer", *args, "--kubeconfig", str(kubeconfig), "-n", ns],
                          capture_output=True, text=True, check=False, timeout=60)


def bind(c: Cluster, ns: str, user: str, role: str, *, cluster_role: bool = True) -> None:
    c.apply_yaml(yaml.safe_dump({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": f"{user}-{role}", "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole" if cluster_role else "Role",
                    "name": role},
        "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}]}))


def user(c: Cluster, name: str, groups: tuple[str, ...] = ()) -> pathlib.Path:
    assert c.plane is not None
    return c.plane.user_kubeconfig(name, groups)


def csr_pem(cn: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    req = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])).sign(key, hashes.SHA256())
    return base64.b64encode(req.public_bytes(serialization.Encoding.PEM)).decode()


def request_body(ns: str, name: str, issuer: str = "ss", **identity: Any) -> dict[str, Any]:
    return {"apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"request": csr_pem(name), "issuerRef": {"name": issuer, "kind": "Issuer"}, **identity}}


def create_as(c: Cluster, kubeconfig: pathlib.Path, body: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return c.kubectl("--kubeconfig", str(kubeconfig), "create", "-f", "-", check=False, input=yaml.safe_dump(body))


def selfsigned_certificate(c: Cluster, ns: str, name: str) -> None:
    c.apply_yaml(yaml.safe_dump_all([
        {"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "ss", "namespace": ns},
         "spec": {"selfSigned": {}}},
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": name, "namespace": ns},
         "spec": {"secretName": f"{name}-tls", "dnsNames": [f"{name}.example.com"],
                  "privateKey": {"algorithm": "ECDSA"}, "issuerRef": {"name": "ss"}}}]))


# -- the shipped user roles ----------------------------------------------------------------------------------
@REAL
def test_a_namespace_editor_renews_and_a_viewer_reads_status_with_the_shipped_roles(cluster: Cluster,
                                                                                   ns: str) -> None:
    selfsigned_certificate(cluster, ns, "web")
    cluster.wait_ready("web", ns)
    bind(cluster, ns, "alice", "edit")
    bind(cluster, ns, "bob", "view")
    alice, bob = user(cluster, "alice"), user(cluster, "bob")
    cluster.wait_for("edit to aggregate cert-manager-edit", lambda: "certificates" in str(
        cluster.api._do("GET", f"{cluster.url}/apis/rbac.authorization.k8s.io/v1/clusterroles/edit")
         .get("rules")))

    renewed = cli(alice, ns, "renew", "web")
    assert renewed.returncode == 0, renewed.stderr
    cluster.wait_ready("web", ns, min_revision=2)

    status = cli(bob, ns, "status", "certificate", "web")
    assert status.returncode == 0, status.stderr
    assert "web" in status.stdout and "Ready" in status.stdout

    refused = cli(bob, ns, "renew", "web")
    assert refused.returncode != 0
    assert "forbidden" in refused.stderr.lower() and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr


# -- approvers -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def manual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A real cluster whose operator leaves approval to people (`--disable-auto-approval`)."""
    with running_cluster(tmp_path_factory.mktemp("manual"), "real", "--disable-auto-approval") as c:
        yield c


APPROVER_STATUS_ROLE = {
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "cr-status"},
    "rules": [{"apiGroups": ["cert-manager.io"], "resources": ["certificaterequests/status"],
               "verbs": ["update", "patch"]}]}


def grant_signer(c: Cluster, who: str, signer: str, namespace: str | None = None) -> None:
    """`approve` on one signer name: cluster-wide (a ClusterRole, as cert-manager asks), or with `namespace`
    in that namespace only (a Role, which our admission policy also accepts for requests there)."""
    scope = {"namespace": namespace} if namespace else {}
    role, binding = ("Role", "RoleBinding") if namespace else ("ClusterRole", "ClusterRoleBinding")
    c.apply_yaml(yaml.safe_dump_all([
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": role, "metadata": {"name": f"approve-{who}", **scope},
         "rules": [{"apiGroups": ["cert-manager.io"], "resources": ["signers"], "verbs": ["approve"],
                    "resourceNames": [signer]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": binding,
         "metadata": {"name": f"approve-{who}", **scope},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role, "name": f"approve-{who}"},
         "subjects": [{"kind": "User", "name": who, "apiGroup": "rbac.authorization.k8s.io"}]}]))


def held_request_and_approver(c: Cluster, name: str) -> tuple[str, str]:
    """A fresh namespace whose Certificate `held` waits for approval of `held-1`, and a user there bound to
    `edit` plus `update`/`patch` on certificaterequests/status (what an approver needs besides the
    signer); returns (namespace, user)."""
    ns = fresh_name(name)
    c.ensure_namespace(ns)
    selfsigned_certificate(c, ns, "held")
    c.wait_for("the request", lambda: c.get("CertificateRequest", "held-1", ns))
    who = fresh_name(name)
    bind(c, ns, who, "edit")
    c.apply_yaml(yaml.safe_dump({**APPROVER_STATUS_ROLE, "metadata": {"name": "cr-status", "namespace": ns}}))
    bind(c, ns, who, "cr-status", cluster_role=False)
    return ns, who


@pytest.mark.parametrize(("signer", "in_namespace"), [
    pytest.param("issuers.cert-manager.io/{ns}.ss", False, id="an approver named for the issuer approves"),
    pytest.param("issuers.cert-manager.io/*", False, id="an approver for every Issuer approves"),
    pytest.param("issuers.cert-manager.io/*", True, id="an approver granted in the request's namespace approves"),
])
def test_an_approver_with_approve_on_the_signer_approves(manual: Cluster, signer: str, in_namespace: bool) -> None:
    c = manual
    ns, who = held_request_and_approver(c, "carol")
    grant_signer(c, who, signer.format(ns=ns), ns if in_namespace else None)

    approved = cli(user(c, who), ns, "approve", "held-1")
    assert approved.returncode == 0, approved.stderr
    c.wait_ready("held", ns)


@pytest.mark.parametrize("verb", ["approve", "deny"])
def test_an_approver_without_approve_on_the_signer_is_refused(manual: Cluster, verb: str) -> None:
    c = manual
    ns, who = held_request_and_approver(c, "dave")
    grant_signer(c, who, "issuers.cert-manager.io/some-other.issuer")

    refused = cli(user(c, who), ns, verb, "held-1")
    assert refused.returncode == 1, refused.stderr
    # the issuerRef as the request holds it (kind and group unset, as the Certificate gave them)
    assert (f'user "{who}" does not have permissions to set approved/denied conditions for issuer {{ss  }}'
            in refused.stderr), refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    cr = c.must_get("CertificateRequest", "held-1", ns)
    assert condition(cr, "Approved") is None and condition(cr, "Denied") is None


# -- who asked -----------------------------------------------------------------------------------------------------
IDENTITY_CASES = [
    # (id, identity fields given, refused with)
    ("a request that names nobody is accepted", {}, None),
    ("a request in its creator's own name is accepted", {"username": "erin"}, None),
    ("a request with its creator's own groups is accepted", {"groups": [AUTHENTICATED, "team-a"]}, None),
    ("a request claiming the controller's name is refused",
     {"username": "system:serviceaccount:cert-manager:issuer"}, "username identity must be that of the requester"),
    ("a request claiming a group its creator is not in is refused",
     {"groups": [AUTHENTICATED, "system:masters"]}, "groups identity must be that of the requester"),
    ("a request claiming fewer groups than its creator has is refused",
     {"groups": ["team-a"]}, "groups identity must be that of the requester"),
    ("a request claiming a uid is refused", {"uid": "0b5e0c1a"}, "uid identity must be that of the requester"),
    ("a request claiming extra attributes is refused", {"extra": {"scopes": ["admin"]}},
     "extra identity must be that of the requester"),
]


@REAL
@pytest.mark.parametrize(("identity", "refusal"), [pytest.param(i, r, id=n) for n, i, r in IDENTITY_CASES])
def test_a_certificaterequest_carries_only_its_creators_identity(cluster: Cluster, ns: str,
                                                                 identity: dict[str, Any], refusal: str | None) -> None:
    bind(cluster, ns, "erin", "edit")
    erin = user(cluster, "erin", ("team-a",))
    name = fresh_name("cr")
    created = create_as(cluster, erin, request_body(ns, name, **identity))
    if refusal is None:
        assert created.returncode == 0, created.stderr
        assert cluster.must_get("CertificateRequest", name, ns)["spec"].get("username", "") == \
            identity.get("username", "")
    else:
        assert created.returncode != 0
        assert refusal in created.stderr, created.stderr
        assert cluster.get("CertificateRequest", name, ns) is None


@REAL
def test_the_admin_cannot_forge_a_request_either(cluster: Cluster, ns: str) -> None:
    name = fresh_name("cr")
    with pytest.raises(ApiError) as err:
        cluster.api.create(request_body(ns, name, username="someone-else"))
    assert "username identity must be that of the requester" in str(err.value.body)
