"""Tests of keras_colorful.metrics (the paper's metrics) and keras_colorful.evaluation (a folder).

Metric functions are checked on synthetic cases with known answers and against direct numpy
references (float64, brute force) on random inputs; `evaluate_folder` against references built
from scikit-image's Lab conversion, brute-force nearest bins and numpy PSNR, on tiny generated
photos.
"""

import json
import math
import pathlib

import numpy as np
import pytest
from PIL import Image
from skimage import color as skimage_color
from skimage import metrics as skimage_metrics

from keras_colorful import bins, evaluation, metrics
from keras_colorful.inference import Colorizer
from tests import image_factory
from tests.script_runner import run_script

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
IMAGE_SIZES = ((24, 40), (32, 32), (20, 36))


def _reference_fractions(errors, thresholds, weights=None):
    errors = np.ravel(errors)
    weights = np.ones_like(errors) if weights is None else np.ravel(weights)
    hits = errors[None, :] <= np.asarray(thresholds, np.float64)[:, None]
    return (hits * weights[None, :]).sum(axis=1) / weights.sum()


def _reference_weights(ab, prior):
    """1 / (Q p) at the brute-force nearest bin, the rarest positive prior for empty bins."""
    centers = np.load(REPO_ROOT / "keras_colorful" / "assets" / "pts_in_hull.npy").astype(float)
    flat = np.reshape(ab, (-1, 2))
    nearest = np.argmin(((flat[:, None, :] - centers[None]) ** 2).sum(-1), axis=1)
    prior = np.asarray(prior, np.float64) / np.sum(prior)
    clamped = np.where(prior > 0, prior, prior[prior > 0].min())
    return (1.0 / (np.count_nonzero(prior) * clamped))[nearest].reshape(np.shape(ab)[:-1])


def test_errors_all_equal_to_seven():
    rng = np.random.default_rng(0)
    ab_true = rng.integers(-100, 100, (30, 20, 2)).astype(np.float64)
    offsets = np.zeros_like(ab_true)
    axis = rng.integers(0, 2, (30, 20))
    np.put_along_axis(offsets, axis[..., None], rng.choice([-7.0, 7.0], (30, 20, 1)), axis=-1)
    fractions, auc = metrics.auc_curve(ab_true + offsets, ab_true)
    assert fractions.shape == (151,)
    np.testing.assert_array_equal(fractions[:7], 0.0)
    np.testing.assert_array_equal(fractions[7:], 1.0)
    assert auc == pytest.approx((151 - 7) / 151 * 100, abs=1e-12)
    # A perfect prediction scores 100, one off by more than 150 everywhere 0.
    assert metrics.auc_curve(ab_true, ab_true)[1] == 100.0
    assert metrics.auc_curve(ab_true + 151.0, ab_true)[1] == 0.0


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("thresholds", [metrics.AUC_THRESHOLDS, "random"])
def test_auc_curve_matches_a_numpy_reference(weighted, thresholds):
    rng = np.random.default_rng(1)
    ab_true = rng.uniform(-110, 110, (3, 17, 11, 2))
    ab_pred = ab_true + rng.normal(0, 40, ab_true.shape)
    weights = rng.uniform(0, 5, ab_true.shape[:-1]) if weighted else None
    if thresholds == "random":
        thresholds = np.sort(rng.uniform(0, 120, 37))
    fractions, auc = metrics.auc_curve(ab_pred, ab_true, thresholds, weights)
    errors = np.sqrt(((ab_pred - ab_true) ** 2).sum(-1))
    expected = _reference_fractions(errors, thresholds, weights)
    np.testing.assert_allclose(fractions, expected, rtol=0, atol=1e-12)
    assert auc == pytest.approx(100 * expected.mean(), abs=1e-10)
    assert 5 < auc < 95


def test_weighted_known_answer_and_pooling():
    ab_true = np.zeros((2, 2))
    ab_pred = np.array([[0.0, 0.0], [200.0, 0.0]])
    fractions, auc = metrics.auc_curve(ab_pred, ab_true, weights=[3.0, 1.0])
    np.testing.assert_array_equal(fractions, 0.75)
    assert auc == 75.0
    # Pooling: a curve accumulated image by image is the curve of all pixels at once.
    rng = np.random.default_rng(2)
    errors = [rng.uniform(0, 160, size) for size in (5, 50, 500)]
    weights = [rng.uniform(0, 2, size) for size in (5, 50, 500)]
    curve = metrics.ErrorCurve()
    for image_errors, image_weights in zip(errors, weights, strict=True):
        curve.add(image_errors, image_weights)
    expected = _reference_fractions(np.concatenate(errors), range(151), np.concatenate(weights))
    np.testing.assert_allclose(curve.fractions(), expected, atol=1e-12)


def test_metric_inputs_are_checked():
    ab = np.zeros((4, 2))
    with pytest.raises(ValueError, match="shape"):
        metrics.auc_curve(ab, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"\[\.\.\., 2\]"):
        metrics.auc_curve(np.zeros((4, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.auc_curve(ab + np.nan, ab)
    with pytest.raises(ValueError, match="no pixels"):
        metrics.auc_curve(ab, ab, weights=np.zeros(4))
    with pytest.raises(ValueError, match="weights"):
        metrics.auc_curve(ab, ab, weights=-np.ones(4))
    with pytest.raises(ValueError, match="non-decreasing"):
        metrics.auc_curve(ab, ab, thresholds=[3, 1])
    with pytest.raises(ValueError, match="shape"):
        metrics.psnr(np.zeros((2, 2, 3)), np.zeros((2, 3, 3)))


def test_rebalanced_pixel_weights_match_a_brute_force_reference():
    rng = np.random.default_rng(3)
    ab = rng.uniform(-120, 120, (40, 30, 2))
    prior = bins.default_prior()
    weights = metrics.rebalanced_pixel_weights(ab)
    np.testing.assert_allclose(weights, _reference_weights(ab, prior), rtol=1e-12)
    # Weights average 1 over the prior: sum_q p_q w_q = 1.
    centers = bins.ab_bin_centers()
    at_centers = metrics.rebalanced_pixel_weights(centers + rng.uniform(-4.9, 4.9, (313, 2)))
    assert float(np.sum(prior * at_centers)) == pytest.approx(1.0, abs=1e-12)
    assert at_centers.max() / at_centers.min() == pytest.approx(prior.max() / prior.min())
    # A custom prior with empty bins: they get the rarest non-empty bin's weight.
    sparse = rng.uniform(0, 1, 313) * (rng.uniform(size=313) < 0.5)
    weights = metrics.rebalanced_pixel_weights(ab, sparse)
    assert np.all(np.isfinite(weights))
    np.testing.assert_allclose(weights, _reference_weights(ab, sparse), rtol=1e-12)
    with pytest.raises(ValueError, match="313"):
        metrics.rebalanced_pixel_weights(ab, np.ones(312))


def test_psnr_known_and_reference():
    rng = np.random.default_rng(4)
    truth = rng.integers(20, 200, (9, 7, 3)).astype(np.uint8)
    assert metrics.psnr(truth + 10, truth) == pytest.approx(10 * math.log10(255**2 / 100))
    assert metrics.psnr(truth, truth) == math.inf
    prediction = rng.integers(0, 256, truth.shape).astype(np.uint8)
    expected = skimage_metrics.peak_signal_noise_ratio(truth, prediction, data_range=255)
    assert metrics.psnr(prediction, truth) == pytest.approx(expected, rel=1e-12)


# ----------------------------------------------------------------------------------------------
# evaluate_folder


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    images = []
    for index, (height, width) in enumerate(IMAGE_SIZES):
        image = image_factory.color_image(height, width, seed=index)
        Image.fromarray(image).save(folder / f"photo{index}.png")
        images.append(image)
    (folder / "photo9_broken.png").write_bytes(b"not an image")
    return folder, images


def _constant_predictor(ab):
    def predict(l_network, temperature):
        return np.broadcast_to(np.float32(ab), l_network.shape[:3] + (2,)).copy()

    return predict


def test_gray_and_constant_baselines_match_references(photos, tmp_path):
    folder, images = photos
    colorizer = Colorizer(_constant_predictor((0.0, 0.0)), network_size=16)
    sheet_path = tmp_path / "sheet.png"
    report = evaluation.evaluate_folder(
        colorizer, folder, contact_sheet_path=sheet_path, num_sheet_images=2, progress=False
    )
    assert report["num_images"] == 3 and report["num_skipped"] == 1
    assert "photo9_broken.png" in report["skipped_files"][0]
    assert report["num_pixels"] == sum(h * w for h, w in IMAGE_SIZES)
    # A model predicting ab = 0 is the gray baseline, exactly.
    assert report["results"]["model"] == report["results"]["gray"]

    labs = [skimage_color.rgb2lab(image / 255.0) for image in images]
    ab_true = np.concatenate([lab[..., 1:].reshape(-1, 2) for lab in labs])
    constant = ab_true.mean(axis=0)
    np.testing.assert_allclose(report["constant_ab"], constant, atol=1e-3)
    weights = _reference_weights(ab_true, bins.default_prior())
    for method, ab in (("gray", np.zeros(2)), ("constant", constant)):
        errors = np.linalg.norm(ab_true - ab, axis=-1)
        fractions = _reference_fractions(errors, range(151))
        # Our float32 Lab vs scikit-image's float64 may move a pixel across a threshold.
        np.testing.assert_allclose(report["curves"][method]["fractions"], fractions, atol=3e-3)
        result = report["results"][method]
        assert result["auc"] == pytest.approx(100 * fractions.mean(), abs=0.05)
        rebalanced = _reference_fractions(errors, range(151), weights)
        assert result["rebalanced_auc"] == pytest.approx(100 * rebalanced.mean(), abs=0.1)
        reconstructions = []
        for lab in labs:
            lab_pred = np.concatenate([lab[..., :1], np.broadcast_to(ab, lab.shape[:2] + (2,))], -1)
            reconstructions.append(np.round(255 * np.clip(skimage_color.lab2rgb(lab_pred), 0, 1)))
        squared = sum(((r - i) ** 2).sum() for r, i in zip(reconstructions, images, strict=True))
        pooled_psnr = 10 * math.log10(255**2 / (squared / sum(i.size for i in images)))
        assert result["psnr"] == pytest.approx(pooled_psnr, abs=0.05)
        per_image = [metrics.psnr(r, i) for r, i in zip(reconstructions, images, strict=True)]
        assert result["mean_image_psnr"] == pytest.approx(np.mean(per_image), abs=0.05)
    # The constant colour beats gray on the rebalanced AuC for these colourful photos.
    results = report["results"]
    assert results["constant"]["rebalanced_auc"] > results["gray"]["rebalanced_auc"]

    sheet = np.asarray(Image.open(sheet_path))
    assert report["contact_sheet"] == str(sheet_path)
    assert sheet.shape[0] == 2 * evaluation.SHEET_ROW_HEIGHT + evaluation.SHEET_GAP
    first_panel = sheet[: evaluation.SHEET_ROW_HEIGHT, :100].astype(int)
    assert np.abs(first_panel[..., 0] - first_panel[..., 1]).max() <= 1  # gray


def test_model_column_is_what_the_colorizer_produces(photos, tiny_net):
    folder, images = photos
    net = tiny_net
    colorizer = Colorizer(net, network_size=16)
    report = evaluation.evaluate_folder(colorizer, folder, max_images=2, progress=False)
    assert report["num_images"] == 2
    colorized = [colorizer.colorize(image) for image in images[:2]]
    squared = sum(
        ((c.astype(float) - i) ** 2).sum() for c, i in zip(colorized, images[:2], strict=True)
    )
    pooled_psnr = 10 * math.log10(255**2 / (squared / sum(i.size for i in images[:2])))
    assert report["results"]["model"]["psnr"] == pytest.approx(pooled_psnr, abs=1e-3)

    # With the constant given, a model predicting it reproduces the constant column.
    given = (12.5, -20.0)
    report = evaluation.evaluate_folder(
        Colorizer(_constant_predictor(given), network_size=None),
        folder,
        constant_ab=given,
        progress=False,
    )
    assert report["constant_ab"] == list(given)
    for key, value in report["results"]["constant"].items():
        assert report["results"]["model"][key] == pytest.approx(value, abs=1e-3), key


def test_evaluate_folder_errors(tmp_path):
    colorizer = Colorizer(_constant_predictor((0.0, 0.0)), network_size=16)
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(ValueError, match="readable"):
        evaluation.evaluate_folder(colorizer, tmp_path, progress=False)
    with pytest.raises(ValueError, match="max_images"):
        evaluation.evaluate_folder(colorizer, tmp_path, max_images=0, progress=False)
    with pytest.raises(ValueError, match="temperature"):
        evaluation.evaluate_folder(colorizer, tmp_path, temperature=0, progress=False)


def test_evaluate_script(photos, tmp_path, tiny_net):
    folder, _ = photos
    model_path = tmp_path / "tiny.keras"
    tiny_net.save(model_path)
    output, sheet = tmp_path / "report.json", tmp_path / "sheet.png"
    result = run_script(
        "scripts/evaluate.py",
        f"--data_dir={folder}",
        f"--model={model_path}",
        "--network_size=16",
        f"--output={output}",
        f"--contact_sheet={sheet}",
        "--noprogress",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| gray (ab = 0) |" in result.stdout and "| model |" in result.stdout
    report = json.loads(output.read_text())
    assert report["num_images"] == 3 and set(report["results"]) == set(evaluation.METHODS)
    assert sheet.is_file()


def test_per_folder_figures_equal_each_folder_evaluated_alone(tmp_path, tiny_net):
    for folder, seed in (("kodak", 0), ("mcmaster", 10)):
        for index in range(2):
            image = image_factory.color_image(24 + 8 * index, 32, seed=seed + index)
            (tmp_path / folder).mkdir(exist_ok=True)
            Image.fromarray(image).save(tmp_path / folder / f"photo{index}.png")
    colorizer = Colorizer(tiny_net, network_size=16)
    report = evaluation.evaluate_folder(colorizer, tmp_path, progress=False)
    assert sorted(report["by_folder"]) == ["kodak", "mcmaster"]
    for folder, entry in report["by_folder"].items():
        alone = evaluation.evaluate_folder(colorizer, tmp_path / folder, progress=False,
                                           constant_ab=report["constant_ab"])
        assert entry["num_images"] == alone["num_images"] == 2
        for method in evaluation.METHODS:
            for name, value in entry["results"][method].items():
                assert value == pytest.approx(alone["results"][method][name], rel=1e-9)
    table = evaluation.format_markdown(report)
    assert "| kodak | 2 | model |" in table and "| mcmaster | 2 | gray |" in table
