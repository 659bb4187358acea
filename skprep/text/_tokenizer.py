"""KerasTokenizer: the legacy ``keras.preprocessing.text.Tokenizer`` as a transformer.

The reference is ``tf_keras.preprocessing.text.Tokenizer`` (Keras 2, the ``tf-keras``
package). Every rule below is that class's, reproduced on purpose:

- A ``str`` document is lowercased with ``str.lower`` (full Unicode), every character of
  ``filters`` is replaced by ``split``, the text is cut at ``split`` and empty pieces
  are dropped. ``char_level=True`` skips the filters: every character (spaces and
  punctuation included) is a token. A ``list`` document is already tokens (only
  lowercased). An ``analyzer`` replaces filters, lowercasing and splitting.
- ``word_index`` ranks words by count, ties in order of first appearance;
  ``oov_token`` (if any) takes index 1; index 0 is never assigned.
- ``num_words`` is applied when converting, not when fitting: words of index
  ``>= num_words`` are dropped (or become ``oov_token``).

Fitting is a mergeable count step (``count_texts`` / ``merge_counts`` /
``fit_from_counts``): counts of consecutive parts, merged in order, give exactly the
fit on the whole, key order included (the Dask fit uses it).

One deliberate difference: Keras fills ``word_docs`` (and so ``index_docs``) in the
iteration order of a Python ``set`` per document, which changes with the string hash
seed (``PYTHONHASHSEED``), so two Keras runs write different JSON. skprep keeps them in
the order of ``word_counts`` (first appearance): same contents, reproducible JSON.

Speed: a batch of ``str`` documents is lowercased and filtered in one ``str.lower`` /
``str.translate`` call over the documents joined by a control character that none of
them holds (it is not cased nor case-ignorable, so Python's context-sensitive final
sigma sees a document boundary), then counted with ``Counter``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from itertools import chain, count, repeat
from numbers import Integral
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..exceptions import TextInputError, VocabularyError
from ._padder import _as_sequences

__all__ = ["KerasTokenizer"]

#: Keras' default ``filters``: ASCII punctuation but ``'``, plus tab and newline.
DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
MATRIX_MODES = ("binary", "count", "tfidf", "freq")
# document separators for the one-pass batch: control characters (category Cc)
_SEPARATORS = tuple(chr(c) for c in (0, 1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16))
# what str.split() without arguments splits at, besides " "
_OTHER_WHITESPACE = tuple("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2028\u2029\u202f"
                          "\u205f\u3000") + tuple(map(chr, range(0x2000, 0x200B)))
_CHUNK = 2000  # documents tokenized in one pass
_STATE_KEYS = ("word_counts", "word_docs", "document_count")


@lru_cache(maxsize=32)
def _byte_table(filters: str, split: str) -> bytes:
    return bytes.maketrans(filters.encode("ascii"), split.encode("ascii") * len(filters))


@lru_cache(maxsize=32)
def _filter_table(filters: str, split: str) -> dict[int, str]:
    return str.maketrans({c: split for c in filters})


def _translate(text: str, filters: str, split: str) -> str:
    """Every character of ``filters`` replaced by ``split`` (Keras' ``str.translate``)."""
    if len(split) == 1 and split.isascii() and filters.isascii():
        # ASCII bytes stand for themselves in UTF-8: one bytes.translate is exact and
        # far faster than str.translate on non-ASCII text
        table = _byte_table(filters, split)
        data = text.encode("utf-8", "surrogatepass").translate(table)
        return data.decode("utf-8", "surrogatepass")
    return text.translate(_filter_table(filters, split))


class _Batch(NamedTuple):
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
    def of_lists(cls, seqs: list) -> _Batch:
        lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
        return cls(list(chain.from_iterable(seqs)), lengths, None, len(seqs))

    def regrouped(self) -> _Batch:
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


def _cut(values: list, starts: list[int], ends: list[int]) -> list[list]:
    return [values[a:b] for a, b in zip(starts, ends, strict=True)]


def _as_items(X: Any, name: str) -> list:
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


def _document_error(item: Any, index: int, name: str) -> TextInputError:
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


def _pick_separator(avoid: str) -> str | None:
    for sep in _SEPARATORS:
        if sep not in avoid:
            return sep
    return None  # pragma: no cover - every candidate is a filter or split character


class KerasTokenizer(TransformerMixin, BaseEstimator):
    """The legacy Keras ``Tokenizer``, exactly, as a scikit-learn transformer.

    Same parameters, vocabulary, sequences, matrices and JSON as
    ``tf_keras.preprocessing.text.Tokenizer`` (Keras 2; Keras 3 removed it), so the
    preprocessing of a model trained with ``texts_to_sequences`` + ``pad_sequences``
    moves into a fitted ``Pipeline`` with the same token ids.

    ==================================  =========================================
    Keras ``Tokenizer``                 ``KerasTokenizer``
    ==================================  =========================================
    ``fit_on_texts(texts)``             ``fit(texts)`` (``partial_fit`` adds more)
    ``texts_to_sequences(texts)``       ``transform(texts)``
    ``texts_to_matrix(texts, mode)``    ``output=mode``, then ``transform(texts)``
    ``sequences_to_texts(seqs)``        ``inverse_transform(seqs)``
    ``to_json()``                       ``to_json()``
    ``tokenizer_from_json(s)``          ``KerasTokenizer.from_json(s)``
    ==================================  =========================================

    Parameters
    ----------
    num_words : int >= 0 or None, default=None
        Keep only words of index ``< num_words`` (the ``num_words - 1`` most frequent,
        fewer with ``oov_token``) when converting; the fit keeps every word. 0 or None:
        no limit (as Keras).
    filters : str, default='!"#$%&()*+,-./:;<=>?@[\\\\]^_`{|}~\\\\t\\\\n'
        Characters replaced by ``split`` before splitting (not with ``char_level``).
    lower : bool, default=True
        Lowercase with ``str.lower`` (full Unicode: ``"İ"`` becomes ``"i̇"``).
    split : str, default=" "
        The separator between words (not empty).
    char_level : bool, default=False
        Every character is a token.
    oov_token : str or None, default=None
        Index 1, used for words not in the vocabulary (or cut by ``num_words``); None
        drops them.
    analyzer : callable or None, default=None
        ``str -> list of str``, replacing filters, lowercasing and splitting of ``str``
        documents. Define it at module level so the estimator pickles; like Keras,
        :meth:`to_json` does not save it.
    output : {"sequences", "binary", "count", "tfidf", "freq"}, default="sequences"
        What :meth:`transform` returns: ``texts_to_sequences`` (a list of int lists),
        or ``texts_to_matrix`` in that mode, float64 of shape (n, width).
    sparse : bool, default=False
        Matrix outputs: a CSR matrix instead of a dense array.

    Attributes
    ----------
    word_index_ : dict of str to int
        Word -> index (from 1), most frequent first, ``oov_token`` first of all.
    index_word_ : dict of int to str
        The inverse of ``word_index_``.
    word_counts_ : dict of str to int
        Occurrences of each word, in order of first appearance.
    word_docs_ : dict of str to int
        Number of documents holding each word.
    index_docs_ : dict of int to int
        ``word_docs_`` keyed by index.
    document_count_ : int
        Documents seen.

    The Keras names (``word_index``, ``index_word``, ``word_counts``, ``word_docs``,
    ``index_docs``, ``document_count``) are read-only properties for the same objects.

    See Also
    --------
    SequencePadder : pads the ragged sequences like ``keras.utils.pad_sequences``.
    TextVectorizer : the Keras 3 ``TextVectorization`` layer, for new models.

    Notes
    -----
    Input: ``str`` documents and, as Keras allows, lists of ``str`` tokens, in a list,
    a 1-D (or one-column) array or a pandas Series. ``None``, numbers or ``bytes`` raise
    :class:`~skprep.exceptions.TextInputError` naming the document. Unlike Keras, a
    single string is refused rather than read as one document per character.

    Examples
    --------
    >>> from skprep import KerasTokenizer
    >>> tok = KerasTokenizer(oov_token="<OOV>").fit(["The cat sat.", "The dog sat!"])
    >>> tok.word_index
    {'<OOV>': 1, 'the': 2, 'sat': 3, 'cat': 4, 'dog': 5}
    >>> tok.transform(["the cat ate", "A dog!"])
    [[2, 4, 1], [1, 5]]
    >>> tok.inverse_transform([[2, 5, 1]])
    ['the dog <OOV>']
    >>> KerasTokenizer(output="count").fit(["a b b", "c"]).transform(["b b c d"])
    array([[0., 2., 0., 1.]])
    """

    _parameter_constraints: dict = {
        "num_words": [Interval(Integral, 0, None, closed="left"), None],
        "filters": [str, list],
        "lower": ["boolean"],
        "split": [str],
        "char_level": ["boolean"],
        "oov_token": [str, None],
        "analyzer": [callable, None],
        "output": [StrOptions({"sequences", *MATRIX_MODES})],
        "sparse": ["boolean"],
    }

    def __init__(
        self,
        *,
        num_words: int | None = None,
        filters: str = DEFAULT_FILTERS,
        lower: bool = True,
        split: str = " ",
        char_level: bool = False,
        oov_token: str | None = None,
        analyzer: Callable[[str], list[str]] | None = None,
        output: str = "sequences",
        sparse: bool = False,
    ) -> None:
        self.num_words = num_words
        self.filters = filters
        self.lower = lower
        self.split = split
        self.char_level = char_level
        self.oov_token = oov_token
        self.analyzer = analyzer
        self.output = output
        self.sparse = sparse

    # ------------------------------------------------------------ tokenizing
    def _check_options(self) -> None:
        name = type(self).__name__
        if not self.split:
            raise ValueError(f"{name}: split must be a non-empty str; got split=''.")
        if not isinstance(self.filters, str) and not all(
            isinstance(c, str) and len(c) == 1 for c in self.filters
        ):
            raise ValueError(
                f"{name}: filters must be a str or a list of single characters; got "
                f"{self.filters!r:.80}.")

    def _batch(self, X: Any) -> _Batch:
        """The documents of ``X``, ready to be cut into tokens as Keras does."""
        items = _as_items(X, type(self).__name__)
        if self.analyzer is None:
            batch = self._batch_of_strings(items)
            if batch is not None:
                return batch
        return _Batch.of_lists([self._tokenize_one(item, i) for i, item in enumerate(items)])

    def _batch_of_strings(self, items: list) -> _Batch | None:
        """All-``str`` batch in one pass per chunk; None if some item is not a str (or
        holds the separator)."""
        filters = "".join(self.filters)
        sep = _pick_separator(filters + self.split)
        if len(self.split) > 1 and not self.char_level:
            return self._batch_by_document(items, filters, sep)
        tokens: list[str] = []
        for start in range(0, len(items), _CHUNK):
            part = self._chunk_tokens(items[start:start + _CHUNK], filters, sep)
            if part is None:
                return None
            if start:
                tokens.append(sep)
            tokens += part
        return _Batch(tokens, None, sep, len(items))

    def _chunk_tokens(self, items: list, filters: str, sep: str) -> list[str] | None:
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
        text = _translate(buffer, filters, split).replace(sep, f"{split}{sep}{split}")
        if split == " " and not any(map(text.__contains__, _OTHER_WHITESPACE)):
            return text.split()  # the same pieces, less the empty ones
        return text.split(split)

    def _batch_by_document(self, items: list, filters: str, sep: str) -> _Batch | None:
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
        docs = _translate(buffer, filters, split).split(sep) if items else []
        return _Batch.of_lists([list(filter(None, doc.split(split))) for doc in docs])

    def _tokenize_one(self, item: Any, index: int) -> list[str] | str:
        if isinstance(item, list):
            if not all(isinstance(t, str) for t in item):
                raise _document_error(item, index, type(self).__name__)
            return [t.lower() for t in item] if self.lower else list(item)
        if not isinstance(item, str):
            raise _document_error(item, index, type(self).__name__)
        if self.char_level:
            return item.lower() if self.lower else item  # a str iterates its characters
        if self.analyzer is not None:
            return self._analyze(item, index)
        text = item.lower() if self.lower else item
        text = text.translate(_filter_table("".join(self.filters), self.split))
        return list(filter(None, text.split(self.split)))

    def _analyze(self, text: str, index: int) -> list[str]:
        tokens = self.analyzer(text)
        if isinstance(tokens, str) or not all(isinstance(t, str) for t in tokens):
            raise TextInputError(
                f"{type(self).__name__}: the analyzer returned {tokens!r:.60} for document "
                f"{index}; it must return a list of str tokens.")
        return list(tokens)

    # --------------------------------------------------------- mergeable fit
    def count_texts(self, X: Any) -> dict[str, Any]:
        """Count the words of a batch of documents: the mergeable state of a fit.

        Parameters
        ----------
        X : list of str (or of lists of str tokens), 1-D array or pandas Series

        Returns
        -------
        counts : dict
            ``{"word_counts": dict, "word_docs": dict, "document_count": int}``: each
            word's occurrences and number of documents, in Keras' key order. Plain
            Python objects: picklable, cheap to ship between workers.
        """
        self._validate_params()
        self._check_options()
        return self._batch(X).counts()

    @staticmethod
    def merge_counts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        """Merge two count states, ``a``'s documents first (the inputs are not modified).

        Merging the counts of consecutive parts in order equals counting the whole:
        same numbers and same key order, hence the same ``word_index_`` and JSON.
        """

        def add(x: dict, y: dict) -> dict:
            out = dict(x)
            get = out.get
            for word, n in y.items():
                out[word] = get(word, 0) + n
            return out

        return {"word_counts": add(a["word_counts"], b["word_counts"]),
                "word_docs": add(a["word_docs"], b["word_docs"]),
                "document_count": a["document_count"] + b["document_count"]}

    def fit_from_counts(self, counts: dict[str, Any]) -> KerasTokenizer:
        """Fit from a count state (:meth:`count_texts`, :meth:`merge_counts`).

        Parameters
        ----------
        counts : dict
            A count state.

        Returns
        -------
        self : KerasTokenizer
        """
        self._validate_params()
        self._check_options()
        missing = [k for k in _STATE_KEYS if k not in counts]
        if missing:
            raise ValueError(
                f"{type(self).__name__}.fit_from_counts: the count state lacks {missing}; "
                "make it with count_texts / merge_counts.")
        self._set_vocabulary(dict(counts["word_counts"]), dict(counts["word_docs"]),
                             int(counts["document_count"]), {})
        return self

    def _set_vocabulary(self, word_counts: dict, word_docs: dict, document_count: int,
                        index_docs: dict) -> None:
        """Keras' ``fit_on_texts`` tail: rank words, index them, key ``word_docs`` by index."""
        ranked = list(word_counts.items())
        ranked.sort(key=lambda item: item[1], reverse=True)  # stable: ties by appearance
        vocabulary = [] if self.oov_token is None else [self.oov_token]
        vocabulary.extend(word for word, _ in ranked)
        # dict(zip(...)) as Keras: an oov_token that is also a word keeps its word rank
        word_index = dict(zip(vocabulary, range(1, len(vocabulary) + 1), strict=True))
        index_docs = dict(index_docs)  # partial_fit updates the previous one, as Keras
        index_docs.update(zip(map(word_index.__getitem__, word_docs), word_docs.values(),
                              strict=True))
        self._set_state(word_counts, word_docs, document_count, word_index,
                        {i: w for w, i in word_index.items()}, index_docs)

    def _set_state(self, word_counts: dict, word_docs: dict, document_count: int,
                   word_index: dict, index_word: dict, index_docs: dict) -> None:
        self.word_counts_ = word_counts
        self.word_docs_ = word_docs
        self.document_count_ = document_count
        self.word_index_ = word_index
        self.index_word_ = index_word
        self.index_docs_ = index_docs
        self._lookup_cache = self._build_lookup()

    # ------------------------------------------------------------ public fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> KerasTokenizer:
        """Learn the vocabulary of a batch of documents (Keras' ``fit_on_texts``).

        Parameters
        ----------
        X : list of str (or of lists of str tokens), 1-D array or pandas Series
        y : None
            Ignored.

        Returns
        -------
        self : KerasTokenizer
        """
        return self.fit_from_counts(self.count_texts(X))

    def partial_fit(self, X: Any, y: Any = None) -> KerasTokenizer:
        """Add documents to the vocabulary, as a further ``fit_on_texts`` call does.

        Parameters
        ----------
        X : list of str (or of lists of str tokens), 1-D array or pandas Series
        y : None
            Ignored.

        Returns
        -------
        self : KerasTokenizer
        """
        counts = self.count_texts(X)
        if not hasattr(self, "word_index_"):
            return self.fit_from_counts(counts)
        merged = self.merge_counts({"word_counts": self.word_counts_,
                                    "word_docs": self.word_docs_,
                                    "document_count": self.document_count_}, counts)
        self._set_vocabulary(merged["word_counts"], merged["word_docs"],
                             merged["document_count"], self.index_docs_)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any):
        """:meth:`fit` then :meth:`transform`, tokenizing the documents once.

        Parameters
        ----------
        X : list of str (or of lists of str tokens), 1-D array or pandas Series
        y : None
            Ignored.

        Returns
        -------
        out : as :meth:`transform`
        """
        self._validate_params()
        self._check_options()
        batch = self._batch(X)
        self.fit_from_counts(batch.counts())
        return self._output(batch)

    # ------------------------------------------------------------- transform
    def _build_lookup(self) -> tuple:
        """(params it was built for, word -> id of the kept words, the same with the
        markers of one-pass batches (None if the vocabulary holds one), the id of any
        other word)."""
        word_index, num_words = self.word_index_, self.num_words
        default = None
        if self.oov_token is not None:
            default = word_index.get(self.oov_token)
            if default is None:
                raise VocabularyError(
                    f"{type(self).__name__}: oov_token={self.oov_token!r} is not in "
                    "word_index; refit, or load a tokenizer saved with this oov_token.")
        # Keras: ids >= num_words become the OOV id (or are dropped), as unknown words
        table = word_index if not num_words else {
            w: i for w, i in word_index.items() if i < num_words}
        markers = dict.fromkeys(_SEPARATORS, -1)
        markers[""] = 0
        with_markers = None
        if not any(m in word_index for m in markers):
            with_markers = {**table, **markers}
        return (num_words, self.oov_token), table, with_markers, default

    def _lookup(self) -> tuple:
        cached = self._lookup_cache
        if cached[0] != (self.num_words, self.oov_token):  # parameters set after fit
            cached = self._build_lookup()
        return cached[1:]

    def _lookup_tokens(self, batch: _Batch) -> tuple[_Batch, list[int]]:
        """The id of every token: >= 1, 0 (dropped: unknown, or an empty piece) or -1 (a
        marker between documents)."""
        table, with_markers, default = self._lookup()
        fill = 0 if default is None else default
        if batch.lengths is None and with_markers is None:
            batch = batch.regrouped()
        get = (table if batch.lengths is not None else with_markers).get
        return batch, list(map(get, batch.tokens, repeat(fill)))

    def _output(self, batch: _Batch):
        batch, values = self._lookup_tokens(batch)
        ids = np.array(values, dtype=np.int64)
        if self.output == "sequences" and batch.lengths is None and ids.all():
            marks = np.flatnonzero(ids < 0).tolist()  # nothing dropped: cut at the markers
            return _cut(values, [0, *(m + 1 for m in marks)], [*marks, len(values)])
        ids, doc = batch.locate(ids, ids > 0, ids < 0)
        lengths = np.bincount(doc, minlength=batch.n_docs)
        if self.output != "sequences":
            return self._matrix(ids, doc, lengths)
        ends = np.cumsum(lengths).tolist()
        return _cut(ids.tolist(), [0, *ends[:-1]], ends)

    def transform(self, X: Any):
        """Token ids (``texts_to_sequences``) or a matrix (``texts_to_matrix``).

        Parameters
        ----------
        X : list of str (or of lists of str tokens), 1-D array or pandas Series

        Returns
        -------
        out : list of list of int, or ndarray / CSR matrix of float64 (n, width)
            ``output="sequences"``: one list of ids per document. Matrix modes: width
            ``num_words`` (or the vocabulary size + 1), column ``i`` for id ``i``.
        """
        check_is_fitted(self, "word_index_")
        self._check_options()
        return self._output(self._batch(X))

    def _width(self) -> int:
        return self.num_words or len(self.word_index_) + 1

    def _matrix(self, ids: np.ndarray, doc: np.ndarray, lengths: np.ndarray):
        """``sequences_to_matrix`` in mode ``output``, vectorized with Keras' arithmetic."""
        if self.output == "tfidf" and not self.document_count_:
            raise ValueError(f"{type(self).__name__}: output='tfidf' needs a tokenizer "
                             "fitted on some documents (document_count_ is 0).")
        width = self._width()
        keep = ids < width  # Keras skips ids >= num_words
        out = sp.csr_matrix((np.ones(int(keep.sum())), (doc[keep], ids[keep])),
                            shape=(len(lengths), width))
        out.sum_duplicates()
        counts = out.data
        if self.output == "binary":
            counts[:] = 1.0
        elif self.output == "freq":  # c / len(seq), the length before the cut
            counts /= np.repeat(lengths, np.diff(out.indptr))
        elif self.output == "tfidf":
            get = self.index_docs_.get
            docs = np.fromiter(map(get, out.indices.tolist(), repeat(0)), dtype=np.int64,
                               count=len(counts))
            idf = np.log(1 + self.document_count_ / (1 + docs))
            out.data = (1 + np.log(counts)) * idf
        return out if self.sparse else out.toarray()

    def inverse_transform(self, X: Any) -> list[str]:
        """Ids back to space-joined words (Keras' ``sequences_to_texts``).

        Parameters
        ----------
        X : list of sequences of int, or 2-D array (padded: id 0 is no word)

        Returns
        -------
        texts : list of str
            Ids of cut (``>= num_words``) or unknown words give ``oov_token`` if it is
            set (padding 0 included, as Keras), else nothing.
        """
        check_is_fitted(self, "word_index_")
        sequences = [s.tolist() if hasattr(s, "tolist") else s
                     for s in _as_sequences(X, type(self).__name__)]
        default = self._lookup()[-1]
        num_words = self.num_words
        words = self.index_word_ if not num_words else {
            i: w for i, w in self.index_word_.items() if i < num_words}
        oov_word = None if default is None else self.index_word_[default]
        get = words.get
        return [" ".join([w for w in map(get, seq, repeat(oov_word, len(seq)))
                          if w is not None]) for seq in sequences]

    # ------------------------------------------------------------------ JSON
    def to_json(self, **kwargs: Any) -> str:
        """The JSON of Keras' ``Tokenizer.to_json()``, byte for byte.

        Parameters
        ----------
        **kwargs
            Passed to the outer ``json.dumps``, as Keras does (e.g. ``indent=2``).

        Returns
        -------
        str
            Readable by ``tf_keras.preprocessing.text.tokenizer_from_json`` and by
            :meth:`from_json`. Like Keras, it does not hold ``analyzer``.
        """
        check_is_fitted(self, "word_index_")
        config = {
            "num_words": None if self.num_words is None else int(self.num_words),
            "filters": self.filters,
            "lower": bool(self.lower),
            "split": self.split,
            "char_level": bool(self.char_level),
            "oov_token": self.oov_token,
            "document_count": self.document_count_,
            "word_counts": json.dumps(self.word_counts_),
            "word_docs": json.dumps(self.word_docs_),
            "index_docs": json.dumps(self.index_docs_),
            "index_word": json.dumps(self.index_word_),
            "word_index": json.dumps(self.word_index_),
        }
        return json.dumps({"class_name": "Tokenizer", "config": config}, **kwargs)

    @classmethod
    def from_json(
        cls,
        json_string: str | bytes,
        *,
        analyzer: Callable[[str], list[str]] | None = None,
        output: str = "sequences",
        sparse: bool = False,
    ) -> KerasTokenizer:
        """A fitted tokenizer from the JSON of Keras' ``Tokenizer.to_json()``.

        Parameters
        ----------
        json_string : str or bytes
            The content of a saved ``tokenizer.json``.
        analyzer, output, sparse
            The parameters that the JSON does not hold (see the class).

        Returns
        -------
        KerasTokenizer
            Fitted: the same ids, matrices and texts as ``tokenizer_from_json``.

        Raises
        ------
        VocabularyError
            The text is not a Keras tokenizer JSON (the message says what is wrong).
        """
        config = _parse_config(json_string)
        params = {k: config.pop(k) for k in _JSON_PARAMS if k in config}
        tokenizer = cls(**params, analyzer=analyzer, output=output, sparse=sparse)
        tokenizer._validate_params()
        tokenizer._check_options()
        tokenizer._set_state(*_parse_state(config))
        return tokenizer

    # ------------------------------------------------------- Keras' names
    @property
    def word_index(self) -> dict[str, int]:
        """Keras' name for ``word_index_``."""
        check_is_fitted(self, "word_index_")
        return self.word_index_

    @property
    def index_word(self) -> dict[int, str]:
        """Keras' name for ``index_word_``."""
        check_is_fitted(self, "index_word_")
        return self.index_word_

    @property
    def word_counts(self) -> dict[str, int]:
        """Keras' name for ``word_counts_``."""
        check_is_fitted(self, "word_counts_")
        return self.word_counts_

    @property
    def word_docs(self) -> dict[str, int]:
        """Keras' name for ``word_docs_``."""
        check_is_fitted(self, "word_docs_")
        return self.word_docs_

    @property
    def index_docs(self) -> dict[int, int]:
        """Keras' name for ``index_docs_``."""
        check_is_fitted(self, "index_docs_")
        return self.index_docs_

    @property
    def document_count(self) -> int:
        """Keras' name for ``document_count_``."""
        check_is_fitted(self, "document_count_")
        return self.document_count_

    # ---------------------------------------------------------------- sklearn
    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Matrix outputs: column ``i`` is named by the word of id ``i``.

        Columns without a word (0, and past the vocabulary) are ``"[unused i]"``.
        ``output="sequences"`` has no fixed columns and raises ``ValueError``.
        """
        check_is_fitted(self, "word_index_")
        if self.output == "sequences":
            raise ValueError(
                f"{type(self).__name__} with output='sequences' returns ragged sequences, "
                "which have no column names; pad them (SequencePadder) or choose a "
                "matrix output.")
        get = self.index_word_.get
        return np.array([get(i, f"[unused {i}]") for i in range(self._width())],
                        dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags


_JSON_PARAMS = ("num_words", "filters", "lower", "split", "char_level", "oov_token")
_JSON_DICTS = ("word_counts", "word_docs", "index_docs", "word_index")


def _parse_config(json_string: str | bytes) -> dict[str, Any]:
    """The ``config`` dict of a Keras tokenizer JSON, its keys checked."""
    try:
        payload = json.loads(json_string)
        config = dict(payload["config"])
    except (ValueError, TypeError, KeyError) as exc:
        raise VocabularyError(
            "KerasTokenizer.from_json expects the JSON of Keras' Tokenizer.to_json(), "
            f'{{"class_name": "Tokenizer", "config": {{...}}}}; could not read it: {exc!r}'
        ) from exc
    known = {*_JSON_PARAMS, *_JSON_DICTS, "document_count", "index_word"}
    unknown = sorted(set(config) - known)
    missing = [k for k in _JSON_DICTS if k not in config]
    if unknown or missing:
        raise VocabularyError(
            f"KerasTokenizer.from_json: the tokenizer config has unknown keys {unknown} "
            f"and lacks {missing}; expected the keys of Keras' Tokenizer.get_config().")
    return config


def _parse_state(config: dict[str, Any]) -> tuple:
    """(word_counts, word_docs, document_count, word_index, index_word, index_docs)."""
    try:
        dicts = {k: json.loads(config[k]) for k in _JSON_DICTS}
        # json turns int keys into str: Keras' tokenizer_from_json turns them back
        index_docs = {int(k): v for k, v in dicts["index_docs"].items()}
        word_index = dicts["word_index"]
        index_word = ({int(k): v for k, v in json.loads(config["index_word"]).items()}
                      if "index_word" in config else {i: w for w, i in word_index.items()})
    except (ValueError, TypeError, AttributeError) as exc:
        raise VocabularyError(
            "KerasTokenizer.from_json: the config's word_counts, word_docs, index_docs, "
            "word_index and index_word must be JSON objects in strings (as Keras writes "
            f"them); could not read them: {exc!r}") from exc
    bad = [(w, i) for w, i in word_index.items()
           if not isinstance(i, int) or isinstance(i, bool) or i < 1]
    if bad:
        raise VocabularyError(
            f"KerasTokenizer.from_json: word_index maps {bad[0][0]!r} to {bad[0][1]!r}; "
            "indices must be ints >= 1.")
    document_count = config.get("document_count", 0)
    if not isinstance(document_count, int) or document_count < 0:
        raise VocabularyError(
            f"KerasTokenizer.from_json: document_count is {document_count!r}; expected an "
            "int >= 0.")
    return (dicts["word_counts"], dicts["word_docs"], document_count, word_index,
            index_word, index_docs)
