"""Craft bundle files byte by byte: what an attacker can write and ``zipfile`` will not.

``zipfile`` always writes honest headers and compresses for real; these helpers write
any header (sizes, method, flags, CRC) over any bytes, and build a 2 GiB deflate bomb
in a fraction of a second (a zero block compressed once, repeated).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass

MIB = 1 << 20


@dataclass
class Entry:
    """One zip member as written: ``data`` is the stored (maybe compressed) bytes."""

    name: str
    data: bytes
    size: int | None = None  # declared uncompressed size; len(data) by default
    method: int = zipfile.ZIP_STORED
    crc: int | None = None  # crc32(data) by default
    flags: int = 0


def deflate_zeros(n_mib: int) -> bytes:
    """A raw deflate stream that inflates to ``n_mib`` MiB of zeros (~1 KiB per MiB).

    After a full flush the compressor starts afresh, so one compressed MiB can be
    repeated: the stream costs what it weighs, not what it inflates to.
    """
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(bytes(MIB)) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(bytes(MIB)) + comp.flush(zlib.Z_FULL_FLUSH)
    return first + again * (n_mib - 1) + comp.flush()


def build_zip(entries: list[Entry]) -> bytes:
    """A zip file with exactly these local and central headers."""
    out, central = bytearray(), bytearray()
    for e in entries:
        name = e.name.encode()
        size = len(e.data) if e.size is None else e.size
        crc = zlib.crc32(e.data) if e.crc is None else e.crc
        fields = (e.flags, e.method, 0, 0x21, crc, len(e.data), size, len(name), 0)
        offset = len(out)
        out += struct.pack("<4sH2H2H3L2H", b"PK\x03\x04", 20, *fields) + name + e.data
        central += (struct.pack("<4s2H2H2H3L2H", b"PK\x01\x02", 20, 20, *fields)
                    + struct.pack("<3HLL", 0, 0, 0, 0, offset) + name)
    start = len(out)
    out += central
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                       len(central), start, 0)
    return bytes(out)


def read_members(raw: bytes) -> dict[str, bytes]:
    """Every member of a (valid) zip, in order, decompressed."""
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def manifest_for(manifest: dict, members: dict[str, bytes]) -> dict:
    """``manifest`` with its ``members`` table recomputed for these members."""
    fixed = dict(manifest)
    fixed["members"] = {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                        for name, data in members.items() if name != "manifest.json"}
    return fixed


def bundle_bytes(manifest: dict, entries: list[Entry]) -> bytes:
    """A bundle: ``manifest.json`` (stored) first, then the entries."""
    return build_zip([Entry("manifest.json", json.dumps(manifest).encode()), *entries])


# ---------------------------------------------------------------- tripwires

#: The file a tripwire touches; a test sets it, and checks the file never appears.
TRIPWIRE_ENV = "SKPREP_TRIPWIRE"


def tripwire(*args, **kwargs):
    """Calling this is what a malicious payload would do: leave a trace on disk."""
    with open(os.environ.get(TRIPWIRE_ENV, os.devnull), "a") as fh:
        fh.write("tripwire ran\n")


class Tripwire:
    """A class whose construction or unpickling runs :func:`tripwire`."""

    def __new__(cls, *args, **kwargs):
        tripwire()
        return super().__new__(cls)

    def __setstate__(self, state):
        tripwire()

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X
