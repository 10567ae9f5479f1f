"""Adam with coupled L2 weight decay and the release's step-decay learning rate.

The release (Caffe) added `weight_decay * w` to the gradient of every weight before Adam, which is
not AdamW's decoupled decay; Keras' `weight_decay` is decoupled, so we add it ourselves. It applies
to conv kernels only (Caffe prototxts set decay_mult 0 on biases; BatchNorm had no parameters).

Example:
>>> from keras_colorful.training import optimizer
>>> opt = optimizer.build_optimizer()
>>> round(float(opt.learning_rate), 10) == constants.LEARNING_RATE, opt.l2 == constants.WEIGHT_DECAY
(True, True)
"""

from __future__ import annotations

import keras

from keras_colorful import constants


@keras.saving.register_keras_serializable(package="keras_colorful")
class AdamWithL2(keras.optimizers.Adam):
    """Adam whose gradients get `l2 * variable` added for every conv kernel (coupled L2).

    Args:
        l2: the coefficient (the release's: `constants.WEIGHT_DECAY`).
        **kwargs: passed to `keras.optimizers.Adam`.
    """

    def __init__(self, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.l2 = float(l2)

    def update_step(self, gradient, variable, learning_rate):
        if self.l2 and _is_kernel(variable):
            gradient = gradient + keras.ops.cast(self.l2, gradient.dtype) * keras.ops.cast(
                variable, gradient.dtype
            )
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        config = super().get_config()
        config["l2"] = self.l2
        return config


def _is_kernel(variable) -> bool:
    # Keras variables have a `path` ("model1_conv0/kernel"); in the TF backend's update step the
    # optimiser sees the underlying tf.Variable, named "model1_conv0/kernel:0".
    name = getattr(variable, "path", None) or variable.name
    return name.split(":")[0].endswith("kernel")


def build_optimizer(
    learning_rate: float = constants.LEARNING_RATE,
    lr_decay_factor: float = constants.LR_DECAY_FACTOR,
    lr_decay_steps: int = constants.LR_DECAY_STEPS,
    weight_decay: float = constants.WEIGHT_DECAY,
    beta_1: float = constants.ADAM_BETA_1,
    beta_2: float = constants.ADAM_BETA_2,
    epsilon: float = constants.ADAM_EPSILON,
) -> AdamWithL2:
    """Adam with coupled L2 and a staircase learning-rate decay; the release's by default.

    The learning rate is multiplied by `lr_decay_factor` every `lr_decay_steps` steps.
    """
    schedule = keras.optimizers.schedules.ExponentialDecay(
        learning_rate, decay_steps=lr_decay_steps, decay_rate=lr_decay_factor, staircase=True
    )
    return AdamWithL2(
        l2=weight_decay, learning_rate=schedule, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon
    )
