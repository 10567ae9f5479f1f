"""SavedModel export for TF Serving, with the whole `inference.pipeline` baked in.

`export_saved_model(net, "models/colorizer/1")` writes a SavedModel (tag "serve") with four
signatures:

| signature | inputs | outputs |
|---|---|---|
| `serving_default` | `image_bytes` string `[N]` | `colorized_png_bytes` string `[N]`, `height`, `width` int32 `[N]` |
| `serving_default_with_temperature` | as above + `temperature` float32 `[N]` or `[1]` | as above |
| `colorize_tensor` | `images` uint8 `[N, H, W, C]`, C = 1, 3 (or 2, 4) | `rgb` uint8 `[N, H, W, 3]`, `ab` float32 `[N, H, W, 2]` |
| `colorize_tensor_with_temperature` | as above + `temperature` float32 `[N]` or `[1]` | as above |

- `image_bytes`: encoded JPEG/PNG/BMP/GIF/WebP, one per image, sizes may differ (a `tf.map_fn`
  over images); decoded as the Python API reads files (`colorize_encoded`); each output is at its
  input's own size, L kept from the input.
- The PNG output is named `colorized_png_bytes`, not `colorized_png`: TF Serving's REST API
  base64-encodes (`{"b64": ...}`) only string outputs whose name ends in `_bytes`.
- Temperature: TF Serving's REST API needs every signature input in every request (only gRPC
  requests get `SignatureDef.defaults`), so "optional" means a twin signature: the plain ones use
  the export's temperature (0.38 by default), the `*_with_temperature` ones take it as an input,
  one value per image or a single value for all.
- Weights are stored once (`export.variables`).

`load_predictor(path)` reads such a SavedModel back for `keras_colorful.load`.
"""

import os
import pathlib

import keras
import numpy as np
import tensorflow as tf

from keras_colorful import bins, constants
from keras_colorful.data import decode, orientation
from keras_colorful.export import variables
from keras_colorful.inference import full_resolution, pipeline

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


def colorize_encoded(
    net: keras.Model,
    image_bytes: tf.Tensor,
    temperature=constants.ANNEALED_MEAN_TEMPERATURE,
    network_size=pipeline.DEFAULT_NETWORK_SIZE,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Colorizes one encoded image (JPEG, PNG, BMP, GIF, WebP) to a PNG at its own size.

    Decoding is `data.decode.decode_rgb` (gray repeated, alpha dropped, first GIF frame, 16-bit
    PNG kept at full precision until Lab) followed by the EXIF orientation
    (`data.orientation`), as the Python API's `image_io.read_image` turns photos upright.

    Args:
        net: the logits network.
        image_bytes: a scalar string tensor, the file's bytes.
        temperature: annealed-mean temperature (scalar).
        network_size: see `pipeline.network_size_for`.

    Returns:
        (png, height, width): the colorized RGB image PNG-encoded (scalar string) and its
        height and width (int32 scalars, the upright input's).

    Example:

    >>> from keras_colorful import models
    >>> png = tf.io.encode_png(tf.zeros((12, 10, 1), tf.uint8))
    >>> _, height, width = colorize_encoded(models.build_model("tiny"), png, 0.38, 16)
    >>> int(height), int(width)
    (12, 10)
    """
    rgb = decode.decode_rgb(image_bytes)
    rgb = orientation.apply_exif_orientation(rgb, image_bytes) / 255.0
    colorized, _ = pipeline.colorize_rgb(net, rgb[tf.newaxis], temperature, network_size)
    shape = tf.shape(colorized)
    return tf.io.encode_png(colorized[0]), shape[1], shape[2]


class ColorizerModule(tf.Module):
    """A `tf.Module` holding the logits network and the serving `tf.function`s.

    Args:
        net: L in [0, 100] `[N, H, W, 1]` to logits `[N, H / 4, W / 4, 313]` (`build_model`).
        network_size: see `pipeline.network_size_for` (default 256, the release's demo).
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
        network_size=pipeline.DEFAULT_NETWORK_SIZE,
        temperature: float = constants.ANNEALED_MEAN_TEMPERATURE,
    ):
        super().__init__(name="colorizer")
        pipeline.check_logits_network(net)
        temperature = bins.check_temperature(temperature)
        pipeline.network_size_for(8, 8, network_size)  # raises ValueError on a bad size
        # The Keras model stays out of the object graph (see `export.variables`).
        object.__setattr__(self, "_net", net)
        self.weights = variables.tf_variables(net)
        self._network_size = network_size
        self._temperature = float(temperature)

    def _colorize_bytes(self, image_bytes, temperature):
        temperature = tf.broadcast_to(tf.reshape(temperature, [-1]), tf.shape(image_bytes))

        def colorize_one(args):
            one_image, one_temperature = args
            return colorize_encoded(self._net, one_image, one_temperature, self._network_size)

        png, height, width = tf.map_fn(
            colorize_one,
            (image_bytes, temperature),
            fn_output_signature=(tf.string, tf.int32, tf.int32),
        )
        return {COLORIZED_PNG: png, HEIGHT: height, WIDTH: width}

    def _colorize_tensor(self, images, temperature):
        rgb, ab = pipeline.colorize_uint8(self._net, images, temperature, self._network_size)
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
    network_size=pipeline.DEFAULT_NETWORK_SIZE,
    temperature: float = constants.ANNEALED_MEAN_TEMPERATURE,
    overwrite: bool = False,
) -> str:
    """Writes a SavedModel (tag "serve") for TF Serving with the signatures of this module.

    Args:
        net: the logits network: L in [0, 100] `[N, H, W, 1]` to `[N, H / 4, W / 4, 313]`,
            e.g. `keras_colorful.loading.load_network("runs/a/model.keras")`.
        output_dir: the version directory, e.g. "models/colorizer/1" (TF Serving serves
            `<model_base_path>/<integer version>/`).
        network_size: the size the network runs at (see `pipeline.network_size_for`): an int
            (default 256, the release's demo), a (height, width) pair, or None for each
            image's own size rounded to a multiple of 8.
        temperature: annealed-mean temperature of the signatures without a temperature input.
        overwrite: replace the files of an existing non-empty `output_dir`.

    Returns:
        The SavedModel directory, as a string.

    Raises:
        FileExistsError: `output_dir` is not empty and `overwrite` is False.
        TypeError, ValueError: `net` is not a logits network; bad temperature or size.
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


def load_predictor(path: str | os.PathLike):
    """A SavedModel written by `export_saved_model`, as the `Colorizer`'s predictor.

    The returned callable takes L at the network size float32 `[N, h, w, 1]` and a temperature
    and gives ab `[N, h, w, 2]`: it feeds the gray image of that L (uint8, as the signature
    takes) to `colorize_tensor_with_temperature` (or `colorize_tensor`, whose temperature is
    fixed at export) and reads its ab output. The full-resolution work stays in the
    `Colorizer`, so large images cost the same memory as with a `.keras` model. The export's
    own network size applies inside the SavedModel; keep the `Colorizer`'s the same (both
    default to 256).

    Returns:
        A callable `(l_network, temperature) -> ab` with a `name` attribute.

    Raises:
        ValueError: the SavedModel has neither signature.
    """
    path = os.fspath(path)
    loaded = tf.saved_model.load(path)
    with_temperature = COLORIZE_TENSOR + WITH_TEMPERATURE_SUFFIX
    if with_temperature in loaded.signatures:
        signature, fixed_temperature = loaded.signatures[with_temperature], None
    elif COLORIZE_TENSOR in loaded.signatures:
        signature = loaded.signatures[COLORIZE_TENSOR]
        fixed_temperature = constants.ANNEALED_MEAN_TEMPERATURE
    else:
        raise ValueError(
            f"SavedModel {path!r} has no {COLORIZE_TENSOR!r} signature (it has "
            f"{sorted(loaded.signatures)}); export it with keras_colorful.export."
        )

    def predict(l_network: np.ndarray, temperature: float) -> np.ndarray:
        gray = np.stack([full_resolution.gray_rgb(l_full)[..., :1] for l_full in l_network])
        inputs = {IMAGES: tf.constant(gray)}
        if fixed_temperature is None:
            inputs[TEMPERATURE] = tf.constant([temperature], tf.float32)
        elif temperature != fixed_temperature:
            raise ValueError(
                f"SavedModel {path!r} has only the fixed-temperature signature "
                f"{COLORIZE_TENSOR!r}; cannot use temperature {temperature}."
            )
        return signature(**inputs)[AB].numpy()

    predict.name = pathlib.Path(path).name
    predict.loaded = loaded  # keeps the SavedModel's variables alive
    return predict
