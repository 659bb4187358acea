"""Input handling shared by the text estimators: batches of documents, n-gram widths."""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral
from typing import Any

import numpy as np

from ..exceptions import TextInputError
from ._standardize import to_bytes

__all__ = ["add_counts", "as_documents", "ngram_widths"]


def as_documents(X: Any, estimator_name: str) -> list[bytes]:
    """A batch of documents (list, 1-D array, Series, one-column 2-D) as UTF-8 bytes."""
    if isinstance(X, (str, bytes)):
        raise TextInputError(
            f"{estimator_name} expects a batch of documents (list of str, 1-D array or "
            f"pandas Series); received a single {type(X).__name__}: {X[:50]!r}. "
            "Wrap it in a list: [text]."
        )
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 2:
        if shape[1] != 1:
            raise TextInputError(
                f"{estimator_name} expects one column of documents; received 2-D input of "
                f"shape {tuple(shape)}. Select the text column (e.g. df['text'])."
            )
        X = X.iloc[:, 0] if hasattr(X, "iloc") else np.asarray(X)[:, 0]
    elif shape is not None and len(shape) != 1:
        raise TextInputError(
            f"{estimator_name} expects a 1-D batch of documents; received an array of "
            f"shape {tuple(shape)}."
        )
    if hasattr(X, "tolist"):
        items = X.tolist()
    elif isinstance(X, Iterable):
        items = list(X)
    else:
        raise TextInputError(
            f"{estimator_name} expects a batch of documents (list of str, 1-D array or "
            f"pandas Series); received {type(X).__name__}."
        )
    try:
        return [item.encode("utf-8") for item in items]
    except (AttributeError, UnicodeEncodeError):
        return [to_bytes(item, i) for i, item in enumerate(items)]


def ngram_widths(ngrams: int | tuple[int, ...] | None) -> tuple[int, ...] | None:
    if ngrams is None:
        return None
    if isinstance(ngrams, Integral) and not isinstance(ngrams, bool):
        return tuple(range(1, int(ngrams) + 1))
    return tuple(int(n) for n in ngrams)


def add_counts(x: dict | None, y: dict | None) -> dict | None:
    """Counts of ``x`` plus those of ``y``, in a new dict: ``x``'s keys first, then ``y``'s
    new ones in their order (so merging parts in order keeps the whole's key order).
    None stands for counts not kept; it merges to the other side.

    >>> add_counts({"a": 1, "b": 2}, {"b": 1, "c": 5})
    {'a': 1, 'b': 3, 'c': 5}
    """
    if x is None or y is None:
        return None if x is None and y is None else dict(x or y)
    out = dict(x)
    get = out.get
    for key, count in y.items():
        out[key] = get(key, 0) + count
    return out
