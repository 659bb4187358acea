"""The process-wide cache of built models: one build per key, aliases, LRU bound, threads."""

from __future__ import annotations

import os
import threading
import time

import pytest

from skprep._model_cache import CacheInfo, ModelCache, file_token


class Built:
    """Stands for a built model: a distinct object per build."""

    def __init__(self, name):
        self.name = name


def _builder(counter, name):
    def build():
        counter.append(name)
        return Built(name)

    return build


def test_one_build_per_key_and_the_same_object_back():
    cache, built = ModelCache(4), []
    first = cache.get_or_build(("mobilenet_v2", (96, 96, 3)), _builder(built, "a"))
    again = cache.get_or_build(("mobilenet_v2", (96, 96, 3)), _builder(built, "a"))
    other = cache.get_or_build(("mobilenet_v2", (64, 64, 3)), _builder(built, "b"))
    assert again is first and other is not first
    assert built == ["a", "b"]
    assert cache.info() == CacheInfo(hits=1, misses=2, size=2, maxsize=4)


def test_no_key_means_no_caching():
    cache, built = ModelCache(4), []
    one = cache.get_or_build(None, _builder(built, "x"))
    two = cache.get_or_build(None, _builder(built, "x"))
    assert one is not two and built == ["x", "x"] and cache.info().size == 0


def test_a_second_key_finds_the_same_entry_and_goes_with_it():
    cache, built = ModelCache(1), []
    value = cache.get_or_build("build-key", _builder(built, "a"))
    cache.put(("sha256", "abc", True), value)  # e.g. its .keras bytes, once serialized
    assert cache.get(("sha256", "abc", True)) is value
    assert cache.info().size == 1  # one model, two keys
    cache.get_or_build("other", _builder(built, "b"))  # evicts the first entry, both keys
    assert cache.get("build-key") is None and cache.get(("sha256", "abc", True)) is None


def test_least_recently_used_goes_first():
    cache, built = ModelCache(2), []
    a = cache.get_or_build("a", _builder(built, "a"))
    cache.get_or_build("b", _builder(built, "b"))
    assert cache.get("a") is a  # "b" is now the least recently used
    cache.get_or_build("c", _builder(built, "c"))
    assert cache.get("b") is None and cache.get("a") is a
    cache.resize(1)  # "c" is now the least recently used ("a" was just read)
    assert cache.get("c") is None and cache.get("a") is a
    cache.resize(0)
    assert cache.info().size == 0
    cache.get_or_build("d", _builder(built, "d"))
    assert cache.info().size == 0 and built == ["a", "b", "c", "d"]


def test_clear_forgets_entries_and_counters():
    cache = ModelCache(3)
    cache.get_or_build("a", lambda: Built("a"))
    cache.get("a")
    cache.clear()
    assert cache.info() == CacheInfo(0, 0, 0, 3)
    assert cache.get("a") is None


def test_threads_asking_at_once_share_one_build():
    cache, built, results = ModelCache(4), [], []
    start = threading.Barrier(8)

    def slow_build():
        built.append(threading.get_ident())
        time.sleep(0.05)  # long enough for every thread to be waiting on the lock
        return Built("slow")

    def worker():
        start.wait()
        results.append(cache.get_or_build("key", slow_build))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    assert len(results) == 8 and all(value is results[0] for value in results)


def test_file_token_changes_when_the_file_is_rewritten(tmp_path):
    path = tmp_path / "weights.h5"
    path.write_bytes(b"first")
    token = file_token(path)
    assert token == file_token(str(path)) and token[0] == os.path.realpath(path)
    path.write_bytes(b"second, longer")
    assert file_token(path) != token
    link = tmp_path / "link.h5"
    link.symlink_to(path)
    assert file_token(link) == file_token(path)
    with pytest.raises(FileNotFoundError):
        file_token(tmp_path / "missing.h5")
