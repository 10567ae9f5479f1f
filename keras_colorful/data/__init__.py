"""The input pipeline, by role: photos in, batches of uint8 RGB crops out.

- `sources`: find the photos (folders, globs, lists, TFRecord shards), split them between
  workers, and `resolve_source` them once (with the decode scan and its report);
- `decode`: bytes to RGB (`decode_rgb`), and the scan that sets aside files that do not decode;
- `orientation`: the EXIF orientation of a photo, with TensorFlow ops (for the SavedModel);
- `transforms`: the training (random) and evaluation (centre) crops;
- `pipeline`: the one entry point, `make_dataset` (and `make_eval_batch` for image summaries);
- `tfrecords`: write a folder as TFRecord shards with a manifest, and read them back;
- `service`: run the pipeline on a `tf.data` service.

Importing this package loads nothing; import the module you need.

Example:

>>> import tempfile, numpy as np
>>> from PIL import Image
>>> from keras_colorful.data import pipeline
>>> folder = tempfile.mkdtemp()
>>> Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(f"{folder}/a.png")
>>> batches = pipeline.make_dataset(folder, batch_size=1, crop_size=32, seed=0)
>>> next(iter(batches)).shape
TensorShape([1, 32, 32, 3])
"""
