"""Weights made elsewhere: PyTorch-layout state dicts and the authors' released model.

- `convert`: the exact mapping between the PyTorch layout and the Keras `ColorizationNet`
  (`convert_state_dict`, `network_state_dict`, `torch_keys`, `check_model_out`).
- `torch_file`: reading PyTorch `.pth` files without PyTorch, as safely as
  `torch.load(weights_only=True)`; `pth`: a state dict as numpy, and `convert_pth`.
- `released`: released weights by name (`presets.RELEASED_WEIGHTS`): download, checksum, cache,
  `released_network`.
"""
