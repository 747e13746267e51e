"""The deployment in manifests/ as kubectl sees it: `kubectl kustomize` renders both installs (cluster-wide
and namespaced/), the rendered objects say what the Deployment promises (one image, leader election,
hardened securityContext, probes, metrics Service), the controller's RBAC is exactly the least-privilege
set we decided on, the aggregated user roles never let users write Orders or Challenges, and
`kubectl apply -k` installs everything into the embedded API server. Also the Dockerfile's build
context. The real kubectl is required; a missing one fails loudly."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
from typing import Any

import pytest
import yaml

from issuer.testing.server import ServerThread
from tests import rbac
from tests.apiserver.conftest import require_tool

pytestmark = pytest.mark.tools

ROOT = pathlib.Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"
NAMESPACED = MANIFESTS / "namespaced"
IMAGE = "ghcr.io/example/issuer:0.1.0"
CM = "cert-manager.io"
ACME = "acme.cert-manager.io"
READ = ("get", "list", "watch")
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection", "*")


def _run_kubectl(
    *args: str,
    cache: pathlib.Path,
    kubeconfig: pathlib.Path | None = None,
    stdin: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    home = cache.parent / "kubectl-home"
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home)}
    cmd = [require_tool("kubectl"), "--cache-dir", str(cache)]
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
        cmd += ["--kubeconfig", str(kubeconfig)]
    proc = subprocess.run([*cmd, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def _render(path: pathlib.Path, tmp: pathlib.Path) -> str:
    return _run_kubectl("kustomize", str(path), cache=tmp / "kubectl-cache").stdout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> str:
    """`kubectl kustomize manifests/`: the cluster-wide install."""
    return _render(MANIFESTS, tmp_path_factory.mktemp("kustomize"))


@pytest.fixture(scope="module")
def rendered_namespaced(tmp_path_factory: pytest.TempPathFactory) -> str:
    """`kubectl kustomize manifests/namespaced/`: the single-namespace install."""
    return _render(NAMESPACED, tmp_path_factory.mktemp("kustomize"))


def _objects(text: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in rbac.documents(text)}


def _deployment(text: str) -> dict[str, Any]:
    return _objects(text)[("Deployment", "issuer")]


def _container(text: str) -> dict[str, Any]:
    (container,) = _deployment(text)["spec"]["template"]["spec"]["containers"]
    return container


def _walk(node: Any, key: str) -> list[Any]:
    """Every value stored under `key` anywhere in a parsed document."""
    found: list[Any] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                found.append(v)
            found += _walk(v, key)
    elif isinstance(node, list):
        for item in node:
            found += _walk(item, key)
    return found


# --------------------------------------------------------------------------------------------- rendering


def test_kustomize_renders_every_object_of_the_cluster_wide_install(rendered: str) -> None:
    objects = _objects(rendered)
    kinds = {kind for kind, _ in objects}
    assert kinds == {
        "Namespace",
        "CustomResourceDefinition",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "Service",
        "Deployment",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    }
    assert {name for kind, name in objects if kind == "CustomResourceDefinition"} == {
        "certificates.cert-manager.io",
        "certificaterequests.cert-manager.io",
        "issuers.cert-manager.io",
        "clusterissuers.cert-manager.io",
        "orders.acme.cert-manager.io",
        "challenges.acme.cert-manager.io",
    }
    assert ("Namespace", "cert-manager") in objects
    # The admission policy is bound, cluster-scoped, and refuses (Deny) rather than only warning.
    binding = objects[("ValidatingAdmissionPolicyBinding", "issuer-certificaterequest-identity")]
    assert binding["spec"] == {"policyName": "issuer-certificaterequest-identity", "validationActions": ["Deny"]}
    assert ("ValidatingAdmissionPolicy", "issuer-certificaterequest-identity") in objects
    for (kind, name), doc in objects.items():
        labels = doc["metadata"].get("labels") or {}
        assert labels.get("app.kubernetes.io/name") == "issuer", (kind, name)
        assert labels.get("app.kubernetes.io/part-of") == "issuer", (kind, name)
        if kind in ("ServiceAccount", "Role", "RoleBinding", "Service", "Deployment"):
            assert doc["metadata"]["namespace"] == "cert-manager", (kind, name)


def test_the_image_is_named_once_and_also_reaches_the_solver_flag(rendered: str) -> None:
    docs = rbac.documents(rendered)
    assert set(_walk(docs, "image")) == {IMAGE}
    # No placeholder left behind, no second registry path or tag anywhere in the output.
    assert re.findall(r"ghcr\.io/example/issuer\S*", rendered) == [IMAGE, IMAGE]
    assert not re.search(r"^\s*(- )?image: issuer\s*$", rendered, re.MULTILINE)
    container = _container(rendered)
    env = {item["name"]: item for item in container["env"]}
    assert env["ISSUER_IMAGE"]["value"] == container["image"] == IMAGE
    assert "--acme-http01-solver-image=$(ISSUER_IMAGE)" in container["args"]


def test_the_deployment_runs_two_replicas_with_leader_election(rendered: str) -> None:
    deployment = _deployment(rendered)
    assert deployment["spec"]["replicas"] == 2
    container = _container(rendered)
    assert container["args"] == [
        "run",
        "--leader-elect",
        "--leader-election-namespace=$(POD_NAMESPACE)",
        "--cluster-resource-namespace=$(POD_NAMESPACE)",
        "--metrics-listen-address=:9402",
        "--health-listen-address=:9403",
        "--acme-http01-solver-image=$(ISSUER_IMAGE)",
    ]
    env = {item["name"]: item for item in container["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    # $(VAR) in args only expands for variables defined in env.
    for ref in re.findall(r"\$\((\w+)\)", " ".join(container["args"])):
        assert ref in env, ref
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "issuer"
    assert pod["automountServiceAccountToken"] is True
    anti = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert (
        anti[0]["podAffinityTerm"]["labelSelector"]["matchLabels"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    assert "priorityClassName" not in pod


def test_the_pod_is_hardened(rendered: str) -> None:
    pod = _deployment(rendered)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 1000
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = _container(rendered)
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["resources"] == {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}
    # The read-only root filesystem gets a writable /tmp.
    (mount,) = container["volumeMounts"]
    assert mount["mountPath"] == "/tmp"
    (volume,) = pod["volumes"]
    assert volume["name"] == mount["name"] and "emptyDir" in volume


def test_probes_and_ports(rendered: str) -> None:
    container = _container(rendered)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http-metrics": 9402, "http-healthz": 9403}
    for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
        get = container[probe]["httpGet"]
        assert get["path"] == path
        assert ports.get(get["port"], get["port"]) == 9403


def test_the_metrics_service_selects_the_controller_pods(rendered: str) -> None:
    objects = _objects(rendered)
    service = objects[("Service", "issuer-metrics")]
    (port,) = service["spec"]["ports"]
    assert port["name"] == "tcp-prometheus-servicemonitor"
    assert port["port"] == 9402
    assert {p["name"]: p["containerPort"] for p in _container(rendered)["ports"]}[port["targetPort"]] == 9402
    selector = service["spec"]["selector"]
    assert selector["app.kubernetes.io/name"] == "issuer"
    deployment = objects[("Deployment", "issuer")]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert (
        deployment["spec"]["selector"]["matchLabels"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )


# --------------------------------------------------------------------------------------------- RBAC

WATCH = ("list", "watch")
EXPECTED_CONTROLLER_RULES: set[rbac.Rule] = {
    # Informers on the cert-manager kinds (no get: controllers read their caches).
    *((CM, r, v) for r in ("certificates", "certificaterequests", "issuers", "clusterissuers") for v in WATCH),
    # Status through the /status subresource, always patched.
    *((CM, f"{r}/status", "patch") for r in ("certificates", "certificaterequests", "issuers", "clusterissuers")),
    # request-manager / revision-manager (get: a request whose create answered AlreadyExists).
    *((CM, "certificaterequests", v) for v in ("get", "create", "delete")),
    # ingress-shim.
    *((CM, "certificates", v) for v in ("create", "update", "delete")),
    # blockOwnerDeletion ownerReferences.
    (CM, "certificates/finalizers", "update"),
    (CM, "certificaterequests/finalizers", "update"),
    ("networking.k8s.io", "ingresses/finalizers", "update"),
    # The approver.
    (CM, "signers", "approve"),
    # ACME: the signer creates and deletes Orders, the orders controller Challenges; the challenges
    # controller patches its finalizer away.
    *((ACME, "orders", v) for v in (*WATCH, "create", "delete")),
    *((ACME, "challenges", v) for v in (*WATCH, "create", "delete", "patch")),
    *((ACME, f"{r}/status", "patch") for r in ("orders", "challenges")),
    (ACME, "orders/finalizers", "update"),
    (ACME, "challenges/finalizers", "update"),
    # Core.
    *(("", "secrets", v) for v in ("get", *WATCH, "create", "patch", "delete")),
    ("", "events", "create"),
    ("", "events", "patch"),
    *(("", r, v) for r in ("pods", "services") for v in (*WATCH, "create", "delete")),
    *(("networking.k8s.io", "ingresses", v) for v in ("get", *WATCH, "create", "update", "delete")),
    # Leader election (a Role in the controller's namespace).
    ("coordination.k8s.io", "leases", "get"),
    ("coordination.k8s.io", "leases", "create"),
    ("coordination.k8s.io", "leases", "update"),
    # kopf discovers the CRDs it serves and watches for new ones.
    *(("apiextensions.k8s.io", "customresourcedefinitions", v) for v in WATCH),
}


def test_rbac_rules_parse_and_are_explicit(rendered: str, rendered_namespaced: str) -> None:
    known_verbs = {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "approve"}
    for text in (rendered, rendered_namespaced):
        for doc in rbac.documents(text):
            if doc["kind"] not in rbac.ROLE_KINDS:
                continue
            assert doc["rules"], doc["metadata"]["name"]
            for rule in doc["rules"]:
                assert set(rule) <= {"apiGroups", "resources", "verbs", "resourceNames"}, rule
                for field in ("apiGroups", "resources", "verbs"):
                    assert isinstance(rule[field], list) and rule[field], (doc["metadata"]["name"], rule)
                    assert "*" not in rule[field], (doc["metadata"]["name"], rule)
                assert set(rule["verbs"]) <= known_verbs, rule
                # `approve` only on the signers of our own issuer kinds.
                if "approve" in rule["verbs"]:
                    assert rule["resources"] == ["signers"] and rule["resourceNames"], rule
                    assert set(rule["resourceNames"]) <= {
                        "issuers.cert-manager.io/*",
                        "clusterissuers.cert-manager.io/*",
                    }


def test_the_controller_is_granted_exactly_the_least_privilege_set(rendered: str) -> None:
    granted = rbac.granted_rules(rendered, namespace="cert-manager")
    assert sorted(granted - EXPECTED_CONTROLLER_RULES) == []
    assert sorted(EXPECTED_CONTROLLER_RULES - granted) == []


def test_bindings_point_at_existing_roles_and_only_at_the_controller(rendered: str) -> None:
    objects = _objects(rendered)
    for (kind, name), doc in objects.items():
        if kind not in rbac.BINDING_KINDS:
            continue
        ref = doc["roleRef"]
        assert (ref["kind"], ref["name"]) in objects, (kind, name)
        assert doc["subjects"] == [{"kind": "ServiceAccount", "name": "issuer", "namespace": "cert-manager"}]
    # Leases only through the namespaced Role, never cluster-wide.
    for (kind, name), doc in objects.items():
        if kind == "ClusterRole":
            assert not rbac.allows(rbac.flatten(doc["rules"]), "coordination.k8s.io", "leases", "get"), name
    assert rbac.role_rules(rendered, "Role", "issuer-leader-election", "cert-manager") == {
        ("coordination.k8s.io", "leases", v) for v in ("get", "create", "update")
    }


def test_user_roles_aggregate_like_cert_managers(rendered: str) -> None:
    objects = _objects(rendered)
    view_labels = objects[("ClusterRole", "cert-manager-view")]["metadata"]["labels"]
    edit_labels = objects[("ClusterRole", "cert-manager-edit")]["metadata"]["labels"]
    for suffix in ("view", "edit", "admin"):
        assert view_labels[f"rbac.authorization.k8s.io/aggregate-to-{suffix}"] == "true"
    for suffix in ("edit", "admin"):
        assert edit_labels[f"rbac.authorization.k8s.io/aggregate-to-{suffix}"] == "true"
    assert "rbac.authorization.k8s.io/aggregate-to-view" not in edit_labels
    view = rbac.role_rules(rendered, "ClusterRole", "cert-manager-view")
    assert view == {
        *((CM, r, v) for r in ("certificates", "certificaterequests", "issuers") for v in READ),
        *((ACME, r, v) for r in ("orders", "challenges") for v in READ),
    }
    edit = rbac.role_rules(rendered, "ClusterRole", "cert-manager-edit")
    assert edit == {
        *(
            (CM, r, v)
            for r in ("certificates", "certificaterequests", "issuers")
            for v in ("create", "delete", "deletecollection", "patch", "update")
        ),
        (CM, "certificates/status", "update"),
    }


def test_no_aggregated_user_role_may_write_orders_or_challenges(rendered: str) -> None:
    """GHSA-8rvj-mm4h-c258: users must not steer a ClusterIssuer's ACME credentials through Orders or
    Challenges they create or edit."""
    aggregated = [
        doc
        for doc in rbac.documents(rendered)
        if doc["kind"] == "ClusterRole"
        and any(key.startswith("rbac.authorization.k8s.io/aggregate-to-") for key in doc["metadata"].get("labels", {}))
    ]
    assert {doc["metadata"]["name"] for doc in aggregated} == {
        "cert-manager-view",
        "cert-manager-edit",
        "cert-manager-cluster-view",
    }
    for doc in aggregated:
        rules = rbac.flatten(doc["rules"])
        for resource in ("orders", "challenges", "orders/status", "challenges/status"):
            for verb in WRITE_VERBS:
                assert not rbac.allows(rules, ACME, resource, verb), (doc["metadata"]["name"], resource, verb)
        # Nor do they reach Secrets or anything outside cert-manager's groups.
        assert {group for group, _, _ in rules} <= {CM, ACME}, doc["metadata"]["name"]


def test_granted_rules_follows_bindings_and_wildcards() -> None:
    text = yaml.safe_dump_all(
        [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "a"},
                "rules": [{"apiGroups": ["x"], "resources": ["things", "things/status"], "verbs": ["get", "patch"]}],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "unbound"},
                "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "a"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "a"},
                "subjects": [{"kind": "ServiceAccount", "name": "issuer", "namespace": "ns"}],
            },
        ]
    )
    granted = rbac.granted_rules(text)
    assert granted == {
        ("x", "things", "get"),
        ("x", "things", "patch"),
        ("x", "things/status", "get"),
        ("x", "things/status", "patch"),
    }
    assert rbac.granted_rules(text, namespace="elsewhere") == set()
    assert rbac.allows(granted, "x", "things", "get")
    assert not rbac.allows(granted, "x", "things", "delete")
    assert rbac.allows(rbac.role_rules(text, "ClusterRole", "unbound"), "y", "z", "delete")


# --------------------------------------------------------------------------------------------- namespaced


def test_the_namespaced_install_is_namespaced_only(rendered: str, rendered_namespaced: str) -> None:
    objects = _objects(rendered_namespaced)
    assert {kind for kind, _ in objects} == {"ServiceAccount", "Role", "RoleBinding", "Service", "Deployment"}
    namespaces = {doc["metadata"]["namespace"] for doc in objects.values()}
    assert len(namespaces) == 1
    (namespace,) = namespaces
    for (kind, _), doc in objects.items():
        if kind == "RoleBinding":
            assert doc["subjects"] == [{"kind": "ServiceAccount", "name": "issuer", "namespace": namespace}]
    container = _container(rendered_namespaced)
    assert container["args"] == [*_container(rendered)["args"], "--namespace=$(POD_NAMESPACE)"]
    assert container["image"] == IMAGE
    # The same grants as the cluster-wide install, minus what is cluster-scoped or ClusterIssuer-only.
    cluster_only = {
        *((CM, r, v) for r in ("clusterissuers", "clusterissuers/status") for v in (*READ, "update", "patch")),
        *(("apiextensions.k8s.io", "customresourcedefinitions", v) for v in READ),
    }
    namespaced = rbac.granted_rules(rendered_namespaced, namespace=namespace)
    assert sorted(namespaced ^ (rbac.granted_rules(rendered) - cluster_only)) == []
    role = objects[("Role", "issuer-controller")]
    approve = [rule for rule in role["rules"] if "approve" in rule["verbs"]]
    assert [rule["resourceNames"] for rule in approve] == [["issuers.cert-manager.io/*"]]


# --------------------------------------------------------------------------------------------- apply


def _get(kubectl: Any, *args: str) -> dict[str, Any]:
    return dict(yaml.safe_load(kubectl("get", *args, "-o", "yaml").stdout))


def test_kubectl_apply_k_installs_into_the_embedded_api_server(
    apiserver_thread: ServerThread, tmp_path: pathlib.Path
) -> None:
    def kubectl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _run_kubectl(
            *args, cache=tmp_path / "kubectl-cache", kubeconfig=apiserver_thread.kubeconfig_path, check=check
        )

    out = kubectl("apply", "-k", str(MANIFESTS)).stdout
    for line in (
        "namespace/cert-manager created",
        "customresourcedefinition.apiextensions.k8s.io/certificates.cert-manager.io created",
        "serviceaccount/issuer created",
        "role.rbac.authorization.k8s.io/issuer-leader-election created",
        "clusterrole.rbac.authorization.k8s.io/cert-manager-edit created",
        "clusterrolebinding.rbac.authorization.k8s.io/issuer-controller-challenges created",
        "service/issuer-metrics created",
        "deployment.apps/issuer created",
        "validatingadmissionpolicy.admissionregistration.k8s.io/issuer-certificaterequest-identity created",
        "validatingadmissionpolicybinding.admissionregistration.k8s.io/issuer-certificaterequest-identity created",
    ):
        assert line in out, out
    kubectl("wait", "--for=condition=Established", "crd", "-l", "app.kubernetes.io/name=issuer", "--timeout=20s")
    crds = _get(kubectl, "crd", "-l", "app.kubernetes.io/part-of=issuer")
    assert len(crds["items"]) == 6

    deployment = _get(kubectl, "deployment", "issuer", "-n", "cert-manager")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
    service = _get(kubectl, "service", "issuer-metrics", "-n", "cert-manager")
    assert service["spec"]["ports"][0]["port"] == 9402
    role = _get(kubectl, "clusterrole", "issuer-controller-certificates")
    assert any("certificates/status" in rule["resources"] for rule in role["rules"])
    edit = _get(kubectl, "clusterrole", "cert-manager-edit")
    assert edit["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    names = kubectl("get", "clusterroles", "-l", "app.kubernetes.io/part-of=issuer", "-o", "name").stdout.split()
    assert len(names) == 12, names
    policy = _get(kubectl, "validatingadmissionpolicy", "issuer-certificaterequest-identity")
    assert policy["spec"]["failurePolicy"] == "Fail" and len(policy["spec"]["validations"]) == 5
    assert policy["metadata"]["labels"]["app.kubernetes.io/part-of"] == "issuer"

    # Applying again changes nothing: what we wrote is what the server keeps. The admission policy alone is
    # "configured" every time, by a real kube-apiserver too: the server defaults `scope: "*"` into each of its
    # resourceRules, a list kubectl's patch replaces whole (and the server defaults again: nothing changes).
    again = kubectl("apply", "-k", str(MANIFESTS)).stdout
    assert "deployment.apps/issuer unchanged" in again
    policy_line = "validatingadmissionpolicy.admissionregistration.k8s.io/issuer-certificaterequest-identity configured"
    assert policy_line in again, again
    rest = again.replace(policy_line, "")
    assert "created" not in rest and "configured" not in rest, again
    assert _get(kubectl, "validatingadmissionpolicy", "issuer-certificaterequest-identity")["metadata"][
        "generation"] == 1

    # The namespaced install next to it, in a namespace its user already has.
    kubectl("create", "namespace", "issuer")
    out = kubectl("apply", "-k", str(NAMESPACED)).stdout
    assert "role.rbac.authorization.k8s.io/issuer-controller created" in out
    assert "deployment.apps/issuer created" in out
    args = _get(kubectl, "deployment", "issuer", "-n", "issuer")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--namespace=$(POD_NAMESPACE)" in args


# --------------------------------------------------------------------------------------------- image


def test_the_docker_build_context_holds_what_the_dockerfile_copies() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert stages == ["python:3.11-slim", "python:3.11-slim"]
    final = dockerfile[dockerfile.rindex("\nFROM ") :]
    assert "apt-get" not in final and "gcc" not in final  # no build tools in the final image
    assert re.search(r"^USER 1000:1000$", final, re.MULTILINE)
    assert '\nENTRYPOINT ["issuer"]\nCMD ["run"]\n' in final
    copied = {
        src for line in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.MULTILINE) for src in line.split()
    }
    assert copied == {"pyproject.toml", "README.md", "issuer/"}
    allowed = {line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")}
    assert copied <= allowed
    for src in copied:
        assert (ROOT / src).exists(), src
    # pyproject.toml's `readme` must be in the context, or `pip install .` fails in the builder.
    assert 'readme = "README.md"' in (ROOT / "pyproject.toml").read_text()
