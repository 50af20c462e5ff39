"""InfinityGAN training checkpoints (`.pth.tar`) read as data, and the model config they need.

A checkpoint is a `torch.save` dict whose "g_ema" state dict fixes the architecture (widths, layer
counts, patch size); the config adds what tensors cannot tell: the coordinate system. It comes from the
first of: a YAML next to the checkpoint (`best_fid.yaml` beside `best_fid.pth.tar`), the YAML that the
official train.py copies into `logs/<exp>/<exp>.yaml`, a shipped preset named like the experiment folder,
a preset chosen from the checkpoint's shape. A config that disagrees with the tensors is refused.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from ..budget import build_bounded, check_storage
from ..errors import ModelLoadError
from .generator import PATCH_SIZES, Architecture, InfinityGANGenerator

# The generator part of the released model configs (configs/model/*.yaml of hubert0527/infinityGAN).
# The HR README row says patch 197 where its yaml says 389: the checkpoint's tensors decide.
RELEASED = dict(global_latent_dim=512, local_latent_dim=256, n_mlp=8, channel_multiplier=2, ss_n_layers=4,
                ss_unfold_radius=3, ss_coord_all_layers=True, coord_num_dir=3, ts_input_size=11,
                coord_vert_sample_size=10, coord_hori_occupy_ratio=0.25, coord_vert_cut_pt=3)
PRESETS: dict[str, dict] = {
    "InfinityGAN": dict(RELEASED, patch_size=101),  # Flickr-Landscape (large)
    "InfinityGAN-HR": dict(RELEASED, patch_size=389),
    "InfinityGAN-UR": dict(RELEASED, patch_size=773),
    "InfinityGAN-IOF": dict(RELEASED, patch_size=101),  # In&Out Flickr-Scenery
    "InfinityGAN-IOP": dict(RELEASED, patch_size=101),  # In&Out Places2-Scenery subset
    "InfinityGAN_maps": dict(RELEASED, patch_size=101, coord_num_dir=4),  # torus coordinates
}
ARCH_KEYS = ("patch_size", "global_latent_dim", "local_latent_dim", "n_mlp", "ss_n_layers",
             "ss_unfold_radius", "ss_coord_all_layers", "coord_num_dir")
# Official switches our generator implements only one way (the way every released model was trained).
FIXED = {"use_ss": True, "ts_no_zero_pad": True, "ss_disable_noise": True, "styleGAN2_baseline": False,
         "ss_mapping": False, "training_modality": "patch"}
SUPPORTED_COORDS = (3, 4)


@dataclass(frozen=True)
class InfinityGANConfig:
    name: str
    arch: Architecture
    ts_input_size: int = 11  # structure latent cells per patch side
    coord_vert_sample_size: int = 10  # V of the paper: vertical positions seen in training
    coord_hori_occupy_ratio: float = 0.25  # a patch's share of the horizontal period
    coord_vert_cut_pt: float = 3.0  # vertical coordinate at the training grid's edge, before tanh
    style_spacing: int = 0  # ours: world px between style lattice anchors (0: 16 tiles)
    source: str = ""  # where this config came from

    @property
    def margin(self) -> int:
        """Local latent cells the structure synthesizer consumes per side."""
        return self.arch.ss_n_layers * self.arch.ss_unfold_radius

    @property
    def horizontal_period(self) -> int:
        """Local latent cells per turn of the periodic coordinates (139 for the released models)."""
        return int(round((self.ts_input_size + 2 * self.margin) / self.coord_hori_occupy_ratio)) - 1

    @property
    def vertical_step(self) -> float:
        """Vertical coordinate (before tanh) per local latent cell (0.3 for the released models)."""
        return 2.0 * self.coord_vert_cut_pt / (self.ts_input_size + self.coord_vert_sample_size - 1)


def coordinate_grid(cfg: InfinityGANConfig, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Coordinates of local latent cells (world cell indices) -> float32 [C, len(rows), len(cols)].

    Row 0 is the horizon (vertical coordinate 0) wherever the canvas is; the official test code instead
    puts it at the middle row of each canvas. Horizontal (and, for coord_num_dir 4, vertical) positions
    are periodic: cos/sin of pi * (2 (j mod P) / P - 1), P the horizontal period."""
    p = cfg.horizontal_period

    def periodic(idx: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.mod(np.asarray(idx, np.int64), p)).float() / p
        return (t * 2 - 1) * np.pi

    r, c = len(rows), len(cols)
    yc = periodic(cols)[None, :].expand(r, c)
    if cfg.arch.coord_num_dir == 3:
        x = torch.tanh(torch.from_numpy(np.asarray(rows, np.float64)).float() * np.float32(cfg.vertical_step))
        out = [x[:, None].expand(r, c), torch.cos(yc), torch.sin(yc)]
    else:  # the official torus applies cos where sin is expected in the last channel; trained so, kept so
        xr = periodic(rows)[:, None].expand(r, c)
        out = [torch.cos(xr), torch.sin(xr), torch.cos(yc), torch.cos(yc)]
    return torch.stack(out).numpy()


# -- checkpoint --------------------------------------------------------------------------------------------
def _numpy_scalar_globals() -> list:
    """What unpickling numpy numbers (the "best_fid" entry) needs, under numpy 1 and numpy 2 names."""
    core = getattr(np, "_core", None) or np.core
    scalar = core.multiarray.scalar
    dtypes = {type(np.dtype(t)) for t in (np.float64, np.float32, np.int64, np.int32)}
    return [scalar, (scalar, "numpy.core.multiarray.scalar"), np.dtype, *dtypes]


def read_g_ema(path: Path) -> dict[str, torch.Tensor]:
    """The "g_ema" state dict of a training checkpoint, loaded as tensors and numbers only."""
    try:
        with path.open("rb") as f:
            head = f.read(2)
    except OSError as e:
        raise ModelLoadError(f"cannot read {path}: {e.strerror or e}") from None
    if not head.startswith((b"PK", b"\x80")):  # torch.save writes a zip (or, before 1.6, a pickle)
        raise ModelLoadError(f"{path} is not a PyTorch checkpoint: pass an InfinityGAN training checkpoint "
                             "such as logs/InfinityGAN/ckpt/best_fid.pth.tar")
    try:
        with torch.serialization.safe_globals(_numpy_scalar_globals()):
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "weights only" not in str(e).lower():
            raise ModelLoadError(f"{path} could not be read as a PyTorch checkpoint (bad pickle)") from None
        found = re.search(r"GLOBAL ([\w.]+)", str(e))
        what = f" ({found.group(1)})" if found else ""
        raise ModelLoadError(f"{path} stores Python objects beyond tensors and numbers{what}: re-save its "
                             "g_ema with torch.save({'g_ema': ckpt['g_ema']}, path)") from None
    except Exception as e:  # corrupt zips, truncated files, foreign formats
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(f"{path} could not be read as a PyTorch checkpoint ({msg[:160]})") from None
    if not isinstance(payload, dict):
        raise ModelLoadError(f"{path} holds a {type(payload).__name__}, not an InfinityGAN checkpoint dict")
    if "g_ema" in payload:
        state = payload["g_ema"]
    elif any(str(k).startswith(("texture_synthesizer.", "module.texture_synthesizer.")) for k in payload):
        state = payload  # a bare generator state dict
    else:
        held = ", ".join(map(str, list(payload)[:8])) or "nothing"
        hint = " (an infiniscape checkpoint? name it .pt)" if "format" in payload else ""
        raise ModelLoadError(f"{path} has no 'g_ema' generator (it holds: {held}){hint}: pass an InfinityGAN "
                             "training checkpoint such as logs/InfinityGAN/ckpt/best_fid.pth.tar")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadError(f"{path}: 'g_ema' is not a state dict of tensors")
    check_storage(state, str(path))
    # unwrapped like the official test.py does: DataParallel prefixes and its temporary entries dropped
    return {k.removeprefix("module."): v for k, v in state.items() if "tmp_var" not in k}


def _count(state: dict, prefix: str, suffix: str, first: int = 0) -> int:
    """How many consecutive modules prefix.{i}.suffix exist from i = first."""
    n = 0
    while f"{prefix}.{first + n}.{suffix}" in state:
        n += 1
    return n


def infer_architecture(state: dict[str, torch.Tensor], where: str) -> Architecture:
    """Read the architecture from the tensor shapes; one line naming the first tensor that is missing."""
    ss, ts = "structure_synthesizer.implicit_model.conv_stack", "texture_synthesizer"
    for key in (f"{ts}.mapping.1.weight", f"{ts}.const_z.input", f"{ss}.0.conv.conv.weight",
                f"{ts}.convs.0.conv.weight"):
        if key not in state:
            raise ModelLoadError(f"{where} is not an InfinityGAN generator: it lacks tensor {key!r}")
    local = int(state[f"{ts}.const_z.input"].shape[1])
    ss_n, n_convs = _count(state, ss, "conv.conv.weight"), _count(state, f"{ts}.convs", "conv.weight")
    k = int(state[f"{ss}.0.conv.conv.weight"].shape[-1])
    pairs = n_convs // 2
    if n_convs % 2 or pairs not in PATCH_SIZES:
        raise ModelLoadError(f"{where} has {n_convs} texture convs: the official architectures have "
                             f"{', '.join(str(2 * p) for p in PATCH_SIZES)} (patch sizes "
                             f"{', '.join(map(str, PATCH_SIZES.values()))})")
    return Architecture(
        global_latent_dim=int(state[f"{ts}.mapping.1.weight"].shape[1]), local_latent_dim=local,
        n_mlp=_count(state, f"{ts}.mapping", "weight", first=1),  # index 0 is the parameter-free pixel norm
        ss_n_layers=ss_n, ss_unfold_radius=k // 2,
        ss_coord_all_layers=ss_n > 1 and int(state[f"{ss}.1.conv.conv.weight"].shape[2]) > local,
        coord_num_dir=int(state[f"{ss}.0.conv.conv.weight"].shape[2]) - local,
        ts_widths=tuple(int(state[f"{ts}.convs.{2 * i}.conv.weight"].shape[1]) for i in range(pairs)))



def build_generator(cfg: InfinityGANConfig, state: dict[str, torch.Tensor],
                    where: str) -> InfinityGANGenerator:
    """Our generator for `cfg` with the checkpoint's tensors copied by name; anything differing is refused."""
    gen = build_bounded(lambda: InfinityGANGenerator(cfg.arch), where)
    ours = gen.state_dict()
    missing = [k for k in ours if k not in state]
    extra = [k for k in state if k not in ours]
    kind = f"an InfinityGAN with {cfg.arch.patch_size}-px patches"
    if missing or extra:
        what = f"lacks tensor {missing[0]!r}" if missing else f"has an unexpected tensor {extra[0]!r}"
        raise ModelLoadError(f"{where} {what} for {kind} ({len(missing)} missing, {len(extra)} unexpected): "
                             "an incomplete checkpoint or a modified architecture")
    for name, target in ours.items():
        if tuple(state[name].shape) != tuple(target.shape):
            raise ModelLoadError(f"{where}: tensor {name!r} has shape {tuple(state[name].shape)}, {kind} "
                                 f"built from its other tensors needs {tuple(target.shape)}")
        with torch.no_grad():
            target.copy_(state[name].float())
    return gen.eval().requires_grad_(False)


# -- config ------------------------------------------------------------------------------------------------
def read_config_file(path: Path) -> dict:
    """Generator keys of an official model YAML (its train_params) or of a flat YAML of the same keys."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ModelLoadError(f"config {path} cannot be read: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ModelLoadError(f"config {path} is not a mapping of keys to values")
    params = data.get("train_params", data)
    if not isinstance(params, dict):
        raise ModelLoadError(f"config {path}: train_params is not a mapping")
    return params


def config_from_values(values: dict, name: str, source: str, arch: Architecture,
                       where: str) -> InfinityGANConfig:
    """A config from official keys (`source`: a yaml path or "preset X"), checked against the
    architecture of the checkpoint `where`."""
    for key, want in FIXED.items():
        if key in values and values[key] != want:
            raise ModelLoadError(f"{source} sets {key}: {values[key]!r}; only {want!r} is supported (as in "
                                 "every released InfinityGAN)")
    if values.get("ts_input_size", 11) != 11:
        raise ModelLoadError(f"{source}: ts_input_size {values['ts_input_size']} is not supported (the "
                             "official architectures are defined for 11)")
    have = {"patch_size": arch.patch_size, **{k: getattr(arch, k) for k in ARCH_KEYS[1:]}}
    for key in ARCH_KEYS:
        if key in values and values[key] != have[key]:
            raise ModelLoadError(f"config mismatch: {source} says {key} {values[key]}, but the tensors of "
                                 f"{where} have {have[key]}: use the yaml the model was trained with")
    if arch.coord_num_dir not in SUPPORTED_COORDS:
        raise ModelLoadError(f"{where}: coord_num_dir {arch.coord_num_dir} is not supported (the released "
                             "models use 3, the maps model 4)")
    try:
        cfg = InfinityGANConfig(
            name=name, arch=arch, source=source,
            coord_vert_sample_size=int(values.get("coord_vert_sample_size", 10)),
            coord_hori_occupy_ratio=float(values.get("coord_hori_occupy_ratio", 0.25)),
            coord_vert_cut_pt=float(values.get("coord_vert_cut_pt", 3)),
            style_spacing=int(values.get("style_spacing", 0)))
    except (TypeError, ValueError) as e:
        raise ModelLoadError(f"{source} has a bad value: {e}") from None
    if cfg.style_spacing < 0 or cfg.coord_hori_occupy_ratio <= 0 or cfg.horizontal_period < 1:
        raise ModelLoadError(f"{source}: style_spacing must be >= 0 and coord_hori_occupy_ratio > 0")
    return cfg


def preset_for(arch: Architecture, folder: str | None) -> str:
    """The preset named like the experiment folder (case-insensitive) if its coordinates fit the tensors,
    else one chosen by the tensors (torus coordinates, patch size)."""
    for name, values in PRESETS.items():
        if folder and name.lower() == folder.lower() and values["coord_num_dir"] == arch.coord_num_dir:
            return name
    if arch.coord_num_dir == 4:
        return "InfinityGAN_maps"
    by_size = {101: "InfinityGAN", 389: "InfinityGAN-HR", 773: "InfinityGAN-UR"}
    return by_size.get(arch.patch_size, "InfinityGAN")


def checkpoint_stem(path: Path) -> str:
    name = path.name
    for suffix in (".pth.tar", ".pth", ".tar"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def config_files(path: Path) -> list[Path]:
    """Where a checkpoint's YAML may sit: beside it, or where train.py copies it (logs/<exp>/<exp>.yaml)."""
    cands = [path.with_name(checkpoint_stem(path) + ".yaml"), path.with_name(checkpoint_stem(path) + ".yml")]
    if path.parent.name == "ckpt":
        exp = path.parent.parent
        cands += [exp / f"{exp.name}.yaml", exp / f"{exp.name}.yml"]
    return cands


def resolve_config(path: Path, state: dict[str, torch.Tensor]) -> InfinityGANConfig:
    arch = infer_architecture(state, str(path))
    for cand in config_files(path):
        if cand.is_file():
            values = read_config_file(cand)
            return config_from_values(values, str(values.get("name", cand.stem)), str(cand), arch, str(path))
    folder = path.parent.parent.name if path.parent.name == "ckpt" else None
    name = preset_for(arch, folder)
    # a preset supplies the coordinate system; the tensors decide the architecture
    values = {k: v for k, v in PRESETS[name].items() if k not in ARCH_KEYS}
    return config_from_values(values, name, f"preset {name}", arch, str(path))
