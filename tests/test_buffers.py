"""Output recycling: a transform's output reuses a dropped output's memory, never a live one's.

The property that matters: an array handed out is never written by a later transform
while anything still refers to its memory (the output itself, a slice, a transpose, a
``memoryview``, an ``np.asarray`` of it). These tests keep such references, run more
transforms, and check that the kept values are untouched; and that the memory *is*
reused once every reference is gone (the speed the recycler exists for).
"""

from __future__ import annotations

import copy
import gc
import pickle
import threading
import tracemalloc

import numpy as np
import pytest
from sklearn.base import clone

from skprep import DatasetStatsStandardizer, KerasModeNormalizer
from skprep._buffers import MIN_RECYCLED_BYTES, OutputRecycler, recycler_for
from skprep.normalize import preprocess

# (8, 112, 112, 3) uint8 -> 1.2 MB of float32: above the recycling threshold
SHAPE = (8, 112, 112, 3)


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _batch(seed: int, shape=SHAPE) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


@pytest.fixture(params=["normalizer", "standardizer"])
def estimator(request, lut_backend):
    """Each estimator, with OpenCV's lookup and with the NumPy arithmetic."""
    if request.param == "normalizer":
        return KerasModeNormalizer(mode="caffe").fit(_batch(0)[:1])
    return DatasetStatsStandardizer().fit(_batch(0))


def test_threshold_is_above_the_test_batch():
    assert np.prod(SHAPE) * 4 >= MIN_RECYCLED_BYTES


def test_dropped_output_memory_is_reused(estimator):
    first = estimator.transform(_batch(1))
    address = _address(first)
    del first
    second = estimator.transform(_batch(2))
    assert _address(second) == address
    # the reused block holds the new values only (stale ones fully overwritten)
    np.testing.assert_array_equal(second, estimator.transform(_batch(2)))


@pytest.mark.parametrize("keep", [
    lambda a: a,
    lambda a: a[3:5],
    lambda a: a.T,
    lambda a: a.reshape(-1),
    lambda a: a[..., ::-1],
    lambda a: memoryview(a),
    lambda a: np.asarray(a),
    lambda a: np.lib.stride_tricks.as_strided(a, shape=(2,), strides=(4,)),
])
def test_memory_in_use_is_never_reused(estimator, keep):
    out = estimator.transform(_batch(1))
    expected = np.array(keep(out), copy=True)
    held = keep(out)
    del out
    gc.collect()
    later = [estimator.transform(_batch(seed)) for seed in range(2, 5)]
    assert all(not np.shares_memory(np.asarray(held), x) for x in later)
    np.testing.assert_array_equal(np.asarray(held), expected)


def test_reuse_resumes_once_every_view_is_gone(estimator):
    out = estimator.transform(_batch(1))
    address = _address(out)
    view, window = out[2:], memoryview(out)
    del out
    busy = estimator.transform(_batch(2))  # out's block is still in use: new memory
    del view
    busy_too = estimator.transform(_batch(3))  # still in use, through the memoryview
    assert address not in (_address(busy), _address(busy_too))
    del busy, busy_too
    del window  # the last reference: out's block is the idle one now
    assert _address(estimator.transform(_batch(4))) == address


def test_live_outputs_never_share_memory_under_churn(estimator):
    """Keep a random subset of many outputs alive; none is overwritten or shared."""
    rng = np.random.default_rng(0)
    kept: list[tuple[np.ndarray, np.ndarray]] = []
    for seed in range(40):
        batch = _batch(seed)
        out = estimator.transform(batch)
        if rng.random() < 0.3:
            kept.append((out, np.array(out, copy=True)))
        elif kept and rng.random() < 0.3:
            kept.pop(int(rng.integers(len(kept))))
        del out
    arrays = [a for a, _ in kept]
    for i, (a, copy_of_a) in enumerate(kept):
        np.testing.assert_array_equal(a, copy_of_a)
        assert not any(np.shares_memory(a, b) for b in arrays[i + 1:])


def test_outputs_are_bit_identical_to_the_pure_function():
    norm = KerasModeNormalizer(mode="torch").fit(_batch(0)[:1])
    for seed in range(3):  # the second and third reuse the first's block
        batch = _batch(seed)
        np.testing.assert_array_equal(norm.transform(batch), preprocess(batch, "torch"))


def test_a_smaller_batch_reuses_a_larger_block_and_a_larger_one_does_not():
    norm = KerasModeNormalizer(mode="tf").fit(_batch(0)[:1])
    big = norm.transform(_batch(1, (12, 112, 112, 3)))
    address = _address(big)
    del big
    small = norm.transform(_batch(2, (8, 112, 112, 3)))
    assert _address(small) == address and small.shape == (8, 112, 112, 3)
    np.testing.assert_array_equal(small, preprocess(_batch(2, (8, 112, 112, 3)), "tf"))
    del small
    larger = norm.transform(_batch(3, (16, 112, 112, 3)))
    assert _address(larger) != address


def test_small_outputs_are_plain_arrays():
    norm = KerasModeNormalizer(mode="tf").fit(_batch(0)[:1])
    out = norm.transform(_batch(1, (1, 32, 32, 3)))
    assert out.flags.owndata
    big = norm.transform(_batch(1))
    assert not big.flags.owndata and big.flags.writeable and big.flags.c_contiguous


def test_idle_memory_is_one_output_and_goes_with_the_estimator():
    tracemalloc.start()
    try:
        norm = KerasModeNormalizer(mode="caffe").fit(_batch(0)[:1])
        batch = _batch(1)
        out_bytes = batch.size * 4
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(6):
            norm.transform(batch)  # each output dropped at once
        idle = tracemalloc.get_traced_memory()[0] - base
        assert out_bytes <= idle < out_bytes * 1.1
        del norm
        gc.collect()
        assert tracemalloc.get_traced_memory()[0] - base < out_bytes * 0.1
    finally:
        tracemalloc.stop()


def test_estimator_copies_carry_no_recycler(estimator):
    estimator.transform(_batch(1))
    for other in (clone(estimator), copy.deepcopy(estimator),
                  pickle.loads(pickle.dumps(estimator))):
        assert recycler_for(other) is not recycler_for(estimator)
    assert b"OutputRecycler" not in pickle.dumps(estimator)


def test_concurrent_transforms_on_one_estimator(estimator):
    batches = [_batch(seed) for seed in range(4)]
    expected = [estimator.transform(b).copy() for b in batches]
    failures: list[str] = []

    def worker(i: int) -> None:
        for _ in range(15):
            out = estimator.transform(batches[i])
            if not np.array_equal(out, expected[i]):
                failures.append(f"thread {i}")
            del out

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_recycler_on_its_own():
    recycler = OutputRecycler()
    a = recycler.empty((1024, 512), np.float32)
    a[...] = 7
    b = recycler.empty((1024, 512), np.float32)
    assert not np.shares_memory(a, b)
    assert (a == 7).all()
    address = _address(a)
    del a
    c = recycler.empty((512, 1024), np.float32)  # another shape, the same bytes
    assert _address(c) == address and c.shape == (512, 1024)
    assert recycler.empty((3, 4), np.float64).flags.owndata
