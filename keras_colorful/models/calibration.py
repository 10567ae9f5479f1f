"""Folding a decode temperature into a network's logits layer.

`keras_colorful` decodes every model at T = 0.38 (the paper's) unless told otherwise. A model whose
colours look best at another temperature T can carry it in its weights: scaling the logits
layer's kernel and bias by 0.38 / T gives softmax(y / 0.38) = softmax(z / T). The converted
released model does the same with the release's own scale (see `keras_colorful.weights.convert`).

Example:
>>> import numpy as np
>>> from keras_colorful import bins, models
>>> net = models.build_model("tiny")
>>> l = np.random.default_rng(0).uniform(0, 100, (1, 16, 16, 1)).astype("float32")
>>> before = bins.annealed_mean(net(l), 0.6).numpy()
>>> models.calibration.fold_temperature(net, 0.6)
>>> after = bins.annealed_mean(net(l), 0.38).numpy()
>>> bool(np.allclose(before, after, atol=1e-4))
True
"""

from __future__ import annotations

import keras

from keras_colorful import bins, constants


def logits_layer(net: keras.Model) -> keras.layers.Conv2D:
    """The last Conv2D with one filter per ab bin: the layer that produces the logits."""
    candidates = [layer for layer in net.layers
                  if isinstance(layer, keras.layers.Conv2D) and layer.filters == constants.NUM_BINS]
    if not candidates:
        raise ValueError(f"{net.name!r} has no Conv2D layer with {constants.NUM_BINS} filters.")
    return candidates[-1]


def fold_temperature(net: keras.Model, temperature: float,
                     default_temperature: float = constants.ANNEALED_MEAN_TEMPERATURE) -> None:
    """Scales the logits in place so that decoding at `default_temperature` = at `temperature`."""
    temperature = bins.check_temperature(temperature)
    layer = logits_layer(net)
    scale = default_temperature / temperature
    layer.set_weights([weight * scale for weight in layer.get_weights()])
