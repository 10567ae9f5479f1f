"""Tests of keras_colorful.models.layers against numpy float64 references."""

import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_colorful.models import layers

_ASSETS = pathlib.Path(__file__).resolve().parents[1] / "keras_colorful" / "assets"


@pytest.fixture(scope="module")
def bin_centers():
    # Read independently of keras_colorful.bins.
    return np.load(_ASSETS / "pts_in_hull.npy").astype(np.float64)


def _random_logits(shape, seed=0):
    return (3.0 * np.random.default_rng(seed).normal(size=shape)).astype("float32")


def _annealed_mean_reference(logits, centers, temperature):
    """E[ab] under softmax(logits / T), in float64; temperature broadcastable to logits."""
    z = logits.astype(np.float64) / temperature
    z -= z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=-1, keepdims=True)
    return p @ centers


def test_annealed_mean_matches_reference_at_configured_temperature(bin_centers):
    logits = _random_logits((2, 3, 5, 313))
    ab = layers.AnnealedMean()(logits)
    assert ab.dtype == tf.float32
    assert tuple(ab.shape) == (2, 3, 5, 2)
    expected = _annealed_mean_reference(logits, bin_centers, 0.38)
    np.testing.assert_allclose(ab, expected, atol=1e-3)
    # T = 1 (the mean) is further from the mode than T = 0.38: a different answer.
    assert np.abs(expected - _annealed_mean_reference(logits, bin_centers, 1.0)).max() > 1.0


def test_annealed_mean_runtime_temperature(bin_centers):
    logits = _random_logits((2, 4, 4, 313), seed=1)
    layer = layers.AnnealedMean(temperature=0.38)
    np.testing.assert_allclose(
        layer(logits, temperature=tf.constant(0.7)),
        _annealed_mean_reference(logits, bin_centers, 0.7),
        atol=1e-3,
    )
    per_image = np.array([0.2, 1.5], "float32")
    np.testing.assert_allclose(
        layer(logits, temperature=per_image),
        _annealed_mean_reference(logits, bin_centers, per_image.reshape(2, 1, 1, 1)),
        atol=1e-3,
    )


def test_annealed_mean_casts_half_precision_logits(bin_centers):
    logits = _random_logits((1, 2, 2, 313), seed=2)
    ab = layers.AnnealedMean()(tf.constant(logits, tf.float16))
    assert ab.dtype == tf.float32
    expected = _annealed_mean_reference(logits.astype(np.float16), bin_centers, 0.38)
    np.testing.assert_allclose(ab, expected, atol=1e-2)


def test_annealed_mean_rejects_bad_temperature():
    with pytest.raises(ValueError, match="temperature"):
        layers.AnnealedMean(temperature=0.0)
    # The same check and message as everywhere (keras_colorful.bins.check_temperature).
    for bad in (-0.5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="^temperature must be finite and > 0"):
            layers.AnnealedMean(temperature=bad)
    with pytest.raises(TypeError, match="^temperature must be a real number"):
        layers.AnnealedMean(temperature="0.38")


def test_annealed_mean_serialisation_round_trip(keras_round_trip):
    layer = layers.AnnealedMean(temperature=0.5, name="head")
    config = layer.get_config()
    assert config["temperature"] == 0.5
    assert layers.AnnealedMean.from_config(config).get_config() == config

    inputs = keras.Input(shape=(None, None, 313))
    model = keras.Model(inputs, layer(inputs))
    loaded = keras_round_trip(model, "head.keras")
    assert isinstance(loaded.get_layer("head"), layers.AnnealedMean)
    assert loaded.get_layer("head").temperature == 0.5
    logits = _random_logits((1, 3, 3, 313), seed=3)
    np.testing.assert_allclose(loaded(logits), model(logits), atol=1e-6)


def test_check_spatial_size():
    layer = layers.CheckSpatialSize(multiple=8)
    x = np.zeros((1, 16, 24, 1), "float32")
    np.testing.assert_array_equal(layer(x), x)
    with pytest.raises(ValueError, match="multiples of 8, got 16x20"):
        layer(np.zeros((1, 16, 20, 1), "float32"))
    assert tuple(layer.compute_output_shape((None, None, 24, 1))) == (None, None, 24, 1)
    with pytest.raises(ValueError, match="multiples of 8"):
        layer.compute_output_shape((None, 9, 24, 1))
    config = layer.get_config()
    assert layers.CheckSpatialSize.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="multiple"):
        layers.CheckSpatialSize(multiple=0)
