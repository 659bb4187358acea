"""Train a text classifier with a Keras-exact vectorizer, save it, reload it elsewhere.

Offline, in seconds: the corpus is the docstrings of a few Python standard-library
packages (read from disk), the task is to tell which package a docstring comes from.
The fitted vocabulary and TF-IDF weights travel inside the pickled pipeline, so the
serving process (a fresh interpreter, without TensorFlow) tokenizes exactly like
training did.

    python examples/text_classifier.py
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer

from skprep import TextVectorizer

PACKAGES = ("asyncio", "email", "logging", "unittest", "xml")
DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def stdlib_docstrings(packages: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Every docstring of these standard-library packages (read, never imported), and
    the package each one comes from (the label to predict)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    pairs = [
        (doc, package)
        for package in packages
        for path in sorted((stdlib / package).rglob("*.py"))
        if "test" not in path.relative_to(stdlib).parts[1:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, DOCUMENTED) and (doc := ast.get_docstring(node, clean=True))
    ]
    return [doc for doc, _ in pairs], [package for _, package in pairs]


def main() -> None:
    docs, labels = stdlib_docstrings(packages=PACKAGES)
    x_train, x_test, y_train, y_test = train_test_split(
        docs, labels, test_size=0.25, random_state=0, stratify=labels)
    print(f"{len(docs)} docstrings from {len(PACKAGES)} packages; "
          f"{len(x_train)} to train, {len(x_test)} to test")

    pipe = make_pipeline(
        TextVectorizer(output_mode="tf_idf", max_tokens=5000),  # sparse CSR out
        Normalizer(),  # unit-length rows: the classifier converges in a few iterations
        LogisticRegression(C=10.0, max_iter=1000),
    ).fit(x_train, y_train)
    vectorizer = pipe[0]
    print(f"vocabulary: {vectorizer.vocabulary_size()} terms, first ones "
          f"{vectorizer.get_vocabulary()[1:8]}")
    print(f"test accuracy: {pipe.score(x_test, y_test):.3f}")

    with tempfile.TemporaryDirectory(prefix="skprep-text-") as folder:  # removed at the end
        serve_in_a_fresh_process(pipe, Path(folder), x_test)


def serve_in_a_fresh_process(pipe, folder: Path, x_test) -> None:
    model_path = folder / "docstring_classifier.joblib"
    joblib.dump(pipe, model_path)
    expected = pipe.predict(x_test)

    # Serving: a fresh process that only has the file (and skprep + scikit-learn).
    serve = textwrap.dedent(f"""
        import sys, joblib
        pipe = joblib.load({str(model_path)!r})
        texts = ["Return a new event loop and run the coroutine until it completes.",
                 "Parse a MIME message with headers and a multipart body.",
                 "Emit a log record to the handler, formatting it first."]
        for text, label in zip(texts, pipe.predict(texts)):
            print(f"  {{label:9s}} <- {{text}}")
        import json
        print(json.dumps(pipe.predict(sys.stdin.read().split("\\x1e")).tolist()))
        print("TensorFlow loaded:", "tensorflow" in sys.modules)
        """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", serve], input="\x1e".join(x_test),
                         capture_output=True, text=True, env=env, check=True)
    lines = out.stdout.rstrip().splitlines()
    print("reloaded in a fresh process:")
    print("\n".join(lines[:3]))
    import json

    reloaded = np.array(json.loads(lines[3]))
    assert np.array_equal(reloaded, expected), "reloaded predictions differ"
    print(f"{len(reloaded)} test predictions identical after reload; {lines[4]}")


if __name__ == "__main__":
    main()
