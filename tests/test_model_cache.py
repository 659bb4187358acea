"""The process-wide cache of built models: one build per key, aliases, LRU bound, threads."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from skprep._model_cache import CacheInfo, ModelCache, file_token


class Built:
    """Stands for a built model: a distinct object per build."""

    def __init__(self, name):
        self.name = name


def _builder(counter, name):
    def build():
        counter.append(name)
        return Built(name)

    return build


def test_one_build_per_key_and_the_same_object_back():
    cache, built = ModelCache(4), []
    first = cache.get_or_build(("mobilenet_v2", (96, 96, 3)), _builder(built, "a"))
    again = cache.get_or_build(("mobilenet_v2", (96, 96, 3)), _builder(built, "a"))
    other = cache.get_or_build(("mobilenet_v2", (64, 64, 3)), _builder(built, "b"))
    assert again is first and other is not first
    assert built == ["a", "b"]
    assert cache.info() == CacheInfo(hits=1, misses=2, size=2, maxsize=4)


def test_no_key_means_no_caching():
    cache, built = ModelCache(4), []
    one = cache.get_or_build(None, _builder(built, "x"))
    two = cache.get_or_build(None, _builder(built, "x"))
    assert one is not two and built == ["x", "x"] and cache.info().size == 0


def test_a_second_key_finds_the_same_entry_and_goes_with_it():
    cache, built = ModelCache(1), []
    value = cache.get_or_build("build-key", _builder(built, "a"))
    cache.put(("sha256", "abc", True), value)  # e.g. its .keras bytes, once serialized
    assert cache.get(("sha256", "abc", True)) is value
    assert cache.info().size == 1  # one model, two keys
    cache.get_or_build("other", _builder(built, "b"))  # evicts the first entry, both keys
    assert cache.get("build-key") is None and cache.get(("sha256", "abc", True)) is None


def test_least_recently_used_goes_first():
    cache, built = ModelCache(2), []
    a = cache.get_or_build("a", _builder(built, "a"))
    cache.get_or_build("b", _builder(built, "b"))
    assert cache.get("a") is a  # "b" is now the least recently used
    cache.get_or_build("c", _builder(built, "c"))
    assert cache.get("b") is None and cache.get("a") is a
    cache.resize(1)  # "c" is now the least recently used ("a" was just read)
    assert cache.get("c") is None and cache.get("a") is a
    cache.resize(0)
    assert cache.info().size == 0
    cache.get_or_build("d", _builder(built, "d"))
    assert cache.info().size == 0 and built == ["a", "b", "c", "d"]


def test_clear_forgets_entries_and_counters():
    cache = ModelCache(3)
    cache.get_or_build("a", lambda: Built("a"))
    cache.get("a")
    cache.clear()
    assert cache.info() == CacheInfo(0, 0, 0, 3)
    assert cache.get("a") is None


def test_threads_asking_at_once_share_one_build():
    cache, built, results = ModelCache(4), [], []
    start = threading.Barrier(8)

    def slow_build():
        built.append(threading.get_ident())
        time.sleep(0.05)  # long enough for every thread to be waiting on the lock
        return Built("slow")

    def worker():
        start.wait()
        results.append(cache.get_or_build("key", slow_build))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    assert len(results) == 8 and all(value is results[0] for value in results)


def test_file_token_changes_when_the_file_is_rewritten(tmp_path):
    path = tmp_path / "weights.h5"
    path.write_bytes(b"first")
    token = file_token(path)
    assert token == file_token(str(path)) and token[0] == os.path.realpath(path)
    path.write_bytes(b"second, longer")
    assert file_token(path) != token
    link = tmp_path / "link.h5"
    link.symlink_to(path)
    assert file_token(link) == file_token(path)
    with pytest.raises(FileNotFoundError):
        file_token(tmp_path / "missing.h5")


# --------------------------------------------------------------------------- in the extractor


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


@pytest.fixture()
def model_file(tmp_path, keras):
    keras.utils.set_random_seed(3)
    inputs = keras.Input((12, 12, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(5, 3, activation="relu")(inputs))
    path = tmp_path / "tiny.keras"
    model.save(path)
    return path


@pytest.fixture()
def batch():
    return np.random.default_rng(0).uniform(-1, 1, (6, 12, 12, 3)).astype(np.float32)


@pytest.mark.keras
def test_refits_clones_and_copies_share_one_built_model(model_file, batch, keras):
    import pickle

    from sklearn.base import clone

    from skprep import KerasFeatureExtractor
    from skprep._model_cache import MODEL_CACHE

    MODEL_CACHE.clear()
    ext = KerasFeatureExtractor(str(model_file)).fit()
    model, expected = ext.get_model(), ext.transform(batch)
    assert ext.fit(batch).get_model() is model  # refit
    copy = clone(ext).fit()
    assert copy.get_model() is model  # clone + fit
    np.testing.assert_array_equal(copy.transform(batch), expected)
    loaded = pickle.loads(pickle.dumps(ext))  # a joblib / Pipeline(memory=...) copy
    assert loaded.get_model() is model
    np.testing.assert_array_equal(loaded.transform(batch), expected)
    assert MODEL_CACHE.info().size == 1  # one model, under its build and content keys

    other = clone(ext).set_params(pooling="max").fit()  # another graph: another model
    assert other.get_model() is not model
    maps = keras.models.load_model(model_file).predict(batch, verbose=0)
    np.testing.assert_allclose(other.transform(batch), maps.max(axis=(1, 2)), atol=1e-5)
    np.testing.assert_allclose(expected, maps.mean(axis=(1, 2)), atol=1e-5)


@pytest.mark.keras
def test_a_rewritten_model_file_or_a_cleared_cache_builds_again(model_file, batch, keras):
    import skprep
    from skprep import KerasFeatureExtractor

    ext = KerasFeatureExtractor(str(model_file)).fit()
    first = ext.get_model()
    skprep.clear_model_cache()
    assert KerasFeatureExtractor(str(model_file)).fit().get_model() is not first
    inputs = keras.Input((12, 12, 3))
    keras.Model(inputs, keras.layers.Conv2D(7, 3)(inputs)).save(model_file)  # replaced
    assert ext.fit().n_features_out_ == 7
    np.testing.assert_array_equal(ext.transform(batch).shape, (6, 7))


@pytest.mark.keras
def test_random_registry_backbone_is_built_once_per_process(batch):
    from sklearn.base import clone

    from skprep import KerasFeatureExtractor
    from skprep._model_cache import MODEL_CACHE

    ext = KerasFeatureExtractor("mobilenet_v2", weights=None, input_shape=(32, 32, 3))
    images = np.random.default_rng(1).uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    features = ext.fit().transform(images)
    before = MODEL_CACHE.info()
    clones = [clone(ext).fit() for _ in range(3)]
    after = MODEL_CACHE.info()
    assert after.misses == before.misses and after.hits == before.hits + 3
    for copy in clones:  # same random weights: a grid search compares like with like
        np.testing.assert_array_equal(copy.transform(images), features)


@pytest.mark.keras
def test_threads_fitting_clones_at_once_build_once(model_file, batch):
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.base import clone

    from skprep import KerasFeatureExtractor
    from skprep._model_cache import MODEL_CACHE

    MODEL_CACHE.clear()
    template = KerasFeatureExtractor(str(model_file), pooling="max")
    barrier = threading.Barrier(6)

    def work(_):
        barrier.wait()
        return clone(template).fit()

    with ThreadPoolExecutor(6) as pool:
        fitted = list(pool.map(work, range(6)))
    assert MODEL_CACHE.info().misses == 1
    assert all(ext.get_model() is fitted[0].get_model() for ext in fitted)
