"""The shape of the code (issue 18): layer contracts hold and no module outgrows one concept.

import-linter walks a package folder on disk, but the editable install assembles ``infiniscape``
from the top-level folders (pyproject ``package-dir``); the test copies them into that shape and
runs ``lint-imports`` with the contracts in pyproject.toml."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SUBPACKAGES = ("models", "renderer", "ops", "train", "widgets", "configs")
PRODUCT = ("app", *SUBPACKAGES)
MAX_LINES = 400  # STYLE.md: a file that passes ~400 lines is usually two concepts


def _app_modules() -> set[str]:
    """The app layer: modules at the package root (app/) and its subpackages (commands)."""
    app = ROOT / "app"
    names = {p.stem for p in app.glob("*.py") if p.stem != "__init__"}
    names |= {p.name for p in app.iterdir() if (p / "__init__.py").exists()}
    return {f"infiniscape.{n}" for n in names}


def _contract(contract_id: str) -> dict:
    return next(c for c in PYPROJECT["tool"]["importlinter"]["contracts"] if c["id"] == contract_id)


def test_every_app_module_is_guarded_by_the_layer_contract():
    assert set(_contract("app-on-top")["forbidden_modules"]) == _app_modules()


def test_imports_follow_the_layers(tmp_path):
    pytest.importorskip("importlinter", reason="install the test extra: pip install -e '.[test]'")
    tree = tmp_path / "infiniscape"
    ignore = shutil.ignore_patterns("__pycache__", "*.pt", "*.png", "*.ttf", "csrc", "training")
    shutil.copytree(ROOT / "app", tree, ignore=ignore)
    for name in SUBPACKAGES:
        shutil.copytree(ROOT / name, tree / name, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_no_product_module_passes_400_lines():
    long = {str(p.relative_to(ROOT)): n for folder in PRODUCT for p in (ROOT / folder).rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}
