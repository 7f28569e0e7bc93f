"""How well fast SPM agrees with exact SPM: box argmax agreement, MI correlation, time.

Both modes run on the same box grid of (1) the paper's four-grain polycrystal (non-periodic
slab) and (2) a periodic four-grain polycrystal built with :func:`ase_arise.build.polycrystal`.

    python -m ase_arise.benchmarks.spm_modes [--box 16] [--stride 4] [--length 80]
"""

import argparse
import time
import warnings

import numpy as np
from ase.io import read

from ase_arise import Settings
from ase_arise.build import four_grains_path, polycrystal
from ase_arise.errors import IsolatedAtomsWarning
from ase_arise.spm import box_centres, match_boxes


def compare_modes(atoms, *, box, stride, random_state=0):
    """Run fast and exact SPM on one grid; agreement figures and times (s)."""
    settings = Settings(box=box, stride=stride, random_state=random_state)
    centres, shape = box_centres(atoms, settings)
    results, seconds = {}, {}
    for mode in ("fast", "exact"):
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IsolatedAtomsWarning)
            results[mode] = match_boxes(atoms, centres, shape, settings.replace(mode=mode))
        seconds[mode] = time.perf_counter() - started
    fast, exact = results["fast"], results["exact"]
    both = fast.valid & exact.valid
    return {
        "boxes": int(both.sum()),
        "argmax_agreement": float(np.mean(fast.class_id[both] == exact.class_id[both])),
        "mi_pearson": float(np.corrcoef(fast.mutual_information[both],
                                        exact.mutual_information[both])[0, 1]),
        "mi_median_fast": float(np.median(fast.mutual_information[both])),
        "mi_median_exact": float(np.median(exact.mutual_information[both])),
        "seconds_fast": seconds["fast"],
        "seconds_exact": seconds["exact"],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--box", type=float, default=16.0, help="box edge (Å)")
    parser.add_argument("--stride", type=float, default=4.0, help="box step (Å)")
    parser.add_argument("--length", type=float, default=80.0,
                        help="edge of the periodic polycrystal (Å)")
    parser.add_argument("--sample", default=str(four_grains_path()),
                        help="the four-grain xyz file (default: the bundled one)")
    args = parser.parse_args(argv)
    samples = {"four-grain slab (paper)": read(args.sample, format="xyz"),
               f"periodic polycrystal {args.length:g} Å": polycrystal(args.length,
                                                                      random_state=1)}
    print(f"box {args.box:g} Å, stride {args.stride:g} Å\n")
    print("| sample | atoms | boxes | argmax agreement | MI Pearson r | median MI fast / exact "
          "(bit) | fast (s) | exact (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, atoms in samples.items():
        r = compare_modes(atoms, box=args.box, stride=args.stride)
        print(f"| {name} | {len(atoms):,} | {r['boxes']:,} | {r['argmax_agreement']:.3f} | "
              f"{r['mi_pearson']:.3f} | {r['mi_median_fast']:.3f} / {r['mi_median_exact']:.3f} "
              f"| {r['seconds_fast']:.1f} | {r['seconds_exact']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
