"""The `issuer` command: offline issuance, the controller, the embedded API server and cmctl-style tools.

Each subcommand parses its flags here and calls into the package; errors reach the user as one readable
line on stderr and a meaningful exit code (0 ok, 1 failure, 2 invalid input or usage), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import issuer

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace], int]


def _cmd_issue(args: argparse.Namespace) -> int:
    from issuer import offline

    return offline.main(args)


def _cmd_apiserver(args: argparse.Namespace) -> int:
    from issuer.testing import main as apiserver_main

    return apiserver_main.main(args.rest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="issuer",
        description="A cert-manager-compatible certificate controller for Kubernetes.",
    )
    parser.add_argument("--version", action="version", version=f"issuer {issuer.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    issue = sub.add_parser(
        "issue",
        help="issue certificates offline from cert-manager manifests (no cluster)",
        description=(
            "Read Issuers, ClusterIssuers, Certificates and Secrets from YAML, issue every Certificate whose "
            "issuer is SelfSigned or CA in dependency order, and print the resulting kubernetes.io/tls "
            "Secrets as YAML that `kubectl apply -f -` accepts."
        ),
    )
    issue.add_argument(
        "-f", "--filename", action="append", required=True, metavar="FILE",
        help="a manifest file or folder (repeatable; - reads standard input)",
    )
    issue.add_argument("--out-dir", metavar="DIR", help="also write DIR/<namespace>/<secretName>/<key> files")
    issue.add_argument(
        "-n", "--namespace", default="default", help="namespace for documents that name none (default: default)"
    )
    issue.add_argument(
        "--cluster-resource-namespace", default="cert-manager",
        help="where ClusterIssuer Secrets live (default: cert-manager)",
    )
    issue.add_argument("-q", "--quiet", action="store_true", help="print no YAML, only the summary on stderr")
    issue.set_defaults(handler=_cmd_issue)

    apiserver = sub.add_parser(
        "apiserver",
        add_help=False,
        help="run the embedded Kubernetes API server in the foreground (--help for its flags)",
    )
    apiserver.add_argument("rest", nargs=argparse.REMAINDER)
    apiserver.set_defaults(handler=_cmd_apiserver)
    return parser


_PASSTHROUGH = {"apiserver": _cmd_apiserver}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _PASSTHROUGH:  # these parse their own flags
        return _PASSTHROUGH[argv[0]](argparse.Namespace(rest=argv[1:]))
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
