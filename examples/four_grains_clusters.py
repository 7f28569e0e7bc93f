"""What ARISE has learned about the paper's four-grain polycrystal (Fig. 2d-g), without labels.

Strided pattern matching describes every 16 Å box of the slab; the network's hidden-layer
representations of the boxes (layer 3, before the ReLU) are clustered with HDBSCAN and mapped
to 2D (UMAP when umap-learn is installed, else t-SNE). The script prints, per cluster, how many
boxes it holds, what ARISE predicts for them and their uncertainty, and saves the four panels
of the paper's figure (``--output``): d the clusters on the atoms in real space (outliers
orange), e-g the 2D map coloured by cluster, by predicted prototype and by mutual information.
The clusters are the four grains; the outliers are the grain boundaries and the slab's border.

    python examples/four_grains_clusters.py [--stride 3] [--layer 3] [--output clusters.png]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ase_arise import atom_clusters, box_representations, cluster, embed, spm  # noqa: E402
from ase_arise.analysis import plot_atom_clusters, plot_embedding  # noqa: E402
from ase_arise.build import four_grains  # noqa: E402

PROTOTYPES = ("fcc", "bcc", "hcp", "diamond")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stride", type=float, default=3.0, help="box step (Å)")
    parser.add_argument("--box", type=float, default=16.0, help="box edge (Å)")
    parser.add_argument("--layer", type=int, default=3, help="hidden layer 1, 2 or 3")
    parser.add_argument("--min-cluster-size", type=float, default=0.05,
                        help="HDBSCAN's smallest cluster, fraction of the boxes")
    parser.add_argument("--embedding", default="auto", choices=("auto", "umap", "tsne", "pca"),
                        help="2D map (auto: UMAP if installed, else t-SNE)")
    parser.add_argument("--output", default="four_grains_clusters.png", help="PNG to write")
    args = parser.parse_args(argv)

    atoms = four_grains()  # the paper's sample, installed with arise
    maps = spm(atoms, box=args.box, stride=args.stride, keep_descriptors=True, progress=True)
    X = box_representations(maps, layer=args.layer)
    clusters = cluster(X, min_cluster_size=args.min_cluster_size)
    xy = embed(X, method=args.embedding, random_state=0)
    per_atom = atom_clusters(atoms, maps, clusters)

    valid = maps.valid
    names = np.array(maps.class_names, dtype=object)[maps.class_id]
    names[~valid] = None
    print(f"{len(atoms)} atoms, {len(maps.centres)} boxes ({maps.mode} mode, grid "
          f"{maps.shape}), {int(valid.sum())} with a prediction")
    print(f"hidden layer {args.layer} (before the ReLU): {clusters.n_clusters} clusters, "
          f"{int(clusters.outliers.sum())} outliers "
          f"({clusters.outliers.sum() / valid.sum():.0%} of the boxes), min_cluster_size "
          f"{clusters.min_cluster_size} boxes")
    mi = maps.mutual_information
    for k in range(clusters.n_clusters):
        mine = clusters.labels == k
        found, counts = np.unique(names[mine].astype(str), return_counts=True)
        top = found[np.argmax(counts)]
        print(f"  cluster {k}: {int(mine.sum()):4d} boxes, {counts.max() / mine.sum():4.0%} "
              f"predicted {top:8s} median MI {np.median(mi[mine]):.3f} bit, "
              f"{int((per_atom == k).sum())} atoms")
    print(f"  outliers : {int(clusters.outliers.sum()):4d} boxes, median MI "
          f"{np.median(mi[clusters.outliers]):.3f} bit (grain boundaries, the border), "
          f"{int((per_atom == -1).sum())} atoms")
    print(f"2D map: {xy.method}")

    shown = np.array([n if n in PROTOTYPES else ("other" if n else None) for n in names],
                     dtype=object)
    figure, axes = plt.subplots(2, 2, figsize=(13, 11))
    plot_atom_clusters(atoms, per_atom, ax=axes[0, 0])
    axes[0, 0].set_title("d  clusters in real space")
    plot_embedding(xy, clusters.labels, ax=axes[0, 1], title="e  coloured by cluster")
    plot_embedding(xy, shown, ax=axes[1, 0], title="f  coloured by ARISE prediction")
    plot_embedding(xy, mi, ax=axes[1, 1], label="mutual information (bit)",
                   title="g  coloured by mutual information")
    figure.suptitle(f"Four-grain polycrystal: HDBSCAN on hidden layer {args.layer}, box "
                    f"{args.box:g} Å, stride {args.stride:g} Å")
    figure.tight_layout()
    figure.savefig(args.output, dpi=100)
    print(f"saved {args.output}")


if __name__ == "__main__":
    main()
