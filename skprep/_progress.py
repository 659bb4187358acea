"""Progress bars for long work, shown only when asked for and useful.

``verbose`` follows one rule everywhere in skprep:

- ``0`` / ``False``: never show a bar;
- ``1`` / ``True``: show a bar when stderr is a terminal (never in logs or pipes);
- ``2`` or more: always show a bar, even when stderr is not a terminal.

The bar is drawn by ``tqdm`` when it is installed (``pip install "skprep[progress]"``),
else by a minimal built-in line on stderr.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["progress_wanted", "progress"]

T = TypeVar("T")


def progress_wanted(verbose: int | bool, stream=None) -> bool:
    """Whether a bar should be shown for this ``verbose`` value.

    Examples
    --------
    >>> progress_wanted(0), progress_wanted(2)
    (False, True)
    """
    level = int(verbose or 0)
    if level <= 0:
        return False
    if level >= 2:
        return True
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _plain_bar(iterable: Iterable[T], total: int | None, desc: str, unit: str,
               stream) -> Iterator[T]:
    start = time.perf_counter()
    done = 0
    last = 0.0
    for item in iterable:
        yield item
        done += 1
        now = time.perf_counter()
        if now - last >= 0.5 or done == total:
            last = now
            rate = done / max(now - start, 1e-9)
            of = f"/{total}" if total is not None else ""
            stream.write(f"\r{desc}: {done}{of} {unit} ({rate:.1f} {unit}/s)")
            stream.flush()
    stream.write("\n")
    stream.flush()


def progress(iterable: Iterable[T], *, total: int | None = None, verbose: int | bool = 0,
             desc: str = "skprep", unit: str = "it") -> Iterable[T]:
    """Wrap ``iterable`` in a progress bar when :func:`progress_wanted` says so.

    Parameters
    ----------
    iterable : iterable
        What to iterate over; returned unchanged when no bar is wanted.
    total : int, optional
        Number of items, for the percentage.
    verbose : int or bool, default=0
        See the module docstring.
    desc, unit : str
        Label of the bar and name of one step.

    Returns
    -------
    iterable
        The same items, in the same order.

    Examples
    --------
    >>> list(progress(range(3), verbose=0))
    [0, 1, 2]
    """
    if not progress_wanted(verbose):
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _plain_bar(iterable, total, desc, unit, sys.stderr)
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr)
