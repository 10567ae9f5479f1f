"""MirroredStrategy over 2 logical CPU devices trains exactly like one device (same global batch)."""

import json
import os
import subprocess
import sys

import numpy as np

TESTS = os.path.dirname(os.path.abspath(__file__))


def test_mirrored_two_cpus_matches_one_device():
    env = dict(os.environ, PYTHONPATH=os.path.dirname(TESTS), TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, os.path.join(TESTS, "distributed_step_check.py")],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # Loss of each step: one device vs 2 replicas of half the batch (synchronised BatchNorm,
    # loss scaled per replica): equal to float32 round-off.
    np.testing.assert_allclose(report["mirrored_loss"], report["one_device_loss"], rtol=1e-4)
    assert report["max_weight_update"] > 1e-4  # the steps really changed the weights
    assert report["max_weight_difference"] < 1e-5 + 1e-2 * report["max_weight_update"]
