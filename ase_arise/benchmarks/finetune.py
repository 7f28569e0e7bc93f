"""Fine-tuning measured: six intermetallic prototypes the shipped model lacks, each added alone.

    python -m ase_arise.benchmarks.finetune [--cache cache] [--realisations 10] [--json out.json]

Each structure is added to the shipped model by :func:`ase_arise.training.finetune.add_classes`
with its defaults (random_state 0). The new class is scored on defective copies of its three
periodic and three non-periodic supercells at ``LEVELS`` (``--realisations`` each, seed 6000,
disjoint from the training streams); the 108 originals on the defect protocol's structures
(seed 0) at ``PROTOCOL_LEVELS``, beside the shipped model on the same structures. Descriptor sets
are cached in ``--cache``.
"""

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
from ase.spacegroup import crystal

from ..classify import classify
from ..model import ARISEModel
from ..training import dataset
from ..training.finetune import DEFAULT_ALPHA, N_NEIGHBOURS, add_classes
from .defect_protocol import run as protocol
from .paper import level_name

LEVELS = ((0.0, 0.0), (0.01, 0.05), (0.04, 0.0), (0.0, 0.20), (0.01, 0.10), (0.04, 0.20))
PROTOCOL_LEVELS = ((0.0, 0.0), (0.01, 0.0), (0.0, 0.05), (0.006, 0.05), (0.01, 0.10),
                   (0.04, 0.20))
EVALUATION_SEED = 6000


def cr3si():
    """A15 Cr3Si: Pm-3n (223), a = 4.56 Å, Si at 2a (0, 0, 0), Cr at 6c (1/4, 0, 1/2)."""
    return crystal(["Si", "Cr"], basis=[(0, 0, 0), (0.25, 0, 0.5)], spacegroup=223,
                   cellpar=[4.56, 4.56, 4.56, 90, 90, 90])


def _cubic(symbols, basis, spacegroup, a):
    return crystal(symbols, basis=basis, spacegroup=spacegroup, cellpar=[a, a, a, 90, 90, 90])


# name -> structure (Å); experimental lattice parameters
EXAMPLES = {
    "A15 (Cr3Si)": cr3si,
    "A15 (β-W)": lambda: _cubic(["W", "W"], [(0, 0, 0), (0.25, 0, 0.5)], 223, 5.05),
    "C15 (MgCu2)": lambda: _cubic(["Mg", "Cu"], [(0, 0, 0), (5 / 8, 5 / 8, 5 / 8)], 227, 7.05),
    "C14 (MgZn2)": lambda: crystal(["Mg", "Zn", "Zn"],
                                   basis=[(1 / 3, 2 / 3, 0.063), (0, 0, 0), (0.830, 0.660, 0.25)],
                                   spacegroup=194, cellpar=[5.22, 5.22, 8.57, 90, 90, 120]),
    "D0_3 (Fe3Al)": lambda: _cubic(["Al", "Fe", "Fe"],
                                   [(0, 0, 0), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)], 225, 5.79),
    "L2_1 (Cu2MnAl)": lambda: _cubic(["Al", "Mn", "Cu"],
                                     [(0, 0, 0), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)], 225, 5.95),
}


def run(name, cache, folder, realisations=10, n_jobs=None, log=print, **options):
    """Add one example to the shipped model (``options``: of ``add_classes``) and score the new
    class and the originals."""
    atoms = EXAMPLES[name]()
    started = time.time()
    path = Path(folder) / (re.sub(r"\W+", "_", name).strip("_") + ".onnx")
    model = add_classes([atoms], [name], path, cache_dir=cache, n_jobs=n_jobs, progress=False,
                        **options)
    seconds = time.time() - started
    new = len(model.classes) - 1
    copies = dataset.defect_set(LEVELS, cache, realisations=realisations,
                                seed=EVALUATION_SEED, n_jobs=n_jobs, progress=False,
                                structures=dataset.class_structures(new, atoms,
                                                                    periodic_supercells=True))
    predicted = model.predict(copies.X, random_state=0).probabilities.argmax(axis=1)
    levels = np.stack([copies.info["displacement"], copies.info["missing"]], axis=1)
    row = {"name": name, "shipped_model_calls_it": classify(atoms).name,
           "seconds": round(seconds, 1), "n_per_level": int(len(copies) / len(LEVELS)),
           "new_class": {level_name(level): float(np.mean(
               predicted[(levels == level).all(axis=1)] == new)) for level in LEVELS},
           "originals": {level_name((r["displacement"], r["missing"])): r["accuracy"]
                         for r in protocol(model, cache, realisations, levels=PROTOCOL_LEVELS,
                                           n_jobs=n_jobs, log=lambda _: None)},
           "alpha": model.metadata["training"]["alpha"], "metrics": model.metadata["metrics"],
           "base_neighbours": model.metadata["training"]["base_neighbours"]}
    log(json.dumps(row, ensure_ascii=False))
    return row


def markdown(rows, shipped):
    """Two tables: the new classes' accuracy, and the originals' (shipped model first)."""
    lines = ["| added class | shipped model calls it | " + " | ".join(
        level_name(level) for level in LEVELS) + " |", "|---|---|" + "---:|" * len(LEVELS)]
    for row in rows:
        lines.append(f"| {row['name']} | {row['shipped_model_calls_it']} | " + " | ".join(
            f"{100 * v:.1f}" for v in row["new_class"].values()) + " |")
    lines += ["", "| model | " + " | ".join(level_name(level) for level in PROTOCOL_LEVELS)
              + " |", "|---|" + "---:|" * len(PROTOCOL_LEVELS),
              "| shipped | " + " | ".join(f"{v:.2f}" for v in shipped.values()) + " |"]
    for row in rows:
        lines.append(f"| + {row['name']} | " + " | ".join(
            f"{v:.2f}" for v in row["originals"].values()) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="cache", help="descriptor cache folder")
    parser.add_argument("--models", default="cache/finetune", help="folder of the new models")
    parser.add_argument("--realisations", type=int, default=10)
    parser.add_argument("--only", nargs="+", default=list(EXAMPLES), choices=list(EXAMPLES))
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="L2 penalty")
    parser.add_argument("--n-neighbours", type=int, default=N_NEIGHBOURS,
                        help="base classes per new class whose defective copies join training")
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--json", default=None, help="write the rows to this JSON file")
    args = parser.parse_args(argv)
    shipped = {level_name((r["displacement"], r["missing"])): r["accuracy"]
               for r in protocol(ARISEModel(), args.cache, args.realisations,
                                 levels=PROTOCOL_LEVELS, n_jobs=args.n_jobs,
                                 log=lambda _: None)}
    rows = [run(name, args.cache, args.models, args.realisations, args.n_jobs, alpha=args.alpha,
                n_neighbours=args.n_neighbours) for name in args.only]
    print(markdown(rows, shipped))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"shipped": shipped, "added": rows}, handle, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
