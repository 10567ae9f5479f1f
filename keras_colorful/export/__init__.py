"""Export for deployment: SavedModel for TF Serving, TFLite for mobile, decode baked in.

- `serving_fn`: the serve function every export shares (Lab, resize, net, annealed mean,
  upsampling, Lab to RGB), as pure TensorFlow ops.
- `saved_model_lib.export_saved_model(net, "models/colorizer/1")`: a SavedModel with the
  `serving_default` (encoded images to PNGs) and `colorize_tensor` (uint8 arrays) signatures.
- `tflite_lib.convert(net, quantization, size)`: `.tflite` bytes, L in, ab and logits out.
- `network_loader.load_network(model=..., preset=...)`: the network to export.

The command-line wrappers are `export/saved_model.py` and `export/tflite.py` at the top of the
repository; formats and serving commands are in export/README.md and export/serving/README.md.

Example:

>>> from keras_colorful.export import saved_model_lib, tflite_lib
>>> tflite_lib.QUANTIZATIONS
('float32', 'float16', 'dynamic_int8', 'int8')
"""
