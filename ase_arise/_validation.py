"""Checks at the boundary of the public API: clear errors that name the problem and the fix."""

import numbers

import numpy as np
from ase import Atoms
from ase.geometry import complete_cell

from .errors import InputError, InputTypeError


# The shortest repeat (Å) that a periodic axis may have: shorter than any interatomic distance.
MIN_PERIOD = 0.5


def check_atoms(atoms, *, name="atoms"):
    """Validate an ASE ``Atoms`` and return its arrays as new float64/int64/bool arrays.

    Returns
    -------
    positions : ndarray of shape (n, 3), float64 (Å)
    numbers : ndarray of shape (n,), int64
    cell : ndarray of shape (3, 3), float64 (Å)
    pbc : ndarray of shape (3,), bool

    Raises
    ------
    TypeError
        If ``atoms`` is not an ``ase.Atoms``.
    InputError
        Empty structure, NaN/inf positions, a periodic axis without a cell vector, or one
        that repeats within ``MIN_PERIOD`` (0.5 Å).
    """
    if not isinstance(atoms, Atoms):
        raise InputTypeError(f"The '{name}' parameter must be an ase.Atoms object. "
                             f"Got {type(atoms).__name__} instead; read files with ase.io.read.")
    if len(atoms) == 0:
        raise InputError(f"The structure '{name}' is empty (0 atoms). ARISE needs a structure "
                         "with at least two atoms, or one atom in a periodic cell.")
    positions = np.array(atoms.positions, dtype=np.float64)
    if not np.isfinite(positions).all():
        bad = np.flatnonzero(~np.isfinite(positions).all(axis=1))
        raise InputError(f"The structure '{name}' has NaN or infinite positions for {len(bad)} "
                         f"atom(s) (indices {bad[:10].tolist()}{'...' if len(bad) > 10 else ''}). "
                         "Remove or fix these atoms before classifying.")
    cell = np.array(atoms.cell[:], dtype=np.float64)
    pbc = np.array(atoms.pbc, dtype=bool)
    if not np.isfinite(cell).all():
        raise InputError(f"The cell of '{name}' has NaN or infinite entries; fix the cell.")
    if pbc.any():  # the periodic axes' cell vectors
        _check_periodic_cell(cell, pbc, name)
    return positions, np.array(atoms.numbers, dtype=np.int64), cell, pbc


def _check_periodic_cell(cell, pbc, name):
    """InputError for a periodic axis without a cell vector, a degenerate cell, or one that
    repeats within ``MIN_PERIOD`` (Å) along a periodic axis."""
    from .descriptor.neighbors import cell_heights  # here: descriptor imports this module

    for axis in np.flatnonzero(pbc):
        if np.linalg.norm(cell[axis]) < 1e-8:
            raise InputError(f"The structure '{name}' is periodic along axis {axis} but its cell "
                             f"vector {axis} is zero. Set the cell, or atoms.pbc[{axis}] = False.")
    if abs(np.linalg.det(complete_cell(cell))) < 1e-8:
        raise InputError(f"The cell of '{name}' is degenerate (zero volume) along its periodic "
                         "axes. Fix atoms.cell or switch those axes off with atoms.pbc.")
    heights = cell_heights(complete_cell(cell))
    for axis in np.flatnonzero(pbc & (heights < MIN_PERIOD)):
        raise InputError(f"The cell of '{name}' repeats every {heights[axis]:.3g} Å along "
                         f"periodic axis {axis}: no crystal repeats within {MIN_PERIOD} Å "
                         f"(near-singular cell). Fix atoms.cell, or set "
                         f"atoms.pbc[{axis}] = False.")


def check_scalar(value, name, *, kind=numbers.Real, low=None, high=None, low_inclusive=False,
                 unit=""):
    """Check a scalar parameter in scikit-learn's style and return it as float or int.

    Raises TypeError for a wrong type and InputError for a value out of range, naming the
    parameter, the constraint and the value.
    """
    what = "an int" if kind is numbers.Integral else "a float"
    if isinstance(value, bool) or not isinstance(value, kind):
        raise InputTypeError(f"The '{name}' parameter must be {what}{unit}. "
                             f"Got {value!r} of type {type(value).__name__} instead.")
    if kind is numbers.Real and not np.isfinite(value):
        raise InputError(f"The '{name}' parameter must be finite{unit}. Got {value!r} instead.")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        sign = ">=" if low_inclusive else ">"
        raise InputError(f"The '{name}' parameter must be {what} {sign} {low}{unit}. "
                         f"Got {value!r} instead.")
    if high is not None and value > high:
        raise InputError(f"The '{name}' parameter must be {what} <= {high}{unit}. "
                         f"Got {value!r} instead.")
    return int(value) if kind is numbers.Integral else float(value)


def check_bool(value, name):
    """Return ``value`` if it is a bool; else raise a TypeError naming the parameter."""
    if not isinstance(value, bool):
        raise InputTypeError(f"The '{name}' parameter must be a bool. Got {value!r} instead.")
    return value
