"""secret: the issued Secret's data keys, keystores, annotations, labels; describe_certificate."""

from __future__ import annotations

import jks
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from issuer.api import types as t
from issuer.pki import ca, keys, secret
from issuer.pki.errors import PKIError
from tests.unit.pki.helpers import NOW, cached_key, issue_from, make_root


@pytest.fixture(scope="module")
def chain_setup() -> tuple[ca.CAKeyPair, bytes, bytes, keys.PrivateKey, bytes]:
    """An intermediate CA (with the root in ca.crt): returns (pair, root_pem, chain_pem, leaf_key, ca_pem)."""
    root_pair, root_pem = make_root("Root")
    inter_key = cached_key("ECDSA", 256, 30)
    inter = issue_from(root_pair, t.CertificateSpec(common_name="Intermediate", is_ca=True), inter_key).result
    pair = ca.load_ca_keypair(inter.cert_pem_chain, keys.encode(inter_key), root_pem, NOW)
    leaf_key = cached_key("ECDSA", 256, 31)
    res = issue_from(pair, t.CertificateSpec(common_name="leaf", dns_names=("leaf.example",)), leaf_key).result
    return pair, root_pem, res.cert_pem_chain, leaf_key, res.ca_pem


def spec_with(**fields: object) -> t.CertificateSpec:
    return t.CertificateSpec(secret_name="s", common_name="leaf", **fields)  # type: ignore[arg-type]


def test_plain_secret_has_tls_crt_key_and_ca(chain_setup: tuple) -> None:  # type: ignore[type-arg]
    _, root_pem, chain_pem, key, ca_pem = chain_setup
    data = secret.build_secret_data(spec_with(), chain_pem, ca_pem, key, {})
    assert set(data) == {"tls.crt", "tls.key", "ca.crt"}
    assert data["tls.crt"] == chain_pem and data["ca.crt"] == root_pem
    assert data["tls.key"].startswith(b"-----BEGIN EC PRIVATE KEY-----")


def test_no_ca_means_no_ca_crt(chain_setup: tuple) -> None:  # type: ignore[type-arg]
    _, _, chain_pem, key, _ = chain_setup
    assert "ca.crt" not in secret.build_secret_data(spec_with(), chain_pem, b"", key, {})


def test_pkcs8_encoding_der_and_combined_pem(chain_setup: tuple) -> None:  # type: ignore[type-arg]
    _, _, chain_pem, key, ca_pem = chain_setup
    spec = spec_with(
        private_key=t.CertificatePrivateKey(algorithm="ECDSA", encoding="PKCS8"),
        additional_output_formats=(t.AdditionalOutputFormat(type="DER"), t.AdditionalOutputFormat(type="CombinedPEM")),
    )
    data = secret.build_secret_data(spec, chain_pem, ca_pem, key, {})
    assert data["tls.key"].startswith(b"-----BEGIN PRIVATE KEY-----")
    assert serialization.load_der_private_key(data["key.der"], None).public_key() == key.public_key()
    assert data["tls-combined.pem"] == data["tls.key"] + b"\n" + chain_pem


def test_der_follows_the_pkcs1_encoding_like_tls_key(chain_setup: tuple) -> None:  # type: ignore[type-arg]
    _, _, chain_pem, key, ca_pem = chain_setup
    spec = spec_with(additional_output_formats=(t.AdditionalOutputFormat(type="DER"),))
    data = secret.build_secret_data(spec, chain_pem, ca_pem, key, {})
    assert data["key.der"] == keys.der(key, "PKCS1")


@pytest.mark.parametrize("profile", ["", "LegacyRC2", "LegacyDES", "Modern2023", "Modern2026"])
def test_pkcs12_keystore_and_truststore_open_with_the_password(chain_setup: tuple, profile: str) -> None:  # type: ignore[type-arg]
    _, root_pem, chain_pem, key, ca_pem = chain_setup
    spec = spec_with(keystores=t.CertificateKeystores(pkcs12=t.PKCS12Keystore(create=True, profile=profile)))
    data = secret.build_secret_data(spec, chain_pem, ca_pem, key, {"pkcs12": "changeit"})
    loaded = pkcs12.load_pkcs12(data["keystore.p12"], b"changeit")
    assert loaded.key is not None and keys.public_keys_equal(loaded.key, key)
    assert loaded.cert is not None
    assert loaded.cert.certificate == x509.load_pem_x509_certificates(chain_pem)[0]
    assert [c.certificate.subject.rfc4514_string() for c in loaded.additional_certs] == [
        "CN=Intermediate",
        "CN=Root,O=issuer tests",
    ]
    trust = pkcs12.load_pkcs12(data["truststore.p12"], b"changeit")
    assert trust.key is None
    assert [c.certificate for c in trust.additional_certs] == x509.load_pem_x509_certificates(root_pem)
    assert [c.friendly_name for c in trust.additional_certs] == [b"CN=Root,O=issuer tests"]
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(data["keystore.p12"], b"wrong")


def test_jks_keystore_and_truststore(chain_setup: tuple) -> None:  # type: ignore[type-arg]
    _, root_pem, chain_pem, key, ca_pem = chain_setup
    spec = spec_with(keystores=t.CertificateKeystores(jks=t.JKSKeystore(create=True, alias="MyAlias", password="lit")))
    data = secret.build_secret_data(spec, chain_pem, ca_pem, key, {})
    store = jks.KeyStore.loads(data["keystore.jks"], "lit")
    assert set(store.entries) == {"myalias", "ca"}
    entry = store.private_keys["myalias"]
    entry.decrypt("lit") if not entry.is_decrypted() else None
    loaded_key = serialization.load_der_private_key(entry.pkey_pkcs8, None)
    assert keys.public_keys_equal(loaded_key, key)
    assert len(entry.cert_chain) == 2
    trust = jks.KeyStore.loads(data["truststore.jks"], "lit")
    assert set(trust.entries) == {"ca"}
    assert trust.certs["ca"].cert == x509.load_pem_x509_certificates(root_pem)[0].public_bytes(
        serialization.Encoding.DER
    )


def test_jks_several_ca_certificates_are_ca_ca_1(chain_setup: tuple) -> None:  # type: ignore[type-arg]
    pair, root_pem, chain_pem, key, _ = chain_setup
    two = root_pem + pair.certificate.public_bytes(serialization.Encoding.PEM)
    spec = spec_with(keystores=t.CertificateKeystores(jks=t.JKSKeystore(create=True)))
    data = secret.build_secret_data(spec, chain_pem, two, key, {"jks": b"pw"})
    assert set(jks.KeyStore.loads(data["keystore.jks"], "pw").entries) == {"certificate", "ca", "ca-1"}
    assert set(jks.KeyStore.loads(data["truststore.jks"], "pw").entries) == {"ca", "ca-1"}


def test_keystores_need_a_password(chain_setup: tuple) -> None:  # type: ignore[type-arg]
    _, _, chain_pem, key, ca_pem = chain_setup
    spec = spec_with(keystores=t.CertificateKeystores(pkcs12=t.PKCS12Keystore(create=True)))
    with pytest.raises(PKIError, match="no password was given for the pkcs12 keystore"):
        secret.build_secret_data(spec, chain_pem, ca_pem, key, {})


def test_create_false_writes_no_keystore(chain_setup: tuple) -> None:  # type: ignore[type-arg]
    _, _, chain_pem, key, ca_pem = chain_setup
    spec = spec_with(keystores=t.CertificateKeystores(jks=t.JKSKeystore(create=False, password="x")))
    assert "keystore.jks" not in secret.build_secret_data(spec, chain_pem, ca_pem, key, {})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((), ""),
        (("a",), "a"),
        (("a", "b"), "a,b"),
        (("a,b", "c"), '"a,b",c'),
        (('say "hi"',), '"say ""hi"""'),
        ((" lead",), '" lead"'),
        (("",), ""),
        (("\\.",), '"\\."'),
        (("line\nbreak",), '"line\nbreak"'),
    ],
)
def test_csv_like_go(values: tuple[str, ...], expected: str) -> None:
    assert secret._csv(values) == expected


def test_annotations(root: tuple[ca.CAKeyPair, bytes]) -> None:
    pair, _ = root
    spec = t.CertificateSpec(
        secret_name="s",
        common_name="app",
        dns_names=("a.example", "b.example"),
        ip_addresses=("10.0.0.1", "::ffff:10.0.0.2"),
        uris=("spiffe://td/a",),
        email_addresses=("x@example.com",),
        subject=t.X509Subject(organizations=("Org, Inc", "Two"), countries=("GB",), serial_number="99"),
        secret_template=t.SecretTemplate(
            annotations={"team": "a", "cert-manager.io/common-name": "spoof"}, labels={"l": "v"}
        ),
    )
    leaf = issue_from(pair, spec).result.leaf
    cert = t.Certificate(metadata=t.ObjectMeta(name="my-cert", namespace="ns"), spec=spec)
    got = secret.secret_annotations(cert, t.IssuerRef(name="ca-issuer"), leaf)
    assert got == {
        "team": "a",
        "cert-manager.io/certificate-name": "my-cert",
        "cert-manager.io/issuer-name": "ca-issuer",
        "cert-manager.io/issuer-kind": "",
        "cert-manager.io/issuer-group": "",
        "cert-manager.io/common-name": "app",
        "cert-manager.io/alt-names": "a.example,b.example",
        "cert-manager.io/ip-sans": "10.0.0.1,10.0.0.2",
        "cert-manager.io/uri-sans": "spiffe://td/a",
        "cert-manager.io/email-sans": "x@example.com",
        "cert-manager.io/subject-organizations": '"Org, Inc",Two',
        "cert-manager.io/subject-countries": "GB",
        "cert-manager.io/subject-serialnumber": "99",
    }
    assert secret.secret_labels(spec) == {"l": "v", "controller.cert-manager.io/fao": "true"}


def test_annotations_always_present_even_when_empty(root: tuple[ca.CAKeyPair, bytes]) -> None:
    pair, _ = root
    spec = t.CertificateSpec(secret_name="s", uris=("spiffe://td/a",))
    res = issue_from(pair, spec).result
    cert = t.Certificate(metadata=t.ObjectMeta(name="c"), spec=spec)
    got = secret.secret_annotations(
        cert, t.IssuerRef(name="i", kind="Issuer", group="cert-manager.io"), res.cert_pem_chain
    )
    assert got["cert-manager.io/common-name"] == ""
    assert got["cert-manager.io/alt-names"] == "" and got["cert-manager.io/ip-sans"] == ""
    assert "cert-manager.io/email-sans" not in got
    assert got["cert-manager.io/issuer-kind"] == "Issuer"


def test_describe_certificate(root: tuple[ca.CAKeyPair, bytes]) -> None:
    pair, root_pem = root
    spec = t.CertificateSpec(
        common_name="app",
        dns_names=("a.example",),
        other_names=(t.OtherName(oid="1.3.6.1.4.1.311.20.2.3", utf8_value="u@x"),),
        duration="2h",
    )
    res = issue_from(pair, spec).result
    info = secret.describe_certificate(res.cert_pem_chain + root_pem)
    assert info["subject"] == "CN=app" and info["commonName"] == "app"
    assert info["issuer"] == "CN=Test Root,O=issuer tests"
    assert info["notBefore"] == "2026-11-27T10:00:00Z" and info["notAfter"] == "2026-11-27T12:00:00Z"
    assert info["dnsNames"] == ["a.example"]
    assert info["otherNames"] == [{"oid": "1.3.6.1.4.1.311.20.2.3", "utf8Value": "u@x"}]
    assert info["isCA"] is False and info["selfSigned"] is False
    assert info["keyAlgorithm"] == "ECDSA" and info["keySize"] == 256
    assert info["usages"] == ["digital signature"]
    assert info["signatureAlgorithm"] == "ECDSA_WITH_SHA256"
    assert info["serialNumber"] == format(res.leaf.serial_number, "x")
    assert len(info["fingerprints"]["sha256"]) == 64  # type: ignore[index]
    assert info["chainLength"] == 2
    with pytest.raises(PKIError):
        secret.describe_certificate(b"nope")
