"""Training building blocks: frames, discriminator, losses, DiffAugment, run directory, resume."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from infiniscape.models.contract import RenderSettings
from infiniscape.models.errors import UserError
from infiniscape.models.lattice import HashedLatents
from infiniscape.models.native.model import NativeModel
from infiniscape.models.registry import build_native, load_config, load_model
from infiniscape.train import distributed
from infiniscape.train.augment import diff_augment
from infiniscape.train.discriminator import Discriminator
from infiniscape.train.frames import FrameSampler, FreshLatents, default_top
from infiniscape.train.loop import Trainer
from infiniscape.train.loss import discriminator_loss, generator_loss, r1_penalty
from infiniscape.train.options import TrainOptions
from infiniscape.train.procedural import horizon_row
from infiniscape.train.run_dir import RunDir


def test_training_frames_are_crops_of_the_rendered_world(tiny):
    # the horizon row of a 64 px procedural image (38) is not on the 8 px base grid: the frame is
    # cut from a taller aligned window, and must equal the render of the same world pixels
    sampler = FrameSampler(tiny, 64, default_top(64, "saturating", 256, horizon_row(64)))
    (x, y), = sampler.draw_origins(np.random.default_rng(3), 1)
    assert y == -horizon_row(64)
    with torch.no_grad():
        frame = sampler.frames(tiny.generator, [(x, y)], [HashedLatents(5)])
    b = tiny.cfg.base_scale
    top = y // b * b
    ref = tiny.render_windows([(x, top)], 64, 72, HashedLatents(5))[:, :, y - top:y - top + 64]
    assert torch.equal(frame.clamp(-1, 1), ref)


def test_frames_follow_the_samplers_truncation_as_the_studio_render_does(tiny):
    # FID at a given psi (benchmarks/builtin_fid.py --truncation) measures what the studio shows at it
    sampler = FrameSampler(tiny, 64, -64.0)
    sampler.settings = replace(sampler.settings, truncation=0.5)
    with torch.no_grad():
        frame = sampler.frames(tiny.generator, [(0, -64)], [HashedLatents(5)])
        plain = FrameSampler(tiny, 64, -64.0).frames(tiny.generator, [(0, -64)], [HashedLatents(5)])
    ref = tiny.render_windows([(0, -64)], 64, 64, HashedLatents(5), RenderSettings(truncation=0.5))
    assert torch.equal(frame.clamp(-1, 1), ref)
    assert not torch.equal(plain, frame)


def test_frame_offsets_span_one_anchor_period_on_the_base_grid(tiny):
    sampler = FrameSampler(tiny, 64, (-64.0, 0.0))
    origins = sampler.draw_origins(np.random.default_rng(0), 400)
    xs, ys = np.array(origins).T
    assert xs.min() == 0 and xs.max() == tiny.cfg.style_spacing - tiny.cfg.base_scale
    assert (xs % 8 == 0).all() and (ys % 8 == 0).all() and ys.min() >= -64 and ys.max() <= 0


def test_fresh_latents_give_frames_with_gradients(tiny):
    g = build_native(load_config("tiny"))
    model = NativeModel(g, frozen=False)
    sampler = FrameSampler(model, 64, -38.0)
    rng = np.random.default_rng(0)
    frames = sampler.frames(g, sampler.draw_origins(rng, 3), [FreshLatents(rng)] * 3)
    frames.mean().backward()
    assert frames.shape == (3, 3, 64, 64)
    # every weight of the image gets a gradient; the level heads only read it (see test_levels)
    assert all(p.grad is not None for n, p in g.synthesis.named_parameters() if not n.startswith("level_"))
    assert all(p.grad is None for p in g.synthesis.level_torgbs.parameters())


def test_frame_size_must_sit_on_the_base_grid(tiny):
    with pytest.raises(ValueError, match="multiple of the config's base scale 8"):
        FrameSampler(tiny, 60, -36.0)


def test_discriminator_scores_frames_and_sees_batch_variety():
    d = Discriminator(32, max_channels=16)
    x = torch.randn(6, 3, 32, 32)
    assert d(x).shape == (6,)
    same = x[:1].repeat(4, 1, 1, 1)
    feats = d.mbstd(same)
    assert torch.allclose(feats[:, -1], torch.full_like(feats[:, -1], 1e-4), atol=1e-3)


def test_losses_and_r1_of_a_linear_critic():
    w = torch.randn(1, 3, 4, 4)
    x = torch.randn(5, 3, 4, 4, requires_grad=True)
    logits = (x * w).sum(dim=(1, 2, 3))
    assert torch.allclose(r1_penalty(logits, x), w.square().sum())
    zero = torch.zeros(5)
    assert torch.allclose(generator_loss(zero), torch.tensor(np.log(2.0), dtype=torch.float32))
    assert torch.allclose(discriminator_loss(zero, zero), torch.tensor(2 * np.log(2.0), dtype=torch.float32))


def test_diffaugment_keeps_shape_and_passes_gradients():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    y = diff_augment(x * 2 - 1, generator=torch.Generator().manual_seed(0))
    y.sum().backward()
    assert y.shape == x.shape and x.grad is not None
    same = diff_augment(x.detach(), generator=torch.Generator().manual_seed(1))
    again = diff_augment(x.detach(), generator=torch.Generator().manual_seed(1))
    assert torch.equal(same, again)


def test_snapshots_keep_the_last_k_and_skip_interrupted_writes(tmp_path, tiny):
    run = RunDir(tmp_path / "run", keep_snapshots=2)
    run.create()
    for nimg in (8, 16, 24):
        run.save_snapshot(nimg, {"step": nimg // 8, "nimg": nimg}, tiny.generator)
    assert sorted(p.name for p in run.snapshots.iterdir()) == [
        "G_ema-000000016.pt", "G_ema-000000024.pt", "state-000000016.pt", "state-000000024.pt"]
    # a kill in the middle of the next snapshot: a torn temporary file and a G_ema without state
    (run.snapshots / "state-000000032.pt.tmp").write_bytes(b"PK\x03\x04torn")
    (run.snapshots / "G_ema-000000032.pt").write_bytes(b"PK\x03\x04torn")
    assert run.load_newest_state()["nimg"] == 24
    assert not list(run.snapshots.glob("*.tmp")) and not (run.snapshots / "G_ema-000000032.pt").exists()
    load_model(run.newest_g_ema())


def _trainer(out, **kw) -> Trainer:
    opts = TrainOptions(**{**dict(data="procedural", out=str(out), config="tiny", batch=4, resolution=32,
                                  snapshot_kimg=1, tick_kimg=1), **kw})
    return Trainer(opts, distributed.DistEnv())


def test_a_resume_with_a_new_learning_rate_trains_at_it_and_keeps_adams_moments(tmp_path):
    first = _trainer(tmp_path / "r", lr=0.0025, d_lr=0.002)
    first.train_step()
    state = first.state_dict()
    resumed = _trainer(tmp_path / "r", lr=0.0005, d_lr=0.0004)
    resumed.load_state_dict(state)
    assert [g["lr"] for g in resumed.opt_G.param_groups] == [0.0005]
    assert [g["lr"] for g in resumed.opt_D.param_groups] == [0.0004 * 16 / 17]  # lazy-R1 correction
    saved, loaded = first.opt_G.state_dict()["state"], resumed.opt_G.state_dict()["state"]
    assert saved.keys() == loaded.keys() and all(
        torch.equal(saved[i]["exp_avg"], loaded[i]["exp_avg"]) for i in saved)


def test_resume_continues_exactly_where_the_snapshot_left(tmp_path):
    straight = _trainer(tmp_path / "a", r1_interval=2, diffaug=True)
    for _ in range(4):
        straight.train_step()
    first = _trainer(tmp_path / "b", r1_interval=2, diffaug=True)
    first.run.create()
    for _ in range(2):
        first.train_step()
    first.run.save_snapshot(first.nimg, first.state_dict(), first.G_ema)
    resumed = _trainer(tmp_path / "b", r1_interval=2, diffaug=True)
    resumed.load_state_dict(resumed.run.load_newest_state())
    assert resumed.nimg == 8 and resumed.step == 2
    for _ in range(2):
        resumed.train_step()
    for name in ("G", "D", "G_ema"):
        a, b = getattr(straight, name).state_dict(), getattr(resumed, name).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name


def test_data_workers_render_the_same_reals_ahead_and_after_a_jump(tmp_path):
    from infiniscape.train.procedural import ProceduralLandscapes
    from infiniscape.train.reals import RealStream

    dataset = ProceduralLandscapes(32, seed=3)
    serial, pooled = RealStream(dataset, 0), RealStream(dataset, 0, workers=2)
    try:
        for start, ahead in ((0, 4), (4, 8), (40, 44)):  # the last: a jump the prefetch did not foresee
            assert np.array_equal(pooled.images(start, 4, next_start=ahead), serial.images(start, 4))
        assert pooled._ahead[:2] == (44, 4)
    finally:
        pooled.close()
    assert pooled._pool is None

    straight, with_workers = _trainer(tmp_path / "a"), _trainer(tmp_path / "b", data_workers=2)
    try:
        for _ in range(2):
            straight.train_step(), with_workers.train_step()
    finally:
        with_workers.reals.close()
    a, b = straight.G.state_dict(), with_workers.G.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("loss", ["stylegan2", "projected"])
def test_bf16_autocast_trains_on_the_cpu_with_float32_weights_and_w_avg(tmp_path, loss):
    """--amp bf16 runs the GPU's mixed-precision step on the CPU: activations in bf16, parameters,
    optimiser state and the mapping's running mean in float32 (a bf16 w_avg broke the first step)."""
    trainer = _trainer(tmp_path / "r", amp="bf16", loss=loss, batch=2)
    dtypes = set()
    hook = torch.nn.modules.module.register_module_forward_hook(
        lambda module, args, out: dtypes.add(out.dtype) if isinstance(out, torch.Tensor) else None)
    try:
        stats = trainer.train_step()
    finally:
        hook.remove()
    assert torch.bfloat16 in dtypes  # autocast really ran in bf16
    assert all(np.isfinite(stats[k]) for k in ("loss_G", "loss_D", "lod"))
    assert trainer.G.mapping.w_avg.dtype == torch.float32 and trainer.G.mapping.w_avg.abs().sum() > 0
    assert all(p.dtype == torch.float32 for p in trainer.G.parameters())
    assert all(p.dtype == torch.float32 for p in trainer.G_ema.parameters())


def test_fp16_autocast_on_the_cpu_is_refused_with_the_bf16_alternative(tmp_path):
    with pytest.raises(UserError, match="--amp bf16"):
        _trainer(tmp_path / "r", amp="fp16")


def test_compiled_synthesis_layers_take_the_eager_step(tmp_path):
    """--compile: inductor's fused SA-AdaIN layers give the eager step's losses and weights (to float
    rounding), and only the training G is compiled (G_ema and the studio stay eager)."""
    eager = _trainer(tmp_path / "e", loss="stylegan2", batch=2)
    compiled = _trainer(tmp_path / "c", loss="stylegan2", batch=2, compile=True)
    conv = compiled.G.synthesis.convs[0]
    assert "forward" in vars(conv) and "forward" not in vars(compiled.G_ema.synthesis.convs[0])
    a, b = eager.train_step(), compiled.train_step()
    for key in ("loss_G", "loss_D", "lod"):
        assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-5), key
    for (name, p), q in zip(eager.G.named_parameters(), compiled.G.parameters(), strict=True):
        assert torch.allclose(p, q, rtol=1e-4, atol=1e-5), name
