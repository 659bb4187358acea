"""Files told apart by their first bytes; bundles described without loading them."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
from PIL import Image

from skprep._fileinfo import describe_bundle, describe_estimator, identify

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("fmt", "description"),
    [("JPEG", "a JPEG image"), ("PNG", "a PNG image"), ("GIF", "a GIF image"),
     ("BMP", "a BMP image"), ("WEBP", "a WebP image"), ("TIFF", "a TIFF image")],
)
def test_images_are_images_whatever_their_name(tmp_path, fmt, description):
    path = tmp_path / "model.skprep"  # the name lies
    Image.new("RGB", (8, 8), "red").save(path, format=fmt)
    assert identify(path).kind == "image"
    assert identify(path).description == description


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickles_by_their_protocol_header(tmp_path, protocol):
    path = tmp_path / "x.bin"
    path.write_bytes(pickle.dumps({"a": np.arange(3)}, protocol=protocol))
    assert identify(path).kind == "pickle"
    assert f"protocol {protocol}" in identify(path).description


@pytest.mark.parametrize(("compress", "word"), [(3, "zlib"), (("gzip", 3), "gzip"),
                                                (("bz2", 3), "bzip2"), (("xz", 3), "xz")])
def test_compressed_joblib_files(tmp_path, compress, word):
    path = tmp_path / "x.joblib"
    joblib.dump({"a": np.arange(100)}, path, compress=compress)
    kind = identify(path)
    assert kind.kind == "compressed" and word in kind.description and kind.is_bundle_like


def test_other_files(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("hello")
    with zipfile.ZipFile(tmp_path / "plain.zip", "w") as zf:
        zf.writestr("a.txt", "a")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "something-else"}))
    kinds = {name: identify(tmp_path / name).kind
             for name in ("empty", "notes.txt", "plain.zip", "other.zip", "missing")}
    assert kinds == {"empty": "empty", "notes.txt": "unknown", "plain.zip": "zip",
                     "other.zip": "zip", "missing": "missing"}
    assert identify(tmp_path).kind == "directory"
    assert not any(identify(tmp_path / name).is_bundle_like for name in kinds)


# --------------------------------------------------------------------------- real bundles


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, sample_photos):
    """A fitted loader -> normalizer -> Keras extractor -> head pipeline, and its files."""
    keras = pytest.importorskip("keras")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from skprep import ImageLoader, KerasFeatureExtractor, KerasModeNormalizer

    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    backbone = keras.Model(inputs, keras.layers.Conv2D(4, 3)(inputs))
    pixels = [photo[:64, :64] for photo in sample_photos] * 2
    pipe = Pipeline([
        ("loader", ImageLoader(target_size=(16, 16), background=(0, 0, 0))),
        ("normalizer", KerasModeNormalizer("tf")),
        ("extractor", KerasFeatureExtractor(backbone, pooling="max")),
        ("head", LogisticRegression(C=3.5)),
    ]).fit([Image.fromarray(p) for p in pixels], [0, 1, 0, 1])
    folder = tmp_path_factory.mktemp("fileinfo")
    return pipe, folder


@pytest.mark.keras
def test_a_joblib_pipeline_with_a_keras_model_is_a_pickle_not_a_zip(fitted):
    pipe, folder = fitted
    path = folder / "pipe.joblib"
    joblib.dump(pipe, path)
    assert zipfile.is_zipfile(path)  # the embedded .keras bytes fool zipfile
    assert identify(path).kind == "pickle"
    keras_path = folder / "backbone.keras"
    pipe.named_steps["extractor"].get_model().save(keras_path)
    assert identify(keras_path).kind == "keras"
    weights = folder / "backbone.weights.h5"
    pipe.named_steps["extractor"].get_model().save_weights(weights)
    assert identify(weights).kind == "hdf5"


def _json_params(step) -> dict:
    return json.loads(json.dumps({k: list(v) if isinstance(v, tuple) else v
                                  for k, v in step.get_params(deep=False).items()}))


@pytest.mark.keras
def test_bundle_described_from_its_manifest_and_skops_tree(fitted):
    import skprep

    pipe, folder = fitted
    path = folder / "pipe.skprep"
    skprep.save(pipe, path, metadata={"run": 7})
    assert identify(path).kind == "bundle"
    info = describe_bundle(path)
    manifest = skprep.read_manifest(path)
    for key in ("format_version", "serialization", "created", "versions", "metadata",
                "keras_models"):
        assert info[key] == manifest[key]
    assert info["checksum"].startswith("ok") and info["metadata"] == {"run": 7}
    assert [(s["name"], s["class"]) for s in info["steps"]] == [
        ("loader", "ImageLoader"), ("normalizer", "KerasModeNormalizer"),
        ("extractor", "KerasFeatureExtractor"), ("head", "LogisticRegression")]
    for described, (_, step) in zip(info["steps"], pipe.steps, strict=True):
        expected = _json_params(step) if described["name"] != "extractor" else None
        if expected is not None:
            assert described["params"] == expected, described["name"]
    extractor = info["steps"][2]["params"]
    assert extractor["model"] == "<Keras model: bundle member models/0.keras>"
    assert extractor["pooling"] == "max" and info["steps"][3]["params"]["C"] == 3.5
    assert describe_estimator(pipe)[3]["params"]["C"] == 3.5
    assert describe_estimator(pipe)[0]["params"]["background"] == [0, 0, 0]


@pytest.mark.keras
def test_describing_a_bundle_imports_neither_tensorflow_nor_sklearn(fitted):
    import skprep

    pipe, folder = fitted
    path = folder / "quick.skprep"
    skprep.save(pipe, path)
    code = ("import sys, json; from skprep._fileinfo import describe_bundle; "
            f"info = describe_bundle({str(path)!r}); "
            "print(json.dumps([info['checksum'][:2], len(info['steps']), "
            "sorted(m for m in ('tensorflow', 'keras', 'sklearn', 'skops') "
            "if m in sys.modules)]))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=60, check=True).stdout
    assert json.loads(out) == ["ok", 4, []]


@pytest.mark.keras
def test_damaged_bundles(fitted):
    import skprep

    pipe, folder = fitted
    path = folder / "damaged.skprep"
    skprep.save(pipe, path)
    with zipfile.ZipFile(path) as zf:
        model_member = zf.getinfo("models/0.keras")
    data = bytearray(path.read_bytes())
    start = (model_member.header_offset + 30 + len(model_member.filename.encode())
             + len(model_member.extra))
    data[start + model_member.file_size // 2] ^= 0xFF
    altered = folder / "altered.skprep"
    altered.write_bytes(bytes(data))
    info = describe_bundle(altered)
    assert info["checksum"].startswith("FAILED") and "models/0.keras" in info["checksum"]
    assert len(info["steps"]) == 4  # the payload itself is intact: still described
    truncated = folder / "truncated.skprep"
    truncated.write_bytes(path.read_bytes()[: len(data) // 2])
    assert identify(truncated).kind == "damaged" and identify(truncated).is_bundle_like
    assert not zipfile.is_zipfile(io.BytesIO(truncated.read_bytes()))
