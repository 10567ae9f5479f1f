"""Runs PyTorch code for the tests in a process of its own, never in the pytest process.

A process that has loaded TensorFlow crashes when PyTorch loads Triton (TensorFlow and Triton each
carry their own LLVM, and Triton's start-up code then writes into TensorFlow's: a segmentation
fault in `libtriton.so`'s static initialisers, with the CUDA build of torch that pip installs by
default). So the tests never import torch: they hand numpy inputs to the jobs of
`tests/torch_jobs.py`, which run in a fresh Python with torch and without TensorFlow, and compare
the numpy outputs in the test process.

Example (not run here: it starts a process):

    outputs = torch_runner.run({"lab": {"rgb": rgb}}, tmp_path)
    outputs["lab"]["lab"]  # the PyTorch port's Lab of `rgb`
"""

import os
import pathlib
import subprocess
import sys

import numpy as np

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
# Separates a job's name from its input or output key in the .npz files.
SEPARATOR = "/"


def run(jobs: dict[str, dict], work_dir: pathlib.Path, timeout: float = 600) -> dict[str, dict]:
    """Runs `{job: inputs}` in one PyTorch process; returns `{job: outputs}` (numpy arrays).

    A job's name is a function of `tests/torch_jobs.py`, optionally followed by "#" and a label,
    so that one function can run on several inputs. Inputs are numpy arrays or values numpy
    stores (numbers, strings, lists of them).
    """
    work_dir = pathlib.Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    inputs, outputs = work_dir / "torch_inputs.npz", work_dir / "torch_outputs.npz"
    np.savez(inputs, **{f"{job}{SEPARATOR}{key}": np.asarray(value)
                        for job, values in jobs.items() for key, value in values.items()},
             **{f"{job}{SEPARATOR}": np.zeros(0) for job in jobs})
    python_path = os.pathsep.join(filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "tests.torch_jobs", str(inputs), str(outputs)],
        capture_output=True, text=True, cwd=REPOSITORY, timeout=timeout, check=False,
        env=dict(os.environ, PYTHONPATH=python_path, CUDA_VISIBLE_DEVICES=""),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    collected: dict[str, dict] = {job: {} for job in jobs}
    with np.load(outputs, allow_pickle=False) as arrays:
        for name in arrays.files:
            job, key = name.split(SEPARATOR, 1)
            collected[job][key] = arrays[name]
    return collected
