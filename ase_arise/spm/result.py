"""The result of strided pattern matching: box predictions on the scan grid, and their plots."""

import json
import numbers
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .._validation import check_scalar
from ..errors import InputError
from ..model.other import NO_PREDICTION, NO_PREDICTION_NAME, OTHER, OTHER_NAME, decide, disorder
from ..prototypes import class_index


@dataclass(frozen=True)
class SPMResult:
    """ARISE predictions of the boxes of a strided-pattern-matching scan.

    Attributes
    ----------
    centres : ndarray of shape (n_boxes, 3), float64
        Box centres (Å), in the order of ``shape`` (C order).
    shape : tuple of int
        Scan grid (n0, n1, n2) along the cell axes (1 along an axis that is not scanned), or
        (n_atoms,) for boxes centred on the atoms.
    probabilities : ndarray of shape (n_boxes, n_classes), float32
        Mean MC-dropout probabilities; NaN rows for boxes without a prediction.
    mutual_information, entropy : ndarray of shape (n_boxes,), float64
        Of the MC-dropout passes, bits; NaN for boxes without a prediction. (``uncertainty``
        adds the box's ``disorder`` to the mutual information.)
    n_atoms : ndarray of shape (n_boxes,), int64
        Atoms (periodic images included) inside each box.
    class_names : tuple of str
        Output order of the model.
    box : float
        Box edge (Å).
    stride : float or None
        Scan step (Å); None for boxes centred on the atoms.
    mode : str
        "fast" or "exact" (the mode used, also when "auto" chose it).
    n_samples : int
        MC-dropout passes (at most, with adaptive sampling).
    tolerance : float or None
        Adaptive-sampling tolerance (None: every box got ``n_samples`` passes).
    passes : ndarray of shape (n_boxes,), int64
        MC-dropout passes each box got (0 without a prediction).
    min_atoms : int
        Boxes with fewer atoms have no prediction.
    descriptors : ndarray of shape (n_boxes, n_features), float64, or None
        The boxes' ARISE descriptors (NaN rows for boxes without a prediction), kept only when
        asked for (``keep_descriptors=True``); :func:`ase_arise.analysis.box_representations`
        turns them into hidden-layer representations.
    anisotropy : ndarray of shape (n_boxes,), float64
        The "Other" score of each box (share of its averaged SOAP power in l >= 1,
        :mod:`ase_arise.model.other`); NaN without a prediction.
    min_anisotropy : float
        Boxes below it are "Other" (class id -2).
    """

    centres: np.ndarray
    shape: tuple
    probabilities: np.ndarray
    mutual_information: np.ndarray
    entropy: np.ndarray
    n_atoms: np.ndarray
    class_names: tuple
    box: float
    stride: float
    mode: str
    n_samples: int
    tolerance: float
    passes: np.ndarray
    min_atoms: int
    descriptors: np.ndarray = None
    anisotropy: np.ndarray = None
    min_anisotropy: float = 0.0

    def __repr__(self):
        valid = self.valid
        grid = ("one box per atom" if self.stride is None else
                f"a {' x '.join(map(str, self.shape))} grid, stride {self.stride:g} Å")
        lines = [f"SPMResult({len(self.centres):,} boxes on {grid}, box {self.box:g} Å, "
                 f"{self.mode} mode; {int(valid.sum()):,} with a prediction"]
        if valid.any():
            ids, counts = np.unique(self.class_id[valid], return_counts=True)
            top = np.argsort(-counts, kind="stable")[:4]
            shares = ", ".join(f"{self.name_of(ids[k])} {counts[k] / valid.sum():.1%}"
                               for k in top)
            lines.append(f"  most probable: {shares}; median MI "
                         f"{np.median(self.mutual_information[valid]):.3f} bit")
        lines.append(f"  n_samples={self.n_samples}, tolerance={self.tolerance}, "
                     f"min_atoms={self.min_atoms}"
                     f"{', descriptors kept' if self.descriptors is not None else ''})")
        return "\n".join(lines)

    @property
    def valid(self):
        """Boxes with a prediction (bool array of shape (n_boxes,))."""
        return np.isfinite(self.mutual_information)

    @cached_property
    def _top(self):
        """(most probable prototype, its probability) per box, found once: -1 and NaN
        without a prediction."""
        valid = self.valid
        ids = np.full(len(self.centres), NO_PREDICTION, dtype=np.int64)
        top = np.full(len(self.centres), np.nan)
        rows = self.probabilities if valid.all() else self.probabilities[valid]
        ids[valid] = np.argmax(rows, axis=1)
        top[valid] = np.take_along_axis(rows, ids[valid][:, None], axis=1)[:, 0]
        return ids, top

    @property
    def prototype_id(self):
        """Most probable prototype of each box, Other or not (int64, -1 without a
        prediction)."""
        return self._top[0].copy()

    @property
    def other(self):
        """Boxes that are "Other": a prediction, but an anisotropy below ``min_anisotropy``."""
        return self.class_id == OTHER

    @property
    def class_id(self):
        """Class of each box: the most probable prototype, -2 for Other, -1 without a
        prediction (int64)."""
        if self.anisotropy is None:
            return self.prototype_id
        return decide(self.prototype_id, self.anisotropy, self.min_anisotropy)

    def names_of(self, class_ids):
        """Names of class ids (object array): prototypes, "Other" for -2, None for -1."""
        names = np.array([OTHER_NAME, None] + list(self.class_names), dtype=object)
        return names[np.asarray(class_ids) - OTHER]

    def name_of(self, class_id):
        """Name of a class id of this result: a prototype, "Other" or "no prediction"."""
        if class_id == OTHER:
            return OTHER_NAME
        return NO_PREDICTION_NAME if class_id < 0 else self.class_names[class_id]

    @property
    def probability(self):
        """Probability of each box's most probable prototype (float64, NaN without a
        prediction; Other boxes keep their nearest prototype's)."""
        return self._top[1].copy()

    def class_index(self, prototype):
        """Output index of a prototype given by name or class id."""
        return class_index(prototype, self.class_names)

    def argmax_map(self):
        """Class per box on the scan grid (int64: a prototype, -2 Other, -1 without a
        prediction)."""
        return self.class_id.reshape(self.shape)

    def probability_map(self, prototype):
        """Probability of one prototype (name or class id) per box on the scan grid."""
        return self.probabilities[:, self.class_index(prototype)].reshape(self.shape)

    @property
    def disorder(self):
        """Bits by which each box's angular order falls short of the best-ordered boxes of
        its most probable prototype in this scan (:func:`ase_arise.model.other.disorder`;
        0 without anisotropies, NaN without a prediction)."""
        if self.anisotropy is None:
            return np.where(self.valid, 0.0, np.nan)
        return disorder(self.prototype_id, self.anisotropy)

    @property
    def uncertainty(self):
        """Mutual information plus disorder (bits): high where the network is unsure and where
        a box mixes grains it is sure of (a boundary box read confidently as one grain)."""
        return self.mutual_information + self.disorder

    def uncertainty_map(self):
        """``uncertainty`` (bits) per box on the scan grid."""
        return self.uncertainty.reshape(self.shape)

    def anisotropy_map(self):
        """The "Other" score per box on the scan grid (NaN without a prediction)."""
        return self.anisotropy.reshape(self.shape)

    def save(self, file, settings=None):
        """Write the maps to a NumPy .npz file (path or binary file object).

        Arrays: centres (Å), shape, probabilities (fractions), mutual_information, entropy,
        disorder and uncertainty (bits), n_atoms, passes, class_id (-2 Other, -1 no
        prediction), anisotropy, class_names; ``settings`` (a dict) as a JSON string.
        """
        np.savez_compressed(file, centres=self.centres, shape=np.array(self.shape),
                            probabilities=self.probabilities,
                            mutual_information=self.mutual_information, entropy=self.entropy,
                            disorder=self.disorder, uncertainty=self.uncertainty,
                            n_atoms=self.n_atoms, passes=self.passes, class_id=self.class_id,
                            anisotropy=self.anisotropy, class_names=np.array(self.class_names),
                            settings=json.dumps(settings or {}))

    def plot_slice(self, quantity="class", *, axis=2, index=None, ax=None):
        """Draw one plane of the scan grid with matplotlib.

        Parameters
        ----------
        quantity : str or int, default="class"
            "class" (most probable prototype, or Other), "uncertainty", "mutual_information",
            "anisotropy"
            or a prototype (name or class id) whose probability is shown.
        axis : int, default=2
            Grid axis normal to the plane.
        index : int, optional
            Plane along ``axis`` (default: the middle one).
        ax : matplotlib Axes, optional

        Returns
        -------
        matplotlib Axes
        """
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap

        if len(self.shape) != 3:
            raise InputError("plot_slice needs a scan grid; boxes centred on atoms have none.")
        if quantity == "class":
            values, label, cmap = self.argmax_map().astype(float), "most probable prototype", None
            values[values == NO_PREDICTION] = np.nan
        elif quantity == "uncertainty":
            values, label, cmap = self.uncertainty_map(), "MI + disorder (bit)", "viridis"
        elif quantity == "mutual_information":
            values, label = self.mutual_information.reshape(self.shape), "mutual information (bit)"
            cmap = "viridis"
        elif quantity == "anisotropy":
            values, label, cmap = self.anisotropy_map(), "anisotropy (Other below " \
                f"{self.min_anisotropy:.3g})", "viridis"
        else:
            values = self.probability_map(quantity)
            label = f"P({self.class_names[self.class_index(quantity)]})"
            cmap = "viridis"
        axis = check_scalar(axis, "axis", kind=numbers.Integral, low=0, low_inclusive=True,
                            high=2)
        index = self.shape[axis] // 2 if index is None else check_scalar(
            index, "index", kind=numbers.Integral, low=0, low_inclusive=True,
            high=self.shape[axis] - 1, unit=f" (planes along axis {axis})")
        plane = np.take(values, index, axis=axis)
        if ax is None:
            ax = plt.figure().add_subplot()
        ticks = None
        if quantity == "class":
            # the classes of this plane, each its own colour (Other white, as PTM's), named
            # on the colour bar
            present = np.unique(plane[np.isfinite(plane)]).astype(int)
            plane = np.where(np.isfinite(plane), np.searchsorted(present, np.nan_to_num(plane)),
                             np.nan)
            palette = plt.get_cmap("tab10" if len(present) <= 10 else "tab20").colors
            colours = [(1.0, 1.0, 1.0) if c == OTHER else palette[k % len(palette)]
                       for k, c in enumerate(present)]
            cmap = ListedColormap(colours or [palette[0]])
            ticks = np.arange(len(present))
        image = ax.imshow(plane.T, origin="lower", cmap=cmap, interpolation="nearest",
                          vmin=None if ticks is None else -0.5,
                          vmax=None if ticks is None else len(ticks) - 0.5)
        bar = ax.figure.colorbar(image, ax=ax, label=label, ticks=ticks)
        if ticks is not None:
            bar.ax.set_yticklabels([self.name_of(k) for k in present])
        rest = [k for k in range(3) if k != axis]
        ax.set_xlabel(f"box index along cell axis {rest[0]}")
        ax.set_ylabel(f"box index along cell axis {rest[1]}")
        ax.set_title(f"ARISE SPM, box {self.box:g} Å, stride {self.stride:g} Å, "
                     f"plane {index} along axis {axis}")
        return ax
