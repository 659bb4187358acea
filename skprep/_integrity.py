"""Structural integrity checks, independent of Pillow's global flags.

Pillow skips the CRCs of PNG's IDAT chunks, and when another library has set
``ImageFile.LOAD_TRUNCATED_IMAGES = True`` it ignores decoder errors, pads truncated data
with grey and skips several PNG chunk checks. This module reads the file's own structure
instead and raises :class:`~skprep.exceptions.ImageDecodeError` for data that is corrupt
or ends early, whatever the flag says:

- :func:`load_strict` runs Pillow's tile loader with the flag read as False, so decoder
  errors (buffer overruns, broken data streams) and data that ends early raise for every
  format that uses it (SGI, FLI, JPEG 2000, FITS, BMP, TGA, PCX, TIFF, ...);
- :func:`check_png` walks every chunk: valid names, lengths and CRCs, an IDAT, IEND at the
  end, the chunk sizes and text-decompression limit Pillow checks, and a complete zlib
  stream holding every row the header declares;
- :func:`check_jpeg` walks the markers to the end-of-image marker;
- :func:`check_ico` checks that every ICO / CUR entry lies inside the file.
"""

from __future__ import annotations

import re
import struct
import zlib

from PIL import Image, ImageFile, Jpeg2KImagePlugin, TiffImagePlugin

from ._compat import strict_tile_loader
from .exceptions import ImageDecodeError

__all__ = ["PNG_SIGNATURE", "check_ico", "check_jpeg", "check_png", "check_png_rows",
           "load_strict"]

#: the first eight bytes of every PNG file.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# in entropy-coded data, 0xFF is followed by 0x00 (stuffing), RSTn or fill 0xFF; anything
# else is the next marker
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def load_strict(img: Image.Image) -> bool:
    """Decode ``img`` as Pillow does with ``LOAD_TRUNCATED_IMAGES`` False.

    Returns True when the flag was kept out. Images whose class has its own ``load``
    (ICO, ICNS, GBR, FPX, IPTC, WMF, WebP, AVIF) are loaded by it and False is returned:
    WebP, AVIF and libtiff decode whole frames in their own libraries (the flag is not
    read), the others are left to the caller's checks (:func:`check_ico` for ICO).
    JPEG 2000's ``load`` only adds ``reduce``, which skprep never sets; TIFF's only
    routes compressed files to libtiff.
    """
    if isinstance(img, TiffImagePlugin.TiffImageFile) and img.use_load_libtiff:
        img.load()
        return True
    if (type(img).load is ImageFile.ImageFile.load
            or isinstance(img, (Jpeg2KImagePlugin.Jpeg2KImageFile,
                                TiffImagePlugin.TiffImageFile))):
        strict_tile_loader()(img)
        return True
    img.load()
    return False


def check_ico(data: bytes) -> None:
    """Every image an ICO / CUR directory lists must lie inside the file.

    ICO's loader is its own (not Pillow's tile loader), and with ``LOAD_TRUNCATED_IMAGES``
    set it decodes a cut-off PNG or BMP entry as a partly grey icon.
    """
    count = struct.unpack("<H", data[4:6])[0] if len(data) >= 6 else 0
    if len(data) < 6 + 16 * count:
        raise ImageDecodeError("truncated ICO: the file ends inside its directory")
    for i in range(count):
        size, offset = struct.unpack("<II", data[14 + 16 * i:22 + 16 * i])
        if offset + size > len(data):
            raise ImageDecodeError(
                f"truncated ICO: image {i} ({size:,} bytes at byte {offset:,}) runs past "
                f"the end of the file ({len(data):,} bytes)"
            )


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


# the minimum lengths Pillow's PNG chunk readers demand (they skip this check, and so load
# a damaged file, when LOAD_TRUNCATED_IMAGES is set)
_PNG_MIN_LENGTH = {b"IHDR": 13, b"gAMA": 4, b"cHRM": 32, b"sRGB": 1, b"pHYs": 9,
                   b"acTL": 8, b"fcTL": 26, b"fdAT": 4}
# channels per PNG colour type (0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA)
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7 passes: (x0, y0, dx, dy)
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))


def check_png(data: bytes) -> None:
    """Walk every chunk before decoding; refuse a PNG that is corrupt or truncated."""
    pos = len(PNG_SIGNATURE)
    header: tuple[int, ...] | None = None
    seen_idat = False
    while True:
        ctype, body, pos = _png_chunk(data, pos)
        _check_png_chunk(ctype, body, header)
        if ctype == b"IHDR":
            header = struct.unpack(">IIBBBBB", body[:13])
        seen_idat = seen_idat or ctype == b"IDAT"
        if ctype == b"IEND":
            break
    if not seen_idat or header is None:
        raise ImageDecodeError("corrupt PNG: no image header (IHDR) or data (IDAT) chunk")


def check_png_rows(data: bytes, img: Image.Image) -> None:
    """After decoding: refuse a PNG whose image data ends before its last rows.

    Pillow stops at the end of the zlib stream and leaves the rows it did not get black.
    Only when one of the last two decoded rows is all zero bytes (the last row of a
    non-interlaced image, or the last odd row, written by Adam7's last pass, of an
    interlaced one) is the stream inflated again and its length compared with the
    header's; other images cost nothing. Checks the first frame (the IDAT image) only.
    """
    width, height = img.size
    if img.tell() != 0 or height == 0:
        return
    top = max(0, height - 2)
    tail = img.crop((0, top, width, height)).tobytes()
    row = len(tail) // (height - top)
    if all(tail[i:i + row].strip(b"\0") for i in range(0, len(tail), row)):
        return
    inflater = zlib.decompressobj()
    inflated = 0
    pos = len(PNG_SIGNATURE)
    header: tuple[int, ...] = ()
    while not inflater.eof:
        ctype, body, pos = _png_chunk(data, pos)
        if ctype == b"IHDR":
            header = struct.unpack(">IIBBBBB", body[:13])
        elif ctype == b"IDAT":
            inflated += _inflate_count(inflater, body)
        elif ctype == b"IEND":
            break
    expected = _png_data_bytes(*header)
    if inflated < expected:
        raise ImageDecodeError(
            f"truncated PNG: the image data holds {inflated:,} of the {expected:,} bytes "
            f"its {header[0]}x{header[1]} header declares (rows are missing)"
        )


def _png_chunk(data: bytes, pos: int) -> tuple[bytes, bytes, int]:
    """The chunk at ``pos`` (type, body, position of the next chunk), its CRC checked."""
    if pos + 8 > len(data):
        raise ImageDecodeError("truncated PNG: the file ends before its IEND chunk")
    length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
    body_end = pos + 8 + length
    if length > 0x7FFFFFFF or body_end + 4 > len(data):
        raise ImageDecodeError(
            f"truncated PNG: chunk {ctype!r} at byte {pos} runs past the end of the file"
        )
    if not ctype.isalpha() or not ctype.isascii():
        raise ImageDecodeError(f"corrupt PNG: invalid chunk name {ctype!r} at byte {pos}")
    crc = struct.unpack(">I", data[body_end:body_end + 4])[0]
    if zlib.crc32(data[pos + 4:body_end]) != crc:
        raise ImageDecodeError(
            f"corrupt PNG: chunk {ctype.decode('latin-1')!r} at byte {pos} fails its "
            "CRC check"
        )
    return ctype, data[pos + 8:body_end], body_end + 4


def _check_png_chunk(ctype: bytes, body: bytes, header: tuple[int, ...] | None) -> None:
    """The per-chunk checks Pillow makes only while ``LOAD_TRUNCATED_IMAGES`` is False."""
    minimum = _PNG_MIN_LENGTH.get(ctype, 0)
    if ctype == b"tRNS" and header is not None and header[3] in (0, 2):
        minimum = 6 if header[3] == 2 else 2  # grey: one 16-bit key, RGB: three
    if len(body) < minimum:
        raise ImageDecodeError(
            f"corrupt PNG: truncated {ctype.decode('latin-1')} chunk ({len(body)} bytes, "
            f"at least {minimum} expected)"
        )
    compressed = _png_compressed_text(ctype, body)
    if compressed is not None:
        from PIL import PngImagePlugin  # the limit is a documented Pillow setting

        limit = PngImagePlugin.MAX_TEXT_CHUNK
        try:
            inflater = zlib.decompressobj()
            inflater.decompress(compressed, limit)
        except zlib.error:
            return  # Pillow ignores undecodable text
        if inflater.unconsumed_tail:
            raise ImageDecodeError(
                f"corrupt PNG: a compressed {ctype.decode('latin-1')} chunk expands past "
                f"PngImagePlugin.MAX_TEXT_CHUNK ({limit:,} bytes; a decompression bomb)"
            )


def _png_compressed_text(ctype: bytes, body: bytes) -> bytes | None:
    """The zlib payload of a zTXt, compressed iTXt or iCCP chunk (as Pillow reads them)."""
    if ctype == b"zTXt":
        return body.split(b"\0", 1)[1][1:] if b"\0" in body else None
    if ctype == b"iCCP":
        i = body.find(b"\0")
        return body[i + 2:] if 0 <= i < len(body) - 1 else None
    if ctype == b"iTXt" and b"\0" in body:
        rest = body.split(b"\0", 1)[1]
        if len(rest) >= 2 and rest[0] != 0 and rest[1] == 0 and rest[2:].count(b"\0") >= 2:
            return rest[2:].split(b"\0", 2)[2]
    return None


def _png_data_bytes(width: int, height: int, depth: int, color: int, _comp: int,
                    _filter: int, interlace: int) -> int:
    """Bytes of filtered scanlines a complete image holds (filter byte per row included)."""
    bits = depth * _PNG_CHANNELS.get(color, 1)
    passes = _ADAM7 if interlace == 1 else ((0, 0, 1, 1),)
    total = 0
    for x0, y0, dx, dy in passes:
        cols = (width - x0 + dx - 1) // dx if width > x0 else 0
        rows = (height - y0 + dy - 1) // dy if height > y0 else 0
        if cols and rows:
            total += rows * (1 + (cols * bits + 7) // 8)
    return total


def _inflate_count(inflater, chunk: bytes) -> int:
    """Feed ``chunk`` to a zlib stream in bounded steps; the number of bytes it gave."""
    try:
        count = len(inflater.decompress(chunk, 1 << 20))
        while inflater.unconsumed_tail:
            count += len(inflater.decompress(inflater.unconsumed_tail, 1 << 20))
    except zlib.error as exc:
        raise ImageDecodeError(f"corrupt PNG: the compressed image data is invalid ({exc})") \
            from exc
    return count
