"""Tests of the resizing steps of keras_colorful.inference.pipeline against numpy and scikit-image."""

import numpy as np
import pytest
import tensorflow as tf
from skimage import color as skimage_color

from keras_colorful import color
from keras_colorful.inference import pipeline


def _bilinear_reference(x, out_h, out_w):
    """PyTorch `interpolate(mode="bilinear", align_corners=False)` on NHWC, in float64."""

    def weights(in_size, out_size):
        src = (np.arange(out_size) + 0.5) * in_size / out_size - 0.5
        src = np.maximum(src, 0.0)  # PyTorch clamps negative source coordinates to 0
        low = np.minimum(np.floor(src).astype(int), in_size - 1)
        high = np.minimum(low + 1, in_size - 1)
        frac = src - low
        matrix = np.zeros((out_size, in_size))
        np.add.at(matrix, (np.arange(out_size), low), 1.0 - frac)
        np.add.at(matrix, (np.arange(out_size), high), frac)
        return matrix

    rows = weights(x.shape[1], out_h)
    cols = weights(x.shape[2], out_w)
    return np.einsum("oh,nhwc,pw->nopc", rows, x.astype(np.float64), cols)


def _random_ab(shape, seed=0):
    return np.random.default_rng(seed).uniform(-60.0, 60.0, size=shape).astype("float32")


@pytest.mark.parametrize("out_size", [(20, 28), (13, 3), (7, 9)])
def test_upsample_ab_matches_half_pixel_bilinear(out_size):
    ab = _random_ab((2, 5, 7, 2))
    actual = pipeline.upsample_ab(ab, out_size)
    assert actual.dtype == tf.float32
    np.testing.assert_allclose(actual, _bilinear_reference(ab, *out_size), atol=1e-4)


def test_reconstruct_rgb_gray_when_ab_is_zero():
    l_full = np.random.default_rng(1).uniform(0.0, 100.0, size=(2, 12, 20, 1)).astype("float32")
    rgb = pipeline.reconstruct_rgb(l_full, np.zeros((2, 3, 5, 2), "float32"))
    assert tuple(rgb.shape) == (2, 12, 20, 3)
    lab = np.concatenate([l_full, np.zeros((2, 12, 20, 2), "float32")], axis=-1)
    np.testing.assert_allclose(rgb, color.lab_to_rgb(tf.constant(lab)), atol=1e-6)
    np.testing.assert_allclose(rgb, skimage_color.lab2rgb(lab.astype(np.float64)), atol=1e-4)
    # Gray: R = G = B.
    np.testing.assert_allclose(rgb[..., 0], rgb[..., 2], atol=1e-4)


def test_reconstruct_rgb_matches_release_two_step_upsampling():
    # ab from a 16x16 network input (4x4), original image 20x12: x4 to 16x16, then to 20x12.
    rng = np.random.default_rng(2)
    ab = _random_ab((1, 4, 4, 2), seed=3)
    l_full = rng.uniform(20.0, 90.0, size=(1, 20, 12, 1)).astype("float32")
    rgb = pipeline.reconstruct_rgb(l_full, ab)
    ab_full = _bilinear_reference(_bilinear_reference(ab, 16, 16), 20, 12)
    lab = np.concatenate([l_full.astype(np.float64), ab_full], axis=-1)
    expected = np.clip(skimage_color.lab2rgb(lab), 0.0, 1.0)
    assert tuple(rgb.shape) == (1, 20, 12, 3)
    np.testing.assert_allclose(rgb, expected, atol=1e-4)
    assert float(tf.reduce_min(rgb)) >= 0.0 and float(tf.reduce_max(rgb)) <= 1.0


def test_reconstruct_rgb_unbatched():
    rgb = pipeline.reconstruct_rgb(tf.fill((8, 8, 1), 50.0), tf.fill((2, 2, 2), 10.0))
    assert tuple(rgb.shape) == (8, 8, 3)
    expected = skimage_color.lab2rgb(np.array([[[50.0, 10.0, 10.0]]]))[0, 0]
    np.testing.assert_allclose(rgb[3, 5], expected, atol=1e-4)


@pytest.mark.parametrize(
    "network_size, expected",
    [(256, (256, 256)), ((64, 96), (64, 96)), (None, (104, 152))],
)
def test_preprocess_l_sizes(network_size, expected):
    l_full = tf.fill((2, 101, 150, 1), 40.0)
    out = pipeline.preprocess_l(l_full, network_size)
    assert tuple(out.shape) == (2, *expected, 1)
    np.testing.assert_allclose(out, 40.0, atol=1e-3)


def test_preprocess_l_clips_and_preserves_means():
    rng = np.random.default_rng(4)
    l_full = np.where(rng.uniform(size=(1, 64, 48, 1)) > 0.5, 100.0, 0.0).astype("float32")
    out = pipeline.preprocess_l(l_full, 24).numpy()
    assert out.min() >= 0.0 and out.max() <= 100.0
    assert abs(out.mean() - l_full.mean()) < 5.0


def test_preprocess_l_dynamic_shape_in_tf_function():
    fn = tf.function(
        lambda l_batch: pipeline.preprocess_l(l_batch, None),
        input_signature=[tf.TensorSpec((None, None, None, 1), tf.float32)],
    )
    assert tuple(fn(tf.zeros((1, 3, 21, 1))).shape) == (1, 8, 24, 1)
    assert tuple(fn(tf.zeros((1, 300, 203, 1))).shape) == (1, 304, 200, 1)
    assert tuple(fn(tf.zeros((1, 20, 12, 1))).shape) == (1, 24, 16, 1)


def test_network_size_for():
    assert pipeline.network_size_for(300, 203, None) == (304, 200)
    assert pipeline.network_size_for(3, 20, None) == (8, 24)  # ties round up
    assert pipeline.network_size_for(300, 203, 176) == (176, 176)
    with pytest.raises(ValueError, match="multiples of 8"):
        pipeline.network_size_for(300, 203, 100)
    with pytest.raises(ValueError, match="multiples of 8"):
        pipeline.network_size_for(300, 203, (64, 0))
