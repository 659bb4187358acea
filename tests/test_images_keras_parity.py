"""ImageLoader vs keras.utils.load_img + img_to_array on real photos (bit-identical)."""

from __future__ import annotations

import numpy as np
import pytest

from skprep import ImageLoader

pytestmark = pytest.mark.keras

KERAS_EXACT = {"exif_transpose": False, "dtype": "float32"}


def _keras_batch(keras, paths, target_size, **kwargs):
    return np.stack([
        keras.utils.img_to_array(keras.utils.load_img(p, target_size=target_size, **kwargs))
        for p in paths
    ])


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
@pytest.mark.parametrize("target_size", [(224, 224), (150, 100)])
@pytest.mark.parametrize("keep_aspect_ratio", [False, True])
def test_nearest_is_bit_identical_to_keras(keras, photo_files, fmt, target_size,
                                           keep_aspect_ratio):
    paths = photo_files[fmt]
    expected = _keras_batch(keras, paths, target_size, interpolation="nearest",
                            keep_aspect_ratio=keep_aspect_ratio)
    loader = ImageLoader(target_size, interpolation="nearest",
                         resize_mode="crop" if keep_aspect_ratio else "stretch", **KERAS_EXACT)
    out = loader.transform(paths)
    assert out.dtype == expected.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


def test_grayscale_and_rgba_match_keras(keras, photo_files):
    paths = photo_files["jpeg"][:2] + photo_files["png"][:2]
    for color_mode in ("grayscale", "rgba"):
        expected = _keras_batch(keras, paths, (64, 80), interpolation="nearest",
                                color_mode=color_mode)
        out = ImageLoader((64, 80), interpolation="nearest", color_mode=color_mode,
                          **KERAS_EXACT).transform(paths)
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "lanczos"])
def test_reducing_gap_none_is_keras_exact_for_antialiased_filters(keras, photo_files,
                                                                   interpolation):
    """reducing_gap=None: full decode + Pillow's resize, exactly what Keras does."""
    paths = photo_files["jpeg"] + photo_files["png"]
    expected = _keras_batch(keras, paths, (96, 96), interpolation=interpolation)
    out = ImageLoader((96, 96), interpolation=interpolation, reducing_gap=None,
                      **KERAS_EXACT).transform(paths)
    np.testing.assert_array_equal(out, expected)
