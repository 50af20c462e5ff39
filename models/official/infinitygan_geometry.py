"""Where every pixel of every InfinityGAN layer sits in the world, and what each pixel depends on.

The generator is padding-free and centre-aligned, so along each axis a layer's pixel n sits at structure
cell position (n + a) / b, and a window of S structure cells has b * S - d pixels (a Grid). Output pixels
are b_out = 16 px per structure cell (for the 101-px patch), so a local latent cell is 16 world px and a
tile is the official patch stride: 6 cells = 96 px, the first 96 of the official 101-px patch.
World pixel p of a window starting at structure cell c0 is output pixel p - (16 c0 + shift + a_out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .infinitygan import Architecture

Range = tuple[int, int]  # half-open [lo, hi) of pixel indices along one axis


@dataclass(frozen=True)
class Grid:
    """One layer's pixels along an axis: index n at structure cell position (n + a) / b, b * S - d of them."""

    b: int
    a: int
    d: int

    def size(self, s: int) -> int:
        return self.b * s - self.d

    def conv(self, r: int) -> Grid:
        """After an unpadded (2r + 1)-tap convolution."""
        return Grid(self.b, self.a + r, self.d + 2 * r)

    def upsampled(self) -> Grid:
        """After a 3-tap transposed convolution (stride 2), the [1:-1] crop and the unpadded 3-tap blur."""
        return Grid(2 * self.b, 2 * self.a + 1, 2 * self.d + 3)

    def skip_upsampled(self) -> Grid:
        """After the ToRGB skip's 3-tap transposed FIR (stride 2) and its [1:-1] crop."""
        return Grid(2 * self.b, 2 * self.a, 2 * self.d + 1)


def _conv_needs(rng: Range, r: int) -> Range:
    return rng[0], rng[1] + 2 * r


def _transposed_needs(lo: int, hi: int) -> Range:
    """Inputs k of a stride-2, 3-tap transposed convolution reaching its outputs m in [lo, hi]."""
    return -((2 - lo) // 2), hi // 2 + 1  # ceil((lo - 2) / 2) .. floor(hi / 2)


def _union(a: Range | None, b: Range) -> Range:
    return b if a is None else (min(a[0], b[0]), max(a[1], b[1]))


class PatchGeometry:
    """Grids of every layer, windows on the world, and exact per-layer dependencies of output pixels."""

    def __init__(self, arch: Architecture, ts_input_size: int = 11):
        layers, r = arch.ss_n_layers, arch.ss_unfold_radius
        self.radius, self.margin = r, layers * r
        self.z_local = Grid(1, -self.margin, -2 * self.margin)
        self.ss_inputs = [Grid(1, -self.margin + k * r, -2 * self.margin + 2 * k * r) for k in range(layers)]
        self.structure = Grid(1, 0, 0)
        self.conv_inputs: list[Grid] = []
        self.conv_outputs: list[Grid] = []
        g = self.structure
        for _ in arch.ts_widths:
            for nxt in (g.upsampled(), g.upsampled().conv(1)):
                self.conv_inputs.append(g)
                self.conv_outputs.append(nxt)
                g = nxt
        self.rgb = self.conv_outputs[1::2]  # each plain conv feeds a ToRGB
        # the upsampled skip of a ToRGB, centre-cropped by `offset`, lands exactly on the next ToRGB's pixels
        self.skip_offsets = []
        for prev, cur in zip(self.rgb, self.rgb[1:], strict=False):
            up = prev.skip_upsampled()
            offset = cur.a - up.a
            assert up.b == cur.b and cur.d - up.d == 2 * offset >= 0, "ToRGB skips are not centre-aligned"
            self.skip_offsets.append(offset)
        out = self.output = self.conv_outputs[-1]
        self.unit = out.b  # world px per local latent cell
        patch = out.size(ts_input_size)
        self.tile = (patch // self.unit) * self.unit  # the official patch stride (96 for 101-px patches)
        # place cells so that a cell's influence centres inside its own world interval as well as the
        # tile grid allows: world pixel p = unit * c0 + shift + a_out + n
        self.shift = self.unit * round((out.a + self.unit / 2 - 0.5) / self.unit) - out.a

    # -- windows -----------------------------------------------------------------------------------------
    def window(self, x: int, width: int) -> tuple[int, int, int]:
        """(first structure cell c0, structure cells S, first output pixel n0) of pixels [x, x + width)."""
        u, out = self.unit, self.output
        c0 = (x - self.shift - out.a) // u
        n0 = x - (u * c0 + self.shift + out.a)
        s = max(1, math.ceil((n0 + width + out.d) / u))
        return c0, s, n0

    def centres(self, g: Grid, c0: int, s: int) -> np.ndarray:
        """World coordinates of the pixel centres of grid g for a window at structure cell c0."""
        n = np.arange(g.size(s), dtype=np.float64)
        return self.unit * c0 + self.shift + 0.5 + (self.unit / g.b) * (n + g.a)

    def cell_start(self, g: Grid, c0: int) -> int:
        """World lattice cell (spacing unit / b) holding the centre of pixel 0 of grid g."""
        return g.b * c0 + g.a + self.shift // (self.unit // g.b)

    # -- dependencies ------------------------------------------------------------------------------------
    def needed(self, n0: int, width: int) -> dict:
        """Index ranges of every layer that output pixels [n0, n0 + width) depend on:
        {"conv": [per texture conv output], "rgb": [per ToRGB], "structure": r, "ss": [per block input],
        "z_local": r}."""
        rgb: list[Range] = [(n0, n0 + width)]
        for offset in reversed(self.skip_offsets):  # the upsampled skip read by the ToRGB above
            lo, hi = rgb[0]
            rgb.insert(0, _transposed_needs(lo + offset + 1, hi - 1 + offset + 1))
        conv: list[Range | None] = [None] * len(self.conv_outputs)
        below: Range | None = None  # what the layer above reads from this one
        for i in reversed(range(len(conv))):
            need = below
            if i % 2 == 1:
                need = _union(need, rgb[i // 2])
            conv[i] = need
            if i % 2 == 1:
                below = _conv_needs(need, 1)
            else:  # blur over the cropped transposed output, then the transposed conv itself
                below = _transposed_needs(need[0] + 1, need[1] + 2)
        structure = below
        ss: list[Range] = []
        for _ in range(len(self.ss_inputs)):
            below = _conv_needs(below, self.radius)
            ss.insert(0, below)
        return {"conv": conv, "rgb": rgb, "structure": structure, "ss": ss, "z_local": ss[0]}
