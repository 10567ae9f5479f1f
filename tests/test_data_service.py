"""The tf.data service path: a dispatcher and a worker in this process serve the pipeline."""

import gc
import os

import numpy as np
import pytest
import tensorflow as tf

from keras_colorful.data import pipeline, service, tfrecords
from keras_colorful.training import config, train_lib
from tests import image_factory

CROP = 32
_SERVERS = []


@pytest.fixture(scope="module")
def dispatcher():
    """The address of a dispatcher, with one worker, running in this process."""
    # Left running until the process exits: stopping a worker that still serves the (endless)
    # training job of `test_training_reads_from_the_service` waits for it.
    servers = [service.start_dispatcher()]
    servers.append(service.start_worker(servers[0].target))
    _SERVERS.extend(servers)
    return servers[0].target


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    image_factory.write_color_images(folder, 7, size=(40, 48))
    image_factory.write_bad_files(folder)  # set aside by the scan, before the service sees them
    return folder


def _crops(batches):
    return sorted(crop.tobytes() for batch in batches.as_numpy_iterator() for crop in batch)


@pytest.mark.parametrize("mode", ["distributed_epoch", "parallel_epochs"])
def test_service_yields_the_same_batches_as_the_local_pipeline(dispatcher, photos, mode):
    local = pipeline.make_dataset(photos, batch_size=2, crop_size=CROP, training=False)
    remote = service.distribute(local, dispatcher, processing_mode=mode)
    local_batches = [batch.shape[0] for batch in local.as_numpy_iterator()]
    remote_batches = [batch.shape[0] for batch in remote.as_numpy_iterator()]
    assert local_batches == [2, 2, 2, 1]
    assert sorted(remote_batches) == sorted(local_batches)
    assert _crops(remote) == _crops(local)  # the same crops, computed by the service worker


def test_service_runs_the_training_pipeline_of_tfrecords(dispatcher, photos, tmp_path):
    tfrecords.write_tfrecords(photos, str(tmp_path / "train"), num_shards=2, progress=False)
    local = pipeline.make_dataset(str(tmp_path / "train-*.tfrecord"), batch_size=2,
                                 crop_size=CROP, resize_shorter_to=40, seed=3, repeat=False)
    remote = service.distribute(local, dispatcher)
    # One epoch of 7 images in full batches of 2: 3 batches either way.
    assert len(list(local)) == len(list(remote)) == 3
    assert all(batch.shape == (2, CROP, CROP, 3) for batch in remote.as_numpy_iterator())


def test_make_dataset_hands_the_pipeline_to_the_service(dispatcher, photos):
    local = pipeline.make_dataset(photos, batch_size=2, crop_size=CROP, training=False)
    remote = pipeline.make_dataset(photos, batch_size=2, crop_size=CROP, training=False,
                                   data_service=dispatcher, output_dtype="int32",
                                   shard=(2, 1))  # not applied: the service splits the batches
    assert remote.element_spec.dtype == "int32"
    assert remote.options().experimental_distribute.auto_shard_policy == \
        tf.data.experimental.AutoShardPolicy.OFF
    assert _crops(remote.map(lambda batch: tf.cast(batch, tf.uint8))) == _crops(local)


def test_training_reads_from_the_service(dispatcher, photos, tmp_path):
    run = config.TrainingConfig(
        model_dir=str(tmp_path / "run"), data_dir=str(photos), preset="tiny", batch_size=2,
        train_steps=2, checkpoint_every=2, crop_size=CROP, resize_shorter_to=40,
        image_summary_every=0, num_summary_images=1, strategy="one_device", data_service=dispatcher)
    result = train_lib.train_and_evaluate(run, verbose=0)
    assert result["step"] == 2 and np.isfinite(result["loss"])
    assert os.path.exists(result["model_path"])
    del result
    gc.collect()  # releases the training iterator, so the service's endless job can end


def test_bad_arguments():
    with pytest.raises(ValueError, match="processing_mode"):
        service.distribute(tf.data.Dataset.range(2), "grpc://localhost:1", processing_mode="x")
    with pytest.raises(ValueError, match="data_service_mode"):
        config.TrainingConfig(model_dir="x", data_service_mode="x")
