"""Images -> MobileNetV2 features: StreamingPipeline vs plain Pipeline vs tf.data -> predict.

Three ways to get MobileNetV2 features (weights=None, global average pooling, 224 px;
96 px with ``--quick``) from JPEG files, measured side by side:

* ``stream``: :class:`skprep.StreamingPipeline` of ImageLoader (all cores) ->
  KerasModeNormalizer -> KerasFeatureExtractor (batch 32), ``batch_size=256`` (64 with
  ``--quick``, so that its small inputs still run as several batches), ``prefetch=2``;
* ``plain``: the same steps in a scikit-learn ``Pipeline`` (each step over all images);
* ``tf.data``: ``read_file -> decode_jpeg -> resize(antialias=True) ->
  preprocess_input``, ``map(AUTOTUNE)``, ``batch(32)``, ``prefetch(AUTOTUNE)``, then
  ``model.predict(dataset)``, the Keras way.

Peak RSS: each configuration runs in a fresh subprocess (so TensorFlow's and the
allocator's memory of one run never counts for another), for web-size JPEGs (500x375)
at N and 10 x N images (N = 2,000; 256 with ``--quick``). The plain Pipeline is stopped
at a memory cap (``--mem-cap-gib``) and reported as such, with its projected need.
The corpus is a few hundred distinct files listed again and again up to N (every
listed file is read and decoded; the page cache holds them all either way).

Throughput (images/s, end to end from the paths): one subprocess per corpus (web and
camera JPEGs, 3000x2000) runs the three ways interleaved, round robin, median of
``--repeats`` runs, so a change of machine load hits all three alike.

    python benchmarks/bench_stream.py [--quick] [--sizes 2000,20000] [--mem-cap-gib 6]

Targets (issue 12): peak RSS at 10 x N within 1.3x of the peak at N; throughput >= 1.0x
tf.data for web JPEGs and >= 1.5x for camera JPEGs, and >= 1.0x the plain Pipeline.
Writes benchmarks/results/stream.json.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    fmt,
    machine_info,
    machine_line,
    make_corpus,
    markdown_table,
    parse_args,
    target_check,
    write_results,
)

CONFIGS = ("stream", "plain", "tf.data")
DISTINCT = {"web_jpeg": 200, "camera_jpeg": 24}  # distinct files per corpus


# --------------------------------------------------------------------------- worker side


def _rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _watch_memory(cap: int, report: dict) -> None:
    """Stop the process (reporting it) when its RSS passes ``cap`` bytes."""
    def watch() -> None:
        while True:
            rss = _rss_bytes()
            if rss > cap:
                report.update(capped=True, rss_at_stop=rss, seconds=time.perf_counter()
                              - report["t0"], peak_rss=_peak_rss_bytes())
                print(json.dumps(report), flush=True)
                os._exit(0)
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()


def _skprep_pipeline(kind: str, size: int, batch_size: int):
    from sklearn.pipeline import Pipeline

    from skprep import ImageLoader, KerasFeatureExtractor, KerasModeNormalizer
    from skprep.streaming import StreamingPipeline

    steps = [("loader", ImageLoader((size, size), n_jobs=-1)),
             ("normalizer", KerasModeNormalizer(model="mobilenet_v2")),
             ("extractor", KerasFeatureExtractor("mobilenet_v2", weights=None,
                                                 input_shape=(size, size, 3), batch_size=32))]
    return StreamingPipeline(steps, batch_size=batch_size) if kind == "stream" else Pipeline(steps)


def _tfdata_runner(size: int):
    import keras
    import tensorflow as tf

    model = keras.applications.MobileNetV2(include_top=False, weights=None, pooling="avg",
                                           input_shape=(size, size, 3))
    preprocess = keras.applications.mobilenet_v2.preprocess_input

    def load(path):
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        image = tf.image.resize(image, (size, size), antialias=True)
        return preprocess(image)

    def run(paths):
        ds = (tf.data.Dataset.from_tensor_slices(paths)
              .map(load, num_parallel_calls=tf.data.AUTOTUNE)
              .batch(32).prefetch(tf.data.AUTOTUNE))
        return model.predict(ds, verbose=0)

    return run


def _runner(kind: str, spec: dict, warm: list[str]):
    """A function paths -> features for one configuration, built and warmed up."""
    if kind == "tf.data":
        run = _tfdata_runner(spec["size"])
    else:
        pipe = _skprep_pipeline(kind, spec["size"], spec["batch_size"]).fit(warm)
        run = pipe.transform
    run(warm)  # traces, thread pools, allocations
    return run


def worker(spec: dict) -> dict:
    """Run one measurement in this process; the result is printed as JSON."""
    import statistics

    paths = _corpus_paths(spec["corpus_dir"], spec["corpus"], spec["n"])
    if spec["task"] == "memory":
        run = _runner(spec["config"], spec, paths[:32])
        report = {"config": spec["config"], "n": spec["n"], "baseline_rss": _rss_bytes(),
                  "capped": False, "t0": time.perf_counter()}
        if spec.get("cap"):
            _watch_memory(int(spec["cap"]), report)
        features = run(paths)
        report.update(seconds=time.perf_counter() - report["t0"], peak_rss=_peak_rss_bytes(),
                      shape=list(features.shape))
        return report
    runners = {kind: _runner(kind, spec, paths[:32]) for kind in CONFIGS}
    times: dict[str, list[float]] = {kind: [] for kind in CONFIGS}
    for _ in range(spec["repeats"]):
        for kind, run in runners.items():
            start = time.perf_counter()
            run(paths)
            times[kind].append(time.perf_counter() - start)
    return {kind: spec["n"] / statistics.median(values) for kind, values in times.items()}


def _corpus_paths(directory: str, corpus: str, n: int) -> list[str]:
    files = sorted(str(p) for p in Path(directory, corpus).iterdir())
    return [files[i % len(files)] for i in range(n)]


# --------------------------------------------------------------------------- parent side


def _spawn(spec: dict) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)],
                          capture_output=True, text=True, env=env, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"worker {spec} failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def _memory_rows(args, directory: str, size: int, sizes: list[int], batch: int) -> list[dict]:
    cap = int(args.mem_cap_gib * 2**30)
    rows = []
    for config in CONFIGS:
        for n in sizes:
            spec = {"task": "memory", "config": config, "n": n, "size": size, "batch_size": batch,
                    "corpus": "web_jpeg", "corpus_dir": directory,
                    "cap": cap if config == "plain" else None}
            result = _spawn(spec)
            gib = 2**30
            rows.append({
                "config": config, "n": n,
                "peak_rss_gib": result["peak_rss"] / gib,
                "baseline_gib": result["baseline_rss"] / gib,
                "growth_mib": (result["peak_rss"] - result["baseline_rss"]) / 2**20,
                "seconds": result["seconds"],
                "images_per_s": None if result["capped"] else n / result["seconds"],
                "note": (f"stopped at the {args.mem_cap_gib:g} GiB cap" if result["capped"]
                         else ""),
            })
            print(f"  memory {config:8s} N={n:6d}: peak {rows[-1]['peak_rss_gib']:.2f} GiB"
                  f" {rows[-1]['note']}", flush=True)
    return rows


def _projection(rows: list[dict], size: int, sizes: list[int]) -> str:
    """The plain Pipeline's need at the largest N, from what it holds per image."""
    per_image = size * size * 3 * (1 + 4)  # the uint8 batch and the float32 batch
    return (f"the plain Pipeline holds {per_image / 2**20:.2f} MiB per image at {size} px "
            f"(uint8 + float32 images at once): about {per_image * max(sizes) / 2**30:.1f} "
            f"GiB more at N={max(sizes):,}")


def main(argv=None) -> dict:
    def extra(parser):
        parser.add_argument("--sizes", help="N values for the memory runs, e.g. 2000,20000")
        parser.add_argument("--mem-cap-gib", type=float, default=6.0,
                            help="stop the plain Pipeline above this RSS (GiB)")
        parser.add_argument("--worker", help=json.dumps({"internal": "one measurement"}))

    args = parse_args(argv, __doc__.splitlines()[0], repeats=5, extra=extra)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))), flush=True)
        return {}
    size = 96 if args.quick else 224
    sizes = ([int(s) for s in args.sizes.split(",")] if args.sizes
             else [256, 2560] if args.quick else [2000, 20000])
    # quick: batches of 64, so that the small inputs still run as several batches
    batch = 64 if args.quick else 256
    n_speed = {"web_jpeg": 256 if args.quick else 1024, "camera_jpeg": 96 if args.quick
               else 384}
    directory = tempfile.mkdtemp(prefix="skprep-bench-stream-")
    try:
        for corpus, count in DISTINCT.items():
            make_corpus(corpus, count if not args.quick else min(count, 48),
                        Path(directory, corpus))
        print(f"memory runs at {size} px, N = {sizes} (one subprocess each)", flush=True)
        memory = _memory_rows(args, directory, size, sizes, batch)
        speed = []
        for corpus, n in n_speed.items():
            spec = {"task": "speed", "n": n, "size": size, "batch_size": batch, "corpus": corpus,
                    "corpus_dir": directory, "repeats": args.repeats}
            rates = _spawn(spec)
            speed.append({"corpus": corpus, "n": n, **{f"{k}_img_s": v for k, v in rates.items()},
                          "vs_tf.data": rates["stream"] / rates["tf.data"],
                          "vs_plain": rates["stream"] / rates["plain"]})
            print(f"  speed {corpus}: {rates}", flush=True)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return _report(args, size, sizes, memory, speed, batch)


def _report(args, size: int, sizes: list[int], memory: list[dict], speed: list[dict],
            batch: int) -> dict:
    info = machine_info()
    small, large = min(sizes), max(sizes)
    peak = {(r["config"], r["n"]): r for r in memory}
    growth = {config: (peak[(config, large)]["peak_rss_gib"] / peak[(config, small)]
                       ["peak_rss_gib"]) for config in CONFIGS}
    web, camera = speed
    checks = [  # (what, ratio, target, higher is better)
        (f"stream peak RSS at N={large:,} / N={small:,}", growth["stream"], 1.3, False),
        ("web JPEG stream / tf.data", web["vs_tf.data"], 1.0, True),
        ("camera JPEG stream / tf.data", camera["vs_tf.data"], 1.5, True),
        ("web JPEG stream / plain Pipeline", web["vs_plain"], 1.0, True),
        ("camera JPEG stream / plain Pipeline", camera["vs_plain"], 1.0, True),
    ]
    rows = [{"implementation": what, "ratio": ratio, "target": target,
             "met": target_check(ratio, target, higher_is_better=higher)}
            for what, ratio, target, higher in checks]
    targets = {row["implementation"]: row["met"] for row in rows}
    print(f"\n{machine_line(info)}\n")
    print(f"### Peak RSS, web JPEGs -> MobileNetV2 features at {size} px (a fresh process "
          "each)\n")
    print(markdown_table(memory, [("config", "way"), ("n", "N"), ("peak_rss_gib", "peak GiB"),
                                  ("growth_mib", "over baseline MiB"), ("images_per_s", "img/s"),
                                  ("note", "note")]))
    print(f"\npeak at N={large:,} / N={small:,}: " + ", ".join(
        f"{config} {fmt(value)}x" for config, value in growth.items()))
    print(f"({_projection(memory, size, sizes)})")
    print(f"\n### Throughput, end to end from paths (median of {args.repeats}, interleaved)\n")
    print(markdown_table(speed, [("corpus", "corpus"), ("n", "N"),
                                 ("stream_img_s", "stream img/s"), ("plain_img_s", "plain img/s"),
                                 ("tf.data_img_s", "tf.data img/s"),
                                 ("vs_tf.data", "stream / tf.data"),
                                 ("vs_plain", "stream / plain")]))
    print("\n" + "\n".join(f"- {row['implementation']}: {fmt(row['ratio'])} (target "
                             f"{'>=' if higher else '<='} {row['target']}): {fmt(row['met'])}"
                             for row, (*_, higher) in zip(rows, checks, strict=True)))
    result = {"machine": info, "quick": args.quick, "input_size": size, "sizes": sizes,
              "batch_size": batch,
              "memory": memory, "peak_growth": growth, "speed": speed,
              "targets": targets, "rows": rows}
    path = write_results("stream", result)
    print(f"\nwrote {path}")
    return result


if __name__ == "__main__":
    main()
