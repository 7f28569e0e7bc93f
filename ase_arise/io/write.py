"""Writing per-atom results: extended XYZ or a LAMMPS text dump.

Both formats carry the per-atom arrays as named columns that OVITO's ``import_file`` reads back
as particle properties.
"""

from pathlib import Path

import ase.io
import numpy as np
from ase.calculators.lammps.coordinatetransform import Prism

from ..errors import InputError
from .atomic import atomic_output

# Output formats of :func:`write_frames` and the file suffixes that select them.
FORMATS = {"extxyz": (".xyz", ".extxyz"), "lammps-dump": (".dump", ".lammpstrj")}


def output_format(path, format=None):
    """The output format for ``path``: ``format`` if given, else from the file suffix.

    Raises
    ------
    InputError
        An unknown format, or a suffix that names none.
    """
    if format is not None:
        if format not in FORMATS:
            raise InputError(f"Unknown output format {format!r}: choose one of "
                             f"{', '.join(FORMATS)}.")
        return format
    suffix = Path(path).suffix.lower()
    for name, suffixes in FORMATS.items():
        if suffix in suffixes:
            return name
    known = "; ".join(f"{' or '.join(s)} for {name}" for name, s in FORMATS.items())
    raise InputError(f"Cannot tell the output format from the name {path}: use {known}, or "
                     "give the format explicitly.")


def write_frames(path, frames, columns, *, format=None):
    """Write frames with their per-atom ``columns`` (names of arrays in ``atoms.arrays``).

    The file is written atomically: an error or an interrupt leaves an existing file as it was.

    Parameters
    ----------
    path : str or Path
    frames : list of ase.Atoms
    columns : sequence of str
        Per-atom arrays to write; with extended XYZ every array of the frames is written.
    format : {"extxyz", "lammps-dump"}, optional
        Default: from the suffix (:data:`FORMATS`).

    Raises
    ------
    InputError
        An unknown format, or a frame the format cannot hold (checked before writing).
    """
    format = output_format(path, format)
    for atoms in frames:
        check_frame(atoms, format)
    with atomic_output(path, encoding="utf-8") as handle:
        for step, atoms in enumerate(frames):
            write_frame(handle, atoms, columns, format, step)


def check_frame(atoms, format):
    """Raise InputError if ``format`` cannot hold ``atoms`` (before anything is written)."""
    if format == "lammps-dump":
        _lammps_box(atoms)


def write_frame(handle, atoms, columns, format, step):
    """Append one frame to an open text ``handle``: extended XYZ (every array), or one LAMMPS
    dump timestep ``step`` with the ``columns`` (:func:`write_lammps_dump`)."""
    if format == "extxyz":
        ase.io.write(handle, atoms, format="extxyz")
    else:
        _write_dump_frame(handle, atoms, columns, step)


def write_lammps_dump(path, frames, columns):
    """A LAMMPS text dump of ``frames`` (one timestep each, numbered from 0), written atomically.

    Columns: ``id type element x y z`` and the arrays ``columns``; a 2D array of width k becomes
    ``name[0]`` ... ``name[k-1]``. Types number the species 1, 2, ... in order of atomic number.
    A full cell is rotated into LAMMPS's frame (a along x, b in the xy plane; ASE's ``Prism``),
    with the triclinic box header when it is skewed; a structure without a cell gets its
    bounding box with open ("ff") boundaries.

    Raises
    ------
    InputError
        A structure periodic along an axis without a complete cell.
    """
    write_frames(path, frames, columns, format="lammps-dump")


def _write_dump_frame(handle, atoms, columns, step):
    box, positions = _lammps_box(atoms)
    species, types = np.unique(atoms.numbers, return_inverse=True)
    symbols = np.array(atoms.get_chemical_symbols(), dtype=object)
    names, blocks = ["id", "type", "element", "x", "y", "z"], [
        np.arange(1, len(atoms) + 1), types + 1, symbols, positions]
    formats = ["%d", "%d", "%s", "%.10g", "%.10g", "%.10g"]
    for column in columns:
        values = atoms.arrays[column]
        width = 1 if values.ndim == 1 else values.shape[1]
        names += [column] if values.ndim == 1 else [f"{column}[{j}]" for j in range(width)]
        formats += ["%d" if values.dtype.kind in "iub" else "%.8g"] * width
        blocks.append(values)
    table = np.empty((len(atoms), len(names)), dtype=object)
    first = 0
    for block in blocks:
        block = block.reshape(len(atoms), -1)
        table[:, first:first + block.shape[1]] = block
        first += block.shape[1]
    handle.write(f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n{len(atoms)}\n{box}"
                 f"ITEM: ATOMS {' '.join(names)}\n")
    np.savetxt(handle, table, fmt=" ".join(formats))


def _lammps_box(atoms):
    """The BOX BOUNDS item of a frame and its positions in LAMMPS's frame (Å)."""
    flags = " ".join("pp" if p else "ff" for p in atoms.pbc)
    if atoms.cell.rank == 3:
        prism = Prism(atoms.cell.array, pbc=atoms.pbc)
        xhi, yhi, zhi, xy, xz, yz = map(float, prism.get_lammps_prism())
        positions = prism.vector_to_lammps(atoms.positions)
        if not prism.is_skewed():
            return f"ITEM: BOX BOUNDS {flags}\n0 {xhi!r}\n0 {yhi!r}\n0 {zhi!r}\n", positions
        # the bounding box of the triclinic cell (LAMMPS's dump convention)
        xlo_bound, xhi_bound = min(0.0, xy, xz, xy + xz), xhi + max(0.0, xy, xz, xy + xz)
        ylo_bound, yhi_bound = min(0.0, yz), yhi + max(0.0, yz)
        return (f"ITEM: BOX BOUNDS xy xz yz {flags}\n{xlo_bound!r} {xhi_bound!r} {xy!r}\n"
                f"{ylo_bound!r} {yhi_bound!r} {xz!r}\n0 {zhi!r} {yz!r}\n"), positions
    if atoms.pbc.any():
        raise InputError("A LAMMPS dump needs a complete cell for a structure periodic along "
                         f"axes {np.flatnonzero(atoms.pbc).tolist()}; set atoms.cell, or write "
                         "extended XYZ (.xyz) instead.")
    lower, upper = atoms.positions.min(axis=0), atoms.positions.max(axis=0)
    upper = np.maximum(upper, lower + 1e-6)
    bounds = "".join(f"{lo!r} {hi!r}\n" for lo, hi in zip(lower.tolist(), upper.tolist()))
    return f"ITEM: BOX BOUNDS {flags}\n{bounds}", atoms.positions
