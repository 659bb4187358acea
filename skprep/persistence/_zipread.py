"""Bounded reading of bundle zip files: check every header before decompressing anything.

A bundle comes from elsewhere, so its zip structure is attacker-controlled. Everything
here refuses early and reads little:

* the zip headers are compared with the manifest (names, sizes, compression method)
  before a single member is decompressed, and the sizes the manifest declares must fit
  under a cap (``max_bytes``);
* members are read in chunks, never past the size the manifest declares, and hashed
  while they stream;
* the Keras archives inside a bundle (``.keras`` files are zips too) get the same header
  check before Keras opens them;
* any failure of the zip machinery on a malformed file becomes a
  :class:`~skprep.exceptions.BundleIntegrityError` naming the file and the member.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import zipfile
import zlib
from typing import IO, Any

from ..exceptions import BundleError, BundleIntegrityError

__all__ = ["open_bundle_zip", "read_manifest_member", "check_members", "read_member",
           "check_inner_archive", "default_max_bytes", "MANIFEST"]

MANIFEST = "manifest.json"
_CHUNK = 1 << 20
_MANIFEST_MAX_BYTES = 16 << 20
_DEFAULT_SLACK_BYTES = 1 << 20
_DEFAULT_RATIO = 16
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}

#: What the zip machinery raises on a malformed archive (besides BadZipFile).
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error,
              struct.error, ValueError, NotImplementedError, RuntimeError, OverflowError,
              IndexError, KeyError)


def default_max_bytes(path: str) -> int:
    """The default cap on decompressed bytes: 16 times the file's size plus 1 MiB.

    skprep stores members uncompressed (and Keras its archives too), so a real bundle
    decompresses to about its own size; a far larger ratio is a zip bomb.
    """
    return _DEFAULT_RATIO * os.path.getsize(path) + _DEFAULT_SLACK_BYTES


def open_bundle_zip(source: str | IO[bytes], what: str) -> zipfile.ZipFile:
    """Open a zip archive, turning any failure to parse it into BundleIntegrityError."""
    try:
        return zipfile.ZipFile(source)
    except ZIP_ERRORS as exc:
        raise BundleIntegrityError(
            f"{what} is not a skprep bundle, or it is truncated (not a readable zip file: "
            f"{type(exc).__name__}: {exc}). Save it again with skprep.save."
        ) from exc


def _check_header(info: zipfile.ZipInfo, what: str) -> None:
    if info.flag_bits & 0x1:
        raise BundleIntegrityError(
            f"Member {info.filename!r} of {what} is encrypted; bundles never are. Refused."
        )
    if info.compress_type not in _METHODS:
        raise BundleIntegrityError(
            f"Member {info.filename!r} of {what} uses zip compression method "
            f"{info.compress_type}; bundles use only {sorted(_METHODS.values())}. Refused."
        )
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise BundleIntegrityError(
            f"Member {info.filename!r} of {what} is stored uncompressed, yet its zip header "
            f"says {info.compress_size} bytes stored for {info.file_size}. Refused."
        )


def _stream(zf: zipfile.ZipFile, info: zipfile.ZipInfo, size: int, what: str,
            hasher: Any = None) -> bytes:
    """Read at most ``size + 1`` decompressed bytes of ``info``, in chunks (each one
    also fed to ``hasher``)."""
    out = bytearray()
    try:
        with zf.open(info) as fh:
            while len(out) <= size:
                chunk = fh.read(min(_CHUNK, size + 1 - len(out)))
                if not chunk:
                    break
                if hasher is not None:
                    hasher.update(chunk)
                out += chunk
    except ZIP_ERRORS as exc:
        raise BundleIntegrityError(
            f"Bundle member {info.filename!r} of {what} is damaged or truncated "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    return bytes(out)


def read_manifest_member(zf: zipfile.ZipFile, what: str) -> dict:
    """The parsed ``manifest.json`` (read bounded; not yet checked for content)."""
    names = [info.filename for info in zf.infolist()]
    if MANIFEST not in names:
        raise BundleError(f"{what} is a zip file without {MANIFEST}: not a skprep bundle.")
    if names.count(MANIFEST) > 1:
        raise BundleIntegrityError(f"{what} holds {MANIFEST} more than once. Refused.")
    info = zf.getinfo(MANIFEST)
    _check_header(info, what)
    if info.file_size > _MANIFEST_MAX_BYTES:
        raise BundleIntegrityError(
            f"{MANIFEST} of {what} declares {info.file_size} bytes; a manifest is at most "
            f"{_MANIFEST_MAX_BYTES}. Refused before decompressing."
        )
    raw = _stream(zf, info, info.file_size, what)
    if len(raw) != info.file_size:
        raise BundleIntegrityError(
            f"{MANIFEST} of {what} is truncated: {len(raw)} of {info.file_size} bytes."
        )
    try:
        manifest = json.loads(raw)
    except ValueError as exc:  # UnicodeDecodeError included
        raise BundleIntegrityError(f"{MANIFEST} of {what} is not valid JSON: {exc}.") from exc
    except RecursionError as exc:
        raise BundleIntegrityError(f"{MANIFEST} of {what} is nested too deeply.") from exc
    return manifest


def _valid_entry(entry: object) -> bool:
    return (isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
            and type(entry.get("size")) is int and entry["size"] >= 0)


def check_members(zf: zipfile.ZipFile, manifest: dict, what: str, max_bytes: int) -> None:
    """Compare the zip's headers with the manifest and the cap, before decompressing.

    Every member the manifest lists must be in the zip once, stored or deflated,
    with the size the manifest declares; the zip holds nothing else; the declared
    sizes add up to at most ``max_bytes``.
    """
    members = manifest.get("members")
    if not isinstance(members, dict) or not all(
        isinstance(name, str) and _valid_entry(entry) for name, entry in members.items()
    ):
        raise BundleIntegrityError(
            f"The manifest of {what} does not list its members as name -> sha256 and size."
        )
    names = [info.filename for info in zf.infolist()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BundleIntegrityError(f"{what} holds the members {repeated} more than once.")
    unlisted = sorted(set(names) - set(members) - {MANIFEST})
    if unlisted:
        raise BundleIntegrityError(
            f"{what} holds members its manifest does not list: {unlisted}. Refused."
        )
    for name, entry in members.items():
        if name not in names:
            raise BundleIntegrityError(
                f"Bundle member {name!r} is missing from {what}: the file is incomplete."
            )
        info = zf.getinfo(name)
        _check_header(info, what)
        if info.file_size != entry["size"]:
            raise BundleIntegrityError(
                f"Bundle member {name!r} of {what} was altered: its zip header says "
                f"{info.file_size} bytes, the manifest {entry['size']}. Refused before "
                "decompressing."
            )
    total = sum(entry["size"] for entry in members.values())
    if total > max_bytes:
        raise BundleIntegrityError(
            f"The members of {what} declare {total} bytes in all, over the cap of "
            f"{max_bytes} (max_bytes). Refused before decompressing; pass a larger "
            "max_bytes to skprep.load only if you trust the file."
        )


def read_member(zf: zipfile.ZipFile, name: str, entry: dict, what: str) -> bytes:
    """Stream one member (checked by :func:`check_members`), hashing it as it comes."""
    hasher = hashlib.sha256()
    data = _stream(zf, zf.getinfo(name), entry["size"], what, hasher)
    digest = hasher.hexdigest()
    if len(data) != entry["size"] or digest != entry["sha256"]:
        raise BundleIntegrityError(
            f"Bundle member {name!r} of {what} was altered: expected sha256 "
            f"{entry['sha256']} ({entry['size']} bytes), found {digest} ({len(data)} bytes). "
            "Do not use this file; save the pipeline again."
        )
    return data


def _data_of(raw: bytes, info: zipfile.ZipInfo) -> memoryview:
    """The stored bytes of ``info`` in the archive ``raw``, found as ``zipfile`` finds them."""
    start = info.header_offset
    header = raw[start:start + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local header for {info.filename!r}")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    begin = start + 30 + name_len + extra_len
    if begin + info.compress_size > len(raw):
        raise zipfile.BadZipFile(f"{info.filename!r} runs past the end of the archive")
    return memoryview(raw)[begin:begin + info.compress_size]


def _check_inflates_to_declared(raw: bytes, info: zipfile.ZipInfo, label: str) -> None:
    """Inflate in bounded steps, output discarded: exactly ``file_size`` bytes, then the end.

    ``zipfile``'s ``read()`` decompresses a member whole before it cuts it to the size
    its header declares, so a header that understates the size is a bomb for skops
    and Keras; this checks what the stream really holds, holding at most one chunk.
    """
    data = _data_of(raw, info)
    if info.compress_type == zipfile.ZIP_STORED:
        produced, finished = len(data), True
    else:
        inflater = zlib.decompressobj(-15)
        produced, pending = 0, bytes(data)
        while pending and not inflater.eof and produced <= info.file_size:
            produced += len(inflater.decompress(pending, _CHUNK))
            pending = inflater.unconsumed_tail
        finished = inflater.eof
    if produced != info.file_size or not finished:
        raise BundleIntegrityError(
            f"Member {info.filename!r} of {label} declares {info.file_size} bytes but its "
            f"data {'holds more' if produced > info.file_size else 'is incomplete'}. Refused "
            "before anyone reads it."
        )


def check_inner_archive(data: bytes, name: str, what: str, max_bytes: int) -> None:
    """Check an archive inside a bundle before skops or Keras decompresses it.

    The skops payload and each ``.keras`` model are zip files too. Their members must
    be stored or deflated, unencrypted, unique, add up to at most ``max_bytes``, and
    inflate to exactly the size their headers declare (checked in bounded steps).
    """
    label = f"the archive {name!r} inside {what}"
    with open_bundle_zip(io.BytesIO(data), label) as zf:
        infos = zf.infolist()
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise BundleIntegrityError(f"In {label}, a member name appears more than once.")
    for info in infos:
        _check_header(info, label)
    total = sum(info.file_size for info in infos)
    if total > max_bytes:
        raise BundleIntegrityError(
            f"Bundle member {name!r} of {what} declares {total} bytes once decompressed, "
            f"over the cap of {max_bytes} (max_bytes). Refused before reading it."
        )
    for info in infos:
        try:
            _check_inflates_to_declared(data, info, label)
        except (zipfile.BadZipFile, zlib.error) as exc:
            raise BundleIntegrityError(
                f"Member {info.filename!r} of {label} is damaged ({type(exc).__name__}: {exc})."
            ) from exc
