"""Normalization: ``astype(float32)`` + Keras ``preprocess_input`` vs ``KerasModeNormalizer``.

For each Keras mode (caffe, tf, torch) and a ``(N, 224, 224, 3)`` batch, side by side:

* reference: ``keras.applications.imagenet_utils.preprocess_input(x.astype("float32"),
  mode=...)`` (the documented way; the ``astype`` copy also keeps Keras from writing
  into the caller's float array);
* skprep: ``KerasModeNormalizer(mode).transform(x)`` from the uint8 batch, and from a
  float32 batch.

Reports images/s (median of >= 5 runs), the speed-up over the reference, the peak extra
memory (tracemalloc) relative to the float32 output array, and checks that the outputs
are bit-identical. Targets (issue 5): from uint8 >= 2x the reference; peak extra memory
<= 1.1x the output.

Usage: ``python benchmarks/bench_normalize.py [--quick]``; writes
``benchmarks/results/normalize.json``.
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
    peak_memory,
    target_check,
    write_results,
)

TOPIC = "normalize"
SPEEDUP_TARGET = 2.0
MEMORY_TARGET = 1.1


def _keras_reference():
    try:
        from keras.applications import imagenet_utils
    except ImportError:  # pragma: no cover - the dev extra installs Keras
        return None
    return imagenet_utils.preprocess_input


def main(argv=None) -> dict:
    args = parse_args(argv, __doc__.splitlines()[0])
    from skprep import KerasModeNormalizer

    n_images = 8 if args.quick else 64
    rng = np.random.default_rng(0)
    batch_u8 = rng.integers(0, 256, size=(n_images, 224, 224, 3), dtype=np.uint8)
    batch_f32 = batch_u8.astype(np.float32)
    out_bytes = batch_f32.nbytes
    keras_preprocess = _keras_reference()
    rows = []
    inputs = {"uint8": batch_u8, "float32": batch_f32}
    for mode in ("caffe", "tf", "torch"):
        norm = KerasModeNormalizer(mode).fit(batch_u8[:1])
        for dtype, batch in inputs.items():
            cases = {f"skprep from {dtype}": lambda norm=norm, batch=batch: norm.transform(batch)}
            expected = None
            if keras_preprocess is not None:
                def reference(mode=mode, batch=batch):
                    return keras_preprocess(batch.astype(np.float32), mode=mode)

                cases = {f"Keras astype + preprocess_input, from {dtype}": reference, **cases}
                expected = np.asarray(reference())
            ref_time = None
            for name, fn in cases.items():
                timing = measure(fn, args.repeats)
                memory = peak_memory(fn)
                out = fn()
                is_skprep = name.startswith("skprep")
                if not is_skprep:
                    ref_time = timing["median_s"]
                speedup = ref_time / timing["median_s"] if ref_time else None
                has_target = is_skprep and dtype == "uint8"
                mem_ratio = memory / out_bytes
                rows.append({
                    "mode": mode,
                    "implementation": name,
                    "images_per_s": n_images / timing["median_s"],
                    "median_ms": timing["median_s"] * 1e3,
                    "speedup": speedup,
                    "speedup_target": SPEEDUP_TARGET if has_target else None,
                    "speedup_met": target_check(speedup, SPEEDUP_TARGET) if has_target else None,
                    "peak_extra_memory_x_output": mem_ratio,
                    "memory_met": target_check(mem_ratio, MEMORY_TARGET, higher_is_better=False)
                    if is_skprep else None,
                    "equals_keras": None if expected is None or not is_skprep
                    else ("bit-identical" if np.array_equal(out, expected) else "DIFFERS"),
                    "times_s": timing["times_s"],
                })
    columns = [
        ("mode", "mode"), ("implementation", "implementation"),
        ("images_per_s", "images/s"), ("median_ms", "ms/batch"),
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
