"""make_image_pipeline: the right steps per model, overrides, threads, fresh-process reload."""

from __future__ import annotations

import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from skprep import ImageLoader, KerasFeatureExtractor, KerasModeNormalizer, make_image_pipeline
from skprep.exceptions import UnknownModelError


@pytest.mark.parametrize("name, mode, size", [("resnet50", "caffe", (224, 224)),
                                              ("EfficientNetB1", "none", (240, 240)),
                                              ("densenet121", "torch", (224, 224))])
def test_steps_follow_the_registry(name, mode, size):
    pipe = make_image_pipeline(name, weights=None)
    assert isinstance(pipe, Pipeline)
    assert [step for step, _ in pipe.steps] == ["loader", "normalizer", "extractor"]
    loader, normalizer, extractor = (pipe.named_steps[s] for s in ("loader", "normalizer",
                                                                     "extractor"))
    assert isinstance(loader, ImageLoader) and loader.target_size == size
    assert isinstance(normalizer, KerasModeNormalizer)
    assert normalizer.fit(np.zeros((1, 2, 2, 3), np.uint8)).mode_ == mode
    assert isinstance(extractor, KerasFeatureExtractor)
    assert extractor.input_shape == (*size, 3) and extractor.weights is None


def test_head_input_size_and_overrides():
    head = LogisticRegression()
    pipe = make_image_pipeline("mobilenet_v2", head, weights=None, input_size=(48, 64), n_jobs=2,
                               verbose=1, extractor__pooling="max", head__C=0.5,
                               loader__resize_mode="crop")
    assert pipe.steps[-1] == ("head", head) and head.C == 0.5
    assert pipe.named_steps["loader"].get_params()["target_size"] == (48, 64)
    assert pipe.named_steps["loader"].n_jobs == 2
    assert pipe.named_steps["loader"].resize_mode == "crop"
    ext = pipe.named_steps["extractor"]
    assert (ext.pooling, ext.input_shape, ext.verbose) == ("max", (48, 64, 3), 1)
    assert make_image_pipeline("mobilenet_v2", input_size=96).named_steps[
        "loader"].target_size == (96, 96)


def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match=r"'extractor__poolin' \(did you mean extractor__pooling"):
        make_image_pipeline("mobilenet_v2", extractor__poolin="max")
    with pytest.raises(ValueError, match="step__parameter"):
        make_image_pipeline("mobilenet_v2", pooling="max")
    with pytest.raises(UnknownModelError, match="Did you mean"):
        make_image_pipeline("mobilenet_v9")
    with pytest.raises(ValueError, match="input_size must be"):
        make_image_pipeline("mobilenet_v2", input_size=(0, 3))


# ---------------------------------------------------------------- fitted, with Keras

def _write_images(folder, photos, tag, n_per_photo):
    paths, labels = [], []
    rng = np.random.default_rng(len(tag))
    for label, photo in enumerate(photos):
        for i in range(n_per_photo):
            top, left = rng.integers(0, 200), rng.integers(0, 300)
            crop = photo[top:top + 200, left:left + 300]
            path = folder / f"{tag}_{label}_{i}.png"
            Image.fromarray(crop).save(path)
            paths.append(str(path))
            labels.append(label)
    return paths, np.array(labels)


@pytest.fixture(scope="module")
def images(tmp_path_factory, sample_photos):
    folder = tmp_path_factory.mktemp("pipeline_images")
    train = _write_images(folder, sample_photos, "train", 6)
    new = _write_images(folder, sample_photos, "new", 3)
    return train, new


@pytest.fixture(scope="module")
def fitted_pipeline(images):
    pytest.importorskip("keras")
    (paths, labels), _ = images
    # random weights give features of a tiny scale (~1e-12): standardize them for the head
    head = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    pipe = make_image_pipeline("mobilenet_v2", head, weights=None, input_size=32)
    return pipe.fit(paths, labels)


@pytest.mark.keras
def test_fitted_pipeline_features_and_predictions(fitted_pipeline, images):
    (paths, labels), (new_paths, _) = images
    features = fitted_pipeline[:-1].transform(new_paths)
    assert features.shape == (6, 1280) and features.dtype == np.float32
    manual = fitted_pipeline.named_steps["extractor"].transform(
        fitted_pipeline[:2].transform(new_paths))
    np.testing.assert_array_equal(features, manual)
    assert fitted_pipeline.score(paths, labels) == 1.0


@pytest.mark.keras
def test_predict_from_8_threads_on_a_cold_pipeline(fitted_pipeline, images):
    _, (new_paths, _) = images
    expected_proba = fitted_pipeline.predict_proba(new_paths)
    expected_features = fitted_pipeline[:-1].transform(new_paths)
    cold = pickle.loads(pickle.dumps(fitted_pipeline))
    assert "_runtime" not in cold.named_steps["extractor"].__dict__
    barrier = threading.Barrier(8)

    def work(i):
        barrier.wait()
        if i % 2:
            return "proba", cold.predict_proba(new_paths)
        return "features", cold[:-1].transform(new_paths)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(8)))
    for kind, result in results:
        expected = expected_proba if kind == "proba" else expected_features
        np.testing.assert_array_equal(result, expected)


# The fresh-process reload (joblib.load and skprep.load of a fitted
# make_image_pipeline('mobilenet_v2', weights=None, head=...)) is tested by
# tests/test_quickstart.py, which runs examples/quickstart.py.
