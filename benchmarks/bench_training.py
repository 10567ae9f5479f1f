"""Training throughput (images/s): our training step against PyTorch, and the input pipeline.

    python benchmarks/bench_training.py [--presets eccv16 small] [--repeats 3]

(`run_all.py` runs it with the other tables.) Each path runs in a worker process of its own:

- "keras": `ColorizationTrainer(build_model(preset))` compiled with `build_optimizer()` (Adam
  with coupled L2), `train_on_batch` on a uint8 RGB batch: the Lab conversion, the soft encoding
  of the targets and the rebalanced loss all happen inside the step; "keras_xla": the same with
  `jit_compile=True`;
- "torch": `keras_colorful.torch_port.network` in training mode, forward, the weighted soft cross-entropy
  against a precomputed dense soft target `[N, 313, H / 4, W / 4]` and per-pixel weights (no
  Lab conversion, no encoding: those are free for it), backward, `torch.optim.Adam` (the same
  betas, epsilon and coupled L2 on the conv kernels);
- "pipeline": `data.pipeline.make_dataset` in training mode on the photos (decode, random crop,
  resize, flip, batch), `batches_per_run` batches per timed run;
- "keras_pipeline": the "keras" step fed by that pipeline (the batches it consumes are decoded
  in the same process, as in `fit`).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import tempfile

try:
    from benchmarks import bench_ceiling, common
except ImportError:  # run as a script from benchmarks/
    import bench_ceiling
    import common

MODULE = "benchmarks.bench_training"
LABELS = {
    "keras": "ours: `train_on_batch` (Lab, soft encoding, loss inside)",
    "keras_xla": "ours, jit_compile (XLA)",
    "torch": "PyTorch: forward, weighted CE on a precomputed target, backward, Adam",
    "keras_pipeline": "ours fed by the input pipeline",
    "pipeline": "input pipeline alone (decode, crop, resize, flip, batch)",
}


def photo_source(work_dir: str) -> tuple[str, str]:
    """The folder of photos to read (`common.train_photos()`, else generated JPEGs) and a note."""
    folder = common.train_photos()
    if folder is not None:
        return str(folder), f"photos of {folder}"
    try:  # imported here: it loads TensorFlow, which the parent and PyTorch workers need not
        from benchmarks import bench_pipeline
    except ImportError:
        import bench_pipeline

    folder = pathlib.Path(work_dir) / "generated_photos"
    folder.mkdir(parents=True, exist_ok=True)
    bench_pipeline._generated_jpegs(folder, 200)
    return str(folder), f"200 generated 336x224 JPEGs (${common.PHOTOS_ENV} unset)"


def _build_keras(spec: dict):
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_colorful import models
    from keras_colorful.data import pipeline
    from keras_colorful.training import optimizer, training_model

    keras.utils.set_random_seed(0)
    batch, size = spec["batch"], spec["size"]
    iterator = None
    if spec["path"] in ("pipeline", "keras_pipeline"):
        iterator = iter(
            pipeline.make_dataset(spec["data"], batch_size=batch, crop_size=size, scan=False)
        )
    if spec["path"] == "pipeline":
        batches = int(spec.get("batches_per_run", 10))

        def pipeline_call():
            for _ in range(batches):
                next(iterator)

        return pipeline_call
    trainer = training_model.ColorizationTrainer(models.build_model(spec["preset"]))
    trainer.compile(
        optimizer=optimizer.build_optimizer(), jit_compile=spec["path"] == "keras_xla"
    )
    if iterator is not None:
        return lambda: trainer.train_on_batch(next(iterator))
    rng = np.random.default_rng(0)
    images = tf.constant(rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8))
    return lambda: trainer.train_on_batch(images)


def _build_torch(spec: dict):
    import torch

    from keras_colorful import constants
    from keras_colorful.torch_port import network

    batch, size = spec["batch"], spec["size"]
    device = torch.device(spec.get("device", "cpu"))
    net = network.build_torch_model(spec["preset"]).train().to(device)
    kernels = [p for name, p in net.named_parameters() if name.endswith("weight") and p.ndim == 4]
    others = [p for name, p in net.named_parameters() if not (name.endswith("weight") and p.ndim == 4)]
    adam = torch.optim.Adam(
        [{"params": kernels, "weight_decay": constants.WEIGHT_DECAY},
         {"params": others, "weight_decay": 0.0}],
        lr=constants.LEARNING_RATE, betas=(constants.ADAM_BETA_1, constants.ADAM_BETA_2),
        eps=constants.ADAM_EPSILON,
    )
    generator = torch.Generator().manual_seed(0)
    bins, neighbors = constants.NUM_BINS, constants.SOFT_ENCODE_NEIGHBORS
    lightness = 100 * torch.rand((batch, 1, size, size), generator=generator)
    # A soft target like the encoder's: 10 bins per pixel with weights summing to 1, dense.
    shape = (batch, size // 4, size // 4)
    indices = torch.randint(0, bins, (batch, neighbors, *shape[1:]), generator=generator)
    values = torch.rand((batch, neighbors, *shape[1:]), generator=generator)
    target = torch.zeros((batch, bins, *shape[1:])).scatter_(1, indices, values)
    target /= target.sum(dim=1, keepdim=True)
    weights = 0.1 + 6 * torch.rand((batch, 1, *shape[1:]), generator=generator)
    lightness, target, weights = (t.to(device) for t in (lightness, target, weights))

    def step():
        adam.zero_grad(set_to_none=True)
        log_probs = torch.log_softmax(net(lightness), dim=1)
        loss = -(weights * target * log_probs).sum() / batch
        loss.backward()
        adam.step()
        return loss.item()

    return step


def make_handler(spec: dict):
    """Worker handler of one path (see the module docstring). Commands: setup, run, memory."""
    if spec["path"] == "torch":
        import torch  # noqa: F401
    else:
        import tensorflow  # noqa: F401

        from keras_colorful import models  # noqa: F401
    import_rss = common.rss_mib()
    call = _build_torch(spec) if spec["path"] == "torch" else _build_keras(spec)

    def handler(command: dict) -> dict:
        if command["op"] == "setup":
            common.reset_peak_rss()
            for _ in range(int(command.get("warmup", 1))):
                call()
            return {}
        if command["op"] == "run":
            return {"seconds": common.timed(call)}
        if command["op"] == "memory":
            return {"peak_rss_mib": common.peak_rss_mib(), "import_rss_mib": import_rss}
        raise ValueError(f"Unknown command {command}.")

    return handler


def _time_group(workers, warmup: int, repeats: int) -> list[dict]:
    common.broadcast(workers, {"op": "setup", "warmup": warmup})
    samples = common.interleaved(workers, {"op": "run"}, repeats)
    memory = common.broadcast(workers, {"op": "memory"})
    return [{**common.summarize(t), **m} for t, m in zip(samples, memory, strict=True)]


def training_table(
    presets,
    batch: int,
    size: int,
    repeats_by_preset: dict,
    warmup: int,
    start_worker,
    keras_paths=("keras", "keras_xla"),
    extra_workers=(),
) -> tuple[common.Table, list[dict]]:
    """Our training step against PyTorch's, per preset, interleaved; the table and raw rows.

    Args:
        presets: network presets.
        batch: images per step.
        size: crop side.
        repeats_by_preset: {preset: timed steps}.
        warmup: untimed steps first (tracing, XLA compilation).
        start_worker: (module, spec[, env]) -> a worker.
        keras_paths: our variants to time ("keras", "keras_xla").
        extra_workers: (label, spec, env) of further paths, e.g. oneDNN off; spec without
            preset, batch and size (filled in per preset).
    """
    table = common.Table(
        f"Training: batch {batch}, {size}x{size}",
        ["preset", "path", "images/s (median)", "ms / step (median)", "ms / step (best)",
         "achieved GFLOP/s", "peak RSS MiB", "images/s / PyTorch"],
    )
    raw = []
    for preset in presets:
        common_spec = {"preset": preset, "batch": batch, "size": size}
        labelled = [(LABELS[p], {"path": p, **common_spec}, None) for p in keras_paths]
        labelled += [(label, {**spec, **common_spec}, env) for label, spec, env in extra_workers]
        labelled.append((LABELS["torch"], {"path": "torch", **common_spec}, None))
        workers = [start_worker(MODULE, spec, env) for _, spec, env in labelled]
        try:
            results = _time_group(workers, warmup, repeats_by_preset[preset])
        finally:
            for worker in workers:
                worker.close()
        flops = bench_ceiling.TRAINING_FLOPS_FACTOR * bench_ceiling.forward_flops(preset, size, size)
        torch_rate = batch / results[-1]["median_s"]
        for (label, spec, env), result in zip(labelled, results, strict=True):
            rate = batch / result["median_s"]
            row = {"preset": preset, "label": label, "path": spec["path"], "env": env,
                   **result, "images_per_s": rate, "vs_torch": rate / torch_rate}
            raw.append(row)
            table.rows.append([
                preset, label, rate, 1e3 * result["median_s"], 1e3 * result["min_s"],
                bench_ceiling.gflops_per_s(flops * batch, result["median_s"]),
                result["peak_rss_mib"], row["vs_torch"],
            ])
    table.notes.append(
        f"{repeats_by_preset} timed steps per path after {warmup} warm-up, interleaved; "
        "achieved GFLOP/s counts 3x the forward convs' FLOPs per image. Peak RSS: the worker's "
        "VmHWM from before its warm-up."
    )
    return table, raw


def pipeline_table(
    preset: str,
    batch: int,
    size: int,
    repeats: int,
    warmup: int,
    start_worker,
    work_dir: str,
    batches_per_run: int = 10,
    training_rate: float | None = None,
) -> tuple[common.Table, dict]:
    """The input pipeline alone, then the `preset` training step fed by it (each its own group,
    timed in consecutive runs, so that prefetching never runs during another path's timing).

    Args:
        training_rate: images/s of the same training step fed from memory (from
            `training_table`), for the ratio column; None to leave it out.
    """
    data, note = photo_source(work_dir)
    spec = {"preset": preset, "batch": batch, "size": size, "data": data,
            "batches_per_run": batches_per_run}
    paths = ("pipeline", "keras_pipeline")
    # Both start (imports, graph building) at once; an iterator only runs from its first batch.
    workers = [start_worker(MODULE, {**spec, "path": path}) for path in paths]
    results = {}
    try:
        for path, worker in zip(paths, workers, strict=True):
            (results[path],) = _time_group([worker], warmup + (2 if path == "pipeline" else 0),
                                           repeats)
            worker.close()
    finally:
        for worker in workers:
            worker.close()
    pipeline_rate = batch * batches_per_run / results["pipeline"]["median_s"]
    fed_rate = batch / results["keras_pipeline"]["median_s"]
    table = common.Table(
        f'Input pipeline: batch {batch}, {size}x{size} crops, against the "{preset}" step',
        ["path", "images/s (median)", "peak RSS MiB", f'/ "{preset}" training images/s'],
    )
    reference = training_rate or fed_rate
    table.rows.append([LABELS["pipeline"], pipeline_rate, results["pipeline"]["peak_rss_mib"],
                       pipeline_rate / reference])
    table.rows.append([f'"{preset}" {LABELS["keras_pipeline"]}', fed_rate,
                       results["keras_pipeline"]["peak_rss_mib"], fed_rate / reference])
    table.notes.append(
        f"On {note}, `make_dataset(training=True, scan=False)`; pipeline: {batches_per_run} "
        f"batches per timed run, {repeats} runs after {warmup + 2} warm-up runs. Ratio column: "
        f'over the "{preset}" step fed from memory'
        + (" (training table)." if training_rate else " (not measured: over the fed step).")
    )
    raw = {"data": data, "pipeline_images_per_s": pipeline_rate, "fed_images_per_s": fed_rate,
           "training_images_per_s": training_rate, **{k: v for k, v in results.items()}}
    return table, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--presets", nargs="+", default=["eccv16", "small"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.worker:
        common.serve(make_handler(json.loads(args.worker)))
        return
    start = common.Worker
    table, raw = training_table(args.presets, 8, 176, dict.fromkeys(args.presets, args.repeats),
                                1, start)
    print(table.markdown() + "\n")
    with tempfile.TemporaryDirectory() as work_dir:
        small = [r["images_per_s"] for r in raw if r["preset"] == "small" and r["path"] == "keras"]
        pipeline, _ = pipeline_table("small", 8, 176, args.repeats, 1, start, work_dir,
                                     training_rate=small[0] if small else None)
    print(pipeline.markdown())


if __name__ == "__main__":
    main()
