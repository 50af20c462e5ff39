"""The restricted unpickler behind safe_pickle: which globals a network pickle may name, and the inert
stand-ins that take the place of its classes. Every callable it hands the pickle is a data constructor with
bounded sizes; anything else is refused before it is called.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import collections
import hashlib
import io
import pickle
import typing
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import ModelLoadError, one_line


class _StandIn:
    """Takes the place of a class named in the file: keeps constructor arguments and state, runs nothing."""

    source = ""  # 'module.Class' as named in the pickle

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        obj.args, obj.state = args, None
        return obj

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.state = state


class TFNetwork(_StandIn):
    source = "dnnlib.tflib.network.Network"


class TorchModule(_StandIn):
    pass


class OmegaConf(_StandIn):
    pass


class _EasyDict(dict):
    """dnnlib.util.EasyDict is a dict subclass; as a plain dict it needs to accept (empty) instance state."""

    def __setstate__(self, state):
        if isinstance(state, dict):
            self.update(state)


@dataclass
class Persistent:
    class_name: str
    module_hash: str
    version: int
    state: dict


def _reconstruct_persistent(meta):
    # Stands in for torch_utils.persistence._reconstruct_persistent_obj: hash the source, never exec it.
    if not isinstance(meta, dict) or meta.get("type") != "class" or type(meta.get("module_src")) is not str:
        raise ModelLoadError("a persistent object in the pickle has malformed metadata; not a network pickle")
    src_hash = hashlib.sha256(meta["module_src"].encode("utf-8")).hexdigest()
    class_name = str(meta.get("class_name"))[:200]
    return Persistent(class_name, src_hash, meta.get("version"), meta.get("state") or {})


def _load_storage(blob: bytes):
    # torch.storage._load_from_bytes runs a full torch.load; weights_only keeps it to plain storages.
    if not isinstance(blob, bytes | bytearray):
        raise ModelLoadError("a tensor storage in the pickle is not a byte string; not a network pickle")
    try:
        return torch.load(io.BytesIO(blob), weights_only=True, map_location="cpu")
    except Exception as e:
        raise ModelLoadError(one_line(f"a tensor storage in the pickle was refused: {e}")) from None


def _numpy_core(name: str):
    core = getattr(np, "_core", None) or np.core  # numpy >= 2 writes numpy._core, older numpy.core
    return getattr(getattr(core, name.split(".")[0]), name.split(".")[1])


MAX_ITEMS = 1 << 24  # elements any constructor named in a pickle may be asked for (bytes, list, tensor)


def _refuse_size(what: str, n: int) -> None:
    raise ModelLoadError(f"refused {what} of {n} elements in the pickle (more than {MAX_ITEMS}); "
                         "not a network pickle")


def _bounded(kind: type):
    """kind(*args) for a builtin the pickle names, refusing sizes no network pickle asks for
    (bytes(3e9), list(bytes(3e8)))."""
    def construct(*args):
        for a in args:
            sized = isinstance(a, str | bytes | bytearray | list | tuple | dict | set | frozenset)
            n = a if isinstance(a, int) and not isinstance(a, bool) else (len(a) if sized else 0)
            if n > MAX_ITEMS and kind not in (int, float, complex, bool):
                _refuse_size(f"{kind.__name__}(...)", n)
        return kind(*args)
    construct.kind = kind  # OmegaConf metadata names types as data; the readers drop it
    return construct


class _TypeName:
    """A class named in the pickle only as data (the type argument of a rebuild call); not callable."""

    def __init__(self, kind: type):
        self.kind = kind


def _tensor_rebuilder(real):
    """A fresh wrapper per load around a torch rebuild function: a view larger than its storage (a
    stride-0 trick that turns 4 bytes into 10^9 elements) is refused before anything is copied."""
    def rebuild(storage, *args):
        if real in (torch._utils._rebuild_tensor_v2, torch._utils._rebuild_tensor) and len(args) >= 2:
            size = args[1]
            n = 1
            for d in size if isinstance(size, tuple | list | torch.Size) else ():
                n *= int(d)
            with warnings.catch_warnings():  # TypedStorage is what legacy pickles hold; its dtype warns
                warnings.simplefilter("ignore")
                typed = hasattr(storage, "dtype")
                have = storage.nbytes() // max(storage.dtype.itemsize, 1) if typed else None
            if have is not None and n > have:
                raise ModelLoadError(f"refused a tensor of {n} elements over a storage of {have}: "
                                     "not a network pickle")
        return real(storage, *args)
    return rebuild


def _allow_list() -> dict[str, Any]:
    """Name -> object for one load. Every callable is a fresh wrapper or a plain type whose state a
    file cannot change, so nothing one file does reaches another load."""
    rebuilders = {f"torch._utils.{f.__name__}": _tensor_rebuilder(f) for f in _TORCH_REBUILD}
    tensor, parameter, ndarray = _TypeName(torch.Tensor), _TypeName(torch.nn.Parameter), _TypeName(np.ndarray)

    def rebuild_from_type(func, new_type, args, state):
        # Tensor subclasses reduce through torch._tensor._rebuild_from_type_v2; allow only the plain types.
        if new_type not in (tensor, parameter) or func not in rebuilders.values():
            raise ModelLoadError("refused a tensor subclass: only plain tensors and parameters load")
        return func(*args)

    def reconstruct(subtype, shape, dtype):
        # numpy's array reduce: an empty array of the right type, filled by its __setstate__
        big = isinstance(shape, tuple) and np.prod(shape, dtype=np.float64) > MAX_ITEMS
        if subtype is not ndarray or not isinstance(shape, tuple) or big:
            raise ModelLoadError("refused a numpy array rebuild that is not a plain ndarray")
        return _numpy_core("multiarray._reconstruct")(np.ndarray, shape, dtype)

    def latin1_encode(text, encoding="latin1"):
        # Protocol-2 pickles spell bytes as _codecs.encode(str, 'latin1'); allow exactly that.
        if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
            raise ModelLoadError(one_line(f"refused _codecs.encode with encoding {short(encoding)}"))
        return codecs.encode(text, "latin1")

    allowed: dict[str, Any] = {
        "collections.OrderedDict": collections.OrderedDict,
        "collections.defaultdict": collections.defaultdict,  # OmegaConf metadata; factories never run
        "_codecs.encode": latin1_encode,
        **rebuilders,
        "torch._tensor._rebuild_from_type_v2": rebuild_from_type,
        "torch.storage._load_from_bytes": lambda blob: _load_storage(blob),
        "torch.Size": torch.Size,
        "torch.device": torch.device,
        "torch.Tensor": tensor,
        "torch.nn.parameter.Parameter": parameter,
        "numpy.ndarray": ndarray,
        "numpy.dtype": np.dtype,
        "torch_utils.persistence._reconstruct_persistent_obj": lambda meta: _reconstruct_persistent(meta),
        "dnnlib.util.EasyDict": _EasyDict,
        "dnnlib.tflib.network.Network": TFNetwork,
    }
    for core in ("numpy.core", "numpy._core"):
        allowed[f"{core}.multiarray._reconstruct"] = reconstruct
        allowed[f"{core}.multiarray.scalar"] = _numpy_core("multiarray.scalar")
        allowed[f"{core}.numeric._frombuffer"] = _numpy_core("numeric._frombuffer")
    for name in dir(torch):  # dtypes pickle as globals: torch.float32, torch.float16, ...
        if isinstance(getattr(torch, name, None), torch.dtype):
            allowed[f"torch.{name}"] = getattr(torch, name)
    # Inert data types: OmegaConf metadata names them, older protocols rebuild sets through them.
    for t in (dict, list, tuple, set, frozenset, int, float, str, bool, bytes, bytearray, complex):
        allowed[f"builtins.{t.__name__}"] = _bounded(t)
    for name in ("Any", "Dict", "List", "Tuple", "Optional", "Union"):
        allowed[f"typing.{name}"] = _TypeName(getattr(typing, name))
    return allowed


_TORCH_REBUILD = (torch._utils._rebuild_tensor_v2, torch._utils._rebuild_tensor,
                  torch._utils._rebuild_parameter, torch._utils._rebuild_parameter_with_state)


_OMEGACONF_CLASSES = {"DictConfig", "ListConfig", "Metadata", "ContainerMetadata", "AnyNode", "StringNode",
                      "IntegerNode", "FloatNode", "BooleanNode", "BytesNode", "PathNode", "ValueNode",
                      "UnionNode", "InterpolationResultNode"}
_RUNS_CODE = {"os", "posix", "nt", "subprocess", "builtins", "sys", "shutil", "socket", "importlib", "runpy",
              "pty", "code", "ctypes", "multiprocessing", "pickle", "marshal", "types", "functools",
              "operator"}
_stand_ins: dict[str, type] = {}


def _stand_in(base: type, source: str) -> type:
    if source not in _stand_ins:
        _stand_ins[source] = type(source.rsplit(".", 1)[1], (base,), {"source": source})
    return _stand_ins[source]


class SafeUnpickler(pickle.Unpickler):
    def __init__(self, file, name: str):
        super().__init__(file)
        self.name = name
        self.allowed = _allow_list()

    def find_class(self, module: str, name: str):
        # Protocol-2 pickles use Python 2 names (__builtin__.long); map them as pickle itself does.
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        qualified = f"{module}.{name}"
        if qualified in self.allowed:
            return self.allowed[qualified]
        if module.startswith("omegaconf.") and name in _OMEGACONF_CLASSES:
            return _stand_in(OmegaConf, qualified)
        if module.startswith("torch.nn.modules.") and name[:1].isupper():
            return _stand_in(TorchModule, qualified)
        why = ("the file tries to run code" if module.split(".")[0] in _RUNS_CODE
               else "it is not part of a network pickle")
        raise ModelLoadError(one_line(f"refused global '{qualified}' in {self.name}: {why}; "
                                       "only network pickles are loaded"))

    def persistent_load(self, pid):
        raise ModelLoadError(f"{self.name} uses external references (torch.save?); not a network pickle")


def short(value, limit: int = 40) -> str:
    """repr of a value from the file, cut BEFORE formatting (a key may be a gigabyte of bytes)."""
    if isinstance(value, str | bytes | bytearray):
        return repr(value[:limit]) + ("..." if len(value) > limit else "")
    if isinstance(value, int | float | bool | type(None)):
        return repr(value)
    return type(value).__name__
