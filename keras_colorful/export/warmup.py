"""TF Serving's warm-up file: requests the server runs once when it loads a version.

TF Serving reads `<version>/assets.extra/tf_serving_warmup_requests` (a TFRecord file of
`tensorflow.serving.PredictionLog` protos) and runs each request before it marks the version
available, so the first client does not pay for graph initialisation. The protos are written
here from their wire format (field numbers from tensorflow_serving/apis/prediction_log.proto,
predict.proto and model.proto) with TensorFlow's own `TensorProto`, so the export does not
depend on the `tensorflow-serving-api` package; the tests parse the file with it.

Example:

>>> record = predict_log("serving_default", {"image_bytes": np.array([b"png"], object)})
>>> record[:1]  # field 6 (predict_log), length-delimited
b'2'
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")

# Field numbers: PredictionLog.predict_log, PredictLog.request, PredictRequest.model_spec and
# .inputs, ModelSpec.name and .signature_name, map entry key and value.
_PREDICTION_LOG_PREDICT = 6
_PREDICT_LOG_REQUEST = 1
_REQUEST_MODEL_SPEC = 1
_REQUEST_INPUTS = 2
_MODEL_SPEC_NAME = 1
_MODEL_SPEC_SIGNATURE = 3
_MAP_KEY = 1
_MAP_VALUE = 2
_LENGTH_DELIMITED = 2


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (a string, bytes or a message)."""
    return _varint(number << 3 | _LENGTH_DELIMITED) + _varint(len(payload)) + payload


def predict_request(signature_name: str, inputs: dict, model_name: str = "") -> bytes:
    """A serialized `tensorflow.serving.PredictRequest` (`inputs`: name to numpy array)."""
    spec = _field(_MODEL_SPEC_SIGNATURE, signature_name.encode())
    if model_name:
        spec = _field(_MODEL_SPEC_NAME, model_name.encode()) + spec
    request = _field(_REQUEST_MODEL_SPEC, spec)
    for name, value in inputs.items():
        tensor = tf.make_tensor_proto(value).SerializeToString()
        entry = _field(_MAP_KEY, name.encode()) + _field(_MAP_VALUE, tensor)
        request += _field(_REQUEST_INPUTS, entry)
    return request


def predict_log(signature_name: str, inputs: dict, model_name: str = "") -> bytes:
    """A serialized `tensorflow.serving.PredictionLog` holding one predict request."""
    request = predict_request(signature_name, inputs, model_name)
    return _field(_PREDICTION_LOG_PREDICT, _field(_PREDICT_LOG_REQUEST, request))


def write(saved_model_dir: str | os.PathLike, requests: list[tuple[str, dict]]) -> str:
    """Writes the warm-up file of a SavedModel: one record per (signature name, inputs).

    Returns:
        The file's path.
    """
    path = os.path.join(os.fspath(saved_model_dir), WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for signature_name, inputs in requests:
            writer.write(predict_log(signature_name, inputs))
    return path


def read_requests(saved_model_dir: str | os.PathLike) -> list[tuple[str, dict]]:
    """(signature name, inputs) of each warm-up record (needs `tensorflow-serving-api`)."""
    from tensorflow_serving.apis import prediction_log_pb2  # optional: tests and tools only

    path = os.path.join(os.fspath(saved_model_dir), WARMUP_FILE)
    requests = []
    for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
        log = prediction_log_pb2.PredictionLog.FromString(record)
        request = log.predict_log.request
        inputs = {name: tf.make_ndarray(tensor) for name, tensor in request.inputs.items()}
        requests.append((request.model_spec.signature_name, inputs))
    return requests


def sample_png(height: int = 48, width: int = 64) -> bytes:
    """A small gray gradient PNG, the warm-up requests' image.

    >>> sample_png()[:4]
    b'\\x89PNG'
    """
    gradient = np.linspace(0, 255, height * width).reshape(height, width, 1)
    return tf.io.encode_png(gradient.astype(np.uint8)).numpy()
