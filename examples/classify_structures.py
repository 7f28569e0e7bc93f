"""Classify a few structures with ARISE: top-3 prototypes, probabilities and uncertainty.

An fcc Al crystal with 20 % of its atoms missing, a carbon nanotube, a MoS2 sheet, a bcc Fe
cluster shaken by 5 % of d_NN, a hcp Ti crystal and an amorphous-like random packing (where
ARISE should be unsure: high mutual information). Prints a table and saves a bar chart of the
probabilities (``--output``).

    python examples/classify_structures.py [--output classified.png]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from ase import Atoms  # noqa: E402
from ase.build import bulk, mx2, nanotube  # noqa: E402

from ase_arise import classify, defective_copy  # noqa: E402


def structures():
    rng = np.random.default_rng(0)
    al = defective_copy(bulk("Al", "fcc", a=4.05, cubic=True).repeat(5), missing=0.2,
                        random_state=rng)
    al.pbc = False
    tube = nanotube(6, 0, length=10)
    tube.pbc = False
    mos2 = mx2("MoS2", kind="2H", a=3.18, vacuum=10.0).repeat((6, 6, 1))
    fe = defective_copy(bulk("Fe", "bcc", a=2.87, cubic=True).repeat(6), displacement=0.05,
                        random_state=rng)
    fe.pbc = False
    ti = bulk("Ti", "hcp", a=2.95, c=4.69)
    packing = Atoms("Cu300", positions=rng.uniform(0, 15, (300, 3)))
    return {"fcc Al, 20 % missing": al, "CNT (6,0), 240 atoms": tube, "MoS2 sheet": mos2,
            "bcc Fe, 5 % displacement": fe, "hcp Ti (periodic)": ti,
            "random packing": packing}


def main(output):
    samples = structures()
    results = classify(list(samples.values()), n_samples=300)
    print(f"{'structure':28s} {'top-3 prototypes (probability)':62s} {'MI (bit)':>8s}")
    for label, result in zip(samples, results):
        ranked = ", ".join(f"{name} ({p:.2f})" for name, p in result.top_k)
        print(f"{label:28s} {ranked:62s} {result.mutual_information:8.3f}")

    fig, axes = plt.subplots(len(results), 1, figsize=(7, 1.5 * len(results)), sharex=True)
    for ax, label, result in zip(axes, samples, results):
        names = [name for name, _ in result.top_k][::-1]
        ax.barh(names, [p for _, p in result.top_k][::-1], color="tab:blue")
        ax.set_title(f"{label}  —  MI {result.mutual_information:.3f} bit", fontsize=9)
        ax.tick_params(labelsize=8)
    axes[-1].set_xlabel("probability (mean of MC-dropout passes)")
    axes[-1].set_xlim(0, 1)
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    print(f"saved {output}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="classified.png", help="PNG file to write")
    main(parser.parse_args().output)
