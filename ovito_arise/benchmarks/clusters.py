"""Clusters of ARISE's hidden representations on the paper's four-grain polycrystal, scored
against PTM's grains (paper Fig. 2d; issue 8).

The boxes of one scan (box 16 Å, exact mode) are clustered with HDBSCAN for every hidden
layer, before and after the ReLU, several minimum cluster sizes and both outlier rules.
Boxes are split as in :func:`ovito_arise.grain_benchmark.box_classes`: *interior* boxes hold
>= 80 % atoms of one grain and lie inside the sample, *boundary* boxes are mixed or reach past
the border. Scores:

- agreement: each cluster is given the grain most of its interior boxes belong to; the
  fraction of interior boxes whose cluster's grain is their own (outliers count as wrong);
- outliers among interior boxes and among boundary boxes, and the ratio of the two.

    python -m ovito_arise.benchmarks.clusters [--stride 4] [--sizes 0.02,0.05,0.1]
"""

import argparse
import time
import warnings

import numpy as np

from ase_arise import box_representations, cluster, spm
from ase_arise.build import four_grains
from ase_arise.errors import IsolatedAtomsWarning

from .grains import box_classes, box_grains, defective_sample, ground_truth


def scan(truth_atoms, *, box=16.0, stride=4.0, random_state=0):
    """The SPM scan with descriptors, each box's grain, and the interior and boundary boxes
    (bool arrays; boxes without a prediction are neither)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IsolatedAtomsWarning)  # the slab's corner boxes
        result = spm(truth_atoms, box=box, stride=stride, keep_descriptors=True,
                     random_state=random_state)
    classes = box_classes(truth_atoms, result)
    interior = (classes != 1) & result.valid
    boundary = (classes == 1) & result.valid
    return result, box_grains(truth_atoms, result), interior, boundary


def grain_of_cluster(clustering, grains, interior):
    """Each cluster's grain: the one most of its interior boxes belong to (dict; -1: none)."""
    out = {}
    for k in range(clustering.n_clusters):
        mine = grains[interior & (clustering.labels == k)]
        out[k] = int(np.bincount(mine).argmax()) if len(mine) else -1
    return out


def scores(clustering, grains, interior, boundary):
    """Agreement of clusters with grains and where the outliers are (see module doc).

    Returns
    -------
    dict
        n_clusters, grains_found (distinct grains the clusters stand for), agreement,
        outliers_interior, outliers_boundary (fractions).
    """
    grain = grain_of_cluster(clustering, grains, interior)
    found = np.array([grain.get(k, -1) for k in clustering.labels])
    return {
        "n_clusters": clustering.n_clusters,
        "grains_found": len({g for g in grain.values() if g >= 0}),
        "agreement": float(np.mean(found[interior] == grains[interior])),
        "outliers_interior": float(clustering.outliers[interior].mean()),
        "outliers_boundary": float(clustering.outliers[boundary].mean()),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stride", type=float, default=4.0, help="box step (Å)")
    parser.add_argument("--box", type=float, default=16.0, help="box edge (Å)")
    parser.add_argument("--sizes", default="0.02,0.05,0.1",
                        help="minimum cluster sizes, fractions of the boxes")
    parser.add_argument("--random-state", "--seed", dest="random_state", type=int,
                        default=0, metavar="SEED", help="defects and dropout masks")
    args = parser.parse_args(argv)
    sizes = [float(s) for s in args.sizes.split(",")]
    pristine = ground_truth(four_grains())
    samples = {"pristine": pristine,
               "20 % missing + 1 % displaced": defective_sample(pristine,
                                                                random_state=args.random_state)}
    print(f"four-grain polycrystal, box {args.box:g} Å, stride {args.stride:g} Å\n")
    print("| sample | layer | ReLU | min cluster size | outlier rule | clusters (grains) | "
          "agreement | outliers interior / boundary | ratio |")
    print("|---|---:|---|---:|---|---:|---:|---:|---:|")
    for name, sample in samples.items():
        started = time.perf_counter()
        result, grains, interior, boundary = scan(sample, box=args.box, stride=args.stride,
                                                  random_state=args.random_state)
        seconds = time.perf_counter() - started
        for layer in (1, 2, 3):
            for activation in (False, True):
                X = box_representations(result, layer=layer, activation=activation)
                for size in sizes:
                    for soft in (None, 0.5):
                        s = scores(cluster(X, min_cluster_size=size, soft_threshold=soft),
                                   grains, interior, boundary)
                        ratio = (f"{s['outliers_boundary'] / s['outliers_interior']:.1f}"
                                 if s["outliers_interior"] else "∞")
                        print(f"| {name} | {layer} | {'after' if activation else 'before'} "
                              f"| {size:g} | {'HDBSCAN' if soft is None else f'soft {soft}'} "
                              f"| {s['n_clusters']} ({s['grains_found']}) "
                              f"| {s['agreement']:.3f} | {s['outliers_interior']:.3f} / "
                              f"{s['outliers_boundary']:.3f} | {ratio} |")
        print(f"\n{name}: {int(interior.sum())} interior, {int(boundary.sum())} boundary "
              f"boxes of {len(result.centres)}; scan {seconds:.1f} s\n")


if __name__ == "__main__":
    main()
