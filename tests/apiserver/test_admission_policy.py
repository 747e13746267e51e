"""ValidatingAdmissionPolicies in the embedded API server, through HTTP, with manifests/admission.yaml applied:
a CertificateRequest claiming someone else's identity is refused with the status code and Status body a real
kube-apiserver answers (tests/controller/test_identities.py holds the real server to the same words), one
naming nobody or the server's fixed user (system:admin in system:masters) is accepted, approving is allowed
(the embedded authorizer allows everything), evaluation errors follow failurePolicy, a policy without a
binding does nothing, and kubectl sees the two kinds as it does on a real server."""

from __future__ import annotations

import json
import pathlib
import subprocess
from typing import Any

import pytest
import yaml

from issuer.testing.server import ServerThread
from tests.apiserver.conftest import MERGE, Api, require_tool

ROOT = pathlib.Path(__file__).resolve().parents[2]
GROUP = "/apis/admissionregistration.k8s.io/v1"
POLICIES = f"{GROUP}/validatingadmissionpolicies"
BINDINGS = f"{GROUP}/validatingadmissionpolicybindings"
REQUESTS = "/apis/cert-manager.io/v1/namespaces/default/certificaterequests"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
POLICY = "issuer-certificaterequest-identity"
DENIED = f"ValidatingAdmissionPolicy '{POLICY}' with binding '{POLICY}' denied request: "
CSR = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0KTUlJQ1dUQ0NBVUVDQVFBd0ZERVNNQkFHQTFVRUF3d0o="


def manifest(path: pathlib.Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


async def create(api: Api, path: str, body: dict[str, Any]) -> None:
    resp = await api.post(path, body)
    assert resp.status == 201, resp.body


@pytest.fixture
async def shipped(api: Api) -> Api:
    """`api` with the CertificateRequest CRD and manifests/admission.yaml, both as shipped."""
    (crd,) = manifest(ROOT / "crds" / "certificaterequests.cert-manager.io.yaml")
    await api.create_crd(crd)
    policy, binding = manifest(ROOT / "manifests" / "admission.yaml")
    await create(api, POLICIES, policy)
    await create(api, BINDINGS, binding)
    return api


def request_body(name: str, **identity: Any) -> dict[str, Any]:
    return {"apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"request": CSR, "issuerRef": {"name": "ss", "kind": "Issuer"}, **identity}}


FORGED = [
    pytest.param({"username": "system:serviceaccount:cert-manager:issuer"},
                 "spec.username: Forbidden: username identity must be that of the requester",
                 id="a request claiming the controller's name is refused"),
    pytest.param({"groups": ["system:authenticated"]}, "spec.groups: Forbidden: groups identity must be that of the "
                 "requester", id="a request claiming fewer groups than its creator has is refused"),
    pytest.param({"groups": ["system:masters", "system:authenticated", "team-a"]},
                 "spec.groups: Forbidden: groups identity must be that of the requester",
                 id="a request claiming a group its creator is not in is refused"),
    pytest.param({"uid": "0b5e0c1a"}, "spec.uid: Forbidden: uid identity must be that of the requester",
                 id="a request claiming a uid is refused"),
    pytest.param({"extra": {"scopes": ["admin"]}}, "spec.extra: Forbidden: extra identity must be that of the "
                 "requester", id="a request claiming extra attributes is refused"),
]


@pytest.mark.parametrize(("identity", "refusal"), FORGED)
async def test_a_forged_identity_is_refused_as_a_real_server_refuses_it(shipped: Api, identity: dict[str, Any],
                                                                        refusal: str) -> None:
    resp = await shipped.post(REQUESTS, request_body("forged", **identity))
    assert resp.status == 403
    assert resp.body == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'certificaterequests.cert-manager.io "forged" is forbidden: {DENIED}{refusal}',
        "reason": "Forbidden",
        "details": {"name": "forged", "group": "cert-manager.io", "kind": "certificaterequests",
                    "causes": [{"message": DENIED + refusal}]},
        "code": 403,
    }
    assert (await shipped.get(f"{REQUESTS}/forged")).status == 404
    dry = await shipped.post(REQUESTS, request_body("forged", **identity), params={"dryRun": "All"})
    assert dry.status == 403 and dry.body["message"].endswith(refusal)


ACCEPTED = [
    pytest.param({}, id="a request naming nobody is accepted"),
    pytest.param({"username": "system:admin"}, id="a request in the server's fixed user's name is accepted"),
    pytest.param({"username": "system:admin", "groups": ["system:authenticated", "system:masters"]},
                 id="with the fixed user's groups in any order too"),
]


@pytest.mark.parametrize("identity", ACCEPTED)
async def test_a_request_in_the_fixed_users_own_name_is_accepted(shipped: Api, identity: dict[str, Any]) -> None:
    resp = await shipped.post(REQUESTS, request_body("mine", **identity))
    assert resp.status == 201, resp.body
    assert resp.body["spec"].get("username", "") == identity.get("username", "")


async def test_adding_approved_is_allowed_because_the_embedded_authorizer_allows_everything(shipped: Api) -> None:
    await create(shipped, REQUESTS, request_body("held"))
    approved = {"type": "Approved", "status": "True", "reason": "ByHand", "message": "ok",
                "lastTransitionTime": "2026-01-01T00:00:00Z"}
    resp = await shipped.patch(f"{REQUESTS}/held/status", {"status": {"conditions": [approved]}})
    assert resp.status == 200, resp.body
    assert resp.body["status"]["conditions"] == [approved]
    # a later update (the condition already there) is not a new decision either
    resp = await shipped.patch(f"{REQUESTS}/held", {"metadata": {"labels": {"seen": "yes"}}}, ctype=MERGE)
    assert resp.status == 200, resp.body


def configmap_policy(name: str, failure_policy: str, expression: str) -> dict[str, Any]:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {"failurePolicy": failure_policy,
                     "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                             "operations": ["CREATE", "UPDATE"],
                                                             "resources": ["configmaps"]}]},
                     "validations": [{"expression": expression, "reason": "Forbidden"}]}}


def bound(name: str, actions: tuple[str, ...] = ("Deny",)) -> dict[str, Any]:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name}, "spec": {"policyName": name, "validationActions": list(actions)}}


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}


async def test_an_expression_that_errors_refuses_under_fail_and_admits_under_ignore(api: Api) -> None:
    await create(api, POLICIES, configmap_policy("strict", "Fail", "object.data.x == 'y'"))
    await create(api, BINDINGS, bound("strict"))
    resp = await api.post(CONFIGMAPS, configmap("c1"))
    message = ("ValidatingAdmissionPolicy 'strict' with binding 'strict' denied request: expression "
               "'object.data.x == 'y'' resulted in error: no such key: data")
    assert resp.status == 422
    assert resp.body["reason"] == "Invalid"  # an evaluation error has no reason of its own
    assert resp.body["message"] == f'configmaps "c1" is forbidden: {message}'
    assert resp.body["details"] == {"name": "c1", "kind": "configmaps", "causes": [{"message": message}]}

    lenient = configmap_policy("strict", "Ignore", "object.data.x == 'y'")
    current = await api.get(f"{POLICIES}/strict")
    lenient["metadata"]["resourceVersion"] = current.rv
    assert (await api.put(f"{POLICIES}/strict", lenient)).status == 200
    assert (await api.post(CONFIGMAPS, configmap("c1"))).status == 201


async def test_a_policy_without_a_binding_does_nothing_and_warn_only_warns(api: Api) -> None:
    await create(api, POLICIES, configmap_policy("never", "Fail", "false"))
    assert (await api.post(CONFIGMAPS, configmap("c1"))).status == 201
    await create(api, BINDINGS, bound("never", ("Warn",)))
    resp = await api.post(CONFIGMAPS, configmap("c2"))
    assert resp.status == 201
    assert "Validation failed for ValidatingAdmissionPolicy 'never' with binding 'never': failed expression: false" \
        in resp.headers.get("Warning", "")
    assert (await api.delete(f"{BINDINGS}/never")).status == 200
    await create(api, BINDINGS, bound("never"))
    assert (await api.post(CONFIGMAPS, configmap("c3"))).status == 403
    assert (await api.delete(f"{BINDINGS}/never")).status == 200
    assert (await api.post(CONFIGMAPS, configmap("c3"))).status == 201


async def test_a_policy_is_checked_and_defaulted_when_written(api: Api) -> None:
    empty = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
             "metadata": {"name": "bad"}, "spec": {}}
    resp = await api.post(POLICIES, empty)
    assert resp.status == 422
    assert resp.body["message"] == (
        'ValidatingAdmissionPolicy.admissionregistration.k8s.io "bad" is invalid: [spec.matchConstraints: Required '
        "value, spec.validations: Required value: validations or auditAnnotations must contain at least one item, "
        "spec.auditAnnotations: Required value: validations or auditAnnotations must contain at least one item]")
    resp = await api.post(POLICIES, configmap_policy("good", "Fail", "true"))
    assert resp.status == 201
    assert resp.body["status"] == {} and resp.body["metadata"]["generation"] == 1
    assert resp.body["spec"]["matchConstraints"]["matchPolicy"] == "Equivalent"
    assert resp.body["spec"]["matchConstraints"]["resourceRules"][0]["scope"] == "*"
    resp = await api.post(BINDINGS, {**bound("good"), "spec": {}})
    assert resp.status == 422
    assert resp.body["message"] == ('ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io "good" is invalid: '
                                    "[spec.policyName: Required value, spec.validationActions: Required value]")


async def test_discovery_lists_the_two_kinds_as_a_real_server_does(api: Api) -> None:
    resp = await api.get(GROUP)
    assert resp.status == 200
    entries = {e["name"]: e for e in resp.body["resources"]}
    verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    assert entries["validatingadmissionpolicies"] == {
        "name": "validatingadmissionpolicies", "singularName": "validatingadmissionpolicy", "namespaced": False,
        "kind": "ValidatingAdmissionPolicy", "verbs": verbs, "categories": ["api-extensions"]}
    assert entries["validatingadmissionpolicies/status"] == {
        "name": "validatingadmissionpolicies/status", "singularName": "", "namespaced": False,
        "kind": "ValidatingAdmissionPolicy", "verbs": ["get", "patch", "update"]}
    assert entries["validatingadmissionpolicybindings"] == {
        "name": "validatingadmissionpolicybindings", "singularName": "validatingadmissionpolicybinding",
        "namespaced": False, "kind": "ValidatingAdmissionPolicyBinding", "verbs": verbs,
        "categories": ["api-extensions"]}
    index = await api.get("/openapi/v3")
    assert "apis/admissionregistration.k8s.io/v1" in index.body["paths"]


@pytest.mark.tools
def test_kubectl_applies_the_policy_and_reports_the_refusal_in_the_real_servers_words(
        apiserver_thread: ServerThread, tmp_path: pathlib.Path) -> None:
    home = tmp_path / "home"
    home.mkdir()

    def kubectl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([require_tool("kubectl"), "--kubeconfig", str(apiserver_thread.kubeconfig_path),
                               "--cache-dir", str(tmp_path / "cache"), *args], input=stdin, capture_output=True,
                              text=True, timeout=60, check=False, env={"HOME": str(home), "PATH": "/usr/bin:/bin"})

    applied = kubectl("apply", "-f", str(ROOT / "crds" / "certificaterequests.cert-manager.io.yaml"),
                      "-f", str(ROOT / "manifests" / "admission.yaml"))
    assert applied.returncode == 0, applied.stderr
    assert f"validatingadmissionpolicy.admissionregistration.k8s.io/{POLICY} created" in applied.stdout
    assert f"validatingadmissionpolicybinding.admissionregistration.k8s.io/{POLICY} created" in applied.stdout
    listed = kubectl("get", "validatingadmissionpolicies")
    assert listed.stdout.split("\n")[0].split() == ["NAME", "VALIDATIONS", "PARAMKIND", "AGE"]
    assert listed.stdout.split("\n")[1].split()[:3] == [POLICY, "5", "<unset>"]
    kubectl("wait", "--for=condition=Established", "crd/certificaterequests.cert-manager.io", "--timeout=20s")
    forged = kubectl("create", "-f", "-", stdin=json.dumps(request_body("forged", username="someone-else")))
    assert forged.returncode == 1
    assert forged.stderr.strip() == (  # word for word what kubectl prints against a real kube-apiserver 1.37
        'Error from server (Forbidden): error when creating "STDIN": certificaterequests.cert-manager.io "forged" is '
        f"forbidden: {DENIED}spec.username: Forbidden: username identity must be that of the requester")
