"""Evaluation as in the paper (Sec. 3.1, Table 1): AuC, rebalanced AuC, PSNR, and two baselines.

Metrics (pure numpy, on ab in Lab units):
- `auc_curve(ab_pred, ab_true)`: for each threshold t = 0, 1, ..., 150, the fraction of pixels
  whose ab error (Euclidean distance in the ab plane) is <= t; AuC is the area under that curve
  normalised to 100%, i.e. 100 x the mean of the 151 fractions (a perfect prediction scores 100,
  errors all equal to 7 score (151 - 7) / 151 x 100).
- `rebalanced_pixel_weights(ab_true, prior)`: the rebalanced AuC weights each pixel inversely to
  the prior probability of its true colour's bin (the paper's lambda = 0).
- `psnr(rgb_pred, rgb_true)`: of uint8 RGB images.
- `ErrorCurve`: the same curve accumulated over many images.

`evaluate_folder(colorizer, data_dir)` runs the paper's protocol on a folder of colour photos:
for every image, its full-resolution L goes in (resized to the colorizer's network size as in
`Colorizer.colorize`), ab comes out resized to the image's own resolution, and is compared with
the image's true ab; the RGB reconstruction (true L + predicted ab, clipped, rounded to uint8) is
compared with the photo. Every metric is POOLED over all pixels of all images, as the paper's
(so larger images weigh more); the mean of per-image PSNRs is reported too. Two baselines run in
the same pass: gray (ab = 0) and a constant colour, the data set's mean ab over all pixels
(measured in a first pass over the images, or given).

Example:

>>> import numpy as np
>>> ab_true = np.zeros((4, 4, 2))
>>> fractions, auc = auc_curve(ab_true + [7.0, 0.0], ab_true)
>>> float(fractions[6]), float(fractions[7]), round(auc, 3)
(0.0, 1.0, 95.364)
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import tqdm
from PIL import Image

from keras_colorful import bins, color, constants, data_files, image_io, postprocess
from keras_colorful.inference import processing

# The paper's AuC thresholds: t = 0, 1, ..., 150 ab units (Sec. 3.1).
AUC_MAX_THRESHOLD = 150
AUC_THRESHOLDS = tuple(range(AUC_MAX_THRESHOLD + 1))
# Peak value of uint8 images, for PSNR.
PSNR_PEAK = 255.0
# Height of each image in the contact sheet, and the white gap between rows.
SHEET_ROW_HEIGHT = 160
SHEET_GAP = 8
# How many unreadable files the report names.
NUM_SKIPPED_NAMED = 10
# Names of the evaluated predictions in the report, in table order.
METHODS = ("model", "gray", "constant")


def _check_ab(ab, name: str) -> np.ndarray:
    ab = np.asarray(ab, dtype=np.float64)
    if ab.ndim == 0 or ab.shape[-1] != 2:
        raise ValueError(f"{name} must have shape [..., 2], got {ab.shape}.")
    if not np.all(np.isfinite(ab)):
        raise ValueError(f"{name} has NaN or infinite values.")
    return ab


class ErrorCurve:
    """The weighted fraction of pixels with ab error <= t, for fixed thresholds t, over many images.

    Args:
        thresholds: non-decreasing finite thresholds in ab units (default t = 0, 1, ..., 150).

    Example:

    >>> curve = ErrorCurve(thresholds=[0, 5, 10])
    >>> curve.add([1.0, 6.0]); curve.add([20.0])
    >>> curve.fractions().round(3).tolist(), round(curve.auc(), 2)
    ([0.0, 0.333, 0.667], 33.33)
    """

    def __init__(self, thresholds: Sequence[float] = AUC_THRESHOLDS):
        thresholds = np.asarray(thresholds, dtype=np.float64)
        if thresholds.ndim != 1 or thresholds.size == 0 or not np.all(np.isfinite(thresholds)):
            raise ValueError(f"thresholds must be a non-empty 1-D list of numbers: {thresholds}.")
        if np.any(np.diff(thresholds) < 0):
            raise ValueError("thresholds must be non-decreasing.")
        self.thresholds = thresholds
        # _weights[i]: weight of the errors e with thresholds[i - 1] < e <= thresholds[i]
        # (the last entry: errors above every threshold).
        self._weights = np.zeros(thresholds.size + 1, np.float64)

    @property
    def total_weight(self) -> float:
        return float(self._weights.sum())

    def add(self, errors, weights=None) -> None:
        """Adds pixels: their ab errors (>= 0) and optional non-negative weights (same shape)."""
        errors = np.asarray(errors, dtype=np.float64)
        if not np.all(np.isfinite(errors)) or np.any(errors < 0):
            raise ValueError("errors must be finite and >= 0.")
        if weights is None:
            weights = np.ones_like(errors)
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != errors.shape:
            raise ValueError(f"weights have shape {weights.shape}, errors {errors.shape}.")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("weights must be finite and >= 0.")
        # The number of thresholds below each error: the error counts from that threshold on.
        index = np.searchsorted(self.thresholds, errors.ravel(), side="left")
        self._weights += np.bincount(index, weights=weights.ravel(), minlength=self._weights.size)

    def fractions(self) -> np.ndarray:
        """float64 [num_thresholds]: the weighted fraction of pixels with error <= each one."""
        total = self.total_weight
        if not total > 0:
            raise ValueError("The curve has no pixels (or only zero weights).")
        return np.cumsum(self._weights)[:-1] / total

    def auc(self) -> float:
        """Area under the curve in percent: 100 x the mean fraction over the thresholds."""
        return float(100.0 * np.mean(self.fractions()))


def auc_curve(
    ab_pred, ab_true, thresholds: Sequence[float] = AUC_THRESHOLDS, weights=None
) -> tuple[np.ndarray, float]:
    """The cumulative fraction of pixels with ab error <= t, and its area (paper's AuC).

    Args:
        ab_pred: predicted ab `[..., 2]`.
        ab_true: true ab, same shape.
        thresholds: non-decreasing thresholds in ab units (paper: 0, 1, ..., 150).
        weights: optional non-negative per-pixel weights, shape `ab_true.shape[:-1]` (e.g.
            `rebalanced_pixel_weights`); only their ratios matter.

    Returns:
        (fractions, auc_percent): float64 [num_thresholds], and 100 x their mean.

    Raises:
        ValueError: mismatched shapes, non-finite values, negative or all-zero weights.

    Example:

    >>> errors_0_and_200 = np.array([[0.0, 0.0], [200.0, 0.0]])
    >>> auc_curve(errors_0_and_200, np.zeros((2, 2)), weights=[3.0, 1.0])[1]
    75.0
    """
    ab_pred, ab_true = _check_ab(ab_pred, "ab_pred"), _check_ab(ab_true, "ab_true")
    if ab_pred.shape != ab_true.shape:
        raise ValueError(f"ab_pred has shape {ab_pred.shape}, ab_true {ab_true.shape}.")
    curve = ErrorCurve(thresholds)
    curve.add(np.linalg.norm(ab_pred - ab_true, axis=-1), weights)
    return curve.fractions(), curve.auc()


def rebalanced_pixel_weights(ab_true, prior=None) -> np.ndarray:
    """Per-pixel weights of the rebalanced AuC: inversely proportional to the true colour's prior.

    Each pixel gets w = 1 / (Q p_q), p_q the prior of the bin nearest to its true ab and Q the
    number of bins with p > 0 (the paper's class weights with lambda = 0), so that the weights
    average 1 over pixels distributed like the prior; the AuC only depends on their ratios. A
    bin whose prior is 0 (possible with a custom prior) gets the weight of the rarest bin with
    p > 0 instead of an infinite one.

    Args:
        ab_true: true ab `[..., 2]`.
        prior: (313,) bin probabilities (or counts); default the ImageNet prior
            (`bins.default_prior()`), as the paper.

    Returns:
        float64 weights of shape `ab_true.shape[:-1]`.

    Raises:
        ValueError: a wrongly shaped, negative, non-finite or all-zero prior, or bad ab.

    Example:

    >>> weights = rebalanced_pixel_weights(np.array([[0.0, 0.0], [80.0, 60.0]]))
    >>> bool(weights[1] > 100 * weights[0])
    True
    """
    ab_true = _check_ab(ab_true, "ab_true")
    prior = bins.default_prior() if prior is None else np.asarray(prior, dtype=np.float64)
    if prior.shape != (constants.NUM_BINS,):
        raise ValueError(f"prior must have shape (313,), got {prior.shape}.")
    if not np.all(np.isfinite(prior)) or np.any(prior < 0) or not prior.sum() > 0:
        raise ValueError("prior must be finite, non-negative and not all zero.")
    prior = prior / prior.sum()
    positive = prior > 0
    class_weights = 1.0 / (np.count_nonzero(positive) * np.maximum(prior, prior[positive].min()))
    if ab_true.size == 0:
        return np.zeros(ab_true.shape[:-1], np.float64)
    return class_weights[bins.nearest_bin(ab_true).numpy()]


def psnr(rgb_pred, rgb_true, peak: float = PSNR_PEAK) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(peak^2 / MSE) over every pixel and channel.

    Args:
        rgb_pred: predicted image(s), uint8 (or numbers in [0, peak]).
        rgb_true: true image(s), same shape.
        peak: the largest possible value (255 for uint8).

    Returns:
        PSNR in dB (inf for identical images).

    Raises:
        ValueError: mismatched or empty shapes.

    Example:

    >>> true = np.full((2, 2, 3), 100, "uint8")
    >>> round(psnr(true + 10, true), 4)  # MSE 100
    28.1308
    """
    rgb_pred = np.asarray(rgb_pred, dtype=np.float64)
    rgb_true = np.asarray(rgb_true, dtype=np.float64)
    if rgb_pred.shape != rgb_true.shape or rgb_true.size == 0:
        raise ValueError(f"rgb_pred has shape {rgb_pred.shape}, rgb_true {rgb_true.shape}.")
    return _psnr_from_mse(float(np.mean((rgb_pred - rgb_true) ** 2)), peak)


def _psnr_from_mse(mse: float, peak: float = PSNR_PEAK) -> float:
    return math.inf if mse == 0 else 10.0 * math.log10(peak**2 / mse)


@dataclasses.dataclass
class _MethodStats:
    """Pooled statistics of one method (the model or a baseline) over the images seen."""

    curve: ErrorCurve = dataclasses.field(default_factory=ErrorCurve)
    rebalanced_curve: ErrorCurve = dataclasses.field(default_factory=ErrorCurve)
    squared_error: float = 0.0
    num_values: int = 0
    image_psnrs: list[float] = dataclasses.field(default_factory=list)

    def add(self, errors, rebalance_weights, rgb_pred: np.ndarray, rgb_true: np.ndarray) -> None:
        self.curve.add(errors)
        self.rebalanced_curve.add(errors, rebalance_weights)
        difference = rgb_pred.astype(np.float64) - rgb_true.astype(np.float64)
        squared_error = float(np.sum(difference**2))
        self.squared_error += squared_error
        self.num_values += difference.size
        self.image_psnrs.append(_psnr_from_mse(squared_error / difference.size))

    def summary(self) -> dict[str, float]:
        return {
            "auc": self.curve.auc(),
            "rebalanced_auc": self.rebalanced_curve.auc(),
            "psnr": _psnr_from_mse(self.squared_error / self.num_values),
            "mean_image_psnr": float(np.mean(self.image_psnrs)),
        }


def _lab(rgb: np.ndarray) -> np.ndarray:
    """Lab float32 `[H, W, 3]` of uint8 RGB, converted by bands of rows (bounded memory)."""
    height, width = rgb.shape[:2]
    lab = np.empty((height, width, 3), np.float32)
    rows = max(1, processing.MAX_PIXELS_PER_CHUNK // width)
    for start in range(0, height, rows):
        lab[start : start + rows] = color.rgb_to_lab(rgb[start : start + rows]).numpy()
    return lab


def predict_ab(colorizer, l_full: np.ndarray, temperature: float) -> np.ndarray:
    """ab predicted for one image, at the image's resolution, as `Colorizer.colorize` does it.

    Args:
        colorizer: a `keras_colorful.inference.Colorizer`.
        l_full: L in [0, 100], `[H, W, 1]`.
        temperature: annealed-mean temperature.

    Returns:
        float32 ab `[H, W, 2]`: the network's ab at its input size (L resized to the
        colorizer's network size), bilinearly resized to H x W.
    """
    height, width = l_full.shape[:2]
    size = postprocess.network_size_for(height, width, colorizer.network_size)
    l_network = postprocess.preprocess_l(l_full[np.newaxis], size).numpy()
    # The Colorizer's own predictor (L at the network size, temperature -> ab at that size), the
    # one `colorize` uses, for Keras networks and SavedModels alike.
    ab_network = colorizer._predict(l_network, temperature)[0]
    return postprocess.upsample_ab(ab_network, (height, width)).numpy()


def _sheet_row(panels: Sequence[np.ndarray]) -> np.ndarray:
    """gray | prediction | truth at SHEET_ROW_HEIGHT pixels high."""
    height, width = panels[0].shape[:2]
    size = (max(1, round(width * SHEET_ROW_HEIGHT / height)), SHEET_ROW_HEIGHT)
    resized = [np.asarray(Image.fromarray(p).resize(size, Image.BILINEAR)) for p in panels]
    return image_io.side_by_side(resized, gap=SHEET_GAP)


def _stack_rows(rows: Sequence[np.ndarray]) -> np.ndarray:
    width = max(row.shape[1] for row in rows)
    blocks = []
    for index, row in enumerate(rows):
        if index:
            blocks.append(np.full((SHEET_GAP, width, 3), image_io.GAP_VALUE, np.uint8))
        padding = np.full((row.shape[0], width - row.shape[1], 3), image_io.GAP_VALUE, np.uint8)
        blocks.append(np.concatenate([row, padding], axis=1))
    return np.concatenate(blocks, axis=0)


def _readable_images(paths, skipped: list[str], max_images, description: str, progress: bool):
    """Yields (path, uint8 RGB) of the readable files, up to max_images; records the others."""
    count = 0
    with tqdm.tqdm(paths, desc=description, unit="image", disable=not progress) as bar:
        for path in bar:
            try:
                rgb = image_io.read_image(path)
            except ValueError as error:
                skipped.append(str(error))
                continue
            yield path, rgb
            count += 1
            if max_images is not None and count >= max_images:
                return


def evaluate_folder(
    colorizer,
    data_dir: str | os.PathLike,
    temperature: float = constants.ANNEALED_MEAN_TEMPERATURE,
    max_images: int | None = None,
    contact_sheet_path: str | os.PathLike | None = None,
    num_sheet_images: int = 8,
    constant_ab: Sequence[float] | None = None,
    prior=None,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluates a colorizer and the gray and constant-colour baselines on a folder of photos.

    See the module docstring for the protocol. Unreadable files are skipped and reported.

    Args:
        colorizer: a `keras_colorful.inference.Colorizer` (e.g. from `keras_colorful.load`).
        data_dir: folder of colour photos (searched recursively), or a glob pattern.
        temperature: annealed-mean temperature of the model.
        max_images: evaluate only the first images (sorted by path); None for all.
        contact_sheet_path: write a PNG with rows gray | prediction | truth for the first
            `num_sheet_images` images; None writes none.
        num_sheet_images: rows of the contact sheet.
        constant_ab: the constant baseline's (a, b); None for the data set's mean ab over all
            pixels, measured in a first pass over the images.
        prior: (313,) prior for the rebalanced AuC; default the ImageNet prior (the paper's).
        progress: show tqdm progress bars.

    Returns:
        A JSON-ready dict: "results" {method: {"auc", "rebalanced_auc", "psnr",
        "mean_image_psnr"}} for METHODS ("model", "gray", "constant"), "curves" {method:
        {"fractions", "rebalanced_fractions"}} at "thresholds", "constant_ab", "num_images",
        "num_pixels", "skipped_files", the settings and "contact_sheet" (the path or None).

    Raises:
        ValueError: no images, none readable, or arguments out of range.

    Example:

    >>> import tempfile
    >>> from keras_colorful import inference, models
    >>> folder = tempfile.mkdtemp()
    >>> Image.new("RGB", (24, 16), (200, 60, 30)).save(folder + "/red.png")
    >>> colorizer = inference.Colorizer(models.build_model("tiny"), network_size=16)
    >>> report = evaluate_folder(colorizer, folder, progress=False)
    >>> report["num_pixels"], round(report["results"]["constant"]["auc"], 1)
    (384, 100.0)
    """
    if max_images is not None and max_images < 1:
        raise ValueError(f"max_images must be >= 1 or None, got {max_images}.")
    if not (isinstance(temperature, (int, float)) and temperature > 0):
        raise ValueError(f"temperature must be a number > 0, got {temperature!r}.")
    if num_sheet_images < 0:
        raise ValueError(f"num_sheet_images must be >= 0, got {num_sheet_images}.")
    files = data_files.list_image_files(os.fspath(data_dir))
    skipped: list[str] = []
    if constant_ab is None:
        ab_sum, num_pixels, readable = np.zeros(2, np.float64), 0, []
        for path, rgb in _readable_images(files, skipped, max_images, "mean ab", progress):
            ab = _lab(rgb)[..., 1:]
            ab_sum += ab.reshape(-1, 2).sum(axis=0, dtype=np.float64)
            num_pixels += ab.shape[0] * ab.shape[1]
            readable.append(path)
        if not readable:
            raise ValueError(f"None of the {len(files)} image files in {data_dir!r} is readable.")
        constant = ab_sum / num_pixels
        files, max_images = readable, None
    else:
        constant = _check_ab(constant_ab, "constant_ab")
        if constant.shape != (2,):
            raise ValueError(f"constant_ab must be (a, b), got {constant_ab!r}.")

    stats = {method: _MethodStats() for method in METHODS}
    sheet_rows = []
    num_images = num_pixels = 0
    for _, rgb in _readable_images(files, skipped, max_images, "evaluate", progress):
        lab = _lab(rgb)
        l_full, ab_true = lab[..., :1], lab[..., 1:]
        rebalance_weights = rebalanced_pixel_weights(ab_true, prior)
        predictions = {
            "model": predict_ab(colorizer, l_full, float(temperature)),
            "gray": np.zeros_like(ab_true),
            "constant": np.broadcast_to(constant.astype(np.float32), ab_true.shape),
        }
        reconstructions = {}
        for method, ab in predictions.items():
            errors = np.linalg.norm(ab.astype(np.float64) - ab_true, axis=-1)
            reconstructions[method] = processing.reconstruct_uint8(l_full, ab)
            stats[method].add(errors, rebalance_weights, reconstructions[method], rgb)
        if contact_sheet_path is not None and len(sheet_rows) < num_sheet_images:
            sheet_rows.append(_sheet_row([reconstructions["gray"], reconstructions["model"], rgb]))
        num_images += 1
        num_pixels += ab_true.shape[0] * ab_true.shape[1]
    if num_images == 0:
        raise ValueError(f"None of the {len(files)} image files in {data_dir!r} is readable.")

    sheet = None
    if sheet_rows:
        sheet = str(image_io.write_image(contact_sheet_path, _stack_rows(sheet_rows)))
    return {
        "data_dir": os.fspath(data_dir),
        "model": repr(colorizer),
        "temperature": float(temperature),
        "network_size": colorizer.network_size,
        "num_images": num_images,
        "num_pixels": num_pixels,
        "num_skipped": len(skipped),
        "skipped_files": skipped[:NUM_SKIPPED_NAMED],
        "constant_ab": [float(value) for value in constant],
        "pooling": "every metric is pooled over all pixels of all images",
        "results": {method: stats[method].summary() for method in METHODS},
        "thresholds": [float(t) for t in stats["model"].curve.thresholds],
        "curves": {
            method: {
                "fractions": stats[method].curve.fractions().tolist(),
                "rebalanced_fractions": stats[method].rebalanced_curve.fractions().tolist(),
            }
            for method in METHODS
        },
        "contact_sheet": sheet,
    }


def format_markdown(report: dict[str, Any]) -> str:
    """The report's results as a markdown table (one row per method), with a one-line summary.

    Example:

    >>> row = {"auc": 90.0, "rebalanced_auc": 60.0, "psnr": 24.0, "mean_image_psnr": 25.0}
    >>> report = {"results": {m: row for m in METHODS}, "constant_ab": [1.0, 2.0],
    ...           "num_images": 1, "num_pixels": 4, "temperature": 0.38, "network_size": None}
    >>> print(format_markdown(report).splitlines()[4])
    | model | 90.00 | 60.00 | 24.00 | 25.00 |
    """
    a, b = report["constant_ab"]
    labels = {
        "model": "model",
        "gray": "gray (ab = 0)",
        "constant": f"constant colour (a, b) = ({a:.2f}, {b:.2f})",
    }
    lines = [
        f"{report['num_images']} images, {report['num_pixels']:,} pixels (pooled), "
        f"temperature {report['temperature']:g}, network size {report['network_size']}.",
        "",
        "| method | AuC (%) | rebalanced AuC (%) | PSNR (dB) | mean per-image PSNR (dB) |",
        "|---|---:|---:|---:|---:|",
    ]
    for method in METHODS:
        row = report["results"][method]
        lines.append(
            f"| {labels[method]} | {row['auc']:.2f} | {row['rebalanced_auc']:.2f} | "
            f"{row['psnr']:.2f} | {row['mean_image_psnr']:.2f} |"
        )
    return "\n".join(lines)
