"""ARISE on the paper's defect protocol (Table 2, Supplementary Tables 1-3), cached and resumable.

    python -m ase_arise.benchmarks.defect_protocol [--realisations 1] [--model PATH]
        [--cache cache] [--n-samples T] [--convergence] [--json results.json]

All 108 classes; each prototype's three supercells, periodic and non-periodic (nanotubes: the
finite tube) — 588 structures — with uniform displacements of up to delta * d_NN per component
(delta = 0.1 ... 10 %), missing atoms (eta = 1 ... 30 %) and both at once, ``--realisations``
random copies each (the paper: 10, i.e. 117,600 structures; the default 1 runs in ~15 minutes on
2 cores). Seeds: the protocol's own (0), disjoint from those used in training. Each level's
descriptors are cached in ``--cache``, so an interrupted run resumes where it stopped.

``--convergence`` also compares T = 10, 30, 100, 300 passes with T = 1000 (top-1 agreement and
mutual information within max(0.02 bit, 5 %)), the measurement behind the default n_samples.
"""

import argparse
import json
import time

import numpy as np

from ..model import ARISEModel
from ..training import dataset
from .paper import level_name, paper_accuracy

def run(model, cache, realisations=1, n_samples=None, convergence=False, levels=None,
        n_jobs=None, log=print):
    """Accuracy per defect level; returns a list of dicts (one per level)."""
    levels = dataset.PROTOCOL_LEVELS if levels is None else levels
    rows = []
    for level in levels:
        started = time.time()
        data = dataset.defect_set([level], cache, realisations=realisations,
                                  seed=dataset.PROTOCOL_SEED, n_jobs=n_jobs, progress=False)
        described = time.time() - started
        prediction = model.predict(data.X, n_samples=n_samples, random_state=0)
        other = model.anisotropy(data.X) < model.min_anisotropy
        correct = (prediction.probabilities.argmax(axis=1) == data.y) & ~other
        row = {"displacement": level[0], "missing": level[1], "n": len(data),
               "accuracy": 100.0 * correct.mean(), "other": 100.0 * other.mean(),
               "accuracy_periodic": 100.0 * correct[data.info["periodic"]].mean(),
               "accuracy_non_periodic": 100.0 * correct[~data.info["periodic"]].mean(),
               "mean_mutual_information": float(prediction.mutual_information.mean()),
               "paper": paper_accuracy("ARISE", tuple(level)),
               "descriptor_seconds": round(described, 1),
               "misclassified": sorted({(int(t), int(p)) for t, p in zip(
                   data.y[~correct], prediction.probabilities.argmax(axis=1)[~correct])})[:20]}
        if convergence:
            reference = model.predict(data.X, n_samples=1000, random_state=1)
            row["convergence"] = {}
            for t in (10, 30, 100, 300):
                trial = model.predict(data.X, n_samples=t, random_state=2)
                same = trial.probabilities.argmax(1) == reference.probabilities.argmax(1)
                tolerance = np.maximum(0.02, 0.05 * reference.mutual_information)
                close = np.abs(trial.mutual_information - reference.mutual_information) <= tolerance
                row["convergence"][t] = {"top1_agreement": float(same.mean()),
                                         "mi_within_tolerance": float(close.mean())}
        rows.append(row)
        log(f"{level_name(level):40s} n={row['n']:6d}  ARISE {row['accuracy']:6.2f} %  "
            f"Other {row['other']:5.2f} %  "
            f"(paper {row['paper']})  MI {row['mean_mutual_information']:.3f} bit")
    return rows


def markdown(rows, n_samples):
    lines = ["| defect | structures | accuracy % | periodic % | non-periodic % | paper ARISE % "
             "| mean MI (bit) | Other % |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        paper = "—" if r["paper"] is None else f"{r['paper']:.2f}"
        lines.append(f"| {level_name((r['displacement'], r['missing']))} | {r['n']} | "
                     f"{r['accuracy']:.2f} | {r['accuracy_periodic']:.2f} | "
                     f"{r['accuracy_non_periodic']:.2f} | {paper} | "
                     f"{r['mean_mutual_information']:.3f} | {r.get('other', 0.0):.2f} |")
    lines.append(f"\nMC-dropout passes: {n_samples}. Accuracy counts Other (anisotropy below the "
                 "model's min_anisotropy) as wrong.")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model .onnx (default: the shipped one)")
    parser.add_argument("--cache", default="cache", help="descriptor cache folder")
    parser.add_argument("--realisations", type=int, default=1, help="paper: 10")
    parser.add_argument("--n-samples", type=int, default=None, help="MC-dropout passes")
    parser.add_argument("--convergence", action="store_true", help="T vs 1000 passes")
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--json", default=None, help="write the rows to this JSON file")
    parser.add_argument("--levels", default=None, metavar="START:STOP",
                        help="run only this slice of the 21 levels (to split long runs)")
    args = parser.parse_args(argv)
    model = ARISEModel(args.model)
    levels = dataset.PROTOCOL_LEVELS
    if args.levels:
        start, stop = (int(v) if v else None for v in args.levels.split(":"))
        levels = levels[start:stop]
    rows = run(model, args.cache, args.realisations, args.n_samples, args.convergence,
               levels=levels, n_jobs=args.n_jobs)
    print(markdown(rows, args.n_samples or model.default_n_samples))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
