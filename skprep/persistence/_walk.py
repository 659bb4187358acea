"""Find the estimators, and the Keras models, inside a (nested) scikit-learn object."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["iter_estimators", "find_keras_extractors"]


def _children(obj: Any) -> Iterator[tuple[str, Any]]:
    seen: set[int] = set()
    attrs: dict[str, Any] = {}
    if hasattr(obj, "get_params"):
        try:
            attrs.update(obj.get_params(deep=False))
        except Exception:  # noqa: BLE001 - a broken get_params hides nothing we need
            pass
    for name in ("steps", "transformer_list", "transformers", "transformers_",
                 "estimators_", "estimator_", "best_estimator_", "named_estimators_"):
        if name in getattr(obj, "__dict__", {}):
            attrs.setdefault(name, obj.__dict__[name])
    for name, value in attrs.items():
        items: list[tuple[str, Any]]
        if isinstance(value, dict):
            items = [(f"{name}[{k!r}]", v) for k, v in value.items()]
        elif isinstance(value, (list, tuple)):
            items = []
            for i, item in enumerate(value):
                if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[0], str):
                    items.append((item[0], item[1]))
                else:
                    items.append((f"{name}[{i}]", item))
        else:
            items = [(name, value)]
        for label, child in items:
            if hasattr(child, "get_params") and id(child) not in seen:
                seen.add(id(child))
                yield label, child


def iter_estimators(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(path, estimator)`` for ``obj`` and every estimator nested in it.

    Paths use scikit-learn's ``step__sub`` notation (``"extractor"``,
    ``"features__extractor"``). Fitted clones held by meta-estimators
    (``estimators_``, ``best_estimator_``) are included.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> [path for path, _ in iter_estimators(make_pipeline(StandardScaler()))]
    ['', 'standardscaler']
    """
    stack = [(prefix, obj)]
    visited: set[int] = set()
    while stack:
        path, est = stack.pop(0)
        if id(est) in visited:
            continue
        visited.add(id(est))
        yield path, est
        for label, child in _children(est):
            stack.append((f"{path}__{label}" if path else label, child))


def find_keras_extractors(obj: Any) -> list[tuple[str, Any]]:
    """Every estimator inside ``obj`` that holds a Keras model (has ``get_model``/``model_blob``).

    This is the one place that knows how to find Keras models in a pipeline; saving,
    loading and exporting use it.

    Returns
    -------
    list of (str, estimator)
        Path (``step__sub``) and estimator, in pipeline order.
    """
    return [
        (path, est)
        for path, est in iter_estimators(obj)
        if callable(getattr(est, "get_model", None)) and callable(getattr(est, "model_blob", None))
    ]
