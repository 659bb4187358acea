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

Fitting is a mergeable count step (``partial_counts`` / ``merge_counts`` /
``fit_from_counts``): counts of consecutive parts, merged in order, give exactly the
fit on the whole, key order included (the Dask fit uses it).

One deliberate difference: Keras fills ``word_docs`` (and so ``index_docs``) in the
iteration order of a Python ``set`` per document, which changes with the string hash
seed (``PYTHONHASHSEED``), so two Keras runs write different JSON. skprep keeps them in
the order of ``word_counts`` (first appearance): same contents, reproducible JSON.

Speed: tokenization works on whole batches (``_tokenizer_batch``), counting and
lookups on one flat token list with NumPy.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import repeat
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._compat import Interval, SkprepTransformer, StrOptions, fit_context
from ..exceptions import InvalidParameterError, VocabularyError
from ._inputs import add_counts
from ._padder import _as_sequences
from ._tokenizer_batch import DEFAULT_FILTERS, SEPARATORS, Batch, Rules, cut, matrix
from ._tokenizer_json import JSON_PARAMS, dump_json, parse_config, parse_state
from ._tokenizer_keras import text_vectorization

__all__ = ["KerasTokenizer"]

MATRIX_MODES = ("binary", "count", "tfidf", "freq")
_STATE_KEYS = ("word_counts", "word_docs", "document_count")


class KerasTokenizer(SkprepTransformer):
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
        Number of documents holding each word (keys in ``word_counts_`` order).
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
            raise InvalidParameterError(f"{name}: split must be a non-empty str; got split=''.")
        if not isinstance(self.filters, str) and not all(
            isinstance(c, str) and len(c) == 1 for c in self.filters
        ):
            raise InvalidParameterError(
                f"{name}: filters must be a str or a list of single characters; got "
                f"{self.filters!r:.80}.")

    def _batch(self, X: Any) -> Batch:
        """The tokens of the documents of ``X``, cut as Keras does."""
        return Rules("".join(self.filters), bool(self.lower), self.split,
                     bool(self.char_level), self.analyzer, type(self).__name__).batch(X)

    # --------------------------------------------------------- mergeable fit
    def partial_counts(self, X: Any) -> dict[str, Any]:
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
        return {"word_counts": add_counts(a["word_counts"], b["word_counts"]),
                "word_docs": add_counts(a["word_docs"], b["word_docs"]),
                "document_count": a["document_count"] + b["document_count"]}

    def fit_from_counts(self, counts: dict[str, Any]) -> KerasTokenizer:
        """Fit from a count state (:meth:`partial_counts`, :meth:`merge_counts`).

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
            raise InvalidParameterError(
                f"{type(self).__name__}.fit_from_counts: the count state lacks {missing}; "
                "make it with partial_counts / merge_counts.")
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
    @fit_context(prefer_skip_nested_validation=True)
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
        return self.fit_from_counts(self.partial_counts(X))

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
        counts = self.partial_counts(X)
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
        markers = dict.fromkeys(SEPARATORS, -1)
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

    def _lookup_tokens(self, batch: Batch) -> tuple[Batch, list[int]]:
        """The id of every token: >= 1, 0 (dropped: unknown, or an empty piece) or -1 (a
        marker between documents)."""
        table, with_markers, default = self._lookup()
        fill = 0 if default is None else default
        if batch.lengths is None and with_markers is None:
            batch = batch.regrouped()
        get = (table if batch.lengths is not None else with_markers).get
        return batch, list(map(get, batch.tokens, repeat(fill)))

    def _output(self, batch: Batch):
        batch, values = self._lookup_tokens(batch)
        ids = np.array(values, dtype=np.int64)
        if self.output == "sequences" and batch.lengths is None and ids.all():
            marks = np.flatnonzero(ids < 0).tolist()  # nothing dropped: cut at the markers
            return cut(values, [0, *(m + 1 for m in marks)], [*marks, len(values)])
        ids, doc = batch.locate(ids, ids > 0, ids < 0)
        lengths = np.bincount(doc, minlength=batch.n_docs)
        if self.output != "sequences":
            return self._matrix(ids, doc, lengths)
        ends = np.cumsum(lengths).tolist()
        return cut(ids.tolist(), [0, *ends][:-1], ends)

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
        """``sequences_to_matrix`` in mode ``output``."""
        if self.output == "tfidf" and not self.document_count_:
            raise InvalidParameterError(f"{type(self).__name__}: output='tfidf' needs a tokenizer "
                             "fitted on some documents (document_count_ is 0).")
        out = matrix(self.output, ids, doc, lengths, self._width(), self.index_docs_,
                     self.document_count_)
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
        params = self.get_params()
        state = {"document_count": self.document_count_, "word_counts": self.word_counts_,
                 "word_docs": self.word_docs_, "index_docs": self.index_docs_,
                 "index_word": self.index_word_, "word_index": self.word_index_}
        return dump_json(params, state, **kwargs)

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
        config = parse_config(json_string)
        params = {k: config.pop(k) for k in JSON_PARAMS if k in config}
        tokenizer = cls(**params, analyzer=analyzer, output=output, sparse=sparse)
        tokenizer._validate_params()
        cls._check_options(tokenizer)  # this class's own methods, on the new instance
        cls._set_state(tokenizer, *parse_state(config))
        return tokenizer

    def to_keras_layer(self, *, name: str | None = None,
                       output_sequence_length: int | None = None):
        """A Keras 3 ``TextVectorization`` layer giving the ids of :meth:`transform`.

        Parameters
        ----------
        name : str, optional
            The layer's name.
        output_sequence_length : int, optional
            None: ragged output, one row of ids per string (as :meth:`transform`). An
            int: rows padded with 0 / cut at the end to that length (as
            ``SequencePadder(maxlen=..., padding="post", truncating="post")``).

        Returns
        -------
        keras.layers.TextVectorization
            Its standardize and split are TensorFlow functions made here: it runs in a
            model and in ``tf.data``, and ``model.export(path)`` traces it for serving;
            a ``.keras`` file needs them again at load time (``custom_objects``).

        Raises
        ------
        UnsupportedStepError
            Naming each setting the layer cannot express: ``oov_token=None`` (the layer
            maps unknown words to 1, Keras' Tokenizer drops them), an ``oov_token``
            that is also a corpus word, an ``analyzer``, a matrix ``output``, the
            layer's reserved tokens ``""`` / ``"[UNK]"`` in the vocabulary.
        """
        check_is_fitted(self, "word_index_")
        return text_vectorization(self, name=name,
                                  output_sequence_length=output_sequence_length)

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
            raise InvalidParameterError(
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
