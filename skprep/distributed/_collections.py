"""Split a Dask collection into row partitions and ship a fitted object to the workers.

Everything here builds graphs; nothing runs until the caller computes.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
import uuid
from dataclasses import dataclass
from typing import Any

import dask
import numpy as np
from dask.delayed import Delayed

from ..exceptions import InputShapeError, UnsupportedCollectionError

__all__ = ["Partitions", "split_rows", "broadcast"]


@dataclass
class Partitions:
    """A collection cut into row partitions, with what is needed to rebuild one like it.

    Attributes
    ----------
    kind : {"bag", "array", "frame"}
    parts : list of Delayed
        One per partition, in order: a list (bag), an ndarray (array) or a pandas
        Series (frame, the selected column).
    offsets : list of int, or Delayed
        Global index of the first row of each partition; static for arrays (chunk sizes
        are known), one small task over the partition lengths otherwise.
    lengths : list of int or None
        Rows per partition where known without computing (arrays).
    source : Any
        The input collection (its divisions / chunks / index are reused).
    """

    kind: str
    parts: list[Delayed]
    offsets: Any
    lengths: list[int] | None
    source: Any


def _offsets(lengths: list[int]) -> list[int]:
    return [int(v) for v in np.concatenate([[0], np.cumsum(lengths)[:-1]])] if lengths else []


def _select(frame, column):
    return frame[column]


def split_rows(collection: Any, *, column: str | None = None) -> Partitions:
    """Cut a dask.bag, dask.array (chunked along axis 0 only) or dask.dataframe by rows."""
    # a collection's kind is only tested once its module is loaded (a dask.array exists
    # only if dask.array was imported): no multi-second import of dask.dataframe for a bag
    db, da, dd = (sys.modules.get(f"dask.{name}") for name in ("bag", "array", "dataframe"))
    if db is not None and isinstance(collection, db.Bag):
        parts = list(collection.to_delayed())
        lengths = [dask.delayed(len)(part) for part in parts]
        return Partitions("bag", parts, dask.delayed(_offsets)(lengths), None, collection)
    if da is not None and isinstance(collection, da.Array):
        if collection.ndim < 1 or any(n != 1 for n in collection.numblocks[1:]):
            raise InputShapeError(
                "map_pipeline needs a dask.array chunked along the first axis only (whole "
                f"images in every chunk); received shape {collection.shape} with chunks "
                f"{collection.chunksize} ({collection.numblocks} blocks). Rechunk it first: "
                "x.rechunk({0: 'auto', **{i: -1 for i in range(1, x.ndim)}})."
            )
        if any(np.isnan(c) for c in collection.chunks[0]):
            raise InputShapeError(
                "map_pipeline needs a dask.array with known chunk sizes; received chunks "
                f"{collection.chunks[0]} along the first axis. Call x.compute_chunk_sizes() "
                "first."
            )
        parts = list(collection.to_delayed().ravel())
        lengths = [int(c) for c in collection.chunks[0]]
        return Partitions("array", parts, _offsets(lengths), lengths, collection)
    if dd is not None and isinstance(collection, (dd.DataFrame, dd.Series)):
        if isinstance(collection, dd.DataFrame):
            if column is None:
                if len(collection.columns) != 1:
                    raise UnsupportedCollectionError(
                        "map_pipeline takes a dask DataFrame with one column of images, or "
                        f"column=...; received columns {list(collection.columns)}. Pass "
                        "column='path' (the column holding the paths)."
                    )
                column = collection.columns[0]
            elif column not in collection.columns:
                raise UnsupportedCollectionError(
                    f"column={column!r} is not a column of the dask DataFrame; its columns "
                    f"are {list(collection.columns)}."
                )
            collection = collection[column]
        parts = list(collection.to_delayed())
        lengths = [dask.delayed(len)(part) for part in parts]
        return Partitions("frame", parts, dask.delayed(_offsets)(lengths), None, collection)
    raise UnsupportedCollectionError(
        "map_pipeline takes a dask.bag of items (paths, bytes), a dask.dataframe "
        "(a column of paths) or a dask.array of images; received "
        f"{type(collection).__module__}.{type(collection).__name__}. Wrap a list with "
        "dask.bag.from_sequence(items, npartitions=...)."
    )


def current_client(client: Any = None) -> Any:
    """The given client, else the default distributed client, else None."""
    if client is not None:
        return client
    try:
        from distributed import default_client
    except ImportError:  # pragma: no cover - dask without distributed
        return None
    try:
        return default_client()
    except ValueError:
        return None


# client id -> (key, future) of the object broadcast last: mapping the same fitted
# pipeline again (train set, then test set) reuses the copies the workers hold, with
# their Keras models already built
_RECENT: dict[str, tuple[str, Any]] = {}


def _content_token(obj: Any) -> str:
    """sha256 of the pickled object (one dump, no load); unique when it will not pickle."""
    try:
        return hashlib.sha256(pickle.dumps(obj, protocol=5)).hexdigest()
    except Exception:  # noqa: BLE001 - lambdas etc.: cloudpickle ships it, uncached
        return uuid.uuid4().hex


def broadcast(obj: Any, client: Any = None) -> Any:
    """Make ``obj`` one graph dependency, sent to every worker once.

    On a distributed cluster the object is scattered to every worker
    (``broadcast=True``) under a key made from its content, and the returned future is
    the single key tasks depend on. The most recent one is kept per client, so the same
    (unchanged) object is not sent again. On the local schedulers it becomes one delayed
    key (no pickling at all with threads).
    """
    client = current_client(client)
    if client is None:
        return dask.delayed(obj, pure=False, traverse=False)
    key = f"skprep-broadcast-{type(obj).__name__}-{_content_token(obj)}"
    recent = _RECENT.get(client.id)
    if recent is not None and recent[0] == key and recent[1].status == "finished":
        return recent[1]
    future = client.scatter({key: obj}, broadcast=True, hash=False)[key]
    _RECENT[client.id] = (key, future)
    return future
