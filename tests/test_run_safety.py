"""Nothing lost: a training run's folder survives a kill, a broken state file, a truncated
checkpoint, a change of settings and a second run; final files are written atomically."""

import json
import logging
import os
import signal
import subprocess
import sys
import time

import pytest

import keras_colorful
from keras_colorful import files
from keras_colorful.training import checkpoints, config, run_directory, synthetic_photos, train_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")


def tiny_config(model_dir, data_dir, **overrides):
    values = dict(model_dir=str(model_dir), data_dir=str(data_dir), preset="tiny", batch_size=2,
                  train_steps=10, learning_rate=3e-3, checkpoint_every=5, crop_size=32,
                  resize_shorter_to=40, image_summary_every=0, num_summary_images=1, seed=1)
    values.update(overrides)
    return config.TrainingConfig(**values)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    synthetic_photos.write_demo_photos(str(folder), count=6, size=48)
    return folder


def _train(model_dir, photos, **overrides):
    return train_lib.train_and_evaluate(tiny_config(model_dir, photos, **overrides), verbose=0)


def _steps(model_dir):
    return [step for step, _ in checkpoints.find_checkpoints(str(model_dir / "checkpoints"))]


def test_missing_or_corrupt_state_file_resumes_from_the_checkpoint_files(tmp_path, photos):
    run = tmp_path / "run"
    _train(run, photos, train_steps=10)
    state = run / "checkpoints" / "checkpoint"
    state.unlink()
    assert _train(run, photos, train_steps=15)["resumed_from"] == 10
    state.write_text("this is not a checkpoint state \x00\xff")
    assert _train(run, photos, train_steps=20)["resumed_from"] == 15
    assert _steps(run)[:3] == [20, 15, 10]  # nothing overwritten or rotated away by mistake


def test_a_truncated_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, photos, caplog):
    run = tmp_path / "run"
    _train(run, photos, train_steps=10)
    data = run / "checkpoints" / "ckpt-10.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with caplog.at_level(logging.WARNING):
        result = _train(run, photos, train_steps=15)
    assert result["resumed_from"] == 5 and result["step"] == 15
    skipped = [r.getMessage() for r in caplog.records if "Skipping checkpoint" in r.getMessage()]
    assert len(skipped) == 1 and "ckpt-10" in skipped[0]
    # The unreadable checkpoint is kept under another name, not overwritten by the new ckpt-10.
    assert (run / "checkpoints" / ("ckpt-10.data-00000-of-00001" + checkpoints.UNREADABLE_SUFFIX)
            ).exists()
    assert _steps(run)[:2] == [15, 10]


def test_no_restorable_checkpoint_is_an_error_unless_restart(tmp_path, photos):
    run = tmp_path / "run"
    _train(run, photos, train_steps=5)
    data = run / "checkpoints" / "ckpt-5.data-00000-of-00001"
    data.write_bytes(b"")
    before = sorted(os.listdir(run / "checkpoints"))
    with pytest.raises(ValueError, match=r"None of the 1 checkpoints.*ckpt-5.*--restart"):
        _train(run, photos, train_steps=10)
    assert sorted(os.listdir(run / "checkpoints")) == before  # untouched
    result = train_lib.train_and_evaluate(tiny_config(run, photos, train_steps=5), verbose=0,
                                          restart=True)
    assert result["resumed_from"] == 0 and result["step"] == 5
    kept = [name for name in os.listdir(run) if name.startswith("checkpoints.before-restart-")]
    assert len(kept) == 1 and sorted(os.listdir(run / kept[0])) == before


def test_settings_are_checked_before_anything_is_written(tmp_path, photos):
    run = tmp_path / "run"
    _train(run, photos, train_steps=5)
    saved = (run / "config.json").read_bytes()
    with pytest.raises(ValueError, match=r"preset 'tiny' -> 'small'.*--restart"):
        _train(run, photos, train_steps=10, preset="small")
    assert (run / "config.json").read_bytes() == saved
    assert _steps(run) == [5]
    # A deliberate change resumes, and is recorded.
    result = _train(run, photos, train_steps=10, learning_rate=1e-3)
    assert result["resumed_from"] == 5 and result["step"] == 10
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert history[-1]["changed"] == {"learning_rate": [3e-3, 1e-3], "train_steps": [5, 10]}
    assert json.loads((run / "config.json").read_text())["learning_rate"] == 1e-3


_HOLD_LOCK = """
import sys, time
from keras_colorful.training import run_directory
with run_directory.RunLock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(600)
"""


def test_a_second_run_refuses_and_a_killed_run_does_not_keep_the_folder(tmp_path, photos):
    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(run)], env=ENV,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(run_directory.RunInUseError, match=rf"pid {holder.pid}"):
            _train(run, photos, train_steps=2)
        assert not (run / "config.json").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert _train(run, photos, train_steps=2)["step"] == 2


_SAVE_IN_A_LOOP = """
import sys
from keras_colorful import files, models
net = models.build_model("small")
files.save_keras_model(net, sys.argv[1])
print("saved once", flush=True)
while True:
    files.save_keras_model(net, sys.argv[1])
"""


def test_a_kill_while_saving_leaves_a_complete_model(tmp_path):
    path = tmp_path / "model.keras"
    for delay in (0.05, 0.3, 0.7):
        process = subprocess.Popen([sys.executable, "-c", _SAVE_IN_A_LOOP, str(path)], env=ENV,
                                   stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "saved once"
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        net = keras_colorful.load(path).model  # the old complete file or the new complete one
        assert net.count_params() > 2_000_000
    leftovers = [name for name in os.listdir(tmp_path) if files.PARTIAL_MARK in name]
    assert len(leftovers) <= 3  # stray partial files of killed writers, never the destination


def test_a_failed_write_leaves_the_old_file(tmp_path, tiny_net, monkeypatch):
    path = tmp_path / "model.keras"
    files.save_keras_model(tiny_net, path)
    before = path.read_bytes()

    def broken_save(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as file:
            file.write(b"PK\x03\x04 half")
        raise OSError("disk full")

    monkeypatch.setattr(type(tiny_net), "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        files.save_keras_model(tiny_net, path)
    assert path.read_bytes() == before
    assert [name for name in os.listdir(tmp_path)] == ["model.keras"]


def test_written_files_get_the_mode_open_would_give_them(tmp_path):
    # What a plain open() creates under this process's umask, the independent reference.
    reference = tmp_path / "reference.txt"
    reference.write_text("x")
    expected = reference.stat().st_mode & 0o7777
    new = files.write_text(tmp_path / "new.json", "{}")
    assert new.stat().st_mode & 0o7777 == expected != 0o600
    # A file that is replaced keeps its own mode.
    os.chmod(new, 0o640)
    files.write_text(new, '{"again": 1}')
    assert new.stat().st_mode & 0o7777 == 0o640 and new.read_text() == '{"again": 1}'


def test_a_truncated_keras_file_is_named(tmp_path, tiny_net):
    path = tmp_path / "model.keras"
    files.save_keras_model(tiny_net, path)
    for cut in (0, path.stat().st_size // 2):
        path.write_bytes(path.read_bytes()[:cut])
        with pytest.raises(ValueError, match=r"model\.keras.*truncated or not a \.keras file"):
            keras_colorful.load(path)


def test_the_train_command_refuses_another_preset_unless_restart(tmp_path, photos, capsys):
    from keras_colorful import cli

    run = tmp_path / "run"
    argv = ["train", f"--data_dir={photos}", f"--model_dir={run}", "--batch_size=2",
            "--train_steps=2", "--crop_size=32", "--resize_shorter_to=40",
            "--image_summary_every=0", "--strategy=one_device"]  # three runs in one process
    assert cli.main([*argv, "--preset=tiny"]) == cli.EXIT_OK
    assert cli.main([*argv, "--preset=small"]) == cli.EXIT_FAILED
    assert "--restart" in capsys.readouterr().err
    assert json.loads((run / "config.json").read_text())["preset"] == "tiny"
    assert cli.main([*argv, "--preset=small", "--restart"]) == cli.EXIT_OK
    assert json.loads((run / "config.json").read_text())["preset"] == "small"
