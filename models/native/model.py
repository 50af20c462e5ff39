"""The native generator on the model contract: footprints, lattice fields, batched tile renders."""

from __future__ import annotations

import math

import numpy as np
import torch

from ..batching import per_pass, render_in_passes
from ..contract import (
    Capabilities,
    CellRange,
    FieldSpec,
    InfiniteGenerator,
    LatentSource,
    RenderSettings,
    Tile,
)
from ..geometry import Grid
from ..styles import LatticeStyleMap, StylePlan, codes_with_fitted_lattice, given_or_own, lattice_anchor_cells
from .config import NativeConfig
from .generator import NativeGenerator
from .layers import coordinate_features


class NativeModel(InfiniteGenerator):
    """Padding-free, 2D-infinite generator with exact seams."""

    family = "native"

    def __init__(self, generator: NativeGenerator, device: str | torch.device = "cpu", source: str = "",
                 frozen: bool = True, trained: dict | None = None):
        # frozen=False leaves a generator that is being trained as it is: training reuses
        # window_inputs / stack_window_inputs to feed it exactly what rendering feeds it.
        self.generator = (generator.eval().requires_grad_(False) if frozen else generator).to(device)
        self.cfg: NativeConfig = generator.cfg
        self.device = torch.device(device)
        self.source = source or self.cfg.name
        self.tile_size = self.cfg.tile_size
        self.plans = generator.synthesis.plans  # one per level of detail
        self.plan = self.plans[0]
        self.levels = len(self.plans)
        self.window_align = self.cfg.base_scale
        cfg = self.cfg
        fields = [FieldSpec("style", cfg.style_spacing, cfg.z_dim, "style", kind="point",
                            octaves=cfg.style_octaves),
                  FieldSpec("local", cfg.base_scale, cfg.local_channels, "local")]
        if cfg.noise:
            fields += [FieldSpec(f"noise{i}", g.scale, 1, "noise")
                       for i, g in enumerate(self.plan.conv_noise)]
        self.fields = {f.name: f for f in fields}
        self.capabilities = Capabilities(infinite_x=True, infinite_y=True, seams="exact",
                                         input_transform=False, noise=cfg.noise, inversion=True)
        self._lattice_styles = LatticeStyleMap()
        self.trained = trained or {}  # the checkpoint's record: kimg, frames, command
        self.opening_view = self._opening_view()

    def _opening_view(self) -> tuple[float, float, float]:
        """Landscapes open on their horizon, enlarged to the scale they were trained at: a model of
        landscapes laid out for S px-tall frames at 256 / S (rounded to a power of two), the view's
        centre a little above the horizon (more sky than ground, as the frames had)."""
        scene = self.trained.get("scene_height") or self.trained.get("frame")
        if self.cfg.vertical != "saturating" or not scene:
            return (1.0, 0.0, 0.0)
        zoom = 2.0 ** min(3, max(-3, round(math.log2(256 / scene))))
        return (zoom, 0.0, -0.15 * scene)

    def describe(self) -> dict:
        d = super().describe()
        d["parameters"] = sum(p.numel() for p in self.generator.parameters())
        d["margin"] = f"{self.plan.margin * self.cfg.base_scale} px per side (padding-free)"
        d["stages"] = " -> ".join(f"{s.channels}x{s.convs}" for s in self.cfg.stages)
        d["device"] = str(self.device)
        d["source"] = self.source
        return d

    # -- geometry -------------------------------------------------------------------------------
    def _check_window(self, x: int, y: int, width: int, height: int) -> None:
        b = self.cfg.base_scale
        if x % b or y % b or width % b or height % b or width <= 0 or height <= 0:
            raise ValueError(f"window ({x}, {y}, {width}, {height}) is not aligned to {b} px")

    def _cells(self, grid: Grid, x: int, y: int, width: int, height: int) -> CellRange:
        x0, y0 = grid.start(x), grid.start(y)
        return CellRange(x0, y0, x0 + grid.size(width), y0 + grid.size(height))

    def _style_box(self, x: int, y: int, width: int, height: int,
                   grids: tuple[Grid, ...] | None = None) -> tuple[float, float, float, float]:
        """World box of the pixel centres of every modulated layer (default: computed grids)."""
        grids = grids or self.plan.conv_styles + self.plan.rgb_styles
        xs = [g.span(x, width) for g in grids]
        ys = [g.span(y, height) for g in grids]
        return (min(a for a, _ in xs), min(a for a, _ in ys), max(b for _, b in xs), max(b for _, b in ys))

    def footprint(self, tile: Tile) -> dict[str, CellRange]:
        return self.window_footprint(*tile.rect(self.tile_size), level=tile.level)

    def style_footprint(self, tile: Tile) -> tuple[float, float, float, float]:
        return self._style_box(*tile.rect(self.tile_size), self.plans[tile.level].needed_styles)

    def window_footprint(self, x: int, y: int, width: int, height: int,
                         level: int = 0) -> dict[str, CellRange]:
        """Cells of every field the window's pixels depend on: change one outside and not a bit
        of the window changes (the computed margins are wider, but their extra cells are cropped).
        A coarse level reads only the noise of the layers it runs."""
        self._check_window(x, y, width, height)
        plan = self.plans[level]
        box = self._style_box(x, y, width, height, plan.needed_styles)
        out = {"style": lattice_anchor_cells(self.fields["style"], *box),
               "local": self._cells(plan.needed_input, x, y, width, height)}
        if self.cfg.noise:
            for i, g in enumerate(plan.needed_noise):
                out[f"noise{i}"] = self._cells(g, x, y, width, height)
        return out

    # -- rendering ------------------------------------------------------------------------------
    def render(self, tiles: list[Tile], latents: LatentSource,
               settings: RenderSettings | None = None) -> torch.Tensor:
        level = tiles[0].level
        assert all(t.level == level for t in tiles), "tiles of one batch share their level"
        s = self.tile_size << level
        return self.render_windows([(tile.ix * s, tile.iy * s) for tile in tiles], s, s, latents, settings,
                                   level=level)

    @torch.no_grad()
    def render_windows(self, origins: list[tuple[int, int]], width: int, height: int,
                       latents: LatentSource, settings: RenderSettings | None = None,
                       level: int = 0) -> torch.Tensor:
        """Render same-sized windows of world pixels in one batch -> float32
        [N, 3, height / 2^level, width / 2^level] on the CPU (level k: one pixel per 2^k x 2^k)."""
        settings = settings or RenderSettings()
        f = 1 << level
        inputs = [self.window_inputs(x, y, width, height, latents, settings, level) for x, y in origins]
        o, h, w = -self.plans[level].output.offset, height // f, width // f

        def forward(group: list[dict]) -> torch.Tensor:
            b = stack_window_inputs(group, self.device)
            return self.generator(b["x"], b["z"], b["conv_weights"], b["rgb_weights"], b["noises"],
                                  truncation=settings.truncation, level=level)

        rgb = render_in_passes(inputs, forward, lambda img, _: img[:, o:o + h, o:o + w],
                               per_pass(self.device))
        return rgb.float().clamp(-1.0, 1.0).cpu()

    # -- inversion --------------------------------------------------------------------------------
    def window_cells(self, x: int, y: int, width: int, height: int) -> dict[str, CellRange]:
        """The cells window_inputs reads at full resolution (the computed margins included)."""
        self._check_window(x, y, width, height)
        plan = self.plan
        out = {"local": self._cells(plan.input, x, y, width, height),
               "style": lattice_anchor_cells(self.fields["style"], *self._style_box(x, y, width, height))}
        if self.cfg.noise:
            for i, g in enumerate(plan.conv_noise):
                out[f"noise{i}"] = self._cells(g, x, y, width, height)
        return out

    def render_window_from(self, x: int, y: int, width: int, height: int, latents: LatentSource,
                           settings: RenderSettings, values: dict[str, torch.Tensor]) -> torch.Tensor:
        inp = self.window_inputs(x, y, width, height, latents, settings)
        dev = self.device
        c = self.cfg.local_channels
        local = given_or_own(values, "local", inp["x"][:c], dev)
        x_in = torch.cat([local, torch.from_numpy(inp["x"][c:]).to(dev)])
        z = codes_with_fitted_lattice(inp["z"], values, dev)
        noises = [None if n is None else given_or_own(values, f"noise{i}", n, dev)[None]
                  for i, n in enumerate(inp["noises"])]

        def weights(key: str) -> list[torch.Tensor]:
            return [torch.from_numpy(w).to(dev)[None] for w in inp[key]]

        rgb = self.generator(x_in[None], z[None], weights("conv_weights"), weights("rgb_weights"), noises,
                             truncation=settings.truncation)
        o = -self.plan.output.offset
        return rgb[0, :, o:o + height, o:o + width].float()

    def window_inputs(self, x: int, y: int, width: int, height: int, latents: LatentSource,
                      settings: RenderSettings, level: int = 0) -> dict:
        """Everything the synthesis network reads for one window (at a level), as numpy arrays."""
        self._check_window(x, y, width, height)
        cfg, plan = self.cfg, self.plans[level]
        local = latents.cells(self.fields["local"], self._cells(plan.input, x, y, width, height))
        xs, ys = plan.input.centres(x, width).numpy(), plan.input.centres(y, height).numpy()
        coords = coordinate_features(xs, ys, cfg.style_spacing, cfg.coord_octaves, cfg.vertical,
                                     cfg.vertical_scales)
        style_map = settings.style_map or self._lattice_styles
        grids = plan.conv_styles + plan.rgb_styles
        style: StylePlan = style_map.plan(self._style_box(x, y, width, height, grids), latents,
                                          self.fields["style"])

        def weights(g: Grid) -> np.ndarray:
            return style.weights(g.centres(x, width).numpy(), g.centres(y, height).numpy())

        noises = []
        for i, g in enumerate(plan.conv_noise):
            if cfg.noise and settings.noise_mode == "world":
                noises.append(latents.cells(self.fields[f"noise{i}"], self._cells(g, x, y, width, height)))
            else:
                noises.append(None)
        return {"x": np.concatenate([local, coords]), "z": style.z,
                "conv_weights": [weights(g) for g in plan.conv_styles],
                "rgb_weights": [weights(g) for g in plan.rgb_styles], "noises": noises}


def stack_window_inputs(inputs: list[dict], device: torch.device) -> dict:
    """Batch per-window inputs; windows touching fewer style codes are padded with zero weights."""
    k = max(inp["z"].shape[0] for inp in inputs)

    def pad_k(a: np.ndarray) -> np.ndarray:
        pad = np.zeros((k - a.shape[0],) + a.shape[1:], a.dtype)
        return np.concatenate([a, pad]) if len(pad) else a

    def stack(arrays: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(arrays)).to(device)

    n_conv, n_rgb = len(inputs[0]["conv_weights"]), len(inputs[0]["rgb_weights"])
    return {
        "x": stack([i["x"] for i in inputs]),
        "z": stack([pad_k(i["z"]) for i in inputs]),
        "conv_weights": [stack([pad_k(i["conv_weights"][j]) for i in inputs]) for j in range(n_conv)],
        "rgb_weights": [stack([pad_k(i["rgb_weights"][j]) for i in inputs]) for j in range(n_rgb)],
        "noises": [None if inputs[0]["noises"][j] is None else stack([i["noises"][j] for i in inputs])
                   for j in range(n_conv)],
    }
