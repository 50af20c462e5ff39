"""An ALIS network pickle on the model contract: the official notebook's chain of anchors, laid on the world.

The notebook renders a panorama frame by frame: anchors w_0, w_1, ... sit `w_coord_dist / 2` frames
apart; frame f is `G.synthesis` with centre w_c = w_{2s+1} and context (w_{2s}, w_{2s+2}) of its span
s, and its left border `(f mod w_coord_dist) * grid_size` patches from w_{2s}. Here world tile (ix, 0)
is that frame f = ix (negative ix continue the chain to the left), and anchor k is cell (k, 0) of
the scene's "style" lattice field (a point field, one anchor every `w_coord_dist / 2 * R` px), mapped
to w per tile. A frame lies between two anchors and reads only those two (its span's third anchor
is multiplied by zero weight), so resampling anchor k re-renders exactly the frames between
anchors k - 1 and k + 1.

Vertical extent: ALIS renders one frame-high strip (infinite_x, not infinite_y). Tiles of other rows
read no latents and are blank (EMPTY); edits never touch them. Inference follows the notebook: noise
off, max shift strength 1; truncation pulls w towards the mapping's w_avg. Style fusion maps are
ignored (SA-AdaIN interpolates along x only).
"""

from __future__ import annotations

import numpy as np
import torch

from ..contract import Capabilities, CellRange, FieldSpec, LatentSource, RenderSettings, Tile
from ..errors import ModelLoadError
from ..lattice import HashedLatents
from ..official_adapter import OfficialModel
from ..pickles.loader import OfficialNetwork

EMPTY = -1.0  # value of tiles outside the ALIS strip (black)


class AlisChain(OfficialModel):
    """ALIS frames along x, one tile per frame, anchors from the hashed style lattice."""

    capabilities = Capabilities(infinite_x=True, infinite_y=False, seams="learned", input_transform=False,
                                noise=False, layer_capture=True, style_fusion=False)

    def __init__(self, net: OfficialNetwork, device: str | torch.device = "cpu"):
        super().__init__(net, device=device)
        g = self.generator
        cfg = g.cfg
        per_anchor = cfg.w_coord_dist / 2
        if per_anchor != int(per_anchor) or per_anchor < 1:
            raise ModelLoadError(f"{net.source}: ALIS with w_coord_dist={cfg.w_coord_dist} puts anchors "
                                 f"{per_anchor} frames apart; the chain needs a whole number of frames")
        self.frames_per_anchor = int(per_anchor)
        self.grid_size = cfg.grid_size
        self.anchor_spacing = self.frames_per_anchor * self.tile_size  # world px between anchors
        self.fields = {"style": FieldSpec("style", self.anchor_spacing, g.z_dim, "style", kind="point")}
        with torch.no_grad():  # the notebook's progressive_growing_update(100000)
            g.synthesis.max_shift_strength.fill_(1.0)

    def describe(self) -> dict:
        d = super().describe()
        d.update(anchor_spacing=f"{self.anchor_spacing} px ({self.frames_per_anchor} frames)",
                 patches_per_frame=self.grid_size, rows="one frame-high strip (tile row 0)")
        return d

    # -- chain geometry ----------------------------------------------------------------------------------
    def chain_position(self, frame: int) -> tuple[int, int]:
        """(left anchor a of the frame's interval, left border in patches from its span's w_l)."""
        a = frame // self.frames_per_anchor
        span = a // 2
        return a, (frame - 2 * span * self.frames_per_anchor) * self.grid_size

    def footprint(self, tile: Tile) -> dict[str, CellRange]:
        if tile.iy != 0:
            return {"style": CellRange(0, 0, 0, 0)}
        a, _ = self.chain_position(tile.ix)
        return {"style": CellRange(a, 0, a + 2, 1)}

    # -- rendering ---------------------------------------------------------------------------------------
    def frame_inputs(self, frame: int, latents: LatentSource, truncation: float = 1.0):
        """(ws [1, num_ws, w_dim], ws_context [1, 2, num_ws, w_dim], left border [1]) of one chain frame."""
        a, lb = self.chain_position(frame)
        z = latents.cells(self.fields["style"], CellRange(a, 0, a + 2, 1))[:, 0, :].T  # [2, z_dim]
        z = torch.from_numpy(np.ascontiguousarray(z)).to(self.device)
        c = self.label().expand(2, -1)
        w = self.generator.mapping(z, c, truncation_psi=truncation)  # [2, num_ws, w_dim]: anchors a, a + 1
        # Left half of a span: (w_a, w_a+1, unused); right half: (unused, w_a, w_a+1). The unused anchor
        # gets zero weight; repeating a read one keeps the frame a function of its two anchors only.
        left, centre, right = (w[0], w[1], w[1]) if a % 2 == 0 else (w[0], w[0], w[1])
        ctx = torch.stack([left, right])[None]
        return centre[None], ctx, torch.tensor([lb], device=self.device)

    @torch.no_grad()
    def render_frames(self, frames: list[int], latents: LatentSource, truncation: float = 1.0):
        """Chain frames, unclamped float32 [N, 3, R, R] on the CPU (one forward per frame on the CPU)."""
        inputs = [self.frame_inputs(f, latents, truncation) for f in frames]
        out = []
        for b in self.batches(len(frames)):
            ws, ctx, lb = (torch.cat(parts) for parts in zip(*inputs[b], strict=True))
            out.append(self.generator.synthesis(ws, ctx, lb, noise_mode="none"))
        return torch.cat(out).float().cpu()

    def render(self, tiles: list[Tile], latents: LatentSource, settings: RenderSettings | None = None):
        settings = settings or RenderSettings()
        r = self.tile_size
        out = torch.full((len(tiles), self.net.generator.img_channels, r, r), EMPTY)
        strip = [i for i, t in enumerate(tiles) if t.iy == 0]
        if strip:
            imgs = self.render_frames([tiles[i].ix for i in strip], latents, settings.truncation)
            out[strip] = imgs.clamp(-1, 1)
        return out

    @torch.no_grad()
    def frame(self, seed: int, truncation: float = 1.0, noise_mode: str = "none",
              class_idx: int | None = None, translate: tuple[float, float] = (0.0, 0.0)) -> torch.Tensor:
        """Frame 0 of the chain of scene `seed` (what `render --frame` writes), unclamped [1, 3, R, R]."""
        return self.render_frames([0], HashedLatents(seed), truncation)
