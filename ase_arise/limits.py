"""Work limits: how large a computation may get before arise refuses it.

Every stage estimates its work from the input *before* allocating anything (atoms and periodic
images held at once, SPM boxes, atoms summed over boxes, neighbour pairs of a descriptor,
species pairs) and raises an :class:`~ase_arise.errors.InputError` that states the estimate,
the limit and the fix when the estimate is past the limit. The defaults are far above any
sensible use (a 10^7-atom sample at box 16 Å / stride 2 Å passes) and far below what hangs a
machine. Raise them for one block of code with :func:`work_limits`::

    with ase_arise.work_limits(max_boxes=10**8):
        label(atoms, stride=1.0)
"""

import contextlib
import contextvars
import dataclasses
import numbers
from dataclasses import dataclass

import numpy as np

from ._counting import distinct
from .errors import InputError


@dataclass(frozen=True)
class WorkLimits:
    """The limits (all estimates are made before any work).

    Attributes
    ----------
    max_points : int, default=50_000_000
        Atoms plus periodic images held at once (a descriptor's neighbourhood, an SPM scan):
        ~1.6 GB of positions.
    max_boxes : int, default=20_000_000
        Boxes of one SPM scan (~9 GB of results at 108 classes).
    max_box_atoms : float, default=2e10
        Atoms summed over all boxes of one scan (the work of the box sums and of exact mode).
    max_pairs : float, default=5e9
        Centre-neighbour pairs of one descriptor (10^6 atoms at r_cut 4 d_NN: ~4e8).
    max_species : int, default=16
        Species of one structure (the descriptor has a term per ordered species pair: 256).
    """

    max_points: int = 50_000_000
    max_boxes: int = 20_000_000
    max_box_atoms: float = 2e10
    max_pairs: float = 5e9
    max_species: int = 16

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
                raise InputError(f"The work limit '{f.name}' must be a number > 0. Got "
                                 f"{value!r} instead.")


_current = contextvars.ContextVar("arise_work_limits", default=WorkLimits())


def current_limits():
    """The :class:`WorkLimits` in force (the defaults, or those of :func:`work_limits`)."""
    return _current.get()


@contextlib.contextmanager
def work_limits(**changes):
    """Change some work limits inside a ``with`` block (fields of :class:`WorkLimits`).

    Raises TypeError for an unknown limit.
    """
    token = _current.set(dataclasses.replace(_current.get(), **changes))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def check_work(name, estimate, what, fix):
    """Raise InputError when ``estimate`` exceeds the limit ``name`` in force.

    Parameters
    ----------
    name : str
        A field of :class:`WorkLimits`.
    estimate : float
        The estimated amount of work.
    what : str
        What was estimated, e.g. "periodic images within 8 Å of the cell".
    fix : str
        How to bring the estimate down.
    """
    limit = getattr(current_limits(), name)
    if estimate > limit:
        raise InputError(f"{what}: about {estimate:.3g}, more than the work limit {name} = "
                         f"{limit:.3g}. {fix}; or raise the limit with "
                         f"ase_arise.work_limits({name}=...) if you mean it.")


def check_species(numbers):
    """The sorted species (atomic numbers, list of int) of a structure, at most ``max_species``:
    the descriptor has one term per ordered species pair."""
    species = [int(z) for z in distinct(numbers)]
    check_work("max_species", len(species),
               f"Species in the structure ({len(species)}, {len(species) ** 2} ordered pairs for "
               "the descriptor)", "Merge species that play the same role (or treat all atoms as "
               "one: atoms.numbers[:] = 1; OVITO's 'geometry only')")
    return species
