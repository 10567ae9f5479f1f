"""Steps 1, 4 and 5 of `inference.pipeline` for one large image inside a TensorFlow graph, by
bands of rows, so that no float image of the photo's size is ever whole (the SavedModel's
encoded-image path; the Python `Colorizer` does the same outside the graph with
`inference.full_resolution`).

Example:

>>> import tensorflow as tf
>>> lightness_by_bands(tf.fill((5, 3, 3), tf.constant(255, tf.uint8)), 4).shape
TensorShape([5, 3, 1])
"""

import tensorflow as tf

from keras_colorful import color
from keras_colorful.inference.pipeline import (
    lightness,
    to_uint8,
    upsample_ab,
    upsample_to,
)

# Pixels per band of `lightness_by_bands` and `reconstruct_uint8_by_bands`.
BAND_PIXELS = 2**20


def _by_bands(function, height, width, band_pixels: int, dtype) -> tf.Tensor:
    """`function(start, stop)` on bands of rows covering `height`, concatenated along rows."""
    rows = tf.maximum(band_pixels // tf.maximum(width, 1), 1)
    count = (height + rows - 1) // rows
    bands = tf.TensorArray(dtype, size=count, infer_shape=False)

    def step(index, bands):
        start = index * rows
        return index + 1, bands.write(index, function(start, tf.minimum(start + rows, height)))

    _, bands = tf.while_loop(lambda index, _: index < count, step, (0, bands))
    return bands.concat()


def lightness_by_bands(image: tf.Tensor, band_pixels: int = BAND_PIXELS) -> tf.Tensor:
    """`lightness` of one integer image `[H, W, 3]` (uint8, or uint16 for 16-bit), by bands.

    Each band is converted to float in [0, 1] (value / 255, or / 65535) and to L; only L
    `[H, W, 1]` float32 is kept whole.

    Example:

    >>> lightness_by_bands(tf.fill((5, 3, 3), tf.constant(255, tf.uint8)), 4).shape
    TensorShape([5, 3, 1])
    """
    maximum = float(image.dtype.max)
    shape = tf.shape(image)

    def band(start, stop):
        return lightness(tf.cast(image[start:stop], tf.float32) / maximum)

    result = _by_bands(band, shape[0], shape[1], band_pixels, tf.float32)
    result.set_shape(image.shape[:2].concatenate([1]))
    return result


def reconstruct_uint8_by_bands(
    l_full: tf.Tensor, ab_quarter: tf.Tensor, band_pixels: int = BAND_PIXELS
) -> tf.Tensor:
    """`to_uint8(reconstruct_rgb(...))` of one image by bands: L `[H, W, 1]`, ab `[h, w, 2]`.

    The ab upsampling to the image's size is separable: ab is first resized along the rows
    (small: H x 4w), then each band along the columns, so no float image is ever whole.

    Example:

    >>> reconstruct_uint8_by_bands(tf.fill((9, 5, 1), 50.0), tf.zeros((2, 2, 2)), 8).shape
    TensorShape([9, 5, 3])
    """
    shape = tf.shape(l_full)
    ab_network = upsample_to(ab_quarter)
    ab_rows = upsample_ab(ab_network, tf.stack([shape[0], tf.shape(ab_network)[1]]))

    def band(start, stop):
        ab = upsample_ab(ab_rows[start:stop], tf.stack([stop - start, shape[1]]))
        lab = tf.concat([tf.cast(l_full[start:stop], tf.float32), ab], axis=-1)
        return to_uint8(color.lab_to_rgb(lab))

    result = _by_bands(band, shape[0], shape[1], band_pixels, tf.uint8)
    result.set_shape(l_full.shape[:2].concatenate([3]))
    return result
