"""Structural integrity checks of JPEG and PNG files, independent of Pillow's flags.

Pillow skips the CRCs of PNG's IDAT chunks, and pads truncated data with grey when
another library has set ``ImageFile.LOAD_TRUNCATED_IMAGES = True``. These walkers read
the file's own structure instead and raise :class:`~skprep.exceptions.ImageDecodeError`
for data that is corrupt or ends early:

- :func:`check_png` walks every chunk: valid lengths and CRCs, an IDAT, IEND at the end,
  and (``strict_zlib``) a complete zlib stream;
- :func:`check_jpeg` walks the markers to the end-of-image marker.
"""

from __future__ import annotations

import re
import struct
import zlib

from .exceptions import ImageDecodeError

__all__ = ["PNG_SIGNATURE", "check_jpeg", "check_png"]

#: the first eight bytes of every PNG file.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# in entropy-coded data, 0xFF is followed by 0x00 (stuffing), RSTn or fill 0xFF; anything
# else is the next marker
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def check_jpeg(data: bytes) -> None:
    """Walk the JPEG markers to the end-of-image (EOI): refuse data that ends first.

    Only needed when ``LOAD_TRUNCATED_IMAGES`` is set (Pillow then pads a truncated
    JPEG with grey instead of raising). Bytes after EOI (camera trailers) are ignored;
    junk between segments is skipped, as libjpeg does.
    """
    truncated = ImageDecodeError(
        "truncated JPEG: the image data ends before its end-of-image marker"
    )
    pos, end = 2, len(data)
    while True:
        pos = data.find(b"\xff", pos)  # tolerate junk between segments
        if pos < 0:
            raise truncated
        while pos + 1 < end and data[pos + 1] == 0xFF:  # fill bytes
            pos += 1
        if pos + 1 >= end:
            raise truncated
        marker = data[pos + 1]
        if marker == 0xD9:
            return
        if 0xD0 <= marker <= 0xD7 or marker in (0x01, 0x00):
            pos += 2
            continue
        if pos + 4 > end:
            raise truncated
        seg_end = pos + 2 + ((data[pos + 2] << 8) | data[pos + 3])
        if seg_end > end:
            raise truncated
        if marker == 0xDA:  # start of scan: skip the entropy-coded data
            found = _JPEG_NEXT_MARKER.search(data, seg_end)
            if found is None:
                raise truncated
            pos = found.start()
        else:
            pos = seg_end


def check_png(data: bytes, strict_zlib: bool) -> None:
    """Walk every chunk: valid lengths and CRCs, IDAT present, IEND at the end."""
    pos = len(PNG_SIGNATURE)
    end = len(data)
    seen_idat = False
    inflater = zlib.decompressobj() if strict_zlib else None
    while True:
        if pos + 8 > end:
            raise ImageDecodeError("truncated PNG: the file ends before its IEND chunk")
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body_end = pos + 8 + length
        if length > 0x7FFFFFFF or body_end + 4 > end:
            raise ImageDecodeError(
                f"truncated PNG: chunk {ctype!r} at byte {pos} runs past the end of the file"
            )
        crc = struct.unpack(">I", data[body_end:body_end + 4])[0]
        if zlib.crc32(data[pos + 4:body_end]) != crc:
            raise ImageDecodeError(
                f"corrupt PNG: chunk {ctype.decode('latin-1')!r} at byte {pos} fails its "
                "CRC check"
            )
        if ctype == b"IDAT":
            seen_idat = True
            if inflater is not None and not inflater.eof:
                _inflate_count(inflater, data[pos + 8:body_end])
        if ctype == b"IEND":
            break
        pos = body_end + 4
    if not seen_idat:
        raise ImageDecodeError("corrupt PNG: no image data (IDAT) chunk")
    if inflater is not None and not inflater.eof:
        raise ImageDecodeError("truncated PNG: the compressed image data is incomplete")


def _inflate_count(inflater, chunk: bytes) -> None:
    """Feed ``chunk`` to a zlib stream in bounded steps (only completeness matters)."""
    try:
        out = inflater.decompress(chunk, 1 << 20)
        while out and inflater.unconsumed_tail:
            out = inflater.decompress(inflater.unconsumed_tail, 1 << 20)
    except zlib.error as exc:
        raise ImageDecodeError(f"corrupt PNG: the compressed image data is invalid ({exc})") \
            from exc
