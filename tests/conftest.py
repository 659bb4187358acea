"""Shared fixtures: real photos from scikit-learn, written to disk by the tests."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def sample_photos() -> list[np.ndarray]:
    """The two real photos that ship with scikit-learn (427x640 RGB uint8)."""
    from sklearn.datasets import load_sample_images

    return list(load_sample_images().images)


@pytest.fixture(scope="session")
def photo_files(tmp_path_factory, sample_photos) -> dict[str, list[str]]:
    """The sample photos saved as JPEG and PNG, plus crops of other aspect ratios."""
    from PIL import Image

    root = tmp_path_factory.mktemp("photos")
    files: dict[str, list[str]] = {"jpeg": [], "png": []}
    crops = [
        (slice(None), slice(None)),
        (slice(0, 300), slice(100, 300)),  # portrait
        (slice(50, 150), slice(0, 640)),  # panorama
    ]
    for i, photo in enumerate(sample_photos):
        for j, (rows, cols) in enumerate(crops):
            img = Image.fromarray(photo[rows, cols])
            for fmt, ext in (("jpeg", "jpg"), ("png", "png")):
                path = root / f"photo{i}_{j}.{ext}"
                img.save(path, quality=90) if fmt == "jpeg" else img.save(path)
                files[fmt].append(str(path))
    return files


@pytest.fixture(scope="session")
def keras():
    """Keras, imported only by the tests that need it."""
    return pytest.importorskip("keras")


@pytest.fixture(params=["opencv", "numpy"])
def lut_backend(request, monkeypatch):
    """Run a test with OpenCV's lookup tables and histograms, and again with NumPy alone."""
    from skprep import _lut

    if request.param == "numpy":
        monkeypatch.setattr(_lut, "opencv", lambda: None)
    else:
        assert _lut.opencv() is not None, "opencv-python-headless is a dependency"
    return request.param
