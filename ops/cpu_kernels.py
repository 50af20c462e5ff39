"""Fused CPU kernels (csrc/), compiled on first use with torch.utils.cpp_extension + ninja.

Each op takes its reference's arguments and gives its values (up to float rounding):
- `filtered_lrelu`: ops/filtered_lrelu.py, for a 1D upsampling filter and `down` dividing `up` (every
  StyleGAN3 layer), one pass over each plane instead of a depthwise FIR on 4x-upsampled maps;
- `bias_lrelu_`: StyleGAN2's layer epilogue (noise, bias, leaky ReLU, gain, clamp) in one pass;
- `fir_phases`: the low-pass after StyleGAN2's 2x up-convolution, read from its four phase convolutions;
- `nnpack_conv3x3`: NNPACK's 3x3 convolution into a reused output buffer (ops/buffers.py).
The pure-torch reference runs where a kernel does not apply (a gradient is wanted, another device or
dtype) or cannot be built (no compiler): the app works without a compiler; kernels only make it faster.
The build is cached per user (``$INFINISCAPE_CACHE`` or ``~/.cache/infiniscape``);
``INFINISCAPE_NO_KERNELS=1`` forces the reference ops.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from pathlib import Path

import torch

from . import buffers
from . import filtered_lrelu as reference
from .bias_act import bias_act
from .upfirdn2d import parse_padding

CSRC = Path(__file__).parent / "csrc"
SOURCES = [CSRC / "filtered_lrelu.cpp", CSRC / "stylegan2_ops.cpp", CSRC / "nnpack_conv.cpp"]
HEADERS = [CSRC / "kernels.h", CSRC / "fir_rows.h"]
CFLAGS = ["-O3", "-march=native", "-fopenmp"]  # OpenMP: at::parallel_for spreads the channels over cores
log = logging.getLogger(__name__)

_lock = threading.Lock()
_state: dict = {}  # "module" once built, or "error": why the reference is used


def cache_dir() -> Path:
    """Where compiled kernels live: $INFINISCAPE_CACHE, else $XDG_CACHE_HOME/infiniscape, else ~/.cache."""
    root = os.environ.get("INFINISCAPE_CACHE")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "infiniscape"


def _cpu_signature() -> str:
    """-march=native code only runs where it was built: the CPU's flags go into the build name."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def _build_name() -> str:
    h = hashlib.sha256()
    for path in SOURCES + HEADERS:
        h.update(path.read_bytes())
    for part in (torch.__version__, " ".join(CFLAGS), _cpu_signature()):
        h.update(part.encode())
    return f"infiniscape_kernels_{h.hexdigest()[:12]}"


def _build():
    from torch.utils import cpp_extension

    if os.environ.get("INFINISCAPE_NO_KERNELS"):
        raise RuntimeError("INFINISCAPE_NO_KERNELS is set")
    cxx = os.environ.get("CXX", "c++")
    if shutil.which(cxx) is None:
        raise RuntimeError(f"no C++ compiler ({cxx!r} not found)")
    if not cpp_extension.is_ninja_available():
        raise RuntimeError("ninja is not installed")
    name = _build_name()
    build_dir = cache_dir() / "torch_extensions" / name
    build_dir.mkdir(parents=True, exist_ok=True)
    if not any(build_dir.glob("*.so")):
        log.warning("compiling the fused CPU kernels into %s (once, about a minute)", build_dir)
    return cpp_extension.load(name=name, sources=[str(p) for p in SOURCES], extra_cflags=CFLAGS,
                              extra_ldflags=["-fopenmp"], build_directory=str(build_dir), verbose=False)


def kernel():
    """The compiled extension module, or None (the reason is in `kernel_status`); builds once."""
    with _lock:
        if not _state:
            try:
                _state["module"] = _build()
            except Exception as e:  # any failure to build or load means: use the reference
                lines = [ln for ln in str(e).strip().splitlines() if ln.strip()]
                _state["error"] = f"{type(e).__name__}: {lines[-1] if lines else e}"
                log.warning("fused CPU kernels unavailable, using the pure-torch reference ops (%s)",
                            _state["error"])
        return _state.get("module")


def kernel_status() -> str:
    """'compiled' or 'unavailable: <why>' (builds on first call)."""
    return "compiled" if kernel() is not None else f"unavailable: {_state['error']}"


def _kernel_applies(x: torch.Tensor, fu, fd, b, up, down) -> bool:
    tensors = [t for t in (x, fu, fd, b) if t is not None]
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return False  # inference kernel: the reference differentiates
    return (x.device.type == "cpu" and x.dtype == torch.float32 and x.ndim == 4
            and (fu is None or fu.ndim == 1) and (fd is None or fd.ndim in (1, 2))
            and isinstance(up, int) and isinstance(down, int) and up % down == 0  # StyleGAN3's layers
            and all(t.device.type == "cpu" for t in tensors))


def filtered_lrelu(x: torch.Tensor, fu=None, fd=None, b=None, up=1, down=1, padding=0, gain=reference.SQRT2,
                   slope=0.2, clamp=None, flip_filter=False) -> torch.Tensor:
    """The reference filtered_lrelu, fused into one C++ pass over each plane when it applies."""
    args = dict(fu=fu, fd=fd, b=b, up=up, down=down, padding=padding, gain=gain, slope=slope, clamp=clamp,
                flip_filter=flip_filter)
    if not _kernel_applies(x, fu, fd, b, up, down) or (mod := kernel()) is None:
        return reference.filtered_lrelu(x, **args)
    assert isinstance(up, int) and up >= 1 and isinstance(down, int) and down >= 1
    assert gain > 0 and slope >= 0 and (clamp is None or clamp >= 0)
    one = torch.ones(1)
    fu = one if fu is None else fu.float()
    fd = one if fd is None else fd.float()
    b = torch.zeros(x.shape[1]) if b is None else b.float()
    x0, x1, y0, y1 = parse_padding(padding)
    return mod.filtered_lrelu(x, fu, fd, b, up, down, x0, x1, y0, y1, float(gain), float(slope),
                              -1.0 if clamp is None else float(clamp), bool(flip_filter))


# StyleGAN2's layer epilogue and up-conv low-pass (csrc/stylegan2_ops.cpp), with the reference's semantics.

def bias_lrelu_(x: torch.Tensor, b: torch.Tensor, noise: torch.Tensor | None = None, slope: float = 0.2,
                gain: float = reference.SQRT2, clamp: float | None = None) -> torch.Tensor:
    """bias_act(x + noise, b, act='lrelu', alpha=slope, gain=gain, clamp=clamp), reusing x's storage (x is
    consumed): one pass instead of five. `noise` is [H, W], shared by all channels."""
    tensors = [t for t in (x, b, noise) if t is not None]
    if (torch.is_grad_enabled() and any(t.requires_grad for t in tensors)) or x.device.type != "cpu" \
            or x.dtype != torch.float32 or not x.is_contiguous() or (mod := kernel()) is None:
        if noise is not None:
            x = x.add_(noise)
        return bias_act(x, b, act="lrelu", alpha=slope, gain=gain, clamp=clamp)
    empty = torch.empty(0)
    return mod.bias_noise_lrelu_(x, empty if noise is None else noise.float(), b.float(), float(gain),
                                 float(slope), -1.0 if clamp is None else float(clamp))


def _square_root_filter(f: torch.Tensor) -> torch.Tensor | None:
    """v with f == outer(v, v) for a 2D filter (StyleGAN2's [1, 3, 3, 1] low-pass), f for 1D, else None."""
    if f.ndim == 1:
        return f
    rows = f.sum(dim=1)
    total = rows.sum()
    if f.shape[0] != f.shape[1] or total <= 0:
        return None
    v = rows / total.sqrt()
    return v if torch.allclose(torch.outer(v, v), f, rtol=1e-5, atol=1e-8) else None


def fir_phases(phases: list[torch.Tensor], f: torch.Tensor, padding=0,
               gain: float = 1.0) -> torch.Tensor | None:
    """upfirdn2d(y, f, padding=padding, gain=gain) for the image y whose polyphase components are
    phases[2a + b] = y[:, :, a::2, b::2], without forming y; None where the kernel does not apply (the caller
    interleaves and filters with the reference)."""
    v = _square_root_filter(f)
    if v is None or not all(_kernel_applies(p, v, None, None, 1, 1) for p in phases):
        return None
    if (mod := kernel()) is None:
        return None
    x0, x1, y0, y1 = parse_padding(padding)
    n, c = phases[0].shape[:2]
    h, w = phases[0].shape[2] + phases[2].shape[2], phases[0].shape[3] + phases[1].shape[3]
    out = buffers.empty((n, c, h + y0 + y1 - len(v) + 1, w + x0 + x1 - len(v) + 1))
    return mod.fir_phases(phases, v.float(), x0, x1, y0, y1, float(gain), out)


def nnpack_conv3x3(x: torch.Tensor, w: torch.Tensor, padding: tuple[int, int]) -> torch.Tensor | None:
    """conv2d(x, w, padding=padding) for one float32 image and a 3x3 kernel by NNPACK, into a reused
    buffer (ops/buffers.py); None where the kernel or NNPACK is unavailable or refuses."""
    if (mod := kernel()) is None or x.shape[0] != 1:
        return None
    ph, pw = padding
    out = buffers.empty((1, w.shape[0], x.shape[2] + 2 * ph - 2, x.shape[3] + 2 * pw - 2))
    return out if mod.nnpack_conv3x3_out(x.contiguous(), w.contiguous(), out, ph, pw) else None
