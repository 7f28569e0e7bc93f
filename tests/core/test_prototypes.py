"""Tests of the 108-class prototype library (ase_arise.prototypes, ase_arise/data)."""

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from ase.io import read

import make_prototypes as build_prototypes
from ase_arise.prototypes import (N_CLASSES, Prototype, class_names, get_prototype,
                                  load_prototypes)

SHARED_PROTOTYPES = Path(__file__).resolve().parents[3] / "shared" / "prototypes"
PACKAGED_JSON = Path(__file__).resolve().parents[2] / "ase_arise" / "data" / "prototypes.json"

PROTOTYPES = load_prototypes()
AFLOW = [p for p in PROTOTYPES if p.source == "AFLOW"]
NANOTUBES = [p for p in PROTOTYPES if p.material_type == "nanotube"]
PERIODIC = [p for p in PROTOTYPES if p.is_periodic]


def _ids(prototypes):
    return [f"{p.class_id}-{p.key}" for p in prototypes]


@pytest.fixture
def shared():
    if not (SHARED_PROTOTYPES / "class_index.json").is_file():
        pytest.skip(f"shared prototype data not found at {SHARED_PROTOTYPES}")
    return SHARED_PROTOTYPES


def _read_source(shared, prototype):
    with warnings.catch_warnings():  # ASE announces the move of its FHI-aims reader to a plugin
        warnings.filterwarnings("ignore", message="FHI-aims IO is moving", category=FutureWarning)
        return read(shared / prototype.provenance["file"], format="aims")


# --- the library as a whole -------------------------------------------------------------------

def test_108_distinct_classes_in_order():
    assert N_CLASSES == 108 == len(PROTOTYPES)
    assert [p.class_id for p in PROTOTYPES] == list(range(N_CLASSES))
    assert len({p.key for p in PROTOTYPES}) == N_CLASSES
    assert all(isinstance(p, Prototype) for p in PROTOTYPES)
    assert load_prototypes() is PROTOTYPES  # cached


def test_names_unique_and_known_ones():
    names = class_names()
    assert len(set(names)) == N_CLASSES
    assert names == [p.name for p in PROTOTYPES]
    expected = {
        "fcc_Cu_A_cF4_225_a": "fcc", "bcc_W_A_cI2_229_a": "bcc", "hcp_Mg_A_hP2_194_c": "hcp",
        "diam_C_A_cF8_227_a": "diamond", "sc_alphaPo_A_cP1_221_a": "sc (α-Po)",
        "dhcp_alphaLa_A_hP4_194_ac": "dhcp (α-La)", "HexDiam_C_A_hP4_194_f": "hexagonal diamond",
        "RockSalt_NaCl": "NaCl", "CsCl": "CsCl", "L12_Cu3Au": "L1_2 (Cu3Au)",
        "L10_CuAu": "L1_0 (CuAu)", "Zincblende_ZnS": "zinc blende", "Wurtzite_ZnS": "wurtzite",
        "C": "graphene", "MoS2": "MoS2", "zigzag_cnt_nm_6_0_0.0_4.7": "CNT (6,0)",
        "armchair_cnt_nm_3_3_30.0_4.07": "CNT (3,3)",
    }
    for key, name in expected.items():
        assert get_prototype(key).name == name


def test_counts_per_material_type_and_source():
    counts = {}
    for p in PROTOTYPES:
        counts[p.material_type] = counts.get(p.material_type, 0) + 1
    assert counts == {"elemental": 27, "binary": 11, "ternary": 6, "quaternary": 6, "2D": 46,
                      "nanotube": 12}
    for p in PROTOTYPES:
        expected = {"elemental": "AFLOW", "binary": "AFLOW", "nanotube": "ASE"}
        assert p.source == expected.get(p.material_type, "CMR")
        assert p.is_periodic == (p.material_type != "nanotube")
        assert "file" in p.provenance
        assert ("aflow_label" in p.provenance) == (p.source == "AFLOW")
        if p.material_type in ("ternary", "nanotube"):
            assert p.space_group is None
        else:
            assert isinstance(p.space_group, int) and 1 <= p.space_group <= 230


def test_keys_follow_class_index(shared):
    index = json.loads((shared / "class_index.json").read_text())
    assert [p.key for p in PROTOTYPES] == [index[str(i)] for i in range(N_CLASSES)]


# --- geometry ---------------------------------------------------------------------------------

@pytest.mark.parametrize("prototype", AFLOW, ids=_ids(AFLOW))
def test_spglib_agrees_with_aflow_space_group(prototype, monkeypatch):
    spglib = pytest.importorskip("spglib")
    monkeypatch.setenv("SPGLIB_OLD_ERROR_HANDLING", "false")
    atoms = prototype.atoms()
    cell = (atoms.cell[:], atoms.get_scaled_positions(wrap=False), atoms.numbers)
    symbol = spglib.get_spacegroup(cell, symprec=1e-3)
    assert int(re.search(r"\((\d+)\)", symbol)[1]) == prototype.space_group
    assert prototype.provenance["aflow_label"].split("_")[2] == str(prototype.space_group)


@pytest.mark.parametrize("prototype", PROTOTYPES, ids=_ids(PROTOTYPES))
def test_atoms_round_trip_source_file(prototype, shared):
    source = _read_source(shared, prototype)
    atoms = prototype.atoms()
    assert atoms.get_chemical_symbols() == source.get_chemical_symbols()
    np.testing.assert_allclose(atoms.positions, source.positions, rtol=0, atol=1e-8)
    if prototype.is_periodic:
        np.testing.assert_allclose(atoms.cell[:], source.cell[:], rtol=0, atol=1e-8)
        expected_pbc = [True, True, prototype.material_type != "2D"]
        assert atoms.pbc.tolist() == expected_pbc
    else:
        assert not atoms.pbc.any()
        assert not atoms.cell.any() and not source.cell.any()


@pytest.mark.parametrize("prototype", NANOTUBES, ids=_ids(NANOTUBES))
def test_nanotube_is_the_shortest_tube_with_100_atoms(prototype):
    from ase.build import nanotube

    tube = prototype.atoms()
    assert len(tube) >= 100
    n, m = (int(x) for x in prototype.key.split("_")[3:5])
    assert prototype.name == f"CNT ({n},{m})"
    per_cell = len(nanotube(n, m, length=1))
    assert len(tube) % per_cell == 0 and len(tube) - per_cell < 100


def test_atoms_returns_a_fresh_copy():
    for p in (get_prototype("fcc"), get_prototype("MoS2"), get_prototype("CNT (6,0)")):
        first = p.atoms()
        reference = p.atoms()
        first.positions += 1.0
        first.symbols[0] = "H"
        first.pbc = [False, True, False]
        again = p.atoms()
        assert again is not first
        np.testing.assert_array_equal(again.positions, reference.positions)
        assert again.get_chemical_symbols() == reference.get_chemical_symbols()
        assert again.pbc.tolist() == reference.pbc.tolist()


@pytest.mark.parametrize("prototype", PERIODIC, ids=_ids(PERIODIC))
def test_supercells_sizes(prototype):
    unit = prototype.atoms()
    two_d = prototype.material_type == "2D"
    cells = prototype.supercells()
    assert len(cells) == 3
    k = round((len(cells[0]) / len(unit)) ** (1 / (2 if two_d else 3)))
    sizes = [len(unit) * j ** (2 if two_d else 3) for j in (k, k + 1, k + 2)]
    assert [len(c) for c in cells] == sizes
    assert sizes[0] >= 100 and len(unit) * (k - 1) ** (2 if two_d else 3) < 100
    z_extent = np.ptp(unit.positions[:, 2])
    for j, cluster in zip((k, k + 1, k + 2), cells):
        assert not cluster.pbc.any()
        np.testing.assert_allclose(cluster.cell[:2], unit.cell[:2] * j, atol=1e-12)
        if two_d:
            np.testing.assert_allclose(cluster.cell[2], unit.cell[2], atol=1e-12)
            assert np.ptp(cluster.positions[:, 2]) == pytest.approx(z_extent, abs=1e-9)
        else:
            np.testing.assert_allclose(cluster.cell[2], unit.cell[2] * j, atol=1e-12)
    assert unit.pbc.any()  # building supercells leaves the unit cell alone


def test_supercells_options():
    fcc = get_prototype("fcc")
    assert [len(a) for a in fcc.supercells()] == [125, 216, 343]
    assert [len(a) for a in fcc.supercells(n=2, min_atoms=200)] == [216, 343]
    assert [len(a) for a in fcc.supercells(n=1, min_atoms=1)] == [1]
    for bad, error in ((0, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="'n' parameter"):
            fcc.supercells(n=bad)
    with pytest.raises(ValueError, match="'min_atoms' parameter"):
        fcc.supercells(min_atoms=0)


@pytest.mark.parametrize("prototype", NANOTUBES, ids=_ids(NANOTUBES))
def test_nanotube_supercells_are_the_tube(prototype):
    cells = prototype.supercells()
    assert len(cells) == 1
    tube = prototype.atoms()
    assert len(cells[0]) == len(tube) >= 100
    np.testing.assert_array_equal(cells[0].positions, tube.positions)
    assert not cells[0].pbc.any()
    assert len(prototype.supercells(min_atoms=len(tube) + 1)[0]) > len(tube)


# --- lookup -----------------------------------------------------------------------------------

def test_get_prototype_by_id_key_and_name():
    fcc = PROTOTYPES[93]
    assert fcc.key == "fcc_Cu_A_cF4_225_a"
    assert get_prototype(93) is fcc
    assert get_prototype(np.int64(93)) is fcc
    assert get_prototype("fcc_Cu_A_cF4_225_a") is fcc
    assert get_prototype("fcc") is fcc
    for p in PROTOTYPES:
        assert get_prototype(p.class_id) is get_prototype(p.key) is get_prototype(p.name) is p


def test_get_prototype_errors():
    with pytest.raises(KeyError, match="class_names"):
        get_prototype("no such structure")
    for bad in (-1, 108):
        with pytest.raises(KeyError, match="0 to 107"):
            get_prototype(bad)
    with pytest.raises(TypeError):
        get_prototype(1.0)
    with pytest.raises(TypeError):
        get_prototype(True)


def test_repr_and_immutability():
    fcc = get_prototype("fcc")
    assert repr(fcc) == "Prototype(93, 'fcc', elemental, SG #225)"
    assert repr(get_prototype("CNT (3,3)")) == "Prototype(72, 'CNT (3,3)', nanotube)"
    with pytest.raises(AttributeError):
        fcc.name = "other"
    with pytest.raises(TypeError):
        fcc.provenance["file"] = "other"
    assert len({hash(p) for p in PROTOTYPES}) == N_CLASSES


# --- the packaged data file -------------------------------------------------------------------

def test_json_is_what_the_build_script_produces(shared, tmp_path):
    output = tmp_path / "prototypes.json"
    assert build_prototypes.main([str(shared), "--output", str(output)]) == 0
    assert output.read_bytes() == PACKAGED_JSON.read_bytes()


def test_json_metadata():
    library = json.loads(PACKAGED_JSON.read_text(encoding="utf-8"))
    assert library["licence"] == "CC BY 4.0"
    assert "Leitherer" in library["credits"] and "AFLOW" in library["credits"]
    assert "C2DB" in library["credits"]
    assert library["n_classes"] == N_CLASSES == len(library["prototypes"])
