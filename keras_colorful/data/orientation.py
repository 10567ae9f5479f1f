"""The EXIF orientation of an encoded photo, read and applied with TensorFlow ops only.

Cameras store photos as the sensor saw them and record in EXIF (tag 0x0112) how to turn them
upright. The Python API applies it with Pillow (`image_io.read_image`); the SavedModel, which
has no Pillow, applies it with these ops, so both give the same pixels. The tag is looked for
where Pillow reads it: the APP1 "Exif" segment of a JPEG, the `eXIf` chunk of a PNG (before its
image data) and the `EXIF` chunk of a WebP. Anything unreadable counts as "already upright".

Example:

>>> import tensorflow as tf
>>> png = tf.io.encode_png(tf.zeros((2, 3, 3), tf.uint8))
>>> int(exif_orientation(png))
1
"""

import tensorflow as tf

# EXIF tag of the orientation, and its values: 1 upright ... 8 (see `_TRANSFORMS`).
ORIENTATION_TAG = 0x0112
NUM_ORIENTATIONS = 8
# At most this many JPEG segments, PNG or WebP chunks, and IFD entries are read.
_MAX_BLOCKS = 64

_JPEG_START = b"\xff\xd8"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_EXIF_HEADER = b"Exif\x00\x00"


def _uint(contents: tf.Tensor, position, num_bytes: int, little_endian) -> tf.Tensor:
    """The unsigned integer of `num_bytes` bytes at `position` (0 past the end), as int64."""
    size = tf.strings.length(contents)
    position = tf.clip_by_value(tf.cast(position, tf.int32), 0, size)
    raw = tf.strings.substr(contents, position, num_bytes) + b"\x00" * num_bytes
    values = tf.cast(tf.io.decode_raw(raw, tf.uint8)[:num_bytes], tf.int64)
    powers = tf.constant([256**i for i in range(num_bytes)], tf.int64)
    weights = tf.where(little_endian, powers, tf.reverse(powers, [0]))
    return tf.reduce_sum(values * weights)


def _bytes_at(contents: tf.Tensor, position, length: int) -> tf.Tensor:
    size = tf.strings.length(contents)
    return tf.strings.substr(contents, tf.clip_by_value(tf.cast(position, tf.int32), 0, size), length)


def _walk(contents: tf.Tensor, start: int, step):
    """Follows the blocks of a file from `start`; `step(position)` gives (next, tiff, stop).

    Returns the position of the TIFF header the first block holding EXIF points to, or -1.
    """
    size = tf.cast(tf.strings.length(contents), tf.int64)

    def keep_going(count, position, tiff):
        return (count < _MAX_BLOCKS) & (tiff < 0) & (position >= 0) & (position + 8 <= size)

    def advance(count, position, tiff):
        next_position, found, stop = step(position)
        return count + 1, tf.where(stop, tf.constant(-1, tf.int64), next_position), found

    _, _, tiff = tf.while_loop(
        keep_going, advance, (tf.constant(0), tf.constant(start, tf.int64), tf.constant(-1, tf.int64))
    )
    return tiff


def _jpeg_tiff(contents: tf.Tensor) -> tf.Tensor:
    big_endian = tf.constant(False)

    def step(position):
        is_marker = _uint(contents, position, 1, big_endian) == 0xFF
        marker = _uint(contents, position + 1, 1, big_endian)
        length = _uint(contents, position + 2, 2, big_endian)
        is_exif = (marker == 0xE1) & (_bytes_at(contents, position + 4, 6) == _EXIF_HEADER)
        found = tf.where(is_marker & is_exif, position + 10, tf.constant(-1, tf.int64))
        # Start of scan (image data), end of image, or not a marker: no EXIF before the pixels.
        stop = ~is_marker | (marker == 0xDA) | (marker == 0xD9) | (length < 2)
        return position + 2 + length, found, stop

    return _walk(contents, len(_JPEG_START), step)


def _png_tiff(contents: tf.Tensor) -> tf.Tensor:
    big_endian = tf.constant(False)

    def step(position):
        length = _uint(contents, position, 4, big_endian)
        kind = _bytes_at(contents, position + 4, 4)
        found = tf.where(kind == b"eXIf", position + 8, tf.constant(-1, tf.int64))
        stop = (kind == b"IDAT") | (kind == b"IEND")
        return position + 12 + length, found, stop

    return _walk(contents, len(_PNG_SIGNATURE), step)


def _webp_tiff(contents: tf.Tensor) -> tf.Tensor:
    little_endian = tf.constant(True)

    def step(position):
        kind = _bytes_at(contents, position, 4)
        length = _uint(contents, position + 4, 4, little_endian)
        data = position + 8
        # Some writers keep JPEG's "Exif\0\0" in front of the TIFF header.
        data = tf.where(_bytes_at(contents, data, 6) == _EXIF_HEADER, data + 6, data)
        found = tf.where(kind == b"EXIF", data, tf.constant(-1, tf.int64))
        return position + 8 + length + length % 2, found, tf.constant(False)

    return _walk(contents, 12, step)


def _orientation_in_tiff(contents: tf.Tensor, tiff: tf.Tensor) -> tf.Tensor:
    """The orientation entry of the first IFD of the TIFF header at `tiff` (1 without one)."""
    order = _bytes_at(contents, tiff, 2)
    little_endian = order == b"II"
    valid = (tiff >= 0) & (little_endian | (order == b"MM"))
    ifd = tiff + _uint(contents, tiff + 4, 4, little_endian)
    num_entries = tf.minimum(_uint(contents, ifd, 2, little_endian), _MAX_BLOCKS)

    def keep_going(index, value):
        return valid & (index < num_entries) & (value == 0)

    def read_entry(index, value):
        entry = ifd + 2 + 12 * index
        is_orientation = _uint(contents, entry, 2, little_endian) == ORIENTATION_TAG
        # A SHORT value sits in the first two bytes of the entry's 4-byte value field.
        return index + 1, tf.where(is_orientation, _uint(contents, entry + 8, 2, little_endian), value)

    _, value = tf.while_loop(keep_going, read_entry, (tf.constant(0, tf.int64), tf.constant(0, tf.int64)))
    in_range = (value >= 1) & (value <= NUM_ORIENTATIONS)
    return tf.cast(tf.where(in_range, value, 1), tf.int32)


def exif_orientation(contents: tf.Tensor) -> tf.Tensor:
    """The EXIF orientation (1-8, 1 = upright or unknown) of a JPEG, PNG or WebP file's bytes.

    Args:
        contents: a scalar string tensor, the encoded file.

    Returns:
        int32 scalar.
    """
    contents = tf.convert_to_tensor(contents, tf.string)
    is_jpeg = _bytes_at(contents, 0, 2) == _JPEG_START
    is_png = _bytes_at(contents, 0, 8) == _PNG_SIGNATURE
    is_webp = (_bytes_at(contents, 0, 4) == b"RIFF") & (_bytes_at(contents, 8, 4) == b"WEBP")
    tiff = tf.case(
        [
            (is_jpeg, lambda: _jpeg_tiff(contents)),
            (is_png, lambda: _png_tiff(contents)),
            (is_webp, lambda: _webp_tiff(contents)),
        ],
        default=lambda: tf.constant(-1, tf.int64),
    )
    return _orientation_in_tiff(contents, tiff)


# Orientation 1..8 as Pillow's `ImageOps.exif_transpose` applies it, on [H, W, C].
_TRANSFORMS = (
    lambda image: image,  # 1: upright
    lambda image: image[:, ::-1],  # 2: mirrored left-right
    lambda image: image[::-1, ::-1],  # 3: rotated 180
    lambda image: image[::-1],  # 4: mirrored top-bottom
    lambda image: tf.transpose(image, [1, 0, 2]),  # 5: transposed
    lambda image: tf.image.rot90(image, k=3),  # 6: turned 90 clockwise
    lambda image: tf.transpose(image[::-1, ::-1], [1, 0, 2]),  # 7: transversed
    lambda image: tf.image.rot90(image, k=1),  # 8: turned 90 counter-clockwise
)


def apply_exif_orientation(image: tf.Tensor, contents: tf.Tensor) -> tf.Tensor:
    """Turns a decoded image `[H, W, C]` upright by the EXIF orientation of its file's bytes.

    Example:

    >>> image = tf.reshape(tf.cast(tf.range(6), tf.uint8), (2, 3, 1))
    >>> png = tf.io.encode_png(image)
    >>> bool(tf.reduce_all(apply_exif_orientation(image, png) == image))
    True
    """
    orientation = exif_orientation(contents)
    branches = [lambda transform=transform: transform(image) for transform in _TRANSFORMS]
    result = tf.switch_case(orientation - 1, branches)
    result.set_shape([None, None, image.shape[-1]])
    return result
