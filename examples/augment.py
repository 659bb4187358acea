"""Augmentation for a small labelled set: a frozen extractor, a head with and without views.

Eight classes, each a place in scikit-learn's two sample photos; 3 training tiles per
class, taken almost at the same spot. The held-out tiles are shifted by up to 10 pixels
and half of them mirrored: what a camera gives you later. A frozen MobileNetV2
(``weights=None``: random, untrained, so it runs offline) gives the features; a logistic
regression head is fitted on them twice, without and with :class:`~skprep.ImageAugmenter`
in front (imbalanced-learn's Pipeline augments in ``fit``, never in ``predict``).

    python examples/augment.py [--views 8] [--size 64] [--extractor thumbnail]

Runs offline in well under a minute on two cores (``--extractor thumbnail``, a 12x12
pixel thumbnail as the feature, in seconds without TensorFlow).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_sample_images
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skprep import ImageAugmenter

# (photo, centre row, centre column) of each class's place
PLACES = [(0, 140, 200), (0, 250, 420), (0, 330, 150), (0, 120, 520),
          (1, 200, 300), (1, 330, 420), (1, 100, 150), (1, 300, 120)]


def make_tiles(n_per_class: int, size: int, max_shift: int, p_mirror: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``size`` x ``size`` tiles around each place, shifted and mirrored at random."""
    photos = load_sample_images().images
    tiles, labels = [], []
    for label, (photo, row, col) in enumerate(PLACES):
        for _ in range(n_per_class):
            dy, dx = rng.integers(-max_shift, max_shift + 1, size=2)
            top, left = row - size // 2 + dy, col - size // 2 + dx
            tile = photos[photo][top:top + size, left:left + size]
            tiles.append(tile[:, ::-1] if rng.random() < p_mirror else tile)
            labels.append(label)
    return np.stack(tiles), np.array(labels)


def frozen_extractor(kind: str, size: int):
    """A feature step whose ``fit`` learns nothing: the same features for both heads."""
    if kind == "thumbnail":
        from PIL import Image

        def thumbnails(X):
            small = [np.asarray(Image.fromarray(x).resize((12, 12), Image.BILINEAR)) for x in X]
            return np.stack(small).reshape(len(X), -1).astype(np.float32)

        return FunctionTransformer(thumbnails)
    import keras
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import make_pipeline

    from skprep import KerasFeatureExtractor, KerasModeNormalizer

    keras.utils.set_random_seed(0)
    extractor = make_pipeline(
        KerasModeNormalizer(model="mobilenet_v2"),
        KerasFeatureExtractor("mobilenet_v2", weights=None, input_shape=(size, size, 3)),
    )
    return FrozenEstimator(extractor.fit(np.zeros((1, size, size, 3), np.uint8)))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=8, help="augmented views per image")
    parser.add_argument("--size", type=int, default=64, help="tile size in pixels")
    parser.add_argument("--extractor", choices=["mobilenet_v2", "thumbnail"],
                        default="mobilenet_v2")
    args = parser.parse_args(argv)
    from imblearn.pipeline import Pipeline

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    X_train, y_train = make_tiles(3, args.size, max_shift=2, p_mirror=0.0, rng=rng)
    X_test, y_test = make_tiles(30, args.size, max_shift=10, p_mirror=0.5, rng=rng)
    print(f"{len(X_train)} training tiles, {len(X_test)} held-out tiles (shifted <= 10 px, "
          f"half mirrored), {len(PLACES)} classes, {args.extractor} features")
    features = frozen_extractor(args.extractor, args.size)
    augmenter = ImageAugmenter(flip="horizontal", translation=0.1, rotation=0.03, zoom=0.1,
                               contrast=None, brightness=None, n_views=args.views,
                               random_state=0, n_jobs=-1)
    scores = {}
    for name, steps in (("without augmentation", []),
                        (f"with ImageAugmenter({args.views} views)", [("augment", augmenter)])):
        pipe = Pipeline([*steps, ("features", features), ("scale", StandardScaler()),
                         ("head", LogisticRegression(C=0.1, max_iter=1000))])
        pipe.fit(X_train, y_train)
        scores[name] = float(pipe.score(X_test, y_test))
        print(f"held-out accuracy {name}: {scores[name]:.3f}")
    print(f"({time.perf_counter() - start:.1f} s)")
    return scores


if __name__ == "__main__":
    main()
