r"""Runs an exported SavedModel the way TF Serving does: TensorFlow only, graph + session loader.

`python tests/serving_contract_check.py SAVED_MODEL_DIR REQUESTS.npz RESULTS.npz`

TF Serving loads a SavedModel with the TF1 graph/session loader (tag "serve"), looks up a
SignatureDef by name, feeds its input tensors BY TENSOR NAME and fetches its output tensors. This
script does exactly that, importing only TensorFlow and numpy (never keras_colorful; Keras
itself gets imported by `import tensorflow`), so that a signature that silently depends on
Python-side code fails here.

REQUESTS.npz holds one array per request input, keyed "<request id>/<signature>/<input key>"
(string inputs as object arrays of bytes); RESULTS.npz gets "<request id>/<output key>" for
every output of the signature, or "<request id>/error" (the error's message) for a request the
model refused, "<request id>/seconds", and on Linux "<request id>/peak_mb" (how far the
process's peak memory rose above its memory before the request). Inputs a request leaves out are
not fed.

Before the requests, the SavedModel's warm-up file (assets.extra/tf_serving_warmup_requests) is
replayed as TF Serving replays it (the records parsed with `tensorflow-serving-api`); RESULTS
gets "warmup/<index>/<output key>" for each and "warmup/count". The script exits with status 3
if keras_colorful got imported.

Used by tests/test_export_saved_model.py in a subprocess.
"""

import os
import sys
import time

import numpy as np
import tensorflow as tf

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


def warmup_requests(saved_model_dir: str) -> list:
    """(signature name, {input key: array}) of each warm-up record, in file order."""
    from tensorflow_serving.apis import prediction_log_pb2

    path = os.path.join(saved_model_dir, WARMUP_FILE)
    requests = []
    for record in tf.compat.v1.io.tf_record_iterator(path):
        request = prediction_log_pb2.PredictionLog.FromString(record).predict_log.request
        inputs = {key: tf.make_ndarray(value) for key, value in request.inputs.items()}
        requests.append((request.model_spec.signature_name, inputs))
    return requests


def _memory_mb(field: str) -> float:
    """VmRSS or VmHWM of this process in MB (Linux), or NaN."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _reset_peak_memory() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # resets VmHWM to the current VmRSS
    except OSError:
        pass


def _run(session, signature_def, inputs: dict) -> dict:
    feed = {signature_def.inputs[key].name: value for key, value in inputs.items()}
    fetches = {key: info.name for key, info in signature_def.outputs.items()}
    return session.run(fetches, feed_dict=feed)


def run_requests(saved_model_dir: str, requests: dict) -> dict:
    """Feeds each request's inputs to its signature in one TF1 session; returns the outputs."""
    grouped = {}
    for key, value in requests.items():
        request_id, signature, input_key = key.split("/")
        grouped.setdefault((request_id, signature), {})[input_key] = value
    results = {}
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], saved_model_dir)
        warmup = warmup_requests(saved_model_dir)
        for index, (signature, inputs) in enumerate(warmup):
            for key, value in _run(session, meta_graph.signature_def[signature], inputs).items():
                results[f"warmup/{index}/{key}"] = value
        results["warmup/count"] = np.array(len(warmup))
        for (request_id, signature), inputs in grouped.items():
            _reset_peak_memory()
            before = _memory_mb("VmRSS")
            start = time.perf_counter()
            try:
                outputs = _run(session, meta_graph.signature_def[signature], inputs)
            except tf.errors.OpError as error:
                outputs = {"error": np.array(error.message)}
            results[f"{request_id}/seconds"] = np.array(time.perf_counter() - start)
            results[f"{request_id}/peak_mb"] = np.array(_memory_mb("VmHWM") - before)
            for key, value in outputs.items():
                results[f"{request_id}/{key}"] = value
    return results


def main(argv) -> int:
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    saved_model_dir, requests_path, results_path = argv[1:]
    with np.load(requests_path, allow_pickle=True) as requests:
        results = run_requests(saved_model_dir, dict(requests))
    np.savez(results_path, **results)
    if "keras_colorful" in sys.modules:
        print("The serving check imported keras_colorful: not TensorFlow-only.", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
