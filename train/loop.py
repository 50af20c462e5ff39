"""The training loop of the native generator (StyleGAN2 recipe, frames at random world offsets).

Per step: G renders a batch of frames at random world offsets from fresh latents; D takes a
logistic step on reals vs those frames (with lazy R1 every ``r1_interval`` steps); G takes a
non-saturating step through the updated D; G_ema follows G. Every random draw of a step comes
from (seed, rank, step), and the data position from the number of images shown, so a resumed run
continues exactly where the snapshot left it and the RNG state of a snapshot is its step.
"""

from __future__ import annotations

import copy
import math
import resource
import signal
import time

import numpy as np
import torch
from PIL import Image

from infiniscape.models.errors import UserError
from infiniscape.models.lattice import HashedLatents
from infiniscape.models.native.model import NativeModel
from infiniscape.models.registry import build_native, load_config

from . import distributed as D
from .augment import diff_augment
from .compiled import compile_synthesis_layers
from .dataset import open_dataset
from .discriminator import Discriminator
from .frames import FrameSampler, FreshLatents, VerticalRange, default_top, grid_image, to_uint8
from .loss import (
    discriminator_loss,
    generator_loss,
    hinge_d_loss,
    hinge_g_loss,
    lod_consistency,
    r1_penalty,
)
from .options import TrainOptions
from .precision import autocast, autocast_dtype
from .reals import RealStream, to_tensor
from .run_dir import RunDir
from .run_reader import GRID

SAMPLE_SEEDS = 16  # the fixed seeds of the sample grid
STAT_KEYS = ("loss_G", "loss_D", "r1", "lod", "real_score", "fake_score")


class Trainer:
    """One process's share of a run; rank 0 also writes the run directory."""

    def __init__(self, opts: TrainOptions, env: D.DistEnv):
        opts.check()
        self.opts, self.env, self.dev = opts, env, env.device
        cfg = load_config(opts.config)
        self.G = build_native(cfg).to(self.dev).train()
        self.model = NativeModel(self.G, device=self.dev, frozen=False)
        res = opts.resolution or self.G.cfg.tile_size
        opts.resolution = res
        vertical = self._vertical_range(res)
        try:
            self.dataset = open_dataset(opts.data, res, scene_height=opts.scene_height, vertical=vertical)
            self.sampler = FrameSampler(self.model, res, vertical or opts.y_band or self._top(res))
        except ValueError as e:
            raise UserError(str(e)) from None
        self.reals = RealStream(self.dataset, opts.seed, opts.data_workers)
        if opts.batch % env.world_size:
            raise UserError(f"--batch {opts.batch} does not split over {env.world_size} processes")
        self.local_batch = opts.batch // env.world_size
        self.projected = opts.loss == "projected"
        torch.manual_seed(opts.seed)  # D's initial weights
        try:
            self.D = self._discriminator(res).to(self.dev)
        except ValueError as e:
            raise UserError(f"--resolution {res}: {e}") from None
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        if opts.compile:
            compile_synthesis_layers(self.G)
        if self.projected:  # hinge loss on pretrained features needs no gradient penalty (Sauer et al.)
            self.r1_gamma = 0.0
        else:
            self.r1_gamma = opts.r1_gamma if opts.r1_gamma is not None else 0.0002 * res**2 / opts.batch
        ratio = opts.r1_interval / (opts.r1_interval + 1)  # lazy-regularisation correction (StyleGAN2)
        d_lr = opts.d_lr if opts.d_lr is not None else (0.002 if self.projected else opts.lr)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=opts.lr, betas=(0.0, 0.99), eps=1e-8)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=d_lr * ratio, betas=(0.0, 0.99**ratio),
                                      eps=1e-8)
        self.amp_dtype = autocast_dtype(opts.amp, self.dev)
        fp16 = self.amp_dtype == torch.float16
        self.scaler_G = torch.amp.GradScaler(self.dev.type, enabled=fp16)
        self.scaler_D = torch.amp.GradScaler(self.dev.type, enabled=fp16)
        self.step, self.nimg = 0, 0
        self.run = RunDir(opts.out, opts.keep_snapshots)
        if opts.metrics_kimg > 0 and env.is_main:  # a missing extra fails now, not hours later
            from .metrics import inception
            inception()
        self.stop_requested = False

    def _discriminator(self, res: int) -> torch.nn.Module:
        o = self.opts
        if self.projected:
            from .projected import ProjectedDiscriminator

            return ProjectedDiscriminator(res, feature_size=o.d_input or None, channel_scale=o.d_scale,
                                          seed=o.seed)
        widest = max(s.channels for s in self.G.cfg.stages)
        return Discriminator(res, o.d_channels or max(32, widest // 2))

    def _vertical_range(self, res: int) -> VerticalRange | None:
        """Frames at every height of the studio's range (procedural data only), else None."""
        o = self.opts
        if not o.y_extent:
            return None
        return VerticalRange.studio(res, o.scene_height, o.y_extent, align=self.G.cfg.base_scale)

    def _top(self, res: int):
        horizon = getattr(self.dataset, "horizon_row", None)  # known for the procedural source
        c = self.G.cfg
        return default_top(res, c.vertical, c.style_spacing, horizon)

    # -- one step ---------------------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        o, env, n = self.opts, self.env, self.local_batch
        rng = np.random.default_rng([o.seed, env.rank, self.step])
        tgen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        augmented = o.diffaug or self.projected  # Projected GAN always augments (Sauer et al.)
        aug = (lambda x: diff_augment(x, generator=tgen)) if augmented else (lambda x: x)
        start = self.nimg + env.rank * n
        reals = to_tensor(self.reals.images(start, n, next_start=start + o.batch), self.dev)
        origins = self.sampler.draw_origins(rng, n)
        latents = [FreshLatents(rng)] * n
        lod = o.lod_weight > 0
        with autocast(self.dev, self.amp_dtype):
            out = self.sampler.frames(self.G, origins, latents, update_w_avg=True, all_levels=lod)
        fakes, levels = out if lod else (out, None)  # [n, 3, R, R]; the aligned window and its levels

        # D: hinge (projected) or logistic loss, plus lazy R1 every r1_interval steps
        do_r1 = self.r1_gamma > 0 and self.step % o.r1_interval == 0
        reals.requires_grad_(do_r1)
        with autocast(self.dev, self.amp_dtype):
            real_logits = self.D(aug(reals)).float()
            fake_logits = self.D(aug(fakes.detach())).float()
        loss_D = (hinge_d_loss if self.projected else discriminator_loss)(real_logits, fake_logits)
        r1 = r1_penalty(real_logits, reals) if do_r1 else torch.zeros((), device=self.dev)
        self.opt_D.zero_grad(set_to_none=True)
        self.scaler_D.scale(loss_D + r1 * (self.r1_gamma / 2 * o.r1_interval)).backward()
        D.sync_gradients(env, self.D)
        self.scaler_D.step(self.opt_D)
        self.scaler_D.update()

        # G: adversarial loss through the updated D, plus the coarse levels' consistency
        self.D.requires_grad_(False)
        with autocast(self.dev, self.amp_dtype):
            logits = self.D(aug(fakes)).float()
        loss_G = (hinge_g_loss if self.projected else generator_loss)(logits)
        loss_lod = lod_consistency(levels[0], levels[1:]) if lod else torch.zeros((), device=self.dev)
        self.opt_G.zero_grad(set_to_none=True)
        self.scaler_G.scale(loss_G + o.lod_weight * loss_lod).backward()
        self.D.requires_grad_(True)
        D.sync_gradients(env, self.G)
        D.all_reduce_mean(env, [self.G.mapping.w_avg])  # every process saw its own batch
        self.scaler_G.step(self.opt_G)
        self.scaler_G.update()
        self._update_ema()
        self.step += 1
        self.nimg += o.batch
        return {"loss_G": loss_G.item(), "loss_D": loss_D.item(), "r1": r1.item() if do_r1 else math.nan,
                "lod": loss_lod.item(), "real_score": real_logits.mean().item(),
                "fake_score": fake_logits.mean().item()}

    @torch.no_grad()
    def _update_ema(self) -> None:
        o = self.opts
        ema_nimg = (o.ema_kimg if o.ema_kimg is not None else o.batch * 10 / 32) * 1000
        if o.ema_rampup:
            ema_nimg = min(ema_nimg, self.nimg * o.ema_rampup)
        beta = 0.5 ** (o.batch / max(ema_nimg, 1e-8))
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters(), strict=True):
            p_ema.copy_(p.detach().lerp(p_ema, beta))
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
            b_ema.copy_(b)

    # -- state --------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"step": self.step, "nimg": self.nimg, "options": self.opts.to_dict(),
                "G": self.G.state_dict(), "D": self.D.state_dict(), "G_ema": self.G_ema.state_dict(),
                "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict(),
                "scaler_G": self.scaler_G.state_dict(), "scaler_D": self.scaler_D.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        for name in ("G", "D", "G_ema", "opt_G", "opt_D", "scaler_G", "scaler_D"):
            if state.get(name):
                obj = getattr(self, name)
                if isinstance(obj, torch.optim.Optimizer):  # torch restores the saved lr and betas too;
                    given = [{k: g[k] for k in ("lr", "betas")} for g in obj.param_groups]
                    obj.load_state_dict(state[name])  # keep the moments, take this run's --lr
                    for g, h in zip(obj.param_groups, given, strict=True):
                        g.update(h)
                else:
                    obj.load_state_dict(state[name])
        self.step, self.nimg = int(state["step"]), int(state["nimg"])

    # -- samples ------------------------------------------------------------------------------------
    @torch.no_grad()
    def write_samples(self) -> None:
        """Fixed-seed grid of G_ema frames (anchors at 4 x phases) and a 4-anchor-period strip."""
        s = self.sampler
        period, b = self.G.cfg.style_spacing, self.G.cfg.base_scale
        cols = 4
        origins = [((i % cols) * (period // cols) // b * b, s.draw_origins(np.random.default_rng(i), 1)[0][1])
                   for i in range(SAMPLE_SEEDS)]
        frames = torch.cat([s.frames(self.G_ema, [org], [HashedLatents(i)]) for i, org in enumerate(origins)])
        tag = f"{self.nimg:09d}"
        grid = Image.fromarray(grid_image(to_uint8(frames), cols))
        grid.save(self.run.samples / GRID.format(nimg=self.nimg))
        strip = s.frames(self.G_ema, [origins[0]], [HashedLatents(0)], width=4 * period)
        Image.fromarray(to_uint8(strip)[0]).save(self.run.samples / f"strip-{tag}.png")

    def write_reals(self) -> None:
        reals = self.reals.images(0, SAMPLE_SEEDS)
        Image.fromarray(grid_image(reals, 4)).save(self.run.samples / "reals.png")

    # -- the run ------------------------------------------------------------------------------------
    def _request_stop(self, signum, frame) -> None:
        if self.stop_requested and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: give up on the clean finish
        self.stop_requested = True

    def fit(self, resume: bool = False, progress: bool = True) -> str:
        """Train to ``kimg``; returns the final state ("done" or "stopped")."""
        o, env, run = self.opts, self.env, self.run
        total = int(o.kimg * 1000)
        state = run.load_newest_state() if resume else None
        if state is not None:
            self.load_state_dict(state)
        D.broadcast_module(env, self.G)
        D.broadcast_module(env, self.D)
        D.broadcast_module(env, self.G_ema)
        if env.is_main:
            run.create()
            run.write_config(o.to_dict())
            run.truncate_after("stats.jsonl", self.nimg / 1000)
            run.truncate_after("metrics.jsonl", self.nimg / 1000)
            run.log(f"{'resumed from' if state else 'started at'} kimg {self.nimg / 1000:g} on "
                    f"{env.world_size} x {self.dev}; frames {o.resolution} px, top {self.sampler.top}, "
                    f"G {sum(p.numel() for p in self.G.parameters())} params, "
                    f"D {sum(p.numel() for p in self.D.parameters())} params, r1_gamma {self.r1_gamma:g}")
            if state is None:
                self.write_reals()
                self.write_samples()
        old = [signal.signal(s, self._request_stop) for s in (signal.SIGTERM, signal.SIGINT)]
        try:
            return self._loop(total, progress)
        finally:
            self.reals.close()
            for s, h in zip((signal.SIGTERM, signal.SIGINT), old, strict=True):
                signal.signal(s, h)

    def _loop(self, total: int, progress: bool) -> str:
        from tqdm import tqdm

        o, env, run = self.opts, self.env, self.run
        self._t0, self._nimg0 = time.time(), self.nimg
        self._tick_t, self._tick_nimg, self._maint = self._t0, self.nimg, 0.0
        acc = torch.zeros(len(STAT_KEYS) + 2)  # stat sums, steps, R1 steps
        written = {"snapshot": self.nimg if self.nimg else -1, "metrics": -1}
        ticked = False  # the first tick also writes sample grids
        bar = tqdm(total=total, initial=self.nimg, unit="img", desc="train", dynamic_ncols=True,
                   disable=not (progress and env.is_main) or None)
        while True:
            done = self.nimg >= total
            late = env.is_main and time.time() - self._tick_t >= o.tick_seconds
            stop, late = D.agree_max(env, [int(self.stop_requested), int(late)])
            finishing = bool(done or stop)
            before = self.nimg
            if not finishing:
                stats = self.train_step()
                r1 = stats["r1"]
                acc += torch.tensor([0.0 if k == "r1" and math.isnan(r1) else stats[k] for k in STAT_KEYS]
                                    + [1.0, float(not math.isnan(r1))])
                bar.update(self.nimg - before)
            snap = finishing or _crossed(before, self.nimg, o.snapshot_kimg)
            if finishing or late or _crossed(before, self.nimg, o.tick_kimg):
                self._tick(D.all_reduce_sum(env, acc), total)
                acc.zero_()
                if not ticked and written["snapshot"] < 0:
                    snap = True  # a fresh run's first snapshot at its first tick: an early crash resumes
                elif not ticked and env.is_main and not snap:  # a short run shows progress, not only kimg 0
                    t_maint = time.time()
                    self.write_samples()
                    self._maint += time.time() - t_maint
                ticked = True
            if snap and written["snapshot"] != self.nimg:
                t_maint = time.time()
                if env.is_main:  # the snapshot first: samples are only pictures of it
                    frames = {"frame": o.resolution, "scene_height": o.scene_height or o.resolution,
                              "y_extent": o.y_extent}
                    path = run.save_snapshot(self.nimg, self.state_dict(), self.G_ema, frames)
                    run.log(f"snapshot kimg {self.nimg / 1000:g}: {path.name}")
                    self.write_samples()
                written["snapshot"] = self.nimg
                D.barrier(env)
                self._maint += time.time() - t_maint
            due = _crossed(before, self.nimg, o.metrics_kimg) or (done and o.metrics_kimg > 0)
            if due and self.nimg > 0 and written["metrics"] != self.nimg:
                t_maint = time.time()
                if env.is_main:
                    self._metrics()
                written["metrics"] = self.nimg
                D.barrier(env)
                self._maint += time.time() - t_maint
            if finishing:
                break
        bar.close()
        state = "done" if done else "stopped"
        if env.is_main:
            run.write_status(state=state, kimg=self.nimg / 1000, total_kimg=o.kimg,
                             progress=min(1.0, self.nimg / total), eta_s=0.0, error=None)
            run.log(f"{state} at kimg {self.nimg / 1000:g}")
        return state

    def _tick(self, acc: torch.Tensor, total: int) -> None:
        """One stats.jsonl record (averaged over the tick's steps and all processes) and the status."""
        now = time.time()
        steps, r1_steps = float(acc[-2]), float(acc[-1])
        if not self.env.is_main or steps == 0:
            return
        rec = {k: round(float(acc[i]) / steps, 5) for i, k in enumerate(STAT_KEYS)}
        rec["r1"] = round(float(acc[STAT_KEYS.index("r1")]) / r1_steps, 5) if r1_steps else None
        dt = now - self._tick_t
        img_s = (self.nimg - self._tick_nimg) / max(dt - self._maint, 1e-9)  # training time only
        run_img_s = (self.nimg - self._nimg0) / max(now - self._t0, 1e-9)
        rec = {"kimg": self.nimg / 1000, "step": self.step, **rec, "img_per_s": round(img_s, 3),
               "sec_per_kimg": round(1000 / max(img_s, 1e-9), 2), "sec_per_tick": round(dt, 2),
               "maintenance_sec": round(self._maint, 2), "mem_mb": _memory_mb(self.dev),
               "total_sec": round(now - self._t0, 1)}
        self.run.append("stats.jsonl", rec)
        o = self.opts
        self.run.write_status(state="running", kimg=self.nimg / 1000, total_kimg=o.kimg,
                              progress=min(1.0, self.nimg / total),
                              eta_s=round((total - self.nimg) / max(run_img_s, 1e-9), 1),
                              sec_per_kimg=rec["sec_per_kimg"], error=None)
        self._tick_t, self._tick_nimg, self._maint = now, self.nimg, 0.0

    def _metrics(self) -> None:
        from . import metrics as M

        o = self.opts
        rec = M.evaluate(self.G_ema, self.sampler, self.dataset, o.metrics, o.metrics_samples,
                         cache_dir=self.run.path)
        self.run.append("metrics.jsonl", {"kimg": self.nimg / 1000, **rec})
        self.run.log("metrics " + ", ".join(f"{k} {v:.4g}" for k, v in rec.items()
                                            if isinstance(v, float)))


def _crossed(before: int, after: int, kimg: float) -> bool:
    """Whether the images shown went past a multiple of ``kimg`` (never for kimg <= 0)."""
    every = int(round(kimg * 1000))
    return every > 0 and after // every > before // every


def _memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # peak RSS (KiB on Linux)
