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
    KerasFeatureExtractor,
    KerasModeNormalizer,
    UnsupportedStepError,
    make_image_pipeline,
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


@pytest.fixture(scope="module")
def backbone():
    """A tiny seeded convolutional backbone whose features are of order 1."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((24, 20, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.Conv2D(6, 3, strides=2, activation="tanh")(x)
    return keras.Model(inputs, x, name="tiny_backbone")


@pytest.fixture(scope="module")
def image_pipeline(photo_files, backbone):
    """Fitted: loader -> caffe normalizer -> extractor (avg pooling) -> 3-class logistic."""
    paths = photo_files["jpeg"] + photo_files["png"]
    labels = np.arange(len(paths)) % 3
    pipe = Pipeline([
        ("loader", ImageLoader(target_size=(24, 20))),
        ("normalizer", KerasModeNormalizer(model="resnet50")),
        ("extractor", KerasFeatureExtractor(backbone, pooling="avg")),
        ("head", LogisticRegression(C=100.0, max_iter=2000)),
    ]).fit(paths, labels)
    return pipe, paths


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


def test_image_pipeline_with_extractor_matches_predict_proba(image_pipeline):
    pipe, paths = image_pipeline
    model = to_keras(pipe)
    assert tuple(model.input.shape) == (None, 24, 20, 3) and model.input.dtype == "uint8"
    pixels = pipe.named_steps["loader"].transform(paths)
    expected = pipe.predict_proba(paths)
    assert expected.std() > 0.05  # the features carry signal: the check can fail
    np.testing.assert_allclose(_run(model, pixels), expected, atol=ATOL, rtol=0)


def test_spatial_features_standardized_then_ridge(photo_files, backbone):
    paths = photo_files["png"]
    pipe = Pipeline([
        ("loader", ImageLoader(target_size=(24, 20))),
        ("normalizer", KerasModeNormalizer("torch")),
        ("extractor", KerasFeatureExtractor(backbone, pooling=None)),  # maps, flattened
        ("head", Ridge(alpha=1e-3)),
    ]).fit(paths, np.linspace(0.0, 1.0, len(paths)))
    model = to_keras(pipe)
    pixels = pipe.named_steps["loader"].transform(paths)
    np.testing.assert_allclose(_run(model, pixels)[:, 0], pipe.predict(paths), atol=ATOL)


def test_registry_pipeline_with_preprocessing_inside_the_extractor(photo_files):
    paths = photo_files["jpeg"]
    pipe = make_image_pipeline(
        "vgg16", head=LogisticRegression(C=1e4, max_iter=5000), weights=None, input_size=32,
        normalizer="passthrough", extractor__include_preprocessing=True,
    ).fit(paths, [0, 1, 0, 1, 1, 0])
    model = to_keras(pipe)
    pixels = pipe.named_steps["loader"].transform(paths)
    expected = pipe.predict_proba(paths)
    assert expected.shape == (6, 2) and np.abs(expected - 0.5).max() > 0.1
    np.testing.assert_allclose(_run(model, pixels), expected, atol=ATOL, rtol=0)


# Keras' own model.save trips numpy 2's __array__(copy=...) deprecation; not ours to fix
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_saves_as_keras_and_exports_for_serving(tmp_path, image_pipeline):
    tf = pytest.importorskip("tensorflow")
    pipe, paths = image_pipeline
    model = to_keras(pipe)
    pixels = pipe.named_steps["loader"].transform(paths)
    expected = pipe.predict_proba(paths)

    path = tmp_path / "pipe.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(_run(reloaded, pixels), expected, atol=ATOL, rtol=0)

    model.export(str(tmp_path / "serving"), verbose=False)
    served = tf.saved_model.load(str(tmp_path / "serving"))
    out = served.serve(tf.constant(pixels)).numpy()
    np.testing.assert_allclose(out, expected, atol=ATOL, rtol=0)
    layer = keras.layers.TFSMLayer(str(tmp_path / "serving"), call_endpoint="serve")
    out = keras.ops.convert_to_numpy(layer(pixels))
    np.testing.assert_allclose(out, expected, atol=ATOL, rtol=0)


def _dense(units, kernel, bias, name):
    dense = keras.layers.Dense(units, name=name, trainable=False)
    dense.build((None, kernel.shape[0]))
    dense.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    return dense


def _pca_to_dense(pca, *, name, method):
    """Dense: (x - mean_) @ components_.T"""
    components = pca.components_.T
    return _dense(components.shape[1], components, -pca.mean_ @ components, name)


def _sgd_to_dense(head, *, name, method):
    if method not in ("auto", "decision_function"):
        raise UnsupportedStepError(f"{name}: only decision_function is linear")
    return _dense(head.coef_.shape[0], head.coef_.T, head.intercept_, name)


def test_user_registered_converters_export_a_transformer_and_a_head(tabular):
    from sklearn.decomposition import PCA
    from sklearn.linear_model import SGDClassifier

    from skprep.export import register_converter

    X, _, y3, _ = tabular
    pipe = make_pipeline(PCA(3), SGDClassifier(random_state=0)).fit(X, y3)
    with pytest.raises(UnsupportedStepError, match=r"'pca' \(PCA\)"):
        to_keras(pipe)  # not registered yet
    register_converter(PCA, _pca_to_dense, final=False)
    register_converter(SGDClassifier, _sgd_to_dense, description="Dense, linear")
    steps = supported_steps()
    assert steps["PCA"] == "Dense: (x - mean_) @ components_.T"
    assert steps["SGDClassifier"] == "Dense, linear"
    model = to_keras(pipe)
    assert tuple(model.input.shape) == (None, 5) and model.input.dtype == "float32"
    expected = pipe.decision_function(X)
    assert expected.std() > 0.1
    np.testing.assert_allclose(_run(model, X), expected, atol=ATOL, rtol=0)
    with pytest.raises(UnsupportedStepError, match="only decision_function"):
        to_keras(pipe, method="predict_proba")  # the converter's own refusal
    # a registered head is final: it must be the last step
    head_first = make_pipeline(SGDClassifier(random_state=0), PCA(2))
    head_first.steps = [("sgd", pipe[-1]), ("pca", pipe[0])]
    with pytest.raises(UnsupportedStepError, match="must be the last step"):
        to_keras(head_first, input_shape=(5,))
    with pytest.raises(TypeError):
        register_converter("PCA", _pca_to_dense)


class _ShiftedRidge(Ridge):
    """A subclass that predicts something else than its base (Ridge + 1)."""

    def predict(self, X):
        return super().predict(X) + 1.0


def test_converters_are_keyed_by_exact_class(tabular):
    """A subclass may compute something else: its base's converter does not apply."""
    X, _, _, targets = tabular
    pipe = make_pipeline(_ShiftedRidge()).fit(X, targets[:, 0])
    with pytest.raises(UnsupportedStepError, match=r"\(_ShiftedRidge\)"):
        to_keras(pipe)


def test_steps_convert_themselves(pixels):
    """to_keras asks each skprep step for its layer: the same layer config either way."""
    from skprep.export import normalizer_layer, standardizer_layer

    normalizer = KerasModeNormalizer("caffe").fit(pixels)
    scaler = DatasetStatsStandardizer(input_scale=1 / 255).fit(pixels)
    assert (normalizer.to_keras_layer(name="n").get_config()
            == normalizer_layer(normalizer, name="n").get_config())
    layer = scaler.to_keras_layer()
    assert layer.name == "dataset_stats" and isinstance(layer, keras.layers.Normalization)
    assert layer.get_config() == standardizer_layer(scaler).get_config()
    out = keras.ops.convert_to_numpy(layer(pixels.astype(np.float32)))
    np.testing.assert_allclose(out, scaler.transform(pixels), atol=ATOL)
