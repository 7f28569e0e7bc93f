"""The ARISE descriptor: QUIP fidelity, d_NN rule, invariances, periodicity, bad input."""

from pathlib import Path

import numba
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, graphene_nanoribbon, nanotube
from ase.neighborlist import neighbor_list
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import spherical_in

from ase_arise import (
    ARISEDescriptor,
    InputError,
    IsolatedAtomsWarning,
    descriptor,
    load_prototypes,
    nearest_neighbor_distance,
)
from ase_arise.descriptor import _soap_kernels
from ase_arise.descriptor import dnn_from_distances
from ase_arise.descriptor.averaged import describe_structures
from ase_arise.descriptor.neighbors import (CellList, cartesian, fractional, image_bounds,
                                            periodic_images, wrap_positions)

REFERENCES = Path(__file__).resolve().parents[1] / "data" / "quip_references.npz"
PROTOTYPES = load_prototypes()


@pytest.fixture(scope="module")
def references():
    return np.load(REFERENCES)


@pytest.mark.parametrize("class_id", range(len(PROTOTYPES)))
def test_matches_quip_on_every_prototype(references, class_id):
    """Periodic cell and smallest cluster, r_cut 3/4/5 x sigma 0.08/0.10/0.12, vs QUIP."""
    prototype = PROTOTYPES[class_id]
    structures = {"cluster": prototype.supercells()[0]}
    if prototype.is_periodic:
        structures["periodic"] = prototype.atoms()
    for kind, atoms in structures.items():
        for k, (r_cut, sigma) in enumerate(references["settings"]):
            ours = ARISEDescriptor(r_cut=float(r_cut), sigma=float(sigma)).create(atoms)
            assert np.abs(ours - references[kind][class_id, k]).max() <= 1e-8, (kind, r_cut, sigma)
    assert not prototype.is_periodic or np.isfinite(references["periodic"][class_id]).all()


def test_matches_quip_on_defective_copies(references):
    ends = np.cumsum(references["defect_sizes"])
    calculator = ARISEDescriptor()
    for class_id, (start, stop) in enumerate(zip(ends - references["defect_sizes"], ends)):
        atoms = Atoms(numbers=references["defect_numbers"][start:stop],
                      positions=references["defect_positions"][start:stop])
        assert np.abs(calculator.create(atoms) - references["defect_vectors"][class_id]).max() \
            <= 1e-8, PROTOTYPES[class_id].name


def test_live_quip_subset():
    """A few structures against quippy itself (CI installs quippy-ase on Python 3.11)."""
    pytest.importorskip("quippy")
    from quip_oracle import quip_descriptor

    rng = np.random.default_rng(7)
    rod = nanotube(5, 5, length=3)  # periodic along z only
    noisy = bulk("NaCl", "rocksalt", a=5.64, cubic=True).repeat(2)
    noisy.positions += rng.uniform(-0.05, 0.05, noisy.positions.shape)
    del noisy[[3, 17]]
    for atoms in (bulk("Cu", "fcc", a=3.6), rod, noisy, PROTOTYPES[43].atoms()):
        for r_cut, sigma in ((4.0, 0.1), (3.4, 0.12)):
            ours = ARISEDescriptor(r_cut=r_cut, sigma=sigma).create(atoms)
            assert np.abs(ours - quip_descriptor(atoms, r_cut, sigma)).max() <= 1e-8


def test_design_reference_numbers():
    """QUIP's numbers for a 256-atom fcc cluster with d_NN = 1 (shared/DESIGN.md §5)."""
    atoms = bulk("Cu", "fcc", a=np.sqrt(2), cubic=True).repeat(4)
    atoms.pbc = False
    vector = descriptor(atoms)
    expected = {119: 0.398448906438798, 35: 0.3322857544946628, 210: 0.2973915295634773,
                161: 0.2867965330774941, 41: 0.26293584789610236, 140: 0.23889307455222844,
                28: 0.000617754491163134}
    for index, value in expected.items():
        assert vector[index] == pytest.approx(value, abs=1e-12)
    assert vector.sum() == pytest.approx(4.399146619517007, abs=1e-12)
    odd_l = [l + 7 * k for k in range(45) for l in (1, 2, 3, 5)]
    assert_allclose(vector[odd_l], 0.0, atol=1e-12)
    assert vector.shape == (316,) and vector[-1] == 0.0


# --- d_NN ----------------------------------------------------------------------------------

def test_dnn_of_perfect_crystals():
    assert nearest_neighbor_distance(bulk("Cu", "fcc", a=3.6)) == pytest.approx(3.6 / np.sqrt(2))
    assert nearest_neighbor_distance(bulk("Fe", "bcc", a=2.87, cubic=True)) == pytest.approx(
        2.87 * np.sqrt(3) / 2)
    salt = bulk("NaCl", "rocksalt", a=5.64)
    assert nearest_neighbor_distance(salt, centre_species="Na", neighbor_species="Cl") == \
        pytest.approx(2.82)
    assert nearest_neighbor_distance(salt, centre_species=11, neighbor_species=11) == \
        pytest.approx(5.64 / np.sqrt(2))


def test_dnn_histogram_rule():
    # all equal, a tiny spread, and the most populated bin winning over the mean
    assert dnn_from_distances([2.5, 2.5, 2.5]) == 2.5
    assert dnn_from_distances(2.5 + 1e-13 * np.arange(5)) == pytest.approx(2.5, abs=1e-12)
    distances = np.concatenate([np.full(90, 2.0), np.linspace(3.0, 6.0, 30)])
    dnn = dnn_from_distances(distances)
    assert abs(dnn - 2.0) < 0.03 and abs(np.mean(distances) - 2.0) > 0.5
    # counts are divided by the squared lower bin edge: 10 / 1^2 beats 50 / 3^2, not 100 / 3^2
    assert dnn_from_distances([1.0] * 10 + [4.0] * 50, bins=3) == 1.0
    assert dnn_from_distances([1.0] * 10 + [4.0] * 100, bins=3) == 4.0
    # one stray atom far away does not coarsen the answer
    assert dnn_from_distances([2.55] * 108 + [170.0]) == 2.55
    assert np.isnan(dnn_from_distances([np.inf]))


def _numpy_histogram_rule(distances, bins):
    """The histogram rule written with np.histogram (the kernel must match it bit for bit)."""
    distances = distances[np.isfinite(distances)]
    low, high = distances.min(), distances.max()
    if high - low <= 1e-12 * high:
        return float(np.median(distances))
    counts, edges = np.histogram(distances, bins=bins, range=(low, high))
    best = int(np.argmax(counts / edges[:-1] ** 2))
    return float(np.median(distances[(distances >= edges[best]) & (distances <= edges[best + 1])]))


def test_dnn_kernel_bins_exactly_as_numpy_histogram():
    rng = np.random.default_rng(0)
    for trial in range(3000):
        n, bins = int(rng.integers(1, 300)), int(rng.choice([1, 2, 7, 100]))
        kind = trial % 4
        if kind == 0:
            d = rng.uniform(0.5, 3.0, n)
        elif kind == 1:  # many ties
            d = np.round(rng.normal(2.5, 0.1, n), 2)
        elif kind == 2:  # values exactly on the bin edges
            d = rng.choice(np.linspace(rng.uniform(0.1, 1.0), rng.uniform(1.0, 5.0), bins + 1), n)
        else:  # a sharp peak, a stray atom and a centre without neighbour
            d = np.concatenate([rng.normal(2.5, 0.01, n), [10.0, np.inf]])
        assert dnn_from_distances(d, bins) == _numpy_histogram_rule(d, bins), trial


def test_dnn_with_missing_atoms_and_noise():
    rng = np.random.default_rng(0)
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(6)
    del atoms[rng.choice(len(atoms), size=len(atoms) // 4, replace=False)]
    atoms.positions += rng.uniform(-0.01, 0.01, atoms.positions.shape) * 2.5456
    assert nearest_neighbor_distance(atoms) == pytest.approx(3.6 / np.sqrt(2), rel=0.03)


# --- invariances ---------------------------------------------------------------------------

def test_scale_rotation_permutation_translation_invariance():
    rng = np.random.default_rng(1)
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3)
    atoms.positions += rng.uniform(-0.05, 0.05, atoms.positions.shape)
    atoms.pbc = False
    reference = descriptor(atoms)
    scaled = atoms.copy()
    scaled.positions *= 4.05 / 3.6
    rotated = atoms.copy()
    rotated.rotate(37.0, (1, 2, 3))
    shuffled = atoms[rng.permutation(len(atoms))]
    shifted = atoms.copy()
    shifted.positions += (10.0, -3.0, 7.0)
    for other in (scaled, rotated, shuffled, shifted):
        assert_allclose(descriptor(other), reference, atol=1e-12)


def test_supercell_invariance_of_periodic_structures():
    primitive = bulk("Cu", "fcc", a=3.6)
    assert_allclose(descriptor(bulk("Cu", "fcc", a=3.6, cubic=True).repeat((3, 2, 4))),
                    descriptor(primitive), atol=1e-12)
    sheared = bulk("Mg", "hcp", a=3.2, c=5.2)
    assert_allclose(descriptor(sheared.repeat((2, 3, 1))), descriptor(sheared), atol=1e-12)


def test_open_axes_equal_a_large_vacuum():
    """A slab (T, T, F) or rod (F, F, T) equals the same atoms fully periodic in a huge box."""
    slab = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 2, 3))
    slab.pbc = (True, True, False)
    rod = nanotube(6, 0, length=2)
    rod.pbc = (False, False, True)
    rod.cell[0, 0] = rod.cell[1, 1] = 0.0
    for atoms in (slab, rod):
        boxed = atoms.copy()
        for axis in np.flatnonzero(~atoms.pbc):
            boxed.cell[axis] = 0.0
            boxed.cell[axis, axis] = 200.0
        boxed.pbc = True
        assert_allclose(descriptor(atoms), descriptor(boxed), atol=1e-12)


def test_thread_count_does_not_change_the_result():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4)
    atoms.pbc = False
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = descriptor(atoms)
    finally:
        numba.set_num_threads(before)
    assert_allclose(descriptor(atoms), single, atol=1e-14)


def test_callers_atoms_unchanged():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    atoms.positions += 5.0  # outside the cell: wrapping must happen on a copy
    before = atoms.copy()
    descriptor(atoms)
    ARISEDescriptor().atomic_coefficients(atoms)
    assert atoms == before and np.array_equal(atoms.positions, before.positions)


def test_list_input_and_progress():
    structures = [bulk("Cu", "fcc", a=3.6), bulk("Fe", "bcc", a=2.87)]
    stacked = ARISEDescriptor().create(structures, progress=True)
    assert stacked.shape == (2, 316)
    assert_allclose(stacked[1], descriptor(structures[1]))
    assert np.abs(stacked[0] - stacked[1]).max() > 0.01


# --- per-atom coefficients -----------------------------------------------------------------

@pytest.mark.parametrize("atoms", [
    bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2),
    bulk("NaCl", "rocksalt", a=5.64, cubic=True),
    PROTOTYPES[48].supercells()[0],  # six species
], ids=["fcc", "NaCl", "six-species"])
def test_atomic_coefficients_sum_to_the_descriptor(atoms):
    calculator = ARISEDescriptor(extrinsic_scaling=1.05)
    result = calculator.atomic_coefficients(atoms)
    sums = [result.coefficients[atoms.numbers == a, j].sum(axis=0)
            for a in result.species for j in range(len(result.species))]
    assert_allclose(calculator.from_coefficient_sums(sums), calculator.create(atoms), atol=1e-12)
    assert result.coefficients.shape == (len(atoms), len(result.species), 9, 49)
    assert (result.n_neighbors.sum(axis=0) > 0).all()


def test_atomic_coefficients_with_a_local_length_unit():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    calculator = ARISEDescriptor()
    dnn = 3.6 / np.sqrt(2)
    per_atom = calculator.atomic_coefficients(atoms, length_unit=np.full(len(atoms), dnn))
    scalar = calculator.atomic_coefficients(atoms, length_unit=dnn)
    auto = calculator.atomic_coefficients(atoms)
    assert_allclose(per_atom.coefficients, scalar.coefficients, atol=1e-13)
    assert_allclose(auto.coefficients, scalar.coefficients, atol=1e-10)
    with pytest.raises(InputError, match="length_unit"):
        calculator.atomic_coefficients(atoms, length_unit=-1.0)


# --- kernels against independent references ------------------------------------------------

def test_scaled_bessel_against_scipy():
    out = np.empty(9)
    for x in np.concatenate([[0.0, 1e-8, 0.3], np.linspace(1, 60, 237), [23.999, 24.0, 500.0,
                                                                          3000.0]]):
        _soap_kernels.scaled_spherical_bessel_i(x, 8, out)
        expected = [np.exp(-x) * spherical_in(l, x) if x < 600 else np.nan for l in range(9)]
        if x < 600:
            assert_allclose(out, expected, rtol=1e-12, atol=1e-300)
        else:  # asymptotics: e^-x i_l(x) = (1 - l (l + 1) / (2x) + ...) / (2x)
            l = np.arange(9)
            assert_allclose(out, (1 - l * (l + 1) / (2 * x)) / (2 * x), rtol=1e-4)


def test_harmonics_addition_theorem():
    """sum_m Y_lm(u) Y_lm(v) = (2l + 1) / (4 pi) P_l(u . v) for the real harmonics."""
    from scipy.special import eval_legendre

    from ase_arise.descriptor.soap import SOAPBasis

    basis = SOAPBasis(l_max=6)
    rng = np.random.default_rng(3)
    u = rng.normal(size=(3, 2))
    u /= np.linalg.norm(u, axis=0)
    f1, f2 = _soap_kernels.legendre_factors(6)
    ylm = np.empty((49, 2))
    _soap_kernels.real_spherical_harmonics(u, 2, 6, basis.ylm_norm, f1, f2, np.empty((7, 7, 2)),
                                           np.empty((7, 2)), np.empty((7, 2)), ylm)
    for l in range(7):
        block = slice(l * l, (l + 1) * (l + 1))
        assert ylm[block, 0] @ ylm[block, 1] == pytest.approx(
            (2 * l + 1) / (4 * np.pi) * eval_legendre(l, u[:, 0] @ u[:, 1]), abs=1e-12)
        assert ylm[block, 0] @ ylm[block, 0] == pytest.approx((2 * l + 1) / (4 * np.pi))


@pytest.mark.parametrize("pbc", [(True, True, True), (True, False, True), (False,) * 3])
def test_neighbour_counts_match_ase(pbc):
    """Cell list + periodic images against ASE's neighbour list on a small triclinic cell."""
    rng = np.random.default_rng(5)
    cell = np.array([[4.0, 0.0, 0.0], [1.5, 3.5, 0.0], [0.8, -1.1, 3.9]])
    atoms = Atoms("Cu12", cell=cell, scaled_positions=rng.random((12, 3)), pbc=pbc)
    cutoff = 6.3
    from ase_arise.descriptor.soap import SOAPBasis

    wrapped = wrap_positions(atoms.positions, cell, np.array(pbc))
    points, index = periodic_images(wrapped, cell, np.array(pbc), cutoff)
    cells = CellList.build(points, index, cutoff)
    _, counts = SOAPBasis(r_cut=cutoff).center_coefficients(wrapped, np.ones(12), cells)
    i = neighbor_list("i", atoms, cutoff, self_interaction=False)
    assert_allclose(counts, np.bincount(i, minlength=12))


@pytest.mark.parametrize("pbc", [(True, True, True), (True, False, True), (False,) * 3])
def test_a_windows_images_and_cells_are_the_whole_sets_part(pbc):
    """A spatial domain's periodic images and cell list (a tilted cell): the whole set's
    points with x in the window, bit for bit, in the whole list's cells and order."""
    rng = np.random.default_rng(8)
    cell = np.array([[30.0, 0.0, 0.0], [1.5, 12.0, 0.0], [0.8, -1.1, 9.0]])
    pbc = np.array(pbc)
    wrapped = wrap_positions(rng.random((3000, 3)) @ cell, cell, pbc)
    cutoff = 4.7
    bounds = image_bounds(wrapped, cell, pbc, cutoff)
    points, index = periodic_images(wrapped, cell, pbc, cutoff)
    assert np.all(points >= bounds[0] - 1e-9) and np.all(points <= bounds[1] + 1e-9)
    whole = CellList.build(points, index, 2.5, bounds)
    low, high = 8.3, 17.1
    inside = (points[:, 0] >= low) & (points[:, 0] <= high)
    mine, owners = periodic_images(wrapped, cell, pbc, cutoff,
                                   ((low, -np.inf, -np.inf), (high, np.inf, np.inf)))
    assert 0 < len(mine) < len(points)
    np.testing.assert_array_equal(mine, points[inside])
    np.testing.assert_array_equal(owners, index[inside])
    part = CellList.build(mine, owners, 2.5, bounds)
    assert part.dims.tolist() == whole.dims.tolist()
    for c in range(len(whole.cell_start) - 1):
        full = slice(whole.cell_start[c], whole.cell_start[c + 1])
        kept = (whole.points[full, 0] >= low) & (whole.points[full, 0] <= high)
        own = slice(part.cell_start[c], part.cell_start[c + 1])
        np.testing.assert_array_equal(part.points[own], whole.points[full][kept])
        np.testing.assert_array_equal(part.index[own], whole.index[full][kept])


@pytest.mark.parametrize("pbc", [(True, True, True), (True, False, True), (False, True, False)])
def test_periodic_images_as_brute_force(pbc):
    """The image kernel against every shift of every atom (numpy, in np.ndindex order of the
    shifts, then the atoms): the same points, bits and order, whole and in a window, on a
    tilted cell thinner than the cutoff (two shells of images)."""
    from itertools import product

    from ase_arise.descriptor.neighbors import cartesian, cell_heights, fractional

    rng = np.random.default_rng(4)
    cell, pbc = np.array([[7.0, 0.0, 0.0], [2.5, 5.0, 0.0], [-1.0, 1.5, 6.0]]), np.array(pbc)
    wrapped = wrap_positions(rng.random((200, 3)) @ cell, cell, pbc)
    cutoff = 6.5
    margin = cutoff / cell_heights(cell)
    reach = np.where(pbc, np.ceil(margin), 0).astype(int)
    frac = fractional(wrapped, cell)
    for lower, upper in ((np.full(3, -np.inf), np.full(3, np.inf)),
                         (np.array([-3.0, -np.inf, 1.0]), np.array([5.0, np.inf, 9.0]))):
        own = np.flatnonzero(np.all((wrapped >= lower) & (wrapped <= upper), axis=1))
        want, owners = [wrapped[own]], [own]
        for shift in product(*(range(-r, r + 1) for r in reach)):
            if any(shift):
                moved = frac + np.array(shift)
                found = cartesian(moved, cell)
                keep = np.all(~pbc | ((moved > -margin) & (moved < 1.0 + margin)), axis=1) & \
                    np.all((found >= lower) & (found <= upper), axis=1)
                want.append(found[keep])
                owners.append(np.flatnonzero(keep))
        points, index = periodic_images(wrapped, cell, pbc, cutoff, (lower, upper))
        assert len(points) > len(own) + 50  # images, on top of the atoms
        np.testing.assert_array_equal(points, np.concatenate(want))
        np.testing.assert_array_equal(index, np.concatenate(owners))


def test_counting_sorts_as_numpy():
    from ase_arise._counting import dense_unique, distinct, stable_order

    rng = np.random.default_rng(0)
    for n, n_keys in ((0, 5), (1, 1), (1000, 7), (50_000, 100_000)):
        keys = rng.integers(0, n_keys, n)
        np.testing.assert_array_equal(stable_order(keys, n_keys),
                                      np.argsort(keys, kind="stable"))
        for got, want in zip(dense_unique(keys, n_keys), np.unique(keys, return_inverse=True)):
            np.testing.assert_array_equal(got, want)
            assert got.dtype == np.int64
        assert np.array_equal(distinct(keys), np.unique(keys))
    for keys in (np.array([5, -2, 5]), np.array([2 ** 20, 3]), np.array([2, 0], np.int32)):
        got = distinct(keys)  # negative or large keys: a sort
        np.testing.assert_array_equal(got, np.unique(keys))
        assert got.dtype == keys.dtype


def test_cell_products_are_per_row_and_unfused():
    """fractional / cartesian: each row's bits depend on that row alone (any subset gives the
    same rows; a BLAS product does not), computed (f0 c0 + f1 c1) + f2 c2 without fused
    multiply-adds, and they invert each other."""
    rng = np.random.default_rng(3)
    cell = np.array([[40.1, 0.3, 0.01], [0.2, 38.7, 0.1], [0.05, 0.4, 41.9]])
    frac = rng.random((5000, 3)) * 3 - 1
    out = cartesian(frac, cell)
    np.testing.assert_array_equal(out, (frac[:, :1] * cell[0] + frac[:, 1:2] * cell[1])
                                  + frac[:, 2:] * cell[2])
    for start, stop in [(0, 1), (7, 19), (4093, 5000)]:
        np.testing.assert_array_equal(cartesian(frac[start:stop], cell), out[start:stop])
    assert_allclose(fractional(out, cell), frac, atol=1e-13)


# --- bad input -----------------------------------------------------------------------------

def test_bad_structures_get_clear_errors():
    with pytest.raises(InputError, match="empty"):
        descriptor(Atoms())
    nan = bulk("Cu", "fcc", a=3.6, cubic=True)
    nan.positions[2, 1] = np.nan
    with pytest.raises(InputError, match=r"NaN or infinite positions .*indices \[2\]"):
        descriptor(nan)
    with pytest.raises(InputError, match="nothing to describe"):
        descriptor(Atoms("Cu", positions=[(0, 0, 0)]))
    with pytest.raises(InputError, match="nothing to describe"):
        descriptor(Atoms("Cu2", positions=[(1, 1, 1), (1, 1, 1)]))
    with pytest.raises(InputError, match="periodic along axis 2"):
        descriptor(Atoms("Cu2", positions=[(0, 0, 0), (2, 0, 0)], cell=[5, 5, 0], pbc=True))
    with pytest.raises(TypeError, match="ase.Atoms"):
        descriptor(np.zeros((4, 3)))


def test_single_atom_in_a_periodic_cell_works():
    assert np.isfinite(descriptor(Atoms("Po", cell=[3.3] * 3, pbc=True))).all()


def test_isolated_atoms_contribute_nothing_and_are_reported():
    cluster = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3)
    cluster.pbc = False
    lonely = cluster + Atoms("Cu", positions=[(100.0, 100.0, 100.0)])
    with pytest.warns(IsolatedAtomsWarning, match=r"1 of 109 atoms .*indices \[108\]"):
        vector = descriptor(lonely)
    assert_allclose(vector, descriptor(cluster), atol=1e-14)
    mixed = cluster + Atoms("Au", positions=[(1.0, 1.0, 1.0)])
    with pytest.warns(IsolatedAtomsWarning, match=r"pairs \[\(79, 79\)\]"):
        assert np.isfinite(descriptor(mixed)).all()


@pytest.mark.parametrize("name, value, error", [
    ("r_cut", -1.0, InputError), ("r_cut", "4", TypeError), ("sigma", 0.0, InputError),
    ("extrinsic_scaling", np.nan, InputError), ("n_max", 2.5, TypeError),
    ("l_max", 13, InputError), ("chunk_size", 0, InputError),
])
def test_bad_parameters(name, value, error):
    with pytest.raises(error, match=f"'{name}' parameter"):
        ARISEDescriptor(**{name: value})


@pytest.mark.parametrize("atoms", [
    Atoms("Po", cell=[3.3] * 3, pbc=True),  # every neighbour is the centre's own image
    bulk("NaCl", "rocksalt", a=5.64) * (1, 2, 1),  # own and other atoms' images
    PROTOTYPES[48].supercells()[0][:40],  # an open cluster of six species
], ids=["one-atom", "NaCl", "six-species-cluster"])
def test_pairs_expanded_once_sum_to_the_full_rows(atoms):
    """A same-species list expands each pair once (odd l dropped, even l doubled, own images at
    half weight): its summed rows equal the full rows' sum; segment sums equal row sums."""
    atoms = atoms.copy()
    atoms.rattle(0.03, seed=1)
    calculator = ARISEDescriptor()
    wrapped = wrap_positions(atoms.positions, atoms.cell, atoms.pbc)
    for z in np.unique(atoms.numbers):
        own = wrapped[atoms.numbers == z]
        unit = calculator.pair_nn_distances(atoms)[z, z]
        if not np.isfinite(unit):
            continue
        cells = calculator.neighbor_cells(own, atoms.cell, atoms.pbc, unit, len(own))
        inv = np.full(len(own), 1.0 / unit)
        full, counts = calculator.basis.center_coefficients(own, inv, cells)
        segments = np.array([0, len(own) // 3, len(own)])
        once, counts_once = calculator.basis.center_coefficients(
            own, inv, cells, self_index=np.arange(len(own)), segments=segments)
        assert once.shape == (2,) + full.shape[1:]
        assert_allclose(once.sum(axis=0), full.sum(axis=0), rtol=0, atol=1e-12 * abs(full).max())
        assert_array_equal(counts_once, counts)
        segment_sums = calculator.basis.center_coefficients(own, inv, cells, segments=segments)[0]
        assert_allclose(segment_sums[0], full[:len(own) // 3].sum(axis=0), atol=1e-12)


def test_batched_structures_equal_one_at_a_time():
    """Structures of many sizes share kernel calls, their pairs split across calls."""
    structures = [bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3), Atoms("Po", cell=[3.3] * 3,
                  pbc=True), PROTOTYPES[48].supercells()[0], bulk("NaCl", "rocksalt", a=5.64)]
    cluster = structures[0].copy()
    cluster.pbc = False
    structures.append(cluster)
    one_by_one = np.array([ARISEDescriptor().create(s) for s in structures])
    for chunk_size in (8192, 5):
        X, shells = ARISEDescriptor(chunk_size=chunk_size).describe_many(structures)
        assert_allclose(X, one_by_one, rtol=0, atol=1e-13)
        assert_allclose(shells, [ARISEDescriptor().describe(s)[1] for s in structures])


def test_errors_in_a_list_name_the_structure():
    good = bulk("Cu", "fcc", a=3.6)
    with pytest.raises(InputError, match="Structure 1: No atom"):
        ARISEDescriptor().create([good, Atoms("Cu", positions=[(0, 0, 0)])])
    cluster = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3)
    cluster.pbc = False
    lonely = cluster + Atoms("Cu", positions=[(100.0, 100.0, 100.0)])
    with pytest.warns(IsolatedAtomsWarning, match="Structure 2: 1 of 109 atoms") as record:
        ARISEDescriptor().create([good, good, lonely])
    assert record[0].filename == __file__  # attributed to the caller


def test_undescribable_structures_can_be_nan_rows():
    """SPM's exact mode: a box with nothing to describe is a NaN row, the others unchanged."""
    good = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    good.pbc = False
    nothing = Atoms("Cu2", positions=[(1, 1, 1), (1, 1, 1)])
    X, shells = describe_structures(ARISEDescriptor(), [good, nothing, good],
                                    undescribable="nan")
    assert np.isnan(X[1]).all() and np.isnan(shells[1])
    np.testing.assert_array_equal(X[0], ARISEDescriptor().create(good))
    np.testing.assert_array_equal(X[2], X[0])


def test_graphene_ribbon_and_small_chunks():
    """A non-periodic 2D ribbon works, and chunking does not change the result."""
    ribbon = graphene_nanoribbon(4, 6, type="armchair", saturated=False)
    ribbon.pbc = False
    assert_allclose(ARISEDescriptor(chunk_size=7).create(ribbon), descriptor(ribbon), atol=1e-14)


def test_local_dnn_members_by_distance_then_atom_index_as_brute_force():
    """The members' rule (local_dnn): the k smallest (exact squared distance, atom index)
    within reach, whatever the search; a pristine lattice ties whole shells at the k-th."""
    from ase_arise.descriptor.local_dnn import local_members

    rng = np.random.default_rng(4)
    lattice = np.stack(np.meshgrid(*[np.arange(9.0)] * 3, indexing="ij"), -1).reshape(-1, 3)
    for points, reach in ((lattice, 3.0), (rng.uniform(0, 12, (3000, 3)), 2.5),
                          (lattice[::7], 1.2)):  # sparse: fewer than k within reach
        owners = rng.permutation(len(points)) + 11
        queries = points[rng.choice(len(points), min(300, len(points)), replace=False)]
        got = local_members(points, owners, queries, 16, reach)
        for q, row in zip(queries, got):
            d = points - q
            s = (d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]) + d[:, 2] * d[:, 2]
            keep = s <= reach * reach
            want = owners[keep][np.lexsort((owners[keep], s[keep]))][:16]
            np.testing.assert_array_equal(row[:len(want)], want)
            assert (row[len(want):] == -1).all()
