"""The ``arise`` command line: real structure files and the shipped model (the tests that read
the output back with OVITO are in tests/ovito/test_cli_ovito.py)."""

import json
import os
import subprocess
import sysconfig
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from ase_arise import class_names, classify, spm
from ase_arise.cli import main
from ase_arise.errors import InputError
from ase_arise.io import output_format, read_frames

FCC = class_names().index("fcc")
BCC = class_names().index("bcc")
SCAN = ["--box", "12", "--stride", "6"]


def run(argv, capsys):
    """main(argv) in this process: (exit status, stdout lines, stderr lines)."""
    return run_cli(main, argv, capsys)


def test_classify_prints_every_frame_with_the_options_passed_on(files, frames, capsys):
    status, out, err = run(["classify", files / "trajectory.extxyz", "--top-k", "2",
                            "--n-samples", "30", "--seed", "3"], capsys)
    assert status == 0
    assert "MI (bit)" in out[0] and len(out) == 4
    expected = classify(frames, top_k=2, n_samples=30, random_state=3)
    for k, (line, result) in enumerate(zip(out[1:], expected)):
        assert line.startswith(f"{files / 'trajectory.extxyz'}[{k}]")
        ranked = ", ".join(f"{name} ({p:.3f})" for name, p in result.top_k)
        assert line.endswith(f"{result.mutual_information:8.3f}  {result.name:>8s}  "
                             f"{result.anisotropy:10.4f}  {ranked}")
    assert out[1].endswith("fcc (1.000), In (0.000)") and "bcc (1.000)" in out[2]
    # the tetragonal cell is uncertain: its MI depends on the seed and the passes
    assert expected[2].mutual_information > 0.5
    assert out[3] != run(["classify", files / "trajectory.extxyz", "--top-k", "2"], capsys)[1][3]
    assert "ARISE classification" in "".join(err)  # the progress bar


def test_spm_saves_maps_and_png_slices(files, frames, tmp_path, capsys):
    output = tmp_path / "maps.npz"
    status, out, _ = run(["spm", files / "trajectory.extxyz", "-o", output, "--frames", "1",
                          *SCAN, "--prototypes", "bcc, L1_2 (Cu3Au)", "--no-progress"], capsys)
    assert status == 0
    assert out[0] == "8 boxes on a 2 x 2 x 2 grid (fast mode), 8 with a prediction"
    expected = spm(frames[1], box=12.0, stride=6.0)
    saved = np.load(output)
    assert tuple(saved["shape"]) == expected.shape == (2, 2, 2)
    assert list(saved["class_names"]) == class_names()
    for key in ("centres", "probabilities", "mutual_information", "entropy", "n_atoms"):
        assert np.array_equal(saved[key], getattr(expected, key))
    for key in ("anisotropy", "disorder", "uncertainty"):  # box sums: last-bit differences
        assert np.allclose(saved[key], getattr(expected, key), rtol=0, atol=1e-12)
    assert (np.argmax(saved["probabilities"], axis=1) == BCC).all()
    settings = json.loads(str(saved["settings"]))
    assert settings["box"] == 12.0 and settings["stride"] == 6.0 and settings["random_state"] == 0
    assert settings["mode"] == "fast" and settings["frame"] == 1
    for name in ("class", "uncertainty", "mutual_information", "anisotropy", "P_bcc",
                 "P_L1_2_Cu3Au"):
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
    (["spm", "{files}/fcc.xyz", "-o", "maps.npz", "--frames", "1"], 1,
     "--frames selects none of the 1 frame(s)"),
    (["classify", "{files}/fcc.xyz", "-o", "table.txt"], 1, "is .csv or .json"),
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


def test_other_in_the_tables_and_columns(liquid, tmp_path, capsys):
    from ase.io import read, write

    path = tmp_path / "liquid.xyz"
    write(path, liquid)
    status, out, _ = run(["classify", path], capsys)
    assert status == 0 and out[1].split()[3] == "Other"
    status, out, _ = run(["label", path, "-o", tmp_path / "out.xyz", "--no-progress"], capsys)
    assert status == 0 and "Other 256" in out[0]
    labelled = read(tmp_path / "out.xyz")
    assert (labelled.arrays["arise_class"] == -2).all() and labelled.arrays["arise_other"].all()
    assert (labelled.arrays["arise_prototype"] >= 0).all()
    status, out, _ = run(["label", path, "-o", tmp_path / "known.xyz", "--min-anisotropy", "0",
                          "--no-progress"], capsys)
    assert status == 0 and "Other" not in out[0]
    status, out, _ = run(["spm", path, "-o", tmp_path / "maps.npz", "--stride", "8"], capsys)
    assert status == 0 and any(line.split()[0] == "Other" for line in out)
    assert (tmp_path / "maps_anisotropy.png").exists()
    assert (np.load(tmp_path / "maps.npz")["class_id"] == -2).all()


def test_label_frames_picks_frames_and_keeps_the_file_numbers(files, frames, tmp_path, capsys):
    out = tmp_path / "one.xyz"
    trajectory = files / "trajectory.extxyz"
    status, lines, _ = run(["label", trajectory, "-o", out, *SCAN, "--frames", "1:2",
                            "--no-progress"], capsys)
    assert status == 0
    assert [line.split(":")[0] for line in lines if line.startswith("frame")] == ["frame 1"]
    written = read_frames(out)
    assert len(written) == 1 and len(written[0]) == len(frames[1])
    status, _, err = run(["label", trajectory, "-o", tmp_path / "x.xyz", "--frames", "5:"],
                         capsys)
    assert status == 1 and "selects none of the 3 frame(s)" in err[-1]
    status, _, err = run(["label", trajectory, "-o", tmp_path / "x.xyz", "--frames", "1:2:0"],
                         capsys)
    assert status == 2 and "START:STOP:STEP" in err[-1]


def test_classify_writes_its_table_as_csv_and_json(files, frames, tmp_path, capsys):
    expected = classify(read_frames(files / "trajectory.extxyz"), top_k=2)
    status, out, _ = run(["classify", files / "trajectory.extxyz", "--top-k", "2", "-o",
                          tmp_path / "table.csv", "--no-progress"], capsys)
    assert status == 0 and out[-1] == f"wrote {tmp_path / 'table.csv'}"
    import csv
    with open(tmp_path / "table.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["class"] for row in rows] == [r.name for r in expected]
    assert [int(row["atoms"]) for row in rows] == [len(a) for a in frames]
    assert rows[1]["prototype_1"] == "bcc" and float(rows[1]["probability_1"]) == \
        expected[1].top_k[0][1]
    assert float(rows[2]["mutual_information"]) == expected[2].mutual_information
    status, _, _ = run(["classify", files / "trajectory.extxyz", "--top-k", "2", "-o",
                        tmp_path / "table.json", "--no-progress"], capsys)
    records = json.loads((tmp_path / "table.json").read_text())
    assert status == 0 and len(records) == 3
    assert records[0]["structure"].endswith("trajectory.extxyz[0]")
    assert records[0]["top_k"] == [list(pair) for pair in expected[0].top_k]
    assert records[2]["anisotropy"] == expected[2].anisotropy


def test_spm_of_several_frames_writes_one_file_each(files, frames, tmp_path, capsys):
    output = tmp_path / "maps.npz"
    status, out, _ = run(["spm", files / "trajectory.extxyz", "-o", output, "--frames", "0:2",
                          *SCAN, "--no-png", "--no-progress"], capsys)
    assert status == 0 and "frame 0:" in out and "frame 1:" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps_frame0.npz", "maps_frame1.npz"]
    for k in (0, 1):
        saved = np.load(tmp_path / f"maps_frame{k}.npz")
        assert json.loads(str(saved["settings"]))["frame"] == k
        np.testing.assert_array_equal(saved["probabilities"],
                                      spm(frames[k], box=12.0, stride=6.0).probabilities)
    status, _, err = run(["spm", files / "trajectory.extxyz", "-o", output, "--frame", "2",
                          *SCAN, "--no-png", "--no-progress"], capsys)
    assert status == 0 and "--frame is renamed --frames" in err[0]
