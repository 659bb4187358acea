"""Text preprocessing: Keras-exact vectorization and sequence padding, as sklearn transformers.

:class:`TextVectorizer` reproduces ``keras.layers.TextVectorization`` (fitted like
``adapt``), :class:`SequencePadder` and :func:`pad_sequences` reproduce
``keras.utils.pad_sequences``; :class:`KerasTokenizer` reproduces the legacy
``keras.preprocessing.text.Tokenizer`` and its JSON. Nothing here imports TensorFlow, except
:meth:`TextVectorizer.to_keras_layer`.
"""

from __future__ import annotations

from ._padder import SequencePadder, pad_sequences
from ._tokenizer import KerasTokenizer
from ._vectorizer import TextVectorizer

__all__ = ["TextVectorizer", "SequencePadder", "pad_sequences", "KerasTokenizer"]
