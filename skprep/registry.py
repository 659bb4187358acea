"""The model registry: one table of per-model preprocessing facts.

Each ``keras.applications`` model of Keras 3 has one :class:`ModelSpec`: its canonical
name, the Keras module and constructor, the preprocessing mode of that module's
``preprocess_input``, the default input size, and whether the model carries its
preprocessing inside (EfficientNet, EfficientNetV2, MobileNetV3, ConvNeXt: their
``preprocess_input`` is the identity and they expect 0-255 input).

Resolution order everywhere in skprep: an explicit argument, then the model's spec,
then the library default.

Examples
--------
>>> from skprep.registry import get_model_spec
>>> spec = get_model_spec("resnet_50")
>>> spec.name, spec.mode, spec.input_size
('ResNet50', 'caffe', (224, 224))
>>> get_model_spec("EfficientNetB3").builtin_preprocessing
True
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral
from types import ModuleType
from typing import Any

from .exceptions import InvalidArgumentError, UnknownModelError

__all__ = ["ModelSpec", "get_model_spec", "list_models", "parse_input_size"]


@dataclass(frozen=True)
class ModelSpec:
    """Preprocessing facts of one ``keras.applications`` model.

    Attributes
    ----------
    name : str
        Canonical name, equal to the Keras constructor name (``"ResNet50"``).
    module : str
        Submodule of ``keras.applications`` that holds the constructor and its
        ``preprocess_input`` (``"resnet"``).
    mode : {"caffe", "tf", "torch", "none"}
        What the module's ``preprocess_input`` does; ``"none"`` when it is the identity
        because the preprocessing is built into the model.
    input_size : tuple of int
        Default ``(height, width)`` of the model's input.
    builtin_preprocessing : bool
        True when the model normalizes its 0-255 input itself.
    family : str
        Family name, shared by the variants of one architecture.
    """

    name: str
    module: str
    mode: str
    input_size: tuple[int, int]
    builtin_preprocessing: bool
    family: str

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Default channels-last input shape ``(height, width, 3)``."""
        return (*self.input_size, 3)

    def keras_module(self) -> ModuleType:
        """Import and return ``keras.applications.<module>`` (imports Keras)."""
        return importlib.import_module(f"keras.applications.{self.module}")

    def keras_constructor(self) -> Callable[..., Any]:
        """Return the constructor ``keras.applications.<name>`` (imports Keras)."""
        return getattr(importlib.import_module("keras.applications"), self.name)

    def keras_preprocess_input(self) -> Callable[..., Any]:
        """Return the module's ``preprocess_input`` (imports Keras)."""
        return self.keras_module().preprocess_input


# One row per model: Keras constructor name, keras.applications submodule, preprocessing
# mode of that module's preprocess_input, default input size (square), family, whether the
# model normalizes its 0-255 input itself. Order: keras.applications' documentation.
_TABLE = """
name                module               mode   size  family          builtin
VGG16               vgg16                caffe  224   VGG             no
VGG19               vgg19                caffe  224   VGG             no
ResNet50            resnet               caffe  224   ResNet          no
ResNet101           resnet               caffe  224   ResNet          no
ResNet152           resnet               caffe  224   ResNet          no
ResNet50V2          resnet_v2            tf     224   ResNetV2        no
ResNet101V2         resnet_v2            tf     224   ResNetV2        no
ResNet152V2         resnet_v2            tf     224   ResNetV2        no
InceptionV3         inception_v3         tf     299   Inception       no
InceptionResNetV2   inception_resnet_v2  tf     299   Inception       no
Xception            xception             tf     299   Xception        no
MobileNet           mobilenet            tf     224   MobileNet       no
MobileNetV2         mobilenet_v2         tf     224   MobileNetV2     no
MobileNetV3Small    mobilenet_v3         none   224   MobileNetV3     yes
MobileNetV3Large    mobilenet_v3         none   224   MobileNetV3     yes
DenseNet121         densenet             torch  224   DenseNet        no
DenseNet169         densenet             torch  224   DenseNet        no
DenseNet201         densenet             torch  224   DenseNet        no
NASNetMobile        nasnet               tf     224   NASNet          no
NASNetLarge         nasnet               tf     331   NASNet          no
EfficientNetB0      efficientnet         none   224   EfficientNet    yes
EfficientNetB1      efficientnet         none   240   EfficientNet    yes
EfficientNetB2      efficientnet         none   260   EfficientNet    yes
EfficientNetB3      efficientnet         none   300   EfficientNet    yes
EfficientNetB4      efficientnet         none   380   EfficientNet    yes
EfficientNetB5      efficientnet         none   456   EfficientNet    yes
EfficientNetB6      efficientnet         none   528   EfficientNet    yes
EfficientNetB7      efficientnet         none   600   EfficientNet    yes
EfficientNetV2B0    efficientnet_v2      none   224   EfficientNetV2  yes
EfficientNetV2B1    efficientnet_v2      none   240   EfficientNetV2  yes
EfficientNetV2B2    efficientnet_v2      none   260   EfficientNetV2  yes
EfficientNetV2B3    efficientnet_v2      none   300   EfficientNetV2  yes
EfficientNetV2S     efficientnet_v2      none   384   EfficientNetV2  yes
EfficientNetV2M     efficientnet_v2      none   480   EfficientNetV2  yes
EfficientNetV2L     efficientnet_v2      none   480   EfficientNetV2  yes
ConvNeXtTiny        convnext             none   224   ConvNeXt        yes
ConvNeXtSmall       convnext             none   224   ConvNeXt        yes
ConvNeXtBase        convnext             none   224   ConvNeXt        yes
ConvNeXtLarge       convnext             none   224   ConvNeXt        yes
ConvNeXtXLarge      convnext             none   224   ConvNeXt        yes
"""


def _parse_table(text: str) -> tuple[ModelSpec, ...]:
    rows = [line.split() for line in text.strip().splitlines()[1:]]
    return tuple(
        ModelSpec(name, module, mode, (int(size), int(size)), builtin == "yes", family)
        for name, module, mode, size, family, builtin in rows
    )


_SPECS: tuple[ModelSpec, ...] = _parse_table(_TABLE)


def _normalize_name(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name).lower()


_BY_KEY: dict[str, ModelSpec] = {_normalize_name(spec.name): spec for spec in _SPECS}


def get_model_spec(name: str) -> ModelSpec:
    """Look up a model by name.

    Parameters
    ----------
    name : str
        Model name, case-insensitive; underscores, hyphens, dots and spaces are
        ignored, so ``"ResNet50"``, ``"resnet50"`` and ``"resnet_50"`` are the same model.

    Returns
    -------
    ModelSpec
        The model's preprocessing facts.

    Raises
    ------
    UnknownModelError
        If no model has that name; the message lists the closest names.

    Examples
    --------
    >>> get_model_spec("mobilenet_v2").mode
    'tf'
    """
    if not isinstance(name, str):
        raise UnknownModelError(
            f"Expected a model name (str). Received: {name!r} of type {type(name).__name__}."
        )
    spec = _BY_KEY.get(_normalize_name(name))
    if spec is not None:
        return spec
    close = difflib.get_close_matches(_normalize_name(name), list(_BY_KEY), n=5, cutoff=0.6)
    hint = "Did you mean: " + ", ".join(_BY_KEY[key].name for key in close) + "? " if close else ""
    raise UnknownModelError(
        f"Unknown model name {name!r}. {hint}skprep.list_models() lists every known model."
    )


def list_models(family: str | None = None) -> list[ModelSpec]:
    """Return the registry table, optionally one family only.

    Parameters
    ----------
    family : str, optional
        Keep only the models of this family (``"ResNet"``, ``"EfficientNet"``, ...),
        compared case-insensitively.

    Returns
    -------
    list of ModelSpec
        In a stable order (the order of ``keras.applications``' documentation).

    Examples
    --------
    >>> [spec.name for spec in list_models("vgg")]
    ['VGG16', 'VGG19']
    >>> len(list_models())
    40
    """
    if family is None:
        return list(_SPECS)
    key = _normalize_name(family)
    return [spec for spec in _SPECS if _normalize_name(spec.family) == key]


def parse_input_size(value: int | str | tuple[int, int], name: str = "input_size",
                     ) -> tuple[int, int]:
    """An image size ``(height, width)`` from an int, a pair, or text.

    Parameters
    ----------
    value : int, (int, int) or str
        ``N`` (a square), ``(height, width)``, or text ``"N"``, ``"H,W"`` or ``"HxW"``
        (the command line's ``--input-size``).
    name : str, default="input_size"
        The parameter's name, for the message.

    Returns
    -------
    tuple of int
        ``(height, width)``, both positive.

    Raises
    ------
    ValueError
        If the value is not one of those forms with positive integers.

    Examples
    --------
    >>> parse_input_size(96), parse_input_size((48, 64)), parse_input_size("48x64")
    ((96, 96), (48, 64), (48, 64))
    """
    size: tuple = ()
    if isinstance(value, str):
        try:
            size = tuple(int(part) for part in value.lower().replace("x", ",").split(",")
                         if part.strip())
        except ValueError:
            size = ()
        size = size * 2 if len(size) == 1 else size
    elif isinstance(value, Integral):
        size = (value, value)
    elif hasattr(value, "__iter__"):
        size = tuple(value)
    if len(size) != 2 or not all(isinstance(s, Integral) and s > 0 for s in size):
        raise InvalidArgumentError(
            f"{name} must be an int N or a (height, width) pair of positive ints (on the "
            f"command line: N, H,W or HxW). Received: {name}={value!r}."
        )
    return int(size[0]), int(size[1])
