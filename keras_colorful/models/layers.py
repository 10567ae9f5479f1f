"""Custom Keras layers of the colorization models.

- `AnnealedMean`: 313 ab-bin logits to ab (paper Sec. 2.2), the inference head.
- `CheckSpatialSize`: identity that raises a clear ValueError when a known height or width is
  not a multiple of the network's total stride.
"""

import keras

from keras_colorful import bins, constants


@keras.saving.register_keras_serializable(package="keras_colorful")
class AnnealedMean(keras.layers.Layer):
    """Annealed mean of the ab-bin distribution: E[ab] under softmax(logits / T).

    T = 1 is the mean (desaturated), T -> 0 the mode (patchy); the paper uses T = 0.38. Computes
    in float32 whatever the global dtype policy (the logits are cast).

    Args:
        temperature: default temperature T > 0, used when `call` gets none.
        **kwargs: standard layer arguments (`name`, `dtype`, ...); dtype defaults to "float32".

    Call arguments:
        logits: `[..., 313]` logits.
        temperature: optional runtime temperature overriding the configured one: a scalar, or a
            `[N]` tensor (one temperature per image of a `[N, h, w, 313]` batch).

    Returns:
        ab `[..., 2]` float32, in Lab units.

    Example:

    >>> import numpy as np
    >>> layer = AnnealedMean(temperature=0.38)
    >>> layer(np.zeros((1, 4, 4, 313), "float32")).shape
    TensorShape([1, 4, 4, 2])
    """

    def __init__(self, temperature: float = constants.ANNEALED_MEAN_TEMPERATURE, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.temperature = bins.check_temperature(temperature)

    def call(self, logits, temperature=None):
        logits = keras.ops.cast(logits, "float32")
        if temperature is None:
            temperature = self.temperature
        else:
            temperature = keras.ops.cast(temperature, "float32")
            if len(temperature.shape) == 1:  # one per image: broadcast over [N, h, w, bins]
                temperature = keras.ops.reshape(temperature, (-1,) + (1,) * (len(logits.shape) - 1))
        return bins.annealed_mean(logits, temperature)

    def compute_output_shape(self, logits_shape, temperature_shape=None):
        return tuple(logits_shape[:-1]) + (2,)

    def get_config(self) -> dict:
        config = super().get_config()
        config["temperature"] = self.temperature
        return config


@keras.saving.register_keras_serializable(package="keras_colorful")
class CheckSpatialSize(keras.layers.Layer):
    """Identity on `[N, H, W, C]` that raises ValueError if a known H or W is not a multiple.

    Sizes unknown at trace time (None) pass unchecked.

    Args:
        multiple: the required divisor of H and W.
        **kwargs: standard layer arguments.

    Example:

    >>> import numpy as np
    >>> CheckSpatialSize(multiple=8)(np.zeros((1, 16, 24, 1), "float32")).shape
    TensorShape([1, 16, 24, 1])
    """

    def __init__(self, multiple: int = 8, **kwargs):
        super().__init__(**kwargs)
        if multiple < 1:
            raise ValueError(f"multiple must be >= 1, got {multiple}.")
        self.multiple = int(multiple)

    def _check(self, shape):
        height, width = shape[1], shape[2]
        for size in (height, width):
            if size is not None and size % self.multiple:
                raise ValueError(
                    f"Input height and width must be multiples of {self.multiple}, got "
                    f"{height}x{width}. Resize or pad the image first (see "
                    "keras_colorful.inference.pipeline.preprocess_l)."
                )

    def call(self, inputs):
        self._check(tuple(inputs.shape))
        return inputs

    def compute_output_shape(self, input_shape):
        self._check(tuple(input_shape))
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config["multiple"] = self.multiple
        return config
