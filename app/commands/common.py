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


def integer(kind: str, lowest: int | None = None, highest: int | None = None):
    """argparse type: an integer in [lowest, highest], with a message naming the option."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text[:24]!r}") from None
        if lowest is not None and highest is not None and lowest == -highest and abs(value) > highest:
            raise argparse.ArgumentTypeError(f"{kind} must be within +-{highest}, got {text[:24]}")
        if lowest is not None and value < lowest:
            low = {0: "0 or more", 1: "positive"}.get(lowest, f"at least {lowest}")
            raise argparse.ArgumentTypeError(f"{kind} must be {low}, got {value}")
        if highest is not None and value > highest:
            raise argparse.ArgumentTypeError(f"{kind} must be at most {highest}, got {text[:24]}")
        return value
    return parse


def positive(kind: str, limit: int | None = None):
    """argparse type: a positive integer (up to ``limit``)."""
    return integer(kind, 1, limit)


def non_negative(kind: str):
    """argparse type: an integer >= 0."""
    return integer(kind, 0)


def coordinate(kind: str):
    """argparse type: a world coordinate, an integer within the world's extent."""
    from infiniscape.renderer.limits import WORLD_EXTENT

    return integer(kind, -WORLD_EXTENT, WORLD_EXTENT)


def pair(kind: str, cast: type = int, what: str = "two integers as A,B"):
    """argparse type: 'A,B' as a tuple of two numbers."""
    def parse(text: str) -> tuple:
        try:
            a, b = (cast(v) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{kind} takes {what}, got {text[:24]!r}") from None
        return a, b
    return parse


def add_count(p: argparse.ArgumentParser, flag: str, default: int, help: str, check=positive, **kw) -> None:
    """An integer option whose parser names its flag and whose help states its default (both once)."""
    p.add_argument(flag, type=check(flag), default=default, help=f"{help} (default {default})", **kw)
