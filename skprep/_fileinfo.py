"""What a file is, by its first bytes, and what a bundle holds, read without loading it.

``skprep info`` and ``skprep predict`` use this to tell a skprep bundle from a plain
pickle / joblib file, a Keras model file or an image (a file name or
``zipfile.is_zipfile`` says little: a pickle that embeds ``.keras`` bytes contains a zip),
and to describe a bundle from its manifest and the JSON tree ``skops`` writes for the
estimator, without importing scikit-learn, TensorFlow or the estimators' modules and
without building any Keras model. Only the standard library is used.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from typing import Any

__all__ = ["FileKind", "identify", "describe_bundle", "describe_estimator", "estimator_steps"]

_MANIFEST = "manifest.json"
_BUNDLE_FORMAT = "skprep-bundle"

# (first bytes, kind, description); checked in order
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "image", "a JPEG image"),
    (b"\x89PNG\r\n\x1a\n", "image", "a PNG image"),
    (b"GIF87a", "image", "a GIF image"),
    (b"GIF89a", "image", "a GIF image"),
    (b"II*\x00", "image", "a TIFF image"),
    (b"MM\x00*", "image", "a TIFF image"),
    (b"\x89HDF\r\n\x1a\n", "hdf5", "an HDF5 file (a Keras .h5 model or weights file)"),
    (b"\x1f\x8b", "compressed", "a gzip-compressed file (a compressed joblib file?)"),
    (b"BZh", "compressed", "a bzip2-compressed file (a compressed joblib file?)"),
    (b"\xfd7zXZ\x00", "compressed", "an xz-compressed file (a compressed joblib file?)"),
    (b"\x04\x22\x4d\x18", "compressed", "an lz4-compressed file (a compressed joblib file?)"),
)
_ZLIB_SECOND = (0x01, 0x5E, 0x9C, 0xDA)  # joblib's default compressor writes a zlib stream


@dataclass(frozen=True)
class FileKind:
    """What a path holds.

    Attributes
    ----------
    kind : str
        ``"bundle"`` (a skprep bundle), ``"keras"`` (a ``.keras`` model zip), ``"zip"``
        (another zip), ``"pickle"``, ``"compressed"``, ``"hdf5"``, ``"image"``,
        ``"damaged"`` (an unreadable zip), ``"directory"``, ``"missing"``, ``"empty"`` or
        ``"unknown"``.
    description : str
        In words, for messages (``"a JPEG image"``, ``"a pickle file (protocol 4)"``).
    """

    kind: str
    description: str

    @property
    def is_bundle_like(self) -> bool:
        """A file ``skprep predict`` / ``info`` can read (some need ``--allow-pickle``)."""
        return self.kind in ("bundle", "damaged", "pickle", "compressed")


def _zip_kind(path: str) -> FileKind:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if _MANIFEST in names:
                try:
                    manifest = json.loads(zf.read(_MANIFEST))
                except (ValueError, zipfile.BadZipFile, OSError):
                    manifest = None
                if isinstance(manifest, dict) and manifest.get("format") == _BUNDLE_FORMAT:
                    return FileKind("bundle", "a skprep bundle")
            if "config.json" in names and "metadata.json" in names:
                return FileKind("keras", "a Keras model file (.keras)")
    except (zipfile.BadZipFile, OSError):
        return FileKind("damaged", "a damaged or truncated zip file (a bundle?)")
    return FileKind("zip", "a zip archive that is not a skprep bundle (no skprep manifest)")


def identify(path: str | os.PathLike) -> FileKind:
    """What ``path`` holds, judged by its first bytes (never by its name).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    FileKind

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skprep")
    >>> with open(path, "wb") as fh:
    ...     _ = fh.write(b"\\xff\\xd8\\xff\\xe0" + bytes(20))
    >>> identify(path)
    FileKind(kind='image', description='a JPEG image')
    >>> identify(os.path.dirname(path)).kind
    'directory'
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        return FileKind("directory", "a directory")
    if not os.path.exists(path):
        return FileKind("missing", "a path that does not exist")
    with open(path, "rb") as fh:
        head = fh.read(16)
    if not head:
        return FileKind("empty", "an empty file")
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _zip_kind(path)
    if head[:1] == b"\x80" and 2 <= head[1] <= 5:
        return FileKind("pickle", f"a pickle / joblib file (protocol {head[1]})")
    if head[:1] == b"\x78" and len(head) > 1 and head[1] in _ZLIB_SECOND:
        return FileKind("compressed", "a zlib-compressed file (a compressed joblib file?)")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FileKind("image", "a WebP image")
    if head[:2] == b"BM":
        return FileKind("image", "a BMP image")
    for magic, kind, description in _SIGNATURES:
        if head.startswith(magic):
            return FileKind(kind, description)
    return FileKind("unknown", "a file of unknown type")


# --------------------------------------------------------------------------- skops tree


def _node_value(node: Any, seen: dict[Any, Any]) -> Any:
    """A skops schema node as a JSON value: the value itself where JSON can hold it."""
    if not isinstance(node, dict):
        return node
    loader = node.get("__loader__")
    if loader == "CachedNode":
        return seen.get(node.get("content"), "<shared object>")
    value = _convert(node, loader, seen)
    if "__id__" in node:
        seen[node["__id__"]] = value
    return value


def _convert(node: dict, loader: str | None, seen: dict[Any, Any]) -> Any:
    content = node.get("content")
    if loader == "JsonNode":
        return json.loads(content)
    if loader in ("ListNode", "TupleNode", "SetNode"):
        return [_node_value(item, seen) for item in content]
    if loader in ("DictNode", "DefaultDictNode"):
        return {str(key): _node_value(value, seen) for key, value in (content or {}).items()}
    name = f"{node.get('__module__')}.{node.get('__class__')}"
    if loader in ("TypeNode", "FunctionNode"):
        return f"<{content.get('__module__')}.{content.get('__class__')}>" if isinstance(
            content, dict) else f"<{name}>"
    if loader == "ObjectNode" and isinstance(content, dict):
        state = _node_value(content, seen)
        if name == "skprep._keras.KerasModelBlob" and isinstance(state, dict):
            return f"<Keras model: bundle member {state.get('member', '?')}>"
        params = {key: state[key] for key in sorted(state)
                  if not key.startswith("_") and not key.endswith("_")}
        return {"class": name, "params": params}
    return f"<{name}>"


def estimator_steps(schema: dict) -> list[dict[str, Any]]:
    """The steps of the estimator in a skops ``schema.json``: name, class and parameters.

    Parameters are the estimator's public, non-fitted attributes (scikit-learn stores each
    ``__init__`` argument under its own name), as JSON values; objects become
    ``{"class": ..., "params": ...}`` and what JSON cannot hold a ``"<type>"`` string.
    """
    root = _node_value(schema, {})
    if not isinstance(root, dict) or "class" not in root:
        return [{"name": "estimator", "class": str(root), "params": {}}]
    steps = root["params"].get("steps")
    if root["class"].endswith(".Pipeline") and isinstance(steps, list):
        return [{"name": str(name), "class": step.get("class", str(step)).rsplit(".", 1)[-1],
                 "params": step.get("params", {})} if isinstance(step, dict)
                else {"name": str(name), "class": str(step), "params": {}}
                for name, step in steps]
    return [{"name": root["class"].rsplit(".", 1)[-1], "class": root["class"].rsplit(".", 1)[-1],
             "params": root["params"]}]


def _json_param(value: Any) -> Any:
    """A parameter value as JSON: itself, a list, a nested estimator, or a short repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_param(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_param(item) for key, item in value.items()}
    if hasattr(value, "get_params") and not isinstance(value, type):
        return {"class": f"{type(value).__module__}.{type(value).__qualname__}",
                "params": {key: _json_param(item)
                           for key, item in value.get_params(deep=False).items()}}
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy scalar
        return value.item()
    text = repr(value)
    return f"<{text if len(text) <= 80 else text[:77] + '...'}>"


def describe_estimator(obj: Any) -> list[dict[str, Any]]:
    """The steps of a loaded estimator (a Pipeline's, or itself): name, class, parameters.

    The same shape as :func:`estimator_steps`, with every parameter as a JSON value.
    """
    steps = getattr(obj, "steps", None)
    if not isinstance(steps, list):
        steps = [(type(obj).__name__, obj)]
    return [{"name": str(name), "class": type(step).__name__,
             "params": {key: _json_param(value)
                        for key, value in sorted(step.get_params(deep=False).items())}
             if hasattr(step, "get_params") else {}}
            for name, step in steps]


# --------------------------------------------------------------------------- bundles


def _check_members(zf: zipfile.ZipFile, manifest: dict) -> tuple[str | None, dict[str, bytes]]:
    """(the first failure or None, the members read); each checked against its sha256."""
    read: dict[str, bytes] = {}
    for name, expected in sorted(manifest.get("members", {}).items()):
        try:
            data = zf.read(name)
        except KeyError:
            return f"member {name!r} is missing", read
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            return f"member {name!r} is damaged or truncated ({exc})", read
        digest = hashlib.sha256(data).hexdigest()
        if len(data) != expected.get("size") or digest != expected.get("sha256"):
            return (f"member {name!r} was altered (sha256 {digest}, expected "
                    f"{expected.get('sha256')})"), read
        read[name] = data
    return None, read


def describe_bundle(path: str | os.PathLike) -> dict[str, Any]:
    """A skprep bundle's manifest, checksum status and steps, read without loading it.

    Every member is checked against the sha256 in the manifest. The steps and their
    parameters come from the ``skops`` tree of a ``"safe"`` bundle (a ``"pickle"``
    bundle's payload is not read: that would run code).

    Returns
    -------
    dict
        ``format``, ``format_version``, ``serialization``, ``estimator``, ``created``,
        ``versions``, ``metadata``, ``keras_models``, ``checksum`` (``"ok"`` or the
        failure) and, when readable, ``steps`` (list of name / class / params).
    """
    path = os.fspath(path)
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read(_MANIFEST))
        info: dict[str, Any] = {"format": "skprep bundle"}
        info.update({key: manifest.get(key) for key in (
            "format_version", "serialization", "estimator", "created", "versions",
            "metadata", "keras_models")})
        failure, members = _check_members(zf, manifest)
    info["checksum"] = f"FAILED: {failure}" if failure else "ok (every member matches its sha256)"
    payload = members.get(manifest.get("payload", ""))
    if payload is not None and manifest.get("serialization") == "skops":
        with zipfile.ZipFile(io.BytesIO(payload)) as inner:
            info["steps"] = estimator_steps(json.loads(inner.read("schema.json")))
    return info
