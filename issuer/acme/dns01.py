"""DNS-01 record names, CNAME following, zone discovery and the propagation check (cert-manager
`pkg/issuer/acme/dns/util`), with dnspython; shared by the providers (`rfc2136`) and the Challenge
controller's self-check.

- `record_name("*.example.com")` -> `_acme-challenge.example.com.` (wildcards validate on the base name).
- `resolve_fqdn(name, cname_strategy, nameservers)`: with `Follow`, CNAMEs of the record name are followed
  (at most 10 hops) so the TXT is written where the CA will look.
- `find_zone(fqdn, nameservers)`: the zone apex by SOA lookup (answer or authority section), walking up.
- `check_propagation(fqdn, value, ...)`: every authoritative nameserver of the zone (found through the
  recursive nameservers) must answer the TXT value; with `nameservers_only` the given nameservers are asked
  instead. Returns (ok, reason).

Synchronous on purpose (each query is one UDP round trip, TCP on truncation); async callers use the
`a*` wrappers, which run them in `asyncio.to_thread`. Nameservers are "host[:port]" (IPv6 in brackets,
default port 53).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype

from issuer.acme import errors

CHALLENGE_LABEL = "_acme-challenge"
CNAME_FOLLOW = "Follow"
CNAME_NONE = "None"
MAX_CNAME_HOPS = 10
DEFAULT_TIMEOUT = 5.0

Nameserver = tuple[str, int]  # (IP address, port)


def record_name(dns_name: str) -> str:
    """`_acme-challenge.<name>.` for a Challenge's dnsName (a `*.` prefix, if present, is dropped)."""
    base = dns_name.removeprefix("*.").rstrip(".")
    return f"{CHALLENGE_LABEL}.{base}."


def parse_nameserver(value: str, default_port: int = 53) -> Nameserver:
    """"host[:port]", "[v6]:port", "[v6]" or a bare IP -> (IP, port); host names are resolved once."""
    text = value.strip()
    if not text:
        raise errors.InvalidConfig("nameserver must not be empty")
    if text.startswith(("https://", "http://")):
        raise errors.InvalidConfig(f"nameserver {text!r}: DNS over HTTPS is not supported by this controller yet")
    host, port = text, default_port
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise errors.InvalidConfig(f"nameserver {text!r}: missing ']' in IPv6 address")
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise errors.InvalidConfig(f"nameserver {text!r}: expected ':port' after ']'")
            port = _port(rest[1:], text)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        port = _port(port_text, text)
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError:
        pass
    if not host or any(ch.isspace() for ch in host):
        raise errors.InvalidConfig(f"nameserver {text!r}: invalid host {host!r}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except UnicodeError:
        raise errors.InvalidConfig(f"nameserver {text!r}: invalid host {host!r}") from None
    except OSError as err:
        raise errors.Retryable(f"nameserver {text!r}: cannot resolve {host}: {err}") from None
    return str(infos[0][4][0]), port


def _port(text: str, whole: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        raise errors.InvalidConfig(f"nameserver {whole!r}: invalid port {text!r}")
    return int(text)


def query(
    name: str, rdtype: str, server: Nameserver, *, timeout: float = DEFAULT_TIMEOUT, recursion: bool = True
) -> dns.message.Message:
    """One query (UDP, TCP when truncated); Retryable on timeouts and network errors."""
    q = dns.message.make_query(name, rdtype)
    if not recursion:
        q.flags &= ~dns.flags.RD
    try:
        reply, _tcp = dns.query.udp_with_fallback(q, server[0], timeout=timeout, port=server[1])
    except (dns.exception.DNSException, OSError) as err:
        why = str(err) or type(err).__name__
        raise errors.Retryable(f"DNS query {name} {rdtype} to {_fmt(server)} failed: {why}") from None
    if not isinstance(reply, dns.message.Message):  # pragma: no cover - udp_with_fallback returns Messages
        raise errors.Retryable(f"DNS query {name} {rdtype} to {_fmt(server)}: unexpected reply")
    return reply


def _fmt(server: Nameserver) -> str:
    host, port = server
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _first_answer(
    servers: Sequence[Nameserver], name: str, rdtype: str, timeout: float = DEFAULT_TIMEOUT
) -> dns.message.Message:
    last: errors.ACMEError | None = None
    for server in servers:
        try:
            reply = query(name, rdtype, server, timeout=timeout)
        except errors.Retryable as err:
            last = err
            continue
        if reply.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            return reply
        last = errors.Retryable(
            f"DNS query {name} {rdtype} to {_fmt(server)}: {dns.rcode.to_text(reply.rcode())}"
        )
    raise last or errors.Retryable(f"DNS query {name} {rdtype}: no nameservers")


def follow_cname(fqdn: str, nameservers: Sequence[Nameserver]) -> str:
    """Where `fqdn` ends after following CNAMEs (itself when it has none)."""
    name = fqdn if fqdn.endswith(".") else fqdn + "."
    for _ in range(MAX_CNAME_HOPS):
        reply = _first_answer(nameservers, name, "CNAME")
        target = ""
        for rrset in reply.answer:
            if rrset.rdtype == dns.rdatatype.CNAME and rrset.name == dns.name.from_text(name):
                target = str(rrset[0].target)
        if not target:
            return name
        name = target
    raise errors.Terminal("", f"too many CNAMEs following {fqdn}", message=f"too many CNAMEs following {fqdn}")


def resolve_fqdn(dns_name: str, cname_strategy: str, nameservers: Sequence[Nameserver]) -> str:
    """The FQDN to write the TXT record at: the record name, or its CNAME target with `Follow`."""
    fqdn = record_name(dns_name)
    return follow_cname(fqdn, nameservers) if cname_strategy == CNAME_FOLLOW else fqdn


def find_zone(fqdn: str, nameservers: Sequence[Nameserver], timeout: float = DEFAULT_TIMEOUT) -> str:
    """The zone apex holding `fqdn` (with trailing dot), from SOA answers or the authority section."""
    name = dns.name.from_text(fqdn)
    while len(name.labels) > 1:
        reply = _first_answer(nameservers, name.to_text(), "SOA", timeout)
        for section in (reply.answer, reply.authority):
            for rrset in section:
                if rrset.rdtype == dns.rdatatype.SOA and (rrset.name == name or name.is_subdomain(rrset.name)):
                    return str(rrset.name.to_text())
        name = name.parent()
    raise errors.Retryable(f"could not find the zone of {fqdn}: no SOA record found")


def authoritative_nameservers(zone: str, nameservers: Sequence[Nameserver], port: int = 53) -> list[Nameserver]:
    """The zone's NS hosts resolved to addresses (through `nameservers`), at `port`."""
    reply = _first_answer(nameservers, zone, "NS")
    hosts = sorted({str(rr.target) for rrset in reply.answer if rrset.rdtype == dns.rdatatype.NS for rr in rrset})
    out: list[Nameserver] = []
    for host in hosts:
        addrs = _addresses(host, reply, nameservers)
        out.extend((addr, port) for addr in addrs[:1])
    if not out:
        raise errors.Retryable(f"could not find the authoritative nameservers of {zone}")
    return out


def _addresses(host: str, reply: dns.message.Message, nameservers: Sequence[Nameserver]) -> list[str]:
    glue = [
        rr.address
        for rrset in reply.additional
        if rrset.name == dns.name.from_text(host) and rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
        for rr in rrset
    ]
    if glue:
        return [str(a) for a in glue]
    for rdtype in ("A", "AAAA"):
        answer = _first_answer(nameservers, host, rdtype)
        wanted = dns.rdatatype.from_text(rdtype)
        found = [str(rr.address) for rrset in answer.answer if rrset.rdtype == wanted for rr in rrset]
        if found:
            return found
    return []


def txt_values(fqdn: str, server: Nameserver, *, recursion: bool) -> list[str]:
    reply = query(fqdn, "TXT", server, recursion=recursion)
    return [
        b"".join(rr.strings).decode("utf-8", "replace")
        for rrset in reply.answer
        if rrset.rdtype == dns.rdatatype.TXT
        for rr in rrset
    ]


def check_propagation(
    fqdn: str,
    value: str,
    recursive_nameservers: Sequence[Nameserver],
    *,
    nameservers_only: bool = False,
    authoritative_port: int = 53,
) -> tuple[bool, str]:
    """(True, "") when the TXT value is visible where the CA will look, else (False, why).

    Default: every authoritative nameserver of the zone (found through `recursive_nameservers`) must
    answer it; `nameservers_only`: the `recursive_nameservers` themselves are asked.
    """
    try:
        if nameservers_only:
            targets, recursion = list(recursive_nameservers), True
        else:
            zone = find_zone(fqdn, recursive_nameservers)
            targets = authoritative_nameservers(zone, recursive_nameservers, authoritative_port)
            recursion = False
        for server in targets:
            found = txt_values(fqdn, server, recursion=recursion)
            if value not in found:
                return False, f"DNS record for {fqdn.rstrip('.')!r} not yet propagated (nameserver {_fmt(server)})"
    except errors.ACMEError as err:
        return False, str(err)
    return True, ""


async def acheck_propagation(
    fqdn: str,
    value: str,
    recursive_nameservers: Sequence[Nameserver],
    *,
    nameservers_only: bool = False,
    authoritative_port: int = 53,
) -> tuple[bool, str]:
    return await asyncio.to_thread(
        check_propagation,
        fqdn,
        value,
        recursive_nameservers,
        nameservers_only=nameservers_only,
        authoritative_port=authoritative_port,
    )


async def aresolve_fqdn(dns_name: str, cname_strategy: str, nameservers: Sequence[Nameserver]) -> str:
    return await asyncio.to_thread(resolve_fqdn, dns_name, cname_strategy, nameservers)


def system_nameservers() -> list[Nameserver]:
    """The recursive nameservers of /etc/resolv.conf, else 8.8.8.8 and 8.8.4.4 (cert-manager's fallback)."""
    found: list[Nameserver] = []
    try:
        with open("/etc/resolv.conf", encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    try:
                        found.append((str(ipaddress.ip_address(parts[1].split("%")[0])), 53))
                    except ValueError:
                        continue
    except OSError:
        pass
    return found or [("8.8.8.8", 53), ("8.8.4.4", 53)]
