"""keras_colorful.bins (and its search engine, bin_search) against independent numpy float64 /
scipy references."""

import hashlib

import numpy as np
import pytest
import tensorflow as tf

from keras_colorful import bin_search, bins
from tests.bin_reference import ASSETS, CENTERS64, PRIOR, SIGMA, squared_distances


def reference_soft_encode(ab, num_neighbors=10, sigma=SIGMA):
    """Brute force in float64: dense targets and, per row, the gap after the k-th distance."""
    distances = squared_distances(ab)
    order = np.argsort(distances, axis=1, kind="stable")
    nearest = order[:, :num_neighbors]
    chosen = np.take_along_axis(distances, nearest, 1)
    weights = np.exp(-(chosen - chosen[:, :1]) / (2 * sigma**2))  # shifted: no 0 / 0 far out
    weights /= weights.sum(1, keepdims=True)
    dense = np.zeros_like(distances)
    np.put_along_axis(dense, nearest, weights, 1)
    sorted_distances = np.take_along_axis(distances, order, 1)
    gap = sorted_distances[:, num_neighbors] - sorted_distances[:, num_neighbors - 1]
    return dense, gap


def random_ab(rng, count):
    """In the bins' box, around it, and far away."""
    return np.concatenate([
        rng.uniform([-90, -110], [100, 100], size=(count, 2)),
        rng.uniform(-150, 150, size=(count, 2)),
        rng.uniform(-2000, 2000, size=(count // 10, 2)),
        [[200, -200], [1e5, 3], [-1e6, -1e6], [0.0, 1e7]],
    ]).astype(np.float32)


def test_centers_and_prior_are_the_packaged_files():
    centers = bins.ab_bin_centers()
    assert centers.shape == (313, 2) and centers.dtype == np.float32
    np.testing.assert_array_equal(centers, CENTERS64)
    assert not centers.flags.writeable
    prior = bins.default_prior()
    assert prior.dtype == np.float64 and prior.shape == (313,)
    np.testing.assert_array_equal(prior, PRIOR)
    assert bins.ab_bin_centers() is centers  # cached


def test_asset_checksum_mismatch_is_a_clear_error():
    digest = hashlib.sha256((ASSETS / "pts_in_hull.npy").read_bytes()).hexdigest()
    assert digest == bins._CENTERS_SHA256
    with pytest.raises(RuntimeError, match="sha256"):
        bins._load_asset("pts_in_hull.npy", "0" * 64)


@pytest.mark.parametrize("num_neighbors", [10, 5, 1])
def test_soft_encode_matches_brute_force_float64(num_neighbors):
    ab = random_ab(np.random.default_rng(num_neighbors), 3000)
    expected, gap = reference_soft_encode(ab, num_neighbors)
    targets = bins.soft_encode(ab, num_neighbors=num_neighbors).numpy()
    assert targets.shape == (len(ab), 313) and targets.dtype == np.float32
    np.testing.assert_allclose(targets.sum(1), 1.0, atol=1e-6)
    # The sorted weights never depend on how ties are broken.
    np.testing.assert_allclose(np.sort(targets, 1)[:, -num_neighbors:],
                               np.sort(expected, 1)[:, -num_neighbors:], atol=1e-5)
    # Where the k-th and (k+1)-th distances differ clearly, the bins are the same too.
    clear = gap > 1e-2 * np.maximum(1.0, squared_distances(ab).min(1) ** 0.5)
    assert clear.mean() > 0.99
    np.testing.assert_allclose(targets[clear], expected[clear], atol=1e-5)


def test_soft_encode_support_is_the_k_nearest_set_even_with_ties():
    """Points on cell edges and corners (exact ties): k non-zeros at the k smallest distances."""
    rng = np.random.default_rng(11)
    grid = rng.integers(-20, 21, size=(2000, 2)) * 5.0  # multiples of 5: centres, edges, corners
    ab = np.concatenate([grid, random_ab(rng, 500)]).astype(np.float32)
    distances = squared_distances(ab)
    for num_neighbors in (10, 5):
        indices, weights = bins.soft_encode_sparse(ab, num_neighbors)
        indices = indices.numpy()
        assert all(len(set(row)) == num_neighbors for row in indices)
        chosen = np.take_along_axis(distances, indices, 1)
        np.testing.assert_allclose(np.sort(chosen, 1), np.sort(distances, 1)[:, :num_neighbors],
                                   rtol=1e-9)
        dense = bins.soft_encode(ab, num_neighbors).numpy()
        in_gamut = np.abs(ab).max(1) <= 100
        assert np.all(np.count_nonzero(dense[in_gamut], axis=1) == num_neighbors)
        np.testing.assert_allclose(np.take_along_axis(dense, indices, 1), weights.numpy())


def test_bin_centres_peak_at_their_own_bin():
    centers = bins.ab_bin_centers()
    for num_neighbors in (10, 5):
        targets = bins.soft_encode(centers, num_neighbors).numpy()
        np.testing.assert_array_equal(targets.argmax(1), np.arange(313))
        np.testing.assert_array_equal(np.count_nonzero(targets, axis=1), num_neighbors)
    # A centre's 4 neighbours at distance 10 get exp(-100 / 50) of its weight.
    targets = bins.soft_encode(centers[150:151], 5).numpy()[0]
    np.testing.assert_allclose(np.sort(targets)[-5:] / targets.max(), [np.exp(-2)] * 4 + [1],
                               rtol=1e-6)


def test_soft_encode_shapes_tf_function_and_xla():
    rng = np.random.default_rng(12)
    ab = rng.uniform(-100, 100, size=(2, 5, 6, 2)).astype(np.float32)
    ab[0, 0, 0] = [400.0, -300.0]  # one far point sends the batch through the wide lists
    expected = bins.soft_encode(ab.reshape(-1, 2)).numpy().reshape(2, 5, 6, 313)

    traced = tf.function(bins.soft_encode,
                         input_signature=[tf.TensorSpec([None, None, None, 2], tf.float32)])
    concrete = traced.get_concrete_function()
    assert concrete.structured_outputs.shape.as_list() == [None, None, None, 313]
    np.testing.assert_allclose(traced(ab).numpy(), expected, atol=1e-7)
    compiled = tf.function(lambda x: bins.soft_encode(x), jit_compile=True)
    np.testing.assert_allclose(compiled(ab).numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(compiled(ab[1:]).numpy(), expected[1:], atol=1e-6)
    assert bins.soft_encode(np.zeros(2, np.float64)).shape == (313,)
    assert bins.soft_encode(tf.zeros([0, 3, 2])).shape == (0, 3, 313)


def test_nearest_bin_is_exact():
    ab = random_ab(np.random.default_rng(13), 3000)
    indices = bins.nearest_bin(ab).numpy()
    distances = squared_distances(ab)
    np.testing.assert_allclose(distances[np.arange(len(ab)), indices], distances.min(1), rtol=1e-12)
    assert bins.nearest_bin(np.zeros((2, 3, 2), np.float32)).shape == (2, 3)


def test_search_engine_is_exact_on_other_centres():
    """bin_search takes any centres on the 10-unit grid: a ring of 40 bins, k = 1, 3 and 7."""
    rng = np.random.default_rng(20)
    grid = np.stack(np.meshgrid(np.arange(-60, 70, 10), np.arange(-60, 70, 10)), -1).reshape(-1, 2)
    centers = grid[np.abs(np.hypot(*grid.T) - 45) < 12].astype(np.float64)
    key = tuple(map(tuple, centers.tolist()))
    ab = np.concatenate([rng.uniform(-80, 80, (2000, 2)), rng.uniform(-500, 500, (100, 2))])
    distances = ((ab[:, None, :] - centers[None]) ** 2).sum(-1)
    nearest = bin_search.nearest_finder(key)(tf.constant(ab)).numpy()
    np.testing.assert_allclose(distances[np.arange(len(ab)), nearest], distances.min(1))
    for num_neighbors in (1, 3, 7):
        indices, weights = bin_search.sparse_encoder(key, num_neighbors)(tf.constant(ab), SIGMA)
        chosen = np.take_along_axis(distances, indices.numpy(), 1)
        np.testing.assert_allclose(np.sort(chosen, 1),
                                   np.sort(distances, 1)[:, :num_neighbors], rtol=1e-12)
        np.testing.assert_allclose(weights.numpy().sum(1), 1.0, atol=1e-6)
        dense = bin_search.dense_encoder(key, num_neighbors)(tf.constant(ab), SIGMA).numpy()
        assert dense.shape == (len(ab), len(centers))
        np.testing.assert_allclose(np.take_along_axis(dense, indices.numpy(), 1), weights.numpy())
    with pytest.raises(RuntimeError, match="grid"):
        bin_search.nearest_finder(((0.0, 0.0), (5.0, 0.0)))


@pytest.mark.parametrize(
    "kwargs", [{"num_neighbors": 0}, {"num_neighbors": 314}, {"sigma": 0.0}, {"sigma": -1.0}]
)
def test_soft_encode_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        bins.soft_encode(np.zeros((1, 2), np.float32), **kwargs)


def test_soft_encode_rejects_bad_input():
    with pytest.raises(ValueError):
        bins.soft_encode(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError):
        bins.soft_encode(np.zeros((4, 2), np.int32))


def numpy_annealed_mean(logits, temperature):
    scaled = logits.astype(np.float64) / temperature
    scaled -= scaled.max(-1, keepdims=True)
    probabilities = np.exp(scaled)
    probabilities /= probabilities.sum(-1, keepdims=True)
    return probabilities @ CENTERS64


@pytest.mark.parametrize("temperature", [1.0, 0.38])
def test_annealed_mean_matches_numpy(temperature):
    logits = np.random.default_rng(16).normal(0, 3, size=(2, 3, 4, 313)).astype(np.float32)
    ab = bins.annealed_mean(logits, temperature)
    assert ab.shape == (2, 3, 4, 2) and ab.dtype == tf.float32
    np.testing.assert_allclose(ab.numpy(), numpy_annealed_mean(logits, temperature), atol=1e-3)


def test_annealed_mean_at_small_temperature_is_the_mode_without_nan():
    rng = np.random.default_rng(17)
    logits = rng.normal(0, 3, size=(64, 313)).astype(np.float32)
    top = np.sort(logits, -1)
    logits = logits[top[:, -1] - top[:, -2] > 0.2]  # a clear maximum
    mode = bins.mode(logits).numpy()
    np.testing.assert_array_equal(mode, CENTERS64[logits.argmax(-1)])
    for scale in (1.0, 100.0):
        ab = bins.annealed_mean(logits * scale, 0.01).numpy()
        assert np.all(np.isfinite(ab))
        np.testing.assert_allclose(ab, mode, atol=1e-3)
    # The mean moves towards the mode as T decreases.
    errors = [np.abs(bins.annealed_mean(logits, t).numpy() - mode).mean() for t in (1, 0.38, 0.1)]
    assert errors[0] > errors[1] > errors[2]


def test_annealed_mean_temperature_tensor_and_half_precision_logits():
    logits = np.random.default_rng(18).normal(size=(5, 313)).astype(np.float32)
    expected = numpy_annealed_mean(logits, 0.38)
    np.testing.assert_allclose(bins.annealed_mean(logits, tf.constant(0.38)).numpy(), expected,
                               atol=1e-3)
    variable = tf.Variable(0.38)
    traced = tf.function(lambda x: bins.annealed_mean(x, variable))
    np.testing.assert_allclose(traced(logits).numpy(), expected, atol=1e-3)
    variable.assign(1.0)
    np.testing.assert_allclose(traced(logits).numpy(), numpy_annealed_mean(logits, 1.0), atol=1e-3)
    half = bins.annealed_mean(tf.cast(logits, tf.float16), 0.38)
    assert half.dtype == tf.float32
    np.testing.assert_allclose(half.numpy(), expected, atol=0.1)


@pytest.mark.parametrize("temperature", [0.0, -0.38, float("nan"), float("inf"), np.float32(0)])
def test_annealed_mean_rejects_non_positive_temperature(temperature):
    with pytest.raises(ValueError):
        bins.annealed_mean(np.zeros((1, 313), np.float32), temperature)


@pytest.mark.parametrize("temperature, expected", [
    (0.38, 0.38), (1, 1.0), (np.float32(0.5), 0.5), (np.float64(2.0), 2.0), (1e-6, 1e-6),
])
def test_check_temperature_accepts_positive_finite_numbers(temperature, expected):
    checked = bins.check_temperature(temperature)
    assert type(checked) is float and checked == expected


@pytest.mark.parametrize("temperature, error, shown", [
    (0.0, ValueError, "0.0"), (-1, ValueError, "-1"), (float("nan"), ValueError, "nan"),
    (float("inf"), ValueError, "inf"), (True, TypeError, "True"), ("0.5", TypeError, "'0.5'"),
    (None, TypeError, "None"), (tf.constant(0.5), TypeError, "0.5"), (1j, TypeError, "1j"),
])
def test_check_temperature_rejects_with_a_clear_message(temperature, error, shown):
    with pytest.raises(error, match="^temperature must be") as raised:
        bins.check_temperature(temperature)
    assert shown in str(raised.value)


def test_gray_mask_follows_the_release_inequality():
    rng = np.random.default_rng(19)
    ab = rng.uniform(-5, 5, size=(6, 4, 4, 2)).astype(np.float32)
    ab[1, 2, 3, 0] = 5.0  # on the threshold: still gray
    ab[2, 0, 0, 1] = -5.01
    ab[3, 3, 1, 0] = 60.0
    ab[4] *= 0.0
    release_non_gray = np.sum(np.abs(ab) > 5.0, axis=(1, 2, 3)) > 0  # NonGrayMaskLayer
    np.testing.assert_array_equal(bins.is_gray(ab).numpy(), ~release_non_gray)
    np.testing.assert_array_equal(bins.non_gray_mask(ab).numpy(),
                                  release_non_gray.astype(np.float32))
    assert bins.is_gray(ab).numpy().tolist() == [True, True, False, False, True, True]
    np.testing.assert_array_equal(bins.is_gray(ab, threshold=0.0).numpy(),
                                  [False, False, False, False, True, False])
