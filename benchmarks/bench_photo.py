"""One big photo: a JPEG to a colorized image in memory, step by step, against each step's floor.

    PYTHONPATH=. python benchmarks/bench_photo.py [--height 3000 --width 4000] [--repeats 5]

(`run_all.py` runs it with the other tables.) Two workers, each a process of its own with the
bundled model (`keras_colorful.load()`): "after" runs `Colorizer.colorize(path)` as the package
does now, "before" the same steps as they were before the speed work (`baseline.colorize`).
Their total times are interleaved; their outputs are compared (at most 1 uint8 level apart).

The "after" worker also times every step alone (decode, L, the network-input resize of L, the
network, the ab upsample and Lab to RGB, fused as `colorize` runs them and apart, PNG and JPEG
encoding) and measures, in the same process, the memory bandwidth (a large numpy copy) and the
matmul ceiling (`tf.linalg.matmul`). Each step's floor is its bytes moved at that bandwidth, or
for the network its FLOPs at that ceiling. Memory: peak RSS above the RSS right after `load()`.

Example (the floor of moving 100 MB at 10 GB/s):

>>> round(1e3 * floor_s(100e6, 10.0), 1)
10.0
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import tempfile
import time

try:
    from benchmarks import bench_ceiling, common
except ImportError:  # run as a script from benchmarks/
    import bench_ceiling
    import common

MODULE = "benchmarks.bench_photo"
TOTAL_TARGET_S = 0.5  # the targets for a 12 MP photo
MEMORY_TARGET_MIB = 400
BANDWIDTH_MIB = 256  # the numpy copy that measures the bandwidth
MATMUL_SIZE = 2048
MiB = 2**20


def floor_s(bytes_moved: float, gigabytes_per_s: float) -> float:
    """Seconds to move `bytes_moved` at `gigabytes_per_s`."""
    return bytes_moved / (gigabytes_per_s * 1e9)


def _median_s(function, repeats: int) -> float:
    function()  # warm
    return statistics.median(common.timed(function) for _ in range(repeats))


def _preset_of(net) -> str | None:
    from keras_colorful import presets

    for name, config in presets.PRESETS.items():
        if tuple(net.block_widths) == config["block_widths"] and (
                tuple(net.block_depths) == config["block_depths"]):
            return name
    return None


def _steps(colorizer, path: str, repeats: int, bandwidth_mib: int, matmul_size: int) -> dict:
    """Median seconds of each step (in turn as `colorize` runs them; parts and encodings
    alone), the bytes each moves, and the machine's bandwidth and matmul ceiling."""
    import io

    import numpy as np
    import tensorflow as tf
    from PIL import Image

    from keras_colorful import constants, image_io
    from keras_colorful.inference import full_resolution, pipeline

    data = pathlib.Path(path).read_bytes()
    rgb = image_io.read_image(path)
    height, width = rgb.shape[:2]
    size = pipeline.network_size_for(height, width, colorizer.network_size)
    l_full = full_resolution.lightness(rgb)
    l_network = pipeline.preprocess_l(l_full[np.newaxis], size).numpy()
    temperature = constants.ANNEALED_MEAN_TEMPERATURE
    ab_network = colorizer._predict(l_network, temperature)[0]
    ab_full = pipeline.upsample_ab(ab_network, (height, width)).numpy()
    out = full_resolution.reconstruct_uint8(l_full, ab_network)

    def pil_decode():
        with Image.open(io.BytesIO(data)) as image:
            image.load()

    # The chain as `colorize` runs it, each step timed in turn (each takes the previous output).
    chain = [
        ("decode", "decode (`image_io.read_image`)", lambda _: image_io.read_image(path)),
        ("lightness", "L (`full_resolution.lightness`)", full_resolution.lightness),
        ("resize", "network-input resize of L (bicubic, antialiased)",
         lambda lightness: (lightness, pipeline.preprocess_l(lightness[np.newaxis], size).numpy())),
        ("network", "network + annealed mean + x4 (at the network size)",
         lambda pair: (pair[0], colorizer._predict(pair[1], temperature)[0])),
        ("fused", "ab upsample + Lab to RGB, fused (what `colorize` runs)",
         lambda pair: full_resolution.reconstruct_uint8(*pair)),
    ]
    chain_times = {key: [] for key, _, _ in chain}
    for _ in range(repeats + 1):  # the first round warms
        value = None
        for key, _, function in chain:
            began = time.perf_counter()
            value = function(value)
            chain_times[key].append(time.perf_counter() - began)
    pixels = height * width
    moved = {"decode": len(data) + 3 * pixels, "lightness": 7 * pixels,
             "resize": 4 * pixels + 4 * size[0] * size[1], "network": None,
             "fused": 7 * pixels}
    png, png_fast = io.BytesIO(), io.BytesIO()
    Image.fromarray(out).save(png, "PNG")
    Image.fromarray(out).save(png_fast, "PNG", compress_level=1)
    alone = [  # (key, label, function, bytes moved): parts and encodings, timed alone
        ("pil_decode", "part of decode: Pillow's JPEG decode alone", pil_decode, len(data) + 3 * pixels),
        ("upsample", "fused step apart: ab upsample to the photo (`tf.image.resize`)",
         lambda: pipeline.upsample_ab(ab_network, (height, width)).numpy(), 8 * pixels),
        ("lab_to_rgb", "fused step apart: Lab to RGB (ab at full size given)",
         lambda: full_resolution.reconstruct_uint8(l_full, ab_full), 15 * pixels),
        ("png", "encode PNG (Pillow, level 6, as `image_io.write_image`; not in the total)",
         lambda: Image.fromarray(out).save(io.BytesIO(), "PNG"), 3 * pixels + len(png.getvalue())),
        ("png_fast", "encode PNG at zlib level 1 instead (not used; not in the total)",
         lambda: Image.fromarray(out).save(io.BytesIO(), "PNG", compress_level=1),
         3 * pixels + len(png_fast.getvalue())),
        ("jpeg", "encode JPEG (Pillow, quality 75; not in the total)",
         lambda: Image.fromarray(out).save(io.BytesIO(), "JPEG"), 3 * pixels),
    ]
    source = np.ones(bandwidth_mib * MiB // 4, np.float32)
    target = np.empty_like(source)
    copy_s = _median_s(lambda: np.copyto(target, source), repeats)
    a = tf.random.uniform((matmul_size, matmul_size))
    matmul_s = _median_s(lambda: tf.linalg.matmul(a, a).numpy(), repeats)
    preset = _preset_of(colorizer.model)
    return {
        "steps": [{"key": key, "label": label, "in_total": True, "bytes": moved[key],
                   "seconds": statistics.median(chain_times[key][1:])}
                  for key, label, _ in chain]
        + [{"key": key, "label": label, "in_total": False, "bytes": bytes_moved,
            "seconds": _median_s(function, repeats)}
           for key, label, function, bytes_moved in alone],
        "bandwidth_gb_s": 2 * bandwidth_mib * MiB / copy_s / 1e9,  # read + write
        "matmul_gflops": 2 * matmul_size**3 / matmul_s / 1e9,
        "bandwidth_mib": bandwidth_mib, "matmul_size": matmul_size,
        "png_bytes": len(png.getvalue()), "png_fast_bytes": len(png_fast.getvalue()),
        "network_flops": bench_ceiling.forward_flops(preset, *size) if preset else None,
        "preset": preset, "network_size": list(size), "pixels": pixels,
    }


def make_handler(spec: dict):
    """Worker: "after" (the package) or "before" (`baseline`). Commands: setup {warmup}, run,
    steps {repeats} ("after"), memory, save {path} (the output as .npy)."""
    import numpy as np

    import keras_colorful
    from keras_colorful import loading  # noqa: F401  (TensorFlow, before load() is timed)

    if spec["path"] == "before":
        try:
            from benchmarks import baseline
        except ImportError:
            import baseline

        def colorize(colorizer, photo):
            return baseline.colorize(colorizer, photo)
    else:
        def colorize(colorizer, photo):
            return colorizer.colorize(photo)

    state = {}

    def handler(command: dict) -> dict:
        op = command["op"]
        if op == "setup":
            began = time.perf_counter()
            state["colorizer"] = keras_colorful.load()
            load_s = time.perf_counter() - began
            state["after_load"] = common.rss_mib()
            common.reset_peak_rss()
            for _ in range(int(command.get("warmup", 1))):
                state["out"] = colorize(state["colorizer"], spec["photo"])
            return {"load_s": load_s, "rss_after_load_mib": state["after_load"]}
        if op == "run":
            began = time.perf_counter()
            state["out"] = colorize(state["colorizer"], spec["photo"])
            return {"seconds": time.perf_counter() - began}
        if op == "steps":
            return _steps(state["colorizer"], spec["photo"], int(command["repeats"]),
                          int(command.get("bandwidth_mib", BANDWIDTH_MIB)),
                          int(command.get("matmul_size", MATMUL_SIZE)))
        if op == "memory":
            peak = common.peak_rss_mib()
            return {"peak_rss_mib": peak, "above_load_mib": peak - state["after_load"]}
        if op == "save":
            np.save(command["path"], state["out"])
            return {}
        raise ValueError(f"Unknown command {command}.")

    return handler


def photo_table(height: int, width: int, repeats: int, warmup: int, start_worker,
                work_dir: str, bandwidth_mib: int = BANDWIDTH_MIB,
                matmul_size: int = MATMUL_SIZE) -> tuple[list[common.Table], dict]:
    """The step table and the before/after table for one generated `height` x `width` JPEG."""
    import numpy as np

    try:
        from benchmarks import photos
    except ImportError:
        import photos

    (path,) = photos.write_jpegs(pathlib.Path(work_dir) / "photo", 1, (height, width))
    labels = {"after": "now: `Colorizer.colorize(path)`",
              "before": "before the speed work (`benchmarks/baseline.py`)"}
    workers = [start_worker(MODULE, {"path": name, "photo": str(path)}) for name in labels]
    try:
        setups = common.broadcast(workers, {"op": "setup", "warmup": warmup})
        samples = common.interleaved(workers, {"op": "run"}, repeats)
        memory = common.broadcast(workers, {"op": "memory"})
        steps = workers[0].call({"op": "steps", "repeats": repeats,
                                 "bandwidth_mib": bandwidth_mib, "matmul_size": matmul_size})
        outputs = [str(pathlib.Path(work_dir) / f"photo_{name}.npy") for name in labels]
        for worker, output in zip(workers, outputs, strict=True):
            worker.call({"op": "save", "path": output})
    finally:
        for worker in workers:
            worker.close()
    after, before = (np.load(output).astype(np.int16) for output in outputs)
    max_difference = int(np.abs(after - before).max())
    totals = [common.summarize(times) for times in samples]
    raw = {"steps": steps, "totals": totals, "setups": setups, "memory": memory,
           "max_difference": max_difference, "megapixels": height * width / 1e6,
           "jpeg_bytes": path.stat().st_size}

    megapixels = f"{height * width / 1e6:.3g} MP"
    bandwidth, ceiling = steps["bandwidth_gb_s"], steps["matmul_gflops"]
    table = common.Table(
        f"One photo: a {megapixels} JPEG ({width}x{height}) to a colorized image in memory, "
        "step by step",
        ["step", "ms (median)", "MB moved", "floor ms", "time / floor"])
    def row(step):
        moved = step["bytes"]
        if moved is not None:
            floor = floor_s(moved, bandwidth)
        elif steps["network_flops"]:  # the network: FLOPs at the matmul ceiling
            floor = steps["network_flops"] / (ceiling * 1e9)
        else:
            floor = None
        return [step["label"], 1e3 * step["seconds"], None if moved is None else moved / 1e6,
                None if floor is None else 1e3 * floor,
                None if floor is None else step["seconds"] / floor]

    chain = [step for step in steps["steps"] if step["in_total"]]
    table.rows += [row(step) for step in chain]
    raw["steps_sum_s"] = sum(step["seconds"] for step in chain)
    table.rows.append(["sum of the steps above", 1e3 * raw["steps_sum_s"], None, None, None])
    table.rows += [row(step) for step in steps["steps"] if not step["in_total"]]
    table.notes.append(
        f"Floors: bytes moved (read + written) at {bandwidth:.1f} GB/s (a "
        f"{steps['bandwidth_mib']} MiB numpy copy, same worker, same time); the network: "
        f"{(steps['network_flops'] or 0) / 1e9:.2f} GFLOPs ({steps['preset']}, "
        f"{steps['network_size'][0]}x{steps['network_size'][1]}) at {ceiling:.0f} GFLOP/s "
        f"(a {steps['matmul_size']}x{steps['matmul_size']} `tf.linalg.matmul`). Medians of {repeats} calls after "
        "a warm-up round; the steps of the sum run in turn, as `colorize` runs them, the rows below "
        f"it alone. PNG: {steps['png_bytes'] / 1e6:.1f} MB at level 6, "
        f"{steps['png_fast_bytes'] / 1e6:.1f} MB at level 1.")

    comparison = common.Table(
        f"One photo, now against before: {megapixels} JPEG to colorized RGB in memory",
        ["path", "ms (median)", "ms (best)", "before / now", "peak RSS MiB",
         "MiB above RSS after load()", "load() s"])
    for name, total, setup, mem in zip(labels, totals, setups, memory, strict=True):
        comparison.rows.append([
            labels[name], 1e3 * total["median_s"], 1e3 * total["min_s"],
            totals[1]["median_s"] / total["median_s"], mem["peak_rss_mib"],
            mem["above_load_mib"], setup["load_s"]])
    comparison.notes.append(
        f"The bundled model, network size {steps['network_size'][0]}; {repeats} timed calls per "
        f"path after {warmup} warm-up, interleaved; decode included. Outputs now and before: at "
        f"most {max_difference} uint8 level apart. Peak RSS from right after load() (warm-up "
        "compiles included).")
    return [table, comparison], raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.worker:
        common.serve(make_handler(json.loads(args.worker)))
        return
    with tempfile.TemporaryDirectory() as work_dir:
        tables, _ = photo_table(args.height, args.width, args.repeats, 1,
                                lambda module, spec, env=None: common.Worker(module, spec, env),
                                work_dir)
    for table in tables:
        print(table.markdown() + "\n")


if __name__ == "__main__":
    main()
