"""Progress bars for long work, shown only when asked for and useful.

``verbose`` follows one rule everywhere in skprep:

- ``0`` / ``False``: never show a bar;
- ``1`` / ``True``: show a bar when stderr is a terminal (never in logs or pipes);
- ``2`` or more: always show a bar, even when stderr is not a terminal.

The bar is drawn by ``tqdm`` when it is installed (``pip install "skprep[progress]"``),
else by a minimal built-in line on stderr.

A whole pipeline shows one bar (:func:`progress_bar`, advanced by ``update(n)``): while it
runs its steps inside :func:`quiet`, their own bars stay hidden.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["progress_wanted", "progress", "progress_bar", "quiet"]

T = TypeVar("T")

# set by quiet(): the caller draws one bar for the whole work (per thread / context)
_QUIET: contextvars.ContextVar[bool] = contextvars.ContextVar("skprep_progress_quiet",
                                                              default=False)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Hide the bars of :func:`progress` in this thread while inside.

    Examples
    --------
    >>> with quiet():
    ...     progress_wanted(2)
    False
    """
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def progress_wanted(verbose: int | bool, stream=None) -> bool:
    """Whether a bar should be shown for this ``verbose`` value.

    Examples
    --------
    >>> progress_wanted(0), progress_wanted(2)
    (False, True)
    """
    level = int(verbose or 0)
    if level <= 0 or _QUIET.get():
        return False
    if level >= 2:
        return True
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _PlainBar:
    """The built-in bar: one line on ``stream``, redrawn at most twice a second."""

    def __init__(self, total: int | None, desc: str, unit: str, stream) -> None:
        self.total, self.desc, self.unit, self.stream = total, desc, unit, stream
        self.done, self.start, self.last = 0, time.perf_counter(), 0.0

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self.last >= 0.5 or self.done == self.total:
            self.last = now
            rate = self.done / max(now - self.start, 1e-9)
            of = f"/{self.total}" if self.total is not None else ""
            self.stream.write(f"\r{self.desc}: {self.done}{of} {self.unit} "
                              f"({rate:.1f} {self.unit}/s)")
            self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _counted(iterable: Iterable[T], bar) -> Iterator[T]:
    try:
        for item in iterable:
            yield item
            bar.update(1)
    finally:
        bar.close()


def progress_bar(*, total: int | None, verbose: int | bool = 0, desc: str = "skprep",
                 unit: str = "it"):
    """A bar advanced by ``update(n)`` and ended by ``close()``, or None when not wanted.

    Parameters
    ----------
    total : int or None
        Number of units, for the percentage.
    verbose : int or bool, default=0
        See the module docstring.
    desc, unit : str
        Label of the bar and name of one unit.

    Returns
    -------
    tqdm.tqdm, a built-in bar with the same ``update`` / ``close``, or None

    Examples
    --------
    >>> progress_bar(total=10, verbose=0) is None
    True
    """
    if not progress_wanted(verbose):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _PlainBar(total, desc, unit, sys.stderr)
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr)


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
    bar = progress_bar(total=total, verbose=verbose, desc=desc, unit=unit)
    return iterable if bar is None else _counted(iterable, bar)
