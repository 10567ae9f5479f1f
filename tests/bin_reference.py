"""Independent references for the bin tests: the packaged files read with numpy, brute force."""

import pathlib

import numpy as np

ASSETS = pathlib.Path(__file__).resolve().parents[1] / "keras_colorful" / "assets"
CENTERS64 = np.load(ASSETS / "pts_in_hull.npy").astype(np.float64)  # read independently
PRIOR = np.load(ASSETS / "prior_probs.npy")
SIGMA = 5.0


def squared_distances(ab):
    """float64 (N, 313) squared distances of float32-rounded ab to every centre."""
    flat = np.asarray(ab, np.float32).reshape(-1, 2).astype(np.float64)
    return ((flat[:, None, :] - CENTERS64[None]) ** 2).sum(-1)
