"""Smoke test of benchmarks/: every table of `run_all` on the "tiny" network at tiny sizes.

Keeps the benchmark code from rotting: all paths run in this process (`in_process`), one timed
call each. Also checks what the tables' ratios rest on: the PyTorch network has the Keras one's
parameter count, and the analytic FLOP count equals PyTorch's own FLOP counter. Photos: generated,
unless $KERAS_COLORFUL_BENCHMARK_PHOTOS names a folder (see benchmarks/common.py).
"""

import math

import ai_edge_litert  # noqa: E402,F401  (the test extra installs it; no skipping)
import pytest
import torch  # noqa: E402
from torch.utils import flop_counter  # noqa: E402

from benchmarks import bench_ceiling, bench_inference, common, run_all  # noqa: E402
from keras_colorful import models  # noqa: E402
from keras_colorful.torch_port import network  # noqa: E402


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_torch_network_matches_keras_parameters_and_flops(preset):
    keras_count = sum(math.prod(w.shape) for w in models.build_model(preset).trainable_weights)
    net = network.build_torch_model(preset).eval()
    assert network.parameter_count(net) == keras_count
    with flop_counter.FlopCounterMode(display=False) as counter, torch.inference_mode():
        logits = net(torch.zeros((1, 1, 40, 56)))
    assert tuple(logits.shape) == (1, 313, 10, 14)
    assert bench_ceiling.forward_flops(preset, 40, 56) == counter.get_total_flops()


def test_torch_eccv16_has_the_papers_parameter_count():
    # The paper's network (keras_colorful/presets.py): 32,235,385 trainable parameters without
    # the 626 of the release's `model_out`.
    assert network.parameter_count(network.build_torch_model("eccv16")) == 32_235_385


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
        keras_paths=("keras_function", "keras_predict", "saved_model", "saved_model_colorize"),
        train_keras_paths=("keras",), tflite_threads=(2,),
        quantizations=("float32", "dynamic_int8"),  # "float16" and "int8" convert the same way
    )
    result = run_all.run(settings, str(tmp_path))
    tables = {table.title.split(":")[0]: table for table in result["tables"]}
    assert set(tables) == {"Ceiling", "Inference", "TFLite (LiteRT, XNNPACK)", "Training",
                           "Input pipeline"}

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
    for table in result["tables"]:
        for row in table.rows:
            numbers = [cell for cell in row[1:] if isinstance(cell, int | float)]
            assert numbers and all(number > 0 for number in numbers), (table.title, row)
        assert table.markdown().count("\n|") == len(table.rows) + 2

    exports = result["raw"]["inference"]["exports"]
    sizes = exports["tflite_bytes"]
    assert sizes["dynamic_int8"] < 0.6 * sizes["float32"]  # int8 weights, even for "tiny"
    goals = result["goals"].rows
    # tf.function, predict, SavedModel per batch; training; dynamic_int8 time, size; pipeline.
    assert len(goals) == 3 * 2 + 1 + 2 + 1
    assert {row[3] for row in goals} <= {"met", "missed"}
