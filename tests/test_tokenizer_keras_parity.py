"""KerasTokenizer against the real legacy Keras Tokenizer (``tf_keras``), on real text.

The corpus is read from disk: the docstring paragraphs of a dozen standard-library
packages and scikit-learn's dataset descriptions (``sklearn/datasets/descr/*.rst``),
plus adversarial Unicode. Every configuration is fitted once in Keras and once in
skprep, and everything Keras exposes is compared: ``word_index`` / ``word_counts``
(key order included), ``word_docs`` / ``index_docs``, ``document_count``, sequences on
seen and unseen documents, all four matrix modes, ``sequences_to_texts`` and the JSON,
read and written both ways.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.datasets
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import make_pipeline
from text_corpus import stdlib_docstrings

from skprep import KerasTokenizer, SequencePadder

text = pytest.importorskip("tf_keras.preprocessing.text")
sequence = pytest.importorskip("tf_keras.preprocessing.sequence")

pytestmark = pytest.mark.keras

ADVERSARIAL = [
    "",
    "   ",
    "\t\n\r\x0b\x0c",
    "İstanbul İİ ı I",  # 'İ'.lower() is two code points: 'i' + combining dot
    "Straße STRASSE ß ẞ",
    "ΣΊΣΥΦΟΣ ΟΔΟΣ ΑΣ,Σ όσος Σ",  # context-sensitive final sigma at word/document ends
    "ΑΣ",
    "Σ",
    "ǅ ǆ Ǆ ﬁ ligature Ⅻ Ⓐ",
    "curly ‘quotes’ “double” — dash … ellipsis ¿inverted? «guillemets» ¡hola!",
    "日本語のテキスト、句読点。中文，标点！",
    "emoji 😀🎉 👍🏽 family 👨‍👩‍👧 flags 🇫🇷🇯🇵",
    "no-break\u00a0space em\u2003space ideographic\u3000space nel\x85x fs\x1cgs\x1drs\x1e",
    "zero\u200bwidth joiner\u200d rtl\u202eoverride combining e\u0301 é",
    "lone \ud800 surrogate",
    "can't won't it's rock'n'roll",
    "<OOV> oov [UNK] the THE The",
    "MiXeD CaSe WoRdS with Digits 123 4.56 7,890",
    "nul\x00inside control\x01chars\x02",  # the batch separators: one document at a time
    "x" * 5000,  # one very long token
    " ".join(f"tok{i % 97}" for i in range(3000)),  # many tokens
]


def _descr_paragraphs() -> list[str]:
    root = Path(sklearn.datasets.__file__).parent / "descr"
    return [p for f in sorted(root.glob("*.rst"))
            for p in f.read_text(encoding="utf-8").split("\n\n") if p.strip()]


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[str]]:
    """(training documents, unseen documents)."""
    docs, _ = stdlib_docstrings(max_docs=2500, paragraphs=True)
    descr = _descr_paragraphs()
    train = docs[:2000] + descr[::2] + ADVERSARIAL
    unseen = docs[2000:] + descr[1::2] + ["totally unseen wörds", "", "ΣΟΦΟΣ İ"]
    return train, unseen


CONFIGS = [
    {},
    {"num_words": 20},
    {"num_words": 20, "oov_token": "<OOV>"},
    {"oov_token": "<OOV>"},
    {"oov_token": "the"},  # the OOV token is also a corpus word: Keras' dict(zip) quirk
    {"num_words": 1, "oov_token": "<OOV>"},
    {"num_words": 0},
    {"char_level": True},
    {"char_level": True, "num_words": 15, "oov_token": "~"},
    {"lower": False, "filters": ""},
    {"split": "e", "filters": "xyz"},
    {"split": "ab", "filters": ["a", ".", "\n"]},  # several characters, filters as a list
    {"split": "\n", "lower": False},
]


def _keras(corpus_docs, **kwargs):
    tok = text.Tokenizer(**kwargs)
    tok.fit_on_texts(corpus_docs)
    return tok


@pytest.fixture(scope="module")
def fitted(corpus):
    """kwargs -> (Keras tokenizer, KerasTokenizer), each fitted once on the corpus."""
    cache: dict[str, tuple] = {}

    def get(kwargs: dict):
        key = repr(kwargs)
        if key not in cache:
            cache[key] = (_keras(corpus[0], **kwargs), KerasTokenizer(**kwargs).fit(corpus[0]))
        return cache[key]

    return get


def _inner(json_string: str) -> dict:
    """The JSON with its json.dumps'd inner dictionaries parsed."""
    payload = json.loads(json_string)
    for key in ("word_counts", "word_docs", "index_docs", "index_word", "word_index"):
        payload["config"][key] = json.loads(payload["config"][key])
    return payload


def _assert_same_state(ours: KerasTokenizer, keras_tok) -> None:
    assert list(ours.word_index.items()) == list(keras_tok.word_index.items())
    assert list(ours.index_word.items()) == list(keras_tok.index_word.items())
    assert list(ours.word_counts.items()) == list(keras_tok.word_counts.items())
    assert ours.word_docs == dict(keras_tok.word_docs)  # Keras' order: set iteration
    assert ours.index_docs == dict(keras_tok.index_docs)
    assert ours.document_count == keras_tok.document_count


@pytest.mark.parametrize("kwargs", CONFIGS, ids=repr)
def test_fit_and_sequences_match_keras(corpus, fitted, kwargs):
    train, unseen = corpus
    keras_tok, ours = fitted(kwargs)
    _assert_same_state(ours, keras_tok)
    for docs in (train, unseen):
        assert ours.transform(docs) == keras_tok.texts_to_sequences(docs)
    assert KerasTokenizer(**kwargs).fit_transform(train) == keras_tok.texts_to_sequences(train)
    # one document at a time takes the per-document path: same ids
    assert [ours.transform([d])[0] for d in ADVERSARIAL] == \
        keras_tok.texts_to_sequences(ADVERSARIAL)


@pytest.mark.parametrize("kwargs", CONFIGS, ids=repr)
def test_sequences_to_texts_match_keras(corpus, fitted, kwargs):
    train, _ = corpus
    keras_tok, ours = fitted(kwargs)
    seqs = keras_tok.texts_to_sequences(train[:300] + ADVERSARIAL)
    rng = np.random.default_rng(0)
    random_ids = [rng.integers(0, len(keras_tok.word_index) + 5, size=n).tolist()
                  for n in (0, 1, 7, 40)]
    for batch in (seqs, random_ids):
        assert ours.inverse_transform(batch) == keras_tok.sequences_to_texts(batch)
    padded = sequence.pad_sequences(seqs, maxlen=12)  # id 0 (padding) is no word
    assert ours.inverse_transform(padded) == keras_tok.sequences_to_texts(padded.tolist())


@pytest.mark.parametrize("mode", ["binary", "count", "tfidf", "freq"])
@pytest.mark.parametrize("kwargs", [{}, {"num_words": 50, "oov_token": "<OOV>"},
                                    {"num_words": 30}, {"char_level": True},
                                    {"oov_token": "the"}], ids=repr)
def test_matrices_match_keras_exactly(corpus, fitted, kwargs, mode):
    train, unseen = corpus
    keras_tok, ours = fitted(kwargs)
    docs = train[:400] + ADVERSARIAL + unseen[:100]
    expected = keras_tok.texts_to_matrix(docs, mode=mode)
    dense = clone(ours).set_params(output=mode).fit(train).transform(docs)
    assert dense.dtype == expected.dtype == np.float64
    np.testing.assert_array_equal(dense, expected)  # tfidf too: the same float64 formula
    sparse = clone(ours).set_params(output=mode, sparse=True).fit(train).transform(docs)
    assert sp.issparse(sparse) and sparse.format == "csr"
    np.testing.assert_array_equal(sparse.toarray(), expected)


def test_token_lists_and_analyzer_match_keras():
    """Lists of tokens (kept as they are, only lowercased) next to strings, as Keras."""
    docs = [["Hello", "World", "hello"], "some text, Hello!", ["ÉCOLE", "", "x y"],
            ["İ", "ß"], "", [], "world"]
    for kwargs in ({}, {"oov_token": "<OOV>", "num_words": 4}, {"lower": False}):
        keras_tok = _keras(docs, **kwargs)
        ours = KerasTokenizer(**kwargs).fit(docs)
        _assert_same_state(ours, keras_tok)
        probe = docs + [["", "unknown"], "x y hello"]
        assert ours.transform(probe) == keras_tok.texts_to_sequences(probe)
    keras_tok = _keras(ADVERSARIAL, analyzer=str.split)
    ours = KerasTokenizer(analyzer=str.split).fit(ADVERSARIAL)
    _assert_same_state(ours, keras_tok)
    assert ours.transform(ADVERSARIAL) == keras_tok.texts_to_sequences(ADVERSARIAL)


def test_partial_fit_is_a_second_fit_on_texts(corpus):
    train, unseen = corpus
    keras_tok = text.Tokenizer(oov_token="<OOV>", num_words=100)
    ours = KerasTokenizer(oov_token="<OOV>", num_words=100)
    for part in (train[:700], train[700:], unseen):
        keras_tok.fit_on_texts(part)
        ours.partial_fit(part)
        _assert_same_state(ours, keras_tok)
    assert ours.transform(unseen) == keras_tok.texts_to_sequences(unseen)


@pytest.mark.parametrize("kwargs", CONFIGS, ids=repr)
def test_json_round_trips_both_ways(corpus, fitted, kwargs):
    _, unseen = corpus
    keras_tok, ours = fitted(kwargs)
    keras_json, ours_json = keras_tok.to_json(), ours.to_json()
    # skprep writes Keras' JSON: same config and dictionaries (word_docs order aside)
    assert _inner(ours_json) == _inner(keras_json)
    ours_config, keras_config = json.loads(ours_json)["config"], json.loads(keras_json)["config"]
    for key in ("word_counts", "word_index", "index_word"):
        assert ours_config[key] == keras_config[key]  # byte for byte
    # Keras reads skprep's JSON and tokenizes identically
    back = text.tokenizer_from_json(ours.to_json(indent=2))
    assert back.texts_to_sequences(unseen) == keras_tok.texts_to_sequences(unseen)
    assert back.to_json() == ours_json
    # skprep reads Keras' JSON: a fitted estimator that writes the very same JSON
    loaded = KerasTokenizer.from_json(keras_json)
    assert loaded.to_json() == keras_json
    _assert_same_state(loaded, keras_tok)
    assert loaded.transform(unseen) == keras_tok.texts_to_sequences(unseen)
    assert loaded.get_params() == KerasTokenizer(**kwargs).get_params()


def test_json_keyword_arguments_reach_the_outer_dumps(fitted):
    keras_tok, _ = fitted({"oov_token": "<OOV>"})
    loaded = KerasTokenizer.from_json(keras_tok.to_json(indent=3).encode("utf-8"))
    assert loaded.to_json() == keras_tok.to_json()
    assert loaded.to_json(indent=1, sort_keys=True) == keras_tok.to_json(indent=1,
                                                                         sort_keys=True)


def test_tf_keras_saved_json_gives_identical_padded_sequences(corpus, tmp_path):
    """The migration: a tokenizer.json saved by tf_keras, loaded into a skprep Pipeline."""
    train, unseen = corpus
    keras_tok = text.Tokenizer(num_words=1000, oov_token="<OOV>")
    keras_tok.fit_on_texts(train)
    path = tmp_path / "tokenizer.json"
    path.write_text(keras_tok.to_json(), encoding="utf-8")
    expected = sequence.pad_sequences(keras_tok.texts_to_sequences(unseen), maxlen=100,
                                      padding="post", truncating="post")

    tokenizer = KerasTokenizer.from_json(path.read_text(encoding="utf-8"))
    pipe = make_pipeline(FrozenEstimator(tokenizer),
                         SequencePadder(maxlen=100, padding="post", truncating="post"))
    pipe.fit(train)  # fits the padder only: the loaded vocabulary stays as saved
    out = pipe.transform(unseen)
    assert out.dtype == expected.dtype
    np.testing.assert_array_equal(out, expected)
    assert tokenizer.to_json() == keras_tok.to_json()


# ------------------------------------------------------------------ to_keras_layer
@pytest.mark.parametrize("kwargs", [
    {"oov_token": "<OOV>"}, {"oov_token": "<OOV>", "num_words": 50},
    {"oov_token": "<OOV>", "char_level": True}, {"oov_token": "<OOV>", "lower": False},
    {"oov_token": "<OOV>", "split": "e", "filters": "xyz\\]^-[."},
], ids=repr)
def test_keras3_text_vectorization_gives_the_same_ids(corpus, kwargs):
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    train, unseen = corpus
    # TensorFlow strings are UTF-8 and its UTF-8 lowercasing stops at NUL: not those two
    docs = [d for d in train[:800] + ADVERSARIAL + unseen[:200]
            if "\x00" not in d and "\ud800" not in d]
    tok = KerasTokenizer(**kwargs).fit(docs)
    layer = tok.to_keras_layer(name="tokens")
    assert layer(tf.constant(docs)).to_list() == tok.transform(docs)
    inputs = keras.Input(shape=(), dtype="string")
    padded = keras.Model(inputs, tok.to_keras_layer(output_sequence_length=12)(inputs))
    expected = SequencePadder(maxlen=12, padding="post", truncating="post").fit([])
    np.testing.assert_array_equal(padded.predict(tf.constant(docs), verbose=0),
                                  expected.transform(tok.transform(docs)))


@pytest.mark.parametrize("kwargs, docs, setting", [
    ({}, ["a b"], "oov_token=None"),
    ({"oov_token": "the"}, ["the cat the"], "oov_token='the' is also a corpus word"),
    ({"oov_token": "<OOV>", "analyzer": str.split}, ["a b"], "analyzer"),
    ({"oov_token": "<OOV>", "output": "tfidf"}, ["a b"], "output='tfidf'"),
    ({"oov_token": "<OOV>", "filters": "", "lower": False}, ["[UNK] a"], "reserved tokens"),
    ({"oov_token": "<OOV>"}, ["lone \ud800"], "not valid Unicode"),
    ({"oov_token": "<OOV>"}, ["nul\x00word"], "NUL"),
])
def test_keras3_layer_names_what_it_cannot_express(kwargs, docs, setting):
    from skprep.exceptions import UnsupportedStepError

    tok = KerasTokenizer(**kwargs).fit(docs)
    with pytest.raises(UnsupportedStepError, match=re.escape(setting)):
        tok.to_keras_layer()


def test_migration_example_runs(capsys):
    """examples/tokenizer_migration.py: tf_keras' JSON -> the same padded ids."""
    import runpy

    example = Path(__file__).resolve().parents[1] / "examples" / "tokenizer_migration.py"
    runpy.run_path(str(example), run_name="__main__")
    out = capsys.readouterr().out
    assert "identical to the legacy Tokenizer + pad_sequences: True" in out
    assert "JSON written back is byte-identical: True" in out
    assert "not installed" not in out  # the legacy side really ran tf_keras
