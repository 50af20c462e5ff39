"""InfinityGAN (configs/model/InfinityGAN.yaml: 101 px patches; InfinityGAN-HR.yaml: 389 px) at the released
full widths, against a checkout of hubert0527/infinityGAN: one patch as its InfiniteGenerationManager renders
it (g_ema on a 35x35 local latent window, its canvas coordinates and per-layer noise, two global latents of
which the eval-mode texture synthesizer uses the first everywhere).

The checkout is imported untouched: its CUDA-only ops (models/custom_ops: JIT-compiled at import, calling
torch.cuda) are replaced in sys.modules by the pure-torch reference implementations below, its `dataset`
module (LMDB, torchvision) by the one class the generator takes from it, and CoordHandler's `.cuda()` grid
stays on the CPU while the generator is built. Random init (torch.manual_seed(0)), every parameter then
perturbed by 0.3 * N(0, 1) so noise weights and biases (initialised to 0) matter."""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path
from unittest import mock

import torch
import torch.nn.functional as F
import yaml

from infiniscape.models.infinitygan.config import InfinityGANConfig, build_generator, infer_architecture

from . import Pair, frozen, official_import_shims

CHECKOUT = "infinityGAN"
NETS = ("infinitygan", "infinitygan-hr")
CONFIGS = {"infinitygan": "InfinityGAN.yaml", "infinitygan-hr": "InfinityGAN-HR.yaml"}


# -- reference implementations of the official CUDA ops (rosinality's stylegan2-pytorch semantics) ---------
def fused_leaky_relu(x: torch.Tensor, bias: torch.Tensor, negative_slope: float = 0.2,
                     scale: float = 2 ** 0.5) -> torch.Tensor:
    shape = [1, bias.shape[0]] + [1] * (x.ndim - 2)
    return F.leaky_relu(x + bias.reshape(shape), negative_slope) * scale


class FusedLeakyReLU(torch.nn.Module):
    def __init__(self, channel: int, negative_slope: float = 0.2, scale: float = 2 ** 0.5):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(channel))
        self.negative_slope, self.scale = negative_slope, scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_leaky_relu(x, self.bias, self.negative_slope, self.scale)


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1, pad=(0, 0)) -> torch.Tensor:
    """Zero-insert by `up`, pad (pad0, pad1) on both axes (negative crops), true convolution with `kernel`
    (per channel), keep every `down`-th sample."""
    n, c, h, w = x.shape
    p0, p1 = pad
    if up > 1:
        x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x = F.pad(x, [max(p0, 0), max(p1, 0), max(p0, 0), max(p1, 0)])
    x = x[:, :, max(-p0, 0):x.shape[2] - max(-p1, 0), max(-p0, 0):x.shape[3] - max(-p1, 0)]
    kh, kw = kernel.shape
    out = F.conv2d(x.reshape(n * c, 1, *x.shape[2:]), kernel.flip([0, 1]).reshape(1, 1, kh, kw))
    out = out[:, :, ::down, ::down]
    return out.reshape(n, c, *out.shape[2:])


def install_shims(checkout: str) -> None:
    official_import_shims(checkout)
    ops = types.ModuleType("models.custom_ops")
    ops.FusedLeakyReLU, ops.fused_leaky_relu, ops.upfirdn2d = FusedLeakyReLU, fused_leaky_relu, upfirdn2d
    sys.modules["models.custom_ops"] = ops
    if "dataset" not in sys.modules:
        dataset = types.ModuleType("dataset")
        dataset.DictTensor = type("DictTensor", (dict,), {})  # the generator's output container
        sys.modules["dataset"] = dataset


def namespace(d):
    return types.SimpleNamespace(**{k: namespace(v) for k, v in d.items()}) if isinstance(d, dict) else d


def noise_sizes(ts_input: int, n_convs: int) -> list[int]:
    """Texture conv output sizes: an upsampling conv gives 2s - 3 (transposed conv, crop, blur), a plain
    one s - 2."""
    sizes, s = [], ts_input
    for i in range(n_convs):
        s = 2 * s - 3 if i % 2 == 0 else s - 2
        sizes.append(s)
    return sizes


def build(name: str, checkout: str, resolution: int) -> Pair:
    install_shims(checkout)
    official = importlib.import_module("models.infinitygan_generator")
    config = namespace(yaml.safe_load(Path(checkout, "configs", "model", CONFIGS[name]).read_text()))
    tp = config.train_params
    torch.manual_seed(0)
    with mock.patch.object(torch.Tensor, "cuda", lambda self, *a, **k: self):  # CoordHandler.const_grid
        ref = official.InfinityGanGenerator(config)
    with torch.no_grad():
        for t in ref.parameters():  # not the buffers: the blur kernels are fixed filters
            t.add_(0.3 * torch.randn_like(t))
    ref = frozen(ref)
    state = ref.state_dict()
    arch = infer_architecture(state, name)
    assert arch.patch_size == tp.patch_size
    ours = build_generator(InfinityGANConfig(name=name, arch=arch), state, name)

    margin = tp.ss_n_layers * tp.ss_unfold_radius
    side = tp.ts_input_size + 2 * margin  # 35: the local latent window of one patch
    global_latent = torch.randn(1, 2, tp.global_latent_dim)
    local_latent = torch.randn(1, tp.local_latent_dim, side, side)
    coords = ref.structure_synthesizer.coord_handler.sample_coord_grid(local_latent, is_training=False)
    sizes = noise_sizes(tp.ts_input_size, len(ours.texture_synthesizer.convs))
    noises = [torch.randn(1, 1, s, s) for s in sizes]
    weights = ours.uniform_weights(1)
    z = global_latent[:, :1]  # eval mode, no inject index: the first global latent styles every layer

    def official_patch() -> torch.Tensor:
        return ref(global_latent=global_latent, local_latent=local_latent, override_coords=coords,
                   noises=noises, disable_dual_latents=True)["gen"]

    def our_patch() -> torch.Tensor:
        return ours(local_latent, coords, z, weights, noises)

    return Pair(ref=official_patch, ours=our_patch, params=sum(p.numel() for p in ours.parameters()),
                what=f"{arch.patch_size} px patch")
