"""skprep.save / skprep.load: manifest, checksums, version skew, refusing pickle and code."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import pickle
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import skprep
from skprep import ImageLoader, KerasFeatureExtractor, KerasModeNormalizer
from skprep.exceptions import (
    BundleError,
    BundleIntegrityError,
    BundleVersionWarning,
    UnsafeModelError,
)
from skprep.persistence import find_keras_extractors


class Payload:
    """Unpickling this creates a marker file: the side effect a malicious file would have."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_plain_pickle_and_joblib_files_are_refused_without_side_effect(tmp_path):
    marker = tmp_path / "payload-ran"
    joblib.dump(Payload(marker), tmp_path / "evil.joblib")
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(Payload(marker)))
    for name in ("evil.joblib", "evil.pkl"):
        with pytest.raises(BundleError, match="allow_pickle=True"):
            skprep.load(tmp_path / name)
    skprep.save(Payload(marker), tmp_path / "evil.skprep", format="pickle")
    with pytest.raises(BundleError, match="pickle payload"):
        skprep.load(tmp_path / "evil.skprep")
    assert not marker.exists()
    # the user who trusts the file can still load it (and then the payload runs)
    skprep.load(tmp_path / "evil.pkl", allow_pickle=True).close()
    assert marker.exists()


def test_untrusted_types_are_listed_and_refused(tmp_path):
    # a function is code: not trusted, even inside a trusted scikit-learn class
    pipe = Pipeline([("f", FunctionTransformer(os.system)), ("s", StandardScaler())])
    skprep.save(pipe, tmp_path / "fn.skprep")
    with pytest.raises(BundleError, match=r"not trusted: \['(posix|nt)\.system'\]"):
        skprep.load(tmp_path / "fn.skprep")
    # a function the user chooses to trust
    pipe = Pipeline([("f", FunctionTransformer(math.sqrt)), ("s", StandardScaler())])
    skprep.save(pipe, tmp_path / "sqrt.skprep")
    with pytest.raises(BundleError, match=r"trusted=\['math.sqrt'\]"):
        skprep.load(tmp_path / "sqrt.skprep")
    loaded = skprep.load(tmp_path / "sqrt.skprep", trusted=["math.sqrt"])
    assert loaded.named_steps["f"].func is math.sqrt


@pytest.mark.parametrize("make, unsafe", [
    (lambda: __import__("sklearn.tree", fromlist=["x"]).DecisionTreeClassifier(max_depth=2),
     "sklearn.tree._tree.Tree"),
    (lambda: __import__("sklearn.ensemble", fromlist=["x"]).HistGradientBoostingClassifier(
        max_iter=3), "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"),
    (lambda: __import__("sklearn.neighbors", fromlist=["x"]).KNeighborsClassifier(
        algorithm="kd_tree"), "sklearn.neighbors._kd_tree.KDTree"),
    (lambda: __import__("sklearn.neighbors", fromlist=["x"]).KNeighborsClassifier(
        algorithm="ball_tree"), "sklearn.neighbors._ball_tree.BallTree"),
])
def test_tree_node_storage_is_refused_unless_trusted(tmp_path, make, unsafe):
    """Trees whose raw indices a crafted file can point out of bounds (scikit-learn reads
    them unchecked): skprep's "classes of scikit-learn" rule must not trust them."""
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    model = make().fit(X, y)
    try:
        path = skprep.save(model, tmp_path / "tree.skprep")
    except BundleError as exc:  # skops 0.11 with NumPy < 1.25 cannot write a Generator
        assert "seed_seq" in str(exc)
        pytest.skip(f"this skops cannot write the model: {exc}")
    with pytest.raises(BundleError, match=rf"not trusted: \['{unsafe}'\].*out of bounds"):
        skprep.load(path)
    loaded = skprep.load(path, trusted=[unsafe])
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("output_mode", ["int", "multi_hot", "count", "tf_idf"])
def test_fitted_text_vectorizer_roundtrip(tmp_path, output_mode):
    """Its token lookup (bytes keys, which skops cannot write) is rebuilt on load."""
    docs = ["the cat sat", "a dog ran", "the dog sat on the cat"]
    vec = skprep.TextVectorizer(max_tokens=20, output_mode=output_mode).fit(docs)
    path = skprep.save(vec, tmp_path / "vec.skprep")
    queries = docs + ["zebra cat"]
    def dense(a):
        return a.toarray() if hasattr(a, "toarray") else np.asarray(a)

    expected = dense(vec.transform(queries))  # the saved estimator is left whole
    np.testing.assert_array_equal(dense(skprep.load(path).transform(queries)), expected)
    np.testing.assert_array_equal(dense(pickle.loads(pickle.dumps(vec)).transform(queries)),
                                  expected)


def test_what_skops_cannot_write_is_a_bundle_error(tmp_path):
    def numbers():  # a generator: skops has no way to write one
        yield 1

    path = tmp_path / "gen.skprep"
    try:
        skprep.save({"numbers": numbers()}, path)
    except BundleError as exc:
        assert "skops cannot write this dict (TypeError" in str(exc)
        assert 'format="pickle"' in str(exc) and not path.exists()
    else:  # skops 0.11 writes it as a plain object, which loading refuses
        with pytest.raises(BundleError, match=r"not trusted: \['builtins.generator'\]"):
            skprep.load(path)


def test_sklearn_only_roundtrip_and_manifest(tmp_path):
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = (X[:, 0] > 0).astype(int)
    pipe = Pipeline([("s", StandardScaler()), ("lr", LogisticRegression())]).fit(X, y)
    path = skprep.save(pipe, tmp_path / "lr.skprep", metadata={"owner": "me", "n": [1, 2]})
    loaded = skprep.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    manifest = skprep.read_manifest(path)
    assert manifest["format"] == "skprep-bundle" and manifest["format_version"] == 1
    assert manifest["metadata"] == {"owner": "me", "n": [1, 2]}
    assert manifest["payload"] == "estimator.skops" and manifest["keras_models"] == []
    assert {"skprep", "scikit-learn", "keras", "numpy", "python"} <= set(manifest["versions"])
    assert manifest["versions"]["skprep"] == skprep.__version__
    created = dt.datetime.fromisoformat(manifest["created"])
    assert created.utcoffset() == dt.timedelta(0)
    with zipfile.ZipFile(path) as zf:
        import hashlib

        for name, info in manifest["members"].items():
            assert hashlib.sha256(zf.read(name)).hexdigest() == info["sha256"]
    with pytest.raises(BundleError, match="JSON-serializable"):
        skprep.save(pipe, tmp_path / "x.skprep", metadata={"a": object()})


# ---------------------------------------------------------------- with a Keras model

@pytest.fixture(scope="module")
def keras_pipeline(tmp_path_factory, sample_photos):
    keras = pytest.importorskip("keras")
    from PIL import Image

    keras.utils.set_random_seed(1)
    inp = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu")(inp)
    model = keras.Model(inp, keras.layers.GlobalAveragePooling2D()(x))
    folder = tmp_path_factory.mktemp("bundle_images")
    paths, labels = [], []
    for label, photo in enumerate(sample_photos):
        for i in range(4):
            path = folder / f"{label}_{i}.png"
            Image.fromarray(photo[i * 60:i * 60 + 150, i * 80:i * 80 + 200]).save(path)
            paths.append(str(path))
            labels.append(label)
    pipe = Pipeline([("loader", ImageLoader(target_size=(16, 16))),
                     ("normalizer", KerasModeNormalizer(mode="tf")),
                     ("extractor", KerasFeatureExtractor(model)),
                     ("head", LogisticRegression(max_iter=500))])
    return pipe.fit(paths, labels), paths


def _rewrite(src, dst, change):
    """Copy a zip, letting ``change(name, data)`` return new data (or None to drop it)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = change(name, zin.read(name))
            if data is not None:
                zout.writestr(name, data)


@pytest.mark.keras
def test_keras_pipeline_roundtrip_model_stored_once(keras_pipeline, tmp_path):
    pipe, paths = keras_pipeline
    path = skprep.save(pipe, tmp_path / "pipe.skprep")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    # the extractor's model parameter *is* its fitted model: one member for both
    assert sorted(names) == ["estimator.skops", "manifest.json", "models/0.keras"]
    manifest = skprep.read_manifest(path)
    assert manifest["keras_models"] == [{"path": "extractor", "class": "KerasFeatureExtractor",
                                         "member": "models/0.keras"}]
    assert [p for p, _ in find_keras_extractors(pipe)] == ["extractor"]
    loaded = skprep.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(paths), pipe.predict_proba(paths))
    pickled = skprep.save(pipe, tmp_path / "pipe-pickle.skprep", format="pickle")
    again = skprep.load(pickled, allow_pickle=True)
    np.testing.assert_array_equal(again.predict_proba(paths), pipe.predict_proba(paths))


@pytest.mark.keras
def test_altered_truncated_or_missing_members_are_detected(keras_pipeline, tmp_path):
    pipe, _ = keras_pipeline
    path = skprep.save(pipe, tmp_path / "pipe.skprep")
    raw = bytearray(Path(path).read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("models/0.keras")
    # flip one byte inside the stored model member
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    flipped = bytearray(raw)
    flipped[start + info.compress_size // 2] ^= 0xFF
    (tmp_path / "flipped.skprep").write_bytes(bytes(flipped))
    with pytest.raises(BundleIntegrityError, match="models/0.keras"):
        skprep.load(tmp_path / "flipped.skprep")
    # a consistent zip whose member changed: only the sha256 notices
    _rewrite(path, tmp_path / "altered.skprep",
             lambda n, d: d[:-1] + bytes([d[-1] ^ 1]) if n == "estimator.skops" else d)
    with pytest.raises(BundleIntegrityError, match="'estimator.skops' .* was altered"):
        skprep.load(tmp_path / "altered.skprep")
    _rewrite(path, tmp_path / "missing.skprep", lambda n, d: None if n.startswith("models/") else d)
    with pytest.raises(BundleIntegrityError, match="'models/0.keras' is missing"):
        skprep.load(tmp_path / "missing.skprep")
    (tmp_path / "truncated.skprep").write_bytes(bytes(raw[: len(raw) // 2]))
    with pytest.raises(BundleIntegrityError, match="truncated"):
        skprep.load(tmp_path / "truncated.skprep")


@pytest.mark.keras
def test_version_skew_warns_or_raises_when_strict(keras_pipeline, tmp_path):
    pipe, paths = keras_pipeline
    path = skprep.save(pipe, tmp_path / "pipe.skprep")

    def older(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["versions"]["scikit-learn"] = "1.0.0"
        return json.dumps(manifest)

    _rewrite(path, tmp_path / "old.skprep", older)
    with pytest.warns(BundleVersionWarning, match=r"scikit-learn 1\.0\.0 \(now "):
        loaded = skprep.load(tmp_path / "old.skprep")
    np.testing.assert_array_equal(loaded.predict(paths), pipe.predict(paths))
    with pytest.raises(BundleError, match="strict=True"):
        skprep.load(tmp_path / "old.skprep", strict=True)


@pytest.mark.keras
def test_lambda_model_is_refused_in_safe_mode(tmp_path):
    keras = pytest.importorskip("keras")
    inp = keras.Input((4, 4, 3))
    model = keras.Model(inp, keras.layers.Lambda(lambda t: t + 1.0)(inp))
    ext = KerasFeatureExtractor(model).fit()
    path = skprep.save(ext, tmp_path / "lambda.skprep")
    with pytest.raises(UnsafeModelError, match="models/0.keras"):
        skprep.load(path)
    with pytest.raises(UnsafeModelError):
        skprep.load(skprep.save(ext, tmp_path / "lambda-pickle.skprep", format="pickle"),
                    allow_pickle=True)


def test_not_a_bundle(tmp_path):
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("a.txt", "hello")
    with pytest.raises(BundleError, match="without manifest.json"):
        skprep.read_manifest(tmp_path / "other.zip")
    with pytest.raises(BundleError, match="does not exist"):
        skprep.load(tmp_path / "nope.skprep")
    with pytest.raises(ValueError, match="format must be"):
        skprep.save(StandardScaler(), tmp_path / "x", format="json")


def test_forged_type_names_never_import_test_or_experimental_modules(tmp_path):
    import sys

    from bundle_craft import Entry, build_zip, manifest_for, read_members

    path = skprep.save(StandardScaler().fit([[0.0], [1.0]]), tmp_path / "s.skprep")
    members = read_members(Path(path).read_bytes())
    manifest = json.loads(members.pop("manifest.json"))
    inner = read_members(members["estimator.skops"])
    for module in ("sklearn.experimental.enable_halving_search_cv", "sklearn.tests.test_base",
                   "numpy.testing._private.utils", "skprep.conftest"):
        sys.modules.pop(module, None)
        schema = json.loads(inner["schema.json"])
        schema["__module__"] = module
        payload = build_zip([Entry(n, json.dumps(schema).encode() if n == "schema.json" else d)
                             for n, d in inner.items()])
        forged = {"estimator.skops": payload}
        (tmp_path / "f.skprep").write_bytes(build_zip(
            [Entry("manifest.json", json.dumps(manifest_for(manifest, forged)).encode()),
             Entry("estimator.skops", payload)]))
        with pytest.raises(BundleError, match=rf"not trusted: \['{module}\.StandardScaler'\]"):
            skprep.load(tmp_path / "f.skprep")
        assert module not in sys.modules
