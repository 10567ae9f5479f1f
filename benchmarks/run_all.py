"""All the benchmarks in one run: prints markdown tables and the ratios against the goals.

    python benchmarks/run_all.py [--quick] [--explore] [--gpu] [--json out.json] [--markdown out.md]

Tables (each path in a worker process of its own; the paths compared with each other are timed
in interleaved rounds, so that they see the same background load):

1. Ceiling: float32 matmul GFLOP/s (TensorFlow, numpy, PyTorch).
2. Inference of "eccv16" at 256x256, batch 1 and 8: Keras (`model(x)` in a `tf.function`,
   `predict`, and Keras' own `keras.Model.predict`), SavedModel (the network, and the TF Serving `colorize_tensor` signature),
   PyTorch; time per image, achieved GFLOP/s, peak RSS.
3. TFLite float32 / float16 / dynamic_int8 / int8 under LiteRT (XNNPACK), batch 1; file size.
4. Training throughput, batch 8, 176x176, "eccv16" and "small": ours against PyTorch.
5. Input pipeline images/s against the "small" training step.
6. One big photo (`bench_photo`): a 12 MP JPEG to colorized RGB in memory with the bundled
   model, step by step against each step's floor, and now against before the speed work.
7. A folder of photos (`bench_folder`): `keras-colorful colorize folder/` against one photo
   after another, photos/s, outputs compared byte for byte.
8. Start-up (`bench_startup`): cold `keras-colorful colorize one.jpg`, in phases, now and before.
9. The goals as ratios, met or not: Keras at least as fast as PyTorch (inference, `predict`
   included, and training), int8 TFLite at most 0.6x float32's time and 0.26x its size, the
   input pipeline at least 5x the "small" training step; one 12 MP photo in at most 0.5 s and
   400 MB; the folder command at least 1.7x one photo after another, with the same bytes;
   start-up (after the imports) not slower than before.

`--quick`: the "small" network in the inference tables, "small" training only, fewer repeats,
40 photos in the folder, one cold start per variant. `--gpu`: the GPU rows (inference at batch
1 and 64, training of every preset, PyTorch on CUDA; TensorFlow uses the GPU it sees).
`--explore` adds the rows of the speed-ups tried and not kept (benchmarks/RESULTS.md): XLA
(`jit_compile`) for the Keras inference and training paths, LiteRT `num_threads=2`, oneDNN off
(`TF_ENABLE_ONEDNN_OPTS=0`), the folder command with 1 and 4 writer threads.
benchmarks/README.md says how long each takes. Photos: see
`common.PHOTOS_ENV`.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib
import os
import tempfile
import time

try:
    from benchmarks import (
        bench_ceiling,
        bench_folder,
        bench_inference,
        bench_photo,
        bench_startup,
        bench_training,
        common,
    )
except ImportError:  # run as `python benchmarks/run_all.py`: this folder is on sys.path
    import bench_ceiling
    import bench_folder
    import bench_inference
    import bench_photo
    import bench_startup
    import bench_training
    import common

ONEDNN_OFF = {"TF_ENABLE_ONEDNN_OPTS": "0"}
# The paths the inference goal compares with PyTorch's logits network (`saved_model_colorize`
# does more: Lab conversion, decode, upsampling; it is in the table, not in the goals).
GOAL_INFERENCE_PATHS = ("keras_function", "keras_function_xla", "keras_predict", "saved_model")


@dataclasses.dataclass
class Settings:
    """What to run; the defaults are the full tables."""

    preset: str = "eccv16"  # inference tables
    size: int = 256
    batch_sizes: tuple = (1, 8)
    repeats: int = 5  # timed calls of the quick cases (batch 1, "small" training, TFLite)
    repeats_slow: int = 2  # timed calls of the slow ones (eccv16 batch > 1, eccv16 training)
    warmup: int = 1
    keras_paths: tuple = ("keras_function", "keras_predict", "keras_predict_base", "saved_model",
                          "saved_model_colorize")
    quantizations: tuple = ("float32", "float16", "dynamic_int8", "int8")
    tflite_threads: tuple = (None,)
    calibration_images: int = 8
    train_presets: tuple = ("eccv16", "small")
    train_keras_paths: tuple = ("keras",)
    train_batch: int = 8
    train_size: int = 176
    pipeline_preset: str = "small"
    pipeline_batches_per_run: int = 40
    matmul_size: int = 2048
    photo_size: tuple = (3000, 4000)  # one big photo, (height, width): 12 MP
    bandwidth_mib: int = 256  # the copy that measures the memory bandwidth for its floors
    folder_photos: int = 200
    folder_rounds: int = 4
    folder_size: tuple = bench_folder.PHOTO_SIZE
    folder_write_threads: tuple = ()  # extra command rows with other WRITE_THREADS
    startup_repeats: int = 3
    startup_variants: tuple = tuple(bench_startup.VARIANTS)
    torch_device: str = "cpu"  # where the PyTorch paths run ("cuda" with --gpu)
    explore: bool = False  # extra rows: the settings tried and not kept (see EXPLORE)
    in_process: bool = False  # run every path but PyTorch's in this process (tests; shared RSS)
    log_path: str | None = None  # the workers' stderr

    def slow(self, preset: str) -> bool:
        return preset == "eccv16"


# --explore: the speed-ups tried and not kept (RESULTS.md), as extra rows: XLA for the Keras
# inference and training paths, LiteRT with num_threads=2, oneDNN off (worker env, so not
# with in_process), and the folder command's other writer-thread counts.
EXPLORE = {
    "keras_paths": tuple(bench_inference.KERAS_PATHS),
    "tflite_threads": (None, 2),
    "train_keras_paths": ("keras", "keras_xla"),
    "folder_write_threads": (1, 4),
}
# --gpu: the GPU rows (inference at batch 64, training of every preset, PyTorch on CUDA;
# TensorFlow takes the GPU by itself).
GPU = {
    "batch_sizes": (1, 64),
    "train_presets": ("eccv16", "small", "tiny"),
    "torch_device": "cuda",
}
QUICK = {
    "preset": "small",
    "repeats": 2,
    "repeats_slow": 1,
    "calibration_images": 2,
    "train_presets": ("small",),
    "matmul_size": 1024,
    "pipeline_batches_per_run": 20,
    "keras_paths": ("keras_function", "keras_predict", "keras_predict_base", "saved_model",
                    "saved_model_colorize"),
    "folder_photos": 40,
    "folder_rounds": 2,
    "startup_repeats": 1,
}


def worker_factory(settings: Settings):
    """(module, spec, env=None) -> a `common.Worker`, or a `common.LocalWorker` in process."""

    def start(module: str, spec: dict, env: dict | None = None):
        # PyTorch runs in a worker of its own even in process: a process that has loaded
        # TensorFlow crashes when PyTorch loads Triton (two incompatible copies of LLVM).
        if settings.in_process and spec.get("path") != "torch":
            return common.LocalWorker(importlib.import_module(module).make_handler(spec))
        if spec.get("path") == "torch":
            spec = {**spec, "device": settings.torch_device}
        return common.Worker(module, spec, env, settings.log_path)

    return start


def run(settings: Settings, work_dir: str) -> dict:
    """Runs every table; returns {"tables": [Table], "goals": Table, "raw": {...}}."""
    start = worker_factory(settings)
    tables, raw = [], {"settings": dataclasses.asdict(settings)}
    began = time.perf_counter()
    raw["machine_before"] = common.machine_info()

    table, raw["matmul_gflops"] = bench_ceiling.matmul_table(
        settings.matmul_size, settings.repeats, start
    )
    tables.append(table)
    sections = raw["section_seconds"] = {"ceiling": time.perf_counter() - began}

    explore = settings.explore and not settings.in_process
    extra = []
    if explore:
        extra = [("Keras tf.function, oneDNN off (TF_ENABLE_ONEDNN_OPTS=0)",
                  {"path": "keras_function", "preset": settings.preset, "size": settings.size},
                  ONEDNN_OFF)]
    repeats = {b: settings.repeats if b == 1 or not settings.slow(settings.preset)
               else settings.repeats_slow for b in settings.batch_sizes}
    inference, raw["inference"] = bench_inference.inference_tables(
        settings.preset, settings.size, settings.batch_sizes, repeats, settings.warmup, start,
        work_dir, settings.keras_paths, settings.quantizations, settings.tflite_threads,
        settings.calibration_images, extra,
    )
    tables += inference
    sections["inference"] = time.perf_counter() - began - sum(sections.values())

    extra = []
    if explore:
        extra = [("ours, oneDNN off (TF_ENABLE_ONEDNN_OPTS=0)", {"path": "keras"}, ONEDNN_OFF)]
    table, raw["training"] = bench_training.training_table(
        settings.train_presets, settings.train_batch, settings.train_size,
        {p: settings.repeats_slow if settings.slow(p) else settings.repeats
         for p in settings.train_presets},
        settings.warmup, start, settings.train_keras_paths, extra,
    )
    tables.append(table)
    sections["training"] = time.perf_counter() - began - sum(sections.values())

    fed_from_memory = [r["images_per_s"] for r in raw["training"]
                       if r["preset"] == settings.pipeline_preset and r["path"] == "keras"]
    table, raw["pipeline"] = bench_training.pipeline_table(
        settings.pipeline_preset, settings.train_batch, settings.train_size, settings.repeats,
        settings.warmup, start, work_dir, settings.pipeline_batches_per_run,
        fed_from_memory[0] if fed_from_memory else None,
    )
    tables.append(table)

    sections["pipeline"] = time.perf_counter() - began - sum(sections.values())

    photo_tables, raw["photo"] = bench_photo.photo_table(
        *settings.photo_size, settings.repeats, settings.warmup, start, work_dir,
        settings.bandwidth_mib, settings.matmul_size)
    tables += photo_tables
    sections["photo"] = time.perf_counter() - began - sum(sections.values())

    table, raw["folder"] = bench_folder.folder_table(
        settings.folder_photos, settings.folder_rounds, start, work_dir, settings.folder_size,
        settings.folder_write_threads)
    tables.append(table)
    sections["folder"] = time.perf_counter() - began - sum(sections.values())

    if settings.startup_repeats:
        table, raw["startup"] = bench_startup.startup_table(
            settings.startup_repeats, work_dir, settings.startup_variants)
        tables.append(table)
    sections["startup"] = time.perf_counter() - began - sum(sections.values())
    raw["machine_after"] = common.machine_info()
    raw["seconds"] = time.perf_counter() - began
    goals = goals_table(raw)
    return {"tables": tables, "goals": goals, "raw": raw}


def _ratio_row(goal, measured, target, better):
    if measured is None:
        return [goal, None, target, "not measured"]
    met = measured <= target if better == "lower" else measured >= target
    return [goal, measured, f"{'<=' if better == 'lower' else '>='} {target}",
            "met" if met else "missed"]


def goals_table(raw: dict) -> common.Table:
    """The goals as ratios of this run's measurements, each met or missed."""
    table = common.Table("Goals (ratios of this run)",
                         ["goal", "measured", "target", "result"])
    rows = raw["inference"]["rows"]
    for batch in sorted({r["batch"] for r in rows}):
        for row in rows:
            if row["batch"] == batch and row["path"] in GOAL_INFERENCE_PATHS and not row["env"]:
                table.rows.append(_ratio_row(
                    f"{row['label']}, batch {batch}: time per image / PyTorch's",
                    row["vs_torch"], 1.0, "lower"))
    for row in raw["training"]:
        if row["path"] in ("keras", "keras_xla") and not row["env"]:
            table.rows.append(_ratio_row(
                f'"{row["preset"]}" {row["label"]}: training images/s / PyTorch\'s',
                row["vs_torch"], 1.0, "higher"))
    sized = set()
    for row in raw["inference"]["tflite"]:
        quantization = row["quantization"]
        if quantization in ("dynamic_int8", "int8"):
            threads = "default" if row["threads"] is None else row["threads"]
            table.rows.append(_ratio_row(
                f"TFLite {quantization} (threads {threads}): time / float32's",
                row["vs_float32"], 0.6, "lower"))
            if quantization not in sized:
                sized.add(quantization)
                table.rows.append(_ratio_row(f"TFLite {quantization}: file size / float32's",
                                             row["size_ratio"], 0.26, "lower"))
    pipeline = raw["pipeline"]
    training = pipeline["training_images_per_s"]
    table.rows.append(_ratio_row(
        "input pipeline images/s / \"small\" training step's",
        pipeline["pipeline_images_per_s"] / training if training else None, 5.0, "higher"))
    photo = raw["photo"]
    now, before = photo["totals"]
    megapixels = f"{photo['megapixels']:.3g} MP"
    table.rows.append(_ratio_row(f"one {megapixels} JPEG to colorized RGB in memory: seconds",
                                 now["median_s"], bench_photo.TOTAL_TARGET_S, "lower"))
    table.rows.append(_ratio_row(f"one {megapixels} photo: MiB above the RSS after load()",
                                 photo["memory"][0]["above_load_mib"],
                                 bench_photo.MEMORY_TARGET_MIB, "lower"))
    table.rows.append(_ratio_row(f"one {megapixels} photo: time now / before the speed work",
                                 now["median_s"] / before["median_s"], 1.0, "lower"))
    table.rows.append(_ratio_row(f"one {megapixels} photo: uint8 levels from before's output",
                                 photo["max_difference"], 1, "lower"))
    folder = raw["folder"]
    command = next(row for row in folder["rows"] if row["name"] == "command")
    table.rows.append(_ratio_row("folder: the command's photos/s / one after another's",
                                 command["vs_sequential"], bench_folder.RATIO_TARGET, "higher"))
    table.rows.append(_ratio_row("folder: outputs byte for byte equal (fraction)",
                                 folder["identical_outputs"] / max(folder["outputs"], 1), 1.0,
                                 "higher"))
    medians = raw.get("startup", {}).get("medians", {})
    if "now" in medians and "before" in medians:
        def after_imports(variant):  # the imports are the same code in both
            row = medians[variant]
            return row["to first photo written (end to end)"] - row[bench_startup.PHASES[0]]

        table.rows.append(_ratio_row("start-up, imports done to first photo written: now / before",
                                     after_imports("now") / after_imports("before"), 1.0,
                                     "lower"))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help='"small" network, fewer repeats')
    parser.add_argument("--explore", action="store_true",
                        help="extra rows: XLA, LiteRT num_threads=2, oneDNN off")
    parser.add_argument("--gpu", action="store_true",
                        help="GPU rows: inference at batch 64, training of every preset, "
                        "PyTorch on CUDA")
    parser.add_argument("--json", help="write the tables and raw measurements here")
    parser.add_argument("--markdown", help="write the markdown here too")
    parser.add_argument("--log", help="the workers' stderr (TensorFlow logs); default: dropped")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    chosen = {**(EXPLORE if args.explore else {}), **(QUICK if args.quick else {}),
              **(GPU if args.gpu else {})}
    settings = Settings(**chosen, explore=args.explore, log_path=args.log)
    with tempfile.TemporaryDirectory(prefix="colorful_bench_") as work_dir:
        result = run(settings, work_dir)
    raw = result["raw"]
    machine = raw["machine_before"]
    header = (
        f"keras-colorful benchmarks, {datetime.date.today().isoformat()}: {machine['cpu']}, "
        f"{machine['cores']} cores, load average {machine['loadavg']} before and "
        f"{raw['machine_after']['loadavg']} after; {raw['seconds']:.0f} s ("
        + ", ".join(f"{k} {v:.0f} s" for k, v in raw["section_seconds"].items()) + ")"
        + (" (--quick)" if args.quick else "")
    )
    text = "\n\n".join([header] + [t.markdown() for t in result["tables"]]
                       + [result["goals"].markdown()]) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as output:
            output.write(text)
    if args.json:
        common.write_json(args.json, {
            "header": header,
            "tables": [t.as_dict() for t in result["tables"]],
            "goals": result["goals"].as_dict(),
            "raw": raw,
        })


if __name__ == "__main__":
    main()
