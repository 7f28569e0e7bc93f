"""HDBSCAN clustering of hidden-layer representations, and the clusters back in real space.

Paper, Methods "Unsupervised learning": HDBSCAN (here scikit-learn's) finds dense groups of
boxes in representation space; boxes in no cluster are outliers, found at grain boundaries and
at the sample's border (Fig. 2d). For very distorted data (the nanoparticles of Fig. 4c) the
paper re-assigned outliers by HDBSCAN's soft clustering: each point joins the cluster of its
highest membership probability, or stays an outlier when every probability is below 10 %.
scikit-learn's HDBSCAN has no soft clustering, so ``soft_threshold`` uses a neighbourhood
membership instead (:func:`cluster`; docs/DECISIONS.md).
"""

import numbers
from dataclasses import dataclass

import numpy as np

from .._validation import check_scalar
from ..errors import InputError, InputTypeError
from ..labels import gather, nearest_boxes

# Default minimum cluster size, as a fraction of the points (the paper: 500 of 7,968 boxes).
DEFAULT_MIN_CLUSTER_SIZE = 0.05


@dataclass(frozen=True)
class Clustering:
    """Clusters of points (boxes or structures) in representation space.

    Attributes
    ----------
    labels : ndarray of shape (n,), int64
        Cluster 0 ... n_clusters - 1; -1 for outliers and for rows without a representation.
    strength : ndarray of shape (n,), float64
        With the hard rule HDBSCAN's membership strength of a point in its cluster (0-1, 0 for
        outliers); with the soft rule the point's highest soft membership. NaN for rows
        without a representation.
    membership : ndarray of shape (n, n_clusters), float64, or None
        Soft membership of each point in each cluster (rows sum to <= 1), with the soft rule.
    valid : ndarray of shape (n,), bool
        Rows that had a representation (finite values).
    n_clusters : int
    min_cluster_size : int
        The minimum cluster size used (a fraction given is resolved against the valid rows).
    min_samples : int
        HDBSCAN's density neighbourhood (also the neighbours of the soft rule).
    soft_threshold : float or None
        None: HDBSCAN's own outliers; else the soft rule's threshold.
    metric : str
        Distance in representation space.
    """

    labels: np.ndarray
    strength: np.ndarray
    membership: np.ndarray
    valid: np.ndarray
    n_clusters: int
    min_cluster_size: int
    min_samples: int
    soft_threshold: float
    metric: str

    @property
    def outliers(self):
        """Rows with a representation that belong to no cluster (bool array of shape (n,))."""
        return self.valid & (self.labels < 0)

    def sizes(self):
        """Points per cluster (ndarray of shape (n_clusters,), int64)."""
        return np.bincount(self.labels[self.labels >= 0], minlength=self.n_clusters)

    def take(self, index):
        """Cluster labels of the rows ``index`` (int array; -1 entries give -1), for example the
        box of each atom from :func:`ase_arise.labels.nearest_boxes`."""
        return gather(self.labels, np.asarray(index, dtype=np.int64), -1)

    def __repr__(self):
        rule = "HDBSCAN outliers" if self.soft_threshold is None else (
            f"soft threshold {self.soft_threshold:g}")
        return (f"Clustering({self.n_clusters} clusters of sizes {self.sizes().tolist()}, "
                f"{int(self.outliers.sum())} outliers of {int(self.valid.sum())} points; "
                f"min_cluster_size={self.min_cluster_size}, min_samples={self.min_samples}, "
                f"{rule}, {self.metric})")


def cluster(representations, *, min_cluster_size=DEFAULT_MIN_CLUSTER_SIZE, min_samples=None,
            soft_threshold=None, metric="euclidean"):
    """Cluster representations with HDBSCAN (scikit-learn).

    Parameters
    ----------
    representations : array_like of shape (n, width)
        One row per box or structure (:func:`box_representations`,
        :func:`ase_arise.representations`); rows with NaN are left out (label -1).
    min_cluster_size : int or float, default=0.05
        Smallest group HDBSCAN calls a cluster: a number of points (>= 2), or a fraction of
        the valid rows in (0, 1). On the four-grain polycrystal 2-11 % of the boxes give the
        four grains (docs/DECISIONS.md); smaller values split grains, larger ones merge them.
    min_samples : int, optional
        Neighbours that define a point's density (default: ``min_cluster_size``, as
        scikit-learn); larger values call more points outliers.
    soft_threshold : float in (0, 1], optional
        None: outliers are HDBSCAN's noise points. A threshold: every point takes the cluster
        of its highest soft membership, and is an outlier only if that membership is below
        the threshold (the paper used 0.1 for its nanoparticles). A point's membership in a
        cluster is the share of its ``min_samples`` nearest other points that HDBSCAN put in
        that cluster (:func:`soft_membership`).
    metric : str, default="euclidean"
        Any metric scikit-learn's HDBSCAN accepts ("euclidean", "cosine", "manhattan", ...).

    Returns
    -------
    Clustering

    Raises
    ------
    InputError
        Too few valid rows for the cluster size, or a bad parameter value.
    """
    X = np.asarray(representations, dtype=np.float64)
    if X.ndim != 2:
        raise InputError(f"The representations must be a 2D array (n, width); got shape "
                         f"{X.shape}.")
    valid = np.isfinite(X).all(axis=1)
    n = int(valid.sum())
    size = _cluster_size(min_cluster_size, n)
    samples = size if min_samples is None else check_scalar(
        min_samples, "min_samples", kind=numbers.Integral, low=1, low_inclusive=True)
    if soft_threshold is not None:
        soft_threshold = check_scalar(soft_threshold, "soft_threshold", low=0.0, high=1.0)
    if not isinstance(metric, str):
        raise InputTypeError(f"The 'metric' parameter must be a str. Got {metric!r} instead.")
    if n <= max(size, samples):
        raise InputError(f"Only {n} of {len(X)} rows have a representation: too few for "
                         f"min_cluster_size={size} and min_samples={samples}. Lower them, or "
                         "scan with a smaller stride.")
    from sklearn.cluster import HDBSCAN  # here: scikit-learn costs 0.6 s to import

    fit = HDBSCAN(min_cluster_size=size, min_samples=samples, metric=metric, copy=True).fit(
        X[valid])
    labels = np.full(len(X), -1, dtype=np.int64)
    labels[valid] = fit.labels_
    strength = np.full(len(X), np.nan)
    strength[valid] = fit.probabilities_
    n_clusters = int(fit.labels_.max()) + 1
    membership = None
    if soft_threshold is not None and n_clusters:
        membership = np.full((len(X), n_clusters), np.nan)
        membership[valid] = soft_membership(X[valid], fit.labels_, n_neighbors=samples,
                                            metric=metric)
        best = membership[valid].max(axis=1)
        labels[valid] = np.where(best >= soft_threshold,
                                 membership[valid].argmax(axis=1), -1)
        strength[valid] = best
    return Clustering(labels, strength, membership, valid, n_clusters, size, samples,
                      soft_threshold, metric)


def _cluster_size(value, n):
    """A minimum cluster size given as a count (int >= 2) or a fraction of ``n`` in (0, 1)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return check_scalar(value, "min_cluster_size", kind=numbers.Integral, low=2,
                            low_inclusive=True)
    fraction = check_scalar(value, "min_cluster_size", low=0.0, high=1.0)
    if fraction == 1.0:
        raise InputError("The 'min_cluster_size' parameter must be an int >= 2 or a fraction "
                         "in (0, 1). Got 1.0 instead.")
    return max(2, round(fraction * n))


def soft_membership(X, labels, *, n_neighbors, metric="euclidean"):
    """Soft membership of points in HDBSCAN clusters, from their nearest neighbours.

    Membership of point i in cluster c: the fraction of i's ``n_neighbors`` nearest other
    points that HDBSCAN put in c. A point inside a cluster has membership ~1 there, also when
    HDBSCAN called it noise; a point among noise points (a group too small to be a cluster,
    a grain boundary) has low memberships everywhere. A lone point far from everything takes
    the cluster of its nearest points: HDBSCAN's own outliers (no soft threshold) find those.
    Tried on the four-grain sample and dropped, because each made more outliers than HDBSCAN
    instead of fewer (docs/DECISIONS.md): weighting neighbours by HDBSCAN's strength, counting
    only mutual neighbours, and scaling by the point's density relative to the cluster's.

    Parameters
    ----------
    X : ndarray of shape (n, width)
    labels : ndarray of shape (n,), int
        HDBSCAN labels (-1 noise).
    n_neighbors : int
    metric : str, default="euclidean"

    Returns
    -------
    ndarray of shape (n, n_clusters), float64
        Rows sum to at most 1 (the rest: noise neighbours).
    """
    from sklearn.neighbors import NearestNeighbors

    n_clusters = int(labels.max()) + 1
    k = min(n_neighbors, len(X) - 1)
    _, near = NearestNeighbors(n_neighbors=k, metric=metric).fit(X).kneighbors()
    return np.stack([(labels[near] == c).mean(axis=1) for c in range(n_clusters)], axis=1)


def atom_clusters(atoms, result, clustering):
    """Cluster label of each atom, from the boxes of an SPM scan.

    Each atom takes the cluster of the nearest box centre among the boxes with a prediction
    that contain it (the rule of :func:`ase_arise.label`).

    Parameters
    ----------
    atoms : ase.Atoms
        The sample that was scanned.
    result : SPMResult
        The scan.
    clustering : Clustering
        Of the scan's boxes (one row per box).

    Returns
    -------
    ndarray of shape (n_atoms,), int64
        -1 for outliers and atoms in no box with a prediction.
    """
    if len(clustering.labels) != len(result.centres):
        raise InputError(f"The clustering has {len(clustering.labels)} rows but the scan has "
                         f"{len(result.centres)} boxes: cluster the scan's box representations.")
    return clustering.take(nearest_boxes(atoms, result, mi_weight=0.0,
                                         order_weight=0.0))
