"""The colorization network of Zhang, Isola, Efros (ECCV 2016): L in, 313 ab-bin logits out.

Structure (paper Sec. 2 and the authors' `ECCVGenerator`): 8 blocks of 3x3 convs, each conv
followed by ReLU; blocks 1-7 end with an affine BatchNormalization AFTER the ReLU; the last conv
of blocks 1-3 has stride 2; blocks 5-6 use dilation 2; block 8 opens with a k4 s2 transposed conv
(back to 1/4 resolution), and a final 1x1 conv gives the 313 logits (no ReLU).

Alignment with the Caffe/PyTorch release (so that its weights give identical outputs):
- stride-2 convs: `ZeroPadding2D(1)` then a "valid" conv, i.e. one pixel on every side like
  PyTorch's `padding=1` (Keras "same" would pad 0 before and 1 after on even sizes).
- stride-1 convs (dilation 1 or 2): Keras "same", which for stride 1 pads `dilation * (k - 1) / 2`
  on every side, exactly PyTorch's `padding=dilation`.
- the transposed conv: `Conv2DTranspose(k4, s2, "valid")` (output 2H + 2) then `Cropping2D(1)`,
  exactly PyTorch's `ConvTranspose2d(k4, s2, padding=1)` (output 2H).

Layer names follow the PyTorch `ECCVGenerator` submodules, so that a weight converter maps
`model{b}.{j}.*` to Keras layer names mechanically (j is the index in PyTorch's `nn.Sequential`,
where the conv of position i sits at j = 2 i, its ReLU at 2 i + 1):
- `model{b}_conv{2i}` (Conv2D, kernel + bias) for the i-th conv of block b, b = 1..8;
- `model8_convT0` (Conv2DTranspose, kernel + bias) for the first layer of block 8;
- `model{b}_bn` (BatchNormalization: gamma, beta, moving_mean, moving_variance) for
  `model{b}.{2 * depth_b}`, b = 1..7;
- `model8_conv{2 * depth_8}` (Conv2D to 313 logits, kernel + bias): `model8.6` for "eccv16";
- auxiliary layers without weights: `normalize_l` (Rescaling), `check_size` (ValueError on
  sizes not divisible by 8), `model{b}_relu{2i+1}`, `model{b}_pad{2i}` (before stride-2 convs),
  `model8_crop0`.
The release's `model_out` (a fixed 313 -> 2 conv holding the bin centres, no bias, 626 params)
and its x4 upsampling are not part of this network: see `AnnealedMean` and `inference.pipeline`.

Sizes: H and W must be multiples of 8. Other sizes run in PyTorch but the logits are then not
H/4 x W/4 (e.g. 180 gives 23 at 1/8, then 46 instead of 45 at 1/4) and would not line up with
the 4x-subsampled targets; `ColorizationNet` raises a ValueError when the size is known (eager
calls and static shapes). Use `inference.pipeline.preprocess_l` to bring an image to a valid size.
"""

from collections.abc import Sequence

import keras
import numpy as np

from keras_colorful import constants
from keras_colorful.models import layers as colorful_layers

_NUM_BLOCKS = 8
# Blocks whose last conv has stride 2 (1/2, 1/4, 1/8 resolution); blocks with dilation 2.
_STRIDE2_BLOCKS = (1, 2, 3)
_DILATED_BLOCKS = (5, 6)
_DILATION = 2


@keras.saving.register_keras_serializable(package="keras_colorful")
class ColorizationNet(keras.Model):
    """L in [0, 100] `[N, H, W, 1]` to 313 ab-bin logits `[N, H / 4, W / 4, num_bins]`.

    Built as a functional graph in `__init__` (functional subclassing): `get_config()` returns the
    constructor arguments. Normalises the input as (L - 50) / 100 inside. H and W are dynamic but
    must be multiples of 8.

    Args:
        block_widths: output channels of the 8 blocks (block 8: the transposed conv and its convs).
        block_depths: convs per block (block 8 counts its transposed conv; the 1x1 logits conv
            comes on top). Blocks 1-3 end with their stride-2 conv.
        num_bins: number of output logits per pixel (313 quantised ab bins).
        batch_norm_epsilon: BatchNormalization epsilon (PyTorch default 1e-5).
        batch_norm_momentum: BatchNormalization moving-average momentum in Keras convention
            (0.9 = PyTorch momentum 0.1).
        kernel_initializer: initializer name for every conv kernel.
        dtype: dtype policy for every layer (e.g. "mixed_float16"); None for the global policy.
        **kwargs: `name`, `trainable` as for `keras.Model`.

    Example:

    >>> import numpy as np
    >>> from keras_colorful.models import build_model
    >>> net = build_model("tiny")
    >>> net(np.full((1, 32, 48, 1), 50.0, "float32")).shape
    TensorShape([1, 8, 12, 313])
    """

    def __init__(
        self,
        block_widths: Sequence[int],
        block_depths: Sequence[int],
        num_bins: int = constants.NUM_BINS,
        batch_norm_epsilon: float = 1e-5,
        batch_norm_momentum: float = 0.9,
        kernel_initializer: str = "glorot_uniform",
        dtype=None,
        **kwargs,
    ):
        block_widths = tuple(int(w) for w in block_widths)
        block_depths = tuple(int(d) for d in block_depths)
        if len(block_widths) != _NUM_BLOCKS or len(block_depths) != _NUM_BLOCKS:
            raise ValueError(
                f"block_widths and block_depths need {_NUM_BLOCKS} entries, got "
                f"{block_widths} and {block_depths}."
            )
        if min(block_widths) < 1 or min(block_depths) < 1 or num_bins < 1:
            raise ValueError(
                f"Widths, depths and num_bins must be positive, got {block_widths}, "
                f"{block_depths}, {num_bins}."
            )

        def conv(filters, name, **conv_kwargs):
            return keras.layers.Conv2D(
                filters,
                3,
                kernel_initializer=kernel_initializer,
                dtype=dtype,
                name=name,
                **conv_kwargs,
            )

        def relu(x, block, index):
            return keras.layers.ReLU(dtype=dtype, name=f"model{block}_relu{index + 1}")(x)

        # === Functional graph ===
        inputs = keras.Input(shape=(None, None, 1), name="l")
        x = colorful_layers.CheckSpatialSize(multiple=8, dtype=dtype, name="check_size")(inputs)
        x = keras.layers.Rescaling(
            scale=1.0 / constants.L_SCALE,
            offset=-constants.L_CENTER / constants.L_SCALE,
            dtype=dtype,
            name="normalize_l",
        )(x)
        for block in range(1, _NUM_BLOCKS):
            width, depth = block_widths[block - 1], block_depths[block - 1]
            dilation = _DILATION if block in _DILATED_BLOCKS else 1
            for i in range(depth):
                index = 2 * i  # position in the PyTorch nn.Sequential
                if block in _STRIDE2_BLOCKS and i == depth - 1:
                    x = keras.layers.ZeroPadding2D(1, dtype=dtype, name=f"model{block}_pad{index}")(
                        x
                    )
                    x = conv(width, f"model{block}_conv{index}", strides=2, padding="valid")(x)
                else:
                    x = conv(
                        width, f"model{block}_conv{index}", padding="same", dilation_rate=dilation
                    )(x)
                x = relu(x, block, index)
            x = keras.layers.BatchNormalization(
                epsilon=batch_norm_epsilon,
                momentum=batch_norm_momentum,
                dtype=dtype,
                name=f"model{block}_bn",
            )(x)
        width, depth = block_widths[-1], block_depths[-1]
        x = keras.layers.Conv2DTranspose(
            width,
            4,
            strides=2,
            padding="valid",
            kernel_initializer=kernel_initializer,
            dtype=dtype,
            name="model8_convT0",
        )(x)
        x = keras.layers.Cropping2D(1, dtype=dtype, name="model8_crop0")(x)
        x = relu(x, 8, 0)
        for i in range(1, depth):
            x = conv(width, f"model8_conv{2 * i}", padding="same")(x)
            x = relu(x, 8, 2 * i)
        logits = keras.layers.Conv2D(
            num_bins,
            1,
            kernel_initializer=kernel_initializer,
            dtype=dtype,
            name=f"model8_conv{2 * depth}",
        )(x)
        super().__init__(inputs=inputs, outputs=logits, **kwargs)

        # === Config ===
        self.block_widths = block_widths
        self.block_depths = block_depths
        self.num_bins = num_bins
        self.batch_norm_epsilon = batch_norm_epsilon
        self.batch_norm_momentum = batch_norm_momentum
        self.kernel_initializer = kernel_initializer
        self._predict_function = None  # built by the first `predict` on an array
        if dtype is not None:
            self.dtype_policy = keras.dtype_policies.get(dtype)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """`keras.Model.predict`, faster on arrays in memory: batches through one `tf.function`.

        For a numpy array or `tf.Tensor` `[N, H, W, 1]` (and no `steps`, `callbacks` or
        distribution strategy), the logits are `self(x, training=False)` of each batch of
        `batch_size` (default 32), concatenated as numpy; `verbose` shows Keras' progress bar.
        Keras' own `predict` (a `tf.data` iterator built and torn down every call) does the rest.

        Example:

        >>> import numpy as np
        >>> from keras_colorful.models import build_model
        >>> net = build_model("tiny")
        >>> net.predict(np.zeros((3, 16, 16, 1)), batch_size=2, verbose=0).shape
        (3, 4, 4, 313)
        """
        import tensorflow as tf

        in_memory = isinstance(x, np.ndarray | tf.Tensor) and len(x.shape) == 4 and len(x) > 0
        if (not in_memory or steps is not None or callbacks or tf.distribute.has_strategy()
                or keras.backend.backend() != "tensorflow"):
            return super().predict(x, batch_size, verbose, steps, callbacks)
        if self._predict_function is None:
            self._predict_function = _PredictFunction(self)
        batch_size = batch_size or 32
        verbose = 1 if verbose == "auto" else verbose
        progress = keras.utils.Progbar(-(-len(x) // batch_size), verbose=verbose, unit_name="step")
        outputs = []
        for start in range(0, len(x), batch_size):
            outputs.append(self._predict_function(x[start : start + batch_size]))
            progress.add(1)
        return np.concatenate(outputs)

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            "block_widths": list(self.block_widths),
            "block_depths": list(self.block_depths),
            "num_bins": self.num_bins,
            "batch_norm_epsilon": self.batch_norm_epsilon,
            "batch_norm_momentum": self.batch_norm_momentum,
            "kernel_initializer": self.kernel_initializer,
        }

    @classmethod
    def from_config(cls, config: dict) -> "ColorizationNet":
        return cls(**config)


class _PredictFunction:
    """`net(x, training=False)` in one `tf.function`, as numpy (`ColorizationNet.predict`).

    A plain object: neither Keras nor a SavedModel export tracks the function inside it.
    """

    def __init__(self, net: ColorizationNet):
        import tensorflow as tf

        self._function = tf.function(
            lambda x: net(x, training=False),
            input_signature=[tf.TensorSpec([None, None, None, 1], tf.float32)],
            autograph=False,
        )

    def __call__(self, x) -> np.ndarray:
        import tensorflow as tf

        return self._function(tf.cast(x, tf.float32)).numpy()
