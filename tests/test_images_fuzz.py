"""Fuzzing ImageLoader with a seeded mutator over JPEG / PNG / WebP / GIF / TIFF files.

Whatever the bytes, only ``ImageLoadError`` subclasses may escape, no case may take a
second, and a loaded image always has the promised shape and dtype.

The default size keeps this file well under CI's time budget. Nightly / long runs::

    SKPREP_FUZZ_EXAMPLES=200000 SKPREP_FUZZ_SEED=$RANDOM python -m pytest tests/test_images_fuzz.py

A failure prints the seed, the case number and the mutation, so it can be replayed.
"""

from __future__ import annotations

import os
import struct
import time
import warnings
import zlib

import numpy as np
import pytest
from image_corpus import seed_files
from PIL import ImageFile

from skprep import ImageLoader
from skprep.exceptions import ImageLoadError, SkprepWarning

N_EXAMPLES = int(os.environ.get("SKPREP_FUZZ_EXAMPLES", "3000"))
SEED = int(os.environ.get("SKPREP_FUZZ_SEED", "20261201"))
MAX_SECONDS_PER_CASE = 1.0
TARGET = (16, 16)

_INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]


def _fix_png_crcs(data: bytearray) -> bytearray:
    """Recompute every chunk CRC, so mutations reach the decoder instead of the CRC check."""
    pos = 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        end = pos + 8 + length
        if end + 4 > len(data):
            break
        data[end:end + 4] = struct.pack(">I", zlib.crc32(bytes(data[pos + 4:end])))
        pos = end + 4
    return data


def mutate(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """One to three random mutations of ``data``; returns the bytes and what was done."""
    out = bytearray(data)
    done = []
    for _ in range(int(rng.integers(1, 4))):
        kind = int(rng.integers(0, 8))
        n = len(out)
        if n < 2:
            break
        pos = int(rng.integers(0, n))
        if kind == 0:  # bit flips
            for _ in range(int(rng.integers(1, 9))):
                p = int(rng.integers(0, n))
                out[p] ^= 1 << int(rng.integers(0, 8))
            done.append("bitflip")
        elif kind == 1:  # random bytes over a span
            span = int(rng.integers(1, 17))
            out[pos:pos + span] = rng.integers(0, 256, span, dtype=np.uint8).tobytes()
            done.append(f"overwrite@{pos}")
        elif kind == 2:  # truncate
            del out[pos:]
            done.append(f"truncate@{pos}")
        elif kind == 3:  # insert random bytes
            span = int(rng.integers(1, 65))
            out[pos:pos] = rng.integers(0, 256, span, dtype=np.uint8).tobytes()
            done.append(f"insert@{pos}")
        elif kind == 4:  # delete a span
            del out[pos:pos + int(rng.integers(1, 65))]
            done.append(f"delete@{pos}")
        elif kind == 5:  # duplicate a span
            span = bytes(out[pos:pos + int(rng.integers(1, 257))])
            at = int(rng.integers(0, n))
            out[at:at] = span
            done.append(f"duplicate@{pos}->{at}")
        else:  # an "interesting" 16 / 32-bit value (sizes, lengths, offsets), in the header
            pos = int(rng.integers(0, min(n, 128)))
            value = _INTERESTING[int(rng.integers(0, len(_INTERESTING)))]
            width = 2 if value <= 0xFFFF and rng.random() < 0.5 else 4
            fmt = (">" if rng.random() < 0.5 else "<") + ("H" if width == 2 else "I")
            out[pos:pos + width] = struct.pack(fmt, value & (0xFFFF if width == 2 else
                                                             0xFFFFFFFF))
            done.append(f"field@{pos}={value:#x}")
    if out[:8] == b"\x89PNG\r\n\x1a\n" and rng.random() < 0.7:
        _fix_png_crcs(out)
        done.append("fixcrc")
    return bytes(out), "+".join(done)


@pytest.fixture(scope="module")
def seeds():
    return seed_files()


def test_mutator_is_deterministic(seeds):
    a = [mutate(seeds["png"], np.random.default_rng(3)) for _ in range(1)]
    b = [mutate(seeds["png"], np.random.default_rng(3)) for _ in range(1)]
    assert a == b and a[0][0] != seeds["png"]


def test_seeds_load(seeds):
    batch = ImageLoader(TARGET).transform(list(seeds.values()))
    assert batch.shape == (len(seeds), *TARGET, 3)


@pytest.mark.filterwarnings("ignore::UserWarning:PIL")
@pytest.mark.parametrize("lenient", [False, True], ids=["strict", "LOAD_TRUNCATED_IMAGES"])
def test_fuzz_only_image_load_errors_escape(seeds, monkeypatch, lenient):
    """Also with Pillow's global LOAD_TRUNCATED_IMAGES set, as another library might."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", lenient)
    rng = np.random.default_rng(SEED + lenient)
    loader = ImageLoader(TARGET, max_pixels=1_000_000, on_error="raise")
    names = sorted(seeds)
    unexpected, slow = [], []
    outcomes = {"loaded": 0, "refused": 0}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for case in range(N_EXAMPLES):
            name = names[case % len(names)]
            data, how = mutate(seeds[name], rng)
            start = time.process_time()  # CPU, not wall: waiting for a core is not work
            try:
                batch = loader.transform(data)
            except ImageLoadError as exc:
                outcomes["refused"] += 1
                assert exc.index == 0 and exc.failures, how
            except Exception as exc:  # noqa: BLE001 - this is what the test is looking for
                unexpected.append((case, name, how, f"{type(exc).__name__}: {exc}"))
            else:
                outcomes["loaded"] += 1
                if batch.shape != (1, *TARGET, 3) or batch.dtype != np.uint8:
                    unexpected.append((case, name, how, f"shape {batch.shape} {batch.dtype}"))
            elapsed = time.process_time() - start
            if elapsed > MAX_SECONDS_PER_CASE:
                slow.append((case, name, how, round(elapsed, 2)))
    skprep_warnings = [w for w in caught if issubclass(w.category, SkprepWarning)]
    header = f"seed={SEED + lenient} examples={N_EXAMPLES} lenient={lenient}"
    assert not unexpected, f"{header}: non-ImageLoadError escaped: {unexpected[:10]}"
    assert not slow, f"{header}: cases over {MAX_SECONDS_PER_CASE}s of CPU: {slow[:10]}"
    assert not skprep_warnings
    # the mutator really exercises both sides of the contract
    assert outcomes["loaded"] > N_EXAMPLES // 20 and outcomes["refused"] > N_EXAMPLES // 4


@pytest.mark.filterwarnings("ignore::UserWarning:PIL")
def test_fuzz_batch_fill_with_threads(seeds):
    """Mutants in one batch, two threads, on_error='fill': shape kept, report consistent."""
    rng = np.random.default_rng(SEED + 1)
    names = sorted(seeds)
    items = [mutate(seeds[names[i % len(names)]], rng)[0] for i in range(200)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch, report = ImageLoader(TARGET, max_pixels=1_000_000, on_error="fill",
                                    fill_value=0, n_jobs=2).load(items, return_report=True)
        single = ImageLoader(TARGET, max_pixels=1_000_000, on_error="fill").load(
            items, return_report=True)
    assert batch.shape == (200, *TARGET, 3)
    assert report.indices == single[1].indices
    np.testing.assert_array_equal(batch, single[0])
    assert set(report.error_types) <= {
        "ImageDecodeError", "ImageTooLargeError", "UnsupportedImageError", "ImageNotFoundError"
    }
