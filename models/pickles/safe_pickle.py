"""Read StyleGAN2-ADA / StyleGAN3 / ALIS network pickles as plain data, never running code from the file.

The official loader executes the module source embedded in every persistent object. Here that source
is only hashed; each global the pickle names must be on an allow-list of data constructors (tensors,
numpy arrays, plain containers) or is replaced by an inert stand-in that only collects state
(persistent networks, OmegaConf configs, TensorFlow stub networks, torch.nn modules). Any other
global is refused before anything is called.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ModelLoadError, one_line
from .scan import scan_pickle
from .unpickler import OmegaConf, Persistent, SafeUnpickler, TFNetwork, TorchModule, short

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
        raw = SafeUnpickler(io.BytesIO(data), str(path)).load()
    except ModelLoadError:
        raise
    except Exception as e:  # a malformed pickle can fail in any constructor; report it as one line
        if isinstance(e, EOFError) or "truncated" in str(e):
            raise ModelLoadError(f"{path} is truncated: the pickle ends early; download it again") from None
        reason = f"{type(e).__name__}: {e}"
        raise ModelLoadError(one_line(f"{path} is not a readable network pickle ({reason})")) from None
    return _networks(raw, path)


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
        if isinstance(obj, Persistent | TorchModule):
            return self.module(obj)
        if isinstance(obj, OmegaConf):
            return self.omegaconf(obj)
        if isinstance(obj, TFNetwork):
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
        if isinstance(obj, Persistent):
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
                raise ModelLoadError(f"submodule {short(name)} of {out.class_name} is not a network module")
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
    if isinstance(raw, tuple) and len(raw) == 3 and all(isinstance(n, TFNetwork) for n in raw):
        plain = _Plain()
        return {"G": plain(raw[0]), "D": plain(raw[1]), "G_ema": plain(raw[2])}
    if isinstance(raw, int) and raw == LEGACY_TORCH_MAGIC:
        raise ModelLoadError(f"{path} is a torch.save checkpoint, not a network pickle")
    if not isinstance(raw, dict):
        raise ModelLoadError(f"{path} holds a {type(raw).__name__}, not a network pickle (dict of networks)")
    out = _Plain()(raw)
    if not any(isinstance(v, PersistentObject) for v in out.values()):
        keys = ", ".join(short(k) for k in list(out)[:8])
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
