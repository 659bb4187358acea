"""Statistics: scikit-learn ``StandardScaler.partial_fit`` vs ``DatasetStatsStandardizer``.

The same batches of ``(B, 224, 224, 3)`` images are streamed through both:

* reference: ``StandardScaler().partial_fit(batch.reshape(-1, 3))`` per batch (pixels as
  rows, channels as columns: the way to get per-channel statistics with scikit-learn);
* skprep: ``DatasetStatsStandardizer().partial_fit(batch)`` per batch.

For uint8 batches (what ``ImageLoader`` returns) and float32 batches. Reports images/s
(median of >= 5 runs over the whole stream), the speed-up, and the largest relative
difference of the means and variances. Targets: uint8 >= 25x scikit-learn (issue 15),
float32 >= 5x (issue 5).

Then ``transform`` of each uint8 batch to float32 against the equivalent NumPy
expression ``(x.astype(float32) - mean) / std`` (float32 mean and std), with the largest
absolute difference between the two outputs. Target (issue 15): >= 2x NumPy.

Usage: ``python benchmarks/bench_stats.py [--quick]``; writes
``benchmarks/results/stats.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    machine_info,
    machine_line,
    markdown_table,
    measure,
    parse_args,
    target_check,
    write_results,
)

TOPIC = "stats"
SPEEDUP_TARGET = {"uint8": 25.0, "float32": 5.0}
TRANSFORM_TARGET = 2.0


def _relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def _transform_rows(batches_u8: list[np.ndarray], repeats: int) -> list[dict]:
    """uint8 -> float32 ``transform`` against NumPy's ``(x - mean) / std`` in float32."""
    from skprep import DatasetStatsStandardizer

    scaler = DatasetStatsStandardizer().fit(batches_u8[0])
    mean = scaler.mean_.astype(np.float32)
    std = scaler.scale_.astype(np.float32)

    def numpy_way():
        return [(batch.astype(np.float32) - mean) / std for batch in batches_u8]

    def skprep_way():
        return [scaler.transform(batch) for batch in batches_u8]

    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(numpy_way(), skprep_way(), strict=True))
    ref, new = measure(numpy_way, repeats), measure(skprep_way, repeats)
    n_images = sum(len(b) for b in batches_u8)
    speedup = ref["median_s"] / new["median_s"]
    common = {"dtype": "uint8", "batches": f"{len(batches_u8)} x {len(batches_u8[0])}"}
    return [
        {**common, "implementation": "NumPy (x.astype(float32) - mean) / std",
         "images_per_s": n_images / ref["median_s"], "median_ms": ref["median_s"] * 1e3,
         "speedup": 1.0, "times_s": ref["times_s"]},
        {**common, "implementation": "skprep DatasetStatsStandardizer.transform",
         "images_per_s": n_images / new["median_s"], "median_ms": new["median_s"] * 1e3,
         "speedup": speedup, "target": TRANSFORM_TARGET,
         "met": target_check(speedup, TRANSFORM_TARGET), "max_abs_diff": diff,
         "times_s": new["times_s"]},
    ]


def main(argv=None) -> dict:
    args = parse_args(argv, __doc__.splitlines()[0])
    from sklearn.preprocessing import StandardScaler

    from skprep import DatasetStatsStandardizer

    n_batches, batch_size = (3, 8) if args.quick else (8, 32)
    rng = np.random.default_rng(0)
    batches_u8 = [rng.integers(0, 256, size=(batch_size, 224, 224, 3), dtype=np.uint8)
                  for _ in range(n_batches)]
    n_images = n_batches * batch_size
    rows = []
    for dtype in ("uint8", "float32"):
        batches = batches_u8 if dtype == "uint8" else [b.astype(np.float32) for b in batches_u8]

        def sklearn_stream(batches=batches):
            scaler = StandardScaler()
            for batch in batches:
                scaler.partial_fit(batch.reshape(-1, batch.shape[-1]))
            return scaler

        def skprep_stream(batches=batches):
            scaler = DatasetStatsStandardizer()
            for batch in batches:
                scaler.partial_fit(batch)
            return scaler

        theirs, ours = sklearn_stream(), skprep_stream()
        mean_diff = _relative_difference(ours.mean_, theirs.mean_)
        var_diff = _relative_difference(ours.var_, theirs.var_)
        ref = measure(sklearn_stream, args.repeats)
        new = measure(skprep_stream, args.repeats)
        speedup = ref["median_s"] / new["median_s"]
        common = {"dtype": dtype, "batches": f"{n_batches} x {batch_size}"}
        rows.append({**common, "implementation": "scikit-learn StandardScaler.partial_fit",
                     "images_per_s": n_images / ref["median_s"],
                     "median_ms": ref["median_s"] * 1e3, "speedup": 1.0,
                     "times_s": ref["times_s"]})
        rows.append({**common, "implementation": "skprep DatasetStatsStandardizer.partial_fit",
                     "images_per_s": n_images / new["median_s"],
                     "median_ms": new["median_s"] * 1e3, "speedup": speedup,
                     "target": SPEEDUP_TARGET[dtype],
                     "met": target_check(speedup, SPEEDUP_TARGET[dtype]),
                     "max_rel_diff_mean": mean_diff, "max_rel_diff_var": var_diff,
                     "times_s": new["times_s"]})
    rows += _transform_rows(batches_u8, args.repeats)
    columns = [
        ("dtype", "input"), ("batches", "batches x images"), ("implementation", "implementation"),
        ("images_per_s", "images/s"), ("median_ms", "ms/stream"), ("speedup", "x sklearn"),
        ("target", "target"), ("met", "met"), ("max_rel_diff_mean", "mean rel. diff"),
        ("max_rel_diff_var", "var rel. diff"), ("max_abs_diff", "max abs. diff"),
    ]
    info = machine_info()
    table = markdown_table(rows, columns)
    print(f"## Statistics: {n_batches} batches of ({batch_size}, 224, 224, 3), "
          f"median of {args.repeats} runs\n")
    print(f"Machine: {machine_line(info)}\n")
    print(table)
    result = {"topic": TOPIC, "quick": args.quick, "machine": info, "repeats": args.repeats,
              "rows": rows, "markdown": table}
    write_results(TOPIC, result)
    return result


if __name__ == "__main__":
    main()
