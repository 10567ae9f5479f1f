r"""Trains a preset of the network in PyTorch on a GPU, with the package's loss and data recipe.

`python scripts/train_torch.py --photos=photos144.npz --output_dir=run --train_seconds=400`

Why it exists: the GPU machines lent to this project carry PyTorch and no TensorFlow (the
TensorFlow wheel is far larger than what can travel to them), so a GPU run of the package's
network goes through this script; `scripts/train.py` remains the trainer for TensorFlow users.
The package's bundled default model was trained this way (see README.md). Everything matches the
TensorFlow trainer where it matters to the weights:

- the network: `benchmarks/torch_models.py`, the same layers and state-dict layout as the
  released ECCV16 model, so `keras_colorful.weights.convert_state_dict(..., preset=...)` turns
  the result into a Keras `ColorizationNet` (`scripts/bundle_model.py --state_dict=...`);
- the loss: `keras_colorful.losses.RebalancedSoftCrossEntropy` (ab subsampled x4 from the top-left,
  10-neighbour Gaussian soft encoding with sigma 5, class weight of the nearest bin, gray images
  weight 0, sum over pixels / batch); tests/test_train_torch.py checks it against the Keras layer;
- Lab: scikit-image's sRGB/D65 formulas, as `keras_colorful.color.rgb_to_lab`;
- Adam (0.9, 0.99, 1e-8) with coupled L2 on the conv kernels.

The data: a pack of square thumbnails (`scripts/pack_photos.py`), decoded once into GPU memory;
every step takes a random crop of each photo (one crop size per step), flips half of them and
resizes the batch to one of --output_sizes (scale augmentation: the same photo seen larger, as
the network sees photos resized to 256 at inference). Training runs for --train_seconds of wall
time (or --max_steps): the learning rate warms up over --warmup_steps, stays at --learning_rate
for the first half of the time and follows a cosine to 1% of it. The state dict is written
atomically as `state.npz` (numpy arrays, PyTorch layout) every --save_every_seconds and at the
end, with `progress.json`; --init continues from such a file. Needs torch, numpy, Pillow (with
WebP, as its wheels are) and absl-py, not TensorFlow (`pip install torch`, or the `convert` extra).
"""

import json
import math
import os
import pathlib
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from absl import app, flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from benchmarks import torch_models  # noqa: E402  (the repository root is now importable)

FLAGS = flags.FLAGS
flags.DEFINE_string("photos", None, "Photo pack from scripts/pack_photos.py.")
flags.DEFINE_string("output_dir", None, "Where state.npz, progress.json and the log go.")
flags.DEFINE_string("preset", "small", "Network preset (keras_colorful/models/presets.py).")
flags.DEFINE_string("init", None, "state.npz to start from (default: random, PyTorch's init).")
flags.DEFINE_integer("batch_size", 256, "Photos per step.")
flags.DEFINE_list("output_sizes", ["128", "144", "160", "176"], "Network input sizes (mult. of 8).")
flags.DEFINE_float("max_zoom", 1.5, "Largest upscaling of a crop (output size / crop size).")
flags.DEFINE_float("learning_rate", 1e-3, "Adam's learning rate after warm-up.")
flags.DEFINE_integer("warmup_steps", 200, "Linear learning-rate warm-up.")
flags.DEFINE_float("l2", 1e-3, "Coupled L2 on the conv kernels (the release's weight decay).")
flags.DEFINE_float("train_seconds", 400.0, "Wall time for training (after data loading).")
flags.DEFINE_integer("max_steps", None, "Stop after this many steps (default: time only).")
flags.DEFINE_float("save_every_seconds", 60.0, "Checkpoint interval.")
flags.DEFINE_integer("log_every", 100, "Steps between log lines.")
flags.DEFINE_string("device", "cuda", "torch device.")
flags.DEFINE_bool("bfloat16", True, "Run the network under bfloat16 autocast on CUDA.")
flags.DEFINE_integer("seed", 0, "Random seed.")
flags.mark_flags_as_required(["photos", "output_dir"])

# skimage's sRGB -> XYZ matrix and D65 white (as keras_colorful.color).
_XYZ_FROM_RGB = [[0.412453, 0.357580, 0.180423],
                 [0.212671, 0.715160, 0.072169],
                 [0.019334, 0.119193, 0.950227]]
_D65_WHITE = [0.95047, 1.0, 1.08883]
_SUBSAMPLE = 4
_NEIGHBORS = 10
_SIGMA = 5.0
_GRAY_THRESHOLD = 5.0


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1], [N, 3, H, W] float32 -> CIE Lab (D65), as scikit-image's rgb2lab."""
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    matrix = torch.tensor(_XYZ_FROM_RGB, dtype=rgb.dtype, device=rgb.device)
    white = torch.tensor(_D65_WHITE, dtype=rgb.dtype, device=rgb.device)
    xyz = torch.einsum("ij,njhw->nihw", matrix, linear) / white[None, :, None, None]
    f = torch.where(xyz > 0.008856, xyz.clamp_min(1e-12) ** (1.0 / 3.0),
                    7.787 * xyz + 16.0 / 116.0)
    fx, fy, fz = f[:, 0], f[:, 1], f[:, 2]
    return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=1)


def rebalanced_loss(logits, ab, bin_centers, class_weights):
    """(weighted, unweighted) soft cross-entropy, sums over pixels / batch, as the Keras layer.

    Args:
        logits: [N, Q, h, w] (any float dtype; computed in float32).
        ab: [N, 2, H, W] ground truth at the input's resolution.
        bin_centers: [Q, 2] float32; class_weights: [Q] float32.
    """
    batch, bins, height, width = logits.shape
    ab = ab[:, :, ::_SUBSAMPLE, ::_SUBSAMPLE][:, :, :height, :width].float()
    pixels = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    distances = (pixels[:, None, :] - bin_centers[None]).square().sum(-1)
    nearest, indices = torch.topk(distances, _NEIGHBORS, dim=-1, largest=False, sorted=True)
    targets = torch.softmax(-nearest / (2.0 * _SIGMA**2), dim=-1)
    log_probs = F.log_softmax(logits.float().permute(0, 2, 3, 1).reshape(-1, bins), dim=-1)
    cross_entropy = -(targets * log_probs.gather(1, indices)).sum(-1)
    non_gray = (ab.abs().amax(dim=(1, 2, 3)) > _GRAY_THRESHOLD).float()
    pixel_weights = class_weights[indices[:, 0]] * non_gray.repeat_interleave(height * width)
    return (cross_entropy * pixel_weights).sum() / batch, cross_entropy.sum() / batch


def decode_pack(path: str):
    """(uint8 [N, S, S, 3] photos, bin centres, class weights) from a pack."""
    import concurrent.futures
    import io

    from PIL import Image

    pack = np.load(path)
    data, offsets = pack["data"], pack["offsets"]
    chunks = [data[offsets[i]:offsets[i + 1]].tobytes() for i in range(len(offsets) - 1)]

    def decode(chunk):
        with Image.open(io.BytesIO(chunk)) as image:
            return np.asarray(image.convert("RGB"))

    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
        photos = np.stack(list(pool.map(decode, chunks)))
    return photos, pack["bin_centers"].astype(np.float32), pack["class_weights"].astype(np.float32)


def random_batch(photos, batch_size, output_sizes, max_zoom, generator):
    """A batch of random crops, flipped at random, resized to one random size: [N, 3, s, s]."""
    device = photos.device
    count, side = photos.shape[0], photos.shape[1]
    output = int(output_sizes[torch.randint(len(output_sizes), (1,), generator=generator)])
    smallest = max(8, min(side, math.ceil(output / max_zoom / 8) * 8))
    largest = min(side, output)
    crop = smallest + 8 * int(torch.randint((largest - smallest) // 8 + 1, (1,),
                                            generator=generator))
    index = torch.randint(count, (batch_size,), generator=generator).to(device)
    top = torch.randint(side - crop + 1, (batch_size,), generator=generator).to(device)
    left = torch.randint(side - crop + 1, (batch_size,), generator=generator).to(device)
    steps = torch.arange(crop, device=device)
    rows, cols = top[:, None] + steps, left[:, None] + steps
    flip = (torch.rand(batch_size, generator=generator) < 0.5).to(device)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    batch = photos[index[:, None, None], rows[:, :, None], cols[:, None, :]]
    batch = batch.permute(0, 3, 1, 2).float() / 255.0
    if crop != output:
        batch = F.interpolate(batch, size=(output, output), mode="bilinear",
                              align_corners=False, antialias=crop > output).clamp(0.0, 1.0)
    return batch


def learning_rate(step: int, fraction: float) -> float:
    """Warm-up, constant for the first half of the time, then a cosine to 1%."""
    rate = FLAGS.learning_rate * min(1.0, (step + 1) / max(1, FLAGS.warmup_steps))
    if fraction > 0.5:
        rate *= 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, (fraction - 0.5) / 0.5)))
    return rate


def save_state(net, output_dir: pathlib.Path, progress: dict) -> None:
    """Writes state.npz (atomically) and progress.json."""
    arrays = {key: value.detach().cpu().numpy() for key, value in net.state_dict().items()}
    temporary = output_dir / "state.tmp.npz"
    np.savez(temporary, **arrays)
    os.replace(temporary, output_dir / "state.npz")
    (output_dir / "progress.json").write_text(json.dumps(progress, indent=2))


def main(argv):
    del argv
    output_dir = pathlib.Path(FLAGS.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    device = torch.device(FLAGS.device)
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(FLAGS.seed)
    generator = torch.Generator().manual_seed(FLAGS.seed)
    start = time.time()
    photos, bin_centers, class_weights = decode_pack(FLAGS.photos)
    print(f"Decoded {len(photos)} photos {photos.shape[1:]} in {time.time() - start:.1f} s",
          flush=True)
    photos = torch.from_numpy(photos).to(device)
    bin_centers = torch.from_numpy(bin_centers).to(device)
    class_weights = torch.from_numpy(class_weights).to(device)
    output_sizes = [int(size) for size in FLAGS.output_sizes]

    net = torch_models.build_torch_model(FLAGS.preset, seed=FLAGS.seed)
    if FLAGS.init:
        state = {key: torch.from_numpy(value) for key, value in np.load(FLAGS.init).items()}
        net.load_state_dict(state)
    net = net.to(device).to(memory_format=torch.channels_last).train()
    kernels = [p for p in net.parameters() if p.ndim == 4]
    others = [p for p in net.parameters() if p.ndim != 4]
    optimizer = torch.optim.Adam(
        [{"params": kernels, "weight_decay": FLAGS.l2}, {"params": others, "weight_decay": 0.0}],
        lr=FLAGS.learning_rate, betas=(0.9, 0.99), eps=1e-8)
    autocast = FLAGS.bfloat16 and device.type == "cuda"
    print(f"{FLAGS.preset}: {torch_models.parameter_count(net):,} parameters on {device}, "
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
        rgb = random_batch(photos, FLAGS.batch_size, output_sizes, FLAGS.max_zoom, generator)
        lab = rgb_to_lab(rgb)
        lightness = lab[:, :1].contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            logits = net(lightness)
        weighted, unweighted = rebalanced_loss(logits, lab[:, 1:], bin_centers, class_weights)
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
