"""Defective copies of structures: the paper's protocol (Table 2, Supplementary Tables 1-3).

Displacements are uniform in [-displacement * d_NN, +displacement * d_NN] per Cartesian
component (the paper's delta); missing atoms are a random fraction ``missing`` (the paper's eta)
removed (rounded to the nearest whole atom). d_NN is the
structure's own (:func:`ase_arise.descriptor.nearest_neighbor_distance`). Both return new Atoms;
the input is never modified.
"""

import numpy as np

from ._deprecation import renamed_parameters
from ._random import check_random_state
from ._validation import check_atoms, check_scalar
from .descriptor import nearest_neighbor_distance


@renamed_parameters(delta="displacement")
def displace_atoms(atoms, displacement, *, random_state=None, dnn=None):
    """A copy of ``atoms`` with every position moved uniformly by up to ``displacement * d_NN``
    per axis.

    Parameters
    ----------
    atoms : ase.Atoms
    displacement : float
        Maximum displacement per Cartesian component, as a fraction of d_NN (0.01 = 1 %; the
        paper's delta).
    random_state : None, int or numpy.random.Generator
    dnn : float, optional
        d_NN in Å; computed from ``atoms`` if not given.

    Returns
    -------
    ase.Atoms
    """
    check_atoms(atoms)
    displacement = check_scalar(displacement, "displacement", low=0.0, low_inclusive=True,
                                unit=" (fraction of d_NN)")
    rng = check_random_state(random_state)
    scale = displacement * (nearest_neighbor_distance(atoms) if dnn is None else dnn)
    out = atoms.copy()
    out.positions = atoms.positions + rng.uniform(-scale, scale, size=(len(atoms), 3))
    return out


@renamed_parameters(eta="missing")
def remove_atoms(atoms, missing, *, random_state=None):
    """A copy of ``atoms`` with a random fraction ``missing`` of the atoms removed.

    Parameters
    ----------
    atoms : ase.Atoms
    missing : float
        Fraction of atoms to remove, 0 <= missing <= 0.99 (the paper's eta); round(missing * n)
        atoms go.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    ase.Atoms
        The kept atoms, in their original order.
    """
    check_atoms(atoms)
    missing = check_scalar(missing, "missing", low=0.0, low_inclusive=True, high=0.99,
                           unit=" (fraction)")
    rng = check_random_state(random_state)
    n_remove = int(round(missing * len(atoms)))
    keep = np.sort(rng.choice(len(atoms), size=len(atoms) - n_remove, replace=False))
    return atoms[keep]


def strain_atoms(atoms, max_strain, *, random_state=None, axes=(0, 1, 2)):
    """A copy of ``atoms`` under a random diagonal strain of up to ``max_strain`` per axis.

    Periodic structures are strained along their cell vectors (``scale_atoms``); non-periodic
    ones along the Cartesian ``axes`` (e.g. ``axes=(2,)``: a nanotube along its axis).

    Parameters
    ----------
    atoms : ase.Atoms
    max_strain : float
        Each diagonal strain component is uniform in [-max_strain, +max_strain] (0.03 = 3 %).
    random_state : None, int or numpy.random.Generator
    axes : tuple of int, default=(0, 1, 2)

    Returns
    -------
    ase.Atoms
    """
    check_atoms(atoms)
    max_strain = check_scalar(max_strain, "max_strain", low=0.0, low_inclusive=True, high=0.5)
    rng = check_random_state(random_state)
    factors = np.ones(3)
    factors[list(axes)] += rng.uniform(-max_strain, max_strain, len(axes))
    out = atoms.copy()
    if atoms.pbc.any():
        out.set_cell(atoms.cell[:] * factors[:, None], scale_atoms=True)
    else:
        out.positions = atoms.positions * factors
    return out


def defective_copy(atoms, *, displacement=0.0, missing=0.0, random_state=None):
    """Remove a fraction ``missing`` of the atoms, then displace the rest by up to
    ``displacement * d_NN`` (d_NN of the pristine structure), as in Supplementary Table 3."""
    rng = check_random_state(random_state)
    dnn = nearest_neighbor_distance(atoms)
    return displace_atoms(remove_atoms(atoms, missing, random_state=rng), displacement,
                          random_state=rng, dnn=dnn)


__all__ = ["defective_copy", "displace_atoms", "remove_atoms", "strain_atoms"]
