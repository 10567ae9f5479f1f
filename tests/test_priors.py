"""Tests of keras_colorful.priors: class weights, smoothing and histograms against numpy/scipy."""


import numpy as np
import pytest
import scipy.ndimage

from keras_colorful import bins, priors
from tests.bin_reference import CENTERS64, PRIOR, SIGMA, squared_distances


def test_class_weights_on_the_imagenet_prior():
    weights = priors.class_weights(PRIOR, 0.5)
    assert weights.shape == (313,) and weights.dtype == np.float32
    np.testing.assert_allclose(np.sum(PRIOR * weights), 1.0, rtol=1e-6)  # E_p[w] = 1
    np.testing.assert_allclose(weights.max() / weights.min(), 64.0, rtol=0.01)
    np.testing.assert_allclose([weights.min(), weights.max()], [0.0965, 6.17], rtol=2e-3)
    by_prior = weights[np.argsort(PRIOR, kind="stable")]
    assert np.all(np.diff(by_prior) <= 0)  # rarer colours weigh more
    # lambda = 1: uniform weights; lambda = 0: inverse prior, E_p[w] = 1.
    np.testing.assert_allclose(priors.class_weights(PRIOR, 1.0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(priors.class_weights(PRIOR, 0.0), 1.0 / (313 * PRIOR), rtol=1e-5)


def test_class_weights_counts_only_bins_with_mass_and_normalises():
    counts = np.zeros(313)
    counts[:4] = [10.0, 20.0, 30.0, 40.0]
    weights = priors.class_weights(counts, 0.5).astype(np.float64)
    p = counts / counts.sum()
    expected = 1.0 / (0.5 * p + 0.5 / 4)  # Q = 4 bins with p > 0
    expected /= np.sum(p * expected)
    np.testing.assert_allclose(weights, expected, rtol=1e-6)


@pytest.mark.parametrize(
    "prior, rebalance_lambda",
    [(np.ones(312), 0.5), (-np.ones(313), 0.5), (np.zeros(313), 0.5), (np.ones(313), 1.5),
     (np.full(313, np.nan), 0.5), (np.eye(313)[0], 0.0)],
)
def test_class_weights_validates(prior, rebalance_lambda):
    with pytest.raises(ValueError):
        priors.class_weights(prior, rebalance_lambda)


def test_smooth_prior_equals_a_gaussian_filter_on_the_ab_grid():
    """The release's recipe: filter the 2-D grid histogram (sigma 5 = half a cell), restrict."""
    rng = np.random.default_rng(14)
    histogram = rng.random(313) ** 4
    cells = ((CENTERS64 - CENTERS64.min(0)) / 10).astype(int) + 10  # padded: no border effect
    grid = np.zeros(cells.max(0) + 11)
    grid[cells[:, 0], cells[:, 1]] = histogram
    filtered = scipy.ndimage.gaussian_filter(grid, sigma=SIGMA / 10, mode="constant", truncate=20)
    expected = filtered[cells[:, 0], cells[:, 1]]
    expected /= expected.sum()
    smoothed = priors.smooth_prior(histogram, SIGMA)
    assert smoothed.dtype == np.float64
    np.testing.assert_allclose(smoothed, expected, rtol=1e-9)
    np.testing.assert_allclose(priors.smooth_prior(histogram, 0.0), histogram / histogram.sum())


def test_bin_histogram_and_empirical_prior_on_known_colours():
    rng = np.random.default_rng(15)
    index_a, index_b = 40, 200
    centers = bins.ab_bin_centers()
    half = rng.uniform(-4.9, 4.9, size=(2, 8, 16, 2))  # jitter within the bins' own cells
    image = np.concatenate([centers[index_a] + half[0], centers[index_b] + half[1]], axis=0)
    counts, outside = priors.bin_histogram(image.astype(np.float32))
    expected = np.zeros(313)
    expected[[index_a, index_b]] = 0.5
    np.testing.assert_array_equal(counts / counts.sum(), expected)
    assert outside == 0
    prior = priors.empirical_prior(image)
    assert set(np.argsort(prior)[-2:]) == {index_a, index_b}
    np.testing.assert_allclose(prior, priors.smooth_prior(expected), rtol=1e-12)


def test_bin_histogram_counts_out_of_gamut_pixels_at_their_nearest_bin():
    # (-90, -110) is a grid cell without a bin; (0, 0) and (5, 5) (a cell corner) are inside.
    ab = np.array([[-90.0, -110.0], [0.0, 0.0], [5.0, 5.0], [300.0, 300.0]], np.float32)
    counts, outside = priors.bin_histogram(ab)
    assert outside == 2 and counts.sum() == 4
    nearest = squared_distances(ab).argmin(1)
    np.testing.assert_array_equal(counts, np.bincount(nearest, minlength=313))


def test_empirical_prior_needs_pixels():
    with pytest.raises(ValueError):
        priors.empirical_prior(np.zeros((0, 2)))
