"""Image to colorized image: the one pipeline of the package, as pure TensorFlow ops.

The authors' demo, step by step (every caller chains these functions, nothing else):

1. `lightness(rgb)`: CIE L of the photo, kept at full resolution.
2. `preprocess_l(l_full, network_size)`: L at the size the network runs at (the demo's 256x256 by
   default, or the photo's own size rounded to a multiple of 8: `network_size_for`).
3. `predict_ab(net, l_network, temperature)`: the network's 313 bin logits, decoded by the
   annealed mean (`models.AnnealedMean`, T = 0.38 by default): ab at 1/4 of the network size.
4. `upsample_to(ab_quarter, size)`: ab x4 (bilinear, half-pixel centres, as PyTorch's
   `align_corners=False`), then to the photo's size (bilinear again).
5. `reconstruct(l_full, ab_quarter)`: the photo's ORIGINAL L joined with that ab, Lab to RGB,
   clipped to [0, 1]; `to_uint8` rounds it.

`colorize_rgb` / `colorize_uint8` run all of it on a batch of same-size images;
`inference.pipeline_by_bands` runs steps 1 and 4-5 for one large image in the graph, by bands of
rows, in bounded memory (the SavedModel's encoded-image path). The callers:
`inference.Colorizer` (the Python API: the full-resolution steps 1, 4 and 5 by bands of rows, see
`inference.full_resolution`), `export.saved_model_lib` (TF Serving), `export.tflite_lib`,
`training.callbacks` (TensorBoard grids) and `evaluation` (through the `Colorizer`).

Example:

>>> import numpy as np
>>> from keras_colorful import models
>>> rgb, ab = colorize_uint8(models.build_model("tiny"), np.zeros((1, 30, 20, 1), "uint8"), 0.38, 32)
>>> rgb.shape, rgb.dtype, ab.shape
(TensorShape([1, 30, 20, 3]), tf.uint8, TensorShape([1, 30, 20, 2]))
"""

import keras
import tensorflow as tf

from keras_colorful import bins, color, constants, models

DEFAULT_NETWORK_SIZE = constants.DEMO_NETWORK_SIZE
SIZE_MULTIPLE = constants.SIZE_MULTIPLE


# --- the network size -------------------------------------------------------------------------


def parse_network_size(value) -> int | None:
    """A network size as the command lines write it: a multiple of 8, or the photo's own size.

    `constants.NATIVE_NETWORK_SIZE` ("native"), 0 and None all mean "each photo's own size,
    rounded to a multiple of 8", which the library writes None.

    Raises:
        ValueError: anything else.

    Example:

    >>> parse_network_size("256"), parse_network_size("native"), parse_network_size(0)
    (256, None, None)
    """
    if value is None or value == constants.NATIVE_NETWORK_SIZE:
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = -1
    if size == 0:
        return None
    if size < SIZE_MULTIPLE or size % SIZE_MULTIPLE or str(size) != str(value).strip():
        raise ValueError(
            f"network size must be a multiple of {SIZE_MULTIPLE} or "
            f"{constants.NATIVE_NETWORK_SIZE!r}, got {value!r}"
        )
    return size


def _maximum(a, b):
    return max(a, b) if isinstance(a, int) else tf.maximum(a, b)


def network_size_for(height, width, network_size=DEFAULT_NETWORK_SIZE):
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


# --- steps 1 and 2: L --------------------------------------------------------------------------


def lightness(rgb: tf.Tensor) -> tf.Tensor:
    """L in [0, 100] `[..., 1]` float32 of RGB `[..., 3]`: uint8, or float in [0, 1].

    Example:

    >>> lightness(tf.ones((1, 1, 3))).numpy().round(3).tolist()
    [[[100.0]]]
    """
    rgb = tf.convert_to_tensor(rgb)
    if rgb.dtype != tf.uint8:
        rgb = tf.cast(rgb, tf.float32)
    return color.rgb_to_lab(rgb)[..., :1]


def preprocess_l(l_full: tf.Tensor, network_size=DEFAULT_NETWORK_SIZE) -> tf.Tensor:
    """Resizes L to the size the network runs at.

    Bicubic with antialiasing (close to the PIL bicubic resize of the release's demo, which
    resized the RGB image before taking L), clipped back to [0, 100].

    Args:
        l_full: L in [0, 100], `[N, H, W, 1]` or `[H, W, 1]`.
        network_size: see `network_size_for`.

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


# --- step 3: the network and the decode --------------------------------------------------------


def is_logits_network(model) -> bool:
    """Whether `model` is a Keras model with 313 bin logits per pixel (`build_model`'s output).

    Example:

    >>> is_logits_network(models.build_model("tiny"))
    True
    """
    if not isinstance(model, keras.Model):
        return False
    output_shape = model.output_shape
    return isinstance(output_shape, tuple) and output_shape[-1] == constants.NUM_BINS


def check_logits_network(net) -> None:
    """Raises TypeError / ValueError unless `net` is a logits network (`is_logits_network`)."""
    if not isinstance(net, keras.Model):
        raise TypeError(f"net must be a keras.Model, got {type(net).__name__}.")
    if not is_logits_network(net):
        raise ValueError(
            f"net must output {constants.NUM_BINS} bin logits per pixel (a network from "
            f"keras_colorful.models.build_model), got output shape {net.output_shape}."
        )


def _per_image_temperature(temperature, num_images) -> tf.Tensor:
    """A `[]`, `[1]` or `[N]` temperature tensor as `[N]`, checked > 0 at run time."""
    temperature = tf.cast(temperature, tf.float32)
    temperature = tf.broadcast_to(tf.reshape(temperature, [-1]), [num_images])
    check = tf.debugging.assert_positive(temperature, message="temperature must be > 0")
    with tf.control_dependencies([check] if check is not None else []):
        return tf.identity(temperature)


def decode_logits(logits: tf.Tensor, temperature=constants.ANNEALED_MEAN_TEMPERATURE) -> tf.Tensor:
    """Bin logits `[N, h, w, 313]` to ab `[N, h, w, 2]` with the annealed mean.

    Args:
        logits: the network's output.
        temperature: a Python number, or a tensor of shape `[]`, `[1]` or `[N]` (per image).

    Example:

    >>> decode_logits(tf.zeros((2, 4, 4, 313)), tf.constant([0.38, 1.0])).shape
    TensorShape([2, 4, 4, 2])
    """
    if isinstance(temperature, (int, float)):
        return models.AnnealedMean(bins.check_temperature(temperature))(logits)
    per_image = _per_image_temperature(temperature, tf.shape(logits)[0])
    return models.AnnealedMean()(logits, temperature=per_image)


def predict_ab(
    net: keras.Model, l_network: tf.Tensor, temperature=constants.ANNEALED_MEAN_TEMPERATURE
) -> tf.Tensor:
    """Runs the network on L and decodes its logits (`decode_logits`).

    Args:
        net: L in [0, 100] `[N, h, w, 1]` to logits `[N, h / 4, w / 4, 313]` (`build_model`).
        l_network: L at the network size, `[N, h, w, 1]`, h and w multiples of 8.
        temperature: see `decode_logits`.

    Returns:
        ab `[N, h / 4, w / 4, 2]` float32.

    Example:

    >>> predict_ab(models.build_model("tiny"), tf.fill((2, 16, 16, 1), 50.0)).shape
    TensorShape([2, 4, 4, 2])
    """
    logits = net(tf.cast(l_network, tf.float32), training=False)
    return decode_logits(logits, temperature)


# --- steps 4 and 5: back to the photo ----------------------------------------------------------


def upsample_ab(ab: tf.Tensor, size) -> tf.Tensor:
    """Bilinear resize of ab `[N, h, w, 2]` (or `[h, w, 2]`) to `size` = (H, W), float32.

    Half-pixel centres, no antialiasing: PyTorch `F.interpolate(mode="bilinear",
    align_corners=False)`, which the release used (its `nn.Upsample(scale_factor=4)` too).

    Example:

    >>> upsample_ab(tf.zeros((1, 4, 4, 2)), (16, 16)).shape
    TensorShape([1, 16, 16, 2])
    """
    return tf.image.resize(tf.cast(ab, tf.float32), size, method="bilinear", antialias=False)


def upsample_to(ab_quarter: tf.Tensor, size=None) -> tf.Tensor:
    """The release's two upsamplings: ab x4 to the network's input size, then to `size`.

    Args:
        ab_quarter: ab `[N, h, w, 2]` (or `[h, w, 2]`) from `predict_ab`.
        size: the photo's (H, W); None stops at the network's input size (4h, 4w).

    Example:

    >>> upsample_to(tf.zeros((1, 2, 3, 2)), (9, 5)).shape
    TensorShape([1, 9, 5, 2])
    """
    quarter_size = tf.shape(ab_quarter)[-3:-1]
    ab = upsample_ab(ab_quarter, quarter_size * constants.AB_SUBSAMPLE)
    return ab if size is None else upsample_ab(ab, size)


def reconstruct(l_full: tf.Tensor, ab_quarter: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The original L joined with the predicted ab at L's size: (RGB in [0, 1], ab), float32.

    Example:

    >>> rgb, ab = reconstruct(tf.fill((1, 8, 8, 1), 50.0), tf.zeros((1, 2, 2, 2)))
    >>> rgb.shape, ab.shape
    (TensorShape([1, 8, 8, 3]), TensorShape([1, 8, 8, 2]))
    """
    l_full = tf.cast(l_full, tf.float32)
    ab = upsample_to(ab_quarter, tf.shape(l_full)[-3:-1])
    rgb = color.lab_to_rgb(tf.concat([l_full, ab], axis=-1))
    return tf.clip_by_value(tf.cast(rgb, tf.float32), 0.0, 1.0), ab


def reconstruct_rgb(l_full: tf.Tensor, ab_quarter: tf.Tensor) -> tf.Tensor:
    """`reconstruct`'s RGB `[N, H, W, 3]` in [0, 1].

    Example:

    >>> reconstruct_rgb(tf.fill((1, 8, 8, 1), 50.0), tf.zeros((1, 2, 2, 2))).shape
    TensorShape([1, 8, 8, 3])
    """
    return reconstruct(l_full, ab_quarter)[0]


def to_uint8(rgb: tf.Tensor) -> tf.Tensor:
    """Float RGB in [0, 1] (values outside are clipped) to uint8, rounding to nearest.

    Example:

    >>> to_uint8(tf.constant([-0.1, 0.5, 1.2])).numpy().tolist()
    [0, 128, 255]
    """
    rgb = tf.clip_by_value(tf.cast(rgb, tf.float32), 0.0, 1.0)
    return tf.cast(tf.round(rgb * 255.0), tf.uint8)


def uint8_to_rgb(images: tf.Tensor) -> tf.Tensor:
    """uint8 images `[N, H, W, C]` to float RGB in [0, 1] `[N, H, W, 3]`.

    C = 1 (gray) or 2 (gray + alpha): the gray channel is repeated; C = 3: as is; C = 4 (RGBA):
    alpha dropped. The channel count may be unknown until run time.

    Example:

    >>> uint8_to_rgb(tf.constant([[[[255]]]], tf.uint8)).numpy().tolist()
    [[[[1.0, 1.0, 1.0]]]]
    """
    images = tf.convert_to_tensor(images)
    num_channels = tf.shape(images)[-1]
    tf.debugging.assert_less_equal(
        num_channels, 4, message="images need 1 (gray), 2, 3 (RGB) or 4 (RGBA) channels"
    )
    rgb = tf.cond(
        num_channels < 3,
        lambda: tf.repeat(images[..., :1], 3, axis=-1),
        lambda: images[..., :3],
    )
    return tf.cast(rgb, tf.float32) / 255.0


# --- all of it -------------------------------------------------------------------------------


def colorize_rgb(
    net: keras.Model,
    rgb: tf.Tensor,
    temperature=constants.ANNEALED_MEAN_TEMPERATURE,
    network_size=DEFAULT_NETWORK_SIZE,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Colorizes a batch of same-size RGB images at their own resolution.

    Args:
        net: the logits network (see `predict_ab`).
        rgb: float `[N, H, W, 3]` in [0, 1] (only its L is used).
        temperature: a Python number, or a `[]`, `[1]` or `[N]` tensor.
        network_size: see `network_size_for`.

    Returns:
        (rgb, ab): the colorized RGB uint8 `[N, H, W, 3]` (L from the input) and the predicted
        ab at `[N, H, W, 2]` float32.

    Example:

    >>> import numpy as np
    >>> rgb, ab = colorize_rgb(models.build_model("tiny"), np.ones((1, 9, 7, 3), "float32"), 0.38, 16)
    >>> rgb.shape
    TensorShape([1, 9, 7, 3])
    """
    l_full = lightness(rgb)
    ab_quarter = predict_ab(net, preprocess_l(l_full, network_size), temperature)
    colorized, ab = reconstruct(l_full, ab_quarter)
    return to_uint8(colorized), ab


def colorize_uint8(
    net: keras.Model,
    images: tf.Tensor,
    temperature=constants.ANNEALED_MEAN_TEMPERATURE,
    network_size=DEFAULT_NETWORK_SIZE,
) -> tuple[tf.Tensor, tf.Tensor]:
    """`colorize_rgb` on uint8 images `[N, H, W, C]`, C in 1..4 (see `uint8_to_rgb`).

    Example:

    >>> import numpy as np
    >>> rgb, _ = colorize_uint8(models.build_model("tiny"), np.zeros((2, 8, 8, 3), "uint8"), 1.0, 8)
    >>> rgb.shape
    TensorShape([2, 8, 8, 3])
    """
    return colorize_rgb(net, uint8_to_rgb(images), temperature, network_size)

