"""Photo in, colorized photo out: `inference.pipeline` in TFLite builtin ops.

`colorize(net, image, network_size, temperature)` chains the pipeline's own functions
(`lightness`, `decode_logits`, `reconstruct`, `to_uint8`) on a uint8 photo of any size. One step
needs another form: `pipeline.preprocess_l` resizes with `tf.image.resize(bicubic,
antialias=True)`, whose op (`ScaleAndTranslate`) TFLite lacks. `resize_l` does the same resize
as two matrix products, `A_h @ L @ A_w^T`, with the weights of TensorFlow's kernel
(`resize_weights`: Keys' cubic with a = -0.5, widened by the downscaling factor, each row
normalised), computed in the graph from the photo's size so that one model takes every size.

Example:

>>> l_full = tf.random.uniform((1, 37, 50, 1), 0.0, 100.0, seed=0)
>>> expected = pipeline.preprocess_l(l_full, 16)
>>> bool(tf.reduce_max(tf.abs(resize_l(l_full, 16) - expected)) < 1e-3)
True
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_colorful import constants
from keras_colorful.inference import pipeline

# Keys' cubic convolution kernel (a = -0.5), as TensorFlow's "keyscubic": support |x| < 2.
_KEYS_RADIUS = 2.0


def _keys_cubic(x: tf.Tensor) -> tf.Tensor:
    x = tf.abs(x)
    near = ((1.5 * x - 2.5) * x) * x + 1.0
    far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return tf.where(x <= 1.0, near, tf.where(x < _KEYS_RADIUS, far, tf.zeros_like(x)))


def resize_weights(input_size, output_size: int) -> tf.Tensor:
    """The `[output_size, input_size]` matrix of an antialiased bicubic resize along one axis.

    The weights TensorFlow's `ScaleAndTranslate` kernel uses for `tf.image.resize(...,
    "bicubic", antialias=True)`: output pixel i samples the input at (i + 0.5) * in / out; the
    kernel is stretched by in / out when that exceeds 1 (the antialiasing); each row sums to 1.

    Args:
        input_size: the input length (int or scalar int tensor).
        output_size: the output length.

    Example:

    >>> weights = resize_weights(8, 4)
    >>> weights.shape, [round(float(s), 4) for s in tf.reduce_sum(weights, axis=1)]
    (TensorShape([4, 8]), [1.0, 1.0, 1.0, 1.0])
    """
    input_size = tf.cast(input_size, tf.float32)
    inverse_scale = 1.0 / (float(output_size) / input_size)
    kernel_scale = tf.maximum(inverse_scale, 1.0)
    centres = (tf.range(output_size, dtype=tf.float32) + 0.5) * inverse_scale
    sources = tf.range(input_size, dtype=tf.float32) + 0.5
    weights = _keys_cubic((sources[tf.newaxis, :] - centres[:, tf.newaxis]) / kernel_scale)
    return weights / tf.reduce_sum(weights, axis=1, keepdims=True)


def resize_l(l_full: tf.Tensor, network_size: int) -> tf.Tensor:
    """`pipeline.preprocess_l(l_full, network_size)` in builtin ops, for one image `[1, H, W, 1]`.

    Returns:
        L `[1, network_size, network_size, 1]` float32, clipped to [0, 100].
    """
    height, width = pipeline.network_size_for(1, 1, network_size)
    shape = tf.shape(l_full)
    rows = resize_weights(shape[1], height)
    columns = resize_weights(shape[2], width)
    image = tf.reshape(tf.cast(l_full, tf.float32), shape[1:3])
    resized = tf.matmul(tf.matmul(rows, image), columns, transpose_b=True)
    resized = tf.reshape(resized, [1, height, width, 1])
    return tf.clip_by_value(resized, 0.0, constants.L_SCALE)


def colorize(net: keras.Model, image: tf.Tensor, network_size: int,
             temperature: float = constants.ANNEALED_MEAN_TEMPERATURE):
    """One uint8 photo `[1, H, W, C]` (C = 3 RGB, or 1 gray) to its colorized RGB, and the logits.

    The photo's own L is kept; the network runs at `network_size` x `network_size`.

    Returns:
        (rgb uint8 `[1, H, W, 3]`, logits `[1, network_size / 4, network_size / 4, 313]`).

    Example:

    >>> from keras_colorful import models
    >>> rgb, logits = colorize(models.build_model("tiny"), tf.zeros((1, 9, 7, 1), tf.uint8), 16)
    >>> rgb.shape, logits.shape
    (TensorShape([1, 9, 7, 3]), TensorShape([1, 4, 4, 313]))
    """
    if image.shape[-1] == 1:
        image = tf.tile(image, [1, 1, 1, 3])
    l_full = pipeline.lightness(image)
    logits = tf.cast(net(resize_l(l_full, network_size), training=False), tf.float32)
    rgb, _ = pipeline.reconstruct(l_full, pipeline.decode_logits(logits, temperature))
    return pipeline.to_uint8(rgb), logits
