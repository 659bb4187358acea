"""KerasFeatureExtractor.transform vs model.predict vs a raw compiled call, same backbone.

All three run the same Keras MobileNetV2 (weights=None, global average pooling) on the
same float32 batches, at batch size 1 (single-image latency, what a server sees) and 32.

    python benchmarks/bench_features.py [--quick]

Targets: transform <= 5% slower than the raw compiled call at batch 32, and single-image
latency <= 0.5x model.predict's. Also the cost of the extractor's input check
(``check_input=True``: per-channel min / max / mean of the first batch, once per
extractor) next to one batch of inference. Writes benchmarks/results/features.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _time(fns: dict, repeats: int) -> dict:
    """Median seconds per call of each function, interleaved round-robin so that a
    change of machine load hits every method alike."""
    for fn in fns.values():
        fn()  # warm-up (traces, allocations)
    times: dict = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _input_check_cost(size: int, repeats: int, batch_s: float) -> dict:
    """Median time of the first-batch input check on 32 float32 images (the tf-normalized
    sample photos, what a MobileNetV2 extractor checks), against one batch's inference."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    from skprep import ImageLoader, check_input_statistics, preprocess

    photos = [Image.fromarray(image) for image in load_sample_images().images for _ in range(16)]
    batch = preprocess(ImageLoader((size, size)).fit_transform(photos), "tf")
    assert batch.shape == (32, size, size, 3) and check_input_statistics(batch, "tf") is None
    check_s = _time({"check": lambda: check_input_statistics(batch, "tf")}, repeats)["check"]
    return {"check_s": check_s, "batch_s": batch_s, "vs_one_batch": check_s / batch_s,
            "vs_1000_images": check_s / (batch_s * 1000 / 32)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small input, few repeats (<60 s)")
    args = parser.parse_args(argv)
    size, repeats = (96, 5) if args.quick else (224, 15)

    import keras
    import tensorflow as tf

    from skprep import KerasFeatureExtractor

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(include_top=False, weights=None, pooling="avg",
                                           input_shape=(size, size, 3))
    extractor = KerasFeatureExtractor(model, batch_size=32).fit()
    raw = tf.function(lambda x: model(x, training=False),
                      input_signature=[tf.TensorSpec((None, size, size, 3), tf.float32)])
    rng = np.random.default_rng(0)
    rows = []
    for batch in (1, 32):
        x = rng.uniform(-1, 1, (batch, size, size, 3)).astype(np.float32)
        np.testing.assert_allclose(extractor.transform(x), model.predict(x, verbose=0),
                                   atol=1e-5)
        t = _time({"predict": lambda x=x: model.predict(x, verbose=0),
                   "raw": lambda x=x: raw(x).numpy(),
                   "skprep": lambda x=x: extractor.transform(x)}, repeats)
        t_predict, t_raw, t_skprep = t["predict"], t["raw"], t["skprep"]
        rows.append({"batch": batch, "model.predict_s": t_predict, "raw_compiled_s": t_raw,
                     "skprep_transform_s": t_skprep, "skprep_vs_raw": t_skprep / t_raw,
                     "skprep_vs_predict": t_skprep / t_predict})

    check = _input_check_cost(size, repeats, rows[-1]["skprep_transform_s"])
    print(f"\nMobileNetV2 (weights=None, avg pooling) at {size}x{size}, float32, "
          f"median of {repeats}; {os.cpu_count()} CPUs\n")
    print("| batch | model.predict | raw tf.function | KerasFeatureExtractor | vs raw "
          "| vs predict |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['batch']} | {r['model.predict_s'] * 1e3:.1f} ms | "
              f"{r['raw_compiled_s'] * 1e3:.1f} ms | {r['skprep_transform_s'] * 1e3:.1f} ms | "
              f"{r['skprep_vs_raw']:.2f}x | {r['skprep_vs_predict']:.2f}x |")
    print(f"\nInput check (check_input=True), once, on the first batch of 32: "
          f"{check['check_s'] * 1e3:.2f} ms = {check['vs_one_batch']:.2%} of that batch's "
          f"inference ({check['vs_1000_images']:.3%} of transforming 1000 images)")
    result = {"input_size": size, "repeats": repeats, "quick": args.quick, "rows": rows,
              "input_check": check,
              "versions": {"tensorflow": tf.__version__, "keras": keras.__version__}}
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "features.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
