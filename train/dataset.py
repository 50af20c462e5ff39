"""Image datasets for training: folders and StyleGAN2-ADA zips, plus the converter that makes zips.

A StyleGAN2-ADA zip holds square RGB PNGs named ``00000/img00000000.png`` ... and, when there are
labels, a ``dataset.json`` of the form ``{"labels": [["00000/img00000000.png", 3], ...]}``.
Every image passes through ``prepare_image`` (8-bit RGB, shorter side resized, centre crop), so a
folder and its converted zip give the same pixels.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from infiniscape.models.errors import UserError
from infiniscape.models.files import partial_path, remove, write_error

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm", ".pgm"}
LABELS_FILE = "dataset.json"


# ---------------------------------------------------------------- pixels


def to_rgb(img: Image.Image, alpha: str = "white") -> tuple[Image.Image, list[str]]:
    """8-bit RGB version of any Pillow image and the list of conversions it needed.

    ``alpha``: "white" composites transparent images on white, "drop" discards the alpha channel."""
    notes = []
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit (and 32-bit) grayscale: Pillow's own convert("L") clips instead of rescaling.
        # Mode "I" is also what 16-bit PNGs open as; a maximum above 255 tells the range apart.
        a = np.asarray(img, dtype=np.float64)
        if img.mode.startswith("I;16") or a.max() > 255:
            top, note = 65535.0, "16-bit to 8-bit"
        elif img.mode == "F" and a.max() <= 1:
            top, note = 1.0, "float to 8-bit"
        else:
            top, note = 255.0, f"{img.mode} to 8-bit"
        img = Image.fromarray(np.clip(a / top * 255 + 0.5, 0, 255).astype(np.uint8), "L")
        notes.append(note)
    if img.mode == "P":
        notes.append("palette to RGB")
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        if alpha == "drop":
            notes.append("alpha dropped")
            img = rgba.convert("RGB")
        else:
            notes.append("alpha composited on white")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            img = Image.alpha_composite(white, rgba).convert("RGB")
    if img.mode != "RGB":
        notes.append({"L": "grayscale to RGB", "1": "1-bit to RGB"}.get(img.mode, f"{img.mode} to RGB"))
        img = img.convert("RGB")
    return img, notes


def prepare_image(img: Image.Image, resolution: int, alpha: str = "white") -> tuple[np.ndarray, list[str]]:
    """uint8 [R, R, 3]: RGB, shorter side resized to R (Lanczos), centre-cropped; plus conversion notes."""
    img, notes = to_rgb(img, alpha)
    w, h = img.size
    if (w, h) != (resolution, resolution):
        scale = resolution / min(w, h)
        size = (max(resolution, round(w * scale)), max(resolution, round(h * scale)))
        img = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        left, top = (size[0] - resolution) // 2, (size[1] - resolution) // 2
        img = img.crop((left, top, left + resolution, top + resolution))
    out = np.asarray(img, dtype=np.uint8)
    assert out.shape == (resolution, resolution, 3), out.shape
    return out, notes


# ---------------------------------------------------------------- sources (folder or zip)


class _Source:
    """Names and bytes of the images in a folder (recursive) or a zip, sorted by name."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._zip, self._pid = None, None
        if self.path.is_dir():
            files = [p for p in self.path.rglob("*") if p.is_file()]
            self.all_names = sorted(p.relative_to(self.path).as_posix() for p in files)
        elif zipfile.is_zipfile(self.path):
            with zipfile.ZipFile(self.path) as z:
                self.all_names = sorted(n for n in z.namelist() if not n.endswith("/"))
        else:
            raise UserError(f"{self.path} is neither a folder nor a zip: pass a folder of images or a .zip")
        self.names = [n for n in self.all_names if Path(n).suffix.lower() in IMAGE_EXTENSIONS]

    def read(self, name: str) -> bytes:
        if self.path.is_dir():
            return (self.path / name).read_bytes()
        if self._zip is None or self._pid != os.getpid():  # a zip handle must not cross a fork
            self._zip, self._pid = zipfile.ZipFile(self.path), os.getpid()
        return self._zip.read(name)

    def labels(self) -> dict[str, object] | None:
        """name -> label from dataset.json, or None when there are no labels."""
        if LABELS_FILE not in self.all_names:
            return None
        try:
            data = json.loads(self.read(LABELS_FILE))
            pairs = data.get("labels") if isinstance(data, dict) else None
            return None if pairs is None else {str(n): lab for n, lab in pairs}
        except (ValueError, TypeError, AttributeError) as e:
            raise UserError(f"{self.path}/{LABELS_FILE} is not valid ({e}): expected "
                            '{"labels": [["img.png", label], ...]}') from e


def open_image(data: bytes) -> Image.Image:
    """Decode image bytes fully (so truncated files fail here, not later)."""
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


class ImageFolderDataset:
    """Images of a folder or StyleGAN2-ADA zip: ``ds[i]`` -> uint8 [R, R, 3]; ``ds.get_label(i)``."""

    def __init__(self, path: str | os.PathLike, resolution: int, alpha: str = "white"):
        self.source = _Source(path)
        self.resolution = int(resolution)
        self.alpha = alpha
        self.names = self.source.names
        if not self.names:
            raise UserError(f"{path} contains no images ({', '.join(sorted(IMAGE_EXTENSIONS))}): "
                            "point --data at a folder or zip of images")
        found = self.source.labels()
        self.labels = None if found is None else [found.get(n) for n in self.names]

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> np.ndarray:
        name = self.names[index]
        try:
            img = open_image(self.source.read(name))
        except Exception as e:  # noqa: BLE001 - any decoder failure is the same user problem
            raise UserError(f"cannot read {name} in {self.source.path} ({e}): clean the data with "
                            f"`infiniscape dataset --source {self.source.path} --dest clean.zip`") from e
        return prepare_image(img, self.resolution, self.alpha)[0]

    def get_label(self, index: int):
        """The label of image ``index`` from dataset.json, or None."""
        return None if self.labels is None else self.labels[index]


def open_dataset(spec: str, resolution: int, seed: int = 0, scene_height: int | None = None,
                 vertical=None):
    """``procedural[:SEED]`` -> ProceduralLandscapes; a folder or .zip -> ImageFolderDataset.
    ``scene_height`` and ``vertical`` (windows at any height) need the procedural source."""
    spec = str(spec)
    if spec == "procedural" or spec.startswith("procedural:"):
        from infiniscape.train.procedural import ProceduralLandscapes

        tail = spec.partition(":")[2]
        if tail and not tail.lstrip("-").isdigit():
            raise UserError(f"dataset '{spec}': the procedural seed must be an integer, e.g. procedural:3")
        return ProceduralLandscapes(resolution, seed=int(tail) if tail else seed, scene_height=scene_height,
                                    vertical=vertical)
    if scene_height or vertical is not None:
        raise UserError("--scene-height and --y-extent need --data procedural (a folder of images "
                        "cannot paint windows at other heights)")
    path = Path(spec).expanduser()
    if path.is_dir() or (path.is_file() and path.suffix.lower() == ".zip"):
        return ImageFolderDataset(path, resolution)
    what = "does not exist" if not path.exists() else "is not a folder or a .zip"
    raise UserError(f"dataset '{spec}' {what}: pass a folder of images, a .zip from `infiniscape dataset`, "
                    "or 'procedural'")


# ---------------------------------------------------------------- writing zips


@dataclass
class ConvertReport:
    """What a conversion did, file by file (source names)."""

    dest: str
    resolution: int
    written: list[str] = field(default_factory=list)
    converted: list[tuple[str, str]] = field(default_factory=list)  # (name, what was done)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, why)
    labelled: bool = False

    def summary(self) -> str:
        lines = [f"{self.dest}: written {len(self.written)} images at {self.resolution}x{self.resolution}, "
                 f"converted {len(self.converted)}, skipped {len(self.skipped)}"
                 + (", with labels" if self.labelled else "")]
        lines += [f"  converted {name}: {what}" for name, what in self.converted]
        lines += [f"  skipped {name}: {why}" for name, why in self.skipped]
        return "\n".join(lines)


class _ZipWriter:
    """Writes images as 00000/img00000000.png ... and dataset.json; the zip appears only when complete."""

    def __init__(self, dest: str | os.PathLike):
        self.dest = Path(dest)
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = partial_path(self.dest)
        self.zip = zipfile.ZipFile(self.tmp, "w", compression=zipfile.ZIP_STORED)  # PNGs are compressed
        self.labels: list[list] = []
        self.count = 0

    def add(self, pixels: np.ndarray, label=None) -> str:
        name = f"{self.count // 1000:05d}/img{self.count:08d}.png"
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="png", compress_level=1)
        self.zip.writestr(name, buf.getvalue())
        self.labels.append([name, label])
        self.count += 1
        return name

    def close(self, with_labels: bool) -> None:
        labels = self.labels if with_labels else None
        self.zip.writestr(LABELS_FILE, json.dumps({"labels": labels}))
        self.zip.close()
        os.replace(self.tmp, self.dest)

    def abort(self, error: BaseException) -> BaseException:
        """Remove the partial zip even when closing it fails (a full disk: it must not keep the disk
        full); returns the exception to raise (a failed write as write_error's one line)."""
        try:
            self.zip.close()
        except Exception:
            pass
        remove(self.tmp)
        return write_error(error, self.dest) if isinstance(error, OSError) else error


def convert_dataset(source: str | os.PathLike, dest_zip: str | os.PathLike, resolution: int,
                    alpha: str = "white", max_images: int | None = None, progress=None) -> ConvertReport:
    """Convert a folder or zip of images into a StyleGAN2-ADA zip of R x R RGB PNGs.

    Unreadable files, non-images and images smaller than R/2 are skipped; every skip and every pixel
    format conversion is listed in the report. ``progress(i, n)`` is called after each file."""
    if Path(source).resolve() == Path(dest_zip).resolve():
        raise UserError(f"--dest {dest_zip} is the source itself: write to a new file")
    src = _Source(source)
    labels = src.labels()
    report = ConvertReport(dest=str(dest_zip), resolution=int(resolution), labelled=labels is not None)
    report.skipped += [(n, "not an image file") for n in src.all_names
                       if n not in src.names and n != LABELS_FILE and not Path(n).name.startswith(".")]
    writer = _ZipWriter(dest_zip)
    try:
        for i, name in enumerate(src.names):
            if max_images is not None and len(report.written) >= max_images:
                break
            why = _convert_one(src, name, resolution, alpha, labels, writer, report)
            if why:
                report.skipped.append((name, why))
            if progress:
                progress(i + 1, len(src.names))
        writer.close(with_labels=labels is not None)
    except BaseException as e:
        raise writer.abort(e) from None
    return report


def _convert_one(src, name, resolution, alpha, labels, writer, report) -> str | None:
    """Add one source image to the writer; returns why it was skipped, or None."""
    if labels is not None and name not in labels:
        return f"no label in {LABELS_FILE}"
    try:
        img = open_image(src.read(name))
    except Exception as e:  # noqa: BLE001 - every decoder error means "unreadable"
        return f"unreadable ({type(e).__name__}: {e})"
    if min(img.size) < resolution / 2:
        return f"too small ({img.size[0]}x{img.size[1]} < {resolution / 2:g} on the shorter side)"
    try:
        pixels, notes = prepare_image(img, resolution, alpha)
    except Exception as e:  # noqa: BLE001 - exotic modes Pillow cannot convert
        return f"cannot convert mode {img.mode} ({e})"
    writer.add(pixels, None if labels is None else labels[name])
    report.written.append(name)
    if notes:
        report.converted.append((name, ", ".join(notes)))
    return None


def export_procedural(dest_zip: str | os.PathLike, resolution: int, count: int, seed: int = 0,
                      progress=None) -> ConvertReport:
    """Write ``count`` procedural landscapes into a StyleGAN2-ADA zip (no labels)."""
    from infiniscape.train.procedural import ProceduralLandscapes

    ds = ProceduralLandscapes(resolution, seed=seed)
    report = ConvertReport(dest=str(dest_zip), resolution=int(resolution))
    writer = _ZipWriter(dest_zip)
    try:
        for i in range(count):
            writer.add(ds[i])
            report.written.append(f"procedural:{seed}/{i}")
            if progress:
                progress(i + 1, count)
        writer.close(with_labels=False)
    except BaseException as e:
        raise writer.abort(e) from None
    return report
