"""A folder of photos: `keras-colorful colorize folder/` against one photo after another.

    PYTHONPATH=. python benchmarks/bench_folder.py [--photos 200] [--rounds 4]

(`run_all.py` runs it with the other tables.) Generated 2 MP JPEGs (`photos.write_jpegs`,
1632x1224), split into `rounds` subfolders. Two workers, each a process of its own with the
bundled model loaded and warmed up once: "command" runs the command's path
(`keras_colorful.cli.main(["colorize", folder, "-o", ..., "--batch-size", "1"])`: reading, the
network and PNG writing overlap on threads), "sequential" reads, colorizes and writes each PNG
in turn. They take the subfolders in turn (interleaved), and every output file of the two is
compared byte for byte. Model loading is not timed (the command's `load_colorizer` returns the
worker's loaded model). A third row runs the command with `--png-compression 1` (the PNG level
that bounds the folder; its files are compared by pixels and size). `--writers N ...` adds
command rows with other `WRITE_THREADS`.

Example:

>>> photos_per_s(200, 80.0)
2.5
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import tempfile

try:
    from benchmarks import common
except ImportError:  # run as a script from benchmarks/
    import common

MODULE = "benchmarks.bench_folder"
PHOTO_SIZE = (1224, 1632)  # 2 MP (height, width)
RATIO_TARGET = 1.7
FAST_PNG_LEVEL = 1  # the third row's --png-compression


def photos_per_s(count: int, seconds: float) -> float:
    return count / seconds


def make_handler(spec: dict):
    """Worker: "command" or "sequential". Commands: setup {photo}, run {folder, output}."""
    import resource
    import time

    import keras_colorful
    from keras_colorful import cli, image_io
    from keras_colorful.cli import colorize, model_source

    state = {}

    def sequential(folder: pathlib.Path, output: pathlib.Path) -> None:
        for path in sorted(folder.glob("*.jpg")):
            colorized = state["colorizer"].colorize(image_io.read_image(path), batch_size=1)
            image_io.write_image(output / (path.stem + ".png"), colorized)

    def command(folder: pathlib.Path, output: pathlib.Path) -> None:
        saved = model_source.load_colorizer, colorize.WRITE_THREADS
        model_source.load_colorizer = lambda args: state["colorizer"]  # loaded once, not timed
        colorize.WRITE_THREADS = int(spec.get("write_threads") or colorize.WRITE_THREADS)
        try:
            level = spec.get("png_compression")
            status = cli.main(["colorize", str(folder), "--output", str(output),
                               "--batch-size", "1", "--noprogress",
                               *([] if level is None else ["--png-compression", str(level)])])
        finally:
            model_source.load_colorizer, colorize.WRITE_THREADS = saved
        if status != 0:
            raise RuntimeError(f"keras-colorful colorize exited with {status}.")

    run = command if spec["path"] == "command" else sequential

    def handler(request: dict) -> dict:
        if request["op"] == "setup":
            state["colorizer"] = keras_colorful.load()
            with tempfile.TemporaryDirectory() as scratch:
                state["colorizer"].colorize(image_io.read_image(request["photo"]))
                image_io.write_image(pathlib.Path(scratch) / "warm.png",
                                     image_io.read_image(request["photo"]))
            return {}
        if request["op"] == "run":
            cpu = resource.getrusage(resource.RUSAGE_SELF)
            began = time.perf_counter()
            run(pathlib.Path(request["folder"]), pathlib.Path(request["output"]))
            seconds = time.perf_counter() - began
            used = resource.getrusage(resource.RUSAGE_SELF)
            cpu_s = used.ru_utime - cpu.ru_utime + used.ru_stime - cpu.ru_stime
            return {"seconds": seconds, "cpu_seconds": cpu_s}
        raise ValueError(f"Unknown command {request}.")

    return handler


def _same_bytes(first: pathlib.Path, second: pathlib.Path) -> tuple[int, int]:
    """(files of `first` identical in `second`, files of `first`)."""
    files = sorted(first.rglob("*.png"))
    same = sum((second / f.relative_to(first)).read_bytes() == f.read_bytes() for f in files)
    return same, len(files)


def _same_pixels_and_size(first: pathlib.Path, second: pathlib.Path) -> tuple[int, float]:
    """(PNGs of `first` with the same pixels in `second`, total bytes of second / first)."""
    from PIL import Image

    files = sorted(first.rglob("*.png"))
    same = sum(Image.open(f).tobytes() == Image.open(second / f.relative_to(first)).tobytes()
               for f in files)
    sizes = [sum(f.stat().st_size for f in folder.rglob("*.png")) for folder in (first, second)]
    return same, sizes[1] / sizes[0]


def folder_table(count: int, rounds: int, start_worker, work_dir: str, size=PHOTO_SIZE,
                 write_threads=(), png_compression=FAST_PNG_LEVEL) -> tuple[common.Table, dict]:
    """Photos/s of the command and of one photo after another on `count` generated photos."""
    try:
        from benchmarks import photos
    except ImportError:
        import photos

    from keras_colorful.cli import colorize

    root = pathlib.Path(work_dir) / "folder"
    rounds = max(1, min(rounds, count))
    folders = [root / "in" / f"part_{i}" for i in range(rounds)]
    for number in range(count):
        photos.write_jpegs(folders[number % rounds], 1, size, first=number)
    labels = {"command": f"`keras-colorful colorize folder/` ({colorize.READ_THREADS} readers, "
                         f"{colorize.WRITE_THREADS} writers)",
              "sequential": "one after another: read, colorize, write PNG"}
    specs = [("command", {"path": "command"}), ("sequential", {"path": "sequential"})]
    if png_compression is not None:
        labels["command_png"] = f"the command, --png-compression {png_compression}"
        specs.append(("command_png", {"path": "command", "png_compression": png_compression}))
    for threads in write_threads:
        labels[f"command_{threads}"] = f"the command, WRITE_THREADS = {threads} [explore]"
        specs.append((f"command_{threads}", {"path": "command", "write_threads": threads}))
    workers = [start_worker(MODULE, spec) for _, spec in specs]
    seconds = {name: 0.0 for name, _ in specs}
    cpu_seconds = dict(seconds)
    try:
        first = str(next(folders[0].glob("*.jpg")))
        common.broadcast(workers, {"op": "setup", "photo": first})
        for number, folder in enumerate(folders):
            order = list(zip(specs, workers, strict=True))
            if number % 2:
                order.reverse()  # who goes first alternates
            for (name, _), worker in order:
                output = root / "out" / name / folder.name
                answer = worker.call({"op": "run", "folder": str(folder), "output": str(output)})
                seconds[name] += answer["seconds"]
                cpu_seconds[name] += answer["cpu_seconds"]
    finally:
        for worker in workers:
            worker.close()
    same, total = _same_bytes(root / "out" / "sequential", root / "out" / "command")
    png_note = ""
    if png_compression is not None:
        same_pixels, size_ratio = _same_pixels_and_size(root / "out" / "command",
                                                        root / "out" / "command_png")
        png_note = (f" --png-compression {png_compression}: {same_pixels} of {total} with the same "
                    f"pixels, files {size_ratio:.2f}x the size.")
    sequential_rate = photos_per_s(count, seconds["sequential"])
    table = common.Table(
        f"A folder of photos: {count} generated {size[1]}x{size[0]} JPEGs to PNGs",
        ["path", "photos/s", "s in all", "/ one after another", "CPU s per photo",
         "cores busy"])
    raw = {"photos": count, "rounds": rounds, "seconds": seconds, "cpu_seconds": cpu_seconds,
           "identical_outputs": same, "outputs": total, "rows": [], "png_note": png_note}
    for name, _ in specs:
        rate = photos_per_s(count, seconds[name])
        raw["rows"].append({"name": name, "photos_per_s": rate,
                            "vs_sequential": rate / sequential_rate})
        table.rows.append([labels[name], rate, seconds[name], rate / sequential_rate,
                           cpu_seconds[name] / count, cpu_seconds[name] / seconds[name]])
    table.notes.append(
        f"Both at --batch-size 1, the bundled model at network size 256, loaded and warmed up "
        f"once per worker (not timed); {rounds} subfolders taken in turn. Outputs: {same} of "
        f"{total} PNGs of the command byte for byte equal to one after another's.{png_note} Cores "
        f"busy: the worker's CPU time (all its threads) over its wall time; the machine has "
        f"{common.machine_info()['cores']}.")
    shutil.rmtree(root, ignore_errors=True)
    return table, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--writers", type=int, nargs="*", default=(),
                        help="also time the command with these WRITE_THREADS")
    args = parser.parse_args()
    if args.worker:
        common.serve(make_handler(json.loads(args.worker)))
        return
    with tempfile.TemporaryDirectory() as work_dir:
        table, _ = folder_table(args.photos, args.rounds,
                                lambda module, spec, env=None: common.Worker(module, spec, env),
                                work_dir, write_threads=args.writers)
    print(table.markdown())


if __name__ == "__main__":
    main()
