"""StreamingPipeline and make_streaming_pipeline: a Pipeline whose image part streams."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from numbers import Integral
from typing import Any

from sklearn import get_config
from sklearn.base import clone
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, check_memory

from .._compat import Interval, SkprepParamsMixin
from ..exceptions import InvalidArgumentTypeError, UnsupportedStepError
from ..guard import warn_before_fit
from ..images import ImageLoader
from ._engine import (
    _as_rows,
    _fit_candidates,
    _fit_streamed_job,
    _image_shaped,
    _is_passthrough,
    _is_sampler,
    _Streamer,
)

__all__ = ["StreamingPipeline", "make_streaming_pipeline"]

# --------------------------------------------------------------------------- pipeline


def _final_has(attr: str) -> Callable[[Any], bool]:
    def check(self: Pipeline) -> bool:
        getattr(self._final_estimator, attr)  # the AttributeError says what is missing
        return True

    return check


class StreamingPipeline(SkprepParamsMixin, Pipeline):
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

    Sampler steps (with ``fit_resample``, such as :class:`~skprep.ImageAugmenter`) run
    in ``fit`` / ``fit_transform`` only, as in ``imblearn.pipeline.Pipeline``, and are
    skipped by ``transform``, ``predict``, ``score``, ``iter_transform``. One with
    ``resample_batch(X, y, start_index=)`` streams: each batch is resampled and its
    ``y`` travels with it (the remaining steps get ``y`` assembled in order); others
    run ``fit_resample`` on their whole input. A pipeline with a sampler fits without
    ``memory`` caching and refuses metadata routing and ``transform_input``.

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

    # ------------------------------------------------------------------ samplers

    def _iter(self, with_final=True, filter_passthrough=True):
        # Pipeline's, and as in imbalanced-learn's: samplers run in fit only, so the
        # transform/predict/score paths (which filter passthrough) skip them
        stop = len(self.steps) - (0 if with_final else 1)
        for index, (name, step) in enumerate(self.steps[:stop]):
            if not filter_passthrough or not (_is_passthrough(step) or _is_sampler(step)):
                yield index, name, step

    def _check_sampled_steps(self) -> None:
        """Pipeline's step check, with samplers allowed as intermediate steps."""
        for name, step in self.steps[:-1]:
            if not (_is_passthrough(step) or _is_sampler(step) or hasattr(step, "transform")):
                raise InvalidArgumentTypeError(
                    f"StreamingPipeline: step {name!r} ({type(step).__name__}) is neither a "
                    "transformer (fit and transform), a sampler (fit_resample) nor "
                    "'passthrough'.")

    def _has_sampler(self) -> bool:
        return any(_is_sampler(step) for _, step in self.steps)

    def _step_params(self, name: str, params: dict) -> dict:
        return {key.split("__", 1)[1]: value for key, value in params.items()
                if key.split("__", 1)[0] == name}

    def _fit_resampling(self, X: Any, y: Any, params: dict, begin: int = 0) -> tuple:
        """imbalanced-learn's ``Pipeline._fit`` on ``steps[begin:-1]``: samplers
        through ``fit_resample`` (X and y change), the others through ``fit_transform``."""
        for name, step in self.steps[begin:-1]:
            kwargs = self._step_params(name, params)
            if _is_sampler(step):
                X, y = step.fit_resample(X, y, **kwargs)
            elif not _is_passthrough(step):
                X = step.fit_transform(X, y, **kwargs)
        return X, y

    def _fit_sampled(self, X: Any, y: Any, params: dict) -> tuple[Any, Any, bool]:
        """Fit all steps but the last with samplers in: (its input X, y, whether the
        last step is still to fit). The streamed part resamples batch by batch."""
        if get_config().get("enable_metadata_routing") or self.transform_input:
            raise UnsupportedStepError(
                "StreamingPipeline with a sampler step does not support metadata routing "
                "or transform_input; use imblearn.pipeline.Pipeline for that.")
        self.steps = list(self.steps)
        self._check_sampled_steps()
        rows = self._stream_rows(X, self._params_for_streamed(params))
        if rows is None:
            return (*self._fit_resampling(X, y, params), True)
        streamer = self._streamer()
        n_steps, Xt = streamer.fit(rows, y, _fit_candidates(self.steps), True)
        Xt, yt = self._fit_resampling(Xt, streamer.resampled_y(), params, n_steps)
        return Xt, yt, n_steps < len(self.steps)

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
        self._validate_params()  # before steps / batch_size are used to stream
        warn_before_fit(self, f"{type(self).__name__}.fit")
        if self._has_sampler():
            Xt, yt, final_left = self._fit_sampled(X, y, params)
            if final_left and not _is_passthrough(self.steps[-1][1]):
                self.steps[-1][1].fit(Xt, yt, **self._step_params(self.steps[-1][0], params))
            return self
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
        self._validate_params()
        warn_before_fit(self, f"{type(self).__name__}.fit_transform")
        if self._has_sampler():
            Xt, yt, final_left = self._fit_sampled(X, y, params)
            last_name, last = self.steps[-1]
            if not final_left or _is_passthrough(last):
                return Xt
            return last.fit_transform(Xt, yt, **self._step_params(last_name, params))
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
