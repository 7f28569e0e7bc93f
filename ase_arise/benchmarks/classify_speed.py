"""Throughput of ``classify``: descriptor + MC-dropout network, default T vs T = 1000, same run.

    python -m ase_arise.benchmarks.classify_speed [--n 100] [--repeats 3]

Non-periodic 250-atom structures: the 250 atoms nearest the centre of the first supercell with
>= 250 atoms of ``--n`` prototypes taken in class order cyclically, each randomly displaced by
1 % of d_NN. Reports
structures per second (median of ``repeats``) for the descriptor alone, the network alone and
both, at the model's default number of passes and at T = 1000. Prints a Markdown table.
"""

import argparse
import os

import numpy as np

from ase_arise import ARISEModel, defective_copy, load_prototypes
from ase_arise.benchmarks import median_seconds


def _ball(atoms, size):
    """The ``size`` atoms nearest the centre of the bounding box."""
    centre = 0.5 * (atoms.positions.min(axis=0) + atoms.positions.max(axis=0))
    return atoms[np.sort(np.argsort(np.linalg.norm(atoms.positions - centre, axis=1))[:size])]


def clusters(n):
    """``n`` non-periodic 250-atom structures: balls of the prototypes in class order,
    cyclically, each displaced by 1 % of d_NN (seeded by its index)."""
    prototypes = load_prototypes()
    balls = {}
    out = []
    for k in range(n):
        kind = k % len(prototypes)
        if kind not in balls:
            balls[kind] = _ball(prototypes[kind].supercells(n=1, min_atoms=250)[0], 250)
        out.append(defective_copy(balls[kind], displacement=0.01, random_state=k))
    return out


def main(n=100, repeats=3):
    structures = clusters(n)
    sizes = [len(s) for s in structures]
    assert len(set(sizes)) == 1
    model = ARISEModel()
    calculator = model.descriptor()
    X = calculator.create(structures)
    t_desc = median_seconds(lambda: calculator.create(structures), repeats)
    rows = [("descriptor only", "—", n / t_desc)]
    for t in (model.default_n_samples, 1000):
        t_net = median_seconds(lambda: model.predict(X, n_samples=t, random_state=0), repeats)
        rows += [("network only", t, n / t_net), ("descriptor + network", t, n / (t_desc + t_net))]
    print(f"# classify throughput: {n} non-periodic structures of {sizes[0]} atoms, "
          f"{os.cpu_count()} cores, median of {repeats}")
    print("| stage | MC passes T | structures/s |")
    print("|---|---:|---:|")
    for stage, t, rate in rows:
        print(f"| {stage} | {t} | {rate:,.1f} |")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="number of structures")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    main(args.n, args.repeats)
