"""Per-model Keras preprocessing as a pure function and as an sklearn transformer.

The four modes of ``keras.applications``, exactly:

* ``"caffe"`` (VGG16/19, ResNet50/101/152): flip RGB -> BGR, then subtract the
  ImageNet means ``[103.939, 116.779, 123.68]`` (BGR order). **No scaling**: the
  output is roughly in [-124, 152], not [-1, 1].
* ``"tf"`` (ResNetV2, Inception, Xception, MobileNet/V2, NASNet): ``x / 127.5 - 1``,
  in [-1, 1].
* ``"torch"`` (DenseNet): ``x / 255``, then subtract ``[0.485, 0.456, 0.406]`` and
  divide by ``[0.229, 0.224, 0.225]`` per RGB channel.
* ``"none"`` (EfficientNet, EfficientNetV2, MobileNetV3, ConvNeXt): the identity; the
  model normalizes its 0-255 input itself.

Unlike Keras' numpy ``preprocess_input``, nothing here writes into its input. The
arithmetic is Keras' own, in float32 and in the same order, so float32 and uint8 input
give bit-identical results to ``preprocess_input(x.astype("float32"))``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._buffers import recycler_for
from ._compat import SkprepTransformer, StrOptions, check_feature_names_in
from ._constants import CAFFE_MEAN_BGR, MODES, TF_SCALE, TORCH_MEAN_RGB, TORCH_SCALE, TORCH_STD_RGB
from ._lut import apply_table
from ._validation import channel_axis, check_batch, fitted_on_images
from .exceptions import (
    InputRangeWarning,
    InputShapeError,
    InvalidArgumentError,
    InvalidParameterError,
)
from .registry import get_model_spec

__all__ = [
    "preprocess", "unpreprocess", "KerasModeNormalizer", "ModeArithmetic", "mode_arithmetic",
    "mode_affine",
]

_F32 = np.float32
# elements per chunk of the fused path: a multiple of 3, so per-channel tiles stay aligned;
# 192 KiB of float32 output, which stays in the L2 cache while the steps run over it
_CHUNK_ELEMENTS = 3 * 16384


class ModeArithmetic(NamedTuple):
    """What a Keras mode computes, in Keras' order, per *output* channel (float64).

    ``out[c] = (x[src(c)] / divisor - mean[c]) / std[c]``, where ``src(c) = 2 - c``
    when ``flip`` (RGB -> BGR) and ``c`` otherwise; a field that is None is skipped.
    ``mean`` is a scalar for ``"tf"`` (``x / 127.5 - 1``) and per channel otherwise.
    """

    divisor: float | None
    mean: float | np.ndarray | None
    std: np.ndarray | None
    flip: bool


def mode_arithmetic(mode: str) -> ModeArithmetic:
    """The one translation of a Keras mode into numbers, used by every skprep path.

    :func:`preprocess` (in float32), the Keras layers of
    :meth:`KerasModeNormalizer.to_keras_layer` and the preprocessing layer of
    ``KerasFeatureExtractor(include_preprocessing=True)`` (:func:`mode_affine`) all
    start from it.

    Parameters
    ----------
    mode : {"caffe", "tf", "torch", "none"}

    Returns
    -------
    ModeArithmetic

    Examples
    --------
    >>> mode_arithmetic("tf")
    ModeArithmetic(divisor=127.5, mean=1.0, std=None, flip=False)
    """
    if mode not in MODES:
        raise InvalidArgumentError(f"Expected mode in {MODES}. Received: mode={mode!r}.")
    if mode == "tf":
        return ModeArithmetic(float(TF_SCALE), 1.0, None, False)
    if mode == "torch":
        return ModeArithmetic(float(TORCH_SCALE), np.array(TORCH_MEAN_RGB, np.float64),
                              np.array(TORCH_STD_RGB, np.float64), False)
    if mode == "caffe":
        return ModeArithmetic(None, np.array(CAFFE_MEAN_BGR, np.float64), None, True)
    return ModeArithmetic(None, None, None, False)


def mode_affine(mode: str) -> tuple[np.ndarray, np.ndarray]:
    """A mode as ``x @ kernel + bias`` on RGB 0-255 pixels: (3x3 kernel, bias), float32.

    Derived from :func:`mode_arithmetic`; the flip of ``"caffe"`` is a permutation in
    the kernel.

    Parameters
    ----------
    mode : {"caffe", "tf", "torch"}

    Returns
    -------
    kernel : ndarray of float32, shape (3, 3)
    bias : ndarray of float32, shape (3,)

    Examples
    --------
    >>> kernel, bias = mode_affine("caffe")
    >>> kernel[2, 0], bias[0]
    (np.float32(1.0), np.float32(-103.939))
    """
    if mode not in ("tf", "torch", "caffe"):
        raise InvalidArgumentError(
            f"Expected mode in ('tf', 'torch', 'caffe'). Received: mode={mode!r}.")
    arith = mode_arithmetic(mode)
    std = np.ones(3) if arith.std is None else arith.std
    divisor = 1.0 if arith.divisor is None else arith.divisor
    mean = np.broadcast_to(0.0 if arith.mean is None else arith.mean, (3,))
    kernel = np.zeros((3, 3), _F32)
    for c in range(3):
        kernel[2 - c if arith.flip else c, c] = 1.0 / (divisor * std[c])
    return kernel, (-mean / std).astype(_F32)


def _mode_params(mode: str) -> tuple[Any, Any, np.ndarray | None, bool]:
    """(divisor, mean, std, flip) of a mode as float32, in *output* channel order."""
    divisor, mean, std, flip = mode_arithmetic(mode)

    def f32(value):
        return None if value is None else np.asarray(value, _F32)

    return f32(divisor), f32(mean), f32(std), flip


def _keras_steps(mode: str) -> list[tuple[np.ufunc, Any]]:
    """Keras' in-place float32 operations of a mode, in Keras' order.

    Each step is ``(ufunc, operand)``: a float32 scalar, or a float32 array of shape
    (3,) with one value per *output* channel.
    """
    divisor, mean, std, _ = _mode_params(mode)
    steps: list[tuple[np.ufunc, Any]] = []
    if divisor is not None:
        steps.append((np.divide, divisor))
    if mean is not None:
        steps.append((np.subtract, mean))
    if std is not None:
        steps.append((np.divide, std))
    return steps


def _apply_inplace(out: np.ndarray, mode: str, axis: int) -> None:
    """Keras' float32 arithmetic on ``out`` (already flipped for caffe), in place.

    Per-channel operands are applied one channel at a time, as Keras does (a scalar
    over a strided view is much faster than broadcasting over a last axis of 3).
    """
    index: list[Any] = [slice(None)] * out.ndim
    for ufunc, operand in _keras_steps(mode):
        if not np.ndim(operand):
            ufunc(out, operand, out=out)
            continue
        for c, value in enumerate(operand):
            index[axis] = slice(c, c + 1)  # a view also for one pixel (1-D input)
            view = out[tuple(index)]
            ufunc(view, value, out=view)


@functools.lru_cache(maxsize=16)
def _tiled_steps(mode: str, n_channels: int) -> tuple[tuple[np.ufunc, Any], ...]:
    """The steps for a flat channels-last chunk: per-channel operands tiled to a chunk.

    Built once per (mode, channels) and kept read-only, so a call allocates nothing
    but its output.
    """
    steps = []
    for ufunc, operand in _keras_steps(mode):
        if np.ndim(operand):
            operand = np.tile(operand, _CHUNK_ELEMENTS // n_channels)
            operand.flags.writeable = False
        steps.append((ufunc, operand))
    return tuple(steps)


def _fused(src: np.ndarray, out: np.ndarray, steps, n_channels: int, flip: bool) -> None:
    """Cast ``src`` into ``out`` and run ``steps`` chunk by chunk (both flat, contiguous).

    Every chunk is cast and then transformed while it is in cache; the only full-size
    array is ``out``. With ``flip``, the channels of each pixel are reversed (RGB ->
    BGR) by the cast itself, one strided copy per channel.
    """
    for start in range(0, src.size, _CHUNK_ELEMENTS):
        chunk = src[start : start + _CHUNK_ELEMENTS]
        size = chunk.size
        target = out[start : start + size]
        if flip:
            for c in range(n_channels):
                np.copyto(target[c::n_channels], chunk[n_channels - 1 - c :: n_channels],
                          casting="unsafe")
        else:
            np.copyto(target, chunk, casting="unsafe")
        for ufunc, operand in steps:
            ufunc(target, operand[:size] if np.ndim(operand) else operand, out=target)


def _preprocess_fast(x: np.ndarray, mode: str, axis: int, flip: bool,
                     empty: Callable[..., np.ndarray]) -> np.ndarray | None:
    """Keras' arithmetic, chunked and in place on the output; None if ``x`` does not fit.

    Bit-identical to ``_apply_inplace`` on ``x.astype(float32)``: the same float32
    operations on the same values, in the same order, only in cache-sized pieces and
    with per-channel operands laid out contiguously (no strided passes).
    """
    if not x.flags.c_contiguous or x.ndim < 2 or x.dtype.kind not in "uif":
        return None
    out = empty(x.shape, _F32)
    n_channels = x.shape[axis]
    if mode == "tf":  # scalar steps: whole-array passes are as fast, with no chunk overhead
        np.copyto(out, x, casting="unsafe")
        _apply_inplace(out, mode, axis)
        return out
    if axis == x.ndim - 1:
        steps = _tiled_steps(mode, n_channels)
        _fused(x.reshape(-1), out.reshape(-1), steps, n_channels, flip)
        return out
    if axis != 1:
        return None
    # channels first: every (image, channel) plane is contiguous, operands are scalars
    steps = _keras_steps(mode)
    planes_in = x.reshape(x.shape[0], n_channels, -1)
    planes_out = out.reshape(x.shape[0], n_channels, -1)
    for c in range(n_channels):
        src_c = n_channels - 1 - c if flip else c
        channel_steps = [(ufunc, operand[c] if np.ndim(operand) else operand)
                         for ufunc, operand in steps]
        for i in range(x.shape[0]):
            _fused(planes_in[i, src_c], planes_out[i, c], channel_steps, 1, False)
    return out


@functools.lru_cache(maxsize=16)
def _uint8_table(mode: str, n_channels: int) -> np.ndarray:
    """Keras' float32 result for each uint8 value, per output channel: (1, 256, C).

    Computed by the very operations of :func:`_apply_inplace`, so a lookup in it is
    bit-identical to the arithmetic. Scalar-only modes (``tf``) get one column.
    """
    per_channel = any(np.ndim(operand) for _, operand in _keras_steps(mode))
    columns = n_channels if per_channel else 1
    table = np.repeat(np.arange(256, dtype=_F32)[:, None], columns, axis=1)
    _apply_inplace(table, mode, 1)
    table = table.reshape(1, 256, columns)
    table.flags.writeable = False
    return table


def _preprocess_uint8(x: np.ndarray, mode: str, axis: int, flip: bool,
                      empty: Callable[..., np.ndarray]) -> np.ndarray | None:
    """The lookup-table path for uint8 batches (None where it does not apply)."""
    if x.dtype != np.uint8 or x.ndim < 2 or axis not in (1, x.ndim - 1):
        return None
    channels_first = axis != x.ndim - 1
    return apply_table(x, _uint8_table(mode, x.shape[axis]), channels_first=channels_first,
                       flip=flip, empty=empty)


def _check_channels(x: np.ndarray, mode: str, axis: int) -> None:
    if mode in ("caffe", "torch") and x.shape[axis] != 3:
        raise InputShapeError(
            f"mode={mode!r} needs 3 (RGB) channels on axis {axis}; received an array of "
            f"shape {x.shape}. Use color_mode='rgb' in ImageLoader, or check data_format."
        )


def _mode_axis(ndim: int, data_format: str) -> int:
    """The channel axis as Keras' ``preprocess_input`` reads it.

    Channels-last: the last axis. Channels-first: axis 1 of a batch ``(N, C, H, W)``,
    axis 0 of one image ``(C, H, W)`` (Keras' 3-D case; a batch of one is never
    guessed from the sizes). 1-D and 2-D arrays have their channels last either way.
    """
    if data_format not in ("channels_last", "channels_first"):
        raise InvalidArgumentError(  # as mode_arithmetic's check of ``mode``
            "Expected data_format in ('channels_last', 'channels_first'). Received: "
            f"data_format={data_format!r}."
        )
    if ndim <= 1:
        return 0
    if data_format == "channels_first" and ndim == 3:
        return 0
    return channel_axis(ndim, data_format)


def preprocess(x: Any, mode: str, *, data_format: str = "channels_last") -> np.ndarray:
    """Apply a Keras preprocessing mode to a batch, without touching the input.

    Parameters
    ----------
    x : array-like of shape (..., C) or (N, C, ...)
        Pixels in 0-255, RGB, any integer or float dtype.
    mode : {"caffe", "tf", "torch", "none"}
        The Keras mode (see the module docstring for the exact arithmetic).
    data_format : {"channels_last", "channels_first"}, default="channels_last"
        Where the channel axis is: last, or first as Keras reads it: axis 1 of a batch
        ``(N, C, H, W)``, axis 0 of one image ``(C, H, W)``.

    Returns
    -------
    ndarray of float32, same shape as ``x``
        A new array.

    Examples
    --------
    >>> import numpy as np
    >>> preprocess(np.array([[0, 127.5, 255]]), "tf")
    array([[-1.,  0.,  1.]], dtype=float32)
    >>> preprocess(np.array([[255, 0, 0]], dtype=np.uint8), "caffe")  # BGR, mean-centred
    array([[-103.939, -116.779,  131.32 ]], dtype=float32)
    """
    return _preprocess(x, mode, data_format, np.empty)


def _preprocess(x: Any, mode: str, data_format: str,
                empty: Callable[..., np.ndarray]) -> np.ndarray:
    """:func:`preprocess`, its output made by ``empty(shape, dtype)``."""
    flip = mode_arithmetic(mode).flip  # also checks the mode
    x = np.asarray(x)
    axis = _mode_axis(x.ndim, data_format)
    _check_channels(x, mode, axis)
    if mode != "none":
        out = _preprocess_uint8(x, mode, axis, flip, empty)
        if out is None:
            out = _preprocess_fast(x, mode, axis, flip, empty)
        if out is not None:
            return out
    src = np.flip(x, axis=axis) if flip else x
    out = empty(x.shape, _F32)
    np.copyto(out, src, casting="unsafe")  # the values of src.astype(float32)
    if mode != "none":
        _apply_inplace(out, mode, axis)
    return out


def unpreprocess(x: Any, mode: str, *, data_format: str = "channels_last") -> np.ndarray:
    """Invert :func:`preprocess`: back to 0-255 RGB floats (float32).

    Examples
    --------
    >>> import numpy as np
    >>> unpreprocess(np.array([[-1.0, 0.0, 1.0]]), "tf")
    array([[  0. , 127.5, 255. ]], dtype=float32)
    """
    divisor, mean, std, flip = _mode_params(mode)  # also checks the mode
    x = np.asarray(x)
    axis = _mode_axis(x.ndim, data_format)
    _check_channels(x, mode, axis)
    out = x.astype(_F32, copy=True)
    shape = [1] * out.ndim
    shape[axis] = -1
    if std is not None:
        out *= std.reshape(shape)
    if mean is not None:
        out += mean.reshape(shape)
    if divisor is not None:
        out *= divisor
    if flip:
        out = np.ascontiguousarray(np.flip(out, axis=axis))
    return out


class KerasModeNormalizer(SkprepTransformer):
    """The exact ``preprocess_input`` of a Keras model, as a transformer.

    Give either ``mode`` or ``model`` (a registry name, which selects the mode of
    that model's ``keras.applications`` module). What each mode does, exactly:

    * ``"caffe"`` (VGG16/19, ResNet50/101/152): RGB -> BGR, then subtract
      ``[103.939, 116.779, 123.68]`` (BGR order). No scaling.
    * ``"tf"`` (ResNetV2, InceptionV3, InceptionResNetV2, Xception, MobileNet/V2,
      NASNet): ``x / 127.5 - 1``.
    * ``"torch"`` (DenseNet): ``x / 255``, then ``(x - [0.485, 0.456, 0.406]) /
      [0.229, 0.224, 0.225]`` per RGB channel.
    * ``"none"`` (EfficientNet, EfficientNetV2, MobileNetV3, ConvNeXt): identity (cast
      to float32); these models preprocess their 0-255 input themselves.

    The result equals ``keras.applications.<module>.preprocess_input`` on the same
    pixels (bit-identical for uint8 and float32 input), but the input is never
    written to; Keras' numpy version overwrites float input in place.

    Every mode expects RGB pixels in 0-255. Float input whose maximum is <= 1.0
    (already scaled to [0, 1]) triggers an :class:`~skprep.exceptions.InputRangeWarning`.

    Parameters
    ----------
    mode : {"caffe", "tf", "torch", "none"}, default=None
        Preprocessing mode. Exactly one of ``mode`` and ``model`` must be given.
    model : str, default=None
        Registry model name (``"resnet50"``, ``"MobileNetV2"``, ...).
    data_format : {"channels_last", "channels_first"}, default="channels_last"
        Channel axis of 4-D input: last, or axis 1.
    check_input_range : bool, default=True
        Warn when float input looks scaled to [0, 1].

    Attributes
    ----------
    mode_ : str
        The resolved mode.
    model_spec_ : ModelSpec or None
        The registry entry when ``model`` was given.
    input_shape_ : tuple of int
        Shape of one sample seen in ``fit`` (``(C,)`` for 2-D input).
    n_features_in_ : int
        Number of columns, for 2-D input only.

    See Also
    --------
    DatasetStatsStandardizer : per-channel mean/std fitted on your own data.

    Notes
    -----
    ``transform`` allocates nothing full-size but its float32 output. uint8 input is
    looked up in a table of Keras' own float32 results for the 256 values (OpenCV's
    ``cv2.LUT``); other contiguous input is cast and transformed cache-sized chunk by
    chunk, in place, with Keras' float32 operations in Keras' order. Either way the
    result is bit-identical to ``preprocess_input(x.astype("float32"))``, which makes
    the same single allocation but runs one strided pass over the whole batch per
    channel and operation.

    Outputs of 1 MiB or more reuse the memory of this normalizer's previous output
    once every array made from that output is gone (as in a loop that feeds each
    batch to a model and drops it): fresh memory costs the kernel as much time as the
    lookup that fills it. A reused output is still a new array that nothing else
    refers to; it only does not own its memory (``out.flags.owndata`` is False). The
    normalizer keeps one idle block, the size of its last output, while it exists.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep import KerasModeNormalizer
    >>> batch = np.full((1, 2, 2, 3), 255, dtype=np.uint8)
    >>> out = KerasModeNormalizer(model="resnet50").fit_transform(batch)
    >>> out.dtype, out[0, 0, 0].round(3)
    (dtype('float32'), array([151.061, 138.221, 131.32 ], dtype=float32))
    >>> KerasModeNormalizer(mode="tf").fit_transform(batch)[0, 0, 0]
    array([1., 1., 1.], dtype=float32)
    """

    _parameter_constraints: dict = {
        "mode": [StrOptions(set(MODES)), None],
        "model": [str, None],
        "data_format": [StrOptions({"channels_last", "channels_first"})],
        "check_input_range": ["boolean"],
    }

    def __init__(
        self,
        mode: str | None = None,
        *,
        model: str | None = None,
        data_format: str = "channels_last",
        check_input_range: bool = True,
    ) -> None:
        self.mode = mode
        self.model = model
        self.data_format = data_format
        self.check_input_range = check_input_range

    def _resolve_mode(self) -> tuple[str, Any]:
        if (self.mode is None) == (self.model is None):
            raise InvalidParameterError(
                "Give exactly one of mode= or model= to KerasModeNormalizer. Received: "
                f"mode={self.mode!r}, model={self.model!r}."
            )
        if self.model is not None:
            spec = get_model_spec(self.model)
            return spec.mode, spec
        return self.mode, None

    def fit(self, X, y=None):
        """Resolve the mode and record the input shape. No statistics are learned.

        Parameters
        ----------
        X : array-like of shape (N, H, W, C) or (N, C)
            Example input.
        y : None
            Ignored.

        Returns
        -------
        self : KerasModeNormalizer
        """
        self._validate_params()
        self.mode_, self.model_spec_ = self._resolve_mode()
        X = check_batch(self, X, reset=True, data_format=self.data_format)
        _check_channels(X, self.mode_, channel_axis(X.ndim, self.data_format))
        return self

    def transform(self, X):
        """Apply the mode to a batch; the input is not modified.

        Parameters
        ----------
        X : array-like of shape (N, H, W, C) or (N, C)
            RGB pixels in 0-255.

        Returns
        -------
        ndarray of float32, same shape as X
        """
        check_is_fitted(self)
        X = check_batch(self, X, reset=False, data_format=self.data_format)
        if self.check_input_range and X.dtype.kind == "f" and X.size:
            # the first sample usually settles it (a value above 1): no pass over the batch
            peak = float(X[:1].max())
            if peak <= 1.0:
                peak = float(X.max())
            if peak <= 1.0:
                warnings.warn(
                    f"KerasModeNormalizer(mode={self.mode_!r}) expects pixels in 0-255, but "
                    f"the input's maximum is {peak:g}: it looks already scaled to [0, 1]. "
                    "Pass the unscaled pixels (ImageLoader's output), or silence this with "
                    "check_input_range=False.",
                    InputRangeWarning,
                    stacklevel=2,
                )
        return _preprocess(X, self.mode_, self.data_format, recycler_for(self).empty)

    def inverse_transform(self, X):
        """Undo the mode: return 0-255 RGB pixels as float32.

        Parameters
        ----------
        X : array-like of shape (N, H, W, C) or (N, C)
            Output of :meth:`transform`.

        Returns
        -------
        ndarray of float32, same shape as X
        """
        check_is_fitted(self)
        X = check_batch(self, X, reset=False, data_format=self.data_format)
        return unpreprocess(X, self.mode_, data_format=self.data_format)

    def get_feature_names_out(self, input_features=None):
        """Output names for 2-D input (the same as the input's); None for images.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input column names.

        Returns
        -------
        ndarray of str, or None
            None when fitted on image batches, which have no column names (a
            pipeline then passes None on to the step that makes 2-D features).
        """

        check_is_fitted(self)
        if fitted_on_images(self):
            return None
        return check_feature_names_in(self, input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = False
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def to_keras_layer(self, *, name: str | None = None):
        """This fitted normalizer as Keras layer(s) built from Keras' own classes.

        Parameters
        ----------
        name : str, optional
            Layer name; default ``"keras_mode_<mode>"``.

        Returns
        -------
        keras.layers.Layer
            A ``Rescaling`` (``"tf"``, ``"none"``), a ``Normalization`` (``"torch"``), or
            a ``Sequential`` of frozen builtin layers (``"caffe"``: the RGB -> BGR flip and
            the mean as a ``Dense`` on the channel axis). Any integer or float input is
            cast to float32 first.

        Examples
        --------
        (Not run here: it imports Keras.) ::

            normalizer = KerasModeNormalizer(model="resnet50").fit(pixels)
            layer = normalizer.to_keras_layer()
            inputs = keras.Input((224, 224, 3), dtype="uint8")
            model = keras.Model(inputs, backbone(layer(inputs)))
        """
        import keras

        check_is_fitted(self, "mode_")
        name = name or f"keras_mode_{self.mode_}"
        channels_first = len(self.input_shape_) == 3 and self.data_format == "channels_first"
        divisor, mean, std, flip = mode_arithmetic(self.mode_)
        if flip:
            return _flip_layers(keras, self.mode_, name, channels_first)
        if std is not None:
            return keras.layers.Normalization(
                axis=1 if channels_first else -1, mean=mean * divisor,
                variance=(std * divisor) ** 2, name=name,
            )
        if divisor is None:
            return keras.layers.Rescaling(1.0, name=name)
        return keras.layers.Rescaling(1.0 / divisor, offset=-mean, name=name)


def _flip_layers(keras, mode: str, name: str, channels_first: bool):
    """A mode with the RGB -> BGR flip: the whole affine map as a frozen ``Dense``."""
    dense = keras.layers.Dense(3, name=f"{name}_bgr", trainable=False)
    dense.build((None, 3))
    dense.set_weights(list(mode_affine(mode)))
    layers = [keras.layers.Rescaling(1.0, name=f"{name}_float")]
    if channels_first:
        layers += [keras.layers.Permute((2, 3, 1)), dense, keras.layers.Permute((3, 1, 2))]
    else:
        layers.append(dense)
    return keras.Sequential(layers, name=name)
