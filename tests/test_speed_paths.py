"""The fast paths of normalize.py and stats.py give the simple path's results exactly.

Also: no full-size temporaries (tracemalloc), and a DatasetStatsStandardizer fed by
8 threads at once ends with the statistics of a sequential fit.
"""

from __future__ import annotations

import sys
import threading
import tracemalloc

import numpy as np
import pytest

from skprep import DatasetStatsStandardizer, preprocess
from skprep.normalize import _CHUNK_ELEMENTS, _apply_inplace, _mode_params
from skprep.stats import (
    _ROWS_PER_CHUNK,
    _integer_sums,
    _uint8_sums,
    batch_moments,
    merge_moments,
)

RNG = np.random.default_rng(2026)
# more elements than two chunks, and not a multiple of the chunk: the tail is exercised
N_PIXELS = (2 * _CHUNK_ELEMENTS) // 3 + 1234
BATCH_U8 = RNG.integers(0, 256, size=(N_PIXELS // 41, 41, 1, 3), dtype=np.uint8).reshape(
    -1, 41, 1, 3
)


def _simple(x: np.ndarray, mode: str, data_format: str = "channels_last") -> np.ndarray:
    """The reference: Keras' own steps on ``x.astype(float32)``, whole-array, in place."""
    axis = x.ndim - 1 if data_format == "channels_last" or x.ndim == 2 else 1
    src = np.flip(x, axis=axis) if _mode_params(mode)[3] else x
    out = src.astype(np.float32)
    _apply_inplace(out, mode, axis)
    return out


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32, np.float64])
def test_fast_normalize_equals_simple_path_bit_for_bit(mode, dtype):
    x = BATCH_U8.astype(dtype)
    if dtype in (np.float32, np.float64):
        x = x + RNG.uniform(-0.5, 0.5, size=x.shape).astype(dtype)  # non-integer values
    before = x.copy()
    got = preprocess(x, mode)
    np.testing.assert_array_equal(got, _simple(x, mode))
    np.testing.assert_array_equal(x, before)
    flat = x.reshape(-1, 3)  # 2-D (N, C)
    np.testing.assert_array_equal(preprocess(flat, mode), _simple(flat, mode))


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_fast_normalize_channels_first_and_non_contiguous(mode):
    cf = np.ascontiguousarray(BATCH_U8[:64].transpose(0, 3, 1, 2))
    got = preprocess(cf, mode, data_format="channels_first")
    np.testing.assert_array_equal(got, _simple(cf, mode, "channels_first"))
    strided = BATCH_U8[::2, ::-1]  # not contiguous: the whole-array path
    np.testing.assert_array_equal(preprocess(strided, mode), _simple(strided, mode))


@pytest.mark.parametrize("n_channels", [1, 4])
def test_fast_normalize_tf_mode_with_other_channel_counts(n_channels):
    x = RNG.integers(0, 256, size=(3, 200, 101, n_channels), dtype=np.uint8)
    np.testing.assert_array_equal(preprocess(x, "tf"), _simple(x, "tf"))


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_normalize_allocates_only_its_output(mode, dtype):
    x = RNG.integers(0, 256, size=(16, 128, 128, 3)).astype(dtype)
    preprocess(x[:1], mode)  # build the cached per-channel tiles first
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        out = preprocess(x, mode)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 1.1 * out.nbytes, (peak, out.nbytes)


@pytest.mark.parametrize("n_channels", [1, 3, 5])
def test_uint8_histogram_sums_equal_int64_sums(n_channels):
    pixels = RNG.integers(0, 256, size=(2 * _ROWS_PER_CHUNK + 77, n_channels), dtype=np.uint8)
    pixels[:10] = 255  # extremes
    pixels[10:20] = 0
    for view in (pixels, pixels[::3], pixels[:, ::-1]):  # contiguous and strided
        s1, s2 = _uint8_sums(view)
        e1, e2 = _integer_sums(view)
        np.testing.assert_array_equal(s1, e1)
        np.testing.assert_array_equal(s2, e2)
        assert s1.dtype == s2.dtype == np.int64


def test_uint8_moments_are_exact():
    pixels = RNG.integers(0, 256, size=(_ROWS_PER_CHUNK + 5, 3), dtype=np.uint8)
    n, mean, m2 = batch_moments(pixels)
    wide = pixels.astype(np.int64)
    assert n == len(pixels)
    for c in range(3):
        s1, s2 = int(wide[:, c].sum()), int((wide[:, c] ** 2).sum())
        assert mean[c] == s1 / n
        assert m2[c] == (n * s2 - s1 * s1) / n


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_chunked_float_moments_equal_two_pass_float64(dtype, offset):
    pixels = (RNG.normal(offset, 3.0, size=(2 * _ROWS_PER_CHUNK + 321, 3))).astype(dtype)
    n, mean, m2 = batch_moments(pixels)
    wide = pixels.astype(np.float64)
    exact_mean = wide.mean(axis=0)
    assert n == len(pixels)
    np.testing.assert_allclose(mean, exact_mean, rtol=1e-13)
    np.testing.assert_allclose(m2, ((wide - exact_mean) ** 2).sum(axis=0), rtol=1e-11)


def test_merge_moments_signature_is_unchanged():
    a = batch_moments(np.array([[1.0], [3.0]]))
    b = batch_moments(np.array([[5.0]]))
    n, mean, m2 = merge_moments(*a, *b)
    assert (n, mean.tolist(), m2.tolist()) == (3, [3.0], [8.0])


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_partial_fit_from_8_threads_equals_sequential_fit(dtype):
    batches = [RNG.integers(0, 256, size=(2, 6, 5, 3)).astype(dtype) for _ in range(8 * 25)]
    shared = DatasetStatsStandardizer()
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def feed(worker: int) -> None:
        try:
            start.wait()
            for batch in batches[worker::8]:
                shared.partial_fit(batch)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: provoke races
    try:
        threads = [threading.Thread(target=feed, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors
    whole = DatasetStatsStandardizer().fit(np.concatenate(batches))
    assert shared.n_samples_seen_ == whole.n_samples_seen_ == 400
    assert shared.n_pixels_seen_ == whole.n_pixels_seen_
    np.testing.assert_allclose(shared.mean_, whole.mean_, rtol=1e-12)
    np.testing.assert_allclose(shared.var_, whole.var_, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_channels_first_statistics_per_image_equal_channels_last(dtype):
    last = RNG.integers(0, 256, size=(6, 40, 30, 3)).astype(dtype)
    first = np.ascontiguousarray(last.transpose(0, 3, 1, 2))
    a = DatasetStatsStandardizer().fit(last)
    b = DatasetStatsStandardizer(data_format="channels_first").fit(first)
    assert a.n_pixels_seen_ == b.n_pixels_seen_ == 6 * 40 * 30
    if dtype is np.uint8:  # exact integer sums whatever the pieces
        np.testing.assert_array_equal(b.mean_, a.mean_)
        np.testing.assert_array_equal(b.var_, a.var_)
    else:
        np.testing.assert_allclose(b.mean_, a.mean_, rtol=1e-13)
        np.testing.assert_allclose(b.var_, a.var_, rtol=1e-11)


def test_channels_first_statistics_copy_no_batch():
    first = RNG.normal(100, 5, size=(32, 3, 96, 96)).astype(np.float32)
    scaler = DatasetStatsStandardizer(data_format="channels_first")
    scaler.fit(first[:1])
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        scaler.partial_fit(first)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * first.nbytes, (peak, first.nbytes)
