"""Loading: files -> a ``(N, 224, 224, 3)`` batch, the Keras, tf.data and skprep ways.

Three generated corpora (see ``_common.make_corpus``: scikit-learn's sample photos,
upscaled with noise): camera JPEG 3000x2000, web JPEG 500x375, PNG 500x375. For each,
side by side in one run (images/s, median of >= 5 runs over the whole corpus):

* Keras: a ``keras.utils.load_img(path, target_size=(224, 224))`` +
  ``img_to_array`` loop (Keras' default, nearest-neighbour resize), then ``np.stack``;
* tf.data: ``read_file`` -> ``decode_image`` -> ``tf.image.resize`` (bilinear, without
  and with ``antialias``), ``num_parallel_calls=AUTOTUNE``, batched, to numpy;
* decode only (camera JPEG): Pillow ``draft`` (libjpeg-turbo DCT-domain 1/8 scaling)
  and ``load`` on all cores, no resize: the anchor of the camera target;
* skprep: ``ImageLoader`` at its defaults with ``n_jobs=1`` and ``n_jobs=-1`` (all
  cores), plus ``reducing_gap=None`` (full decode) when the parameter exists.

CPU: the process's CPU time (user + sys, all threads) per image, and Keras' CPU time per
image over it ("x Keras, CPU"): independent of the machine's load, and the most that
threads on N cores can turn into N times that in wall-clock speed.

Stages (web JPEG, one thread, CPU ms per image): Pillow decode, Pillow's antialiased
bilinear resize (skprep's), its nearest-neighbour resize (Keras'), OpenCV ``INTER_AREA``,
and the whole ``ImageLoader``: where the time goes, and what a faster resize would need.

Quality: the mean absolute pixel difference (0-255 scale) of each output against a full
decode + antialiased bilinear resize (Pillow ``resize`` without ``draft`` or
``reducing_gap``). Targets (issue 5), ``ImageLoader`` on all cores at its defaults:
camera JPEG >= 2.5x Keras and >= 0.8x decode-only; web JPEG >= 1.6x Keras and >= 2x
tf.data with antialias; PNG >= 1.3x Keras; pixel difference <= 1.5.

Usage: ``python benchmarks/bench_loading.py [--quick]``; writes
``benchmarks/results/loading.json``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    file_sizes_kib,
    machine_info,
    machine_line,
    make_corpus,
    markdown_table,
    measure,
    parse_args,
    target_check,
    write_results,
)

TOPIC = "loading"
SIZE = (224, 224)
MAD_TARGET = 1.5
#: corpus -> (anchor implementation, minimum ratio) for ImageLoader on all cores
KERAS = "Keras load_img loop (nearest)"
DECODE_ONLY = "decode only, DCT 1/8 (Pillow draft, all cores)"
TARGETS: dict[str, list[tuple[str, float]]] = {
    "camera_jpeg": [(KERAS, 2.5), (DECODE_ONLY, 0.8)],
    "web_jpeg": [(KERAS, 1.6), ("tf.data, antialias", 2.0)],  # issue 15: 1.6x
    "png": [(KERAS, 1.3)],
}
COUNTS = {"camera_jpeg": (24, 4), "web_jpeg": (120, 24), "png": (60, 12)}  # (full, quick)


def _reference(path: str) -> np.ndarray:
    """Full decode + antialiased bilinear resize: the quality reference."""
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        return np.asarray(img.resize(SIZE[::-1], Image.Resampling.BILINEAR), np.float32)


def _keras_loop(paths):
    from keras.utils import img_to_array, load_img

    return np.stack([img_to_array(load_img(p, target_size=SIZE)) for p in paths])


def _tf_dataset(paths, antialias: bool):
    import tensorflow as tf

    def load(path):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        return tf.image.resize(image, SIZE, method="bilinear", antialias=antialias)

    dataset = tf.data.Dataset.from_tensor_slices(list(paths))
    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(32)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)

    def run():
        return np.concatenate([batch.numpy() for batch in dataset])

    return run


def _decode_only(paths, pool):
    from PIL import Image

    def one(path):
        with Image.open(path) as img:
            img.draft("RGB", SIZE[::-1])
            img.load()
            return img.size

    return lambda: list(pool.map(one, paths))


def _implementations(paths: list[str], corpus: str, pool) -> dict:
    from skprep import ImageLoader

    impls = {}
    try:
        import keras  # noqa: F401

        impls[KERAS] = lambda: _keras_loop(paths)
        impls["tf.data, no antialias"] = _tf_dataset(paths, antialias=False)
        impls["tf.data, antialias"] = _tf_dataset(paths, antialias=True)
    except ImportError:  # pragma: no cover - the dev extra installs Keras
        print("Keras/TensorFlow missing: their rows are skipped", file=sys.stderr)
    if corpus == "camera_jpeg":
        impls[DECODE_ONLY] = _decode_only(paths, pool)
    params = ImageLoader().get_params()
    impls["skprep ImageLoader, 1 thread"] = ImageLoader(SIZE, n_jobs=1).transform
    impls["skprep ImageLoader, all cores"] = ImageLoader(SIZE, n_jobs=-1).transform
    if "reducing_gap" in params:
        impls["skprep ImageLoader, all cores, reducing_gap=None"] = ImageLoader(
            SIZE, n_jobs=-1, reducing_gap=None).transform
    return {name: (fn, name.startswith("skprep")) for name, fn in impls.items()}


def _run_corpus(corpus: str, paths: list[str], repeats: int, pool) -> list[dict]:
    reference = np.stack([_reference(p) for p in paths[:4]])
    rows = []
    speeds: dict[str, float] = {}
    for name, (fn, is_skprep) in _implementations(paths, corpus, pool).items():
        call = (lambda fn=fn: fn(paths)) if is_skprep else fn
        timing = measure(call, repeats, keep_result=True)
        output = timing.pop("result")
        speeds[name] = len(paths) / timing["median_s"]
        mad = None
        if not name.startswith("decode only"):
            out = np.asarray(output[:4], np.float32)
            mad = float(np.abs(out - reference).mean())
        del output
        rows.append({"corpus": corpus, "implementation": name, "images_per_s": speeds[name],
                     "median_s": timing["median_s"], "mad_vs_full_decode": mad,
                     "times_s": timing["times_s"],
                     "cpu_ms_per_image": timing["cpu_median_s"] / len(paths) * 1e3,
                     "cpu_times_s": timing["cpu_times_s"]})
    keras_speed = speeds.get(KERAS)
    keras_cpu = next((r["cpu_ms_per_image"] for r in rows if r["implementation"] == KERAS), None)
    loader = "skprep ImageLoader, all cores"
    for row in rows:
        row["x_keras"] = row["images_per_s"] / keras_speed if keras_speed else None
        # CPU per image against Keras': what the threads can multiply, at most by the cores
        row["cpu_x_keras"] = keras_cpu / row["cpu_ms_per_image"] if keras_cpu else None
        if row["implementation"] != loader:
            continue
        checks = []
        for anchor, minimum in TARGETS[corpus]:
            if anchor in speeds:
                ratio = speeds[loader] / speeds[anchor]
                met = target_check(ratio, minimum)
                checks.append(f"{ratio:.2f}x {anchor.split(',')[0].split(' (')[0]} "
                              f"(>= {minimum}x: {'met' if met else 'MISSED'})")
                row.setdefault("targets", []).append(
                    {"anchor": anchor, "ratio": ratio, "minimum": minimum, "met": met})
        mad_met = target_check(row["mad_vs_full_decode"], MAD_TARGET, higher_is_better=False)
        checks.append(f"MAD {row['mad_vs_full_decode']:.2f} (<= {MAD_TARGET}: "
                      f"{'met' if mad_met else 'MISSED'})")
        row["mad_met"] = mad_met
        row["target_summary"] = "; ".join(checks)
    return rows


def _web_stages(paths: list[str], repeats: int) -> list[dict]:
    """One thread, CPU ms per web JPEG for each stage: where the loader's time goes."""
    import io

    from PIL import Image

    from skprep import ImageLoader

    data = [Path(p).read_bytes() for p in paths]
    decoded = []
    for blob in data:
        img = Image.open(io.BytesIO(blob))
        img.load()
        decoded.append(img)
    arrays = [np.asarray(img) for img in decoded]
    width_height = (SIZE[1], SIZE[0])
    stages = {
        "Pillow decode (open + load)": lambda: [Image.open(io.BytesIO(b)).load() for b in data],
        "Pillow resize, bilinear antialiased (skprep's)": lambda: [
            img.resize(width_height, Image.Resampling.BILINEAR) for img in decoded],
        "Pillow resize, nearest (Keras')": lambda: [
            img.resize(width_height, Image.Resampling.NEAREST) for img in decoded],
        "skprep ImageLoader, 1 thread, whole": lambda: ImageLoader(SIZE, n_jobs=1)
        .transform(paths),
    }
    try:
        import cv2

        stages["OpenCV resize, INTER_AREA, 1 thread"] = lambda: [
            cv2.resize(a, width_height, interpolation=cv2.INTER_AREA) for a in arrays]
    except ImportError:  # pragma: no cover - a core dependency
        pass
    rows = []
    threads = None
    if "OpenCV resize, INTER_AREA, 1 thread" in stages:
        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
    try:
        for name, fn in stages.items():
            timing = measure(fn, repeats)
            rows.append({"stage": name,
                         "cpu_ms_per_image": timing["cpu_median_s"] * 1e3 / len(paths)})
    finally:
        if threads is not None:
            cv2.setNumThreads(threads)
    return rows


def main(argv=None) -> dict:
    args = parse_args(argv, __doc__.splitlines()[0])
    rows = []
    corpora = {}
    workers = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="skprep-bench-") as tmp, \
            ThreadPoolExecutor(workers) as pool:
        for corpus, (full, quick) in COUNTS.items():
            count = quick if args.quick else full
            paths = make_corpus(corpus, count, Path(tmp) / corpus)
            corpora[corpus] = {"images": count, "mean_file_kib": file_sizes_kib(paths)}
            rows.extend(_run_corpus(corpus, paths, args.repeats, pool))
            if corpus == "web_jpeg":
                stages = _web_stages(paths, args.repeats)
    columns = [("corpus", "corpus"), ("implementation", "implementation"),
               ("images_per_s", "images/s"), ("x_keras", "x Keras loop"),
               ("cpu_ms_per_image", "CPU ms/image"), ("cpu_x_keras", "x Keras, CPU"),
               ("mad_vs_full_decode", "MAD vs full decode"), ("target_summary", "targets")]
    info = machine_info()
    table = markdown_table(rows, columns)
    sizes = ", ".join(f"{name} {c['images']} files of {c['mean_file_kib']:.0f} KiB"
                      for name, c in corpora.items())
    print(f"## Loading into ({SIZE[0]}, {SIZE[1]}, 3) batches, median of {args.repeats} runs\n")
    print(f"Machine: {machine_line(info)}\n\nCorpora: {sizes}\n")
    print(table)
    stage_table = markdown_table(stages, [("stage", "web JPEG, one thread"),
                                          ("cpu_ms_per_image", "CPU ms/image")])
    print(f"\nWhere a web JPEG's time goes:\n\n{stage_table}")
    result = {"topic": TOPIC, "quick": args.quick, "machine": info, "repeats": args.repeats,
              "corpora": corpora, "rows": rows, "web_jpeg_stages": stages,
              "markdown": table + "\n\nWhere a web JPEG's time goes:\n\n" + stage_table}
    write_results(TOPIC, result)
    return result


if __name__ == "__main__":
    main()
