"""The README's main job: colorize the bundled black-and-white photos, write them and a grid.

The photos in `assets/demo/` are the authors' demo images (Ansel Adams, US National Park Service
work). The grid stacks one row per photo: gray input | colorized.

Example:
>>> import tempfile
>>> from keras_colorful import demo
>>> paths = demo.demo_photos()
>>> len(paths) >= 3
True
"""

from __future__ import annotations

import importlib.resources
import os

import numpy as np
from PIL import Image

from keras_colorful import image_io
from keras_colorful.inference import processing

GRID_ROW_HEIGHT = 320


def demo_photos() -> list[str]:
    """Paths of the bundled demo photos, sorted."""
    folder = importlib.resources.files("keras_colorful") / "assets" / "demo"
    return sorted(str(path) for path in folder.iterdir() if path.name.endswith(".jpg"))


def _row(gray: np.ndarray, colorized: np.ndarray, height: int) -> np.ndarray:
    panel = image_io.side_by_side([gray, colorized])
    width = round(panel.shape[1] * height / panel.shape[0])
    return np.asarray(Image.fromarray(panel).resize((width, height), Image.BICUBIC))


def colorize_demo(colorizer, output_dir: str, photos: list[str] | None = None,
                  temperature: float = 0.38) -> dict:
    """Colorizes `photos` (default: the bundled ones) into `output_dir`, plus `grid.png`.

    Returns:
        {"colorized": [paths], "grid": path}.
    """
    photos = photos or demo_photos()
    os.makedirs(output_dir, exist_ok=True)
    originals = [image_io.read_image(path) for path in photos]
    colorized = colorizer.colorize(originals, temperature=temperature)
    written, rows = [], []
    for path, original, result in zip(photos, originals, colorized, strict=True):
        target = os.path.join(output_dir, os.path.splitext(os.path.basename(path))[0] + ".png")
        image_io.write_image(target, result)
        written.append(target)
        rows.append(_row(processing.gray_rgb(processing.lightness(original)), result,
                         GRID_ROW_HEIGHT))
    width = max(row.shape[1] for row in rows)
    rows = [np.pad(row, ((0, 8), (0, width - row.shape[1]), (0, 0)), constant_values=255)
            for row in rows]
    grid_path = os.path.join(output_dir, "grid.png")
    image_io.write_image(grid_path, np.concatenate(rows)[:-8])
    return {"colorized": written, "grid": grid_path}
