"""Input pipeline throughput: the pre-training scan and the training pipeline, in images/s.

Measures on the photos of `--data` (without it, on JPEGs it generates in a temporary folder):
the time to list the files, the `scan_images` pass (one decode of every file), and
`make_dataset` in training mode (decode, random crop, resize, flip, batch) for at most
`--seconds` or `--max_batches`.

Usage:
    PYTHONPATH=. python benchmarks/bench_pipeline.py --data photos/ --seconds 20
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile
import time

from keras_colorful import constants
from keras_colorful.data import decode, pipeline, sources

NUM_GENERATED = 200


def _generated_jpegs(directory: pathlib.Path, count: int) -> list[str]:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        pixels = rng.integers(0, 256, (8, 12, 3), dtype=np.uint8)
        image = Image.fromarray(pixels).resize((336, 224), Image.BILINEAR)
        path = directory / f"generated_{i:04d}.jpg"
        image.save(path, quality=90)
        paths.append(str(path))
    return paths


def run(
    files: list[str],
    batch_size: int,
    crop_size: int,
    seconds: float,
    max_batches: int,
    max_scan: int,
) -> None:
    """Prints the scan and pipeline throughput on `files`."""
    scanned = files[:max_scan] if max_scan else files
    start = time.perf_counter()
    report = decode.scan_images(scanned)
    scan_seconds = time.perf_counter() - start
    print(
        f"scan: {len(scanned)} files in {scan_seconds:.2f} s = "
        f"{len(scanned) / scan_seconds:.0f} images/s ({report.num_skipped} skipped)"
    )

    batches = pipeline.make_dataset(
        list(report.files), batch_size=batch_size, crop_size=crop_size, scan=False
    )
    iterator = iter(batches)
    for _ in range(3):  # warm-up: graph tracing, thread pools, autotuning
        next(iterator)
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds and (not max_batches or count < max_batches):
        next(iterator)
        count += 1
    elapsed = time.perf_counter() - start
    print(
        f"pipeline (batch {batch_size}, crop {crop_size}, training): {count} batches in "
        f"{elapsed:.2f} s = {count * batch_size / elapsed:.0f} images/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="folder or glob of images (default: generated JPEGs)")
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--crop_size", type=int, default=constants.TRAIN_CROP_SIZE)
    parser.add_argument("--seconds", type=float, default=10.0, help="pipeline timing budget")
    parser.add_argument("--max_batches", type=int, default=0, help="0: no limit")
    parser.add_argument("--max_scan", type=int, default=0, help="scan only the first N files")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temporary:
        if args.data:
            source = args.data
        else:
            print(f"No --data: generating {NUM_GENERATED} JPEGs (336x224).")
            source = temporary
            _generated_jpegs(pathlib.Path(temporary), NUM_GENERATED)
        start = time.perf_counter()
        files = sources.list_image_files(source)
        print(f"listed {len(files)} files in {time.perf_counter() - start:.2f} s from {source}")
        run(files, args.batch_size, args.crop_size, args.seconds, args.max_batches, args.max_scan)


if __name__ == "__main__":
    main()
