"""ImageLoader on Pillow's own test images (``tests/data/pillow``; origin in its README).

Material no one here wrote: Pillow's fuzzer crash files, its JPEG 2000 / FITS files, its
colour-key PNGs and its 16-bit files, with Pillow's own assertions ported where they
exist. Pillow's global ``LOAD_TRUNCATED_IMAGES`` (set by other libraries) must change no
outcome; every transparency goes onto ``background``; ``bit_depth_scaling`` is exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from skprep import ImageLoader
from skprep.exceptions import ImageDecodeError, ImageLoadError

DATA = Path(__file__).parent / "data" / "pillow"
BACKGROUND = (10, 200, 30)

# Pillow's tests demand an OSError from load() for these (Tests/test_sgi_crash.py,
# Tests/test_image.py::test_overrun); with LOAD_TRUNCATED_IMAGES set, Pillow loads them
PILLOW_MUST_FAIL = [
    "crash-465703f71a0f0094873a3e0e82c9f798161171b8.sgi",
    "crash-64834657ee604b8797bf99eac6a194c124a9a8ba.sgi",
    "crash-6b7f2244da6d0ae297ee0754a424213444e92778.sgi",
    "crash-754d9c7ec485ffb76a90eeaab191ef69a2a3a3cd.sgi",
    "crash-abcf1c97b8fe42a6c68f1fb0b978530c98d57ced.sgi",
    "crash-b82e64d4f3f76d7465b6af535283029eda211259.sgi",
    "crash-c1b2595b8b0b92cc5f38b6635e98e3a119ade807.sgi",
    "crash-db8bfa78b19721225425530c5946217720d7df4e.sgi",
    "ossfuzz-5730089102868480.sgi",
    "sgi_overrun.bin",
    "sgi_overrun_expandrow.bin",
    "sgi_overrun_expandrow2.bin",
    "sgi_overrun_expandrowF04.bin",
    "png_decompression_dos.png",  # a zTXt chunk past PngImagePlugin.MAX_TEXT_CHUNK
]
# decoder errors of this Pillow / OpenJPEG (Pillow's own crash test accepts either outcome
# for the J2K files): only that the flag changes nothing is asserted for them
DECODER_ERRORS = [
    "crash-4fb027452e6988530aa5dabee76eecacb3b79f8a.j2k",
    "crash-7d4c83eb92150fb8f1653a697703ae06ae7c4998.j2k",
    "crash-ccca68ff40171fdae983d924e127a721cab2bd50.j2k",
    "crash-d2c93af851d3ab9a19e34503626368b2ecde9c03.j2k",
    "fli_overflow.fli",
    "fli_overrun2.bin",
]
# valid files whose decoders read the file themselves: refused as "truncated" under the
# flag before (balloon.jpf, 628 KB, and zero_dpi.jp2 behaved the same; not committed)
VALID_PULL_DECODERS = [
    "comment.jp2",
    "16bit.cropped.jp2",
    "rgb_trns_ycbc.jp2",
    "test-card-lossless.jp2",
    "test-card-lossy-tiled.jp2",
    "m13_gzip.fits",
]
ALL_FILES = sorted(p.name for p in DATA.iterdir()
                   if p.name != "README.md" and not p.name.startswith("."))


def _outcome(path: Path, **params) -> tuple[str, np.ndarray | None]:
    try:
        return "ok", ImageLoader(None, **params).transform([str(path)])[0]
    except ImageLoadError as exc:
        return type(exc).__name__, None


@pytest.fixture(params=[False, True], ids=["flag-off", "LOAD_TRUNCATED_IMAGES"])
def pillow_flag(request, monkeypatch):
    """Pillow's global flag, as another library in the process may have set it."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", request.param)
    return request.param


# --------------------------------------------------------------------------- item 1: the flag


def test_corpus_subset_is_committed():
    assert set(PILLOW_MUST_FAIL + DECODER_ERRORS + VALID_PULL_DECODERS) <= set(ALL_FILES)
    assert sum((DATA / name).stat().st_size for name in ALL_FILES) < 1_000_000


@pytest.mark.parametrize("name", ALL_FILES)
def test_pillows_global_flag_changes_no_outcome(monkeypatch, name):
    """Same pixels, or the same error class, with and without LOAD_TRUNCATED_IMAGES."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", False)
    strict_kind, strict = _outcome(DATA / name)
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    lenient_kind, lenient = _outcome(DATA / name)
    assert lenient_kind == strict_kind
    if strict is not None:
        np.testing.assert_array_equal(lenient, strict)


@pytest.mark.parametrize("name", PILLOW_MUST_FAIL + DECODER_ERRORS)
def test_crash_files_are_refused_naming_the_file(pillow_flag, name):
    path = str(DATA / name)
    with pytest.raises(ImageDecodeError) as info:
        ImageLoader((16, 16)).transform([path])
    assert path in str(info.value) and info.value.__cause__ is not None


@pytest.mark.parametrize("name", PILLOW_MUST_FAIL)
def test_the_flag_really_hides_these_errors_from_plain_pillow(monkeypatch, name):
    """The premise of the test above: Pillow with the flag loads them without a word."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with Image.open(DATA / name) as im:
        im.load()
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", False)
    with pytest.raises((OSError, ValueError)):  # Pillow's own tests: OSError / ValueError
        with Image.open(DATA / name) as im:
            im.load()


@pytest.mark.parametrize("name", VALID_PULL_DECODERS)
def test_valid_jpeg2000_and_fits_load_as_pillow_decodes_them(pillow_flag, name):
    got = ImageLoader(None, color_mode="rgba").transform([str(DATA / name)])[0]
    with Image.open(DATA / name) as im:
        mode = im.mode
        if mode == "I;16":  # 16-bit grey: the documented full-range scaling
            wide = np.asarray(im).astype(np.int64)
            expected = ((wide * 255 + 32767) // 65535).astype(np.uint8)
            expected = np.stack([expected] * 3 + [np.full_like(expected, 255)], axis=-1)
        else:
            expected = np.asarray(im.convert("RGBA"))
    np.testing.assert_array_equal(got, expected)


def test_test_card_lossless_is_the_test_card(pillow_flag):
    """Port of Pillow's test_file_jpeg2k: the lossless JPEG 2000 is the test card."""
    jp2, png = ImageLoader(None).transform([str(DATA / "test-card-lossless.jp2"),
                                            str(DATA / "test-card.png")])
    assert jp2.shape == (480, 640, 3) and tuple(jp2[0, 0]) == (0, 0, 0)
    assert np.abs(jp2.astype(int) - png).mean() < 1e-3  # Pillow: assert_image_similar 1e-3


# --------------------------------------------------------------------------- item 2: keys


def _composited(rgb: np.ndarray, transparent: np.ndarray) -> np.ndarray:
    out = rgb.copy()
    out[transparent] = BACKGROUND
    return out


def _grey(rgb: np.ndarray) -> np.ndarray:
    """Pillow's RGB -> L (ITU-R 601-2 luma, 16-bit fixed point, rounded)."""
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)[..., None]


def _key_reference(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(RGB pixels, transparent mask) computed from the raw values and the raw key."""
    with Image.open(DATA / name) as im:
        raw = np.asarray(im)
        key = im.info["transparency"]
        mode = im.mode
        palette_rgba = np.asarray(im.convert("RGBA")) if mode == "P" else None
    if mode == "P":
        return palette_rgba[..., :3], palette_rgba[..., 3] == 0
    if mode == "RGB":
        return raw, (raw == np.asarray(key)).all(axis=-1)
    if mode == "1":
        grey = raw.astype(np.uint8) * 255
        return np.stack([grey] * 3, axis=-1), grey == key
    if mode == "I;16":
        grey = ((raw.astype(np.int64) * 255 + 32767) // 65535).astype(np.uint8)
    else:
        grey = raw
    return np.stack([grey] * 3, axis=-1), raw == key


KEYED = ["rgb_trns.png", "l_trns.png", "i_trns.png", "1_trns.png", "p_trns_single.png",
         "no_palette_with_transparency.gif"]


@pytest.mark.parametrize("name", KEYED)
@pytest.mark.parametrize("color_mode", ["rgb", "grayscale", "rgba"])
def test_every_colour_key_goes_onto_background(pillow_flag, name, color_mode):
    rgb, transparent = _key_reference(name)
    got = ImageLoader(None, color_mode=color_mode, background=BACKGROUND).transform(
        [str(DATA / name)]
    )[0]
    if color_mode == "rgba":
        np.testing.assert_array_equal(got[..., 3], np.where(transparent, 0, 255))
        np.testing.assert_array_equal(got[~transparent][:, :3], rgb[~transparent])
    elif color_mode == "rgb":
        np.testing.assert_array_equal(got, _composited(rgb, transparent))
    else:
        np.testing.assert_array_equal(got, _grey(_composited(rgb, transparent)))


def test_rgb_trns_has_pillows_876_transparent_pixels():
    """Port of Pillow's test_load_transparent_rgb: key (0, 255, 52), 876 pixels."""
    with Image.open(DATA / "rgb_trns.png") as im:
        assert im.info["transparency"] == (0, 255, 52)
    rgba = ImageLoader(None, color_mode="rgba").transform([str(DATA / "rgb_trns.png")])[0]
    assert int((rgba[..., 3] == 0).sum()) == 876
    rgb = ImageLoader(None, background=BACKGROUND).transform([str(DATA / "rgb_trns.png")])[0]
    assert int((rgb == BACKGROUND).all(axis=-1).sum()) == 876
    assert not (rgb == (0, 255, 52)).all(axis=-1).any()  # the key colour is gone


def test_sixteen_bit_key_matches_its_exact_value():
    """i_trns.png: key 255 on 16-bit grey; 8-bit neighbours of it are not transparent."""
    with Image.open(DATA / "i_trns.png") as im:
        raw = np.asarray(im).astype(np.int64)
    near = (raw != 255) & (((raw * 255 + 32767) // 65535) == 1)  # same 8-bit value as 255
    assert near.any(), "the file has pixels only the 16-bit comparison tells apart"
    rgba = ImageLoader(None, color_mode="rgba").transform([str(DATA / "i_trns.png")])[0]
    assert (rgba[..., 3][raw == 255] == 0).all() and (rgba[..., 3][near] == 255).all()


def test_jpeg2000_alpha_goes_onto_background(pillow_flag):
    path = str(DATA / "rgb_trns_ycbc.jp2")
    with Image.open(path) as im:
        rgba = np.asarray(im.convert("RGBA")).astype(np.float64)
    alpha = rgba[..., 3:] / 255.0
    expected = np.rint(rgba[..., :3] * alpha + np.asarray(BACKGROUND) * (1 - alpha))
    got = ImageLoader(None, background=BACKGROUND).transform([path])[0]
    assert np.abs(got.astype(np.float64) - expected).max() <= 1  # Pillow's integer blend


# --------------------------------------------------------------------------- item 4: bit depth

SIXTEEN_BIT = ["12in16bit.tif", "12bit.cropped.tif", "16bit.cropped.tif", "m13_gzip.fits",
               "16bit.cropped.jp2", "uint16_1_4660.tif", "hopper_16bit.pgm"]


def _raw(name: str) -> np.ndarray:
    with Image.open(DATA / name) as im:
        return np.asarray(im).astype(np.int64)


@pytest.mark.parametrize("name", SIXTEEN_BIT)
def test_bit_depth_scaling_full_is_the_container_range(name):
    raw = _raw(name)
    got = ImageLoader(None, color_mode="grayscale").transform([str(DATA / name)])[0, ..., 0]
    np.testing.assert_array_equal(got, (raw * 255 + 32767) // 65535)


@pytest.mark.parametrize("name", SIXTEEN_BIT)
def test_bit_depth_scaling_data_stretches_the_image_range(name):
    raw = _raw(name)
    low, high = raw.min(), raw.max()
    expected = (np.rint((raw - low) * (255.0 / (high - low))) if high > low
                else np.zeros_like(raw))
    got = ImageLoader(None, color_mode="grayscale", bit_depth_scaling="data").transform(
        [str(DATA / name)]
    )[0, ..., 0]
    np.testing.assert_array_equal(got, expected)


def test_twelve_bit_data_is_black_by_default_and_visible_with_data_scaling():
    """12in16bit.tif holds 0..30: full range gives black, "data" the whole 0..255."""
    path = str(DATA / "12in16bit.tif")
    full = ImageLoader(None, color_mode="grayscale").transform([path])
    data = ImageLoader(None, color_mode="grayscale", bit_depth_scaling="data").transform([path])
    assert full.max() == 0 and (data.min(), data.max()) == (0, 255)
    # Pillow's test_12bit_rawmode: the 12-bit TIFF reads as the same values
    other = ImageLoader(None, bit_depth_scaling="data").transform([str(DATA / "12bit.cropped.tif")])
    np.testing.assert_array_equal(other, ImageLoader(None, bit_depth_scaling="data").transform(
        [path]))


def test_full_range_data_scales_the_same_both_ways():
    path = str(DATA / "hopper_16bit.pgm")  # 0..65535
    np.testing.assert_array_equal(ImageLoader(None).transform([path]),
                                  ImageLoader(None, bit_depth_scaling="data").transform([path]))


def test_eight_bit_images_ignore_bit_depth_scaling():
    path = str(DATA / "test-card.png")
    np.testing.assert_array_equal(ImageLoader(None).transform([path]),
                                  ImageLoader(None, bit_depth_scaling="data").transform([path]))
