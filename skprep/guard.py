"""Does a pipeline's preprocessing fit its model? Two checks, both pure functions.

* :func:`check_pipeline` reads the steps' parameters (``get_params``) and the model
  registry, never runs a model, and returns a list of
  :class:`~skprep.exceptions.PreprocessingFinding`: the normalizer's mode against the
  extractor's model family, a standardizer in place of the mode, a model normalized
  twice or not at all, the loader's size, colour mode and the data format against the
  model's input, an augmenter's contrast / brightness after the normalizer, a head left
  unfitted, text steps in an image pipeline. Nested pipelines (also imbalanced-learn's)
  are walked (step names ``"outer__inner"``).
* :func:`check_input_statistics` looks at one batch (per-channel min / max / mean, one
  pass) and tells whether it can be the output of the mode a model expects on natural
  images. :class:`~skprep.KerasFeatureExtractor` runs it on its first batch.

How the input check decides. Each preprocessing ``p`` (raw 0-255, ``/ 255``, and the
four Keras modes) is an affine map per channel, so the batch's per-channel min and max
give back the raw pixels ``p`` would have had to see. ``p`` is *possible* when those
lie in [0, 255]. The check warns when the expected mode is impossible, or when another
possible preprocessing explains the batch as a real photo (a raw range of at least 64
levels) while the expected one needs an almost flat image (8 times narrower). Two
signatures add to that: ``tf``/``torch`` input with no negative value, a near-black
value in every channel and most of [0, 1] spanned is pixels divided by 255; ``torch``
input that stops exactly at -1 or 1 is ``tf`` mode (black and white pixels). Integer
input is raw pixels (no normalizer outputs integers).

A flat or dark image stays silent in every mode (all its explanations are equally
narrow), and so does a wrongly preprocessed batch that is flat or dark enough to be
ambiguous: the check errs on the side of silence. One known false alarm: ``tf`` input
whose darkest value in every channel is just above mid-grey (128 to 134) and that spans most
of the upper half looks like pixels divided by 255.

Examples
--------
>>> from sklearn.pipeline import make_pipeline
>>> from skprep import ImageLoader, KerasFeatureExtractor, KerasModeNormalizer, check_pipeline
>>> pipe = make_pipeline(ImageLoader((224, 224)), KerasModeNormalizer("tf"),
...                      KerasFeatureExtractor("resnet50"))
>>> [finding.code for finding in check_pipeline(pipe)]
['normalizer-mode-mismatch']
>>> print(check_pipeline(pipe)[0].fix)
replace step 'kerasmodenormalizer' with KerasModeNormalizer(model='ResNet50')
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._constants import CHANNELS, MODES, PIXEL_MAX
from .exceptions import (
    SEVERITIES,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    PreprocessingFinding,
    PreprocessingMismatchError,
    PreprocessingMismatchWarning,
    UnknownModelError,
)
from .normalize import mode_arithmetic
from .registry import ModelSpec, get_model_spec, list_models

__all__ = [
    "check_pipeline",
    "check_input_statistics",
    "model_spec_of",
    "warn_findings",
    "warn_before_fit",
    "extractor_expectation",
    "layout_of",
    "warn_on_input",
]

# what each mode's output looks like on natural 0-255 RGB photos
_MODE_TEXT = {
    "caffe": "caffe mode (BGR, mean-centred, roughly [-124, 152])",
    "tf": "tf mode (x / 127.5 - 1, in [-1, 1])",
    "torch": "torch mode (ImageNet mean/std, about [-2.1, 2.6])",
    "none": "raw RGB pixels in 0-255 (it normalizes inside)",
}
_CODE_NAME = {"none": "raw", "?": "unknown"}
_LIKELY_TEXT = {
    "none": "raw 0-255 pixels",
    "unit": "pixels scaled to [0, 1] (x / 255)",
    "tf": "tf-mode input in [-1, 1]",
    "torch": "torch-mode input (ImageNet mean/std)",
    "caffe": "caffe-mode input (BGR, mean-centred)",
}

# ------------------------------------------------------------------ findings


def _finding(code: str, severity: str, steps: Sequence[str], problem: str,
             fix: str) -> PreprocessingFinding:
    return PreprocessingFinding(code, severity, tuple(steps), f"{problem} Fix: {fix}.", fix)


def _severity_rank(severity: str) -> int:
    if severity not in SEVERITIES:
        raise InvalidArgumentError(
            f"Expected a severity in {SEVERITIES} or None. Received: {severity!r}.")
    return SEVERITIES.index(severity)


def warn_findings(findings: Sequence[PreprocessingFinding], where: str, *,
                  min_severity: str = "warning", stacklevel: int = 2) -> None:
    """Issue one :class:`~skprep.exceptions.PreprocessingMismatchWarning` for the findings.

    Parameters
    ----------
    findings : sequence of PreprocessingFinding
        As returned by :func:`check_pipeline`.
    where : str
        What was checked, first in the message (``"skprep.load('model.skprep')"``).
    min_severity : {"info", "warning", "error"}, default="warning"
        Findings below this severity are not warned about.
    stacklevel : int, default=2
        Passed to :func:`warnings.warn`.
    """
    rank = _severity_rank(min_severity)
    kept = [f for f in findings if _severity_rank(f.severity) >= rank]
    if kept:
        text = "\n".join([f"{where}: the preprocessing does not fit the model:",
                          *(f"  - {f}" for f in kept)])
        warnings.warn(PreprocessingMismatchWarning(text, kept), stacklevel=stacklevel + 1)


#: findings about what is fitted: a fit about to run settles them
_FIT_STATE_CODES = frozenset({"head-not-fitted", "step-not-fitted"})


def warn_before_fit(pipe: Any, where: str, *, stacklevel: int = 2) -> None:
    """Warn about ``pipe``'s findings (severity "warning" and up) before it is fitted;
    what is fitted is left out, since the fit settles it.

    Parameters
    ----------
    pipe : sklearn.pipeline.Pipeline
        The pipeline about to be fitted.
    where : str
        What is being done, first in the message (``"StreamingPipeline.fit"``).
    stacklevel : int, default=2
        Passed to :func:`warnings.warn` (2: the caller of the function that calls this).
    """
    findings = [f for f in check_pipeline(pipe) if f.code not in _FIT_STATE_CODES]
    warn_findings(findings, where, stacklevel=stacklevel + 1)


# ------------------------------------------------------------------ model expectations

_SIZE_SUFFIX = re.compile(r"_\d+\.\d+_\d+$")  # Keras' "mobilenetv2_1.00_224"


def _spec_from_name(name: Any) -> ModelSpec | None:
    if not isinstance(name, str):
        return None
    for candidate in (name, _SIZE_SUFFIX.sub("", name)):
        try:
            return get_model_spec(candidate)
        except UnknownModelError:
            continue
    return None


def _keras_model_spec(model: Any) -> ModelSpec | None:
    """The registry entry of a ``keras.applications`` model, or of a model that feeds
    its input straight into one (``Sequential([backbone, head])``); public attributes only."""
    spec = _spec_from_name(getattr(model, "name", None))
    if spec is not None:
        return spec
    keras = sys.modules.get("keras")  # a keras.Model exists, so Keras is imported
    if keras is None:
        return None
    layers = [layer for layer in getattr(model, "layers", ()) or ()
              if not isinstance(layer, keras.layers.InputLayer)]
    if layers and isinstance(layers[0], keras.Model):
        return _keras_model_spec(layers[0])
    return None


def model_spec_of(model: Any) -> ModelSpec | None:
    """The registry entry whose preprocessing ``model`` expects, or None if unknown.

    Parameters
    ----------
    model : str, keras.Model, path or other
        A registry name; a ``keras.Model`` named like a ``keras.applications`` model
        (``"resnet50"``, ``"mobilenetv2_1.00_224"``) or whose first layer is one; a
        model file path (unknown: its file is not opened); anything else (unknown).

    Returns
    -------
    ModelSpec or None

    Examples
    --------
    >>> model_spec_of("resnet_50").mode
    'caffe'
    >>> model_spec_of("my_model.keras") is None
    True
    """
    if isinstance(model, os.PathLike):
        return None
    if isinstance(model, str):
        return None if model.lower().endswith((".keras", ".h5")) else _spec_from_name(model)
    if hasattr(model, "layers") and hasattr(model, "name"):
        return _keras_model_spec(model)
    return None


# ------------------------------------------------------------------ walking the pipeline


@dataclass
class _Step:
    name: str
    estimator: Any
    kind: str  # loader, augmenter, normalizer, standardizer, extractor, text, other
    mode: str | None = None  # normalizers: the resolved mode


def _keras_function_mode(func: Any) -> str | None:
    """Mode of a ``keras.applications.<module>.preprocess_input`` already imported."""
    for spec in list_models():
        module = sys.modules.get(f"keras.applications.{spec.module}")
        if module is not None and getattr(module, "preprocess_input", None) is func:
            return spec.mode
    return None


def _normalizer_mode(params: dict) -> str | None:
    mode, model = params.get("mode"), params.get("model")
    if (mode is None) == (model is None):
        return None  # invalid: the normalizer's own fit says so
    if model is not None:
        spec = _spec_from_name(model)
        return spec.mode if spec is not None else None
    return mode if mode in MODES else None


def _classify(name: str, est: Any) -> _Step:
    from sklearn.preprocessing import FunctionTransformer

    from .features import KerasFeatureExtractor
    from .images import ImageLoader
    from .normalize import KerasModeNormalizer
    from .stats import DatasetStatsStandardizer

    if isinstance(est, ImageLoader):
        return _Step(name, est, "loader")
    if isinstance(est, KerasModeNormalizer):
        return _Step(name, est, "normalizer", _normalizer_mode(est.get_params(deep=False)))
    if isinstance(est, DatasetStatsStandardizer):
        return _Step(name, est, "standardizer")
    if isinstance(est, KerasFeatureExtractor):
        return _Step(name, est, "extractor")
    if _is_text_step(est):
        return _Step(name, est, "text")
    augmenter = _loaded(f"{__package__}.augment", "ImageAugmenter")
    if augmenter and isinstance(est, augmenter):
        return _Step(name, est, "augmenter")
    if isinstance(est, FunctionTransformer):
        mode = _keras_function_mode(est.get_params(deep=False)["func"])
        if mode is not None:
            return _Step(name, est, "normalizer", mode)
    return _Step(name, est, "other")


def _loaded(module: str, *names: str) -> tuple[type, ...]:
    """Classes of a module already imported (an instance of a class never imported cannot
    be in a pipeline, so nothing is imported to check)."""
    found = sys.modules.get(module)
    return tuple(getattr(found, name) for name in names) if found is not None else ()


def _is_text_step(est: Any) -> bool:
    text = (*_loaded(f"{__package__}.text", "TextVectorizer", "SequencePadder"),
            *_loaded("sklearn.feature_extraction.text", "CountVectorizer",
                     "HashingVectorizer", "TfidfVectorizer"))
    return bool(text) and isinstance(est, text)


def _flatten(pipe: Any, prefix: str = "") -> list[_Step]:
    """Every step of a (nested) Pipeline in order, ``"passthrough"``/None left out."""
    from sklearn.pipeline import Pipeline

    steps: list[_Step] = []
    for name, est in pipe.steps:
        if est is None or (isinstance(est, str) and est == "passthrough"):
            continue
        if isinstance(est, Pipeline):
            steps += _flatten(est, f"{prefix}{name}__")
        else:
            steps.append(_classify(f"{prefix}{name}", est))
    return steps


@dataclass
class _Context:
    steps: list[_Step]
    extractor: _Step | None
    spec: ModelSpec | None  # what the extractor's model expects
    before: list[_Step]  # the steps before the extractor
    params: dict  # the extractor's parameters


def _context(steps: list[_Step]) -> _Context:
    index = next((i for i, s in enumerate(steps) if s.kind == "extractor"), None)
    if index is None:
        return _Context(steps, None, None, steps, {})
    extractor = steps[index]
    params = extractor.estimator.get_params(deep=False)
    spec = model_spec_of(params["model"])
    if spec is None:  # a fitted extractor knows what it learned (also from an unpickled model)
        spec = _spec_from_name(getattr(extractor.estimator, "expected_input_model_", None))
    return _Context(steps, extractor, spec, steps[:index], params)


def _describe(step: _Step) -> str:
    kind = type(step.estimator).__name__
    if step.kind == "normalizer" and step.mode is not None:
        return f"step {step.name!r} ({kind}, mode {step.mode!r})"
    return f"step {step.name!r} ({kind})"


def _right_normalizer(spec: ModelSpec) -> str:
    return f"KerasModeNormalizer(model={spec.name!r})"


# ------------------------------------------------------------------ the checks


def _check_inside(ctx: _Context, active: list[_Step], include: bool) -> list[PreprocessingFinding]:
    """Normalizers before a model that normalizes its 0-255 input itself."""
    spec, ext = ctx.spec, ctx.extractor.name
    findings = []
    for step in active:
        if include and spec.mode != "none":
            findings.append(_finding(
                "include-preprocessing-after-normalizer", "error", (step.name, ext),
                f"{_describe(step)} normalizes the input, and step {ext!r} normalizes it again "
                f"inside the model (include_preprocessing=True applies {spec.name}'s "
                f"{spec.mode} mode to what should be raw 0-255 RGB pixels).",
                f"remove step {step.name!r}, or set include_preprocessing=False on step "
                f"{ext!r}"))
        else:
            findings.append(_finding(
                "normalized-inside-model", "error", (step.name, ext),
                f"{spec.name} expects raw RGB pixels in 0-255 and normalizes them inside the "
                f"model; {_describe(step)} normalizes them before, so twice.",
                f"remove step {step.name!r} (or use {_right_normalizer(spec)}, a float32 "
                "cast)"))
    return findings


def _check_missing(ctx: _Context, has_loader: bool) -> list[PreprocessingFinding]:
    spec, ext = ctx.spec, ctx.extractor.name
    unknown = [s.name for s in ctx.before if s.kind == "other"]
    expects = f"{spec.name} expects {_MODE_TEXT[spec.mode]}"
    if unknown:
        return [_finding(
            "unverified-preprocessing", "info", (*unknown, ext),
            f"No skprep normalizer before step {ext!r}; {expects}. Step(s) {unknown} may "
            "do it, but skprep cannot verify them.",
            f"use {_right_normalizer(spec)} instead of your own normalization")]
    got = "raw 0-255 pixels from the loader" if has_loader else (
        "whatever is passed in (raw pixels unless you normalized them yourself)")
    return [_finding(
        "missing-normalizer", "error" if has_loader else "warning", (ext,),
        f"No normalizer before step {ext!r}: {expects}, and gets {got}.",
        f"insert {_right_normalizer(spec)} before step {ext!r} (or set "
        "include_preprocessing=True on it)")]


def _check_mode(ctx: _Context, norms: list[_Step]) -> list[PreprocessingFinding]:
    """Normalizers and standardizers before a caffe / tf / torch model."""
    spec, ext = ctx.spec, ctx.extractor.name
    expects = f"{spec.name} expects {_MODE_TEXT[spec.mode]}"
    findings = []
    for step in norms:
        if step.kind == "normalizer" and step.mode not in (None, spec.mode):
            findings.append(_finding(
                "normalizer-mode-mismatch", "error", (step.name, ext),
                f"{_describe(step)} does not match step {ext!r}: {expects}.",
                f"replace step {step.name!r} with {_right_normalizer(spec)}"))
        elif step.kind == "standardizer":
            findings.append(_finding(
                "standardizer-instead-of-mode",
                "warning" if spec.mode == "torch" else "error", (step.name, ext),
                f"{_describe(step)} standardizes with your data's own statistics, but the "
                f"pretrained weights of step {ext!r} expect {_MODE_TEXT[spec.mode]}.",
                f"replace step {step.name!r} with {_right_normalizer(spec)}"))
    active = [s for s in norms if s.mode != "none"]
    if len(active) > 1:
        findings.append(_finding(
            "normalized-twice", "error", (*(s.name for s in active), ext),
            f"The input of step {ext!r} is normalized {len(active)} times, by "
            f"{', '.join(_describe(s) for s in active)}; {expects}.",
            f"keep one step: {_right_normalizer(spec)}"))
    return findings


def _check_normalization(ctx: _Context) -> list[PreprocessingFinding]:
    if ctx.extractor is None or ctx.spec is None:
        return []
    norms = [s for s in ctx.before if s.kind in ("normalizer", "standardizer")]
    active = [s for s in norms if s.mode != "none"]
    include = bool(ctx.params.get("include_preprocessing"))
    if include or ctx.spec.builtin_preprocessing:
        return _check_inside(ctx, active, include)
    if not norms:
        return _check_missing(ctx, any(s.kind == "loader" for s in ctx.before))
    return _check_mode(ctx, norms)


def _extractor_input_shape(ctx: _Context) -> tuple | None:
    """``(height, width, channels)`` the extractor expects, from its parameters."""
    shape, model = ctx.params.get("input_shape"), ctx.params.get("model")
    if shape is not None:
        return tuple(shape)
    if isinstance(model, str) and ctx.spec is not None and model_spec_of(model) is ctx.spec:
        return ctx.spec.input_shape
    own = getattr(model, "input_shape", None)  # a keras.Model's public attribute
    if isinstance(own, tuple) and len(own) == 4:
        return tuple(own[1:])
    return getattr(ctx.extractor.estimator, "input_shape_", None)  # fitted


def _check_size(ctx: _Context, loader: _Step, target: Any,
                shape: tuple) -> list[PreprocessingFinding]:
    ext, spec = ctx.extractor.name, ctx.spec
    size = tuple(shape[:2])
    if None in size:
        return []
    if target is None:
        return [_finding(
            "input-size-mismatch", "warning", (loader.name, ext),
            f"Step {loader.name!r} keeps each image's own size (target_size=None); step "
            f"{ext!r} expects {size[0]}x{size[1]} images.",
            f"set target_size={size} on step {loader.name!r}")]
    target = tuple(int(v) for v in target)
    if target != size:
        return [_finding(
            "input-size-mismatch", "error", (loader.name, ext),
            f"Step {loader.name!r} makes {target[0]}x{target[1]} images; step {ext!r} expects "
            f"{size[0]}x{size[1]}.",
            f"set target_size={size} on step {loader.name!r} (or "
            f"input_shape={(*target, shape[2])} on step {ext!r})")]
    if spec is not None and target != spec.input_size:
        default = spec.input_size
        return [_finding(
            "input-size-differs", "info", (loader.name, ext),
            f"{spec.name} was trained at {default[0]}x{default[1]} (its default); this "
            f"pipeline feeds it {target[0]}x{target[1]} images. Allowed, but pretrained "
            "features are best at the default size.",
            f"target_size={default} on step {loader.name!r} and "
            f"input_shape={(*default, 3)} on step {ext!r}")]
    return []


def _check_loader(ctx: _Context) -> list[PreprocessingFinding]:
    """The loader's size and colour mode against the extractor's input."""
    if ctx.extractor is None:
        return []
    loaders = [i for i, s in enumerate(ctx.before) if s.kind == "loader"]
    shape = _extractor_input_shape(ctx)
    if not loaders or shape is None or len(shape) != 3:
        return []
    loader = ctx.before[loaders[-1]]
    if any(s.kind == "other" for s in ctx.before[loaders[-1]:]):
        return []  # a step of its own between them may resize or convert: cannot tell
    params = loader.estimator.get_params(deep=False)
    channels = CHANNELS.get(params["color_mode"])
    want = shape[-1] if shape[-1] in (1, 3, 4) else None
    if channels is not None and want is not None and channels != want:
        mode = {v: k for k, v in CHANNELS.items()}[want]
        name = ctx.spec.name if ctx.spec is not None else f"step {ctx.extractor.name!r}"
        return [_finding(
            "channels-mismatch", "error", (loader.name, ctx.extractor.name),
            f"Step {loader.name!r} loads color_mode={params['color_mode']!r} ({channels} "
            f"channel(s)); {name} expects {want} channel(s).",
            f"set color_mode={mode!r} on step {loader.name!r}")]
    return _check_size(ctx, loader, params["target_size"], shape)


def _extractor_layout(ctx: _Context) -> str | None:
    shape = _extractor_input_shape(ctx)
    if shape is None or len(shape) != 3:
        return None
    if shape[-1] in (1, 3, 4):
        return "channels_last"
    return "channels_first" if shape[0] in (1, 3, 4) else None


def _check_data_format(ctx: _Context) -> list[PreprocessingFinding]:
    """Every step that reads the channel axis agrees on where it is."""
    findings, layout, source = [], None, None
    for step in ctx.before:
        if step.kind == "loader":
            layout, source = "channels_last", f"step {step.name!r} outputs channels-last batches"
        elif step.kind == "other":
            layout = None
        elif step.kind in ("normalizer", "standardizer", "augmenter") and "data_format" in (
                params := step.estimator.get_params(deep=False)):
            fmt = params["data_format"]
            if layout is not None and fmt != layout:
                findings.append(_finding(
                    "data-format-mismatch", "error", (step.name,),
                    f"{_describe(step)} has data_format={fmt!r}, but {source}: its "
                    "per-channel steps would run along another axis.",
                    f"set data_format={layout!r} on step {step.name!r}"))
            elif layout is None:
                layout, source = fmt, f"step {step.name!r} has data_format={fmt!r}"
    want = _extractor_layout(ctx) if ctx.extractor is not None else None
    if layout is not None and want is not None and layout != want:
        findings.append(_finding(
            "data-format-mismatch", "error", (ctx.extractor.name,),
            f"Step {ctx.extractor.name!r} expects {want} input, but {source}.",
            f"give step {ctx.extractor.name!r} {layout} input (or transpose the batches "
            "before it)"))
    return findings


def _check_augmenter(ctx: _Context) -> list[PreprocessingFinding]:
    """An augmenter's contrast / brightness work on 0-255 pixels (and clip to them)."""
    findings, normalized = [], []
    for step in ctx.steps:
        if step.kind in ("normalizer", "standardizer") and step.mode != "none":
            normalized.append(step.name)
        elif step.kind == "augmenter" and normalized:
            params = step.estimator.get_params(deep=False)
            if params.get("contrast") is None and params.get("brightness") is None:
                continue  # geometric operations only: any scale will do
            findings.append(_finding(
                "augmenter-after-normalizer", "error", (normalized[-1], step.name),
                f"{_describe(step)} changes contrast and brightness on 0-255 pixels and clips "
                f"to [0, 255], but step {normalized[-1]!r} before it has normalized them: "
                "every negative value becomes 0.",
                f"move step {step.name!r} before step {normalized[0]!r} (right after the "
                "loader)"))
    return findings


def _check_text(ctx: _Context) -> list[PreprocessingFinding]:
    image = [s.name for s in ctx.steps if s.kind in ("loader", "augmenter", "normalizer",
                                                     "standardizer", "extractor")]
    if not image:
        return []
    return [_finding(
        "text-step-in-image-pipeline", "error", (step.name, *image),
        f"{_describe(step)} is a text step in an image pipeline (image steps: {image}).",
        f"remove step {step.name!r}: text goes through its own pipeline (combine the two "
        "with a ColumnTransformer)") for step in ctx.steps if step.kind == "text"]


def _is_fitted(est: Any) -> bool | None:
    """True / False, or None for a step that needs no fit."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils import get_tags
    from sklearn.utils.validation import check_is_fitted

    try:
        if not get_tags(est).requires_fit:
            return None
        check_is_fitted(est)
    except NotFittedError:
        return False
    except (TypeError, AttributeError):
        return None  # not an estimator sklearn can inspect
    return True


def _check_fitted(ctx: _Context) -> list[PreprocessingFinding]:
    state = {s.name: _is_fitted(s.estimator) for s in ctx.steps}
    if not ctx.steps or True not in state.values():
        return []  # not fitted yet: nothing to say
    heads = {s.name for s in ctx.steps[ctx.steps.index(ctx.extractor) + 1:]} if (
        ctx.extractor is not None) else {ctx.steps[-1].name}
    return [_finding(
        "head-not-fitted" if step.name in heads else "step-not-fitted", "error", (step.name,),
        f"{_describe(step)} is not fitted while the other steps are (it was replaced, e.g. "
        "with set_params, or fitted apart, after the pipeline's fit).",
        "fit the whole pipeline again: pipe.fit(X, y)")
        for step in ctx.steps if state[step.name] is False]


def check_pipeline(pipe: Any, raise_on: str | None = None) -> list[PreprocessingFinding]:
    """Check that a pipeline's preprocessing fits its model, from the steps' parameters.

    Nothing is run: the check reads ``get_params()`` of every step (nested pipelines
    included) and the model registry. It reports a normalizer whose mode is not the
    extractor model's, any normalizer before a model that normalizes inside
    (EfficientNet, EfficientNetV2, ConvNeXt, MobileNetV3), a normalizer before an
    extractor with ``include_preprocessing=True``, no normalizer before a caffe / tf /
    torch model, a :class:`~skprep.DatasetStatsStandardizer` in place of the model's
    mode, a loader whose size, colour mode or data format disagree with the model, an
    :class:`~skprep.ImageAugmenter` changing contrast or brightness after the normalizer
    (they work on 0-255 pixels and clip to them), text steps in an image pipeline, and
    steps left unfitted in a fitted pipeline. A model
    the registry does not know (a ``keras.Model`` of your own, unless named like a
    ``keras.applications`` model) is not checked for its normalization.

    Parameters
    ----------
    pipe : sklearn.pipeline.Pipeline
        The pipeline (fitted or not).
    raise_on : {"info", "warning", "error"} or None, default=None
        Raise :class:`~skprep.exceptions.PreprocessingMismatchError` when a finding has
        this severity or a higher one; None never raises.

    Returns
    -------
    list of PreprocessingFinding
        In pipeline order of the checks; empty when everything agrees.

    Raises
    ------
    PreprocessingMismatchError
        See ``raise_on``.

    Examples
    --------
    >>> from skprep import check_pipeline, make_image_pipeline
    >>> check_pipeline(make_image_pipeline("resnet50"))
    []
    >>> pipe = make_image_pipeline("efficientnetb0").set_params(normalizer__model="mobilenet_v2")
    >>> [(f.code, f.severity, f.steps) for f in check_pipeline(pipe)]
    [('normalized-inside-model', 'error', ('normalizer', 'extractor'))]
    """
    from sklearn.pipeline import Pipeline

    rank = None if raise_on is None else _severity_rank(raise_on)
    if not isinstance(pipe, Pipeline):
        raise InvalidArgumentTypeError(
            "check_pipeline expects a scikit-learn Pipeline. Received: "
            f"{type(pipe).__name__}.")
    ctx = _context(_flatten(pipe))
    findings = [*_check_normalization(ctx), *_check_loader(ctx), *_check_data_format(ctx),
                *_check_augmenter(ctx), *_check_text(ctx), *_check_fitted(ctx)]
    if rank is not None and any(_severity_rank(f.severity) >= rank for f in findings):
        raise PreprocessingMismatchError(findings)
    return findings


# ------------------------------------------------------------------ the input check

_RAW_TOLERANCE = 6.0  # pixel levels: rounding, and resampling that overshoots [0, 255]
_PHOTO_SPREAD = 64.0  # raw levels a batch of photos spans at least
_RATIO = 8.0  # how much wider the better explanation must be
_UNIT_SPREAD = 0.6  # a [0, 1] batch without negatives spanning this much
_UNIT_DARK = 0.05  # ... with a pixel this dark in every channel


def _candidates(n_channels: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per output channel ``raw = x * scale + offset`` of each preprocessing, from the one
    translation of the Keras modes (:func:`~skprep.normalize.mode_arithmetic`); ``"unit"``
    is ``x / 255``. caffe and torch only for 3 channels."""
    ones = np.ones(n_channels)
    maps = {"unit": (PIXEL_MAX * ones, 0 * ones)}
    for mode in ("none", "tf", "torch", "caffe"):  # the order ties are listed in
        arith = mode_arithmetic(mode)
        per_rgb_channel = arith.std is not None or np.ndim(arith.mean) or arith.flip
        if per_rgb_channel and n_channels != 3:
            continue
        divisor = 1.0 if arith.divisor is None else arith.divisor
        std = ones if arith.std is None else np.asarray(arith.std)
        mean = np.broadcast_to(0.0 if arith.mean is None else arith.mean, (n_channels,))
        maps[mode] = (divisor * std, divisor * mean)
    return {name: maps[name] for name in ("none", "unit", "tf", "torch", "caffe") if name in maps}


_ROW_PIXELS = 2048  # pixels per row of the wide view the channel reductions run over


def _channel_stats(X: np.ndarray, data_format: str) -> tuple[np.ndarray, ...]:
    """(min, max, mean) per channel, float64, without copying the batch.

    Channels-last data is viewed as rows of ``_ROW_PIXELS`` whole pixels: reducing
    over the rows runs along long contiguous lines (a reduction over an ``(M, 3)``
    view would run 3 values at a time, several times slower).
    """
    axis = X.ndim - 1 if data_format == "channels_last" or X.ndim == 2 else 1
    n_channels = X.shape[axis]
    if axis != X.ndim - 1 or not X.flags.c_contiguous:
        planes = [X[(slice(None),) * axis + (c,)] for c in range(n_channels)]
        return (np.array([p.min() for p in planes], np.float64),
                np.array([p.max() for p in planes], np.float64),
                np.array([p.mean(dtype=np.float64) for p in planes]))
    flat = X.reshape(-1)
    width = n_channels * _ROW_PIXELS
    whole = flat.size // width * width
    rest = flat[whole:].reshape(-1, n_channels)
    lows, highs, sums = [], [], []
    if len(rest):
        lows.append(rest.min(axis=0))
        highs.append(rest.max(axis=0))
        sums.append(rest.sum(axis=0, dtype=np.float64))
    if whole:
        rows = flat[:whole].reshape(-1, width)
        lows.append(rows.min(axis=0).reshape(-1, n_channels).min(axis=0))
        highs.append(rows.max(axis=0).reshape(-1, n_channels).max(axis=0))
        # float32 sums down the rows, float64 across them: the mean only feeds the message
        sums.append(rows.sum(axis=0).reshape(-1, n_channels).sum(axis=0, dtype=np.float64))
    count = flat.size // n_channels
    return (np.min(lows, axis=0).astype(np.float64), np.max(highs, axis=0).astype(np.float64),
            np.sum(sums, axis=0) / count)


def _explanations(low: np.ndarray, high: np.ndarray) -> dict[str, float]:
    """Each preprocessing that can have made this batch from 0-255 pixels -> the raw
    range (levels) it implies; the widest is the likeliest for photos."""
    found = {}
    for name, (scale, offset) in _candidates(len(low)).items():
        raw_low, raw_high = low * scale + offset, high * scale + offset
        if raw_low.min() >= -_RAW_TOLERANCE and raw_high.max() <= PIXEL_MAX + _RAW_TOLERANCE:
            found[name] = float((raw_high - raw_low).max())
    return found


def _widest(found: dict[str, float]) -> tuple[str, ...]:
    """The explanations of the widest raw range (ties kept: the batch cannot tell)."""
    if not found:
        return ("?",)
    top = max(found.values())
    return tuple(k for k, v in found.items() if v >= top - 1e-6 * max(top, 1.0))


def _tf_signature(low: np.ndarray, high: np.ndarray) -> bool:
    """Exactly -1 or 1 somewhere, nothing beyond: tf mode of black or white pixels (no
    other mode maps a whole pixel value to exactly +-1)."""
    inside = -1 - 1e-6 <= low.min() < 0 and high.max() <= 1 + 1e-6
    return bool(inside and (np.isclose(low, -1, atol=1e-6).any()
                            or np.isclose(high, 1, atol=1e-6).any()))


def _likely_mistake(X: np.ndarray, low: np.ndarray, high: np.ndarray,
                    expected: str) -> tuple[str, ...] | None:
    """What the batch looks like instead of ``expected`` (``("?",)``: nothing known), or
    None when the batch fits ``expected``."""
    if X.dtype.kind in "ui":  # integer pixels are raw: no normalizer outputs integers
        fits = expected == "none" and low.min() >= 0 and high.max() <= PIXEL_MAX
        return None if fits else ("none",)
    found = _explanations(low, high)
    if expected not in found:
        return _widest({k: v for k, v in found.items() if k != expected})
    better = {k: v for k, v in found.items() if k != expected
              and v >= _PHOTO_SPREAD and v >= _RATIO * found[expected]}
    if better:
        if expected == "none" and np.array_equal(X, np.round(X)):
            return None  # a near-black image of whole pixel values: raw after all
        return _widest(better)
    if expected == "torch" and _tf_signature(low, high):
        return ("tf",)
    if expected in ("tf", "torch") and low.min() >= 0 and high.max() <= 1:
        # no negative value, a dark pixel in every channel, most of [0, 1] spanned
        if (low <= _UNIT_DARK).all() and (high - low).max() >= _UNIT_SPREAD:
            return ("unit",)
    return None


def _input_fix(likely: tuple[str, ...], expected: str, spec: ModelSpec | None) -> str:
    right = (_right_normalizer(spec) if spec is not None
             else f"KerasModeNormalizer(mode={expected!r})")
    if len(likely) > 1:
        if expected == "none":
            return "feed it raw 0-255 RGB pixels, with no normalizer"
        return f"feed it 0-255 pixels through {right}, and no other normalizer"
    likely = likely[0]
    if expected == "none":
        if likely == "unit":
            return "feed it 0-255 pixels (drop the / 255)"
        return "remove the normalizer: feed it raw 0-255 RGB pixels"
    if likely == "none":
        return f"add {right} before the extractor"
    if likely == "unit":
        return f"drop the / 255 and add {right} before the extractor"
    return f"replace the normalizer with {right}"


def check_input_statistics(X: Any, mode: str | None = None, *, model: str | None = None,
                           data_format: str = "channels_last") -> PreprocessingFinding | None:
    """Does a batch look like what a model's preprocessing mode makes of natural images?

    One pass over the batch: the per-channel minimum, maximum and mean. Each known
    preprocessing (raw pixels, ``/ 255``, the four Keras modes) maps 0-255 pixels
    affinely, so the minimum and maximum tell which of them can have made the batch
    (see the module docstring for the rule). Silent on flat and dark images.

    Parameters
    ----------
    X : array-like of shape (N, H, W, C) or (N, C, H, W)
        The batch a model is about to see.
    mode : {"caffe", "tf", "torch", "none"}, default=None
        The mode the model expects (``"none"``: raw 0-255 RGB pixels); by default the
        mode of ``model``.
    model : str, default=None
        A registry name: its mode is expected unless ``mode`` is given, and it is named
        in the message and the fix.
    data_format : {"channels_last", "channels_first"}, default="channels_last"
        Where the channel axis is.

    Returns
    -------
    PreprocessingFinding or None
        Severity ``"warning"``, code ``"input-looks-<what>"`` with ``<what>`` one of
        ``raw`` (0-255 pixels), ``unit`` (``/ 255``), ``tf``, ``torch``, ``caffe``,
        ``unknown`` (no known scale), or ``"input-out-of-range"`` when several fit
        equally; the message names the likely mistake and the fix. None when the batch
        fits the mode (or is empty).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_sample_images
    >>> from skprep import preprocess
    >>> photo = np.asarray(load_sample_images().images[:1])
    >>> check_input_statistics(preprocess(photo, "caffe"), model="resnet50") is None
    True
    >>> print(check_input_statistics(photo.astype("float32"), model="resnet50").fix)
    add KerasModeNormalizer(model='ResNet50') before the extractor
    """
    spec = get_model_spec(model) if model is not None else None
    expected = mode if mode is not None or spec is None else spec.mode
    if expected not in MODES:
        raise InvalidArgumentError(f"Expected mode in {MODES} or a registry model. Received: "
                         f"mode={mode!r}, model={model!r}.")
    if data_format not in ("channels_last", "channels_first"):
        raise InvalidArgumentError("Expected data_format in ('channels_last', 'channels_first'). "
                         f"Received: data_format={data_format!r}.")
    X = np.asarray(X)
    if X.size == 0 or X.ndim < 2 or X.dtype.kind not in "uif":
        return None
    low, high, mean = _channel_stats(X, data_format)
    likely = _likely_mistake(X, low, high, expected)
    if likely is None:
        return None
    who = spec.name if spec is not None else "the model"
    looks = " or ".join(_LIKELY_TEXT.get(name, "values on no known scale") for name in likely)
    means = "/".join(f"{m:.3g}" for m in mean)
    code = f"input-looks-{_CODE_NAME.get(likely[0], likely[0])}" if len(likely) == 1 else (
        "input-out-of-range")
    return _finding(
        code, "warning", (),
        f"The input looks like {looks} (min {low.min():.4g}, max {high.max():.4g}, "
        f"channel means {means}); {who} expects {_MODE_TEXT[expected]}.",
        _input_fix(likely, expected, spec))


# ------------------------------------------------------------------ for the extractor


def extractor_expectation(model: Any, include_preprocessing: bool = False
                          ) -> tuple[str | None, str | None]:
    """(registry name, mode) that a feature extractor's input is checked against.

    Parameters
    ----------
    model : str, keras.Model or other
        The extractor's ``model`` parameter (see :func:`model_spec_of`).
    include_preprocessing : bool, default=False
        The model applies its mode itself: it expects raw pixels (mode ``"none"``).

    Returns
    -------
    (str or None, str or None)
        ``(None, None)`` when the model is unknown: nothing is checked.

    Examples
    --------
    >>> extractor_expectation("resnet50"), extractor_expectation("resnet50", True)
    (('ResNet50', 'caffe'), ('ResNet50', 'none'))
    """
    spec = model_spec_of(model)
    if spec is None:
        return None, None
    return spec.name, "none" if include_preprocessing else spec.mode


def layout_of(sample_shape: Sequence[int | None]) -> str:
    """``"channels_first"`` for a ``(C, H, W)`` sample shape with C in 1, 3, 4 and a last
    axis that is not; ``"channels_last"`` otherwise."""
    shape = tuple(sample_shape)
    if len(shape) == 3 and shape[0] in (1, 3, 4) and shape[-1] not in (1, 3, 4):
        return "channels_first"
    return "channels_last"


def warn_on_input(batch: Any, *, mode: str, model: str | None, who: str,
                  data_format: str = "channels_last", stacklevel: int = 2) -> None:
    """Run :func:`check_input_statistics` and warn
    (:class:`~skprep.exceptions.PreprocessingMismatchWarning`) when it finds something.

    Parameters
    ----------
    batch : ndarray
        The first batch the model sees.
    mode, model, data_format
        As in :func:`check_input_statistics`.
    who : str
        The checking object, first in the message (``"KerasFeatureExtractor('resnet50')"``).
    stacklevel : int, default=2
        Passed to :func:`warnings.warn`.
    """
    finding = check_input_statistics(batch, mode, model=model, data_format=data_format)
    if finding is not None:
        warnings.warn(PreprocessingMismatchWarning(
            f"{who}: {finding.message} Silence this check with check_input=False.",
            [finding]), stacklevel=stacklevel + 1)
