"""Colorization models: the logits network, its presets and the annealed-mean inference model.

Importing this package registers the custom Keras classes (for `.keras` files), so it imports
Keras. `PRESETS` is `keras_colorful.presets.PRESETS`, re-exported.

- `build_model(preset, **overrides)`: `ColorizationNet`, L `[N, H, W, 1]` to 313 logits at 1/4
  resolution (the training model's core).
- `build_inference_model(net)`: L to ab at 1/4 resolution, sharing the net's weights; see
  `keras_colorful.inference.pipeline` for full-resolution RGB.

Example:

>>> import numpy as np
>>> from keras_colorful import models
>>> net = models.build_model("tiny")
>>> colorizer = models.build_inference_model(net)
>>> colorizer(np.full((2, 32, 32, 1), 50.0, "float32")).shape
TensorShape([2, 8, 8, 2])
"""

import keras

from keras_colorful import constants, presets
from keras_colorful.models import calibration
from keras_colorful.models.colorization_net import ColorizationNet
from keras_colorful.models.layers import AnnealedMean, CheckSpatialSize

__all__ = [
    "AnnealedMean",
    "CheckSpatialSize",
    "ColorizationNet",
    "PRESETS",
    "calibration",
    "build_inference_model",
    "build_model",
]

# The presets are plain data in `keras_colorful.presets` (importable without Keras).
PRESETS = presets.PRESETS


def build_model(preset: str = "eccv16", seed: int | None = None, **overrides) -> ColorizationNet:
    """Builds a freshly initialised `ColorizationNet` from a preset.

    Args:
        preset: one of `PRESETS`: "eccv16" (the paper), "small" (CPU-trainable), "tiny" (tests).
        seed: seeds Keras' random initialisation first (the same weights every time); None
            leaves the global random state as it is.
        **overrides: constructor arguments replacing the preset's (e.g. `num_bins`, `dtype`,
            `name`, `block_widths`).

    Returns:
        The network, L in [0, 100] `[N, H, W, 1]` to logits `[N, H / 4, W / 4, num_bins]`.

    Raises:
        ValueError: unknown preset.

    Example:

    >>> net = build_model("tiny", name="test_net")
    >>> net.output_shape
    (None, None, None, 313)
    """
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; available presets: {sorted(PRESETS)}.")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    config = dict(PRESETS[preset])
    config.update(overrides)
    return ColorizationNet(**config)


def build_inference_model(
    net: keras.Model,
    temperature: float = constants.ANNEALED_MEAN_TEMPERATURE,
    runtime_temperature: bool = False,
    name: str = "colorizer",
) -> keras.Model:
    """Wraps a logits network with `AnnealedMean`: L to ab at 1/4 resolution.

    The returned functional model holds `net` itself (same layers, same weights) and an
    `AnnealedMean` layer named "annealed_mean"; it saves and loads as a `.keras` file.

    Args:
        net: a model from L `[N, H, W, 1]` to logits `[N, H / 4, W / 4, 313]`.
        temperature: the annealed-mean temperature (paper: 0.38).
        runtime_temperature: if True, the model takes a dict `{"l": L, "temperature": T}` with
            T of shape `[N]` (one temperature per image) instead of L alone.
        name: model name.

    Returns:
        A `keras.Model` giving ab `[N, H / 4, W / 4, 2]` float32.

    Example:

    >>> import numpy as np
    >>> colorizer = build_inference_model(build_model("tiny"), runtime_temperature=True)
    >>> l = np.full((1, 16, 16, 1), 50.0, "float32")
    >>> colorizer({"l": l, "temperature": np.array([1.0], "float32")}).shape
    TensorShape([1, 4, 4, 2])
    """
    l_input = keras.Input(shape=(None, None, 1), name="l")
    logits = net(l_input)
    head = AnnealedMean(temperature, name="annealed_mean")
    if runtime_temperature:
        temperature_input = keras.Input(shape=(), name="temperature")
        ab = head(logits, temperature=temperature_input)
        inputs = {"l": l_input, "temperature": temperature_input}
    else:
        ab = head(logits)
        inputs = l_input
    return keras.Model(inputs, ab, name=name)
