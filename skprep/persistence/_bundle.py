"""Writing and reading bundle files (see the package docstring for the format)."""

from __future__ import annotations

import datetime as _dt
import importlib
import importlib.metadata
import io
import json
import os
import platform
import tempfile
import warnings
import zipfile
from collections.abc import Sequence
from typing import Any

from .._keras import BUNDLE_READER, BUNDLE_WRITER, model_from_bytes, sha256
from .._optional import import_optional
from ..exceptions import (
    BundleError,
    BundleIntegrityError,
    BundleVersionWarning,
    InvalidArgumentError,
    PickleRefusedError,
)
from ._walk import find_keras_extractors

__all__ = ["save", "load", "read_manifest", "BUNDLE_FORMAT", "BUNDLE_VERSION"]

BUNDLE_FORMAT = "skprep-bundle"
BUNDLE_VERSION = 1
_MANIFEST = "manifest.json"
_PAYLOADS = {"safe": "estimator.skops", "pickle": "estimator.joblib"}
_TRUSTED_PACKAGES = ("sklearn", "numpy", "skprep")
_CHECKED_VERSIONS = ("skprep", "scikit-learn", "keras", "numpy")


def _version(dist: str) -> str | None:
    if dist == "skprep":
        from .. import __version__

        return __version__
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _versions() -> dict[str, str | None]:
    names = ("skprep", "scikit-learn", "keras", "tensorflow", "numpy", "skops", "joblib")
    out = {name: _version(name) for name in names}
    out["python"] = platform.python_version()
    return out


def _import_skops():
    return import_optional("skops.io", extra="bundle", needed_by="Safe bundles",
                           hint=' (or save with format="pickle")')


def save(obj: Any, path: str | os.PathLike, *, metadata: dict | None = None,
         format: str = "safe") -> str:
    """Save a fitted estimator or pipeline as a bundle file.

    Parameters
    ----------
    obj : estimator
        Usually a fitted :class:`~sklearn.pipeline.Pipeline`.
    path : str or path-like
        File to write (replaced atomically if it exists).
    metadata : dict, default=None
        Your own JSON-serializable information, stored in the manifest.
    format : {"safe", "pickle"}, default="safe"
        ``"safe"`` writes the estimator with ``skops.io`` (loadable without running
        code); ``"pickle"`` with joblib (needs ``allow_pickle=True`` to load).

    Returns
    -------
    str
        The path written.

    Examples
    --------
    >>> import skprep, tempfile, os
    >>> from sklearn.preprocessing import StandardScaler
    >>> path = os.path.join(tempfile.mkdtemp(), "scaler.skprep")
    >>> _ = skprep.save(StandardScaler().fit([[0.0], [2.0]]), path, metadata={"run": 1})
    >>> skprep.read_manifest(path)["metadata"]
    {'run': 1}
    >>> skprep.load(path).transform([[4.0]])
    array([[3.]])
    """
    if format not in _PAYLOADS:
        raise InvalidArgumentError(f"format must be 'safe' or 'pickle'; got {format!r}.")
    try:
        meta_json = json.loads(json.dumps(metadata if metadata is not None else {}))
    except (TypeError, ValueError) as exc:
        raise BundleError(
            f"metadata must be JSON-serializable (str, numbers, lists, dicts); {exc}. "
            "Convert the values to plain Python types."
        ) from exc
    members: dict[str, bytes] = {}
    by_hash: dict[str, str] = {}

    def writer(data: bytes) -> str:
        digest = sha256(data)
        if digest not in by_hash:
            by_hash[digest] = f"models/{len(by_hash)}.keras"
            members[by_hash[digest]] = data
        return by_hash[digest]

    extractors = find_keras_extractors(obj)
    token = BUNDLE_WRITER.set(writer)
    try:
        if format == "safe":
            payload = _import_skops().dumps(obj)
        else:
            import joblib

            buffer = io.BytesIO()
            joblib.dump(obj, buffer)
            payload = buffer.getvalue()
    finally:
        BUNDLE_WRITER.reset(token)
    models = []
    for est_path, est in extractors:
        if hasattr(est, "n_features_out_"):
            member = by_hash.get(est.model_blob().sha256)
            models.append({"path": est_path, "class": type(est).__name__, "member": member})
    payload_name = _PAYLOADS[format]
    all_members = {payload_name: payload, **members}
    manifest = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "serialization": "skops" if format == "safe" else "pickle",
        "payload": payload_name,
        "estimator": f"{type(obj).__module__}.{type(obj).__qualname__}",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
        "metadata": meta_json,
        "keras_models": models,
        "members": {name: {"sha256": sha256(data), "size": len(data)}
                    for name, data in all_members.items()},
    }
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".skprep-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr(_MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
            for name, data in all_members.items():
                zf.writestr(name, data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _open_zip(path: str) -> zipfile.ZipFile:
    if not os.path.isfile(path):
        raise BundleError(f"Bundle file {path!r} does not exist.")
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise BundleIntegrityError(
            f"{path!r} is not a skprep bundle, or it is truncated (not a readable zip file: "
            f"{exc}). Save it again with skprep.save."
        ) from exc


def _read_manifest(zf: zipfile.ZipFile, path: str) -> dict:
    try:
        raw = zf.read(_MANIFEST)
    except KeyError:
        raise BundleError(
            f"{path!r} is a zip file without {_MANIFEST}: not a skprep bundle."
        ) from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleIntegrityError(
            f"The member {_MANIFEST!r} of {path!r} is damaged: {exc}."
        ) from exc
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise BundleIntegrityError(f"{_MANIFEST} of {path!r} is not valid JSON: {exc}.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path!r} is not a skprep bundle (format {manifest.get('format')!r}).")
    if manifest.get("format_version", 0) > BUNDLE_VERSION:
        raise BundleError(
            f"{path!r} has bundle format version {manifest.get('format_version')}; this skprep "
            f"reads up to version {BUNDLE_VERSION}. Upgrade skprep."
        )
    return manifest


def read_manifest(path: str | os.PathLike) -> dict:
    """Read a bundle's manifest without loading anything else.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    dict
        ``format``, ``format_version``, ``created``, ``versions``, ``metadata``,
        ``keras_models``, ``members`` (name -> sha256 and size), ...
    """
    path = os.fspath(path)
    with _open_zip(path) as zf:
        return _read_manifest(zf, path)


def _read_members(zf: zipfile.ZipFile, manifest: dict, path: str) -> dict[str, bytes]:
    data: dict[str, bytes] = {}
    members = manifest.get("members", {})
    if manifest.get("payload") not in members:
        raise BundleIntegrityError(f"The manifest of {path!r} lists no payload member.")
    for name, info in members.items():
        try:
            content = zf.read(name)
        except KeyError:
            raise BundleIntegrityError(
                f"Bundle member {name!r} is missing from {path!r}: the file is incomplete."
            ) from None
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise BundleIntegrityError(
                f"Bundle member {name!r} of {path!r} is damaged or truncated ({exc})."
            ) from exc
        if len(content) != info.get("size") or sha256(content) != info.get("sha256"):
            raise BundleIntegrityError(
                f"Bundle member {name!r} of {path!r} was altered: expected sha256 "
                f"{info.get('sha256')} ({info.get('size')} bytes), found {sha256(content)} "
                f"({len(content)} bytes). Do not use this file; save the pipeline again."
            )
        data[name] = content
    return data


def _check_versions(manifest: dict, path: str, strict: bool) -> None:
    saved = manifest.get("versions", {})
    now = _versions()
    skew = [f"{name} {saved.get(name)} (now {now.get(name)})" for name in _CHECKED_VERSIONS
            if saved.get(name) != now.get(name)]
    if not skew:
        return
    text = (f"{path!r} was saved with other versions: {', '.join(skew)}. Predictions may "
            "differ; check them, or save the bundle again with the current versions.")
    if strict:
        raise BundleError(text + " (strict=True refuses it.)")
    warnings.warn(text, BundleVersionWarning, stacklevel=3)


def _is_trusted_type(name: str) -> bool:
    """A class (not a function) defined in scikit-learn, numpy or skprep."""
    if name.split(".", 1)[0] not in _TRUSTED_PACKAGES:
        return False
    module_name, _, attr = name.rpartition(".")
    while module_name:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            module_name, _, head = module_name.rpartition(".")
            attr = f"{head}.{attr}"
            continue
        obj: Any = module
        for part in attr.split("."):
            obj = getattr(obj, part, None)
        return isinstance(obj, type)
    return False


def _looks_like_zip(path: str) -> bool:
    """A zip by its first bytes (a truncated bundle is still a zip, just a broken one)."""
    with open(path, "rb") as fh:
        return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def load(path: str | os.PathLike, *, allow_pickle: bool = False,
         trusted: Sequence[str] | None = None, strict: bool = False) -> Any:
    """Load a bundle written by :func:`save`, checking it first.

    Parameters
    ----------
    path : str or path-like
        Bundle file.
    allow_pickle : bool, default=False
        Also load pickle content: a ``format="pickle"`` bundle, or a plain joblib /
        pickle file. Pickle runs code while loading: only for files you trust.
    trusted : list of str, default=None
        Extra type names to trust in a safe bundle (e.g. ``"mypkg.MyTransformer"``),
        besides scikit-learn's, numpy's and skprep's own classes.
    strict : bool, default=False
        Raise instead of warning when the bundle was written with other versions of
        skprep, scikit-learn, Keras or numpy.

    Returns
    -------
    estimator

    Raises
    ------
    BundleIntegrityError
        A member is missing, truncated or altered (the message names it).
    BundleError
        Pickle content without ``allow_pickle=True``; untrusted types (the message
        lists them); version skew with ``strict=True``.
    UnsafeModelError
        A Keras model holds code that ``safe_mode=True`` refuses (a Lambda layer).

    Warns
    -----
    BundleVersionWarning
        On version skew (without ``strict``).
    """
    path = os.fspath(path)
    if os.path.isfile(path) and not _looks_like_zip(path):
        if not allow_pickle:
            raise PickleRefusedError(
                f"{path!r} is not a skprep bundle; it looks like a plain pickle/joblib file, "
                "which runs arbitrary code when loaded. Refused. If you trust where it came "
                "from, pass allow_pickle=True (or use joblib.load); otherwise ask for a "
                "bundle written by skprep.save."
            )
        import joblib

        return joblib.load(path)
    with _open_zip(path) as zf:
        manifest = _read_manifest(zf, path)
        serialization = manifest.get("serialization")
        if serialization == "pickle" and not allow_pickle:
            raise PickleRefusedError(
                f"{path!r} holds a pickle payload (saved with format='pickle'), which runs "
                "arbitrary code when loaded. Refused. Pass allow_pickle=True only if you "
                "trust where it came from, or save it with format='safe'."
            )
        data = _read_members(zf, manifest, path)
    _check_versions(manifest, path, strict)
    payload = data[manifest["payload"]]
    models: dict[str, Any] = {}

    def reader(member: str) -> tuple[bytes, Any]:
        if member not in data or not member.startswith("models/"):
            raise BundleIntegrityError(f"The estimator refers to a missing member {member!r}.")
        if member not in models:
            models[member] = model_from_bytes(
                data[member], safe_mode=True, what=f"Bundle member {member!r}"
            )
        return data[member], models[member]

    token = BUNDLE_READER.set(reader)
    try:
        if serialization == "pickle":
            import joblib

            return joblib.load(io.BytesIO(payload))
        sio = _import_skops()
        untrusted = sio.get_untrusted_types(data=payload)
        extra = set(trusted or ())
        refused = [name for name in untrusted if name not in extra and not _is_trusted_type(name)]
        if refused:
            raise BundleError(
                f"{path!r} contains types that are not trusted: {refused}. skprep trusts "
                "scikit-learn's, numpy's and skprep's own classes. If you trust these too, "
                f"pass trusted={refused!r} to skprep.load."
            )
        return sio.loads(payload, trusted=list(untrusted))
    finally:
        BUNDLE_READER.reset(token)
