"""The Bain path from bcc to fcc (the paper's Supplementary Fig. 1): ARISE over c/a and a.

A body-centred tetragonal crystal (cell a x a x c, atoms at the corner and the body centre,
periodic) is bcc at c/a = 1 and fcc at c/a = sqrt 2 (its face-centred description has
c'/a' = 1); in between and beyond lie tetragonal cells that the network never saw: only four
points of this plane were in the training set (bcc, fcc, In at c/a = 1.521 and alpha-Pa at
0.824). Every geometry of a grid over c/a and the lattice constant a (3-6 Å, as in the paper)
is classified; the script prints the winners along c/a at one a, checks that the prediction
does not depend on a (structures are scaled by their own d_NN), and saves the map of the most
probable prototype beside the mutual-information map (``--output``).

    python examples/bain_path.py [--ratio-step 0.025] [--a-step 0.5] [--output bain_path.png]

The paper's grid (a and c from 3 to 6 Å in steps of 0.05 Å, 3,721 structures) is finer than
needed along a, on which nothing depends; the default (61 x 7 = 427 structures) takes about
half a minute on 2 cores.
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from ase import Atoms  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from ase_arise import classify  # noqa: E402

# c/a of the geometries in the training set (Supplementary Note 2)
TRAINING = {"bcc": 1.0, "α-Pa": 0.824, "fcc": np.sqrt(2.0), "In": 1.521}


def body_centred_tetragonal(a, ratio, symbol="Fe"):
    """The conventional body-centred tetragonal cell, a x a x (ratio * a) (Å), periodic."""
    return Atoms(f"{symbol}2", scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.5]],
                 cell=[a, a, ratio * a], pbc=True)


def runs(ratios, winners):
    """The winners along c/a as 'name (c/a from-to)' runs joined by arrows."""
    parts, start = [], 0
    for k in range(1, len(winners) + 1):
        if k == len(winners) or winners[k] != winners[start]:
            span = (f"{ratios[start]:.3f}" if k - 1 == start
                    else f"{ratios[start]:.3f}-{ratios[k - 1]:.3f}")
            parts.append(f"{winners[start]} ({span})")
            start = k
    return " -> ".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratio-min", type=float, default=0.5, help="smallest c/a")
    parser.add_argument("--ratio-max", type=float, default=2.0, help="largest c/a")
    parser.add_argument("--ratio-step", type=float, default=0.025, help="step of c/a")
    parser.add_argument("--a-step", type=float, default=0.5,
                        help="step of the lattice constant a from 3 to 6 Å (Å)")
    parser.add_argument("--random-state", "--seed", dest="random_state", type=int, default=0,
                        help="seed of the dropout masks")
    parser.add_argument("--output", default="bain_path.png", help="PNG to write")
    args = parser.parse_args(argv)

    ratios = np.arange(args.ratio_min, args.ratio_max + args.ratio_step / 2, args.ratio_step)
    lattice = np.arange(3.0, 6.0 + args.a_step / 2, args.a_step)
    grid = [body_centred_tetragonal(a, ratio) for a in lattice for ratio in ratios]
    print(f"{len(grid)} body-centred tetragonal geometries: c/a {ratios[0]:.3f}-{ratios[-1]:.3f}"
          f" ({len(ratios)} values) x a {lattice[0]:.2f}-{lattice[-1]:.2f} Å "
          f"({len(lattice)} values)")
    middle = lattice[len(lattice) // 2]
    ends = [body_centred_tetragonal(middle, 1.0), body_centred_tetragonal(middle, np.sqrt(2))]
    results = classify(grid + ends, random_state=args.random_state, progress=True)
    for text, result in zip(("c/a = 1 (bcc)", "c/a = sqrt 2 (fcc)"), results[len(grid):]):
        print(f"{text:20s} -> {result.name}, p = {result.probability:.3f}, "
              f"MI = {result.mutual_information:.3f} bit")
    results = results[:len(grid)]

    names = np.array([r.name for r in results], dtype=object).reshape(len(lattice), len(ratios))
    mutual_information = np.array([r.mutual_information for r in results]).reshape(names.shape)
    same = (names == names[:1]).all(axis=0)
    print(f"the same winner for every a at {int(same.sum())} of {len(ratios)} c/a values "
          "(structures are scaled by their own d_NN: only c/a matters)")
    row = len(lattice) // 2
    print(f"winners along c/a at a = {lattice[row]:.2f} Å:")
    print(f"  {'c/a':>6s}  {'prototype':24s} {'p':>6s} {'MI (bit)':>9s}")
    for ratio, result in zip(ratios, results[row * len(ratios):(row + 1) * len(ratios)]):
        print(f"  {ratio:6.3f}  {result.name:24s} {result.probability:6.3f} "
              f"{result.mutual_information:9.3f}")
    print("sequence: " + runs(ratios, names[row]))

    found = list(dict.fromkeys(names.T.ravel()))  # in order of first appearance along c/a
    colors = plt.get_cmap("tab20")(np.arange(len(found)) % 20)
    codes = np.vectorize(found.index)(names)
    extent = (ratios[0] - args.ratio_step / 2, ratios[-1] + args.ratio_step / 2,
              lattice[0] - args.a_step / 2, lattice[-1] + args.a_step / 2)
    figure, (left, right) = plt.subplots(1, 2, figsize=(15, 5.5))
    left.imshow(codes, origin="lower", aspect="auto", extent=extent, interpolation="nearest",
                cmap=ListedColormap(colors),
                norm=BoundaryNorm(np.arange(len(found) + 1) - 0.5, len(found)))
    left.legend(handles=[Patch(color=c, label=n) for c, n in zip(colors, found)],
                loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="most probable")
    left.set_title("most probable prototype (argmax)")
    image = right.imshow(mutual_information, origin="lower", aspect="auto", extent=extent,
                         interpolation="nearest", cmap="viridis")
    figure.colorbar(image, ax=right, label="mutual information (bit)")
    right.set_title("uncertainty")
    for ax in (left, right):
        for name, ratio in TRAINING.items():
            ax.axvline(ratio, color="white", ls="--", lw=0.8)
            ax.text(ratio, extent[3], f" {name}", rotation=90, va="top", ha="right",
                    color="white", fontsize=8)
        ax.set_xlabel("c/a of the body-centred tetragonal cell")
        ax.set_ylabel("lattice constant a (Å)")
    figure.suptitle("Bain path bcc (c/a = 1) -> fcc (c/a = sqrt 2); dashed: c/a of the "
                    "training geometries")
    figure.tight_layout()
    figure.savefig(args.output, dpi=110)
    print(f"saved {args.output}")


if __name__ == "__main__":
    main()
