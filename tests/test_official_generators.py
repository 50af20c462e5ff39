"""Our StyleGAN2 / StyleGAN3 generators reproduce the official code's outputs on the same weights.

The fixtures (tests/fixtures/official/*.pt) hold small random-init official networks (perturbed so noise,
biases, magnitude EMAs and w_avg all matter), their inputs and the official outputs; no official code is here.
"""

import numpy as np
import pytest
import torch
from fixtures.official.snapshot import load_fixture

from infiniscape.models.pickles.loader import copy_tensors
from infiniscape.models.stylegan import stylegan2, stylegan3

TOL = 1e-4
SG2 = ["sg2_skip", "sg2_skip_cond", "sg2_resnet", "sg2_resnet_cond", "sg2_orig"]
SG3 = ["sg3_t", "sg3_r", "sg3_t_cond"]


def make_transform(translate, degrees) -> np.ndarray:
    """The visualizer's / gen_images.py's output transform: rotation by `degrees`, then `translate`."""
    s, c = np.sin(np.radians(degrees)), np.cos(np.radians(degrees))
    return np.array([[c, s, translate[0]], [-s, c, translate[1]], [0, 0, 1]])


def build(name: str):
    spec, data = load_fixture(name)
    family = stylegan3 if "stylegan3" in spec["class_name"] else stylegan2
    torch.manual_seed(0)
    gen = family.Generator(*spec["init_args"], **spec["init_kwargs"]).eval().requires_grad_(False)
    copy_tensors(gen, data["state"], name)
    return gen, spec, data


def run(gen, z, c, transform=None, **kwargs) -> torch.Tensor:
    with torch.no_grad():
        if transform is not None:
            gen.synthesis.input.transform.copy_(torch.from_numpy(np.linalg.inv(make_transform(*transform))))
        try:
            return gen(z, c if c.shape[1] else None, **kwargs)
        finally:
            if transform is not None:
                gen.synthesis.input.transform.copy_(torch.eye(3))


@pytest.mark.parametrize("name", SG2 + SG3)
def test_forward_matches_official_outputs(name):
    gen, spec, data = build(name)
    for key, kwargs in spec["runs"].items():
        ours = run(gen, data["z"], data["c"], **kwargs)
        ref = data["outputs"][key]
        assert ours.shape == ref.shape
        diff = float((ours - ref).abs().max())
        assert diff <= TOL, f"{name}/{key}: max |diff| {diff:.3g} (output scale {float(ref.abs().max()):.3g})"


@pytest.mark.parametrize("name", ["sg2_skip_cond", "sg2_resnet", "sg2_orig", "sg3_t", "sg3_r"])
def test_single_sample_forwards_match_official_outputs(name):
    """Batch 1 takes the CPU fast path (NNPACK's Winograd 3x3 convolutions, the fused C++ kernels when they
    build): still within TOL of the official outputs."""
    gen, spec, data = build(name)
    for key, kwargs in spec["runs"].items():
        if kwargs.get("noise_mode") == "random":
            continue
        for i in range(data["z"].shape[0]):
            ours = run(gen, data["z"][i:i + 1], data["c"][i:i + 1], **kwargs)
            diff = float((ours - data["outputs"][key][i:i + 1]).abs().max())
            assert diff <= TOL, f"{name}/{key}[{i}]: max |diff| {diff:.3g}"


@pytest.mark.parametrize("name", ["sg2_skip", "sg2_resnet_cond"])  # sg3_t frames: test_official_pickle
def test_gen_images_frames_match_official(name):
    """z = RandomState(seed).randn(1, z_dim), one-hot class, truncation, noise mode, input translation."""
    gen, spec, data = build(name)
    for key, args in spec["frames"].items():
        z = torch.from_numpy(np.random.RandomState(args["seed"]).randn(1, gen.z_dim))
        c = torch.zeros(1, gen.c_dim)
        if gen.c_dim:
            c[0, args["class_idx"]] = 1
        kwargs = {"truncation_psi": args.get("psi", 1.0)}
        if name.startswith("sg2"):
            kwargs["noise_mode"] = args.get("noise_mode", "const")
        transform = (args["translate"], 0.0) if "translate" in args else None
        ours = run(gen, z, c, transform=transform, **kwargs)
        assert float((ours - data["frames"][key]).abs().max()) <= TOL, key


def test_state_dict_names_are_the_official_ones():
    for name in SG2 + SG3:
        spec, data = load_fixture(name)
        family = stylegan3 if "stylegan3" in spec["class_name"] else stylegan2
        ours = family.Generator(**spec["init_kwargs"]).state_dict()
        assert set(ours) == set(data["state"]), name
        assert all(ours[k].shape == data["state"][k].shape for k in ours), name


def test_stylegan3_filters_are_designed_like_the_stored_ones():
    """Fresh networks design the same low-pass taps the official code stored (Kaiser / jinc, no scipy)."""
    for name in ("sg3_t", "sg3_r"):
        spec, data = load_fixture(name)
        fresh = stylegan3.Generator(**spec["init_kwargs"]).state_dict()
        for key in (k for k in fresh if k.endswith("_filter")):
            assert torch.allclose(fresh[key], data["state"][key], atol=1e-6), f"{name}: {key}"
