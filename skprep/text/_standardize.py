"""Keras-exact text standardization, splitting and n-grams, on UTF-8 bytes.

``keras.layers.TextVectorization`` runs TensorFlow string ops on UTF-8 bytes, and
their exact behaviour is narrower than Python's ``str`` methods:

- ``tf.strings.lower`` (no ``encoding``) lowercases **ASCII letters only**:
  ``"ÉCOLE"`` becomes ``"École"``. ``bytes.lower`` does exactly that.
- Punctuation stripping is the regex ``[!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~']``: the 32
  ASCII punctuation characters (:data:`string.punctuation`), nothing else. Curly
  quotes, dashes and other Unicode punctuation are kept.
- ``tf.strings.split`` (no separator) splits on runs of the six ASCII whitespace
  bytes ``" \\t\\n\\v\\f\\r"`` and drops empty pieces. ``str.split`` would also split
  on ``\\xa0``, ``\\u2003``, ``\\x1c``..``\\x1f``, ``\\x85``...; ``bytes.split`` does not.
- ``tf.strings.unicode_split`` splits into code points.
- ``tf.strings.ngrams(widths, separator=" ")`` emits, per document, all n-grams of
  the first width, then of the second, and so on; a width longer than the document
  gives nothing.

Working on bytes gives all of this from C-implemented ``bytes`` methods, and the
vocabulary tie-break of Keras (byte order) for free.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from typing import Any

from ..exceptions import TextInputError

__all__ = ["PUNCTUATION", "make_tokenizer", "to_bytes"]

#: The bytes that ``standardize="strip_punctuation"`` removes (Keras' regex class).
PUNCTUATION: bytes = string.punctuation.encode("ascii")


def to_bytes(item: Any, index: int) -> bytes:
    """One document as UTF-8 bytes; a clear error for anything but ``str`` / ``bytes``."""
    if isinstance(item, str):
        try:
            return item.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise TextInputError(
                f"Document {index} is not valid Unicode text ({exc.reason} at position "
                f"{exc.start}): {item[:50]!r}. Expected a str that encodes to UTF-8; "
                "remove or replace the lone surrogate characters."
            ) from exc
    if isinstance(item, bytes):
        return item
    raise TextInputError(
        f"Document {index} is of type {type(item).__name__} ({item!r:.50}); expected a str "
        "(or UTF-8 bytes). Replace missing values first, e.g. Series.fillna('') or "
        "[str(x) for x in docs]."
    )


def _standardizer(standardize: str | Callable | None) -> Callable[[bytes], bytes] | None:
    if standardize is None:
        return None
    if standardize == "lower_and_strip_punctuation":
        return lambda doc: doc.lower().translate(None, PUNCTUATION)
    if standardize == "lower":
        return bytes.lower
    if standardize == "strip_punctuation":
        return lambda doc: doc.translate(None, PUNCTUATION)

    def call(doc: bytes) -> bytes:
        out = standardize(doc.decode("utf-8"))
        if isinstance(out, bytes):
            return out
        if not isinstance(out, str):
            raise TextInputError(
                f"The standardize callable {standardize!r} returned "
                f"{type(out).__name__}; expected a str (it receives one document as a str)."
            )
        return out.encode("utf-8")

    return call


def _splitter(split: str | Callable | None) -> Callable[[bytes], list[bytes]]:
    if split is None:
        return lambda doc: [doc]
    if split == "whitespace":
        return bytes.split
    if split == "character":
        return lambda doc: [ch.encode("utf-8") for ch in doc.decode("utf-8")]

    def call(doc: bytes) -> list[bytes]:
        out = split(doc.decode("utf-8"))
        if isinstance(out, (str, bytes)) or not isinstance(out, Sequence):
            raise TextInputError(
                f"The split callable {split!r} returned {type(out).__name__}; expected a "
                "list of str tokens (it receives one standardized document as a str)."
            )
        return [t if isinstance(t, bytes) else str(t).encode("utf-8") for t in out]

    return call


def _with_ngrams(
    tokenize: Callable[[bytes], list[bytes]], widths: tuple[int, ...]
) -> Callable[[bytes], list[bytes]]:
    if widths == (1,):
        return tokenize

    def call(doc: bytes) -> list[bytes]:
        tokens = tokenize(doc)
        out: list[bytes] = []
        for n in widths:
            if n == 1:
                out.extend(tokens)
            else:
                join = b" ".join
                out.extend(join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return out

    return call


def make_tokenizer(
    standardize: str | Callable | None,
    split: str | Callable | None,
    ngrams: tuple[int, ...] | None,
) -> Callable[[bytes], list[bytes]]:
    """Build ``doc (UTF-8 bytes) -> list of tokens (bytes)``, Keras' preprocessing chain.

    Parameters
    ----------
    standardize : {"lower_and_strip_punctuation", "lower", "strip_punctuation"}, callable or None
        A callable receives one document as ``str`` and returns a ``str``.
    split : {"whitespace", "character"}, callable or None
        A callable receives one standardized document as ``str`` and returns a list of
        ``str`` tokens.
    ngrams : tuple of int or None
        N-gram widths, in output order.

    Examples
    --------
    >>> tokenize = make_tokenizer("lower_and_strip_punctuation", "whitespace", (1, 2))
    >>> tokenize("Hello, ÉCOLE  world!".encode())
    [b'hello', b'\\xc3\\x89cole', b'world', b'hello \\xc3\\x89cole', b'\\xc3\\x89cole world']
    """
    std = _standardizer(standardize)
    splitter = _splitter(split)
    if std is None:
        tokenize = splitter
    elif split == "whitespace" and standardize == "lower_and_strip_punctuation":
        def tokenize(doc: bytes) -> list[bytes]:
            return doc.lower().translate(None, PUNCTUATION).split()
    else:
        def tokenize(doc: bytes) -> list[bytes]:
            return splitter(std(doc))
    if ngrams is not None:
        tokenize = _with_ngrams(tokenize, tuple(ngrams))
    return tokenize
