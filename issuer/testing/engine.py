"""Kubernetes object semantics of the embedded API server, independent of HTTP: create, update (PUT),
patch, delete and list over the `Store`, with what kube-apiserver does on each write — server-owned
metadata (uid, creationTimestamp, the cluster-wide resourceVersion, generation), optimistic
concurrency, the status subresource split, no-op detection, names and schema validation (pruning,
defaults, CEL via issuer.testing.schema), the Secret/Event/Lease/Namespace/CRD rules, finalizers and
deletion, ownerReferences garbage collection (Background, Foreground, Orphan), namespace termination,
CRD establishment, and ValidatingAdmissionPolicies (issuer.testing.admission) on every create and update
after the server's own validation, before storing. The HTTP layer (server.py) parses requests and calls
these methods; tests may call them directly too. Background work (GC, CRD conditions, namespace cleanup)
runs soon after the write that caused it, on the running event loop."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime
import json
import logging
import random
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from issuer.testing import admission, errors, schema, selectors
from issuer.testing import patch as patches
from issuer.testing.errors import APIError, FieldCause
from issuer.testing.patch import go_json_type
from issuer.testing.resources import Obj, Registry, Resource, StoreKey
from issuer.testing.store import Entry, Key, Store, dumps

log = logging.getLogger(__name__)

NAMESPACES: StoreKey = ("", "namespaces")
CRDS: StoreKey = ("apiextensions.k8s.io", "customresourcedefinitions")
CRD_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
BINDINGS: StoreKey = admission.BINDINGS
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
SECRET_MAX = 1024 * 1024

_GEN_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_QUALIFIED = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_MICRO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)")
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                 "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
                 "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
             "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
             "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
CONFIG_KEY_MSG = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
                  "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")

# core v1 Event field <-> events.k8s.io/v1 Event field
EVENT_FIELD_MAP = (
    ("involvedObject", "regarding"), ("message", "note"), ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"), ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"), ("count", "deprecatedCount"),
)


def now_time(clock: float | None = None) -> str:
    t = time.time() if clock is None else clock
    return datetime.datetime.fromtimestamp(int(t), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dumps_sorted(obj: Any) -> str:
    """JSON as Go marshals a map: keys sorted, no spaces."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def thaw(obj: Obj) -> Obj:
    """A deep, private copy of a stored (shared, immutable) object."""
    copied: Obj = json.loads(dumps(obj))
    return copied


def _meta(res: Resource, obj: Obj) -> dict[str, Any]:
    """obj["metadata"] as a dict (created when absent); anything else is a 400 decoding error."""
    md = obj.get("metadata")
    if md is None:
        md = obj["metadata"] = {}
    if not isinstance(md, dict):
        raise errors.cannot_handle(res, f"json: cannot unmarshal {go_json_type(md)} into Go struct field "
                                        "Object.metadata of type v1.ObjectMeta")
    return md


def _md(obj: Obj) -> dict[str, Any]:
    md = obj.get("metadata")
    return md if isinstance(md, dict) else {}


def _rv(obj: Obj) -> str:
    return str(_md(obj).get("resourceVersion") or "")


def _generation_part(obj: Obj, with_status: bool) -> Obj:
    skip = {"metadata", "apiVersion", "kind"} if with_status else {"metadata", "apiVersion", "kind", "status"}
    return {k: v for k, v in obj.items() if k not in skip}


def _norm_time(res: Resource, value: Any, micro: bool) -> Any:
    if value is None or value == "":
        return value
    if not isinstance(value, str):
        raise errors.cannot_handle(res, f"json: cannot unmarshal {type(value).__name__} into Go value of "
                                        "type string")
    layout = "2006-01-02T15:04:05.000000Z07:00" if micro else "2006-01-02T15:04:05Z07:00"
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise errors.cannot_handle(res, f'parsing time "{value}" as "{layout}": cannot parse "{value}" as '
                                        '"2006"') from None
    if micro and not _MICRO.fullmatch(value):  # a MicroTime has exactly six fractional digits, as Go parses it
        digits = len(value[20:]) - len(value[20:].lstrip("0123456789")) if value[19:20] == "." else 0
        rest, want = (value[26:], "Z07:00") if digits > 6 else (value[19:], ".000000")
        raise errors.cannot_handle(res, f'parsing time "{value}" as "{layout}": cannot parse "{rest}" as "{want}"')
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    parsed = parsed.astimezone(datetime.UTC)
    if micro:
        return parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64_error(text: str) -> int | None:
    """The byte offset Go's base64.StdEncoding reports for `text`, or None when it decodes."""
    m = _B64.match(text)
    end = m.end() if m else 0
    if end < len(text):
        return end
    if len(text) % 4:
        return (len(text) // 4) * 4
    try:
        base64.b64decode(text, validate=True)
    except binascii.Error:
        return max(0, len(text) - 4)
    return None


def event_to_v1(obj: Obj) -> Obj:
    out = dict(obj)
    out["apiVersion"] = "events.k8s.io/v1"
    for core, v1 in EVENT_FIELD_MAP:
        if core in out:
            out[v1] = out.pop(core)
    for field in ("reportingController", "reportingInstance"):  # omitempty in events.k8s.io/v1
        if out.get(field) == "":
            del out[field]
    return out


def event_from_v1(obj: Obj) -> Obj:
    out = dict(obj)
    out["apiVersion"] = "v1"
    for core, v1 in EVENT_FIELD_MAP:
        if v1 in out:
            out[core] = out.pop(v1)
    return out


class Engine:
    """The write and read paths over one `Store` and `Registry`."""

    def __init__(self, store: Store | None = None, registry: Registry | None = None) -> None:
        self.store = store or Store()
        self.registry = registry or Registry()
        self.crd_listeners: list[Callable[[], None]] = []
        for entry in list(self.store.buckets[CRDS].values()):
            self.registry.set_crd(entry.obj)
        if not self.store.buckets[NAMESPACES]:
            ns_res = self.resource("", "v1", "namespaces")
            for name in INITIAL_NAMESPACES:
                self.create(ns_res, None, {"metadata": {"name": name}})

    # ---- helpers

    def resource(self, group: str, version: str, plural: str) -> Resource:
        res = self.registry.lookup(group, version, plural)
        if res is None:
            raise errors.no_route()
        return res

    def _soon(self, fn: Callable[..., None], *args: Any) -> None:
        def guarded() -> None:
            try:
                fn(*args)
            except APIError as exc:
                log.debug("background %s: %s", getattr(fn, "__name__", fn), exc.message)
            except Exception:
                log.exception("background task %s failed", getattr(fn, "__name__", fn))

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            guarded()
            return
        loop.call_soon(guarded)

    def to_served(self, res: Resource, obj: Obj) -> Obj:
        """The stored object as `res`'s version serves it (shared when no conversion is needed)."""
        if res.store_api_version == res.api_version:
            return obj
        if res.store_group is not None and res.group == "events.k8s.io":
            return event_to_v1(obj)
        out = dict(obj)
        out["apiVersion"] = res.api_version
        return out

    def to_stored(self, res: Resource, obj: Obj) -> Obj:
        if res.store_api_version == res.api_version:
            return obj
        if res.store_group is not None and res.group == "events.k8s.io":
            return event_from_v1(obj)
        obj["apiVersion"] = res.store_api_version
        return obj

    def encode(self, res: Resource, entry: Entry) -> bytes:
        if res.store_api_version == res.api_version:
            return entry.encoded()
        return dumps(self.to_served(res, entry.obj))

    def _key(self, res: Resource, namespace: str | None, name: str) -> Key:
        return ((namespace or "") if res.namespaced else "", name)

    def get(self, res: Resource, namespace: str | None, name: str) -> Obj:
        obj = self.store.get(res.store_key, self._key(res, namespace, name))
        if obj is None:
            raise errors.not_found(res, name)
        return self.to_served(res, obj)

    def get_entry(self, res: Resource, namespace: str | None, name: str) -> Entry:
        entry = self.store.entry(res.store_key, self._key(res, namespace, name))
        if entry is None:
            raise errors.not_found(res, name)
        return entry

    def namespace_phase(self, namespace: str) -> str | None:
        obj = self.store.get(NAMESPACES, ("", namespace))
        if obj is None:
            return None
        if _md(obj).get("deletionTimestamp"):
            return "Terminating"
        return str((obj.get("status") or {}).get("phase") or "Active")

    def _check_kind(self, res: Resource, obj: Obj) -> None:
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        if kind and kind != res.kind:
            raise errors.bad_request(f"the API version in the data ({api_version}) does not match the expected "
                                     f"API version ({res.api_version})" if api_version != res.api_version
                                     else f'{kind} in version "{res.version}" cannot be handled as a '
                                          f"{res.kind}: no kind \"{kind}\" is registered")
        if api_version and api_version != res.api_version:
            raise errors.bad_request(f"the API version in the data ({api_version}) does not match the expected "
                                     f"API version ({res.api_version})")
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind

    def _check_name(self, res: Resource, name: str, field: str = "metadata.name") -> list[FieldCause]:
        """kube's IsDNS1123Label (namespaces) or IsDNS1123Subdomain: every problem, in kube's order."""
        causes: list[FieldCause] = []
        if res.kind == "Namespace":
            if len(name) > 63:
                causes.append(errors.invalid_value(field, name, "must be no more than 63 characters"))
            if not _LABEL.fullmatch(name):
                # a valid subdomain that is no label (its length checked above) has dots
                why = "must not contain dots" if _SUBDOMAIN.fullmatch(name) else LABEL_MSG
                causes.append(errors.invalid_value(field, name, why))
            return causes
        if len(name) > 253:
            causes.append(errors.invalid_value(field, name, "must be no more than 253 characters"))
        if not _SUBDOMAIN.fullmatch(name):
            causes.append(errors.invalid_value(field, name, SUBDOMAIN_MSG))
        return causes

    def _schema(self, res: Resource, obj: Obj, old: Obj | None, field_validation: str) -> list[str]:
        """Prune, default and validate a custom resource; returns warnings."""
        if res.schema is None:
            return []
        pruned = schema.prune(obj, res.schema)
        warnings: list[str] = []
        if pruned:
            if field_validation == "Strict":
                text = ", ".join(f'unknown field "{p}"' for p in pruned)
                raise errors.cannot_handle(res, f"strict decoding error: {text}")
            if field_validation != "Ignore":
                warnings = [f'unknown field "{p}"' for p in pruned]
        schema.apply_defaults(obj, res.schema)
        causes = schema.validate(obj, res.schema, old=old, skip_rules_when_invalid=True)
        if causes:
            raise errors.invalid(res, str(_md(obj).get("name", "")),
                                 [FieldCause(c.reason, c.message, c.field) for c in causes])
        return warnings

    # ---- create

    def create(self, res: Resource, namespace: str | None, body: Any, *, dry_run: bool = False,
               field_validation: str = "Warn") -> tuple[Obj, list[str]]:
        if not isinstance(body, dict):
            raise errors.cannot_handle(res, f"json: cannot unmarshal {go_json_type(body)} into Go value of type "
                                            "map[string]interface {}")
        self._check_kind(res, body)
        obj = {"apiVersion": body.pop("apiVersion"), "kind": body.pop("kind"), **body}
        md = _meta(res, obj)
        if md.get("resourceVersion"):
            raise errors.unclassified(500, "resourceVersion should not be set on objects to be created")
        if res.namespaced:
            if md.get("namespace") and namespace and md["namespace"] != namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                         "sent on the request")
            namespace = namespace or md.get("namespace") or "default"
            md["namespace"] = namespace
        else:
            md.pop("namespace", None)
            namespace = None
        generated = False
        if not md.get("name"):
            prefix = md.get("generateName")
            if not prefix:
                causes = [FieldCause("FieldValueRequired", "Required value: name or generateName is required",
                                     "metadata.name")]
                if res.schema is not None and schema.has_rules(res.schema):  # a blocking error: no rule runs
                    causes.append(FieldCause(schema.NOT_CHECKED.reason, schema.NOT_CHECKED.message, "<nil>"))
                raise errors.invalid(res, "", causes)
            generated = True
            md["name"] = str(prefix) + "".join(random.choices(_GEN_CHARS, k=5))
        name = str(md["name"])
        if res.store_key == NAMESPACES:
            _namespace_label(md, name)
        causes = self._check_name(res, name)
        if causes:
            if res.store_key == NAMESPACES and isinstance(md.get("labels"), dict):
                causes += _label_causes(md["labels"])
            raise errors.invalid(res, name, causes)
        if res.namespaced:
            assert namespace is not None
            phase = self.namespace_phase(namespace)
            if phase is None:
                raise errors.namespace_not_found(namespace)
            if phase == "Terminating":
                raise errors.forbidden(f"{res.kind.lower()}s \"{name}\" is forbidden: unable to create new "
                                       f"content in namespace {namespace} because it is being terminated",
                                       {"name": name, "kind": res.plural, "causes": [{
                                           "reason": "NamespaceTerminating", "field": "metadata.namespace",
                                           "message": f"namespace {namespace} is being terminated"}]})
        if res.crd_name:
            crd = self.store.get(CRDS, ("", res.crd_name))
            if crd is not None and _md(crd).get("deletionTimestamp"):
                raise errors.APIError(405, "MethodNotAllowed", "create not allowed while custom resource "
                                      "definition is terminating", {})
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_time()
        for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            md.pop(field, None)
        if res.generation:
            md["generation"] = 1
        else:
            md.pop("generation", None)
        if res.status:
            obj.pop("status", None)
        warnings = self._prepare(res, obj, None, field_validation)
        if self.store.buckets.get(BINDINGS):  # one lookup while nothing is bound
            warnings += self._admit(res, "CREATE", obj, None, None, dry_run)
        obj = self.to_stored(res, obj)
        key = self._key(res, namespace, name)
        bucket = self.store.buckets[res.store_key]
        if key in bucket:
            if generated:
                md["name"] = str(md["generateName"]) + "".join(random.choices(_GEN_CHARS, k=5))
                key = self._key(res, namespace, str(md["name"]))
            if key in bucket:
                raise errors.already_exists(res, name)
        if dry_run:
            return self.to_served(res, obj), warnings
        rv = self.store.next_rv()
        md["resourceVersion"] = str(rv)
        self.store.put(res.store_key, key, obj, None, rv)
        self._after_write(res, key, None, obj)
        return self.to_served(res, obj), warnings

    # ---- update

    def update(self, res: Resource, namespace: str | None, name: str, body: Any, *,
               subresource: str | None = None, dry_run: bool = False,
               field_validation: str = "Warn") -> tuple[Obj, list[str]]:
        if not isinstance(body, dict):
            raise errors.cannot_handle(res, f"json: cannot unmarshal {go_json_type(body)} into Go value of type "
                                            "map[string]interface {}")
        self._check_kind(res, body)
        md = _meta(res, body)
        self._check_identity(res, namespace, name, md)
        old = self.get(res, namespace, name)
        self._check_uid(res, name, md, old)
        rv = md.get("resourceVersion")
        if rv:
            if str(rv) != _rv(old):
                raise errors.conflict(res, name)
        elif not res.builtin:  # kube v1.37 names the resource (plural) in details.kind here
            raise APIError(422, "Invalid", f'{res.qualified} "{name}" is invalid: metadata.resourceVersion: '
                           "Invalid value: 0: must be specified for an update", {
                               **errors._details(res, name), "causes": [{
                                   "reason": "FieldValueInvalid", "field": "metadata.resourceVersion",
                                   "message": "Invalid value: 0: must be specified for an update"}]})
        return self._update(res, old, body, subresource=subresource, dry_run=dry_run,
                            field_validation=field_validation)

    def _check_identity(self, res: Resource, namespace: str | None, name: str, md: dict[str, Any]) -> None:
        if md.get("name") and md["name"] != name:
            raise errors.bad_request(f"the name of the object ({md['name']}) does not match the name on the URL "
                                     f"({name})")
        md["name"] = name
        if res.namespaced:
            if md.get("namespace") and namespace and md["namespace"] != namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                         "sent on the request")
            md["namespace"] = namespace
        else:
            md.pop("namespace", None)

    @staticmethod
    def _check_uid(res: Resource, name: str, md: dict[str, Any], old: Obj) -> None:
        uid = md.get("uid")
        if uid and uid != _md(old).get("uid"):  # kube's storage layer words it
            raise errors.conflict(res, name, f"StorageError: invalid object, Code: 4, Key: {_storage_key(res, old)}, "
                                             f"ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in "
                                             f"precondition: {uid}, UID in object meta: {_md(old).get('uid')}")

    def _update(self, res: Resource, old: Obj, new: Obj, *, subresource: str | None, dry_run: bool,
                field_validation: str) -> tuple[Obj, list[str]]:
        old_md = _md(old)
        name = str(old_md.get("name", ""))
        if res.status and subresource == "status":
            status = new.get("status")
            managed = (new.get("metadata") or {}).get("managedFields") if isinstance(new.get("metadata"), dict) \
                else None
            new = thaw(old)
            if managed is not None:  # the field manager records writes to any subresource
                new["metadata"]["managedFields"] = managed
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        elif res.status:
            if "status" in old:
                new["status"] = json.loads(dumps(old["status"]))
            else:
                new.pop("status", None)
        md = new.get("metadata")
        if not isinstance(md, dict):
            md = new["metadata"] = {}
        for field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                      "generation", "name", "namespace"):
            if field in old_md:
                md[field] = old_md[field]
            else:
                md.pop(field, None)
        if "managedFields" not in md and "managedFields" in old_md:
            md["managedFields"] = old_md["managedFields"]
        md.pop("selfLink", None)
        md["resourceVersion"] = old_md.get("resourceVersion")
        new.pop("apiVersion", None)
        new.pop("kind", None)
        new = {"apiVersion": old.get("apiVersion", res.api_version), "kind": old.get("kind", res.kind), **new}
        warnings = self._prepare(res, new, old, field_validation)
        if old_md.get("deletionTimestamp"):
            added = [f for f in md.get("finalizers") or [] if f not in (old_md.get("finalizers") or [])]
            if added:  # kube v1.37 reports it twice (two validations run), with the Go-formatted list
                found = "[]string{" + ", ".join(json.dumps(f) for f in added) + "}"
                cause = errors.forbidden_field("metadata.finalizers", "no new finalizers can be added if the "
                                               f"object is being deleted, found new finalizers {found}")
                raise errors.invalid(res, name, [cause, cause])
        if not md.get("finalizers"):
            md.pop("finalizers", None)
        if res.generation and _generation_part(new, not res.status) != _generation_part(old, not res.status):
            md["generation"] = int(old_md.get("generation") or 0) + 1
        if self.store.buckets.get(BINDINGS):
            warnings += self._admit(res, "UPDATE", new, old, subresource, dry_run)
        if new == old:
            return old, warnings
        new = self.to_stored(res, new)
        if dry_run:
            return self.to_served(res, new), warnings
        key = self._key(res, old_md.get("namespace"), name)
        rv = self.store.next_rv()
        md["resourceVersion"] = str(rv)
        if md.get("deletionTimestamp") and not md.get("finalizers"):
            self.store.remove(res.store_key, key, new, rv)
            self._after_remove(res, key, new)
            return self.to_served(res, new), warnings
        stored_old = self.store.get(res.store_key, key)
        self.store.put(res.store_key, key, new, stored_old, rv)
        self._after_write(res, key, stored_old, new)
        return self.to_served(res, new), warnings

    def _admit(self, res: Resource, operation: str, obj: Obj, old: Obj | None, subresource: str | None,
               dry_run: bool) -> list[str]:
        """Validating admission policies (issuer.testing.admission) for a write about to be stored, called
        only while a binding exists: the warnings, or the refusal raised."""
        md = _md(obj)
        name = str(md.get("name") or "")
        if res.store_key == NAMESPACES:
            namespace, namespace_object = name, None
        elif res.namespaced:
            namespace = str(md.get("namespace") or "")
            namespace_object = self.store.get(NAMESPACES, ("", namespace))
        else:
            namespace, namespace_object = "", None
        policies = {key[1]: entry.obj for key, entry in (self.store.buckets.get(admission.POLICIES) or {}).items()}
        request = admission.Request(operation, res.group, res.version, res.plural, res.kind, name, namespace, obj,
                                    old, subresource or "", dry_run, namespace_object)
        bindings = [entry.obj for entry in self.store.buckets[BINDINGS].values()]
        return admission.admit(policies, bindings, request)

    # ---- patch

    def patch(self, res: Resource, namespace: str | None, name: str, content_type: str, body: bytes, *,
              subresource: str | None = None, dry_run: bool = False, field_validation: str = "Warn",
              manager: str = "", force: bool = False) -> tuple[Obj, list[str], bool]:
        """Apply a patch; returns (object, warnings, created)."""
        ctype = content_type.split(";", maxsplit=1)[0].strip().lower()
        if ctype == "application/strategic-merge-patch+json" and not res.builtin:
            raise errors.unsupported_media()
        if ctype not in ("application/merge-patch+json", "application/json-patch+json",
                         "application/strategic-merge-patch+json", "application/apply-patch+yaml"):
            raise errors.unsupported_patch_type() if res.builtin else errors.unsupported_media()
        if ctype == "application/apply-patch+yaml" and not manager:
            raise errors.invalid_options("PatchOptions", [errors.FieldCause(
                "FieldValueRequired", "Required value: is required for apply patch", "fieldManager")])
        data = self._decode_patch(ctype, body)
        if ctype == "application/apply-patch+yaml" and isinstance(data, dict):
            _meta(res, data)  # patch.apply_patch assumes a dict metadata
        try:
            entry = self.store.entry(res.store_key, self._key(res, namespace, name))
            if entry is None:
                if ctype != "application/apply-patch+yaml" or subresource:
                    raise errors.not_found(res, name)
                applied = patches.apply_patch(None, data, manager=manager, force=force, now=now_time())
                self._check_identity(res, namespace, name, _meta(res, applied))
                obj, warnings = self.create(res, namespace, applied, dry_run=dry_run,
                                            field_validation=field_validation)
                return obj, warnings, True
            old = self.to_served(res, entry.obj)
            if ctype == "application/merge-patch+json":
                new = patches.merge_patch(old, data)
            elif ctype == "application/json-patch+json":
                new = patches.json_patch(old, data)
            elif ctype == "application/strategic-merge-patch+json":
                new = patches.strategic_merge_patch(old, data)
            else:
                new = patches.apply_patch(old, data, manager=manager, force=force, now=now_time(),
                                          subresource=subresource)
        except patches.PatchError as exc:
            raise self._patch_error(exc) from None
        md = _meta(res, new)
        if md.get("name") and md["name"] != name:
            raise errors.bad_request(f"the name of the object ({md['name']}) does not match the name on the URL "
                                     f"({name})")
        self._check_uid(res, name, md, old)
        if md.get("resourceVersion") and str(md["resourceVersion"]) != _rv(old):
            raise errors.conflict(res, name)
        patched = dumps_sorted(new) if field_validation == "Strict" else ""  # _update prunes in place
        try:
            obj, warnings = self._update(res, old, new, subresource=subresource, dry_run=dry_run,
                                         field_validation=field_validation)
        except APIError as exc:
            marker = "strict decoding error: "
            if exc.code != 400 or marker not in exc.message:
                raise
            # kube finds unknown fields of a patch on the patched object: a 422 quoting all of it (the
            # message starts with a space, kube's empty kind)
            why = f"Invalid value: {errors._go_repr(patched)}: {exc.message[exc.message.index(marker):]}"
            raise APIError(422, "Invalid", f' "" is invalid: patch: {why}', {
                "causes": [{"reason": "FieldValueInvalid", "message": why, "field": "patch"}]}) from None
        return obj, warnings, False

    def _decode_patch(self, ctype: str, body: bytes) -> Any:
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            if ctype == "application/apply-patch+yaml":
                import yaml

                try:
                    return yaml.safe_load(body)
                except yaml.YAMLError as yexc:
                    raise errors.bad_request(f"error decoding YAML: {str(yexc).splitlines()[0]}") from None
            if ctype == "application/json-patch+json":
                raise errors.bad_request("invalid JSON patch") from None
            raise errors.bad_request(f"error decoding patch: {exc}") from None

    def _patch_error(self, exc: patches.PatchError) -> APIError:
        if exc.field:
            message = f'"" is invalid: {exc.message}'
            inner = exc.message.split(": ", 1)[1] if ": " in exc.message else exc.message
            return APIError(exc.code, exc.reason, message,
                            {"causes": [{"reason": "FieldValueInvalid", "message": inner, "field": exc.field}]})
        if exc.causes:  # a server-side apply conflict
            return APIError(exc.code, exc.reason, exc.message, {"causes": exc.causes})
        # kube v1.37: a JSON-patch failure is a 422 with empty details; a malformed patch a bare 400
        return APIError(exc.code, exc.reason, exc.message, {} if exc.code == 422 else None)

    # ---- delete

    def delete(self, res: Resource, namespace: str | None, name: str, options: dict[str, Any] | None = None, *,
               dry_run: bool = False) -> tuple[Obj, bool]:
        """Delete (or start deleting) an object; returns (object, removed now)."""
        options = options or {}
        key = self._key(res, namespace, name)
        old = self.store.get(res.store_key, key)
        if old is None:
            raise errors.not_found(res, name)
        old_md = _md(old)
        pre = options.get("preconditions") or {}
        # kube names the kind (not the resource) in a delete precondition conflict
        what = f"{res.kind}.{res.group}" if res.group else res.kind
        details = {"name": name, **({"group": res.group} if res.group else {}), "kind": res.kind}
        if pre.get("uid") and pre["uid"] != old_md.get("uid"):
            raise APIError(409, "Conflict", f'Operation cannot be fulfilled on {what} "{name}": the UID in the '
                                            f"precondition ({pre['uid']}) does not match the UID in record "
                                            f"({old_md.get('uid')}). The object might have been deleted and then "
                                            "recreated", details)
        if pre.get("resourceVersion") and pre["resourceVersion"] != old_md.get("resourceVersion"):
            raise APIError(409, "Conflict", f'Operation cannot be fulfilled on {what} "{name}": the '
                                            f"ResourceVersion in the precondition ({pre['resourceVersion']}) does "
                                            f"not match the ResourceVersion in record "
                                            f"({old_md.get('resourceVersion')}). The object might have been "
                                            "modified", details)
        policy = options.get("propagationPolicy")
        if policy is None and options.get("orphanDependents") is not None:
            policy = "Orphan" if options["orphanDependents"] else "Background"
        policy = policy or "Background"
        if policy not in ("Background", "Foreground", "Orphan"):
            raise errors.invalid(res, name, [FieldCause(
                "FieldValueNotSupported", f'Unsupported value: "{policy}": supported values: "Foreground", '
                '"Background", "Orphan"', "propagationPolicy")])
        if res.store_key == NAMESPACES:
            return self._delete_namespace(res, old, dry_run), False
        finalizers = list(old_md.get("finalizers") or [])
        if res.store_key == CRDS and CRD_FINALIZER not in finalizers:
            finalizers.append(CRD_FINALIZER)  # kube's CRD registry adds it on delete; the cleanup removes it
        deleting = bool(old_md.get("deletionTimestamp"))
        uid = str(old_md.get("uid", ""))
        has_deps = bool(self.store.owner_index.get(uid))
        if not deleting and has_deps:
            if policy == "Orphan" and "orphan" not in finalizers:
                finalizers.append("orphan")
            if policy == "Foreground" and "foregroundDeletion" not in finalizers:
                finalizers.append("foregroundDeletion")
        if finalizers:
            if deleting:
                return self.to_served(res, old), False
            new = thaw(old)
            md = new["metadata"]
            md["finalizers"] = finalizers
            md["deletionTimestamp"] = now_time()
            md["deletionGracePeriodSeconds"] = 0
            if res.generation:
                md["generation"] = int(md.get("generation") or 0) + 1
            if dry_run:
                return self.to_served(res, new), False
            rv = self.store.next_rv()
            md["resourceVersion"] = str(rv)
            self.store.put(res.store_key, key, new, old, rv)
            self._after_write(res, key, old, new)
            return self.to_served(res, new), False
        if dry_run:
            return self.to_served(res, old), True
        new = dict(old)
        new["metadata"] = dict(old_md)
        rv = self.store.next_rv()
        new["metadata"]["resourceVersion"] = str(rv)
        self.store.remove(res.store_key, key, new, rv)
        self._after_remove(res, key, new)
        return self.to_served(res, new), True

    def _delete_namespace(self, res: Resource, old: Obj, dry_run: bool) -> Obj:
        name = str(_md(old).get("name"))
        if name in PROTECTED_NAMESPACES:
            raise errors.forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                                   {"name": name, "kind": "namespaces"})
        if _md(old).get("deletionTimestamp"):
            return old
        new = thaw(old)
        new["metadata"]["deletionTimestamp"] = now_time()
        new["metadata"]["deletionGracePeriodSeconds"] = 0
        new.setdefault("status", {})["phase"] = "Terminating"
        if dry_run:
            return new
        rv = self.store.next_rv()
        new["metadata"]["resourceVersion"] = str(rv)
        self.store.put(NAMESPACES, ("", name), new, old, rv)
        self._soon(self._cleanup_namespace, name)
        return new

    def delete_collection(self, res: Resource, namespace: str | None, matcher: Callable[[Obj], bool] | None,
                          options: dict[str, Any] | None, *, dry_run: bool = False) -> list[Obj]:
        out = []
        ns = namespace if res.namespaced else None
        for key, entry in self.store.items(res.store_key, ns):
            obj = self.to_served(res, entry.obj)
            if matcher is not None and not matcher(obj):
                continue
            try:
                deleted, _ = self.delete(res, key[0] or None, key[1], options, dry_run=dry_run)
            except APIError:
                continue
            out.append(deleted)
        return out

    # ---- kind-specific preparation (create and update)

    def _unknown_fields(self, res: Resource, paths: list[str], field_validation: str) -> list[str]:
        if not paths:
            return []
        if field_validation == "Strict":
            text = ", ".join(f'unknown field "{p}"' for p in paths)
            raise errors.cannot_handle(res, f"strict decoding error: {text}")
        return [f'unknown field "{p}"' for p in paths] if field_validation != "Ignore" else []

    def _check_meta(self, res: Resource, md: dict[str, Any]) -> list[str]:
        """Type checks of ObjectMeta (400 like a decoding error), ownerReference rules (422); unknown
        metadata fields are dropped and returned."""
        def bad(field: str, value: Any, go_type: str) -> APIError:
            return errors.cannot_handle(res, f"json: cannot unmarshal {go_json_type(value)} into Go struct field "
                                             f"ObjectMeta.metadata.{field} of type {go_type}")

        for field in _META_STRINGS:
            value = md.get(field)
            if value is not None and not isinstance(value, str):
                raise bad(field, value, "string")
        for field in _META_INTS:
            value = md.get(field)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise bad(field, value, "int64")
        for field in ("labels", "annotations"):
            value = md.get(field)
            if value is not None and (not isinstance(value, dict)
                                      or not all(isinstance(v, str) for v in value.values())):
                raise bad(field, value, "map[string]string")
        finalizers = md.get("finalizers")
        if finalizers is not None and (not isinstance(finalizers, list)
                                       or not all(isinstance(f, str) for f in finalizers)):
            raise bad("finalizers", finalizers, "[]string")
        refs = md.get("ownerReferences")
        causes: list[FieldCause] = []
        if refs is not None:
            if not isinstance(refs, list) or not all(isinstance(r, dict) for r in refs):
                raise bad("ownerReferences", refs, "[]v1.OwnerReference")
            controllers = 0
            for ref in refs:
                for field in ("apiVersion", "kind", "name", "uid"):
                    value = ref.get(field)
                    if value is not None and not isinstance(value, str):
                        raise bad(f"ownerReferences.{field}", value, "string")
                    if not value:
                        what = "version" if field == "apiVersion" else field
                        causes.append(errors.invalid_value(f"metadata.ownerReferences.{field}", value or "",
                                                           f"{what} must not be empty"))
                for field in ("controller", "blockOwnerDeletion"):
                    if ref.get(field) is not None and not isinstance(ref.get(field), bool):
                        raise bad(f"ownerReferences.{field}", ref.get(field), "bool")
                controllers += bool(ref.get("controller"))
            if controllers > 1:
                causes.append(errors.invalid_value("metadata.ownerReferences", refs,
                                                   "Only one reference can have Controller set to true"))
        if md.get("managedFields") is not None and not isinstance(md.get("managedFields"), list):
            raise bad("managedFields", md.get("managedFields"), "[]v1.ManagedFieldsEntry")
        causes.extend(_label_causes(md.get("labels") or {}))
        if causes:
            raise errors.invalid(res, str(md.get("name", "")), causes)
        for field in ("labels", "annotations", "ownerReferences", "finalizers"):
            if md.get(field) in ({}, []):  # omitempty in kube's ObjectMeta: an emptied map or list goes
                del md[field]
        unknown = [k for k in md if k not in _META_FIELDS]
        for key in unknown:
            del md[key]
        return [f"metadata.{k}" for k in unknown]

    def _prepare(self, res: Resource, obj: Obj, old: Obj | None, field_validation: str) -> list[str]:
        md = _md(obj)
        unknown = self._check_meta(res, md)
        known = _BUILTIN_FIELDS.get((res.group, res.plural))
        if known is not None:
            extra = [k for k in obj if k not in known and k not in ("apiVersion", "kind", "metadata")]
            for key in extra:
                del obj[key]
            unknown.extend(extra)
        warnings = self._unknown_fields(res, unknown, field_validation)
        if not res.builtin:
            warnings += self._schema(res, obj, old, field_validation)
        elif res.store_key == ("", "secrets"):
            self._prepare_secret(res, obj, old)
        elif res.store_key == ("", "configmaps"):
            self._prepare_configmap(res, obj)
        elif res.store_key == ("", "events"):
            self._prepare_event(res, obj)
        elif res.store_key == ("coordination.k8s.io", "leases"):
            spec = obj.get("spec")
            if spec is not None and not isinstance(spec, dict):
                raise errors.cannot_handle(res, f"json: cannot unmarshal {go_json_type(spec)} into Go struct field "
                                                "Lease.spec of type v1.LeaseSpec")
            if isinstance(spec, dict):
                for field in ("acquireTime", "renewTime"):
                    if field in spec:
                        spec[field] = _norm_time(res, spec[field], micro=True)
        elif res.store_key == NAMESPACES:
            spec = obj.get("spec")
            if spec is None:
                spec = obj["spec"] = {}
            if not isinstance(spec, dict):
                raise errors.cannot_handle(res, f"json: cannot unmarshal {go_json_type(spec)} into Go struct field "
                                                "Namespace.spec of type v1.NamespaceSpec")
            status = obj.get("status")
            if status is not None and not isinstance(status, dict):  # (found by hypothesis through /status)
                raise errors.cannot_handle(res, f"json: cannot unmarshal {go_json_type(status)} into Go struct "
                                                "field Namespace.status of type v1.NamespaceStatus")
            _namespace_label(md, str(md.get("name", "")))
            if old is None:
                spec.setdefault("finalizers", ["kubernetes"])
                obj["status"] = {"phase": "Active"}
        elif res.store_key == CRDS:
            self._prepare_crd(res, obj, old)
        elif res.store_key in (admission.POLICIES, admission.BINDINGS):
            if not isinstance(obj.get("spec", {}), dict):
                raise errors.cannot_handle(res, f"json: cannot unmarshal {go_json_type(obj['spec'])} into Go struct "
                                                f"field {res.kind}.spec of type v1.{res.kind}Spec")
            causes = admission.prepare_policy(obj, old) if res.store_key == admission.POLICIES \
                else admission.prepare_binding(obj)
            if causes:
                raise errors.invalid(res, str(md.get("name", "")), causes)
        elif res.store_key == ("", "pods"):
            causes = _pod_causes(obj)
            if causes:
                raise errors.invalid(res, str(md.get("name", "")), causes)
            _default_pod(obj, old)
        elif res.store_key == ("", "services"):
            spec = obj.get("spec")
            if isinstance(spec, dict) and spec.get("type", "ClusterIP") != "ExternalName" and not spec.get("ports") \
                    and spec.get("clusterIP") != "None":
                raise errors.invalid(res, str(md.get("name", "")), [errors.required("spec.ports")])
            self._default_service(obj, old)
        elif res.store_key == ("networking.k8s.io", "ingresses"):
            causes = _ingress_causes(obj)
            if causes:
                raise errors.invalid(res, str(md.get("name", "")), causes)
            if old is None:
                obj["status"] = {"loadBalancer": {}}
        return warnings

    def _default_service(self, obj: Obj, old: Obj | None) -> None:
        """kube's defaulting of a Service (type, affinity, ports) and a ClusterIP from 10.96.0.0/12."""
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        for port in _as_list(spec.get("ports")):
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if "port" in port:
                    port.setdefault("targetPort", port["port"])
        if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
            old_spec = (old or {}).get("spec") or {}
            ip = old_spec.get("clusterIP") or self._allocate_cluster_ip()
            spec["clusterIP"] = ip
            spec["clusterIPs"] = [ip] if ip != "None" else ["None"]
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        if old is None:
            obj["status"] = {"loadBalancer": {}}

    def _allocate_cluster_ip(self) -> str:
        used = {str(((e.obj.get("spec") or {}).get("clusterIP")) or "")
                for e in self.store.buckets[("", "services")].values()}
        while True:
            n = random.randrange(10, 0xFFFFF)
            ip = f"10.{96 + (n >> 16)}.{(n >> 8) & 0xFF}.{n & 0xFF}"
            if ip not in used:
                return ip

    def _prepare_secret(self, res: Resource, obj: Obj, old: Obj | None) -> None:
        name = str(_md(obj).get("name", ""))
        data = obj.get("data")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise errors.cannot_handle(res, f"json: cannot unmarshal {go_json_type(data)} into Go struct field "
                                            "Secret.data of type map[string][]uint8")
        size = 0
        for value in data.values():
            if not isinstance(value, str):
                raise errors.cannot_handle(res, f"json: cannot unmarshal {go_json_type(value)} into Go struct "
                                                "field Secret.data of type []uint8")
            offset = _b64_error(value)
            if offset is not None:
                raise errors.cannot_handle(res, f"illegal base64 data at input byte {offset}")
            size += len(value) * 3 // 4 - value.count("=")
        string_data = obj.pop("stringData", None)
        if string_data:
            if not isinstance(string_data, dict):
                raise errors.cannot_handle(res, "json: cannot unmarshal into Go struct field Secret.stringData "
                                                "of type map[string]string")
            data = dict(data)
            for key, value in string_data.items():
                if not isinstance(value, str):
                    raise errors.cannot_handle(res, f"json: cannot unmarshal {go_json_type(value)} into Go struct "
                                                    "field Secret.stringData of type string")
                raw = value.encode()
                data[key] = base64.b64encode(raw).decode()
            size = sum(len(v) * 3 // 4 - v.count("=") for v in data.values())
        if data:
            obj["data"] = data
        else:
            obj.pop("data", None)
        obj["type"] = obj.get("type") or "Opaque"
        causes: list[FieldCause] = []
        if old is not None and old.get("type", "Opaque") != obj["type"]:
            causes.append(errors.invalid_value("type", obj["type"], "field is immutable"))
        for key in data:
            if not _CONFIG_KEY.fullmatch(key) or key in (".", ".."):
                causes.append(errors.invalid_value(f"data[{key}]", key, CONFIG_KEY_MSG))
        if obj["type"] == "kubernetes.io/tls":
            for key in ("tls.crt", "tls.key"):
                if key not in data:
                    causes.append(errors.required(f"data[{key}]"))
        if size > SECRET_MAX:
            causes.append(errors.too_long("data", SECRET_MAX))
        if old is not None and old.get("immutable"):
            if old.get("data") != obj.get("data"):
                causes.append(errors.forbidden_field("data", "field is immutable when `immutable` is set"))
            if not obj.get("immutable"):
                causes.append(errors.forbidden_field("immutable", "field is immutable when `immutable` is set"))
        if causes:
            raise errors.invalid(res, name, causes)

    def _prepare_configmap(self, res: Resource, obj: Obj) -> None:
        causes: list[FieldCause] = []
        for field in ("data", "binaryData"):
            values = obj.get(field)
            if values is None:
                continue
            if not isinstance(values, dict):
                raise errors.cannot_handle(res, f"json: cannot unmarshal {go_json_type(values)} into Go struct "
                                                f"field ConfigMap.{field}")
            for key in values:
                if not _CONFIG_KEY.fullmatch(key):
                    causes.append(errors.invalid_value(f"{field}[{key}]", key, CONFIG_KEY_MSG))
        if causes:
            raise errors.invalid(res, str(_md(obj).get("name", "")), causes)

    def _prepare_event(self, res: Resource, obj: Obj) -> None:
        v1 = res.group == "events.k8s.io"
        name = str(_md(obj).get("name", ""))
        namespace = str(_md(obj).get("namespace", ""))

        def f(core: str, v1name: str) -> str:
            return v1name if v1 else core

        for field, micro in ((f("firstTimestamp", "deprecatedFirstTimestamp"), False),
                             (f("lastTimestamp", "deprecatedLastTimestamp"), False), ("eventTime", True)):
            if field in obj:
                obj[field] = _norm_time(res, obj[field], micro)
        series = obj.get("series")
        if isinstance(series, dict) and "lastObservedTime" in series:
            series["lastObservedTime"] = _norm_time(res, series["lastObservedTime"], True)
        regarding = obj.get(f("involvedObject", "regarding")) or {}
        if not isinstance(regarding, dict):
            raise errors.cannot_handle(res, "json: cannot unmarshal into Go struct field Event.involvedObject")
        # the fields kube's Go types always print: null times, empty strings, an empty source
        for field, empty in ((f("firstTimestamp", "deprecatedFirstTimestamp"), None),
                             (f("lastTimestamp", "deprecatedLastTimestamp"), None), ("eventTime", None),
                             (f("reportingComponent", "reportingController"), ""), ("reportingInstance", ""),
                             (f("source", "deprecatedSource"), {}), (f("involvedObject", "regarding"), {})):
            obj.setdefault(field, empty)
        causes = _event_causes(obj, namespace, v1)
        if causes:  # kube validates the internal (core) Event: core field names, no group
            err = errors.invalid(res, name, causes, qualified="Event")
            assert err.details is not None
            err.details.pop("group", None)
            raise err

    def _crd_types(self, res: Resource, spec: dict[str, Any]) -> None:
        """Decoding-level type checks of a CRD spec (400, as a Go decoder would fail)."""
        def bad(field: str, value: Any, go_type: str) -> APIError:
            return errors.cannot_handle(res, f"json: cannot unmarshal {go_json_type(value)} into Go struct field "
                                             f"{field} of type {go_type}")

        def check(value: Any, field: str, kind: type, go_type: str) -> None:
            if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
                raise bad(field, value, go_type)

        for field in ("group", "scope"):
            check(spec.get(field), f"CustomResourceDefinitionSpec.spec.{field}", str, "string")
        names = spec.get("names")
        check(names, "CustomResourceDefinitionSpec.spec.names", dict, "v1.CustomResourceDefinitionNames")
        for field in ("plural", "singular", "kind", "listKind"):
            check((names or {}).get(field), f"CustomResourceDefinitionNames.spec.names.{field}", str, "string")
        for field in ("shortNames", "categories"):
            value = (names or {}).get(field)
            check(value, f"CustomResourceDefinitionNames.spec.names.{field}", list, "[]string")
            if value and not all(isinstance(v, str) for v in value):
                raise bad(f"CustomResourceDefinitionNames.spec.names.{field}", value, "[]string")
        versions = spec.get("versions")
        check(versions, "CustomResourceDefinitionSpec.spec.versions", list, "[]v1.CustomResourceDefinitionVersion")
        for ver in versions or []:
            if not isinstance(ver, dict):
                raise bad("CustomResourceDefinitionSpec.spec.versions", ver, "v1.CustomResourceDefinitionVersion")
            check(ver.get("name"), "CustomResourceDefinitionVersion.spec.versions.name", str, "string")
            for field in ("served", "storage"):
                check(ver.get(field), f"CustomResourceDefinitionVersion.spec.versions.{field}", bool, "bool")
            check(ver.get("schema"), "CustomResourceDefinitionVersion.spec.versions.schema", dict,
                  "v1.CustomResourceValidation")
            check((ver.get("schema") or {}).get("openAPIV3Schema"),
                  "CustomResourceValidation.spec.versions.schema.openAPIV3Schema", dict, "v1.JSONSchemaProps")
            check(ver.get("subresources"), "CustomResourceDefinitionVersion.spec.versions.subresources", dict,
                  "v1.CustomResourceSubresources")
            for field, go_type in (("additionalPrinterColumns", "v1.CustomResourceColumnDefinition"),
                                   ("selectableFields", "v1.SelectableField")):
                items = ver.get(field)
                check(items, f"CustomResourceDefinitionVersion.spec.versions.{field}", list, f"[]{go_type}")
                for item in items or []:
                    if not isinstance(item, dict):
                        raise bad(f"CustomResourceDefinitionVersion.spec.versions.{field}", item, go_type)
                    for key in ("name", "type", "format", "description", "jsonPath"):
                        check(item.get(key), f"{go_type[3:]}.spec.versions.{field}.{key}", str, "string")
                    check(item.get("priority"), f"{go_type[3:]}.spec.versions.{field}.priority", int, "int32")

    def _prepare_crd(self, res: Resource, obj: Obj, old: Obj | None) -> None:
        md = _md(obj)
        name = str(md.get("name", ""))
        spec = obj.get("spec")
        causes: list[FieldCause] = []
        if not isinstance(spec, dict):
            raise errors.invalid(res, name, [errors.required("spec")])
        self._crd_types(res, spec)
        group = spec.get("group")
        names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
        assert isinstance(names, dict)
        plural = names.get("plural")
        if not group:
            causes.append(errors.required("spec.group"))
        elif "." not in str(group):
            causes.append(errors.invalid_value("spec.group", group, "should be a domain with at least one dot"))
        if not plural:
            causes.append(errors.required("spec.names.plural"))
        if not names.get("kind"):
            causes.append(errors.required("spec.names.kind"))
        if not names.get("listKind") and names.get("kind"):
            names["listKind"] = f"{names['kind']}List"
        if names.get("kind") and not names.get("singular"):
            names["singular"] = str(names["kind"]).lower()
        if group and plural and name != f"{plural}.{group}":
            causes.append(errors.invalid_value("metadata.name", name,
                                               'must be spec.names.plural+"."+spec.group'))
        scope = spec.get("scope")
        if scope not in ("Namespaced", "Cluster"):
            causes.append(FieldCause("FieldValueNotSupported" if scope else "FieldValueRequired",
                                     f'Unsupported value: "{scope}": supported values: "Cluster", "Namespaced"'
                                     if scope else "Required value", "spec.scope"))
        versions = spec.get("versions")
        if not isinstance(versions, list) or not versions:
            causes.append(FieldCause("FieldValueInvalid", "Invalid value: \"null\": must have exactly one "
                                     "version marked as storage version", "spec.versions"))
            versions = []
        storage = [v for v in versions if isinstance(v, dict) and v.get("storage")]
        if versions and len(storage) != 1:
            causes.append(FieldCause("FieldValueInvalid", f"Invalid value: {_go_list(versions)}: must have "
                                     "exactly one version marked as storage version", "spec.versions"))
        if old is not None:
            old_spec = old.get("spec") or {}
            if old_spec.get("scope") != spec.get("scope"):
                causes.append(errors.invalid_value("spec.scope", scope, "field is immutable"))
            if old_spec.get("group") != group:
                causes.append(errors.invalid_value("spec.group", group, "field is immutable"))
        for i, ver in enumerate(versions):
            if not isinstance(ver, dict):
                continue
            ver.setdefault("served", True)
            if not ver.get("name"):
                causes.append(errors.required(f"spec.versions[{i}].name"))
            sch = (ver.get("schema") or {}).get("openAPIV3Schema")
            if isinstance(sch, dict):
                try:
                    problems = schema.check_structural(sch)
                except (TypeError, AttributeError, ValueError, KeyError) as exc:  # adapter: malformed schema nodes
                    problems = [f"openAPIV3Schema: Invalid value: \"object\": not a structural schema ({exc})"]
                for problem in problems:
                    path, _, message = problem.partition(": ")
                    if not message:
                        path, message = "openAPIV3Schema", problem
                    reason = next((r for prefix, r in _CAUSE_REASONS if message.startswith(prefix)),
                                  "FieldValueInvalid")
                    causes.append(FieldCause(reason, message, f"spec.versions[{i}].schema.{path}"))
        if causes:
            raise errors.invalid(res, name, causes)
        if old is None:
            obj["status"] = {"conditions": [], "acceptedNames": {"plural": "", "kind": ""},
                             "storedVersions": [str(storage[0].get("name"))] if storage else []}
        spec.setdefault("conversion", {"strategy": "None"})

    # ---- consequences of writes

    def _after_write(self, res: Resource, key: Key, old: Obj | None, new: Obj) -> None:
        if res.store_key == CRDS:
            if old is None or old.get("spec") != new.get("spec"):
                self.registry.set_crd(new)
                for listener in self.crd_listeners:
                    listener()
            if old is None:
                self._soon(self._establish_crd, key[1])
            if _md(new).get("deletionTimestamp") and not (old and _md(old).get("deletionTimestamp")):
                self._soon(self._cleanup_crd, key[1])
            return
        md = _md(new)
        refs = md.get("ownerReferences")
        if refs and old is None and all(self.store.by_uid(str(r.get("uid"))) is None for r in refs
                                        if isinstance(r, dict)):
            self._soon(self._gc_orphaned, res.store_key, key, str(md.get("uid", "")))
        if md.get("deletionTimestamp") and not (old and _md(old).get("deletionTimestamp")):
            finalizers = md.get("finalizers") or []
            if "orphan" in finalizers or "foregroundDeletion" in finalizers:
                self._soon(self._gc_owner, str(md.get("uid")))

    def _after_remove(self, res: Resource, key: Key, obj: Obj) -> None:
        md = _md(obj)
        uid = str(md.get("uid", ""))
        if self.store.owner_index.get(uid):
            self._soon(self._gc_dependents, uid)
        for ref in md.get("ownerReferences") or ():
            owner = self.store.by_uid(str(ref.get("uid")))
            if owner is not None and "foregroundDeletion" in (_md(owner).get("finalizers") or ()):
                self._soon(self._gc_owner, str(ref.get("uid")))
        if res.store_key == CRDS:
            self.registry.remove_crd(key[1])
            for listener in self.crd_listeners:
                listener()
            return
        if res.crd_name:
            crd = self.store.get(CRDS, ("", res.crd_name))
            if crd is not None and _md(crd).get("deletionTimestamp") and not self.store.buckets[res.store_key]:
                self._soon(self._finish_crd, res.crd_name)
        if key[0] and self.store.ns_counts.get(key[0], 0) == 0 and self.namespace_phase(key[0]) == "Terminating":
            self._soon(self._finish_namespace, key[0])

    def _internal_update(self, store_key: StoreKey, key: Key, change: Callable[[Obj], None],
                         subresource: str | None = None) -> None:
        res = self.registry.storage_resource(store_key)
        current = self.store.get(store_key, key)
        if res is None or current is None:
            return
        new = thaw(current)
        change(new)
        self._update(res, current, new, subresource=subresource, dry_run=False, field_validation="Ignore")

    def _internal_delete(self, store_key: StoreKey, key: Key) -> None:
        res = self.registry.storage_resource(store_key)
        if res is None or self.store.get(store_key, key) is None:
            return
        self.delete(res, key[0] or None, key[1])

    def _remove_finalizer(self, store_key: StoreKey, key: Key, finalizer: str) -> None:
        def change(obj: Obj) -> None:
            md = obj["metadata"]
            md["finalizers"] = [f for f in md.get("finalizers") or [] if f != finalizer]

        self._internal_update(store_key, key, change)

    def _establish_crd(self, name: str) -> None:
        crd = self.store.get(CRDS, ("", name))
        if crd is None:
            return
        names = dict((crd.get("spec") or {}).get("names") or {})
        stamp = now_time()

        def change(obj: Obj) -> None:
            status = obj.setdefault("status", {})
            status["acceptedNames"] = names
            status["conditions"] = [
                {"type": "NamesAccepted", "status": "True", "lastTransitionTime": stamp, "reason": "NoConflicts",
                 "message": "no conflicts found"},
                {"type": "Established", "status": "True", "lastTransitionTime": stamp,
                 "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
            ]

        self._internal_update(CRDS, ("", name), change, subresource="status")

    def _cleanup_crd(self, name: str) -> None:
        crd = self.store.get(CRDS, ("", name))
        if crd is None:
            return
        stamp = now_time()

        def change(obj: Obj) -> None:
            conditions = [c for c in (obj.get("status") or {}).get("conditions") or []
                          if c.get("type") != "Terminating"]
            conditions.append({"type": "Terminating", "status": "True", "lastTransitionTime": stamp,
                               "reason": "InstanceDeletionInProgress",
                               "message": "CustomResource deletion is in progress"})
            obj.setdefault("status", {})["conditions"] = conditions

        self._internal_update(CRDS, ("", name), change, subresource="status")
        spec = crd.get("spec") or {}
        store_key = (str(spec.get("group", "")), str((spec.get("names") or {}).get("plural", "")))
        keys = list(self.store.buckets[store_key])
        for key in keys:
            self._internal_delete(store_key, key)
        if not self.store.buckets[store_key]:
            self._finish_crd(name)

    def _finish_crd(self, name: str) -> None:
        crd = self.store.get(CRDS, ("", name))
        if crd is None or CRD_FINALIZER not in (_md(crd).get("finalizers") or ()):
            return
        self._remove_finalizer(CRDS, ("", name), CRD_FINALIZER)

    def _cleanup_namespace(self, namespace: str) -> None:
        for store_key in list(self.store.buckets):
            if store_key == NAMESPACES:
                continue
            keys = [k for k in self.store.buckets[store_key] if k[0] == namespace]
            for key in keys:
                with contextlib.suppress(APIError):
                    self._internal_delete(store_key, key)
        self._finish_namespace(namespace)

    def _finish_namespace(self, namespace: str) -> None:
        if self.store.ns_counts.get(namespace, 0) > 0:
            return
        obj = self.store.get(NAMESPACES, ("", namespace))
        if obj is None or not _md(obj).get("deletionTimestamp"):
            return
        if _md(obj).get("finalizers"):
            return
        new = thaw(obj)
        new.setdefault("spec", {})["finalizers"] = []
        rv = self.store.next_rv()
        new["metadata"]["resourceVersion"] = str(rv)
        self.store.remove(NAMESPACES, ("", namespace), new, rv)

    def _gc_dependents(self, owner_uid: str) -> None:
        """Background GC: delete dependents whose owners are all gone."""
        for store_key, key in list(self.store.owner_index.get(owner_uid, ())):
            dep = self.store.get(store_key, key)
            if dep is None or _md(dep).get("deletionTimestamp"):
                continue
            refs = _md(dep).get("ownerReferences") or []
            if all(self.store.by_uid(str(r.get("uid"))) is None for r in refs):
                self._internal_delete(store_key, key)
            else:  # kube's garbage collector patches the dangling reference away
                def drop(obj: Obj) -> None:
                    obj["metadata"]["ownerReferences"] = [
                        r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != owner_uid]

                self._internal_update(store_key, key, drop)

    def _gc_orphaned(self, store_key: StoreKey, key: Key, uid: str) -> None:
        """A dependent created after all its owners were gone is collected too."""
        dep = self.store.get(store_key, key)
        if dep is None or _md(dep).get("uid") != uid or _md(dep).get("deletionTimestamp"):
            return
        refs = _md(dep).get("ownerReferences") or []
        if refs and all(self.store.by_uid(str(r.get("uid"))) is None for r in refs):
            self._internal_delete(store_key, key)

    def _gc_owner(self, owner_uid: str) -> None:
        """Orphan and Foreground processing for an owner being deleted."""
        loc = self.store.uid_index.get(owner_uid)
        if loc is None:
            return
        owner = self.store.get(*loc)
        assert owner is not None
        finalizers = _md(owner).get("finalizers") or []
        deps = list(self.store.owner_index.get(owner_uid, ()))
        if "orphan" in finalizers:
            for store_key, key in deps:
                def strip(obj: Obj) -> None:
                    md = obj["metadata"]
                    refs = [r for r in md.get("ownerReferences") or [] if r.get("uid") != owner_uid]
                    if refs:
                        md["ownerReferences"] = refs
                    else:
                        md.pop("ownerReferences", None)

                self._internal_update(store_key, key, strip)
            self._remove_finalizer(*loc, "orphan")
            return
        if "foregroundDeletion" in finalizers:
            for store_key, key in deps:
                dep = self.store.get(store_key, key)
                if dep is not None and not _md(dep).get("deletionTimestamp"):
                    self._internal_delete(store_key, key)
            blocking = False
            for store_key, key in self.store.owner_index.get(owner_uid, ()):
                dep = self.store.get(store_key, key)
                refs = _md(dep).get("ownerReferences") or [] if dep else []
                if any(r.get("uid") == owner_uid and r.get("blockOwnerDeletion") for r in refs):
                    blocking = True
            if not blocking:
                self._remove_finalizer(*loc, "foregroundDeletion")

    # ---- lists

    def list_entries(self, res: Resource, namespace: str | None, matcher: Callable[[Obj], bool] | None,
                     limit: int | None, continue_token: str | None,
                     ) -> tuple[list[Entry], str, str | None, int | None]:
        """Returns (entries, resourceVersion, continue, remainingItemCount)."""
        ns = namespace if res.namespaced else None
        snapshot = self.store.rv
        start: Key | None = None
        if continue_token:
            bad = next((i for i, ch in enumerate(continue_token) if ch not in _B64URL), None)
            if bad is not None:  # kube decodes the token with Go's base64.RawURLEncoding
                raise errors.bad_request(f"invalid continue token: continue key is not valid: illegal base64 data "
                                         f"at input byte {bad}")
            try:
                raw = json.loads(base64.urlsafe_b64decode(continue_token.encode() + b"==="))
                snapshot = int(raw["rv"])
                start = (str(raw["start"][0]), str(raw["start"][1]))
            except (ValueError, KeyError, TypeError, IndexError, binascii.Error):
                raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                                         "(version meta.k8s.io/v1)") from None
            if snapshot < self.store.floor or snapshot > self.store.rv:
                raise errors.expired("The provided continue parameter is too old to display a consistent list "
                                     "result. You can start a new list without the continue parameter, or use "
                                     "the continue token in this response to retrieve the remainder of the "
                                     "results. Continuing with the provided token results in an inconsistent "
                                     "list - objects that were created, modified, or deleted between the time "
                                     "the first chunk was returned and now may show up in the list.")
        # a continued list reads the snapshot its first page saw, as kube's does
        pairs = self.store.items_at(res.store_key, ns, snapshot) if continue_token else \
            self.store.items(res.store_key, ns)
        if start is not None:
            import bisect

            idx = bisect.bisect_right(pairs, start, key=lambda p: p[0])
            pairs = pairs[idx:]
        out: list[Entry] = []
        cont: str | None = None
        remaining: int | None = None
        last_key: Key = ("", "")
        for i, (key, entry) in enumerate(pairs):
            if matcher is not None and not matcher(self.to_served(res, entry.obj)):
                continue
            if limit and len(out) >= limit:
                cont = base64.urlsafe_b64encode(json.dumps(
                    {"rv": snapshot, "start": list(last_key)}).encode()).decode().rstrip("=")
                if matcher is None:
                    remaining = len(pairs) - i
                break
            out.append(entry)
            last_key = key
        return out, str(snapshot), cont, remaining


_CAUSE_REASONS = (("Required value", "FieldValueRequired"), ("Unsupported value", "FieldValueNotSupported"),
                  ("Forbidden", "FieldValueForbidden"), ("Invalid value", "FieldValueInvalid"))
_META_STRINGS = ("name", "generateName", "namespace", "uid", "resourceVersion", "creationTimestamp",
                 "deletionTimestamp", "selfLink")
_META_INTS = ("generation", "deletionGracePeriodSeconds")
_META_FIELDS = frozenset((*_META_STRINGS, *_META_INTS, "labels", "annotations", "finalizers", "ownerReferences",
                          "managedFields"))
_CORE_EVENT = ("involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count", "type",
               "eventTime", "series", "action", "related", "reportingComponent", "reportingInstance")
_V1_EVENT = ("regarding", "note", "reportingController", "deprecatedSource", "deprecatedFirstTimestamp",
             "deprecatedLastTimestamp", "deprecatedCount", "reason", "type", "eventTime", "series", "action",
             "related", "reportingInstance")
# top-level fields of the built-ins whose unknown fields are pruned (Warn) or rejected (Strict)
_BUILTIN_FIELDS: dict[tuple[str, str], frozenset[str]] = {
    ("", "secrets"): frozenset({"data", "stringData", "type", "immutable"}),
    ("", "configmaps"): frozenset({"data", "binaryData", "immutable"}),
    ("", "serviceaccounts"): frozenset({"secrets", "imagePullSecrets", "automountServiceAccountToken"}),
    ("", "namespaces"): frozenset({"spec", "status"}),
    ("", "events"): frozenset(_CORE_EVENT),
    ("events.k8s.io", "events"): frozenset(_V1_EVENT),
    ("coordination.k8s.io", "leases"): frozenset({"spec"}),
    ("rbac.authorization.k8s.io", "roles"): frozenset({"rules"}),
    ("rbac.authorization.k8s.io", "clusterroles"): frozenset({"rules", "aggregationRule"}),
    ("rbac.authorization.k8s.io", "rolebindings"): frozenset({"subjects", "roleRef"}),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): frozenset({"subjects", "roleRef"}),
    admission.POLICIES: frozenset({"spec", "status"}),
    admission.BINDINGS: frozenset({"spec"}),
}

def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _ingress_causes(obj: Obj) -> list[FieldCause]:
    """networking.k8s.io/v1 Ingress path rules: pathType required and known, a backend per path."""
    causes: list[FieldCause] = []
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return causes
    for i, rule in enumerate(_as_list(spec.get("rules"))):
        http = rule.get("http") if isinstance(rule, dict) else None
        if not isinstance(http, dict):
            continue
        for j, path in enumerate(_as_list(http.get("paths"))):
            if not isinstance(path, dict):
                continue
            field = f"spec.rules[{i}].http.paths[{j}]"
            path_type = path.get("pathType")
            if not path_type:  # kube checks nothing else of a path without pathType
                causes.append(FieldCause("FieldValueRequired", "Required value: pathType must be specified",
                                         f"{field}.pathType"))
                continue
            if path_type not in ("Exact", "Prefix", "ImplementationSpecific"):
                causes.append(FieldCause("FieldValueNotSupported", f'Unsupported value: "{path_type}": supported '
                                         'values: "Exact", "ImplementationSpecific", "Prefix"', f"{field}.pathType"))
            backend = path.get("backend")
            if not isinstance(backend, dict) or not (backend.get("service") or backend.get("resource")):
                causes.append(FieldCause("FieldValueInvalid", "Invalid value: \"\": one backend must be specified",
                                         f"{field}.backend"))
    return causes


def _pod_causes(obj: Obj) -> list[FieldCause]:
    spec = obj.get("spec")
    if not isinstance(spec, dict) or not spec.get("containers"):
        return [errors.required("spec.containers")]
    causes: list[FieldCause] = []
    for i, container in enumerate(_as_list(spec["containers"])):
        if not isinstance(container, dict):
            continue
        for field in ("name", "image"):
            if not container.get(field):
                causes.append(errors.required(f"spec.containers[{i}].{field}"))
    return causes


def _default_pod(obj: Obj, old: Obj | None) -> None:
    """The defaults kube-apiserver fills in a Pod (no kubelet runs it: status stays Pending)."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    for key, value in (("restartPolicy", "Always"), ("dnsPolicy", "ClusterFirst"),
                       ("schedulerName", "default-scheduler"), ("terminationGracePeriodSeconds", 30),
                       ("securityContext", {}), ("enableServiceLinks", True), ("preemptionPolicy",
                                                                                 "PreemptLowerPriority"),
                       ("priority", 0)):
        spec.setdefault(key, value)
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    for group in ("initContainers", "containers"):
        for container in _as_list(spec.get(group)):
            if not isinstance(container, dict):
                continue
            image = str(container.get("image") or "")
            tag = image.rsplit("/", 1)[-1]
            latest = ":" not in tag or tag.endswith(":latest")
            container.setdefault("imagePullPolicy", "Always" if latest and "@" not in image else "IfNotPresent")
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("resources", {})
            for port in _as_list(container.get("ports")):
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")
    if old is None:
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}



_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


def _event_causes(obj: Obj, namespace: str, v1: bool) -> list[FieldCause]:
    """kube's ValidateEventCreate on the internal Event: legacyValidateEvent for every request version, then
    the strict rules of events.k8s.io/v1; field paths are the core ones."""
    def get(core: str, v1name: str) -> Any:
        return obj.get(v1name if v1 else core)

    causes: list[FieldCause] = []
    regarding = get("involvedObject", "regarding") or {}
    regarding_ns = str(regarding.get("namespace") or "")
    mismatch = errors.invalid_value("involvedObject.namespace", regarding_ns, "does not match event.namespace")
    if not obj.get("eventTime"):
        if (not regarding_ns and namespace not in ("", "default")) or (regarding_ns and regarding_ns != namespace):
            causes.append(mismatch)
    else:
        if not regarding_ns and namespace not in ("default", "kube-system"):
            causes.append(mismatch)
        controller_field = "reportingController" if v1 else "reportingComponent"
        controller = str(get("reportingComponent", "reportingController") or "")
        if not controller:
            causes.append(errors.required(controller_field))
        causes.extend(errors.invalid_value(controller_field, controller, problem)
                      for problem in selectors.label_key_problems(controller))
        for field, limit in (("reportingInstance", 128), ("action", 128), ("reason", 128)):
            value = str(obj.get(field) or "")
            if not value:
                causes.append(errors.required(field))
            if len(value.encode()) > limit:
                causes.append(errors.invalid_value(field, "", f"can have at most {limit} characters"))
        if len(str(get("message", "note") or "").encode()) > 1024:
            causes.append(errors.invalid_value("message", "", "can have at most 1024 characters"))
    if not v1:
        return causes
    series = obj.get("series")
    if isinstance(series, dict):
        if int(series.get("count") or 0) < 2:
            causes.append(errors.invalid_value("series.count", "", "should be at least 2"))
        if not series.get("lastObservedTime"):
            causes.append(errors.required("series.lastObservedTime"))
    if not obj.get("eventTime"):
        causes.append(errors.required("eventTime"))
    if obj.get("type") not in ("Normal", "Warning"):
        causes.append(errors.invalid_value("type", "", f"has invalid value: {obj.get('type') or ''}"))
    for core, v1name in (("firstTimestamp", "deprecatedFirstTimestamp"), ("lastTimestamp", "deprecatedLastTimestamp"),
                         ("count", "deprecatedCount")):
        if obj.get(v1name):
            causes.append(errors.invalid_value(core, "", "needs to be unset"))
    source = obj.get("deprecatedSource") or {}
    if isinstance(source, dict) and (source.get("component") or source.get("host")):
        causes.append(errors.invalid_value("source", "", "needs to be unset"))
    return causes


def _label_causes(labels: dict[str, Any]) -> list[FieldCause]:
    """kube's ValidateLabels: per label, the key's problems (one cause, joined) and then the value's."""
    causes: list[FieldCause] = []
    for key, value in labels.items():
        problems = selectors.label_key_problems(key)
        if problems:
            causes.append(errors.invalid_value("metadata.labels", key, "; ".join(problems)))
        if len(value.encode()) > 63:
            causes.append(errors.invalid_value("metadata.labels", value, "must be no more than 63 bytes"))
        if value and not _QUALIFIED.fullmatch(value):
            causes.append(errors.invalid_value("metadata.labels", value, _LABEL_VALUE_MSG))
    return causes


def _namespace_label(md: dict[str, Any], name: str) -> None:
    """kube labels every Namespace with its name (kubernetes.io/metadata.name), on create and update."""
    labels = md.get("labels")
    if labels is None or isinstance(labels, dict):
        md["labels"] = {**(labels or {}), "kubernetes.io/metadata.name": name}


def _storage_key(res: Resource, obj: Obj) -> str:
    """The etcd key kube-apiserver stores an object under (quoted in its storage errors)."""
    md = _md(obj)
    where = "/".join(str(p) for p in (md.get("namespace"), md.get("name")) if p)
    prefix = res.plural if res.builtin else f"{res.group}/{res.plural}"
    if res.store_key == ("", "services"):
        prefix = "services/specs"
    return f"/registry/{prefix}/{where}"


def _go_list(versions: list[Any]) -> str:
    return "[]apiextensions.CustomResourceDefinitionVersion{...}" if versions else "null"
