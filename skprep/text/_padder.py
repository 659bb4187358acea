"""SequencePadder: ``keras.utils.pad_sequences`` as a scikit-learn transformer."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._compat import Interval, SkprepTransformer, StrOptions, fit_context
from ..exceptions import (
    InputShapeError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    InvalidParameterError,
)

__all__ = ["SequencePadder", "pad_sequences"]


def _as_sequences(sequences: Any, name: str) -> list:
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__len__"):
        raise InputShapeError(
            f"{name} expects a batch of sequences (a list of lists / 1-D arrays); received "
            f"{type(sequences).__name__}."
        )
    if hasattr(sequences, "iloc"):  # pandas Series of lists
        sequences = sequences.tolist()
    out = list(sequences)
    for i, seq in enumerate(out):
        if isinstance(seq, (str, bytes)) or not hasattr(seq, "__len__"):
            raise InputShapeError(
                f"{name}: sequence {i} is {type(seq).__name__} ({seq!r:.50}); expected a "
                "list or 1-D array of numbers. Wrap single values in a list."
            )
    return out


def _numpy_dtype(dtype: Any, what: str, error: type) -> np.dtype:
    """``np.dtype(dtype)``, or ``error`` naming ``what``."""
    try:
        return np.dtype(dtype)
    except TypeError as exc:
        raise error(f"{what} must be a NumPy dtype (e.g. 'int32', object); got "
                    f"{dtype!r}.") from exc


def pad_sequences(
    sequences: Sequence,
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: float | str = 0.0,
) -> np.ndarray:
    """Pad (or cut) sequences to one length, exactly like ``keras.utils.pad_sequences``.

    Parameters
    ----------
    sequences : list of sequences
        Each a list or array of values (or of equal-shaped sub-arrays); may be empty.
    maxlen : int or None, default=None
        Output length; None uses the longest sequence.
    dtype : dtype, default="int32"
        Output dtype (``value`` is cast to it, as Keras does).
    padding, truncating : {"pre", "post"}, default="pre"
        Where to pad / where to cut.
    value : float or str, default=0.0
        Padding value.

    Returns
    -------
    ndarray of shape (n_sequences, maxlen, ...)

    Examples
    --------
    >>> pad_sequences([[1, 2, 3], [4], []], maxlen=2)
    array([[2, 3],
           [0, 4],
           [0, 0]], dtype=int32)
    >>> pad_sequences([[1, 2, 3], [4]], padding="post", truncating="post", value=-1)
    array([[ 1,  2,  3],
           [ 4, -1, -1]], dtype=int32)
    """
    seqs = _as_sequences(sequences, "pad_sequences")
    _numpy_dtype(dtype, "pad_sequences: dtype", InvalidArgumentTypeError)
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise InvalidArgumentError(
            f"pad_sequences: padding and truncating must be 'pre' or 'post'; got "
            f"padding={padding!r}, truncating={truncating!r}."
        )
    lengths = [len(s) for s in seqs]
    sample_shape: tuple[int, ...] = ()
    for s in seqs:
        if len(s):
            sample_shape = np.asarray(s).shape[1:]
            break
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    is_str = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_str:
        raise InvalidArgumentError(
            f"pad_sequences: dtype {dtype} cannot hold the str value {value!r}; use "
            "dtype=object for variable-length strings."
        )
    out = np.full((len(seqs), maxlen, *sample_shape), value, dtype=dtype)
    if maxlen == 0:
        return out
    for idx, s in enumerate(seqs):
        if not len(s):
            continue
        trunc = np.asarray(s[-maxlen:] if truncating == "pre" else s[:maxlen], dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise InputShapeError(
                f"pad_sequences: sequence {idx} has elements of shape {trunc.shape[1:]}; "
                f"expected {sample_shape} like the first non-empty sequence."
            )
        if padding == "post":
            out[idx, : len(trunc)] = trunc
        else:
            out[idx, -len(trunc) :] = trunc
    return out


class SequencePadder(SkprepTransformer):
    """Pad ragged integer sequences to a fixed length, like ``keras.utils.pad_sequences``.

    Parameters
    ----------
    maxlen : int or None, default=None
        Output length. None learns it in :meth:`fit` as the longest training sequence,
        so every later batch gets the same width (``fit_transform`` then equals
        ``pad_sequences(X)``).
    padding : {"pre", "post"}, default="pre"
        Pad before or after each sequence (Keras' default is "pre").
    truncating : {"pre", "post"}, default="pre"
        Cut longer sequences at the beginning or the end.
    value : float, default=0.0
        Padding value.
    dtype : str or dtype, default="int32"
        Output dtype.

    Attributes
    ----------
    maxlen_ : int
        The output length used by :meth:`transform`.

    Examples
    --------
    >>> from skprep import SequencePadder
    >>> padder = SequencePadder().fit([[1, 2, 3], [4, 5]])
    >>> padder.transform([[7], [1, 2, 3, 4]])
    array([[0, 0, 7],
           [2, 3, 4]], dtype=int32)
    """

    _parameter_constraints: dict = {
        "maxlen": [Interval(Integral, 0, None, closed="left"), None],
        "padding": [StrOptions({"pre", "post"})],
        "truncating": [StrOptions({"pre", "post"})],
        "value": [Real, str],
        "dtype": "no_validation",
    }

    def __init__(
        self,
        *,
        maxlen: int | None = None,
        padding: str = "pre",
        truncating: str = "pre",
        value: float = 0.0,
        dtype: Any = "int32",
    ) -> None:
        self.maxlen = maxlen
        self.padding = padding
        self.truncating = truncating
        self.value = value
        self.dtype = dtype

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> SequencePadder:
        """Record the output length (``maxlen`` or the longest sequence of ``X``).

        Parameters
        ----------
        X : list of sequences
        y : None
            Ignored.

        Returns
        -------
        self : SequencePadder
        """
        seqs = _as_sequences(X, type(self).__name__)
        _numpy_dtype(self.dtype, f"The 'dtype' parameter of {type(self).__name__}",
                     InvalidParameterError)
        if self.maxlen is not None:
            self.maxlen_ = int(self.maxlen)
        else:
            self.maxlen_ = max((len(s) for s in seqs), default=0)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Pad / cut every sequence to ``maxlen_``.

        Parameters
        ----------
        X : list of sequences

        Returns
        -------
        ndarray of shape (n_sequences, maxlen_)
        """
        check_is_fitted(self, "maxlen_")
        return pad_sequences(X, maxlen=self.maxlen_, dtype=self.dtype, padding=self.padding,
                             truncating=self.truncating, value=self.value)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Positions: ``sequencepadder0`` ... ``sequencepadder{maxlen_-1}``."""
        check_is_fitted(self, "maxlen_")
        return np.array([f"sequencepadder{i}" for i in range(self.maxlen_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        return tags
