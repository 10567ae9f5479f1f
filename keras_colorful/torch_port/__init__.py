"""The colorization network, its loss and its input batches in PyTorch (needs torch).

Why this exists: the GPU machines lent to this project carry PyTorch and no TensorFlow, so a GPU
training run of the package's network goes through `scripts/train_torch.py`, which is built on
this subpackage; the package's bundled default model was trained that way.
`keras_colorful.weights.convert.convert_state_dict` turns the resulting state dict into a Keras
`ColorizationNet`. The benchmarks use the same network as their PyTorch baseline.

- `network`: `ColorizationNetTorch` and `build_torch_model(preset)`, the layers and state-dict
  layout of the authors' released ECCV16 network, for every preset of `keras_colorful.presets`;
- `lab`: sRGB to CIE Lab, as `keras_colorful.color.rgb_to_lab`;
- `loss`: the class-rebalanced soft cross-entropy of `keras_colorful.losses`;
- `batches`: decoding a photo pack of `scripts/pack_photos.py` and random training batches.

Needs torch and numpy (and Pillow for `batches.decode_pack`). It reads its numbers from
`keras_colorful.constants` and `keras_colorful.presets`, which import nothing but Python: no
module here loads TensorFlow or Keras, and the rest of the package never imports this one.
"""
