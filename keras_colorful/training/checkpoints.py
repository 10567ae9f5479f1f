"""Training checkpoints, found by their files and restored newest first, so no run is lost.

`tf.train.CheckpointManager` keeps a small state file (`checkpoints/checkpoint`) naming the
checkpoints it wrote; `tf.train.latest_checkpoint` trusts it. When that file is missing or
unreadable, or its newest checkpoint is truncated, a run would start again from step 0 (and its
saves would overwrite the old checkpoints) or crash naming no file. Here the checkpoints are found
by their own files (`ckpt-<step>.index`), tried from the newest down until one restores, every
one skipped is named with the reason, and the state file is written anew from what was found.

Example:

>>> import tempfile
>>> find_checkpoints(tempfile.mkdtemp())
[]
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re

import tensorflow as tf

PREFIX = "ckpt"
# A checkpoint that cannot be restored is renamed with this suffix: kept, never overwritten.
UNREADABLE_SUFFIX = ".unreadable"

_INDEX_FILE = re.compile(rf"^{PREFIX}-(\d+)\.index$")

log = logging.getLogger(__name__)


def find_checkpoints(directory: str) -> list[tuple[int, str]]:
    """(step, path prefix) of every checkpoint in `directory` by its `.index` file, newest first."""
    if not tf.io.gfile.isdir(directory):
        return []
    found = []
    for name in tf.io.gfile.listdir(directory):
        match = _INDEX_FILE.match(name)
        if match:
            found.append((int(match[1]), os.path.join(directory, name[: -len(".index")])))
    return sorted(found, reverse=True)


@dataclasses.dataclass(frozen=True)
class Restored:
    """What `restore_newest` did: the checkpoint restored (None: none) and those it skipped."""

    path: str | None
    skipped: tuple[tuple[str, str], ...]
    found: int


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".strip()


def restore_newest(checkpoint: tf.train.Checkpoint, directory: str) -> Restored:
    """Restores the newest checkpoint of `directory` that restores completely.

    Each checkpoint that fails (truncated data, a missing shard, variables that do not match) is
    logged with its path and the reason, and the next older one is tried.
    """
    candidates = find_checkpoints(directory)
    skipped = []
    for _, path in candidates:
        try:
            checkpoint.restore(path).assert_existing_objects_matched()
        except Exception as error:  # TensorFlow raises many kinds for broken checkpoints
            skipped.append((path, _reason(error)))
            log.warning("Skipping checkpoint %s: %s", path, skipped[-1][1])
            continue
        return Restored(path=path, skipped=tuple(skipped), found=len(candidates))
    return Restored(path=None, skipped=tuple(skipped), found=len(candidates))


def set_aside_unreadable(restored: Restored) -> None:
    """Renames the files of every skipped checkpoint (`.unreadable`): kept, never overwritten."""
    for path, _ in restored.skipped:
        for name in tf.io.gfile.glob(path + ".*"):
            if not name.endswith(UNREADABLE_SUFFIX):
                tf.io.gfile.rename(name, name + UNREADABLE_SUFFIX, overwrite=True)


def rewrite_state_file(directory: str) -> None:
    """Writes `checkpoint` anew from the checkpoint files present (newest last), atomically."""
    steps = sorted(find_checkpoints(directory))
    if steps:
        paths = [os.path.basename(path) for _, path in steps]
        tf.compat.v1.train.update_checkpoint_state(
            directory, paths[-1], all_model_checkpoint_paths=paths
        )
