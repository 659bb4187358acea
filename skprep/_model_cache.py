"""Built Keras models, reused within a process.

Building a Keras backbone (constructing its layers, loading its weights) and tracing its
inference function costs 0.5-3 s; running it on a batch costs a few tens of ms. Model
selection refits and clones an extractor many times, and ``Pipeline(memory=...)`` or
joblib reload it from pickles, so skprep keeps what it built in one small process-wide
cache and hands the same built object to every extractor that asks for the same graph:

* **build keys** say how a model is made: the registry name or the model file's identity,
  the weights' identity, and the parameters that shape the graph (input shape, layer,
  pooling, in-model preprocessing, safe mode). A refit or a clone computes the same key;
* **content keys** say what a model is: the sha256 of its ``.keras`` bytes plus safe mode.
  A copy rebuilt from a pickle (``joblib.load``, a ``Pipeline(memory=...)`` hit, a Dask
  worker) finds the entry its original registered when it was serialized.

The cached value is shared, read-only state (a model and its traced function: calling
them from many threads at once is safe). Entries are kept least-recently-used first and
at most ``maxsize`` of them (default 4, or ``SKPREP_MODEL_CACHE_SIZE``); an evicted
model stays alive for as long as an extractor holds it.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

__all__ = ["ModelCache", "CacheInfo", "MODEL_CACHE", "clear_model_cache", "file_token"]


class CacheInfo(NamedTuple):
    """Counters of a :class:`ModelCache` (as ``functools.lru_cache``'s ``cache_info()``)."""

    hits: int
    misses: int
    size: int
    maxsize: int


class _Entry:
    __slots__ = ("value", "keys")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.keys: set[Hashable] = set()


class ModelCache:
    """A bounded, thread-safe LRU cache of built models, each findable by several keys.

    Parameters
    ----------
    maxsize : int, default=4
        Most entries kept (an entry is one built model, whatever its number of keys).
        0 disables the cache: every call builds.
    """

    def __init__(self, maxsize: int = 4) -> None:
        self._lock = threading.RLock()
        self._entries: OrderedDict[int, _Entry] = OrderedDict()  # id(entry) -> entry, LRU
        self._keys: dict[Hashable, _Entry] = {}
        self._maxsize = int(maxsize)
        self._hits = 0
        self._misses = 0

    @property
    def lock(self) -> threading.RLock:
        """The re-entrant lock every lookup and build holds (one build at a time)."""
        return self._lock

    def get(self, key: Hashable) -> Any | None:
        """The value stored under ``key`` (marked recently used), or None."""
        with self._lock:
            entry = self._keys.get(key)
            if entry is None:
                self._misses += 1
                return None
            self._hits += 1
            self._entries.move_to_end(id(entry))
            return entry.value

    def get_or_build(self, key: Hashable | None, build: Callable[[], Any]) -> Any:
        """The value under ``key``, built by ``build()`` (once, under the lock) if missing.

        ``key=None`` means "not cacheable": ``build()`` runs and nothing is stored.
        """
        with self._lock:
            if key is None:
                return build()
            value = self.get(key)
            if value is None:
                value = build()
                self.put(key, value)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` under ``key`` (or add ``key`` to the entry already holding it)."""
        with self._lock:
            if self._maxsize <= 0:
                return
            entry = self._find(value)
            if entry is None:
                entry = _Entry(value)
                self._entries[id(entry)] = entry
            old = self._keys.get(key)
            if old is not None and old is not entry:
                old.keys.discard(key)
            entry.keys.add(key)
            self._keys[key] = entry
            self._entries.move_to_end(id(entry))
            while len(self._entries) > self._maxsize:
                _, evicted = self._entries.popitem(last=False)
                for evicted_key in evicted.keys:
                    self._keys.pop(evicted_key, None)

    def _find(self, value: Any) -> _Entry | None:
        for entry in self._entries.values():
            if entry.value is value:
                return entry
        return None

    def resize(self, maxsize: int) -> None:
        """Change the bound; the least recently used entries go first."""
        with self._lock:
            self._maxsize = int(maxsize)
            while len(self._entries) > max(self._maxsize, 0):
                _, evicted = self._entries.popitem(last=False)
                for evicted_key in evicted.keys:
                    self._keys.pop(evicted_key, None)

    def clear(self) -> None:
        """Forget every entry (extractors keep the models they hold) and reset the counters."""
        with self._lock:
            self._entries.clear()
            self._keys.clear()
            self._hits = self._misses = 0

    def info(self) -> CacheInfo:
        """Hits, misses, number of entries and the bound."""
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._entries), self._maxsize)


def _default_size() -> int:
    text = os.environ.get("SKPREP_MODEL_CACHE_SIZE", "4")
    try:
        return max(int(text), 0)
    except ValueError:
        return 4


#: the process-wide cache of built Keras models (see the module docstring).
MODEL_CACHE = ModelCache(_default_size())


def clear_model_cache() -> None:
    """Drop skprep's built Keras models from the process-wide cache.

    Extractors that hold a model keep it; the next ``fit`` or first use after unpickling
    builds again. Use it to free memory, or to draw new random weights for a backbone
    built with ``weights=None`` (within a process, extractors with the same parameters
    share one built model, random weights included).

    Examples
    --------
    >>> import skprep
    >>> skprep.clear_model_cache()
    """
    MODEL_CACHE.clear()


def file_token(path: str | os.PathLike) -> tuple[str, int, int]:
    """Identity of a file for a build key: real path, size and modification time (ns).

    A file rewritten in place gets a new token, so a stale model is never reused.
    """
    real = os.path.realpath(os.fspath(path))
    info = os.stat(real)
    return real, info.st_size, info.st_mtime_ns
