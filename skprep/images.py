"""ImageLoader: image paths, bytes, file objects or PIL images -> one batch array.

Pillow does the decoding and resizing; a thread pool runs items in parallel (Pillow
releases the GIL while it decodes and resizes). Every failure is reported with the
item's index and a readable description of it, never as a bare Pillow traceback.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Integral, Interval, StrOptions

from .exceptions import (
    ImageDecodeError,
    ImageFailure,
    ImageLoadError,
    ImageLoadWarning,
    ImageNotFoundError,
    ImageTooLargeError,
    InputShapeError,
    UnsupportedImageError,
)

__all__ = ["ImageLoader", "load_images"]

#: Pillow resampling filters by the names Keras uses.
INTERPOLATIONS: dict[str, int] = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}

_CHANNELS = {"rgb": 3, "grayscale": 1, "rgba": 4}
_PIL_MODE = {"rgb": "RGB", "grayscale": "L", "rgba": "RGBA"}
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")


# --------------------------------------------------------------------------- items


def _is_single_item(X: Any) -> bool:
    return isinstance(X, (str, bytes, bytearray, memoryview, os.PathLike, Image.Image)) or (
        hasattr(X, "read") and not isinstance(X, (list, tuple))
    )


def _as_items(X: Any) -> list[Any]:
    """Flatten the accepted containers into a list of items, in order."""
    if _is_single_item(X):
        return [X]
    if hasattr(X, "iloc") and getattr(X, "ndim", 1) == 2:  # pandas DataFrame
        if X.shape[1] != 1:
            raise UnsupportedImageError(
                "ImageLoader takes a one-column DataFrame of images; received one with "
                f"{X.shape[1]} columns {list(X.columns)}. Select the column: df[['path']]."
            )
        return list(X.iloc[:, 0])
    if hasattr(X, "iloc"):  # pandas Series
        return list(X)
    if isinstance(X, np.ndarray):
        if X.dtype.kind in "biufc":
            raise UnsupportedImageError(
                "ImageLoader takes image paths, bytes, file objects or PIL images; received "
                f"a numeric array of shape {X.shape}, which is already pixels. Skip the loader "
                "and pass the array to the next step."
            )
        if X.ndim == 2 and X.shape[1] == 1:
            X = X[:, 0]
        if X.ndim != 1:
            raise UnsupportedImageError(
                f"ImageLoader takes a 1-D array of items; received shape {X.shape}."
            )
        return list(X)
    try:
        return list(X)
    except TypeError:
        raise UnsupportedImageError(
            "ImageLoader takes a path, bytes, a binary file object, a PIL image, or a "
            f"list / array / Series of them; received {type(X).__name__}."
        ) from None


def describe_item(item: Any) -> str:
    """A short, readable description of an item for messages (never a repr of a buffer)."""
    if isinstance(item, (str, os.PathLike)):
        return os.fspath(item) if not isinstance(os.fspath(item), bytes) else repr(item)
    if isinstance(item, (bytes, bytearray, memoryview)):
        return f"<bytes: {len(item)} bytes>"
    if isinstance(item, Image.Image):
        return f"<PIL.Image mode={item.mode} size={item.size[0]}x{item.size[1]}>"
    if hasattr(item, "read"):
        name = getattr(item, "name", None)
        return f"<file object {name}>" if isinstance(name, str) else f"<{type(item).__name__}>"
    return f"<{type(item).__name__}>"


# --------------------------------------------------------------------------- decoding


def _open(item: Any) -> Image.Image:
    """Open (header only) an item as a PIL image."""
    if isinstance(item, Image.Image):
        return item
    if isinstance(item, (str, os.PathLike)):
        path = os.fspath(item)
        if os.path.isdir(path):
            raise IsADirectoryError(f"{path!r} is a directory, not an image file")
        with open(path, "rb") as fh:
            data = fh.read()
        return Image.open(io.BytesIO(data))
    if isinstance(item, (bytes, bytearray, memoryview)):
        return Image.open(io.BytesIO(bytes(item)))
    if hasattr(item, "read"):
        return Image.open(item)
    raise TypeError(
        f"expected a path, bytes, a binary file object or a PIL image; got {type(item).__name__}"
    )


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info


def _to_eight_bit(img: Image.Image) -> Image.Image:
    """16-bit and 32-bit integer / float images -> 8-bit 'L', scaled, not clipped."""
    arr = np.asarray(img)
    if img.mode == "F":
        finite = arr[np.isfinite(arr)]
        low = float(finite.min()) if finite.size else 0.0
        high = float(finite.max()) if finite.size else 0.0
        if low >= 0.0 and high <= 1.0:
            arr = arr * 255.0
        elif low < 0.0 or high > 255.0:
            raise ValueError(
                f"float image with values in [{low:g}, {high:g}]: only [0, 1] or [0, 255] "
                "can be mapped to 8-bit pixels without guessing"
            )
        arr = np.nan_to_num(arr, nan=0.0)
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "L")
    wide = np.clip(arr.astype(np.int64), 0, 65535)
    return Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8), "L")


def _convert(img: Image.Image, color_mode: str, background: tuple[int, int, int]) -> Image.Image:
    """Convert to the requested mode; alpha is composited onto ``background``."""
    target = _PIL_MODE[color_mode]
    if img.mode in _SIXTEEN_BIT or img.mode == "F":
        img = _to_eight_bit(img)
    if img.mode == target:
        return img
    if color_mode != "rgba" and _has_alpha(img):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        img = Image.alpha_composite(canvas, rgba)
    return img.convert(target)


def _crop_box(size: tuple[int, int], target_wh: tuple[int, int]) -> tuple[int, int, int, int]:
    """Centre crop to the target aspect ratio (Keras' ``keep_aspect_ratio=True`` box)."""
    width, height = size
    target_width, target_height = target_wh
    crop_height = min(height, (width * target_height) // target_width)
    crop_width = min(width, (height * target_width) // target_height)
    top = (height - crop_height) // 2
    left = (width - crop_width) // 2
    return (left, top, left + crop_width, top + crop_height)


def _resize(img: Image.Image, target_hw: tuple[int, int] | None, resize_mode: str,
            resample: int, fill_value: int) -> Image.Image:
    if target_hw is None:
        return img
    target_wh = (target_hw[1], target_hw[0])
    if img.size == target_wh:
        return img
    if resize_mode == "stretch":
        return img.resize(target_wh, resample)
    if resize_mode == "crop":
        return img.resize(target_wh, resample, box=_crop_box(img.size, target_wh))
    # pad: fit inside, letterbox onto fill_value
    width, height = img.size
    ratio = min(target_wh[0] / width, target_wh[1] / height)
    inner = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    inner_img = img.resize(inner, resample) if inner != img.size else img
    canvas = Image.new(img.mode, target_wh, (fill_value,) * len(img.getbands()))
    canvas.paste(inner_img, ((target_wh[0] - inner[0]) // 2, (target_wh[1] - inner[1]) // 2))
    return canvas


def _classify(exc: BaseException) -> type[ImageLoadError]:
    if isinstance(exc, ImageLoadError):
        return type(exc)
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError)):
        return ImageNotFoundError
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return ImageTooLargeError
    if isinstance(exc, TypeError):
        return UnsupportedImageError
    return ImageDecodeError


def _cause_text(exc: BaseException) -> str:
    if isinstance(exc, UnidentifiedImageError):
        return "not a recognized image format (corrupt file, or not an image)"
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not an image file"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} ({type(exc).__name__})"
    text = str(exc) or type(exc).__name__
    return f"{text} ({type(exc).__name__})"


# --------------------------------------------------------------------------- estimator


class ImageLoader(TransformerMixin, BaseEstimator):
    """Load images into one batch array ``(N, H, W, C)``, resized, in input order.

    Takes paths (``str`` / ``PathLike``), ``bytes``, binary file objects or PIL images,
    as a single item or a list / tuple / 1-D array / pandas Series / one-column
    DataFrame of them. A single item gives a batch of one.

    Defaults avoid the traps of ``keras.utils.load_img``: resizing is antialiased
    bilinear (not nearest-neighbour), EXIF orientation is applied (photos come out
    upright), and transparent pixels are composited onto ``background`` (white) instead
    of turning black. 16-bit images are scaled to 8 bits, not clipped.

    For output bit-identical to ``keras.utils.load_img(path, target_size=...,
    interpolation="nearest")`` + ``img_to_array``, use ``interpolation="nearest",
    exif_transpose=False, dtype="float32"`` (and ``resize_mode="crop"`` for Keras'
    ``keep_aspect_ratio=True``).

    Parameters
    ----------
    target_size : tuple of (int, int) or None, default=(224, 224)
        Output ``(height, width)``. None keeps each image's size; all images must then
        have the same size.
    interpolation : {"nearest", "bilinear", "bicubic", "lanczos", "box", "hamming"}, \
default="bilinear"
        Pillow resampling filter (antialiased when shrinking, except "nearest").
    resize_mode : {"stretch", "crop", "pad"}, default="stretch"
        "stretch" resizes to the target ignoring aspect ratio; "crop" centre-crops to
        the target aspect ratio first (Keras' ``keep_aspect_ratio=True``); "pad" fits the
        whole image inside and letterboxes it onto ``fill_value``.
    color_mode : {"rgb", "grayscale", "rgba"}, default="rgb"
        Output channels: 3, 1 or 4.
    exif_transpose : bool, default=True
        Rotate / flip according to the EXIF orientation tag.
    background : tuple of 3 int, default=(255, 255, 255)
        Colour that transparent pixels are composited onto (rgb and grayscale output).
    dtype : {"uint8", "float32"}, default="uint8"
        Output dtype; values are 0-255 either way.
    n_jobs : int or None, default=None
        Threads decoding in parallel: None means 1, -1 means all cores.
    on_error : {"raise", "fill"}, default="raise"
        "raise": every failing item is reported in one :class:`ImageLoadError`.
        "fill": failed rows are set to ``fill_value`` and an
        :class:`~skprep.exceptions.ImageLoadWarning` carrying the failures is issued.
    fill_value : int, default=0
        Value of failed rows (``on_error="fill"``) and of the letterbox border.
    max_pixels : int or None, default=89_478_485
        Refuse (``ImageTooLargeError``) images that declare more pixels than this in
        their header, before decoding them. None disables the check.

    Attributes
    ----------
    n_channels_ : int
        Channels of the output (set by ``fit``; ``transform`` works without ``fit``).

    Examples
    --------
    >>> from PIL import Image
    >>> from skprep import ImageLoader
    >>> img = Image.new("RGB", (64, 48), (255, 0, 0))
    >>> batch = ImageLoader(target_size=(32, 32)).transform([img, img])
    >>> batch.shape, batch.dtype, batch[0, 0, 0]
    ((2, 32, 32, 3), dtype('uint8'), array([255,   0,   0], dtype=uint8))
    """

    _parameter_constraints: dict = {
        "target_size": [tuple, list, None],
        "interpolation": [StrOptions(set(INTERPOLATIONS))],
        "resize_mode": [StrOptions({"stretch", "crop", "pad"})],
        "color_mode": [StrOptions(set(_CHANNELS))],
        "exif_transpose": ["boolean"],
        "background": [tuple, list],
        "dtype": [StrOptions({"uint8", "float32"})],
        "n_jobs": [Integral, None],
        "on_error": [StrOptions({"raise", "fill"})],
        "fill_value": [Interval(Integral, 0, 255, closed="both")],
        "max_pixels": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        target_size: tuple[int, int] | None = (224, 224),
        *,
        interpolation: str = "bilinear",
        resize_mode: str = "stretch",
        color_mode: str = "rgb",
        exif_transpose: bool = True,
        background: tuple[int, int, int] = (255, 255, 255),
        dtype: str = "uint8",
        n_jobs: int | None = None,
        on_error: str = "raise",
        fill_value: int = 0,
        max_pixels: int | None = 89_478_485,
    ) -> None:
        self.target_size = target_size
        self.interpolation = interpolation
        self.resize_mode = resize_mode
        self.color_mode = color_mode
        self.exif_transpose = exif_transpose
        self.background = background
        self.dtype = dtype
        self.n_jobs = n_jobs
        self.on_error = on_error
        self.fill_value = fill_value
        self.max_pixels = max_pixels

    # ------------------------------------------------------------------ checks

    def _check_params(self) -> tuple[tuple[int, int] | None, tuple[int, int, int]]:
        self._validate_params()
        target = self.target_size
        if target is not None:
            if (
                len(target) != 2
                or not all(isinstance(v, (int, np.integer)) and v > 0 for v in target)
            ):
                raise ValueError(
                    "target_size must be None or (height, width) with two positive ints. "
                    f"Received: target_size={target!r}."
                )
            target = (int(target[0]), int(target[1]))
        background = self.background
        if len(background) != 3 or not all(
            isinstance(v, (int, np.integer)) and 0 <= v <= 255 for v in background
        ):
            raise ValueError(
                "background must be an RGB tuple of three ints in 0-255. "
                f"Received: background={background!r}."
            )
        return target, tuple(int(v) for v in background)

    def _n_threads(self, n_items: int) -> int:
        n_jobs = self.n_jobs
        if n_jobs is None or n_jobs == 0:
            n_jobs = 1
        elif n_jobs < 0:
            n_jobs = max(1, (os.cpu_count() or 1) + 1 + n_jobs)
        return max(1, min(n_jobs, n_items))

    # ------------------------------------------------------------------ loading

    def _load_one(self, item: Any, target: tuple[int, int] | None,
                  background: tuple[int, int, int]) -> np.ndarray:
        img = _open(item)
        if self.max_pixels is not None and img.size[0] * img.size[1] > self.max_pixels:
            raise ImageTooLargeError(
                f"the image declares {img.size[0]}x{img.size[1]} = "
                f"{img.size[0] * img.size[1]:,} pixels, more than max_pixels="
                f"{self.max_pixels:,}; raise max_pixels if you trust this file"
            )
        if self.exif_transpose:
            img = ImageOps.exif_transpose(img)
        img = _convert(img, self.color_mode, background)
        img = _resize(img, target, self.resize_mode, INTERPOLATIONS[self.interpolation],
                      self.fill_value)
        arr = np.asarray(img, dtype=np.uint8)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        return arr

    def _load(self, X: Any) -> tuple[np.ndarray, list[ImageFailure]]:
        """Load every item; return the batch and the failures (rows filled)."""
        target, background = self._check_params()
        items = _as_items(X)
        n_channels = _CHANNELS[self.color_mode]
        results: list[np.ndarray | None] = [None] * len(items)
        failures: list[tuple[int, BaseException]] = []

        def work(index: int) -> None:
            try:
                results[index] = self._load_one(items[index], target, background)
            except Exception as exc:  # noqa: BLE001 - every failure is reported below
                failures.append((index, exc))

        n_threads = self._n_threads(len(items))
        if n_threads == 1:
            for index in range(len(items)):
                work(index)
        else:
            with ThreadPoolExecutor(max_workers=n_threads) as pool:
                list(pool.map(work, range(len(items))))

        failures.sort(key=lambda pair: pair[0])
        reports = [
            ImageFailure(index, describe_item(items[index]), _classify(exc).__name__,
                         _cause_text(exc))
            for index, exc in failures
        ]
        if failures and self.on_error == "raise":
            if len(failures) == 1:
                index, exc = failures[0]
                raise _classify(exc)(
                    reports[0].message, index=index, source=reports[0].source
                ) from exc
            raise ImageLoadError(failures=reports) from failures[0][1]

        shape = self._batch_shape(results, target, n_channels)
        out_dtype = np.uint8 if self.dtype == "uint8" else np.float32
        batch = np.empty((len(items), *shape), dtype=out_dtype)
        for index, arr in enumerate(results):
            if arr is None:
                batch[index] = self.fill_value
            else:
                batch[index] = arr
        return batch, reports

    def _batch_shape(self, results, target, n_channels) -> tuple[int, int, int]:
        if target is not None:
            return (*target, n_channels)
        sizes = {arr.shape for arr in results if arr is not None}
        if len(sizes) > 1:
            listed = ", ".join(f"{s[1]}x{s[0]}" for s in sorted(sizes)[:5])
            raise InputShapeError(
                f"With target_size=None all images must have the same size; received sizes "
                f"{listed}. Set target_size=(height, width) to resize them."
            )
        if not sizes:
            raise InputShapeError(
                "With target_size=None the output size comes from the images, but no image "
                "loaded. Set target_size to get filled rows of a known size."
            )
        return sizes.pop()

    # ------------------------------------------------------------------ sklearn API

    def fit(self, X=None, y=None):
        """Validate the parameters. Nothing is learned; returns self.

        Parameters
        ----------
        X : ignored
        y : ignored

        Returns
        -------
        self : ImageLoader
        """
        self._check_params()
        self.n_channels_ = _CHANNELS[self.color_mode]
        return self

    def transform(self, X):
        """Load the items of X into one batch.

        Parameters
        ----------
        X : path, bytes, file object, PIL image, or a sequence / array / Series /
            one-column DataFrame of them

        Returns
        -------
        ndarray of shape (N, height, width, channels)
            ``uint8`` or ``float32`` (``dtype``), values 0-255, in input order.

        Raises
        ------
        ImageLoadError
            With ``on_error="raise"``, when any item fails (all failures are listed).
        """
        batch, failures = self._load(X)
        if failures:
            indices = [f.index for f in failures]
            warnings.warn(
                ImageLoadWarning(
                    f"{len(failures)} of {batch.shape[0]} image(s) failed and were filled "
                    f"with {self.fill_value}: rows {indices}. First failure: {failures[0]}. "
                    "The warning's .failures attribute lists them all.",
                    failures,
                ),
                stacklevel=2,
            )
        return batch

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        return tags


def load_images(X: Any | Sequence[Any], **params: Any) -> np.ndarray:
    """Load images with :class:`ImageLoader` in one call.

    Parameters
    ----------
    X : path, bytes, file object, PIL image, or a sequence of them
    **params
        Any :class:`ImageLoader` parameter.

    Returns
    -------
    ndarray of shape (N, height, width, channels)

    Examples
    --------
    >>> from PIL import Image
    >>> load_images(Image.new("L", (5, 5), 128), target_size=None).shape
    (1, 5, 5, 3)
    """
    return ImageLoader(**params).transform(X)
