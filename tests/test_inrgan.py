"""Our INR-GAN generator reproduces the official code's outputs, and INR-GAN pickles load and render.

The fixtures (tests/fixtures/official/inrgan*.{json,pt}) were made by running the official code
(universome/inr-gan at 5c498e6, `src/training/networks.py`, checked out outside this repository; numpy's
removed `np.float` shimmed, CPU reference ops) on small random-init generators built from its own configs
inr-gan.yml and inr-gan-bil.yml, scaled down (32 px, input level 8 px, FMM rank 3, extra layers at 16 and
32 px), plus one with the options those configs leave off (noise, tanh FMM, features at every level, learned
and w-predicted frequencies, raw coordinates, 'orig' RGB). Parameters were perturbed so biases, noise and
w_avg matter. Stored: the state dict, the constructor arguments (the config unresolved, as training stores
it), latents and the official outputs; no official code. The pickles here come from our own writer.
"""

import numpy as np
import pytest
import torch
from fixtures.official.inrgan_snapshot import inrgan_snapshot_bytes
from fixtures.official.snapshot import load_fixture
from test_official_generators import TOL

from infiniscape.models.contract import RenderSettings, Tile
from infiniscape.models.errors import ModelLoadError
from infiniscape.models.inrgan import generator as inrgan
from infiniscape.models.lattice import HashedLatents
from infiniscape.models.pickles.loader import copy_tensors, load_official
from infiniscape.models.registry import load_model
from infiniscape.models.stylegan.model import StyleGAN2SeedGrid

NAMES = ["inrgan", "inrgan_bil", "inrgan_extras"]


def build(name: str, load: bool = True):
    spec, data = load_fixture(name)
    gen = inrgan.Generator(*spec["init_args"], **spec["init_kwargs"]).eval().requires_grad_(False)
    if load:
        copy_tensors(gen, data["state"], name)
    return gen, spec, data


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape
    return float((a - b).abs().max())


@pytest.mark.parametrize("name", NAMES)
def test_forward_matches_official_outputs(name):
    gen, spec, data = build(name)
    with torch.no_grad():
        for key, kwargs in spec["runs"].items():
            diff = max_diff(gen(data["z"], None, **kwargs), data["outputs"][key])
            assert diff <= TOL, f"{name}/{key}: max |diff| {diff:.3g}"
        for key, args in spec["frames"].items():  # generate.py: z = RandomState(seed).randn(1, z_dim)
            z = torch.from_numpy(np.random.RandomState(args["seed"]).randn(1, gen.z_dim))
            img = gen(z, None, truncation_psi=args.get("psi", 1.0), noise_mode="const")
            assert max_diff(img, data["frames"][key]) <= TOL, f"{name}/{key}"


def test_state_dict_names_and_fixed_bases_are_the_official_ones():
    for name in NAMES:
        gen, _, data = build(name, load=False)
        ours = gen.state_dict()
        assert set(ours) == set(data["state"]), name
        assert all(ours[k].shape == data["state"][k].shape for k in ours), name
        fixed = [k for k in ours if k.endswith(("log_basis", "resample_filter"))]
        assert fixed and all(torch.equal(ours[k], data["state"][k]) for k in fixed), name


def test_variants_and_structure_follow_the_stored_config():
    gen, _, _ = build("inrgan_bil", load=False)
    assert gen.variant == "INR-GAN-bil" and gen.num_ws == 10
    syn = gen.synthesis
    assert [getattr(syn, f"b{r}").resolution for r in syn.block_resolutions] == [8, 8, 16, 32]
    assert syn.b8.coord_fuser is None and syn.b16.coord_fuser is not None  # features where the grid grows
    assert syn.b16.conv1.instance_norm and not syn.b16.conv0.instance_norm and len(syn.b32.extra_convs) == 1
    assert build("inrgan", load=False)[0].variant == "INR-GAN"


def test_coordinate_features_follow_newly_loaded_tensors():
    """The cached coordinate features must not outlive the tensors they were computed from."""
    gen, spec, data = build("inrgan", load=False)
    with torch.no_grad():
        gen(data["z"], None)  # caches features of the random initial constants
        copy_tensors(gen, data["state"], "inrgan")
        assert max_diff(gen(data["z"], None, noise_mode="const"), data["outputs"]["plain"]) <= TOL


@pytest.fixture(scope="module")
def pickles(tmp_path_factory):
    root = tmp_path_factory.mktemp("inrgan_pickles")
    return {name: write_pickle(root, name) for name in ("inrgan", "inrgan_bil")}


def write_pickle(root, name, **kwargs):
    gen, spec, _ = build(name)
    path = root / f"{name}.pkl"
    path.write_bytes(inrgan_snapshot_bytes(gen, spec["init_kwargs"], **kwargs))
    return path


def test_pickle_path_gives_the_official_outputs(pickles):
    for name, path in pickles.items():
        net = load_official(path)
        assert net.family == "inrgan"
        spec, data = load_fixture(name)
        with torch.no_grad():
            img = net.generator(data["z"], None, noise_mode="const")
        assert max_diff(img, data["outputs"]["plain"]) <= TOL, name
    assert load_official(pickles["inrgan"]).describe() == "INR-GAN 32x32, z_dim=16"
    assert load_official(pickles["inrgan_bil"]).describe() == "INR-GAN-bil 32x32, z_dim=16"


@pytest.mark.parametrize("kwargs, message", [
    (dict(drop=("synthesis.b32.coord_fuser.const_embs",)),
     r"lacks 'synthesis.b32.coord_fuser.const_embs' \(1 missing, 0 unexpected"),
    (dict(drop_cfg=("coords.res_configs.32",)), r"config lacks 'coords.res_configs.32'"),
    (dict(drop_cfg=("fmm",)), r"config lacks 'fmm'"),
    (dict(drop_cfg=("coords.medium_res_cfg",)), r"refers to 'coords.medium_res_cfg', which it lacks"),
])
def test_a_checkpoint_lacking_a_part_is_named_in_one_line(tmp_path, kwargs, message):
    path = write_pickle(tmp_path, "inrgan", **kwargs)
    with pytest.raises(ModelLoadError, match=message) as e:
        load_model(path)
    assert "\n" not in str(e.value)


def test_seed_grid_tile_is_the_seed_frame(pickles):
    """Tile (0, 0) of a scene seeded S is generate.py's frame for seed S (clamped), tile (2, 0) seed S+2."""
    for name in ("inrgan", "inrgan_bil"):
        model = load_model(pickles[name])
        assert isinstance(model, StyleGAN2SeedGrid) and model.tile_size == 32
        _, data = load_fixture(name)
        tiles = model.render([Tile(0, 0), Tile(2, 0)], HashedLatents(5))
        assert max_diff(tiles[0], data["frames"]["seed5"][0].clamp(-1, 1)) <= TOL, name
        assert max_diff(tiles[1], model.render([Tile(0, 0)], HashedLatents(7))[0]) == 0.0
        trunc = model.render([Tile(0, 0)], HashedLatents(7), RenderSettings(truncation=0.7))
        assert max_diff(trunc[0], data["frames"]["seed7_trunc"][0].clamp(-1, 1)) <= TOL, name
