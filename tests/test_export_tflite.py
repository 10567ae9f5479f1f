"""Tests of the TFLite conversion: builtin ops only, interface, parity under the LiteRT interpreter.

The reference is the Keras model (logits, then `bins.annealed_mean`) in this process. Tolerances
(ab in Lab units): float32 max 0.01, float16 max 1.0; the int8 variants are checked loosely on
the test net (finite, mean error bounded) - their errors on real photos are in export/README.md.
"""


import keras
import numpy as np
import pytest
import tensorflow as tf
from skimage import color as skimage_color

from keras_colorful import bins, color
from keras_colorful.export import tflite_lib
from keras_colorful.inference import pipeline
from tests import image_factory
from tests.script_runner import run_script

SIZE = 32
# Mean |ab| error bounds of the quantized variants on the test net, whose ab spread (std over
# pixels) is ~10-20: a broken quantization (wrong scale, saturated softmax) is off by tens.
MEAN_AB_ERROR_BOUND = {"dynamic_int8": 2.0, "int8": 6.0}
MAX_AB_ERROR_BOUND = {"float32": 0.01, "float16": 1.0}


@pytest.fixture(scope="module")
def net(colourful_tiny_net):
    """A random "tiny" net whose ab varies over the image as a trained net's does."""
    return colourful_tiny_net(seed=0, logit_std=3.0)


@pytest.fixture(scope="module")
def photos():
    """Synthetic colour photos: calibration set and test set (different seeds)."""
    calibration = [image_factory.color_image(48, 40, seed=s) for s in range(8)]
    test = [image_factory.color_image(40, 56, seed=s) for s in range(100, 104)]
    return calibration, test


@pytest.fixture(scope="module")
def test_l(photos):
    return np.concatenate(tflite_lib.representative_l(photos[1], SIZE))


@pytest.fixture(scope="module")
def converted(net, photos):
    calibration, _ = photos
    return {
        quantization: tflite_lib.convert(
            net, quantization, SIZE, representative_images=calibration
        )
        for quantization in tflite_lib.QUANTIZATIONS
    }


def _keras_reference(net, l_network):
    logits = net(l_network, training=False).numpy()
    return bins.annealed_mean(logits, 0.38).numpy(), logits


@pytest.mark.parametrize("quantization", tflite_lib.QUANTIZATIONS)
def test_builtin_ops_only_and_interface(converted, quantization):
    model = converted[quantization]
    ops = tflite_lib.op_names(model)
    assert "CONV_2D" in ops and "SOFTMAX" in ops
    assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"], ops
    runner = tflite_lib.interpreter(model).get_signature_runner()
    (input_detail,) = runner.get_input_details().values()
    assert list(runner.get_input_details()) == ["l"]
    assert input_detail["dtype"] == np.float32
    assert list(input_detail["shape"]) == [1, SIZE, SIZE, 1]
    outputs = runner.get_output_details()
    assert list(outputs["ab"]["shape"]) == [1, SIZE // 4, SIZE // 4, 2]
    assert list(outputs["logits"]["shape"]) == [1, SIZE // 4, SIZE // 4, 313]
    assert outputs["ab"]["dtype"] == outputs["logits"]["dtype"] == np.float32


@pytest.mark.parametrize("quantization", tflite_lib.QUANTIZATIONS)
def test_parity_with_keras_under_litert(net, converted, test_l, quantization):
    expected_ab, expected_logits = _keras_reference(net, test_l)
    assert expected_ab.std() > 3.0  # the test net's colours vary over the images
    outputs = tflite_lib.run(converted[quantization], test_l)
    ab_error = np.abs(outputs["ab"] - expected_ab)
    assert np.isfinite(outputs["ab"]).all() and np.isfinite(outputs["logits"]).all()
    if quantization in MAX_AB_ERROR_BOUND:
        assert ab_error.max() <= MAX_AB_ERROR_BOUND[quantization], ab_error.max()
    else:
        assert ab_error.mean() <= MEAN_AB_ERROR_BOUND[quantization], ab_error.mean()
    if quantization == "float32":
        np.testing.assert_allclose(outputs["logits"], expected_logits, atol=1e-3)
    # The ab output is the annealed mean of the model's own logits.
    decoded = bins.annealed_mean(outputs["logits"], 0.38).numpy()
    tolerance = 0.01 if quantization == "float32" else 3.0
    assert np.abs(decoded - outputs["ab"]).mean() <= tolerance


def test_sizes_shrink_with_quantization(converted):
    sizes = {quantization: len(model) for quantization, model in converted.items()}
    assert sizes["float16"] < 0.75 * sizes["float32"]
    assert sizes["dynamic_int8"] < 0.6 * sizes["float32"]
    assert sizes["int8"] < 0.6 * sizes["float32"]


def test_gray_uint8_input(net, test_l):
    model = tflite_lib.convert(net, "float32", SIZE, input_type="gray_uint8")
    runner = tflite_lib.interpreter(model).get_signature_runner()
    assert list(runner.get_input_details()) == ["gray"]
    assert runner.get_input_details()["gray"]["dtype"] == np.uint8
    gray = np.random.default_rng(3).integers(0, 256, (1, SIZE, SIZE, 1), dtype=np.uint8)
    # Independent reference for the gray -> L table: scikit-image on R = G = B.
    l_gray = skimage_color.rgb2lab(np.repeat(gray / 255.0, 3, axis=-1))[..., :1]
    expected_ab, _ = _keras_reference(net, l_gray.astype(np.float32))
    np.testing.assert_allclose(runner(gray=gray)["ab"], expected_ab, atol=0.01)


def test_representative_l_from_files_and_arrays(photos, tmp_path):
    paths = image_factory.write_color_images(tmp_path, 2, size=(30, 44), ext="png")
    arrays = [image_factory.color_image(30, 44, seed=i) for i in range(2)]
    from_files = tflite_lib.representative_l(paths, SIZE)
    from_arrays = tflite_lib.representative_l(arrays, SIZE, max_images=1)
    assert len(from_files) == 2 and len(from_arrays) == 1
    np.testing.assert_allclose(from_files[0], from_arrays[0], atol=1e-3)
    rgb = tf.constant(arrays[0][np.newaxis], tf.float32) / 255.0
    l_expected = pipeline.preprocess_l(color.rgb_to_lab(rgb)[..., :1], SIZE)
    np.testing.assert_allclose(from_arrays[0], l_expected, atol=1e-4)
    assert from_arrays[0].shape == (1, SIZE, SIZE, 1)


def test_convert_refuses_bad_arguments(net):
    with pytest.raises(ValueError, match="representative_images"):
        tflite_lib.convert(net, "int8", SIZE)
    with pytest.raises(ValueError, match="quantization"):
        tflite_lib.convert(net, "int4", SIZE)
    with pytest.raises(ValueError, match="multiple of 8"):
        tflite_lib.convert(net, "float32", 30)
    with pytest.raises(ValueError, match="313"):
        tflite_lib.convert(keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Dense(2)]))


def test_cli_int8_from_a_photo_folder(tmp_path):
    image_factory.write_color_images(tmp_path / "photos", 3, size=(40, 40))
    output = tmp_path / "model.tflite"
    result = run_script(
        "export/tflite.py", "--preset=tiny", "--size=16", "--quantization=int8",
        f"--representative_dir={tmp_path / 'photos'}", f"--evaluate_dir={tmp_path / 'photos'}",
        f"--output={output}", timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "int8 TFLite model written" in result.stdout
    assert "ab error vs Keras on 3 photos: mean" in result.stdout
    ops = tflite_lib.op_names(output.read_bytes())
    assert "QUANTIZE" in ops and "CONV_2D" in ops
