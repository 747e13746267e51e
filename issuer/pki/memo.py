"""A small least-recently-used memo keyed by bytes, for parsed PEM.

The same PEM travels through several steps (a CSR through the request manager, the signer and the
policies; a chain through the signer, the issuing Secret and its annotations), and parsing with signature
checks costs more than the signing itself. What we encode ourselves is remembered as already parsed.
"""

from __future__ import annotations

import collections
import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class BytesMemo(Generic[T]):
    def __init__(self, maxsize: int = 512) -> None:
        self._items: collections.OrderedDict[bytes, T] = collections.OrderedDict()
        self._maxsize = maxsize
        self._lock = threading.Lock()  # signers may run in worker threads

    def get(self, key: bytes) -> T | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: bytes, value: T) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._maxsize:
                self._items.popitem(last=False)
