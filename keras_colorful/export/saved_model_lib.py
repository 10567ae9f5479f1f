"""SavedModel export for TF Serving, with the whole `inference.pipeline` baked in.

`export_saved_model(net, "models/colorizer/1")` writes a SavedModel (tag "serve") with six
signatures:

| signature | inputs | outputs |
|---|---|---|
| `serving_default` | `image_bytes` string `[N]` | `colorized_png_bytes` string `[N]`, `height`, `width` int32 `[N]` |
| `serving_jpeg` | `image_bytes` string `[N]` | `colorized_jpeg_bytes` string `[N]`, `height`, `width` int32 `[N]` |
| `colorize_tensor` | `images` uint8 `[N, H, W, C]`, C = 1, 3 (or 2, 4) | `rgb` uint8 `[N, H, W, 3]`, `ab` float32 `[N, H, W, 2]` |

and each with `_with_temperature` (input `temperature` float32 `[N]` or `[1]` added).

- `image_bytes`: encoded JPEG/PNG/BMP/GIF/WebP, one per image, sizes may differ (a `tf.map_fn`
  over images); decoded as the Python API reads files (`colorize_encoded`); each output is at its
  input's own size, L kept from the input. Each image's size is read from its header before
  decoding (`data.image_header`) and an image over `max_pixels` is refused (InvalidArgument);
  8-bit images decode at 8 bits, and the full-resolution colour conversions run by bands of rows
  (`pipeline_by_bands.lightness_by_bands`, `pipeline_by_bands.reconstruct_uint8_by_bands`).
- A batch is all or nothing: one image that cannot be decoded, or over the cap, fails the whole
  request (a graph cannot catch a decoding error per image); the clients retry one by one to
  name the bad one.
- Outputs end in `_bytes`: TF Serving's REST API base64-encodes (`{"b64": ...}`) only string
  outputs whose name ends so.
- Temperature: TF Serving's REST API needs every signature input in every request (only gRPC
  requests get `SignatureDef.defaults`), so "optional" means a twin signature.
- Weights are stored once (`export.variables`); the folder is written whole or not at all
  (`version_dir`), with TF Serving's warm-up requests (`warmup`).

`load_predictor(path)` reads such a SavedModel back for `keras_colorful.load`.
"""

import os
import pathlib

import keras
import numpy as np
import tensorflow as tf

from keras_colorful import bins, constants
from keras_colorful.data import decode, image_header, orientation
from keras_colorful.export import variables, version_dir, warmup
from keras_colorful.inference import full_resolution, pipeline, pipeline_by_bands

# Signature names and their input/output keys: the serving contract.
SERVING_DEFAULT = "serving_default"
SERVING_JPEG = "serving_jpeg"
COLORIZE_TENSOR = "colorize_tensor"
WITH_TEMPERATURE_SUFFIX = "_with_temperature"
IMAGE_BYTES = "image_bytes"
COLORIZED_PNG = "colorized_png_bytes"
COLORIZED_JPEG = "colorized_jpeg_bytes"
HEIGHT = "height"
WIDTH = "width"
IMAGES = "images"
RGB = "rgb"
AB = "ab"
TEMPERATURE = "temperature"
# Largest image (height x width) the signatures accept, and the JPEG output's quality.
DEFAULT_MAX_PIXELS = constants.SERVING_MAX_PIXELS
DEFAULT_JPEG_QUALITY = constants.SERVING_JPEG_QUALITY

_BYTES_SPEC = tf.TensorSpec([None], tf.string, name=IMAGE_BYTES)
_IMAGES_SPEC = tf.TensorSpec([None, None, None, None], tf.uint8, name=IMAGES)
_TEMPERATURE_SPEC = tf.TensorSpec([None], tf.float32, name=TEMPERATURE)


def check_pixels(height, width, max_pixels: int) -> tf.Operation:
    """An op that fails with InvalidArgument when height x width exceeds `max_pixels`."""
    height, width = tf.cast(height, tf.int64), tf.cast(width, tf.int64)
    pixels = height * width
    message = tf.strings.format(
        "image of {}x{} = {} pixels is over the limit of {} pixels set when the model was "
        "exported (max_pixels)", [height, width, pixels, tf.constant(max_pixels, tf.int64)])
    return tf.debugging.Assert(pixels <= max_pixels, [message])


def colorize_encoded(
    net: keras.Model,
    image_bytes: tf.Tensor,
    temperature=constants.ANNEALED_MEAN_TEMPERATURE,
    network_size=pipeline.DEFAULT_NETWORK_SIZE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Colorizes one encoded image (JPEG, PNG, BMP, GIF, WebP) to uint8 RGB at its own size.

    The signatures encode the result (PNG or JPEG) themselves.

    The size is read from the header first and checked against `max_pixels`. Decoding is that
    of `data.decode.decode_rgb` (gray repeated, alpha dropped, first GIF frame, 16-bit PNG kept
    at full precision until Lab) followed by the EXIF orientation (`data.orientation`), as the
    Python API's `image_io.read_image` turns photos upright.

    Args:
        net: the logits network.
        image_bytes: a scalar string tensor, the file's bytes.
        temperature: annealed-mean temperature (scalar).
        network_size: see `pipeline.network_size_for`.
        max_pixels: the largest height x width accepted.

    Returns:
        (rgb, height, width): the colorized image, uint8 `[H, W, 3]`, and its height and width
        (int32 scalars, the upright input's).

    Example:

    >>> from keras_colorful import models
    >>> png = tf.io.encode_png(tf.zeros((12, 10, 1), tf.uint8))
    >>> _, height, width = colorize_encoded(models.build_model("tiny"), png, 0.38, 16)
    >>> int(height), int(width)
    (12, 10)
    """
    with tf.control_dependencies([check_pixels(*image_header.image_size(image_bytes),
                                               max_pixels)]):
        image_bytes = tf.identity(image_bytes)

    def l_of(image):
        return pipeline_by_bands.lightness_by_bands(orientation.apply_exif_orientation(image, image_bytes))

    l_full = tf.cond(decode.is_16_bit_png(image_bytes),
                     lambda: l_of(decode.decode_uint16_png(image_bytes)),
                     lambda: l_of(decode.decode_uint8(image_bytes)))
    l_network = pipeline.preprocess_l(l_full[tf.newaxis], network_size)
    ab_quarter = pipeline.predict_ab(net, l_network, temperature)[0]
    colorized = pipeline_by_bands.reconstruct_uint8_by_bands(l_full, ab_quarter)
    shape = tf.shape(colorized)
    return colorized, shape[0], shape[1]


class ColorizerModule(tf.Module):
    """A `tf.Module` holding the logits network and the serving `tf.function`s.

    Args:
        net: L in [0, 100] `[N, H, W, 1]` to logits `[N, H / 4, W / 4, 313]` (`build_model`).
        network_size: see `pipeline.network_size_for` (default 256, the release's demo).
        temperature: the temperature of the signatures without a temperature input.
        max_pixels: the largest image (height x width) the signatures accept.
        jpeg_quality: quality of `serving_jpeg`'s output.

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
        max_pixels: int = DEFAULT_MAX_PIXELS,
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
    ):
        super().__init__(name="colorizer")
        pipeline.check_logits_network(net)
        temperature = bins.check_temperature(temperature)
        pipeline.network_size_for(8, 8, network_size)  # raises ValueError on a bad size
        if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
            raise ValueError(f"max_pixels must be a positive int, got {max_pixels!r}.")
        if not 0 <= jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 0..100, got {jpeg_quality!r}.")
        # The Keras model stays out of the object graph (see `export.variables`).
        object.__setattr__(self, "_net", net)
        self.weights = variables.tf_variables(net)
        self._network_size = network_size
        self._temperature = float(temperature)
        self._max_pixels = int(max_pixels)
        self._jpeg_quality = int(jpeg_quality)
        # One encoded image to its colorized pixels: one function in the SavedModel, called by
        # the four encoded-image signatures (their graphs would otherwise each hold a copy).
        self._colorize_one = tf.function(
            self._colorize_pixels, autograph=False,
            input_signature=[tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.float32)])
        self._colorize_batch = tf.function(
            self._colorize_tensor, autograph=False, input_signature=[_IMAGES_SPEC, _TEMPERATURE_SPEC])

    def _colorize_pixels(self, image_bytes, temperature):
        return colorize_encoded(self._net, image_bytes, temperature, self._network_size,
                                self._max_pixels)

    def _colorize_bytes(self, image_bytes, temperature, image_format):
        temperature = tf.broadcast_to(tf.reshape(temperature, [-1]), tf.shape(image_bytes))

        def colorize_one(args):
            colorized, height, width = self._colorize_one(*args)
            if image_format == "jpeg":
                return tf.io.encode_jpeg(colorized, quality=self._jpeg_quality), height, width
            return tf.io.encode_png(colorized), height, width

        encoded, height, width = tf.map_fn(
            colorize_one,
            (image_bytes, temperature),
            fn_output_signature=(tf.string, tf.int32, tf.int32),
        )
        output = COLORIZED_JPEG if image_format == "jpeg" else COLORIZED_PNG
        return {output: encoded, HEIGHT: height, WIDTH: width}

    def _colorize_tensor(self, images, temperature):
        shape = tf.shape(images)
        with tf.control_dependencies([check_pixels(shape[1], shape[2], self._max_pixels)]):
            images = tf.identity(images)
        rgb, ab = pipeline.colorize_uint8(self._net, images, temperature, self._network_size)
        return {RGB: rgb, AB: ab}

    @tf.function(input_signature=[_BYTES_SPEC], autograph=False)
    def serve_bytes(self, image_bytes):
        """Encoded images `[N]` to PNGs `[N]` and their heights and widths."""
        return self._colorize_bytes(image_bytes, tf.constant(self._temperature), "png")

    @tf.function(input_signature=[_BYTES_SPEC, _TEMPERATURE_SPEC], autograph=False)
    def serve_bytes_with_temperature(self, image_bytes, temperature):
        """`serve_bytes` with a temperature per image (`[N]`) or for all (`[1]`)."""
        return self._colorize_bytes(image_bytes, temperature, "png")

    @tf.function(input_signature=[_BYTES_SPEC], autograph=False)
    def serve_jpeg(self, image_bytes):
        """Encoded images `[N]` to JPEGs `[N]` and their heights and widths."""
        return self._colorize_bytes(image_bytes, tf.constant(self._temperature), "jpeg")

    @tf.function(input_signature=[_BYTES_SPEC, _TEMPERATURE_SPEC], autograph=False)
    def serve_jpeg_with_temperature(self, image_bytes, temperature):
        """`serve_jpeg` with a temperature per image (`[N]`) or for all (`[1]`)."""
        return self._colorize_bytes(image_bytes, temperature, "jpeg")

    @tf.function(input_signature=[_IMAGES_SPEC], autograph=False)
    def colorize_tensor(self, images):
        """uint8 images `[N, H, W, C]` to uint8 RGB `[N, H, W, 3]` and ab `[N, H, W, 2]`."""
        return self._colorize_batch(images, tf.constant([self._temperature]))

    @tf.function(input_signature=[_IMAGES_SPEC, _TEMPERATURE_SPEC], autograph=False)
    def colorize_tensor_with_temperature(self, images, temperature):
        """`colorize_tensor` with a temperature per image (`[N]`) or for all (`[1]`)."""
        return self._colorize_batch(images, temperature)

    @staticmethod
    def signature_names() -> list[str]:
        """The names of the exported signatures.

        >>> ColorizerModule.signature_names()[:2]
        ['serving_default', 'serving_default_with_temperature']
        """
        return [name + suffix for name in (SERVING_DEFAULT, SERVING_JPEG, COLORIZE_TENSOR)
                for suffix in ("", WITH_TEMPERATURE_SUFFIX)]

    def signatures(self) -> dict:
        """The signature map for `tf.saved_model.save`."""
        return {
            SERVING_DEFAULT: self.serve_bytes,
            SERVING_DEFAULT + WITH_TEMPERATURE_SUFFIX: self.serve_bytes_with_temperature,
            SERVING_JPEG: self.serve_jpeg,
            SERVING_JPEG + WITH_TEMPERATURE_SUFFIX: self.serve_jpeg_with_temperature,
            COLORIZE_TENSOR: self.colorize_tensor,
            COLORIZE_TENSOR + WITH_TEMPERATURE_SUFFIX: self.colorize_tensor_with_temperature,
        }


def warmup_requests() -> list[tuple[str, dict]]:
    """One small request per signature: what TF Serving runs when it loads the model."""
    png = np.array([warmup.sample_png()], dtype=object)
    image = np.tile(np.linspace(0, 255, 32, dtype=np.uint8)[None, :, None], (32, 1, 3))[None]
    temperature = np.array([constants.ANNEALED_MEAN_TEMPERATURE], np.float32)
    requests = []
    for name, inputs in [(SERVING_DEFAULT, {IMAGE_BYTES: png}), (SERVING_JPEG, {IMAGE_BYTES: png}),
                         (COLORIZE_TENSOR, {IMAGES: image})]:
        requests.append((name, inputs))
        requests.append((name + WITH_TEMPERATURE_SUFFIX, {**inputs, TEMPERATURE: temperature}))
    return requests


def export_saved_model(
    net: keras.Model,
    output_dir: str | os.PathLike,
    *,
    network_size=pipeline.DEFAULT_NETWORK_SIZE,
    temperature: float = constants.ANNEALED_MEAN_TEMPERATURE,
    overwrite: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    jpeg_quality: int = DEFAULT_JPEG_QUALITY,
) -> str:
    """Writes a SavedModel (tag "serve") for TF Serving with the signatures of this module.

    The version folder is written whole or not at all, with the warm-up requests
    (`assets.extra/tf_serving_warmup_requests`); see `version_dir` and `warmup`.

    Args:
        net: the logits network: L in [0, 100] `[N, H, W, 1]` to `[N, H / 4, W / 4, 313]`,
            e.g. `keras_colorful.loading.load_network("runs/a/model.keras")`.
        output_dir: the version folder, e.g. "models/colorizer/1": its name must be a number
            (TF Serving serves `<model base path>/<integer version>/`).
        network_size: the size the network runs at (see `pipeline.network_size_for`): an int
            (default 256, the release's demo), a (height, width) pair, or None for each
            image's own size rounded to a multiple of 8.
        temperature: annealed-mean temperature of the signatures without a temperature input.
        overwrite: replace an existing non-empty version folder.
        max_pixels: the largest image (height x width) the signatures accept.
        jpeg_quality: quality of `serving_jpeg`'s output (0-100).

    Returns:
        The SavedModel directory, as a string.

    Raises:
        FileExistsError: `output_dir` is not empty and `overwrite` is False.
        ValueError: `output_dir` is not a numeric version folder; bad temperature, size,
            pixel cap or quality.
        TypeError: `net` is not a Keras model.
    """
    version_dir.check_version_path(output_dir)
    module = ColorizerModule(net, network_size=network_size, temperature=temperature,
                             max_pixels=max_pixels, jpeg_quality=jpeg_quality)

    def write(folder):
        tf.saved_model.save(module, folder, signatures=module.signatures())
        warmup.write(folder, warmup_requests())

    return os.fspath(version_dir.write_version(output_dir, write, overwrite=overwrite))


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
