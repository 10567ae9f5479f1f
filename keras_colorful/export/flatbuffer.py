"""Reading and editing `.tflite` files with the flatbuffer bindings TensorFlow ships.

A `.tflite` file is a flatbuffer of the TFLite schema: tensors (with their quantization and
their data buffers), operators, a description string and named metadata buffers. The export
edits three things after conversion: which convs keep float weights (`quantization`), the
calibrated ranges of tensors (`quantization`), and the metadata (`tflite_metadata`).

Example:

>>> from keras_colorful import models
>>> from keras_colorful.export import tflite_lib
>>> model = tflite_lib.convert(models.build_model("tiny"), "float32", size=16)
>>> tagged = with_metadata(model, "notes", b"{}", "a test model")
>>> read_metadata(tagged, "notes"), description(tagged)
(b'{}', 'a test model')
"""

from __future__ import annotations

import numpy as np
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

TensorType = schema.TensorType


def read(model: bytes) -> schema.ModelT:
    """The model as mutable Python objects (`schema.ModelT`)."""
    return flatbuffer_utils.read_model_from_bytearray(bytearray(model))


def write(model: schema.ModelT) -> bytes:
    """The `.tflite` bytes of a `schema.ModelT`."""
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def tensor_name(tensor) -> str:
    return _text(tensor.name)


def description(model: bytes) -> str | None:
    """The model's description string."""
    text = read(model).description
    return None if text is None else _text(text)


def op_name(model: schema.ModelT, operator) -> str:
    """The builtin name of an operator, e.g. "CONV_2D"."""
    return flatbuffer_utils.opcode_to_name(model, operator.opcodeIndex)


def with_metadata(model: bytes, name: str, data: bytes, description: str | None = None) -> bytes:
    """The model with a metadata buffer `name` (replaced if present) and its description.

    Args:
        model: the `.tflite` bytes.
        name: the metadata entry's name.
        data: its content.
        description: the model's description string (None: left as it is).
    """
    parsed = read(model)
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(data, np.uint8)
    parsed.buffers.append(buffer)
    entries = [entry for entry in (parsed.metadata or []) if _text(entry.name) != name]
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(parsed.buffers) - 1
    parsed.metadata = entries + [entry]
    if description is not None:
        parsed.description = description
    return write(parsed)


def read_metadata(model: bytes, name: str) -> bytes | None:
    """The content of the metadata buffer `name`, or None."""
    parsed = read(model)
    for entry in parsed.metadata or []:
        if _text(entry.name) == name:
            return bytes(np.asarray(parsed.buffers[entry.buffer].data, np.uint8))
    return None
