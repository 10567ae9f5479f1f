"""Reading a PyTorch state-dict file (`torch.save(model.state_dict(), path)`) without PyTorch.

A `.pth` file is a pickle that names tensor storages, plus the raw bytes of those storages:

- the zip format (PyTorch >= 1.6): `<root>/data.pkl`, and `<root>/data/<key>` per storage;
- the legacy format: five pickles in a row (a magic number, the protocol version, system
  information, the object, the list of storage keys), then each storage as an 8-byte element count
  and its bytes.

Like `torch.load(weights_only=True)`, the unpickler resolves only the few names a state dict
needs (an `OrderedDict`, the tensor-rebuild functions, the typed storage classes): any other
global in the file is an error naming it, so loading a file cannot run code. Tensors come back as
numpy arrays with their own dtype, shape and strides, copied out of the storage bytes; bfloat16
(which numpy lacks) is widened to float32 exactly.

Example:

>>> read_state_dict("missing.pth")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: No such weights file: 'missing.pth'.
"""

from __future__ import annotations

import collections
import io
import os
import pathlib
import pickle
import struct
import zipfile

import numpy as np

# Typed storage classes as pickled by PyTorch, and the numpy dtype of their elements.
_STORAGE_DTYPES = {
    "DoubleStorage": np.dtype("<f8"),
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"),  # widened to float32 when a tensor is built
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}
# The legacy format's first pickle.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_ZIP_SIGNATURE = b"PK\x03\x04"


class _StorageType:
    """A pickled storage class (`torch.FloatStorage`, ...): its name and element dtype."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


class _Storage:
    """A storage's elements, as a 1-D numpy array, and whether they are bfloat16."""

    def __init__(self, data: bytes, storage_type: _StorageType):
        count = len(data) // storage_type.dtype.itemsize
        self.array = np.frombuffer(data, storage_type.dtype, count=count)
        self.bfloat16 = storage_type.name == "BFloat16Storage"


def _rebuild_tensor(storage, storage_offset, size, stride, *unused) -> np.ndarray:
    """`torch._utils._rebuild_tensor_v2` as numpy: the strided view, copied."""
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("a tensor whose storage is not a typed storage")
    array = storage.array
    itemsize = array.dtype.itemsize
    count = int(np.prod(size, dtype=np.int64)) if size else 1
    if count:
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
        if storage_offset < 0 or last >= array.size or min(stride, default=0) < 0:
            raise pickle.UnpicklingError("a tensor that reaches outside its storage")
    view = np.lib.stride_tricks.as_strided(
        array[storage_offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride)
    )
    tensor = np.array(view, copy=True)
    if storage.bfloat16:  # the upper half of a float32
        tensor = (tensor.astype(np.uint32) << 16).view(np.float32)
    return tensor


def _rebuild_parameter(data, requires_grad, backward_hooks, *unused) -> np.ndarray:
    return data


# What the unpickler may resolve: (module, name) -> object.
_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
}


class _StateDictUnpickler(pickle.Unpickler):
    """Resolves only `_ALLOWED`; storages come from `load_storage(persistent id)`.

    `rebuild_tensor` replaces the tensor-rebuild function (the legacy format rebuilds tensors
    only once the storages that follow the pickle are read).
    """

    def __init__(self, file, load_storage=None, rebuild_tensor=_rebuild_tensor):
        super().__init__(file)
        self._load_storage = load_storage
        self._rebuild_tensor = rebuild_tensor

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return self._rebuild_tensor
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"{module}.{name} is not allowed in a state dict (only tensors are read)"
            ) from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        if not isinstance(pid[1], _StorageType) or self._load_storage is None:
            raise pickle.UnpicklingError(f"unknown storage type {pid[1]!r}")
        _, storage_type, key, _location, numel = pid[:5]
        if len(pid) > 5 and pid[5] is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        return self._load_storage(storage_type, str(key), int(numel))


def _read_zip(path: pathlib.Path) -> object:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.endswith("/data.pkl") or name == "data.pkl"]
        if len(pickles) != 1:
            raise ValueError("a zip file without exactly one data.pkl")
        root = pickles[0][: -len("data.pkl")]
        byteorder = root + "byteorder"
        if byteorder in names and archive.read(byteorder).strip() != b"little":
            raise ValueError("a big-endian file")
        storages = {}

        def load_storage(storage_type, key, numel):
            if key not in storages:
                storages[key] = _Storage(archive.read(f"{root}data/{key}"), storage_type)
                if storages[key].array.size < numel:
                    raise pickle.UnpicklingError(f"storage {key} is shorter than {numel} elements")
            return storages[key]

        return _StateDictUnpickler(io.BytesIO(archive.read(pickles[0])), load_storage).load()


class _LegacyTensor:
    """A tensor of the legacy format, rebuilt once the storage bytes after the pickle are read."""

    def __init__(self, storage_key, *args):
        self.storage_key, self.args = storage_key, args


def _read_legacy(path: pathlib.Path) -> object:
    with open(path, "rb") as file:
        if _StateDictUnpickler(file).load() != _LEGACY_MAGIC:
            raise ValueError("neither a zip file nor PyTorch's legacy format")
        _StateDictUnpickler(file).load()  # the protocol version
        _StateDictUnpickler(file).load()  # system information
        storage_types = {}

        def load_storage(storage_type, key, numel):
            storage_types.setdefault(key, (storage_type, numel))
            return key

        obj = _StateDictUnpickler(file, load_storage, rebuild_tensor=_LegacyTensor).load()
        storages = {}
        for key in _StateDictUnpickler(file).load():
            storage_type, numel = storage_types[str(key)]
            (count,) = struct.unpack("<q", file.read(8))
            data = file.read(count * storage_type.dtype.itemsize)
            if count < numel or len(data) != count * storage_type.dtype.itemsize:
                raise ValueError(f"storage {key} is truncated")
            storages[str(key)] = _Storage(data, storage_type)
    if not isinstance(obj, dict):
        return obj
    return type(obj)(
        (name, _rebuild_tensor(storages[value.storage_key], *value.args))
        if isinstance(value, _LegacyTensor) else (name, value)
        for name, value in obj.items()
    )


def read_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A state dict saved by `torch.save`, as numpy arrays, without importing PyTorch.

    Args:
        path: the `.pth` file (zip or legacy format).

    Returns:
        {name: numpy array} in the file's order, each with the tensor's dtype and shape.

    Raises:
        ValueError: a missing file, or one that is not a state dict of tensors (the message names
            the file and says why, e.g. a global that a state dict has no business holding).
    """
    path = pathlib.Path(os.fspath(path)).expanduser()
    if not path.is_file():
        raise ValueError(f"No such weights file: {str(path)!r}.")
    with open(path, "rb") as file:
        is_zip = file.read(len(_ZIP_SIGNATURE)) == _ZIP_SIGNATURE
    try:
        state_dict = _read_zip(path) if is_zip else _read_legacy(path)
    except (pickle.UnpicklingError, ValueError, EOFError, KeyError, struct.error,
            zipfile.BadZipFile, TypeError, AttributeError) as error:
        raise ValueError(f"Cannot read {str(path)!r} as a PyTorch state dict: {error}") from None
    if not isinstance(state_dict, dict) or not all(
        isinstance(key, str) and isinstance(value, np.ndarray) for key, value in state_dict.items()
    ):
        raise ValueError(f"{str(path)!r} does not hold a state dict of tensors.")
    return dict(state_dict)
