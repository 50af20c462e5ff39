"""A Scene is plain data that reproduces a canvas exactly: model, seed, knobs, edits, styles.

Saved as a small YAML file (atomically: temp file + rename). Loading validates every field and
names the first bad one, e.g. ``edits[2].resample.rect: expected [x, y, width, height]``.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ..models.contract import NOISE_MODES as CONTRACT_NOISE_MODES
from ..models.contract import CellRange, StyleMix
from ..models.errors import UserError
from ..models.files import atomic_output
from ..models.registry import DEFAULT_MODEL
from ..models.safe_yaml import load_yaml, short_repr
from .edits import FIELD_GROUPS, CellBlock, PlaceImage, Resample, StyleAnchor
from .fusion import SHAPES, FusionParams
from .limits import MAX_EDIT_VALUES, MAX_FEATHER, MAX_REACH, LimitError, check_int, check_number, check_rect

VERSION = 1
NOISE_MODES = tuple(CONTRACT_NOISE_MODES)  # the contract's, in its order ("world" first: the default)


@dataclass
class Scene:
    model: str = DEFAULT_MODEL  # config name or checkpoint path
    seed: int = 0
    truncation: float = 1.0
    noise_mode: str = "world"  # "world": noise from the seeded lattice; "off": no noise
    class_idx: int | None = None  # conditional networks: the class label
    style_mix: StyleMix | None = None  # StyleGAN families: ws [lo, hi) from a second seed
    seed_offset: tuple[float, float] = (0.0, 0.0)  # official networks: fractional shift on the seed plane
    edits: list[Resample | PlaceImage] = field(default_factory=list)
    styles: list[StyleAnchor] = field(default_factory=list)
    fusion: FusionParams = field(default_factory=FusionParams)
    model_hash: str | None = None  # sha256 of the checkpoint or config the scene was made with

    def to_dict(self, sidecars: dict[int, tuple[str, str]] | None = None) -> dict:
        """The scene as YAML data; ``sidecars`` names the cell file (name, sha256) of each placed
        image edit, by edit index (Scene.save writes them)."""
        def rect(r):
            return None if r is None else [int(v) for v in r]

        def entry(i: int, e) -> dict:
            if isinstance(e, PlaceImage):
                name, digest = (sidecars or {}).get(i, (None, None))
                return {"image": {"files": list(e.images), "rects": [rect(r) for r in e.rects],
                                  "cells": name, "sha256": digest}}
            return {"resample": {"field": e.field, "rect": rect(e.rect), "seed": int(e.seed),
                                 "stats_rect": rect(e.stats_rect), "feather": int(e.feather)}}

        return {
            "version": VERSION,
            "model": self.model,
            "model_hash": self.model_hash,
            "seed": int(self.seed),
            "truncation": float(self.truncation),
            "noise_mode": self.noise_mode,
            **({"class": int(self.class_idx)} if self.class_idx is not None else {}),
            **({"style_mix": {"seed": int(m.seed), "layers": [int(m.lo), int(m.hi)]}}
               if (m := self.style_mix) is not None else {}),
            **({"seed_offset": [float(v) for v in self.seed_offset]} if any(self.seed_offset) else {}),
            # no blur: proportional to the radius (FusionParams.blur_width)
            "fusion": {"radius": self.fusion.radius, "step": self.fusion.step, "shape": self.fusion.shape,
                       "band": self.fusion.band,
                       **({"blur": self.fusion.blur} if self.fusion.blur is not None else {})},
            "edits": [entry(i, e) for i, e in enumerate(self.edits)],
            "styles": [{"at": [float(a.at[0]), float(a.at[1])],
                        **({"seed": int(a.seed)} if a.seed is not None else {}),
                        **({"pick": [float(a.pick[0]), float(a.pick[1])]} if a.pick is not None else {}),
                        **({"radius": int(a.radius)} if a.radius is not None else {}),
                        **({"blur": int(a.blur)} if a.blur is not None else {})}
                       for a in self.styles],
        }

    def save(self, path: str | Path) -> Path:
        """Write atomically: a crash mid-save never leaves a half-written scene."""
        path = Path(path)
        sidecars = {}
        for i, e in enumerate(self.edits):  # the fitted cells of placed images, one .npz each
            if isinstance(e, PlaceImage):
                data = cells_npz(e.blocks)
                digest = hashlib.sha256(data).hexdigest()
                name = f"{path.stem}.cells-{digest[:12]}.npz"
                with atomic_output(path.with_name(name)) as tmp:
                    tmp.write_bytes(data)
                sidecars[i] = (name, digest)
        with atomic_output(path) as tmp:
            tmp.write_text(yaml.safe_dump(self.to_dict(sidecars), sort_keys=False, default_flow_style=None))
        return path


def cells_npz(blocks: tuple[CellBlock, ...]) -> bytes:
    """Cell blocks as .npz bytes: per block i, field_i (str), cells_i [x0, y0, x1, y1], values_i."""
    arrays = {}
    for i, b in enumerate(blocks):
        arrays[f"field_{i}"] = np.array(b.field)
        arrays[f"cells_{i}"] = np.array([b.cells.x0, b.cells.y0, b.cells.x1, b.cells.y1], np.int64)
        arrays[f"values_{i}"] = np.ascontiguousarray(b.values, np.float32)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def read_cells_npz(path: Path, digest: str, where: str) -> tuple[CellBlock, ...]:
    """The blocks of a sidecar file, checked against the scene's sha256 and for sane contents."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SceneError(f"{where}: cannot read its cell file {path.name}: {e.strerror or e}") from None
    if hashlib.sha256(data).hexdigest() != digest:
        raise SceneError(f"{where}: cell file {path.name} does not match the scene's sha256 (changed, or "
                         "from another scene); restore it or remove this edit")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            n = sum(1 for k in z.files if k.startswith("field_"))
            blocks = []
            for i in range(n):
                x0, y0, x1, y1 = (int(v) for v in z[f"cells_{i}"])
                values = z[f"values_{i}"]
                rows, cols = y1 - y0, x1 - x0
                if values.ndim != 3 or values.shape[1:] != (rows, cols) or values.size > MAX_EDIT_VALUES \
                        or not np.isfinite(values).all():
                    raise ValueError(f"block {i} is malformed")
                blocks.append(CellBlock(str(z[f"field_{i}"]), CellRange(x0, y0, x1, y1),
                                        values.astype(np.float32)))
    except (ValueError, KeyError, OSError, zipfile.BadZipFile) as e:
        raise SceneError(f"{where}: cell file {path.name} is not readable ({str(e)[:80]})") from None
    return tuple(blocks)


def model_hash(model: str) -> str | None:
    """sha256 of a model file (checkpoint or YAML config); None for built-in names."""
    p = Path(model)
    if not p.is_file():
        return None
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_scene(path: str | Path) -> Scene:
    """Read and validate a scene file; a bad file raises UserError naming the first bad field."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserError(f"scene file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read scene file {path}: {getattr(e, 'strerror', None) or e}") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        at = f" (line {where.line + 1})" if where else ""
        raise UserError(f"{path}: not valid YAML{at}: {getattr(e, 'problem', None) or e}") from None
    try:
        return scene_from_dict(data, path.parent)
    except SceneError as e:
        raise UserError(f"{path}: {e}") from None


class SceneError(ValueError):
    pass


SEED_LIMIT = (1 << 63) - 1


def _check(cond: bool, where: str, what: str, got) -> None:
    if not cond:
        raise SceneError(f"{where}: expected {what}, got {short_repr(got)}")


def _int(v, where: str, lo: int = -SEED_LIMIT, hi: int = SEED_LIMIT) -> int:
    try:
        return check_int(v, where, lo, hi)
    except LimitError as e:
        raise SceneError(str(e)) from None


def _num(v, where: str, bound: float | None = None) -> float:
    try:
        return check_number(v, where) if bound is None else check_number(v, where, bound)
    except LimitError as e:
        raise SceneError(str(e)) from None


def _rect(v, where: str) -> tuple[int, int, int, int]:
    try:
        return check_rect(v, where)
    except LimitError as e:
        raise SceneError(str(e)) from None


def _point(v, where: str) -> tuple[float, float]:
    _check(isinstance(v, list) and len(v) == 2, where, "[x, y]", v)
    return (_num(v[0], where), _num(v[1], where))


def _keys(d, where: str, allowed: set[str], required: set[str] = frozenset()) -> dict:
    _check(isinstance(d, dict), where, "a mapping", d)
    for k in d:
        if k not in allowed:
            raise SceneError(f"{where}: unknown key {short_repr(k)} (allowed: {', '.join(sorted(allowed))})")
    for k in sorted(required):
        if k not in d:
            raise SceneError(f"{where}: missing key {k!r}")
    return d


def _place_image(e: dict, w: str, base: Path | None) -> PlaceImage:
    _keys(e, w, {"image"}, {"image"})
    keys = {"files", "rects", "cells", "sha256"}
    d = _keys(e["image"], f"{w}.image", keys, keys)
    _check(isinstance(d["rects"], list) and 0 < len(d["rects"]) <= 16, f"{w}.image.rects",
           "1 to 16 rectangles", d["rects"])
    rects = tuple(_rect(r, f"{w}.image.rects") for r in d["rects"])
    files = d["files"]
    _check(isinstance(files, list) and len(files) == len(rects) and all(isinstance(f, str) and len(f) < 4096
                                                                       for f in files),
           f"{w}.image.files", "one file name per rectangle", files)
    name, digest = d["cells"], d["sha256"]
    _check(isinstance(name, str) and Path(name).name == name and name.endswith(".npz"), f"{w}.image.cells",
           "the name of a .npz file next to the scene", name)
    _check(isinstance(digest, str) and len(digest) == 64, f"{w}.image.sha256", "a sha256 hex digest", digest)
    if base is None:
        raise SceneError(f"{w}: a placed image's cells live in a file next to the scene; load it from a file")
    return PlaceImage(read_cells_npz(base / name, digest, w), rects, tuple(files))


def scene_from_dict(data, base: Path | None = None) -> Scene:
    """A scene from its YAML data; ``base`` is the scene file's folder (sidecar cell files live there)."""
    d = _keys(data, "scene", {"version", "model", "model_hash", "seed", "truncation", "noise_mode", "edits",
                              "styles", "fusion", "class", "style_mix", "seed_offset"}, {"version", "model"})
    _check(d["version"] == VERSION, "version", f"{VERSION}", d["version"])
    _check(isinstance(d["model"], str) and 0 < len(d["model"]) <= 4096, "model",
           "a config name or checkpoint path", d["model"])
    scene = Scene(model=d["model"], seed=_int(d.get("seed", 0), "seed"),
                  truncation=_num(d.get("truncation", 1.0), "truncation", 100.0))
    scene.model_hash = d.get("model_hash")
    _check(scene.model_hash is None or isinstance(scene.model_hash, str) and len(scene.model_hash) <= 128,
           "model_hash", "a hex string", scene.model_hash)
    scene.noise_mode = d.get("noise_mode", "world")
    _check(scene.noise_mode in NOISE_MODES, "noise_mode", " or ".join(NOISE_MODES), scene.noise_mode)
    if d.get("class") is not None:
        scene.class_idx = _int(d["class"], "class", 0, 1 << 31)
    if d.get("style_mix") is not None:
        m = _keys(d["style_mix"], "style_mix", {"seed", "layers"}, {"seed", "layers"})
        layers = m["layers"]
        _check(isinstance(layers, list) and len(layers) == 2, "style_mix.layers", "[first, end]", layers)
        lo, hi = (_int(v, "style_mix.layers", 0, 1 << 10) for v in layers)
        _check(0 <= lo <= hi, "style_mix.layers", "0 <= first <= end", layers)
        scene.style_mix = StyleMix(_int(m["seed"], "style_mix.seed"), lo, hi)
    if d.get("seed_offset") is not None:
        scene.seed_offset = _point(d["seed_offset"], "seed_offset")
    if d.get("fusion") is not None:
        f = _keys(d["fusion"], "fusion", {"radius", "blur", "step", "shape", "band"})
        shape = f.get("shape", "disk")  # files from before bands were disks
        _check(shape in SHAPES, "fusion.shape", " or ".join(SHAPES), shape)
        scene.fusion = FusionParams(**{k: _int(v, f"fusion.{k}") for k, v in f.items() if k != "shape"},
                                    shape=shape)
        _fusion_fits(scene.fusion, "fusion")
    edits = d.get("edits") or []
    _check(isinstance(edits, list), "edits", "a list", edits)
    for i, e in enumerate(edits):
        w = f"edits[{i}]"
        if isinstance(e, dict) and "image" in e:
            scene.edits.append(_place_image(e, w, base))
            continue
        _keys(e, w, {"resample"}, {"resample"})
        r = _keys(e["resample"], f"{w}.resample", {"field", "rect", "seed", "stats_rect", "feather"},
                  {"field", "rect", "seed"})
        _check(r["field"] in FIELD_GROUPS, f"{w}.resample.field", " / ".join(FIELD_GROUPS), r["field"])
        stats = r.get("stats_rect")
        scene.edits.append(Resample(
            field=r["field"], rect=_rect(r["rect"], f"{w}.resample.rect"),
            seed=_int(r["seed"], f"{w}.resample.seed"),
            stats_rect=None if stats is None else _rect(stats, f"{w}.resample.stats_rect"),
            feather=_int(r.get("feather", 8), f"{w}.resample.feather", 0, MAX_FEATHER)))
    styles = d.get("styles") or []
    _check(isinstance(styles, list), "styles", "a list", styles)
    for i, s in enumerate(styles):
        w = f"styles[{i}]"
        _keys(s, w, {"at", "seed", "pick", "radius", "blur"}, {"at"})
        _check(("seed" in s) != ("pick" in s), w, "exactly one of 'seed' or 'pick'", sorted(s))
        own = {k: _int(s[k], f"{w}.{k}") for k in ("radius", "blur") if s.get(k) is not None}
        for k, v in own.items():
            _int(v, f"{w}.{k}", 0, MAX_REACH)
        scene.styles.append(StyleAnchor(
            at=_point(s["at"], f"{w}.at"), seed=_int(s["seed"], f"{w}.seed") if "seed" in s else None,
            pick=_point(s["pick"], f"{w}.pick") if "pick" in s else None, **own))
        _fusion_fits(scene.fusion.of(scene.styles[-1]), w)
    return scene


def _fusion_fits(params: FusionParams, where: str) -> None:
    try:
        params.check()
    except ValueError as e:
        raise SceneError(str(e).replace("fusion", where, 1) if where != "fusion" else str(e)) from None
