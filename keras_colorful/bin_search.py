"""Exact k-nearest-bin search over the ab bin centres, on a lookup grid (the engine of `bins`).

`keras_colorful.bins` calls the three graph-function factories here (`sparse_encoder`,
`dense_encoder`, `nearest_finder`) with its centres; the rest is private to this module. The
centres come as a hashable `BinCenters` tuple, so that tables and graph functions are built once
per set of centres and number of neighbours.

The algorithm. The search is exact and uses the grid the bins live on. The ab plane is cut
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

Example:

>>> centers = tuple((a, b) for a in (-10.0, 0.0, 10.0) for b in (-10.0, 0.0, 10.0))
>>> find = nearest_finder(centers)
>>> find(tf.constant([[1.0, 2.0], [9.0, -12.0]], tf.float64)).numpy().tolist()
[4, 6]
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import tensorflow as tf

from keras_colorful import constants

# The bin centres, (a, b) pairs in the order of the network's output channels, as a tuple (hashable:
# the key of the caches below). Every coordinate must be a multiple of constants.BIN_GRID_SIZE.
BinCenters = tuple[tuple[float, float], ...]

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
def _neighbor_table(bin_centers: BinCenters, num_neighbors: int) -> _NeighborTable:
    """Builds the exact candidate lists for num_neighbors (a fraction of a second, cached)."""
    grid = int(constants.BIN_GRID_SIZE)
    centers = np.rint(np.array(bin_centers, dtype=np.float64)).astype(np.int64)
    if centers.ndim != 2 or centers.shape[1] != 2:
        raise ValueError(f"Bin centres must be (a, b) pairs, got shape {centers.shape}.")
    if len(centers) > _INDEX_MASK + 1:
        raise ValueError(f"At most {_INDEX_MASK + 1} bins, got {len(centers)}.")
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


def _nearest_bins_flat(
    ab: tf.Tensor, table: _NeighborTable, num_neighbors: int
) -> tuple[tf.Tensor, tf.Tensor]:
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
def sparse_encoder(
    bin_centers: BinCenters, num_neighbors: int
) -> tf.types.experimental.GenericFunction:
    """Graph function ab [N, 2] float64, sigma -> (indices [N, k] int32, weights [N, k] float32).

    The k nearest bins of each point, in no particular order, and their Gaussian weights
    exp(-d^2 / (2 sigma^2)) normalised to sum 1 (computed in float64 from the nearest distance
    up, so that no point gets 0 / 0).
    """
    table = _neighbor_table(bin_centers, num_neighbors)

    @tf.function(autograph=False, input_signature=[_FLAT_AB, _SCALAR])
    def encode(ab, sigma):
        squared, indices = _nearest_bins_flat(ab, table, num_neighbors)
        indices = tf.cast(tf.transpose(indices), tf.int32)
        return indices, tf.transpose(_soft_weights(squared, sigma))

    return encode


@functools.cache
def dense_encoder(
    bin_centers: BinCenters, num_neighbors: int
) -> tf.types.experimental.GenericFunction:
    """Graph function ab [N, 2] float64, sigma -> soft targets [N, num_bins] float32.

    `sparse_encoder`'s weights written into rows of one entry per bin (0 outside the k nearest).
    """
    table = _neighbor_table(bin_centers, num_neighbors)
    num_bins = len(bin_centers)

    @tf.function(autograph=False, input_signature=[_FLAT_AB, _SCALAR])
    def encode(ab, sigma):
        squared, indices = _nearest_bins_flat(ab, table, num_neighbors)
        num_pixels = tf.shape(ab, out_type=tf.int64)[0]
        # Pixel n's bin q goes to n * num_bins + q of the flat output; its k bins are distinct.
        pixels = tf.range(num_pixels, dtype=tf.int64)[None, :] * num_bins
        dense = tf.raw_ops.SparseToDense(
            sparse_indices=tf.reshape(indices + pixels, [-1]),
            output_shape=tf.reshape(num_pixels * num_bins, [1]),
            sparse_values=tf.reshape(_soft_weights(squared, sigma), [-1]),
            default_value=tf.constant(0.0, tf.float32),
            validate_indices=False,
        )
        return tf.reshape(dense, [-1, num_bins])

    return encode


@functools.cache
def nearest_finder(bin_centers: BinCenters) -> tf.types.experimental.GenericFunction:
    """Graph function ab [N, 2] float64 -> int32 [N], the index of each point's nearest bin."""
    table = _neighbor_table(bin_centers, 1)

    @tf.function(autograph=False, input_signature=[_FLAT_AB])
    def find(ab):
        return tf.cast(_nearest_bins_flat(ab, table, 1)[1][0], tf.int32)

    return find
