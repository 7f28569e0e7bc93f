"""device="cuda" against the CPU path, on a real GPU (skipped where none can be used: CI).

Tolerances of issue 18: coefficients and descriptors within 1e-10 (relative to their scale);
per box the same argmax wherever the CPU's top-two margin is >= 0.01, MI within 1e-3 bit for
>= 99.9 % of boxes; per atom the same label for >= 99.9 % of atoms; GPU runs bit-identical run
to run. Logs of a GPU run go to docs/results/.
"""

import numpy as np
import pytest
from ase.build import bulk

from ase_arise import classify, label, load_prototypes, spm
from ase_arise.build import polycrystal
from ase_arise.descriptor import ARISEDescriptor, cuda, cuda_search
from ase_arise.descriptor.dnn import nearest_distances, sample_spacing
from ase_arise.descriptor.local_dnn import local_length_units
from ase_arise.descriptor.neighbors import CellList, wrap_positions
from ase_arise.device import cuda_module
from ase_arise.errors import InputError
from ase_arise.labels import nearest_boxes
from scipy.spatial import cKDTree

try:
    cuda_module("cuda:0")
except InputError as reason:
    pytest.skip(f"no usable GPU: {reason}", allow_module_level=True)


def _relative(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def test_per_atom_coefficients_equal_the_cpu_kernel():
    atoms = polycrystal(40.0, random_state=1)
    atoms.rattle(0.05, seed=2)
    species, units = local_length_units(atoms)
    cpu = ARISEDescriptor().atomic_coefficients(atoms, length_unit=units)
    gpu = ARISEDescriptor(device="cuda").atomic_coefficients(atoms, length_unit=units)
    assert _relative(gpu.coefficients, cpu.coefficients) < 1e-10
    np.testing.assert_array_equal(gpu.n_neighbors, cpu.n_neighbors)
    again = ARISEDescriptor(device="cuda").atomic_coefficients(atoms, length_unit=units)
    np.testing.assert_array_equal(again.coefficients, gpu.coefficients)  # deterministic


@pytest.mark.parametrize("atoms", [bulk("Po", "sc", a=3.3), bulk("NaCl", "rocksalt", a=5.64)
                                   * (3, 2, 2)], ids=["one-atom", "NaCl"])
def test_pairs_expanded_once_and_segment_sums(atoms):
    atoms = atoms.copy()
    atoms.rattle(0.03, seed=1)
    cpu, gpu = ARISEDescriptor(), ARISEDescriptor(device="cuda")
    wrapped = wrap_positions(atoms.positions, atoms.cell, atoms.pbc)
    own = wrapped[atoms.numbers == atoms.numbers[0]]
    unit = cpu.pair_nn_distances(atoms)[(atoms.numbers[0],) * 2]
    cells = cpu.neighbor_cells(own, atoms.cell, atoms.pbc, unit, len(own))
    inv, segments = np.full(len(own), 1.0 / unit), np.array([0, len(own)])
    options = dict(self_index=np.arange(len(own)), segments=segments)
    a = cpu.center_coefficients(own, inv, cells, **options)[0]
    b = gpu.center_coefficients(own, inv, cells, **options)[0]
    assert _relative(b, a) < 1e-10
    # many segments, launches of 5 centres: each segment whole in one launch
    segments = np.unique(np.r_[0:len(own):3, len(own)])
    a = cpu.center_coefficients(own, inv, cells, segments=segments)[0]
    cupy, card = cuda_module("cuda:0")
    with card:
        b = cuda.center_coefficients(gpu.basis, cupy, own, inv, cells, segments=segments,
                                     chunk=5)[0]
    assert a.shape == b.shape and _relative(b, a) < 1e-10


def test_classify_the_108_prototypes_as_the_cpu():
    structures = [p.supercells()[0] for p in load_prototypes()]
    for s in structures[::3]:
        s.pbc = False
    cpu = classify(structures, random_state=0)
    gpu = classify(structures, random_state=0, device="cuda")
    assert [r.class_id for r in gpu] == [r.class_id for r in cpu]
    mi = np.array([[r.mutual_information for r in run] for run in (cpu, gpu)])
    assert np.abs(mi[0] - mi[1]).max() < 1e-3
    p = np.array([[r.probabilities for r in run] for run in (cpu, gpu)])
    assert np.abs(p[0] - p[1]).max() < 1e-4
    again = classify(structures, random_state=0, device="cuda")
    assert all(np.array_equal(x.probabilities, y.probabilities) for x, y in zip(gpu, again))


def _box_agreement(cpu, gpu):
    """(share of confident boxes with the same argmax, share of boxes with MI within 1e-3)."""
    valid = cpu.valid & gpu.valid
    top2 = np.sort(cpu.probabilities[valid], axis=1)[:, -2:]
    confident = top2[:, 1] - top2[:, 0] >= 0.01
    same = cpu.probabilities[valid].argmax(1) == gpu.probabilities[valid].argmax(1)
    mi = np.abs(cpu.mutual_information[valid] - gpu.mutual_information[valid]) <= 1e-3
    return same[confident].mean(), mi.mean(), int((~confident).sum())


def test_nearest_points_on_the_card_equal_scipys_k_d_tree():
    rng = np.random.default_rng(5)
    points, queries = rng.uniform(0, 30, (20000, 3)), rng.uniform(-2, 32, (3000, 3))
    cupy, card = cuda_module("cuda:0")
    for k, reach in ((16, 3.0), (2, 1.0), (1, 50.0)):
        want_d, want_i = cKDTree(points).query(queries, k=k, distance_upper_bound=reach)
        with card:
            d, i = cuda_search.nearest_points(cupy, points, queries, k, reach)
        want_d, want_i = want_d.reshape(len(queries), k), want_i.reshape(len(queries), k)
        np.testing.assert_array_equal(np.isinf(d), np.isinf(want_d))
        found = np.isfinite(want_d)
        assert found.any() and _relative(d[found], want_d[found]) < 1e-14
        np.testing.assert_array_equal(i, want_i)  # random points: no ties


def _dilute():
    """An open Cu cluster with 6 Au atoms: each Au atom has 6 members (an even median over
    fewer than 16, the host's nanmedian)."""
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True) * (4, 4, 4)
    atoms.numbers[np.random.default_rng(0).choice(len(atoms), 6, replace=False)] = 79
    return atoms


@pytest.mark.filterwarnings("ignore::ase_arise.errors.OverlappingAtomsWarning")
@pytest.mark.parametrize("atoms", [polycrystal(40.0, random_state=3),
                                   bulk("NaCl", "rocksalt", a=5.64, cubic=True) * (5, 5, 5),
                                   bulk("Cu", "fcc", a=3.6, cubic=True) * (4, 4, 4),
                                   _dilute()],
                         ids=["polycrystal", "NaCl", "open-Cu", "open-dilute"])
def test_local_length_units_and_sample_spacing_on_the_card(atoms):
    atoms = atoms.copy()
    atoms.rattle(0.05, seed=6)
    if len(atoms) == 256:
        atoms.pbc = False  # an open cluster: the card widens its reach
    _, cpu = local_length_units(atoms)
    _, gpu = local_length_units(atoms, device="cuda")
    np.testing.assert_array_equal(gpu, cpu)  # the members' rule: no search-dependent ties
    wrapped = wrap_positions(atoms.positions, atoms.cell, atoms.pbc)
    args = (wrapped, atoms.numbers, atoms.cell.array, atoms.pbc)
    assert sample_spacing(*args, "cuda:0") == pytest.approx(sample_spacing(*args), rel=1e-12)
    if not atoms.pbc.any():
        far = np.vstack([wrapped, wrapped[:1] + 500.0])  # one atom 870 Å from the rest
        distances = [nearest_distances(far, far, atoms.cell.array, atoms.pbc, device)
                     for device in ("cpu", "cuda:0")]
        assert distances[0][-1] > 800.0
        np.testing.assert_allclose(distances[1], distances[0], rtol=1e-12)


@pytest.mark.parametrize("atoms", [polycrystal(40.0, random_state=3),
                                   bulk("NaCl", "rocksalt", a=5.64, cubic=True) * (6, 6, 6)],
                         ids=["polycrystal", "NaCl"])
def test_fast_box_descriptors_on_the_card_equal_the_cpu(atoms):
    """Fast mode's rows stay on the card: box sums and spectra there, within 1e-10."""
    atoms = atoms.copy()
    atoms.rattle(0.05, seed=4)
    settings = dict(box=12.0, stride=4.0, mode="fast", keep_descriptors=True, random_state=0)
    cpu, gpu = spm(atoms, **settings), spm(atoms, device="cuda", **settings)
    np.testing.assert_array_equal(gpu.n_atoms, cpu.n_atoms)
    np.testing.assert_array_equal(np.isnan(gpu.descriptors), np.isnan(cpu.descriptors))
    ok = np.isfinite(cpu.descriptors).all(axis=1)
    assert ok.any() and _relative(gpu.descriptors[ok], cpu.descriptors[ok]) < 1e-10
    again = spm(atoms, device="cuda", **settings)
    np.testing.assert_array_equal(again.descriptors, gpu.descriptors)  # deterministic


@pytest.mark.parametrize("mode", ["fast", "exact"])
def test_spm_of_a_polycrystal_as_the_cpu(mode):
    atoms = polycrystal(40.0, random_state=0)
    settings = dict(box=12.0, stride=4.0, mode=mode, random_state=0)
    cpu, gpu = spm(atoms, **settings), spm(atoms, device="cuda", **settings)
    np.testing.assert_array_equal(gpu.valid, cpu.valid)
    same, mi, uncertain = _box_agreement(cpu, gpu)
    print(f"{mode}: argmax {same:.4f} of confident boxes, MI {mi:.4f}, {uncertain} not "
          "confident")
    assert same == 1.0 and mi >= 0.999
    ok = cpu.valid & gpu.valid  # the "Other" score, on the card from descriptors kept there
    np.testing.assert_allclose(gpu.anisotropy[ok], cpu.anisotropy[ok], rtol=1e-9, atol=1e-12)


def test_network_takes_descriptors_on_the_card():
    """predict of rows already on the card (CuPy, not copied to the host) gives the result
    of the same rows from the host, bit for bit, and bad rows there the same InputError."""
    from ase_arise import load_model

    cupy, card = cuda_module("cuda:0")
    net = load_model()
    rows = spm(polycrystal(30.0, random_state=1), box=12.0, stride=4.0,
               keep_descriptors=True).descriptors
    rows = rows[np.isfinite(rows).all(axis=1)]
    with card:
        on_card = cupy.asarray(rows)
    host = net.predict(rows, random_state=0, tolerance=0.01, device="cuda")
    card_rows = net.predict(on_card, random_state=0, tolerance=0.01, device="cuda")
    np.testing.assert_array_equal(card_rows.probabilities, host.probabilities)
    np.testing.assert_array_equal(card_rows.passes, host.passes)
    on_cpu = net.predict(on_card[:50], random_state=0, tolerance=0.01)  # fetched first
    np.testing.assert_array_equal(on_cpu.probabilities,
                                  net.predict(rows[:50], random_state=0,
                                              tolerance=0.01).probabilities)
    with card:
        on_card[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN or infinite"):
        net.predict(on_card, device="cuda")


@pytest.mark.filterwarnings("ignore::ase_arise.errors.IsolatedAtomsWarning")  # the slab's rim
def test_four_grain_labels_as_the_cpu(four_grains):
    cpu = label(four_grains.copy(), random_state=0)
    gpu = label(four_grains.copy(), random_state=0, device="cuda")
    agree = float(np.mean(cpu.class_id == gpu.class_id))
    print(f"four grains: {agree:.5f} of atoms with the same label")
    assert agree >= 0.999


@pytest.mark.parametrize("atoms", [polycrystal(40.0, random_state=3),
                                   bulk("Fe", "bcc", a=2.87, cubic=True) * (8, 8, 8)],
                         ids=["polycrystal", "bcc"])
def test_pristine_local_length_units_on_the_card_bit_for_bit(atoms):
    """Unrattled crystals: the 16th member ties with a whole shell, broken by atom index on
    both devices."""
    np.testing.assert_array_equal(local_length_units(atoms, device="cuda")[1],
                                  local_length_units(atoms)[1])


def test_gpu_workers_one_per_card(tmp_path, capsys):
    """arise label --device cuda --workers 1: a Dask worker on the card writes the file of
    one process on it."""
    pytest.importorskip("distributed")
    from ase.io import write

    from conftest import run_cli

    from ase_arise.cli import main

    path = tmp_path / "traj.extxyz"
    write(path, [polycrystal(20.0, random_state=seed) for seed in range(2)])
    for name, extra in (("alone.xyz", []), ("worker.xyz", ["--workers", "1"])):
        assert run_cli(main, ["label", path, "-o", tmp_path / name, "--box", "12",
                              "--device", "cuda", "--no-progress"] + extra, capsys)[0] == 0
    assert (tmp_path / "worker.xyz").read_text() == (tmp_path / "alone.xyz").read_text()


@pytest.mark.parametrize("bounds", [None, (np.array([-7.0, -5.5, -6.0]),
                                            np.array([41.0, 40.0, 43.5]), 33000.0)],
                         ids=["own extent", "image bounds"])
def test_cell_lists_sorted_on_the_card_equal_the_hosts(bounds):
    points = np.random.default_rng(7).uniform(-5.0, 40.0, (30000, 3))
    index = np.arange(len(points)) + 3
    host = CellList.build(points, index, 2.5, bounds)
    cupy, card = cuda_module("cuda:0")
    with card:
        got = cuda_search.card_cells(cupy, points, index, 2.5, bounds)
        for name in ("points", "index", "cell_start"):
            np.testing.assert_array_equal(getattr(got, name).get(), getattr(host, name))
    for name in ("origin", "step", "dims"):
        np.testing.assert_array_equal(getattr(got, name), getattr(host, name))


def test_neighbour_cells_sorted_on_the_card_give_the_hosts_coefficients():
    """Fast mode's neighbour cells sorted on the card (on_card=True) feed the coefficient
    kernel as the host's cells do: the same rows bit for bit, the same neighbour counts."""
    atoms = polycrystal(30.0, random_state=4)
    atoms.rattle(0.05, seed=1)
    calculator = ARISEDescriptor(device="cuda")
    wrapped = wrap_positions(atoms.positions, atoms.cell, atoms.pbc)
    args = (wrapped, atoms.cell.array, atoms.pbc, 1.3, len(wrapped))
    host, on_card = (calculator.neighbor_cells(*args, on_card=flag) for flag in (False, True))
    assert isinstance(on_card, cuda_search.CardCells)
    units = np.full(len(wrapped), 1.3)
    rows = [calculator.center_coefficients(wrapped, 1.0 / units, cells)
            for cells in (host, on_card)]
    np.testing.assert_array_equal(rows[0][0], rows[1][0])
    np.testing.assert_array_equal(rows[0][1], rows[1][1])


@pytest.mark.parametrize("pbc", [True, False], ids=["periodic", "open"])
def test_per_atom_rule_on_the_card_as_the_cpu(pbc):
    """Open: the rim's atoms have fewer than 27 centres near them (the card's second,
    whole-reach search)."""
    atoms = polycrystal(40.0, random_state=2)
    atoms.rattle(0.05, seed=3)  # no atom equidistant from two box centres
    atoms.pbc = pbc
    result = spm(atoms, box=12.0, stride=4.0, random_state=0)
    cpu = nearest_boxes(atoms, result)
    gpu = nearest_boxes(atoms, result, device="cuda")
    print(f"per-atom rule: {np.mean(gpu == cpu):.5f} of atoms with the CPU's box")
    assert (cpu >= 0).mean() > 0.9 and np.mean(gpu == cpu) >= 0.999
