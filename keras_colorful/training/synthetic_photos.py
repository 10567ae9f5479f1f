"""Generated, license-free photos for the demo training run: sky, ground, red and yellow things.

The README's main command trains on these when no `--data_dir` is given, so that it runs on a
fresh machine with nothing downloaded. Colour follows position and brightness, which even a small
network learns in a short run.

Example:
>>> import tempfile
>>> from keras_colorful.training import synthetic_photos
>>> paths = synthetic_photos.write_demo_photos(tempfile.mkdtemp(), count=2, size=64)
>>> len(paths)
2
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image


def demo_photo(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """One synthetic landscape, uint8 [size, size, 3]."""
    rows = np.linspace(0.0, 1.0, size)[:, None, None]
    horizon = rng.uniform(0.35, 0.65)
    sky = np.array([0.25, 0.5, 0.95]) * (1 - 0.4 * rows) + np.array([0.6, 0.8, 1.0]) * 0.4 * rows
    ground = np.array([0.15, 0.55, 0.15]) * rng.uniform(0.7, 1.1) * (0.7 + 0.6 * rows)
    image = np.where(rows < horizon, sky, ground) * np.ones((size, size, 3))
    yy, xx = np.mgrid[0:size, 0:size] / size
    for _ in range(rng.integers(1, 4)):
        centre_y, centre_x = rng.uniform(horizon, 1.0), rng.uniform(0.0, 1.0)
        radius = rng.uniform(0.04, 0.12)
        colour = [[0.85, 0.1, 0.1], [0.95, 0.85, 0.1], [0.9, 0.45, 0.05]][rng.integers(0, 3)]
        inside = (yy - centre_y) ** 2 + (xx - centre_x) ** 2 < radius**2
        image[inside] = colour
    if rng.uniform() < 0.5:  # a sun
        centre_y, centre_x = rng.uniform(0.05, horizon * 0.6), rng.uniform(0.1, 0.9)
        image[(yy - centre_y) ** 2 + (xx - centre_x) ** 2 < 0.06**2] = [1.0, 0.95, 0.6]
    image += rng.normal(0, 0.02, image.shape)
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def write_demo_photos(directory: str, count: int = 64, size: int = 256, seed: int = 0) -> list[str]:
    """Writes `count` demo photos as PNG into `directory` (kept if already there)."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(count):
        path = os.path.join(directory, f"demo_{index:03d}.png")
        photo = demo_photo(rng, size)
        if not os.path.exists(path):
            Image.fromarray(photo).save(path)
        paths.append(path)
    return paths
