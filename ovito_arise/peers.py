"""OVITO's structure identification on ASE structures: the methods ARISE is compared with.

Polyhedral template matching (PTM) with every structure type enabled, its labels mapped onto
ARISE's prototype names where the two describe the same structure.
"""

import numpy as np
from ase import Atoms
from ovito.io.ase import ase_to_ovito
from ovito.modifiers import PolyhedralTemplateMatchingModifier
from ovito.pipeline import Pipeline, StaticSource

# PTM structure type (OVITO's name) -> ARISE prototype name; "Other" and ICO have none.
PTM_PROTOTYPES = {
    "FCC": "fcc",
    "HCP": "hcp",
    "BCC": "bcc",
    "Simple cubic": "sc (α-Po)",
    "Cubic diamond": "diamond",
    "Hexagonal diamond": "hexagonal diamond",
    "Graphene": "graphene",
}


def ptm_pipeline(atoms, *, all_types=True):
    """An OVITO pipeline applying PTM to an ASE structure (periodicity from ``atoms.pbc``).

    Parameters
    ----------
    atoms : ase.Atoms
    all_types : bool, default=True
        Enable every PTM structure type (OVITO enables only FCC, HCP, BCC and ICO by default).

    Returns
    -------
    ovito.pipeline.Pipeline
    """
    modifier = PolyhedralTemplateMatchingModifier()
    if all_types:
        for structure in modifier.structures:
            structure.enabled = True
    bare = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell,
                 pbc=atoms.pbc)  # OVITO takes no extra arrays of some dtypes (bool, object)
    pipeline = Pipeline(source=StaticSource(data=ase_to_ovito(bare)))
    pipeline.modifiers.append(modifier)
    return pipeline


def ptm_labels(atoms, *, all_types=True):
    """PTM's structure type per atom, as OVITO names it ("FCC", "Cubic diamond", "Other", ...).

    Returns
    -------
    ndarray of shape (n_atoms,), object
    """
    return structure_names(ptm_pipeline(atoms, all_types=all_types).compute())


def structure_names(data):
    """The "Structure Type" of each particle of computed OVITO data, by name (object array)."""
    types = data.particles["Structure Type"]
    names = {t.id: t.name for t in types.types}
    return np.array([names[i] for i in np.asarray(types)], dtype=object)


def as_prototypes(ptm_names):
    """ARISE prototype names of PTM labels (None where PTM's type has no ARISE prototype)."""
    return np.array([PTM_PROTOTYPES.get(name) for name in ptm_names], dtype=object)
