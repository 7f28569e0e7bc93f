"""How small an L1_2 precipitate per-atom labels resolve: intersection over union vs cell size.

The paper's superalloy model (Fig. 2h-j; :func:`ase_arise.build.l12_precipitate`): a periodic
random fcc Ni3Al matrix with an ordered L1_2 cube of a third of the cell edge in the centre.
For each cell edge, box and mode, :func:`ase_arise.label` labels every atom; the atoms labelled
L1_2 are compared with the true precipitate atoms (intersection over union, precision, recall).
The precipitate edge minus the box edge says how far a box can move while it holds only
precipitate atoms (negative: no box fits inside).

    python -m ase_arise.benchmarks.precipitate [--lengths 48 72 120] [--boxes 12 16]
        [--stride 3] [--modes fast exact] [--exact-up-to 60]
"""

import argparse
import time
import warnings


from ase_arise import label
from ase_arise.build import l12_precipitate
from ase_arise.errors import IsolatedAtomsWarning

L12 = "L1_2 (Cu3Au)"


def precipitate_scores(atoms, **label_options):
    """IoU, precision and recall of the atoms labelled L1_2 against ``arrays["precipitate"]``,
    and the seconds :func:`ase_arise.label` took."""
    truth = atoms.arrays["precipitate"] == 1
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IsolatedAtomsWarning)
        found = label(atoms, **label_options).names == L12
    seconds = time.perf_counter() - started
    overlap = int((found & truth).sum())
    return {"iou": overlap / max(int((found | truth).sum()), 1),
            "precision": overlap / max(int(found.sum()), 1),
            "recall": overlap / int(truth.sum()),
            "seconds": seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=float, nargs="+", default=[48.0, 60.0, 72.0, 96.0,
                                                                      120.0],
                        help="cell edges (Å)")
    parser.add_argument("--boxes", type=float, nargs="+", default=[12.0, 16.0],
                        help="box edges (Å)")
    parser.add_argument("--stride", type=float, default=3.0, help="box step (Å)")
    parser.add_argument("--modes", nargs="+", default=["fast", "exact"],
                        choices=["fast", "exact"], help="SPM modes")
    parser.add_argument("--exact-up-to", type=float, default=60.0,
                        help="run exact mode only for cells up to this edge (Å; it costs "
                             "~10x fast)")
    parser.add_argument("--random-state", "--seed", dest="random_state", type=int, default=0,
                        metavar="SEED", help="matrix species and dropout masks")
    args = parser.parse_args(argv)
    print(f"L1_2 cube of a third of the cell edge in random fcc Ni3Al; stride {args.stride:g} Å, "
          f"seed {args.random_state}\n")
    print("| cell (Å) | atoms | precipitate atoms | precipitate edge (Å) | box (Å) | precipitate "
          "- box (Å) | mode | IoU | precision | recall | time (s) |")
    print("|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for length in args.lengths:
        atoms = l12_precipitate(length, random_state=args.random_state)
        inside = int(atoms.arrays["precipitate"].sum())
        # whole unit cells of 4 atoms: the cube's edge in cells over the cell's edge in cells
        edge = float(atoms.cell[0, 0]) * round((inside / 4) ** (1 / 3)) / round(
            (len(atoms) / 4) ** (1 / 3))
        for box in args.boxes:
            for mode in args.modes:
                if mode == "exact" and length > args.exact_up_to:
                    continue
                score = precipitate_scores(atoms, box=box, stride=args.stride, mode=mode,
                                           random_state=args.random_state)
                print(f"| {length:g} | {len(atoms):,} | {inside:,} | {edge:.1f} | "
                      f"{box:g} | {edge - box:+.1f} | {mode} | {score['iou']:.3f} | "
                      f"{score['precision']:.3f} | {score['recall']:.3f} | "
                      f"{score['seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
