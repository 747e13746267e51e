"""The `issuer` command: offline issuance, the controller, the embedded API server and cmctl-style tools.

Each subcommand parses its flags here and calls into the package; errors reach the user as one readable
line on stderr and a meaningful exit code (0 ok, 1 failure, 2 invalid input or usage), never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

import issuer

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace], int]


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of processes, at least 1: {text!r}")
    return value


def _cmd_issue(args: argparse.Namespace) -> int:
    from issuer import offline

    return offline.main(args)


def _cmd_run(args: argparse.Namespace) -> int:
    import asyncio
    import datetime as dt
    import logging

    from issuer.api import duration
    from issuer.operator.runtime import Options

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("kopf", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        backoff_min = duration.parse(args.backoff_min)
        backoff_max = duration.parse(args.backoff_max)
    except duration.DurationError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    from issuer.controllers import ingress_shim

    shim = ingress_shim.Options(
        default_issuer_name=args.default_issuer_name,
        default_issuer_kind=args.default_issuer_kind,
        default_issuer_group=args.default_issuer_group,
        auto_certificate_annotations=tuple(a for a in args.auto_certificate_annotations.split(",") if a),
        extra_certificate_annotations=tuple(a for a in args.extra_certificate_annotations.split(",") if a),
    )
    if not 0 <= args.renewal_jitter < 100:
        print("error: --renewal-jitter must be a percentage from 0 to 99", file=sys.stderr)
        return EXIT_USAGE
    options = Options(
        ingress_shim=shim,
        renewal_jitter=args.renewal_jitter / 100,
        ca_friendly_backoff=args.backoff_schedule == "ca-friendly",
        namespace=args.namespace,
        cluster_resource_namespace=args.cluster_resource_namespace,
        owner_reference=args.enable_certificate_owner_ref,
        auto_approve=not args.disable_auto_approval,
        workers=args.concurrent_workers,
        backoff_min=max(backoff_min, dt.timedelta(seconds=1)),
        backoff_max=max(backoff_max, backoff_min),
    )
    from issuer.operator import acme as acme_ext
    from issuer.operator import app

    try:
        check_period = duration.parse(args.dns01_check_retry_period).total_seconds()
        propagation_wait = duration.parse(args.dns01_propagation_wait).total_seconds()
    except duration.DurationError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    self_check_address: tuple[str, int] | None = None
    if args.acme_http01_self_check_address:
        host, _, port = args.acme_http01_self_check_address.rpartition(":")
        if not host or not (port.isascii() and port.isdigit()):
            print("error: --acme-http01-self-check-address must be HOST:PORT", file=sys.stderr)
            return EXIT_USAGE
        self_check_address = (host.strip("[]"), int(port))
    acme = acme_ext.Settings(
        solver_image=args.acme_http01_solver_image,
        max_concurrent_challenges=max(1, args.max_concurrent_challenges),
        dns01_check_period=max(0.1, check_period),
        dns01_recursive_nameservers=tuple(x.strip() for x in args.dns01_recursive_nameservers.split(",") if x.strip()),
        dns01_recursive_nameservers_only=args.dns01_recursive_nameservers_only,
        dns01_propagation_wait=max(0.0, propagation_wait),
        http01_self_check=args.acme_http01_self_check_passes > 0,
        http01_self_check_passes=max(1, args.acme_http01_self_check_passes),
        http01_self_check_address=self_check_address,
    )
    settings = app.RunSettings(
        metrics_address=args.metrics_listen_address,
        health_address=args.health_listen_address,
        leader_elect=args.leader_elect,
        leader_election_namespace=args.leader_election_namespace,
        leader_election_id=args.leader_election_id,
        identity=args.leader_election_identity or os.environ.get("POD_NAME", ""),
        lease_duration=duration.parse(args.leader_election_lease_duration).total_seconds(),
        renew_deadline=duration.parse(args.leader_election_renew_deadline).total_seconds(),
        retry_period=duration.parse(args.leader_election_retry_period).total_seconds(),
    )
    try:
        if args.embedded:
            from issuer import playground

            asyncio.run(playground.run(options, settings, port=args.port, kubeconfig=args.kubeconfig,
                                       state=args.state, acme=acme))
        else:
            return asyncio.run(app.run(options, settings, kubeconfig=args.kubeconfig, acme=acme))
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception as err:  # the one place a fatal start-up error becomes one readable line
        from issuer.kube.errors import KubeError
        from issuer.testing.persistence import StateFileError

        if isinstance(err, KubeError | StateFileError | OSError):
            print(f"error: {err}", file=sys.stderr)
            return EXIT_FAILED
        raise
    return EXIT_OK


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
        "--workers", type=_workers, default=0, metavar="N",
        help="processes reading big files and issuing Certificates that do not depend on each other "
        "(default: one per CPU)",
    )
    issue.add_argument(
        "-n", "--namespace", default="default", help="namespace for documents that name none (default: default)"
    )
    issue.add_argument(
        "--cluster-resource-namespace", default="cert-manager",
        help="where ClusterIssuer Secrets live (default: cert-manager)",
    )
    issue.add_argument("-q", "--quiet", action="store_true", help="print no YAML, only the summary on stderr")
    from issuer import offline

    offline.add_acme_arguments(issue)
    issue.set_defaults(handler=_cmd_issue)

    run = sub.add_parser(
        "run",
        help="run the controller (in-cluster, via kubeconfig, or --embedded with its own API server)",
        description="Run the certificate controller.",
    )
    run.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig to use (with --embedded: where to write it)")
    run.add_argument("--embedded", action="store_true",
                     help="also start an embedded API server on loopback and install the CRDs (no cluster needed)")
    run.add_argument("--port", type=int, default=6443, help="with --embedded: the API server port (0: any free)")
    run.add_argument("--state", metavar="FILE", help="with --embedded: keep all objects in FILE across restarts")
    run.add_argument("-n", "--namespace", help="namespaced mode: only this namespace (Role-only RBAC)")
    run.add_argument("--cluster-resource-namespace", default="cert-manager",
                     help="where ClusterIssuer Secrets live (default: cert-manager)")
    run.add_argument("--enable-certificate-owner-ref", action="store_true",
                     help="make Certificates the owners of their Secrets (deleted with them)")
    run.add_argument("--disable-auto-approval", action="store_true",
                     help="do not approve CertificateRequests automatically (use `issuer approve`)")
    run.add_argument("--concurrent-workers", type=int, default=5, help="workers per controller (default: 5)")
    run.add_argument("--backoff-min", default="1h", help="first delay after a failed issuance (default: 1h)")
    run.add_argument("--backoff-max", default="32h", help="longest delay after failed issuances (default: 32h)")
    run.add_argument("--backoff-schedule", choices=["exponential", "ca-friendly"], default="exponential",
                     help="exponential: --backoff-min doubling to --backoff-max (cert-manager); ca-friendly: 5m, 15m, "
                          "30m, then never more than one new request an hour")
    run.add_argument("--renewal-jitter", type=float, default=0.0, metavar="PERCENT",
                     help="renew up to PERCENT of a certificate's lifetime earlier, the same for each certificate "
                          "across restarts, so that certificates issued together do not renew together (default 0)")
    run.add_argument("--metrics-listen-address", default=":9402", help="Prometheus /metrics ('' turns it off)")
    run.add_argument("--health-listen-address", default=":9403", help="/livez and /readyz ('' turns it off)")
    run.add_argument("--leader-elect", action="store_true", help="run with leader election (several replicas)")
    run.add_argument("--leader-election-namespace", default="kube-system", help="namespace of the Lease")
    run.add_argument("--leader-election-id", default="cert-manager-controller", help="name of the Lease")
    run.add_argument("--leader-election-identity", default="", help="this replica's name (default: $POD_NAME)")
    run.add_argument("--leader-election-lease-duration", default="60s")
    run.add_argument("--leader-election-renew-deadline", default="40s")
    run.add_argument("--leader-election-retry-period", default="15s")
    run.add_argument("--acme-http01-solver-image", default=os.environ.get("ISSUER_IMAGE", ""),
                     help="image of ACME HTTP-01 solver Pods (default: $ISSUER_IMAGE, this controller's image)")
    run.add_argument("--max-concurrent-challenges", type=int, default=60,
                     help="most ACME Challenges processed at once (default: 60)")
    run.add_argument("--dns01-recursive-nameservers", default="", metavar="HOST:PORT,...",
                     help="nameservers for DNS-01 propagation checks (default: /etc/resolv.conf)")
    run.add_argument("--dns01-recursive-nameservers-only", action="store_true",
                     help="ask only the recursive nameservers, not the zone's authoritative ones")
    run.add_argument("--dns01-check-retry-period", default="10s",
                     help="how often an unready challenge self-check runs again (default: 10s; HTTP-01 too)")
    run.add_argument("--dns01-propagation-wait", default="60s",
                     help="wait after the DNS-01 propagation check passed, before accepting (default: 60s)")
    run.add_argument("--acme-http01-self-check-passes", type=int, default=5,
                     help="consecutive HTTP-01 self-check passes, 2s apart, before accepting (default: 5; 0: none)")
    run.add_argument("--acme-http01-self-check-address", default="", metavar="HOST:PORT",
                     help="send HTTP-01 self-check requests there, with the domain as Host (default: the domain)")
    run.add_argument("--default-issuer-name", default="", help="issuer for Ingresses with kubernetes.io/tls-acme")
    run.add_argument("--default-issuer-kind", default="Issuer")
    run.add_argument("--default-issuer-group", default="cert-manager.io")
    run.add_argument("--auto-certificate-annotations", default="kubernetes.io/tls-acme",
                     help="comma list of Ingress annotations that ask for the default issuer")
    run.add_argument("--extra-certificate-annotations", default="",
                     help="comma list of Ingress annotations copied onto its Certificates")
    run.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    run.set_defaults(handler=_cmd_run)

    apiserver = sub.add_parser(
        "apiserver",
        add_help=False,
        help="run the embedded Kubernetes API server in the foreground (--help for its flags)",
    )
    apiserver.add_argument("rest", nargs=argparse.REMAINDER)
    apiserver.set_defaults(handler=_cmd_apiserver)

    from issuer import commands  # status, renew, approve, deny, inspect, check (cmctl-style operations)

    commands.register(sub)
    return parser


def _cmd_acmesolver(args: argparse.Namespace) -> int:
    from issuer import acmesolver

    return acmesolver.main(args.rest)


_PASSTHROUGH: dict[str, Handler] = {"apiserver": _cmd_apiserver, "acmesolver": _cmd_acmesolver}


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
