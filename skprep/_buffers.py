"""Output arrays whose memory is reused once the caller has dropped them.

A transform that turns a uint8 batch into float32 writes four bytes per input byte.
When that output is fresh memory from the operating system, the kernel first has to
map and zero every page of it, and on a 2-core VM that costs as much as the whole
lookup that fills it (about 5 ms for a (64, 224, 224, 3) float32 batch, see
``benchmarks/bench_normalize.py``). A model loop drops each output as soon as the next
batch comes::

    for batch in batches:
        features = backbone(normalizer.transform(batch))

so the memory of the last output is free again when the next one is asked for. glibc
does not keep blocks that large (above its 32 MiB ``mmap`` threshold it returns them to
the kernel at once), hence this small recycler, one per estimator.

How "dropped" is known, exactly: the output is a view of a ``np.frombuffer`` array
over a block the recycler owns, and every array or buffer made from that output
refers, through ``.base``, to that one ``frombuffer`` array. A ``weakref.finalize`` on it
runs only when the last of them has been deallocated, and only then does the block go
back to the recycler. Until then nothing is reused, whatever the caller keeps (slices,
``memoryview``\\s, tensors that alias the memory). So the caller sees what ``np.empty``
would give: a new, writable array that nothing else uses.

What differs from ``np.empty``: the array does not own its memory
(``out.flags.owndata`` is False, so ``out.resize(...)`` in place is refused; copy it
first), and each estimator keeps one idle block, the size of its last output,
until it is garbage-collected. Outputs under 1 MiB are plain ``np.empty`` arrays.
"""

from __future__ import annotations

import collections
import math
import threading
import weakref
from typing import Any

import numpy as np

__all__ = ["OutputRecycler", "recycler_for", "MIN_RECYCLED_BYTES"]

#: outputs smaller than this come from ``np.empty``: malloc reuses small blocks itself
MIN_RECYCLED_BYTES = 1 << 20

_RECYCLERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_RECYCLERS_LOCK = threading.Lock()


class OutputRecycler:
    """Hands out output arrays, reusing the block of an output that is gone.

    Keeps at most one idle block. Taking and returning blocks are single ``deque``
    operations (atomic in CPython): returning happens in a finalizer, which may run
    in any thread and in the middle of other code, so it takes no lock.

    Examples
    --------
    >>> import numpy as np
    >>> recycler = OutputRecycler()
    >>> first = recycler.empty((512, 1024), np.float32)
    >>> address = first.__array_interface__["data"][0]
    >>> del first                     # nothing refers to it any more
    >>> second = recycler.empty((512, 1024), np.float32)
    >>> second.__array_interface__["data"][0] == address
    True
    >>> third = recycler.empty((512, 1024), np.float32)   # second is alive: new memory
    >>> np.shares_memory(second, third)
    False
    """

    __slots__ = ("_idle", "__weakref__")

    def __init__(self) -> None:
        self._idle: collections.deque = collections.deque(maxlen=1)

    def empty(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """A new uninitialised C-contiguous array, in a reused block when one is free.

        Parameters
        ----------
        shape : tuple of int
        dtype : data-type

        Returns
        -------
        ndarray
            Writable, C-contiguous, shared with no other live array.
        """
        dtype = np.dtype(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes < MIN_RECYCLED_BYTES:
            return np.empty(shape, dtype)
        try:
            block = self._idle.pop()
        except IndexError:
            block = None
        if block is None or not nbytes <= block.nbytes <= 2 * nbytes:
            block = np.empty(nbytes, np.uint8)  # a misfit idle block is simply dropped
        owner = np.frombuffer(memoryview(block)[:nbytes], dtype=dtype)
        # the block returns to the idle slot when ``owner``, the base of everything made
        # from the output, is deallocated; never at interpreter exit
        weakref.finalize(owner, self._idle.append, block).atexit = False
        return owner.reshape(shape)


def recycler_for(estimator: Any) -> OutputRecycler:
    """The recycler of ``estimator`` (created on first use, gone with the estimator).

    Kept outside the estimator, so that it is never pickled, cloned or deep-copied.

    Parameters
    ----------
    estimator : object
        Any weak-referenceable, hashable object (estimators are).

    Returns
    -------
    OutputRecycler
    """
    recycler = _RECYCLERS.get(estimator)
    if recycler is None:
        with _RECYCLERS_LOCK:
            recycler = _RECYCLERS.get(estimator)
            if recycler is None:
                recycler = _RECYCLERS[estimator] = OutputRecycler()
    return recycler
