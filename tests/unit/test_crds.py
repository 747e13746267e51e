"""Our CRDs in crds/: names, scope and printer columns as cert-manager-inventory.md §2 has them, a
structural schema, every CEL rule compiling (and written in CEL that cel-go accepts too), the committed
YAML in sync with crds/generate.py, and cert-manager's webhook decisions reproduced by the CEL rules:
valid manifests from the docs (tests/unit/data/crd_cases/) accepted, the webhook's invalid cases
rejected at the same field with the webhook's message, through issuer.testing.schema.validate.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import ipaddress
import pathlib
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import celpy
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from issuer.testing import schema as kube_schema

ROOT = pathlib.Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "crds"
CASES_DIR = pathlib.Path(__file__).resolve().parent / "data" / "crd_cases"

CRD_FILES = [
    "certificates.cert-manager.io.yaml",
    "certificaterequests.cert-manager.io.yaml",
    "issuers.cert-manager.io.yaml",
    "clusterissuers.cert-manager.io.yaml",
    "orders.acme.cert-manager.io.yaml",
    "challenges.acme.cert-manager.io.yaml",
]


def _ready(field: str = "status") -> str:
    return f'.status.conditions[?(@.type=="Ready")].{field}'


AGE = ("AGE", ".metadata.creationTimestamp", "date")
# inventory §1 (names, scope, categories) and §2 (columns: default ones in order, then the -o wide ones)
EXPECTED: dict[str, dict[str, Any]] = {
    "certificates.cert-manager.io": {
        "kind": "Certificate", "plural": "certificates", "scope": "Namespaced", "short": ["cert", "certs"],
        "categories": ["cert-manager"], "selectable": True,
        "default": [("READY", _ready(), "string"), ("SECRET", ".spec.secretName", "string"), AGE],
        "wide": [("ISSUER", ".spec.issuerRef.name", "string"), ("STATUS", _ready("message"), "string"),
                 ("EXPIRATION", ".status.notAfter", "string")],
    },
    "certificaterequests.cert-manager.io": {
        "kind": "CertificateRequest", "plural": "certificaterequests", "scope": "Namespaced",
        "short": ["cr", "crs"], "categories": ["cert-manager"], "selectable": True,
        "default": [("APPROVED", '.status.conditions[?(@.type=="Approved")].status', "string"),
                    ("DENIED", '.status.conditions[?(@.type=="Denied")].status', "string"),
                    ("READY", _ready(), "string"), ("ISSUER", ".spec.issuerRef.name", "string"),
                    ("REQUESTER", ".spec.username", "string"), AGE],
        "wide": [("STATUS", _ready("message"), "string")],
    },
    "issuers.cert-manager.io": {
        "kind": "Issuer", "plural": "issuers", "scope": "Namespaced", "short": ["iss"],
        "categories": ["cert-manager"], "selectable": False,
        "default": [("READY", _ready(), "string"), AGE], "wide": [("STATUS", _ready("message"), "string")],
    },
    "clusterissuers.cert-manager.io": {
        "kind": "ClusterIssuer", "plural": "clusterissuers", "scope": "Cluster", "short": ["ciss"],
        "categories": ["cert-manager"], "selectable": False,
        "default": [("READY", _ready(), "string"), AGE], "wide": [("STATUS", _ready("message"), "string")],
    },
    "orders.acme.cert-manager.io": {
        "kind": "Order", "plural": "orders", "scope": "Namespaced", "short": [],
        "categories": ["cert-manager", "cert-manager-acme"], "selectable": True,
        "default": [("STATE", ".status.state", "string"), AGE],
        "wide": [("ISSUER", ".spec.issuerRef.name", "string"), ("REASON", ".status.reason", "string")],
    },
    "challenges.acme.cert-manager.io": {
        "kind": "Challenge", "plural": "challenges", "scope": "Namespaced", "short": [],
        "categories": ["cert-manager", "cert-manager-acme"], "selectable": True,
        "default": [("STATE", ".status.state", "string"), ("DOMAIN", ".spec.dnsName", "string"), AGE],
        "wide": [("REASON", ".status.reason", "string")],
    },
}  # fmt: skip


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CRD_DIR / name).read_text(encoding="utf-8"))
    return data


CRDS: dict[str, dict[str, Any]] = {}
for _file in CRD_FILES:
    _crd = _load(_file)
    CRDS[_crd["metadata"]["name"]] = _crd
BY_KIND: dict[str, dict[str, Any]] = {c["spec"]["names"]["kind"]: c for c in CRDS.values()}


def _schema(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = BY_KIND[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node with its path (properties by name, items as [])."""
    if not isinstance(node, dict):
        return
    yield path, node
    for key, sub in (node.get("properties") or {}).items():
        yield from _walk(sub, f"{path}.{key}")
    if isinstance(node.get("items"), dict):
        yield from _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _walk(node["additionalProperties"], f"{path}{{}}")
    for comb in ("anyOf", "allOf", "oneOf"):
        for i, sub in enumerate(node.get(comb) or ()):
            yield from _walk(sub, f"{path}<{comb}{i}>")


def _all_rules() -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    for name, crd in CRDS.items():
        for path, node in _walk(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]):
            for rule in node.get("x-kubernetes-validations") or ():
                yield name, path, node, rule


ALL_RULES = list(_all_rules())


# ---------------------------------------------------------------------------------------------------
# (a) the CRD objects


@pytest.mark.parametrize("name", list(EXPECTED))
def test_crd_names_scope_and_categories_follow_the_inventory(name: str) -> None:
    crd, want = CRDS[name], EXPECTED[name]
    group = name.split(".", 1)[1]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["labels"] == {"app.kubernetes.io/name": "issuer", "app.kubernetes.io/part-of": "issuer"}
    spec = crd["spec"]
    assert spec["group"] == group
    assert spec["scope"] == want["scope"]
    names = spec["names"]
    assert names["kind"] == want["kind"]
    assert names["listKind"] == want["kind"] + "List"
    assert names["plural"] == want["plural"]
    assert names["singular"] == want["kind"].lower()
    assert names.get("shortNames", []) == want["short"]
    assert names["categories"] == want["categories"]
    [version] = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1", True, True)
    assert version["subresources"] == {"status": {}}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_printer_columns_are_the_inventory_table(name: str) -> None:
    want = EXPECTED[name]
    columns = CRDS[name]["spec"]["versions"][0]["additionalPrinterColumns"]
    default = [(c["name"].upper(), c["jsonPath"], c["type"]) for c in columns if c.get("priority", 0) == 0]
    wide = [(c["name"].upper(), c["jsonPath"], c["type"]) for c in columns if c.get("priority", 0) == 1]
    assert default == want["default"]
    assert wide == want["wide"]
    assert all(c.get("priority", 0) in (0, 1) for c in columns)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_issuer_ref_fields_are_selectable_where_the_inventory_says(name: str) -> None:
    version = CRDS[name]["spec"]["versions"][0]
    if EXPECTED[name]["selectable"]:
        assert version["selectableFields"] == [
            {"jsonPath": ".spec.issuerRef.group"}, {"jsonPath": ".spec.issuerRef.kind"},
            {"jsonPath": ".spec.issuerRef.name"},
        ]
    else:
        assert "selectableFields" not in version


def test_kustomization_lists_every_crd_file() -> None:
    kustomization = yaml.safe_load((CRD_DIR / "kustomization.yaml").read_text(encoding="utf-8"))
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["resources"] == CRD_FILES
    assert sorted(p.name for p in CRD_DIR.glob("*.cert-manager.io.yaml")) == sorted(CRD_FILES)


@functools.cache
def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crds_generate", CRD_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_yaml_is_what_the_generator_writes() -> None:
    rendered: dict[str, str] = _generator().rendered()
    assert sorted(rendered) == sorted([*CRD_FILES, "kustomization.yaml"])
    stale = [name for name, text in rendered.items() if (CRD_DIR / name).read_text(encoding="utf-8") != text]
    assert not stale, f"run `python crds/generate.py`: {stale} differ"


_TYPES = {"object", "array", "string", "integer", "number", "boolean"}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_schema_is_structural(name: str) -> None:
    root = CRDS[name]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert kube_schema.check_structural(root) == []
    assert root["type"] == "object"
    assert set(root["properties"]) == {"apiVersion", "kind", "metadata", "spec", "status"}
    assert root["properties"]["metadata"] == {"type": "object"}
    problems = []
    for path, node in _walk(root):
        in_combinator = "<" in path.rsplit(".", 1)[-1]
        typ = node.get("type")
        if typ is None:
            # only int-or-string, preserve-unknown (arbitrary JSON) and combinator branches may omit type
            if not (node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields")
                    or in_combinator):
                problems.append(f"{path}: no type")
        elif typ not in _TYPES:
            problems.append(f"{path}: bad type {typ}")
        if in_combinator and set(node) - {"type"} and not path.endswith(">"):
            problems.append(f"{path}: only types in combinator branches")
        if typ == "array" and not isinstance(node.get("items"), dict):
            problems.append(f"{path}: array without items")
        if "properties" in node and "additionalProperties" in node:
            problems.append(f"{path}: properties and additionalProperties")
        if node.get("x-kubernetes-list-type") == "map":
            keys = node.get("x-kubernetes-list-map-keys") or []
            item = node["items"]
            if not keys or not set(keys) <= set(item.get("required") or ()):
                problems.append(f"{path}: map-list keys must be required item fields")
        for key in node.get("required") or ():
            if key not in (node.get("properties") or {}):
                problems.append(f"{path}: required {key} is not a property")
        if "default" in node and kube_schema.validate({"v": node["default"]},
                                                      {"type": "object", "properties": {"v": node}}):
            problems.append(f"{path}: default does not validate")
    assert problems == []


def test_status_conditions_are_map_lists_keyed_on_type() -> None:
    for kind in ("Certificate", "CertificateRequest", "Issuer", "ClusterIssuer"):
        node = _schema(kind)["properties"]["status"]["properties"]["conditions"]
        assert node["x-kubernetes-list-type"] == "map"
        assert node["x-kubernetes-list-map-keys"] == ["type"]
        props = node["items"]["properties"]
        assert props["status"]["enum"] == ["True", "False", "Unknown"]
        assert ("observedGeneration" in props) is (kind != "CertificateRequest")


def test_enums_carry_cert_manager_values() -> None:
    spec = _schema("Certificate")["properties"]["spec"]["properties"]
    assert len(spec["usages"]["items"]["enum"]) == 23
    assert spec["privateKey"]["properties"]["algorithm"]["enum"] == ["RSA", "ECDSA", "Ed25519"]
    assert spec["privateKey"]["properties"]["rotationPolicy"]["enum"] == ["Never", "Always"]
    assert spec["keystores"]["properties"]["pkcs12"]["properties"]["profile"]["enum"] == [
        "LegacyRC2", "LegacyDES", "Modern2023", "Modern2026"]
    assert spec["additionalOutputFormats"]["items"]["properties"]["type"]["enum"] == ["DER", "CombinedPEM"]
    order_status = _schema("Order")["properties"]["status"]["properties"]
    assert order_status["state"]["enum"] == ["valid", "ready", "pending", "processing", "invalid", "expired",
                                             "errored"]
    assert _schema("Challenge")["properties"]["spec"]["properties"]["type"]["enum"] == ["HTTP-01", "DNS-01"]


def test_issuer_and_cluster_issuer_share_one_spec() -> None:
    assert _schema("Issuer")["properties"] == _schema("ClusterIssuer")["properties"]
    issuer_solver = _schema("Issuer")["properties"]["spec"]["properties"]["acme"]["properties"]["solvers"]["items"]
    challenge_solver = _schema("Challenge")["properties"]["spec"]["properties"]["solver"]
    assert {k: v for k, v in issuer_solver.items() if k != "description"} == {
        k: v for k, v in challenge_solver.items() if k != "description"}


def test_preserve_unknown_fields_only_where_cert_manager_takes_arbitrary_json() -> None:
    """The webhook solver's config is arbitrary JSON, a pod affinity is a whole core/v1 type, and Vault and
    Venafi (not implemented here) are stored as given; everything else is modelled and pruned."""
    allowed = {"webhook.config", "podTemplate.spec.affinity", ".spec.vault", ".spec.vault.auth", ".spec.venafi",
               ".spec.venafi.tpp", ".spec.venafi.cloud", ".spec.venafi.ngts"}
    unexpected = [
        f"{name}{path}"
        for name, crd in CRDS.items()
        for path, node in _walk(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
        if node.get("x-kubernetes-preserve-unknown-fields") and not any(path.endswith(a) for a in allowed)
    ]
    assert unexpected == []


# ---------------------------------------------------------------------------------------------------
# (b) the CEL rules themselves


_ENV = celpy.Environment()
_REASONS = {"FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate"}


def test_there_are_many_rules() -> None:
    assert len(ALL_RULES) > 200


@pytest.mark.parametrize("entry", ALL_RULES, ids=lambda e: f"{e[0].split('.')[0]}{e[1]}")
def test_rule_compiles_with_celpy(entry: tuple[str, str, dict[str, Any], dict[str, Any]]) -> None:
    _, _, _, rule = entry
    _ENV.compile(rule["rule"])
    if "messageExpression" in rule:
        _ENV.compile(rule["messageExpression"])
    assert rule["message"].strip()
    assert rule.get("reason", "FieldValueInvalid") in _REASONS


_LITERAL_RE = re.compile(r"""(?P<raw>[rR]?)(?P<q>['"])(?P<body>(?:\\.|(?!(?P=q)).)*)(?P=q)""")
_CEL_ESCAPES = set("abfnrtv\\'\"`?xuU01234567")


@pytest.mark.parametrize("entry", ALL_RULES, ids=lambda e: f"{e[0].split('.')[0]}{e[1]}")
def test_rule_is_portable_cel(entry: tuple[str, str, dict[str, Any], dict[str, Any]]) -> None:
    """cel-python is laxer than cel-go (kube): no invalid escapes in plain string literals, no
    functions outside kube's CEL environment, fieldPath names a declared field, oldSelf only where
    kube can correlate (not under lists that are not map lists)."""
    _, path, node, rule = entry
    text = f"{rule['rule']} {rule.get('messageExpression', '')}"
    for m in _LITERAL_RE.finditer(text):
        if not m.group("raw"):
            body = m.group("body")
            bad = [body[i + 1] for i in range(len(body) - 1) if body[i] == "\\" and body[i + 1] not in _CEL_ESCAPES]
            assert not bad, f"invalid escape in {m.group(0)!r}: use a raw string r'...'"
    calls = set(re.findall(r"\.?([A-Za-z_][A-Za-z0-9_]*)\(", text))
    known = {"has", "size", "matches", "startsWith", "endsWith", "contains", "all", "exists", "exists_one",
             "filter", "map", "duration", "getMilliseconds", "getSeconds", "string", "int", "r"}
    assert calls <= known, calls - known
    field_path = rule.get("fieldPath")
    if field_path:
        target = node
        for part in field_path.lstrip(".").split("."):
            target = (target.get("properties") or {})[part]
    if "oldSelf" in text:
        assert "[]" not in path, "transition rules need a correlatable node"


_SELECTION_RE = re.compile(r"\b(?:oldSelf|self)((?:\.\w+(?![\w(])|\[[ij]\])*)")


@pytest.mark.parametrize("entry", ALL_RULES, ids=lambda e: f"{e[0].split('.')[0]}{e[1]}")
def test_rule_selects_only_declared_fields(entry: tuple[str, str, dict[str, Any], dict[str, Any]]) -> None:
    """kube type-checks rules against the schema: `self.x` must be a declared property."""
    _, _, node, rule = entry
    text = f"{rule['rule']} {rule.get('messageExpression', '')}"
    for selection in _SELECTION_RE.findall(text):
        target = node
        for part in re.findall(r"\.\w+|\[[ij]\]", selection):
            if part.startswith("["):
                target = target["items"]
            elif "properties" in target:
                assert part[1:] in target["properties"], f"{selection}: {part[1:]} is not declared"
                target = target["properties"][part[1:]]
            else:
                assert isinstance(target.get("additionalProperties"), dict), f"{selection}: {part} on a non-object"
                target = target["additionalProperties"]


def _bounded_walk(node: dict[str, Any], path: str, bounded: bool) -> Iterator[tuple[str, dict[str, Any], bool]]:
    yield path, node, bounded
    for key, sub in (node.get("properties") or {}).items():
        yield from _bounded_walk(sub, f"{path}.{key}", bounded)
    if isinstance(node.get("items"), dict):
        yield from _bounded_walk(node["items"], f"{path}[]", bounded and "maxItems" in node)
    if isinstance(node.get("additionalProperties"), dict):
        yield from _bounded_walk(node["additionalProperties"], f"{path}{{}}", bounded and "maxProperties" in node)


_MACRO_RE = re.compile(r"\b((?:old)?[sS]elf(?:\.\w+)*)\.(?:all|exists|exists_one|filter|map)\(")
# iterating these is linear with a constant per-entry cost (prefix test and a compare with a literal)
_UNBOUNDED_ITERATION_OK = {".spec.secretTemplate.annotations"}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_rule_cost_is_bounded(name: str) -> None:
    """kube multiplies a rule's cost by how often its node can occur and caps the per-CRD total: rules
    may only sit under lists with maxItems, and may only iterate lists with maxItems. (kube's estimate
    itself, issuer.testing.celcost, runs in check_structural above; tests/unit/testing/test_celcost.py
    pins its figures for these CRDs.)"""
    problems = []
    root = CRDS[name]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node, bounded in _bounded_walk(root, "", True):
        rules = node.get("x-kubernetes-validations") or []
        if rules and not bounded:
            problems.append(f"{path}: rules under a list without maxItems")
        for rule in rules:
            for expr in _MACRO_RE.findall(rule["rule"]):
                target, where = node, path
                for part in expr.split(".")[1:]:
                    target, where = target["properties"][part], f"{where}.{part}"
                if target.get("type") == "array" and "maxItems" not in target:
                    problems.append(f"{where}: iterated by a rule but has no maxItems")
                if target.get("type") == "object" and where not in _UNBOUNDED_ITERATION_OK:
                    problems.append(f"{where}: map iterated by a rule")
    assert problems == []


# The Go durations cel-python's duration() understands, as pinned for the report: multi-unit strings
# work; sub-microsecond parts are lost (timedelta); "0" and µs fail; "d" is (wrongly) accepted.
@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2160h", 7776000.0), ("1h30m", 5400.0), ("59m55s", 3595.0), ("1.5h", 5400.0), ("300ms", 0.3),
     ("1m30s500ms", 90.5), ("-1.5h", -5400.0), (".5h", 1800.0), ("1ns", 0.0), ("1d", 86400.0)],
)
def test_celpy_duration_accepts_go_multi_unit_strings(text: str, seconds: float) -> None:
    result = _ENV.program(_ENV.compile(f"duration('{text}')")).evaluate({})
    assert isinstance(result, celpy.celtypes.DurationType)
    assert result.total_seconds() == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["0", "1µs", "1h 30m", "1H", ""])
def test_celpy_duration_rejects(text: str) -> None:
    program = _ENV.program(_ENV.compile(f"duration('{text}')"))
    try:
        result = program.evaluate({})
    except Exception:
        return
    assert isinstance(result, Exception)


@functools.cache
def _regex(name: str) -> re.Pattern[str]:
    return re.compile(getattr(_generator(), name))


@settings(max_examples=300, deadline=None)
@given(st.ip_addresses())
def test_ip_rule_accepts_every_ip_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    pattern = _regex("IP_RE")
    assert pattern.search(str(ip))
    if ip.version == 6:
        assert pattern.search(ip.exploded)
        assert pattern.search(ip.exploded.upper())


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789abcdefABCDEF:.x/ %", max_size=45))
def test_ip_rule_rejects_what_is_not_an_ip_address(text: str) -> None:
    try:
        ipaddress.ip_address(text)
        valid = "%" not in text
    except ValueError:
        valid = False
    assert bool(_regex("IP_RE").search(text)) is valid


@pytest.mark.parametrize("text", ["1.2.3.4", "::", "::1", "1::", "::ffff:1.2.3.4", "64:ff9b::1.2.3.4",
                                  "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:8", "1::8", "1:2:3:4:5:6:7::"])
def test_ip_rule_accepts(text: str) -> None:
    assert _regex("IP_RE").search(text)


@pytest.mark.parametrize("text", ["1.2.3", "01.2.3.4", "256.1.1.1", "1:2:3:4:5:6:7:8:9", "1::2::3", ":::",
                                  "fe80::1%eth0", "1.2.3.4/32", " 1.2.3.4", "example.com"])
def test_ip_rule_rejects(text: str) -> None:
    assert not _regex("IP_RE").search(text)


@pytest.mark.parametrize("text", ["2160h", "1h30m", "59m55s", "1.5h", ".5h", "300ms", "1us", "1µs", "0", "-1h",
                                  "+5m", "1h0m0s"])
def test_duration_pattern_accepts_go_durations(text: str) -> None:
    assert re.search(_generator().DURATION_RE, text)


@pytest.mark.parametrize("text", ["90d", "1 h", "h", "1H", "", "1h-30m", "1.5", "5"])
def test_duration_pattern_rejects(text: str) -> None:
    assert not re.search(_generator().DURATION_RE, text)


# ---------------------------------------------------------------------------------------------------
# (c) accept/reject through issuer.testing.schema.validate


def _validate(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[kube_schema.Cause]:
    """What the API server does on a write: prune, default, validate (old = the stored object)."""
    schema = _schema(obj["kind"])
    new = copy.deepcopy(obj)
    kube_schema.prune(new, schema)
    kube_schema.apply_defaults(new, schema)
    stored = None
    if old is not None:
        stored = copy.deepcopy(old)
        kube_schema.prune(stored, schema)
        kube_schema.apply_defaults(stored, schema)
    return kube_schema.validate(new, schema, stored)


def _documents(path: pathlib.Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


VALID = [
    pytest.param(doc, id=f"{path.stem}-{doc['kind']}-{doc['metadata']['name']}")
    for path in sorted(CASES_DIR.glob("*.yaml"))
    for doc in _documents(path)
]
EXAMPLES = [
    pytest.param(doc, id=f"{path.stem}-{doc['kind']}-{doc['metadata']['name']}")
    for path in sorted((ROOT / "examples").glob("*.yaml"))
    for doc in _documents(path)
    if doc.get("kind") in BY_KIND and str(doc.get("apiVersion", "")).endswith("cert-manager.io/v1")
]


@pytest.mark.parametrize("doc", VALID)
def test_valid_manifest_is_accepted(doc: dict[str, Any]) -> None:
    assert [str(c) for c in _validate(doc)] == []


@pytest.mark.parametrize("doc", EXAMPLES)
def test_repository_example_is_accepted(doc: dict[str, Any]) -> None:
    assert [str(c) for c in _validate(doc)] == []


def test_valid_cases_cover_every_kind() -> None:
    assert {p.values[0]["kind"] for p in VALID} == set(BY_KIND)  # type: ignore[index]


def _cert(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"secretName": "example-tls", "dnsNames": ["example.com"],
                            "issuerRef": {"name": "ca", "kind": "ClusterIssuer"}}
    base.update(spec)
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": "example", "namespace": "default"},
            "spec": {k: v for k, v in base.items() if v is not None}}


def _issuer(kind: str = "Issuer", **spec: Any) -> dict[str, Any]:
    metadata = {"name": "example"} if kind == "ClusterIssuer" else {"name": "example", "namespace": "default"}
    return {"apiVersion": "cert-manager.io/v1", "kind": kind, "metadata": metadata, "spec": spec}


def _acme(*solvers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    acme: dict[str, Any] = {"server": "https://acme.example/directory", "privateKeySecretRef": {"name": "key"}}
    if solvers:
        acme["solvers"] = list(solvers)
    acme.update(extra)
    return _issuer(acme=acme)


CSR_B64 = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0KTUlJQgotLS0tLUVORCBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K"


def _cr(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"request": CSR_B64, "issuerRef": {"name": "ca"}, "usages": ["digital signature"]}
    base.update(spec)
    return {"apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
            "metadata": {"name": "example-1", "namespace": "default"},
            "spec": {k: v for k, v in base.items() if v is not None}}


def _with_status(obj: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(obj), "status": status}


def _cond(t: str, status: str = "True", reason: str = "r", message: str = "m") -> dict[str, Any]:
    return {"type": t, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": "2026-01-01T00:00:00Z"}


def _order(**status: Any) -> dict[str, Any]:
    return {"apiVersion": "acme.cert-manager.io/v1", "kind": "Order",
            "metadata": {"name": "example-1-123", "namespace": "default"},
            "spec": {"request": CSR_B64, "issuerRef": {"name": "le", "kind": "ClusterIssuer"},
                     "dnsNames": ["example.com"]},
            "status": status}


def _authz(url: str = "https://acme.example/authz/1", **extra: Any) -> dict[str, Any]:
    return {"url": url, **extra}


def _challenge(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"url": "https://acme.example/chall/1", "authorizationURL": "https://acme.example/authz/1",
                            "dnsName": "example.com", "type": "DNS-01", "token": "tok", "key": "key",
                            "solver": {"dns01": {"rfc2136": {"nameserver": "10.0.0.16"}}},
                            "issuerRef": {"name": "le", "kind": "ClusterIssuer"}}
    base.update(spec)
    return {"apiVersion": "acme.cert-manager.io/v1", "kind": "Challenge",
            "metadata": {"name": "example-1-123-456", "namespace": "default"}, "spec": base}


SOLVER = "spec.acme.solvers[0]"
Case = tuple[dict[str, Any], dict[str, Any] | None, list[tuple[str, str]]]

# (object, old object or None, [(field, message fragment)]); an empty list means accepted.
CASES: dict[str, Case] = {
    # --- Certificate (internal/apis/certmanager/validation/certificate.go) ---
    "certificate with only a dnsName is accepted": (_cert(), None, []),
    "certificate with only a commonName is accepted": (_cert(dnsNames=None, commonName="a.example.com"), None, []),
    "certificate with no names is rejected": (
        _cert(dnsNames=None), None,
        [("spec", "at least one of commonName (from the commonName field or from a literalSubject), dnsNames, "
                  "emailSANs, ipAddresses, otherNames, or uriSANs must be set")]),
    "certificate with an empty dnsNames list is rejected": (
        _cert(dnsNames=[]), None, [("spec", "at least one of commonName")]),
    "a CN inside literalSubject counts as a name": (
        _cert(dnsNames=None, literalSubject="O=Acme,CN=app.example.com"), None, []),
    "literalSubject without a CN is not a name": (
        _cert(dnsNames=None, literalSubject="O=Acme,OU=CNx"), None, [("spec", "at least one of commonName")]),
    "duration of 30m is rejected": (
        _cert(duration="30m"), None, [("spec.duration", "certificate duration must be greater than 1h0m0s")]),
    "duration of exactly 1h is accepted": (_cert(duration="1h"), None, []),
    "duration of 59m59s is rejected": (_cert(duration="59m59s"), None, [("spec.duration", "greater than 1h0m0s")]),
    "duration that is not a Go duration is rejected by the pattern": (
        _cert(duration="90d"), None, [("spec.duration", "should match")]),
    "renewBefore of exactly 5m is accepted": (_cert(renewBefore="5m"), None, []),
    "renewBefore of 4m59s is rejected": (
        _cert(renewBefore="4m59s"), None, [("spec.renewBefore", "certificate renewBefore must be greater than 5m0s")]),
    "renewBefore equal to duration is rejected": (
        _cert(duration="720h", renewBefore="720h"), None,
        [("spec.renewBefore", "certificate duration 720h0m0s must be greater than renewBefore 720h0m0s")]),
    "renewBefore equal to the default duration is rejected": (
        _cert(renewBefore="2160h"), None,
        [("spec.renewBefore", "certificate duration 2160h0m0s must be greater than renewBefore 2160h0m0s")]),
    "renewBefore longer than a short duration names both Go-style": (
        _cert(duration="1h", renewBefore="90m"), None,
        [("spec.renewBefore", "certificate duration 1h0m0s must be greater than renewBefore 1h30m0s")]),
    "durations of seven-digit hours are printed digit by digit": (
        _cert(duration="1234567h", renewBefore="1234567h59m59s"), None,
        [("spec.renewBefore",
          "certificate duration 1234567h0m0s must be greater than renewBefore 1234567h59m59s")]),
    "a renewBefore of a few seconds over duration prints minutes and seconds": (
        _cert(duration="1h", renewBefore="1h0m9s"), None,
        [("spec.renewBefore", "certificate duration 1h0m0s must be greater than renewBefore 1h0m9s")]),
    "renewBefore with a fraction of a second falls back to the plain message": (
        _cert(duration="1h", renewBefore="1h0.5s"), None,
        [("spec.renewBefore", "certificate duration must be greater than renewBefore")]),
    "renewBefore just under duration with multi-unit strings is accepted": (
        _cert(duration="1h", renewBefore="59m55s"), None, []),
    "renewBefore and renewBeforePercentage together are rejected on both fields": (
        _cert(renewBefore="10m", renewBeforePercentage=10), None,
        [("spec.renewBefore", "renewBefore and renewBeforePercentage are mutually exclusive"),
         ("spec.renewBeforePercentage", "renewBefore and renewBeforePercentage are mutually exclusive")]),
    "renewBeforePercentage 25 of 2160h is accepted": (_cert(duration="2160h", renewBeforePercentage=25), None, []),
    "renewBeforePercentage 100 leaves no renewBefore by the webhook formula": (
        _cert(duration="2160h", renewBeforePercentage=100), None,
        [("spec.renewBeforePercentage",
          "certificate renewBeforePercentage must result in a renewBefore greater than 5m0s")]),
    "renewBeforePercentage 0 equals the duration by the webhook formula": (
        _cert(duration="720h", renewBeforePercentage=0), None,
        [("spec.renewBeforePercentage", "certificate renewBeforePercentage must result in a renewBefore less than")]),
    "renewBeforePercentage without duration or renewBefore is not checked (webhook quirk)": (
        _cert(renewBeforePercentage=100), None, []),
    "renewBeforePercentage 95 of 1h leaves 3m by the webhook formula": (
        _cert(duration="1h", renewBeforePercentage=95), None, [("spec.renewBeforePercentage", "greater than 5m0s")]),
    "commonName of 65 characters is rejected": (
        _cert(commonName="a" * 65), None, [("spec.commonName", "may not be more than 64")]),
    "literalSubject with commonName is rejected": (
        _cert(literalSubject="CN=a", commonName="a"), None,
        [("spec.commonName", "When providing a `LiteralSubject` no `commonName` may be provided.")]),
    "literalSubject with subject organizations is rejected": (
        _cert(literalSubject="CN=a", subject={"organizations": ["Acme"]}), None,
        [("spec.subject", "When providing a `LiteralSubject` no `Subject` properties may be provided.")]),
    "RSA key of 1024 bits is rejected": (
        _cert(privateKey={"algorithm": "RSA", "size": 1024}), None,
        [("spec.privateKey.size", "must be between 2048 and 8192 for rsa keyAlgorithm")]),
    "default algorithm key of 16384 bits is rejected": (
        _cert(privateKey={"size": 16384}), None, [("spec.privateKey.size", "must be between 2048 and 8192")]),
    "RSA key of 3072 bits is accepted": (_cert(privateKey={"algorithm": "RSA", "size": 3072}), None, []),
    "ECDSA key of 300 bits is rejected": (
        _cert(privateKey={"algorithm": "ECDSA", "size": 300}), None,
        [("spec.privateKey.size", 'supported values: "256", "384", "521"')]),
    "ECDSA P-521 is accepted": (_cert(privateKey={"algorithm": "ECDSA", "size": 521}), None, []),
    "Ed25519 ignores size": (_cert(privateKey={"algorithm": "Ed25519", "size": 1}), None, []),
    "unknown key algorithm is rejected by the enum": (
        _cert(privateKey={"algorithm": "DSA"}), None, [("spec.privateKey.algorithm", "Unsupported value")]),
    "ECDSA signature algorithm on an RSA key is rejected": (
        _cert(privateKey={"algorithm": "RSA"}, signatureAlgorithm="ECDSAWithSHA256"), None,
        [("spec.signatureAlgorithm",
          "for key algorithm RSA the allowed signature algorithms are [SHA256WithRSA SHA384WithRSA SHA512WithRSA]")]),
    "PureEd25519 without a key algorithm assumes RSA and is rejected": (
        _cert(signatureAlgorithm="PureEd25519"), None, [("spec.signatureAlgorithm", "for key algorithm RSA")]),
    "RSA signature algorithm on an ECDSA key is rejected": (
        _cert(privateKey={"algorithm": "ECDSA"}, signatureAlgorithm="SHA256WithRSA"), None,
        [("spec.signatureAlgorithm", "for key algorithm ECDSA the allowed signature algorithms are")]),
    "jks keystore with password and passwordSecretRef is rejected": (
        _cert(keystores={"jks": {"create": True, "password": "p", "passwordSecretRef": {"name": "s", "key": "k"}}}),
        None, [("spec.keystores.jks", "exactly one of passwordSecretRef and password must be provided for JKS "
                                      "keystores; cannot set both")]),
    "jks keystore without any password is rejected": (
        _cert(keystores={"jks": {"create": True}}), None,
        [("spec.keystores.jks", "must set exactly one of passwordSecretRef and password must for JKS keystores")]),
    "pkcs12 keystore with an empty literal password is rejected": (
        _cert(keystores={"pkcs12": {"create": True, "password": ""}}), None,
        [("spec.keystores.pkcs12.password", "literal password cannot be empty if set on PKCS#12 keystores")]),
    "nameConstraints without isCA is rejected": (
        _cert(nameConstraints={"permitted": {"dnsDomains": ["example.com"]}}), None,
        [("spec.nameConstraints", "isCa should be true when nameConstraints is set")]),
    "nameConstraints without permitted or excluded is rejected": (
        _cert(isCA=True, nameConstraints={"critical": True}), None,
        [("spec.nameConstraints", "either permitted or excluded must be set")]),
    "nameConstraints ipRanges must be CIDRs": (
        _cert(isCA=True, nameConstraints={"excluded": {"ipRanges": ["10.0.0.1"]}}), None,
        [("spec.nameConstraints.excluded.ipRanges[0]", "must be of type cidr")]),
    "additionalOutputFormats with DER twice is rejected": (
        _cert(additionalOutputFormats=[{"type": "DER"}, {"type": "DER"}]), None,
        [("spec.additionalOutputFormats", "Duplicate value")]),
    "revisionHistoryLimit 0 is rejected": (
        _cert(revisionHistoryLimit=0), None, [("spec.revisionHistoryLimit", "must not be less than 1")]),
    "secretTemplate annotation with the cert-manager.io/ prefix is rejected": (
        _cert(secretTemplate={"annotations": {"cert-manager.io/issuer-name": "x"}}), None,
        [("spec.secretTemplate.annotations", "cert-manager.io/* annotations are not allowed")]),
    "renewal windows with policy Disabled are rejected": (
        _cert(renewal={"policy": "Disabled", "windows": [{"cron": "0 2 * * *", "windowDuration": "1h"}]}), None,
        [("spec.renewal.windows", "windows cannot be set when `renewal.policy` is set to Disabled")]),
    "renewal window cron with four fields is rejected": (
        _cert(renewal={"policy": "RenewBefore", "windows": [{"cron": "0 2 * *", "windowDuration": "1h"}]}), None,
        [("spec.renewal.windows[0].cron", "invalid cron syntax")]),
    "unknown usage is rejected": (
        _cert(usages=["server auth", "serverauth"]), None, [("spec.usages[1]", "Unsupported value")]),
    "issuerRef kind without a group hints at the group": (
        _cert(issuerRef={"name": "x", "kind": "AWSPCAClusterIssuer"}), None,
        [("spec.issuerRef.kind",
          "must be one of Issuer or ClusterIssuer (did you forget to set spec.issuerRef.kind.group?)")]),
    "issuerRef kind with the cert-manager.io group gives no hint": (
        _cert(issuerRef={"name": "x", "kind": "Foo", "group": "cert-manager.io"}), None,
        [("spec.issuerRef.kind", "must be one of Issuer or ClusterIssuer")]),
    "issuerRef with an empty name is rejected": (
        _cert(issuerRef={"name": ""}), None, [("spec.issuerRef.name", "must be specified")]),
    "missing secretName is required": (_cert(secretName=None), None, [("spec.secretName", "Required value")]),
    "secretName that is not a DNS subdomain is rejected": (
        _cert(secretName="Bad_Name"), None, [("spec.secretName", "a lowercase RFC 1123 subdomain")]),
    "ipAddress that does not parse is rejected": (
        _cert(ipAddresses=["10.0.0.1", "1.2.3"]), None, [("spec.ipAddresses[1]", "invalid IP address")]),
    "otherName with a bad oid is rejected": (
        _cert(otherNames=[{"oid": "1.2.a", "utf8Value": "x"}]), None,
        [("spec.otherNames[0].oid", "invalid oid syntax")]),
    "otherName without a value is rejected": (
        _cert(otherNames=[{"oid": "1.2.3"}]), None,
        [("spec.otherNames[0].utf8Value", "must be set to a valid non-empty UTF8 string")]),
    "certificate spec may change": (_cert(dnsNames=["b.example.com"]), _cert(), []),
    # --- CertificateRequest ---
    "certificate request is accepted": (_cr(), None, []),
    "certificate request without request is rejected": (_cr(request=None), None, [("spec.request", "Required value")]),
    "certificate request with an empty request is rejected": (
        _cr(request=""), None, [("spec.request", "must be specified")]),
    "certificate request spec change is rejected": (
        _cr(duration="1h"), _cr(), [("spec", "cannot change spec after creation")]),
    "certificate request status change is accepted": (
        _with_status(_cr(), {"conditions": [_cond("Approved"), _cond("Ready", "False", "Pending")]}),
        _with_status(_cr(), {"conditions": [_cond("Approved")]}), []),
    "certificate request issuerRef kind is checked": (
        _cr(issuerRef={"name": "ca", "kind": "Bogus"}), None, [("spec.issuerRef.kind", "did you forget")]),
    "Approved condition with status False is rejected": (
        _with_status(_cr(), {"conditions": [_cond("Approved", "False")]}), None,
        [("status.conditions", '"Approved" condition may only be set to True')]),
    "Approved and Denied together are rejected": (
        _with_status(_cr(), {"conditions": [_cond("Approved"), _cond("Denied")]}), None,
        [("status.conditions", "both 'Denied' and 'Approved' conditions cannot coexist")]),
    "Approved condition may not change once set": (
        _with_status(_cr(), {"conditions": [_cond("Approved", message="other")]}),
        _with_status(_cr(), {"conditions": [_cond("Approved")]}),
        [("status.conditions", "'Approved' condition may not be modified once set")]),
    "Denied condition may not be removed once set": (
        _with_status(_cr(), {"conditions": [_cond("Ready", "False", "Denied")]}),
        _with_status(_cr(), {"conditions": [_cond("Denied")]}),
        [("status.conditions", "'Denied' condition may not be modified once set")]),
    # --- Issuer / ClusterIssuer (internal/apis/certmanager/validation/issuer.go) ---
    "issuer with no type is rejected": (_issuer(), None, [("spec", "at least one issuer must be configured")]),
    "cluster issuer with no type is rejected": (
        _issuer("ClusterIssuer"), None, [("spec", "at least one issuer must be configured")]),
    "issuer with ca and selfSigned is rejected at the second type": (
        _issuer(ca={"secretName": "ca"}, selfSigned={}), None,
        [("spec.selfSigned", "may not specify more than one issuer type")]),
    "issuer with three types is rejected at the second and third": (
        _issuer(acme=_acme()["spec"]["acme"], ca={"secretName": "ca"}, selfSigned={}), None,
        [("spec.ca", "may not specify more than one issuer type"),
         ("spec.selfSigned", "may not specify more than one issuer type")]),
    "ca issuer without secretName is rejected": (_issuer(ca={}), None, [("spec.ca.secretName", "Required value")]),
    "ca issuer with an empty ocsp server is rejected": (
        _issuer(ca={"secretName": "ca", "ocspServers": [""]}), None,
        [("spec.ca.ocspServers[0]", "must be a valid URL, e.g., http://ocsp.int-x3.letsencrypt.org")]),
    "acme issuer without server is rejected": (
        _issuer(acme={"privateKeySecretRef": {"name": "k"}}), None,
        [("spec.acme.server", "acme server URL is a required field")]),
    "acme issuer without privateKeySecretRef is rejected": (
        _issuer(acme={"server": "https://acme.example/dir"}), None,
        [("spec.acme.privateKeySecretRef.name", "private key secret name is a required field")]),
    "acme issuer with skipTLSVerify and caBundle is rejected on both": (
        _acme(skipTLSVerify=True, caBundle="LS0tLS0K"), None,
        [("spec.acme.caBundle", "caBundle and skipTLSVerify are mutually exclusive and cannot both be set"),
         ("spec.acme.skipTLSVerify", "caBundle and skipTLSVerify are mutually exclusive and cannot both be set")]),
    "acme external account binding without keyID is rejected": (
        _acme(externalAccountBinding={"keySecretRef": {"name": "eab", "key": "k"}}), None,
        [("spec.acme.externalAccountBinding.keyID", "the keyID field is required when using externalAccountBinding")]),
    "acme external account binding without key is rejected": (
        _acme(externalAccountBinding={"keyID": "kid-1", "keySecretRef": {"name": "eab"}}), None,
        [("spec.acme.externalAccountBinding.keySecretRef.key", "secret key is required")]),
    "preferredChain longer than 64 is rejected": (
        _acme(preferredChain="x" * 65), None, [("spec.acme.preferredChain", "may not be more than 64")]),
    "solver with http01 and dns01 is rejected": (
        _acme({"http01": {"ingress": {}}, "dns01": {"rfc2136": {"nameserver": "1.2.3.4"}}}), None,
        [(SOLVER, "may not specify more than one solver type in a single solver")]),
    "solver with no type is rejected": (
        _acme({"selector": {"dnsNames": ["a.example.com"]}}), None, [(SOLVER, "no solver type configured")]),
    "http01 solver with neither ingress nor gateway is rejected": (
        _acme({"http01": {}}), None, [(f"{SOLVER}.http01", "no HTTP01 solver type configured")]),
    "http01 solver with ingress and gateway is rejected": (
        _acme({"http01": {"ingress": {}, "gatewayHTTPRoute": {}}}), None,
        [(f"{SOLVER}.http01", "only 1 HTTP01 solver type may be configured")]),
    "ingress solver with class and ingressClassName is rejected": (
        _acme({"http01": {"ingress": {"class": "nginx", "ingressClassName": "nginx"}}}), None,
        [(f"{SOLVER}.http01.ingress", "only one of 'ingressClassName', 'name' or 'class' should be specified")]),
    "ingress solver with a bad ingressClassName is rejected": (
        _acme({"http01": {"ingress": {"ingressClassName": "azure/application-gateway"}}}), None,
        [(f"{SOLVER}.http01.ingress.ingressClassName", "must be a valid IngressClass name")]),
    "ingress solver with a LoadBalancer service is rejected": (
        _acme({"http01": {"ingress": {"serviceType": "LoadBalancer"}}}), None,
        [(f"{SOLVER}.http01.ingress.serviceType", 'must be empty, "ClusterIP" or "NodePort"')]),
    "gateway parentRef with a name but no kind is rejected": (
        _acme({"http01": {"gatewayHTTPRoute": {"parentRefs": [{"name": "gw"}]}}}), None,
        [(f"{SOLVER}.http01.gatewayHTTPRoute.parentRefs[0].kind", "kind is required when name is specified")]),
    "dns01 solver with no provider is rejected": (
        _acme({"dns01": {"cnameStrategy": "Follow"}}), None, [(f"{SOLVER}.dns01", "no DNS01 provider configured")]),
    "dns01 solver with two providers is rejected at the later one": (
        _acme({"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "t"}},
                         "route53": {"region": "eu-west-1"}}}), None,
        [(f"{SOLVER}.dns01.route53", "may not specify more than one provider type")]),
    "cloudflare with apiKey but no email is rejected": (
        _acme({"dns01": {"cloudflare": {"apiKeySecretRef": {"name": "cf", "key": "k"}}}}), None,
        [(f"{SOLVER}.dns01.cloudflare.email", "email is required")]),
    "cloudflare secret ref without key is rejected": (
        _acme({"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": "cf"}}}}), None,
        [(f"{SOLVER}.dns01.cloudflare.apiTokenSecretRef.key", "secret key is required")]),
    "rfc2136 tsigKeyName without a secret is rejected": (
        _acme({"dns01": {"rfc2136": {"nameserver": "1.2.3.4", "tsigKeyName": "k"}}}), None,
        [(f"{SOLVER}.dns01.rfc2136.tsigSecretSecretRef.name", "secret name is required"),
         (f"{SOLVER}.dns01.rfc2136.tsigSecretSecretRef.key", "secret key is required")]),
    "rfc2136 tsig secret without tsigKeyName is rejected": (
        _acme({"dns01": {"rfc2136": {"nameserver": "1.2.3.4",
                                     "tsigSecretSecretRef": {"name": "tsig", "key": "secret"}}}}), None,
        [(f"{SOLVER}.dns01.rfc2136.tsigKeyName", "Required value")]),
    "rfc2136 unknown tsigAlgorithm is rejected": (
        _acme({"dns01": {"rfc2136": {"nameserver": "1.2.3.4", "tsigAlgorithm": "HMACSHA999"}}}), None,
        [(f"{SOLVER}.dns01.rfc2136.tsigAlgorithm", 'supported values: "HMACMD5", "HMACSHA1"')]),
    "rfc2136 nameserver that is a bare IPv6 address is rejected": (
        _acme({"dns01": {"rfc2136": {"nameserver": "2001:db8::1"}}}), None,
        [(f"{SOLVER}.dns01.rfc2136.nameserver", "nameserver must be set in the form host:port")]),
    "rfc2136 tsigAlgorithm is case-insensitive": (
        _acme({"dns01": {"rfc2136": {"nameserver": "1.2.3.4", "tsigAlgorithm": "hmacSHA512"}}}), None, []),
    "azure with managedIdentity and client credentials is rejected": (
        _acme({"dns01": {"azureDNS": {"subscriptionID": "s", "resourceGroupName": "rg", "clientID": "c",
                                      "tenantID": "t", "clientSecretSecretRef": {"name": "az", "key": "k"},
                                      "managedIdentity": {"clientID": "c"}}}}), None,
        [(f"{SOLVER}.dns01.azureDNS.managedIdentity", "managed identity cannot be used at the same time")]),
    "negative waitInsteadOfSelfCheck is rejected": (
        _acme({"dns01": {"rfc2136": {"nameserver": "1.2.3.4"}}, "waitInsteadOfSelfCheck": "-1m"}), None,
        [(f"{SOLVER}.waitInsteadOfSelfCheck", "waitInsteadOfSelfCheck must not be negative")]),
    "acme renewalInformationSource is defaulted to ARI and accepted": (_acme(), None, []),
    # --- Order (internal/apis/acme/validation/order.go) ---
    "order request change is rejected": (
        {**_order(), "spec": {**_order()["spec"], "request": "bmV3Cg=="}}, _order(),
        [("spec.request", "field is immutable once set")]),
    "order url may be set once": (_order(url="https://acme.example/order/1"), _order(), []),
    "order url change is rejected": (
        _order(url="https://acme.example/order/2"), _order(url="https://acme.example/order/1"),
        [("status.url", "field is immutable once set")]),
    "order authorizations may not be added once set": (
        _order(authorizations=[_authz(), _authz("https://acme.example/authz/2")]), _order(authorizations=[_authz()]),
        [("status.authorizations", "field is immutable once set")]),
    "order authorization details may be filled in once": (
        _order(authorizations=[_authz(identifier="example.com", wildcard=False, initialState="pending",
                                      challenges=[{"url": "u", "token": "t", "type": "http-01"}])]),
        _order(authorizations=[_authz()]), []),
    "order authorization identifier may not change": (
        _order(authorizations=[_authz(identifier="other.example.com")]),
        _order(authorizations=[_authz(identifier="example.com")]),
        [("status.authorizations", "field is immutable once set")]),
    "order authorizations may not be reordered": (
        _order(authorizations=[_authz("https://acme.example/authz/2"), _authz()]),
        _order(authorizations=[_authz(), _authz("https://acme.example/authz/2")]),
        [("status.authorizations", "field is immutable once set")]),
    "order challenge token may not change": (
        _order(authorizations=[_authz(challenges=[{"url": "u", "token": "t2", "type": "http-01"}])]),
        _order(authorizations=[_authz(challenges=[{"url": "u", "token": "t1", "type": "http-01"}])]),
        [("status.authorizations", "field is immutable once set")]),
    "order challenges may not be dropped once set": (
        _order(authorizations=[_authz(challenges=[])]),
        _order(authorizations=[_authz(challenges=[{"url": "u", "token": "t1", "type": "http-01"}])]),
        [("status.authorizations", "field is immutable once set")]),
    "order finalizeURL and certificate are immutable once set": (
        _order(finalizeURL="f2", certificate="Yg=="), _order(finalizeURL="f1", certificate="YQ=="),
        [("status.finalizeURL", "field is immutable once set"), ("status.certificate", "field is immutable")]),
    "order state may progress": (_order(state="valid", url="u"), _order(state="pending", url="u"), []),
    # --- Challenge (internal/apis/acme/validation/challenge.go) ---
    "challenge spec change is rejected": (
        _challenge(key="other"), _challenge(), [("spec", "challenge spec is immutable after creation")]),
    "challenge status change is accepted": (
        _with_status(_challenge(), {"state": "valid", "processing": False}),
        _with_status(_challenge(), {"state": "pending", "processing": True}), []),
}


@pytest.mark.parametrize(("obj", "old", "expected"), list(CASES.values()), ids=list(CASES))
def test_webhook_decision(obj: dict[str, Any], old: dict[str, Any] | None, expected: list[tuple[str, str]]) -> None:
    causes = _validate(obj, old)
    assert sorted(c.field for c in causes) == sorted(f for f, _ in expected), [str(c) for c in causes]
    for field, fragment in expected:
        assert any(c.field == field and fragment in c.message for c in causes), (fragment, [str(c) for c in causes])


def test_issuer_ref_hint_is_only_given_without_a_group() -> None:
    causes = _validate(_cert(issuerRef={"name": "x", "kind": "Foo", "group": "cert-manager.io"}))
    assert [c for c in causes if "did you forget" in c.message] == []


def test_there_are_enough_webhook_cases() -> None:
    rejected = [c for c in CASES.values() if c[2]]
    assert len(CASES) + len(VALID) >= 40
    assert len(rejected) >= 40


# ---------------------------------------------------------------------------------------------------
# (d) every rule is guarded: any subset of fields, with odd values, never makes a rule fail to evaluate

_DURATIONS = st.sampled_from(["1h", "2160h", "5m", "0", "0s", "-1h", "90d", "1h30m", "300ms", "", "1µs", "x"])
_TEXT = st.sampled_from(["", "a", "example.com", "RSA", "ECDSA", "Ed25519", "Disabled", "cert-manager.io", "1.2.3"])
_SMALL_INT = st.integers(min_value=-10, max_value=10_000)


def _subset(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


_BLOCKING = {"FieldValueNotSupported", "FieldValueTooLong", "FieldValueTooMany", "FieldValueTypeInvalid"}


def _no_evaluation_errors(causes: list[kube_schema.Cause]) -> None:
    """No rule failed to evaluate. kube runs no rule at all once the schema found a blocking error
    (required, enum, too long/many, wrong type: hasBlockingErr), so such objects prove nothing."""
    if any(c.reason in _BLOCKING or (c.reason == "FieldValueRequired" and c.message == "Required value")
           for c in causes):
        return
    broken = [str(c) for c in causes
              if "evaluating rule" in c.message or "did not match a supported operator" in c.message]
    assert broken == []


def _one_of(*values: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


# Values stay within enums and required fields are present: kube evaluates no rule at all once the
# schema finds such a blocking error, so objects with one would prove nothing here.
_SECRET_REF = st.fixed_dictionaries({"name": _TEXT}, optional={"key": _TEXT})
_CERT_SPEC = st.fixed_dictionaries({
    "secretName": _one_of("a-tls", "Bad_Name"),
    "issuerRef": st.fixed_dictionaries({"name": _TEXT}, optional={"kind": _TEXT, "group": _TEXT}),
}, optional={
    "commonName": _TEXT, "literalSubject": _one_of("", "CN=a", "O=b", "cn = x"),
    "dnsNames": st.lists(_TEXT, max_size=2), "ipAddresses": st.lists(_TEXT, max_size=2),
    "uris": st.lists(_TEXT, max_size=1), "emailAddresses": st.lists(_TEXT, max_size=1),
    "otherNames": st.lists(_subset({"oid": _TEXT, "utf8Value": _TEXT}), max_size=2),
    "subject": _subset({"organizations": st.lists(_TEXT, max_size=1), "serialNumber": _TEXT}),
    "duration": _DURATIONS, "renewBefore": _DURATIONS, "renewBeforePercentage": st.integers(-200, 200),
    "renewal": st.fixed_dictionaries({"policy": _one_of("RenewBefore", "Disabled")}, optional={"windows": st.lists(
        st.fixed_dictionaries({"cron": _one_of("0 2 * * *", "@daily", "x"), "windowDuration": _one_of("1h", "x")}),
        max_size=2)}),
    "isCA": st.booleans(), "usages": st.lists(_one_of("server auth", "cert sign"), max_size=2),
    "privateKey": _subset({"algorithm": _one_of("RSA", "ECDSA", "Ed25519"), "size": _SMALL_INT,
                           "encoding": _one_of("PKCS1", "PKCS8")}),
    "signatureAlgorithm": _one_of("SHA256WithRSA", "PureEd25519", "ECDSAWithSHA512"),
    "keystores": _subset({"jks": st.fixed_dictionaries({"create": st.booleans()}, optional={
                              "password": _TEXT, "passwordSecretRef": _SECRET_REF}),
                          "pkcs12": st.fixed_dictionaries({"create": st.booleans()}, optional={
                              "password": _TEXT, "passwordSecretRef": _SECRET_REF})}),
    "revisionHistoryLimit": _SMALL_INT,
    "additionalOutputFormats": st.lists(st.fixed_dictionaries({"type": _one_of("DER", "CombinedPEM")}), max_size=3),
    "nameConstraints": _subset({"critical": st.booleans(), "permitted": _subset({"dnsDomains": st.lists(_TEXT)}),
                                "excluded": _subset({"ipRanges": st.lists(_one_of("10.0.0.0/8", "x"))})}),
    "secretTemplate": _subset({"annotations": st.dictionaries(_TEXT, _TEXT, max_size=2)}),
})


@settings(max_examples=200, deadline=None)
@given(_CERT_SPEC, _CERT_SPEC)
def test_certificate_rules_never_fail_to_evaluate(spec: dict[str, Any], old_spec: dict[str, Any]) -> None:
    obj = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "a"}, "spec": spec}
    old = {**obj, "spec": old_spec}
    _no_evaluation_errors(_validate(obj, old))


_DNS01 = _subset({
    "cnameStrategy": _one_of("None", "Follow"),
    "cloudflare": _subset({"email": _TEXT, "apiKeySecretRef": _SECRET_REF, "apiTokenSecretRef": _SECRET_REF}),
    "route53": _subset({"accessKeyID": _TEXT, "accessKeyIDSecretRef": _SECRET_REF}),
    "azureDNS": st.fixed_dictionaries({"subscriptionID": _TEXT, "resourceGroupName": _TEXT}, optional={
        "clientID": _TEXT, "tenantID": _TEXT, "clientSecretSecretRef": _SECRET_REF,
        "managedIdentity": _subset({"clientID": _TEXT, "resourceID": _TEXT, "tenantID": _TEXT})}),
    "rfc2136": st.fixed_dictionaries({"nameserver": _one_of("10.0.0.16", "[::1]:53", "::1", "")}, optional={
        "tsigKeyName": _TEXT, "tsigAlgorithm": _one_of("", "hmacsha1", "HMACMD5", "x"),
        "tsigSecretSecretRef": _SECRET_REF}),
    "webhook": st.fixed_dictionaries({"groupName": _TEXT, "solverName": _TEXT}),
    "acmeDNS": st.fixed_dictionaries({"host": _TEXT, "accountSecretRef": _SECRET_REF}),
    "digitalocean": st.fixed_dictionaries({"tokenSecretRef": _SECRET_REF}),
})
_HTTP01 = _subset({
    "ingress": _subset({"class": _TEXT, "ingressClassName": _TEXT, "name": _TEXT, "serviceType": _TEXT}),
    "gatewayHTTPRoute": _subset({"serviceType": _TEXT, "parentRefs": st.lists(
        _subset({"name": _TEXT, "kind": _TEXT}), max_size=2)}),
})
_ISSUER_SPEC = _subset({
    "acme": _subset({
        "server": _TEXT, "privateKeySecretRef": _SECRET_REF, "skipTLSVerify": st.booleans(),
        "caBundle": _one_of("", "YQ=="), "preferredChain": _TEXT,
        "externalAccountBinding": _subset({"keyID": _TEXT, "keySecretRef": _SECRET_REF}),
        "solvers": st.lists(_subset({"http01": _HTTP01, "dns01": _DNS01, "waitInsteadOfSelfCheck": _DURATIONS}),
                            max_size=2),
    }),
    "ca": st.fixed_dictionaries({"secretName": _TEXT}, optional={"ocspServers": st.lists(_TEXT, max_size=2)}),
    "selfSigned": st.just({}),
    "vault": st.fixed_dictionaries({"server": _TEXT, "path": _TEXT, "auth": st.just({})}, optional={
        "caBundle": _one_of("", "YQ=="), "caBundleSecretRef": _SECRET_REF}),
    "venafi": st.fixed_dictionaries({"zone": _TEXT}, optional={"tpp": st.just({}), "cloud": st.just({})}),
})


@settings(max_examples=200, deadline=None)
@given(_ISSUER_SPEC, st.sampled_from(["Issuer", "ClusterIssuer"]))
def test_issuer_rules_never_fail_to_evaluate(spec: dict[str, Any], kind: str) -> None:
    _no_evaluation_errors(_validate(_issuer(kind, **spec)))


# old objects were stored, so they passed the schema: required fields are always there
_AUTHZ = st.fixed_dictionaries(
    {"url": _TEXT},
    optional={"identifier": _TEXT, "wildcard": st.booleans(), "initialState": st.sampled_from(["pending", "valid"]),
              "challenges": st.lists(st.fixed_dictionaries({"url": _TEXT, "token": _TEXT, "type": _TEXT}),
                                     max_size=2)})
_ORDER_STATUS = _subset({"url": _TEXT, "finalizeURL": _TEXT, "certificate": st.sampled_from(["", "YQ=="]),
                         "authorizations": st.lists(_AUTHZ, max_size=3)})
_CR_STATUS = _subset({"conditions": st.lists(
    st.fixed_dictionaries({"type": st.sampled_from(["Approved", "Denied", "Ready"]),
                           "status": st.sampled_from(["True", "False"])}, optional={"reason": _TEXT}),
    max_size=3, unique_by=lambda c: c["type"])})


@settings(max_examples=200, deadline=None)
@given(_ORDER_STATUS, _ORDER_STATUS, _CR_STATUS, _CR_STATUS)
def test_transition_rules_never_fail_to_evaluate(
    order: dict[str, Any], old_order: dict[str, Any], cr: dict[str, Any], old_cr: dict[str, Any]
) -> None:
    _no_evaluation_errors(_validate(_order(**order), _order(**old_order)))
    _no_evaluation_errors(_validate(_with_status(_cr(), cr), _with_status(_cr(), old_cr)))


def _go_valid_nameserver(nameserver: str) -> bool:
    """cert-manager's rfc2136 util.ValidNameserver over Go's net.SplitHostPort, ported for comparison."""
    ns = nameserver.strip()
    if not ns:
        return False
    i = ns.rfind(":")
    host, missing_port = "", False
    if i < 0:
        missing_port = True
    elif ns[0] == "[":
        end = ns.find("]")
        if end < 0:
            return False
        if end + 1 == len(ns):
            missing_port = True
        elif end + 1 != i:
            if ns[end + 1] == ":":
                return False
            missing_port = True
        else:
            host = ns[1:end]
            if "[" in ns[1:] or "]" in ns[end + 1 :]:
                return False
    else:
        host = ns[:i]
        if ":" in host or "[" in ns or "]" in ns:
            return False
    if missing_port:
        host = ns.strip("[]")
    return host != ""


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="ab1:.[]", max_size=12))
def test_nameserver_rule_is_cert_managers_valid_nameserver(text: str) -> None:
    assert bool(_regex("NAMESERVER_RE").search(text)) is _go_valid_nameserver(text), text


@pytest.mark.parametrize(("text", "valid"), [
    ("10.0.0.16", True), ("10.0.0.16:53", True), ("[2001:db8::1]", True), ("[2001:db8::1]:5353", True),
    ("ns.example.com", True), ("ns.example.com:53", True), (" 10.0.0.16:53 ", True), ("ns:port", True),
    ("2001:db8::1", False), ("2001:db8::1:53", False), (":53", False), ("[2001:db8::1", False), ("", False),
    ("[]:53", False), ("[a]:b:c", False), ("[][", False), ("[a:b]c", True), ("[a]b:c", True),
])
def test_nameserver_rule_examples(text: str, valid: bool) -> None:
    assert bool(_regex("NAMESERVER_RE").search(text)) is valid
    assert _go_valid_nameserver(text) is valid
