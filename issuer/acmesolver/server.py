"""The HTTP-01 solver program (`issuer acmesolver`), the image that solver Pods run, as cert-manager's
`acmesolver`: `--listen-port=8089 --domain=<d> --token=<t> --key=<k>`.

`GET /` and `/healthz` answer 200 (liveness); `/.well-known/acme-challenge/<token>` answers the key
authorization only when the request's Host (port removed, case-insensitive) is the domain and the token
matches; anything else is 404. Every response carries `Cache-Control: no-cache`. Stdlib only (threading
`http.server`), so the Pod starts in a fraction of a second. `serve` is also used in process by the
offline engine's standalone listener (many tokens at once) and by tests.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.server
import signal
import socket
import sys
import threading
from collections.abc import Callable, Mapping, Sequence

CHALLENGE_PREFIX = "/.well-known/acme-challenge/"
DEFAULT_PORT = 8089

Lookup = Callable[[str, str], str | None]
"""(host without port, token) -> the key authorization to serve, or None for 404."""


def host_without_port(host: str) -> str:
    """`example.com:80` -> `example.com`; `[::1]:80` -> `::1`; lowercase."""
    host = host.strip()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end].lower() if end > 0 else host.lower()
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.lower().rstrip(".")


def single(domain: str, token: str, key: str) -> Lookup:
    """The lookup of one solver Pod: one domain, one token."""
    want = host_without_port(domain)

    def lookup(host: str, asked: str) -> str | None:
        return key if host == want and asked == token else None

    return lookup


def table(entries: Mapping[tuple[str, str], str]) -> Lookup:
    """A lookup over {(domain, token): key} (the offline engine serves every pending token of a run)."""

    def lookup(host: str, asked: str) -> str | None:
        return entries.get((host, asked))

    return lookup


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "issuer-acmesolver"
    protocol_version = "HTTP/1.1"
    lookup: Lookup
    quiet: bool = True

    def version_string(self) -> str:
        return self.server_version

    def _reply(self, status: int, body: bytes, head_only: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def _handle(self, head_only: bool) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/", "/healthz"):
            self._reply(200, b"", head_only)
            return
        if path.startswith(CHALLENGE_PREFIX):
            token = path[len(CHALLENGE_PREFIX) :]
            key = type(self).lookup(host_without_port(self.headers.get("Host", "")), token) if token else None
            if key is not None:
                self._reply(200, key.encode(), head_only)
                return
        self._reply(404, b"404 page not found\n", head_only)

    def do_GET(self) -> None:
        self._handle(head_only=False)

    def do_HEAD(self) -> None:
        self._handle(head_only=True)

    def log_message(self, format: str, *args: object) -> None:  # stdlib signature
        if not self.quiet:
            sys.stderr.write(f"acmesolver: {self.address_string()} {format % args}\n")


@dataclasses.dataclass
class Server:
    """A running solver listener; `stop()` shuts it down within ~10 ms."""

    httpd: http.server.ThreadingHTTPServer
    thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)


class _Threading(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # CAs validate from several perspectives at once (Pebble: 3 GETs per challenge): socketserver's backlog
    # of 5 drops SYNs under a burst, and the client's retransmit then costs a whole second.
    request_queue_size = 128


class _DualStack(_Threading):
    address_family = socket.AF_INET6

    def server_bind(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def make_server(lookup: Lookup, port: int, host: str = "", *, quiet: bool = True) -> Server:
    """Listen on `host:port`; with no host, on every IPv6 and IPv4 address (IPv4 only if IPv6 is off),
    since solver Pods may run in IPv6-only or dual-stack clusters."""
    handler = type("Handler", (_Handler,), {"lookup": staticmethod(lookup), "quiet": quiet})
    if not host and socket.has_ipv6:
        try:
            return Server(_DualStack(("::", port), handler))
        except OSError:
            pass
    if ":" in host:
        return Server(type("V6", (_Threading,), {"address_family": socket.AF_INET6})((host, port), handler))
    return Server(_Threading((host, port), handler))


def serve_in_thread(lookup: Lookup, port: int, host: str = "") -> Server:
    """Start listening now and serve from a daemon thread (shutdown polls every 10 ms)."""
    server = make_server(lookup, port, host)
    server.thread = threading.Thread(
        target=server.httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="acmesolver", daemon=True
    )
    server.thread.start()
    return server


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="issuer acmesolver", description="Serve one ACME HTTP-01 challenge response (run in solver Pods)."
    )
    parser.add_argument("--listen-port", type=int, default=DEFAULT_PORT, help="port to listen on (default 8089)")
    parser.add_argument("--domain", required=True, help="the domain being validated")
    parser.add_argument("--token", required=True, help="the challenge token")
    parser.add_argument("--key", required=True, help="the key authorization to serve")
    parser.add_argument("--listen-address", default="", help="address to bind (default: all)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        server = make_server(single(args.domain, args.token, args.key), args.listen_port, args.listen_address,
                             quiet=not args.verbose)
    except OSError as err:
        print(f"error: cannot listen on port {args.listen_port}: {err.strerror or err}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()
        threading.Thread(target=server.httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"acmesolver: listening on :{server.port} for {args.domain}", file=sys.stderr, flush=True)
    try:
        server.httpd.serve_forever(poll_interval=0.05)
    finally:
        server.httpd.server_close()
    return 0
