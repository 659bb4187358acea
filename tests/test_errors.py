"""The error promise (issue 13, item 8): every error skprep raises for bad input is a
``SkprepError`` that is also the matching builtin. Walks every public estimator's
parameters (an invalid value for each one) and every public function with bad arguments."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError as SklearnInvalidParameterError

import skprep
from skprep import exceptions
from skprep.exceptions import InvalidParameterError, SkprepError

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "skprep"
IMAGES = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
DOCS = ["the cat sat", "a dog"]

# class -> data its fit takes, one per public estimator of skprep
FIT_DATA = {
    "ImageLoader": None,
    "KerasModeNormalizer": IMAGES,
    "DatasetStatsStandardizer": IMAGES,
    "KerasFeatureExtractor": None,
    "TextVectorizer": DOCS,
    "SequencePadder": [[1, 2], [3]],
    "ImageAugmenter": IMAGES,
    "StreamingPipeline": [[1, 2], [3]],
    "KerasTokenizer": DOCS,
}
BASE = {"KerasModeNormalizer": {"mode": "tf"},
        "StreamingPipeline": {"steps": [("pad", skprep.SequencePadder())]}}


class _Invalid:
    """A value that no parameter constraint accepts."""

    def __repr__(self) -> str:
        return "<invalid>"


def _estimator_classes():
    return [getattr(skprep, name) for name in sorted(FIT_DATA)]


def test_every_public_estimator_is_walked():
    from sklearn.base import BaseEstimator

    public = {name for name in skprep.__all__[1:]
              if inspect.isclass(getattr(skprep, name))
              and issubclass(getattr(skprep, name), BaseEstimator)}
    assert public == set(FIT_DATA)


@pytest.mark.parametrize("cls", _estimator_classes(), ids=lambda c: c.__name__)
def test_every_invalid_parameter_raises_skprep_and_sklearn_invalid_parameter_error(cls):
    base = cls(**BASE.get(cls.__name__, {}))
    names = sorted(base.get_params(deep=False))
    constraints = base._parameter_constraints
    assert names == sorted(constraints)
    for name in names:
        est = clone(base).set_params(**{name: _Invalid()})
        with pytest.raises(SkprepError) as info:
            est.fit(FIT_DATA[cls.__name__])
        error = info.value
        assert isinstance(error, (ValueError, TypeError)), (cls.__name__, name, error)
        if constraints[name] != "no_validation":
            assert isinstance(error, InvalidParameterError)
            assert isinstance(error, SklearnInvalidParameterError)  # sklearn's checks see it
            assert f"'{name}' parameter of {cls.__name__}" in str(error)


def _distributed(name: str):
    pytest.importorskip("distributed")
    import skprep.distributed

    return getattr(skprep.distributed, name)


def _streaming():
    import skprep.streaming

    return skprep.streaming


def _bag(items, **kwargs):
    return pytest.importorskip("dask.bag").from_sequence(items, **kwargs)


def _bad_calls():
    """(id, callable, expected builtin) for the public functions and methods."""
    from skprep.export import register_converter, to_keras
    from skprep.normalize import mode_affine, mode_arithmetic
    from skprep.registry import parse_input_size
    from skprep.text import pad_sequences

    return [
        ("preprocess-mode", lambda: skprep.preprocess(IMAGES, "bogus"), ValueError),
        ("unpreprocess-mode", lambda: skprep.unpreprocess(IMAGES, "bogus"), ValueError),
        ("preprocess-channels", lambda: skprep.preprocess(np.zeros((2, 4)), "caffe"),
         ValueError),
        ("mode_arithmetic", lambda: mode_arithmetic("bogus"), ValueError),
        ("mode_affine", lambda: mode_affine("none"), ValueError),
        ("get_model_spec", lambda: skprep.get_model_spec("mobilenet_v9"), ValueError),
        ("parse_input_size", lambda: parse_input_size((0, 3)), ValueError),
        ("load_images-param", lambda: skprep.load_images([], target_size=-1), ValueError),
        ("load_images-item", lambda: skprep.load_images([object()], target_size=(4, 4)),
         TypeError),
        ("pipeline-model", lambda: skprep.make_image_pipeline("nope"), ValueError),
        ("pipeline-size", lambda: skprep.make_image_pipeline("mobilenet_v2", input_size=(0, 3)),
         ValueError),
        ("pipeline-override", lambda: skprep.make_image_pipeline("mobilenet_v2", nope=1),
         ValueError),
        ("save-format", lambda: skprep.save(skprep.ImageLoader(), "x.skprep", format="zip"),
         ValueError),
        ("load-missing", lambda: skprep.load(ROOT / "no_such.skprep"), ValueError),
        ("read_manifest-missing", lambda: skprep.read_manifest(ROOT / "no_such.skprep"),
         ValueError),
        ("pad_sequences-dtype", lambda: pad_sequences([[1]], dtype=_Invalid()), TypeError),
        ("register_stateless_step", lambda: _streaming().register_stateless_step(1), TypeError),
        ("to_keras", lambda: pytest.importorskip("keras") and to_keras(object()), ValueError),
        ("register_converter-class", lambda: register_converter(1, print), TypeError),
        ("register_converter-fn", lambda: register_converter(int, 1), TypeError),
        ("pad_sequences-padding", lambda: pad_sequences([[1]], padding="middle"), ValueError),
        ("pad_sequences-value", lambda: pad_sequences([[1]], value="x"), ValueError),
        ("fit_text_vectorizer-empty", lambda: _distributed("fit_text_vectorizer")(
            _bag([], npartitions=1)), ValueError),
        ("fit_standardizer-no-loader", lambda: _distributed("fit_standardizer")(
            _bag(["a.png"])), ValueError),
        ("map_pipeline-method", lambda: _distributed("map_pipeline")(
            skprep.ImageLoader(), _bag(["a"]), "nope"), ValueError),
        ("vectorizer-counts", lambda: skprep.TextVectorizer(output_mode="tf_idf")
         .fit_from_counts(skprep.TextVectorizer().partial_counts(DOCS)), ValueError),
    ]


@pytest.mark.parametrize("case", _bad_calls(), ids=lambda case: case[0])
def test_every_public_function_raises_skprep_errors(case, tmp_path, monkeypatch):
    _, call, builtin = case
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SkprepError) as info:
        call()
    assert isinstance(info.value, builtin), (case[0], type(info.value).__mro__)


# builtin raises that are part of a protocol, not errors reported to the user
PROTOCOL_RAISES = {
    "AttributeError",  # module __getattr__
    "ImportError",  # import_optional: a missing optional dependency, naming the extra
    # _decode._read_bytes: an OS error like os.stat's, turned into ImageNotFoundError by
    # classify() before it reaches the user (tests/test_images.py checks the result)
    ("skprep/_decode.py", "IsADirectoryError"),
}


def test_no_plain_builtin_raise_is_left_in_the_package():
    """No ``raise ValueError(...)`` and the like: the raised class comes from
    skprep.exceptions (helpers that build one, and re-raises, are not builtins)."""
    import builtins

    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                    and isinstance(node.exc.func, ast.Name)):
                continue
            name = node.exc.func.id
            builtin = getattr(builtins, name, None)
            if (isinstance(builtin, type) and issubclass(builtin, BaseException)
                    and name not in PROTOCOL_RAISES and (where, name) not in PROTOCOL_RAISES):
                found.append(f"{where}:{node.lineno} raise {name}")
    assert found == []


def test_every_exception_class_is_a_skprep_error_and_a_builtin():
    for name in exceptions.__all__:
        obj = getattr(exceptions, name)
        if not inspect.isclass(obj):
            continue
        if issubclass(obj, Warning):
            assert issubclass(obj, exceptions.SkprepWarning), name
        elif issubclass(obj, BaseException) and obj is not SkprepError:
            assert issubclass(obj, SkprepError), name
            builtins_ = [b for b in obj.__mro__ if b.__module__ == "builtins"
                         and b not in (Exception, BaseException, object)]
            assert builtins_, f"{name} derives from no specific builtin exception"


def test_invalid_parameter_error_pickles_and_keeps_its_identity():
    import pickle

    error = pickle.loads(pickle.dumps(InvalidParameterError("bad")))
    assert type(error) is InvalidParameterError and str(error) == "bad"
    assert exceptions.InvalidParameterError is InvalidParameterError
