"""ARISE strided pattern matching on the paper's four-grain polycrystal, scored against PTM.

Ground truth (issue 4, paper Fig. 2a-c and Supp. Fig. 4): OVITO's PTM, every structure type
enabled, labels the grains of the *pristine* sample (fcc, bcc, hcp, cubic diamond); an atom is
"interior" when its 12 nearest neighbours carry its own PTM label. Scores:

- interior accuracy: the fraction of interior atoms whose ARISE label (:func:`ase_arise.label`)
  is their grain's prototype;
- boundary ROC AUC: how well a box's uncertainty (what OVITO shows as "ARISE Uncertainty":
  mutual information plus disorder, :attr:`ase_arise.SPMResult.uncertainty`; the mutual
  information alone beside it) separates boundary boxes (a box that
  reaches past the sample's edge, or in which no grain holds 80 % of the atoms) from interior
  boxes (wholly inside the sample, all atoms of one grain); boxes in between are left out. An
  atom's grain is its PTM label, or for PTM's "Other" atoms (grain boundaries, and the free
  surfaces of the slab) the label of the nearest labelled atom.

The defective sample removes 20 % of the atoms and displaces the rest by up to 1 % of d_NN; its
atoms keep the labels of the pristine sample, and PTM's own accuracy on it is reported beside.

    python -m ovito_arise.benchmarks.grains [--mode exact] [--box 16] [--stride 3]
"""

import argparse
import time
from pathlib import Path

import numpy as np
from ase.io import read
from scipy.spatial import cKDTree
from sklearn.metrics import roc_auc_score

from ase_arise import label
from ase_arise.build import four_grains_path
from ase_arise.defects import defective_copy

from .peers import as_prototypes, ptm_labels

TRUTH = "ptm_truth"
INTERIOR = "ptm_interior"
GRAIN = "grain"


def interior_atoms(positions, labels, *, n_neighbors=12):
    """Atoms whose ``n_neighbors`` nearest atoms share their label (non-periodic sample)."""
    _, near = cKDTree(positions).query(positions, k=n_neighbors + 1)
    return np.all(labels[near[:, 1:]] == labels[:, None], axis=1)


def ground_truth(atoms):
    """A copy of the sample carrying PTM's prototype per atom and the interior flag.

    ``arrays["ptm_truth"]`` holds the index into the sorted PTM prototype names found
    (``info["ptm_truth_names"]``; -1 for "Other"), ``arrays["ptm_interior"]`` the flag (1 or 0)
    and ``arrays["grain"]`` the grain (the nearest labelled atom's label for "Other" atoms).
    """
    prototypes = as_prototypes(ptm_labels(atoms))
    names = sorted({p for p in prototypes if p is not None})
    code = np.array([-1 if p is None else names.index(p) for p in prototypes])
    labelled = np.flatnonzero(code >= 0)
    _, nearest = cKDTree(atoms.positions[labelled]).query(atoms.positions)
    out = atoms.copy()
    out.arrays[TRUTH] = code
    out.arrays[INTERIOR] = (interior_atoms(atoms.positions, code) & (code >= 0)).astype(np.int8)
    out.arrays[GRAIN] = code[labelled[nearest]]
    out.info["ptm_truth_names"] = names
    return out


def box_classes(atoms, spm_result, *, mixed=0.8):
    """1 for boundary boxes, 0 for interior ones, -1 for those in between (see module doc)."""
    half = spm_result.box / 2
    low, high = atoms.positions.min(axis=0), atoms.positions.max(axis=0)
    grain = atoms.arrays[GRAIN]
    out = np.full(len(spm_result.centres), -1)
    members = cKDTree(atoms.positions).query_ball_point(spm_result.centres, r=half, p=np.inf)
    scanned = np.array([n > 1 for n in spm_result.shape])
    for b, (centre, inside) in enumerate(zip(spm_result.centres, members)):
        crosses_edge = np.any(scanned & ((centre - half < low) | (centre + half > high)))
        purity = np.bincount(grain[inside]).max() / len(inside) if inside else 0.0
        if crosses_edge or purity < mixed:
            out[b] = 1
        elif purity == 1.0:
            out[b] = 0
    return out


def box_grains(truth_atoms, result):
    """The grain most atoms of each box belong to (int array of shape (n_boxes,); -1: empty)."""
    members = cKDTree(truth_atoms.positions).query_ball_point(result.centres, r=result.box / 2,
                                                              p=np.inf)
    grain = truth_atoms.arrays[GRAIN]
    return np.array([np.bincount(grain[m]).argmax() if m else -1 for m in members])


def score(truth_atoms, **label_options):
    """Interior accuracy and boundary ROC AUC of ARISE on a sample carrying PTM's truth.

    Returns
    -------
    dict
        interior_accuracy, boundary_auc (of the uncertainty), mi_auc, n_interior_atoms,
        n_interior_boxes,
        n_boundary_boxes, seconds, and by_grain: for each grain (PTM's name), the boxes most of
        whose atoms belong to it: interior and boundary counts, median MI (bits) of each, and
        the ROC AUC among them alone (all of the uncertainty).
    """
    started = time.perf_counter()
    labels = label(truth_atoms, **label_options)
    seconds = time.perf_counter() - started
    interior = truth_atoms.arrays[INTERIOR] == 1
    correct = labels.names[interior] == expected_prototypes(truth_atoms)[interior]
    boxes = box_classes(truth_atoms, labels.spm)
    usable = (boxes >= 0) & labels.spm.valid
    uncertainty = labels.spm.uncertainty
    majority = box_grains(truth_atoms, labels.spm)
    by_grain = {}
    for g, name in enumerate(truth_atoms.info["ptm_truth_names"]):
        mine = usable & (majority == g)
        inner, outer = mine & (boxes == 0), mine & (boxes == 1)
        by_grain[name] = {
            "n_interior_boxes": int(inner.sum()), "n_boundary_boxes": int(outer.sum()),
            "median_interior": float(np.median(uncertainty[inner])) if inner.any() else None,
            "median_boundary": float(np.median(uncertainty[outer])) if outer.any() else None,
            "auc": float(roc_auc_score(boxes[mine], uncertainty[mine]))
            if inner.any() and outer.any() else None}
    return {
        "interior_accuracy": float(correct.mean()),
        "boundary_auc": float(roc_auc_score(boxes[usable], uncertainty[usable])),
        "mi_auc": float(roc_auc_score(boxes[usable], labels.spm.mutual_information[usable])),
        "n_interior_atoms": int(interior.sum()),
        "n_interior_boxes": int((usable & (boxes == 0)).sum()),
        "n_boundary_boxes": int((usable & (boxes == 1)).sum()),
        "seconds": seconds,
        "by_grain": by_grain,
    }


def defective_sample(truth_atoms, *, missing=0.2, displacement=0.01, random_state=0):
    """The sample with ``missing`` of its atoms removed and the rest displaced by up to
    ``displacement`` × d_NN; the truth arrays follow the surviving atoms."""
    return defective_copy(truth_atoms, displacement=displacement, missing=missing,
                          random_state=random_state)


def ptm_interior_accuracy(truth_atoms):
    """PTM's own accuracy on the interior atoms of a (possibly defective) sample."""
    interior = truth_atoms.arrays[INTERIOR] == 1
    found = as_prototypes(ptm_labels(truth_atoms))[interior]
    return float(np.mean(found == expected_prototypes(truth_atoms)[interior]))


def expected_prototypes(truth_atoms):
    """PTM's prototype name per atom of a sample from :func:`ground_truth` (None: "Other")."""
    names = np.array(list(truth_atoms.info["ptm_truth_names"]) + [None], dtype=object)
    return names[truth_atoms.arrays[TRUTH]]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default=str(four_grains_path()),
                        help="non-periodic extxyz sample (default: the paper's four grains)")
    parser.add_argument("--mode", default="auto", help="SPM mode: auto, exact or fast")
    parser.add_argument("--box", type=float, default=16.0, help="box edge (Å)")
    parser.add_argument("--stride", type=float, default=3.0, help="box step (Å)")
    parser.add_argument("--random-state", "--seed", dest="random_state", type=int, default=0,
                        metavar="SEED", help="defects and dropout masks")
    args = parser.parse_args(argv)
    path = Path(args.sample)
    if not path.exists():
        parser.error(f"{path} not found: pass --sample")
    pristine = ground_truth(read(path, format="xyz"))
    samples = {"pristine": pristine,
               "20 % missing + 1 % displaced": defective_sample(pristine,
                                                                random_state=args.random_state)}
    print(f"{path.name}: {len(pristine)} atoms, {int(pristine.arrays[INTERIOR].sum())} interior "
          f"(PTM); box {args.box:g} Å, stride {args.stride:g} Å, mode {args.mode}\n")
    print("| sample | ARISE interior accuracy | PTM interior accuracy | boundary ROC AUC: "
          "uncertainty (MI alone) | interior / boundary boxes | ARISE time (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    results = {}
    for name, sample in samples.items():
        result = results[name] = score(sample, box=args.box, stride=args.stride,
                                       mode=args.mode, random_state=args.random_state)
        print(f"| {name} | {100 * result['interior_accuracy']:.1f} % | "
              f"{100 * ptm_interior_accuracy(sample):.1f} % | {result['boundary_auc']:.3f} "
              f"({result['mi_auc']:.3f}) | "
              f"{result['n_interior_boxes']} / {result['n_boundary_boxes']} | "
              f"{result['seconds']:.1f} |")
    print("\nBy the grain holding most of a box's atoms (AUC among those boxes alone):\n")
    print("| sample | grain | interior / boundary boxes | median uncertainty interior / "
          "boundary (bit) | boundary ROC AUC |")
    print("|---|---|---:|---:|---:|")
    for name, result in results.items():
        for grain, part in result["by_grain"].items():
            medians = " / ".join("—" if m is None else f"{m:.3f}" for m in (
                part["median_interior"], part["median_boundary"]))
            auc = "—" if part["auc"] is None else f"{part['auc']:.3f}"
            print(f"| {name} | {grain} | {part['n_interior_boxes']} / "
                  f"{part['n_boundary_boxes']} | {medians} | {auc} |")


if __name__ == "__main__":
    main()
