"""TextVectorizer / SequencePadder as scikit-learn estimators (no TensorFlow needed).

Keras parity lives in test_text_keras_parity.py; here: the mergeable fit, input
handling and errors, sklearn composition (Pipeline, ColumnTransformer on a pandas
DataFrame, clone, joblib, a fresh process) and the light import.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from text_corpus import stdlib_docstrings

from skprep import SequencePadder, TextInputError, TextVectorizer, VocabularyError
from skprep.exceptions import SkprepError


@pytest.fixture(scope="module")
def labelled() -> tuple[list[str], np.ndarray]:
    docs, labels = stdlib_docstrings(packages=("asyncio", "email", "logging"), max_docs=900)
    return docs, np.array(labels)


@pytest.mark.parametrize("output_mode", ["int", "multi_hot", "count", "tf_idf"])
@pytest.mark.parametrize("n_chunks", [1, 2, 7, 50])
def test_chunked_counting_merged_equals_fit(labelled, output_mode, n_chunks):
    docs = labelled[0]
    kwargs = {"output_mode": output_mode, "ngrams": 2, "max_tokens": 700}
    whole = TextVectorizer(**kwargs).fit(docs)
    vec = TextVectorizer(**kwargs)
    state = None
    for chunk in np.array_split(np.array(docs, dtype=object), n_chunks):
        counted = vec.partial_counts(chunk)
        state = counted if state is None else vec.merge_counts(state, counted)
    vec.fit_from_counts(state)
    assert vec.vocabulary_ == whole.vocabulary_
    assert vec.n_documents_ == whole.n_documents_ == len(docs)
    if output_mode == "tf_idf":
        np.testing.assert_array_equal(vec.idf_weights_, whole.idf_weights_)
    out_a, out_b = vec.transform(docs[:50]), whole.transform(docs[:50])
    if sp.issparse(out_a):
        out_a, out_b = out_a.toarray(), out_b.toarray()
    np.testing.assert_array_equal(out_a, out_b)


@pytest.mark.parametrize("kwargs", [{}, {"output_mode": "tf_idf", "ngrams": 2},
                                    {"vocabulary": ["a", "b"], "output_mode": "count"}])
def test_fit_transform_equals_fit_then_transform(labelled, kwargs):
    docs = labelled[0][:200]
    a = TextVectorizer(**kwargs).fit_transform(docs)
    vec = TextVectorizer(**kwargs).fit(docs)
    b = vec.transform(docs)
    if sp.issparse(a):
        a, b = a.toarray(), b.toarray()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("output_mode", ["int", "tf_idf"])
def test_one_pass_batch_tokenization_equals_per_document(output_mode):
    """Batches are tokenized in one pass (NUL-separated); single documents, and batches
    holding NUL bytes, one by one: all must agree."""
    docs = ["The cat, the HAT.", "", "  ", "nul\x00inside the cat", "tab\tsep  cat", "é É"]
    for batch in (docs, [d for d in docs if "\x00" not in d]):
        vec = TextVectorizer(output_mode=output_mode, sparse=False).fit(batch)
        one_by_one = TextVectorizer(output_mode=output_mode)
        state = one_by_one.partial_counts([batch[0]])
        for doc in batch[1:]:
            state = one_by_one.merge_counts(state, one_by_one.partial_counts([doc]))
        one_by_one.fit_from_counts(state)
        assert one_by_one.vocabulary_ == vec.vocabulary_
        if output_mode == "tf_idf":
            np.testing.assert_array_equal(one_by_one.idf_weights_, vec.idf_weights_)
            rows = [vec.transform([d]) for d in batch]
        else:
            width = vec.transform(batch).shape[1]
            rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]))) for r in
                    (vec.transform([d]) for d in batch)]
        np.testing.assert_array_equal(vec.transform(batch), np.vstack(rows))


def test_nul_as_a_real_token():
    vec = TextVectorizer(output_sequence_length=3).fit(["lone \x00 nul", "cat \x00"])
    assert "\x00" in vec.vocabulary_
    nul = vec.vocabulary_.index("\x00")
    np.testing.assert_array_equal(vec.transform(["\x00 cat", "zebra nul", "dog"]),
                                  [[nul, vec.vocabulary_.index("cat"), 0],
                                   [1, vec.vocabulary_.index("nul"), 0], [1, 0, 0]])


def test_merge_keeps_first_appearance_order_and_inputs():
    vec = TextVectorizer(output_mode="tf_idf")
    a, b = vec.partial_counts(["b a b"]), vec.partial_counts(["c a", "a"])
    merged = vec.merge_counts(a, b)
    assert list(merged["token_counts"].items()) == [(b"b", 2), (b"a", 3), (b"c", 1)]
    assert merged["document_counts"] == {b"b": 1, b"a": 3, b"c": 1}
    assert merged["n_documents"] == 3
    assert a["token_counts"] == {b"b": 2, b"a": 1}  # inputs untouched
    assert not hasattr(vec, "vocabulary_")  # counting fits nothing


def test_vocabulary_order_breaks_ties_by_bytes_descending():
    vec = TextVectorizer(standardize=None).fit(["b a c é B", "z"])
    # all counts 1: byte order, highest first (é is 0xC3 0xA9, above ASCII)
    assert vec.get_vocabulary() == ["", "[UNK]", "é", "z", "c", "b", "a", "B"]
    assert TextVectorizer(max_tokens=4, standardize=None).fit(["b a c é B", "z"]
                                                              ).get_vocabulary() == [
        "", "[UNK]", "é", "z"]


def test_standardize_is_ascii_only_like_keras():
    vec = TextVectorizer(output_mode="count").fit(["ÉCOLE, école! Straße «quote»"])
    assert vec.get_vocabulary() == ["[UNK]", "école", "École", "«quote»", "straße"]
    tokens = TextVectorizer().partial_counts(["no\u00a0break em\u2003space tab\there"])
    assert list(tokens["token_counts"]) == ["no\u00a0break".encode(),
                                            "em\u2003space".encode(), b"tab", b"here"]


@pytest.mark.parametrize("container", ["list", "array", "series", "frame", "2d-array", "tuple"])
def test_input_containers(container):
    pd = pytest.importorskip("pandas")
    docs = ["a b", "b c", "c d d"]
    data = {"list": docs, "array": np.array(docs), "series": pd.Series(docs),
            "frame": pd.DataFrame({"text": docs}), "2d-array": np.array(docs)[:, None],
            "tuple": tuple(docs)}[container]
    vec = TextVectorizer(output_mode="count", sparse=False).fit(data)
    np.testing.assert_array_equal(vec.transform(data),
                                  TextVectorizer(output_mode="count", sparse=False
                                                 ).fit(docs).transform(docs))
    assert vec.transform(data).dtype == np.int64


def test_bytes_documents_are_utf8():
    vec = TextVectorizer().fit(["café au lait"])
    np.testing.assert_array_equal(vec.transform(["café".encode()]), vec.transform(["café"]))


@pytest.mark.parametrize(("bad", "match"), [
    (["ok", "fine", None], r"Document 2 is of type NoneType"),
    (["ok", float("nan")], r"Document 1 is of type float"),
    (["ok", 3], r"Document 1 is of type int.*str\(x\)"),
    (["lone \ud800 surrogate"], r"Document 0 is not valid Unicode"),
])
def test_non_string_items_name_their_index(bad, match):
    for method in ("fit", "transform"):
        vec = TextVectorizer() if method == "fit" else TextVectorizer().fit(["ok"])
        with pytest.raises(TextInputError, match=match) as info:
            getattr(vec, method)(bad)
        assert isinstance(info.value, SkprepError)
        assert isinstance(info.value, (TypeError, ValueError))


def test_batch_shape_errors():
    with pytest.raises(TextInputError, match=r"single str.*\[text\]"):
        TextVectorizer().fit("one document")
    with pytest.raises(TextInputError, match=r"one column.*shape \(2, 2\)"):
        TextVectorizer().fit(np.array([["a", "b"], ["c", "d"]]))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"output_mode": "count", "output_sequence_length": 3}, "output_sequence_length"),
    ({"pad_to_max_tokens": True}, "pad_to_max_tokens=True needs max_tokens"),
    ({"output_mode": "tf_idf", "ragged": True}, "ragged=True"),
    ({"ngrams": (1, 0)}, "'ngrams' parameter"),
    ({"ngrams": ()}, "'ngrams' parameter"),
    ({"ngrams": (True, 2)}, "'ngrams' parameter"),
    ({"ngrams": [1, 2]}, "'ngrams' parameter"),
    ({"max_tokens": 1}, "'max_tokens' parameter"),
    ({"output_mode": "bag"}, "'output_mode' parameter"),
    ({"standardize": "upper"}, "'standardize' parameter"),
    ({"idf_weights": [1.0]}, "idf_weights go with a fixed vocabulary"),
])
def test_parameter_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TextVectorizer(**kwargs).fit(["a b"])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"vocabulary": []}, "empty"),
    ({"vocabulary": ["a", "b", "a"]}, r"repeats the terms \['a'\]"),
    ({"vocabulary": ["a", "", "b"]}, "reserved padding term '' at position 1"),
    ({"vocabulary": ["a", "b", "c"], "max_tokens": 4}, "5 entries.*max_tokens is 4"),
    ({"vocabulary": ["a", "b"], "output_mode": "tf_idf"}, "needs idf_weights"),
    ({"vocabulary": ["a", "b"], "output_mode": "tf_idf", "idf_weights": [1.0]},
     "one weight per vocabulary entry"),
])
def test_fixed_vocabulary_errors(kwargs, match):
    with pytest.raises(VocabularyError, match=match):
        TextVectorizer(**kwargs).fit(["a"])


def test_fixed_vocabulary_skips_fitting_and_accepts_special_tokens():
    plain = TextVectorizer(vocabulary=["x", "y"]).fit(["nothing in common"])
    special = TextVectorizer(vocabulary=["", "[UNK]", "x", "y"]).fit(["zzz"])
    assert plain.get_vocabulary() == special.get_vocabulary() == ["", "[UNK]", "x", "y"]
    np.testing.assert_array_equal(plain.transform(["y x q"]), [[3, 2, 1]])


def test_int_output_lengths_and_ragged():
    vec = TextVectorizer().fit(["a b c d", "a"])
    assert vec.get_vocabulary() == ["", "[UNK]", "a", "d", "c", "b"]
    np.testing.assert_array_equal(vec.transform(["a b", "", "d c b a d"]),
                                  [[2, 5, 0, 0, 0], [0, 0, 0, 0, 0], [3, 4, 5, 2, 3]])
    assert vec.transform([]).shape == (0, 0)
    cut = clone(vec).set_params(output_sequence_length=2).fit(["a b c d", "a"])
    np.testing.assert_array_equal(cut.transform(["a b c", ""]), [[2, 5], [0, 0]])
    ragged = clone(vec).set_params(ragged=True).fit(["a b c d", "a"]).transform(["a b", ""])
    assert [r.tolist() for r in ragged] == [[2, 5], []]
    padded = SequencePadder(maxlen=3).fit_transform(ragged)
    np.testing.assert_array_equal(padded, [[0, 2, 5], [0, 0, 0]])


def test_bag_modes_sparse_and_dense_and_feature_names():
    docs = ["the cat", "the dog the end"]
    for mode, dtype in (("multi_hot", np.int64), ("count", np.int64), ("tf_idf", np.float32)):
        vec = TextVectorizer(output_mode=mode, max_tokens=8, pad_to_max_tokens=True).fit(docs)
        out = vec.transform(docs + ["unknown the"])
        assert sp.isspmatrix_csr(out) and out.dtype == dtype and out.shape == (3, 8)
        dense = clone(vec).set_params(sparse=False).fit(docs).transform(docs + ["unknown the"])
        np.testing.assert_array_equal(dense, out.toarray())
        names = vec.get_feature_names_out()
        assert names.tolist() == ["[UNK]", "the", "end", "dog", "cat", "[unused 5]",
                                  "[unused 6]", "[unused 7]"]
    assert TextVectorizer(output_mode="count").fit(docs).transform(["the the x"]
                                                                   ).toarray().tolist() == [
        [1, 2, 0, 0, 0]]
    with pytest.raises(ValueError, match="set output_sequence_length"):
        TextVectorizer().fit(docs).get_feature_names_out()
    assert TextVectorizer(output_sequence_length=2).fit(docs).get_feature_names_out(
    ).tolist() == ["textvectorizer0", "textvectorizer1"]


def test_counts_agree_with_sklearn_countvectorizer(labelled):
    """Same tokens (no punctuation, ASCII text): per-document counts equal sklearn's."""
    docs = [" ".join(w for w in d.split() if w.isalpha() and w.isascii()).lower()
            for d in labelled[0][:300]]
    ours = TextVectorizer(output_mode="count", standardize=None).fit(docs)
    ref = CountVectorizer(token_pattern=r"\S+", lowercase=False).fit(docs)
    order = [ref.vocabulary_[t] for t in ours.get_vocabulary(include_special_tokens=False)]
    np.testing.assert_array_equal(ours.transform(docs).toarray()[:, 1:],
                                  ref.transform(docs).toarray()[:, order])


def test_transform_does_not_change_state_and_clone_is_unfitted(labelled):
    docs = labelled[0][:100]
    vec = TextVectorizer(output_mode="tf_idf").fit(docs)
    before = (list(vec.vocabulary_), vec.idf_weights_.copy())
    vec.transform(labelled[0][100:200])
    assert vec.vocabulary_ == before[0]
    np.testing.assert_array_equal(vec.idf_weights_, before[1])
    fresh = clone(vec)
    assert not hasattr(fresh, "vocabulary_") and fresh.get_params() == vec.get_params()


def test_pipeline_with_head_survives_joblib_and_fresh_process(tmp_path, labelled):
    docs, labels = labelled
    pipe = make_pipeline(TextVectorizer(output_mode="tf_idf", max_tokens=2000),
                         LogisticRegression(max_iter=1000)).fit(docs, labels)
    assert pipe.score(docs, labels) > 0.9
    path = tmp_path / "pipe.joblib"
    joblib.dump(pipe, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(docs), pipe.predict_proba(docs))
    np.save(tmp_path / "expected.npy", pipe.predict_proba(docs[:50]))
    script = textwrap.dedent(f"""
        import sys, joblib, numpy as np
        from text_corpus import stdlib_docstrings
        docs, _ = stdlib_docstrings(packages=("asyncio", "email", "logging"), max_docs=50)
        got = joblib.load({str(path)!r}).predict_proba(docs)
        assert np.array_equal(got, np.load({str(tmp_path / "expected.npy")!r}))
        print("tensorflow" in sys.modules)
        """)
    import os

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"  # serving needs no TensorFlow


def test_column_transformer_beside_standard_scaler(tmp_path, labelled):
    pd = pytest.importorskip("pandas")
    docs, labels = labelled
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"text": docs, "length": [len(d) for d in docs],
                          "noise": rng.normal(size=len(docs))})
    features = ColumnTransformer([
        ("text", TextVectorizer(output_mode="tf_idf", max_tokens=1500), "text"),
        ("num", StandardScaler(), ["length", "noise"]),
    ])
    pipe = make_pipeline(features, LogisticRegression(max_iter=1000)).fit(frame, labels)
    assert pipe.score(frame, labels) > 0.9
    names = features.get_feature_names_out()
    assert names[0] == "text__[UNK]" and names[-1] == "num__noise" and len(names) == 1502
    # the text block is exactly the standalone vectorizer's output
    block = features.transform(frame)[:, :1500]
    alone = TextVectorizer(output_mode="tf_idf", max_tokens=1500).fit(docs).transform(docs)
    np.testing.assert_array_equal(sp.csr_matrix(block).toarray(), alone.toarray())
    joblib.dump(pipe, tmp_path / "tabular.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "tabular.joblib").predict(frame),
                                  pipe.predict(frame))


def test_sequence_padder_in_pipeline_and_persistence(tmp_path, labelled):
    docs, labels = labelled
    pipe = make_pipeline(TextVectorizer(max_tokens=500, ragged=True),
                         SequencePadder(maxlen=40, padding="post"),
                         LogisticRegression(max_iter=300)).fit(docs, labels)
    joblib.dump(pipe, tmp_path / "seq.joblib")
    loaded = joblib.load(tmp_path / "seq.joblib")
    np.testing.assert_array_equal(loaded.predict(docs), pipe.predict(docs))
    padder = pipe[1]
    assert padder.maxlen_ == 40 and padder.get_feature_names_out()[-1] == "sequencepadder39"


def test_sequence_padder_learns_maxlen_and_validates():
    padder = SequencePadder(padding="post").fit([[1, 2, 3], [4]])
    assert padder.maxlen_ == 3
    np.testing.assert_array_equal(padder.transform([[1, 2, 3, 4, 5], []]),
                                  [[3, 4, 5], [0, 0, 0]])
    assert clone(padder).get_params() == padder.get_params()
    with pytest.raises(SkprepError, match="sequence 1 is int"):
        padder.transform([[1], 5])
    with pytest.raises(ValueError, match="'padding' parameter"):
        SequencePadder(padding="middle").fit([[1]])
