"""Lazy Keras helpers: import on demand, a model <-> ``.keras`` bytes, safe loading.

Nothing here imports Keras or TensorFlow at module import; every function imports
Keras when it is called. Models travel as bytes in Keras' own ``.keras`` format
(architecture + weights in a zip), never as pickled Keras internals.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from ._optional import import_optional
from .exceptions import ModelFileNotFoundError, SkprepError, UnsafeModelError

__all__ = [
    "KerasModelBlob",
    "import_keras",
    "is_keras_model",
    "model_to_bytes",
    "model_from_bytes",
    "load_model_file",
    "sha256",
]


# Set by skprep.save / skprep.load while a bundle is written or read: a blob then stores a
# reference to a bundle member instead of its bytes (each model stored once in the bundle).
BUNDLE_WRITER: contextvars.ContextVar[Callable[[bytes], str] | None] = contextvars.ContextVar(
    "skprep_bundle_writer", default=None
)
BUNDLE_READER: contextvars.ContextVar[Callable[[str], tuple[bytes, Any]] | None] = (
    contextvars.ContextVar("skprep_bundle_reader", default=None)
)


def import_keras():
    """Import and return ``keras`` (3.x), or raise an ImportError that says how to install it."""
    return import_optional("keras", extra="keras", package="Keras 3 and TensorFlow")


def is_keras_model(obj: Any) -> bool:
    """True when ``obj`` is a ``keras.Model``, checked without importing Keras.

    A Keras model can only exist once Keras is imported, so Keras is looked up among
    the imported modules, never imported here.
    """
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(obj, keras.Model)


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def model_to_bytes(model: Any) -> bytes:
    """Serialize a Keras model to the bytes of a ``.keras`` file."""
    with tempfile.TemporaryDirectory(prefix="skprep-") as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with open(path, "rb") as fh:
            return fh.read()


def _load(path: str, safe_mode: bool, what: str) -> Any:
    keras = import_keras()
    try:
        return keras.models.load_model(path, compile=False, safe_mode=safe_mode)
    except ValueError as exc:
        text = str(exc)
        if safe_mode and ("safe_mode" in text or "Lambda" in text):
            raise UnsafeModelError(
                f"{what} contains code that Keras refuses to load in safe mode (for example a "
                "Lambda layer, whose Python bytecode would run when loaded). Received a model "
                "that needs safe_mode=False. Only if you trust where it came from, load it "
                "with safe_mode=False (KerasFeatureExtractor(safe_mode=False)); otherwise "
                "replace the Lambda layer by a registered custom layer."
            ) from exc
        raise


def model_from_bytes(data: bytes, *, safe_mode: bool = True, what: str = "The Keras model") -> Any:
    """Rebuild a Keras model from ``.keras`` bytes (``compile=False``).

    Raises
    ------
    UnsafeModelError
        If ``safe_mode`` is True and the model holds arbitrary code (a Lambda layer).
    """
    with tempfile.TemporaryDirectory(prefix="skprep-") as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as fh:
            fh.write(data)
        return _load(path, safe_mode, what)


def load_model_file(path: str | os.PathLike, *, safe_mode: bool = True) -> Any:
    """Load a ``.keras`` or ``.h5`` model file (``compile=False``)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelFileNotFoundError(
            f"Keras model file {path!r} does not exist. Expected the path of a .keras or .h5 "
            "file, a registry name (skprep.list_models()) or a keras.Model."
        )
    return _load(path, safe_mode, f"The Keras model file {path!r}")




class KerasModelBlob:
    """A Keras model held as the bytes of a ``.keras`` file (what skprep pickles).

    Parameters
    ----------
    data : bytes
        Content of a ``.keras`` file.

    Attributes
    ----------
    data : bytes
        The same bytes.
    sha256 : str
        Their hex sha256.
    """

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self._model = None  # a model already loaded in safe mode (set by skprep.load)

    @property
    def sha256(self) -> str:
        return sha256(self.data)

    def load(self, *, safe_mode: bool = True) -> Any:
        """Rebuild the Keras model (a fresh one unless skprep.load already built it)."""
        if self._model is not None:
            return self._model
        return model_from_bytes(self.data, safe_mode=safe_mode)

    def __getstate__(self) -> dict:
        writer = BUNDLE_WRITER.get()
        if writer is not None:
            return {"member": writer(self.data)}
        return {"data": self.data}

    def __setstate__(self, state: dict) -> None:
        self._model = None
        if "member" in state:
            reader = BUNDLE_READER.get()
            if reader is None:
                raise SkprepError(
                    f"This object refers to the bundle member {state['member']!r}: it can only "
                    "be read by skprep.load(path), not by itself."
                )
            self.data, self._model = reader(str(state["member"]))
        else:
            self.data = bytes(state["data"])

    def __repr__(self) -> str:
        return f"KerasModelBlob(<{len(self.data)} bytes, sha256={self.sha256[:12]}>)"
