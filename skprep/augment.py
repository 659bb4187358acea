"""Image augmentation as an imbalanced-learn style sampler, with Keras 3 layers' semantics.

:class:`ImageAugmenter` draws each transformation as Keras' ``RandomFlip``,
``RandomTranslation``, ``RandomRotation``, ``RandomZoom``, ``RandomCrop``,
``RandomContrast`` and ``RandomBrightness`` layers draw theirs
(``get_random_transformation``), and applies it as their ``transform_images`` do
(TensorFlow's ``ImageProjectiveTransformV3`` conventions: output pixel ``(x, y)`` reads
the input at ``M @ (x, y, 1)``, same fill modes). The geometric operations of one view
are composed into one affine matrix and resampled once with OpenCV.

Augmentation adds rows, which a scikit-learn transformer cannot do: the augmenter is a
*sampler* (``fit_resample``), which ``imblearn.pipeline.Pipeline`` runs in ``fit`` and
skips in ``predict``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .exceptions import AugmentationParameterError, InputShapeError, UnsupportedStepError

__all__ = ["ImageAugmenter"]

_FLIP_AXES = {
    "horizontal": (True, False),
    "vertical": (False, True),
    "horizontal_and_vertical": (True, True),
}
_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")
# (lowest, highest, lowest excluded) for each factor, as the Keras layers check them
_FACTOR_BOUNDS = {
    "translation": (-1.0, 1.0, False),
    "rotation": (-1.0, 1.0, False),
    "zoom": (-1.0, 1.0, True),
    "contrast": (0.0, 1.0, False),
    "brightness": (-1.0, 1.0, False),
}
_TRANSFORM_KEYS = (
    "crop", "flip_horizontal", "flip_vertical", "translation", "angle", "zoom",
    "contrast", "brightness",
)


def _import_cv2():
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - opencv is a dev dependency
        raise ImportError(
            'ImageAugmenter needs OpenCV: pip install "skprep[augment]" '
            "(opencv-python-headless)."
        ) from exc
    return cv2


# ---------------------------------------------------------------- parameters


def _factor(value: Any, name: str) -> tuple[float, float] | None:
    """``(lower, upper)`` of a Keras factor (a number or a pair), or None when disabled."""
    if value is None:
        return None
    low, high, low_open = _FACTOR_BOUNDS[name]
    rule = (
        f"a number or a pair of numbers in {'(' if low_open else '['}{low:g}, {high:g}]"
    )
    if isinstance(value, Real) and not isinstance(value, bool):
        values = [float(value)]
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, Real) and not isinstance(v, bool) for v in value
    ):
        values = [float(v) for v in value]
    else:
        raise AugmentationParameterError(
            f"ImageAugmenter's {name!r} must be {rule}, or None. Received: {name}={value!r}."
        )
    for v in values:
        if not (low < v if low_open else low <= v) or v > high or not np.isfinite(v):
            raise AugmentationParameterError(
                f"ImageAugmenter's {name!r} must be {rule} (as keras.layers.Random"
                f"{name.capitalize()} checks it). Received: {name}={value!r}."
            )
    if len(values) == 1:
        f = abs(values[0])
        lower, upper = max(-f, low), f
    else:
        lower, upper = sorted(values)
    if lower == upper == 0.0:
        return None
    return lower, upper


def _crop_size(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    ok = (
        isinstance(value, (tuple, list)) and len(value) == 2
        and all(isinstance(v, Integral) and not isinstance(v, bool) and v > 0 for v in value)
    )
    if not ok:
        raise AugmentationParameterError(
            "ImageAugmenter's 'crop' must be None or a (height, width) pair of positive ints. "
            f"Received: crop={value!r}."
        )
    return int(value[0]), int(value[1])


@dataclass(frozen=True)
class _Plan:
    """The resolved parameters of an augmenter: what to draw and how to resample."""

    flip: tuple[bool, bool] | None
    crop: tuple[int, int] | None
    translation: tuple[float, float] | None
    rotation: tuple[float, float] | None
    zoom: tuple[float, float] | None
    contrast: tuple[float, float] | None
    brightness: tuple[float, float] | None
    interpolation: str
    fill_mode: str
    fill_value: float
    channels_first: bool


# ---------------------------------------------------------------- drawing


def _crop_windows(size: tuple[int, int], height: int, width: int, n: int,
                  rng: np.random.Generator) -> np.ndarray:
    """``(top, left, crop_height, crop_width)`` per view, as ``keras.layers.RandomCrop``."""
    ch, cw = size
    out = np.empty((n, 4), dtype=np.int64)
    if height > ch and width > cw:
        out[:, 0] = np.floor(rng.uniform(0.0, float(height - ch + 1), n))
        out[:, 1] = np.floor(rng.uniform(0.0, float(width - cw + 1), n))
        out[:, 2], out[:, 3] = ch, cw
    else:  # Keras' fallback: the largest central window of the crop's aspect ratio
        crop_h = max(min(height, int(float(width * ch) / cw)), 1)
        crop_w = max(min(width, int(float(height * cw) / ch)), 1)
        out[:] = (int((height - crop_h) / 2), int((width - crop_w) / 2), crop_h, crop_w)
    return out


def _draw(plan: _Plan, n: int, height: int, width: int,
          rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw the transformations of ``n`` images, operation by operation, in a fixed order."""
    t: dict[str, np.ndarray] = {}
    if plan.crop is not None:
        t["crop"] = _crop_windows(plan.crop, height, width, n, rng)
    if plan.flip is not None:
        flips = rng.uniform(0.0, 1.0, n) <= 0.5
        t["flip_horizontal"] = flips & plan.flip[0]
        t["flip_vertical"] = flips & plan.flip[1]
    if plan.translation is not None:
        dy = rng.uniform(*plan.translation, n) * height
        dx = rng.uniform(*plan.translation, n) * width
        t["translation"] = np.stack([dx, dy], axis=1)
    if plan.rotation is not None:
        t["angle"] = rng.uniform(plan.rotation[0] * 360.0, plan.rotation[1] * 360.0, n)
    if plan.zoom is not None:
        zoom = rng.uniform(1.0 + plan.zoom[0], 1.0 + plan.zoom[1], n)
        t["zoom"] = np.stack([zoom, zoom], axis=1)
    if plan.contrast is not None:
        t["contrast"] = rng.uniform(1.0 - plan.contrast[0], 1.0 + plan.contrast[1], n)
    if plan.brightness is not None:
        t["brightness"] = rng.uniform(*plan.brightness, n) * 255.0
    return t


# ---------------------------------------------------------------- geometry


def _geometry(t: dict[str, np.ndarray], k: int, height: int, width: int) -> np.ndarray:
    """The 3x3 matrix that maps an output pixel of view ``k`` to its input coordinates.

    Operations compose in the order crop, flip, translation, rotation, zoom (the
    order of the Keras layers of :meth:`ImageAugmenter.to_keras_layers`): the view is
    ``op_n(...op_1(image))``, so an output pixel reads ``M_1 @ ... @ M_n @ p``.
    """
    m = np.eye(3)
    if "crop" in t:  # resize the window (the source) to the image's size, half-pixel
        sx, sy = float(t["crop"][k][3]) / width, float(t["crop"][k][2]) / height
        m = m @ [[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0, 0, 1]]
    if "flip_horizontal" in t and t["flip_horizontal"][k]:
        m = m @ [[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0, 0, 1]]
    if "flip_vertical" in t and t["flip_vertical"][k]:
        m = m @ [[1.0, 0.0, 0.0], [0.0, -1.0, height - 1.0], [0, 0, 1]]
    if "translation" in t:
        dx, dy = t["translation"][k]
        m = m @ [[1.0, 0.0, -dx], [0.0, 1.0, -dy], [0, 0, 1]]
    if "angle" in t:  # keras' _compute_affine_matrix: about the centre, counter-clockwise
        theta = np.deg2rad(t["angle"][k])
        c, s = np.cos(theta), np.sin(theta)
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        m = m @ [[c, -s, cx - cx * c + cy * s], [s, c, cy - cx * s - cy * c], [0, 0, 1]]
    if "zoom" in t:
        zx, zy = t["zoom"][k]
        m = m @ [[zx, 0.0, (width - 1) / 2.0 * (1 - zx)],
                 [0.0, zy, (height - 1) / 2.0 * (1 - zy)], [0, 0, 1]]
    return m


def _as_flip(m: np.ndarray, height: int, width: int) -> tuple[slice, slice] | None:
    """Slices that implement ``m`` when it is the identity or a flip, else None."""
    if m[0, 1] != 0 or m[1, 0] != 0 or abs(m[0, 0]) != 1 or abs(m[1, 1]) != 1:
        return None
    rows = slice(None) if m[1, 1] == 1 and m[1, 2] == 0 else None
    cols = slice(None) if m[0, 0] == 1 and m[0, 2] == 0 else None
    if m[1, 1] == -1 and m[1, 2] == height - 1:
        rows = slice(None, None, -1)
    if m[0, 0] == -1 and m[0, 2] == width - 1:
        cols = slice(None, None, -1)
    return None if rows is None or cols is None else (rows, cols)


def _tf_wrap(coord: np.ndarray, length: int) -> np.ndarray:
    """TensorFlow's ``fill_mode="wrap"`` coordinate map (``MapCoordinate<FILL_WRAP>``)."""
    if length <= 1:
        return np.zeros_like(coord)
    size = np.float32(length - 1)
    neg = coord < 0
    pos = coord > length - 1
    coord[neg] += length * (np.trunc(-coord[neg] / size) + 1)
    coord[pos] -= length * np.trunc(coord[pos] / size)
    return np.clip(coord, 0, length - 1, out=coord)


def _warp(src: np.ndarray, m: np.ndarray, dst: np.ndarray, plan: _Plan) -> None:
    """Resample a 2-D plane or an (H, W, C) image through ``m`` into ``dst``."""
    cv2 = _import_cv2()
    height, width = dst.shape[:2]
    flags = cv2.INTER_LINEAR if plan.interpolation == "bilinear" else cv2.INTER_NEAREST
    if plan.fill_mode != "wrap":
        border = {"reflect": cv2.BORDER_REFLECT, "nearest": cv2.BORDER_REPLICATE,
                  "constant": cv2.BORDER_CONSTANT}[plan.fill_mode]
        cv2.warpAffine(src, m[:2], (width, height), dst=dst, flags=flags | cv2.WARP_INVERSE_MAP,
                       borderMode=border, borderValue=(plan.fill_value,) * 4)
        return
    # TensorFlow's wrap is not OpenCV's BORDER_WRAP: map the coordinates its way
    m32 = m.astype(np.float32)
    xs = np.arange(width, dtype=np.float32)
    ys = np.arange(height, dtype=np.float32)[:, None]
    map_x = _tf_wrap(m32[0, 0] * xs + (m32[0, 1] * ys + m32[0, 2]), src.shape[1])
    map_y = _tf_wrap(m32[1, 0] * xs + (m32[1, 1] * ys + m32[1, 2]), src.shape[0])
    cv2.remap(src, map_x, map_y, flags, dst=dst, borderMode=cv2.BORDER_REPLICATE)


# ---------------------------------------------------------------- photometry


def _photometric(img: np.ndarray, t: dict[str, np.ndarray], k: int, plan: _Plan) -> None:
    """Contrast then brightness, in place, as RandomContrast / RandomBrightness (0-255)."""
    if "contrast" not in t and "brightness" not in t:
        return
    planes = list(img) if plan.channels_first else [img]
    for plane in planes:
        if plane.dtype == np.uint8:
            _photometric_uint8(plane, t, k)
        else:
            _photometric_float(plane, t, k, plan.channels_first)


def _plane_means(img: np.ndarray) -> np.ndarray:
    """Per-channel mean of an (H, W) plane or (H, W, C) image, without a full-size copy."""
    channels = 1 if img.ndim == 2 else img.shape[2]
    if channels <= 4:  # OpenCV sums in float64, several times faster than numpy's mean
        return np.array(_import_cv2().mean(img)[:channels])
    return img.mean(axis=(0, 1), dtype=np.float64)


def _photometric_uint8(img: np.ndarray, t: dict[str, np.ndarray], k: int) -> None:
    levels = np.arange(256, dtype=np.float64)[:, None]
    lut = np.repeat(levels, 1 if img.ndim == 2 else img.shape[2], axis=1)
    if "contrast" in t:
        mean = _plane_means(img)
        lut = np.clip((lut - mean) * t["contrast"][k] + mean, 0.0, 255.0)
    if "brightness" in t:
        lut = np.clip(lut + t["brightness"][k], 0.0, 255.0)
    lut = np.rint(lut).astype(np.uint8)
    channels = lut.shape[1]
    if channels in (1, 3, 4):
        cv2 = _import_cv2()
        cv2.LUT(img, lut.reshape(256, 1, channels) if channels > 1 else lut[:, 0], dst=img)
    else:
        for c in range(channels):
            img[..., c] = lut[img[..., c], c]


def _photometric_float(img: np.ndarray, t: dict[str, np.ndarray], k: int, plane: bool) -> None:
    if "contrast" in t:
        mean = _plane_means(img).astype(img.dtype)
        mean = mean[0] if plane else mean
        img -= mean
        img *= img.dtype.type(t["contrast"][k])
        img += mean
        np.clip(img, 0.0, 255.0, out=img)
    if "brightness" in t:
        img += img.dtype.type(t["brightness"][k])
        np.clip(img, 0.0, 255.0, out=img)


def _apply_one(src: np.ndarray, t: dict[str, np.ndarray], k: int, dst: np.ndarray,
               plan: _Plan) -> None:
    """Write view ``k`` of ``t`` applied to one image ``src`` into ``dst``."""
    height, width = src.shape[1:3] if plan.channels_first else src.shape[:2]
    m = _geometry(t, k, height, width)
    if "crop" in t:  # the window is the source: nothing outside it is ever read
        top, left, ch, cw = (int(v) for v in t["crop"][k])
        window = (slice(top, top + ch), slice(left, left + cw))
        src = src[:, window[0], window[1]] if plan.channels_first else src[window]
    flip = _as_flip(m, height, width)
    source = src if src.dtype == dst.dtype else src.astype(dst.dtype)
    if flip is not None:
        dst[...] = source[:, flip[0], flip[1]] if plan.channels_first else source[flip]
    elif plan.channels_first:
        for c in range(src.shape[0]):
            _warp(source[c], m, dst[c], plan)
    else:
        _warp(source, m, dst, plan)
    _photometric(dst, t, k, plan)


# ---------------------------------------------------------------- helpers


def _n_threads(n_jobs: int | None, n_items: int) -> int:
    if n_jobs is None or n_jobs == 0:
        n_jobs = 1
    elif n_jobs < 0:
        n_jobs = max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return max(1, min(n_jobs, n_items))


def _in_chunks(fn: Callable[[int, int], None], n_items: int, n_jobs: int | None) -> None:
    """Call ``fn(start, stop)`` over contiguous chunks of ``range(n_items)``, in threads."""
    n_threads = _n_threads(n_jobs, n_items)
    if n_threads == 1:
        fn(0, n_items)
        return
    bounds = np.linspace(0, n_items, n_threads + 1).astype(int)
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        futures = [pool.submit(fn, int(a), int(b))
                   for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        for future in futures:
            future.result()


def _check_images(X: Any, data_format: str, what: str = "X") -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 4:
        raise InputShapeError(
            f"ImageAugmenter expects a 4-D batch of images {what} (n_images, height, width, "
            f"channels){' in channels_first order' if data_format == 'channels_first' else ''}; "
            f"received an array of shape {X.shape}. A single image is a batch of one "
            "(image[None]); ImageLoader builds batches from files."
        )
    if X.dtype.kind not in "uif" or X.dtype == np.bool_:
        raise InputShapeError(
            f"ImageAugmenter expects numeric pixels in 0-255 (uint8, as ImageLoader returns "
            f"them, or float); received {what} of dtype {X.dtype}."
        )
    return X


def _output_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.uint8) if dtype == np.uint8 else np.dtype(np.float32)


def _entropy(random_state: Any) -> int:
    """The root seed of one ``fit_resample``: the int itself, else drawn (or fresh)."""
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        return int(random_state)
    if random_state is None:
        return int(np.random.SeedSequence().entropy)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _check_transformation(transformation: Any, n: int) -> dict[str, np.ndarray]:
    if not isinstance(transformation, dict):
        raise AugmentationParameterError(
            "ImageAugmenter.apply expects the dict returned by random_transformation; "
            f"received {type(transformation).__name__}."
        )
    unknown = sorted(set(transformation) - set(_TRANSFORM_KEYS))
    if unknown:
        raise AugmentationParameterError(
            f"Unknown transformation key(s) {unknown}; expected some of {list(_TRANSFORM_KEYS)}."
        )
    out = {}
    for key, value in transformation.items():
        arr = np.asarray(value)
        if arr.ndim == 0 or arr.shape[0] != n:
            raise InputShapeError(
                f"transformation[{key!r}] has shape {arr.shape}; expected one row per image "
                f"of the batch ({n} images)."
            )
        out[key] = arr
    return out


# ---------------------------------------------------------------- estimator


class ImageAugmenter(BaseEstimator):
    """Augmented views of a batch of images, as Keras' random preprocessing layers make them.

    A *sampler* in imbalanced-learn's sense: :meth:`fit_resample` returns the original
    images plus ``n_views`` augmented copies of each (and ``y`` repeated to match), so
    ``imblearn.pipeline.Pipeline`` augments while fitting and skips the step when
    predicting. Place it right after :class:`~skprep.ImageLoader` (it takes pixels in
    0-255, before normalization).

    Every parameter is named and scaled as its Keras 3 layer (``RandomFlip(mode)``,
    ``RandomRotation(factor)``, ...); ``None`` (or 0) disables the operation.

    Parameters
    ----------
    flip : {"horizontal", "vertical", "horizontal_and_vertical"} or None, \
default="horizontal"
        As ``keras.layers.RandomFlip(mode)``: each view is flipped with probability 1/2
        (``"horizontal_and_vertical"`` flips both axes, or neither, as Keras does).
    rotation : float or (float, float) or None, default=0.1
        As ``RandomRotation(factor)``: a fraction of a full turn; 0.1 rotates by up to
        +-36 degrees, positive counter-clockwise.
    zoom : float or (float, float) or None, default=0.1
        As ``RandomZoom(height_factor)`` with ``width_factor=None`` (aspect kept): each
        axis is scaled by ``1 + u``, ``u`` drawn in the range; positive zooms out.
    translation : float or (float, float) or None, default=0.1
        As ``RandomTranslation(height_factor, width_factor)`` with both factors equal: a
        fraction of the height (width) by which to shift vertically (horizontally).
    contrast : float or (float, float) or None, default=0.2
        As ``RandomContrast(factor)``: per-channel ``(x - mean) * c + mean``. Keras 3 draws
        ``c`` in ``[1 - lower, 1 + upper]`` where a single number ``f`` means
        ``(lower, upper) = (0, f)`` (contrast only increases); pass ``(f, f)`` for
        ``[1 - f, 1 + f]``.
    brightness : float or (float, float) or None, default=0.2
        As ``RandomBrightness(factor)``: adds ``u * 255``, ``u`` drawn in the range.
    crop : (int, int) or None, default=None
        As ``RandomCrop(height, width)`` (a random integer window, Keras' central
        fallback when the image is not larger), then resized back (bilinear or nearest,
        half-pixel centres) to the image's size, so views and originals share one shape.
    fill_mode : {"reflect", "wrap", "constant", "nearest"}, default="reflect"
        How pixels outside the input are filled, as TensorFlow's Keras backend fills them.
    interpolation : {"bilinear", "nearest"}, default="bilinear"
        Resampling of the geometric operations.
    fill_value : float, default=0.0
        The fill for ``fill_mode="constant"``.
    n_views : int, default=1
        Augmented copies per image; the originals are always kept.
    random_state : int, RandomState instance or None, default=None
        Root of the views' seeds. An int gives the same views at every call, whatever
        ``n_jobs``.
    n_jobs : int, default=None
        Threads (OpenCV releases the GIL); -1 uses all cores. Does not change the views.
    data_format : {"channels_last", "channels_first"}, default="channels_last"
        Channel axis of the batches.

    Attributes
    ----------
    input_shape_ : tuple of int
        Shape of one image seen in the last ``fit`` / ``fit_resample``.
    seed_ : int
        Root seed of the last ``fit_resample``; view ``k`` of image ``i`` is drawn from
        ``np.random.default_rng(np.random.SeedSequence(seed_, spawn_key=(i,)))``.

    See Also
    --------
    ImageLoader : the uint8 batches this step takes.

    Notes
    -----
    Output order: each original image is followed by its ``n_views`` views, so
    ``X_res[i * (n_views + 1)]`` is image ``i`` and ``y_res = np.repeat(y, n_views + 1)``.
    Views depend only on ``seed_`` and the image's index, never on ``n_jobs`` or batching.

    The geometric operations run in the order crop, flip, translation, rotation, zoom,
    composed into one affine map and resampled once (Keras resamples once per layer;
    the fill is then taken from the original image rather than from an already filled
    one); contrast then brightness follow. Each operation alone equals its Keras layer
    (flips and integer crops exactly, interpolated ones to rounding).
    uint8 input gives uint8 views (rounded; Keras returns floats); other dtypes give
    float32. The memory used is the output batch plus per-image scratch.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep import ImageAugmenter
    >>> X = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    >>> y = np.array([0, 1, 0, 1])
    >>> aug = ImageAugmenter(rotation=0.05, n_views=2, random_state=0)
    >>> X_res, y_res = aug.fit_resample(X, y)
    >>> X_res.shape, y_res.tolist()
    ((12, 32, 32, 3), [0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1])
    >>> bool((X_res[::3] == X).all())
    True
    """

    _parameter_constraints: dict = {
        "flip": [StrOptions(set(_FLIP_AXES)), None],
        "rotation": [Real, tuple, list, None],
        "zoom": [Real, tuple, list, None],
        "translation": [Real, tuple, list, None],
        "contrast": [Real, tuple, list, None],
        "brightness": [Real, tuple, list, None],
        "crop": [tuple, list, None],
        "fill_mode": [StrOptions(set(_FILL_MODES))],
        "interpolation": [StrOptions(set(_INTERPOLATIONS))],
        "fill_value": [Real],
        "n_views": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "data_format": [StrOptions({"channels_last", "channels_first"})],
    }

    def __init__(
        self,
        *,
        flip: str | None = "horizontal",
        rotation: float | tuple[float, float] | None = 0.1,
        zoom: float | tuple[float, float] | None = 0.1,
        translation: float | tuple[float, float] | None = 0.1,
        contrast: float | tuple[float, float] | None = 0.2,
        brightness: float | tuple[float, float] | None = 0.2,
        crop: tuple[int, int] | None = None,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        fill_value: float = 0.0,
        n_views: int = 1,
        random_state: Any = None,
        n_jobs: int | None = None,
        data_format: str = "channels_last",
    ) -> None:
        self.flip = flip
        self.rotation = rotation
        self.zoom = zoom
        self.translation = translation
        self.contrast = contrast
        self.brightness = brightness
        self.crop = crop
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value
        self.n_views = n_views
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.data_format = data_format

    def _plan(self) -> _Plan:
        self._validate_params()
        return _Plan(
            flip=None if self.flip is None else _FLIP_AXES[self.flip],
            crop=_crop_size(self.crop),
            translation=_factor(self.translation, "translation"),
            rotation=_factor(self.rotation, "rotation"),
            zoom=_factor(self.zoom, "zoom"),
            contrast=_factor(self.contrast, "contrast"),
            brightness=_factor(self.brightness, "brightness"),
            interpolation=self.interpolation,
            fill_mode=self.fill_mode,
            fill_value=float(self.fill_value),
            channels_first=self.data_format == "channels_first",
        )

    def _size(self, X: np.ndarray) -> tuple[int, int]:
        return X.shape[2:4] if self.data_format == "channels_first" else X.shape[1:3]

    def fit(self, X, y=None):
        """Check the parameters and record the image shape; nothing is learned.

        Parameters
        ----------
        X : array-like of shape (N, H, W, C)
            Images, pixels in 0-255.
        y : array-like of shape (N,), default=None
            Ignored.

        Returns
        -------
        self : ImageAugmenter
        """
        self._plan()
        X = _check_images(X, self.data_format)
        self.input_shape_ = tuple(int(d) for d in X.shape[1:])
        self.seed_ = _entropy(self.random_state)
        return self

    def fit_resample(self, X, y=None):
        """The images followed each by its ``n_views`` augmented views, and ``y`` to match.

        Parameters
        ----------
        X : array-like of shape (N, H, W, C)
            Images, pixels in 0-255 (uint8 as ImageLoader returns them, or float).
        y : array-like of shape (N, ...), default=None
            Targets; each row repeated ``n_views + 1`` times.

        Returns
        -------
        X_res : ndarray of shape (N * (n_views + 1), H, W, C)
            uint8 for uint8 input, else float32.
        y_res : ndarray of shape (N * (n_views + 1), ...) or None
        """
        return self.fit(X).resample_batch(X, y, start_index=0)

    def resample_batch(self, X, y=None, *, start_index: int = 0):
        """:meth:`fit_resample` for one batch of a larger set, with the fitted ``seed_``.

        The views of image ``j`` of this batch are those of image ``start_index + j`` of
        the whole set, so streaming the set batch by batch gives the same views as one
        ``fit_resample`` on all of it.

        Parameters
        ----------
        X : array-like of shape (N, H, W, C)
            One batch of images.
        y : array-like of shape (N, ...), default=None
            Its targets.
        start_index : int, default=0
            Index of the batch's first image in the whole set.

        Returns
        -------
        X_res : ndarray of shape (N * (n_views + 1), H, W, C)
        y_res : ndarray of shape (N * (n_views + 1), ...) or None
        """
        check_is_fitted(self, "seed_")
        plan = self._plan()
        X = _check_images(X, self.data_format)
        if y is not None:
            y = np.asarray(y)
            if y.ndim == 0 or y.shape[0] != X.shape[0]:
                raise InputShapeError(
                    f"ImageAugmenter: y has shape {y.shape} but X holds {X.shape[0]} images; "
                    "give one target per image."
                )
        X_res = self._resample(X, plan, self.seed_, int(start_index))
        y_res = None if y is None else np.repeat(y, self.n_views + 1, axis=0)
        return X_res, y_res

    def _resample(self, X: np.ndarray, plan: _Plan, seed: int, start: int = 0) -> np.ndarray:
        """Originals and views of ``X``, whose first image has global index ``start``."""
        per = self.n_views + 1
        height, width = self._size(X)
        out = np.empty((X.shape[0] * per, *X.shape[1:]), dtype=_output_dtype(X.dtype))

        def work(a: int, b: int) -> None:
            for i in range(a, b):
                out[i * per] = X[i]
                rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(start + i,)))
                t = _draw(plan, self.n_views, height, width, rng)
                for k in range(self.n_views):
                    _apply_one(X[i], t, k, out[i * per + 1 + k], plan)

        _in_chunks(work, X.shape[0], self.n_jobs)
        return out

    def random_transformation(self, batch, rng=None) -> dict[str, np.ndarray]:
        """Draw one transformation per image of ``batch``, as the Keras layers draw theirs.

        Parameters
        ----------
        batch : array-like of shape (N, H, W, C)
            Only its shape is used.
        rng : numpy Generator, int or None, default=None
            Source of randomness (``np.random.default_rng(rng)``).

        Returns
        -------
        dict of str to ndarray
            One row per image, keys for the enabled operations only:
            ``"crop"`` (int, (top, left, height, width)), ``"flip_horizontal"`` and
            ``"flip_vertical"`` (bool), ``"translation"`` ((dx, dy) in pixels, Keras'
            ``translations``), ``"angle"`` (degrees, Keras' ``angle``), ``"zoom"``
            ((width_zoom, height_zoom)), ``"contrast"`` (factor), ``"brightness"``
            (delta in pixel units, Keras' ``rgb_delta``).
        """
        plan = self._plan()
        batch = _check_images(batch, self.data_format, "batch")
        height, width = self._size(batch)
        return _draw(plan, batch.shape[0], height, width, np.random.default_rng(rng))

    def apply(self, batch, transformation: dict) -> np.ndarray:
        """Apply a transformation (one row per image) to ``batch``; the input is not modified.

        Parameters
        ----------
        batch : array-like of shape (N, H, W, C)
            Images, pixels in 0-255.
        transformation : dict
            As returned by :meth:`random_transformation`; an operation whose key is
            absent is not applied.

        Returns
        -------
        ndarray of shape (N, H, W, C)
            uint8 for uint8 input, else float32.
        """
        plan = self._plan()
        batch = _check_images(batch, self.data_format, "batch")
        t = _check_transformation(transformation, batch.shape[0])
        out = np.empty(batch.shape, dtype=_output_dtype(batch.dtype))

        def work(a: int, b: int) -> None:
            for i in range(a, b):
                _apply_one(batch[i], t, i, out[i], plan)

        _in_chunks(work, batch.shape[0], self.n_jobs)
        return out

    def to_keras_layers(self):
        """The same augmentation as a ``keras.Sequential`` of Keras' own layers.

        Layers in the order this augmenter applies them (``RandomFlip``,
        ``RandomTranslation``, ``RandomRotation``, ``RandomZoom``, ``RandomContrast``,
        ``RandomBrightness``), with the same factors, fill and interpolation; Keras runs
        them in training only. Seeds follow ``random_state`` when it is an int.

        Returns
        -------
        keras.Sequential

        Raises
        ------
        UnsupportedStepError
            With ``crop``: Keras' ``RandomCrop`` changes the image size and is not the
            identity at inference, so no Keras layer matches this augmenter's crop.
        """
        from ._keras import import_keras

        plan = self._plan()
        if plan.crop is not None:
            raise UnsupportedStepError(
                f"ImageAugmenter(crop={self.crop!r}) has no Keras equivalent: "
                "keras.layers.RandomCrop outputs the crop size and center-crops at inference, "
                "where this augmenter keeps the image size and is skipped at inference. "
                "Set crop=None to export."
            )
        keras = import_keras()
        seed = self.random_state if isinstance(self.random_state, Integral) else None
        geo = {"fill_mode": self.fill_mode, "interpolation": self.interpolation,
               "fill_value": float(self.fill_value), "data_format": self.data_format}
        layers = []
        if plan.flip is not None:
            layers.append(keras.layers.RandomFlip(self.flip, seed=seed,
                                                  data_format=self.data_format))
        if plan.translation is not None:
            layers.append(keras.layers.RandomTranslation(
                self.translation, self.translation, seed=seed, **geo))
        if plan.rotation is not None:
            layers.append(keras.layers.RandomRotation(self.rotation, seed=seed, **geo))
        if plan.zoom is not None:
            layers.append(keras.layers.RandomZoom(self.zoom, None, seed=seed, **geo))
        if plan.contrast is not None:
            layers.append(keras.layers.RandomContrast(self.contrast, value_range=(0, 255),
                                                      seed=seed, data_format=self.data_format))
        if plan.brightness is not None:
            layers.append(keras.layers.RandomBrightness(self.brightness, value_range=(0, 255),
                                                        seed=seed, data_format=self.data_format))
        return keras.Sequential(layers, name="augmentation")
