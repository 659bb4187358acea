"""StreamingPipeline: a scikit-learn Pipeline that runs images through its steps in batches.

A plain :class:`~sklearn.pipeline.Pipeline` runs each step over the whole input before
the next one starts, so a loader -> normalizer -> extractor pipeline holds every image
as uint8 and again as float32. :class:`StreamingPipeline` runs the same steps batch by
batch, end to end, while the data is image-shaped; a background thread loads and
normalizes batch k+1 while batch k runs through the model.

**Where streaming stops** (the one rule): streaming starts when the input is a
collection of image items for a leading :class:`~skprep.ImageLoader`, or an image batch
(an array with ``ndim > 2``), and it holds more than ``batch_size`` rows. Each step runs
batch by batch while its input is image-shaped (``ndim > 2``; the loader's input is the
items themselves). The first step whose output is not image-shaped (the extractor, or a
flattening step) is the last streamed step: its per-batch outputs are concatenated once,
and the steps after it receive that ``(N, D)`` matrix whole, exactly as in ``Pipeline``.
So memory holds at most ``prefetch + 2`` batches of images, plus the feature matrix.

**Fitting streamed steps**: a step with ``partial_fit`` (``DatasetStatsStandardizer``)
is fitted over every batch (``fit`` on the first, ``partial_fit`` on the rest), which
costs one more pass over the input upstream of it; a step whose ``fit`` learns nothing
from the data values (the loader, ``KerasModeNormalizer``, ``KerasFeatureExtractor``,
scikit-learn's ``FunctionTransformer``; see :func:`register_stateless_step`) is fitted on
the first batch only, which gives the same fitted state; any other step is fitted as
``Pipeline`` does, on its whole input (correct, but that input is then held in memory).
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
from sklearn import get_config
from sklearn.base import clone
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils._param_validation import Interval
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, check_memory

from ._load_report import ImageLoadReport
from ._progress import progress_bar, quiet
from .exceptions import ImageLoadError, ImageLoadWarning
from .images import ImageLoader

__all__ = ["StreamingPipeline", "make_streaming_pipeline", "register_stateless_step"]

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
        raise TypeError(f"register_stateless_step takes a class; received {cls!r}.")
    if cls not in _STATELESS:
        _STATELESS.append(cls)
    return cls


def _stateless_types() -> tuple[type, ...]:
    from sklearn.preprocessing import FunctionTransformer

    from .features import KerasFeatureExtractor
    from .normalize import KerasModeNormalizer

    return (ImageLoader, KerasModeNormalizer, KerasFeatureExtractor, FunctionTransformer,
            *_STATELESS)


# --------------------------------------------------------------------------- rows


def _is_passthrough(step: Any) -> bool:
    return step is None or (isinstance(step, str) and step == "passthrough")


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
    concatenated at the end as ``Pipeline``'s would be.
    """

    def __init__(self, n_rows: int) -> None:
        self.n_rows = n_rows
        self.array: np.ndarray | None = None
        self.parts: list[Any] = []

    def add(self, start: int, part: Any) -> None:
        if self.array is None and not self.parts and isinstance(part, np.ndarray):
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
                or hasattr(step, "partial_fit")):
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
            with quiet():  # in either thread: the pipeline's bar is the one shown
                for position in range(begin, end):
                    step = self.steps[position][1]
                    if _is_passthrough(step):
                        continue
                    x = log.load(x, start) if log is not None and step is log.loader else (
                        step.transform(x))
            return x

        return run

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
        step, size = self.steps[index][1], self.batch_size

        def fit_batch(start: int, x: Any) -> None:
            part = _rows(y, start, start + size)
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

        def fit_step(index: int, x: Any) -> None:
            step = self.steps[index][1]
            if isinstance(step, stateless):
                step.fit(x, _rows(y, 0, self.batch_size))
            elif not _is_passthrough(step):
                self.partial_fit_pass(index, rows, y)

        log = self.load_log(rows)
        n_steps, first = self.walk_first(rows, limit, log, fit_step)
        if not (want_output or n_steps < len(self.steps)):
            return n_steps, None
        collected = _Collector(len(rows))
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


# --------------------------------------------------------------------------- pipeline


def _final_has(attr: str) -> Callable[[Any], bool]:
    def check(self: Pipeline) -> bool:
        getattr(self._final_estimator, attr)  # the AttributeError says what is missing
        return True

    return check


class StreamingPipeline(Pipeline):
    """A :class:`~sklearn.pipeline.Pipeline` that streams images through its steps.

    Same steps and results as ``Pipeline`` (bit-identical outputs and fitted state),
    in bounded memory: images run batch by batch, end to end, and a background thread
    loads and normalizes the next batch while the current one runs in the model. See
    the module docstring for the rule of where streaming stops; in short, steps stream
    while the data is image-shaped, and the ``(N, D)`` features go to the remaining
    steps whole.

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        As in ``Pipeline``.
    transform_input : list of str, default=None
        As in ``Pipeline`` (metadata routing only; such calls run unstreamed).
    memory : str or object with the joblib.Memory interface, default=None
        As in ``Pipeline``. The streamed steps are cached together, keyed by their
        parameters and the input: a cache hit skips loading and inference and returns
        the features (the grid-search-over-a-head recipe).
    verbose : bool, default=False
        As in ``Pipeline`` (step timings). The progress bar over images follows the
        ``verbose`` of the streamed steps.
    batch_size : int, default=256
        Rows per streamed batch. Outputs are bit-identical to ``Pipeline`` when it is a
        multiple of the extractor's own ``batch_size`` (32 by default), since then the
        model sees the same sub-batches.
    prefetch : int, default=2
        Batches prepared ahead by the background thread (0: no thread, one batch at a
        time in the calling thread).

    Attributes
    ----------
    named_steps, classes_, n_features_in_, feature_names_in_
        As in ``Pipeline``.

    See Also
    --------
    make_streaming_pipeline : build one from steps, naming them.
    skprep.make_image_pipeline : loader -> normalizer -> extractor (-> head), streaming.

    Notes
    -----
    With a leading ``ImageLoader``, failures carry indices in the whole input: with
    ``on_error="raise"`` the error of the first batch that has failures is raised, with
    global indices; with ``on_error="fill"`` one ``ImageLoadWarning`` covers the whole
    input and ``max_failures`` applies to the whole input. Every streamed step must
    transform rows independently of each other (all skprep image steps do).

    Examples
    --------
    >>> import numpy as np
    >>> from skprep import KerasModeNormalizer
    >>> from skprep.streaming import make_streaming_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> flatten = FunctionTransformer(lambda x: x.reshape(len(x), -1))
    >>> pipe = make_streaming_pipeline(KerasModeNormalizer("tf"), flatten, batch_size=4)
    >>> images = np.zeros((10, 2, 2, 3), np.uint8)
    >>> pipe.fit_transform(images).shape
    (10, 12)
    >>> pipe[:1].batch_size
    4
    """

    def __init__(self, steps, *, transform_input=None, memory=None, verbose=False,
                 batch_size: int = 256, prefetch: int = 2) -> None:
        super().__init__(steps, transform_input=transform_input, memory=memory,
                         verbose=verbose)
        self.batch_size = batch_size
        self.prefetch = prefetch

    @property
    def _parameter_constraints(self) -> dict:
        return {
            **super()._parameter_constraints,
            "batch_size": [Interval(Integral, 1, None, closed="left")],
            "prefetch": [Interval(Integral, 0, None, closed="left")],
        }

    def __getitem__(self, ind):
        sub = super().__getitem__(ind)
        if isinstance(ind, slice):
            sub.set_params(batch_size=self.batch_size, prefetch=self.prefetch,
                           transform_input=self.transform_input)
        return sub

    # ------------------------------------------------------------------ helpers

    def _streamer(self) -> _Streamer:
        return _Streamer(self.steps, self.batch_size, self.prefetch)

    def _stream_rows(self, X: Any, params: dict | None = None) -> Any:
        """X as sliceable rows when this call streams, else None (run as Pipeline)."""
        if params or (get_config().get("enable_metadata_routing") and self.transform_input):
            return None
        self._validate_params()
        leading = [step for _, step in self.steps if not _is_passthrough(step)]
        if not leading:
            return None
        rows = _as_rows(X) if isinstance(leading[0], ImageLoader) else (
            X if _image_shaped(X) else None)
        if rows is None or len(rows) <= self.batch_size:
            return None
        return rows

    def _rest(self, Xt: Any, begin: int, end: int) -> Any:
        for _, step in self.steps[begin:end]:
            if not _is_passthrough(step):
                Xt = step.transform(Xt)
        return Xt

    def _final_input(self, X: Any, params: dict) -> Any:
        """The input of the final step (all others applied), or None: not streamed."""
        rows = self._stream_rows(X, params)
        if rows is None:
            return None
        check_is_fitted(self)
        last = len(self.steps) - 1
        Xt, n_steps = self._streamer().output(rows, last)
        return self._rest(Xt, n_steps, last)

    # ------------------------------------------------------------------ outputs

    @available_if(lambda self: self._can_transform())
    def transform(self, X, **params):
        """Transform X through every step, streaming the image-shaped part.

        Parameters
        ----------
        X : iterable
            Input of the first step (image paths, bytes, ... or an image batch).
        **params : dict
            Metadata routing parameters, as in ``Pipeline`` (such calls run unstreamed).

        Returns
        -------
        Xt : ndarray
            Equal to ``Pipeline(steps).transform(X)``.
        """
        rows = self._stream_rows(X, params)
        if rows is None:
            return super().transform(X, **params)
        check_is_fitted(self)
        Xt, n_steps = self._streamer().output(rows, len(self.steps))
        return self._rest(Xt, n_steps, len(self.steps))

    @available_if(lambda self: self._can_transform())
    def iter_transform(self, X, *, return_failures: bool = False) -> Iterator[tuple]:
        """Transform X batch by batch: yield ``(start, Xt_rows)`` as each batch is done.

        ``Xt_rows`` are the rows ``start:start + len(Xt_rows)`` of ``transform(X)``; the
        steps after the streamed ones run on each batch too, so memory does not grow
        with N: for writing features to disk as they are computed. An input that does
        not stream gives one batch.

        Parameters
        ----------
        X : iterable
            Input of the first step.
        return_failures : bool, default=False
            Also yield the batch's load failures (a leading ``ImageLoader`` with
            ``on_error="fill"``): a list of :class:`~skprep.exceptions.ImageFailure`
            with indices in the whole input; no warning is issued then. Without it,
            failures give one ``ImageLoadWarning`` after the last batch.

        Yields
        ------
        start : int
            Row of the input where this batch starts.
        Xt_rows : ndarray
            The transformed rows of this batch.
        failures : list of ImageFailure
            Only with ``return_failures=True``.

        Examples
        --------
        >>> import numpy as np
        >>> from skprep import KerasModeNormalizer
        >>> pipe = make_streaming_pipeline(KerasModeNormalizer("tf"), batch_size=4)
        >>> images = np.zeros((6, 2, 2, 3), np.uint8)
        >>> [(start, rows.shape) for start, rows in pipe.fit(images).iter_transform(images)]
        [(0, (4, 2, 2, 3)), (4, (2, 2, 2, 3))]
        """
        check_is_fitted(self)
        rows = self._stream_rows(X)
        streamer = self._streamer()
        items = rows if rows is not None else _as_rows(X) or [X]
        log = streamer.load_log(items)
        if rows is None:
            batches: Iterable[tuple[int, Any]] = [(0, X)]
        else:
            found: list[int] = []
            batches = streamer.iter_output(rows, len(self.steps), log, found)
        with streamer.bar(items):
            for start, out in batches:
                if rows is None:
                    out = streamer.stage(0, len(self.steps), log)(0, out)
                    streamer.advance(out)
                else:
                    out = self._rest(out, found[0], len(self.steps))
                if return_failures:
                    yield start, out, log.batch_failures(start, len(out)) if log else []
                else:
                    yield start, out
        if log is not None and not return_failures:
            log.warn()

    def _final_method(self, name: str, X: Any, params: dict) -> Any:
        """``name`` of the final step on the streamed features, or Pipeline's own."""
        Xt = self._final_input(X, params)
        if Xt is None:
            return getattr(super(), name)(X, **params)
        return getattr(self.steps[-1][1], name)(Xt)

    @available_if(_final_has("predict"))
    def predict(self, X, **params):
        """Predict with the final step on the streamed features (see ``Pipeline``)."""
        return self._final_method("predict", X, params)

    @available_if(_final_has("predict_proba"))
    def predict_proba(self, X, **params):
        """Class probabilities of the final step on the streamed features."""
        return self._final_method("predict_proba", X, params)

    @available_if(_final_has("predict_log_proba"))
    def predict_log_proba(self, X, **params):
        """Log-probabilities of the final step on the streamed features."""
        return self._final_method("predict_log_proba", X, params)

    @available_if(_final_has("decision_function"))
    def decision_function(self, X, **params):
        """Decision function of the final step on the streamed features."""
        return self._final_method("decision_function", X, params)

    @available_if(_final_has("score"))
    def score(self, X, y=None, sample_weight=None, **params):
        """Score of the final step on the streamed features (see ``Pipeline.score``)."""
        Xt = self._final_input(X, params)
        if Xt is None:
            return super().score(X, y, sample_weight=sample_weight, **params)
        extra = {} if sample_weight is None else {"sample_weight": sample_weight}
        return self.steps[-1][1].score(Xt, y, **extra)

    # ------------------------------------------------------------------ fitting

    def _fit_streamed(self, rows: Any, y: Any, want_output: bool) -> tuple[int, Any]:
        """Fit the streamed steps (through ``memory`` when it caches): (how many, their
        output on all rows, or None when nothing after them needs it)."""
        self.steps = list(self.steps)
        self._validate_steps()
        limit = _fit_candidates(self.steps)
        memory = check_memory(self.memory)
        if getattr(memory, "location", None) is None:
            return self._streamer().fit(rows, y, limit, want_output)
        cached = memory.cache(_fit_streamed_job, ignore=["prefetch"])
        fitted, n_steps, Xt = cached(
            [(name, clone(step)) for name, step in self.steps[:limit]],
            rows, y, self.batch_size, self.prefetch,
        )
        self.steps[:n_steps] = fitted
        return n_steps, Xt

    @contextlib.contextmanager
    def _hidden(self, n_steps: int) -> Iterator[None]:
        """The first ``n_steps`` (fitted) appear as passthrough while scikit-learn's
        machinery fits the rest on their output."""
        streamed = list(self.steps[:n_steps])
        self.steps = [(name, "passthrough") for name, _ in streamed] + list(self.steps[n_steps:])
        try:
            yield
        finally:
            self.steps = streamed + list(self.steps[n_steps:])

    def _params_for_streamed(self, params: dict) -> dict:
        """The fit parameters that name a step that may stream (those run unstreamed)."""
        if get_config().get("enable_metadata_routing"):
            return params
        names = {name for name, _ in self.steps[:_fit_candidates(self.steps)]}
        return {key: value for key, value in params.items() if key.split("__")[0] in names}

    def fit(self, X, y=None, **params):
        """Fit the steps, streaming the image-shaped part (see the module docstring).

        Parameters
        ----------
        X : iterable
            Training input of the first step.
        y : array-like, default=None
            Targets.
        **params : dict
            Fit parameters ``step__param`` of the steps after the streamed ones (a
            call with parameters for a streamable step, or with metadata routing, runs
            unstreamed).

        Returns
        -------
        self : StreamingPipeline
        """
        rows = self._stream_rows(X, self._params_for_streamed(params))
        if rows is None:
            return super().fit(X, y, **params)
        n_steps, Xt = self._fit_streamed(rows, y, want_output=False)
        if n_steps < len(self.steps):
            with self._hidden(n_steps):
                super().fit(Xt, y, **params)
        return self

    @available_if(lambda self: self._can_fit_transform())
    def fit_transform(self, X, y=None, **params):
        """Fit the steps and return the transformed X, streaming (see ``fit``).

        Returns
        -------
        Xt : ndarray
        """
        rows = self._stream_rows(X, self._params_for_streamed(params))
        if rows is None:
            return super().fit_transform(X, y, **params)
        n_steps, Xt = self._fit_streamed(rows, y, want_output=True)
        if n_steps < len(self.steps):
            with self._hidden(n_steps):
                Xt = super().fit_transform(Xt, y, **params)
        return Xt


def make_streaming_pipeline(*steps: Any, memory=None, transform_input=None,
                            verbose: bool = False, batch_size: int = 256,
                            prefetch: int = 2) -> StreamingPipeline:
    """Build a :class:`StreamingPipeline` from estimators, naming them as
    :func:`sklearn.pipeline.make_pipeline` does.

    Parameters
    ----------
    *steps : estimators
    memory, transform_input, verbose
        As in ``make_pipeline``.
    batch_size : int, default=256
        Rows per streamed batch.
    prefetch : int, default=2
        Batches prepared ahead in a background thread.

    Returns
    -------
    StreamingPipeline

    Examples
    --------
    >>> from skprep import ImageLoader, KerasModeNormalizer
    >>> pipe = make_streaming_pipeline(ImageLoader((32, 32)), KerasModeNormalizer("tf"))
    >>> [name for name, _ in pipe.steps], pipe.batch_size
    (['imageloader', 'kerasmodenormalizer'], 256)
    """
    named = make_pipeline(*steps, memory=memory, transform_input=transform_input,
                          verbose=verbose).steps
    return StreamingPipeline(named, memory=memory, transform_input=transform_input,
                             verbose=verbose, batch_size=batch_size, prefetch=prefetch)
