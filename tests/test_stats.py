"""DatasetStatsStandardizer: streaming statistics equal numpy's and scikit-learn's."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

from skprep import DatasetStatsStandardizer
from skprep.exceptions import InputShapeError
from skprep.stats import batch_moments, merge_moments

RNG = np.random.default_rng(7)
IMAGES_U8 = RNG.integers(0, 256, size=(50, 6, 5, 3), dtype=np.uint8)
IMAGES_F64 = RNG.normal(1e3, 5.0, size=(50, 6, 5, 3))  # large offset: a stability test
TABLE = RNG.normal(size=(200, 4)) * [1, 10, 100, 0.01]


def _chunks(x: np.ndarray, size: int):
    return [x[i : i + size] for i in range(0, len(x), size)]


@pytest.mark.parametrize("data", [IMAGES_U8, IMAGES_F64, IMAGES_U8.astype(np.float32), TABLE],
                         ids=["uint8", "float64", "float32", "table"])
@pytest.mark.parametrize("chunk", [1, 2, 7, 50])
def test_partial_fit_over_any_chunking_equals_fit(data, chunk):
    whole = DatasetStatsStandardizer().fit(data)
    stream = DatasetStatsStandardizer()
    for part in _chunks(data, chunk):
        stream.partial_fit(part)
    np.testing.assert_allclose(stream.mean_, whole.mean_, rtol=1e-10)
    np.testing.assert_allclose(stream.var_, whole.var_, rtol=1e-10)
    assert stream.n_samples_seen_ == whole.n_samples_seen_ == len(data)
    assert stream.n_pixels_seen_ == whole.n_pixels_seen_ == data.size // data.shape[-1]


@pytest.mark.parametrize("data", [IMAGES_U8, IMAGES_F64, TABLE], ids=["uint8", "float64", "table"])
def test_statistics_equal_numpy_per_channel(data):
    scaler = DatasetStatsStandardizer().fit(data)
    pixels = data.reshape(-1, data.shape[-1]).astype(np.float64)
    np.testing.assert_allclose(scaler.mean_, pixels.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scaler.var_, pixels.var(axis=0), rtol=1e-10)
    np.testing.assert_allclose(scaler.scale_, pixels.std(axis=0), rtol=1e-10)


def test_uint8_statistics_are_exact_whatever_the_chunking():
    whole = DatasetStatsStandardizer().fit(IMAGES_U8)
    stream = DatasetStatsStandardizer()
    for part in _chunks(IMAGES_U8, 3):
        stream.partial_fit(part)
    pixels = IMAGES_U8.reshape(-1, 3).astype(np.int64)
    n = len(pixels)
    exact_var = [(n * int((c * c).sum()) - int(c.sum()) ** 2) / n / n for c in pixels.T]
    np.testing.assert_array_equal(whole.var_, exact_var)
    np.testing.assert_allclose(stream.var_, exact_var, rtol=1e-15)


def test_transform_equals_standard_scaler_on_pixels():
    ours = DatasetStatsStandardizer().fit(IMAGES_U8)
    pixels = IMAGES_U8.reshape(-1, 3).astype(np.float64)
    theirs = StandardScaler().fit(pixels)
    np.testing.assert_allclose(ours.mean_, theirs.mean_)
    np.testing.assert_allclose(ours.scale_, theirs.scale_)
    out = ours.transform(IMAGES_U8)
    assert out.dtype == np.float32 and out.shape == IMAGES_U8.shape
    np.testing.assert_allclose(out.reshape(-1, 3), theirs.transform(pixels), atol=1e-5)


def test_input_scale_gives_torch_style_statistics():
    scaled = DatasetStatsStandardizer(input_scale=1 / 255).fit(IMAGES_U8)
    pixels = IMAGES_U8.reshape(-1, 3) / 255.0
    np.testing.assert_allclose(scaled.mean_, pixels.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scaled.scale_, pixels.std(axis=0), rtol=1e-10)
    expected = (pixels - pixels.mean(axis=0)) / pixels.std(axis=0)
    np.testing.assert_allclose(scaled.transform(IMAGES_U8).reshape(-1, 3), expected, atol=1e-5)


def test_constant_channel_gets_scale_one_and_no_nan():
    data = IMAGES_F64.copy()
    data[..., 1] = 17.25
    scaler = DatasetStatsStandardizer().fit(data)
    assert scaler.scale_[1] == 1.0
    out = scaler.transform(data)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[..., 1], 0.0)


@pytest.mark.parametrize("with_mean, with_std", [(True, False), (False, True), (False, False)])
def test_with_mean_and_with_std(with_mean, with_std):
    scaler = DatasetStatsStandardizer(with_mean=with_mean, with_std=with_std).fit(TABLE)
    theirs = StandardScaler(with_mean=with_mean, with_std=with_std).fit(TABLE)
    np.testing.assert_allclose(scaler.transform(TABLE), theirs.transform(TABLE), rtol=1e-5,
                               atol=1e-5)
    assert (scaler.scale_ is None) == (not with_std)


@pytest.mark.parametrize("data", [IMAGES_U8, TABLE], ids=["images", "table"])
def test_inverse_transform(data):
    scaler = DatasetStatsStandardizer(input_scale=0.5).fit(data)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(data)), data,
                               rtol=1e-5, atol=1e-3)


def test_channels_first():
    cf = np.ascontiguousarray(IMAGES_U8.transpose(0, 3, 1, 2))
    first = DatasetStatsStandardizer(data_format="channels_first").fit(cf)
    last = DatasetStatsStandardizer().fit(IMAGES_U8)
    np.testing.assert_allclose(first.mean_, last.mean_)
    np.testing.assert_allclose(first.transform(cf), last.transform(IMAGES_U8).transpose(0, 3, 1, 2))


def test_transform_does_not_touch_input_or_state():
    data = IMAGES_F64.copy()
    scaler = DatasetStatsStandardizer().fit(data)
    state = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in vars(scaler).items()}
    scaler.transform(data)
    np.testing.assert_array_equal(data, IMAGES_F64)
    for key, value in state.items():
        np.testing.assert_array_equal(getattr(scaler, key), value)


def test_errors():
    with pytest.raises(NotFittedError):
        DatasetStatsStandardizer().transform(IMAGES_U8)
    scaler = DatasetStatsStandardizer().fit(IMAGES_U8)
    with pytest.raises(InputShapeError, match="3 channel.*received a batch of shape"):
        scaler.partial_fit(np.zeros((1, 4, 4, 1)))
    with pytest.raises(InputShapeError, match="fitted on 4-D image batches"):
        scaler.transform(TABLE[:, :3])
    with pytest.raises(InputShapeError, match="2-D array .* or a 4-D batch"):
        scaler.transform(IMAGES_U8[0])
    with pytest.raises(ValueError, match="'input_scale' parameter"):
        DatasetStatsStandardizer(input_scale=0).fit(TABLE)
    assert scaler.get_feature_names_out() is None  # images have no column names


def test_fit_resets_and_spatial_size_may_vary():
    scaler = DatasetStatsStandardizer().fit(IMAGES_U8)
    scaler.partial_fit(RNG.integers(0, 256, (2, 11, 3, 3), dtype=np.uint8))
    assert scaler.n_samples_seen_ == 52
    scaler.fit(IMAGES_U8[:5])
    assert scaler.n_samples_seen_ == 5


def test_feature_names_for_tables():
    import pandas as pd

    frame = pd.DataFrame(TABLE, columns=list("abcd"))
    scaler = DatasetStatsStandardizer().fit(frame)
    assert list(scaler.get_feature_names_out()) == list("abcd")


def test_joblib_and_clone(tmp_path):
    scaler = DatasetStatsStandardizer(input_scale=1 / 255).fit(IMAGES_U8)
    joblib.dump(scaler, tmp_path / "s.joblib")
    loaded = joblib.load(tmp_path / "s.joblib")
    np.testing.assert_array_equal(loaded.transform(IMAGES_U8), scaler.transform(IMAGES_U8))
    loaded.partial_fit(IMAGES_U8)  # the lock is rebuilt after unpickling
    assert loaded.n_samples_seen_ == 100
    assert not hasattr(clone(scaler), "mean_")


def test_merge_moments_is_chan_et_al():
    a, b = RNG.normal(size=(10, 2)), RNG.normal(5, 2, size=(30, 2))
    n, mean, m2 = merge_moments(*batch_moments(a), *batch_moments(b))
    both = np.vstack([a, b])
    assert n == 40
    np.testing.assert_allclose(mean, both.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(m2 / n, both.var(axis=0), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_merged_partial_moments_equal_partial_fit_exactly(dtype, data_format):
    rng = np.random.default_rng(7)
    shape = (9, 3, 6, 5) if data_format == "channels_first" else (9, 6, 5, 3)
    X = (rng.integers(0, 256, shape) if dtype == np.uint8 else rng.normal(90, 40, shape))
    X = X.astype(dtype)
    chunks = np.array_split(X, [2, 3, 7])
    scaler = DatasetStatsStandardizer(input_scale=1 / 255, data_format=data_format)
    before = scaler.get_params()
    parts = [scaler.partial_moments(chunk) for chunk in chunks]
    assert not hasattr(scaler, "mean_") and scaler.get_params() == before  # nothing set
    # any grouping, in order: ((a b) c) d == a (b (c d))
    left = parts[0].merge(parts[1]).merge(parts[2]).merge(parts[3])
    right = parts[0].merge(parts[1].merge(parts[2].merge(parts[3])))
    streamed = clone(scaler)
    for chunk in chunks:
        streamed.partial_fit(chunk)
    fitted = clone(scaler).fit_from_moments(left)
    for name in ("mean_", "var_", "scale_"):
        np.testing.assert_array_equal(getattr(fitted, name), getattr(streamed, name))
    assert fitted.n_samples_seen_ == streamed.n_samples_seen_ == 9
    assert fitted.n_pixels_seen_ == streamed.n_pixels_seen_ == 9 * 30
    assert fitted.input_shape_ == streamed.input_shape_
    np.testing.assert_array_equal(fitted.transform(X), streamed.transform(X))
    np.testing.assert_allclose(right.mean, left.mean, rtol=1e-12)
    np.testing.assert_allclose(right.m2, left.m2, rtol=1e-12)
    # one chunk: exactly fit; and the whole, up to rounding
    one = clone(scaler).fit_from_moments(scaler.partial_moments(X))
    whole = clone(scaler).fit(X)
    np.testing.assert_array_equal(one.mean_, whole.mean_)
    np.testing.assert_array_equal(one.var_, whole.var_)
    np.testing.assert_allclose(left.mean, whole.mean_, rtol=1e-12)
    np.testing.assert_allclose(left.m2 / left.n_pixels, whole.var_, rtol=1e-10)


def test_fit_from_moments_leaves_the_state_partial_fit_continues_from():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(40, 4))
    scaler = DatasetStatsStandardizer()
    resumed = clone(scaler).fit_from_moments(scaler.partial_moments(X[:25])).partial_fit(X[25:])
    streamed = clone(scaler).partial_fit(X[:25]).partial_fit(X[25:])
    np.testing.assert_array_equal(resumed.mean_, streamed.mean_)
    np.testing.assert_array_equal(resumed.var_, streamed.var_)
    assert resumed.n_features_in_ == 4 and resumed.n_samples_seen_ == 40
    # refitting replaces the earlier state
    again = resumed.fit_from_moments(scaler.partial_moments(X[:5]))
    assert again is resumed and resumed.n_samples_seen_ == 5


def test_moments_of_different_channels_do_not_merge():
    scaler = DatasetStatsStandardizer()
    rgb = scaler.partial_moments(np.zeros((1, 2, 2, 3), np.uint8))
    with pytest.raises(InputShapeError):
        rgb.merge(scaler.partial_moments(np.zeros((1, 2, 2, 1), np.uint8)))
    with pytest.raises(InputShapeError):
        rgb.merge(scaler.partial_moments(np.zeros((2, 3), np.uint8)))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_uint8_transform_is_the_float32_arithmetic_bit_for_bit(lut_backend, data_format):
    """The lookup table holds the float32 ``x * a + b`` of each value: same bits."""
    x = RNG.integers(0, 256, size=(4, 9, 7, 3), dtype=np.uint8)
    if data_format == "channels_first":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    est = DatasetStatsStandardizer(data_format=data_format).fit(x)
    axis = 1 if data_format == "channels_first" else -1
    shape = [1] * x.ndim
    shape[axis] = 3
    a = (est.input_scale / est.scale_).astype(np.float32).reshape(shape)
    b = (-est.mean_ / est.scale_).astype(np.float32).reshape(shape)
    expected = x.astype(np.float32) * a + b
    got = est.transform(x)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, est.transform(x.astype(np.float32)))


def test_uint8_histograms_in_chunks_are_exact(lut_backend, monkeypatch):
    from skprep import _lut

    monkeypatch.setattr(_lut, "_HIST_CHUNK_PIXELS", 50)  # many chunks, the last one partial
    x = RNG.integers(0, 256, size=(3, 11, 13, 3), dtype=np.uint8)
    got = DatasetStatsStandardizer().fit(x)
    pixels = x.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(got.mean_, pixels.mean(axis=0), rtol=1e-15)
    np.testing.assert_allclose(got.var_, pixels.var(axis=0), rtol=1e-13)
    assert got.n_samples_seen_ == 3


# ------------------------------------------------ scikit-learn's constant-channel rule (issue 13)

def _tiny_and_constant_table() -> np.ndarray:
    """Columns: varying at scale 1e-16 around 0; exactly constant; constant 0.1 (whose
    float64 variance is rounding noise); 1e4 plus noise of 1e-3; ordinary."""
    rng = np.random.default_rng(3)
    n = 500
    return np.column_stack([
        rng.normal(0, 1e-16, n), np.full(n, 7.0), np.full(n, 0.1),
        1e4 + rng.normal(0, 1e-3, n), rng.normal(5, 2, n),
    ])


@pytest.mark.parametrize("chunk", [None, 37])
def test_constant_channels_follow_standard_scaler(chunk):
    table = _tiny_and_constant_table()
    theirs = StandardScaler().fit(table)
    ours = DatasetStatsStandardizer()
    if chunk is None:
        ours.fit(table)
    else:
        for part in _chunks(table, chunk):
            ours.partial_fit(part)
    np.testing.assert_allclose(ours.scale_, theirs.scale_, rtol=1e-6)
    assert ours.scale_[0] < 1e-15 and ours.scale_[1] == ours.scale_[2] == 1.0
    out = ours.transform(table)
    assert out.dtype == np.float64  # a float64 table stays float64, as in StandardScaler
    np.testing.assert_allclose(out, theirs.transform(table), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours.inverse_transform(out), table, rtol=1e-12, atol=1e-20)
    assert np.abs(out[:, 0]).max() > 0.5  # the 1e-16 channel is standardized, not left as is


def test_float64_table_equals_standard_scaler_in_float64_and_other_dtypes_give_float32():
    ours, theirs = DatasetStatsStandardizer().fit(TABLE), StandardScaler().fit(TABLE)
    np.testing.assert_allclose(ours.transform(TABLE), theirs.transform(TABLE), rtol=1e-12,
                               atol=1e-13)
    assert ours.transform(TABLE.astype(np.float32)).dtype == np.float32
    assert ours.fit(IMAGES_F64).transform(IMAGES_F64).dtype == np.float32  # images: float32
