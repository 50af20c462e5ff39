import pytest

from infiniscape.models.registry import load_model


@pytest.fixture(scope="session")
def tiny():
    return load_model("tiny")


@pytest.fixture(scope="session")
def default_model():
    return load_model("default")
