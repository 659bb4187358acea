"""skprep's skops reader gives what ``skops.io.loads`` gives, or steps aside.

The reader (``skprep/persistence/_skops_reader.py``) exists so that ``skprep.load`` need not
import ``skops.io`` (about a second in a fresh process). Every payload here is written by
skops itself; the reader must either construct an object equal, attribute by attribute
and dtype by dtype, to the one skops constructs, or return None before making anything,
so that the caller falls back to skops.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    LabelEncoder,
    MinMaxScaler,
    OneHotEncoder,
    StandardScaler,
)
from sklearn.svm import SVC

import skprep
from skprep import DatasetStatsStandardizer, ImageLoader, KerasModeNormalizer, TextVectorizer
from skprep.persistence._skops_reader import SKOPS_PROTOCOL, read_skops, schema_type_names

sio = pytest.importorskip("skops.io")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 4))
Y = (X[:, 0] + X[:, 1] > 0).astype(int)
PIXELS = RNG.integers(0, 256, size=(6, 8, 8, 3), dtype=np.uint8)
DOCS = ["the cat sat", "a dog ran", "the dog sat on the cat", "cats and dogs"]


def _assert_same(a, b, where="obj"):
    """Equal values, the same types and dtypes, all the way down."""
    assert type(a) is type(b), f"{where}: {type(a)} vs {type(b)}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{i}]")
    elif hasattr(a, "__dict__") and not isinstance(a, type):
        _assert_same(vars(a), vars(b), f"{where}.__dict__")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


# what a skprep bundle's estimator is made of: the fast path must take all of these
COMMON = {
    "scaler + logistic regression": lambda: make_pipeline(
        StandardScaler(), LogisticRegression()).fit(X, Y),
    "logistic regression, string labels": lambda: LogisticRegression().fit(
        X, np.where(Y, "cat", "dog")),
    "ridge": lambda: Ridge(alpha=0.5).fit(X, X[:, 0]),
    "pca + svc": lambda: make_pipeline(PCA(2), SVC()).fit(X, Y),
    "min-max scaler": lambda: MinMaxScaler().fit(X),
    "k-neighbours, brute force": lambda: KNeighborsClassifier(algorithm="brute").fit(X, Y),
    "label encoder": lambda: LabelEncoder().fit(["b", "a", "c", "a"]),
    "image loader + normalizer": lambda: Pipeline([
        ("load", ImageLoader((8, 8))), ("norm", KerasModeNormalizer(model="resnet50").fit(
            PIXELS))]),
    "standardizer": lambda: DatasetStatsStandardizer().fit(PIXELS),
    "text vectorizer": lambda: TextVectorizer(max_tokens=20).fit(DOCS),
    "plain containers": lambda: {"a": [1, 2.5, "x", None, True], "b": (np.float32(3.0),
                                 np.arange(4, dtype=np.int16)), "c": {"nested": [()]}},
}


@pytest.mark.parametrize("name", list(COMMON))
def test_common_payloads_are_read_without_skops_and_equal(name):
    obj = COMMON[name]()
    payload = sio.dumps(obj)
    expected = sio.loads(payload, trusted=sio.get_untrusted_types(data=payload))
    got = read_skops(payload)()
    _assert_same(got, expected)


def test_predictions_are_equal():
    model = make_pipeline(StandardScaler(), PCA(3), SVC()).fit(X, Y)
    loaded = read_skops(sio.dumps(model))()
    np.testing.assert_array_equal(loaded.decision_function(X), model.decision_function(X))


def test_shared_objects_stay_shared():
    scaler = StandardScaler().fit(X)
    array = np.arange(5.0)
    obj = {"first": scaler, "second": scaler, "arrays": [array, array]}
    payload = sio.dumps(obj)
    expected = sio.loads(payload, trusted=sio.get_untrusted_types(data=payload))
    got = read_skops(payload)()
    assert expected["first"] is expected["second"]  # what skops does
    assert got["first"] is got["second"] and got["arrays"][0] is got["arrays"][1]
    _assert_same(got, expected)


# what the reader leaves to skops: it must say so before making anything
ELSEWHERE = {
    "a function": lambda: FunctionTransformer(np.sqrt),
    "an object array": lambda: np.array([1, "a", None], dtype=object),
    "a tree (refused by default)": lambda: RandomForestClassifier(2, random_state=0).fit(X, Y),
    "a KD-tree (refused by default)": lambda: KNeighborsClassifier(
        algorithm="kd_tree").fit(X, Y),
    "a loss object": lambda: SGDClassifier(random_state=0).fit(X, Y),
    "a set": lambda: {1, 2},
}


@pytest.mark.parametrize("name", list(ELSEWHERE))
def test_other_payloads_are_left_to_skops(name):
    payload = sio.dumps(ELSEWHERE[name]())
    assert read_skops(payload) is None


def test_one_hot_encoder_either_way():
    """Whichever path reads it, skprep.load gives what skops gives."""
    enc = OneHotEncoder(handle_unknown="ignore").fit(np.array([["a"], ["b"], ["a"]]))
    payload = sio.dumps(enc)
    expected = sio.loads(payload, trusted=sio.get_untrusted_types(data=payload))
    construct = read_skops(payload)
    if construct is not None:
        _assert_same(construct(), expected)


def _rewrite_schema(payload: bytes, change) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(payload))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "schema.json":
                schema = json.loads(data)
                change(schema)
                data = json.dumps(schema).encode()
            dst.writestr(info, data)
    return out.getvalue()


def _first(schema, loader):
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("__loader__") == loader:
                return item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    raise AssertionError(loader)


def _set_protocol(value):
    def change(schema):
        schema["protocol"] = value
    return change


def _untrusted_class(schema):
    _first(schema, "ObjectNode")["__module__"] = "subprocess"
    _first(schema, "ObjectNode")["__class__"] = "Popen"


def _cycle(schema):
    node = _first(schema, "ObjectNode")
    node["content"]["content"]["mean_"] = {"__loader__": "ObjectNode",
                                           "__module__": node["__module__"],
                                           "__class__": node["__class__"],
                                           "__id__": node["__id__"], "content": None}


def _dangling_reference(schema):
    node = _first(schema, "ObjectNode")
    node["content"]["content"]["mean_"] = {"__loader__": "CachedNode", "__module__": "x",
                                           "__class__": "y", "__id__": 123456789}


def _missing_array_file(schema):
    _first(schema, "NdArrayNode")["file"] = "nowhere.npy"


def _short_key_types(schema):
    _first(schema, "DictNode")["key_types"]["content"].pop()


@pytest.mark.parametrize("change", [
    _set_protocol(SKOPS_PROTOCOL - 1), _set_protocol(SKOPS_PROTOCOL + 1), _set_protocol(True),
    _set_protocol("2"), _untrusted_class, _cycle, _dangling_reference, _missing_array_file,
    _short_key_types,
], ids=lambda f: getattr(f, "__name__", "protocol"))
def test_altered_payloads_are_left_to_skops_before_anything_is_made(change, monkeypatch):
    payload = _rewrite_schema(sio.dumps(StandardScaler().fit(X)), change)
    made = []
    original = StandardScaler.__setstate__  # what rebuilding a fitted scaler calls
    monkeypatch.setattr(StandardScaler, "__setstate__",
                        lambda self, state: made.append(state) or original(self, state))
    assert read_skops(payload) is None
    assert made == []


def test_the_construction_probe_sees_construction(monkeypatch):
    """The probe of the test above is called when the reader does construct."""
    payload = sio.dumps(StandardScaler().fit(X))
    made = []
    original = StandardScaler.__setstate__
    monkeypatch.setattr(StandardScaler, "__setstate__",
                        lambda self, state: made.append(state) or original(self, state))
    read_skops(payload)()
    assert len(made) == 1


def test_protocol_is_skops_current_one():
    from skops.io._protocol import PROTOCOL

    assert PROTOCOL == SKOPS_PROTOCOL


def test_schema_type_names():
    payload = sio.dumps(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y))
    names = schema_type_names(payload)
    assert {"sklearn.pipeline.Pipeline", "sklearn.preprocessing._data.StandardScaler",
            "sklearn.linear_model._logistic.LogisticRegression"} <= names
    assert schema_type_names(b"not a zip") == set()


def test_load_does_not_import_skops_for_a_plain_pipeline(tmp_path):
    path = tmp_path / "lr.skprep"
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y)
    skprep.save(model, path)
    code = textwrap.dedent(f"""
        import sys, numpy as np, skprep
        model = skprep.load({str(path)!r})
        print(model.predict(np.array({X[:3].tolist()!r})).tolist(), "skops.io" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert out.stdout.split() == [*str(model.predict(X[:3]).tolist()).split(), "False"]
