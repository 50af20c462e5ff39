"""Frame time of the studio in a real window: idle vs while tiles are generating.

    xvfb-run -a -s "-screen 0 1280x800x24" python benchmarks/ui_frames.py --model tiny

"idle": a still view whose tiles (and prefetch ring) are all drawn, nothing rendering.
"generating": the view pans steadily over fresh world, so the scheduler renders and the canvas
uploads every frame. "panning_rendered": the same motion back over the stretch just generated
(cached tiles): panning's own UI cost without torch. The three alternate in ``--rounds`` rounds so
that a machine drifting slower or faster affects each kind alike.
The UI thread never waits for torch, so p95 while generating should stay within 25% of idle. On a
CPU machine the render worker runs at SCHED_IDLE: it only gets what the UI thread and a software
rasteriser leave, so "tiles_rendered_while_generating" is the price of smooth frames (the studio's
own loop sleeps once the view rests, and the worker then has the cores).
Frame time is the work of a frame (input, UI, upload, draw, swap), without the FPS-limit sleep.
"""

from __future__ import annotations

import json
import time

import numpy as np
from bench_args import parser


def measure(window, studio, frames: int, pan_px_s: float = 0.0) -> np.ndarray:
    out = []
    for _ in range(frames):
        t0 = time.perf_counter()
        if pan_px_s:
            studio.canvas.view.pan_screen(-pan_px_s / 60, 0.0)  # as if dragged at a steady speed
        window.draw(studio)
        window.present()
        out.append((time.perf_counter() - t0) * 1e3)
        time.sleep(max(0.0, 1 / 60 - out[-1] / 1e3))  # a 60 FPS cadence, like the studio
    return np.asarray(out)


def settle(window, studio, timeout: float = 120.0) -> None:
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        window.draw(studio)
        window.present()
        st = studio.scheduler.stats()
        if studio.world is not None and studio.canvas.complete() and not studio.jobs.busy() \
                and st.get("queue", 1) == 0 and st.get("rendering", 1) == 0:
            return  # the prefetch ring too: an "idle" view must not be rendering anything
        time.sleep(1 / 60)
    raise SystemExit("tiles did not settle in time")


def main() -> None:
    args = parser(__doc__, frames=(600, "per kind, over all rounds"),
                  rounds=(3, "idle / generating / panning_rendered rounds"),
                  pan=(240.0, "screen px/s while generating"),
                  json=(None, "also write the numbers here")).parse_args()

    from infiniscape.commands.view import reserve_ui_core
    from infiniscape.studio import Studio
    from infiniscape.window import StudioWindow

    reserve_ui_core()
    window = StudioWindow(1280, 800)
    studio = Studio(model=args.model, device="cpu")
    idle, busy, panning, rendered = [], [], [], 0
    n = max(1, args.frames // args.rounds)
    try:
        for _ in range(args.rounds):  # interleaved, so a machine that drifts slower hits every kind
            settle(window, studio)
            idle.append(measure(window, studio, n))
            rendered0 = studio.scheduler.stats()["rendered"]
            busy.append(measure(window, studio, n, pan_px_s=args.pan))
            rendered += studio.scheduler.stats()["rendered"] - rendered0
            far = studio.canvas.view.x
            settle(window, studio)
            # the same motion back over the stretch just rendered: panning's own UI cost, no torch
            panning.append(measure(window, studio, n, pan_px_s=-args.pan))
            studio.canvas.view.x = far + 2 * studio.canvas.size[0] / studio.canvas.view.zoom  # fresh world
    finally:
        studio.close()
        window.close()
    idle, busy, panning = (np.concatenate(x) for x in (idle, busy, panning))
    res = {"model": args.model, "frames": args.frames, "rounds": args.rounds,
           "tiles_rendered_while_generating": rendered}
    for name, ms in (("idle", idle), ("panning_rendered", panning), ("generating", busy)):
        p50, p95 = np.percentile(ms, [50, 95])
        res[f"{name}_p50_ms"], res[f"{name}_p95_ms"] = round(float(p50), 2), round(float(p95), 2)
    res["p95_ratio"] = round(res["generating_p95_ms"] / res["idle_p95_ms"], 3)
    res["p95_ratio_vs_panning_rendered"] = round(res["generating_p95_ms"] / res["panning_rendered_p95_ms"], 3)
    for k, v in res.items():
        print(f"{k:34s} {v}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
