"""BatchNormalization folded into the convolution before it, exactly, for export.

Each block of the network ends conv -> ReLU -> BatchNormalization: y = s * relu(z) + t per
channel, with s = gamma / sqrt(variance + epsilon) and t = beta - s * mean. Since
s * relu(z) = relu(s * z) for s > 0, a positive scale moves into the conv's kernel and bias, and
the block ends with `ChannelAffine` adding t. A channel whose s is not positive keeps its scale
in `ChannelAffine` (its conv is left as it is), so the folded network computes the same function
for any weights. Adding t cannot move into the next conv's bias: that conv pads with zeros, and
zeros padded after the shift are not zeros shifted.

Why: the activations entering a BatchNormalization are large (thousands) and leave it small,
so one int8 scale cannot hold both; after folding, every tensor is as small as the
BatchNormalization's output. Float models also lose one multiply per block.

Example:

>>> import numpy as np
>>> from keras_colorful import models
>>> net = models.build_model("tiny", seed=0)
>>> folded = fold_batch_norm(net)
>>> any(isinstance(layer, keras.layers.BatchNormalization) for layer in folded.layers)
False
>>> l = np.random.default_rng(0).uniform(0, 100, (1, 16, 16, 1)).astype("float32")
>>> bool(np.allclose(folded(l), net(l), atol=1e-5))
True
"""

from __future__ import annotations

import keras
import numpy as np

# Layers between a conv and its BatchNormalization through which a positive scale passes
# unchanged (positively homogeneous: f(s x) = s f(x) for s > 0).
_SCALE_COMMUTING_LAYERS = (keras.layers.ReLU,)


@keras.saving.register_keras_serializable(package="keras_colorful_export")
class ChannelAffine(keras.layers.Layer):
    """x * scale + offset per channel (the last axis); without `scale`, x + offset.

    What remains of a BatchNormalization after `fold_batch_norm`: the shift, and the scale of
    the channels whose scale could not move into the conv.

    Args:
        num_channels: size of the last axis.
        with_scale: whether the layer multiplies before adding.
        **kwargs: standard layer arguments.

    Example:

    >>> layer = ChannelAffine(2, with_scale=False)
    >>> layer.set_weights([np.array([1.0, -1.0], "float32")])
    >>> layer(np.zeros((1, 1, 1, 2), "float32")).numpy().tolist()
    [[[[1.0, -1.0]]]]
    """

    def __init__(self, num_channels: int, with_scale: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.num_channels = int(num_channels)
        self.with_scale = bool(with_scale)
        self.offset = self.add_weight(shape=(self.num_channels,), initializer="zeros",
                                      trainable=False, name="offset")
        self.scale = None
        if self.with_scale:
            self.scale = self.add_weight(shape=(self.num_channels,), initializer="ones",
                                         trainable=False, name="scale")

    def call(self, inputs):
        if self.scale is not None:
            inputs = inputs * keras.ops.cast(self.scale, inputs.dtype)
        return inputs + keras.ops.cast(self.offset, inputs.dtype)

    def get_weights(self):
        return [self.offset.numpy()] + ([self.scale.numpy()] if self.with_scale else [])

    def set_weights(self, weights):
        self.offset.assign(weights[0])
        if self.with_scale:
            self.scale.assign(weights[1])

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(num_channels=self.num_channels, with_scale=self.with_scale)
        return config


def batch_norm_affine(layer: keras.layers.BatchNormalization) -> tuple[np.ndarray, np.ndarray]:
    """(s, t) of an inference-mode BatchNormalization: y = s * x + t per channel, float64.

    Example:

    >>> bn = keras.layers.BatchNormalization(epsilon=0.0)
    >>> bn.build((None, 2))
    >>> bn.set_weights([np.array([2.0, 1]), np.array([1.0, 0]), np.zeros(2), np.ones(2)])
    >>> [v.tolist() for v in batch_norm_affine(bn)]
    [[2.0, 1.0], [1.0, 0.0]]
    """
    values = [v.astype(np.float64) for v in layer.get_weights()]
    gamma = values.pop(0) if layer.scale else 1.0
    beta = values.pop(0) if layer.center else 0.0
    mean, variance = values
    scale = gamma / np.sqrt(variance + layer.epsilon)
    return scale * np.ones_like(mean), beta - scale * mean


def _chain(net: keras.Model) -> list[keras.layers.Layer]:
    """The layers of a model that is a single chain (each layer feeds only the next)."""
    layers = net.layers
    if not layers or not isinstance(layers[0], keras.layers.InputLayer):
        raise ValueError(f"{net.name!r} is not a functional model.")
    for previous, layer in zip(layers, layers[1:], strict=False):
        if layer.input is not previous.output:
            raise ValueError(
                f"fold_batch_norm needs a chain of layers; {layer.name!r} does not take the "
                f"output of {previous.name!r}."
            )
    return layers[1:]


def _clone(layer: keras.layers.Layer) -> keras.layers.Layer:
    return type(layer).from_config(layer.get_config())


def fold_batch_norm(net: keras.Model) -> keras.Model:
    """A copy of `net` whose BatchNormalizations are folded into the convs before them.

    Each BatchNormalization that follows a Conv2D (through ReLUs only) becomes a
    `ChannelAffine`; its positive scales go into the conv (see the module docstring). Other
    layers are copied with their weights; `net` is not changed.

    Args:
        net: a functional Keras model whose layers form a chain (e.g. `models.build_model`).

    Returns:
        A functional `keras.Model` with the same input and output shapes.

    Raises:
        ValueError: a model that is not a chain of layers, or a BatchNormalization with no
            conv before it.
    """
    inputs = keras.Input(shape=net.input_shape[1:], dtype=net.inputs[0].dtype,
                         name=net.inputs[0].name)
    x = inputs
    conv = None  # the cloned conv the next BatchNormalization folds into
    for layer in _chain(net):
        if isinstance(layer, keras.layers.BatchNormalization):
            if conv is None:
                raise ValueError(f"{layer.name!r} has no Conv2D before it to fold into.")
            scale, offset = batch_norm_affine(layer)
            positive = scale > 0
            kernel, bias = conv.get_weights()
            folded = np.where(positive, scale, 1.0)
            conv.set_weights([kernel * folded, bias * folded])
            affine = ChannelAffine(len(scale), with_scale=not positive.all(), name=layer.name,
                                   dtype=layer.dtype_policy)
            x = affine(x)
            affine.set_weights([offset] + ([np.where(positive, 1.0, scale)]
                                           if affine.with_scale else []))
            conv = None
            continue
        clone = _clone(layer)
        x = clone(x)
        clone.set_weights(layer.get_weights())
        if isinstance(layer, keras.layers.Conv2D) and not isinstance(
            layer, keras.layers.Conv2DTranspose
        ) and layer.use_bias and layer.get_config()["activation"] == "linear":
            conv = clone
        elif not isinstance(layer, _SCALE_COMMUTING_LAYERS):
            conv = None
    return keras.Model(inputs, x, name=f"{net.name}_folded")
