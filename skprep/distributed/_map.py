"""map_pipeline: a fitted pipeline applied partition by partition on a Dask cluster."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import dask
import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..exceptions import (
    ImageFailure,
    ImageLoadWarning,
    InputShapeError,
    InvalidArgumentError,
)
from ..images import ImageLoader
from ._collections import Partitions, broadcast, current_client, release, resolve, split_rows

__all__ = ["MapResult", "map_pipeline", "release_pipelines"]

_METHODS = ("transform", "predict", "predict_proba", "predict_log_proba",
            "decision_function", "score_samples")


@dataclass(frozen=True)
class MapResult:
    """What :func:`map_pipeline` returns: the lazy output and the lazy failure report.

    Unpack it (``output, failures = map_pipeline(...)``) or call :meth:`compute`.

    Attributes
    ----------
    output : dask.bag.Bag, dask.array.Array, dask.dataframe.Series or DataFrame
        One row per input item, in input order (bag in -> bag out, array in -> array
        out, dataframe in -> Series / DataFrame on the same index and partitions).
    failures : dask.delayed.Delayed
        Computes to the list of :class:`~skprep.exceptions.ImageFailure` of the items
        that failed and were filled (loader ``on_error="fill"``), with their global
        index in the collection, sorted. Always empty with ``on_error="raise"`` (the
        computation raises :class:`~skprep.exceptions.ImageLoadError` instead).

    Notes
    -----
    :meth:`compute` runs every partition once and returns both. Computing ``output``
    and ``failures`` separately (or in one ``dask.compute`` call, where Dask's graph
    optimizations may fuse the shared tasks apart) runs the pipeline for each.
    """

    output: Any
    failures: Any
    _parts: list = field(default_factory=list, repr=False)
    _kind: str = field(default="bag", repr=False)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.output, self.failures))

    def compute(self, **kwargs: Any) -> tuple[Any, list[ImageFailure]]:
        """Compute the output and the failures in one pass over the cluster.

        Issues an :class:`~skprep.exceptions.ImageLoadWarning` on the client when some
        items failed, as :class:`~skprep.ImageLoader` does locally.

        Parameters
        ----------
        **kwargs
            Passed to ``dask.compute`` (e.g. ``workers=[...]`` on a distributed client).

        Returns
        -------
        output : list, ndarray, pandas Series or DataFrame
            What ``self.output.compute()`` returns.
        failures : list of ImageFailure
        """
        (parts,) = dask.compute(self._parts, **kwargs)
        outputs = [out for out, _ in parts]
        failures = _sorted_failures([fails for _, fails in parts])
        if self._kind == "bag":
            output: Any = [row for out in outputs for row in out]
        elif self._kind == "array":
            output = np.concatenate(outputs, axis=0)
        else:
            import pandas as pd

            output = pd.concat(outputs)
        if failures:
            warnings.warn(
                ImageLoadWarning(
                    f"{len(failures)} image(s) failed on the workers and were filled: rows "
                    f"{[f.index for f in failures]}. First failure: {failures[0]}.",
                    failures,
                ),
                stacklevel=2,
            )
        return output, failures


# --------------------------------------------------------------------------- worker side


def _leading_loader(pipeline: Any) -> tuple[ImageLoader | None, Any]:
    """(loader, rest): the ImageLoader that starts ``pipeline`` and what follows it."""
    if isinstance(pipeline, ImageLoader):
        return pipeline, None
    if isinstance(pipeline, Pipeline) and isinstance(pipeline.steps[0][1], ImageLoader):
        return pipeline.steps[0][1], (pipeline[1:] if len(pipeline.steps) > 1 else None)
    return None, pipeline


def _apply(pipeline: Any, items: Any, offset: int, method: str) -> tuple[Any, list]:
    """Run ``method`` on one partition; failures carry global indices."""
    loader, rest = _leading_loader(pipeline)
    if loader is None:
        return getattr(pipeline, method)(items), []
    batch, report = loader.load(items, return_report=True, index_offset=offset)
    return (batch if rest is None else getattr(rest, method)(batch)), list(report.failures)


def _empty_output(kind: str, meta: Any) -> Any:
    if kind == "bag":
        return []
    return meta.iloc[:0] if kind == "frame" else meta[:0]


def _run_partition(pipeline: Any, part: Any, offsets: list[int], index: int, method: str,
                   kind: str, meta: Any) -> tuple[Any, list[ImageFailure]]:
    pipeline = resolve(pipeline)
    if len(part) == 0:
        return _empty_output(kind, meta), []
    out, failures = _apply(pipeline, part, offsets[index], method)
    if hasattr(out, "tocsr"):  # scipy sparse (TextVectorizer counts): rows of a bag
        if kind != "bag":
            raise InputShapeError(
                f"{method} returned a sparse matrix; map_pipeline returns sparse rows in a "
                "dask.bag only. Pass a dask.bag, or make the output dense (sparse=False)."
            )
        out = out.tocsr()
        return [out[i] for i in range(out.shape[0])], failures
    out = np.asarray(out)
    if out.shape[0] != len(part):
        raise InputShapeError(
            f"{type(pipeline).__name__}.{method} returned {out.shape[0]} rows for a partition "
            f"of {len(part)} items; map_pipeline needs one output row per input item."
        )
    if kind == "bag":
        return list(out), failures
    if kind == "frame":
        import pandas as pd

        if out.ndim == 1:
            return pd.Series(out, index=part.index, name=meta.name), failures
        return pd.DataFrame(out, index=part.index, columns=meta.columns), failures
    return out, failures


def _probe(pipeline: Any, sample: Any, method: str) -> np.ndarray:
    pipeline = resolve(pipeline)
    out, _ = _apply(pipeline, sample, 0, method)
    return np.asarray(out)[:0]


def _sorted_failures(per_partition: list[list[ImageFailure]]) -> list[ImageFailure]:
    return sorted((f for part in per_partition for f in part), key=lambda f: f.index)


# --------------------------------------------------------------------------- client side


def _check_pipeline(pipeline: Any, method: str) -> None:
    if method not in _METHODS:
        raise InvalidArgumentError(
            f"method must be one of {list(_METHODS)}. Received: method={method!r}."
        )
    if not hasattr(pipeline, method):
        raise InvalidArgumentError(
            f"{type(pipeline).__name__} has no {method!r} method (its last step is "
            f"{type(getattr(pipeline, 'steps', [[None, pipeline]])[-1][1]).__name__}). "
            "Use a method the final estimator provides, e.g. method='transform' for "
            "features or 'predict' for a classifier."
        )
    check_is_fitted(pipeline)
    loader, _ = _leading_loader(pipeline)
    nested = [
        value for value in getattr(pipeline, "get_params", dict)(deep=True).values()
        if isinstance(value, ImageLoader) and value is not loader
        and value.on_error == "fill"
    ]
    if nested:
        raise InvalidArgumentError(
            "map_pipeline reports load failures of an ImageLoader that is the first step "
            "of the pipeline; this pipeline has an ImageLoader(on_error='fill') deeper "
            "inside, whose failures would stay on the workers. Make the loader the first "
            "step, or use on_error='raise'."
        )


def _frame_meta(row: np.ndarray, pipeline: Any, method: str, name: Any) -> Any:
    import pandas as pd

    if row.ndim == 1:
        return pd.Series(row, name=method if name is None else name)
    if row.ndim != 2:
        raise InputShapeError(
            f"{method} returns arrays of shape (N, {', '.join(map(str, row.shape[1:]))}); a "
            "dask DataFrame output needs one value or one row per item. Add a flattening "
            "step, or pass a dask.bag / dask.array to get a bag / array back."
        )
    columns = [f"{method}{j}" for j in range(row.shape[1])]
    if method == "transform":
        try:
            names = list(pipeline.get_feature_names_out())
        except Exception:  # noqa: BLE001 - positional names are the documented fallback
            names = []
        if len(names) == row.shape[1]:
            columns = [str(n) for n in names]
    return pd.DataFrame(row, columns=columns)


def _compute(obj: Any, client: Any) -> Any:
    return client.compute(obj).result() if client is not None else obj.compute()


def map_pipeline(
    pipeline: Any,
    collection: Any,
    method: str = "transform",
    *,
    column: str | None = None,
    meta: Any = None,
    client: Any = None,
) -> MapResult:
    """Apply a fitted pipeline to a Dask collection, partition by partition.

    Each partition goes through ``getattr(pipeline, method)`` on a worker, exactly as
    the local call would on those items; the output keeps the input's order (and, for
    dataframes, its index and divisions). The pipeline is shipped to every worker once
    and kept there: installed as a worker plugin on a distributed cluster (so mapping
    the same fitted pipeline again reuses the workers' copies, Keras models built;
    :func:`release_pipelines` removes them), or held as one graph key on the local
    schedulers; never pickled into every task.

    Failures follow the ``on_error`` of the pipeline's leading :class:`~skprep.ImageLoader`:
    ``"raise"`` makes the computation raise the :class:`~skprep.exceptions.ImageLoadError`
    (indices counted in the whole collection); ``"fill"`` fills the rows and reports
    them in :attr:`MapResult.failures`.

    Parameters
    ----------
    pipeline : fitted estimator or Pipeline
        Typically ImageLoader -> normalizer -> feature extractor -> head.
    collection : dask.bag.Bag, dask.dataframe.DataFrame / Series, or dask.array.Array
        Items the pipeline takes (paths, bytes) as a bag or a dataframe column, or
        images as an array chunked along axis 0 only (whole images per chunk).
    method : str, default="transform"
        "transform", "predict", "predict_proba", "predict_log_proba",
        "decision_function" or "score_samples".
    column : str, optional
        The column of paths, for a dask DataFrame of several columns.
    meta : array-like or pandas object, optional
        An empty array with the output's row shape and dtype, e.g.
        ``np.empty((0, 512), "float32")`` (or the pandas meta, for dataframes). Without
        it, array and dataframe inputs run the pipeline once on one item (a zero image /
        the first path) on the cluster to learn it. Bags need no meta.
    client : distributed.Client, optional
        Defaults to the current client; None with no client uses the local scheduler.

    Returns
    -------
    MapResult
        ``(output, failures)``: the lazy output collection and the lazy list of
        failures; ``.compute()`` computes both at once.

    Examples
    --------
    >>> import dask.bag as db
    >>> from PIL import Image
    >>> from skprep import ImageLoader
    >>> from skprep.distributed import map_pipeline
    >>> items = db.from_sequence([Image.new("L", (8, 8), v) for v in (0, 50, 100)],
    ...                          npartitions=2)
    >>> out, failures = map_pipeline(ImageLoader(target_size=(4, 4)), items).compute(
    ...     scheduler="sync")
    >>> [int(row[0, 0, 0]) for row in out], failures
    ([0, 50, 100], [])
    """
    _check_pipeline(pipeline, method)
    split: Partitions = split_rows(collection, column=column)
    client = current_client(client)
    pipe_ref = broadcast(pipeline, client)

    if split.kind != "bag" and meta is None:
        if split.kind == "array":
            sample = np.zeros((1, *split.source.shape[1:]), dtype=split.source.dtype)
        else:
            sample = split.source.head(1, npartitions=-1)
            if len(sample) == 0:
                raise InputShapeError(
                    "map_pipeline got an empty dask DataFrame; pass meta=... to build the "
                    "(empty) output without running the pipeline."
                )
        row = _compute(dask.delayed(_probe)(pipe_ref, sample, method), client)
        meta = row
    if split.kind == "frame" and not hasattr(meta, "iloc"):
        meta = _frame_meta(np.asarray(meta)[:0], pipeline, method, None)
    elif split.kind == "array":
        meta = np.asarray(meta)[:0]

    run = dask.delayed(_run_partition, pure=True)
    results = [
        run(pipe_ref, part, split.offsets, i, method, split.kind, meta)
        for i, part in enumerate(split.parts)
    ]
    outputs = [res[0] for res in results]
    failures = dask.delayed(_sorted_failures)([res[1] for res in results])

    if split.kind == "bag":
        import dask.bag as db

        output = db.from_delayed(outputs)
    elif split.kind == "array":
        import dask.array as da

        blocks = [
            da.from_delayed(out, shape=(n, *meta.shape[1:]), dtype=meta.dtype)
            for out, n in zip(outputs, split.lengths, strict=True)
        ]
        output = da.concatenate(blocks, axis=0) if blocks else da.from_array(meta)
    else:
        import dask.dataframe as dd

        output = dd.from_delayed(outputs, meta=meta, divisions=split.source.divisions,
                                 verify_meta=False)
    return MapResult(output, failures, results, split.kind)


def release_pipelines(client: Any = None) -> int:
    """Remove the pipelines :func:`map_pipeline` installed on the workers.

    Each distinct fitted pipeline given to :func:`map_pipeline` stays installed on the
    workers of the client (one copy per worker, as a worker plugin) so that mapping it
    again costs nothing; call this when you are done with them. Results not yet
    computed can no longer be.

    Parameters
    ----------
    client : distributed.Client, optional
        Defaults to the current client.

    Returns
    -------
    int
        How many pipelines (and loaders / templates) were removed.
    """
    return release(client)
