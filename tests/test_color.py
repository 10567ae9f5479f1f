"""keras_colorful.color against scikit-image's rgb2lab / lab2rgb (the independent reference)."""

import warnings

import numpy as np
import pytest
import skimage.color
import tensorflow as tf
from skimage.color import colorconv

from keras_colorful import color, constants

# Lab values span about 0..100: float32 agreement to 1e-3 is ~1e-5 relative.
FLOAT32_TOLERANCE = 1e-3
FLOAT64_TOLERANCE = 1e-8


def skimage_lab2rgb(lab):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "negative Z values that have been clipped to zero"
        return skimage.color.lab2rgb(lab)


def random_lab(rng, count, low=(0.0, -128.0, -128.0), high=(100.0, 127.0, 127.0)):
    return rng.uniform(low, high, size=(count, 3))


def test_colour_constants_are_scikit_images():
    """One copy of the sRGB matrix and the D65 white (constants), read by color and torch_port."""
    np.testing.assert_array_equal(np.array(constants.SRGB_TO_XYZ),
                                  colorconv.xyz_from_rgb)
    np.testing.assert_array_equal(
        constants.D65_WHITE, skimage.color.xyz_tristimulus_values(illuminant="D65", observer="2"))
    assert color._XYZ_FROM_RGB.dtype == color._D65_WHITE.dtype == np.float64
    np.testing.assert_array_equal(color._XYZ_FROM_RGB, constants.SRGB_TO_XYZ)
    np.testing.assert_array_equal(color._D65_WHITE, constants.D65_WHITE)


@pytest.mark.parametrize("shape", [(3,), (50, 3), (2, 7, 9, 3), (2, 1, 3, 4, 3)])
def test_rgb_to_lab_matches_skimage_float32(shape):
    rng = np.random.default_rng(0)
    rgb = rng.random(shape, dtype=np.float32)
    lab = color.rgb_to_lab(rgb)
    assert lab.dtype == tf.float32 and lab.shape == shape
    expected = skimage.color.rgb2lab(rgb.reshape(-1, 3)).reshape(shape)
    np.testing.assert_allclose(lab.numpy(), expected, atol=FLOAT32_TOLERANCE)


def test_rgb_to_lab_float64_keeps_dtype_and_is_exact():
    rgb = np.random.default_rng(1).random((1000, 3))
    lab = color.rgb_to_lab(rgb)
    assert lab.dtype == tf.float64
    np.testing.assert_allclose(lab.numpy(), skimage.color.rgb2lab(rgb), atol=FLOAT64_TOLERANCE)


def test_rgb_to_lab_uint8_is_float_over_255():
    rgb = np.random.default_rng(2).integers(0, 256, size=(4, 5, 3), dtype=np.uint8)
    lab = color.rgb_to_lab(rgb)
    assert lab.dtype == tf.float32
    np.testing.assert_allclose(lab.numpy(), skimage.color.rgb2lab(rgb), atol=FLOAT32_TOLERANCE)
    np.testing.assert_array_equal(lab.numpy(), color.rgb_to_lab(rgb.astype(np.float32) / 255))


def test_black_and_white():
    rgb = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], np.float32)
    lab = color.rgb_to_lab(rgb).numpy()
    np.testing.assert_allclose(lab, skimage.color.rgb2lab(rgb), atol=FLOAT32_TOLERANCE)
    np.testing.assert_allclose(lab[0], [0.0, 0.0, 0.0], atol=1e-4)
    np.testing.assert_allclose(lab[1], [100.0, 0.0, 0.0], atol=1e-2)  # D65 white, a b ~ 0.005
    back = color.lab_to_rgb(np.array([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0]], np.float32)).numpy()
    np.testing.assert_allclose(back, [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], atol=1e-3)


def test_lab_to_rgb_round_trip_on_in_gamut_lab():
    rng = np.random.default_rng(3)
    lab = skimage.color.rgb2lab(rng.random((2000, 3))).astype(np.float32)
    rgb = color.lab_to_rgb(lab).numpy()
    np.testing.assert_allclose(rgb, skimage_lab2rgb(lab), atol=FLOAT32_TOLERANCE)
    np.testing.assert_allclose(rgb, skimage_lab2rgb(lab.astype(np.float64)), atol=FLOAT32_TOLERANCE)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lab_to_rgb_out_of_gamut_matches_skimage(dtype):
    rng = np.random.default_rng(4)
    lab = random_lab(rng, 5000).astype(dtype)  # most of these are outside the sRGB gamut
    rgb = color.lab_to_rgb(lab)
    assert rgb.dtype == tf.as_dtype(dtype)
    tolerance = FLOAT32_TOLERANCE if dtype == np.float32 else FLOAT64_TOLERANCE
    np.testing.assert_allclose(rgb.numpy(), skimage_lab2rgb(lab), atol=tolerance)


def test_lab_to_rgb_extreme_values_are_clipped_never_nan():
    rng = np.random.default_rng(5)
    lab = np.concatenate(
        [
            random_lab(rng, 2000, low=(-50.0, -1000.0, -1000.0), high=(200.0, 1000.0, 1000.0)),
            [[np.inf, 0, 0], [-np.inf, 0, 0], [50, np.inf, -np.inf], [1e30, -1e30, 1e30]],
        ]
    )
    for dtype in (np.float32, np.float64):
        rgb = color.lab_to_rgb(lab.astype(dtype)).numpy()
        assert np.all(np.isfinite(rgb)) and rgb.min() >= 0.0 and rgb.max() <= 1.0
    finite = lab[:2000]
    np.testing.assert_allclose(color.lab_to_rgb(finite).numpy(), skimage_lab2rgb(finite),
                               atol=FLOAT64_TOLERANCE)


def test_half_precision_is_computed_in_float32_and_cast_back():
    rgb = np.random.default_rng(6).random((10, 3)).astype(np.float16)
    lab = color.rgb_to_lab(rgb)
    assert lab.dtype == tf.float16
    np.testing.assert_allclose(lab.numpy(), skimage.color.rgb2lab(rgb.astype(np.float32)),
                               atol=0.1)  # float16 rounding of values up to 100
    assert color.lab_to_rgb(lab).dtype == tf.float16


def test_gradients_are_finite_everywhere():
    rng = np.random.default_rng(7)
    rgb = tf.Variable(rng.uniform(-0.5, 1.5, (500, 3)).astype(np.float32))
    lab = tf.Variable(random_lab(rng, 500, (-20, -300, -300), (120, 300, 300)).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        forward = tf.reduce_sum(color.rgb_to_lab(rgb))
        backward = tf.reduce_sum(color.lab_to_rgb(lab))
    assert np.all(np.isfinite(tape.gradient(forward, rgb).numpy()))
    assert np.all(np.isfinite(tape.gradient(backward, lab).numpy()))


def test_inside_tf_function_with_unknown_shape_and_tf_data():
    rng = np.random.default_rng(8)
    images = rng.integers(0, 256, size=(3, 6, 5, 3), dtype=np.uint8)
    expected = skimage.color.rgb2lab(images)

    traced = tf.function(color.rgb_to_lab,
                         input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])
    np.testing.assert_allclose(traced(images).numpy(), expected, atol=FLOAT32_TOLERANCE)

    dataset = tf.data.Dataset.from_tensor_slices(images).map(
        lambda image: color.lab_to_rgb(color.rgb_to_lab(image)), num_parallel_calls=2
    )
    round_trip = np.stack(list(dataset.as_numpy_iterator()))
    np.testing.assert_allclose(round_trip, images / 255.0, atol=FLOAT32_TOLERANCE)

    in_dataset = np.stack(list(
        tf.data.Dataset.from_tensor_slices(images).map(color.rgb_to_lab).as_numpy_iterator()))
    np.testing.assert_allclose(in_dataset, expected, atol=FLOAT32_TOLERANCE)


def test_xla_compiles_to_the_same_result():
    rgb = np.random.default_rng(9).random((4, 4, 3), dtype=np.float32)
    compiled = tf.function(lambda x: color.lab_to_rgb(color.rgb_to_lab(x)), jit_compile=True)
    np.testing.assert_allclose(compiled(rgb).numpy(), rgb, atol=FLOAT32_TOLERANCE)


@pytest.mark.parametrize(
    "function, value",
    [
        (color.rgb_to_lab, np.zeros((4, 2), np.float32)),
        (color.lab_to_rgb, np.zeros((4, 4), np.float32)),
        (color.rgb_to_lab, np.zeros((4, 3), np.int32)),
        (color.lab_to_rgb, np.zeros((4, 3), np.uint8)),
        (color.rgb_to_lab, np.float32(1.0)),
    ],
)
def test_invalid_input_raises_value_error(function, value):
    with pytest.raises(ValueError):
        function(value)
