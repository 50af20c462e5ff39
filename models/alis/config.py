"""ALIS synthesis config: the `synthesis_cfg` a snapshot stores, resolved and checked.

ALIS's training script stores its Hydra `synthesis` section unresolved, so values such as
`${patchwise.grid_size}` are strings that refer to keys of that same section. They are resolved here
(plain `${a.b}` references only); anything outside the released ALIS configuration (FMM, multi-modal
inputs, instance norm, non-logarithmic coordinates, ...) is refused with one line naming the option.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REF = re.compile(r"^\$\{([A-Za-z0-9_.]+)\}$")


class AlisConfigError(ValueError):
    """The synthesis config uses an option this implementation does not reproduce."""


def resolve_references(cfg: dict) -> dict:
    """A copy of `cfg` with every whole-string `${a.b}` replaced by the value at a.b of `cfg`."""

    def lookup(path: str, seen: tuple[str, ...]):
        if path in seen:
            raise AlisConfigError(f"synthesis config reference ${{{path}}} refers to itself")
        node = cfg
        for key in path.split("."):
            if not isinstance(node, dict) or key not in node:
                raise AlisConfigError(f"synthesis_cfg lacks '{path}' (referenced as ${{{path}}})")
            node = node[key]
        return resolve(node, seen + (path,))

    def resolve(value, seen: tuple[str, ...] = ()):
        if isinstance(value, dict):
            return {k: resolve(v, seen) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v, seen) for v in value]
        if isinstance(value, str) and "${" in value:
            m = _REF.match(value)
            if not m:
                raise AlisConfigError(f"synthesis config value {value!r} is not a plain ${{key}} reference")
            return lookup(m.group(1), seen)
        return value

    return resolve(cfg)


@dataclass(frozen=True)
class CoordSpec:
    """Fixed wavefront coordinate features of one resolution (ModulatedCoordFuser)."""

    max_feats: int  # `dim`: cap on the number of basis vectors
    use_diagonal: bool  # add the two diagonal wavefront directions
    use_cosine: bool  # sin and cos (else sin only)


@dataclass(frozen=True)
class AlisConfig:
    grid_size: int  # patches per frame
    w_coord_dist: float  # anchor distance in coordinate units (a frame spans 2 units)
    w_lerp_multiplier: float  # scale of the interpolation coefficients (1 = plain lerp)
    min_resolution: int  # blocks at or below it run at this resolution without upsampling
    input_type: str  # 'grid' (GridInput) or 'const'
    input_resolution: int
    input_grid_size: int  # GridInput's own copies of the patch geometry
    input_w_coord_dist: float
    input_w_lerp_multiplier: float
    coords_enabled: bool  # wavefront coordinates concatenated before every conv0
    kernel_size: int  # conv kernel of every synthesis layer
    remove_lowest_freq: bool
    coords_grid_size: int  # the coordinate fuser's copies of the patch geometry
    coords_w_coord_dist: float
    coords: dict[int, CoordSpec]  # resolution -> features

    @classmethod
    def from_snapshot(cls, raw: dict) -> AlisConfig:
        """Resolve and check a snapshot's `synthesis_cfg`; AlisConfigError names what is not supported."""
        if not isinstance(raw, dict) or not raw:
            raise AlisConfigError("the Generator has no synthesis_cfg (not an ALIS network)")
        cfg = resolve_references(raw)

        def get(path: str, default=None, required: bool = True):
            node = cfg
            for key in path.split("."):
                if not isinstance(node, dict) or key not in node:
                    if required:
                        raise AlisConfigError(f"synthesis_cfg lacks '{path}'")
                    return default
                node = node[key]
            return node

        def refuse(path: str, value, why: str):
            if get(path, value, required=False) != value:
                raise AlisConfigError(f"synthesis_cfg.{path} = {get(path, required=False)!r}: {why}")

        refuse("patchwise.enabled", True, "only patch-wise ALIS generators are supported")
        refuse("style.is_spatial", True, "only spatial (SA-AdaIN) styles are supported")
        refuse("style.fallback_to_mean", False, "mean-style fallback is not supported")
        refuse("patchwise.instance_norm", False, "patch-wise instance norm is not supported")
        refuse("force_zero_padding", False, "convolutions without padding are not supported")
        refuse("upsampling_mode", None, "only the FIR (conv2d_resample) upsampling is supported")
        refuse("fmm.enabled", False, "FMM layers are not supported")
        refuse("num_modes", 1, "multi-modal inputs are not supported")
        input_type = get("input.type")
        if input_type not in ("grid", "const"):
            raise AlisConfigError(f"synthesis_cfg.input.type = {input_type!r}: only 'grid' and 'const' "
                                  "inputs are supported")
        coords_enabled = bool(get("coords.enabled"))
        coords: dict[int, CoordSpec] = {}
        if coords_enabled:
            refuse("coords.logarithmic", True, "only logarithmic (fixed wavefront) coordinates are supported")
            for opt in ("fallback", "no_fourier_fallback", "use_cips_embs", "growth_schedule.enabled"):
                refuse(f"coords.{opt}", False, "this coordinate option is not supported")
            for res, spec in (get("coords.channels_dict") or {}).items():
                coords[int(res)] = CoordSpec(int(spec["dim"]), bool(spec["use_diagonal"]),
                                             bool(spec["use_cosine"]))
        kwargs = get("input.kwargs", {}, required=False) or {}
        grid_size = int(get("patchwise.grid_size"))
        w_coord_dist = float(get("patchwise.w_coord_dist"))
        mult = float(get("patchwise.w_lerp_multiplier", 1.0, required=False))
        return cls(
            grid_size=grid_size, w_coord_dist=w_coord_dist, w_lerp_multiplier=mult,
            min_resolution=int(get("min_resolution")),
            input_type=input_type, input_resolution=int(get("input.resolution")),
            input_grid_size=int(kwargs.get("grid_size", grid_size)),
            input_w_coord_dist=float(kwargs.get("w_coord_dist", w_coord_dist)),
            input_w_lerp_multiplier=float(kwargs.get("w_lerp_multiplier", mult)),
            coords_enabled=coords_enabled,
            kernel_size=int(get("coords.kernel_size")) if coords_enabled else 3,
            remove_lowest_freq=bool(get("coords.remove_lowest_freq", False, required=False)),
            coords_grid_size=int(get("coords.grid_size", grid_size, required=False)),
            coords_w_coord_dist=float(get("coords.w_coord_dist", w_coord_dist, required=False)),
            coords=coords)
