"""Helpers of the fault tier: clusters with server knobs and operator flags, a CA issuer, an external signer
played by the test, the invariants every fault class ends with, and the session-wide record (private keys
seen, operator logs, Event messages) that tests/faults/test_security.py judges (the API verbs the operator
used are in tests/rbac.py's USE, kept for every tier).

Built on tests/controller/conftest.py (Cluster, Operator, Api, wait helpers): a `FaultCluster` is a
`Cluster` whose embedded API server takes knobs (`history_window`, ...) and whose operator takes flags
(`--backoff-min 2s --backoff-max 8s` by default, so back-off schedules show in seconds).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import pathlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from issuer.testing.server import ServerThread
from tests import rbac
from tests.controller import expect
from tests.controller.conftest import Api, Cluster, Operator, condition, fresh_name
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


def harvest(c: Cluster) -> None:
    """Fold one cluster's request log, Secrets (history included: temporary keys live a moment), Events and
    operator log into RECORD."""
    RECORD.clusters += 1
    rbac.USE.fold(c.server)

    def secrets() -> list[dict[str, Any]]:
        store = c.server.srv.store
        seen = [e.obj for e in list(store.history) if e.store_key == ("", "secrets")]
        seen += [entry.obj for _, entry in store.items(("", "secrets"), None)]
        return seen

    for obj in c.server.run(secrets):
        meta = obj.get("metadata") or {}
        remember_secret(obj, f"Secret {meta.get('namespace')}/{meta.get('name')}")
    with contextlib.suppress(Exception):
        for ev in c.api.list("events"):
            RECORD.events.append(f"{ev.get('reason')}: {ev.get('message')}")
    RECORD.logs.append(c.operator.log_path)


# -- clusters -----------------------------------------------------------------------------------------------
class FaultCluster(Cluster):
    """A Cluster whose server takes knobs and whose operator takes extra flags."""

    def __init__(self, tmp: pathlib.Path, operator_args: tuple[str, ...] = BACKOFF_ARGS,
                 **server_kwargs: Any) -> None:
        self.tmp = tmp
        self.server = ServerThread(port=0, kubeconfig=tmp / "kubeconfig", **server_kwargs)
        self.server.start()
        rbac.USE.track(self.server)
        self.kubeconfig = self.server.kubeconfig_path
        self.api = Api(self.server.url)
        self.operator = Operator(self.kubeconfig, tmp / "operator.log", *operator_args)
        self._kubectl = require("kubectl")

    def namespace(self) -> str:
        name = fresh_name("ns")
        self.ensure_namespace(name)
        return name

    def operator_requests(self, since: float, verb: str | None = None, path_part: str = "") -> list[Any]:
        return [r for r in self.server.request_log.since(since)
                if r.user_agent.startswith(OPERATOR_AGENTS) and (verb is None or r.verb == verb)
                and path_part in r.path]


@contextlib.contextmanager
def fault_cluster(tmp: pathlib.Path, *operator_args: str, **server_kwargs: Any) -> Iterator[FaultCluster]:
    c = FaultCluster(tmp, tuple(operator_args) or BACKOFF_ARGS, **server_kwargs)
    try:
        c.install()
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


def request_history(c: Cluster, ns: str) -> list[tuple[str, str, int, str]]:
    """(event type, certificate name, revision, uid) of every CertificateRequest change the server kept."""
    def collect() -> list[tuple[str, str, int, str]]:
        out = []
        for e in list(c.server.srv.store.history):
            if e.store_key[1] != "certificaterequests" or e.key[0] != ns:
                continue
            meta = e.obj.get("metadata") or {}
            ann = meta.get("annotations") or {}
            out.append((e.type, ann.get("cert-manager.io/certificate-name", ""),
                        int(ann.get("cert-manager.io/certificate-revision", "0") or 0), meta.get("uid", "")))
        return out

    result: list[tuple[str, str, int, str]] = c.server.run(collect)
    return result


def assert_requests_per_revision(c: Cluster, ns: str, *, exactly_once: bool) -> dict[tuple[str, int], int]:
    """Never two CertificateRequests of one Certificate and revision at the same time (checked over the
    server's history); with `exactly_once`, never more than one over the whole run either. Returns how many
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
        self.api = Api(c.server.url)
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
