"""Writing files so that a kill at any moment leaves the old complete file or the new one.

Every artefact the package writes for a user (a trained or converted `.keras` model, a `.tflite`
file, a colorized photo, a JSON report, a prior) goes to a temporary name in the destination's own
folder and is then renamed over the destination: a rename within one file system is atomic, so a
reader never sees a half-written file, and a killed writer leaves only a stray temporary file
(named `.<name>.partial-<random>`), never a truncated destination. The file gets the mode a plain
`open()` would give it (the umask's), or the mode of the file it replaces.

Example:

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "report.json"
>>> write_text(path, '{"ok": true}').read_text()
'{"ok": true}'
"""

from __future__ import annotations

import contextlib
import functools
import os
import pathlib
import tempfile
from collections.abc import Iterator

PARTIAL_MARK = ".partial-"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[pathlib.Path]:
    """A temporary path beside `path` to write to; renamed to `path` when the block succeeds.

    The temporary name ends in `suffix` (default `path`'s own: `.keras`, `.png`, ...), since some
    writers pick the format from it. On an exception it is removed and `path` is left as it was.
    Folders are created.

    Example:

    >>> import tempfile
    >>> destination = pathlib.Path(tempfile.mkdtemp()) / "a" / "b.txt"
    >>> with atomic_path(destination) as partial:
    ...     _ = partial.write_text("complete")
    >>> destination.read_text()
    'complete'
    """
    path = pathlib.Path(os.fspath(path)).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix if suffix is None else suffix
    handle, name = tempfile.mkstemp(
        prefix=f".{path.name.removesuffix(suffix)}{PARTIAL_MARK}", suffix=suffix, dir=path.parent
    )
    os.close(handle)
    partial = pathlib.Path(name)
    try:
        yield partial
        mode = path.stat().st_mode & 0o7777 if path.exists() else _new_file_mode()
        if partial.exists():  # a writer may have replaced it: mkstemp's 0o600 is not the user's
            os.chmod(partial, mode)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@functools.cache
def _new_file_mode() -> int:
    """0o666 less the process's umask: what `open(path, "w")` creates."""
    try:  # Linux names the umask without changing it (os.umask would, for every thread)
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_bytes(path: str | os.PathLike, data: bytes) -> pathlib.Path:
    """Writes `data` to `path` atomically (see the module docstring); returns the path."""
    with atomic_path(path) as partial:
        with open(partial, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    return pathlib.Path(os.fspath(path)).expanduser()


def write_text(path: str | os.PathLike, text: str) -> pathlib.Path:
    """Writes `text` (UTF-8) to `path` atomically; returns the path."""
    return write_bytes(path, text.encode("utf-8"))


def save_keras_model(model, path: str | os.PathLike) -> pathlib.Path:
    """`model.save(path)` (a `.keras` file), atomically; returns the path.

    Example:

    >>> import tempfile
    >>> from keras_colorful import models
    >>> save_keras_model(models.build_model("tiny"), tempfile.mkdtemp() + "/net.keras").name
    'net.keras'
    """
    path = pathlib.Path(os.fspath(path)).expanduser()
    if path.suffix != ".keras":
        raise ValueError(f"A Keras model file must end in .keras, got {str(path)!r}.")
    with atomic_path(path) as partial:
        model.save(partial)
    return path
