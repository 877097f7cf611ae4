"""The flat packages resolve to this repository (no shadowing by a stray model.py etc.)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["vsrcore", "curation", "degradation", "model", "benchmark", "leaderboard"]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_lives_in_repo(name: str) -> None:
    module = importlib.import_module(name)
    assert Path(module.__file__).resolve().parent == ROOT / name


@pytest.mark.parametrize("name", PACKAGES)
def test_tests_mirror_packages(name: str) -> None:
    assert (ROOT / "tests" / name / "__init__.py").exists()
