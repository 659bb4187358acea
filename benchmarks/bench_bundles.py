"""Cold start of a served model: load a saved file in a fresh process, predict one image.

Compares, each in its own fresh Python process (median over runs):

* ``joblib.load`` of a fitted ``make_image_pipeline("mobilenet_v2", head=...)`` and
  ``predict([path])``: the whole pipeline, from an image path to a label;
* ``skprep.load`` of the same pipeline saved with ``skprep.save`` (checksums, skops,
  safe-mode Keras) and ``predict([path])``;
* ``keras.models.load_model`` of the backbone's ``.keras`` file alone and one
  ``model.predict`` on an already-preprocessed array (the reference: what Keras alone
  costs, without loading or normalizing the image, and without the head).

    python benchmarks/bench_bundles.py [--quick]

Writes benchmarks/results/bundles.json.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_CHILD = {
    "joblib.load pipeline": """
        import joblib
        t1 = time.perf_counter(); obj = joblib.load(FILE)
        t2 = time.perf_counter(); obj.predict([IMAGE])
    """,
    "skprep.load bundle": """
        import skprep
        t1 = time.perf_counter(); obj = skprep.load(FILE)
        t2 = time.perf_counter(); obj.predict([IMAGE])
    """,
    "keras load_model .keras": """
        import keras, numpy as np
        x = np.zeros((1, SIZE, SIZE, 3), np.float32)
        t1 = time.perf_counter(); obj = keras.models.load_model(FILE, compile=False)
        t2 = time.perf_counter(); obj.predict(x, verbose=0)
    """,
}


def _run_child(body: str, file: str, image: str, size: int) -> dict:
    code = "import time, json\nt0 = time.perf_counter()\nimport tensorflow\n"
    code += f"FILE, IMAGE, SIZE = {file!r}, {image!r}, {size}\n"
    code += textwrap.dedent(body)
    code += ("t3 = time.perf_counter()\n"
             "print(json.dumps({'import_s': t1 - t0, 'load_s': t2 - t1, 'first_predict_s': "
             "t3 - t2, 'load_to_prediction_s': t3 - t1}))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="96x96 input, 1 run each (<60 s)")
    args = parser.parse_args(argv)
    size, runs = (96, 1) if args.quick else (224, 3)

    import joblib
    from PIL import Image
    from sklearn.datasets import load_sample_images
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import skprep

    tmp = Path(tempfile.mkdtemp(prefix="skprep-bench-bundles-"))
    atexit.register(shutil.rmtree, tmp, True)  # the folder goes when the script ends
    paths, labels = [], []
    for label, photo in enumerate(load_sample_images().images):
        for i in range(4):
            path = tmp / f"{label}_{i}.png"
            Image.fromarray(photo[i * 50:i * 50 + 250, i * 70:i * 70 + 350]).save(path)
            paths.append(str(path))
            labels.append(label)
    head = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    pipe = skprep.make_image_pipeline("mobilenet_v2", head, weights=None, input_size=size)
    pipe.fit(paths, labels)
    files = {
        "joblib.load pipeline": tmp / "pipe.joblib",
        "skprep.load bundle": tmp / "pipe.skprep",
        "keras load_model .keras": tmp / "backbone.keras",
    }
    joblib.dump(pipe, files["joblib.load pipeline"])
    skprep.save(pipe, files["skprep.load bundle"])
    pipe.named_steps["extractor"].get_model().save(files["keras load_model .keras"])

    rows = []
    for name, body in _CHILD.items():
        results = [_run_child(body, str(files[name]), paths[0], size) for _ in range(runs)]
        row = {"method": name, "file_mb": files[name].stat().st_size / 1e6}
        for key in results[0]:
            row[key] = statistics.median(r[key] for r in results)
        rows.append(row)
    reference = rows[-1]["load_to_prediction_s"]
    print(f"\nFresh process, MobileNetV2 (weights=None) at {size}x{size}, median of {runs} "
          f"run(s); {os.cpu_count()} CPUs\n")
    print("| method | file | import TF | load | first prediction | load -> prediction | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        r["ratio_vs_keras"] = r["load_to_prediction_s"] / reference
        print(f"| {r['method']} | {r['file_mb']:.1f} MB | {r['import_s']:.2f} s | "
              f"{r['load_s']:.2f} s | {r['first_predict_s']:.2f} s | "
              f"{r['load_to_prediction_s']:.2f} s | {r['ratio_vs_keras']:.2f}x |")
    result = {"input_size": size, "runs": runs, "quick": args.quick, "rows": rows,
              "numpy": np.__version__}
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bundles.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
