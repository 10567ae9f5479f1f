"""Run by test_distributed.py in a fresh process: 2 logical CPUs must be set before TF starts.

Trains the tiny preset for 2 steps on the same global batch under a one-device strategy and under
MirroredStrategy over 2 logical CPU devices, from the same weights, and prints both losses and the
largest trainable-weight difference as JSON. Plain SGD, so that a wrong gradient shows as a wrong
update (Adam's normalised steps would blur it).

BatchNorm statistics are per replica (as in the release's multi-GPU training), so the global batch
is two copies of the same two photos: each replica then sees the global batch's statistics, and
everything else (loss scaling, gradient aggregation) must match one device exactly. Keras'
`synchronized=True` BatchNorm was tried: its forward pass matched, its gradients under
MirroredStrategy did not (TF 2.21 / Keras 3.15), so the network does not use it.
"""

import json
import sys

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

import keras  # noqa: E402

from keras_colorful import models  # noqa: E402
from keras_colorful.training import synthetic_photos, training_model  # noqa: E402


def train_two_steps(strategy, initial_weights, batch):
    with strategy.scope():
        net = models.build_model("tiny")
        trainer = training_model.ColorizationTrainer(net)
        net.set_weights(initial_weights)
        trainer.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01))
    data = tf.data.Dataset.from_tensors(batch).repeat()
    history = trainer.fit(data, steps_per_epoch=1, epochs=2, verbose=0)
    return history.history["loss"], [v.numpy() for v in net.trainable_variables]


def main():
    rng = np.random.default_rng(0)
    photos = np.stack([synthetic_photos.demo_photo(rng, 32) for _ in range(2)])
    batch = np.concatenate([photos, photos])
    keras.utils.set_random_seed(0)
    reference = models.build_model("tiny")
    initial = reference.get_weights()
    initial_trainable = [v.numpy() for v in reference.trainable_variables]
    one_loss, one_weights = train_two_steps(
        tf.distribute.OneDeviceStrategy("/cpu:0"), initial, batch)
    two_loss, two_weights = train_two_steps(
        tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), initial, batch)
    moved = max(float(np.abs(a - b).max()) for a, b in zip(one_weights, initial_trainable, strict=True))
    difference = max(
        float(np.abs(a - b).max()) for a, b in zip(one_weights, two_weights, strict=True))
    json.dump({"one_device_loss": one_loss, "mirrored_loss": two_loss,
               "max_weight_difference": difference, "max_weight_update": moved}, sys.stdout)


if __name__ == "__main__":
    main()
