"""The common part of every official network pickle on the model contract (StyleGAN2, StyleGAN3, INR-GAN,
ALIS): latents and labels drawn as gen_images.py draws them from the scene seed, ws on the seed plane,
noise modes.
"""

from __future__ import annotations

import numpy as np
import torch

from .batching import passes, per_pass
from .contract import NOISE_MODES, CellRange, InfiniteGenerator, LatentSource, RenderSettings, Tile
from .errors import UserError
from .pickles.loader import OfficialNetwork
from .seed_plane import blended_ws, mix_styles


def scene_seed(settings: RenderSettings, latents: LatentSource) -> int:
    """The scene seed: the settings' (the World fills it in), else that of a bare HashedLatents."""
    seed = settings.scene_seed if settings.scene_seed is not None else getattr(latents, "seed", None)
    if seed is None:
        raise UserError("official network pickles need a seeded scene to draw their latents from")
    return int(seed)


def network_noise(noise_mode: str) -> str:
    """The official networks' name for a scene noise mode (their own names pass through)."""
    if noise_mode in NOISE_MODES.values():
        return noise_mode
    if noise_mode not in NOISE_MODES:
        raise UserError(f"noise mode {noise_mode!r}: use one of {', '.join(NOISE_MODES)}")
    return NOISE_MODES[noise_mode]


class OfficialModel(InfiniteGenerator):
    """Latents and labels as gen_images.py makes them, frames, noise modes."""

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
                 parameters=sum(p.numel() for p in self.generator.parameters()), c_dim=int(self.net.c_dim),
                 num_ws=int(self.generator.num_ws))  # ws per image: what style mixing can replace
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
        return network_noise(settings.noise_mode)

    def batches(self, n: int) -> list[slice]:
        """Tiles per forward pass: one on the CPU (bit-identical in any batch), all at once elsewhere."""
        return passes(n, per_pass(self.device))

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
        if self.family == "stylegan3":
            inv = torch.tensor([[1.0, 0, -translate[0]], [0, 1.0, -translate[1]], [0, 0, 1.0]])
            return self.generator.synthesis(ws, transform=inv[None]).float().cpu()
        return self.generator.synthesis(ws, noise_mode=network_noise(noise_mode)).float().cpu()
