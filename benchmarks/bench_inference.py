"""Inference speed and memory of the colorization network: Keras, SavedModel, TFLite, PyTorch.

    python benchmarks/bench_inference.py [--preset eccv16] [--size 256] [--repeats 3]

(`run_all.py` runs it with the other tables.) Every path runs the same network (random weights
of the same shapes) on L images `size` x `size`, in a worker process of its own:

- "keras_function": `net(x, training=False)` inside a `tf.function` (logits out);
  "keras_function_xla": the same with `jit_compile=True`;
- "keras_predict": `net.predict(x, batch_size=N)` (`ColorizationNet.predict`: arrays in memory
  through one cached `tf.function`); "keras_predict_base": Keras' own `keras.Model.predict`
  (what `net.predict` was before that override);
- "saved_model": the network exported by Keras (`net.export`, endpoint `serve`), loaded with
  `tf.saved_model.load` (logits out);
- "saved_model_colorize": this package's TF Serving export (`export_saved_model`), signature
  `colorize_tensor`: uint8 RGB in, RGB and full-size ab out (Lab conversion, the network, the
  annealed mean, upsampling and Lab to RGB: what a TF Serving client gets);
- "tflite": the `.tflite` of `tflite_lib.convert` (float32, float16, dynamic_int8, int8; fixed
  size, batch 1; logits and annealed-mean ab out) under the LiteRT interpreter, its default
  XNNPACK delegate, with `num_threads` None (LiteRT's default) or a number;
- "torch": `keras_colorful.torch_port.network` (channels first, as PyTorch runs by default) under
  `torch.inference_mode()` (logits out).

Each worker reports its peak resident memory (VmHWM, reset before each batch size) and its
memory after imports, before the model is built.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import tempfile
import time

try:
    from benchmarks import bench_ceiling, common
except ImportError:  # run as a script from benchmarks/
    import bench_ceiling
    import common

MODULE = "benchmarks.bench_inference"

KERAS_PATHS = {
    "keras_function": "Keras `model(x)` in tf.function",
    "keras_function_xla": "Keras tf.function, jit_compile (XLA)",
    "keras_predict": "Keras `predict`",
    "keras_predict_base": "Keras' own `predict` (`keras.Model.predict`, before the override)",
    "saved_model": "SavedModel (`net.export`, logits)",
    "saved_model_colorize": "SavedModel `colorize_tensor` (uint8 RGB to RGB)",
}
TORCH_LABEL = "PyTorch (inference_mode)"


# --- preparing the exported models (a TensorFlow worker) ---------------------------------------


def calibration_photos(count: int, size: int) -> list:
    """Photos for int8 calibration: the first JPEGs of `common.train_photos()`, else random uint8
    images."""
    import numpy as np

    folder = common.train_photos()
    if folder is not None:
        files = sorted(str(p) for p in folder.rglob("*.jpg"))[:count]
        if files:
            return files
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(count)]


def prepare(spec: dict) -> dict:
    """Exports the network of `spec["preset"]`: SavedModels and `.tflite` files in `spec["dir"]`.

    Returns {"saved_model": dir, "saved_model_colorize": dir, "tflite": {quantization: path},
    "tflite_bytes": {quantization: size}, "convert_s": {quantization: seconds}}.
    """
    import keras

    from keras_colorful import models
    from keras_colorful.export import saved_model_lib, tflite_lib

    keras.utils.set_random_seed(0)
    net = models.build_model(spec["preset"])
    directory = pathlib.Path(spec["dir"])
    result = {"tflite": {}, "tflite_bytes": {}, "convert_s": {}}
    if spec.get("saved_model", True):
        result["saved_model"] = str(directory / "saved_model_net")
        net.export(result["saved_model"], format="tf_saved_model", verbose=False)
        result["saved_model_colorize"] = saved_model_lib.export_saved_model(
            net, directory / "saved_model_colorize" / "1", network_size=spec["size"]
        )
    photos = calibration_photos(spec["calibration_images"], spec["size"])
    for quantization in spec["quantizations"]:
        model = {}

        def convert(quantization=quantization, model=model):
            model["bytes"] = tflite_lib.convert(
                net,
                quantization,
                size=spec["size"],
                representative_images=photos if quantization == "int8" else None,
                num_calibration_images=spec["calibration_images"],
            )

        result["convert_s"][quantization] = common.timed(convert)
        path = directory / f"{spec['preset']}_{quantization}.tflite"
        path.write_bytes(model["bytes"])
        result["tflite"][quantization] = str(path)
        result["tflite_bytes"][quantization] = len(model["bytes"])
    return result


# --- the timed paths (one worker each) ---------------------------------------------------------


def _build_keras(spec: dict):
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_colorful import models

    keras.utils.set_random_seed(0)
    path = spec["path"]
    owner = None  # what holds the variables: a restored function needs it alive
    if path in ("keras_function", "keras_function_xla", "keras_predict", "keras_predict_base"):
        net = models.build_model(spec["preset"])
        function = tf.function(
            lambda x: net(x, training=False), jit_compile=path == "keras_function_xla"
        )
    elif path == "saved_model":
        owner = tf.saved_model.load(spec["model_path"])
        function = owner.serve
    elif path == "saved_model_colorize":
        owner = tf.saved_model.load(spec["model_path"])
        signature = owner.signatures["colorize_tensor"]

        def function(x):
            return signature(images=x)["rgb"]
    else:
        raise ValueError(f"Unknown path {path!r}.")

    def make_call(batch: int):
        rng = np.random.default_rng(batch)
        size = spec["size"]
        if path == "saved_model_colorize":
            x = tf.constant(rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8))
        else:
            x = tf.constant(rng.uniform(0, 100, (batch, size, size, 1)).astype(np.float32))
        if path == "keras_predict":
            return lambda: net.predict(x, batch_size=batch, verbose=0)
        if path == "keras_predict_base":
            return lambda: keras.Model.predict(net, x, batch_size=batch, verbose=0)
        return lambda: function(x).numpy()

    make_call.owner = owner  # keeps the restored SavedModel alive
    return make_call


def _build_torch(spec: dict):
    import torch

    from keras_colorful.torch_port import network

    device = torch.device(spec.get("device", "cpu"))
    net = network.build_torch_model(spec["preset"]).eval().to(device)

    def make_call(batch: int):
        generator = torch.Generator().manual_seed(batch)
        x = 100 * torch.rand((batch, 1, spec["size"], spec["size"]), generator=generator)
        x = x.to(device)

        def call():
            with torch.inference_mode():
                logits = net(x)
            if device.type == "cuda":
                torch.cuda.synchronize()
            return logits

        return call

    return make_call


def _build_tflite(spec: dict):
    import numpy as np
    from ai_edge_litert import interpreter as litert

    threads = spec.get("threads")
    interpreter = litert.Interpreter(
        model_path=spec["model_path"],
        num_threads=threads,
        experimental_op_resolver_type=litert.OpResolverType.AUTO,  # XNNPACK delegate
    )
    interpreter.allocate_tensors()
    runner = interpreter.get_signature_runner()
    (input_name,) = runner.get_input_details()

    def make_call(batch: int):
        if batch != 1:
            raise ValueError("The .tflite models take batch 1.")
        size = spec["size"]
        x = np.random.default_rng(1).uniform(0, 100, (1, size, size, 1)).astype(np.float32)
        return lambda: runner(**{input_name: x})

    return make_call


def import_framework(path: str) -> None:
    """Imports what a path needs (before its memory after import is read)."""
    if path == "torch":
        import torch  # noqa: F401
    elif path == "tflite":
        from ai_edge_litert import interpreter  # noqa: F401
    else:
        import keras  # noqa: F401
        import tensorflow  # noqa: F401

        from keras_colorful import models  # noqa: F401


def make_handler(spec: dict):
    """Worker handler: "prepare" (exports), or one timed path ("keras_*", "saved_model*",
    "torch", "tflite"). Commands: setup {batch, warmup}, run, memory."""
    if spec["path"] == "prepare":
        return lambda command: prepare(spec)
    import_framework(spec["path"])
    import_rss = common.rss_mib()
    if spec["path"] == "torch":
        make_call = _build_torch(spec)
    elif spec["path"] == "tflite":
        make_call = _build_tflite(spec)
    else:
        make_call = _build_keras(spec)
    state = {}

    def handler(command: dict) -> dict:
        if command["op"] == "setup":
            common.reset_peak_rss()
            state["call"] = make_call(int(command["batch"]))
            for _ in range(int(command.get("warmup", 1))):
                state["call"]()
            return {}
        if command["op"] == "run":
            return {"seconds": common.timed(state["call"])}
        if command["op"] == "memory":
            return {"peak_rss_mib": common.peak_rss_mib(), "import_rss_mib": import_rss}
        raise ValueError(f"Unknown command {command}.")

    return handler


# --- the tables ----------------------------------------------------------------------------------


def _time_group(workers, batch: int, warmup: int, repeats: int) -> list[dict]:
    """Setup of every worker at `batch` (at once), interleaved timed runs, then memory."""
    common.broadcast(workers, {"op": "setup", "batch": batch, "warmup": warmup})
    samples = common.interleaved(workers, {"op": "run"}, repeats)
    memory = common.broadcast(workers, {"op": "memory"})
    return [
        {**common.summarize(times), **mem} for times, mem in zip(samples, memory, strict=True)
    ]


def inference_tables(
    preset: str,
    size: int,
    batch_sizes,
    repeats_by_batch: dict,
    warmup: int,
    start_worker,
    work_dir: str,
    keras_paths=tuple(KERAS_PATHS),
    quantizations=("float32", "float16", "dynamic_int8", "int8"),
    tflite_threads=(None, 2),
    calibration_images: int = 8,
    extra_workers=(),
) -> tuple[list[common.Table], dict]:
    """The inference table (Keras, SavedModel, PyTorch) and the TFLite table, with raw results.

    Args:
        preset: network preset.
        size: image side.
        batch_sizes: batch sizes of the first table (TFLite: batch 1).
        repeats_by_batch: {batch: timed calls}.
        warmup: untimed calls first.
        start_worker: (module, spec[, env]) -> a worker.
        work_dir: where the exported models go.
        keras_paths: the TensorFlow paths to time (see `KERAS_PATHS`).
        quantizations: TFLite models to time ("" for none).
        tflite_threads: LiteRT `num_threads` values to time (None: LiteRT's default).
        calibration_images: photos for the int8 calibration.
        extra_workers: (label, spec, env) of further TensorFlow paths, e.g. oneDNN off.

    Returns:
        ([inference table, TFLite table], {"rows": [...], "tflite": [...], "exports": {...}}).
    """
    flops = bench_ceiling.forward_flops(preset, size, size)
    raw = {"rows": [], "tflite": [], "forward_gflops_per_image": flops / 1e9}
    need_saved = any(p.startswith("saved_model") for p in keras_paths)
    exporter = start_worker(
        MODULE,
        {
            "path": "prepare",
            "preset": preset,
            "size": size,
            "dir": work_dir,
            "saved_model": need_saved,
            "quantizations": list(quantizations),
            "calibration_images": calibration_images,
        },
    )
    began = time.perf_counter()
    try:
        exports = exporter.call({"op": "prepare"})
    finally:
        exporter.close()
    raw["exports"] = exports
    raw["prepare_s"] = time.perf_counter() - began

    labelled = []  # (label, spec, env)
    for path in keras_paths:
        spec = {"path": path, "preset": preset, "size": size}
        if path.startswith("saved_model"):
            spec["model_path"] = exports[path]
        labelled.append((KERAS_PATHS[path], spec, None))
    labelled += list(extra_workers)
    labelled.append((TORCH_LABEL, {"path": "torch", "preset": preset, "size": size}, None))
    workers = [start_worker(MODULE, spec, env) for _, spec, env in labelled]
    table = common.Table(
        f'Inference: "{preset}" at {size}x{size}',
        ["path", "batch", "ms / image (median)", "ms / image (best)", "achieved GFLOP/s",
         "peak RSS MiB", "RSS after import MiB", "time / PyTorch"],
    )
    try:
        for batch in batch_sizes:
            results = _time_group(workers, batch, warmup, repeats_by_batch[batch])
            torch_time = results[-1]["median_s"]
            for (label, spec, env), result in zip(labelled, results, strict=True):
                per_image = result["median_s"] / batch
                row = {"label": label, "path": spec["path"], "batch": batch, "env": env, **result,
                       "per_image_s": per_image, "vs_torch": result["median_s"] / torch_time}
                raw["rows"].append(row)
                table.rows.append([
                    label, batch, 1e3 * per_image, 1e3 * result["min_s"] / batch,
                    bench_ceiling.gflops_per_s(flops, per_image), result["peak_rss_mib"],
                    result["import_rss_mib"], row["vs_torch"],
                ])
    finally:
        for worker in workers:
            worker.close()
    table.notes.append(
        f"{repeats_by_batch} timed calls per path and batch after {warmup} warm-up, interleaved; "
        f"{flops / 1e9:.1f} GFLOPs per image (convs, counted from the shapes). Peak RSS: the "
        "worker process's VmHWM, reset before each batch size (so it includes the framework and "
        "the model); 'after import': RSS once the framework is imported, before the model."
    )
    raw["main_group_s"] = time.perf_counter() - began - raw["prepare_s"]
    tables = [table]
    if quantizations:
        tables.append(_tflite_table(preset, size, exports, quantizations, tflite_threads,
                                    repeats_by_batch[1], warmup, start_worker, flops, raw))
    return tables, raw


def _tflite_table(preset, size, exports, quantizations, threads_options, repeats, warmup,
                  start_worker, flops, raw) -> common.Table:
    labelled = [(q, t) for q in quantizations for t in threads_options]
    workers = [
        start_worker(MODULE, {"path": "tflite", "preset": preset, "size": size,
                              "model_path": exports["tflite"][q], "threads": t})
        for q, t in labelled
    ]
    try:
        results = _time_group(workers, 1, warmup, repeats)
    finally:
        for worker in workers:
            worker.close()
    reference = {t: r["median_s"] for (q, t), r in zip(labelled, results, strict=True)
                 if q == "float32"}
    table = common.Table(
        f'TFLite (LiteRT, XNNPACK): "{preset}" at {size}x{size}, batch 1',
        ["model", "num_threads", "file MiB", "size / float32", "ms / image (median)",
         "ms / image (best)", "achieved GFLOP/s", "peak RSS MiB", "time / float32",
         "convert s"],
    )
    float32_bytes = exports["tflite_bytes"].get("float32")
    for (quantization, threads), result in zip(labelled, results, strict=True):
        size_bytes = exports["tflite_bytes"][quantization]
        row = {"quantization": quantization, "threads": threads, "bytes": size_bytes, **result,
               "size_ratio": size_bytes / float32_bytes if float32_bytes else None,
               "vs_float32": (result["median_s"] / reference[threads]
                              if threads in reference else None)}
        raw["tflite"].append(row)
        table.rows.append([
            quantization, "default" if threads is None else threads, size_bytes / 2**20,
            row["size_ratio"], 1e3 * result["median_s"], 1e3 * result["min_s"],
            bench_ceiling.gflops_per_s(flops, result["median_s"]), result["peak_rss_mib"],
            row["vs_float32"], exports["convert_s"][quantization],
        ])
    folder = common.train_photos()
    calibration = (f"JPEGs of {folder}" if folder is not None
                   else f"random images (${common.PHOTOS_ENV} unset)")
    table.notes.append(
        "time / float32: against float32 at the same num_threads. int8: full-integer, calibrated "
        f"on {calibration}; input and outputs stay float32."
    )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--preset", default="eccv16")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.worker:
        common.serve(make_handler(json.loads(args.worker)))
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory() as work_dir:
        tables, _ = inference_tables(
            args.preset, args.size, (1, 8), {1: args.repeats, 8: args.repeats}, 1,
            lambda module, spec, env=None: common.Worker(module, spec, env), work_dir,
        )
    for table in tables:
        print(table.markdown() + "\n")


if __name__ == "__main__":
    main()
