"""In-model vs external preprocessing: throughput of the same backbone, same images, same run.

* **external**: ``KerasModeNormalizer.transform`` in numpy (uint8 -> float32), then the
  Keras backbone's ``predict`` on the float32 batch (the sklearn pipeline's way);
* **in-model**: ``skprep.to_keras`` of the fitted pipeline (normalizer + extractor), whose
  ``predict`` takes the uint8 batch and normalizes inside the graph.

Both call ``model.predict`` with the same batch size; weights are random (``weights=None``:
no download), which does not change the speed. The outputs are checked to agree.

Usage: ``python benchmarks/bench_in_model.py [--quick]``; writes
``benchmarks/results/in_model.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "in_model.json"


def _timed(fn, repeats: int) -> float:
    """Median wall time of ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _pipelines(keras, model_name: str, size: int):
    """(normalizer, backbone, in-model keras.Model, how the in-model model was built)."""
    from sklearn.pipeline import Pipeline

    from skprep import KerasModeNormalizer, get_model_spec, to_keras

    spec = get_model_spec(model_name)
    backbone = spec.keras_constructor()(
        weights=None, include_top=False, pooling="avg", input_shape=(size, size, 3)
    )
    normalizer = KerasModeNormalizer(model=spec.name)
    try:
        from skprep.features import KerasFeatureExtractor
    except ImportError:
        KerasFeatureExtractor = None  # noqa: N806
    dummy = np.zeros((1, size, size, 3), np.uint8)
    normalizer.fit(dummy)
    if KerasFeatureExtractor is not None:
        extractor = KerasFeatureExtractor(model=backbone, pooling=None).fit(
            normalizer.transform(dummy))
        model = to_keras(Pipeline([("normalizer", normalizer), ("extractor", extractor)]))
        how = "skprep.to_keras(normalizer + KerasFeatureExtractor)"
    else:  # the same graph, composed by hand (before KerasFeatureExtractor exists)
        inputs = keras.Input((size, size, 3), dtype="uint8")
        x = keras.layers.Rescaling(1.0)(inputs)
        model = keras.Model(inputs, backbone(normalizer.to_keras_layer()(x)))
        how = "normalizer.to_keras_layer() + backbone"
    return normalizer, backbone, model, how


def run_case(keras, model_name: str, size: int, n_images: int, batch_size: int,
             repeats: int) -> dict:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n_images, size, size, 3), dtype=np.uint8)
    normalizer, backbone, in_model, how = _pipelines(keras, model_name, size)

    def external():
        return backbone.predict(normalizer.transform(images), batch_size=batch_size, verbose=0)

    def inside():
        return in_model.predict(images, batch_size=batch_size, verbose=0)

    reference = external()
    diff = float(np.abs(reference - inside()).max())
    scale = float(np.abs(reference).max())
    # alternate the two, so drifting machine load hits both the same
    t_ext, t_in = [], []
    for _ in range(repeats):
        t_ext.append(_timed(external, 1))
        t_in.append(_timed(inside, 1))
    ext, ins = statistics.median(t_ext), statistics.median(t_in)
    return {
        "model": model_name, "image_size": size, "n_images": n_images,
        "batch_size": batch_size, "in_model_built_with": how,
        "external_s": ext, "in_model_s": ins,
        "external_img_per_s": n_images / ext, "in_model_img_per_s": n_images / ins,
        "in_model_speedup": ext / ins, "max_abs_diff": diff, "max_abs_output": scale,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (< 60 s)")
    args = parser.parse_args(argv)
    import keras

    if args.quick:
        cases = [("MobileNetV2", 64, 64, 32, 3), ("ResNet50", 64, 32, 32, 3)]
    else:
        cases = [("MobileNetV2", 128, 256, 32, 5), ("ResNet50", 128, 128, 32, 5),
                 ("DenseNet121", 128, 128, 32, 5)]
    rows = [run_case(keras, *case) for case in cases]
    report = {
        "benchmark": "in_model", "quick": args.quick, "keras": keras.__version__,
        "python": platform.python_version(), "machine": platform.machine(),
        "cpu_count": os.cpu_count(), "rows": rows,
    }
    print("| model | size | images | external img/s | in-model img/s | in-model / external "
          "| max abs diff / max abs output |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['model']} | {row['image_size']} | {row['n_images']} | "
              f"{row['external_img_per_s']:.1f} | {row['in_model_img_per_s']:.1f} | "
              f"{row['in_model_speedup']:.2f}x | "
              f"{row['max_abs_diff']:.1e} / {row['max_abs_output']:.1e} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {RESULTS}")
    return report


if __name__ == "__main__":
    main()
