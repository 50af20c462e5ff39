"""Official StyleGAN2 / StyleGAN3 networks on the model contract.

Both read the scene seed the way gen_images.py does (z = RandomState(seed).randn(z_dim)), not the hash
lattice, so world tile (0, 0) of a scene with seed S is exactly the frame `gen_images.py --seeds=S` writes.

- StyleGAN3 is an infinite canvas: one latent for the whole world, and the view moves the input
  transform. A window whose top-left is world pixel (x, y) is the frame sampled with its Fourier
  features shifted by (x, y) / img_resolution (the image spans one unit of the input plane), so
  neighbouring tiles continue each other up to the network's (approximate) translation equivariance.
- StyleGAN2 and INR-GAN are seed grids: tile (ix, iy) is the frame of seed S + ix + 100 * iy (the visualizer's
  seed layout).
The scene's seed offset shifts both on the seed plane (fractional shifts blend neighbouring seeds), and
its style mixing, class and truncation apply as in the visualizer (models/seed_plane.py).
"""

from __future__ import annotations

import numpy as np
import torch

from ..contract import Capabilities, LatentSource, RenderSettings, Tile
from ..official_adapter import OfficialModel, scene_seed


class StyleGAN3Canvas(OfficialModel):
    """One StyleGAN3 latent over the whole plane; tiles are views of its translated input."""

    capabilities = Capabilities(infinite_x=True, infinite_y=True, seams="learned", input_transform=True,
                                noise=False, layer_capture=True, style_fusion=False)

    @torch.no_grad()
    def render_windows(self, origins: list[tuple[int, int]], latents: LatentSource,
                       settings: RenderSettings | None = None) -> torch.Tensor:
        """Frames whose top-left pixel sits at world (x, y): float32 [N, 3, R, R] in [-1, 1]."""
        settings = settings or RenderSettings()
        r = self.tile_size
        dx, dy = settings.seed_offset
        ws = self.styles([(scene_seed(settings, latents) + dx, dy)], settings).expand(len(origins), -1, -1)
        # The buffer holds the inverse of the output transform: viewing content at +x is a translation by +x.
        t = torch.eye(3).repeat(len(origins), 1, 1)
        t[:, 0, 2] = torch.tensor([x / r for x, _ in origins], dtype=torch.float32)
        t[:, 1, 2] = torch.tensor([y / r for _, y in origins], dtype=torch.float32)
        t = t.to(self.device)
        img = torch.cat([self.generator.synthesis(ws[b], transform=t[b]) for b in self.batches(len(origins))])
        return img.float().clamp(-1, 1).cpu()

    @property
    def resolution(self) -> int:
        return self.tile_size

    @torch.no_grad()
    def render_transformed(self, seed: int, transform: np.ndarray) -> torch.Tensor:
        """Frame of `seed` (psi 1) with `transform` as the input transform buffer: [3, R, R], about
        [-1, 1] and unclamped, as the official metrics/equivariance.py scores it (analysis.equivariance)."""
        ws = self.ws([seed], 1.0)
        t = torch.as_tensor(np.asarray(transform), dtype=torch.float32, device=self.device)[None]
        return self.generator.synthesis(ws, transform=t)[0].float().cpu()

    def render(self, tiles: list[Tile], latents: LatentSource, settings: RenderSettings | None = None):
        t = self.tile_size
        return self.render_windows([(tile.ix * t, tile.iy * t) for tile in tiles], latents, settings)


class StyleGAN2SeedGrid(OfficialModel):
    """A grid of StyleGAN2 (or INR-GAN) frames, one seed per tile."""

    capabilities = Capabilities(infinite_x=True, infinite_y=True, seams="frame", input_transform=False,
                                noise=True, layer_capture=True, style_fusion=False)

    @torch.no_grad()
    def render(self, tiles: list[Tile], latents: LatentSource, settings: RenderSettings | None = None):
        settings = settings or RenderSettings()
        seed, (dx, dy) = scene_seed(settings, latents), settings.seed_offset
        ws = self.styles([(seed + dx + t.ix, dy + t.iy) for t in tiles], settings)
        mode = self.noise_mode(settings)
        img = torch.cat([self.generator.synthesis(ws[b], noise_mode=mode) for b in self.batches(len(tiles))])
        return img.float().clamp(-1, 1).cpu()
