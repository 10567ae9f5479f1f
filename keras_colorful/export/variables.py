"""The `tf.Variable`s an export tracks instead of the Keras model that owns them.

Saved directly, each Keras variable is written as a second `tf.Variable` beside the one the traced
functions read, so the graph would hold every weight twice, and the TF1 session loader (TF
Serving) would restore the copy but run the functions on the original, never restored. The
SavedModel and TFLite modules therefore keep the Keras model out of their object graph and track
these variables.

Example:

>>> from keras_colorful import models
>>> all(isinstance(v, tf.Variable) for v in tf_variables(models.build_model("tiny")))
True
"""

import keras
import tensorflow as tf


def tf_variables(net: keras.Model) -> list[tf.Variable]:
    """The `tf.Variable`s behind a Keras model's weights (TensorFlow backend).

    Raises:
        TypeError: a weight that is not backed by a `tf.Variable` (another Keras backend).
    """
    variables = []
    for weight in net.weights:
        variable = getattr(weight, "value", weight)
        if not isinstance(variable, tf.Variable):
            raise TypeError(f"Cannot export weight {weight.path!r}: not a TensorFlow variable.")
        variables.append(variable)
    return variables
