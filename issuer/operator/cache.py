"""The operator's in-memory view of the cluster: the watched objects by kind, with the few secondary
indexes the controllers need, so a reconcile reads memory, not the API server.

Fed by the watch events kopf delivers and by the objects our own writes return (write-through), so a
controller sees its own changes before their watch events come back. Older versions never replace newer
ones (resourceVersions compared as numbers when they are numbers, as etcd's are).
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from issuer.api import constants as c

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace or "", name)

CERTIFICATE = c.CERTIFICATE
CERTIFICATE_REQUEST = c.CERTIFICATE_REQUEST
ISSUER = c.ISSUER
CLUSTER_ISSUER = c.CLUSTER_ISSUER
ORDER = c.ORDER
CHALLENGE = c.CHALLENGE
SECRET = "Secret"
INGRESS = "Ingress"
POD = "Pod"
SERVICE = "Service"


_KEEP_MANAGED_FIELDS_OF = "cert-manager-certificates-issuing"  # the post-issuance checks read only ours
_SHORT = 64


def compact(value: Any) -> Any:
    """A copy that costs less memory: dict keys and short strings interned (the same few hundred keys and
    values repeat in every object), and managedFields other than ours dropped. With 10,000 Certificates,
    their requests and Secrets in the cache this saves about a third of the operator's memory."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            kept = item
            if key == "managedFields" and isinstance(item, list):
                kept = [e for e in item if isinstance(e, dict) and e.get("manager") == _KEEP_MANAGED_FIELDS_OF]
                if not kept:
                    continue
            out[sys.intern(key) if isinstance(key, str) else key] = compact(kept)
        return out
    if isinstance(value, list):
        return [compact(item) for item in value]
    if isinstance(value, str) and len(value) <= _SHORT:
        return sys.intern(value)
    return value


def key_of(obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "", meta.get("name") or "")


def _rv(obj: Mapping[str, Any]) -> int | None:
    raw = (obj.get("metadata") or {}).get("resourceVersion")
    return int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdigit() else None


class Cache:
    """Objects by kind and (namespace, name), plus indexes by owner uid, Secret name and issuer."""

    def __init__(self) -> None:
        self._objects: dict[str, dict[Key, Obj]] = collections.defaultdict(dict)
        self._owned: dict[str, set[tuple[str, Key]]] = collections.defaultdict(set)  # owner uid -> (kind, key)
        self._certs_by_secret: dict[Key, set[str]] = collections.defaultdict(set)  # (ns, secretName) -> names
        self._by_issuer: dict[tuple[str, str, str], set[tuple[str, Key]]] = collections.defaultdict(set)

    # -- writes ---------------------------------------------------------------------------------------
    def upsert(self, kind: str, obj: Obj) -> bool:
        """Store `obj` unless a newer version is known; True when it changed what is stored."""
        key = key_of(obj)
        store = self._objects[kind]
        old = store.get(key)
        if old is not None:
            old_rv, new_rv = _rv(old), _rv(obj)
            if old_rv is not None and new_rv is not None and new_rv <= old_rv:
                return False
            self._unindex(kind, key, old)
        obj = compact(obj)
        store[key] = obj
        self._index(kind, key, obj)
        return True

    def delete(self, kind: str, obj: Mapping[str, Any]) -> Obj | None:
        """Forget the object. A deletion naming another uid than the cached object's is a late event of an
        earlier object of the same name (kopf runs each object's events on its own, so a request replacing a
        failed one of the same name can be cached before the old one's DELETED arrives): the newer stays."""
        key = key_of(obj)
        store = self._objects[kind]
        old = store.get(key)
        if old is None:
            return None
        uid = (obj.get("metadata") or {}).get("uid")
        if uid and uid != (old.get("metadata") or {}).get("uid"):
            return None
        del store[key]
        self._unindex(kind, key, old)
        return old

    # -- reads ----------------------------------------------------------------------------------------
    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        return self._objects[kind].get((namespace, name))

    def all(self, kind: str, namespace: str | None = None) -> Iterator[Obj]:
        for (ns, _), obj in list(self._objects[kind].items()):
            if namespace is None or ns == namespace:
                yield obj

    def count(self, kind: str) -> int:
        return len(self._objects[kind])

    def owned_by(self, uid: str, kind: str) -> list[Obj]:
        """Objects of `kind` with an ownerReference to `uid`."""
        out = []
        for owned_kind, key in list(self._owned.get(uid, ())):
            if owned_kind == kind:
                obj = self._objects[kind].get(key)
                if obj is not None:
                    out.append(obj)
        return out

    def certificates_for_secret(self, namespace: str, secret_name: str) -> list[Obj]:
        names = sorted(self._certs_by_secret.get((namespace, secret_name), ()))
        return [o for n in names if (o := self.get(CERTIFICATE, namespace, n)) is not None]

    def referencing_issuer(self, kind: str, issuer_kind: str, namespace: str, name: str) -> list[Key]:
        """Keys of Certificates or CertificateRequests whose issuerRef names this issuer."""
        ns = "" if issuer_kind == CLUSTER_ISSUER else namespace
        return [key for k, key in self._by_issuer.get((issuer_kind, ns, name), ()) if k == kind]

    # -- indexes --------------------------------------------------------------------------------------
    def _entries(self, kind: str, key: Key, obj: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
        meta = obj.get("metadata") or {}
        for ref in meta.get("ownerReferences") or ():
            uid = ref.get("uid") if isinstance(ref, dict) else None
            if isinstance(uid, str):
                yield ("owner", uid)
        spec = obj.get("spec") or {}
        if kind == CERTIFICATE and isinstance(spec.get("secretName"), str):
            yield ("secret", (key[0], spec["secretName"]))
        if kind in (CERTIFICATE, CERTIFICATE_REQUEST):
            ref = spec.get("issuerRef") or {}
            if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                issuer_kind = ref.get("kind") or ISSUER
                ns = "" if issuer_kind == CLUSTER_ISSUER else key[0]
                yield ("issuer", (issuer_kind, ns, ref["name"]))

    def _index(self, kind: str, key: Key, obj: Mapping[str, Any]) -> None:
        for what, value in self._entries(kind, key, obj):
            if what == "owner":
                self._owned[value].add((kind, key))
            elif what == "secret":
                self._certs_by_secret[value].add(key[1])
            else:
                self._by_issuer[value].add((kind, key))

    def _unindex(self, kind: str, key: Key, obj: Mapping[str, Any]) -> None:
        for what, value in self._entries(kind, key, obj):
            if what == "owner":
                bucket: set[Any] = self._owned.get(value, set())
                bucket.discard((kind, key))
                if not bucket:
                    self._owned.pop(value, None)
            elif what == "secret":
                names = self._certs_by_secret.get(value, set())
                names.discard(key[1])
                if not names:
                    self._certs_by_secret.pop(value, None)
            else:
                refs = self._by_issuer.get(value, set())
                refs.discard((kind, key))
                if not refs:
                    self._by_issuer.pop(value, None)
