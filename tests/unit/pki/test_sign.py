"""template + sign: what the SelfSigned and CA issuers put in the certificate and in status."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, ExtensionOID

from issuer.api import types as t
from issuer.pki import ca, chain, csr, keys, sign
from issuer.pki.errors import PKIError
from tests.unit.pki.helpers import NOW, cached_key, issue_from, make_root, request_spec_for, self_signed


def load_all(pem_bytes: bytes) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem_bytes)


def value(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> x509.ExtensionType:
    return cert.extensions.get_extension_for_oid(oid).value


def test_self_signed_certificate_is_its_own_ca() -> None:
    key = cached_key("ECDSA")
    spec = t.CertificateSpec(common_name="self", dns_names=("self.example",))
    res = self_signed(spec, key)
    assert res.cert_pem_chain == res.ca_pem
    leaf = res.leaf
    assert leaf.issuer == leaf.subject
    assert chain.is_self_signed(leaf)
    ski = value(leaf, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    aki = value(leaf, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    assert isinstance(ski, x509.SubjectKeyIdentifier) and isinstance(aki, x509.AuthorityKeyIdentifier)
    assert aki.key_identifier == ski.digest


def test_validity_is_now_plus_duration_without_backdating() -> None:
    now = NOW.replace(microsecond=654321)
    spec = t.CertificateSpec(common_name="x", duration="1h30m")
    res = self_signed(spec, cached_key("ECDSA"), now)
    assert res.leaf.not_valid_before_utc == NOW
    assert res.leaf.not_valid_after_utc == NOW + dt.timedelta(hours=1, minutes=30)


def test_default_duration_is_90_days() -> None:
    res = self_signed(t.CertificateSpec(common_name="x"), cached_key("ECDSA"))
    assert res.leaf.not_valid_after_utc - res.leaf.not_valid_before_utc == dt.timedelta(days=90)


def test_serial_is_random_positive_and_large() -> None:
    spec = t.CertificateSpec(common_name="x")
    serials = {self_signed(spec, cached_key("ECDSA")).leaf.serial_number for _ in range(5)}
    assert len(serials) == 5
    assert all(0 < s < 2**160 for s in serials)
    assert max(s.bit_length() for s in serials) > 100


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        self_signed(t.CertificateSpec(common_name="x"), cached_key("ECDSA"), dt.datetime(2026, 1, 1))


def test_self_signed_refuses_a_csr_for_another_key() -> None:
    spec = t.CertificateSpec(common_name="x")
    request = csr.build(spec, cached_key("ECDSA", 256, 1))
    with pytest.raises(PKIError, match="does not match") as err:
        sign.sign_self_signed(request, cached_key("ECDSA", 256, 2), request_spec_for(spec), NOW)
    assert err.value.reason == "ErrorKeyMatch"


def test_self_signed_adds_crl_distribution_points() -> None:
    spec = t.CertificateSpec(common_name="x")
    key = cached_key("ECDSA")
    res = sign.sign_self_signed(
        csr.build(spec, key), key, request_spec_for(spec), NOW, crl_distribution_points=("http://crl.example/a.crl",)
    )
    dps = value(res.leaf, ExtensionOID.CRL_DISTRIBUTION_POINTS)
    assert isinstance(dps, x509.CRLDistributionPoints)
    assert [p.full_name[0].value for p in dps if p.full_name] == ["http://crl.example/a.crl"]


def test_end_entity_extensions(root: tuple[ca.CAKeyPair, bytes]) -> None:
    pair, _ = root
    spec = t.CertificateSpec(common_name="leaf", dns_names=("leaf.example",), usages=("server auth", "signing"))
    leaf = issue_from(pair, spec).result.leaf
    bc = leaf.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)
    assert bc.critical and bc.value == x509.BasicConstraints(ca=False, path_length=None)
    ku = leaf.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE)
    assert ku.critical
    assert isinstance(ku.value, x509.KeyUsage) and ku.value.digital_signature and not ku.value.key_cert_sign
    assert list(value(leaf, ExtensionOID.EXTENDED_KEY_USAGE)) == [ExtendedKeyUsageOID.SERVER_AUTH]  # type: ignore[call-overload]
    issuer_ski = value(pair.certificate, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    aki = value(leaf, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    assert isinstance(issuer_ski, x509.SubjectKeyIdentifier) and isinstance(aki, x509.AuthorityKeyIdentifier)
    assert aki.key_identifier == issuer_ski.digest
    assert leaf.issuer == pair.certificate.subject


@pytest.mark.parametrize(("algorithm", "key_encipherment"), [("RSA", True), ("ECDSA", False), ("Ed25519", False)])
def test_key_encipherment_is_dropped_for_non_rsa_keys(
    root: tuple[ca.CAKeyPair, bytes], algorithm: str, key_encipherment: bool
) -> None:
    pair, _ = root
    spec = t.CertificateSpec(common_name="x")  # default usages: digital signature, key encipherment
    leaf = issue_from(pair, spec, cached_key(algorithm)).result.leaf
    ku = value(leaf, ExtensionOID.KEY_USAGE)
    assert isinstance(ku, x509.KeyUsage)
    assert ku.digital_signature and ku.key_encipherment is key_encipherment


def test_ca_issuer_returns_leaf_only_and_the_root_as_ca(root: tuple[ca.CAKeyPair, bytes]) -> None:
    pair, root_pem = root
    res = issue_from(pair, t.CertificateSpec(common_name="x")).result
    assert len(load_all(res.cert_pem_chain)) == 1
    assert res.ca_pem == root_pem


def test_intermediate_chain_in_status() -> None:
    root_pair, root_pem = make_root("Root")
    inter_key = cached_key("ECDSA", 384)
    inter = issue_from(root_pair, t.CertificateSpec(common_name="Intermediate", is_ca=True), inter_key).result
    inter_pair = ca.load_ca_keypair(inter.cert_pem_chain + root_pem, keys.encode(inter_key), None, NOW)
    res = issue_from(inter_pair, t.CertificateSpec(common_name="leaf")).result
    certs = load_all(res.cert_pem_chain)
    assert [c.subject.rfc4514_string() for c in certs] == ["CN=leaf", "CN=Intermediate"]
    assert res.ca_pem == root_pem
    # signer is P-384: the leaf is signed with ECDSA-SHA384 whatever its own key
    assert isinstance(res.leaf.signature_hash_algorithm, hashes.SHA384)


def test_intermediate_without_root_gives_the_intermediate_as_ca() -> None:
    root_pair, root_pem = make_root("Root")
    inter_key = cached_key("ECDSA", 256, 7)
    inter = issue_from(root_pair, t.CertificateSpec(common_name="Intermediate", is_ca=True), inter_key).result
    inter_pair = ca.load_ca_keypair(inter.cert_pem_chain, keys.encode(inter_key), None, NOW)
    res = issue_from(inter_pair, t.CertificateSpec(common_name="leaf")).result
    assert len(load_all(res.cert_pem_chain)) == 2
    assert res.ca_pem == inter.cert_pem_chain
    # ... unless the issuer Secret's ca.crt has the root: then that is status.ca
    with_ca = ca.load_ca_keypair(inter.cert_pem_chain, keys.encode(inter_key), root_pem, NOW)
    res2 = issue_from(with_ca, t.CertificateSpec(common_name="leaf")).result
    assert len(load_all(res2.cert_pem_chain)) == 2
    assert res2.ca_pem == root_pem


def test_ca_issuer_adds_crl_ocsp_and_issuing_urls(root: tuple[ca.CAKeyPair, bytes]) -> None:
    pair, _ = root
    spec = t.CertificateSpec(common_name="x")
    key = cached_key("ECDSA")
    res = sign.sign_with_ca(
        csr.build(spec, key),
        request_spec_for(spec),
        pair,
        NOW,
        crl=("http://crl.example/ca.crl",),
        ocsp=("http://ocsp.example",),
        issuing_urls=("http://ca.example/ca.crt",),
    )
    aia = value(res.leaf, ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    assert isinstance(aia, x509.AuthorityInformationAccess)
    assert [(d.access_method, d.access_location.value) for d in aia] == [
        (AuthorityInformationAccessOID.OCSP, "http://ocsp.example"),
        (AuthorityInformationAccessOID.CA_ISSUERS, "http://ca.example/ca.crt"),
    ]
    assert value(res.leaf, ExtensionOID.CRL_DISTRIBUTION_POINTS)


@pytest.mark.parametrize(
    ("signer", "expected"),
    [
        (("ECDSA", 256), hashes.SHA256),
        (("ECDSA", 521), hashes.SHA512),
        (("RSA", None), hashes.SHA256),
        (("Ed25519", None), type(None)),
    ],
)
def test_signature_algorithm_follows_the_signer_key(signer: tuple[str, int | None], expected: type) -> None:
    key = cached_key(*signer)
    spec = t.CertificateSpec(common_name="self")
    assert isinstance(self_signed(spec, key).leaf.signature_hash_algorithm, expected)


def test_is_ca_is_forced_from_the_request_spec_and_checked_against_the_csr(root: tuple[ca.CAKeyPair, bytes]) -> None:
    pair, _ = root
    key = cached_key("ECDSA")
    ca_csr = csr.build(t.CertificateSpec(common_name="x", is_ca=True), key)
    with pytest.raises(PKIError, match="encoded CSR error: IsCA true does not match expected value false"):
        sign.sign_with_ca(ca_csr, t.CertificateRequestSpec(usages=("cert sign", "digital signature")), pair, NOW)
    # a CSR without basicConstraints takes spec.isCA
    plain = csr.build(t.CertificateSpec(common_name="x", encode_usages_in_request=False), key)
    res = sign.sign_with_ca(plain, t.CertificateRequestSpec(is_ca=True), pair, NOW)
    bc = value(res.leaf, ExtensionOID.BASIC_CONSTRAINTS)
    assert bc == x509.BasicConstraints(ca=True, path_length=None)
    ku = value(res.leaf, ExtensionOID.KEY_USAGE)
    assert isinstance(ku, x509.KeyUsage) and ku.key_cert_sign


def test_usages_come_from_the_request_spec_when_the_csr_has_none(root: tuple[ca.CAKeyPair, bytes]) -> None:
    pair, _ = root
    spec = t.CertificateSpec(
        common_name="x", usages=("client auth", "digital signature"), encode_usages_in_request=False
    )
    leaf = issue_from(pair, spec).result.leaf
    assert list(value(leaf, ExtensionOID.EXTENDED_KEY_USAGE)) == [ExtendedKeyUsageOID.CLIENT_AUTH]  # type: ignore[call-overload]


def test_csr_usages_that_differ_from_the_request_spec_are_refused(root: tuple[ca.CAKeyPair, bytes]) -> None:
    pair, _ = root
    request = csr.build(t.CertificateSpec(common_name="x", usages=("server auth",)), cached_key("ECDSA"))
    with pytest.raises(PKIError, match="encoded CSR error: the ExtKeyUsages"):
        sign.sign_with_ca(request, t.CertificateRequestSpec(usages=("client auth",)), pair, NOW)


def test_only_ekus_means_no_key_usage_extension(root: tuple[ca.CAKeyPair, bytes]) -> None:
    pair, _ = root
    leaf = issue_from(pair, t.CertificateSpec(common_name="x", usages=("server auth",))).result.leaf
    with pytest.raises(x509.ExtensionNotFound):
        leaf.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE)


def test_subject_and_sans_are_copied_raw_and_san_critical_iff_subject_empty(root: tuple[ca.CAKeyPair, bytes]) -> None:
    pair, _ = root
    named = issue_from(pair, t.CertificateSpec(literal_subject="CN=a,OU=x+OU=y,O=o", dns_names=("a.example",)))
    assert named.result.leaf.subject.rfc4514_string() == "CN=a,OU=x+OU=y,O=o"
    assert not named.result.leaf.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).critical
    empty = issue_from(pair, t.CertificateSpec(uris=("spiffe://td/ns/a",)))
    assert len(empty.result.leaf.subject) == 0
    assert empty.result.leaf.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).critical


def test_name_constraints_are_copied_with_their_criticality(root: tuple[ca.CAKeyPair, bytes]) -> None:
    pair, _ = root
    nc = t.NameConstraints(critical=True, permitted=t.NameConstraintItem(dns_domains=("example.com",)))
    leaf = issue_from(pair, t.CertificateSpec(common_name="sub", is_ca=True, name_constraints=nc)).result.leaf
    ext = leaf.extensions.get_extension_for_oid(ExtensionOID.NAME_CONSTRAINTS)
    assert ext.critical
    assert isinstance(ext.value, x509.NameConstraints)
    assert [n.value for n in ext.value.permitted_subtrees or []] == ["example.com"]


def test_csr_pem_bytes_are_accepted_too(root: tuple[ca.CAKeyPair, bytes]) -> None:
    pair, _ = root
    spec = t.CertificateSpec(common_name="x")
    request_pem = csr.pem_bytes(csr.build(spec, cached_key("ECDSA")))
    assert sign.sign_with_ca(request_pem, request_spec_for(spec), pair, NOW).leaf.subject == x509.Name(
        [x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "x")]
    )


def test_self_signed_with_an_empty_subject_has_an_empty_issuer_and_critical_san() -> None:
    res = self_signed(t.CertificateSpec(dns_names=("only-san.example",)), cached_key("ECDSA"))
    assert len(res.leaf.subject) == 0 and len(res.leaf.issuer) == 0
    assert res.leaf.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).critical


def test_a_ca_without_subject_key_identifier_gets_an_aki_from_its_public_key() -> None:
    from cryptography.x509.oid import NameOID

    key = cached_key("ECDSA", 256, 90)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Old CA")])
    old_ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pair = ca.load_ca_keypair(chain.encode([old_ca]), keys.encode(key), None, NOW)
    leaf = issue_from(pair, t.CertificateSpec(common_name="x")).result.leaf
    aki = value(leaf, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    assert isinstance(aki, x509.AuthorityKeyIdentifier)
    assert aki.key_identifier == x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest


def test_temporary_certificate_like_cert_manager() -> None:
    key = cached_key("ECDSA", 256, 95)
    spec = t.CertificateSpec(common_name="app", dns_names=("app.example",), duration="2h")
    leaf = x509.load_pem_x509_certificate(sign.temporary_certificate(spec, key, NOW))
    assert leaf.issuer.rfc4514_string() == "CN=cert-manager.local"
    assert leaf.subject.rfc4514_string() == "2.5.4.5=1234567890,CN=app"  # RDN order CN, SERIALNUMBER
    assert keys.public_keys_equal(leaf.public_key(), key)
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == dt.timedelta(hours=2)
    assert isinstance(leaf.signature_hash_algorithm, hashes.SHA512)  # P-521 signer
