"""ACME adapter: the only package that imports certbot's `acme` and `josepy` (absolute imports only, since
this package is `issuer.acme` and theirs is `acme`), and the DNS-01 providers (dnspython).

    client     ACMEClient: single-shot RFC 8555 verbs (directory, register/lookup/update_email, new_order,
               get_order, get_authorization, answer_challenge, finalize, fetch_certificate with
               preferredChain), key authorizations, a request hook for metrics; AsyncACMEClient
    errors     ACMEError -> Retryable(delay) | Terminal(problem_type, detail) -> InvalidConfig
    accounts   account keys (RSA only), lastPrivateKeyHash, EAB MAC keys, v1 URLs refused, client_for
    orders     Order/Challenge resource glue (identifiers, status.authorizations, Challenge spec and key)
    solver     which solver answers an authorization; Order override annotations
    names      deterministic Order and Challenge names
    http01     solver Pod/Service/Ingress manifests, Ingress edit in place, the self-check
    dns01      record names, CNAME following, zone discovery, the propagation check
    rfc2136    the RFC 2136 provider (TSIG)
    flow       one whole issuance in one call (offline `issuer issue`, tests)

Nothing here sleeps except `flow` (which polls) and the badNonce retry inside `client`.
"""
