"""MultiWorkerMirroredStrategy: 2 worker processes on 127.0.0.1 (CPU) train the tiny preset.

Both workers end with the same weights, only the chief writes model_dir (the other worker's
`workertemp_1` is removed), and after one worker is SIGKILLed the restarted job resumes from the
chief's last checkpoint.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from keras_colorful.data import tfrecords
from tests import image_factory

TESTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TESTS)
TIMEOUT = 240  # seconds per job; a hung collective must not hang the suite


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for one in sockets:
        one.bind(("127.0.0.1", 0))
    ports = [one.getsockname()[1] for one in sockets]
    for one in sockets:
        one.close()
    return ports


def run_config(model_dir, data_dir, **overrides):
    values = dict(model_dir=str(model_dir), data_dir=str(data_dir), preset="tiny", batch_size=4,
                  train_steps=4, learning_rate=1e-3, checkpoint_every=2, crop_size=32,
                  resize_shorter_to=40, image_summary_every=0, num_summary_images=1, seed=0)
    values.update(overrides)
    return values


class Job:
    """Two worker processes of one TF_CONFIG cluster; logs go to files (no pipe can fill up)."""

    def __init__(self, tmp_path, config, name):
        ports = free_ports(2)
        cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
        self.weights = [tmp_path / f"{name}_worker{i}.npz" for i in range(2)]
        self.logs = [(tmp_path / f"{name}_worker{i}.out", tmp_path / f"{name}_worker{i}.err")
                     for i in range(2)]
        self.processes = []
        for i in range(2):
            tf_config = {"cluster": cluster, "task": {"type": "worker", "index": i}}
            env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2",
                       CUDA_VISIBLE_DEVICES="", TF_CONFIG=json.dumps(tf_config))
            out, err = (open(path, "w") for path in self.logs[i])
            self.processes.append(subprocess.Popen(
                [sys.executable, os.path.join(TESTS, "multi_worker_main.py"), json.dumps(config),
                 str(self.weights[i])], env=env, stdout=out, stderr=err))

    def tails(self):
        return "\n".join(f"--- worker {i} stderr ---\n{err.read_text()[-3000:]}"
                         for i, (_, err) in enumerate(self.logs))

    def wait(self):
        """Waits for both workers; returns their JSON summaries."""
        deadline = time.time() + TIMEOUT
        for process in self.processes:
            try:
                process.wait(timeout=max(1.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail("multi-worker job timed out\n" + self.tails())
        codes = [process.returncode for process in self.processes]
        assert codes == [0, 0], f"exit codes {codes}\n{self.tails()}"
        return [json.loads(out.read_text().strip().splitlines()[-1]) for out, _ in self.logs]

    def kill(self):
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait()


def load_weights(path):
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


def assert_same_weights(first, second, summary):
    """Trainable weights are all-reduced: equal on every worker. BatchNorm moving statistics are
    too when the BatchNorm is synchronized; otherwise each worker keeps its own replica's."""
    assert sorted(first) == sorted(second)
    same = first if summary["synchronized_batch_norm"] else summary["trainable"]
    assert len(same) >= len(summary["trainable"]) > 0
    for name in same:
        np.testing.assert_allclose(first[name], second[name], rtol=0, atol=1e-6, err_msg=name)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    image_factory.write_color_images(folder, 8, size=(40, 48))
    return folder


def test_two_workers_train_to_the_same_weights_and_only_the_chief_writes(tmp_path, photos):
    model_dir = tmp_path / "run"
    job = Job(tmp_path, run_config(model_dir, photos), "run")
    chief, worker = job.wait()
    assert (chief["step"], chief["resumed_from"], chief["is_chief"]) == (4, 0, True)
    assert (worker["step"], worker["resumed_from"], worker["is_chief"]) == (4, 0, False)
    assert np.isfinite(chief["loss"]) and chief["loss"] == worker["loss"]  # a global mean
    weights = [load_weights(path) for path in job.weights]
    assert_same_weights(*weights, chief)
    # Only the chief's outputs remain; worker 1's temporary directory is gone.
    assert sorted(os.listdir(model_dir)) == ["checkpoints", "config.json", "logs", "model.keras"]
    checkpoints = model_dir / "checkpoints"
    assert tf.train.latest_checkpoint(str(checkpoints)).endswith("ckpt-4")
    # The weights moved between the checkpoints at steps 2 and 4, and model.keras holds the end.
    reader2 = tf.train.load_checkpoint(str(checkpoints / "ckpt-2"))
    reader4 = tf.train.load_checkpoint(str(checkpoints / "ckpt-4"))
    kernels = [name for name, shape in reader4.get_variable_to_shape_map().items()
               if "OPTIMIZER_SLOT" not in name and len(shape) == 4]
    assert kernels
    assert any(np.abs(reader2.get_tensor(k) - reader4.get_tensor(k)).max() > 1e-6 for k in kernels)
    import keras

    from keras_colorful import models  # noqa: F401  (registers the network's classes)

    saved = keras.models.load_model(model_dir / "model.keras")
    for variable in saved.weights:  # the chief's own weights, moving statistics included
        np.testing.assert_array_equal(variable.numpy(), weights[0][variable.path])


def test_killed_worker_then_restarted_job_resumes_from_the_last_checkpoint(tmp_path, photos):
    # TFRecord shards this time: each worker reads 2 of the 4 shards.
    manifest = tfrecords.write_tfrecords(photos, str(tmp_path / "shards" / "train"),
                                         num_shards=4, progress=False)
    assert manifest.num_images == 8
    data = tmp_path / "shards" / "train-*.tfrecord"
    model_dir = tmp_path / "run"
    checkpoints = model_dir / "checkpoints"
    job = Job(tmp_path, run_config(model_dir, data, train_steps=10_000), "first")
    deadline = time.time() + TIMEOUT
    while time.time() < deadline and all(p.poll() is None for p in job.processes):
        if tf.train.latest_checkpoint(str(checkpoints)):
            break
        time.sleep(0.2)
    assert all(p.poll() is None for p in job.processes), "a worker ended early\n" + job.tails()
    assert tf.train.latest_checkpoint(str(checkpoints)), "no checkpoint in time\n" + job.tails()
    job.processes[1].send_signal(signal.SIGKILL)  # the non-chief worker dies
    job.processes[1].wait()
    # The chief now waits on collectives with a dead peer; the cluster manager restarts the job.
    job.kill()
    assert (model_dir / "workertemp_1").is_dir()  # the killed worker wrote only there
    killed_at = int(tf.train.latest_checkpoint(str(checkpoints)).rsplit("-", 1)[1])
    assert killed_at >= 2 and killed_at % 2 == 0

    restarted = Job(tmp_path, run_config(model_dir, data, train_steps=killed_at + 2), "second")
    chief, worker = restarted.wait()
    for summary in (chief, worker):
        assert summary["resumed_from"] == killed_at and summary["step"] == killed_at + 2
    assert_same_weights(*(load_weights(path) for path in restarted.weights), chief)
    assert tf.train.latest_checkpoint(str(checkpoints)).endswith(f"ckpt-{killed_at + 2}")
    assert not (model_dir / "workertemp_1").exists()
    assert "Resuming from" in restarted.logs[1][1].read_text()  # the worker restored it too


def test_strategy_selection_and_chief_rules():
    from keras_colorful.training import config, strategies

    assert strategies.STRATEGIES == config.STRATEGIES
    two = json.dumps({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}})
    one = json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 0}})
    assert strategies.resolve_name("auto", environ={"TF_CONFIG": two}) == "multi_worker"
    assert strategies.resolve_name("auto", environ={"TF_CONFIG": one}) == "mirrored"
    assert strategies.resolve_name("auto", environ={}) == "mirrored"
    assert strategies.resolve_name("auto", tpu="local", environ={"TF_CONFIG": two}) == "tpu"
    assert strategies.resolve_name("one_device", environ={"TF_CONFIG": two}) == "one_device"
    with pytest.raises(ValueError, match="Unknown strategy"):
        strategies.resolve_name("horovod")
    with pytest.raises(ValueError, match="TF_CONFIG"):
        strategies.tf_config({"TF_CONFIG": "{not json"})
    workers = {"worker": ["a:1", "b:1"]}
    with_chief = {"chief": ["c:1"], "worker": ["a:1", "b:1"]}
    assert strategies.is_chief_task("worker", 0, workers)
    assert not strategies.is_chief_task("worker", 1, workers)
    assert strategies.is_chief_task("chief", 0, with_chief)
    assert not strategies.is_chief_task("worker", 0, with_chief)
    assert strategies.is_chief_task(None, None, None)
    for name in strategies.STRATEGIES:
        config.TrainingConfig(model_dir="x", strategy=name)
    with pytest.raises(ValueError, match="strategy must be one of"):
        config.TrainingConfig(model_dir="x", strategy="horovod")
