"""KerasTokenizer: the sklearn contract, inputs, errors, JSON, mergeable counts.

Parity with the real Keras Tokenizer is in ``test_tokenizer_keras_parity.py``; these
tests need no TensorFlow. Where they need a reference they use the tokenizer itself
on another path (one document at a time, one chunk at a time), whose parity is tested
there.
"""

from __future__ import annotations

import copy
import json
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skprep import KerasTokenizer, SequencePadder, TextInputError, VocabularyError
from skprep.exceptions import InputShapeError
from skprep.text import pad_sequences
from skprep.text._tokenizer_batch import CHUNK, OTHER_WHITESPACE

DOCS = [
    "The cat sat on the mat.",
    "The dog ate my homework!",
    "Cats and dogs: the eternal question?",
    "",
    "  spaces   everywhere  ",
    "tabs\tand\nnewlines\r\nand\x0bvertical\x0cfeeds",
    "ΑΣ ΟΔΟΣ Σ",
    "İstanbul Straße",
    "no-break\xa0space em\u2003space",
]
UNSEEN = ["the bird sat", "a cat, a dog, a fish", "", "ΣΟΦΟΣ"]


def _one_by_one(tok: KerasTokenizer, docs: list) -> list:
    return [tok.transform([d])[0] for d in docs]


# ----------------------------------------------------------------- sklearn contract
def test_params_clone_and_fitted_attributes():
    tok = KerasTokenizer(num_words=10, oov_token="<OOV>", output="count", sparse=True)
    assert tok.get_params() == {
        "num_words": 10, "filters": '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n', "lower": True,
        "split": " ", "char_level": False, "oov_token": "<OOV>", "analyzer": None,
        "output": "count", "sparse": True}
    assert clone(tok).get_params() == tok.get_params()
    assert not hasattr(tok, "word_index")  # the Keras names need a fitted estimator
    with pytest.raises(NotFittedError):
        tok.transform(DOCS)
    with pytest.raises(NotFittedError):
        tok.to_json()
    tok.fit(DOCS)
    for name in ("word_index", "index_word", "word_counts", "word_docs", "index_docs",
                 "document_count"):
        assert getattr(tok, name) is getattr(tok, name + "_")
        with pytest.raises(AttributeError):
            setattr(tok, name, {})  # read-only
    assert tok.document_count == len(DOCS)
    assert "word_index" not in tok.get_params()
    refit = clone(tok).fit(DOCS)
    assert refit.word_index == tok.word_index
    assert sp.issparse(refit.transform(UNSEEN))


@pytest.mark.parametrize("params, error", [
    ({"output": "tf_idf"}, InvalidParameterError),
    ({"num_words": -1}, InvalidParameterError),
    ({"split": 3}, InvalidParameterError),
    ({"oov_token": 1}, InvalidParameterError),
    ({"split": ""}, ValueError),
    ({"filters": ["ab"]}, ValueError),
])
def test_bad_parameters_are_rejected_in_fit(params, error):
    tok = KerasTokenizer(**params)  # __init__ stores only
    with pytest.raises(error, match="split|filters|output|num_words|oov_token"):
        tok.fit(DOCS)


def test_transform_mutates_neither_input_nor_fitted_state():
    docs = list(DOCS)
    series = pd.Series(DOCS)
    tok = KerasTokenizer(oov_token="<OOV>", num_words=6).fit(docs)
    state = copy.deepcopy(vars(tok))
    for output in ("sequences", "tfidf"):
        tok.set_params(output=output).transform(docs + UNSEEN)
        tok.transform(series)
    tok.inverse_transform([[1, 2, 3]])
    tok.set_params(output="sequences")
    assert docs == DOCS and series.tolist() == DOCS
    assert vars(tok).keys() == state.keys()
    for key, value in state.items():
        assert vars(tok)[key] == value, key


# --------------------------------------------------------------------------- inputs
@pytest.mark.parametrize("container", [
    list, tuple, lambda d: np.array(d, dtype=object), lambda d: np.array(d),
    pd.Series, lambda d: pd.DataFrame({"text": d}), lambda d: np.array(d)[:, None],
    lambda d: (x for x in d),
], ids=["list", "tuple", "object-array", "str-array", "Series", "one-column-frame",
        "one-column-array", "generator"])
def test_containers_give_the_same_ids(container):
    expected = KerasTokenizer().fit(DOCS).transform(UNSEEN + DOCS)
    tok = KerasTokenizer().fit(container(DOCS))
    assert tok.transform(container(UNSEEN + DOCS)) == expected


@pytest.mark.parametrize("bad, index, kind", [
    ([None], 0, "NoneType"), (["ok", b"bytes"], 1, "bytes"), (["a", "b", 3], 2, "int"),
    (pd.Series(["a", np.nan]), 1, "float"), (["a", ["tok", None]], 1, "NoneType"),
    ([("a", "tuple")], 0, "tuple"),
])
def test_bad_documents_raise_text_input_error_naming_the_document(bad, index, kind):
    tok = KerasTokenizer()
    with pytest.raises(TextInputError, match=rf"document {index}\b.*{kind}"):
        tok.fit(bad)
    tok.fit(DOCS)
    with pytest.raises(TextInputError, match=rf"document {index}\b"):
        tok.transform(bad)
    with pytest.raises(TextInputError, match=rf"document {index}\b"):
        KerasTokenizer(char_level=True).fit(bad)


@pytest.mark.parametrize("bad", ["one string", b"bytes", np.array([["a", "b"], ["c", "d"]]),
                                 42])
def test_not_a_batch_is_refused(bad):
    with pytest.raises(TextInputError):
        KerasTokenizer().fit(bad)


def test_analyzer_must_return_tokens():
    with pytest.raises(TextInputError, match="analyzer .* document 0"):
        KerasTokenizer(analyzer=str.upper).fit(["abc"])


def test_token_lists_and_strings_mix():
    tok = KerasTokenizer().fit([["Hello", "WORLD"], "hello there", ["", "x"]])
    assert tok.word_index == {"hello": 1, "world": 2, "there": 3, "": 4, "x": 5}
    # "" is a word here (a token of a list), but never a piece of a str document
    assert tok.transform(["  hello  ", ["", "hello"]]) == [[1], [4, 1]]
    assert tok.transform(["  hello  ", "x  world"]) == _one_by_one(tok, ["  hello  ",
                                                                         "x  world"])


# ------------------------------------------------- one-pass batches = one by one
def _varied_corpus(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    words = ["alpha", "Beta", "ΓΑΜΜΑ", "δέλτα", "ΑΣ", "İ", "ß", "can't", "x" * 40, "é",
             "😀", "日本"]
    glue = [" ", "  ", "\t", "\n", ", ", ".", "\xa0", "\u3000", "\x85", "\r", "!?", "—"]
    return ["".join(rng.choice(words) + rng.choice(glue)
                    for _ in range(rng.integers(0, 12))) for _ in range(n)]


@pytest.mark.parametrize("params", [
    {}, {"oov_token": "<OOV>", "num_words": 8}, {"char_level": True}, {"lower": False},
    {"split": "a"}, {"split": "ΑΣ", "filters": "x"}, {"split": "\t", "filters": ""},
])
def test_batch_path_equals_one_document_at_a_time(params):
    docs = _varied_corpus(CHUNK + 300)  # more than one chunk
    tok = KerasTokenizer(**params).fit(docs)
    batch = tok.transform(docs)
    sample = [*range(0, len(docs), 11), CHUNK - 1, CHUNK, CHUNK + 1, len(docs) - 1]
    assert [batch[i] for i in sample] == _one_by_one(tok, [docs[i] for i in sample])
    # a document holding the batch separator sends the batch down the per-document path
    with_nul = docs[:50] + ["nul\x00inside \x01 \x02 alpha"]
    assert tok.transform(with_nul) == _one_by_one(tok, with_nul)
    tok = KerasTokenizer(**params)
    state = tok.partial_counts(with_nul[:1])
    for doc in with_nul[1:]:
        state = tok.merge_counts(state, tok.partial_counts([doc]))
    assert tok.fit_from_counts(state).to_json() == \
        KerasTokenizer(**params).fit(with_nul).to_json()


def test_final_sigma_sees_document_boundaries():
    """str.lower maps Σ by context; the batch separator must end the context."""
    docs = ["ΑΣ", "Σ", "ΑΣΑ", "ΟΔΟΣ", "Α"]
    tok = KerasTokenizer().fit(docs)
    assert tok.word_counts == {"ας": 1, "σ": 1, "ασα": 1, "οδος": 1, "α": 1}
    assert tok.transform(docs) == _one_by_one(tok, docs)


def test_other_whitespace_is_what_str_split_splits_at():
    everything = {chr(c) for c in range(0x110000) if chr(c).isspace()} - {" "}
    assert set(OTHER_WHITESPACE) == everything


# --------------------------------------------------------------- mergeable counts
@pytest.mark.parametrize("chunk", [1, 2, 50, 400])
def test_merged_counts_of_parts_equal_the_fit_on_the_whole(chunk):
    docs = _varied_corpus(400, seed=1)
    whole = KerasTokenizer(oov_token="<OOV>").fit(docs)
    tok = KerasTokenizer(oov_token="<OOV>")
    state = tok.partial_counts(docs[:chunk])
    for start in range(chunk, len(docs), chunk):
        part = tok.partial_counts(docs[start:start + chunk])
        before = copy.deepcopy(state)
        state = tok.merge_counts(state, part)
        assert before == tok.merge_counts(before, {"word_counts": {}, "word_docs": {},
                                                   "document_count": 0})
    tok.fit_from_counts(state)
    assert tok.to_json() == whole.to_json()  # same numbers, same key order
    assert list(tok.word_docs) == list(tok.word_counts)


def test_partial_fit_from_scratch_equals_fit():
    tok = KerasTokenizer().partial_fit(DOCS)
    assert tok.to_json() == KerasTokenizer().fit(DOCS).to_json()
    tok.partial_fit(UNSEEN)
    assert tok.word_counts == KerasTokenizer().fit(DOCS + UNSEEN).word_counts
    assert tok.document_count == len(DOCS) + len(UNSEEN)


def test_fit_from_counts_names_a_bad_state():
    with pytest.raises(ValueError, match="word_docs"):
        KerasTokenizer().fit_from_counts({"word_counts": {}, "document_count": 0})


# ------------------------------------------------------------------------- outputs
def test_num_words_set_after_fit_applies_like_keras():
    """Keras applies num_words when converting: no refit needed."""
    tok = KerasTokenizer(oov_token="<OOV>").fit(DOCS)
    tok.set_params(num_words=4)
    fresh = KerasTokenizer(oov_token="<OOV>", num_words=4).fit(DOCS)
    assert tok.transform(UNSEEN + DOCS) == fresh.transform(UNSEEN + DOCS)
    assert tok.inverse_transform([[1, 2, 3, 4, 5]]) == fresh.inverse_transform([[1, 2, 3, 4, 5]])


def test_matrix_outputs_and_feature_names():
    tok = KerasTokenizer(num_words=6, output="count").fit(DOCS)
    out = tok.transform(UNSEEN)
    assert out.shape == (len(UNSEEN), 6) and out.dtype == np.float64
    names = tok.get_feature_names_out()
    assert names[0] == "[unused 0]" and list(names[1:]) == [tok.index_word[i] for i in
                                                            range(1, 6)]
    wide = KerasTokenizer(num_words=500, output="binary").fit(DOCS)
    assert wide.get_feature_names_out()[-1] == "[unused 499]"
    with pytest.raises(ValueError, match="ragged"):
        KerasTokenizer().fit(DOCS).get_feature_names_out()
    with pytest.raises(ValueError, match="tfidf"):
        KerasTokenizer(output="tfidf").fit([]).transform(DOCS)


def test_empty_batches():
    tok = KerasTokenizer().fit([])
    assert tok.word_index == {} and tok.document_count == 0
    assert tok.transform([]) == [] and tok.transform(DOCS) == [[]] * len(DOCS)
    assert KerasTokenizer(output="count").fit(DOCS).transform([]).shape[0] == 0
    assert tok.inverse_transform([]) == []


def test_inverse_transform_inputs():
    tok = KerasTokenizer(oov_token="<OOV>").fit(DOCS)
    seqs = tok.transform(UNSEEN)
    texts = tok.inverse_transform(seqs)
    assert tok.inverse_transform([np.array(s) for s in seqs]) == texts
    assert tok.inverse_transform(pd.Series(seqs)) == texts
    padded = pad_sequences(seqs, padding="post")  # Keras: padding 0 reads as oov_token
    width = padded.shape[1]
    assert tok.inverse_transform(padded) == [
        " ".join([t for t in text.split(" ") if t] + ["<OOV>"] * (width - len(s)))
        for text, s in zip(texts, seqs, strict=True)]
    no_oov = KerasTokenizer().fit(DOCS)
    assert no_oov.inverse_transform(pad_sequences(no_oov.transform(UNSEEN))) == \
        no_oov.inverse_transform(no_oov.transform(UNSEEN))
    with pytest.raises(InputShapeError):
        tok.inverse_transform("1 2 3")


def test_pipeline_with_sequence_padder_and_persistence(tmp_path):
    pipe = make_pipeline(KerasTokenizer(num_words=20, oov_token="<OOV>"),
                         SequencePadder(maxlen=6, padding="post"))
    out = pipe.fit_transform(DOCS)
    tok = pipe[0]
    np.testing.assert_array_equal(out, pad_sequences(tok.transform(DOCS), maxlen=6,
                                                     padding="post"))
    joblib.dump(pipe, tmp_path / "pipe.joblib")
    again = joblib.load(tmp_path / "pipe.joblib")
    np.testing.assert_array_equal(again.transform(UNSEEN), pipe.transform(UNSEEN))
    assert pickle.loads(pickle.dumps(tok)).to_json() == tok.to_json()


# ---------------------------------------------------------------------------- JSON
def test_json_round_trip_keeps_everything():
    tok = KerasTokenizer(num_words=7, oov_token="<OOV>", filters="!", split="\n",
                         char_level=False, lower=False).fit(DOCS)
    loaded = KerasTokenizer.from_json(tok.to_json(), output="freq", sparse=True)
    assert loaded.to_json() == tok.to_json()
    assert loaded.get_params()["output"] == "freq" and loaded.sparse
    assert loaded.set_params(output="sequences").transform(UNSEEN) == tok.transform(UNSEEN)
    config = json.loads(tok.to_json())["config"]
    assert config["num_words"] == 7 and config["split"] == "\n" and config["lower"] is False
    assert json.loads(config["index_docs"]) == {str(k): v for k, v in tok.index_docs.items()}


def _config(**changes) -> str:
    payload = json.loads(KerasTokenizer(oov_token="<OOV>").fit(DOCS).to_json())
    payload["config"].update(changes)
    return json.dumps({k: v for k, v in payload.items()})


@pytest.mark.parametrize("bad, match", [
    ("not json", "could not read"),
    ("[1, 2]", "could not read"),
    ('{"class_name": "Tokenizer"}', "could not read"),
    (_config(extra=1), r"unknown keys \['extra'\]"),
    (_config(word_index=json.dumps({"a": 0})), "indices must be ints >= 1"),
    (_config(word_index="{not json"), "JSON objects in strings"),
    (_config(index_docs=json.dumps({"x": 1})), "JSON objects in strings"),
    (_config(document_count=-1), "document_count"),
    (_config(oov_token="<UNK>"), "oov_token='<UNK>' is not in word_index"),
])
def test_from_json_names_what_is_wrong(bad, match):
    with pytest.raises(VocabularyError, match=match):
        KerasTokenizer.from_json(bad)


def test_from_json_rejects_bad_parameters():
    payload = json.loads(_config())
    del payload["config"]["word_docs"]
    with pytest.raises(VocabularyError, match="lacks \\['word_docs'\\]"):
        KerasTokenizer.from_json(json.dumps(payload))
    with pytest.raises(InvalidParameterError):
        KerasTokenizer.from_json(_config(num_words="ten"))


# ---------------------------------------------------------------------------- Dask
@pytest.mark.parametrize("npartitions", [1, 3, 7])
def test_dask_bag_fit_equals_local_fit(npartitions):
    dask = pytest.importorskip("dask")
    db = pytest.importorskip("dask.bag")
    from skprep.distributed import fit_keras_tokenizer

    docs = _varied_corpus(300, seed=2) + [["token", "List"], "", "nul\x00doc"]
    params = {"num_words": 9, "oov_token": "<OOV>"}
    local = KerasTokenizer(**params).fit(docs)
    template = KerasTokenizer(**params)
    with dask.config.set(scheduler="threads"):
        remote = fit_keras_tokenizer(db.from_sequence(docs, npartitions=npartitions),
                                     template)
    assert not hasattr(template, "word_index_")  # cloned, not modified
    assert remote.to_json() == local.to_json()  # same counts, order and JSON
    assert remote.transform(UNSEEN) == local.transform(UNSEEN)


def test_dask_dataframe_column_and_empty_collection():
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    db = pytest.importorskip("dask.bag")
    from skprep.distributed import fit_keras_tokenizer

    frame = pd.DataFrame({"text": DOCS * 3, "n": range(len(DOCS) * 3)})
    with dask.config.set(scheduler="sync"):
        tok = fit_keras_tokenizer(dd.from_pandas(frame, npartitions=4), column="text")
        assert tok.to_json() == KerasTokenizer().fit(frame["text"]).to_json()
        with pytest.raises(ValueError, match="empty collection"):
            fit_keras_tokenizer(db.from_sequence([], npartitions=1))
