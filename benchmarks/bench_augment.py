"""Augmentation: Keras' random layers on a batch vs ``ImageAugmenter`` (OpenCV, threads).

A ``(256, 224, 224, 3)`` uint8 batch of real photos, flip + rotation + zoom + contrast,
side by side in one run:

* Keras: ``keras.Sequential([RandomFlip("horizontal"), RandomRotation(0.1),
  RandomZoom(0.1), RandomContrast(0.2)])`` called on the batch with ``training=True``
  (eager, as a model's augmentation block runs in ``fit`` without ``jit_compile``), and
  the same Sequential inside a ``tf.function``;
* skprep: ``ImageAugmenter(...)`` with the same factors, ``random_transformation`` +
  ``apply`` (one view per image, as Keras makes), on all cores and on one thread; and
  ``fit_resample(n_views=1)`` (originals + views, twice the rows).

Reports images (views) per second (median of >= 5 runs), the speed-up over Keras eager,
and the peak extra memory (tracemalloc: NumPy and Python allocations) over the output
batch. Targets (issue 18): >= 2x Keras on all cores; memory: the output batch plus
per-image scratch (<= 1.1x the output).

Usage: ``python benchmarks/bench_augment.py [--quick]``; writes
``benchmarks/results/augment.json``.
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

TOPIC = "augment"
SPEEDUP_TARGET = 2.0
MEMORY_TARGET = 1.1
FACTORS = dict(flip="horizontal", rotation=0.1, zoom=0.1, contrast=0.2,
               translation=None, brightness=None)


def _photo_batch(n_images: int, size: int = 224) -> np.ndarray:
    """``n_images`` real photo tiles (scikit-learn's sample photos), uint8."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    rng = np.random.default_rng(0)
    photos = load_sample_images().images
    out = np.empty((n_images, size, size, 3), dtype=np.uint8)
    for i in range(n_images):
        photo = photos[i % len(photos)]
        side = int(rng.integers(200, 420))
        top = int(rng.integers(0, photo.shape[0] - side + 1))
        left = int(rng.integers(0, photo.shape[1] - side + 1))
        tile = Image.fromarray(photo[top:top + side, left:left + side])
        out[i] = np.asarray(tile.resize((size, size), Image.BILINEAR))
    return out


def _keras_cases(batch: np.ndarray) -> dict:
    try:
        import keras
        import tensorflow as tf
    except ImportError:  # pragma: no cover - the dev extra installs Keras
        return {}
    seq = keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=0),
        keras.layers.RandomRotation(0.1, seed=0),
        keras.layers.RandomZoom(0.1, seed=0),
        keras.layers.RandomContrast(0.2, seed=0),
    ])
    graph = tf.function(lambda x: seq(x, training=True))
    return {
        "Keras layers, eager (training=True)": lambda: seq(batch, training=True),
        "Keras layers in tf.function": lambda: graph(batch),
    }


def _skprep_cases(batch: np.ndarray) -> dict:
    from skprep import ImageAugmenter

    def views(n_jobs):
        aug = ImageAugmenter(**FACTORS, n_jobs=n_jobs)
        return lambda: aug.apply(batch, aug.random_transformation(batch, 0))

    sampler = ImageAugmenter(**FACTORS, n_views=1, random_state=0, n_jobs=-1)
    return {
        "skprep random_transformation + apply, all cores": views(-1),
        "skprep random_transformation + apply, 1 thread": views(1),
        "skprep fit_resample(n_views=1), all cores (2x rows)":
            lambda: sampler.fit_resample(batch)[0],
    }


def main(argv=None) -> dict:
    args = parse_args(argv, __doc__.splitlines()[0])
    n_images = 32 if args.quick else 256
    batch = _photo_batch(n_images)
    view_bytes = batch.nbytes
    cases = {**_keras_cases(batch), **_skprep_cases(batch)}
    rows, ref_time = [], None
    for name, fn in cases.items():
        timing = measure(fn, args.repeats)
        is_skprep = name.startswith("skprep")
        if name.startswith("Keras layers, eager"):
            ref_time = timing["median_s"]
        out_bytes = np.asarray(fn()).nbytes if is_skprep else None
        memory = peak_memory(fn) if is_skprep else None
        speedup = ref_time / timing["median_s"] if ref_time else None
        has_target = name.endswith("all cores")
        mem_ratio = memory / out_bytes if memory is not None else None
        rows.append({
            "implementation": name,
            "views_per_s": n_images / timing["median_s"],
            "median_ms": timing["median_s"] * 1e3,
            "speedup": speedup,
            "speedup_target": SPEEDUP_TARGET if has_target else None,
            "speedup_met": target_check(speedup, SPEEDUP_TARGET) if has_target else None,
            "peak_extra_memory_x_output": mem_ratio,
            "memory_met": target_check(mem_ratio, MEMORY_TARGET, higher_is_better=False)
            if is_skprep else None,
            "times_s": timing["times_s"],
        })
    columns = [
        ("implementation", "implementation"), ("views_per_s", "views/s"),
        ("median_ms", "ms/batch"), ("speedup", "x Keras eager"), ("speedup_target", "target"),
        ("speedup_met", "speed"), ("peak_extra_memory_x_output", "peak mem / output"),
        ("memory_met", "mem <= 1.1x"),
    ]
    info = machine_info()
    table = markdown_table(rows, columns)
    print(f"## Augmentation (flip + rotation + zoom + contrast): ({n_images}, 224, 224, 3) "
          f"uint8 batch, median of {args.repeats} runs\n")
    print(f"Machine: {machine_line(info)}\n")
    print(table)
    result = {"topic": TOPIC, "quick": args.quick, "machine": info, "batch_shape":
              list(batch.shape), "view_bytes": view_bytes, "repeats": args.repeats,
              "rows": rows, "markdown": table}
    write_results(TOPIC, result)
    return result


if __name__ == "__main__":
    main()
