"""Writing a TF Serving version folder all at once.

TF Serving serves `<model base path>/<integer version>/` and picks up a new version as soon as
its folder appears. `write_version` therefore writes into a hidden sibling folder (its name is
not a number, so the server ignores it) and renames it to the version number only when
complete: a killed export leaves at most a `.<version>.incomplete-*` folder behind, never a
half-written version. An existing version is replaced only with `overwrite`.

Example:

>>> import tempfile, pathlib
>>> base = pathlib.Path(tempfile.mkdtemp())
>>> path = write_version(base / "1", lambda folder: (pathlib.Path(folder) / "x").write_text("ok"))
>>> sorted(p.name for p in base.iterdir()), (base / "1" / "x").read_text()
(['1'], 'ok')
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import tempfile
from collections.abc import Callable

_VERSION = re.compile(r"^[0-9]+$")


def check_version_path(path: str | os.PathLike) -> pathlib.Path:
    """The path, if its last folder is a version number TF Serving will serve.

    Raises:
        ValueError: e.g. "models/colorizer" (no version) or "models/colorizer/v1".

    >>> check_version_path("models/colorizer/3").name
    '3'
    """
    path = pathlib.Path(path)
    if not _VERSION.match(path.name):
        raise ValueError(
            f"{os.fspath(path)!r} must end in a numeric version folder, e.g. "
            f"{os.fspath(path / '1')!r}: TF Serving serves <model base path>/<integer version>/ "
            "and ignores other folders."
        )
    return path


def write_version(path: str | os.PathLike, write: Callable[[str], object],
                  overwrite: bool = False) -> pathlib.Path:
    """Runs `write(folder)` on a temporary folder, then renames it to the version `path`.

    Args:
        path: the version folder, e.g. "models/colorizer/1" (see `check_version_path`).
        write: fills the folder it is given.
        overwrite: replace an existing non-empty version folder (after `write` succeeded).

    Returns:
        `path`.

    Raises:
        ValueError: not a version folder.
        FileExistsError: the version exists, is not empty, and `overwrite` is False (checked
            before writing).
    """
    path = check_version_path(path)
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise FileExistsError(
            f"{os.fspath(path)} exists and is not empty; pass overwrite=True (--overwrite) or "
            "a new version number."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix=f".{path.name}.incomplete-", dir=path.parent)
    try:
        write(temporary)
        old = None
        if path.exists():
            old = tempfile.mkdtemp(prefix=f".{path.name}.replaced-", dir=path.parent)
            os.replace(path, os.path.join(old, path.name))
        os.replace(temporary, path)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return path
