"""Released weights by name: download once, check the checksum, convert, cache.

The names, files, addresses and checksums are `presets.RELEASED_WEIGHTS`. Downloads go through
`keras.utils.get_file` into `$KERAS_HOME/keras_colorful` (default `~/.keras/keras_colorful`) and are
checked against the sha256 prefix in the file name (as `torch.hub` does). `released_network`
caches the converted network there as a `.keras` file keyed by the weights file's sha256, so that
later loads need neither the conversion nor torch.

Example:

>>> released_weights_path("eccv16", "no/such/file.pth")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
FileNotFoundError: No such weights file: 'no/such/file.pth'. Download ...
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import warnings

import keras

from keras_colorful import files, models, presets
from keras_colorful.weights import convert, pth

# Cache folder under $KERAS_HOME (default ~/.keras), as keras.utils.get_file's cache_subdir.
CACHE_SUBDIR = "keras_colorful"
# Bumped whenever the conversion changes, so that stale cached conversions are not used.
CONVERSION_VERSION = 1

_HASH_CHUNK = 1 << 20


def release(name: str) -> dict:
    """The registry entry of released weights `name` (see `presets.RELEASED_WEIGHTS`).

    Raises:
        ValueError: an unknown name (the message lists the known ones).

    Example:

    >>> release("eccv16")["sha256_prefix"]
    '9b330a0b'
    """
    if name not in presets.RELEASED_WEIGHTS:
        raise ValueError(
            f"Unknown released weights {name!r}; known: {sorted(presets.RELEASED_WEIGHTS)}."
        )
    return presets.RELEASED_WEIGHTS[name]


def default_cache_dir() -> pathlib.Path:
    """`$KERAS_HOME/keras_colorful` (default `~/.keras/keras_colorful`), read at call time.

    Example:

    >>> default_cache_dir().name
    'keras_colorful'
    """
    keras_home = os.environ.get("KERAS_HOME", os.path.join("~", ".keras"))
    return pathlib.Path(keras_home).expanduser() / CACHE_SUBDIR


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_hash(entry: dict, path: pathlib.Path, digest: str) -> None:
    if not digest.startswith(entry["sha256_prefix"]):
        raise ValueError(
            f"{str(path)!r} is not the released file {entry['file_name']}: its sha256 starts "
            f"with {digest[:8]}, expected {entry['sha256_prefix']}. Download it again from "
            f"{entry['url']} (or pass check_hash=False for a file you trust)."
        )


def _download_help(name: str, entry: dict, cache_dir: pathlib.Path) -> str:
    return (
        f"Download {entry['file_name']} from {entry['url']} ({entry['description']}) on a "
        "machine with network access, then either pass it, keras_colorful.load("
        f"{name!r}, weights_path='path/to/{entry['file_name']}'), or put it in "
        f"{str(cache_dir)!r}."
    )


def _cache_dir(cache_dir: str | os.PathLike | None) -> pathlib.Path:
    if cache_dir is None:
        return default_cache_dir()
    return pathlib.Path(os.fspath(cache_dir)).expanduser()


def _locate(
    name: str, weights_path: str | os.PathLike | None, cache_dir: pathlib.Path, check_hash: bool
) -> tuple[pathlib.Path, str]:
    """`released_weights_path`, also returning the file's sha256 (hashed once)."""
    entry = release(name)
    if weights_path is not None:
        path = pathlib.Path(os.fspath(weights_path)).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"No such weights file: {str(path)!r}. {_download_help(name, entry, cache_dir)}"
            )
        digest = file_sha256(path)
        if check_hash:
            _check_hash(entry, path, digest)
        return path, digest
    try:
        downloaded = keras.utils.get_file(
            fname=entry["file_name"],
            origin=entry["url"],
            cache_dir=os.fspath(cache_dir.parent),
            cache_subdir=cache_dir.name,
        )
    except Exception as error:  # get_file raises a bare Exception for URL and HTTP errors
        raise OSError(
            f"Cannot download the released {name} weights from {entry['url']} ({error}). "
            + _download_help(name, entry, cache_dir)
        ) from error
    path = pathlib.Path(downloaded)
    digest = file_sha256(path)
    if check_hash:
        try:
            _check_hash(entry, path, digest)
        except ValueError:
            path.unlink(missing_ok=True)
            raise
    return path, digest


def released_weights_path(
    name: str,
    weights_path: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    check_hash: bool = True,
) -> pathlib.Path:
    """The local path of the released weights file `name`, downloaded once if needed.

    Args:
        name: a key of `presets.RELEASED_WEIGHTS`, e.g. "eccv16".
        weights_path: a local copy of the file; None to use the cache (downloading into it
            from the registry's address the first time, with `keras.utils.get_file`).
        cache_dir: the cache folder; default `default_cache_dir()`.
        check_hash: check that the file's sha256 starts with the registry's prefix.

    Returns:
        The path of the (checked) file.

    Raises:
        ValueError: an unknown name, or a file whose sha256 does not start with the expected
            prefix (the message names the file and the prefix; a bad download is deleted).
        FileNotFoundError: `weights_path` does not exist.
        OSError: the download failed (offline, blocked, ...): the message says where to
            download the file and how to pass it.
    """
    return _locate(name, weights_path, _cache_dir(cache_dir), check_hash)[0]


def released_network(
    name: str,
    weights_path: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    check_hash: bool = True,
) -> models.ColorizationNet:
    """The released network `name` in Keras: downloaded, checked, converted, cached.

    What `keras_colorful.load("eccv16", weights_path=...)` uses. The conversion is cached in
    `cache_dir` as `<name>-<sha256 of the file>-converted-v<N>.keras`; a cached conversion is
    loaded without converting again. If the cache cannot be written, a warning says so and the network is
    returned anyway.

    Args:
        name: a key of `presets.RELEASED_WEIGHTS`.
        weights_path: a local copy of the weights file; None to download it (once).
        cache_dir: where downloads and conversions are cached; default `default_cache_dir()`.
        check_hash: check the file's sha256 prefix.

    Returns:
        The network (see `convert.convert_state_dict`; decode it at the default temperature).

    Raises:
        FileNotFoundError, ValueError, OSError: see `released_weights_path`.
    """
    cache_dir = _cache_dir(cache_dir)
    weights_file, digest = _locate(name, weights_path, cache_dir, check_hash)
    converted = cache_dir / f"{name}-{digest[:16]}-converted-v{CONVERSION_VERSION}.keras"
    if converted.is_file():
        try:
            return keras.models.load_model(converted, compile=False)
        except Exception as error:  # a broken cache entry: convert again and overwrite it
            warnings.warn(
                f"Ignoring the unreadable cached conversion {converted}: {error}", stacklevel=2
            )
    net = convert.convert_state_dict(
        pth.load_state_dict(weights_file), preset=release(name)["preset"]
    )
    try:
        files.save_keras_model(net, converted)  # a kill leaves no half-written cache entry
    except OSError as error:
        warnings.warn(
            f"Could not cache the converted weights in {cache_dir}: {error}", stacklevel=2
        )
    return net
