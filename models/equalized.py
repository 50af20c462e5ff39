"""The equalised-learning-rate linear layer (Karras et al.) the native generator, its discriminator and
InfinityGAN share: weights stored unscaled and scaled at run time, so every layer learns at the same pace."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LRELU_GAIN = math.sqrt(2.0)  # keeps a leaky ReLU's output at unit variance


class EqualLinear(nn.Module):
    """Fully connected layer with equalised learning rate; optional leaky ReLU * sqrt(2)."""

    def __init__(self, in_features: int, out_features: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activation: bool = False):
        super().__init__()
        # in place: an out-of-place op on the meta device (models/budget.py probes on it) goes through
        # torch._refs, whose first use imports torch._dynamo, ~1 s of every model load
        self.weight = nn.Parameter(torch.randn(out_features, in_features).div_(lr_mul))
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init)))
        self.weight_gain = lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.weight_gain, self.bias * self.lr_mul)
        return F.leaky_relu(x, 0.2) * LRELU_GAIN if self.activation else x
