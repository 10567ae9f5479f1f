"""Training batches in PyTorch: a photo pack decoded into memory, random crops of it.

A pack is the `.npz` of `scripts/pack_photos.py`: square WebP thumbnails (`data`, `offsets`) and
the loss's tables (`bin_centers`, `class_weights`), so a trainer needs no TensorFlow. The photos
are decoded once (`decode_pack`) and kept on the training device; every step then takes a random
crop of each photo, flips half of them and resizes the batch to one size (`random_batch`).
"""

from __future__ import annotations

import concurrent.futures
import io
import math
import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from keras_colorful import constants

# Crop sides are multiples of the network's total stride.
_CROP_MULTIPLE = constants.SIZE_MULTIPLE


def decode_pack(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decodes every photo of a pack (threads over the CPU cores; needs Pillow with WebP).

    Args:
        path: the `.npz` of `scripts/pack_photos.py`.

    Returns:
        (photos, bin_centers, class_weights): uint8 `[N, S, S, 3]`, float32 `[313, 2]` and
        float32 `[313]`.
    """
    pack = np.load(path)
    data, offsets = pack["data"], pack["offsets"]
    chunks = [data[offsets[i]:offsets[i + 1]].tobytes() for i in range(len(offsets) - 1)]

    def decode(chunk):
        with Image.open(io.BytesIO(chunk)) as image:
            return np.asarray(image.convert("RGB"))

    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
        photos = np.stack(list(pool.map(decode, chunks)))
    return photos, pack["bin_centers"].astype(np.float32), pack["class_weights"].astype(np.float32)


def random_batch(
    photos: torch.Tensor,
    batch_size: int,
    output_sizes: Sequence[int],
    max_zoom: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """A batch of random crops, flipped at random, resized to one random size.

    One output size s is drawn from `output_sizes` per batch, and one crop side (a multiple of 8
    between s / max_zoom and s, at most the photos' side); each photo of the batch is drawn at
    random, cropped at a random place, mirrored with probability 1/2, and the batch is resized
    (bilinear, antialiased when shrinking) to s x s.

    Args:
        photos: uint8 `[N, S, S, 3]` on the training device.
        batch_size: photos per batch.
        output_sizes: the sizes to draw from (multiples of 8).
        max_zoom: largest upscaling of a crop (output size / crop size).
        generator: a CPU `torch.Generator` (all draws use it, so a seed fixes the batches).

    Returns:
        float32 sRGB in [0, 1], `[batch_size, 3, s, s]`, on the photos' device.
    """
    device = photos.device
    count, side = photos.shape[0], photos.shape[1]
    output = int(output_sizes[torch.randint(len(output_sizes), (1,), generator=generator)])
    smallest = max(_CROP_MULTIPLE, min(
        side, math.ceil(output / max_zoom / _CROP_MULTIPLE) * _CROP_MULTIPLE))
    largest = min(side, output)
    crop = smallest + _CROP_MULTIPLE * int(torch.randint(
        (largest - smallest) // _CROP_MULTIPLE + 1, (1,), generator=generator))
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
