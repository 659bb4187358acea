"""ImageLoader: input contract (hostile corpus), limits, failure report, speed path."""

from __future__ import annotations

import io
import pickle
import resource
import struct
import sys
import time
import tracemalloc
import warnings
import zlib

import numpy as np
import pytest
from image_corpus import (
    CASE_NAMES,
    build_corpus,
    jpeg_with_orientation,
    pattern,
    png_bytes,
    png_chunk,
)
from PIL import Image, ImageFile, ImageFilter, features
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skprep import ImageLoader, ImageLoadReport, load_images
from skprep.exceptions import (
    ImageDecodeError,
    ImageFailure,
    ImageLoadError,
    ImageLoadWarning,
    ImageTooLargeError,
    SkprepError,
    UnsupportedImageError,
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def _encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


# --------------------------------------------------------------------------- contract


@pytest.mark.parametrize("name", CASE_NAMES)
def test_input_contract(corpus, name):
    """Each corpus case loads correctly, or raises the right subclass naming the path."""
    case = corpus[name]
    loader = ImageLoader(target_size=None, **case.params)
    if case.error is None:
        batch = loader.transform(case.path)
        assert batch.dtype == np.uint8 and batch.shape[0] == 1
        case.check(batch[0])
        return
    with pytest.raises(case.error) as info:
        loader.transform([case.path])
    err = info.value
    assert isinstance(err, ImageLoadError) and isinstance(err, SkprepError)
    assert case.path in str(err) and "item" not in type(err).__name__
    assert err.index == 0 and err.source == case.path
    assert err.__cause__ is not None, "the underlying exception must be chained"
    assert "BytesIO" not in str(err) and " at 0x" not in str(err)
    message = err.failures[0].message
    assert err.failures == [ImageFailure(0, case.path, case.error.__name__, message)]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_input_contract_fill_keeps_the_promised_shape(corpus, name):
    case = corpus[name]
    batch, report = ImageLoader((12, 20), on_error="fill", fill_value=7, **case.params).load(
        [case.path], return_report=True
    )
    assert batch.shape == (1, 12, 20, 3) and batch.dtype == np.uint8
    if case.error is None:
        assert report.n_failed == 0
    else:
        assert (batch == 7).all()
        assert report.indices == [0] and report.error_types == [case.error.__name__]


def test_whole_corpus_in_one_batch(corpus):
    paths = [case.path for case in corpus.values()]
    bad = [i for i, case in enumerate(corpus.values()) if case.error is not None]
    with pytest.raises(ImageLoadError) as info:
        ImageLoader((16, 16), n_jobs=2).transform(paths)
    assert [f.index for f in info.value.failures] == bad
    assert all(f.source == paths[f.index] for f in info.value.failures)
    batch, report = ImageLoader((16, 16), n_jobs=2, on_error="fill").load(
        paths, return_report=True
    )
    assert report.indices == bad and report.sources == [paths[i] for i in bad]
    assert report.ok.sum() == len(paths) - len(bad)
    expected_types = [list(corpus.values())[i].error.__name__ for i in bad]
    assert report.error_types == expected_types


@pytest.mark.parametrize("name", ["truncated_jpeg", "truncated_png", "truncated_gif"])
def test_truncation_detected_even_with_pillows_global_flag(corpus, monkeypatch, name):
    """Another library setting LOAD_TRUNCATED_IMAGES must not turn errors into grey."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    Image.open(corpus[name].path).load()  # plain Pillow now "succeeds"
    with pytest.raises(ImageDecodeError, match="truncated"):
        ImageLoader((16, 16)).transform(corpus[name].path)


def test_truncated_png_with_intact_chunks_under_global_flag(monkeypatch):
    """A PNG whose zlib stream stops early (chunks and CRCs fine) is still refused."""
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    stream = _zlib_rows(raw)
    data = png_bytes(32, 32, idat=stream[: len(stream) // 2])
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(ImageDecodeError, match="truncated"):
        ImageLoader(None).transform(data)
    np.testing.assert_array_equal(
        ImageLoader(None).transform(png_bytes(32, 32, idat=stream))[0], raw
    )


def _zlib_rows(raw: np.ndarray) -> bytes:
    import zlib

    return zlib.compress(b"".join(b"\x00" + row.tobytes() for row in raw))


def test_valid_corpus_unchanged_under_global_flag(corpus, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    for case in corpus.values():
        if case.error is None:
            case.check(ImageLoader(None, **case.params).transform(case.path)[0])


def test_pillow_globals_are_never_written(corpus):
    before = (ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS)
    ImageLoader((8, 8), on_error="fill").load([c.path for c in corpus.values()],
                                              return_report=True)
    assert (ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS) == before


def test_sources_of_every_item_type_are_readable():
    data = b"garbage!" * 10
    items = [data, io.BytesIO(data), Image.new("RGB", (2, 2))]
    _, report = ImageLoader((4, 4), on_error="fill").load(items[:2], return_report=True)
    assert report.sources == ["<bytes: 80 bytes>", "<BytesIO>"]
    with pytest.raises(UnsupportedImageError, match="text mode"):
        ImageLoader((4, 4)).transform(io.StringIO("x"))
    with pytest.raises(UnsupportedImageError, match="int"):
        ImageLoader((4, 4)).transform([3])


# --------------------------------------------------------------------------- limits


def test_bombs_fail_fast_with_bounded_memory(corpus):
    paths = [corpus["bomb_png_30000"].path, corpus["bomb_png_header_only"].path]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    # CPU time of this process, not wall time: on a loaded machine the wait for a core is
    # not work (decoding 900 megapixels would be seconds of CPU, refusing them is not)
    start = time.process_time()
    for path in paths:
        with pytest.raises(ImageTooLargeError, match="30000x30000 = 900,000,000 pixels"):
            ImageLoader((32, 32)).transform(path)
    elapsed = time.process_time() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_growth_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert elapsed < 0.25, elapsed
    assert peak < 4 * 2**20, peak  # the 110 KB file, not 900 MB of pixels
    assert rss_growth_kib < 64 * 1024, rss_growth_kib


def test_bomb_is_refused_even_when_pillows_own_limit_is_off(corpus, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(ImageTooLargeError):
        ImageLoader((8, 8)).transform(corpus["bomb_png_header_only"].path)


def test_max_pixels_boundary_and_no_pillow_warning():
    data = _encode(Image.fromarray(pattern(10, 10)), "PNG")
    assert ImageLoader(None, max_pixels=100).transform(data).shape == (1, 10, 10, 3)
    with pytest.raises(ImageTooLargeError, match="10x10 = 100 pixels, more than max_pixels=99"):
        ImageLoader(None, max_pixels=99).transform(data)
    # raising max_pixels above Pillow's limit works and Pillow does not warn either
    header = png_bytes(10000, 9000, color_type=0)  # 90 M pixels > Pillow's 89.5 M
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageDecodeError, match="IDAT"):
            ImageLoader(None, max_pixels=None).transform(header)


def test_max_file_bytes(tmp_path):
    data = _encode(Image.fromarray(pattern(16, 16)), "PNG")
    path = tmp_path / "a.png"
    path.write_bytes(data)
    for make in (lambda: str(path), lambda: data, lambda: io.BytesIO(data)):
        assert ImageLoader(None, max_file_bytes=len(data)).transform(make()).shape[0] == 1
        with pytest.raises(ImageTooLargeError, match=f"max_file_bytes={len(data) - 1}"):
            ImageLoader(None, max_file_bytes=len(data) - 1).transform(make())


# --------------------------------------------------------------------------- frames


def test_frames_out_of_range_and_on_single_frame_images(corpus):
    with pytest.raises(ImageDecodeError, match="has 3 frame"):
        ImageLoader(None, frames=3).transform(corpus["animated_gif"].path)
    single = corpus["one_by_one"]
    case_last = ImageLoader(None, frames=-1).transform(single.path)
    single.check(case_last[0])


# --------------------------------------------------------------------------- report


def _bad_batch():
    good = Image.fromarray(pattern(8, 8))
    return [good, b"not an image", good, b"", good]


def test_fill_warning_carries_report_and_failures():
    with pytest.warns(ImageLoadWarning, match=r"2 of 5 image\(s\) failed") as record:
        batch = ImageLoader((4, 4), on_error="fill", fill_value=3).transform(_bad_batch())
    warning = record[0].message
    assert isinstance(warning.report, ImageLoadReport)
    assert warning.report.indices == [1, 3] and warning.failures == list(warning.report.failures)
    assert warning.report.sources == ["<bytes: 12 bytes>", "<bytes: 0 bytes>"]
    assert warning.report.error_types == ["ImageDecodeError", "ImageDecodeError"]
    assert "empty" in warning.report.messages[1]
    assert (batch[[1, 3]] == 3).all() and not (batch[[0, 2, 4]] == 3).all()


def test_load_returns_report_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batch, report = ImageLoader((4, 4), on_error="fill").load(_bad_batch(),
                                                                  return_report=True)
    assert batch.shape == (5, 4, 4, 3)
    assert report.n_items == 5 and report.indices == [1, 3]
    assert report.ok.tolist() == [True, False, True, False, True]
    frame = report.to_frame()
    assert list(frame.columns) == ["index", "source", "error_type", "message"]
    assert frame["index"].tolist() == [1, 3]
    clean, clean_report = ImageLoader((4, 4)).load(_bad_batch()[::2], return_report=True)
    assert clean_report.n_failed == 0 and str(clean_report) == "all 3 image(s) loaded"


def test_report_inside_a_pipeline():
    pipe = make_pipeline(ImageLoader((4, 4), on_error="fill"),
                         FunctionTransformer(lambda x: x.reshape(len(x), -1)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = pipe.fit_transform(_bad_batch())
    reports = [w.message.report for w in caught if issubclass(w.category, ImageLoadWarning)]
    assert out.shape == (5, 48) and reports[0].indices == [1, 3]


@pytest.mark.parametrize(
    ("max_failures", "raises"),
    [(None, False), (2, False), (1, True), (0, True), (0.4, False), (0.39, True), (1.0, False)],
)
def test_max_failures(max_failures, raises):
    loader = ImageLoader((4, 4), on_error="fill", max_failures=max_failures)
    if raises:
        with pytest.raises(ImageLoadError, match="more than max_failures") as info:
            loader.load(_bad_batch(), return_report=True)
        assert [f.index for f in info.value.failures] == [1, 3]
    else:
        assert loader.load(_bad_batch(), return_report=True)[1].indices == [1, 3]


def test_raise_lists_every_failure_with_index_and_chained_cause():
    with pytest.raises(ImageLoadError, match=r"2 image\(s\) could not be loaded") as info:
        ImageLoader((4, 4)).transform(_bad_batch())
    assert [f.index for f in info.value.failures] == [1, 3]
    assert info.value.__cause__ is not None
    restored = pickle.loads(pickle.dumps(info.value))
    assert restored.failures == info.value.failures


def test_verbose_progress_bar(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the built-in bar
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    items = [Image.fromarray(pattern(8, 8))] * 3
    ImageLoader((4, 4), verbose=2).transform(items)
    assert "ImageLoader: 3/3 img" in capsys.readouterr().err
    ImageLoader((4, 4), verbose=0, n_jobs=2).transform(items)
    assert capsys.readouterr().err == ""
    ImageLoader((4, 4), verbose=2, n_jobs=2).transform(items)
    assert "3/3" in capsys.readouterr().err


# --------------------------------------------------------------------------- basics


def test_containers_order_and_threads(tmp_path):
    pd = pytest.importorskip("pandas")
    photos = [pattern(20 + 4 * i, 16, seed=i) for i in range(5)]
    paths = []
    for i, arr in enumerate(photos):
        path = tmp_path / f"p{i}.png"
        Image.fromarray(arr).save(path)
        paths.append(path)
    ref = ImageLoader((12, 10)).transform([str(p) for p in paths])
    variants = [
        paths, tuple(paths), np.array([str(p) for p in paths], dtype=object),
        pd.Series([str(p) for p in paths]), pd.DataFrame({"path": [str(p) for p in paths]}),
        [p.read_bytes() for p in paths], [io.BytesIO(p.read_bytes()) for p in paths],
        [Image.fromarray(a) for a in photos],
    ]
    for variant in variants:
        np.testing.assert_array_equal(ImageLoader((12, 10), n_jobs=-1).transform(variant), ref)
    for i, arr in enumerate(photos):
        expected = np.asarray(Image.fromarray(arr).resize((10, 12), Image.Resampling.BILINEAR,
                                                          reducing_gap=2.0))
        np.testing.assert_array_equal(ref[i], expected)
    single = ImageLoader((12, 10)).transform(str(paths[2]))
    np.testing.assert_array_equal(single, ref[2:3])
    assert ImageLoader((3, 3)).transform([]).shape == (0, 3, 3, 3)


def test_modes_dtype_resize_modes():
    img = Image.fromarray(pattern(40, 20))
    assert load_images(img, target_size=(8, 8), color_mode="grayscale").shape == (1, 8, 8, 1)
    rgba = load_images(img, target_size=(8, 8), color_mode="rgba")
    assert rgba.shape == (1, 8, 8, 4) and (rgba[..., 3] == 255).all()
    as_float = load_images(img, target_size=(8, 8), dtype="float32")
    assert as_float.dtype == np.float32
    np.testing.assert_array_equal(as_float, load_images(img, target_size=(8, 8)))
    padded = load_images(img, target_size=(20, 20), resize_mode="pad", fill_value=9)
    assert (padded[0, :5] == 9).all() and (padded[0, 15:] == 9).all()  # 40x20 -> 20x10
    np.testing.assert_array_equal(padded[0, 5:15], load_images(img, target_size=(10, 20))[0])
    cropped = load_images(img, target_size=(10, 10), resize_mode="crop")
    centre = img.resize((10, 10), Image.Resampling.BILINEAR, box=(10, 0, 30, 20))
    np.testing.assert_array_equal(cropped[0], np.asarray(centre))


def test_params_validation_and_sklearn_api():
    loader = ImageLoader((8, 8), frames=1, max_failures=0.5, reducing_gap=None, verbose=1)
    assert clone(loader).get_params() == loader.get_params()
    assert loader.fit([]) is loader and loader.n_channels_ == 3
    for bad in ({"reducing_gap": 0.5}, {"max_failures": 1.5}, {"max_failures": -1},
                {"max_file_bytes": 0}, {"frames": "all"}, {"max_pixels": 0}):
        with pytest.raises(ValueError, match=list(bad)[0]):
            ImageLoader(**bad).fit()
    with pytest.raises(ValueError, match="target_size"):
        ImageLoader((8, 0)).fit()
    with pytest.raises(ValueError, match="background"):
        ImageLoader(background=(1, 2)).fit()


def test_pickle_round_trip():
    loader = ImageLoader((6, 6), reducing_gap=2.0)
    img = Image.fromarray(pattern(12, 12))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(loader)).transform(img),
                                  loader.transform(img))


# --------------------------------------------------------------------------- speed path


@pytest.fixture(scope="module")
def camera_jpegs(sample_photos):
    """The real sample photos upscaled to camera size (3000x2000) as JPEG, light noise."""
    rng = np.random.default_rng(5)
    files = []
    for photo in sample_photos:
        big = np.asarray(Image.fromarray(photo).resize((3000, 2000), Image.Resampling.BICUBIC))
        noise = rng.integers(-4, 5, big.shape, dtype=np.int8)
        noisy = np.clip(big.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        files.append(_encode(Image.fromarray(noisy), "JPEG", quality=90))
    return files


@pytest.mark.parametrize("resize_mode", ["stretch", "crop", "pad"])
def test_default_quality_bound_on_camera_photos(camera_jpegs, resize_mode):
    """JPEG draft + reducing_gap at defaults stays within MAD 1.5 of an exact decode."""
    exact = ImageLoader(resize_mode=resize_mode, reducing_gap=None).transform(camera_jpegs)
    fast = ImageLoader(resize_mode=resize_mode).transform(camera_jpegs)
    mad = np.abs(fast.astype(np.float64) - exact).mean()
    assert 0.0 < mad <= 1.5, mad  # > 0: the fast path really ran


def test_draft_never_changes_the_exact_keras_setting(camera_jpegs):
    keras_like = {"interpolation": "nearest", "exif_transpose": False, "dtype": "float32"}
    a = ImageLoader((64, 64), **keras_like).transform(camera_jpegs[:1])
    b = ImageLoader((64, 64), reducing_gap=None, **keras_like).transform(camera_jpegs[:1])
    expected = np.asarray(
        Image.open(io.BytesIO(camera_jpegs[0])).resize((64, 64), Image.Resampling.NEAREST),
        dtype=np.float32,
    )
    np.testing.assert_array_equal(a[0], expected)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_draft_with_exif_orientation_is_upright(orientation):
    """Orientation is read before draft: a rotated camera photo comes out upright."""
    upright = pattern(1600, 1200)
    data = jpeg_with_orientation(upright, orientation, quality=90)
    out = ImageLoader((60, 80)).transform(data)[0].astype(np.float64)
    exact = ImageLoader((60, 80), reducing_gap=None).transform(data)[0]
    reference = np.asarray(Image.fromarray(upright).resize((80, 60), Image.Resampling.BILINEAR))
    assert np.abs(out - exact).mean() <= 1.5
    assert np.abs(out - reference).mean() <= 3.0


def test_threads_give_identical_batches(camera_jpegs):
    items = camera_jpegs * 2
    np.testing.assert_array_equal(ImageLoader((32, 48), n_jobs=2).transform(items),
                                  ImageLoader((32, 48), n_jobs=1).transform(items))


def test_lazy_pil_images_shared_between_threads(tmp_path):
    path = tmp_path / "lazy.png"
    Image.fromarray(pattern(30, 20)).save(path)
    lazy = Image.open(path)  # not loaded yet; the same object four times
    out = ImageLoader((10, 10), n_jobs=2).transform([lazy] * 4)
    np.testing.assert_array_equal(out, np.repeat(ImageLoader((10, 10)).transform(path), 4, 0))


def _outcome(data, **params):
    try:
        return ImageLoader((12, 12), **params).transform(data)
    except ImageLoadError as exc:
        return type(exc)


@pytest.mark.filterwarnings("ignore::UserWarning:PIL")
def test_truncation_outcomes_do_not_depend_on_pillows_global_flag(monkeypatch):
    """Every prefix of every seed format: same result with and without the flag."""
    from image_corpus import seed_files

    for name, data in seed_files().items():
        _assert_prefixes_flag_invariant(monkeypatch, name, data, 25)


def _assert_prefixes_flag_invariant(monkeypatch, name: str, data: bytes, n_cuts: int) -> None:
    """About ``n_cuts`` prefixes of ``data``: the same outcome with and without the flag."""
    for cut in sorted({*range(8, len(data), max(1, len(data) // n_cuts)), len(data) - 1}):
        monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", False)
        strict = _outcome(data[:cut])
        monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
        lenient = _outcome(data[:cut])
        if isinstance(strict, np.ndarray):
            assert isinstance(lenient, np.ndarray), (name, cut, lenient)
            np.testing.assert_array_equal(lenient, strict, err_msg=f"{name} cut {cut}")
        else:
            assert lenient is strict, (name, cut, lenient, strict)


@pytest.mark.parametrize("lenient", [False, True])
def test_jpeg_with_camera_trailer_after_eoi_loads(monkeypatch, lenient):
    """Bytes after the end-of-image marker (phone trailers) are not truncation."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", lenient)
    jpeg = _encode(Image.fromarray(pattern(40, 30)), "JPEG", quality=90)
    trailer = b"\xff\xda\x00\x08garbage\xff\xd8" + bytes(range(256)) * 4
    np.testing.assert_array_equal(ImageLoader((10, 10)).transform(jpeg + trailer),
                                  ImageLoader((10, 10)).transform(jpeg))


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_draft_on_grayscale_and_cmyk_jpegs(mode):
    rng = np.random.default_rng(2)
    smooth = Image.fromarray(pattern(800, 600)).filter(ImageFilter.GaussianBlur(2))
    noise = rng.integers(-4, 5, (600, 800, 3), dtype=np.int8)
    noisy = np.clip(np.asarray(smooth).astype(np.int16) + noise, 0, 255).astype(np.uint8)
    data = _encode(Image.fromarray(noisy).convert(mode), "JPEG", quality=90)
    fast = ImageLoader((30, 40)).transform(data).astype(np.float64)
    exact = ImageLoader((30, 40), reducing_gap=None).transform(data)
    assert 0.0 < np.abs(fast - exact).mean() <= 1.5


def test_decode_messages_say_what_is_wrong(corpus):
    def message(item):
        return ImageLoader((4, 4), on_error="fill").load([item], return_report=True)[1].messages[0]

    assert message(b"not an image") == (
        "not a recognized image format (corrupt file, or not an image)"
    )
    assert message(corpus["png_bad_header_crc"].path).startswith("corrupt PNG file")
    assert "CRC" in message(corpus["png_bad_data_crc"].path)
    assert message(corpus["zero_bytes"].path) == "the file is empty (0 bytes)"


def test_load_with_report_issues_no_warning_and_raise_lists_all():
    """(batch, report) without a warning: skprep.distributed relies on it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batch, report = ImageLoader((4, 4), on_error="fill").load(_bad_batch(),
                                                                 return_report=True)
    assert batch.shape == (5, 4, 4, 3) and report.indices == [1, 3]
    assert all(isinstance(f, ImageFailure) for f in report.failures)
    with pytest.raises(ImageLoadError) as err:
        ImageLoader((4, 4)).load(_bad_batch(), return_report=True)
    assert [f.index for f in err.value.failures] == [1, 3]


def test_default_max_pixels_is_pillows_limit(monkeypatch):
    assert ImageLoader().max_pixels == Image.MAX_IMAGE_PIXELS
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # later changes do not leak in
    assert ImageLoader().max_pixels is not None


def test_size_tuples_are_checked_by_the_constraints():
    for bad in ((8,), (8, 8, 8), (8, 2.0), (-1, 4), "88"):
        with pytest.raises(ValueError, match="target_size"):
            ImageLoader(bad).fit()
    for bad in ((0, 0, 256), (0, 0), (0, 0, -1), (0.5, 0, 0)):
        with pytest.raises(ValueError, match="background"):
            ImageLoader(background=bad).fit()
    assert ImageLoader([4, np.int64(3)], background=[0, 0, 255]).fit().n_channels_ == 3


# --------------------------------------------------------------------------- hand-built PNGs

_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))


def _scanlines(samples: np.ndarray, depth: int) -> bytes:
    """Filter-0 scanlines of (H, W, C) samples in the file's units."""
    rows = []
    for row in samples:
        if depth == 16:
            data = row.astype(">u2").tobytes()
        elif depth == 8:
            data = row.astype(np.uint8).tobytes()
        else:  # 1, 2, 4 bits per sample, packed
            bits = np.unpackbits(row.astype(np.uint8).reshape(-1, 1), axis=1)[:, 8 - depth:]
            data = np.packbits(bits.ravel()).tobytes()
        rows.append(b"\x00" + data)
    return b"".join(rows)


def _png(samples: np.ndarray, *, depth: int = 8, color: int = 2, trns: tuple = (),
         interlace: bool = False, drop_bytes: int = 0) -> bytes:
    """A PNG built by hand: any depth, a tRNS key, Adam7, and ``drop_bytes`` of its
    uncompressed data left out (a complete zlib stream that is short of rows)."""
    height, width = samples.shape[:2]
    if interlace:
        raw = b"".join(_scanlines(samples[y0::dy, x0::dx], depth)
                       for x0, y0, dx, dy in _ADAM7 if samples[y0::dy, x0::dx].size)
    else:
        raw = _scanlines(samples, depth)
    raw = raw[: len(raw) - drop_bytes]
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, int(interlace))
    chunks = [png_chunk(b"IHDR", ihdr)]
    if trns:
        chunks.append(png_chunk(b"tRNS", struct.pack(f">{len(trns)}H", *trns)))
    chunks += [png_chunk(b"IDAT", zlib.compress(raw)), png_chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


# --------------------------------------------------------------------------- missing rows


@pytest.mark.parametrize("lenient", [False, True], ids=["strict", "LOAD_TRUNCATED_IMAGES"])
@pytest.mark.parametrize("interlace", [False, True], ids=["plain", "adam7"])
def test_png_short_of_rows_is_refused_naming_the_file(tmp_path, monkeypatch, lenient, interlace):
    """The zlib stream ends cleanly but holds fewer rows than the header: not black rows."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", lenient)
    samples = np.random.default_rng(3).integers(1, 256, (16, 8, 3))
    row_bytes = 1 + 8 * 3
    path = tmp_path / "short.png"
    path.write_bytes(_png(samples, interlace=interlace, drop_bytes=2 * row_bytes))
    with Image.open(path) as im:
        im.load()  # plain Pillow: no error, the last rows black
        assert not np.asarray(im)[-1].any()
    with pytest.raises(ImageDecodeError, match="rows are missing") as info:
        ImageLoader(None).transform([str(path)])
    assert str(path) in str(info.value)
    complete = tmp_path / "complete.png"
    complete.write_bytes(_png(samples, interlace=interlace))
    np.testing.assert_array_equal(ImageLoader(None).transform([str(complete)])[0], samples)


@pytest.mark.parametrize("interlace", [False, True], ids=["plain", "adam7"])
def test_png_with_black_last_rows_still_loads(interlace):
    """Black bottom rows are pixels, not missing data: the row count says which."""
    samples = np.zeros((9, 5, 3), dtype=np.uint8)
    samples[:3] = 200
    got = ImageLoader(None).transform(_png(samples, interlace=interlace))[0]
    np.testing.assert_array_equal(got, samples)


# --------------------------------------------------------------------------- colour keys


@pytest.mark.parametrize("depth", [1, 2, 4, 8, 16])
@pytest.mark.parametrize("color_mode", ["rgb", "grayscale", "rgba"])
def test_grey_colour_key_at_every_bit_depth(depth, color_mode):
    top = (1 << depth) - 1
    samples = np.array([[[0], [top], [top // 2], [top]]] * 2)
    key = top  # the file's units: 1, 3, 15, 255, 65535
    data = _png(samples, depth=depth, color=0, trns=(key,))
    got = ImageLoader(None, color_mode=color_mode, background=(9, 99, 199)).transform(data)[0]
    transparent = samples[..., 0] == key
    grey_bg = Image.new("RGB", (1, 1), (9, 99, 199)).convert("L").getpixel((0, 0))
    if color_mode == "rgba":
        np.testing.assert_array_equal(got[..., 3], np.where(transparent, 0, 255))
    elif color_mode == "rgb":
        assert (got[transparent] == (9, 99, 199)).all()
        assert (got[~transparent] != (9, 99, 199)).any(axis=-1).all()
    else:
        assert (got[transparent][:, 0] == grey_bg).all()
        assert (got[~transparent][:, 0] != grey_bg).all()


def test_sixteen_bit_grey_key_is_exact():
    samples = np.array([[[1000], [1001], [65535]]])  # 1000 and 1001: the same 8-bit value
    data = _png(samples, depth=16, color=0, trns=(1000,))
    alpha = ImageLoader(None, color_mode="rgba").transform(data)[0, 0, :, 3]
    np.testing.assert_array_equal(alpha, [0, 255, 255])


@pytest.mark.parametrize("color_mode", ["rgb", "grayscale", "rgba"])
def test_rgb_colour_key_in_every_color_mode(color_mode):
    samples = np.array([[[0, 255, 52], [0, 255, 53], [10, 20, 30]]])
    data = _png(samples, trns=(0, 255, 52))
    got = ImageLoader(None, color_mode=color_mode, background=(255, 0, 255)).transform(data)[0]
    if color_mode == "rgba":
        np.testing.assert_array_equal(got[0, :, 3], [0, 255, 255])
    elif color_mode == "rgb":
        np.testing.assert_array_equal(got[0], [[255, 0, 255], [0, 255, 53], [10, 20, 30]])
    else:
        expected = Image.fromarray(np.array([[[255, 0, 255], [0, 255, 53], [10, 20, 30]]],
                                            dtype=np.uint8)).convert("L")
        np.testing.assert_array_equal(got[..., 0], np.asarray(expected))


def test_sixteen_bit_rgb_colour_key_is_refused_not_guessed():
    """Pillow keeps 8 of the 16 bits: the key cannot be matched exactly."""
    samples = np.array([[[1000, 2000, 3000], [1001, 2000, 3000]]])
    data = _png(samples, depth=16, color=2, trns=(1000, 2000, 3000))
    with pytest.raises(UnsupportedImageError, match="colour key"):
        ImageLoader(None).transform(data)
    no_key = ImageLoader(None).transform(_png(samples, depth=16, color=2))
    assert no_key.shape == (1, 1, 2, 3)


# --------------------------------------------------------------------------- bit depth


def test_float_images_by_data_range():
    arr = np.array([[-1.0, 0.0, 3.0]], dtype=np.float32)
    img = Image.fromarray(arr, "F")
    with pytest.raises(UnsupportedImageError, match="bit_depth_scaling"):
        ImageLoader(None).transform(img)
    got = ImageLoader(None, bit_depth_scaling="data", color_mode="grayscale").transform(img)
    np.testing.assert_array_equal(got[0, :, :, 0], [[0, 64, 255]])  # rint(1 * 255 / 4)


def test_bit_depth_scaling_is_validated():
    with pytest.raises(ValueError, match="bit_depth_scaling"):
        ImageLoader(bit_depth_scaling="auto").fit()


def _more_formats() -> dict[str, bytes]:
    """Small valid files of formats beyond the fuzz seeds, each with its own decoder."""
    rgb = Image.fromarray(pattern(32, 24))
    writers = {
        "ico_png": (rgb, "ICO", {"sizes": [(32, 24)], "bitmap_format": "png"}),
        "ico_bmp": (rgb, "ICO", {"sizes": [(32, 24)], "bitmap_format": "bmp"}),
        "bmp": (rgb, "BMP", {}),
        "tga_rle": (rgb, "TGA", {"compression": "tga_rle"}),
        "pcx": (rgb, "PCX", {}),
        "sgi": (rgb, "SGI", {}),
        "ppm": (rgb, "PPM", {}),
        "qoi": (rgb, "QOI", {}),
        "dds": (rgb.convert("RGBA"), "DDS", {}),
        "tiff_deflate": (rgb, "TIFF", {"compression": "tiff_deflate"}),
    }
    files = {}
    for name, (img, fmt, kwargs) in writers.items():
        try:
            files[name] = _encode(img, fmt, **kwargs)
        except (KeyError, OSError):  # no writer in the oldest Pillow (QOI, DDS: 11.x)
            continue
    if features.check("jpg_2000"):
        files["jpeg2000"] = _encode(rgb, "JPEG2000")
    return files


@pytest.mark.filterwarnings("ignore::UserWarning:PIL")
@pytest.mark.parametrize("name", sorted(_more_formats()))
def test_every_format_truncated_gives_the_same_outcome_under_the_flag(monkeypatch, name):
    """Every prefix: the same pixels or the same error, whatever LOAD_TRUNCATED_IMAGES says."""
    data = _more_formats()[name]
    _assert_prefixes_flag_invariant(monkeypatch, name, data, 12)
    assert isinstance(_outcome(data), np.ndarray)
