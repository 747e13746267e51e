"""The tiny HTTP-01 solver program run inside ACME solver Pods (`issuer acmesolver`); see `server`."""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from issuer.acmesolver import server

    return server.main(argv)
