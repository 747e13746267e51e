"""Spec §3 tests 36-40: the unmodified kubernetes client, the real kubectl (own --cache-dir and HOME per
run) and `kopf run --standalone -A` operators as subprocesses, all against a `ServerThread`. Missing
kubectl or kopf fails these tests loudly; nothing is skipped."""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import signal
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from issuer.testing.resources import Obj
from issuer.testing.server import ServerThread
from tests.apiserver.conftest import require_tool, widget, widget_crd

WIDGETS_KEY = ("example.com", "widgets")


def _wait(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _get(thread: ServerThread, store_key: tuple[str, str], namespace: str, name: str) -> Obj | None:
    return thread.run(lambda: thread.srv.store.get(store_key, (namespace, name)))


def _api(thread: ServerThread, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call an engine method on the server's loop."""
    return thread.run(lambda: getattr(thread.srv.engine, method)(*args, **kwargs))


def _res(thread: ServerThread, group: str, version: str, plural: str) -> Any:
    return thread.srv.engine.resource(group, version, plural)


@pytest.fixture
def kube(apiserver_thread: ServerThread) -> Iterator[client.ApiClient]:
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(apiserver_thread.kubeconfig_path), client_configuration=cfg)
    api_client = client.ApiClient(cfg)
    try:
        yield api_client
    finally:
        api_client.close()


def test_python_client_roundtrip(apiserver_thread: ServerThread, kube: client.ApiClient) -> None:
    core = client.CoreV1Api(kube)
    custom = client.CustomObjectsApi(kube)
    ext = client.ApiextensionsV1Api(kube)
    coord = client.CoordinationV1Api(kube)
    # Secret CRUD (POST/PUT carry no Content-Type; dict patches are strategic merge)
    secret = core.create_namespaced_secret("default", {"metadata": {"name": "s1"}, "stringData": {"a": "b"}})
    assert secret.data == {"a": "Yg=="} and secret.type == "Opaque"
    patched = core.patch_namespaced_secret("s1", "default", {"metadata": {"labels": {"x": "y"}}})
    assert patched.metadata.labels == {"x": "y"}
    patched.data["c"] = "ZA=="
    replaced = core.replace_namespaced_secret("s1", "default", patched)
    assert replaced.data == {"a": "Yg==", "c": "ZA=="}
    listed = core.list_namespaced_secret("default", label_selector="x=y", limit=1)
    assert [s.metadata.name for s in listed.items] == ["s1"]
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_secret("nope", "default")
    assert exc.value.status == 404 and json.loads(exc.value.body)["reason"] == "NotFound"
    core.delete_namespaced_secret("s1", "default")
    # CRD and custom objects
    ext.create_custom_resource_definition(widget_crd())
    _wait(lambda: (_get(apiserver_thread, ("apiextensions.k8s.io", "customresourcedefinitions"), "",
                        "widgets.example.com") or {}).get("status", {}).get("conditions"), what="Established")
    args = ("example.com", "v1", "default", "widgets")
    created = custom.create_namespaced_custom_object(*args, widget("w1"))
    assert created["metadata"]["generation"] == 1
    got = custom.get_namespaced_custom_object(*args, "w1")
    assert got["spec"] == {"size": 1, "shape": "round"}
    assert [i["metadata"]["name"] for i in custom.list_namespaced_custom_object(*args)["items"]] == ["w1"]
    assert len(custom.list_cluster_custom_object("example.com", "v1", "widgets")["items"]) == 1
    patched_obj = custom.patch_namespaced_custom_object(*args, "w1", {"spec": {"size": 2}})
    assert patched_obj["spec"]["size"] == 2 and patched_obj["metadata"]["generation"] == 2
    status = custom.patch_namespaced_custom_object_status(*args, "w1", {"status": {"phase": "Ready"}})
    assert status["status"] == {"phase": "Ready"}
    with pytest.raises(ApiException) as exc:  # a JSON-patch list under the default merge-patch content type
        custom.patch_namespaced_custom_object(*args, "w1", [{"op": "replace", "path": "/spec/size", "value": 3}])
    assert exc.value.status == 400  # kube v1.37 (it was a 422 Invalid before)
    json_patched = custom.patch_namespaced_custom_object(
        *args, "w1", [{"op": "replace", "path": "/spec/size", "value": 3}],
        _content_type="application/json-patch+json")
    assert json_patched["spec"]["size"] == 3
    json_patched["spec"]["size"] = 4
    replaced_obj = custom.replace_namespaced_custom_object(*args, "w1", json_patched)
    assert replaced_obj["spec"]["size"] == 4 and replaced_obj["status"] == {"phase": "Ready"}
    with pytest.raises(ApiException) as exc:
        custom.replace_namespaced_custom_object(*args, "w1", json_patched)  # stale resourceVersion
    assert exc.value.status == 409 and json.loads(exc.value.body)["reason"] == "Conflict"
    custom.delete_namespaced_custom_object(*args, "w1")
    with pytest.raises(ApiException) as exc:
        custom.get_namespaced_custom_object(*args, "w1")
    assert exc.value.status == 404
    # Lease CRUD as leader election does it, with conflicts
    stamp = datetime.datetime.now(datetime.UTC)
    lease = coord.create_namespaced_lease("default", client.V1Lease(
        metadata=client.V1ObjectMeta(name="leader"),
        spec=client.V1LeaseSpec(holder_identity="a", lease_duration_seconds=15, acquire_time=stamp,
                                renew_time=stamp, lease_transitions=0)))
    assert lease.spec.holder_identity == "a"
    raw = _get(apiserver_thread, ("coordination.k8s.io", "leases"), "default", "leader")
    assert raw is not None and raw["spec"]["renewTime"].endswith("Z") and len(raw["spec"]["renewTime"]) == 27
    lease.spec.holder_identity = "b"
    lease.spec.lease_transitions = 1
    updated = coord.replace_namespaced_lease("leader", "default", lease)
    assert updated.spec.holder_identity == "b"
    with pytest.raises(ApiException) as exc:
        coord.replace_namespaced_lease("leader", "default", lease)
    assert exc.value.status == 409
    coord.delete_namespaced_lease("leader", "default")
    assert coord.list_namespaced_lease("default").items == []


# --------------------------------------------------------------------------------------------- kubectl


class Kubectl:
    def __init__(self, thread: ServerThread, tmp: pathlib.Path) -> None:
        self.binary = require_tool("kubectl")
        self.thread = thread
        self.tmp = tmp
        home = tmp / "kubectl-home"
        home.mkdir(exist_ok=True)
        self.env = {**os.environ, "HOME": str(home), "KUBECONFIG": str(thread.kubeconfig_path)}
        self.base = [self.binary, "--kubeconfig", str(thread.kubeconfig_path), "--cache-dir",
                     str(tmp / "kubectl-cache")]

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([*self.base, *args], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def __call__(self, *args: str, stdin: str | None = None, check: bool = True,
                 timeout: float = 30) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*self.base, *args], env=self.env, input=stdin, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n"
                                 f"{proc.stderr}")
        return proc

    def apply(self, obj: Any, *args: str) -> subprocess.CompletedProcess[str]:
        return self("apply", "-f", "-", *args, stdin=yaml.safe_dump(obj))


@pytest.fixture
def kubectl(apiserver_thread: ServerThread, tmp_path: pathlib.Path) -> Kubectl:
    return Kubectl(apiserver_thread, tmp_path)


def test_kubectl_apply_get_wait_describe_delete(kubectl: Kubectl, apiserver_thread: ServerThread) -> None:
    thread = apiserver_thread
    assert "created" in kubectl.apply(widget_crd()).stdout
    kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=10s")
    assert "widget.example.com/w1 created" in kubectl.apply(widget("w1", color="red")).stdout
    assert "widget.example.com/w1 configured" in kubectl.apply(widget("w1", 2, color="red")).stdout
    assert "unchanged" in kubectl.apply(widget("w1", 2, color="red")).stdout
    strict = kubectl("apply", "-f", "-", stdin=yaml.safe_dump(widget("w1", 2, color="red", bogus=1)), check=False)
    assert strict.returncode != 0 and 'unknown field "spec.bogus"' in strict.stderr
    out = kubectl("get", "widgets", "-o", "wide").stdout.splitlines()
    assert out[0].split() == ["NAME", "READY", "COLOR", "SIZE", "AGE"]
    assert out[1].split()[:3] == ["w1", "red", "2"]  # the missing READY cell (null) prints blank
    assert kubectl("get", "wi").stdout.splitlines()[0].split() == ["NAME", "READY", "COLOR", "AGE"]
    doc = yaml.safe_load(kubectl("get", "widget", "w1", "-o", "yaml").stdout)
    assert doc["spec"]["size"] == 2 and doc["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in doc["metadata"]["annotations"]
    # wait: the condition arrives while kubectl watches
    waiter = kubectl.popen("wait", "--for=condition=Ready", "widget/w1", "--timeout=20s")
    time.sleep(0.5)
    res = _res(thread, "example.com", "v1", "widgets")
    _api(thread, "patch", res, "default", "w1", "application/merge-patch+json",
         json.dumps({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}).encode(),
         subresource="status")
    _, err = waiter.communicate(timeout=25)
    assert waiter.returncode == 0, err
    # describe shows events posted through either events API
    uid = doc["metadata"]["uid"]
    events = _res(thread, "", "v1", "events")
    _api(thread, "create", events, "default", {
        "metadata": {"name": "w1.1"}, "type": "Normal", "reason": "Issued", "message": "it worked",
        "source": {"component": "issuer"}, "count": 1, "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:00:00Z",
        "involvedObject": {"apiVersion": "example.com/v1", "kind": "Widget", "name": "w1", "namespace": "default",
                           "uid": uid}})
    described = kubectl("describe", "widget", "w1").stdout
    assert "Issued" in described and "it worked" in described and "issuer" in described
    assert "Issued" in kubectl("get", "events").stdout
    # delete waits for the finalizer to be released
    _api(thread, "patch", res, "default", "w1", "application/merge-patch+json",
         b'{"metadata":{"finalizers":["example.com/hold"]}}')
    deleter = kubectl.popen("delete", "widget", "w1", "--timeout=20s")
    _wait(lambda: (_get(thread, WIDGETS_KEY, "default", "w1") or {}).get("metadata", {}).get("deletionTimestamp"),
          what="deletionTimestamp")
    time.sleep(0.3)
    assert deleter.poll() is None  # still waiting
    _api(thread, "patch", res, "default", "w1", "application/merge-patch+json", b'{"metadata":{"finalizers":null}}')
    out_text, err = deleter.communicate(timeout=25)
    assert deleter.returncode == 0, err
    assert 'widget.example.com "w1" deleted' in out_text
    assert "No resources found" in kubectl("get", "widgets").stderr + kubectl("get", "widgets").stdout


def test_kubectl_apply_server_side_and_dry_run_server(kubectl: Kubectl, apiserver_thread: ServerThread) -> None:
    thread = apiserver_thread
    kubectl.apply(widget_crd())
    kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=10s")
    out = kubectl("apply", "--server-side", "-f", "-", stdin=yaml.safe_dump(widget("w1", color="blue"))).stdout
    assert "serverside-applied" in out
    stored = _get(thread, WIDGETS_KEY, "default", "w1")
    assert stored is not None and stored["spec"]["color"] == "blue"
    assert any(m["manager"] == "kubectl" for m in stored["metadata"]["managedFields"])
    kubectl("apply", "--server-side", "-f", "-", stdin=yaml.safe_dump(widget("w1", 5, color="blue")))
    stored = _get(thread, WIDGETS_KEY, "default", "w1")
    assert stored is not None and stored["spec"]["size"] == 5
    dry = kubectl.apply(widget("w2"), "--dry-run=server").stdout
    assert "w2 created (server dry run)" in dry
    assert _get(thread, WIDGETS_KEY, "default", "w2") is None
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"}, "stringData": {"a": "b"}}
    kubectl.apply(secret)
    secret["stringData"] = {"a": "c"}
    assert "secret/s1 configured" in kubectl.apply(secret).stdout
    stored_secret = _get(thread, ("", "secrets"), "default", "s1")
    assert stored_secret is not None and stored_secret["data"] == {"a": "Yw=="}
    rv = stored_secret["metadata"]["resourceVersion"]
    kubectl.apply({**secret, "stringData": {"a": "d"}}, "--dry-run=server")
    after = _get(thread, ("", "secrets"), "default", "s1")
    assert after is not None and after["metadata"]["resourceVersion"] == rv


def test_kubectl_apply_kustomization(kubectl: Kubectl, apiserver_thread: ServerThread,
                                     tmp_path: pathlib.Path) -> None:
    base = tmp_path / "manifests"
    base.mkdir()
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "issuer-system"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "issuer", "namespace": "issuer-system"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "issuer"},
         "rules": [{"apiGroups": ["cert-manager.io"], "resources": ["*"], "verbs": ["*"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "issuer"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "issuer"},
         "subjects": [{"kind": "ServiceAccount", "name": "issuer", "namespace": "issuer-system"}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "leader", "namespace": "issuer-system"},
         "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "leader", "namespace": "issuer-system"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "leader"},
         "subjects": [{"kind": "ServiceAccount", "name": "issuer", "namespace": "issuer-system"}]},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "issuer", "namespace": "issuer-system"},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "issuer"}},
                  "template": {"metadata": {"labels": {"app": "issuer"}},
                               "spec": {"serviceAccountName": "issuer",
                                        "containers": [{"name": "issuer", "image": "issuer:dev",
                                                        "ports": [{"containerPort": 9402}]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "issuer", "namespace": "issuer-system"},
         "spec": {"selector": {"app": "issuer"}, "ports": [{"port": 9402, "targetPort": 9402}]}},
    ]
    (base / "all.yaml").write_text(yaml.safe_dump_all(docs))
    (base / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": ["all.yaml"],
        "labels": [{"pairs": {"app.kubernetes.io/name": "issuer"}}]}))
    out = kubectl("apply", "-k", str(base)).stdout
    assert "deployment.apps/issuer created" in out and "clusterrolebinding.rbac.authorization.k8s.io/issuer created" \
        in out
    again = kubectl("apply", "-k", str(base)).stdout
    assert "deployment.apps/issuer unchanged" in again
    stored = _get(apiserver_thread, ("apps", "deployments"), "issuer-system", "issuer")
    assert stored is not None and stored["metadata"]["labels"]["app.kubernetes.io/name"] == "issuer"
    assert "issuer" in kubectl("get", "deploy,svc,sa", "-n", "issuer-system").stdout


def test_kubectl_create_builtins_sends_protobuf(kubectl: Kubectl, apiserver_thread: ServerThread,
                                                tmp_path: pathlib.Path) -> None:
    """kubectl's typed `create` commands send protobuf bodies; the server decodes the common kinds."""
    kubectl("create", "namespace", "team")
    kubectl("create", "secret", "generic", "s", "-n", "team", "--from-literal=a=b", "--from-literal=c=")
    kubectl("create", "configmap", "c", "-n", "team", "--from-literal=k=v")
    kubectl("create", "serviceaccount", "bot", "-n", "team")
    kubectl("create", "role", "r", "-n", "team", "--verb=get,list", "--resource=secrets")
    kubectl("create", "rolebinding", "rb", "-n", "team", "--role=r", "--serviceaccount=team:bot")
    (tmp_path / "tls.crt").write_text("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")
    (tmp_path / "tls.key").write_text("-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n")
    tls = kubectl("create", "secret", "tls", "ca", "-n", "team", f"--cert={tmp_path / 'tls.crt'}",
                  f"--key={tmp_path / 'tls.key'}", check=False)
    secret = _get(apiserver_thread, ("", "secrets"), "team", "s")
    assert secret is not None and secret["data"] == {"a": "Yg==", "c": ""} and secret["type"] == "Opaque"
    assert "generateName" not in secret["metadata"]
    binding = _get(apiserver_thread, ("rbac.authorization.k8s.io", "rolebindings"), "team", "rb")
    assert binding is not None and binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                          "name": "r"}
    assert _get(apiserver_thread, ("", "configmaps"), "team", "c") is not None
    if tls.returncode == 0:
        stored = _get(apiserver_thread, ("", "secrets"), "team", "ca")
        assert stored is not None and stored["type"] == "kubernetes.io/tls"
    unsupported = kubectl("create", "deployment", "d", "--image=x", check=False)
    assert unsupported.returncode != 0 and "not supported by the embedded server" in unsupported.stderr


# ------------------------------------------------------------------------------------------------ kopf

OPERATOR = textwrap.dedent('''
    import kopf
    import kubernetes

    @kopf.on.startup()
    def configure(settings, **_):
        settings.watching.server_timeout = 30
        settings.posting.level = 20
        # a deletion that lands while the timer runs waits for the timer to exit, checked every
        # cancellation_polling seconds (60 by default: the finalizer would outlive the test's wait)
        settings.background.cancellation_polling = 0.2
        kubernetes.config.load_kube_config()

    @kopf.on.create("example.com", "v1", "widgets")
    def create_fn(spec, name, namespace, body, patch, **_):
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{name}-secret"},
                  "stringData": {"size": str(spec["size"])}}
        kopf.adopt(secret, owner=body)
        kubernetes.client.CoreV1Api().create_namespaced_secret(namespace, secret)
        kopf.info(body, reason="SecretCreated", message=f"created {name}-secret")
        patch.status["conditions"] = [{"type": "Ready", "status": "True"}]
        return {"secret": f"{name}-secret"}

    @kopf.on.update("example.com", "v1", "widgets", field="spec.size")
    def update_fn(new, patch, **_):
        patch.status["observedSize"] = new

    @kopf.on.delete("example.com", "v1", "widgets")
    def delete_fn(name, **_):
        pass

    @kopf.timer("example.com", "v1", "widgets", interval=0.5)
    def tick(patch, **_):
        patch.status["ticked"] = True
''')


class Operator:
    def __init__(self, thread: ServerThread, tmp: pathlib.Path) -> None:
        kopf = require_tool("kopf")
        self.path = tmp / "operator.py"
        self.path.write_text(OPERATOR)
        self.log = tmp / "kopf.log"
        env = {**os.environ, "KUBECONFIG": str(thread.kubeconfig_path), "HOME": str(tmp)}
        self._fh = open(self.log, "w")  # noqa: SIM115
        self.proc = subprocess.Popen([kopf, "run", "--standalone", "-A", str(self.path)], env=env,
                                     stdout=self._fh, stderr=subprocess.STDOUT, text=True)

    def text(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._fh.close()


@pytest.fixture
def operator(apiserver_thread: ServerThread, tmp_path: pathlib.Path) -> Iterator[Callable[[], Operator]]:
    started: list[Operator] = []

    def start() -> Operator:
        op = Operator(apiserver_thread, tmp_path)
        started.append(op)
        return op

    yield start
    for op in started:
        op.stop()


def _create_crd(thread: ServerThread) -> None:
    _api(thread, "create", _res(thread, "apiextensions.k8s.io", "v1", "customresourcedefinitions"), None,
         widget_crd())


def _widget_status(thread: ServerThread, name: str) -> dict[str, Any]:
    obj = _get(thread, WIDGETS_KEY, "default", name)
    return dict((obj or {}).get("status") or {})


def test_kopf_operator_end_to_end(apiserver_thread: ServerThread, operator: Callable[[], Operator]) -> None:
    thread = apiserver_thread
    _create_crd(thread)
    op = operator()
    res = _res(thread, "example.com", "v1", "widgets")
    _api(thread, "create", res, "default", widget("w1"))
    try:
        _wait(lambda: _widget_status(thread, "w1").get("conditions"), 20, "Ready status from kopf")
        obj = _get(thread, WIDGETS_KEY, "default", "w1")
        assert obj is not None and obj["metadata"]["finalizers"] == ["kopf.zalando.org/KopfFinalizerMarker"]
        assert _widget_status(thread, "w1")["create_fn"] == {"secret": "w1-secret"}
        secret = _get(thread, ("", "secrets"), "default", "w1-secret")
        assert secret is not None
        assert secret["metadata"]["ownerReferences"][0]["uid"] == obj["metadata"]["uid"]
        _wait(lambda: thread.run(lambda: [e.obj for e in thread.srv.store.buckets[("", "events")].values()
                                          if e.obj.get("reason") == "SecretCreated"]), 10, "event")
        _wait(lambda: _widget_status(thread, "w1").get("ticked"), 10, "timer patch")
        _api(thread, "patch", res, "default", "w1", "application/merge-patch+json", b'{"spec":{"size":7}}')
        _wait(lambda: _widget_status(thread, "w1").get("observedSize") == 7, 10, "update handler")
        _api(thread, "delete", res, "default", "w1")
        _wait(lambda: _get(thread, WIDGETS_KEY, "default", "w1") is None, 15, "finalizer release")
        _wait(lambda: _get(thread, ("", "secrets"), "default", "w1-secret") is None, 5, "GC of the owned Secret")
    except AssertionError:
        print(op.text())
        raise
    assert op.proc.poll() is None, op.text()
    log = thread.srv.request_log
    assert log.tally(user_agent="kopf", verb="patch") > 0


def test_kopf_started_before_crd_picks_it_up(apiserver_thread: ServerThread,
                                             operator: Callable[[], Operator]) -> None:
    thread = apiserver_thread
    op = operator()
    try:
        _wait(lambda: "Unresolved resources cannot be served" in op.text() or
              thread.srv.request_log.tally(path_prefix="/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                           verb="watch") > 0, 20, "kopf to watch CRDs")
        _create_crd(thread)
        res = _res(thread, "example.com", "v1", "widgets")
        _api(thread, "create", res, "default", widget("late"))
        _wait(lambda: _widget_status(thread, "late").get("conditions"), 20, "kopf to handle the new CRD")
        assert _get(thread, ("", "secrets"), "default", "late-secret") is not None
    except AssertionError:
        print(op.text())
        raise
