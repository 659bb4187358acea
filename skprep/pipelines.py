"""Ready-made pipelines for registry models: loader + normalization + extractor (+ head)."""

from __future__ import annotations

import difflib
import os
from typing import Any

from .exceptions import UnknownParameterError
from .features import KerasFeatureExtractor
from .images import ImageLoader
from .normalize import KerasModeNormalizer
from .registry import get_model_spec, parse_input_size
from .streaming import StreamingPipeline

__all__ = ["make_image_pipeline"]


def make_image_pipeline(
    model_name: str,
    head: Any = None,
    *,
    weights: str | os.PathLike | None = "imagenet",
    input_size: int | tuple[int, int] | None = None,
    n_jobs: int | None = None,
    verbose: int = 0,
    augment: Any = None,
    **overrides: Any,
) -> StreamingPipeline:
    """Build the image pipeline of a registry model: paths in, features or predictions out.

    The pipeline is a :class:`~skprep.StreamingPipeline`: images run
    through the steps batch by batch (``batch_size=256``, loading the next batch while the
    model runs), in bounded memory, with the results of a plain ``Pipeline``.

    Steps (named): ``"loader"`` (:class:`~skprep.ImageLoader` at the model's input size),
    ``"normalizer"`` (:class:`~skprep.KerasModeNormalizer` with the model's own mode; a
    float32 cast for models that normalize inside), ``"extractor"``
    (:class:`~skprep.KerasFeatureExtractor`), and ``"head"`` when ``head`` is given;
    with ``augment``, an ``"augment"`` step right after the loader.

    Parameters
    ----------
    model_name : str
        Registry name (``"mobilenet_v2"``, ``"resnet50"``, ...; see
        :func:`skprep.list_models`).
    head : sklearn estimator, default=None
        Final step (``LogisticRegression()``, ...); without it the pipeline is a
        transformer that outputs the features.
    weights : "imagenet", None or path, default="imagenet"
        Passed to the extractor.
    input_size : int or (int, int), default=None
        Image size ``(height, width)``; by default the registry's.
    n_jobs : int, default=None
        Threads of the image loader.
    verbose : int, default=0
        Progress bar of the extractor.
    augment : sampler, default=None
        An :class:`~skprep.ImageAugmenter` (or any step with ``fit_resample``), placed
        after the loader: it adds augmented views of the training images in ``fit`` and
        is skipped in ``predict`` / ``transform``, as in ``imblearn.pipeline.Pipeline``.
        The views are streamed batch by batch in ``fit`` (never all held).
    **overrides
        Any other parameter, as ``step__parameter`` (``loader__resize_mode="crop"``,
        ``extractor__pooling="max"``, ``head__C=0.1``).

    Returns
    -------
    StreamingPipeline
        A ``sklearn.pipeline.Pipeline`` subclass; ``batch_size=`` and ``prefetch=`` are
        accepted here as overrides too.

    Raises
    ------
    UnknownModelError
        If ``model_name`` is not in the registry.
    ValueError
        If an override names no parameter of the pipeline.

    Examples
    --------
    >>> from skprep import make_image_pipeline
    >>> pipe = make_image_pipeline("resnet50", weights=None, input_size=64,
    ...                            extractor__pooling="max")
    >>> [name for name, _ in pipe.steps]
    ['loader', 'normalizer', 'extractor']
    >>> pipe.named_steps["normalizer"].model, pipe.named_steps["loader"].target_size
    ('ResNet50', (64, 64))
    """
    spec = get_model_spec(model_name)
    size = spec.input_size if input_size is None else parse_input_size(input_size)
    steps: list[tuple[str, Any]] = [
        ("loader", ImageLoader(target_size=size, n_jobs=n_jobs)),
        ("normalizer", KerasModeNormalizer(model=spec.name)),
        ("extractor", KerasFeatureExtractor(spec.name, weights=weights,
                                            input_shape=(*size, 3), verbose=verbose)),
    ]
    if head is not None:
        steps.append(("head", head))
    if augment is not None:
        # a sampler: it runs in fit only (streamed batch by batch), as in imbalanced-learn
        steps.insert(1, ("augment", augment))
    pipe = StreamingPipeline(steps)
    if overrides:
        valid = pipe.get_params(deep=True)
        unknown = sorted(key for key in overrides if key not in valid)
        if unknown:
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(key, [k for k in valid if "__" in k], n=3)
                hints.append(f"{key!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""))
            raise UnknownParameterError(
                f"make_image_pipeline got unknown parameter(s): {', '.join(hints)}. Overrides "
                "name a step and one of its parameters, step__parameter, with steps "
                f"{[name for name, _ in steps]} (e.g. loader__n_jobs=4, "
                "extractor__pooling='max')."
            )
        pipe.set_params(**overrides)  # StreamingPipeline.fit checks the steps (guard)
    return pipe
