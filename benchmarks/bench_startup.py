"""Start-up: a cold `keras-colorful colorize one.jpg` to its first colorized photo, in phases.

    PYTHONPATH=. python benchmarks/bench_startup.py [--repeats 3]

(`run_all.py` runs it with the other tables.) Every run is a fresh Python process on one
generated 2 MP JPEG, timed end to end by the parent. "now" and "before" run the command's own
`keras_colorful.cli.main` under `python -m benchmarks.bench_startup --cold VARIANT ...`, which
notes the time of each phase: Python and the imports (TensorFlow included), the model load, the
first colorize call, the PNG write; after `main` returns, the same photo is colorized again, so
that the first call splits into first trace / compile and the photo itself. "before" puts in the
Colorizer's old behaviour first (`baseline.patch_colorizer`: compiles when first used, the old
full-resolution steps, autograph on). A third column runs the plain command as users do, a fourth
the same `main` ending with Python's full exit (what `console_main` skips). The variants are
interleaved.

Example:

>>> phases({"launch": 0.0, "imported": 5.0, "loaded": 5.5, "first_start": 5.6,
...         "first_end": 7.6, "write_end": 8.0, "main_end": 8.1}, 0.2)["first trace / compile"]
1.8
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

try:
    from benchmarks import common
except ImportError:  # run as a script from benchmarks/
    import common

PHOTO_SIZE = (1224, 1632)  # 2 MP (height, width)
VARIANTS = {"now": "now (the command, instrumented)",
            "before": "before the start-up work (instrumented)",
            "plain": "now, `python -m keras_colorful colorize one.jpg -o out/` as is",
            "plain_full_exit": "the same, ending with Python's full exit (`sys.exit(cli.main())`)"}
# The plain commands: as users run it (`cli.console_main`, which skips Python's teardown after
# colorize), and the same `main` ending the usual way.
PLAIN_COMMANDS = {
    "plain": ["-m", "keras_colorful"],
    "plain_full_exit": ["-c", "import sys; from keras_colorful import cli; sys.exit(cli.main())"],
}
PHASES = ("Python + imports (TensorFlow included)", "model load", "first trace / compile",
          "the photo (colorize, warm)", "write PNG", "rest (reading, threads, planning)")


def phases(marks: dict, warm_s: float) -> dict:
    """Seconds of each phase from the marks (absolute times) and the warm colorize time."""
    first = marks["first_end"] - marks["first_start"]
    named = {
        PHASES[0]: marks["imported"] - marks["launch"],
        PHASES[1]: marks["loaded"] - marks["imported"],
        PHASES[2]: first - warm_s,
        PHASES[3]: warm_s,
        PHASES[4]: marks["write_end"] - marks["first_end"],
    }
    named[PHASES[5]] = marks["main_end"] - marks["launch"] - sum(named.values())
    return {name: round(value, 6) for name, value in named.items()}


def _cold(variant: str, photo: str, output: str, marks_path: str) -> None:
    """The instrumented command, in this fresh process: writes the marks as JSON."""
    marks = {"start": time.time()}
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from keras_colorful import cli, image_io
    from keras_colorful.cli import model_source
    from keras_colorful.inference import colorizer as colorizer_lib

    marks["imported"] = time.time()
    load_colorizer, colorize, write = (model_source.load_colorizer,
                                       colorizer_lib.Colorizer.colorize, image_io.write_image)
    loaded = {}

    def timed_load(args):
        loaded["colorizer"] = load_colorizer(args)
        marks["loaded"] = time.time()
        return loaded["colorizer"]

    def timed_colorize(self, *args, **kwargs):
        marks.setdefault("first_start", time.time())
        result = colorize(self, *args, **kwargs)
        marks.setdefault("first_end", time.time())
        return result

    def timed_write(*args, **kwargs):
        result = write(*args, **kwargs)
        marks.setdefault("write_end", time.time())
        return result

    model_source.load_colorizer = timed_load
    colorizer_lib.Colorizer.colorize = timed_colorize
    image_io.write_image = timed_write
    if variant == "before":
        try:
            from benchmarks import baseline
        except ImportError:
            import baseline
        patch = baseline.patch_colorizer()
    else:
        import contextlib

        patch = contextlib.nullcontext()
    with patch:
        status = cli.main(["colorize", photo, "--output", output, "--noprogress"])
        marks["main_end"] = time.time()
        rgb = image_io.read_image(photo)
        began = time.perf_counter()
        colorize(loaded["colorizer"], rgb)
        marks["warm_s"] = time.perf_counter() - began
    marks["status"] = status
    marks["done"] = time.time()
    pathlib.Path(marks_path).write_text(json.dumps(marks))


def _launch(variant: str, photo: str, work_dir: pathlib.Path, number: int) -> dict:
    """One cold run; the marks (with "launch" and "exit"), or the plain command's times."""
    output = work_dir / f"out_{variant}_{number}"
    marks_path = work_dir / f"marks_{variant}_{number}.json"
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(common.REPO_ROOT), environment.get("PYTHONPATH")]))
    if variant in PLAIN_COMMANDS:
        command = [sys.executable, *PLAIN_COMMANDS[variant], "colorize", photo, "--output",
                   str(output), "--noprogress"]
    else:
        command = [sys.executable, "-m", "benchmarks.bench_startup", "--cold", variant, photo,
                   str(output), str(marks_path)]
    launch = time.time()
    result = subprocess.run(command, cwd=common.REPO_ROOT, env=environment, check=False,
                            capture_output=True, text=True)
    ended = time.time()
    if result.returncode != 0:
        raise RuntimeError(f"{variant}: exit {result.returncode}: {result.stderr[-2000:]}")
    if variant in PLAIN_COMMANDS:
        return {"launch": launch, "main_end": ended}
    marks = json.loads(marks_path.read_text())
    return {**marks, "launch": launch, "exit": ended}


def startup_table(repeats: int, work_dir: str, variants=tuple(VARIANTS)):
    """The table of phases (medians over `repeats` cold runs per variant, interleaved)."""
    try:
        from benchmarks import photos
    except ImportError:
        import photos

    folder = pathlib.Path(work_dir) / "startup"
    (photo,) = photos.write_jpegs(folder, 1, PHOTO_SIZE)
    runs = {variant: [] for variant in variants}
    for number in range(repeats):
        for variant in variants:
            runs[variant].append(_launch(variant, str(photo), folder, number))
    medians = {}
    for variant, marks in runs.items():
        totals = [m["main_end"] - m["launch"] for m in marks]
        row = {"to first photo written (end to end)": statistics.median(totals)}
        if variant not in PLAIN_COMMANDS:
            row["then the process exit"] = statistics.median(m["exit"] - m["done"] for m in marks)
            split = [phases(m, m["warm_s"]) for m in marks]
            row.update({name: statistics.median(s[name] for s in split) for name in PHASES})
        medians[variant] = row
    columns = list(medians[variants[0]])
    table = common.Table(
        f"Start-up: cold `keras-colorful colorize one.jpg` ({PHOTO_SIZE[1]}x{PHOTO_SIZE[0]}), "
        "seconds",
        ["phase"] + [VARIANTS[v] for v in variants]
        + (["before / now"] if "before" in variants and "now" in variants else []))
    for name in columns:
        cells = [medians[v].get(name) for v in variants]
        if "before" in variants and "now" in variants:
            now, before = medians["now"].get(name), medians["before"].get(name)
            cells.append(before / now if now and before and now > 0 else None)
        table.rows.append([name] + cells)
    table.notes.append(
        f"Medians of {repeats} cold runs per column, interleaved; each a new Python process "
        "with the bundled model and the PNG written. 'the photo' is the same photo colorized "
        "again after the command returned; 'first trace / compile' is the first colorize call "
        "less that. 'rest' is the end-to-end time less the phases. The plain commands' times run "
        "to their exit.")
    return table, {"runs": runs, "medians": medians}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold", nargs=4, metavar=("VARIANT", "PHOTO", "OUTPUT", "MARKS"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.cold:
        _cold(*args.cold)
        return
    with tempfile.TemporaryDirectory() as work_dir:
        table, _ = startup_table(args.repeats, work_dir)
    print(table.markdown())


if __name__ == "__main__":
    main()
