"""The ``arise`` command line: real structure files, the shipped model, OVITO reading the output."""

import json
import os
import subprocess
import sysconfig
import textwrap
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.io import write
from ovito.io import import_file

from ase_arise import class_names, classify, label, spm
from ase_arise.cli import main
from ase_arise.errors import InputError, IsolatedAtomsWarning
from ase_arise.io import output_format, read_frames

FCC = class_names().index("fcc")
BCC = class_names().index("bcc")
SCAN = ["--box", "12", "--stride", "6"]


def tetragonal(ratio, a=3.0):
    """Body-centred tetragonal Fe (2 atoms, periodic); c/a = 1.1 is far from any prototype."""
    return Atoms("Fe2", scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.5]], cell=[a, a, ratio * a],
                 pbc=True)


@pytest.fixture(scope="module")
def frames():
    """fcc Cu (256 atoms), bcc Fe (250 atoms) and an uncertain tetragonal cell."""
    return [bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4),
            bulk("Fe", "bcc", a=2.87, cubic=True).repeat(5), tetragonal(1.1)]


@pytest.fixture(scope="module")
def files(tmp_path_factory, frames):
    folder = tmp_path_factory.mktemp("structures")
    write(folder / "fcc.xyz", frames[0])
    write(folder / "trajectory.extxyz", frames)
    write(folder / "fcc.lmp", frames[0], format="lammps-data")  # ASE cannot guess this format
    (folder / "garbage.xyz").write_text("not a structure\n")
    return folder


def run(argv, capsys):
    """main(argv) in this process: (exit status, stdout lines, stderr lines)."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out.splitlines(), err.splitlines()


def test_classify_prints_every_frame_with_the_options_passed_on(files, frames, capsys):
    status, out, err = run(["classify", files / "trajectory.extxyz", "--top-k", "2",
                            "--n-samples", "30", "--seed", "3"], capsys)
    assert status == 0
    assert "MI (bit)" in out[0] and len(out) == 4
    expected = classify(frames, top_k=2, n_samples=30, random_state=3)
    for k, (line, result) in enumerate(zip(out[1:], expected)):
        assert line.startswith(f"{files / 'trajectory.extxyz'}[{k}]")
        ranked = ", ".join(f"{name} ({p:.3f})" for name, p in result.top_k)
        assert line.endswith(f"{result.mutual_information:8.3f}  {ranked}")
    assert out[1].endswith("fcc (1.000), In (0.000)") and "bcc (1.000)" in out[2]
    # the tetragonal cell is uncertain: its MI depends on the seed and the passes
    assert expected[2].mutual_information > 0.5
    assert out[3] != run(["classify", files / "trajectory.extxyz", "--top-k", "2"], capsys)[1][3]
    assert "ARISE classification" in "".join(err)  # the progress bar


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


def test_spm_saves_maps_and_png_slices(files, frames, tmp_path, capsys):
    output = tmp_path / "maps.npz"
    status, out, _ = run(["spm", files / "trajectory.extxyz", "-o", output, "--frame", "1",
                          *SCAN, "--prototypes", "bcc, L1_2 (Cu3Au)", "--no-progress"], capsys)
    assert status == 0
    assert out[0] == "8 boxes on a 2 x 2 x 2 grid (fast mode), 8 with a prediction"
    expected = spm(frames[1], box=12.0, stride=6.0)
    saved = np.load(output)
    assert tuple(saved["shape"]) == expected.shape == (2, 2, 2)
    assert list(saved["class_names"]) == class_names()
    for key in ("centres", "probabilities", "mutual_information", "entropy", "n_atoms"):
        assert np.array_equal(saved[key], getattr(expected, key))
    assert (np.argmax(saved["probabilities"], axis=1) == BCC).all()
    settings = json.loads(str(saved["settings"]))
    assert settings["box"] == 12.0 and settings["stride"] == 6.0 and settings["random_state"] == 0
    assert settings["mode"] == "fast" and settings["frame"] == 1
    for name in ("class", "mutual_information", "P_bcc", "P_L1_2_Cu3Au"):
        png = tmp_path / f"maps_{name}.png"
        assert png.stat().st_size > 5_000 and f"wrote {png}" in out


def test_prototypes_lists_the_108_classes(capsys):
    status, out, _ = run(["prototypes"], capsys)
    assert status == 0 and len(out) == 109
    assert out[1 + FCC].split() == [str(FCC), "fcc", "elemental", "225"]
    assert out[1].split() == ["0", "Cs2WO4", "ternary", "-"]


@pytest.mark.parametrize("command, units", [("classify", ["bits"]), ("label", ["Å", "bits"]),
                                            ("spm", ["Å", "bits", "fractions"])])
def test_help_explains_units(command, units, capsys):
    status, out, _ = run([command, "--help"], capsys)
    assert status == 0 and all(unit in "\n".join(out) for unit in units)


@pytest.mark.parametrize("argv, status, message", [
    (["classify", "missing.xyz"], 1, "No such structure file: missing.xyz"),
    (["classify", "{files}/garbage.xyz"], 1, "(ASE: XYZError"),
    (["classify", "{files}/fcc.xyz", "--top-k", "0"], 1, "'top_k' parameter must be an int >= 1"),
    (["classify", "{files}/fcc.xyz", "--model", "missing.onnx"], 1, "missing.onnx does not exist"),
    (["label", "{files}/fcc.xyz", "-o", "out.xyz", "--box", "abc"], 2,
     "argument --box: invalid float value: 'abc'"),
    (["label", "{files}/fcc.xyz", "-o", "out.xyz", "--stride", "-1"], 1,
     "'stride' parameter must be a float > 0.0 (Å)"),
    (["label", "{files}/fcc.xyz", "-o", "out.cfg"], 1, "Cannot tell the output format"),
    (["spm", "{files}/fcc.xyz", "-o", "maps.npz", "--prototypes", "fcc,fcx"], 1,
     "Unknown prototype(s) ['fcx'] in '--prototypes'"),
    (["spm", "{files}/fcc.xyz", "-o", "maps.npz", "--frame", "1"], 1, "--frame 1 is out of range"),
    (["spm", "{files}/fcc.xyz", "-o", "maps.png"], 1, "is a NumPy .npz file"),
    (["prototypes", "--typo"], 2, "unrecognized arguments: --typo"),
])
def test_bad_input_is_one_line_on_stderr(argv, status, message, files, tmp_path, monkeypatch,
                                         capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = run([a.format(files=files) for a in argv], capsys)
    assert code == status and out == []
    assert len(err) == 1 and message in err[0] and err[0].startswith(f"arise {argv[0]}: error: ")
    assert not any(tmp_path.iterdir())  # nothing written


def test_output_format_from_suffix():
    assert [output_format(name) for name in ("a.xyz", "b.EXTXYZ", "c.dump", "d.lammpstrj")] == [
        "extxyz", "extxyz", "lammps-dump", "lammps-dump"]
    assert output_format("e.txt", "extxyz") == "extxyz"
    with pytest.raises(InputError, match="Unknown output format"):
        output_format("e.xyz", "cfg")


def test_read_frames_keeps_every_frame(files, frames):
    read = read_frames(files / "trajectory.extxyz")
    assert [len(a) for a in read] == [len(a) for a in frames]


@pytest.mark.skipif(find_spec("ovito_arise.benchmark") is None,
                    reason="ovito_arise.benchmark is not written yet")
def test_benchmark_passes_its_arguments_on(capsys):
    status, out, _ = run(["benchmark", "--help"], capsys)
    assert status == 0 and "--quick" in "\n".join(out)


BLOCK_OVITO = textwrap.dedent("""\
    import sys

    class BlockOvito:
        def find_spec(self, name, path=None, target=None):
            if name == "ovito" or name.startswith("ovito."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    sys.meta_path.insert(0, BlockOvito())
    """)


def test_installed_script_without_ovito(files, tmp_path):
    """The installed ``arise`` in a Python where importing ovito fails: ase_arise works, the
    OVITO-only paths say what to install."""
    (tmp_path / "sitecustomize.py").write_text(BLOCK_OVITO)
    script = Path(sysconfig.get_path("scripts")) / "arise"
    assert script.exists(), "pip install -e . installs the arise script"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    benchmark = subprocess.run([str(script), "benchmark", "--help"], capture_output=True,
                               text=True, env=env)
    assert benchmark.returncode == 1 and benchmark.stdout == ""
    assert benchmark.stderr.splitlines() == [
        "arise benchmark: error: arise benchmark runs OVITO's PTM, CNA and BAA, but OVITO is not "
        "installed: pip install 'arise-crystal-recognition[ovito]' (or pip install ovito)."]
    both = subprocess.run([str(script), "classify", str(files / "fcc.xyz"), str(files / "fcc.lmp"),
                           "--no-progress"], capture_output=True, text=True, env=env)
    assert both.returncode == 1 and both.stdout == ""
    assert len(both.stderr.splitlines()) == 1
    assert "Cannot read" in both.stderr and "(ASE: " in both.stderr
    assert "to read more formats, pip install 'arise-crystal-recognition[ovito]'" in both.stderr
