"""The crops: decoded RGB image to a uint8 square, for training (random) and evaluation (centre).

Training emulates the release, which took random 176x176 crops (with mirroring) from images stored
at 256x256: the shorter side is scaled to `resize_shorter_to` (256) and a random `crop_size` square
is cut. Evaluation scales the shorter side to `crop_size` and cuts the centre square. Both cut the
window from the decoded image first and resize only the window, which is the same picture as
resize-then-crop at a fraction of the cost. Images smaller than the crop are scaled up.

Example:

>>> import tensorflow as tf
>>> image = tf.zeros([48, 80, 3])
>>> center_crop(image, 32).shape, random_crop_and_flip(image, 32, seed=[0, 1]).shape
(TensorShape([32, 32, 3]), TensorShape([32, 32, 3]))
"""

from __future__ import annotations

import tensorflow as tf

from keras_colorful import constants


def _to_uint8(image: tf.Tensor) -> tf.Tensor:
    return tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)


def _resize_square(window: tf.Tensor, size: int) -> tf.Tensor:
    """Resizes a square window to size x size, bilinear, and rounds to uint8.

    Shrinking is antialiased (a triangle filter as wide as the scale, like Pillow's BILINEAR);
    enlarging, where that filter is plain bilinear, takes the faster plain op.
    """
    shrinks = tf.shape(window)[0] > size
    resized = tf.cond(
        shrinks,
        lambda: tf.image.resize(window, [size, size], method="bilinear", antialias=True),
        lambda: tf.image.resize(window, [size, size], method="bilinear"),
    )
    return _to_uint8(resized)


def check_resize_shorter_to(resize_shorter_to: int, crop_size: int) -> None:
    """Raises ValueError unless the training crop fits in the resized image."""
    if resize_shorter_to < crop_size:
        raise ValueError(
            f"resize_shorter_to ({resize_shorter_to}) must be at least crop_size ({crop_size})."
        )


def center_crop(image: tf.Tensor, crop_size: int) -> tf.Tensor:
    """The evaluation transform: shorter side scaled to `crop_size`, the centre square cut.

    Args:
        image: [height, width, 3], any real dtype, values in [0, 255].
        crop_size: side of the output square.

    Returns:
        uint8 [crop_size, crop_size, 3].

    Example:
        >>> import tensorflow as tf
        >>> center_crop(tf.zeros([48, 80, 3]), 32).shape
        TensorShape([32, 32, 3])
    """
    shape = tf.shape(image)
    side = tf.minimum(shape[0], shape[1])
    top = (shape[0] - side) // 2
    left = (shape[1] - side) // 2
    window = image[top : top + side, left : left + side]
    return _resize_square(window, crop_size)


def random_crop_and_flip(
    image: tf.Tensor,
    crop_size: int,
    seed: tf.Tensor,
    resize_shorter_to: int = constants.RESIZE_SHORTER_TO,
) -> tf.Tensor:
    """The training transform: a random `crop_size` square of the image scaled so its shorter side
    is `resize_shorter_to`, mirrored left-right with probability 1/2.

    Random but reproducible: the same stateless `seed` gives the same crop and flip.

    Args:
        image: [height, width, 3], any real dtype, values in [0, 255].
        crop_size: side of the output square.
        seed: int32 or int64 [2], a stateless random seed.
        resize_shorter_to: the shorter side the crop is cut from (>= crop_size).

    Returns:
        uint8 [crop_size, crop_size, 3].

    Example:
        >>> import tensorflow as tf
        >>> random_crop_and_flip(tf.zeros([224, 336, 3]), 176, seed=[1, 2]).shape
        TensorShape([176, 176, 3])
    """
    check_resize_shorter_to(resize_shorter_to, crop_size)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=3)
    shape = tf.shape(image)
    shorter = tf.minimum(shape[0], shape[1])
    # The crop's side measured in source pixels: crop_size / resize_shorter_to of the shorter side.
    side = tf.cast(
        tf.round(tf.cast(shorter, tf.float32) * (crop_size / resize_shorter_to)), tf.int32
    )
    side = tf.clip_by_value(side, 1, shorter)
    top = tf.random.stateless_uniform([], seeds[0], 0, shape[0] - side + 1, dtype=tf.int32)
    left = tf.random.stateless_uniform([], seeds[1], 0, shape[1] - side + 1, dtype=tf.int32)
    window = _resize_square(image[top : top + side, left : left + side], crop_size)
    return tf.image.stateless_random_flip_left_right(window, seeds[2])
