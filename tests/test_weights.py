"""Tests of keras_colorful.weights: the released ECCV16 model converted exactly, download, cache.

The released file is not used (no network in tests): the released architecture is rebuilt in
PyTorch from the paper's table (tests/torch_eccv16.py) with random weights and random BatchNorm
running statistics, its state dict is saved as a `.pth` file (zip and legacy formats), read
without PyTorch (`weights.torch_file`, checked against `torch.load` on the same files),
converted, and the Keras network's logits and ab are compared with the PyTorch forward pass in
eval mode. PyTorch runs in a process of its own (tests/torch_runner.py).

Tolerances: logits relative error (max |difference| / max |logit|) <= 1e-4 and ab <= 0.05 ab
units. Both frameworks compute in float32; measured, PyTorch float32 itself
differs from PyTorch float64 by ~3e-5 relative on these random networks, and the Keras-PyTorch
ab differences are <= 0.01.
"""


import hashlib
import pathlib

import keras
import numpy as np
import pytest

import keras_colorful
from keras_colorful import bins, constants, models, presets
from keras_colorful.inference import pipeline
from keras_colorful.weights import convert, pth, released, torch_file
from tests import torch_runner
from tests.script_runner import run_script

LOGITS_RELATIVE_TOLERANCE = 1e-4
AB_TOLERANCE = 0.05
# Local address where nothing listens: a download attempt fails at once without the network.
RELEASE = presets.RELEASED_WEIGHTS["eccv16"]
UNREACHABLE_URL = "http://127.0.0.1:9/" + RELEASE["file_name"]


# The L inputs the PyTorch release runs on: name -> (batch, height, width), seeded by the size.
FORWARD_CASES = {"64x64": (2, 64, 64), "96x128": (1, 96, 128), "176x176": (1, 176, 176),
                 "32x32": (1, 32, 32)}


def _lightness(name):
    batch, height, width = FORWARD_CASES[name]
    rng = np.random.default_rng(0 if name == "32x32" else height * width)
    return rng.uniform(0.0, 100.0, (batch, height, width, 1)).astype("float32")


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    """The random release, saved and run by PyTorch in a process of its own."""
    directory = tmp_path_factory.mktemp("release")
    inputs = {"seed": 0, "directory": str(directory),
              **{f"lightness_{name}": _lightness(name) for name in FORWARD_CASES}}
    return torch_runner.run({"release_oracle": inputs}, directory)["release_oracle"]


@pytest.fixture(scope="module")
def pth_path(oracle):
    return pathlib.Path(str(oracle["zip_path"]))


def _digest(array: np.ndarray) -> str:
    """As tests/torch_jobs.py's: sha256 of an array's dtype, shape and bytes."""
    array = np.ascontiguousarray(array)
    header = f"{array.dtype.str}{array.shape}".encode()
    return hashlib.sha256(header + array.tobytes()).hexdigest()


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


def _torch_outputs(oracle, name):
    return oracle[f"logits_{name}"], oracle[f"ab_quarter_{name}"], oracle[f"ab_{name}"]


@pytest.mark.parametrize("name", ["64x64", "96x128", "176x176"])
def test_converted_model_reproduces_the_release(oracle, net, name):
    batch, height, width = FORWARD_CASES[name]
    lightness = _lightness(name)
    torch_logits, torch_ab, torch_ab_full = _torch_outputs(oracle, name)

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


def test_a_wrong_layout_would_be_caught(oracle, pth_path):
    """Flipping the transposed conv's kernel (a plausible conversion bug) fails the tolerance."""
    state_dict = pth.load_state_dict(pth_path)
    state_dict["model8.0.weight"] = np.flip(state_dict["model8.0.weight"], axis=(2, 3))
    flipped = convert.convert_state_dict(state_dict)
    lightness = _lightness("32x32")
    torch_logits = _torch_outputs(oracle, "32x32")[0]
    logits = flipped(lightness, training=False).numpy() / convert.LOGIT_SCALE
    assert np.abs(logits - torch_logits).max() / np.abs(torch_logits).max() > 100 * (
        LOGITS_RELATIVE_TOLERANCE
    )


@pytest.mark.parametrize("file_format", ["zip", "legacy"])
def test_the_release_reads_without_pytorch_as_torch_load_reads_it(oracle, file_format):
    state_dict = torch_file.read_state_dict(str(oracle[f"{file_format}_path"]))
    assert list(state_dict) == oracle["keys"].tolist()
    assert [_digest(value) for value in state_dict.values()] == oracle[
        f"digests_{file_format}"].tolist()


@pytest.fixture(scope="module")
def torch_file_cases(tmp_path_factory):
    directory = tmp_path_factory.mktemp("cases")
    return torch_runner.run({"torch_file_cases": {"directory": str(directory)}},
                            directory)["torch_file_cases"]


@pytest.mark.parametrize("file_format", ["zip", "legacy"])
def test_every_dtype_and_layout_reads_as_torch_load_reads_it(torch_file_cases, file_format):
    state_dict = torch_file.read_state_dict(str(torch_file_cases[f"{file_format}_path"]))
    assert list(state_dict) == torch_file_cases[f"{file_format}_keys"].tolist()
    for key, value in state_dict.items():
        expected = torch_file_cases[f"{file_format}/{key}"]
        assert value.dtype == expected.dtype and value.shape == expected.shape, key
        np.testing.assert_array_equal(value, expected, err_msg=key)


def test_a_file_that_would_run_code_is_refused(torch_file_cases, tmp_path):
    with pytest.raises(ValueError, match="posix.system is not allowed|os.system is not allowed"):
        torch_file.read_state_dict(str(torch_file_cases["hostile_path"]))
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(ValueError, match="broken.pth"):
        torch_file.read_state_dict(broken)
    truncated = tmp_path / "truncated.pth"
    data = pathlib.Path(str(torch_file_cases["legacy_path"])).read_bytes()
    truncated.write_bytes(data[: len(data) - 10])
    with pytest.raises(ValueError, match="truncated"):
        torch_file.read_state_dict(truncated)


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


def test_foreign_state_dicts_are_refused(pth_path):
    state_dict = torch_file.read_state_dict(pth_path)

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
