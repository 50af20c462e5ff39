"""Every layer's output of a generator for one tile (forward hooks), and how the visualizer shows one:
a channel or three as RGB, normalised, scaled in dB, and its FFT."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch

from .spectrum import colorize, power_spectrum, to_db


@dataclass
class LayerOutput:
    name: str  # module path in the generator ("synthesis.convs.0"), or "output"
    data: np.ndarray  # float32 [C, H, W] of the captured tile (padding-free layers include margins)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.data.shape)

    def describe(self) -> str:
        c, h, w = self.shape
        return f"{self.name}  {w}x{h}  {c} ch"


def generator_module(model) -> torch.nn.Module:
    """The nn.Module whose submodules are the layers (the LayerCapture interface: ``model.generator``)."""
    if not model.capabilities.layer_capture:
        raise ValueError(f"the {model.family} model exposes no torch module to capture layers from")
    return model.generator


def capture_layers(world, tile) -> list[LayerOutput]:
    """Outputs of every submodule that yields an image-shaped [1, C, H, W] tensor while ``tile`` of
    ``world`` renders, in execution order, then the tile itself as "output"."""
    net = generator_module(world.model)
    names = {m: n for n, m in net.named_modules() if n}
    me = threading.get_ident()
    captured: list[LayerOutput] = []

    def hook(module, _inputs, output):
        # the studio's render worker may run the same modules at the same time: keep only ours
        if threading.get_ident() != me or not isinstance(output, torch.Tensor) or output.ndim != 4:
            return
        captured.append(LayerOutput(names[module], output[0].detach().float().cpu().numpy().copy()))

    handles = [m.register_forward_hook(hook) for m in names]
    try:
        tiles = world.render_tiles([tile])
    finally:
        for h in handles:
            h.remove()
    seen: dict[str, int] = {}
    for layer in captured:  # a module called twice (shared) gets #2, #3 ... suffixes
        seen[layer.name] = seen.get(layer.name, 0) + 1
        if seen[layer.name] > 1:
            layer.name = f"{layer.name}#{seen[layer.name]}"
    return captured + [LayerOutput("output", np.ascontiguousarray(tiles[0].transpose(2, 0, 1)))]


def select_channels(data: np.ndarray, channel: int = 0, rgb: bool = False) -> np.ndarray:
    """[C, H, W] -> the shown channels [1 or 3, H, W], the first clamped so they fit."""
    n = 3 if rgb and data.shape[0] >= 3 else 1
    first = max(0, min(int(channel), data.shape[0] - n))
    return data[first:first + n]


def layer_stats(data: np.ndarray, channel: int = 0, rgb: bool = False) -> dict[str, tuple[float, float]]:
    """mean, std and max |x| over all channels and over the shown ones: name -> (all, shown)."""
    sel = select_channels(data, channel, rgb)
    return {"mean": (float(data.mean()), float(sel.mean())), "std": (float(data.std()), float(sel.std())),
            "max": (float(np.abs(data).max()), float(np.abs(sel).max()))}


def layer_image(data: np.ndarray, channel: int = 0, rgb: bool = False, normalize: bool = True,
                gain_db: float = 0.0) -> np.ndarray:
    """uint8 [H, W, 3]: the shown channels, each divided by its max |x| when normalising, times
    10^(gain_db / 20), mapped like an image in [-1, 1] (grey for one channel)."""
    sel = select_channels(data, channel, rgb).astype(np.float32)
    if normalize:
        sel = sel / np.clip(np.abs(sel).max(axis=(1, 2), keepdims=True), 1e-8, 1e8)
    sel = sel * 10 ** (gain_db / 20)
    img = np.clip(sel * 127.5 + 128, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    return np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img


def layer_spectrum(data: np.ndarray, channel: int = 0, rgb: bool = False, all_channels: bool = True,
                   beta: float = 8.0, db_range: float = 50.0) -> np.ndarray:
    """uint8 [H, W, 3] FFT view of the layer (all channels summed, or the shown ones)."""
    sig = data if all_channels else select_channels(data, channel, rgb)
    return colorize(to_db(power_spectrum(sig.transpose(1, 2, 0), beta)), -db_range, db_range)


def layer_view(layer: LayerOutput, channel: int = 0, rgb: bool = False, normalize: bool = True,
               gain_db: float = 0.0, fft: bool = False, fft_all: bool = True, beta: float = 8.0,
               db_range: float = 50.0) -> tuple[np.ndarray, dict[str, tuple[float, float]]]:
    """The Layers panel's picture of a layer (``layer_image``, then its FFT view beside it when asked)
    and its statistics (``layer_stats``)."""
    from .spectrum import side_by_side

    img = layer_image(layer.data, channel, rgb, normalize, gain_db)
    if fft:
        img = side_by_side([img, layer_spectrum(layer.data, channel, rgb, fft_all, beta, db_range)], gap=2)
    return img, layer_stats(layer.data, channel, rgb)
