"""Load real photos, apply a model's exact Keras preprocessing, and fit your own statistics.

Runs offline in a second: the photos are the two that ship with scikit-learn.

    python examples/normalize_photos.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from PIL import Image
from sklearn.datasets import load_sample_images

from skprep import DatasetStatsStandardizer, ImageLoader, KerasModeNormalizer, get_model_spec


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="skprep-example-") as tmp:  # removed at the end
        run(Path(tmp))


def run(folder: Path) -> None:
    paths = []
    for i, photo in enumerate(load_sample_images().images):
        path = folder / f"photo{i}.jpg"
        Image.fromarray(photo).save(path, quality=92)
        paths.append(path)

    spec = get_model_spec("resnet50")
    loader = ImageLoader(target_size=spec.input_size, n_jobs=-1)
    batch = loader.fit_transform(paths)
    print(f"loaded {len(paths)} photos -> {batch.shape} {batch.dtype}")

    normalizer = KerasModeNormalizer(model=spec.name).fit(batch)
    x = normalizer.transform(batch)
    print(f"{spec.name} uses mode {normalizer.mode_!r}: output range "
          f"[{x.min():.1f}, {x.max():.1f}] (caffe mode does not scale to [-1, 1])")

    scaler = DatasetStatsStandardizer(input_scale=1 / 255)
    for image in batch:  # streaming: one batch at a time
        scaler.partial_fit(image[None])
    print(f"per-channel mean of these photos: {scaler.mean_.round(3)}, "
          f"std: {scaler.scale_.round(3)}")


if __name__ == "__main__":
    main()
