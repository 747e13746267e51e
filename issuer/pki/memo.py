"""A small least-recently-used memo, keyed by bytes for parsed PEM (or by any hashable value).

The same PEM travels through several steps (a CSR through the request manager, the signer and the
policies; a chain through the signer, the issuing Secret and its annotations), and parsing with signature
checks costs more than the signing itself. What we encode ourselves is remembered as already parsed.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class Memo(Generic[K, T]):
    def __init__(self, maxsize: int = 512) -> None:
        self._items: collections.OrderedDict[K, T] = collections.OrderedDict()
        self._maxsize = maxsize
        self._lock = threading.Lock()  # signers may run in worker threads

    def get(self, key: K) -> T | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: T) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._maxsize:
                self._items.popitem(last=False)


class BytesMemo(Memo[bytes, T]):
    """Keyed by the bytes of a PEM or DER document."""
