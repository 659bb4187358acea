"""A grid search over the head of an image pipeline: no feature caching vs the two recipes.

GridSearchCV over 4 values of the head's ``C`` x 3 folds, on image paths, with
``make_image_pipeline("mobilenet_v2", head=LogisticRegression())`` (random weights, 96 px):

* **no cache**: the search as written; every candidate and fold loads the images and runs
  the backbone again (the model itself is built once: skprep's model cache);
* **memory=**: ``pipe.set_params(memory=...)``, scikit-learn's transformer cache: the
  training folds' features are computed once per fold, the test folds' once per candidate;
* **features once** (the recipe): the backbone is frozen and the normalizer stateless, so
  the features do not depend on the fold; compute them once and search the head on them.

For each: wall time, how many images went through the extractor per image and fold
(target: at most 1), and whether the cross-validation scores equal the uncached search's.

    python benchmarks/bench_grid.py [--quick]

Target (issue 14): the cached search at least 2x faster than the uncached one.
Writes benchmarks/results/grid.json.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np
from _common import machine_info, parse_args, write_results

from skprep import KerasFeatureExtractor, quiet_tensorflow

GRID = {"C": [0.01, 0.1, 1.0, 10.0]}
FOLDS = 3
SIZE = 96


def _images(directory: str, count: int) -> tuple[list[str], np.ndarray]:
    """Random crops of scikit-learn's two sample photos (label: which photo), as JPEGs."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(0)
    paths, labels = [], []
    for i in range(count):
        label = i % 2
        photo = photos[label]
        top, left = rng.integers(0, 200), rng.integers(0, 300)
        path = f"{directory}/img{i:03d}.jpg"
        Image.fromarray(photo[top:top + 200, left:left + 300]).save(path, quality=90)
        paths.append(path)
        labels.append(label)
    return paths, np.asarray(labels)


class CountingExtractor(KerasFeatureExtractor):
    """KerasFeatureExtractor that counts the images it transforms (class-level counter)."""

    images = 0

    def transform(self, X):
        type(self).images += len(X)
        return super().transform(X)


def _pipeline(extractor_cls):
    from sklearn.linear_model import LogisticRegression

    from skprep import make_image_pipeline

    pipe = make_image_pipeline("mobilenet_v2", head=LogisticRegression(max_iter=2000),
                               weights=None, input_size=SIZE)
    return pipe.set_params(extractor=extractor_cls("mobilenet_v2", weights=None,
                                                   input_shape=(SIZE, SIZE, 3)))


def _run(name: str, search_fn, counter, n_images: int) -> dict:
    counter.images = 0
    start = time.perf_counter()
    search = search_fn()
    seconds = time.perf_counter() - start
    return {"setting": name, "seconds": seconds, "search": search,
            "extractor_images_per_image_fold": counter.images / (n_images * FOLDS)}


def main(argv=None) -> dict:
    args = parse_args(argv, __doc__.splitlines()[0], repeats=5)
    quiet_tensorflow()
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    n_images = 30 if args.quick else 90
    cv = StratifiedKFold(FOLDS, shuffle=True, random_state=0)
    counter = CountingExtractor
    head_grid = {f"head__{key}": values for key, values in GRID.items()}
    with tempfile.TemporaryDirectory(prefix="skprep-bench-grid-") as tmp:
        paths, labels = _images(tmp, n_images)
        _pipeline(counter).fit(paths[:2], labels[:2])  # build the model once (model cache)

        def no_cache():
            return GridSearchCV(_pipeline(counter), head_grid, cv=cv).fit(paths, labels)

        def memory():
            with tempfile.TemporaryDirectory(prefix="skprep-bench-memory-") as cache_dir:
                pipe = _pipeline(counter).set_params(memory=cache_dir)
                return GridSearchCV(pipe, head_grid, cv=cv).fit(paths, labels)

        def features_once():
            pipe = _pipeline(counter)
            features = pipe[:-1].fit_transform(paths)       # the backbone runs once per image
            search = GridSearchCV(pipe.named_steps["head"], GRID, cv=cv).fit(features, labels)
            pipe.set_params(head=search.best_estimator_)    # the fitted pipeline, for serving
            search.pipeline_ = pipe
            return search

        rows = [_run("no cache", no_cache, counter, n_images),
                _run("memory=", memory, counter, n_images),
                _run("features once", features_once, counter, n_images)]
        served = rows[2]["search"].pipeline_.predict(paths[:4])
    reference = rows[0]["search"].cv_results_["mean_test_score"]
    for row in rows:
        search = row.pop("search")
        row["speedup_vs_no_cache"] = rows[0]["seconds"] / row["seconds"]
        row["same_scores"] = bool(np.allclose(search.cv_results_["mean_test_score"],
                                              reference, atol=1e-9))
        row["best_C"] = float(next(iter(search.best_params_.values())))
    _report(rows, n_images)
    result = {"machine": machine_info(), "images": n_images, "folds": FOLDS, "grid": GRID,
              "input_size": SIZE, "rows": rows, "served_predictions": served.tolist(),
              "target": "cached search >= 2x faster; <= 1 extractor run per image per fold"}
    write_results("grid", result)
    return result


def _report(rows: list[dict], n_images: int) -> None:
    print(f"\nGridSearchCV, {len(GRID['C'])} values of C x {FOLDS} folds, {n_images} JPEGs, "
          f"MobileNetV2 (weights=None) at {SIZE} px\n")
    print("| setting | seconds | speed-up | extractor runs per image and fold | same scores |")
    print("|---|---:|---:|---:|---|")
    for row in rows:
        print(f"| {row['setting']} | {row['seconds']:.1f} | {row['speedup_vs_no_cache']:.2f}x | "
              f"{row['extractor_images_per_image_fold']:.2f} | "
              f"{'yes' if row['same_scores'] else 'no'} |")


if __name__ == "__main__":
    main()
