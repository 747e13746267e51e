"""issuer.testing.admission: ValidatingAdmissionPolicies as kube-apiserver evaluates them (matching, match
conditions, variables, validations, messages, reasons, failure policies, binding actions) and the checks of
the two kinds when they are written. Expected messages are the ones a real kube-apiserver 1.37 answered."""

from __future__ import annotations

import copy
import json
import pathlib
from typing import Any

import pytest
import yaml

from issuer.testing import admission, schema
from issuer.testing.admission import Request
from issuer.testing.errors import APIError

ROOT = pathlib.Path(__file__).resolve().parents[3]
CM_RULE = {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["configmaps"]}
PREFIX = "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: "


def policy(*validations: dict[str, Any], name: str = "p", **spec: Any) -> dict[str, Any]:
    """A stored (defaulted, valid) policy on configmaps."""
    obj = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
           "metadata": {"name": name},
           "spec": {"matchConstraints": {"resourceRules": [CM_RULE]}, "validations": list(validations), **spec}}
    assert admission.prepare_policy(obj, None) == []
    return obj


def binding(name: str = "b", policy_name: str = "p", actions: tuple[str, ...] = ("Deny",),
            **spec: Any) -> dict[str, Any]:
    obj = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
           "metadata": {"name": name}, "spec": {"policyName": policy_name, "validationActions": list(actions), **spec}}
    assert admission.prepare_binding(obj) == []
    return obj


def configmap(labels: dict[str, str] | None = None, data: dict[str, str] | None = None) -> dict[str, Any]:
    md: dict[str, Any] = {"name": "cm", "namespace": "default"}
    if labels is not None:
        md["labels"] = labels
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md}
    if data is not None:
        obj["data"] = data
    return obj


NAMESPACE = {"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": "default", "labels": {"kubernetes.io/metadata.name": "default", "team": "a"}},
             "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def cm_request(obj: dict[str, Any] | None = None, old: dict[str, Any] | None = None, *, operation: str = "",
               **kw: Any) -> Request:
    return Request(operation or ("UPDATE" if old else "CREATE"), "", "v1", "configmaps", "ConfigMap", "cm",
                   "default", obj if obj is not None else configmap(), old, namespace_object=NAMESPACE, **kw)


def outcome(policies: list[dict[str, Any]], bindings: list[dict[str, Any]], request: Request) -> Any:
    """(code, reason, message without the resource prefix) of a refusal, or the warnings."""
    try:
        return admission.admit({p["metadata"]["name"]: p for p in policies}, bindings, request)
    except APIError as exc:
        prefix = f'configmaps "{request.name}" is forbidden: '
        assert exc.message.startswith(prefix), exc.message
        assert exc.details == {"name": request.name, "kind": "configmaps",
                               "causes": [{"message": exc.message[len(prefix):]}]}
        return exc.code, exc.reason, exc.message[len(prefix):]


def refused(validation: dict[str, Any], request: Request | None = None, **spec: Any) -> Any:
    return outcome([policy(validation, **spec)], [binding()], request or cm_request())


# --------------------------------------------------------------------------------------------- validations

LABELLED = {"metadata": {"labels": {"x": "1"}}}
VALIDATION_CASES = [
    pytest.param({"expression": "true"}, [], id="a passing validation admits"),
    pytest.param({"expression": "false", "message": "no"}, (422, "Invalid", PREFIX + "no"),
                 id="a failing validation without a reason is 422 Invalid"),
    pytest.param({"expression": "false", "message": "no", "reason": "Forbidden"}, (403, "Forbidden", PREFIX + "no"),
                 id="reason Forbidden is 403"),
    pytest.param({"expression": "false", "reason": "RequestEntityTooLarge"},
                 (413, "RequestEntityTooLarge", PREFIX + "failed expression: false"),
                 id="without a message the expression is quoted, and RequestEntityTooLarge is 413"),
    pytest.param({"expression": "  object.kind != 'ConfigMap'\n"},
                 (422, "Invalid", PREFIX + "failed expression: object.kind != 'ConfigMap'"),
                 id="the quoted expression is trimmed"),
    pytest.param({"expression": "'not a bool'", "message": "no"}, (422, "Invalid", PREFIX + "no"),
                 id="a result other than true refuses"),
    pytest.param({"expression": "false", "messageExpression": "'kind ' + object.kind", "message": "static"},
                 (422, "Invalid", PREFIX + "kind ConfigMap"), id="messageExpression wins over message"),
    pytest.param({"expression": "false", "messageExpression": "'x' + object.nope", "message": "static fallback"},
                 (422, "Invalid", PREFIX + "static fallback"), id="a messageExpression that errors falls back"),
    pytest.param({"expression": "false", "messageExpression": "'two\\nlines'", "message": "one line"},
                 (422, "Invalid", PREFIX + "one line"), id="a multi-line messageExpression falls back"),
    pytest.param({"expression": "false", "messageExpression": "'  padded  '"}, (422, "Invalid", PREFIX + "padded"),
                 id="a messageExpression is trimmed"),
    pytest.param({"expression": "false", "message": "mine",
                  "messageExpression": "string(authorizer.group('').resource('pods').check('get').allowed())"},
                 (422, "Invalid", PREFIX + "mine"), id="a messageExpression sees no authorizer"),
    pytest.param({"expression": "object.data.x == 'y'"},
                 (422, "Invalid", PREFIX + "expression 'object.data.x == 'y'' resulted in error: no such key: data"),
                 id="an evaluation error refuses under Fail with kube's words, as Invalid"),
    pytest.param({"expression": "oldObject.metadata.name == 'cm'"}, (422, "Invalid", PREFIX + "expression "
                 "'oldObject.metadata.name == 'cm'' resulted in error: no such key: metadata"),
                 id="a field of the null oldObject of a create is no such key, as in cel-go"),
    pytest.param({"expression": "object.data.x == 'y'", "reason": "Forbidden"},
                 (422, "Invalid", PREFIX + "expression 'object.data.x == 'y'' resulted in error: no such key: data"),
                 id="an evaluation error ignores the validation's reason"),
]


@pytest.mark.parametrize(("validation", "expected"), VALIDATION_CASES)
def test_validations(validation: dict[str, Any], expected: Any) -> None:
    assert refused(validation) == expected


def test_an_evaluation_error_admits_under_ignore_and_the_next_validation_still_counts() -> None:
    erring = {"expression": "object.data.x == 'y'"}
    assert refused(erring, failurePolicy="Ignore") == []
    two = policy(erring, {"expression": "false", "message": "second"}, failurePolicy="Ignore")
    assert outcome([two], [binding()], cm_request()) == (422, "Invalid", PREFIX + "second")


def test_the_first_failing_validation_is_the_one_reported() -> None:
    two = policy({"expression": "false", "message": "first"}, {"expression": "false", "message": "second"})
    assert outcome([two], [binding()], cm_request()) == (422, "Invalid", PREFIX + "first")


# --------------------------------------------------------------------------------------------- what CEL sees

def sees(expression: str, request: Request | None = None, **spec: Any) -> bool:
    """Whether `expression` holds (raises on an evaluation error)."""
    result = refused({"expression": expression, "message": "no"}, request, **spec)
    if result == []:
        return True
    assert result == (422, "Invalid", PREFIX + "no"), result
    return False


CREATE_VIEW = [
    "oldObject == null && object.metadata.name == 'cm' && params == null",
    "!has(oldObject.metadata) && !has(object.metadata.name.x)",
    "request.operation == 'CREATE' && request.name == 'cm' && request.namespace == 'default'",
    "request.kind == {'group': '', 'version': 'v1', 'kind': 'ConfigMap'}",
    "request.resource == {'group': '', 'version': 'v1', 'resource': 'configmaps'}",
    "request.requestKind.kind == 'ConfigMap' && request.requestResource.resource == 'configmaps'",
    "!has(request.subResource) && !has(request.requestSubResource) && request.dryRun == false",
    "request.userInfo.username == 'system:admin' && !has(request.userInfo.uid) && !has(request.userInfo.extra)",
    "request.userInfo.groups == ['system:masters', 'system:authenticated']",
    "request.options.kind == 'CreateOptions' && request.options.apiVersion == 'meta.k8s.io/v1'",
    "namespaceObject.metadata.name == 'default' && namespaceObject.metadata.labels.team == 'a'",
    "namespaceObject.status.phase == 'Active' && !has(namespaceObject.metadata.managedFields)",
    "authorizer.group('cert-manager.io').resource('signers').name('issuers.cert-manager.io/*')"
    ".check('approve').allowed()",
    "authorizer.path('/healthz').check('get').allowed() && authorizer.requestResource.check('create').allowed()",
    "authorizer.group('').resource('pods').subresource('log').namespace('x').check('get').reason() == ''",
    "!authorizer.serviceAccount('ns', 'sa').group('').resource('pods').check('get').errored()",
    "authorizer.group('').resource('pods').labelSelector('a=b').fieldSelector('x=y').check('list').error() == ''",
]


@pytest.mark.parametrize("expression", CREATE_VIEW)
def test_what_a_create_request_shows_cel(expression: str) -> None:
    assert sees(expression)


def test_an_update_of_the_status_subresource_shows_both_objects_and_the_subresource() -> None:
    old = configmap(data={"a": "1"})
    new = configmap(data={"a": "2"})
    rule = dict(CM_RULE, resources=["configmaps/status"])
    request = cm_request(new, old, subresource="status", dry_run=True)
    assert sees("oldObject.data.a == '1' && object.data.a == '2' && request.operation == 'UPDATE' && "
                "request.subResource == 'status' && request.requestSubResource == 'status' && request.dryRun && "
                "request.options.kind == 'UpdateOptions' && request.options.dryRun == ['All']", request,
                matchConstraints={"resourceRules": [rule]})


AUTHORIZER_ERRORS = [
    pytest.param("authorizer.group('').resource(' ').check('get').allowed()", "resource must not be empty",
                 id="an empty resource is an error"),
    pytest.param("authorizer.path('').check('get').allowed()", "path must not be empty", id="an empty path too"),
    pytest.param("authorizer.serviceAccount('ns', 'Bad_Name').group('').resource('p').check('g').allowed()",
                 "Invalid service account name", id="so is an invalid service account name"),
    pytest.param("authorizer.resource('pods').check('get').allowed()", "no such overload",
                 id="a resource check needs a group check first"),
    pytest.param("object.check('get')", "no such overload", id="library functions take library objects only"),
]


@pytest.mark.parametrize(("expression", "error"), AUTHORIZER_ERRORS)
def test_authorizer_errors(expression: str, error: str) -> None:
    assert refused({"expression": expression}) == (
        422, "Invalid", PREFIX + f"expression '{expression}' resulted in error: {error}")


# --------------------------------------------------------------------------------------------- variables

VARIABLES = [{"name": "kind", "expression": "object.kind.lowerAscii()"},
             {"name": "plural", "expression": "variables.kind + 's'"},
             {"name": "bad", "expression": "object.data.missing"}]
VARIABLE_CASES = [
    pytest.param("variables.plural == 'configmaps'", [], id="a variable reads an earlier one"),
    pytest.param("has(variables.bad) && variables.kind == 'configmap'", [],
                 id="a variable that would fail costs nothing while unused"),
    pytest.param("variables.bad == 'x'", (422, "Invalid", PREFIX + "expression 'variables.bad == 'x'' resulted in "
                                          'error: composited variable "bad" fails to evaluate: no such key: data'),
                 id="a failing variable names itself in the error"),
    pytest.param("variables.bad == 'x' || true", [], id="CEL's || absorbs a variable's error"),
]


@pytest.mark.parametrize(("expression", "expected"), VARIABLE_CASES)
def test_variables(expression: str, expected: Any) -> None:
    assert refused({"expression": expression}, variables=VARIABLES) == expected


def test_each_variable_is_computed_once_per_request() -> None:
    calls: list[str] = []
    original = schema.evaluate

    def counting(text: str, activation: Any) -> Any:
        calls.append(text)
        return original(text, activation)

    checks = [{"expression": "variables.kind == 'configmap'"}, {"expression": "variables.kind != 'secret'"}]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(schema, "evaluate", counting)
        assert outcome([policy(*checks, variables=VARIABLES)], [binding()], cm_request()) == []
    assert calls.count("object.kind.lowerAscii()") == 1


def test_expressions_cel_python_must_run_see_the_same_activation() -> None:
    # type() is beyond the fast compiler: the whole expression runs on cel-python, variables and authorizer too
    expression = ("type(object) == map && variables.plural == 'configmaps' && "
                  "authorizer.group('').resource('pods').check('get').allowed() && request.userInfo.groups.size() == 2")
    compiled = schema._program(expression)
    assert not isinstance(compiled, str) and compiled.fast is None
    assert refused({"expression": expression}, variables=VARIABLES) == []
    failing = "type(object) == map && variables.bad == 'x'"
    assert refused({"expression": failing}, variables=VARIABLES) == (
        422, "Invalid", PREFIX + f"expression '{failing}' resulted in error: composited variable \"bad\" fails to "
        "evaluate: no such key: data")


# --------------------------------------------------------------------------------------------- matching

def rule(**changes: Any) -> dict[str, Any]:
    return {**CM_RULE, **changes}


MATCH_CASES = [
    pytest.param({"resourceRules": [CM_RULE]}, cm_request(), True, id="the rule's group, version, operation, resource"),
    pytest.param({"resourceRules": [rule(operations=["UPDATE"])]}, cm_request(), False,
                 id="another operation does not match"),
    pytest.param({"resourceRules": [rule(operations=["*"], apiGroups=["*"], apiVersions=["*"], resources=["*"])]},
                 cm_request(), True, id="wildcards match everything"),
    pytest.param({"resourceRules": [rule(apiGroups=["apps"])]}, cm_request(), False, id="another group does not"),
    pytest.param({"resourceRules": [rule(apiVersions=["v2"])]}, cm_request(), False, id="nor another version"),
    pytest.param({"resourceRules": [rule(resources=["*"])]}, cm_request(configmap(), configmap(), subresource="status"),
                 False, id="a bare * matches no subresource"),
    pytest.param({"resourceRules": [rule(resources=["configmaps/status"])]},
                 cm_request(configmap(), configmap(), subresource="status"), True, id="resource/subresource matches"),
    pytest.param({"resourceRules": [rule(resources=["configmaps/status"])]}, cm_request(), False,
                 id="resource/subresource does not match the main resource"),
    pytest.param({"resourceRules": [rule(resources=["*/*"])]},
                 cm_request(configmap(), configmap(), subresource="status"), True, id="*/* matches any subresource"),
    pytest.param({"resourceRules": [rule(resourceNames=["other"])]}, cm_request(), False,
                 id="resourceNames restrict by name"),
    pytest.param({"resourceRules": [rule(scope="Cluster")]}, cm_request(), False,
                 id="a Cluster scope rule skips namespaced objects"),
    pytest.param({"resourceRules": [CM_RULE], "excludeResourceRules": [rule(resourceNames=["cm"])]}, cm_request(),
                 False, id="excludeResourceRules win"),
    pytest.param({"resourceRules": [CM_RULE], "objectSelector": {"matchLabels": {"x": "1"}}}, cm_request(), False,
                 id="an objectSelector skips an unlabelled object"),
    pytest.param({"resourceRules": [CM_RULE], "objectSelector": {"matchLabels": {"x": "1"}}},
                 cm_request(configmap(), configmap({"x": "1"})), True,
                 id="an objectSelector also reads the old object"),
    pytest.param({"resourceRules": [CM_RULE], "namespaceSelector": {"matchLabels": {"team": "a"}}}, cm_request(),
                 True, id="a namespaceSelector reads the namespace's labels"),
    pytest.param({"resourceRules": [CM_RULE], "namespaceSelector": {"matchExpressions": [
        {"key": "team", "operator": "NotIn", "values": ["a"]}]}}, cm_request(), False,
                 id="and skips other namespaces"),
]


@pytest.mark.parametrize(("constraints", "request_", "applies"), MATCH_CASES)
def test_match_constraints(constraints: dict[str, Any], request_: Request, applies: bool) -> None:
    denying = policy({"expression": "false", "message": "no"}, matchConstraints=constraints)
    expected = (422, "Invalid", PREFIX + "no") if applies else []
    assert outcome([denying], [binding()], request_) == expected


def test_a_namespace_selector_on_a_namespace_reads_the_namespace_itself_and_cluster_objects_always_match() -> None:
    selector = {"matchLabels": {"team": "a"}}
    rules = [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["*"], "resources": ["namespaces"]},
             {"apiGroups": ["rbac.authorization.k8s.io"], "apiVersions": ["v1"], "operations": ["*"],
              "resources": ["clusterroles"]}]
    denying = policy({"expression": "false", "message": "no"},
                     matchConstraints={"resourceRules": rules, "namespaceSelector": selector})
    namespace = Request("CREATE", "", "v1", "namespaces", "Namespace", "default", "default", NAMESPACE)
    with pytest.raises(APIError, match=r'^namespaces "default" is forbidden: .*: no$'):
        admission.admit({"p": denying}, [binding()], namespace)
    other = Request("CREATE", "", "v1", "namespaces", "Namespace", "b", "b", {"metadata": {"name": "b"}})
    assert admission.admit({"p": denying}, [binding()], other) == []
    role = Request("CREATE", "rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", "r", "",
                   {"metadata": {"name": "r"}})
    with pytest.raises(APIError) as err:
        admission.admit({"p": denying}, [binding()], role)
    assert err.value.message == ('clusterroles.rbac.authorization.k8s.io "r" is forbidden: ' + PREFIX + "no")
    assert err.value.details == {"name": "r", "group": "rbac.authorization.k8s.io", "kind": "clusterroles",
                                 "causes": [{"message": PREFIX + "no"}]}


CONDITION_CASES = [
    pytest.param("Fail", ["true", "has(object.metadata.labels)"], LABELLED, True,
                 id="all match conditions true: the policy applies"),
    pytest.param("Fail", ["true", "has(object.metadata.labels)"], {}, False, id="one false: it does not"),
    pytest.param("Fail", ["object.nope", "false"], {}, False, id="a false one wins over an error"),
    pytest.param("Fail", ["object.nope"], {}, "expression 'object.nope' resulted in error: no such key: nope",
                 id="an error alone refuses under Fail"),
    pytest.param("Ignore", ["object.nope"], {}, False, id="and skips the policy under Ignore"),
    pytest.param("Fail", ["namespaceObject == null && variables.x == 1"], {}, "expression 'namespaceObject == null "
                 "&& variables.x == 1' resulted in error: undeclared reference to 'variables'",
                 id="match conditions see no namespace and no variables"),
]


@pytest.mark.parametrize(("failure", "conditions", "extra", "applies"), CONDITION_CASES)
def test_match_conditions(failure: str, conditions: list[str], extra: dict[str, Any], applies: Any) -> None:
    obj = configmap(**({"labels": {"x": "1"}} if extra else {}))
    denying = policy({"expression": "false", "message": "no"}, failurePolicy=failure,
                     matchConditions=[{"name": f"c{i}", "expression": c} for i, c in enumerate(conditions)])
    result = outcome([denying], [binding()], cm_request(obj))
    if applies is True:
        assert result == (422, "Invalid", PREFIX + "no")
    elif applies is False:
        assert result == []
    else:
        assert result == (422, "Invalid", PREFIX + applies)


# --------------------------------------------------------------------------------------------- bindings

DENY = policy({"expression": "false", "message": "no"})
BINDING_CASES = [
    pytest.param([], [], id="a policy without a binding does nothing"),
    pytest.param([binding(policy_name="elsewhere")], [], id="a binding of a missing policy does nothing"),
    pytest.param([binding(actions=("Audit",))], [], id="Audit alone admits (no audit log)"),
    pytest.param([binding(actions=("Warn",))],
                 ["Validation failed for ValidatingAdmissionPolicy 'p' with binding 'b': no"], id="Warn warns"),
    pytest.param([binding(actions=("Warn", "Audit")), binding("c", actions=("Deny",))], (422, "Invalid",
                 "ValidatingAdmissionPolicy 'p' with binding 'c' denied request: no"), id="any Deny binding refuses"),
    pytest.param([binding(matchResources={"objectSelector": {"matchLabels": {"x": "1"}}})], [],
                 id="a binding's matchResources narrows it"),
]


@pytest.mark.parametrize(("bindings", "expected"), BINDING_CASES)
def test_bindings(bindings: list[dict[str, Any]], expected: Any) -> None:
    assert outcome([DENY], bindings, cm_request()) == expected


def test_policies_are_taken_by_name_and_the_first_refusal_wins() -> None:
    first = policy({"expression": "false", "message": "from a"}, name="a")
    second = policy({"expression": "false", "message": "from z"}, name="z")
    assert outcome([second, first], [binding("bz", "z"), binding("ba", "a")], cm_request()) == (
        422, "Invalid", "ValidatingAdmissionPolicy 'a' with binding 'ba' denied request: from a")


def test_admission_configuration_kinds_are_exempt() -> None:
    everything = policy({"expression": "false"}, matchConstraints={"resourceRules": [
        {"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*"]}]})
    request = Request("CREATE", admission.GROUP, "v1", "validatingadmissionpolicies", "ValidatingAdmissionPolicy",
                      "p", "", everything)
    assert admission.admit({"p": everything}, [binding()], request) == []


# --------------------------------------------------------------------------------------------- the shipped policy

SHIPPED = list(yaml.safe_load_all((ROOT / "manifests" / "admission.yaml").read_text()))
IDENTITY = "ValidatingAdmissionPolicy 'issuer-certificaterequest-identity' with binding 'issuer-certificaterequest-" \
           "identity' denied request: "


def shipped() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    policy_doc, binding_doc = copy.deepcopy(SHIPPED)
    assert admission.prepare_policy(policy_doc, None) == [] and admission.prepare_binding(binding_doc) == []
    return {policy_doc["metadata"]["name"]: policy_doc}, [binding_doc]


def certificate_request(**identity: Any) -> dict[str, Any]:
    return {"apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
            "metadata": {"name": "cr", "namespace": "default"},
            "spec": {"request": "", "issuerRef": {"name": "ss", "kind": "Issuer"}, **identity}}


def cr_request(obj: dict[str, Any], old: dict[str, Any] | None = None, subresource: str = "") -> Request:
    return Request("UPDATE" if old else "CREATE", "cert-manager.io", "v1", "certificaterequests",
                   "CertificateRequest", "cr", "default", obj, old, subresource, namespace_object=NAMESPACE)


SHIPPED_CASES = [
    pytest.param({}, None, id="a request naming nobody is accepted"),
    pytest.param({"username": "system:admin", "groups": ["system:authenticated", "system:masters"]}, None,
                 id="a request in the server's fixed user's name and groups is accepted"),
    pytest.param({"username": "someone-else"}, "spec.username: Forbidden: username identity must be that of the "
                 "requester", id="another username is refused"),
    pytest.param({"groups": ["system:masters"]}, "spec.groups: Forbidden: groups identity must be that of the "
                 "requester", id="fewer groups are refused"),
    pytest.param({"uid": "0b5e0c1a"}, "spec.uid: Forbidden: uid identity must be that of the requester",
                 id="a uid is refused (the fixed user has none)"),
    pytest.param({"extra": {"scopes": ["admin"]}}, "spec.extra: Forbidden: extra identity must be that of the "
                 "requester", id="extra is refused (the fixed user has none)"),
]


@pytest.mark.parametrize(("identity", "refusal"), SHIPPED_CASES)
def test_the_shipped_identity_policy(identity: dict[str, Any], refusal: str | None) -> None:
    policies, bindings = shipped()
    request = cr_request(certificate_request(**identity))
    if refusal is None:
        assert admission.admit(policies, bindings, request) == []
        return
    with pytest.raises(APIError) as err:
        admission.admit(policies, bindings, request)
    assert (err.value.code, err.value.reason) == (403, "Forbidden")
    assert err.value.message == f'certificaterequests.cert-manager.io "cr" is forbidden: {IDENTITY}{refusal}'
    assert err.value.details == {"name": "cr", "group": "cert-manager.io", "kind": "certificaterequests",
                                 "causes": [{"message": IDENTITY + refusal}]}


def test_the_shipped_policy_lets_the_fixed_user_approve() -> None:
    policies, bindings = shipped()
    old = certificate_request()
    approved = copy.deepcopy(old)
    approved["status"] = {"conditions": [{"type": "Approved", "status": "True"}]}
    assert admission.admit(policies, bindings, cr_request(approved, old, "status")) == []


def test_the_shipped_approval_message_as_a_real_server_words_it() -> None:
    # the fixed user may approve anything, so turn the authorizer's answer around to see the refusal's words
    policies, bindings = shipped()
    for name, doc in policies.items():
        policies[name] = json.loads(json.dumps(doc).replace(".allowed()", ".errored()"))
    old = certificate_request()
    denied = copy.deepcopy(old)
    denied["status"] = {"conditions": [{"type": "Denied", "status": "True"}]}
    with pytest.raises(APIError) as err:
        admission.admit(policies, bindings, cr_request(denied, old, "status"))
    assert err.value.code == 403
    assert err.value.message.endswith('status.conditions: Forbidden: user "system:admin" does not have permissions to '
                                      "set approved/denied conditions for issuer {ss Issuer }")


# --------------------------------------------------------------------------------------------- writing the kinds

POLICY_CHECKS = [
    pytest.param({}, ["spec.matchConstraints: Required value",
                      "spec.validations: Required value: validations or auditAnnotations must contain at least one "
                      "item",
                      "spec.auditAnnotations: Required value: validations or auditAnnotations must contain at least "
                      "one item"], id="an empty policy needs constraints and validations"),
    pytest.param({"failurePolicy": "Sometimes", "matchConstraints": {"resourceRules": [CM_RULE]},
                  "validations": [{"expression": "true"}]},
                 ['spec.failurePolicy: Unsupported value: "Sometimes": supported values: "Fail", "Ignore"'],
                 id="failurePolicy is Fail or Ignore"),
    pytest.param({"matchConstraints": {"resourceRules": [dict(CM_RULE, operations=["READ"])]},
                  "validations": [{"expression": "true"}]},
                 ['spec.matchConstraints.resourceRules[0].operations[0]: Unsupported value: "READ": supported values: '
                  '"*", "CONNECT", "CREATE", "DELETE", "UPDATE"'], id="operations are kube's"),
    pytest.param({"matchConstraints": {"resourceRules": [CM_RULE]}, "validations": [{"message": "x"}]},
                 ["spec.validations[0].expression: Required value: expression is not specified"],
                 id="a validation needs an expression"),
    pytest.param({"matchConstraints": {"resourceRules": [CM_RULE]}, "validations": [{"expression": "object.("}]},
                 ['spec.validations[0].expression: Invalid value: "object.(": compilation failed:'],
                 id="an expression must compile"),
    pytest.param({"matchConstraints": {"resourceRules": [CM_RULE]}, "variables": [{"name": "a-b", "expression": "1"}],
                  "validations": [{"expression": "true"}]},
                 ['spec.variables[0].name: Invalid value: "a-b": must be a valid CEL identifier'],
                 id="a variable's name is a CEL identifier"),
    pytest.param({"matchConstraints": {"resourceRules": [CM_RULE]},
                  "validations": [{"expression": "true", "reason": "Unauthorized"}]},
                 ['spec.validations[0].reason: Unsupported value: "Unauthorized": supported values: "Forbidden", '
                  '"Invalid", "RequestEntityTooLarge"'], id="reasons are the three kube accepts"),
]


@pytest.mark.parametrize(("spec", "expected"), POLICY_CHECKS)
def test_policy_checks(spec: dict[str, Any], expected: list[str]) -> None:
    causes = [c.text() for c in admission.prepare_policy({"metadata": {"name": "p"}, "spec": spec}, None)]
    assert len(causes) == len(expected) and all(c.startswith(e) for c, e in zip(causes, expected, strict=True)), causes


def test_a_written_policy_gets_kubes_defaults() -> None:
    obj = {"metadata": {"name": "p"}, "spec": {"matchConstraints": {"resourceRules": [CM_RULE]},
                                               "validations": [{"expression": "true"}]}}
    assert admission.prepare_policy(obj, None) == []
    assert obj["status"] == {}
    assert obj["spec"]["failurePolicy"] == "Fail"
    assert obj["spec"]["matchConstraints"] == {"resourceRules": [dict(CM_RULE, scope="*")], "matchPolicy": "Equivalent",
                                               "namespaceSelector": {}, "objectSelector": {}}


BINDING_CHECKS = [
    pytest.param({}, ["spec.policyName: Required value", "spec.validationActions: Required value"],
                 id="a binding names its policy and actions"),
    pytest.param({"policyName": "x", "validationActions": ["Deny", "Warn", "Nope", "Deny"]}, [
        'spec.validationActions[2]: Unsupported value: "Nope": supported values: "Audit", "Deny", "Warn"',
        'spec.validationActions[3]: Duplicate value: "Deny"',
        'spec.validationActions: Invalid value: ["Deny","Warn","Nope","Deny"]: must not contain both Deny and Warn '
        "(repeating the same validation failure information in the API response and headers serves no purpose)",
    ], id="actions are known, unique, and not both Deny and Warn"),
]


@pytest.mark.parametrize(("spec", "expected"), BINDING_CHECKS)
def test_binding_checks(spec: dict[str, Any], expected: list[str]) -> None:
    assert [c.text() for c in admission.prepare_binding({"metadata": {"name": "b"}, "spec": spec})] == expected
