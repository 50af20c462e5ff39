"""Our InfinityGAN reproduces the official code on the same weights, and lives on the canvas exactly.

Fixtures (tests/fixtures/official/infinitygan*): the official code (hubert0527/infinityGAN a9b45dd) was run
outside this repository on the CPU, its CUDA-only ops replaced by reference implementations, on a small
random-init network: model config as in infinitygan.json (global 8, local 4, 101-px patches), texture
conv widths narrowed from the hard-coded 512 / 256 * channel_multiplier to 8 / 6 by a text substitution
in that throwaway copy, every parameter perturbed by 0.3 * N(0, 1) so noise weights and biases matter.
Stored: its g_ema state dict, the coordinates its CoordHandler made, and its outputs for
- "fused": one patch, g_ema called directly with two global latents blended per pixel (the
  spatially-shaped styles of fused generation, weights 0.5 +- 0.4 sin(...) per layer, see fusion_weights);
- "block": a 197x197 canvas of 2x2 patches assembled by InfiniteGenerationManager.generate with
  parallel_batch_size 4 (test_meta_extra_pad set to 1 so ceil((197 - 101) / 96) + 1 = 2 patches a side).
The latents and noise it consumed are np.random.RandomState(seed).standard_normal draws, the seeds listed
in infinitygan.json (with digests), regenerated here.
"""

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from infiniscape.models.contract import CellRange, RenderSettings, Tile
from infiniscape.models.errors import ModelLoadError, UserError
from infiniscape.models.infinitygan.config import coordinate_grid, infer_architecture
from infiniscape.models.infinitygan.generator import InfinityGANGenerator
from infiniscape.models.infinitygan.model import InfinityGANCanvas
from infiniscape.models.registry import load_model
from infiniscape.renderer.edits import AddAnchor, Resample
from infiniscape.renderer.fusion import FusionParams
from infiniscape.renderer.scene import Scene
from infiniscape.renderer.world import World

TOL = 1e-4  # ours vs the official code (fp32, CPU)
EXACT = 1e-5  # tiles vs a one-shot render: padding-free, so equal up to float rounding
HERE = Path(__file__).parent / "fixtures" / "official"
SPEC = json.loads((HERE / "infinitygan.json").read_text())
NET = torch.load(HERE / "infinitygan_net.pt", weights_only=True)
STATE = NET["g_ema"]


def normal(seed: int, shape) -> np.ndarray:
    return np.random.RandomState(seed).standard_normal(tuple(shape)).astype(np.float32)


def fusion_weights(h: int, w: int, phase: float) -> np.ndarray:
    """Two styles' per-pixel weights [1, 2, h, w], summing to 1 (as fed to the official code)."""
    i, j = np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]
    w1 = 0.5 + 0.4 * np.sin(np.float32(0.37) * i + np.float32(0.23) * j + np.float32(phase))
    return np.stack([1 - w1, w1]).astype(np.float32)[None]


def write_checkpoint(path: Path, state: dict, legacy_numpy: bool = False, **extra) -> Path:
    """A training checkpoint as the official train.py writes it (a numpy float for best_fid included);
    legacy_numpy names that float as numpy 1.x pickles do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"iter": 3000, "best_fid": np.float64(42.5), "g": state, "d": {}, "g_ema": state,
               "g_optim": {"state": {}, "param_groups": [{"lr": 0.002, "betas": (0.0, 0.99)}]},
               "d_optim": {}, "mean_path_lengths": [torch.tensor(0.5)], **extra}
    torch.save(payload, path)
    if legacy_numpy:
        src, buf = zipfile.ZipFile(path), io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as dst:
            for info in src.infolist():
                data = src.read(info.filename)
                if info.filename.endswith("data.pkl"):
                    assert b"numpy._core.multiarray" in data
                    data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
                dst.writestr(info.filename, data)
        path.write_bytes(buf.getvalue())
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> InfinityGANCanvas:
    path = write_checkpoint(tmp_path_factory.mktemp("igan") / "logs/tiny/ckpt/best_fid.pth.tar", STATE)
    return load_model(path)


class OneStyle:
    """The official infinite generation: one global latent with weight 1 everywhere (a StyleMap)."""

    def __init__(self, z: np.ndarray):
        self.z = z.reshape(1, -1)

    def plan(self, box, latents, spec):
        return self

    def weights(self, xs, ys) -> np.ndarray:
        return np.ones((1, len(ys), len(xs)), np.float32)


class OfficialCanvas:
    """The official manager's canvas-wide tensors as our lattices (a LatentSource).

    Official row i is our row i - 20 (its coordinates put the horizon at the canvas's middle row 20, ours
    at world row 0); official column j is our column j + 556 = j + 4 * 139 (a whole number of horizontal
    periods, so the coordinates agree), which puts official patch (0, 0) on our tile (95, -1): its structure
    latent starts at cell (568, -8) = 6 * (95, -1) - 2."""

    ROW, COL = -20, 556
    C0 = (-8, 568)  # structure cell (row, col) of official patch (0, 0)

    def __init__(self, model: InfinityGANCanvas):
        b = SPEC["inputs"]["block"]
        self.geo = model.geometry
        self.z_local = normal(*b["z_local"])[0]
        self.noises = [normal(s, shape)[0]
                       for s, shape in zip(b["noise_seeds"], b["noise_shapes"], strict=True)]

    def cells(self, spec, c: CellRange) -> np.ndarray:
        if spec.name == "local":
            oy, ox, a = self.ROW, self.COL, self.z_local
        else:
            g = self.geo.conv_outputs[int(spec.name[5:])]
            oy, ox, a = self.geo.cell_start(g, self.C0[0]), self.geo.cell_start(g, self.C0[1]), \
                self.noises[int(spec.name[5:])]
        assert 0 <= c.y0 - oy and c.y1 - oy <= a.shape[1] and 0 <= c.x0 - ox and c.x1 - ox <= a.shape[2], \
            f"{spec.name} cells {c} lie outside the official canvas"
        return a[:, c.y0 - oy:c.y1 - oy, c.x0 - ox:c.x1 - ox]

    @property
    def origin(self) -> tuple[int, int]:
        """World pixel of the official canvas's top-left pixel."""
        geo = self.geo
        return tuple(geo.unit * c + geo.shift + geo.output.offset for c in self.C0[::-1])


def max_diff(a, b) -> float:
    return float((torch.as_tensor(a) - torch.as_tensor(b)).abs().max())


# -- faithful to the official code --------------------------------------------------------------------------
def test_state_dict_names_and_shapes_are_the_official_ones():
    ours = InfinityGANGenerator(infer_architecture(STATE, "fixture")).state_dict()
    assert set(ours) == set(STATE)
    assert all(ours[k].shape == STATE[k].shape for k in ours)


def test_per_pixel_styles_match_the_official_fused_patch(model):
    p = SPEC["inputs"]["patch"]
    z = torch.from_numpy(np.stack([normal(*p["z1"]), normal(*p["z2"])], 1))  # [1, K=2, 8]
    z_local = torch.from_numpy(normal(*p["z_local"]))
    noises = [torch.from_numpy(normal(s, (1, 1, n, n))) for s, n in zip(p["noise_seeds"], p["noise_sizes"],
                                                                         strict=True)]
    ss = torch.from_numpy(fusion_weights(35, 35, p["fusion"]["ss"][1]))
    conv = [torch.from_numpy(fusion_weights(n, n, phase)) for n, phase in p["fusion"]["ts"]]
    weights = {"ss": [ss[:, :, 3 * k:35 - 3 * k, 3 * k:35 - 3 * k] for k in range(4)],  # each block's input
               "conv": conv, "rgb": [conv[i][:, :, 1:-1, 1:-1] for i in (1, 3, 5, 7)]}  # = conv i output
    with torch.no_grad():
        ours = model.generator(z_local, NET["coords"], z, weights, noises)
    assert ours.shape == NET["fused"].shape == (1, 3, 101, 101)
    assert max_diff(ours, NET["fused"]) <= TOL


def test_two_by_two_block_matches_the_official_infinite_generation(model):
    """Parallel-batched patches pasted like the manager, and one forward over the whole block."""
    canvas = OfficialCanvas(model)
    block = torch.load(HERE / "infinitygan_block.pt", weights_only=True)["block"]
    settings = RenderSettings(style_map=OneStyle(normal(*SPEC["inputs"]["block"]["z_global"])))
    x, y = canvas.origin
    step, patch = SPEC["inputs"]["block"]["pixel_step"], 101
    assert (step, model.tile_size) == (96, 96)
    batched = InfinityGANCanvas(model.generator, model.cfg, parallel_batch=4)
    origins = [(x + step * j, y + step * i) for i in range(2) for j in range(2)]
    patches = batched.render_windows(origins, patch, patch, canvas, settings, clamp=False)
    meta = torch.empty_like(block)
    for (ox, oy), img in zip(origins, patches, strict=True):  # later patches overwrite, as generate() does
        meta[0, :, oy - y:oy - y + patch, ox - x:ox - x + patch] = img
    assert max_diff(meta, block) <= TOL
    one_shot = model.render_windows([(x, y)], 197, 197, canvas, settings, clamp=False)
    assert max_diff(one_shot[0], block[0]) <= TOL


def test_coordinates_match_the_official_coord_handler(model):
    cfg = model.cfg
    assert (cfg.horizontal_period, cfg.vertical_step) == (139, pytest.approx(0.3))
    cols = np.arange(35)
    assert max_diff(coordinate_grid(cfg, np.arange(-17, 18), cols), NET["coords"][0]) <= 1e-6
    assert max_diff(coordinate_grid(cfg, np.arange(-20, 21), np.arange(41)), NET["meta_coords"][0]) <= 1e-6
    # the official torus counts rows from the canvas top; a period later everything repeats
    from dataclasses import replace
    torus = replace(cfg, arch=replace(cfg.arch, coord_num_dir=4))
    assert max_diff(coordinate_grid(torus, np.arange(35), cols), NET["coords_maps"][0]) <= 1e-6
    rows = np.arange(3)
    assert max_diff(coordinate_grid(cfg, rows, cols + 139), coordinate_grid(cfg, rows, cols)) <= 1e-6


# -- on the canvas ------------------------------------------------------------------------------------------
def test_tiles_agree_with_a_one_shot_render(model):
    world = World(model, Scene(seed=5, fusion=FusionParams(radius=200, blur=64, step=8)))
    world.apply(AddAnchor((40, 10), seed=7))  # per-pixel style fusion inside the region
    x, y, w, h = -150, -100, 300, 250
    tiles = world.render(x, y, w, h)
    one = model.render_windows([(x, y)], w, h, world.latents(), world.settings())[0]
    assert max_diff(tiles, one.permute(1, 2, 0)) <= EXACT


def test_a_tile_is_the_official_patch_on_the_world_grid(model):
    """Tile (ix, iy) reads the 35x35 local latents from cell 6 * (ix, iy) - 14 (the official stride of 6
    cells = 96 px) and is the first 96x96 pixels of that patch."""
    for ix, iy in [(0, 0), (3, -2), (-5, 7)]:
        fp = model.footprint(Tile(ix, iy))
        assert fp["local"] == CellRange(6 * ix - 14, 6 * iy - 14, 6 * ix + 21, 6 * iy + 21)
        assert fp["noise7"] == CellRange(96 * ix, 96 * iy, 96 * ix + 96, 96 * iy + 96)


class Nudged:
    """A lattice with one cell of one field changed (a LatentSource)."""

    def __init__(self, base, field: str, cell: tuple[int, int]):
        self.base, self.field, self.cell = base, field, cell

    def cells(self, spec, c: CellRange) -> np.ndarray:
        v = self.base.cells(spec, c)
        x, y = self.cell
        if spec.name == self.field and c.x0 <= x < c.x1 and c.y0 <= y < c.y1:
            v = v.copy()
            v[:, y - c.y0, x - c.x0] += 1.0
        return v


def test_footprints_are_exact(model):
    """Every cell on the border of a tile's footprint changes the tile; the cells just outside do not."""
    world, tile = World(model, Scene(seed=6)), Tile(1, -1)
    ref = model.render([tile], world.latents())
    for name, c in model.footprint(tile).items():
        if name == "style":
            continue
        ym = (c.y0 + c.y1) // 2
        xm = (c.x0 + c.x1) // 2
        for inside, outside in [((c.x0, ym), (c.x0 - 1, ym)), ((c.x1 - 1, ym), (c.x1, ym)),
                                ((xm, c.y0), (xm, c.y0 - 1)), ((xm, c.y1 - 1), (xm, c.y1))]:
            for cell, changes in ((inside, True), (outside, False)):
                img = model.render([tile], Nudged(world.latents(), name, cell))
                assert torch.equal(img, ref) != changes, (name, cell)


def _grid(world, x0, y0, cols, rows):
    t = world.tile_size
    tiles = [Tile(x0 + i, y0 + j) for j in range(rows) for i in range(cols)]
    return dict(zip(tiles, world.render_tiles(tiles), strict=True)), t


def test_a_local_resample_changes_only_patches_whose_latent_window_meets_it(model):
    world = World(model, Scene(seed=11))
    before, _ = _grid(world, -4, -4, 9, 9)
    edit = Resample("local", (40, 60, 20, 10), seed=3, stats_rect=(300, 300, 64, 64), feather=0)
    changed = world.apply(edit)
    (block,) = world.state.latents.blocks
    assert block.cells == CellRange(2, 3, 4, 5)  # the cells meeting the rectangle, nothing else
    meets = {t for t in before if CellRange(6 * t.ix - 14, 6 * t.iy - 14, 6 * t.ix + 21, 6 * t.iy + 21)
             .intersects(block.cells)}
    assert {t for t in changed if t.level == 0} == meets and 0 < len(meets) < len(before)
    after = dict(zip(before, world.render_tiles(list(before)), strict=True))
    for t, img in before.items():
        assert np.array_equal(img, after[t]) == (t not in changed), t
    # InfinityGAN's statistics region: fresh values take the stats region's per-channel mean and std
    spec = model.fields["local"]
    stats = world.latents().base.cells(spec, spec.cells_covering(300, 300, 64, 64)).reshape(4, -1)
    fresh = (block.values - stats.mean(1)[:, None, None]) / stats.std(1)[:, None, None]
    assert 0.2 < float(np.abs(fresh).mean()) < 2.0


def test_a_noise_resample_changes_exactly_the_tiles_whose_footprint_meets_it(model):
    world = World(model, Scene(seed=12))
    before, _ = _grid(world, -2, -2, 5, 5)
    changed = world.apply(Resample("noise", (93, 10, 6, 6), seed=4, feather=0))
    after = dict(zip(before, world.render_tiles(list(before)), strict=True))
    for t, img in before.items():
        assert np.array_equal(img, after[t]) == (t not in changed), t
    assert {Tile(0, 0), Tile(1, 0)} <= changed  # the rectangle straddles the seam between them


def test_parallel_batching_agrees_with_one_window_per_pass(model):
    world = World(model, Scene(seed=2))
    tiles = [Tile(ix, iy) for iy in range(2) for ix in range(-1, 2)]
    batched = InfinityGANCanvas(model.generator, model.cfg, parallel_batch=4)
    one_by_one = model.render(tiles, world.latents(), world.settings())  # the CPU default: one per pass
    alone = [model.render([t], world.latents(), world.settings()) for t in tiles]
    assert torch.equal(one_by_one, torch.cat(alone))
    assert max_diff(batched.render(tiles, world.latents(), world.settings()), one_by_one) <= EXACT


def test_noise_off_and_truncation_change_the_image_and_bad_modes_are_refused(model):
    world, tiles = World(model, Scene(seed=1)), [Tile(0, 0)]
    base = model.render(tiles, world.latents(), RenderSettings())
    for settings in (RenderSettings(noise_mode="off"), RenderSettings(truncation=0.5)):
        img = model.render(tiles, world.latents(), settings)
        assert torch.isfinite(img).all() and max_diff(img, base) > 1e-3
    with pytest.raises(UserError, match="InfinityGAN supports world, off"):
        model.render(tiles, world.latents(), RenderSettings(noise_mode="const"))


# -- loading ------------------------------------------------------------------------------------------------
def test_training_checkpoints_load_with_their_config(tmp_path):
    train = SPEC["train_params"]
    # numpy 1.x names in the pickle, experiment folder named like a preset
    m = load_model(write_checkpoint(tmp_path / "logs/InfinityGAN-IOF/ckpt/best_fid.pth.tar", STATE,
                                    legacy_numpy=True))
    assert m.describe()["config"] == "InfinityGAN-IOF (preset InfinityGAN-IOF)"
    # the official model yaml beside the checkpoint, a bare g_ema state dict as .pth
    ck = tmp_path / "mine" / "g_ema.pth"
    ck.parent.mkdir()
    torch.save(STATE, ck)
    (tmp_path / "mine" / "g_ema.yaml").write_text(yaml.safe_dump({"train_params": train, "data_params": {}}))
    m = load_model(ck)
    assert m.cfg.source.endswith("g_ema.yaml") and m.tile_size == 96
    # train.py's copy of the yaml in logs/<exp>/<exp>.yaml
    (tmp_path / "logs/exp7").mkdir(parents=True)
    (tmp_path / "logs/exp7/exp7.yaml").write_text(yaml.safe_dump({"train_params": train}))
    inter = write_checkpoint(tmp_path / "logs/exp7/ckpt/inter_00003000.pth.tar", STATE)
    assert load_model(inter).cfg.name == "exp7"


def _drop(key):
    return {k: v for k, v in STATE.items() if k != key}


@pytest.mark.parametrize("case, expected", [
    ("not torch", "is not a PyTorch checkpoint"),
    ("truncated", "could not be read as a PyTorch checkpoint"),
    ("no g_ema", "has no 'g_ema' generator (it holds: iter, weights)"),
    ("missing tensor", "lacks tensor 'texture_synthesizer.convs.3.noise.weight' for an InfinityGAN"),
    ("not infinitygan", "not an InfinityGAN generator: it lacks tensor 'texture_synthesizer.mapping.1."),
    ("config mismatch", "g_ema.yaml says local_latent_dim 256, but the tensors of"),
    ("unsupported switch", "sets ss_disable_noise: False"),
    ("python objects", "stores Python objects beyond tensors and numbers"),
])
def test_bad_checkpoints_and_configs_give_one_line_errors(tmp_path, case, expected):
    path = tmp_path / "g_ema.pth.tar"
    train = dict(SPEC["train_params"])
    if case == "not torch":
        path.write_bytes(b"\x89PNG not a checkpoint")
    elif case == "truncated":
        path.write_bytes(write_checkpoint(tmp_path / "whole.pth.tar", STATE).read_bytes()[:5000])
    elif case == "no g_ema":
        torch.save({"iter": 1, "weights": {}}, path)
    elif case == "missing tensor":
        write_checkpoint(path, _drop("texture_synthesizer.convs.3.noise.weight"))
    elif case == "not infinitygan":
        write_checkpoint(path, _drop("texture_synthesizer.mapping.1.weight"))
    elif case in ("config mismatch", "unsupported switch"):
        write_checkpoint(path, STATE)
        train.update({"local_latent_dim": 256} if case == "config mismatch" else {"ss_disable_noise": False})
        (tmp_path / "g_ema.yaml").write_text(yaml.safe_dump({"train_params": train}))
    else:
        write_checkpoint(path, STATE, extra_object=Path("x"))
    with pytest.raises(ModelLoadError) as err:
        load_model(path)
    assert expected in str(err.value) and "\n" not in str(err.value), str(err.value)
