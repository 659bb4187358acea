"""Export a fitted skprep pipeline to one Keras model.

:func:`to_keras` turns a fitted scikit-learn ``Pipeline`` (or a single fitted step)
into a ``keras.Model`` that takes the raw images the pipeline's ``ImageLoader``
produces (uint8, ``(N, H, W, C)``) and returns what the pipeline's last step returns:
``predict_proba`` for a logistic regression, ``decision_function`` for the other
linear classifiers, ``predict`` for linear regressors, the features when the last
step is a transformer.

The loader itself stays outside the model: decoding files and resizing them is I/O,
done by :class:`~skprep.ImageLoader` (or ``tf.io.decode_image`` + ``tf.image.resize``
in a serving graph). Everything after it becomes Keras layers built only from
Keras' own layer classes (``Rescaling``, ``Normalization``, ``Dense``, ``Permute``,
the backbone's layers), so the model saves as ``.keras``, reloads with
``safe_mode=True`` without skprep installed, and exports for serving with
``model.export(path)``.

Conversion is dispatched by class through a registry (as skl2onnx does): each skprep
step converts itself (its ``to_keras_layer``), and third-party estimators (the
scikit-learn linear models) go through converters registered with
:func:`register_converter`, which users can extend.

Keras is imported inside the functions, never when this module is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge, RidgeClassifier
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from ._constants import CHANNELS
from .augment import ImageAugmenter
from .exceptions import InvalidArgumentTypeError, UnsupportedStepError
from .features import KerasFeatureExtractor
from .images import ImageLoader
from .normalize import KerasModeNormalizer
from .stats import DatasetStatsStandardizer

__all__ = [
    "to_keras", "supported_steps", "register_converter", "normalizer_layer",
    "standardizer_layer", "head_layer",
]

_F32 = np.float32

#: linear estimator class -> the methods that are a Dense layer, the "auto" one first
_LINEAR_METHODS: dict[type, tuple[str, ...]] = {
    LogisticRegression: ("predict_proba", "decision_function"),
    LinearSVC: ("decision_function",),
    RidgeClassifier: ("decision_function",),
    Ridge: ("predict",),
    LinearRegression: ("predict",),
}


class _Converter:
    """A registry entry: how one class becomes Keras layers."""

    __slots__ = ("fn", "final", "description")

    def __init__(self, fn: Callable[..., Any], final: bool, description: str) -> None:
        self.fn, self.final, self.description = fn, final, description


#: step class -> converter; looked up by the step's exact class
_CONVERTERS: dict[type, _Converter] = {}

#: what supported_steps() lists besides the registry, and where (ImageLoader first)
_LOADER_NOTE = "kept outside the model: the model takes its output (uint8 pixels)"
_PASSTHROUGH_NOTE = "nothing (a step set to None or 'passthrough')"


def register_converter(cls: type, fn: Callable[..., Any], *, final: bool = True,
                       description: str | None = None) -> None:
    """Teach :func:`to_keras` to convert the fitted estimators of class ``cls``.

    Parameters
    ----------
    cls : type
        The estimator class. Lookup is by exact class (a subclass needs its own
        registration, since it may compute something else); registering a class again
        replaces its converter.
    fn : callable
        ``fn(estimator, *, name, method) -> keras layer``: a Keras layer (or model)
        computing, on the previous step's output, what the fitted ``estimator``
        computes. ``name`` is the pipeline step's name (use it for the layer),
        ``method`` the ``method`` given to :func:`to_keras` (``"auto"`` by default).
        Raise :class:`~skprep.exceptions.UnsupportedStepError` for a fitted state it
        cannot express.
    final : bool, default=True
        The estimator is a pipeline's final step (a classifier or regressor head): it
        must be the last step and receives 2-D ``(N, D)`` features. False for a
        transformer, which may stand anywhere.
    description : str, optional
        What it becomes, for :func:`supported_steps`; default: the first line of
        ``fn``'s docstring.

    Examples
    --------
    (Not run here: it builds Keras layers.) ::

        def sgd_to_dense(head, *, name, method):
            dense = keras.layers.Dense(head.coef_.shape[0], name=name, trainable=False)
            dense.build((None, head.coef_.shape[1]))
            dense.set_weights([head.coef_.T.astype("float32"),
                               head.intercept_.astype("float32")])
            return dense

        register_converter(SGDClassifier, sgd_to_dense, description="Dense, linear")
        model = to_keras(make_pipeline(extractor, SGDClassifier()).fit(X, y))
    """
    if not isinstance(cls, type):
        raise InvalidArgumentTypeError(f"register_converter needs a class; received {cls!r}.")
    if not callable(fn):
        raise InvalidArgumentTypeError(
            f"register_converter needs a callable converter; received {fn!r}.")
    if description is None:
        description = ((fn.__doc__ or "").strip().splitlines() or [fn.__name__])[0]
    _CONVERTERS[cls] = _Converter(fn, bool(final), description)


def _own_layer(step, *, name: str, method: str):
    """The step's own ``to_keras_layer``."""
    return step.to_keras_layer(name=name)


def _register_builtins() -> None:
    own = {
        KerasModeNormalizer: "Rescaling / Normalization / Dense (caffe's BGR flip), any "
        "data_format",
        DatasetStatsStandardizer: "Normalization with the fitted mean and variance",
        KerasFeatureExtractor: "the extractor's own Keras model (get_model()), flattened to 2-D",
        ImageAugmenter: "Keras' own RandomFlip / RandomTranslation / RandomRotation / "
        "RandomZoom / RandomContrast / RandomBrightness (a Sequential), active in training only",
    }
    for cls, description in own.items():
        register_converter(cls, _own_layer, final=False, description=description)
    heads = {
        LogisticRegression: "Dense: sigmoid to 2 columns (binary) or softmax (multiclass), "
        "as predict_proba",
        LinearSVC: "Dense, linear: decision_function",
        RidgeClassifier: "Dense, linear: decision_function",
        Ridge: "Dense, linear: predict",
        LinearRegression: "Dense, linear: predict",
    }
    for cls, description in heads.items():
        register_converter(cls, head_layer, description=description)


def supported_steps() -> dict[str, str]:
    """The pipeline steps :func:`to_keras` can express, and what each becomes.

    Returns
    -------
    dict of str to str
        Step class name -> the Keras layers it becomes (converters added with
        :func:`register_converter` included).

    Examples
    --------
    >>> steps = supported_steps()
    >>> "KerasModeNormalizer" in steps and "LogisticRegression" in steps
    True
    """
    steps = {"ImageLoader": _LOADER_NOTE}
    steps.update((cls.__name__, conv.description) for cls, conv in _CONVERTERS.items())
    steps["passthrough"] = _PASSTHROUGH_NOTE
    return steps


def _unsupported(name: str, step: Any, why: str = "") -> UnsupportedStepError:
    return UnsupportedStepError(
        f"Step {name!r} ({type(step).__name__}) cannot be expressed as Keras layers"
        f"{': ' + why if why else ''}. Supported steps: {', '.join(supported_steps())}. "
        "Export the pipeline up to that step (pipeline[:i]), or replace the step."
    )


# --------------------------------------------------------------------------- layers


def normalizer_layer(normalizer, *, name: str | None = None):
    """Keras layer(s) reproducing a fitted :class:`~skprep.KerasModeNormalizer`.

    The same as ``normalizer.to_keras_layer(name=name)``; see
    :meth:`~skprep.KerasModeNormalizer.to_keras_layer`.

    Parameters
    ----------
    normalizer : KerasModeNormalizer
        Fitted.
    name : str, optional
        Layer name; default ``"keras_mode_<mode>"``.

    Returns
    -------
    keras.layers.Layer
    """
    return normalizer.to_keras_layer(name=name)


def standardizer_layer(standardizer, *, name: str | None = None):
    """A Keras ``Normalization`` layer reproducing a fitted ``DatasetStatsStandardizer``.

    The same as ``standardizer.to_keras_layer(name=name)``; see
    :meth:`~skprep.DatasetStatsStandardizer.to_keras_layer`.

    Parameters
    ----------
    standardizer : DatasetStatsStandardizer
        Fitted.
    name : str, optional
        Layer name; default ``"dataset_stats"``.

    Returns
    -------
    keras.layers.Normalization
    """
    return standardizer.to_keras_layer(name=name)


def _logistic_is_multinomial(head) -> bool:
    multi_class = getattr(head, "multi_class", "deprecated")
    if multi_class == "ovr":
        return False
    if multi_class in ("auto", "warn", "deprecated") and hasattr(head, "multi_class"):
        return head.solver != "liblinear"  # scikit-learn < 1.8: liblinear meant one-vs-rest
    return True


def head_layer(head, *, method: str = "auto", name: str = "head"):
    """A frozen ``Dense`` layer reproducing a fitted linear scikit-learn estimator.

    Parameters
    ----------
    head : LogisticRegression, LinearSVC, RidgeClassifier, Ridge or LinearRegression
        Fitted.
    method : {"auto", "predict_proba", "decision_function", "predict"}, default="auto"
        What the layer computes. ``"auto"``: ``predict_proba`` for
        ``LogisticRegression``, ``decision_function`` for the other classifiers,
        ``predict`` for regressors. A binary ``predict_proba`` gives 2 columns
        ``[1 - p, p]`` (sigmoid of ``-z`` and ``z``); a binary ``decision_function`` and a
        single-target ``predict`` give one column.

    Returns
    -------
    keras.layers.Dense
        Frozen (``trainable=False``), built with the estimator's ``coef_`` and
        ``intercept_``.

    Raises
    ------
    UnsupportedStepError
        Another estimator, or a method that is not a linear map plus an activation
        (``predict`` of a classifier, one-vs-rest probabilities).

    Examples
    --------
    (Not run here: it imports Keras.) ::

        head = LogisticRegression().fit(features, labels)
        probabilities = head_layer(head)(features)   # == head.predict_proba(features)
    """
    import keras

    allowed = _LINEAR_METHODS.get(type(head))
    if allowed is None:
        raise _unsupported(name, head)
    check_is_fitted(head, "coef_")
    if method == "auto":
        method = allowed[0]
    if method not in allowed:
        raise _unsupported(
            name, head,
            f"method={method!r} is not linear for {type(head).__name__}; use one of {allowed}"
        )
    coef = np.atleast_2d(np.asarray(head.coef_, np.float64))  # (n_outputs, n_features)
    intercept = np.broadcast_to(np.asarray(head.intercept_, np.float64), (coef.shape[0],))
    activation = None
    if method == "predict_proba":
        if coef.shape[0] == 1:  # binary: [sigmoid(-z), sigmoid(z)] = [1 - p, p]
            coef = np.concatenate([-coef, coef])
            intercept = np.concatenate([-intercept, intercept])
            activation = "sigmoid"
        elif _logistic_is_multinomial(head):
            activation = "softmax"
        else:
            raise _unsupported(name, head, "one-vs-rest probabilities are not a Dense layer; "
                                           "fit the multinomial model (the default solver)")
    dense = keras.layers.Dense(coef.shape[0], activation=activation, name=name, trainable=False)
    dense.build((None, coef.shape[1]))
    dense.set_weights([coef.T.astype(_F32), intercept.astype(_F32)])
    return dense


_register_builtins()


# --------------------------------------------------------------------------- pipeline


def _steps(pipeline) -> list[tuple[str, Any]]:
    if hasattr(pipeline, "steps"):
        return list(pipeline.steps)
    return [(type(pipeline).__name__.lower(), pipeline)]


def _exported_steps(pipeline) -> tuple[ImageLoader | None, list[tuple[str, Any, _Converter]]]:
    """(leading loader or None, [(name, step, converter)]), failing on the first bad step
    before any Keras work."""
    steps = _steps(pipeline)
    if not steps:
        raise UnsupportedStepError("The pipeline has no steps; nothing to export.")
    loader = steps.pop(0)[1] if isinstance(steps[0][1], ImageLoader) else None
    steps = [(n, s) for n, s in steps if s is not None and s != "passthrough"]
    converted = []
    for step_name, step in steps:
        if isinstance(step, ImageLoader):
            raise _unsupported(step_name, step, "an ImageLoader is only allowed as first step")
        converter = _CONVERTERS.get(type(step))
        if converter is None:
            raise _unsupported(step_name, step)
        converted.append((step_name, step, converter))
    return loader, converted


def _input_spec(loader, steps, input_shape, input_dtype) -> tuple[tuple[int, ...], str]:
    """The model input's (shape of one sample, dtype), given or inferred."""
    if input_shape is None:
        input_shape = _infer_input_shape(loader, [(n, s) for n, s, _ in steps])
    input_shape = tuple(int(d) for d in input_shape)
    if input_dtype is None:
        if loader is not None:
            input_dtype = str(np.dtype(loader.dtype))
        else:
            input_dtype = "uint8" if len(input_shape) == 3 else "float32"
    return input_shape, input_dtype


def _apply_step(x, step_name: str, step, converter: _Converter, *, last: bool, method: str):
    """``x`` through the step's converted layer; a final step must be last and get 2-D."""
    if converter.final:
        if not last:
            raise _unsupported(step_name, step, "a linear estimator must be the last step")
        if len(x.shape) != 2:
            raise _unsupported(
                step_name, step, f"it receives {len(x.shape)}-D data {tuple(x.shape)}; "
                "a feature extractor must come first to give (N, D) features"
            )
    return converter.fn(step, name=step_name, method=method)(x)


def to_keras(pipeline, *, method: str = "auto", input_shape: tuple[int, ...] | None = None,
             input_dtype: str | None = None, name: str = "skprep_pipeline"):
    """Build one ``keras.Model`` that reproduces a fitted pipeline on raw pixels.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline or a fitted step
        Fitted. Its steps must be among :func:`supported_steps` (extend them with
        :func:`register_converter`); a leading ``ImageLoader`` stays outside the model
        and gives it its input shape and dtype.
    method : {"auto", "predict_proba", "decision_function", "predict"}, default="auto"
        What a final linear estimator computes (see :func:`head_layer`).
    input_shape : tuple of int, optional
        Shape of one input image, ``(H, W, C)``. Default: the loader's
        ``target_size`` and channels, else the ``input_shape_`` the first exported step
        recorded in ``fit``.
    input_dtype : str, optional
        Default: the loader's ``dtype`` (``"uint8"``), else ``"uint8"`` for image input
        and ``"float32"`` for 2-D input.
    name : str, default="skprep_pipeline"
        Name of the Keras model.

    Returns
    -------
    keras.Model
        Input: the loader's output. Output: ``pipeline.predict_proba`` /
        ``decision_function`` / ``predict`` (within float32 rounding), shape
        ``(N, n_outputs)``; a binary ``decision_function`` or a single-target
        regression gives ``(N, 1)``.

    Raises
    ------
    UnsupportedStepError
        A step that has no Keras equivalent; the message names it and lists the
        supported steps.

    Examples
    --------
    (Not run here: it builds a Keras model.) ::

        model = to_keras(fitted_pipeline)        # input: ImageLoader's uint8 batch
        model.save("pipeline.keras")             # reloads with keras.models.load_model
        model.export("serving/")                 # a TF SavedModel for TF Serving
    """
    import keras

    loader, steps = _exported_steps(pipeline)
    input_shape, input_dtype = _input_spec(loader, steps, input_shape, input_dtype)
    inputs = keras.Input(shape=input_shape, dtype=input_dtype, name="pixels")
    x = keras.layers.Rescaling(1.0, name="to_float32")(inputs)  # a cast any layer can follow
    for index, (step_name, step, converter) in enumerate(steps):
        x = _apply_step(x, step_name, step, converter, last=index == len(steps) - 1,
                        method=method)
    return keras.Model(inputs, x, name=name)


def _infer_input_shape(loader, steps) -> tuple[int, ...]:
    if loader is not None and getattr(loader, "target_size", None) is not None:
        height, width = loader.target_size
        channels = CHANNELS.get(loader.color_mode, 3)
        return (int(height), int(width), channels)
    for _, step in steps:
        shape = getattr(step, "input_shape_", None)
        if shape is not None:
            return tuple(shape)
        if hasattr(step, "n_features_in_"):
            return (int(step.n_features_in_),)
    raise UnsupportedStepError(
        "Cannot tell the model's input shape: the pipeline has no ImageLoader with a "
        "target_size and no fitted step recorded input_shape_. Pass input_shape=(H, W, C)."
    )
