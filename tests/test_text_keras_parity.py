"""TextVectorizer and pad_sequences against the real Keras, on a real corpus.

The corpus is every docstring paragraph of a dozen standard-library packages (read
from disk, a few thousand documents) plus adversarial strings. Each configuration
is adapted once in Keras (module-scoped) and compared for the vocabulary and the
output on seen and unseen documents.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from text_corpus import stdlib_docstrings

from skprep import SequencePadder, TextVectorizer
from skprep.exceptions import InputShapeError, InvalidParameterError
from skprep.text import pad_sequences

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

pytestmark = pytest.mark.keras

ADVERSARIAL = [
    "",
    "   ",
    "\t\n\r\x0b\x0c",
    "ÉCOLE Straße ÀÉÎ İstanbul ΣΊΣΥΦΟΣ ǅ",  # ASCII-only lowercasing in Keras
    "emoji 😀🎉 👍🏽 family 👨‍👩‍👧 flags 🇫🇷🇯🇵",
    "日本語のテキスト、句読点。中文，标点！",
    "curly ‘quotes’ “double” — dash … ellipsis ¿inverted? «guillemets»",
    "no-break\u00a0space em\u2003space ideographic\u3000space nel\x85x fs\x1cgs\x1drs\x1e",
    "zero\u200bwidth joiner\u200d rtl\u202eoverride combining e\u0301 ﬁ ligature",
    "[UNK] literal and [unk] UNK unk",
    "punct!!!only???  ...  ,,, ;;; \\ / | ~ ` ' \"",
    "MiXeD CaSe WoRdS with Digits 123 4.56 7,890",
    "tabs\tand\nnewlines\r\nand  double  spaces ",
    " ".join(f"tok{i % 397}" for i in range(1500)) + " unique_tail_token",  # many tokens
    "x" * 1000,  # one long token (Keras builds fixed-width numpy arrays of the vocabulary)
]


def std_no_vowels(text: str) -> str:
    """skprep side of a custom standardize (module level: picklable)."""
    return re.sub("[aeiou]", "", text)


def tf_std_no_vowels(x):
    return tf.strings.regex_replace(x, "[aeiou]", "")


def split_on_e(text: str) -> list[str]:
    """Keeps empty pieces, like tf.strings.split(sep=...): exercises the "" mask token."""
    return text.split("e")


def tf_split_on_e(x):
    return tf.strings.split(x, sep="e")


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[str]]:
    docs, _ = stdlib_docstrings(paragraphs=True)
    assert len(docs) > 3000
    train = docs[:-400] + ADVERSARIAL
    unseen = docs[-400:] + ["never seen zyzzyva", "Ünseen 😀 words"] + ADVERSARIAL
    return train, unseen


# (id, skprep kwargs, keras kwargs overrides)
CONFIGS = [
    ("int-default", {}, {}),
    ("int-max-len", {"max_tokens": 500, "output_sequence_length": 20}, {}),
    ("int-bigrams", {"ngrams": 2, "max_tokens": 3000, "output_sequence_length": 64}, {}),
    ("int-chars-lower", {"standardize": "lower", "split": "character",
                         "output_sequence_length": 50}, {}),
    ("int-strip-only", {"standardize": "strip_punctuation", "max_tokens": 4000,
                        "output_sequence_length": 30}, {}),
    ("int-no-split", {"standardize": None, "split": None, "max_tokens": 100}, {}),
    ("int-callables", {"standardize": std_no_vowels, "split": split_on_e,
                       "output_sequence_length": 40},
     {"standardize": tf_std_no_vowels, "split": tf_split_on_e}),
    ("multi-hot", {"output_mode": "multi_hot", "max_tokens": 300}, {}),
    ("count-ngrams13", {"output_mode": "count", "ngrams": (1, 3), "max_tokens": 2000}, {}),
    ("count-pad", {"output_mode": "count", "max_tokens": 3000, "pad_to_max_tokens": True,
                   "standardize": None, "split": "character"}, {}),
    ("tf-idf", {"output_mode": "tf_idf"}, {}),
    ("tf-idf-pad-bigrams", {"output_mode": "tf_idf", "max_tokens": 1000, "ngrams": (2,),
                            "pad_to_max_tokens": True}, {}),
    ("tf-idf-chars", {"output_mode": "tf_idf", "split": "character", "standardize": "lower"},
     {}),
]
KERAS_ONLY = {"sparse", "ragged"}
# Keras' tf_idf adapt runs tf.unique row by row (~2 ms a document): adapt the extra
# tf_idf configurations on part of the corpus to keep the suite fast
SUBSET = {"tf-idf-pad-bigrams": 800, "tf-idf-chars": 400}


@pytest.fixture(scope="module")
def adapted(corpus):
    """config id -> (fitted TextVectorizer, adapted Keras layer); built once per module."""
    train, _ = corpus
    out = {}
    for cid, kwargs, keras_kwargs in CONFIGS:
        docs = train[-SUBSET[cid]:] if cid in SUBSET else train
        vec = TextVectorizer(**kwargs).fit(docs)
        layer = keras.layers.TextVectorization(
            **{k: v for k, v in {**kwargs, **keras_kwargs}.items() if k not in KERAS_ONLY},
            # sparse output for count/multi_hot; Keras 3.15 fails on sparse tf_idf (GatherNd)
            sparse=kwargs.get("output_mode", "int") in ("count", "multi_hot"),
        )
        layer.adapt(docs)
        out[cid] = (vec, layer)
    return out


def _keras_output(layer, docs, split):
    # with split=None Keras keeps the input rank: feed it (N, 1) to get skprep's 2-D (N, 1)
    out = layer(np.array(docs, dtype=object)[:, None] if split is None else docs)
    if isinstance(out, tf.SparseTensor):  # bag modes, compared sparse (no huge dense arrays)
        idx = out.indices.numpy()
        return sp.csr_matrix((out.values.numpy(), (idx[:, 0], idx[:, 1])),
                             shape=tuple(out.dense_shape.numpy()))
    return np.asarray(out)


def _assert_same_output(vec, layer, docs, batch=600):
    if vec.output_mode == "tf_idf" and len(docs) > batch:  # dense Keras output: in batches
        for start in range(0, len(docs), batch):
            _assert_same_output(vec, layer, docs[start : start + batch])
        return
    expected = _keras_output(layer, docs, vec.split)
    # with split=None both take one column (N, 1): one row per document
    got = vec.transform(np.array(docs, dtype=object)[:, None] if vec.split is None else docs)
    if vec.output_mode == "int":
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, expected)
        return
    assert got.format == "csr" and got.dtype == expected.dtype
    assert got.shape == expected.shape
    if sp.issparse(expected):
        expected.sum_duplicates()
        expected.eliminate_zeros()
        np.testing.assert_array_equal(got.indptr, expected.indptr)
        np.testing.assert_array_equal(got.indices, expected.indices)
        got, expected = got.toarray(), expected.toarray()  # now cheap enough to check values
    else:
        got = got.toarray()
    if vec.output_mode == "tf_idf":
        # column 0 (OOV) uses TF's float32 reduce_mean, whose summation order differs from
        # the exact mean skprep rounds: a relative 1e-6 at most
        np.testing.assert_allclose(got[:, 0], expected[:, 0], rtol=2e-6, atol=0)
        got, expected = got[:, 1:], expected[:, 1:]
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("cid", [c[0] for c in CONFIGS])
def test_vocabulary_and_output_equal_keras(adapted, corpus, cid):
    vec, layer = adapted[cid]
    train, unseen = corpus
    keras_vocab = layer.get_vocabulary()
    assert vec.get_vocabulary() == keras_vocab
    start = 2 if vec.output_mode == "int" else 1
    assert vec.get_vocabulary(include_special_tokens=False) == keras_vocab[start:]
    assert vec.vocabulary_size() == layer.vocabulary_size()
    _assert_same_output(vec, layer, train)
    _assert_same_output(vec, layer, unseen)


def test_corpus_has_ties_and_unicode(adapted):
    """The tie-break and Unicode paths are really exercised by the parity tests."""
    vec, _ = adapted["int-default"]
    counts = vec.partial_counts(vec.vocabulary_[2:])  # noqa: F841 (smoke: counting vocabulary works)
    state = TextVectorizer().partial_counts(
        [d for d in ADVERSARIAL] + stdlib_docstrings(max_docs=300)[0])
    values = list(state["token_counts"].values())
    assert len(values) > len(set(values))  # many ties
    assert "école" not in vec.vocabulary_ and "École".lower() not in vec.vocabulary_
    assert "École" in vec.vocabulary_ and "straße" in vec.vocabulary_
    assert "“double”" in vec.vocabulary_ and "no-break\u00a0space".replace("-", "") in (
        vec.vocabulary_)


@pytest.mark.parametrize("cid", ["int-max-len", "int-bigrams", "multi-hot", "count-pad",
                                 "tf-idf", "tf-idf-pad-bigrams", "int-callables"])
def test_to_keras_layer_reproduces_transform(adapted, corpus, cid):
    vec, _ = adapted[cid]
    extra = {}
    if cid == "int-callables":
        with pytest.raises(ValueError, match="Pass to_keras_layer"):
            vec.to_keras_layer()
        extra = {"standardize": tf_std_no_vowels, "split": tf_split_on_e}
    layer = vec.to_keras_layer(**extra)
    docs = corpus[1]
    expected = vec.transform(docs)
    expected = expected.toarray() if hasattr(expected, "toarray") else expected
    np.testing.assert_array_equal(np.asarray(layer(docs)), expected)
    assert layer.get_vocabulary() == vec.get_vocabulary()


def test_fixed_vocabulary_equals_keras(corpus):
    docs = corpus[1]
    vocab = ["the", "of", "a", "école", "😀", "return", "[UNK]"]
    for kwargs in ({"output_mode": "int", "output_sequence_length": 12},
                   {"output_mode": "count"}, {"output_mode": "multi_hot"}):
        vec = TextVectorizer(vocabulary=vocab, **kwargs).fit(docs)
        layer = keras.layers.TextVectorization(
            vocabulary=vocab, sparse=kwargs["output_mode"] != "int", **kwargs)
        assert vec.get_vocabulary() == layer.get_vocabulary()
        _assert_same_output(vec, layer, docs)
    weights = np.linspace(0.5, 3.0, len(vocab))
    for v, w in ((vocab, weights), (["[UNK]", *vocab[:-1]], weights)):
        vec = TextVectorizer(output_mode="tf_idf", vocabulary=v, idf_weights=w).fit(docs)
        layer = keras.layers.TextVectorization(output_mode="tf_idf", vocabulary=v,
                                               idf_weights=w)
        assert vec.get_vocabulary() == layer.get_vocabulary()
        np.testing.assert_array_equal(vec.transform(docs).toarray(), np.asarray(layer(docs)))


def test_ragged_then_padder_equals_keras_pad_sequences(adapted, corpus):
    vec, layer = adapted["int-default"]
    docs = corpus[1][:200]
    ragged = TextVectorizer(max_tokens=vec.max_tokens, ragged=True).fit(corpus[0]).transform(docs)
    keras_ragged = keras.layers.TextVectorization(vocabulary=vec.vocabulary_[2:], ragged=True)
    expected_lists = [list(r) for r in keras_ragged(docs).to_list()]
    assert [r.tolist() for r in ragged] == expected_lists
    for padding in ("pre", "post"):
        for truncating in ("pre", "post"):
            padder = SequencePadder(maxlen=25, padding=padding, truncating=truncating)
            np.testing.assert_array_equal(
                padder.fit_transform(ragged),
                keras.utils.pad_sequences(expected_lists, maxlen=25, padding=padding,
                                          truncating=truncating))


RAGGED = [[1, 2, 3, 4, 5], [], [7], [8, 9], list(range(100, 112)), [0, 3]]


@pytest.mark.parametrize("maxlen", [None, 1, 3, 5, 20])
@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
@pytest.mark.parametrize(("value", "dtype"),
                         [(0.0, "int32"), (-1, "int64"), (0.5, "float32"), (7, "uint8"),
                          (0.5, "int32")])
def test_pad_sequences_equals_keras(maxlen, padding, truncating, value, dtype):
    kwargs = {"maxlen": maxlen, "padding": padding, "truncating": truncating,
              "value": value, "dtype": dtype}
    expected = keras.utils.pad_sequences(RAGGED, **kwargs)
    got = pad_sequences(RAGGED, **kwargs)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    padder = SequencePadder(**kwargs)
    np.testing.assert_array_equal(padder.fit_transform(RAGGED), expected)
    arrays = [np.asarray(s, dtype=np.int64) for s in RAGGED]  # arrays, not lists
    np.testing.assert_array_equal(padder.transform(arrays), expected)


def test_pad_sequences_edge_cases_equal_keras():
    cases = [
        ([[], [], []], {}),
        ([[], [], []], {"maxlen": 2}),
        ([[[1, 2], [3, 4]], [[5, 6]], []], {"maxlen": 3}),  # 2-D elements
        ([["a", "b"], ["c"]], {"dtype": object, "value": "<pad>"}),
        ([[1.5, 2.5], [3.25]], {"dtype": "float64", "padding": "post"}),
    ]
    for seqs, kwargs in cases:
        expected = keras.utils.pad_sequences(seqs, **kwargs)
        got = pad_sequences(seqs, **kwargs)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="dtype=object"):
        pad_sequences([["a"]], value="x")


def _random_unicode_docs(n: int, seed: int = 0) -> list[str]:
    """Strings drawn from the characters where Keras and Python's str methods disagree."""
    alphabet = list(
        "abcXYZ ÉéÀßİıǅΣσς" "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" " \t\n\r\x0b\x0c"
        "\x1c\x1d\x1e\x1f\x85\xa0\u2003\u3000\u2028" "‘’“”—…¿«»、。"
        "\u0301\u200b\u200d\ufeff" "日本語中文" "😀🎉👍🏽👨‍👩‍👧🇫🇷"
    )
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 40, size=n)
    return ["".join(rng.choice(alphabet, size=k)) for k in lengths]


@pytest.mark.parametrize("kwargs", [
    {},
    {"output_mode": "count", "split": "character", "standardize": "lower"},
    {"output_mode": "tf_idf", "ngrams": 3, "standardize": "strip_punctuation"},
    {"output_mode": "multi_hot", "standardize": None, "split": None},
], ids=["int", "count-chars", "tf-idf-trigrams", "multi-hot-whole"])
def test_random_unicode_strings_equal_keras(kwargs):
    train, unseen = _random_unicode_docs(400), _random_unicode_docs(100, seed=1)
    vec = TextVectorizer(**kwargs).fit(train)
    layer = keras.layers.TextVectorization(**kwargs)
    layer.adapt(np.array(train, dtype=object)[:, None] if kwargs.get("split", 1) is None
                else train)
    assert vec.get_vocabulary() == layer.get_vocabulary()
    _assert_same_output(vec, layer, train)
    _assert_same_output(vec, layer, unseen)



# ------------------------------------------- Keras 3 semantics from Keras' own tests (issue 13)

KERAS_DOCS = ["the quick brown fox", "jumped over", "the lazy dog and the cat", "fox"]


def _keras_layer(**kwargs):
    layer = keras.layers.TextVectorization(**kwargs)
    layer.adapt(KERAS_DOCS)
    return layer


@pytest.mark.parametrize("length", [1, 3, 10])
def test_ragged_with_output_sequence_length_truncates_as_keras_3(length):
    ours = TextVectorizer(ragged=True, output_sequence_length=length).fit(KERAS_DOCS)
    theirs = _keras_layer(ragged=True, output_sequence_length=length)(KERAS_DOCS)
    assert [row.tolist() for row in ours.transform(KERAS_DOCS)] == theirs.to_list()


def test_one_hot_with_one_token_per_document_equals_keras():
    column = np.array(["fox", "dog", "cat", "fox", "unseen"], dtype=object)[:, None]
    ours = TextVectorizer(output_mode="one_hot", split=None, sparse=False).fit(column[:4])
    layer = keras.layers.TextVectorization(output_mode="one_hot", split=None)
    layer.adapt(column[:4])
    assert ours.vocabulary_ == layer.get_vocabulary()
    np.testing.assert_array_equal(ours.transform(column), np.asarray(layer(column)))
    # a 1-D batch gives one row per document in Keras too in this mode
    np.testing.assert_array_equal(ours.transform(column[:, 0]), np.asarray(layer(column[:, 0])))
    exported = ours.to_keras_layer()
    np.testing.assert_array_equal(np.asarray(exported(column)), ours.transform(column))
    # several tokens per document: Keras returns one vector per token (3-D); refused
    assert len(_keras_layer(output_mode="one_hot")(KERAS_DOCS).shape) == 3
    with pytest.raises(InvalidParameterError, match="split=None"):
        TextVectorizer(output_mode="one_hot").fit(KERAS_DOCS)


@pytest.mark.parametrize("output_mode", ["int", "multi_hot"])
def test_split_none_one_column_equals_keras_and_1d_is_refused(output_mode):
    docs = np.array(KERAS_DOCS + ["jumped over"], dtype=object)
    layer = _keras_layer(split=None, output_mode=output_mode)
    vec = TextVectorizer(split=None, output_mode=output_mode, sparse=False).fit(KERAS_DOCS)
    np.testing.assert_array_equal(vec.transform(docs[:, None]), np.asarray(layer(docs[:, None])))
    # Keras reads a 1-D batch with split=None as one sequence: one row for the whole batch
    assert np.asarray(layer(docs)).ndim == 1
    with pytest.raises(InputShapeError, match=r"one sequence.*reshape\(-1, 1\)"):
        vec.transform(docs)
    with pytest.raises(InputShapeError, match="split=None"):
        clone(vec).fit_transform(list(docs))


def test_sparse_true_with_int_output_raises_as_keras():
    with pytest.raises(ValueError, match="sparse"):
        keras.layers.TextVectorization(sparse=True, output_mode="int")
    with pytest.raises(InvalidParameterError, match="sparse=True applies to the bag modes"):
        TextVectorizer(sparse=True).fit(KERAS_DOCS)
    assert isinstance(TextVectorizer().fit(KERAS_DOCS).transform(KERAS_DOCS), np.ndarray)
    assert sp.issparse(TextVectorizer(output_mode="count").fit_transform(KERAS_DOCS))
