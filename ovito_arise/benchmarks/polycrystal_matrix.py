"""Per-atom accuracy on MD-like polycrystals, ARISE (``label`` defaults) against PTM, sample by sample.

Periodic cubes of Voronoi grains of one element (:func:`ase_arise.build.polycrystal`): 100, 150
and 216 Å with four grains (fcc, bcc, hcp, diamond) and 100 Å with eight (each structure
twice); hcp with c/a 1.59 and 1.633; Gaussian noise σ = 3 % of 2.5 Å per component (thermal
vibrations); each sample as built and with 20 % of its atoms removed; seeds 0, 1, 2. Only a
grain's own structure counts as right (hcp must be "hcp"), PTM has every structure type and its
default RMSD cutoff (0.1), and "Other" is wrong for both. Atoms more than 5 Å from every atom of
another grain are "interior", the others "boundary". Each row is marked with the targets of
issue 16 (all and boundary ≥ PTM; interior ≥ 97 % for grains ≥ 60 Å across, ≥ 90 % for the
eight-grain cube, ≥ 92 % with 20 % missing).

    python -m ovito_arise.benchmarks.polycrystal_matrix [--lengths 100 150 216] [--seeds 0 1 2]
        [--json docs/results/polycrystal_matrix.json]
"""

import argparse
import json
import time
import warnings

import numpy as np

from ase_arise import defective_copy, label
from ase_arise.errors import OverlappingAtomsWarning

from .label_speed import GRAINS
from .peers import peer_prototypes
from .polycrystal import noisy_polycrystal

NOISE = 0.03  # of 2.5 Å
C_OVER_A = (1.59, 1.633)
MISSING = 0.2


def samples(lengths, seeds):
    """(name, length, grains, c/a, seed) of every sample of the matrix."""
    out = [(f"{length:g} Å, 4 grains", length, GRAINS, c, seed)
           for length in lengths for c in C_OVER_A for seed in seeds]
    if 100.0 in lengths:
        out += [("100 Å, 8 grains", 100.0, GRAINS * 2, c, seed) for c in C_OVER_A
                for seed in seeds]
    return out


def interior_target(n_grains, missing):
    """The interior accuracy issue 16 asks for (fraction)."""
    if missing:
        return 0.92 if n_grains == 4 else None
    return 0.97 if n_grains == 4 else 0.90


def score_sample(length, grains, c_over_a, seed, missing):
    """One row: ARISE and PTM accuracies (all, boundary, interior) and their times (s)."""
    atoms = noisy_polycrystal(length, grains, noise=NOISE, c_over_a=c_over_a, random_state=seed)
    if missing:
        atoms = defective_copy(atoms, missing=missing, random_state=seed)
    truth = np.array(atoms.info["grains"], dtype=object)[atoms.arrays["grain"]]
    interior = atoms.arrays["interior"]
    row = dict(length=length, grains=len(grains), c_over_a=c_over_a, seed=seed, missing=missing,
               atoms=len(atoms), interior_fraction=float(interior.mean()))
    for method in ("ARISE", "PTM"):
        started = time.perf_counter()
        if method == "ARISE":
            found = label(atoms, random_state=seed).names
        else:
            found = peer_prototypes(atoms, "PTM")
        right = found == truth
        row[method] = dict(all=float(right.mean()), boundary=float(right[~interior].mean()),
                           interior=float(right[interior].mean()),
                           seconds=time.perf_counter() - started)
    target = interior_target(len(grains), missing)
    a, p = row["ARISE"], row["PTM"]
    row["meets"] = bool(a["all"] >= p["all"] and a["boundary"] >= p["boundary"]
                        and (target is None or a["interior"] >= target))
    return row


def markdown_row(name, row):
    a, p = row["ARISE"], row["PTM"]
    return (f"| {name} | {row['c_over_a']:g} | {row['seed']} | {100 * row['missing']:g} | "
            f"{row['atoms']:,} | {100 * a['all']:.1f} / {100 * p['all']:.1f} | "
            f"{100 * a['boundary']:.1f} / {100 * p['boundary']:.1f} | "
            f"{100 * a['interior']:.1f} / {100 * p['interior']:.1f} | "
            f"{'yes' if row['meets'] else '**no**'} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=float, nargs="+", default=[100.0, 150.0, 216.0],
                        help="cube edges (Å)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="grains, noise, missing atoms and dropout masks")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    # Gaussian noise brings a few atoms of neighbouring grains close together; that is expected
    warnings.simplefilter("ignore", OverlappingAtomsWarning)
    print("| sample | hcp c/a | seed | missing % | atoms | all % ARISE / PTM | boundary % | "
          "interior % | targets met |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|", flush=True)
    rows = []
    for name, length, grains, c_over_a, seed in samples(args.lengths, args.seeds):
        for missing in (0.0, MISSING):
            row = score_sample(length, grains, c_over_a, seed, missing)
            rows.append(dict(row, name=name))
            print(markdown_row(name, row), flush=True)
            if args.json:
                with open(args.json, "w") as f:
                    json.dump(rows, f, indent=1)
    print(f"\n{sum(r['meets'] for r in rows)} of {len(rows)} samples meet every target.")


if __name__ == "__main__":
    main()
