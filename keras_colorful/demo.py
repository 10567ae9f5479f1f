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

from keras_colorful import constants, image_io
from keras_colorful.inference import full_resolution

# Height of each row of the grid, and the white gap between panels and rows.
GRID_ROW_HEIGHT = 320
GRID_GAP = 8


def demo_photos() -> list[str]:
    """Paths of the bundled demo photos, sorted."""
    folder = importlib.resources.files("keras_colorful") / "assets" / "demo"
    return sorted(str(path) for path in folder.iterdir() if path.name.endswith(".jpg"))


def colorize_demo(colorizer, output_dir: str, photos: list[str] | None = None,
                  temperature: float = constants.ANNEALED_MEAN_TEMPERATURE) -> dict:
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
        rows.append([full_resolution.gray_rgb(full_resolution.lightness(original)), result])
    grid_path = os.path.join(output_dir, "grid.png")
    grid = image_io.contact_sheet(rows, row_height=GRID_ROW_HEIGHT, gap=GRID_GAP)
    image_io.write_image(grid_path, grid)
    return {"colorized": written, "grid": grid_path}
