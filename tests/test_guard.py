"""check_pipeline and check_input_statistics: every classic mistake is named with its fix,
no correct registry pipeline is flagged, on the real photos that ship with scikit-learn."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skprep import (
    DatasetStatsStandardizer,
    ImageLoader,
    KerasFeatureExtractor,
    KerasModeNormalizer,
    PreprocessingFinding,
    PreprocessingMismatchError,
    PreprocessingMismatchWarning,
    SkprepError,
    SkprepWarning,
    TextVectorizer,
    check_input_statistics,
    check_pipeline,
    list_models,
    make_image_pipeline,
    preprocess,
)
from skprep.guard import _channel_stats, model_spec_of, warn_findings

MODES = ("caffe", "tf", "torch", "none")
FORMATS = ("channels_last", "channels_first")
BUILTIN = [spec.name for spec in list_models() if spec.builtin_preprocessing]
NORMALIZING = [spec for spec in list_models() if not spec.builtin_preprocessing]


def codes(findings):
    return [f.code for f in findings]


def flatten(X):
    return np.asarray(X).reshape(len(X), -1)


@pytest.fixture(scope="module")
def photos(sample_photos) -> np.ndarray:
    """Both sample photos, every 4th pixel: (2, 107, 160, 3) uint8."""
    return np.stack(sample_photos)[:, ::4, ::4].copy()


@pytest.fixture(scope="module")
def images(photos) -> dict[str, np.ndarray]:
    """Natural, flat, dark, black, white and bright images (uint8 RGB)."""
    return {
        "photos": photos,
        "flat": np.full((2, 24, 24, 3), 128, np.uint8),
        "flat-colour": np.broadcast_to(np.array([200, 90, 30], np.uint8), (1, 16, 16, 3)).copy(),
        "dark": photos // 8,
        "black": np.zeros((1, 16, 16, 3), np.uint8),
        "white": np.full((1, 16, 16, 3), 255, np.uint8),
        "bright": (150 + photos.astype(np.uint16) * 105 // 255).astype(np.uint8),
    }


def to_format(x: np.ndarray, data_format: str) -> np.ndarray:
    return x if data_format == "channels_last" else np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def image_steps(pipe: Pipeline, X):
    """Run the steps before the extractor (the batch the extractor would see)."""
    names = [name for name, step in pipe.steps if isinstance(step, KerasFeatureExtractor)]
    index = [name for name, _ in pipe.steps].index(names[0])
    return pipe[:index].fit_transform(X)


# ------------------------------------------------------------------ no false alarm


@pytest.mark.parametrize("spec", list_models(), ids=lambda spec: spec.name)
def test_registry_pipelines_are_clean(spec, photos):
    pipe = make_image_pipeline(spec.name, LogisticRegression())
    assert check_pipeline(pipe) == []
    assert check_pipeline(pipe, raise_on="info") == []
    own = make_pipeline(ImageLoader(spec.input_size), KerasModeNormalizer(spec.mode),
                        KerasFeatureExtractor(spec.name), LogisticRegression())
    assert check_pipeline(own) == []
    inside = make_pipeline(ImageLoader(spec.input_size),
                           KerasFeatureExtractor(spec.name, include_preprocessing=True))
    assert check_pipeline(inside) == []
    # what the normalizer makes of real photos passes the input check for this model
    batch = KerasModeNormalizer(model=spec.name).fit_transform(photos)
    assert check_input_statistics(batch, model=spec.name) is None
    raw = check_input_statistics(photos, model=spec.name)
    assert (raw is None) if spec.builtin_preprocessing else (raw.code == "input-looks-raw")


@pytest.mark.parametrize("kind", ["photos", "flat", "flat-colour", "dark", "black", "white",
                                  "bright"])
@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("mode", MODES)
def test_input_check_silent_on_right_mode(images, kind, mode, data_format):
    x = to_format(images[kind], data_format)
    assert check_input_statistics(preprocess(x, mode, data_format=data_format), mode,
                                  data_format=data_format) is None


@pytest.mark.parametrize("kind", ["photos", "flat", "dark", "black", "white"])
def test_raw_pixels_silent_for_models_that_normalize_inside(images, kind):
    for dtype in (np.uint8, np.float32, np.float64):
        assert check_input_statistics(images[kind].astype(dtype), "none") is None


def test_custom_input_size_is_named_not_warned():
    pipe = make_image_pipeline("resnet50", input_size=64)
    [finding] = check_pipeline(pipe)
    assert (finding.code, finding.severity, finding.steps) == (
        "input-size-differs", "info", ("loader", "extractor"))
    assert "224x224" in finding.message and "64x64" in finding.message
    assert finding.fix == ("target_size=(224, 224) on step 'loader' and input_shape=(224, 224, 3) "
                           "on step 'extractor'")
    assert check_pipeline(pipe, raise_on="warning") == [finding]
    warn_findings([finding], "test")  # info only: no warning (warnings are errors here)


# ------------------------------------------------------------------ normalization mismatches


def test_tf_normalizer_before_resnet50(photos):
    pipe = make_pipeline(ImageLoader((224, 224)), KerasModeNormalizer("tf"),
                         KerasFeatureExtractor("resnet50"), LogisticRegression())
    [finding] = check_pipeline(pipe)
    assert isinstance(finding, PreprocessingFinding)
    assert (finding.code, finding.severity) == ("normalizer-mode-mismatch", "error")
    assert finding.steps == ("kerasmodenormalizer", "kerasfeatureextractor")
    assert "ResNet50 expects caffe mode" in finding.message
    assert finding.fix == ("replace step 'kerasmodenormalizer' with "
                           "KerasModeNormalizer(model='ResNet50')")
    assert finding.message.endswith(f"Fix: {finding.fix}.")
    # the runtime check sees the same mistake in the batch the extractor would get
    seen = check_input_statistics(preprocess(photos, "tf"), model="resnet50")
    assert seen.code == "input-looks-tf"


@pytest.mark.parametrize("model", ["ResNet50", "MobileNetV2", "DenseNet121", "InceptionV3"])
@pytest.mark.parametrize("mode", ["caffe", "tf", "torch", "none"])
def test_every_wrong_mode_is_named(model, mode, photos):
    spec = model_spec_of(model)
    pipe = Pipeline([("loader", ImageLoader(spec.input_size)),
                     ("norm", KerasModeNormalizer(mode)), ("ext", KerasFeatureExtractor(model))])
    found = check_pipeline(pipe)
    if mode == spec.mode:
        assert found == []
        return
    assert codes(found) == ["normalizer-mode-mismatch"]
    assert found[0].fix == f"replace step 'norm' with KerasModeNormalizer(model={spec.name!r})"
    seen = check_input_statistics(preprocess(photos, mode), model=model)
    assert seen is not None and seen.code == f"input-looks-{'raw' if mode == 'none' else mode}"


@pytest.mark.parametrize("model", BUILTIN)
def test_any_normalizer_before_a_model_that_normalizes_inside(model, photos):
    for step in (KerasModeNormalizer("caffe"), KerasModeNormalizer(model="resnet50v2"),
                 KerasModeNormalizer("torch"), DatasetStatsStandardizer()):
        pipe = Pipeline([("loader", ImageLoader(model_spec_of(model).input_size)),
                         ("norm", step), ("ext", KerasFeatureExtractor(model))])
        [finding] = check_pipeline(pipe)
        assert (finding.code, finding.severity, finding.steps) == (
            "normalized-inside-model", "error", ("norm", "ext"))
        assert finding.fix.startswith("remove step 'norm'")
        with pytest.raises(PreprocessingMismatchError) as info:
            check_pipeline(pipe, raise_on="error")
        assert info.value.findings == [finding]
    # the identity normalizer make_image_pipeline puts there is fine
    assert check_pipeline(make_image_pipeline(model)) == []


@pytest.mark.parametrize("model", ["EfficientNetB0", "ConvNeXtTiny", "MobileNetV3Small"])
def test_normalized_input_to_a_model_that_normalizes_inside_is_seen(model, photos):
    for mode in ("caffe", "tf", "torch"):
        seen = check_input_statistics(preprocess(photos, mode), model=model)
        assert seen.code == f"input-looks-{mode}"
        assert seen.fix == "remove the normalizer: feed it raw 0-255 RGB pixels"
    scaled = check_input_statistics(photos / 255.0, model=model)
    assert scaled.code == "input-looks-unit"
    assert scaled.fix == "feed it 0-255 pixels (drop the / 255)"


def test_include_preprocessing_after_a_normalizer(photo_files):
    pipe = make_image_pipeline("resnet50", extractor__include_preprocessing=True)
    [finding] = check_pipeline(pipe)
    assert (finding.code, finding.severity, finding.steps) == (
        "include-preprocessing-after-normalizer", "error", ("normalizer", "extractor"))
    assert finding.fix == ("remove step 'normalizer', or set include_preprocessing=False on "
                           "step 'extractor'")
    # with include_preprocessing the model expects raw pixels: the caffe batch is flagged
    seen = check_input_statistics(image_steps(pipe, photo_files["jpeg"][:2]), "none")
    assert seen.code == "input-looks-caffe"


@pytest.mark.parametrize("model", ["VGG16", "MobileNetV2", "DenseNet121"])
def test_no_normalizer_before_a_caffe_tf_or_torch_model(model, photos):
    spec = model_spec_of(model)
    pipe = make_pipeline(ImageLoader(spec.input_size), KerasFeatureExtractor(model),
                         LogisticRegression())
    [finding] = check_pipeline(pipe)
    assert (finding.code, finding.severity) == ("missing-normalizer", "error")
    assert f"{spec.name} expects {spec.mode} mode" in finding.message
    assert finding.fix == (f"insert KerasModeNormalizer(model={spec.name!r}) before step "
                           "'kerasfeatureextractor' (or set include_preprocessing=True on it)")
    # arrays in (no loader): the input may be normalized already, so a warning only
    [bare] = check_pipeline(make_pipeline(KerasFeatureExtractor(model), LogisticRegression()))
    assert (bare.code, bare.severity) == ("missing-normalizer", "warning")
    # raw pixels reach the model: uint8 and float alike
    for batch in (photos, photos.astype(np.float32)):
        seen = check_input_statistics(batch, model=model)
        assert seen.code == "input-looks-raw"
        assert seen.fix == f"add KerasModeNormalizer(model={spec.name!r}) before the extractor"


def test_vgg_given_pixels_divided_by_255(photo_files):
    scaled = FunctionTransformer(lambda x: x / 255.0)
    pipe = Pipeline([("loader", ImageLoader((224, 224))), ("scale", scaled),
                     ("ext", KerasFeatureExtractor("vgg16"))])
    [finding] = check_pipeline(pipe)  # skprep cannot see into a function of your own
    assert (finding.code, finding.severity, finding.steps) == (
        "unverified-preprocessing", "info", ("scale", "ext"))
    seen = check_input_statistics(image_steps(pipe, photo_files["jpeg"][:2]), model="vgg16")
    assert seen.code == "input-looks-unit"
    assert seen.fix == ("drop the / 255 and add KerasModeNormalizer(model='VGG16') before the "
                        "extractor")


@pytest.mark.parametrize("model,severity", [("ResNet50", "error"), ("Xception", "error"),
                                            ("DenseNet169", "warning")])
def test_standardizer_in_place_of_the_mode(model, severity, photos):
    pipe = Pipeline([("std", DatasetStatsStandardizer(input_scale=1 / 255)),
                     ("ext", KerasFeatureExtractor(model))])
    [finding] = check_pipeline(pipe)
    assert (finding.code, finding.severity, finding.steps) == (
        "standardizer-instead-of-mode", severity, ("std", "ext"))
    assert finding.fix == f"replace step 'std' with KerasModeNormalizer(model={model!r})"
    if severity == "error":  # far from the mode's range: the runtime check sees it too
        standardized = DatasetStatsStandardizer().fit_transform(photos)
        assert check_input_statistics(standardized, model=model) is not None


def test_normalized_twice():
    pipe = Pipeline([("a", KerasModeNormalizer(model="mobilenet_v2")),
                     ("b", KerasModeNormalizer("tf")),
                     ("ext", KerasFeatureExtractor("mobilenetv2"))])
    [finding] = check_pipeline(pipe)
    assert (finding.code, finding.steps) == ("normalized-twice", ("a", "b", "ext"))
    assert finding.fix == "keep one step: KerasModeNormalizer(model='MobileNetV2')"
    pipe.set_params(b=DatasetStatsStandardizer())
    assert codes(check_pipeline(pipe)) == ["standardizer-instead-of-mode", "normalized-twice"]


@pytest.mark.keras
def test_keras_preprocess_input_in_a_function_transformer(keras, photos):
    from keras.applications import resnet

    pipe = Pipeline([("loader", ImageLoader((224, 224))),
                     ("prep", FunctionTransformer(resnet.preprocess_input)),
                     ("ext", KerasFeatureExtractor("resnet101"))])
    assert check_pipeline(pipe) == []
    pipe.set_params(ext=KerasFeatureExtractor("mobilenet_v2"))
    assert codes(check_pipeline(pipe)) == ["normalizer-mode-mismatch"]


# ------------------------------------------------------------------ loader and data format


def test_loader_size_against_the_extractor(photo_files):
    pipe = make_pipeline(ImageLoader((128, 128)), KerasModeNormalizer(model="resnet50"),
                         KerasFeatureExtractor("resnet50"))
    [finding] = check_pipeline(pipe)
    assert (finding.code, finding.severity) == ("input-size-mismatch", "error")
    assert finding.fix == ("set target_size=(224, 224) on step 'imageloader' (or "
                           "input_shape=(128, 128, 3) on step 'kerasfeatureextractor')")
    batch = clone(pipe)[:2].fit_transform(photo_files["jpeg"][:2])
    assert batch.shape[1:] == (128, 128, 3)  # not the (224, 224, 3) the extractor takes
    pipe.set_params(imageloader__target_size=None)
    [finding] = check_pipeline(pipe)
    assert (finding.code, finding.severity) == ("input-size-mismatch", "warning")
    assert finding.fix == "set target_size=(224, 224) on step 'imageloader'"


@pytest.mark.parametrize("color_mode,channels", [("grayscale", 1), ("rgba", 4)])
def test_color_mode_against_the_model_channels(color_mode, channels, photo_files):
    pipe = make_image_pipeline("densenet121", loader__color_mode=color_mode)
    found = check_pipeline(pipe)
    assert codes(found) == ["channels-mismatch"]
    assert found[0].fix == "set color_mode='rgb' on step 'loader'"
    assert f"({channels} channel(s)); DenseNet121 expects 3" in found[0].message
    assert clone(pipe)[:1].fit_transform(photo_files["png"][:1]).shape[-1] == channels


def test_data_format_agreement(photos):
    pipe = make_image_pipeline("inceptionv3", normalizer__data_format="channels_first")
    [finding] = check_pipeline(pipe)
    assert (finding.code, finding.steps) == ("data-format-mismatch", ("normalizer",))
    assert finding.fix == "set data_format='channels_last' on step 'normalizer'"
    no_loader = Pipeline([("norm", KerasModeNormalizer("tf", data_format="channels_first")),
                          ("std", DatasetStatsStandardizer(data_format="channels_last")),
                          ("ext", KerasFeatureExtractor("xception"))])
    found = check_pipeline(no_loader)
    assert [(f.code, f.steps) for f in found if f.code == "data-format-mismatch"] == [
        ("data-format-mismatch", ("std",)), ("data-format-mismatch", ("ext",))]


# ------------------------------------------------------------------ heads, text, nesting


def test_text_step_in_an_image_pipeline():
    pipe = make_pipeline(ImageLoader((224, 224)), KerasModeNormalizer(model="vgg19"),
                         KerasFeatureExtractor("vgg19"), TextVectorizer())
    [finding] = check_pipeline(pipe)
    assert (finding.code, finding.severity, finding.steps[0]) == (
        "text-step-in-image-pipeline", "error", "textvectorizer")
    assert check_pipeline(make_pipeline(TextVectorizer(), LogisticRegression())) == []


def test_nested_pipelines_are_walked():
    pipe = make_pipeline(
        make_pipeline(ImageLoader((224, 224)), KerasModeNormalizer("tf")),
        KerasFeatureExtractor("resnet152"),
        make_pipeline(StandardScaler(), LogisticRegression()),
    )
    [finding] = check_pipeline(pipe)
    assert finding.steps == ("pipeline-1__kerasmodenormalizer", "kerasfeatureextractor")
    assert finding.fix == ("replace step 'pipeline-1__kerasmodenormalizer' with "
                           "KerasModeNormalizer(model='ResNet152')")


def _fitted_pipeline(photo_files, head):
    pipe = Pipeline([("loader", ImageLoader((24, 24))), ("norm", KerasModeNormalizer("tf")),
                     ("flat", FunctionTransformer(flatten)), ("head", head)])
    return pipe.fit(photo_files["jpeg"], [0, 1, 0, 1, 0, 1])


def test_head_not_fitted_after_fit(photo_files):
    pipe = _fitted_pipeline(photo_files, LogisticRegression())
    assert check_pipeline(pipe) == []
    pipe.set_params(head=LogisticRegression(C=0.5))
    [finding] = check_pipeline(pipe)
    assert (finding.code, finding.severity, finding.steps) == (
        "head-not-fitted", "error", ("head",))
    assert finding.fix == "fit the whole pipeline again: pipe.fit(X, y)"
    assert check_pipeline(Pipeline(pipe.steps[:2] + [("head", LogisticRegression())])) != []
    unfitted = Pipeline([("loader", ImageLoader((24, 24))), ("head", LogisticRegression())])
    assert check_pipeline(unfitted) == []  # nothing fitted yet: nothing to say


def test_nested_head_not_fitted(photo_files):
    pipe = _fitted_pipeline(photo_files, make_pipeline(StandardScaler(), LogisticRegression()))
    pipe.set_params(head__logisticregression=LogisticRegression(C=2.0))
    [finding] = check_pipeline(pipe)
    assert (finding.code, finding.steps) == ("head-not-fitted", ("head__logisticregression",))
    pipe.set_params(head__logisticregression=LogisticRegression(),
                    head__standardscaler=StandardScaler())
    assert codes(check_pipeline(pipe)) == ["step-not-fitted", "head-not-fitted"]


# ------------------------------------------------------------------ API


def test_raise_on_and_errors():
    pipe = make_image_pipeline("resnet50", input_size=96)
    assert codes(check_pipeline(pipe, raise_on="warning")) == ["input-size-differs"]
    with pytest.raises(PreprocessingMismatchError) as info:
        check_pipeline(pipe, raise_on="info")
    error = info.value
    assert isinstance(error, SkprepError) and isinstance(error, ValueError)
    assert codes(error.findings) == ["input-size-differs"]
    again = pickle.loads(pickle.dumps(error))
    assert again.findings == error.findings and str(again) == str(error)
    with pytest.raises(ValueError, match="severity"):
        check_pipeline(pipe, raise_on="fatal")
    with pytest.raises(TypeError, match="Pipeline"):
        check_pipeline(KerasFeatureExtractor())


def test_warn_findings():
    pipe = make_pipeline(KerasModeNormalizer("tf"), KerasFeatureExtractor("vgg16"))
    findings = check_pipeline(pipe)
    with pytest.warns(PreprocessingMismatchWarning) as record:
        warn_findings(findings, "my pipeline")
    [warning] = record
    assert issubclass(warning.category, SkprepWarning)
    assert warning.message.findings == findings
    assert str(warning.message).startswith("my pipeline: the preprocessing does not fit")


def test_check_input_statistics_arguments(photos):
    with pytest.raises(ValueError, match="mode"):
        check_input_statistics(photos, "imagenet")
    with pytest.raises(ValueError, match="data_format"):
        check_input_statistics(photos, "tf", data_format="nhwc")
    assert check_input_statistics(np.zeros((0, 8, 8, 3), np.float32), "tf") is None
    found = check_input_statistics(photos * 3.0, "tf")
    assert found.code == "input-looks-unknown"


def test_channel_stats_match_numpy():
    rng = np.random.default_rng(0)
    for shape in [(3, 17, 19, 3), (4, 64, 64, 3), (1, 1, 1, 3), (2, 2048, 3, 3), (2, 9, 9, 1)]:
        for dtype in (np.uint8, np.float32):
            x = (rng.random(shape) * 255).astype(dtype)
            low, high, mean = _channel_stats(x, "channels_last")
            flat = x.reshape(-1, shape[-1])
            np.testing.assert_array_equal(low, flat.min(axis=0))
            np.testing.assert_array_equal(high, flat.max(axis=0))
            np.testing.assert_allclose(mean, flat.mean(axis=0, dtype=np.float64), rtol=1e-5)
            first = _channel_stats(to_format(x, "channels_first"), "channels_first")
            np.testing.assert_allclose(np.array(first), np.array((low, high, mean)), rtol=1e-6)


@pytest.fixture(scope="module")
def mobilenet_backbone(keras):
    """keras.applications.MobileNetV2 at 32x32, random weights: a user's own keras.Model."""
    return keras.applications.MobileNetV2(include_top=False, weights=None,
                                          input_shape=(32, 32, 3), pooling="avg")


@pytest.mark.keras
def test_model_spec_learned_from_a_keras_model_name(keras, mobilenet_backbone):
    backbone = mobilenet_backbone
    assert model_spec_of(backbone).name == "MobileNetV2"
    wrapped = keras.Sequential([keras.Input((32, 32, 3)), backbone, keras.layers.Dense(2)])
    assert model_spec_of(wrapped).name == "MobileNetV2"
    own = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(2, 3)], name="mine")
    assert model_spec_of(own) is None
    pipe = make_pipeline(ImageLoader((32, 32)), KerasModeNormalizer("caffe"),
                         KerasFeatureExtractor(wrapped))
    assert codes(check_pipeline(pipe)) == ["normalizer-mode-mismatch", "input-size-differs"]
    pipe.set_params(kerasfeatureextractor__model=own)
    assert check_pipeline(pipe) == []  # unknown expectation: silent


def test_extractor_expectation_and_layout():
    from skprep.guard import extractor_expectation, layout_of

    assert extractor_expectation("densenet_201") == ("DenseNet201", "torch")
    assert extractor_expectation("ConvNeXtTiny", include_preprocessing=True) == (
        "ConvNeXtTiny", "none")
    assert extractor_expectation("model.keras") == (None, None)
    assert extractor_expectation(object()) == (None, None)
    assert layout_of((224, 224, 3)) == "channels_last"
    assert layout_of((3, 224, 224)) == "channels_first"
    assert layout_of((None, None, 3)) == "channels_last"
    assert layout_of((3, 3, 3)) == "channels_last"
    assert layout_of((128,)) == "channels_last"


def test_warn_on_input_names_the_extractor_and_how_to_silence(photos):
    from skprep.guard import warn_on_input

    with pytest.warns(PreprocessingMismatchWarning) as record:
        warn_on_input(photos, mode="caffe", model="VGG16", who="KerasFeatureExtractor('vgg16')")
    [warning] = record
    text = str(warning.message)
    assert text.startswith("KerasFeatureExtractor('vgg16'): The input looks like raw 0-255")
    assert text.endswith("Silence this check with check_input=False.")
    assert [f.code for f in warning.message.findings] == ["input-looks-raw"]
    # an explicit mode wins over the model's: include_preprocessing=True expects raw pixels
    warn_on_input(photos, mode="none", model="VGG16", who="x")


# ------------------------------------------------------------------ the extractor's guard


@pytest.fixture(scope="module")
def small_photos(photo_files) -> np.ndarray:
    """The six JPEG sample photos and crops at 32x32, uint8."""
    return ImageLoader((32, 32)).fit_transform(photo_files["jpeg"])


def _extractor(model="mobilenet_v2", **params):
    shape = {"input_shape": (32, 32, 3)} if isinstance(model, str) else {}
    return KerasFeatureExtractor(model, weights=None, batch_size=4, **shape, **params).fit()


def _input_warnings(record) -> list:
    return [w for w in record if issubclass(w.category, PreprocessingMismatchWarning)]


@pytest.fixture(scope="module")
def named_tiny(keras) -> bytes:
    """A fitted extractor on a tiny keras.Model of the user's, named like MobileNetV2 (so
    its input is checked against tf mode), pickled: each test unpickles a fresh one whose
    first batch has not been checked yet."""
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3),
                              keras.layers.GlobalAveragePooling2D()], name="mobilenetv2")
    return pickle.dumps(_extractor(model))


@pytest.mark.keras
def test_extractor_warns_once_on_its_first_batch(keras, small_photos):
    import warnings

    ext = _extractor()  # the registry's MobileNetV2 at 32x32
    assert (ext.expected_input_model_, ext.expected_input_mode_) == ("MobileNetV2", "tf")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        first = ext.transform(small_photos)
        ext.transform(small_photos)
    [warning] = _input_warnings(record)
    assert [f.code for f in warning.message.findings] == ["input-looks-raw"]
    assert str(warning.message).startswith("KerasFeatureExtractor('MobileNetV2'): The input "
                                           "looks like raw 0-255 pixels")
    assert "add KerasModeNormalizer(model='MobileNetV2') before the extractor" in str(
        warning.message)
    assert warning.filename == __file__  # points at the caller of transform
    # the check changes nothing: same features, fitted state untouched
    np.testing.assert_array_equal(first, ext.transform(small_photos))


@pytest.mark.keras
def test_extractor_check_right_input_off_and_pickled(named_tiny, small_photos):
    ext = pickle.loads(named_tiny)
    assert (ext.expected_input_model_, ext.expected_input_mode_) == ("MobileNetV2", "tf")
    # the right input is silent (warnings are errors here); so is what comes after it
    ext.transform(KerasModeNormalizer(model="mobilenet_v2").fit_transform(small_photos))
    ext.transform(small_photos)
    # turned off
    pickle.loads(named_tiny).set_params(check_input=False).transform(small_photos)
    # a new process (unpickled) checks its first batch again, and so does a refit
    for fresh in (pickle.loads(named_tiny), pickle.loads(pickle.dumps(ext)), ext.fit()):
        with pytest.warns(PreprocessingMismatchWarning):
            fresh.transform(small_photos / 255.0)


@pytest.mark.keras
def test_extractor_check_is_once_across_threads(named_tiny, small_photos):
    import threading
    import warnings

    ext = pickle.loads(named_tiny)
    start = threading.Barrier(6)

    def run():
        start.wait()
        ext.transform(small_photos)

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=run) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(_input_warnings(record)) == 1


@pytest.mark.keras
def test_extractor_with_include_preprocessing_expects_raw_pixels(keras, small_photos):
    ext = _extractor(include_preprocessing=True)
    assert ext.expected_input_mode_ == "none"
    with pytest.warns(PreprocessingMismatchWarning) as record:
        ext.transform(preprocess(small_photos, "tf"))
    assert [f.code for f in record[0].message.findings] == ["input-looks-tf"]


@pytest.mark.keras
def test_extractor_on_a_users_own_model_is_silent(keras, small_photos):
    own = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3),
                            keras.layers.GlobalAveragePooling2D()], name="mine")
    silent = _extractor(own)
    assert (silent.expected_input_model_, silent.expected_input_mode_) == (None, None)
    silent.transform(small_photos / 255.0)  # unknown expectation: no warning


# ------------------------------------------------------------------ where the checks run


@pytest.mark.keras
def test_load_warns_about_a_saved_mismatch(keras, named_tiny, small_photos, tmp_path):
    import joblib

    import skprep

    pipe = Pipeline([("norm", KerasModeNormalizer("caffe")), ("ext", pickle.loads(named_tiny))])
    with pytest.warns(PreprocessingMismatchWarning) as record:  # the first batch
        pipe.fit_transform(small_photos)
    assert [f.code for f in record[0].message.findings] == ["input-looks-caffe"]
    path = tmp_path / "wrong.skprep"
    skprep.save(pipe, path)
    with pytest.warns(PreprocessingMismatchWarning) as record:
        loaded = skprep.load(path)
    assert [f.code for f in record[0].message.findings] == ["normalizer-mode-mismatch"]
    assert str(record[0].message).startswith(f"skprep.load({str(path)!r}): ")
    assert isinstance(loaded, Pipeline)
    joblib.dump(pipe, tmp_path / "wrong.joblib")
    with pytest.warns(PreprocessingMismatchWarning):
        skprep.load(tmp_path / "wrong.joblib", allow_pickle=True)
    pipe.set_params(norm=KerasModeNormalizer(model="mobilenet_v2")).fit_transform(small_photos)
    skprep.save(pipe, tmp_path / "right.skprep")
    skprep.load(tmp_path / "right.skprep")  # no warning


def _wrong_bundle(named_tiny, small_photos, path):
    import skprep

    pipe = Pipeline([("norm", KerasModeNormalizer("caffe")), ("ext", pickle.loads(named_tiny))])
    with pytest.warns(PreprocessingMismatchWarning):
        pipe.fit_transform(small_photos)
    skprep.save(pipe, path)
    return path


@pytest.mark.keras
def test_cli_info_lists_a_bundles_findings(named_tiny, small_photos, tmp_path, capsys):
    import json

    from skprep.cli import main

    path = str(_wrong_bundle(named_tiny, small_photos, tmp_path / "wrong.skprep"))
    assert main(["info", path]) == 0  # no warning either (warnings are errors here)
    out = capsys.readouterr().out
    assert ("preprocessing:\n  [error] normalizer-mode-mismatch: step 'norm' "
            "(KerasModeNormalizer, mode 'caffe') does not match step 'ext': MobileNetV2 "
            "expects tf mode") in out
    assert main(["info", path, "--json"]) == 0
    [finding] = json.loads(capsys.readouterr().out)["preprocessing"]
    assert (finding["code"], finding["steps"]) == ("normalizer-mode-mismatch", ["norm", "ext"])
    assert finding["fix"] == "replace step 'norm' with KerasModeNormalizer(model='MobileNetV2')"


@pytest.mark.keras
def test_cli_features_runs_the_checks(keras, photo_files, tmp_path, capsys):
    from skprep.cli import main

    out = tmp_path / "f.npz"
    args = ["features", *photo_files["png"][:2], "--model", "mobilenet_v2", "--weights", "none",
            "--input-size", "32", "-o", str(out)]
    assert main([*args, "--mode", "caffe"]) == 0
    err = capsys.readouterr().err
    assert ("skprep: warning: [error] normalizer-mode-mismatch: step 'normalizer' "
            "(KerasModeNormalizer, mode 'caffe') does not match step 'extractor'") in err
    assert np.load(out)["features"].shape == (2, 1280)
    assert main(args) == 0  # the model's own mode: nothing to say
    assert "warning" not in capsys.readouterr().err


def test_augmenter_belongs_before_the_normalizer():
    pytest.importorskip("imblearn")
    from imblearn.pipeline import Pipeline as SamplerPipeline

    from skprep import ImageAugmenter

    right = make_image_pipeline("resnet50", LogisticRegression(), augment=ImageAugmenter())
    assert isinstance(right, Pipeline) and check_pipeline(right) == []
    wrong = SamplerPipeline([("loader", ImageLoader((224, 224))),
                             ("norm", KerasModeNormalizer(model="resnet50")),
                             ("aug", ImageAugmenter(contrast=0.1, brightness=None)),
                             ("ext", KerasFeatureExtractor("resnet50"))])
    [finding] = check_pipeline(wrong)
    assert (finding.code, finding.severity, finding.steps) == (
        "augmenter-after-normalizer", "error", ("norm", "aug"))
    assert finding.fix == "move step 'aug' before step 'norm' (right after the loader)"
    # what the finding says: the normalized photo loses its negative half
    normalized = preprocess(np.stack(load_photos())[:, ::8, ::8], "caffe")
    augmented, _ = ImageAugmenter(contrast=0.1, brightness=None, rotation=None, zoom=None,
                                  translation=None, flip=None, n_views=1,
                                  random_state=0).fit_resample(normalized, [0, 1])
    assert normalized.min() < -100 and augmented[1::2].min() >= 0  # views follow originals
    # geometric operations only: fine anywhere
    wrong.set_params(aug=ImageAugmenter(contrast=None, brightness=None))
    assert check_pipeline(wrong) == []
    wrong.set_params(aug=ImageAugmenter(data_format="channels_first"))
    assert [f.code for f in check_pipeline(wrong)] == ["data-format-mismatch",
                                                      "augmenter-after-normalizer"]
    # an augmenter does not hide a missing normalizer
    no_norm = SamplerPipeline([("loader", ImageLoader((224, 224))), ("aug", ImageAugmenter()),
                               ("ext", KerasFeatureExtractor("densenet121"))])
    assert codes(check_pipeline(no_norm)) == ["missing-normalizer"]


def load_photos():
    from sklearn.datasets import load_sample_images

    return load_sample_images().images


def test_warn_before_fit_leaves_out_what_the_fit_settles(photo_files):
    from skprep.guard import warn_before_fit

    pipe = _fitted_pipeline(photo_files, LogisticRegression())
    pipe.set_params(head=LogisticRegression(C=0.5))
    assert codes(check_pipeline(pipe)) == ["head-not-fitted"]
    warn_before_fit(pipe, "fit")  # nothing to say: the fit settles it
    pipe.set_params(norm=KerasModeNormalizer("tf", data_format="channels_first"))
    with pytest.warns(PreprocessingMismatchWarning) as record:
        warn_before_fit(pipe, "MyPipeline.fit")
    assert [f.code for f in record[0].message.findings] == ["data-format-mismatch"]
    assert str(record[0].message).startswith("MyPipeline.fit: the preprocessing does not fit")


def test_streaming_pipeline_checks_itself_when_fitted(photo_files):
    from skprep import StreamingPipeline

    y = [0, 1, 0, 1, 0, 1]
    pipe = StreamingPipeline([("loader", ImageLoader((24, 24))),
                              ("norm", KerasModeNormalizer("tf", data_format="channels_first")),
                              ("flat", FunctionTransformer(flatten)),
                              ("head", LogisticRegression())], batch_size=4)
    for fit in (pipe.fit, pipe[:-1].fit_transform):
        with pytest.warns(PreprocessingMismatchWarning) as record:
            fit(photo_files["jpeg"], y)
        [warning] = _input_warnings(record)
        assert [f.code for f in warning.message.findings] == ["data-format-mismatch"]
        assert str(warning.message).startswith(f"StreamingPipeline.{fit.__name__}: ")
        assert warning.filename == __file__
    pipe.set_params(norm=KerasModeNormalizer("tf"), head=LogisticRegression(C=2.0))
    pipe.fit(photo_files["jpeg"], y)  # right, and a head replaced before fit: no warning
    assert check_pipeline(pipe) == []


def test_augmented_make_image_pipeline_is_checked_like_any_other():
    """With augment=, the pipeline is a StreamingPipeline too: its fit runs the checks."""
    from skprep import ImageAugmenter, StreamingPipeline

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # building warns nothing: fit does
        pipe = make_image_pipeline("resnet50", augment=ImageAugmenter(),
                                   normalizer__model="vgg16", loader__color_mode="grayscale")
    assert isinstance(pipe, StreamingPipeline)
    assert [f.code for f in check_pipeline(pipe)] == ["channels-mismatch"]


@pytest.mark.keras
def test_make_image_pipeline_fit_reports_a_broken_override(keras, photo_files):
    pipe = make_image_pipeline("mobilenet_v2", LogisticRegression(), weights=None,
                               input_size=32, normalizer__model="resnet50")
    with pytest.warns(PreprocessingMismatchWarning) as record:
        pipe.fit(photo_files["jpeg"], [0, 1, 0, 1, 0, 1])
    found = [f.code for w in _input_warnings(record) for f in w.message.findings]
    # the steps disagree (before fitting), and the first batch shows it
    assert found == ["normalizer-mode-mismatch", "input-looks-caffe"]
