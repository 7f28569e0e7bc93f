"""2D maps of representations: UMAP (the paper's, optional) or scikit-learn's t-SNE or PCA.

Points close in the map are boxes (or structures) the network represents alike (paper Fig.
2e-g, 4b). UMAP needs the optional extra ``pip install "arise-crystal-recognition[umap]"``;
its first call in a process spends 15-45 s compiling (numba). Without it, ``method="auto"`` takes
t-SNE, which keeps neighbourhoods as UMAP does but not the distances between clusters.
"""

import importlib.util
import numbers
from dataclasses import dataclass

import numpy as np

from .._validation import check_scalar
from ..errors import InputError

METHODS = ("auto", "umap", "tsne", "pca")
# t-SNE runs on the first principal components when the representation is wider.
TSNE_PCA_COMPONENTS = 50


@dataclass(frozen=True)
class Embedding:
    """A 2D map of representations.

    Attributes
    ----------
    coordinates : ndarray of shape (n, 2), float64
        Map coordinates (no units, only distances between points are meaningful); NaN rows for
        inputs without a representation.
    method : str
        "umap", "tsne" or "pca" (the one used, also when "auto" chose it).
    n_neighbors : int
        UMAP's neighbours (t-SNE: perplexity n_neighbors / 3; unused by PCA).
    min_dist : float
        UMAP's minimum distance (unused otherwise).
    random_state : int or None
        The seed used.
    """

    coordinates: np.ndarray
    method: str
    n_neighbors: int
    min_dist: float
    random_state: int

    @property
    def valid(self):
        """Rows with coordinates (bool array of shape (n,))."""
        return np.isfinite(self.coordinates).all(axis=1)


def umap_available():
    """Whether umap-learn is installed (the ``umap`` extra)."""
    return importlib.util.find_spec("umap") is not None


def embed(representations, *, method="auto", n_neighbors=50, min_dist=0.1, random_state=0):
    """Project representations to 2D.

    Parameters
    ----------
    representations : array_like of shape (n, width)
        Rows with NaN are left out (NaN coordinates).
    method : {"auto", "umap", "tsne", "pca"}, default="auto"
        "auto": UMAP when umap-learn is installed, else t-SNE (scikit-learn, Barnes-Hut, on the
        first 50 principal components). "pca" is linear and fast.
    n_neighbors : int, default=50
        Neighbourhood size: UMAP's ``n_neighbors`` (paper: 500 for 7,968 boxes, 50 for Fig.
        4c); t-SNE's perplexity is a third of it (t-SNE looks at 3 x perplexity neighbours).
        Capped at n - 1.
    min_dist : float, default=0.1
        UMAP's ``min_dist`` (paper: 0.1 in Supp. Fig. 6, 0.9 in Fig. 2e-g): larger spreads
        the points of a cluster.
    random_state : None or int, default=0
        Seed of UMAP, t-SNE and PCA's randomised solver. UMAP with a seed runs on one thread.

    Returns
    -------
    Embedding

    Raises
    ------
    InputError
        Fewer than 3 valid rows, an unknown method, or "umap" without umap-learn installed.
    """
    X = np.asarray(representations, dtype=np.float64)
    if X.ndim != 2:
        raise InputError(f"The representations must be a 2D array (n, width); got shape "
                         f"{X.shape}.")
    if method not in METHODS:
        raise InputError(f"The 'method' parameter must be one of {METHODS}. Got {method!r} "
                         "instead.")
    if method == "umap" and not umap_available():
        raise InputError("method='umap' needs umap-learn: pip install "
                         "\"arise-crystal-recognition[umap]\", or use method='tsne' or 'pca'.")
    n_neighbors = check_scalar(n_neighbors, "n_neighbors", kind=numbers.Integral, low=2,
                               low_inclusive=True)
    min_dist = check_scalar(min_dist, "min_dist", low=0.0, low_inclusive=True)
    if random_state is not None:
        random_state = check_scalar(random_state, "random_state", kind=numbers.Integral, low=0,
                                    low_inclusive=True)
    valid = np.isfinite(X).all(axis=1)
    n = int(valid.sum())
    if n < 3:
        raise InputError(f"Only {n} rows have a representation: a 2D map needs at least 3.")
    if method == "auto":
        method = "umap" if umap_available() else "tsne"
    from sklearn.decomposition import PCA  # here: scikit-learn is slow to import
    from sklearn.manifold import TSNE

    k = min(n_neighbors, n - 1)
    points = X[valid]
    if method == "umap":
        import umap

        # a seed makes UMAP single-threaded; say so rather than let it warn
        reducer = umap.UMAP(n_neighbors=k, min_dist=min_dist, n_components=2,
                            random_state=random_state,
                            n_jobs=1 if random_state is not None else -1)
        xy = reducer.fit_transform(points)
    elif method == "tsne":
        if points.shape[1] > TSNE_PCA_COMPONENTS and n > TSNE_PCA_COMPONENTS:
            points = PCA(TSNE_PCA_COMPONENTS, random_state=random_state).fit_transform(points)
        xy = TSNE(2, perplexity=k / 3, init="pca",
                  random_state=random_state).fit_transform(points)
    else:
        xy = PCA(2, random_state=random_state).fit_transform(points)
    coordinates = np.full((len(X), 2), np.nan)
    coordinates[valid] = xy
    return Embedding(coordinates, method, k, min_dist, random_state)
