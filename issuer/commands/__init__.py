"""The cmctl-style operations commands of `issuer`: `status certificate`, `renew`, `approve`, `deny`,
`inspect secret` and `check api` (cert-manager-inventory.md §8). `register` adds their subparsers to the
`issuer` command line (called once by `issuer.cli.build_parser`); each handler lives in its own module and
is imported only when its command runs, so `issuer --help` stays fast.

Every command takes `--kubeconfig PATH`, `--context NAME`, `-n/--namespace NS` (default: the kubeconfig
context's namespace, else "default") and `-o json`; talks to the API server through
`issuer.kube.client.Client`, one `asyncio.run` per command; and exits 0 (done), 1 (failed, refused or not
ready) or 2 (usage), with a single `error: ...` line on stderr instead of a traceback.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

_HANDLERS = {
    "status-certificate": ("issuer.commands.status", "main"),
    "renew": ("issuer.commands.renew", "main"),
    "approve": ("issuer.commands.approval", "approve"),
    "deny": ("issuer.commands.approval", "deny"),
    "inspect-secret": ("issuer.commands.inspection", "main"),
    "check-api": ("issuer.commands.check", "main"),
}


def _handler(key: str) -> Any:
    module, attr = _HANDLERS[key]

    def run(args: argparse.Namespace) -> int:
        result: int = getattr(importlib.import_module(module), attr)(args)
        return result

    return run


def _common(parser: argparse.ArgumentParser, *, cluster: bool = True) -> None:
    if cluster:
        parser.add_argument("--kubeconfig", metavar="PATH",
                            help="kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
        parser.add_argument("--context", metavar="NAME", help="kubeconfig context to use (default: the current one)")
        parser.add_argument("-n", "--namespace", metavar="NS",
                            help="namespace (default: the kubeconfig context's namespace, else default)")
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text",
                        help="output format (default: text)")


def register(sub: Any) -> None:
    """Add the operations subcommands to `sub` (the `issuer` parser's subparsers action)."""
    status = sub.add_parser("status", help="show the state of a Certificate and everything it depends on")
    status_sub = status.add_subparsers(dest="status_kind", metavar="KIND", required=True)
    cert = status_sub.add_parser(
        "certificate", aliases=["cert"], help="status of one Certificate",
        description="Print a Certificate's conditions, events, issuer, Secret, current or next "
                    "CertificateRequest and, for ACME, its Order and Challenges. Exits 0 when the Certificate "
                    "exists (whether Ready or not; see the Ready line or `ready` in -o json), 1 when it does not.")
    cert.add_argument("name", metavar="NAME")
    _common(cert)
    cert.set_defaults(handler=_handler("status-certificate"))

    renew = sub.add_parser(
        "renew", help="trigger re-issuance of Certificates now",
        description="Set Issuing=True (reason ManuallyTriggered) on Certificates, as `cmctl renew` does. "
                    "Named Certificates that are already issuing are refused (exit 1); with --all or -l they "
                    "are skipped.")
    renew.add_argument("names", nargs="*", metavar="NAME")
    renew.add_argument("--all", action="store_true", help="every Certificate in the namespace")
    renew.add_argument("-A", "--all-namespaces", action="store_true", help="with --all or -l: in every namespace")
    renew.add_argument("-l", "--selector", metavar="SELECTOR", help="Certificates matching this label selector")
    _common(renew)
    renew.set_defaults(handler=_handler("renew"))

    for verb, past in (("approve", "approved"), ("deny", "denied")):
        p = sub.add_parser(
            verb, help=f"{verb} a CertificateRequest",
            description=f"Set the {past.capitalize()}=True condition on a CertificateRequest. Approval and "
                        "denial are permanent and mutually exclusive: a request already approved or denied "
                        "is refused (exit 1).")
        p.add_argument("name", metavar="NAME")
        p.add_argument("--reason", default="KubectlCertManager",
                       help="the condition's reason (default: KubectlCertManager)")
        p.add_argument("--message", default=f'manually {past} by "issuer"',
                       help=f'the condition\'s message (default: manually {past} by "issuer")')
        _common(p)
        p.set_defaults(handler=_handler(verb))

    inspect = sub.add_parser("inspect", help="decode and explain issued material")
    inspect_sub = inspect.add_subparsers(dest="inspect_kind", metavar="KIND", required=True)
    secret = inspect_sub.add_parser(
        "secret", help="the certificate in a kubernetes.io/tls Secret",
        description="Explain tls.crt (names, validity, issuer, subject, algorithms, fingerprints, chain) and "
                    "whether ca.crt verifies it. NAME reads the Secret from the cluster; --file reads a PEM "
                    "file or a Secret manifest (YAML or JSON) without a cluster.")
    secret.add_argument("name", nargs="?", metavar="NAME")
    secret.add_argument("--file", "-f", dest="file", metavar="PATH",
                        help="read a PEM file or a Secret manifest instead (offline)")
    _common(secret)
    secret.set_defaults(handler=_handler("inspect-secret"))

    check = sub.add_parser("check", help="check that the cert-manager API is usable")
    check_sub = check.add_subparsers(dest="check_kind", metavar="KIND", required=True)
    api = check_sub.add_parser(
        "api", help="is the cert-manager.io/v1 API served and validating?",
        description="Check that the CRDs are installed and Established, that cert-manager.io/v1 is served, "
                    "that a valid CertificateRequest is accepted and an invalid Certificate rejected "
                    "(dry run: nothing is created). Exits 0 with 'The cert-manager API is ready', else 1.")
    api.add_argument("--wait", default="0s", metavar="DURATION",
                     help="keep checking for up to this long (Go duration, default: 0s)")
    api.add_argument("--interval", default="5s", metavar="DURATION",
                     help="time between checks while waiting (default: 5s)")
    _common(api)
    api.set_defaults(handler=_handler("check-api"))
