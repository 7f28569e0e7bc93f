"""OVITO's file readers for ``ase_arise``: registered under the entry-point group
``arise.readers``, so that ``arise`` and :func:`ase_arise.io.read_frames` read what ASE cannot
(LAMMPS data files, OVITO's other formats) without ``ase_arise`` importing OVITO."""

from ovito.io import import_file
from ovito.io.ase import ovito_to_ase


def read_frames(path):
    """Every frame of ``path`` read by OVITO's ``import_file``, as ase.Atoms.

    Each frame is converted with ``ovito.io.ase.ovito_to_ase`` (numeric LAMMPS types become
    atomic numbers 1, 2, ...); spaces in property names become underscores, which extended XYZ
    needs. OVITO raises RuntimeError (and others) on a file it cannot read.
    """
    pipeline = import_file(str(path))
    frames = [ovito_to_ase(pipeline.compute(frame))
              for frame in range(pipeline.source.num_frames)]
    for atoms in frames:
        for name in [name for name in atoms.arrays if " " in name]:
            atoms.arrays[name.replace(" ", "_")] = atoms.arrays.pop(name)
    return frames
