"""Inference bundles: save a fitted pipeline to one file, load it safely elsewhere.

A bundle is a zip file:

* ``manifest.json``: format name and version, the versions of skprep, scikit-learn,
  Keras, TensorFlow, numpy, skops and Python that wrote it, the creation time (UTC),
  your metadata, and the sha256 of every other member;
* ``estimator.skops``: the pipeline written with ``skops.io`` (no pickle), where every
  Keras model is replaced by a reference to a member ``models/<n>.keras``; or, with
  ``format="pickle"``, ``estimator.joblib``;
* ``models/<n>.keras``: each Keras model once, in Keras' own format.

:func:`load` checks every checksum, warns on version skew, loads the skops payload with
an explicit list of trusted types (scikit-learn's, numpy's and skprep's own, except the
trees whose raw indices scikit-learn reads unchecked: ``_trust.UNSAFE_TYPES``), loads the
Keras models with ``safe_mode=True``, and refuses pickle unless ``allow_pickle=True``.
The skops node types a skprep pipeline uses are read without importing ``skops.io``
(``_skops_reader``); anything else is read by ``skops.io``. It reads boundedly: zip
headers are compared with the manifest and a size cap before anything is decompressed,
and members are hashed while they stream.

``save(..., sign_with=private_key)`` also writes ``<bundle>.sig`` in OpenSSF
model-signing's format (elliptic-curve key, offline); ``load(..., verify_with=public_key)``
verifies it before reading anything.
"""

import functools

from ._bundle import BUNDLE_FORMAT, BUNDLE_VERSION, read_manifest, save
from ._bundle import load as _load_bundle
from ._signing import signature_path, signature_status, verify_signature
from ._walk import find_keras_extractors, iter_estimators

__all__ = [
    "save",
    "load",
    "read_manifest",
    "verify_signature",
    "signature_status",
    "signature_path",
    "find_keras_extractors",
    "iter_estimators",
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
]


@functools.wraps(_load_bundle)
def load(path, **options):
    estimator = _load_bundle(path, **options)
    # a pipeline whose preprocessing does not fit its model is worth a warning at load time
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        from ..guard import check_pipeline, warn_findings

        warn_findings(check_pipeline(estimator), f"skprep.load({str(path)!r})")
    return estimator


load.__doc__ = (load.__doc__ or "").rstrip() + """
    PreprocessingMismatchWarning
        When the loaded pipeline's preprocessing does not fit its model
        (:func:`skprep.check_pipeline` finds something of severity "warning" or more).
"""
