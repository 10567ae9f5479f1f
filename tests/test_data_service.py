"""The tf.data service path: a dispatcher and a worker in this process serve the pipeline."""

import gc
import os

import numpy as np
import pytest

from keras_colorful import data_service, dataset, tfrecords
from keras_colorful.training import config, train_lib
from tests import image_factory

CROP = 32
_SERVERS = []


@pytest.fixture(scope="module")
def service():
    # Left running until the process exits: stopping a worker that still serves the (endless)
    # training job of `test_training_reads_from_the_service` waits for it.
    servers = [data_service.start_dispatcher()]
    servers.append(data_service.start_worker(servers[0].target))
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
def test_service_yields_the_same_batches_as_the_local_pipeline(service, photos, mode):
    local = dataset.make_dataset(photos, batch_size=2, crop_size=CROP, training=False)
    remote = data_service.distribute(local, service, processing_mode=mode)
    local_batches = [batch.shape[0] for batch in local.as_numpy_iterator()]
    remote_batches = [batch.shape[0] for batch in remote.as_numpy_iterator()]
    assert local_batches == [2, 2, 2, 1]
    assert sorted(remote_batches) == sorted(local_batches)
    assert _crops(remote) == _crops(local)  # the same crops, computed by the service worker


def test_service_runs_the_training_pipeline_of_tfrecords(service, photos, tmp_path):
    tfrecords.write_tfrecords(photos, str(tmp_path / "train"), num_shards=2, progress=False)
    local = dataset.make_dataset(str(tmp_path / "train-*.tfrecord"), batch_size=2,
                                 crop_size=CROP, resize_shorter_to=40, seed=3, repeat=False)
    remote = data_service.distribute(local, service)
    # One epoch of 7 images in full batches of 2: 3 batches either way.
    assert len(list(local)) == len(list(remote)) == 3
    assert all(batch.shape == (2, CROP, CROP, 3) for batch in remote.as_numpy_iterator())


def test_training_reads_from_the_service(service, photos, tmp_path):
    run = config.TrainingConfig(
        model_dir=str(tmp_path / "run"), data_dir=str(photos), preset="tiny", batch_size=2,
        train_steps=2, checkpoint_every=2, crop_size=CROP, resize_shorter_to=40,
        image_summary_every=0, num_summary_images=1, strategy="one_device", data_service=service)
    result = train_lib.train_and_evaluate(run, verbose=0)
    assert result["step"] == 2 and np.isfinite(result["loss"])
    assert os.path.exists(result["model_path"])
    del result
    gc.collect()  # releases the training iterator, so the service's endless job can end


def test_bad_arguments():
    import tensorflow as tf

    with pytest.raises(ValueError, match="processing_mode"):
        data_service.distribute(tf.data.Dataset.range(2), "grpc://localhost:1", processing_mode="x")
    with pytest.raises(ValueError, match="data_service_mode"):
        config.TrainingConfig(model_dir="x", data_service_mode="x")
