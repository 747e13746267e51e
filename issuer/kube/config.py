"""Where the API server is and how to authenticate: a small frozen `ClusterConfig` read from a kubeconfig
file (an explicit path, `$KUBECONFIG`, `~/.kube/config`) or from the in-cluster service account. The
`kubernetes` package's loaders only *read* the configuration (contexts, token files, exec plugins, embedded
certificate data); requests are made by `issuer.kube.client` over aiohttp. Called once at start-up by
the command line and the operator; tests build a `ClusterConfig` for the embedded server with `for_url`.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
import pathlib
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import yaml
from kubernetes import client as k8s_client
from kubernetes.config import config_exception, incluster_config, kube_config

from issuer.kube import errors

ConfigError = errors.ConfigError

_kube_config: Any = kube_config  # untyped modules: one Any each keeps mypy strict quiet
_incluster_config: Any = incluster_config

SERVICE_ACCOUNT_DIR = pathlib.Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_KUBECONFIG = "~/.kube/config"
TOKEN_CACHE_SECONDS = 10.0
"""A refreshable token is re-read at most this often (the in-cluster loader itself re-reads its file
every minute; projected service-account tokens rotate hourly)."""

TokenSource = Callable[[], str | None]
"""Answers the current `Authorization` header value ("Bearer ...", "Basic ..."), or None."""


@dataclasses.dataclass(frozen=True)
class ClusterConfig:
    """Everything `issuer.kube.client.Client` needs to reach one API server.

    `server` is the base URL without a trailing slash; `ssl` is None for plain http (the embedded server);
    `headers` are sent with every request; `token` (if set) is called for a fresh `Authorization` value, so
    rotated service-account tokens and exec-plugin credentials keep working; `tls_server_name` overrides
    the name checked in the server certificate. `ca_file`, `cert_file`, `key_file` and `insecure` keep the
    TLS material as files (embedded kubeconfig data is written to temp files by the `kubernetes` loader)
    for libraries that want paths, such as kopf's `ConnectionInfo` (see `connection_settings`).
    """

    server: str
    namespace: str = "default"
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)  # may carry credentials
    ssl: ssl.SSLContext | None = None
    token: TokenSource | None = dataclasses.field(default=None, repr=False, compare=False)
    tls_server_name: str | None = None
    source: str = ""  # where this came from, for log lines: a kubeconfig path + context, or "in-cluster"
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False

    def connection_settings(self) -> dict[str, Any]:
        """Keyword arguments for `kopf.ConnectionInfo` (server, ca_path, insecure, username, password,
        token, certificate_path, private_key_path, default_namespace), so kopf's watchers log in exactly
        as this client does. The token is the current one; kopf re-logs in through its own handlers."""
        authorization = self.auth_headers().get("Authorization", "")
        scheme, _, credential = authorization.partition(" ")
        token = credential if scheme.lower() == "bearer" and credential else None
        username = password = None
        if scheme.lower() == "basic" and credential:
            with contextlib.suppress(ValueError):
                username, _, password = base64.b64decode(credential).decode().partition(":")
        return {
            "server": self.server,
            "ca_path": self.ca_file,
            "insecure": self.insecure,
            "username": username,
            "password": password,
            "token": token,
            "certificate_path": self.cert_file,
            "private_key_path": self.key_file,
            "default_namespace": self.namespace,
        }

    def auth_headers(self) -> dict[str, str]:
        """The static headers plus a current `Authorization` header, if any."""
        out = dict(self.headers)
        if self.token is not None:
            value = self.token()
            if value:
                out["Authorization"] = value
        return out

    @classmethod
    def for_url(cls, url: str, *, namespace: str = "default", token: str | None = None) -> ClusterConfig:
        """A configuration for a plain-http server such as the embedded one (`http://127.0.0.1:port`)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return cls(server=url.rstrip("/"), namespace=namespace, headers=headers, source=url)


def load(path: str | os.PathLike[str] | None = None, *, context: str | None = None) -> ClusterConfig:
    """The configuration as kubectl and client-go find it: an explicit kubeconfig `path`; else
    `$KUBECONFIG` (a `:`-separated list); else `~/.kube/config` if it exists; else the in-cluster service
    account. Raises `ConfigError` with one line when none of these works."""
    if path is not None:
        return load_kubeconfig(path, context=context)
    env = os.environ.get("KUBECONFIG", "")
    if env.strip():
        return load_kubeconfig(env, context=context)
    default = pathlib.Path(DEFAULT_KUBECONFIG).expanduser()
    if default.exists():
        return load_kubeconfig(default, context=context)
    if os.environ.get(incluster_config.SERVICE_HOST_ENV_NAME):
        return load_incluster()
    raise ConfigError(
        "no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config "
        "or run inside a cluster")


def load_kubeconfig(path: str | os.PathLike[str], *, context: str | None = None) -> ClusterConfig:
    """Read a kubeconfig file (or a `:`-separated list of files, merged as kubectl does)."""
    spec = os.fspath(path)
    files = [pathlib.Path(p).expanduser() for p in spec.split(os.pathsep) if p.strip()]
    if not files:
        raise ConfigError("empty kubeconfig path")
    existing = [f for f in files if f.exists()]
    if not existing:
        raise ConfigError(f"kubeconfig {spec} does not exist")
    for f in existing:
        if not f.is_file():
            raise ConfigError(f"kubeconfig {f} is not a file")
    try:
        merger = _kube_config.KubeConfigMerger(os.pathsep.join(str(f) for f in existing))
        if merger.config is None:
            raise ConfigError(f"kubeconfig {spec} holds no configuration")
        loader = _kube_config.KubeConfigLoader(config_dict=merger.config, active_context=context,
                                               config_base_path=None)
        configuration = k8s_client.Configuration()
        loader.load_and_set(configuration)
        current = loader.current_context
    except yaml.YAMLError as exc:
        raise ConfigError(f"kubeconfig {spec} is not valid YAML: {_one_line(exc)}") from None
    except config_exception.ConfigException as exc:
        raise ConfigError(f"kubeconfig {spec}: {_one_line(exc)}") from None
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ConfigError(f"kubeconfig {spec} is malformed: {_one_line(exc)}") from None
    except OSError as exc:
        raise ConfigError(f"kubeconfig {spec}: {exc.strerror or exc} ({exc.filename})") from None
    namespace = ""
    context_name = ""
    if isinstance(current, Mapping):
        context_name = str(current.get("name") or "")
        ctx = current.get("context")
        if isinstance(ctx, Mapping):
            namespace = str(ctx.get("namespace") or "")
    source = f"kubeconfig {spec}" + (f" context {context_name}" if context_name else "")
    cluster = _from_configuration(configuration, namespace=namespace or "default", source=source)
    token_file = _user_token_file(loader)
    if token_file is not None:
        # The kubernetes loader reads `tokenFile` once; client-go re-reads it, so rotated tokens work.
        headers = {k: v for k, v in cluster.headers.items() if k != "Authorization"}
        cluster = dataclasses.replace(cluster, headers=headers, token=_normalise_bearer(_FileToken(token_file)))
    return cluster


def _user_token_file(loader: Any) -> pathlib.Path | None:
    """The absolute `tokenFile` of the active user, when it authenticates by a token file alone."""
    user = getattr(loader, "_user", None)
    if user is None or "token" in user or "tokenFile" not in user:
        return None
    if "auth-provider" in user or "exec" in user:
        return None
    base = pathlib.Path(getattr(user, "path", None) or ".").expanduser().parent
    return base / str(user["tokenFile"])


def load_incluster(*, environ: Mapping[str, str] | None = None,
                   directory: str | os.PathLike[str] = SERVICE_ACCOUNT_DIR) -> ClusterConfig:
    """The in-cluster configuration: `KUBERNETES_SERVICE_HOST`/`_PORT`, and the service account's
    token (re-read as it rotates), CA and namespace files under `directory`."""
    sa = pathlib.Path(directory)
    env = dict(os.environ if environ is None else environ)
    loader = _incluster_config.InClusterConfigLoader(
        token_filename=str(sa / "token"), cert_filename=str(sa / "ca.crt"), try_refresh_token=True, environ=env)
    configuration = k8s_client.Configuration()
    try:
        loader.load_and_set(configuration)
    except config_exception.ConfigException as exc:
        raise ConfigError(f"in-cluster configuration: {_one_line(exc)}") from None
    except OSError as exc:
        raise ConfigError(f"in-cluster configuration: {exc.strerror or exc} ({exc.filename})") from None
    namespace = "default"
    with contextlib.suppress(OSError):
        namespace = (sa / "namespace").read_text().strip() or namespace
    return _from_configuration(configuration, namespace=namespace, source="in-cluster")


def _from_configuration(configuration: Any, *, namespace: str, source: str) -> ClusterConfig:
    """Turn a filled `kubernetes.client.Configuration` into our `ClusterConfig`."""
    server = str(configuration.host or "").rstrip("/")
    if not server:
        raise ConfigError(f"{source}: no server URL")
    if not server.startswith(("http://", "https://")):
        raise ConfigError(f"{source}: server URL {server!r} must start with http:// or https://")
    headers: dict[str, str] = {}
    token: TokenSource | None = None
    if configuration.api_key:
        token = _CachedToken(lambda: configuration.get_api_key_with_prefix("BearerToken", alias="authorization"))
        token = _normalise_bearer(token)
        if configuration.refresh_api_key_hook is None:
            value = token()
            token = None
            if value:
                headers["Authorization"] = value
    elif configuration.username and configuration.password:
        raw = f"{configuration.username}:{configuration.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
    context = None
    https = server.startswith("https://")
    if https:
        context = _ssl_context(configuration, source)
    return ClusterConfig(server=server, namespace=namespace, headers=headers, ssl=context, token=token,
                         tls_server_name=getattr(configuration, "tls_server_name", None) or None, source=source,
                         ca_file=(configuration.ssl_ca_cert or None) if https else None,
                         cert_file=(configuration.cert_file or None) if https else None,
                         key_file=(configuration.key_file or None) if https else None,
                         insecure=https and not configuration.verify_ssl)


def _ssl_context(configuration: Any, source: str) -> ssl.SSLContext:
    try:
        if configuration.verify_ssl:
            context = ssl.create_default_context(cafile=configuration.ssl_ca_cert or None)
        else:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if configuration.cert_file:
            context.load_cert_chain(configuration.cert_file, configuration.key_file or None)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ConfigError(f"{source}: cannot load TLS material: {_one_line(exc)}") from None
    return context


class _CachedToken:
    """Calls the kubernetes loader's refresh hook (which may run an exec plugin) at most every few seconds."""

    def __init__(self, fetch: Callable[[], str | None], ttl: float | None = None) -> None:
        self._fetch = fetch
        self._ttl = TOKEN_CACHE_SECONDS if ttl is None else ttl
        self._value: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> str | None:
        now = time.monotonic()
        with self._lock:
            if now >= self._expires:
                self._value = self._fetch()
                self._expires = now + self._ttl
            return self._value


class _FileToken:
    """A bearer token read from a file, re-read every few seconds (projected tokens rotate)."""

    def __init__(self, path: pathlib.Path, ttl: float | None = None) -> None:
        self._cached = _CachedToken(self._read, ttl)
        self._path = path
        self._last: str | None = None

    def _read(self) -> str | None:
        try:
            text = self._path.read_text().strip()
        except OSError:
            return self._last  # keep the last good token while the file is being replaced
        self._last = f"Bearer {text}" if text else self._last
        return self._last

    def __call__(self) -> str | None:
        return self._cached()


def _normalise_bearer(source: TokenSource) -> TokenSource:
    """The in-cluster loader stores "bearer <token>" (lower case) and may keep the file's trailing newline."""

    def value() -> str | None:
        raw = source()
        if not raw:
            return None
        raw = raw.strip()
        scheme, _, rest = raw.partition(" ")
        if scheme.lower() == "bearer" and rest:
            return "Bearer " + rest.strip()
        return raw

    return value


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
