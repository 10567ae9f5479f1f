"""Smoke test of benchmarks/: every table of `run_all` on the "tiny" network at tiny sizes.

The photo and folder tables run on tiny generated photos with the bundled model; the start-up
table runs one cold command (a fresh Python, so about as long as importing TensorFlow).

Keeps the benchmark code from rotting: every path but PyTorch's runs in this process
(`in_process`), one timed call each; PyTorch never shares a process with TensorFlow
(tests/torch_runner.py says why). Also checks what the tables' ratios rest on: the PyTorch network has the Keras one's
parameter count, and the analytic FLOP count equals PyTorch's own FLOP counter. Photos: generated,
unless $KERAS_COLORFUL_BENCHMARK_PHOTOS names a folder (see benchmarks/common.py).
"""

import math

import ai_edge_litert  # noqa: F401  (the test extra installs it; no skipping)
import pytest

from benchmarks import bench_ceiling, bench_inference, common, run_all
from keras_colorful import models
from tests import torch_runner


@pytest.fixture(scope="module")
def torch_counts(tmp_path_factory):
    """The PyTorch port's parameters and PyTorch's FLOP counter, in a process of their own."""
    jobs = {f"parameters_and_flops#{preset}": {"preset": preset, "height": 40, "width": 56}
            for preset in ("tiny", "small", "eccv16")}
    return torch_runner.run(jobs, tmp_path_factory.mktemp("torch"))


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_torch_network_matches_keras_parameters_and_flops(preset, torch_counts):
    keras_count = sum(math.prod(w.shape) for w in models.build_model(preset).trainable_weights)
    counts = torch_counts[f"parameters_and_flops#{preset}"]
    assert int(counts["parameters"]) == keras_count
    assert tuple(counts["logits_shape"]) == (1, 313, 10, 14)
    assert bench_ceiling.forward_flops(preset, 40, 56) == int(counts["flops"])


def test_torch_eccv16_has_the_papers_parameter_count(torch_counts):
    # The paper's network (keras_colorful/presets.py): 32,235,385 trainable parameters without
    # the 626 of the release's `model_out`.
    assert int(torch_counts["parameters_and_flops#eccv16"]["parameters"]) == 32_235_385


def test_benchmark_photos_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(common.PHOTOS_ENV, raising=False)
    assert common.train_photos() is None
    monkeypatch.setenv(common.PHOTOS_ENV, str(tmp_path))
    assert common.train_photos() == tmp_path
    monkeypatch.setenv(common.PHOTOS_ENV, str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="not a folder"):
        common.train_photos()


def test_run_all_tiny(tmp_path):
    settings = run_all.Settings(
        preset="tiny", size=32, batch_sizes=(1, 2), repeats=1, repeats_slow=1,
        calibration_images=1, train_presets=("tiny",), train_batch=2, train_size=32,
        pipeline_preset="tiny", pipeline_batches_per_run=2, matmul_size=64, in_process=True,
        # XLA rows are a flag on the same code; they compile slowly, so they are left out here.
        keras_paths=("keras_function", "keras_predict", "keras_predict_base", "saved_model",
                     "saved_model_colorize"),
        train_keras_paths=("keras",), tflite_threads=(2,),
        quantizations=("float32", "dynamic_int8"),  # "float16" and "int8" convert the same way
        photo_size=(48, 64), bandwidth_mib=4, folder_photos=4, folder_rounds=2,
        folder_size=(40, 56), startup_repeats=1, startup_variants=("now",),
    )
    result = run_all.run(settings, str(tmp_path))
    tables = {table.title.split(":")[0]: table for table in result["tables"]}
    assert set(tables) == {"Ceiling", "Inference", "TFLite (LiteRT, XNNPACK)", "Training",
                           "Input pipeline", "One photo", "One photo, now against before",
                           "A folder of photos", "Start-up"}

    assert [row[0] for row in tables["Ceiling"].rows] == [
        label for _, label in bench_ceiling.MATMUL_PATHS]
    inference = tables["Inference"].rows
    expected = [bench_inference.KERAS_PATHS[p] for p in settings.keras_paths]
    expected.append(bench_inference.TORCH_LABEL)
    assert [(row[0], row[1]) for row in inference] == [
        (label, batch) for batch in (1, 2) for label in expected]
    assert [row[0] for row in tables["TFLite (LiteRT, XNNPACK)"].rows] == ["float32", "dynamic_int8"]
    assert [row[1] for row in tables["Training"].rows] == [
        run_all.bench_training.LABELS[p] for p in (*settings.train_keras_paths, "torch")]
    assert len(tables["Input pipeline"].rows) == 2
    steps = [row[0] for row in tables["One photo"].rows]
    assert steps[0].startswith("decode") and "sum of the steps above" in steps
    assert len(tables["One photo, now against before"].rows) == 2
    assert result["raw"]["photo"]["max_difference"] <= 1
    folder = result["raw"]["folder"]
    assert folder["identical_outputs"] == folder["outputs"] == 4
    assert "--png-compression 1: 4 of 4 with the same pixels" in folder["png_note"]
    assert [row[0] for row in tables["Start-up"].rows][:2] == [
        "to first photo written (end to end)", "then the process exit"]
    for table in result["tables"]:
        for row in table.rows:
            # In one process the photo workers' memory columns are each other's (may be <= 0).
            cells = row[1:4] if table is tables["One photo, now against before"] else row[1:]
            numbers = [cell for cell in cells if isinstance(cell, int | float)]
            assert numbers and all(number > 0 for number in numbers), (table.title, row)
        assert table.markdown().count("\n|") == len(table.rows) + 2

    exports = result["raw"]["inference"]["exports"]
    sizes = exports["tflite_bytes"]
    assert sizes["dynamic_int8"] < 0.6 * sizes["float32"]  # int8 weights, even for "tiny"
    goals = result["goals"].rows
    # tf.function, predict, SavedModel per batch; training; dynamic_int8 time, size; pipeline;
    # the photo's time, memory, now / before and levels; the folder's ratio and outputs.
    assert len(goals) == 3 * 2 + 1 + 2 + 1 + 4 + 2
    assert {row[3] for row in goals} <= {"met", "missed"}
