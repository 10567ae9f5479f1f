"""Adam with coupled L2 weight decay and the release's step-decay learning rate.

The release (Caffe) added `weight_decay * w` to the gradient of every weight before Adam, which is
not AdamW's decoupled decay; Keras' `weight_decay` is decoupled, so we add it ourselves. It applies
to conv kernels only (Caffe prototxts set decay_mult 0 on biases; BatchNorm had no parameters).

Example:
>>> from keras_colorful.training import optimizer
>>> opt = optimizer.build_optimizer(learning_rate=3.16e-5, weight_decay=1e-3)
>>> round(float(opt.learning_rate), 8)
3.16e-05
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="keras_colorful")
class AdamWithL2(keras.optimizers.Adam):
    """Adam whose gradients get `l2 * variable` added for every conv kernel (coupled L2).

    Args:
        l2: the coefficient (release: 1e-3).
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
    learning_rate: float = 3.16e-5,
    lr_decay_factor: float = 0.316,
    lr_decay_steps: int = 215_000,
    weight_decay: float = 1e-3,
    beta_1: float = 0.9,
    beta_2: float = 0.99,
    epsilon: float = 1e-8,
) -> AdamWithL2:
    """The release's optimiser: Adam(0.9, 0.99, 1e-8), lr x0.316 every 215k steps, L2 1e-3."""
    schedule = keras.optimizers.schedules.ExponentialDecay(
        learning_rate, decay_steps=lr_decay_steps, decay_rate=lr_decay_factor, staircase=True
    )
    return AdamWithL2(
        l2=weight_decay, learning_rate=schedule, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon
    )
