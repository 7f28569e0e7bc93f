"""matplotlib figures of the unsupervised analysis: maps coloured by cluster, prediction or
uncertainty (paper Fig. 2d-g), clusters in real space, similarity matrices (Fig. 3d).

Clusters keep one colour in every figure: outliers orange (as in the paper), clusters the
tab10 colours without orange, then tab20b and tab20c. matplotlib is imported when a figure is
drawn, so that ``import ase_arise`` stays light.
"""

import numbers

import numpy as np

from .._validation import check_scalar
from ..errors import InputError

OUTLIER_COLOR = "tab:orange"
NO_DATA_COLOR = (0.85, 0.85, 0.85, 1.0)


def cluster_palette(n_clusters):
    """RGBA colours of clusters 0 ... n_clusters - 1 (ndarray of shape (n_clusters, 4))."""
    from matplotlib import colormaps
    from matplotlib.colors import to_rgba

    base = [c for c in colormaps["tab10"].colors if to_rgba(c) != to_rgba(OUTLIER_COLOR)]
    base += list(colormaps["tab20b"].colors) + list(colormaps["tab20c"].colors)
    return np.array([to_rgba(base[k % len(base)]) for k in range(n_clusters)]).reshape(-1, 4)


def cluster_colors(labels):
    """RGBA colour of each cluster label (-1: outlier orange); ndarray of shape (n, 4)."""
    from matplotlib.colors import to_rgba

    labels = np.asarray(labels, dtype=np.int64)
    palette = np.vstack([cluster_palette(int(labels.max(initial=-1)) + 1),
                         [to_rgba(OUTLIER_COLOR)]])
    return palette[np.where(labels >= 0, labels, -1)]


def _axes(ax):
    import matplotlib.pyplot as plt

    return plt.figure().add_subplot() if ax is None else ax


def _cluster_legend(ax, labels, **options):
    from matplotlib.patches import Patch

    present = np.unique(labels)
    colours = cluster_colors(present)
    handles = [Patch(color=c, label="outlier" if k < 0 else f"cluster {k}")
               for k, c in zip(present, colours)]
    ax.legend(handles=handles, **options)


def plot_embedding(embedding, values, *, ax=None, title=None, label=None, size=None):
    """Scatter a 2D map, coloured by ``values``.

    Parameters
    ----------
    embedding : Embedding
    values : array_like of shape (n,)
        Integers: cluster labels (-1 outliers). Strings (or None): categories, such as
        predicted prototype names, one colour each, the most frequent first in the clusters'
        palette (orange stays the outliers'; None: "no prediction", grey). Floats: a colour
        scale (mutual information, bits), NaN grey.
    ax : matplotlib Axes, optional
    title, label : str, optional
        Axes title; colour-bar label of float values.
    size : float, optional
        Marker area (default: smaller for more points).

    Returns
    -------
    matplotlib Axes
    """
    from matplotlib.patches import Patch

    ax = _axes(ax)
    values = np.asarray(values)
    if len(values) != len(embedding.coordinates):
        raise InputError(f"{len(values)} values for {len(embedding.coordinates)} points: give "
                         "one value per row of the embedding.")
    shown = embedding.valid
    xy = embedding.coordinates[shown]
    values = values[shown]
    size = size or float(np.clip(3000 / max(len(xy), 1), 2, 40))
    if values.dtype.kind in "iu":
        ax.scatter(*xy.T, c=cluster_colors(values), s=size, linewidths=0)
        _cluster_legend(ax, values, fontsize="small")
    elif values.dtype.kind in "OUS":
        names = np.array(["no prediction" if v is None else str(v) for v in values])
        found, counts = np.unique(names, return_counts=True)
        order = [n for n in found[np.argsort(-counts, kind="stable")] if n != "no prediction"]
        colours = dict(zip(order, map(tuple, cluster_palette(len(order)))))
        colours["no prediction"] = NO_DATA_COLOR
        ax.scatter(*xy.T, c=[colours[n] for n in names], s=size, linewidths=0)
        ax.legend(handles=[Patch(color=colours[n], label=n) for n in colours if n in found],
                  fontsize="small")
    else:
        values = values.astype(np.float64)
        nan = ~np.isfinite(values)
        ax.scatter(*xy[nan].T, color=NO_DATA_COLOR, s=size, linewidths=0)
        image = ax.scatter(*xy[~nan].T, c=values[~nan], s=size, linewidths=0, cmap="viridis")
        ax.figure.colorbar(image, ax=ax, label=label)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(f"{embedding.method.upper()} 1")
    ax.set_ylabel(f"{embedding.method.upper()} 2")
    if title:
        ax.set_title(title)
    return ax


def plot_cluster_map(result, clustering, *, axis=2, index=None, ax=None):
    """Clusters of SPM boxes on one plane of the scan grid (paper Fig. 2d).

    Parameters
    ----------
    result : SPMResult
        The scan (a grid, not boxes centred on atoms).
    clustering : Clustering
        One row per box of ``result``.
    axis, index, ax
        The plane and the axes, as in :meth:`ase_arise.SPMResult.plot_slice`.

    Returns
    -------
    matplotlib Axes
    """
    if len(result.shape) != 3:
        raise InputError("plot_cluster_map needs a scan grid; boxes centred on atoms have "
                         "none (map atoms with atom_clusters and plot_atom_clusters).")
    if len(clustering.labels) != len(result.centres):
        raise InputError(f"The clustering has {len(clustering.labels)} rows but the scan has "
                         f"{len(result.centres)} boxes.")
    axis = check_scalar(axis, "axis", kind=numbers.Integral, low=0, low_inclusive=True, high=2)
    index = result.shape[axis] // 2 if index is None else index
    colours = cluster_colors(clustering.labels)
    colours[~clustering.valid] = (1.0, 1.0, 1.0, 0.0)
    plane = np.take(colours.reshape(*result.shape, 4), index, axis=axis)
    ax = _axes(ax)
    ax.imshow(plane.transpose(1, 0, 2), origin="lower", interpolation="nearest")
    _cluster_legend(ax, clustering.labels[clustering.valid], fontsize="small")
    rest = [k for k in range(3) if k != axis]
    ax.set_xlabel(f"box index along cell axis {rest[0]}")
    ax.set_ylabel(f"box index along cell axis {rest[1]}")
    ax.set_title(f"clusters of SPM boxes ({result.box:g} Å, stride {result.stride:g} Å)")
    return ax


def plot_atom_clusters(atoms, labels, *, axes=(0, 1), ax=None, size=None):
    """Atoms coloured by cluster, projected on two Cartesian axes (paper Fig. 2d).

    Parameters
    ----------
    atoms : ase.Atoms
    labels : array_like of shape (n_atoms,), int
        Per-atom clusters (:func:`atom_clusters`; -1 outliers).
    axes : pair of int, default=(0, 1)
        Cartesian axes shown (x, y).
    ax : matplotlib Axes, optional
    size : float, optional
        Marker area.

    Returns
    -------
    matplotlib Axes
    """
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(atoms):
        raise InputError(f"{len(labels)} labels for {len(atoms)} atoms: give one per atom.")
    if sorted(axes) not in ([0, 1], [0, 2], [1, 2]):
        raise InputError(f"The 'axes' parameter must be two different axes of 0, 1, 2. Got "
                         f"{axes!r} instead.")
    ax = _axes(ax)
    xy = atoms.positions[:, list(axes)]
    order = np.argsort(atoms.positions[:, 3 - sum(axes)])  # draw the front atoms last
    ax.scatter(*xy[order].T, c=cluster_colors(labels[order]), linewidths=0,
               s=size or float(np.clip(2e4 / len(atoms), 1, 30)))
    _cluster_legend(ax, labels, fontsize="small")
    ax.set_aspect("equal")
    ax.set_xlabel(f"{'xyz'[axes[0]]} (Å)")
    ax.set_ylabel(f"{'xyz'[axes[1]]} (Å)")
    return ax


def plot_similarity(matrix, *, names=None, ax=None, cmap="viridis"):
    """A similarity matrix as an image (paper Fig. 3d).

    Parameters
    ----------
    matrix : array_like of shape (n, m)
        From :func:`cosine_similarity` or :func:`similarity_matrix`.
    names : sequence of str, optional
        Tick labels (rows, and columns when square).
    ax : matplotlib Axes, optional
    cmap : str, default="viridis"

    Returns
    -------
    matplotlib Axes
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2:
        raise InputError(f"The similarity matrix must be 2D; got shape {matrix.shape}.")
    ax = _axes(ax)
    low = min(0.0, float(np.nanmin(matrix))) if np.isfinite(matrix).any() else 0.0
    image = ax.imshow(matrix, cmap=cmap, vmin=low, vmax=1.0, interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label="cosine similarity")
    if names is not None:
        names = [str(n) for n in names]
        if len(names) != matrix.shape[0]:
            raise InputError(f"{len(names)} names for {matrix.shape[0]} rows.")
        ax.set_yticks(range(len(names)), names, fontsize="small")
        if matrix.shape[0] == matrix.shape[1]:
            ax.set_xticks(range(len(names)), names, rotation=90, fontsize="small")
    return ax
