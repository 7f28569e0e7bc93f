"""The 108 structural classes (prototypes) that ARISE recognises.

The classes and their order (the output neurons of the network) are those of

    A. Leitherer, A. Ziletti, L. M. Ghiringhelli, "Robust recognition and exploratory analysis
    of crystal structures via Bayesian deep learning", Nature Communications 12, 6234 (2021),
    doi:10.1038/s41467-021-26511-5, Supplementary Tables 4-8:

27 elemental solids and 11 binary compounds from the AFLOW library of crystallographic
prototypes, 6 ternary and 6 quaternary bulk compounds and 46 two-dimensional materials from the
Computational Materials Repository (CMR, including C2DB), and 12 single-walled carbon nanotubes
built with :func:`ase.build.nanotube`.

The geometries are converted from the data deposited with the paper (licence: Creative Commons
Attribution 4.0, CC BY 4.0) into the packaged file ``ase_arise/data/prototypes.json`` by
``tests/data/make_prototypes.py`` (a one-off converter, not shipped); each entry records the
file it came from
(``Prototype.provenance``). Please credit the paper, the AFLOW prototype library and CMR/C2DB
when you use them.

Examples
--------
>>> from ase_arise.prototypes import get_prototype
>>> fcc = get_prototype("fcc")
>>> fcc
Prototype(93, 'fcc', elemental, SG #225)
>>> [len(atoms) for atoms in fcc.supercells()]
[125, 216, 343]
"""

from __future__ import annotations

import functools
import json
import numbers
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Mapping

import numpy as np
from ase import Atoms
from ase.build import nanotube

from ._validation import check_scalar
from .errors import InputError, InputTypeError

__all__ = ["N_CLASSES", "Prototype", "class_index", "class_indices", "class_names",
           "get_prototype", "isotropic_supercells", "load_prototypes"]

N_CLASSES = 108
"""Number of structural classes (output neurons) of the ARISE model."""

MATERIAL_TYPES = ("elemental", "binary", "ternary", "quaternary", "2D", "nanotube")


@dataclass(frozen=True)
class _Geometry:
    """Immutable geometry of a prototype (internal).

    Periodic prototypes hold ``cell`` (Å, rows are lattice vectors), ``symbols``,
    ``scaled_positions`` (fractional, as in the source file) and ``pbc``; nanotubes hold the
    arguments ``(n, m, length, bond)`` of :func:`ase.build.nanotube` instead.
    """

    cell: tuple | None = None
    symbols: tuple | None = None
    scaled_positions: tuple | None = None
    pbc: tuple | None = None
    nanotube: tuple | None = None


@dataclass(frozen=True)
class Prototype:
    """One of the 108 structural classes of ARISE.

    Instances are created by :func:`load_prototypes`; use :func:`get_prototype` to look one up.

    Attributes
    ----------
    class_id : int
        Index of the class, 0..107, i.e. the output neuron of the model.
    key : str
        Identifier of the class in the paper's data (the folder name of its geometry file),
        e.g. ``"fcc_Cu_A_cF4_225_a"``.
    name : str
        Short readable display name, unique among the 108 classes, e.g. ``"fcc"``.
    material_type : str
        One of ``"elemental"``, ``"binary"``, ``"ternary"``, ``"quaternary"``, ``"2D"``,
        ``"nanotube"``.
    space_group : int or None
        International space group number: from the AFLOW label for AFLOW prototypes, from the
        paper's Supplementary Tables otherwise; None where the paper gives none (ternaries,
        nanotubes). For 2D materials it refers to the slab repeated along z as in the paper.
    source : str
        ``"AFLOW"``, ``"CMR"`` or ``"ASE"`` (nanotubes generated with ASE).
    provenance : Mapping[str, str]
        Where the geometry comes from: ``file`` (path in the paper's data), ``paper_name``
        and ``paper_symmetry`` (the paper's table row) and, for AFLOW prototypes,
        ``aflow_label`` and ``aflow_params``.
    """

    class_id: int
    key: str
    name: str
    material_type: str
    space_group: int | None
    source: str
    provenance: Mapping[str, str] = field(compare=False)
    _geometry: _Geometry = field(repr=False)

    @property
    def is_periodic(self) -> bool:
        """bool : False for the (finite) nanotubes, True for bulk and 2D prototypes."""
        return self._geometry.nanotube is None

    def atoms(self) -> Atoms:
        """Build the prototype structure.

        Returns
        -------
        ase.Atoms
            A new object on every call. Bulk prototypes: the unit cell of the source data
            (Å) with ``pbc=True``. 2D materials: the cell of the source data including the
            vacuum along z, ``pbc=(True, True, False)``. Nanotubes: the finite tube
            (positions in Å, tube axis along z) with a zero cell and ``pbc=False``.
        """
        g = self._geometry
        if g.nanotube is not None:
            n, m, length, bond = g.nanotube
            tube = nanotube(n, m, length=length, bond=bond)
            return Atoms(symbols=tube.get_chemical_symbols(), positions=tube.positions)
        return Atoms(symbols=list(g.symbols), scaled_positions=np.array(g.scaled_positions),
                     cell=np.array(g.cell), pbc=g.pbc)

    def supercells(self, n: int = 3, min_atoms: int = 100, *, periodic: bool = False
                   ) -> list[Atoms]:
        """Isotropic supercells: non-periodic ones as used for the paper's training set.

        The smallest isotropic replica k×k×k of the unit cell (2D materials: k×k×1, in-plane
        only) with at least `min_atoms` atoms, and the next ``n - 1`` larger ones
        ((k+1)×(k+1)×(k+1), ...). Nanotubes are not replicated: the result is the single
        shortest tube (in whole translational unit cells) with at least `min_atoms` atoms,
        which for the default is exactly :meth:`atoms`; `n` is ignored for them.

        Parameters
        ----------
        n : int, default=3
            Number of supercells (>= 1).
        min_atoms : int, default=100
            Minimum number of atoms of the smallest supercell (>= 1).
        periodic : bool, default=False
            Keep the prototype's periodicity (the paper's periodic defect-protocol supercells);
            nanotubes stay finite.

        Returns
        -------
        list of ase.Atoms
            New objects, in increasing size, with ``pbc=False`` (or the prototype's own with
            `periodic`). The cell of the repeated unit cell is kept (Å).
        """
        n = check_scalar(n, "n", kind=numbers.Integral, low=1, low_inclusive=True)
        min_atoms = check_scalar(min_atoms, "min_atoms", kind=numbers.Integral, low=1,
                                 low_inclusive=True)
        if not self.is_periodic:
            nt, mt, _, bond = self._geometry.nanotube
            per_cell = len(nanotube(nt, mt, length=1, bond=bond))
            length = -(-min_atoms // per_cell)
            tube = nanotube(nt, mt, length=length, bond=bond)
            return [Atoms(symbols=tube.get_chemical_symbols(), positions=tube.positions)]
        return isotropic_supercells(self.atoms(), n, min_atoms, periodic=periodic)

    def __repr__(self) -> str:
        symmetry = "" if self.space_group is None else f", SG #{self.space_group}"
        return f"Prototype({self.class_id}, {self.name!r}, {self.material_type}{symmetry})"


def isotropic_supercells(atoms: Atoms, n: int = 3, min_atoms: int = 100, *,
                         periodic: bool = False) -> list[Atoms]:
    """Isotropic supercells of a periodic structure, replicated along its periodic axes only.

    The smallest replica with k copies along every periodic axis of ``atoms.pbc`` (bulk
    k×k×k, slab k×k×1) that holds at least ``min_atoms`` atoms, and the next ``n - 1`` larger
    ones: the paper's training supercells (:meth:`Prototype.supercells`).

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic along at least one axis (cell in Å). Not modified.
    n : int, default=3
        Number of supercells (>= 1).
    min_atoms : int, default=100
        Minimum number of atoms of the smallest supercell (>= 1).
    periodic : bool, default=False
        Keep the periodicity of ``atoms``; False gives non-periodic clusters.

    Returns
    -------
    list of ase.Atoms
        New objects in increasing size; the cell of the replica is kept (Å).
    """
    n = check_scalar(n, "n", kind=numbers.Integral, low=1, low_inclusive=True)
    min_atoms = check_scalar(min_atoms, "min_atoms", kind=numbers.Integral, low=1,
                             low_inclusive=True)
    axes = np.array(atoms.pbc, dtype=bool)
    if not axes.any():
        raise InputError("isotropic_supercells needs a structure periodic along at least one "
                         "axis (atoms.pbc); use a cluster as it is.")
    k = 1
    while len(atoms) * k ** int(axes.sum()) < min_atoms:
        k += 1
    result = []
    for size in range(k, k + n):
        cluster = atoms.repeat(np.where(axes, size, 1))
        cluster.pbc = atoms.pbc if periodic else False
        result.append(cluster)
    return result


def _tuples(rows):
    return tuple(tuple(float(x) for x in row) for row in rows)


def _prototype_from_entry(entry) -> Prototype:
    if "nanotube" in entry:
        t = entry["nanotube"]
        geometry = _Geometry(nanotube=(int(t["n"]), int(t["m"]), int(t["length"]),
                                       float(t["bond"])))
    else:
        geometry = _Geometry(cell=_tuples(entry["cell"]), symbols=tuple(entry["symbols"]),
                             scaled_positions=_tuples(entry["scaled_positions"]),
                             pbc=tuple(bool(p) for p in entry["pbc"]))
    return Prototype(class_id=int(entry["class_id"]), key=entry["key"], name=entry["name"],
                     material_type=entry["material_type"], space_group=entry["space_group"],
                     source=entry["source"],
                     provenance=MappingProxyType(dict(entry["provenance"])),
                     _geometry=geometry)


@functools.lru_cache(maxsize=None)
def load_prototypes() -> tuple[Prototype, ...]:
    """All 108 prototypes in class-id order (the model's output order).

    Reads the packaged ``ase_arise/data/prototypes.json`` once (cached).

    Returns
    -------
    tuple of Prototype
        ``load_prototypes()[i].class_id == i``.
    """
    resource = resources.files("ase_arise") / "data" / "prototypes.json"
    library = json.loads(resource.read_text(encoding="utf-8"))
    prototypes = tuple(_prototype_from_entry(entry) for entry in library["prototypes"])
    if [p.class_id for p in prototypes] != list(range(N_CLASSES)):
        raise RuntimeError(f"{resource} does not hold classes 0..{N_CLASSES - 1} in order; "
                           "regenerate it with python tests/data/make_prototypes.py.")
    return prototypes


@functools.lru_cache(maxsize=None)
def _lookup() -> dict[str, Prototype]:
    table = {}
    for p in load_prototypes():
        table[p.name] = p
    for p in load_prototypes():  # keys win over names; the builder checks they never clash
        table[p.key] = p
    return table


def get_prototype(key_or_id_or_name: int | str) -> Prototype:
    """Look up a prototype by class id, key or display name.

    Parameters
    ----------
    key_or_id_or_name : int or str
        Class id (0..107, numpy integers accepted), key (e.g. ``"fcc_Cu_A_cF4_225_a"``) or
        display name (e.g. ``"fcc"``, see :func:`class_names`).

    Returns
    -------
    Prototype

    Raises
    ------
    KeyError
        If no prototype has this id, key or name.
    TypeError
        If the argument is neither an integer nor a string.
    """
    query = key_or_id_or_name
    if isinstance(query, numbers.Integral) and not isinstance(query, bool):
        if 0 <= int(query) < N_CLASSES:
            return load_prototypes()[int(query)]
        raise KeyError(f"Unknown prototype class id {query!r}: class ids run from 0 to "
                       f"{N_CLASSES - 1}.")
    if not isinstance(query, str):
        raise InputTypeError("get_prototype expects a class id (int), a key or a display name "
                             f"(str). Got {type(query).__name__} instead.")
    try:
        return _lookup()[query]
    except KeyError:
        raise KeyError(f"Unknown prototype {query!r}. Use a class id (0..{N_CLASSES - 1}), a key "
                       "or a display name; ase_arise.prototypes.class_names() lists the names "
                       "and [p.key for p in load_prototypes()] the keys.") from None


def class_names() -> list[str]:
    """Display names of the 108 classes in class-id order.

    Returns
    -------
    list of str
        ``class_names()[i]`` is the name of output neuron ``i``.
    """
    return [p.name for p in load_prototypes()]


def class_indices(prototypes, class_names, *, parameter="prototypes"):
    """Output columns of prototypes named in a model's class list.

    Parameters
    ----------
    prototypes : str or sequence of (str or int)
        Names or class ids; a string is a comma-separated list ("fcc, bcc, hcp").
    class_names : sequence of str
        The model's class names in output order (a fine-tuned model has its own).
    parameter : str, default="prototypes"
        The parameter's name in error messages (a CLI flag, an OVITO field, ...).

    Returns
    -------
    list of int
        One column per entry, in the order given (empty for an empty list).

    Raises
    ------
    InputError
        An unknown name or a class id out of range, with the names the model knows.
    """
    if isinstance(prototypes, str):
        prototypes = [name.strip() for name in prototypes.split(",") if name.strip()]
    names = list(class_names)
    columns, unknown = [], []
    for item in prototypes:
        if isinstance(item, numbers.Integral) and not isinstance(item, bool) \
                and 0 <= item < len(names):
            columns.append(int(item))
        elif isinstance(item, str) and item in names:
            columns.append(names.index(item))
        else:
            unknown.append(item)
    if unknown:
        raise InputError(f"Unknown prototype(s) {unknown} in '{parameter}': give class ids 0-"
                         f"{len(names) - 1} or names of the model's classes: "
                         f"{', '.join(names)}.")
    return columns


def class_index(prototype, class_names):
    """Output column of one prototype (name or class id) in ``class_names``; see
    :func:`class_indices`."""
    return class_indices([prototype], class_names, parameter="prototype")[0]

