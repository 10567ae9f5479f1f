"""Tests of keras_colorful.weights: the released ECCV16 model converted exactly, download, cache.

The released file is not used (no network in tests): the released architecture is rebuilt in
PyTorch from the paper's table (tests/torch_eccv16.py) with random weights and random BatchNorm running
statistics, its state dict is saved as a `.pth` file, converted, and the Keras network's logits
and ab are compared with the PyTorch forward pass in eval mode.

Tolerances: logits relative error (max |difference| / max |logit|) <= 1e-4 and ab <= 0.05 ab
units. Both frameworks compute in float32; measured, PyTorch float32 itself
differs from PyTorch float64 by ~3e-5 relative on these random networks, and the Keras-PyTorch
ab differences are <= 0.01.
"""


import keras
import numpy as np
import pytest
import torch  # noqa: E402  (the test extra installs it; no skipping)

import keras_colorful
from keras_colorful import bins, constants, models, presets
from keras_colorful.inference import pipeline
from keras_colorful.weights import convert, pth, released
from tests import torch_eccv16  # noqa: E402  (needs torch)
from tests.script_runner import run_script

LOGITS_RELATIVE_TOLERANCE = 1e-4
AB_TOLERANCE = 0.05
# Local address where nothing listens: a download attempt fails at once without the network.
RELEASE = presets.RELEASED_WEIGHTS["eccv16"]
UNREACHABLE_URL = "http://127.0.0.1:9/" + RELEASE["file_name"]


@pytest.fixture(scope="module", autouse=True)
def few_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def torch_model():
    return torch_eccv16.random_released_model(seed=0)


@pytest.fixture(scope="module")
def pth_path(torch_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("release") / "random_release.pth"
    torch.save(torch_model.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def converted_path(pth_path, tmp_path_factory):
    """The random release converted by the command-line script, as a user would."""
    output = tmp_path_factory.mktemp("converted") / "out" / "eccv16.keras"
    result = run_script(
        "scripts/convert_official_weights.py",
        f"--pth={pth_path}",
        f"--output={output}",
        "--nocheck_hash",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Converted" in result.stdout
    return output


@pytest.fixture(scope="module")
def net(converted_path):
    return keras.models.load_model(converted_path, compile=False)


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch, tmp_path):
    """Every test runs with an empty Keras home and an unreachable download URL."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setitem(RELEASE, "url", UNREACHABLE_URL)


def _torch_outputs(model, l_nhwc):
    with torch.no_grad():
        logits = model.logits(torch.from_numpy(l_nhwc.transpose(0, 3, 1, 2)))
        ab_quarter = model.ab_quarter(logits)
        outputs = logits, ab_quarter, model.upsample4(ab_quarter)
    return [output.numpy().transpose(0, 2, 3, 1) for output in outputs]


@pytest.mark.parametrize("batch, height, width", [(2, 64, 64), (1, 96, 128), (1, 176, 176)])
def test_converted_model_reproduces_the_release(torch_model, net, batch, height, width):
    rng = np.random.default_rng(height * width)
    lightness = rng.uniform(0.0, 100.0, (batch, height, width, 1)).astype("float32")
    torch_logits, torch_ab, torch_ab_full = _torch_outputs(torch_model, lightness)

    logits = net(lightness, training=False)
    assert logits.shape == torch_logits.shape == (batch, height // 4, width // 4, 313)
    unscaled = logits.numpy() / convert.LOGIT_SCALE
    relative_error = np.abs(unscaled - torch_logits).max() / np.abs(torch_logits).max()
    assert relative_error <= LOGITS_RELATIVE_TOLERANCE

    # The converted model at the package's default temperature (the inference head of
    # `models.build_inference_model` and the Colorizer): the released forward pass.
    ab = models.AnnealedMean()(logits).numpy()
    assert np.abs(ab - torch_ab).max() <= AB_TOLERANCE
    assert np.abs(torch_ab).max() > 30  # colourful enough for the comparison to mean something
    ab_full = pipeline.upsample_ab(ab, (height, width)).numpy()
    assert np.abs(ab_full - torch_ab_full).max() <= AB_TOLERANCE


def test_a_wrong_layout_would_be_caught(torch_model):
    """Flipping the transposed conv's kernel (a plausible conversion bug) fails the tolerance."""
    state_dict = torch_model.state_dict()
    state_dict["model8.0.weight"] = torch.flip(state_dict["model8.0.weight"], dims=(2, 3))
    flipped = convert.convert_state_dict(state_dict)
    lightness = np.random.default_rng(0).uniform(0, 100, (1, 32, 32, 1)).astype("float32")
    torch_logits = _torch_outputs(torch_model, lightness)[0]
    logits = flipped(lightness, training=False).numpy() / convert.LOGIT_SCALE
    assert np.abs(logits - torch_logits).max() / np.abs(torch_logits).max() > 100 * (
        LOGITS_RELATIVE_TOLERANCE
    )


def test_saved_outputs_load_back(net, converted_path, pth_path, tmp_path):
    lightness = np.random.default_rng(3).uniform(0, 100, (1, 32, 32, 1)).astype("float32")
    expected = net(lightness, training=False).numpy()
    colorizer = keras_colorful.load(converted_path, network_size=32)
    assert colorizer.model.name == "eccv16"
    np.testing.assert_array_equal(colorizer.model(lightness, training=False).numpy(), expected)

    h5_path = tmp_path / "eccv16.weights.h5"
    in_process = pth.convert_pth(pth_path, h5_path)
    np.testing.assert_array_equal(in_process(lightness, training=False).numpy(), expected)
    rebuilt = models.build_model("eccv16")
    rebuilt.load_weights(h5_path)
    np.testing.assert_array_equal(rebuilt(lightness, training=False).numpy(), expected)
    with pytest.raises(ValueError, match=r"\.keras or \.weights\.h5"):
        pth.convert_pth(pth_path, tmp_path / "eccv16.h5")


def test_model_out_is_checked_against_the_bins():
    centers = bins.ab_bin_centers().T / constants.AB_SCALE
    assert convert.check_model_out(centers[:, :, None, None]) < 1e-7  # float32 rounding
    swapped = centers[:, [1, 0] + list(range(2, 313))]
    with pytest.raises(ValueError, match="bin centres"):
        convert.check_model_out(swapped)
    with pytest.raises(ValueError, match="bin centres"):
        convert.check_model_out(centers * 1.01)
    with pytest.raises(ValueError, match="shape"):
        convert.check_model_out(np.zeros((2, 312)))


def test_foreign_state_dicts_are_refused(torch_model):
    state_dict = {key: value.numpy() for key, value in torch_model.state_dict().items()}

    missing = dict(state_dict)
    del missing["model5.2.bias"]
    with pytest.raises(ValueError, match=r"lacks 1 entries.*model5\.2\.bias"):
        convert.convert_state_dict(missing)

    extra = dict(state_dict, **{"model9.0.weight": np.zeros(3)})
    with pytest.raises(ValueError, match=r"model9\.0\.weight"):
        convert.convert_state_dict(extra)

    wrong_shape = dict(state_dict)
    wrong_shape["model2.0.weight"] = np.zeros((128, 64, 5, 5))
    with pytest.raises(ValueError, match=r"model2\.0\.weight.*shape"):
        convert.convert_state_dict(wrong_shape)

    wrong_bins = dict(state_dict)
    wrong_bins["model_out.weight"] = state_dict["model_out.weight"][:, ::-1].copy()
    with pytest.raises(ValueError, match="bin centres"):
        convert.convert_state_dict(wrong_bins)


def test_torch_keys_cover_every_weight():
    net = models.build_model("eccv16")
    keys = [key for layer in net.layers for key in convert.torch_keys(layer)]
    assert len(keys) == len(net.weights) == 2 * 23 + 4 * 7
    assert "model3.6.running_var" in keys and "model8.6.bias" in keys
    dense = keras.layers.Dense(2, name="dense")
    dense.build((None, 3))
    with pytest.raises(ValueError, match="not a layer"):
        convert.torch_keys(dense)


def test_local_file_hash_is_checked(pth_path, tmp_path):
    with pytest.raises(ValueError) as raised:
        released.released_weights_path("eccv16", pth_path)
    assert str(pth_path) in str(raised.value)
    assert RELEASE["sha256_prefix"] in str(raised.value)
    assert released.released_weights_path("eccv16", pth_path, check_hash=False) == pth_path
    with pytest.raises(FileNotFoundError, match="weights_path"):
        released.released_weights_path("eccv16", tmp_path / "missing.pth")


def test_offline_error_says_what_to_do(tmp_path):
    cache_dir = tmp_path / "empty_cache"
    with pytest.raises(OSError) as raised:
        released.released_weights_path("eccv16", cache_dir=cache_dir)
    message = str(raised.value)
    assert UNREACHABLE_URL in message  # where to get it (the patched URL)
    assert "weights_path=" in message and str(cache_dir) in message  # how to pass it
    assert not any(cache_dir.glob("*.pth"))
    # The same through the public API, with the default cache under $KERAS_HOME.
    with pytest.raises(OSError, match="weights_path="):
        keras_colorful.load("eccv16")


def test_a_cached_download_is_used_and_checked(pth_path, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    cached = cache_dir / RELEASE["file_name"]
    cached.write_bytes(pth_path.read_bytes())
    with pytest.raises(ValueError, match=RELEASE["sha256_prefix"]):
        released.released_weights_path("eccv16", cache_dir=cache_dir)
    assert not cached.exists()  # a bad download is removed
    cached.write_bytes(pth_path.read_bytes())
    monkeypatch.setitem(RELEASE, "sha256_prefix", released.file_sha256(pth_path)[:8])
    assert released.released_weights_path("eccv16", cache_dir=cache_dir) == cached


def test_load_eccv16_converts_once_then_uses_the_cache(net, pth_path, monkeypatch):
    monkeypatch.setitem(RELEASE, "sha256_prefix", released.file_sha256(pth_path)[:8])
    lightness = np.random.default_rng(4).uniform(0, 100, (1, 32, 32, 1)).astype("float32")
    expected = net(lightness, training=False).numpy()

    colorizer = keras_colorful.load("eccv16", weights_path=pth_path, network_size=32)
    np.testing.assert_array_equal(colorizer.model(lightness, training=False).numpy(), expected)
    assert colorizer.colorize(np.full((20, 28, 3), 0.5)).shape == (20, 28, 3)
    cached = list(released.default_cache_dir().glob("eccv16-*-converted-v*.keras"))
    assert len(cached) == 1

    def no_conversion(path):
        raise AssertionError("the cached conversion should have been used")

    monkeypatch.setattr(pth, "load_state_dict", no_conversion)
    again = keras_colorful.load("eccv16", weights_path=pth_path, network_size=32)
    np.testing.assert_array_equal(again.model(lightness, training=False).numpy(), expected)


def test_load_eccv16_refuses_a_file_with_another_hash(pth_path):
    with pytest.raises(ValueError, match=RELEASE["sha256_prefix"]):
        keras_colorful.load("eccv16", weights_path=pth_path)
