"""Per-channel mean/std of your own images, fitted by streaming over batches.

Statistics are accumulated in float64 and merged with the pairwise update of
Chan, Golub and LeVeque (1979), so ``partial_fit`` over any chunking gives the same
result as ``fit`` on the whole, up to rounding. Integer input is summed exactly in
integers, so uint8 statistics do not depend on the chunking at all.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import OneToOneFeatureMixin, clone
from sklearn.utils.validation import check_is_fitted

from ._buffers import recycler_for
from ._compat import Interval, Real, SkprepTransformer, StrOptions
from ._lut import apply_table, channel_histograms
from ._validation import channel_axis, check_batch, fitted_on_images
from .exceptions import InputShapeError, NotDistributableError, UnsupportedStepError

__all__ = ["ChannelMoments", "DatasetStatsStandardizer", "batch_moments", "merge_moments"]

_ROWS_PER_CHUNK = 1 << 16  # pixels per chunk: 1.5 MiB of float64 for RGB, stays in cache
_PIXELS_PER_ROW = 256  # pixels per row when centring float chunks


def _pixel_views(X: np.ndarray, data_format: str) -> list[np.ndarray]:
    """X as (n_pixels, C) pieces: the whole batch when channels are last, else one per image.

    With channels first, a contiguous image ``(C, H, W)`` is a ``(H * W, C)`` view, so
    nothing batch-sized is copied; the batch as a whole cannot be viewed that way.
    """
    n_channels = X.shape[channel_axis(X.ndim, data_format)]
    if channel_axis(X.ndim, data_format) == X.ndim - 1:
        return [X.reshape(-1, n_channels)]
    return [np.moveaxis(image, 0, -1).reshape(-1, n_channels) for image in X]


def _bincount_histograms(pixels: np.ndarray) -> np.ndarray:
    """Per-column histograms of uint8 pixels, int64 ``(C, 256)``, with NumPy alone.

    Each chunk is flattened, column c is offset into bins ``[256 c, 256 c + 256)``,
    and one ``bincount`` counts every value of every column.
    """
    n, n_channels = pixels.shape
    offsets = np.tile(np.arange(n_channels, dtype=np.intp) * 256, _ROWS_PER_CHUNK)
    index = np.empty(_ROWS_PER_CHUNK * n_channels, dtype=np.intp)
    counts = np.zeros(256 * n_channels, dtype=np.int64)
    for start in range(0, n, _ROWS_PER_CHUNK):
        flat = np.ascontiguousarray(pixels[start : start + _ROWS_PER_CHUNK]).reshape(-1)
        size = flat.size
        np.add(flat, offsets[:size], out=index[:size])
        counts += np.bincount(index[:size], minlength=counts.size)
    return counts.reshape(n_channels, 256)


def _uint8_sums(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-column sums of x and x**2 of uint8 pixels, from one histogram pass.

    The histograms come from ``cv2.calcHist`` (or :func:`_bincount_histograms`); the
    sums follow from the counts in int64, exactly.
    """
    counts = channel_histograms(pixels)  # OpenCV, when it is there
    if counts is None:
        counts = _bincount_histograms(pixels)
    values = np.arange(256, dtype=np.int64)
    return counts @ values, counts @ (values * values)


def _integer_sums(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-column sums of x and x**2 of small integers, in int64 chunks."""
    n, n_channels = pixels.shape
    s1 = np.zeros(n_channels, dtype=np.int64)
    s2 = np.zeros(n_channels, dtype=np.int64)
    for start in range(0, n, _ROWS_PER_CHUNK):
        chunk = pixels[start : start + _ROWS_PER_CHUNK].astype(np.int64)
        s1 += chunk.sum(axis=0)
        s2 += np.einsum("ij,ij->j", chunk, chunk)
    return s1, s2


def _float_moments(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and M2 per column of float pixels: two passes per cache-sized chunk.

    Each chunk is copied once into a float64 buffer, summed with BLAS, centred on its
    own mean and reduced; the chunks are merged with :func:`merge_moments`. Centring
    and squaring work on rows of ``_PIXELS_PER_ROW`` pixels (the mean tiled along a
    row), so that NumPy's inner loops run over long contiguous rows, not over C values.
    """
    n, n_channels = pixels.shape
    rows = min(n, _ROWS_PER_CHUNK)
    width = _PIXELS_PER_ROW * n_channels
    buffer = np.empty(rows * n_channels)
    ones = np.ones(rows)
    seen, mean, m2 = 0, np.zeros(n_channels), np.zeros(n_channels)
    for start in range(0, n, rows):
        chunk = pixels[start : start + rows]
        k = len(chunk)
        flat = buffer[: k * n_channels]
        block = flat.reshape(k, n_channels)
        np.copyto(block, chunk)
        chunk_mean = (ones[:k] @ block) / k
        full = k - k % _PIXELS_PER_ROW
        wide = flat[: full * n_channels].reshape(-1, width)
        wide -= np.tile(chunk_mean, _PIXELS_PER_ROW)
        chunk_m2 = np.einsum("ij,ij->j", wide, wide).reshape(_PIXELS_PER_ROW, n_channels)
        chunk_m2 = chunk_m2.sum(axis=0)
        if full < k:
            tail = block[full:]
            tail -= chunk_mean
            chunk_m2 += np.einsum("ij,ij->j", tail, tail)
        seen, mean, m2 = merge_moments(seen, mean, m2, k, chunk_mean, chunk_m2)
    return mean, m2


def _constant_channels(var: np.ndarray, mean: np.ndarray, n: int) -> np.ndarray:
    """Channels indistinguishable from constant: scikit-learn's StandardScaler rule.

    The error bound of the two-pass variance (Chan, Golub & LeVeque), relative to the
    channel's own variance and mean: ``var <= n eps var + (n mean eps)**2``. A channel
    that genuinely varies at any scale (1e-16 around 0) is scaled; one whose variance
    is rounding noise around a large mean gets scale 1.
    """
    eps = np.finfo(np.float64).eps
    return var <= n * eps * var + (n * mean * eps) ** 2


def batch_moments(pixels: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Count, mean and sum of squared deviations (M2) per column, in float64.

    Integer input is summed exactly (uint8 through one histogram pass, other small
    integers in int64, then Python ints); float input chunk by chunk in float64
    (no float64 copy of the whole batch).

    Parameters
    ----------
    pixels : ndarray of shape (n, C)

    Returns
    -------
    n : int
    mean : ndarray of float64, shape (C,)
    m2 : ndarray of float64, shape (C,)

    Examples
    --------
    >>> import numpy as np
    >>> batch_moments(np.array([[0, 10], [2, 10]], dtype=np.uint8))
    (2, array([ 1., 10.]), array([2., 0.]))
    """
    return _moments_of_pieces([pixels])


def _moments_of_pieces(pieces: list[np.ndarray]) -> tuple[int, np.ndarray, np.ndarray]:
    """:func:`batch_moments` of the row-wise concatenation of ``pieces`` (same dtype)."""
    n_channels = pieces[0].shape[1]
    n = sum(len(piece) for piece in pieces)
    if n == 0:
        return 0, np.zeros(n_channels), np.zeros(n_channels)
    dtype = pieces[0].dtype
    if dtype.kind in "uib" and dtype.itemsize <= 2:
        sums = _uint8_sums if dtype == np.uint8 else _integer_sums
        s1 = np.zeros(n_channels, dtype=np.int64)
        s2 = np.zeros(n_channels, dtype=np.int64)
        for piece in pieces:
            a, b = sums(piece)
            s1 += a
            s2 += b
        mean = np.array([int(a) / n for a in s1])
        # M2 = s2 - s1^2 / n, exactly, in Python integers
        m2 = np.array([(n * int(b) - int(a) * int(a)) / n for a, b in zip(s1, s2, strict=True)])
        return n, mean, m2
    seen, mean, m2 = 0, np.zeros(n_channels), np.zeros(n_channels)
    for piece in pieces:
        if len(piece):
            seen, mean, m2 = merge_moments(seen, mean, m2, len(piece), *_float_moments(piece))
    return n, mean, m2


def merge_moments(
    n_a: int, mean_a: np.ndarray, m2_a: np.ndarray, n_b: int, mean_b: np.ndarray, m2_b: np.ndarray
) -> tuple[int, np.ndarray, np.ndarray]:
    """Merge two sets of (count, mean, M2) with Chan et al.'s pairwise formula.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0], [2.0], [3.0], [7.0]])
    >>> merged = merge_moments(*batch_moments(x[:1]), *batch_moments(x[1:]))
    >>> merged[0], merged[1], merged[2] / merged[0] == np.var(x, axis=0)
    (4, array([3.25]), array([ True]))
    """
    if n_a == 0:
        return n_b, mean_b.copy(), m2_b.copy()
    if n_b == 0:
        return n_a, mean_a.copy(), m2_a.copy()
    n = n_a + n_b
    delta = mean_b - mean_a
    mean = mean_a + delta * (n_b / n)
    m2 = m2_a + m2_b + delta * delta * (n_a * n_b / n)
    return n, mean, m2


@dataclass(frozen=True)
class ChannelMoments:
    """Mergeable per-channel statistics of some batches: the state of a standardizer's fit.

    Made by :meth:`DatasetStatsStandardizer.partial_moments`, merged with
    :meth:`merge` (in any grouping, in order: the same pairwise update as
    ``partial_fit``), and turned into a fitted standardizer by
    :meth:`DatasetStatsStandardizer.fit_from_moments`. Small and picklable, so partial
    results travel cheaply between processes (the Dask helpers use exactly this).

    Attributes
    ----------
    n_samples : int
        Images (rows of 2-D input) counted.
    n_pixels : int
        Values per channel counted.
    mean : ndarray of float64, shape (C,)
        Per-channel mean of ``input_scale * X``.
    m2 : ndarray of float64, shape (C,)
        Per-channel sum of squared deviations from the mean.
    input_shape : tuple of int
        Shape of one sample of the first batch (``(C,)`` for 2-D input).

    Examples
    --------
    >>> import numpy as np
    >>> scaler = DatasetStatsStandardizer()
    >>> x = np.array([[1.0], [2.0], [3.0], [7.0]])
    >>> moments = scaler.partial_moments(x[:1]).merge(scaler.partial_moments(x[1:]))
    >>> moments.n_samples, moments.mean
    (4, array([3.25]))
    """

    n_samples: int
    n_pixels: int
    mean: np.ndarray
    m2: np.ndarray
    input_shape: tuple[int, ...]

    def merge(self, other: ChannelMoments) -> ChannelMoments:
        """These moments followed by ``other``'s (Chan et al.'s pairwise update).

        Parameters
        ----------
        other : ChannelMoments
            Statistics with the same number of channels (and sample rank).

        Returns
        -------
        ChannelMoments
            The statistics of both; ``input_shape`` is this one's.

        Raises
        ------
        InputShapeError
            When the channels (columns) or the sample rank differ.
        """
        if len(self.input_shape) != len(other.input_shape) or len(self.mean) != len(other.mean):
            raise InputShapeError(
                f"Cannot merge statistics of samples of shape {other.input_shape} into "
                f"statistics of samples of shape {self.input_shape}: the number of channels "
                "(columns) must be the same."
            )
        n, mean, m2 = merge_moments(self.n_pixels, self.mean, self.m2,
                                    other.n_pixels, other.mean, other.m2)
        return ChannelMoments(self.n_samples + other.n_samples, n, mean, m2, self.input_shape)


def _is_lazy(X) -> bool:
    """True for a Dask collection (only when Dask is already imported: a Dask object
    cannot exist otherwise)."""
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(X)


def _lazy_moments(standardizer: DatasetStatsStandardizer, X) -> ChannelMoments:
    """The moments of a Dask array, by :func:`skprep.distributed.fit_standardizer`."""
    if not hasattr(X, "blocks"):
        raise NotDistributableError(
            f"DatasetStatsStandardizer cannot fit a {type(X).__module__}.{type(X).__name__} "
            "in memory; use skprep.distributed.fit_standardizer(collection, standardizer, "
            "loader=ImageLoader(...)) for a Dask bag or dataframe of image items."
        )
    from .distributed import fit_standardizer

    fitted = fit_standardizer(X, standardizer)
    return ChannelMoments(fitted.n_samples_seen_, fitted.n_pixels_seen_, fitted.mean_,
                          fitted.var_ * fitted.n_pixels_seen_, fitted.input_shape_)


class DatasetStatsStandardizer(OneToOneFeatureMixin, SkprepTransformer):
    """Standardize images (or tables) per channel with statistics of your own data.

    Learns the per-channel mean and standard deviation of ``input_scale * X`` over
    every pixel of every image, streaming batch by batch with :meth:`partial_fit`,
    then computes ``(input_scale * X - mean_) / scale_``.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract the mean.
    with_std : bool, default=True
        Divide by the standard deviation.
    input_scale : float, default=1.0
        Multiply the input by this before anything else, e.g. ``1/255`` to get
        "torch-style" statistics of pixels in [0, 1].
    data_format : {"channels_last", "channels_first"}, default="channels_last"
        Channel axis of 4-D input.

    Attributes
    ----------
    mean_ : ndarray of float64, shape (C,)
        Per-channel mean of ``input_scale * X``.
    var_ : ndarray of float64, shape (C,)
        Per-channel (population) variance.
    scale_ : ndarray of float64, shape (C,) or None
        Per-channel standard deviation; 1 for a constant channel. None when
        ``with_std=False``.
    n_samples_seen_ : int
        Number of images (rows of 2-D input) seen.
    n_pixels_seen_ : int
        Number of values per channel seen (pixels).
    input_shape_ : tuple of int
        Shape of one sample seen first.
    n_features_in_ : int
        Number of columns, for 2-D input only.

    Notes
    -----
    Output dtype: float32 for image batches (Keras' dtype) and for 2-D input of any
    other dtype; a float64 table (2-D float64) gives float64, computed as
    scikit-learn's ``StandardScaler`` does (``(x - mean_) / scale_``), so the two agree
    to float64 rounding. A channel is constant, and keeps scale 1, by scikit-learn's rule:
    its variance is within the rounding error of the variance computation relative to
    its own mean and variance (a channel varying at scale 1e-16 is still scaled).

    Memory is O(one batch): nothing is concatenated. uint8/uint16 input is summed
    exactly in integers; float input in float64, in chunks. Concurrent
    :meth:`partial_fit` calls on one instance are serialized by a lock, so several
    threads may feed it without corrupting the statistics. :meth:`transform` outputs
    of 1 MiB or more reuse the memory of the previous output once every array made
    from it is gone, as :class:`~skprep.KerasModeNormalizer` does (one idle block is
    kept while the standardizer exists; the arrays do not own their memory).

    Examples
    --------
    >>> import numpy as np
    >>> from skprep import DatasetStatsStandardizer
    >>> rng = np.random.default_rng(0)
    >>> scaler = DatasetStatsStandardizer(input_scale=1 / 255)
    >>> for _ in range(3):
    ...     scaler = scaler.partial_fit(rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8))
    >>> scaler.n_samples_seen_, scaler.mean_.shape
    (12, (3,))
    >>> out = scaler.transform(rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8))
    >>> out.dtype, out.shape
    (dtype('float32'), (2, 8, 8, 3))
    """

    _parameter_constraints: dict = {
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
        "input_scale": [Interval(Real, 0, None, closed="neither")],
        "data_format": [StrOptions({"channels_last", "channels_first"})],
    }

    def __init__(
        self,
        *,
        with_mean: bool = True,
        with_std: bool = True,
        input_scale: float = 1.0,
        data_format: str = "channels_last",
    ) -> None:
        self.with_mean = with_mean
        self.with_std = with_std
        self.input_scale = input_scale
        self.data_format = data_format

    # the lock is runtime state, not a parameter: created on demand, never pickled
    def _get_lock(self) -> threading.Lock:
        lock = self.__dict__.get("_lock")
        if lock is None:
            lock = self.__dict__.setdefault("_lock", threading.Lock())
        return lock

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state = dict(state)
        state.pop("_lock", None)
        return state

    def _reset(self) -> None:
        for name in ("mean_", "var_", "scale_", "n_samples_seen_", "n_pixels_seen_",
                     "input_shape_", "n_features_in_", "_m2"):
            self.__dict__.pop(name, None)

    def fit(self, X, y=None):
        """Compute the statistics of X (one batch; use partial_fit to stream).

        Parameters
        ----------
        X : array-like of shape (N, H, W, C) or (N, C)
        y : None
            Ignored.

        Returns
        -------
        self : DatasetStatsStandardizer
        """
        return self._refit(self._merge_batch, X)

    def _refit(self, set_state, source) -> DatasetStatsStandardizer:
        """Validate, then reset and ``set_state(source)`` under the lock: a concurrent
        partial_fit never sees half a fit."""
        self._validate_params()
        with self._get_lock():
            self._reset()
            set_state(source)
        return self

    def partial_fit(self, X, y=None):
        """Merge the statistics of one more batch.

        Parameters
        ----------
        X : array-like of shape (N, H, W, C) or (N, C)
        y : None
            Ignored.

        Returns
        -------
        self : DatasetStatsStandardizer
        """
        self._validate_params()
        with self._get_lock():
            self._merge_batch(X)
        return self

    def _merge_batch(self, X) -> None:
        """Merge one batch into the running statistics; the caller holds the lock."""
        first = not hasattr(self, "n_pixels_seen_")
        if _is_lazy(X):  # a Dask array: map-reduce, never one in-memory batch
            moments = _lazy_moments(self, X)
            if first:
                self._set_fitted(moments)
            else:
                self._set_moments(self._fitted_moments().merge(moments))
            return
        X = check_batch(self, X, reset=first, data_format=self.data_format)
        moments = self._moments(X)
        if not first:
            moments = self._fitted_moments().merge(moments)
        self._set_moments(moments)

    def _moments(self, X: np.ndarray) -> ChannelMoments:
        """The moments of a validated batch, in units of ``input_scale * X``."""
        n, mean, m2 = _moments_of_pieces(_pixel_views(X, self.data_format))
        if self.input_scale != 1.0:
            mean = mean * self.input_scale
            m2 = m2 * (self.input_scale * self.input_scale)
        return ChannelMoments(X.shape[0], n, mean, m2, tuple(int(d) for d in X.shape[1:]))

    def _fitted_moments(self) -> ChannelMoments:
        return ChannelMoments(self.n_samples_seen_, self.n_pixels_seen_, self.mean_, self._m2,
                              self.input_shape_)

    def partial_moments(self, X) -> ChannelMoments:
        """The statistics of one batch, as :meth:`fit` would compute them; nothing is set.

        The map step of a map-reduce fit: compute ``partial_moments`` of each chunk
        (anywhere: the estimator is not modified), merge the results in chunk order with
        :meth:`ChannelMoments.merge`, and give the total to :meth:`fit_from_moments`.
        The result is identical to :meth:`partial_fit` over the chunks in that order
        (and equal to one :meth:`fit` on the whole up to float rounding; exactly equal
        for one chunk).

        Parameters
        ----------
        X : array-like of shape (N, H, W, C) or (N, C)

        Returns
        -------
        ChannelMoments

        Examples
        --------
        >>> import numpy as np
        >>> scaler = DatasetStatsStandardizer()
        >>> chunks = [np.full((2, 4, 4, 3), v, np.uint8) for v in (10, 20)]
        >>> total = scaler.partial_moments(chunks[0]).merge(scaler.partial_moments(chunks[1]))
        >>> scaler.fit_from_moments(total).mean_
        array([15., 15., 15.])
        """
        self._validate_params()
        # validation records the input shape on the estimator it checks: a copy
        X = check_batch(clone(self), X, reset=True, data_format=self.data_format)
        return self._moments(X)

    def fit_from_moments(self, moments: ChannelMoments) -> DatasetStatsStandardizer:
        """Set the fitted state from (merged) moments, replacing any earlier fit.

        Leaves exactly the state that :meth:`partial_fit` over the same batches leaves,
        so :meth:`partial_fit` can continue from it.

        Parameters
        ----------
        moments : ChannelMoments
            From :meth:`partial_moments`, usually merged.

        Returns
        -------
        self : DatasetStatsStandardizer
        """
        return self._refit(self._set_fitted, moments)

    def _set_fitted(self, moments: ChannelMoments) -> None:
        """The whole fitted state from moments (after a reset): shapes and statistics."""
        self.input_shape_ = tuple(moments.input_shape)
        if len(self.input_shape_) == 1:
            self.n_features_in_ = self.input_shape_[0]
        self._set_moments(moments)

    def _set_moments(self, moments: ChannelMoments) -> None:
        """Set the statistics' fitted attributes from merged moments."""
        n_pixels, mean, m2 = moments.n_pixels, moments.mean, moments.m2
        self.n_pixels_seen_ = n_pixels
        self.n_samples_seen_ = moments.n_samples
        self.mean_ = mean
        self._m2 = m2
        self.var_ = m2 / n_pixels if n_pixels else np.zeros_like(m2)
        if self.with_std:
            scale = np.sqrt(self.var_)
            scale[_constant_channels(self.var_, mean, n_pixels)] = 1.0
            self.scale_ = scale
        else:
            self.scale_ = None

    def _coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """(a, b) per channel such that transform(x) = a * x + b."""
        scale = self.scale_ if self.with_std else np.ones_like(self.mean_)
        shift = self.mean_ if self.with_mean else np.zeros_like(self.mean_)
        return self.input_scale / scale, -shift / scale

    def _float64_table(self, X: np.ndarray, inverse: bool) -> np.ndarray:
        """2-D float64 input, in float64 and in StandardScaler's order of operations."""
        scale = self.scale_ if self.with_std else np.ones_like(self.mean_)
        shift = self.mean_ if self.with_mean else np.zeros_like(self.mean_)
        out = X.astype(np.float64, copy=True)
        if inverse:
            out *= scale
            out += shift
            out /= self.input_scale
        else:
            out *= self.input_scale
            out -= shift
            out /= scale
        return out

    def _affine(self, X: np.ndarray, a: np.ndarray, b: np.ndarray,
                empty: Callable[..., np.ndarray] = np.empty) -> np.ndarray:
        axis = channel_axis(X.ndim, self.data_format)
        if X.dtype == np.uint8 and X.ndim >= 2:
            # the same float32 operations on the 256 possible values, then a lookup
            table = np.repeat(np.arange(256, dtype=np.float32)[:, None], a.size, axis=1)
            table *= a.astype(np.float32)
            table += b.astype(np.float32)
            out = apply_table(X, table.reshape(1, 256, a.size),
                              channels_first=axis != X.ndim - 1, empty=empty)
            if out is not None:
                return out
        shape = [1] * X.ndim
        shape[axis] = -1
        out = empty(X.shape, np.float32)
        np.copyto(out, X, casting="unsafe")  # the values of X.astype(float32)
        out *= a.astype(np.float32).reshape(shape)
        out += b.astype(np.float32).reshape(shape)
        return out

    def transform(self, X):
        """Standardize X with the fitted statistics; X is not modified.

        Parameters
        ----------
        X : array-like of shape (N, H, W, C) or (N, C)

        Returns
        -------
        ndarray of float32 (float64 for a float64 table), same shape as X
        """
        check_is_fitted(self, "mean_")
        X = check_batch(self, X, reset=False, data_format=self.data_format)
        if X.ndim == 2 and X.dtype == np.float64:
            return self._float64_table(X, inverse=False)
        a, b = self._coefficients()
        return self._affine(X, a, b, recycler_for(self).empty)

    def inverse_transform(self, X):
        """Map standardized values back to the input's scale.

        Parameters
        ----------
        X : array-like of shape (N, H, W, C) or (N, C)

        Returns
        -------
        ndarray of float32 (float64 for a float64 table), same shape as X
        """
        check_is_fitted(self, "mean_")
        X = check_batch(self, X, reset=False, data_format=self.data_format)
        if X.ndim == 2 and X.dtype == np.float64:
            return self._float64_table(X, inverse=True)
        a, b = self._coefficients()
        return self._affine(X, 1.0 / a, -b / a)

    def get_feature_names_out(self, input_features=None):
        """Output names for 2-D input (the same as the input's); None for images.

        Parameters
        ----------
        input_features : array-like of str, default=None

        Returns
        -------
        ndarray of str, or None
            None when fitted on image batches, which have no column names (a
            pipeline then passes None on to the step that makes 2-D features).
        """
        check_is_fitted(self, "mean_")
        if fitted_on_images(self):
            return None
        return super().get_feature_names_out(input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32", "float64"]
        return tags

    def to_keras_layer(self, *, name: str | None = None):
        """These statistics as a Keras ``Normalization`` layer.

        ``mean_`` and ``var_`` are in units of ``x * input_scale``; the layer works on the
        raw input, so its mean is ``mean_ / input_scale`` and its variance
        ``(scale_ / input_scale) ** 2`` (0 and 1 in scaled units when ``with_mean`` /
        ``with_std`` is False; a constant channel keeps scale 1, as in ``transform``).

        Parameters
        ----------
        name : str, optional
            Layer name; default ``"dataset_stats"``.

        Returns
        -------
        keras.layers.Normalization

        Raises
        ------
        UnsupportedStepError
            A channel scale below Keras' epsilon, which ``Normalization`` would clip.

        Examples
        --------
        (Not run here: it imports Keras.) ::

            scaler = DatasetStatsStandardizer(input_scale=1 / 255).fit(pixels)
            layer = scaler.to_keras_layer()      # mean = mean_ * 255, variance = var_ * 255**2
        """
        import keras

        check_is_fitted(self, "mean_")
        mean = np.asarray(self.mean_, np.float64)
        scale = self.scale_ if self.with_std else np.ones_like(mean)
        shift = mean if self.with_mean else np.zeros_like(mean)
        factor = float(self.input_scale)
        raw_std = np.asarray(scale, np.float64) / factor
        if np.any(raw_std < keras.config.epsilon()):
            raise UnsupportedStepError(
                f"DatasetStatsStandardizer has a channel scale of {raw_std.min():g} in input "
                f"units, below Keras' epsilon {keras.config.epsilon():g} that Normalization "
                "clips to; the exported model would differ. Refit on more varied data."
            )
        axis = 1 if len(self.input_shape_) == 3 and self.data_format == "channels_first" else -1
        return keras.layers.Normalization(
            axis=axis, mean=shift / factor, variance=raw_std**2, name=name or "dataset_stats"
        )
