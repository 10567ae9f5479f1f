"""The pipeline's full-resolution steps on one photo at a time, fast and in bounded memory.

Only L at the network size goes through the network; the steps at the photo's own resolution
(`pipeline.lightness`, the resize of ab to the photo's size, Lab to RGB) run here, over the
photo's pixels in chunks of `MAX_PIXELS_PER_CHUNK` (the last one padded), each chunk through an
XLA-compiled function of one fixed shape: the fused steps stay in the processor's caches, and
every photo size shares one compiled function. The chunks run on `os.cpu_count()` threads.

- `lightness`: of uint8 RGB, a table lookup of each channel's share of the luminance Y, then
  L = 116 f(Y) - 16 (L depends on Y alone), instead of the whole Lab conversion.
- `reconstruct_uint8`: the bilinear resize of ab from the network's size happens inside the
  chunks (ab is padded to a `FUSED_AB_SIDES` square), so the photo's full-size ab is never
  stored; ab of another size is resized whole first.

A 4000x3000 photo then needs about 130 MB (its RGB, L and output), not the ~1.3 GB of one
whole-image conversion. Each function gives the pixels of its whole-image counterpart in
`pipeline` to float32 rounding (XLA may order the arithmetic differently).
`warm_up` compiles ahead of use (`Colorizer` does it on a thread while it traces the network).

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

import concurrent.futures
import functools
import os
import threading

import numpy as np
import tensorflow as tf

from keras_colorful import bins, color, constants, image_io
from keras_colorful.inference import pipeline

# Pixels per call of the compiled colour functions (2**18: 3 MB of float32 RGB, small enough
# for the processor's caches; benchmarks/RESULTS.md has the measurements).
MAX_PIXELS_PER_CHUNK = 2**18
# The square sides ab at the network size is padded to for the fused resize (one compiled shape
# each); larger ab is resized whole before the chunks.
FUSED_AB_SIDES = (256, 512, 1024)
# Gap (white columns) between the panels of `comparison_grid`.
GRID_GAP = 8

_compile_lock = threading.Lock()


def _row_bands(height: int, width: int, max_pixels: int):
    """Slices of rows covering `height` rows, each band at most `max_pixels` pixels (>= 1 row)."""
    rows = max(1, max_pixels // max(width, 1))
    for start in range(0, height, rows):
        yield slice(start, min(start + rows, height))


@functools.cache
def _compiled(function):
    """`function` as a `tf.function` compiled with XLA (once per input shape and dtype)."""
    return tf.function(function, jit_compile=True, autograph=False)


@functools.cache
def _pool() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1, "full_resolution")


@functools.cache
def _luminance_tables() -> np.ndarray:
    """Y (relative to the white) of the uint8 values of R, G and B, flat `[3 * 256]` float32.

    Y of a pixel is the sum of its channels' entries. An entry is Y of the pixel with that one
    channel at that value: `color.rgb_to_lab`'s L in float64, with its f inverted.
    """
    levels = np.arange(256) / 255.0
    pixels = np.zeros((3, 256, 3))
    for channel in range(3):
        pixels[channel, :, channel] = levels
    with tf.init_scope():  # eager, even when called while a function is traced
        f = (color.rgb_to_lab(pixels).numpy()[..., 0] + 16.0) / 116.0
    luminance = np.where(
        f > color._LAB_F_THRESHOLD, f**3, (f - color._LAB_OFFSET) / color._LAB_KAPPA
    )
    return luminance.astype(np.float32).reshape(-1)


def _lightness_of_uint8(rgb):
    """`_lightness_of` for uint8: L = 116 f(Y) - 16 with `color.rgb_to_lab`'s f, Y by lookups."""
    index = tf.cast(rgb, tf.int32) + tf.constant([0, 256, 512])
    luminance = tf.reduce_sum(tf.gather(tf.constant(_luminance_tables()), index), -1, True)
    return 116.0 * color.lab_f(luminance) - 16.0


def _lightness_of(rgb):
    return pipeline.lightness(rgb)


def _lab_of(rgb):
    return color.rgb_to_lab(rgb if rgb.dtype == tf.uint8 else tf.cast(rgb, tf.float32))


def _rgb_of(l_full, ab):
    return pipeline.to_uint8(color.lab_to_rgb(tf.concat([l_full, ab], axis=-1)))


def _rows_and_columns(start, width, count: int):
    """Row and column of pixels `start ... start + count - 1` of an image `width` wide (int32).

    A float division with an exact integer correction: x86 has no vector integer division.
    """
    first_row = start // width
    offset = start - first_row * width + tf.range(count)
    rows = tf.cast(tf.floor(tf.cast(offset, tf.float32) / tf.cast(width, tf.float32)), tf.int32)
    remainder = offset - rows * width
    rows += tf.cast(remainder >= width, tf.int32) - tf.cast(remainder < 0, tf.int32)
    return first_row + rows, offset - rows * width


def _bilinear_axis(out_index, out_size, in_size):
    """TensorFlow's half-pixel bilinear source indices and weight along one axis (float32)."""
    scale = tf.cast(in_size, tf.float32) / tf.cast(out_size, tf.float32)
    source = tf.maximum((tf.cast(out_index, tf.float32) + 0.5) * scale - 0.5, 0.0)
    low = tf.cast(tf.floor(source), tf.int32)
    weight = source - tf.cast(low, tf.float32)
    low = tf.minimum(low, in_size - 1)
    return low, tf.minimum(low + 1, in_size - 1), weight[:, tf.newaxis]


def _upsampled_rgb_of(l_full, ab_padded, start, geometry):
    """`_rgb_of` of pixels `start...` of an H x W photo, with ab resized from h x w inside.

    `ab_padded` is the network's ab `[h, w, 2]` zero-padded to a square; `geometry` is
    `[H, W, h, w]`. The resize is `pipeline.upsample_ab` (`tf.image.resize`, bilinear,
    half-pixel centres), computed as TensorFlow's kernel computes it.
    """
    height, width, ab_height, ab_width = tf.unstack(geometry)
    rows, columns = _rows_and_columns(start, width, tf.shape(l_full)[0])
    top, bottom, row_weight = _bilinear_axis(rows, height, ab_height)
    left, right, column_weight = _bilinear_axis(columns, width, ab_width)
    flat = tf.reshape(ab_padded, [-1, 2])
    side = tf.shape(ab_padded)[1]

    def at(row_index, column_index):
        return tf.gather(flat, row_index * side + column_index)

    upper = at(top, left) + (at(top, right) - at(top, left)) * column_weight
    lower = at(bottom, left) + (at(bottom, right) - at(bottom, left)) * column_weight
    return _rgb_of(l_full, upper + (lower - upper) * row_weight)


def _by_chunks(function, inputs, channels: int, dtype, max_pixels: int, extra=None):
    """`function` on the pixels of same-size images `[H, W, C_i]`, chunk by chunk.

    Every chunk has `max_pixels` pixels (the last one is padded), so the compiled function sees
    one shape whatever the photo's size. `extra(start)`, if given, returns further arguments of
    the chunk starting at pixel `start`. The first chunk runs here (it compiles, once), the
    others on the thread pool.
    """
    height, width = inputs[0].shape[:2]
    count = height * width
    flat = [np.ascontiguousarray(x).reshape(count, x.shape[-1]) for x in inputs]
    result = np.empty((count, channels), dtype)
    compiled = _compiled(function)

    def run(start: int) -> None:
        stop = min(start + max_pixels, count)
        pieces = [x[start:stop] for x in flat]
        if stop - start < max_pixels:
            pieces = [np.concatenate([p, np.zeros((max_pixels - len(p), p.shape[1]), p.dtype)])
                      for p in pieces]
        arguments = extra(start) if extra is not None else ()
        result[start:stop] = compiled(*pieces, *arguments).numpy()[: stop - start]

    starts = range(0, count, max_pixels)
    if starts:
        with _compile_lock:
            run(starts[0])
        for future in [_pool().submit(run, start) for start in starts[1:]]:
            future.result()
    return result.reshape(height, width, channels)


def _as_float32_or_uint8(rgb: np.ndarray) -> np.ndarray:
    return rgb if rgb.dtype == np.uint8 else rgb.astype(np.float32, copy=False)


def lab(rgb: np.ndarray, max_pixels: int = MAX_PIXELS_PER_CHUNK) -> np.ndarray:
    """Lab float32 `[H, W, 3]` of an RGB image (uint8, or float in [0, 1]).

    Example:

    >>> lab(np.full((1, 1, 3), 255, "uint8")).round(1).tolist()
    [[[100.0, -0.0, 0.0]]]
    """
    return _by_chunks(_lab_of, [_as_float32_or_uint8(rgb)], 3, np.float32, max_pixels)


def lightness(rgb: np.ndarray, max_pixels: int = MAX_PIXELS_PER_CHUNK) -> np.ndarray:
    """`pipeline.lightness` of an RGB image (uint8, or float in [0, 1]): L float32 `[H, W, 1]`.

    Example:

    >>> lightness(np.full((1, 1, 3), 255, "uint8")).round(3).tolist()
    [[[100.0]]]
    """
    function = _lightness_of_uint8 if rgb.dtype == np.uint8 else _lightness_of
    return _by_chunks(function, [_as_float32_or_uint8(rgb)], 1, np.float32, max_pixels)


def _fused_side(ab_height: int, ab_width: int) -> int | None:
    """The padded square side for ab of this size, or None: too large to fuse."""
    return next((side for side in FUSED_AB_SIDES if max(ab_height, ab_width) <= side), None)


def _lab_to_uint8(l_full: np.ndarray, ab, max_pixels: int) -> np.ndarray:
    """L `[H, W, 1]` + ab (numpy or tensor) at any size, resized to L's, to uint8 RGB."""
    height, width = l_full.shape[:2]
    l_full = np.asarray(l_full, np.float32)
    ab = np.asarray(ab, np.float32)
    ab_height, ab_width = ab.shape[:2]
    side = _fused_side(ab_height, ab_width)
    if (ab_height, ab_width) == (height, width) or side is None:
        if (ab_height, ab_width) != (height, width):
            ab = pipeline.upsample_ab(ab, (height, width)).numpy()
        return _by_chunks(_rgb_of, [l_full, ab], 3, np.uint8, max_pixels)
    padded = np.zeros((side, side, 2), np.float32)
    padded[:ab_height, :ab_width] = ab
    padded = tf.constant(padded)
    geometry = tf.constant([height, width, ab_height, ab_width], tf.int32)

    def extra(start: int):
        return padded, tf.constant(start, tf.int32), geometry

    return _by_chunks(_upsampled_rgb_of, [l_full], 3, np.uint8, max_pixels, extra)


def reconstruct_uint8(
    l_full: np.ndarray, ab_network, max_pixels: int = MAX_PIXELS_PER_CHUNK
) -> np.ndarray:
    """ab at the network's input size plus the original L to uint8 RGB at L's size.

    `ab_network` is `pipeline.upsample_to(ab_quarter)` (the x4 step done); this is the rest of
    `pipeline.reconstruct` followed by `pipeline.to_uint8`. ab may also be at L's size already.

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
    return _lab_to_uint8(l_full, ab_network, max_pixels)


def gray_rgb(l_full: np.ndarray, max_pixels: int = MAX_PIXELS_PER_CHUNK) -> np.ndarray:
    """The gray version of an image (its L with a = b = 0) as uint8 RGB.

    Example:

    >>> gray_rgb(np.full((1, 1, 1), 100.0, "float32")).tolist()
    [[[255, 255, 255]]]
    """
    return _lab_to_uint8(l_full, np.zeros((1, 1, 2), np.float32), max_pixels)


def warm_up(dtype=np.uint8, ab_size=(pipeline.DEFAULT_NETWORK_SIZE,) * 2) -> None:
    """Compiles `lightness` for RGB of `dtype` and `reconstruct_uint8` for ab of `ab_size`.

    Example:

    >>> warm_up(np.uint8, (16, 16))
    """
    lightness(np.zeros((1, 1, 3), dtype))
    if _fused_side(*ab_size) is None:
        ab_size = (FUSED_AB_SIDES[-1] + 1, 1)  # not fused: every such size shares one function
    reconstruct_uint8(np.zeros((2, 2, 1), np.float32), np.zeros((*ab_size, 2), np.float32))


def has_color(rgb: np.ndarray, max_pixels: int = MAX_PIXELS_PER_CHUNK) -> bool:
    """Whether an RGB image has colour: some |a| or |b| above `constants.GRAY_THRESHOLD`.

    The release's gray test (`bins.is_gray`), applied by bands of rows.

    Example:

    >>> has_color(np.array([[[255, 0, 0]]], "uint8"))
    True
    """
    height, width = rgb.shape[:2]
    for rows in _row_bands(height, width, max_pixels):
        ab = lab(rgb[rows], max_pixels)[..., 1:]
        if not bool(bins.is_gray(ab[np.newaxis], constants.GRAY_THRESHOLD)[0]):
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
