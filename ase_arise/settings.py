"""One settings object for strided pattern matching and labels, validated once.

:class:`Settings` is what :func:`ase_arise.spm`, :func:`ase_arise.label`, the :class:`ARISE`
calculator, both OVITO modifiers and the ``arise`` command line build from their parameters
and hand down the pipeline; nothing below them checks a parameter again. Defaults that depend
on the model (``n_samples``, ``min_anisotropy``) come from the model's file.
"""

import dataclasses
import numbers
import os
from dataclasses import dataclass, field

from ._random import validate_random_state
from ._validation import check_bool, check_scalar
from .device import check_device, cuda_module
from .errors import InputError, InputTypeError
from .model import ARISEModel, resolve_model
from .model.other import check_min_anisotropy
from .model.record import check_passes

MODES = ("auto", "fast", "exact")
# Adaptive MC-dropout sampling of SPM boxes (ARISEModel.predict's tolerance; docs/DECISIONS.md).
DEFAULT_TOLERANCE = 0.01


@dataclass(frozen=True)
class Settings:
    """How boxes are scanned, described and classified (strided pattern matching).

    Parameters
    ----------
    box : float, default=16.0
        Edge of the cubic box, Å. The paper used 16 Å; a box should hold >= 100 atoms.
    stride : float, default=4.0
        Step between box centres, Å (the paper: 1 Å for slabs, 2-3 Å for bulk). Unused with
        ``per_atom``.
    mode : {"auto", "fast", "exact"}, default="auto"
        How each box is described (:mod:`ase_arise.spm`): "exact" cuts it out as a cluster,
        "fast" sums per-atom coefficients, "auto" takes fast for samples periodic along all
        three axes and exact otherwise.
    per_atom : bool, default=False
        One box centred on every atom instead of the strided grid (labels only).
    axes : None or sequence of int, default=None
        Cell axes to scan (None: every periodic axis and every open axis at least one box
        long; :func:`ase_arise.spm.box_grid`).
    n_samples : int or None, default=None
        MC-dropout passes a box gets at most; None: the model's own default (100 for the
        shipped model).
    tolerance : float or None, default=0.01
        Adaptive sampling: a box stops once a block of 10 passes moves its probabilities and
        its MI (bits) by less than this and keeps its top class; None: every box gets all
        ``n_samples`` passes.
    min_atoms : int, default=50
        Boxes with fewer atoms (periodic images included) get no prediction.
    min_anisotropy : float or None, default=None
        Boxes whose anisotropy (share of the averaged SOAP power in l >= 1,
        :mod:`ase_arise.model.other`) lies below this are "Other": no crystal's angular order
        (liquids, glasses, gases). None: the model's calibrated threshold; 0: never Other.
    random_state : None, int >= 0 or numpy.random.Generator, default=0
        Seeds the dropout masks (one seed for all boxes of a run).
    model : None, path or ARISEModel, default=None
        The network; None: the shipped 108-class model. Loaded (and verified) when the
        settings are made.
    device : {"cpu", "cuda", "cuda:N"}, default="cpu"
        Where the coefficients and the network's passes run (:mod:`ase_arise.device`; a GPU
        needs the ``gpu`` extra, checked when the settings are made).

    Raises
    ------
    TypeError, InputError
        A parameter of the wrong type or out of range, named with its constraint.
    ModelError
        A model file that is missing or fails verification.

    Examples
    --------
    >>> settings = Settings(box=12.0, stride=3.0)
    >>> settings.replace(mode="exact").mode
    'exact'
    """

    box: float = 16.0
    stride: float = 4.0
    mode: str = "auto"
    per_atom: bool = False
    axes: tuple = None
    n_samples: int = None
    tolerance: float = DEFAULT_TOLERANCE
    min_atoms: int = 50
    min_anisotropy: float = None
    random_state: object = 0
    model: object = None
    device: str = "cpu"
    _network: ARISEModel = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        put = object.__setattr__.__get__(self)
        put("box", check_scalar(self.box, "box", low=0.0, unit=" (Å)"))
        put("stride", check_scalar(self.stride, "stride", low=0.0, unit=" (Å)"))
        if not isinstance(self.mode, str) or self.mode not in MODES:
            raise InputError(f"The 'mode' parameter must be one of {MODES}. Got {self.mode!r} "
                             "instead.")
        check_bool(self.per_atom, "per_atom")
        put("axes", check_axes(self.axes))
        if self.n_samples is not None:
            put("n_samples", check_passes(self.n_samples))
        if self.tolerance is not None:
            put("tolerance", check_scalar(self.tolerance, "tolerance", low=0.0,
                                          low_inclusive=True, unit=" (probability and bits)"))
        put("min_atoms", check_scalar(self.min_atoms, "min_atoms", kind=numbers.Integral,
                                      low=1, low_inclusive=True))
        if self.min_anisotropy is not None:
            put("min_anisotropy", check_min_anisotropy(self.min_anisotropy))
        validate_random_state(self.random_state)
        if not (self.model is None or isinstance(self.model, (str, os.PathLike, ARISEModel))):
            raise InputTypeError("The 'model' parameter must be None, a path to an .onnx model "
                                 f"file or an ARISEModel. Got {type(self.model).__name__} "
                                 "instead.")
        put("device", check_device(self.device))
        if self.device != "cpu":
            cuda_module(self.device)
        put("_network", resolve_model(self.model))

    @property
    def network(self):
        """The loaded :class:`ARISEModel` (the shipped one when ``model`` is None)."""
        return self._network

    @property
    def passes(self):
        """MC-dropout passes per box at most: ``n_samples``, or the model's default."""
        return self.network.default_n_samples if self.n_samples is None else self.n_samples

    @property
    def threshold(self):
        """The anisotropy below which a box is "Other": ``min_anisotropy``, or the model's."""
        return (self.network.min_anisotropy if self.min_anisotropy is None
                else self.min_anisotropy)

    def replace(self, **changes):
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def fields(cls):
        """Names of the settings (the public fields), in order."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def check_axes(axes):
    """None, or the sorted tuple of distinct cell axes (0, 1, 2) named by ``axes``."""
    if axes is None:
        return None
    if isinstance(axes, (str, bytes)) or not hasattr(axes, "__iter__"):
        raise InputTypeError("The 'axes' parameter must be None or a sequence of cell axes "
                             f"(0, 1, 2), e.g. (0, 1). Got {axes!r} instead.")
    chosen = tuple(sorted({check_scalar(a, "axes", kind=numbers.Integral, low=0,
                                        low_inclusive=True, high=2) for a in axes}))
    if not chosen:
        raise InputError("The 'axes' parameter must name at least one axis (0, 1, 2).")
    return chosen

