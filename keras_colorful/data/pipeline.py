"""From a source of photos to batches of uint8 RGB crops, with `tf.data` only: `make_dataset`.

The RGB-to-Lab conversion and the label building run on the device inside the training step, so
the pipeline only reads, decodes (`decode.decode_rgb`), crops, resizes, flips
(`transforms`) and batches. Grayscale photos are kept (the loss gives them no weight).
`make_dataset` also decides how a multi-worker job splits its input: each worker reads its own
files or shards (`shard=`), or a `tf.data` service runs the pipeline and hands each batch to one
trainer (`data_service=`).

Example:

>>> import tempfile, numpy as np
>>> from PIL import Image
>>> folder = tempfile.mkdtemp()
>>> for i in range(3):
...     Image.fromarray(np.full((40, 60, 3), 80 * i, np.uint8)).save(f"{folder}/{i}.png")
>>> batches = make_dataset(folder, batch_size=2, crop_size=32, seed=0)
>>> next(iter(batches)).shape
TensorShape([2, 32, 32, 3])
>>> make_eval_batch(folder, num_images=2, size=32).shape
(2, 32, 32, 3)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from keras_colorful import constants
from keras_colorful.data import decode, service, sources, tfrecords, transforms


def _file_names(
    files: list[str], training: bool, shuffle_buffer: int | None, seed: int | None, repeat: bool
) -> tf.data.Dataset:
    dataset = tf.data.Dataset.from_tensor_slices(files)
    if training:
        dataset = dataset.shuffle(
            shuffle_buffer or len(files), seed=seed, reshuffle_each_iteration=True
        )
    if repeat:
        dataset = dataset.repeat()
    return dataset


def _options(*, deterministic: bool, sharded: bool) -> tf.data.Options:
    options = tf.data.Options()
    options.deterministic = deterministic
    # A worker that reads only its own files must not be sharded again by tf.distribute; without
    # that, DATA lets tf.distribute split the batches between workers.
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.OFF
        if sharded
        else tf.data.experimental.AutoShardPolicy.DATA
    )
    return options


def make_dataset(
    source: sources.RawSource | sources.ResolvedSource,
    *,
    batch_size: int,
    crop_size: int = constants.TRAIN_CROP_SIZE,
    training: bool = True,
    resize_shorter_to: int = constants.RESIZE_SHORTER_TO,
    shuffle_buffer: int | None = None,
    seed: int | None = None,
    repeat: bool | None = None,
    scan: bool = True,
    num_parallel_calls: int = tf.data.AUTOTUNE,
    shard: tuple[int, int] | None = None,
    data_service: str | None = None,
    data_service_mode: str = "distributed_epoch",
    data_service_job: str | None = None,
    output_dtype: tf.DType | str = tf.uint8,
) -> tf.data.Dataset:
    """Batches of RGB crops [batch_size, crop_size, crop_size, 3] from image files or shards.

    Training: files reshuffled every epoch, random crop (see `transforms.random_crop_and_flip`)
    and mirror, repeated, incomplete last batch dropped. Evaluation: files in sorted order, centre
    crop (see `transforms.center_crop`), one pass, last batch kept. Files that cannot be decoded
    are set aside by a scan before the dataset is built (see `decode.scan_images`); any later
    decode error skips the image instead of ending the epoch.

    Args:
        source: a folder (searched recursively), a glob pattern, an image path, or a list of these;
            or TFRecord shards from `scripts/make_tfrecords.py` (a path, glob or list naming
            `*.tfrecord` / `*.tfrecord-*` files), which are not scanned: they were when they were
            written; or a `sources.ResolvedSource`, used as it is.
        batch_size: images per batch (the global batch under a distribution strategy).
        crop_size: side of the square crops.
        training: training (random crops, shuffled, repeated) or evaluation (centre crops).
        resize_shorter_to: training only; the shorter side the random crop is cut from.
        shuffle_buffer: training only; file-name shuffle buffer, all files when None (TFRecords:
            the record shuffle buffer, `tfrecords.DEFAULT_SHUFFLE_BUFFER` when None).
        seed: fixes the shuffle, crops and flips and makes the element order deterministic; when
            None every run differs and training batches come in whatever order is fastest.
        repeat: repeat forever; None means repeat when training.
        scan: decode every image file once first to set aside broken ones (and log them).
        num_parallel_calls: parallelism of the decode-and-crop map (and of the scan).
        shard: (num_workers, worker_index) for a multi-worker job: this worker keeps only the
            files (or TFRecord shards) worker_index, worker_index + num_workers, ... and the
            dataset's auto-shard policy is OFF (tf.distribute then splits each of this worker's
            batches between its own replicas). None: the policy is DATA. Not applied with
            `data_service`, whose shared job already gives each batch to one consumer.
        data_service: "grpc://host:port" of a tf.data service dispatcher that runs this pipeline
            (see `service.distribute`); None runs it in this process.
        data_service_mode: the service's processing mode, one of `constants.DATA_SERVICE_MODES`.
        data_service_job: consumers that pass the same job name share one job (each batch goes
            to one of them); None gives this consumer a job of its own.
        output_dtype: dtype of the batches: uint8, or e.g. int32 for strategies whose
            collectives do not take uint8 (see `training.strategies.input_dtype`).

    Returns:
        A `tf.data.Dataset` of tensors [batch_size, crop_size, crop_size, 3] of `output_dtype`.

    Raises:
        ValueError: if the source does not exist, holds no images, or none of them decodes, or an
            argument is out of range.
    """
    for name, value in (("batch_size", batch_size), ("crop_size", crop_size)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if training:  # checked here too, to fail before a long scan
        transforms.check_resize_shorter_to(resize_shorter_to, crop_size)
    source = sources.resolve_source(source, scan=scan, num_parallel_calls=num_parallel_calls)
    sharded = shard is not None and not data_service
    if sharded:
        source = dataclasses.replace(
            source, files=tuple(sources.shard_files(list(source.files), shard))
        )
    if repeat is None:
        repeat = training
    if seed is None:
        seed_for_crops = int(np.random.default_rng().integers(2**31))
    else:
        seed_for_crops = seed

    if source.is_tfrecord:  # the records hold the files' bytes
        items = tfrecords.encoded_images(
            source, training=training, shuffle_buffer=shuffle_buffer, seed=seed, repeat=repeat,
            num_parallel_calls=num_parallel_calls)
        read = tf.identity
    else:
        items = _file_names(list(source.files), training, shuffle_buffer, seed, repeat)
        read = tf.io.read_file

    def load(index: tf.Tensor, item: tf.Tensor) -> tf.Tensor:
        image = decode.decode_rgb(read(item))
        if not training:
            return transforms.center_crop(image, crop_size)
        return transforms.random_crop_and_flip(
            image,
            crop_size,
            tf.stack([tf.constant(seed_for_crops, tf.int64), index]),
            resize_shorter_to,
        )

    dataset = items.enumerate().map(load, num_parallel_calls=num_parallel_calls)
    dataset = dataset.ignore_errors(log_warning=True)
    dataset = dataset.batch(batch_size, drop_remainder=training)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    dataset = dataset.with_options(
        _options(deterministic=seed is not None or not training, sharded=sharded)
    )
    if data_service:
        dataset = service.distribute(
            dataset, data_service, processing_mode=data_service_mode, job_name=data_service_job
        )
    if tf.as_dtype(output_dtype) != tf.uint8:
        dataset = dataset.map(
            lambda batch: tf.cast(batch, output_dtype), num_parallel_calls=tf.data.AUTOTUNE
        )
    return dataset


def make_eval_batch(
    source: sources.RawSource | sources.ResolvedSource, num_images: int, size: int
) -> np.ndarray:
    """A fixed batch of centre crops of the first decodable images (in sorted order).

    Meant for image summaries: the same images every time it is called.

    Args:
        source: as for `make_dataset` (for TFRecords: the first records of the sorted shards).
        num_images: how many images; fewer come back if the source has fewer decodable images.
        size: side of the square crops.

    Returns:
        uint8 numpy [n, size, size, 3] with n = min(num_images, decodable images).

    Raises:
        ValueError: if the source has no decodable image.

    Example:
        >>> import tempfile, numpy as np
        >>> from PIL import Image
        >>> folder = tempfile.mkdtemp()
        >>> Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(f"{folder}/a.png")
        >>> make_eval_batch(folder, num_images=4, size=32).shape
        (1, 32, 32, 3)
    """
    source = sources.resolve_source(source, scan=False)
    if source.is_tfrecord:  # the first records, shard after shard
        items = (example[tfrecords.ENCODED] for example in tfrecords.read_examples(source))
        read = tf.identity
    else:
        items, read = source.files, tf.io.read_file
    crops = []
    for item in items:
        if len(crops) == num_images:
            break
        try:
            image = decode.decode_rgb(read(item))
        except tf.errors.OpError:
            continue
        crops.append(transforms.center_crop(image, size).numpy())
    if not crops:
        raise ValueError(f"No decodable image in {source.name!r}.")
    return np.stack(crops)
