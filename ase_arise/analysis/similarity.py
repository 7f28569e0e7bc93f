"""Cosine similarity of structures in the network's representation space (paper Fig. 3d)."""

import numpy as np

from ..classify import representations
from ..errors import InputError
from .representations import activated

# The paper's Fig. 3d compares structures in the second hidden layer.
SIMILARITY_LAYER = 2


def cosine_similarity(representations, other=None):
    """Pairwise cosine similarity of representations.

    Parameters
    ----------
    representations : array_like of shape (n, width)
    other : array_like of shape (m, width), optional
        Compared with ``representations`` (default: ``representations`` itself).

    Returns
    -------
    ndarray of shape (n, m), float64
        x·y / (|x| |y|) in [-1, 1]; NaN in rows and columns of inputs with NaN values. An
        all-zero vector (possible after the ReLU) has similarity 0 with everything.
    """
    from sklearn.metrics.pairwise import cosine_similarity as pairwise_cosine

    X = _matrix(representations, "representations")
    Y = X if other is None else _matrix(other, "other")
    if X.shape[1] != Y.shape[1]:
        raise InputError(f"Cannot compare representations of width {X.shape[1]} with width "
                         f"{Y.shape[1]}: take both from the same layer.")
    rows, cols = np.isfinite(X).all(axis=1), np.isfinite(Y).all(axis=1)
    out = np.full((len(X), len(Y)), np.nan)
    if rows.any() and cols.any():
        out[np.ix_(rows, cols)] = pairwise_cosine(X[rows], Y[cols])
    return out


def _matrix(values, name):
    X = np.asarray(values, dtype=np.float64)
    if X.ndim != 2:
        raise InputError(f"The '{name}' must be a 2D array (n, width); got shape {X.shape}.")
    return X


def similarity_matrix(structures, *, layer=SIMILARITY_LAYER, activation=False, model=None):
    """Cosine-similarity matrix of structures from their hidden-layer representations.

    Parameters
    ----------
    structures : iterable of ase.Atoms, or path
        A list of structures, an ASE database or a trajectory (every frame).
    layer : int, default=2
        Hidden layer 1, 2 or 3 (the paper's Fig. 3d: the second).
    activation : bool, default=False
        Values before the ReLU (False) or after it (True).
    model : None, path or ARISEModel

    Returns
    -------
    ndarray of shape (n_structures, n_structures), float64
    """
    X = representations(structures, model=model, layer=layer)
    return cosine_similarity(activated(X, activation))
