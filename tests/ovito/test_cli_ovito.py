"""The ``arise`` command line with OVITO: its files read back by OVITO's importers, OVITO reading
what ASE cannot, and the benchmark command that ovito_arise provides."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.io import write
from conftest import run_cli
from ovito.io import import_file

from ase_arise import class_names, label
from ase_arise.cli import main
from ase_arise.errors import IsolatedAtomsWarning

FCC = class_names().index("fcc")
BCC = class_names().index("bcc")
SCAN = ["--box", "12", "--stride", "6"]


def run(argv, capsys):
    return run_cli(main, argv, capsys)


def test_unreadable_by_ase_falls_back_to_ovito(files, capsys):
    status, out, _ = run(["classify", files / "fcc.lmp", "--no-progress"], capsys)
    assert status == 0 and out[1].split()[:4] == [str(files / "fcc.lmp"), "256", "0.001", "fcc"]


def test_label_writes_extxyz_that_ovito_reads(files, frames, tmp_path, capsys):
    output = tmp_path / "labels.xyz"
    status, out, _ = run(["label", files / "trajectory.extxyz", "-o", output, *SCAN,
                          "--probabilities", "--seed", "2", "--no-progress"], capsys)
    # the 2-atom tetragonal cell fills 12 Å boxes with its periodic images
    assert status == 0 and len(out) == 4 and out[-1] == f"wrote {output} (3 frames)"
    assert out[0].startswith("frame 0: 256 atoms, fast mode, 8 boxes")
    assert out[0].endswith("atoms per prototype: fcc 256")
    pipeline = import_file(str(output))
    assert pipeline.source.num_frames == 3
    for k in (0, 1):
        expected = label(frames[k], box=12.0, stride=6.0, probabilities=True, random_state=2)
        particles = pipeline.compute(k).particles
        assert np.array_equal(particles["arise_class"], expected.class_id)
        assert set(expected.class_id) == {(FCC, BCC)[k]}
        assert np.allclose(particles["arise_probability"], expected.probability, atol=1e-6)
        assert np.allclose(particles["arise_mutual_information"], expected.mutual_information,
                           atol=1e-6)
        assert np.allclose(particles["arise_probabilities"], expected.probabilities, atol=1e-6)


def test_label_writes_a_triclinic_lammps_dump_that_ovito_reads(tmp_path, capsys):
    atoms = bulk("Cu", "fcc", a=3.6).repeat(6)  # rhombohedral primitive cell, 216 atoms
    write(tmp_path / "primitive.xyz", atoms)
    output = tmp_path / "labels.out"
    status, _, _ = run(["label", tmp_path / "primitive.xyz", "-o", output, "--format",
                        "lammps-dump", *SCAN, "--probabilities", "--no-progress"], capsys)
    assert status == 0
    expected = label(atoms, box=12.0, stride=6.0, probabilities=True)
    data = import_file(str(output)).compute()
    assert np.isclose(abs(np.linalg.det(data.cell[:, :3])), atoms.cell.volume)
    assert [t.name for t in data.particles.particle_types.types] == ["Cu"]
    assert np.array_equal(data.particles["arise_class"], expected.class_id)
    assert set(expected.class_id) == {FCC}
    assert np.allclose(data.particles["arise_mutual_information"], expected.mutual_information,
                       atol=1e-6)
    assert np.allclose(data.particles[f"arise_probabilities[{FCC}]"],
                       expected.probabilities[:, FCC], atol=1e-6)
    # the rotation into LAMMPS's frame keeps every distance
    rotated = Atoms(atoms.numbers, positions=data.particles.positions[...],
                    cell=data.cell[:, :3].T, pbc=True)
    assert np.allclose(rotated.get_all_distances(mic=True), atoms.get_all_distances(mic=True),
                       atol=1e-6)



def test_benchmark_passes_its_arguments_on(capsys):
    status, out, _ = run(["benchmark", "--help"], capsys)
    assert status == 0 and "--quick" in "\n".join(out)


def test_label_per_atom_cluster_to_dump_with_one_line_warning(tmp_path, capsys):
    cluster = bulk("Al", "fcc", a=4.05, cubic=True).repeat(4)
    cluster.pbc, cluster.cell = False, None  # no cell: the dump gets the bounding box
    write(tmp_path / "cluster.xyz", cluster)
    output = tmp_path / "cluster.lammpstrj"
    status, out, err = run(["label", tmp_path / "cluster.xyz", "-o", output, "--box", "10",
                            "--per-atom", "--mode", "exact", "--no-progress"], capsys)
    assert status == 0 and "exact mode, 256 boxes" in out[0]
    # corner atoms' boxes are too sparse: the library's warning, as one line
    assert len(err) == 1 and err[0].startswith("arise label: warning: ")
    assert "have no prediction" in err[0]
    with pytest.warns(IsolatedAtomsWarning):
        expected = label(cluster, box=10.0, per_atom=True, mode="exact")
    data = import_file(str(output)).compute()
    assert not any(data.cell.pbc)
    assert np.array_equal(data.particles["arise_class"], expected.class_id)
    assert {-1, FCC} == set(expected.class_id)
    assert np.allclose(data.particles.positions, cluster.positions, atol=1e-8)


def test_ovito_formats_are_read_one_frame_at_a_time(files, tmp_path):
    """A LAMMPS data file (ASE cannot guess it) opens as OVITO's lazy trajectory, which a Dask
    worker gets pickled (its pipeline reopened there) and reads as read_frames does."""
    import pickle

    from ase_arise.io import open_trajectory, read_frames

    trajectory = open_trajectory(files / "fcc.lmp")
    assert type(trajectory).__name__ == "OvitoFrames" and len(trajectory) == 1
    again = pickle.loads(pickle.dumps(trajectory))
    whole = read_frames(files / "fcc.lmp")[0]
    np.testing.assert_array_equal(again[0].positions, whole.positions)
    np.testing.assert_array_equal(again[-1].numbers, whole.numbers)
    with pytest.raises(IndexError, match="out of range"):
        again[1]
