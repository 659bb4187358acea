"""skprep: scikit-learn transformers for the input preprocessing of deep-learning models.

``import skprep`` is light: it imports numpy, Pillow and scikit-learn, never
TensorFlow. Estimators that need Keras import it when they are first used.
"""

from __future__ import annotations

from .exceptions import (
    ImageLoadError,
    InputRangeWarning,
    SkprepError,
    SkprepWarning,
    UnknownModelError,
)
from .images import ImageLoader, load_images
from .normalize import KerasModeNormalizer, preprocess, unpreprocess
from .registry import ModelSpec, get_model_spec, list_models
from .stats import DatasetStatsStandardizer

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "ImageLoader",
    "load_images",
    "KerasModeNormalizer",
    "preprocess",
    "unpreprocess",
    "DatasetStatsStandardizer",
    "ModelSpec",
    "get_model_spec",
    "list_models",
    "SkprepError",
    "ImageLoadError",
    "UnknownModelError",
    "SkprepWarning",
    "InputRangeWarning",
]

# Names whose modules import Keras / optional dependencies: resolved on first access.
_LAZY: dict[str, str] = {}


def __getattr__(name: str):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'skprep' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
