"""A training run's folder (`model_dir`): one run at a time, settings checked before anything.

- `RunLock`: an exclusive lock on `model_dir/run.lock` (the kernel's `flock`), so a second run
  pointed at the same folder refuses to start; the kernel releases it when the holder dies, so a
  killed run never leaves it stuck.
- `check_and_record_config`: compares the new settings with the run's `config.json` before
  anything is written; a change that cannot resume (the network's preset) is refused, deliberate
  ones (learning rate, steps, ...) are recorded in `history.jsonl`, then `config.json` is
  rewritten.
- `set_aside_checkpoints`: for an explicit restart, the old checkpoints move to a dated folder
  beside them instead of being overwritten.

Example:

>>> import tempfile
>>> with RunLock(tempfile.mkdtemp()):
...     pass
"""

from __future__ import annotations

import dataclasses
import datetime
import fcntl
import json
import os
import socket

from keras_colorful import files
from keras_colorful.training import config as config_lib

LOCK_FILE = "run.lock"
CONFIG_FILE = "config.json"
MODEL_FILE = "model.keras"  # the trained network, written at the end (`keras_colorful.load` reads it)
HISTORY_FILE = "history.jsonl"
# Settings a run cannot change and resume: the checkpoints hold that network.
FIXED_FIELDS = ("preset",)
# Settings that say nothing about the run itself (where it runs, how it is watched).
UNRECORDED_FIELDS = ("model_dir",)


class RunInUseError(RuntimeError):
    """Another process holds the run folder's lock."""


class RunLock:
    """Exclusive lock of a run folder for the life of the `with` block (or of the process).

    The lock file is removed when the block ends (a killed run leaves it, unlocked). A process
    that locked a file another one has just removed tries again with the new file, so two runs
    never both hold the lock.
    """

    def __init__(self, model_dir: str):
        self.path = os.path.join(model_dir, LOCK_FILE)
        self._file = None

    def _holder(self) -> str:
        try:
            with open(self.path) as file:
                return file.read().strip() or "another process"
        except OSError:
            return "another process"

    def __enter__(self) -> RunLock:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        while self._file is None:
            handle = open(self.path, "a+")  # noqa: SIM115 -- held until __exit__
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                raise RunInUseError(
                    f"{os.path.dirname(self.path)} is in use by another training run "
                    f"({self._holder()}). Wait for it to finish, or give this run another "
                    "--model_dir."
                ) from None
            try:
                same_file = os.stat(self.path).st_ino == os.fstat(handle.fileno()).st_ino
            except FileNotFoundError:
                same_file = False
            if not same_file:  # removed by its last holder meanwhile: lock the new one
                handle.close()
                continue
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since "
                         f"{datetime.datetime.now().isoformat(timespec='seconds')}\n")
            handle.flush()
            self._file = handle
        return self

    def __exit__(self, *exc_info) -> None:
        if self._file is not None:
            os.unlink(self.path)  # still holding the lock: nobody else holds this file
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def saved_config(model_dir: str) -> config_lib.TrainingConfig | None:
    """The run's `config.json`, or None when there is none."""
    path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as file:
        return config_lib.TrainingConfig.from_dict(json.load(file))


def check_and_record_config(config: config_lib.TrainingConfig, restart: bool = False) -> dict:
    """Checks `config` against the run's saved one, records the changes, writes `config.json`.

    Args:
        config: the settings of the run about to start.
        restart: the run starts again from step 0: any setting may change (recorded).

    Returns:
        {field: [old, new]} of the settings that changed (empty for a new run).

    Raises:
        ValueError: a change of a `FIXED_FIELDS` setting (the message names it and the way out);
            nothing is written then.
    """
    old = saved_config(config.model_dir)
    changes = {}
    if old is not None:
        old_values, new_values = dataclasses.asdict(old), dataclasses.asdict(config)
        changes = {name: [old_values[name], value] for name, value in new_values.items()
                   if value != old_values[name] and name not in UNRECORDED_FIELDS}
        fixed = {name: change for name, change in changes.items() if name in FIXED_FIELDS}
        if fixed and not restart:
            described = ", ".join(f"{name} {old!r} -> {new!r}" for name, (old, new) in fixed.items())
            raise ValueError(
                f"{config.model_dir} holds a run with other settings that cannot resume "
                f"({described}): its checkpoints are of that network. Use another --model_dir, "
                "or start this folder again from step 0 with --restart."
            )
    if changes or (restart and old is not None):
        entry = {"time": datetime.datetime.now().isoformat(timespec="seconds"),
                 "restart": restart, "changed": changes}
        with open(os.path.join(config.model_dir, HISTORY_FILE), "a") as history:
            history.write(json.dumps(entry, sort_keys=True) + "\n")
    files.write_text(os.path.join(config.model_dir, CONFIG_FILE),
                     json.dumps(config.to_dict(), indent=2, sort_keys=True))
    return changes


def set_aside_checkpoints(checkpoint_dir: str) -> str | None:
    """Moves a checkpoint folder to `<folder>.before-restart-<time>`; returns the new path."""
    if not os.path.isdir(checkpoint_dir) or not os.listdir(checkpoint_dir):
        return None
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    destination = f"{checkpoint_dir}.before-restart-{stamp}"
    os.rename(checkpoint_dir, destination)
    return destination
