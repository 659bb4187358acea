"""The registry against the real keras.applications modules."""

from __future__ import annotations

import numpy as np
import pytest

from skprep import get_model_spec, list_models
from skprep.exceptions import UnknownModelError

KERAS_APPLICATION_NAMES = {
    "VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2",
    "ResNet152V2", "InceptionV3", "InceptionResNetV2", "Xception", "MobileNet", "MobileNetV2",
    "MobileNetV3Small", "MobileNetV3Large", "DenseNet121", "DenseNet169", "DenseNet201",
    "NASNetMobile", "NASNetLarge", *(f"EfficientNetB{i}" for i in range(8)),
    "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3",
    "EfficientNetV2S", "EfficientNetV2M", "EfficientNetV2L", "ConvNeXtTiny", "ConvNeXtSmall",
    "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge",
}  # fmt: skip


def test_registry_covers_every_keras_application():
    assert {spec.name for spec in list_models()} == KERAS_APPLICATION_NAMES


def test_keras_applications_has_no_model_missing_from_registry(keras):
    exported = {
        name for name in dir(keras.applications)
        if name[0].isupper() and callable(getattr(keras.applications, name))
    }
    assert exported == KERAS_APPLICATION_NAMES


@pytest.mark.parametrize("name", ["ResNet50", "resnet50", "resnet_50", "RESNET-50", " resnet 50"])
def test_lookup_is_forgiving(name):
    assert get_model_spec(name).name == "ResNet50"


def test_unknown_name_lists_close_matches():
    with pytest.raises(UnknownModelError, match=r"Unknown model name 'resnet5'.*ResNet50"):
        get_model_spec("resnet5")
    with pytest.raises(ValueError, match=r"\.\s*skprep.list_models\(\) lists"):
        get_model_spec("definitely-not-a-model")
    with pytest.raises(UnknownModelError, match="Expected a model name"):
        get_model_spec(50)


@pytest.mark.parametrize(
    "name, mode, size, builtin",
    [
        ("VGG16", "caffe", 224, False),
        ("ResNet152", "caffe", 224, False),
        ("ResNet50V2", "tf", 224, False),
        ("InceptionV3", "tf", 299, False),
        ("Xception", "tf", 299, False),
        ("NASNetLarge", "tf", 331, False),
        ("DenseNet201", "torch", 224, False),
        ("EfficientNetB7", "none", 600, True),
        ("EfficientNetV2S", "none", 384, True),
        ("MobileNetV3Small", "none", 224, True),
        ("ConvNeXtXLarge", "none", 224, True),
    ],
)
def test_known_facts(name, mode, size, builtin):
    spec = get_model_spec(name)
    assert (spec.mode, spec.input_size, spec.builtin_preprocessing) == (mode, (size, size), builtin)
    assert spec.input_shape == (size, size, 3)


def test_list_models_by_family():
    assert [s.name for s in list_models("efficientnet_v2")] == [
        "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3",
        "EfficientNetV2S", "EfficientNetV2M", "EfficientNetV2L",
    ]  # fmt: skip
    assert list_models("no such family") == []


def _expected_keras_output(x: np.ndarray, mode: str) -> np.ndarray:
    """What each mode means, written out independently of skprep's implementation."""
    x = x.astype(np.float64)
    if mode == "caffe":
        return x[..., ::-1] - np.array([103.939, 116.779, 123.68])
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        return (x / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    return x


@pytest.mark.keras
@pytest.mark.parametrize("spec", list_models(), ids=lambda s: s.name)
def test_entry_matches_real_keras_module(keras, spec):
    """The constructor exists and the module's preprocess_input does what the mode says."""
    module = spec.keras_module()
    assert callable(spec.keras_constructor())
    assert getattr(keras.applications, spec.name) is spec.keras_constructor()
    x = np.random.default_rng(0).uniform(0, 255, size=(2, 4, 5, 3)).astype(np.float32)
    got = np.asarray(module.preprocess_input(x.copy()))
    np.testing.assert_allclose(got, _expected_keras_output(x, spec.mode), atol=1e-4)


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("name", ["MobileNetV2", "EfficientNetB1", "NASNetMobile", "InceptionV3"])
def test_default_input_size_matches_built_model(keras, name):
    spec = get_model_spec(name)
    model = spec.keras_constructor()(weights=None)
    assert tuple(model.input_shape[1:]) == spec.input_shape
