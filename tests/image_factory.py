"""Small image files for tests: colourful synthetic photos, odd-but-valid images, broken files.

Everything is generated (no downloads, license-clean) with numpy, Pillow and a tiny PNG writer
for 16-bit PNGs, which Pillow cannot write in RGB. Nothing here uses TensorFlow, so tests of the
TensorFlow decoder compare it against an independent source of truth.
"""

from __future__ import annotations

import io
import pathlib
import struct
import zlib

import numpy as np
from PIL import Image


def color_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A colourful uint8 RGB image [height, width, 3]: a hue sweep plus a few saturated blocks.

    Different seeds give different hues and block positions, so images are easy to tell apart.
    """
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    hue = (cols / max(width, 1) + rng.uniform()) % 1.0
    saturation = np.full_like(hue, rng.uniform(0.6, 1.0))
    value = 0.45 + 0.5 * rows / max(height, 1)
    hsv = np.stack([hue, saturation, value], axis=-1)
    image = np.asarray(Image.fromarray((hsv * 255).astype(np.uint8), "HSV").convert("RGB"))
    image = image.copy()
    for _ in range(3):
        top, left = rng.integers(0, height), rng.integers(0, width)
        block_h, block_w = rng.integers(1, height // 3 + 2), rng.integers(1, width // 3 + 2)
        image[top : top + block_h, left : left + block_w] = rng.integers(0, 256, 3)
    return image


def write_color_images(
    directory: str | pathlib.Path,
    n: int,
    size: int | tuple[int, int] = (48, 64),
    ext: str = "jpg",
    seed: int = 0,
) -> list[pathlib.Path]:
    """Writes n colourful images (`color_image`) named image_000.<ext>, ... and returns the paths.

    Args:
        directory: created if needed.
        n: how many images.
        size: side, or (height, width).
        ext: "jpg" (quality 95), "png", "bmp" or "gif".
        seed: image i uses seed + i.
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    height, width = (size, size) if isinstance(size, int) else size
    paths = []
    for i in range(n):
        path = directory / f"image_{i:03d}.{ext}"
        Image.fromarray(color_image(height, width, seed + i)).save(path, quality=95)
        paths.append(path)
    return paths


def png_bytes(array: np.ndarray) -> bytes:
    """Encodes a uint8 or uint16 array [H, W] or [H, W, C] (C in 1, 2, 3, 4) as a PNG."""
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[..., None]
    if array.dtype not in (np.uint8, np.uint16) or array.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"Unsupported array {array.dtype} {array.shape}.")
    height, width, channels = array.shape
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    bit_depth = 8 * array.dtype.itemsize
    rows = array.astype(array.dtype.newbyteorder(">")).reshape(height, -1).view(np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    return _png(width, height, bit_depth, color_type, zlib.compress(raw))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG of ~150 bytes that declares an RGB image of any size: a decompression bomb's header.

    Its pixel data is a few zero rows, so only a reader that checks the size first stays safe.
    """
    return _png(width, height, 8, 2, zlib.compress(b"\x00" * 64))


def _png(width: int, height: int, bit_depth: int, color_type: int, idat: bytes) -> bytes:
    """The PNG signature, IHDR, one IDAT chunk and IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def truncated_jpeg_bytes(seed: int = 0) -> bytes:
    """The first 60 % of a real 64x64 JPEG: the header parses, the decode fails."""
    buffer = io.BytesIO()
    Image.fromarray(color_image(64, 64, seed)).save(buffer, "JPEG", quality=95)
    data = buffer.getvalue()
    return data[: int(len(data) * 0.6)]


def write_bad_files(directory: str | pathlib.Path) -> dict[str, pathlib.Path]:
    """Writes files with image names that no decoder can read: truncated JPEG, zero-byte file,
    text file named .jpg. Returns {kind: path}."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "truncated": (directory / "truncated.jpg", truncated_jpeg_bytes()),
        "zero_byte": (directory / "zero_byte.jpg", b""),
        "text": (directory / "text.jpg", b"This is a text file, not a JPEG.\n"),
    }
    for path, data in files.values():
        path.write_bytes(data)
    return {kind: path for kind, (path, _) in files.items()}


def write_odd_images(
    directory: str | pathlib.Path, size: int = 40, seed: int = 0
) -> dict[str, tuple[pathlib.Path, np.ndarray]]:
    """Writes valid images that a careless decoder gets wrong, with the uint8 RGB each should
    decode to: grayscale PNG, RGBA PNG, 16-bit RGB PNG, 5x5 PNG, GIF, BMP, lossless WebP, and a
    JPEG with an uppercase .JPEG name.

    The 16-bit PNG's expected values are round(value / 257); its samples are chosen so that
    truncation (value >> 8) would be wrong by one in about half of them. The JPEG's expected
    array is the lossless source, so compare it with a tolerance.

    Returns:
        {kind: (path, expected uint8 [H, W, 3])}.
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rgb = color_image(size, size + 8, seed)
    gray = rgb.mean(axis=-1).astype(np.uint8)
    alpha = rng.integers(0, 256, gray.shape, dtype=np.uint8)
    deep = rng.integers(0, 65536, (size, size, 3)).astype(np.uint16)
    tiny = color_image(5, 5, seed + 1)
    palette = Image.fromarray(rgb).quantize(colors=64)
    images = {}

    def save(kind: str, name: str, write, expected: np.ndarray) -> None:
        path = directory / name
        write(path)
        images[kind] = (path, expected)

    save("gray", "gray.png", lambda p: Image.fromarray(gray, "L").save(p), np.stack([gray] * 3, -1))
    save(
        "rgba",
        "rgba.png",
        lambda p: Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(p),
        rgb,
    )
    save(
        "png16",
        "deep16.png",
        lambda p: p.write_bytes(png_bytes(deep)),
        np.round(deep / 257.0).astype(np.uint8),
    )
    save("tiny", "tiny5x5.png", lambda p: Image.fromarray(tiny).save(p), tiny)
    save("gif", "palette.gif", palette.save, np.asarray(palette.convert("RGB")))
    save("bmp", "bitmap.bmp", lambda p: Image.fromarray(rgb).save(p), rgb)
    save("webp", "lossless.webp", lambda p: Image.fromarray(rgb).save(p, lossless=True), rgb)
    save("jpeg_upper", "PHOTO.JPEG", lambda p: Image.fromarray(rgb).save(p, quality=95), rgb)
    return images
