"""Shared benchmark helpers: timing, peak memory, worker subprocesses, markdown and JSON.

Every benchmarked path runs in a worker: a subprocess of its own (so that its peak resident
memory is its own, and TensorFlow, PyTorch and LiteRT never share a process) that the parent
drives over stdin/stdout, one timed call per command. The parent times the paths of one
comparison in interleaved rounds (one call of each path per round), so that all of them see the
same background load on a shared machine and their ratios stay meaningful.

No third-party import here: the PyTorch and LiteRT workers must not load TensorFlow.

Example:

>>> samples = [0.3, 0.1, 0.2]
>>> summarize(samples)["median_s"]
0.2
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from keras_colorful import files

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
# The environment variable naming a folder of JPEG photos (searched recursively) for the input
# pipeline benchmark and the int8 calibration. Without it they use generated photos.
PHOTOS_ENV = "KERAS_COLORFUL_BENCHMARK_PHOTOS"
# Responses of a worker are the stdout lines that start with this (libraries may print too).
_MARK = "@@bench "


# --- photos --------------------------------------------------------------------------------


def train_photos() -> pathlib.Path | None:
    """The folder of photos named by $KERAS_COLORFUL_BENCHMARK_PHOTOS, or None when it is unset.

    With None, the pipeline benchmark measures generated JPEGs and the int8 calibration uses
    random images (the tables' notes say which).

    Raises:
        ValueError: the variable names something that is not a folder.
    """
    value = os.environ.get(PHOTOS_ENV)
    if not value:
        return None
    folder = pathlib.Path(value)
    if not folder.is_dir():
        raise ValueError(f"${PHOTOS_ENV} is {value!r}, which is not a folder.")
    return folder


# --- timing and memory ---------------------------------------------------------------------


def timed(function: Callable[[], object]) -> float:
    """Seconds one call of `function` takes (the call must return only when the work is done)."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def summarize(samples: Sequence[float]) -> dict:
    """Median, minimum and the samples (seconds) of repeated timings.

    Example:

    >>> summarize([2.0, 1.0])["min_s"]
    1.0
    """
    if not samples:
        raise ValueError("summarize needs at least one sample.")
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "samples_s": [round(s, 6) for s in samples],
    }


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mib() -> float | None:
    """Peak resident memory of this process (VmHWM) in MiB; None where /proc is missing."""
    kib = _status_kib("VmHWM")
    return None if kib is None else kib / 1024


def rss_mib() -> float | None:
    """Current resident memory of this process (VmRSS) in MiB; None where /proc is missing."""
    kib = _status_kib("VmRSS")
    return None if kib is None else kib / 1024


def reset_peak_rss() -> bool:
    """Resets VmHWM to the current RSS (Linux `clear_refs` 5); False where that is refused."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


# --- workers ---------------------------------------------------------------------------------


def serve(handler: Callable[[dict], dict]) -> None:
    """Worker side: answers each JSON command line of stdin with `handler(command)`.

    A command {"op": "quit"} (or the end of stdin) ends the loop. An exception in the handler is
    answered as {"error": "..."} and the loop goes on.
    """
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("op") == "quit":
            break
        try:
            answer = handler(command)
        except Exception as error:  # noqa: BLE001 -- reported to the parent, which decides
            answer = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(_MARK + json.dumps(answer) + "\n")
        sys.stdout.flush()


class WorkerError(RuntimeError):
    """A worker died or answered an error."""


class Worker:
    """Parent side: a `python -m <module> --worker <spec>` subprocess driven by JSON commands.

    Args:
        module: the module to run, e.g. "benchmarks.bench_inference"; its `__main__` must call
            `serve` when given `--worker`.
        spec: what the worker builds (JSON-serialisable), passed on its command line.
        env: extra environment variables (e.g. {"TF_ENABLE_ONEDNN_OPTS": "0"}).
        log_path: where the worker's stderr goes (TensorFlow's logs); os.devnull when None.
    """

    def __init__(self, module: str, spec: dict, env: dict | None = None, log_path=None):
        self.spec = spec
        environment = dict(os.environ)
        environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT)] + [p for p in environment.get("PYTHONPATH", "").split(os.pathsep) if p]
        )
        environment.update(env or {})
        self._log = open(log_path or os.devnull, "a")  # noqa: SIM115 -- closed in close()
        self._process = subprocess.Popen(
            [sys.executable, "-m", module, "--worker", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=REPO_ROOT,
            env=environment,
            text=True,
        )

    def send(self, command: dict) -> None:
        """Sends a command without waiting (see `receive`), so that workers can set up at once."""
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()

    def receive(self) -> dict:
        """The answer to the last command sent; raises WorkerError on an error or a dead worker."""
        for line in self._process.stdout:
            if _MARK in line:  # a library may have printed a partial line before it
                answer = json.loads(line.split(_MARK, 1)[1])
                if "error" in answer:
                    raise WorkerError(f"{self.spec}: {answer['error']}")
                return answer
        raise WorkerError(f"{self.spec}: the worker exited (code {self._process.wait()}).")

    def call(self, command: dict) -> dict:
        self.send(command)
        return self.receive()

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                self.send({"op": "quit"})
                self._process.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
        self._log.close()


class LocalWorker:
    """A `Worker` that runs its handler in this process (tests; peak RSS is then not its own)."""

    def __init__(self, handler: Callable[[dict], dict]):
        self._handler = handler
        self._answer = None

    def send(self, command: dict) -> None:
        self._answer = self._handler(command)

    def receive(self) -> dict:
        return self._answer

    def call(self, command: dict) -> dict:
        self.send(command)
        return self.receive()

    def close(self) -> None:
        pass


def broadcast(workers: Sequence, command: dict) -> list[dict]:
    """Sends `command` to every worker first, then collects the answers (parallel setup)."""
    for worker in workers:
        worker.send(command)
    return [worker.receive() for worker in workers]


def interleaved(
    workers: Sequence, command: dict, repeats: int, pause_s: float = 0.05
) -> list[list[float]]:
    """`repeats` rounds of one `command` per worker in turn; each answer's "seconds", per worker.

    Only one worker computes at a time; interleaving exposes all of them to the same load. The
    untimed `pause_s` before each call lets the previous worker's spinning threads go to sleep.
    """
    samples = [[] for _ in workers]
    for _ in range(repeats):
        for worker, collected in zip(workers, samples, strict=True):
            time.sleep(pause_s)
            collected.append(float(worker.call(command)["seconds"]))
    return samples


# --- reporting -------------------------------------------------------------------------------


@dataclasses.dataclass
class Table:
    """A markdown table: a title, the column names and rows of cells (numbers or text)."""

    title: str
    columns: list[str]
    rows: list[list] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    def markdown(self) -> str:
        """The table as markdown, numbers right-aligned with 3 significant digits (>= 100: ints).

        Example:

        >>> print(Table("t", ["a", "b"], [["x", 1234.5]]).markdown())
        ### t
        <BLANKLINE>
        | a | b |
        |---|---:|
        | x | 1234 |
        """
        align = ["---" if i == 0 else "---:" for i in range(len(self.columns))]
        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |"]
        lines.append("|" + "|".join(align) + "|")
        for row in self.rows:
            lines.append("| " + " | ".join(format_cell(cell) for cell in row) + " |")
        lines += [""] + self.notes if self.notes else []
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"title": self.title, "columns": self.columns, "rows": self.rows, "notes": self.notes}


def format_cell(value) -> str:
    """Numbers to 3 significant digits (at least the integer part), None to an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if value == 0 or abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def machine_info() -> dict:
    """CPU model, cores, load averages and library versions (those already imported)."""
    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "loadavg": load,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_json(path: str | os.PathLike, data: dict) -> None:
    """Writes `data` as indented JSON (parents created)."""
    files.write_text(path, json.dumps(data, indent=2, default=str) + "\n")
