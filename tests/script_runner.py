"""Runs the repository's command-line scripts as a user would: a fresh Python, from the root.

>>> result = run_script("scripts/evaluate.py")  # without its required --data_dir
>>> result.returncode != 0 and "--data_dir" in result.stderr
True
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_script(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python <script> <args>` in the repository root, the checkout importable, output captured.

    Args:
        script: path relative to the repository root, e.g. "scripts/evaluate.py".
        args: command-line arguments.
        timeout: seconds before subprocess.TimeoutExpired.

    Returns:
        The finished process (text stdout and stderr); a non-zero exit does not raise, so tests
        can assert on failures as well as successes.
    """
    python_path = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(REPO_ROOT)]))
    environment = dict(os.environ, PYTHONPATH=python_path, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / script), *args],
        capture_output=True, text=True, env=environment, cwd=REPO_ROOT, timeout=timeout,
        check=False,
    )
