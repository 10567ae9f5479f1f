"""TFRecord shards of photos: written once from a folder, read by the training pipeline.

A folder of a million JPEGs is slow to list and to read over a network file system or a bucket,
and cannot be split between workers by file without listing it on every worker. Shards can: the
pipeline lists N files, gives each worker its own (`pipeline.make_dataset(shard=...)`) and reads
several at once (`encoded_images`). Each record is one `tf.train.Example`:

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
    >>> examples = read_examples(f"{out}/train-*.tfrecord")
    >>> sorted(int(example[HEIGHT]) for example in examples)
    [40, 40, 40]
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import tensorflow as tf

from keras_colorful.data import decode, sources

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


def shard_path(prefix: str, index: int, num_shards: int) -> str:
    """`PREFIX-00003-of-00008.tfrecord`."""
    return f"{prefix}-{index:05d}-of-{num_shards:05d}{SHARD_SUFFIX}"


def manifest_path(prefix: str) -> str:
    """`PREFIX.manifest.json`."""
    return prefix + MANIFEST_SUFFIX


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


def _blocks(num_files: int, num_shards: int) -> list[range]:
    """Contiguous blocks of file indices, one per shard, whose sizes differ by at most one.

    File i goes to shard floor(i * num_shards / num_files); shards past the last file are empty.

    Example:
        >>> [list(block) for block in _blocks(5, 3)]
        [[0, 1], [2, 3], [4]]
    """
    starts = [-(-shard * num_files // num_shards) for shard in range(num_shards + 1)]
    return [range(start, stop) for start, stop in zip(starts[:-1], starts[1:], strict=True)]


def write_tfrecords(
    source: sources.RawSource,
    output_prefix: str,
    *,
    num_shards: int,
    seed: int | None = 0,
    progress: bool = True,
    num_parallel_calls: int = tf.data.AUTOTUNE,
) -> Manifest:
    """Converts a folder (or glob, or list) of photos into `num_shards` TFRecord shards.

    The files are first scanned with the training pipeline's decoder (`decode.scan_images`):
    those that fail are skipped and listed with the reason. The others are shuffled and split
    into contiguous blocks, one per shard, so shards differ by at most one image; each block is
    read (and decoded once more, for the image size) in parallel and written. The manifest is
    written last, so its presence means the shards are complete.

    Args:
        source: as for `sources.list_image_files` (a local folder, glob, file or list).
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
    report = decode.scan_images(
        sources.list_image_files(source), num_parallel_calls=num_parallel_calls
    )
    files = list(report.files)
    if not files:
        raise ValueError(f"None of the image files in {source!r} could be decoded.")
    if seed is not None:
        files = [files[i] for i in np.random.default_rng(seed).permutation(len(files))]
    given = sources.source_paths(source)
    root = given[0] if len(given) == 1 and os.path.isdir(given[0]) else None

    def read(index, path):
        contents = tf.io.read_file(path)
        shape = tf.shape(decode.decode_rgb(contents))
        return index, contents, shape[0], shape[1]

    def records(block: range) -> tf.data.Dataset:
        """(index, bytes, height, width) of the block's files that can be read, in order."""
        indices = tf.range(block.start, block.stop, dtype=tf.int64)
        paths = tf.constant(files[block.start : block.stop], tf.string)
        dataset = tf.data.Dataset.from_tensor_slices((indices, paths))
        dataset = dataset.map(read, num_parallel_calls=num_parallel_calls, deterministic=True)
        return dataset.ignore_errors().prefetch(tf.data.AUTOTUNE)

    directory = os.path.dirname(output_prefix)
    if directory:
        tf.io.gfile.makedirs(directory)
    shard_paths = [shard_path(output_prefix, i, num_shards) for i in range(num_shards)]
    counts = [0] * num_shards
    written = np.zeros(len(files), dtype=bool)
    image_bytes = 0
    bar = tqdm.tqdm(total=len(files), unit="img", desc="Writing TFRecords", disable=not progress)
    with bar:
        for shard, (path, block) in enumerate(
            zip(shard_paths, _blocks(len(files), num_shards), strict=True)
        ):
            with tf.io.TFRecordWriter(path) as writer:  # shards past the last image: empty
                for index, contents, height, width in records(block).as_numpy_iterator():
                    name = os.path.relpath(files[index], root) if root else files[index]
                    writer.write(_example(contents, height, width, name))
                    counts[shard] += 1
                    written[index] = True
                    image_bytes += len(contents)
                    bar.update(1)
            bar.update(len(block) - counts[shard])

    # Decoded in the scan but not when written (e.g. removed meanwhile): skipped as well.
    late = [(path, "could not be read while writing the shards")
            for path, ok in zip(files, written, strict=True) if not ok]
    skipped = tuple(sorted(report.skipped + tuple(late)))
    manifest = Manifest(
        source=", ".join(given),
        shards=tuple(
            Shard(path=path, num_images=count, num_bytes=int(tf.io.gfile.stat(path).length))
            for path, count in zip(shard_paths, counts, strict=True)
        ),
        image_bytes=image_bytes,
        skipped=skipped,
        seed=seed,
    )
    # Written last, and whole (temporary name, then renamed): its presence means complete shards.
    partial = manifest_path(output_prefix) + ".partial"
    with tf.io.gfile.GFile(partial, "w") as f:
        json.dump(manifest.to_dict(), f, indent=2)
    tf.io.gfile.rename(partial, manifest_path(output_prefix), overwrite=True)
    return manifest


def parse_example(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """One serialized record to {"image/encoded", "image/height", "image/width",
    "image/filename"}."""
    return tf.io.parse_single_example(serialized, FEATURES)


def _shard_files_of(source: sources.RawSource | sources.ResolvedSource) -> list[str]:
    if isinstance(source, sources.ResolvedSource):
        return list(source.files)
    return sources.list_tfrecord_files(source)


def read_examples(source: sources.RawSource | sources.ResolvedSource) -> tf.data.Dataset:
    """Every record of the shards, parsed (see `parse_example`), shard after shard, in order.

    `source` is a TFRecord path, glob or list of them, or a `ResolvedSource` of shards.
    """
    files = _shard_files_of(source)
    return tf.data.TFRecordDataset(files).map(parse_example)


def encoded_images(
    source: sources.RawSource | sources.ResolvedSource,
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
        source: TFRecord path, glob, or list of them, or a `ResolvedSource` of shards.
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
    files = sources.shard_files(_shard_files_of(source), shard)
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
