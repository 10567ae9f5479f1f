"""The quantization recipes of the TFLite export, where the converter's defaults lose colour.

After `folding` (always applied), two things still cost colour, each fixed the way the field
does:

- **dynamic_int8** quantizes each conv's input on the fly, one range per tensor. A few convs are
  far more sensitive to that than the rest; `keep_float_convs` gives the `num_float_convs` most
  sensitive ones back their float weights (they then run in float, input included), ranked by
  `rank_convs` on calibration inputs: each conv is tried alone in float, and the ones that
  bring the output closest to the float model's win.
- **int8** (full integer) calibrates every tensor's range on photos. The converter takes the
  minimum and maximum, so a handful of extreme activations set a coarse step for all others;
  `calibrate` takes a percentile instead (`DEFAULT_PERCENTILE` of each tensor's values, and
  its mirror for the minimum), and quantizes only the network's own ops: the annealed-mean
  decode and any colour conversion around the network stay float. The same sensitive convs
  read float input here too: they stay float, and so do the ops that produce their input, back
  to the previous conv (`float_input_chains`).

Both recipes change only which numbers are stored as int8 and at what scale; the float
function is the folded network's.

Example:

>>> percentile_range(np.array([0.0, 1, 2, 3, 100]), 50.0)
(0.0, 2.0)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from keras_colorful.export import flatbuffer, litert

# Percentile of each tensor's calibration values taken as its int8 range ("int8").
DEFAULT_PERCENTILE = 99.99
# Convs that read float input ("dynamic_int8", "int8"), and the calibration inputs that rank them.
DEFAULT_NUM_FLOAT_CONVS = 3
NUM_RANKING_INPUTS = 8
# Values of one tensor per calibration input that the range statistics look at (a random
# sample of larger tensors).
_MAX_VALUES_PER_TENSOR = 2**17
_WEIGHT_OPS = ("CONV_2D", "TRANSPOSE_CONV")


# --- dynamic_int8: the most sensitive convs in float -------------------------------------------
# Convs are named by their position among the model's conv ops (graph order): tensor names are
# not stable from one conversion of the same graph to the next.


def conv_ops(model) -> list:
    """The conv operators (CONV_2D, TRANSPOSE_CONV) of a parsed model, in graph order."""
    return [op for op in model.subgraphs[0].operators
            if flatbuffer.op_name(model, op) in _WEIGHT_OPS]


def keep_float_convs(quantized: bytes, float_model: bytes, convs: Sequence[int]) -> bytes:
    """A dynamic-range model with the weights of the given convs restored from the float model.

    Args:
        quantized: the "dynamic_int8" `.tflite`.
        float_model: the float32 `.tflite` of the same network.
        convs: positions of convs among `conv_ops` (e.g. from `rank_convs`).

    Returns:
        The `.tflite` bytes; those convs run in float.

    Raises:
        ValueError: the two models do not have the same convs.
    """
    model, reference = flatbuffer.read(quantized), flatbuffer.read(float_model)
    ops, reference_ops = conv_ops(model), conv_ops(reference)
    if len(ops) != len(reference_ops):
        raise ValueError("The quantized and float models do not have the same convs.")
    graph, reference_graph = model.subgraphs[0], reference.subgraphs[0]
    for index in convs:
        tensor = graph.tensors[ops[index].inputs[1]]
        original = reference_graph.tensors[reference_ops[index].inputs[1]]
        if list(tensor.shape) != list(original.shape):
            raise ValueError(f"Conv {index} differs between the quantized and float models.")
        tensor.type = original.type
        tensor.quantization = original.quantization
        model.buffers[tensor.buffer].data = reference.buffers[original.buffer].data
    return flatbuffer.write(model)


def int8_convs(quantized: bytes) -> list[int]:
    """Positions (in `conv_ops`) of the convs with int8 weights in a dynamic-range model."""
    model = flatbuffer.read(quantized)
    graph = model.subgraphs[0]
    return [index for index, op in enumerate(conv_ops(model))
            if graph.tensors[op.inputs[1]].type == flatbuffer.TensorType.INT8]


def rank_convs(quantized: bytes, float_model: bytes, inputs: Sequence[np.ndarray]) -> list[int]:
    """The int8 convs of a dynamic-range model (positions in `conv_ops`), most sensitive first.

    Each conv alone is given back its float weights; the convs whose restoring brings the first
    output nearest the float model's (mean absolute difference on `inputs`) come first.
    """
    expected = litert.run_first_output(float_model, inputs)

    def error(model: bytes) -> float:
        outputs = litert.run_first_output(model, inputs)
        return float(np.mean([np.mean(np.abs(np.asarray(o, np.float32) - e))
                              for o, e in zip(outputs, expected, strict=True)]))

    errors = {index: error(keep_float_convs(quantized, float_model, [index]))
              for index in int8_convs(quantized)}
    return sorted(errors, key=errors.__getitem__)


def conv_labels(model: bytes, convs: Sequence[int], layer_names: Sequence[str]) -> list[str]:
    """The Keras layer of each conv (found in its output tensor's name), for messages.

    A conv whose layer is not found is named by its position.
    """
    parsed = flatbuffer.read(model)
    ops, graph = conv_ops(parsed), parsed.subgraphs[0]
    labels = []
    for index in convs:
        output = flatbuffer.tensor_name(graph.tensors[ops[index].outputs[0]])
        labels.append(next((name for name in layer_names
                            if re.search(rf"(^|/){re.escape(name)}(_\d+)?(/|$)", output)),
                           f"conv {index}"))
    return labels


# --- int8: percentile ranges, the network alone ------------------------------------------------


def percentile_range(values: np.ndarray, percentile: float) -> tuple[float, float]:
    """(low, high): the `100 - percentile` and `percentile` percentiles, widened to hold 0."""
    low, high = np.percentile(values, [100.0 - percentile, percentile])
    return min(float(low), 0.0), max(float(high), 0.0)


class _TailTracker:
    """The k largest and k smallest values seen (exact percentiles of a sample stream)."""

    def __init__(self, total: int, percentile: float):
        self.count = max(1, int(np.ceil(total * (100.0 - percentile) / 100.0)) + 1)
        self.high = np.empty(0, np.float32)
        self.low = np.empty(0, np.float32)

    def add(self, values: np.ndarray) -> None:
        high = np.concatenate([self.high, values])
        low = np.concatenate([self.low, values])
        k = min(self.count, len(high))
        self.high = np.partition(high, len(high) - k)[len(high) - k:]
        self.low = np.partition(low, k - 1)[:k]

    def range(self) -> tuple[float, float]:
        return min(float(self.low.max()), 0.0), max(float(self.high.min()), 0.0)


def _sample(values: np.ndarray, generator: np.random.Generator) -> np.ndarray:
    """At most `_MAX_VALUES_PER_TENSOR` values drawn at random (a stride would pick channels)."""
    flat = values.reshape(-1)
    if flat.size > _MAX_VALUES_PER_TENSOR:
        flat = flat[generator.integers(0, flat.size, _MAX_VALUES_PER_TENSOR)]
    return flat.astype(np.float32)


def _ranged_tensors(model) -> list[int]:
    """Indices of the tensors whose calibration range the quantizer uses."""
    return [index for index, tensor in enumerate(model.subgraphs[0].tensors)
            if tensor.quantization is not None and tensor.quantization.min is not None
            and len(tensor.quantization.min) == 1]


def set_percentile_ranges(calibrated: bytes, inputs: Sequence[np.ndarray],
                          percentile: float = DEFAULT_PERCENTILE) -> bytes:
    """A calibrated model (`_experimental_calibrate_only`) with percentile ranges.

    Runs the calibrated (still float) model on `inputs` and replaces each tensor's recorded
    minimum and maximum by the `100 - percentile` and `percentile` percentiles of its values.
    """
    model = flatbuffer.read(calibrated)
    indices = _ranged_tensors(model)
    runner = litert.interpreter(calibrated, preserve_all_tensors=True)
    (input_detail,) = runner.get_input_details()
    trackers = None
    generator = np.random.default_rng(0)
    for x in inputs:
        runner.resize_tensor_input(input_detail["index"], x.shape)
        runner.allocate_tensors()
        runner.set_tensor(input_detail["index"], x)
        runner.invoke()
        samples = [_sample(runner.get_tensor(i), generator) for i in indices]
        if trackers is None:
            trackers = [_TailTracker(len(s) * len(inputs), percentile) for s in samples]
        for tracker, sample in zip(trackers, samples, strict=True):
            tracker.add(sample)
    graph = model.subgraphs[0]
    for index, tracker in zip(indices, trackers or [], strict=False):
        low, high = tracker.range()
        graph.tensors[index].quantization.min = np.array([low], np.float32)
        graph.tensors[index].quantization.max = np.array([high], np.float32)
    return flatbuffer.write(model)


def ops_outside(model: bytes, scope: str) -> list[str]:
    """Output tensor names of the ops not under the name scope `scope` (the ones kept float)."""
    parsed = flatbuffer.read(model)
    graph = parsed.subgraphs[0]
    names = [flatbuffer.tensor_name(graph.tensors[op.outputs[0]]) for op in graph.operators]
    return [name for name in names if not any(part.startswith(scope + "/") or
                                              part.startswith(scope + "_")
                                              for part in name.split(";"))]


def float_input_chains(model: bytes, convs: Sequence[int]) -> list[str]:
    """Output names of the ops that must stay float for the given convs to read float input.

    For each conv (position in `conv_ops`): the conv itself and the ops that produce its input,
    back to and including the previous conv (e.g. conv, ADD, conv: the shift left of a folded
    BatchNormalization sits between them).
    """
    parsed = flatbuffer.read(model)
    graph = parsed.subgraphs[0]
    producers = {op.outputs[0]: op for op in graph.operators}
    ops = conv_ops(parsed)
    names = []
    for op in (ops[index] for index in convs):
        chain = [op]
        while chain[-1].inputs[0] in producers and (
                len(chain) == 1 or flatbuffer.op_name(parsed, chain[-1]) not in _WEIGHT_OPS):
            chain.append(producers[chain[-1].inputs[0]])
        names += [flatbuffer.tensor_name(graph.tensors[step.outputs[0]]) for step in chain]
    return names


def calibrate(make_converter: Callable[[], tf.lite.TFLiteConverter],
              inputs: Sequence[np.ndarray], network_scope: str,
              percentile: float = DEFAULT_PERCENTILE, float_convs: Sequence[int] = ()) -> bytes:
    """Full-integer int8 with percentile ranges, only the network's ops quantized.

    Args:
        make_converter: a fresh converter of the float model.
        inputs: calibration inputs of the model's input shape and dtype.
        network_scope: the name scope of the network's ops (the Keras model's name).
        percentile: see `set_percentile_ranges`.
        float_convs: convs (positions in `conv_ops`) that read float input
            (`float_input_chains`), e.g. the most sensitive ones by `rank_convs`.

    Returns:
        The `.tflite` bytes, float32 input and outputs.
    """
    from tensorflow.lite.python import convert as lite_convert  # the quantizer, as the converter

    converter = make_converter()
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
                                           tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.representative_dataset = lambda: iter([[inputs[0]]])
    converter._experimental_calibrate_only = True  # ranges are set below, from all inputs
    calibrated = set_percentile_ranges(converter.convert(), inputs, percentile)
    denylisted = ops_outside(calibrated, network_scope)
    denylisted += float_input_chains(calibrated, float_convs)
    return lite_convert.mlir_quantize(calibrated, denylisted_nodes=denylisted)
