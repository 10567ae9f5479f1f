"""Keras callbacks of a training run: checkpoints, stopping at a step, TensorBoard summaries."""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from keras_colorful import constants, image_io
from keras_colorful.inference import full_resolution, pipeline


class CheckpointEveryEpoch(keras.callbacks.Callback):
    """Saves a `tf.train.CheckpointManager` checkpoint, numbered by the optimiser step.

    One Keras epoch is `checkpoint_every` steps, so this checkpoints every `checkpoint_every` steps
    and once more when training stops.
    """

    def __init__(self, manager: tf.train.CheckpointManager, optimizer):
        super().__init__()
        self.manager = manager
        self.optimizer = optimizer

    def _save(self):
        step = int(self.optimizer.iterations.numpy())
        if self.manager.latest_checkpoint and self.manager.latest_checkpoint.endswith(f"-{step}"):
            return
        self.manager.save(checkpoint_number=step)

    def on_epoch_end(self, epoch, logs=None):
        self._save()

    def on_train_end(self, logs=None):
        self._save()


class StopAtStep(keras.callbacks.Callback):
    """Stops `fit` once the optimiser has taken `train_steps` steps."""

    def __init__(self, optimizer, train_steps: int):
        super().__init__()
        self.optimizer = optimizer
        self.train_steps = train_steps

    def on_train_batch_end(self, batch, logs=None):
        if int(self.optimizer.iterations.numpy()) >= self.train_steps:
            self.model.stop_training = True


class TrainingSummaries(keras.callbacks.Callback):
    """TensorBoard scalars (losses, learning rate, images/s) and a fixed image grid.

    Args:
        log_dir: TensorBoard directory.
        optimizer: the run's optimiser (its step and learning rate are logged).
        global_batch_size: images per step, for images/second.
        net: the colorization network (L -> logits), for the image summary.
        eval_rgb: uint8 [n, H, W, 3] fixed evaluation batch, or None for no image summary.
        log_every: steps between scalar summaries.
        image_every: steps between image summaries (0 = never).
        temperature: annealed-mean temperature for the image summary.
    """

    def __init__(self, log_dir, optimizer, global_batch_size, net=None, eval_rgb=None,
                 log_every=10, image_every=100,
                 temperature=constants.ANNEALED_MEAN_TEMPERATURE):
        super().__init__()
        self.writer = tf.summary.create_file_writer(log_dir)
        self.optimizer = optimizer
        self.global_batch_size = global_batch_size
        self.net = net
        self.eval_rgb = eval_rgb
        self.log_every = max(1, log_every)
        self.image_every = image_every
        self.temperature = temperature
        self._last_time = None
        self._last_step = None
        self.images_per_second = []

    def _step(self) -> int:
        return int(self.optimizer.iterations.numpy())

    def on_train_begin(self, logs=None):
        self._last_time, self._last_step = time.perf_counter(), self._step()

    def on_train_batch_end(self, batch, logs=None):
        step = self._step()
        if step % self.log_every == 0 and step != self._last_step:
            now = time.perf_counter()
            speed = (step - self._last_step) * self.global_batch_size / (now - self._last_time)
            self._last_time, self._last_step = now, step
            self.images_per_second.append(speed)
            with self.writer.as_default(step=step):
                for name, value in (logs or {}).items():
                    tf.summary.scalar(f"train/{name}", float(value))
                tf.summary.scalar("train/learning_rate", float(self.optimizer.learning_rate))
                tf.summary.scalar("train/images_per_second", speed)
        if self.image_every and self.eval_rgb is not None and step % self.image_every == 0:
            self.write_images(step)

    def on_train_end(self, logs=None):
        if self.eval_rgb is not None and self.image_every:
            self.write_images(self._step())
        self.writer.flush()

    def write_images(self, step: int):
        with self.writer.as_default(step=step):
            tf.summary.image("eval/gray_prediction_truth", comparison_grid(
                self.net, self.eval_rgb, self.temperature), step=step, max_outputs=1)


def comparison_grid(
    net, rgb_uint8, temperature=constants.ANNEALED_MEAN_TEMPERATURE
) -> np.ndarray:
    """uint8 `[1, n * H, 3 * W, 3]`: one row per photo, gray input | prediction | truth.

    The photos go through `inference.pipeline` at their own size (a multiple of 8).
    """
    photos = np.asarray(rgb_uint8)
    colorized, _ = pipeline.colorize_uint8(net, photos, temperature, network_size=None)
    rows = [
        [full_resolution.gray_rgb(full_resolution.lightness(photo)), prediction, photo]
        for photo, prediction in zip(photos, colorized.numpy(), strict=True)
    ]
    return image_io.contact_sheet(rows, gap=0)[np.newaxis]
