"""No user file is ever truncated or replaced by a failed or interrupted run; trajectories
resume."""

import signal
import subprocess
import sysconfig
import time
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.io import read, write

from ase_arise import InputError
from ase_arise.io import FrameWriter, atomic_output, write_frames
from ase_arise.io import frames as frames_module

COLUMNS = ["arise_class"]


def _frames(n=3):
    out = []
    for k in range(n):
        atoms = bulk("Cu", "fcc", a=3.6 + 0.01 * k, cubic=True).repeat(2)
        atoms.arrays["arise_class"] = np.full(len(atoms), k, dtype=np.int64)
        out.append(atoms)
    return out


def test_atomic_output_keeps_the_old_file_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as handle:
            handle.write("new, half written")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temporary left behind
    with atomic_output(target) as handle:
        handle.write("new")
    assert target.read_text() == "new"


def test_write_frames_checks_every_frame_before_writing(tmp_path):
    target = tmp_path / "out.dump"
    target.write_text("old")
    slab = bulk("Cu", "fcc", a=3.6, cubic=True)
    slab.cell[2] = [0, 0, 0]
    slab.pbc = (True, True, True)  # periodic along z without a z cell vector
    with pytest.raises(InputError):
        write_frames(target, _frames(1) + [slab], COLUMNS)
    assert target.read_text() == "old"


def test_interrupted_trajectory_resumes_after_the_last_complete_frame(tmp_path, monkeypatch):
    frames = _frames(3)
    whole = tmp_path / "whole.xyz"
    writer = FrameWriter(whole, COLUMNS, {"run": 1})
    for atoms in frames:
        writer.write(atoms)
    writer.close()

    target = tmp_path / "out.xyz"
    target.write_text("old")
    real = frames_module.write_frame
    calls = []

    def interrupted(handle, atoms, *args):
        calls.append(1)
        if len(calls) == 2:  # Ctrl-C in the middle of the second frame
            handle.write("12\ncut off mid-fra")
            raise KeyboardInterrupt
        real(handle, atoms, *args)

    monkeypatch.setattr(frames_module, "write_frame", interrupted)
    writer = FrameWriter(target, COLUMNS, {"run": 1})
    writer.write(frames[0])
    with pytest.raises(KeyboardInterrupt):
        writer.write(frames[1])
    assert target.read_text() == "old"
    monkeypatch.setattr(frames_module, "write_frame", real)

    resumed = FrameWriter(target, COLUMNS, {"run": 1})
    assert resumed.done == 1
    for atoms in frames[resumed.done:]:
        resumed.write(atoms)
    resumed.close()
    assert target.read_bytes() == whole.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xyz", "whole.xyz"]


def test_another_run_does_not_resume(tmp_path):
    target = tmp_path / "out.dump"
    writer = FrameWriter(target, COLUMNS, {"settings": "box 16"})
    writer.write(_frames(1)[0])
    assert FrameWriter(target, COLUMNS, {"settings": "box 12"}).done == 0
    assert FrameWriter(target, COLUMNS, {"settings": "box 12"}, format="lammps-dump").done == 0


def _arise():
    script = Path(sysconfig.get_path("scripts")) / "arise"
    assert script.exists(), "pip install -e . installs the arise script"
    return str(script)


@pytest.mark.slow
def test_ctrl_c_during_a_trajectory_keeps_the_old_output_and_resumes(tmp_path):
    frames = [bulk("Fe", "bcc", a=2.87, cubic=True).repeat(9) for _ in range(8)]
    write(tmp_path / "traj.xyz", frames)
    out = tmp_path / "out.xyz"
    out.write_text("old")
    argv = [_arise(), "label", "traj.xyz", "-o", "out.xyz", "--no-progress"]
    run = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    state = tmp_path / "out.xyz.partial.json"
    deadline = time.time() + 120
    while time.time() < deadline and run.poll() is None:
        if state.exists() and '"frames": 0' not in state.read_text():
            break
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before it could be interrupted"
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130 and err.strip().endswith("interrupted")
    assert out.read_text() == "old"
    again = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "resuming" in again.stdout
    labelled = read(out, index=":")
    assert len(labelled) == 8 and all((a.arrays["arise_class"] >= 0).all() for a in labelled)
    fresh = subprocess.run(argv[:4] + ["fresh.xyz", "--no-progress"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300, check=True)
    assert fresh.returncode == 0
    assert out.read_bytes() == (tmp_path / "fresh.xyz").read_bytes()
    assert not list(tmp_path.glob("*.partial*"))
