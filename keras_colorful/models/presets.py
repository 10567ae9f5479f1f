"""Presets of `ColorizationNet`: plain data, the constructor arguments of each variant.

All presets share the structure of the paper's network (8 blocks, strides 2 in blocks 1-3,
dilation 2 in blocks 5-6, a k4 s2 transposed conv opening block 8, 313 logits at 1/4 resolution);
they differ only in width (channels per block) and depth (convs per block).

- "eccv16": the paper's network exactly (the authors' `ECCVGenerator`): 32,235,385 trainable
  parameters, plus the release's 626-parameter bin-centre 1x1 conv that we replace by the
  weight-free `AnnealedMean` layer: 32,236,011 in all.
- "small": the paper's depths with every width divided by 4: 2,032,585 trainable parameters
  (1/16 of "eccv16": conv parameters and FLOPs scale with width squared). Measured on this
  project's 2-core CPU (TF 2.21, float32, Adam, batch 8 of 176x176, other jobs sharing the cores):
  0.6-1.2 s per training step (7-13 images/s; 0.65-0.85 s with `jit_compile=True`), against
  ~5.5 s (1.5 images/s) for "eccv16". An hour is then ~3,000-5,000 steps, 25k-40k images.
  Neighbours measured in the same run: widths / 2 (8.1 M parameters) 2.5-3.8 s per step, too
  slow for an hour or two; widths / 8 (0.51 M) 0.25 s, but with 8-16 channels in the first
  blocks and 32 channels feeding the 313 logits.
- "tiny": for tests only. Widths 8-16 and one conv per block except where the structure needs
  two (the stride-1 conv before each stride-2 conv in blocks 1-3, a 3x3 conv after the transposed
  conv of block 8), so every kind of layer (symmetric stride-2 padding, dilation, transposed conv
  with cropping) is still exercised.

Example:

>>> from keras_colorful.models import presets
>>> presets.PRESETS["small"]["block_widths"]
(16, 32, 64, 128, 128, 128, 128, 64)
"""

PRESETS: dict[str, dict] = {
    "eccv16": {
        "block_widths": (64, 128, 256, 512, 512, 512, 512, 256),
        "block_depths": (2, 2, 3, 3, 3, 3, 3, 3),
    },
    "small": {
        "block_widths": (16, 32, 64, 128, 128, 128, 128, 64),
        "block_depths": (2, 2, 3, 3, 3, 3, 3, 3),
    },
    "tiny": {
        "block_widths": (8, 8, 16, 16, 16, 16, 16, 16),
        "block_depths": (2, 2, 2, 1, 1, 1, 1, 2),
    },
}
