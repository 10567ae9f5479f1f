"""The input pipeline: image files to batches of uint8 RGB crops, with `tf.data` only.

The RGB-to-Lab conversion and the label building run on the device inside the training step, so
the pipeline only decodes, crops, resizes, flips and batches. Training emulates the release, which
took random 176x176 crops (with mirroring) from images stored at 256x256: the shorter side is
scaled to `resize_shorter_to` (256) and a random `crop_size` square is cut. Evaluation scales the
shorter side to `crop_size` and cuts the centre square. Both cut the window from the decoded image
first and resize only the window, which is the same picture as resize-then-crop at a fraction of the
cost. Images smaller than the crop are scaled up; grayscale photos are kept (the loss gives them no
weight).

Example:
    >>> from keras_colorful import dataset
    >>> train = dataset.make_dataset("photos/", batch_size=40, seed=0)  # doctest: +SKIP
    >>> next(iter(train)).shape  # doctest: +SKIP
    TensorShape([40, 176, 176, 3])
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
import tensorflow as tf

from keras_colorful import constants, data_files, tfrecords

# The release's training images were stored at 256x256, and its 176x176 crops were cut from them.
RESIZE_SHORTER_TO = 256

Source = str | os.PathLike | Iterable[str | os.PathLike]


def _to_uint8(image: tf.Tensor) -> tf.Tensor:
    return tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)


def _resize_square(window: tf.Tensor, size: int) -> tf.Tensor:
    """Resizes a square window to size x size, bilinear, and rounds to uint8.

    Shrinking is antialiased (a triangle filter as wide as the scale, like Pillow's BILINEAR);
    enlarging, where that filter is plain bilinear, takes the faster plain op.
    """
    shrinks = tf.shape(window)[0] > size
    resized = tf.cond(
        shrinks,
        lambda: tf.image.resize(window, [size, size], method="bilinear", antialias=True),
        lambda: tf.image.resize(window, [size, size], method="bilinear"),
    )
    return _to_uint8(resized)


def _check_resize_shorter_to(resize_shorter_to: int, crop_size: int) -> None:
    if resize_shorter_to < crop_size:
        raise ValueError(
            f"resize_shorter_to ({resize_shorter_to}) must be at least crop_size ({crop_size})."
        )


def center_crop(image: tf.Tensor, crop_size: int) -> tf.Tensor:
    """The evaluation transform: shorter side scaled to `crop_size`, the centre square cut.

    Args:
        image: [height, width, 3], any real dtype, values in [0, 255].
        crop_size: side of the output square.

    Returns:
        uint8 [crop_size, crop_size, 3].

    Example:
        >>> import tensorflow as tf
        >>> center_crop(tf.zeros([48, 80, 3]), 32).shape
        TensorShape([32, 32, 3])
    """
    shape = tf.shape(image)
    side = tf.minimum(shape[0], shape[1])
    top = (shape[0] - side) // 2
    left = (shape[1] - side) // 2
    window = image[top : top + side, left : left + side]
    return _resize_square(window, crop_size)


def random_crop_and_flip(
    image: tf.Tensor,
    crop_size: int,
    seed: tf.Tensor,
    resize_shorter_to: int = RESIZE_SHORTER_TO,
) -> tf.Tensor:
    """The training transform: a random `crop_size` square of the image scaled so its shorter side
    is `resize_shorter_to`, mirrored left-right with probability 1/2.

    Random but reproducible: the same stateless `seed` gives the same crop and flip.

    Args:
        image: [height, width, 3], any real dtype, values in [0, 255].
        crop_size: side of the output square.
        seed: int32 or int64 [2], a stateless random seed.
        resize_shorter_to: the shorter side the crop is cut from (>= crop_size).

    Returns:
        uint8 [crop_size, crop_size, 3].

    Example:
        >>> import tensorflow as tf
        >>> random_crop_and_flip(tf.zeros([224, 336, 3]), 176, seed=[1, 2]).shape
        TensorShape([176, 176, 3])
    """
    _check_resize_shorter_to(resize_shorter_to, crop_size)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=3)
    shape = tf.shape(image)
    shorter = tf.minimum(shape[0], shape[1])
    # The crop's side measured in source pixels: crop_size / resize_shorter_to of the shorter side.
    side = tf.cast(
        tf.round(tf.cast(shorter, tf.float32) * (crop_size / resize_shorter_to)), tf.int32
    )
    side = tf.clip_by_value(side, 1, shorter)
    top = tf.random.stateless_uniform([], seeds[0], 0, shape[0] - side + 1, dtype=tf.int32)
    left = tf.random.stateless_uniform([], seeds[1], 0, shape[1] - side + 1, dtype=tf.int32)
    window = _resize_square(image[top : top + side, left : left + side], crop_size)
    return tf.image.stateless_random_flip_left_right(window, seeds[2])


def _file_dataset(
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


def make_dataset(
    source: Source,
    *,
    batch_size: int,
    crop_size: int = constants.TRAIN_CROP_SIZE,
    training: bool = True,
    resize_shorter_to: int = RESIZE_SHORTER_TO,
    shuffle_buffer: int | None = None,
    seed: int | None = None,
    repeat: bool | None = None,
    scan: bool = True,
    num_parallel_calls: int = tf.data.AUTOTUNE,
    shard: tuple[int, int] | None = None,
) -> tf.data.Dataset:
    """Batches of uint8 RGB crops [batch_size, crop_size, crop_size, 3] from image files.

    Training: files reshuffled every epoch, random crop (see `random_crop_and_flip`) and mirror,
    repeated, incomplete last batch dropped. Evaluation: files in sorted order, centre crop (see
    `center_crop`), one pass, last batch kept. Files that cannot be decoded are set aside by a scan
    before the dataset is built (see `data_files.scan_images`); any later decode error skips the
    image instead of ending the epoch.

    Args:
        source: a folder (searched recursively), a glob pattern, an image path, or a list of these;
            or TFRecord shards from `scripts/make_tfrecords.py` (a path, glob or list naming
            `*.tfrecord` / `*.tfrecord-*` files; see `tfrecords.encoded_images`), which are not
            scanned: they were when they were written.
        batch_size: images per batch (the global batch under a distribution strategy).
        crop_size: side of the square crops.
        training: training (random crops, shuffled, repeated) or evaluation (centre crops).
        resize_shorter_to: training only; the shorter side the random crop is cut from.
        shuffle_buffer: training only; file-name shuffle buffer, all files when None (TFRecords:
            the record shuffle buffer, `tfrecords.DEFAULT_SHUFFLE_BUFFER` when None).
        seed: fixes the shuffle, crops and flips and makes the element order deterministic; when
            None every run differs and training batches come in whatever order is fastest.
        repeat: repeat forever; None means repeat when training.
        scan: decode every file once first to set aside broken ones (and log them); pass False
            when the files are already scanned, e.g. `data_files.scan_images(...).files`.
        num_parallel_calls: parallelism of the decode-and-crop map.
        shard: (num_workers, worker_index) for a multi-worker job: this worker keeps only the
            files (or TFRecord shards) worker_index, worker_index + num_workers, ... and the
            dataset's auto-shard policy is OFF (tf.distribute then splits each of this worker's
            batches between its own replicas). None: the policy is DATA.

    Returns:
        A `tf.data.Dataset` of uint8 tensors [batch_size, crop_size, crop_size, 3].

    Raises:
        ValueError: if the source does not exist, holds no images, or none of them decodes, or an
            argument is out of range.

    Example:
        >>> import tempfile, numpy as np
        >>> from PIL import Image
        >>> folder = tempfile.mkdtemp()
        >>> for i in range(3):
        ...     Image.fromarray(np.full((40, 60, 3), 80 * i, np.uint8)).save(f"{folder}/{i}.png")
        >>> batches = make_dataset(folder, batch_size=2, crop_size=32, seed=0)
        >>> next(iter(batches)).shape
        TensorShape([2, 32, 32, 3])
    """
    for name, value in (("batch_size", batch_size), ("crop_size", crop_size)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if training:  # checked here too, to fail before a long scan
        _check_resize_shorter_to(resize_shorter_to, crop_size)
    # --- TFRecord sources and per-worker file sharding (issue 7) ---
    from_tfrecords = tfrecords.is_tfrecord_source(source)
    if not from_tfrecords:
        files = data_files.list_image_files(source)
        if scan:
            files = list(
                data_files.scan_images(files, num_parallel_calls=num_parallel_calls).files
            )
            if not files:
                raise ValueError(f"None of the image files in {source!r} could be decoded.")
        files = tfrecords.shard_files(files, shard)
    # --- end issue 7 ---
    if repeat is None:
        repeat = training
    if seed is None:
        seed_for_crops = int(np.random.default_rng().integers(2**31))
    else:
        seed_for_crops = seed

    def load(index: tf.Tensor, item: tf.Tensor) -> tf.Tensor:
        # `item` is a file path, or the encoded bytes of a TFRecord (issue 7).
        image = data_files.decode_rgb(item if from_tfrecords else tf.io.read_file(item))
        if not training:
            return center_crop(image, crop_size)
        return random_crop_and_flip(
            image,
            crop_size,
            tf.stack([tf.constant(seed_for_crops, tf.int64), index]),
            resize_shorter_to,
        )

    if from_tfrecords:  # issue 7
        dataset = tfrecords.encoded_images(
            source, training=training, shuffle_buffer=shuffle_buffer, seed=seed, repeat=repeat,
            num_parallel_calls=num_parallel_calls, shard=shard)
    else:
        dataset = _file_dataset(files, training, shuffle_buffer, seed, repeat)
    dataset = dataset.enumerate().map(load, num_parallel_calls=num_parallel_calls)
    dataset = dataset.ignore_errors(log_warning=True)
    dataset = dataset.batch(batch_size, drop_remainder=training)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = seed is not None or not training
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
        if shard is None
        else tf.data.experimental.AutoShardPolicy.OFF  # sharded by file above (issue 7)
    )
    return dataset.with_options(options)


def make_eval_batch(source: Source, num_images: int, size: int) -> np.ndarray:
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
    crops = []
    if tfrecords.is_tfrecord_source(source):  # issue 7: the first records, shard after shard
        items = (example[tfrecords.ENCODED] for example in tfrecords.read_examples(source))
        read = tf.identity
    else:
        items, read = data_files.list_image_files(source), tf.io.read_file
    for item in items:
        if len(crops) == num_images:
            break
        try:
            image = data_files.decode_rgb(read(item))
        except tf.errors.OpError:
            continue
        crops.append(center_crop(image, size).numpy())
    if not crops:
        raise ValueError(f"No decodable image in {source!r}.")
    return np.stack(crops)
