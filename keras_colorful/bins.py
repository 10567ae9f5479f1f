"""The 313 quantised ab bins: centres, soft encoding, priors, class weights and decoding.

The bins are the in-gamut cells of a 10-unit grid over ab (paper Sec. 2.1); their centres ship as
package data (`assets/pts_in_hull.npy`, the release's file, sha256-checked on load) and their order
is the order of the network's 313 output channels.

Nearest-bin search (`soft_encode`, `nearest_bin`) is exact and uses the grid. The ab plane is cut
into a lookup grid of 5 x 5 cells (plus unbounded cells all around it), and every cell carries the
few bins that can be among the k nearest of SOME point of the cell (at most 17 of 313 for k = 10).
A bin r is left out of a cell's list when at least k other bins are at least as close as r to
every point of the cell, which holds when it holds at the cell's corners (distance comparisons
are linear in the point) and, for an unbounded cell, along its unbounded directions. Then the k
smallest distances among the listed bins equal the k smallest among all 313 (a left-out bin's
dominators include k listed ones: follow dominators until a bin whose dominators are all listed;
dominance is transitive). Likewise the first few bins of a list are those closer than all but
k - 1 others everywhere on the cell: they are in, and only the rest is searched. The lists are
computed once per k (a fraction of a second), exactly, in integer arithmetic on cells widened by
0.001, by splitting the plane recursively and checking each half only against its parent's list.
A query looks up its cell and compares a dozen distances instead of 313 (see
`_nearest_bins_flat`); batches with points outside the bounded grid (never the case for Lab from
sRGB) search the unbounded cells' longer lists with `tf.math.top_k`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.resources
import io

import numpy as np
import tensorflow as tf

from keras_colorful import constants

_CENTERS_FILE = "pts_in_hull.npy"
_CENTERS_SHA256 = "b5dec01315c34f43f1c8c089e84c45ae35d1838d8e77ed0e7ca930f79ffa450e"
_PRIOR_FILE = "prior_probs.npy"
_PRIOR_SHA256 = "19d00659c7d6f6ee47456fd2c19c86a073f7124875e3d5ab9d601864e062b56c"

# Side of a nearest-bin lookup cell in ab units (a quarter of a bin cell: at most 17 candidates
# per cell for 10 neighbours, against 21 with 10-unit cells).
_LOOKUP_CELL = 5
# The bounded lookup grid covers the bins' own cells plus this margin, in ab units; points further
# out fall into unbounded cells with longer candidate lists (at most 66 for 10 neighbours).
_LOOKUP_MARGIN = 20
# Sorting-network keys carry the bin index (< 512) in their lowest 9 bits.
_INDEX_MASK = 511
# Larger sorting networks (k above ~100) give way to `tf.math.top_k`.
_MAX_COMPARATORS = 512
# Coordinate of the padding candidates: far enough never to be chosen, near enough that squared
# distances stay finite (inf would turn into NaN keys in the sorting network).
_PADDING = 1e150
# Candidate lists are computed in integer units of 1 / _EXACT_SCALE ab, on cells widened by one
# unit, so that float rounding of a query's cell index never matters.
_EXACT_SCALE = 1000


def _load_asset(name: str, sha256: str) -> np.ndarray:
    """Reads a package .npy file after checking its sha256; the result is read-only."""
    resource = importlib.resources.files("keras_colorful") / "assets" / name
    data = resource.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise RuntimeError(
            f"Package data file {resource} is corrupted or replaced: sha256 {digest}, expected "
            f"{sha256}. Reinstall keras-colorful."
        )
    array = np.load(io.BytesIO(data), allow_pickle=False)
    array.flags.writeable = False
    return array


@functools.cache
def ab_bin_centers() -> np.ndarray:
    """The 313 ab bin centres, in the order of the network's output channels.

    Returns:
        A read-only float32 array (313, 2) of (a, b), in the row order of the release's
        pts_in_hull.npy (sorted by a, then b); every value is a multiple of 10.

    Raises:
        RuntimeError: if the packaged file does not have its published sha256.

    Example:
        >>> centers = ab_bin_centers()
        >>> centers.shape, centers.dtype.name, centers[0].tolist()
        ((313, 2), 'float32', [-90.0, 50.0])
    """
    centers = _load_asset(_CENTERS_FILE, _CENTERS_SHA256).astype(np.float32)
    if centers.shape != (constants.NUM_BINS, 2):
        raise RuntimeError(f"{_CENTERS_FILE} has shape {centers.shape}, expected (313, 2).")
    centers.flags.writeable = False
    return centers


@functools.cache
def default_prior() -> np.ndarray:
    """The release's empirical ImageNet prior over the 313 bins, already smoothed (sigma 5).

    Returns:
        A read-only float64 array (313,), all entries > 0, summing to 1 (to 1e-15).

    Raises:
        RuntimeError: if the packaged file does not have its published sha256.

    Example:
        >>> prior = default_prior()
        >>> prior.shape, round(float(prior.max()), 4)
        ((313,), 0.2012)
    """
    prior = _load_asset(_PRIOR_FILE, _PRIOR_SHA256)
    if prior.shape != (constants.NUM_BINS,):
        raise RuntimeError(f"{_PRIOR_FILE} has shape {prior.shape}, expected (313,).")
    return prior


# ----------------------------------------------------------------------------------------------
# Exact nearest-bin search on the grid.


@dataclasses.dataclass(frozen=True)
class _NeighborTable:
    """Candidate bins per lookup cell, for one number of neighbours.

    Cell (row, col) has index row * num_cols + col. Rows 1..num_rows-2 cover
    [a_origin + (row - 1) * cell, a_origin + row * cell]; row 0 and the last row are unbounded
    (a below a_origin, a above the grid); likewise columns in b.
    """

    a_origin: float
    b_origin: float
    cell: float
    num_rows: int
    num_cols: int
    # (cells, width): candidates' a, b (float64, _PADDING where padded), bin indices (0 there).
    candidate_a: np.ndarray
    candidate_b: np.ndarray
    candidate_index: np.ndarray
    # Longest candidate list of a bounded cell: the search width when all queries are inside.
    bounded_width: int
    # The first num_fixed candidates of every bounded cell are among the k nearest of every point
    # of the cell: a search within bounded cells only chooses the other k - num_fixed.
    num_fixed: int


def _dominance(points: np.ndarray, bounds, strict: bool) -> np.ndarray:
    """[q, r]: bin q is at least as close as bin r (strict: closer) at every point of a region.

    Distance comparisons are linear in the point: |p - q|^2 <= |p - r|^2 iff g_p(q) >= g_p(r)
    with g_p(c) = 2 p.c - |c|^2. So they hold on a region when they hold at its corners and do
    not get worse along its unbounded directions. An axis without finite bounds is a whole line:
    any coordinate (0) serves as its corner.

    Args:
        points: (n, 2) int64 bin centres in exact units.
        bounds: (a_low, a_high, b_low, b_high) in exact units, None where unbounded; the region
            is widened by one exact unit on every finite side.
        strict: compare with > instead of >=.

    Returns:
        (n, n) bool, False on the diagonal.
    """
    a_low, a_high, b_low, b_high = bounds

    def corners(low, high) -> list[int]:
        found = [low - 1] if low is not None else []
        found += [high + 1] if high is not None else []
        return found or [0]

    compare = np.greater if strict else np.greater_equal
    squared_norms = (points * points).sum(axis=1)
    result = ~np.eye(len(points), dtype=bool)
    for corner_a in corners(a_low, a_high):
        for corner_b in corners(b_low, b_high):
            g = 2 * (points[:, 0] * corner_a + points[:, 1] * corner_b) - squared_norms
            result &= compare(g[:, None], g[None, :])
    for axis, low, high in ((0, a_low, a_high), (1, b_low, b_high)):
        coordinate = points[:, axis]
        if low is None:  # towards -inf on this axis, the smaller coordinate gets closer
            result &= coordinate[:, None] <= coordinate[None, :]
        if high is None:
            result &= coordinate[:, None] >= coordinate[None, :]
    return result


def _survivors(centers: np.ndarray, candidates: np.ndarray, bounds, num_neighbors: int):
    """The candidates that fewer than num_neighbors others dominate on a region (in order)."""
    dominated_by = _dominance(centers[candidates], bounds, strict=False).sum(axis=0)
    return candidates[dominated_by < num_neighbors]


def _always_nearest(centers: np.ndarray, candidates: np.ndarray, bounds, num_neighbors: int):
    """Mask of the candidates in EVERY k-nearest set of every point of a region.

    True for r when fewer than k other candidates can ever be as close as r, i.e. r is strictly
    closer than all candidates but at most k - 1 of them, everywhere on the region.
    """
    strictly_closer = _dominance(centers[candidates], bounds, strict=True)
    return (~strictly_closer).sum(axis=1) - 1 <= num_neighbors - 1


@functools.cache
def _neighbor_table(num_neighbors: int) -> _NeighborTable:
    """Builds the exact candidate lists for num_neighbors (a fraction of a second, cached)."""
    grid = int(constants.BIN_GRID_SIZE)
    centers = np.rint(ab_bin_centers().astype(np.float64)).astype(np.int64)
    if np.any(centers % grid):
        raise RuntimeError("Bin centres are not on the 10-unit grid.")
    low = centers.min(axis=0) - grid // 2 - _LOOKUP_MARGIN
    high = centers.max(axis=0) + grid // 2 + _LOOKUP_MARGIN
    num_bounded = -(-(high - low) // _LOOKUP_CELL)  # cells per axis, rounded up
    num_rows, num_cols = (int(n) + 2 for n in num_bounded)
    exact = centers * _EXACT_SCALE

    def line(axis: int, index: int) -> int:
        return int(low[axis] + index * _LOOKUP_CELL) * _EXACT_SCALE

    def axis_bounds(axis: int, first: int, stop: int, count: int):
        """Exact bounds of lookup rows (or columns) first..stop-1."""
        lower = None if first == 0 else line(axis, first - 1)
        upper = None if stop == count else line(axis, stop - 1)
        return lower, upper

    lists: dict[tuple[int, int], np.ndarray] = {}
    fixed_counts: list[int] = []

    def refine(rows: tuple[int, int], cols: tuple[int, int], candidates: np.ndarray) -> None:
        bounds = (*axis_bounds(0, *rows, num_rows), *axis_bounds(1, *cols, num_cols))
        candidates = _survivors(exact, candidates, bounds, num_neighbors)
        row_span, col_span = rows[1] - rows[0], cols[1] - cols[0]
        if row_span == 1 and col_span == 1:
            if 0 < rows[0] < num_rows - 1 and 0 < cols[0] < num_cols - 1:  # bounded cell
                always = _always_nearest(exact, candidates, bounds, num_neighbors)
                candidates = np.concatenate([candidates[always], candidates[~always]])
                fixed_counts.append(int(always.sum()))
            lists[rows[0], cols[0]] = candidates
        elif row_span >= col_span:
            middle = rows[0] + row_span // 2
            refine((rows[0], middle), cols, candidates)
            refine((middle, rows[1]), cols, candidates)
        else:
            middle = cols[0] + col_span // 2
            refine(rows, (cols[0], middle), candidates)
            refine(rows, (middle, cols[1]), candidates)

    refine((0, num_rows), (0, num_cols), np.arange(len(centers)))
    width = max(len(found) for found in lists.values())
    bounded_width = max(
        len(found)
        for (row, col), found in lists.items()
        if 0 < row < num_rows - 1 and 0 < col < num_cols - 1
    )
    candidate_a = np.full((num_rows * num_cols, width), _PADDING)
    candidate_b = np.full((num_rows * num_cols, width), _PADDING)
    candidate_index = np.zeros((num_rows * num_cols, width), np.int32)
    for (row, col), found in lists.items():
        cell = row * num_cols + col
        candidate_a[cell, : len(found)] = centers[found, 0]
        candidate_b[cell, : len(found)] = centers[found, 1]
        candidate_index[cell, : len(found)] = found
    return _NeighborTable(
        a_origin=float(low[0]),
        b_origin=float(low[1]),
        cell=float(_LOOKUP_CELL),
        num_rows=num_rows,
        num_cols=num_cols,
        candidate_a=candidate_a,
        candidate_b=candidate_b,
        candidate_index=candidate_index,
        bounded_width=bounded_width,
        num_fixed=min(fixed_counts),
    )


def _lookup_index(values: tf.Tensor, origin: float, cell: float, count: int) -> tf.Tensor:
    """Lookup row (or column) of each value: 0 below the grid, count - 1 above it."""
    # Clip before the cast: a float far outside int32 must not wrap around.
    position = tf.clip_by_value((values - origin) * (1.0 / cell), -1.0, count - 2.0)
    return tf.cast(tf.floor(position), tf.int32) + 1


@functools.cache
def _selection_network(width: int, count: int) -> tuple[tuple[int, int], ...]:
    """Compare-exchange pairs (i, j), i < j, that move the `count` smallest of `width` values,
    sorted, to positions 0..count-1: Batcher's odd-even merge sort for the next power of two,
    without the comparators that touch the (+inf) padding or cannot reach an output."""
    size = 1 << max(width - 1, 0).bit_length()
    pairs = []
    merged = 1
    while merged < size:
        step = merged
        while step >= 1:
            for start in range(step % merged, size - step, 2 * step):
                for offset in range(min(step, size - start - step)):
                    low, high = start + offset, start + offset + step
                    if low // (2 * merged) == high // (2 * merged) and high < width:
                        pairs.append((low, high))
            step //= 2
        merged *= 2
    needed, kept = set(range(count)), []
    for low, high in reversed(pairs):
        if low in needed or high in needed:
            kept.append((low, high))
            needed.update((low, high))
    return tuple(reversed(kept))


def _select_lanes(lanes: list[tf.Tensor], count: int) -> list[tf.Tensor]:
    """The `count` smallest of the lanes, element-wise: a sorting network of minima and maxima."""
    if count >= len(lanes):
        return list(lanes)
    lanes = list(lanes)
    for low, high in _selection_network(len(lanes), count):
        lanes[low], lanes[high] = (
            tf.minimum(lanes[low], lanes[high]),
            tf.maximum(lanes[low], lanes[high]),
        )
    return lanes[:count]


def _nearest_bins_flat(ab: tf.Tensor, num_neighbors: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Exact k nearest bins of ab [N, 2] float64: squared distances, int64 bin indices; [k, N].

    The k neighbours of a point come in no particular order. Distances are float64, so that the
    Gaussian weights of points far outside the gamut (squared distances of 1e4 and more) keep
    float32 accuracy.

    When every point lies in a bounded lookup cell (the usual case) the selection is a sorting
    network over the candidate "lanes" (one [N] vector per list position), on float64 keys that
    pack (squared distance + 1, bin index) in one number: the index replaces the lowest 9 of the
    52 mantissa bits (ordering by distance to 2^-43 relative, then by index); + 1 keeps keys away
    from subnormal numbers, which CPUs running TensorFlow flush to zero. Each comparator is then
    one minimum and one maximum of N numbers, several times faster on CPU than `tf.math.top_k`,
    whose per-row overhead dominates for rows this short, and the first `num_fixed` lanes, sure
    to be among the k nearest, skip the network. Otherwise `tf.math.top_k` runs on the exact
    distances over the long lists.
    """
    table = _neighbor_table(num_neighbors)
    a, b = ab[:, 0], ab[:, 1]
    rows = _lookup_index(a, table.a_origin, table.cell, table.num_rows)
    cols = _lookup_index(b, table.b_origin, table.cell, table.num_cols)
    cells = rows * table.num_cols + cols
    all_inside = tf.reduce_all(
        (rows > 0) & (rows < table.num_rows - 1) & (cols > 0) & (cols < table.num_cols - 1)
    )

    def candidate_distances(width: int) -> tf.Tensor:
        candidate_a = tf.gather(tf.constant(table.candidate_a[:, :width]), cells)
        candidate_b = tf.gather(tf.constant(table.candidate_b[:, :width]), cells)
        delta_a = a[:, None] - candidate_a
        delta_b = b[:, None] - candidate_b
        return delta_a * delta_a + delta_b * delta_b  # [N, width]; ~1e300 where padded

    def search_bounded() -> tuple[tf.Tensor, tf.Tensor]:
        width = table.bounded_width
        squared = candidate_distances(width)
        index = tf.gather(tf.constant(table.candidate_index[:, :width].astype(np.int64)), cells)
        bits = tf.bitcast(squared + 1.0, tf.int64)
        keys = tf.bitcast(tf.bitwise.bitwise_or(tf.bitwise.bitwise_and(bits, ~_INDEX_MASK), index),
                          tf.float64)
        lanes = tf.unstack(tf.transpose(keys), axis=0)
        chosen = lanes[:num_fixed] + _select_lanes(lanes[num_fixed:], num_neighbors - num_fixed)
        bits = tf.bitcast(tf.stack(chosen, axis=0), tf.int64)
        indices = tf.bitwise.bitwise_and(bits, _INDEX_MASK)
        squared = tf.bitcast(tf.bitwise.bitwise_and(bits, ~_INDEX_MASK), tf.float64) - 1.0
        return squared, indices

    def search_wide() -> tuple[tf.Tensor, tf.Tensor]:
        width = table.candidate_a.shape[1]
        negated, position = tf.math.top_k(-candidate_distances(width), k=num_neighbors)
        flat_index = tf.constant(np.reshape(table.candidate_index, [-1]).astype(np.int64))
        indices = tf.gather(flat_index, cells[:, None] * width + position)
        return tf.transpose(-negated), tf.transpose(indices)

    num_fixed = min(table.num_fixed, num_neighbors)
    network = _selection_network(table.bounded_width - num_fixed, num_neighbors - num_fixed)
    if len(network) > _MAX_COMPARATORS:  # only for large k: all lists are long
        return search_wide()
    return tf.cond(all_inside, search_bounded, search_wide)


def _soft_weights(squared: tf.Tensor, sigma: tf.Tensor) -> tf.Tensor:
    """float32 Gaussian weights [k, N] from squared distances [k, N], normalised over k."""
    # Shift by the nearest distance: the same weights after normalisation, and no 0 / 0 for
    # points far from every bin.
    nearest = tf.reduce_min(squared, axis=0, keepdims=True)
    weights = tf.exp((nearest - squared) * (0.5 / (sigma * sigma)))
    return tf.cast(weights / tf.reduce_sum(weights, axis=0, keepdims=True), tf.float32)


_FLAT_AB = tf.TensorSpec([None, 2], tf.float64)
_SCALAR = tf.TensorSpec([], tf.float64)


@functools.cache
def _sparse_encoder(num_neighbors: int) -> tf.types.experimental.GenericFunction:
    """Graph function ab [N, 2], sigma -> (indices [N, k] int32, weights [N, k] float32)."""

    @tf.function(autograph=False, input_signature=[_FLAT_AB, _SCALAR])
    def encode(ab, sigma):
        squared, indices = _nearest_bins_flat(ab, num_neighbors)
        indices = tf.cast(tf.transpose(indices), tf.int32)
        return indices, tf.transpose(_soft_weights(squared, sigma))

    return encode


@functools.cache
def _dense_encoder(num_neighbors: int) -> tf.types.experimental.GenericFunction:
    """Graph function ab [N, 2], sigma -> soft targets [N, 313] float32."""

    @tf.function(autograph=False, input_signature=[_FLAT_AB, _SCALAR])
    def encode(ab, sigma):
        squared, indices = _nearest_bins_flat(ab, num_neighbors)
        num_pixels = tf.shape(ab, out_type=tf.int64)[0]
        # Pixel n's bin q goes to n * 313 + q of the flat output; a pixel's k bins are distinct.
        pixels = tf.range(num_pixels, dtype=tf.int64)[None, :] * constants.NUM_BINS
        dense = tf.raw_ops.SparseToDense(
            sparse_indices=tf.reshape(indices + pixels, [-1]),
            output_shape=tf.reshape(num_pixels * constants.NUM_BINS, [1]),
            sparse_values=tf.reshape(_soft_weights(squared, sigma), [-1]),
            default_value=tf.constant(0.0, tf.float32),
            validate_indices=False,
        )
        return tf.reshape(dense, [-1, constants.NUM_BINS])

    return encode


def _check_neighbors_and_sigma(num_neighbors: int, sigma: float) -> None:
    if not 1 <= num_neighbors <= constants.NUM_BINS:
        raise ValueError(f"num_neighbors must be in [1, 313], got {num_neighbors}.")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}.")


def _ab_tensor(ab) -> tf.Tensor:
    ab = tf.convert_to_tensor(ab)
    if ab.shape.rank == 0 or ab.shape[-1] not in (2, None):
        raise ValueError(f"ab must have shape [..., 2], got {ab.shape}.")
    if not ab.dtype.is_floating:
        raise ValueError(f"ab must be a float tensor, got dtype {ab.dtype.name}.")
    return tf.cast(ab, tf.float64)


def soft_encode_sparse(
    ab,
    num_neighbors: int = constants.SOFT_ENCODE_NEIGHBORS,
    sigma: float = constants.SOFT_ENCODE_SIGMA,
) -> tuple[tf.Tensor, tf.Tensor]:
    """The soft-encoding targets in sparse form: the k nearest bins and their weights.

    Same numbers as `soft_encode` without the dense [..., 313] array, e.g. for a cross-entropy
    computed with `tf.gather` on the log-probabilities.

    Args:
        ab: float tensor or array [..., 2] (any batch dimensions, may be unknown).
        num_neighbors: k, the number of nearest bins that share the weight (1..313).
        sigma: standard deviation of the Gaussian kernel, ab units.

    Returns:
        (indices, weights): int32 [..., k] bin indices, in no particular order (ties at the k-th
        distance: one of the tied bins), and float32 [..., k] weights summing to 1.

    Raises:
        ValueError: for a last dimension other than 2, non-float ab, or invalid k or sigma.

    Example:
        >>> indices, weights = soft_encode_sparse([[0.0, 0.0]], num_neighbors=5)
        >>> nearest = int(tf.argmax(weights[0]))
        >>> int(indices[0, nearest]), round(float(weights[0, nearest]), 3)  # bin 120 is (0, 0)
        (120, 0.649)
    """
    num_neighbors = int(num_neighbors)
    _check_neighbors_and_sigma(num_neighbors, float(sigma))
    ab = _ab_tensor(ab)
    batch_shape = tf.shape(ab)[:-1]
    indices, weights = _sparse_encoder(num_neighbors)(tf.reshape(ab, [-1, 2]), float(sigma))
    out_shape = tf.concat([batch_shape, [num_neighbors]], axis=0)
    static_shape = ab.shape[:-1].concatenate([num_neighbors])
    indices = tf.ensure_shape(tf.reshape(indices, out_shape), static_shape)
    weights = tf.ensure_shape(tf.reshape(weights, out_shape), static_shape)
    return indices, weights


def soft_encode(
    ab,
    num_neighbors: int = constants.SOFT_ENCODE_NEIGHBORS,
    sigma: float = constants.SOFT_ENCODE_SIGMA,
) -> tf.Tensor:
    """Soft-encodes ab values over the 313 bins (paper Sec. 2.1).

    Each ab value spreads its mass over its num_neighbors nearest bin centres with weights
    exp(-d^2 / (2 sigma^2)) normalised to sum 1; every other bin gets 0. Exact for any finite ab,
    in gamut or not (for points far from every bin the farther weights may underflow to 0, where
    the release's formula gave 0 / 0). Memory: the [..., 313] output plus [..., ~20] temporaries.
    Works eagerly, in `tf.function` (dynamic batch dimensions, static last dimension), under XLA
    and on a GPU.

    Args:
        ab: float tensor or array [..., 2] (distances are computed in float64).
        num_neighbors: k (release: 10; the paper's text says 5).
        sigma: Gaussian kernel standard deviation in ab units (paper: 5).

    Returns:
        float32 [..., 313] soft targets, rows summing to 1.

    Raises:
        ValueError: for a last dimension other than 2, non-float ab, or invalid k or sigma.

    Example:
        >>> targets = soft_encode([[[0.0, 0.0]]])
        >>> targets.shape, int(tf.math.count_nonzero(targets)), int(tf.argmax(targets[0, 0]))
        (TensorShape([1, 1, 313]), 10, 120)
    """
    num_neighbors = int(num_neighbors)
    _check_neighbors_and_sigma(num_neighbors, float(sigma))
    ab = _ab_tensor(ab)
    dense = _dense_encoder(num_neighbors)(tf.reshape(ab, [-1, 2]), float(sigma))
    out_shape = tf.concat([tf.shape(ab)[:-1], [constants.NUM_BINS]], axis=0)
    return tf.ensure_shape(
        tf.reshape(dense, out_shape), ab.shape[:-1].concatenate([constants.NUM_BINS])
    )


@functools.cache
def _nearest_finder() -> tf.types.experimental.GenericFunction:
    @tf.function(autograph=False, input_signature=[_FLAT_AB])
    def find(ab):
        return tf.cast(_nearest_bins_flat(ab, 1)[1][0], tf.int32)

    return find


def nearest_bin(ab) -> tf.Tensor:
    """Index of the nearest bin centre of each ab value (exact, any finite ab).

    Args:
        ab: float tensor or array [..., 2].

    Returns:
        int32 [...] bin indices (ties: one of the tied bins).

    Raises:
        ValueError: for a last dimension other than 2 or non-float ab.

    Example:
        >>> nearest_bin([[1.0, 2.0], [300.0, -300.0]]).numpy().tolist()  # (0, 0), (90, -110)
        [120, 284]
    """
    ab = _ab_tensor(ab)
    indices = _nearest_finder()(tf.reshape(ab, [-1, 2]))
    return tf.ensure_shape(tf.reshape(indices, tf.shape(ab)[:-1]), ab.shape[:-1])


# ----------------------------------------------------------------------------------------------
# Priors and class rebalancing (numpy: computed once, outside the training graph).


def _check_histogram(histogram, name: str) -> np.ndarray:
    histogram = np.asarray(histogram, dtype=np.float64)
    if histogram.shape != (constants.NUM_BINS,):
        raise ValueError(f"{name} must have shape (313,), got {histogram.shape}.")
    if not np.all(np.isfinite(histogram)) or np.any(histogram < 0):
        raise ValueError(f"{name} must be finite and non-negative.")
    total = histogram.sum()
    if not total > 0:
        raise ValueError(f"{name} must have a positive sum.")
    return histogram / total


def class_weights(prior, rebalance_lambda: float = constants.REBALANCE_LAMBDA) -> np.ndarray:
    """Class-rebalancing weights (paper Eq. 4): w = ((1 - lambda) p + lambda / Q)^-1, E_p[w] = 1.

    Q is the number of bins with p > 0 (313 for the ImageNet prior); p is normalised to sum 1.

    Args:
        prior: (313,) non-negative bin probabilities (or counts).
        rebalance_lambda: mixing weight of the uniform distribution, in [0, 1] (paper: 0.5).

    Returns:
        float32 (313,) weights with sum_q p_q w_q = 1.

    Raises:
        ValueError: for a wrongly shaped, negative, non-finite or all-zero prior, lambda outside
            [0, 1], or lambda = 0 with a zero prior entry (its weight would be infinite).

    Example:
        >>> weights = class_weights(default_prior())
        >>> round(float(weights.max() / weights.min()), 1)
        64.0
    """
    p = _check_histogram(prior, "prior")
    if not 0.0 <= rebalance_lambda <= 1.0:
        raise ValueError(f"rebalance_lambda must be in [0, 1], got {rebalance_lambda}.")
    mixture = (1.0 - rebalance_lambda) * p + rebalance_lambda / np.count_nonzero(p)
    if np.any(mixture == 0):
        raise ValueError("rebalance_lambda = 0 needs a prior without zero entries.")
    weights = 1.0 / mixture
    weights /= np.sum(p * weights)
    return weights.astype(np.float32)


def smooth_prior(histogram, sigma: float = constants.PRIOR_SMOOTHING_SIGMA) -> np.ndarray:
    """Smooths a histogram over the 313 bins with a Gaussian in ab space, normalised to sum 1.

    Computed exactly on the bins: s_q = sum_r h_r exp(-|c_q - c_r|^2 / (2 sigma^2)), then s is
    divided by its sum. This equals the release's recipe (a Gaussian filter over the 2-D ab grid
    of 10-unit cells, out-of-gamut cells holding 0, then restricted to the 313 bins and
    renormalised) without the filter's truncation and border effects.

    Args:
        histogram: (313,) non-negative counts or probabilities.
        sigma: standard deviation in ab units (release: 5); 0 only normalises.

    Returns:
        float64 (313,) probabilities summing to 1.

    Raises:
        ValueError: for a wrongly shaped, negative, non-finite or all-zero histogram or a
            negative sigma.

    Example:
        >>> spike = np.zeros(313); spike[120] = 1.0
        >>> smoothed = smooth_prior(spike)
        >>> int(smoothed.argmax()), round(float(smoothed[120]), 3)
        (120, 0.619)
    """
    p = _check_histogram(histogram, "histogram")
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}.")
    if sigma == 0:
        return p
    centers = ab_bin_centers().astype(np.float64)
    squared = ((centers[:, None, :] - centers[None, :, :]) ** 2).sum(axis=-1)
    smoothed = np.exp(-squared / (2.0 * sigma**2)) @ p
    return smoothed / smoothed.sum()


def bin_histogram(ab_pixels, chunk_size: int = 1 << 20) -> tuple[np.ndarray, int]:
    """Counts ab pixels per nearest bin; also counts those outside the 313 bins' cells.

    A pixel is out of gamut when its nearest bin centre is more than half a grid cell (5) away in
    a or in b, i.e. its own 10x10 cell is not one of the 313; it still counts for its nearest bin.

    Args:
        ab_pixels: float array or tensor [..., 2].
        chunk_size: pixels per nearest-bin call (bounds the memory).

    Returns:
        (counts, num_out_of_gamut): float64 (313,) counts and an int.

    Example:
        >>> counts, outside = bin_histogram(np.array([[0.0, 0.0], [1.0, 2.0], [100.0, -110.0]]))
        >>> float(counts[120]), float(counts.sum()), outside
        (2.0, 3.0, 1)
    """
    flat = np.asarray(ab_pixels, dtype=np.float32).reshape(-1, 2)
    centers = ab_bin_centers()
    counts = np.zeros(constants.NUM_BINS, np.float64)
    num_out_of_gamut = 0
    for start in range(0, len(flat), chunk_size):
        chunk = flat[start : start + chunk_size]
        indices = nearest_bin(chunk).numpy()
        counts += np.bincount(indices, minlength=constants.NUM_BINS)
        offsets = np.abs(chunk - centers[indices])
        num_out_of_gamut += int(np.count_nonzero(offsets.max(axis=1) > constants.BIN_GRID_SIZE / 2))
    return counts, num_out_of_gamut


def empirical_prior(ab_pixels, sigma: float = constants.PRIOR_SMOOTHING_SIGMA) -> np.ndarray:
    """The smoothed empirical distribution of ab pixels over the 313 bins (paper Sec. 2.1).

    Each pixel counts for its nearest bin (also when outside the 313 bins' cells), then the
    histogram goes through `smooth_prior`.

    Args:
        ab_pixels: float array or tensor [..., 2] with at least one pixel.
        sigma: smoothing standard deviation in ab units (0: none).

    Returns:
        float64 (313,) probabilities summing to 1.

    Raises:
        ValueError: if there are no pixels.

    Example:
        >>> prior = empirical_prior(np.zeros((4, 4, 2)), sigma=0.0)
        >>> int(prior.argmax()), float(prior.max())
        (120, 1.0)
    """
    counts, _ = bin_histogram(ab_pixels)
    if counts.sum() == 0:
        raise ValueError("empirical_prior needs at least one pixel.")
    return smooth_prior(counts, sigma)


# ----------------------------------------------------------------------------------------------
# Decoding logits to ab, and the gray mask.


def annealed_mean(logits, temperature=constants.ANNEALED_MEAN_TEMPERATURE) -> tf.Tensor:
    """Annealed-mean decoding (paper Eq. 5): ab = sum_q softmax(logits / T)_q * centre_q.

    T = 1 is the mean, T -> 0 the mode; stable down to T = 0.01 and below (the softmax subtracts
    the maximum). Computed in float32 whatever the logits' dtype (float16 / bfloat16 from mixed
    precision included); the result is float32.

    Args:
        logits: tensor [..., 313].
        temperature: T > 0, a Python number or a scalar tensor (a tensor is not range-checked).

    Returns:
        float32 [..., 2] ab.

    Raises:
        ValueError: for a last dimension other than 313, or a Python temperature <= 0.

    Example:
        >>> logits = tf.one_hot([120], 313) * 10.0  # bin 120 is (0, 0)
        >>> annealed_mean(logits, 0.01).numpy().round(3).tolist()
        [[0.0, 0.0]]
    """
    logits = _logits_tensor(logits)
    if isinstance(temperature, (int, float)) and not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}.")
    temperature = tf.cast(temperature, tf.float32)
    probabilities = tf.nn.softmax(logits / temperature, axis=-1)
    flat = tf.reshape(probabilities, [-1, constants.NUM_BINS])
    ab = tf.matmul(flat, tf.constant(ab_bin_centers()))
    out_shape = tf.concat([tf.shape(logits)[:-1], [2]], axis=0)
    return tf.ensure_shape(tf.reshape(ab, out_shape), logits.shape[:-1].concatenate([2]))


def mode(logits) -> tf.Tensor:
    """The centre of the most probable bin (the annealed mean's T -> 0 limit).

    Args:
        logits: tensor [..., 313].

    Returns:
        float32 [..., 2] ab.

    Example:
        >>> mode(tf.one_hot([0, 120], 313)).numpy().tolist()
        [[-90.0, 50.0], [0.0, 0.0]]
    """
    logits = _logits_tensor(logits)
    best = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return tf.gather(tf.constant(ab_bin_centers()), best)


def _logits_tensor(logits) -> tf.Tensor:
    logits = tf.convert_to_tensor(logits)
    if logits.shape.rank == 0 or logits.shape[-1] not in (constants.NUM_BINS, None):
        raise ValueError(f"logits must have shape [..., 313], got {logits.shape}.")
    return tf.cast(logits, tf.float32)


def is_gray(ab, threshold: float = constants.GRAY_THRESHOLD) -> tf.Tensor:
    """Whether each image is gray: no |a| or |b| above the threshold (release's NonGrayMask).

    The release's layer marked an image non-gray iff any |value| > 5 over its (subsampled) ab;
    so gray means max |a|, |b| <= threshold.

    Args:
        ab: float tensor [N, ...(e.g. H, W), 2].
        threshold: gray threshold in ab units (release: 5).

    Returns:
        bool [N].

    Example:
        >>> is_gray(tf.constant([[[[5.0, -5.0]]], [[[0.0, 5.5]]]])).numpy().tolist()
        [True, False]
    """
    ab = tf.convert_to_tensor(ab)
    if ab.shape.rank is not None and ab.shape.rank < 2:
        raise ValueError(f"ab must have shape [N, ..., 2], got {ab.shape}.")
    largest = tf.reduce_max(tf.abs(ab), axis=tf.range(1, tf.rank(ab)))
    return largest <= tf.cast(threshold, largest.dtype)


def non_gray_mask(ab, threshold: float = constants.GRAY_THRESHOLD) -> tf.Tensor:
    """1.0 for images with colour, 0.0 for gray ones (see `is_gray`): the loss's image weight.

    Args:
        ab: float tensor [N, ..., 2].
        threshold: gray threshold in ab units (release: 5).

    Returns:
        float32 [N].

    Example:
        >>> non_gray_mask(tf.constant([[[[1.0, 2.0]]], [[[10.0, 0.0]]]])).numpy().tolist()
        [0.0, 1.0]
    """
    return tf.cast(tf.logical_not(is_gray(ab, threshold)), tf.float32)
