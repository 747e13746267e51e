"""ACMEClient against a real Pebble: accounts (EAB right, wrong and required), HTTP-01 issuance served by
our `issuer acmesolver` program, preferred chains, server problems classified as Terminal with the
server's detail, badNonce storms survived, Retryable for unreachable servers, the request hook."""

from __future__ import annotations

import asyncio
import datetime as _dt
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
from cryptography import x509

from issuer.acme import accounts, errors, flow
from issuer.acme import client as acme_client
from tests import tools
from tests.acme import helpers, infra

MakeClient = Callable[..., acme_client.ACMEClient]


@pytest.fixture
def standalone(pebble: infra.Pebble) -> Iterator[flow.StandaloneHTTP01]:
    solver = flow.StandaloneHTTP01(pebble.http_port, "127.0.0.1")
    yield solver
    solver.close()


def _verify(chain: bytes, pebble: infra.Pebble, root: int = 0) -> None:
    leaf, rest = helpers.split_chain(chain)
    tools.openssl_verify(leaf, pebble.roots[root], rest, purpose="sslserver")


# ---------------------------------------------------------------------------------------------------------
# Accounts


def test_register_creates_then_finds_the_same_account(make_client: MakeClient) -> None:
    acme = make_client()
    first = acme.register("Someone@Example.test")
    assert first.created and first.status == "valid"
    assert first.contact == ("mailto:someone@example.test",)
    again = acme.register("someone@example.test")
    assert not again.created and again.uri == first.uri
    assert acme.lookup() == acme_client.Account(first.uri, "valid", first.contact, False)


def test_lookup_of_an_unknown_key_is_none(make_client: MakeClient) -> None:
    assert make_client().lookup() is None


def test_update_email_replaces_the_contact(make_client: MakeClient) -> None:
    acme = make_client()
    acme.register("old@example.test")
    assert acme.update_email("New@example.test").emails == ("new@example.test",)
    assert acme.update_email("").contact == ()


def test_register_with_external_account_binding(make_client: MakeClient) -> None:
    acme = make_client()
    account = acme.register("eab@example.test", eab=accounts.eab_for_client(infra.EAB_KID, infra.EAB_HMAC))
    assert account.created and account.uri


def test_wrong_eab_hmac_is_terminal_with_the_servers_detail(make_client: MakeClient) -> None:
    wrong = acme_client.b64url(b"not-the-right-hmac-key-at-all-000000000")
    with pytest.raises(errors.Terminal) as caught:
        make_client().register(eab=(infra.EAB_KID, wrong))
    assert caught.value.code == "unauthorized"
    assert "JWS verification error" in caught.value.detail


def test_unknown_eab_kid_is_terminal(make_client: MakeClient) -> None:
    with pytest.raises(errors.Terminal) as caught:
        make_client().register(eab=("kid-unknown", infra.EAB_HMAC))
    assert caught.value.code == "unauthorized"
    assert "kid" in caught.value.detail


def test_invalid_contact_is_terminal(make_client: MakeClient) -> None:
    with pytest.raises(errors.Terminal) as caught:
        make_client().register("not-an-email")
    assert caught.value.code == "invalidContact"


# ---------------------------------------------------------------------------------------------------------
# HTTP-01 with our acmesolver program


@pytest.fixture
def acmesolver_program(pebble: infra.Pebble) -> Iterator[Callable[[str, str, str], None]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(domain: str, token: str, key: str) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "issuer", "acmesolver", f"--listen-port={pebble.http_port}",
             f"--domain={domain}", f"--token={token}", f"--key={key}", "--listen-address=127.0.0.1"],
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )
        procs.append(proc)
        assert proc.stderr is not None
        line = proc.stderr.readline()  # printed once the socket listens
        assert b"listening" in line, line

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=5)
        if proc.stderr is not None:
            proc.stderr.close()


def test_http01_end_to_end_with_the_acmesolver_program(
    acme: acme_client.ACMEClient, pebble: infra.Pebble, fresh: Callable[..., str],
    acmesolver_program: Callable[[str, str, str], None],
) -> None:
    name = fresh("www")
    csr_pem, _key = helpers.csr([name])
    order = acme.new_order(csr_pem)
    assert order.status == "pending" and order.identifiers == (acme_client.Identifier("dns", name),)
    (authz_url,) = order.authorizations
    authz = acme.get_authorization(authz_url)
    assert authz.identifier.value == name and not authz.wildcard
    challenge = authz.challenge("http-01")
    assert challenge is not None
    key = acme.key_authorization(challenge.token)
    assert key == f"{challenge.token}.{acme.thumbprint}"
    acmesolver_program(name, challenge.token, key)
    answered = acme.answer_challenge(challenge.url)
    assert answered.status in ("pending", "processing", "valid")
    deadline = time.monotonic() + 10
    while (authz := acme.get_authorization(authz_url)).status == "pending" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert authz.status == "valid", authz.problem
    order = acme.finalize(order.finalize, csr_pem)
    while order.status in ("ready", "processing") and time.monotonic() < deadline:
        time.sleep(0.02)
        order = acme.get_order(order.url)
    assert order.status == "valid"
    chain = acme.fetch_certificate(order.certificate)
    assert helpers.sans(chain) == [name]
    _verify(chain, pebble)


def test_http01_many_names_through_one_standalone_listener(
    acme: acme_client.ACMEClient, pebble: infra.Pebble, fresh: Callable[..., str],
    standalone: flow.StandaloneHTTP01,
) -> None:
    names = [fresh("a"), fresh("b"), fresh("c")]
    csr_pem, key_pem = helpers.csr(names, key=accounts.generate_key())  # RSA: Pebble's EC leaves fail pkilint
    chain = flow.obtain(acme, csr_pem, helpers.http01_chooser(standalone))
    assert helpers.sans(chain) == sorted(names)
    _verify(chain, pebble)
    leaf, _rest = helpers.split_chain(chain)
    assert tools.tls_handshake(chain, key_pem, pebble.root, names[1])
    assert tools.pkix_findings(leaf) == []


def test_ip_identifier(acme: acme_client.ACMEClient, pebble: infra.Pebble, standalone: flow.StandaloneHTTP01) -> None:
    csr_pem, _ = helpers.csr(["127.0.0.1"])
    chain = flow.obtain(acme, csr_pem, helpers.http01_chooser(standalone))
    assert helpers.sans(chain) == ["127.0.0.1"]


def test_not_after_is_sent_in_new_order(
    acme: acme_client.ACMEClient, fresh: Callable[..., str], standalone: flow.StandaloneHTTP01
) -> None:
    not_after = (_dt.datetime.now(_dt.UTC) + _dt.timedelta(minutes=10)).replace(microsecond=0)
    csr_pem, _ = helpers.csr([fresh()])
    chain = flow.obtain(acme, csr_pem, helpers.http01_chooser(standalone), not_after=not_after)
    leaf = x509.load_pem_x509_certificates(chain)[0]
    assert leaf.not_valid_after_utc == not_after


def test_async_client_runs_the_same_verbs(acme: acme_client.ACMEClient, fresh: Callable[..., str]) -> None:
    async def run() -> acme_client.Order:
        wrapped = acme_client.AsyncACMEClient(acme)
        assert (await wrapped.directory()).new_order
        order = await wrapped.new_order(identifiers=[fresh()])
        return await wrapped.get_order(order.url)

    assert asyncio.run(run()).status == "pending"


# ---------------------------------------------------------------------------------------------------------
# Preferred chain


def test_preferred_chain_picks_the_alternate_root(
    acme: acme_client.ACMEClient, pebble: infra.Pebble, fresh: Callable[..., str],
    standalone: flow.StandaloneHTTP01,
) -> None:
    alt_root = x509.load_pem_x509_certificate(pebble.roots[1])
    alt_cn = alt_root.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    default_cn = x509.load_pem_x509_certificate(pebble.roots[0]).subject.rfc4514_string()
    assert isinstance(alt_cn, str) and alt_cn not in default_cn
    csr_pem, _ = helpers.csr([fresh()])
    chain = flow.obtain(acme, csr_pem, helpers.http01_chooser(standalone), preferred_chain=alt_cn)
    top = x509.load_pem_x509_certificates(chain)[-1]
    assert top.issuer == alt_root.subject
    _verify(chain, pebble, root=1)


def test_unknown_preferred_chain_falls_back_to_the_default(
    acme: acme_client.ACMEClient, pebble: infra.Pebble, fresh: Callable[..., str],
    standalone: flow.StandaloneHTTP01,
) -> None:
    csr_pem, _ = helpers.csr([fresh()])
    chain = flow.obtain(acme, csr_pem, helpers.http01_chooser(standalone), preferred_chain="No Such CA")
    _verify(chain, pebble, root=0)


# ---------------------------------------------------------------------------------------------------------
# Problems


def test_rejected_identifier_is_terminal_with_detail(acme: acme_client.ACMEClient) -> None:
    with pytest.raises(errors.Terminal) as caught:
        acme.new_order(identifiers=[infra.BLOCKED])
    assert caught.value.code == "rejectedIdentifier"
    assert infra.BLOCKED in caught.value.detail
    assert caught.value.status == 400


def test_malformed_identifier_is_terminal(acme: acme_client.ACMEClient) -> None:
    with pytest.raises(errors.Terminal) as caught:
        acme.new_order(identifiers=["*.*.example.test"])
    assert caught.value.code == "malformed"


def test_wrong_key_authorization_invalidates_the_authorization(
    acme: acme_client.ACMEClient, fresh: Callable[..., str], standalone: flow.StandaloneHTTP01
) -> None:
    class Liar(flow.StandaloneHTTP01):
        def present(self, authz: acme_client.Authorization, challenge: acme_client.Challenge, key_auth: str) -> None:
            super().present(authz, challenge, key_auth + "x")

    liar = Liar(standalone.port, "127.0.0.1")
    standalone.close()
    try:
        csr_pem, _ = helpers.csr([fresh()])
        with pytest.raises(errors.Terminal) as caught:
            flow.obtain(acme, csr_pem, helpers.http01_chooser(liar))
    finally:
        liar.close()
    assert caught.value.code == "unauthorized"
    assert "key authorization" in caught.value.detail


def test_finalize_before_ready_is_order_not_ready(acme: acme_client.ACMEClient, fresh: Callable[..., str]) -> None:
    name = fresh()
    csr_pem, _ = helpers.csr([name])
    order = acme.new_order(csr_pem)
    with pytest.raises(errors.Terminal) as caught:
        acme.finalize(order.finalize, csr_pem)
    assert caught.value.code == "orderNotReady"


def test_csr_for_other_names_is_unauthorized(
    acme: acme_client.ACMEClient, fresh: Callable[..., str], standalone: flow.StandaloneHTTP01,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = fresh()
    order_csr, _ = helpers.csr([name])
    other_csr, _ = helpers.csr([fresh()])

    class Swap:
        calls = 0

    original = acme.finalize

    def finalize(url: str, csr: bytes) -> acme_client.Order:
        Swap.calls += 1
        return original(url, other_csr)

    monkeypatch.setattr(acme, "finalize", finalize)
    with pytest.raises(errors.Terminal) as caught:
        flow.obtain(acme, order_csr, helpers.http01_chooser(standalone))
    assert Swap.calls == 1
    assert caught.value.code in ("unauthorized", "badCSR")


def test_unreachable_server_is_retryable() -> None:
    port = infra.free_port()
    acme = acme_client.ACMEClient(f"https://127.0.0.1:{port}/dir", accounts.generate_key())
    with pytest.raises(errors.Retryable) as caught:
        acme.directory()
    assert "cannot reach the ACME server" in str(caught.value)


def test_untrusted_server_certificate_is_retryable_unless_skip_tls_verify(pebble: infra.Pebble) -> None:
    strict = acme_client.ACMEClient(pebble.directory_url, accounts.generate_key())
    with pytest.raises(errors.Retryable):
        strict.directory()
    relaxed = acme_client.ACMEClient(pebble.directory_url, accounts.generate_key(), skip_tls_verify=True)
    assert relaxed.directory().new_account.startswith("https://127.0.0.1")


def test_request_hook_sees_every_request(make_client: MakeClient, fresh: Callable[..., str]) -> None:
    events: list[acme_client.RequestEvent] = []
    acme = make_client(on_request=events.append)
    acme.register()
    acme.new_order(identifiers=[fresh()])
    assert [e.action for e in events] == ["get_directory", "new_nonce", "new_account", "new_order"]
    assert [e.status for e in events] == [200, 200, 201, 201]
    assert all(e.scheme == "https" and e.host.startswith("127.0.0.1:") and e.seconds >= 0 for e in events)
    assert events[-1].method == "POST"


# ---------------------------------------------------------------------------------------------------------
# A Pebble that rejects half the nonces, requires EAB, always reuses valid authorizations and issues
# one-hour certificates


@pytest.fixture(scope="module")
def hostile_pebble(pebble_factory: Callable[..., infra.Pebble]) -> infra.Pebble:
    return pebble_factory(env={"PEBBLE_WFE_NONCEREJECT": "50", "PEBBLE_AUTHZREUSE": "100"}, eab_required=True,
                          validity_seconds=3600)


def test_eab_required_without_eab_is_terminal(hostile_pebble: infra.Pebble, make_client: MakeClient) -> None:
    with pytest.raises(errors.Terminal) as caught:  # many nonce retries: only the EAB refusal may surface
        make_client(hostile_pebble, bad_nonce_retries=40).register("x@example.test")
    assert caught.value.code == "externalAccountRequired"


def test_half_the_nonces_rejected_still_issues(
    hostile_pebble: infra.Pebble, make_client: MakeClient, fresh: Callable[..., str]
) -> None:
    events: list[acme_client.RequestEvent] = []
    acme = make_client(hostile_pebble, on_request=events.append)
    assert acme.directory().external_account_required
    acme.register(eab=accounts.eab_for_client(infra.EAB_KID, infra.EAB_HMAC))
    standalone = flow.StandaloneHTTP01(hostile_pebble.http_port, "127.0.0.1")
    try:
        for _ in range(3):
            csr_pem, _ = helpers.csr([fresh()])
            chain = flow.obtain(acme, csr_pem, helpers.http01_chooser(standalone))
            _verify(chain, hostile_pebble)
            leaf = x509.load_pem_x509_certificates(chain)[0]
            assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= _dt.timedelta(hours=1, seconds=1)
    finally:
        standalone.close()
    assert any(e.status == 400 for e in events), "expected some badNonce rejections"


def test_bad_nonce_beyond_the_retries_is_retryable(hostile_pebble: infra.Pebble, make_client: MakeClient) -> None:
    acme = make_client(hostile_pebble, bad_nonce_retries=0)
    failures = 0
    for _ in range(12):
        try:
            acme.lookup()
        except errors.Retryable as err:
            assert err.code == "badNonce"
            failures += 1
    assert failures > 0


def test_reused_valid_authorizations_need_no_solver(
    hostile_pebble: infra.Pebble, make_client: MakeClient, fresh: Callable[..., str]
) -> None:
    acme = make_client(hostile_pebble)
    acme.register(eab=accounts.eab_for_client(infra.EAB_KID, infra.EAB_HMAC))
    name = fresh("again")
    standalone = flow.StandaloneHTTP01(hostile_pebble.http_port, "127.0.0.1")
    try:
        flow.obtain(acme, helpers.csr([name])[0], helpers.http01_chooser(standalone))
    finally:
        standalone.close()
    order = flow.call(acme.new_order, identifiers=[name])
    assert [flow.call(acme.get_authorization, u).status for u in order.authorizations] == ["valid"]

    def no_solver(authz: acme_client.Authorization) -> flow.Solver | None:
        raise AssertionError(f"asked to solve {authz.identifier.value}")

    chain = flow.obtain(acme, helpers.csr([name])[0], no_solver)
    assert helpers.sans(chain) == [name]


def test_one_client_issues_from_many_threads(
    acme: acme_client.ACMEClient, pebble: infra.Pebble, fresh: Callable[..., str], standalone: flow.StandaloneHTTP01
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    names = [fresh("thread") for _ in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        chains = list(pool.map(
            lambda n: flow.obtain(acme, helpers.csr([n])[0], helpers.http01_chooser(standalone)), names))
    assert [helpers.sans(chain) for chain in chains] == [[n] for n in names]
