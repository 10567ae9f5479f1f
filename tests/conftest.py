"""Fixtures shared by the test files: tiny networks and a Keras save/load round trip.

The "tiny" preset keeps every kind of layer of the paper's network at a fraction of the cost. A
freshly initialised network predicts nearly the same logits everywhere (one flat colour at every
temperature), so tests of colour use `colourful_tiny_net`, whose logits layer is scaled up until
the logits vary with L and the temperature matters.
"""

import keras
import numpy as np
import pytest

from keras_colorful import models

# PyTorch modules, run only in a process of their own by tests/torch_runner.py: the doctest
# collector would otherwise import them (and PyTorch, and on CUDA builds Triton) in this process.
collect_ignore = ["torch_eccv16.py", "torch_jobs.py"]


def build_colourful_tiny_net(seed: int = 0, logit_std: float = 3.0) -> models.ColorizationNet:
    """The seeded "tiny" network with its logits scaled to standard deviation `logit_std`."""
    keras.utils.set_random_seed(seed)
    net = models.build_model("tiny")
    l_sample = np.random.default_rng(seed).uniform(0, 100, (1, 64, 64, 1)).astype("float32")
    std = float(np.std(net(l_sample, training=False)))
    logits_layer = models.calibration.logits_layer(net)
    kernel, bias = logits_layer.get_weights()
    logits_layer.set_weights([kernel * (logit_std / std), bias])
    return net


@pytest.fixture(scope="session")
def colourful_tiny_net():
    """`build_colourful_tiny_net(seed, logit_std)`, the factory of colourful tiny networks."""
    return build_colourful_tiny_net


@pytest.fixture
def tiny_net():
    """A freshly initialised "tiny" network (seeded)."""
    keras.utils.set_random_seed(0)
    return models.build_model("tiny")


@pytest.fixture
def keras_round_trip(tmp_path):
    """Saves a model as a `.keras` file and loads it back: `keras_round_trip(model)`."""

    def round_trip(model: keras.Model, name: str = "model.keras") -> keras.Model:
        path = tmp_path / name
        model.save(path)
        return keras.saving.load_model(path)

    return round_trip


def pytest_sessionfinish(session, exitstatus):
    """PyTorch must never be loaded into the test process (see tests/torch_runner.py)."""
    import sys

    loaded = [name for name in ("torch", "triton") if name in sys.modules]
    if loaded:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nERROR: the test process imported {loaded}; run PyTorch code through "
              "tests/torch_runner.py.", file=sys.stderr)
