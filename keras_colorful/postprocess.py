"""Pre- and post-processing around the network, as in the authors' demo: pure TensorFlow functions.

The release's demo resized the image to 256x256 for the network, upsampled the predicted ab
x4 (bilinear, PyTorch `align_corners=False`), resized that to the original size (bilinear again)
and joined it with the ORIGINAL full-resolution L before converting to RGB. Here:

- `preprocess_l(l_full, network_size)`: L at the size the network runs at.
- `upsample_ab(ab, size)`: one bilinear resize with half-pixel centres; `tf.image.resize`'s
  bilinear (no antialiasing) is PyTorch's `interpolate(mode="bilinear", align_corners=False)`.
- `reconstruct_rgb(l_full, ab_quarter)`: ab x4 then to L's size, concatenated with L, Lab to
  RGB in [0, 1].

Example:

>>> import tensorflow as tf
>>> l_full = tf.fill((1, 300, 200, 1), 60.0)
>>> preprocess_l(l_full, 256).shape
TensorShape([1, 256, 256, 1])
>>> reconstruct_rgb(l_full, tf.zeros((1, 64, 64, 2))).shape
TensorShape([1, 300, 200, 3])
"""

import tensorflow as tf

from keras_colorful import color, constants

# Size the release's demo fed to the network.
DEMO_NETWORK_SIZE = 256
# Total stride of the network: H and W must be multiples of this.
SIZE_MULTIPLE = 8


def upsample_ab(ab: tf.Tensor, size) -> tf.Tensor:
    """Bilinear resize of ab `[N, h, w, 2]` (or `[h, w, 2]`) to `size` = (H, W).

    Half-pixel centres, no antialiasing: PyTorch `F.interpolate(mode="bilinear",
    align_corners=False)`, which the release used (its `nn.Upsample(scale_factor=4)` too).

    Args:
        ab: ab channels, any float dtype.
        size: target (height, width), ints or an int tensor of shape [2].

    Returns:
        ab at `size`, float32.

    Example:

    >>> upsample_ab(tf.zeros((1, 4, 4, 2)), (16, 16)).shape
    TensorShape([1, 16, 16, 2])
    """
    return tf.image.resize(tf.cast(ab, tf.float32), size, method="bilinear", antialias=False)


def reconstruct_rgb(l_full: tf.Tensor, ab_quarter: tf.Tensor) -> tf.Tensor:
    """Joins predicted quarter-resolution ab with the original L and converts to RGB.

    As the release's demo: ab is upsampled x4 (to the network's input size), then resized to
    L's size (an identity when they match), concatenated with the original L, converted with
    `color.lab_to_rgb` and clipped to [0, 1].

    Args:
        l_full: L in [0, 100], `[N, H, W, 1]` (or `[H, W, 1]`), the original resolution.
        ab_quarter: ab `[N, h, w, 2]` (or `[h, w, 2]`) from the inference model.

    Returns:
        RGB `[N, H, W, 3]` float32 in [0, 1].

    Example:

    >>> rgb = reconstruct_rgb(tf.fill((1, 8, 8, 1), 50.0), tf.zeros((1, 2, 2, 2)))
    >>> rgb.shape
    TensorShape([1, 8, 8, 3])
    """
    l_full = tf.cast(l_full, tf.float32)
    ab_quarter = tf.cast(ab_quarter, tf.float32)
    quarter_size = tf.shape(ab_quarter)[-3:-1]
    ab = upsample_ab(ab_quarter, quarter_size * constants.AB_SUBSAMPLE)
    ab = upsample_ab(ab, tf.shape(l_full)[-3:-1])
    rgb = color.lab_to_rgb(tf.concat([l_full, ab], axis=-1))
    return tf.clip_by_value(tf.cast(rgb, tf.float32), 0.0, 1.0)


def _maximum(a, b):
    return max(a, b) if isinstance(a, int) else tf.maximum(a, b)


def network_size_for(height, width, network_size=DEMO_NETWORK_SIZE):
    """The (height, width) at which the network runs for an image of the given size.

    Args:
        height: image height (int or scalar int tensor).
        width: image width (int or scalar int tensor).
        network_size: an int (square, e.g. the demo's 256), a (height, width) pair, or None to
            keep the image's size rounded to the nearest multiple of 8 (at least 8).

    Returns:
        (height, width): ints for int sizes, int32 tensors for tensor sizes.

    Raises:
        ValueError: a given network size that is not a positive multiple of 8.

    Example:

    >>> network_size_for(300, 203, None)
    (304, 200)
    """
    if network_size is None:
        # Nearest multiple (ties round up), at least one multiple; works on ints and int tensors.
        half = SIZE_MULTIPLE // 2
        return tuple(
            _maximum((size + half) // SIZE_MULTIPLE * SIZE_MULTIPLE, SIZE_MULTIPLE)
            for size in (height, width)
        )
    if isinstance(network_size, int):
        network_size = (network_size, network_size)
    network_size = tuple(int(s) for s in network_size)
    if len(network_size) != 2 or any(s < 1 or s % SIZE_MULTIPLE for s in network_size):
        raise ValueError(
            f"network_size must be positive multiples of {SIZE_MULTIPLE}, got {network_size}."
        )
    return network_size


def preprocess_l(l_full: tf.Tensor, network_size=DEMO_NETWORK_SIZE) -> tf.Tensor:
    """Resizes L to the size the network runs at.

    Bicubic with antialiasing (close to the PIL bicubic resize of the release's demo, which
    resized the RGB image before taking L), clipped back to [0, 100].

    Args:
        l_full: L in [0, 100], `[N, H, W, 1]` or `[H, W, 1]`.
        network_size: see `network_size_for`: an int (square; the demo used 256), a
            (height, width) pair, or None to keep the size rounded to a multiple of 8.

    Returns:
        L `[N, h, w, 1]` (or `[h, w, 1]`) float32 with h and w multiples of 8.

    Example:

    >>> preprocess_l(tf.fill((1, 100, 150, 1), 40.0), None).shape
    TensorShape([1, 104, 152, 1])
    """
    l_full = tf.cast(l_full, tf.float32)
    height, width = l_full.shape[-3], l_full.shape[-2]
    if height is None or width is None:
        dynamic_shape = tf.shape(l_full)
        height, width = dynamic_shape[-3], dynamic_shape[-2]
    size = network_size_for(height, width, network_size)
    resized = tf.image.resize(l_full, size, method="bicubic", antialias=True)
    return tf.clip_by_value(resized, 0.0, constants.L_SCALE)
