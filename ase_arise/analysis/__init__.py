"""What the network has learned: unsupervised analysis of ARISE's hidden representations.

Paper: Leitherer, Ziletti & Ghiringhelli, Nature Communications 12, 6234 (2021), Fig. 2d-g, 3d,
4b and Methods "Unsupervised learning". The hidden-layer values of the network (dropout off)
place every SPM box, or structure, in a 256- or 512-dimensional space in which similar
environments lie close together. Density-based clustering there finds grains without labels,
its outliers mark grain boundaries and the sample's border, a 2D map shows the picture, and the
cosine similarity of two structures' representations measures how alike the network sees
them::

    from ase_arise import spm
    from ase_arise.build import four_grains
    from ase_arise.analysis import atom_clusters, box_representations, cluster, embed

    atoms = four_grains()                         # the paper's four-grain sample
    maps = spm(atoms, box=16.0, stride=3.0, keep_descriptors=True)
    X = box_representations(maps, layer=3)        # (n_boxes, 256), NaN rows: no prediction
    clusters = cluster(X, min_cluster_size=0.05)  # HDBSCAN; labels -1 = outliers
    xy = embed(X)                                 # UMAP if installed, else t-SNE
    per_atom = atom_clusters(atoms, maps, clusters)
"""

from .clustering import Clustering, atom_clusters, cluster, soft_membership
from .embedding import Embedding, embed, umap_available
from .plots import (cluster_colors, plot_atom_clusters, plot_cluster_map, plot_embedding,
                    plot_similarity)
from .representations import box_representations
from .similarity import cosine_similarity, similarity_matrix

__all__ = [
    "Clustering",
    "Embedding",
    "atom_clusters",
    "box_representations",
    "cluster",
    "cluster_colors",
    "cosine_similarity",
    "embed",
    "plot_atom_clusters",
    "plot_cluster_map",
    "plot_embedding",
    "plot_similarity",
    "similarity_matrix",
    "soft_membership",
    "umap_available",
]
