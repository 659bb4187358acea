"""Exceptions and warnings raised by skprep.

Every error derives from :class:`SkprepError` *and* from the builtin exception
that matches its meaning (``ValueError``, ``TypeError``, ...), so code written
against the builtin keeps working while ``except SkprepError`` catches all of
skprep's own failures.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [  # noqa: F822 (InvalidParameterError: made on first access)
    "SkprepError",
    "ImageLoadError",
    "ImageNotFoundError",
    "ImageDecodeError",
    "ImageTooLargeError",
    "UnsupportedImageError",
    "ImageFailure",
    "UnknownModelError",
    "InputShapeError",
    "SkprepWarning",
    "InputRangeWarning",
    "ImageLoadWarning",
    "WeightsUnavailableError",
    "UnsafeModelError",
    "BundleError",
    "BundleIntegrityError",
    "BundleSignatureError",
    "BundleUnsafeModelError",
    "BundleVersionWarning",
    "UnsupportedCollectionError",
    "TextInputError",
    "VocabularyError",
    "UnsupportedStepError",
    "ModelFileNotFoundError",
    "UnknownParameterError",
    "PickleRefusedError",
    "CLIError",
    "InvalidParameterError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "NotDistributableError",
    "DistributedStateError",
    "AugmentationParameterError",
    "MAX_LISTED_FAILURES",
    "failure_lines",
    "summarize_failures",
    "PreprocessingFinding",
    "PreprocessingMismatchError",
    "PreprocessingMismatchWarning",
    "ImageFolderError",
    "ImageFolderNotFoundError",
]

#: A message lists at most this many failed items; the rest are counted.
MAX_LISTED_FAILURES = 20


class SkprepError(Exception):
    """Base class of every error raised by skprep."""


@dataclass(frozen=True)
class ImageFailure:
    """One item that could not be loaded.

    Attributes
    ----------
    index : int
        Position of the item in the input batch.
    source : str
        Human-readable description of the item: the path, or ``"<bytes: N bytes>"``,
        ``"<file object: name>"``, ``"<PIL.Image mode=... size=...>"``.
    error_type : str
        Name of the skprep error class that describes the failure.
    message : str
        What went wrong, including the underlying cause.
    """

    index: int
    source: str
    error_type: str
    message: str

    def __str__(self) -> str:
        return f"item {self.index} ({self.source}): {self.message}"


class ImageLoadError(SkprepError, ValueError):
    """An image could not be loaded.

    Raised for one item (then a subclass names the kind of failure, and the
    original exception is chained as ``__cause__``), or for several items at once
    (then :attr:`failures` lists every one of them).

    Attributes
    ----------
    failures : list of ImageFailure
        Every item that failed, in input order.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        index: int | None = None,
        source: str | None = None,
        failures: Sequence[ImageFailure] | None = None,
    ) -> None:
        self.index = index
        self.source = source
        if failures is None:
            failures = []
            if index is not None:
                failures = [
                    ImageFailure(index, source or "?", type(self).__name__, message or "")
                ]
        self.failures = list(failures)
        if index is not None:
            text = f"Could not load image {index} ({source}): {message}"
        elif message is not None:
            text = message
        else:
            text = summarize_failures(self.failures)
        super().__init__(text)

    def __reduce__(self):
        # The keyword-only __init__ (and OSError's own reduce for ImageNotFoundError)
        # would not round-trip through pickle; rebuild from the message and the state,
        # so the error crosses process boundaries (Dask, joblib, tblib) intact.
        return (_rebuild_error, (type(self), str(self), dict(self.__dict__)))

    @staticmethod
    def _summary(failures: Sequence[ImageFailure]) -> str:
        # kept for callers written before summarize_failures existed
        return summarize_failures(failures)


def failure_lines(failures: Sequence[ImageFailure], more: str = "") -> list[str]:
    """One ``"  - item i (source): message"`` line per failure, at most
    :data:`MAX_LISTED_FAILURES` of them, then ``"  ... and N more"`` + ``more``."""
    lines = [f"  - {failure}" for failure in failures[:MAX_LISTED_FAILURES]]
    if len(failures) > MAX_LISTED_FAILURES:
        lines.append(f"  ... and {len(failures) - MAX_LISTED_FAILURES} more{more}")
    return lines


def summarize_failures(failures: Sequence[ImageFailure], headline: str | None = None) -> str:
    """The message of an :class:`ImageLoadError` for several failed items.

    Parameters
    ----------
    failures : sequence of ImageFailure
        The failed items, in input order.
    headline : str, default=None
        The first line; by default ``"N image(s) could not be loaded:"``.

    Returns
    -------
    str
        The headline, the listed failures, and how to fix them.
    """
    lines = [headline or f"{len(failures)} image(s) could not be loaded:"]
    lines += failure_lines(failures, " (see the .failures attribute)")
    lines.append(
        "Fix or remove these items, or pass on_error='fill' to fill their rows and "
        "get a report of what failed."
    )
    return "\n".join(lines)


def _rebuild_error(cls: type, text: str, state: dict) -> BaseException:
    """Unpickle an :class:`ImageLoadError` without calling its ``__init__``."""
    # an OSError subclass (ImageNotFoundError) must be made by OSError.__new__: Python
    # refuses ValueError.__new__ for a class that also derives from FileNotFoundError
    error = (OSError.__new__ if issubclass(cls, OSError) else cls.__new__)(cls)
    BaseException.__init__(error, text)
    error.__dict__.update(state)
    return error


class ImageNotFoundError(ImageLoadError, FileNotFoundError):
    """The path does not exist, or is not a regular file."""


class ImageDecodeError(ImageLoadError):
    """The bytes are not a readable image (corrupt, truncated or not an image)."""


class ImageTooLargeError(ImageLoadError):
    """The image declares more pixels (or the file more bytes) than allowed."""


class UnsupportedImageError(ImageLoadError, TypeError):
    """The item is of a type, or the image of a mode, that skprep cannot load."""


class UnknownModelError(SkprepError, ValueError):
    """A model name that is not in the registry."""


class InputShapeError(SkprepError, ValueError):
    """An array does not have the shape an estimator expects."""


class SkprepWarning(UserWarning):
    """Base class of every warning issued by skprep."""


class InputRangeWarning(SkprepWarning):
    """Input values look like they are on the wrong scale (e.g. [0, 1] where 0-255 is expected)."""


class ImageLoadWarning(SkprepWarning):
    """Some images failed and were filled (``on_error="fill"``).

    Attributes
    ----------
    failures : list of ImageFailure
        Every item that failed, in input order.
    """

    def __init__(self, message: str, failures: Sequence[ImageFailure] = ()) -> None:
        super().__init__(message)
        self.failures = list(failures)


class WeightsUnavailableError(SkprepError, OSError):
    """Pretrained weights could not be obtained (no network, or a missing weights file)."""


class UnsafeModelError(SkprepError, ValueError):
    """A Keras model holds arbitrary code (a Lambda layer) and safe mode refuses it."""


class BundleError(SkprepError, ValueError):
    """A bundle file cannot be read or refuses to load (untrusted types, pickle, format)."""


class BundleIntegrityError(BundleError):
    """A bundle member is missing, truncated or altered (sha256 mismatch)."""


class BundleVersionWarning(SkprepWarning):
    """A bundle was written with other versions of skprep or its dependencies."""


class UnsupportedCollectionError(SkprepError, TypeError):
    """A collection that :mod:`skprep.distributed` cannot split into rows (or its column)."""


class TextInputError(SkprepError, TypeError, ValueError):
    """A document is not text (``str`` / UTF-8 ``bytes``), or a text callable misbehaved.

    Derives from both ``TypeError`` (a non-string item) and ``ValueError`` (a string
    that is not valid Unicode), so either ``except`` clause catches it.
    """


class VocabularyError(SkprepError, ValueError):
    """A fixed vocabulary (or its IDF weights) is unusable: repeated or reserved terms,
    too many terms for ``max_tokens``, or weights of the wrong length."""


class UnsupportedStepError(SkprepError, ValueError):
    """A pipeline step that cannot be exported (to Keras); the message lists the supported ones."""


class ModelFileNotFoundError(SkprepError, FileNotFoundError):
    """A model or weights file that does not exist."""


class UnknownParameterError(SkprepError, ValueError):
    """An override names no parameter of the pipeline."""


class PickleRefusedError(BundleError):
    """A file holds pickle content (which runs code when loaded) and ``allow_pickle`` is False."""


class CLIError(SkprepError, ValueError):
    """Bad input on the command line: reported as one line, exit status 1."""


class AugmentationParameterError(SkprepError, ValueError):
    """An :class:`~skprep.ImageAugmenter` factor, crop size or transformation is invalid."""


class BundleSignatureError(BundleError):
    """A bundle's signature is missing, broken, made with another key, or does not match
    the bundle (it changed after signing)."""


class BundleUnsafeModelError(BundleError, UnsafeModelError):
    """A Keras model inside a bundle holds code that ``safe_mode=True`` refuses."""


# ---------------------------------------------------------------- preprocessing checks

#: severities of a PreprocessingFinding, weakest first
SEVERITIES: tuple[str, ...] = ("info", "warning", "error")


@dataclass(frozen=True)
class PreprocessingFinding:
    """One disagreement between a pipeline's preprocessing and its model.

    Attributes
    ----------
    code : str
        Stable identifier of the kind of finding (``"normalizer-mode-mismatch"``, ...).
    severity : {"info", "warning", "error"}
        ``"error"``: the model gets input it was not trained on; ``"warning"``: likely
        wrong; ``"info"``: allowed, but worth knowing (a non-default input size).
    steps : tuple of str
        Names of the pipeline steps involved (``"outer__inner"`` inside nested pipelines).
    message : str
        What is wrong and what the model expects, ending with the fix.
    fix : str
        The one-line fix on its own.
    """

    code: str
    severity: str
    steps: tuple[str, ...]
    message: str
    fix: str

    def __str__(self) -> str:
        return f"[{self.severity}] {self.code}: {self.message}"


def _findings_text(head: str, findings: Sequence[PreprocessingFinding]) -> str:
    return "\n".join([head, *(f"  - {finding}" for finding in findings)])


class PreprocessingMismatchError(SkprepError, ValueError):
    """A pipeline's preprocessing does not fit its model (``check_pipeline(raise_on=...)``).

    Attributes
    ----------
    findings : list of PreprocessingFinding
        Every finding of the check, the ones that caused the error included.
    """

    def __init__(self, findings: Sequence[PreprocessingFinding], head: str | None = None) -> None:
        self.findings = list(findings)
        super().__init__(_findings_text(
            head or f"{len(self.findings)} preprocessing problem(s) in the pipeline:",
            self.findings,
        ))

    def __reduce__(self):
        return (type(self), (self.findings, str(self).split("\n", 1)[0]))


class PreprocessingMismatchWarning(SkprepWarning):
    """The input or the steps of a pipeline do not match what its model expects.

    Attributes
    ----------
    findings : list of PreprocessingFinding
        What was found.
    """

    def __init__(self, message: str, findings: Sequence[PreprocessingFinding] = ()) -> None:
        super().__init__(message)
        self.findings = list(findings)


class ImageFolderError(SkprepError, ValueError):
    """A folder of images cannot be listed as asked (:func:`skprep.paths_from_directory`):
    no image files, ``class_names`` that are not sub-folders, labels of the wrong length,
    or a ``validation_split`` / ``subset`` / ``seed`` combination that cannot work."""


class ImageFolderNotFoundError(ImageFolderError, FileNotFoundError):
    """The folder given to :func:`skprep.paths_from_directory` does not exist or is a file."""


class InvalidArgumentError(SkprepError, ValueError):
    """A function argument (not an estimator parameter) outside its allowed values."""


class InvalidArgumentTypeError(SkprepError, TypeError):
    """A function argument (not an estimator parameter) of the wrong type."""


class NotDistributableError(SkprepError, TypeError):
    """A lazy (Dask) collection passed where in-memory data is needed; the message names
    the :mod:`skprep.distributed` function that handles it."""


class DistributedStateError(SkprepError, RuntimeError):
    """A Dask collection is not in the state the operation needs (e.g. unknown chunks)."""


_CLASS_LOCK = threading.Lock()


def _invalid_parameter_error() -> type:
    # made on first use: it derives from scikit-learn's InvalidParameterError (so
    # scikit-learn's own checks recognise it), and this module must not import sklearn
    from ._compat import SklearnInvalidParameterError

    class InvalidParameterError(SkprepError, SklearnInvalidParameterError):
        """An estimator parameter breaks its ``_parameter_constraints``.

        Also scikit-learn's ``InvalidParameterError``, hence ``ValueError`` and
        ``TypeError``. Import it as ``skprep.exceptions.InvalidParameterError``.
        """

    InvalidParameterError.__qualname__ = "InvalidParameterError"
    InvalidParameterError.__module__ = __name__
    return InvalidParameterError


def __getattr__(name: str):
    if name != "InvalidParameterError":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _CLASS_LOCK:
        if "InvalidParameterError" not in globals():
            globals()["InvalidParameterError"] = _invalid_parameter_error()
    return globals()["InvalidParameterError"]
