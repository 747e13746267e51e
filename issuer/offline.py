"""`issuer issue`: issue certificates from cert-manager manifests without a cluster.

The same pure core as the operator: validation, the request manager's CertificateRequest, the SelfSigned
and CA signers and the issuing controller's Secret; only the store differs (the input files instead of
the API server). Certificates are issued in dependency order (SelfSigned ClusterIssuer -> CA Certificate
-> CA Issuer backed by that Certificate's Secret -> leaf Certificates). Input problems are collected
first and reported one per line (file, document, kind/name, field path) with exit code 2; nothing is
printed or written unless everything issues.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import dataclasses
import datetime as _dt
import os
import pathlib
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from issuer import forking, manifests, offline_acme
from issuer.api import constants as c
from issuer.api import defaults, validation
from issuer.api import types as t
from issuer.api.model import InvalidObject
from issuer.controllers import issuing, requestmanager
from issuer.forking import default_workers
from issuer.pki import csr as csr_mod
from issuer.pki import keys
from issuer.pki.errors import PKIError
from issuer.signers import base, dispatch

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
_PRIVATE_KEYS = {c.TLS_PRIVATE_KEY_KEY, c.DER_KEY_KEY, c.COMBINED_PEM_KEY, c.PKCS12_KEYSTORE_KEY, c.JKS_KEYSTORE_KEY}
_CM_GROUPS = (c.GROUP, c.ACME_GROUP)
OFFLINE_KEY_SECRET_SUFFIX = "-offline-private-key"

IssuerKey = tuple[str, str, str]  # (kind, namespace or "", name)
SecretKey = tuple[str, str]  # (namespace, name)


@dataclasses.dataclass
class _Cert:
    doc: manifests.Document
    cert: t.Certificate

    @property
    def key(self) -> SecretKey:
        return (self.cert.metadata.namespace, self.cert.metadata.name)

    @property
    def label(self) -> str:
        return self.doc.where()


@dataclasses.dataclass
class Result:
    """What a run produced: Secrets in issue order, Certificates left for an online issuer, and errors."""

    secrets: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    texts: list[str] = dataclasses.field(default_factory=list)  # each Secret as a YAML document (same order)
    not_issued: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (certificate, why)
    errors: list[str] = dataclasses.field(default_factory=list)
    failed: bool = False  # errors of issuance rather than of the input
    generated: list[str] = dataclasses.field(default_factory=list)  # "ns/name" of ACME account key Secrets made

    @property
    def issued(self) -> int:
        return len(self.secrets) - len(self.generated)

    def yaml(self) -> str:
        """The Secrets as one YAML stream (`dump_secrets(self.secrets)`, rendered where each was issued)."""
        return "".join(self.texts)


def _secret_data(doc: manifests.Document, errors: list[str]) -> dict[str, bytes]:
    obj = doc.obj
    out: dict[str, bytes] = {}
    data = obj.get("data") or {}
    if not isinstance(data, dict):
        errors.append(f"{doc.where()}: data: Invalid value: must be a map of base64 strings")
        return out
    for k, v in data.items():
        try:
            out[str(k)] = base64.b64decode(str(v), validate=True)
        except (binascii.Error, ValueError):
            errors.append(f"{doc.where()}: data[{k}]: Invalid value: illegal base64 data")
    string_data = obj.get("stringData") or {}
    if isinstance(string_data, dict):
        for k, v in string_data.items():
            out[str(k)] = str(v).encode()
    else:
        errors.append(f"{doc.where()}: stringData: Invalid value: must be a map of strings")
    return out


def _validate(parsed: Any) -> list[Any]:
    if isinstance(parsed, t.Certificate):
        return list(validation.validate_certificate(parsed))
    if isinstance(parsed, t.Issuer):
        return list(validation.validate_issuer(parsed))
    return []  # other kinds are refused by the caller


def _with_namespace(doc: manifests.Document, namespace: str) -> manifests.Document:
    """Namespaced documents that name no namespace get the default one, as kubectl does."""
    obj = doc.obj
    if doc.kind == c.CLUSTER_ISSUER or doc.namespace or not isinstance(obj.get("metadata"), dict):
        return doc
    return manifests.Document(doc.source, doc.index, {**obj, "metadata": {**obj["metadata"], "namespace": namespace}})


def _issuer_key(ref: t.IssuerRef, namespace: str) -> IssuerKey:
    kind = ref.kind or c.ISSUER
    return (kind, "" if kind == c.CLUSTER_ISSUER else namespace, ref.name)


def issue_documents(
    docs: list[manifests.Document],
    now: _dt.datetime,
    *,
    default_namespace: str = "default",
    cluster_resource_namespace: str = "cert-manager",
    acme: offline_acme.Options | None = None,
    workers: int = 1,
) -> Result:
    """Validate, order and issue every SelfSigned/CA Certificate in `docs`, and with `acme` options the
    Certificates of ACME Issuers too (over the network; without options they are listed as not issued).
    With `workers` > 1, Certificates that do not depend on each other (the leaves of a CA) are issued by
    that many processes (forked: they share what is loaded); the output is the same as with one."""
    result = Result()
    errors = result.errors
    issuers: dict[IssuerKey, tuple[manifests.Document, t.Issuer]] = {}
    certs: list[_Cert] = []
    secrets: dict[SecretKey, Mapping[str, bytes]] = {}
    secret_docs: dict[SecretKey, manifests.Document] = {}

    for given in docs:
        doc = _with_namespace(given, default_namespace)
        group = doc.api_version.split("/")[0] if "/" in doc.api_version else ""
        obj = doc.obj
        if group in _CM_GROUPS:
            try:
                parsed = t.parse(obj)
            except InvalidObject as exc:
                errors.extend(f"{doc.where()}: {v}" for v in exc.violations)
                continue
            violations = _validate(parsed)
            if violations:
                errors.extend(f"{doc.where()}: {v}" for v in violations)
                continue
            if isinstance(parsed, t.Issuer):
                key = (parsed.kind, "" if parsed.is_cluster_scoped else parsed.metadata.namespace, parsed.metadata.name)
                if key in issuers:
                    errors.append(f"{doc.where()}: duplicate: also defined at {issuers[key][0].where()}")
                issuers[key] = (doc, parsed)
            elif isinstance(parsed, t.Certificate):
                certs.append(_Cert(doc, parsed))
            else:
                errors.append(f"{doc.where()}: {doc.kind} objects are made by the controller, not issued offline")
        elif doc.kind == "Secret" and doc.api_version == "v1":
            skey = (doc.namespace, doc.name)
            if not doc.name:
                errors.append(f"{doc.where()}: metadata.name: Required value")
                continue
            if skey in secrets:
                errors.append(f"{doc.where()}: duplicate: also defined at {secret_docs[skey].where()}")
            secrets[skey] = _secret_data(doc, errors)
            secret_docs[skey] = doc
        # Namespaces, Ingresses and other kinds are not needed offline and are passed over.

    by_name: dict[SecretKey, _Cert] = {}
    producers: dict[SecretKey, _Cert] = {}
    for item in certs:
        if item.key in by_name:
            errors.append(f"{item.label}: duplicate: also defined at {by_name[item.key].label}")
        by_name[item.key] = item
        target = (item.cert.metadata.namespace, item.cert.spec.secret_name)
        if target in producers:
            errors.append(
                f"{item.label}: spec.secretName: Invalid value: {item.cert.spec.secret_name!r}: also the secretName "
                f"of {producers[target].label}; two Certificates must not share a Secret"
            )
        elif target in secrets:
            errors.append(
                f"{item.label}: spec.secretName: Invalid value: {item.cert.spec.secret_name!r}: the input already "
                f"holds a Secret of that name ({secret_docs[target].where()}); it will not be overwritten"
            )
        producers[target] = item

    # Dependencies: a Certificate needs its issuer, a CA issuer needs its Secret, keystores their passwords.
    deps: dict[SecretKey, set[SecretKey]] = {item.key: set() for item in certs}
    issuable: list[_Cert] = []
    for item in certs:
        spec = item.cert.spec
        ns = item.cert.metadata.namespace
        ikey = _issuer_key(spec.issuer_ref, ns)
        if spec.issuer_ref.group not in ("", c.GROUP):
            result.not_issued.append((item.label, f"external issuer group {spec.issuer_ref.group!r}"))
            continue
        found = issuers.get(ikey)
        if found is None:
            where = f' in namespace "{ns}"' if ikey[0] == c.ISSUER else ""
            errors.append(f'{item.label}: spec.issuerRef: Not found: {ikey[0]} "{ikey[2]}"{where} is not in the input')
            continue
        kind = dispatch.issuer_type(found[1])
        if kind == "acme" and acme is None:
            result.not_issued.append((item.label, "ACME issuers are not issued offline yet"))
            continue
        if kind not in ("selfSigned", "ca", "acme"):
            result.not_issued.append((item.label, f"{kind} issuers are not supported"))
            continue
        needs: list[tuple[SecretKey, str]] = []
        if kind == "acme":
            rns = base.resource_namespace(found[1], cluster_resource_namespace)
            needs.extend(
                (skey, f"{found[0].where()}: {path}")
                for skey, path, required in offline_acme.needed_secrets(found[1], rns)
                if required or skey in producers
            )
        if kind == "ca" and found[1].spec.ca is not None:
            rns = base.resource_namespace(found[1], cluster_resource_namespace)
            needs.append(((rns, found[1].spec.ca.secret_name), f"{found[0].where()}: spec.ca.secretName"))
        stores = spec.keystores or t.CertificateKeystores()
        for kind_name, store in (("jks", stores.jks), ("pkcs12", stores.pkcs12)):
            if store is not None and store.create and store.password_secret_ref is not None:
                where = f"{item.label}: spec.keystores.{kind_name}.passwordSecretRef"
                needs.append(((ns, store.password_secret_ref.name), where))
        ok = True
        for skey, where in needs:
            if skey in producers:
                deps[item.key].add(producers[skey].key)
            elif skey not in secrets:
                errors.append(
                    f'{where}: Not found: Secret "{skey[1]}" in namespace "{skey[0]}" is neither in the input '
                    "nor the secretName of a Certificate in it"
                )
                ok = False
        if ok:
            issuable.append(item)

    order = _order(issuable, deps, by_name, errors)
    if errors:
        return result

    def get_secret(namespace: str, name: str) -> Mapping[str, bytes] | None:
        return secrets.get((namespace, name))

    acme_run = offline_acme.Run(acme, get_secret) if acme is not None else None

    def acme_signer(issuer_doc: manifests.Document, issuer_obj: t.Issuer) -> Signer | None:
        if acme_run is None or dispatch.issuer_type(issuer_obj) != "acme":
            return None
        return _acme_signer(acme_run, issuer_doc, issuer_obj, cluster_resource_namespace, now, errors)

    try:
        # ACME Certificates wait on the network, not on each other: those with no dependency run at once.
        batch = [
            item for item in order
            if acme_run is not None and not deps[item.key] and dispatch.issuer_type(
                issuers[_issuer_key(item.cert.spec.issuer_ref, item.cert.metadata.namespace)][1]) == "acme"
        ]
        done: dict[SecretKey, dict[str, Any] | None] = {}

        def issue_acme(item: _Cert) -> None:
            issuer_doc, issuer_obj = issuers[_issuer_key(item.cert.spec.issuer_ref, item.cert.metadata.namespace)]
            done[item.key] = _issue_one(item, issuer_obj, secrets, get_secret, now, cluster_resource_namespace,
                                        errors, acme_signer(issuer_doc, issuer_obj))

        if len(batch) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(8, len(batch))) as pool:
                list(pool.map(issue_acme, batch))
        setups: dict[IssuerKey, base.Setup | None] = {}  # an issuer's Secret is issued before its first use

        def issue_local(item: _Cert) -> _Outcome:
            """One Certificate issued by a SelfSigned or CA issuer (ACME ones are in `done` already)."""
            ikey = _issuer_key(item.cert.spec.issuer_ref, item.cert.metadata.namespace)
            issuer_doc, issuer_obj = issuers[ikey]
            own: list[str] = []
            if ikey not in setups:
                setups[ikey] = dispatch.setup(issuer_obj, get_secret, cluster_resource_namespace, now)
            setup = setups[ikey]
            if setup is not None and not setup.ready:
                return _Outcome(None, [f"{issuer_doc.where()}: {setup.reason}: {setup.message}"])
            body = _issue_one(item, issuer_obj, secrets, get_secret, now, cluster_resource_namespace, own,
                              acme_signer(issuer_doc, issuer_obj))
            # rendered here: in a worker process, the YAML is written in parallel too
            return _Outcome(body, own, dump_secrets([body]) if body is not None else "")

        issued = {key for key, body in done.items() if body is not None}

        def is_acme(item: _Cert) -> bool:
            issuer_obj = issuers[_issuer_key(item.cert.spec.issuer_ref, item.cert.metadata.namespace)][1]
            return dispatch.issuer_type(issuer_obj) == "acme"
        start = 0
        while start < len(order) and not result.failed:
            # The longest run of Certificates that only need what is issued already (the leaves of one CA).
            stop = start
            while stop < len(order) and deps[order[stop].key] <= issued:
                stop += 1
            stop = max(stop, start + 1)
            todo = [item for item in order[start:stop] if item.key not in done]
            # ACME issuance talks to the network from this process (with a listener thread): never forked
            batch_workers = 1 if any(is_acme(item) for item in todo) else workers
            computed = dict(zip((item.key for item in todo), _map(issue_local, todo, batch_workers), strict=True))
            for item in order[start:stop]:
                outcome = computed.get(item.key) or _Outcome(done.get(item.key), [])
                errors.extend(outcome.errors)
                if outcome.body is None:
                    result.failed = True
                    break
                # issued in a worker process (this one's own were stored by _secret_of): it may feed an issuer
                if (item.cert.metadata.namespace, item.cert.spec.secret_name) not in secrets:
                    _store_secret(secrets, item.cert, outcome.body)
                result.secrets.append(outcome.body)
                result.texts.append(outcome.text or dump_secrets([outcome.body]))
                issued.add(item.key)
            start = stop
    finally:
        if acme_run is not None:
            acme_run.close()
    if acme_run is not None and acme_run.generated:
        result.secrets[:0] = acme_run.generated
        result.texts[:0] = [dump_secrets([body]) for body in acme_run.generated]
        result.generated = [f"{s['metadata']['namespace']}/{s['metadata']['name']}" for s in acme_run.generated]
    if errors:
        result.secrets.clear()
        result.texts.clear()
        result.generated.clear()
    return result


@dataclasses.dataclass(frozen=True)
class _Outcome:
    body: dict[str, Any] | None  # the Secret, or None when issuance failed (see errors)
    errors: list[str]
    text: str = ""  # the Secret as YAML, when rendered where it was issued


# Below this many Certificates a batch is issued in this process: a fork and the pickled results cost
# about a millisecond, a leaf about a quarter of one.
PARALLEL_MIN_BATCH = 64


def _map(fn: Callable[[_Cert], _Outcome], items: list[_Cert], workers: int) -> list[_Outcome]:
    """[fn(item) for item in items], split over `workers` forked processes when it pays (see forking)."""
    return forking.map_in_processes(fn, items, workers, min_items=PARALLEL_MIN_BATCH)


Signer = Callable[[_Cert, bytes], bytes | None]
"""(certificate, CSR PEM) -> PEM chain, or None after appending the error (ACME certificates)."""


def _acme_signer(
    run: offline_acme.Run,
    issuer_doc: manifests.Document,
    issuer_obj: t.Issuer,
    cluster_resource_namespace: str,
    now: _dt.datetime,
    errors: list[str],
) -> Signer:
    rns = base.resource_namespace(issuer_obj, cluster_resource_namespace)

    def sign(item: _Cert, csr_pem: bytes) -> bytes | None:
        try:
            run.account(issuer_obj, rns)
        except offline_acme.Failure as err:
            errors.append(f"{issuer_doc.where()}: {err.reason}: {err.message}")
            return None
        try:
            return run.obtain(issuer_obj, rns, item.cert, csr_pem, now)
        except offline_acme.Failure as err:
            errors.append(f"{item.label}: {err.reason}: {err.message}")
            return None

    return sign


def _issue_one(
    item: _Cert,
    issuer_obj: t.Issuer,
    secrets: dict[SecretKey, Mapping[str, bytes]],
    get_secret: base.SecretGetter,
    now: _dt.datetime,
    cluster_resource_namespace: str,
    errors: list[str],
    signer: Signer | None = None,
) -> dict[str, Any] | None:
    cert = item.cert
    ns = cert.metadata.namespace
    try:
        key = keys.generate(defaults.private_key(cert.spec))
        csr_pem = csr_mod.pem_bytes(csr_mod.build(cert.spec, key))
    except (PKIError, ValueError) as err:
        errors.append(f"{item.label}: cannot build the certificate request: {err}")
        return None
    key_secret = cert.metadata.name + OFFLINE_KEY_SECRET_SUFFIX
    cr = requestmanager.typed_request(cert, csr_pem, 1, key_secret)
    if signer is not None:
        chain = signer(item, csr_pem)
        if chain is None:
            return None
        return _secret_of(item, cr, chain, b"", key, secrets, get_secret, errors)
    def lookup(namespace: str, name: str) -> Mapping[str, bytes] | None:
        if (namespace, name) == (ns, key_secret):  # the SelfSigned signer reads the key it signs with
            return {c.TLS_PRIVATE_KEY_KEY: keys.encode(key, c.PKCS8)}
        return get_secret(namespace, name)

    outcome = dispatch.sign(cr, issuer_obj, lookup, cluster_resource_namespace, now)
    if not isinstance(outcome, base.Issued):
        reason = outcome.reason if outcome is not None else "Unsupported"
        message = outcome.message if outcome is not None else "issuer type not supported offline"
        errors.append(f"{item.label}: {reason}: {message}")
        return None
    return _secret_of(item, cr, outcome.certificate, outcome.ca, key, secrets, get_secret, errors)


def _secret_of(
    item: _Cert,
    cr: t.CertificateRequest,
    chain: bytes,
    ca: bytes,
    key: keys.PrivateKey,
    secrets: dict[SecretKey, Mapping[str, bytes]],
    get_secret: base.SecretGetter,
    errors: list[str],
) -> dict[str, Any] | None:
    cert = item.cert
    ns = cert.metadata.namespace
    try:
        passwords = issuing.resolve_keystore_passwords(cert.spec, ns, get_secret)
        body = issuing.secret_body(cert, cr.spec.issuer_ref, chain, ca, key, passwords)
    except (issuing.KeystorePasswordError, PKIError) as err:
        errors.append(f"{item.label}: {err}")
        return None
    _store_secret(secrets, cert, body)
    return body


def _store_secret(secrets: dict[SecretKey, Mapping[str, bytes]], cert: t.Certificate, body: dict[str, Any]) -> None:
    """Keep an issued Secret's data where later CA issuers and keystores look it up (decoded when read:
    most are leaves nothing reads)."""
    secrets[(cert.metadata.namespace, cert.spec.secret_name)] = _EncodedData(body["data"])


class _EncodedData(Mapping[str, bytes]):
    """A Secret's base64 `data` read as bytes, each value decoded on first use."""

    def __init__(self, data: Mapping[str, str]) -> None:
        self._data = data
        self._decoded: dict[str, bytes] = {}

    def __getitem__(self, key: str) -> bytes:
        value = self._decoded.get(key)
        if value is None:
            value = self._decoded[key] = base64.b64decode(self._data[key])
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _order(
    items: list[_Cert], deps: dict[SecretKey, set[SecretKey]], by_name: dict[SecretKey, _Cert], errors: list[str]
) -> list[_Cert]:
    """Dependencies first (Kahn's algorithm, input order among equals); a cycle is an input error."""
    wanted = {item.key for item in items}
    blocked = set()
    for item in items:
        missing = deps[item.key] - wanted
        if missing:
            blocked.add(item.key)
            names = ", ".join(by_name[m].label for m in sorted(missing))
            errors.append(f"{item.label}: depends on {names}, which cannot be issued offline")
    waiting = {item.key: len(deps[item.key]) for item in items if item.key not in blocked}
    dependents: dict[SecretKey, list[SecretKey]] = {}
    for key in waiting:
        for dep in deps[key]:
            dependents.setdefault(dep, []).append(key)
    position = {item.key: i for i, item in enumerate(items)}
    ready = [item.key for item in items if waiting.get(item.key) == 0]
    out: list[_Cert] = []
    while ready:
        key = ready.pop(0)
        out.append(by_name[key])
        released = []
        for dependent in dependents.get(key, ()):
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                released.append(dependent)
        ready = sorted([*ready, *released], key=position.__getitem__) if released else ready
    cycle = [k for k, n in waiting.items() if n > 0]
    if cycle:
        names = ", ".join(by_name[k].label for k in cycle)
        errors.append(f"dependency cycle between Certificates and CA Issuers: {names}")
    return out


# ---------------------------------------------------------------------------------------------------------
# Output


def write_out_dir(out_dir: pathlib.Path, secrets: list[dict[str, Any]]) -> None:
    """DIR/<namespace>/<secretName>/<key>; written to a sibling temp folder first, then moved into place."""
    out_dir.mkdir(parents=True, exist_ok=True)
    import tempfile  # only here: importing it costs the command 3 ms

    staging = pathlib.Path(tempfile.mkdtemp(prefix=".issuer-", dir=out_dir))
    try:
        for body in secrets:
            meta = body["metadata"]
            folder = staging / meta["namespace"] / meta["name"]
            folder.mkdir(parents=True, exist_ok=True)
            for key, value in body["data"].items():
                path = folder / key
                path.write_bytes(base64.b64decode(value))
                os.chmod(path, 0o600 if key in _PRIVATE_KEYS else 0o644)
        for ns_dir in staging.iterdir():
            for secret_dir in ns_dir.iterdir():
                dest = out_dir / ns_dir.name / secret_dir.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                if dest.exists():
                    for old in dest.iterdir():
                        old.unlink()
                    dest.rmdir()
                secret_dir.rename(dest)
    finally:
        for root, dirs, files in os.walk(staging, topdown=False):
            for name in files:
                os.unlink(os.path.join(root, name))
            for name in dirs:
                os.rmdir(os.path.join(root, name))
        staging.rmdir()


def dump_secrets(secrets: list[dict[str, Any]]) -> str:
    return manifests.dump_all(secrets)


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    stdin_text = sys.stdin.read() if "-" in args.filename else None
    workers = args.workers or default_workers()
    docs, problems = manifests.load(args.filename, stdin_text, workers=workers)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INVALID
    now = _dt.datetime.now(_dt.UTC)
    try:
        acme = acme_options(args)
    except OSError as err:
        print(f"error: cannot read --acme-ca-bundle: {err.strerror or err}", file=sys.stderr)
        return EXIT_INVALID
    result = issue_documents(
        docs,
        now,
        default_namespace=args.namespace,
        cluster_resource_namespace=args.cluster_resource_namespace,
        acme=acme,
        workers=workers,
    )
    if result.errors:
        for line in result.errors:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_FAILED if result.failed else EXIT_INVALID
    if args.out_dir:
        try:
            write_out_dir(pathlib.Path(args.out_dir), result.secrets)
        except OSError as err:
            print(f"error: cannot write {args.out_dir}: {err.strerror or err}", file=sys.stderr)
            return EXIT_FAILED
    if not args.quiet and result.secrets:
        sys.stdout.write(result.yaml())
    elapsed = time.perf_counter() - started
    for name in result.generated:
        print(f"generated ACME account key Secret {name} (printed with the certificates: keep it)", file=sys.stderr)
    print(f"issued {result.issued} certificate(s) in {elapsed:.2f}s", file=sys.stderr)
    for label, why in result.not_issued:
        print(f"not issued: {label}: {why}", file=sys.stderr)
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------------
# ACME flags


def add_acme_arguments(parser: argparse.ArgumentParser) -> None:
    """The `issue` subcommand's ACME flags (`issuer.cli` adds them to its `issue` parser)."""
    parser.add_argument(
        "--http01-port", type=int, default=80, metavar="PORT",
        help="port of the standalone HTTP-01 listener serving every pending token of the run (default: 80)",
    )
    parser.add_argument(
        "--http01-address", default="", metavar="ADDR", help="address the HTTP-01 listener binds (default: all)"
    )
    parser.add_argument(
        "--acme-ca-bundle", metavar="FILE",
        help="PEM roots to trust for the ACME servers instead of the system roots (a private CA such as Pebble)",
    )


def acme_options(args: argparse.Namespace) -> offline_acme.Options:
    """ACME options from the parsed flags (defaults when the parser has none of them)."""
    bundle_path = getattr(args, "acme_ca_bundle", None)
    bundle = pathlib.Path(bundle_path).read_bytes() if bundle_path else b""
    return offline_acme.Options(
        http01_port=getattr(args, "http01_port", 80),
        http01_address=getattr(args, "http01_address", "") or "",
        ca_bundle=bundle,
    )


def _main_with_acme_flags(argv: list[str]) -> int:
    """`python -m issuer.offline [issue flags]`: `issuer issue` with the ACME flags, until the CLI has them."""
    from issuer import cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    issue = sub.choices["issue"]
    if "--http01-port" not in issue._option_string_actions:
        add_acme_arguments(issue)
    return main(issue.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main_with_acme_flags(sys.argv[1:]))
