"""ACME adapter: the only package that imports certbot's `acme` and `josepy` (absolute imports only)."""
