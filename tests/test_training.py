"""Training: loss goes down, config.json, resume after SIGKILL, bad data, optimiser."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_colorful.training import checkpoints as checkpoints_lib
from keras_colorful.training import config, optimizer, synthetic_photos, train_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_config(model_dir, data_dir, **overrides):
    values = dict(model_dir=str(model_dir), data_dir=str(data_dir), preset="tiny", batch_size=4,
                  train_steps=40, learning_rate=3e-3, checkpoint_every=5, crop_size=32,
                  resize_shorter_to=40, image_summary_every=20, num_summary_images=2, seed=1)
    values.update(overrides)
    return config.TrainingConfig(**values)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    synthetic_photos.write_demo_photos(str(folder), count=12, size=48)
    return folder


def test_tiny_training_loss_goes_down(tmp_path, photos):
    run = tiny_config(tmp_path / "run", photos)
    train_lib.train_and_evaluate(run, verbose=0)
    # Each Keras epoch is checkpoint_every = 5 steps; compare the first and last epochs' means.
    events = _scalars(tmp_path / "run" / "logs", "train/loss")
    assert len(events) >= 4
    first, last = np.mean(events[:2]), np.mean(events[-2:])
    assert last < 0.9 * first, (first, last)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["preset"] == "tiny" and saved["train_steps"] == 40
    assert (tmp_path / "run" / "model.keras").exists()
    assert _scalars(tmp_path / "run" / "logs", "train/images_per_second")
    assert _scalars(tmp_path / "run" / "logs", "train/unweighted_loss")
    # The losses per output pixel too (the paper's unit): the per-image sums / (h * w).
    pixels = (run.crop_size // 4) ** 2
    per_pixel = _scalars(tmp_path / "run" / "logs", "train/unweighted_loss_per_pixel")
    per_image = _scalars(tmp_path / "run" / "logs", "train/unweighted_loss")
    assert len(per_pixel) == len(per_image)
    np.testing.assert_allclose(np.array(per_pixel) * pixels, per_image, rtol=1e-4)
    assert _scalars(tmp_path / "run" / "logs", "train/loss_per_pixel")
    loaded = keras.models.load_model(tmp_path / "run" / "model.keras")
    assert loaded.output_shape[-1] == 313


def _scalars(log_dir, tag):
    import tensorflow as tf

    values = []
    for name in sorted(os.listdir(log_dir)):
        for event in tf.compat.v1.train.summary_iterator(os.path.join(log_dir, name)):
            for value in event.summary.value:
                if value.tag == tag:
                    values.append(float(tf.make_ndarray(value.tensor)))
    return values


def test_resume_continues_to_train_steps(tmp_path, photos):
    first = train_lib.train_and_evaluate(tiny_config(tmp_path, photos, train_steps=10), verbose=0)
    assert first["step"] == 10 and first["resumed_from"] == 0
    second = train_lib.train_and_evaluate(tiny_config(tmp_path, photos, train_steps=15), verbose=0)
    assert second["resumed_from"] == 10 and second["step"] == 15


def test_bad_data_is_counted_and_empty_folder_is_an_error(tmp_path, photos):
    data = tmp_path / "data"
    data.mkdir()
    for name in sorted(os.listdir(photos))[:4]:
        (data / name).write_bytes((photos / name).read_bytes())
    (data / "broken.jpg").write_bytes(b"not an image")
    (data / "empty.png").write_bytes(b"")
    result = train_lib.train_and_evaluate(
        tiny_config(tmp_path / "run", data, train_steps=3, batch_size=2), verbose=0)
    assert result["data"]["num_files"] == 6 and result["data"]["num_skipped"] == 2
    assert {os.path.basename(p) for p in result["data"]["skipped"]} == {"broken.jpg", "empty.png"}
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="No image files.*empty"):
        train_lib.train_and_evaluate(tiny_config(tmp_path / "run2", empty), verbose=0)


def test_sigkill_then_same_command_resumes(tmp_path, photos):
    model_dir = tmp_path / "run"
    command = [sys.executable, os.path.join(REPO, "scripts", "train.py"),
               f"--data_dir={photos}", f"--model_dir={model_dir}", "--preset=tiny",
               "--batch_size=2", "--train_steps=400", "--checkpoint_every=5", "--crop_size=32",
               "--resize_shorter_to=40", "--image_summary_every=0"]
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    checkpoints = model_dir / "checkpoints"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if checkpoints.exists() and any(n.startswith("ckpt-10.") for n in os.listdir(checkpoints)):
            break
        time.sleep(0.2)
    assert process.poll() is None, "training ended before it could be killed"
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait()
    import tensorflow as tf

    # The state file can lag behind the checkpoint files (a kill between the two writes); the
    # run resumes from the newest checkpoint that restores, never an older one than the state's.
    by_state = int(tf.train.latest_checkpoint(str(checkpoints)).rsplit("-", 1)[1])
    by_files = sorted(step for step, _ in checkpoints_lib.find_checkpoints(str(checkpoints)))
    assert 10 <= by_state <= by_files[-1] < 400
    target = by_files[-1] + 5
    resumed = subprocess.run(command[:-5] + [f"--train_steps={target}"] + command[-4:],
                             env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    match = re.search(r"Resuming from (\S+) at step (\d+)\.", resumed.stderr)
    assert match, resumed.stderr[-3000:]
    step = int(match[2])
    assert match[1] == str(checkpoints / f"ckpt-{step}")
    assert by_state <= step <= by_files[-1]
    assert f"at step {target}" in resumed.stdout
    assert json.loads((model_dir / "config.json").read_text())["train_steps"] == target


def test_adam_with_l2_adds_weight_decay_to_kernel_gradients():
    kernel = keras.Variable(np.array([[1.0, -2.0]]), name="kernel")
    bias = keras.Variable(np.array([3.0]), name="bias")
    with_l2 = optimizer.AdamWithL2(l2=0.5, learning_rate=0.1)
    plain = keras.optimizers.Adam(learning_rate=0.1)
    kernel_ref = keras.Variable(np.array([[1.0, -2.0]]), name="kernel")
    bias_ref = keras.Variable(np.array([3.0]), name="bias")
    gradient = np.array([[0.2, 0.4]])
    with_l2.apply_gradients([(gradient, kernel), (np.array([1.0]), bias)])
    plain.apply_gradients([(gradient + 0.5 * kernel_ref.numpy(), kernel_ref),
                           (np.array([1.0]), bias_ref)])
    np.testing.assert_allclose(kernel.numpy(), kernel_ref.numpy(), rtol=1e-6)
    np.testing.assert_allclose(bias.numpy(), bias_ref.numpy(), rtol=1e-6)


def test_learning_rate_schedule_follows_the_release():
    adam = optimizer.build_optimizer(learning_rate=1.0, lr_decay_factor=0.316, lr_decay_steps=10)
    schedule = adam._learning_rate
    np.testing.assert_allclose([float(schedule(s)) for s in (0, 9, 10, 25)],
                               [1.0, 1.0, 0.316, 0.316**2], rtol=1e-6)


def test_config_validation():
    with pytest.raises(ValueError, match="crop_size"):
        config.TrainingConfig(model_dir="x", crop_size=30)
    with pytest.raises(ValueError, match="batch_size"):
        config.TrainingConfig(model_dir="x", batch_size=0)
    with pytest.raises(ValueError, match="Unknown"):
        config.TrainingConfig.from_dict({"model_dir": "x", "bogus": 1})
