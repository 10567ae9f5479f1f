"""TFRecord shards of photos: written once from a folder, read by the training pipeline.

A folder of a million JPEGs is slow to list and to read over a network file system or a bucket,
and cannot be split between workers by file without listing it on every worker. Shards can: the
pipeline lists N files, gives each worker its own (`AutoShardPolicy.FILE`) and reads several at
once (`interleave`). Each record is one `tf.train.Example`:

- `image/encoded`: the file's bytes exactly as on disk (no re-encoding: a record decodes to the
  very pixels its file decodes to);
- `image/height`, `image/width`: int64, from the decode done while writing;
- `image/filename`: the path relative to the source folder.

Files that do not decode are left out and listed (with the reason) in the manifest,
`PREFIX.manifest.json`, which also names the shards with their image counts and sizes. Shards are
`PREFIX-00000-of-00008.tfrecord`, ...; PREFIX may be a `gs://` path (`tf.io.gfile`). Files are
shuffled (seeded) before they are split into shards, so that every shard is a sample of the whole
set rather than a few class folders.

Example:
    >>> import tempfile, numpy as np
    >>> from PIL import Image
    >>> folder, out = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> for i in range(3):
    ...     Image.fromarray(np.full((40, 60, 3), 80 * i, np.uint8)).save(f"{folder}/{i}.png")
    >>> manifest = write_tfrecords(folder, f"{out}/train", num_shards=2, progress=False)
    >>> manifest.num_images, len(manifest.shards)
    (3, 2)
    >>> is_tfrecord_source(f"{out}/train-*.tfrecord")
    True
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterable

import numpy as np
import tensorflow as tf

from keras_colorful import data_files

ENCODED = "image/encoded"
HEIGHT = "image/height"
WIDTH = "image/width"
FILENAME = "image/filename"

FEATURES = {
    ENCODED: tf.io.FixedLenFeature([], tf.string),
    HEIGHT: tf.io.FixedLenFeature([], tf.int64),
    WIDTH: tf.io.FixedLenFeature([], tf.int64),
    FILENAME: tf.io.FixedLenFeature([], tf.string, default_value=""),
}

SHARD_SUFFIX = ".tfrecord"
MANIFEST_SUFFIX = ".manifest.json"

# Records held by the training shuffle that follows the interleaved reads (~100 MB of JPEGs).
DEFAULT_SHUFFLE_BUFFER = 1024
# Shards read at once.
DEFAULT_CYCLE_LENGTH = 16

# "x.tfrecord", "x.tfrecords", "x.tfrecord-00001-of-00008", "x-00001-of-00008.tfrecord", globs.
_TFRECORD_NAME = re.compile(r"\.tfrecords?($|-)")


def shard_path(prefix: str, index: int, num_shards: int) -> str:
    """`PREFIX-00003-of-00008.tfrecord`."""
    return f"{prefix}-{index:05d}-of-{num_shards:05d}{SHARD_SUFFIX}"


def manifest_path(prefix: str) -> str:
    """`PREFIX.manifest.json`."""
    return prefix + MANIFEST_SUFFIX


def _sources(source) -> list[str]:
    if isinstance(source, (str, os.PathLike)):
        return [os.fspath(source)]
    return [os.fspath(one) for one in source]


def is_tfrecord_source(source) -> bool:
    """True when `source` (a path, a glob, or a list of them) names TFRecord files.

    A name counts as TFRecord when its last component contains `.tfrecord` or `.tfrecords`
    followed by the end of the name or a dash (`train-*.tfrecord`, `train.tfrecord-*-of-*`).

    Example:
        >>> is_tfrecord_source("gs://bucket/train.tfrecord-*-of-01024")
        True
        >>> is_tfrecord_source("photos/")
        False
    """
    if source is None:
        return False
    try:
        names = _sources(source)
    except TypeError:
        return False
    return bool(names) and all(
        _TFRECORD_NAME.search(os.path.basename(name.rstrip("/"))) for name in names
    )


def shard_files(files: list[str], shard: tuple[int, int] | None) -> list[str]:
    """`files[index::num_shards]` for `shard=(num_shards, index)`; all files for None.

    Raises:
        ValueError: if `shard` is out of range or there are fewer files than shards (a worker
            would get none).

    Example:
        >>> shard_files(["a", "b", "c"], (2, 1))
        ['b']
    """
    if shard is None:
        return list(files)
    num_shards, index = shard
    if num_shards < 1 or not 0 <= index < num_shards:
        raise ValueError(f"shard must be (num_shards >= 1, 0 <= index < num_shards), got {shard}.")
    if len(files) < num_shards:
        raise ValueError(
            f"{len(files)} files cannot be split between {num_shards} workers (for TFRecords, "
            "write at least as many shards as there are workers, ideally 10x more)."
        )
    return list(files[index::num_shards])


def list_tfrecord_files(source: str | os.PathLike | Iterable[str | os.PathLike]) -> list[str]:
    """The sorted TFRecord files a path, glob or list of them names (local or `gs://`).

    Raises:
        ValueError: if nothing matches.
    """
    files = set()
    for pattern in _sources(source):
        matches = tf.io.gfile.glob(pattern)
        if not matches:
            raise ValueError(f"No TFRecord files match {pattern!r}.")
        files.update(matches)
    return sorted(files)


@dataclasses.dataclass(frozen=True)
class Shard:
    """One written shard: its path, how many images it holds, its size in bytes."""

    path: str
    num_images: int
    num_bytes: int


@dataclasses.dataclass(frozen=True)
class Manifest:
    """What `write_tfrecords` wrote (also saved as `PREFIX.manifest.json`).

    Attributes:
        source: the folder (or glob) the photos came from.
        shards: the shards in order.
        image_bytes: total size of the encoded images stored.
        skipped: (path, reason) of every file that could not be decoded.
        seed: the seed of the file shuffle before sharding (None: sorted order).
    """

    source: str
    shards: tuple[Shard, ...]
    image_bytes: int
    skipped: tuple[tuple[str, str], ...]
    seed: int | None

    @property
    def num_images(self) -> int:
        return sum(shard.num_images for shard in self.shards)

    @property
    def num_bytes(self) -> int:
        """Total size of the shard files."""
        return sum(shard.num_bytes for shard in self.shards)

    @property
    def num_files(self) -> int:
        """Image files found in the source, written or skipped."""
        return self.num_images + len(self.skipped)

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "num_files": self.num_files,
            "num_images": self.num_images,
            "num_skipped": len(self.skipped),
            "num_bytes": self.num_bytes,
            "image_bytes": self.image_bytes,
            "seed": self.seed,
            "shards": [dataclasses.asdict(shard) for shard in self.shards],
            "skipped": [{"path": path, "reason": reason} for path, reason in self.skipped],
            "features": sorted(FEATURES),
        }

    @classmethod
    def from_dict(cls, values: dict) -> Manifest:
        return cls(
            source=values["source"],
            shards=tuple(Shard(**shard) for shard in values["shards"]),
            image_bytes=int(values["image_bytes"]),
            skipped=tuple((item["path"], item["reason"]) for item in values["skipped"]),
            seed=values["seed"],
        )


def read_manifest(path: str) -> Manifest:
    """Loads a `PREFIX.manifest.json`."""
    with tf.io.gfile.GFile(path, "r") as f:
        return Manifest.from_dict(json.load(f))


def _example(contents: bytes, height: int, width: int, filename: str) -> bytes:
    def bytes_feature(value: bytes) -> tf.train.Feature:
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    def int_feature(value: int) -> tf.train.Feature:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))

    features = {
        ENCODED: bytes_feature(contents),
        HEIGHT: int_feature(height),
        WIDTH: int_feature(width),
        FILENAME: bytes_feature(filename.encode("utf-8")),
    }
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def write_tfrecords(
    source: str | os.PathLike | Iterable[str | os.PathLike],
    output_prefix: str,
    *,
    num_shards: int,
    seed: int | None = 0,
    progress: bool = True,
    num_parallel_calls: int = tf.data.AUTOTUNE,
) -> Manifest:
    """Converts a folder (or glob, or list) of photos into `num_shards` TFRecord shards.

    The files are first scanned with the training pipeline's decoder (`data_files.scan_images`):
    those that fail are skipped and listed with the reason. The others are read (and decoded once
    more, for their size) in parallel and written, a contiguous block of the shuffled list per
    shard, so shards differ by at most one image. The manifest is written last, so its presence
    means the shards are complete.

    Args:
        source: as for `data_files.list_image_files` (a local folder, glob, file or list).
        output_prefix: shards go to `PREFIX-00000-of-0000N.tfrecord`; a local or `gs://` path.
        num_shards: how many shards (use at least as many as training workers, ideally 10x or
            more; ~100-200 MB per shard reads well).
        seed: shuffles the files before they are split into shards; None keeps sorted order.
        progress: show a tqdm progress bar.
        num_parallel_calls: read-and-decode parallelism.

    Returns:
        The `Manifest` (also written to `PREFIX.manifest.json`).

    Raises:
        ValueError: if `num_shards` < 1 or the source holds no decodable image files.
    """
    import tqdm

    if int(num_shards) != num_shards or num_shards < 1:
        raise ValueError(f"num_shards must be a positive integer, got {num_shards!r}.")
    report = data_files.scan_images(
        data_files.list_image_files(source), num_parallel_calls=num_parallel_calls
    )
    files = list(report.files)
    if not files:
        raise ValueError(f"None of the image files in {source!r} could be decoded.")
    if seed is not None:
        files = [files[i] for i in np.random.default_rng(seed).permutation(len(files))]
    sources = _sources(source)
    root = sources[0] if len(sources) == 1 and os.path.isdir(sources[0]) else None

    def load(index, path):
        contents = tf.io.read_file(path)
        shape = tf.shape(data_files.decode_rgb(contents))
        return index, contents, shape[0], shape[1]

    records = tf.data.Dataset.from_tensor_slices((np.arange(len(files)), files))
    records = records.map(load, num_parallel_calls=num_parallel_calls, deterministic=True)
    records = records.ignore_errors().prefetch(tf.data.AUTOTUNE)

    directory = os.path.dirname(output_prefix)
    if directory:
        tf.io.gfile.makedirs(directory)
    paths = [shard_path(output_prefix, i, num_shards) for i in range(num_shards)]
    counts = [0] * num_shards
    written = np.zeros(len(files), dtype=bool)
    image_bytes = 0
    writer, current = None, -1

    def advance_to(shard: int):
        nonlocal writer, current
        while current < shard:
            if writer is not None:
                writer.close()
            current += 1
            writer = tf.io.TFRecordWriter(paths[current])

    bar = tqdm.tqdm(total=len(files), unit="img", desc="Writing TFRecords", disable=not progress)
    done = 0
    try:
        for index, contents, height, width in records.as_numpy_iterator():
            shard = index * num_shards // len(files)  # contiguous, balanced blocks
            advance_to(shard)
            name = os.path.relpath(files[index], root) if root else files[index]
            writer.write(_example(contents, height, width, name))
            counts[shard] += 1
            written[index] = True
            image_bytes += len(contents)
            bar.update(int(index) + 1 - done)
            done = int(index) + 1
        advance_to(num_shards - 1)  # shards past the last image exist, empty
        bar.update(len(files) - done)
    finally:
        if writer is not None:
            writer.close()
        bar.close()

    # Decoded in the scan but not when written (e.g. removed meanwhile): skipped as well.
    late = [(path, "could not be read while writing the shards")
            for path, ok in zip(files, written, strict=True) if not ok]
    skipped = tuple(sorted(report.skipped + tuple(late)))
    manifest = Manifest(
        source=", ".join(sources),
        shards=tuple(
            Shard(path=path, num_images=count, num_bytes=int(tf.io.gfile.stat(path).length))
            for path, count in zip(paths, counts, strict=True)
        ),
        image_bytes=image_bytes,
        skipped=skipped,
        seed=seed,
    )
    with tf.io.gfile.GFile(manifest_path(output_prefix), "w") as f:
        json.dump(manifest.to_dict(), f, indent=2)
    return manifest


def parse_example(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """One serialized record to {"image/encoded", "image/height", "image/width",
    "image/filename"}."""
    return tf.io.parse_single_example(serialized, FEATURES)


def read_examples(source) -> tf.data.Dataset:
    """Every record of the shards, parsed (see `parse_example`), shard after shard, in order."""
    files = list_tfrecord_files(source)
    return tf.data.TFRecordDataset(files).map(parse_example)


def encoded_images(
    source,
    *,
    training: bool = False,
    shuffle_buffer: int | None = None,
    seed: int | None = None,
    repeat: bool = False,
    cycle_length: int | None = None,
    num_parallel_calls: int = tf.data.AUTOTUNE,
    shard: tuple[int, int] | None = None,
) -> tf.data.Dataset:
    """The encoded image bytes of the shards, read `cycle_length` shards at a time.

    Workers of a multi-worker job pass `shard=(num_workers, worker_index)` and each reads only
    its own shard files (sharding by file, like `AutoShardPolicy.FILE`, done here because that
    rewrite cannot see through the `enumerate` and `ignore_errors` of the training pipeline).

    Args:
        source: TFRecord path, glob, or list of them.
        training: shuffle the shard order (every epoch) and the records (`shuffle_buffer`).
        shuffle_buffer: records in the shuffle buffer (default `DEFAULT_SHUFFLE_BUFFER`).
        seed: seeds both shuffles; use the same seed on every worker.
        repeat: cycle through the shards forever.
        cycle_length: shards read at once (default min(shards, `DEFAULT_CYCLE_LENGTH`)).
        num_parallel_calls: parallel reads of the interleave and of the parse.
        shard: (num_shards, index): keep the files index, index + num_shards, ... of the sorted
            list, before any shuffle.

    Returns:
        A `tf.data.Dataset` of scalar string tensors (JPEG/PNG/... bytes).

    Raises:
        ValueError: if nothing matches, or there are fewer files than `num_shards`.
    """
    files = shard_files(list_tfrecord_files(source), shard)
    dataset = tf.data.Dataset.from_tensor_slices(files)
    if training:
        dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.interleave(
        tf.data.TFRecordDataset,
        cycle_length=cycle_length or min(len(files), DEFAULT_CYCLE_LENGTH),
        block_length=1,
        num_parallel_calls=num_parallel_calls,
    )
    if training:
        dataset = dataset.shuffle(shuffle_buffer or DEFAULT_SHUFFLE_BUFFER, seed=seed)
    return dataset.map(
        lambda serialized: tf.io.parse_single_example(serialized, {ENCODED: FEATURES[ENCODED]})[
            ENCODED
        ],
        num_parallel_calls=num_parallel_calls,
    )
