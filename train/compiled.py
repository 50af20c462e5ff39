"""--compile: torch.compile for the generator layers whose training step is bound by elementwise passes.

At the built-in setting (128 px frames, batch 16) a CPU step spends most of its time not in
convolutions but in passes over full-resolution maps of a few dozen channels: SA-AdaIN's input
modulation and per-pixel demodulation, noise, bias and leaky ReLU, and their backward. Inductor fuses
them, forward and backward (benchmarks/train_speed.py); compiling the discriminator as well was
slower to compile and to run, so it stays eager.
"""

from __future__ import annotations

import os
import shutil

import torch

from infiniscape.models.errors import UserError
from infiniscape.models.native.layers import LevelToRGB, SpatialModConv, ToRGB

COMPILED_LAYERS = (SpatialModConv, ToRGB, LevelToRGB)


def compile_synthesis_layers(g: torch.nn.Module) -> int:
    """torch.compile the forward of each of g's COMPILED_LAYERS (this instance only: G_ema and the studio
    stay eager); returns how many. Every layer shape is one compiled graph, so dynamo's per-function
    cache is sized for all of them instead of silently running the rest eagerly."""
    if shutil.which(os.environ.get("CXX", "c++")) is None:
        raise UserError("--compile needs a C++ compiler (inductor builds its kernels): install one, or "
                        "train without --compile")
    import torch._dynamo

    layers = [m for m in g.modules() if isinstance(m, COMPILED_LAYERS)]
    for m in layers:
        m.forward = torch.compile(m.forward, dynamic=False)
    config = torch._dynamo.config
    config.cache_size_limit = max(config.cache_size_limit, 2 * len(layers))
    return len(layers)
