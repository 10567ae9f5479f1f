"""The training model: uint8 RGB in, Lab conversion and the rebalanced loss on the device.

The input pipeline ships uint8 RGB crops; this model converts them to Lab inside the training step
(on the GPU when there is one), feeds L to the colorization network and hands the logits and the
ground-truth ab to `RebalancedSoftCrossEntropy`, which adds the loss. It shares every weight with
the network, so the network alone is what gets saved and exported.

Example:
>>> import numpy as np
>>> from keras_colorful import models
>>> from keras_colorful.training import training_model
>>> net = models.build_model("tiny")
>>> trainer = training_model.build_training_model(net)
>>> logits = trainer(np.zeros((1, 32, 32, 3), "uint8"))
>>> tuple(logits.shape)
(1, 8, 8, 313)
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_colorful import color, losses


@keras.saving.register_keras_serializable(package="keras_colorful")
class RgbToLab(keras.layers.Layer):
    """uint8 (or [0, 1] float) RGB [..., 3] to (L [..., 1], ab [..., 2]), float32."""

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, rgb):
        if rgb.dtype == tf.uint8:
            rgb = tf.cast(rgb, tf.float32) / 255.0
        lab = color.rgb_to_lab(tf.cast(rgb, tf.float32))
        return lab[..., :1], lab[..., 1:]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 1), (*input_shape[:-1], 2)


def build_training_model(net: keras.Model, prior=None, **loss_kwargs) -> keras.Model:
    """Wraps `net` (L -> logits) into an RGB-in model whose forward pass adds the loss.

    Args:
        net: a `ColorizationNet` (or any model from L [N, H, W, 1] to logits [N, H/4, W/4, Q]).
        prior: (313,) prior for the class weights; None = ImageNet's.
        **loss_kwargs: further `RebalancedSoftCrossEntropy` arguments.

    Returns:
        A functional model from uint8 RGB [N, H, W, 3] to logits; compile it with an optimizer and
        no loss, and `fit` it on a dataset of uint8 RGB batches.
    """
    rgb = keras.Input(shape=(None, None, 3), dtype="uint8", name="rgb")
    lightness, ab = RgbToLab(name="rgb_to_lab")(rgb)
    logits = net(lightness)
    logits = losses.RebalancedSoftCrossEntropy(
        prior=prior, dtype="float32", name="rebalanced_loss", **loss_kwargs
    )(logits, ab)
    return keras.Model(rgb, logits, name="colorization_trainer")


def loss_layer(trainer: keras.Model) -> losses.RebalancedSoftCrossEntropy:
    """The loss layer of a model made by `build_training_model`."""
    return trainer.get_layer("rebalanced_loss")
