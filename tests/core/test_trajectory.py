"""open_trajectory: frames read one at a time, exactly as read_frames reads them all."""

import gzip
import pickle

import ase.db
import numpy as np
import pytest
from ase.build import bulk
from ase.io import write

from ase_arise.errors import InputError
from ase_arise.io import open_trajectory, read_frames, write_lammps_dump


def _frames():
    out = []
    for k in range(4):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2 + k % 2)  # 32 and 108 atoms
        atoms.rattle(0.05, seed=k)
        atoms.arrays["charge"] = np.arange(len(atoms)) * 0.5
        atoms.info["step"] = 10 * k
        out.append(atoms)
    return out


def _same(a, b):
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.numbers, b.numbers)
    np.testing.assert_array_equal(a.cell, b.cell)
    np.testing.assert_array_equal(a.pbc, b.pbc)
    assert sorted(a.arrays) == sorted(b.arrays) and a.info == b.info
    for name in a.arrays:
        np.testing.assert_array_equal(a.arrays[name], b.arrays[name])


@pytest.mark.parametrize("name, kind", [("t.extxyz", "TextFrames"), ("t.xyz", "TextFrames"),
                                        ("t.dump", "TextFrames"), ("t.db", "DatabaseFrames"),
                                        ("t.xyz.gz", "LoadedFrames")])
def test_each_frame_reads_as_read_frames_reads_it(name, kind, tmp_path):
    frames, path = _frames(), tmp_path / name
    if name.endswith(".dump"):
        write_lammps_dump(path, frames, ["charge"])
    elif name.endswith(".db"):
        with ase.db.connect(path) as db:
            for atoms in frames:
                db.write(atoms)
    elif name.endswith(".gz"):
        with gzip.open(path, "wt") as handle:
            write(handle, frames, format="extxyz")
    else:
        write(path, frames, format="extxyz" if name.endswith("extxyz") else "xyz")
    trajectory = pickle.loads(pickle.dumps(open_trajectory(path)))  # as a worker gets it
    every = read_frames(path)
    assert type(trajectory).__name__ == kind and len(trajectory) == len(every) == 4
    for k in (3, 0, 2, 1, -1):
        _same(trajectory[k], every[k])
    assert [len(a) for a in trajectory[1:3]] == [108, 32]
    with pytest.raises(IndexError, match="frame 4 is out of range"):
        trajectory[4]


def test_a_frame_cut_short_fails_alone(tmp_path):
    frames, path = _frames(), tmp_path / "cut.extxyz"
    write(path, frames)
    whole = read_frames(path)
    text = path.read_text()
    path.write_text(text[:len(text) - 200])  # the last frame loses its last atoms
    trajectory = open_trajectory(path)
    assert len(trajectory) == 4
    _same(trajectory[2], whole[2])
    with pytest.raises(InputError, match=r"Cannot read frame 3 of .*cut.extxyz"):
        trajectory[3]


def test_unreadable_files_fail_as_read_frames_fails(tmp_path):
    (tmp_path / "garbage.xyz").write_text("not a structure\n")
    with pytest.raises(InputError, match="Cannot read"):
        open_trajectory(tmp_path / "garbage.xyz")
    with pytest.raises(FileNotFoundError):
        open_trajectory(tmp_path / "missing.xyz")
