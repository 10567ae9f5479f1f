"""The training model: uint8 RGB in, Lab conversion and the rebalanced loss on the device.

The input pipeline ships uint8 RGB crops; this model converts them to Lab inside the training step
(on the GPU when there is one), feeds L to the colorization network and hands the logits and the
ground-truth ab to `RebalancedSoftCrossEntropy`, whose output is the loss `compute_loss` returns.
It shares every weight with the network, so the network alone is what gets saved and exported.

Example:
>>> import numpy as np
>>> from keras_colorful import models
>>> from keras_colorful.training import training_model
>>> trainer = training_model.ColorizationTrainer(models.build_model("tiny"))
>>> outputs = trainer(np.zeros((1, 32, 32, 3), "uint8"))
>>> tuple(outputs["logits"].shape), tuple(outputs["loss"].shape)
((1, 8, 8, 313), ())
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_colorful import color, losses

LOSS_LAYER_NAME = "rebalanced_loss"


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


class ColorizationTrainer(keras.Model):
    """Wraps `net` (L -> logits) into an RGB-in model whose loss is the rebalanced loss layer's.

    Compile it with an optimizer and no loss, and `fit` it on a dataset of uint8 RGB batches.

    Args:
        net: a `ColorizationNet` (or any model from L [N, H, W, 1] to logits [N, H/4, W/4, Q]).
        prior: (313,) prior for the class weights; None = ImageNet's.
        **loss_kwargs: further `RebalancedSoftCrossEntropy` arguments.

    Outputs: {"logits": [N, H/4, W/4, Q], "loss": the weighted loss of the (replica's) batch}.
    """

    def __init__(self, net: keras.Model, prior=None, **loss_kwargs):
        rgb = keras.Input(shape=(None, None, 3), dtype="uint8", name="rgb")
        lightness, ab = RgbToLab(name="rgb_to_lab")(rgb)
        logits = net(lightness)
        loss = losses.RebalancedSoftCrossEntropy(
            prior=prior, dtype="float32", name=LOSS_LAYER_NAME, **loss_kwargs
        )(logits, ab)
        super().__init__(rgb, {"logits": logits, "loss": loss}, name="colorization_trainer")
        self.net = net

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # The replicas' gradients are summed: scale each replica's loss (a mean over its share of
        # the batch) by 1 / replicas, as Keras' own losses do; Keras un-scales it for display.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return y_pred["loss"] / float(replicas)

    @property
    def loss_layer(self) -> losses.RebalancedSoftCrossEntropy:
        return self.get_layer(LOSS_LAYER_NAME)
