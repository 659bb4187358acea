"""ImageAugmenter: the sampler (``fit_resample``), its seeds, threads and Keras export."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._compat import Interval, SkprepParamsMixin, StrOptions
from ..exceptions import AugmentationParameterError, InputShapeError, UnsupportedStepError
from ._ops import (
    FILL_MODES,
    FLIP_AXES,
    INTERPOLATIONS,
    TRANSFORM_KEYS,
    Plan,
    apply_one,
    crop_size,
    draw,
    factor_range,
)

__all__ = ["ImageAugmenter"]


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
    unknown = sorted(set(transformation) - set(TRANSFORM_KEYS))
    if unknown:
        raise AugmentationParameterError(
            f"Unknown transformation key(s) {unknown}; expected some of {list(TRANSFORM_KEYS)}."
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


class ImageAugmenter(SkprepParamsMixin, BaseEstimator):
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
        Root seed drawn by the last ``fit`` (``fit_resample`` calls it): the ``n_views``
        views of image ``i`` are ``random_transformation(np.repeat(X[i:i + 1], n_views,
        axis=0), rng)`` with ``rng = np.random.default_rng(np.random.SeedSequence(seed_,
        spawn_key=(i,)))``, applied with :meth:`apply`.

    See Also
    --------
    ImageLoader : the uint8 batches this step takes.
    skprep.make_image_pipeline : ``augment=ImageAugmenter(...)`` puts it after the loader.

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

    There is no ``transform``: imbalanced-learn refuses a step with both ``transform``
    and ``fit_resample``, and its Pipeline skips samplers when predicting, so prediction
    sees the images unchanged.

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
        "flip": [StrOptions(set(FLIP_AXES)), None],
        "rotation": [Real, tuple, list, None],
        "zoom": [Real, tuple, list, None],
        "translation": [Real, tuple, list, None],
        "contrast": [Real, tuple, list, None],
        "brightness": [Real, tuple, list, None],
        "crop": [tuple, list, None],
        "fill_mode": [StrOptions(set(FILL_MODES))],
        "interpolation": [StrOptions(set(INTERPOLATIONS))],
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

    def _plan(self) -> Plan:
        self._validate_params()
        return Plan(
            flip=None if self.flip is None else FLIP_AXES[self.flip],
            crop=crop_size(self.crop),
            translation=factor_range(self.translation, "translation"),
            rotation=factor_range(self.rotation, "rotation"),
            zoom=factor_range(self.zoom, "zoom"),
            contrast=factor_range(self.contrast, "contrast"),
            brightness=factor_range(self.brightness, "brightness"),
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

    def _resample(self, X: np.ndarray, plan: Plan, seed: int, start: int = 0) -> np.ndarray:
        """Originals and views of ``X``, whose first image has global index ``start``."""
        per = self.n_views + 1
        height, width = self._size(X)
        out = np.empty((X.shape[0] * per, *X.shape[1:]), dtype=_output_dtype(X.dtype))

        def work(a: int, b: int) -> None:
            for i in range(a, b):
                out[i * per] = X[i]
                rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(start + i,)))
                t = draw(plan, self.n_views, height, width, rng)
                for k in range(self.n_views):
                    apply_one(X[i], t, k, out[i * per + 1 + k], plan)

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
        return draw(plan, batch.shape[0], height, width, np.random.default_rng(rng))

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
                apply_one(batch[i], t, i, out[i], plan)

        _in_chunks(work, batch.shape[0], self.n_jobs)
        return out

    def to_keras_layer(self, *, name: str | None = None):
        """:meth:`to_keras_layers` under the name ``name`` (the export protocol's method).

        Parameters
        ----------
        name : str, default=None
            Name of the ``keras.Sequential``; ``"augmentation"`` by default.

        Returns
        -------
        keras.Sequential
        """
        return self.to_keras_layers(name=name or "augmentation")

    def to_keras_layers(self, *, name: str = "augmentation"):
        """The same augmentation as a ``keras.Sequential`` of Keras' own layers.

        Layers in the order this augmenter applies them (``RandomFlip``,
        ``RandomTranslation``, ``RandomRotation``, ``RandomZoom``, ``RandomContrast``,
        ``RandomBrightness``), with the same factors, fill and interpolation. Keras runs
        them in training only: ``fit`` runs them, ``predict`` and ``model(x,
        training=False)`` skip them; a bare ``model(x)`` call runs them too (Keras' layers
        default to ``training=True``). Seeds follow ``random_state`` when it is an int.

        Parameters
        ----------
        name : str, default="augmentation"
            Name of the ``keras.Sequential``.

        Returns
        -------
        keras.Sequential

        Raises
        ------
        UnsupportedStepError
            With ``crop``: Keras' ``RandomCrop`` changes the image size and is not the
            identity at inference, so no Keras layer matches this augmenter's crop.
        """
        from .._keras import import_keras

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
        return keras.Sequential(layers, name=name)
