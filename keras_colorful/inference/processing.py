"""Full-resolution pre- and post-processing of the `Colorizer`, in bounded memory.

Only L at the network size goes through the network; everything at the image's own resolution
happens here, one image at a time, and the element-wise colour conversions run over bands of
rows (`MAX_PIXELS_PER_CHUNK` pixels each), so that a 4000x3000 photo needs a few hundred MB, not
the ~1.3 GB that one whole-image `color.rgb_to_lab` / `color.lab_to_rgb` call takes.

- `lightness(rgb)`: L `[H, W, 1]` of an RGB image (uint8 or float in [0, 1]).
- `reconstruct_uint8(l_full, ab_network)`: ab from the network size to L's size, joined with the
  original L, converted to uint8 RGB (as `postprocess.reconstruct_rgb`, whose first step, the x4
  upsampling, the `Colorizer` has already done).
- `gray_rgb(l_full)`: the gray image the network sees (ab = 0), as uint8 RGB.
- `has_color(rgb)`: whether an image has colour (the release's gray test on ab).
- `comparison_grid(original, colorized)`: gray | colorized (| original if it has colour).

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

from keras_colorful import bins, color, constants, image_io, postprocess
from keras_colorful.export import serving_fn

# Pixels converted per call of the element-wise colour functions (2**20: ~12 MB of float32 RGB);
# bounds the temporary tensors of `color.rgb_to_lab` / `color.lab_to_rgb` on large photos.
MAX_PIXELS_PER_CHUNK = 2**20
# Gap (white columns) between the panels of `comparison_grid`.
GRID_GAP = 8


def _row_bands(height: int, width: int, max_pixels: int):
    """Slices of rows covering `height` rows, each band at most `max_pixels` pixels (>= 1 row)."""
    rows = max(1, max_pixels // max(width, 1))
    for start in range(0, height, rows):
        yield slice(start, min(start + rows, height))


def lightness(rgb: np.ndarray, max_pixels: int = MAX_PIXELS_PER_CHUNK) -> np.ndarray:
    """L of an RGB image, with `color.rgb_to_lab`, converted by bands of rows.

    Args:
        rgb: `[H, W, 3]` uint8, or float in [0, 1] (see `image_io.to_rgb_array`).
        max_pixels: pixels per conversion call.

    Returns:
        L in [0, 100], float32 `[H, W, 1]`.

    Example:

    >>> import numpy as np
    >>> lightness(np.full((1, 1, 3), 255, "uint8")).round(3).tolist()
    [[[100.0]]]
    """
    height, width = rgb.shape[:2]
    l_full = np.empty((height, width, 1), np.float32)
    for rows in _row_bands(height, width, max_pixels):
        l_full[rows] = color.rgb_to_lab(rgb[rows])[..., :1].numpy()
    return l_full


def _lab_to_uint8(l_full: np.ndarray, ab, max_pixels: int) -> np.ndarray:
    """Lab `[H, W, 1]` + `[H, W, 2]` (numpy or tensor) to uint8 RGB `[H, W, 3]`, by bands."""
    height, width = l_full.shape[:2]
    rgb = np.empty((height, width, 3), np.uint8)
    for rows in _row_bands(height, width, max_pixels):
        lab = tf.concat([l_full[rows], ab[rows]], axis=-1)
        rgb[rows] = serving_fn.to_uint8(color.lab_to_rgb(lab)).numpy()
    return rgb


def reconstruct_uint8(
    l_full: np.ndarray, ab_network, max_pixels: int = MAX_PIXELS_PER_CHUNK
) -> np.ndarray:
    """Predicted ab at the network size plus the original L to uint8 RGB at L's size.

    `ab_network` is the network's quarter-resolution ab already upsampled x4 (bilinear, see
    `postprocess.upsample_ab`): this resizes it to L's size (bilinear), joins it with L,
    converts Lab to RGB, clips and rounds. With the x4 step this is `postprocess.reconstruct_rgb`
    then uint8 rounding.

    Args:
        l_full: L in [0, 100], `[H, W, 1]`, the image's own resolution.
        ab_network: ab `[h, w, 2]` at the network's input size.
        max_pixels: pixels per Lab-to-RGB call.

    Returns:
        uint8 RGB `[H, W, 3]`.

    Example:

    >>> import numpy as np
    >>> reconstruct_uint8(np.full((3, 2, 1), 50.0, "float32"), np.zeros((8, 8, 2))).shape
    (3, 2, 3)
    """
    height, width = l_full.shape[:2]
    ab = postprocess.upsample_ab(ab_network, (height, width))
    return _lab_to_uint8(l_full, ab, max_pixels)


def gray_rgb(l_full: np.ndarray, max_pixels: int = MAX_PIXELS_PER_CHUNK) -> np.ndarray:
    """The gray version of an image (its L with a = b = 0) as uint8 RGB.

    Args:
        l_full: L in [0, 100], `[H, W, 1]`.
        max_pixels: pixels per Lab-to-RGB call.

    Returns:
        uint8 `[H, W, 3]` with R = G = B.

    Example:

    >>> import numpy as np
    >>> gray_rgb(np.full((1, 1, 1), 100.0, "float32")).tolist()
    [[[255, 255, 255]]]
    """
    zeros = np.zeros(l_full.shape[:2] + (2,), np.float32)
    return _lab_to_uint8(l_full, zeros, max_pixels)


def has_color(rgb: np.ndarray, max_pixels: int = MAX_PIXELS_PER_CHUNK) -> bool:
    """Whether an RGB image has colour: some |a| or |b| above `constants.GRAY_THRESHOLD`.

    The release's gray test (`bins.is_gray`), applied by bands of rows.

    Args:
        rgb: `[H, W, 3]` uint8, or float in [0, 1].
        max_pixels: pixels per conversion call.

    Returns:
        True if the image is not gray.

    Example:

    >>> import numpy as np
    >>> has_color(np.array([[[255, 0, 0]]], "uint8"))
    True
    """
    height, width = rgb.shape[:2]
    for rows in _row_bands(height, width, max_pixels):
        ab = color.rgb_to_lab(rgb[rows])[..., 1:]
        if not bool(bins.is_gray(ab[tf.newaxis], constants.GRAY_THRESHOLD)[0]):
            return True
    return False


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8, or float in [0, 1] (rounded), as uint8.

    Example:

    >>> import numpy as np
    >>> to_uint8(np.array([[[0.0, 0.5, 1.0]]], "float32")).tolist()
    [[[0, 128, 255]]]
    """
    if rgb.dtype == np.uint8:
        return rgb
    return np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def comparison_grid(original, colorized: np.ndarray, gap: int = GRID_GAP) -> np.ndarray:
    """Side-by-side grid: gray input | colorized | original (only if the original has colour).

    Args:
        original: the input image (anything `image_io.to_rgb_array` accepts).
        colorized: uint8 `[H, W, 3]`, the `Colorizer`'s output for it.
        gap: white columns between panels.

    Returns:
        uint8 `[H, 2 W + gap, 3]`, or `[H, 3 W + 2 gap, 3]` for a colour original.

    Raises:
        ValueError: `colorized` does not have the original's height and width.

    Example:

    >>> import numpy as np
    >>> gray = np.full((4, 6), 90, "uint8")
    >>> comparison_grid(gray, np.zeros((4, 6, 3), "uint8"), gap=2).shape
    (4, 14, 3)
    """
    original = image_io.to_rgb_array(original)
    if original.shape[:2] != colorized.shape[:2]:
        raise ValueError(
            f"colorized image is {colorized.shape[:2]}, the original {original.shape[:2]}."
        )
    panels = [gray_rgb(lightness(original)), colorized]
    if has_color(original):
        panels.append(to_uint8(original))
    return image_io.side_by_side(panels, gap=gap)
