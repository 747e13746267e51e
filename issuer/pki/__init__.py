"""PKI core: keys, CSRs, certificate templates, signing, chains, Secret payloads and renewal time.

Pure apart from `cryptography` (and pyjks for JKS keystores); reads no clock: callers pass `now`.
"""
