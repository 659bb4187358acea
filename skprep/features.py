"""A Keras backbone as a scikit-learn transformer: images in, feature vectors out.

:class:`KerasFeatureExtractor` builds (or loads) a Keras model in ``fit`` and runs it in
``transform`` through one compiled TensorFlow function, in batches. Keras is imported
only when the extractor is fitted or used.

Pickling stores the model as the bytes of a ``.keras`` file (Keras' own format); the
model is rebuilt on first use after unpickling, with ``safe_mode=True`` unless the
extractor was built with ``safe_mode=False``.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import threading
import urllib.error
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._compat import Interval, SkprepTransformer, StrOptions
from ._keras import (
    KerasModelBlob,
    import_keras,
    is_keras_model,
    load_model_file,
    model_to_bytes,
)
from ._model_cache import MODEL_CACHE, file_token
from ._progress import progress
from .exceptions import (
    InputShapeError,
    InvalidParameterError,
    SkprepError,
    WeightsUnavailableError,
)
from .guard import extractor_expectation, layout_of, warn_on_input
from .normalize import mode_affine
from .registry import get_model_spec

__all__ = ["KerasFeatureExtractor"]

# Guards every build and load of a model, every lazy build of a runtime and every
# serialization of a model, for all extractors: the model cache's own (re-entrant) lock,
# so cache lookups and builds nest safely. Unseeded Keras initializers draw their seeds
# from Python's ``random`` when they are created, so builds and loads must not interleave
# (see _seeded).
_LOCK: threading.RLock = MODEL_CACHE.lock

_POOLING = {"avg", "max", "flatten"}



@contextlib.contextmanager
def _seeded(seed: int | None):
    """Build under ``seed``: Python's ``random`` seeded, then restored on exit.

    Keras gives every initializer (and seed generator) created without a seed one drawn
    from ``random.randint`` when it is created; seeding that stream for the duration of
    the build makes the random weights a function of ``seed``, with no lasting change
    to the caller's ``random`` state, nor to NumPy's or TensorFlow's global seeds.
    """
    with _LOCK:
        if seed is None:
            yield
            return
        # importing Keras draws from ``random``: import it before seeding, not during
        import_keras()
        import keras.applications  # noqa: F401
        saved = random.getstate()
        random.seed(seed)
        try:
            yield
        finally:
            random.setstate(saved)


def _snake(name: str) -> str:
    """``GlobalAveragePooling2D`` -> ``global_average_pooling2d`` (Keras' layer names)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class _Runtime:
    """What transform needs: the Keras model and its compiled inference function.

    Shared, read-only, between every extractor that asks for the same graph (the model
    cache); ``blob`` is the model's ``.keras`` bytes, made once when first pickled.
    ``shared`` is true when the model was made by skprep from a name, a file or bytes,
    loaded with ``safe_mode``: only then may copies find it by the hash of its bytes (a
    ``keras.Model`` passed in may hold code that safe mode would refuse to load).
    """

    __slots__ = ("model", "fn", "dtype", "spec", "blob", "shared", "prefix")

    def __init__(self, model: Any, input_shape: tuple, spec: Any = None,
                 shared: bool = False) -> None:
        import tensorflow as tf

        self.model = model
        self.spec = spec
        self.shared = shared
        self.prefix: str | None = None  # feature-name stem, set by the build that made it
        self.blob: KerasModelBlob | None = None
        self.dtype = np.dtype(getattr(model.inputs[0], "dtype", "float32") or "float32")
        spec = tf.TensorSpec((None, *input_shape), tf.as_dtype(self.dtype))

        def infer(x):
            return model(x, training=False)

        # one trace, here, under the lock: no retracing whatever the batch size
        self.fn = tf.function(infer, input_signature=[spec]).get_concrete_function()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        out = self.fn(batch)
        return np.asarray(out, dtype=np.float32)


def _is_download_failure(exc: BaseException) -> bool:
    text = str(exc)
    return (
        isinstance(exc, (urllib.error.URLError, ConnectionError, TimeoutError))
        or "URL fetch failure" in text
        or "urlopen" in text
    )


def _find_layer(model: Any, layer: str | int) -> tuple[Any, Any] | None:
    """(layer, model that owns it), searching nested models depth-first."""
    if isinstance(layer, Integral):
        return model.layers[int(layer)], model
    for sub in model.layers:
        if sub.name == layer:
            return sub, model
    for sub in model.layers:
        if is_keras_model(sub):
            found = _find_layer(sub, layer)
            if found is not None:
                return found
    return None


def _layer_names(model: Any) -> list[str]:
    """Names of the layers ``layer=`` can take: the model's, nested models' inside theirs."""
    names: list[str] = []
    for sub in model.layers:
        names.append(sub.name)
        if is_keras_model(sub):
            names += _layer_names(sub)
    return names


# parameters added after skprep 0.1, with the defaults an older saved extractor gets
_PARAMETERS_ADDED_AFTER_0_1: dict[str, Any] = {"check_input": True, "random_state": None}


class KerasFeatureExtractor(SkprepTransformer):
    """Run a Keras backbone as a transformer: image batches -> float32 features ``(N, D)``.

    Parameters
    ----------
    model : str, keras.Model or path, default="mobilenet_v2"
        A registry name (``"mobilenet_v2"``, ``"resnet50"``, see
        :func:`skprep.list_models`), a ``keras.Model``, or the path of a ``.keras`` /
        ``.h5`` model file.
    weights : "imagenet", None or path, default="imagenet"
        For a registry name: Keras' pretrained weights (downloaded once into the Keras
        cache), random weights (None), or the path of a weights file (the "notop"
        file, since the classifier top is not built). For a model or model file, a path
        loads those weights into it; "imagenet" and None keep the model's own weights.
    layer : str, int or None, default=None
        Take the features from this layer (name, or index in ``model.layers``) instead
        of the model's output. Layers of nested models are found by name.
    pooling : {"avg", "max", "flatten"} or None, default="avg"
        How spatial maps become a vector: global average, global max, flatten; None
        keeps the maps (``output_shape_``) and flattens them in ``transform``.
        Outputs that are already vectors are left as they are.
    input_shape : tuple of int, default=None
        ``(height, width, channels)``; by default the registry's size, or the model's.
    batch_size : int, default=32
        Images per forward pass.
    include_preprocessing : bool, default=False
        Put the registry model's own preprocessing (its Keras mode) inside the model, so
        ``transform`` takes raw 0-255 RGB pixels. Registry names only.
    safe_mode : bool, default=True
        Load models with Keras' ``safe_mode`` (refuses Lambda layers, whose code would
        run on load). Set False only for models you trust.
    verbose : int, default=0
        0: silent; 1: a progress bar over batches on a terminal; 2: always a bar.
    check_input : bool, default=True
        On the first batch ``transform`` sees, compare the input's range and per-channel
        statistics with what the model's preprocessing mode makes of natural images,
        and warn once (:class:`~skprep.exceptions.PreprocessingMismatchWarning`) naming
        the likely mistake (raw pixels, ``/ 255``, another model's mode) and the fix.
        One pass over that batch; nothing afterwards. Checked for registry models and
        for a ``keras.Model`` named like one (``keras.applications`` models are);
        silent for other models. See :func:`skprep.check_input_statistics`.
    random_state : int, RandomState instance or None, default=None
        Seeds the random weights of a registry model built with ``weights=None``
        (scikit-learn's meaning): an int gives the same network, hence the same
        features, at every ``fit``, in every clone, process and thread; None leaves
        Keras' own unseeded initialization (a different network at every ``fit``).
        Models given as objects or files, and pretrained weights, are not affected.

    Attributes
    ----------
    n_features_out_ : int
        Length ``D`` of one feature vector.
    output_shape_ : tuple of int
        Shape of one sample's output before flattening.
    input_shape_ : tuple
        Shape of one input sample, ``(height, width, channels)``.
    model_name_ : str or None
        Canonical registry name, or None for a user model.
    preprocessing_mode_ : str or None
        The registry model's Keras preprocessing mode, or None for a user model.
    expected_input_model_ : str or None
        The registry model whose preprocessing the input is checked against: the
        registry name, or the one a ``keras.Model`` is named after; None: not checked.
    expected_input_mode_ : str or None
        The mode the input should be in (``"none"``: raw 0-255 RGB pixels, as with
        ``include_preprocessing=True``); None: not checked.

    See Also
    --------
    skprep.make_image_pipeline : loader + normalizer + extractor for a registry model.

    Notes
    -----
    ``transform`` equals ``model.predict`` on the same input (float32, within 1e-5)
    and is safe to call from many threads at once, also on an extractor that was just
    unpickled: the model is rebuilt once, under a lock.

    Within a process, extractors that build the same graph share one built model and its
    traced function (a small least-recently-used cache, see
    :func:`skprep.clear_model_cache`): a refit, a ``clone`` + ``fit`` (model selection)
    and a copy unpickled from a ``Pipeline(memory=...)`` cache or ``joblib`` reuse it
    instead of building the model and tracing it again. The key is how the model is made
    (registry name or model file, weights, ``input_shape``, ``layer``, ``pooling``,
    ``include_preprocessing``, ``safe_mode``) or, for an unpickled copy, the sha256 of its
    ``.keras`` bytes. With ``weights=None`` this means one draw of random weights per
    process and graph; a ``keras.Model`` passed as ``model`` is never shared.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep import KerasFeatureExtractor
    >>> ext = KerasFeatureExtractor("mobilenet_v2", weights=None, input_shape=(32, 32, 3))
    >>> ext.fit_transform(np.zeros((2, 32, 32, 3), np.float32)).shape  # doctest: +SKIP
    (2, 1280)
    """

    _parameter_constraints: dict = {
        "model": "no_validation",
        "weights": [str, os.PathLike, None],
        "layer": [str, Integral, None],
        "pooling": [StrOptions(_POOLING), None],
        "input_shape": [tuple, list, None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "include_preprocessing": ["boolean"],
        "safe_mode": ["boolean"],
        "verbose": [Integral, "boolean"],
        "check_input": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        model: Any = "mobilenet_v2",
        *,
        weights: str | os.PathLike | None = "imagenet",
        layer: str | int | None = None,
        pooling: str | None = "avg",
        input_shape: tuple[int, int, int] | None = None,
        batch_size: int = 32,
        include_preprocessing: bool = False,
        safe_mode: bool = True,
        verbose: int = 0,
        check_input: bool = True,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.model = model
        self.weights = weights
        self.layer = layer
        self.pooling = pooling
        self.input_shape = input_shape
        self.batch_size = batch_size
        self.include_preprocessing = include_preprocessing
        self.safe_mode = safe_mode
        self.verbose = verbose
        self.check_input = check_input
        self.random_state = random_state

    # ------------------------------------------------------------------ building

    def _base_model(self) -> tuple[Any, Any]:
        """(Keras model, registry spec or None) named by ``model`` and ``weights``."""
        model, spec = self.model, None
        if isinstance(model, KerasModelBlob):
            return model.load(safe_mode=self.safe_mode), None
        if is_keras_model(model):
            return model, None
        if isinstance(model, os.PathLike) or (
            isinstance(model, str) and model.lower().endswith((".keras", ".h5"))
        ):
            return load_model_file(model, safe_mode=self.safe_mode), None
        if not isinstance(model, str):
            raise InvalidParameterError(
                "KerasFeatureExtractor's model must be a registry name, a keras.Model or the "
                f"path of a .keras/.h5 file. Received: {type(model).__name__}."
            )
        spec = get_model_spec(model)
        shape = tuple(self.input_shape) if self.input_shape is not None else spec.input_shape
        weights = self.weights
        if weights is not None and weights != "imagenet":
            weights = os.fspath(weights)
            if not os.path.isfile(weights):
                raise WeightsUnavailableError(
                    f"weights={weights!r}: no such file. Expected 'imagenet', None, or the "
                    f"path of a {spec.name} weights file (the include_top=False 'notop' file)."
                )
        try:
            base = spec.keras_constructor()(include_top=False, weights=weights, input_shape=shape)
        except Exception as exc:
            if weights == "imagenet" and _is_download_failure(exc):
                home = os.environ.get("KERAS_HOME", os.path.join("~", ".keras"))
                raise WeightsUnavailableError(
                    f"Could not download the ImageNet weights of {spec.name} ({exc}). Without "
                    "access to the Keras weights server, pass "
                    f"weights=<path to the {spec.name} .h5/.keras weights file> (the "
                    f"include_top=False 'notop' file), or put that file in "
                    f"{os.path.join(home, 'models')}{os.sep} where Keras looks first; "
                    "weights=None gives random weights."
                ) from exc
            raise
        return base, spec

    def _build(self) -> tuple[Any, Any, str]:
        """(the model ``transform`` runs, registry spec or None, feature-name prefix):
        base, layer, pooling, preprocessing, in that order, under ``random_state``."""
        seed = None
        if self.random_state is not None:
            seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        with _seeded(seed):
            base, spec = self._base_model()
            self._check_base(base, spec)
            model = self._cut_at_layer(base)
            label = model.layers[-1].name
            model, pooled = self._pooled(model)
            if self.include_preprocessing:
                model = self._with_preprocessing(model, spec)
        stem = spec.name.lower() if spec is not None else base.name
        return model, spec, f"{stem}_{pooled or label}"

    def _check_base(self, base: Any, spec: Any) -> None:
        """One input and output; a weights file loaded; the input shape as given."""
        if len(base.inputs) != 1 or len(base.outputs) != 1:
            raise SkprepError(
                "KerasFeatureExtractor needs a model with one input and one output; received "
                f"{len(base.inputs)} input(s) and {len(base.outputs)} output(s). Choose one "
                "output with layer=<name>."
            )
        if spec is None and self.weights is not None and self.weights != "imagenet":
            base.load_weights(os.fspath(self.weights))
        if self.input_shape is not None and spec is None:
            given, own = tuple(self.input_shape), tuple(base.input_shape[1:])
            same = len(given) == len(own) and all(
                o is None or o == g for g, o in zip(given, own, strict=True)
            )
            if not same:
                raise InputShapeError(
                    f"input_shape={given} does not match the model's input shape {own}. "
                    "Leave input_shape=None for a model you pass in."
                )

    def _cut_at_layer(self, base: Any) -> Any:
        """The model up to ``layer`` (the base itself when ``layer`` is None)."""
        if self.layer is None:
            return base
        keras = import_keras()
        found = _find_layer(base, self.layer)
        if found is None:
            names = _layer_names(base)
            raise InvalidParameterError(
                f"layer={self.layer!r} is not a layer of the model {base.name!r} (nor of "
                f"its nested models). Its {len(names)} layers, input to output: "
                f"{', '.join(names)}."
            )
        target, owner = found
        first = [lyr for lyr in base.layers if not isinstance(lyr, keras.layers.InputLayer)]
        if owner is not base and not (first and first[0] is owner):
            raise InvalidParameterError(
                f"layer={self.layer!r} is inside the nested model {owner.name!r}, which "
                "does not take the outer model's input directly. Pass that nested model "
                "itself as model=."
            )
        return keras.Model(owner.inputs, target.output)

    def _pooled(self, model: Any) -> tuple[Any, str | None]:
        """(``model`` with the ``pooling`` layer on spatial (or sequence) outputs, the
        pooling layer's class in Keras' snake case, or None when none was added)."""
        rank = len(model.output_shape)
        if self.pooling is None or rank not in (3, 4):
            return model, None
        keras = import_keras()
        layers = keras.layers
        pool = {
            ("avg", 4): layers.GlobalAveragePooling2D, ("max", 4): layers.GlobalMaxPooling2D,
            ("avg", 3): layers.GlobalAveragePooling1D, ("max", 3): layers.GlobalMaxPooling1D,
        }.get((self.pooling, rank), layers.Flatten)
        return keras.Model(model.inputs, pool()(model.outputs[0])), _snake(pool.__name__)

    def _with_preprocessing(self, model: Any, spec: Any) -> Any:
        """``model`` behind a frozen ``Dense`` applying the registry model's Keras mode."""
        if spec is None:
            raise InvalidParameterError(
                "include_preprocessing=True needs a registry model name (its Keras mode "
                "is known); received a model. Normalize the input yourself, e.g. with "
                "KerasModeNormalizer(mode=...)."
            )
        if spec.mode == "none":
            return model
        keras = import_keras()
        inp = keras.Input(model.input_shape[1:])
        dense = keras.layers.Dense(3, name="skprep_preprocessing", trainable=False)
        x = dense(inp)
        dense.set_weights(list(mode_affine(spec.mode)))
        return keras.Model(inp, model(x))

    def _build_key(self) -> tuple | None:
        """How the model is made, for the model cache; None when that cannot be known.

        A ``keras.Model`` passed in is never cached (it may change between fits).
        """
        seed = self.random_state
        if seed is not None and not isinstance(seed, Integral):
            return None  # a RandomState draws a new seed at every build: nothing to share
        graph = (None if self.input_shape is None else tuple(self.input_shape), self.layer,
                 self.pooling, bool(self.include_preprocessing), bool(self.safe_mode),
                 None if seed is None else int(seed))
        weights, model = self.weights, self.model
        try:
            if weights is not None and weights != "imagenet":
                weights = ("file", *file_token(weights))
            if isinstance(model, KerasModelBlob):
                return ("blob", model.sha256, weights, graph)
            if isinstance(model, os.PathLike) or (
                isinstance(model, str) and model.lower().endswith((".keras", ".h5"))
            ):
                return ("file", file_token(model), weights, graph)
            if isinstance(model, str):
                return ("registry", get_model_spec(model).name, weights, graph)
        except (OSError, SkprepError):  # let the build report it
            return None
        return None

    def _new_runtime(self, shared: bool) -> _Runtime:
        model, spec, prefix = self._build()
        runtime = _Runtime(model, tuple(model.input_shape[1:]), spec, shared)
        runtime.prefix = prefix
        return runtime

    def fit(self, X=None, y=None):
        """Build or load the model (nothing is trained) and record its shapes.

        Parameters
        ----------
        X : array-like of shape (N, H, W, C), default=None
            Example input, used only to check its shape.
        y : None
            Ignored.

        Returns
        -------
        self : KerasFeatureExtractor
        """
        self._validate_params()
        with _LOCK:  # refits and clones with the same graph reuse one built model
            key = self._build_key()
            runtime = MODEL_CACHE.get_or_build(key, lambda: self._new_runtime(key is not None))
            self.__dict__.pop("_model_blob", None)
            self.input_shape_ = tuple(runtime.model.input_shape[1:])
            self._runtime = runtime
        model, spec = runtime.model, runtime.spec
        if runtime.prefix is not None:
            self._feature_prefix = runtime.prefix
        self.model_name_ = spec.name if spec is not None else None
        self.preprocessing_mode_ = spec.mode if spec is not None else None
        # a model file or an unpickled model (a blob): ask the model it was loaded into
        named = self.model if spec is not None or is_keras_model(self.model) else model
        self.expected_input_model_, self.expected_input_mode_ = extractor_expectation(
            named, self.include_preprocessing)
        self._unchecked = threading.Lock()  # held once taken: the first batch is checked
        out = tuple(model.output_shape[1:])
        if any(d is None for d in out):
            if X is None:
                raise InputShapeError(
                    f"The model's output shape {out} depends on the input size; pass an example "
                    "batch to fit (fit(X)) or set input_shape."
                )
            out = runtime(self._check_X(X)[:1]).shape[1:]
        elif X is not None:
            self._check_X(X)
        self.output_shape_ = tuple(int(d) for d in out)
        self.n_features_out_ = int(np.prod(self.output_shape_))
        return self

    # ------------------------------------------------------------------ runtime

    def _get_runtime(self) -> _Runtime:
        runtime = self.__dict__.get("_runtime")
        if runtime is not None:
            return runtime
        with _LOCK:  # double-checked: one build, whatever the number of threads
            runtime = self.__dict__.get("_runtime")
            if runtime is None:
                blob = self.__dict__.get("_model_blob")
                if blob is None:
                    raise SkprepError("This KerasFeatureExtractor has no model; call fit first.")
                key = ("content", blob.sha256, bool(self.safe_mode))
                runtime = MODEL_CACHE.get_or_build(key, lambda: self._runtime_from(blob))
                self._runtime = runtime
        return runtime

    def _runtime_from(self, blob: KerasModelBlob) -> _Runtime:
        runtime = _Runtime(blob.load(safe_mode=self.safe_mode), self.input_shape_, shared=True)
        runtime.blob = blob
        return runtime

    def get_model(self):
        """Return the fitted Keras model that ``transform`` runs.

        It includes the pooling layer and, with ``include_preprocessing=True``, the
        preprocessing layer, so it maps the same input to the same features. The model
        may be shared with other extractors of the same graph (see Notes): to train or
        change it, work on a copy (``keras.models.clone_model`` + ``set_weights``).

        Returns
        -------
        keras.Model
        """
        check_is_fitted(self)
        return self._get_runtime().model

    def _check_X(self, X) -> np.ndarray:
        X = np.asarray(X)
        expected = self.input_shape_
        if X.ndim != len(expected) + 1 or any(
            e is not None and e != d for e, d in zip(expected, X.shape[1:], strict=True)
        ):
            hint = (
                f" Load the images at this size, e.g. ImageLoader(target_size={expected[:2]})."
                if len(expected) == 3
                else ""
            )
            dims = ", ".join(map(str, expected))
            raise InputShapeError(
                f"KerasFeatureExtractor expects a batch of shape (N, {dims}); received an "
                f"array of shape {X.shape}.{hint}"
            )
        if X.dtype.kind not in "uifb":
            raise InputShapeError(
                f"KerasFeatureExtractor expects numeric pixels; received dtype {X.dtype}."
            )
        return X

    def transform(self, X):
        """Compute the features of a batch.

        Parameters
        ----------
        X : array-like of shape (N, H, W, C)
            Input as the model expects it (normalized, unless
            ``include_preprocessing=True``, then RGB 0-255).

        Returns
        -------
        ndarray of float32, shape (N, n_features_out_)
        """
        check_is_fitted(self)
        X = self._check_X(X)
        runtime = self._get_runtime()
        n, step = len(X), int(self.batch_size)
        if self.check_input and n:
            self._check_first_batch(X[:step])
        out = np.empty((n, self.n_features_out_), np.float32)
        starts = range(0, n, step)
        for start in progress(starts, total=len(starts), verbose=self.verbose,
                              desc="KerasFeatureExtractor", unit="batch"):
            batch = np.ascontiguousarray(X[start:start + step], dtype=runtime.dtype)
            out[start:start + step] = runtime(batch).reshape(len(batch), -1)
        return out

    def _check_first_batch(self, batch: np.ndarray) -> None:
        """The input check, on the first batch only (whichever thread gets there first)."""
        mode = getattr(self, "expected_input_mode_", None)  # None in pre-0.2 pickles
        first = self.__dict__.get("_unchecked")
        if mode is None or first is None or not first.acquire(blocking=False):
            return
        model = self.expected_input_model_
        warn_on_input(batch, mode=mode, model=model, who=f"KerasFeatureExtractor({model!r})",
                      data_format=layout_of(self.input_shape_),
                      stacklevel=4)  # past transform and sklearn's set_output wrapper

    def to_keras_layer(self, *, name: str | None = None):
        """The fitted model as a Keras layer giving ``transform``'s 2-D features.

        Parameters
        ----------
        name : str, optional
            Used only when the output must be flattened (``pooling=None`` on spatial
            maps): the result is then a model named ``name`` (default
            ``"<model name>_flat"``) ending in a ``Flatten`` layer ``"<name>_flatten"``.

        Returns
        -------
        keras.Model
            :meth:`get_model` itself when its output is already ``(N, D)``.

        Examples
        --------
        (Not run here: it builds a Keras model.) ::

            ext = KerasFeatureExtractor("mobilenet_v2", weights=None).fit()
            features = ext.to_keras_layer()(pixels)   # == ext.transform(pixels)
        """
        model = self.get_model()
        if len(model.output_shape) <= 2:
            return model
        keras = import_keras()
        name = name or f"{model.name}_flat"
        flat = keras.layers.Flatten(name=f"{name}_flatten")(model.outputs[0])
        return keras.Model(model.inputs, flat, name=name)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features: ``<model>_<layer>_<i>``.

        ``<model>`` is the registry name in lower case (``mobilenetv2``) or the Keras
        model's name; ``<layer>`` is the pooling layer (``global_average_pooling2d``) or
        the layer whose output is taken; ``<i>`` counts from 0. The names do not depend
        on Keras' per-session layer counters, so equal parameters give equal names.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored: the features are computed from whole images.

        Returns
        -------
        ndarray of str, shape (n_features_out_,)
        """
        check_is_fitted(self)
        prefix = self.__dict__.get("_feature_prefix", "kerasfeatureextractor")
        return np.asarray([f"{prefix}_{i}" for i in range(self.n_features_out_)], dtype=object)

    # ------------------------------------------------------------------ pickling

    def model_blob(self) -> KerasModelBlob:
        """The fitted model as ``.keras`` bytes (made once, then cached).

        Returns
        -------
        KerasModelBlob
        """
        check_is_fitted(self)
        with _LOCK:
            blob = self.__dict__.get("_model_blob")
            if blob is None:
                runtime = self._runtime
                if runtime.blob is None:  # once per built model; copies find it by content
                    runtime.blob = KerasModelBlob(model_to_bytes(runtime.model))
                    if runtime.shared:
                        MODEL_CACHE.put(("content", runtime.blob.sha256,
                                         bool(self.safe_mode)), runtime)
                blob = self._model_blob = runtime.blob
            return blob

    def __getstate__(self) -> dict:
        with _LOCK:
            state = super().__getstate__().copy()
            runtime = state.pop("_runtime", None)
            state.pop("_param_blob", None)
            state.pop("_unchecked", None)
            if runtime is not None:
                state["_model_blob"] = self.model_blob()
            if is_keras_model(self.model):
                if runtime is not None and self.model is runtime.model:
                    state["model"] = state["_model_blob"]
                else:
                    cached = self.__dict__.get("_param_blob")
                    if cached is None or cached[0] is not self.model:
                        cached = (self.model, KerasModelBlob(model_to_bytes(self.model)))
                        self._param_blob = cached
                    state["model"] = cached[1]
        return state

    def __setstate__(self, state: dict) -> None:
        # parameters added after 0.1: an older pickle or bundle gets their defaults
        for name, default in _PARAMETERS_ADDED_AFTER_0_1.items():
            state.setdefault(name, default)
        super().__setstate__(state)
        self.__dict__.pop("_runtime", None)
        if "n_features_out_" in state:  # fitted: a new process checks its first batch again
            self._unchecked = threading.Lock()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = False
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
