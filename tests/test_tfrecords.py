"""TFRecord shards: folder -> shards -> the same images, the manifest, per-worker sharding."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from keras_colorful.data import decode, pipeline, sources, tfrecords
from tests import image_factory
from tests.script_runner import run_script

CROP = 32


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    image_factory.write_color_images(root, 6, size=(40, 56), ext="jpg")
    image_factory.write_color_images(root / "nested", 2, size=(48, 36), ext="png", seed=10)
    bad = image_factory.write_bad_files(root)
    good = sorted(str(p) for p in root.rglob("*") if p.is_file() and p not in bad.values())
    return {"root": root, "good": good, "bad": sorted(str(p) for p in bad.values())}


@pytest.fixture(scope="module")
def shards(folder, tmp_path_factory):
    prefix = str(tmp_path_factory.mktemp("shards") / "train")
    manifest = tfrecords.write_tfrecords(folder["root"], prefix, num_shards=3, progress=False)
    return {"prefix": prefix, "manifest": manifest, "glob": prefix + "-*.tfrecord"}


def test_manifest_counts_bytes_and_skipped_files(folder, shards):
    manifest = shards["manifest"]
    assert manifest.num_images == len(folder["good"]) == 8
    assert manifest.num_files == 11
    assert [path for path, _ in manifest.skipped] == folder["bad"]
    assert all(reason for _, reason in manifest.skipped)
    counts = [shard.num_images for shard in manifest.shards]
    assert sum(counts) == 8 and max(counts) - min(counts) <= 1
    paths = [shard.path for shard in manifest.shards]
    assert paths == [f"{shards['prefix']}-{i:05d}-of-00003.tfrecord" for i in range(3)]
    assert [os.path.getsize(path) for path in paths] == [s.num_bytes for s in manifest.shards]
    assert manifest.image_bytes == sum(os.path.getsize(path) for path in folder["good"])
    saved = json.loads(open(tfrecords.manifest_path(shards["prefix"])).read())
    assert saved == manifest.to_dict() and saved["num_skipped"] == 3
    assert tfrecords.read_manifest(tfrecords.manifest_path(shards["prefix"])) == manifest
    # The records of each shard are the ones the manifest counts.
    for shard in manifest.shards:
        assert sum(1 for _ in tf.data.TFRecordDataset(shard.path)) == shard.num_images


def test_records_hold_the_files_bytes_and_decode_identically(folder, shards):
    seen = {}
    for example in tfrecords.read_examples(shards["glob"]):
        name = example[tfrecords.FILENAME].numpy().decode()
        original = os.path.join(folder["root"], name)
        encoded = example[tfrecords.ENCODED]
        assert encoded.numpy() == open(original, "rb").read()
        from_record = decode.decode_rgb(encoded).numpy()
        from_file = decode.decode_rgb(tf.io.read_file(original)).numpy()
        np.testing.assert_array_equal(from_record, from_file)
        assert (int(example[tfrecords.HEIGHT]), int(example[tfrecords.WIDTH])) == \
            from_file.shape[:2]
        seen[name] = from_record.shape
    assert sorted(os.path.join(folder["root"], n) for n in seen) == folder["good"]
    assert {"nested/image_000.png", "nested/image_001.png"} <= set(seen)


def _crops(batches):
    return sorted(crop.tobytes() for batch in batches.as_numpy_iterator() for crop in batch)


def test_pipeline_from_shards_yields_the_same_crops_as_from_the_folder(folder, shards):
    from_folder = pipeline.make_dataset(folder["root"], batch_size=3, crop_size=CROP,
                                       training=False)
    from_shards = pipeline.make_dataset(shards["glob"], batch_size=3, crop_size=CROP,
                                       training=False)
    assert len(list(from_shards)) == len(list(from_folder)) == 3
    assert _crops(from_shards) == _crops(from_folder)
    eval_batch = pipeline.make_eval_batch(shards["glob"], num_images=2, size=CROP)
    assert eval_batch.shape == (2, CROP, CROP, 3)
    assert {crop.tobytes() for crop in eval_batch} <= set(_crops(from_folder))


def test_resolved_shards_are_listed_not_scanned(shards):
    source = sources.resolve_source(shards["glob"])
    assert source.is_tfrecord and sources.is_tfrecord_source(source)
    assert list(source.files) == [shard.path for shard in shards["manifest"].shards]
    assert source.report() == {"num_files": None, "num_skipped": None, "skipped": [],
                               "tfrecord_files": 3}


def test_training_pipeline_from_shards_is_seeded_and_repeats(shards):
    def first_batches(seed):
        batches = pipeline.make_dataset(shards["glob"], batch_size=4, crop_size=CROP,
                                       resize_shorter_to=40, seed=seed)
        return [batch.numpy() for batch in batches.take(5)]  # 20 crops of 8 images: repeated

    first, again, other = first_batches(1), first_batches(1), first_batches(2)
    assert all(batch.shape == (4, CROP, CROP, 3) and batch.dtype == np.uint8 for batch in first)
    np.testing.assert_array_equal(np.stack(first), np.stack(again))
    assert not np.array_equal(np.stack(first), np.stack(other))


def test_workers_read_disjoint_shards_that_cover_everything(shards):
    every = _crops(pipeline.make_dataset(shards["glob"], batch_size=2, crop_size=CROP,
                                        training=False))
    parts = [_crops(pipeline.make_dataset(shards["glob"], batch_size=2, crop_size=CROP,
                                         training=False, shard=(2, index))) for index in (0, 1)]
    counts = [shard.num_images for shard in shards["manifest"].shards]
    assert [len(part) for part in parts] == [counts[0] + counts[2], counts[1]]
    assert sorted(parts[0] + parts[1]) == every
    sharded = pipeline.make_dataset(shards["glob"], batch_size=2, crop_size=CROP, shard=(2, 1),
                                   resize_shorter_to=40, seed=0)
    assert sharded.options().experimental_distribute.auto_shard_policy == \
        tf.data.experimental.AutoShardPolicy.OFF
    with pytest.raises(ValueError, match="3 files cannot be split between 4 workers"):
        pipeline.make_dataset(shards["glob"], batch_size=2, shard=(4, 0))


def test_tfrecord_source_names_and_errors(tmp_path):
    assert sources.is_tfrecord_source("a/train-*.tfrecord")
    assert sources.is_tfrecord_source(["x.tfrecords", "gs://b/y.tfrecord-00001-of-00002"])
    assert not sources.is_tfrecord_source("photos/")
    assert not sources.is_tfrecord_source(["x.tfrecord", "photo.jpg"])
    assert not sources.is_tfrecord_source("tfrecord_photos/*.jpg")
    with pytest.raises(ValueError, match="No TFRecord files match"):
        sources.list_tfrecord_files(str(tmp_path / "none-*.tfrecord"))
    with pytest.raises(ValueError, match="num_shards"):
        tfrecords.write_tfrecords(tmp_path, str(tmp_path / "out"), num_shards=0)


def test_make_tfrecords_script(folder, tmp_path):
    prefix = tmp_path / "out" / "train"
    result = run_script("scripts/make_tfrecords.py", f"--data_dir={folder['root']}",
                        f"--output={prefix}", "--shards=2", timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Wrote 8 images" in result.stdout and "skipped 3 of 11 files" in result.stdout
    assert "truncated.jpg" in result.stdout
    assert "Writing TFRecords" in result.stderr  # the progress bar
    manifest = json.loads((tmp_path / "out" / "train.manifest.json").read_text())
    assert manifest["num_images"] == 8 and len(manifest["shards"]) == 2
