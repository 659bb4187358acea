"""The transformations of :class:`~skprep.ImageAugmenter`: drawn and applied as Keras does.

Pure functions over one image (or a batch of draws): Keras' factor rules, the draws of
each layer's ``get_random_transformation``, the affine matrices of its
``transform_images`` (composed into one warp), TensorFlow's fill modes, and the
contrast / brightness lookup tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

from .._optional import import_optional
from ..exceptions import AugmentationParameterError

__all__ = ["FILL_MODES", "FLIP_AXES", "INTERPOLATIONS", "TRANSFORM_KEYS", "Plan", "apply_one",
           "crop_size", "draw", "factor_range"]


FLIP_AXES = {
    "horizontal": (True, False),
    "vertical": (False, True),
    "horizontal_and_vertical": (True, True),
}
FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")
# (lowest, highest, lowest excluded) for each factor, as the Keras layers check them
_FACTOR_BOUNDS = {
    "translation": (-1.0, 1.0, False),
    "rotation": (-1.0, 1.0, False),
    "zoom": (-1.0, 1.0, True),
    "contrast": (0.0, 1.0, False),
    "brightness": (-1.0, 1.0, False),
}
TRANSFORM_KEYS = (
    "crop", "flip_horizontal", "flip_vertical", "translation", "angle", "zoom",
    "contrast", "brightness",
)


def _import_cv2():
    return import_optional("cv2", extra="augment", needed_by="ImageAugmenter",
                           package="OpenCV (opencv-python-headless)")


# ---------------------------------------------------------------- parameters


def factor_range(value: Any, name: str) -> tuple[float, float] | None:
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


def crop_size(value: Any) -> tuple[int, int] | None:
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
class Plan:
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


def draw(plan: Plan, n: int, height: int, width: int,
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


def _warp(src: np.ndarray, m: np.ndarray, dst: np.ndarray, plan: Plan) -> None:
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


def _photometric(img: np.ndarray, t: dict[str, np.ndarray], k: int, plan: Plan) -> None:
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


def apply_one(src: np.ndarray, t: dict[str, np.ndarray], k: int, dst: np.ndarray,
               plan: Plan) -> None:
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
