"""Samples with known ground truth: periodic Voronoi polycrystals, an L1_2 precipitate, and the
paper's four-grain polycrystal.

Used by the tests, the examples and the benchmarks; each built atom carries its truth in
``atoms.arrays``: "grain" (index into ``info["grains"]``) or "precipitate" (1 inside the L1_2
cube).
"""

from pathlib import Path

import ase.io
import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.data import atomic_numbers
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from ._random import check_random_state
from ._validation import check_scalar
from .errors import InputError
from .limits import check_work

FOUR_GRAINS_FILE = "four_grains_polycrystal.xyz"

# Grain structures of :func:`polycrystal`: (ase.build.bulk crystal, lattice constants in Å),
# single-element lattices with the nearest-neighbour distances of typical metals and carbon.
GRAIN_STRUCTURES = {
    "fcc": ("fcc", {"a": 3.61}),
    "bcc": ("bcc", {"a": 2.87}),
    "hcp": ("hcp", {"a": 2.51, "c": 4.07}),
    "diamond": ("diamond", {"a": 3.57}),
}


def cell_length(n_atoms, grains=("fcc", "bcc", "hcp", "diamond")):
    """Edge (Å) of the cubic :func:`polycrystal` cell holding about ``n_atoms`` atoms in
    equal-volume grains of ``grains``."""
    volumes = [abs(np.linalg.det(bulk("Fe", c, orthorhombic=True, **k).cell)) /
               len(bulk("Fe", c, orthorhombic=True, **k))
               for c, k in (GRAIN_STRUCTURES[g] for g in grains)]
    return float((n_atoms * np.mean(volumes)) ** (1 / 3))


def polycrystal(length=40.0, grains=("fcc", "bcc", "hcp", "diamond"), *, symbol="Fe",
                min_distance=0.7, c_over_a=None, random_state=0):
    """A periodic cubic polycrystal of Voronoi grains in random orientations.

    Parameters
    ----------
    length : float, default=40.0
        Edge of the cubic periodic cell (Å).
    grains : sequence of str, default=("fcc", "bcc", "hcp", "diamond")
        Structure of each grain (keys of ``GRAIN_STRUCTURES``); one grain per entry.
    symbol : str, default="Fe"
        Element of every atom (the grains differ in structure only).
    min_distance : float, default=0.7
        Of two atoms closer than this fraction of the smallest nearest-neighbour distance of
        the grain structures (where grains meet), one is removed.
    c_over_a : float, optional
        c / a of the hcp grains (a = 2.51 Å); None: 1.62 (c = 4.07 Å). Ideal packing is 1.633.
    random_state : None, int or numpy.random.Generator, default=0
        Grain centres and orientations.

    Returns
    -------
    ase.Atoms
        Periodic; ``arrays["grain"]`` holds each atom's grain index (int) and
        ``info["grains"]`` the grain structures in that order.
    """
    length = check_scalar(length, "length", low=0.0, unit=" (Å)")
    if c_over_a is not None:
        c_over_a = check_scalar(c_over_a, "c_over_a", low=0.0)
    grains = tuple(grains)
    unknown = [g for g in grains if g not in GRAIN_STRUCTURES]
    if not grains or unknown:
        raise InputError(f"Unknown grain structures {unknown}: choose from "
                         f"{sorted(GRAIN_STRUCTURES)}.")
    check_work("max_points", 0.1 * length ** 3, f"Atoms of a {length:g} Å polycrystal",
               "Build a smaller cell")
    rng = check_random_state(random_state)
    cell = np.eye(3) * length
    seeds = rng.random((len(grains), 3)) * length
    # seeds and their 26 periodic images: the nearest one decides an atom's grain
    shifts = np.array(np.meshgrid(*[[-1, 0, 1]] * 3, indexing="ij")).reshape(3, -1).T * length
    seed_images = (seeds[:, None, :] + shifts[None]).reshape(-1, 3)
    owner = cKDTree(seed_images)
    zero_shift = int(np.flatnonzero(~shifts.any(axis=1))[0])
    radii = _grain_radii(owner, len(grains), len(shifts), length)
    positions, grain_of = [], []
    for g, structure in enumerate(grains):
        crystal, constants = GRAIN_STRUCTURES[structure]
        if structure == "hcp" and c_over_a is not None:
            constants = dict(constants, c=constants["a"] * c_over_a)
        unit = bulk(symbol, crystal, orthorhombic=True, **constants)
        reps = np.ceil(2 * radii[g] / unit.cell.lengths()).astype(int) + 1
        translations = np.stack(np.meshgrid(*[np.arange(n) for n in reps], indexing="ij"),
                                axis=-1).reshape(-1, 3) @ unit.cell.array
        points = (translations[:, None, :] + unit.positions[None]).reshape(-1, 3)
        points -= (reps @ unit.cell.array) / 2
        points = points[np.linalg.norm(points, axis=1) <= radii[g]]
        points = Rotation.random(random_state=rng).apply(points) + seeds[g]
        # the lattice points in this seed's own Voronoi cell (not an image's), then wrapped
        _, nearest = owner.query(points)
        mine = np.mod(points[nearest == g * len(shifts) + zero_shift], length)
        positions.append(mine)
        grain_of.append(np.full(len(mine), g))
    positions = np.concatenate(positions)
    grain_of = np.concatenate(grain_of)
    d_min = min(_nn_distance(*GRAIN_STRUCTURES[s]) for s in grains)
    keep = _drop_close_pairs(positions, length, min_distance * d_min)
    atoms = Atoms(numbers=np.full(int(keep.sum()), atomic_numbers[symbol]),
                  positions=positions[keep], cell=cell, pbc=True)
    atoms.arrays["grain"] = grain_of[keep].astype(np.int64)
    atoms.info["grains"] = list(grains)
    return atoms


def _grain_radii(owner, n_grains, n_images, length, grid=24):
    """Radius (Å) around each seed that holds its whole Voronoi cell, from a coarse grid.

    A grid point owned by an image of seed g lies, shifted back, in g's cell at the distance
    from that image."""
    ticks = (np.arange(grid) + 0.5) * length / grid
    points = np.stack(np.meshgrid(ticks, ticks, ticks, indexing="ij"), axis=-1).reshape(-1, 3)
    distance, nearest = owner.query(points)
    margin = np.sqrt(3) * length / grid
    return [distance[nearest // n_images == g].max(initial=0.0) + margin
            for g in range(n_grains)]


def _nn_distance(crystal, constants):
    """Nearest-neighbour distance (Å) of a grain structure."""
    distances = bulk("Fe", crystal, orthorhombic=True, **constants).repeat(2).get_all_distances(
        mic=True)
    return float(distances[distances > 1e-6].min())


def _drop_close_pairs(positions, length, cutoff):
    """Keep-mask removing, of every pair closer than ``cutoff`` (Å), the later atom.

    Such pairs only occur where grains meet, including a grain and its own periodic image."""
    tree = cKDTree(positions, boxsize=length)
    keep = np.ones(len(positions), dtype=bool)
    for i, j in sorted(tree.query_pairs(cutoff)):
        if keep[i] and keep[j]:
            keep[j] = False
    return keep


def l12_precipitate(length=40.0, *, fraction=1 / 3, a=3.56, random_state=0):
    """The paper's superalloy model: an ordered L1_2 Ni3Al cube in a random fcc Ni3Al matrix.

    Parameters
    ----------
    length : float, default=40.0
        Approximate edge of the cubic periodic cell (Å); rounded to whole unit cells.
    fraction : float, default=1/3
        Edge of the precipitate cube as a fraction of the cell edge, rounded to whole unit
        cells (centred in the cell).
    a : float, default=3.56
        Lattice constant (Å), that of Ni3Al.
    random_state : None, int or numpy.random.Generator, default=0
        Placement of Ni and Al on the matrix sites (3:1).

    Returns
    -------
    ase.Atoms
        Periodic fcc lattice; ``arrays["precipitate"]`` is 1 for the atoms of the L1_2 cube.
    """
    length = check_scalar(length, "length", low=0.0, unit=" (Å)")
    fraction = check_scalar(fraction, "fraction", low=0.0, high=1.0)
    check_work("max_points", 4 * (length / a) ** 3, f"Atoms of a {length:g} Å precipitate cell",
               "Build a smaller cell")
    rng = check_random_state(random_state)
    n = max(1, int(round(length / a)))
    ordered = bulk("Ni", "fcc", a=a, cubic=True)
    ordered.numbers[0] = 13  # Al on the cube corners, Ni on the face centres: L1_2
    atoms = ordered.repeat(n)
    # whole unit cells, centred: the precipitate keeps the Ni3Al composition
    n_inside = max(1, int(round(fraction * n)))
    first = (n - n_inside) // 2
    unit_cell = np.floor(atoms.positions / a + 1e-6).astype(int)
    inside = np.all((unit_cell >= first) & (unit_cell < first + n_inside), axis=1)
    matrix = np.flatnonzero(~inside)
    numbers_ = np.full(len(matrix), 28)
    numbers_[rng.permutation(len(matrix))[:len(matrix) // 4]] = 13
    atoms.numbers[matrix] = numbers_
    atoms.arrays["precipitate"] = inside.astype(np.int64)
    return atoms


def four_grains_path():
    """Path of the paper's four-grain polycrystal (Fig. 2a; Leitherer et al. 2021, CC BY 4.0).

    Installed with the package (``ase_arise/samples``, from the repository's
    ``examples/data``); in a source checkout, that folder itself.
    """
    package = Path(__file__).resolve().parent
    for folder in (package / "samples", package.parent / "examples" / "data"):
        if (folder / FOUR_GRAINS_FILE).is_file():
            return folder / FOUR_GRAINS_FILE
    raise FileNotFoundError(f"The bundled sample {FOUR_GRAINS_FILE} was not found in "
                            f"{package / 'samples'}: reinstall arise-crystal-recognition.")


def four_grains():
    """The paper's four-grain polycrystal: 9,087 atoms of one species in fcc, bcc, hcp and
    diamond grains, a 15 Å slab, non-periodic (positions in Å).

    Returns
    -------
    ase.Atoms
    """
    return ase.io.read(four_grains_path(), format="xyz")

