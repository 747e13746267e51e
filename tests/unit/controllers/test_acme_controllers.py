"""The ACME controllers' pure decisions (issuer.controllers.{orders,challenges,acmeissuers}) as tables:
CertificateRequest -> Order, the Order controller's one step, the challenge scheduler and step, the
ACME issuer's skip-verification and solver-Secret rules."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import ipaddress
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from issuer.api import constants as c
from issuer.api import types as t
from issuer.controllers import acmeissuers, challenges, orders
from issuer.signers import base

NOW = _dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=_dt.UTC)
KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())


def make_csr(cn: str = "", dns: tuple[str, ...] = (), ips: tuple[str, ...] = (), key: Any = KEY) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []))
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=not cn)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def self_signed(key: Any) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW).not_valid_after(NOW + _dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def request(csr: bytes, duration: str = "") -> t.CertificateRequest:
    return t.CertificateRequest(
        metadata=t.ObjectMeta(name="web-1", namespace="ns", uid="cr-uid", labels={"app": "web"},
                              annotations={"cert-manager.io/certificate-name": "web"}),
        spec=t.CertificateRequestSpec(request=csr, issuer_ref=t.IssuerRef(name="le"), duration=duration),
    )


def acme_issuer(**acme: Any) -> t.Issuer:
    return t.Issuer(metadata=t.ObjectMeta(name="le", namespace="ns", generation=1),
                    spec=t.IssuerSpec(acme=t.ACMEIssuer(server="https://acme.test/dir", **acme)))


# ---------------------------------------------------------------------------------------------------------
# CertificateRequest -> Order


@pytest.mark.parametrize(
    ("cn", "dns", "ips", "reason"),
    [
        ("", ("a.example.test",), (), None),
        ("a.example.test", ("a.example.test", "b.example.test"), (), None),
        ("10.0.0.1", (), ("10.0.0.1",), None),
        ("c.example.test", ("a.example.test",), (), orders.REASON_INVALID_ORDER),
        ("10.0.0.2", (), ("10.0.0.1",), orders.REASON_INVALID_ORDER),
    ],
    ids=["SANs only", "CN among the dnsNames", "CN among the IPs", "CN missing from dnsNames",
         "CN IP missing from ipAddresses"],
)
def test_the_common_name_must_be_one_of_the_identifiers(cn: str, dns: tuple[str, ...], ips: tuple[str, ...],
                                                        reason: str | None) -> None:
    spec = orders.order_spec(request(make_csr(cn, dns, ips)), acme_issuer())
    if reason is None:
        assert isinstance(spec, t.OrderSpec)
        assert (spec.common_name, spec.dns_names, spec.ip_addresses) == (cn, dns, ips)
    else:
        assert isinstance(spec, base.Failed) and spec.reason == reason


def test_an_undecodable_csr_fails_with_request_parsing_error() -> None:
    spec = orders.order_spec(request(b"not a csr"), acme_issuer())
    assert isinstance(spec, base.Failed) and spec.reason == orders.REASON_REQUEST_PARSING_ERROR


@pytest.mark.parametrize(("enabled", "expected"), [(True, "2h0m0s"), (False, "")],
                         ids=["duration sent with enableDurationFeature", "duration left out otherwise"])
def test_duration_only_with_the_duration_feature(enabled: bool, expected: str) -> None:
    cr = request(make_csr("", ("a.example.test",)), duration="2h0m0s")
    spec = orders.order_spec(cr, acme_issuer(enable_duration_feature=enabled, profile="short"))
    assert isinstance(spec, t.OrderSpec)
    assert spec.duration == expected and spec.profile == "short"


def _order(state: str = "", certificate: bytes = b"", reason: str = "", owner: str = "cr-uid",
           **status: Any) -> t.Order:
    refs = (t.OwnerReference(kind="CertificateRequest", name="web-1", uid=owner, controller=True),)
    return t.Order(metadata=t.ObjectMeta(name="web-1-123", namespace="ns", uid="order-uid", owner_references=refs),
                   status=t.OrderStatus(state=state, certificate=certificate, reason=reason, **status))


def test_no_order_yet_creates_one_owned_by_the_request_with_its_labels() -> None:
    cr = request(make_csr("", ("a.example.test",)))
    spec = orders.order_spec(cr, acme_issuer())
    assert isinstance(spec, t.OrderSpec)
    step = orders.sign(cr, acme_issuer(), None, "web-1-123", spec)
    assert step.outcome == base.Pending(orders.REASON_ORDER_CREATED, "Created Order resource ns/web-1-123")
    assert step.create is not None
    meta = step.create["metadata"]
    assert meta["labels"] == {"app": "web"} and meta["annotations"]["cert-manager.io/certificate-name"] == "web"
    assert meta["ownerReferences"][0]["uid"] == "cr-uid" and meta["ownerReferences"][0]["controller"] is True
    assert step.create["spec"]["dnsNames"] == ["a.example.test"]


@pytest.mark.parametrize(
    ("order", "kind", "reason"),
    [
        (_order(c.STATE_PENDING), base.Pending, orders.REASON_ORDER_PENDING),
        (_order(c.STATE_INVALID, reason="unauthorized: no"), base.Failed, orders.REASON_ORDER_FAILED),
        (_order(c.STATE_ERRORED), base.Failed, orders.REASON_ORDER_FAILED),
        (_order(c.STATE_VALID, self_signed(KEY)), base.Issued, None),
        (_order(c.STATE_VALID, self_signed(OTHER_KEY)), base.Pending, orders.REASON_ORDER_PENDING),
        (_order(c.STATE_VALID, b"garbage"), base.Pending, orders.REASON_ORDER_PENDING),
        (_order(c.STATE_INVALID, owner="earlier-uid"), base.Pending, orders.REASON_ORDER_PENDING),
    ],
    ids=["pending order waits", "invalid order fails the request", "errored order fails the request",
         "valid order with a matching certificate issues", "valid order with another key is deleted",
         "valid order with an undecodable certificate is deleted",
         "an order of an earlier request of the same name is deleted"],
)
def test_request_follows_its_order(order: t.Order, kind: type, reason: str | None) -> None:
    cr = request(make_csr("", ("a.example.test",)))
    spec = orders.order_spec(cr, acme_issuer())
    assert isinstance(spec, t.OrderSpec)
    step = orders.sign(cr, acme_issuer(), order, "web-1-123", spec)
    assert isinstance(step.outcome, kind)
    if reason is not None:
        assert getattr(step.outcome, "reason", None) == reason
    if isinstance(step.outcome, base.Issued):
        assert step.outcome.ca == b"" and step.outcome.certificate == order.status.certificate
    assert (step.delete is not None) == ("Deleting" in getattr(step.outcome, "message", ""))


def test_failed_order_message_names_the_state_and_the_acme_detail() -> None:
    cr = request(make_csr("", ("a.example.test",)))
    spec = orders.order_spec(cr, acme_issuer())
    assert isinstance(spec, t.OrderSpec)
    out = orders.sign(cr, acme_issuer(), _order(c.STATE_INVALID, reason="unauthorized: wrong key"), "o", spec).outcome
    assert isinstance(out, base.Failed)
    assert "order is in 'invalid' state: unauthorized: wrong key" in out.message


# ---------------------------------------------------------------------------------------------------------
# The Order controller


AUTHZ_A = t.ACMEAuthorization(
    url="https://acme.test/authz/a", identifier="a.example.test", initial_state="pending",
    challenges=(t.ACMEChallenge(url="https://acme.test/chal/a", token="tok", type="http-01"),))
AUTHZ_B = t.ACMEAuthorization(url="https://acme.test/authz/b", identifier="b.example.test", initial_state="valid")


def _challenge(authz_url: str = AUTHZ_A.url, state: str = "", **status: Any) -> t.Challenge:
    return t.Challenge(metadata=t.ObjectMeta(name="ch", namespace="ns"),
                       spec=t.ChallengeSpec(authorization_url=authz_url, dns_name="a.example.test", type="HTTP-01"),
                       status=t.ChallengeStatus(state=state, **status))


@pytest.mark.parametrize(
    ("order", "owned", "action"),
    [
        (_order(), [], orders.NEW_ORDER),
        (_order(c.STATE_PENDING, url="u", authorizations=(AUTHZ_A, AUTHZ_B)), [], orders.CREATE_CHALLENGES),
        (_order(c.STATE_PENDING, url="u", authorizations=(AUTHZ_A,)), [_challenge(state="pending")], orders.NOTHING),
        (_order(c.STATE_PENDING, url="u", authorizations=(AUTHZ_A,)), [_challenge(state="valid")], orders.REFRESH),
        (_order(c.STATE_PENDING, url="u", authorizations=(AUTHZ_A,)), [_challenge(state="invalid")], orders.REFRESH),
        (_order(c.STATE_PENDING, url="u", authorizations=(AUTHZ_B,)), [], orders.REFRESH),
        (_order(c.STATE_PENDING, url="u"), [], orders.FETCH_AUTHORIZATIONS),
        (_order(c.STATE_READY, url="u", authorizations=(AUTHZ_B,)), [], orders.FINALIZE),
        (_order(c.STATE_PROCESSING, url="u", authorizations=(AUTHZ_B,)), [], orders.REFRESH),
        (_order(c.STATE_VALID, url="u"), [], orders.FETCH_CERTIFICATE),
        (_order(c.STATE_VALID, b"pem", url="u"), [_challenge(state="valid")], orders.DELETE_CHALLENGES),
        (_order(c.STATE_VALID, b"pem", url="u"), [], orders.NOTHING),
        (_order(c.STATE_INVALID, url="u"), [_challenge(state="invalid")], orders.NOTHING),
    ],
    ids=["no url: new order", "authorization without a Challenge: create it (valid ones need none)",
         "challenge in flight: wait", "all challenges final: refresh from the server",
         "a challenge failed: refresh from the server", "only valid authorizations: refresh",
         "made but its authorizations never fetched: fetch them",
         "ready: finalize", "processing: refresh", "valid without certificate: fetch it",
         "valid with certificate: delete the challenges", "valid and clean: nothing", "failed: nothing"],
)
def test_order_controller_takes_one_step(order: t.Order, owned: list[t.Challenge], action: str) -> None:
    step = orders.next_step(order, owned)
    assert step.action == action
    if action == orders.CREATE_CHALLENGES:
        assert step.missing == (AUTHZ_A,)


def test_a_failed_order_without_a_problem_takes_the_challenges_reasons() -> None:
    failed = t.OrderStatus(state=c.STATE_INVALID)
    owned = [_challenge(state="invalid", reason="unauthorized: wrong key"), _challenge(state="valid", reason="ok")]
    assert orders.failure_detail(failed, owned) == "a.example.test: unauthorized: wrong key"
    assert orders.failure_detail(dataclasses.replace(failed, reason="server says"), owned) == "server says"
    assert orders.failure_detail(t.OrderStatus(state=c.STATE_PENDING), owned) == ""


def test_failure_states_get_a_failure_time_once() -> None:
    first = orders.with_state(t.OrderStatus(state="pending"), c.STATE_INVALID, "unauthorized: x", NOW)
    assert first.failure_time == "2026-01-02T03:04:05Z" and first.reason == "unauthorized: x"
    later = orders.with_state(first, c.STATE_INVALID, "unauthorized: x", NOW + _dt.timedelta(hours=1))
    assert later.failure_time == first.failure_time
    assert orders.with_state(t.OrderStatus(), c.STATE_READY, "", NOW).failure_time == ""


def test_challenge_spec_from_a_wildcard_authorization() -> None:
    authz = t.ACMEAuthorization(url="https://acme.test/authz/w", identifier="example.test", wildcard=True,
                                challenges=(t.ACMEChallenge(url="https://acme.test/chal/w", token="t", type="dns-01"),))
    spec = orders.challenge_spec(authz, authz.challenges[0], t.ACMESolver(dns01=t.DNS01()), t.IssuerRef(name="le"))
    assert (spec.dns_name, spec.wildcard, spec.type, spec.authorization_url) == (
        "example.test", True, "DNS-01", "https://acme.test/authz/w")


# ---------------------------------------------------------------------------------------------------------
# Challenges


def _ch(name: str, created: str, *, dns: str = "a.example.test", type_: str = "HTTP-01", processing: bool = False,
        state: str = "", finalizers: tuple[str, ...] = (), deleting: bool = False, presented: bool = False
        ) -> t.Challenge:
    return t.Challenge(
        metadata=t.ObjectMeta(name=name, namespace="ns", creation_timestamp=created, finalizers=finalizers,
                              deletion_timestamp="2026-01-01T00:00:00Z" if deleting else ""),
        spec=t.ChallengeSpec(dns_name=dns, type=type_),
        status=t.ChallengeStatus(processing=processing, state=state, presented=presented),
    )


@pytest.mark.parametrize(
    ("me", "others", "limit", "expected"),
    [
        (_ch("a", "1"), [], 60, True),
        (_ch("a", "1"), [_ch("b", "0", dns="b.example.test", processing=True)], 1, False),
        (_ch("a", "1"), [_ch("b", "0", processing=True)], 60, False),
        (_ch("a", "1"), [_ch("b", "0", type_="DNS-01", processing=True)], 60, True),
        (_ch("a", "2"), [_ch("b", "1")], 60, False),
        (_ch("a", "1"), [_ch("b", "2")], 60, True),
        (_ch("a", "2"), [_ch("b", "1", state="invalid")], 60, True),
        (_ch("a", "1", state="valid"), [], 60, False),
    ],
    ids=["free slot", "limit reached", "same name and type already processing", "other type may run alongside",
         "an older one for the same name goes first", "the oldest starts", "final ones do not block",
         "a final challenge is never scheduled"],
)
def test_scheduler(me: t.Challenge, others: list[t.Challenge], limit: int, expected: bool) -> None:
    assert challenges.may_start(me, [me, *others], limit) is expected


F = (c.ACME_FINALIZER,)


@pytest.mark.parametrize(
    ("ch", "step"),
    [
        (_ch("a", "1"), challenges.SCHEDULE),
        (_ch("a", "1", processing=True), challenges.ADD_FINALIZER),
        (_ch("a", "1", processing=True, finalizers=F), challenges.FETCH_STATE),
        (_ch("a", "1", processing=True, finalizers=F, state="pending"), challenges.PRESENT),
        (_ch("a", "1", processing=True, finalizers=F, state="processing"), challenges.POLL_AUTHORIZATION),
        (_ch("a", "1", processing=True, finalizers=F, state="valid"), challenges.CLEANUP),
        (_ch("a", "1", finalizers=(c.ACME_LEGACY_FINALIZER,), state="invalid"), challenges.CLEANUP),
        (_ch("a", "1", processing=True, finalizers=F, state="pending", deleting=True), challenges.CLEANUP),
        (_ch("a", "1", state="valid"), challenges.NOTHING),
    ],
    ids=["not processing: schedule", "processing: finalizer first", "no state: ask the server",
         "pending: present and self-check", "accepted: poll the authorization", "valid: clean up",
         "legacy finalizer honoured", "deleted: clean up", "final and clean: nothing"],
)
def test_challenge_controller_takes_one_step(ch: t.Challenge, step: str) -> None:
    assert challenges.next_step(ch) == step


def test_a_dns01_challenge_uses_only_its_issuers_solver_settings() -> None:
    rfc = t.RFC2136(nameserver="1.2.3.4", tsig_key_name="k", tsig_secret_secret_ref=t.SecretKeySelector("tsig", "s"))
    iss = acme_issuer(solvers=(t.ACMESolver(dns01=t.DNS01(rfc2136=rfc)),))

    def challenge(solver: t.ACMESolver, type_: str = "DNS-01") -> t.Challenge:
        return t.Challenge(spec=t.ChallengeSpec(dns_name="a.example.test", type=type_, solver=solver))

    assert challenges.issuer_solver(challenge(t.ACMESolver(dns01=t.DNS01(rfc2136=rfc))), iss) is not None
    stolen = dataclasses.replace(rfc, tsig_secret_secret_ref=t.SecretKeySelector("someone-elses", "s"))
    assert challenges.issuer_solver(challenge(t.ACMESolver(dns01=t.DNS01(rfc2136=stolen))), iss) is None
    http = t.ACMESolver(http01=t.HTTP01(ingress=t.HTTP01Ingress(name="override")))
    assert challenges.issuer_solver(challenge(http, "HTTP-01"), iss) == http


def test_challenge_status_messages() -> None:
    status = challenges.presented(t.ChallengeStatus(processing=True), NOW)
    assert status.presented and status.presented_at == "2026-01-02T03:04:05Z"
    assert challenges.waiting(status, "DNS-01", "no TXT").reason == "Waiting for DNS-01 challenge propagation: no TXT"
    done = challenges.authorized(status)
    assert (done.state, done.reason) == ("valid", "Successfully authorized domain")
    assert challenges.cleaned(done) == t.ChallengeStatus(state="valid", reason="Successfully authorized domain",
                                                         presented_at=status.presented_at)
    legacy = _ch("a", "1", finalizers=("other", c.ACME_LEGACY_FINALIZER))
    assert challenges.finalizers_with(legacy) == ["other", c.ACME_FINALIZER]
    assert challenges.finalizers_without(legacy) == ["other"]


# ---------------------------------------------------------------------------------------------------------
# ACME issuers


def _registered(email: str = "a@example.test", key_hash: str = "h", ready: str = "True", uri_host: str = "acme.test",
                generation: int = 1) -> t.Issuer:
    iss = acme_issuer(email=email)
    return t.Issuer(
        metadata=t.ObjectMeta(name="le", namespace="ns", generation=generation), spec=iss.spec,
        status=t.IssuerStatus(
            conditions=(t.Condition(type="Ready", status=ready, reason="ACMEAccountRegistered",
                                    observed_generation=1),),
            acme=t.ACMEIssuerStatus(uri=f"https://{uri_host}/acct/1", last_registered_email="a@example.test",
                                    last_private_key_hash="h")),
    )


@pytest.mark.parametrize(
    ("issuer", "key_hash", "expected"),
    [
        (_registered(), "h", True),
        (_registered(email="B@example.test"), "h", False),
        (_registered(), "other", False),
        (_registered(ready="False"), "h", False),
        (_registered(uri_host="other.test"), "h", False),
        (_registered(generation=2), "h", False),
        (acme_issuer(email="a@example.test"), "h", False),
    ],
    ids=["ready and unchanged: skip", "e-mail changed", "key changed", "not ready", "server host changed",
         "spec changed since", "never registered"],
)
def test_reverification_is_skipped_only_when_nothing_changed(issuer: t.Issuer, key_hash: str, expected: bool) -> None:
    assert acmeissuers.can_skip(issuer, key_hash) is expected


@pytest.mark.parametrize(
    ("server", "ok"),
    [("https://acme-v02.api.letsencrypt.org/directory", True), ("http://127.0.0.1:14000/dir", True),
     ("acme.example.test/dir", False), ("ftp://acme.example.test/dir", False), ("https://", False)],
    ids=["https URL", "http URL", "no scheme", "another scheme", "no host"],
)
def test_the_server_must_be_an_absolute_http_url(server: str, ok: bool) -> None:
    assert (acmeissuers.server_url_problem(server) == "") is ok


def test_dns01_solver_secrets_must_exist() -> None:
    solvers = (
        t.ACMESolver(http01=t.HTTP01(ingress=t.HTTP01Ingress())),
        t.ACMESolver(dns01=t.DNS01(rfc2136=t.RFC2136(nameserver="1.2.3.4", tsig_key_name="k",
                                                     tsig_secret_secret_ref=t.SecretKeySelector("tsig", "s")))),
        t.ACMESolver(dns01=t.DNS01(cloudflare={"apiTokenSecretRef": {"name": "cf", "key": "token"}})),
    )
    iss = acme_issuer(solvers=solvers)
    assert acmeissuers.solver_secret_refs(iss) == [
        ("spec.acme.solvers[1].dns01.rfc2136.tsigSecretSecretRef", "tsig"),
        ("spec.acme.solvers[2].dns01.cloudflare.apiTokenSecretRef", "cf"),
    ]
    assert acmeissuers.invalid_solver(iss, lambda name: True) == ""
    assert acmeissuers.invalid_solver(iss, lambda name: name != "cf") == (
        'Secret "cf" referenced by spec.acme.solvers[2].dns01.cloudflare.apiTokenSecretRef not found')


def test_registered_status_and_one_event() -> None:
    iss = acme_issuer(email="a@example.test")
    account = t.ACMEIssuerStatus(uri="https://acme.test/acct/1", last_registered_email="a@example.test",
                                 last_private_key_hash="h")
    setup = base.Setup(True, c.REASON_ACME_ACCOUNT_REGISTERED, acmeissuers.REGISTERED_MESSAGE)
    status, events = acmeissuers.decide(iss, setup, account, NOW)
    assert status is not None and status.acme == account
    assert events == [("Normal", "ACMEAccountRegistered", acmeissuers.REGISTERED_MESSAGE)]
    again = t.Issuer(metadata=iss.metadata, spec=iss.spec, status=status)
    assert acmeissuers.decide(again, setup, None, NOW) == (None, [])
