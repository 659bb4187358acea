"""Tokenization for :class:`~skprep.text.KerasTokenizer`: Keras' rules, a batch at a time.

A batch of ``str`` documents is lowercased and filtered in one ``str.lower`` /
``translate`` call per chunk of documents joined by a control character that none of
them holds (it is neither cased nor case-ignorable, so Python's context-sensitive final
sigma sees a document boundary), then split once; the tokens stay in one flat list with
a marker between documents (:class:`Batch`).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, count, repeat
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from ..exceptions import TextInputError

__all__ = ["DEFAULT_FILTERS", "SEPARATORS", "CHUNK", "OTHER_WHITESPACE", "Batch", "Rules",
           "as_items", "cut", "document_error", "filter_table", "matrix", "pick_separator",
           "translate"]

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
# document separators for the one-pass batch: control characters (category Cc)
SEPARATORS = tuple(chr(c) for c in (0, 1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16))
# what str.split() without arguments splits at, besides " "
OTHER_WHITESPACE = tuple("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2028\u2029\u202f"
                          "\u205f\u3000") + tuple(map(chr, range(0x2000, 0x200B)))
CHUNK = 2000  # documents tokenized in one pass


@lru_cache(maxsize=32)
def _byte_table(filters: str, split: str) -> bytes:
    return bytes.maketrans(filters.encode("ascii"), split.encode("ascii") * len(filters))


@lru_cache(maxsize=32)
def filter_table(filters: str, split: str) -> dict[int, str]:
    return str.maketrans({c: split for c in filters})


def translate(text: str, filters: str, split: str) -> str:
    """Every character of ``filters`` replaced by ``split`` (Keras' ``str.translate``)."""
    if len(split) == 1 and split.isascii() and filters.isascii():
        # ASCII bytes stand for themselves in UTF-8: one bytes.translate is exact and
        # far faster than str.translate on non-ASCII text
        table = _byte_table(filters, split)
        data = text.encode("utf-8", "surrogatepass").translate(table)
        return data.decode("utf-8", "surrogatepass")
    return text.translate(filter_table(filters, split))


class Batch(NamedTuple):
    """The tokens of a batch of documents, flat.

    Either ``lengths`` gives the number of tokens of each document, or (one-pass
    batches) ``lengths`` is None and ``tokens`` also holds a ``sep`` marker between two
    documents and, at word level, the empty pieces between two separators, which are
    no tokens (Keras drops them).
    """

    tokens: list
    lengths: np.ndarray | None
    sep: str | None
    n_docs: int

    @classmethod
    def of_lists(cls, seqs: list) -> Batch:
        lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
        return cls(list(chain.from_iterable(seqs)), lengths, None, len(seqs))

    def regrouped(self) -> Batch:
        """The same batch with ``lengths`` (for a vocabulary that holds ``""``)."""
        if self.lengths is not None:
            return self
        seqs: list[list[str]] = [[]]
        for token in self.tokens:
            if token == self.sep:
                seqs.append([])
            elif token:
                seqs[-1].append(token)
        return self.of_lists(seqs)

    def locate(self, ids: np.ndarray, keep: np.ndarray, is_sep: np.ndarray | None):
        """The kept ids and the document of each."""
        if self.lengths is None:
            doc = np.cumsum(is_sep)
        else:
            doc = np.repeat(np.arange(self.n_docs), self.lengths)
        return ids[keep], doc[keep]

    def counts(self) -> dict[str, Any]:
        """The count state: ``word_counts`` and ``word_docs`` in order of appearance."""
        tokens, first = self.tokens, {}
        # each token's id: the position of the word's first occurrence (one hash pass)
        ids = np.array(list(map(first.setdefault, tokens, count())), dtype=np.int64)
        is_sep = keep = None
        if self.lengths is None:  # drop the markers
            is_sep = ids == first.get(self.sep, -1)
            keep = ~is_sep & (ids != first.get("", -1))
        else:
            keep = np.ones(len(ids), dtype=bool)
        ids, doc = self.locate(ids, keep, is_sep)
        counts = np.bincount(ids, minlength=len(tokens))
        indptr = np.concatenate([[0], np.cumsum(np.bincount(doc, minlength=self.n_docs))])
        pairs = sp.csr_matrix((np.ones(len(ids), dtype=np.int32), ids, indptr),
                              shape=(self.n_docs, len(tokens)))
        pairs.sum_duplicates()  # one entry per (document, word)
        docs = np.bincount(pairs.indices, minlength=len(tokens))
        at = np.flatnonzero(counts)  # first positions, in order: one per word
        words = [tokens[i] for i in at.tolist()]
        return {"word_counts": dict(zip(words, counts[at].tolist(), strict=True)),
                "word_docs": dict(zip(words, docs[at].tolist(), strict=True)),
                "document_count": self.n_docs}


def cut(values: list, starts: list[int], ends: list[int]) -> list[list]:
    """``values[start:end]`` for each pair, the cyclic garbage collector paused.

    The slices are new lists (GC-tracked containers): making 100k of them triggers
    collections that each walk every live container, the batch's big lists included,
    and take 3-5x longer than the slicing itself. Lists of ints hold no cycles, so
    there is nothing for the collector to find meanwhile.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return [values[a:b] for a, b in zip(starts, ends, strict=True)]
    finally:
        if paused:
            gc.enable()


def as_items(X: Any, name: str) -> list:
    """A batch of documents as a list (1-D input or one column); not yet type-checked."""
    if isinstance(X, (str, bytes)):
        raise TextInputError(
            f"{name} expects a batch of documents (list of str, 1-D array or pandas "
            f"Series); received a single {type(X).__name__}: {X[:50]!r}. Wrap it in a "
            "list: [text]. (Keras' Tokenizer would silently treat each character as a "
            "document.)")
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 2 and shape[1] == 1:
        X = X.iloc[:, 0] if hasattr(X, "iloc") else np.asarray(X)[:, 0]
    elif shape is not None and len(shape) != 1:
        raise TextInputError(
            f"{name} expects a 1-D batch of documents (or one column); received input "
            f"of shape {tuple(shape)}. Pass token lists as a list of lists.")
    if hasattr(X, "tolist"):
        return X.tolist()
    try:
        return list(X)
    except TypeError:
        raise TextInputError(
            f"{name} expects a batch of documents (list of str, 1-D array or pandas "
            f"Series); received {type(X).__name__}.") from None


def document_error(item: Any, index: int, name: str) -> TextInputError:
    """The error for a document that is neither a str nor a list of str."""
    if isinstance(item, list):
        j, token = next((j, t) for j, t in enumerate(item) if not isinstance(t, str))
        return TextInputError(
            f"{name}: document {index} is a list of tokens whose item {j} is "
            f"{type(token).__name__} ({token!r:.50}); tokens must be str.")
    return TextInputError(
        f"{name}: document {index} is {type(item).__name__} ({item!r:.50}); expected a "
        "str (or a list of str tokens). Replace missing values first, e.g. "
        "Series.fillna(''), and decode bytes.")


def pick_separator(avoid: str) -> str | None:
    for sep in SEPARATORS:
        if sep not in avoid:
            return sep
    return None  # pragma: no cover - every candidate is a filter or split character


@dataclass(frozen=True)
class Rules:
    """Keras' ``Tokenizer`` settings that decide the tokens of a document."""

    filters: str
    lower: bool
    split: str
    char_level: bool
    analyzer: Callable[[str], list[str]] | None
    name: str  # the estimator, for messages

    def batch(self, X: Any) -> Batch:
        """The tokens of the documents of ``X``."""
        items = as_items(X, self.name)
        if self.analyzer is None:
            batch = self._strings(items)
            if batch is not None:
                return batch
        return Batch.of_lists([self._one(item, i) for i, item in enumerate(items)])

    def _strings(self, items: list) -> Batch | None:
        """All-``str`` batch in one pass per chunk; None if some item is not a str (or
        holds the separator)."""
        if not items:
            return Batch.of_lists([])
        filters = self.filters
        sep = pick_separator(filters + self.split)
        if len(self.split) > 1 and not self.char_level:
            return self._by_document(items, filters, sep)
        tokens: list[str] = []
        for start in range(0, len(items), CHUNK):
            part = self._chunk(items[start:start + CHUNK], filters, sep)
            if part is None:
                return None
            if start:
                tokens.append(sep)
            tokens += part
        return Batch(tokens, None, sep, len(items))

    def _chunk(self, items: list, filters: str, sep: str) -> list[str] | None:
        """The tokens of some documents, ``sep`` between two (a few MB at a time: the
        buffer stays in the CPU cache through lower, translate and split)."""
        try:
            buffer = sep.join(items)
        except TypeError:
            return None
        if buffer.count(sep) != len(items) - 1:
            return None  # a document holds the separator: one at a time
        if self.lower:
            buffer = buffer.lower()
        if self.char_level:
            return list(buffer)
        split = self.split
        text = translate(buffer, filters, split).replace(sep, f"{split}{sep}{split}")
        if split == " " and not any(map(text.__contains__, OTHER_WHITESPACE)):
            return text.split()  # the same pieces, less the empty ones
        return text.split(split)

    def _by_document(self, items: list, filters: str, sep: str) -> Batch | None:
        """A separator of several characters: filter in one pass, split per document."""
        try:
            buffer = sep.join(items)
        except TypeError:
            return None
        if buffer.count(sep) != max(len(items) - 1, 0):
            return None
        if self.lower:
            buffer = buffer.lower()
        split = self.split
        docs = translate(buffer, filters, split).split(sep) if items else []
        return Batch.of_lists([list(filter(None, doc.split(split))) for doc in docs])

    def _one(self, item: Any, index: int) -> list[str] | str:
        if isinstance(item, list):
            if not all(isinstance(t, str) for t in item):
                raise document_error(item, index, self.name)
            return [t.lower() for t in item] if self.lower else list(item)
        if not isinstance(item, str):
            raise document_error(item, index, self.name)
        if self.char_level:
            return item.lower() if self.lower else item  # a str iterates its characters
        if self.analyzer is not None:
            return self._analyze(item, index)
        text = item.lower() if self.lower else item
        text = text.translate(filter_table(self.filters, self.split))
        return list(filter(None, text.split(self.split)))

    def _analyze(self, text: str, index: int) -> list[str]:
        tokens = self.analyzer(text)
        if isinstance(tokens, str) or not all(isinstance(t, str) for t in tokens):
            raise TextInputError(
                f"{self.name}: the analyzer returned {tokens!r:.60} for document "
                f"{index}; it must return a list of str tokens.")
        return list(tokens)


def matrix(mode: str, ids: np.ndarray, doc: np.ndarray, lengths: np.ndarray, width: int,
           index_docs: dict[int, int], document_count: int) -> sp.csr_matrix:
    """Keras' ``sequences_to_matrix``, vectorized with its float64 arithmetic.

    ``ids`` and ``doc``: every id of the sequences and its row; ``lengths``: the length
    of each sequence (``freq`` divides by it, ids past the width included).
    """
    keep = ids < width  # Keras skips ids >= num_words
    out = sp.csr_matrix((np.ones(int(keep.sum())), (doc[keep], ids[keep])),
                        shape=(len(lengths), width))
    out.sum_duplicates()
    counts = out.data
    if mode == "binary":
        counts[:] = 1.0
    elif mode == "freq":
        counts /= np.repeat(lengths, np.diff(out.indptr))
    elif mode == "tfidf":  # (1 + log c) * log(1 + n / (1 + df)), weighting scheme 2
        docs = np.fromiter(map(index_docs.get, out.indices.tolist(), repeat(0)),
                           dtype=np.int64, count=len(counts))
        out.data = (1 + np.log(counts)) * np.log(1 + document_count / (1 + docs))
    return out
