"""The package as a whole: a light import, a Pipeline with a classifier, a reload elsewhere."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import skprep
from skprep import DatasetStatsStandardizer, ImageLoader, KerasModeNormalizer


def test_import_does_not_import_heavy_frameworks():
    code = (
        "import sys, skprep; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'torch', 'jax', 'dask') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_api():
    for name in skprep.__all__:
        assert getattr(skprep, name) is not None
    assert skprep.__version__.count(".") == 2
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        skprep.nope  # noqa: B018


def flatten(batch: np.ndarray) -> np.ndarray:
    """Module-level (picklable) flattening for the test pipelines."""
    return batch.reshape(len(batch), -1)


def _labelled_files(photo_files):
    paths = photo_files["jpeg"] + photo_files["png"]
    labels = [int("photo1" in p) for p in paths]  # which of the two photos
    return paths, np.array(labels)


@pytest.mark.parametrize("normalizer", [KerasModeNormalizer(model="resnet50"),
                                        DatasetStatsStandardizer(input_scale=1 / 255)],
                         ids=["keras-mode", "dataset-stats"])
def test_pipeline_ending_in_classifier_survives_joblib(tmp_path, photo_files, normalizer):
    paths, labels = _labelled_files(photo_files)
    pipe = make_pipeline(ImageLoader(target_size=(16, 16)), normalizer,
                         FunctionTransformer(flatten), LogisticRegression(max_iter=500))
    pipe.fit(paths, labels)
    assert pipe.score(paths, labels) == 1.0
    joblib.dump(pipe, tmp_path / "pipe.joblib")
    loaded = joblib.load(tmp_path / "pipe.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(paths), pipe.predict_proba(paths))


def test_fresh_process_reload_gives_identical_predictions(tmp_path, photo_files):
    paths, labels = _labelled_files(photo_files)
    pipe = make_pipeline(ImageLoader(target_size=(16, 16)), KerasModeNormalizer(mode="torch"),
                         DatasetStatsStandardizer()).fit(paths, labels)
    joblib.dump(pipe, tmp_path / "pipe.joblib")
    np.save(tmp_path / "expected.npy", pipe.transform(paths))
    script = textwrap.dedent(
        f"""
        import sys, joblib, numpy as np
        pipe = joblib.load({str(tmp_path / "pipe.joblib")!r})
        got = pipe.transform({paths!r})
        expected = np.load({str(tmp_path / "expected.npy")!r})
        assert np.array_equal(got, expected), np.abs(got - expected).max()
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"

