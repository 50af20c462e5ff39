"""Arguments and helpers shared by several subcommands."""

from __future__ import annotations

import argparse

from infiniscape.models.errors import UserError
from infiniscape.models.registry import DEFAULT_MODEL


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"built-in name ({DEFAULT_MODEL}, tiny, default), .yaml config or checkpoint file "
                        f"(default: {DEFAULT_MODEL})")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: auto)")


def resolve_device(name: str) -> str:
    """'auto' picks CUDA when present; an unavailable device is a user error, not a crash."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"device {name} requested but no CUDA GPU is available: use --device cpu")
        return name
    if name != "cpu":
        raise UserError(f"unknown device {name!r}: use cpu, cuda, cuda:N or auto")
    return name


def positive(kind: str, limit: int | None = None):
    """argparse type: a positive integer (up to ``limit``), with a message naming the option."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{kind} must be an integer, got {text[:24]!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{kind} must be positive, got {value}")
        if limit is not None and value > limit:
            raise argparse.ArgumentTypeError(f"{kind} must be at most {limit}, got {text[:24]}")
        return value
    return parse


def coordinate(kind: str):
    """argparse type: a world coordinate, an integer within the world's extent."""
    from infiniscape.renderer.limits import WORLD_EXTENT

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text[:24]!r}") from None
        if abs(value) > WORLD_EXTENT:
            raise argparse.ArgumentTypeError(f"{kind} must be within +-{WORLD_EXTENT}, got {text[:24]}")
        return value
    return parse


def non_negative(kind: str):
    """argparse type: an integer >= 0, with a message naming the option."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{kind} must be an integer, got {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"{kind} must be 0 or more, got {value}")
        return value
    return parse
