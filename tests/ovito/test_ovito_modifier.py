"""The "ARISE classification" modifier in real, headless OVITO pipelines."""

from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, graphene
from ase.io import read, write
from ovito.data import DataCollection
from ovito.io import import_file
from ovito.io.ase import ase_to_ovito
from ovito.modifiers import ExpressionSelectionModifier, PolyhedralTemplateMatchingModifier
from ovito.pipeline import Pipeline, StaticSource
from traits.api import TraitError

import ovito_arise.modifier as modifier_module
from ase_arise import class_names
from ase_arise.errors import IsolatedAtomsWarning
from ovito_arise import ARISEModifier, ARISEModifierError
from ase_arise.build import four_grains_path
from ovito_arise.benchmarks.peers import structure_names
from ovito_arise.structure_types import NO_PREDICTION, type_colors

L12 = class_names().index("L1_2 (Cu3Au)")


def names_of(data, prop="ARISE Structure Type"):
    """Type names of a typed particle property (object array)."""
    return structure_names(data) if prop == "Structure Type" else np.array(
        [{t.id: t.name for t in data.particles[prop].types}[i]
         for i in np.asarray(data.particles[prop])], dtype=object)


def write_lammps_dump(path, atoms, types):
    """A LAMMPS text dump with numeric types only (no element names), as LAMMPS writes it."""
    cell = atoms.cell.lengths()
    lines = ["ITEM: TIMESTEP", "0", "ITEM: NUMBER OF ATOMS", str(len(atoms)),
             "ITEM: BOX BOUNDS pp pp pp"] + [f"0.0 {c:.6f}" for c in cell] + [
             "ITEM: ATOMS id type x y z"]
    lines += [f"{k + 1} {t} {x:.6f} {y:.6f} {z:.6f}"
              for k, (t, (x, y, z)) in enumerate(zip(types, atoms.positions))]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def cu3au_dump(tmp_path_factory):
    """Periodic L1_2 Cu3Au, 6x6x6 cells (864 atoms, 22.5 Å), types 1 (Cu) and 2 (Au)."""
    cell = Atoms("AuCu3", scaled_positions=[[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5],
                                             [0, 0.5, 0.5]], cell=[3.75] * 3, pbc=True) * 6
    path = tmp_path_factory.mktemp("dump") / "cu3au.dump"
    write_lammps_dump(path, cell, np.where(cell.numbers == 79, 2, 1))
    return path


def ptm_all():
    ptm = PolyhedralTemplateMatchingModifier(output_ordering=True)
    for structure in ptm.structures:
        structure.enabled = True
    return ptm


def test_entry_point_lists_the_modifier():
    found = {e.name: e for e in entry_points(group="OVITO.Modifier")}
    assert found["ARISE classification"].load() is ARISEModifier


def test_traits_validate_parameters():
    with pytest.raises(TraitError):
        ARISEModifier(box=-1.0)
    with pytest.raises(TraitError):
        ARISEModifier(stride="4")
    with pytest.raises(TraitError):
        ARISEModifier(mode="fastest")
    with pytest.raises(TraitError):
        ARISEModifier(n_samples=-1)
    with pytest.raises(TraitError):
        ARISEModifier(output_probabilities="some")
    modifier = ARISEModifier()
    assert (modifier.box, modifier.stride, modifier.mode, modifier.n_samples) == (
        16.0, 4.0, "auto", 0)
    assert modifier.settings().passes == 100  # 0: the model's own default
    assert ARISEModifier.class_traits()["box"].label == "Box size (Å)"


def test_structure_types_named_and_coloured():
    names = class_names()
    colours = np.array(type_colors(names))
    ptm = {s.name: tuple(s.color) for s in PolyhedralTemplateMatchingModifier().structures}
    assert np.allclose(colours[1 + names.index("fcc")], ptm["FCC"])
    assert np.allclose(colours[1 + names.index("hcp")], ptm["HCP"])
    assert np.allclose(colours[1 + names.index("bcc")], ptm["BCC"])
    assert np.allclose(colours[1 + names.index("diamond")], ptm["Cubic diamond"])
    distance = np.linalg.norm(colours[:, None] - colours[None], axis=2)
    np.fill_diagonal(distance, np.inf)
    assert distance.min() > 0.1


def test_lammps_dump_numeric_types_with_ptm_in_one_pipeline(cu3au_dump):
    pipeline = import_file(str(cu3au_dump))
    pipeline.modifiers.append(ptm_all())
    arise = ARISEModifier(stride=5.0, output_probabilities="top-k", top_k=2)
    pipeline.modifiers.append(arise)
    data = pipeline.compute()
    assert set(structure_names(data)) == {"FCC"}  # PTM's property is untouched
    labels = names_of(data)
    assert (labels == "L1_2 (Cu3Au)").all()  # types 1/2 are the species
    types = data.particles["ARISE Structure Type"].types
    assert [t.name for t in types] == [NO_PREDICTION] + class_names() + ["Other"]
    assert data.attributes["ARISE.counts.Other"] == 0
    assert data.attributes["ARISE.mode"] == "fast"
    assert data.attributes["ARISE.counts.L1_2 (Cu3Au)"] == 864
    assert np.all(np.asarray(data.particles["ARISE Probability"]) > 0.9)
    assert np.all(np.asarray(data.particles["ARISE Uncertainty"]) < 0.2)
    top = np.asarray(data.particles["ARISE Top Types"])
    assert top.shape == (864, 2) and (top[:, 0] == L12 + 1).all()
    table = data.tables["arise-structures"]
    assert table.xy().tolist() == [[L12 + 1, 864]]

    arise.species = "geometry only"  # one species: the same lattice is plain fcc
    assert set(names_of(pipeline.compute())) == {"fcc"}


def test_extxyz_polycrystal_beside_ptm_with_selection():
    pipeline = import_file(str(four_grains_path()))
    pipeline.modifiers.append(ptm_all())
    before = structure_names(pipeline.compute())
    middle = float(np.median(read(four_grains_path(), format="xyz").positions[:, 0]))
    pipeline.modifiers.append(ExpressionSelectionModifier(expression=f"Position.X < {middle}"))
    arise = ARISEModifier(stride=6.0, only_selected=True)
    pipeline.modifiers.append(arise)
    with pytest.warns(IsolatedAtomsWarning):
        data = pipeline.compute()
    assert (structure_names(data) == before).all()
    selected = np.asarray(data.particles.selection) != 0
    labels = names_of(data)
    assert (labels[~selected] == NO_PREDICTION).all()
    uncertainty = np.asarray(data.particles["ARISE Uncertainty"])
    information = np.asarray(data.particles["ARISE Mutual Information"])
    assert np.isnan(uncertainty[~selected]).all() and np.isnan(information[~selected]).all()
    # the uncertainty adds the box's disorder to its MI: more than MI at the grain boundaries
    known = np.isfinite(information)
    assert known.sum() > 1000 and np.array_equal(known, np.isfinite(uncertainty))
    assert (uncertainty[known] >= information[known] - 1e-12).all()
    assert np.mean(uncertainty[known] > information[known] + 0.1) > 0.1
    # where PTM sees a crystal, ARISE names the same one
    ptm_to_arise = {"FCC": "fcc", "HCP": "hcp", "BCC": "bcc", "Cubic diamond": "diamond"}
    agree = [ptm_to_arise[p] == a for p, a in zip(before[selected], labels[selected])
             if p in ptm_to_arise]
    assert len(agree) > 1000 and np.mean(agree) > 0.85
    assert sum(v for k, v in data.attributes.items() if k.startswith("ARISE.counts.")) == \
        data.particles.count
    assert data.attributes["ARISE.mode"] == "exact"
    assert data.attributes["ARISE.model"].startswith("arise-108.onnx sha256:")


def test_display_options_reuse_the_computed_boxes(cu3au_dump, monkeypatch):
    runs = []
    real = modifier_module.iter_label

    def counting(*args, **kwargs):
        runs.append(args[1].stride)
        return real(*args, **kwargs)

    monkeypatch.setattr(modifier_module, "iter_label", counting)
    pipeline = import_file(str(cu3au_dump))
    arise = ARISEModifier(stride=5.0)
    pipeline.modifiers.append(arise)
    first = pipeline.compute()
    assert "ARISE Probabilities" not in first.particles
    arise.output_probabilities = "selected prototypes"
    arise.prototypes = "fcc, L1_2 (Cu3Au)"
    arise.color_by_type = False
    data = pipeline.compute()
    assert len(runs) == 1
    values = data.particles["ARISE Probabilities"]
    assert values.component_names == ("fcc", "L1_2_Cu3Au")
    assert np.allclose(np.asarray(values)[:, 1], np.asarray(data.particles["ARISE Probability"]))
    arise.output_probabilities = "all"
    assert np.asarray(pipeline.compute().particles["ARISE Probabilities"]).shape == (864, 108)
    assert len(runs) == 1
    arise.stride = 6.0  # a computing parameter: the boxes are redone
    pipeline.compute()
    assert runs == [5.0, 6.0]


def test_trajectory_frames_on_demand(tmp_path):
    path = tmp_path / "trajectory.xyz"
    write(path, [bulk("Cu", "fcc", a=3.6, cubic=True) * 5, bulk("Fe", "bcc", a=2.87, cubic=True)
                 * 7])
    pipeline = import_file(str(path))
    pipeline.modifiers.append(ARISEModifier(stride=6.0))
    assert pipeline.num_frames == 2
    assert set(names_of(pipeline.compute(1))) == {"bcc"}
    assert set(names_of(pipeline.compute(0))) == {"fcc"}


def test_two_dimensional_slab():
    sheet = graphene(size=(12, 12, 1), vacuum=5.0)
    sheet.pbc = (True, True, False)
    pipeline = Pipeline(source=StaticSource(data=ase_to_ovito(sheet)))
    pipeline.modifiers.append(ARISEModifier(stride=8.0))
    data = pipeline.compute()
    assert data.attributes["ARISE.mode"] == "exact"
    assert set(names_of(data)) == {"graphene"}


def test_progress_is_yielded_and_cancelling_leaves_no_output():
    data = ase_to_ovito(bulk("Cu", "fcc", a=3.6, cubic=True) * 6)
    steps = list(ARISEModifier(stride=4.0).modify(data, frame=0, data_cache=DataCollection()))
    texts = [s for s in steps if isinstance(s, str)]
    fractions = [s for s in steps if not isinstance(s, str)]
    assert texts[0].startswith("ARISE SPM (fast)") and "ARISE SPM (fast)" in texts
    assert fractions[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in fractions)
    assert "ARISE Structure Type" in data.particles

    fresh = ase_to_ovito(bulk("Cu", "fcc", a=3.6, cubic=True) * 6)
    # exact mode reports every 64 boxes: 1,331 boxes at stride 2
    running = ARISEModifier(stride=2.0, mode="exact").modify(fresh, frame=0,
                                                             data_cache=DataCollection())
    for _ in range(5):
        next(running)
    running.close()  # what OVITO does when the user cancels
    assert "ARISE Structure Type" not in fresh.particles


def compute_error(source_atoms, **settings):
    pipeline = Pipeline(source=StaticSource(data=ase_to_ovito(source_atoms)))
    pipeline.modifiers.append(ARISEModifier(**settings))
    with pytest.raises(ARISEModifierError) as error:
        pipeline.compute()
    return str(error.value)


@pytest.mark.filterwarnings("ignore::ase_arise.errors.IsolatedAtomsWarning")
def test_clear_errors():
    crystal = bulk("Cu", "fcc", a=3.6, cubic=True) * 4
    assert "does not exist" in compute_error(crystal, model="/nonexistent/model.onnx")
    assert "No box holds at least 100000 particles" in compute_error(crystal, min_atoms=100000)
    assert "nothing is selected" in compute_error(crystal, only_selected=True)
    assert "Unknown prototype(s) ['fcc2']" in compute_error(
        crystal, output_probabilities="selected prototypes", prototypes="fcc, fcc2")
    cluster = crystal.copy()
    cluster.pbc = False
    assert "larger than the sample" in compute_error(cluster, box=40.0)

    for count, message in ((0, "holds no particles"), (5, "no 'Position' property")):
        bare = DataCollection()
        bare.create_particles(count=count)
        pipeline = Pipeline(source=StaticSource(data=bare))
        pipeline.modifiers.append(ARISEModifier())
        with pytest.raises(ARISEModifierError, match=message):
            pipeline.compute()


def test_readme_parameter_table_lists_every_trait():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| ")]
    for name in ARISEModifier.class_editable_traits():
        label = ARISEModifier.class_traits()[name].label
        gui = label.split(" (")[0] if name in ("model", "prototypes") else label
        assert any(f"| {gui} | `{name}` |" in row for row in rows), name


def test_absurd_box_is_refused_at_once():
    """The largest box the trait allows on a 108-atom cell: a clear error, not a hang."""
    pipeline = Pipeline(source=StaticSource(data=ase_to_ovito(
        bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3))))
    pipeline.modifiers.append(ARISEModifier(box=1000.0))
    with pytest.raises(ARISEModifierError, match="work limit"):
        pipeline.compute()


def test_liquid_particles_are_other_white_and_counted(liquid):
    pipeline = Pipeline(source=StaticSource(data=ase_to_ovito(liquid)))
    arise = ARISEModifier()
    pipeline.modifiers.append(arise)
    data = pipeline.compute()
    types = data.particles["ARISE Structure Type"].types
    white = type_colors(class_names())[-1]  # PTM's "Other"
    assert types[-1].name == "Other" and np.allclose(types[-1].color, white)
    assert types[0].name == NO_PREDICTION and not np.allclose(types[0].color, white)
    assert set(names_of(data)) == {"Other"}
    assert data.attributes["ARISE.counts.Other"] == len(liquid)
    assert np.all(np.asarray(data.particles["ARISE Anisotropy"]) < 0.05)
    arise.min_anisotropy = 0.0  # never Other: the nearest prototypes
    assert "Other" not in set(names_of(pipeline.compute()))
