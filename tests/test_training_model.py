"""The training model: Lab conversion layer, outputs, loss equal to the loss layer's."""

import keras
import numpy as np
import tensorflow as tf
from skimage import color as skcolor

from keras_colorful import models
from keras_colorful.training import training_model


def test_rgb_to_lab_layer_matches_scikit_image_and_round_trips(tmp_path):
    rgb = np.random.default_rng(3).integers(0, 256, (2, 8, 12, 3), dtype=np.uint8)
    layer = training_model.RgbToLab()
    lightness, ab = layer(rgb)
    expected = skcolor.rgb2lab(rgb / 255.0)
    np.testing.assert_allclose(lightness.numpy()[..., 0], expected[..., 0], atol=1e-3)
    np.testing.assert_allclose(ab.numpy(), expected[..., 1:], atol=1e-3)
    inputs = keras.Input((None, None, 3), dtype="uint8")
    model = keras.Model(inputs, layer(inputs))
    model.save(tmp_path / "lab.keras")
    restored = keras.models.load_model(tmp_path / "lab.keras")
    np.testing.assert_allclose(restored(rgb)[1].numpy(), ab.numpy(), atol=1e-6)


def test_trainer_loss_is_the_loss_layers_and_weights_are_shared():
    keras.utils.set_random_seed(0)
    net = models.build_model("tiny")
    trainer = training_model.ColorizationTrainer(net)
    rgb = np.random.default_rng(4).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    outputs = trainer(rgb, training=False)
    lab_l, lab_ab = training_model.RgbToLab()(rgb)
    logits = net(lab_l, training=False)
    np.testing.assert_allclose(outputs["logits"].numpy(), logits.numpy(), atol=1e-5)
    weighted, _ = trainer.loss_layer.compute_losses(logits, lab_ab)
    np.testing.assert_allclose(float(outputs["loss"]), float(weighted), rtol=1e-5)
    assert float(trainer.compute_loss(y_pred=outputs)) == float(outputs["loss"])  # 1 replica
    assert {id(v) for v in net.trainable_variables} <= {id(v) for v in trainer.trainable_variables}
    tf.debugging.assert_equal(tf.shape(outputs["logits"]), [2, 8, 8, 313])
