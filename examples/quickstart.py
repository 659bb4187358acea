"""skprep quickstart: a Keras backbone + a scikit-learn head, saved and served elsewhere.

Runs offline in well under a minute on 2 CPU cores, quietly (TensorFlow's start-up
lines are filtered by ``skprep.quiet_tensorflow()``), and gives the same numbers on every
run (``--seed`` seeds the random backbone):

1. makes a small labelled image set offline: random crops (size, position, mirroring,
   brightness) of scikit-learn's two sample photos, "china" and "flower", as PNG files;
2. builds ``make_image_pipeline("mobilenet_v2", head=...)``: ImageLoader -> the model's
   own normalization -> MobileNetV2 features -> StandardScaler + LogisticRegression;
3. reports cross-validated accuracy of the head on the backbone's features;
4. fits on the training images, saves the pipeline twice: ``joblib.dump`` (one file,
   trusted use) and ``skprep.save`` (a safe bundle with a manifest and checksums);
5. reloads both in a *fresh Python process* and predicts held-out images there.

Usage::

    python examples/quickstart.py                    # random weights, offline
    python examples/quickstart.py --weights imagenet # pretrained, if it can download
    python examples/quickstart.py --out photos/      # keep the images and bundles

Without ``--out`` everything is written to a temporary folder, removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import joblib
import numpy as np
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skprep
from skprep.exceptions import WeightsUnavailableError

CLASSES = ("china", "flower")  # the two photos that ship with scikit-learn


def make_crops(folder: Path, n_per_class: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Write ``n_per_class`` random crops of each sample photo (random size, position,
    mirroring and brightness) as PNG files; return their paths and labels."""
    from sklearn.datasets import load_sample_images

    rng = np.random.default_rng(seed)
    photos = load_sample_images().images  # 427x640 RGB, offline
    paths, labels = [], []
    for label, (name, photo) in enumerate(zip(CLASSES, photos, strict=True)):
        for i in range(n_per_class):
            h, w = int(rng.integers(100, 300)), int(rng.integers(100, 400))
            top, left = int(rng.integers(0, 427 - h)), int(rng.integers(0, 640 - w))
            crop = photo[top:top + h, left:left + w].astype(float) * rng.uniform(0.7, 1.3)
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            path = folder / f"{seed}_{name}_{i:02d}.png"
            Image.fromarray(np.clip(crop, 0, 255).astype(np.uint8)).save(path)
            paths.append(str(path))
            labels.append(label)
    return paths, np.array(labels)


def build_pipeline(weights, input_size: int):
    head = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return skprep.make_image_pipeline("mobilenet_v2", head, weights=weights,
                                      input_size=input_size)


RELOAD = """
import json, sys, joblib, skprep
paths = json.load(open(sys.argv[1]))
pipe = joblib.load(sys.argv[2])           # the trusted way: one joblib file
bundle = skprep.load(sys.argv[3])         # the safe way: checked, no pickle
print(json.dumps({"joblib": pipe.predict_proba(paths).tolist(),
                  "bundle": bundle.predict_proba(paths).tolist()}))
"""


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="none", help='"none" (default) or "imagenet"')
    parser.add_argument("--input-size", type=int, default=64)
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random backbone")
    parser.add_argument("--out", default=None,
                        help="folder for images and bundles (default: a temporary one)")
    args = parser.parse_args(argv)
    skprep.quiet_tensorflow()  # first: before anything imports TensorFlow
    import keras

    keras.utils.set_random_seed(args.seed)  # the same random backbone on every run
    if args.out is not None:
        return run(args, Path(args.out))
    with tempfile.TemporaryDirectory(prefix="skprep-quickstart-") as tmp:
        return run(args, Path(tmp))


def run(args: argparse.Namespace, out: Path) -> dict:
    start = time.perf_counter()
    (out / "images").mkdir(parents=True, exist_ok=True)

    train_paths, y_train = make_crops(out / "images", args.per_class, seed=0)
    test_paths, y_test = make_crops(out / "images", 5, seed=1)
    print(f"1. made {len(train_paths)} training and {len(test_paths)} held-out images "
          f"({', '.join(CLASSES)}) in {out / 'images'}")

    weights = None if args.weights.lower() == "none" else args.weights
    pipe = build_pipeline(weights, args.input_size)
    features_step = pipe[:-1]
    try:
        features = features_step.fit_transform(train_paths)
    except WeightsUnavailableError as exc:
        print(f"   could not get weights={weights!r}:\n   {exc}\n"
              "   -> falling back to weights=None (random weights): the pipeline, saving and "
              "reloading work the same; accuracy is lower.")
        weights = None
        pipe = build_pipeline(None, args.input_size)
        features_step = pipe[:-1]
        features = features_step.fit_transform(train_paths)
    print(f"2. pipeline steps: {[name for name, _ in pipe.steps]}; MobileNetV2 "
          f"(weights={weights}) turns each {args.input_size}x{args.input_size} image into "
          f"{features.shape[1]} features")

    # the backbone learns nothing, so cross-validating the head on its features is the
    # same as cross-validating the whole pipeline, without running the backbone 5 times
    head = pipe.named_steps["head"]
    cv = cross_val_score(head, features, y_train, cv=5)
    print(f"3. 5-fold cross-validated accuracy: {cv.mean():.2f} (+/- {cv.std():.2f})")

    head.fit(features, y_train)
    joblib_path = out / "photos.joblib"
    bundle_path = out / "photos.skprep"
    joblib.dump(pipe, joblib_path)
    skprep.save(pipe, bundle_path, metadata={"classes": list(CLASSES), "example": "quickstart"})
    manifest = skprep.read_manifest(bundle_path)
    print(f"4. saved {joblib_path.name} ({joblib_path.stat().st_size / 1e6:.1f} MB) and "
          f"{bundle_path.name} ({bundle_path.stat().st_size / 1e6:.1f} MB; members "
          f"{sorted(manifest['members'])})")

    paths_file = out / "held_out.json"
    paths_file.write_text(json.dumps(test_paths))
    # the fresh process imports the same skprep as this one
    here_skprep = str(Path(skprep.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([here_skprep, os.environ.get(
        "PYTHONPATH", "")]), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(RELOAD), str(paths_file), str(joblib_path),
         str(bundle_path)], capture_output=True, text=True, env=env, check=True)
    served = json.loads(result.stdout.strip().splitlines()[-1])
    here = pipe.predict_proba(test_paths).tolist()  # JSON floats round-trip exactly
    same = served["joblib"] == here and served["bundle"] == here
    accuracy = float(np.mean(np.argmax(served["bundle"], axis=1) == y_test))
    print(f"5. a fresh Python process reloaded both files and predicted {len(test_paths)} "
          f"held-out images: accuracy {accuracy:.2f}; probabilities identical to this process: "
          f"{same}")
    elapsed = time.perf_counter() - start
    kept = f"; files in {out}" if args.out is not None else ""
    print(f"done in {elapsed:.0f} s{kept}")
    return {"cv_accuracy": float(cv.mean()), "held_out_accuracy": accuracy,
            "identical": same, "weights": weights, "seconds": elapsed, "out": str(out)}


if __name__ == "__main__":
    summary = main()
    sys.exit(0 if summary["identical"] else 1)
