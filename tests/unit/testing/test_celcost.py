"""issuer.testing.celcost: the CEL cost kube-apiserver estimates for a CRD's x-kubernetes-validations and
the refusals it makes on CRD create/update. Every figure and message below was taken from Kubernetes' own
CRD validation (apiextensions-apiserver v0.37.2 with cel-go v0.29.2) run on the same schema."""

from __future__ import annotations

import copy
import functools
import importlib.util
import pathlib
import time
from types import ModuleType
from typing import Any

import pytest
import yaml

from issuer.testing import celcost, schema

ROOT = pathlib.Path(__file__).resolve().parents[3]
CRD_DIR = ROOT / "crds"
ADVICE = ("(try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and "
          "strings are declared)")
TOTAL = "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of"
CONTRIBUTED = "Forbidden: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema"

SPEC: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 63},
        "text": {"type": "string"},
        "mode": {"type": "string", "enum": ["Fast", "Slow"]},
        "data": {"type": "string", "format": "byte", "maxLength": 100},
        "at": {"type": "string", "format": "date-time"},
        "count": {"type": "integer"},
        "tags": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 20}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "ports": {"type": "array", "maxItems": 5, "items": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "maxLength": 15},
            "aliases": {"type": "array", "maxItems": 3, "items": {"type": "string", "maxLength": 15}}}}},
        "size": {"x-kubernetes-int-or-string": True},
    },
}


def _root(spec: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"spec": spec}}


def _with_rule(rule: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(SPEC)
    spec["x-kubernetes-validations"] = [rule]
    return _root(spec)


# ---------------------------------------------------------------------------------------------------
# one evaluation of a rule on spec (cardinality 1), as kube estimates it

RULE_COSTS = [
    pytest.param("has(self.name)", 1, id="has() costs its operand only"),
    pytest.param("self.name == 'web'", 3, id="equality costs a tenth of the smaller size"),
    pytest.param("self.name.matches('^[a-z]+$')", 54, id="matches costs string size times regex length"),
    pytest.param("self.text.matches('^[a-z]+$')", 629_148, id="an unbounded string is sized by the 3 MiB request"),
    pytest.param("self.name + '-x' == self.mode", 31, id="concatenation adds sizes and an enum is its longest value"),
    pytest.param("'x' + string(self.count) == 'x1'", 1_844_674_407_370_955_268,
                 id="string(int) has no size bound, so concatenating it has no cost bound"),
    pytest.param("self.tags.all(t, t.startsWith('a'))", 53, id="all() multiplies its step by maxItems"),
    pytest.param("self.tags.exists_one(t, t == self.name)", 134, id="exists_one() counts matches"),
    pytest.param("self.tags.filter(t, t.size() > 3).size() < 2", 175, id="filter() builds a list"),
    pytest.param("self.tags.map(t, t + '!').all(t, t.endsWith('!'))", 284,
                 id="map() results keep the sizes of their elements"),
    pytest.param("self.labels.all(k, k.startsWith('x/'))", 1_966_078,
                 id="an unbounded map is sized by how many smallest entries fit into a request"),
    pytest.param("self.ports.all(p, p.aliases.all(a, a != 'x'))", 108, id="nested comprehensions multiply"),
    pytest.param("self.ports.all(p, p.aliases.all(a, a != p.name))", 3_633,
                 id="an inner range beside another field of the outer variable is counted as kube miscounts it"),
    pytest.param("self.mode in ['Fast', 'Slow']", 14, id="in on a list costs the list's length"),
    pytest.param("self.at > timestamp('2000-01-01T00:00:00Z')", 4, id="timestamps compare in constant time"),
    pytest.param("size(self.data) < 50", 4, id="size() is constant time"),
    pytest.param("[1, 2, 3].all(i, i < self.count)", 32, id="a list literal iterates its length"),
    pytest.param("self.tags.join(',').size() < 100", 85, id="join() sizes the joined string"),
    pytest.param("'%s:%d'.format([self.name, self.count]) != ''", 15, id="format() costs its format string"),
    pytest.param("self.size == 3 || self.size == '3%'", 6, id="an int-or-string is dyn"),
    pytest.param("self.name.split('-').size() <= 3", 55, id="split() is two traversals"),
    pytest.param("self.name.lowerAscii().replace('a', 'bb') != ''", 79, id="replace() may grow its string"),
    pytest.param("self.tags.exists(t, self.labels.exists(k, k == t))", 23_592_973,
                 id="a bounded list over an unbounded map"),
]


@pytest.mark.parametrize(("rule", "cost"), RULE_COSTS)
def test_rule_costs_what_kube_estimates(rule: str, cost: int) -> None:
    [estimate] = celcost.estimate(_with_rule({"rule": rule}))
    assert (estimate.field, estimate.per_call, estimate.cardinality) == (
        "openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule", cost, 1)


MESSAGE_COSTS = [
    pytest.param("'name ' + self.name", 28, id="a bounded concatenation"),
    pytest.param("'count ' + string(self.count)", 1_844_674_407_370_955_267, id="string(int) is unbounded"),
    pytest.param("'%d items'.format([size(self.tags)])", 14, id="format() is bounded by its format string"),
]


@pytest.mark.parametrize(("expression", "cost"), MESSAGE_COSTS)
def test_message_expression_costs_what_kube_estimates(expression: str, cost: int) -> None:
    _, message = celcost.estimate(_with_rule({"rule": "true", "messageExpression": expression}))
    assert message.field.endswith("x-kubernetes-validations[0].messageExpression")
    assert (message.per_call, message.cost) == (cost, cost)


# ---------------------------------------------------------------------------------------------------
# refusals: per rule, per messageExpression, per CRD

HOSTS_RULE = "self.matches('^(a|b|c|d|e|f|g|h)+$')"
HOSTS_PATH = "openAPIV3Schema.properties[spec].properties[hosts].items.x-kubernetes-validations"


def _hosts(max_items: int | None, max_length: int, rules: tuple[str, ...] = (HOSTS_RULE,)) -> dict[str, Any]:
    items = {"type": "string", "maxLength": max_length, "x-kubernetes-validations": [{"rule": r} for r in rules]}
    node: dict[str, Any] = {"type": "array", "items": items}
    if max_items is not None:
        node["maxItems"] = max_items
    return _root({"type": "object", "properties": {"hosts": node}})


ELEVEN_RULES = tuple(HOSTS_RULE.replace("h)", f"{c})") for c in "hijklmnopqr")

BUDGET_CASES = [
    pytest.param(
        _hosts(10_000, 1000),
        [f"{HOSTS_PATH}[0].rule: Forbidden: estimated rule cost exceeds budget by factor of 2.0x {ADVICE}"],
        id="a regex on 1000-character strings in a list of 10000 is refused at the rule",
    ),
    pytest.param(_hosts(1000, 1000), [], id="the same rule under maxItems 1000 is accepted"),
    pytest.param(_hosts(10_000, 100), [], id="the same rule on 100-character strings is accepted"),
    pytest.param(
        _hosts(None, 1000),
        [f"{HOSTS_PATH}[0].rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x {ADVICE}",
         f"{HOSTS_PATH}[0].rule: {CONTRIBUTED}",
         f"openAPIV3Schema: Forbidden: {TOTAL} 21.0x {ADVICE}"],
        id="without maxItems a list holds as many items as a request can, over the rule and the CRD budget",
    ),
    pytest.param(
        _hosts(4700, 1000, ELEVEN_RULES),
        [*(f"{HOSTS_PATH}[{i}].rule: {CONTRIBUTED}" for i in range(4)),
         f"openAPIV3Schema: Forbidden: {TOTAL} 1.037102x {ADVICE}"],
        id="eleven rules each within budget exceed the CRD total; the four dearest are named",
    ),
    pytest.param(
        _root({"type": "object", "properties": {"count": {"type": "integer"}}, "x-kubernetes-validations": [
            {"rule": "self.count > 0", "messageExpression": "'count is ' + string(self.count)"}]}),
        ["openAPIV3Schema.properties[spec].x-kubernetes-validations[0].messageExpression: Forbidden: estimated "
         f"messageExpression cost exceeds budget by factor of more than 100x {ADVICE}",
         f"openAPIV3Schema.properties[spec].x-kubernetes-validations[0].messageExpression: {CONTRIBUTED}",
         f"openAPIV3Schema: Forbidden: {TOTAL} more than 100x {ADVICE}"],
        id="a messageExpression concatenating string(int) is refused and overruns the CRD total",
    ),
]


@pytest.mark.parametrize(("sch", "expected"), BUDGET_CASES)
def test_budget_problems_are_kubes(sch: dict[str, Any], expected: list[str]) -> None:
    assert celcost.budget_problems(sch) == expected


def test_check_structural_reports_cost_refusals() -> None:
    assert schema.check_structural(_hosts(10_000, 1000)) == [
        f"{HOSTS_PATH}[0].rule: Forbidden: estimated rule cost exceeds budget by factor of 2.0x {ADVICE}"]


def test_a_rule_that_does_not_compile_does_not_hide_cost_refusals() -> None:
    sch = _hosts(10_000, 1000, (HOSTS_RULE, "self ==="))
    fields = [e.split(": ")[0] for e in schema.check_structural(sch)]
    assert fields == [f"{HOSTS_PATH}[1].rule", f"{HOSTS_PATH}[0].rule"]


def test_a_schema_that_is_not_structural_is_not_costed() -> None:
    sch = _hosts(10_000, 1000)
    sch["properties"]["spec"]["properties"]["x"] = {"type": "strnig"}
    [error] = schema.check_structural(sch)
    assert error.startswith("openAPIV3Schema.properties[spec].properties[x].type: Unsupported value")


ROOT_CASES = [
    pytest.param({"type": "object"}, 411, id="a resource root's metadata.name is at most 253 characters"),
    pytest.param({"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}}}, 39,
                 id="or as long as the schema allows if that is shorter"),
    pytest.param({"type": "object", "properties": {"name": {"type": "string"}, "generateName": {"type": "string"}}},
                 1_258_295, id="a schema declaring metadata.name and generateName is taken as it is"),
]


@pytest.mark.parametrize(("metadata", "cost"), ROOT_CASES)
def test_a_rule_at_the_root_sees_metadata(metadata: dict[str, Any], cost: int) -> None:
    sch = {"type": "object", "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                            "metadata": metadata},
           "x-kubernetes-validations": [{"rule": "self.metadata.name.matches('^[a-z]{1,63}$')"}]}
    [estimate] = celcost.estimate(sch)
    assert (estimate.per_call, estimate.cardinality) == (cost, 1)


# ---------------------------------------------------------------------------------------------------
# our six CRDs, and the three rules kube refused before crds/generate.py bounded them


@functools.cache
def _loaded(name: str) -> dict[str, Any]:
    crd: dict[str, Any] = yaml.load((CRD_DIR / name).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    return crd


def _crd_schema(name: str) -> dict[str, Any]:
    """A fresh copy of the openAPIV3Schema of one of our CRDs (tests modify theirs)."""
    root: dict[str, Any] = copy.deepcopy(_loaded(name)["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    return root


CRD_FILES = sorted(p.name for p in CRD_DIR.glob("*.cert-manager.io.yaml"))
SPEC_PATH = "openAPIV3Schema.properties[spec]"
IP_PATH = f"{SPEC_PATH}.properties[ipAddresses].items"
NAMESERVER_PATH = (f"{SPEC_PATH}.properties[acme].properties[solvers].items.properties[dns01].properties[rfc2136]"
                   ".properties[nameserver]")


@pytest.mark.parametrize("name", CRD_FILES)
def test_our_crds_fit_the_budget(name: str) -> None:
    estimates = celcost.estimate(_crd_schema(name))
    assert estimates
    assert max(e.cost for e in estimates) <= celcost.PER_EXPRESSION_LIMIT
    assert sum(e.cost for e in estimates) <= celcost.PER_CRD_LIMIT
    assert celcost.budget_problems(_crd_schema(name)) == []


def test_the_formerly_refused_rules_cost_what_kube_says() -> None:
    certificates = {e.field: e.cost for e in celcost.estimate(_crd_schema("certificates.cert-manager.io.yaml"))}
    issuers = {e.field: e.cost for e in celcost.estimate(_crd_schema("issuers.cert-manager.io.yaml"))}
    assert certificates[f"{IP_PATH}.x-kubernetes-validations[0].rule"] == 8_057_000
    assert certificates[f"{SPEC_PATH}.x-kubernetes-validations[7].messageExpression"] == 1367
    assert issuers[f"{NAMESERVER_PATH}.x-kubernetes-validations[0].rule"] == 5_446_000
    assert sum(certificates.values()) == 11_886_649


@functools.cache
def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crds_generate", CRD_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _old_duration_message() -> str:
    """The renewBefore messageExpression as crds/generate.py wrote it before: string() of ints, concatenated."""
    g = _generator()
    effective = (f"(has(self.duration) && {g.valid_duration('self.duration')} ? "
                 f"{g.cel_duration('self.duration')} : duration('2160h'))")
    d_ms, rb_ms = g.milliseconds(effective), g.milliseconds(g.cel_duration("self.renewBefore"))

    def go_string(ms: str) -> str:
        sec = f"({ms} / 1000)"
        return (f"({sec} >= 3600 ? string({sec} / 3600) + 'h' + string({sec} % 3600 / 60) + 'm' + "
                f"string({sec} % 60) + 's' : ({sec} >= 60 ? string({sec} / 60) + 'm' + string({sec} % 60) + 's' : "
                f"string({sec}) + 's'))")

    return (f"({d_ms} >= 0 && {rb_ms} >= 0 && {d_ms} % 1000 == 0 && {rb_ms} % 1000 == 0) ? "
            f"'certificate duration ' + {go_string(d_ms)} + ' must be greater than renewBefore ' + "
            f"{go_string(rb_ms)} : 'certificate duration must be greater than renewBefore'")


def test_the_old_ip_address_bound_is_refused() -> None:
    root = _crd_schema("certificates.cert-manager.io.yaml")
    root["properties"]["spec"]["properties"]["ipAddresses"]["items"]["maxLength"] = 64
    assert celcost.budget_problems(root) == [
        f"{IP_PATH}.x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of "
        f"1.102500x {ADVICE}"]


@pytest.mark.parametrize("name", ["issuers.cert-manager.io.yaml", "clusterissuers.cert-manager.io.yaml"])
def test_the_old_nameserver_bound_is_refused(name: str) -> None:
    root = _crd_schema(name)
    acme = root["properties"]["spec"]["properties"]["acme"]
    acme["properties"]["solvers"]["items"]["properties"]["dns01"]["properties"]["rfc2136"]["properties"][
        "nameserver"]["maxLength"] = 1024
    assert celcost.budget_problems(root) == [
        f"{NAMESERVER_PATH}.x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by "
        f"factor of 1.8x {ADVICE}"]


def test_the_old_duration_message_is_refused() -> None:
    root = _crd_schema("certificates.cert-manager.io.yaml")
    rule = root["properties"]["spec"]["x-kubernetes-validations"][7]
    assert rule["message"] == "certificate duration must be greater than renewBefore"
    rule["messageExpression"] = _old_duration_message()
    field = f"{SPEC_PATH}.x-kubernetes-validations[7].messageExpression"
    assert celcost.budget_problems(root) == [
        f"{field}: Forbidden: estimated messageExpression cost exceeds budget by factor of more than 100x {ADVICE}",
        f"{field}: {CONTRIBUTED}",
        f"{IP_PATH}.x-kubernetes-validations[0].rule: {CONTRIBUTED}",
        f"{SPEC_PATH}.properties[secretTemplate].properties[annotations].x-kubernetes-validations[0].rule: "
        f"{CONTRIBUTED}",
        f"openAPIV3Schema: Forbidden: {TOTAL} more than 100x {ADVICE}"]


# ---------------------------------------------------------------------------------------------------
# the parser and its sizes


def _rules(node: Any) -> list[str]:
    if isinstance(node, list):
        return [t for item in node for t in _rules(item)]
    if not isinstance(node, dict):
        return []
    texts = [t for r in node.get("x-kubernetes-validations") or () for t in (r["rule"], r.get("messageExpression"))
             if t]
    return texts + [t for key, value in node.items() if key != "x-kubernetes-validations" for t in _rules(value)]


def test_every_rule_of_our_crds_parses() -> None:
    texts = {t for name in CRD_FILES for t in _rules(_crd_schema(name))}
    assert len(texts) > 90
    assert [t for t in texts if celcost.parse(t) is None] == []


LITERAL_SIZES = [
    pytest.param(r"'a\nb\x41\u00e9\U0001F600'", ("string", 6), id="escapes count as one character"),
    pytest.param(r"r'a\nb'", ("string", 4), id="raw strings keep their backslashes"),
    pytest.param("'''two\nlines'''", ("string", 9), id="triple quotes"),
    pytest.param(r"b'\xff\x00é'", ("bytes", 4), id="bytes count UTF-8 bytes"),
    pytest.param("'é'", ("string", 1), id="strings count code points"),
]


@pytest.mark.parametrize(("text", "expected"), LITERAL_SIZES)
def test_literal_sizes(text: str, expected: tuple[str, int]) -> None:
    node = celcost.parse(text)
    assert node is not None and (node[1], node[2]) == expected


@pytest.mark.parametrize("text", ["self.a ==", "self.a.all(1, true)", "has(self)", "Msg{a: 1}", "'unterminated"])
def test_what_does_not_parse_is_none(text: str) -> None:
    assert celcost.parse(text) is None


def test_estimating_our_six_crds_is_quick() -> None:
    roots = [_crd_schema(name) for name in CRD_FILES]
    for root in roots:
        celcost.budget_problems(root)  # parse every rule once
    start = time.perf_counter()
    for root in roots:
        celcost.budget_problems(root)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.2, f"{elapsed * 1000:.0f} ms for six CRDs"  # about 15 ms on an idle machine
