"""Evaluation as in the paper (Sec. 3.1, Table 1): the model and two baselines on a folder.

`evaluate_folder(colorizer, data_dir)` runs the paper's protocol on a folder of colour photos:
for every image, its full-resolution L goes in and `Colorizer.predict_ab` gives ab at the image's
own resolution (the steps of `inference.pipeline`, as `Colorizer.colorize`), compared with
the image's true ab; the RGB reconstruction (true L + predicted ab, clipped, rounded to uint8) is
compared with the photo. The metrics are `metrics`' AuC, rebalanced AuC and PSNR, every one
POOLED over all pixels of all images, as the paper's (so larger images weigh more); the mean of
per-image PSNRs is reported too. Two baselines run in the same pass: gray (ab = 0) and a constant
colour, the data set's mean ab over all pixels (measured in a first pass over the images, or
given).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import tqdm

from keras_colorful import bins, constants, image_io, metrics
from keras_colorful.data import sources
from keras_colorful.inference import full_resolution

# Height of each image in the contact sheet, and the white gap between rows.
SHEET_ROW_HEIGHT = 160
SHEET_GAP = 8
# How many unreadable files the report names.
NUM_SKIPPED_NAMED = 10
# Names of the evaluated predictions in the report, in table order.
METHODS = ("model", "gray", "constant")


@dataclasses.dataclass
class _MethodStats:
    """Pooled statistics of one method (the model or a baseline) over the images seen."""

    curve: metrics.ErrorCurve = dataclasses.field(default_factory=metrics.ErrorCurve)
    rebalanced_curve: metrics.ErrorCurve = dataclasses.field(default_factory=metrics.ErrorCurve)
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
        self.image_psnrs.append(metrics.psnr_from_mse(squared_error / difference.size))

    def merge(self, other: _MethodStats) -> None:
        """Adds the images of `other` (one image's statistics, computed once, go to several)."""
        self.curve.merge(other.curve)
        self.rebalanced_curve.merge(other.rebalanced_curve)
        self.squared_error += other.squared_error
        self.num_values += other.num_values
        self.image_psnrs.extend(other.image_psnrs)

    def summary(self) -> dict[str, float]:
        return {
            "auc": self.curve.auc(),
            "rebalanced_auc": self.rebalanced_curve.auc(),
            "psnr": metrics.psnr_from_mse(self.squared_error / self.num_values),
            "mean_image_psnr": float(np.mean(self.image_psnrs)),
        }


def _folder_of(path: str, root: str | None) -> str:
    """The top-level folder of `root` that holds `path` ("." when directly in it, or no folder)."""
    if root is None:
        return "."
    parts = os.path.relpath(path, root).split(os.sep)
    return parts[0] if len(parts) > 1 else "."


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
        "mean_image_psnr"}} for METHODS ("model", "gray", "constant"), "by_folder" {folder:
        {"num_images", "results"}} the same per top-level folder of `data_dir` ("." for the
        photos directly in it; each folder's pixels pooled), "curves" {method:
        {"fractions", "rebalanced_fractions"}} at "thresholds", "constant_ab", "num_images",
        "num_pixels", "skipped_files", the settings and "contact_sheet" (the path or None).

    Raises:
        ValueError: no images, none readable, or arguments out of range.

    Example:

    >>> import tempfile
    >>> from PIL import Image
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
    temperature = bins.check_temperature(temperature)
    if num_sheet_images < 0:
        raise ValueError(f"num_sheet_images must be >= 0, got {num_sheet_images}.")
    files = sources.list_image_files(os.fspath(data_dir))
    skipped: list[str] = []
    if constant_ab is None:
        ab_sum, num_pixels, readable = np.zeros(2, np.float64), 0, []
        for path, rgb in _readable_images(files, skipped, max_images, "mean ab", progress):
            ab = full_resolution.lab(rgb)[..., 1:]
            ab_sum += ab.reshape(-1, 2).sum(axis=0, dtype=np.float64)
            num_pixels += ab.shape[0] * ab.shape[1]
            readable.append(path)
        if not readable:
            raise ValueError(f"None of the {len(files)} image files in {data_dir!r} is readable.")
        constant = ab_sum / num_pixels
        files, max_images = readable, None
    else:
        constant = metrics.check_ab(constant_ab, "constant_ab")
        if constant.shape != (2,):
            raise ValueError(f"constant_ab must be (a, b), got {constant_ab!r}.")

    stats = {method: _MethodStats() for method in METHODS}
    folder_stats: dict[str, dict[str, _MethodStats]] = {}
    root = os.fspath(data_dir) if os.path.isdir(os.fspath(data_dir)) else None
    sheet_rows = []
    num_images = num_pixels = 0
    for path, rgb in _readable_images(files, skipped, max_images, "evaluate", progress):
        folder = _folder_of(path, root)
        in_folder = folder_stats.setdefault(folder, {method: _MethodStats() for method in METHODS})
        lab = full_resolution.lab(rgb)
        l_full, ab_true = lab[..., :1], lab[..., 1:]
        rebalance_weights = metrics.rebalanced_pixel_weights(ab_true, prior)
        predictions = {
            "model": colorizer.predict_ab(l_full, temperature),
            "gray": np.zeros_like(ab_true),
            "constant": np.broadcast_to(constant.astype(np.float32), ab_true.shape),
        }
        reconstructions = {}
        for method, ab in predictions.items():
            errors = np.linalg.norm(ab.astype(np.float64) - ab_true, axis=-1)
            reconstructions[method] = full_resolution.reconstruct_uint8(l_full, ab)
            image_stats = _MethodStats()
            image_stats.add(errors, rebalance_weights, reconstructions[method], rgb)
            stats[method].merge(image_stats)
            in_folder[method].merge(image_stats)
        if contact_sheet_path is not None and len(sheet_rows) < num_sheet_images:
            sheet_rows.append([reconstructions["gray"], reconstructions["model"], rgb])
        num_images += 1
        num_pixels += ab_true.shape[0] * ab_true.shape[1]
    if num_images == 0:
        raise ValueError(f"None of the {len(files)} image files in {data_dir!r} is readable.")

    sheet = None
    if sheet_rows:
        sheet_image = image_io.contact_sheet(sheet_rows, row_height=SHEET_ROW_HEIGHT, gap=SHEET_GAP)
        sheet = str(image_io.write_image(contact_sheet_path, sheet_image))
    return {
        "data_dir": os.fspath(data_dir),
        "model": repr(colorizer),
        "temperature": temperature,
        "network_size": colorizer.network_size,
        "num_images": num_images,
        "num_pixels": num_pixels,
        "num_skipped": len(skipped),
        "skipped_files": skipped[:NUM_SKIPPED_NAMED],
        "constant_ab": [float(value) for value in constant],
        "pooling": "every metric is pooled over all pixels of all images",
        "results": {method: stats[method].summary() for method in METHODS},
        "by_folder": {
            folder: {"num_images": len(by_method["model"].image_psnrs),
                     "results": {method: by_method[method].summary() for method in METHODS}}
            for folder, by_method in sorted(folder_stats.items())
        },
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
    folders = report.get("by_folder", {})
    if len(folders) > 1 or (folders and "." not in folders):
        lines += ["", "Per folder (pixels pooled within each folder):", "",
                  "| folder | images | method | AuC (%) | rebalanced AuC (%) | PSNR (dB) |",
                  "|---|---:|---|---:|---:|---:|"]
        for folder, entry in folders.items():
            for method in METHODS:
                row = entry["results"][method]
                lines.append(
                    f"| {folder} | {entry['num_images']} | {method} | {row['auc']:.2f} | "
                    f"{row['rebalanced_auc']:.2f} | {row['psnr']:.2f} |"
                )
    return "\n".join(lines)
