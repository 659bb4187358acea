"""KerasTokenizer -> a Keras 3 ``TextVectorization`` layer giving the same ids.

Keras 3 has no ``Tokenizer``; its ``TextVectorization`` can reproduce one whose
unknown words become ``oov_token`` at index 1, since the layer's own OOV index is 1 and
its vocabulary starts at 2, like the tokenizer's words after ``oov_token``. The
tokenizer's text rules become TensorFlow string ops: ``tf.strings.lower`` with
``encoding="utf-8"`` (full Unicode lowercasing, like ``str.lower``), a regex that
replaces every ``filters`` character by ``split``, and a split at ``split`` that drops
the empty pieces.

Known difference, in the data only: ``tf.strings.lower(..., encoding="utf-8")`` stops at
the first NUL character of a string, so with ``lower=True`` a document holding NUL
loses what follows it.
"""

from __future__ import annotations

from typing import Any

from .._keras import import_keras
from .._optional import import_optional
from ..exceptions import UnsupportedStepError

__all__ = ["text_vectorization"]

_RESERVED = ("", "[UNK]")  # TextVectorization's mask and OOV tokens


def _inexpressible(tokenizer: Any) -> list[str]:
    """The settings (and fitted facts) that no TextVectorization can reproduce."""
    reasons = []
    if tokenizer.oov_token is None:
        reasons.append("oov_token=None (unknown words are dropped; the layer maps them "
                       "to its OOV index 1): set an oov_token and refit")
    elif tokenizer.word_index_.get(tokenizer.oov_token) != 1:
        reasons.append(f"oov_token={tokenizer.oov_token!r} is also a corpus word, so its "
                       "index is not 1")
    if tokenizer.analyzer is not None:
        reasons.append("analyzer (a Python callable)")
    if tokenizer.output != "sequences":
        reasons.append(f"output={tokenizer.output!r} (texts_to_matrix's columns and tfidf "
                       "formula are not the layer's); use output='sequences'")
    reserved = [w for w in _RESERVED if w in tokenizer.word_index_]
    if reserved:
        reasons.append(f"the vocabulary holds the layer's reserved tokens {reserved}")
    if tokenizer.lower and any("\x00" in w for w in tokenizer.word_index_):
        reasons.append("lower=True with words holding NUL characters (TensorFlow's UTF-8 "
                       "lowercasing stops at the first NUL)")
    try:
        "".join(tokenizer.word_index_).encode("utf-8")
    except UnicodeEncodeError:
        bad = next(w for w in tokenizer.word_index_ if not _is_utf8(w))
        reasons.append(f"the vocabulary holds {bad!r}, which is not valid Unicode (a lone "
                       "surrogate): TensorFlow strings are UTF-8")
    return reasons


def _is_utf8(word: str) -> bool:
    try:
        word.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _vocabulary(tokenizer: Any) -> list[str]:
    """The words of ids 2 .. num_words - 1 (or all), in id order."""
    index_word = tokenizer.index_word_
    last = len(tokenizer.word_index_) + 1
    if tokenizer.num_words:
        last = min(last, tokenizer.num_words)
    return [index_word[i] for i in range(2, last)]


def text_vectorization(tokenizer: Any, *, name: str | None = None,
                       output_sequence_length: int | None = None):
    """See :meth:`KerasTokenizer.to_keras_layer`."""
    reasons = _inexpressible(tokenizer)
    if reasons:
        raise UnsupportedStepError(
            f"{type(tokenizer).__name__} cannot be expressed as a Keras 3 TextVectorization "
            f"layer: {'; '.join(reasons)}.")
    keras = import_keras()
    tf = import_optional("tensorflow", extra="keras", package="Keras 3 and TensorFlow")

    lower, char_level, split = tokenizer.lower, tokenizer.char_level, tokenizer.split
    filters = "".join(dict.fromkeys("".join(tokenizer.filters)))
    pattern = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in filters) + "]"
    rewrite = split.replace("\\", "\\\\")

    def standardize(text):
        if lower:
            text = tf.strings.lower(text, encoding="utf-8")
        if filters and not char_level:
            text = tf.strings.regex_replace(text, pattern, rewrite)
        return text

    def split_words(text):
        pieces = tf.strings.split(text, sep=split)
        return tf.ragged.boolean_mask(pieces, tf.strings.length(pieces) > 0)

    return keras.layers.TextVectorization(
        standardize=standardize,
        split="character" if char_level else split_words,
        vocabulary=_vocabulary(tokenizer) or None,
        output_mode="int",
        output_sequence_length=output_sequence_length,
        ragged=output_sequence_length is None,
        name=name,
    )
