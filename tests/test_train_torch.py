"""keras_colorful.torch_port and scripts/train_torch.py: the package's network, loss and data
recipe in PyTorch.

The pieces are checked against independent references (scikit-image for Lab, the Keras loss layer
for the loss, tests/torch_eccv16.py for the release's state-dict layout), the port is checked to
load no TensorFlow, and the whole path of the bundled model is run end to end on generated
photos: pack_photos.py -> train_torch.py (CPU, "tiny") -> bundle_model.py --state_dict -> load().
"""

import io
import json
import pathlib
import subprocess

import numpy as np
import pytest
from PIL import Image
from skimage import color as skimage_color

from keras_colorful import bins, losses, priors
from keras_colorful.weights import convert
from tests import image_factory, torch_runner
from tests.script_runner import run_script

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
# Photo n of the crop test has R = 10 n, G = row, B = column: every crop shows where it came from.
CROP_PHOTOS, CROP_SIDE = 5, 40


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    result = run_script(f"scripts/{script}", *args, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _position_coded_photos() -> np.ndarray:
    rows, cols = np.mgrid[0:CROP_SIDE, 0:CROP_SIDE]
    return np.stack([np.stack([np.full_like(rows, 10 * n), rows, cols], -1)
                     for n in range(CROP_PHOTOS)]).astype(np.uint8)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The inputs of every PyTorch job of this file."""
    rng = np.random.default_rng(1)
    rgb = np.random.default_rng(0).uniform(0, 1, (2, 3, 17, 23))
    rgb[0, :, 0, 0] = 0.0  # black and white
    rgb[0, :, 0, 1] = 1.0
    logits = rng.normal(0, 3, (3, 5, 6, 313)).astype(np.float32)
    ab = rng.uniform(-90, 90, (3, 20, 24, 2)).astype(np.float32)
    ab[1] = rng.uniform(-4.5, 4.5, (20, 24, 2))  # a gray image: weight 0
    photos = np.random.default_rng(5).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    encoded = []
    for photo in photos:
        buffer = io.BytesIO()
        Image.fromarray(photo).save(buffer, "WEBP", lossless=True)
        encoded.append(np.frombuffer(buffer.getvalue(), np.uint8))
    offsets = np.concatenate([[0], np.cumsum([len(e) for e in encoded])]).astype(np.int64)
    pack = tmp_path_factory.mktemp("pack") / "pack.npz"
    np.savez(pack, data=np.concatenate(encoded), offsets=offsets,
             bin_centers=bins.ab_bin_centers(),
             class_weights=priors.class_weights(bins.default_prior()))
    return {"rgb": rgb, "logits": logits, "ab": ab, "pack_photos": photos, "pack": pack}


@pytest.fixture(scope="module")
def torch_outputs(inputs, tmp_path_factory):
    """Every PyTorch job of this file, in one process without TensorFlow."""
    centers = bins.ab_bin_centers().astype(np.float32)
    weights = priors.class_weights(bins.default_prior())
    logits, ab = inputs["logits"], inputs["ab"]
    jobs = {
        "lab": {"rgb": inputs["rgb"].astype(np.float32)},
        "loss#all": {"logits": logits, "ab": ab, "centers": centers, "weights": weights},
        "loss#without_gray": {"logits": logits[[0, 2]], "ab": ab[[0, 2]], "centers": centers,
                              "weights": weights},
        "random_batch#crops": {"photos": _position_coded_photos(), "batch_size": 16,
                               "sizes": [24, 32], "max_zoom": 1.0, "seed": 0, "repeats": 4},
        "random_batch#scale": {
            "photos": np.random.default_rng(2).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8),
            "batch_size": 4, "sizes": [48], "max_zoom": 1.5, "seed": 0, "repeats": 1},
        "decode_pack": {"path": str(inputs["pack"])},
        "eccv16_layouts": {},
        "doctests": {},
    }
    return torch_runner.run(jobs, tmp_path_factory.mktemp("torch"))


def test_rgb_to_lab_matches_scikit_image(inputs, torch_outputs):
    rgb = inputs["rgb"]
    ours = torch_outputs["lab"]["lab"]
    reference = skimage_color.rgb2lab(rgb.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(ours, reference, atol=1e-3)


def test_loss_equals_the_keras_loss_layer(inputs, torch_outputs):
    logits, ab = inputs["logits"], inputs["ab"]
    prior = bins.default_prior()
    expected = [float(v) for v in
                losses.RebalancedSoftCrossEntropy(prior=prior).compute_losses(logits, ab)]
    got = torch_outputs["loss#all"]["losses"]
    np.testing.assert_allclose([float(v) for v in got], expected, rtol=1e-5)
    # The gray image adds to the unweighted loss only.
    without_gray = torch_outputs["loss#without_gray"]["losses"]
    np.testing.assert_allclose(float(without_gray[0]) * 2 / 3, expected[0], rtol=1e-5)


def test_random_batch_takes_true_crops_and_flips(torch_outputs):
    flipped = 0
    for index in range(4):
        batch = torch_outputs["random_batch#crops"][f"batch_{index}"]
        size = batch.shape[-1]
        assert batch.shape == (16, 3, size, size) and size in (24, 32)
        values = np.rint(batch * 255).astype(int)
        for red, green, blue in values:
            assert np.all(red == red[0, 0]) and red[0, 0] % 10 == 0
            assert red[0, 0] < 10 * CROP_PHOTOS
            assert np.array_equal(np.diff(green, axis=0), np.ones((size - 1, size)))
            step = np.diff(blue, axis=1)
            assert np.all(step == 1) or np.all(step == -1)
            flipped += int(step[0, 0] == -1)
    assert 0 < flipped < 64


def test_scale_augmentation_resizes_smaller_crops(torch_outputs):
    batch = torch_outputs["random_batch#scale"]["batch_0"]
    assert batch.shape == (4, 3, 48, 48)
    assert 0.0 <= float(batch.min()) and float(batch.max()) <= 1.0


def test_decode_pack_returns_the_photos_and_the_loss_tables(inputs, torch_outputs):
    decoded = torch_outputs["decode_pack"]
    assert decoded["photos"].shape == (3, 16, 16, 3) and decoded["photos"].dtype == np.uint8
    np.testing.assert_array_equal(decoded["photos"], inputs["pack_photos"])  # lossless WebP
    assert decoded["centers"].dtype == decoded["weights"].dtype == np.float32
    np.testing.assert_array_equal(decoded["centers"], bins.ab_bin_centers())
    np.testing.assert_array_equal(decoded["weights"],
                                  priors.class_weights(bins.default_prior()))


def test_eccv16_state_dict_is_the_releases_without_model_out(torch_outputs):
    """The port's "eccv16" has the keys and shapes of the independent release oracle."""
    layouts = torch_outputs["eccv16_layouts"]
    assert layouts["port_keys"].tolist() == layouts["release_keys"].tolist()
    assert layouts["port_shapes"].tolist() == layouts["release_shapes"].tolist()


def test_torch_port_imports_neither_tensorflow_nor_keras(torch_outputs):
    # The jobs ran the port (network, loss, Lab, batches) in a process that fails if TensorFlow
    # or Keras gets imported (tests/torch_jobs.py); its doctests ran there too.
    assert int(torch_outputs["doctests"]["attempted"]) > 0
    assert int(torch_outputs["doctests"]["failed"]) == 0


def test_pack_train_bundle_load_end_to_end(tmp_path):
    photos = tmp_path / "photos"
    image_factory.write_color_images(photos / "a", 6, size=(40, 56))
    image_factory.write_color_images(photos / "b", 3, size=(64, 48), ext="png", seed=10)
    image_factory.write_bad_files(photos / "bad")
    (tmp_path / "holdout.txt").write_text("b/image_002.png\n")
    pack = tmp_path / "pack.npz"
    packed = _run("pack_photos.py", f"--data_dir={photos}", "--size=32", f"--output={pack}",
                  f"--exclude_list={tmp_path / 'holdout.txt'}")
    assert "Packed 8 photos" in packed.stdout and "left out 1 listed" in packed.stdout
    assert "skipped 3 unreadable" in packed.stdout and "truncated.jpg" in packed.stdout
    with np.load(pack) as arrays:
        assert arrays["offsets"].shape == (9,) and int(arrays["size"]) == 32
        np.testing.assert_array_equal(arrays["bin_centers"], bins.ab_bin_centers())
        assert "b/image_002.png" not in arrays["names"].tolist()

    run = tmp_path / "run"
    # bfloat16 on the CPU, as the CPU fine-tune in docs/default_model.md ran.
    trained = _run("train_torch.py", f"--photos={pack}", f"--output_dir={run}", "--preset=tiny",
                   "--device=cpu", "--batch_size=4", "--max_steps=3", "--output_sizes=16,24",
                   "--log_every=1", "--autocast=bfloat16")
    assert "bfloat16 True" in trained.stdout
    progress = json.loads((run / "progress.json").read_text())
    assert progress["done"] and progress["step"] == 3 and progress["images"] == 12

    model_path = tmp_path / "bundled.keras"
    _run("bundle_model.py", f"--state_dict={run / 'state.npz'}", "--preset=tiny",
         "--temperature=0.5", f"--output={model_path}")

    # The bundled Keras network computes the trained PyTorch network's logits, scaled by
    # 0.38 / 0.5 (the folded temperature).
    lightness = np.random.default_rng(3).uniform(0, 100, (2, 32, 40, 1)).astype(np.float32)
    expected = torch_runner.run(
        {"forward": {"state_path": str(run / "state.npz"), "preset": "tiny",
                     "lightness": lightness}}, tmp_path / "torch")["forward"]["logits"]
    with np.load(run / "state.npz") as arrays:
        state = dict(arrays)
    keras_net = convert.convert_state_dict(state, preset="tiny", logit_scale=0.38 / 0.5)
    from keras_colorful import loading

    bundled = loading.load_network(str(model_path))
    got = np.asarray(bundled(lightness))
    np.testing.assert_allclose(got, expected * 0.38 / 0.5, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(keras_net(lightness)), got, atol=1e-6)

    import keras_colorful

    rgb = keras_colorful.load(str(model_path), network_size=32).colorize(
        image_factory.color_image(40, 56))
    assert rgb.shape == (40, 56, 3) and rgb.dtype == np.uint8


def test_bundle_model_refuses_a_state_dict_of_another_preset(tmp_path):
    from keras_colorful import models

    state = convert.network_state_dict(models.build_model("tiny"))
    np.savez(tmp_path / "tiny.npz", **state)
    result = run_script("scripts/bundle_model.py", f"--state_dict={tmp_path / 'tiny.npz'}",
                        "--preset=small", f"--output={tmp_path / 'x.keras'}")
    assert result.returncode != 0
    assert "'small' network" in result.stderr or "shape" in result.stderr


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_state_dict_round_trip(preset):
    from keras_colorful import models

    net = models.build_model(preset)
    rng = np.random.default_rng(4)
    net.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in net.get_weights()])
    again = convert.convert_state_dict(convert.network_state_dict(net), preset=preset,
                                       logit_scale=1.0)
    for a, b in zip(net.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
