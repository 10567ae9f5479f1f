"""Where the photos are: image files or TFRecord shards, listed, split between workers, resolved.

`resolve_source` turns what a user passes (a folder, a glob, a file, a list of these, or a
TFRecord pattern) into a `ResolvedSource`: the image files that decode (it runs the scan of
`decode.scan_images`) or the TFRecord shard files, with the scan's report.

Example:

>>> import tempfile, numpy as np
>>> from PIL import Image
>>> folder = tempfile.mkdtemp()
>>> Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(f"{folder}/a.png")
>>> open(f"{folder}/broken.jpg", "wb").close()
>>> source = resolve_source(folder)
>>> len(source.files), source.report()["num_skipped"]
(1, 1)
>>> is_tfrecord_source("shards/train-*.tfrecord"), is_tfrecord_source(folder)
(True, False)
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable
from typing import Any

import tensorflow as tf

from keras_colorful.data import decode

# Formats `tf.io.decode_image` reads, matched case-insensitively on the file name (TIFF is not one).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")

# What a user may pass as a source: a path or glob, or a list of them.
RawSource = str | os.PathLike | Iterable[str | os.PathLike]

_GLOB_CHARACTERS = re.compile(r"[*?\[]")

# "x.tfrecord", "x.tfrecords", "x.tfrecord-00001-of-00008", "x-00001-of-00008.tfrecord", globs.
_TFRECORD_NAME = re.compile(r"\.tfrecords?($|-)")


def source_paths(source: RawSource) -> list[str]:
    """The paths (or patterns) of a source given as one path or a list of them, as strings."""
    if isinstance(source, (str, os.PathLike)):
        return [os.fspath(source)]
    return [os.fspath(one) for one in source]


def _walk_files(root: str, max_depth: int | None = None, hidden: bool = True):
    """Every file under `root`, following symbolic links but entering each folder once.

    A link back up the tree (a loop) is noticed by the folder's identity (device, inode) and not
    entered again, so the walk ends and lists each file once per path into a new folder.
    """
    seen_folders = set()
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            status = os.stat(folder)
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name, reverse=True)
        except OSError:
            continue
        if (status.st_dev, status.st_ino) in seen_folders:
            continue
        seen_folders.add((status.st_dev, status.st_ino))
        for entry in entries:
            if not hidden and entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    if max_depth is None or depth < max_depth:
                        stack.append((entry.path, depth + 1))
                elif entry.is_file(follow_symlinks=True):
                    yield entry.path
            except OSError:  # a dangling link or a file removed meanwhile
                continue


def _glob_regex(pattern: str) -> re.Pattern:
    """A glob pattern as a regular expression: `**` spans folders, `*` and `?` do not."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1: end].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _glob_files(pattern: str) -> list[str]:
    """The files a glob pattern matches (`**` recursive), loop-safe (see `_walk_files`)."""
    parts = pattern.split("/")
    fixed = 0
    while fixed < len(parts) - 1 and not _GLOB_CHARACTERS.search(parts[fixed]):
        fixed += 1
    root = "/".join(parts[:fixed]) or ("/" if pattern.startswith("/") else ".")
    depth = None if "**" in pattern else len(parts) - fixed - 1
    relative = not fixed and not pattern.startswith("/")  # walked as "./name", given as "name"
    regex = _glob_regex("./" + pattern if relative else pattern)
    matches = [path for path in _walk_files(root, depth, hidden=False) if regex.match(path)]
    return [path[2:] for path in matches] if relative else matches


def _same_file_once(paths: Iterable[str]) -> list[str]:
    """`paths` sorted, each file once (the first of the names that lead to one file)."""
    seen, unique = set(), []
    for path in sorted(set(paths)):
        try:
            status = os.stat(path)
            identity = (status.st_dev, status.st_ino)
        except OSError:
            identity = path
        if identity not in seen:
            seen.add(identity)
            unique.append(path)
    return unique


def _files_of_one_source(source: str, extensions: tuple[str, ...]) -> list[str]:
    """The image files named by one folder, glob pattern or file path."""
    source = os.path.expanduser(os.fspath(source))
    # An existing path is taken literally, so names like "photo [1].jpg" are not read as globs.
    if os.path.isfile(source):
        return [source]
    if os.path.isdir(source):
        candidates, what = _walk_files(source), "folder"
    elif _GLOB_CHARACTERS.search(source):
        candidates, what = _glob_files(source), "glob pattern"
    else:
        raise ValueError(f"Image source does not exist: {source!r}.")
    files = [path for path in candidates if path.lower().endswith(extensions)]
    if not files:
        raise ValueError(f"No image files ({', '.join(extensions)}) found in {what} {source!r}.")
    return files


def list_image_files(
    source: RawSource, extensions: tuple[str, ...] = IMAGE_EXTENSIONS
) -> list[str]:
    """Lists the image files of a folder tree, a glob pattern, a file, or a list of those.

    Folders are searched recursively, following symbolic links but never around a loop; files
    count as images by extension (`extensions`, any case: by default those TensorFlow decodes,
    jpg, jpeg, png, bmp, gif, webp). A file named explicitly is kept whatever its extension. The
    result is sorted and lists each file once (also one reached by several links), so it is the
    same on every machine.

    Args:
        source: a folder, a glob pattern (`**` allowed), an image path, or a list of these.
        extensions: lower-case file name endings that count as images.

    Returns:
        The sorted list of image paths.

    Raises:
        ValueError: if a source does not exist or holds no image files (the message names it).

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> (folder / "b.PNG").write_bytes(b"")
        0
        >>> (folder / "notes.txt").write_text("hi")
        2
        >>> [pathlib.Path(path).name for path in list_image_files(folder)]
        ['b.PNG']
    """
    sources = source_paths(source)
    if not sources:
        raise ValueError("The list of image sources is empty.")
    files: list[str] = []
    for one_source in sources:
        files.extend(_files_of_one_source(one_source, tuple(extensions)))
    return _same_file_once(files)


def is_tfrecord_source(source: Any) -> bool:
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
    if isinstance(source, ResolvedSource):
        return source.is_tfrecord
    try:
        names = source_paths(source)
    except TypeError:
        return False
    return bool(names) and all(
        _TFRECORD_NAME.search(os.path.basename(name.rstrip("/"))) for name in names
    )


def list_tfrecord_files(source: RawSource) -> list[str]:
    """The sorted TFRecord files a path, glob or list of them names (local or `gs://`).

    Raises:
        ValueError: if nothing matches.
    """
    files = set()
    for pattern in source_paths(source):
        matches = tf.io.gfile.glob(pattern)
        if not matches:
            raise ValueError(f"No TFRecord files match {pattern!r}.")
        files.update(matches)
    return sorted(files)


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


@dataclasses.dataclass(frozen=True)
class ResolvedSource:
    """A source of photos, listed (and scanned): what `resolve_source` returns.

    Attributes:
        name: the source as the user gave it, for messages.
        files: the image files to read (those that decoded, when scanned) or the TFRecord shards,
            sorted.
        is_tfrecord: whether `files` are TFRecord shards (scanned when they were written).
        scan: the report of the decode scan of the image files; None for TFRecords or when the
            scan was not run.
    """

    name: str
    files: tuple[str, ...]
    is_tfrecord: bool = False
    scan: decode.ScanReport | None = None

    def report(self) -> dict[str, Any]:
        """What was found, JSON-ready: {"num_files", "num_skipped", "skipped"} (the first few
        skipped paths), plus "tfrecord_files" for shards; counts are None where nothing was
        scanned."""
        if self.is_tfrecord:
            return {"num_files": None, "num_skipped": None, "skipped": [],
                    "tfrecord_files": len(self.files)}
        if self.scan is None:
            return {"num_files": len(self.files), "num_skipped": None, "skipped": []}
        skipped = self.scan.skipped[: decode.NUM_SKIPPED_SHOWN]
        return {"num_files": self.scan.num_files, "num_skipped": self.scan.num_skipped,
                "skipped": [path for path, _ in skipped]}


def resolve_source(
    source: RawSource | ResolvedSource,
    *,
    scan: bool = True,
    num_parallel_calls: int = tf.data.AUTOTUNE,
) -> ResolvedSource:
    """Lists the photos of a source once: image files (decode-scanned) or TFRecord shards.

    Args:
        source: a folder (searched recursively), a glob pattern, an image path, or a list of
            these; or TFRecord shards (a path, glob or list naming `*.tfrecord` /
            `*.tfrecord-*` files). A `ResolvedSource` is returned as it is.
        scan: decode every image file once and keep those that decode (see
            `decode.scan_images`, which logs what it skipped); shards are never scanned.
        num_parallel_calls: decode parallelism of the scan.

    Returns:
        A `ResolvedSource`.

    Raises:
        ValueError: if the source does not exist, holds no image files or shards, or none of its
            image files decodes (the message names the source).
    """
    if isinstance(source, ResolvedSource):
        return source
    paths = source_paths(source)
    name = ", ".join(paths)
    if is_tfrecord_source(paths):
        return ResolvedSource(name, tuple(list_tfrecord_files(paths)), is_tfrecord=True)
    files = list_image_files(paths)
    if not scan:
        return ResolvedSource(name, tuple(files))
    report = decode.scan_images(files, num_parallel_calls=num_parallel_calls)
    if not report.files:
        raise ValueError(f"None of the image files in {name!r} could be decoded.")
    return ResolvedSource(name, report.files, scan=report)
