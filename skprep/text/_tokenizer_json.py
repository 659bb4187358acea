"""The JSON of Keras' ``Tokenizer.to_json()``: written as Keras writes it, read with
``tokenizer_from_json``'s rules."""

from __future__ import annotations

import json
from typing import Any

from ..exceptions import VocabularyError

__all__ = ["JSON_PARAMS", "dump_json", "parse_config", "parse_state"]

JSON_PARAMS = ("num_words", "filters", "lower", "split", "char_level", "oov_token")
_JSON_DICTS = ("word_counts", "word_docs", "index_docs", "word_index")


def dump_json(params: dict[str, Any], state: dict[str, Any], **kwargs: Any) -> str:
    """Keras' ``to_json``: the config in ``get_config``'s key order, each dictionary
    ``json.dumps``'d on its own, ``kwargs`` for the outer ``json.dumps`` only."""
    num_words = params["num_words"]
    config = {
        "num_words": None if num_words is None else int(num_words),
        "filters": params["filters"],
        "lower": bool(params["lower"]),
        "split": params["split"],
        "char_level": bool(params["char_level"]),
        "oov_token": params["oov_token"],
        "document_count": state["document_count"],
        **{key: json.dumps(state[key]) for key in
           ("word_counts", "word_docs", "index_docs", "index_word", "word_index")},
    }
    return json.dumps({"class_name": "Tokenizer", "config": config}, **kwargs)


def parse_config(json_string: str | bytes) -> dict[str, Any]:
    """The ``config`` dict of a Keras tokenizer JSON, its keys checked."""
    try:
        payload = json.loads(json_string)
        config = dict(payload["config"])
    except (ValueError, TypeError, KeyError) as exc:
        raise VocabularyError(
            "KerasTokenizer.from_json expects the JSON of Keras' Tokenizer.to_json(), "
            f'{{"class_name": "Tokenizer", "config": {{...}}}}; could not read it: {exc!r}'
        ) from exc
    known = {*JSON_PARAMS, *_JSON_DICTS, "document_count", "index_word"}
    unknown = sorted(set(config) - known)
    missing = [k for k in _JSON_DICTS if k not in config]
    if unknown or missing:
        raise VocabularyError(
            f"KerasTokenizer.from_json: the tokenizer config has unknown keys {unknown} "
            f"and lacks {missing}; expected the keys of Keras' Tokenizer.get_config().")
    return config


def parse_state(config: dict[str, Any]) -> tuple:
    """(word_counts, word_docs, document_count, word_index, index_word, index_docs)."""
    try:
        dicts = {k: json.loads(config[k]) for k in _JSON_DICTS}
        # json turns int keys into str: Keras' tokenizer_from_json turns them back
        index_docs = {int(k): v for k, v in dicts["index_docs"].items()}
        word_index = dicts["word_index"]
        index_word = ({int(k): v for k, v in json.loads(config["index_word"]).items()}
                      if "index_word" in config else {i: w for w, i in word_index.items()})
    except (ValueError, TypeError, AttributeError) as exc:
        raise VocabularyError(
            "KerasTokenizer.from_json: the config's word_counts, word_docs, index_docs, "
            "word_index and index_word must be JSON objects in strings (as Keras writes "
            f"them); could not read them: {exc!r}") from exc
    bad = [(w, i) for w, i in word_index.items()
           if not isinstance(i, int) or isinstance(i, bool) or i < 1]
    if bad:
        raise VocabularyError(
            f"KerasTokenizer.from_json: word_index maps {bad[0][0]!r} to {bad[0][1]!r}; "
            "indices must be ints >= 1.")
    document_count = config.get("document_count", 0)
    if not isinstance(document_count, int) or document_count < 0:
        raise VocabularyError(
            f"KerasTokenizer.from_json: document_count is {document_count!r}; expected an "
            "int >= 0.")
    return (dicts["word_counts"], dicts["word_docs"], document_count, word_index,
            index_word, index_docs)
