"""Descriptor throughput: ARISE's numba kernel vs dscribe (gto) and quippy, same run, same input.

    python -m ase_arise.benchmarks.descriptor_speed [--repeats 3] [--size 16]

An fcc crystal (Cu, a = 3.6 Å) of size^3 cubic cells (16: 16,384 atoms), periodic and as a
non-periodic cluster, averaged SOAP at r_cut = 4 d_NN, sigma = 0.1 d_NN, n_max 9, l_max 6. Reports
centres (atoms) per second, median of ``repeats`` runs after one warm-up, with the threads numba
and dscribe (n_jobs) are given. quippy runs on a smaller cluster (it is ~40x slower). dscribe and
quippy are optional: a missing one is reported, not fatal. Prints a Markdown table.
"""

import argparse
import os
import platform

import numba
import numpy as np
from ase.build import bulk

from ase_arise import ARISEDescriptor
from ase_arise.benchmarks import median_seconds

A_CU = 3.6
DNN = A_CU / np.sqrt(2)


def _median_rate(function, n_centres, repeats):
    return n_centres / median_seconds(function, repeats)


def _dscribe(atoms, threads):
    from dscribe.descriptors import SOAP

    soap = SOAP(species=["Cu"], r_cut=4 * DNN, sigma=0.1 * DNN, n_max=9, l_max=6,
                rbf="gto", average="inner", periodic=bool(atoms.pbc.any()))
    return lambda: soap.create(atoms, n_jobs=threads)


def _quippy(atoms):
    import quippy.descriptors

    scaled = atoms.copy()
    scaled.set_cell(atoms.cell[:] / DNN, scale_atoms=True)
    calc = quippy.descriptors.Descriptor(
        "soap cutoff=4.0 l_max=6 n_max=9 atom_sigma=0.1 n_Z=1 Z={29} n_species=1 "
        "species_Z={29} central_weight=0.0 average=True")
    return lambda: calc.calc(scaled)


def main(size=16, repeats=3):
    threads = numba.get_num_threads()
    ours = ARISEDescriptor()
    rows = []
    for periodic in (True, False):
        atoms = bulk("Cu", "fcc", a=A_CU, cubic=True).repeat(size)
        atoms.pbc = periodic
        kind = "periodic" if periodic else "cluster"
        rows.append((f"arise (numba, {threads} threads)", kind, len(atoms),
                     _median_rate(lambda: ours.create(atoms), len(atoms), repeats)))
        try:
            rows.append((f"dscribe gto (n_jobs={threads})", kind, len(atoms),
                         _median_rate(_dscribe(atoms, threads), len(atoms), repeats)))
        except ImportError:
            rows.append(("dscribe gto", kind, len(atoms), float("nan")))
    small = bulk("Cu", "fcc", a=A_CU, cubic=True).repeat(5)
    small.pbc = False
    try:
        rows.append(("quippy (1 thread)", "cluster", len(small),
                     _median_rate(_quippy(small), len(small), 1)))
    except ImportError:
        rows.append(("quippy", "cluster", len(small), float("nan")))
    print(f"# descriptor throughput: fcc, r_cut 4 d_NN, sigma 0.1 d_NN, n_max 9, l_max 6; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numba {numba.__version__}, median of {repeats}")
    print("| method | structure | atoms | centres/s |")
    print("|---|---|---:|---:|")
    for method, kind, n, rate in rows:
        print(f"| {method} | {kind} | {n} | {rate:,.0f} |")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16, help="cubic cells per edge")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (median)")
    args = parser.parse_args()
    main(args.size, args.repeats)
