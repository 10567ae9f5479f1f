"""SavedModel export for TF Serving, with the decode (annealed mean, Lab to RGB) baked in.

`export_saved_model(net, "models/colorizer/1")` writes a SavedModel (tag "serve") with four
signatures, all built on `serving_fn`:

| signature | inputs | outputs |
|---|---|---|
| `serving_default` | `image_bytes` string `[N]` | `colorized_png_bytes` string `[N]`, `height`, `width` int32 `[N]` |
| `serving_default_with_temperature` | as above + `temperature` float32 `[N]` or `[1]` | as above |
| `colorize_tensor` | `images` uint8 `[N, H, W, C]`, C = 1, 3 (or 2, 4) | `rgb` uint8 `[N, H, W, 3]`, `ab` float32 `[N, H, W, 2]` |
| `colorize_tensor_with_temperature` | as above + `temperature` float32 `[N]` or `[1]` | as above |

- `image_bytes`: encoded JPEG/PNG/BMP/GIF/WebP, one per image, sizes may differ (a `tf.map_fn`
  over images); each output is at its input's own size, L kept from the input.
- The PNG output is named `colorized_png_bytes`, not `colorized_png`: TF Serving's REST API
  base64-encodes (`{"b64": ...}`) only string outputs whose name ends in `_bytes`; any other
  name would put raw PNG bytes into the JSON answer.
- Temperature: TF Serving's REST API needs every signature input in every request (its JSON
  parser, `json_tensor.cc`, checks instance keys against all inputs; only gRPC requests get
  `SignatureDef.defaults`), so "optional" means a twin signature: the plain ones use the
  export's temperature (0.38 by default), the `*_with_temperature` ones take it as an input,
  one value per image or a single value for all.
- Weights are stored once: a plain `tf.Module` tracks the network's `tf.Variable`s (not the
  Keras model, see `ColorizerModule`) and `tf.saved_model.save` writes them; see
  `parameter_bytes` and `directory_bytes`.

Example:

>>> import tempfile
>>> from keras_colorful import models
>>> path = export_saved_model(models.build_model("tiny"), tempfile.mkdtemp() + "/1", network_size=32)
>>> sorted(tf.saved_model.load(path).signatures)  # doctest: +NORMALIZE_WHITESPACE
['colorize_tensor', 'colorize_tensor_with_temperature', 'serving_default',
 'serving_default_with_temperature']
"""

import os

import keras
import numpy as np
import tensorflow as tf

from keras_colorful import constants, postprocess
from keras_colorful.export import serving_fn

# Signature names and their input/output keys: the serving contract.
SERVING_DEFAULT = "serving_default"
COLORIZE_TENSOR = "colorize_tensor"
WITH_TEMPERATURE_SUFFIX = "_with_temperature"
IMAGE_BYTES = "image_bytes"
COLORIZED_PNG = "colorized_png_bytes"
HEIGHT = "height"
WIDTH = "width"
IMAGES = "images"
RGB = "rgb"
AB = "ab"
TEMPERATURE = "temperature"

_BYTES_SPEC = tf.TensorSpec([None], tf.string, name=IMAGE_BYTES)
_IMAGES_SPEC = tf.TensorSpec([None, None, None, None], tf.uint8, name=IMAGES)
_TEMPERATURE_SPEC = tf.TensorSpec([None], tf.float32, name=TEMPERATURE)


class ColorizerModule(tf.Module):
    """A `tf.Module` holding the logits network and the serving `tf.function`s.

    Args:
        net: L in [0, 100] `[N, H, W, 1]` to logits `[N, H / 4, W / 4, 313]` (`build_model`).
        network_size: see `serving_fn.colorize_rgb` (default 256, the release's demo).
        temperature: the temperature of the signatures without a temperature input.

    Example:

    >>> import numpy as np
    >>> from keras_colorful import models
    >>> module = ColorizerModule(models.build_model("tiny"), network_size=16)
    >>> module.colorize_tensor(np.zeros((1, 8, 8, 1), "uint8"))["rgb"].shape
    TensorShape([1, 8, 8, 3])
    """

    def __init__(
        self,
        net: keras.Model,
        network_size=serving_fn.DEFAULT_NETWORK_SIZE,
        temperature: float = constants.ANNEALED_MEAN_TEMPERATURE,
    ):
        super().__init__(name="colorizer")
        serving_fn.check_logits_network(net)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}.")
        postprocess.network_size_for(8, 8, network_size)  # raises ValueError on a bad size
        # The Keras model stays out of the SavedModel's object graph: a Keras variable exports
        # as a copy of its tf.Variable, so the graph would hold every weight twice and the TF1
        # session loader (TF Serving) would restore the copy but run the functions on the
        # original, never restored. The functions' own tf.Variables are tracked instead.
        object.__setattr__(self, "_net", net)
        self.weights = serving_fn.tf_variables(net)
        self._network_size = network_size
        self._temperature = float(temperature)

    def _colorize_bytes(self, image_bytes, temperature):
        temperature = tf.broadcast_to(tf.reshape(temperature, [-1]), tf.shape(image_bytes))

        def colorize_one(args):
            one_image, one_temperature = args
            return serving_fn.colorize_encoded(
                self._net, one_image, one_temperature, self._network_size
            )

        png, height, width = tf.map_fn(
            colorize_one,
            (image_bytes, temperature),
            fn_output_signature=(tf.string, tf.int32, tf.int32),
        )
        return {COLORIZED_PNG: png, HEIGHT: height, WIDTH: width}

    def _colorize_tensor(self, images, temperature):
        rgb, ab = serving_fn.colorize_uint8(self._net, images, temperature, self._network_size)
        return {RGB: rgb, AB: ab}

    @tf.function(input_signature=[_BYTES_SPEC], autograph=False)
    def serve_bytes(self, image_bytes):
        """Encoded images `[N]` to PNGs `[N]` and their heights and widths."""
        return self._colorize_bytes(image_bytes, tf.constant(self._temperature))

    @tf.function(input_signature=[_BYTES_SPEC, _TEMPERATURE_SPEC], autograph=False)
    def serve_bytes_with_temperature(self, image_bytes, temperature):
        """`serve_bytes` with a temperature per image (`[N]`) or for all (`[1]`)."""
        return self._colorize_bytes(image_bytes, temperature)

    @tf.function(input_signature=[_IMAGES_SPEC], autograph=False)
    def colorize_tensor(self, images):
        """uint8 images `[N, H, W, C]` to uint8 RGB `[N, H, W, 3]` and ab `[N, H, W, 2]`."""
        return self._colorize_tensor(images, tf.constant(self._temperature))

    @tf.function(input_signature=[_IMAGES_SPEC, _TEMPERATURE_SPEC], autograph=False)
    def colorize_tensor_with_temperature(self, images, temperature):
        """`colorize_tensor` with a temperature per image (`[N]`) or for all (`[1]`)."""
        return self._colorize_tensor(images, temperature)

    def signatures(self) -> dict:
        """The signature map for `tf.saved_model.save`."""
        return {
            SERVING_DEFAULT: self.serve_bytes,
            SERVING_DEFAULT + WITH_TEMPERATURE_SUFFIX: self.serve_bytes_with_temperature,
            COLORIZE_TENSOR: self.colorize_tensor,
            COLORIZE_TENSOR + WITH_TEMPERATURE_SUFFIX: self.colorize_tensor_with_temperature,
        }


def export_saved_model(
    net: keras.Model,
    output_dir: str | os.PathLike,
    *,
    network_size=serving_fn.DEFAULT_NETWORK_SIZE,
    temperature: float = constants.ANNEALED_MEAN_TEMPERATURE,
    overwrite: bool = False,
) -> str:
    """Writes a SavedModel (tag "serve") for TF Serving with the signatures of this module.

    Args:
        net: the logits network: L in [0, 100] `[N, H, W, 1]` to `[N, H / 4, W / 4, 313]`,
            e.g. `keras.models.load_model("model.keras")` after `import keras_colorful.models`.
        output_dir: the version directory, e.g. "models/colorizer/1" (TF Serving serves
            `<model_base_path>/<integer version>/`).
        network_size: the size the network runs at (see `serving_fn.colorize_rgb`): an int
            (default 256, the release's demo), a (height, width) pair, or None for each
            image's own size rounded to a multiple of 8.
        temperature: annealed-mean temperature of the signatures without a temperature input.
        overwrite: replace the files of an existing non-empty `output_dir`.

    Returns:
        The SavedModel directory, as a string.

    Raises:
        FileExistsError: `output_dir` is not empty and `overwrite` is False.
        TypeError, ValueError: `net` is not a logits network; bad temperature or size.

    Example:

    >>> import tempfile
    >>> from keras_colorful import models
    >>> net = models.build_model("tiny")
    >>> path = export_saved_model(net, tempfile.mkdtemp() + "/1", network_size=16)
    >>> directory_bytes(path) < 1.1 * parameter_bytes(net) + 2**20
    True
    """
    output_dir = os.fspath(output_dir)
    if os.path.isdir(output_dir) and os.listdir(output_dir) and not overwrite:
        raise FileExistsError(
            f"{output_dir} exists and is not empty; pass overwrite=True (--overwrite) or a new "
            "version directory."
        )
    module = ColorizerModule(net, network_size=network_size, temperature=temperature)
    tf.saved_model.save(module, output_dir, signatures=module.signatures())
    return output_dir


def parameter_bytes(net: keras.Model) -> int:
    """Bytes of the network's weights (trainable and not) stored as float32.

    Example:

    >>> from keras_colorful import models
    >>> parameter_bytes(models.build_model("tiny")) > 0
    True
    """
    return 4 * sum(int(np.prod(weight.shape)) for weight in net.weights)


def directory_bytes(path: str | os.PathLike) -> int:
    """Total size in bytes of the files under `path` (recursively).

    Example:

    >>> import tempfile
    >>> directory_bytes(tempfile.mkdtemp())
    0
    """
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(path)
        for name in names
    )
