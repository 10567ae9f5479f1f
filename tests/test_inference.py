"""Tests of keras_colorful.load / Colorizer and the full-resolution steps of the pipeline.

The network is the "tiny" preset with its logits layer scaled up, so that its colours vary with
L and with the temperature (a freshly initialised network predicts one flat colour). The main
check compares `Colorizer.colorize` with an independent float64 reference built from numpy and
scikit-image (softmax expectation over the bin centres, half-pixel bilinear resizes, Lab to RGB).
"""

import json
import math
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from skimage import color as skimage_color

import keras_colorful
from keras_colorful import bins, image_io, loading, models
from keras_colorful.export import saved_model_lib
from keras_colorful.inference import Colorizer, full_resolution, pipeline
from tests import image_factory

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def net(colourful_tiny_net):
    return colourful_tiny_net(seed=0, logit_std=2.0)


@pytest.fixture(scope="module")
def model_path(net, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    net.save(path)
    return path


@pytest.fixture(scope="module")
def colorizer(model_path):
    return keras_colorful.load(model_path)


def _photo(height=333, width=517, seed=1):
    return image_factory.color_image(height, width, seed)


def _lab(rgb_uint8):
    return skimage_color.rgb2lab(rgb_uint8.astype(np.float64) / 255.0)


def _bilinear(x, height, width):
    """Half-pixel bilinear resize of [h, w, C] in float64 (PyTorch align_corners=False)."""

    def matrix(in_size, out_size):
        source = np.maximum((np.arange(out_size) + 0.5) * in_size / out_size - 0.5, 0.0)
        low = np.minimum(np.floor(source).astype(int), in_size - 1)
        high = np.minimum(low + 1, in_size - 1)
        weights = np.zeros((out_size, in_size))
        np.add.at(weights, (np.arange(out_size), low), 1.0 - (source - low))
        np.add.at(weights, (np.arange(out_size), high), source - low)
        return weights

    rows = np.einsum("oh,hwc->owc", matrix(x.shape[0], height), x.astype(np.float64))
    return np.einsum("pw,owc->opc", matrix(x.shape[1], width), rows)


def _reference_colorize(net, rgb_uint8, temperature, network_size=256):
    """The release's demo pipeline in float64 numpy / scikit-image, around the same network."""
    lightness = _lab(rgb_uint8)[..., :1]
    l_network = pipeline.preprocess_l(lightness[np.newaxis].astype(np.float32), network_size)
    logits = net(l_network, training=False).numpy()[0].astype(np.float64) / temperature
    probabilities = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probabilities /= probabilities.sum(axis=-1, keepdims=True)
    ab_quarter = probabilities @ bins.ab_bin_centers().astype(np.float64)
    ab_network = _bilinear(ab_quarter, 4 * ab_quarter.shape[0], 4 * ab_quarter.shape[1])
    ab = _bilinear(ab_network, *rgb_uint8.shape[:2])
    rgb = skimage_color.lab2rgb(np.concatenate([lightness, ab], axis=-1))
    return np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def _max_difference(a, b):
    return int(np.max(np.abs(a.astype(int) - b.astype(int))))


def _mean_chroma(rgb_uint8):
    ab = _lab(rgb_uint8)[..., 1:]
    return float(np.mean(np.hypot(ab[..., 0], ab[..., 1])))


# --- load ------------------------------------------------------------------------------------


def test_load_keras_file_gives_the_saved_network(net, colorizer):
    assert isinstance(colorizer, Colorizer)
    assert isinstance(colorizer.model, models.ColorizationNet)
    assert colorizer.network_size == (256, 256)
    l_sample = np.random.default_rng(3).uniform(0, 100, (2, 32, 40, 1)).astype("float32")
    np.testing.assert_allclose(
        colorizer.model(l_sample, training=False), net(l_sample, training=False), atol=1e-5
    )


def test_load_inference_model_file_uses_its_network(net, tmp_path):
    path = tmp_path / "inference.keras"
    models.build_inference_model(net).save(path)
    loaded = keras_colorful.load(str(path), network_size=64)
    assert isinstance(loaded.model, models.ColorizationNet)
    assert loaded.network_size == (64, 64)
    l_sample = np.random.default_rng(4).uniform(0, 100, (1, 16, 16, 1)).astype("float32")
    np.testing.assert_allclose(loaded.model(l_sample), net(l_sample), atol=1e-5)


def test_load_bad_sources_raise_naming_them(tmp_path):
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "model.txt").write_text("not a model")
    (tmp_path / "broken.keras").write_bytes(b"PK\x03\x04 not really a zip")
    for source, words in [
        (tmp_path / "missing.keras", ["missing.keras", "no such file"]),
        (tmp_path / "empty_dir", ["empty_dir", "saved_model.pb"]),
        (tmp_path / "model.txt", ["model.txt", "not a .keras file"]),
        (tmp_path / "broken.keras", ["broken.keras"]),
    ]:
        with pytest.raises(ValueError) as raised:
            keras_colorful.load(source)
        for word in words:
            assert word in str(raised.value)
    with pytest.raises(TypeError, match="source"):
        keras_colorful.load(3)
    with pytest.raises(ValueError, match="weights_path"):
        keras_colorful.load(tmp_path / "model.txt", weights_path="w.pth")
    with pytest.raises(ValueError, match="weights_path"):
        keras_colorful.load(weights_path="w.pth")


def test_package_level_names():
    assert keras_colorful.Colorizer is Colorizer
    assert keras_colorful.load is loading.load


# --- colorize: correctness -------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [0.38, 1.0])
def test_colorize_matches_independent_reference_at_odd_size(net, colorizer, temperature):
    rgb = _photo(333, 517)
    out = colorizer.colorize(rgb, temperature=temperature)
    assert out.shape == (333, 517, 3) and out.dtype == np.uint8
    # float32 against float64: rounding may flip by one level.
    assert _max_difference(out, _reference_colorize(net, rgb, temperature)) <= 1


def test_output_keeps_the_input_lightness(colorizer):
    for image in (_photo(333, 517, seed=2), _photo(200, 150, seed=3).mean(-1).astype(np.uint8)):
        out = colorizer.colorize(image)
        rgb = image_io.to_rgb_array(image)
        l_error = np.abs(_lab(out)[..., 0] - _lab(rgb)[..., 0])
        # Where no channel is clipped (out-of-gamut colours change L when clipped), only the
        # uint8 rounding of the output separates the two L.
        in_gamut = np.all((out > 0) & (out < 255), axis=-1)
        assert in_gamut.mean() > 0.9
        assert l_error[in_gamut].max() <= 1.0
        assert _mean_chroma(out) > 5.0  # and it did colour the image


def test_lower_temperature_is_more_saturated(colorizer):
    rgb = _photo(120, 160, seed=4)
    outputs = [colorizer.colorize(rgb, temperature=t) for t in (0.1, 0.38, 1.0)]
    chroma = [_mean_chroma(out) for out in outputs]
    assert chroma[0] > chroma[2] + 3.0, chroma
    # Colours spread out as T falls (T = 1 is near the mean colour of every bin, everywhere).
    spread = [float(np.std(_lab(out)[..., 1:], axis=(0, 1)).sum()) for out in outputs]
    assert spread[0] > spread[1] > spread[2], spread


def test_single_in_single_out_list_in_list_out(colorizer):
    gray = np.full((20, 30), 128, np.uint8)
    single = colorizer.colorize(gray)
    assert isinstance(single, np.ndarray) and single.shape == (20, 30, 3)
    as_list = colorizer.colorize([gray])
    assert isinstance(as_list, list) and len(as_list) == 1
    np.testing.assert_array_equal(as_list[0], single)
    assert isinstance(colorizer.colorize((gray, gray)), list)
    assert colorizer.colorize([]) == []


def test_every_input_kind_in_one_call(colorizer, tmp_path):
    odd = image_factory.write_odd_images(tmp_path)
    rgba_path, rgba_expected = odd["rgba"]
    gray_path, _ = odd["gray"]
    rgb = _photo(45, 61, seed=5)
    images = [
        rgba_path,  # RGBA PNG file, as pathlib.Path
        str(gray_path),  # gray PNG file, as str
        Image.fromarray(rgb),  # PIL
        rgb.mean(-1).astype(np.uint8),  # [H, W]
        rgb[..., :1],  # [H, W, 1]
        rgb.astype(np.float64) / 255.0,  # float in [0, 1]
        np.dstack([rgb, np.zeros(rgb.shape[:2], np.uint8)]),  # RGBA array
        _photo(333, 517, seed=6),
    ]
    out = colorizer.colorize(images, batch_size=3)
    assert isinstance(out, list) and len(out) == len(images)
    expected_shapes = [(40, 48, 3), (40, 48, 3)] + [(45, 61, 3)] * 5 + [(333, 517, 3)]
    assert [image.shape for image in out] == expected_shapes
    # Batching changes nothing; alpha is ignored; float input gives the uint8 input's colours.
    for image, result in zip(images, out, strict=True):
        assert _max_difference(colorizer.colorize(image), result) <= 1
    assert _max_difference(out[0], colorizer.colorize(rgba_expected)) <= 1
    assert _max_difference(out[5], colorizer.colorize(rgb)) <= 1
    assert _max_difference(out[6], out[2]) <= 1


def test_native_network_size_batches_images_of_one_size(net):
    calls = []
    native = Colorizer(net, network_size=None)
    predict = native._predict

    def recording_predict(l_network, temperature):
        calls.append(l_network.shape)
        return predict(l_network, temperature)

    native._predict = recording_predict
    sizes = [(30, 41), (64, 64), (30, 41), (31, 39), (64, 64)]
    images = [_photo(h, w, seed=i) for i, (h, w) in enumerate(sizes)]
    out = native.colorize(images, batch_size=2)
    assert [image.shape[:2] for image in out] == sizes
    # (30, 41) and (31, 39) both run at 32x40: one full batch of 2, then a batch of 1 at the end.
    assert sorted(calls) == sorted([(2, 32, 40, 1), (2, 64, 64, 1), (1, 32, 40, 1)])
    for image, result in zip(images, out, strict=True):
        assert _max_difference(native.colorize(image), result) <= 1


def test_batches_tensors_and_encoded_bytes_are_images_too(colorizer, tmp_path):
    import io

    import tensorflow as tf

    photos = [_photo(24, 40, seed=20 + i) for i in range(3)]
    one_by_one = [colorizer.colorize(photo) for photo in photos]
    batch = np.stack(photos)
    for given in (batch, tf.constant(batch)):  # a 4-D batch, numpy or tf.Tensor
        out = colorizer.colorize(given, batch_size=2)
        assert isinstance(out, np.ndarray) and out.shape == (3, 24, 40, 3)
        np.testing.assert_array_equal(out, np.stack(one_by_one))
    np.testing.assert_array_equal(colorizer.predict(batch, batch_size=2), np.stack(one_by_one))
    assert colorizer.colorize(np.zeros((0, 8, 8, 3), np.uint8)).shape == (0, 8, 8, 3)
    np.testing.assert_array_equal(colorizer.colorize(tf.constant(photos[0])), one_by_one[0])
    # The bytes of a file are colorized as the file is (EXIF orientation included).
    path = tmp_path / "photo.png"
    Image.fromarray(photos[1]).save(path)
    exif = Image.Exif()
    exif[0x0112] = 6
    turned = tmp_path / "turned.jpg"
    Image.fromarray(photos[2]).save(turned, quality=95, exif=exif.tobytes())
    for file in (path, turned):
        from_bytes = colorizer.colorize(file.read_bytes())
        np.testing.assert_array_equal(from_bytes, colorizer.colorize(file))
    assert colorizer.colorize(turned.read_bytes()).shape == (40, 24, 3)  # upright
    mixed = colorizer.colorize([path.read_bytes(), tf.constant(photos[0]), str(path)])
    np.testing.assert_array_equal(mixed[0], mixed[2])
    with pytest.raises(ValueError, match="^image 1: Cannot read the 5 bytes given"):
        colorizer.colorize([path.read_bytes(), b"hello"])
    buffer = io.BytesIO()
    Image.fromarray(photos[0]).save(buffer, "PNG")
    np.testing.assert_array_equal(colorizer.colorize(bytearray(buffer.getvalue())), one_by_one[0])


def test_load_takes_a_training_runs_folder_and_names(net, model_path, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_bytes(model_path.read_bytes())
    loaded = keras_colorful.load(run, network_size=32)
    l_sample = np.random.default_rng(5).uniform(0, 100, (1, 16, 16, 1)).astype("float32")
    np.testing.assert_allclose(loaded.model(l_sample), net(l_sample), atol=1e-5)
    assert keras_colorful.load("default").model.name == keras_colorful.load().model.name
    with pytest.raises(ValueError) as raised:
        keras_colorful.load("eccv17")
    message = str(raised.value)
    for word in ("'eccv17'", "'default'", "'eccv16'", ".keras file", "training run's folder",
                 "SavedModel", "'small'", "'tiny'"):
        assert word in message, word


# --- colorize: bad input ---------------------------------------------------------------------


def test_bad_images_raise_naming_problem_and_index(colorizer, tmp_path):
    good = np.zeros((8, 8), np.uint8)
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("hello")
    cases = [
        (np.zeros((8, 8, 3), np.int32), TypeError, "int32"),
        (np.zeros((8, 8, 2), np.uint8), ValueError, "shape"),
        (np.full((8, 8, 3), 1.01), ValueError, "[0, 1]"),
        (str(tmp_path / "missing.jpg"), ValueError, "missing.jpg"),
        (not_an_image, ValueError, "notes.png"),
        ([[0, 255], [255, 0]], TypeError, "list"),
    ]
    for bad, error, word in cases:
        with pytest.raises(error) as raised:
            colorizer.colorize([good, good, bad])
        assert str(raised.value).startswith("image 2: ") and word in str(raised.value)
        if not isinstance(bad, list):  # a list is a list of images
            with pytest.raises(error, match="^image: "):
                colorizer.colorize(bad)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"temperature": 0.0}, ValueError),
        ({"temperature": -1.0}, ValueError),
        ({"temperature": math.nan}, ValueError),
        ({"temperature": "warm"}, TypeError),
        ({"batch_size": 0}, ValueError),
        ({"batch_size": 2.0}, ValueError),
    ],
)
def test_bad_arguments(colorizer, kwargs, error):
    with pytest.raises(error):
        colorizer.colorize(np.zeros((8, 8), np.uint8), **kwargs)


def test_bad_network_size(net):
    with pytest.raises(ValueError, match="multiples of 8"):
        Colorizer(net, network_size=100)
    with pytest.raises(TypeError):
        Colorizer("not a model")


# --- files and grids -------------------------------------------------------------------------


def test_colorize_file_and_side_by_side(colorizer, tmp_path):
    colour = tmp_path / "colour.jpg"
    Image.fromarray(_photo(50, 70, seed=7)).save(colour, quality=95)
    gray = tmp_path / "gray.png"
    Image.fromarray(_photo(50, 70, seed=8).mean(-1).astype(np.uint8)).save(gray)
    plain = colorizer.colorize_file(colour, tmp_path / "out" / "plain.png")
    assert image_io.read_image(plain).shape == (50, 70, 3)
    gap = full_resolution.GRID_GAP
    grid = image_io.read_image(colorizer.colorize_file(colour, tmp_path / "g1.png", True))
    assert grid.shape == (50, 3 * 70 + 2 * gap, 3)  # gray | colorized | original
    np.testing.assert_array_equal(grid[:, 70 + gap : 140 + gap], image_io.read_image(plain))
    np.testing.assert_array_equal(grid[:, -70:], image_io.read_image(colour))
    gray_grid = image_io.read_image(colorizer.colorize_file(gray, tmp_path / "g2.png", True))
    assert gray_grid.shape == (50, 2 * 70 + gap, 3)  # no original panel for a gray input
    np.testing.assert_array_equal(gray_grid[:, :70, 0], gray_grid[:, :70, 2])


def test_lightness_and_gray_match_scikit_image():
    rgb = _photo(37, 23, seed=9)
    l_full = full_resolution.lightness(rgb, max_pixels=100)  # many bands of 4 rows
    np.testing.assert_allclose(l_full[..., 0], _lab(rgb)[..., 0], atol=2e-3)
    gray = full_resolution.gray_rgb(l_full, max_pixels=100)
    np.testing.assert_array_equal(gray[..., 0], gray[..., 1])
    expected = skimage_color.lab2rgb(np.concatenate([_lab(rgb)[..., :1], np.zeros((37, 23, 2))], -1))
    assert _max_difference(gray, np.round(expected * 255).astype(np.uint8)) <= 1


def test_reconstruct_uint8_is_pipeline_reconstruct_rgb_in_bands():
    rng = np.random.default_rng(10)
    l_full = rng.uniform(0, 100, (45, 29, 1)).astype(np.float32)
    ab_quarter = rng.uniform(-60, 60, (1, 6, 8, 2)).astype(np.float32)
    expected = pipeline.reconstruct_rgb(l_full[np.newaxis], ab_quarter)[0].numpy()
    expected = np.round(expected * 255).astype(np.uint8)
    ab_network = pipeline.upsample_ab(ab_quarter, (24, 32))[0]
    for max_pixels in (29, 1000, 2**20):
        actual = full_resolution.reconstruct_uint8(l_full, ab_network, max_pixels=max_pixels)
        assert _max_difference(actual, expected) <= 1


def test_has_color():
    gray = np.repeat(_photo(20, 30, seed=11).mean(-1, keepdims=True).astype(np.uint8), 3, -1)
    assert not full_resolution.has_color(gray)
    near_gray = gray.copy()
    near_gray[..., 0] = np.minimum(near_gray[..., 0].astype(int) + 1, 255)  # |a|, |b| < 5
    assert not full_resolution.has_color(near_gray)
    coloured = gray.copy()
    coloured[-1, -1] = [255, 0, 0]  # one red pixel in the last band of rows
    assert full_resolution.has_color(coloured, max_pixels=60)


# --- SavedModel ------------------------------------------------------------------------------


def test_saved_model_source_matches_keras_model(net, colorizer, tmp_path):
    path = saved_model_lib.export_saved_model(net, tmp_path / "colorizer" / "1")
    from_saved_model = keras_colorful.load(path)
    assert from_saved_model.network_size == (256, 256)
    # A gray image at the network size: the gray image the SavedModel gets is the input itself.
    gray = _photo(256, 256, seed=12).mean(-1).astype(np.uint8)
    for temperature in (0.38, 0.2):
        expected = colorizer.colorize(gray, temperature=temperature)
        assert _max_difference(from_saved_model.colorize(gray, temperature), expected) <= 1
    # Other sizes: L reaches the SavedModel as a uint8 gray image (~0.2 L units of rounding).
    rgb = _photo(100, 70, seed=13)
    difference = np.abs(from_saved_model.colorize(rgb).astype(int) - colorizer.colorize(rgb))
    assert difference.mean() < 1.0


# --- a large photo ---------------------------------------------------------------------------

_LARGE_IMAGE_SCRIPT = """
import json, resource, time
import numpy as np
from keras_colorful import models
from keras_colorful.inference import Colorizer

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

colorizer = Colorizer(models.build_model("tiny"))
colorizer.colorize(np.zeros((64, 64), "uint8"))  # trace the network once
image = np.random.default_rng(0).integers(0, 256, (3000, 4000, 3), dtype=np.uint8)
before = peak_mb()
start = time.perf_counter()
out = colorizer.colorize(image)
seconds = time.perf_counter() - start
print(json.dumps({"shape": list(out.shape), "dtype": str(out.dtype), "seconds": seconds,
                  "before_mb": before, "peak_mb": peak_mb(), "corner": out[:2, :2].tolist()}))
"""


def test_4000x3000_image_in_bounded_memory():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", _LARGE_IMAGE_SCRIPT],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"4000x3000: {report['seconds']:.1f} s, peak RSS {report['peak_mb']:.0f} MB, "
          f"+{report['peak_mb'] - report['before_mb']:.0f} MB over the warmed-up process")
    assert report["shape"] == [3000, 4000, 3] and report["dtype"] == "uint8"
    # The input is 36 MB, the output 36 MB, float32 L 48 MB and ab 96 MB at full resolution;
    # whole-image colour conversions would add ~1.3 GB.
    assert report["peak_mb"] - report["before_mb"] < 600
