"""InfinityGAN on the model contract: world-anchored lattices, exact footprints, parallel-batched patches.

- Local latents: one 16-px cell each (for 101-px patches), drawn from the scene's hashed lattice; noise:
  one lattice per texture layer at that layer's pixel pitch. Nothing canvas-sized is ever sampled.
- Tile (ix, iy) is the first 96x96 pixels of the official patch whose 35x35 local latent window starts at
  cell (6 ix - 14, 6 iy - 14): tiles are the official patch grid. Any other window renders the same
  pixels (padding-free), so a one-shot render of a region equals its tiles.
- Coordinates are anchored to world row 0 (the horizon), not re-centred on a canvas.
- The global style comes from a StyleMap (the style lattice by default, style fusion with anchors): the
  weights at every layer's input pixels drive InfinityGAN's spatially-shaped styles.
- Parallel batching: same-shaped windows render together, `parallel_batch` per forward pass: by default one
  on the CPU (models/batching.py) and 16 patches on a GPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..batching import per_pass, render_in_passes
from ..contract import (
    NOISE_MODES,
    Capabilities,
    CellRange,
    FieldSpec,
    InfiniteGenerator,
    LatentSource,
    RenderSettings,
    Tile,
)
from ..errors import UserError
from ..geometry import Grid
from ..styles import LatticeStyleMap, codes_with_fitted_lattice, given_or_own, lattice_anchor_cells
from .config import (
    InfinityGANConfig,
    build_generator,
    coordinate_grid,
    read_g_ema,
    resolve_config,
)
from .generator import InfinityGANGenerator
from .geometry import PatchGeometry

W_AVG_SAMPLES = 10_000  # truncation centre: mean w of this many seeded z (as the official inversion's start)


class InfinityGANCanvas(InfiniteGenerator):
    """An InfinityGAN generator as an endless 2D canvas with exact seams."""

    family = "infinitygan"

    def __init__(self, generator: InfinityGANGenerator, config: InfinityGANConfig,
                 device: str | torch.device = "cpu", source: str = "", parallel_batch: int | None = None):
        self.generator = generator.eval().requires_grad_(False).to(device)
        self.cfg, self.arch = config, config.arch
        self.device = torch.device(device)
        self.source = source or config.name
        if parallel_batch is None:
            parallel_batch = per_pass(self.device, gpu=16)
        self.parallel_batch = max(1, int(parallel_batch))  # patches per forward pass
        geo = self.geometry = PatchGeometry(self.arch, config.ts_input_size)
        self.tile_size = geo.tile
        spacing = config.style_spacing or 16 * geo.tile
        fields = [FieldSpec("style", spacing, self.arch.global_latent_dim, "style", kind="point"),
                  FieldSpec("local", geo.unit, self.arch.local_latent_dim, "local")]
        fields += [FieldSpec(f"noise{i}", g.scale, 1, "noise")
                   for i, g in enumerate(geo.conv_outputs)]
        self.fields = {f.name: f for f in fields}
        self.capabilities = Capabilities(infinite_x=True, infinite_y=True, seams="exact",
                                         input_transform=False, noise=True, layer_capture=True,
                                         style_fusion=True, inversion=True)
        self._lattice_styles = LatticeStyleMap()
        self._w_avg: torch.Tensor | None = None

    def describe(self) -> dict:
        d = super().describe()
        a, geo = self.arch, self.geometry
        d.update(config=f"{self.cfg.name} ({self.cfg.source})", source=self.source, device=str(self.device),
                 parameters=sum(p.numel() for p in self.generator.parameters()),
                 patch=f"{a.patch_size} px from {self.cfg.ts_input_size}x{self.cfg.ts_input_size} structure "
                       f"cells; local latent cell {geo.unit} px, {geo.margin} cells of margin per side",
                 coordinates=("cylinder: horizon at world y = 0, horizontal period "
                              f"{self.cfg.horizontal_period * geo.unit} px") if a.coord_num_dir == 3 else
                             f"torus: period {self.cfg.horizontal_period * geo.unit} px on both axes")
        return d

    # -- geometry -----------------------------------------------------------------------------------------
    def _windows(self, x: int, y: int, width: int, height: int):
        if width <= 0 or height <= 0:
            raise ValueError(f"window size must be positive, got {width}x{height}")
        return self.geometry.window(x, width), self.geometry.window(y, height)

    def _cells(self, g: Grid, wx, wy, rx=None, ry=None) -> CellRange:
        """Cells of grid g's lattice for a window (all of its pixels, or index ranges rx, ry)."""
        geo = self.geometry
        (cx, sx, _), (cy, sy, _) = wx, wy
        rx, ry = rx or (0, geo.pixels(g, sx)), ry or (0, geo.pixels(g, sy))
        x0, y0 = geo.cell_start(g, cx), geo.cell_start(g, cy)
        return CellRange(x0 + rx[0], y0 + ry[0], x0 + rx[1], y0 + ry[1])

    def _style_grids(self) -> dict[str, list[Grid]]:
        geo = self.geometry
        return {"ss": geo.ss_inputs, "conv": geo.conv_inputs, "rgb": geo.rgb}

    def _style_box(self, wx, wy, need_x=None, need_y=None) -> tuple[float, float, float, float]:
        """World box of the pixel centres whose style the window reads (or only the needed ones)."""
        geo, boxes = self.geometry, []
        grids = self._style_grids()
        for kind, gs in grids.items():
            for i, g in enumerate(gs):
                xs, ys = geo.centres(g, wx[0], wx[1]), geo.centres(g, wy[0], wy[1])
                if need_x is not None:
                    (ax, bx), (ay, by) = need_x[kind][i], need_y[kind][i]
                    xs, ys = xs[ax:bx], ys[ay:by]
                boxes.append((xs[0], ys[0], xs[-1], ys[-1]))
        b = np.array(boxes)
        return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())

    def _needed(self, n0: int, width: int) -> dict:
        """geometry.needed plus, under "style", the needed pixels of every layer input that reads a style
        (per-pixel styles modulate a layer's input: texture conv i reads conv i - 1's output)."""
        need = self.geometry.needed(n0, width)
        conv = [need["structure"]] + need["conv"][:-1]
        return {**need, "style": {"ss": need["ss"], "conv": conv, "rgb": need["rgb"]}}

    def footprint(self, tile: Tile) -> dict[str, CellRange]:
        return self.window_footprint(*tile.rect(self.tile_size))

    def style_footprint(self, tile: Tile) -> tuple[float, float, float, float]:
        wx, wy = self._windows(*tile.rect(self.tile_size))
        nx, ny = self._needed(wx[2], self.tile_size), self._needed(wy[2], self.tile_size)
        return self._style_box(wx, wy, nx["style"], ny["style"])

    def window_footprint(self, x: int, y: int, width: int, height: int) -> dict[str, CellRange]:
        """Cells of every field the window's pixels depend on: change one outside it and not a bit of the
        window changes."""
        wx, wy = self._windows(x, y, width, height)
        nx, ny = self._needed(wx[2], width), self._needed(wy[2], height)
        geo = self.geometry
        box = self._style_box(wx, wy, nx["style"], ny["style"])
        out = {"style": lattice_anchor_cells(self.fields["style"], *box),
               "local": self._cells(geo.z_local, wx, wy, nx["z_local"], ny["z_local"])}
        for i, g in enumerate(geo.conv_outputs):
            out[f"noise{i}"] = self._cells(g, wx, wy, nx["conv"][i], ny["conv"][i])
        return out

    # -- rendering ----------------------------------------------------------------------------------------
    def render(self, tiles: list[Tile], latents: LatentSource,
               settings: RenderSettings | None = None) -> torch.Tensor:
        t = self.tile_size
        return self.render_windows([(tile.ix * t, tile.iy * t) for tile in tiles], t, t, latents, settings)

    @torch.no_grad()
    def render_windows(self, origins: list[tuple[int, int]], width: int, height: int,
                       latents: LatentSource, settings: RenderSettings | None = None,
                       clamp: bool = True) -> torch.Tensor:
        """Windows with top-left world pixels `origins`: float32 [N, 3, height, width] (clamped to [-1, 1])
        on the CPU. Windows of the same shape render together, `parallel_batch` per forward pass."""
        settings = settings or RenderSettings()
        if settings.noise_mode not in NOISE_MODES or settings.noise_mode == "random":
            raise UserError(f"noise mode {settings.noise_mode!r}: InfinityGAN supports "
                            f"{', '.join(m for m in NOISE_MODES if m != 'random')}")
        inputs = [self.window_inputs(x, y, width, height, latents, settings) for x, y in origins]

        def crop(img: torch.Tensor, inp: dict) -> torch.Tensor:
            ny, nx = inp["crop"]
            return img[:, ny:ny + height, nx:nx + width]

        # per-sample and per-pixel styles apart (different code paths)
        rgb = render_in_passes(inputs, lambda part: self.forward_inputs(part, settings.truncation), crop,
                               self.parallel_batch,
                               shape=lambda inp: (inp["z_local"].shape, inp["weights"]["ss"][0].shape[1:]))
        rgb = rgb.float().cpu()
        return rgb.clamp(-1.0, 1.0) if clamp else rgb

    def window_inputs(self, x: int, y: int, width: int, height: int, latents: LatentSource,
                      settings: RenderSettings) -> dict:
        """Everything the generator reads for one window, as numpy arrays."""
        geo, cfg = self.geometry, self.cfg
        wx, wy = self._windows(x, y, width, height)
        zc = self._cells(geo.z_local, wx, wy)
        z_local = latents.cells(self.fields["local"], zc)
        coords = coordinate_grid(cfg, np.arange(zc.y0, zc.y1), np.arange(zc.x0, zc.x1))
        style_map = settings.style_map or self._lattice_styles
        plan = style_map.plan(self._style_box(wx, wy), latents, self.fields["style"])
        weights = {kind: [plan.weights(geo.centres(g, *wx[:2]), geo.centres(g, *wy[:2])) for g in gs]
                   for kind, gs in self._style_grids().items()}
        need_x, need_y = self._needed(wx[2], width)["style"], self._needed(wy[2], height)["style"]
        plan_z = np.asarray(plan.z, np.float32)
        z, weights, kept = _compact_styles(plan_z, weights, need_x, need_y)
        noises = [latents.cells(self.fields[f"noise{i}"], self._cells(g, wx, wy))
                  if settings.noise_mode == "world" else None for i, g in enumerate(geo.conv_outputs)]
        return {"z_local": z_local, "coords": coords, "z": z, "weights": weights, "noises": noises,
                "crop": (wy[2], wx[2]), "plan_z": plan_z, "kept": kept}

    # -- inversion ----------------------------------------------------------------------------------------
    def window_cells(self, x: int, y: int, width: int, height: int) -> dict[str, CellRange]:
        """The cells window_inputs reads (the whole patch windows, margins included)."""
        wx, wy = self._windows(x, y, width, height)
        geo = self.geometry
        out = {"local": self._cells(geo.z_local, wx, wy),
               "style": lattice_anchor_cells(self.fields["style"], *self._style_box(wx, wy))}
        for i, g in enumerate(geo.conv_outputs):
            out[f"noise{i}"] = self._cells(g, wx, wy)
        return out

    def render_window_from(self, x: int, y: int, width: int, height: int, latents: LatentSource,
                           settings: RenderSettings, values: dict[str, torch.Tensor]) -> torch.Tensor:
        inp = self.window_inputs(x, y, width, height, latents, settings)
        dev = self.device
        # the plan's codes with the fitted lattice, then the ones the window keeps (_compact_styles)
        z = codes_with_fitted_lattice(inp["plan_z"], values, dev)[torch.from_numpy(inp["kept"]).to(dev)]
        weights = {kind: [torch.from_numpy(np.ascontiguousarray(w)).to(dev)[None] for w in ws]
                   for kind, ws in inp["weights"].items()}
        noises = [None if n is None else given_or_own(values, f"noise{i}", n, dev)[None]
                  for i, n in enumerate(inp["noises"])]
        w_avg = self.w_avg() if settings.truncation != 1 else None
        coords = torch.from_numpy(inp["coords"]).to(dev)[None]
        local = given_or_own(values, "local", inp["z_local"], dev)
        rgb = self.generator(local[None], coords, z[None], weights, noises,
                             truncation=settings.truncation, w_avg=w_avg)
        ny, nx = inp["crop"]
        return rgb[0, :, ny:ny + height, nx:nx + width].float()

    def forward_inputs(self, inputs: list[dict], truncation: float = 1.0) -> torch.Tensor:
        """One forward pass over same-shaped windows -> the generator's full outputs [B, 3, H, W]."""
        dev = self.device
        k = max(inp["z"].shape[0] for inp in inputs)

        def stack(arrays: list[np.ndarray]) -> torch.Tensor:
            return torch.from_numpy(np.stack(arrays)).to(dev)

        z = stack([_pad_k(inp["z"], k) for inp in inputs])
        weights = {}
        for kind, layers in inputs[0]["weights"].items():
            weights[kind] = []
            for i in range(len(layers)):
                ws = [_pad_k(inp["weights"][kind][i], k) for inp in inputs]
                shape = max((w.shape for w in ws), key=lambda s: s[1] * s[2])  # uniform ones broadcast
                weights[kind].append(stack([np.broadcast_to(w, shape) for w in ws]))
        noises = [None if inputs[0]["noises"][i] is None else stack([inp["noises"][i] for inp in inputs])
                  for i in range(len(inputs[0]["noises"]))]
        w_avg = self.w_avg() if truncation != 1 else None
        z_local, coords = stack([inp["z_local"] for inp in inputs]), stack([inp["coords"] for inp in inputs])
        return self.generator(z_local, coords, z, weights, noises, truncation=truncation, w_avg=w_avg)

    def w_avg(self) -> torch.Tensor:
        """Mean mapped style of seeded samples: the truncation centre (InfinityGAN itself never truncates)."""
        if self._w_avg is None:
            z = np.random.RandomState(0).standard_normal((W_AVG_SAMPLES, self.arch.global_latent_dim))
            with torch.no_grad():
                ws = self.generator.texture_synthesizer.mapping(torch.from_numpy(z).float().to(self.device))
            self._w_avg = ws.mean(0)
        return self._w_avg


def _pad_k(a: np.ndarray, k: int) -> np.ndarray:
    """Pad the code axis with zero codes / zero weights (they contribute nothing)."""
    return np.concatenate([a, np.zeros((k - a.shape[0],) + a.shape[1:], a.dtype)]) if a.shape[0] < k else a


def _compact_styles(z: np.ndarray, weights: dict[str, list[np.ndarray]], need_x: dict, need_y: dict):
    """Drop codes that no needed pixel uses; a style constant over the needed pixels becomes [K, 1, 1]
    weights (the official per-sample modulation, and far cheaper). Judged on needed pixels only, so what
    lies outside a window's footprint cannot change its inputs."""
    flat = np.concatenate([w[:, slice(*need_y[kind][i]), slice(*need_x[kind][i])].reshape(w.shape[0], -1)
                           for kind, ws in weights.items() for i, w in enumerate(ws)], axis=1)
    lo, hi = flat.min(1), flat.max(1)
    keep = hi > 0
    if not keep.any():
        raise UserError("the style map gives no weight to any code in this window")
    z, lo, hi = z[keep], lo[keep], hi[keep]
    kept = np.flatnonzero(keep)  # which of the plan's codes remain (inversion maps them back to cells)
    if np.array_equal(lo, hi):
        const = lo.astype(np.float32)[:, None, None]
        return z, {kind: [const] * len(ws) for kind, ws in weights.items()}, kept
    return z, {kind: [np.ascontiguousarray(w[keep]) for w in ws] for kind, ws in weights.items()}, kept


def load_infinitygan(path: str | Path, device: str | torch.device = "cpu") -> InfinityGANCanvas:
    """An InfinityGAN training checkpoint (`.pth.tar`) + its config as a canvas model."""
    path = Path(path)
    state = read_g_ema(path)
    cfg = resolve_config(path, state)
    gen = build_generator(cfg, state, str(path))
    return InfinityGANCanvas(gen, cfg, device=device, source=str(path))
