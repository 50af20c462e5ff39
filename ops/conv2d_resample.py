"""2x-upsampling convolution (StyleGAN2's up-conv): zero insertion, a k x k true convolution, a FIR low-pass.

Same result as the official conv2d_resample(up=2). Convolving the zero-inserted image equals a stride-2
transposed convolution; here it runs as four ordinary convolutions, one per output phase (row and column
parity), each with only the kernel taps of its parity: no zero is multiplied and oneDNN runs ordinary
convolutions much faster than transposed ones on the CPU.
"""

from __future__ import annotations

import torch

from . import cpu_conv
from .cpu_kernels import fir_phases
from .upfirdn2d import filter_size, upfirdn2d, upsample2d


def phase_kernels(w: torch.Tensor) -> list[torch.Tensor]:
    """[O, I, k, k] -> the correlation kernels of output phases (0, 0), (0, 1), (1, 0), (1, 1),
    [O, I, ceil(k/2) or floor(k/2), ...] each, contiguous."""
    k = w.shape[-1]
    assert w.ndim == 4 and w.shape[-2] == k and k > 1, f"expected a square kernel [O, I, k, k], got {w.shape}"
    wf = w.flip([2, 3])  # a phase's taps, reversed, are every other tap of the flipped kernel
    return [wf[:, :, (k - 1 - a) % 2::2, (k - 1 - b) % 2::2].contiguous() for a in (0, 1) for b in (0, 1)]


PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))  # (row parity, column parity)


def phase_convs(x: torch.Tensor, phases: list[torch.Tensor], groups: int = 1) -> list[torch.Tensor]:
    """The phases y[:, :, a::2, b::2] (PHASES order) of y = conv_transpose2d(x, w, stride=2), from the phase
    kernels of w; y is [N, O, 2H + k - 2, 2W + k - 2]."""
    return [cpu_conv.conv2d(x, p, padding=(p.shape[2] - 1, p.shape[3] - 1), groups=groups) for p in phases]


def interleave(parts: list[torch.Tensor]) -> torch.Tensor:
    """The image whose phases are `parts` (phase_convs' order)."""
    n, o, h0, w0 = parts[0].shape
    y = parts[0].new_empty([n, o, h0 + parts[2].shape[2], w0 + parts[1].shape[3]])
    for (a, b), part in zip(PHASES, parts, strict=True):
        y[:, :, a::2, b::2] = part
    return y


def transposed_conv2x(x: torch.Tensor, phases: list[torch.Tensor], groups: int = 1) -> torch.Tensor:
    """conv_transpose2d(x, w, stride=2) from the phase kernels of w: [N, I, H, W] -> [N, O, 2H+k-2, ...]."""
    return interleave(phase_convs(x, phases, groups))


def upsample_conv2d(x: torch.Tensor, phases: list[torch.Tensor], f: torch.Tensor, groups: int = 1):
    """Upsample 2x, convolve with the kernel whose phase kernels are `phases`, low-pass with `f` (gain 4):
    [N, I, H, W] -> [N, O, 2H, 2W] ('same' padding). On the CPU the low-pass reads the phases directly."""
    k = phases[0].shape[2] + phases[3].shape[2]
    fw, _ = filter_size(f)
    p0, p1 = k // 2 + (fw + 1) // 2 - (k - 1), k // 2 + (fw - 2) // 2 - (k - 2)
    parts = phase_convs(x, phases, groups)
    y = fir_phases(parts, f, padding=[p0, p1, p0, p1], gain=4)
    return y if y is not None else upfirdn2d(interleave(parts), f, padding=[p0, p1, p0, p1], gain=4)


def conv2d_up2(x: torch.Tensor, w: torch.Tensor, f: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """Upsample 2x then convolve (true convolution) with `w` [O, I/g, k, k] and low-pass `f`: [N, I, H, W] ->
    [N, O, 2H, 2W]; the FIR removes the images of the spectrum that zero insertion creates."""
    if w.shape[-1] == 1:  # a 1x1 kernel commutes with upsampling: convolve at the low rate
        return upsample2d(cpu_conv.conv2d(x, w, groups=groups), f)
    return upsample_conv2d(x, phase_kernels(w), f, groups)
