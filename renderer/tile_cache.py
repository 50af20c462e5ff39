"""TileCache: rendered tiles kept in RAM, least recently used dropped first, bounded in bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Any


class TileCache:
    """Thread-safe LRU of arrays (anything with ``nbytes``) under a byte budget.

    Keys are any hashables; the scheduler uses ``(generation, tile)`` so a result rendered before an
    edit can never be served after it."""

    def __init__(self, budget_bytes: int):
        if budget_bytes < 0:
            raise ValueError(f"cache budget must be >= 0 bytes, got {budget_bytes}")
        self.budget = int(budget_bytes)
        self._items: OrderedDict[Hashable, Any] = OrderedDict()  # oldest first
        self._lock = threading.Lock()
        self._bytes = 0
        self.hits = self.misses = self.evictions = 0

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value for ``key`` (now the most recently used), or ``default``; counts a hit or a miss."""
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return default
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` as the most recently used entry, then evict until under budget."""
        size = int(value.nbytes)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= int(old.nbytes)
            if size > self.budget:  # would evict everything and still not fit
                self.evictions += 1
                return
            self._items[key] = value
            self._bytes += size
            while self._bytes > self.budget:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= int(dropped.nbytes)
                self.evictions += 1

    def discard(self, keys: Iterable[Hashable]) -> int:
        """Drop these keys (missing ones are ignored); returns how many were present."""
        n = 0
        with self._lock:
            for key in keys:
                value = self._items.pop(key, None)
                if value is not None:
                    self._bytes -= int(value.nbytes)
                    n += 1
        return n

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def keys(self) -> list[Hashable]:
        """A snapshot of the keys, oldest use first."""
        with self._lock:
            return list(self._items)

    def __contains__(self, key: Hashable) -> bool:
        # A membership test is not a use: no hit/miss counted, recency unchanged.
        with self._lock:
            return key in self._items

    def present(self, keys) -> set:
        """The given keys that are cached, under one lock (a view plan asks for hundreds)."""
        with self._lock:
            return {k for k in keys if k in self._items}

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._bytes

    def stats(self) -> dict:
        """hits, misses, bytes, count, evictions, budget."""
        with self._lock:
            return {"hits": self.hits, "misses": self.misses, "bytes": self._bytes,
                    "count": len(self._items), "evictions": self.evictions, "budget": self.budget}
