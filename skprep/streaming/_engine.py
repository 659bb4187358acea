"""The streaming engine: batches, the prefetch thread, load failures, the fitting passes.

Used by :class:`skprep.streaming.StreamingPipeline`; see :mod:`skprep.streaming` for the
rule of where streaming stops.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import clone

from .._load_report import ImageLoadReport
from .._progress import progress_bar, quiet
from ..exceptions import ImageLoadError, ImageLoadWarning, InvalidArgumentTypeError
from ..images import ImageLoader

__all__ = ["register_stateless_step"]

_STATELESS: list[type] = []


def register_stateless_step(cls: type) -> type:
    """Declare that ``cls.fit`` learns nothing from the data values.

    A :class:`StreamingPipeline` fits such a step on the first batch of its input only
    (its ``fit`` must then give the same fitted state as on the whole input: it checks
    shapes, resolves options, builds a model). Usable as a class decorator.

    Parameters
    ----------
    cls : type
        An estimator class.

    Returns
    -------
    type
        ``cls``, unchanged.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator, TransformerMixin
    >>> @register_stateless_step
    ... class Halve(TransformerMixin, BaseEstimator):
    ...     def fit(self, X, y=None):
    ...         return self
    ...     def transform(self, X):
    ...         return X / 2
    """
    if not isinstance(cls, type):
        raise InvalidArgumentTypeError(
            f"register_stateless_step takes a class; received {cls!r}.")
    if cls not in _STATELESS:
        _STATELESS.append(cls)
    return cls


def _stateless_types() -> tuple[type, ...]:
    from sklearn.preprocessing import FunctionTransformer

    from ..features import KerasFeatureExtractor
    from ..normalize import KerasModeNormalizer

    return (ImageLoader, KerasModeNormalizer, KerasFeatureExtractor, FunctionTransformer,
            *_STATELESS)


# --------------------------------------------------------------------------- rows


def _is_passthrough(step: Any) -> bool:
    return step is None or (isinstance(step, str) and step == "passthrough")


def _is_sampler(step: Any) -> bool:
    """A sampler (imbalanced-learn style): ``fit_resample``, run in fit only."""
    return not _is_passthrough(step) and hasattr(step, "fit_resample")


def _image_shaped(x: Any) -> bool:
    return isinstance(x, np.ndarray) and x.ndim > 2


def _rows(X: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of X (a sequence, an array, a pandas object or None)."""
    if X is None:
        return None
    if hasattr(X, "iloc"):
        return X.iloc[start:stop]
    return X[start:stop]


def _as_rows(X: Any) -> Any:
    """X as something with ``len`` and slicing; None for a single item (no streaming)."""
    if isinstance(X, (str, bytes, bytearray, memoryview, os.PathLike)) or hasattr(X, "read"):
        return None
    if hasattr(X, "iloc") or isinstance(X, (np.ndarray, list, tuple)):
        return X
    if hasattr(X, "getbands"):  # one PIL image
        return None
    try:
        return list(X)
    except TypeError:
        return None


def _concat(parts: list[Any]) -> Any:
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    if isinstance(first, np.ndarray):
        return np.concatenate(parts)
    if hasattr(first, "tocsr"):
        import scipy.sparse

        return scipy.sparse.vstack(parts, format=first.format)
    if hasattr(first, "iloc"):
        import pandas as pd

        return pd.concat(parts)
    return np.concatenate([np.asarray(part) for part in parts])


class _Collector:
    """The batches' outputs gathered into one result of ``n_rows`` rows.

    Arrays go straight into one preallocated array (so the result is the only full-size
    copy); other outputs (sparse, pandas), or batches that differ in dtype or shape, are
    concatenated at the end as ``Pipeline``'s would be. ``n_rows=None`` (a sampler
    changes the row count): the batches, in order, are concatenated at the end.
    """

    def __init__(self, n_rows: int | None) -> None:
        self.n_rows = n_rows
        self.array: np.ndarray | None = None
        self.parts: list[Any] = []

    def add(self, start: int, part: Any) -> None:
        if (self.array is None and not self.parts and self.n_rows is not None
                and isinstance(part, np.ndarray)):
            self.array = np.empty((self.n_rows, *part.shape[1:]), part.dtype)
        array = self.array
        if array is not None and (not isinstance(part, np.ndarray) or part.dtype != array.dtype
                                  or part.shape[1:] != array.shape[1:]):
            self.parts, self.array, array = [array[:start]], None, None
        if array is None:
            self.parts.append(part)
        else:
            array[start:start + len(part)] = part

    def result(self) -> Any:
        return self.array if self.array is not None else _concat(self.parts)


# --------------------------------------------------------------------------- failures


class _LoadLog:
    """Runs a leading ImageLoader batch by batch; failures carry global indices.

    ``max_failures`` is applied to the whole input (a fraction of all N items, a count
    over all batches), and ``on_error="fill"`` gives one warning for the whole input.
    """

    def __init__(self, loader: ImageLoader, n_items: int) -> None:
        self.loader = loader
        self.n_items = n_items
        self.failures: list = []
        self._lock = threading.Lock()
        # the batches load without their own limit: the limit is the whole input's
        self._batch_loader = (loader if loader.max_failures is None
                              else clone(loader).set_params(max_failures=None))

    def load(self, rows: Any, start: int) -> np.ndarray:
        batch, report = self._batch_loader.load(rows, return_report=True, index_offset=start)
        if report.failures:
            with self._lock:
                self.failures += report.failures
                self._check_limit()
        return batch

    def _check_limit(self) -> None:
        limit, n_failed = self.loader.max_failures, len(self.failures)
        if limit is None:
            return
        too_many = (n_failed > limit if isinstance(limit, Integral)
                    else n_failed > float(limit) * self.n_items)
        if too_many:
            raise ImageLoadError(
                f"More than max_failures={limit!r} of the {self.n_items} image(s) could not "
                f"be loaded (on_error='fill' raises above it); {self.report()}",
                failures=list(self.failures),
            )

    def batch_failures(self, start: int, length: int) -> list:
        """The failures of rows ``start:start + length`` (indices in the whole input)."""
        with self._lock:
            failures = [f for f in self.failures if start <= f.index < start + length]
        return sorted(failures, key=lambda f: f.index)

    def report(self) -> ImageLoadReport:
        return ImageLoadReport(self.n_items, sorted(self.failures, key=lambda f: f.index))

    def warn(self) -> None:
        report = self.report()
        if not report.failures:
            return
        warning = ImageLoadWarning(
            f"{report.n_failed} of {self.n_items} image(s) failed and were filled with "
            f"{self.loader.fill_value}: rows {report.indices}. First failure: "
            f"{report.failures[0]}. The warning's .report (an ImageLoadReport) and .failures "
            "list them all.",
            list(report.failures),
        )
        warning.report = report
        warnings.warn(warning, stacklevel=4)


# --------------------------------------------------------------------------- prefetch

_DONE = object()


class _Prefetcher:
    """Runs ``produce`` over ``jobs`` in a background thread, ``depth`` results ahead.

    Iterating yields ``(start, result)`` in order; an exception in the thread is raised
    in the consumer; closing the iterator early (or an exception in the consumer) stops
    the thread and joins it, so no thread outlives the call.
    """

    def __init__(self, jobs: Iterable[tuple[int, Any]], produce: Callable[[int, Any], Any],
                 depth: int) -> None:
        self._jobs = jobs
        self._produce = produce
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="skprep-prefetch", daemon=True)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for start, rows in self._jobs:
                if self._stop.is_set() or not self._put((start, self._produce(start, rows))):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            self._put(exc)
            return
        self._put(_DONE)

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        self._thread.start()
        try:
            while True:
                item = self._queue.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._stop.set()
            self._thread.join()


def _run_batches(jobs: Iterable[tuple[int, Any]], produce: Callable[[int, Any], Any],
                 consume: Callable[[int, Any], Any], prefetch: int) -> Iterator[tuple[int, Any]]:
    """``consume(start, produce(start, rows))`` per job; ``produce`` runs ahead in a thread."""
    if prefetch <= 0:
        for start, rows in jobs:
            yield start, consume(start, produce(start, rows))
        return
    produced = _Prefetcher(jobs, produce, prefetch)
    iterator = iter(produced)
    try:
        for start, x in iterator:
            yield start, consume(start, x)
    finally:
        iterator.close()


# --------------------------------------------------------------------------- engine


def _fit_candidates(steps: list[tuple[str, Any]]) -> int:
    """How many leading steps may stream in fit: passthrough, stateless, partial_fit."""
    stateless = _stateless_types()
    count = 0
    for _, step in steps:
        if not (_is_passthrough(step) or isinstance(step, stateless)
                or hasattr(step, "partial_fit") or hasattr(step, "resample_batch")):
            break
        count += 1
    return count


class _Streamer:
    """The streaming engine of one call over ``steps`` (fitted in place by ``fit``)."""

    def __init__(self, steps: list[tuple[str, Any]], batch_size: int, prefetch: int) -> None:
        self.steps = steps
        self.batch_size = int(batch_size)
        self.prefetch = int(prefetch)
        self._bar: Any = None
        # fit only: samplers resample each batch; y_out[start] is that batch's y
        self.fitting = False
        self.y: Any = None
        self.y_out: dict[int, Any] = {}

    # ------------------------------------------------------------------ progress

    def verbose(self) -> int:
        """The bar's level: the highest ``verbose`` of the steps that may stream."""
        levels = [getattr(step, "verbose", 0) for _, step in
                  self.steps[:_fit_candidates(self.steps)]]
        return max([int(level) for level in levels if isinstance(level, (bool, Integral))],
                   default=0)

    @contextlib.contextmanager
    def bar(self, rows: Any, desc: str = "StreamingPipeline") -> Iterator[None]:
        """One bar over the images of a pass (the steps' own bars are hidden meanwhile)."""
        self._bar = progress_bar(total=len(rows), verbose=self.verbose(), desc=desc,
                                 unit="img")
        try:
            yield
        finally:
            bar, self._bar = self._bar, None
            if bar is not None:
                bar.close()

    def advance(self, out: Any) -> None:
        if self._bar is not None:
            self._bar.update(out.shape[0] if hasattr(out, "shape") else len(out))

    def jobs(self, rows: Any, first: int = 0) -> Iterator[tuple[int, Any]]:
        size = self.batch_size
        for start in range(first, len(rows), size):
            yield start, _rows(rows, start, start + size)

    def load_log(self, rows: Any) -> _LoadLog | None:
        """A log for the leading ImageLoader (after any passthrough), or None."""
        for _, step in self.steps:
            if not _is_passthrough(step):
                return _LoadLog(step, len(rows)) if isinstance(step, ImageLoader) else None
        return None

    def stage(self, begin: int, end: int, log: _LoadLog | None) -> Callable[[int, Any], Any]:
        """A function (start, x) -> x running the fitted ``steps[begin:end]`` on a batch;
        the leading loader runs through ``log``, for indices in the whole input."""
        def run(start: int, x: Any) -> Any:
            y = self.batch_y(start, begin)
            with quiet():  # in either thread: the pipeline's bar is the one shown
                for position in range(begin, end):
                    step = self.steps[position][1]
                    if _is_sampler(step) and self.fitting:
                        x, y = step.resample_batch(x, y, start_index=start)
                        self.y_out[start] = y
                    if _is_passthrough(step) or _is_sampler(step):
                        continue
                    x = log.load(x, start) if log is not None and step is log.loader else (
                        step.transform(x))
            return x

        return run

    def resamples(self, before: int) -> bool:
        """Whether ``steps[:before]`` resample in this call (a fit with a sampler)."""
        return self.fitting and any(_is_sampler(step) for _, step in self.steps[:before])

    def batch_y(self, start: int, before: int) -> Any:
        """y of the batch at row ``start`` as ``steps[before]`` sees it."""
        if self.resamples(before):
            return self.y_out[start]
        return _rows(self.y, start, start + self.batch_size)

    def resampled_y(self) -> Any:
        """y of the whole fit output, in order (the batches' resampled y)."""
        if not self.y_out:
            return self.y
        parts = [self.y_out[start] for start in sorted(self.y_out)]
        return None if parts[0] is None else _concat(parts)

    def stream(self, rows: Any, n_steps: int, log: _LoadLog | None,
               consume: Callable[[int, Any], Any] | None = None, first: int = 0
               ) -> Iterator[tuple[int, Any]]:
        """``steps[:n_steps]`` batch by batch from row ``first``: the background thread
        runs all of them but the last, the calling thread the last one, then ``consume``."""
        split = max(n_steps - 1, 0)
        head, tail = self.stage(0, split, log), self.stage(split, n_steps, log)

        def finish(start: int, x: Any) -> Any:
            out = tail(start, x)
            self.advance(out)
            return out if consume is None else consume(start, out)

        return _run_batches(self.jobs(rows, first), head, finish, self.prefetch)

    def walk_first(self, rows: Any, limit: int, log: _LoadLog | None,
                   fit_step: Callable[[int, Any], None] | None = None) -> tuple[int, Any]:
        """Walk the first batch through the steps while it streams (the loader's input
        always does, then image-shaped data): (number of streamed steps, its output).
        ``fit_step(index, x)`` fits each step on its input first, when given."""
        x = _rows(rows, 0, self.batch_size)
        n_steps = 0
        while n_steps < limit and (n_steps == 0 or _image_shaped(x)):
            if fit_step is not None:
                fit_step(n_steps, x)
            x = self.stage(n_steps, n_steps + 1, log)(0, x)
            n_steps += 1
        return n_steps, x

    def iter_output(self, rows: Any, limit: int, log: _LoadLog | None, found: list[int]
                    ) -> Iterator[tuple[int, Any]]:
        """(start, output of the streamed steps) per batch; ``found`` gets their number."""
        n_steps, first = self.walk_first(rows, limit, log)
        found.append(n_steps)
        self.advance(first)
        yield 0, first
        yield from self.stream(rows, n_steps, log, first=self.batch_size)

    def output(self, rows: Any, limit: int) -> tuple[Any, int]:
        """(output of the streamed steps for all rows, number of streamed steps)."""
        log = self.load_log(rows)
        found: list[int] = []
        collected = _Collector(len(rows))
        with self.bar(rows):
            for start, out in self.iter_output(rows, limit, log, found):
                collected.add(start, out)
        if log is not None:
            log.warn()
        return collected.result(), found[0]

    def partial_fit_pass(self, index: int, rows: Any, y: Any) -> None:
        """Fit step ``index`` over every batch: ``fit`` on the first (scikit-learn's
        reset), ``partial_fit`` on the others; the steps before it are fitted."""
        step = self.steps[index][1]

        def fit_batch(start: int, x: Any) -> None:
            part = self.batch_y(start, index)
            if start == 0:
                step.fit(x, part)
            else:
                step.partial_fit(x, part)

        with self.bar(rows, f"StreamingPipeline: fit {self.steps[index][0]}"):
            for _ in self.stream(rows, index, self.load_log(rows), consume=fit_batch):
                pass

    def fit(self, rows: Any, y: Any, limit: int, want_output: bool) -> tuple[int, Any]:
        """Fit the streamed steps in place: (how many, their output on all rows or None).

        The first batch walks the steps while it streams: each step is fitted (on that
        batch if stateless, over every batch if it has ``partial_fit``), then transforms
        it. The output pass starts after that first batch.
        """
        stateless = _stateless_types()
        self.fitting, self.y = True, y

        def fit_step(index: int, x: Any) -> None:
            step = self.steps[index][1]
            if isinstance(step, stateless) or _is_sampler(step):
                step.fit(x, self.batch_y(0, index))
            elif not _is_passthrough(step):
                self.partial_fit_pass(index, rows, y)

        log = self.load_log(rows)
        n_steps, first = self.walk_first(rows, limit, log, fit_step)
        if not (want_output or n_steps < len(self.steps)):
            return n_steps, None
        collected = _Collector(None if self.resamples(n_steps) else len(rows))
        collected.add(0, first)
        with self.bar(rows):
            self.advance(first)
            for start, out in self.stream(rows, n_steps, log, first=self.batch_size):
                collected.add(start, out)
        if log is not None:
            log.warn()
        return n_steps, collected.result()


def _fit_streamed_job(steps: list, rows: Any, y: Any, batch_size: int, prefetch: int
                      ) -> tuple[list, int, Any]:
    """The cached unit of ``StreamingPipeline.fit`` with ``memory``: the streamed steps
    (unfitted clones) fitted on ``rows``, how many streamed, and their output."""
    n_steps, Xt = _Streamer(steps, batch_size, prefetch).fit(rows, y, len(steps), True)
    return steps[:n_steps], n_steps, Xt


