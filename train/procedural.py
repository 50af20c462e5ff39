"""Procedural landscapes: an infinite, deterministic training source (numpy only).

Image ``i`` of ``ProceduralLandscapes(seed=s)`` is a pure function of (s, i, resolution, width): a
sky gradient with a sun or moon glow, fBm clouds, 2-5 hazy ridgelines from far to near and, in
some images, a rippled water band reflecting them. Every layer is periodic in x with period equal
to the image width, so any horizontal crop (across the wrap too) is statistically alike, and
``strip(i, width)`` gives arbitrarily wide images whose features keep their size in pixels.

Horizon convention: the horizon (foot of the farthest ridge, the shoreline when there is water)
is the row boundary ``horizon_row(H) = round(HORIZON_FRACTION * H)``; the centre of row r lies at
world y = r + 0.5 - horizon_row(H) (down positive), which is what the generator's saturating
vertical coordinate expects (horizon at world y = 0).

Identical bytes for the same (seed, index, size) on one platform; BLAS or SIMD differences between
machines may move a few values by one code.
"""

from __future__ import annotations

import functools

import numpy as np

HORIZON_FRACTION = 0.6  # horizon row / image height
PALETTES = ("dawn", "day", "dusk", "night")

# Palette anchors (sRGB floats); every image jitters them and may blend two palettes.
_PALETTE_COLOURS = {
    # zenith, horizon, glow (sun or moon), ground, haze, cloud light, cloud shadow
    "dawn": ((0.30, 0.40, 0.68), (1.00, 0.74, 0.62), (1.00, 0.86, 0.62), (0.22, 0.18, 0.28),
            (0.86, 0.70, 0.74), (1.00, 0.82, 0.76), (0.52, 0.48, 0.62)),
    "day": ((0.22, 0.44, 0.80), (0.72, 0.84, 0.94), (1.00, 0.98, 0.90), (0.16, 0.28, 0.14),
           (0.66, 0.76, 0.86), (1.00, 1.00, 1.00), (0.70, 0.75, 0.84)),
    "dusk": ((0.16, 0.14, 0.36), (1.00, 0.52, 0.22), (1.00, 0.72, 0.32), (0.12, 0.07, 0.14),
            (0.74, 0.42, 0.38), (1.00, 0.62, 0.40), (0.34, 0.22, 0.34)),
    "night": ((0.01, 0.02, 0.06), (0.08, 0.12, 0.22), (0.90, 0.93, 1.00), (0.02, 0.03, 0.05),
             (0.10, 0.14, 0.24), (0.34, 0.37, 0.45), (0.07, 0.08, 0.12)),
}
_KEYS = ("zenith", "horizon", "glow", "ground", "haze", "cloud_light", "cloud_shadow")


def horizon_row(height: int) -> int:
    """Row boundary of the horizon in an image of this height (rows above it are above the horizon)."""
    return int(round(HORIZON_FRACTION * height))


def world_y(height: int) -> np.ndarray:
    """World y of each row centre [height]: 0 at the horizon, growing downward, in pixels."""
    return np.arange(height, dtype=np.float64) + 0.5 - horizon_row(height)


# ---------------------------------------------------------------- noise
# Lattice gradient noise sampled on a pixel grid is separable: blend lattice rows for every pixel
# row, then lattice columns for every pixel column (weights for one term, offset-weighted for the
# other). Only gathers and elementwise products: no BLAS, whose threads fight over 2 busy cores.


def _axis(u: np.ndarray, periodic_cells: int = 0) -> tuple[np.ndarray, ...]:
    """Lattice indices i0, i1, quintic weights w0, w1 and offset-weighted d0, d1 for positions u."""
    i0 = np.floor(u).astype(np.int64)
    f = (u - i0).astype(np.float32)
    w1 = f * f * f * (f * (f * 6 - 15) + 10)
    w0 = 1 - w1
    i1 = i0 + 1
    if periodic_cells:
        i0, i1 = i0 % periodic_cells, i1 % periodic_cells
    return i0, i1, w0, w1, w0 * f, w1 * (f - 1)


@functools.lru_cache(maxsize=256)
def _x_axis(width: int, cells: int) -> tuple[np.ndarray, ...]:
    """Periodic x-axis weights; cached because every image reuses the same few (width, cells)."""
    out = _axis((np.arange(width) + 0.5) * (cells / width), cells)
    for a in out:
        a.flags.writeable = False
    return out


def _blend_rows(g, i0, i1, a0, a1):
    return g[i0] * a0[:, None] + g[i1] * a1[:, None]


def _blend_cols(g, i0, i1, a0, a1):
    return g[:, i0] * a0 + g[:, i1] * a1


def fbm2d(rng: np.random.Generator, ys: np.ndarray, width: int, cell_px: float, aspect: float = 1.0,
          octaves: int = 5, gain: float = 0.5) -> np.ndarray:
    """Fractal gradient noise [len(ys), width], periodic in x; ys are row positions in pixels.

    ``cell_px`` is the coarsest lattice spacing vertically, ``aspect`` stretches cells horizontally."""
    out = np.zeros((len(ys), width), np.float32)
    amp, total = 1.0, 0.0
    for k in range(octaves):
        cy = cell_px / 2**k
        cells_x = max(1, int(round(width / (cy * aspect))))
        yi0, yi1, yw0, yw1, yd0, yd1 = _axis(np.asarray(ys, np.float64) / cy)
        if yi0.min() < 0:  # rows above the reference frame: the noise is stationary, so shift it
            yi1, yi0 = yi1 - yi0.min(), yi0 - yi0.min()
        xi0, xi1, xw0, xw1, xd0, xd1 = _x_axis(width, cells_x)
        theta = rng.uniform(0, 2 * np.pi, (int(yi1.max()) + 1, cells_x)).astype(np.float32)
        # x offsets are in x-cell units; dividing by aspect keeps gradients isotropic in pixels
        gx = _blend_rows(np.cos(theta) / np.float32(aspect), yi0, yi1, yw0, yw1)
        gy = _blend_rows(np.sin(theta), yi0, yi1, yd0, yd1)
        out += np.float32(amp) * (_blend_cols(gx, xi0, xi1, xd0, xd1) + _blend_cols(gy, xi0, xi1, xw0, xw1))
        total += amp
        amp *= gain
    return out / np.float32(0.25 * total)  # std about 0.35


def fbm1d(rng: np.random.Generator, width: int, cell_px: float, octaves: int = 6,
          gain: float = 0.5) -> np.ndarray:
    """Fractal 1D gradient noise [width], periodic with period ``width``, roughly in [-1, 1]."""
    out = np.zeros(width, np.float32)
    amp, total = 1.0, 0.0
    for k in range(octaves):
        cells = max(1, int(round(width * 2**k / cell_px)))
        i0, i1, _, _, d0, d1 = _x_axis(width, cells)
        g = rng.uniform(-1, 1, cells).astype(np.float32)
        out += np.float32(amp) * (g[i0] * d0 + g[i1] * d1)
        total += amp
        amp *= gain
    return out / np.float32(0.18 * total)


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0, 1)
    return t * t * (3 - 2 * t)


def _mix(a, b, t):
    return a + (b - a) * t


# ---------------------------------------------------------------- scene layers


def _palette(rng: np.random.Generator) -> tuple[str, dict[str, np.ndarray]]:
    name = PALETTES[rng.choice(4, p=[0.2, 0.4, 0.25, 0.15])]
    cols = np.array(_PALETTE_COLOURS[name], np.float32)  # [7, 3]
    if rng.random() < 0.3:  # in-between light (late afternoon, blue hour)
        other = np.array(_PALETTE_COLOURS[PALETTES[rng.integers(4)]], np.float32)
        cols = _mix(cols, other, rng.uniform(0, 0.35))
    jitter = np.exp(rng.normal(0, 0.08, (7, 3))).astype(np.float32)
    jitter[2] = 1 + (jitter[2] - 1) * 0.2  # sun and moon keep their colour
    cols = cols * jitter * rng.uniform(0.85, 1.1)
    return name, dict(zip(_KEYS, np.clip(cols, 0, 1), strict=True))


def _sky(rng, rows, W, S, h0, pal, night):
    """Gradient + glow [len(rows), W, 3], glow map [len(rows), W] (for lit clouds). Above the
    reference frame the sky is the zenith colour: the world saturates going up."""
    t = np.clip((rows + 0.5) / h0, 0, 1) ** rng.uniform(1.2, 2.2)
    grad = _mix(pal["zenith"], pal["horizon"], t[:, None])[:, None, :]  # [R, 1, 3]
    sx = rng.uniform(0, W)
    sy = h0 * rng.uniform(0.25, 0.85)
    dx = np.abs(np.arange(W, dtype=np.float32) + 0.5 - sx)
    dx = np.minimum(dx, W - dx)  # periodic distance keeps the glow seamless across the wrap
    dy = rows + 0.5 - sy
    halo_r = S * rng.uniform(0.12, 0.3) * (0.6 if night else 1.0)
    disk_r = S * rng.uniform(0.018, 0.035)
    k = np.float32(-1 / halo_r**2)
    # a Gaussian is separable: outer product of two 1D profiles instead of R*W exponentials
    glow = np.outer(np.exp(k * dy**2) * np.float32(rng.uniform(0.35, 0.75)), np.exp(k * dx**2))
    sky = grad + glow[..., None] * (pal["glow"] - 0.5 * grad)
    if night or rng.random() < 0.75:  # else the sun is hidden behind haze: glow only
        near = np.nonzero(np.abs(dy) < disk_r + 2.5)[0]
        if len(near):
            r0, r1 = near[0], near[-1] + 1
            dist = np.sqrt(dy[r0:r1, None] ** 2 + dx[None, :] ** 2)
            disk = np.clip((disk_r - dist) / 1.2 + 0.5, 0, 1)  # antialiased edge
            sky[r0:r1] = _mix(sky[r0:r1], pal["glow"], disk[..., None])
            glow[r0:r1] += disk
    if night:
        above = rows < h0
        ys, xs = np.nonzero(rng.random((int(above.sum()), W)) < 0.004 * (1 - t[above, None]))
        sky[np.nonzero(above)[0][ys], xs] += rng.uniform(0.2, 0.9, (len(ys), 1)).astype(np.float32)
    return sky, glow


def _cloud_deck(rows, S, h0):
    """Cloud-deck coordinate of sky rows: rows nearer the horizon look farther into a flat deck
    (compressed like perspective); above the reference frame it continues linearly, so the
    clouds overhead are a stationary field, neither stretched into streaks nor squeezed."""
    elev = 1 - (rows + 0.5) / h0
    top = S * 0.25 / 1.12  # the deck at elev = 1 (the reference frame's top row)
    slope = S * 0.25 / 1.12**2  # its derivative there
    return np.where(elev <= 1, S * 0.25 / (np.maximum(elev, 0) + 0.12), top - slope * (elev - 1)), elev


def _clouds(rng, sky, glow, rows, S, h0, pal):
    R, W, _ = sky.shape
    above = np.nonzero(rows < h0)[0]
    if len(above) == 0:
        return
    deck, elev = _cloud_deck(rows[above], S, h0)
    noise = fbm2d(rng, deck, W, cell_px=S * rng.uniform(0.25, 0.5), aspect=rng.uniform(2, 4), octaves=6)
    cover = rng.uniform(-0.3, 0.6)  # threshold: low = overcast, high = clear
    soft = rng.uniform(0.06, 0.25)
    dens = _smoothstep(cover - soft, cover + soft, noise) * _smoothstep(0.0, 0.35, elev)[:, None]
    dens *= np.float32(rng.uniform(0.55, 0.95))
    # thicker parts are shadowed underneath; lit by the glow near the sun
    shade = np.clip((noise - cover) * 1.5, 0, 1)[..., None]
    col = _mix(pal["cloud_light"], pal["cloud_shadow"], shade) + glow[above, :, None] * (0.6 * pal["glow"])
    sky[above] = _mix(sky[above], col, dens[..., None])


def _ridge_lines(rng, S, W, h0, water):
    """2-5 ridge crest lines [n, W] (row positions), far to near, and the trees-free lines."""
    n = int(rng.integers(2, 6))
    lines = []
    for k in range(n):
        t = k / (n - 1)  # 0 far .. 1 near
        if water:  # every ridge stands on the shoreline
            base = h0 - S * (0.01 + 0.03 * t)
            amp = S * rng.uniform(0.06, 0.24) * (1 - 0.4 * t)
        else:
            base = h0 + (S - h0) * 0.4 * t**1.1
            amp = S * rng.uniform(0.06, 0.22) * (1 - 0.3 * t)
        cell_px = S * rng.uniform(0.4, 1.0) * (0.8 + 0.6 * t)
        if rng.random() < 0.6 * (1 - t):
            # ridged noise, 1 - 2|n| of broad noise: sharp alpine peaks, mostly in the distance
            broad = fbm1d(rng, W, cell_px=2 * cell_px, gain=rng.uniform(0.35, 0.5))
            shape = 1 - 2 * np.abs(np.clip(broad, -1, 1)) + 0.3 * fbm1d(rng, W, cell_px=cell_px / 4)
        else:
            shape = fbm1d(rng, W, cell_px=cell_px, gain=rng.uniform(0.4, 0.6))
        lines.append(base - amp * (0.5 + 0.5 * np.clip(shape, -1.5, 1.5)))
    smooth = np.stack(lines).astype(np.float32)
    crests = smooth.copy()
    if rng.random() < 0.7:
        crests[-1] -= _trees(rng, W, S)
    return smooth, crests


def _ridges(rng, img, r_top, S, h0, pal, water, texture):
    """Draw 2-5 ridgelines far to near into the rows above ``floor`` with atmospheric perspective.

    img holds rows r_top .. r_top + len(img) of the reference frame; the nearest ridge fills
    everything down to the shoreline, or without water down to the bottom (the ground goes on
    below the reference frame)."""
    W = img.shape[1]
    smooth, crests = _ridge_lines(rng, S, W, h0, water)
    floor = min(h0, r_top + len(img)) if water else r_top + len(img)
    n = len(crests)
    haze_strength = rng.uniform(0.55, 0.9)
    mist = rng.uniform(0.15, 0.6)
    for k in range(n):
        t = k / (n - 1)
        far = 1 - t
        # Only rows between this crest and where the next (opaque) layer covers everything matter.
        r0 = max(r_top, int(np.floor(crests[k].min())))
        r1 = floor if k == n - 1 else min(floor, int(np.ceil(crests[k + 1].max())) + 1)
        if r1 <= r0:
            continue
        ys = np.arange(r0, r1, dtype=np.float32)[:, None] + 0.5
        alpha = np.clip(ys - crests[k][None, :] + 0.5, 0, 1)  # antialiased silhouette edge
        haze = haze_strength * far**1.3
        colour = _mix(pal["ground"] * rng.uniform(0.8, 1.25, 3).astype(np.float32), pal["haze"], haze)
        # valley mist: each layer fades toward haze below its crest, so bands separate visibly;
        # measured from the line without trees, else every trunk would leave a vertical streak
        depth = np.clip((ys - smooth[k][None, :]) * np.float32(1 / (S * 0.2)), 0, 1)
        rows = slice(r0 - r_top, r1 - r_top)
        shade = (1 + (0.1 + 0.25 * t) * texture[rows])[..., None]  # ground texture, strongest up close
        fill = _mix(colour, pal["haze"], (np.float32(mist * (0.3 + 0.7 * far)) * depth)[..., None]) * shade
        img[rows] = _mix(img[rows], fill, alpha[..., None])


def _trees(rng, W, S):
    """Heights [W] of conifer silhouettes along a ridge: one candidate tree per cell, periodic."""
    cell = max(2, int(S * rng.uniform(0.012, 0.03)))
    cells = max(1, W // cell)
    present = rng.random(cells) < rng.uniform(0.3, 0.9)
    height = S * rng.uniform(0.02, 0.06, cells) * present
    centre = (np.arange(cells) + rng.uniform(0.2, 0.8, cells)) * (W / cells)
    x = np.arange(W, dtype=np.float32) + 0.5
    out = np.zeros(W, np.float32)
    for shift in (-1, 0, 1):  # neighbouring cells' trees may overlap this cell
        j = (np.floor(x * cells / W).astype(np.int64) + shift) % cells
        dx = np.abs(x - centre[j])
        dx = np.minimum(dx, W - dx)
        out = np.maximum(out, height[j] * np.clip(1 - dx / (0.32 * height[j] + 1e-6), 0, 1))
    return out.astype(np.float32)


def _water(rng, img, r_top, S, h0, pal, texture, bottom):
    """Rows from h0 to ``bottom`` become a rippled, tinted mirror of the rows above them."""
    W = img.shape[1]
    y = np.arange(max(h0, r_top), min(bottom, r_top + len(img)))
    if len(y) == 0:
        return
    dist = (y - h0 + 0.5) / max(1, S - h0)  # 0 at the shoreline, 1 at the reference frame's bottom
    src = 2 * h0 - 1 - y  # painted too: the caller paints the mirrored rows
    # ripples grow toward the viewer; x-shifts keep the reflection periodic
    amp = S * 0.012 * (0.2 + dist) * rng.uniform(0.5, 1.5)
    ripple = np.sin(y * rng.uniform(0.8, 1.6) + rng.uniform(0, 6.3))[:, None] + texture[y - r_top] * 2
    shift = np.round(amp[:, None] * ripple).astype(np.int64)
    cols = (np.arange(W)[None, :] + shift) % W
    refl = img[(src - r_top)[:, None], cols]
    tint = _mix(pal["zenith"], pal["haze"], 0.5) * 0.6
    darken = rng.uniform(0.55, 0.8)
    img[y - r_top] = _mix(refl * darken, tint, (0.25 + 0.35 * dist)[:, None, None])


def _foreground(rng, img, r_top, pal, texture, top):
    """Below a lake, the near shore: dark ground with coarse texture from ``top`` down."""
    r0 = max(top, r_top) - r_top
    if r0 < len(img):
        colour = pal["ground"] * np.float32(rng.uniform(0.6, 0.9))
        img[r0:] = colour * (1 + 0.3 * texture[r0:])[..., None]


def render_landscape(seed: int, index: int, height: int, width: int, top: int | None = None,
                     scene_height: int | None = None) -> np.ndarray:
    """A window of one landscape, uint8 [height, width, 3]; a pure function of its arguments.

    The landscape is laid out for a reference frame ``scene_height`` px tall (default: ``height``)
    with its horizon at ``horizon_row(scene_height)``, and goes on above (zenith sky and clouds
    overhead) and below (ground, or a lake and then its near shore) without end. ``top`` is the
    world y of the window's first row (horizon at world y = 0; default: the reference frame's
    top, so the window is the reference frame itself)."""
    rng = np.random.default_rng([int(seed), int(index)])
    S, H, W = int(scene_height or height), int(height), int(width)
    h0 = horizon_row(S)
    r_top = (-h0 if top is None else int(top)) + h0  # reference-frame row of the window's first row
    name, pal = _palette(rng)
    night = name == "night"
    water = rng.random() < 0.35
    lake_bottom = S + int(S * rng.uniform(0.0, 0.6))  # below the lake: its near shore
    # The rows painted: the window, and above it whatever a lake in the window mirrors.
    p_top = r_top
    if water and r_top + H > h0:
        p_top = min(r_top, 2 * h0 - min(lake_bottom, r_top + H))
    rows = np.arange(p_top, r_top + H, dtype=np.float32)
    img, glow = _sky(rng, rows, W, S, h0, pal, night)
    _clouds(rng, img, glow, rows, S, h0, pal)
    texture = fbm2d(rng, rows + 0.5, W, cell_px=S * 0.08, aspect=2.0, octaves=3)
    _ridges(rng, img, p_top, S, h0, pal, water, texture)
    if water:
        _water(rng, img, p_top, S, h0, pal, texture, lake_bottom)
        _foreground(rng, img, p_top, pal, texture, lake_bottom)
    img = img[r_top - p_top:]
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


class ProceduralLandscapes:
    """Endless, deterministic landscape images: ``ds[i]`` -> uint8 [resolution, width, 3].

    By default image i is the whole landscape (its horizon at ``horizon_row``). With ``vertical``
    (a VerticalRange of train/frames.py) each landscape is laid out for a ``scene_height`` px
    frame and image i is the window of it whose top row sits at a world y drawn from that range
    (from the image's own seed): sky far above, the landscape band, ground far below."""

    def __init__(self, resolution: int = 256, seed: int = 0, width: int | None = None,
                 scene_height: int | None = None, vertical=None):
        if resolution < 8:
            raise ValueError(f"resolution {resolution} is too small for a landscape; use 8 or more")
        self.resolution = int(resolution)  # image height H (and width unless `width` is given)
        self.width = int(width or resolution)
        self.seed = int(seed)
        self.scene_height = int(scene_height or resolution)
        self.vertical = vertical

    @property
    def horizon_row(self) -> int | None:
        """Row boundary of the horizon in every image (see the module docstring); None when the
        images are windows at varying heights."""
        return None if self.vertical is not None else horizon_row(self.resolution)

    def top(self, index: int) -> int:
        """World y of image ``index``'s first row."""
        if self.vertical is None:
            return -horizon_row(self.scene_height)
        return int(self.vertical.draw(np.random.default_rng([self.seed, int(index), 1]), 1)[0])

    def __len__(self) -> int:
        return 2**31

    def __getitem__(self, index: int) -> np.ndarray:
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.strip(index, self.width)

    def strip(self, index: int, width: int) -> np.ndarray:
        """Image ``index`` rendered ``width`` pixels wide, periodic with that period."""
        return render_landscape(self.seed, index, self.resolution, width, self.top(index), self.scene_height)

    def batch(self, indices) -> np.ndarray:
        """Images for ``indices`` stacked as uint8 [N, H, W, 3]."""
        return np.stack([self[int(i)] for i in indices])
