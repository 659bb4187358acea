"""Quiet starts: import TensorFlow without its start-up lines on stderr.

TensorFlow 2.16+ logs through Abseil, which writes every message issued before
``absl::InitializeLog()`` to stderr whatever ``TF_CPP_MIN_LOG_LEVEL`` says: about eight
lines per process (oneDNN, "Could not find cuda drivers", CPU instructions, and on a
machine without a GPU ``E0000 ... failed call to cuInit ... UNKNOWN ERROR (303)``, which
looks like a failure and is not). They are written by C++ straight to file descriptor 2,
so the only way to drop them is to point that descriptor elsewhere while TensorFlow
starts. :func:`quiet_tensorflow` does that once, for the import and the device set-up,
then writes back every line that is not start-up noise. This is the one place in skprep
that does it; the command line, the examples and the quickstart call it, and a library
user can too (one line, before anything imports TensorFlow).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

__all__ = ["quiet_tensorflow", "is_startup_noise"]

# Abseil's prefix: severity letter, MMDD, time, thread id, file:line]
_ABSL = r"[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./-]+:\d+\] "
_NOISE = re.compile(
    "|".join([
        r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to "
        r"STDERR",
        _ABSL.replace("[IWE]", "[IW]"),  # information and warnings: never an error
        # the errors TensorFlow logs on every machine without a usable CUDA set-up
        _ABSL + r".*(failed call to cuInit|Unable to register cu\w+ factory"
        r"|kernel driver does not appear to be running|retrieving CUDA diagnostic)",
        # TensorFlow's own (pre-Abseil) prefix, information and warnings only
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IW] ",
        r"To enable the following instructions: .* rebuild TensorFlow with the appropriate "
        r"compiler flags\.",
    ])
)


def is_startup_noise(line: str) -> bool:
    """Whether one stderr line is TensorFlow start-up noise that :func:`quiet_tensorflow` drops.

    Examples
    --------
    >>> is_startup_noise("E0000 00:00:1796172996.267922   11457 cuda_platform.cc:52] "
    ...                  "failed call to cuInit: INTERNAL: CUDA error: UNKNOWN ERROR (303)")
    True
    >>> is_startup_noise("E0000 00:00:1796172996.267922   11457 some_op.cc:52] out of memory")
    False
    >>> is_startup_noise("Traceback (most recent call last):")
    False
    """
    return _NOISE.match(line) is not None


@contextlib.contextmanager
def _stderr_filtered() -> Iterator[None]:
    """Send file descriptor 2 to a temporary file; write back the lines that are not noise."""
    with contextlib.suppress(Exception):  # sys.stderr may be None (pythonw) or closed
        sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode("utf-8", "replace")
                    .splitlines(keepends=True) if not is_startup_noise(line)]
            if kept:
                os.write(2, "".join(kept).encode("utf-8"))


def quiet_tensorflow(*, debug: bool = False) -> bool:
    """Import TensorFlow (and set up its devices) without its start-up lines on stderr.

    Call it once, before anything imports TensorFlow or Keras::

        import skprep; skprep.quiet_tensorflow()

    Only TensorFlow's start-up information, warnings and the "no CUDA" errors are dropped
    (:func:`is_startup_noise`); anything else written to stderr meanwhile is written back.
    ``TF_CPP_MIN_LOG_LEVEL`` is set to ``"2"`` unless already set, for TensorFlow's later
    messages. The ``skprep`` command line does this itself (``--debug`` keeps every line).

    Parameters
    ----------
    debug : bool, default=False
        Do nothing: TensorFlow will print everything, as usual.

    Returns
    -------
    bool
        True if TensorFlow was imported here, quietly; False if it was imported already
        (too late to hide its start-up), is not installed, or ``debug`` is true.

    Examples
    --------
    >>> import skprep
    >>> skprep.quiet_tensorflow(debug=True)
    False
    """
    if debug or "tensorflow" in sys.modules:
        return False
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from importlib.util import find_spec

    if find_spec("tensorflow") is None:
        return False
    with _stderr_filtered():
        import tensorflow as tf

        tf.config.list_physical_devices()  # device discovery: the cuInit line, if any
        tf.constant(0.0)  # the eager context (on a GPU machine, its "Created device" lines)
    return True
