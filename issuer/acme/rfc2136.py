"""The RFC 2136 (dynamic DNS UPDATE) DNS-01 provider, as cert-manager's `pkg/issuer/acme/dns/rfc2136`.

`present` inserts one TXT record (TTL 60) and `cleanup` removes exactly that value, so other values on the
same name (an apex and its wildcard validate on one name) survive. The zone is found by SOA lookup against
the configured nameserver itself. TSIG is used when a key name and secret are given: algorithms HMACMD5
(default), HMACSHA1, HMACSHA256, HMACSHA512 (case-insensitive), fudge 300 s. UDP by default, or TCP.

Synchronous (dnspython; one UPDATE is one round trip); the `a*` wrappers run in `asyncio.to_thread` for
the operator. Errors: `Retryable` for timeouts, network errors and SERVFAIL; `Terminal` for refusals
(REFUSED, NOTAUTH, bad TSIG, ...) and `InvalidConfig` for unusable settings.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import dns.update

from issuer.acme import dns01, errors
from issuer.api import types as t

TTL = 60
TSIG_FUDGE = 300
DEFAULT_TIMEOUT = 5.0
ALGORITHMS = {
    "HMACMD5": dns.tsig.HMAC_MD5,
    "HMACSHA1": dns.tsig.HMAC_SHA1,
    "HMACSHA256": dns.tsig.HMAC_SHA256,
    "HMACSHA512": dns.tsig.HMAC_SHA512,
}
DEFAULT_ALGORITHM = "HMACMD5"


@dataclasses.dataclass(frozen=True)
class Config:
    nameserver: dns01.Nameserver
    tsig_key_name: str = ""
    tsig_secret: bytes = b""  # the decoded secret
    tsig_algorithm: str = DEFAULT_ALGORITHM
    tcp: bool = False
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_spec(cls, spec: t.RFC2136, tsig_secret: bytes | str = b"") -> Config:
        """From the solver's `rfc2136` block and the TSIG Secret's value (base64, as BIND prints it)."""
        algorithm = (spec.tsig_algorithm or DEFAULT_ALGORITHM).upper()
        if algorithm not in ALGORITHMS:
            raise errors.InvalidConfig(
                f"algorithm {spec.tsig_algorithm!r} is not supported: must be one of {', '.join(ALGORITHMS)}"
            )
        protocol = (spec.protocol or "UDP").upper()
        if protocol not in ("UDP", "TCP"):
            raise errors.InvalidConfig(f"protocol {spec.protocol!r} is not supported: must be UDP or TCP")
        secret = b""
        if spec.tsig_key_name:
            text = tsig_secret.decode("ascii", "replace") if isinstance(tsig_secret, bytes) else tsig_secret
            try:
                secret = base64.b64decode(text.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise errors.InvalidConfig("the TSIG secret is not valid base64") from None
            if not secret:
                raise errors.InvalidConfig("the TSIG secret is empty")
        return cls(
            nameserver=dns01.parse_nameserver(spec.nameserver),
            tsig_key_name=spec.tsig_key_name,
            tsig_secret=secret,
            tsig_algorithm=algorithm,
            tcp=protocol == "TCP",
        )


class Provider:
    """One configured RFC 2136 server."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def find_zone(self, fqdn: str) -> str:
        return dns01.find_zone(fqdn, [self.config.nameserver], self.config.timeout)

    def _update(self, fqdn: str, value: str, add: bool) -> None:
        cfg = self.config
        name = fqdn if fqdn.endswith(".") else fqdn + "."
        zone = self.find_zone(name)
        if cfg.tsig_key_name:
            keyring = dns.tsigkeyring.from_text({cfg.tsig_key_name: base64.b64encode(cfg.tsig_secret).decode()})
            upd = dns.update.UpdateMessage(zone)
            upd.use_tsig(keyring, keyname=cfg.tsig_key_name, fudge=TSIG_FUDGE, algorithm=ALGORITHMS[cfg.tsig_algorithm])
        else:
            upd = dns.update.UpdateMessage(zone)
        rdata = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if add:
            upd.add(name, TTL, "TXT", rdata)
        else:
            upd.delete(name, "TXT", rdata)
        what = "present" if add else "clean up"
        host, port = cfg.nameserver
        try:
            send = dns.query.tcp if cfg.tcp else dns.query.udp
            reply = send(upd, host, timeout=cfg.timeout, port=port)
        except dns.tsig.PeerError as err:
            raise errors.Terminal(
                "", f"DNS update to {host}:{port} refused the TSIG key {cfg.tsig_key_name!r}: {type(err).__name__}"
            ) from None
        except (dns.exception.DNSException, OSError) as err:
            raise errors.Retryable(f"cannot {what} the TXT record {name} at {host}:{port}: {err}") from None
        rcode = reply.rcode()
        if rcode == dns.rcode.NOERROR:
            return
        text = dns.rcode.to_text(rcode)
        message = f"DNS update to {host}:{port} for {name} in zone {zone} failed: {text}"
        if rcode == dns.rcode.SERVFAIL:
            raise errors.Retryable(message)
        raise errors.Terminal("", message, message=message)

    def present(self, fqdn: str, value: str) -> None:
        """Insert the TXT `value` at `fqdn` (TTL 60); other values there stay."""
        self._update(fqdn, value, add=True)

    def cleanup(self, fqdn: str, value: str) -> None:
        """Remove exactly the TXT `value` at `fqdn`; other values there stay."""
        self._update(fqdn, value, add=False)

    async def apresent(self, fqdn: str, value: str) -> None:
        await asyncio.to_thread(self.present, fqdn, value)

    async def acleanup(self, fqdn: str, value: str) -> None:
        await asyncio.to_thread(self.cleanup, fqdn, value)
