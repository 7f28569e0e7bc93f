"""Small open structures planned together (ase_arise.descriptor.clusters): bit for bit the
per-structure plan, its warnings and errors; its kernels against scipy and CellList.build."""

import warnings

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from numpy.testing import assert_array_equal

from ase_arise import ARISEDescriptor, InputError, load_prototypes, work_limits
from ase_arise.descriptor import clusters
from ase_arise.descriptor.averaged import describe_structures
from ase_arise.descriptor.dnn import nearest_distances
from ase_arise.descriptor.neighbors import CellList, CellStack


def _ball(atoms, radius, centre=None):
    centre = atoms.positions.mean(axis=0) if centre is None else centre
    inside = np.linalg.norm(atoms.positions - centre, axis=1) <= radius
    out = atoms[inside]
    out.pbc = False
    out.cell = None
    return out


def _mixed():
    """Open structures of one to three species, a lone atom of a species (pairs without a
    d_NN), a duplicated atom (an overlap), two atoms, a thermal copy; a periodic cell
    among them (the per-structure plan)."""
    rng = np.random.default_rng(3)
    prototypes = load_prototypes()
    out = [_ball(bulk("Cu", "fcc", a=3.6, cubic=True).repeat(5), 7.0)]
    for k in (5, 17, 40, 77, 101):
        out.append(_ball(prototypes[k].supercells(n=1, min_atoms=200)[0], 8.0))
    nacl = _ball(bulk("NaCl", "rocksalt", a=5.64, cubic=True).repeat(4), 8.0)
    out.append(nacl)
    doped = out[0].copy()
    doped.numbers[3] = 29 + 18  # one Ag: pairs (47, 47) have no d_NN
    out.append(doped)
    hot = out[1].copy()
    hot.positions += rng.normal(scale=0.1, size=hot.positions.shape)
    out.append(hot)
    out.append(bulk("Si", "diamond", a=5.43))  # periodic
    twin = out[0].copy()
    twin += twin[:1]
    twin.positions[-1] += 0.1  # a duplicated atom, 0.1 Å off
    out.append(twin)
    out.append(Atoms("Fe2", positions=[[0, 0, 0], [2.5, 0, 0]]))
    ternary = nacl.copy()
    ternary.numbers[::7] = 19
    out.append(ternary)
    return out


def _describe(structures, **options):
    """Descriptors, shell shares and the warnings (with the file they point at)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X, shells = describe_structures(ARISEDescriptor(), structures, **options)
    return X, shells, [(w.category.__name__, str(w.message), w.filename) for w in caught]


def test_batched_plan_is_the_per_structure_plan_bit_for_bit(monkeypatch):
    structures = _mixed()
    assert sum(clusters.batched(s, 8192) for s in structures) == len(structures) - 1
    X, shells, told = _describe(structures)
    monkeypatch.setattr(clusters, "BATCH", 3)  # batches of three, around the periodic one
    X3, shells3, told3 = _describe(structures)
    monkeypatch.setattr(clusters, "MAX_ATOMS", 0)  # every structure planned alone
    X0, shells0, told0 = _describe(structures)
    assert_array_equal(X, X0)
    assert_array_equal(shells, shells0)
    assert_array_equal(X3, X0)
    assert_array_equal(shells3, shells0)
    assert sorted(told) == sorted(told0) == sorted(told3)
    assert {filename for *_, filename in told} == {__file__}
    texts = " ".join(text for _, text, _ in told)
    assert "Structure 7: Species pairs [(47, 47)]" in texts  # the lone Ag
    assert "closer than half the nearest-neighbour distance" in texts  # the duplicate


def test_a_structure_with_nothing_to_describe_raises_or_gets_nan(monkeypatch):
    lone = Atoms("HO", positions=[[0, 0, 0], [0, 0, 30]])  # each pair d_NN is their distance
    single = Atoms("Cu", positions=[[0, 0, 0]])
    good = _ball(bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4), 6.0)
    with pytest.raises(InputError, match="Structure 1: No atom of this 1-atom structure"):
        describe_structures(ARISEDescriptor(), [good, single, lone])
    X, shells = describe_structures(ARISEDescriptor(), [good, single, good],
                                    undescribable="nan")
    assert np.isnan(X[1]).all() and np.isfinite(X[[0, 2]]).all()
    assert np.isnan(describe_structures(ARISEDescriptor(), [single, single],
                                        undescribable="nan")[0]).all()
    assert_array_equal(X[0], X[2])
    monkeypatch.setattr(clusters, "MAX_ATOMS", 0)
    X0, shells0 = describe_structures(ARISEDescriptor(), [good, single, good],
                                      undescribable="nan")
    assert_array_equal(X, X0)
    assert_array_equal(shells, shells0)


def test_the_pair_work_limit_holds_for_a_batch():
    good = _ball(bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4), 6.0)
    with work_limits(max_pairs=1000), pytest.raises(InputError, match="max_pairs"):
        describe_structures(ARISEDescriptor(), [good, good])


def test_nearest_by_rank_is_scipys_k_d_tree_bit_for_bit():
    rng = np.random.default_rng(0)
    sizes = [1, 2, 5, 40, 300]
    positions, ranks = [], []
    for n in sizes:
        p = rng.normal(scale=4.0, size=(n, 3))
        if n > 2:
            p[1] = p[0]  # a duplicate: zero distances
        r = rng.integers(0, 3, size=n)
        positions.append(p)
        ranks.append(np.searchsorted(np.unique(r), r))
    starts = np.concatenate([[0], np.cumsum(sizes)])
    width = max(int(r.max()) + 1 for r in ranks)
    out = np.empty((starts[-1], width))
    clusters.kernels.nearest_by_rank(np.concatenate(positions), np.concatenate(ranks), starts,
                                     out)
    for k, (p, r) in enumerate(zip(positions, ranks)):
        for s in range(width):
            expected = (nearest_distances(p, p[r == s], np.zeros((3, 3)), np.zeros(3, bool))
                        if s <= r.max() else np.full(len(p), np.inf))
            assert_array_equal(out[starts[k]:starts[k + 1], s], expected)


def test_the_stacked_cells_are_cell_list_builds():
    structures = [_ball(bulk("NaCl", "rocksalt", a=5.64, cubic=True).repeat(4), 8.0),
                  _ball(bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4), 6.0)]
    calculator = ARISEDescriptor()
    batch = clusters._Batch(calculator, [(k, s.positions.copy(), s.numbers.copy(), None, None)
                                         for k, s in enumerate(structures)])
    batch.plan()
    lists = []
    for k, atoms in enumerate(structures):
        dnn = calculator.pair_nn_distances(atoms)
        for b in np.unique(atoms.numbers):
            unit = max(d for (_, z), d in dnn.items() if z == b) * calculator.extrinsic_scaling
            mine = atoms.positions[atoms.numbers == b]
            lists.append(calculator.neighbor_cells(mine, np.zeros((3, 3)), np.zeros(3, bool),
                                                   unit, len(atoms)))
    expected = CellStack.of(lists)
    for name in ("points", "index", "cell_start", "origin", "step", "dims", "cell_base"):
        assert_array_equal(getattr(batch.cells, name), getattr(expected, name), name)
    assert isinstance(lists[0], CellList)


def test_bad_structures_in_a_batch_raise_by_index_or_get_nan():
    good = _ball(bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4), 6.0)
    broken = good.copy()
    broken.positions[4] = np.nan
    crowded = _ball(bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4), 7.0)
    crowded.numbers[:17] = np.arange(1, 18)  # 17 species: more than max_species
    calculator = ARISEDescriptor()
    with pytest.raises(InputError, match="structure 1' has NaN or infinite positions"):
        describe_structures(calculator, [good, broken])
    with pytest.raises(InputError, match="max_species"):
        describe_structures(calculator, [good, crowded])
    X, shells = describe_structures(calculator, [good, broken, crowded, good],
                                    undescribable="nan")
    assert np.isnan(X[[1, 2]]).all() and np.isnan(shells[[1, 2]]).all()
    assert_array_equal(X[0], X[3])
    assert_array_equal(X[0], calculator.create(good))
