"""Export for deployment, as a library: `inference.pipeline` baked into the exported graphs.

- `saved_model_lib.export_saved_model(net, "models/colorizer/1")`: a SavedModel for TF Serving
  with the `serving_default` (encoded images to PNGs) and `colorize_tensor` (uint8 arrays)
  signatures; `saved_model_lib.load_predictor` reads one back for `keras_colorful.load`.
- `tflite_lib.convert(net, quantization, size)`: `.tflite` bytes, L in, ab and logits out.
- `variables`: the weights an export tracks.

The command lines are `export/saved_model.py` and `export/tflite.py` at the top of the
repository (and `keras-colorful export`); formats and serving commands are in export/README.md
and export/serving/README.md.

Example:

>>> from keras_colorful.export import saved_model_lib, tflite_lib
>>> tflite_lib.QUANTIZATIONS
('float32', 'float16', 'dynamic_int8', 'int8')
"""
