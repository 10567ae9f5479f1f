"""The network an export starts from: a trained model (any `load` source) or a random preset.

Example:

>>> net = load_network(preset="tiny")
>>> net.output_shape
(None, None, None, 313)
"""

import os

import keras

from keras_colorful import models


def load_network(
    model: str | os.PathLike | None = None, preset: str | None = None, seed: int = 0
) -> keras.Model:
    """Loads the logits network to export.

    Args:
        model: what `keras_colorful.inference.loading.load_network` takes: a `.keras` file
            written by scripts/train.py (a `ColorizationNet`, or a model wrapping one), or a
            released-weights name such as "eccv16".
        preset: instead of `model`, a preset name ("eccv16", "small", "tiny") for a randomly
            initialised network (tests, demos, size measurements).
        seed: random seed of the preset's initialisation.

    Returns:
        A network from L `[N, H, W, 1]` to logits `[N, H / 4, W / 4, 313]`.

    Raises:
        ValueError: neither or both of `model` and `preset`; a model that cannot be loaded or
            holds no logits network (the message names it).
    """
    if (model is None) == (preset is None):
        raise ValueError("Give exactly one of model (a .keras file) and preset.")
    if preset is not None:
        keras.utils.set_random_seed(seed)
        return models.build_model(preset)
    from keras_colorful.inference import loading

    return loading.load_network(model)
