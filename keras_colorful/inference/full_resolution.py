"""The pipeline's full-resolution steps on one photo at a time, by bands of rows.

Only L at the network size goes through the network; the steps at the photo's own resolution
(`pipeline.lightness`, the resize of ab to the photo's size, Lab to RGB) run here over bands of
rows of at most `MAX_PIXELS_PER_CHUNK` pixels, so that a 4000x3000 photo needs a few hundred MB,
not the ~1.3 GB that one whole-image colour conversion takes. Each function gives the same
pixels as its whole-image counterpart in `pipeline`.

Example:

>>> import numpy as np
>>> rgb = np.full((5, 7, 3), 200, "uint8")
>>> l_full = lightness(rgb)
>>> reconstruct_uint8(l_full, np.zeros((8, 8, 2), "float32")).shape
(5, 7, 3)
>>> has_color(rgb)
False
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_colorful import bins, color, constants, image_io
from keras_colorful.inference import pipeline

# Pixels converted per call of the element-wise colour functions (2**20: ~12 MB of float32 RGB).
MAX_PIXELS_PER_CHUNK = 2**20
# Gap (white columns) between the panels of `comparison_grid`.
GRID_GAP = 8


def _row_bands(height: int, width: int, max_pixels: int):
    """Slices of rows covering `height` rows, each band at most `max_pixels` pixels (>= 1 row)."""
    rows = max(1, max_pixels // max(width, 1))
    for start in range(0, height, rows):
        yield slice(start, min(start + rows, height))


def lab(rgb: np.ndarray, max_pixels: int = MAX_PIXELS_PER_CHUNK) -> np.ndarray:
    """Lab float32 `[H, W, 3]` of an RGB image (uint8, or float in [0, 1]).

    Example:

    >>> lab(np.full((1, 1, 3), 255, "uint8")).round(1).tolist()
    [[[100.0, -0.0, 0.0]]]
    """
    height, width = rgb.shape[:2]
    result = np.empty((height, width, 3), np.float32)
    for rows in _row_bands(height, width, max_pixels):
        result[rows] = color.rgb_to_lab(rgb[rows]).numpy()
    return result


def lightness(rgb: np.ndarray, max_pixels: int = MAX_PIXELS_PER_CHUNK) -> np.ndarray:
    """`pipeline.lightness` of an RGB image (uint8, or float in [0, 1]): L float32 `[H, W, 1]`.

    Example:

    >>> lightness(np.full((1, 1, 3), 255, "uint8")).round(3).tolist()
    [[[100.0]]]
    """
    height, width = rgb.shape[:2]
    l_full = np.empty((height, width, 1), np.float32)
    for rows in _row_bands(height, width, max_pixels):
        l_full[rows] = pipeline.lightness(rgb[rows]).numpy()
    return l_full


def _lab_to_uint8(l_full: np.ndarray, ab, max_pixels: int) -> np.ndarray:
    """Lab `[H, W, 1]` + `[H, W, 2]` (numpy or tensor) to uint8 RGB `[H, W, 3]`."""
    height, width = l_full.shape[:2]
    rgb = np.empty((height, width, 3), np.uint8)
    for rows in _row_bands(height, width, max_pixels):
        lab_rows = tf.concat([l_full[rows], ab[rows]], axis=-1)
        rgb[rows] = pipeline.to_uint8(color.lab_to_rgb(lab_rows)).numpy()
    return rgb


def reconstruct_uint8(
    l_full: np.ndarray, ab_network, max_pixels: int = MAX_PIXELS_PER_CHUNK
) -> np.ndarray:
    """ab at the network's input size plus the original L to uint8 RGB at L's size.

    `ab_network` is `pipeline.upsample_to(ab_quarter)` (the x4 step done); this is the rest of
    `pipeline.reconstruct` followed by `pipeline.to_uint8`.

    Args:
        l_full: L in [0, 100], `[H, W, 1]`, the image's own resolution.
        ab_network: ab `[h, w, 2]` at the network's input size.
        max_pixels: pixels per Lab-to-RGB call.

    Returns:
        uint8 RGB `[H, W, 3]`.

    Example:

    >>> reconstruct_uint8(np.full((3, 2, 1), 50.0, "float32"), np.zeros((8, 8, 2))).shape
    (3, 2, 3)
    """
    height, width = l_full.shape[:2]
    ab = pipeline.upsample_ab(ab_network, (height, width))
    return _lab_to_uint8(l_full, ab, max_pixels)


def gray_rgb(l_full: np.ndarray, max_pixels: int = MAX_PIXELS_PER_CHUNK) -> np.ndarray:
    """The gray version of an image (its L with a = b = 0) as uint8 RGB.

    Example:

    >>> gray_rgb(np.full((1, 1, 1), 100.0, "float32")).tolist()
    [[[255, 255, 255]]]
    """
    zeros = np.zeros(l_full.shape[:2] + (2,), np.float32)
    return _lab_to_uint8(l_full, zeros, max_pixels)


def has_color(rgb: np.ndarray, max_pixels: int = MAX_PIXELS_PER_CHUNK) -> bool:
    """Whether an RGB image has colour: some |a| or |b| above `constants.GRAY_THRESHOLD`.

    The release's gray test (`bins.is_gray`), applied by bands of rows.

    Example:

    >>> has_color(np.array([[[255, 0, 0]]], "uint8"))
    True
    """
    height, width = rgb.shape[:2]
    for rows in _row_bands(height, width, max_pixels):
        ab = color.rgb_to_lab(rgb[rows])[..., 1:]
        if not bool(bins.is_gray(ab[tf.newaxis], constants.GRAY_THRESHOLD)[0]):
            return True
    return False


def comparison_grid(original, colorized: np.ndarray, gap: int = GRID_GAP) -> np.ndarray:
    """gray input | colorized | original (only if the original has colour), side by side.

    Args:
        original: the input image (anything `image_io.to_rgb_array` accepts).
        colorized: uint8 `[H, W, 3]`, the `Colorizer`'s output for it.
        gap: white columns between panels.

    Returns:
        uint8 `[H, 2 W + gap, 3]`, or `[H, 3 W + 2 gap, 3]` for a colour original.

    Raises:
        ValueError: `colorized` does not have the original's height and width.

    Example:

    >>> comparison_grid(np.full((4, 6), 90, "uint8"), np.zeros((4, 6, 3), "uint8"), gap=2).shape
    (4, 14, 3)
    """
    original = image_io.to_rgb_array(original)
    if original.shape[:2] != colorized.shape[:2]:
        raise ValueError(
            f"colorized image is {colorized.shape[:2]}, the original {original.shape[:2]}."
        )
    panels = [gray_rgb(lightness(original)), colorized]
    if has_color(original):
        panels.append(image_io.to_uint8(original))
    return image_io.side_by_side(panels, gap=gap)
