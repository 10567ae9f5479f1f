"""One task of the local multi-worker jobs of test_multi_worker.py (run in a fresh process).

Usage: TF_CONFIG=... python multi_worker_main.py CONFIG_JSON WEIGHTS_NPZ

Trains with `train_lib.train_and_evaluate` exactly as `scripts/train.py` does (strategy "auto",
which reads TF_CONFIG), then saves this worker's final network weights to WEIGHTS_NPZ (by
variable path) and prints a JSON summary as the last line of stdout: the step, the step it
resumed from, whether it is the chief, the loss, the trainable variables' paths, and whether the
BatchNormalization layers are synchronized across replicas.
"""

import json
import sys

import keras
import numpy as np

from keras_colorful.training import config, train_lib


def main():
    run = config.TrainingConfig.from_dict(json.loads(sys.argv[1]))
    result = train_lib.train_and_evaluate(run, verbose=0)
    net = result["net"]
    np.savez(sys.argv[2], **{variable.path: variable.numpy() for variable in net.weights})
    summary = {key: result[key] for key in ("step", "resumed_from", "is_chief", "loss")}
    summary["trainable"] = [variable.path for variable in net.trainable_weights]
    summary["synchronized_batch_norm"] = all(
        layer.synchronized for layer in net.layers
        if isinstance(layer, keras.layers.BatchNormalization))
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
