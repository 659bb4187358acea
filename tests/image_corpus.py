"""A hostile and awkward image corpus, generated on the fly (issue 6, item 1).

``build_corpus(root)`` writes every case of the input contract under ``root`` and
returns ``{name: Case}``. A case either has ``error`` (the ImageLoadError subclass the
loader must raise) or ``expected`` (the exact pixels, ``uint8 (H, W, C)``, that
``ImageLoader(target_size=None, **params)`` must return, within ``atol`` (max abs
difference) or ``mean_tol`` (mean abs difference, for lossy formats)).

Tests import it as ``from image_corpus import ...`` (tests/ is on sys.path under
pytest's default rootdir-based import mode; there is no tests/__init__.py).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from skprep.exceptions import ImageDecodeError, ImageNotFoundError, ImageTooLargeError

__all__ = ["Case", "CASE_NAMES", "build_corpus", "pattern", "png_bytes", "png_chunk",
           "seed_files", "jpeg_with_orientation", "ORIENTATION_INVERSE"]

PILLOW_MAX_PIXELS = 89_478_485


@dataclass
class Case:
    """One corpus entry: a path plus either the error or the expected pixels."""

    path: str
    error: type | None = None
    expected: np.ndarray | None = None
    atol: float = 0.0
    mean_tol: float | None = None
    params: dict = field(default_factory=dict)

    def check(self, out: np.ndarray) -> None:
        """Assert that ``out`` (one image, uint8 or float) matches ``expected``."""
        assert out.shape == self.expected.shape, (out.shape, self.expected.shape)
        diff = np.abs(out.astype(np.float64) - self.expected.astype(np.float64))
        if self.mean_tol is not None:  # lossy formats: close on average, right layout
            assert diff.mean() <= self.mean_tol, diff.mean()
        else:
            assert diff.max() <= self.atol, diff.max()


# --------------------------------------------------------------------------- builders


def pattern(width: int, height: int, seed: int = 0) -> np.ndarray:
    """An asymmetric RGB test image (gradients + a bright corner block), uint8."""
    y, x = np.mgrid[0:height, 0:width]
    img = np.empty((height, width, 3), np.uint8)
    img[..., 0] = (x * 255) // max(1, width - 1)
    img[..., 1] = (y * 255) // max(1, height - 1)
    img[..., 2] = ((x // 4 + y // 4) % 2) * 200 + seed % 50
    img[: max(1, height // 4), : max(1, width // 3)] = (250, 250, 10)  # top-left marker
    return img


def png_chunk(ctype: bytes, data: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def png_bytes(width: int, height: int, *, bit_depth: int = 8, color_type: int = 2,
              idat: bytes | None = None) -> bytes:
    """A PNG built by hand (for depths and lies Pillow will not write)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    chunks = [png_chunk(b"IHDR", ihdr)]
    if idat is not None:
        chunks.append(png_chunk(b"IDAT", idat))
    chunks.append(png_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def _zero_stream(row_bytes: int, height: int) -> bytes:
    """A valid zlib stream of ``height`` all-zero rows, built without compressing it all.

    Compressing 1000 rows once and repeating that full-flushed block gives the same
    stream a real encoder would write, in milliseconds instead of seconds.
    """
    rows_per_block = 1000
    assert height % rows_per_block == 0
    block = bytes(row_bytes * rows_per_block)
    comp = zlib.compressobj(9)
    first = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    header, unit = first[:2], first[2:]
    adler = 1
    for _ in range(height // rows_per_block):
        adler = zlib.adler32(block, adler)
    return header + unit * (height // rows_per_block) + b"\x03\x00" + struct.pack(">I", adler)


def _encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _write(root: Path, name: str, data: bytes) -> str:
    path = root / name
    path.write_bytes(data)
    return str(path)


#: EXIF orientation -> the transpose that makes a stored image upright, and its inverse
#: (applied to an upright image to produce what a camera stores).
ORIENTATION_INVERSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def jpeg_with_orientation(upright: np.ndarray, orientation: int, **save) -> bytes:
    """What a camera writes: the pixels stored rotated, plus the EXIF tag to undo it."""
    stored = Image.fromarray(upright)
    if orientation != 1:
        stored = stored.transpose(ORIENTATION_INVERSE[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encode(stored, "JPEG", quality=save.pop("quality", 95), exif=exif, **save)


def seed_files() -> dict[str, bytes]:
    """Small valid files of every format the fuzz test mutates."""
    rgb = Image.fromarray(pattern(32, 24))
    frames = [Image.fromarray(pattern(16, 16, seed)) for seed in range(3)]
    return {
        "jpeg": _encode(rgb, "JPEG", quality=85),
        "jpeg_progressive": _encode(rgb, "JPEG", quality=85, progressive=True),
        "png": _encode(rgb, "PNG"),
        "png_palette": _encode(rgb.convert("P"), "PNG", transparency=0),
        "webp": _encode(rgb, "WEBP", quality=80),
        "gif": _encode(frames[0].convert("P"), "GIF", save_all=True,
                       append_images=[f.convert("P") for f in frames[1:]], duration=50),
        "tiff": _encode(rgb, "TIFF"),
        "tiff_lzw": _encode(rgb, "TIFF", compression="tiff_lzw"),
    }


# --------------------------------------------------------------------------- corpus

CASE_NAMES = [
    "zero_bytes", "random_bytes_jpg", "truncated_jpeg", "truncated_png", "truncated_gif",
    "png_bad_header_crc", "png_bad_data_crc", "bomb_png_30000", "bomb_png_header_only",
    "just_over_pixel_limit", "grayscale_jpeg", "cmyk_jpeg", "rgba_png",
    "palette_transparency_png", "gray16_png", "rgb16_png", "float_tiff", "float_tiff_255",
    "float_tiff_out_of_range", "onebit_png", "webp_lossless", "animated_gif",
    "animated_gif_frame2", "multipage_tiff", "multipage_tiff_last", "animated_webp_frame1",
    "apng_last", "one_by_one",
    "ten_thousand_by_ten", "missing_path", "directory", "symlink_loop",
    "unicode_name_with_spaces", "png_named_jpg",
    *[f"exif_orientation_{k}" for k in range(2, 9)],
]


def build_corpus(root: Path) -> dict[str, Case]:
    """Write every case under ``root``; return ``{name: Case}`` in ``CASE_NAMES`` order."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    photo = pattern(48, 32)
    rgb = Image.fromarray(photo)
    white = (255, 255, 255)
    cases: dict[str, Case] = {}

    # ---- not images / broken files
    cases["zero_bytes"] = Case(_write(root, "empty.jpg", b""), ImageDecodeError)
    rng = np.random.default_rng(6)
    cases["random_bytes_jpg"] = Case(
        _write(root, "random.jpg", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()),
        ImageDecodeError,
    )
    jpeg = _encode(rgb, "JPEG", quality=90)
    cases["truncated_jpeg"] = Case(
        _write(root, "truncated.jpg", jpeg[: len(jpeg) * 2 // 3]), ImageDecodeError
    )
    noisy = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    png = _encode(noisy, "PNG")
    cases["truncated_png"] = Case(
        _write(root, "truncated.png", png[: len(png) * 2 // 3]), ImageDecodeError
    )
    gif = _encode(noisy.convert("P"), "GIF")
    cases["truncated_gif"] = Case(
        _write(root, "truncated.gif", gif[: len(gif) * 2 // 3]), ImageDecodeError
    )
    small_png = bytearray(_encode(rgb, "PNG"))
    bad_header = bytearray(small_png)
    bad_header[8 + 8 + 13] ^= 0xFF  # first byte of IHDR's CRC
    cases["png_bad_header_crc"] = Case(_write(root, "bad_header_crc.png", bytes(bad_header)),
                                       ImageDecodeError)
    bad_data = bytearray(small_png)
    idat = bad_data.find(b"IDAT")
    (length,) = struct.unpack(">I", bad_data[idat - 4:idat])
    bad_data[idat + 4 + length] ^= 0xFF  # first byte of IDAT's CRC; the pixels are intact
    cases["png_bad_data_crc"] = Case(_write(root, "bad_data_crc.png", bytes(bad_data)),
                                     ImageDecodeError)

    # ---- limits
    cases["bomb_png_30000"] = Case(
        _write(root, "bomb.png", png_bytes(30000, 30000, bit_depth=1, color_type=0,
                                           idat=_zero_stream(1 + 30000 // 8, 30000))),
        ImageTooLargeError,
    )
    cases["bomb_png_header_only"] = Case(
        _write(root, "bomb_header_only.png", png_bytes(30000, 30000, bit_depth=1,
                                                       color_type=0)),
        ImageTooLargeError,
    )
    cases["just_over_pixel_limit"] = Case(  # 9460 x 9459 = 89,482,140 > 89,478,485
        _write(root, "just_over.png", png_bytes(9460, 9459, color_type=0)), ImageTooLargeError
    )

    # ---- colour modes
    gray = rgb.convert("L")
    gray_jpeg = _encode(gray, "JPEG", quality=95)
    cases["grayscale_jpeg"] = Case(
        _write(root, "gray.jpg", gray_jpeg),
        expected=np.repeat(np.asarray(Image.open(io.BytesIO(gray_jpeg)))[..., None], 3, -1),
    )
    cases["cmyk_jpeg"] = Case(  # Pillow's CMYK is 255 - RGB, K = 0: back to the photo
        _write(root, "cmyk.jpg", _encode(rgb.convert("CMYK"), "JPEG", quality=95)),
        expected=photo, mean_tol=3.0,
    )
    alpha = np.linspace(0, 255, photo.shape[1]).astype(np.uint8)[None, :].repeat(32, 0)
    rgba = np.dstack([photo, alpha])
    a = alpha[..., None].astype(np.float64) / 255.0
    cases["rgba_png"] = Case(
        _write(root, "rgba.png", _encode(Image.fromarray(rgba, "RGBA"), "PNG")),
        expected=np.rint(photo * a + np.array(white) * (1 - a)).astype(np.uint8), atol=1.0,
    )
    pal = np.zeros((8, 8), np.uint8)
    pal[2:6, 2:6] = 1
    pal_img = Image.fromarray(pal, "P")
    pal_img.putpalette([0, 0, 0, 200, 30, 40] + [0] * 762)
    expected_pal = np.empty((8, 8, 3), np.uint8)
    expected_pal[:] = white  # index 0 is transparent
    expected_pal[2:6, 2:6] = (200, 30, 40)
    cases["palette_transparency_png"] = Case(
        _write(root, "palette_transparency.png", _encode(pal_img, "PNG", transparency=0)),
        expected=expected_pal,
    )
    wide = np.array([[0, 257, 32768, 65535]], np.uint16).repeat(2, 0)
    gray16 = png_bytes(4, 2, bit_depth=16, color_type=0,
                       idat=zlib.compress(b"".join(b"\x00" + row.astype(">u2").tobytes()
                                                   for row in wide)))
    scaled = np.array([[0, 1, 128, 255]], np.uint8).repeat(2, 0)
    cases["gray16_png"] = Case(_write(root, "gray16.png", gray16),
                               expected=np.repeat(scaled[..., None], 3, -1))
    rgb16 = np.stack([wide, wide[:, ::-1], np.full_like(wide, 40000)], axis=-1)
    rgb16_png = png_bytes(4, 2, bit_depth=16, color_type=2,
                          idat=zlib.compress(b"".join(b"\x00" + row.astype(">u2").tobytes()
                                                      for row in rgb16)))
    cases["rgb16_png"] = Case(_write(root, "rgb16.png", rgb16_png),
                              expected=np.rint(rgb16 / 257.0).astype(np.uint8), atol=1.0)
    ramp = np.linspace(0, 1, 16, dtype=np.float32).reshape(2, 8)
    cases["float_tiff"] = Case(
        _write(root, "float01.tiff", _encode(Image.fromarray(ramp, "F"), "TIFF")),
        expected=np.repeat(np.rint(ramp * 255).astype(np.uint8)[..., None], 3, -1),
    )
    cases["float_tiff_255"] = Case(
        _write(root, "float255.tiff", _encode(Image.fromarray(ramp * 200 + 10.2, "F"), "TIFF")),
        expected=np.repeat(np.rint(ramp * 200 + 10.2).astype(np.uint8)[..., None], 3, -1),
    )
    from skprep.exceptions import UnsupportedImageError

    cases["float_tiff_out_of_range"] = Case(
        _write(root, "float_hdr.tiff", _encode(Image.fromarray(ramp * 1000 - 3, "F"), "TIFF")),
        UnsupportedImageError,
    )
    bits = (np.arange(24).reshape(4, 6) % 3 == 0)
    cases["onebit_png"] = Case(
        _write(root, "onebit.png", _encode(Image.fromarray(bits), "PNG")),
        expected=np.repeat((bits * 255).astype(np.uint8)[..., None], 3, -1),
    )
    cases["webp_lossless"] = Case(
        _write(root, "photo.webp", _encode(rgb, "WEBP", lossless=True)), expected=photo
    )

    # ---- frames
    frames = [np.full((6, 10, 3), colour, np.uint8)
              for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    gif_frames = [Image.fromarray(f).convert("P") for f in frames]
    anim = _write(root, "animated.gif", _encode(gif_frames[0], "GIF", save_all=True,
                                                append_images=gif_frames[1:], duration=40))
    cases["animated_gif"] = Case(anim, expected=frames[0])
    cases["animated_gif_frame2"] = Case(anim, expected=frames[2], params={"frames": 2})
    tiff = _write(root, "multipage.tiff", _encode(Image.fromarray(frames[0]), "TIFF",
                                                  save_all=True,
                                                  append_images=[Image.fromarray(f)
                                                                 for f in frames[1:]]))
    cases["multipage_tiff"] = Case(tiff, expected=frames[0])
    cases["multipage_tiff_last"] = Case(tiff, expected=frames[2], params={"frames": -1})
    pil_frames = [Image.fromarray(f) for f in frames]
    cases["animated_webp_frame1"] = Case(
        _write(root, "animated.webp", _encode(pil_frames[0], "WEBP", save_all=True,
                                              append_images=pil_frames[1:], duration=40,
                                              lossless=True)),
        expected=frames[1], params={"frames": 1},
    )
    cases["apng_last"] = Case(
        _write(root, "animated.png", _encode(pil_frames[0], "PNG", save_all=True,
                                             append_images=pil_frames[1:], duration=40)),
        expected=frames[2], params={"frames": -1},
    )

    # ---- sizes and names
    cases["one_by_one"] = Case(
        _write(root, "one.png", _encode(Image.new("RGB", (1, 1), (9, 99, 199)), "PNG")),
        expected=np.array([[[9, 99, 199]]], np.uint8),
    )
    strip = pattern(10000, 10)
    cases["ten_thousand_by_ten"] = Case(
        _write(root, "strip.png", _encode(Image.fromarray(strip), "PNG")), expected=strip
    )
    cases["missing_path"] = Case(str(root / "no such file.jpg"), ImageNotFoundError)
    (root / "a_directory.jpg").mkdir(exist_ok=True)
    cases["directory"] = Case(str(root / "a_directory.jpg"), ImageNotFoundError)
    loop = root / "loop.jpg"
    if not loop.is_symlink():
        os.symlink(loop.name, loop)  # points at itself
    cases["symlink_loop"] = Case(str(loop), ImageNotFoundError)
    png_photo = _encode(rgb, "PNG")
    cases["unicode_name_with_spaces"] = Case(
        _write(root, "фото кошки 猫 ü.png", png_photo), expected=photo
    )
    cases["png_named_jpg"] = Case(_write(root, "really_a_png.jpg", png_photo), expected=photo)

    # ---- EXIF orientation (JPEG, as cameras write it)
    for k in range(2, 9):
        data = jpeg_with_orientation(photo, k)
        upright_ref = np.asarray(
            Image.open(io.BytesIO(jpeg_with_orientation(photo, 1)))
        )
        cases[f"exif_orientation_{k}"] = Case(
            _write(root, f"orientation_{k}.jpg", data), expected=upright_ref, mean_tol=4.0
        )

    assert list(cases) == CASE_NAMES or sorted(cases) == sorted(CASE_NAMES)
    return {name: cases[name] for name in CASE_NAMES}
