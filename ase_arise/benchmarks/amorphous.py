"""Samples with no crystal structure, and thermal crystals, for the "Other" decision (issue 16).

- :func:`emt_liquid`: an EMT metal, 8 % expanded, melted from fcc at 3 T_m, then held at
  ``temperature``.
- :func:`emt_glass`: such a liquid quenched to 300 K in 0.3 ps (~10^16 K/s, far too fast to
  crystallise).
- :func:`emt_crystal`: fcc equilibrated at ``temperature`` (thermal vibrations only).
- :func:`kob_andersen_glass`: the Kob-Andersen binary Lennard-Jones glass (A80B20; W. Kob and
  H. C. Andersen, Phys. Rev. E 51, 4626 (1995)): eps_AB = 1.5, eps_BB = 0.5, sigma_AB = 0.8,
  sigma_BB = 0.88 (units of the A-A pair), number density 1.2 sigma^-3, quenched from T* = 2.0
  to T* = 0.3 (below its glass transition, T* ~ 0.43). A = Ni, B = P (the Ni80P20 glass the
  model was built for), sigma_AA = 2.2 Angstrom.
- :func:`ideal_gas`: uniform random positions at a metal's density.

Melting points are the elements' experimental ones (K); EMT's own differ, which is why every
sample is checked with PTM in :mod:`ovito_arise.benchmarks.amorphous`. Samples are cached as
extended XYZ under ``cache`` (``~/.cache/arise``) by their recipe, so reruns skip the MD.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT
from ase.io import read, write
from ase.md.langevin import Langevin
from scipy.spatial import cKDTree

try:  # ASE >= 3.29
    from ase.md.velocitydistribution import thermalize_momenta
except ImportError:  # older ASE: the same function under its old name
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta

# Experimental melting points (K) and fcc lattice constants (Angstrom) of EMT's fcc metals.
METALS = {"Al": (933.5, 4.05), "Ni": (1728.0, 3.52), "Cu": (1357.8, 3.61),
          "Pd": (1828.0, 3.89), "Ag": (1234.9, 4.09), "Pt": (2041.4, 3.92),
          "Au": (1337.3, 4.08)}
STEP = 5 * units.fs
# Volume of a liquid over its crystal's (metals expand by ~3-6 % on melting; a little more
# keeps EMT's Ni and Pt liquid in 1 ps at constant volume).
LIQUID_EXPANSION = 1.08


def _pairs(atoms, cutoff):
    """Both orderings (i, j), distances and vectors j - i (minimum image) of the pairs closer
    than ``cutoff`` in a periodic cube."""
    length = atoms.cell[0, 0]
    positions = atoms.positions % length
    pairs = cKDTree(positions, boxsize=length).query_pairs(cutoff, output_type="ndarray")
    i, j = np.r_[pairs[:, 0], pairs[:, 1]], np.r_[pairs[:, 1], pairs[:, 0]]
    D = positions[j] - positions[i]
    D -= length * np.round(D / length)
    return i, j, np.linalg.norm(D, axis=1), D


def _default_cache():
    return Path(os.environ.get("ARISE_CACHE", Path.home() / ".cache" / "arise")) / "samples"


def _md(atoms, temperature, steps, rng, friction=0.02):
    Langevin(atoms, STEP, temperature_K=temperature, friction=friction, fixcm=False,
             rng=rng).run(steps)


def _emt_fcc(symbol, repeat, expansion=1.0):
    atoms = bulk(symbol, "fcc", a=expansion * METALS[symbol][1], cubic=True).repeat(repeat)
    atoms.calc = EMT()
    return atoms


def _plain(atoms):
    return Atoms(atoms.numbers, positions=atoms.get_positions(), cell=atoms.cell, pbc=atoms.pbc)


def _snapshots(atoms, temperature, snapshots, every, rng):
    """``snapshots`` copies of ``atoms``, ``every`` MD steps apart at ``temperature`` (K)."""
    out = [_plain(atoms)]
    for _ in range(snapshots - 1):
        _md(atoms, temperature, every, rng)
        out.append(_plain(atoms))
    return out


def emt_liquid(symbol, temperature, *, repeat=5, steps=300, snapshots=1, every=100,
               random_state=0):
    """EMT liquid ``symbol`` at ``temperature`` (K): fcc (4 repeat^3 atoms) expanded by
    ``LIQUID_EXPANSION`` in volume (a liquid at the crystal's density is under a pressure that
    lifts its melting point above 2 T_m), melted at 3 T_m for ``steps`` steps of 5 fs, held at
    ``temperature`` for ``steps`` more, then ``snapshots`` structures ``every`` steps apart
    (list of Atoms)."""
    rng = np.random.default_rng(random_state)
    atoms = _emt_fcc(symbol, repeat, LIQUID_EXPANSION ** (1 / 3))
    melt = 3.0 * METALS[symbol][0]
    thermalize_momenta(atoms, temperature_K=2 * melt, rng=rng)  # equipartition
    _md(atoms, melt, steps, rng, friction=0.05)
    _md(atoms, temperature, steps, rng, friction=0.05)
    return _snapshots(atoms, temperature, snapshots, every, rng)


def emt_glass(liquid, *, steps=60, random_state=0):
    """An EMT liquid structure quenched to 300 K in ``steps`` steps of 5 fs (strong friction)."""
    atoms = liquid.copy()
    atoms.calc = EMT()
    rng = np.random.default_rng(random_state)
    thermalize_momenta(atoms, temperature_K=300, rng=rng)
    _md(atoms, 300, steps, rng, friction=0.5)
    return _plain(atoms)


def emt_crystal(symbol, temperature, *, repeat=5, steps=200, snapshots=1, every=100,
                random_state=0):
    """EMT fcc ``symbol`` equilibrated at ``temperature`` (K) for ``steps`` steps of 5 fs, then
    ``snapshots`` structures ``every`` steps apart (the crystal does not melt: no free surface
    nucleates it in this time)."""
    rng = np.random.default_rng(random_state)
    atoms = _emt_fcc(symbol, repeat)
    thermalize_momenta(atoms, temperature_K=2 * temperature, rng=rng)  # equipartition
    _md(atoms, temperature, steps, rng)
    return _snapshots(atoms, temperature, snapshots, every, rng)


class KobAndersen(Calculator):
    """Kob-Andersen binary Lennard-Jones (type A: the first species, B: the other), truncated
    and shifted at 2.5 sigma of each pair; ``epsilon`` (eV) and ``sigma`` (Angstrom) of A-A."""

    implemented_properties = ["energy", "forces"]
    EPS = {(0, 0): 1.0, (0, 1): 1.5, (1, 1): 0.5}
    SIG = {(0, 0): 1.0, (0, 1): 0.8, (1, 1): 0.88}

    def __init__(self, *, epsilon=0.01, sigma=2.2, a_number=28):
        super().__init__()
        self.epsilon, self.sigma, self.a_number = epsilon, sigma, a_number

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        kind = (self.atoms.numbers != self.a_number).astype(int)
        i, j, d, D = _pairs(self.atoms, 2.5 * self.sigma)
        pair = kind[i] + kind[j]  # 0 AA, 1 AB, 2 BB
        eps = np.array([self.EPS[0, 0], self.EPS[0, 1], self.EPS[1, 1]])[pair] * self.epsilon
        sig = np.array([self.SIG[0, 0], self.SIG[0, 1], self.SIG[1, 1]])[pair] * self.sigma
        keep = d < 2.5 * sig
        i, d, D, eps, sig = i[keep], d[keep], D[keep], eps[keep], sig[keep]
        s6 = (sig / d) ** 6
        shift = 4 * eps * (2.5 ** -12 - 2.5 ** -6)
        self.results["energy"] = float(0.5 * np.sum(4 * eps * (s6 * s6 - s6) - shift))
        magnitude = 24 * eps * (2 * s6 * s6 - s6) / d ** 2  # -dU/dr / r
        forces = np.zeros((len(self.atoms), 3))
        np.add.at(forces, i, -magnitude[:, None] * D)
        self.results["forces"] = forces


def kob_andersen_glass(*, repeat=5, steps=400, random_state=0, sigma=2.2, epsilon=0.01):
    """A Kob-Andersen glass of 4 repeat^3 atoms (80 % Ni, 20 % P at random sites of an fcc
    lattice at number density 1.2 sigma^-3), melted for ``steps`` MD steps at T* = 2.0, then
    quenched for ``steps`` more at T* = 0.3 (5 fs steps, mass 40 u)."""
    rng = np.random.default_rng(random_state)
    atoms = bulk("Ni", "fcc", a=(4 / 1.2) ** (1 / 3) * sigma, cubic=True).repeat(repeat)
    n_atoms = len(atoms)
    numbers = atoms.numbers.copy()
    numbers[rng.permutation(n_atoms)[: n_atoms // 5]] = 15
    atoms.numbers = numbers
    atoms.set_masses(np.full(n_atoms, 40.0))
    atoms.calc = KobAndersen(epsilon=epsilon, sigma=sigma)
    kelvin = epsilon / units.kB  # T* = 1 in K
    thermalize_momenta(atoms, temperature_K=2.0 * kelvin, rng=rng)
    _md(atoms, 2.0 * kelvin, steps, rng, friction=0.05)
    _md(atoms, 0.3 * kelvin, steps, rng, friction=0.2)
    return _plain(atoms)


def ideal_gas(symbol="Cu", *, n_atoms=500, random_state=0):
    """``n_atoms`` at uniformly random positions in a periodic cube at ``symbol``'s fcc
    density."""
    rng = np.random.default_rng(random_state)
    length = (n_atoms / 4) ** (1 / 3) * METALS[symbol][1]
    return Atoms(symbol * n_atoms, positions=rng.uniform(0, length, (n_atoms, 3)),
                 cell=[length] * 3, pbc=True)


def cached(name, make, recipe, *, cache=None):
    """``make()`` (a list of Atoms), cached as extended XYZ by ``name`` and ``recipe`` (dict)."""
    folder = Path(cache) if cache is not None else _default_cache()
    key = hashlib.sha256(json.dumps([name, recipe], sort_keys=True).encode()).hexdigest()[:12]
    path = folder / f"{name}-{key}.extxyz"
    if path.exists():
        return read(path, index=":")
    structures = make()
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    write(partial, structures, format="extxyz")
    partial.replace(path)
    return structures
