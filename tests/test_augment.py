"""ImageAugmenter against the real Keras 3 random preprocessing layers, and as a sampler.

Parity: the Keras layer draws a transformation (``get_random_transformation``); it is
converted to skprep's format and skprep's ``apply`` must equal the layer's
``transform_images`` (exactly for flips and integer crops, to rounding for interpolated
operations), for every fill mode and interpolation both support.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from skprep import ImageAugmenter
from skprep.exceptions import (
    AugmentationParameterError,
    InputShapeError,
    SkprepError,
    UnsupportedStepError,
)

pytest.importorskip("cv2")

FILL_MODES = ["reflect", "wrap", "constant", "nearest"]
INTERPOLATIONS = ["bilinear", "nearest"]
HEIGHT, WIDTH = 40, 56
ONLY = dict(flip=None, rotation=None, zoom=None, translation=None, contrast=None,
            brightness=None)


@pytest.fixture(scope="module")
def photos(sample_photos) -> np.ndarray:
    """8 real uint8 photos of 40x56: the two sample photos' regions at several scales."""
    from PIL import Image

    tiles = []
    for photo in sample_photos:
        for top, left, size in ((0, 0, 427), (100, 200, 200), (200, 50, 120), (50, 400, 240)):
            crop = photo[top:top + size, left:left + int(size * 1.4)]
            tiles.append(np.asarray(Image.fromarray(crop).resize((WIDTH, HEIGHT))))
    return np.stack(tiles)


def _only(**params) -> ImageAugmenter:
    """An augmenter with only the given operations enabled."""
    return ImageAugmenter(**{**ONLY, **params})


def _keras_out(layer, images, transformation) -> np.ndarray:
    return np.asarray(layer.transform_images(images.astype(np.float32), transformation))


def _assert_close(out: np.ndarray, ref: np.ndarray, original: np.ndarray,
                  max_diff: float = 255.0) -> None:
    assert out.shape == ref.shape
    diff = np.abs(out.astype(np.float32) - ref)
    assert diff.mean() <= 0.5, diff.mean()
    assert diff.max() <= max_diff, diff.max()
    # the operation did something: the reference is not the input
    assert np.abs(ref - original.astype(np.float32)).mean() > 2.0


# ---------------------------------------------------------------- Keras parity


@pytest.mark.keras
@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_flip_equals_keras_exactly(keras, photos, mode):
    layer = keras.layers.RandomFlip(mode, seed=3)
    t = layer.get_random_transformation(photos)
    flips = np.asarray(t["flips"]).reshape(-1)
    assert 0 < flips.sum() < len(flips)  # both flipped and unflipped images
    horizontal, vertical = mode != "vertical", mode != "horizontal"
    ours = {"flip_horizontal": flips & horizontal, "flip_vertical": flips & vertical}
    out = ImageAugmenter(flip=mode).apply(photos, ours)
    np.testing.assert_array_equal(out, _keras_out(layer, photos, t).astype(np.uint8))


@pytest.mark.keras
@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_rotation_equals_keras(keras, photos, fill_mode, interpolation):
    layer = keras.layers.RandomRotation(0.2, fill_mode=fill_mode, interpolation=interpolation,
                                        fill_value=37.0, seed=1)
    t = layer.get_random_transformation(photos)
    aug = _only(rotation=0.2, fill_mode=fill_mode,
                         interpolation=interpolation, fill_value=37.0)
    out = aug.apply(photos, {"angle": np.asarray(t["angle"])})
    _assert_close(out, _keras_out(layer, photos, t), photos, max_diff=1.0)


@pytest.mark.keras
@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_zoom_equals_keras(keras, photos, fill_mode, interpolation):
    layer = keras.layers.RandomZoom(0.4, fill_mode=fill_mode, interpolation=interpolation,
                                    fill_value=200.0, seed=2)
    t = layer.get_random_transformation(photos)
    zoom = np.concatenate([np.asarray(t["width_zoom"]), np.asarray(t["height_zoom"])], axis=1)
    aug = _only(zoom=0.4, fill_mode=fill_mode, interpolation=interpolation,
                         fill_value=200.0)
    out = aug.apply(photos, {"zoom": zoom})
    _assert_close(out, _keras_out(layer, photos, t), photos, max_diff=1.0)


@pytest.mark.keras
@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_translation_equals_keras(keras, photos, fill_mode, interpolation):
    layer = keras.layers.RandomTranslation(0.3, 0.3, fill_mode=fill_mode,
                                           interpolation=interpolation, seed=4)
    t = layer.get_random_transformation(photos)
    aug = _only(translation=0.3, fill_mode=fill_mode,
                         interpolation=interpolation)
    out = aug.apply(photos, {"translation": np.asarray(t["translations"])})
    _assert_close(out, _keras_out(layer, photos, t), photos, max_diff=1.0)


def _crop_reference(keras, layer, photos, interpolation):
    t = layer.get_random_transformation(photos)
    cropped = _keras_out(layer, photos, t)
    resize = keras.layers.Resizing(HEIGHT, WIDTH, interpolation=interpolation)
    top, left = (int(v) for v in t)
    windows = np.tile([top, left, layer.height, layer.width], (len(photos), 1))
    return np.asarray(resize(cropped)), windows


@pytest.mark.keras
def test_integer_crop_equals_keras_exactly(keras, photos):
    # half-size window, resized back x2 with nearest: the window's pixels, exactly
    layer = keras.layers.RandomCrop(HEIGHT // 2, WIDTH // 2, seed=5)
    ref, windows = _crop_reference(keras, layer, photos, "nearest")
    assert windows[0, :2].any()  # not the top-left corner
    aug = _only(crop=(HEIGHT // 2, WIDTH // 2), interpolation="nearest")
    out = aug.apply(photos, {"crop": windows})
    np.testing.assert_array_equal(out, ref.astype(np.uint8))


@pytest.mark.keras
def test_crop_resized_back_equals_keras_crop_then_resizing(keras, photos):
    layer = keras.layers.RandomCrop(30, 41, seed=6)
    ref, windows = _crop_reference(keras, layer, photos, "bilinear")
    out = _only(crop=(30, 41)).apply(photos, {"crop": windows})
    _assert_close(out, ref, photos, max_diff=1.0)  # nothing outside the window is read


@pytest.mark.keras
def test_crop_window_is_drawn_as_keras_draws_it(keras, photos):
    # Keras' central fallback when the image is not larger than the crop (any seed)
    layer = keras.layers.RandomCrop(HEIGHT + 10, WIDTH // 2, seed=0)
    h_start, w_start = layer.get_random_transformation(photos)
    aug = _only(crop=(HEIGHT + 10, WIDTH // 2))
    windows = aug.random_transformation(photos, 0)["crop"]
    assert (windows[:, :2] == [int(h_start), int(w_start)]).all()
    # random windows: integer offsets that keep the window inside the image
    aug.set_params(crop=(HEIGHT - 7, WIDTH - 9))
    windows = aug.random_transformation(np.zeros((500, HEIGHT, WIDTH, 3), np.uint8), 0)["crop"]
    assert windows[:, 0].min() == 0 and windows[:, 0].max() == 7
    assert windows[:, 1].min() == 0 and windows[:, 1].max() == 9


@pytest.mark.keras
def test_contrast_equals_keras(keras, photos):
    layer = keras.layers.RandomContrast((0.5, 0.5), seed=7)
    t = layer.get_random_transformation(photos)
    factor = np.asarray(t["contrast_factor"]).reshape(-1)
    out = _only(contrast=(0.5, 0.5)).apply(photos, {"contrast": factor})
    ref = _keras_out(layer, photos, t)
    _assert_close(out, ref, photos, max_diff=1.0)


@pytest.mark.keras
def test_brightness_equals_keras(keras, photos):
    layer = keras.layers.RandomBrightness(0.3, seed=8)
    t = layer.get_random_transformation(photos)
    delta = np.asarray(t["rgb_delta"]).reshape(-1)
    out = _only(brightness=0.3).apply(photos, {"brightness": delta})
    ref = _keras_out(layer, photos, t)
    _assert_close(out, ref, photos, max_diff=0.5 + 1e-4)


@pytest.mark.keras
@pytest.mark.parametrize(
    ("param", "value", "layer_name", "key", "ours"),
    [
        ("rotation", 0.2, "RandomRotation", "angle", "angle"),
        ("rotation", (-0.1, 0.3), "RandomRotation", "angle", "angle"),
        ("zoom", (-0.3, 0.1), "RandomZoom", "height_zoom", "zoom"),
        ("translation", 0.25, "RandomTranslation", "translations", "translation"),
        ("contrast", 0.4, "RandomContrast", "contrast_factor", "contrast"),
        ("contrast", (0.2, 0.6), "RandomContrast", "contrast_factor", "contrast"),
        ("brightness", (-0.5, 0.1), "RandomBrightness", "rgb_delta", "brightness"),
    ],
)
def test_draws_span_the_keras_layers_ranges(keras, param, value, layer_name, key, ours):
    """Same factor, same distribution: the ranges of many draws agree with Keras'."""
    batch = np.zeros((4000, 16, 20, 3), np.uint8)
    layer = getattr(keras.layers, layer_name)(
        value, *([value] if layer_name == "RandomTranslation" else []), seed=0)
    theirs = np.asarray(layer.get_random_transformation(batch)[key]).reshape(len(batch), -1)
    mine = ImageAugmenter(**{**ONLY, param: value}).random_transformation(batch, 0)[ours]
    mine = mine.reshape(len(batch), -1)[:, -theirs.shape[1]:]
    span = theirs.max() - theirs.min()
    assert span > 0
    np.testing.assert_allclose([mine.min(), mine.max()], [theirs.min(), theirs.max()],
                               atol=0.01 * span)
    np.testing.assert_allclose(mine.mean(), theirs.mean(), atol=0.05 * span)


@pytest.mark.keras
def test_to_keras_layers_are_keras_own_layers_with_the_same_factors(keras, photos):
    aug = ImageAugmenter(flip="horizontal_and_vertical", rotation=(-0.1, 0.2), zoom=0.15,
                         translation=0.05, contrast=0.3, brightness=0.1, fill_mode="nearest",
                         interpolation="nearest", random_state=0)
    seq = aug.to_keras_layers()
    assert isinstance(seq, keras.Sequential)
    kinds = [type(layer) for layer in seq.layers]
    assert kinds == [keras.layers.RandomFlip, keras.layers.RandomTranslation,
                     keras.layers.RandomRotation, keras.layers.RandomZoom,
                     keras.layers.RandomContrast, keras.layers.RandomBrightness]
    flip, trans, rot, zoom, contrast, bright = seq.layers
    assert flip.mode == "horizontal_and_vertical"
    assert (trans.height_lower, trans.width_upper) == (-0.05, 0.05)
    assert rot.factor == (-0.1, 0.2) and rot.fill_mode == "nearest"
    assert (zoom.height_lower, zoom.height_upper, zoom.width_factor) == (-0.15, 0.15, None)
    assert zoom.interpolation == "nearest"
    assert contrast.factor == (0, 0.3) and bright.factor == (-0.1, 0.1)
    # training only: the identity at inference, augmenting in training
    x = photos.astype(np.float32)
    np.testing.assert_array_equal(np.asarray(seq(x, training=False)), x)
    assert np.abs(np.asarray(seq(x, training=True)) - x).mean() > 1.0


@pytest.mark.keras
def test_to_keras_places_the_augmenter_where_keras_applies_it_training_only(keras, photos):
    imblearn_pipeline = pytest.importorskip("imblearn.pipeline")
    from sklearn.linear_model import LogisticRegression

    from skprep import KerasFeatureExtractor, KerasModeNormalizer, supported_steps, to_keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((HEIGHT, WIDTH, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    backbone = keras.Model(inputs, keras.layers.Conv2D(6, 3, strides=2, activation="tanh")(x))
    pipe = imblearn_pipeline.Pipeline([
        ("augment", ImageAugmenter(n_views=2, random_state=0)),
        ("normalizer", KerasModeNormalizer("tf")),
        ("extractor", KerasFeatureExtractor(backbone, pooling="avg")),
        ("head", LogisticRegression(C=100.0, max_iter=2000)),
    ]).fit(photos, np.arange(len(photos)) % 2)
    assert "ImageAugmenter" in supported_steps()
    model = to_keras(pipe)
    augment = model.get_layer("augment")  # the step's name, right after the input cast
    assert isinstance(augment, keras.Sequential) and model.layers.index(augment) == 2
    assert [type(layer).__name__ for layer in augment.layers] == [
        "RandomFlip", "RandomTranslation", "RandomRotation", "RandomZoom", "RandomContrast",
        "RandomBrightness"]
    expected = pipe.predict_proba(photos)  # the sampler skipped
    np.testing.assert_allclose(model.predict(photos, verbose=0), expected, atol=1e-4)
    np.testing.assert_allclose(np.asarray(model(photos, training=False)), expected, atol=1e-4)
    # augmentation runs in training (and, as for any Keras model holding these layers,
    # in a bare model(x) call, whose training flag defaults to the layers' True)
    trained = np.asarray(model(photos, training=True))
    assert np.abs(trained - expected).max() > 1e-3


def test_to_keras_layers_refuses_crop():
    with pytest.raises(UnsupportedStepError):
        ImageAugmenter(crop=(8, 8)).to_keras_layers()


# Keras' own numeric cases (keras/src/layers/preprocessing/image_preprocessing/*_test.py),
# on a 5x5 ramp, through skprep's public API, in both data formats

RAMP = np.arange(25, dtype=np.float32).reshape(5, 5)
KERAS_CASES = {
    # test_random_rotation_correctness: factor (0.5, 0.5) is half a turn
    "rotation": (dict(rotation=(0.5, 0.5)), None, RAMP[::-1, ::-1]),
    # test_random_zoom_in_correctness: both factors (-0.5, -0.5), constant fill
    "zoom_in": (dict(zoom=(-0.5, -0.5), fill_mode="constant"), None,
                6.0 + 2.5 * np.arange(5)[:, None] + 0.5 * np.arange(5)),
    # test_random_translation_up_numeric_reflect / _constant: 0.2 * 5 = 1 pixel up
    "up_reflect": (dict(fill_mode="reflect"), {"translation": [[0.0, -1.0]]},
                   np.vstack([RAMP[1:], RAMP[4:]])),
    "up_constant": (dict(fill_mode="constant"), {"translation": [[0.0, -1.0]]},
                    np.vstack([RAMP[1:], np.zeros((1, 5))])),
    # test_random_zoom_out_correctness: height 1.5, width 1.8, constant fill (OpenCV
    # resamples on a 1/32 pixel grid: 0.05 here, on a ramp of slope 5)
    "zoom_out": (dict(fill_mode="constant"), {"zoom": [[1.8, 1.5]]},
                 np.pad([[2.7, 4.5, 6.3], [10.2, 12.0, 13.8], [17.7, 19.5, 21.3]], 1)),
}


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("case", list(KERAS_CASES))
def test_keras_numeric_cases(case, data_format):
    params, transformation, expected = KERAS_CASES[case]
    shape = (1, 5, 5, 1) if data_format == "channels_last" else (1, 1, 5, 5)
    aug = _only(**params, data_format=data_format)
    image = RAMP.reshape(shape)
    if transformation is None:  # drawn: these factors leave no randomness
        out = aug.fit_resample(image)[0][1:]
    else:
        out = aug.apply(image, transformation)
    atol = 0.05 if case == "zoom_out" else 1e-5
    np.testing.assert_allclose(out.reshape(5, 5), expected, atol=atol)


# ---------------------------------------------------------------- the sampler


def test_fit_resample_keeps_originals_and_orders_views_per_image(photos):
    y = np.arange(len(photos)) % 3
    aug = ImageAugmenter(n_views=3, random_state=0)
    before = photos.copy()
    X_res, y_res = aug.fit_resample(photos, y)
    np.testing.assert_array_equal(photos, before)  # the input is not modified
    assert X_res.shape == (len(photos) * 4, HEIGHT, WIDTH, 3) and X_res.dtype == np.uint8
    np.testing.assert_array_equal(X_res[::4], photos)
    np.testing.assert_array_equal(y_res, np.repeat(y, 4))
    views = X_res.reshape(len(photos), 4, HEIGHT, WIDTH, 3)[:, 1:]
    assert (np.abs(views.astype(int) - photos[:, None]).mean(axis=(2, 3, 4)) > 1).all()
    assert aug.input_shape_ == (HEIGHT, WIDTH, 3)


def test_a_view_is_reproduced_from_the_public_api(photos):
    aug = ImageAugmenter(n_views=2, random_state=42, crop=(30, 40))
    X_res, _ = aug.fit_resample(photos, None)
    i = 5
    rng = np.random.default_rng(np.random.SeedSequence(aug.seed_, spawn_key=(i,)))
    copies = np.repeat(photos[i:i + 1], 2, axis=0)
    t = aug.random_transformation(copies, rng)
    np.testing.assert_array_equal(aug.apply(copies, t), X_res[i * 3 + 1:i * 3 + 3])


def test_views_do_not_depend_on_threads_or_batches(photos):
    params = dict(n_views=2, random_state=7, fill_mode="wrap", crop=(36, 50))
    X1, _ = ImageAugmenter(**params, n_jobs=1).fit_resample(photos, None)
    X3, _ = ImageAugmenter(**params, n_jobs=3).fit_resample(photos, None)
    np.testing.assert_array_equal(X1, X3)
    cv2 = pytest.importorskip("cv2")
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # OpenCV's own thread pool
    try:
        X_one, _ = ImageAugmenter(**params, n_jobs=2).fit_resample(photos, None)
    finally:
        cv2.setNumThreads(threads)
    np.testing.assert_array_equal(X_one, X1)
    aug = ImageAugmenter(**params).fit(photos)
    parts = [aug.resample_batch(photos[a:b], start_index=a)[0] for a, b in ((0, 3), (3, 8))]
    np.testing.assert_array_equal(np.concatenate(parts), X1)
    X_other, _ = ImageAugmenter(**{**params, "random_state": 8}).fit_resample(photos, None)
    assert not np.array_equal(X_other, X1)


def test_random_state_none_or_instance_draws_new_views(photos):
    aug = ImageAugmenter(random_state=None)
    assert not np.array_equal(aug.fit_resample(photos)[0], aug.fit_resample(photos)[0])
    rs = np.random.RandomState(0)
    a = ImageAugmenter(random_state=rs).fit_resample(photos)[0]
    b = ImageAugmenter(random_state=rs).fit_resample(photos)[0]
    c = ImageAugmenter(random_state=np.random.RandomState(0)).fit_resample(photos)[0]
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_float_and_channels_first_give_the_same_views(photos):
    params = dict(n_views=1, random_state=3)
    ref = ImageAugmenter(**params).fit_resample(photos)[0]
    as_float = ImageAugmenter(**params).fit_resample(photos.astype(np.float64))[0]
    assert as_float.dtype == np.float32
    assert np.abs(as_float - ref).mean() < 0.5
    first = ImageAugmenter(**params, data_format="channels_first")
    out = first.fit_resample(np.ascontiguousarray(photos.transpose(0, 3, 1, 2)))[0]
    assert np.abs(out.transpose(0, 2, 3, 1).astype(int) - ref).max() <= 1


def test_n_views_zero_returns_the_originals(photos):
    X_res, y_res = ImageAugmenter(n_views=0).fit_resample(photos, np.arange(8))
    np.testing.assert_array_equal(X_res, photos)
    np.testing.assert_array_equal(y_res, np.arange(8))


def test_clone_and_pickle_keep_the_views(photos):
    aug = ImageAugmenter(rotation=(0.0, 0.3), n_views=2, random_state=1)
    X_res = aug.fit_resample(photos)[0]
    np.testing.assert_array_equal(clone(aug).fit_resample(photos)[0], X_res)
    again = pickle.loads(pickle.dumps(aug))
    np.testing.assert_array_equal(again.fit_resample(photos)[0], X_res)


def test_imblearn_pipeline_augments_in_fit_only(photos):
    imblearn_pipeline = pytest.importorskip("imblearn.pipeline")
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import FunctionTransformer

    def flatten(X):
        return X.reshape(len(X), -1).astype(np.float32)

    y = np.arange(len(photos)) % 2
    pipe = imblearn_pipeline.Pipeline([
        ("augment", ImageAugmenter(n_views=2, random_state=0)),
        ("flatten", FunctionTransformer(flatten)),
        ("knn", KNeighborsClassifier(n_neighbors=1)),
    ])
    pipe.fit(photos, y)
    knn = pipe.named_steps["knn"]
    assert knn.n_samples_fit_ == 3 * len(photos)  # fitted on originals + 2 views each
    # predicting skips the sampler: the originals themselves, their own labels
    np.testing.assert_array_equal(pipe.predict(photos), y)
    np.testing.assert_array_equal(pipe.predict(photos),
                                  knn.predict(flatten(photos)))
    assert pipe.score(photos, y) == 1.0


@pytest.mark.keras
def test_make_image_pipeline_augments_in_fit_and_predicts_without(photo_files):
    from sklearn.neighbors import KNeighborsClassifier

    from skprep import StreamingPipeline, make_image_pipeline

    paths = photo_files["png"]
    labels = np.arange(len(paths))
    pipe = make_image_pipeline("mobilenet_v2", head=KNeighborsClassifier(n_neighbors=1),
                               weights=None, input_size=32,
                               augment=ImageAugmenter(random_state=0), augment__n_views=2)
    assert [name for name, _ in pipe.steps] == ["loader", "augment", "normalizer",
                                                "extractor", "head"]
    assert isinstance(pipe, StreamingPipeline)  # the views stream in fit
    pipe.set_params(batch_size=len(paths) // 2)  # streamed: 2+ batches
    pipe.fit(paths, labels)
    assert pipe.named_steps["head"].n_samples_fit_ == 3 * len(paths)
    # predict skips the augmenter: the training images themselves, their own labels
    np.testing.assert_array_equal(pipe.predict(paths), labels)
    features = pipe[:-1].transform(paths)  # a transformer without the sampler's rows
    assert features.shape[0] == len(paths)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "params",
    [
        {"rotation": 1.5}, {"zoom": -1.0}, {"zoom": (0.1, 0.2, 0.3)},
        {"contrast": -0.1}, {"contrast": (0.2, 1.5)}, {"brightness": (0.0, float("nan"))},
        {"crop": (0, 10)}, {"crop": (10.5, 10)}, {"crop": [10]},
    ],
)
def test_bad_factors_are_refused_naming_the_parameter(photos, params):
    with pytest.raises(AugmentationParameterError, match=next(iter(params))):
        ImageAugmenter(**params).fit(photos)
    assert issubclass(AugmentationParameterError, SkprepError)
    assert issubclass(AugmentationParameterError, ValueError)


def test_bad_inputs_are_refused(photos):
    aug = ImageAugmenter()
    with pytest.raises(InputShapeError, match="4-D"):
        aug.fit_resample(photos[0], [0])
    with pytest.raises(InputShapeError, match="dtype"):
        aug.fit_resample(photos.astype(bool), np.zeros(8))
    with pytest.raises(InputShapeError, match="one target per image"):
        aug.fit_resample(photos, np.zeros(3))
    with pytest.raises(InputShapeError, match="angle"):
        aug.apply(photos, {"angle": np.zeros(3)})
    with pytest.raises(AugmentationParameterError, match="shear"):
        aug.apply(photos, {"shear": np.zeros(8)})
    with pytest.raises(ValueError, match="translation"):  # scikit-learn's own check
        ImageAugmenter(translation="a").fit(photos)
    with pytest.raises(ValueError, match="fill_mode"):
        ImageAugmenter(fill_mode="mirror").fit(photos)


# ---------------------------------------------------------------- the example


def test_example_augmentation_improves_the_held_out_score(capsys):
    pytest.importorskip("imblearn")
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "augment.py"
    spec = importlib.util.spec_from_file_location("augment_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    scores = example.main(["--extractor", "thumbnail", "--views", "4"])
    printed = capsys.readouterr().out
    assert "held-out accuracy without augmentation" in printed
    without, with_views = scores.values()
    assert with_views > without + 0.05
