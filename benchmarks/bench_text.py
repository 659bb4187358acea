"""Text vectorization throughput: skprep vs Keras ``TextVectorization`` vs sklearn, same run.

100k short documents (lines of Python standard-library docstrings, read from disk,
repeated in a fixed shuffled order), each way timed end to end, fit + transform:

* **skprep** ``TextVectorizer(...).fit(docs).transform(docs)`` (and ``fit_transform``,
  which tokenizes once, as a Pipeline calls it);
* **Keras** ``TextVectorization(...)``: ``adapt(docs)`` then ``layer(docs)`` (CPU);
* **sklearn** ``CountVectorizer().fit_transform(docs)`` (bag of words only; its own
  tokenization, so a speed reference rather than an identical computation).

Modes: ``int`` (``output_sequence_length=32``), ``count`` and ``tf_idf``
(``max_tokens=20000``). skprep and Keras outputs are checked to be equal (all
documents in ``int`` mode; the first 5000 in the bag modes, whose Keras output is
produced in chunks of 5000 documents to bound memory).

The legacy tokenizer, same documents: ``KerasTokenizer(num_words=10000,
oov_token="<OOV>").fit(docs).transform(docs)`` (and ``fit_transform``) against
``tf_keras.preprocessing.text.Tokenizer``'s ``fit_on_texts`` + ``texts_to_sequences``;
the sequences and ``word_index`` are checked to be equal. Target: >= 3x. Wall and CPU
(process) seconds are both reported: on a shared machine the CPU time is the steadier.

Usage: ``python benchmarks/bench_text.py [--quick]``; writes
``benchmarks/results/text.json``.
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
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the text corpus

import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "text.json"
CHUNK = 5000  # documents per Keras call in the bag modes


def short_documents(n: int) -> list[str]:
    """``n`` short real documents: docstring lines of 3..25 words, in a fixed shuffle."""
    from text_corpus import stdlib_docstrings

    docs, _ = stdlib_docstrings()
    lines = [line.strip() for doc in docs for line in doc.splitlines()]
    lines = [line for line in lines if 3 <= len(line.split()) <= 25]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(lines))
    return [lines[order[i % len(lines)]] for i in range(n)]


def _timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def run_mode(keras, docs: list[str], mode: str, repeats: int) -> dict:
    import tensorflow as tf
    from sklearn.feature_extraction.text import CountVectorizer

    from skprep import TextVectorizer

    kwargs = {"output_mode": mode, "max_tokens": 20000}
    if mode == "int":
        kwargs["output_sequence_length"] = 32

    def skprep_way():
        return TextVectorizer(**kwargs).fit(docs).transform(docs)

    def keras_way():
        # bag modes are called in chunks (a dense 100k x 20k float32 output is 8 GB);
        # count / multi_hot return tf.SparseTensor chunks
        layer = keras.layers.TextVectorization(**kwargs, sparse=mode in ("count",))
        layer.adapt(docs)
        if mode == "int":
            return np.asarray(layer(docs)), layer
        for start in range(0, len(docs), CHUNK):
            layer(docs[start : start + CHUNK])
        return None, layer

    t_sk, ours = _timed(skprep_way, repeats)
    t_sk_ft, _ = _timed(lambda: TextVectorizer(**kwargs).fit_transform(docs), repeats)
    t_keras, (theirs, layer) = _timed(keras_way, repeats)
    # equality: every document in int mode, the first CHUNK documents in bag modes
    if mode != "int":
        check = docs[:CHUNK]
        ours = TextVectorizer(**kwargs).fit(docs).transform(check).toarray()
        theirs = layer(check)
        theirs = (tf.sparse.to_dense(theirs) if isinstance(theirs, tf.SparseTensor)
                  else theirs).numpy()
    dense = ours
    if mode == "tf_idf":  # OOV column: TF's float32 mean (see TextVectorizer Notes)
        equal = bool(np.array_equal(dense[:, 1:], theirs[:, 1:])
                     and np.allclose(dense[:, 0], theirs[:, 0], rtol=2e-6))
    else:
        equal = bool(np.array_equal(dense, theirs))
    row = {"mode": mode, "n_docs": len(docs), "skprep_s": t_sk, "keras_s": t_keras,
           "keras_over_skprep": t_keras / t_sk, "equal_to_keras": equal,
           "skprep_docs_per_s": len(docs) / t_sk, "skprep_fit_transform_s": t_sk_ft}
    if mode != "int":
        t_cv, _ = _timed(lambda: CountVectorizer(max_features=20000).fit_transform(docs),
                         repeats)
        row.update({"sklearn_s": t_cv, "sklearn_over_skprep": t_cv / t_sk})
    return row


def _timed_cpu(fn, repeats: int) -> tuple[float, float, object]:
    """(median wall seconds, median process CPU seconds, last result)."""
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        out = None
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), out


def run_tokenizer(docs: list[str], repeats: int) -> dict | None:
    """KerasTokenizer against tf_keras' legacy Tokenizer: fit, then sequences."""
    try:
        from tf_keras.preprocessing.text import Tokenizer
    except ImportError:  # tf-keras is a dev dependency
        print("tokenizer: tf_keras is not installed, skipped", flush=True)
        return None
    from skprep import KerasTokenizer

    kwargs = {"num_words": 10000, "oov_token": "<OOV>"}

    def keras_way():
        tok = Tokenizer(**kwargs)
        tok.fit_on_texts(docs)
        return tok.texts_to_sequences(docs), tok.word_index

    def skprep_way():
        tok = KerasTokenizer(**kwargs).fit(docs)
        return tok.transform(docs), tok.word_index

    def skprep_fit_transform():
        return KerasTokenizer(**kwargs).fit_transform(docs)

    t_keras, c_keras, (theirs, their_index) = _timed_cpu(keras_way, repeats)
    t_sk, c_sk, (ours, our_index) = _timed_cpu(skprep_way, repeats)
    t_ft, c_ft, ours_ft = _timed_cpu(skprep_fit_transform, repeats)
    equal = ours == theirs == ours_ft and list(our_index.items()) == list(their_index.items())
    return {"n_docs": len(docs), "keras_s": t_keras, "skprep_s": t_sk,
            "skprep_fit_transform_s": t_ft, "keras_over_skprep": t_keras / t_sk,
            "keras_over_skprep_fit_transform": t_keras / t_ft, "keras_cpu_s": c_keras,
            "skprep_cpu_s": c_sk, "skprep_fit_transform_cpu_s": c_ft,
            "cpu_keras_over_skprep": c_keras / c_sk,
            "cpu_keras_over_skprep_fit_transform": c_keras / c_ft, "equal_to_keras": equal}


def _print_tokenizer(row: dict) -> None:
    print("\n| KerasTokenizer | docs | skprep fit+transform s | skprep fit_transform s | "
          "tf_keras Tokenizer s | tf_keras / skprep | tf_keras / skprep fit_transform | "
          "equal |")
    print("|---|---|---|---|---|---|---|---|")
    for kind, suffix in (("wall", "_s"), ("CPU", "_cpu_s")):
        ratio = "cpu_keras_over_skprep" if kind == "CPU" else "keras_over_skprep"
        print(f"| {kind} | {row['n_docs']} | {row['skprep' + suffix]:.2f} | "
              f"{row['skprep_fit_transform' + suffix]:.2f} | {row['keras' + suffix]:.2f} | "
              f"{row[ratio]:.2f}x | {row[ratio + '_fit_transform']:.2f}x | "
              f"{row['equal_to_keras']} |")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (< 60 s)")
    args = parser.parse_args(argv)
    import keras

    n_docs, repeats = (20_000, 1) if args.quick else (100_000, 3)
    modes = ["int", "count"] if args.quick else ["int", "count", "tf_idf"]
    docs = short_documents(n_docs)
    rows = []
    for mode in modes:
        # Keras' tf_idf adapt runs tf.unique document by document (minutes at 100k): once
        rows.append(run_mode(keras, docs, mode, 1 if mode == "tf_idf" else repeats))
        print(f"{mode}: {json.dumps(rows[-1])}", flush=True)
    tokenizer = run_tokenizer(docs, repeats)
    if tokenizer is not None:
        print(f"tokenizer: {json.dumps(tokenizer)}", flush=True)
    report = {
        "benchmark": "text", "quick": args.quick, "keras": keras.__version__,
        "python": platform.python_version(), "machine": platform.machine(),
        "cpu_count": os.cpu_count(), "rows": rows, "tokenizer": tokenizer,
    }
    print("| mode | docs | skprep fit+transform s | skprep fit_transform s | Keras adapt+call s"
          " | Keras / skprep | sklearn s | sklearn / skprep | equal to Keras |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cv = (f"{r['sklearn_s']:.2f} | {r['sklearn_over_skprep']:.2f}x" if "sklearn_s" in r
              else "- | -")
        print(f"| {r['mode']} | {r['n_docs']} | {r['skprep_s']:.2f} | "
              f"{r['skprep_fit_transform_s']:.2f} | {r['keras_s']:.2f} | "
              f"{r['keras_over_skprep']:.2f}x | {cv} | {r['equal_to_keras']} |")
    if tokenizer is not None:
        _print_tokenizer(tokenizer)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    print(f"wrote {RESULTS}")
    return report


if __name__ == "__main__":
    main()
