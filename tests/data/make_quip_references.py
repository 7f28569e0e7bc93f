"""Regenerate tests/data/quip_references.npz: the paper's descriptor computed by QUIP.

Run from the repository root (needs quippy-ase, Python 3.11 on Linux; ~10 minutes on 2 cores):

    python tests/data/make_quip_references.py

For each of the 108 prototypes: the periodic cell (not for nanotubes) and the smallest
non-periodic supercell, at r_cut in {3, 4, 5} and sigma in {0.08, 0.10, 0.12} (d_NN units); and a
defective copy of each smallest supercell (5 % of the atoms removed, the rest displaced uniformly
by up to 1 % of d_NN per component, seed = class id), at r_cut 4, sigma 0.1. The defective
structures are stored too, so the tests do not depend on random-number streams.
"""

import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from quip_oracle import quip_descriptor  # noqa: E402

from ase_arise.descriptor import nearest_neighbor_distance  # noqa: E402
from ase_arise.prototypes import load_prototypes  # noqa: E402

R_CUTS = (3.0, 4.0, 5.0)
SIGMAS = (0.08, 0.10, 0.12)
SETTINGS = [(r, s) for r in R_CUTS for s in SIGMAS]
OUTPUT = Path(__file__).with_name("quip_references.npz")


def defective_copy(atoms, seed, missing=0.05, displacement=0.01):
    """``atoms`` with a fraction ``missing`` removed and uniform displacements of at most
    ``displacement * d_NN`` per component."""
    rng = np.random.default_rng(seed)
    dnn = nearest_neighbor_distance(atoms)
    keep = np.sort(rng.choice(len(atoms), size=len(atoms) - round(missing * len(atoms)),
                              replace=False))
    out = atoms[keep]
    out.positions += rng.uniform(-displacement * dnn, displacement * dnn, size=(len(out), 3))
    return out


def references(class_id):
    prototype = load_prototypes()[class_id]
    periodic = np.full((len(SETTINGS), 316), np.nan)
    cluster_atoms = prototype.supercells()[0]
    cluster = np.array([quip_descriptor(cluster_atoms, r, s) for r, s in SETTINGS])
    if prototype.is_periodic:
        cell = prototype.atoms()
        periodic = np.array([quip_descriptor(cell, r, s) for r, s in SETTINGS])
    defect = defective_copy(cluster_atoms, prototype.class_id)
    return periodic, cluster, defect, quip_descriptor(defect)


def main():
    prototypes = load_prototypes()
    with Pool(2) as pool:
        results = pool.map(references, range(len(prototypes)), chunksize=1)
    defects = [r[2] for r in results]
    np.savez_compressed(
        OUTPUT,
        settings=np.array(SETTINGS),
        periodic=np.array([r[0] for r in results]),
        cluster=np.array([r[1] for r in results]),
        defect_vectors=np.array([r[3] for r in results]),
        defect_positions=np.concatenate([d.positions for d in defects]),
        defect_numbers=np.concatenate([d.numbers for d in defects]),
        defect_sizes=np.array([len(d) for d in defects]),
    )
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
