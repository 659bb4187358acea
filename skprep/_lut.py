"""Per-channel lookup tables for uint8 batches, applied with OpenCV's ``cv2.LUT``.

Every per-channel function of a uint8 pixel (a Keras mode, a fitted standardization)
takes only 256 values per channel. Computing those 256 results once, with exactly the
float32 arithmetic of the reference, and looking them up gives bit-identical output by
construction, in one pass that reads 1 byte and writes 4 per value. NumPy's fancy
indexing is too slow for that lookup; ``cv2.LUT`` is vectorised and multithreaded.

OpenCV (``opencv-python-headless``) is a dependency of skprep. When it cannot be
imported (for example, a broken or conflicting OpenCV build), :func:`apply_table`
returns None and the callers use their NumPy arithmetic, which gives the same bits,
only slower.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType

import numpy as np

__all__ = ["opencv", "apply_table", "channel_histograms"]

# pixels per cv2 call when the channels must be reversed first: the reversed uint8 chunk
# is the only temporary, instead of a reversed copy of the batch. Small chunks cost more
# in per-call overhead than they gain in cache hits (on a (64, 224, 224, 3) batch, 2
# cores: 1 << 16 pixels took 6.4-6.9 ms, 1 << 20 took 3.5-4.1 ms), so a chunk is an
# eighth of the batch, between these two bounds: the temporary stays <= 3 MiB and, for
# batches above the lower bound, 1/32 of the float32 output
_FLIP_CHUNK_PIXELS = (1 << 16, 1 << 20)


@functools.cache
def opencv() -> ModuleType | None:
    """The ``cv2`` module, or None when OpenCV cannot be imported."""
    try:
        import cv2
    except ImportError:
        return None
    return cv2


def _as_rows(x: np.ndarray, n_channels: int) -> np.ndarray:
    """A contiguous channels-last array as a (pixels, 1, C) image that cv2 accepts."""
    return x.reshape(-1, 1, n_channels)


def _channels_last(cv2, x: np.ndarray, table: np.ndarray, flip: bool,
                   out: np.ndarray) -> np.ndarray:
    n_channels = table.shape[-1]
    if n_channels == 1:  # one table for every value: the whole array as one 2-D image
        cv2.LUT(x.reshape(-1, x.shape[-1]) if x.ndim > 1 else x.reshape(1, -1),
                table.reshape(1, 256),
                dst=out.reshape(-1, x.shape[-1]) if x.ndim > 1 else out.reshape(1, -1))
        return out
    src, dst = _as_rows(x, n_channels), _as_rows(out, n_channels)
    if not flip:
        cv2.LUT(src, table, dst=dst)
        return out
    low, high = _FLIP_CHUNK_PIXELS
    step = max(low, min(high, src.shape[0] // 8))
    buffer = np.empty((min(step, src.shape[0]), 1, n_channels), np.uint8)
    for start in range(0, src.shape[0], step):
        chunk = src[start : start + step]
        reversed_chunk = buffer[: chunk.shape[0]]
        if n_channels == 3:
            cv2.cvtColor(chunk, cv2.COLOR_RGB2BGR, dst=reversed_chunk)
        else:
            np.copyto(reversed_chunk, chunk[..., ::-1])
        cv2.LUT(reversed_chunk, table, dst=dst[start : start + chunk.shape[0]])
    return out


def _channels_first(cv2, x: np.ndarray, table: np.ndarray, flip: bool,
                    out: np.ndarray) -> np.ndarray:
    """(N, C, ...) input: one contiguous plane per (image, channel), one table each."""
    n_channels = x.shape[1]
    planes_in = x.reshape(x.shape[0], n_channels, 1, -1)
    planes_out = out.reshape(x.shape[0], n_channels, 1, -1)
    tables = [np.ascontiguousarray(table[0, :, c if table.shape[-1] > 1 else 0])
              for c in range(n_channels)]
    for i in range(x.shape[0]):
        for c in range(n_channels):
            source = n_channels - 1 - c if flip else c
            cv2.LUT(planes_in[i, source], tables[c].reshape(1, 256), dst=planes_out[i, c])
    return out


def apply_table(x: np.ndarray, table: np.ndarray, *, channels_first: bool = False,
                flip: bool = False, empty: Callable[..., np.ndarray] = np.empty
                ) -> np.ndarray | None:
    """Look every value of a uint8 batch up in a per-channel table; None if not possible.

    Parameters
    ----------
    x : ndarray of uint8, C-contiguous
        Channels on the last axis, or on axis 1 with ``channels_first``.
    table : ndarray of shape (1, 256, C) or (1, 256, 1)
        ``table[0, v, c]`` is the output for value ``v`` in *output* channel ``c``; one
        column serves every channel.
    channels_first : bool, default=False
        Whether the channel axis is axis 1.
    flip : bool, default=False
        Reverse the channel order first (RGB -> BGR): output channel ``c`` reads input
        channel ``C - 1 - c``.
    empty : callable, default=np.empty
        ``empty(shape, dtype)`` makes the output (C-contiguous), for example an
        :class:`~skprep._buffers.OutputRecycler`'s.

    Returns
    -------
    ndarray of ``table.dtype`` with the shape of ``x``, or None
        None when OpenCV is unavailable or the input is not a contiguous uint8 array,
        so that the caller computes the same values its own way.
    """
    cv2 = opencv()
    if (cv2 is None or x.dtype != np.uint8 or not x.flags.c_contiguous or x.ndim < 1
            or x.size == 0 or table.shape[:2] != (1, 256)):
        return None
    if channels_first:
        if x.ndim < 2 or table.shape[-1] not in (1, x.shape[1]):
            return None
        return _channels_first(cv2, x, table, flip, empty(x.shape, table.dtype))
    if table.shape[-1] != 1 and (x.ndim < 2 or table.shape[-1] != x.shape[-1]
                                 or x.shape[-1] > 4):
        return None
    if table.shape[-1] == 1 and flip:
        return None
    return _channels_last(cv2, x, table, flip, empty(x.shape, table.dtype))


# pixels per cv2.calcHist call: its float32 counts are exact integers up to 2**24
_HIST_CHUNK_PIXELS = 1 << 24


def channel_histograms(pixels: np.ndarray) -> np.ndarray | None:
    """Exact per-column histograms of uint8 pixels ``(n, C)``: int64 ``(C, 256)``, or None.

    ``cv2.calcHist`` counts in float32, which is exact for counts up to 2**24; the
    pixels are counted in chunks of that many and the counts summed in int64. None
    when OpenCV is unavailable or the input is not uint8.
    """
    cv2 = opencv()
    if cv2 is None or pixels.dtype != np.uint8 or pixels.ndim != 2:
        return None
    n_pixels, n_channels = pixels.shape
    counts = np.zeros((n_channels, 256), dtype=np.int64)
    for start in range(0, n_pixels, _HIST_CHUNK_PIXELS):
        chunk = np.ascontiguousarray(pixels[start : start + _HIST_CHUNK_PIXELS])
        image = chunk.reshape(-1, 1, n_channels)
        for c in range(n_channels):
            hist = cv2.calcHist([image], [c], None, [256], [0, 256])
            counts[c] += hist.reshape(-1).astype(np.int64)
    return counts
