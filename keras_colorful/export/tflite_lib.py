"""TFLite conversion for mobile: builtin ops only, the annealed mean (and more) baked in.

`convert(net, quantization="float32", size=256)` returns the `.tflite` file's bytes. The network
is first folded (`folding.fold_batch_norm`, exact), then converted with one signature,
"serving_default", whose tensors depend on `input_type`:

- "l_float": input `l` float32 `[1, size, size, 1]`, CIE L in [0, 100] (not normalised: the
  network subtracts 50 and divides by 100 itself); output `ab` float32 `[1, size / 4, size / 4,
  2]`, the annealed mean (T = 0.38 by default, a constant of the model) in Lab units.
- "gray_uint8": as "l_float", but the input is `gray`: uint8 sRGB gray levels at the model
  size, turned into L by a 256-entry table.
- "rgb_image" / "gray_image": photo in, photo out (`tflite_image`): input `image` uint8
  `[1, H, W, 3]` (or `[1, H, W, 1]`) at the photo's own size (`resize_tensor_input`), output
  `colorized` uint8 `[1, H, W, 3]` with the photo's own L; the resize to the network size, Lab,
  the annealed mean and the upsampling all happen inside.

`include_logits=True` adds the output `logits` float32 `[1, size / 4, size / 4, 313]` (5 MB per
call at 256), for apps that decode with their own temperature: ab = softmax(logits / T) @ bin
centres (`bins.ab_bin_centers()`). Every model carries its description (`tflite_metadata`).

Quantization (`QUANTIZATIONS`), all with builtin ops only (no Flex / SELECT_TF_OPS); the recipes
are in `quantization`:
- "float32": as trained. "float16": weights stored as float16, computed in float32 on CPU.
- "dynamic_int8": weights int8, activations quantized on the fly; the `num_float_convs` convs
  most sensitive to it keep float weights (ranked on `representative_images`, when given).
- "int8": full-integer, calibrated on `representative_images` with percentile ranges; the
  network's ops run in int8, the decode and colour conversions in float, so the input and
  output tensors are those of the float models.

Example:

>>> from keras_colorful import models
>>> model = convert(models.build_model("tiny"), "float32", size=32)
>>> model[4:8]
b'TFL3'
"""

import functools
import itertools
import os
from collections.abc import Iterable, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_colorful import bins, color, constants
from keras_colorful.data import decode
from keras_colorful.export import folding, litert, tflite_image, tflite_metadata, variables
from keras_colorful.export import quantization as quantization_lib
from keras_colorful.inference import pipeline

QUANTIZATIONS = constants.QUANTIZATIONS
IMAGE_INPUT_TYPES = constants.TFLITE_IMAGE_INPUT_TYPES
INPUT_TYPES = constants.TFLITE_INPUT_TYPES + IMAGE_INPUT_TYPES
# Names in the model's signature.
INPUT_L = "l"
INPUT_GRAY = "gray"
INPUT_IMAGE = "image"
OUTPUT_AB = "ab"
OUTPUT_LOGITS = "logits"
OUTPUT_COLORIZED = "colorized"
# Calibration images used for "int8" (and to rank convs for "dynamic_int8") when more are given.
DEFAULT_NUM_CALIBRATION_IMAGES = 100


@functools.cache
def gray_to_l_table() -> np.ndarray:
    """L of the 256 sRGB gray levels (R = G = B), float32 [256], read-only (computed once)."""
    gray = np.repeat(np.arange(256, dtype=np.float64)[:, None] / 255.0, 3, axis=-1)
    table = color.rgb_to_lab(tf.constant(gray))[:, 0].numpy().astype(np.float32)
    table.setflags(write=False)
    return table


def _input_spec(input_type: str, size: int) -> tf.TensorSpec:
    if input_type == "l_float":
        return tf.TensorSpec([1, size, size, 1], tf.float32, name=INPUT_L)
    if input_type == "gray_uint8":
        return tf.TensorSpec([1, size, size, 1], tf.uint8, name=INPUT_GRAY)
    channels = 3 if input_type == "rgb_image" else 1
    return tf.TensorSpec([1, None, None, channels], tf.uint8, name=INPUT_IMAGE)


class _TFLiteModule(tf.Module):
    """The function to convert; tracks the network's tf.Variables, not the Keras model."""

    def __init__(self, net: keras.Model, size: int, temperature: float, input_type: str,
                 include_logits: bool = False):
        super().__init__(name="colorizer_tflite")
        object.__setattr__(self, "_net", net)
        self.weights = variables.tf_variables(net)
        self._size = size
        self._temperature = float(temperature)
        self._include_logits = include_logits
        self._gray_to_l = tf.constant(gray_to_l_table())
        serve = {"l_float": self._serve_l, "gray_uint8": self._serve_gray}.get(
            input_type, self._serve_image)
        self.serve = tf.function(serve, input_signature=[_input_spec(input_type, size)],
                                 autograph=False)

    def _with_logits(self, outputs: dict, logits) -> dict:
        return {**outputs, OUTPUT_LOGITS: logits} if self._include_logits else outputs

    def _serve_l(self, l_network):
        logits = tf.cast(self._net(l_network, training=False), tf.float32)
        ab = pipeline.decode_logits(logits, self._temperature)
        return self._with_logits({OUTPUT_AB: ab}, logits)

    def _serve_gray(self, gray):
        return self._serve_l(tf.gather(self._gray_to_l, tf.cast(gray, tf.int32)))

    def _serve_image(self, image):
        rgb, logits = tflite_image.colorize(self._net, image, self._size, self._temperature)
        return self._with_logits({OUTPUT_COLORIZED: rgb}, logits)


def read_rgb(image) -> tf.Tensor:
    """uint8 RGB `[H, W, 3]` of a file path or an array (uint8 `[H, W, 3]` or `[H, W]`)."""
    if isinstance(image, (str, os.PathLike)):
        return tf.cast(tf.round(decode.decode_rgb(tf.io.read_file(os.fspath(image)))), tf.uint8)
    rgb = np.asarray(image)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=-1)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(
            "Representative images must be uint8 [H, W, 3] or [H, W] arrays or file "
            f"paths, got {rgb.dtype} {rgb.shape}."
        )
    return tf.constant(rgb)


def representative_l(
    images: Iterable, size: int, max_images: int | None = DEFAULT_NUM_CALIBRATION_IMAGES
) -> list[np.ndarray]:
    """L at the network size of calibration images, as the "int8" conversion feeds them.

    Args:
        images: image file paths, or arrays: uint8 RGB `[H, W, 3]` or gray `[H, W]`.
        size: the model's input size.
        max_images: use at most this many (None: all).

    Returns:
        float32 arrays `[1, size, size, 1]`, L in [0, 100].

    Example:

    >>> import numpy as np
    >>> [l.shape for l in representative_l([np.zeros((20, 30, 3), "uint8")], 16)]
    [(1, 16, 16, 1)]
    """
    result = []
    for image in images:
        if max_images is not None and len(result) >= max_images:
            break
        l_full = pipeline.lightness(read_rgb(image))[tf.newaxis]
        result.append(pipeline.preprocess_l(l_full, size).numpy())
    return result


def model_inputs(images: Iterable, size: int, input_type: str,
                 max_images: int | None = DEFAULT_NUM_CALIBRATION_IMAGES) -> list[np.ndarray]:
    """Photos as a model of `input_type` takes them (photo models: resized to `size`).

    Example:

    >>> import numpy as np
    >>> [x.dtype.name for x in model_inputs([np.zeros((20, 30, 3), "uint8")], 16, "rgb_image")]
    ['uint8']
    """
    if input_type == "rgb_image":
        photos = [read_rgb(image) for image in itertools.islice(images, max_images)]
        return [pipeline.to_uint8(tf.image.resize(tf.cast(rgb, tf.float32) / 255.0, (size, size),
                                                  antialias=True))[tf.newaxis].numpy()
                for rgb in photos]
    l_network = representative_l(images, size, max_images)
    if input_type == "l_float":
        return l_network
    return [l_to_gray(l_image) for l_image in l_network]


def l_to_gray(l_network: np.ndarray) -> np.ndarray:
    """The uint8 gray level whose L is nearest, for calibrating a gray-input model."""
    table = gray_to_l_table()
    return np.abs(l_network[..., None] - table).argmin(axis=-1).astype(np.uint8)


def _check_arguments(net, quantization, size, input_type) -> None:
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}.")
    if input_type not in INPUT_TYPES:
        raise ValueError(f"input_type must be one of {INPUT_TYPES}, got {input_type!r}.")
    if not isinstance(size, int) or size < 8 or size % pipeline.SIZE_MULTIPLE:
        raise ValueError(f"size must be a positive multiple of 8, got {size!r}.")
    pipeline.check_logits_network(net)


def convert(
    net: keras.Model,
    quantization: str = "float32",
    size: int = pipeline.DEFAULT_NETWORK_SIZE,
    representative_images: Sequence | None = None,
    temperature: float = constants.ANNEALED_MEAN_TEMPERATURE,
    input_type: str = "l_float",
    num_calibration_images: int | None = DEFAULT_NUM_CALIBRATION_IMAGES,
    include_logits: bool = False,
    num_float_convs: int = quantization_lib.DEFAULT_NUM_FLOAT_CONVS,
    percentile: float = quantization_lib.DEFAULT_PERCENTILE,
) -> bytes:
    """Converts the network, folded, with the annealed mean baked in, to a TFLite model.

    Args:
        net: the logits network: L in [0, 100] `[N, H, W, 1]` to `[N, H / 4, W / 4, 313]`.
        quantization: one of `QUANTIZATIONS` (see the module docstring).
        size: the network's input height and width, a multiple of 8 (the release's demo: 256).
        representative_images: file paths or uint8 arrays (see `representative_l`), e.g. a
            folder's photos from `data.sources.list_image_files`: required for "int8", used by
            "dynamic_int8" to rank its convs, ignored otherwise.
        temperature: the annealed-mean temperature baked into the model.
        input_type: one of `INPUT_TYPES` (see the module docstring).
        num_calibration_images: use at most this many of `representative_images` (None: all).
        include_logits: add the `logits` output.
        num_float_convs: "dynamic_int8": convs kept in float (see `quantization`).
        percentile: "int8": the calibration percentile (see `quantization`).

    Returns:
        The `.tflite` flatbuffer, its description in its metadata (`tflite_metadata.read`).

    Raises:
        ValueError: bad quantization, size, temperature or input type; "int8" without
            representative images; a net that is not a logits network.
        TypeError: net is not a Keras model.
    """
    _check_arguments(net, quantization, size, input_type)
    temperature = bins.check_temperature(temperature)
    if quantization == "int8" and not representative_images:
        raise ValueError("quantization='int8' needs representative_images (photos).")
    calibration = None
    if representative_images and quantization in ("int8", "dynamic_int8"):
        calibration = model_inputs(representative_images, size, input_type,
                                   num_calibration_images)
    folded = folding.fold_batch_norm(net)
    module = _TFLiteModule(folded, size, temperature, input_type, include_logits)

    def make_converter():
        converter = tf.lite.TFLiteConverter.from_concrete_functions(
            [module.serve.get_concrete_function()], module)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        return converter

    making = {"folded_batch_norm": True}
    float_convs = []
    if quantization in ("dynamic_int8", "int8") and calibration and num_float_convs > 0:
        # The convs most sensitive to quantized input, ranked on the dynamic-range model.
        dynamic = _convert_with(make_converter(), "dynamic_int8")
        float_model = make_converter().convert()
        ranked = quantization_lib.rank_convs(dynamic, float_model,
                                             calibration[:quantization_lib.NUM_RANKING_INPUTS])
        float_convs = ranked[:num_float_convs]
        conv_names = [layer.name for layer in folded.layers
                      if isinstance(layer, keras.layers.Conv2D)]
        making["float_convs"] = quantization_lib.conv_labels(dynamic, float_convs, conv_names)
    if quantization == "int8":
        model = quantization_lib.calibrate(make_converter, calibration, folded.name, percentile,
                                           float_convs)
        making.update(calibration_images=len(calibration), calibration_percentile=percentile)
    elif float_convs:
        model = quantization_lib.keep_float_convs(dynamic, float_model, float_convs)
    else:
        model = _convert_with(make_converter(), quantization)
    info = tflite_metadata.describe(input_type, size, quantization, temperature,
                                    include_logits, **making)
    return tflite_metadata.attach(model, info)


def _convert_with(converter: tf.lite.TFLiteConverter, quantization: str) -> bytes:
    """A float32, float16 or dynamic_int8 conversion."""
    if quantization != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def interpreter(model: bytes, delegates: bool = True):
    """A LiteRT interpreter (`ai-edge-litert`) of the model, tensors allocated.

    Args:
        model: the `.tflite` bytes.
        delegates: apply the default delegate (XNNPACK on CPU), as apps do; without it each
            operator runs as itself (see `op_names`).
    """
    result = litert.interpreter(model, delegates=delegates)
    result.allocate_tensors()
    return result


def run(model: bytes, inputs: np.ndarray) -> dict[str, np.ndarray]:
    """Runs the model with LiteRT on each image of a batch; returns the batched outputs.

    Args:
        model: the `.tflite` bytes.
        inputs: `[N, ...]`, each `inputs[i:i + 1]` one input of the model.

    Returns:
        {output name: `[N, ...]`}, e.g. {"ab": `[N, size / 4, size / 4, 2]`}.
    """
    runner = interpreter(model).get_signature_runner()
    (input_name,) = runner.get_input_details()
    outputs = [runner(**{input_name: inputs[i : i + 1]}) for i in range(len(inputs))]
    return {key: np.concatenate([o[key] for o in outputs]) for key in outputs[0]}


def op_names(model: bytes) -> list[str]:
    """The operators of a TFLite model, e.g. "CONV_2D" (a Flex op would show as "Flex...")."""
    details = interpreter(model, delegates=False)._get_ops_details()
    return sorted({op["op_name"] for op in details})
