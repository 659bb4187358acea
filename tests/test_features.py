"""KerasFeatureExtractor against the real Keras models: parity, pickling, safety, threads."""

from __future__ import annotations

import io
import pickle
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

pytest.importorskip("keras")

import keras  # noqa: E402

from skprep import KerasFeatureExtractor, preprocess  # noqa: E402
from skprep import features as features_module  # noqa: E402
from skprep.exceptions import (  # noqa: E402
    InputShapeError,
    UnsafeModelError,
    WeightsUnavailableError,
)
from skprep.normalize import mode_affine  # noqa: E402

pytestmark = pytest.mark.keras


def _tiny_model(name="tiny"):
    """Two conv layers on 16x16 RGB, spatial output (N, 12, 12, 6)."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="c1")(inp)
    x = keras.layers.Conv2D(6, 3, name="c2")(x)
    return keras.Model(inp, x, name=name)


@pytest.fixture(scope="module")
def tiny():
    return _tiny_model()


@pytest.fixture(scope="module")
def batch():
    return np.random.default_rng(0).uniform(-1, 1, (10, 16, 16, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def fitted(tiny):
    return KerasFeatureExtractor(tiny, batch_size=4).fit()


class _NoKerasUnpickler(pickle.Unpickler):
    """Records every global a pickle refers to."""

    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.globals = []

    def find_class(self, module, name):
        self.globals.append(f"{module}.{name}")
        return super().find_class(module, name)


def _globals_of(data: bytes) -> list[str]:
    unpickler = _NoKerasUnpickler(data)
    unpickler.load()
    return unpickler.globals


@pytest.mark.parametrize(
    "pooling, reduce",
    [
        ("avg", lambda y: y.mean(axis=(1, 2))),
        ("max", lambda y: y.max(axis=(1, 2))),
        ("flatten", lambda y: y.reshape(len(y), -1)),
        (None, lambda y: y.reshape(len(y), -1)),
    ],
)
def test_matches_model_predict(tiny, batch, pooling, reduce):
    ext = KerasFeatureExtractor(tiny, pooling=pooling, batch_size=3).fit(batch)
    out = ext.transform(batch)
    expected = reduce(tiny.predict(batch, verbose=0))
    assert out.dtype == np.float32 and out.shape == (10, ext.n_features_out_)
    np.testing.assert_allclose(out, expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(out, ext.get_model().predict(batch, verbose=0).reshape(10, -1),
                               atol=1e-5, rtol=0)
    assert ext.input_shape_ == (16, 16, 3)
    assert ext.output_shape_ == {"avg": (6,), "max": (6,), "flatten": (864,)}.get(pooling,
                                                                                (12, 12, 6))
    assert ext.model_name_ is None and ext.preprocessing_mode_ is None


def test_uint8_input_and_batch_size_do_not_change_features(fitted, tiny):
    pixels = np.random.default_rng(1).integers(0, 256, (7, 16, 16, 3), dtype=np.uint8)
    one_batch = clone(fitted).set_params(batch_size=100).fit().transform(pixels)
    np.testing.assert_allclose(fitted.transform(pixels), one_batch, atol=1e-5, rtol=0)
    np.testing.assert_allclose(one_batch, tiny.predict(pixels.astype(np.float32), verbose=0)
                               .mean(axis=(1, 2)), atol=1e-4, rtol=1e-6)
    assert fitted.transform(pixels[:0]).shape == (0, 6)


def test_feature_names_are_stable(fitted):
    names = fitted.get_feature_names_out()
    assert list(names) == [f"tiny_global_average_pooling2d_{i}" for i in range(6)]


def test_intermediate_layer_also_inside_a_nested_model(tiny, batch):
    c1 = keras.Model(tiny.inputs, tiny.get_layer("c1").output)
    expected = c1.predict(batch, verbose=0).mean(axis=(1, 2))
    by_name = KerasFeatureExtractor(tiny, layer="c1").fit().transform(batch)
    by_index = KerasFeatureExtractor(tiny, layer=1).fit().transform(batch)
    np.testing.assert_allclose(by_name, expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(by_index, expected, atol=1e-5, rtol=0)

    inp = keras.Input((16, 16, 3))
    outer = keras.Model(inp, keras.layers.Dense(2)(tiny(inp)), name="outer")
    nested = KerasFeatureExtractor(outer, layer="c1").fit().transform(batch)
    np.testing.assert_allclose(nested, expected, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="layer='nope' is not a layer"):
        KerasFeatureExtractor(outer, layer="nope").fit()


def test_registry_model_matches_keras_applications(tmp_path):
    base = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3))
    weights = tmp_path / "mobilenet_v2_notop.weights.h5"
    base.save_weights(weights)
    raw = np.random.default_rng(2).integers(0, 256, (5, 32, 32, 3)).astype(np.float32)
    normalized = keras.applications.mobilenet_v2.preprocess_input(raw.copy())
    expected = keras.ops.convert_to_numpy(base(normalized, training=False)).mean(axis=(1, 2))
    # the model's own preprocessing inside: raw 0-255 pixels in, Keras' features out
    ext = KerasFeatureExtractor("MobileNet_V2", weights=weights, input_shape=(32, 32, 3),
                                include_preprocessing=True).fit()
    np.testing.assert_allclose(ext.transform(raw), expected, atol=1e-5, rtol=0)
    assert (ext.model_name_, ext.preprocessing_mode_, ext.n_features_out_) == ("MobileNetV2",
                                                                               "tf", 1280)
    # without it, the same model takes normalized input (skprep.preprocess == Keras')
    inner = ext.get_model().layers[-1]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(inner(preprocess(raw, "tf"), training=False)), expected,
        atol=1e-5, rtol=0)


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_preprocessing_layer_equals_keras_mode(mode):
    raw = np.random.default_rng(3).integers(0, 256, (2, 4, 4, 3)).astype(np.float32)
    kernel, bias = mode_affine(mode)
    layer = keras.layers.Dense(3)
    layer.build((None, 4, 4, 3))
    layer.set_weights([kernel, bias])
    out = keras.ops.convert_to_numpy(layer(raw))
    np.testing.assert_allclose(out, preprocess(raw, mode), atol=1e-5, rtol=1e-6)


def test_pickle_holds_keras_bytes_not_keras_objects(fitted, batch):
    data = pickle.dumps(fitted)
    modules = _globals_of(data)
    assert not [g for g in modules if g.startswith(("keras", "tensorflow"))], modules
    assert "skprep._keras.KerasModelBlob" in modules
    loaded = pickle.loads(data)
    assert "_runtime" not in loaded.__dict__  # rebuilt lazily
    np.testing.assert_array_equal(loaded.transform(batch), fitted.transform(batch))
    # the model parameter (a keras.Model) became bytes too; a clone refits from them
    refit = clone(loaded).fit()
    np.testing.assert_allclose(refit.transform(batch), fitted.transform(batch), atol=1e-6)


def test_lambda_model_needs_explicit_opt_in(batch):
    inp = keras.Input((16, 16, 3))
    model = keras.Model(inp, keras.layers.Lambda(lambda t: t * 2.0)(inp))
    ext = KerasFeatureExtractor(model).fit()
    expected = ext.transform(batch)
    np.testing.assert_allclose(expected, 2 * batch.mean(axis=(1, 2)), atol=1e-6)
    loaded = pickle.loads(pickle.dumps(ext))
    with pytest.raises(UnsafeModelError, match="safe_mode=False"):
        loaded.transform(batch)
    trusted = pickle.loads(pickle.dumps(ext.set_params(safe_mode=False)))
    np.testing.assert_allclose(trusted.transform(batch), expected, atol=1e-6)


def test_model_file_path(tiny, batch, tmp_path):
    path = tmp_path / "tiny.keras"
    tiny.save(path)
    ext = KerasFeatureExtractor(str(path), pooling="max").fit()
    np.testing.assert_allclose(ext.transform(batch),
                               tiny.predict(batch, verbose=0).max(axis=(1, 2)), atol=1e-5)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        KerasFeatureExtractor(str(tmp_path / "missing.keras")).fit()


def test_cold_extractor_from_8_threads_builds_once(fitted, batch, monkeypatch):
    import skprep

    expected = fitted.transform(batch)
    cold = pickle.loads(pickle.dumps(fitted))
    skprep.clear_model_cache()  # else the copy finds the model an earlier test built
    builds = []
    original = features_module._Runtime

    def counting(*args, **kwargs):
        builds.append(threading.get_ident())
        return original(*args, **kwargs)

    monkeypatch.setattr(features_module, "_Runtime", counting)
    barrier = threading.Barrier(8)

    def work(_):
        barrier.wait()
        return cold.transform(batch)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(8)))
    assert len(builds) == 1
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_verbose_shows_progress(fitted, batch, capsys):
    clone(fitted).set_params(verbose=2, batch_size=4).fit().transform(batch)
    assert "KerasFeatureExtractor" in capsys.readouterr().err
    fitted.transform(batch)
    assert capsys.readouterr().err == ""


def test_errors_name_the_problem_and_the_fix(fitted, tiny, tmp_path):
    with pytest.raises(NotFittedError):
        KerasFeatureExtractor(tiny).transform(np.zeros((1, 16, 16, 3)))
    with pytest.raises(InputShapeError, match=r"ImageLoader\(target_size=\(16, 16\)\)"):
        fitted.transform(np.zeros((1, 32, 32, 3)))
    with pytest.raises(ValueError, match="include_preprocessing=True needs a registry"):
        KerasFeatureExtractor(tiny, include_preprocessing=True).fit()
    with pytest.raises(WeightsUnavailableError, match="no such file"):
        KerasFeatureExtractor("mobilenet_v2", weights=str(tmp_path / "none.h5")).fit()
    with pytest.raises(InputShapeError, match="does not match the model's input shape"):
        KerasFeatureExtractor(tiny, input_shape=(32, 32, 3)).fit()
    with pytest.raises(ValueError, match="pooling"):
        KerasFeatureExtractor(tiny, pooling="mean").fit()


def test_imagenet_download_failure_says_what_to_do(monkeypatch):
    from pathlib import Path

    cached = Path.home() / ".keras" / "models" / (
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5")
    if cached.exists():
        pytest.skip("the ImageNet weights are in the Keras cache: no download happens")

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    ext = KerasFeatureExtractor("mobilenet_v2", weights="imagenet", input_shape=(96, 96, 3))
    with pytest.raises(WeightsUnavailableError, match=r"weights=<path to the MobileNetV2") as err:
        ext.fit()
    assert "models" in str(err.value) and isinstance(err.value, OSError)


def test_an_extractor_saved_before_check_input_existed_loads_with_its_default():
    """Bundles and pickles from skprep 0.1 hold no ``check_input``: they get True."""
    state = KerasFeatureExtractor("mobilenet_v2", weights=None).__getstate__()
    del state["check_input"]
    old = KerasFeatureExtractor.__new__(KerasFeatureExtractor)
    old.__setstate__(state)
    assert old.get_params()["check_input"] is True
    assert clone(old).check_input is True


# ----------------------------------------------------------------- random_state (issue 13)

def _digest(extractor) -> str:
    import hashlib

    h = hashlib.sha256()
    for w in extractor.get_model().get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()


def _seeded_extractor(seed):
    return KerasFeatureExtractor("mobilenet_v2", weights=None, input_shape=(32, 32, 3),
                                 random_state=seed)


@pytest.fixture(scope="module")
def seeded():
    return _seeded_extractor(7).fit()


def test_random_state_gives_one_network_across_fits_clones_and_threads(seeded):
    import random

    py_state, np_state = random.getstate(), np.random.get_state()[1].copy()
    again = clone(seeded).fit()
    assert random.getstate() == py_state  # no lasting change to the caller's streams
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert _digest(again) == _digest(seeded)
    with ThreadPoolExecutor(2) as pool:
        digests = list(pool.map(lambda _: _digest(clone(seeded).fit()), range(2)))
    assert digests == [_digest(seeded)] * 2
    x = np.random.default_rng(0).uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(again.transform(x), seeded.transform(x))
    other = _seeded_extractor(8).fit()
    assert _digest(other) != _digest(seeded)
    # random_state=None is Keras' own unseeded initialization; within one process, the
    # model cache shares the network it built among same-parameter refits and clones
    from skprep import clear_model_cache

    clear_model_cache()
    first = _digest(_seeded_extractor(None).fit())
    clear_model_cache()
    assert _digest(_seeded_extractor(None).fit()) != first


def test_random_state_gives_the_same_network_in_a_fresh_process(seeded):
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "from skprep import KerasFeatureExtractor\n"
        "import hashlib, numpy as np\n"
        "e = KerasFeatureExtractor('mobilenet_v2', weights=None, input_shape=(32, 32, 3),"
        " random_state=7).fit()\n"
        "h = hashlib.sha256()\n"
        "for w in e.get_model().get_weights(): h.update(np.ascontiguousarray(w).tobytes())\n"
        "print(h.hexdigest())\n"
    )
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, env={**__import__("os").environ, "PYTHONPATH": root},
                         check=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == _digest(seeded)


def test_feature_names_name_the_model_and_the_layer(seeded, tiny):
    names = seeded.get_feature_names_out()
    assert names[0] == "mobilenetv2_global_average_pooling2d_0" and len(names) == 1280
    assert list(KerasFeatureExtractor(tiny, layer="c1", pooling="max").fit()
                .get_feature_names_out()) == [f"tiny_global_max_pooling2d_{i}" for i in range(4)]
    flat = KerasFeatureExtractor(tiny, pooling=None).fit().get_feature_names_out()
    assert flat[0] == "tiny_c2_0" and len(flat) == 12 * 12 * 6
