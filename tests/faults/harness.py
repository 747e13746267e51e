"""Helpers of the fault tier: clusters with server knobs and operator flags, a recorder of what the API
server did, a CA issuer, an external signer played by the test, the invariants every fault class ends with,
and the session-wide record (private keys seen, operator logs, Event messages) that
tests/faults/test_security.py judges (the API verbs the operator used are in tests/rbac.py's USE, kept for
every tier).

Built on tests/controller/conftest.py (Cluster, Operator, Api, wait helpers), on both of its backends: a
`FaultCluster` is a `Cluster` ("embedded" or "real") whose API server takes knobs (`history_window`: the
embedded server's own, an `EtcdCompactor` on the real one) and whose operator takes flags
(`--backoff-min 2s --backoff-max 8s` by default, so back-off schedules show in seconds). `fault_cluster`
starts a `Recorder` before the operator: it watches Secrets and CertificateRequests from then on, the same
way on both backends, for the invariants over the whole run (one CertificateRequest per revision) and for
every private key the operator ever wrote (temporary keys live a moment).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import http.client
import json
import pathlib
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from issuer.testing.server import ServerThread
from tests import rbac, realkube
from tests.controller import expect
from tests.controller.conftest import Api, ApiError, Cluster, Operator, condition, fresh_name
from tests.faultproxy import FaultProxy
from tests.tools import openssl_verify, require

BACKOFF_MIN = 2.0
BACKOFF_MAX = 8.0
BACKOFF_ARGS = ("--backoff-min", f"{BACKOFF_MIN:g}s", "--backoff-max", f"{BACKOFF_MAX:g}s")
NEXT_KEY_LABEL = "cert-manager.io/next-private-key"
BAD_GROUP = "example.com"
BAD_REF = {"name": "bad", "kind": "BadIssuer", "group": BAD_GROUP}
OPERATOR_AGENTS = rbac.OPERATOR_AGENTS
WRITE_VERBS = ("create", "update", "patch", "delete")


# -- the session record -------------------------------------------------------------------------------------
@dataclasses.dataclass
class Record:
    """What every fault cluster saw, kept for the security checks at the end of the tier."""

    private_keys: dict[bytes, str] = dataclasses.field(default_factory=dict)  # DER -> where it was seen
    logs: list[pathlib.Path] = dataclasses.field(default_factory=list)
    events: list[str] = dataclasses.field(default_factory=list)
    clusters: int = 0


RECORD = Record()


def private_key_ders(data: bytes) -> list[bytes]:
    """Every PEM private key in `data` as PKCS#8 DER (the form the operator might print in any encoding)."""
    out: list[bytes] = []
    text = data.decode("ascii", errors="replace")
    start = 0
    while True:
        begin = text.find("-----BEGIN", start)
        if begin < 0:
            return out
        end = text.find("-----END", begin)
        stop = text.find("-----", end + 8)
        if end < 0 or stop < 0:
            return out
        block = text[begin:stop + 5]
        start = stop + 5
        if "PRIVATE KEY" not in block.split("\n", 1)[0]:
            continue
        try:
            key = serialization.load_pem_private_key(block.encode(), password=None)
        except (ValueError, TypeError):
            continue
        out.append(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
        with contextlib.suppress(ValueError, TypeError):
            out.append(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                                         serialization.NoEncryption()))


def remember_secret(obj: dict[str, Any], where: str) -> None:
    for value in (obj.get("data") or {}).values():
        try:
            raw = base64.b64decode(value or "")
        except ValueError:
            continue
        for der in private_key_ders(raw):
            RECORD.private_keys.setdefault(der, where)


def harvest(c: FaultCluster) -> None:
    """Fold one cluster's request log, Secrets (every version its recorder saw: temporary keys live a
    moment), Events and operator log into RECORD."""
    RECORD.clusters += 1
    rbac.USE.fold(c.server)
    seen: list[dict[str, Any]] = []
    if c.recorder is not None:
        c.recorder.wait_synced(5.0)
        seen += c.recorder.objects("secrets")
    with contextlib.suppress(Exception):
        seen += c.api.list("secrets")
    for obj in seen:
        meta = obj.get("metadata") or {}
        remember_secret(obj, f"Secret {meta.get('namespace')}/{meta.get('name')}")
    with contextlib.suppress(Exception):
        for ev in c.api.list("events"):
            RECORD.events.append(f"{ev.get('reason')}: {ev.get('message')}")
    RECORD.logs.append(c.operator.log_path)


# -- what the API server did: a recorder watching from the start -----------------------------------------------
@dataclasses.dataclass(frozen=True)
class Change:
    """One change the recorder saw: `type` ADDED, MODIFIED or DELETED, of a `resource` (plural), the object."""

    type: str
    resource: str
    obj: dict[str, Any]


ObjectKey = tuple[str, str]  # (namespace, name)


class Recorder:
    """Every change of `resources` (cluster-wide) from the moment it starts, on either backend: one daemon
    thread per resource with its own admin client lists it, then watches from the list's resourceVersion
    (with bookmarks), resuming from the last version seen when a stream ends, and re-listing when the
    server answers 410 Gone. A re-list turns the difference between what it knew and the new list into
    ADDED / MODIFIED / DELETED changes, so after a 410 the versions in between are missed (as a client
    would miss them): `gone` counts those re-lists. Objects there at the start are recorded as ADDED.

    It talks to the API server as the tests do: straight to the real server (not through the fault proxy,
    whose rules are the operator's), but on the embedded server through the same fault rules, whose
    dropped streams and refused connections it resumes from (a `drop_after` rule without `times` cuts its
    watches as well; rules counted by `hits` are counted for its watches too)."""

    RESOURCES = ("secrets", "certificaterequests")
    READ_TIMEOUT = 90.0  # no line for this long (bookmarks come every minute): resume the watch

    def __init__(self, c: Cluster, resources: tuple[str, ...] = RESOURCES) -> None:
        self.cluster = c
        self.resources = resources
        self.changes: list[Change] = []
        self.gone = 0
        self.errors: list[str] = []
        self._known: dict[str, dict[ObjectKey, dict[str, Any]]] = {r: {} for r in resources}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._socks: dict[str, socket.socket] = {}
        self._version: dict[str, str] = {}  # where each resource's watch goes on from

    def start(self) -> Recorder:
        """Lists every resource before returning (what exists now is known), then watches in the background."""
        with contextlib.closing(self.cluster.new_api()) as api:
            for resource in self.resources:
                self._relist(api, resource, initial=True)
        for resource in self.resources:
            thread = threading.Thread(target=self._run, args=(resource,),
                                      name=f"recorder-{resource}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            socks = list(self._socks.values())
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(10)

    def of(self, resource: str) -> list[Change]:
        with self._lock:
            return [ch for ch in self.changes if ch.resource == resource]

    def objects(self, resource: str) -> list[dict[str, Any]]:
        """Every version of every object of `resource` seen so far, the ones alive now included."""
        with self._lock:
            return [ch.obj for ch in self.changes if ch.resource == resource] + list(self._known[resource].values())

    def wait_synced(self, timeout: float = 15.0) -> bool:
        """Until the recorder has caught up with a fresh list of every resource: its watch went past the list's
        resourceVersion, or (nothing of that resource changed since) it knows exactly the listed versions.
        Changes made before this call are then recorded. False when it did not catch up in time."""
        deadline = time.monotonic() + timeout
        with contextlib.closing(self.cluster.new_api()) as api:
            while True:
                with contextlib.suppress(Exception):
                    if all(self._caught_up(resource, api._do("GET", api.path(resource)))
                           for resource in self.resources):
                        return True
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.1)

    def _caught_up(self, resource: str, listed: dict[str, Any]) -> bool:
        with self._lock:
            seen = self._version.get(resource, "")
            known = {key: _rv(obj) for key, obj in self._known[resource].items()}
        version = str((listed.get("metadata") or {}).get("resourceVersion") or "")
        if seen.isdigit() and version.isdigit() and int(seen) >= int(version):
            return True
        return known == {_key(o): _rv(o) for o in listed.get("items") or []}

    def _record(self, resource: str, type_: str, obj: dict[str, Any]) -> None:
        with self._lock:
            known = self._known[resource]
            if type_ == "DELETED":
                known.pop(_key(obj), None)
            else:
                known[_key(obj)] = obj
            self.changes.append(Change(type_, resource, obj))

    def _relist(self, api: Api, resource: str, initial: bool = False) -> None:
        """List `resource`, record the difference to what was known, and go on from the list's version."""
        deadline = time.monotonic() + 30
        while True:
            try:
                body = api._do("GET", api.path(resource))
                break
            except ApiError as err:  # 429 "storage is (re)initializing": a CRD just established on the real server
                if (err.status != 429 and err.status < 500) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        items = {_key(o): o for o in body.get("items") or []}
        with self._lock:
            known = dict(self._known[resource])
        for key, old in known.items():
            new = items.get(key)
            if new is None or (old.get("metadata") or {}).get("uid") != (new.get("metadata") or {}).get("uid"):
                self._record(resource, "DELETED", old)
        for key, new in items.items():
            old = known.get(key)
            if old is None or (old.get("metadata") or {}).get("uid") != new["metadata"].get("uid"):
                self._record(resource, "ADDED", new)
            elif _rv(old) != _rv(new):
                self._record(resource, "MODIFIED", new)
        if not initial:
            self.gone += 1
        self._version[resource] = str((body.get("metadata") or {}).get("resourceVersion") or "")

    def _run(self, resource: str) -> None:
        with contextlib.closing(self.cluster.new_api()) as api:
            while not self._stop.is_set():
                try:
                    self._watch(api, resource)
                except Exception as err:  # a refused connection, a dropped stream: resume after a moment
                    if self._stop.is_set():
                        return
                    self.errors.append(f"{resource}: {err!r}")
                    self._stop.wait(0.2)

    def _connection(self) -> http.client.HTTPConnection:
        url = urllib.parse.urlsplit(self.cluster.api.url)
        session = self.cluster.api.session
        if url.scheme == "http":
            return http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
        context = ssl.create_default_context(cafile=session.verify if isinstance(session.verify, str) else None)
        if session.cert:
            cert = session.cert
            context.load_cert_chain(*(cert if isinstance(cert, tuple) else (cert,)))
        return http.client.HTTPSConnection(url.hostname or "", url.port, timeout=10, context=context)

    def _watch(self, api: Api, resource: str) -> None:
        """One watch stream from the last version seen (after a 410: a fresh list, and the list's version)."""
        query = urllib.parse.urlencode({"watch": "true", "resourceVersion": self._version[resource],
                                        "allowWatchBookmarks": "true"})
        conn = self._connection()
        try:
            conn.request("GET", f"{urllib.parse.urlsplit(api.path(resource)).path}?{query}",
                         headers={"Accept": "application/json", "User-Agent": "fault-recorder"})
            assert conn.sock is not None
            conn.sock.settimeout(self.READ_TIMEOUT)
            with self._lock:
                self._socks[resource] = conn.sock
            if self._stop.is_set():
                return
            resp = conn.getresponse()
            if resp.status == 410:
                self._relist(api, resource)
                return
            if resp.status != 200:
                raise RuntimeError(f"watch {resource}: HTTP {resp.status}: {resp.read()[:300]!r}")
            while not self._stop.is_set():
                line = resp.readline()
                if not line:
                    return  # the stream ended: resume from the last version seen
                if not line.strip():
                    continue
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    if obj.get("code") == 410:
                        self._relist(api, resource)
                        return
                    raise RuntimeError(f"watch {resource}: {obj.get('message')}")
                if event.get("type") != "BOOKMARK":
                    self._record(resource, event["type"], obj)
                self._version[resource] = _rv(obj) or self._version[resource]
        finally:
            with self._lock:
                self._socks.pop(resource, None)
            conn.close()


def _key(obj: dict[str, Any]) -> ObjectKey:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "", meta.get("name") or ""


def _rv(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


# -- clusters -----------------------------------------------------------------------------------------------
class EtcdCompactor:
    """The real server's `history_window`: a thread compacting etcd (through its HTTP gateway) to its current
    revision less `window`, every `period` seconds, so that a watch resumed from an older resourceVersion
    is answered 410 Gone, as the embedded server answers a version that fell out of its history window.
    The API server must run without its watch cache (`--watch-cache=false`), which would otherwise serve
    watches from its own buffer of at least 75 s of events (its size is not configurable:
    `--watch-cache-sizes` only turns it off per built-in resource)."""

    APISERVER_ARGS = ("--watch-cache=false",)

    def __init__(self, etcd_url: str, window: int, period: float = 0.05) -> None:
        self.etcd_url = etcd_url.rstrip("/")
        self.window = window
        self.period = period
        self.compactions = 0
        self.errors: list[str] = []
        self._session = requests.Session()
        self._session.trust_env = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="etcd-compactor", daemon=True)

    def start(self) -> EtcdCompactor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._session.close()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = self._session.post(f"{self.etcd_url}{path}", json=body, timeout=5)
        answer: dict[str, Any] = resp.json()
        if resp.status_code != 200:
            raise RuntimeError(f"etcd {path}: HTTP {resp.status_code}: {answer}")
        return answer

    def _run(self) -> None:
        done = 0
        while not self._stop.wait(self.period):
            try:
                revision = int(self._post("/v3/maintenance/status", {})["header"]["revision"])
                target = revision - self.window
                if target > done:
                    self._post("/v3/kv/compaction", {"revision": str(target)})
                    done = target
                    self.compactions += 1
            except Exception as err:  # e.g. "required revision has been compacted" by the API server's own
                self.errors.append(repr(err))


class FaultCluster(Cluster):
    """A Cluster (`backend` "embedded" or "real") whose server takes knobs, whose operator takes extra flags,
    and whose Secrets and CertificateRequests a `Recorder` follows from before the operator starts
    (`fault_cluster` starts it).

    Knobs: the embedded server's own keyword arguments (`history_window`, `bookmark_period`, ...); on the
    real server only `history_window`, played by an `EtcdCompactor` with the watch cache off."""

    recorder: Recorder | None = None
    compactor: EtcdCompactor | None = None

    def __init__(self, tmp: pathlib.Path, backend: str = "embedded", operator_args: tuple[str, ...] = BACKOFF_ARGS,
                 **server_kwargs: Any) -> None:
        if not server_kwargs:
            super().__init__(tmp, backend, *operator_args)
        elif backend == "embedded":
            self._start_embedded(tmp, operator_args, server_kwargs)
        else:
            self._start_real(tmp, operator_args, server_kwargs)

    # Cluster.__init__ with the knobs (it takes none): the same steps, kept in step with tests/controller/conftest.py
    def _start_embedded(self, tmp: pathlib.Path, operator_args: tuple[str, ...], knobs: dict[str, Any]) -> None:
        self.tmp, self.backend, self.plane, self.proxy = tmp, "embedded", None, None
        self._kubectl = require("kubectl")
        self._server = ServerThread(port=0, kubeconfig=tmp / "kubeconfig", **knobs)
        self._server.start()
        rbac.USE.track(self._server)
        self.kubeconfig = self._server.kubeconfig_path
        self.api = Api(self._server.url)
        self.operator_kubeconfig = self.kubeconfig
        self.operator = Operator(self.operator_kubeconfig, tmp / "operator.log", *operator_args)

    def _start_real(self, tmp: pathlib.Path, operator_args: tuple[str, ...], knobs: dict[str, Any]) -> None:
        unknown = set(knobs) - {"history_window"}
        if unknown:
            pytest.fail(f"server knobs {sorted(unknown)} have no equivalent on the real API server")
        self.tmp, self.backend, self._server = tmp, "real", None
        self._kubectl = require("kubectl")
        self.plane = realkube.ControlPlane(tmp / "controlplane", extra_apiserver_args=EtcdCompactor.APISERVER_ARGS)
        pki = self.plane.folder / "pki"
        try:
            self.plane.start()
            self.proxy = FaultProxy(self.plane.url, self.plane.ca_file, pki / "serving.crt",
                                    pki / "serving.key").start()
            self.compactor = EtcdCompactor(self.plane.etcd_url, int(knobs["history_window"])).start()
        except BaseException:
            if self.proxy is not None:
                self.proxy.stop()
            self.plane.stop()
            raise
        rbac.USE.track_plane(self.plane)
        self.kubeconfig = self.plane.admin_kubeconfig
        self.api = Api(self.plane.url, cert=(str(pki / "admin.crt"), str(pki / "admin.key")),
                       verify=str(self.plane.ca_file))
        self.operator_kubeconfig = self.kubeconfig  # until install() has made the ServiceAccount
        self.operator = Operator(self.operator_kubeconfig, tmp / "operator.log", *operator_args)

    def close(self) -> None:
        try:
            if self.recorder is not None:
                self.recorder.stop()
            if self.compactor is not None:
                self.compactor.stop()
        finally:
            super().close()

    def namespace(self) -> str:
        name = fresh_name("ns")
        self.ensure_namespace(name)
        return name

    def operator_requests(self, since: float, verb: str | None = None, path_part: str = "") -> list[Any]:
        return [r for r in self.server.request_log.since(since)
                if r.user_agent.startswith(OPERATOR_AGENTS) and (verb is None or r.verb == verb)
                and path_part in r.path]


@contextlib.contextmanager
def fault_cluster(tmp: pathlib.Path, backend: str = "embedded", *operator_args: str,
                  **server_kwargs: Any) -> Iterator[FaultCluster]:
    c = FaultCluster(tmp, backend, tuple(operator_args) or BACKOFF_ARGS, **server_kwargs)
    try:
        c.install()
        c.recorder = Recorder(c).start()
        c.operator.start()
        c.operator.wait_started()
        yield c
    finally:
        try:
            c.server.faults.clear()
            harvest(c)
        finally:
            c.close()


# -- objects --------------------------------------------------------------------------------------------------
def ca_issuer(c: Cluster, ns: str, name: str = "ca") -> bytes:
    """A CA Issuer (intermediate CA of the test PKI) in `ns`, Ready; returns the root PEM for openssl."""
    pki = expect.ca_material()
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{name}-key", "namespace": ns},
              "type": "kubernetes.io/tls",
              "data": {"tls.crt": base64.b64encode(pki["intermediate.crt"] + pki["root.crt"]).decode(),
                       "tls.key": base64.b64encode(pki["intermediate.key"]).decode()}}
    c.api.create(secret)
    c.api.create({"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": name, "namespace": ns},
                  "spec": {"ca": {"secretName": f"{name}-key"}}})
    c.wait_ready(name, ns, kind="Issuer")
    return pki["root.crt"]


def certificate(name: str, ns: str, ref: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"secretName": f"{name}-tls", "dnsNames": [f"{name}.{ns}.example.com"],
                            "issuerRef": ref or {"name": "ca", "kind": "Issuer"},
                            "privateKey": {"algorithm": "ECDSA", "size": 256}}
    body.update(spec)
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": name, "namespace": ns},
            "spec": body}


def decoded(secret: dict[str, Any]) -> dict[str, bytes]:
    return {k: base64.b64decode(v or "") for k, v in (secret.get("data") or {}).items()}


def public_der(obj: Any) -> bytes:
    out: bytes = obj.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return out


def assert_issued(c: Cluster, ns: str, name: str, root_pem: bytes) -> x509.Certificate:
    """The Certificate's Secret holds a chain `openssl verify` accepts, a key matching the leaf, and every
    requested DNS name."""
    crt = c.must_get("Certificate", name, ns)
    secret = c.must_get("Secret", crt["spec"]["secretName"], ns)
    remember_secret(secret, f"Secret {ns}/{crt['spec']['secretName']}")
    data = decoded(secret)
    chain = x509.load_pem_x509_certificates(data["tls.crt"])
    leaf = chain[0]
    untrusted = b"".join(x.public_bytes(serialization.Encoding.PEM) for x in chain[1:])
    openssl_verify(leaf.public_bytes(serialization.Encoding.PEM), root_pem, untrusted)
    key = serialization.load_pem_private_key(data["tls.key"], password=None)
    assert public_der(key.public_key()) == public_der(leaf.public_key()), f"{ns}/{name}: key does not match"
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(crt["spec"].get("dnsNames") or []) <= set(san.get_values_for_type(x509.DNSName))
    return leaf


def request_history(c: FaultCluster, ns: str) -> list[tuple[str, str, int, str]]:
    """(change type, certificate name, revision, uid) of every CertificateRequest change in `ns` the cluster's
    recorder saw, once it has caught up with the server."""
    assert c.recorder is not None, "a FaultCluster of fault_cluster() has a recorder"
    if not c.recorder.wait_synced():
        pytest.fail(f"the recorder did not catch up with the server: {c.recorder.errors[-5:]}")
    out = []
    for change in c.recorder.of("certificaterequests"):
        meta = change.obj.get("metadata") or {}
        if meta.get("namespace") != ns:
            continue
        ann = meta.get("annotations") or {}
        out.append((change.type, ann.get("cert-manager.io/certificate-name", ""),
                    int(ann.get("cert-manager.io/certificate-revision", "0") or 0), meta.get("uid", "")))
    return out


def assert_requests_per_revision(c: FaultCluster, ns: str, *, exactly_once: bool) -> dict[tuple[str, int], int]:
    """Never two CertificateRequests of one Certificate and revision at the same time (checked over the
    cluster's recorder); with `exactly_once`, never more than one over the whole run either. Returns how many
    requests each (certificate, revision) had."""
    alive: dict[tuple[str, int], set[str]] = {}
    made: dict[tuple[str, int], set[str]] = {}
    for type_, cert, rev, uid in request_history(c, ns):
        key = (cert, rev)
        if type_ == "ADDED":
            alive.setdefault(key, set()).add(uid)
            made.setdefault(key, set()).add(uid)
            assert len(alive[key]) <= 1, f"two CertificateRequests alive for {key}: {alive[key]}"
        elif type_ == "DELETED":
            alive.get(key, set()).discard(uid)
    if exactly_once:
        many = {k: v for k, v in made.items() if len(v) > 1}
        assert not many, f"revisions with more than one CertificateRequest over the run: {many}"
    return {k: len(v) for k, v in made.items()}


def assert_no_temporary_keys(c: Cluster, ns: str, timeout: float = 10.0) -> None:
    """No temporary key Secret is left behind: the status is written before the finished issuance's key is
    deleted (a crash in between must not lose the revision), and a deletion that met a fault is retried,
    so a key may outlive Ready by a moment, never for good."""
    deadline = time.monotonic() + timeout
    while True:
        left = [s["metadata"]["name"] for s in c.list("Secret", ns, f"{NEXT_KEY_LABEL}=true")]
        if not left:
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    owners = [(s["metadata"]["name"], [r.get("name") for r in s["metadata"].get("ownerReferences") or []])
              for s in c.list("Secret", ns, f"{NEXT_KEY_LABEL}=true")]
    pytest.fail(f"temporary key Secrets left behind in {ns} after {timeout}s: {owners}\n"
                f"{c.operator.log_tail(3000)}")


def ready_at(c: Cluster, ns: str, names: list[str], revision: int, timeout: float) -> None:
    """Until every one of `names` is Ready at `revision` or later; fails describing the first one that is not."""
    def laggard() -> str | None:
        for name in names:
            obj = c.get("Certificate", name, ns)
            ready = condition(obj, "Ready")
            status = (obj or {}).get("status") or {}
            if ready is None or ready.get("status") != "True" or (status.get("revision") or 0) < revision:
                return name
        return None

    deadline = time.monotonic() + timeout
    while (name := laggard()) is not None:
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {len(names)} Certificates Ready at revision "
                        f"{revision}:\n{describe(c, ns, name)}\noperator log tail:\n{c.operator.log_tail()}")
        if not c.operator.alive() and c.operator.proc is not None:
            pytest.fail(f"the operator died:\n{c.operator.log_tail()}")
        time.sleep(0.2)


def describe(c: Cluster, ns: str, name: str) -> str:
    """One Certificate's status, its requests and the temporary keys, for a failure message."""
    obj = c.get("Certificate", name, ns) or {}
    lines = [f"Certificate {ns}/{name}: {obj.get('status')}"]
    for cr in c.requests_of(name, ns):
        lines.append(f"  request {cr['metadata']['name']} uid={cr['metadata']['uid']} "
                     f"key={cr['metadata']['annotations'].get('cert-manager.io/private-key-secret-name')} "
                     f"conditions={(cr.get('status') or {}).get('conditions')}")
    lines.append(f"  temporary keys: {[s['metadata']['name'] for s in c.next_key_secrets(ns)]}")
    return "\n".join(lines)


def add_foreign_data(c: Cluster, ns: str, secret_name: str) -> dict[str, Any]:
    """What "another writer" puts on a Secret (a data key, a label, an annotation), which must survive."""
    patch = {"metadata": {"labels": {"team.example.com/owner": "payments"},
                          "annotations": {"backup.example.com/policy": "daily"}},
             "data": {"extra.txt": base64.b64encode(b"kept by someone else").decode()}}
    c.api.patch("secrets", secret_name, ns, patch)
    return patch


def assert_foreign_data(c: Cluster, ns: str, secret_name: str) -> None:
    secret = c.must_get("Secret", secret_name, ns)
    meta = secret["metadata"]
    assert (meta.get("labels") or {}).get("team.example.com/owner") == "payments", meta
    assert (meta.get("annotations") or {}).get("backup.example.com/policy") == "daily", meta
    assert decoded(secret).get("extra.txt") == b"kept by someone else"


def assert_no_traceback(c: Cluster, offset: int = 0) -> None:
    text = c.operator.log_since(offset)
    assert "Traceback" not in text, f"the operator logged a traceback:\n{text[-6000:]}"


# -- the external signer the test plays ---------------------------------------------------------------------
def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def rfc3339(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass
class Seen:
    name: str
    certificate: str
    revision: int
    at: float  # time.monotonic() when the signer first saw it


def signer_ca() -> tuple[x509.Certificate, Any]:
    return expect.make_ca("bad external signer")


def sign_csr(csr_pem: bytes, ca: tuple[x509.Certificate, Any], *, dns: list[str] | None = None,
             not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
             public_key: Any = None) -> bytes:
    csr = x509.load_pem_x509_csr(csr_pem)
    try:
        wanted = list(csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                      .get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        wanted = []
    names = wanted if dns is None else dns
    start = not_before or now_utc() - dt.timedelta(minutes=1)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bad signer")]))
               .issuer_name(ca[0].subject).public_key(public_key or csr.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(start)
               .not_valid_after(not_after or start + dt.timedelta(days=30)))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    return builder.sign(ca[1], hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


Answer = tuple[str, bytes | str] | None  # ("issue", pem) | ("fail", message) | None (leave pending)


class ExternalSigner:
    """Plays the signer of `group: example.com` requests: polls CertificateRequests, and for each one not
    yet answered asks `answer(cr)`, then writes Approved + Ready (Issued with status.certificate, or Failed
    with failureTime) through /status, as an external issuer controller would."""

    def __init__(self, c: Cluster, ns: str, answer: Callable[[dict[str, Any]], Answer]) -> None:
        self.api = c.new_api()
        self.ns = ns
        self.answer = answer
        self.seen: dict[str, Seen] = {}  # uid -> first sight
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="external-signer", daemon=True)
        self.errors: list[str] = []

    def __enter__(self) -> ExternalSigner:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.api.close()

    def of(self, cert_name: str) -> list[Seen]:
        return sorted((s for s in self.seen.values() if s.certificate == cert_name), key=lambda s: s.at)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception as err:  # the server may be briefly unreachable in fault tests
                self.errors.append(repr(err))
            self._stop.wait(0.05)

    def _tick(self) -> None:
        for cr in self.api.list("certificaterequests", self.ns):
            meta, spec = cr["metadata"], cr["spec"]
            if (spec.get("issuerRef") or {}).get("group") != BAD_GROUP:
                continue
            ann = meta.get("annotations") or {}
            if meta["uid"] not in self.seen:
                self.seen[meta["uid"]] = Seen(meta["name"], ann.get("cert-manager.io/certificate-name", ""),
                                              int(ann.get("cert-manager.io/certificate-revision", "0")),
                                              time.monotonic())
            if condition(cr, "Ready") is not None:
                continue
            answer = self.answer(cr)
            if answer is None:
                continue
            when = rfc3339(now_utc())
            conds = [{"type": "Approved", "status": "True", "reason": "test-signer", "message": "approved by the test",
                      "lastTransitionTime": when}]
            patch_status: dict[str, Any] = {}
            if answer[0] == "issue":
                pem = answer[1] if isinstance(answer[1], bytes) else answer[1].encode()
                conds.append({"type": "Ready", "status": "True", "reason": "Issued",
                              "message": "Certificate fetched from issuer successfully", "lastTransitionTime": when})
                patch_status["certificate"] = base64.b64encode(pem).decode()
            else:
                conds.append({"type": "Ready", "status": "False", "reason": "Failed", "message": str(answer[1]),
                              "lastTransitionTime": when})
                patch_status["failureTime"] = when
            patch_status["conditions"] = conds
            self.api.patch("certificaterequests", meta["name"], self.ns,
                           {"metadata": {"resourceVersion": meta["resourceVersion"]}, "status": patch_status},
                           sub="status")


def csr_of(cr: dict[str, Any]) -> bytes:
    return base64.b64decode(cr["spec"]["request"])


def other_key() -> Any:
    return ec.generate_private_key(ec.SECP256R1())
