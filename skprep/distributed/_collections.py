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

from ..exceptions import (
    DistributedStateError,
    InputShapeError,
    UnsupportedCollectionError,
)

__all__ = ["Partitions", "split_rows", "broadcast", "resolve", "release", "discard"]


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


class _Shipped:
    """Stand-in for an object installed on every worker as a worker plugin."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self):
        return (_Shipped, (self.name,))


def resolve(ref: Any) -> Any:
    """The object a task was given: itself, or the worker's installed copy of it."""
    if not isinstance(ref, _Shipped):
        return ref
    from distributed import get_worker

    plugin = get_worker().plugins.get(ref.name)
    if plugin is None:  # pragma: no cover - only if the plugin was removed mid-run
        raise DistributedStateError(
            f"skprep: the object {ref.name} is no longer installed on this worker; "
            "skprep.distributed.release_pipelines() removed it. Call map_pipeline again."
        )
    return plugin.obj


def _content_token(obj: Any) -> str:
    """sha256 of the pickled object (one dump, no load); unique when it will not pickle."""
    try:
        return hashlib.sha256(pickle.dumps(obj, protocol=5)).hexdigest()
    except Exception:  # noqa: BLE001 - lambdas etc.: cloudpickle ships it, uncached
        return uuid.uuid4().hex


# client id -> names of the objects installed on its workers
_INSTALLED: dict[str, set[str]] = {}


def broadcast(obj: Any, client: Any = None) -> Any:
    """Send ``obj`` to every worker once; return what tasks take in its place.

    On a distributed cluster the object is installed on every worker (and on workers
    that join later) as a worker plugin named by its content: each worker unpickles it
    once and keeps it in memory, out of reach of the memory manager that drops extra
    replicas of scattered data. Tasks receive a small reference to it. An unchanged
    object is not sent again, so mapping the same fitted pipeline twice reuses the
    workers' copies, Keras models already built; :func:`release` removes them. On the
    local schedulers the object becomes one delayed key (no pickling with threads).
    """
    client = current_client(client)
    if client is None:
        return dask.delayed(obj, pure=False, traverse=False)
    from distributed.diagnostics.plugin import WorkerPlugin

    class _Holder(WorkerPlugin):
        def __init__(self, held: Any) -> None:
            self.obj = held

    name = f"skprep-{type(obj).__name__}-{_content_token(obj)}"
    installed = _INSTALLED.setdefault(client.id, set())
    if name not in installed:
        client.register_plugin(_Holder(obj), name=name)
        installed.add(name)
    return _Shipped(name)


def discard(ref: Any, client: Any = None) -> None:
    """Remove one object :func:`broadcast` installed (after an eager computation)."""
    client = current_client(client)
    if client is None or not isinstance(ref, _Shipped):
        return
    installed = _INSTALLED.get(client.id, set())
    if ref.name in installed:
        installed.discard(ref.name)
        client.unregister_worker_plugin(ref.name)


def release(client: Any = None) -> int:
    """Remove every object :func:`broadcast` installed on the workers of ``client``.

    Parameters
    ----------
    client : distributed.Client, optional
        Defaults to the current client.

    Returns
    -------
    int
        How many objects were removed.
    """
    client = current_client(client)
    if client is None:
        return 0
    names = _INSTALLED.pop(client.id, set())
    for name in names:
        client.unregister_worker_plugin(name)
    return len(names)
