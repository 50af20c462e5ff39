"""Read StyleGAN2-ADA / StyleGAN3 / ALIS network pickles as plain data, never running code from the file.

The official loader executes the module source embedded in every persistent object. Here that source
is only hashed; each global the pickle names must be on an allow-list of data constructors (tensors,
numpy arrays, plain containers) or is replaced by an inert stand-in that only collects state
(persistent networks, OmegaConf configs, TensorFlow stub networks, torch.nn modules). Any other
global is refused before anything is called.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ModelLoadError, one_line
from .pickle_scan import scan_pickle

LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C  # first value in a pre-zip torch.save file


@dataclass(eq=False)
class PersistentObject:
    """One network module from a pickle, as data: enough to rebuild it from trusted code and copy tensors."""

    class_name: str  # e.g. 'Generator', 'SynthesisLayer'
    module_hash: str | None  # sha256 of the embedded module source (never executed); None for torch.nn
    init_args: tuple = ()
    init_kwargs: dict = field(default_factory=dict)
    params: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)  # dotted path -> tensor
    buffer_names: set[str] = field(default_factory=set, repr=False)  # which params entries are buffers
    submodules: dict[str, PersistentObject] = field(default_factory=dict, repr=False)  # direct children
    attributes: dict[str, Any] = field(default_factory=dict, repr=False)  # other plain attributes
    version: int | None = None  # persistence format version (6 for StyleGAN2-ADA / StyleGAN3)


def load_network_pickle(path: str | Path) -> dict:
    """{'G': ..., 'D': ..., 'G_ema': ..., ...}: networks as PersistentObject, TF networks as plain dicts."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ModelLoadError(f"cannot read network pickle {path}: {e.strerror or e}") from None
    _reject_foreign(data, path)
    scan_pickle(data, str(path))
    try:
        raw = _SafeUnpickler(io.BytesIO(data), str(path)).load()
    except ModelLoadError:
        raise
    except Exception as e:  # a malformed pickle can fail in any constructor; report it as one line
        if isinstance(e, EOFError) or "truncated" in str(e):
            raise ModelLoadError(f"{path} is truncated: the pickle ends early; download it again") from None
        reason = f"{type(e).__name__}: {e}"
        raise ModelLoadError(one_line(f"{path} is not a readable network pickle ({reason})")) from None
    return _networks(raw, path)


# --- what may be resolved -------------------------------------------------------------------------

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


class _TFNetwork(_StandIn):
    source = "dnnlib.tflib.network.Network"


class _TorchModule(_StandIn):
    pass


class _OmegaConf(_StandIn):
    pass


class _EasyDict(dict):
    """dnnlib.util.EasyDict is a dict subclass; as a plain dict it needs to accept (empty) instance state."""

    def __setstate__(self, state):
        if isinstance(state, dict):
            self.update(state)


@dataclass
class _Persistent:
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
    return _Persistent(class_name, src_hash, meta.get("version"), meta.get("state") or {})


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
            raise ModelLoadError(one_line(f"refused _codecs.encode with encoding {_short(encoding)}"))
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
        "dnnlib.tflib.network.Network": _TFNetwork,
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


class _SafeUnpickler(pickle.Unpickler):
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
            return _stand_in(_OmegaConf, qualified)
        if module.startswith("torch.nn.modules.") and name[:1].isupper():
            return _stand_in(_TorchModule, qualified)
        why = ("the file tries to run code" if module.split(".")[0] in _RUNS_CODE
               else "it is not part of a network pickle")
        raise ModelLoadError(one_line(f"refused global '{qualified}' in {self.name}: {why}; "
                                       "only network pickles are loaded"))

    def persistent_load(self, pid):
        raise ModelLoadError(f"{self.name} uses external references (torch.save?); not a network pickle")


# --- turning the unpickled objects into plain data ------------------------------------------------

_MODULE_INTERNALS = {"_parameters", "_buffers", "_modules", "_non_persistent_buffers_set", "training",
                     "_init_args", "_init_kwargs", "_is_full_backward_hook", "_orig_class_name",
                     "_orig_module_src"}


class _Plain:
    """Converts stand-ins to plain data; one instance per load so shared objects stay shared."""

    def __init__(self):
        self.memo: dict[int, Any] = {}

    def __call__(self, obj):
        key = id(obj)
        if key in self.memo:
            return self.memo[key]
        if isinstance(obj, _Persistent | _TorchModule):
            return self.module(obj)
        if isinstance(obj, _OmegaConf):
            return self.omegaconf(obj)
        if isinstance(obj, _TFNetwork):
            return self.tf_network(obj)
        if isinstance(obj, torch.Tensor):  # Parameter -> Tensor; drops any hooks attached in the file
            out = self.memo[key] = obj.detach()
            return out
        if isinstance(obj, dict):
            out = self.memo[key] = {}
            out.update((self(k), self(v)) for k, v in obj.items())
            return out
        if isinstance(obj, list):
            out = self.memo[key] = []
            out.extend(self(v) for v in obj)
            return out
        if type(obj) in (tuple, set, frozenset):
            return type(obj)(self(v) for v in obj)
        return obj  # tensors, numpy arrays and scalars, str, numbers, None, typing names

    def module(self, obj):
        if isinstance(obj, _Persistent):
            state = obj.state
            out = PersistentObject(obj.class_name, obj.module_hash, version=obj.version)
        else:
            state = obj.state if isinstance(obj.state, dict) else {}
            out = PersistentObject(obj.source, None)
        if not isinstance(state, dict):
            raise ModelLoadError(f"network {out.class_name} has no state dict; not a network pickle")
        self.memo[id(obj)] = out
        out.init_args = tuple(self(state.get("_init_args", ())))
        out.init_kwargs = self(state.get("_init_kwargs", {}))
        for group in ("_parameters", "_buffers"):
            for name, tensor in (state.get(group) or {}).items():
                if tensor is not None:  # e.g. StyleGAN3's up_filter is None for identity filters
                    out.params[name] = self(tensor)
                    if group == "_buffers":
                        out.buffer_names.add(name)
        for name, child in (state.get("_modules") or {}).items():
            if child is None:
                continue
            sub = self(child)
            if not isinstance(sub, PersistentObject):
                raise ModelLoadError(f"submodule {_short(name)} of {out.class_name} is not a network module")
            out.submodules[name] = sub
            out.params.update((f"{name}.{k}", v) for k, v in sub.params.items())
            out.buffer_names.update(f"{name}.{k}" for k in sub.buffer_names)
        out.attributes = {k: self(v) for k, v in state.items()
                          if k not in _MODULE_INTERNALS and not (k.startswith("_") and "hook" in k)}
        return out

    def omegaconf(self, obj):
        state = obj.state if isinstance(obj.state, dict) else {}
        if obj.source.endswith("Metadata"):
            return None  # type bookkeeping only
        if "_val" in state:  # a leaf node
            return self(state["_val"])
        return self(state.get("_content"))  # DictConfig -> dict, ListConfig -> list (None / '???' kept)

    def tf_network(self, obj):
        state = obj.state
        if not isinstance(state, dict) or not isinstance(state.get("variables"), list | tuple):
            raise ModelLoadError("a TensorFlow network in the pickle has no variables; not a network pickle")
        src = state.get("build_module_src")
        out = self.memo[id(obj)] = {
            "kind": "tensorflow",
            "name": state.get("name"),
            "build_func_name": state.get("build_func_name"),
            "module_hash": hashlib.sha256(src.encode("utf-8")).hexdigest() if isinstance(src, str) else None,
            "static_kwargs": self(state.get("static_kwargs") or {}),
            "components": {},
            "variables": {},  # own variables and components' as 'component/variable'
        }
        out["variables"].update((str(n), np.asarray(v)) for n, v in state["variables"])
        for name, comp in (state.get("components") or {}).items():
            sub = out["components"][name] = self(comp)
            out["variables"].update((f"{name}/{k}", v) for k, v in sub["variables"].items())
        return out


def _networks(raw, path: Path) -> dict:
    if isinstance(raw, tuple) and len(raw) == 3 and all(isinstance(n, _TFNetwork) for n in raw):
        plain = _Plain()
        return {"G": plain(raw[0]), "D": plain(raw[1]), "G_ema": plain(raw[2])}
    if isinstance(raw, int) and raw == LEGACY_TORCH_MAGIC:
        raise ModelLoadError(f"{path} is a torch.save checkpoint, not a network pickle")
    if not isinstance(raw, dict):
        raise ModelLoadError(f"{path} holds a {type(raw).__name__}, not a network pickle (dict of networks)")
    out = _Plain()(raw)
    if not any(isinstance(v, PersistentObject) for v in out.values()):
        keys = ", ".join(_short(k) for k in list(out)[:8])
        raise ModelLoadError(one_line(f"{path} holds no networks (keys: {keys}); "
                                       "expected a StyleGAN2-ADA / StyleGAN3 snapshot with G_ema"))
    return out


_MAGIC = {b"PK\x03\x04": "a zip archive (torch.save files are zips)", b"\x89PNG": "a PNG image",
          b"\xff\xd8\xff": "a JPEG image", b"\x1f\x8b": "a gzip file", b"GIF8": "a GIF image"}


def _reject_foreign(data: bytes, path: Path):
    if not data:
        raise ModelLoadError(f"{path} is empty; not a network pickle")
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise ModelLoadError(f"{path} is {what}, not a network pickle")


def _short(value, limit: int = 40) -> str:
    """repr of a value from the file, cut BEFORE formatting (a key may be a gigabyte of bytes)."""
    if isinstance(value, str | bytes | bytearray):
        return repr(value[:limit]) + ("..." if len(value) > limit else "")
    if isinstance(value, int | float | bool | type(None)):
        return repr(value)
    return type(value).__name__
