"""Where every pixel of every InfinityGAN layer sits in the world, and what each pixel depends on.

The generator is padding-free and centre-aligned, so along each axis a layer is a Grid (models/geometry.py)
over windows of whole structure cells: a window of S structure cells starting at cell c0 is the world window
(unit * c0, unit * S), and a layer with b pixels per structure cell has scale unit / b. Output pixels are
unit = 16 px per structure cell (for the 101-px patch), so a local latent cell is 16 world px and a tile is
the official patch stride: 6 cells = 96 px, the first 96 of the official 101-px patch.
World pixel p of a window starting at structure cell c0 is output pixel p - (16 c0 + shift + offset_out).
"""

from __future__ import annotations

import math

import numpy as np

from ..geometry import Grid
from .generator import Architecture

Range = tuple[int, int]  # half-open [lo, hi) of pixel indices along one axis


def _upsampled(g: Grid) -> Grid:
    """After a 3-tap transposed convolution (stride 2), the [1:-1] crop and the unpadded 3-tap blur."""
    return Grid(g.scale // 2, 2 * g.offset + 1, 2 * g.extra - 3)


def _skip_upsampled(g: Grid) -> Grid:
    """After the ToRGB skip's 3-tap transposed FIR (stride 2) and its [1:-1] crop."""
    return Grid(g.scale // 2, 2 * g.offset, 2 * g.extra - 1)


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
        self.unit = u = 2 ** len(arch.ts_widths)  # world px per structure (and local latent) cell
        self.z_local = Grid(u, -self.margin, 2 * self.margin)
        self.ss_inputs = [Grid(u, -self.margin + k * r, 2 * self.margin - 2 * k * r) for k in range(layers)]
        self.structure = Grid(u, 0, 0)
        self.conv_inputs: list[Grid] = []
        self.conv_outputs: list[Grid] = []
        g = self.structure
        for _ in arch.ts_widths:
            for nxt in (_upsampled(g), _upsampled(g).conv(1)):
                self.conv_inputs.append(g)
                self.conv_outputs.append(nxt)
                g = nxt
        self.rgb = self.conv_outputs[1::2]  # each plain conv feeds a ToRGB
        # the upsampled skip of a ToRGB, centre-cropped by `offset`, lands exactly on the next ToRGB's pixels
        self.skip_offsets = []
        for prev, cur in zip(self.rgb, self.rgb[1:], strict=False):
            up = _skip_upsampled(prev)
            offset = cur.offset - up.offset
            assert up.scale == cur.scale and up.extra - cur.extra == 2 * offset >= 0, \
                "ToRGB skips are not centre-aligned"
            self.skip_offsets.append(offset)
        out = self.output = self.conv_outputs[-1]
        assert out.scale == 1, out
        patch = self.pixels(out, ts_input_size)
        self.tile = (patch // self.unit) * self.unit  # the official patch stride (96 for 101-px patches)
        # place cells so that a cell's influence centres inside its own world interval as well as the
        # tile grid allows: world pixel p = unit * c0 + shift + a_out + n
        self.shift = self.unit * round((out.offset + self.unit / 2 - 0.5) / self.unit) - out.offset

    # -- windows -----------------------------------------------------------------------------------------
    def window(self, x: int, width: int) -> tuple[int, int, int]:
        """(first structure cell c0, structure cells S, first output pixel n0) of pixels [x, x + width)."""
        u, out = self.unit, self.output
        c0 = (x - self.shift - out.offset) // u
        n0 = x - (u * c0 + self.shift + out.offset)
        s = max(1, math.ceil((n0 + width - out.extra) / u))
        return c0, s, n0

    def centres(self, g: Grid, c0: int, s: int) -> np.ndarray:
        """World coordinates of the pixel centres of grid g for a window at structure cell c0."""
        # pixel centres here sit at world p + 0.5 (shifted), not at the centre of the scale's block
        return g.centres(self.unit * c0, self.unit * s).numpy() + (self.shift + 0.5 - (g.scale - 1) / 2)

    def pixels(self, g: Grid, s: int) -> int:
        """Pixels of grid g in a window of s structure cells."""
        return g.size(self.unit * s)

    def cell_start(self, g: Grid, c0: int) -> int:
        """World lattice cell (spacing g.scale) holding the centre of pixel 0 of grid g."""
        return g.start(self.unit * c0) + self.shift // g.scale

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
