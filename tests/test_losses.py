"""RebalancedSoftCrossEntropy against an explicit numpy float64 weighted cross-entropy."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_colorful import bins, losses


def numpy_soft_encode(ab, centers, num_neighbors=10, sigma=5.0):
    flat = ab.reshape(-1, 2).astype(np.float64)
    distances = ((flat[:, None, :] - centers[None].astype(np.float64)) ** 2).sum(-1)
    nearest = np.argsort(distances, axis=1)[:, :num_neighbors]
    weights = np.exp(-np.take_along_axis(distances, nearest, 1) / (2 * sigma**2))
    weights /= weights.sum(1, keepdims=True)
    soft = np.zeros((flat.shape[0], centers.shape[0]))
    np.put_along_axis(soft, nearest, weights, 1)
    return soft.reshape(ab.shape[:-1] + (centers.shape[0],))


def numpy_loss_and_gradient(logits, ab, prior, rebalance_lambda=0.5, threshold=5.0):
    """The explicitly weighted loss, the unweighted loss, and d(weighted)/d(logits)."""
    logits = logits.astype(np.float64)
    sub = ab[:, ::4, ::4, :].astype(np.float64)
    soft = numpy_soft_encode(sub, bins.ab_bin_centers())
    p = prior / prior.sum()
    w = 1.0 / ((1 - rebalance_lambda) * p + rebalance_lambda / np.count_nonzero(p))
    w /= (p * w).sum()
    pixel_w = w[soft.argmax(-1)]
    non_gray = (np.abs(sub) > threshold).reshape(len(sub), -1).any(1).astype(np.float64)
    pixel_w *= non_gray[:, None, None]
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    ce = -(soft * log_probs).sum(-1)
    n = len(logits)
    gradient = pixel_w[..., None] * (np.exp(log_probs) - soft) / n
    return (ce * pixel_w).sum() / n, ce.sum() / n, gradient


@pytest.fixture
def random_batch():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, (3, 4, 5, 313)).astype(np.float32)
    ab = rng.uniform(-80, 80, (3, 16, 20, 2)).astype(np.float32)
    ab[2] = rng.uniform(-4, 4, ab[2].shape)  # a gray image: weight 0
    return logits, ab


def test_loss_and_gradient_match_numpy_float64(random_batch):
    logits, ab = random_batch
    prior = bins.default_prior()
    layer = losses.RebalancedSoftCrossEntropy(prior=prior)
    logits_tensor = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(logits_tensor)
        weighted, unweighted = layer.compute_losses(logits_tensor, tf.constant(ab))
    gradient = tape.gradient(weighted, logits_tensor).numpy()
    expected_weighted, expected_unweighted, expected_gradient = numpy_loss_and_gradient(
        logits, ab, prior
    )
    np.testing.assert_allclose(float(weighted), expected_weighted, rtol=1e-5)
    np.testing.assert_allclose(float(unweighted), expected_unweighted, rtol=1e-5)
    np.testing.assert_allclose(gradient, expected_gradient, atol=1e-7, rtol=1e-4)
    # The gray image contributes no gradient at all, the others do.
    assert np.abs(gradient[2]).max() == 0.0
    assert np.abs(gradient[:2]).max() > 1e-4


def test_layer_returns_loss_and_tracks_unweighted(random_batch):
    logits, ab = random_batch
    layer = losses.RebalancedSoftCrossEntropy()
    loss = layer(tf.constant(logits), tf.constant(ab))
    expected_weighted, expected_unweighted, _ = numpy_loss_and_gradient(
        logits, ab, bins.default_prior()
    )
    assert loss.shape == ()
    np.testing.assert_allclose(float(loss), expected_weighted, rtol=1e-5)
    np.testing.assert_allclose(
        float(layer.unweighted_loss_tracker.result()), expected_unweighted, rtol=1e-5
    )
    # Per output pixel: the sums over an image's h x w logits divided by h * w.
    pixels = logits.shape[1] * logits.shape[2]
    np.testing.assert_allclose(
        float(layer.loss_per_pixel_tracker.result()), expected_weighted / pixels, rtol=1e-5
    )
    np.testing.assert_allclose(
        float(layer.unweighted_loss_per_pixel_tracker.result()), expected_unweighted / pixels,
        rtol=1e-5,
    )


def test_custom_prior_changes_weights(random_batch):
    logits, ab = random_batch
    uniform = np.full(313, 1 / 313)
    layer = losses.RebalancedSoftCrossEntropy(prior=uniform)
    weighted, unweighted = layer.compute_losses(tf.constant(logits), tf.constant(ab))
    # A uniform prior gives every bin weight 1: only the gray image's mask remains.
    expected, _, _ = numpy_loss_and_gradient(logits, ab, uniform)
    np.testing.assert_allclose(float(weighted), expected, rtol=1e-5)
    assert float(weighted) < float(unweighted)


def test_config_round_trip_and_bad_prior():
    layer = losses.RebalancedSoftCrossEntropy(num_neighbors=5, sigma=4.0, name="loss")
    clone = losses.RebalancedSoftCrossEntropy.from_config(layer.get_config())
    assert clone.num_neighbors == 5 and clone.sigma == 4.0
    np.testing.assert_allclose(clone.prior, layer.prior)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, losses.RebalancedSoftCrossEntropy)
    with pytest.raises(ValueError, match="prior"):
        losses.RebalancedSoftCrossEntropy(prior=np.ones(10))
    with pytest.raises(ValueError, match="num_neighbors"):
        losses.RebalancedSoftCrossEntropy(num_neighbors=0)
