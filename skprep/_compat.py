"""Every use of a private or undocumented API of scikit-learn or Pillow, in one place.

skprep's estimators follow scikit-learn's own conventions, some of which are only
reachable through private modules; the decoder opens images through Pillow's plugin
table. If a new release moves one of these, this module is the one to fix, and the
oldest-versions CI run (``constraints/oldest.txt``) shows which release did it.

====================================  ========================================================
private name                          used for
====================================  ========================================================
``sklearn.utils._param_validation``   constraint objects (``Interval``, ...) and
                                      ``InvalidParameterError`` (re-raised as skprep's own)
``sklearn.base._fit_context``         ``fit_context``: parameter validation once per ``fit``
``sklearn.utils.validation.``         ``check_feature_names_in``: the names of 2-D input
``_check_feature_names_in``
``sklearn.utils._set_output.``        ``wrap_output``: 2-D output follows ``set_output`` /
``_wrap_data_with_container``         ``set_config(transform_output=...)``
``PIL.Image.ID`` / ``.OPEN``          ``pillow_openers``: Pillow's registered format openers
``ImageFile.ImageFile.load``          ``strict_tile_loader``: Pillow's tile loader run with
(its code and module globals)         ``LOAD_TRUNCATED_IMAGES`` read as False
====================================  ========================================================
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Iterator
from numbers import Integral, Real
from typing import Any

from scipy.sparse import issparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.base import _fit_context as fit_context
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils._param_validation import InvalidParameterError as SklearnInvalidParameterError
from sklearn.utils._param_validation import validate_params as _sklearn_validate_params
from sklearn.utils._set_output import _wrap_data_with_container
from sklearn.utils.validation import _check_feature_names_in as check_feature_names_in

__all__ = [
    "Integral",
    "Interval",
    "Options",
    "Real",
    "SklearnInvalidParameterError",
    "SkprepParamsMixin",
    "SkprepTransformer",
    "StrOptions",
    "check_feature_names_in",
    "fit_context",
    "pillow_openers",
    "strict_tile_loader",
    "validate_params",
    "wrap_output",
]


def wrap_output(estimator: Any, data: Any, original_input: Any) -> Any:
    """``data`` in the container that the output configuration asks for, if 2-D.

    Image batches (``ndim > 2``) and ragged lists have no tabular form: they pass
    through unchanged whatever the configuration; 2-D arrays follow
    ``estimator.set_output(transform=...)`` or ``sklearn.set_config(transform_output=...)``.
    """
    if getattr(data, "ndim", None) != 2:
        return data
    try:
        return _wrap_data_with_container("transform", data, original_input, estimator)
    except ValueError as exc:
        if not issparse(data):
            raise
        from .exceptions import InvalidParameterError

        raise InvalidParameterError(
            f"{type(estimator).__name__} returns a scipy sparse matrix (sparse=True), which "
            "the output configuration cannot turn into a data frame; set sparse=False, or "
            "set_output(transform='default') on this step."
        ) from exc


def _shape_aware(method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapped(self, X, *args, **kwargs):
        return wrap_output(self, method(self, X, *args, **kwargs), X)

    return wrapped


def validate_params(constraints: dict, *, prefer_skip_nested_validation: bool = True):
    """scikit-learn's ``validate_params`` decorator for a public function, raising
    :class:`skprep.exceptions.InvalidParameterError` (a SkprepError that is also
    scikit-learn's ``InvalidParameterError``) with scikit-learn's message."""

    def decorate(func: Callable) -> Callable:
        checked = _sklearn_validate_params(
            constraints, prefer_skip_nested_validation=prefer_skip_nested_validation)(func)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from .exceptions import InvalidParameterError, SkprepError

            try:
                return checked(*args, **kwargs)
            except SklearnInvalidParameterError as exc:
                if isinstance(exc, SkprepError):
                    raise
                raise InvalidParameterError(str(exc)) from exc

        return wrapper

    return decorate


class SkprepParamsMixin:
    """``_validate_params`` raising :class:`skprep.exceptions.InvalidParameterError`: a
    :class:`SkprepError` that is also scikit-learn's ``InvalidParameterError`` (so
    ``ValueError`` and ``TypeError``). Put it before ``BaseEstimator``."""

    def _validate_params(self) -> None:
        from .exceptions import InvalidParameterError

        try:
            super()._validate_params()
        except SklearnInvalidParameterError as exc:
            raise InvalidParameterError(str(exc)) from exc


class SkprepTransformer(SkprepParamsMixin, TransformerMixin, BaseEstimator):
    """Base of skprep's transformers: scikit-learn's, with two differences.

    * ``transform`` / ``fit_transform`` output is wrapped by :func:`wrap_output`
      (scikit-learn's own wrapping would fail on image batches), and ``set_output``
      is available on every step.
    * A parameter that breaks ``_parameter_constraints`` raises
      :class:`skprep.exceptions.InvalidParameterError`: a :class:`SkprepError` that is
      also scikit-learn's ``InvalidParameterError`` (so ``ValueError`` and ``TypeError``).
    """

    def __init_subclass__(cls, **kwargs):
        # scikit-learn's wrapping off (it would fail on images), set_output kept on
        super().__init_subclass__(auto_wrap_output_keys=None, **kwargs)
        cls._sklearn_auto_wrap_output_keys = {"transform"}
        for name in ("transform", "fit_transform"):
            if name in cls.__dict__:
                setattr(cls, name, _shape_aware(cls.__dict__[name]))


# TransformerMixin.fit_transform carries scikit-learn's wrapping: take the plain method
# (it calls the shape-aware ``transform``). Set here, after the class statement, so that
# scikit-learn's __init_subclass__ does not wrap it again.
SkprepTransformer.fit_transform = TransformerMixin.fit_transform.__wrapped__


def pillow_openers() -> Iterator[tuple[str, Callable, Callable | None]]:
    """``(format, factory, accept)`` for every format Pillow registered, in its order.

    What ``Image.open`` loops over (``Image.ID`` / ``Image.OPEN``, undocumented);
    call ``PIL.Image.init()`` first.
    """
    from PIL import Image

    for fmt in list(Image.ID):
        factory, accept = Image.OPEN[fmt]
        yield fmt, factory, accept


_strict_tile_loader: Callable | None = None


def strict_tile_loader() -> Callable:
    """Pillow's own ``ImageFile.load``, reading ``LOAD_TRUNCATED_IMAGES`` as False.

    The same code object run with a copy of :mod:`PIL.ImageFile`'s globals in which the
    flag is False: nothing of Pillow's is changed, and other threads and libraries still
    see their flag. (Pillow's tile loader reads the flag as a module global; if a future
    Pillow stops doing so, this is its plain loader, and the corpus tests say so.)
    """
    global _strict_tile_loader
    if _strict_tile_loader is None:
        from PIL import ImageFile

        base = ImageFile.ImageFile.load
        namespace = dict(vars(ImageFile), LOAD_TRUNCATED_IMAGES=False)
        _strict_tile_loader = types.FunctionType(
            base.__code__, namespace, base.__name__, base.__defaults__, base.__closure__
        )
    return _strict_tile_loader
