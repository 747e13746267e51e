"""Solver selection as cert-manager's solver picker (inventory §5.5), as a table, and the Order's
HTTP-01 override annotations."""

from __future__ import annotations

import dataclasses

import pytest

from issuer.acme import solver
from issuer.api import constants as c
from issuer.api import types as t

HTTP = t.ACMESolver(http01=t.HTTP01(ingress=t.HTTP01Ingress(class_="nginx")))
DNS = t.ACMESolver(dns01=t.DNS01(rfc2136=t.RFC2136(nameserver="10.0.0.1")))
BOTH = ("http-01", "dns-01", "tls-alpn-01")


def sel(base: t.ACMESolver, *, labels: dict[str, str] | None = None, names: tuple[str, ...] = (),
        zones: tuple[str, ...] = ()) -> t.ACMESolver:
    return dataclasses.replace(
        base, selector=t.CertificateDNSNameSelector(match_labels=labels or {}, dns_names=names, dns_zones=zones)
    )


CASES = [
    # (id, solvers, domain, wildcard, labels, offered, expected index or None)
    ("no solvers: nothing", [], "a.example.com", False, {}, BOTH, None),
    ("one selector-less solver matches everything", [HTTP], "a.example.com", False, {}, BOTH, 0),
    ("the first selector-less solver wins", [DNS, HTTP], "a.example.com", False, {}, BOTH, 0),
    ("a type the authorization does not offer is skipped", [DNS, HTTP], "a.example.com", False, {}, ("http-01",), 1),
    ("nothing offered that we can solve", [HTTP, DNS], "a.example.com", False, {}, ("tls-alpn-01",), None),
    ("any matching selector beats a selector-less solver", [HTTP, sel(DNS, zones=("example.com",))],
     "a.example.com", False, {}, BOTH, 1),
    ("a selector that does not match falls back to the selector-less one", [HTTP, sel(DNS, zones=("other.org",))],
     "a.example.com", False, {}, BOTH, 0),
    ("dnsNames match beats a zone match", [sel(HTTP, zones=("a.example.com",)), sel(DNS, names=("a.example.com",))],
     "a.example.com", False, {}, BOTH, 1),
    ("the more specific zone wins", [sel(HTTP, zones=("example.com",)), sel(DNS, zones=("b.example.com",))],
     "a.b.example.com", False, {}, BOTH, 1),
    ("the longest of several zones of one selector counts",
     [sel(HTTP, zones=("com", "b.example.com")), sel(DNS, zones=("example.com",))], "a.b.example.com", False, {},
     BOTH, 0),
    ("a zone matches itself", [sel(HTTP, zones=("example.com",))], "example.com", False, {}, BOTH, 0),
    ("a zone does not match a mere suffix", [sel(HTTP, zones=("ample.com",))], "example.com", False, {}, BOTH, None),
    ("more matching labels win when zones tie",
     [sel(HTTP, labels={"a": "1"}), sel(DNS, labels={"a": "1", "b": "2"})], "x.example.com", False,
     {"a": "1", "b": "2"}, BOTH, 1),
    ("all labels are required", [sel(DNS, labels={"a": "1", "b": "2"})], "x.example.com", False, {"a": "1"},
     BOTH, None),
    ("zone specificity beats label count",
     [sel(HTTP, labels={"a": "1"}, zones=("example.com",)), sel(DNS, zones=("x.example.com",))],
     "y.x.example.com", False, {"a": "1"}, BOTH, 1),
    ("ties go to the earlier solver", [sel(HTTP, zones=("example.com",)), sel(DNS, zones=("example.com",))],
     "a.example.com", False, {}, BOTH, 0),
    ("an empty selector matches with score zero and beats selector-less", [HTTP, sel(DNS)], "a.example.com",
     False, {}, BOTH, 1),
    ("wildcard authorizations match dnsNames with the *. prefix",
     [sel(HTTP, names=("a.example.com",)), sel(DNS, names=("*.a.example.com",))], "a.example.com", True, {},
     ("dns-01",), 1),
    ("wildcard authorizations match their zone", [sel(DNS, zones=("example.com",))], "example.com", True, {},
     ("dns-01",), 0),
]


@pytest.mark.parametrize(("solvers", "domain", "wildcard", "labels", "offered", "expected"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_select(solvers: list[t.ACMESolver], domain: str, wildcard: bool, labels: dict[str, str],
                offered: tuple[str, ...], expected: int | None) -> None:
    choice = solver.select(solvers, domain, wildcard, labels, offered)
    assert (choice.index if choice else None) == expected
    if choice is not None:
        assert choice.solver is solvers[expected or 0]
        assert choice.challenge_type == solver.solver_type(choice.solver)


def test_ingress_name_override_clears_the_class() -> None:
    out = solver.apply_overrides(HTTP, {c.ANN_HTTP01_OVERRIDE_INGRESS_NAME: "web"})
    assert out.http01 is not None and out.http01.ingress is not None
    assert (out.http01.ingress.name, out.http01.ingress.class_, out.http01.ingress.ingress_class_name) == (
        "web", None, None)


def test_ingress_class_name_override() -> None:
    out = solver.apply_overrides(HTTP, {c.ANN_HTTP01_OVERRIDE_INGRESS_INGRESSCLASSNAME: "traefik"})
    assert out.http01 is not None and out.http01.ingress is not None
    assert (out.http01.ingress.class_, out.http01.ingress.ingress_class_name) == (None, "traefik")


def test_no_annotations_keep_the_solver() -> None:
    assert solver.apply_overrides(HTTP, {}) is HTTP
    assert solver.apply_overrides(DNS, {c.ANN_HTTP01_OVERRIDE_INGRESS_NAME: "web"}) is DNS


def test_gateway_parent_ref_override() -> None:
    gw = t.ACMESolver(http01=t.HTTP01(gateway_http_route={"parentRefs": [{"name": "old"}], "labels": {"a": "b"}}))
    out = solver.apply_overrides(gw, {solver.ANN_PARENT_REF_NAME: "gw", solver.ANN_PARENT_REF_KIND: "Gateway",
                                      solver.ANN_PARENT_REF_NAMESPACE: "infra"})
    assert out.http01 is not None
    assert out.http01.gateway_http_route == {
        "parentRefs": [{"name": "gw", "kind": "Gateway", "namespace": "infra"}], "labels": {"a": "b"}}
    assert solver.apply_overrides(gw, {solver.ANN_PARENT_REF_NAME: "gw"}) is gw  # kind is required too
