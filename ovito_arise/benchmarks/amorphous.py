""""Other" on liquids, glasses and gases, and crystals that must stay known (issue 16).

    python -m ovito_arise.benchmarks.amorphous [--n-jobs 2] [--quick]

Families never seen by the calibration (:mod:`ase_arise.training.calibrate`: EMT Al, Ni, Pt),
new seeds: EMT Pd and Au liquids at 1.1-1.5 T_m (500 atoms; 5 runs x 10 snapshots 0.5 ps
apart), Kob-Andersen Ni80P20 glasses (500 atoms, 50 quenches) and ideal gases (500 atoms, 50
seeds). Every structure is checked with PTM (all structure types, default RMSD cutoff): the
share of its atoms PTM calls Other. Crystals: EMT fcc Al, Ni, Pt, Pd and Au at 0.9 T_m (2 runs x
5 snapshots each), bulk fcc/bcc/hcp/diamond with Gaussian noise of sigma = 1, 3, 5 % of d_NN per
component (3 seeds), and random fcc/bcc solid solutions of 2-5 species (2 seeds). Reported per
family: structures, PTM Other (atoms), ``classify`` Other (structures), ``label`` Other
(atoms), and for crystals the atoms ``label`` gives the right prototype.
"""

import argparse
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from ase.build import bulk

from ase_arise import classify, label
from ase_arise.benchmarks.amorphous import (LIQUID_EXPANSION, METALS, cached, emt_crystal,
                                            emt_liquid, ideal_gas, kob_andersen_glass)
from ase_arise.errors import IsolatedAtomsWarning, OverlappingAtomsWarning

from .peers import ptm_labels

TEST_LIQUIDS = ("Pd", "Au")
LIQUID_TEMPERATURES = (1.1, 1.2, 1.3, 1.4, 1.5)  # fractions of T_m, one run each
CRYSTAL_METALS = ("Al", "Ni", "Pt", "Pd", "Au")
BULK = {"fcc": ("Cu", "fcc", 3.61, 2.553), "bcc": ("Fe", "bcc", 2.87, 2.485),
        "hcp": ("Mg", "hcp", 3.21, 3.21), "diamond": ("Si", "diamond", 5.43, 2.351)}
ALLOY_SPECIES = ("Cu", "Ni", "Au", "Ag", "Pd")
SEED = 200  # calibration used 100-101 and 7


def _liquid_job(job):
    symbol, fraction, seed, snapshots, cache = job
    recipe = {"symbol": symbol, "T": fraction * METALS[symbol][0], "repeat": 5, "steps": 300,
              "expansion": LIQUID_EXPANSION,
              "snapshots": snapshots, "every": 100, "seed": seed}
    return cached("liquid", lambda: emt_liquid(symbol, recipe["T"], repeat=5, steps=300,
                                               snapshots=snapshots, every=100,
                                               random_state=seed), recipe, cache=cache)


def _crystal_job(job):
    symbol, seed, snapshots, cache = job
    recipe = {"symbol": symbol, "T": 0.9 * METALS[symbol][0], "repeat": 5, "steps": 200,
              "snapshots": snapshots, "every": 100, "seed": seed}
    return cached("crystal", lambda: emt_crystal(symbol, recipe["T"], repeat=5, steps=200,
                                                 snapshots=snapshots, every=100,
                                                 random_state=seed), recipe, cache=cache)


def _glass_job(job):
    seed, cache = job
    return cached("kob-andersen", lambda: [kob_andersen_glass(random_state=seed)],
                  {"repeat": 5, "steps": 400, "seed": seed}, cache=cache)


def noisy_bulk(name, sigma, random_state):
    """Bulk ``name`` (~500 atoms) with Gaussian noise of ``sigma`` x d_NN per component."""
    symbol, structure, a, dnn = BULK[name]
    atoms = (bulk(symbol, structure, a=a, cubic=True) if name != "hcp"
             else bulk(symbol, "hcp", a=a, c=1.633 * a, orthorhombic=True))
    atoms = atoms.repeat(np.maximum(1, np.round((500 / len(atoms)) ** (1 / 3)
                                                * np.ones(3))).astype(int))
    rng = np.random.default_rng(random_state)
    atoms.positions += rng.normal(0.0, sigma * dnn, atoms.positions.shape)
    return atoms


def solid_solution(structure, n_species, random_state):
    """Random fcc (Cu lattice) or bcc (Fe lattice) solution of ``n_species`` species, 500 /
    432 atoms."""
    rng = np.random.default_rng(random_state)
    atoms = (bulk("Cu", "fcc", a=3.61, cubic=True).repeat(5) if structure == "fcc"
             else bulk("Fe", "bcc", a=2.87, cubic=True).repeat(6))
    atoms.symbols = list(rng.choice(ALLOY_SPECIES[:n_species], len(atoms)))
    return atoms


def families(*, n_jobs=2, quick=False, cache=None):
    """{family: (kind, structures, truth prototype or None)}; kind "test", "crystal"."""
    snapshots = 2 if quick else 10
    n_single = 4 if quick else 50
    temperatures = LIQUID_TEMPERATURES[:2] if quick else LIQUID_TEMPERATURES
    out = {}
    with ProcessPoolExecutor(n_jobs) as pool:
        for symbol in TEST_LIQUIDS:
            jobs = [(symbol, t, SEED + k, snapshots, cache) for k, t in enumerate(temperatures)]
            out[f"EMT {symbol} liquid, 1.1-1.5 T_m"] = (
                "test", [a for s in pool.map(_liquid_job, jobs) for a in s], None)
        out["Kob-Andersen Ni80P20 glass"] = (
            "test", [a for s in pool.map(_glass_job, [(SEED + k, cache) for k in
                                                      range(n_single)]) for a in s], None)
        out["ideal gas"] = ("test", [ideal_gas(random_state=SEED + k) for k in range(n_single)],
                            None)
        jobs = [(symbol, SEED + k, 2 if quick else 5, cache) for symbol in CRYSTAL_METALS
                for k in range(1 if quick else 2)]
        crystals = list(pool.map(_crystal_job, jobs))
    out["EMT fcc crystals, 0.9 T_m"] = ("crystal", [a for s in crystals for a in s], "fcc")
    for name in BULK:
        for sigma in (0.01, 0.03, 0.05):
            out[f"{name}, noise {sigma:.0%} d_NN"] = (
                "crystal", [noisy_bulk(name, sigma, SEED + k) for k in range(1 if quick else 3)],
                name)
    for structure in ("fcc", "bcc"):
        out[f"{structure} solid solutions, 2-5 species"] = (
            "crystal", [solid_solution(structure, n, SEED + k) for n in range(2, 6)
                        for k in range(1 if quick else 2)], structure)
    return out


def score(structures, truth):
    """One family's row: PTM Other (atoms), classify Other, label Other (atoms), right."""
    ptm = np.concatenate([ptm_labels(s) == "Other" for s in structures])
    results = classify(structures)
    labels = [label(s) for s in structures]
    other = np.concatenate([lab.other for lab in labels])
    row = {"structures": len(structures), "atoms": int(len(other)),
           "ptm_other": float(ptm.mean()),
           "classify_other": float(np.mean([r.other for r in results])),
           "label_other": float(other.mean()),
           "median_anisotropy": float(np.median([r.anisotropy for r in results]))}
    if truth is not None:
        row["label_right"] = float(np.mean(np.concatenate([lab.names == truth
                                                           for lab in labels])))
        row["classify_right"] = float(np.mean([r.name == truth for r in results]))
    return row


def markdown(rows):
    lines = ["| family | structures | PTM Other (atoms) | `classify` Other | `label` Other "
             "(atoms) | `label` right (atoms) | `classify` right | median anisotropy |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in rows.items():
        right = (f"{r['label_right']:.2%} | {r['classify_right']:.0%}" if "label_right" in r
                 else "— | —")
        lines.append(f"| {name} | {r['structures']} | {r['ptm_other']:.1%} | "
                     f"{r['classify_other']:.1%} | {r['label_other']:.2%} | {right} | "
                     f"{r['median_anisotropy']:.3g} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", type=int, default=2, help="MD processes")
    parser.add_argument("--quick", action="store_true", help="a few structures per family")
    parser.add_argument("--cache", default=None, help="sample cache (default ~/.cache/arise)")
    args = parser.parse_args(argv)
    started = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IsolatedAtomsWarning)
        warnings.simplefilter("ignore", OverlappingAtomsWarning)  # ideal gases overlap
        rows = {name: score(structures, truth) for name, (_, structures, truth) in
                families(n_jobs=args.n_jobs, quick=args.quick, cache=args.cache).items()}
    print(markdown(rows))
    print(f"\n{time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
