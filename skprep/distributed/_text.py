"""fit_text_vectorizer: a TextVectorizer vocabulary from token counts per partition."""

from __future__ import annotations

from functools import reduce
from typing import Any

import dask
from sklearn.base import clone

from ..exceptions import InvalidArgumentError
from ._collections import broadcast, current_client, discard, resolve, split_rows

__all__ = ["fit_text_vectorizer"]


def _partition_counts(template: Any, part: Any) -> dict[str, Any] | None:
    return resolve(template).partial_counts(part) if len(part) else None


def fit_text_vectorizer(
    collection: Any,
    vectorizer: Any = None,
    *,
    column: str | None = None,
    client: Any = None,
) -> Any:
    """Fit a :class:`~skprep.TextVectorizer` vocabulary over a Dask collection of documents.

    Map: each partition's token (and document) counts are computed on a worker. Reduce:
    the counts, a few dictionaries, are merged on the client in partition order; the
    vocabulary (and IDF weights) is then built exactly as a local ``fit`` builds it from
    the counts of the whole corpus, so the result is identical to ``fit`` on all the
    documents at once.

    Parameters
    ----------
    collection : dask.bag.Bag, dask.dataframe.DataFrame / Series, or 1-D dask.array.Array
        The documents (``str``).
    vectorizer : TextVectorizer, optional
        Its parameters are used (it is cloned, not modified). Default:
        ``TextVectorizer()``.
    column : str, optional
        The column of documents, for a dask DataFrame of several columns.
    client : distributed.Client, optional
        Defaults to the current client; None with no client uses the local scheduler.

    Returns
    -------
    TextVectorizer
        Fitted.

    Examples
    --------
    >>> import dask.bag as db
    >>> from skprep.distributed import fit_text_vectorizer
    >>> docs = db.from_sequence(["a b b", "b c", "c c c"], npartitions=2)
    >>> with __import__("dask").config.set(scheduler="sync"):
    ...     vec = fit_text_vectorizer(docs)
    >>> vec.get_vocabulary()
    ['', '[UNK]', 'c', 'b', 'a']
    """
    from ..text import TextVectorizer

    template = TextVectorizer() if vectorizer is None else clone(vectorizer)
    split = split_rows(collection, column=column)
    if template.vocabulary is not None:  # fixed vocabulary: nothing to count
        return template.fit([])
    client = current_client(client)
    shipped = broadcast(template, client)
    count = dask.delayed(_partition_counts, pure=True)
    counts = [count(shipped, part) for part in split.parts]
    try:
        if client is not None:
            counts = client.gather(client.compute(counts))
        else:
            counts = dask.compute(*counts)
    finally:
        discard(shipped, client)  # a one-off computation: nothing to keep on the workers
    counts = [c for c in counts if c is not None]
    if not counts:
        raise InvalidArgumentError(
            "fit_text_vectorizer got an empty collection; it needs at least one document."
        )
    return template.fit_from_counts(reduce(template.merge_counts, counts))
