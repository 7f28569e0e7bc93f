"""Per-atom labels, the ARISE calculator object and the sample builders."""

import numpy as np
import pytest
from scipy.spatial import cKDTree
from ase.build import bulk
from ase.calculators.calculator import PropertyNotImplementedError

from ase_arise.prototypes import class_names
from ase_arise import ARISE, label
from ase_arise.build import l12_precipitate, polycrystal
from ase_arise.errors import InputError
from ase_arise.labels import (ARRAY_CLASS, ARRAY_PROBABILITIES, ARRAY_PROBABILITY,
                              ARRAY_UNCERTAINTY, CANDIDATES, MI_WEIGHT, ORDER_WEIGHT, gather,
                              nearest_boxes)

CLASS_NAMES = class_names()  # the shipped model's output order (no model load)


@pytest.fixture(scope="module")
def two_grains():
    """A periodic bicrystal: fcc and bcc grains, ~6,000 atoms."""
    return polycrystal(44.0, grains=("fcc", "bcc"), random_state=3)


def test_label_writes_arrays_to_a_copy(two_grains):
    before = two_grains.copy()
    labels = label(two_grains, box=12.0, stride=4.0)
    assert labels.atoms is not two_grains
    assert two_grains == before and set(two_grains.arrays) == set(before.arrays)
    for name in (ARRAY_CLASS, ARRAY_PROBABILITY, ARRAY_UNCERTAINTY):
        assert name in labels.atoms.arrays and name not in two_grains.arrays
    assert np.array_equal(labels.atoms.arrays[ARRAY_CLASS], labels.class_id)
    assert ARRAY_PROBABILITIES not in labels.atoms.arrays


def test_label_in_place_with_probabilities(two_grains):
    atoms = two_grains.copy()
    labels = label(atoms, box=12.0, stride=4.0, inplace=True, probabilities=True)
    assert labels.atoms is atoms
    assert atoms.arrays[ARRAY_PROBABILITIES].shape == (len(atoms), len(CLASS_NAMES))
    rows = labels.probabilities[labels.class_id >= 0]
    assert np.allclose(rows.sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(rows.max(axis=1), labels.probability[labels.class_id >= 0], atol=1e-6)


def test_labels_follow_the_grains(two_grains):
    labels = label(two_grains, box=12.0, stride=4.0)
    grain = two_grains.arrays["grain"]
    truth = np.array(two_grains.info["grains"])[grain]
    far = np.empty(len(two_grains))  # distance to the other grain
    for g in (0, 1):
        tree = cKDTree(two_grains.positions[grain != g], boxsize=44.0)
        far[grain == g] = tree.query(two_grains.positions[grain == g])[0]
    assert np.mean(labels.names[far > 6.0] == truth[far > 6.0]) > 0.95
    counts = labels.counts()
    assert {"fcc", "bcc"} <= set(list(counts)[:3])
    assert list(counts.values()) == sorted(counts.values(), reverse=True)
    assert sum(counts.values()) == len(two_grains)


def test_each_atom_takes_the_containing_box_with_the_lowest_score(two_grains):
    labels = label(two_grains, box=12.0, stride=4.0)
    boxes, result = labels.box_index, labels.spm
    assert (boxes >= 0).all()
    offset = two_grains.positions - result.centres[boxes]
    offset -= np.round(offset / 44.0) * 44.0
    assert (np.abs(offset).max(axis=1) <= 6.0 + 1e-9).all()
    # brute force over the containing boxes among the 27 nearest centres: the lowest distance /
    # half + 2 MI says whether the atom is Other; if not, the lowest of that - 3 ln(anisotropy)
    # among boxes not Other
    sample = np.random.default_rng(0).choice(len(two_grains), 200, replace=False)
    for i in sample:
        d = result.centres - two_grains.positions[i]
        d -= np.round(d / 44.0) * 44.0
        near = np.zeros(len(d), dtype=bool)
        near[np.argsort(np.linalg.norm(d, axis=1))[:CANDIDATES]] = True
        inside = (np.abs(d).max(axis=1) <= 6.0 + 1e-9) & result.valid & near
        first = np.linalg.norm(d, axis=1) / 6.0 + MI_WEIGHT * result.mutual_information
        second = np.where(result.other, np.inf, first - ORDER_WEIGHT * np.log(result.anisotropy))
        picked = np.flatnonzero(inside)[np.argmin(first[inside])]
        if result.other[picked]:
            assert result.other[boxes[i]]
        else:
            assert second[boxes[i]] <= second[inside].min() + 1e-9
    assert np.array_equal(labels.class_id, result.class_id[boxes])
    # weight 0: the nearest containing centre
    nearest = nearest_boxes(two_grains, result, mi_weight=0.0, order_weight=0.0)
    for i in sample:
        d = result.centres - two_grains.positions[i]
        d -= np.round(d / 44.0) * 44.0
        assert np.linalg.norm(d[nearest[i]]) <= np.linalg.norm(d, axis=1).min() + 1e-9


def test_the_rule_beats_the_nearest_centre_at_grain_boundaries():
    """Noisy fcc/bcc/hcp/diamond polycrystal with known grains: the uncertainty-aware rule
    gets more atoms right than the nearest box centre, most of all near the boundaries."""
    atoms = polycrystal(50.0, random_state=4)
    atoms.positions += np.random.default_rng(4).normal(0, 0.03 * 2.5, atoms.positions.shape)
    truth = np.array(atoms.info["grains"], dtype=object)[atoms.arrays["grain"]]
    labels = label(atoms)
    names = np.array(list(labels.spm.class_names) + [None], dtype=object)
    nearest = names[gather(labels.spm.class_id, nearest_boxes(atoms, labels.spm, mi_weight=0.0,
                                                              order_weight=0.0), -1)]
    right, right_nearest = labels.names == truth, nearest == truth
    assert right.mean() > right_nearest.mean() + 0.03
    assert right.mean() > 0.6  # grains of ~30 Å: most atoms lie near a boundary


def test_the_order_term_beats_mi_alone_at_grain_boundaries():
    """The same noisy polycrystal: the angular-order term of the rule gets more atoms near the
    boundaries right than distance + MI alone."""
    atoms = polycrystal(50.0, random_state=4)
    atoms.positions += np.random.default_rng(4).normal(0, 0.03 * 2.5, atoms.positions.shape)
    truth = np.array(atoms.info["grains"], dtype=object)[atoms.arrays["grain"]]
    labels = label(atoms)
    mi_only = labels.spm.names_of(gather(labels.spm.class_id, nearest_boxes(
        atoms, labels.spm, order_weight=0.0), -1))
    assert (labels.names == truth).mean() > (mi_only == truth).mean() + 0.05


@pytest.mark.filterwarnings("ignore::ase_arise.errors.OverlappingAtomsWarning")  # the seams
def test_a_liquid_beside_a_crystal_stays_other(liquid):
    """A crystal | liquid slab (Al fcc with 3 % noise, the EMT liquid tiled): atoms 4 Å or more
    from the interfaces take their own side's answer; the crystal's order does not spill into
    the liquid, nor the liquid's Other into the crystal."""
    edge = liquid.cell.lengths()[0]
    melt = liquid.repeat((3, 1, 1))
    crystal = bulk("Al", "fcc", a=4.05, cubic=True).repeat((12, 4, 4))
    crystal.set_cell(np.diag([crystal.cell[0, 0], edge, edge]), scale_atoms=True)
    crystal.positions += np.random.default_rng(0).normal(0, 0.03 * 2.86, crystal.positions.shape)
    melt.positions[:, 0] += crystal.cell[0, 0]
    sample = crystal + melt
    sample.set_cell(np.diag([crystal.cell[0, 0] + melt.cell[0, 0], edge, edge]))
    sample.pbc = True
    x = sample.positions[:, 0]
    gap = np.minimum.reduce([np.abs(x - crystal.cell[0, 0]), x, sample.cell[0, 0] - x])
    far = gap >= 4.0
    is_crystal = np.arange(len(sample)) < len(crystal)
    names = label(sample).names
    assert (names[far & is_crystal] == "fcc").mean() > 0.99
    assert (names[far & ~is_crystal] == "Other").mean() > 0.97


def test_atoms_without_a_valid_box_get_no_label():
    """An isolated pair far from a crystal: no box with >= 50 atoms contains it."""
    crystal = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(6)
    crystal.pbc = False
    pair = bulk("Cu", "fcc", a=3.6)[:1].repeat((2, 1, 1))
    pair.positions += [60.0, 0.0, 0.0]
    sample = crystal + pair
    sample.pbc = False
    with pytest.warns(Warning, match="no prediction"):
        labels = label(sample, box=12.0, stride=6.0)
    assert (labels.class_id[-2:] == -1).all() and np.isnan(labels.probability[-2:]).all()
    inner = np.all(np.abs(crystal.positions - crystal.positions.mean(axis=0)) < 6.0, axis=1)
    assert (labels.names[:-2][inner] == "fcc").all()
    assert labels.names[-1] is None and "no prediction" in labels.counts()


@pytest.mark.filterwarnings("ignore::ase_arise.errors.IsolatedAtomsWarning")
def test_per_atom_boxes():
    cluster = bulk("Fe", "bcc", a=2.87, cubic=True).repeat(6)
    cluster.pbc = False
    labels = label(cluster, box=10.0, per_atom=True, min_atoms=20)
    assert labels.spm.shape == (len(cluster),) and labels.spm.stride is None
    assert np.array_equal(labels.box_index[labels.class_id >= 0],
                          np.flatnonzero(labels.class_id >= 0))
    inner = np.all(np.abs(cluster.positions - cluster.positions.mean(axis=0)) < 3.0, axis=1)
    assert (labels.names[inner] == "bcc").all()


def test_per_atom_must_be_a_bool(two_grains):
    with pytest.raises(TypeError, match="per_atom"):
        label(two_grains, per_atom="yes")


def test_calculator_properties_and_caching():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4)
    calc = ARISE(box=10.0, stride=5.0, n_samples=20)
    atoms.calc = calc
    assert atoms.calc.get_property("prototype", atoms) == "fcc"
    probabilities = calc.get_property("probabilities", atoms)
    assert probabilities.shape == (len(CLASS_NAMES),)
    assert calc.get_property("class_id", atoms) == CLASS_NAMES.index("fcc")
    per_atom = calc.get_property("atom_class_id", atoms)
    assert per_atom.shape == (len(atoms),) and (per_atom == CLASS_NAMES.index("fcc")).all()
    assert calc.get_property("atom_mutual_information", atoms).shape == (len(atoms),)
    assert (calc.get_property("atom_uncertainty", atoms) >=
            calc.get_property("atom_mutual_information", atoms) - 1e-12).all()
    cached = calc.results["atom_class_id"]
    calc.get_property("atom_class_id", atoms)
    assert calc.results["atom_class_id"] is cached  # same atoms: no recomputation
    moved = atoms.copy()
    moved.positions[0] += 0.5
    calc.get_property("atom_class_id", moved)
    assert calc.results["atom_class_id"] is not cached  # atoms changed: recomputed
    with pytest.raises(PropertyNotImplementedError):
        calc.get_property("energy", atoms)


def test_calculator_settings_are_used_and_overridable():
    atoms = bulk("Fe", "bcc", a=2.87, cubic=True).repeat(6)
    calc = ARISE(box=10.0, stride=8.6, n_samples=12, tolerance=None, random_state=5)
    result = calc.spm(atoms)
    assert (result.box, result.n_samples, result.tolerance) == (10.0, 12, None)
    assert (result.passes == 12).all() and result.shape == (2, 2, 2)
    assert calc.spm(atoms, stride=17.2).shape == (1, 1, 1)
    assert np.array_equal(calc.label(atoms).class_id, calc.label(atoms).class_id)
    assert "box=10.0" in repr(calc)
    with pytest.raises(InputError, match="'mode'"):
        ARISE(mode="fastest")


@pytest.mark.slow
def test_polycrystal_builder():
    atoms = polycrystal(30.0, random_state=1)
    assert atoms.pbc.all() and np.allclose(atoms.cell.lengths(), 30.0)
    assert set(np.unique(atoms.arrays["grain"])) == {0, 1, 2, 3}
    assert atoms.info["grains"] == ["fcc", "bcc", "hcp", "diamond"]
    assert atoms.get_all_distances(mic=True)[np.triu_indices(len(atoms), 1)].min() > 0.7 * 1.54
    again = polycrystal(30.0, random_state=1)
    assert np.array_equal(atoms.positions, again.positions)
    with pytest.raises(InputError, match="Unknown grain"):
        polycrystal(30.0, grains=("fcc", "quasicrystal"))


def test_precipitate_builder():
    atoms = l12_precipitate(40.0, random_state=0)
    inside = atoms.arrays["precipitate"] == 1
    assert np.bincount(atoms.numbers[inside], minlength=29)[[13, 28]].tolist() == [
        inside.sum() // 4, 3 * inside.sum() // 4]
    assert (atoms.numbers == 13).sum() * 4 == len(atoms)  # Ni3Al everywhere
    # the precipitate is ordered: every Al in it has only Ni as nearest neighbours
    al = np.flatnonzero(inside & (atoms.numbers == 13))
    central = al[np.argmin(np.linalg.norm(atoms.positions[al] - atoms.cell.lengths() / 2,
                                          axis=1))]
    distances = atoms.get_distances(central, np.arange(len(atoms)), mic=True)
    assert set(atoms.numbers[(distances > 0.1) & (distances < 2.6)]) == {28}


def test_nearest_boxes_of_an_empty_result_is_all_missing():
    crystal = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3)
    with pytest.warns(Warning, match="no prediction"):
        labels = label(crystal, box=8.0, stride=4.0, min_atoms=10_000)
    assert (nearest_boxes(crystal, labels.spm) == -1).all()
    assert (labels.class_id == -1).all()
