"""ACME in `issuer issue`: Certificates of ACME Issuers issued in one run, as certbot and lego do it.

Per Issuer (once per run): the account key from the `privateKeySecretRef` Secret when the input holds it,
else a new RSA 2048 key that is also emitted as that Secret (so the user can keep the account), then the
account registered or found (with the External Account Binding from its Secret). Per Certificate: the
key and CSR the request manager would make, an Order, each pending authorization solved by the solver
cert-manager would pick (`issuer.acme.solver`): HTTP-01 through one standalone listener for every token
of the run (`--http01-port`, default 80), DNS-01 through the solver's `rfc2136` server with its TSIG
Secret (ClusterIssuer Secrets from the cluster resource namespace); then finalize and download
(`preferredChain` honoured) and build the same Secret as the issuing controller (no `ca.crt`: ACME never
sets it). No fixed sleeps: `issuer.acme.flow` polls 20 ms doubling to 1 s and honours Retry-After.

Called by `issuer.offline`; imports the ACME adapter lazily, so runs without ACME Issuers never load it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as _dt
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from issuer.api import constants as c
from issuer.api import types as t

if TYPE_CHECKING:  # pragma: no cover
    from issuer.acme import client as acme_client
    from issuer.acme import flow

SecretLookup = Callable[[str, str], Mapping[str, bytes] | None]
DEFAULT_ACCOUNT_KEY = c.TLS_PRIVATE_KEY_KEY


@dataclasses.dataclass(frozen=True)
class Options:
    """The ACME knobs of an offline run (`issuer issue --http01-port --acme-ca-bundle`)."""

    http01_port: int = 80
    http01_address: str = ""
    ca_bundle: bytes = b""  # PEM roots trusted for the ACME servers instead of the system's (e.g. Pebble's)
    user_agent: str = ""


class Failure(Exception):
    """An ACME issuance problem: `reason` (cert-manager's where one exists) and a one-line message."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def needed_secrets(issuer: t.Issuer, resource_namespace: str) -> list[tuple[tuple[str, str], str, bool]]:
    """((namespace, name), field path, required) of the Secrets an ACME Issuer reads offline."""
    acme = issuer.spec.acme
    out: list[tuple[tuple[str, str], str, bool]] = []
    if acme is None:
        return out
    if acme.private_key_secret_ref is not None and acme.private_key_secret_ref.name:
        out.append(((resource_namespace, acme.private_key_secret_ref.name), "spec.acme.privateKeySecretRef",
                    acme.disable_account_key_generation))
    eab = acme.external_account_binding
    if eab is not None and eab.key_secret_ref is not None:
        out.append(((resource_namespace, eab.key_secret_ref.name), "spec.acme.externalAccountBinding.keySecretRef",
                    True))
    for i, solver in enumerate(acme.solvers):
        rfc = solver.dns01.rfc2136 if solver.dns01 is not None else None
        if rfc is not None and rfc.tsig_secret_secret_ref is not None and rfc.tsig_secret_secret_ref.name:
            out.append(((resource_namespace, rfc.tsig_secret_secret_ref.name),
                        f"spec.acme.solvers[{i}].dns01.rfc2136.tsigSecretSecretRef", True))
    return out


@dataclasses.dataclass
class _Account:
    client: acme_client.ACMEClient
    issuer: t.Issuer
    resource_namespace: str
    solvers: dict[int, flow.Solver] = dataclasses.field(default_factory=dict)


class Run:
    """The ACME state of one `issuer issue` run: accounts per Issuer and the one HTTP-01 listener."""

    def __init__(self, options: Options, get_secret: SecretLookup) -> None:
        self.options = options
        self.get_secret = get_secret
        self.generated: list[dict[str, Any]] = []  # account key Secrets made in this run
        self._accounts: dict[tuple[str, str, str], _Account] = {}
        self._made_keys: dict[tuple[str, str], bytes] = {}
        self._http01: flow.StandaloneHTTP01 | None = None
        self._lock = threading.RLock()  # Certificates of a run are issued from several threads

    def close(self) -> None:
        if self._http01 is not None:
            self._http01.close()
            self._http01 = None
        for account in self._accounts.values():
            account.client.close()

    # --- accounts -----------------------------------------------------------------------------------------

    def account(self, issuer: t.Issuer, resource_namespace: str) -> _Account:
        key = (issuer.kind, issuer.metadata.namespace, issuer.metadata.name)
        with self._lock:
            if key not in self._accounts:
                self._accounts[key] = self._register(issuer, resource_namespace)
            return self._accounts[key]

    def _secret_value(self, namespace: str, ref: t.SecretKeySelector, default_key: str, what: str) -> bytes | None:
        data = self.get_secret(namespace, ref.name)
        if data is None:
            return None
        value = data.get(ref.key or default_key)
        if value is None:
            key = ref.key or default_key
            raise Failure(c.REASON_ERR_REGISTER_ACME_ACCOUNT,
                          f'{what}: Secret "{ref.name}" in namespace "{namespace}" has no key "{key}"')
        return value

    def _register(self, issuer: t.Issuer, rns: str) -> _Account:
        from issuer.acme import accounts, errors
        from issuer.acme import client as acme_client_mod

        spec = issuer.spec.acme
        assert spec is not None
        try:
            accounts.check_server_url(spec.server)
        except errors.InvalidConfig as err:
            raise Failure(c.REASON_INVALID_CONFIG, str(err)) from None
        ref = spec.private_key_secret_ref or t.SecretKeySelector()
        pem = self._made_keys.get((rns, ref.name)) or self._secret_value(rns, ref, DEFAULT_ACCOUNT_KEY, "account key")
        try:
            if pem is None:
                if spec.disable_account_key_generation:
                    raise Failure(
                        c.REASON_ERR_VERIFY_ACME_ACCOUNT,
                        "Failed to verify ACME account: the ACME issuer config has 'disableAccountKeyGeneration' set "
                        f'to true, but the secret was not found: Secret "{ref.name}" in namespace "{rns}"',
                    )
                key = accounts.generate_key()
                pem = accounts.encode_key(key)
                self._made_keys[(rns, ref.name)] = pem
                self.generated.append({
                    "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": {"name": ref.name, "namespace": rns},
                    "data": {ref.key or DEFAULT_ACCOUNT_KEY: base64.b64encode(pem).decode("ascii")},
                })
            else:
                key = accounts.load_key(pem, ref.name)
            ca_bundle = self.options.ca_bundle
            if spec.ca_bundle:
                try:
                    ca_bundle = base64.b64decode(spec.ca_bundle, validate=True) + b"\n" + ca_bundle
                except (binascii.Error, ValueError):
                    raise Failure(c.REASON_INVALID_CONFIG, "spec.acme.caBundle is not valid base64") from None
            client = accounts.client_for(
                spec.server, key, ca_bundle=ca_bundle, skip_tls_verify=spec.skip_tls_verify,
                user_agent=self.options.user_agent or acme_client_mod.DEFAULT_USER_AGENT,
            )
            eab = None
            binding = spec.external_account_binding
            if binding is not None and binding.key_secret_ref is not None:
                value = self._secret_value(rns, binding.key_secret_ref, "", "external account binding")
                if value is None:
                    raise Failure(c.REASON_ERR_REGISTER_ACME_ACCOUNT,
                                  f'Secret "{binding.key_secret_ref.name}" in namespace "{rns}" not found')
                eab = accounts.eab_for_client(binding.key_id, value)
            from issuer.acme import flow

            account = flow.call(client.register, spec.email, eab)
            if spec.email and account.emails != (spec.email.lower(),):
                flow.call(client.update_email, spec.email)
        except errors.InvalidConfig as err:
            raise Failure(c.REASON_ERR_VERIFY_ACME_ACCOUNT, str(err)) from None
        except errors.ACMEError as err:
            raise Failure(c.REASON_ERR_REGISTER_ACME_ACCOUNT, f"Failed to register ACME account: {err}") from None
        return _Account(client, issuer, rns)

    # --- solvers ------------------------------------------------------------------------------------------

    def _http01_solver(self) -> flow.StandaloneHTTP01:
        from issuer.acme import flow

        with self._lock:
            if self._http01 is None:
                self._http01 = flow.StandaloneHTTP01(self.options.http01_port, self.options.http01_address)
            return self._http01

    def _dns01(self, account: _Account, index: int, dns: t.DNS01) -> flow.Solver:
        with self._lock:
            if index not in account.solvers:
                account.solvers[index] = self._make_dns01(account, dns)
            return account.solvers[index]

    def _make_dns01(self, account: _Account, dns: t.DNS01) -> flow.Solver:
        from issuer.acme import dns01, errors, flow, rfc2136

        if dns.rfc2136 is None:
            provider = ", ".join(dns.provider_names()) or "none"
            raise Failure("InvalidSolver", f"the DNS-01 provider {provider} is not supported offline (only rfc2136)")
        secret = b""
        ref = dns.rfc2136.tsig_secret_secret_ref
        if dns.rfc2136.tsig_key_name and ref is not None:
            value = self._secret_value(account.resource_namespace, ref, "", "TSIG secret")
            if value is None:
                raise Failure("InvalidSolver", f'Secret "{ref.name}" in namespace "{account.resource_namespace}" '
                              "not found")
            secret = value
        try:
            config = rfc2136.Config.from_spec(dns.rfc2136, secret)
            checks = [dns01.parse_nameserver(n) for n in dns.nameservers]
        except errors.ACMEError as err:
            raise Failure("InvalidSolver", str(err)) from None
        return flow.RFC2136DNS01(rfc2136.Provider(config), cname_strategy=dns.cname_strategy, check_nameservers=checks)

    def _chooser(self, account: _Account, labels: Mapping[str, str]) -> flow.Chooser:
        from issuer.acme import solver as picker

        spec = account.issuer.spec.acme
        assert spec is not None

        def choose(authz: acme_client.Authorization) -> flow.Solver | None:
            offered = [ch.type for ch in authz.challenges]
            choice = picker.select(spec.solvers, authz.identifier.value, authz.wildcard, labels, offered)
            if choice is None:
                return None
            if choice.challenge_type == picker.HTTP01:
                return self._http01_solver()
            assert choice.solver.dns01 is not None
            return self._dns01(account, choice.index, choice.solver.dns01)

        return choose

    # --- issuance -------------------------------------------------------------------------------------------

    def obtain(self, issuer: t.Issuer, resource_namespace: str, cert: t.Certificate, csr_pem: bytes,
               now: _dt.datetime) -> bytes:
        """The PEM chain for `csr_pem`, or Failure."""
        from issuer.acme import errors, flow
        from issuer.api import duration

        account = self.account(issuer, resource_namespace)
        spec = issuer.spec.acme
        assert spec is not None
        names = [*cert.spec.dns_names, *cert.spec.ip_addresses]
        cn = cert.spec.common_name
        if cn and cn not in names:
            raise Failure("InvalidOrder", "The CSR PEM requests a commonName that is not present in the list of "
                          f"dnsNames or ipAddresses. If a commonName is set, ACME requires that the value is also "
                          f'present in the list of SAN names: "{cn}"')
        not_after = None
        if spec.enable_duration_feature and cert.spec.duration:
            try:
                not_after = now + duration.parse(cert.spec.duration)
            except duration.DurationError as err:
                raise Failure("InvalidOrder", str(err)) from None
        try:
            return flow.obtain(
                account.client, csr_pem, self._chooser(account, cert.metadata.labels),
                identifiers=names, preferred_chain=spec.preferred_chain, not_after=not_after, profile=spec.profile,
            )
        except Failure:
            raise
        except errors.ACMEError as err:
            raise Failure("OrderFailed", str(err)) from None
