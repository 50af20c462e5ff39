"""Fixtures shared by the test modules: the built-in models, a tiny world, and (tests/studio_fixtures.py)
headless studios, one torch thread and an X display; a GUI test skipped in CI (CI=true) fails instead."""

import pytest
from studio_fixtures import display, make_studio, one_torch_thread, studio  # noqa: F401

from infiniscape.models.registry import load_model
from infiniscape.renderer.scene import Scene
from infiniscape.renderer.world import World


@pytest.fixture(scope="session")
def tiny():
    return load_model("tiny")


@pytest.fixture(scope="session")
def default_model():
    return load_model("default")


@pytest.fixture(scope="module")
def world(tiny):
    """The tiny world of seed 3, rendered in batches of 4 tiles (one per module: tests read it only)."""
    return World(tiny, Scene(seed=3), tile_batch=4)


try:  # the headless imgui context for studio and panel tests (tests/imgui_driver.py)
    from imgui_driver import gui  # noqa: F401
except ImportError:  # imgui_bundle missing: those test modules skip themselves
    pass
