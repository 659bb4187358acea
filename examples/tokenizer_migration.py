"""Move a legacy Keras ``Tokenizer`` + ``pad_sequences`` into a fitted sklearn pipeline.

A model trained with Keras 2 came with a ``tokenizer.json`` saved by
``tokenizer.to_json()``. Keras 3 has no ``Tokenizer``; ``KerasTokenizer.from_json``
turns that file into a fitted skprep estimator with the very same ids, and
``SequencePadder`` replaces ``pad_sequences``. Offline, in seconds: the texts are
scikit-learn's dataset descriptions (read from disk).

    python examples/tokenizer_migration.py

With ``tf-keras`` installed the legacy side really runs ``tf_keras``' Tokenizer;
without it, the file is written by skprep (the same JSON format).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import joblib
import numpy as np
import sklearn.datasets
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import make_pipeline

from skprep import KerasTokenizer, SequencePadder
from skprep.text import pad_sequences

MAXLEN = 100


def descriptions() -> list[str]:
    """Paragraphs of scikit-learn's dataset descriptions (real English text on disk)."""
    root = Path(sklearn.datasets.__file__).parent / "descr"
    return [p.strip() for f in sorted(root.glob("*.rst"))
            for p in f.read_text(encoding="utf-8").split("\n\n") if p.strip()]


def legacy_preprocessing(train: list[str], new: list[str], folder: Path
                         ) -> tuple[Path, np.ndarray]:
    """What the Keras 2 code did: fit on the training texts, save tokenizer.json; at
    inference, ids of new texts padded to MAXLEN. Returns (the file, those ids)."""
    path = folder / "tokenizer.json"
    try:
        from tf_keras.preprocessing.sequence import pad_sequences as keras_pad
        from tf_keras.preprocessing.text import Tokenizer
    except ImportError:
        print("tf_keras not installed: tokenizer.json written by skprep (same format)")
        tokenizer = KerasTokenizer(num_words=1000, oov_token="<OOV>").fit(train)
        path.write_text(tokenizer.to_json(), encoding="utf-8")
        return path, pad_sequences(tokenizer.transform(new), maxlen=MAXLEN,
                                   padding="post", truncating="post")
    tokenizer = Tokenizer(num_words=1000, oov_token="<OOV>")
    tokenizer.fit_on_texts(train)
    path.write_text(tokenizer.to_json(), encoding="utf-8")
    return path, keras_pad(tokenizer.texts_to_sequences(new), maxlen=MAXLEN,
                           padding="post", truncating="post")


def main() -> None:
    texts = descriptions()
    train, new = texts[::2], texts[1::2]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, expected = legacy_preprocessing(train, new, folder)

        # the migration: the saved vocabulary, frozen, then Keras-style padding
        tokenizer = KerasTokenizer.from_json(path.read_text(encoding="utf-8"))
        preprocess = make_pipeline(FrozenEstimator(tokenizer),
                                   SequencePadder(maxlen=MAXLEN, padding="post",
                                                  truncating="post"))
        preprocess.fit(train)  # fits the padder only; the vocabulary stays as saved
        print(f"{len(tokenizer.word_index)} words from {tokenizer.document_count} "
              f"documents; the model sees ids < {tokenizer.num_words}")

        ids = preprocess.transform(new)
        same = ids.shape == expected.shape and bool(np.array_equal(ids, expected))
        print(f"{len(new)} new texts -> ids {ids.shape}; identical to the legacy "
              f"Tokenizer + pad_sequences: {same}")
        first = tokenizer.transform(new[:1])[0][:8]
        print("first ids:", first, "->", tokenizer.inverse_transform([first])[0])

        # the pipeline is the serving artefact; the JSON stays Keras' format
        joblib.dump(preprocess, folder / "preprocess.joblib")
        served = joblib.load(folder / "preprocess.joblib").transform(new)
        print("reloaded pipeline gives the same ids:", bool(np.array_equal(served, ids)))
        print("JSON written back is byte-identical:",
              tokenizer.to_json() == path.read_text(encoding="utf-8"))
        if not same:
            raise SystemExit("the ids differ from the legacy preprocessing")


if __name__ == "__main__":
    main()
