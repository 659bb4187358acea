"""StreamingPipeline: the same results as Pipeline, batch by batch, in bounded memory."""

from __future__ import annotations

import pickle
import threading
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joblib
import numpy as np
import pytest
from PIL import Image
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skprep import DatasetStatsStandardizer, ImageLoader, KerasModeNormalizer
from skprep.exceptions import (
    ImageLoadError,
    ImageLoadWarning,
    ImageNotFoundError,
)
from skprep.streaming import StreamingPipeline, make_streaming_pipeline

SIZE = (32, 32)
N = 40
BATCH = 8  # a multiple of the extractor's batch_size (4): the model sees the same sub-batches


def flatten(side: int = SIZE[0]) -> FunctionTransformer:
    # np.reshape (not a function of this module): picklable for processes without the tests
    return FunctionTransformer(np.reshape, kw_args={"shape": (-1, side * side * 3)})


def channel_means() -> FunctionTransformer:
    return FunctionTransformer(np.mean, kw_args={"axis": (1, 2)})


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "skprep-prefetch"]


@pytest.fixture(scope="module")
def paths(tmp_path_factory, sample_photos) -> list[str]:
    """N real photo crops of varied sizes, as JPEG files."""
    root = tmp_path_factory.mktemp("stream")
    rng = np.random.default_rng(0)
    out = []
    for i in range(N):
        photo = sample_photos[i % 2]
        h, w = rng.integers(60, 200), rng.integers(60, 300)
        top, left = rng.integers(0, 427 - h), rng.integers(0, 640 - w)
        path = root / f"img{i:02d}.jpg"
        Image.fromarray(photo[top:top + h, left:left + w]).save(path, quality=90)
        out.append(str(path))
    return out


@pytest.fixture(scope="module")
def labels(paths) -> np.ndarray:
    return np.array([i % 2 for i in range(len(paths))])


@pytest.fixture(scope="module")
def broken(tmp_path_factory, paths) -> list[str]:
    """paths with a corrupt JPEG at 3 and 33 and a missing file at 17 (batches 0, 2, 4)."""
    root = tmp_path_factory.mktemp("broken")
    corrupt = root / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8 not really a jpeg")
    items = list(paths)
    items[3] = items[33] = str(corrupt)
    items[17] = str(root / "missing.jpg")
    return items


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, keras) -> str:
    """A tiny convolutional backbone saved as .keras: every load has the same weights."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((*SIZE, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    path = str(tmp_path_factory.mktemp("model") / "tiny.keras")
    keras.Model(inputs, x).save(path)
    return path


def image_steps(model_file, head=True, loader=None):
    from skprep import KerasFeatureExtractor

    steps = [("loader", loader or ImageLoader(SIZE)), ("normalizer", KerasModeNormalizer("tf")),
             ("extractor", KerasFeatureExtractor(model_file, batch_size=4))]
    if head:
        steps.append(("head", LogisticRegression(max_iter=500)))
    return steps


@pytest.fixture(scope="module")
def fitted(model_file, paths, labels):
    return StreamingPipeline(image_steps(model_file), batch_size=BATCH).fit(paths, labels)


# --------------------------------------------------------------------------- same results


@pytest.mark.parametrize("prefetch", [0, 1, 2])
def test_every_output_equals_pipeline_bit_for_bit(fitted, paths, labels, prefetch):
    pipe = clone(fitted).set_params(prefetch=prefetch)
    pipe.steps = fitted.steps  # the same fitted steps
    plain = Pipeline(fitted.steps)
    features = pipe[:-1].transform(paths)
    assert features.shape == (N, 16) and features.std() > 0  # the check can fail
    np.testing.assert_array_equal(features, plain[:-1].transform(paths))
    for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
        np.testing.assert_array_equal(getattr(pipe, method)(paths), getattr(plain, method)(paths))
    assert pipe.score(paths, labels) == plain.score(paths, labels)


def test_fit_equals_pipeline_fit(model_file, paths, labels):
    stream = StreamingPipeline(image_steps(model_file), batch_size=BATCH).fit(paths, labels)
    plain = Pipeline(image_steps(model_file)).fit(paths, labels)
    np.testing.assert_array_equal(stream["head"].coef_, plain["head"].coef_)
    assert stream["normalizer"].input_shape_ == plain["normalizer"].input_shape_ == (*SIZE, 3)
    assert stream["extractor"].n_features_out_ == plain["extractor"].n_features_out_ == 16
    assert stream["loader"].n_channels_ == 3
    np.testing.assert_array_equal(stream[:-1].fit_transform(paths), plain[:-1].fit_transform(paths))


def test_fit_with_a_partial_fit_step_equals_pipeline(model_file, paths):
    """The standardizer sees every batch (fit + partial_fit) before it feeds the model."""
    from skprep import KerasFeatureExtractor

    def steps():
        return [("loader", ImageLoader(SIZE)),
                ("scaler", DatasetStatsStandardizer(input_scale=1 / 255)),
                ("extractor", KerasFeatureExtractor(model_file, batch_size=4))]

    stream = StreamingPipeline(steps(), batch_size=BATCH)
    out = stream.fit_transform(paths)
    plain = Pipeline(steps())
    expected = plain.fit_transform(paths)
    assert stream["scaler"].n_samples_seen_ == plain["scaler"].n_samples_seen_ == N
    assert stream["scaler"].n_pixels_seen_ == plain["scaler"].n_pixels_seen_
    for name in ("mean_", "var_", "scale_"):  # Chan's merge over 5 batches: float64 rounding
        np.testing.assert_allclose(getattr(stream["scaler"], name),
                                   getattr(plain["scaler"], name), rtol=1e-14, atol=0)
    # transform's coefficients are float32: the features are the same bits
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(stream.transform(paths), expected)


def test_image_array_input_and_tabular_steps_after_the_stream(paths, labels):
    pixels = ImageLoader(SIZE).transform(paths)
    steps = [("normalizer", KerasModeNormalizer("tf")), ("flat", flatten()),
             ("scaler", StandardScaler()), ("head", LogisticRegression(max_iter=300))]
    stream = StreamingPipeline(clone(Pipeline(steps)).steps, batch_size=BATCH)
    plain = clone(Pipeline(steps))
    stream.fit(pixels, labels)
    plain.fit(pixels, labels)
    # the 2-D scaler has partial_fit but is fitted whole: streaming stopped before it
    np.testing.assert_array_equal(stream["scaler"].mean_, plain["scaler"].mean_)
    np.testing.assert_array_equal(stream.predict_proba(pixels), plain.predict_proba(pixels))


def test_small_inputs_and_single_items_run_as_pipeline(fitted, paths):
    plain = Pipeline(fitted.steps)
    np.testing.assert_array_equal(fitted.predict_proba(paths[:5]), plain.predict_proba(paths[:5]))
    np.testing.assert_array_equal(fitted.predict_proba(paths[0]), plain.predict_proba(paths[0]))


def test_pandas_input(fitted, paths):
    pd = pytest.importorskip("pandas")
    plain = Pipeline(fitted.steps)
    series = pd.Series(paths, index=np.arange(N) * 3)
    np.testing.assert_array_equal(fitted.predict_proba(series), plain.predict_proba(paths))
    frame = pd.DataFrame({"path": paths})
    np.testing.assert_array_equal(fitted.predict(frame), plain.predict(paths))


# --------------------------------------------------------------------------- failures


def test_fill_gives_one_report_with_global_indices(fitted, broken):
    fill = [("loader", ImageLoader(SIZE, on_error="fill")), *fitted.steps[1:]]
    stream = StreamingPipeline(fill, batch_size=BATCH)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        out = stream.predict_proba(broken)
    with warnings.catch_warnings(record=True) as want:
        warnings.simplefilter("always")
        expected = Pipeline(fill).predict_proba(broken)
    np.testing.assert_array_equal(out, expected)
    got = [w.message for w in got if isinstance(w.message, ImageLoadWarning)]
    want = [w.message for w in want if isinstance(w.message, ImageLoadWarning)]
    assert len(got) == len(want) == 1
    assert got[0].report.indices == want[0].report.indices == [3, 17, 33]
    assert got[0].report.n_items == N
    assert got[0].report.error_types == want[0].report.error_types == [
        "ImageDecodeError", "ImageNotFoundError", "ImageDecodeError"]
    assert got[0].report.messages == want[0].report.messages
    assert got[0].failures == want[0].failures


def test_raise_gives_the_global_index(fitted, paths, broken):
    items = list(paths)
    items[17] = broken[17]
    for pipe in (fitted, Pipeline(fitted.steps)):
        with pytest.raises(ImageNotFoundError) as info:
            pipe.predict(items)
        assert info.value.index == 17 and info.value.failures[0].index == 17
        assert info.value.source == broken[17]
    assert not prefetch_threads()


def test_max_failures_counts_the_whole_input(fitted, broken):
    def pipe(limit):
        loader = ImageLoader(SIZE, on_error="fill", max_failures=limit)
        return StreamingPipeline([("loader", loader), *fitted.steps[1:]], batch_size=BATCH)

    # 3 of 40 fail: 0.1 allows 4 (a batch alone has 1 of 8 failing, above 0.1)
    with pytest.warns(ImageLoadWarning):
        pipe(0.1).predict(broken)
    for limit in (2, 0.05):
        with pytest.raises(ImageLoadError, match="max_failures"):
            pipe(limit).predict(broken)
    assert not prefetch_threads()


def test_errors_and_early_stops_leave_no_thread(fitted, paths):
    def boom(x):
        if x.shape[0] and x[0, 0, 0, 0] == 999:  # never: shapes decide below
            return x
        raise RuntimeError("consumer failed")

    pipe = StreamingPipeline([("loader", ImageLoader(SIZE)),
                              ("boom", FunctionTransformer(boom))], batch_size=BATCH)
    with pytest.raises(RuntimeError, match="consumer failed"):
        pipe.fit_transform(paths)
    it = fitted[:-1].iter_transform(paths)
    assert next(it)[0] == 0
    assert next(it)[0] == BATCH  # the prefetch thread runs now
    it.close()
    assert not prefetch_threads()


# --------------------------------------------------------------------------- iter_transform


def test_iter_transform_yields_the_rows_of_transform(fitted, paths):
    body = fitted[:-1]
    parts = list(body.iter_transform(paths))
    assert [start for start, _ in parts] == list(range(0, N, BATCH))
    np.testing.assert_array_equal(np.concatenate([out for _, out in parts]),
                                  body.transform(paths))
    small = list(body.iter_transform(paths[:3]))
    assert len(small) == 1 and small[0][1].shape == (3, 16)


def test_iter_transform_returns_each_batch_failures(fitted, broken):
    fill = [("loader", ImageLoader(SIZE, on_error="fill")), *fitted.steps[1:-1]]
    body = StreamingPipeline(fill, batch_size=BATCH)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: the failures are in the caller's hands
        parts = list(body.iter_transform(broken, return_failures=True))
    failed = {start: [f.index for f in failures] for start, _, failures in parts}
    assert failed == {0: [3], 8: [], 16: [17], 24: [], 32: [33]}
    with pytest.warns(ImageLoadWarning) as record:
        list(body.iter_transform(broken))
    assert [w.message.report.indices for w in record] == [[3, 17, 33]]
    single = list(body.iter_transform(broken[3], return_failures=True))
    assert len(single) == 1 and [f.index for f in single[0][2]] == [0]


# --------------------------------------------------------------------------- memory


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_n(paths):
    """Peak traced memory at 160 images (20 batches) stays that of 40, unlike Pipeline."""
    steps = [("loader", ImageLoader((64, 64))), ("normalizer", KerasModeNormalizer("tf")),
             ("means", channel_means())]
    small, large = paths, paths * 4
    stream = StreamingPipeline(steps, batch_size=BATCH).fit(paths[:BATCH])
    plain = Pipeline(steps)
    np.testing.assert_array_equal(stream.transform(large), plain.transform(large))
    peak_small, peak_large = _peak(lambda: stream.transform(small)), _peak(
        lambda: stream.transform(large))
    plain_large = _peak(lambda: plain.transform(large))
    assert peak_large < 1.3 * peak_small
    assert plain_large > 3 * peak_large  # 160 x 64 x 64 x 3 x 5 bytes = 9.8 MB held at once


# --------------------------------------------------------------------------- sklearn API


def test_parameters_clone_and_slicing(model_file):
    pipe = StreamingPipeline(image_steps(model_file), batch_size=16, prefetch=1)
    params = pipe.get_params()
    assert params["batch_size"] == 16 and params["prefetch"] == 1
    assert params["extractor__batch_size"] == 4
    twin = clone(pipe)
    assert type(twin) is StreamingPipeline and twin.get_params()["batch_size"] == 16
    pipe.set_params(batch_size=32, head__C=0.5)
    assert pipe.batch_size == 32 and pipe["head"].C == 0.5
    body = pipe[:-1]
    assert type(body) is StreamingPipeline and (body.batch_size, body.prefetch) == (32, 1)
    assert [name for name, _ in body.steps] == ["loader", "normalizer", "extractor"]
    assert isinstance(pipe[0], ImageLoader)
    with pytest.raises(InvalidParameterError, match="batch_size"):
        StreamingPipeline(image_steps(model_file), batch_size=0).fit(["a"] * 3, [0, 1, 0])
    with pytest.raises(InvalidParameterError, match="prefetch"):
        StreamingPipeline(image_steps(model_file), prefetch=-1).predict(["a"] * 300)


def test_make_streaming_pipeline_names_steps():
    pipe = make_streaming_pipeline(ImageLoader(SIZE), KerasModeNormalizer("tf"),
                                   batch_size=64, prefetch=0)
    assert [name for name, _ in pipe.steps] == ["imageloader", "kerasmodenormalizer"]
    assert (pipe.batch_size, pipe.prefetch) == (64, 0)


def test_grid_search_and_cross_val_score_in_processes(paths, labels):
    steps = [("loader", ImageLoader((16, 16))), ("normalizer", KerasModeNormalizer("tf")),
             ("flat", flatten(16)), ("head", LogisticRegression(max_iter=300))]
    stream = StreamingPipeline(clone(Pipeline(steps)).steps, batch_size=BATCH)
    plain = clone(Pipeline(steps))
    grid = {"head__C": [0.1, 1.0]}
    found = GridSearchCV(stream, grid, cv=2).fit(paths, labels)
    expected = GridSearchCV(plain, grid, cv=2).fit(paths, labels)
    np.testing.assert_array_equal(found.cv_results_["mean_test_score"],
                                  expected.cv_results_["mean_test_score"])
    assert type(found.best_estimator_) is StreamingPipeline
    scores = cross_val_score(stream, paths, labels, cv=2, n_jobs=2)
    np.testing.assert_array_equal(scores, cross_val_score(plain, paths, labels, cv=2))


def test_memory_caches_the_streamed_steps(tmp_path, model_file, paths, labels):
    """A cache hit needs no image at all: the features come from the cache."""
    import shutil

    folder = tmp_path / "images"
    folder.mkdir()
    copies = [shutil.copy(p, folder) for p in paths]
    memory = joblib.Memory(tmp_path / "cache", verbose=0)
    first = StreamingPipeline(image_steps(model_file), memory=memory, batch_size=BATCH)
    first.fit(copies, labels)
    plain = Pipeline(image_steps(model_file)).fit(copies, labels)
    np.testing.assert_array_equal(first["head"].coef_, plain["head"].coef_)
    shutil.rmtree(folder)
    again = StreamingPipeline(image_steps(model_file), memory=memory, batch_size=BATCH)
    again.set_params(head__C=0.5).fit(copies, labels)  # loads nothing: a cache hit
    assert again["extractor"].n_features_out_ == 16
    assert again["head"].C == 0.5 and again["head"].coef_.shape == (1, 16)


def test_joblib_pickle_and_skprep_bundles(tmp_path, fitted, paths):
    import skprep

    expected = fitted.predict_proba(paths)
    for copy in (pickle.loads(pickle.dumps(fitted)), joblib.load(_dump(fitted, tmp_path))):
        assert type(copy) is StreamingPipeline and copy.batch_size == BATCH
        np.testing.assert_array_equal(copy.predict_proba(paths), expected)
    skprep.save(fitted, tmp_path / "pipe.skprep")
    loaded = skprep.load(tmp_path / "pipe.skprep")
    assert type(loaded) is StreamingPipeline and loaded.batch_size == BATCH
    np.testing.assert_array_equal(loaded.predict_proba(paths), expected)


def _dump(obj, tmp_path):
    path = tmp_path / "pipe.joblib"
    joblib.dump(obj, path)
    return path


def test_to_keras_exports_a_streaming_pipeline(fitted, paths):
    from skprep import to_keras

    model = to_keras(fitted)
    pixels = fitted["loader"].transform(paths)
    out = np.asarray(model.predict(pixels, verbose=0))
    np.testing.assert_allclose(out, fitted.predict_proba(paths), atol=1e-5, rtol=0)


def test_eight_threads_at_once(fitted, paths):
    expected = fitted.predict_proba(paths)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: fitted.predict_proba(paths), range(8)))
    for result in results:
        np.testing.assert_array_equal(result, expected)
    assert not prefetch_threads()


def test_map_pipeline_on_dask(paths, labels):
    distributed = pytest.importorskip("distributed")
    db = pytest.importorskip("dask.bag")
    from skprep.distributed import map_pipeline

    steps = [("loader", ImageLoader((16, 16))), ("normalizer", KerasModeNormalizer("tf")),
             ("flat", flatten(16)), ("head", LogisticRegression(max_iter=300))]
    pipe = StreamingPipeline(steps, batch_size=4).fit(paths, labels)
    expected = pipe.predict(paths)
    # threads: the pipeline's pickling across processes is tested above, and a process
    # cluster costs ~20 s to start on a loaded machine
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=":0",
                                       worker_dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        result, failures = map_pipeline(pipe, db.from_sequence(paths, npartitions=3),
                                        "predict", client=client).compute()
    assert failures == []
    np.testing.assert_array_equal(np.asarray(result), expected)


def test_collector_equals_concatenate():
    from skprep.streaming._engine import _Collector

    parts = [np.ones((2, 3), np.float32), np.zeros((2, 3), np.float64), np.ones((1, 3), np.int8)]
    collected = _Collector(5)
    start = 0
    for part in parts:
        collected.add(start, part)
        start += len(part)
    expected = np.concatenate(parts)
    result = collected.result()
    assert result.dtype == expected.dtype == np.float64
    np.testing.assert_array_equal(result, expected)
    scipy_sparse = pytest.importorskip("scipy.sparse")
    sparse = _Collector(4)
    sparse.add(0, scipy_sparse.csr_matrix(np.eye(2)))
    sparse.add(2, scipy_sparse.csr_matrix(np.eye(2)))
    np.testing.assert_array_equal(sparse.result().toarray(), np.vstack([np.eye(2)] * 2))


def test_one_progress_bar_for_the_whole_pipeline(fitted, paths, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):  # the built-in bar: its output is plain text
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    body = clone(fitted[:-1])
    body.steps = fitted.steps[:-1]
    fitted["extractor"].set_params(verbose=2)
    fitted["loader"].set_params(verbose=2)
    try:
        capsys.readouterr()
        body.transform(paths)
        err = capsys.readouterr().err
        parts = list(body.iter_transform(paths))
        err_iter = capsys.readouterr().err
        Pipeline(fitted.steps[:-1]).transform(paths)
        err_plain = capsys.readouterr().err
    finally:
        fitted["extractor"].set_params(verbose=0)
        fitted["loader"].set_params(verbose=0)
    assert len(parts) == N // BATCH
    for text in (err, err_iter):
        assert "StreamingPipeline: 40/40 img" in text
        assert "ImageLoader" not in text and "KerasFeatureExtractor" not in text
        assert text.count("\n") == 1  # one bar, one line
    assert "ImageLoader" in err_plain and "KerasFeatureExtractor" in err_plain


# --------------------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def folder(tmp_path_factory, paths) -> tuple[str, list[str]]:
    """A folder of the N photos with a corrupt JPEG (sorted 17th) and a truncated one (33rd)."""
    import shutil

    root = tmp_path_factory.mktemp("cli_images")
    names = []
    for i, path in enumerate(paths):
        names.append(str(root / f"img{i:02d}.jpg"))
        shutil.copy(path, names[-1])
    Path(names[16]).write_bytes(b"\xff\xd8 not really a jpeg")
    data = Path(names[32]).read_bytes()
    Path(names[32]).write_bytes(data[: len(data) // 2])
    return str(root), names


def _features_args(folder, model_file, output, *extra):
    return ["features", folder, "--model", model_file, "--mode", "tf", "--batch-size", "4",
            "--no-progress", "-o", output, *extra]


@pytest.mark.parametrize("suffix", [".npz", ".csv", ".parquet"])
def test_cli_features_skips_bad_images_with_global_indices(tmp_path, folder, model_file,
                                                           capsys, suffix):
    from skprep.cli import main

    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    root, names = folder
    output = str(tmp_path / f"features{suffix}")
    assert main(_features_args(root, model_file, output)) == 0
    err = capsys.readouterr().err
    assert f"image 16 ({names[16]})" in err and f"image 32 ({names[32]})" in err
    assert "2 of 40 image(s) could not be loaded and were skipped" in err
    good = [name for i, name in enumerate(names) if i not in (16, 32)]
    body = Pipeline([("loader", ImageLoader(SIZE)), ("normalizer", KerasModeNormalizer("tf")),
                     ("extractor", _extractor(model_file))]).fit(good[:2])
    expected = body.transform(good)
    if suffix == ".npz":
        saved = np.load(output)
        np.testing.assert_array_equal(saved["features"], expected)
        assert list(saved["paths"]) == good
        assert list(saved["failed_paths"]) == [names[16], names[32]]
        assert saved["errors"][0].startswith("ImageDecodeError")
        return
    pd = pytest.importorskip("pandas")
    table = pd.read_csv(output) if suffix == ".csv" else pd.read_parquet(output)
    assert list(table["path"]) == names
    assert table["error"].fillna("").astype(bool).tolist() == [i in (16, 32) for i in range(N)]
    values = table.drop(columns=["path", "error"]).to_numpy(np.float64)
    assert np.isnan(values[[16, 32]]).all()
    np.testing.assert_allclose(np.delete(values, [16, 32], axis=0), expected, rtol=1e-6)


def _extractor(model_file):
    from skprep import KerasFeatureExtractor

    return KerasFeatureExtractor(model_file, batch_size=4).fit()


def test_cli_features_fill_raise_and_nothing_loaded(tmp_path, folder, model_file, capsys):
    from skprep.cli import main

    root, names = folder
    filled = str(tmp_path / "filled.npz")
    assert main(_features_args(root, model_file, filled, "--on-error", "fill")) == 0
    saved = np.load(filled)
    assert saved["features"].shape == (N, 16) and list(saved["paths"]) == names
    assert list(saved["failed_paths"]) == [names[16], names[32]]
    raised = str(tmp_path / "raised.npz")
    capsys.readouterr()
    assert main(_features_args(root, model_file, raised, "--on-error", "raise")) == 1
    err = capsys.readouterr().err
    # the first failing batch stops the run: its failures, global indices, every file named
    assert f"image 16 ({names[16]})" in err and names[32] not in err
    assert err.count("\n") == 1 and not Path(raised).exists()
    capsys.readouterr()
    args = _features_args(root, model_file, raised, "--on-error", "raise")
    args[args.index("--batch-size") + 1] = "8"  # 64 images a batch: both failures in one
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"item 16 ({names[16]})" in err and f"item 32 ({names[32]})" in err
    assert err.count("\n") == 1 and not Path(raised).exists()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.jpg").write_bytes(b"nope")
    (bad / "b.png").write_bytes(b"")
    assert main(_features_args(str(bad), model_file, str(tmp_path / "none.csv"))) == 1
    assert "no image could be loaded" in capsys.readouterr().err


def test_cli_predict_lists_bad_images(tmp_path, folder, fitted, model_file, capsys):
    import skprep
    from skprep.cli import main

    root, names = folder
    bundle = str(tmp_path / "pipe.skprep")
    skprep.save(fitted, bundle)
    output = str(tmp_path / "pred.csv")
    assert main(["predict", bundle, root, "-o", output, "--no-progress"]) == 0
    pd = pytest.importorskip("pandas")
    table = pd.read_csv(output)
    assert list(table["path"]) == names
    good = [i for i in range(N) if i not in (16, 32)]
    np.testing.assert_array_equal(table["prediction"].to_numpy()[good],
                                  Pipeline(fitted.steps).predict([names[i] for i in good]))
    assert table["prediction"].isna().tolist() == [i in (16, 32) for i in range(N)]
    assert "image 32" in capsys.readouterr().err
    assert main(["predict", bundle, root, "--on-error", "raise", "-o", output]) == 1


def test_cli_features_memory_does_not_grow(tmp_path, paths, model_file):
    """Rows are written as they come: 384 more images add far less traced memory than
    holding their feature maps would (1,568 floats an image: 2.4 MB). Both runs are long
    enough for the prefetch queue to be full (8 and 32 batches of 16)."""
    import shutil

    from skprep.cli import main

    def run(count: int) -> int:
        root = tmp_path / f"n{count}"
        if not root.exists():
            root.mkdir()
            for i in range(count):
                shutil.copy(paths[i % N], root / f"{i:04d}.jpg")
        args = _features_args(str(root), model_file, str(tmp_path / f"{count}.csv"))
        args[args.index("--batch-size") + 1] = "2"  # 16 images a streamed batch
        return _peak(lambda: main([*args, "--pooling", "none"]))

    run(32)  # one-time allocations (Keras, TensorFlow, the prefetch thread)
    small, large = run(128), run(512)
    held = (512 - 128) * 1568 * 4
    assert large - small < 0.2 * held
