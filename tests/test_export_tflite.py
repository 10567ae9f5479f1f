"""Tests of the TFLite export: folding, quantized colours, builtin ops, photo in / photo out, the gate.

The bundled model ("small") is converted once per variant per module at `SIZE`, calibrated on the
shipped clothing photos (tests/data/photos) and measured on the shipped scikit-image photos
(held out), against the float32 Keras network (`tflite_accuracy`: ab colour difference, Lab
units; bounds `tflite_accuracy.THRESHOLDS`, the issue's). The photo-in / photo-out model is
checked against `keras_colorful.load().colorize()` (2 uint8 levels) on a 333x517 and a
4000x3000 photo. Interface tests use the random "tiny" net at small sizes.
"""

import json
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from skimage import color as skimage_color

import keras_colorful
from keras_colorful import bins, color, loading, models
from keras_colorful.export import folding, tflite_accuracy, tflite_lib, tflite_metadata
from keras_colorful.inference import pipeline
from tests import image_factory

PHOTOS = sorted((pathlib.Path(__file__).parent / "data" / "photos").glob("*.jpg"))
CALIBRATION = [p for p in PHOTOS if p.name.startswith("clothing")]
EVALUATION = [p for p in PHOTOS if p.name.startswith("skimage")]
SIZE = 128  # the quantized variants (at 256 on the evaluation photos: benchmarks/RESULTS.md)
TINY_SIZE = 16
PHOTO_MODEL_SIZE = pipeline.DEFAULT_NETWORK_SIZE  # as `keras_colorful.load()`
MAX_UINT8_DIFFERENCE = 2


@pytest.fixture(scope="module")
def bundled():
    return loading.load_network()


@pytest.fixture(scope="module")
def converted(bundled):
    return {q: tflite_lib.convert(bundled, q, SIZE, representative_images=CALIBRATION)
            for q in tflite_lib.QUANTIZATIONS}


@pytest.fixture(scope="module")
def photo_model(bundled):
    return tflite_lib.convert(bundled, "float32", PHOTO_MODEL_SIZE, input_type="rgb_image")


@pytest.fixture(scope="module")
def tiny(colourful_tiny_net):
    return colourful_tiny_net(seed=0, logit_std=3.0)


def _photo(width, height):
    rgb = Image.open(EVALUATION[1]).convert("RGB")
    return np.asarray(rgb.resize((width, height), Image.BICUBIC))


# --- folding ---------------------------------------------------------------------------------


def _relative_logit_error(net, folded, l_network):
    expected = net(l_network, training=False).numpy()
    actual = folded(l_network, training=False).numpy()
    return np.abs(actual - expected).max() / np.abs(expected).max()


def test_folding_is_exact_on_the_bundled_model(bundled):
    folded = folding.fold_batch_norm(bundled)
    assert not [layer for layer in folded.layers
                if isinstance(layer, keras.layers.BatchNormalization)]
    l_network = np.concatenate(tflite_lib.representative_l(PHOTOS, 64))
    assert _relative_logit_error(bundled, folded, l_network) <= 1e-4


def test_folding_keeps_non_positive_scales_exact():
    net = models.build_model("tiny", seed=0)
    rng = np.random.default_rng(0)
    norms = [layer for layer in net.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in norms[:3]:
        width = layer.gamma.shape[0]
        gamma = rng.normal(size=width)
        gamma[:2] = [0.0, -1.5]  # a zero and a negative scale in every block
        layer.set_weights([gamma, rng.normal(size=width), rng.normal(size=width),
                           rng.uniform(0.5, 2.0, width)])
    folded = folding.fold_batch_norm(net)
    affines = [layer for layer in folded.layers if isinstance(layer, folding.ChannelAffine)]
    assert [a.with_scale for a in affines] == [True] * 3 + [False] * (len(norms) - 3)
    l_network = rng.uniform(0, 100, (2, 32, 32, 1)).astype("float32")
    assert _relative_logit_error(net, folded, l_network) <= 1e-4


def test_channel_affine_round_trip(keras_round_trip):
    inputs = keras.Input((4, 4, 3))
    layer = folding.ChannelAffine(3, with_scale=True)
    model = keras.Model(inputs, layer(inputs))
    layer.set_weights([np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.0, 0.5])])
    x = np.random.default_rng(1).normal(size=(1, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(keras_round_trip(model)(x), model(x), atol=1e-6)


# --- quantized variants of the bundled model --------------------------------------------------


@pytest.mark.parametrize("quantization", tflite_lib.QUANTIZATIONS)
def test_builtin_ops_only(converted, quantization):
    ops = tflite_lib.op_names(converted[quantization])
    assert "CONV_2D" in ops and "SOFTMAX" in ops
    assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"], ops


@pytest.mark.parametrize("quantization", tflite_accuracy.GATED)
def test_quantized_colours_within_bounds(bundled, converted, quantization):
    errors = tflite_accuracy.measure(bundled, converted[quantization], EVALUATION)
    assert not tflite_accuracy.violations(errors, quantization), errors.summary()


def test_float_variants_match_keras(bundled, converted):
    assert tflite_accuracy.measure(bundled, converted["float32"], EVALUATION).max <= 0.05
    assert tflite_accuracy.measure(bundled, converted["float16"], EVALUATION).mean <= 0.2


def test_sizes_shrink_with_quantization(converted):
    sizes = {quantization: len(model) for quantization, model in converted.items()}
    assert sizes["float16"] < 0.55 * sizes["float32"]
    assert sizes["dynamic_int8"] < 0.45 * sizes["float32"]
    assert sizes["int8"] < 0.55 * sizes["float32"]


def test_metadata_describes_the_model(converted):
    info = tflite_metadata.read(converted["dynamic_int8"])
    assert info["quantization"] == "dynamic_int8" and info["network_size"] == SIZE
    assert [t["name"] for t in info["inputs"]] == ["l"]
    assert [t["name"] for t in info["outputs"]] == ["ab"]
    assert len(info["float_convs"]) == 3
    assert "colorization" in info["description"].lower()


# --- photo in, photo out ---------------------------------------------------------------------


@pytest.mark.parametrize("width, height", [(333, 517), (4000, 3000)])
def test_photo_model_matches_the_python_api(photo_model, width, height):
    photo = _photo(width, height)
    runner = tflite_lib.interpreter(photo_model).get_signature_runner()
    colorized = runner(image=photo[np.newaxis])["colorized"][0]
    expected = keras_colorful.load().colorize(photo)
    assert colorized.shape == expected.shape == (height, width, 3)
    difference = np.abs(colorized.astype(int) - expected)
    assert difference.max() <= MAX_UINT8_DIFFERENCE, difference.max()


def test_photo_model_interface(photo_model):
    ops = tflite_lib.op_names(photo_model)
    assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"], ops
    runner = tflite_lib.interpreter(photo_model).get_signature_runner()
    assert list(runner.get_input_details()) == ["image"]
    assert list(runner.get_output_details()) == ["colorized"]  # logits are opt-in
    detail = runner.get_input_details()["image"]
    assert detail["dtype"] == np.uint8 and list(detail["shape_signature"]) == [1, -1, -1, 3]


@pytest.mark.parametrize("quantization", ["dynamic_int8", "int8"])
def test_quantized_photo_models_are_builtin(tiny, quantization):
    model = tflite_lib.convert(tiny, quantization, TINY_SIZE, input_type="rgb_image",
                               representative_images=PHOTOS[:3], num_float_convs=0)
    ops = tflite_lib.op_names(model)
    assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"], ops
    photo = _photo(45, 30)
    colorized = tflite_lib.interpreter(model).get_signature_runner()(image=photo[np.newaxis])
    assert colorized["colorized"].shape == (1, 30, 45, 3)
    # The colour conversions stay float: the photo's L comes back.
    l_in = color.rgb_to_lab(photo / 255.0)[..., 0].numpy()
    l_out = color.rgb_to_lab(colorized["colorized"][0] / 255.0)[..., 0].numpy()
    assert np.median(np.abs(l_out - l_in)) < 1.0


def test_gray_photo_model_with_logits(tiny):
    model = tflite_lib.convert(tiny, "float32", TINY_SIZE, input_type="gray_image",
                               include_logits=True)
    gray = image_factory.color_image(21, 30, seed=3)[..., :1]
    outputs = tflite_lib.interpreter(model).get_signature_runner()(image=gray[np.newaxis])
    expected, _ = pipeline.colorize_uint8(tiny, gray[np.newaxis], 0.38, TINY_SIZE)
    assert outputs["colorized"].shape == (1, 21, 30, 3)
    assert np.abs(outputs["colorized"].astype(int) - expected.numpy()).max() <= 2
    assert outputs["logits"].shape == (1, TINY_SIZE // 4, TINY_SIZE // 4, 313)


# --- interface of the L models ---------------------------------------------------------------


def test_l_model_interface_and_opt_in_logits(tiny):
    l_network = np.concatenate(tflite_lib.representative_l(PHOTOS[:2], TINY_SIZE))
    for include_logits in (False, True):
        model = tflite_lib.convert(tiny, "float32", TINY_SIZE, include_logits=include_logits)
        runner = tflite_lib.interpreter(model).get_signature_runner()
        assert list(runner.get_input_details()) == ["l"]
        outputs = tflite_lib.run(model, l_network)
        assert sorted(outputs) == (["ab", "logits"] if include_logits else ["ab"])
        expected = bins.annealed_mean(tiny(l_network), 0.38).numpy()
        np.testing.assert_allclose(outputs["ab"], expected, atol=0.01)


def test_gray_uint8_input(tiny):
    model = tflite_lib.convert(tiny, "float32", TINY_SIZE, input_type="gray_uint8")
    runner = tflite_lib.interpreter(model).get_signature_runner()
    assert list(runner.get_input_details()) == ["gray"]
    gray = np.random.default_rng(3).integers(0, 256, (1, TINY_SIZE, TINY_SIZE, 1), dtype=np.uint8)
    # Independent reference for the gray -> L table: scikit-image on R = G = B.
    l_gray = skimage_color.rgb2lab(np.repeat(gray / 255.0, 3, axis=-1))[..., :1]
    expected = bins.annealed_mean(tiny(l_gray.astype(np.float32)), 0.38).numpy()
    np.testing.assert_allclose(runner(gray=gray)["ab"], expected, atol=0.01)


def test_representative_l_from_files_and_arrays(tmp_path):
    paths = image_factory.write_color_images(tmp_path, 2, size=(30, 44), ext="png")
    arrays = [image_factory.color_image(30, 44, seed=i) for i in range(2)]
    from_files = tflite_lib.representative_l(paths, TINY_SIZE)
    from_arrays = tflite_lib.representative_l(arrays, TINY_SIZE, max_images=1)
    assert len(from_files) == 2 and len(from_arrays) == 1
    np.testing.assert_allclose(from_files[0], from_arrays[0], atol=1e-3)
    rgb = tf.constant(arrays[0][np.newaxis], tf.float32) / 255.0
    l_expected = pipeline.preprocess_l(color.rgb_to_lab(rgb)[..., :1], TINY_SIZE)
    np.testing.assert_allclose(from_arrays[0], l_expected, atol=1e-4)


def test_convert_refuses_bad_arguments(tiny):
    with pytest.raises(ValueError, match="representative_images"):
        tflite_lib.convert(tiny, "int8", TINY_SIZE)
    with pytest.raises(ValueError, match="quantization"):
        tflite_lib.convert(tiny, "int4", TINY_SIZE)
    with pytest.raises(ValueError, match="input_type"):
        tflite_lib.convert(tiny, "float32", TINY_SIZE, input_type="jpeg")
    with pytest.raises(ValueError, match="multiple of 8"):
        tflite_lib.convert(tiny, "float32", 30)
    with pytest.raises(ValueError, match="313"):
        tflite_lib.convert(keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Dense(2)]))


def test_resize_matrices_match_tensorflow():
    from keras_colorful.export import tflite_image

    for height, width, size in [(37, 50, 16), (8, 300, 64), (300, 20, 16)]:
        l_full = tf.random.uniform((1, height, width, 1), 0.0, 100.0, seed=height)
        expected = pipeline.preprocess_l(l_full, size)
        np.testing.assert_allclose(tflite_image.resize_l(l_full, size), expected, atol=1e-3)


# --- the command line and its accuracy gate ---------------------------------------------------


def _export(*argv):
    from keras_colorful import cli

    return cli.main(["export", "tflite", *map(str, argv)])


def test_cli_gate_refuses_a_badly_calibrated_model(tmp_path, capsys):
    flat = tmp_path / "flat"
    flat.mkdir()
    for level in (0, 128, 255):  # a deliberately bad calibration: flat gray photos
        Image.fromarray(np.full((64, 64, 3), level, np.uint8)).save(flat / f"{level}.png")
    output = tmp_path / "bad.tflite"
    status = _export("--quantization=int8", "--size=64", "--num-float-convs=0",
                     f"--representative-dir={flat}", f"--evaluate-dir={PHOTOS[0].parent}",
                     f"--output={output}")
    captured = capsys.readouterr()
    assert status == 1 and not output.exists()
    assert "Accuracy gate: FAILED" in captured.out and "Refused to write" in captured.err
    assert f"on {len(PHOTOS)} photos" in captured.out


def test_cli_reports_missing_calibration_before_loading(tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        _export("--quantization=dynamic_int8", f"--output={tmp_path / 'm.tflite'}")
    assert raised.value.code == 2
    captured = capsys.readouterr()
    assert "--representative-dir" in captured.err and "Loading model" not in captured.err


def test_cli_writes_a_model_that_passes_the_gate(tmp_path, capsys):
    output = tmp_path / "models" / "colorizer.tflite"
    # (The bounds at the default thresholds are tested above; small and quick here.)
    status = _export("--quantization=dynamic_int8", "--size=64", "--num-float-convs=0",
                     "--max-mean-ab-error=5", "--max-p99-ab-error=50",
                     f"--representative-dir={PHOTOS[0].parent}", f"--output={output}")
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "Accuracy gate: passed" in captured.out and "99th percentile" in captured.out
    description = output.with_name(output.name + ".json")
    assert tflite_metadata.read(output.read_bytes()) == json.loads(description.read_text())


def test_models_module_untouched_by_folding(bundled):
    # Folding copies: the bundled network keeps its BatchNormalization layers.
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in bundled.layers)
    assert isinstance(bundled, models.ColorizationNet)


def test_cli_defaults_follow_the_library():
    from keras_colorful.cli import export as cli_export
    from keras_colorful.export import saved_model_lib

    assert cli_export.INPUT_TYPES == tflite_lib.INPUT_TYPES
    assert cli_export.GATED_QUANTIZATIONS == tflite_accuracy.GATED
    assert cli_export.DEFAULT_MAX_PIXELS == saved_model_lib.DEFAULT_MAX_PIXELS
    assert cli_export.DEFAULT_JPEG_QUALITY == saved_model_lib.DEFAULT_JPEG_QUALITY
