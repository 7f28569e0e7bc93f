"""Shared fixtures and paths of the test suite (layers: core/, ovito/, benchmarks/).

Nothing here loads a model or a sample at import time: fixtures do, once per session.
``pytest -m "not slow"`` is the fast subset for development; CI runs everything.
"""

from pathlib import Path

import pytest
from ase import Atoms
from ase.build import bulk
from ase.io import write

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


def run_cli(main, argv, capsys):
    """``main(argv)`` of the command line in this process: (exit status, stdout lines, stderr
    lines)."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out.splitlines(), err.splitlines()


def tetragonal(ratio, a=3.0):
    """Body-centred tetragonal Fe (2 atoms, periodic); c/a = 1.1 is far from any prototype."""
    return Atoms("Fe2", scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.5]], cell=[a, a, ratio * a],
                 pbc=True)


@pytest.fixture(scope="session")
def frames():
    """fcc Cu (256 atoms), bcc Fe (250 atoms) and an uncertain tetragonal cell."""
    return [bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4),
            bulk("Fe", "bcc", a=2.87, cubic=True).repeat(5), tetragonal(1.1)]


@pytest.fixture(scope="session")
def files(tmp_path_factory, frames):
    folder = tmp_path_factory.mktemp("structures")
    write(folder / "fcc.xyz", frames[0])
    write(folder / "trajectory.extxyz", frames)
    write(folder / "fcc.lmp", frames[0], format="lammps-data")  # ASE cannot guess this format
    (folder / "garbage.xyz").write_text("not a structure\n")
    return folder


A15 = "A15 (Cr3Si)"


@pytest.fixture(scope="session")
def a15_model(tmp_path_factory):
    """The documented fine-tuning command with its defaults: A15 added to the shipped 108
    classes (about a minute; the slow tests share it)."""
    from ase_arise.benchmarks.finetune import cr3si
    from ase_arise.training.finetune import main

    folder = tmp_path_factory.mktemp("a15")
    write(folder / "cr3si.extxyz", cr3si())
    status = main([str(folder / "cr3si.extxyz"), "--name", A15, "--output",
                   str(folder / "arise-a15.onnx"), "--seed", "0", "--no-progress"])
    assert status == 0
    return folder / "arise-a15.onnx"


@pytest.fixture(scope="session")
def liquid():
    """An EMT Al liquid (256 atoms, 1.3 T_m; ~10 s of MD, once per session)."""
    from ase_arise.benchmarks.amorphous import emt_liquid

    return emt_liquid("Al", 1200.0, repeat=4, steps=100, random_state=3)[0]
