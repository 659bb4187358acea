"""skprep.distributed on a real LocalCluster: results equal the local run, in order."""

from __future__ import annotations

import operator
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skprep import DatasetStatsStandardizer, ImageLoader, KerasModeNormalizer
from skprep.exceptions import (
    ImageLoadError,
    ImageLoadWarning,
    ImageNotFoundError,
    InputShapeError,
    NotDistributableError,
    UnsupportedCollectionError,
)

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")
da = pytest.importorskip("dask.array")
db = pytest.importorskip("dask.bag")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")

from skprep.distributed import fit_standardizer, map_pipeline, release_pipelines  # noqa: E402

SIZE = (16, 16)
# The features are float32, so the head's matrix product (sgemm) rounds differently with
# the batch size: a partition's rows equal the local run on that same batch bit for bit,
# and the local run on one big batch to float32 precision.
ONE_BATCH = {"rtol": 1e-5, "atol": 1e-7}


def local_by_partition(pipe, method: str, items, size: int) -> np.ndarray:
    """The local run, batch by batch, with the partitions' sizes."""
    return np.concatenate([getattr(pipe, method)(items[i : i + size])
                           for i in range(0, len(items), size)])


class UnpickleCounter(TransformerMixin, BaseEstimator):
    """Identity step that appends the worker's pid to a file each time it is unpickled."""

    def __init__(self, log_path: str = "") -> None:
        self.log_path = log_path

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def transform(self, X):
        return X

    def __setstate__(self, state):
        super().__setstate__(state)
        with open(state["log_path"], "a") as fh:
            fh.write(f"{os.getpid()}\n")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, worker_dashboard_address=None,
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.fixture(scope="module")
def paths(photo_files) -> list[str]:
    return photo_files["jpeg"] + photo_files["png"]  # 12 real photos and crops


@pytest.fixture(scope="module")
def labels(paths) -> np.ndarray:
    return np.array([int("photo1" in p) for p in paths])


def make_fitted(normalizer, paths, labels):
    # a stdlib callable (not a function of this module): the workers need not import the
    # tests; methodcaller, not np.reshape(shape=...), which NumPy < 2.1 lacks
    flat = FunctionTransformer(operator.methodcaller("reshape", -1, SIZE[0] * SIZE[1] * 3))
    return make_pipeline(ImageLoader(target_size=SIZE), normalizer, flat,
                         LogisticRegression(max_iter=500)).fit(paths, labels)


@pytest.fixture(scope="module")
def fitted_pipeline(paths, labels):
    return make_fitted(DatasetStatsStandardizer(input_scale=1 / 255), paths, labels)


@pytest.fixture(scope="module")
def broken_files(tmp_path_factory, paths) -> list[str]:
    """paths with a corrupt file at 4 and a missing one at 9."""
    root = tmp_path_factory.mktemp("broken")
    corrupt = root / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8 not really a jpeg")
    items = list(paths)
    items[4] = str(corrupt)
    items[9] = str(root / "missing.png")
    return items


# --------------------------------------------------------------------------- map_pipeline


@pytest.mark.parametrize("normalizer", ["keras-mode", "dataset-stats"])
def test_bag_of_paths_equals_local_run_in_order(client, fitted_pipeline, paths, labels,
                                                normalizer):
    if normalizer == "keras-mode":
        fitted_pipeline = make_fitted(KerasModeNormalizer(model="resnet50"), paths, labels)
    bag = db.from_sequence(paths, npartitions=5)
    for method in ("transform", "predict", "predict_proba"):
        # transform: the features in front of the head
        pipe = fitted_pipeline[:-1] if method == "transform" else fitted_pipeline
        result = map_pipeline(pipe, bag, method)
        assert isinstance(result.output, db.Bag)
        rows, failures = result.compute()
        assert failures == []
        expected = getattr(pipe, method)(paths)
        got = np.asarray(rows)
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, local_by_partition(pipe, method, paths, 3))
        np.testing.assert_allclose(got, expected, **ONE_BATCH)


def test_dataframe_column_of_paths_keeps_index_and_order(client, fitted_pipeline, paths):
    frame = pd.DataFrame({"path": paths, "other": range(len(paths))},
                         index=pd.Index(range(100, 100 + len(paths)), name="id"))
    ddf = dd.from_pandas(frame, npartitions=3)
    predicted = map_pipeline(fitted_pipeline, ddf, "predict", column="path").output
    assert isinstance(predicted, dd.Series)
    assert predicted.divisions == ddf.divisions
    series = predicted.compute()
    pd.testing.assert_index_equal(series.index, frame.index)
    np.testing.assert_array_equal(series.to_numpy(), fitted_pipeline.predict(paths))
    # 2-D output becomes a DataFrame aligned with the input (joinable back)
    proba = map_pipeline(fitted_pipeline, ddf[["path"]], "predict_proba").output.compute()
    assert list(proba.columns) == ["predict_proba0", "predict_proba1"]
    np.testing.assert_array_equal(proba.to_numpy(),
                                  local_by_partition(fitted_pipeline, "predict_proba", paths, 4))
    np.testing.assert_allclose(proba.to_numpy(), fitted_pipeline.predict_proba(paths),
                               **ONE_BATCH)
    joined = frame.join(proba)
    assert len(joined) == len(frame) and joined["predict_proba0"].notna().all()


def test_array_of_images_chunked_along_axis_0(client, fitted_pipeline, paths):
    images = ImageLoader(target_size=SIZE).transform(paths)
    body = fitted_pipeline[1:]  # normalizer -> flatten -> head: takes images
    arr = da.from_array(images, chunks=(5, *images.shape[1:]))
    result = map_pipeline(body, arr, "predict_proba")
    assert isinstance(result.output, da.Array)
    assert result.output.chunks[0] == (5, 5, 2)
    got = result.output.compute()
    np.testing.assert_array_equal(got, local_by_partition(body, "predict_proba", images, 5))
    np.testing.assert_allclose(got, body.predict_proba(images), **ONE_BATCH)
    features = map_pipeline(body[:-1], arr, meta=np.empty((0, 768), np.float32)).output
    assert features.shape == (12, 768) and features.dtype == np.float32
    np.testing.assert_array_equal(features.compute(), body[:-1].transform(images))
    with pytest.raises(InputShapeError, match="chunked along the first axis only"):
        map_pipeline(body, arr.rechunk((5, 8, 16, 3)), "predict")


def test_pipeline_is_shipped_to_each_worker_once(client, tmp_path, paths, labels):
    log = tmp_path / "unpickles.log"
    pipe = make_fitted(UnpickleCounter(str(log)), paths, labels)
    log.write_text("")
    result = map_pipeline(pipe, db.from_sequence(paths * 2, npartitions=12), "predict")
    rows, _ = result.compute()
    np.testing.assert_array_equal(rows, pipe.predict(paths * 2))
    # a second map of the same fitted pipeline reuses the copies on the workers
    again, _ = map_pipeline(pipe, db.from_sequence(paths, npartitions=6), "predict").compute()
    np.testing.assert_array_equal(again, pipe.predict(paths))
    pids = log.read_text().split()
    workers = client.run(os.getpid)
    # 18 tasks, but the pipeline was unpickled once on each worker, never per task
    assert sorted(pids) == sorted(str(pid) for pid in workers.values())
    # a changed pipeline is sent again, and released on demand
    pipe.set_params(logisticregression__C=0.5)
    map_pipeline(pipe, db.from_sequence(paths, npartitions=6), "predict").compute()
    assert len(log.read_text().split()) == 2 * len(workers)
    assert release_pipelines() >= 2
    plugins = client.run(lambda dask_worker: sorted(dask_worker.plugins))
    assert not any(name.startswith("skprep-") for names in plugins.values() for name in names)
    # the tasks carry a reference, never the pipeline itself
    graph = cloudpickle.dumps(dict(result.output.__dask_graph__()))
    assert b"UnpickleCounter" not in graph and b"LogisticRegression" not in graph


def test_raise_surfaces_the_image_load_error_from_the_worker(client, fitted_pipeline,
                                                              broken_files):
    items = list(broken_files)
    items[4] = items[3]  # only the missing file at 9 remains
    with pytest.raises(ImageNotFoundError) as local:
        fitted_pipeline.predict(items)
    result = map_pipeline(fitted_pipeline, db.from_sequence(items, npartitions=4), "predict")
    with pytest.raises(ImageNotFoundError) as remote:
        result.output.compute()
    # the worker's error crossed the process boundary intact, with the global index
    assert str(remote.value) == str(local.value)
    assert remote.value.index == 9 and remote.value.failures == local.value.failures
    # several failures in one partition: one ImageLoadError listing them all
    result = map_pipeline(fitted_pipeline, db.from_sequence(broken_files, npartitions=1),
                          "predict")
    with pytest.raises(ImageLoadError, match="2 image") as several:
        result.output.compute()
    assert [f.index for f in several.value.failures] == [4, 9]


def test_fill_returns_filled_rows_and_the_failures(client, fitted_pipeline, broken_files):
    pipe = fitted_pipeline[:-1].set_params(imageloader__on_error="fill", imageloader__fill_value=7)
    try:
        with pytest.warns(ImageLoadWarning) as local_warning:
            expected = pipe.transform(broken_files)
        result = map_pipeline(pipe, db.from_sequence(broken_files, npartitions=4))
        with pytest.warns(ImageLoadWarning, match=r"rows \[4, 9\]"):
            rows, failures = result.compute()
    finally:
        pipe.set_params(imageloader__on_error="raise", imageloader__fill_value=0)
    np.testing.assert_array_equal(np.asarray(rows), expected)
    assert failures == local_warning[0].message.failures
    assert [(f.index, f.error_type) for f in failures] == [(4, "ImageDecodeError"),
                                                           (9, "ImageNotFoundError")]
    # the report is a collection of its own, computed on demand
    assert result.failures.compute() == failures


@pytest.mark.parametrize("items, expected", [(slice(4, 10), "ImageLoadError [0, 5]"),
                                              (slice(9, 10), "ImageNotFoundError [0]"),
                                              (slice(4, 5), "ImageDecodeError [0]")])
def test_image_load_errors_pickle_across_processes(broken_files, items, expected):
    with pytest.raises(ImageLoadError) as caught:
        ImageLoader().transform(broken_files[items])
    code = ("import pickle, sys; e = pickle.load(sys.stdin.buffer); "
            "print(type(e).__name__, [f.index for f in e.failures]); print(e)")
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(caught.value),
                         capture_output=True)
    assert out.returncode == 0, out.stderr.decode()
    first, rest = out.stdout.decode().split("\n", 1)
    assert first == expected
    assert rest.strip() == str(caught.value)


def test_bad_inputs_are_reported(client, fitted_pipeline, paths):
    with pytest.raises(UnsupportedCollectionError, match="dask.bag"):
        map_pipeline(fitted_pipeline, paths, "predict")
    with pytest.raises(ValueError, match="no 'transform' method"):
        map_pipeline(fitted_pipeline, db.from_sequence(paths))
    with pytest.raises(UnsupportedCollectionError, match="column='path'"):
        map_pipeline(fitted_pipeline,
                     dd.from_pandas(pd.DataFrame({"a": paths, "b": paths}), npartitions=2),
                     "predict")
    unfitted = make_pipeline(ImageLoader(), LogisticRegression())
    with pytest.raises(Exception, match="not fitted"):
        map_pipeline(unfitted, db.from_sequence(paths), "predict")


# --------------------------------------------------------------------------- fit_standardizer


def test_fit_standardizer_over_paths_equals_local_fit(client, paths):
    loader = ImageLoader(target_size=SIZE)
    bag = db.from_sequence(paths, npartitions=4)  # partitions of 3
    remote = fit_standardizer(bag, DatasetStatsStandardizer(input_scale=1 / 255),
                              loader=loader)
    stream = DatasetStatsStandardizer(input_scale=1 / 255)
    for i in range(0, len(paths), 3):
        stream.partial_fit(loader.transform(paths[i : i + 3]))
    whole = DatasetStatsStandardizer(input_scale=1 / 255).fit(loader.transform(paths))
    for name in ("mean_", "var_", "scale_"):
        np.testing.assert_array_equal(getattr(remote, name), getattr(stream, name))
        np.testing.assert_allclose(getattr(remote, name), getattr(whole, name), rtol=1e-12)
    assert remote.n_samples_seen_ == whole.n_samples_seen_ == len(paths)
    assert remote.n_pixels_seen_ == whole.n_pixels_seen_ == len(paths) * SIZE[0] * SIZE[1]
    assert remote.input_shape_ == whole.input_shape_
    # a one-off fit leaves nothing installed on the workers
    plugins = client.run(lambda dask_worker: sorted(dask_worker.plugins))
    assert not any(name.startswith("skprep-tuple-") for names in plugins.values()
                   for name in names)
    np.testing.assert_array_equal(remote.transform(loader.transform(paths[:2])),
                                  stream.transform(loader.transform(paths[:2])))


def test_fit_standardizer_over_array_and_dataframe(client, paths):
    rng = np.random.default_rng(3)
    images = rng.normal(100.0, 20.0, size=(23, 6, 5, 3))
    images[..., 2] = 4.5  # a constant channel gets scale 1, as locally
    remote = fit_standardizer(da.from_array(images, chunks=(5, 6, 5, 3)))
    whole = DatasetStatsStandardizer().fit(images)
    np.testing.assert_allclose(remote.mean_, whole.mean_, rtol=1e-12)
    np.testing.assert_allclose(remote.var_, whole.var_, rtol=1e-9, atol=1e-12)
    assert remote.scale_[2] == whole.scale_[2] == 1.0
    assert remote.n_samples_seen_ == 23
    ddf = dd.from_pandas(pd.DataFrame({"path": paths}), npartitions=3)
    loader = ImageLoader(target_size=SIZE)
    from_frame = fit_standardizer(ddf, loader=loader)
    np.testing.assert_allclose(from_frame.mean_,
                               DatasetStatsStandardizer().fit(loader.transform(paths)).mean_,
                               rtol=1e-12)
    with pytest.raises(ValueError, match="loader=ImageLoader"):
        fit_standardizer(db.from_sequence(paths))


# --------------------------------------------------------------------------- Keras, text


@pytest.mark.keras
def test_keras_feature_extractor_runs_on_the_workers(client, keras, paths, labels):
    from skprep import KerasFeatureExtractor

    keras.utils.set_random_seed(0)
    inputs = keras.Input((*SIZE, 3))
    hidden = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Conv2D(6, 3)(hidden))
    pipe = make_pipeline(ImageLoader(target_size=SIZE), KerasModeNormalizer(mode="tf"),
                         KerasFeatureExtractor(model, batch_size=4)).fit(paths, labels)
    bag = db.from_sequence(paths, npartitions=3)
    features, failures = map_pipeline(pipe, bag).compute()
    assert failures == []
    # the model travels as .keras bytes and is rebuilt on each worker; TF's CPU kernels
    # may sum in another order with another thread count, hence float32 tolerance
    np.testing.assert_allclose(np.asarray(features), pipe.transform(paths),
                               rtol=1e-5, atol=1e-6)


def test_fit_keras_tokenizer_equals_local_fit(client):
    text = pytest.importorskip("skprep.text")
    from skprep.distributed import fit_keras_tokenizer

    docs = [f"The {w} and the {w}s, THE end {i % 3}!" for i, w in
            enumerate(["cat", "dog", "bird", "cat", "fish", "dog", "emu"] * 3)]
    params = {"num_words": 5, "oov_token": "<OOV>"}
    remote = fit_keras_tokenizer(db.from_sequence(docs, npartitions=4),
                                 text.KerasTokenizer(**params))
    assert remote.to_json() == text.KerasTokenizer(**params).fit(docs).to_json()


def test_fit_text_vectorizer_equals_local_fit(client):
    text = pytest.importorskip("skprep.text")
    from skprep.distributed import fit_text_vectorizer

    docs = [f"the {w} and the {w}s, THE end {i % 3}" for i, w in
            enumerate(["cat", "dog", "bird", "cat", "fish", "dog", "emu"] * 3)]
    for params in ({}, {"max_tokens": 6}, {"output_mode": "tf_idf", "ngrams": 2}):
        local = text.TextVectorizer(**params).fit(docs)
        remote = fit_text_vectorizer(db.from_sequence(docs, npartitions=4),
                                     text.TextVectorizer(**params))
        assert remote.get_vocabulary() == local.get_vocabulary()
        if params.get("output_mode") == "tf_idf":
            np.testing.assert_array_equal(remote.idf_weights_, local.idf_weights_)
    frame = dd.from_pandas(pd.DataFrame({"doc": docs, "n": range(len(docs))}), npartitions=3)
    from_frame = fit_text_vectorizer(frame, text.TextVectorizer(output_sequence_length=8),
                                     column="doc")
    assert from_frame.get_vocabulary() == text.TextVectorizer().fit(docs).get_vocabulary()
    # and the fitted vectorizer maps over the cluster like any pipeline
    sequences = map_pipeline(from_frame, db.from_sequence(docs, npartitions=4)).output
    np.testing.assert_array_equal(np.asarray(sequences.compute()), from_frame.transform(docs))
    # sparse counts come back as sparse rows of a bag
    counter = text.TextVectorizer(output_mode="count").fit(docs)
    rows = map_pipeline(counter, db.from_sequence(docs, npartitions=3)).output.compute()
    sparse = pytest.importorskip("scipy.sparse")
    expected = counter.transform(docs)
    assert sparse.issparse(expected) and all(sparse.issparse(row) for row in rows)
    np.testing.assert_array_equal(sparse.vstack(rows).toarray(), expected.toarray())


def test_standardizer_fit_on_a_dask_array_goes_through_the_map_reduce_helper():
    """issue 13: fit(dask_array) equals fit(numpy) (it used to fail on ndim 4)."""
    rng = np.random.default_rng(11)
    images = rng.integers(0, 256, (9, 4, 5, 3), dtype=np.uint8)
    lazy = da.from_array(images, chunks=(4, 4, 5, 3))
    with dask.config.set(scheduler="sync"):
        fitted = DatasetStatsStandardizer(input_scale=1 / 255).fit(lazy)
        streamed = DatasetStatsStandardizer().partial_fit(images[:2]).partial_fit(lazy)
    local = DatasetStatsStandardizer(input_scale=1 / 255).fit(images)
    np.testing.assert_allclose(fitted.mean_, local.mean_, rtol=1e-12)
    np.testing.assert_allclose(fitted.scale_, local.scale_, rtol=1e-12)
    assert (fitted.n_samples_seen_, fitted.input_shape_) == (9, (4, 5, 3))
    both = np.concatenate([images[:2], images])
    np.testing.assert_allclose(streamed.mean_, both.reshape(-1, 3).mean(0), rtol=1e-12)
    assert streamed.n_samples_seen_ == 11
    np.testing.assert_allclose(fitted.transform(images), local.transform(images), rtol=1e-6)
    bag = db.from_sequence(["a.png", "b.png"])
    with pytest.raises(NotDistributableError, match="skprep.distributed.fit_standardizer"):
        DatasetStatsStandardizer().fit(bag)
