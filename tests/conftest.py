import pytest

from infiniscape.models.registry import load_model


@pytest.fixture(scope="session")
def tiny():
    return load_model("tiny")


@pytest.fixture(scope="session")
def default_model():
    return load_model("default")


try:  # the headless imgui context for studio and panel tests (tests/imgui_driver.py)
    from imgui_driver import gui  # noqa: F401
except ImportError:  # imgui_bundle missing: those test modules skip themselves
    pass
