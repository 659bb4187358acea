"""Reading, identifying, checking and decoding one image item for :class:`ImageLoader`.

Everything here works on one item and either returns a ``uint8`` array or raises; the
estimator in :mod:`skprep.images` turns exceptions into the documented
``ImageLoadError`` subclasses. Pillow's process-wide switches
(``ImageFile.LOAD_TRUNCATED_IMAGES``, ``Image.MAX_IMAGE_PIXELS``) are never changed,
and results do not depend on them:

- the pixel count is checked against ``max_pixels`` from the header, by our own
  identification loop (Pillow's decompression-bomb check, warning included, is not
  involved, so any ``max_pixels`` works and no Pillow warning leaks);
- truncation and corruption are detected whatever the flag says
  (:mod:`skprep._integrity`): Pillow's tile loader runs with the flag read as False
  (decoder errors and early ends raise, for every format that uses it); PNG chunks must
  all have valid names, sizes and CRCs (Pillow skips the IDAT ones), end with IEND, and
  hold a complete zlib stream with every declared row; when another library has set
  ``LOAD_TRUNCATED_IMAGES=True`` (which makes Pillow pad missing data with grey instead
  of raising), JPEG markers are walked to the end-of-image marker; ICO / CUR entries must
  lie inside the file; the other formats with their own loader (ICNS, GBR, ...) are
  refused when their decoder runs out of bytes.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import ExifTags, Image, ImageFile, ImageOps, JpegImagePlugin, UnidentifiedImageError

from ._compat import pillow_openers
from ._constants import CHANNELS
from ._integrity import (
    PNG_SIGNATURE,
    check_ico,
    check_jpeg,
    check_png,
    check_png_rows,
    load_strict,
)
from .exceptions import (
    ImageDecodeError,
    ImageLoadError,
    ImageNotFoundError,
    ImageTooLargeError,
    UnsupportedImageError,
)

__all__ = ["INTERPOLATIONS", "DecodeOptions", "decode_item", "describe_item", "classify",
           "cause_text", "CHANNELS", "ensure_plugins"]

#: Pillow resampling filters by the names Keras uses.
INTERPOLATIONS: dict[str, int] = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}

_PIL_MODE = {"rgb": "RGB", "grayscale": "L", "rgba": "RGBA"}
_WIDE_INT = ("I;16", "I;16B", "I;16L", "I;16N", "I;16S", "I")
# EXIF orientations whose transform swaps width and height
_SWAPS_AXES = {5, 6, 7, 8}


@dataclass(frozen=True)
class DecodeOptions:
    """The per-call settings of one load, validated by the estimator."""

    target: tuple[int, int] | None
    resize_mode: str
    interpolation: str
    color_mode: str
    exif_transpose: bool
    background: tuple[int, int, int]
    fill_value: int
    max_pixels: int | None
    max_file_bytes: int | None
    frame: int
    reducing_gap: float | None
    bit_depth_scaling: str = "full"


# --------------------------------------------------------------------------- messages


def describe_item(item: Any) -> str:
    """A short, readable description of an item for messages (never a repr of a buffer)."""
    if isinstance(item, (str, os.PathLike)):
        path = os.fspath(item)
        return path if isinstance(path, str) else repr(path)
    if isinstance(item, (bytes, bytearray, memoryview)):
        return f"<bytes: {len(item)} bytes>"
    if isinstance(item, Image.Image):
        return f"<PIL.Image mode={item.mode} size={item.size[0]}x{item.size[1]}>"
    if hasattr(item, "read"):
        name = getattr(item, "name", None)
        return f"<file object {name}>" if isinstance(name, str) else f"<{type(item).__name__}>"
    return f"<{type(item).__name__}>"


_NOT_FOUND_ERRNO = {errno.ENOENT, errno.ELOOP, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG}


def classify(exc: BaseException) -> type[ImageLoadError]:
    """The skprep error class that describes ``exc``."""
    if isinstance(exc, ImageLoadError):
        return type(exc)
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError,
                        PermissionError)):
        return ImageNotFoundError
    if isinstance(exc, OSError) and exc.errno in _NOT_FOUND_ERRNO:
        return ImageNotFoundError
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning,
                        MemoryError)):
        return ImageTooLargeError
    if isinstance(exc, TypeError):
        return UnsupportedImageError
    return ImageDecodeError


def cause_text(exc: BaseException) -> str:
    """What went wrong, in words, with the underlying exception's type."""
    if isinstance(exc, ImageLoadError):
        return str(exc)
    if isinstance(exc, UnidentifiedImageError):
        return "not a recognized image format (corrupt file, or not an image)"
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return ("is a directory, not an image file; for the images in a folder (labelled "
                "by sub-folder, as Keras' image_dataset_from_directory does) use "
                "paths, labels, class_names = skprep.paths_from_directory(folder)")
    if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
        return "too many levels of symbolic links (a symlink loop)"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} ({type(exc).__name__})"
    if isinstance(exc, MemoryError):
        return "not enough memory to decode this image (MemoryError)"
    text = str(exc) or type(exc).__name__
    return f"{text} ({type(exc).__name__})"


# --------------------------------------------------------------------------- reading


def _read_bytes(item: Any, max_file_bytes: int | None) -> bytes:
    """The raw bytes of a path, buffer or binary file object, size-limited."""
    limit = -1 if max_file_bytes is None else max_file_bytes + 1
    if isinstance(item, (str, os.PathLike)):
        path = os.fspath(item)
        info = os.stat(path)  # follows symlinks: a loop raises ELOOP here
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory, not an image file", path)
        if not stat.S_ISREG(info.st_mode):
            raise ImageNotFoundError(
                "not a regular file (a device, FIFO or socket); pass image files only"
            )
        _check_file_bytes(info.st_size, max_file_bytes)
        with open(path, "rb") as fh:
            data = fh.read(limit)
    elif isinstance(item, (bytes, bytearray, memoryview)):
        data = bytes(item)
    elif hasattr(item, "read"):
        data = item.read(limit)
        if isinstance(data, str):
            raise UnsupportedImageError(
                "the file object is open in text mode; open it with mode 'rb'"
            )
    else:
        raise UnsupportedImageError(
            "expected a path, bytes, a binary file object or a PIL image; got "
            f"{type(item).__name__}"
        )
    _check_file_bytes(len(data), max_file_bytes)
    if not data:
        raise ImageDecodeError("the file is empty (0 bytes)")
    return data


def _check_file_bytes(n_bytes: int, max_file_bytes: int | None) -> None:
    if max_file_bytes is not None and n_bytes > max_file_bytes:
        raise ImageTooLargeError(
            f"the file has more than max_file_bytes={max_file_bytes:,} bytes"
            + (f" ({n_bytes:,})" if n_bytes != max_file_bytes + 1 else "")
            + "; raise max_file_bytes if you trust this file"
        )


class _TrackedBytes(io.BytesIO):
    """A BytesIO that counts reads that found no data left (a decoder starving)."""

    empty_reads = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if not data and size != 0:
            self.empty_reads += 1
        return data


_plugins_ready = False


def ensure_plugins() -> None:
    """Register every Pillow format plugin once (call before starting threads)."""
    global _plugins_ready
    if not _plugins_ready:
        Image.init()
        _plugins_ready = True


def _identify(fp: _TrackedBytes) -> ImageFile.ImageFile:
    """Open the header like ``Image.open``, without its decompression-bomb check.

    Pillow's own check warns (or raises) against the global ``MAX_IMAGE_PIXELS``;
    ``ImageLoader`` checks its own ``max_pixels`` right after this instead.
    """
    ensure_plugins()
    prefix = fp.getvalue()[:16]
    broken: list[tuple[str, Exception]] = []
    for fmt, factory, accept in pillow_openers():
        verdict = accept(prefix) if accept else True
        if not verdict or isinstance(verdict, str):
            continue
        fp.seek(0)
        try:
            return factory(fp, "")
        except (SyntaxError, IndexError, TypeError, struct.error) as exc:
            if accept:  # its signature matched: a damaged file of that format
                broken.append((fmt, exc))
    if broken:  # recognised by its signature, but its header is corrupt
        fmt, exc = broken[0]
        raise ImageDecodeError(f"corrupt {fmt} file: {exc or type(exc).__name__}") from exc
    raise UnidentifiedImageError("cannot identify image file")


# --------------------------------------------------------------------------- checks


def _check_pixels(img: Image.Image, max_pixels: int | None) -> None:
    width, height = img.size
    if width <= 0 or height <= 0:
        raise ImageDecodeError(f"the header declares an empty image ({width}x{height})")
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLargeError(
            f"the header declares {width}x{height} = {width * height:,} pixels, more than "
            f"max_pixels={max_pixels:,} (refused before decoding); raise max_pixels if "
            "you trust this file"
        )


# --------------------------------------------------------------------------- pixels


_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
#: modes whose ``info["transparency"]`` is one colour key (Pillow: PNG tRNS, GIF)
_KEYED_MODES = ("1", "L", "RGB", *_WIDE_INT, "F")


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in _ALPHA_MODES or img.info.get("transparency") is not None


def _key_alpha(img: Image.Image) -> Image.Image | None:
    """The alpha channel (``'L'``) a colour key makes: 0 where a pixel equals the key.

    Compared on the image's own values, before any bit-depth reduction, so a 16-bit
    key matches only its exact 16-bit value.
    """
    key = img.info.get("transparency")
    if key is None or img.mode not in _KEYED_MODES:
        return None
    arr = np.asarray(img.convert("L") if img.mode == "1" else img)
    if img.mode == "RGB":
        if not (isinstance(key, tuple) and len(key) == 3):
            return None
        opaque = (arr != np.asarray(key, dtype=np.int64)).any(axis=-1)
    elif isinstance(key, (int, float)):
        opaque = arr != key
    else:
        return None
    return Image.fromarray(opaque.astype(np.uint8) * 255, "L")


def _png_key_in_pixel_units(img: Image.Image, data: bytes) -> None:
    """Put a PNG colour key in the units of the pixels Pillow returns (``img`` is ours).

    Pillow keeps the tRNS key in the file's units: a 2- or 4-bit grey key (0-3, 0-15)
    would never match the 0-255 pixels, and a 16-bit RGB key cannot be matched at all,
    as Pillow keeps only the high byte of each sample: that file is refused.
    """
    key = img.info.get("transparency")
    if img.mode == "1" and isinstance(key, int) and key:
        # a 1-bit key of 1 is the white pixel, 255 in mode "1" (Pillow < 12.1 kept the
        # file's 1, which matched nothing; python-pillow/Pillow#9282)
        img.info["transparency"] = 255
    if key is None or img.mode not in ("L", "RGB") or len(data) < 26:
        return
    depth, color = data[24], data[25]  # IHDR's bit depth and colour type
    if color == 0 and depth in (2, 4) and isinstance(key, int):
        img.info["transparency"] = key * 255 // ((1 << depth) - 1)
    elif color == 2 and depth == 16:
        raise UnsupportedImageError(
            "16-bit RGB PNG with a colour key (tRNS): Pillow reduces it to 8 bits per "
            "sample before the key can be matched exactly; save it with an alpha channel "
            "or as 8-bit"
        )


def _data_range(arr: np.ndarray) -> tuple[float, float]:
    finite = arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr
    if not finite.size:
        return 0.0, 0.0
    return float(finite.min()), float(finite.max())


def _to_eight_bit(img: Image.Image, scaling: str = "full") -> Image.Image:
    """16-bit and 32-bit integer / float images -> 8-bit 'L'.

    ``scaling="full"``: integers by their container's full range (x * 255 / 65535), not
    clipped; floats in [0, 1] times 255, in [0, 255] rounded, others refused.
    ``scaling="data"``: the image's own [min, max] onto [0, 255] (a constant image is 0).
    """
    arr = np.asarray(img)
    low, high = _data_range(arr) if scaling == "data" or img.mode == "F" else (0.0, 0.0)
    if scaling == "data":
        span = high - low
        scaled = (arr.astype(np.float64) - low) * (255.0 / span) if span > 0 else arr * 0.0
        scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
        return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L")
    if img.mode == "F":
        if low >= 0.0 and high <= 1.0:
            arr = arr * 255.0
        elif low < 0.0 or high > 255.0:
            raise UnsupportedImageError(
                f"float image with values in [{low:g}, {high:g}]: only [0, 1] or [0, 255] "
                "can be mapped to 8-bit pixels without guessing; pass "
                "bit_depth_scaling='data' to map the image's own range, or load it with "
                "Pillow and scale it yourself"
            )
        arr = np.nan_to_num(arr, nan=0.0)
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "L")
    wide = np.clip(arr.astype(np.int64), 0, 65535)
    return Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8), "L")


def _convert(img: Image.Image, color_mode: str, background: tuple[int, int, int],
             scaling: str = "full") -> Image.Image:
    """Convert to the requested mode; every transparency is composited onto ``background``.

    Alpha channels, palette transparency and colour keys (at any bit depth) all become
    alpha first; ``color_mode="rgba"`` keeps it, "rgb" and "grayscale" composite it.
    """
    target = _PIL_MODE[color_mode]
    alpha = _key_alpha(img)
    if img.mode in _WIDE_INT or img.mode == "F":
        img = _to_eight_bit(img, scaling)
    if alpha is not None:
        img = img.convert("L" if img.mode in ("1", "L") else "RGB")
        img.info.pop("transparency", None)
        img = img.convert("RGBA")
        img.putalpha(alpha)
    if img.mode == target and (color_mode == "rgba" or not _has_alpha(img)):
        return img
    try:
        if color_mode != "rgba" and _has_alpha(img):
            rgba = img.convert("RGBA")
            canvas = Image.new("RGBA", rgba.size, (*background, 255))
            img = Image.alpha_composite(canvas, rgba)
        return img.convert(target)
    except ValueError as exc:
        raise UnsupportedImageError(
            f"images of Pillow mode {img.mode!r} cannot be converted to {target!r} "
            f"(color_mode={color_mode!r})"
        ) from exc


def _crop_box(size: tuple[int, int], target_wh: tuple[int, int]) -> tuple[int, int, int, int]:
    """Centre crop to the target aspect ratio (Keras' ``keep_aspect_ratio=True`` box)."""
    width, height = size
    target_width, target_height = target_wh
    crop_height = min(height, (width * target_height) // target_width)
    crop_width = min(width, (height * target_width) // target_height)
    top = (height - crop_height) // 2
    left = (width - crop_width) // 2
    return (left, top, left + crop_width, top + crop_height)


def _shrink_factor(size: tuple[int, int], target_wh: tuple[int, int], resize_mode: str) -> float:
    """By how much the resize shrinks the image (the smaller of the two axes' factors)."""
    width, height = size
    if resize_mode == "crop":
        left, top, right, bottom = _crop_box(size, target_wh)
        width, height = right - left, bottom - top
    if resize_mode == "pad":
        return max(width / target_wh[0], height / target_wh[1])
    return min(width / target_wh[0], height / target_wh[1])


def _resize(img: Image.Image, opts: DecodeOptions, scale: int = 1,
            full: tuple[int, int] | None = None) -> Image.Image:
    """Resize per ``resize_mode``; ``scale`` > 1 when JPEG draft already shrank the image.

    Boxes are computed on the full-size image and divided by ``scale`` (as floats), so a
    drafted image is resampled from the same region as the full decode would be.
    """
    if opts.target is None:
        return img
    target_wh = (opts.target[1], opts.target[0])
    if img.size == target_wh and scale == 1:
        return img
    resample = INTERPOLATIONS[opts.interpolation]
    gap = opts.reducing_gap
    if gap is not None and opts.interpolation != "nearest":
        # Pillow's integer box reduction before the filter: it saves little once the
        # image is decoded, so never closer than 2x (Pillow's thumbnail default), where
        # it would cost sharpness (measured: benchmarks/README.md, "reducing_gap")
        gap = max(2.0, gap)
    else:
        gap = None
    full = img.size if full is None or scale == 1 else full
    if opts.resize_mode == "crop":
        box = tuple(v / scale for v in _crop_box(full, target_wh))
        return img.resize(target_wh, resample, box=box, reducing_gap=gap)
    box = (0.0, 0.0, full[0] / scale, full[1] / scale)
    if opts.resize_mode == "stretch":
        if scale == 1:
            return img.resize(target_wh, resample, reducing_gap=gap)
        return img.resize(target_wh, resample, box=box, reducing_gap=gap)
    # pad: fit inside, letterbox onto fill_value
    width, height = full
    ratio = min(target_wh[0] / width, target_wh[1] / height)
    inner = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    if inner == img.size and scale == 1:
        inner_img = img
    else:
        inner_img = img.resize(inner, resample, box=box, reducing_gap=gap)
    canvas = Image.new(img.mode, target_wh, (opts.fill_value,) * len(img.getbands()))
    canvas.paste(inner_img, ((target_wh[0] - inner[0]) // 2, (target_wh[1] - inner[1]) // 2))
    return canvas


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # noqa: BLE001 - unreadable EXIF means "no orientation"
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _maybe_draft(img: ImageFile.ImageFile, opts: DecodeOptions) -> tuple[int, tuple[int, int]]:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the resize shrinks enough.

    The decoded size stays at least ``reducing_gap`` times the resize's output, so the
    final antialiased resize still does the last step. Never for ``nearest`` (the
    exact Keras setting) nor with ``reducing_gap=None``. The orientation is read from
    the EXIF header first, so the factor is right for rotated photos too.

    Returns the scale (1 when not drafted) and the full-size image's size as it will
    be shown (after the EXIF transpose).
    """
    stored = img.size
    if (opts.target is None or opts.reducing_gap is None or opts.interpolation == "nearest"
            or not isinstance(img, JpegImagePlugin.JpegImageFile)):  # JPEG and MPO
        return 1, stored
    target_wh = (opts.target[1], opts.target[0])
    shown = stored
    if opts.exif_transpose and _orientation(img) in _SWAPS_AXES:
        shown = (stored[1], stored[0])
    factor = _shrink_factor(shown, target_wh, opts.resize_mode) / opts.reducing_gap
    scale = next((s for s in (8, 4, 2) if s <= factor), 1)
    if scale > 1 and img.draft(img.mode, (max(1, stored[0] // scale),
                                          max(1, stored[1] // scale))) is not None:
        return img.decoderconfig[0], shown
    return 1, shown


def _select_frame(img: Image.Image, frame: int) -> None:
    if frame == 0:
        return
    n_frames = getattr(img, "n_frames", 1)
    index = frame if frame >= 0 else n_frames + frame
    if not 0 <= index < n_frames:
        raise ImageDecodeError(
            f"frames={frame} asks for a frame this image does not have: it has "
            f"{n_frames} frame(s); use an index in [{-n_frames}, {n_frames - 1}]"
        )
    img.seek(index)


def decode_item(item: Any, opts: DecodeOptions) -> np.ndarray:
    """Load one item as a ``uint8`` array ``(H, W, C)``, or raise."""
    scale, full = 1, None
    if isinstance(item, Image.Image):  # the caller's object: used as given, never mutated
        _check_pixels(item, opts.max_pixels)
        img = item
    else:
        data = _read_bytes(item, opts.max_file_bytes)
        fp = _TrackedBytes(data)
        img = _identify(fp)
        _check_pixels(img, opts.max_pixels)
        _select_frame(img, opts.frame)
        _check_pixels(img, opts.max_pixels)
        lenient = ImageFile.LOAD_TRUNCATED_IMAGES  # read, never written
        if lenient and img.format in ("JPEG", "MPO"):
            check_jpeg(data)
        elif img.format == "PNG" and data.startswith(PNG_SIGNATURE):
            check_png(data)
        elif img.format in ("ICO", "CUR"):
            check_ico(data)
        scale, full = _maybe_draft(img, opts)
        fp.empty_reads = 0
        if not load_strict(img) and lenient and fp.empty_reads:
            raise ImageDecodeError(
                f"truncated {img.format} file: the decoder ran out of data"
            )
        if img.format == "PNG" and data.startswith(PNG_SIGNATURE):
            check_png_rows(data, img)
            _png_key_in_pixel_units(img, data)
    if opts.exif_transpose and _orientation(img) != 1:
        img = ImageOps.exif_transpose(img)
    img = _convert(img, opts.color_mode, opts.background, opts.bit_depth_scaling)
    img = _resize(img, opts, scale, full)
    arr = np.asarray(img, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return arr
