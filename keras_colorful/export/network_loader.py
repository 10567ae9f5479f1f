"""The network an export starts from: a trained `.keras` file, or a preset (random weights).

Example:

>>> net = load_network(preset="tiny")
>>> net.output_shape
(None, None, None, 313)
"""

import os

import keras

from keras_colorful import constants, models
from keras_colorful.export import serving_fn


def load_network(
    model: str | os.PathLike | None = None, preset: str | None = None, seed: int = 0
) -> keras.Model:
    """Loads the logits network to export.

    Args:
        model: a `.keras` file written by scripts/train.py (`net.save(path)`): a
            `ColorizationNet`, or a model wrapping one (e.g. `models.build_inference_model`),
            whose inner network is used.
        preset: instead of `model`, a preset name ("eccv16", "small", "tiny") for a randomly
            initialised network (tests, demos, size measurements).
        seed: random seed of the preset's initialisation.

    Returns:
        A network from L `[N, H, W, 1]` to logits `[N, H / 4, W / 4, 313]`.

    Raises:
        ValueError: neither or both of `model` and `preset`; a model without a logits network.
        FileNotFoundError: `model` does not exist.
    """
    if (model is None) == (preset is None):
        raise ValueError("Give exactly one of model (a .keras file) and preset.")
    if preset is not None:
        keras.utils.set_random_seed(seed)
        return models.build_model(preset)
    if not os.path.isfile(model):
        raise FileNotFoundError(f"No model file {os.fspath(model)!r}.")
    loaded = keras.models.load_model(model, compile=False)
    if serving_fn.is_logits_network(loaded):
        return loaded
    inner = [layer for layer in loaded.layers if serving_fn.is_logits_network(layer)]
    if len(inner) != 1:
        raise ValueError(
            f"{os.fspath(model)!r} is not a colorization network (L [N, H, W, 1] to "
            f"{constants.NUM_BINS} ab-bin logits) and wraps {len(inner)} of them."
        )
    return inner[0]
