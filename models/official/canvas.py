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
its style mixing, class and truncation apply as in the visualizer (latents.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..contract import Capabilities, CellRange, InfiniteGenerator, LatentSource, RenderSettings, Tile
from ..errors import UserError
from .latents import blended_ws, mix_styles
from .loader import OfficialNetwork, load_official

NOISE_MODES = {"world": "const", "const": "const", "off": "none", "none": "none", "random": "random"}


def scene_seed(latents: LatentSource) -> int:
    """The scene seed behind a (possibly edited) hashed lattice."""
    obj = latents
    while not hasattr(obj, "seed") and hasattr(obj, "base"):
        obj = obj.base
    if not hasattr(obj, "seed"):
        raise UserError("official network pickles need a seeded scene to draw their latents from")
    return int(obj.seed)


class OfficialModel(InfiniteGenerator):
    """Common part: latents and labels as gen_images.py makes them, frames, noise modes."""

    fields: dict = {}

    def __init__(self, net: OfficialNetwork, device: str | torch.device = "cpu",
                 class_idx: int | None = None):
        self.net = net
        self.device = torch.device(device)
        self.generator = net.generator.to(self.device)
        self.family = net.family
        self.tile_size = int(self.generator.img_resolution)
        self.fields = {}
        self.class_idx = class_idx

    def describe(self) -> dict:
        d = super().describe()
        d.update(network=self.net.describe(), source=self.net.source, device=str(self.device),
                 parameters=sum(p.numel() for p in self.generator.parameters()), c_dim=int(self.net.c_dim))
        if hasattr(self.generator, "num_ws"):  # ws per image: what style mixing can replace
            d["num_ws"] = int(self.generator.num_ws)
        return d

    def footprint(self, tile: Tile) -> dict[str, CellRange]:
        return {}  # no lattice fields: the whole world follows from the scene seed

    def latent(self, seed: int) -> torch.Tensor:
        """[1, z_dim] float64 exactly as gen_images.py draws it (seeds wrap to 32 bits)."""
        z = np.random.RandomState(int(seed) % 2 ** 32).randn(1, self.net.z_dim)
        return torch.from_numpy(z).to(self.device)

    def label(self, class_idx: int | None = None) -> torch.Tensor:
        """[1, c_dim] one-hot class label; conditional networks need one."""
        class_idx = self.class_idx if class_idx is None else class_idx
        c = torch.zeros([1, self.net.c_dim], device=self.device)
        if self.net.c_dim == 0:
            return c
        if class_idx is None:
            raise UserError(f"{self.net.source} is a conditional {self.net.describe()}: pass --class "
                            f"0..{self.net.c_dim - 1}")
        if not 0 <= class_idx < self.net.c_dim:
            raise UserError(f"--class {class_idx} is out of range: this network has classes "
                            f"0..{self.net.c_dim - 1}")
        c[0, class_idx] = 1
        return c

    @staticmethod
    def noise_mode(settings: RenderSettings) -> str:
        if settings.noise_mode not in NOISE_MODES:
            raise UserError(f"noise mode {settings.noise_mode!r}: use one of {', '.join(NOISE_MODES)}")
        return NOISE_MODES[settings.noise_mode]

    def batches(self, n: int) -> list[slice]:
        """oneDNN picks batch-size-dependent kernels on the CPU, which changes the last bits; there every
        tile is computed alone so it is bit-identical in any batch. CUDA batches for throughput."""
        return [slice(i, i + 1) for i in range(n)] if self.device.type == "cpu" else [slice(0, n)]

    def ws(self, seeds: list[int], truncation: float, class_idx: int | None = None) -> torch.Tensor:
        z = torch.cat([self.latent(s) for s in seeds])
        c = self.label(class_idx).expand(len(seeds), -1)
        # mapped in the same batches as synthesised, so a tile's w (and pixels) do not depend on its batch
        return torch.cat([self.generator.mapping(z[b], c[b], truncation_psi=truncation)
                          for b in self.batches(len(seeds))])

    def styles(self, positions: list[tuple[float, float]], settings: RenderSettings) -> torch.Tensor:
        """ws [N, num_ws, w_dim] at latent positions (x, y) of the seed plane, with the settings' truncation,
        class and style mixing. Every seed is mapped alone, so a tile's ws do not depend on its batch."""
        mapped: dict[int, torch.Tensor] = {}

        def map_seed(seed: int) -> torch.Tensor:
            if seed not in mapped:
                mapped[seed] = self.ws([seed], settings.truncation, settings.class_idx)
            return mapped[seed]

        w_avg = getattr(self.generator.mapping, "w_avg", None)
        ws = torch.cat([blended_ws(map_seed, w_avg, x, y) for x, y in positions])
        return mix_styles(ws, settings.style_mix, map_seed)

    @torch.no_grad()
    def frame(self, seed: int, truncation: float = 1.0, noise_mode: str = "const",
              class_idx: int | None = None, translate: tuple[float, float] = (0.0, 0.0)) -> torch.Tensor:
        """gen_images.py's frame for `seed`: float32 [1, C, R, R] (about [-1, 1], unclamped) on the CPU."""
        ws = self.ws([seed], truncation, class_idx)
        mode = NOISE_MODES.get(noise_mode, noise_mode)
        if self.family == "stylegan3":
            inv = torch.tensor([[1.0, 0, -translate[0]], [0, 1.0, -translate[1]], [0, 0, 1.0]])
            return self.generator.synthesis(ws, transform=inv[None]).float().cpu()
        return self.generator.synthesis(ws, noise_mode=mode).float().cpu()


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
        ws = self.styles([(scene_seed(latents) + dx, dy)], settings).expand(len(origins), -1, -1)
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
        seed, (dx, dy) = scene_seed(latents), settings.seed_offset
        ws = self.styles([(seed + dx + t.ix, dy + t.iy) for t in tiles], settings)
        mode = self.noise_mode(settings)
        img = torch.cat([self.generator.synthesis(ws[b], noise_mode=mode) for b in self.batches(len(tiles))])
        return img.float().clamp(-1, 1).cpu()


def load_canvas(path: str | Path, device: str | torch.device = "cpu") -> OfficialModel:
    """A network pickle as a World model: StyleGAN3 canvas, StyleGAN2 / INR-GAN seed grid, ALIS chain."""
    net = load_official(path)
    if net.family == "alis":
        from .alis_canvas import AlisChain  # it builds on OfficialModel below

        return AlisChain(net, device=device)
    cls = StyleGAN3Canvas if net.family == "stylegan3" else StyleGAN2SeedGrid
    return cls(net, device=device)
