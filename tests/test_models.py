"""Tests of keras_colorful.models: presets, shapes, parameter counts, alignment, serialisation.

The forward pass is checked against `_reference_forward`, a float64 numpy oracle of the release's
network semantics; tests/torch_eccv16.py is the other, PyTorch oracle of the release (its docstring
says which checks what).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_colorful import models, presets

# PyTorch's ECCVGenerator (the authors' port) has 32,236,011 parameters: convs, affine BatchNorm
# (gamma, beta) and `model_out`, the fixed 313 -> 2 bin-centre 1x1 conv without bias
# (313 * 2 = 626). Our logits network leaves `model_out` to the weight-free AnnealedMean layer,
# and keeps the BatchNorm moving statistics (PyTorch buffers, not parameters) non-trainable.
ECCV16_TRAINABLE = 32_235_385
ECCV16_TORCH_PARAMETERS = 32_236_011
MODEL_OUT_PARAMETERS = 313 * 2
# Moving mean and variance of the 7 BatchNorms: 2 * (64 + 128 + 256 + 4 * 512).
ECCV16_NON_TRAINABLE = 2 * (64 + 128 + 256 + 4 * 512)


def _count(weights):
    return int(sum(np.prod(w.shape) for w in weights))


def _random_l(shape, seed=0):
    return np.random.default_rng(seed).uniform(0.0, 100.0, size=shape).astype("float32")


@pytest.fixture(scope="module")
def eccv16():
    return models.build_model("eccv16")


@pytest.fixture(scope="module")
def small():
    return models.build_model("small")


def test_eccv16_parameter_count(eccv16):
    trainable = _count(eccv16.trainable_weights)
    assert trainable == ECCV16_TRAINABLE
    assert trainable + MODEL_OUT_PARAMETERS == ECCV16_TORCH_PARAMETERS
    assert _count(eccv16.non_trainable_weights) == ECCV16_NON_TRAINABLE


def test_eccv16_output_shape_224(eccv16):
    logits = eccv16(_random_l((1, 224, 224, 1)))
    assert tuple(logits.shape) == (1, 56, 56, 313)
    assert logits.dtype == tf.float32
    assert np.all(np.isfinite(logits))


@pytest.mark.parametrize("height, width", [(224, 224), (176, 176), (256, 256), (176, 232), (8, 16)])
def test_output_shapes(eccv16, small, height, width):
    # The full network symbolically (no compute), the small one (same structure) for real.
    spec = eccv16.compute_output_spec(keras.KerasTensor((2, height, width, 1)))
    assert tuple(spec.shape) == (2, height // 4, width // 4, 313)
    assert tuple(small(_random_l((2, height, width, 1))).shape) == (2, height // 4, width // 4, 313)


def test_layer_names_follow_the_pytorch_release(eccv16):
    # PyTorch `model{b}.{j}` (j = index in nn.Sequential) maps to Keras `model{b}_conv{j}`.
    expected_kernels = {
        "model1_conv0": (3, 3, 1, 64),
        "model1_conv2": (3, 3, 64, 64),
        "model3_conv4": (3, 3, 256, 256),
        "model4_conv0": (3, 3, 256, 512),
        "model7_conv4": (3, 3, 512, 512),
        "model8_convT0": (4, 4, 256, 512),  # Conv2DTranspose: (kh, kw, out, in)
        "model8_conv2": (3, 3, 256, 256),
        "model8_conv4": (3, 3, 256, 256),
        "model8_conv6": (1, 1, 256, 313),
    }
    for name, shape in expected_kernels.items():
        assert tuple(eccv16.get_layer(name).kernel.shape) == shape, name
    for block, channels in zip(range(1, 8), (64, 128, 256, 512, 512, 512, 512), strict=True):
        assert tuple(eccv16.get_layer(f"model{block}_bn").gamma.shape) == (channels,)
    assert eccv16.get_layer("model5_conv2").dilation_rate == (2, 2)
    assert eccv16.get_layer("model3_conv4").strides == (2, 2)
    assert eccv16.get_layer("model3_conv4").padding == "valid"


# --- Alignment: the Keras graph against the release's PyTorch definitions, in numpy float64 ---


def _conv(x, kernel, bias, stride=1, pad=0, dilation=1):
    """PyTorch Conv2d (symmetric zero padding `pad`) on NHWC, kernel (kh, kw, in, out)."""
    k = kernel.shape[0]
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    out_h = (x.shape[1] - dilation * (k - 1) - 1) // stride + 1
    out_w = (x.shape[2] - dilation * (k - 1) - 1) // stride + 1
    out = np.zeros((x.shape[0], out_h, out_w, kernel.shape[3]))
    for i in range(k):
        for j in range(k):
            patch = x[
                :,
                i * dilation : i * dilation + stride * (out_h - 1) + 1 : stride,
                j * dilation : j * dilation + stride * (out_w - 1) + 1 : stride,
            ]
            out += patch @ kernel[i, j]
    return out + bias


def _conv_transpose(x, kernel, bias, stride, pad):
    """PyTorch ConvTranspose2d on NHWC, kernel (kh, kw, out, in): out[h s - p + i] += x[h] W[i]."""
    k = kernel.shape[0]
    n, h, w, _ = x.shape
    full = np.zeros((n, (h - 1) * stride + k, (w - 1) * stride + k, kernel.shape[2]))
    for i in range(k):
        for j in range(k):
            full[:, i : i + stride * h : stride, j : j + stride * w : stride] += x @ kernel[i, j].T
    return full[:, pad : full.shape[1] - pad, pad : full.shape[2] - pad] + bias


def _reference_forward(net, l_batch):
    """The release's ECCVGenerator forward pass (logits) with the Keras net's weights."""
    relu = lambda v: np.maximum(v, 0.0)  # noqa: E731
    weights = lambda name: [w.astype(np.float64) for w in net.get_layer(name).get_weights()]  # noqa: E731
    x = (l_batch.astype(np.float64) - 50.0) / 100.0
    for block in range(1, 8):
        depth = net.block_depths[block - 1]
        dilation = 2 if block in (5, 6) else 1
        for i in range(depth):
            stride = 2 if block in (1, 2, 3) and i == depth - 1 else 1
            kernel, bias = weights(f"model{block}_conv{2 * i}")
            x = relu(_conv(x, kernel, bias, stride=stride, pad=dilation, dilation=dilation))
        gamma, beta, mean, variance = weights(f"model{block}_bn")
        x = (x - mean) / np.sqrt(variance + net.batch_norm_epsilon) * gamma + beta
    x = relu(_conv_transpose(x, *weights("model8_convT0"), stride=2, pad=1))
    depth = net.block_depths[-1]
    for i in range(1, depth):
        x = relu(_conv(x, *weights(f"model8_conv{2 * i}"), pad=1))
    return _conv(x, *weights(f"model8_conv{2 * depth}"))


def _randomize_weights(net, seed):
    """Deterministic weights keeping activations O(1), non-zero biases, non-trivial BatchNorm."""
    rng = np.random.default_rng(seed)
    for layer in net.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, n),
                    rng.normal(0.0, 0.2, n),
                    rng.normal(0.0, 0.2, n),
                    rng.uniform(0.5, 2.0, n),
                ]
            )
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            kernel, bias = layer.get_weights()
            fan_in = kernel.shape[0] * kernel.shape[1] * kernel.shape[3] / 4  # stride 2: 1/4 taps
            layer.set_weights(
                [rng.normal(0, np.sqrt(2 / fan_in), kernel.shape), rng.normal(0, 0.1, bias.shape)]
            )
        elif isinstance(layer, keras.layers.Conv2D):
            kernel, bias = layer.get_weights()
            fan_in = np.prod(kernel.shape[:3])
            layer.set_weights(
                [rng.normal(0, np.sqrt(2 / fan_in), kernel.shape), rng.normal(0, 0.1, bias.shape)]
            )


@pytest.mark.parametrize("height, width", [(32, 32), (24, 40)])
def test_tiny_matches_pytorch_semantics_reference(height, width):
    net = models.build_model("tiny")
    _randomize_weights(net, seed=1)
    l_batch = _random_l((2, height, width, 1), seed=2)
    expected = _reference_forward(net, l_batch)
    actual = np.asarray(net(l_batch), np.float64)
    assert actual.shape == expected.shape == (2, height // 4, width // 4, 313)
    scale = np.abs(expected).max()
    assert scale > 0.5
    np.testing.assert_allclose(actual, expected, atol=1e-5 * scale, rtol=1e-4)


def test_tiny_forward_and_training_mode_updates_batch_norm():
    net = models.build_model("tiny")
    l_batch = _random_l((3, 16, 24, 1))
    logits = net(l_batch)
    assert tuple(logits.shape) == (3, 4, 6, 313)
    assert np.all(np.isfinite(logits))
    before = net.get_layer("model1_bn").moving_mean.numpy().copy()
    net(l_batch, training=True)
    assert not np.allclose(before, net.get_layer("model1_bn").moving_mean.numpy())


def test_get_config_round_trip():
    net = models.build_model("tiny", batch_norm_momentum=0.99, name="my_net")
    config = net.get_config()
    assert config["block_widths"] == [8, 8, 16, 16, 16, 16, 16, 16]
    assert config["batch_norm_momentum"] == 0.99
    assert config["name"] == "my_net"
    restored = models.ColorizationNet.from_config(config)
    assert restored.get_config() == config
    restored.set_weights(net.get_weights())
    l_batch = _random_l((1, 16, 16, 1))
    np.testing.assert_allclose(restored(l_batch), net(l_batch), atol=1e-6)


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_keras_file_round_trip(keras_round_trip, preset):
    net = models.build_model(preset)
    l_batch = _random_l((2, 32, 24, 1), seed=3)
    net(l_batch, training=True)  # moves the BatchNorm statistics away from their initial values
    loaded = keras_round_trip(net, f"{preset}.keras")
    assert isinstance(loaded, models.ColorizationNet)
    assert loaded.get_config() == net.get_config()
    np.testing.assert_allclose(loaded(l_batch), net(l_batch), atol=1e-6)


def test_inference_model_shares_weights_and_round_trips(keras_round_trip):
    net = models.build_model("tiny")
    colorizer = models.build_inference_model(net, runtime_temperature=True)
    assert colorizer.get_layer(net.name) is net
    l_batch = _random_l((2, 16, 16, 1), seed=4)
    temperature = np.array([0.38, 1.0], "float32")
    ab = colorizer({"l": l_batch, "temperature": temperature})
    assert tuple(ab.shape) == (2, 4, 4, 2)
    # Weight sharing: changing the net changes the colorizer.
    logits_layer = net.get_layer("model8_conv4")  # tiny: block 8 has 2 convs, logits at j = 4
    logits_layer.bias.assign(logits_layer.bias + 3.0 * np.arange(313, dtype="float32") / 313)
    ab_changed = colorizer({"l": l_batch, "temperature": temperature})
    assert np.abs(ab_changed - ab).max() > 1e-3
    loaded = keras_round_trip(colorizer, "colorizer.keras")
    np.testing.assert_allclose(
        loaded({"l": l_batch, "temperature": temperature}), ab_changed, atol=1e-6
    )


def test_inference_model_without_runtime_temperature():
    net = models.build_model("tiny")
    colorizer = models.build_inference_model(net, temperature=0.5)
    l_batch = _random_l((1, 16, 16, 1), seed=5)
    ab = colorizer(l_batch)
    expected = models.AnnealedMean(0.5)(net(l_batch))
    np.testing.assert_allclose(ab, expected, atol=1e-6)


def test_presets_are_the_plain_data_module_re_exported():
    assert models.PRESETS is presets.PRESETS
    assert set(models.PRESETS) == {"eccv16", "small", "tiny"}
    for config in models.PRESETS.values():
        assert set(config) == {"block_widths", "block_depths"}
    net = models.build_model("tiny")
    assert tuple(net.block_widths) == presets.PRESETS["tiny"]["block_widths"]
    assert tuple(net.block_depths) == presets.PRESETS["tiny"]["block_depths"]


def test_unknown_preset_names_the_available_ones():
    with pytest.raises(ValueError, match="eccv16.*small.*tiny|available"):
        models.build_model("eccv17")


def test_bad_block_lists_raise():
    with pytest.raises(ValueError, match="8 entries"):
        models.build_model("tiny", block_depths=(1, 1, 1))
    with pytest.raises(ValueError, match="positive"):
        models.build_model("tiny", block_widths=(8, 0, 16, 16, 16, 16, 16, 16))


@pytest.mark.parametrize("height, width", [(180, 176), (176, 20), (12, 12)])
def test_size_not_multiple_of_8_raises(height, width):
    # Such sizes run in PyTorch, but the logits are not H/4 x W/4 (180 gives 46 rows, not 45).
    net = models.build_model("tiny")
    with pytest.raises(ValueError, match="multiples of 8"):
        net(_random_l((1, height, width, 1)))
    with pytest.raises(ValueError, match="multiples of 8"):
        net(keras.Input(shape=(height, width, 1)))


def test_dynamic_size_in_tf_function():
    net = models.build_model("tiny")
    serve = tf.function(
        lambda l_batch: net(l_batch),
        input_signature=[tf.TensorSpec((None, None, None, 1), tf.float32)],
    )
    assert tuple(serve(_random_l((1, 24, 40, 1))).shape) == (1, 6, 10, 313)


def test_mixed_precision_dtype_override(tmp_path):
    net = models.build_model("tiny", dtype="mixed_float16")
    l_batch = _random_l((1, 16, 16, 1), seed=6)
    logits = net(l_batch)
    assert logits.dtype == tf.float16
    assert net.get_layer("model1_conv0").kernel.dtype == "float32"  # float32 master weights
    ab = models.build_inference_model(net)(l_batch)
    assert ab.dtype == tf.float32  # AnnealedMean computes in float32
    path = tmp_path / "mixed.keras"
    net.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("model1_conv0").dtype_policy.name == "mixed_float16"
    np.testing.assert_allclose(loaded(l_batch), logits, atol=1e-6)


def test_predict_on_arrays_equals_keras_predict(capsys):
    net = models.build_model("tiny", seed=7)
    x = _random_l((5, 24, 16, 1), seed=8)
    expected = keras.Model.predict(net, x, batch_size=2, verbose=0)  # Keras' own
    for given in (x, tf.constant(x), x.astype(np.float64)):
        actual = net.predict(given, batch_size=2, verbose=0)
        assert isinstance(actual, np.ndarray) and actual.dtype == np.float32
        np.testing.assert_allclose(actual, expected, atol=1e-5)
    np.testing.assert_allclose(net.predict(x, verbose=0), net(x, training=False), atol=1e-5)
    assert capsys.readouterr().out == ""
    net.predict(x[:3], batch_size=2, verbose=1)  # Keras' progress bar: 2 steps
    assert "2/2" in capsys.readouterr().out
    # Anything else goes to Keras' predict: a tf.data dataset, steps.
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(2)
    np.testing.assert_allclose(net.predict(dataset, verbose=0), expected, atol=1e-5)
    np.testing.assert_allclose(net.predict(x, batch_size=2, steps=1, verbose=0), expected[:2],
                               atol=1e-5)
