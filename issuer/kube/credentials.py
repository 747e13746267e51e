"""Connection settings for kopf's watchers, read with the `kubernetes` package's own loaders.

kopf logs in through a `ConnectionInfo`; the operator builds one from this plain mapping so that kopf's
watch streams and our `Client` use the same kubeconfig file (or the in-cluster service account), even
when the path is given on the command line rather than in KUBECONFIG.
"""

from __future__ import annotations

import os
from typing import Any

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from issuer.kube.errors import ConfigError


def connection_settings(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Keyword arguments for `kopf.ConnectionInfo`: server, CA, client certificate and token."""
    configuration = k8s_client.Configuration()
    namespace = "default"
    try:
        if path is not None or os.environ.get("KUBECONFIG") or os.path.exists(os.path.expanduser("~/.kube/config")):
            config_file = os.fspath(path) if path is not None else None
            k8s_config.load_kube_config(config_file=config_file, client_configuration=configuration)  # type: ignore[no-untyped-call]
            _, active = k8s_config.list_kube_config_contexts(config_file=config_file)  # type: ignore[no-untyped-call]
            namespace = (active or {}).get("context", {}).get("namespace") or "default"
        else:
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            ns_file = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
            if os.path.exists(ns_file):
                with open(ns_file, encoding="utf-8") as handle:
                    namespace = handle.read().strip() or "default"
    except (k8s_config.ConfigException, OSError, ValueError, TypeError) as err:
        raise ConfigError(f"cannot load the Kubernetes configuration: {err}") from None
    token = None
    header = (configuration.api_key or {}).get("authorization") or (configuration.api_key or {}).get("BearerToken")
    if isinstance(header, str) and header:
        prefix = (configuration.api_key_prefix or {}).get("authorization", "")
        token = header.split(" ", 1)[1] if header.lower().startswith("bearer ") else header
        if prefix and not header.lower().startswith("bearer "):
            token = header
    return {
        "server": configuration.host,
        "ca_path": configuration.ssl_ca_cert or None,
        "insecure": not configuration.verify_ssl,
        "username": configuration.username or None,
        "password": configuration.password or None,
        "token": token,
        "certificate_path": configuration.cert_file or None,
        "private_key_path": configuration.key_file or None,
        "default_namespace": namespace,
    }
