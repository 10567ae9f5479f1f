"""Running `.tflite` models with the LiteRT interpreter (`ai-edge-litert`, an optional dependency).

Example:

>>> from keras_colorful import models
>>> from keras_colorful.export import tflite_lib
>>> model = tflite_lib.convert(models.build_model("tiny"), "float32", size=16)
>>> run_first_output(model, [np.full((1, 16, 16, 1), 50.0, "float32")])[0].shape
(1, 4, 4, 2)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def interpreter(model: bytes, delegates: bool = True, preserve_all_tensors: bool = False):
    """A LiteRT interpreter of the model, tensors not yet allocated.

    Args:
        model: the `.tflite` bytes.
        delegates: apply the default delegate (XNNPACK on CPU), as apps do; without it each
            operator runs as itself.
        preserve_all_tensors: keep every intermediate tensor readable (no delegate then).
    """
    from ai_edge_litert import interpreter as litert  # optional dependency (extra "test")

    resolver = litert.OpResolverType.AUTO
    if not delegates or preserve_all_tensors:
        resolver = litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    return litert.Interpreter(model_content=model, experimental_op_resolver_type=resolver,
                              experimental_preserve_all_tensors=preserve_all_tensors)


def run_first_output(model: bytes, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The model's first signature output for each input (of any size the model accepts)."""
    runner = interpreter(model).get_signature_runner()
    (input_name,) = runner.get_input_details()
    output_name = next(iter(runner.get_output_details()))
    return [runner(**{input_name: x})[output_name] for x in inputs]
