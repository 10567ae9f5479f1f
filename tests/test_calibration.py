"""fold_temperature: decoding the folded model at 0.38 equals decoding the original at T."""

import keras
import numpy as np
import pytest

from keras_colorful import bins, models
from keras_colorful.models import calibration


@pytest.mark.parametrize("temperature", [0.2, 0.38, 1.0])
def test_folded_model_at_default_temperature_equals_original_at_t(temperature):
    keras.utils.set_random_seed(1)
    net = models.build_model("tiny")
    lightness = np.random.default_rng(2).uniform(0, 100, (2, 24, 16, 1)).astype("float32")
    logits = net(lightness).numpy() * 20  # sharpen: a fresh net's logits are nearly flat
    calibration.logits_layer(net).set_weights(
        [w * 20 for w in calibration.logits_layer(net).get_weights()])
    expected = bins.annealed_mean(logits, temperature).numpy()
    calibration.fold_temperature(net, temperature)
    np.testing.assert_allclose(bins.annealed_mean(net(lightness), 0.38).numpy(), expected,
                               atol=1e-3)


def test_errors(tiny_net):
    with pytest.raises(ValueError, match="temperature"):
        calibration.fold_temperature(tiny_net, 0.0)
    with pytest.raises(ValueError, match="^temperature must be finite and > 0, got nan"):
        calibration.fold_temperature(tiny_net, float("nan"))
    plain = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(3, 1)])
    with pytest.raises(ValueError, match="313"):
        calibration.logits_layer(plain)
