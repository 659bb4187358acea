"""fit_standardizer: DatasetStatsStandardizer statistics by map-reduce over a Dask collection."""

from __future__ import annotations

import warnings
from typing import Any

import dask
import numpy as np
from sklearn.base import clone

from ..exceptions import ImageLoadWarning, InputShapeError, InvalidArgumentError
from ..stats import ChannelMoments, DatasetStatsStandardizer
from ._collections import broadcast, current_client, discard, resolve, split_rows
from ._map import _apply, _sorted_failures

__all__ = ["fit_standardizer"]


def _partition_stats(shipped: tuple[Any, DatasetStatsStandardizer], part: Any,
                     offsets: list[int], index: int) -> tuple[ChannelMoments | None, list]:
    """The standardizer's moments of one partition (on a worker)."""
    loader, template = resolve(shipped)
    if len(part) == 0:
        return None, []
    if loader is None:
        batch, failures = (part if hasattr(part, "shape") else np.stack(list(part))), []
    else:
        batch, failures = _apply(loader, part, offsets[index], "transform")
    return template.partial_moments(batch), failures


def _merged(results: list[tuple[ChannelMoments | None, list]]) -> ChannelMoments:
    """The partitions' moments merged in partition order (empty partitions skipped)."""
    parts = [(i, moments) for i, (moments, _) in enumerate(results) if moments is not None]
    if not parts:
        raise InvalidArgumentError(
            "fit_standardizer got an empty collection; it needs at least one row.")
    first_index, merged = parts[0]
    for i, moments in parts[1:]:
        if (len(moments.input_shape) != len(merged.input_shape)
                or len(moments.mean) != len(merged.mean)):
            raise InputShapeError(
                f"Partition {i} has samples of shape {moments.input_shape}, partition "
                f"{first_index} of shape {merged.input_shape}: the number of channels "
                "(columns) must be the same in every partition."
            )
        merged = merged.merge(moments)
    return merged


def fit_standardizer(
    collection: Any,
    standardizer: DatasetStatsStandardizer | None = None,
    *,
    loader: Any = None,
    column: str | None = None,
    client: Any = None,
) -> DatasetStatsStandardizer:
    """Fit a :class:`~skprep.DatasetStatsStandardizer` over a Dask collection.

    Map: each partition is loaded (``loader``) and its per-channel count, mean and sum
    of squared deviations computed on a worker, exactly as ``fit`` on that partition
    would. Reduce: the partitions' moments are merged on the client, in partition
    order, with the same pairwise merge as ``partial_fit``. The result is therefore
    identical to ``partial_fit`` over the partitions in order (and equal to one local
    ``fit`` up to float rounding), ``n_samples_seen_`` and ``n_pixels_seen_`` included.

    Parameters
    ----------
    collection : dask.bag.Bag, dask.dataframe.DataFrame / Series, or dask.array.Array
        Paths (or other loader items) as a bag or a dataframe column, or images /
        rows as an array chunked along axis 0 only.
    standardizer : DatasetStatsStandardizer, optional
        Its parameters are used (it is cloned, not modified). Default:
        ``DatasetStatsStandardizer()``.
    loader : ImageLoader or fitted transformer / Pipeline, optional
        Turns a partition into an image batch (e.g. ``ImageLoader(target_size=...)``,
        or a pipeline of the steps before the standardizer). Required for paths;
        failures follow its ``on_error`` (``"fill"``: filled rows count in the
        statistics, as locally, and an ImageLoadWarning lists them).
    column : str, optional
        The column of paths, for a dask DataFrame of several columns.
    client : distributed.Client, optional
        Defaults to the current client; None with no client uses the local scheduler.

    Returns
    -------
    DatasetStatsStandardizer
        Fitted.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skprep import DatasetStatsStandardizer
    >>> from skprep.distributed import fit_standardizer
    >>> images = np.arange(4 * 2 * 2 * 3, dtype=np.uint8).reshape(4, 2, 2, 3)
    >>> with __import__("dask").config.set(scheduler="sync"):
    ...     scaler = fit_standardizer(da.from_array(images, chunks=(3, 2, 2, 3)))
    >>> scaler.n_samples_seen_, np.allclose(scaler.mean_, images.reshape(-1, 3).mean(0))
    (4, True)
    """
    template = DatasetStatsStandardizer() if standardizer is None else clone(standardizer)
    template._validate_params()
    split = split_rows(collection, column=column)
    if split.kind != "array" and loader is None:
        raise InvalidArgumentError(
            f"fit_standardizer got a dask {split.kind} of items, which need loading; pass "
            "loader=ImageLoader(target_size=...) (the loader of your pipeline)."
        )
    client = current_client(client)
    shipped = broadcast((loader, template), client)
    stats = dask.delayed(_partition_stats, pure=True)
    results = [stats(shipped, part, split.offsets, i) for i, part in enumerate(split.parts)]
    try:
        if client is not None:
            results = client.gather(client.compute(results))
        else:
            results = dask.compute(*results)
    finally:
        discard(shipped, client)  # a one-off computation: nothing to keep on the workers

    template.fit_from_moments(_merged(results))  # the state partial_fit would leave

    failures = _sorted_failures([f for _, f in results])
    if failures:
        warnings.warn(
            ImageLoadWarning(
                f"{len(failures)} image(s) failed on the workers and were filled (their rows "
                f"count in the statistics): rows {[f.index for f in failures]}. First "
                f"failure: {failures[0]}.",
                failures,
            ),
            stacklevel=2,
        )
    return template
