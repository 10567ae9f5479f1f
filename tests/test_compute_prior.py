"""The prior of a folder of photos: keras_colorful.prior_lib and scripts/compute_prior.py."""

import json
import pathlib

import numpy as np
import PIL.Image
import pytest
import skimage.color

from keras_colorful import prior_lib, priors
from tests.script_runner import run_script

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
CENTERS64 = np.load(REPOSITORY / "keras_colorful" / "assets" / "pts_in_hull.npy").astype(float)


def reference_counts(images):
    """Nearest-bin counts of the images' ab by scikit-image Lab and brute force (float64)."""
    ab = np.concatenate([skimage.color.rgb2lab(image)[..., 1:].reshape(-1, 2) for image in images])
    nearest = ((ab[:, None, :] - CENTERS64[None]) ** 2).sum(-1).argmin(1)
    return np.bincount(nearest, minlength=313).astype(float)


@pytest.fixture
def photo_folder(tmp_path):
    """Three small photos (one in a subfolder, one JPEG), a corrupt file and a text file."""
    rng = np.random.default_rng(0)
    red_green = np.zeros((6, 8, 3), np.uint8)
    red_green[:, :4] = (220, 20, 20)
    red_green[:, 4:] = (20, 200, 40)
    noise = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    blue = np.full((4, 4, 3), (30, 40, 210), np.uint8)
    (tmp_path / "sub").mkdir()
    PIL.Image.fromarray(red_green).save(tmp_path / "a_red_green.png")
    PIL.Image.fromarray(noise).save(tmp_path / "sub" / "b_noise.PNG")
    PIL.Image.fromarray(blue).save(tmp_path / "c_blue.jpg", quality=100)
    (tmp_path / "d_corrupt.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (tmp_path / "notes.txt").write_text("not an image")
    decoded_blue = np.asarray(PIL.Image.open(tmp_path / "c_blue.jpg").convert("RGB"))
    return tmp_path, [red_green, noise, decoded_blue]


def test_prior_of_a_folder_matches_an_independent_count(photo_folder):
    folder, images = photo_folder
    prior, report = prior_lib.compute_prior_from_folder(folder, progress=False)
    counts = reference_counts(images)
    np.testing.assert_allclose(prior, priors.smooth_prior(counts), rtol=1e-9)
    assert prior.dtype == np.float64 and prior.shape == (313,)
    assert report["images_used"] == 3
    assert report["images_skipped"] == 1
    assert "d_corrupt.jpg" in report["skipped_files"][0]
    assert report["pixels"] == sum(image.shape[0] * image.shape[1] for image in images)
    # Saturated sRGB colours (pure-ish red, blue) fall outside the 313 bins' cells.
    _, expected_outside = priors.bin_histogram(np.concatenate(
        [skimage.color.rgb2lab(image)[..., 1:].reshape(-1, 2) for image in images]))
    assert report["out_of_gamut_pixels"] == expected_outside
    json.dumps(report)  # JSON-ready


def test_max_images_resize_and_no_smoothing(photo_folder):
    folder, images = photo_folder
    prior, report = prior_lib.compute_prior_from_folder(
        folder, max_images=1, resize=4, progress=False, sigma=0.0
    )
    assert report["images_used"] == 1 and report["pixels"] == 16
    first = np.asarray(PIL.Image.fromarray(images[0]).resize((4, 4), PIL.Image.BILINEAR))
    counts = reference_counts([first])
    np.testing.assert_allclose(prior, counts / counts.sum(), rtol=1e-12)


def test_missing_empty_and_undecodable_folders_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        prior_lib.compute_prior_from_folder(tmp_path / "missing", progress=False)
    with pytest.raises(ValueError, match="No image files"):
        prior_lib.compute_prior_from_folder(tmp_path, progress=False)
    (tmp_path / "broken.png").write_bytes(b"nothing")
    with pytest.raises(ValueError, match="could be decoded"):
        prior_lib.compute_prior_from_folder(tmp_path, progress=False)


def test_script_writes_the_prior_and_its_report(photo_folder, tmp_path):
    folder, images = photo_folder
    output = tmp_path / "out" / "prior.npy"
    result = run_script("scripts/compute_prior.py", f"--data_dir={folder}",
                        f"--output={output}", "--noprogress", timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    prior = np.load(output)
    assert prior.dtype == np.float64 and prior.shape == (313,)
    np.testing.assert_allclose(prior, priors.smooth_prior(reference_counts(images)), rtol=1e-9)
    report = json.loads((tmp_path / "out" / "prior.json").read_text())
    assert report["images_used"] == 3 and report["images_skipped"] == 1
    assert '"images_used": 3' in result.stdout
