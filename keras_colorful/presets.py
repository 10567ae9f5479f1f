"""Named networks and named released weights: plain data, importable without TensorFlow.

`PRESETS` holds the constructor arguments of each `ColorizationNet` variant. All share the
structure of the paper's network (8 blocks, strides 2 in blocks 1-3, dilation 2 in blocks 5-6, a
k4 s2 transposed conv opening block 8, 313 logits at 1/4 resolution); they differ only in width
(channels per block) and depth (convs per block).

- "eccv16": the paper's network exactly (the authors' `ECCVGenerator`): 32,235,385 trainable
  parameters, plus the release's 626-parameter bin-centre 1x1 conv that the package replaces by
  the weight-free `AnnealedMean` layer: 32,236,011 in all.
- "small": the paper's depths with every width divided by 4: 2,032,585 trainable parameters
  (1/16 of "eccv16": conv parameters and FLOPs scale with width squared), trainable on a CPU
  (benchmarks/RESULTS.md has the timings that chose it).
- "tiny": for tests only. Widths 8-16 and one conv per block except where the structure needs
  two (the stride-1 conv before each stride-2 conv in blocks 1-3, a 3x3 conv after the transposed
  conv of block 8), so every kind of layer (symmetric stride-2 padding, dilation, transposed conv
  with cropping) is still exercised.

`RELEASED_WEIGHTS` names the weight files published by others that the package can load: where
each comes from, the first hex digits of its sha256 (PyTorch hub's file-name convention) and the
preset of its network.

Both the Keras models (`keras_colorful.models`) and the PyTorch port
(`keras_colorful.torch_port`) read them from here.

Example:

>>> from keras_colorful import presets
>>> presets.PRESETS["small"]["block_widths"]
(16, 32, 64, 128, 128, 128, 128, 64)
>>> presets.RELEASED_WEIGHTS["eccv16"]["preset"]
'eccv16'
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

RELEASED_WEIGHTS: dict[str, dict] = {
    "eccv16": {
        "description": "the authors' released ECCV 2016 model",
        "file_name": "colorization_release_v2-9b330a0b.pth",
        "url": "https://colorizers.s3.us-east-2.amazonaws.com/colorization_release_v2-9b330a0b.pth",
        "sha256_prefix": "9b330a0b",
        "preset": "eccv16",
    },
}
