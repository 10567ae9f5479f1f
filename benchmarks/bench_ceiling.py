"""The machine's ceiling: float32 matmul GFLOP/s, and the networks' FLOPs counted from their shapes.

    python benchmarks/bench_ceiling.py [--size 2048] [--repeats 5]

- `matmul_table`: GFLOP/s of one n x n float32 matrix product (2 n^3 FLOPs) in TensorFlow
  (`tf.linalg.matmul`), numpy and PyTorch, each in its own worker process, timed in interleaved
  rounds. The best of them is the practical ceiling the benchmark tables compare against.
- `forward_flops`: multiply-adds x 2 of every conv of a preset at a given size, from the layer
  shapes: 2 k^2 c_in c_out H_out W_out per conv, 2 k^2 c_in c_out H_in W_in for the transposed
  conv (BatchNorm, ReLU and biases are left out: < 1%). A training step costs about 3x the
  forward pass (the backward pass computes the gradients of the inputs and of the weights).

Example:

>>> round(forward_flops("eccv16", 256, 256) / 1e9, 1)  # GFLOPs per 256 x 256 image
83.5
"""

from __future__ import annotations

import argparse
import json
import math

from keras_colorful import constants, presets

try:
    from benchmarks import common
except ImportError:  # run as a script from benchmarks/
    import common

MODULE = "benchmarks.bench_ceiling"
TRAINING_FLOPS_FACTOR = 3.0
_STRIDE2_BLOCKS = (1, 2, 3)


def forward_flops(preset: str, height: int, width: int) -> int:
    """FLOPs (2 x multiply-adds) of the convs of one image's forward pass.

    Args:
        preset: a `keras_colorful.presets.PRESETS` name.
        height: input height (a multiple of 8).
        width: input width (a multiple of 8).

    Returns:
        The count, an int.
    """
    if preset not in presets.PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; choose from {sorted(presets.PRESETS)}.")
    config = presets.PRESETS[preset]
    widths, depths = config["block_widths"], config["block_depths"]
    total, channels, h, w = 0, 1, height, width
    for block in range(1, 8):
        for i in range(depths[block - 1]):
            if block in _STRIDE2_BLOCKS and i == depths[block - 1] - 1:
                h, w = math.ceil(h / 2), math.ceil(w / 2)
            total += 2 * 9 * channels * widths[block - 1] * h * w
            channels = widths[block - 1]
    total += 2 * 16 * channels * widths[7] * h * w  # transposed conv k4 s2: per input pixel
    channels, h, w = widths[7], 2 * h, 2 * w
    total += (depths[7] - 1) * 2 * 9 * channels * channels * h * w
    total += 2 * channels * constants.NUM_BINS * h * w  # the 1x1 logits conv
    return total


def gflops_per_s(flops: float, seconds: float) -> float:
    """FLOPs over seconds, in GFLOP/s."""
    return flops / seconds / 1e9


# --- matmul workers --------------------------------------------------------------------------


def make_handler(spec: dict):
    """Worker handler of one matmul implementation: spec {"path": "tf"|"numpy"|"torch", "n"}."""
    n = int(spec["n"])
    path = spec["path"]
    if path == "tf":
        import tensorflow as tf

        a = tf.random.uniform((n, n))
        b = tf.random.uniform((n, n))

        def call():
            return tf.linalg.matmul(a, b).numpy()

    elif path == "numpy":
        import numpy as np

        rng = np.random.default_rng(0)
        a = rng.random((n, n), dtype=np.float32)
        b = rng.random((n, n), dtype=np.float32)

        def call():
            return a @ b

    elif path == "torch":
        import torch

        a = torch.rand((n, n))
        b = torch.rand((n, n))

        def call():
            return torch.mm(a, b)

    else:
        raise ValueError(f"Unknown matmul path {path!r}.")

    def handler(command: dict) -> dict:
        if command["op"] == "setup":
            for _ in range(int(command.get("warmup", 1))):
                call()
            return {}
        if command["op"] == "run":
            return {"seconds": common.timed(call)}
        raise ValueError(f"Unknown command {command}.")

    return handler


MATMUL_PATHS = (("tf", "TensorFlow tf.linalg.matmul"), ("numpy", "numpy @"), ("torch", "PyTorch mm"))


def matmul_table(n: int, repeats: int, start_worker) -> tuple[common.Table, dict]:
    """Interleaved matmul timings; returns the table and {path: GFLOP/s}.

    Args:
        n: matrix side.
        repeats: timed products per implementation.
        start_worker: (module, spec) -> a `common.Worker` or `common.LocalWorker`.
    """
    workers = [start_worker(MODULE, {"path": path, "n": n}) for path, _ in MATMUL_PATHS]
    try:
        common.broadcast(workers, {"op": "setup", "warmup": 2})
        samples = common.interleaved(workers, {"op": "run"}, repeats)
    finally:
        for worker in workers:
            worker.close()
    table = common.Table(
        f"Ceiling: float32 matmul {n} x {n}",
        ["implementation", "ms (median)", "GFLOP/s (median)", "GFLOP/s (best)"],
    )
    results = {}
    for (path, label), times in zip(MATMUL_PATHS, samples, strict=True):
        stats = common.summarize(times)
        flops = 2 * n**3
        results[path] = gflops_per_s(flops, stats["median_s"])
        table.rows.append(
            [label, 1e3 * stats["median_s"], results[path], gflops_per_s(flops, stats["min_s"])]
        )
    return table, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.worker:
        common.serve(make_handler(json.loads(args.worker)))
        return
    table, _ = matmul_table(
        args.size, args.repeats, common.Worker
    )
    print(table.markdown())
    for preset in ("eccv16", "small"):
        print(f"{preset}: {forward_flops(preset, 256, 256) / 1e9:.1f} GFLOPs per 256x256 forward")


if __name__ == "__main__":
    main()
