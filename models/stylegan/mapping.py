"""Layers shared by StyleGAN2 and StyleGAN3: equalized-lr fully connected layer and the mapping network.

Parameter names follow the official state dicts (fc0.weight, embed.bias, w_avg, ...) so a snapshot's
tensors copy over one-to-one.
"""

from __future__ import annotations

import numpy as np
import torch

from ...ops.bias_act import bias_act


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row to unit mean square (pixel norm of the latent)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


class FullyConnectedLayer(torch.nn.Module):
    """y = act(x @ (W * gain).T + b * lr); weights are stored unscaled (equalized learning rate)."""

    def __init__(self,
                 in_features: int,  # input width
                 out_features: int,  # output width
                 bias: bool = True,  # add a bias before the activation
                 activation: str = "linear",  # activation name of ops.bias_act
                 lr_multiplier: float = 1.0,  # learning-rate scale baked into the stored tensors
                 weight_init: float = 1.0,  # std of the initial weight (StyleGAN3 zero-inits an affine)
                 bias_init=0.0,  # initial bias: a scalar or one value per output
                 ):
        super().__init__()
        self.in_features, self.out_features, self.activation = in_features, out_features, activation
        w = torch.randn([out_features, in_features]) * (weight_init / lr_multiplier)
        self.weight = torch.nn.Parameter(w)
        b = np.broadcast_to(np.asarray(bias_init, dtype=np.float32), [out_features])
        b = b / np.float32(lr_multiplier)
        self.bias = torch.nn.Parameter(torch.from_numpy(b.astype(np.float32))) if bias else None
        self.weight_gain = lr_multiplier / np.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.ndim == 2 and x.shape[1] == self.in_features, f"expected [N, {self.in_features}]"
        w = self.weight.to(x.dtype) * self.weight_gain
        b = None if self.bias is None else self.bias.to(x.dtype)
        if b is not None and self.bias_gain != 1:
            b = b * self.bias_gain
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=self.activation)


class MappingNetwork(torch.nn.Module):
    """z (+ embedded class label) -> w, broadcast to num_ws copies, with truncation towards w_avg."""

    def __init__(self,
                 z_dim: int,  # latent z width, 0 = no latent
                 c_dim: int,  # class-label width, 0 = unconditional
                 w_dim: int,  # intermediate latent w width
                 num_ws: int | None,  # copies of w to output, None = return [N, w_dim]
                 num_layers: int = 8,  # fully connected layers (StyleGAN3 passes 2)
                 embed_features: int | None = None,  # label embedding width, None = w_dim
                 layer_features: int | None = None,  # hidden width, None = w_dim
                 activation: str = "lrelu",  # hidden activation
                 lr_multiplier: float = 0.01,  # learning-rate scale of the layers
                 w_avg_beta: float | None = 0.998,  # EMA decay of w_avg; None = no w_avg (no truncation)
                 ):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers, self.w_avg_beta = num_layers, w_avg_beta
        embed_features = 0 if c_dim == 0 else (w_dim if embed_features is None else embed_features)
        layer_features = w_dim if layer_features is None else layer_features
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for idx in range(num_layers):
            layer = FullyConnectedLayer(features[idx], features[idx + 1], activation=activation,
                                        lr_multiplier=lr_multiplier)
            setattr(self, f"fc{idx}", layer)
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z: torch.Tensor | None, c: torch.Tensor | None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None) -> torch.Tensor:
        """[N, z_dim], [N, c_dim] -> [N, num_ws, w_dim]; truncates the first `truncation_cutoff` ws."""
        parts = []
        if self.z_dim > 0:
            assert z is not None and z.ndim == 2 and z.shape[1] == self.z_dim, f"z must be [N, {self.z_dim}]"
            parts.append(normalize_2nd_moment(z.to(torch.float32)))
        if self.c_dim > 0:
            assert c is not None and c.ndim == 2 and c.shape[1] == self.c_dim, f"c must be [N, {self.c_dim}]"
            parts.append(normalize_2nd_moment(self.embed(c.to(torch.float32))))
        x = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            assert hasattr(self, "w_avg"), "this mapping network tracks no w_avg: truncation is unavailable"
            cut = x.shape[1] if truncation_cutoff is None or self.num_ws is None else truncation_cutoff
            if self.num_ws is None:
                x = self.w_avg.lerp(x, truncation_psi)
            else:
                x[:, :cut] = self.w_avg.lerp(x[:, :cut], truncation_psi)
        return x


class MappedGenerator(torch.nn.Module):
    """z [N, z_dim], c [N, c_dim] -> mapping -> ws -> synthesis -> image [N, img_channels, R, R] in about
    [-1, 1]: the shape StyleGAN2, StyleGAN3 and INR-GAN generators share; each family builds its synthesis."""

    synthesis_network: type[torch.nn.Module]  # the family's SynthesisNetwork(w_dim, res, channels, **kw)
    mapping_defaults: dict = {}  # the family's MappingNetwork defaults (StyleGAN3: 2 layers)

    def __init__(self,
                 z_dim: int,  # latent z width
                 c_dim: int,  # class-label width, 0 = unconditional
                 w_dim: int,  # intermediate latent w width
                 img_resolution: int,  # output resolution
                 img_channels: int,  # image channels
                 mapping_kwargs: dict | None = None,  # MappingNetwork options (num_layers, ...)
                 **synthesis_kwargs,  # the family's synthesis options (see its build_synthesis)
                 ):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.synthesis = self.build_synthesis(w_dim, img_resolution, img_channels, **synthesis_kwargs)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.num_ws,
                                      **{**self.mapping_defaults, **(mapping_kwargs or {})})

    def build_synthesis(self, w_dim: int, img_resolution: int, img_channels: int,
                        **synthesis_kwargs) -> torch.nn.Module:
        """The family's synthesis network, ws [N, num_ws, w_dim] -> image."""
        return self.synthesis_network(w_dim, img_resolution, img_channels, **synthesis_kwargs)

    def forward(self, z, c, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                **synthesis_kwargs) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, **synthesis_kwargs)
