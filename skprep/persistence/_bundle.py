"""Writing and reading bundle files (see the package docstring for the format)."""

from __future__ import annotations

import datetime as _dt
import importlib
import importlib.metadata
import io
import json
import os
import platform
import secrets
import warnings
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

from .._keras import BUNDLE_READER, BUNDLE_WRITER, model_from_bytes, sha256
from .._optional import import_optional
from ..exceptions import (
    BundleError,
    BundleIntegrityError,
    BundleUnsafeModelError,
    BundleVersionWarning,
    InvalidArgumentError,
    PickleRefusedError,
    SkprepError,
    UnsafeModelError,
)
from ._signing import KeyLike, sign_bundle, signature_path, verify_signature
from ._skops_reader import read_skops, schema_type_names
from ._trust import UNSAFE_TYPES, refuse_untrusted
from ._walk import find_keras_extractors
from ._zipread import (
    MANIFEST,
    check_inner_archive,
    check_members,
    default_max_bytes,
    open_bundle_zip,
    read_manifest_member,
    read_member,
)

__all__ = ["save", "load", "read_manifest", "BUNDLE_FORMAT", "BUNDLE_VERSION"]

BUNDLE_FORMAT = "skprep-bundle"
BUNDLE_VERSION = 1
_PAYLOADS = {"safe": "estimator.skops", "pickle": "estimator.joblib"}
_SERIALIZATIONS = {"skops": _PAYLOADS["safe"], "pickle": _PAYLOADS["pickle"]}
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


# ---------------------------------------------------------------- writing


def _metadata_json(metadata: dict | None) -> dict:
    try:
        return json.loads(json.dumps(metadata if metadata is not None else {}))
    except (TypeError, ValueError) as exc:
        raise BundleError(
            f"metadata must be JSON-serializable (str, numbers, lists, dicts); {exc}. "
            "Convert the values to plain Python types."
        ) from exc


def _dump_payload(obj: Any, format: str) -> bytes:
    if format == "safe":
        sio = _import_skops()
        try:
            return sio.dumps(obj)
        except SkprepError:  # a Keras model refused while it is written, for example
            raise
        except Exception as exc:  # noqa: BLE001 - whatever skops raises on what it cannot write
            raise BundleError(
                f"skops cannot write this {type(obj).__name__} ({type(exc).__name__}: "
                f"{exc}). A safe bundle holds only what skops can persist; if every reader "
                'of the file trusts you, save it with format="pickle".'
            ) from exc
    import joblib

    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    return buffer.getvalue()


def _serialize(obj: Any, format: str) -> tuple[dict[str, bytes], dict[str, str]]:
    """The members (payload first, then each distinct Keras model once) and the model
    members by sha256."""
    models: dict[str, bytes] = {}
    by_hash: dict[str, str] = {}

    def writer(data: bytes) -> str:
        digest = sha256(data)
        if digest not in by_hash:
            by_hash[digest] = f"models/{len(by_hash)}.keras"
            models[by_hash[digest]] = data
        return by_hash[digest]

    token = BUNDLE_WRITER.set(writer)
    try:
        payload = _dump_payload(obj, format)
    finally:
        BUNDLE_WRITER.reset(token)
    return {_PAYLOADS[format]: payload, **models}, by_hash


def _model_entries(obj: Any, by_hash: dict[str, str]) -> list[dict]:
    return [
        {"path": est_path, "class": type(est).__name__,
         "member": by_hash.get(est.model_blob().sha256)}
        for est_path, est in find_keras_extractors(obj)
        if hasattr(est, "n_features_out_")
    ]


def _manifest(obj: Any, format: str, metadata: dict, members: dict[str, bytes],
              models: list[dict]) -> dict:
    return {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "serialization": "skops" if format == "safe" else "pickle",
        "payload": _PAYLOADS[format],
        "estimator": f"{type(obj).__module__}.{type(obj).__qualname__}",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
        "metadata": metadata,
        "keras_models": models,
        "members": {name: {"sha256": sha256(data), "size": len(data)}
                    for name, data in members.items()},
    }


def _new_file(folder: str, stem: str) -> tuple[int, str]:
    """Create a fresh hidden file in ``folder`` with the user's umask (like ``open``)."""
    tmp = os.path.join(folder, f".{stem}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    return os.open(tmp, flags, 0o666), tmp


def _write_bundle(path: str, manifest: dict, members: dict[str, bytes],
                  sign_with: KeyLike | None) -> None:
    """Write the zip (and its signature) next to ``path``, then move them in place."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = _new_file(folder, os.path.basename(path))
    tmp_sig = tmp + ".sig"
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
            for name, data in members.items():
                zf.writestr(name, data)
        if sign_with is not None:
            sign_bundle(tmp, sign_with, tmp_sig)
            os.replace(tmp_sig, signature_path(path))
        elif os.path.isfile(signature_path(path)):
            os.unlink(signature_path(path))  # it signed the file this one replaces
        os.replace(tmp, path)
    except BaseException:
        for leftover in (tmp, tmp_sig):
            if os.path.exists(leftover):
                os.unlink(leftover)
        raise


def save(obj: Any, path: str | os.PathLike, *, metadata: dict | None = None,
         format: str = "safe", sign_with: KeyLike | None = None) -> str:
    """Save a fitted estimator or pipeline as a bundle file.

    Parameters
    ----------
    obj : estimator
        Usually a fitted :class:`~sklearn.pipeline.Pipeline`.
    path : str or path-like
        File to write (replaced atomically if it exists), with the permissions your
        umask gives new files (like ``joblib.dump`` and ``keras.Model.save``).
    metadata : dict, default=None
        Your own JSON-serializable information, stored in the manifest.
    format : {"safe", "pickle"}, default="safe"
        ``"safe"`` writes the estimator with ``skops.io`` (loadable without running
        code); ``"pickle"`` with joblib (needs ``allow_pickle=True`` to load).
    sign_with : bytes, str or path-like, default=None
        An elliptic-curve private key (PEM text, or the path of its PEM file): also
        write the signature ``path + ".sig"`` in OpenSSF model-signing's format, which
        ``skprep.load(path, verify_with=public_key)`` and ``model_signing verify key``
        check. Needs ``pip install "skprep[sign]"``. Without it, a signature left by
        an earlier save of ``path`` is removed (it no longer matches).

    Returns
    -------
    str
        The path written.

    Raises
    ------
    BundleSignatureError
        ``sign_with`` is not a readable, unencrypted PEM elliptic-curve private key
        (nothing is written).

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
    meta_json = _metadata_json(metadata)
    members, by_hash = _serialize(obj, format)
    manifest = _manifest(obj, format, meta_json, members, _model_entries(obj, by_hash))
    path = os.fspath(path)
    _write_bundle(path, manifest, members, sign_with)
    return path


# ---------------------------------------------------------------- reading


def _open_zip(path: str) -> zipfile.ZipFile:
    if not os.path.isfile(path):
        raise BundleError(f"Bundle file {path!r} does not exist.")
    return open_bundle_zip(path, repr(path))


def _check_manifest(manifest: Any, what: str) -> dict:
    """The manifest's format fields, checked (members are checked with the zip)."""
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise BundleError(f"{what} is not a skprep bundle (format {found!r}).")
    version = manifest.get("format_version")
    if type(version) is not int or version < 1:
        raise BundleIntegrityError(
            f"The manifest of {what} has no valid format_version (found {version!r})."
        )
    if version > BUNDLE_VERSION:
        raise BundleError(
            f"{what} has bundle format version {version}; this skprep reads up to version "
            f"{BUNDLE_VERSION}. Upgrade skprep."
        )
    serialization = manifest.get("serialization")
    if not isinstance(serialization, str) or serialization not in _SERIALIZATIONS or (
        manifest.get("payload") != _SERIALIZATIONS[serialization]
    ):
        raise BundleIntegrityError(
            f"The manifest of {what} names no known payload (serialization "
            f"{serialization!r}, payload {manifest.get('payload')!r}); expected one of "
            f"{sorted(_SERIALIZATIONS.items())}."
        )
    if not isinstance(manifest.get("versions", {}), dict):
        raise BundleIntegrityError(f"The manifest of {what} has a malformed 'versions' entry.")
    return manifest


def _read_manifest(zf: zipfile.ZipFile, what: str) -> dict:
    return _check_manifest(read_manifest_member(zf, what), what)


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
        return _read_manifest(zf, repr(path))


def _read_bundle(path: str, allow_pickle: bool, max_bytes: int) -> tuple[dict, dict[str, bytes]]:
    """The manifest and every member, checked against the headers, the cap and sha256."""
    what = repr(path)
    with _open_zip(path) as zf:
        manifest = _read_manifest(zf, what)
        if manifest["serialization"] == "pickle" and not allow_pickle:
            raise PickleRefusedError(
                f"{what} holds a pickle payload (saved with format='pickle'), which runs "
                "arbitrary code when loaded. Refused. Pass allow_pickle=True only if you "
                "trust where it came from, or save it with format='safe'."
            )
        check_members(zf, manifest, what, max_bytes)
        data = {name: read_member(zf, name, entry, what)
                for name, entry in manifest["members"].items()}
    return manifest, data


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


def _looks_like_zip(path: str) -> bool:
    """A zip by its first bytes (a truncated bundle is still a zip, just a broken one)."""
    with open(path, "rb") as fh:
        return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def _load_keras_member(blob: bytes, member: str, what: str, max_bytes: int) -> Any:
    label = f"Bundle member {member!r} of {what}"
    check_inner_archive(blob, member, what, max_bytes)
    try:
        return model_from_bytes(blob, safe_mode=True, what=label)
    except UnsafeModelError as exc:
        raise BundleUnsafeModelError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - whatever Keras makes of a bad archive
        raise BundleIntegrityError(
            f"{label} is not a Keras model that Keras can read ({type(exc).__name__}: {exc})."
        ) from exc


def _member_reader(data: dict[str, bytes], what: str,
                   max_bytes: int) -> Callable[[str], tuple[bytes, Any]]:
    """What the estimator's Keras-model references call to get their model, once each."""
    models: dict[str, Any] = {}

    def reader(member: str) -> tuple[bytes, Any]:
        if member not in data or not member.startswith("models/"):
            raise BundleIntegrityError(
                f"The estimator in {what} refers to a missing member {member!r}."
            )
        if member not in models:
            models[member] = _load_keras_member(data[member], member, what, max_bytes)
        return data[member], models[member]

    return reader


def _untrusted_types(sio: Any, payload: bytes, name: str, what: str,
                     trusted: Sequence[str] | None) -> list[str]:
    """Every type the skops payload names (refusing the ones skprep does not trust)."""
    try:
        untrusted = [str(t) for t in sio.get_untrusted_types(data=payload)]
    except Exception as exc:  # noqa: BLE001 - a malformed payload, whatever skops raises
        raise BundleIntegrityError(
            f"Bundle member {name!r} of {what} is not a readable skops file "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    # skops before 0.16 trusted the tree node storage by default: refused here anyway
    names = set(untrusted) | (schema_type_names(payload) & UNSAFE_TYPES.keys())
    refuse_untrusted(sorted(names), trusted, what)
    return sorted(names)


def _load_payload(manifest: dict, data: dict[str, bytes], what: str,
                  trusted: Sequence[str] | None, max_bytes: int) -> Any:
    name = manifest["payload"]
    payload = data[name]
    if manifest["serialization"] == "pickle":
        import joblib

        return joblib.load(io.BytesIO(payload))
    check_inner_archive(payload, name, what, max_bytes)
    construct = read_skops(payload)  # the common case, without importing skops.io
    if construct is not None:
        return construct()
    sio = _import_skops()
    untrusted = _untrusted_types(sio, payload, name, what, trusted)
    return sio.loads(payload, trusted=untrusted)


def _rebuild(manifest: dict, data: dict[str, bytes], what: str,
             trusted: Sequence[str] | None, max_bytes: int) -> Any:
    """Rebuild the estimator, its Keras models read from the members (safe mode)."""
    token = BUNDLE_READER.set(_member_reader(data, what, max_bytes))
    try:
        return _load_payload(manifest, data, what, trusted, max_bytes)
    except BundleError:
        raise
    except Exception as exc:  # noqa: BLE001 - a payload that passed its checks yet fails
        raise BundleError(
            f"The estimator in {what} could not be rebuilt ({type(exc).__name__}: {exc}). "
            "The payload is malformed, or needs other versions of its libraries."
        ) from exc
    finally:
        BUNDLE_READER.reset(token)


def _load_plain_pickle(path: str, allow_pickle: bool) -> Any:
    if not allow_pickle:
        raise PickleRefusedError(
            f"{path!r} is not a skprep bundle; it looks like a plain pickle/joblib file, "
            "which runs arbitrary code when loaded. Refused. If you trust where it came "
            "from, pass allow_pickle=True (or use joblib.load); otherwise ask for a "
            "bundle written by skprep.save."
        )
    import joblib

    return joblib.load(path)


def _check_max_bytes(max_bytes: int | None, path: str) -> int:
    if max_bytes is None:
        return default_max_bytes(path)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise InvalidArgumentError(
            f"max_bytes must be a positive int or None. Received: max_bytes={max_bytes!r}."
        )
    return max_bytes


def load(path: str | os.PathLike, *, allow_pickle: bool = False,
         trusted: Sequence[str] | None = None, strict: bool = False,
         verify_with: KeyLike | None = None, max_bytes: int | None = None) -> Any:
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
        besides scikit-learn's, numpy's and skprep's own classes. Tree models also need
        their node storage named here (``"sklearn.tree._tree.Tree"``, HistGradient
        Boosting's ``"sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"``,
        nearest neighbours' ``"sklearn.neighbors._kd_tree.KDTree"`` or
        ``"sklearn.neighbors._ball_tree.BallTree"``): a crafted file can make their raw
        indices read out of bounds, so trust only files you made or whose source you
        trust. The error message lists what a bundle needs.
    strict : bool, default=False
        Raise instead of warning when the bundle was written with other versions of
        skprep, scikit-learn, Keras or numpy.
    verify_with : bytes, str or path-like, default=None
        The elliptic-curve public key (PEM text, or the path of its PEM file) that
        must have signed the bundle: its signature ``path + ".sig"`` (OpenSSF
        model-signing format, from ``save(..., sign_with=...)`` or ``model_signing
        sign key``) is verified before anything else is read. Needs
        ``pip install "skprep[sign]"``.
    max_bytes : int, default=None
        Cap on the bytes the bundle may decompress to: its members all together,
        and each archive inside (the skops payload, every Keras model). Checked
        against the zip headers before decompressing. Default: 16 times the file's
        size plus 1 MiB (skprep stores members uncompressed, so a real bundle is
        about its own size once read).

    Returns
    -------
    estimator

    Raises
    ------
    BundleIntegrityError
        A member is missing, truncated, altered, duplicated, unlisted, compressed with
        an unsupported method, or larger than its manifest or the cap says (the
        message names it); the manifest is malformed.
    BundleSignatureError
        With ``verify_with``: the signature is missing, broken, made with another key,
        or the bundle changed after signing.
    BundleUnsafeModelError
        A Keras model holds code that ``safe_mode=True`` refuses (a Lambda layer);
        also an :class:`~skprep.exceptions.UnsafeModelError`.
    BundleError
        The base of the above; alone: pickle content without ``allow_pickle=True``,
        untrusted types (the message lists them), version skew with ``strict=True``,
        a payload that cannot be rebuilt.

    Warns
    -----
    BundleVersionWarning
        On version skew (without ``strict``).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise BundleError(f"Bundle file {path!r} does not exist.")
    limit = _check_max_bytes(max_bytes, path)
    if verify_with is not None:
        verify_signature(path, verify_with)
    if not _looks_like_zip(path):
        return _load_plain_pickle(path, allow_pickle)
    manifest, data = _read_bundle(path, allow_pickle, limit)
    _check_versions(manifest, path, strict)
    return _rebuild(manifest, data, repr(path), trusted, limit)
