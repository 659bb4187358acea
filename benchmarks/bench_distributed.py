"""Feature extraction on a Dask LocalCluster (1 and 2 workers) against the plain local pipeline.

The pipeline is skprep's own image pipeline: ImageLoader -> KerasModeNormalizer ->
KerasFeatureExtractor (MobileNetV2, random weights: no download) over real JPEG photos.
Three ways, same run, same pipeline, same paths:

- ``local``: ``pipe.transform(paths)`` in this process (the reference);
- ``dask 1 worker`` / ``dask 2 workers``: ``map_pipeline(pipe, bag).compute()`` on a
  LocalCluster of 2 single-threaded worker processes, restricted to one worker or not.

Each Dask row is timed warm (workers already imported TensorFlow); the first, cold run
(imports, scatter, model rebuild on the workers) is reported apart. Outputs are checked
against the local run.

    python benchmarks/bench_distributed.py [--quick] [--n-images N] [--input-size S]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "distributed.json"


def _photos(root: Path, n: int) -> list[str]:
    """n JPEG paths: the two scikit-learn sample photos and crops of them, cycled."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    files = []
    for i, photo in enumerate(load_sample_images().images):
        for j, (rows, cols) in enumerate([(slice(None), slice(None)),
                                          (slice(0, 300), slice(100, 300)),
                                          (slice(50, 350), slice(0, 640))]):
            path = root / f"photo{i}_{j}.jpg"
            Image.fromarray(photo[rows, cols]).save(path, quality=90)
            files.append(str(path))
    return [files[k % len(files)] for k in range(n)]


def _timed(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (< 60 s)")
    parser.add_argument("--n-images", type=int, default=None)
    parser.add_argument("--input-size", type=int, default=None)
    parser.add_argument("--model", default="mobilenet_v2")
    args = parser.parse_args(argv)
    n_images = args.n_images or (48 if args.quick else 256)
    size = args.input_size or (64 if args.quick else 128)
    repeat = 1 if args.quick else 3

    import dask.bag as db
    import distributed

    from skprep import make_image_pipeline
    from skprep.distributed import map_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        paths = _photos(Path(tmp), n_images)
        pipe = make_image_pipeline(args.model, weights=None, input_size=size).fit(paths[:2])
        pipe.transform(paths[:4])  # build the model once, as the workers' cold run does
        local_s, expected = _timed(lambda: pipe.transform(paths), repeat)

        rows = [{"setup": "local pipe.transform", "seconds": local_s, "cold_seconds": None,
                 "max_abs_diff": 0.0}]
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None)
        with distributed.Client(cluster) as client:
            workers = sorted(client.scheduler_info()["workers"])
            for n_workers in (1, 2):
                only = workers[:n_workers]
                bag = db.from_sequence(paths, npartitions=4 * n_workers)

                def run(bag=bag, only=only):
                    out, failures = map_pipeline(pipe, bag).compute(workers=only)
                    assert not failures
                    return np.asarray(out)

                cold, _ = _timed(run, 1)
                warm, got = _timed(run, repeat)
                rows.append({"setup": f"dask {n_workers} worker{'s' * (n_workers > 1)}",
                             "seconds": warm, "cold_seconds": cold,
                             "max_abs_diff": float(np.abs(got - expected).max())})
        cluster.close()

    for row in rows:
        row["images_per_s"] = n_images / row["seconds"]
        row["vs_local"] = local_s / row["seconds"]
    one = next(r for r in rows if r["setup"] == "dask 1 worker")
    two = next(r for r in rows if r["setup"] == "dask 2 workers")
    result = {
        "model": args.model, "input_size": size, "n_images": n_images, "repeat": repeat,
        "cpu_count": os.cpu_count(), "load_average_1min": os.getloadavg()[0], "rows": rows,
        "speedup_2_vs_1_workers": one["seconds"] / two["seconds"],
    }
    print(f"\n{args.model} {size}x{size}, {n_images} JPEG photos, {os.cpu_count()} CPUs "
          f"(load average {result['load_average_1min']:.1f}), best of {repeat}\n")
    print("| setup | warm s | images/s | speed vs local | cold s (first run) | max abs diff |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        cold = "-" if row["cold_seconds"] is None else f"{row['cold_seconds']:.2f}"
        print(f"| {row['setup']} | {row['seconds']:.2f} | {row['images_per_s']:.1f} | "
              f"{row['vs_local']:.2f}x | {cold} | {row['max_abs_diff']:.1e} |")
    print(f"\n2 workers vs 1 worker: {result['speedup_2_vs_1_workers']:.2f}x")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
