"""Resolve what the user names (a config name, a YAML config, a checkpoint) to a loaded model."""

from __future__ import annotations

import importlib.resources
import zipfile
from pathlib import Path

import torch
import yaml

from .budget import build_bounded, check_storage
from .contract import InfiniteGenerator, record_capabilities
from .errors import ModelLoadError
from .files import is_disk_full, remove, write_error
from .native.config import NativeConfig
from .native.generator import NativeGenerator
from .native.model import NativeModel
from .safe_yaml import load_yaml

CHECKPOINT_FORMAT = "infiniscape-native-v1"
DEFAULT_MODEL = "landscape"  # the built-in model: configs/landscape.yaml + its shipped weights


def builtin_configs() -> list[str]:
    """Names of the configs shipped in infiniscape.configs."""
    root = importlib.resources.files("infiniscape.configs")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_config(name_or_path: str | Path) -> dict:
    """A config dict from a built-in name or a YAML path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        text = path.read_text()
    else:
        res = importlib.resources.files("infiniscape.configs") / f"{name_or_path}.yaml"
        if not res.is_file():
            raise ModelLoadError(f"unknown model {str(name_or_path)!r}: pass a config name "
                                 f"({', '.join(builtin_configs())}), a .yaml config or a checkpoint file")
        text = res.read_text()
    try:
        cfg = load_yaml(text)
    except yaml.YAMLError as e:
        raise ModelLoadError(f"config {name_or_path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(cfg, dict):
        raise ModelLoadError(f"config {name_or_path} is not a mapping of keys to values")
    return cfg


def build_native(cfg: dict) -> NativeGenerator:
    """A native generator with deterministic initial weights (drawn from the config's init_seed)."""
    family = cfg.get("family", "native") if isinstance(cfg, dict) else None
    if family != "native":
        raise ModelLoadError(f"config family {str(family)[:40]!r} is not supported; expected 'native'")
    try:
        config = NativeConfig.from_dict(cfg)
    except (TypeError, ValueError) as e:
        raise ModelLoadError(f"bad model config: {str(e)[:200]}") from None

    def make() -> NativeGenerator:
        torch.manual_seed(config.init_seed)
        return NativeGenerator(config)

    where = f"model config {str(config.name)[:40]!r}"
    try:
        return build_bounded(make, where, tile_bytes=config.tile_bytes())
    except (TypeError, ValueError) as e:
        raise ModelLoadError(f"{where} cannot be built ({type(e).__name__}: {str(e)[:160]})") from None


def save_checkpoint(generator: NativeGenerator, path: str | Path, extra: dict | None = None,
                    half: bool = False) -> None:
    """Write a self-describing checkpoint (config + weights) atomically."""
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu()
             for k, v in generator.state_dict().items()}
    payload = {"format": CHECKPOINT_FORMAT, "config": generator.cfg.to_dict(), "G_ema": state,
               "extra": extra or {}}
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(payload, tmp)
        tmp.replace(path)
    except BaseException as e:
        remove(tmp)  # a full disk must not stay full of half a checkpoint
        if isinstance(e, OSError) or is_disk_full(e):
            raise write_error(e, path) from None
        raise


def _load_checkpoint(path: Path) -> tuple[NativeGenerator, dict]:
    """The generator and the checkpoint's ``extra`` record (kimg, training frames, command, ...)."""
    head = path.read_bytes()[:8] if path.stat().st_size else b""
    if not head:
        raise ModelLoadError(f"{path} is empty: pass a checkpoint written by infiniscape")
    if head.startswith(b"\x80") and not zipfile.is_zipfile(path):
        raise ModelLoadError(f"{path} is a Python pickle (StyleGAN/ALIS network pickle?): "
                             "this version loads only infiniscape checkpoints and configs")
    if not zipfile.is_zipfile(path):
        raise ModelLoadError(f"{path} is not a model checkpoint (unknown file type): "
                             "pass a config name, a .yaml config or an infiniscape checkpoint")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch reports corrupt or foreign zips in many ways
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(f"{path} could not be read as a checkpoint ({msg[:160]})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ModelLoadError(f"{path} is a PyTorch file but not an infiniscape checkpoint "
                             f"(no '{CHECKPOINT_FORMAT}' format tag)")
    if not isinstance(payload.get("G_ema"), dict):
        raise ModelLoadError(f"{path}: its 'G_ema' is not a state dict of tensors; the checkpoint is damaged")
    check_storage(payload["G_ema"], str(path))
    gen = build_native(payload["config"])
    state = {k: v.float() if v.is_floating_point() else v for k, v in payload["G_ema"].items()}
    ours = gen.state_dict()
    # checkpoints from before the level-of-detail heads: those start as zero residuals (the coarse
    # levels are then the skip sums so far)
    missing = [k for k in ours if k not in state and not k.startswith("synthesis.level_torgbs.")]
    unexpected = [k for k in state if k not in ours]
    if missing or unexpected:
        what = f"missing {missing[0]!r}" if missing else f"unexpected {str(unexpected[0])[:80]!r}"
        raise ModelLoadError(f"{path} does not match its config ({what}; {len(missing)} missing, "
                             f"{len(unexpected)} unexpected tensors)")
    wrong = next((k for k in state if tuple(state[k].shape) != tuple(ours[k].shape)), None)
    if wrong is not None:
        raise ModelLoadError(f"{path}: tensor {wrong!r} has shape {tuple(state[wrong].shape)}, its config "
                             f"expects {tuple(ours[wrong].shape)}; the checkpoint is damaged")
    gen.load_state_dict(state, strict=False)
    extra = payload.get("extra")
    return gen, extra if isinstance(extra, dict) else {}


def builtin_weights(name: str) -> Path | None:
    """Trained weights shipped for a built-in name (configs/NAME.pt), if any."""
    res = importlib.resources.files("infiniscape.configs") / f"{name}.pt"
    return Path(str(res)) if "/" not in name and res.is_file() else None


def load_pickle_model(path: str | Path, device: str | torch.device = "cpu") -> InfiniteGenerator:
    """A network pickle as a World model, by family: StyleGAN3 canvas, StyleGAN2 / INR-GAN seed grid,
    ALIS chain."""
    from .alis.model import AlisChain
    from .pickles.loader import load_official
    from .stylegan.model import StyleGAN2SeedGrid, StyleGAN3Canvas

    net = load_official(path)
    cls = {"alis": AlisChain, "stylegan3": StyleGAN3Canvas}.get(net.family, StyleGAN2SeedGrid)
    return record_capabilities(cls(net, device=device))


def load_model(name_or_path: str | Path, device: str = "cpu") -> InfiniteGenerator:
    """Load a model by built-in name (shipped weights, else the config's untrained weights), YAML
    config path or checkpoint path; its optional interfaces are recorded in its capabilities."""
    return record_capabilities(_load_model(name_or_path, device))


def _load_model(name_or_path: str | Path, device: str) -> InfiniteGenerator:
    s = str(name_or_path)
    path = Path(s)
    weights = None if path.exists() else builtin_weights(s)
    if weights is not None:
        gen, extra = _load_checkpoint(weights)
        return NativeModel(gen, device=device, source=s, trained=extra)
    if path.suffix in (".yaml", ".yml") or not path.exists():
        if not path.exists() and (path.suffix or "/" in s):
            raise ModelLoadError(f"model file {s} does not exist")
        return NativeModel(build_native(load_config(s)), device=device, source=s)
    if path.is_dir():
        raise ModelLoadError(f"{s} is a directory: pass a checkpoint file inside it")
    if path.suffix == ".pkl":  # StyleGAN2-ADA / StyleGAN3 network pickle, read as data (never run)
        return load_pickle_model(path, device=device)
    if path.name.endswith((".pth.tar", ".pth")):  # InfinityGAN training checkpoint (torch.save dict)
        from .infinitygan.model import load_infinitygan

        return load_infinitygan(path, device=device)
    try:
        gen, extra = _load_checkpoint(path)
    except OSError as e:
        raise ModelLoadError(f"cannot read {s}: {e.strerror or e}") from None
    return NativeModel(gen, device=device, source=s, trained=extra)
