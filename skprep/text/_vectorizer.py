"""TextVectorizer: ``keras.layers.TextVectorization`` as a scikit-learn transformer.

Fitting is a mergeable count step, so it can run over partitions (Dask, chunks of a
file) and still give exactly the vocabulary of a fit on the whole::

    state = vec.partial_counts(part_1)                # counts of one partition
    state = vec.merge_counts(state, vec.partial_counts(part_2))
    vec.fit_from_counts(state)                        # == vec.fit(part_1 + part_2)

The state is a plain dict (picklable, cheap to ship between workers):

``token_counts``
    ``dict[bytes, int]``: occurrences of each token (UTF-8 bytes, after
    standardization, splitting and n-grams), in order of first appearance.
``document_counts``
    ``dict[bytes, int]`` or None: number of documents containing each token, in
    order of first appearance; only counted for ``output_mode="tf_idf"``.
``n_documents``
    ``int``: number of documents counted.

Merging adds counts key by key, keeping the first partition's keys first; the
vocabulary is then sorted by count (descending) with ties broken by the token bytes
(descending), like Keras, so it does not depend on how the corpus was cut.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from itertools import chain, repeat
from numbers import Integral
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from .._compat import Interval, SkprepTransformer, StrOptions, fit_context
from .._validation import IntTuple
from ..exceptions import (
    InputShapeError,
    InvalidArgumentError,
    InvalidParameterError,
    UnsupportedStepError,
    VocabularyError,
)
from ._inputs import add_counts, as_documents, ngram_widths
from ._standardize import make_tokenizer

__all__ = ["TextVectorizer"]

MASK_TOKEN = ""
OOV_TOKEN = "[UNK]"
_RESERVED = (MASK_TOKEN.encode(), OOV_TOKEN.encode())
_SEPARATOR = b"\0"  # between documents in the one-pass tokenization of a batch
_SEP_ID = -2  # its lookup value (unless b"\0" is a real vocabulary term)


class TextVectorizer(SkprepTransformer):
    """Strings to token indices or bag-of-words, exactly like Keras ``TextVectorization``.

    Every option of ``keras.layers.TextVectorization`` with the same meaning and, after
    :meth:`fit` on the same corpus as Keras' ``adapt``, the same vocabulary (order and
    ties included), indices, counts and TF-IDF weights. The fitted vocabulary is part
    of the estimator: pickle the pipeline and serving tokenizes the same way.

    Parameters
    ----------
    max_tokens : int >= 2 or None, default=None
        Maximum vocabulary size, special tokens included (``""`` and ``"[UNK]"`` in
        ``"int"`` mode, ``"[UNK]"`` otherwise). The most frequent tokens are kept.
    standardize : {"lower_and_strip_punctuation", "lower", "strip_punctuation"}, \
callable or None, default="lower_and_strip_punctuation"
        As in Keras: lowercasing is ASCII-only and only the 32 ASCII punctuation
        characters are stripped. A callable receives one document (``str``) and
        returns a ``str``; define it at module level so that the estimator pickles.
    split : {"whitespace", "character"}, callable or None, default="whitespace"
        ``"whitespace"`` splits on ASCII whitespace only, as Keras. A callable
        receives one standardized document (``str``) and returns a list of ``str``.
    ngrams : int, tuple of int or None, default=None
        ``n`` gives all n-grams of widths 1..n; a tuple gives exactly those widths.
    output_mode : {"int", "multi_hot", "count", "tf_idf", "one_hot"}, default="int"
        ``"int"``: token indices, 0 = padding, 1 = out-of-vocabulary. The bag modes
        give one column per vocabulary term, column 0 = out-of-vocabulary.
        ``"one_hot"`` (one vector per token) needs ``split=None`` and no ``ngrams``, so
        that each document is one token and the output one row per document, as Keras
        gives it; Keras' 3-D output for several tokens per document has no 2-D form.
    output_sequence_length : int or None, default=None
        ``"int"`` mode only: pad (with 0) or cut every row to this length, at the end.
        None pads to the longest document of the batch. With ``ragged=True`` rows are
        cut to this length and not padded (as Keras 3).
    pad_to_max_tokens : bool, default=False
        Bag modes only: make the output ``max_tokens`` wide even if the vocabulary is
        smaller.
    vocabulary : array-like of str or None, default=None
        A fixed vocabulary: :meth:`fit` then learns nothing. It may start with the
        special tokens (``["", "[UNK]", ...]`` in ``"int"`` mode, ``["[UNK]", ...]``
        otherwise).
    idf_weights : array-like of float or None, default=None
        With a fixed ``vocabulary`` in ``"tf_idf"`` mode: one weight per vocabulary
        entry (the OOV weight defaults to their mean when the vocabulary has no
        special tokens).
    sparse : bool or "auto", default="auto"
        Bag modes: return ``scipy.sparse`` CSR (True, and ``"auto"``); False returns a
        dense array. The dtype is Keras': int64 for ``"multi_hot"``, ``"count"`` and
        ``"one_hot"``, float32 for ``"tf_idf"``. ``sparse=True`` in ``"int"`` mode is an
        error, as in Keras.
    ragged : bool, default=False
        ``"int"`` mode: return a list of 1-D int64 arrays (one per document, no
        padding) instead of a padded 2-D array; feed it to :class:`SequencePadder`.

    Notes on ``split=None``: each document is one token. Keras then reads a 1-D batch
    as *one* sequence of tokens (one output row for the whole batch); skprep refuses
    1-D input to ``transform`` with ``split=None`` (except in ``"one_hot"`` mode,
    where Keras also gives one row per document) and takes one-column 2-D input
    (``X.reshape(-1, 1)``, ``df[["col"]]``), which Keras maps to one row per document.

    Attributes
    ----------
    vocabulary_ : list of str
        The vocabulary, special tokens first; a term's position is its index.
    idf_weights_ : ndarray of float32 or None
        ``"tf_idf"`` only: the weight of each vocabulary entry (OOV first).
    n_documents_ : int
        Documents seen by :meth:`fit` (0 with a fixed vocabulary).

    See Also
    --------
    SequencePadder : pad ragged ``"int"`` output like ``keras.utils.pad_sequences``.

    Notes
    -----
    Keras computes the OOV TF-IDF weight as a float32 ``reduce_mean`` whose summation
    order depends on TensorFlow's CPU kernels; skprep takes the float32 rounding of the
    exact mean. The two can differ in the last 1-2 bits (column 0 only). Every other
    weight, index and count is bit-identical. :meth:`to_keras_layer` copies skprep's
    weights, so that layer matches :meth:`transform` exactly.

    Fitting is built from three public steps, which the Dask helpers use:
    :meth:`partial_counts` ``(X) -> state``, :meth:`merge_counts` ``(a, b) -> state`` and
    :meth:`fit_from_counts` ``(state)``; merging partition counts in order and fitting
    from them equals :meth:`fit` on the concatenation, exactly (see the module
    docstring).

    Examples
    --------
    >>> from skprep import TextVectorizer
    >>> docs = ["The cat sat.", "The dog sat!", "A cat, a dog, a bird."]
    >>> vec = TextVectorizer(output_sequence_length=4).fit(docs)
    >>> vec.get_vocabulary()
    ['', '[UNK]', 'a', 'the', 'sat', 'dog', 'cat', 'bird']
    >>> vec.transform(["the cat ate"])
    array([[3, 6, 1, 0]])
    >>> bag = TextVectorizer(output_mode="count").fit(docs)
    >>> bag.transform(["a cat, a fish"]).toarray()
    array([[1, 2, 0, 0, 0, 1, 0]])
    """

    _parameter_constraints: dict = {
        "max_tokens": [Interval(Integral, 2, None, closed="left"), None],
        "standardize": [
            StrOptions({"lower_and_strip_punctuation", "lower", "strip_punctuation"}),
            callable,
            None,
        ],
        "split": [StrOptions({"whitespace", "character"}), callable, None],
        "ngrams": [Interval(Integral, 1, None, closed="left"),
                   IntTuple(None, low=1, allow_bool=False, types=(tuple,)), None],
        "output_mode": [StrOptions({"int", "multi_hot", "count", "tf_idf", "one_hot"})],
        "output_sequence_length": [Interval(Integral, 0, None, closed="left"), None],
        "pad_to_max_tokens": ["boolean"],
        "vocabulary": ["array-like", None],
        "idf_weights": ["array-like", None],
        "sparse": ["boolean", StrOptions({"auto"})],
        "ragged": ["boolean"],
    }

    def __init__(
        self,
        *,
        max_tokens: int | None = None,
        standardize: str | Callable[[str], str] | None = "lower_and_strip_punctuation",
        split: str | Callable[[str], list[str]] | None = "whitespace",
        ngrams: int | tuple[int, ...] | None = None,
        output_mode: str = "int",
        output_sequence_length: int | None = None,
        pad_to_max_tokens: bool = False,
        vocabulary: Any = None,
        idf_weights: Any = None,
        sparse: bool | str = "auto",
        ragged: bool = False,
    ) -> None:
        self.max_tokens = max_tokens
        self.standardize = standardize
        self.split = split
        self.ngrams = ngrams
        self.output_mode = output_mode
        self.output_sequence_length = output_sequence_length
        self.pad_to_max_tokens = pad_to_max_tokens
        self.vocabulary = vocabulary
        self.idf_weights = idf_weights
        self.sparse = sparse
        self.ragged = ragged

    # ------------------------------------------------------------------ checks
    def _check_options(self) -> None:
        """Cross-parameter rules (Keras raises ValueError for the same cases)."""
        name = type(self).__name__
        if self.output_mode != "int" and self.output_sequence_length is not None:
            raise InvalidParameterError(
                f"{name}: output_sequence_length applies to output_mode='int' only; got "
                f"output_sequence_length={self.output_sequence_length} with "
                f"output_mode={self.output_mode!r}. Remove output_sequence_length."
            )
        if self.ragged and self.output_mode != "int":
            raise InvalidParameterError(
                f"{name}: ragged=True needs output_mode='int'; got "
                f"output_mode={self.output_mode!r}."
            )
        if self.sparse is True and self.output_mode == "int":
            raise InvalidParameterError(
                f"{name}: sparse=True applies to the bag modes only (Keras raises too); got "
                "output_mode='int'. Use sparse='auto' or False."
            )
        if self.output_mode == "one_hot" and (self.split is not None or self.ngrams):
            raise InvalidParameterError(
                f"{name}: output_mode='one_hot' gives one vector per token, which is one row "
                "per document only when each document is one token: set split=None and "
                f"ngrams=None (got split={self.split!r}, ngrams={self.ngrams!r}), or use "
                "'multi_hot' for a bag of several tokens."
            )
        if self.pad_to_max_tokens and self.max_tokens is None:
            raise InvalidParameterError(
                f"{name}: pad_to_max_tokens=True needs max_tokens; got max_tokens=None. "
                "Set max_tokens or pad_to_max_tokens=False."
            )
        if self.idf_weights is not None and (
            self.vocabulary is None or self.output_mode != "tf_idf"
        ):
            raise InvalidParameterError(
                f"{name}: idf_weights go with a fixed vocabulary in output_mode='tf_idf'; got"
                f" output_mode={self.output_mode!r}, vocabulary="
                f"{'None' if self.vocabulary is None else 'set'}. Remove idf_weights."
            )

    def _tokenizer(self) -> Callable[[bytes], list[bytes]]:
        return make_tokenizer(self.standardize, self.split, ngram_widths(self.ngrams))

    def _token_start(self) -> int:
        return 2 if self.output_mode == "int" else 1

    # --------------------------------------------------------- mergeable fit
    def partial_counts(self, X: Any) -> dict[str, Any]:
        """Count the tokens of a batch of documents: the mergeable state of a fit.

        Nothing is set on the estimator, so partitions can be counted anywhere (e.g. on
        Dask workers) by copies of one unfitted vectorizer.

        Parameters
        ----------
        X : list of str, 1-D array, pandas Series or one-column 2-D input
            The documents.

        Returns
        -------
        state : dict
            ``{"token_counts": dict[bytes, int], "document_counts": dict | None,
            "n_documents": int}``, counts in order of first appearance (see the module
            docstring of :mod:`skprep.text`'s vectorizer); plain and picklable.

        Examples
        --------
        >>> TextVectorizer().partial_counts(["b a b"])["token_counts"]
        {b'b': 2, b'a': 1}
        """
        self._validate_params()
        self._check_options()
        docs = as_documents(X, type(self).__name__)
        return self._count_tokens(*self._tokenize_batch(docs))

    def _tokenize_batch(self, docs: list[bytes]) -> tuple[list[bytes], np.ndarray | None]:
        """All tokens of a batch, and the number of tokens of each document.

        The default chain (built-in ``standardize``, ``split="whitespace"``, no n-grams)
        runs once over the whole batch joined with ``" \\0 "`` (the ops are bytewise,
        so the tokens are the same); the lengths are then None, and the ``b"\\0"``
        separator tokens mark where documents end. Otherwise each document is
        tokenized on its own.
        """
        n = len(docs)
        fast = (self.split == "whitespace" and self.ngrams is None
                and not callable(self.standardize) and n > 1
                and getattr(self, "_lookup", {}).get(_SEPARATOR, _SEP_ID) == _SEP_ID)
        if fast:
            buffer = b" \0 ".join(docs)
            if buffer.count(_SEPARATOR) == n - 1:  # no document holds NUL bytes
                return self._tokenizer()(buffer), None
        token_lists = list(map(self._tokenizer(), docs))
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=n)
        return list(chain.from_iterable(token_lists)), lengths

    @staticmethod
    def _split_at_separators(ids: np.ndarray, is_sep: np.ndarray):
        """(ids without the separators, tokens per document) of a one-pass batch."""
        where = np.flatnonzero(is_sep)
        bounds = np.concatenate([[-1], where, [len(ids)]])
        return np.delete(ids, where), np.diff(bounds) - 1

    def _count_tokens(self, tokens: list[bytes], lengths: np.ndarray | None
                      ) -> dict[str, Any]:
        counter = Counter(tokens)
        # a one-pass batch has n - 1 separators (n > 1)
        n_documents = len(lengths) if lengths is not None else counter.pop(_SEPARATOR) + 1
        token_counts = dict(counter)
        document_counts = None
        if self.output_mode == "tf_idf":
            # distinct (document, token) pairs, counted per token
            index = {t: i for i, t in enumerate(token_counts)}
            ids = np.fromiter(map(index.get, tokens, repeat(-1)), dtype=np.int64,
                              count=len(tokens))
            if lengths is None:
                ids, lengths = self._split_at_separators(ids, ids < 0)
            indptr = np.concatenate([[0], np.cumsum(lengths)])
            per_doc = sp.csr_matrix((np.ones(len(ids), dtype=np.int32), ids, indptr),
                                    shape=(len(lengths), len(index)))
            per_doc.sum_duplicates()  # one entry per (document, token): sorts short rows
            df = np.bincount(per_doc.indices, minlength=len(index))
            document_counts = dict(zip(token_counts, df.tolist(), strict=True))
        return {"token_counts": token_counts, "document_counts": document_counts,
                "n_documents": n_documents}

    @staticmethod
    def merge_counts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        """Merge two count states, ``a``'s tokens first; the inputs are not modified.

        Merging the states of consecutive partitions in order, in any grouping, gives
        the state of the whole (as :meth:`partial_counts` of the concatenation).

        Parameters
        ----------
        a, b : dict
            States from :meth:`partial_counts` (or earlier merges).

        Returns
        -------
        state : dict

        Examples
        --------
        >>> vec = TextVectorizer()
        >>> merged = vec.merge_counts(vec.partial_counts(["b a"]), vec.partial_counts(["c b"]))
        >>> merged["token_counts"], merged["n_documents"]
        ({b'b': 2, b'a': 1, b'c': 1}, 2)
        """
        return {"token_counts": add_counts(a["token_counts"], b["token_counts"]),
                "document_counts": add_counts(a["document_counts"], b["document_counts"]),
                "n_documents": a["n_documents"] + b["n_documents"]}

    def fit_from_counts(self, state: dict[str, Any]) -> TextVectorizer:
        """Build the vocabulary (and IDF weights) from a count state, as Keras' ``adapt``.

        ``fit_from_counts(partial_counts(X))`` is :meth:`fit` ``(X)``; with a state
        merged over partitions (:meth:`merge_counts`), the same as :meth:`fit` on all of
        them at once, exactly. For a learned vocabulary (``vocabulary=None``).

        Parameters
        ----------
        state : dict
            From :meth:`partial_counts` / :meth:`merge_counts`, counted by an estimator
            with the same parameters.

        Returns
        -------
        self : TextVectorizer

        Examples
        --------
        >>> vec = TextVectorizer()
        >>> vec.fit_from_counts(vec.partial_counts(["a b b", "c"])).get_vocabulary()
        ['', '[UNK]', 'b', 'c', 'a']
        """
        self._validate_params()
        return self._fit_counts(state)

    def _fit_counts(self, state: dict[str, Any]) -> TextVectorizer:
        self._check_options()
        counts = dict(state["token_counts"])
        for token in _RESERVED:
            counts.pop(token, None)
        # Keras: np.lexsort((tokens, counts))[::-1], i.e. count then token bytes, descending
        ordered = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        if self.max_tokens is not None:
            ordered = ordered[: self.max_tokens - self._token_start()]
        tokens = [token for token, _ in ordered]
        idf = None
        if self.output_mode == "tf_idf":
            doc_counts = state["document_counts"]
            if doc_counts is None:
                raise InvalidArgumentError(
                    "The count state has no document counts; it was counted by an "
                    "estimator with output_mode != 'tf_idf'. Count again with tf_idf."
                )
            df = np.array([doc_counts[t] for t in tokens], dtype=np.int64)
            weights = np.log(1 + state["n_documents"] / (1 + df)).astype(np.float32)
            oov = np.float32(weights.mean(dtype=np.float64)) if len(weights) else np.float32(0)
            idf = np.concatenate([[oov], weights]).astype(np.float32)
        self._set_state([t.decode("utf-8") for t in tokens], idf)
        self.n_documents_ = int(state["n_documents"])
        return self

    def _set_state(self, tokens: list[str], idf: np.ndarray | None) -> None:
        start = self._token_start()
        specials = [MASK_TOKEN, OOV_TOKEN] if start == 2 else [OOV_TOKEN]
        self.vocabulary_ = specials + list(tokens)
        self.idf_weights_ = idf
        self._build_lookup()

    def _build_lookup(self) -> None:
        """Token bytes -> index, from ``vocabulary_`` (a cache: not saved, rebuilt)."""
        start = self._token_start()
        lookup = {t.encode("utf-8"): i for i, t in enumerate(self.vocabulary_[start:], start)}
        lookup[MASK_TOKEN.encode()] = 0 if start == 2 else -1  # padding / dropped
        lookup.setdefault(_SEPARATOR, _SEP_ID)  # ends a document in one-pass batches
        self._lookup = lookup

    def __getstate__(self) -> dict[str, Any]:
        # the lookup's bytes keys are derived from vocabulary_, and skops' format
        # (JSON keys) cannot hold them: a fitted vectorizer saves without it
        state = dict(super().__getstate__())  # object.__getstate__ gives __dict__ itself
        state.pop("_lookup", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if getattr(self, "vocabulary_", None) is not None:
            self._build_lookup()

    def _set_fixed_vocabulary(self) -> None:
        name = type(self).__name__
        vocab = [v.decode("utf-8") if isinstance(v, bytes) else v
                 for v in np.asarray(self.vocabulary, dtype=object).ravel().tolist()]
        if not vocab:
            raise VocabularyError(f"{name}: the fixed vocabulary is empty; pass some terms.")
        bad = [(i, v) for i, v in enumerate(vocab) if not isinstance(v, str)]
        if bad:
            raise VocabularyError(
                f"{name}: vocabulary entry {bad[0][0]} is {bad[0][1]!r}; expected str terms.")
        start = self._token_start()
        specials = [MASK_TOKEN, OOV_TOKEN][2 - start:]
        found = vocab[:start] == specials
        tokens = vocab[start:] if found else vocab
        repeated = [t for t, c in Counter(tokens).items() if c > 1]
        if repeated:
            raise VocabularyError(
                f"{name}: the vocabulary repeats the terms {repeated[:10]}; make it unique.")
        if MASK_TOKEN in tokens:
            raise VocabularyError(
                f"{name}: the vocabulary holds the reserved padding term '' at position "
                f"{vocab.index(MASK_TOKEN)}. Remove it, or start the vocabulary with "
                f"exactly {specials}.")
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise VocabularyError(
                f"{name}: the vocabulary has {start + len(tokens)} entries with the special "
                f"tokens; max_tokens is {self.max_tokens}. Raise max_tokens or trim it.")
        idf = None
        if self.output_mode == "tf_idf":
            if self.idf_weights is None:
                raise VocabularyError(
                    f"{name}: output_mode='tf_idf' with a fixed vocabulary needs idf_weights"
                    " (one per vocabulary entry).")
            weights = np.asarray(self.idf_weights, dtype=np.float64)
            if weights.ndim != 1 or len(weights) != len(vocab):
                raise VocabularyError(
                    f"{name}: idf_weights must be 1-D with one weight per vocabulary entry "
                    f"({len(vocab)}); got shape {weights.shape}.")
            if not found:  # Keras pads the OOV weight with the average weight
                weights = np.concatenate([[np.average(weights)], weights])
            idf = weights.astype(np.float32)
        self._set_state(tokens, idf)
        self.n_documents_ = 0

    # ------------------------------------------------------------- public API
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> TextVectorizer:
        """Learn the vocabulary (and document frequencies) of a batch of documents.

        Parameters
        ----------
        X : list of str, 1-D array, pandas Series or one-column 2-D input
            The documents. Ignored (but for the type) with a fixed ``vocabulary``.
        y : None
            Ignored.

        Returns
        -------
        self : TextVectorizer
        """
        self._check_options()
        if self.vocabulary is not None:
            as_documents(X, type(self).__name__)
            self._set_fixed_vocabulary()
            return self
        return self._fit_counts(self.partial_counts(X))

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        """The vocabulary, as Keras' ``get_vocabulary``: a term's position is its index."""
        check_is_fitted(self, "vocabulary_")
        if include_special_tokens:
            return list(self.vocabulary_)
        return self.vocabulary_[self._token_start():]

    def vocabulary_size(self) -> int:
        """Number of vocabulary entries, special tokens included."""
        check_is_fitted(self, "vocabulary_")
        return len(self.vocabulary_)

    def _depth(self) -> int:
        if self.pad_to_max_tokens:
            return int(self.max_tokens)
        return len(self.vocabulary_)

    def transform(self, X: Any) -> np.ndarray | sp.csr_matrix | list[np.ndarray]:
        """Tokenize and look up a batch of documents.

        Parameters
        ----------
        X : list of str, 1-D array, pandas Series or one-column 2-D input

        Returns
        -------
        out : ndarray of int64 (n, length), list of int64 arrays (``ragged=True``), \
CSR matrix or ndarray (n, n_terms), int64 (multi_hot, count) or float32 (tf_idf)
        """
        check_is_fitted(self, "vocabulary_")
        self._check_options()
        self._check_rank(X)
        docs = as_documents(X, type(self).__name__)
        return self._transform_tokens(*self._tokenize_batch(docs))

    def _check_rank(self, X: Any) -> None:
        """Refuse 1-D input with ``split=None``, which Keras reads as one sequence."""
        if self.split is not None or self.output_mode == "one_hot":
            return
        if len(getattr(X, "shape", ())) != 2:
            raise InputShapeError(
                f"{type(self).__name__} with split=None takes each document as one token; "
                "Keras reads a 1-D batch as one sequence of tokens (one output row for "
                "the whole batch), so skprep refuses 1-D input here. Pass one column of "
                "documents (np.asarray(docs, dtype=object).reshape(-1, 1), df[['col']]) "
                "for one row per document, as Keras gives for (N, 1) input."
            )

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any):
        """:meth:`fit` then :meth:`transform`, tokenizing the documents once.

        Parameters
        ----------
        X : list of str, 1-D array, pandas Series or one-column 2-D input
        y : None
            Ignored.

        Returns
        -------
        out : as :meth:`transform`
        """
        if self.vocabulary is not None:
            return self.fit(X).transform(X)
        self._validate_params()
        self._check_options()
        self._check_rank(X)
        docs = as_documents(X, type(self).__name__)
        batch = self._tokenize_batch(docs)
        self._fit_counts(self._count_tokens(*batch))
        return self._transform_tokens(*batch)

    def _transform_tokens(self, tokens: list[bytes], lengths: np.ndarray | None):
        oov = 1 if self.output_mode == "int" else 0
        flat = np.fromiter(map(self._lookup.get, tokens, repeat(oov)), dtype=np.int64,
                           count=len(tokens))
        if lengths is None:
            flat, lengths = self._split_at_separators(flat, flat == _SEP_ID)
        if self.output_mode == "int":
            return self._sequences(flat, lengths)
        return self._bag(flat, lengths)

    def _sequences(self, flat: np.ndarray, lengths: np.ndarray):
        n = len(lengths)
        width = self.output_sequence_length
        if self.ragged:
            rows = np.split(flat, np.cumsum(lengths)[:-1]) if n else []
            return rows if width is None else [row[:width] for row in rows]
        if width is None:
            width = int(lengths.max()) if n else 0
        out = np.zeros(n * width, dtype=np.int64)
        # flat position of every token in the (n, width) output, the overflow cut
        starts = np.cumsum(lengths) - lengths
        target = np.arange(len(flat)) + np.repeat(np.arange(n) * width - starts, lengths)
        keep = target < np.repeat(np.arange(1, n + 1) * width, lengths)
        out[target[keep]] = flat[keep]
        return out.reshape(n, width)

    def _bag(self, flat: np.ndarray, lengths: np.ndarray):
        n = len(lengths)
        rows = np.repeat(np.arange(n), lengths)
        keep = flat >= 0  # the padding token "" is dropped in bag modes
        cols, rows = flat[keep], rows[keep]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
        # Keras' dtypes: int64 counts / indicators, float32 TF-IDF (= float32 count * idf)
        dtype = np.float32 if self.output_mode == "tf_idf" else np.int64
        out = sp.csr_matrix(
            (np.ones(len(cols), dtype=dtype), cols, indptr), shape=(n, self._depth())
        )
        out.sum_duplicates()
        if self.output_mode in ("multi_hot", "one_hot"):
            out.data[:] = 1
        elif self.output_mode == "tf_idf":
            out.data *= self.idf_weights_[out.indices]
        return out if self.sparse in (True, "auto") else out.toarray()

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output column names: the vocabulary in bag modes, positions in ``"int"`` mode.

        Columns that ``pad_to_max_tokens`` adds past the vocabulary are named
        ``"[unused i]"``. ``"int"`` mode needs ``output_sequence_length`` (otherwise the
        width depends on the batch).
        """
        check_is_fitted(self, "vocabulary_")
        if self.output_mode == "int":
            if self.output_sequence_length is None:
                raise InvalidParameterError(
                    f"{type(self).__name__} in output_mode='int' without "
                    "output_sequence_length has no fixed output columns; set "
                    "output_sequence_length to name them.")
            return np.array([f"textvectorizer{i}" for i in range(self.output_sequence_length)],
                            dtype=object)
        names = list(self.vocabulary_)
        names += [f"[unused {i}]" for i in range(len(names), self._depth())]
        return np.array(names, dtype=object)

    def to_keras_layer(
        self,
        *,
        standardize: Callable | None = None,
        split: Callable | None = None,
        name: str | None = None,
    ):
        """A ``keras.layers.TextVectorization`` holding this vocabulary (and IDF weights).

        Parameters
        ----------
        standardize, split : callable, optional
            TensorFlow versions (taking and returning ``tf.string`` tensors) of this
            estimator's callables; required when ``standardize`` / ``split`` are
            callables, which Keras cannot run on Python strings.
        name : str, optional
            The layer's name.

        Returns
        -------
        layer : keras.layers.TextVectorization
            Its output equals :meth:`transform` (dense) for the same strings.
        """
        check_is_fitted(self, "vocabulary_")
        import keras

        def resolve(own, given, what):
            if not callable(own):
                return own
            if given is None:
                raise UnsupportedStepError(
                    f"{type(self).__name__}.{what} is a Python callable, which Keras cannot "
                    f"run inside the layer. Pass to_keras_layer({what}=...) a function on "
                    "tf.string tensors that does the same.")
            return given

        ngrams = self.ngrams
        return keras.layers.TextVectorization(
            max_tokens=self.max_tokens,
            standardize=resolve(self.standardize, standardize, "standardize"),
            split=resolve(self.split, split, "split"),
            ngrams=ngrams,
            output_mode=self.output_mode,
            output_sequence_length=self.output_sequence_length,
            pad_to_max_tokens=self.pad_to_max_tokens,
            vocabulary=list(self.vocabulary_),
            idf_weights=None if self.idf_weights_ is None else self.idf_weights_.copy(),
            ragged=self.ragged,
            name=name,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags
