"""fit_text_vectorizer / fit_keras_tokenizer: a vocabulary from counts per partition."""

from __future__ import annotations

from functools import reduce
from typing import Any

import dask
from sklearn.base import clone

from ..exceptions import InvalidArgumentError
from ._collections import broadcast, current_client, discard, resolve, split_rows

__all__ = ["fit_text_vectorizer", "fit_keras_tokenizer"]


def _partition_counts(template: Any, part: Any) -> dict[str, Any] | None:
    return resolve(template).partial_counts(part) if len(part) else None


def _fit_from_partitions(template: Any, split: Any, client: Any, caller: str) -> Any:
    """Map: ``partial_counts`` per partition on the workers; reduce: ``merge_counts`` in
    partition order on the client, then ``fit_from_counts``."""
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
            f"{caller} got an empty collection; it needs at least one document.")
    return template.fit_from_counts(reduce(template.merge_counts, counts))


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
    return _fit_from_partitions(template, split, client, "fit_text_vectorizer")


def fit_keras_tokenizer(
    collection: Any,
    tokenizer: Any = None,
    *,
    column: str | None = None,
    client: Any = None,
) -> Any:
    """Fit a :class:`~skprep.KerasTokenizer` over a Dask collection of documents.

    Map: each partition's word counts (``partial_counts``) are computed on a worker.
    Reduce: they are merged on the client in partition order (``merge_counts``), and the
    vocabulary built from them (``fit_from_counts``): the same ``word_index``, counts
    and JSON as ``fit`` on all the documents at once (and as Keras' ``fit_on_texts``).

    Parameters
    ----------
    collection : dask.bag.Bag, dask.dataframe.DataFrame / Series, or 1-D dask.array.Array
        The documents: ``str``, or lists of ``str`` tokens (in a bag).
    tokenizer : KerasTokenizer, optional
        Its parameters are used (it is cloned, not modified). Default:
        ``KerasTokenizer()``.
    column : str, optional
        The column of documents, for a dask DataFrame of several columns.
    client : distributed.Client, optional
        Defaults to the current client; None with no client uses the local scheduler.

    Returns
    -------
    KerasTokenizer
        Fitted; ``to_json()`` writes the Keras JSON of the whole corpus.

    Examples
    --------
    >>> import dask.bag as db
    >>> from skprep.distributed import fit_keras_tokenizer
    >>> docs = db.from_sequence(["a b b", "b c", "c c c"], npartitions=2)
    >>> with __import__("dask").config.set(scheduler="sync"):
    ...     tok = fit_keras_tokenizer(docs)
    >>> tok.word_index
    {'c': 1, 'b': 2, 'a': 3}
    """
    from ..text import KerasTokenizer

    template = KerasTokenizer() if tokenizer is None else clone(tokenizer)
    split = split_rows(collection, column=column)
    return _fit_from_partitions(template, split, client, "fit_keras_tokenizer")
