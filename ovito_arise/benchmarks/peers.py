"""OVITO's structure identification on ASE structures: the methods ARISE is compared with.

Polyhedral template matching (PTM, every structure type and the chemical orderings on), common
neighbour analysis with OVITO's fixed default cutoff (CNA, 3.2 Å) and adaptive (a-CNA), and
Ackland-Jones bond-angle analysis (BAA), each with OVITO's defaults otherwise. Their per-atom
labels are mapped onto ARISE's prototype names where the two describe the same structure
(the paper's Supplementary Note 1); every other label ("Other", ICO) maps to None.
"""

import numpy as np
from ase import Atoms
from ovito.io.ase import ase_to_ovito
from ovito.modifiers import (
    AcklandJonesModifier,
    CommonNeighborAnalysisModifier,
    PolyhedralTemplateMatchingModifier,
)
from ovito.pipeline import Pipeline, StaticSource

from ..structure_types import PTM_PROTOTYPES

# (PTM structure type, PTM ordering type) -> the ordered binary prototype; an ordering not listed
# (pure, "Other") leaves the structure's own prototype.
PTM_ORDERED_PROTOTYPES = {
    ("FCC", "L10"): "L1_0 (CuAu)",
    ("FCC", "L12 (A-site)"): "L1_2 (Cu3Au)",
    ("FCC", "L12 (B-site)"): "L1_2 (Cu3Au)",
    ("BCC", "B2"): "CsCl",
    ("Cubic diamond", "Zincblende/Wurtzite"): "zinc blende",
    ("Hexagonal diamond", "Zincblende/Wurtzite"): "wurtzite",
    ("Graphene", "Boron/Nitride"): "BN",
}
# CNA, a-CNA and Ackland-Jones know FCC, HCP, BCC (and ICO, which no prototype is).
CNA_PROTOTYPES = {"FCC": "fcc", "HCP": "hcp", "BCC": "bcc"}
METHODS = ("PTM", "CNA", "a-CNA", "BAA")
# The prototypes each method can name: the classes it is scored on in unstarred rows.
DESIGNED_FOR = {
    "PTM": tuple(PTM_PROTOTYPES.values()) + tuple(dict.fromkeys(PTM_ORDERED_PROTOTYPES.values())),
    "CNA": tuple(CNA_PROTOTYPES.values()),
    "a-CNA": tuple(CNA_PROTOTYPES.values()),
    "BAA": tuple(CNA_PROTOTYPES.values()),
}


def peer_modifier(method, *, all_types=True):
    """OVITO's modifier for ``method`` ("PTM", "CNA", "a-CNA", "BAA"), configured as benchmarked.

    ``all_types=True`` enables every PTM structure type and its chemical orderings (OVITO enables
    only FCC, HCP, BCC and ICO by default)."""
    if method == "PTM":
        modifier = PolyhedralTemplateMatchingModifier(output_ordering=all_types)
        if all_types:
            for structure in modifier.structures:
                structure.enabled = True
        return modifier
    if method == "CNA":
        return CommonNeighborAnalysisModifier(
            mode=CommonNeighborAnalysisModifier.Mode.FixedCutoff)
    if method == "a-CNA":
        return CommonNeighborAnalysisModifier(
            mode=CommonNeighborAnalysisModifier.Mode.AdaptiveCutoff)
    if method == "BAA":
        return AcklandJonesModifier()
    raise ValueError(f"Unknown method {method!r}: choose from {METHODS}.")


def peer_pipeline(atoms, method, **options):
    """An OVITO pipeline applying ``method`` to an ASE structure (periodicity from ``atoms.pbc``).

    Returns
    -------
    ovito.pipeline.Pipeline
    """
    bare = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell,
                 pbc=atoms.pbc)  # OVITO takes no extra arrays of some dtypes (bool, object)
    pipeline = Pipeline(source=StaticSource(data=ase_to_ovito(bare)))
    pipeline.modifiers.append(peer_modifier(method, **options))
    return pipeline


def ptm_pipeline(atoms, *, all_types=True):
    """An OVITO pipeline applying PTM to an ASE structure (see :func:`peer_modifier`)."""
    return peer_pipeline(atoms, "PTM", all_types=all_types)


def ptm_labels(atoms, *, all_types=True):
    """PTM's structure type per atom, as OVITO names it ("FCC", "Cubic diamond", "Other", ...).

    Returns
    -------
    ndarray of shape (n_atoms,), object
    """
    return structure_names(ptm_pipeline(atoms, all_types=all_types).compute())


def structure_names(data, name="Structure Type"):
    """The named type of each particle in a typed property of computed OVITO data (object
    array); e.g. "Structure Type", "Ordering Type", "ARISE Structure Type"."""
    types = data.particles[name]
    names = {t.id: t.name for t in types.types}
    return np.array([names[i] for i in np.asarray(types)], dtype=object)


def as_prototypes(ptm_names):
    """ARISE prototype names of PTM labels (None where PTM's type has no ARISE prototype)."""
    return np.array([PTM_PROTOTYPES.get(name) for name in ptm_names], dtype=object)


def peer_prototypes(atoms, method):
    """Per-atom ARISE prototype names that ``method`` assigns (None: no prototype, e.g. "Other").

    PTM's chemical orderings turn FCC into L1_0 / L1_2, BCC into CsCl, cubic / hexagonal diamond
    into zinc blende / wurtzite, graphene into BN (Supplementary Note 1 of the paper: an L1_2
    atom counts whichever site PTM gives it).

    Returns
    -------
    ndarray of shape (n_atoms,), object
    """
    data = peer_pipeline(atoms, method).compute()
    structures = structure_names(data)
    if method != "PTM":
        return np.array([CNA_PROTOTYPES.get(s) for s in structures], dtype=object)
    orderings = structure_names(data, "Ordering Type")
    return np.array([PTM_ORDERED_PROTOTYPES.get((s, o), PTM_PROTOTYPES.get(s))
                     for s, o in zip(structures, orderings)], dtype=object)
