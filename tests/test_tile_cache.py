import threading

import numpy as np
import pytest

from infiniscape.renderer.tile_cache import TileCache


def tile_array(v: int = 0) -> np.ndarray:
    return np.full((8, 8, 3), v, np.uint8)  # 192 bytes


def test_least_recently_used_is_evicted_first_to_stay_under_budget():
    cache = TileCache(3 * 192)
    for k in "abc":
        cache.put(k, tile_array())
    assert cache.get("a") is not None  # "a" is now the most recent: "b" is the oldest
    cache.put("d", tile_array())
    assert "b" not in cache and all(k in cache for k in "acd")
    s = cache.stats()
    assert s["bytes"] == 3 * 192 <= s["budget"] and s["count"] == 3 and s["evictions"] == 1


def test_hits_and_misses_are_counted_but_membership_tests_are_not():
    cache = TileCache(1 << 20)
    cache.put(("g", 1), tile_array(7))
    assert cache.get(("g", 1))[0, 0, 0] == 7
    assert cache.get(("g", 2)) is None
    assert ("g", 2) not in cache
    assert (cache.stats()["hits"], cache.stats()["misses"]) == (1, 1)


def test_replacing_a_key_counts_its_bytes_once():
    cache = TileCache(1 << 20)
    cache.put("a", tile_array())
    cache.put("a", np.zeros((16, 16, 3), np.uint8))
    assert cache.nbytes == 16 * 16 * 3 and len(cache) == 1


def test_discard_drops_only_the_given_keys_and_frees_their_bytes():
    cache = TileCache(1 << 20)
    for k in range(5):
        cache.put(k, tile_array())
    assert cache.discard([1, 3, 99]) == 2
    assert len(cache) == 3 and cache.nbytes == 3 * 192 and 1 not in cache and 0 in cache


def test_a_value_larger_than_the_budget_is_not_kept():
    cache = TileCache(100)
    cache.put("big", tile_array())
    assert len(cache) == 0 and cache.nbytes == 0


def test_negative_budget_is_refused():
    with pytest.raises(ValueError, match="budget"):
        TileCache(-1)


def test_concurrent_puts_never_exceed_the_budget():
    cache = TileCache(10 * 192)
    peak = []

    def writer(base):
        for i in range(500):
            cache.put((base, i), tile_array())
            peak.append(cache.nbytes)

    threads = [threading.Thread(target=writer, args=(b,)) for b in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(peak) <= 10 * 192 and len(cache) == 10
    assert cache.stats()["evictions"] == 4 * 500 - 10
