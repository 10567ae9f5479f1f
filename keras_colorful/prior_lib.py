"""The empirical ab prior of a folder of photos (the library behind scripts/compute_prior.py).

Streams the photos one at a time (PIL decode, optional resize, `color.rgb_to_lab`), counts ab
pixels per nearest bin with `priors.bin_histogram`, then smooths the counts with `priors.smooth_prior`
(the release's recipe: 10-unit bins, sigma-5 Gaussian). Files that cannot be decoded are skipped
and reported, never fatal.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import PIL.Image
import tqdm

from keras_colorful import color, constants, files, priors
from keras_colorful.data import sources

# How many skipped files the report names.
NUM_SKIPPED_NAMED = 10


def _read_rgb(path: str, resize: int | None) -> np.ndarray:
    """uint8 RGB [H, W, 3] of an image file (first frame), optionally resized to resize x resize."""
    with PIL.Image.open(path) as image:
        image = image.convert("RGB")
        if resize is not None:
            image = image.resize((resize, resize), PIL.Image.BILINEAR)
        return np.asarray(image, dtype=np.uint8)


def compute_prior_from_folder(
    data_dir: str | os.PathLike,
    max_images: int | None = None,
    resize: int | None = None,
    progress: bool = True,
    sigma: float = constants.PRIOR_SMOOTHING_SIGMA,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Computes the smoothed ab prior over the 313 bins of every photo in a folder tree.

    Args:
        data_dir: folder searched recursively for .jpg, .jpeg, .png, .bmp, .gif and .webp files
            (any case); a glob pattern also works (see `data.sources.list_image_files`).
        max_images: stop after this many images were counted (None: all).
        resize: resize every image to resize x resize pixels before counting, so that each
            image weighs the same (the release trained on images stored at 256 x 256); None keeps
            the original sizes.
        progress: show a tqdm progress bar.
        sigma: smoothing standard deviation in ab units (release: 5; 0: none).

    Returns:
        (prior, report): float64 (313,) probabilities summing to 1, and a JSON-ready dict with
        images_used, images_skipped, skipped_files (the first few, with the reason), pixels,
        out_of_gamut_pixels (pixels whose 10x10 ab cell is not one of the 313 bins; they count
        for their nearest bin), out_of_gamut_fraction, and the arguments.

    Raises:
        ValueError: if the folder does not exist, holds no image files, no file decodes, or an
            argument is out of range.

    Example:
        >>> import tempfile, PIL.Image
        >>> folder = tempfile.mkdtemp()
        >>> PIL.Image.new("RGB", (8, 8), (200, 30, 30)).save(f"{folder}/red.png")
        >>> prior, report = compute_prior_from_folder(folder, progress=False)
        >>> prior.shape, report["images_used"], report["pixels"]
        ((313,), 1, 64)
    """
    if max_images is not None and max_images < 1:
        raise ValueError(f"max_images must be >= 1 or None, got {max_images}.")
    if resize is not None and resize < 1:
        raise ValueError(f"resize must be >= 1 or None, got {resize}.")
    files = sources.list_image_files(os.fspath(data_dir))
    counts = np.zeros(constants.NUM_BINS, np.float64)
    num_out_of_gamut = 0
    used = 0
    skipped: list[tuple[str, str]] = []
    bar = tqdm.tqdm(files, desc="prior", unit="image", disable=not progress)
    for path in bar:
        try:
            rgb = _read_rgb(path, resize)
        except (OSError, ValueError, SyntaxError, PIL.Image.DecompressionBombError) as error:
            skipped.append((path, f"{type(error).__name__}: {error}"))
            continue
        if rgb.size == 0:
            skipped.append((path, "empty image"))
            continue
        ab = color.rgb_to_lab(rgb).numpy()[..., 1:]
        image_counts, image_out_of_gamut = priors.bin_histogram(ab)
        counts += image_counts
        num_out_of_gamut += image_out_of_gamut
        used += 1
        bar.set_postfix(skipped=len(skipped))
        if max_images is not None and used >= max_images:
            break
    bar.close()
    if used == 0:
        raise ValueError(
            f"None of the {len(files)} image files under {os.fspath(data_dir)!r} could be decoded."
        )
    pixels = int(counts.sum())
    report = {
        "data_dir": os.fspath(data_dir),
        "images_used": used,
        "images_skipped": len(skipped),
        "skipped_files": [f"{path}: {reason}" for path, reason in skipped[:NUM_SKIPPED_NAMED]],
        "pixels": pixels,
        "out_of_gamut_pixels": num_out_of_gamut,
        "out_of_gamut_fraction": num_out_of_gamut / pixels,
        "max_images": max_images,
        "resize": resize,
        "sigma": sigma,
    }
    return priors.smooth_prior(counts, sigma), report


def report_path_for(output: str | os.PathLike) -> str:
    """Where the JSON report of a prior saved at `output` goes: same name, .json."""
    return os.path.splitext(os.fspath(output))[0] + ".json"


def save_prior(prior: np.ndarray, report: dict[str, Any], output: str | os.PathLike) -> str:
    """Saves the prior as a float64 (313,) .npy and the report as JSON beside it.

    Args:
        prior: (313,) probabilities.
        report: the dict from `compute_prior_from_folder`.
        output: path of the .npy file (".npy" is appended when missing); folders are created.

    Returns:
        The path of the JSON report.

    Example:
        >>> import tempfile
        >>> from keras_colorful import bins
        >>> path = save_prior(bins.default_prior(), {"pixels": 0}, tempfile.mkdtemp() + "/p.npy")
        >>> path.endswith("p.json")
        True
    """
    output = os.fspath(output)
    if not output.endswith(".npy"):
        output += ".npy"
    prior = np.asarray(prior, dtype=np.float64)
    if prior.shape != (constants.NUM_BINS,):
        raise ValueError(f"prior must have shape (313,), got {prior.shape}.")
    with files.atomic_path(output) as partial:  # a kill leaves the old file or the new one
        np.save(partial, prior)
    report_path = report_path_for(output)
    files.write_text(report_path, json.dumps(report, indent=2))
    return report_path
