"""Shared input checks for the array estimators (batches of images or 2-D tables)."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data

from ._compat import Options
from .exceptions import InputShapeError

__all__ = ["IntTuple", "check_batch", "channel_axis", "fitted_on_images"]


class IntTuple(Options):
    """Parameter constraint: a tuple (or list) of ``length`` ints in ``[low, high]``.

    A scikit-learn ``_parameter_constraints`` entry, e.g. ``IntTuple(2, low=1)`` for
    ``(height, width)``; ``validate_params`` then raises its ``InvalidParameterError``
    (a ``ValueError`` naming the parameter). ``length=None`` accepts any non-empty
    length; ``allow_bool=False`` refuses ``True`` / ``False`` as ints; ``types`` are the
    accepted containers (tuples and lists by default). It derives from
    ``Options`` only so that scikit-learn accepts it as a constraint object.
    """

    def __init__(self, length: int | None, *, low: int | None = None, high: int | None = None,
                 allow_bool: bool = True, types: tuple[type, ...] = (tuple, list)) -> None:
        super().__init__(types, set())
        self.length, self.low, self.high, self.allow_bool = length, low, high, allow_bool

    def _is_int(self, v) -> bool:
        return (isinstance(v, (int, np.integer))
                and (self.allow_bool or not isinstance(v, (bool, np.bool_)))
                and (self.low is None or v >= self.low)
                and (self.high is None or v <= self.high))

    def is_satisfied_by(self, val) -> bool:
        if not isinstance(val, self.type):
            return False
        size_ok = len(val) > 0 if self.length is None else len(val) == self.length
        return size_ok and all(self._is_int(v) for v in val)

    def __str__(self) -> str:
        bounds = ""
        if self.low is not None and self.high is not None:
            bounds = f" in [{self.low}, {self.high}]"
        elif self.low is not None:
            bounds = f" >= {self.low}"
        elif self.high is not None:
            bounds = f" <= {self.high}"
        size = "non-empty" if self.length is None else str(self.length)
        return f"a tuple of {size} ints{bounds}"


def fitted_on_images(estimator) -> bool:
    """True when ``estimator`` (fitted) took image batches rather than a 2-D table.

    Image batches have no column names: ``get_feature_names_out`` returns None for
    them, so that a pipeline's names pass on to the step that makes 2-D features.
    """
    return not hasattr(estimator, "n_features_in_")


def channel_axis(ndim: int, data_format: str) -> int:
    """Index of the channel axis of an array with ``ndim`` dimensions."""
    if ndim == 2 or data_format == "channels_last":
        return ndim - 1
    return 1


def check_batch(estimator, X, *, reset: bool, data_format: str = "channels_last") -> np.ndarray:
    """Validate a batch ``(N, C)`` or ``(N, H, W, C)`` (``(N, C, H, W)`` channels-first).

    2-D input goes through scikit-learn's ``validate_data`` (so ``n_features_in_`` and
    its error messages are scikit-learn's). 4-D input records ``input_shape_`` (the shape
    of one sample) on ``reset`` and otherwise checks that the number of channels matches;
    the spatial size may change from batch to batch.

    Integer and float dtypes are kept (no copy); anything else becomes float64.
    """
    name = type(estimator).__name__
    arr = X if isinstance(X, np.ndarray) else None
    if arr is None and not hasattr(X, "shape") and isinstance(X, (list, tuple)):
        try:
            arr = np.asarray(X)
        except ValueError:  # ragged: let validate_data report it
            arr = None
    if arr is not None and arr.ndim == 4:
        arr = check_array(
            arr, allow_nd=True, dtype=None, ensure_all_finite=True, estimator=estimator
        )
        if arr.dtype.kind not in "uif":
            arr = arr.astype(np.float64)
        axis = channel_axis(4, data_format)
        if reset:
            estimator.input_shape_ = tuple(int(d) for d in arr.shape[1:])
            if hasattr(estimator, "n_features_in_"):
                del estimator.n_features_in_
        else:
            expected = getattr(estimator, "input_shape_", None)
            if expected is None or len(expected) != 3:
                raise InputShapeError(
                    f"{name} was fitted on 2-D input of sample shape {expected}; received a "
                    f"4-D batch of shape {arr.shape}."
                )
            exp_c = expected[axis - 1]
            if arr.shape[axis] != exp_c:
                raise InputShapeError(
                    f"{name} was fitted on images with {exp_c} channel(s) "
                    f"(data_format={data_format!r}); received a batch of shape {arr.shape} "
                    f"with {arr.shape[axis]} channel(s)."
                )
        return arr
    if arr is not None and arr.ndim not in (2, 4):
        raise InputShapeError(
            f"{name} expects a 2-D array (n_samples, n_channels) or a 4-D batch of images "
            f"(n_images, height, width, channels); received an array of shape {arr.shape}. "
            "Reshape your data: a single image is a batch of one (image[None]); ImageLoader "
            "builds batches from files."
        )
    if not reset and len(getattr(estimator, "input_shape_", ())) == 3:
        raise InputShapeError(
            f"{name} was fitted on 4-D image batches of sample shape {estimator.input_shape_};"
            f" received input of shape {np.shape(X)}."
        )
    arr = validate_data(estimator, X, reset=reset, dtype=[np.float64, np.float32, np.uint8,
                                                        np.uint16, np.int64, np.int32])
    if reset:
        estimator.input_shape_ = (arr.shape[1],)
    return arr
