"""Deterministic names of the Orders and Challenges the ACME controllers create (cert-manager
`pkg/api/util/names.go` `ComputeUniqueDeterministicNameFromObject`, inventory §4.6). Pure.

A name is `<prefix shortened DNS-safely>-<8 hex digits>`, at most 63 characters (it also ends up in
solver Pod and Service names): the hash is 32-bit FNV-1 (Go's `fnv.New32`, as cert-manager uses; not
FNV-1a) over the prefix followed by the compact JSON of the hashed object, so a changed spec gives a new
name. The prefix is cut at 54 characters back to its last letter or digit.

- Order: prefix = the CertificateRequest name; object = the Order spec without `request` (`null`), wrapped
  with the CR name when the name is 52 characters or longer, so long names that shorten alike still differ.
- Challenge: prefix = the Order name; object = the Challenge spec before its `key` is set.

The JSON is Go's `json.Marshal` shape as far as our wire dicts follow Go's struct field order (compact,
`<`, `>`, `&` escaped); names need to be stable and unique for us, not byte-identical to cert-manager's.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_NAME_LENGTH = 63
HASH_LENGTH = 8
_ALNUM = re.compile(r"[a-zA-Z0-9]")
_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193


def fnv32(data: bytes) -> int:
    """32-bit FNV-1 (multiply, then xor), Go's `hash/fnv.New32`."""
    h = _FNV32_OFFSET
    for byte in data:
        h = (h * _FNV32_PRIME) & 0xFFFFFFFF
        h ^= byte
    return h


def dns_safe_shorten(value: str, max_length: int) -> str:
    """`value` cut to `max_length`, then back to its last letter or digit (DNSSafeShortenToNCharacters)."""
    if len(value) < max_length:
        return value
    head = value[:max_length]
    last = None
    for match in _ALNUM.finditer(head):
        last = match
    return head[: last.end()] if last is not None else ""


def go_json(obj: Any) -> bytes:
    """Compact JSON with Go's HTML escaping, keys in the dict's order."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode("utf-8")


def unique_name(prefix: str, *data: bytes, max_length: int = MAX_NAME_LENGTH) -> str:
    h = fnv32(prefix.encode("utf-8") + b"".join(data))
    short = dns_safe_shorten(prefix, max_length - HASH_LENGTH - 1)
    return f"{short}-{h:08x}" if short else f"{h:08x}"


def order_name(certificate_request_name: str, order_spec: dict[str, Any]) -> str:
    """The Order's name for a CertificateRequest and the Order spec (wire form) built for it."""
    spec = {"request": None, **{k: v for k, v in order_spec.items() if k != "request"}}
    hashed: Any = spec
    if len(certificate_request_name) >= 52:
        hashed = {"certificateRequestName": certificate_request_name, "spec": spec}
    return unique_name(certificate_request_name, go_json(hashed))


def challenge_name(order_name_: str, challenge_spec: dict[str, Any]) -> str:
    """The Challenge's name for an Order and the Challenge spec (wire form; `key` is left out of the hash)."""
    spec = {k: v for k, v in challenge_spec.items() if k != "key"}
    return unique_name(order_name_, go_json(spec))
