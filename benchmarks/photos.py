"""Generated photo-like JPEGs for the photo, folder and start-up benchmarks (numpy and Pillow).

Smooth colour fields (a few random colours, bicubic-upsampled) with fine grain on top, saved as
JPEG quality 90: they decode, colorize and compress like photographs (sharp noise would make
PNG encoding several times slower than on photos, flat images much faster). Deterministic.

Example:

>>> import tempfile
>>> paths = write_jpegs(tempfile.mkdtemp(), 2, (48, 64))
>>> [path.name for path in paths]
['photo_0000.jpg', 'photo_0001.jpg']
"""

from __future__ import annotations

import pathlib

import numpy as np
from PIL import Image

# Colours per this many pixels of side, and the grain's amplitude (uint8 levels).
FIELD_CELL = 200
GRAIN = 4
JPEG_QUALITY = 90


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A photo-like uint8 RGB image `[height, width, 3]`."""
    rng = np.random.default_rng(seed)
    cells = (max(2, width // FIELD_CELL), max(2, height // FIELD_CELL))
    field = Image.fromarray(rng.integers(0, 256, (cells[1], cells[0], 3), dtype=np.uint8))
    smooth = np.asarray(field.resize((width, height), Image.BICUBIC), dtype=np.int16)
    grain = rng.integers(-GRAIN, GRAIN + 1, (height, width, 1), dtype=np.int16)
    return np.clip(smooth + grain, 0, 255).astype(np.uint8)


def write_jpegs(folder, count: int, size: tuple[int, int], first: int = 0) -> list[pathlib.Path]:
    """Writes photos number `first` ... `first + count - 1` of `size` (height, width) as
    photo_<number>.jpg (4 digits; the number seeds the photo); returns their paths."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(first, first + count):
        path = folder / f"photo_{number:04d}.jpg"
        Image.fromarray(photo(*size, seed=number)).save(path, quality=JPEG_QUALITY)
        paths.append(path)
    return paths
