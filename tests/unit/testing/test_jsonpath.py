"""issuer.testing.jsonpath: the JSONPath subset of CRD printer columns and the Table cells it feeds."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from issuer.testing import jsonpath
from issuer.testing.jsonpath import JSONPathError

CERT: dict[str, Any] = {
    "metadata": {
        "name": "web",
        "labels": {"app.kubernetes.io/name": "web"},
        "creationTimestamp": "2026-01-01T00:00:00Z",
    },
    "spec": {"secretName": "web-tls", "issuerRef": {"name": "ca"}, "dnsNames": ["a", "b", "c"], "isCA": False},
    "status": {
        "conditions": [
            {"type": "Issuing", "status": "False", "observedGeneration": 1},
            {"type": "Ready", "status": "True", "observedGeneration": 2, "message": "up to date"},
        ],
        "revision": 4,
    },
}

EVALUATE_CASES = [
    pytest.param(".spec.secretName", ["web-tls"], id="a dotted field"),
    pytest.param("{.spec.issuerRef.name}", ["ca"], id="the braces are optional"),
    pytest.param("$.spec.secretName", ["web-tls"], id="a $ root"),
    pytest.param('.status.conditions[?(@.type=="Ready")].status', ["True"], id="cert-manager's Ready column"),
    pytest.param(".status.conditions[?(@.type=='Ready')].message", ["up to date"], id="a filter with single quotes"),
    pytest.param('.status.conditions[?(@.type!="Ready")].type', ["Issuing"], id="a != filter"),
    pytest.param(".status.conditions[?(@.observedGeneration==2)].type", ["Ready"], id="a numeric filter"),
    pytest.param(".status.conditions[?(@.observedGeneration>1)].type", ["Ready"], id="a greater-than filter"),
    pytest.param(".status.conditions[?(@.message)].type", ["Ready"], id="an existence filter"),
    pytest.param(".spec[?(@.isCA==false)].secretName", ["web-tls"], id="a boolean filter on an object"),
    pytest.param(".status.conditions[*].type", ["Issuing", "Ready"], id="a wildcard over a list"),
    pytest.param(".spec.dnsNames[0]", ["a"], id="an index"),
    pytest.param(".spec.dnsNames[-1]", ["c"], id="a negative index"),
    pytest.param(".spec.dnsNames[0:2]", ["a", "b"], id="a slice"),
    pytest.param(".spec.dnsNames[0,2]", ["a", "c"], id="a union of indexes"),
    pytest.param(".spec.dnsNames[9]", [], id="an index past the end selects nothing"),
    pytest.param(".metadata.labels['app.kubernetes.io/name']", ["web"], id="a quoted key with dots"),
    pytest.param(".spec.issuerRef.*", ["ca"], id="a wildcard over a map"),
    pytest.param("..observedGeneration", [1, 2], id="recursive descent"),
    pytest.param(".status.missing", [], id="a missing field selects nothing"),
    pytest.param(".spec.secretName.deeper", [], id="descending into a string selects nothing"),
    pytest.param(".status.revision", [4], id="an integer value"),
]


@pytest.mark.parametrize(("expr", "expected"), EVALUATE_CASES)
def test_evaluate(expr: str, expected: list[Any]) -> None:
    assert jsonpath.evaluate(CERT, expr) == expected


@pytest.mark.parametrize(
    "expr",
    [
        pytest.param(".a[", id="an unclosed bracket"),
        pytest.param(".a[?(@.x==)]", id="a comparison without right side"),
        pytest.param(".a[?@.x]", id="a filter without parentheses"),
        pytest.param("{}", id="an empty expression"),
        pytest.param(".a['x", id="an unterminated string"),
        pytest.param(".a[::0]", id="a zero step"),
    ],
)
def test_bad_expressions_raise(expr: str) -> None:
    with pytest.raises(JSONPathError):
        jsonpath.evaluate(CERT, expr)


NOW = datetime.datetime(2026, 1, 3, 12, 0, 0, tzinfo=datetime.UTC)

CELL_CASES = [
    pytest.param(["True"], "string", "True", id="a string cell"),
    pytest.param([], "string", None, id="no value is null (kubectl prints <none>)"),
    pytest.param([None], "string", None, id="a JSON null is null"),
    pytest.param([{"b": 1, "a": "x"}], "string", "map[a:x b:1]", id="a map prints like Go"),
    pytest.param([["a", "b"]], "string", "[a b]", id="a list prints like Go"),
    pytest.param([False], "string", "false", id="a boolean in a string column"),
    pytest.param([4], "string", "4", id="a number in a string column"),
    pytest.param(["a", "b"], "string", "a", id="only the first value counts"),
    pytest.param([4], "integer", 4, id="an integer cell"),
    pytest.param([4.0], "integer", 4, id="a float in an integer column"),
    pytest.param(["4"], "integer", None, id="a string in an integer column is null"),
    pytest.param([4], "number", 4.0, id="a number cell"),
    pytest.param([True], "boolean", True, id="a boolean cell"),
    pytest.param(["yes"], "boolean", None, id="a string in a boolean column is null"),
    pytest.param(["2026-01-03T11:59:48Z"], "date", "12s", id="a date twelve seconds ago"),
    pytest.param(["2026-01-03T11:55:00Z"], "date", "5m", id="a date five minutes ago"),
    pytest.param(["2026-01-03T09:00:00Z"], "date", "3h", id="a date three hours ago"),
    pytest.param(["2026-01-01T00:00:00Z"], "date", "2d12h", id="a date two and a half days ago"),
    pytest.param(["2026-01-03T11:59:48.5+00:00"], "date", "11s", id="a date with fraction and offset"),
    pytest.param(["not a date"], "date", "<invalid>", id="an unparseable date"),
    pytest.param(["x"], "unknown", None, id="an unknown column type is null"),
]


@pytest.mark.parametrize(("values", "column_type", "expected"), CELL_CASES)
def test_format_cell(values: list[Any], column_type: str, expected: Any) -> None:
    assert jsonpath.format_cell(values, column_type, "", now=NOW) == expected


HUMAN = [
    (0, "0s"),
    (-1.5, "0s"),
    (-5, "<invalid>"),
    (119, "119s"),
    (120, "2m"),
    (330, "5m30s"),
    (600, "10m"),
    (179 * 60, "179m"),
    (3 * 3600, "3h"),
    (3 * 3600 + 1800, "3h30m"),
    (8 * 3600, "8h"),
    (47 * 3600, "47h"),
    (48 * 3600, "2d"),
    (50 * 3600, "2d2h"),
    (8 * 86400, "8d"),
    (365 * 2 * 86400, "2y"),
    (365 * 2 * 86400 + 86400 * 3, "2y3d"),
    (365 * 9 * 86400, "9y"),
]


@pytest.mark.parametrize(("seconds", "expected"), HUMAN, ids=[f"{s} seconds read {h}" for s, h in HUMAN])
def test_human_duration(seconds: float, expected: str) -> None:
    assert jsonpath.human_duration(seconds) == expected


@settings(max_examples=300, deadline=None)
@given(expr=st.text(alphabet=".[]?()@=!'\"*$abc01:,-<> {}", max_size=24))
def test_arbitrary_expressions_either_evaluate_or_raise_jsonpath_error(expr: str) -> None:
    try:
        result = jsonpath.evaluate(CERT, expr)
    except JSONPathError:
        return
    assert isinstance(result, list)
