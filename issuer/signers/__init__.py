"""Signers: SelfSigned, CA and ACME issuer setup (is the Issuer Ready?) and signing of requests."""
