"""A reader for the part of the skops format that skprep bundles use, without ``skops.io``.

``import skops.io`` costs about a second in a fresh process: at import, skops 0.16 lists
scikit-learn's estimators with ``sklearn.utils.all_estimators()``, which imports every
scikit-learn module (and pytest and dask where they are installed), and looks up each
of scipy's special functions in every loaded module. That second is most of what
``skprep.load`` costs beyond ``keras.models.load_model`` in a fresh serving process.

A skprep pipeline's payload uses only a handful of skops' node types: objects, lists,
tuples, dicts, JSON values, builtin and NumPy scalar types, and NumPy arrays stored in
``.npy`` form. This module reads exactly those, with skops' own construction rules
(``cls.__new__`` then ``__setstate__`` or ``__dict__.update``, shared objects by their
``__id__``), for skops protocol 2 only. For anything else :func:`read_skops` returns
None while the tree is read, before any object is made, and the caller then loads the
payload with ``skops.io`` as before. The fast path is never more permissive than
that one: every object it makes is a class that :func:`~._trust.is_trusted_type`
accepts, every type a builtin or NumPy scalar type that skops trusts by default.
``tests/test_skops_reader.py`` checks that it gives what ``skops.io.loads`` gives.
"""

from __future__ import annotations

import importlib
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np

from ._trust import is_trusted_type

__all__ = ["SKOPS_PROTOCOL", "read_skops", "schema_type_names"]

#: the skops protocol whose node semantics this reader follows (skops 0.11-0.16)
SKOPS_PROTOCOL = 2

_BUILTIN_TYPES: dict[str, type] = {
    f"builtins.{t.__name__}": t for t in (int, float, str, bool, list, set, map, tuple)
}


def _numpy_scalar_types() -> dict[str, type]:
    """skops' ``NUMPY_DTYPE_TYPE_NAMES``: NumPy's scalar types, by their public name."""
    types = {}
    for t in set(np.sctypeDict.values()):
        name = f"{t.__module__}.{t.__name__}"
        if name.startswith("numpy") and getattr(np, t.__name__, None) is t:
            types[name] = t
    return types


def _unsupported(what: str) -> ValueError:
    """What the reader raises where it steps aside (``read_skops`` returns None then)."""
    return ValueError(f"left to skops.io: {what}")


class _Node:
    """One node of the tree: how to make its object, made at most once."""

    __slots__ = ("make", "value", "done")

    def __init__(self) -> None:
        self.make: Callable[[], Any] | None = None
        self.done = False

    def construct(self) -> Any:
        if not self.done:
            assert self.make is not None  # set before any construct (tree fully read)
            self.value = self.make()
            self.done = True
        return self.value


class _Reader:
    """Reads a schema into nodes (no import, no object), then constructs the root."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.memo: dict[Any, _Node] = {}
        self.open_ids: set[Any] = set()  # nodes being read: a reference back is a cycle
        self.scalar_types = _numpy_scalar_types()
        self.loaders = {
            "JsonNode": self._json, "ListNode": self._list, "TupleNode": self._tuple,
            "DictNode": self._dict, "TypeNode": self._type, "NdArrayNode": self._array,
            "ObjectNode": self._object,
        }

    def node(self, state: Any) -> _Node:
        if not isinstance(state, dict):
            raise _unsupported(f"a node that is not a mapping: {type(state).__name__}")
        saved_id = state.get("__id__")
        if saved_id in self.open_ids:
            raise _unsupported(f"object {saved_id!r} contains itself")
        if saved_id in self.memo:  # a shared object (skops checks this before the loader)
            return self.memo[saved_id]
        loader = state["__loader__"]
        if loader == "CachedNode":
            raise _unsupported(f"a reference to an unknown object {saved_id!r}")
        read = self.loaders.get(loader) if isinstance(loader, str) else None
        if read is None:
            raise _unsupported(f"node type {loader!r}")
        name = f"{state['__module__']}.{state['__class__']}"
        node = _Node()
        if saved_id:
            self.memo[saved_id] = node
            self.open_ids.add(saved_id)
        node.make = read(state, name)
        self.open_ids.discard(saved_id)
        return node

    def _require(self, name: str, allowed: dict[str, type]) -> type:
        if name not in allowed:
            raise _unsupported(f"type {name!r}")
        return allowed[name]

    def _json(self, state: dict, name: str) -> Callable[[], Any]:
        content = state["content"]
        return lambda: json.loads(content)

    def _items(self, state: dict) -> list[_Node]:
        content = state["content"]
        if not isinstance(content, list):
            raise _unsupported("a sequence node whose content is not a list")
        return [self.node(item) for item in content]

    def _list(self, state: dict, name: str) -> Callable[[], Any]:
        self._require(name, {"builtins.list": list})
        items = self._items(state)
        return lambda: [item.construct() for item in items]

    def _tuple(self, state: dict, name: str) -> Callable[[], Any]:
        self._require(name, {"builtins.tuple": tuple})
        items = self._items(state)
        return lambda: tuple(item.construct() for item in items)

    def _dict(self, state: dict, name: str) -> Callable[[], Any]:
        self._require(name, {"builtins.dict": dict})
        key_state, content = state["key_types"], state["content"]
        if (not isinstance(key_state, dict) or key_state.get("__loader__") != "ListNode"
                or not isinstance(content, dict)
                or not all(isinstance(k, dict) and k.get("__loader__") == "TypeNode"
                           for k in key_state.get("content") or ())):
            raise _unsupported("a dict whose key types are not a list of types")
        if len(key_state["content"]) != len(content):  # skops would zip them shorter
            raise _unsupported("a dict with more or fewer key types than keys")
        key_types = self.node(key_state)
        values = {key: self.node(value) for key, value in content.items()}

        def make() -> dict:
            out: dict = {}
            for key_type, (key, value) in zip(key_types.construct(), values.items(),
                                              strict=True):
                out[key_type(key)] = value.construct()
            return out

        return make

    def _type(self, state: dict, name: str) -> Callable[[], Any]:
        found = self._require(name, {**_BUILTIN_TYPES, **self.scalar_types})
        return lambda: found

    def _array(self, state: dict, name: str) -> Callable[[], Any]:
        if state["type"] != "numpy":
            raise _unsupported("an object array")
        scalar = None
        if name != "numpy.ndarray":
            scalar = self._require(name, self.scalar_types)
        data = self.archive.read(state["file"])

        def make() -> Any:
            content = np.load(io.BytesIO(data), allow_pickle=False)
            return content if scalar is None else scalar(content)

        return make

    def _object(self, state: dict, name: str) -> Callable[[], Any]:
        module_name, class_name = state["__module__"], state["__class__"]
        if not (isinstance(module_name, str) and isinstance(class_name, str)
                and "." not in class_name and is_trusted_type(name)):
            raise _unsupported(f"type {name!r}")
        content = state.get("content")
        attrs = None if content is None else self.node(content)

        def make() -> Any:
            cls = getattr(importlib.import_module(module_name), class_name)
            instance = cls.__new__(cls)
            if attrs is None:
                return instance
            values = attrs.construct()
            if values is not None:
                if hasattr(instance, "__setstate__"):
                    instance.__setstate__(values)
                else:
                    instance.__dict__.update(values)
            return instance

        return make


def read_skops(payload: bytes) -> Callable[[], Any] | None:
    """Read a skops payload; return what constructs its object, or None.

    Parameters
    ----------
    payload : bytes
        A skops file (already checked by ``check_inner_archive``).

    Returns
    -------
    callable or None
        Called with no argument, the callable constructs the estimator (errors of
        construction, such as a Keras member that does not load, propagate from it).
        None whenever this reader does not take the payload on: another protocol, a
        node type or a type it does not read, a malformed or cyclic tree. Nothing has
        been imported or made by then; load the payload with ``skops.io``.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            schema = json.loads(archive.read("schema.json"))
            protocol = schema.get("protocol") if isinstance(schema, dict) else None
            if isinstance(protocol, bool) or protocol != SKOPS_PROTOCOL:
                return None
            root = _Reader(archive).node(schema)
    except Exception:  # noqa: BLE001 - unsupported or malformed: skops.io decides
        return None
    return root.construct


def schema_type_names(payload: bytes) -> set[str]:
    """Every ``module.Class`` a skops payload's schema names (empty if unreadable).

    Parameters
    ----------
    payload : bytes

    Returns
    -------
    set of str
    """
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except Exception:  # noqa: BLE001 - the skops path reports a malformed payload
        return set()
    names: set[str] = set()
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            module, cls = item.get("__module__"), item.get("__class__")
            if isinstance(module, str) and isinstance(cls, str):
                names.add(f"{module}.{cls}")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return names
