"""DNS-01 against a real BIND (RFC 2136 with TSIG) and Pebble: records added and removed by value, zone
discovery through delegation, CNAME following, the propagation check, refusals classified, and
apex + wildcard certificates whose two TXT values share one name."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from issuer.acme import client as acme_client
from issuer.acme import dns01, errors, flow, rfc2136
from issuer.api import types as t
from tests import tools
from tests.acme import helpers, infra


def _spec(bind: infra.Bind, **overrides: str) -> t.RFC2136:
    fields = {
        "nameserver": bind.address,
        "tsig_key_name": bind.tsig_name,
        "tsig_algorithm": "HMACSHA256",
        "tsig_secret_secret_ref": t.SecretKeySelector("tsig", "secret"),
        **overrides,
    }
    return t.RFC2136(**fields)  # type: ignore[arg-type]


def _provider(bind: infra.Bind, secret: str | None = None, **overrides: str) -> rfc2136.Provider:
    return rfc2136.Provider(rfc2136.Config.from_spec(_spec(bind, **overrides), secret or bind.tsig_secret))


def _txt(bind: infra.Bind, fqdn: str) -> list[str]:
    return sorted(dns01.txt_values(fqdn, ("127.0.0.1", bind.port), recursion=False))


@pytest.mark.parametrize("protocol", ["UDP", "TCP", ""])
def test_present_and_cleanup_keep_other_values(bind: infra.Bind, fresh: Callable[..., str], protocol: str) -> None:
    provider = _provider(bind, protocol=protocol)
    fqdn = dns01.record_name(fresh("rec"))
    provider.present(fqdn, "first")
    provider.present(fqdn, "second")
    assert _txt(bind, fqdn) == ["first", "second"]
    provider.cleanup(fqdn, "first")
    assert _txt(bind, fqdn) == ["second"]
    provider.cleanup(fqdn, "first")  # removing a value that is gone is fine
    provider.cleanup(fqdn, "second")
    assert _txt(bind, fqdn) == []


def test_algorithm_is_case_insensitive(bind: infra.Bind, fresh: Callable[..., str]) -> None:
    provider = _provider(bind, tsig_algorithm="hmacsha256")
    fqdn = dns01.record_name(fresh())
    provider.present(fqdn, "v")
    assert _txt(bind, fqdn) == ["v"]
    provider.cleanup(fqdn, "v")


def test_zone_is_found_through_delegation(bind: infra.Bind) -> None:
    provider = _provider(bind)
    assert provider.find_zone("_acme-challenge.www.example.test.") == "example.test."
    assert provider.find_zone("_acme-challenge.a.b.sub.example.test.") == "sub.example.test."


def test_update_in_a_delegated_zone(bind: infra.Bind) -> None:
    provider = _provider(bind)
    fqdn = "_acme-challenge.deep.sub.example.test."
    provider.present(fqdn, "in-sub")
    assert _txt(bind, fqdn) == ["in-sub"]
    provider.cleanup(fqdn, "in-sub")


def test_wrong_tsig_secret_is_terminal(bind: infra.Bind, fresh: Callable[..., str]) -> None:
    provider = _provider(bind, secret="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    with pytest.raises(errors.Terminal, match="TSIG"):
        provider.present(dns01.record_name(fresh()), "x")


def test_wrong_algorithm_is_terminal(bind: infra.Bind, fresh: Callable[..., str]) -> None:
    provider = _provider(bind, tsig_algorithm="")  # HMACMD5 by default; BIND holds an HMAC-SHA256 key
    with pytest.raises(errors.Terminal):
        provider.present(dns01.record_name(fresh()), "x")


def test_no_tsig_is_refused(bind: infra.Bind, fresh: Callable[..., str]) -> None:
    provider = rfc2136.Provider(rfc2136.Config(("127.0.0.1", bind.port)))
    with pytest.raises(errors.Terminal, match="REFUSED"):
        provider.present(dns01.record_name(fresh()), "x")


def test_unreachable_nameserver_is_retryable(fresh: Callable[..., str]) -> None:
    port = infra.free_port(udp_too=True)
    provider = rfc2136.Provider(rfc2136.Config(("127.0.0.1", port), timeout=0.2))
    with pytest.raises(errors.Retryable):
        provider.present(dns01.record_name(fresh()), "x")


def test_cname_follow(bind: infra.Bind) -> None:
    servers = [("127.0.0.1", bind.port)]
    assert dns01.resolve_fqdn("alias.example.test", "Follow", servers) == "_acme-challenge.target.example.test."
    assert dns01.resolve_fqdn("alias.example.test", "None", servers) == "_acme-challenge.alias.example.test."
    assert dns01.resolve_fqdn("*.plain.example.test", "Follow", servers) == "_acme-challenge.plain.example.test."


def test_propagation_check(bind: infra.Bind, fresh: Callable[..., str]) -> None:
    provider = _provider(bind)
    servers = [("127.0.0.1", bind.port)]
    fqdn = dns01.record_name(fresh())
    ok, why = dns01.check_propagation(fqdn, "val", servers, authoritative_port=bind.port)
    assert not ok and "not yet propagated" in why
    provider.present(fqdn, "val")
    assert dns01.check_propagation(fqdn, "val", servers, authoritative_port=bind.port) == (True, "")
    assert dns01.check_propagation(fqdn, "val", servers, nameservers_only=True) == (True, "")
    provider.cleanup(fqdn, "val")


# ---------------------------------------------------------------------------------------------------------
# Issuance


def _dns_chooser(bind: infra.Bind, cname_strategy: str = "") -> flow.Chooser:
    solver = flow.RFC2136DNS01(_provider(bind), cname_strategy=cname_strategy)

    def choose(authz: acme_client.Authorization) -> flow.Solver | None:
        return solver

    return choose


def test_apex_and_wildcard_share_one_record_name(
    acme: acme_client.ACMEClient, pebble: infra.Pebble, bind: infra.Bind, fresh: Callable[..., str],
) -> None:
    base = fresh("wild")
    csr_pem, _ = helpers.csr([base, f"*.{base}"])
    order = acme.new_order(csr_pem)
    authzs = [acme.get_authorization(u) for u in order.authorizations]
    assert sorted((a.identifier.value, a.wildcard) for a in authzs) == [(base, False), (base, True)]
    assert all(a.challenge("http-01") is None for a in authzs if a.wildcard)
    chain = flow.obtain(acme, csr_pem, _dns_chooser(bind))
    assert helpers.sans(chain) == sorted([base, f"*.{base}"])
    leaf, rest = helpers.split_chain(chain)
    tools.openssl_verify(leaf, pebble.root, rest, purpose="sslserver")
    assert _txt(bind, dns01.record_name(base)) == []  # both values cleaned up


def test_dns01_through_a_cname(acme: acme_client.ACMEClient, pebble: infra.Pebble, bind: infra.Bind) -> None:
    csr_pem, _ = helpers.csr(["alias.example.test"])
    chain = flow.obtain(acme, csr_pem, _dns_chooser(bind, "Follow"))
    assert helpers.sans(chain) == ["alias.example.test"]


def test_wrong_txt_value_fails_with_the_servers_detail(
    acme: acme_client.ACMEClient, bind: infra.Bind, fresh: Callable[..., str]
) -> None:
    class Wrong(flow.RFC2136DNS01):
        def present(self, authz: acme_client.Authorization, challenge: acme_client.Challenge, key_auth: str) -> None:
            super().present(authz, challenge, key_auth + "-wrong")

        def ready(self, authz: acme_client.Authorization, challenge: acme_client.Challenge, key_auth: str) -> bool:
            return True

        def cleanup(self, authz: acme_client.Authorization, challenge: acme_client.Challenge, key_auth: str) -> None:
            super().cleanup(authz, challenge, key_auth + "-wrong")

    solver = Wrong(_provider(bind))
    csr_pem, _ = helpers.csr([fresh()])
    with pytest.raises(errors.Terminal) as caught:
        flow.obtain(acme, csr_pem, lambda authz: solver)
    assert caught.value.code == "unauthorized"
    assert "Correct value not found for DNS challenge" in caught.value.detail
