r"""The tests' PyTorch work, run by `tests/torch_runner.py` in a process without TensorFlow.

`python -m tests.torch_jobs INPUTS.npz OUTPUTS.npz`: every job named in INPUTS (keys
"<job>/<input>", a job being a function below, optionally "<function>#<label>") runs on its
inputs, and its outputs go to OUTPUTS ("<job>/<output>"). The process fails if TensorFlow or Keras
got imported: the PyTorch port and the release oracle must not need them.
"""

import doctest
import importlib
import sys

import numpy as np
import torch

from keras_colorful.torch_port import batches, lab, loss, network
from tests import torch_eccv16

SEPARATOR = "/"


def _nchw(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2)


def _nhwc(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().permute(0, 2, 3, 1).numpy()


def lab_job(rgb):
    """`torch_port.lab.rgb_to_lab` of float RGB `[N, 3, H, W]`."""
    return {"lab": lab.rgb_to_lab(torch.from_numpy(rgb)).numpy()}


def loss_job(logits, ab, centers, weights):
    """`torch_port.loss.rebalanced_loss` of NHWC logits and ab: (weighted, unweighted)."""
    values = loss.rebalanced_loss(
        _nchw(logits), _nchw(ab), torch.from_numpy(centers), torch.from_numpy(weights))
    return {"losses": np.array([float(value) for value in values])}


def random_batch_job(photos, batch_size, sizes, max_zoom, seed, repeats):
    """`torch_port.batches.random_batch`, `repeats` times from one seeded generator."""
    generator = torch.Generator().manual_seed(int(seed))
    return {
        f"batch_{i}": batches.random_batch(
            torch.from_numpy(photos), int(batch_size), [int(s) for s in sizes],
            float(max_zoom), generator).numpy()
        for i in range(int(repeats))
    }


def decode_pack_job(path):
    photos, centers, weights = batches.decode_pack(str(path))
    return {"photos": photos, "centers": centers, "weights": weights}


def _shapes(state_dict, skip_prefix=None):
    items = [(key, value) for key, value in state_dict.items()
             if skip_prefix is None or not key.startswith(skip_prefix)]
    return ([key for key, _ in items],
            [",".join(str(n) for n in value.shape) for _, value in items])


def eccv16_layouts_job():
    """Keys and shapes of the port's "eccv16" and of the release oracle (without model_out)."""
    port_keys, port_shapes = _shapes(network.build_torch_model("eccv16").state_dict())
    release_keys, release_shapes = _shapes(torch_eccv16.ECCVGenerator().state_dict(),
                                           "model_out.")
    return {"port_keys": np.array(port_keys), "port_shapes": np.array(port_shapes),
            "release_keys": np.array(release_keys), "release_shapes": np.array(release_shapes)}


def forward_job(state_path, preset, lightness):
    """The port's network of `preset`, loaded strictly from a state.npz, on NHWC L: logits."""
    with np.load(str(state_path)) as arrays:
        state = {key: torch.from_numpy(value) for key, value in arrays.items()}
    net = network.build_torch_model(str(preset))
    net.load_state_dict(state)
    with torch.no_grad():
        return {"logits": _nhwc(net.eval()(_nchw(lightness)))}


def parameters_and_flops_job(preset, height, width):
    """The port's parameter count, and PyTorch's own FLOP count of one forward pass."""
    from torch.utils import flop_counter

    net = network.build_torch_model(str(preset)).eval()
    with flop_counter.FlopCounterMode(display=False) as counter, torch.inference_mode():
        logits = net(torch.zeros((1, 1, int(height), int(width))))
    return {"parameters": np.array(network.parameter_count(net)),
            "flops": np.array(counter.get_total_flops()),
            "logits_shape": np.array(logits.shape)}


def _digest(array: np.ndarray) -> str:
    """sha256 of an array's dtype, shape and bytes: equal digests, equal arrays."""
    import hashlib

    array = np.ascontiguousarray(array)
    header = f"{array.dtype.str}{array.shape}".encode()
    return hashlib.sha256(header + array.tobytes()).hexdigest()


def release_oracle_job(seed, directory, **lightness):
    """The release's architecture with random weights: saved as `.pth` (zip and legacy
    formats) and run on each NHWC L input ("lightness_<name>").

    Outputs: "zip_path", "legacy_path"; "keys" and, per format, "digests_<format>" of what
    `torch.load(weights_only=True)` reads (see `_digest`); "logits_<name>", "ab_quarter_<name>",
    "ab_<name>" (x4 upsampled) per input.
    """
    model = torch_eccv16.random_released_model(seed=int(seed)).eval()
    state_dict = model.state_dict()
    outputs = {}
    for name, legacy in (("zip", False), ("legacy", True)):
        path = f"{directory}/random_release{'_legacy' if legacy else ''}.pth"
        torch.save(state_dict, path, _use_new_zipfile_serialization=not legacy)
        loaded = torch.load(path, map_location="cpu", weights_only=True)
        outputs[f"{name}_path"] = np.array(path)
        outputs["keys"] = np.array(list(loaded))
        outputs[f"digests_{name}"] = np.array([_digest(v.numpy()) for v in loaded.values()])
    with torch.no_grad():
        for key, value in lightness.items():
            name = key.removeprefix("lightness_")
            logits = model.logits(_nchw(value))
            ab_quarter = model.ab_quarter(logits)
            outputs[f"logits_{name}"] = _nhwc(logits)
            outputs[f"ab_quarter_{name}"] = _nhwc(ab_quarter)
            outputs[f"ab_{name}"] = _nhwc(model.upsample4(ab_quarter))
    return outputs


def torch_file_cases_job(directory):
    """State dicts of every dtype and layout `torch.save` writes, and what `torch.load` reads."""
    generator = torch.Generator().manual_seed(0)
    base = torch.randn(6, 5, generator=generator)
    state_dict = {
        "conv.weight": torch.randn(4, 3, 3, 3, generator=generator),
        "transposed": base.t(),  # a strided view
        "rows": base[1:3],  # an offset into a shared storage
        "half": torch.randn(3, generator=generator).half(),
        "bfloat16": torch.randn(3, generator=generator).bfloat16(),
        "float64": torch.randn(2, 2, generator=generator, dtype=torch.float64),
        "int32": torch.arange(5, dtype=torch.int32),
        "bool": torch.tensor([True, False]),
        "empty": torch.zeros(0, 3),
        "scalar": torch.tensor(3.5),
        "bn.num_batches_tracked": torch.tensor(7),
    }
    outputs = {}
    for name, legacy in (("zip", False), ("legacy", True)):
        path = f"{directory}/cases_{name}.pth"
        torch.save(state_dict, path, _use_new_zipfile_serialization=not legacy)
        outputs[f"{name}_path"] = np.array(path)
        loaded = torch.load(path, map_location="cpu", weights_only=True)
        outputs[f"{name}_keys"] = np.array(list(loaded))
        for key, value in loaded.items():
            if value.dtype == torch.bfloat16:
                value = value.float()
            outputs[f"{name}/{key}"] = value.numpy()

    class Hostile:  # pickled as a call of os.system: torch.load(weights_only=True) refuses it
        def __reduce__(self):
            import os

            return (os.system, ("echo this must never run",))

    hostile = f"{directory}/hostile.pth"
    torch.save({"weight": Hostile()}, hostile)
    outputs["hostile_path"] = np.array(hostile)
    return outputs


def doctests_job():
    """The PyTorch port's doctests: (failed, attempted)."""
    failed = attempted = 0
    for name in ("lab", "loss", "network", "batches"):
        module = importlib.import_module(f"keras_colorful.torch_port.{name}")
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        failed, attempted = failed + result.failed, attempted + result.attempted
    return {"failed": np.array(failed), "attempted": np.array(attempted)}


def _value(array: np.ndarray):
    return array.item() if array.ndim == 0 else array


def main(inputs_path: str, outputs_path: str) -> None:
    torch.set_num_threads(2)
    jobs: dict[str, dict] = {}
    with np.load(inputs_path, allow_pickle=False) as arrays:
        for name in arrays.files:
            job, key = name.split(SEPARATOR, 1)
            values = jobs.setdefault(job, {})
            if key:
                values[key] = _value(arrays[name])
    outputs = {}
    for job, values in jobs.items():
        function = globals()[job.split("#")[0] + "_job"]
        for key, value in function(**values).items():
            outputs[f"{job}{SEPARATOR}{key}"] = value
    leaked = [name for name in ("tensorflow", "keras") if name in sys.modules]
    if leaked:
        raise SystemExit(f"The PyTorch jobs imported {leaked}.")
    np.savez(outputs_path, **outputs)


if __name__ == "__main__":
    main(*sys.argv[1:])
