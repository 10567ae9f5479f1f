"""TFLite conversion for mobile: L at a fixed size in, ab (annealed mean baked in) and logits out.

`convert(net, quantization="float32", size=256)` returns the `.tflite` file's bytes. The model
(signature "serving_default"):

- input `l`: float32 `[1, size, size, 1]`, CIE L in [0, 100] (not normalised: the network
  subtracts 50 and divides by 100 itself). With `input_type="gray_uint8"` the input is instead
  `gray`: uint8 `[1, size, size, 1]`, sRGB gray levels, turned into L by a 256-entry table.
- output `ab`: float32 `[1, size / 4, size / 4, 2]`, the annealed mean (T = 0.38 by default,
  a constant of the model) in Lab units.
- output `logits`: float32 `[1, size / 4, size / 4, 313]`, for apps that decode with their own
  temperature: ab = softmax(logits / T) @ bin centres (`bins.ab_bin_centers()`).

Rebuilding RGB (export/README.md): the rest of `inference.pipeline`: upsample ab x4 (bilinear,
half-pixel centres), then to the photo's size, join with the photo's own L, Lab to sRGB, clip.

The decode is `inference.pipeline.decode_logits`, as everywhere else.

Quantization (`QUANTIZATIONS`), all with builtin ops only (no Flex / SELECT_TF_OPS):
- "float32": as trained.
- "float16": weights stored as float16 (half the size), computed in float32 on CPU.
- "dynamic_int8": weights int8, activations quantized on the fly.
- "int8": full-integer int8 (`TFLITE_BUILTINS_INT8`), calibrated on `representative_images`;
  the input and output tensors stay float32 (a quantize op after the input, dequantize ops
  before the outputs), so the interface is that of the float models.

Example:

>>> from keras_colorful import models
>>> model = convert(models.build_model("tiny"), "float32", size=32)
>>> model[4:8]
b'TFL3'
"""

import os
from collections.abc import Iterable, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_colorful import bins, color, constants
from keras_colorful.data import decode
from keras_colorful.export import variables
from keras_colorful.inference import pipeline

QUANTIZATIONS = constants.QUANTIZATIONS
INPUT_TYPES = constants.TFLITE_INPUT_TYPES
# Names in the model's signature.
INPUT_L = "l"
INPUT_GRAY = "gray"
OUTPUT_AB = "ab"
OUTPUT_LOGITS = "logits"
# Calibration images used for "int8" when more are given.
DEFAULT_NUM_CALIBRATION_IMAGES = 100


def _gray_to_l_table() -> np.ndarray:
    """L of the 256 sRGB gray levels (R = G = B), float32 [256]."""
    gray = np.repeat(np.arange(256, dtype=np.float64)[:, None] / 255.0, 3, axis=-1)
    return color.rgb_to_lab(tf.constant(gray))[:, 0].numpy().astype(np.float32)


class _TFLiteModule(tf.Module):
    """The function to convert; tracks the network's tf.Variables, not the Keras model."""

    def __init__(self, net: keras.Model, size: int, temperature: float, input_type: str):
        super().__init__(name="colorizer_tflite")
        object.__setattr__(self, "_net", net)
        self.weights = variables.tf_variables(net)
        self._temperature = float(temperature)
        if input_type == "l_float":
            spec = tf.TensorSpec([1, size, size, 1], tf.float32, name=INPUT_L)
            self.serve = tf.function(self._serve_l, input_signature=[spec], autograph=False)
        else:
            self._gray_to_l = tf.constant(_gray_to_l_table())
            spec = tf.TensorSpec([1, size, size, 1], tf.uint8, name=INPUT_GRAY)
            self.serve = tf.function(self._serve_gray, input_signature=[spec], autograph=False)

    def _serve_l(self, l_network):
        logits = tf.cast(self._net(l_network, training=False), tf.float32)
        ab = pipeline.decode_logits(logits, self._temperature)
        return {OUTPUT_AB: ab, OUTPUT_LOGITS: logits}

    def _serve_gray(self, gray):
        return self._serve_l(tf.gather(self._gray_to_l, tf.cast(gray, tf.int32)))


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
        if isinstance(image, (str, os.PathLike)):
            rgb = decode.decode_rgb(tf.io.read_file(os.fspath(image))) / 255.0
        else:
            rgb = np.asarray(image)
            if rgb.ndim == 2:
                rgb = np.repeat(rgb[..., None], 3, axis=-1)
            if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[-1] != 3:
                raise ValueError(
                    "Representative images must be uint8 [H, W, 3] or [H, W] arrays or file "
                    f"paths, got {rgb.dtype} {rgb.shape}."
                )
            rgb = tf.constant(rgb, tf.float32) / 255.0
        l_full = pipeline.lightness(rgb)[tf.newaxis]
        result.append(pipeline.preprocess_l(l_full, size).numpy())
    return result


def convert(
    net: keras.Model,
    quantization: str = "float32",
    size: int = pipeline.DEFAULT_NETWORK_SIZE,
    representative_images: Sequence | None = None,
    temperature: float = constants.ANNEALED_MEAN_TEMPERATURE,
    input_type: str = "l_float",
    num_calibration_images: int | None = DEFAULT_NUM_CALIBRATION_IMAGES,
) -> bytes:
    """Converts the network, with the annealed mean baked in, to a TFLite model.

    Args:
        net: the logits network: L in [0, 100] `[N, H, W, 1]` to `[N, H / 4, W / 4, 313]`.
        quantization: one of `QUANTIZATIONS` (see the module docstring).
        size: input height and width, a multiple of 8 (the release's demo: 256).
        representative_images: for "int8" (required there, ignored otherwise): file paths or
            uint8 arrays (see `representative_l`), e.g. a folder's photos from
            `data.sources.list_image_files`.
        temperature: the annealed-mean temperature baked into the `ab` output.
        input_type: "l_float" (L float32 in [0, 100]) or "gray_uint8" (sRGB gray levels).
        num_calibration_images: "int8" calibrates on at most this many images (None: all).

    Returns:
        The `.tflite` flatbuffer.

    Raises:
        ValueError: bad quantization, size, temperature or input type; "int8" without
            representative images; a net that is not a logits network.
        TypeError: net is not a Keras model.
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}.")
    if input_type not in INPUT_TYPES:
        raise ValueError(f"input_type must be one of {INPUT_TYPES}, got {input_type!r}.")
    if not isinstance(size, int) or size < 8 or size % pipeline.SIZE_MULTIPLE:
        raise ValueError(f"size must be a positive multiple of 8, got {size!r}.")
    temperature = bins.check_temperature(temperature)
    pipeline.check_logits_network(net)
    calibration = None
    if quantization == "int8":
        if not representative_images:
            raise ValueError("quantization='int8' needs representative_images (photos).")
        calibration = representative_l(representative_images, size, num_calibration_images)

    module = _TFLiteModule(net, size, temperature, input_type)
    concrete = module.serve.get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantization == "int8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if input_type == "gray_uint8":
            calibration = [_l_to_gray(sample) for sample in calibration]

        def dataset():
            for sample in calibration:
                yield [sample]

        converter.representative_dataset = dataset
    return converter.convert()


def _l_to_gray(l_network: np.ndarray) -> np.ndarray:
    """The uint8 gray level whose L is nearest, for calibrating a "gray_uint8" model."""
    table = _gray_to_l_table()
    return np.abs(l_network[..., None] - table).argmin(axis=-1).astype(np.uint8)


def interpreter(model: bytes, delegates: bool = True):
    """A LiteRT interpreter (`ai-edge-litert`) of the model, tensors allocated.

    Args:
        model: the `.tflite` bytes.
        delegates: apply the default delegate (XNNPACK on CPU), as apps do; without it each
            operator runs as itself (see `op_names`).
    """
    from ai_edge_litert import interpreter as litert  # optional dependency (extra "test")

    resolver = litert.OpResolverType.AUTO
    if not delegates:
        resolver = litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    result = litert.Interpreter(model_content=model, experimental_op_resolver_type=resolver)
    result.allocate_tensors()
    return result


def run(model: bytes, inputs: np.ndarray) -> dict[str, np.ndarray]:
    """Runs the model with LiteRT on each image of a batch; returns the batched outputs.

    Args:
        model: the `.tflite` bytes.
        inputs: `[N, size, size, 1]`: L float32 (or gray uint8 for a "gray_uint8" model).

    Returns:
        {"ab": `[N, size / 4, size / 4, 2]`, "logits": `[N, size / 4, size / 4, 313]`}.
    """
    runner = interpreter(model).get_signature_runner()
    (input_name,) = runner.get_input_details()
    outputs = [runner(**{input_name: inputs[i : i + 1]}) for i in range(len(inputs))]
    return {key: np.concatenate([o[key] for o in outputs]) for key in outputs[0]}


def ab_errors(
    net: keras.Model,
    model: bytes,
    images: Iterable,
    temperature: float = constants.ANNEALED_MEAN_TEMPERATURE,
) -> dict[str, float]:
    """How far a TFLite model's ab is from the Keras network's, on photos.

    Args:
        net: the network the model was converted from.
        model: the `.tflite` bytes (an "l_float" model).
        images: photos, as for `representative_l` (all are used).
        temperature: the model's annealed-mean temperature.

    Returns:
        {"mean": mean |ab difference|, "max": its maximum, "images": how many}, over every
        pixel and both channels, in Lab units.
    """
    runner = interpreter(model).get_signature_runner()
    (input_name,) = runner.get_input_details()
    size = int(runner.get_input_details()[input_name]["shape"][1])
    total, maximum, count = 0.0, 0.0, 0
    for l_network in representative_l(images, size, max_images=None):
        expected = pipeline.predict_ab(net, l_network, temperature).numpy()
        error = np.abs(runner(**{input_name: l_network})[OUTPUT_AB] - expected)
        total += float(error.mean())
        maximum = max(maximum, float(error.max()))
        count += 1
    if not count:
        raise ValueError("ab_errors needs at least one image.")
    return {"mean": total / count, "max": maximum, "images": count}


def op_names(model: bytes) -> list[str]:
    """The operators of a TFLite model, e.g. "CONV_2D" (a Flex op would show as "Flex...").
    """
    details = interpreter(model, delegates=False)._get_ops_details()
    return sorted({op["op_name"] for op in details})
