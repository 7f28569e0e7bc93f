"""A plain (non-editable) install works: the package data are found from site-packages."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_into_a_fresh_venv(tmp_path):
    """Build the wheel, install it (no deps: they come from this environment) into a new venv and
    load the packaged prototypes and the shipped model from outside the source tree."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(tmp_path / "dist"), str(ROOT)], check=True)
    wheel = next((tmp_path / "dist").glob("arise_crystal_recognition-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)
    python = venv / "bin" / "python"
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--force-reinstall", "--quiet",
                    str(wheel)], check=True, env=clean, cwd=tmp_path)
    script = ("import ase_arise, ovito_arise; from ase.build import bulk; "
              "assert 'site-packages' in ase_arise.__file__, ase_arise.__file__; "
              "assert len(ase_arise.load_prototypes()) == 108; "
              "print(ase_arise.descriptor(bulk('Cu', 'fcc', a=3.6)).shape); "
              "model = ase_arise.ARISEModel(); assert 'site-packages' in str(model.path); "
              "print(ase_arise.classify(bulk('Fe', 'bcc', a=2.87)).name)")
    result = subprocess.run([python, "-c", script], cwd=tmp_path, check=True, env=clean,
                            capture_output=True, text=True)
    assert result.stdout.split() == ["(316,)", "bcc"]
