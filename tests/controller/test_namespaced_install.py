"""The single-namespace install on the real API server: `manifests/namespaced` applied to a namespace (a
Role and RoleBinding, no ClusterRoles), the operator run with `--namespace` as that install's
ServiceAccount, so the real RBAC authorizer holds it to the Role: it serves its namespace, leaves every
other one alone, and no request it sends is refused."""

from __future__ import annotations

import pathlib
import time

import yaml

from tests.controller.conftest import REPO, Operator, fresh_name, running_cluster


def namespaced_install(rendered: str, namespace: str) -> str:
    """`kubectl kustomize manifests/namespaced` moved to `namespace` (as a user edits `namespace:`)."""
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    for doc in docs:
        if "namespace" in doc.get("metadata", {}):
            doc["metadata"]["namespace"] = namespace
        for subject in doc.get("subjects") or []:
            if "namespace" in subject:
                subject["namespace"] = namespace
        if doc.get("kind") == "Deployment":
            args = doc["spec"]["template"]["spec"]["containers"][0]["args"]
            doc["spec"]["template"]["spec"]["containers"][0]["args"] = [
                a.replace("$(POD_NAMESPACE)", namespace) for a in args]
    return yaml.safe_dump_all(docs)


def selfsigned(namespace: str, name: str) -> list[dict[str, object]]:
    return [
        {"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "ss", "namespace": namespace},
         "spec": {"selfSigned": {}}},
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": name, "namespace": namespace},
         "spec": {"secretName": f"{name}-tls", "dnsNames": [f"{name}.example.com"],
                  "privateKey": {"algorithm": "ECDSA"}, "issuerRef": {"name": "ss"}}},
    ]


def test_the_namespaced_install_serves_its_namespace_with_the_role_alone(tmp_path: pathlib.Path) -> None:
    with running_cluster(tmp_path, "real") as c:
        assert c.plane is not None and c.proxy is not None
        c.operator.stop()  # the cluster-wide one
        mine, other = fresh_name("mine"), fresh_name("other")
        c.ensure_namespace(mine)
        c.ensure_namespace(other)
        c.apply_yaml(namespaced_install(c.kubectl("kustomize", str(REPO / "manifests" / "namespaced")).stdout,
                                        mine))
        token = c.plane.service_account_kubeconfig(mine, "issuer", create=False)
        kubeconfig = c.proxy.kubeconfig_via(token, tmp_path / "namespaced.kubeconfig")
        since = time.time()
        c.operator = Operator(kubeconfig, tmp_path / "namespaced.log", "--namespace", mine,
                              "--metrics-listen-address", "", "--health-listen-address", "")
        c.operator.start()
        c.operator.wait_started()
        c.apply_yaml(yaml.safe_dump_all(selfsigned(other, "theirs") + selfsigned(mine, "ours")))
        c.wait_ready("ours", mine)
        time.sleep(2.0)
        theirs = c.must_get("Certificate", "theirs", other)
        assert not (theirs.get("status") or {}).get("conditions"), "a Certificate outside the namespace is untouched"
        assert c.get("Secret", "theirs-tls", other) is None

        identity = f"system:serviceaccount:{mine}:issuer"
        sent = [e for e in c.plane.audit_events() if (e.get("user") or {}).get("username") == identity]
        assert sent, "the namespaced operator's requests are in the audit log"
        refused = sorted({(e["verb"], e.get("requestURI", "")) for e in sent
                          if (e.get("responseStatus") or {}).get("code") == 403})
        assert not refused, f"the real authorizer refused the namespaced operator: {refused}"
        outside = sorted({e.get("requestURI", "") for e in sent
                          if (e.get("objectRef") or {}).get("namespace") not in (mine, None)
                          or ((e.get("objectRef") or {}).get("namespace") is None
                              and (e.get("objectRef") or {}).get("resource"))})
        assert not outside, f"requests outside {mine}: {outside}"
        assert c.operator.proc is not None and c.operator.alive()
        assert since > 0
