"""Every number and every list of names the package shares, once, with its source.

Sources: Zhang, Isola, Efros, "Colorful Image Colorization", ECCV 2016 (arXiv 1603.08511), and the
authors' release (Caffe model and solver, PyTorch port). Importing this module loads nothing but
Python, so command lines and the PyTorch port read it without TensorFlow.

Example:

>>> from keras_colorful import constants
>>> constants.NUM_BINS, constants.ANNEALED_MEAN_TEMPERATURE
(313, 0.38)
"""

# --- The method -------------------------------------------------------------------------------

# Model input normalisation: (L - L_CENTER) / L_SCALE (PyTorch port; the Caffe model took L - 50).
L_CENTER = 50.0
L_SCALE = 100.0
# ab normalisation where a regression is needed; the release's decode multiplies by 110.
AB_SCALE = 110.0

# Quantised ab space: 313 in-gamut bins of a 10-unit grid (paper Sec. 2.1, pts_in_hull.npy).
NUM_BINS = 313
BIN_GRID_SIZE = 10.0

# Soft encoding (paper Sec. 2.1): Gaussian kernel sigma 5; the paper says 5 neighbours, the
# released training code used 10 (the first author called 5 a typo).
SOFT_ENCODE_SIGMA = 5.0
SOFT_ENCODE_NEIGHBORS = 10

# Class rebalancing (paper Eq. 3-4): lambda 0.5, prior smoothed with a sigma-5 Gaussian.
REBALANCE_LAMBDA = 0.5
PRIOR_SMOOTHING_SIGMA = 5.0

# Annealed mean (paper Sec. 2.2): T = 0.38 (the Caffe release scaled logits by 2.606 = 1 / 0.3838).
ANNEALED_MEAN_TEMPERATURE = 0.38

# Gray mask (release's NonGrayMaskLayer): an image whose |a| and |b| never exceed 5 is gray.
GRAY_THRESHOLD = 5.0

# Targets are ab subsampled by 4, every 4th pixel from the top-left (release's data layer).
AB_SUBSAMPLE = 4

# Total stride of the network (three stride-2 blocks): input height and width are multiples of 8.
SIZE_MULTIPLE = 8

# The release's demo resized every photo to 256x256 for the network.
DEMO_NETWORK_SIZE = 256

# --- The release's training recipe (its data layer and Caffe solver) ------------------------

# Random 176x176 crops with mirroring, batch 40, from images stored at 256x256.
TRAIN_CROP_SIZE = 176
TRAIN_BATCH_SIZE = 40
RESIZE_SHORTER_TO = 256
# Adam, learning rate 3.16e-5 times 0.316 every 215k iterations.
LEARNING_RATE = 3.16e-5
LR_DECAY_FACTOR = 0.316
LR_DECAY_STEPS = 215_000
ADAM_BETA_1 = 0.9
ADAM_BETA_2 = 0.99
ADAM_EPSILON = 1e-8
# L2 weight decay 1e-3, added to the gradient of every conv kernel (coupled, not AdamW's).
WEIGHT_DECAY = 1e-3

# --- Names shared by the command lines and the library ----------------------------------------

# `tf.distribute` strategies of `training.strategies`.
STRATEGIES = ("auto", "mirrored", "multi_worker", "tpu", "one_device")
# Processing modes of the `tf.data` service (`data.service`).
DATA_SERVICE_MODES = ("distributed_epoch", "parallel_epochs")
# TFLite variants of `export.tflite_lib`, and the inputs a TFLite model can take: L or gray at the
# network size (ab out), or the photo itself at its own size (the colorized photo out).
QUANTIZATIONS = ("float32", "float16", "dynamic_int8", "int8")
TFLITE_INPUT_TYPES = ("l_float", "gray_uint8")
TFLITE_IMAGE_INPUT_TYPES = ("rgb_image", "gray_image")
# The accuracy gate of `export.tflite_accuracy`: the (mean, 99th percentile) ab difference from
# the float32 network, in Lab units, that each quantized variant must stay within.
TFLITE_ACCURACY_LIMITS = {"dynamic_int8": (1.0, 8.0), "int8": (2.0, 12.0)}
# The SavedModel's signatures (`export.saved_model_lib`): the largest image (height x width) they
# accept, read from its header before decoding, and the quality of their JPEG output.
SERVING_MAX_PIXELS = 50_000_000
SERVING_JPEG_QUALITY = 90
# What a command line says for "run the network at each photo's own size (rounded to a multiple
# of 8)"; the library says None. `inference.pipeline.parse_network_size` reads both (and 0).
NATIVE_NETWORK_SIZE = "native"

# --- Colour ------------------------------------------------------------------------------------

# sRGB primaries to CIE XYZ, rows X, Y, Z (IEC 61966-2-1; the matrix scikit-image's rgb2lab uses).
SRGB_TO_XYZ = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
# CIE XYZ of the D65 white for the 2-degree observer (scikit-image's "D65", "2").
D65_WHITE = (0.95047, 1.0, 1.08883)
