"""Shared helpers of the benchmark scripts: timing, machine facts, tables, JSON, corpora.

Not a test module and not part of the package. Every ``bench_<topic>.py`` imports it
after putting the repository root on ``sys.path``, so the scripts run from a fresh
clone without installing skprep.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: smallest number of timed repeats whose median is reported
MIN_REPEATS = 5


def parse_args(argv: Sequence[str] | None, description: str, *, repeats: int = 5,
               extra: Callable[[argparse.ArgumentParser], None] | None = None
               ) -> argparse.Namespace:
    """The command line every benchmark shares: ``--quick`` and ``--repeats``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small inputs, under 60 s")
    parser.add_argument("--repeats", type=int, default=repeats,
                        help=f"timed repeats per case, median reported (>= {MIN_REPEATS})")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    args.repeats = max(MIN_REPEATS, args.repeats)
    return args


def measure(fn: Callable[[], Any], repeats: int, *, warmup: int = 1,
            keep_result: bool = False) -> dict[str, Any]:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times; seconds per run.

    The garbage collector is paused while a run is timed (collected between runs; the
    objects alive before the first timed run are frozen out of its view).
    With ``keep_result``, the value returned by the last run is kept under "result".
    """
    result = None
    for _ in range(warmup):
        result = fn()
    # what exists now (TensorFlow's object graph...) is never garbage: take it out of the
    # collector's view, so that the collection before each run stays cheap
    gc.collect()
    gc.freeze()
    times, cpu_times = [], []
    for _ in range(repeats):
        result = None
        gc.collect()
        gc.disable()
        try:
            start, cpu_start = time.perf_counter(), time.process_time()
            value = fn()
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
        finally:
            gc.enable()
        result = value if keep_result else None
        del value
    timing = {"median_s": statistics.median(times), "min_s": min(times), "times_s": times,
              # this process's CPU time (user + sys, all its threads): what a run costs
              # whatever else the machine is doing
              "cpu_median_s": statistics.median(cpu_times), "cpu_times_s": cpu_times}
    if keep_result:
        timing["result"] = result
    return timing


def peak_memory(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated (Python and NumPy, via tracemalloc) while ``fn`` runs."""
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    del result
    return peak


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def machine_info() -> dict[str, Any]:
    """The machine and library versions a result belongs to (imports no TensorFlow)."""
    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        load = None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "load_average": load,
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "pillow": _version("pillow"),
        "scikit-learn": _version("scikit-learn"),
        "tensorflow": _version("tensorflow"),
        "keras": _version("keras"),
        "skprep": _skprep_version(),
        "time_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }


def _skprep_version() -> str:
    import skprep

    return skprep.__version__


def machine_line(info: dict[str, Any]) -> str:
    """One markdown line describing the machine."""
    return (
        f"{info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM, load "
        f"{info['load_average']}; Python {info['python']}, NumPy {info['numpy']}, Pillow "
        f"{info['pillow']}, scikit-learn {info['scikit-learn']}, TensorFlow "
        f"{info['tensorflow']}, Keras {info['keras']}"
    )


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "met" if value else "**missed**"
    if isinstance(value, float):
        if value == 0 or abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)


def markdown_table(rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """A markdown table of ``rows``; ``columns`` are ``(key, header)`` pairs."""
    lines = [
        "| " + " | ".join(header for _, header in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(fmt(row.get(key)) for key, _ in columns) + " |")
    return "\n".join(lines)


def target_check(value: float | None, target: float | None, *, higher_is_better: bool = True
                 ) -> bool | None:
    """True/False when a target applies, None otherwise."""
    if value is None or target is None:
        return None
    return value >= target if higher_is_better else value <= target


def write_results(topic: str, result: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/<topic>.json``; return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{topic}.json"
    path.write_text(json.dumps(result, indent=2, default=_json_default) + "\n")
    return path


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


# ---------------------------------------------------------------------------- corpora

#: name -> (width, height, format) of the generated test images
CORPORA: dict[str, tuple[int, int, str]] = {
    "camera_jpeg": (3000, 2000, "JPEG"),
    "web_jpeg": (500, 375, "JPEG"),
    "png": (500, 375, "PNG"),
}


def make_corpus(name: str, count: int, directory: str | Path, *, seed: int = 0) -> list[str]:
    """Write ``count`` images of corpus ``name`` into ``directory``; return their paths.

    Each image is a crop of one of scikit-learn's two sample photos, upscaled to the
    corpus size with bicubic resampling, plus Gaussian noise (sigma 4) so that the
    compressed sizes are those of real photos (a smooth upscale compresses far too
    well). JPEGs are written at quality 90 with 4:2:0 subsampling, as cameras do.
    """
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_sample_images

    width, height, fmt_name = CORPORA[name]
    photos = load_sample_images().images
    rng = np.random.default_rng(seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths: list[str] = []
    ext = "jpg" if fmt_name == "JPEG" else "png"
    n_variants = min(count, 4)  # distinct pictures; further files are byte copies of them
    for i in range(count):
        path = directory / f"{name}_{i:04d}.{ext}"
        if i >= n_variants:
            shutil.copyfile(paths[i % n_variants], path)
            paths.append(str(path))
            continue
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        top, left = rng.integers(0, h // 8), rng.integers(0, w // 8)
        crop = Image.fromarray(photo[top : top + h - h // 8, left : left + w - w // 8])
        up = np.asarray(crop.resize((width, height), Image.Resampling.BICUBIC), np.int16)
        noisy = up + rng.normal(0, 4, size=up.shape).astype(np.int16)
        img = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
        if fmt_name == "JPEG":
            img.save(path, quality=90, subsampling=2)
        else:
            img.save(path, compress_level=6)
        paths.append(str(path))
    return paths


def file_sizes_kib(paths: Sequence[str]) -> float:
    """Mean file size in KiB."""
    return sum(os.path.getsize(p) for p in paths) / len(paths) / 1024
