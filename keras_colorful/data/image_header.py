"""An encoded image's height and width, read from its header before any pixel is decoded.

A server that decodes whatever it is sent can be made to allocate gigabytes by a few kilobytes
(a PNG declaring 6000 x 4000 pixels of one colour compresses to almost nothing), so the
SavedModel reads the size first and refuses images over a pixel cap. TensorFlow ops only:

- JPEG: `tf.image.extract_jpeg_shape` (the frame header, as the decoder reads it);
- PNG: the IHDR chunk, which must come first (width, height: 4 bytes big-endian at 16, 20);
- GIF: the logical screen (2 bytes little-endian at 6, 8), the size TensorFlow decodes to;
- BMP: the DIB header (4-byte signed width and height at 18, 22; 2 bytes for the old 12-byte
  OS/2 header); a negative height is a top-down bitmap;
- WebP: the first chunk: "VP8X" (canvas size - 1, 3 bytes each at 24, 27), "VP8L" (14 bits
  each, minus one, at 21) or "VP8 " (14 bits each at 26, 28, after the key frame's start code).

Anything else gives (-1, -1): unknown, left to the decoder to refuse.

Example:

>>> png = tf.io.encode_png(tf.zeros((3, 5, 1), tf.uint8))
>>> [int(v) for v in image_size(png)]
[3, 5]
"""

import tensorflow as tf

from keras_colorful.data.orientation import (  # the same byte readers and signatures
    _JPEG_START,
    _PNG_SIGNATURE,
    _bytes_at,
    _uint,
)

_UNKNOWN = (tf.constant(-1, tf.int64), tf.constant(-1, tf.int64))
_BIG = tf.constant(False)
_LITTLE = tf.constant(True)


def _png(contents):
    return _uint(contents, 20, 4, _BIG), _uint(contents, 16, 4, _BIG)


def _gif(contents):
    return _uint(contents, 8, 2, _LITTLE), _uint(contents, 6, 2, _LITTLE)


def _bmp(contents):
    old_header = _uint(contents, 14, 4, _LITTLE) == 12

    def signed(position):
        value = _uint(contents, position, 4, _LITTLE)
        return tf.abs(tf.where(value >= 2**31, value - 2**32, value))

    height = tf.where(old_header, _uint(contents, 20, 2, _LITTLE), signed(22))
    width = tf.where(old_header, _uint(contents, 18, 2, _LITTLE), signed(18))
    return height, width


def _webp(contents):
    kind = _bytes_at(contents, 12, 4)
    lossless = _uint(contents, 21, 4, _LITTLE)
    mask = 2**14 - 1
    sizes = [
        (kind == b"VP8X", (_uint(contents, 27, 3, _LITTLE) + 1, _uint(contents, 24, 3, _LITTLE) + 1)),
        (kind == b"VP8L", ((lossless // 2**14) % 2**14 + 1, lossless % 2**14 + 1)),
        (kind == b"VP8 ", (_uint(contents, 28, 2, _LITTLE) % (mask + 1),
                           _uint(contents, 26, 2, _LITTLE) % (mask + 1))),
    ]
    height, width = _UNKNOWN
    for condition, (h, w) in reversed(sizes):
        height, width = tf.where(condition, h, height), tf.where(condition, w, width)
    return height, width


def _jpeg(contents):
    shape = tf.cast(tf.image.extract_jpeg_shape(contents), tf.int64)
    return shape[0], shape[1]


def image_size(contents: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(height, width) int64 scalars of an encoded JPEG, PNG, GIF, BMP or WebP; (-1, -1) if unknown.

    The size as stored: an EXIF orientation may swap height and width (the pixel count is the
    same).

    Raises:
        tf.errors.InvalidArgumentError: a JPEG whose header cannot be read (at run time).
    """
    contents = tf.convert_to_tensor(contents, tf.string)
    start = _bytes_at(contents, 0, 8)
    # Byte reads are cheap and never fail: every format's are computed and one is chosen.
    formats = [
        (start == _PNG_SIGNATURE, _png(contents)),
        (tf.strings.substr(start, 0, 4) == b"GIF8", _gif(contents)),
        (tf.strings.substr(start, 0, 2) == b"BM", _bmp(contents)),
        ((tf.strings.substr(start, 0, 4) == b"RIFF") & (_bytes_at(contents, 8, 4) == b"WEBP"),
         _webp(contents)),
    ]
    height, width = _UNKNOWN
    for condition, (h, w) in reversed(formats):
        height, width = tf.where(condition, h, height), tf.where(condition, w, width)
    # The JPEG reader fails on anything else: run only on JPEG bytes.
    return tf.cond(tf.strings.substr(start, 0, 2) == _JPEG_START, lambda: _jpeg(contents),
                   lambda: (height, width))
