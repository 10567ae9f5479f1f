r"""Speed of the foundation ops against the references they replace; prints a markdown table.

    PYTHONPATH=. python benchmarks/bench_foundation.py [--repeats 7] [--json results.json]

Rows (median wall time of --repeats calls after --warmup calls, each call including the transfer
of the result to numpy; the implementations of one op are timed in interleaved rounds so that all
see the same background load):
- soft_encode on 40 x 44 x 44 ab pixels (a training batch's targets), uniform in the bins' box:
  ours (`bins.soft_encode` in a `tf.function`) against the release's approach (scikit-learn
  `NearestNeighbors(algorithm="ball_tree")` on the 313 centres, numpy Gaussian, dense (N, 313)
  array) and, for reference, a TensorFlow brute force (distance matrix + `top_k` over 313), and
  our sparse output (`bins.soft_encode_sparse`, no dense array).
- rgb_to_lab on an 8 x 176 x 176 x 3 float32 batch: ours (in a `tf.function`) against
  tensorflow-io's `tfio.experimental.color.rgb_to_lab` (in a `tf.function`; the row is skipped
  with a note when tensorflow-io does not import) and scikit-image's `rgb2lab` (numpy).
The ratio column is the reference's time over ours (> 1: ours is faster).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings

import numpy as np
import tensorflow as tf

from keras_colorful import bins, color


def median_seconds(functions: list, repeats: int, warmup: int) -> list[float]:
    """Median wall time of each function, timed in interleaved rounds.

    Interleaving (one call of each function per round) exposes every implementation to the same
    background load, so the ratios stay meaningful on a busy machine.
    """
    for function in functions:
        for _ in range(warmup):
            function()
    times = [[] for _ in functions]
    for _ in range(repeats):
        for function, samples in zip(functions, times, strict=True):
            start = time.perf_counter()
            function()
            samples.append(time.perf_counter() - start)
    return [statistics.median(samples) for samples in times]


def release_soft_encode(ab: np.ndarray, centers: np.ndarray, num_neighbors=10, sigma=5.0):
    """The release's soft encoding: ball tree k-NN, numpy Gaussian, dense array."""
    import sklearn.neighbors

    tree = release_soft_encode.trees.get(num_neighbors)
    if tree is None:
        tree = sklearn.neighbors.NearestNeighbors(
            n_neighbors=num_neighbors, algorithm="ball_tree"
        ).fit(centers)
        release_soft_encode.trees[num_neighbors] = tree
    flat = ab.reshape(-1, 2)
    distances, indices = tree.kneighbors(flat)
    weights = np.exp(-(distances**2) / (2 * sigma**2))
    weights /= weights.sum(axis=1, keepdims=True)
    dense = np.zeros((flat.shape[0], centers.shape[0]), np.float32)
    dense[np.arange(flat.shape[0])[:, None], indices] = weights
    return dense.reshape(ab.shape[:-1] + (centers.shape[0],))


release_soft_encode.trees = {}


def brute_force_soft_encode(ab, centers, num_neighbors=10, sigma=5.0):
    """Distances to all 313 centres (one matmul) + top_k + a dense scatter, in TensorFlow."""
    flat = tf.reshape(ab, [-1, 2])
    squared = (tf.reduce_sum(flat * flat, axis=1, keepdims=True)
               - 2.0 * tf.matmul(flat, centers, transpose_b=True)
               + tf.reduce_sum(centers * centers, axis=1)[None, :])
    negated, indices = tf.math.top_k(-squared, num_neighbors)
    weights = tf.exp((negated - negated[:, :1]) / (2 * sigma**2))
    weights /= tf.reduce_sum(weights, axis=1, keepdims=True)
    num_pixels = tf.shape(flat, out_type=tf.int64)[0]
    rows = tf.range(num_pixels, dtype=tf.int64)[:, None] * centers.shape[0]
    return tf.raw_ops.SparseToDense(
        sparse_indices=tf.reshape(tf.cast(indices, tf.int64) + rows, [-1]),
        output_shape=tf.reshape(num_pixels * centers.shape[0], [1]),
        sparse_values=tf.reshape(weights, [-1]),
        default_value=tf.constant(0.0),
        validate_indices=False,
    )


def load_tfio_rgb_to_lab():
    """tensorflow-io's rgb_to_lab, or (None, reason) when tensorflow-io does not import."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its compiled plugins do not load on TF >= 2.18
            import tensorflow_io
        return tensorflow_io.experimental.color.rgb_to_lab, None
    except Exception as error:  # noqa: BLE001 - any import failure means "skip the row"
        return None, f"tensorflow-io unavailable: {type(error).__name__}: {error}"


def run(repeats: int, warmup: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []

    def add_group(op: str, implementations: list) -> None:
        """implementations: (name, function or None, note, is_reference); the first is ours."""
        runnable = [(name, function) for name, function, _, _ in implementations if function]
        seconds = dict(zip([name for name, _ in runnable],
                           median_seconds([function for _, function in runnable], repeats, warmup),
                           strict=True))
        ours_ms = seconds[implementations[0][0]] * 1e3
        for name, _, note, is_reference in implementations:
            ms = seconds[name] * 1e3 if name in seconds else None
            ratio = ms / ours_ms if is_reference and ms is not None else None
            rows.append(dict(op=op, impl=name, ms=ms, ratio=ratio, note=note))

    # soft_encode: a training batch's targets, ab uniform in the bins' box.
    centers = bins.ab_bin_centers()
    ab_numpy = rng.uniform([-90, -110], [100, 100], size=(40, 44, 44, 2)).astype(np.float32)
    ab = tf.constant(ab_numpy)
    ours = tf.function(lambda x: bins.soft_encode(x))
    brute = tf.function(lambda x: brute_force_soft_encode(x, tf.constant(centers)))
    sparse = tf.function(lambda x: bins.soft_encode_sparse(x))
    add_group("soft_encode 40x44x44", [
        ("ours (tf.function)", lambda: ours(ab).numpy(), "", False),
        ("release: sklearn ball tree + numpy",
         lambda: release_soft_encode(ab_numpy, centers.astype(np.float64)), "", True),
        ("TF brute force (matmul distances + top_k)", lambda: brute(ab).numpy(), "", True),
        ("ours, sparse output (soft_encode_sparse)",
         lambda: [tensor.numpy() for tensor in sparse(ab)],
         "(indices, weights) [..., 10], no dense array", False),
    ])

    # rgb_to_lab on a batch.
    import skimage.color

    rgb_numpy = rng.random((8, 176, 176, 3), dtype=np.float32)
    rgb = tf.constant(rgb_numpy)
    ours_lab = tf.function(color.rgb_to_lab)
    tfio_rgb_to_lab, reason = load_tfio_rgb_to_lab()
    tfio_lab = tf.function(tfio_rgb_to_lab) if tfio_rgb_to_lab else None
    add_group("rgb_to_lab 8x176x176", [
        ("ours (tf.function)", lambda: ours_lab(rgb).numpy(), "", False),
        ("tensorflow-io (tf.function)", tfio_lab and (lambda: tfio_lab(rgb).numpy()),
         reason or "", True),
        ("scikit-image rgb2lab", lambda: skimage.color.rgb2lab(rgb_numpy), "", True),
    ])
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| op | implementation | median ms | reference / ours | note |",
             "|---|---|---:|---:|---|"]
    for row in rows:
        ms = "skipped" if row["ms"] is None else f"{row['ms']:.1f}"
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        lines.append(f"| {row['op']} | {row['impl']} | {ms} | {ratio} | {row['note']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", default=None, help="Also write the rows to this JSON file.")
    args = parser.parse_args()
    rows = run(args.repeats, args.warmup)
    devices = [device.device_type for device in tf.config.list_logical_devices()]
    print(f"TensorFlow {tf.__version__}, devices {devices}, median of {args.repeats} runs "
          f"after {args.warmup} warm-up runs\n")
    print(markdown(rows))
    if args.json:
        with open(args.json, "w") as file:
            json.dump(dict(tensorflow=tf.__version__, devices=devices, rows=rows), file, indent=2)


if __name__ == "__main__":
    main()
