"""The benchmark harness: OVITO's peers mapped to prototypes, and the --quick run's known cells."""

import csv
import json
import shutil

import numpy as np
import pytest

from ase_arise import ARISEDescriptor, get_prototype
from ase_arise.training import dataset
from ovito_arise.benchmarks import protocol as benchmark
from ovito_arise.benchmarks.peers import DESIGNED_FOR, METHODS, peer_prototypes

pytestmark = pytest.mark.filterwarnings(
    # SPM boxes of the small protocol cells and the polycrystal can be sparse at 20 % missing
    "ignore::ase_arise.errors.IsolatedAtomsWarning")


@pytest.mark.parametrize("name", DESIGNED_FOR["PTM"])
def test_ptm_names_every_class_it_knows_with_orderings(name):
    atoms = get_prototype(name).supercells(periodic=True)[0]
    assert set(peer_prototypes(atoms, "PTM")) == {name}


def test_cna_family_on_pristine_crystals():
    found = {name: {method: set(peer_prototypes(get_prototype(name).supercells(periodic=True)[0],
                                                method)) for method in METHODS[1:]}
             for name in ("fcc", "hcp", "bcc", "diamond")}
    assert found["fcc"] == {"CNA": {"fcc"}, "a-CNA": {"fcc"}, "BAA": {"fcc"}}
    assert found["bcc"] == {"CNA": {"bcc"}, "a-CNA": {"bcc"}, "BAA": {"bcc"}}
    # OVITO's fixed 3.2 Å cutoff misses hcp Mg's second shell, as the paper found
    assert found["hcp"] == {"CNA": {None}, "a-CNA": {"hcp"}, "BAA": {"hcp"}}
    assert all(v == {None} for v in found["diamond"].values())


def test_protocol_copy_is_the_described_structure():
    structures = dataset.base_structures(periodic_supercells=True)
    dataset._STRUCTURES[:] = structures
    for index in (5, 400):
        level, realisation = (0.04, 0.20), 3
        job = [(*dataset.CENTRAL, *level, 0.0,
                dataset._seed(dataset.PROTOCOL_SEED, structures[index][0], index, *level,
                              realisation))]
        described = dataset._describe_task((index, job))[0]
        copy = dataset.protocol_copy(structures, index, level, realisation)
        assert np.array_equal(ARISEDescriptor().create(copy).astype(np.float32), described)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    folder = tmp_path_factory.mktemp("benchmark")
    status = benchmark.main(["--quick", "--polycrystal", "--output", str(folder / "out"),
                             "--cache", str(folder / "cache"), "--n-jobs", "2"])
    return status, folder


@pytest.mark.slow
def test_quick_run_passes_its_checks(quick, capsys):
    status, folder = quick
    assert status == 0
    record = json.loads((folder / "out" / "results.json").read_text())
    checks = dict(benchmark.quick_checks(record))
    assert all(checks.values()) and len(checks) == 5
    table = benchmark.accuracy_table(record)
    assert table["PTM", (0.0, 0.0)] == 100.0
    assert table["PTM*", (0.0, 0.0)] < 15.0  # 13 of 96 periodic classes
    assert table["CNA", (0.0, 0.0)] < 70.0  # no hcp with the fixed cutoff
    assert table["PTM", (0.0, 0.20)] < 20.0 < table["ARISE", (0.0, 0.20)]
    assert table["ARISE (per atom, SPM)", (0.0, 0.0)] > 90.0
    assert set(record["machine"]["versions"]) >= {"ovito", "spglib", "onnxruntime"}


@pytest.mark.slow
def test_quick_run_outputs(quick):
    _, folder = quick
    out = folder / "out"
    text = (out / "table.md").read_text()
    assert "### Table 2" in text and "| PTM* |" in text and "(100.00)" in text
    assert "Periodic polycrystal" in text and "atoms/s" in text
    with open(out / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["method"] for r in rows} >= {"ARISE", "PTM", "PTM*", "a-CNA", "BAA", "CNA",
                                           "spglib loose", "spglib* tight"}
    assert (out / "accuracy.png").stat().st_size > 20_000
    polycrystal = json.loads((out / "results.json").read_text())["polycrystal"]
    by = {(r["method"], r["missing"]): r for r in polycrystal["rows"]}
    # with 20 % missing and 1 % displacement PTM loses the grains, ARISE keeps them
    assert by["ARISE", 0.2]["accuracy_interior"] > 0.7 > 0.2 > by["PTM", 0.2]["accuracy_interior"]


@pytest.mark.slow
def test_resumes_from_cache(quick, tmp_path):
    _, folder = quick
    cached = sorted((folder / "cache" / "benchmark").glob("periodic-*.json"))
    assert len(cached) == 3
    shutil.copytree(folder / "cache", tmp_path / "cache")
    level = benchmark.QUICK_LEVELS[0]
    entry = benchmark._cache_file(tmp_path / "cache", level, 0, 6.0)
    tally = json.loads(entry.read_text())
    tally["PTM"]["correct"] = 0  # a marked entry: a resumed run must take it, not recompute
    entry.write_text(json.dumps(tally))
    record = benchmark.run([level], 1, cache=str(tmp_path / "cache"), spm_stride=6.0,
                           progress=False)
    assert benchmark.accuracy_table(record)["PTM", level] == 0.0
