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

Keras is imported inside the functions, never when this module is imported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._constants import CHANNELS
from .exceptions import UnsupportedStepError

__all__ = ["to_keras", "supported_steps", "normalizer_layer", "standardizer_layer", "head_layer"]

_F32 = np.float32

#: step class name -> what it becomes in the Keras model.
_SUPPORTED: dict[str, str] = {
    "ImageLoader": "kept outside the model: the model takes its output (uint8 pixels)",
    "KerasModeNormalizer": "Rescaling / Normalization / Dense (caffe's BGR flip), any data_format",
    "DatasetStatsStandardizer": "Normalization with the fitted mean and variance",
    "KerasFeatureExtractor": "the extractor's own Keras model (get_model()), flattened to 2-D",
    "LogisticRegression": "Dense: sigmoid to 2 columns (binary) or softmax (multiclass), "
    "as predict_proba",
    "LinearSVC": "Dense, linear: decision_function",
    "RidgeClassifier": "Dense, linear: decision_function",
    "Ridge": "Dense, linear: predict",
    "LinearRegression": "Dense, linear: predict",
    "passthrough": "nothing (a step set to None or 'passthrough')",
}


def supported_steps() -> dict[str, str]:
    """The pipeline steps :func:`to_keras` can express, and what each becomes.

    Returns
    -------
    dict of str to str
        Step class name -> the Keras layers it becomes.

    Examples
    --------
    >>> steps = supported_steps()
    >>> "KerasModeNormalizer" in steps and "LogisticRegression" in steps
    True
    """
    return dict(_SUPPORTED)


def _unsupported(name: str, step: Any, why: str = "") -> UnsupportedStepError:
    return UnsupportedStepError(
        f"Step {name!r} ({type(step).__name__}) cannot be expressed as Keras layers"
        f"{': ' + why if why else ''}. Supported steps: {', '.join(_SUPPORTED)}. "
        "Export the pipeline up to that step (pipeline[:i]), or replace the step."
    )


# --------------------------------------------------------------------------- layers


def normalizer_layer(normalizer, *, name: str | None = None):
    """Keras layer(s) reproducing a fitted :class:`~skprep.KerasModeNormalizer`.

    Parameters
    ----------
    normalizer : KerasModeNormalizer
        Fitted.
    name : str, optional
        Layer name; default ``"keras_mode_<mode>"``.

    Returns
    -------
    keras.layers.Layer
        A ``Rescaling`` (``"tf"``, ``"none"``), a ``Normalization`` (``"torch"``), or a
        ``Sequential`` of frozen builtin layers (``"caffe"``: the RGB -> BGR flip and the
        mean as a ``Dense`` on the channel axis). Any integer or float input is cast to
        float32 first.

    Examples
    --------
    (Not run here: it imports Keras.) ::

        normalizer = KerasModeNormalizer(model="resnet50").fit(pixels)
        layer = normalizer.to_keras_layer()      # the same as normalizer_layer(normalizer)
        inputs = keras.Input((224, 224, 3), dtype="uint8")
        model = keras.Model(inputs, backbone(layer(inputs)))
    """
    import keras

    from ._constants import CAFFE_MEAN_BGR, TF_SCALE, TORCH_MEAN_RGB, TORCH_SCALE, TORCH_STD_RGB

    check_is_fitted(normalizer, "mode_")
    mode = normalizer.mode_
    name = name or f"keras_mode_{mode}"
    four_d = len(normalizer.input_shape_) == 3
    channels_first = four_d and normalizer.data_format == "channels_first"
    axis = 1 if channels_first else -1
    if mode == "none":
        return keras.layers.Rescaling(1.0, name=name)
    if mode == "tf":
        return keras.layers.Rescaling(1.0 / TF_SCALE, offset=-1.0, name=name)
    if mode == "torch":
        mean = np.asarray(TORCH_MEAN_RGB, np.float64) * TORCH_SCALE
        std = np.asarray(TORCH_STD_RGB, np.float64) * TORCH_SCALE
        return keras.layers.Normalization(axis=axis, mean=mean, variance=std**2, name=name)
    # caffe: out[c] = in[2 - c] - mean_bgr[c], a permutation matrix plus a bias
    dense = keras.layers.Dense(3, name=f"{name}_bgr", trainable=False)
    dense.build((None, 3))
    dense.set_weights([np.eye(3, dtype=_F32)[::-1].copy(), -np.asarray(CAFFE_MEAN_BGR, _F32)])
    layers = [keras.layers.Rescaling(1.0, name=f"{name}_float")]
    if channels_first:
        layers += [keras.layers.Permute((2, 3, 1)), dense, keras.layers.Permute((3, 1, 2))]
    else:
        layers.append(dense)
    return keras.Sequential(layers, name=name)


def standardizer_layer(standardizer, *, name: str | None = None):
    """A Keras ``Normalization`` layer reproducing a fitted ``DatasetStatsStandardizer``.

    ``mean_`` and ``var_`` are in units of ``x * input_scale``; the layer works on the raw
    input, so its mean is ``mean_ / input_scale`` and its variance
    ``(scale_ / input_scale) ** 2`` (0 and 1 in scaled units when ``with_mean`` /
    ``with_std`` is False; a constant channel keeps scale 1, as in ``transform``).

    Parameters
    ----------
    standardizer : DatasetStatsStandardizer
        Fitted.
    name : str, optional
        Layer name; default ``"dataset_stats"``.

    Returns
    -------
    keras.layers.Normalization

    Examples
    --------
    (Not run here: it imports Keras.) ::

        scaler = DatasetStatsStandardizer(input_scale=1 / 255).fit(pixels)
        layer = scaler.to_keras_layer()          # mean = mean_ * 255, variance = var_ * 255**2
    """
    import keras

    check_is_fitted(standardizer, "mean_")
    mean = np.asarray(standardizer.mean_, np.float64)
    scale = standardizer.scale_ if standardizer.with_std else np.ones_like(mean)
    shift = mean if standardizer.with_mean else np.zeros_like(mean)
    factor = float(standardizer.input_scale)
    raw_mean = shift / factor
    raw_std = np.asarray(scale, np.float64) / factor
    if np.any(raw_std < keras.config.epsilon()):
        raise UnsupportedStepError(
            f"DatasetStatsStandardizer has a channel scale of {raw_std.min():g} in input units, "
            f"below Keras' epsilon {keras.config.epsilon():g} that Normalization clips to; "
            "the exported model would differ. Refit on more varied data."
        )
    four_d = len(standardizer.input_shape_) == 3
    axis = 1 if four_d and standardizer.data_format == "channels_first" else -1
    return keras.layers.Normalization(
        axis=axis, mean=raw_mean, variance=raw_std**2, name=name or "dataset_stats"
    )


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

    kind = type(head).__name__
    if kind not in ("LogisticRegression", "LinearSVC", "RidgeClassifier", "Ridge",
                    "LinearRegression"):
        raise _unsupported(name, head)
    check_is_fitted(head, "coef_")
    classifier = kind in ("LogisticRegression", "LinearSVC", "RidgeClassifier")
    if method == "auto":
        method = ("predict_proba" if kind == "LogisticRegression"
                  else "decision_function" if classifier else "predict")
    allowed = (("predict_proba", "decision_function") if kind == "LogisticRegression"
               else ("decision_function",) if classifier else ("predict",))
    if method not in allowed:
        raise _unsupported(
            name, head, f"method={method!r} is not linear for {kind}; use one of {allowed}"
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


# --------------------------------------------------------------------------- pipeline


def _steps(pipeline) -> list[tuple[str, Any]]:
    if hasattr(pipeline, "steps"):
        return list(pipeline.steps)
    return [(type(pipeline).__name__.lower(), pipeline)]


def _extractor_model(step):
    """The extractor's Keras model (KerasFeatureExtractor.get_model())."""
    check_is_fitted(step)
    return step.get_model()


def to_keras(pipeline, *, method: str = "auto", input_shape: tuple[int, ...] | None = None,
             input_dtype: str | None = None, name: str = "skprep_pipeline"):
    """Build one ``keras.Model`` that reproduces a fitted pipeline on raw pixels.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline or a fitted step
        Fitted. Its steps must be among :func:`supported_steps`; a leading
        ``ImageLoader`` stays outside the model and gives it its input shape and dtype.
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

    steps = _steps(pipeline)
    if not steps:
        raise UnsupportedStepError("The pipeline has no steps; nothing to export.")
    loader = None
    if type(steps[0][1]).__name__ == "ImageLoader":
        loader = steps.pop(0)[1]
    steps = [(n, s) for n, s in steps if s is not None and s != "passthrough"]
    for step_name, step in steps:  # fail before any Keras work, naming the first bad step
        if type(step).__name__ not in _SUPPORTED or type(step).__name__ == "ImageLoader":
            why = "an ImageLoader is only allowed as first step" if type(
                step).__name__ == "ImageLoader" else ""
            raise _unsupported(step_name, step, why)

    if input_shape is None:
        input_shape = _infer_input_shape(loader, steps)
    input_shape = tuple(int(d) for d in input_shape)
    if input_dtype is None:
        if loader is not None:
            input_dtype = str(np.dtype(loader.dtype))
        else:
            input_dtype = "uint8" if len(input_shape) == 3 else "float32"

    inputs = keras.Input(shape=input_shape, dtype=input_dtype, name="pixels")
    x = keras.layers.Rescaling(1.0, name="to_float32")(inputs)  # a cast any layer can follow
    for index, (step_name, step) in enumerate(steps):
        kind = type(step).__name__
        last = index == len(steps) - 1
        if kind == "KerasModeNormalizer":
            x = normalizer_layer(step, name=step_name)(x)
        elif kind == "DatasetStatsStandardizer":
            x = standardizer_layer(step, name=step_name)(x)
        elif kind == "KerasFeatureExtractor":
            model = _extractor_model(step)
            x = model(x)
            if len(x.shape) > 2:
                x = keras.layers.Flatten(name=f"{step_name}_flatten")(x)
        else:
            if not last:
                raise _unsupported(step_name, step, "a linear estimator must be the last step")
            if len(x.shape) != 2:
                raise _unsupported(
                    step_name, step, f"it receives {len(x.shape)}-D data {tuple(x.shape)}; "
                    "a feature extractor must come first to give (N, D) features"
                )
            x = head_layer(step, method=method, name=step_name)(x)
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
