"""Photo bytes to RGB pixels, and the scan that sets aside the files that do not decode.

A training run should never die in the middle of an epoch on one broken file, and the user should
learn which files were skipped. `scan_images` therefore decodes every file once, before training,
with the very decoder the pipeline uses (`decode_rgb`), so "skipped by the scan" and "would fail in
the pipeline" are the same set; the pipeline keeps `ignore_errors` only as a safety net.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from keras_colorful.data.orientation import _PNG_SIGNATURE, _bytes_at, _uint  # safe byte reads

# How many skipped files `ScanReport.summary` names.
NUM_SKIPPED_SHOWN = 5

# The IHDR chunk's bit depth: signature (8), chunk length and type (8), width and height (8).
_PNG_BIT_DEPTH_BYTE = 24

logger = logging.getLogger(__name__)


def is_16_bit_png(contents: tf.Tensor) -> tf.Tensor:
    """Whether the bytes are a PNG of 16 bits per sample (IHDR bit depth, byte 24): bool scalar.

    Example:
        >>> import tensorflow as tf
        >>> bool(is_16_bit_png(tf.io.encode_png(tf.zeros((1, 1, 1), tf.uint16))))
        True
    """
    is_png = _bytes_at(contents, 0, len(_PNG_SIGNATURE)) == _PNG_SIGNATURE
    return is_png & (_uint(contents, _PNG_BIT_DEPTH_BYTE, 1, False) == 16)  # 0 past the end


def decode_uint8(contents: tf.Tensor) -> tf.Tensor:
    """Decodes JPEG, 8-bit PNG, BMP, GIF or WebP bytes to uint8 RGB `[H, W, 3]`.

    As `decode_rgb` (gray repeated, alpha dropped, first GIF frame), without the float copy; a
    16-bit PNG would be truncated here (value >> 8): use `decode_uint16_png` for those.
    """
    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def decode_uint16_png(contents: tf.Tensor) -> tf.Tensor:
    """Decodes PNG bytes to uint16 RGB `[H, W, 3]` (8-bit PNGs come back times 257)."""
    image = tf.io.decode_png(contents, channels=3, dtype=tf.uint16)
    image.set_shape([None, None, 3])
    return image


def decode_rgb(contents: tf.Tensor) -> tf.Tensor:
    """Decodes JPEG, PNG, BMP, GIF or WebP bytes to a float32 RGB image with values in [0, 255].

    Grayscale is repeated to three channels, alpha is dropped, a GIF gives its first frame, and a
    16-bit PNG is scaled to the 8-bit range exactly (value / 257), where decoding it to uint8 would
    truncate (value >> 8). Works eagerly and inside `tf.data`.

    Args:
        contents: a scalar string tensor, the file's bytes.

    Returns:
        A float32 tensor [height, width, 3].

    Raises:
        tf.errors.InvalidArgumentError: if the bytes are not a decodable image.

    Example:
        >>> import tensorflow as tf
        >>> png = tf.io.encode_png(tf.constant([[[255, 0, 0, 128]]], tf.uint8))
        >>> decode_rgb(png).numpy().tolist()
        [[[255.0, 0.0, 0.0]]]
    """
    # 16-bit PNGs through the 16-bit decoder, everything else (8-bit PNGs included) at 8 bits,
    # the only depth decode_image's WebP decoder supports.
    image = tf.cond(
        is_16_bit_png(contents),
        lambda: tf.cast(decode_uint16_png(contents), tf.float32) / 257.0,
        lambda: tf.cast(decode_uint8(contents), tf.float32),
    )
    image.set_shape([None, None, 3])
    return image


@dataclasses.dataclass(frozen=True)
class ScanReport:
    """What `scan_images` found.

    Attributes:
        files: the decodable image files, in the order given.
        skipped: (path, reason) for every file that could not be decoded, in the order given.
    """

    files: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]

    @property
    def num_files(self) -> int:
        """How many files were scanned."""
        return len(self.files) + len(self.skipped)

    @property
    def num_skipped(self) -> int:
        """How many files were skipped."""
        return len(self.skipped)

    def summary(self) -> str:
        """One line per fact: counts, then the first few skipped files with their reasons."""
        lines = [
            f"{len(self.files)} usable images, {self.num_skipped} skipped of {self.num_files}."
        ]
        for path, reason in self.skipped[:NUM_SKIPPED_SHOWN]:
            lines.append(f"  skipped {path}: {reason}")
        if self.num_skipped > NUM_SKIPPED_SHOWN:
            lines.append(f"  ... and {self.num_skipped - NUM_SKIPPED_SHOWN} more.")
        return "\n".join(lines)


def _decode_error(path: str) -> str:
    """Why `decode_rgb` rejects a file: the first line of TensorFlow's message, cleaned."""
    try:
        decode_rgb(tf.io.read_file(path))
    except (tf.errors.OpError, OSError) as error:
        message = getattr(error, "message", None) or str(error)
        message = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", message)
        message = re.sub(r"\s*\[Op:\w+\].*", "", message, flags=re.DOTALL)
        return message.strip().splitlines()[0] if message.strip() else type(error).__name__
    return "failed in the scan but decoded when retried"


def scan_images(files: Sequence[str], *, num_parallel_calls: int = tf.data.AUTOTUNE) -> ScanReport:
    """Decodes every file once, in parallel, and sets aside those that fail.

    Unreadable, truncated, zero-byte and mis-named files are skipped with a reason; everything
    `decode_rgb` accepts is kept, including grayscale photos and tiny images.

    Args:
        files: image paths, e.g. from `sources.list_image_files`.
        num_parallel_calls: decode parallelism of the `tf.data` scan.

    Returns:
        A `ScanReport`; the report is also logged at INFO level (WARNING when files were skipped).

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> (folder / "empty.jpg").write_bytes(b"")
        0
        >>> scan_images([str(folder / "empty.jpg")]).num_skipped
        1
    """
    paths = [os.fspath(path) for path in files]
    if not paths:
        return ScanReport(files=(), skipped=())
    dataset = tf.data.Dataset.from_tensor_slices((np.arange(len(paths)), paths))
    dataset = dataset.map(
        lambda index, path: (index, tf.shape(decode_rgb(tf.io.read_file(path)))[0]),
        num_parallel_calls=num_parallel_calls,
        deterministic=False,
    )
    dataset = dataset.ignore_errors().batch(1024)
    decoded = np.zeros(len(paths), dtype=bool)
    for indices, _ in dataset.as_numpy_iterator():
        decoded[indices] = True
    report = ScanReport(
        files=tuple(path for path, ok in zip(paths, decoded, strict=True) if ok),
        skipped=tuple(
            (path, _decode_error(path)) for path, ok in zip(paths, decoded, strict=True) if not ok
        ),
    )
    logger.log(logging.WARNING if report.num_skipped else logging.INFO, report.summary())
    return report
