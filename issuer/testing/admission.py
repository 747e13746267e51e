"""ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1) for the embedded API server: the checks of
the two kinds when they are written (`prepare_policy`, `prepare_binding`: kube's defaults and the main
rules of its validation, expressions compiled) and their evaluation on every create and update of any
other resource (`admit`), with kube-apiserver's decisions, messages and status codes.

Callers: issuer.testing.engine admits a write after its own validation and before storing it (create,
update, patch, the status subresource, dry runs too), when at least one binding exists; resources.py
serves the two kinds. CEL runs on issuer.testing.schema's engine (`schema.evaluate`), the one CRD rules
use, with the Kubernetes authorizer library added here (`authorizer.group(...).resource(...)...check(verb)`).

What `admit` does, as kube does it: bindings whose `policyName` names an existing policy and whose
`validationActions` hold Deny (a refusal), Warn (a `Warning` header) or Audit (nothing: there is no audit
log); the policy's `matchConstraints` and the binding's `matchResources` (resourceRules and
excludeResourceRules by apiGroups/apiVersions/operations/resources with `resource/subresource` and
`*`, scope, resourceNames, namespaceSelector, objectSelector), then `matchConditions`, then
`validations` in order with `object`, `oldObject` (null on create), `request` (kind, resource,
subResource, requestKind, requestResource, requestSubResource, name, namespace, operation, userInfo,
dryRun, and options with its kind, apiVersion and dryRun but no fieldManager), `namespaceObject`, `params`
(always null), `authorizer`, `authorizer.requestResource` and `variables` (computed on first use, once for
the validations and once for the messages, as kube does); `message` / `messageExpression` (which sees no
authorizer) / "failed expression: ..."; `reason` (Forbidden 403, RequestEntityTooLarge 413, Invalid or
unset 422); failurePolicy Fail (an evaluation error refuses with "expression '...' resulted in error:
...") or Ignore (it admits). The first refusal wins; policies are taken by name, then their bindings by
name (kube's order is its informer's). Admission configuration kinds themselves are exempt.

The embedded server has no authentication or authorization: every request is made by one fixed user,
`USERNAME` ("system:admin") in `GROUPS` ("system:masters", "system:authenticated"), with no uid and no
extra, and every `authorizer...check(verb)` decision is allowed (`allowed()` true, `reason()` and
`error()` empty, `errored()` false), as for a member of system:masters on a real server.

Not modelled: parameters (paramKind/paramRef: `params` is null), matchPolicy Equivalent (rules match the
requested group/version only, as with Exact), DELETE and CONNECT (only CREATE and UPDATE are admitted),
auditAnnotations (accepted, never evaluated), CEL type checking and cost limits (expressions are compiled
for syntax only; an undeclared name is an evaluation error, not a refusal of the policy),
status.typeChecking, MutatingAdmissionPolicy and admission webhooks. Writes the server makes itself
(garbage collection, namespace clean-up, CRD conditions) are not admitted.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from issuer.testing import schema, selectors
from issuer.testing.errors import APIError, FieldCause
from issuer.testing.resources import Obj, StoreKey

USERNAME: Final = "system:admin"
GROUPS: Final = ("system:masters", "system:authenticated")

GROUP: Final = "admissionregistration.k8s.io"
POLICIES: Final[StoreKey] = (GROUP, "validatingadmissionpolicies")
BINDINGS: Final[StoreKey] = (GROUP, "validatingadmissionpolicybindings")

_EXEMPT_KINDS: Final = frozenset({
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
})
_REASON_CODES: Final = {"Forbidden": 403, "Unauthorized": 401, "RequestEntityTooLarge": 413, "Invalid": 422}
_MAX_MESSAGE_BYTES: Final = 5 * 1024  # celconfig.MaxEvaluatedMessageExpressionSizeBytes


@dataclasses.dataclass(frozen=True)
class Request:
    """One write as admission sees it (kube's admission.Attributes): `obj` after the server's own
    defaulting and validation, `old` the stored object (None on create). `namespace` is "" for
    cluster-scoped objects and a Namespace's own name for a Namespace; `namespace_object` is the stored
    Namespace of a namespaced object."""

    operation: str  # CREATE or UPDATE
    group: str
    version: str
    resource: str
    kind: str
    name: str
    namespace: str
    obj: Obj
    old: Obj | None = None
    subresource: str = ""
    dry_run: bool = False
    namespace_object: Obj | None = None


def admit(policies: Mapping[str, Obj], bindings: Iterable[Obj], request: Request) -> list[str]:
    """Evaluate every binding of an existing policy against `request`: returns the warnings (Warn
    actions), raises `APIError` (kube's Status) for the first refusal (Deny actions)."""
    if request.group == GROUP and request.kind in _EXEMPT_KINDS:
        return []
    by_policy: dict[str, list[Obj]] = {}
    for binding in bindings:
        name = str(_dict(binding.get("spec")).get("policyName") or "")
        if name in policies:
            by_policy.setdefault(name, []).append(binding)
    warnings: list[str] = []
    refusals: list[tuple[str, str, _Decision]] = []
    for policy_name in sorted(by_policy):
        spec = _dict(policies[policy_name].get("spec"))
        if not _matches(_dict(spec.get("matchConstraints")), request):
            continue
        decisions: list[_Decision] | None = None
        for binding in sorted(by_policy[policy_name], key=_name):
            binding_spec = _dict(binding.get("spec"))
            match_resources = binding_spec.get("matchResources")
            if isinstance(match_resources, dict) and not _matches(match_resources, request):
                continue
            if decisions is None:
                decisions = _validate(spec, request)
            actions = _list(binding_spec.get("validationActions"))
            for decision in decisions:
                if "Deny" in actions:
                    refusals.append((policy_name, _name(binding), decision))
                if "Warn" in actions:
                    warnings.append(f"Validation failed for ValidatingAdmissionPolicy '{policy_name}' with binding "
                                    f"'{_name(binding)}': {decision.message}")
    if refusals:
        raise _refusal(request, *refusals[0])
    return warnings


# ---------------------------------------------------------------------------------------------------
# matching (matchConstraints, matchResources)


def _matches(criteria: Mapping[str, Any], request: Request) -> bool:
    """Whether a MatchResources applies to the request (kube's matching.Matcher.Matches; the rules are
    tried first, the cheapest way to the same answer)."""
    rules = _list(criteria.get("resourceRules"))
    if rules and not any(_rule_matches(_dict(rule), request) for rule in rules):
        return False
    if any(_rule_matches(_dict(rule), request) for rule in _list(criteria.get("excludeResourceRules"))):
        return False
    if not _namespace_selected(criteria.get("namespaceSelector"), request):
        return False
    object_selector = _selector(criteria.get("objectSelector"))
    return object_selector.empty or any(
        isinstance(o, dict) and object_selector.matches(_dict(_dict(o.get("metadata")).get("labels")))
        for o in (request.obj, request.old))


def _namespace_selected(value: Any, request: Request) -> bool:
    if not request.namespace and request.resource != "namespaces":
        return True  # cluster-scoped objects are never excluded by namespace
    selector = _selector(value)
    if selector.empty:
        return True
    if request.group == "" and request.resource == "namespaces":
        source = request.old if request.subresource else request.obj
    else:
        source = request.namespace_object
    return selector.matches(_dict(_dict((source or {}).get("metadata")).get("labels")))


def _selector(value: Any) -> selectors.LabelSelector:
    try:
        return selectors.from_dict(value if isinstance(value, dict) else None)
    except selectors.SelectorError:
        return selectors.LabelSelector()  # refused when the policy was written


def _rule_matches(rule: Mapping[str, Any], request: Request) -> bool:
    scope = rule.get("scope") or "*"
    is_namespace = request.group == "" and request.resource == "namespaces"
    if scope == "Namespaced" and (is_namespace or not request.namespace):
        return False
    if scope == "Cluster" and not (is_namespace or not request.namespace):
        return False
    operations = _list(rule.get("operations"))
    if "*" not in operations and request.operation not in operations:
        return False
    if not _wildcard(rule.get("apiGroups"), request.group) or not _wildcard(rule.get("apiVersions"),
                                                                             request.version):
        return False
    for item in _list(rule.get("resources")):
        resource, _, subresource = str(item).partition("/")
        if resource in ("*", request.resource) and subresource in ("*", request.subresource):
            break
    else:
        return False
    names = _list(rule.get("resourceNames"))
    return not names or request.name in names


def _wildcard(items: Any, value: str) -> bool:
    listed = _list(items)
    return "*" in listed or value in listed


# ---------------------------------------------------------------------------------------------------
# evaluation (kube's validator.Validate and the match-conditions matcher)


@dataclasses.dataclass(frozen=True)
class _Decision:
    """A refusal: its message and reason ("" for an evaluation error, answered as Invalid)."""

    message: str
    reason: str = ""


def _validate(spec: Mapping[str, Any], request: Request) -> list[_Decision]:
    """The refusals one policy makes of a request (an evaluation error refuses only under Fail)."""
    fail = spec.get("failurePolicy", "Fail") != "Ignore"
    conditions = [_dict(c) for c in _list(spec.get("matchConditions"))]
    if conditions:
        plain = _activation(spec, request, authorizer=True, variables=False)
        plain["namespaceObject"] = None  # match conditions see no namespace
        problems: list[str] = []
        for condition in conditions:
            result, problem = _run(str(condition.get("expression") or ""), plain)
            if problem is not None:
                problems.append(problem)
            elif result is False:
                return []
        if problems:
            if not fail:
                return []
            unique = list(dict.fromkeys(problems))
            return [_Decision(unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]")]
    activation = _activation(spec, request, authorizer=True)
    messages: dict[str, Any] | None = None
    decisions = []
    for validation in (_dict(v) for v in _list(spec.get("validations"))):
        expression = str(validation.get("expression") or "")
        result, problem = _run(expression, activation)
        if problem is not None:
            if fail:
                decisions.append(_Decision(problem))
            continue
        if result is True:
            continue
        message = ""
        message_expression = validation.get("messageExpression")
        if isinstance(message_expression, str) and message_expression.strip():
            if messages is None:
                messages = _activation(spec, request, authorizer=False)
            value, error = schema.evaluate(message_expression, messages)
            if error is None and isinstance(value, str):
                message = value.strip()
                if len(message.encode()) > _MAX_MESSAGE_BYTES or "\n" in message:
                    message = ""
        if not message:
            message = str(validation.get("message") or "").strip()
        if not message:
            message = f"failed expression: {expression.strip()}"
        decisions.append(_Decision(message, str(validation.get("reason") or "Invalid")))
    return decisions


def _run(expression: str, activation: Mapping[str, Any]) -> tuple[Any, str | None]:
    """The result of a boolean expression, or the problem in kube's words."""
    error = schema.compile_error(expression)
    if error is not None:
        return None, f"compilation error: {error}"
    result, error = schema.evaluate(expression, activation)
    if error is not None:
        return None, f"expression '{expression}' resulted in error: {error}"
    return result, None


def _activation(spec: Mapping[str, Any], request: Request, *, authorizer: bool,
                variables: bool = True) -> dict[str, Any]:
    """The CEL variables of one evaluation; `variables` computed on first use from this same activation."""
    namespace = None if request.group == "" and request.resource == "namespaces" else request.namespace_object
    activation: dict[str, Any] = {
        "object": request.obj, "oldObject": request.old, "request": _request_value(request),
        "namespaceObject": _namespace_value(namespace), "params": None,
    }
    if authorizer:
        activation["authorizer"] = Authorizer(_ResourceCheck(
            request.group, request.resource, request.subresource, request.namespace, request.name))
    if variables:
        expressions = {str(v.get("name") or ""): str(v.get("expression") or "")
                       for v in (_dict(item) for item in _list(spec.get("variables")))}
        computing: set[str] = set()

        def compute(name: str) -> Any:
            if name in computing:
                raise schema.CelError(f"undefined field '{name}'")
            error = schema.compile_error(expressions[name])
            if error is not None:
                raise schema.CelError(f'composited variable "{name}" fails to compile: {error}')
            computing.add(name)
            try:
                value, error = schema.evaluate(expressions[name], activation)
            finally:
                computing.discard(name)
            if error is not None:
                raise schema.CelError(f'composited variable "{name}" fails to evaluate: {error}')
            return value

        activation["variables"] = schema.LazyMap(expressions, compute)
    return activation


def _request_value(request: Request) -> dict[str, Any]:
    """The AdmissionRequest as CEL sees it (empty optional fields omitted, as in its JSON form)."""
    kind = {"group": request.group, "version": request.version, "kind": request.kind}
    resource = {"group": request.group, "version": request.version, "resource": request.resource}
    options: dict[str, Any] = {"kind": "CreateOptions" if request.operation == "CREATE" else "UpdateOptions",
                               "apiVersion": "meta.k8s.io/v1"}
    if request.dry_run:
        options["dryRun"] = ["All"]
    value: dict[str, Any] = {"kind": kind, "resource": resource}
    if request.subresource:
        value["subResource"] = request.subresource
    value["requestKind"] = dict(kind)
    value["requestResource"] = dict(resource)
    if request.subresource:
        value["requestSubResource"] = request.subresource
    if request.name:
        value["name"] = request.name
    if request.namespace:
        value["namespace"] = request.namespace
    value["operation"] = request.operation
    value["userInfo"] = {"username": USERNAME, "groups": list(GROUPS)}
    value["dryRun"] = request.dry_run
    value["options"] = options
    return value


_NAMESPACE_META: Final = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation",
                          "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
                          "annotations", "finalizers")


def _namespace_value(namespace: Obj | None) -> Obj | None:
    """`namespaceObject`: the Namespace without managedFields and ownerReferences (kube's
    CreateNamespaceObject)."""
    if namespace is None:
        return None
    md = _dict(namespace.get("metadata"))
    out: Obj = {"metadata": {k: md[k] for k in _NAMESPACE_META if k in md}, "spec": namespace.get("spec") or {}}
    out["status"] = namespace.get("status") or {}
    return out


def _refusal(request: Request, policy: str, binding: str, decision: _Decision) -> APIError:
    """kube's admission.NewForbidden with the decision's reason and code."""
    message = f"ValidatingAdmissionPolicy '{policy}' with binding '{binding}' denied request: {decision.message}"
    resource = f"{request.resource}.{request.group}" if request.group else request.resource
    name = request.name or str(_dict(request.obj.get("metadata")).get("generateName") or "") or "Unknown"
    reason = decision.reason or "Invalid"
    details: dict[str, Any] = {"name": name}
    if request.group:
        details["group"] = request.group
    details["kind"] = request.resource
    details["causes"] = [{"message": message}]
    return APIError(_REASON_CODES.get(reason, 422), reason, f'{resource} "{name}" is forbidden: {message}', details)


# ---------------------------------------------------------------------------------------------------
# the authorizer library (kubernetes.authz): everything is allowed


class Authorizer(dict[str, Any]):
    """`authorizer` (a map only so that `authorizer.requestResource` selects the request's own check)."""

    def __init__(self, request_resource: _ResourceCheck) -> None:
        super().__init__(requestResource=request_resource)


@dataclasses.dataclass(frozen=True)
class _PathCheck:
    path: str


@dataclasses.dataclass(frozen=True)
class _GroupCheck:
    group: str


@dataclasses.dataclass(frozen=True)
class _ResourceCheck:
    group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    field_selector: str = ""
    label_selector: str = ""


@dataclasses.dataclass(frozen=True)
class _AuthzDecision:
    """`kubernetes.authorization.Decision`: always allowed here."""

    allowed: bool = True
    reason: str = ""


_SUBDOMAIN: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _typed(value: Any, kind: type[Any] | tuple[type[Any], ...]) -> Any:
    if not isinstance(value, kind):
        raise schema.CelError("no such overload")
    return value


def _path(authz: Any, path: Any) -> _PathCheck:
    _typed(authz, Authorizer)
    if not _typed(path, str).strip():
        raise schema.CelError("path must not be empty")
    return _PathCheck(path)


def _group(authz: Any, group: Any) -> _GroupCheck:
    _typed(authz, Authorizer)
    return _GroupCheck(_typed(group, str))


def _service_account(authz: Any, namespace: Any, name: Any) -> Authorizer:
    checked: Authorizer = _typed(authz, Authorizer)
    if len(_typed(name, str)) > 253 or not _SUBDOMAIN.fullmatch(name):
        raise schema.CelError("Invalid service account name")
    if len(_typed(namespace, str)) > 63 or not _LABEL.fullmatch(namespace):
        raise schema.CelError("Invalid service account namespace")
    return checked  # the service account is allowed everything too


def _resource(check: Any, resource: Any) -> _ResourceCheck:
    group = _typed(check, _GroupCheck).group
    if not _typed(resource, str).strip():
        raise schema.CelError("resource must not be empty")
    return _ResourceCheck(group, resource)


def _refine(field: str) -> Any:
    def refine(check: Any, value: Any) -> _ResourceCheck:
        checked: _ResourceCheck = _typed(check, _ResourceCheck)
        return dataclasses.replace(checked, **{field: _typed(value, str)})

    return refine


def _check(check: Any, verb: Any) -> _AuthzDecision:
    _typed(check, (_ResourceCheck, _PathCheck))
    _typed(verb, str)
    return _AuthzDecision()


def _decision(attribute: str) -> Any:
    def read(decision: Any) -> Any:
        value = _typed(decision, _AuthzDecision)
        if attribute == "errored":
            return False
        if attribute == "error":
            return ""
        return getattr(value, attribute)

    return read


schema.register_functions({
    "path": _path, "group": _group, "serviceAccount": _service_account, "resource": _resource,
    "subresource": _refine("subresource"), "namespace": _refine("namespace"), "name": _refine("name"),
    "fieldSelector": _refine("field_selector"), "labelSelector": _refine("label_selector"), "check": _check,
    "allowed": _decision("allowed"), "reason": _decision("reason"), "errored": _decision("errored"),
    "error": _decision("error"),
})


# ---------------------------------------------------------------------------------------------------
# writes of the two kinds: kube's defaults and validation


def prepare_policy(obj: Obj, old: Obj | None) -> list[FieldCause]:
    """Default a ValidatingAdmissionPolicy in place (failurePolicy, matchConstraints) and return what
    kube's validation refuses in it."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    if old is None:
        obj["status"] = {}
    spec.setdefault("failurePolicy", "Fail")
    constraints = spec.get("matchConstraints")
    if isinstance(constraints, dict):
        _default_match(constraints)
    causes: list[FieldCause] = []
    if spec["failurePolicy"] not in ("Fail", "Ignore"):
        causes.append(_unsupported("spec.failurePolicy", spec["failurePolicy"], ("Fail", "Ignore")))
    if not isinstance(constraints, dict):
        causes.append(_required("spec.matchConstraints"))
    else:
        causes += _match_causes(constraints, "spec.matchConstraints")
        if not _list(constraints.get("resourceRules")):
            causes.append(_required("spec.matchConstraints.resourceRules"))
    names: set[str] = set()
    for i, condition in enumerate(_dict(c) for c in _list(spec.get("matchConditions"))):
        path = f"spec.matchConditions[{i}]"
        causes += _expression_causes(condition.get("expression"), f"{path}.expression", "")
        name = str(condition.get("name") or "")
        if not name:
            causes.append(_required(f"{path}.name"))
        elif name in names:
            causes.append(FieldCause("FieldValueDuplicate", f"Duplicate value: {json.dumps(name)}", f"{path}.name"))
        names.add(name)
    for i, variable in enumerate(_dict(v) for v in _list(spec.get("variables"))):
        path = f"spec.variables[{i}]"
        name = str(variable.get("name") or "")
        if not name.strip():
            causes.append(_required(f"{path}.name", "name is not specified"))
        elif not re.fullmatch(r"[_a-zA-Z][_a-zA-Z0-9]*", name):
            causes.append(_invalid(f"{path}.name", name, "must be a valid CEL identifier"))
        causes += _expression_causes(variable.get("expression"), f"{path}.expression", "expression is not specified")
    validations = [_dict(v) for v in _list(spec.get("validations"))]
    if not validations and not _list(spec.get("auditAnnotations")):
        why = "validations or auditAnnotations must contain at least one item"
        causes += [_required("spec.validations", why), _required("spec.auditAnnotations", why)]
    for i, validation in enumerate(validations):
        path = f"spec.validations[{i}]"
        causes += _expression_causes(validation.get("expression"), f"{path}.expression", "expression is not specified")
        message_expression = validation.get("messageExpression")
        if isinstance(message_expression, str) and message_expression:
            if not message_expression.strip():
                causes.append(_invalid(f"{path}.messageExpression", message_expression,
                                       "must be non-empty if specified"))
            else:
                causes += _expression_causes(message_expression, f"{path}.messageExpression", "")
        message = validation.get("message")
        if isinstance(message, str) and message and not message.strip():
            causes.append(_invalid(f"{path}.message", message, "must be non-empty if specified"))
        elif isinstance(message, str) and re.search(r"[\n\r]", message.strip()):
            causes.append(_invalid(f"{path}.message", message, "must not contain line breaks"))
        reason = validation.get("reason")
        if reason is not None and reason not in ("Forbidden", "Invalid", "RequestEntityTooLarge"):
            causes.append(_unsupported(f"{path}.reason", reason, ("Forbidden", "Invalid", "RequestEntityTooLarge")))
    return causes


def prepare_binding(obj: Obj) -> list[FieldCause]:
    """Default a ValidatingAdmissionPolicyBinding in place (matchResources) and return what kube's
    validation refuses in it."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    causes: list[FieldCause] = []
    if not spec.get("policyName"):
        causes.append(_required("spec.policyName"))
    match_resources = spec.get("matchResources")
    if isinstance(match_resources, dict):
        _default_match(match_resources)
        causes += _match_causes(match_resources, "spec.matchResources")
    actions = _list(spec.get("validationActions"))
    seen: set[str] = set()
    for i, action in enumerate(actions):
        if action not in ("Audit", "Deny", "Warn"):
            causes.append(_unsupported(f"spec.validationActions[{i}]", action, ("Audit", "Deny", "Warn")))
        if action in seen:
            causes.append(FieldCause("FieldValueDuplicate", f"Duplicate value: {_go(action)}",
                                     f"spec.validationActions[{i}]"))
        seen.add(str(action))
    if "Deny" in seen and "Warn" in seen:
        causes.append(_invalid("spec.validationActions", actions, "must not contain both Deny and Warn (repeating "
                               "the same validation failure information in the API response and headers serves "
                               "no purpose)"))
    if not seen:
        causes.append(_required("spec.validationActions"))
    return causes


def _default_match(match: dict[str, Any]) -> None:
    match.setdefault("matchPolicy", "Equivalent")
    match.setdefault("namespaceSelector", {})
    match.setdefault("objectSelector", {})
    for key in ("resourceRules", "excludeResourceRules"):
        for rule in _list(match.get(key)):
            if isinstance(rule, dict):
                rule.setdefault("scope", "*")


_OPERATIONS: Final = ("*", "CONNECT", "CREATE", "DELETE", "UPDATE")


def _match_causes(match: Mapping[str, Any], path: str) -> list[FieldCause]:
    causes: list[FieldCause] = []
    if match.get("matchPolicy") not in ("Exact", "Equivalent"):
        causes.append(_unsupported(f"{path}.matchPolicy", match.get("matchPolicy"), ("Equivalent", "Exact")))
    for key in ("namespaceSelector", "objectSelector"):
        try:
            selectors.from_dict(_dict(match.get(key)))
        except selectors.SelectorError as exc:
            causes.append(_invalid(f"{path}.{key}", match.get(key), str(exc)))
    for key in ("resourceRules", "excludeResourceRules"):
        for i, rule in enumerate(_dict(r) for r in _list(match.get(key))):
            at = f"{path}.{key}[{i}]"
            operations = _list(rule.get("operations"))
            if not operations:
                causes.append(_required(f"{at}.operations"))
            for j, operation in enumerate(operations):
                if operation not in _OPERATIONS:
                    causes.append(_unsupported(f"{at}.operations[{j}]", operation, _OPERATIONS))
            for field in ("apiGroups", "apiVersions", "resources"):
                if not _list(rule.get(field)):
                    causes.append(_required(f"{at}.{field}"))
            scope = rule.get("scope")
            if scope not in ("*", "Cluster", "Namespaced"):
                causes.append(_unsupported(f"{at}.scope", scope, ("*", "Cluster", "Namespaced")))
    return causes


def _expression_causes(expression: Any, path: str, missing: str) -> list[FieldCause]:
    if not isinstance(expression, str) or not expression.strip():
        return [_required(path, missing)]
    error = schema.compile_error(expression)
    return [] if error is None else [_invalid(path, expression, error)]


def _required(path: str, why: str = "") -> FieldCause:
    return FieldCause("FieldValueRequired", f"Required value: {why}" if why else "Required value", path)


def _invalid(path: str, value: Any, why: str) -> FieldCause:
    return FieldCause("FieldValueInvalid", f"Invalid value: {_go(value)}: {why}", path)


def _unsupported(path: str, value: Any, supported: tuple[str, ...]) -> FieldCause:
    listed = ", ".join(json.dumps(s) for s in supported)
    return FieldCause("FieldValueNotSupported", f"Unsupported value: {_go(value)}: supported values: {listed}", path)


def _go(value: Any) -> str:
    """A value as field.Error prints it (%q for strings, JSON for lists)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------------
# helpers


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _name(obj: Obj) -> str:
    return str(_dict(obj.get("metadata")).get("name") or "")
