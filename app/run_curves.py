"""Which curves the Training panel draws: the stats a user chose, grouped into plots by what they
measure (so each plot has one unit), against a chosen x axis, plus the metric curves."""

from __future__ import annotations

import re

import numpy as np

from infiniscape.run_view import RunView

# infiniscape's stats.jsonl: stat -> plot
OWN_PLOTS = {"loss_G": "losses", "loss_D": "losses", "real_score": "losses", "fake_score": "losses",
             "r1": "R1", "img_per_s": "speed", "mem_mb": "memory (MB)", "lod": "level of detail"}
# the SG2-ADA loop's stat names: (pattern, plot), the first match wins
SG2_PLOTS = ((r"Loss/", "losses"), (r"Progress/augment$", "augment p"), (r"Progress/", "progress"),
             (r"Timing/total_hours$", "hours"), (r"Timing/total_days$", "days"),
             (r"Timing/(sec_per_|total_sec|maintenance)", "seconds"), (r"Timing/", "phase time (ms)"),
             (r"Resources/.*_gb$", "memory (GB)"))
UNITS = {"losses": "loss (per image)", "R1": "R1 penalty", "speed": "images / s", "metrics": "metric",
         "seconds": "seconds", "progress": "kimg / tick", "augment p": "augment p"}
DEFAULTS = {"infiniscape": ("loss_G", "loss_D", "real_score", "fake_score", "r1", "img_per_s"),
            "sg2-ada": ("Loss/G/loss", "Loss/D/loss", "Progress/augment", "Timing/sec_per_kimg")}


def plot_of(stat: str) -> str:
    """The plot a stat is drawn in (stats of one plot share a unit)."""
    if stat in OWN_PLOTS:
        return OWN_PLOTS[stat]
    for pattern, plot in SG2_PLOTS:
        if re.match(pattern, stat):
            return plot
    if stat.startswith(("sec_", "maintenance_sec", "total_sec")):
        return "seconds"
    return stat


def unit_of(plot: str) -> str:
    return UNITS.get(plot, plot)


def choosable(view: RunView) -> list[str]:
    """The stats a user can plot (the x axes' own columns too: kimg against hours is the speed)."""
    return [k for k in view.stats if np.isfinite(view.stats[k]).any()]


def default_stats(view: RunView) -> list[str]:
    present = set(choosable(view))
    return [s for s in DEFAULTS.get(view.format, ()) if s in present]


def series(view: RunView | None, chosen: list[str], x_axis: str = "kimg"
           ) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """{plot: {curve: (x, values)}}: the chosen stats against ``x_axis`` (a key of view.x_axes),
    points where either is NaN left out (a stat not reported in a tick); then "metrics" against kimg."""
    if view is None:
        return {}
    out: dict = {}
    x_col = view.x_axes.get(x_axis) or view.x_axes.get("kimg")
    xs = view.stats.get(x_col) if x_col else None
    if xs is not None:
        for stat in chosen:
            ys = view.stats.get(stat)
            if ys is None or len(ys) != len(xs):
                continue
            ok = np.isfinite(xs) & np.isfinite(ys)
            if ok.any():
                out.setdefault(plot_of(stat), {})[stat] = (np.ascontiguousarray(xs[ok]),
                                                           np.ascontiguousarray(ys[ok]))
    if view.metrics:
        out["metrics"] = {k: (np.ascontiguousarray(x), np.ascontiguousarray(y))
                          for k, (x, y) in view.metrics.items()}
    return out
