r"""Trains a preset of the network in PyTorch on a GPU, with the package's loss and data recipe.

`python scripts/train_torch.py --photos=photos144.npz --output_dir=run --train_seconds=400`

Why it exists: the GPU machines lent to this project carry PyTorch and no TensorFlow (the
TensorFlow wheel is far larger than what can travel to them), so a GPU run of the package's
network goes through this script; `scripts/train.py` remains the trainer for TensorFlow users.
The package's bundled default model was trained this way (see README.md). Everything matches the
TensorFlow trainer where it matters to the weights; the pieces live in `keras_colorful.torch_port`:

- the network: `torch_port.network`, the same layers and state-dict layout as the released
  ECCV16 model, so `keras_colorful.weights.convert.convert_state_dict(..., preset=...)` turns
  the result into a Keras `ColorizationNet` (`scripts/bundle_model.py --state_dict=...`);
- the loss: `torch_port.loss`, as `keras_colorful.losses.RebalancedSoftCrossEntropy`;
- Lab: `torch_port.lab`, scikit-image's sRGB/D65 formulas, as `keras_colorful.color.rgb_to_lab`;
- the batches: `torch_port.batches`;
- Adam (0.9, 0.99, 1e-8) with coupled L2 on the conv kernels.

The data: a pack of square thumbnails (`scripts/pack_photos.py`), decoded once into GPU memory;
every step takes a random crop of each photo (one crop size per step), flips half of them and
resizes the batch to one of --output_sizes (scale augmentation: the same photo seen larger, as
the network sees photos resized to 256 at inference). Training runs for --train_seconds of wall
time (or --max_steps): the learning rate warms up over --warmup_steps, stays at --learning_rate
for the first half of the time and follows a cosine to 1% of it. The state dict is written
atomically as `state.npz` (numpy arrays, PyTorch layout) every --save_every_seconds and at the
end, with `progress.json`; --init continues from such a file.

Runs from a checkout with the package importable: `pip install -e .` (or `PYTHONPATH=.` from the
repository root, e.g. on a machine without TensorFlow, where installing the package's
dependencies is not wanted). Needs torch, numpy, Pillow (with WebP, as its wheels are) and
absl-py, not TensorFlow: `keras_colorful.torch_port` and the plain-data modules it reads
(`constants`, `presets`) import no TensorFlow.
"""

import json
import math
import pathlib
import time

import numpy as np
import torch
from absl import app, flags

from keras_colorful import constants, files
from keras_colorful.torch_port import batches, lab, loss, network

FLAGS = flags.FLAGS
flags.DEFINE_string("photos", None, "Photo pack from scripts/pack_photos.py.")
flags.DEFINE_string("output_dir", None, "Where state.npz, progress.json and the log go.")
flags.DEFINE_string("preset", "small", "Network preset (keras_colorful/presets.py).")
flags.DEFINE_string("init", None, "state.npz to start from (default: random, PyTorch's init).")
flags.DEFINE_integer("batch_size", 256, "Photos per step.")
flags.DEFINE_list("output_sizes", ["128", "144", "160", "176"], "Network input sizes (mult. of 8).")
flags.DEFINE_float("max_zoom", 1.5, "Largest upscaling of a crop (output size / crop size).")
flags.DEFINE_float("learning_rate", 1e-3, "Adam's learning rate after warm-up.")
flags.DEFINE_integer("warmup_steps", 200, "Linear learning-rate warm-up.")
flags.DEFINE_float("l2", constants.WEIGHT_DECAY, "Coupled L2 on the conv kernels (the release's weight decay).")
flags.DEFINE_float("train_seconds", 400.0, "Wall time for training (after data loading).")
flags.DEFINE_integer("max_steps", None, "Stop after this many steps (default: time only).")
flags.DEFINE_float("save_every_seconds", 60.0, "Checkpoint interval.")
flags.DEFINE_integer("log_every", 100, "Steps between log lines.")
flags.DEFINE_string("device", "cuda", "torch device.")
flags.DEFINE_enum("autocast", "auto", ["auto", "bfloat16", "off"],
                  "Run the network under bfloat16 autocast: auto = on CUDA only; bfloat16 = on any "
                  "device (faster on a CPU with bfloat16 instructions, e.g. AVX512_BF16; "
                  "docs/default_model.md); off = float32.")
flags.DEFINE_integer("seed", 0, "Random seed.")
flags.mark_flags_as_required(["photos", "output_dir"])


def learning_rate(step: int, fraction: float) -> float:
    """Warm-up, constant for the first half of the time, then a cosine to 1%."""
    rate = FLAGS.learning_rate * min(1.0, (step + 1) / max(1, FLAGS.warmup_steps))
    if fraction > 0.5:
        rate *= 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, (fraction - 0.5) / 0.5)))
    return rate


def save_state(net, output_dir: pathlib.Path, progress: dict) -> None:
    """Writes state.npz (atomically) and progress.json."""
    arrays = {key: value.detach().cpu().numpy() for key, value in net.state_dict().items()}
    with files.atomic_path(output_dir / "state.npz") as partial:
        np.savez(partial, **arrays)
    files.write_text(output_dir / "progress.json", json.dumps(progress, indent=2))


def main(argv):
    del argv
    output_dir = pathlib.Path(FLAGS.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    device = torch.device(FLAGS.device)
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(FLAGS.seed)
    generator = torch.Generator().manual_seed(FLAGS.seed)
    start = time.time()
    photos, bin_centers, class_weights = batches.decode_pack(FLAGS.photos)
    print(f"Decoded {len(photos)} photos {photos.shape[1:]} in {time.time() - start:.1f} s",
          flush=True)
    photos = torch.from_numpy(photos).to(device)
    bin_centers = torch.from_numpy(bin_centers).to(device)
    class_weights = torch.from_numpy(class_weights).to(device)
    output_sizes = [int(size) for size in FLAGS.output_sizes]

    net = network.build_torch_model(FLAGS.preset, seed=FLAGS.seed)
    if FLAGS.init:
        state = {key: torch.from_numpy(value) for key, value in np.load(FLAGS.init).items()}
        net.load_state_dict(state)
    net = net.to(device).to(memory_format=torch.channels_last).train()
    kernels = [p for p in net.parameters() if p.ndim == 4]
    others = [p for p in net.parameters() if p.ndim != 4]
    optimizer = torch.optim.Adam(
        [{"params": kernels, "weight_decay": FLAGS.l2}, {"params": others, "weight_decay": 0.0}],
        lr=FLAGS.learning_rate, betas=(constants.ADAM_BETA_1, constants.ADAM_BETA_2),
        eps=constants.ADAM_EPSILON)
    autocast = FLAGS.autocast == "bfloat16" or (FLAGS.autocast == "auto" and device.type == "cuda")
    print(f"{FLAGS.preset}: {network.parameter_count(net):,} parameters on {device}, "
          f"batch {FLAGS.batch_size}, sizes {output_sizes}, bfloat16 {autocast}", flush=True)

    step, images, last_save = 0, 0, time.time()
    sums = torch.zeros(2, device=device)
    train_start = window_start = time.time()
    while True:
        fraction = (time.time() - train_start) / FLAGS.train_seconds
        if fraction >= 1.0 or (FLAGS.max_steps is not None and step >= FLAGS.max_steps):
            break
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, fraction)
        rgb = batches.random_batch(photos, FLAGS.batch_size, output_sizes, FLAGS.max_zoom,
                                   generator)
        lab_batch = lab.rgb_to_lab(rgb)
        lightness = lab_batch[:, :1].contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            logits = net(lightness)
        weighted, unweighted = loss.rebalanced_loss(logits, lab_batch[:, 1:], bin_centers,
                                                    class_weights)
        optimizer.zero_grad(set_to_none=True)
        weighted.backward()
        optimizer.step()
        sums += torch.stack([weighted.detach(), unweighted.detach() / logits[0, 0].numel()])
        step += 1
        images += FLAGS.batch_size
        if step % FLAGS.log_every == 0:
            mean = (sums / FLAGS.log_every).tolist()
            rate = FLAGS.log_every * FLAGS.batch_size / (time.time() - window_start)
            print(f"step {step} images {images} loss {mean[0]:.1f} unweighted/px {mean[1]:.3f} "
                  f"lr {optimizer.param_groups[0]['lr']:.2e} {rate:.0f} images/s "
                  f"t {time.time() - train_start:.0f} s", flush=True)
            if not all(math.isfinite(value) for value in mean):
                raise FloatingPointError(f"Non-finite loss at step {step}: {mean}")
            sums.zero_()
            window_start = time.time()
        if time.time() - last_save > FLAGS.save_every_seconds:
            save_state(net, output_dir, {"step": step, "images": images, "done": False})
            last_save = time.time()
    seconds = time.time() - train_start
    save_state(net, output_dir, {"step": step, "images": images, "done": True,
                                 "train_seconds": seconds, "images_per_second": images / seconds,
                                 "preset": FLAGS.preset, "device": str(device)})
    print(f"Done: {step} steps, {images} images in {seconds:.0f} s "
          f"({images / seconds:.0f} images/s); wrote {output_dir / 'state.npz'}", flush=True)


if __name__ == "__main__":
    app.run(main)
