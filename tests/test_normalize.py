"""KerasModeNormalizer against the real keras.applications preprocess_input."""

from __future__ import annotations

import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skprep import KerasModeNormalizer, _lut, list_models, preprocess, unpreprocess
from skprep.exceptions import InputRangeWarning, InputShapeError, UnknownModelError

RNG = np.random.default_rng(42)
BATCH_U8 = RNG.integers(0, 256, size=(3, 7, 5, 3), dtype=np.uint8)
# one representative model per keras.applications module
ONE_PER_MODULE = list({spec.module: spec for spec in list_models()}.values())


@pytest.mark.keras
@pytest.mark.parametrize("spec", ONE_PER_MODULE, ids=lambda s: s.module)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_equals_keras_preprocess_input_for_every_family(keras, spec, dtype, lut_backend):
    x = BATCH_U8.astype(dtype)
    keras_in = x.astype(np.float32)  # the documented way: Keras wants float input
    expected = np.asarray(spec.keras_preprocess_input()(keras_in.copy()))
    before = x.copy()
    got = KerasModeNormalizer(model=spec.name).fit_transform(x)
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_array_equal(x, before)  # input untouched
    if dtype is np.float64:
        np.testing.assert_allclose(got, expected, atol=1e-4)
    else:  # same float32 arithmetic as Keras: bit-identical
        np.testing.assert_array_equal(got, expected)


@pytest.mark.keras
@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_channels_first_equals_keras(keras, mode, lut_backend):
    from keras.applications import imagenet_utils

    x = np.ascontiguousarray(BATCH_U8.transpose(0, 3, 1, 2)).astype(np.float32)
    expected = imagenet_utils.preprocess_input(x.copy(), data_format="channels_first", mode=mode)
    got = KerasModeNormalizer(mode, data_format="channels_first").fit_transform(x)
    np.testing.assert_array_equal(got, expected)
    got_u8 = KerasModeNormalizer(mode, data_format="channels_first").fit_transform(
        x.astype(np.uint8)
    )
    np.testing.assert_array_equal(got_u8, expected)


@pytest.mark.keras
@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_two_d_input_equals_keras(keras, mode, lut_backend):
    from keras.applications import imagenet_utils

    x = BATCH_U8.reshape(-1, 3).astype(np.float32)
    expected = imagenet_utils.preprocess_input(x.copy(), mode=mode)
    np.testing.assert_array_equal(KerasModeNormalizer(mode).fit_transform(x), expected)


@pytest.mark.keras
def test_keras_overwrites_float_input_but_skprep_does_not(keras):
    """The trap: Keras' numpy preprocess_input writes into float input."""
    from keras.applications import resnet50

    x = BATCH_U8.astype(np.float32)
    original = x.copy()
    resnet50.preprocess_input(x)
    assert not np.array_equal(x, original)  # Keras changed the caller's array
    x = original.copy()
    KerasModeNormalizer(model="resnet50").fit(x).transform(x)
    np.testing.assert_array_equal(x, original)


def test_caffe_is_bgr_minus_mean_without_scaling():
    white = np.full((1, 1, 1, 3), 255, dtype=np.uint8)
    red = np.array([[[[255, 0, 0]]]], dtype=np.uint8)
    norm = KerasModeNormalizer("caffe").fit(white)
    np.testing.assert_allclose(norm.transform(white)[0, 0, 0], [151.061, 138.221, 131.32],
                               rtol=1e-6)
    # red lands in the last (R of BGR) channel, and the range is far beyond [-1, 1]
    np.testing.assert_allclose(norm.transform(red)[0, 0, 0], [-103.939, -116.779, 131.32],
                               rtol=1e-6)


@pytest.mark.parametrize(
    "mode, pixel, expected",
    [
        ("tf", [0, 127.5, 255], [-1.0, 0.0, 1.0]),
        ("torch", [255, 255, 255], [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225]),
        ("none", [0, 12, 255], [0, 12, 255]),
    ],
)
def test_mode_formulas(mode, pixel, expected):
    x = np.array([pixel], dtype=np.float32)
    np.testing.assert_allclose(KerasModeNormalizer(mode).fit_transform(x)[0], expected, rtol=1e-6)


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch", "none"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_inverse_transform_returns_rgb_pixels(mode, data_format):
    x = BATCH_U8 if data_format == "channels_last" else BATCH_U8.transpose(0, 3, 1, 2)
    norm = KerasModeNormalizer(mode, data_format=data_format).fit(x)
    back = norm.inverse_transform(norm.transform(x))
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, x, atol=1e-3)


def test_uint8_lookup_path_equals_float_path_for_every_value(lut_backend):
    every_value = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    every_value[:, 1] = every_value[::-1, 1]
    for mode in ("caffe", "tf", "torch", "none"):
        np.testing.assert_array_equal(
            preprocess(every_value, mode), preprocess(every_value.astype(np.float32), mode)
        )


def test_lookup_tables_are_used_for_contiguous_uint8():
    table = np.zeros((1, 256, 3), np.float32)
    table[0, :, 0] = np.arange(256)
    x = np.ascontiguousarray(BATCH_U8)
    got = _lut.apply_table(x, table)
    assert got is not None and got.dtype == np.float32
    np.testing.assert_array_equal(got[..., 0], x[..., 0])
    np.testing.assert_array_equal(got[..., 1:], 0)
    # not contiguous, not uint8: the caller's arithmetic does it
    assert _lut.apply_table(x[:, ::2], table) is None
    assert _lut.apply_table(x.astype(np.uint16), table) is None


@pytest.mark.keras
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_caffe_flip_in_chunks_equals_keras(keras, monkeypatch, data_format):
    """The RGB -> BGR reversal runs chunk by chunk; chunk edges change nothing."""
    from keras.applications import imagenet_utils

    # 105 pixels in chunks of 7 (bounds (7, 7)): 15 chunks, one partial
    monkeypatch.setattr(_lut, "_FLIP_CHUNK_PIXELS", (7, 7))
    x = BATCH_U8 if data_format == "channels_last" else np.ascontiguousarray(
        BATCH_U8.transpose(0, 3, 1, 2))
    expected = imagenet_utils.preprocess_input(x.astype(np.float32), mode="caffe",
                                               data_format=data_format)
    got = preprocess(x, "caffe", data_format=data_format)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(x, BATCH_U8 if data_format == "channels_last"
                                  else BATCH_U8.transpose(0, 3, 1, 2))


def test_non_contiguous_and_other_integer_input(lut_backend):
    x = BATCH_U8[:, ::2, ::-1]
    np.testing.assert_array_equal(preprocess(x, "caffe"), preprocess(x.astype(np.float32), "caffe"))
    x16 = BATCH_U8.astype(np.uint16)
    np.testing.assert_array_equal(preprocess(x16, "torch"), preprocess(BATCH_U8, "torch"))


def test_warns_when_input_already_scaled_to_unit_range():
    scaled = BATCH_U8.astype(np.float32) / 255.0
    norm = KerasModeNormalizer(model="mobilenet_v2").fit(scaled)
    with pytest.warns(InputRangeWarning, match=r"maximum is 1.*\[0, 1\]"):
        norm.transform(scaled)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        norm.transform(BATCH_U8)  # uint8 and 0-255 floats: no warning
        norm.transform(BATCH_U8.astype(np.float32))
        KerasModeNormalizer("tf", check_input_range=False).fit(scaled).transform(scaled)


def test_range_check_looks_past_a_dark_first_image():
    """The check starts with the first image; a dark one must not decide for the batch."""
    batch = BATCH_U8.astype(np.float32)
    batch[0] = batch[0] / 255.0  # first image in [0, 1], the others 0-255
    norm = KerasModeNormalizer(mode="tf").fit(batch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        norm.transform(batch)
    with pytest.warns(InputRangeWarning, match="maximum is"):
        norm.transform(batch[:1])


def test_exactly_one_of_mode_and_model():
    with pytest.raises(ValueError, match="exactly one of mode= or model="):
        KerasModeNormalizer().fit(BATCH_U8)
    with pytest.raises(ValueError, match="exactly one of mode= or model="):
        KerasModeNormalizer("tf", model="resnet50").fit(BATCH_U8)
    with pytest.raises(UnknownModelError, match="ResNet50"):
        KerasModeNormalizer(model="resnet5O").fit(BATCH_U8)


def test_bad_mode_is_reported_like_scikit_learn():
    with pytest.raises(ValueError, match=r"The 'mode' parameter of KerasModeNormalizer must be"):
        KerasModeNormalizer("foo").fit(BATCH_U8)


def test_shape_errors():
    with pytest.raises(InputShapeError, match="3 \\(RGB\\) channels"):
        KerasModeNormalizer("caffe").fit(BATCH_U8[..., :2])
    norm = KerasModeNormalizer("tf").fit(BATCH_U8)
    with pytest.raises(InputShapeError, match="3 channel.*received a batch of shape"):
        norm.transform(np.zeros((1, 4, 4, 4), dtype=np.uint8))
    with pytest.raises(InputShapeError, match="a single image is a batch of one"):
        norm.transform(BATCH_U8[0])
    # spatial size may change between batches
    assert norm.transform(np.zeros((2, 9, 9, 3), dtype=np.uint8)).shape == (2, 9, 9, 3)


def test_sklearn_contract():
    norm = KerasModeNormalizer(model="densenet121")
    with pytest.raises(NotFittedError):
        norm.transform(BATCH_U8)
    assert clone(norm).get_params() == norm.get_params()
    fitted = norm.fit(BATCH_U8)
    assert fitted is norm and norm.mode_ == "torch" and norm.model_spec_.name == "DenseNet121"
    state = dict(norm.__dict__)
    norm.transform(BATCH_U8)
    assert norm.__dict__.keys() == state.keys()
    assert norm.input_shape_ == (7, 5, 3) and not hasattr(norm, "n_features_in_")


def test_joblib_round_trip(tmp_path):
    norm = KerasModeNormalizer(model="vgg16").fit(BATCH_U8)
    joblib.dump(norm, tmp_path / "norm.joblib")
    loaded = joblib.load(tmp_path / "norm.joblib")
    np.testing.assert_array_equal(loaded.transform(BATCH_U8), norm.transform(BATCH_U8))


def test_unpreprocess_doc_example():
    np.testing.assert_allclose(unpreprocess(preprocess(BATCH_U8, "torch"), "torch"), BATCH_U8,
                               atol=1e-3)


# --------------------------------------------------------------------------- one image (3-D)

ONE_IMAGE_SHAPES = {  # (H, W) of one image: ordinary, H == 3 (the axis trap), all sides 3
    "7x5": (7, 5), "3x6": (3, 6), "3x3": (3, 3),
}


@pytest.mark.keras
@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("size", list(ONE_IMAGE_SHAPES), ids=str)
def test_one_image_equals_keras_in_both_data_formats(keras, mode, data_format, size):
    """Keras reads one channels-first image (C, H, W) on axis 0, one channels-last on -1."""
    from keras.applications import imagenet_utils

    height, width = ONE_IMAGE_SHAPES[size]
    hwc = RNG.integers(0, 256, size=(height, width, 3)).astype(np.float32)
    x = np.ascontiguousarray(hwc.transpose(2, 0, 1)) if data_format == "channels_first" else hwc
    expected = np.asarray(imagenet_utils.preprocess_input(
        x.copy(), data_format=data_format, mode=mode  # copy: Keras writes into float input
    ))
    before = x.copy()
    got = preprocess(x, mode, data_format=data_format)
    np.testing.assert_array_equal(x, before)
    assert got.shape == x.shape and got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(preprocess(x.astype(np.uint8), mode, data_format=data_format),
                                  expected)
    np.testing.assert_allclose(unpreprocess(got, mode, data_format=data_format), x, atol=1e-3)


def test_one_channels_first_image_is_one_image_not_a_batch():
    """(3, H, W) channels-first: per-channel on axis 0, the same as the batch of one."""
    x = RNG.integers(0, 256, size=(3, 3, 8)).astype(np.float32)  # H == 3: both axes fit
    got = preprocess(x, "caffe", data_format="channels_first")
    batch = preprocess(x[None], "caffe", data_format="channels_first")[0]
    np.testing.assert_array_equal(got, batch)
    np.testing.assert_allclose(got[0], x[2] - 103.939, rtol=1e-6)  # BGR: blue first


def test_one_channels_first_image_with_wrong_channel_count_is_refused():
    with pytest.raises(InputShapeError, match="axis 0"):
        preprocess(np.zeros((4, 3, 3)), "caffe", data_format="channels_first")
    with pytest.raises(InputShapeError, match="axis 2"):
        preprocess(np.zeros((3, 3, 4)), "torch", data_format="channels_last")


def test_unknown_data_format_is_refused_not_guessed():
    with pytest.raises(ValueError, match="data_format"):
        preprocess(np.zeros((2, 3, 3, 3)), "caffe", data_format="channel_first")


@pytest.mark.keras
@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_one_pixel_equals_keras(keras, mode):
    """A 1-D pixel (C,): found by tests/test_errors.py (it raised a plain TypeError)."""
    from keras.applications import imagenet_utils

    pixel = np.array([10.0, 20.0, 30.0], np.float32)
    expected = np.asarray(imagenet_utils.preprocess_input(pixel.copy(), mode=mode))
    np.testing.assert_allclose(preprocess(pixel, mode), expected, rtol=1e-6)
    np.testing.assert_allclose(unpreprocess(preprocess(pixel, mode), mode), pixel, rtol=1e-5)
