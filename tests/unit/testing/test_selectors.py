"""issuer.testing.selectors: label and field selector parsing and matching, kube-style."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from issuer.testing import selectors
from issuer.testing.selectors import SelectorError

LABELS = {"app": "web", "tier": "front", "env": "prod", "replicas": "3", "example.com/owner": "team-a"}

LABEL_CASES = [
    pytest.param("", True, id="an empty selector matches everything"),
    pytest.param("app=web", True, id="equality matches"),
    pytest.param("app==web", True, id="double equals matches"),
    pytest.param("app=db", False, id="equality with another value does not match"),
    pytest.param("app!=db", True, id="inequality matches another value"),
    pytest.param("missing!=x", True, id="inequality matches an absent key"),
    pytest.param("env in (prod, staging)", True, id="in matches a listed value"),
    pytest.param("env in (dev)", False, id="in does not match an unlisted value"),
    pytest.param("missing in (a)", False, id="in does not match an absent key"),
    pytest.param("env notin (dev,qa)", True, id="notin matches an unlisted value"),
    pytest.param("missing notin (a)", True, id="notin matches an absent key"),
    pytest.param("app", True, id="a bare key means exists"),
    pytest.param("missing", False, id="exists fails for an absent key"),
    pytest.param("!missing", True, id="!key means does not exist"),
    pytest.param("!app", False, id="does not exist fails for a present key"),
    pytest.param("app=web,tier=front", True, id="comma means and, both hold"),
    pytest.param("app=web,tier=back", False, id="comma means and, one fails"),
    pytest.param("  app = web ,  env in ( prod )  ", True, id="whitespace is tolerated"),
    pytest.param("replicas>2", True, id="greater than on an integer label"),
    pytest.param("replicas<2", False, id="less than on an integer label"),
    pytest.param("example.com/owner=team-a", True, id="a prefixed key"),
    pytest.param("app=", False, id="an empty value matches only an empty label"),
]


@pytest.mark.parametrize(("text", "expected"), LABEL_CASES)
def test_label_selector_matches(text: str, expected: bool) -> None:
    assert selectors.parse_label_selector(text).matches(LABELS) is expected


# kube-apiserver v1.37's messages (tests/apiserver/test_parity.py checks them against the real server)
LABEL_ERRORS = [
    pytest.param("app in web", "unable to parse requirement: found 'web' expected: '('", id="in without parentheses"),
    pytest.param("app notin ,", "unable to parse requirement: found ',' expected: '('", id="notin without parentheses"),
    pytest.param("app web", "unable to parse requirement: found 'web', expected: in, notin, =, ==, !=, gt, lt",
                 id="two words without operator"),
    pytest.param("=web", "found '=', expected: !, identifier, or 'end of string'", id="an operator without key"),
    pytest.param("app=web tier", "found 'tier', expected: ',' or 'end of string'", id="a missing comma"),
    pytest.param("app=web,", "found '', expected: identifier after ','", id="a trailing comma"),
    pytest.param("a,,b", "found ',', expected: identifier after ','", id="two commas"),
    pytest.param("!", "unable to parse requirement: found '', expected: identifier", id="a bare bang"),
    pytest.param("app=a b", "found 'b', expected: ',' or 'end of string'", id="a value with a space"),
    pytest.param("app=-bad-", 'values[0][app]: Invalid value: "-bad-"', id="an invalid label value"),
    pytest.param("Bad Key!=x", "found 'Key', expected", id="a key with a space"),
    pytest.param("a/b/c", 'unable to parse requirement: <nil>: Invalid value: "a/b/c": a valid label key must',
                 id="a key with two slashes"),
    pytest.param("x" * 64, "<nil>: Invalid value: \"" + "x" * 64 + '": name part must be no more than 63 bytes',
                 id="a key that is too long"),
    pytest.param("a/", "name part must be non-empty; name part must consist of", id="an empty name part"),
    pytest.param("a=" + "y" * 64, "must be no more than 63 bytes", id="a value that is too long"),
    pytest.param("replicas>two", "the value must be an integer", id="greater than with a non-integer"),
    pytest.param("app in (a,b", "unable to parse requirement: found '', expected: ',' or ')'", id="an unclosed set"),
    pytest.param("app in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'",
                 id="a set without comma"),
    pytest.param("app=(", "unable to parse requirement: found '(', expected: identifier", id="a parenthesis as value"),
]


@pytest.mark.parametrize(("text", "fragment"), LABEL_ERRORS)
def test_bad_label_selectors_raise(text: str, fragment: str) -> None:
    with pytest.raises(SelectorError) as info:
        selectors.parse_label_selector(text)
    assert fragment in str(info.value)


@pytest.mark.parametrize(("text", "value"), [("app in ()", ""), ("app in (,a)", ""), ("app in (a,)", ""),
                                             ("app in (a,,b)", "")])
def test_sets_may_hold_the_empty_value_as_kube_parses_them(text: str, value: str) -> None:
    assert selectors.parse_label_selector(text).matches({"app": value})


def test_selector_error_is_a_value_error() -> None:
    assert issubclass(SelectorError, ValueError)


def test_label_selector_renders_back_to_text() -> None:
    text = "app=web,env in (prod,staging),!missing,tier"
    assert str(selectors.parse_label_selector(text)) == text


def test_a_selector_matches_an_object_without_labels_only_through_negations() -> None:
    assert selectors.parse_label_selector("!app,x!=y,z notin (a)").matches(None)
    assert not selectors.parse_label_selector("app").matches(None)


def test_from_match_labels() -> None:
    selector = selectors.from_match_labels({"app": "web", "tier": "front"})
    assert selector.matches(LABELS)
    assert not selector.matches({"app": "web"})
    assert selectors.from_match_labels({}).empty


def test_from_dict_with_match_expressions() -> None:
    selector = selectors.from_dict(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod"]},
                {"key": "gone", "operator": "DoesNotExist"},
            ],
        }
    )
    assert selector.matches(LABELS)
    with pytest.raises(SelectorError):
        selectors.from_dict({"matchExpressions": [{"key": "env", "operator": "Near", "values": ["x"]}]})


FIELDS = {
    "metadata.name": "x",
    "metadata.namespace": "default",
    "involvedObject.kind": "Certificate",
    "involvedObject.uid": "1234",
    "type": "kubernetes.io/tls",
}

FIELD_CASES = [
    pytest.param("", True, id="an empty field selector matches everything"),
    pytest.param("metadata.name=x", True, id="equality"),
    pytest.param("metadata.name==x", True, id="double equals"),
    pytest.param("metadata.name!=x", False, id="inequality"),
    pytest.param(
        "involvedObject.name=x,involvedObject.namespace=default,involvedObject.kind=Certificate",
        False,
        id="kubectl describe's event selector with a field the object lacks",
    ),
    pytest.param("involvedObject.kind=Certificate,involvedObject.uid=1234", True, id="several terms all hold"),
    pytest.param("type=kubernetes.io/tls", True, id="a value with a slash"),
    pytest.param("reason!=x", True, id="an absent field compares as empty"),
    pytest.param("reason=", True, id="an absent field equals the empty string"),
]


@pytest.mark.parametrize(("text", "expected"), FIELD_CASES)
def test_field_selector_matches(text: str, expected: bool) -> None:
    assert selectors.parse_field_selector(text).matches(FIELDS.get) is expected


def test_field_selector_lists_its_fields_and_pins() -> None:
    selector = selectors.parse_field_selector("metadata.name=x,spec.x!=1")
    assert selector.fields == frozenset({"metadata.name", "spec.x"})
    assert selector.exact("metadata.name") == "x"
    assert selector.exact("spec.x") is None


def test_field_selector_escapes() -> None:
    selector = selectors.parse_field_selector(r"metadata.name=a\,b\=c\\d")
    assert selector.requirements[0].value == "a,b=c\\d"
    assert selector.matches({"metadata.name": "a,b=c\\d"}.get)


FIELD_ERRORS = [
    pytest.param(
        "metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'", id="no operator"
    ),
    pytest.param("=x", "can't understand '=x'", id="no field"),
    pytest.param("a=b=c", "unescaped '='", id="an unescaped equals in the value"),
    pytest.param(r"a=b\x", "invalid escape sequence", id="an unknown escape"),
]


@pytest.mark.parametrize(("text", "fragment"), FIELD_ERRORS)
def test_bad_field_selectors_raise(text: str, fragment: str) -> None:
    with pytest.raises(SelectorError) as info:
        selectors.parse_field_selector(text)
    assert fragment in str(info.value)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="ab=!(),inot ><-_./1", max_size=20))
def test_label_selector_parsing_never_crashes(text: str) -> None:
    try:
        selector = selectors.parse_label_selector(text)
    except SelectorError:
        return
    selector.matches(LABELS)
    # what parses renders back to something that parses to the same selector
    assert selectors.parse_label_selector(str(selector)) == selector


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="ab=!,\\.x ", max_size=20))
def test_field_selector_parsing_never_crashes(text: str) -> None:
    try:
        selector = selectors.parse_field_selector(text)
    except SelectorError:
        return
    selector.matches(FIELDS.get)


@pytest.mark.parametrize("labels", [{"app\n": "web"}, {"app": "web\n"}, {"example.com\n/app": "web"}])
def test_a_trailing_newline_does_not_pass_for_a_valid_key_or_value(labels: dict[str, str]) -> None:
    """Go's regexp `$` is the end of the text; Python's also matches before a final newline."""
    with pytest.raises(selectors.SelectorError):
        selectors.from_dict({"matchLabels": labels})
