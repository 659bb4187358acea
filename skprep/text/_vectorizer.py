"""TextVectorizer: ``keras.layers.TextVectorization`` as a scikit-learn transformer.

Fitting is a mergeable count step, so it can run over partitions (Dask, chunks of a
file) and still give exactly the vocabulary of a fit on the whole::

    state = vec._count(part_1)                        # counts of one partition
    state = vec._merge_counts(state, vec._count(part_2))
    vec._fit_from_counts(state)                       # == vec.fit(part_1 + part_2)

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
from collections.abc import Callable, Iterable
from itertools import chain, repeat
from numbers import Integral
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..exceptions import TextInputError, VocabularyError
from ._standardize import make_tokenizer, to_bytes

__all__ = ["TextVectorizer", "as_documents"]

MASK_TOKEN = ""
OOV_TOKEN = "[UNK]"
_RESERVED = (MASK_TOKEN.encode(), OOV_TOKEN.encode())


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


def _ngram_widths(ngrams: int | tuple[int, ...] | None) -> tuple[int, ...] | None:
    if ngrams is None:
        return None
    if isinstance(ngrams, Integral) and not isinstance(ngrams, bool):
        return tuple(range(1, int(ngrams) + 1))
    return tuple(int(n) for n in ngrams)


class TextVectorizer(TransformerMixin, BaseEstimator):
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
        returns a ``str``.
    split : {"whitespace", "character"}, callable or None, default="whitespace"
        ``"whitespace"`` splits on ASCII whitespace only, as Keras. A callable
        receives one standardized document (``str``) and returns a list of ``str``.
    ngrams : int, tuple of int or None, default=None
        ``n`` gives all n-grams of widths 1..n; a tuple gives exactly those widths.
    output_mode : {"int", "multi_hot", "count", "tf_idf"}, default="int"
        ``"int"``: token indices, 0 = padding, 1 = out-of-vocabulary. The bag modes
        give one column per vocabulary term, column 0 = out-of-vocabulary.
    output_sequence_length : int or None, default=None
        ``"int"`` mode only: pad (with 0) or cut every row to this length, at the end.
        None pads to the longest document of the batch.
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
    sparse : bool, default=True
        Bag modes: return ``scipy.sparse`` CSR (float32); False returns a dense array.
    ragged : bool, default=False
        ``"int"`` mode: return a list of 1-D int64 arrays (one per document, no
        padding) instead of a padded 2-D array; feed it to :class:`SequencePadder`.

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

    Fitting is built from three private steps that the Dask helpers reuse:
    ``_count(X) -> state``, ``_merge_counts(a, b) -> state`` and
    ``_fit_from_counts(state)``; merging partition counts in order and fitting from
    them equals :meth:`fit` on the concatenation (see the module docstring).

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
    array([[1., 2., 0., 0., 0., 1., 0.]], dtype=float32)
    """

    _parameter_constraints: dict = {
        "max_tokens": [Interval(Integral, 2, None, closed="left"), None],
        "standardize": [
            StrOptions({"lower_and_strip_punctuation", "lower", "strip_punctuation"}),
            callable,
            None,
        ],
        "split": [StrOptions({"whitespace", "character"}), callable, None],
        "ngrams": [Interval(Integral, 1, None, closed="left"), tuple, None],
        "output_mode": [StrOptions({"int", "multi_hot", "count", "tf_idf"})],
        "output_sequence_length": [Interval(Integral, 0, None, closed="left"), None],
        "pad_to_max_tokens": ["boolean"],
        "vocabulary": ["array-like", None],
        "idf_weights": ["array-like", None],
        "sparse": ["boolean"],
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
        sparse: bool = True,
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
        if isinstance(self.ngrams, tuple) and not (
            self.ngrams
            and all(isinstance(n, Integral) and not isinstance(n, bool) and n >= 1
                    for n in self.ngrams)
        ):
            raise ValueError(
                f"The 'ngrams' parameter of {name} must be None, an int >= 1 or a non-empty "
                f"tuple of ints >= 1. Got {self.ngrams!r} instead."
            )
        if self.output_mode != "int" and self.output_sequence_length is not None:
            raise ValueError(
                f"{name}: output_sequence_length applies to output_mode='int' only; got "
                f"output_sequence_length={self.output_sequence_length} with "
                f"output_mode={self.output_mode!r}. Remove output_sequence_length."
            )
        if self.ragged and (self.output_mode != "int" or self.output_sequence_length is not None):
            raise ValueError(
                f"{name}: ragged=True needs output_mode='int' and no output_sequence_length;"
                f" got output_mode={self.output_mode!r}, output_sequence_length="
                f"{self.output_sequence_length}."
            )
        if self.pad_to_max_tokens and self.max_tokens is None:
            raise ValueError(
                f"{name}: pad_to_max_tokens=True needs max_tokens; got max_tokens=None. "
                "Set max_tokens or pad_to_max_tokens=False."
            )
        if self.idf_weights is not None and (
            self.vocabulary is None or self.output_mode != "tf_idf"
        ):
            raise ValueError(
                f"{name}: idf_weights go with a fixed vocabulary in output_mode='tf_idf'; got"
                f" output_mode={self.output_mode!r}, vocabulary="
                f"{'None' if self.vocabulary is None else 'set'}. Remove idf_weights."
            )

    def _tokenizer(self) -> Callable[[bytes], list[bytes]]:
        return make_tokenizer(self.standardize, self.split, _ngram_widths(self.ngrams))

    def _token_start(self) -> int:
        return 2 if self.output_mode == "int" else 1

    # --------------------------------------------------------- mergeable fit
    def _count(self, X: Any) -> dict[str, Any]:
        """Count tokens of a batch of documents: the mergeable state of a fit.

        Returns
        -------
        state : dict
            ``{"token_counts": dict[bytes, int], "document_counts": dict | None,
            "n_documents": int}``, counts in order of first appearance.
        """
        self._check_options()
        docs = as_documents(X, type(self).__name__)
        token_lists = list(map(self._tokenizer(), docs))
        token_counts = dict(Counter(chain.from_iterable(token_lists)))
        document_counts = None
        if self.output_mode == "tf_idf":
            document_counts = dict(
                Counter(chain.from_iterable(dict.fromkeys(t) for t in token_lists))
            )
        return {"token_counts": token_counts, "document_counts": document_counts,
                "n_documents": len(docs)}

    @staticmethod
    def _merge_counts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        """Merge two count states (``a``'s tokens first); the inputs are not modified."""

        def add(x: dict | None, y: dict | None) -> dict | None:
            if x is None or y is None:
                return None if x is None and y is None else dict(x or y)
            out = dict(x)
            get = out.get
            for token, count in y.items():
                out[token] = get(token, 0) + count
            return out

        return {"token_counts": add(a["token_counts"], b["token_counts"]),
                "document_counts": add(a["document_counts"], b["document_counts"]),
                "n_documents": a["n_documents"] + b["n_documents"]}

    def _fit_from_counts(self, state: dict[str, Any]) -> TextVectorizer:
        """Build the vocabulary (and IDF weights) from a count state, as Keras' adapt."""
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
                raise ValueError(
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
        lookup = {t.encode("utf-8"): i for i, t in enumerate(tokens, start)}
        lookup[MASK_TOKEN.encode()] = 0 if start == 2 else -1  # padding / dropped
        self._lookup = lookup

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
    @_fit_context(prefer_skip_nested_validation=True)
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
        return self._fit_from_counts(self._count(X))

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
CSR matrix or ndarray of float32 (n, n_terms)
        """
        check_is_fitted(self, "vocabulary_")
        self._check_options()
        docs = as_documents(X, type(self).__name__)
        token_lists = list(map(self._tokenizer(), docs))
        n = len(token_lists)
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=n)
        total = int(lengths.sum())
        oov = 1 if self.output_mode == "int" else 0
        flat = np.fromiter(
            map(self._lookup.get, chain.from_iterable(token_lists), repeat(oov)),
            dtype=np.int64, count=total,
        )
        if self.output_mode == "int":
            return self._sequences(flat, lengths)
        return self._bag(flat, lengths)

    def _sequences(self, flat: np.ndarray, lengths: np.ndarray):
        n = len(lengths)
        if self.ragged:
            return np.split(flat, np.cumsum(lengths)[:-1]) if n else []
        width = self.output_sequence_length
        if width is None:
            width = int(lengths.max()) if n else 0
        out = np.zeros((n, width), dtype=np.int64)
        rows = np.repeat(np.arange(n), lengths)
        starts = np.cumsum(lengths) - lengths
        pos = np.arange(len(flat)) - np.repeat(starts, lengths)
        keep = pos < width
        out[rows[keep], pos[keep]] = flat[keep]
        return out

    def _bag(self, flat: np.ndarray, lengths: np.ndarray):
        n = len(lengths)
        rows = np.repeat(np.arange(n), lengths)
        keep = flat >= 0  # the padding token "" is dropped in bag modes
        cols, rows = flat[keep], rows[keep]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
        out = sp.csr_matrix(
            (np.ones(len(cols), dtype=np.float32), cols, indptr), shape=(n, self._depth())
        )
        out.sum_duplicates()
        if self.output_mode == "multi_hot":
            out.data[:] = 1
        elif self.output_mode == "tf_idf":
            out.data *= self.idf_weights_[out.indices]
        return out if self.sparse else out.toarray()

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output column names: the vocabulary in bag modes, positions in ``"int"`` mode.

        Columns that ``pad_to_max_tokens`` adds past the vocabulary are named
        ``"[unused i]"``. ``"int"`` mode needs ``output_sequence_length`` (otherwise the
        width depends on the batch).
        """
        check_is_fitted(self, "vocabulary_")
        if self.output_mode == "int":
            if self.output_sequence_length is None:
                raise ValueError(
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
                raise ValueError(
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
