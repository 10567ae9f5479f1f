"""The serve function shared by every export: images in, colorized images out, decode baked in.

One pipeline, written once as pure TensorFlow ops, so that the SavedModel signatures, the
TFLite wrapper and the Python `Colorizer` give the same pixels:

1. RGB (gray repeated, alpha dropped) to Lab; keep the full-resolution L.
2. L resized to the network size (`postprocess.preprocess_l`: the demo's 256x256 by default).
3. The network's logits, then the annealed mean (`bins.annealed_mean`, T = 0.38 by default):
   ab at 1/4 of the network size.
4. ab upsampled x4 and then to the original size (`postprocess.upsample_ab`, as
   `postprocess.reconstruct_rgb`), joined with the ORIGINAL L, Lab to RGB, clipped, rounded to
   uint8.

Example:

>>> import numpy as np
>>> from keras_colorful import models
>>> net = models.build_model("tiny")
>>> rgb, ab = colorize_uint8(net, np.zeros((1, 30, 20, 1), "uint8"), network_size=32)
>>> rgb.shape, rgb.dtype, ab.shape
(TensorShape([1, 30, 20, 3]), tf.uint8, TensorShape([1, 30, 20, 2]))
"""

import keras
import tensorflow as tf

from keras_colorful import bins, color, constants, data_files, postprocess

DEFAULT_NETWORK_SIZE = postprocess.DEMO_NETWORK_SIZE


def is_logits_network(model) -> bool:
    """Whether `model` is a Keras model with 313 bin logits per pixel (`build_model`'s output).

    Example:

    >>> from keras_colorful import models
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


def tf_variables(net: keras.Model) -> list[tf.Variable]:
    """The `tf.Variable`s behind a Keras model's weights (TensorFlow backend).

    An export tracks these, not the Keras model: saved directly, each Keras variable is written
    as a second `tf.Variable` beside the one the traced functions read (see saved_model_lib).

    Example:

    >>> from keras_colorful import models
    >>> all(isinstance(v, tf.Variable) for v in tf_variables(models.build_model("tiny")))
    True
    """
    variables = []
    for weight in net.weights:
        variable = getattr(weight, "value", weight)
        if not isinstance(variable, tf.Variable):
            raise TypeError(f"Cannot export weight {weight.path!r}: not a TensorFlow variable.")
        variables.append(variable)
    return variables


def _per_image_temperature(temperature, num_images) -> tf.Tensor:
    """A scalar, `[1]` or `[N]` temperature as `[N, 1, 1, 1]`, or a float as is (checked > 0)."""
    if isinstance(temperature, (int, float)):
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}.")
        return float(temperature)
    temperature = tf.cast(temperature, tf.float32)
    temperature = tf.broadcast_to(tf.reshape(temperature, [-1]), [num_images])
    check = tf.debugging.assert_positive(temperature, message="temperature must be > 0")
    with tf.control_dependencies([check] if check is not None else []):
        return tf.reshape(temperature, [-1, 1, 1, 1])


def predict_ab(
    net: keras.Model,
    l_network: tf.Tensor,
    temperature=constants.ANNEALED_MEAN_TEMPERATURE,
) -> tf.Tensor:
    """Runs the network on L and decodes its logits with the annealed mean.

    Args:
        net: L in [0, 100] `[N, h, w, 1]` to logits `[N, h / 4, w / 4, 313]` (`build_model`).
        l_network: L at the network size, float32 `[N, h, w, 1]`, h and w multiples of 8.
        temperature: annealed-mean temperature: a float, or a tensor of shape `[]`, `[1]` or
            `[N]` (one per image).

    Returns:
        ab `[N, h / 4, w / 4, 2]` float32.

    Example:

    >>> import numpy as np
    >>> from keras_colorful import models
    >>> predict_ab(models.build_model("tiny"), np.full((2, 16, 16, 1), 50.0, "float32")).shape
    TensorShape([2, 4, 4, 2])
    """
    l_network = tf.cast(l_network, tf.float32)
    logits = net(l_network, training=False)
    temperature = _per_image_temperature(temperature, tf.shape(logits)[0])
    return bins.annealed_mean(tf.cast(logits, tf.float32), temperature)


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
        temperature: annealed-mean temperature, a float or a `[]`, `[1]` or `[N]` tensor.
        network_size: the size the network runs at: an int (square; default 256 as the
            release's demo), a (height, width) pair, or None for the image's own size rounded
            to a multiple of 8 (see `postprocess.network_size_for`).

    Returns:
        (rgb, ab): the colorized RGB uint8 `[N, H, W, 3]` (L from the input) and the predicted
        ab upsampled to `[N, H, W, 2]` float32.

    Example:

    >>> import numpy as np
    >>> from keras_colorful import models
    >>> rgb, ab = colorize_rgb(models.build_model("tiny"), np.ones((1, 9, 7, 3), "float32"), 0.38, 16)
    >>> rgb.shape
    TensorShape([1, 9, 7, 3])
    """
    rgb = tf.cast(rgb, tf.float32)
    l_full = color.rgb_to_lab(rgb)[..., :1]
    ab_quarter = predict_ab(net, postprocess.preprocess_l(l_full, network_size), temperature)
    full_size = tf.shape(l_full)[1:3]
    # As postprocess.reconstruct_rgb: x4 to the network size, then to the image size; kept
    # apart here because the signatures return the full-resolution ab too.
    ab = postprocess.upsample_ab(
        ab_quarter, tf.shape(ab_quarter)[1:3] * constants.AB_SUBSAMPLE
    )
    ab = postprocess.upsample_ab(ab, full_size)
    colorized = color.lab_to_rgb(tf.concat([l_full, ab], axis=-1))
    return to_uint8(colorized), ab


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


def colorize_uint8(
    net: keras.Model,
    images: tf.Tensor,
    temperature=constants.ANNEALED_MEAN_TEMPERATURE,
    network_size=DEFAULT_NETWORK_SIZE,
) -> tuple[tf.Tensor, tf.Tensor]:
    """`colorize_rgb` on uint8 images `[N, H, W, C]`, C in 1..4 (see `uint8_to_rgb`).

    Example:

    >>> import numpy as np
    >>> from keras_colorful import models
    >>> rgb, _ = colorize_uint8(models.build_model("tiny"), np.zeros((2, 8, 8, 3), "uint8"), 1.0, 8)
    >>> rgb.shape
    TensorShape([2, 8, 8, 3])
    """
    return colorize_rgb(net, uint8_to_rgb(images), temperature, network_size)


def colorize_encoded(
    net: keras.Model,
    image_bytes: tf.Tensor,
    temperature=constants.ANNEALED_MEAN_TEMPERATURE,
    network_size=DEFAULT_NETWORK_SIZE,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Colorizes one encoded image (JPEG, PNG, BMP, GIF, WebP) to a PNG at its own size.

    Decoding is `data_files.decode_rgb` (the training pipeline's): gray repeated, alpha dropped,
    first GIF frame, 16-bit PNG kept at full precision until Lab.

    Args:
        net: the logits network (see `predict_ab`).
        image_bytes: a scalar string tensor, the file's bytes.
        temperature: annealed-mean temperature (scalar).
        network_size: see `colorize_rgb`.

    Returns:
        (png, height, width): the colorized RGB image PNG-encoded (scalar string) and its
        height and width (int32 scalars, the input's).

    Example:

    >>> from keras_colorful import models
    >>> png = tf.io.encode_png(tf.zeros((12, 10, 1), tf.uint8))
    >>> _, height, width = colorize_encoded(models.build_model("tiny"), png, 0.38, 16)
    >>> int(height), int(width)
    (12, 10)
    """
    rgb = data_files.decode_rgb(image_bytes) / 255.0
    colorized, _ = colorize_rgb(net, rgb[tf.newaxis], temperature, network_size)
    shape = tf.shape(colorized)
    return tf.io.encode_png(colorized[0]), shape[1], shape[2]
