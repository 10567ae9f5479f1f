"""How far a TFLite model's colours are from the float32 Keras network's, and the export's gate.

The error of a pixel is its colour difference in the ab plane, sqrt(da^2 + db^2) in Lab units
(the CIE76 difference, L being the same): for models with L input, between the model's `ab`
and the Keras network's (annealed mean, same temperature) at 1/4 of the model size; for photo
models, between the ab of the model's colorized photo and that of `pipeline.colorize_uint8`
with the Keras network, at the photo's size. `measure` gives the mean, the 99th percentile and
the maximum over every pixel of every photo; `violations` compares them with `THRESHOLDS`.

Example:

>>> errors = ColourErrors(mean=0.5, p99=9.0, max=20.0, images=3)
>>> violations(errors, "dynamic_int8")
['99th percentile 9.00 > 8.00']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_colorful import color, constants
from keras_colorful.export import litert, tflite_lib, tflite_metadata
from keras_colorful.inference import pipeline

# (mean, 99th percentile) colour difference the quantized variants must stay within.
THRESHOLDS = constants.TFLITE_ACCURACY_LIMITS
GATED = tuple(THRESHOLDS)


@dataclasses.dataclass(frozen=True)
class ColourErrors:
    """Colour differences (Lab units) over all pixels of `images` photos."""

    mean: float
    p99: float
    max: float
    images: int

    def summary(self) -> str:
        return (f"colour difference vs the float32 Keras network on {self.images} photos "
                f"(ab, Lab units): mean {self.mean:.3f}, 99th percentile {self.p99:.3f}, "
                f"max {self.max:.3f}")


def _ab_of_rgb(rgb: np.ndarray) -> np.ndarray:
    return color.rgb_to_lab(tf.constant(rgb))[..., 1:].numpy()


def _pairs(net, model: bytes, photos: Sequence, info: dict):
    """(expected ab, model's ab) per photo."""
    size, input_type = info["network_size"], info["input_type"]
    temperature = info["temperature"]
    runner = litert.interpreter(model).get_signature_runner()
    (input_name,) = runner.get_input_details()
    if input_type in tflite_lib.IMAGE_INPUT_TYPES:
        output_name = tflite_lib.OUTPUT_COLORIZED
        for photo in photos:
            rgb = tflite_lib.read_rgb(photo).numpy()[np.newaxis]
            image = rgb if input_type == "rgb_image" else tflite_lib.l_to_gray(
                pipeline.lightness(rgb).numpy())
            expected, _ = pipeline.colorize_uint8(net, image, temperature, size)
            actual = runner(**{input_name: image})[output_name]
            yield _ab_of_rgb(expected.numpy()), _ab_of_rgb(actual)
        return
    output_name = tflite_lib.OUTPUT_AB
    table = tflite_lib.gray_to_l_table()
    for x in tflite_lib.model_inputs(photos, size, input_type, max_images=None):
        l_network = x if input_type == "l_float" else table[x.astype(np.int32)]
        expected = pipeline.predict_ab(net, l_network, temperature).numpy()
        yield expected, runner(**{input_name: x})[output_name]


def measure(net: keras.Model, model: bytes, photos: Sequence) -> ColourErrors:
    """The colour differences between a model made by `tflite_lib.convert` and `net`.

    Args:
        net: the Keras network the model was converted from.
        model: the `.tflite` bytes (its metadata tells its input type, size and temperature).
        photos: file paths or uint8 arrays, all used.

    Raises:
        ValueError: no photos, or a model without `tflite_metadata`.
    """
    info = tflite_metadata.read(model)
    if info is None:
        raise ValueError("The model has no keras_colorful metadata (not from tflite_lib.convert).")
    errors = [np.sqrt(np.sum(np.square(actual - expected), axis=-1)).ravel()
              for expected, actual in _pairs(net, model, photos, info)]
    if not errors:
        raise ValueError("Measuring a model's colour error needs at least one photo.")
    values = np.concatenate(errors)
    return ColourErrors(mean=float(values.mean()), p99=float(np.percentile(values, 99)),
                        max=float(values.max()), images=len(errors))


def violations(errors: ColourErrors, quantization: str, max_mean: float | None = None,
               max_p99: float | None = None) -> list[str]:
    """What is over the thresholds (`THRESHOLDS[quantization]` unless given); [] if none."""
    default_mean, default_p99 = THRESHOLDS.get(quantization, (np.inf, np.inf))
    max_mean = default_mean if max_mean is None else max_mean
    max_p99 = default_p99 if max_p99 is None else max_p99
    found = []
    if not errors.mean <= max_mean:
        found.append(f"mean {errors.mean:.2f} > {max_mean:.2f}")
    if not errors.p99 <= max_p99:
        found.append(f"99th percentile {errors.p99:.2f} > {max_p99:.2f}")
    return found

