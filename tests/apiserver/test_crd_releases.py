"""Our six CRDs (crds/) on the Kubernetes releases we support, as a create and as an update over
cert-manager's CRDs (a cluster migrating from cert-manager v1.21 to issuer):

- the oldest supported release (1.35): scripts/crdcheck, the CRD validation of k8s.io/apiextensions-apiserver
  v0.35.4 (the function its kube-apiserver runs on a CRD create and update), built from the Go module proxy
  by scripts/crdcheck/build when missing (ISSUER_CRDCHECK names a binary built already);
- the newest (1.37): the real kube-apiserver of tests/realkube.py (one control plane for the module). A create
  is a server-side dry run; the update is the documented install, the real `kubectl apply -k crds/`, over
  cert-manager-shaped CRDs created as Helm creates them, with objects of every kind (tests/unit/data/crd_cases
  and examples/, with their status) stored under them: afterwards each reads back unchanged, a no-op update of
  it and of its status succeeds, and a copy of it is valid under our rules (a dry-run create: no ratcheting);
- the check can fail: rules of the kind kube refused before commit 5f90a3b (the IP address regex over 1000
  strings without a maxLength, a messageExpression concatenating string(int)) are refused by both releases,
  as a create and (crdcheck) as an update, with the server's words ("estimated rule cost exceeds budget",
  "estimated messageExpression cost exceeds budget").

The cert-manager CRDs are an approximation, built here from ours: the project commits no files of other
projects, cert-manager's CRD manifests included. They keep our names, group, versions, scope, subresources,
printer columns and schema, and drop every x-kubernetes-validations rule (cert-manager validates with its
webhook; v1.21's CRDs carry a single CEL rule, on the Venafi issuer), and have the metadata cert-manager's Helm
chart gives its CRDs (its labels, `helm.sh/resource-policy: keep`, no `cert-manager.io/inject-ca-from-secret`
or other CA-injection annotation). What they leave out: cert-manager's own schema (its descriptions, the
fields only one side has, such as our defaulted spec.acme.renewalInformationSource that v1.21 lacks, the
defaults only one side sets, such as cert-manager's group of a gatewayHTTPRoute parentRef, the maxLength and
maxItems bounds we added for the CEL cost), that one Venafi rule, its controller-gen annotation and its
printer columns. So the update here shows that both releases accept our rules and schema over installed CRDs
of these names with objects stored under them, not that everything cert-manager's schema lets users store
stays valid; an update from cert-manager v1.21.1's real CRDs is checked by hand, outside the repository.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import pathlib
import re
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from tests.apiserver.conftest import require_tool
from tests.realkube import ControlPlane

REPO = pathlib.Path(__file__).resolve().parents[2]
CRD_DIR = REPO / "crds"
CRD_FILES = sorted(CRD_DIR.glob("*.cert-manager.io.yaml"))
BUILD = REPO / "scripts" / "crdcheck" / "build"
CASE_FILES = [*sorted((REPO / "tests" / "unit" / "data" / "crd_cases").glob("*.yaml")),
              *sorted((REPO / "examples").glob("*.yaml"))]
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
OLDEST = "v0.35."  # k8s.io/apiextensions-apiserver of Kubernetes 1.35, the oldest of the three supported minors
WAIT = 30.0

# The metadata cert-manager's Helm chart (v1.21) gives its CRDs: the chart's crd-labels with the release
# named cert-manager, and the keep policy of crds.keep (true by default).
CERT_MANAGER_LABELS = {
    "app": "cert-manager",
    "app.kubernetes.io/name": "cert-manager",
    "app.kubernetes.io/instance": "cert-manager",
    "app.kubernetes.io/component": "crds",
    "app.kubernetes.io/version": "v1.21.1",
    "app.kubernetes.io/managed-by": "Helm",
    "helm.sh/chart": "cert-manager-v1.21.1",
}
CERT_MANAGER_ANNOTATIONS = {"helm.sh/resource-policy": "keep"}


# -- our CRDs and the cert-manager-shaped ones ---------------------------------------------------------------

@functools.cache
def _ours() -> dict[str, dict[str, Any]]:
    crds = {}
    for path in CRD_FILES:
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        crds[crd["metadata"]["name"]] = crd
    return crds


def ours(name: str) -> dict[str, Any]:
    return copy.deepcopy(_ours()[name])


NAMES = sorted(_ours())


def _without_rules(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_rules(v) for k, v in node.items() if k != "x-kubernetes-validations"}
    if isinstance(node, list):
        return [_without_rules(v) for v in node]
    return node


def cert_manager_shaped(crd: dict[str, Any]) -> dict[str, Any]:
    """`crd` as cert-manager would install it (see the module docstring): no CEL rules, Helm's metadata."""
    assert "x-kubernetes-validations" in json.dumps(crd), "nothing to strip: the comparison would prove nothing"
    return {"apiVersion": crd["apiVersion"], "kind": crd["kind"],
            "metadata": {"name": crd["metadata"]["name"], "labels": dict(CERT_MANAGER_LABELS),
                         "annotations": dict(CERT_MANAGER_ANNOTATIONS)},
            "spec": _without_rules(crd["spec"])}


def _spec_schema(crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema


def ip_regex_without_max_length() -> dict[str, Any]:
    """Certificate with the IP address regex over 1000 strings without a maxLength (commit 5f90a3b lowered it
    from 64, which kube refused already, to 45): strings as long as a request under a long regex."""
    crd = ours("certificates.cert-manager.io")
    ip_addresses = _spec_schema(crd)["properties"]["ipAddresses"]
    assert ip_addresses["maxItems"] == 1000
    del ip_addresses["items"]["maxLength"]
    return crd


def message_concatenating_string_of_int() -> dict[str, Any]:
    """Certificate with a messageExpression that concatenates string(int), as the duration message did before
    commit 5f90a3b: kube cannot bound the length of string(int), so the cost is unbounded."""
    crd = ours("certificates.cert-manager.io")
    _spec_schema(crd)["x-kubernetes-validations"].append({
        "rule": "!has(self.duration) || self.duration != '1s'",
        "messageExpression": "'certificate duration ' + string(size(self.duration) * 3600) + 's is too short'",
    })
    return crd


@dataclasses.dataclass(frozen=True)
class Refused:
    id: str
    build: Callable[[], dict[str, Any]]
    field: str
    message: str


REFUSED = [
    Refused("ip-regex-without-maxLength", ip_regex_without_max_length,
            "spec.validation.openAPIV3Schema.properties[spec].properties[ipAddresses].items"
            ".x-kubernetes-validations[0].rule", "estimated rule cost exceeds budget"),
    Refused("messageExpression-string-of-int", message_concatenating_string_of_int,
            "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[{last}].messageExpression",
            "estimated messageExpression cost exceeds budget"),
]


def _refused_field(case: Refused, crd: dict[str, Any]) -> str:
    return case.field.format(last=len(_spec_schema(crd).get("x-kubernetes-validations", [])) - 1)


# -- objects stored under the old CRDs -----------------------------------------------------------------------

def _cases() -> list[dict[str, Any]]:
    kinds = {crd["spec"]["names"]["kind"]: crd for crd in _ours().values()}
    docs = []
    for path in CASE_FILES:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc and doc.get("kind") in kinds and doc["apiVersion"] == f"{kinds[doc['kind']]['spec']['group']}/v1":
                docs.append(doc)
    return docs


def _case_id(doc: dict[str, Any]) -> str:
    meta = doc["metadata"]
    return "/".join(p for p in (doc["kind"], meta.get("namespace"), meta["name"]) if p)


CASES = {_case_id(doc): doc for doc in _cases()}
assert len(CASES) == len(_cases()), "two cases of one kind, namespace and name"


def _plural(doc: dict[str, Any]) -> str:
    for crd in _ours().values():
        if crd["spec"]["names"]["kind"] == doc["kind"]:
            return str(crd["spec"]["names"]["plural"])
    raise KeyError(doc["kind"])


def object_path(doc: dict[str, Any], *, collection: bool = False) -> str:
    group_version = doc["apiVersion"]
    ns = doc["metadata"].get("namespace")
    base = f"/apis/{group_version}" + (f"/namespaces/{ns}" if ns else "") + f"/{_plural(doc)}"
    return base if collection else f"{base}/{doc['metadata']['name']}"


def _contains(got: Any, sent: Any) -> bool:
    """Whether `got` holds everything of `sent` (the server may add defaults, never drop or change)."""
    if isinstance(sent, dict):
        return isinstance(got, dict) and all(k in got and _contains(got[k], v) for k, v in sent.items())
    return bool(got == sent)


# -- crdcheck --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Verdict:
    verb: str
    accepted: bool
    errors: list[str]


@dataclasses.dataclass
class CheckRun:
    returncode: int
    verdicts: dict[str, Verdict]
    output: str


@pytest.fixture(scope="module")
def crdcheck() -> pathlib.Path:
    """The crdcheck binary: ISSUER_CRDCHECK, or scripts/crdcheck/build (minutes the first time, cached)."""
    override = os.environ.get("ISSUER_CRDCHECK")
    if override:
        return pathlib.Path(override)
    proc = subprocess.run([str(BUILD)], stdout=subprocess.PIPE, text=True, check=False)
    assert proc.returncode == 0, f"scripts/crdcheck/build failed with exit code {proc.returncode}"
    return pathlib.Path(proc.stdout.strip().splitlines()[-1])


_VERDICT = re.compile(r"^(?P<name>\S+): (?P<verb>create|update): (?P<verdict>accepted|refused, (?P<n>\d+) errors?)$")


def run_crdcheck(binary: pathlib.Path, folder: pathlib.Path, new: list[dict[str, Any]],
                 old: list[dict[str, Any]] | None = None) -> CheckRun:
    """crdcheck on `new` (each CRD in its own file), as updates over `old` when given; its verdicts parsed."""
    folder.mkdir(parents=True, exist_ok=True)
    args = [str(binary)]
    for i, crd in enumerate(old or []):
        path = folder / f"old-{i}.yaml"
        path.write_text(yaml.safe_dump(crd), encoding="utf-8")
        args += ["--old", str(path)]
    for i, crd in enumerate(new):
        path = folder / f"new-{i}.yaml"
        path.write_text(yaml.safe_dump(crd), encoding="utf-8")
        args.append(str(path))
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode in (0, 1), f"crdcheck failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    verdicts: dict[str, Verdict] = {}
    counts: dict[str, int] = {}
    current: Verdict | None = None
    for line in proc.stdout.splitlines():
        if line.startswith("  * ") and current is not None:
            current.errors.append(line[4:])
            continue
        m = _VERDICT.match(line)
        assert m, f"unexpected crdcheck output line {line!r}"
        current = verdicts[m["name"]] = Verdict(m["verb"], m["verdict"] == "accepted", [])
        counts[m["name"]] = int(m["n"] or 0)
    assert {n: len(v.errors) for n, v in verdicts.items()} == counts, proc.stdout
    assert (proc.returncode == 1) == any(not v.accepted for v in verdicts.values()), proc.stdout
    return CheckRun(proc.returncode, verdicts, proc.stdout)


@pytest.fixture(scope="module")
def oldest_create(crdcheck: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> CheckRun:
    return run_crdcheck(crdcheck, tmp_path_factory.mktemp("oldest-create"), [ours(n) for n in NAMES])


@pytest.fixture(scope="module")
def oldest_update(crdcheck: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> CheckRun:
    return run_crdcheck(crdcheck, tmp_path_factory.mktemp("oldest-update"), [ours(n) for n in NAMES],
                        old=[cert_manager_shaped(ours(n)) for n in NAMES])


def test_crdcheck_is_the_oldest_supported_release(crdcheck: pathlib.Path) -> None:
    out = subprocess.run([str(crdcheck), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"k8s.io/apiextensions-apiserver {OLDEST}" in out
    assert "CEL compatibility version 1.34" in out  # kube-apiserver 1.35's default: one minor back


@pytest.mark.parametrize("name", NAMES)
def test_oldest_release_accepts_our_crd_as_a_create(oldest_create: CheckRun, name: str) -> None:
    verdict = oldest_create.verdicts[name]
    assert (verdict.verb, verdict.errors) == ("create", [])


@pytest.mark.parametrize("name", NAMES)
def test_oldest_release_accepts_our_crd_as_an_update_over_cert_managers(oldest_update: CheckRun, name: str) -> None:
    verdict = oldest_update.verdicts[name]
    assert (verdict.verb, verdict.errors) == ("update", [])


def test_crdcheck_judges_an_update_by_the_update_rules(crdcheck: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """What only an update checks: group, plural and (once established) kind are immutable, stored versions
    stay listed. Renaming the kind over an installed CRD is refused, with the server's words."""
    old = cert_manager_shaped(ours("issuers.cert-manager.io"))
    new = ours("issuers.cert-manager.io")
    new["spec"]["names"]["kind"] = "Emitter"
    new["spec"]["names"]["listKind"] = "EmitterList"
    run = run_crdcheck(crdcheck, tmp_path, [new], old=[old])
    assert run.returncode == 1
    assert run.verdicts["issuers.cert-manager.io"].errors == [
        'spec.names.kind: Invalid value: "Emitter": field is immutable']
    assert run_crdcheck(crdcheck, tmp_path, [new]).verdicts["issuers.cert-manager.io"].errors == []


# -- the newest release: the real kube-apiserver -----------------------------------------------------------

@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    control = ControlPlane(tmp_path_factory.mktemp("crd-releases") / "plane")
    try:
        control.start()
        yield control
    finally:
        control.stop()


@functools.cache
def _admin_context(folder: pathlib.Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(folder / "pki" / "ca.crt"))
    ctx.load_cert_chain(str(folder / "pki" / "admin.crt"), str(folder / "pki" / "admin.key"))
    return ctx


def call(plane: ControlPlane, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One request as admin, whatever its answer: (status code, decoded JSON or the text)."""
    req = urllib.request.Request(plane.url + path, data=json.dumps(body).encode() if body is not None else None,
                                 method=method, headers={"Content-Type": "application/json",
                                                         "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, context=_admin_context(plane.folder), timeout=30) as resp:
            code, text = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        code, text = err.code, err.read()
    try:
        return code, json.loads(text)
    except ValueError:
        return code, text.decode(errors="replace")


def dry_run_create_crd(plane: ControlPlane, crd: dict[str, Any]) -> tuple[int, Any]:
    """A server-side dry-run create with strict field validation (as kubectl sends it)."""
    return call(plane, "POST", f"{CRDS}?dryRun=All&fieldValidation=Strict", crd)


@pytest.fixture(scope="module")
def newest_create(plane: ControlPlane) -> dict[str, tuple[int, Any]]:
    """Each of our CRDs as a dry-run create, on the fresh server (before the migration installs them)."""
    return {name: dry_run_create_crd(plane, ours(name)) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_newest_release_accepts_our_crd_as_a_create(newest_create: dict[str, tuple[int, Any]], name: str) -> None:
    code, answer = newest_create[name]
    assert code == 201, answer
    assert answer["metadata"]["name"] == name


@dataclasses.dataclass
class Migration:
    before: dict[str, dict[str, Any]]  # the objects as read back under cert-manager's CRDs, by case id
    kubectl: subprocess.CompletedProcess[str]
    crds_after: dict[str, dict[str, Any]]


def _wait(what: str, probe: Any) -> Any:
    deadline = time.monotonic() + WAIT
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {WAIT:.0f}s waiting for {what}")
        time.sleep(0.1)


def _established(plane: ControlPlane, name: str) -> dict[str, Any] | None:
    code, crd = call(plane, "GET", f"{CRDS}/{name}")
    assert code == 200, crd
    # a CRD just created has no conditions yet: `status.conditions: null`
    conditions = {c["type"]: c["status"] for c in (crd.get("status") or {}).get("conditions") or []}
    return crd if conditions.get("Established") == "True" else None


def _no_sans_certificate() -> dict[str, Any]:
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": "no-sans", "namespace": "default"},
            "spec": {"secretName": "no-sans", "issuerRef": {"name": "ca", "kind": "ClusterIssuer"}}}


@pytest.fixture(scope="module")
def migrated(plane: ControlPlane, newest_create: Any, tmp_path_factory: pytest.TempPathFactory) -> Migration:
    """cert-manager's CRDs (shaped) created as Helm creates them, objects of every kind stored under them with
    their status, then our CRDs applied over them with `kubectl apply -k crds/` and in effect. (It asks for
    newest_create so that the dry-run creates run on a server without these CRDs.)"""
    kubectl = require_tool("kubectl")
    for name in NAMES:
        code, answer = call(plane, "POST", CRDS, cert_manager_shaped(ours(name)))
        assert code == 201, answer
    for name in NAMES:
        _wait(f"{name} Established", lambda name=name: _established(plane, name))
    namespaces = {doc["metadata"]["namespace"] for doc in CASES.values() if doc["metadata"].get("namespace")}
    for ns in sorted(namespaces):
        call(plane, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    # no CEL rule yet: a Certificate without any name is accepted (cert-manager's webhook would refuse it)
    code, answer = dry_run_create(plane, _no_sans_certificate())
    assert code == 201, answer

    before = {}
    for case_id, doc in CASES.items():
        body = {k: v for k, v in doc.items() if k != "status"}
        # a resource can still be unserved for a moment after its CRD is Established
        code, stored = _wait(f"{case_id} created", lambda body=body: _served(
            call(plane, "POST", object_path(body, collection=True), body)))
        assert code == 201, stored
        if "status" in doc:
            code, stored = call(plane, "PUT", object_path(doc) + "/status", stored | {"status": doc["status"]})
            assert code == 200, stored
        before[case_id] = stored

    home = tmp_path_factory.mktemp("kubectl-home")
    proc = subprocess.run(
        [kubectl, "--kubeconfig", str(plane.admin_kubeconfig), "--cache-dir", str(home / "cache"),
         "apply", "-k", str(CRD_DIR)],
        capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(home)})
    if proc.returncode == 0:
        # our rules are served once that Certificate is refused with cert-manager's message
        _wait("our CRDs in effect", lambda: "at least one of commonName" in json.dumps(
            dry_run_create(plane, _no_sans_certificate())[1]))
    after = {name: call(plane, "GET", f"{CRDS}/{name}")[1] for name in NAMES}
    return Migration(before, proc, after)


def _served(answer: tuple[int, Any]) -> tuple[int, Any] | None:
    return None if answer[0] == 404 else answer


def dry_run_create(plane: ControlPlane, doc: dict[str, Any]) -> tuple[int, Any]:
    return call(plane, "POST", object_path(doc, collection=True) + "?dryRun=All&fieldValidation=Strict", doc)


def test_newest_release_accepts_our_crds_as_an_update_over_cert_managers(migrated: Migration) -> None:
    proc = migrated.kubectl
    assert proc.returncode == 0, f"kubectl apply -k crds/ failed:\n{proc.stdout}\n{proc.stderr}"
    assert set(proc.stdout.splitlines()) == {f"customresourcedefinition.apiextensions.k8s.io/{n} configured"
                                             for n in NAMES}
    for name, crd in migrated.crds_after.items():
        assert crd["metadata"]["generation"] == 2, name
        assert crd["spec"] == ours(name)["spec"] | {"conversion": {"strategy": "None"}}, name
        assert crd["status"]["storedVersions"] == ["v1"], name


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_an_object_stored_under_cert_managers_crds_stays_readable_and_valid(
        plane: ControlPlane, migrated: Migration, case_id: str) -> None:
    assert migrated.kubectl.returncode == 0, "the CRD update failed (see the test above)"
    sent = CASES[case_id]
    code, got = call(plane, "GET", object_path(sent))
    assert code == 200, got
    assert _contains(got["spec"], sent["spec"]), "the spec read back lost or changed fields"
    assert _contains(got.get("status", {}), sent.get("status", {})), "the status read back lost or changed fields"
    # a no-op update of the object and of its status, as a controller writes back what it read
    code, updated = call(plane, "PUT", object_path(sent), got)
    assert code == 200, updated
    assert updated["spec"] == got["spec"]
    if "status" in sent:
        code, answer = call(plane, "PUT", object_path(sent) + "/status", updated)
        assert code == 200, answer
    # and valid under our rules, not only let through by ratcheting: a copy of it passes a (dry-run) create
    meta = {k: v for k, v in got["metadata"].items() if k in ("namespace", "labels", "annotations")}
    copied = {"apiVersion": got["apiVersion"], "kind": got["kind"],
              "metadata": meta | {"name": f"{got['metadata']['name']}-copy"}, "spec": got["spec"]}
    code, answer = dry_run_create(plane, copied)
    assert code == 201, answer


# -- the check can fail ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_a_rule_over_the_cost_budget_is_refused_by_both_releases(
        case: Refused, crdcheck: pathlib.Path, plane: ControlPlane, tmp_path: pathlib.Path) -> None:
    crd = case.build()
    name = crd["metadata"]["name"]
    expected = f"{_refused_field(case, crd)}: Forbidden: {case.message} by factor of "

    created = run_crdcheck(crdcheck, tmp_path / "create", [crd])
    assert created.returncode == 1
    assert any(e.startswith(expected) for e in created.verdicts[name].errors), created.output
    updated = run_crdcheck(crdcheck, tmp_path / "update", [crd], old=[cert_manager_shaped(ours(name))])
    assert updated.verdicts[name].verb == "update"
    assert any(e.startswith(expected) for e in updated.verdicts[name].errors), updated.output

    code, answer = dry_run_create_crd(plane, crd)
    assert code == 422, answer
    assert answer["message"].startswith(f'CustomResourceDefinition.apiextensions.k8s.io "{name}" is invalid: ')
    assert expected in answer["message"], answer["message"]
