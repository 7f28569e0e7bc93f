"""Shared fixtures and paths of the test suite (layers: core/, ovito/, benchmarks/).

Nothing here loads a model or a sample at import time: fixtures do, once per session.
``pytest -m "not slow"`` is the fast subset for development; CI runs everything.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def model():
    """The shipped model, loaded once."""
    from ase_arise import load_model

    return load_model()


@pytest.fixture(scope="session")
def four_grains():
    """The paper's four-grain polycrystal (9,087 atoms; a fresh copy per test is the caller's
    job: tests must not modify it)."""
    from ase_arise.build import four_grains as load

    return load()
