"""What a `.tflite` file is: its inputs, outputs and making, carried inside it and beside it.

The TFLite Support metadata writer (`tflite-support`, last release 0.4.4) pins protobuf < 4,
which TensorFlow 2.21 cannot run with, and its native module needs libusb; so the export writes
the same facts itself: `describe` gathers them in a dict, `attach` stores it as JSON in the
model's metadata table (entry `METADATA_NAME`) and its one-line summary in the model's
`description` field (both part of the TFLite schema; Netron shows them), and the command line
also writes it beside the model as `<model>.json`. `read` gets it back.

Example:

>>> info = describe("l_float", 256, "float16", 0.38, include_logits=False)
>>> [tensor["name"] for tensor in info["inputs"] + info["outputs"]]
['l', 'ab']
"""

from __future__ import annotations

import json

from keras_colorful import constants
from keras_colorful.export import flatbuffer

METADATA_NAME = "keras_colorful"
_PROJECT = "keras-colorful: Colorful Image Colorization (Zhang, Isola, Efros, ECCV 2016)"


def _inputs(input_type: str, size: int) -> list[dict]:
    fixed = [1, size, size, 1]
    return {
        "l_float": [{"name": "l", "dtype": "float32", "shape": fixed,
                     "description": "CIE L (D65) in [0, 100] of the photo resized to the model "
                     "size (bicubic), not normalised"}],
        "gray_uint8": [{"name": "gray", "dtype": "uint8", "shape": fixed,
                        "description": "sRGB gray levels 0-255 at the model size"}],
        "rgb_image": [{"name": "image", "dtype": "uint8", "shape": [1, -1, -1, 3],
                       "description": "the photo, sRGB 0-255, at its own size (call "
                       "resize_tensor_input([1, H, W, 3]) before allocating tensors)"}],
        "gray_image": [{"name": "image", "dtype": "uint8", "shape": [1, -1, -1, 1],
                        "description": "the gray photo, 0-255, at its own size (call "
                        "resize_tensor_input([1, H, W, 1]) before allocating tensors)"}],
    }[input_type]


def _outputs(input_type: str, size: int, temperature: float, include_logits: bool) -> list[dict]:
    quarter = size // constants.AB_SUBSAMPLE
    if input_type.endswith("_image"):
        outputs = [{"name": "colorized", "dtype": "uint8", "shape": [1, -1, -1, 3],
                    "description": "the colorized photo, sRGB 0-255, at the input's size, "
                    "with the input's own L"}]
    else:
        outputs = [{"name": "ab", "dtype": "float32", "shape": [1, quarter, quarter, 2],
                    "description": f"a and b (Lab units) at 1/4 of the model size: the "
                    f"annealed mean at T = {temperature}; upsample, join with the photo's L "
                    "and convert Lab to sRGB (export/README.md)"}]
    if include_logits:
        outputs.append({"name": "logits", "dtype": "float32",
                        "shape": [1, quarter, quarter, constants.NUM_BINS],
                        "description": "the 313 ab-bin logits: ab = softmax(logits / T) @ the "
                        "bin centres (keras_colorful/assets/pts_in_hull.npy)"})
    return outputs


def describe(input_type: str, size: int, quantization: str, temperature: float,
             include_logits: bool, **making) -> dict:
    """The facts about a converted model, as a JSON-ready dict.

    Args:
        input_type, size, quantization, temperature, include_logits: as `tflite_lib.convert`.
        **making: further facts (e.g. the convs kept in float, the calibration percentile).
    """
    kind = "photo in, colorized photo out" if input_type.endswith("_image") else "L in, ab out"
    return {
        "name": "colorizer",
        "description": f"{_PROJECT}; {kind}; network at {size}x{size}; {quantization} weights; "
                       "builtin TFLite ops only",
        "signature": "serving_default",
        "input_type": input_type,
        "network_size": size,
        "quantization": quantization,
        "temperature": temperature,
        "inputs": _inputs(input_type, size),
        "outputs": _outputs(input_type, size, temperature, include_logits),
        **making,
    }


def attach(model: bytes, info: dict) -> bytes:
    """The model with `info` in its metadata table and its summary as its description."""
    return flatbuffer.with_metadata(model, METADATA_NAME, to_json(info).encode(),
                                    info["description"])


def read(model: bytes) -> dict | None:
    """The dict `attach` stored in a model, or None."""
    data = flatbuffer.read_metadata(model, METADATA_NAME)
    return None if data is None else json.loads(data)


def to_json(info: dict) -> str:
    return json.dumps(info, indent=2) + "\n"
