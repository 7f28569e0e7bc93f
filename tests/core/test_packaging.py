"""A plain (non-editable) install into a fresh virtual environment works on its own: the wheel
brings its package data, and pip brings its dependencies (nothing comes from the interpreter
running the tests)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _clean_env():
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv(tmp_path):
    """Build the wheel, install it with its dependencies into a new venv without system site
    packages, and load the packaged prototypes, sample and model from outside the source tree."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(tmp_path / "dist"), str(ROOT)], check=True)
    wheel = next((tmp_path / "dist").glob("arise_crystal_recognition-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = _clean_env()
    bare = subprocess.run([python, "-c", "import ase"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert bare.returncode != 0, "the fresh venv sees packages it was not given"
    subprocess.run([python, "-m", "pip", "install", "--quiet", str(wheel)], check=True, env=env,
                   cwd=tmp_path)
    script = ("import ase_arise; from ase.build import bulk; "
              "from ase_arise.build import four_grains; "
              "assert 'site-packages' in ase_arise.__file__, ase_arise.__file__; "
              "assert len(ase_arise.load_prototypes()) == 108; "
              "print(len(four_grains())); "
              "print(ase_arise.descriptor(bulk('Cu', 'fcc', a=3.6)).shape); "
              "model = ase_arise.ARISEModel(); assert 'site-packages' in str(model.path); "
              "print(ase_arise.classify(bulk('Fe', 'bcc', a=2.87)).name)")
    result = subprocess.run([python, "-c", script], cwd=tmp_path, check=True, env=env,
                            capture_output=True, text=True)
    assert result.stdout.split() == ["9087", "(316,)", "bcc"]
    no_ovito = subprocess.run([python, "-c", "import ovito"], cwd=tmp_path, env=env,
                              capture_output=True, text=True)
    assert no_ovito.returncode != 0, "OVITO is an extra: the plain install must not bring it"
    cli = subprocess.run([venv / "bin" / "arise", "prototypes"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)
    assert len(cli.stdout.splitlines()) == 109
