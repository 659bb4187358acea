"""Normalization: ``astype(float32)`` + Keras ``preprocess_input`` vs ``KerasModeNormalizer``.

For each Keras mode (caffe, tf, torch, none) and a ``(N, 224, 224, 3)`` batch, side by
side:

* reference: ``keras.applications.imagenet_utils.preprocess_input(x.astype("float32"),
  mode=...)`` (the documented way; the ``astype`` copy also keeps Keras from writing
  into the caller's float array); for ``none``, EfficientNet's ``preprocess_input``
  (the identity) on ``x.astype("float32")``;
* skprep: ``KerasModeNormalizer(mode).transform(x)`` from the uint8 batch, and from a
  float32 batch, each output dropped before the next call, as a model loop does (the
  normalizer then reuses the dropped output's memory);
* skprep's pure function ``skprep.normalize.preprocess(x, mode)`` from uint8, which
  allocates every output with ``np.empty`` (fresh memory from the kernel each time, as
  the reference): what the lookup table alone gains.

Reports images/s (median of >= 5 runs), the speed-up over the reference, the peak extra
memory (tracemalloc) relative to the float32 output array, and checks that the outputs
are bit-identical. Targets (issue 15): from uint8 >= 2x the reference in every mode;
peak extra memory <= 1.1x the output.

Usage: ``python benchmarks/bench_normalize.py [--quick]``; writes
``benchmarks/results/normalize.json``.
"""

from __future__ import annotations

import functools
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
    peak_memory,
    target_check,
    write_results,
)

TOPIC = "normalize"
SPEEDUP_TARGET = 2.0
MEMORY_TARGET = 1.1


def _keras_reference(mode: str):
    """Keras' ``preprocess_input`` for a mode, or None without Keras."""
    try:
        from keras.applications import efficientnet, imagenet_utils
    except ImportError:  # pragma: no cover - the dev extra installs Keras
        return None
    if mode == "none":  # EfficientNet & co.: the identity, preprocessing is in the model
        return efficientnet.preprocess_input
    return functools.partial(imagenet_utils.preprocess_input, mode=mode)


def _cases(norm, batch, dtype: str) -> dict:
    cases = {f"skprep from {dtype}": lambda: norm.transform(batch)}
    if dtype == "uint8":
        # the pure function allocates each output with np.empty, as the reference does
        from skprep.normalize import preprocess

        cases["skprep preprocess() from uint8, fresh memory"] = (
            lambda: preprocess(batch, norm.mode_))
    return cases


def _row(mode, name, timing, memory, out, expected, ref_time, n_images, out_bytes):
    is_skprep = name.startswith("skprep")
    speedup = ref_time / timing["median_s"] if ref_time else None
    has_target = name == "skprep from uint8"
    mem_ratio = memory / out_bytes
    return {
        "mode": mode,
        "implementation": name,
        "images_per_s": n_images / timing["median_s"],
        "median_ms": timing["median_s"] * 1e3,
        "cpu_ms": timing.get("cpu_median_s", float("nan")) * 1e3,
        "speedup": speedup,
        "speedup_target": SPEEDUP_TARGET if has_target else None,
        "speedup_met": target_check(speedup, SPEEDUP_TARGET) if has_target else None,
        "peak_extra_memory_x_output": mem_ratio,
        "memory_met": target_check(mem_ratio, MEMORY_TARGET, higher_is_better=False)
        if is_skprep else None,
        "equals_keras": None if expected is None or not is_skprep
        else ("bit-identical" if np.array_equal(out, expected) else "DIFFERS"),
        "times_s": timing["times_s"],
    }


def main(argv=None) -> dict:
    args = parse_args(argv, __doc__.splitlines()[0])
    from skprep import KerasModeNormalizer

    n_images = 8 if args.quick else 64
    rng = np.random.default_rng(0)
    batch_u8 = rng.integers(0, 256, size=(n_images, 224, 224, 3), dtype=np.uint8)
    batch_f32 = batch_u8.astype(np.float32)
    out_bytes = batch_f32.nbytes
    rows = []
    inputs = {"uint8": batch_u8, "float32": batch_f32}
    for mode in ("caffe", "tf", "torch", "none"):
        keras_preprocess = _keras_reference(mode)
        norm = KerasModeNormalizer(mode).fit(batch_u8[:1])
        for dtype, batch in inputs.items():
            cases = _cases(norm, batch, dtype)
            expected = None
            if keras_preprocess is not None:
                def reference(batch=batch, keras_preprocess=keras_preprocess):
                    return keras_preprocess(batch.astype(np.float32))

                cases = {f"Keras astype + preprocess_input, from {dtype}": reference, **cases}
                expected = np.asarray(reference())
            ref_time = None
            for name, fn in cases.items():
                timing = measure(fn, args.repeats)
                memory = peak_memory(fn)
                out = fn()
                if not name.startswith("skprep"):
                    ref_time = timing["median_s"]
                rows.append(_row(mode, name, timing, memory, out, expected, ref_time,
                                 n_images, out_bytes))
                del out
    columns = [
        ("mode", "mode"), ("implementation", "implementation"),
        ("images_per_s", "images/s"), ("median_ms", "ms/batch"), ("cpu_ms", "CPU ms"),
        ("speedup", "x reference"), ("speedup_target", "target"), ("speedup_met", "speed"),
        ("peak_extra_memory_x_output", "peak mem / output"), ("memory_met", "mem <= 1.1x"),
        ("equals_keras", "vs Keras"),
    ]
    info = machine_info()
    table = markdown_table(rows, columns)
    print(f"## Normalization: ({n_images}, 224, 224, 3) batch, median of {args.repeats} runs\n")
    print(f"Machine: {machine_line(info)}\n")
    print(table)
    result = {"topic": TOPIC, "quick": args.quick, "machine": info, "batch_shape":
              list(batch_u8.shape), "repeats": args.repeats, "rows": rows, "markdown": table}
    write_results(TOPIC, result)
    return result


if __name__ == "__main__":
    main()
