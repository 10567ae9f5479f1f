"""Export for deployment, as a library: `inference.pipeline` baked into the exported graphs.

- `saved_model_lib.export_saved_model(net, "models/colorizer/1")`: a SavedModel for TF Serving
  (encoded images to PNGs or JPEGs, uint8 arrays to RGB; pixel cap, warm-up requests, version
  folder written whole: `version_dir`, `warmup`); `saved_model_lib.load_predictor` reads one
  back for `keras_colorful.load`.
- `tflite_lib.convert(net, quantization, size, input_type=...)`: `.tflite` bytes, L in and ab
  out, or photo in and colorized photo out (`tflite_image`); `folding` (BatchNormalization into
  the convs), `quantization` (the recipes), `tflite_accuracy` (the colour check and gate),
  `tflite_metadata` (the model's description), `flatbuffer` and `litert` (file and interpreter
  helpers).
- `variables`: the weights an export tracks.

The command lines are `export/saved_model.py` and `export/tflite.py` at the top of the
repository (and `keras-colorful export`); formats and serving commands are in export/README.md
and export/serving/README.md.

Example:

>>> from keras_colorful.export import saved_model_lib, tflite_lib
>>> tflite_lib.QUANTIZATIONS
('float32', 'float16', 'dynamic_int8', 'int8')
"""
