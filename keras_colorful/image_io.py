"""Images in and out of the Python API and the CLI: numpy RGB arrays, PIL images, files.

- `to_rgb_array(image)`: a path, PIL image or numpy array to an RGB array `[H, W, 3]`, uint8 or
  float32 in [0, 1], with a `ValueError`/`TypeError` naming the problem for anything else.
- `read_image(path)`, `decode_image(data)`: a file (or its bytes) to uint8 RGB (gray repeated,
  alpha dropped, EXIF rotation applied, 16-bit scaled to 8 bits).
- `write_image(path, rgb)`: uint8 RGB to a file (PNG unless the name says otherwise).
- `to_uint8(rgb)`: uint8, or float in [0, 1] (rounded), as uint8.
- `side_by_side(panels)` and `contact_sheet(rows)`: the one grid builder (rows of panels side by
  side, rows stacked), used by the CLI's side-by-side outputs, the demo grid, the evaluation
  contact sheet and the TensorBoard image summaries.

Pure numpy and Pillow: nothing here imports TensorFlow.

Example:

>>> import numpy as np
>>> to_rgb_array(np.zeros((2, 3), "uint8")).shape
(2, 3, 3)
>>> side_by_side([np.zeros((2, 3, 3), "uint8")] * 2, gap=1).shape
(2, 7, 3)
"""

from __future__ import annotations

import io
import os
import pathlib
import warnings
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from keras_colorful import files

# Pixel modes Pillow uses for 16- and 32-bit gray images; values are scaled by 1/257 to 8 bits.
_HIGH_DEPTH_GRAY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_UINT16_TO_UINT8 = 257.0
# Channels accepted in `[H, W, C]` arrays: gray, RGB, RGBA (alpha dropped).
_ACCEPTED_CHANNELS = (1, 3, 4)
# Background of the gaps in `side_by_side` grids.
GAP_VALUE = 255
# The formats Pillow may open here (and the names files of them carry): no PostScript, PDF or
# other format whose reader runs an external program (Pillow opens MPO, the multi-frame JPEG of
# phones, as JPEG).
READABLE_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "WEBP", "TIFF")
READABLE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# Photos with more pixels are refused before they are decoded (a 100 MP RGB image is 300 MB).
MAX_PIXELS = 100_000_000


def tensor_to_numpy(value):
    """A tensor's values as a numpy array (a `tf.Tensor`, or another framework's with a `.numpy()`
    method); anything else as it is."""
    if callable(getattr(value, "numpy", None)) and not isinstance(value, np.ndarray):
        return np.asarray(value.numpy())
    return value


def _where(index: int | None) -> str:
    """'image 3' for an element of a list, 'image' for a single input."""
    return "image" if index is None else f"image {index}"


def _pil_to_array(image: Image.Image, owned: bool = False) -> np.ndarray:
    """A PIL image to uint8 RGB (or float32 RGB in [0, 1] for float "F" images).

    `owned`: the image is ours (opened from a file here), so it is turned upright in place and
    not copied again when it is RGB already; a caller's image is never changed.
    """
    if owned:
        ImageOps.exif_transpose(image, in_place=True)
    else:
        image = ImageOps.exif_transpose(image)
    if image.mode in _HIGH_DEPTH_GRAY_MODES:
        gray = np.asarray(image, dtype=np.float64)
        gray = np.clip(np.round(gray / _UINT16_TO_UINT8), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if image.mode == "F":
        return np.asarray(image, dtype=np.float32)
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


def read_image(path: str | os.PathLike, max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """Reads an image file as uint8 RGB `[H, W, 3]`.

    JPEG, PNG, BMP, GIF (first frame), WebP or TIFF (`READABLE_FORMATS`, whatever the file's
    name says; nothing else is opened). Gray is repeated to three channels, alpha is dropped,
    palettes are expanded, the EXIF orientation is applied, 16-bit gray is scaled to 8 bits
    (16-bit RGB PNGs are truncated by Pillow).

    Args:
        path: the file.
        max_pixels: refuse images with more pixels, read from the file's header before anything
            is decoded (a decompression bomb: a small file declaring a huge image); None: no cap.

    Returns:
        uint8 `[H, W, 3]`.

    Raises:
        ValueError: the file does not exist, is not an image of a readable format, or has more
            than `max_pixels` pixels (the message names it and says why).

    Example:

    >>> import tempfile, numpy as np
    >>> path = tempfile.mkdtemp() + "/gray.png"
    >>> Image.fromarray(np.full((4, 5), 7, "uint8")).save(path)
    >>> read_image(path)[0, 0].tolist()
    [7, 7, 7]
    """
    path = pathlib.Path(os.fspath(path)).expanduser()
    if not path.is_file():
        raise ValueError(f"No such image file: {str(path)!r}.")
    return _read(path, repr(str(path)), max_pixels)


def decode_image(data: bytes, max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """Decodes an encoded image (the bytes of a file) as `read_image` reads the file.

    Example:

    >>> import io, numpy as np
    >>> buffer = io.BytesIO()
    >>> Image.fromarray(np.full((2, 3), 9, "uint8")).save(buffer, "PNG")
    >>> decode_image(buffer.getvalue()).shape
    (2, 3, 3)
    """
    return _read(io.BytesIO(bytes(data)), f"the {len(data)} bytes given", max_pixels)


def _read(source, name: str, max_pixels: int | None) -> np.ndarray:
    """uint8 RGB of an image file or file-like object; ValueError naming `name`."""
    try:
        with warnings.catch_warnings():  # the pixel cap below is ours, not Pillow's warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source, formats=READABLE_FORMATS) as image:
                width, height = image.size
                if max_pixels is not None and width * height > max_pixels:
                    raise ValueError(
                        f"{width}x{height} = {width * height:,} pixels, above the cap of "
                        f"{max_pixels:,} (max_pixels)"
                    )
                image.load()
                array = _pil_to_array(image, owned=True)
    except Image.DecompressionBombError as error:  # Pillow's own cap, above the default one
        cap = "Pillow's" if max_pixels is None else f"the cap of {max_pixels:,} (max_pixels) and Pillow's"
        raise ValueError(
            f"Cannot read {name} as an image: more pixels than {cap} limit allows "
            f"({error})"
        ) from error
    except UnidentifiedImageError as error:
        raise ValueError(
            f"Cannot read {name} as an image: not one of {', '.join(READABLE_FORMATS)}, or "
            f"damaged ({error})"
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"Cannot read {name} as an image: {error}") from error
    if array.dtype != np.uint8:  # a float ("F") image: must hold values in [0, 1]
        try:
            array = to_uint8(to_rgb_array(array))
        except ValueError as error:
            raise ValueError(f"Cannot read {name} as an image: {error}") from error
    return array


def to_rgb_array(image, index: int | None = None) -> np.ndarray:
    """Brings one image to an RGB array `[H, W, 3]`: uint8, or float32 with values in [0, 1].

    Accepts a file path (str or path-like, see `read_image`), the encoded bytes of a file
    (`decode_image`), a PIL image, or an array (numpy, or a tensor with a `.numpy()` method such
    as a `tf.Tensor`) `[H, W]` (gray), `[H, W, 1]` (gray), `[H, W, 3]` (RGB) or `[H, W, 4]`
    (RGBA, alpha dropped) that is uint8 or floating point with every value in [0, 1]. Float
    arrays stay float (as float32) so that no precision is lost before the Lab conversion.

    Args:
        image: the image.
        index: its position in the caller's list, named in error messages (None: a single image).

    Returns:
        `[H, W, 3]` uint8 or float32 in [0, 1] (a view of the input when nothing changes).

    Raises:
        TypeError: an unsupported type or dtype.
        ValueError: an unsupported shape, an empty image, float values outside [0, 1] or not
            finite, a missing or unreadable file.

    Example:

    >>> import numpy as np
    >>> to_rgb_array(np.ones((2, 2, 4), "float64")).dtype
    dtype('float32')
    >>> to_rgb_array(np.zeros((2, 2, 2), "uint8"), index=3)
    Traceback (most recent call last):
    ...
    ValueError: image 3: expected [H, W], [H, W, 1], [H, W, 3] or [H, W, 4], got shape (2, 2, 2).
    """
    where = _where(index)
    if isinstance(image, (str, os.PathLike)):
        try:
            return read_image(image)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from error
    if isinstance(image, (bytes, bytearray, memoryview)):
        try:
            return decode_image(image)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from error
    if isinstance(image, Image.Image):
        image = _pil_to_array(image)
    image = tensor_to_numpy(image)
    if not isinstance(image, np.ndarray):
        raise TypeError(
            f"{where}: expected a file path, encoded image bytes, a PIL image or an array, got "
            f"{type(image).__name__}."
        )
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in _ACCEPTED_CHANNELS:
        raise ValueError(
            f"{where}: expected [H, W], [H, W, 1], [H, W, 3] or [H, W, 4], got shape "
            f"{image.shape}."
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{where}: empty image of shape {image.shape}.")
    if image.dtype == np.uint8:
        pass
    elif np.issubdtype(image.dtype, np.floating):
        image = image.astype(np.float32, copy=False)
        low, high = float(np.min(image)), float(np.max(image))
        if not (np.isfinite(low) and np.isfinite(high)):
            raise ValueError(f"{where}: float image has NaN or infinite values.")
        if low < 0.0 or high > 1.0:
            raise ValueError(
                f"{where}: float images must have values in [0, 1], got [{low:g}, {high:g}]."
            )
    else:
        raise TypeError(
            f"{where}: dtype {image.dtype} is not supported; use uint8 or float in [0, 1]."
        )
    if image.shape[-1] == 1:
        return np.repeat(image, 3, axis=-1)
    return image[..., :3]


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 as is, or float in [0, 1] (clipped) rounded to uint8.

    Example:

    >>> to_uint8(np.array([[[0.0, 0.5, 1.0]]], "float32")).tolist()
    [[[0, 128, 255]]]
    """
    if rgb.dtype == np.uint8:
        return rgb
    return np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def write_image(
    path: str | os.PathLike,
    rgb: np.ndarray,
    quality: int | None = None,
    png_compression: int | None = None,
) -> pathlib.Path:
    """Writes uint8 RGB `[H, W, 3]` to `path` (format from the extension), creating folders.

    Written to a temporary name in the same folder, then renamed (`files.atomic_path`).

    Args:
        path: output file, e.g. "out/photo.png".
        rgb: uint8 `[H, W, 3]`.
        quality: JPEG and WebP quality, 1-100; None for Pillow's default. PNG ignores it.
        png_compression: PNG's zlib level, 0-9; None for Pillow's 6. Level 1 encodes a 12 MP
            photo several times faster for a file about 15% larger (benchmarks/RESULTS.md).

    Returns:
        The path written.

    Raises:
        ValueError: `rgb` is not uint8 `[H, W, 3]`, `quality` is outside 1-100 or
            `png_compression` outside 0-9.

    Example:

    >>> import tempfile, numpy as np
    >>> write_image(tempfile.mkdtemp() + "/a/b.png", np.zeros((2, 2, 3), "uint8")).name
    'b.png'
    >>> write_image(tempfile.mkdtemp() + "/c.jpg", np.zeros((2, 2, 3), "uint8"), quality=90).name
    'c.jpg'
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"Expected uint8 [H, W, 3], got {rgb.dtype} {rgb.shape}.")
    if quality is not None and not 1 <= quality <= 100:
        raise ValueError(f"quality must be from 1 to 100, got {quality}.")
    if png_compression is not None and png_compression not in range(10):
        raise ValueError(f"png_compression must be from 0 to 9, got {png_compression}.")
    path = pathlib.Path(os.fspath(path)).expanduser()
    options = {} if quality is None else {"quality": quality}
    if png_compression is not None:
        options["compress_level"] = png_compression
    image_format = Image.registered_extensions().get(path.suffix.lower())
    with files.atomic_path(path) as partial:  # a kill leaves no half-written image
        Image.fromarray(rgb, "RGB").save(partial, format=image_format, **options)
    return path


def side_by_side(panels: Sequence[np.ndarray], gap: int = 8) -> np.ndarray:
    """Puts uint8 RGB images of one height next to each other, `gap` white columns apart.

    Args:
        panels: uint8 `[H, W_i, 3]` images, all of the same height H.
        gap: width of the white separator between panels.

    Returns:
        uint8 `[H, sum(W_i) + gap * (len(panels) - 1), 3]`.

    Raises:
        ValueError: no panels, or panels that are not uint8 RGB of one height.

    Example:

    >>> import numpy as np
    >>> side_by_side([np.zeros((4, 2, 3), "uint8"), np.zeros((4, 3, 3), "uint8")], gap=2).shape
    (4, 7, 3)
    """
    if not panels:
        raise ValueError("side_by_side needs at least one panel.")
    height = panels[0].shape[0]
    for i, panel in enumerate(panels):
        if panel.dtype != np.uint8 or panel.ndim != 3 or panel.shape[-1] != 3:
            raise ValueError(f"Panel {i}: expected uint8 [H, W, 3], got {panel.dtype} {panel.shape}.")
        if panel.shape[0] != height:
            raise ValueError(f"Panel {i} has height {panel.shape[0]}, panel 0 has {height}.")
    separator = np.full((height, gap, 3), GAP_VALUE, dtype=np.uint8)
    columns = [panels[0]]
    for panel in panels[1:]:
        columns += [separator, panel]
    return np.concatenate(columns, axis=1)


def resize_to_height(image: np.ndarray, height: int) -> np.ndarray:
    """uint8 RGB resized (bilinear) to `height` rows, keeping its aspect ratio.

    Example:

    >>> import numpy as np
    >>> resize_to_height(np.zeros((10, 30, 3), "uint8"), 4).shape
    (4, 12, 3)
    """
    if image.shape[0] == height:
        return image
    width = max(1, round(image.shape[1] * height / image.shape[0]))
    return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))


def contact_sheet(
    rows: Sequence[Sequence[np.ndarray]], row_height: int | None = None, gap: int = 8
) -> np.ndarray:
    """Rows of panels side by side (`side_by_side`), rows stacked, `gap` white pixels apart.

    Args:
        rows: for each row, its uint8 RGB panels (one height per row unless `row_height`).
        row_height: resize every panel to this height first; None keeps the sizes.
        gap: white pixels between panels and between rows; narrower rows are padded white on
            the right.

    Returns:
        uint8 `[sum of row heights + gap * (rows - 1), widest row, 3]`.

    Raises:
        ValueError: no rows, or panels `side_by_side` refuses.

    Example:

    >>> import numpy as np
    >>> panel = np.zeros((4, 6, 3), "uint8")
    >>> contact_sheet([[panel, panel], [panel]], gap=2).shape
    (10, 14, 3)
    """
    if not rows:
        raise ValueError("contact_sheet needs at least one row.")
    if row_height is not None:
        rows = [[resize_to_height(panel, row_height) for panel in row] for row in rows]
    joined = [side_by_side(list(row), gap=gap) for row in rows]
    width = max(row.shape[1] for row in joined)
    blocks = []
    for index, row in enumerate(joined):
        if index:
            blocks.append(np.full((gap, width, 3), GAP_VALUE, np.uint8))
        padding = np.full((row.shape[0], width - row.shape[1], 3), GAP_VALUE, np.uint8)
        blocks.append(np.concatenate([row, padding], axis=1))
    return np.concatenate(blocks, axis=0)
