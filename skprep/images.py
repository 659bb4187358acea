"""ImageLoader: image paths, bytes, file objects or PIL images -> one batch array.

Pillow does the decoding and resizing; a thread pool runs items in parallel (Pillow
releases the GIL while it decodes and resizes). Every failure is reported with the
item's index and a readable description of it, never as a bare Pillow traceback.
Reading, limits and decoding live in :mod:`skprep._decode`, the failure report in
:mod:`skprep._load_report`; the input contract is the table in :class:`ImageLoader`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from numbers import Real
from typing import Any

import numpy as np
from PIL import Image

from ._compat import Integral, Interval, SkprepTransformer, StrOptions
from ._decode import (
    CHANNELS,
    INTERPOLATIONS,
    DecodeOptions,
    cause_text,
    classify,
    decode_item,
    describe_item,
    ensure_plugins,
)
from ._load_report import ImageLoadReport
from ._progress import progress
from ._validation import IntTuple
from .exceptions import (
    ImageFailure,
    ImageLoadError,
    ImageLoadWarning,
    InputShapeError,
    UnsupportedImageError,
)

__all__ = ["ImageLoader", "ImageLoadReport", "load_images", "INTERPOLATIONS"]

#: ImageLoader's default ``max_pixels``: Pillow's decompression-bomb limit, read once
#: when this module is imported (before anything in the process could change it through
#: skprep), so a later ``Image.MAX_IMAGE_PIXELS = None`` does not disable skprep's check
_PILLOW_MAX_PIXELS: int | None = Image.MAX_IMAGE_PIXELS

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


# --------------------------------------------------------------------------- estimator


class ImageLoader(SkprepTransformer):
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
    ``keep_aspect_ratio=True``). With Keras' other interpolations, also pass
    ``reducing_gap=None`` (full decode and one Pillow resize, as Keras does).

    **Input contract.** Each item either loads as described or raises the listed
    :class:`~skprep.exceptions.ImageLoadError` subclass, whose message names the item's
    index and path and whose ``__cause__`` is the underlying exception. With
    ``on_error="fill"`` the row is filled instead and the failure is reported.

    ========================================  ==========================================
    Input                                     Result
    ========================================  ==========================================
    RGB JPEG / PNG / WebP / BMP / TIFF        loaded; JPEG may be DCT-downscaled first
                                              (see ``reducing_gap``)
    grayscale, palette, 1-bit, CMYK           converted to ``color_mode``
    RGBA, LA, palette with transparency,      alpha composited onto ``background``
    colour key (tRNS: RGB, grey at 1-16       in every ``color_mode``
    bits, GIF)                                (``color_mode="rgba"`` keeps it)
    16-bit RGB PNG with a colour key          ``UnsupportedImageError`` (Pillow
                                              keeps 8 bits: no exact key match)
    16-bit gray PNG / TIFF, FITS, 16/32-bit   ``bit_depth_scaling="full"``: scaled
    int TIFF / PGM                            to 8 bits (x * 255 / 65535), so 12-bit
                                              data looks dark; ``"data"``: the
                                              image's [min, max] onto [0, 255]
    16-bit RGB PNG / TIFF                     Pillow's 8-bit reduction (high byte)
    float TIFF in [0, 1] or [0, 255]          scaled / rounded to 8 bits; other
                                              ranges: ``UnsupportedImageError``
                                              (``"data"``: min-max, as above)
    EXIF orientation 2-8                      upright (``exif_transpose=True``)
    animated GIF, multi-page TIFF, APNG       frame ``frames`` (default: the first);
                                              missing frame: ``ImageDecodeError``
    1x1, 10000x10, any aspect ratio           resized per ``resize_mode``
    PNG content named ``.jpg``                loaded (format sniffed, not the name)
    Unicode / spaces in the path              loaded
    missing path, directory, symlink loop,    ``ImageNotFoundError``
    device / FIFO, unreadable file
    zero-byte file, random bytes,             ``ImageDecodeError``
    truncated or corrupt file of any format,
    PNG with a bad CRC or missing rows,
    decoder errors (SGI / FLI / J2K crashes)
    header over ``max_pixels`` (bombs,        ``ImageTooLargeError``, from the header,
    header-only files), file over             before any decoding
    ``max_file_bytes``
    text-mode file object, unknown item       ``UnsupportedImageError``
    type, mode with no RGB conversion
    ========================================  ==========================================

    Pillow's global switches are never changed and do not change results: truncation and
    decoder errors are detected, in every format, even when another library set
    ``ImageFile.LOAD_TRUNCATED_IMAGES = True`` (which would otherwise give a half-grey
    image, or load a corrupt file), and ``max_pixels`` replaces
    ``Image.MAX_IMAGE_PIXELS`` for the header check (no ``DecompressionBombWarning``
    at open; a few Pillow plugins still apply the global limit to GIF / TIFF / WebP
    frames, reported as ``ImageTooLargeError``). PIL images passed in are used as given
    (their current frame; no file checks).

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
        Colour that transparent pixels are composited onto (rgb and grayscale output):
        alpha channels, palette transparency and colour keys alike.
    bit_depth_scaling : {"full", "data"}, default="full"
        How single-channel images wider than 8 bits (16-bit grey PNG / TIFF, FITS,
        32-bit int, float) become 8 bits. "full": by the container's full range, x * 255
        / 65535 (floats: [0, 1] or [0, 255] only), the same for every image, so 12-bit
        sensor data in a 16-bit container comes out dark. "data": each image's own
        [min, max] is stretched onto [0, 255] (a constant image gives 0), so images are
        no longer on one scale. 8-bit images and 16-bit RGB (reduced by Pillow) are not
        affected.
    dtype : {"uint8", "float32"}, default="uint8"
        Output dtype; values are 0-255 either way.
    n_jobs : int or None, default=None
        Threads decoding in parallel: None means 1, -1 means all cores.
    on_error : {"raise", "fill"}, default="raise"
        "raise": every failing item is reported in one :class:`ImageLoadError`.
        "fill": failed rows are set to ``fill_value`` and reported (see ``load``):
        ``transform`` issues an :class:`~skprep.exceptions.ImageLoadWarning` whose
        ``.report`` is an :class:`ImageLoadReport` and ``.failures`` its failures.
    fill_value : int, default=0
        Value of failed rows (``on_error="fill"``) and of the letterbox border.
    max_pixels : int or None, default=Pillow's ``Image.MAX_IMAGE_PIXELS``
        Refuse (``ImageTooLargeError``) images that declare more pixels than this in
        their header, before decoding them. The default is Pillow's limit as it stands
        when ``skprep.images`` is first imported (Pillow's own default unless something
        changed it earlier); changing ``Image.MAX_IMAGE_PIXELS`` later does not change
        it. None disables it.
    frames : int, default=0
        Which frame of an animated GIF / WebP / PNG or page of a multi-page TIFF to load;
        negative counts from the end (-1 is the last). Single-frame images only have 0
        (and -1).
    max_file_bytes : int or None, default=None
        Refuse (``ImageTooLargeError``) files larger than this, before reading them.
    max_failures : int, float or None, default=None
        With ``on_error="fill"``, raise anyway when more items fail than this: an int is
        a count, a float in [0, 1] a fraction of the batch. None: never.
    reducing_gap : float >= 1 or None, default=1.1
        Speed / quality trade-off of downscaling (not used by "nearest"). JPEGs are
        decoded at 1/2, 1/4 or 1/8 scale by libjpeg (``Image.draft``, the orientation
        read from EXIF first) when the decoded image stays at least ``reducing_gap``
        times larger than the output; Pillow's ``resize`` then reduces by whole
        factors down to ``max(2, reducing_gap)`` times the output before its
        antialiased filter. Larger values are closer to an exact full decode +
        antialiased resize and slower (the measured trade-off: ``benchmarks/README.md``).
        None: exact full decode and one resize (as Keras does).
    verbose : int, default=0
        1 shows a progress bar over items when stderr is a terminal, 2 always.

    Attributes
    ----------
    n_channels_ : int
        Channels of the output (set by ``fit``; ``transform`` works without ``fit``).

    See Also
    --------
    ImageLoadReport : which rows failed and why.

    Examples
    --------
    >>> from PIL import Image
    >>> from skprep import ImageLoader
    >>> img = Image.new("RGB", (64, 48), (255, 0, 0))
    >>> batch = ImageLoader(target_size=(32, 32)).transform([img, img])
    >>> batch.shape, batch.dtype, batch[0, 0, 0]
    ((2, 32, 32, 3), dtype('uint8'), array([255,   0,   0], dtype=uint8))

    Failed rows, programmatically:

    >>> loader = ImageLoader(target_size=(8, 8), on_error="fill")
    >>> batch, report = loader.load([img, b"not an image"], return_report=True)
    >>> report.indices, report.error_types
    ([1], ['ImageDecodeError'])
    """

    _parameter_constraints: dict = {
        "target_size": [IntTuple(2, low=1), None],
        "interpolation": [StrOptions(set(INTERPOLATIONS))],
        "resize_mode": [StrOptions({"stretch", "crop", "pad"})],
        "color_mode": [StrOptions(set(CHANNELS))],
        "exif_transpose": ["boolean"],
        "background": [IntTuple(3, low=0, high=255)],
        "bit_depth_scaling": [StrOptions({"full", "data"})],
        "dtype": [StrOptions({"uint8", "float32"})],
        "n_jobs": [Integral, None],
        "on_error": [StrOptions({"raise", "fill"})],
        "fill_value": [Interval(Integral, 0, 255, closed="both")],
        "max_pixels": [Interval(Integral, 1, None, closed="left"), None],
        "frames": [Integral],
        "max_file_bytes": [Interval(Integral, 1, None, closed="left"), None],
        "max_failures": [Interval(Integral, 0, None, closed="left"),
                         Interval(Real, 0, 1, closed="both"), None],
        "reducing_gap": [Interval(Real, 1, None, closed="left"), None],
        "verbose": ["verbose"],
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
        bit_depth_scaling: str = "full",
        dtype: str = "uint8",
        n_jobs: int | None = None,
        on_error: str = "raise",
        fill_value: int = 0,
        max_pixels: int | None = _PILLOW_MAX_PIXELS,
        frames: int = 0,
        max_file_bytes: int | None = None,
        max_failures: int | float | None = None,
        reducing_gap: float | None = 1.1,
        verbose: int = 0,
    ) -> None:
        self.target_size = target_size
        self.interpolation = interpolation
        self.resize_mode = resize_mode
        self.color_mode = color_mode
        self.exif_transpose = exif_transpose
        self.background = background
        self.bit_depth_scaling = bit_depth_scaling
        self.dtype = dtype
        self.n_jobs = n_jobs
        self.on_error = on_error
        self.fill_value = fill_value
        self.max_pixels = max_pixels
        self.frames = frames
        self.max_file_bytes = max_file_bytes
        self.max_failures = max_failures
        self.reducing_gap = reducing_gap
        self.verbose = verbose

    # ------------------------------------------------------------------ checks

    def _options(self) -> DecodeOptions:
        self._validate_params()  # the constraints check target_size and background too
        target = self.target_size
        if target is not None:
            target = (int(target[0]), int(target[1]))
        background = self.background
        return DecodeOptions(
            target=target,
            resize_mode=self.resize_mode,
            interpolation=self.interpolation,
            color_mode=self.color_mode,
            exif_transpose=bool(self.exif_transpose),
            background=tuple(int(v) for v in background),
            bit_depth_scaling=self.bit_depth_scaling,
            fill_value=int(self.fill_value),
            max_pixels=None if self.max_pixels is None else int(self.max_pixels),
            max_file_bytes=None if self.max_file_bytes is None else int(self.max_file_bytes),
            frame=int(self.frames),
            reducing_gap=None if self.reducing_gap is None else float(self.reducing_gap),
        )

    def _n_threads(self, n_items: int) -> int:
        n_jobs = self.n_jobs
        if n_jobs is None or n_jobs == 0:
            n_jobs = 1
        elif n_jobs < 0:
            n_jobs = max(1, (os.cpu_count() or 1) + 1 + n_jobs)
        return max(1, min(n_jobs, n_items))

    def _too_many(self, n_failed: int, n_items: int) -> bool:
        limit = self.max_failures
        if limit is None or n_failed == 0:
            return False
        if isinstance(limit, (Integral, np.integer)) and not isinstance(limit, bool):
            return n_failed > limit
        return n_failed > float(limit) * n_items

    # ------------------------------------------------------------------ loading

    def load(self, X: Any, *, return_report: bool = False, index_offset: int = 0):
        """Load the items of X into one batch, optionally with a failure report.

        Parameters
        ----------
        X : path, bytes, file object, PIL image, or a sequence / array / Series /
            one-column DataFrame of them
        return_report : bool, default=False
            Also return an :class:`ImageLoadReport`. When True, no
            :class:`~skprep.exceptions.ImageLoadWarning` is issued for filled rows: the
            report is in your hands.
        index_offset : int, default=0
            Position of X's first item in a larger input that is loaded batch by batch:
            errors, warnings and the report give indices in that whole input.

        Returns
        -------
        batch : ndarray of shape (N, height, width, channels)
            ``uint8`` or ``float32`` (``dtype``), values 0-255, in input order.
        report : ImageLoadReport
            Only when ``return_report=True``.

        Raises
        ------
        ImageLoadError
            With ``on_error="raise"`` when any item fails (a subclass naming the kind of
            failure for one item; all failures listed in ``.failures``), or with
            ``on_error="fill"`` when more than ``max_failures`` items fail.
        """
        opts = self._options()
        items = _as_items(X)
        ensure_plugins()
        results, errors = self._decode_all(items, opts)
        errors = {index + index_offset: error for index, error in errors.items()}
        failures = [
            ImageFailure(index, describe_item(items[index - index_offset]),
                         classify(errors[index]).__name__, cause_text(errors[index]))
            for index in sorted(errors)
        ]
        report = ImageLoadReport(len(items), failures, offset=index_offset)
        self._raise_for_failures(failures, errors, len(items))
        batch = self._assemble(results, opts, len(items))
        if return_report:
            return batch, report
        if failures:
            self._warn_filled(report)
        return batch

    def _decode_all(self, items: list[Any], opts: DecodeOptions
                    ) -> tuple[list[np.ndarray | None], dict[int, BaseException]]:
        """Decode every item (threads per ``n_jobs``): (arrays or None, errors by index)."""
        n_items = len(items)
        results: list[np.ndarray | None] = [None] * n_items
        errors: dict[int, BaseException] = {}

        def work(index: int) -> None:
            try:
                results[index] = decode_item(items[index], opts)
            except Exception as exc:  # noqa: BLE001 - every failure is reported by load
                errors[index] = exc

        n_threads = self._n_threads(n_items)
        shown = {"total": n_items, "verbose": self.verbose, "desc": "ImageLoader", "unit": "img"}
        if n_threads == 1:
            for index in progress(range(n_items), **shown):
                work(index)
            return results, errors
        for item in items:  # lazy PIL images: load once here, not racing in two threads
            if isinstance(item, Image.Image):
                try:
                    item.load()
                except Exception:  # noqa: BLE001 - reported by the worker below
                    pass
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            for _ in progress(pool.map(work, range(n_items)), **shown):
                pass
        return results, errors

    def _raise_for_failures(self, failures: list[ImageFailure],
                            errors: dict[int, BaseException], n_items: int) -> None:
        """Raise per ``on_error`` and ``max_failures``; return when the batch may be filled."""
        if not failures:
            return
        first = errors[failures[0].index]
        if self.on_error == "raise":
            if len(failures) == 1:
                raise classify(first)(
                    failures[0].message, index=failures[0].index, source=failures[0].source
                ) from first
            raise ImageLoadError(failures=failures) from first
        if self._too_many(len(failures), n_items):
            summary = str(ImageLoadError(failures=failures)).splitlines()
            summary[0] = (
                f"{len(failures)} of {n_items} image(s) could not be loaded, more than "
                f"max_failures={self.max_failures!r} allows (on_error='fill' raises above it):"
            )
            raise ImageLoadError("\n".join(summary), failures=failures) from first

    def _warn_filled(self, report: ImageLoadReport) -> None:
        failures = list(report.failures)
        warning = ImageLoadWarning(
            f"{len(failures)} of {report.n_items} image(s) failed and were filled with "
            f"{self.fill_value}: rows {report.indices}. First failure: {failures[0]}. "
            "The warning's .report (an ImageLoadReport) and .failures list them all; "
            "ImageLoader.load(X, return_report=True) returns the report directly.",
            failures,
        )
        warning.report = report
        warnings.warn(warning, stacklevel=4)

    def _assemble(self, results: list[np.ndarray | None], opts: DecodeOptions,
                  n_items: int) -> np.ndarray:
        shape = self._batch_shape(results, opts.target, CHANNELS[self.color_mode])
        out_dtype = np.uint8 if self.dtype == "uint8" else np.float32
        batch = np.empty((n_items, *shape), dtype=out_dtype)
        for index, arr in enumerate(results):
            if arr is None:
                batch[index] = self.fill_value
            else:
                batch[index] = arr
        return batch

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
            if not results:
                return (0, 0, n_channels)
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
        self._options()
        self.n_channels_ = CHANNELS[self.color_mode]
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
            With ``on_error="raise"``, when any item fails (all failures are listed);
            with ``on_error="fill"``, when more than ``max_failures`` fail.

        Warns
        -----
        ImageLoadWarning
            With ``on_error="fill"`` when rows were filled; its ``.report`` is the
            :class:`ImageLoadReport`.
        """
        return self.load(X)

    def get_feature_names_out(self, input_features=None) -> None:
        """None: an image batch has no column names.

        Defined so that ``set_output`` is available (image batches pass through
        unchanged whatever the output configuration) and so that a pipeline's
        ``get_feature_names_out`` reaches the step that makes 2-D features.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        None
        """
        return None

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
