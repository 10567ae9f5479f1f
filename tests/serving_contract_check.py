r"""Runs an exported SavedModel the way TF Serving does: TensorFlow only, graph + session loader.

`python tests/serving_contract_check.py SAVED_MODEL_DIR REQUESTS.npz RESULTS.npz`

TF Serving loads a SavedModel with the TF1 graph/session loader (tag "serve"), looks up a
SignatureDef by name, feeds its input tensors BY TENSOR NAME and fetches its output tensors. This
script does exactly that, importing only TensorFlow and numpy (never keras_colorful; Keras
itself gets imported by `import tensorflow`), so that a signature that silently depends on
Python-side code fails here.

REQUESTS.npz holds one array per request input, keyed "<request id>/<signature>/<input key>"
(string inputs as object arrays of bytes); RESULTS.npz gets "<request id>/<output key>" for
every output of the signature. Inputs a request leaves out are not fed. The script exits with
status 3 if keras_colorful got imported.

Used by tests/test_export_saved_model.py in a subprocess.
"""

import sys

import numpy as np
import tensorflow as tf


def run_requests(saved_model_dir: str, requests: dict) -> dict:
    """Feeds each request's inputs to its signature in one TF1 session; returns the outputs."""
    grouped = {}
    for key, value in requests.items():
        request_id, signature, input_key = key.split("/")
        grouped.setdefault((request_id, signature), {})[input_key] = value
    results = {}
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], saved_model_dir)
        for (request_id, signature), inputs in grouped.items():
            signature_def = meta_graph.signature_def[signature]
            feed = {signature_def.inputs[key].name: value for key, value in inputs.items()}
            fetches = {key: info.name for key, info in signature_def.outputs.items()}
            for key, value in session.run(fetches, feed_dict=feed).items():
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
