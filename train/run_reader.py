"""Reading a run directory: the format run_dir.RunDir writes (see its docstring), read back by
`--resume`, the studio's Training panel and `infiniscape runs`. No torch here: listing runs stays quick.
Every reader takes a half-written or missing file as "nothing yet", never as an error."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

CONFIG = "config.yaml"
STATUS = "status.json"
STATS = "stats.jsonl"
METRICS = "metrics.jsonl"
LOG = "log.txt"
SAMPLES = "samples"
SNAPSHOTS = "snapshots"
G_EMA = "G_ema-{nimg:09d}.pt"  # the renderable checkpoint of a snapshot, by images shown
STATE = "state-{nimg:09d}.pt"  # the full training state beside it
GRID = "grid-{nimg:09d}.png"  # the fixed-seed sample grid of a snapshot


def glob_of(name: str) -> str:
    """A snapshot or grid file name's glob: G_ema-*.pt for G_EMA."""
    return name.replace("{nimg:09d}", "*")


def read_config(path: str | Path) -> dict:
    """config.yaml: every option of the run (TrainOptions.to_dict)."""
    return yaml.safe_load((Path(path) / CONFIG).read_text())


def read_status(path: str | Path) -> dict | None:
    """status.json, or None before the first one (it is replaced atomically: never half of one)."""
    return read_object(Path(path) / STATUS)


def read_object(path: Path) -> dict | None:
    """A file holding one JSON object; None when it is missing, unreadable or anything else."""
    try:
        obj = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def read_jsonl(path: Path) -> list[dict]:
    """Objects of a JSONL file; a torn last line (killed mid-append) is ignored."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def holds_run(path: str | Path) -> bool:
    """Whether a training run has already written into ``path`` (a new run must not start there)."""
    return (Path(path) / STATUS).exists() or (Path(path) / SNAPSHOTS).exists()


def snapshots(path: str | Path) -> tuple[Path, ...]:
    """The run's renderable G_ema checkpoints, oldest first."""
    return tuple(sorted((Path(path) / SNAPSHOTS).glob(glob_of(G_EMA))))


def newest_snapshot(path: str | Path) -> Path | None:
    snaps = snapshots(path)
    return snaps[-1] if snaps else None


def sample_grids(path: str | Path) -> tuple[Path, ...]:
    """The run's sample grids, oldest first."""
    return tuple(sorted((Path(path) / SAMPLES).glob(glob_of(GRID))))
