"""to_keras: one Keras model equal to the fitted pipeline, saved and exported for serving."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge, RidgeClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from skprep import (
    DatasetStatsStandardizer,
    ImageLoader,
    KerasModeNormalizer,
    UnsupportedStepError,
    supported_steps,
    to_keras,
)

keras = pytest.importorskip("keras")

ATOL = 1e-4


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (6, 12, 10, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def tabular():
    """Features (60, 5), binary labels, 3-class labels, two regression targets."""
    rng = np.random.default_rng(1)
    X = rng.normal(3.0, 2.0, (60, 5))
    w = rng.normal(size=(5, 3))
    scores = (X - 3.0) @ w
    y3 = scores.argmax(axis=1)
    y2 = (scores[:, 0] > 0).astype(int)
    targets = scores[:, :2] + rng.normal(0, 0.1, (60, 2))
    return X, y2, y3, targets


def _run(model, X):
    return np.asarray(model(np.asarray(X, dtype=model.input.dtype)))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("mode", ["caffe", "tf", "torch", "none"])
def test_normalizer_parity_every_mode(pixels, mode, data_format):
    X = pixels if data_format == "channels_last" else np.ascontiguousarray(
        pixels.transpose(0, 3, 1, 2))
    normalizer = KerasModeNormalizer(mode, data_format=data_format).fit(X)
    model = to_keras(normalizer)
    assert model.input.dtype == "uint8" and tuple(model.input.shape[1:]) == X.shape[1:]
    expected = normalizer.transform(X)
    np.testing.assert_allclose(_run(model, X), expected, atol=ATOL, rtol=0)
    # the layer alone (float input, as inside a user's model) gives the same
    layer_out = np.asarray(normalizer.to_keras_layer()(X.astype("float32")))
    np.testing.assert_allclose(layer_out, expected, atol=ATOL, rtol=0)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"input_scale": 1 / 255},
        {"input_scale": 1 / 255, "with_mean": False},
        {"input_scale": 2.0, "with_std": False},
        {"with_mean": False, "with_std": False},
    ],
)
def test_standardizer_parity(pixels, params, data_format):
    X = pixels.copy()
    X[..., 1] = 7  # a constant channel keeps scale 1, as in transform
    if data_format == "channels_first":
        X = np.ascontiguousarray(X.transpose(0, 3, 1, 2))
    scaler = DatasetStatsStandardizer(data_format=data_format, **params).fit(X)
    layer = scaler.to_keras_layer()
    assert isinstance(layer, keras.layers.Normalization)
    model = to_keras(scaler)
    np.testing.assert_allclose(_run(model, X), scaler.transform(X), atol=ATOL, rtol=0)


@pytest.mark.parametrize(
    "head, target, method",
    [
        (LogisticRegression(), "binary", "predict_proba"),
        (LogisticRegression(), "multi", "predict_proba"),
        (LogisticRegression(), "multi", "decision_function"),
        (LinearSVC(), "binary", "decision_function"),
        (LinearSVC(), "multi", "decision_function"),
        (RidgeClassifier(), "binary", "decision_function"),
        (RidgeClassifier(), "multi", "decision_function"),
        (Ridge(alpha=0.5), "one", "predict"),
        (Ridge(alpha=0.5), "two", "predict"),
        (LinearRegression(), "one", "predict"),
        (LinearRegression(), "two", "predict"),
    ],
)
def test_linear_head_parity(tabular, head, target, method):
    X, y2, y3, targets = tabular
    y = {"binary": y2, "multi": y3, "one": targets[:, 0], "two": targets}[target]
    pipe = make_pipeline(DatasetStatsStandardizer(), head).fit(X, y)
    expected = getattr(pipe, method)(X)
    if method == "predict_proba":
        model = to_keras(pipe)  # "auto" picks predict_proba for LogisticRegression
    else:
        model = to_keras(pipe, method=method)
    out = _run(model, X)
    assert out.shape == (len(X), 1 if expected.ndim == 1 else expected.shape[1])
    np.testing.assert_allclose(out, expected.reshape(out.shape), atol=ATOL, rtol=0)
    if method == "predict_proba":
        np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)


def test_unsupported_step_names_step_and_lists_supported(tabular, pixels):
    X, y2, *_ = tabular
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y2)
    with pytest.raises(UnsupportedStepError, match=r"'standardscaler' \(StandardScaler\)") as err:
        to_keras(pipe)
    assert "KerasModeNormalizer" in str(err.value) and "LinearSVC" in str(err.value)
    assert isinstance(err.value, ValueError)
    svc = make_pipeline(DatasetStatsStandardizer(), SVC()).fit(X, y2)
    with pytest.raises(UnsupportedStepError, match="'svc' \\(SVC\\)"):
        to_keras(svc)
    with pytest.raises(UnsupportedStepError, match="not linear for LinearSVC"):
        to_keras(make_pipeline(LinearSVC()).fit(X, y2), method="predict_proba")
    # a linear head straight on images: the message says what is missing
    y = np.arange(len(pixels)) % 2
    flat = make_pipeline(KerasModeNormalizer("tf"), LogisticRegression())
    flat.steps[0][1].fit(pixels)
    flat.steps[1] = ("logisticregression", LogisticRegression().fit(pixels.reshape(6, -1), y))
    with pytest.raises(UnsupportedStepError, match="4-D data"):
        to_keras(flat)


def test_supported_steps_lists_what_to_keras_handles():
    steps = supported_steps()
    for name in ("ImageLoader", "KerasModeNormalizer", "DatasetStatsStandardizer",
                 "KerasFeatureExtractor", "LogisticRegression", "LinearSVC", "RidgeClassifier",
                 "Ridge", "LinearRegression"):
        assert name in steps


def test_loader_gives_input_shape_and_stays_outside(pixels):
    normalizer = KerasModeNormalizer("torch").fit(pixels)
    pipe = Pipeline([("loader", ImageLoader(target_size=(12, 10))), ("norm", normalizer)])
    model = to_keras(pipe)
    assert tuple(model.input.shape) == (None, 12, 10, 3) and model.input.dtype == "uint8"
    assert not any("loader" in layer.name for layer in model.layers)
    np.testing.assert_allclose(_run(model, pixels), normalizer.transform(pixels), atol=ATOL)


def test_saves_as_keras_and_exports_for_serving(tmp_path, pixels):
    tf = pytest.importorskip("tensorflow")
    normalizer = KerasModeNormalizer("caffe").fit(pixels)
    scaler = DatasetStatsStandardizer(input_scale=1 / 255).fit(normalizer.transform(pixels))
    pipe = make_pipeline(normalizer, scaler)
    model = to_keras(pipe)
    expected = scaler.transform(normalizer.transform(pixels))
    np.testing.assert_allclose(_run(model, pixels), expected, atol=ATOL, rtol=0)

    path = tmp_path / "pipe.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(_run(reloaded, pixels), expected, atol=ATOL, rtol=0)

    model.export(str(tmp_path / "serving"), verbose=False)
    served = tf.saved_model.load(str(tmp_path / "serving"))
    out = served.serve(tf.constant(pixels)).numpy()
    np.testing.assert_allclose(out, expected, atol=ATOL, rtol=0)
