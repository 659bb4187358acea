"""skprep: scikit-learn transformers for the input preprocessing of deep-learning models.

``import skprep`` is light: every public name is resolved from its module on first
access, so the import itself loads neither scikit-learn nor TensorFlow. Estimators
that need Keras (or Dask, skops, tqdm) import it when they are first used.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it; resolved on first attribute access (PEP 562)
_LAZY: dict[str, str] = {
    "ImageLoader": "images",
    "load_images": "images",
    "ImageLoadReport": "images",
    "KerasModeNormalizer": "normalize",
    "preprocess": "normalize",
    "unpreprocess": "normalize",
    "DatasetStatsStandardizer": "stats",
    "ModelSpec": "registry",
    "get_model_spec": "registry",
    "list_models": "registry",
    "SkprepError": "exceptions",
    "ImageLoadError": "exceptions",
    "UnknownModelError": "exceptions",
    "SkprepWarning": "exceptions",
    "InputRangeWarning": "exceptions",
    "KerasFeatureExtractor": "features",
    "make_image_pipeline": "pipelines",
    "StreamingPipeline": "streaming",
    "make_streaming_pipeline": "streaming",
    "save": "persistence",
    "load": "persistence",
    "read_manifest": "persistence",
    "WeightsUnavailableError": "exceptions",
    "UnsafeModelError": "exceptions",
    "BundleError": "exceptions",
    "BundleIntegrityError": "exceptions",
    "BundleSignatureError": "exceptions",
    "verify_signature": "persistence",
    "BundleVersionWarning": "exceptions",
    "TextVectorizer": "text",
    "SequencePadder": "text",
    "KerasTokenizer": "text",
    "TextInputError": "exceptions",
    "VocabularyError": "exceptions",
    "UnsupportedStepError": "exceptions",
    "to_keras": "export",
    "supported_steps": "export",
    "register_converter": "export",
    "ChannelMoments": "stats",
    "check_pipeline": "guard",
    "check_input_statistics": "guard",
    "PreprocessingFinding": "exceptions",
    "PreprocessingMismatchError": "exceptions",
    "PreprocessingMismatchWarning": "exceptions",
    "ImageAugmenter": "augment",
    "AugmentationParameterError": "exceptions",
}

__all__ = ["__version__", *_LAZY]

def __getattr__(name: str):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'skprep' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
